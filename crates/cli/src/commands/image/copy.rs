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
use crate::output::print_json;
use berth_engine::transfer::{self, Transfer};
use berth_image::Context;
use berth_image::copy::{CopyOptions, MultiArch};
use berth_image::manifest::{Compression, ManifestFormat};
use clap::Args;
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
    /// Another name for the image in a docker-archive destination (repeatable).
    #[arg(long)]
    pub(crate) additional_tag: Vec<String>,
    /// Compress layers written uncompressed (as gzip unless --dest-compress-format says).
    #[arg(long)]
    pub(crate) dest_compress: bool,
    /// Write the digest of the copied manifest to this file.
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
    pub(crate) skopeo: crate::commands::image::access::SkopeoImage,
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
    pub(crate) skopeo: crate::commands::image::access::SkopeoImage,
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

/// What `copy` and `sync` share: each side's context (registries.d for
/// both), the trust policy, and the copy options `options` makes from the
/// source's context, signed as the flags say.
pub(crate) fn transfer(
    store: &StoreArgs,
    (access, platform): (&CopyAccess, &PlatformArgs),
    trust: &TrustArgs,
    sign: &SignArgs,
    options: impl FnOnce(&Context) -> CopyOptions,
) -> Result<Transfer, Failure> {
    let mut src = context(&access.src(), platform)?;
    let mut dst = context(&access.dest(), platform)?;
    src.registries_d = trust.registries_d.clone();
    dst.registries_d = trust.registries_d.clone();
    let policy = trust.policy()?;
    let mut options = options(&src);
    sign.apply(&mut options)?;
    let store = store.options();
    Ok(Transfer {
        store,
        policy,
        options,
        src,
        dst,
    })
}

pub(crate) fn copy_cmd(store: &StoreArgs, a: CopyArgs) -> CmdResult {
    let src_name = parse_name(&a.source)?;
    let dst_name = parse_name(&a.destination)?;
    let flags = (&a.access, &a.platform);
    let copier = transfer(store, flags, &a.trust, &a.sign, |src| {
        let mut opts = copy_options(a.all, a.multi_arch.as_deref(), a.format.as_deref(), src);
        opts.compression = a
            .dest_compress_format
            .as_deref()
            .or(a.dest_compress.then_some("gzip"))
            .and_then(Compression::parse);
        opts.compression_level = a.dest_compress_level;
        opts.decompress = a.dest_decompress;
        opts.preserve_digests = a.preserve_digests;
        opts.parallel = a.image_parallel_copies.max(1);
        opts
    })?;
    let req = transfer::CopyRequest {
        src: src_name,
        dst: dst_name,
        additional_tags: a.additional_tag,
        digest_file: a.digestfile,
    };
    copier
        .copy(
            &req,
            crate::progress::unless_quiet_on_stdout(a.quiet).as_ref(),
        )
        .map_err(exit::transfer)?;
    Ok(())
}

pub(crate) fn list_tags(a: ListTagsArgs) -> CmdResult {
    let ctx = context(&a.skopeo.apply(a.access.clone()), &a.platform)?;
    let tags = transfer::list_tags(&a.repository, &ctx).map_err(exit::transfer)?;
    print_json(&tags)
}

pub(crate) fn delete(a: DeleteArgs) -> CmdResult {
    let ctx = context(&a.skopeo.apply(a.access.clone()), &a.platform)?;
    transfer::delete(&a.image, &ctx).map_err(exit::transfer)
}
