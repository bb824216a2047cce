//! Times as Go's time.Time shows them to templates: `String()` for a time
//! printed as it is, and the methods scripts call (`.Format "2006-01-02"`,
//! `.Unix`). The JSON holds them as RFC 3339.

/// An RFC 3339 time taken apart, as written (no zone conversion).
struct Time {
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
    second: i8,
    nanos: i32,
    /// Seconds east of UTC; `Z` is 0 and named UTC.
    offset: i32,
    utc: bool,
    /// Seconds since the epoch.
    unix: i64,
    weekday: jiff::civil::Weekday,
}

/// A date, a time and a zone (`Z` or `±hh:mm`), or nothing: a string
/// without all three is not a time to print as one.
fn parse(s: &str) -> Option<Time> {
    use jiff::fmt::temporal::{Pieces, PiecesOffset};
    let pieces = Pieces::parse(s).ok()?;
    let (offset, utc) = match pieces.offset()? {
        PiecesOffset::Zulu => (jiff::tz::Offset::UTC, true),
        PiecesOffset::Numeric(n) => (n.offset(), false),
        _ => return None,
    };
    let (date, time) = (pieces.date(), pieces.time()?);
    let unix = date
        .to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::fixed(offset))
        .ok()?
        .timestamp()
        .as_second();
    Some(Time {
        year: date.year(),
        month: date.month(),
        day: date.day(),
        hour: time.hour(),
        minute: time.minute(),
        second: time.second(),
        nanos: time.subsec_nanosecond(),
        offset: offset.seconds(),
        utc,
        unix,
        weekday: date.weekday(),
    })
}

impl Time {
    fn unix(&self) -> i64 {
        self.unix
    }

    fn zone_offset(&self, colon: bool) -> String {
        let sign = if self.offset < 0 { '-' } else { '+' };
        let (h, m) = (self.offset.abs() / 3600, self.offset.abs() % 3600 / 60);
        match colon {
            true => format!("{sign}{h:02}:{m:02}"),
            false => format!("{sign}{h:02}{m:02}"),
        }
    }

    fn zone_name(&self) -> String {
        if self.utc {
            "UTC".into()
        } else {
            self.zone_offset(false)
        }
    }

    /// Go's `String()`: fraction without trailing zeros, offset, zone name.
    fn go_string(&self) -> String {
        let frac = format!("{:09}", self.nanos);
        let frac = frac.trim_end_matches('0');
        let dot = if frac.is_empty() { "" } else { "." };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{dot}{frac} {} {}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.zone_offset(false),
            self.zone_name()
        )
    }

    /// Go's `Format(layout)` for the layout words scripts use.
    fn format(&self, layout: &str) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        let month = MONTHS[self.month as usize - 1];
        let weekday = DAYS[self.weekday.to_sunday_zero_offset() as usize];
        let hour12 = match self.hour % 12 {
            0 => 12,
            h => h,
        };
        let frac = format!("{:09}", self.nanos);
        // Longest words first, as Go's layout scanner reads them.
        let words: [(&str, String); 26] = [
            ("January", month.to_string()),
            ("Monday", weekday.to_string()),
            (
                "Z07:00",
                if self.utc {
                    "Z".into()
                } else {
                    self.zone_offset(true)
                },
            ),
            ("-07:00", self.zone_offset(true)),
            ("-0700", self.zone_offset(false)),
            (
                "Z0700",
                if self.utc {
                    "Z".into()
                } else {
                    self.zone_offset(false)
                },
            ),
            (".000000000", format!(".{frac}")),
            (".000000", format!(".{}", &frac[..6])),
            (".000", format!(".{}", &frac[..3])),
            (".999999999", {
                let t = frac.trim_end_matches('0');
                if t.is_empty() {
                    String::new()
                } else {
                    format!(".{t}")
                }
            }),
            ("2006", format!("{:04}", self.year)),
            ("Jan", month[..3].to_string()),
            ("Mon", weekday[..3].to_string()),
            ("MST", self.zone_name()),
            ("01", format!("{:02}", self.month)),
            ("02", format!("{:02}", self.day)),
            ("_2", format!("{:>2}", self.day)),
            ("15", format!("{:02}", self.hour)),
            ("03", format!("{hour12:02}")),
            ("04", format!("{:02}", self.minute)),
            ("05", format!("{:02}", self.second)),
            ("06", format!("{:02}", self.year % 100)),
            ("PM", if self.hour < 12 { "AM" } else { "PM" }.into()),
            ("pm", if self.hour < 12 { "am" } else { "pm" }.into()),
            ("1", self.month.to_string()),
            ("2", self.day.to_string()),
        ];
        let mut out = String::new();
        let mut rest = layout;
        'scan: while !rest.is_empty() {
            for (word, value) in &words {
                if let Some(r) = rest.strip_prefix(word) {
                    out.push_str(value);
                    rest = r;
                    continue 'scan;
                }
            }
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

/// An RFC 3339 time as Go's `time.Time.String()` prints it.
pub fn string(s: &str) -> Option<String> {
    parse(s).map(|t| t.go_string())
}

/// A time method a template calls on an RFC 3339 time: `Format LAYOUT`,
/// `Unix`, `UnixNano`, `Year`; None when `s` is no time or the method none of
/// these.
pub fn method(s: &str, name: &str, args: &[String]) -> Option<serde_json::Value> {
    let t = parse(s)?;
    Some(match (name, args) {
        ("Format", [layout]) => serde_json::Value::String(t.format(layout)),
        ("String", []) => serde_json::Value::String(t.go_string()),
        ("Unix", []) => serde_json::json!(t.unix()),
        ("UnixNano", []) => serde_json::json!(t.unix() * 1_000_000_000 + i64::from(t.nanos)),
        ("Year", []) => serde_json::json!(t.year),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts_and_unix_seconds() {
        let t = parse("2024-03-01T13:04:05.123456789+02:00").unwrap();
        assert_eq!(t.format("2006-01-02 15:04:05"), "2024-03-01 13:04:05");
        assert_eq!(
            t.format("Mon Jan _2 03:04PM -07:00"),
            "Fri Mar  1 01:04PM +02:00"
        );
        assert_eq!(
            t.format("2006-01-02T15:04:05.000Z07:00"),
            "2024-03-01T13:04:05.123+02:00"
        );
        assert_eq!(t.unix(), 1_709_291_045);
        assert_eq!(t.go_string(), "2024-03-01 13:04:05.123456789 +0200 +0200");
        let z = parse("1970-01-01T00:00:00Z").unwrap();
        assert_eq!(
            (z.unix(), z.format("Monday MST")),
            (0, "Thursday UTC".into())
        );
        assert!(parse("2024-03-01").is_none());
        assert!(parse("2024-13-45T99:00:00Z").is_none());
        assert!(parse("not a time").is_none());
    }
}
