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
    /// The format itself is tested in `domain::time`.
    #[test]
    fn stored_time_stamps_have_the_shipped_shape() {
        assert_eq!(super::now().len(), "1970-01-01T00:00:00Z".len());
        assert!(super::now().ends_with('Z'));
    }
}
