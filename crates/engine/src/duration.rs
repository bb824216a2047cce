//! Durations written the way Go's `time.ParseDuration` reads them, as
//! HEALTHCHECK's `--interval=1m30s`, `--health-interval`, `--since 10m` and
//! `until=` are: one parser for the engine, its front ends and the builder.
//!
//! A duration is an optional sign then one or more `number unit` pairs, the
//! number possibly fractional (`1.5h`, `.5s`, `2.`); units are `ns`, `us`
//! (`µs`, `μs`), `ms`, `s`, `m`, `h`. A bare `0` needs no unit.

/// Why a duration does not parse, in Go's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {}", quote(.0))]
    Invalid(String),
    #[error("time: missing unit in duration {}", quote(.0))]
    MissingUnit(String),
    #[error("time: unknown unit {} in duration {}", quote(.unit), quote(.duration))]
    UnknownUnit { unit: String, duration: String },
}

/// Quotes a string the way Go's `%q` does, as Go's errors quote what they
/// could not read (the builder's messages too).
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration into signed nanoseconds. Errors read like Go's.
pub fn parse_go_duration(s: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(s.to_string());
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, after) = component(rest, s).ok_or_else(invalid)??;
        total = total.checked_add(nanos).ok_or_else(invalid)?;
        rest = after;
    }
    let limit = if negative {
        1u128 << 63
    } else {
        (1u128 << 63) - 1
    };
    if total > limit {
        return Err(invalid());
    }
    // `total <= 2^63` here, so the conversion through i128 cannot fail.
    let signed = if negative {
        -(total as i128)
    } else {
        total as i128
    };
    Ok(signed as i64)
}

/// One `number unit` pair at the start of `rest`: its value in nanoseconds
/// and what follows. `None` when there is no number (an invalid duration);
/// `Some(Err)` for a missing or unknown unit.
fn component<'a>(rest: &'a str, whole: &str) -> Option<Result<(u128, &'a str), DurationError>> {
    let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (int_part, after_int) = rest.split_at(int_len);
    let (frac_part, after_num) = match after_int.strip_prefix('.') {
        Some(r) => {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            r.split_at(n)
        }
        None => ("", after_int),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let unit_len = after_num
        .char_indices()
        .find(|&(_, c)| c == '.' || c.is_ascii_digit())
        .map_or(after_num.len(), |(i, _)| i);
    let (unit, after) = after_num.split_at(unit_len);
    if unit.is_empty() {
        return Some(Err(DurationError::MissingUnit(whole.to_string())));
    }
    let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Some(Err(DurationError::UnknownUnit {
            unit: unit.to_string(),
            duration: whole.to_string(),
        }));
    };
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    // Fractions are truncated to whole nanoseconds; at most 30 digits are
    // kept so the arithmetic cannot overflow.
    let frac_digits = &frac_part[..frac_part.len().min(30)];
    let frac = if frac_digits.is_empty() {
        0
    } else {
        let num: u128 = frac_digits.parse().ok()?;
        num * scale / 10u128.pow(frac_digits.len() as u32)
    };
    let nanos = int.checked_mul(scale)?.checked_add(frac)?;
    Some(Ok((nanos, after)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid() {
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-0"), Ok(0));
        assert_eq!(parse_go_duration("30s"), Ok(30_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_go_duration("2.s"), Ok(2_000_000_000));
        assert_eq!(parse_go_duration("100ms"), Ok(100_000_000));
        assert_eq!(parse_go_duration("3us"), Ok(3_000));
        assert_eq!(parse_go_duration("3µs"), Ok(3_000));
        assert_eq!(parse_go_duration("3μs"), Ok(3_000));
        assert_eq!(parse_go_duration("7ns"), Ok(7));
        assert_eq!(parse_go_duration("-1h2m"), Ok(-3_720_000_000_000));
        assert_eq!(parse_go_duration("+5s"), Ok(5_000_000_000));
        assert_eq!(parse_go_duration("1.0000000001s"), Ok(1_000_000_000));
        assert_eq!(parse_go_duration("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
    }

    #[test]
    fn invalid() {
        assert_eq!(
            parse_go_duration("").unwrap_err().to_string(),
            "time: invalid duration \"\""
        );
        assert_eq!(
            parse_go_duration("1").unwrap_err().to_string(),
            "time: missing unit in duration \"1\""
        );
        assert_eq!(
            parse_go_duration("1d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
        assert!(parse_go_duration(".s").is_err());
        assert!(parse_go_duration("s").is_err());
        assert!(parse_go_duration("-").is_err());
        assert!(parse_go_duration("1s ").is_err());
        assert!(parse_go_duration("2562047h47m16.854775808s").is_err());
        assert!(parse_go_duration("99999999999999999999h").is_err());
    }
}
