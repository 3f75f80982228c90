//! Finding the times a program printed, in the forms time programs print them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};

/// Every time found in `text`, in the order found. Recognised forms:
///
/// - C's and Python's `ctime`, in this machine's time zone: `Thu Nov 26 07:21:06 2026`;
/// - ISO 8601 / RFC 3339 with a zone (`2026-11-26T07:21:06Z`, `…+01:00`), or without one,
///   in this machine's time zone (`2026-11-26T07:21:06`, `2026-11-26 07:21:06.123`);
/// - Unix time in seconds, with or without a fraction (`1795677666.25`).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let found = coursecheck::times_in("time: 2026-11-26T07:21:06Z\nunix 1795677666.5");
/// assert_eq!(found[0], UNIX_EPOCH + Duration::from_secs(1_795_677_666));
/// assert_eq!(found[1], UNIX_EPOCH + Duration::from_millis(1_795_677_666_500));
/// ```
pub fn times_in(text: &str) -> Vec<SystemTime> {
    let mut found = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line
            .split_whitespace()
            .map(|word| word.trim_matches(|c: char| "\"'(),;[]".contains(c)))
            .collect();
        for start in 0..words.len() {
            let rest = &words[start..];
            if let Some(time) = ctime(rest).or_else(|| iso(rest)).or_else(|| unix(rest[0])) {
                found.push(time);
            }
        }
    }
    found
}

fn local(naive: NaiveDateTime) -> Option<SystemTime> {
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(SystemTime::from)
}

/// `Thu Nov 26 07:21:06 2026` starting at `words[0]`.
fn ctime(words: &[&str]) -> Option<SystemTime> {
    let five = words.get(..5)?.join(" ");
    let naive = NaiveDateTime::parse_from_str(&five, "%a %b %e %H:%M:%S %Y").ok()?;
    local(naive)
}

/// An ISO 8601 date and time starting at `words[0]`: one word with a `T`, or two words.
fn iso(words: &[&str]) -> Option<SystemTime> {
    let first = words[0].trim_end_matches('.');
    if !first.starts_with(|c: char| c.is_ascii_digit()) || !first.contains('-') {
        return None;
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(first) {
        return Some(time.into());
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(first, "%Y-%m-%dT%H:%M:%S%.f") {
        return local(naive);
    }
    let second = words.get(1)?.trim_end_matches('.');
    let joined = format!("{first}T{second}");
    if let Ok(time) = DateTime::parse_from_rfc3339(&joined) {
        return Some(time.into());
    }
    let naive = NaiveDateTime::parse_from_str(&joined, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    match words.get(2).copied() {
        Some("UTC" | "Z" | "GMT" | "+00:00" | "+0000") => Some(naive.and_utc().into()),
        _ => local(naive),
    }
}

/// Unix seconds between 2001 and 2286 (10 digits before any fraction).
fn unix(word: &str) -> Option<SystemTime> {
    let word = word.trim_end_matches('.');
    let whole = word.split('.').next()?;
    if whole.len() != 10 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: f64 = word.parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_in_the_local_zone_with_one_or_two_spaces_before_the_day() {
        let time = Local.with_ymd_and_hms(2026, 11, 6, 7, 21, 6).unwrap();
        let expected = SystemTime::from(time);
        assert_eq!(times_in("time: Fri Nov  6 07:21:06 2026"), [expected]);
        assert_eq!(times_in("Fri Nov 6 07:21:06 2026"), [expected]);
    }

    #[test]
    fn iso_forms_and_unix_seconds() {
        let utc = UNIX_EPOCH + Duration::from_secs(1_795_677_666);
        assert_eq!(times_in("at 2026-11-26T07:21:06+00:00."), [utc]);
        assert_eq!(times_in("2026-11-26 07:21:06 UTC"), [utc]);
        assert_eq!(times_in("(1795677666)"), [utc]);
        let naive = NaiveDateTime::parse_from_str("2026-11-26 07:21:06", "%Y-%m-%d %H:%M:%S");
        assert_eq!(
            times_in("2026-11-26 07:21:06"),
            [local(naive.unwrap()).unwrap()]
        );
    }

    #[test]
    fn offsets_and_delays_are_not_times() {
        assert!(times_in("offset: +5000.000123 s\ndelay: 0.000154 s\nstratum: 2").is_empty());
    }
}
