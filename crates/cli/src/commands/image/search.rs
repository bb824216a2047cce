//! `search`: repositories of a registry, or a repository's tags.

use clap::Args;

use crate::commands::image::access::{Access, PlatformArgs, context};
use crate::exit::{self, CmdResult};

#[derive(Args)]
pub struct SearchArgs {
    /// At most this many results from each registry.
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// The tags of the repository TERM names.
    #[arg(long)]
    list_tags: bool,
    /// stars=N, is-official=BOOL, is-automated=BOOL (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// json, or a Go template per result (.Index .Name .Description .Stars
    /// .Official .Automated .Tag).
    #[arg(long)]
    format: Option<String>,
    /// Descriptions in full (they are never cut here).
    #[arg(long)]
    no_trunc: bool,
    #[command(flatten)]
    access: Access,
    /// REGISTRY/TERM, REGISTRY/ for everything, or a bare TERM for the
    /// unqualified-search-registries.
    term: String,
}

pub fn search(a: SearchArgs) -> CmdResult {
    let ctx = context(&a.access, &PlatformArgs::default())?;
    let o = berth_engine::images::SearchOptions {
        limit: a.limit,
        list_tags: a.list_tags,
        filters: a.filter.clone(),
    };
    let found = berth_engine::images::search(&a.term, &ctx, &o).map_err(exit::image)?;
    let rows = crate::output::values(found);
    let default = if a.list_tags {
        "table {{.Name}}\t{{.Tag}}"
    } else {
        "table {{.Name}}\t{{.Description}}"
    };
    crate::output::print_rows(&rows, a.format.as_deref().unwrap_or(default))
}
