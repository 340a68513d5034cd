//! `--for DURATION`: how long `ohx unlock` keeps the identity, written as people write it
//! (`90s`, `30m`, `8h`, `1d`, `1h30m`).

use std::time::Duration;

use crate::error::Error;

/// The longest an agent may hold a key: a week, so a forgotten unlock still ends.
pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses `1h30m`-style text into a duration between one second and [`LONGEST`].
pub fn parse(text: &str) -> Result<Duration, Error> {
    let invalid = || Error::BadDuration(text.into());
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(invalid()),
        };
        let count: u64 = digits.parse().map_err(|_| invalid())?;
        total = count
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(invalid)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(invalid());
    }
    let duration = Duration::from_secs(total);
    if duration > LONGEST {
        return Err(Error::DurationTooLong(text.into()));
    }
    Ok(duration)
}

/// `8h`, `1h30m`, `45s`: the inverse of [`parse`], for messages.
pub fn show(duration: Duration) -> String {
    let mut left = duration.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(parse("8h").unwrap().as_secs(), 8 * 3600);
        assert_eq!(parse("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse("90s").unwrap().as_secs(), 90);
        assert_eq!(show(parse("1d2h3m4s").unwrap()), "1d2h3m4s");
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "8",
            "h",
            "0s",
            "1w",
            "8 h",
            "-1h",
            "8d",
            "99999999999999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
