//! `history`, `import` and `image prune`, podman's way.

use std::io::Read;

use berth_engine::Engine;
use berth_engine::df::DiskUse;
use berth_engine::images::PruneOptions;

use clap::Args;
use serde_json::{Value, json};

use crate::commands::images::{StoreArgs, human_size, since};
use crate::exit::{self, CmdResult, Failure};

#[derive(Args)]
pub struct HistoryArgs {
    /// Do not truncate the output.
    #[arg(long)]
    no_trunc: bool,
    /// Sizes and dates for humans (default true).
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    human: bool,
    /// Print only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    image: String,
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
            return crate::commands::image::print_rows(&rows, f);
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
                    "CreatedAt": created,
                    "CreatedBy": r["createdBy"],
                    "Size": if a.human { human_size(size) } else { size.to_string() },
                    "Comment": r["comment"],
                })
            })
            .collect();
        return crate::commands::image::print_rows(&fields, f);
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
                human_size(size)
            } else {
                size.to_string()
            },
            r["comment"].as_str().unwrap_or("").to_string(),
        ]);
    }
    print!("{}", crate::table::render(&table));
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

#[derive(Args)]
pub struct ImportArgs {
    /// Apply a Containerfile instruction to the config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, USER, WORKDIR, STOPSIGNAL), repeatable.
    #[arg(short, long)]
    change: Vec<String>,
    /// Commit message, recorded in the history.
    #[arg(short, long)]
    message: Option<String>,
    #[arg(short, long)]
    quiet: bool,
    /// A tarball (plain, gzip or zstd), `-` for stdin, or an http(s) URL.
    source: String,
    /// Name for the image.
    reference: Option<String>,
}

pub fn import(store_args: &StoreArgs, a: ImportArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut input = open_input(&a.source)?;
    let o = berth_engine::images::ImportOptions {
        source: a.source,
        changes: a.change,
        message: a.message,
        reference: a.reference,
    };
    let id = berth_engine::images::import(&store, &mut input, &o).map_err(exit::image)?;
    println!("{id}");
    Ok(())
}

fn open_input(src: &str) -> Result<Box<dyn Read>, Failure> {
    if src == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    if src.starts_with("http://") || src.starts_with("https://") {
        return berth_image::http::get_body(src)
            .map(|r| Box::new(r) as Box<dyn Read>)
            .map_err(exit::podman);
    }
    Ok(Box::new(
        std::fs::File::open(src).map_err(|e| exit::podman(format!("{src}: {e}")))?,
    ))
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove every image no container uses, not only dangling ones.
    #[arg(short, long)]
    all: bool,
    /// Do not ask (berth never asks; accepted for podman's scripts).
    #[arg(short, long)]
    force: bool,
    /// until=TIME|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]: only images
    /// matching every filter go.
    #[arg(long)]
    filter: Vec<String>,
}

pub fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    prune_images_matching(store_args, a.all, a.filter)
}

/// Removes dangling images (with `all`, every image no container uses).
pub fn prune_images(store_args: &StoreArgs, all: bool) -> CmdResult {
    prune_images_matching(store_args, all, Vec::new())
}

fn prune_images_matching(store_args: &StoreArgs, all: bool, filters: Vec<String>) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let pruned = engine
        .images()
        .prune(&PruneOptions { all, filters })
        .map_err(exit::image)?;
    for p in &pruned {
        println!("{}", p.id);
    }
    let freed: u64 = pruned.iter().map(|p| p.size).sum();
    if freed > 0 {
        eprintln!("Total reclaimed space: {}", human_size(freed));
    }
    Ok(())
}

#[derive(Args)]
pub struct DfArgs {
    /// Show each image, container and volume.
    #[arg(short, long)]
    verbose: bool,
    /// json, or a Go template per row.
    #[arg(long)]
    format: Option<String>,
}

/// `system df`: what images, containers and volumes take, and what of it
/// nothing uses (podman's table, `-v`, `--format json|TEMPLATE`).
pub fn system_df(store_args: &StoreArgs, a: DfArgs) -> CmdResult {
    if a.verbose && a.format.is_some() {
        return Err(exit::podman("cannot combine --format and --verbose flags"));
    }
    let store = store_args.open()?;
    let du = DiskUse::measure(&store).map_err(exit::podman)?;
    if a.verbose {
        print!("{}", df_verbose(&du));
        return Ok(());
    }
    let rows = df_summary(&du);
    if let Some(f) = a.format.as_deref() {
        return crate::commands::image::print_rows(&rows, f);
    }
    let mut table = vec![
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &rows {
        table.push(
            ["Type", "Total", "Active", "Size", "Reclaimable"]
                .iter()
                .map(|k| berth_template::to_text(&r[*k]))
                .collect(),
        );
    }
    print!("{}", crate::table::render(&table));
    Ok(())
}

/// The summary lines as podman's JSON and templates show them.
fn df_summary(du: &DiskUse) -> Vec<Value> {
    du.summary()
        .iter()
        .map(|s| {
            json!({"Type": s.kind, "Total": s.total, "Active": s.active,
                   "RawSize": s.size, "RawReclaimable": s.reclaimable, "Size": go_size(s.size),
                   "Reclaimable": format!("{} ({}%)", go_size(s.reclaimable), s.reclaimable_percent())})
        })
        .collect()
}

/// `system df -v`: podman's three tables.
fn df_verbose(du: &DiskUse) -> String {
    let now = berth_engine::container::now_ns();
    let ago = |secs: u64| {
        berth_engine::container::human_duration(now.saturating_sub(secs * 1_000_000_000))
    };
    let mut images = vec![row(&[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ])];
    for i in &du.images {
        let names = if i.image.names.is_empty() {
            vec![("<none>", "<none>")]
        } else {
            i.image.names.iter().map(|n| repo_tag(n)).collect()
        };
        for (repo, tag) in names {
            images.push(vec![
                repo.to_string(),
                tag.to_string(),
                i.image.id[..12].to_string(),
                ago(i.image.created),
                go_size(i.image.size),
                go_size(i.shared),
                go_size(i.image.size.saturating_sub(i.shared)),
                i.containers.to_string(),
            ]);
        }
    }
    let mut containers = vec![row(&[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ])];
    for c in &du.containers {
        let i = &c.info;
        containers.push(vec![
            i.id[..12].to_string(),
            i.config
                .image_id
                .get(..12)
                .unwrap_or(&i.config.image_id)
                .to_string(),
            i.config.args.join(" "),
            c.volumes.to_string(),
            go_size(c.rw),
            ago(i.config.created_ns / 1_000_000_000),
            i.state.status.as_str().to_string(),
            i.name().to_string(),
        ]);
    }
    let mut volumes = vec![row(&["VOLUME NAME", "LINKS", "SIZE"])];
    for v in &du.volumes {
        volumes.push(vec![v.name.clone(), v.links.to_string(), go_size(v.size)]);
    }
    let render = crate::table::render;
    format!(
        "Images space usage:\n\n{}\nContainers space usage:\n\n{}\nLocal Volumes space usage:\n\n{}",
        render(&images),
        render(&containers),
        render(&volumes)
    )
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// `registry/repo:tag` as (`registry/repo`, `tag`).
fn repo_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (name, "<none>"),
    }
}

/// Sizes as `system df` prints them (go-units' HumanSize: four significant
/// digits, decimal units, no space): `0B`, `4.56MB`, `11.52kB`.
fn go_size(n: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    // %.4g: four significant digits, trailing zeros dropped.
    let int_digits = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let mut s = format!("{v:.*}", 4usize.saturating_sub(int_digits));
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_sizes_read_as_podmans() {
        assert_eq!(go_size(0), "0B");
        assert_eq!(go_size(999), "999B");
        assert_eq!(go_size(7000), "7kB");
        assert_eq!(go_size(22_530), "22.53kB");
        assert_eq!(go_size(4_560_000), "4.56MB");
        assert_eq!(go_size(4_273_456), "4.273MB");
        assert_eq!(go_size(123_456_789), "123.5MB");
    }

    #[test]
    fn names_split_into_repository_and_tag() {
        assert_eq!(
            repo_tag("localhost:5000/a/b:1"),
            ("localhost:5000/a/b", "1")
        );
        assert_eq!(
            repo_tag("localhost:5000/a/b"),
            ("localhost:5000/a/b", "<none>")
        );
    }
}
