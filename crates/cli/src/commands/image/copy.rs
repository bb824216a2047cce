//! skopeo's `copy`, `list-tags` and `delete`.

use crate::commands::StoreArgs;
use crate::commands::image::access::Access;
use crate::commands::image::access::CopyAccess;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::access::context;
use crate::commands::image::parse_name;
use crate::commands::image::trust::SignArgs;
use crate::commands::image::trust::TrustArgs;
use crate::exit::{self, CmdResult, Failure};
use crate::output::print_value;
use crate::progress::Lines;
use berth_image::copy::{CopyOptions, MultiArch, Progress, Silent};
use berth_image::manifest::{Compression, ManifestFormat};
use berth_image::signature::Policy;
use berth_image::transport::docker;
use berth_image::{Context, Digest, ImageName, ImageSource};
use berth_storage::transport;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct CopyArgs {
    /// Copy all images of a list (same as --multi-arch=all).
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Which images of a list to copy: system, all or index-only.
    #[arg(long, value_parser = ["system", "all", "index-only"])]
    pub(crate) multi_arch: Option<String>,
    /// Manifest format of the destination: oci or v2s2.
    #[arg(short, long, value_parser = ["oci", "v2s2"])]
    pub(crate) format: Option<String>,
    /// Compression of the destination's layers: gzip or zstd.
    #[arg(long, value_parser = ["gzip", "zstd"])]
    pub(crate) dest_compress_format: Option<String>,
    /// Compression level.
    #[arg(long)]
    pub(crate) dest_compress_level: Option<i32>,
    /// Store layers uncompressed.
    #[arg(long)]
    pub(crate) dest_decompress: bool,
    /// Fail rather than change a digest.
    #[arg(long)]
    pub(crate) preserve_digests: bool,
    /// Blobs copied at once.
    #[arg(long, default_value_t = 6)]
    pub(crate) image_parallel_copies: usize,
    /// Print nothing but errors.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Write the digest of the copied manifest to this file.
    /// Another name for the image in a docker-archive destination (repeatable).
    #[arg(long)]
    pub(crate) additional_tag: Vec<String>,
    /// Compress layers written uncompressed (as gzip unless --dest-compress-format says).
    #[arg(long)]
    pub(crate) dest_compress: bool,
    #[arg(long)]
    pub(crate) digestfile: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) sign: SignArgs,
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
    #[command(flatten)]
    pub(crate) access: CopyAccess,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
    /// Source image (TRANSPORT:NAME).
    pub(crate) source: String,
    /// Destination image (TRANSPORT:NAME).
    pub(crate) destination: String,
}

#[derive(Args)]
pub(crate) struct ListTagsArgs {
    #[command(flatten)]
    pub(crate) access: Access,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
    /// docker://REPOSITORY
    pub(crate) repository: String,
}

#[derive(Args)]
pub(crate) struct DeleteArgs {
    #[command(flatten)]
    pub(crate) access: Access,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
    /// docker://IMAGE
    pub(crate) image: String,
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

pub(crate) fn copy_cmd(store: &StoreArgs, a: CopyArgs) -> CmdResult {
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
        .or(a.dest_compress.then_some("gzip"))
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
    let digest = if a.additional_tag.is_empty() {
        copy_between(
            store,
            &src_name,
            &src_ctx,
            &dst_name,
            &dst_ctx,
            &opts,
            progress.as_ref(),
            &policy,
        )?
    } else {
        copy_to_archive_with_tags(
            store,
            &a,
            &src_name,
            &src_ctx,
            &opts,
            progress.as_ref(),
            &policy,
        )?
    };
    if let Some(f) = &a.digestfile {
        std::fs::write(f, digest.to_string())
            .map_err(|e| exit::usage(1, format!("{}: {e}", f.display())))?;
    }
    Ok(())
}

/// `--additional-tag`: a docker-archive destination whose image carries
/// those names besides the one the destination gives.
fn copy_to_archive_with_tags(
    store: &StoreArgs,
    a: &CopyArgs,
    src_name: &ImageName,
    src_ctx: &Context,
    opts: &CopyOptions,
    progress: &dyn Progress,
    policy: &Policy,
) -> Result<Digest, Failure> {
    let ImageName::DockerArchive { path, reference } = parse_name(&a.destination)? else {
        return Err(exit::usage(
            1,
            "--additional-tag can only be used with a docker-archive: destination",
        ));
    };
    let mut names = match reference {
        Some(berth_image::transport::ArchiveRef::Name(r)) => vec![r],
        _ => Vec::new(),
    };
    for t in &a.additional_tag {
        names.push(
            berth_image::Reference::parse(t)
                .map_err(|e| exit::usage(1, format!("--additional-tag {t}: {e}")))?,
        );
    }
    let dst = berth_image::transport::docker_archive::DockerArchiveDestination::open(&path, None)
        .map_err(exit::skopeo)?;
    dst.set_names(names);
    let src = open_source(store, src_name, src_ctx)?;
    let report =
        berth_image::copy::copy_image_trusted(policy, src_name, src.as_ref(), &dst, opts, progress)
            .map_err(exit::skopeo)?;
    Ok(report.manifest_digest)
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
    let dst = transport::open_any_destination(&store.options(), dst_name, dst_ctx)
        .map_err(exit::storage)?;
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
pub(crate) fn open_source(
    store: &StoreArgs,
    name: &ImageName,
    ctx: &Context,
) -> Result<Box<dyn ImageSource>, Failure> {
    transport::open_any_source(&store.options(), name, ctx).map_err(exit::storage)
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

pub(crate) fn list_tags(a: ListTagsArgs) -> CmdResult {
    if let Some(path) = a.repository.strip_prefix("docker-archive:") {
        // An archive's tags are its images' names.
        let tags = berth_image::transport::docker_archive::repo_tags(std::path::Path::new(path))
            .map_err(exit::skopeo)?;
        return print_value(&json!({ "Tags": tags }), None);
    }
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

pub(crate) fn delete(a: DeleteArgs) -> CmdResult {
    let ctx = context(&a.access, &a.platform)?;
    let reference = docker_ref(&a.image)?;
    docker::delete(&reference, &ctx).map_err(exit::skopeo)?;
    Ok(())
}
