//! Times as the field writes them: seconds since the epoch, RFC 3339 in UTC.
//! The one place berth's engine and front ends convert between the two.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in seconds since the epoch.
pub fn format_rfc3339(secs: u64) -> String {
    let (date, rem) = civil_date(secs);
    format!("{date}T{}Z", clock(rem))
}

/// RFC 3339 with nanoseconds, of a time in nanoseconds since the epoch.
pub fn format_rfc3339_nanos(ns: u64) -> String {
    let (date, rem) = civil_date(ns / 1_000_000_000);
    format!("{date}T{}.{:09}Z", clock(rem), ns % 1_000_000_000)
}

fn civil_date(secs: u64) -> (String, u64) {
    let days = (secs / 86_400) as i64;
    let (y, m, d) = berth_runtime::state::civil(days);
    (format!("{y:04}-{m:02}-{d:02}"), secs % 86_400)
}

fn clock(rem: u64) -> String {
    format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-02T03:04:05Z`, any
/// fraction and offset ignored as podman's filters do).
pub fn parse_rfc3339(t: &str) -> Option<u64> {
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let hms: Vec<i64> = time
        .get(..8)?
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]).ok()
}

/// Nanoseconds since the epoch of an RFC 3339 time, its fraction and its
/// offset (`Z`, `+HH:MM`, `-HH:MM`) honoured.
pub fn parse_rfc3339_nanos(t: &str) -> Option<u64> {
    let secs = parse_rfc3339(t)? as i64;
    let rest = t.get(19..)?;
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            (&r[..digits], &r[digits..])
        }
        None => ("", rest),
    };
    if frac.len() > 9 {
        return None;
    }
    let nanos: i64 = format!("{frac:0<9}").parse().ok()?;
    let offset = match zone {
        "Z" | "z" | "" => 0,
        z => {
            let sign = match z.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = z[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    u64::try_from((secs - offset) * 1_000_000_000 + nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
