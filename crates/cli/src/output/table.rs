//! Aligned tables as podman prints them: columns padded to their widest cell,
//! separated by two or more spaces.

pub fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Prints a table whose first row is its heading; `--noheading` leaves it out.
pub fn print(rows: &[Vec<String>], heading: bool) {
    let text = render(rows);
    match (heading, text.split_once('\n')) {
        (false, Some((_, body))) => print!("{body}"),
        _ => print!("{text}"),
    }
}
