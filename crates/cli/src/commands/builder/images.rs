//! `builder images`: buildah's `images`, its columns, `--json` and template fields.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::images::{self, ImagesOptions};
use berth_engine::Engine;
use clap::Args;
use serde_json::Value;

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
        // buildah indents by four.
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&list.json(), &mut ser).expect("json");
        println!("{}", String::from_utf8_lossy(&out));
        return Ok(());
    }
    if a.quiet {
        list.ids().iter().for_each(|id| println!("{id}"));
        return Ok(());
    }
    let rows = list.fields();
    if let Some(f) = &a.format {
        let rows: Vec<Value> = rows
            .iter()
            .map(|r| serde_json::to_value(r).expect("json"))
            .collect();
        return crate::output::print_rows(&rows, f);
    }
    let mut head = vec!["REPOSITORY", "TAG"];
    if a.digests {
        head.push("DIGEST");
    }
    head.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let mut table = vec![head.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for r in rows {
        let mut row = vec![r.name, r.tag];
        if a.digests {
            row.push(r.digest);
        }
        row.extend([r.id, r.created_at, r.size]);
        table.push(row);
    }
    crate::output::table::print(&table, !a.noheading);
    Ok(())
}
