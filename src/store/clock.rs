//! The time stamps ohx writes (`created_at`, `updated_at`): UTC to the second, as
//! `YYYY-MM-DDTHH:MM:SSZ`, computed here rather than by the engine so that every engine stores
//! the same text.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as stored in the store.
pub fn now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The same formatting as every other time ohx shows.
    crate::domain::time::utc_time(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use crate::domain::time::utc_time;

    #[test]
    fn stored_time_stamps_read_as_before() {
        assert_eq!(utc_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_time(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(super::now().len(), "1970-01-01T00:00:00Z".len());
    }
}
