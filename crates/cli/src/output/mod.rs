//! Printing as podman prints: JSON, Go templates per row (with `table`), sizes and times.

pub mod table;
mod yaml;

pub use yaml::print_yaml;

use crate::exit::{self, CmdResult};
use berth_template::Template;
use serde_json::Value;
use std::io::Write;

/// Renders a template once per row (podman's `--format` on lists). A
/// `table ` template gets a header row and aligned columns, as podman prints
/// them.
pub fn print_rows(rows: &[Value], format: &str) -> CmdResult {
    if format == "json" {
        return print_value(&Value::Array(rows.to_vec()), None);
    }
    let (table, f) = match format.strip_prefix("table") {
        Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => (true, rest.trim_start()),
        _ => (false, format),
    };
    let mut f = f.replace("\\t", "\t").replace("\\n", "\n");
    if table {
        // podman's tables: fields a space apart are columns too.
        while f.contains("}} {{") {
            f = f.replace("}} {{", "}}\t{{");
        }
    }
    let t = Template::parse(&f).map_err(exit::podman)?;
    let mut out = String::new();
    if !table {
        for r in rows {
            out.push_str(&t.render(r).map_err(exit::podman)?);
            out.push('\n');
        }
        return write_out(out.as_bytes());
    }
    let mut cells = vec![
        f.split('\t')
            .map(|seg| header_of(seg, rows.first()))
            .collect::<Vec<_>>(),
    ];
    for r in rows {
        let line = t.render(r).map_err(exit::podman)?;
        cells.push(line.split('\t').map(String::from).collect());
    }
    write_out(crate::output::table::render(&cells).as_bytes())
}

/// A column's header: the template's `{{.Field}}`s as podman names them
/// (`CONTAINER ID`, `IMAGE ID`, `CREATED AT` …), the rest of the text kept.
fn header_of(segment: &str, sample: Option<&Value>) -> String {
    let mut out = String::new();
    let mut rest = segment;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let action = rest[start + 2..start + end].trim();
        if let Some(field) = action
            .split_whitespace()
            .find_map(|w| w.strip_prefix('.'))
            .map(|f| f.split('.').next().unwrap_or(f))
            .filter(|f| !f.is_empty())
        {
            out.push_str(&field_header(field, sample));
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out.trim().to_string()
}

fn field_header(field: &str, sample: Option<&Value>) -> String {
    let is = |k: &str| sample.is_some_and(|s| s.get(k).is_some());
    match field {
        "ID" | "Id" if is("Names") && is("Image") => "CONTAINER ID".into(),
        "ID" | "Id" if is("Repository") => "IMAGE ID".into(),
        "CreatedSince" | "CreatedHuman" | "RunningFor" => "CREATED".into(),
        // stats' columns, as podman heads them.
        "CPUPerc" | "CPU" => "CPU %".into(),
        "MemPerc" => "MEM %".into(),
        "MemUsage" => "MEM USAGE / LIMIT".into(),
        "PIDs" | "PIDS" => "PIDS".into(),
        "NetIO" => "NET IO".into(),
        "BlockIO" => "BLOCK IO".into(),
        "AVGCPU" => "AVG CPU %".into(),
        "UpTime" => "CPU TIME".into(),
        _ => {
            // CamelCase to upper-case words: CreatedAt → CREATED AT.
            let mut h = String::new();
            let chars: Vec<char> = field.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let prev_lower = i > 0 && chars[i - 1].is_lowercase();
                if i > 0 && c.is_uppercase() && (prev_lower || next_lower) {
                    h.push(' ');
                }
                h.extend(c.to_uppercase());
            }
            h
        }
    }
}

pub fn print_value(v: &Value, format: Option<&str>) -> CmdResult {
    print_with(v, format, false)
}

/// [`print_value`] of an inspect document, whose times are Go time.Time
/// values to podman's, buildah's and skopeo's templates.
pub fn print_doc(v: &Value, format: Option<&str>) -> CmdResult {
    print_with(v, format, true)
}

fn print_with(v: &Value, format: Option<&str>, go_times: bool) -> CmdResult {
    let text = match format {
        Some(f) => {
            // podman's `table` prefix means nothing to one document.
            let f = f.strip_prefix("table ").unwrap_or(f);
            let mut t = Template::parse(&f.replace("\\t", "\t").replace("\\n", "\n"))
                .map_err(exit::podman)?;
            if go_times {
                t = t.with_go_times();
            }
            let mut s = t.render(v).map_err(exit::podman)?;
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        None => serde_json::to_string_pretty(v).expect("json") + "\n",
    };
    write_out(text.as_bytes())
}

/// A report as the JSON value templates and tables read (berth's reports
/// are plain data: serialising one cannot fail).
pub fn value(report: impl serde::Serialize) -> Value {
    serde_json::to_value(report).expect("a report serialises")
}

/// Reports as the JSON values templates and tables read.
pub fn values<T: serde::Serialize>(reports: impl IntoIterator<Item = T>) -> Vec<Value> {
    reports.into_iter().map(value).collect()
}

/// How an `ls` prints its rows, as its flags say.
pub struct List<'a> {
    /// `-q`: this field of each row alone (an ID, a name).
    pub quiet: Option<&'a str>,
    /// `--format`: a Go template per row (or `json`, `table …`).
    pub format: Option<&'a str>,
    /// false with `--noheading`.
    pub heading: bool,
}

/// An `ls`: the quiet field of each row, else the template, else a table of
/// `columns` (heading, field).
pub fn print_list(rows: &[Value], columns: &[(&str, &str)], how: List) -> CmdResult {
    if let Some(key) = how.quiet {
        rows.iter()
            .for_each(|r| println!("{}", berth_template::to_text(&r[key])));
        return Ok(());
    }
    if let Some(f) = how.format {
        return print_rows(rows, f);
    }
    table::print(&table::of_fields(columns, rows), how.heading);
    Ok(())
}

/// `inspect`'s output, as podman's: one JSON array of the documents (by
/// default, or with `json`), else the template once per document.
pub fn print_inspect(docs: &[Value], format: Option<&str>) -> CmdResult {
    match format {
        None | Some("json") => print_value(&Value::Array(docs.to_vec()), None),
        Some(f) => docs.iter().try_for_each(|v| print_doc(v, Some(f))),
    }
}

/// JSON indented by `width` spaces (buildah's listings use four).
pub fn print_json_indented(v: &impl serde::Serialize, width: usize) {
    let indent = " ".repeat(width);
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).expect("plain data serialises");
    println!("{}", String::from_utf8_lossy(&out));
}

/// A report as indented JSON, as podman's `--format json` prints it.
pub fn print_json(report: &impl serde::Serialize) -> CmdResult {
    print_value(&value(report), None)
}

pub(crate) fn write_out(bytes: &[u8]) -> CmdResult {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes).and_then(|_| o.flush()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            crate::end_by_sigpipe();
        }
        exit::usage(1, format!("writing output: {e}"))
    })
}

pub use berth_engine::time::since;
