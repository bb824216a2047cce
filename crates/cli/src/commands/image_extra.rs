//! `history`, `import` and `image prune`, podman's way.

use std::io::Read;

use berth_engine::Engine;
use berth_engine::df::DiskUse;
use berth_engine::images::PruneOptions;

use berth_image::blob::{decompress, sniff};
use berth_image::copy::{self, Silent};
use berth_image::digest::{Algorithm, DigestingReader};
use berth_image::manifest::{Compression, Descriptor, ImageConfig, RawManifest, media};
use berth_image::transport::ImageName;
use berth_image::{Context, Digest};
use berth_storage::StorageDestination;
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
    let img = store
        .image(&a.image)
        .map_err(|e| exit::podman(format!("{}: {e}", a.image)))?;
    let cfg: ImageConfig = serde_json::from_slice(&store.image_config(&img).map_err(exit::podman)?)
        .map_err(exit::podman)?;
    let manifest = store.image_manifest(&img, None).map_err(exit::podman)?;
    let layer_sizes: Vec<u64> = match manifest.parse() {
        Ok(berth_image::Manifest::Image(m)) => m.layers.iter().map(|l| l.size).collect(),
        _ => Vec::new(),
    };
    let mut sizes = layer_sizes.into_iter();
    let mut rows = Vec::new();
    let n = cfg.history.len();
    for (i, h) in cfg.history.iter().enumerate() {
        let size = if h.empty_layer == Some(true) {
            0
        } else {
            sizes.next().unwrap_or(0)
        };
        // The newest entry is the image itself; older ones have no ID of their own.
        let id = if i + 1 == n {
            img.id.clone()
        } else {
            "<missing>".to_string()
        };
        rows.push(json!({
            "id": id, "created": h.created, "createdBy": h.created_by.clone().unwrap_or_default(),
            "size": size, "comment": h.comment.clone().unwrap_or_default(),
        }));
    }
    rows.reverse();
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
    let tmp = tempfile::tempdir().map_err(exit::podman)?;
    let layout = tmp.path().join("layout");
    let name = ImageName::Oci {
        path: layout.clone(),
        tag: Some("import".into()),
    };
    let dst = name
        .open_destination(&Context::default())
        .map_err(exit::podman)?;
    let input = open_input(&a.source)?;
    // Store the tarball as it comes, computing its diff ID from the uncompressed stream.
    let spool = tmp.path().join("layer");
    let mut f = std::fs::File::create(&spool).map_err(exit::podman)?;
    std::io::copy(&mut input.take(64 << 30), &mut f)
        .map_err(|e| exit::podman(format!("{}: {e}", a.source)))?;
    drop(f);
    let (compression, r) =
        sniff(std::fs::File::open(&spool).map_err(exit::podman)?).map_err(exit::podman)?;
    let mut plain = DigestingReader::new(decompress(r, compression), Algorithm::Sha256);
    check_tar(&mut plain)
        .map_err(|e| exit::podman(format!("{}: not a tar archive: {e}", a.source)))?;
    let (diff_id, _) = plain.finish();
    let layer = dst
        .put_blob(
            &mut std::fs::File::open(&spool).map_err(exit::podman)?,
            None,
        )
        .map_err(exit::podman)?;
    let mt = match compression {
        Compression::Gzip => media::OCI_LAYER_GZIP,
        Compression::Zstd => media::OCI_LAYER_ZSTD,
        Compression::None => media::OCI_LAYER,
    };
    let config = import_config(&diff_id, &a)?;
    let config = serde_json::to_vec(&config).map_err(exit::podman)?;
    let c = dst.put_blob(&mut &config[..], None).map_err(exit::podman)?;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": Descriptor::new(media::OCI_CONFIG, c.digest.clone(), c.size),
        "layers": [Descriptor::new(mt, layer.digest, layer.size)],
    });
    let raw = RawManifest::new(
        serde_json::to_vec(&manifest).map_err(exit::podman)?,
        media::OCI_MANIFEST,
    );
    dst.put_manifest(&raw, None).map_err(exit::podman)?;
    dst.commit().map_err(exit::podman)?;
    let src = name
        .open_source(&Context::default())
        .map_err(exit::podman)?;
    let sd =
        StorageDestination::new(store.clone(), a.reference.as_deref()).map_err(exit::podman)?;
    copy::copy_image(src.as_ref(), &sd, &copy::CopyOptions::default(), &Silent)
        .map_err(exit::podman)?;
    println!("sha256:{}", c.digest.hex());
    Ok(())
}

fn open_input(src: &str) -> Result<Box<dyn Read>, Failure> {
    if src == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    if src.starts_with("http://") || src.starts_with("https://") {
        let resp = ureq::get(src)
            .call()
            .map_err(|e| exit::podman(format!("{src}: {e}")))?;
        return Ok(Box::new(resp.into_reader()));
    }
    Ok(Box::new(
        std::fs::File::open(src).map_err(|e| exit::podman(format!("{src}: {e}")))?,
    ))
}

/// Reads the stream to its end as a tar, so a non-tar input is refused here.
fn check_tar(r: &mut dyn Read) -> std::io::Result<()> {
    let mut ar = tar::Archive::new(&mut *r);
    for e in ar.entries()? {
        e?;
    }
    // The digest covers the padding after the end-of-archive blocks too.
    std::io::copy(r, &mut std::io::sink())?;
    Ok(())
}

fn import_config(diff_id: &Digest, a: &ImportArgs) -> Result<Value, Failure> {
    let created = berth_engine::time::format_rfc3339(berth_engine::time::now_secs());
    let host = berth_image::manifest::Platform::host();
    let mut cfg = json!({});
    for c in &a.change {
        apply_change(&mut cfg, c)?;
    }
    Ok(json!({
        "created": created,
        "architecture": host.architecture,
        "os": host.os,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created": created, "created_by": format!("/bin/sh -c #(nop) ADD file in / "), "comment": a.message.clone().unwrap_or_else(|| format!("imported from {}", a.source))}],
    }))
}

/// One `--change` instruction applied to the container config.
pub(crate) fn apply_change(cfg: &mut Value, change: &str) -> Result<(), Failure> {
    let (inst, rest) = change
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((change.trim(), ""));
    let rest = rest.trim();
    let bad = || exit::podman(format!("invalid --change {change:?}"));
    let words = || -> Vec<Value> {
        match serde_json::from_str::<Vec<String>>(rest) {
            Ok(v) => v.into_iter().map(Value::String).collect(),
            Err(_) => vec!["/bin/sh".into(), "-c".into(), rest.into()],
        }
    };
    let obj = cfg.as_object_mut().expect("object");
    match inst.to_ascii_uppercase().as_str() {
        "CMD" => {
            obj.insert("Cmd".into(), Value::Array(words()));
        }
        "ENTRYPOINT" => {
            obj.insert("Entrypoint".into(), Value::Array(words()));
        }
        "USER" => {
            obj.insert("User".into(), rest.into());
        }
        "WORKDIR" => {
            obj.insert("WorkingDir".into(), rest.into());
        }
        "STOPSIGNAL" => {
            obj.insert("StopSignal".into(), rest.into());
        }
        "ENV" => {
            let (k, v) = rest
                .split_once('=')
                .or_else(|| rest.split_once(' '))
                .ok_or_else(bad)?;
            let env = obj.entry("Env").or_insert_with(|| json!([]));
            env.as_array_mut()
                .expect("array")
                .push(format!("{}={}", k.trim(), v.trim()).into());
        }
        "LABEL" => {
            let (k, v) = rest.split_once('=').ok_or_else(bad)?;
            let labels = obj.entry("Labels").or_insert_with(|| json!({}));
            labels
                .as_object_mut()
                .expect("map")
                .insert(k.trim().into(), v.trim().trim_matches('"').into());
        }
        "EXPOSE" => {
            let ports = obj.entry("ExposedPorts").or_insert_with(|| json!({}));
            for p in rest.split_whitespace() {
                let p = if p.contains('/') {
                    p.to_string()
                } else {
                    format!("{p}/tcp")
                };
                ports.as_object_mut().expect("map").insert(p, json!({}));
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
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
                .map(|k| crate::template::to_text(&r[*k]))
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
