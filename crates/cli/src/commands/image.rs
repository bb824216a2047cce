//! `berth image …`: skopeo's verbs — inspect, copy, sync, list-tags, delete.

use std::io::Write;
use std::path::PathBuf;

use berth_image::auth::Credentials;
use berth_image::copy::{CopyOptions, MultiArch, Progress, Silent};
use berth_image::manifest::{Compression, ImageConfig, ManifestFormat};
use berth_image::transport::docker;
use berth_image::{Context, Digest, ImageName, ImageSource};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::commands::images::StoreArgs;
use crate::commands::trust::{self, SignArgs, TrustArgs};
use crate::exit::{self, CmdResult, Failure};
use crate::progress::Lines;
use berth_image::inspect;
use berth_image::signature::Policy;
use berth_template::Template;

#[derive(Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Show an image's metadata without pulling it.
    Inspect(InspectArgs),
    /// Copy an image from one location to another.
    Copy(CopyArgs),
    /// Copy many images (repositories, directories or a YAML list).
    Sync(crate::commands::sync::SyncArgs),
    /// List the tags of a repository.
    ListTags(ListTagsArgs),
    /// Delete an image from a registry.
    Delete(DeleteArgs),
    /// Exit 0 when a local image exists, 1 when not.
    Exists(ExistsArgs),
    /// List local images.
    #[command(alias = "list")]
    Ls(crate::commands::images::ImagesArgs),
    /// Pull an image into the local store.
    Pull(crate::commands::images::PullArgs),
    /// Push a local image.
    Push(crate::commands::images::PushArgs),
    /// Remove local images.
    Rm(crate::commands::images::RmiArgs),
    /// Add names to a local image.
    Tag(crate::commands::images::TagArgs),
    /// Remove names from a local image.
    Untag(crate::commands::images::TagArgs),
    /// Save an image to an archive.
    Save(crate::commands::images::SaveArgs),
    /// Load an image from an archive.
    Load(crate::commands::images::LoadArgs),
    /// Show an image's history.
    History(crate::commands::image_extra::HistoryArgs),
    /// Create an image from a tarball.
    Import(crate::commands::image_extra::ImportArgs),
    /// Remove dangling (with -a: unused) images.
    Prune(crate::commands::image_extra::PruneArgs),
    /// Sign a manifest file with a GPG key (simple signing).
    StandaloneSign(trust::StandaloneSignArgs),
    /// Verify a signature of a manifest file.
    StandaloneVerify(trust::StandaloneVerifyArgs),
}

#[derive(Args)]
struct ExistsArgs {
    image: String,
}

/// Registry access settings for one side of an operation.
#[derive(Args, Clone, Default)]
pub struct Access {
    /// Credentials (USERNAME[:PASSWORD]).
    #[arg(long)]
    pub creds: Option<String>,
    /// Authentication file.
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Directory with certificates (*.crt, *.cert, *.key).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
}

/// Registry access for both ends of a copy (skopeo's `--src-*` and `--dest-*`).
#[derive(Args, Clone, Default)]
pub struct CopyAccess {
    #[arg(long)]
    src_creds: Option<String>,
    #[arg(long)]
    dest_creds: Option<String>,
    /// Authentication file for both ends.
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    authfile: Option<PathBuf>,
    #[arg(long)]
    src_authfile: Option<PathBuf>,
    #[arg(long)]
    dest_authfile: Option<PathBuf>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    src_tls_verify: Option<bool>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    dest_tls_verify: Option<bool>,
    #[arg(long)]
    src_cert_dir: Option<PathBuf>,
    #[arg(long)]
    dest_cert_dir: Option<PathBuf>,
}

impl CopyAccess {
    pub fn src(&self) -> Access {
        Access {
            creds: self.src_creds.clone(),
            authfile: self.src_authfile.clone().or(self.authfile.clone()),
            tls_verify: self.src_tls_verify,
            cert_dir: self.src_cert_dir.clone(),
        }
    }

    pub fn dest(&self) -> Access {
        Access {
            creds: self.dest_creds.clone(),
            authfile: self.dest_authfile.clone().or(self.authfile.clone()),
            tls_verify: self.dest_tls_verify,
            cert_dir: self.dest_cert_dir.clone(),
        }
    }
}

#[derive(Args, Clone, Default)]
pub struct PlatformArgs {
    /// Use OS instead of the running OS when choosing images.
    #[arg(long)]
    pub override_os: Option<String>,
    /// Use ARCH instead of the machine's architecture when choosing images.
    #[arg(long)]
    pub override_arch: Option<String>,
    /// Use VARIANT instead of the machine's variant when choosing images.
    #[arg(long)]
    pub override_variant: Option<String>,
    /// Number of times to retry a failed registry operation.
    #[arg(long, default_value_t = 3)]
    pub retry_times: u32,
}

pub fn context(access: &Access, platform: &PlatformArgs) -> Result<Context, Failure> {
    let credentials = access
        .creds
        .as_deref()
        .map(Credentials::parse)
        .transpose()
        .map_err(exit::skopeo)?;
    let mut ctx = Context::default();
    ctx.auth_file = access.authfile.clone();
    ctx.credentials = credentials;
    ctx.tls_verify = access.tls_verify;
    ctx.cert_dir = access.cert_dir.clone();
    ctx.os = platform.override_os.clone();
    ctx.arch = platform.override_arch.clone();
    ctx.variant = platform.override_variant.clone();
    ctx.retries = Some(platform.retry_times);
    Ok(ctx)
}

#[derive(Args)]
struct InspectArgs {
    /// Print the raw manifest (or with --config, the raw config).
    #[arg(long)]
    raw: bool,
    /// Print the image's configuration.
    #[arg(long)]
    config: bool,
    /// Format the output with a Go template.
    #[arg(short, long)]
    format: Option<String>,
    /// Do not list the repository's tags.
    #[arg(short, long)]
    no_tags: bool,
    #[command(flatten)]
    access: Access,
    #[command(flatten)]
    platform: PlatformArgs,
    /// TRANSPORT:IMAGE, e.g. docker://alpine.
    image: String,
}

#[derive(Args)]
struct CopyArgs {
    /// Copy all images of a list (same as --multi-arch=all).
    #[arg(short, long)]
    all: bool,
    /// Which images of a list to copy: system, all or index-only.
    #[arg(long, value_parser = ["system", "all", "index-only"])]
    multi_arch: Option<String>,
    /// Manifest format of the destination: oci or v2s2.
    #[arg(short, long, value_parser = ["oci", "v2s2"])]
    format: Option<String>,
    /// Compression of the destination's layers: gzip or zstd.
    #[arg(long, value_parser = ["gzip", "zstd"])]
    dest_compress_format: Option<String>,
    /// Compression level.
    #[arg(long)]
    dest_compress_level: Option<i32>,
    /// Store layers uncompressed.
    #[arg(long)]
    dest_decompress: bool,
    /// Fail rather than change a digest.
    #[arg(long)]
    preserve_digests: bool,
    /// Blobs copied at once.
    #[arg(long, default_value_t = 6)]
    image_parallel_copies: usize,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// Write the digest of the copied manifest to this file.
    #[arg(long)]
    digestfile: Option<PathBuf>,
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    access: CopyAccess,
    #[command(flatten)]
    platform: PlatformArgs,
    /// Source image (TRANSPORT:NAME).
    source: String,
    /// Destination image (TRANSPORT:NAME).
    destination: String,
}

#[derive(Args)]
struct ListTagsArgs {
    #[command(flatten)]
    access: Access,
    #[command(flatten)]
    platform: PlatformArgs,
    /// docker://REPOSITORY
    repository: String,
}

#[derive(Args)]
struct DeleteArgs {
    #[command(flatten)]
    access: Access,
    #[command(flatten)]
    platform: PlatformArgs,
    /// docker://IMAGE
    image: String,
}

pub fn run(store: &StoreArgs, args: ImageArgs) -> CmdResult {
    use crate::commands::images as local;
    match args.command {
        ImageCommand::Inspect(a) if !has_transport(&a.image) => {
            local::inspect_local(store, std::slice::from_ref(&a.image), a.format.as_deref())
        }
        ImageCommand::Inspect(a) => inspect(store, a),
        ImageCommand::Copy(a) => copy_cmd(store, a),
        ImageCommand::Sync(a) => crate::commands::sync::run(store, a),
        ImageCommand::Exists(a) => local::exists(store, &a.image),
        ImageCommand::Ls(a) => local::images(store, a),
        ImageCommand::Pull(a) => local::pull(store, a),
        ImageCommand::Push(a) => local::push(store, a),
        ImageCommand::Rm(a) => local::rmi(store, a),
        ImageCommand::Tag(a) => local::tag(store, a),
        ImageCommand::Untag(a) => local::untag(store, a),
        ImageCommand::Save(a) => local::save(store, a),
        ImageCommand::Load(a) => local::load(store, a),
        ImageCommand::History(a) => crate::commands::image_extra::history(store, a),
        ImageCommand::Import(a) => crate::commands::image_extra::import(store, a),
        ImageCommand::Prune(a) => crate::commands::image_extra::prune(store, a),
        ImageCommand::ListTags(a) => list_tags(a),
        ImageCommand::Delete(a) => delete(a),
        ImageCommand::StandaloneSign(a) => trust::standalone_sign(a),
        ImageCommand::StandaloneVerify(a) => trust::standalone_verify(a),
    }
}

/// Whether a name starts with a transport (`docker://`, `oci:` …): then it is read
/// where it lives, else it names an image in the local store.
fn has_transport(s: &str) -> bool {
    [
        "docker://",
        "oci:",
        "oci-archive:",
        "dir:",
        "docker-archive:",
        "containers-storage:",
    ]
    .iter()
    .any(|t| s.starts_with(t))
}

fn parse_name(s: &str) -> Result<ImageName, Failure> {
    ImageName::parse(s).map_err(exit::skopeo)
}

fn inspect(store: &StoreArgs, a: InspectArgs) -> CmdResult {
    let name = parse_name(&a.image)?;
    let ctx = context(&a.access, &a.platform)?;
    let src = open_source(store, &name, &ctx)?;
    let top = src.manifest(None).map_err(exit::skopeo)?;
    if a.raw && !a.config {
        return write_out(&top.bytes);
    }
    let (_, manifest) = inspect::chosen_image(src.as_ref(), &top, &ctx).map_err(exit::skopeo)?;
    let config_bytes = inspect::read_config(src.as_ref(), &manifest).map_err(exit::skopeo)?;
    if a.config {
        if a.raw {
            return write_out(&config_bytes);
        }
        let v: Value = serde_json::from_slice(&config_bytes)
            .map_err(|e| exit::usage(1, format!("invalid image config: {e}")))?;
        return print_value(&v, a.format.as_deref());
    }
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| exit::usage(1, format!("invalid image config: {e}")))?;
    let tags = if a.no_tags || !matches!(name, ImageName::Docker(_)) {
        Vec::new()
    } else {
        src.tags().map_err(exit::skopeo)?
    };
    let out = inspect::Inspected::new(&name, &top, &manifest, &config, tags);
    print_value(
        &serde_json::to_value(out).expect("json"),
        a.format.as_deref(),
    )
}

/// Renders a template once per row (podman's `--format` on lists). A
/// `table ` template gets a header row and aligned columns, as podman prints
/// them.
pub fn print_rows(rows: &[Value], format: &str) -> CmdResult {
    if format == "json" {
        return print_value(&Value::Array(rows.to_vec()), None);
    }
    let (table, f) = match format.strip_prefix("table") {
        Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => (true, rest.trim_start()),
        _ => (false, format),
    };
    let f = f.replace("\\t", "\t").replace("\\n", "\n");
    let t = Template::parse(&f).map_err(exit::podman)?;
    let mut out = String::new();
    if !table {
        for r in rows {
            out.push_str(&t.render(r).map_err(exit::podman)?);
            out.push('\n');
        }
        return write_out(out.as_bytes());
    }
    let mut cells = vec![
        f.split('\t')
            .map(|seg| header_of(seg, rows.first()))
            .collect::<Vec<_>>(),
    ];
    for r in rows {
        let line = t.render(r).map_err(exit::podman)?;
        cells.push(line.split('\t').map(String::from).collect());
    }
    write_out(crate::table::render(&cells).as_bytes())
}

/// A column's header: the template's `{{.Field}}`s as podman names them
/// (`CONTAINER ID`, `IMAGE ID`, `CREATED AT` …), the rest of the text kept.
fn header_of(segment: &str, sample: Option<&Value>) -> String {
    let mut out = String::new();
    let mut rest = segment;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let action = rest[start + 2..start + end].trim();
        if let Some(field) = action
            .split_whitespace()
            .find_map(|w| w.strip_prefix('.'))
            .map(|f| f.split('.').next().unwrap_or(f))
            .filter(|f| !f.is_empty())
        {
            out.push_str(&field_header(field, sample));
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out.trim().to_string()
}

fn field_header(field: &str, sample: Option<&Value>) -> String {
    let is = |k: &str| sample.is_some_and(|s| s.get(k).is_some());
    match field {
        "ID" | "Id" if is("Names") && is("Image") => "CONTAINER ID".into(),
        "ID" | "Id" if is("Repository") => "IMAGE ID".into(),
        "CreatedSince" | "CreatedHuman" | "RunningFor" => "CREATED".into(),
        _ => {
            // CamelCase to upper-case words: CreatedAt → CREATED AT.
            let mut h = String::new();
            let chars: Vec<char> = field.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let prev_lower = i > 0 && chars[i - 1].is_lowercase();
                if i > 0 && c.is_uppercase() && (prev_lower || next_lower) {
                    h.push(' ');
                }
                h.extend(c.to_uppercase());
            }
            h
        }
    }
}

pub fn print_value(v: &Value, format: Option<&str>) -> CmdResult {
    let text = match format {
        Some(f) => {
            let t = Template::parse(&f.replace("\\t", "\t").replace("\\n", "\n"))
                .map_err(|e| exit::usage(1, e.to_string()))?;
            let mut s = t.render(v).map_err(|e| exit::usage(1, e.to_string()))?;
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        None => serde_json::to_string_pretty(v).expect("json") + "\n",
    };
    write_out(text.as_bytes())
}

fn write_out(bytes: &[u8]) -> CmdResult {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)
        .and_then(|_| o.flush())
        .map_err(|e| exit::usage(1, format!("writing output: {e}")))
}

pub fn copy_options(
    all: bool,
    multi_arch: Option<&str>,
    format: Option<&str>,
    platform: &Context,
) -> CopyOptions {
    CopyOptions {
        multi_arch: multi_arch.and_then(MultiArch::parse).unwrap_or(if all {
            MultiArch::All
        } else {
            MultiArch::System
        }),
        format: format.and_then(ManifestFormat::parse),
        platform: platform.platform(),
        ..Default::default()
    }
}

fn copy_cmd(store: &StoreArgs, a: CopyArgs) -> CmdResult {
    let src_name = parse_name(&a.source)?;
    let dst_name = parse_name(&a.destination)?;
    let mut src_ctx = context(&a.access.src(), &a.platform)?;
    let mut dst_ctx = context(&a.access.dest(), &a.platform)?;
    src_ctx.registries_d = a.trust.registries_d.clone();
    dst_ctx.registries_d = a.trust.registries_d.clone();
    let policy = a.trust.policy()?;
    let mut opts = copy_options(
        a.all,
        a.multi_arch.as_deref(),
        a.format.as_deref(),
        &src_ctx,
    );
    opts.compression = a
        .dest_compress_format
        .as_deref()
        .and_then(Compression::parse);
    opts.compression_level = a.dest_compress_level;
    opts.decompress = a.dest_decompress;
    opts.preserve_digests = a.preserve_digests;
    opts.parallel = a.image_parallel_copies.max(1);
    a.sign.apply(&mut opts)?;
    let progress: Box<dyn Progress> = if a.quiet {
        Box::new(Silent)
    } else {
        Box::new(Lines::new())
    };
    if !a.quiet {
        eprintln!("Getting image source signatures");
    }
    let digest = copy_between(
        store,
        &src_name,
        &src_ctx,
        &dst_name,
        &dst_ctx,
        &opts,
        progress.as_ref(),
        &policy,
    )?;
    if let Some(f) = &a.digestfile {
        std::fs::write(f, digest.to_string())
            .map_err(|e| exit::usage(1, format!("{}: {e}", f.display())))?;
    }
    Ok(())
}

/// Opens both ends and copies, if the policy accepts the source; shared by
/// `copy` and `sync`.
#[allow(clippy::too_many_arguments)]
pub fn copy_between(
    store: &StoreArgs,
    src_name: &ImageName,
    src_ctx: &Context,
    dst_name: &ImageName,
    dst_ctx: &Context,
    opts: &CopyOptions,
    progress: &dyn Progress,
    policy: &Policy,
) -> Result<Digest, Failure> {
    let src = open_source(store, src_name, src_ctx)?;
    let dst = match dst_name {
        ImageName::ContainersStorage(n) => crate::commands::images::storage_destination(store, n)?,
        other => other.open_destination(dst_ctx).map_err(exit::skopeo)?,
    };
    let report = berth_image::copy::copy_image_trusted(
        policy,
        src_name,
        src.as_ref(),
        dst.as_ref(),
        opts,
        progress,
    )
    .map_err(exit::skopeo)?;
    Ok(report.manifest_digest)
}

/// Opens a source; `containers-storage:` goes through berth's store.
fn open_source(
    store: &StoreArgs,
    name: &ImageName,
    ctx: &Context,
) -> Result<Box<dyn ImageSource>, Failure> {
    match name {
        ImageName::ContainersStorage(n) => crate::commands::images::storage_source(store, n),
        other => other.open_source(ctx).map_err(exit::skopeo),
    }
}

fn docker_ref(s: &str) -> Result<berth_image::Reference, Failure> {
    match parse_name(s)? {
        ImageName::Docker(r) => Ok(r),
        other => Err(exit::usage(
            1,
            format!("{other}: only docker:// references are supported here"),
        )),
    }
}

fn list_tags(a: ListTagsArgs) -> CmdResult {
    let ctx = context(&a.access, &a.platform)?;
    let reference = docker_ref(&a.repository)?;
    if reference.digest().is_some()
        || a.repository
            .rsplit('/')
            .next()
            .is_some_and(|l| l.contains(':'))
    {
        return Err(exit::usage(
            1,
            format!("{}: give a repository without tag or digest", a.repository),
        ));
    }
    let client = docker::connect(&reference, false, &ctx).map_err(exit::skopeo)?;
    let tags = docker::list_tags(&client, &reference).map_err(exit::skopeo)?;
    print_value(
        &json!({ "Repository": reference.name(), "Tags": tags }),
        None,
    )
}

fn delete(a: DeleteArgs) -> CmdResult {
    let ctx = context(&a.access, &a.platform)?;
    let reference = docker_ref(&a.image)?;
    docker::delete(&reference, &ctx).map_err(exit::skopeo)?;
    Ok(())
}
