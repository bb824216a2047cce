//! The YAML podman prints `info` in: nested objects by indentation.

use crate::exit::{self, CmdResult};
use serde_json::Value;

/// A report as podman's YAML.
pub fn print_yaml(report: &impl serde::Serialize) -> CmdResult {
    let v = serde_json::to_value(report).map_err(exit::podman)?;
    let mut out = String::new();
    yaml(&v, 0, &mut out);
    super::write_out(out.as_bytes())
}

fn yaml(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    if let Value::Object(m) = v {
        for (k, x) in m {
            match x {
                // An empty map on one line, as podman's YAML has it.
                Value::Object(m) if m.is_empty() => out.push_str(&format!("{pad}{k}: {{}}\n")),
                Value::Object(_) => {
                    out.push_str(&format!("{pad}{k}:\n"));
                    yaml(x, depth + 1, out);
                }
                Value::String(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                other => out.push_str(&format!("{pad}{k}: {other}\n")),
            }
        }
    }
}
