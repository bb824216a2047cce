//! podman's image commands over berth's store: pull, push, images, rmi, tag, untag,
//! image exists, local image inspect, save, load, system check.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_engine::{Engine, PullError, PullEvent, PullOptions, PullPolicy};
use berth_image::copy::{self, Progress, Silent};
use berth_image::manifest::{Compression, ManifestFormat};
use berth_image::transport::ImageName;
use berth_image::{Context, ImageSource, Reference};
use berth_storage::{Image, StorageDestination, StorageSource, Store, StoreOptions};
use clap::Args;
use serde_json::json;

use crate::commands::image::{Access, PlatformArgs, context, print_value};
use crate::exit::{self, CmdResult, Failure};
use crate::progress::Lines;

/// `--root`, `--runroot`, `--storage-driver`, `--storage-opt`, as podman's globals.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// Storage root (graphroot).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Storage state directory (runroot).
    #[arg(long, global = true)]
    pub runroot: Option<PathBuf>,
    /// Storage driver: overlay or vfs.
    #[arg(long, global = true)]
    pub storage_driver: Option<String>,
    /// Storage driver option (KEY=VALUE), repeatable.
    #[arg(long, global = true)]
    pub storage_opt: Vec<String>,
    /// OCI runtime for new containers: berth (built in), a runc-compatible
    /// binary (runc, crun, berth-oci, a name from containers.conf's
    /// [engine.runtimes]) or a path; default containers.conf's [engine] runtime.
    #[arg(long, global = true)]
    pub runtime: Option<String>,
}

impl StoreArgs {
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            graph_root: self.root.clone(),
            run_root: self.runroot.clone(),
            driver: self.storage_driver.clone(),
            storage_opts: self.storage_opt.clone(),
            config_file: None,
        }
    }

    pub fn open(&self) -> Result<Arc<Store>, Failure> {
        Store::open_with(&self.options())
            .map(Arc::new)
            .map_err(exit::podman)
    }
}

#[derive(Args)]
pub struct PullArgs {
    /// Pull every tag of the repository.
    #[arg(short, long)]
    all_tags: bool,
    /// OS/ARCH[/VARIANT] to choose from a list.
    #[arg(long)]
    platform: Option<String>,
    #[arg(long)]
    arch: Option<String>,
    #[arg(long)]
    os: Option<String>,
    #[arg(long)]
    variant: Option<String>,
    /// always, missing, never or newer.
    #[arg(long, default_value = "always", value_parser = ["always", "missing", "never", "newer"])]
    policy: String,
    /// Print only the image ID.
    #[arg(short, long)]
    quiet: bool,
    /// Attempts for a failed registry operation.
    #[arg(long, default_value_t = 3)]
    retry: u32,
    /// Trust policy file (containers-policy.json(5)).
    #[arg(long, hide = true)]
    signature_policy: Option<PathBuf>,
    #[command(flatten)]
    access: Access,
    /// IMAGE (a name, or TRANSPORT:NAME)
    image: String,
    /// Print no IDs (pulling on behalf of `run`).
    #[arg(skip)]
    no_ids: bool,
}

/// Pulls `image` for `run`/`create` under `--pull POLICY`, printing only
/// progress (to stderr).
pub fn pull_for_run(store_args: &StoreArgs, image: &str, policy: &str) -> CmdResult {
    pull_for_platform(store_args, image, policy, None)
}

/// [`pull_for_run`] without progress output (`run -q`).
pub fn pull_quietly(store_args: &StoreArgs, image: &str, policy: &str) -> CmdResult {
    pull_with(store_args, image, policy, None, true)
}

/// [`pull_for_run`] for a platform (`os/arch[/variant]`, default the host's).
pub fn pull_for_platform(
    store_args: &StoreArgs,
    image: &str,
    policy: &str,
    platform: Option<&str>,
) -> CmdResult {
    pull_with(store_args, image, policy, platform, false)
}

fn pull_with(
    store_args: &StoreArgs,
    image: &str,
    policy: &str,
    platform: Option<&str>,
    quiet: bool,
) -> CmdResult {
    let failed = |e: PullError| Failure {
        code: 125,
        message: format!("{image}: pulling the image: {e}"),
    };
    let mut context = Context::default();
    context.retries = Some(3);
    if let Some(p) = platform {
        berth_engine::pull::set_platform(&mut context, p).map_err(failed)?;
    }
    let o = PullOptions {
        policy: policy.parse().map_err(failed)?,
        context,
        ..Default::default()
    };
    let engine = Engine::with_store(store_args.open()?);
    let progress = progress_for(quiet);
    engine
        .images()
        .pull(image, &o, progress.as_ref(), &mut |e| tell(e, quiet))
        .map_err(failed)?;
    Ok(())
}

fn progress_for(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Silent)
    } else {
        Box::new(Lines::new())
    }
}

/// What the engine did while pulling, as podman tells it (on stderr).
fn tell(e: PullEvent, quiet: bool) {
    if quiet {
        return;
    }
    match e {
        PullEvent::Trying(r) => eprintln!("Trying to pull {r}..."),
        PullEvent::Present { reference, policy } => {
            let why = if policy == PullPolicy::Newer {
                "is up to date"
            } else {
                "is present"
            };
            eprintln!(
                "Image {reference} {why}, not pulling (--policy {})",
                policy.as_str()
            );
        }
        PullEvent::CannotCheck { reference, error } => {
            eprintln!("Cannot check {reference} for a newer image ({error}); using the local one")
        }
    }
}

#[derive(Args)]
pub struct PushArgs {
    /// Layer compression for the destination: gzip or zstd.
    #[arg(long, value_parser = ["gzip", "zstd"])]
    compression_format: Option<String>,
    /// Write the pushed manifest's digest to this file.
    #[arg(long)]
    digestfile: Option<PathBuf>,
    /// Manifest format: oci or v2s2 (docker).
    #[arg(short, long, value_parser = ["oci", "v2s2", "docker"])]
    format: Option<String>,
    #[arg(short, long)]
    quiet: bool,
    #[arg(long, default_value_t = 3)]
    retry: u32,
    #[command(flatten)]
    sign: crate::commands::trust::SignArgs,
    #[command(flatten)]
    access: Access,
    /// The local image.
    image: String,
    /// Where to (a name, or TRANSPORT:NAME); default the image's own name.
    destination: Option<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn storage_err(e: berth_storage::Error) -> Failure {
    exit::podman(e)
}

fn pull_options(a: &PullArgs) -> Result<PullOptions, Failure> {
    let platform = PlatformArgs {
        retry_times: a.retry,
        ..Default::default()
    };
    let mut context = context(&a.access, &platform)?;
    if let Some(p) = &a.platform {
        berth_engine::pull::set_platform(&mut context, p).map_err(exit::podman)?;
    }
    if a.os.is_some() {
        context.os = a.os.clone();
    }
    if a.arch.is_some() {
        context.arch = a.arch.clone();
    }
    if a.variant.is_some() {
        context.variant = a.variant.clone();
    }
    Ok(PullOptions {
        policy: a.policy.parse().map_err(exit::podman)?,
        all_tags: a.all_tags,
        context,
        signature_policy: a.signature_policy.clone(),
    })
}

pub fn pull(store_args: &StoreArgs, a: PullArgs) -> CmdResult {
    let o = pull_options(&a)?;
    let engine = Engine::with_store(store_args.open()?);
    let progress = progress_for(a.quiet);
    let report = engine
        .images()
        .pull(&a.image, &o, progress.as_ref(), &mut |e| tell(e, a.quiet))
        .map_err(exit::podman)?;
    if !a.no_ids {
        for id in report.ids {
            println!("{id}");
        }
    }
    Ok(())
}

fn destination_name(s: &str) -> Result<ImageName, Failure> {
    match ImageName::parse(s) {
        Ok(n) => Ok(n),
        Err(_) => Reference::parse(s)
            .map(ImageName::Docker)
            .map_err(exit::podman),
    }
}

pub fn push(store_args: &StoreArgs, a: PushArgs) -> CmdResult {
    let platform = PlatformArgs {
        retry_times: a.retry,
        ..Default::default()
    };
    let ctx = context(&a.access, &platform)?;
    let store = store_args.open()?;
    let src = StorageSource::open(store.clone(), &a.image).map_err(storage_err)?;
    // Without a destination, the image's own full name: a local image
    // (`localhost/NAME`) goes nowhere public; a short name is never taken
    // for Docker Hub's.
    let names = &src.image().names;
    let own = berth_storage::store::candidate_names(&a.image)
        .into_iter()
        .find(|n| names.contains(n))
        .unwrap_or_else(|| a.image.clone());
    let dest = destination_name(a.destination.as_deref().unwrap_or(&own))?;
    let dst = dest.open_destination(&ctx).map_err(exit::podman)?;
    let mut opts = copy::CopyOptions {
        format: a.format.as_deref().and_then(ManifestFormat::parse),
        compression: a.compression_format.as_deref().and_then(Compression::parse),
        ..Default::default()
    };
    a.sign.apply(&mut opts)?;
    let progress: Box<dyn Progress> = if a.quiet {
        Box::new(Silent)
    } else {
        Box::new(Lines::new())
    };
    if !a.quiet {
        eprintln!("Getting image source signatures");
    }
    let report =
        copy::copy_image(&src, dst.as_ref(), &opts, progress.as_ref()).map_err(exit::podman)?;
    if let Some(f) = &a.digestfile {
        std::fs::write(f, report.manifest_digest.to_string())
            .map_err(|e| exit::podman(format!("{}: {e}", f.display())))?;
    }
    Ok(())
}

#[derive(Args)]
pub struct ImagesArgs {
    /// Show intermediate images too.
    #[arg(short, long)]
    all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Show digests.
    #[arg(long)]
    digests: bool,
    /// Leave the table's heading out.
    #[arg(long, short = 'n')]
    noheading: bool,
    /// Do not truncate IDs.
    #[arg(long)]
    no_trunc: bool,
    /// json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// reference=PATTERN, dangling=, id=, before=IMAGE, since=IMAGE, digest=,
    /// label=KEY[=VALUE], readonly=true|false.
    #[arg(short, long)]
    filter: Vec<String>,
    /// created, id, repository, size or tag.
    #[arg(long, default_value = "created", value_parser = ["created", "id", "repository", "size", "tag"])]
    sort: String,
    /// Only images matching this reference.
    reference: Option<String>,
}

/// One row of `images`: an image under one of its names.
struct Row<'a> {
    image: &'a Image,
    repository: String,
    tag: String,
}

fn rows(images: &[Image]) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    for img in images {
        if img.names.is_empty() {
            out.push(Row {
                image: img,
                repository: "<none>".into(),
                tag: "<none>".into(),
            });
        }
        for n in &img.names {
            let (repo, tag) = match n.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
                _ => (n.clone(), "<none>".into()),
            };
            out.push(Row {
                image: img,
                repository: repo,
                tag,
            });
        }
    }
    out
}

/// Whether another image is built on `img`, in podman's sense: a child has
/// `img`'s layers and at most one more, and `img`'s history plus one entry.
pub fn has_children(store: &berth_storage::Store, all: &[Image], img: &Image) -> bool {
    let history = |i: &Image| -> Option<Vec<serde_json::Value>> {
        let b = store.image_config(i).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
        Some(v["history"].as_array().cloned().unwrap_or_default())
    };
    let mut mine = None;
    all.iter()
        .filter(|o| {
            o.id != img.id
                && o.layers.starts_with(&img.layers)
                && o.layers.len() <= img.layers.len() + 1
        })
        .any(|o| {
            let mine = mine.get_or_insert_with(|| history(img)).as_ref();
            match (mine, history(o)) {
                (Some(p), Some(c)) => c.len() == p.len() + 1 && c.starts_with(p),
                _ => false,
            }
        })
}

fn glob_match(pattern: &str, s: &str) -> bool {
    // `*` matches within a name component, as podman's reference filter does.
    fn m(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && m(p, &s[1..])),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), s.as_bytes())
}

/// What `images --filter` needs besides the row: the store (labels live in the
/// config) and every image (before=/since= name one).
struct FilterCtx<'a> {
    store: &'a berth_storage::Store,
    all: &'a [Image],
}

impl FilterCtx<'_> {
    /// The creation time of the image `name` (a name or an ID prefix).
    fn created_of(&self, name: &str) -> Result<u64, Failure> {
        let full = berth_storage::store::candidate_names(name);
        let id = name.trim_start_matches("sha256:");
        self.all
            .iter()
            .find(|i| {
                full.iter().any(|n| i.names.contains(n)) || (id.len() >= 3 && i.id.starts_with(id))
            })
            .map(|i| i.created)
            .ok_or_else(|| exit::podman(format!("invalid filter: image {name} not known")))
    }

    fn labels(&self, img: &Image) -> serde_json::Map<String, serde_json::Value> {
        self.store
            .image_config(img)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["config"]["Labels"].as_object().cloned())
            .unwrap_or_default()
    }
}

fn row_matches(cx: &FilterCtx, r: &Row, filter: &str) -> Result<bool, Failure> {
    let (k, v) = filter
        .split_once('=')
        .ok_or_else(|| exit::podman(format!("invalid filter {filter:?}: expected KEY=VALUE")))?;
    Ok(match k {
        "reference" => {
            let full = format!("{}:{}", r.repository, r.tag);
            let short = full
                .strip_prefix("docker.io/library/")
                .unwrap_or(&full)
                .to_string();
            let last = full.rsplit('/').next().unwrap_or(&full).to_string();
            [&full, &short, &last, &r.repository]
                .iter()
                .any(|c| glob_match(v, c) || glob_match(&format!("{v}:*"), c))
        }
        // podman's words: dangling is untagged without children.
        "dangling" => {
            (v == "true") == (r.image.names.is_empty() && !has_children(cx.store, cx.all, r.image))
        }
        "id" => r.image.id.starts_with(v.trim_start_matches("sha256:")),
        "before" => r.image.created < cx.created_of(v)?,
        "since" => r.image.created > cx.created_of(v)?,
        "digest" => {
            r.image.manifest_digest.to_string() == v
                || r.image.digests.iter().any(|d| d.to_string() == v)
        }
        "readonly" => (v == "true") == r.image.read_only,
        "label" => {
            let labels = cx.labels(r.image);
            match v.split_once('=') {
                Some((lk, lv)) => labels.get(lk).and_then(|x| x.as_str()) == Some(lv),
                None => labels.contains_key(v),
            }
        }
        _ => return Err(exit::podman(format!("invalid filter {k:?}"))),
    })
}

pub fn images(store_args: &StoreArgs, a: ImagesArgs) -> CmdResult {
    let store = store_args.open()?;
    let all = store.images().map_err(storage_err)?;
    let mut filters = a.filter.clone();
    if let Some(r) = &a.reference {
        filters.push(format!("reference={r}"));
    }
    let cx = FilterCtx {
        store: &store,
        all: &all,
    };
    let mut list = Vec::new();
    for r in rows(&all) {
        // Intermediate images (untagged, with children) only with -a.
        let mut keep = a.all || !r.image.names.is_empty() || !has_children(&store, &all, r.image);
        for f in &filters {
            keep &= row_matches(&cx, &r, f)?;
        }
        if keep {
            list.push(r);
        }
    }
    match a.sort.as_str() {
        "id" => list.sort_by(|x, y| x.image.id.cmp(&y.image.id)),
        "repository" => list.sort_by(|x, y| x.repository.cmp(&y.repository)),
        "tag" => list.sort_by(|x, y| x.tag.cmp(&y.tag)),
        "size" => list.sort_by_key(|x| x.image.size),
        _ => list.sort_by_key(|x| std::cmp::Reverse(x.image.created)),
    }
    let id = |i: &Image| {
        if a.no_trunc {
            format!("sha256:{}", i.id)
        } else {
            i.id[..12].to_string()
        }
    };
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for r in &list {
            if seen.insert(&r.image.id) {
                println!("{}", id(r.image));
            }
        }
        return Ok(());
    }
    let values: Vec<serde_json::Value> = list
        .iter()
        .map(|r| {
            json!({
                "Id": r.image.id, "ID": id(r.image),
                "Repository": r.repository, "Tag": r.tag,
                "Names": r.image.names, "Digest": r.image.manifest_digest.to_string(),
                "Created": r.image.created, "CreatedSince": since(r.image.created),
                "Size": r.image.size, "ReadOnly": r.image.read_only,
                "Dangling": r.image.names.is_empty(),
            })
        })
        .collect();
    match a.format.as_deref() {
        Some("json") => print_value(&serde_json::Value::Array(values), None),
        Some(t) => crate::commands::image::print_rows(&values, t),
        None => {
            let mut head = vec!["REPOSITORY", "TAG"];
            if a.digests {
                head.push("DIGEST");
            }
            head.extend(["IMAGE ID", "CREATED", "SIZE"]);
            let mut table = vec![head.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
            for r in &list {
                let mut row = vec![r.repository.clone(), r.tag.clone()];
                if a.digests {
                    row.push(r.image.manifest_digest.to_string());
                }
                row.extend([
                    id(r.image),
                    since(r.image.created),
                    human_size(r.image.size),
                ]);
                table.push(row);
            }
            crate::table::print(&table, !a.noheading);
            Ok(())
        }
    }
}

/// "3 minutes ago", as podman shows times.
pub fn since(t: u64) -> String {
    let d = now().saturating_sub(t);
    let (n, unit) = match d {
        0..=59 => (d, "second"),
        60..=3599 => (d / 60, "minute"),
        3600..=86_399 => (d / 3600, "hour"),
        86_400..=2_591_999 => (d / 86_400, "day"),
        2_592_000..=31_535_999 => (d / 2_592_000, "month"),
        _ => (d / 31_536_000, "year"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// Sizes in decimal units, as podman prints them ("2.1 MB").
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.3} {}", UNITS[u]).replace(".000", "")
    }
}

#[derive(Args)]
pub struct RmiArgs {
    /// Remove the image even if it has several names (all of them go).
    #[arg(short, long)]
    force: bool,
    /// Remove every image.
    #[arg(short, long)]
    all: bool,
    /// Ignore images that do not exist.
    #[arg(short, long)]
    ignore: bool,
    images: Vec<String>,
}

pub fn rmi(store_args: &StoreArgs, a: RmiArgs) -> CmdResult {
    let store = store_args.open()?;
    let targets: Vec<String> = if a.all {
        store
            .images()
            .map_err(storage_err)?
            .into_iter()
            .filter(|i| !i.read_only)
            .map(|i| i.id)
            .collect()
    } else {
        if a.images.is_empty() {
            return Err(exit::podman("image name or ID must be specified"));
        }
        a.images.clone()
    };
    let mut failure = None;
    for t in targets {
        let found = store.image(&t).ok();
        let by_id = found.as_ref().is_some_and(|i| i.matches_id(&t));
        if by_id && !a.force && found.as_ref().is_some_and(|i| i.names.len() > 1) {
            eprintln!(
                "Error: unable to delete image {t} (must force): image is referenced in multiple repositories"
            );
            failure = Some(exit::usage(125, ""));
            continue;
        }
        // A name removes only that name, unless it is the last one or -f.
        let result = if a.force || by_id {
            if a.force
                && let Some(i) = &found
            {
                // podman's -f: the containers using the image go first.
                remove_containers_of(&store, &i.id)?;
            }
            store.image(&t).and_then(|i| {
                let mut last = None;
                for n in i.names.iter().skip(1) {
                    store.untag(&i.id, n)?;
                    println!("Untagged: {n}");
                }
                if let Some(n) = i.names.first() {
                    last = Some(n.clone());
                }
                let r = store.remove_image(&i.id)?;
                if let Some(n) = last {
                    println!("Untagged: {n}");
                }
                Ok(r)
            })
        } else {
            store.remove_image(&t).inspect(|r| {
                for n in &r.untagged {
                    println!("Untagged: {n}");
                }
            })
        };
        match result {
            Ok(r) => {
                if let Some(id) = r.deleted {
                    println!("Deleted: {id}");
                }
            }
            Err(berth_storage::Error::ImageNotFound(_)) if a.ignore => {}
            Err(berth_storage::Error::ImageNotFound(n)) => {
                eprintln!("Error: {n}: image not known");
                failure = Some(exit::usage(1, ""));
            }
            Err(e) => {
                eprintln!("Error: {e}");
                failure = Some(exit::usage(125, ""));
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Removes (stopping them first) the containers made from image `id`.
fn remove_containers_of(store: &Store, id: &str) -> Result<(), Failure> {
    for c in store.containers().map_err(storage_err)? {
        if c.image == id {
            berth_engine::lifecycle::remove(store, &c.id, true).map_err(|f| {
                exit::podman(format!("removing container {} of image {id}: {}", c.id, f))
            })?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct TagArgs {
    image: String,
    names: Vec<String>,
}

pub fn tag(store_args: &StoreArgs, a: TagArgs) -> CmdResult {
    if a.names.is_empty() {
        return Err(exit::podman("at least one new name is required"));
    }
    let store = store_args.open()?;
    for n in &a.names {
        store.tag(&a.image, n).map_err(storage_err)?;
    }
    Ok(())
}

pub fn untag(store_args: &StoreArgs, a: TagArgs) -> CmdResult {
    let store = store_args.open()?;
    let img = store.image(&a.image).map_err(storage_err)?;
    let names = if a.names.is_empty() {
        img.names.clone()
    } else {
        a.names.clone()
    };
    for n in &names {
        store.untag(&img.id, n).map_err(storage_err)?;
    }
    Ok(())
}

/// `image exists`: exit 0 or 1, nothing printed.
pub fn exists(store_args: &StoreArgs, name: &str) -> CmdResult {
    let store = store_args.open()?;
    match store.image(name) {
        Ok(_) => Ok(()),
        Err(berth_storage::Error::ImageNotFound(_)) => Err(exit::usage(1, "")),
        Err(e) => Err(storage_err(e)),
    }
}

/// `image inspect` of local images: a JSON array, or a template per image.
pub fn inspect_local(store_args: &StoreArgs, names: &[String], format: Option<&str>) -> CmdResult {
    let store = store_args.open()?;
    let mut out = Vec::new();
    for n in names {
        let img = store.image(n).map_err(|e| match e {
            berth_storage::Error::ImageNotFound(_) => exit::podman(format!("{n}: image not known")),
            e => storage_err(e),
        })?;
        let cfg: serde_json::Value =
            serde_json::from_slice(&store.image_config(&img).map_err(storage_err)?)
                .map_err(exit::podman)?;
        out.push(json!({
            "Id": img.id,
            "Digest": img.manifest_digest.to_string(),
            "RepoTags": img.names,
            "RepoDigests": img.names.iter().map(|n| {
                let repo = n.rsplit_once(':').map_or(n.as_str(), |(r, _)| r);
                format!("{repo}@{}", img.manifest_digest)
            }).collect::<Vec<_>>(),
            "Created": cfg.get("created"),
            "Config": cfg.get("config"),
            "Author": cfg.get("author").cloned().unwrap_or_else(|| json!("")),
            "Architecture": cfg.get("architecture"),
            "Os": cfg.get("os"),
            "Size": img.size,
            "RootFS": {"Type": "layers", "Layers": cfg.pointer("/rootfs/diff_ids")},
            "History": cfg.get("history"),
            "ManifestType": img.manifest_media_type,
        }));
    }
    match format {
        None | Some("json") => print_value(&serde_json::Value::Array(out), None),
        Some(f) => {
            for v in &out {
                print_value(v, Some(f))?;
            }
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct SaveArgs {
    /// Write to this file (or directory for *-dir formats).
    #[arg(short, long)]
    output: PathBuf,
    /// docker-archive (default), oci-archive, oci-dir or docker-dir.
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive", "oci-dir", "docker-dir"])]
    format: String,
    #[arg(short, long)]
    quiet: bool,
    /// Save several images into one archive (docker-archive).
    #[arg(short, long)]
    multi_image_archive: bool,
    images: Vec<String>,
}

/// The digest of the manifest a registry serves for `r` (a HEAD-sized request).
pub fn save(store_args: &StoreArgs, a: SaveArgs) -> CmdResult {
    let Some(first) = a.images.first() else {
        return Err(exit::podman("save: an image is required"));
    };
    if a.multi_image_archive && a.format != "docker-archive" {
        return Err(exit::podman(
            "save: --multi-image-archive is only for --format docker-archive",
        ));
    }
    let store = store_args.open()?;
    let progress: Box<dyn Progress> = if a.quiet {
        Box::new(Silent)
    } else {
        Box::new(Lines::new())
    };
    if a.format == "docker-archive" {
        return save_docker_archive(&store, &a, progress.as_ref());
    }
    if a.images.len() > 1 {
        return Err(exit::podman(format!(
            "save: --format {} takes one image",
            a.format
        )));
    }
    let src = StorageSource::open(store.clone(), first).map_err(storage_err)?;
    let out = a.output.display();
    let dest = match a.format.as_str() {
        "oci-archive" => format!("oci-archive:{out}"),
        "oci-dir" => format!("oci:{out}"),
        _ => format!("dir:{out}"),
    };
    let dst = ImageName::parse(&dest).map_err(exit::podman)?;
    let dst = dst
        .open_destination(&Context::default())
        .map_err(exit::podman)?;
    let opts = copy::CopyOptions {
        format: (a.format == "docker-dir").then_some(ManifestFormat::DockerV2S2),
        ..Default::default()
    };
    copy::copy_image(&src, dst.as_ref(), &opts, progress.as_ref()).map_err(exit::podman)?;
    Ok(())
}

/// `docker save`'s format: one image whose further arguments are extra names, or
/// with `-m` several images, each under the name given.
fn save_docker_archive(
    store: &std::sync::Arc<berth_storage::Store>,
    a: &SaveArgs,
    progress: &dyn Progress,
) -> CmdResult {
    use berth_image::transport::docker_archive::DockerArchiveDestination;
    let dst = if a.multi_image_archive {
        DockerArchiveDestination::open_multi(&a.output)
    } else {
        DockerArchiveDestination::open(&a.output, None)
    }
    .map_err(exit::podman)?;
    let images: Vec<&String> = if a.multi_image_archive {
        a.images.iter().collect()
    } else {
        vec![&a.images[0]]
    };
    for image in images {
        let src = StorageSource::open(store.clone(), image).map_err(storage_err)?;
        // The name the user gave, when it is one of the image's; else its first name.
        let names = &src.image().names;
        let named = berth_storage::store::candidate_names(image)
            .into_iter()
            .find(|n| names.contains(n))
            .or_else(|| names.first().cloned());
        let mut tags: Vec<String> = named.into_iter().collect();
        if !a.multi_image_archive {
            for extra in &a.images[1..] {
                tags.push(berth_storage::store::normalize_name(extra).map_err(exit::podman)?);
            }
        }
        let refs = tags
            .iter()
            .map(|t| {
                t.parse::<berth_image::reference::Reference>()
                    .map_err(exit::podman)
            })
            .collect::<Result<Vec<_>, _>>()?;
        dst.set_names(refs);
        copy::copy_image(&src, &dst, &copy::CopyOptions::default(), progress)
            .map_err(exit::podman)?;
    }
    if a.multi_image_archive {
        dst.finish().map_err(exit::podman)?;
    }
    Ok(())
}

#[derive(Args)]
pub struct LoadArgs {
    /// The archive to read (docker-archive or oci-archive).
    #[arg(short, long)]
    input: PathBuf,
    #[arg(short, long)]
    quiet: bool,
}

pub fn load(store_args: &StoreArgs, a: LoadArgs) -> CmdResult {
    let store = store_args.open()?;
    let path = a.input.display().to_string();
    let bad = |e: &dyn std::fmt::Display| exit::podman(format!("{path}: {e}"));
    // An OCI archive has an oci-layout file; anything else is read as docker's format.
    let is_oci = archive_member(&a.input, "oci-layout")
        .map_err(|e| bad(&e))?
        .is_some();
    // Each image of the archive, as a source name and the names it is to get.
    let images: Vec<(String, Vec<String>)> = if is_oci {
        let refs = oci_archive_refs(&a.input).map_err(|e| bad(&e))?;
        if refs.is_empty() {
            vec![(format!("oci-archive:{path}"), Vec::new())]
        } else {
            refs.into_iter()
                .map(|r| {
                    // A ref that is a whole image name names the image; a bare tag does not.
                    let names = if r.contains('/') {
                        vec![r.clone()]
                    } else {
                        Vec::new()
                    };
                    (format!("oci-archive:{path}:{r}"), names)
                })
                .collect()
        }
    } else {
        let entries = docker_archive_tags(&a.input).map_err(|e| bad(&e))?;
        if entries.is_empty() {
            return Err(exit::podman(format!("{path}: the archive holds no image")));
        }
        entries
            .into_iter()
            .enumerate()
            .map(|(i, tags)| (format!("docker-archive:{path}:@{i}"), tags))
            .collect()
    };
    let progress: Box<dyn Progress> = if a.quiet {
        Box::new(Silent)
    } else {
        Box::new(Lines::new())
    };
    let mut loaded = Vec::new();
    for (src_name, names) in images {
        let src = ImageName::parse(&src_name).map_err(exit::podman)?;
        // An archive's names are docker's: a short one is Docker Hub's, as
        // podman load reads it (not a local name).
        let names: Vec<String> = names
            .iter()
            .map(|n| Reference::parse(n).map_or_else(|_| n.clone(), |r| r.to_string()))
            .collect();
        let first = names.first().map(String::as_str);
        let id = berth_engine::pull::pull_from(
            &store,
            &src,
            first,
            &PullOptions::default(),
            progress.as_ref(),
        )
        .map_err(exit::podman)?;
        for n in names.iter().skip(1) {
            store.tag(&id, n).map_err(storage_err)?;
        }
        if names.is_empty() {
            loaded.push(format!("sha256:{id}"));
        }
        loaded.extend(names);
    }
    for l in loaded {
        println!("Loaded image: {l}");
    }
    Ok(())
}

/// A small member of a tar archive (manifest.json, index.json, oci-layout), read
/// whole; `None` when the archive has no such member.
fn archive_member(path: &std::path::Path, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    let mut ar = tar::Archive::new(std::fs::File::open(path)?);
    for e in ar.entries()? {
        let mut e = e?;
        let p = e.path()?.to_string_lossy().into_owned();
        if p.trim_start_matches("./") == name {
            let mut v = Vec::new();
            (&mut e).take(4 << 20).read_to_end(&mut v)?;
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The RepoTags of each image of a docker archive, in manifest.json's order.
fn docker_archive_tags(path: &std::path::Path) -> std::io::Result<Vec<Vec<String>>> {
    let Some(m) = archive_member(path, "manifest.json")? else {
        return Err(std::io::Error::other(
            "no manifest.json: not a docker archive",
        ));
    };
    let v: serde_json::Value = serde_json::from_slice(&m)
        .map_err(|e| std::io::Error::other(format!("manifest.json: {e}")))?;
    let entries = v
        .as_array()
        .ok_or_else(|| std::io::Error::other("manifest.json: not a list of images"))?;
    Ok(entries
        .iter()
        .map(|e| {
            e["RepoTags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect())
}

/// The ref names in an OCI archive's index.json.
fn oci_archive_refs(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    let Some(i) = archive_member(path, "index.json")? else {
        return Err(std::io::Error::other("no index.json: not an OCI archive"));
    };
    let v: serde_json::Value = serde_json::from_slice(&i)
        .map_err(|e| std::io::Error::other(format!("index.json: {e}")))?;
    Ok(v["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect())
}

use std::io::Read as _;

#[derive(Args)]
pub struct CheckArgs {
    /// Remove what is damaged.
    #[arg(short, long)]
    repair: bool,
}

pub fn system_check(store_args: &StoreArgs, a: CheckArgs) -> CmdResult {
    let store = store_args.open()?;
    let report = store.check(a.repair).map_err(storage_err)?;
    for p in &report.problems {
        println!("{p}");
    }
    for r in &report.repaired {
        println!("Repaired: {r}");
    }
    if report.is_clean() {
        println!("No problems found");
        Ok(())
    } else if a.repair {
        Ok(())
    } else {
        Err(exit::usage(
            125,
            format!(
                "{} problems found; run with --repair",
                report.problems.len()
            ),
        ))
    }
}

/// Opens `containers-storage:NAME` for `berth image copy`.
pub fn storage_source(store_args: &StoreArgs, name: &str) -> Result<Box<dyn ImageSource>, Failure> {
    let r = berth_storage::StorageReference::parse(name).map_err(storage_err)?;
    let store = Store::open_with(&r.store_options(&store_args.options())).map_err(storage_err)?;
    Ok(Box::new(
        StorageSource::open(Arc::new(store), &r.name).map_err(storage_err)?,
    ))
}

pub fn storage_destination(
    store_args: &StoreArgs,
    name: &str,
) -> Result<Box<dyn berth_image::ImageDestination>, Failure> {
    let r = berth_storage::StorageReference::parse(name).map_err(storage_err)?;
    let store = Store::open_with(&r.store_options(&store_args.options())).map_err(storage_err)?;
    let n = (!r.name.is_empty()).then_some(r.name.as_str());
    Ok(Box::new(
        StorageDestination::new(Arc::new(store), n).map_err(storage_err)?,
    ))
}
