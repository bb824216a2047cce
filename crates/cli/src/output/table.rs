//! Aligned tables as podman prints them: columns padded to their widest cell,
//! separated by two or more spaces.

use serde_json::Value;

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

/// A table of JSON rows by columns of (heading, field): each cell the
/// field's text, a string as it is and anything else as JSON.
pub fn of_fields(columns: &[(&str, &str)], rows: &[Value]) -> Vec<Vec<String>> {
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let head = columns.iter().map(|(h, _)| h.to_string()).collect();
    let body = rows
        .iter()
        .map(|r| columns.iter().map(|(_, k)| cell(&r[*k])).collect());
    std::iter::once(head).chain(body).collect()
}

/// A row of fixed words (a heading).
pub fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// The table `images` and `builder images` print: each row's repository,
/// tag, digest, image ID, age and size; the DIGEST column only with
/// `--digests`.
pub fn images(digests: bool, rows: impl IntoIterator<Item = [String; 6]>) -> Vec<Vec<String>> {
    let head = ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"].map(String::from);
    std::iter::once(head)
        .chain(rows)
        .map(|r| {
            r.into_iter()
                .enumerate()
                .filter(|(i, _)| digests || *i != 2)
                .map(|(_, c)| c)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_columns_print_strings_bare_and_the_rest_as_json() {
        let rows = [serde_json::json!({"Name": "web", "Total": 3, "Pod": null})];
        let cols = [("NAME", "Name"), ("TOTAL", "Total"), ("POD", "Pod")];
        let t = of_fields(&cols, &rows);
        assert_eq!(
            t,
            [row(&["NAME", "TOTAL", "POD"]), row(&["web", "3", "null"])]
        );
    }

    #[test]
    fn the_digest_column_is_there_only_when_asked_for() {
        let r = ["r", "t", "sha256:d", "id", "now", "1B"].map(String::from);
        let without = images(false, [r.clone()]);
        assert_eq!(
            without[0],
            row(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"])
        );
        assert_eq!(without[1], row(&["r", "t", "id", "now", "1B"]));
        let with = images(true, [r]);
        assert_eq!(with[0][2], "DIGEST");
        assert_eq!(with[1][2], "sha256:d");
    }
}
