//! `builder images`: buildah's `images`, its columns, `--json` and template fields.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::images::{self, ImagesOptions};
use berth_engine::Engine;
use clap::Args;

#[derive(Args)]
pub(crate) struct ImagesArgs {
    /// Intermediate images too.
    #[arg(short, long)]
    all: bool,
    /// Show digests.
    #[arg(long)]
    digests: bool,
    /// reference=, dangling=, id=, before=, since=, label=, readonly=.
    #[arg(short, long)]
    filter: Vec<String>,
    /// A Go template ({{.ID}} {{.Name}} {{.Tag}} {{.Digest}} {{.CreatedAt}} {{.Size}} …).
    #[arg(long)]
    format: Option<String>,
    /// JSON, as buildah writes it.
    #[arg(long)]
    json: bool,
    #[arg(short, long)]
    noheading: bool,
    #[arg(long)]
    no_trunc: bool,
    /// IDs only.
    #[arg(short, long)]
    quiet: bool,
    /// A HISTORY column: the other names the image has had.
    #[arg(long)]
    history: bool,
    /// Only images of this name.
    image: Option<String>,
}

pub(crate) fn images(store_args: &StoreArgs, a: ImagesArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let o = ImagesOptions {
        all: a.all,
        filters: a.filter.clone(),
        image: a.image.clone(),
        full_ids: a.no_trunc,
    };
    let list = images::list(&engine.images(), &o).map_err(exit::image)?;
    if a.json {
        crate::output::print_json_indented(&list.json(), 4);
        return Ok(());
    }
    if a.quiet {
        list.ids().iter().for_each(|id| println!("{id}"));
        return Ok(());
    }
    let rows = list.fields();
    if let Some(f) = &a.format {
        return crate::output::print_rows(&crate::output::values(&rows), f);
    }
    let history: Vec<String> = rows.iter().map(|r| r.history.clone()).collect();
    let rows = rows
        .into_iter()
        .map(|r| [r.name, r.tag, r.digest, r.id, r.created_at, r.size]);
    let mut table = crate::output::table::images(a.digests, rows);
    if a.history {
        let column = std::iter::once("HISTORY".to_string()).chain(history);
        table.iter_mut().zip(column).for_each(|(r, h)| r.push(h));
    }
    crate::output::table::print(&table, !a.noheading);
    Ok(())
}
