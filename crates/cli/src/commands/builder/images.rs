//! `builder images`: buildah's `images`, its columns, `--json` and template fields.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_engine::Engine;
use berth_engine::images::{ImageSummary, ListOptions};
use clap::Args;
use serde_json::{Value, json};

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

/// buildah's CREATED: how long ago.
fn created(secs: u64) -> String {
    crate::output::since(secs)
}

fn fields(s: &ImageSummary, id: &str) -> Value {
    json!({
        "ID": id,
        "Name": s.repository,
        "Tag": s.tag,
        "Digest": s.digest,
        "CreatedAt": created(s.created),
        "Created": s.created,
        "CreatedAtRaw": berth_engine::time::format_rfc3339(s.created),
        "Size": berth_engine::units::table_size(s.size),
        "ReadOnly": s.read_only,
        "History": s.history.join(", "),
    })
}

pub(crate) fn images(store_args: &StoreArgs, a: ImagesArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let mut filters = a.filter.clone();
    if let Some(i) = &a.image {
        filters.push(format!("reference={i}"));
    }
    let o = ListOptions {
        all: a.all,
        filters,
        sort: Default::default(),
    };
    let list = engine.images().list(&o).map_err(exit::image)?;
    if let Some(i) = &a.image
        && list.is_empty()
    {
        // buildah's words and code for an image that is not there.
        return Err(exit::podman(format!("{i}: image not known")));
    }
    let id = |s: &ImageSummary| match a.no_trunc {
        true => format!("sha256:{}", s.id),
        false => s.id[..12].to_string(),
    };
    if a.json {
        let mut seen = Vec::new();
        let v: Vec<Value> = list
            .iter()
            .filter(|s| {
                let new = !seen.contains(&s.id);
                seen.push(s.id.clone());
                new
            })
            .map(|s| {
                json!({
                    "id": id(s),
                    "names": s.names,
                    "digest": s.digest,
                    "createdat": created(s.created),
                    "size": berth_engine::units::table_size(s.size),
                    "created": s.created,
                    "createdatraw": berth_engine::time::format_rfc3339(s.created),
                    "readonly": s.read_only,
                    "history": s.history,
                })
            })
            .collect();
        // buildah indents by four.
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&v, &mut ser).expect("json");
        println!("{}", String::from_utf8_lossy(&out));
        return Ok(());
    }
    if a.quiet {
        let mut seen = Vec::new();
        for s in &list {
            if !seen.contains(&s.id) {
                println!("{}", id(s));
                seen.push(s.id.clone());
            }
        }
        return Ok(());
    }
    let rows: Vec<Value> = list.iter().map(|s| fields(s, &id(s))).collect();
    if let Some(f) = &a.format {
        return crate::output::print_rows(&rows, f);
    }
    let mut head = vec!["REPOSITORY", "TAG"];
    if a.digests {
        head.push("DIGEST");
    }
    head.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let mut table = vec![head.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for r in &rows {
        let mut keys = vec!["Name", "Tag"];
        if a.digests {
            keys.push("Digest");
        }
        keys.extend(["ID", "CreatedAt", "Size"]);
        table.push(
            keys.iter()
                .map(|k| r[k].as_str().unwrap_or_default().to_string())
                .collect(),
        );
    }
    crate::output::table::print(&table, !a.noheading);
    Ok(())
}
