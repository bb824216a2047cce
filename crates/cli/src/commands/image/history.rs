//! `history`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::table::row;
use crate::output::values;
use clap::Args;

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
    let entries = berth_engine::images::history(&store, &a.image).map_err(exit::image)?;
    if a.quiet {
        for e in &entries {
            println!("{}", e.short_id(a.no_trunc));
        }
        return Ok(());
    }
    if let Some(f) = a.format.as_deref() {
        let rows = if f == "json" {
            values(&entries)
        } else {
            // Templates see podman's fields, shaped by --human and --no-trunc.
            values(entries.iter().map(|e| e.fields(a.human, a.no_trunc)))
        };
        return crate::output::print_rows(&rows, f);
    }
    let mut table = vec![row(&["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"])];
    for e in &entries {
        let r = e.fields(a.human, a.no_trunc);
        let by = if a.no_trunc || r.created_by.chars().count() <= 45 {
            r.created_by
        } else {
            r.created_by.chars().take(42).collect::<String>() + "..."
        };
        table.push(vec![r.id, r.created, by, r.size, r.comment]);
    }
    print!("{}", crate::output::table::render(&table));
    Ok(())
}
