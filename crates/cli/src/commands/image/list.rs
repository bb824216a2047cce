//! `images`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::print_value;
use crate::output::since;
use berth_engine::Engine;
use berth_engine::images::ListOptions;
use berth_engine::units::table_size;
use clap::Args;

#[derive(Args)]
pub struct ImagesArgs {
    /// Show intermediate images too.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Show digests.
    #[arg(long)]
    pub(crate) digests: bool,
    /// Leave the table's heading out.
    #[arg(long, short = 'n')]
    pub(crate) noheading: bool,
    /// Do not truncate IDs.
    #[arg(long)]
    pub(crate) no_trunc: bool,
    /// json, or a Go template.
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// reference=PATTERN, dangling=, id=, before=IMAGE, since=IMAGE, digest=,
    /// label=KEY[=VALUE], readonly=true|false.
    #[arg(short, long)]
    pub(crate) filter: Vec<String>,
    /// created, id, repository, size or tag.
    #[arg(long, default_value = "created", value_parser = ["created", "id", "repository", "size", "tag"])]
    pub(crate) sort: String,
    /// Only images matching this reference.
    pub(crate) reference: Option<String>,
}

pub fn images(store_args: &StoreArgs, a: ImagesArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let mut filters = a.filter.clone();
    if let Some(r) = &a.reference {
        filters.push(format!("reference={r}"));
    }
    let options = ListOptions {
        all: a.all,
        filters,
        sort: a.sort.parse().map_err(exit::image)?,
    };
    let list = engine.images().list(&options).map_err(exit::image)?;
    let id = |full: &str| {
        if a.no_trunc {
            format!("sha256:{full}")
        } else {
            full[..12].to_string()
        }
    };
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for s in &list {
            if seen.insert(&s.id) {
                println!("{}", id(&s.id));
            }
        }
        return Ok(());
    }
    let json = a.format.as_deref() == Some("json");
    let values: Vec<serde_json::Value> = list
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).expect("serialises");
            v["ID"] = id(&s.id).into();
            v["CreatedSince"] = since(s.created).into();
            v["VirtualSize"] = s.size.into();
            if !json {
                // podman's template fields: the names joined, the size and
                // the age for humans, the time in Go's format.
                v["History"] = s.history.join(", ").into();
                v["Size"] = table_size(s.size).into();
                v["Created"] = since(s.created).into();
                v["CreatedTime"] = created_at(s.created).into();
            }
            // JSON has RFC 3339; templates Go's default time format.
            v["CreatedAt"] = if json {
                berth_engine::time::format_rfc3339(s.created).into()
            } else {
                created_at(s.created).into()
            };
            v
        })
        .collect();
    match a.format.as_deref() {
        Some("json") => print_value(&serde_json::Value::Array(values), None),
        Some(t) => crate::output::print_rows(&values, t),
        None => {
            let rows = list.iter().map(|s| {
                let (repo, tag, digest) = (s.repository.clone(), s.tag.clone(), s.digest.clone());
                [
                    repo,
                    tag,
                    digest,
                    id(&s.id),
                    since(s.created),
                    table_size(s.size),
                ]
            });
            let table = crate::output::table::images(a.digests, rows);
            crate::output::table::print(&table, !a.noheading);
            Ok(())
        }
    }
}

/// A time as podman's `images` shows `.CreatedAt` (Go's default time format).
pub(crate) fn created_at(secs: u64) -> String {
    berth_engine::time::go_time(secs.saturating_mul(1_000_000_000))
}
