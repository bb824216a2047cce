//! Sizes as podman prints them (go-units' decimal units).

const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// go-units' `HumanSizeWithPrecision`: `precision` significant digits, a
/// decimal unit and no space (`4.56MB`, `0B`).
pub fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    format!("{}{}", significant(v, precision), UNITS[u])
}

/// go-units' `BytesSize`: four significant digits and a binary unit
/// (`1.5MiB`), as `stats` shows memory.
pub fn bytes_size(bytes: u64) -> String {
    const BINARY: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < BINARY.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{}{}", significant(v, 4), BINARY[u])
}

/// `v` to `precision` significant digits, trailing zeros dropped (Go's %.Ng
/// for the values a size takes).
fn significant(v: f64, precision: usize) -> String {
    let int_digits = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let mut s = format!("{v:.*}", precision.saturating_sub(int_digits));
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    s
}

/// go-units' `HumanSize`: four significant digits (`system df`, log sizes).
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

/// A size in podman's tables (`images`, `history`, `ps --size`): three
/// significant digits and a space before the unit (`4.56 MB`).
pub fn table_size(bytes: u64) -> String {
    let s = human_size_with_precision(bytes, 3);
    let at = s.rfind(|c: char| c.is_ascii_digit()).map_or(0, |i| i + 1);
    format!("{} {}", &s[..at], &s[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_podmans() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(7000), "7kB");
        assert_eq!(human_size(22_530), "22.53kB");
        assert_eq!(human_size(3_047_000), "3.047MB");
        assert_eq!(human_size(4_273_456), "4.273MB");
        assert_eq!(human_size(5_010_000), "5.01MB");
        assert_eq!(human_size(123_456_789), "123.5MB");
        assert_eq!(table_size(4_560_000), "4.56 MB");
        assert_eq!(table_size(4_273_456), "4.27 MB");
        assert_eq!(table_size(1_229_824), "1.23 MB");
        assert_eq!(table_size(512), "512 B");
        assert_eq!(table_size(0), "0 B");
        assert_eq!(bytes_size(1_572_864), "1.5MiB");
        assert_eq!(bytes_size(1000), "1000B");
    }
}
