//! podman's image commands over berth's store: pull, push, images, rmi, tag, untag,
//! image exists, local image inspect, save, load, system check.

use std::path::PathBuf;
use std::sync::Arc;

use berth_engine::images::{ListOptions, RemoveOptions};
use berth_engine::{Engine, PullError, PullEvent, PullOptions, PullPolicy};
use berth_image::copy::{self, Progress, Silent};
use berth_image::manifest::{Compression, ManifestFormat};
use berth_image::{Context, ImageSource};
use berth_storage::{StorageDestination, StorageSource, Store, StoreOptions};
use clap::Args;

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

pub fn push(store_args: &StoreArgs, a: PushArgs) -> CmdResult {
    let platform = PlatformArgs {
        retry_times: a.retry,
        ..Default::default()
    };
    let ctx = context(&a.access, &platform)?;
    let store = store_args.open()?;
    let mut opts = copy::CopyOptions {
        format: a.format.as_deref().and_then(ManifestFormat::parse),
        compression: a.compression_format.as_deref().and_then(Compression::parse),
        ..Default::default()
    };
    a.sign.apply(&mut opts)?;
    if !a.quiet {
        eprintln!("Getting image source signatures");
    }
    let progress = progress_for(a.quiet);
    let dest = a.destination.as_deref();
    let report = berth_engine::images::push(&store, &a.image, dest, &ctx, &opts, progress.as_ref())
        .map_err(exit::image)?;
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
    let values: Vec<serde_json::Value> = list
        .iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).expect("serialises");
            v["ID"] = id(&s.id).into();
            v["CreatedSince"] = since(s.created).into();
            v
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
            for s in &list {
                let mut row = vec![s.repository.clone(), s.tag.clone()];
                if a.digests {
                    row.push(s.digest.clone());
                }
                row.extend([id(&s.id), since(s.created), human_size(s.size)]);
                table.push(row);
            }
            crate::table::print(&table, !a.noheading);
            Ok(())
        }
    }
}

/// "3 minutes ago", as podman shows times.
pub fn since(t: u64) -> String {
    let d = berth_engine::time::now_secs().saturating_sub(t);
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
    let engine = Engine::with_store(store_args.open()?);
    let options = RemoveOptions {
        force: a.force,
        all: a.all,
        ignore: a.ignore,
    };
    let results = engine
        .images()
        .remove(&a.images, options)
        .map_err(exit::image)?;
    let mut failure = None;
    for r in results {
        match r {
            Ok(r) => {
                for n in &r.untagged {
                    println!("Untagged: {n}");
                }
                if let Some(id) = r.deleted {
                    println!("Deleted: {id}");
                }
            }
            Err(e) => {
                // Each image's error as it comes; the exit code is the last one's.
                let f = exit::rmi(e);
                eprintln!("Error: {}", f.message);
                failure = Some(exit::usage(f.code, ""));
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

#[derive(Args)]
pub struct TagArgs {
    image: String,
    names: Vec<String>,
}

pub fn tag(store_args: &StoreArgs, a: TagArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    engine.images().tag(&a.image, &a.names).map_err(exit::image)
}

pub fn untag(store_args: &StoreArgs, a: TagArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    engine
        .images()
        .untag(&a.image, &a.names)
        .map_err(exit::image)
}

/// `image exists`: exit 0 or 1, nothing printed.
pub fn exists(store_args: &StoreArgs, name: &str) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    match engine.images().exists(name).map_err(exit::image)? {
        true => Ok(()),
        false => Err(exit::usage(1, "")),
    }
}

/// `image inspect` of local images: a JSON array, or a template per image.
pub fn inspect_local(store_args: &StoreArgs, names: &[String], format: Option<&str>) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let mut out = Vec::new();
    for n in names {
        let i = engine.images().inspect(n).map_err(exit::image)?;
        out.push(serde_json::to_value(i).expect("serialises"));
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
    let store = store_args.open()?;
    let o = berth_engine::images::SaveOptions {
        format: a.format.parse().map_err(exit::image)?,
        output: a.output,
        multi_image: a.multi_image_archive,
    };
    let progress = progress_for(a.quiet);
    berth_engine::images::save(&store, &a.images, &o, progress.as_ref()).map_err(exit::image)
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
    let progress = progress_for(a.quiet);
    let loaded =
        berth_engine::images::load(&store, &a.input, progress.as_ref()).map_err(exit::image)?;
    for l in loaded {
        println!("Loaded image: {l}");
    }
    Ok(())
}

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
