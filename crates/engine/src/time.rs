//! Times as the field writes them: seconds since the epoch, RFC 3339 in UTC.
//! The one place berth's engine and front ends convert between the two.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// "3 minutes ago", as podman shows a time in seconds since the epoch.
pub fn since(t: u64) -> String {
    ago(now_secs().saturating_sub(t))
}

/// `d` seconds as podman's "N units ago" (months of 30 days, years of 365).
fn ago(d: u64) -> String {
    let (n, unit) = match d {
        0..=59 => (d, "second"),
        60..=3599 => (d / 60, "minute"),
        3600..=86_399 => (d / 3600, "hour"),
        86_400..=2_591_999 => (d / 86_400, "day"),
        2_592_000..=31_535_999 => (d / 2_592_000, "month"),
        _ => (d / 31_536_000, "year"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

fn from_ns(ns: u64) -> Timestamp {
    // Every u64 of nanoseconds (to the year 2554) is a valid timestamp.
    Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in seconds since the epoch.
pub fn format_rfc3339(secs: u64) -> String {
    from_ns(secs.saturating_mul(1_000_000_000))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// RFC 3339 with all nine digits of nanoseconds, of a time in nanoseconds
/// since the epoch (the form container logs and inspect use).
pub fn format_rfc3339_nanos(ns: u64) -> String {
    from_ns(ns).strftime("%Y-%m-%dT%H:%M:%S.%NZ").to_string()
}

/// Go's `time.RFC3339Nano` in UTC, as Go marshals a time into JSON: the
/// fraction without its trailing zeros, none when whole.
pub fn format_rfc3339_go(ns: u64) -> String {
    from_ns(ns).strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string()
}

/// Go's default time format in UTC, as podman prints times in tables and
/// events: `2006-01-02 15:04:05.999999999 +0000 UTC` (no trailing zeros).
pub fn go_time(ns: u64) -> String {
    from_ns(ns)
        .strftime("%Y-%m-%d %H:%M:%S%.f +0000 UTC")
        .to_string()
}

/// Go's `time.UnixDate` in UTC (`Fri Dec  4 23:40:44 UTC 2026`), as the
/// date(1) of a C locale prints it.
pub fn unix_date(ns: u64) -> String {
    from_ns(ns).strftime("%a %b %e %H:%M:%S UTC %Y").to_string()
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-02T03:04:05Z`, any
/// fraction and offset ignored as podman's filters do).
pub fn parse_rfc3339(t: &str) -> Option<u64> {
    let civil: DateTime = t.get(..19)?.parse().ok()?;
    let ts = civil.to_zoned(TimeZone::UTC).ok()?.timestamp();
    u64::try_from(ts.as_second()).ok()
}

/// Nanoseconds since the epoch of an RFC 3339 time, its fraction and its
/// offset (`Z`, `+HH:MM`, `-HH:MM`) honoured; none means UTC.
pub fn parse_rfc3339_nanos(t: &str) -> Option<u64> {
    if t.len() < 19 || t.as_bytes()[10] != b'T' {
        return None;
    }
    let ts = t.parse::<Timestamp>().ok().or_else(|| {
        let civil: DateTime = t.parse().ok()?;
        Some(civil.to_zoned(TimeZone::UTC).ok()?.timestamp())
    })?;
    u64::try_from(ts.as_nanosecond()).ok()
}

/// A point in time as podman's `--since`/`--until` take it: a duration ago
/// (`10m`), Unix seconds, or RFC 3339; in nanoseconds since the epoch.
pub fn parse_point(v: &str) -> Result<u64, InvalidTime> {
    if let Ok(ns) = crate::duration::parse_go_duration(v)
        && ns >= 0
    {
        return Ok(now_ns().saturating_sub(ns.unsigned_abs()));
    }
    if let Ok(s) = v.parse::<u64>() {
        return Ok(s.saturating_mul(1_000_000_000));
    }
    parse_rfc3339_nanos(v).ok_or_else(|| InvalidTime(v.to_string()))
}

#[derive(Debug, thiserror::Error)]
#[error(
    "invalid time {0:?}: use RFC 3339 (2026-01-02T15:04:05Z), Unix seconds or a duration (10m)"
)]
pub struct InvalidTime(pub String);

/// An `until=` filter's moment, in seconds since the epoch: a duration ago
/// (`10m`), Unix seconds, or RFC 3339.
pub fn until(v: &str) -> Option<u64> {
    if let Ok(d) = crate::health::parse_duration(v) {
        return Some(now_secs().saturating_sub(d.as_secs()));
    }
    if let Ok(t) = v.parse::<u64>() {
        return Some(t);
    }
    parse_rfc3339(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_counts_the_largest_whole_unit() {
        assert_eq!(ago(0), "0 seconds ago");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(7199), "1 hour ago");
        assert_eq!(ago(2 * 86_400), "2 days ago");
        assert_eq!(ago(31_536_000), "1 year ago");
    }

    #[test]
    fn formats_and_parses_agree() {
        for t in [0, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            format_rfc3339_nanos(1_700_000_000_000_000_042),
            "2023-11-14T22:13:20.000000042Z"
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.5+00:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        let t = 1_700_000_000_000_000_000;
        assert_eq!(parse_rfc3339_nanos("2023-11-14T22:13:20Z"), Some(t));
        assert_eq!(parse_rfc3339_nanos("2023-11-14T22:13:20+00:00"), Some(t));
        assert_eq!(
            parse_rfc3339_nanos("2023-11-15T00:13:20.5+02:00"),
            Some(t + 500_000_000)
        );
        assert_eq!(parse_rfc3339_nanos("2023-11-14T17:13:20-05:00"), Some(t));
        assert_eq!(parse_rfc3339_nanos("2023-11-14T22:13:20"), Some(t));
        assert_eq!(parse_rfc3339_nanos("1700000000"), None);
        assert_eq!(go_time(t), "2023-11-14 22:13:20 +0000 UTC");
        assert_eq!(go_time(t + 120_000), "2023-11-14 22:13:20.00012 +0000 UTC");
        assert_eq!(format_rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(format_rfc3339_go(t), "2023-11-14T22:13:20Z");
        assert_eq!(
            format_rfc3339_go(t + 450_748_500),
            "2023-11-14T22:13:20.4507485Z"
        );
        assert_eq!(parse_point("1700000000").unwrap(), t);
        assert_eq!(parse_point("2023-11-14T22:13:20Z").unwrap(), t);
        let ten_minutes_ago = parse_point("10m").unwrap();
        assert!(now_ns() - ten_minutes_ago >= 600_000_000_000);
        assert!(parse_point("yesterday").is_err());
    }
}
