//! `history`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::since;
use berth_engine::units::table_size;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub struct HistoryArgs {
    /// Do not truncate the output.
    #[arg(long)]
    pub(crate) no_trunc: bool,
    /// Sizes and dates for humans (default true).
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub(crate) human: bool,
    /// Print only IDs.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// json, or a Go template.
    #[arg(long)]
    pub(crate) format: Option<String>,
    pub(crate) image: String,
}

pub fn history(store_args: &StoreArgs, a: HistoryArgs) -> CmdResult {
    let store = store_args.open()?;
    let rows: Vec<Value> = berth_engine::images::history(&store, &a.image)
        .map_err(exit::image)?
        .iter()
        .map(|e| serde_json::to_value(e).expect("serialises"))
        .collect();
    if a.quiet {
        for r in &rows {
            println!("{}", short_id(r["id"].as_str().unwrap_or(""), a.no_trunc));
        }
        return Ok(());
    }
    if let Some(f) = a.format.as_deref() {
        if f == "json" {
            return crate::output::print_rows(&rows, f);
        }
        // Templates see podman's fields, shaped by --human and --no-trunc.
        let fields: Vec<Value> = rows
            .iter()
            .map(|r| {
                let created = r["created"].as_str().unwrap_or("").to_string();
                let size = r["size"].as_u64().unwrap_or(0);
                json!({
                    "ID": short_id(r["id"].as_str().unwrap_or(""), a.no_trunc),
                    "Created": if a.human { created_since(&created) } else { created.clone() },
                    "CreatedSince": created_since(&created),
                    "CreatedAt": crate::commands::image::list::created_at(
                        berth_engine::time::parse_rfc3339(&created).unwrap_or(0),
                    ),
                    "CreatedBy": r["createdBy"],
                    "Size": if a.human { table_size(size) } else { size.to_string() },
                    "Comment": r["comment"],
                })
            })
            .collect();
        return crate::output::print_rows(&fields, f);
    }
    let mut table = vec![
        ["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &rows {
        let by = r["createdBy"].as_str().unwrap_or("").to_string();
        let by = if a.no_trunc || by.chars().count() <= 45 {
            by
        } else {
            by.chars().take(42).collect::<String>() + "..."
        };
        let size = r["size"].as_u64().unwrap_or(0);
        let created = r["created"].as_str().unwrap_or("").to_string();
        table.push(vec![
            short_id(r["id"].as_str().unwrap_or(""), a.no_trunc),
            if a.human {
                created_since(&created)
            } else {
                created
            },
            by,
            if a.human {
                table_size(size)
            } else {
                size.to_string()
            },
            r["comment"].as_str().unwrap_or("").to_string(),
        ]);
    }
    print!("{}", crate::output::table::render(&table));
    Ok(())
}

fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc || id.len() < 12 || id.starts_with('<') {
        id.to_string()
    } else {
        id[..12].to_string()
    }
}

/// An RFC 3339 time as "N units ago" (the epoch when it cannot be read).
fn created_since(t: &str) -> String {
    since(berth_engine::time::parse_rfc3339(t).unwrap_or(0))
}
