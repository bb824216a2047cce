//! `push`.

use crate::commands::StoreArgs;
use crate::commands::image::access::Access;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::access::context;
use crate::exit::{self, CmdResult};
use berth_image::copy::{self};
use berth_image::manifest::{Compression, ManifestFormat};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
#[command(
    mut_arg("retry", |a| a.help(None::<&str>).default_value("3")),
    mut_arg("retry_delay", |a| a.help("The pause between retries (2s, 500ms; default: a growing one)"))
)]
pub struct PushArgs {
    /// Layer compression for the destination: gzip or zstd.
    #[arg(long, value_parser = ["gzip", "zstd"])]
    pub(crate) compression_format: Option<String>,
    /// Write the pushed manifest's digest to this file.
    #[arg(long)]
    pub(crate) digestfile: Option<PathBuf>,
    /// Manifest format: oci or v2s2 (docker).
    #[arg(short, long, value_parser = ["oci", "v2s2", "docker"])]
    pub(crate) format: Option<String>,
    #[arg(short, long)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) retry: crate::commands::image::RetryFlags,
    /// The compression level (gzip 1-9, zstd 1-20).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) compression_level: Option<i32>,
    /// Layers go uncompressed (buildah's -D is berth's global --debug).
    #[arg(long)]
    pub(crate) disable_compression: bool,
    /// A manifest list: its images too (buildah's).
    #[arg(long)]
    pub(crate) all: bool,
    /// A manifest list: removed once pushed (buildah's).
    #[arg(long)]
    pub(crate) rm: bool,
    #[command(flatten)]
    pub(crate) sign: crate::commands::image::trust::SignArgs,
    #[command(flatten)]
    pub(crate) access: Access,
    #[command(flatten)]
    pub(crate) encryption: crate::commands::builder::Encryption,
    /// Accepted for podman's and buildah's scripts: a push reads the store's
    /// own image, which no trust policy governs.
    #[arg(long, hide = true)]
    pub(crate) signature_policy: Option<PathBuf>,
    /// The local image.
    pub(crate) image: String,
    /// Where to (a name, or TRANSPORT:NAME); default the image's own name.
    pub(crate) destination: Option<String>,
}

pub fn push(store_args: &StoreArgs, a: PushArgs) -> CmdResult {
    a.encryption.refuse()?;
    let mut ctx = context(&a.access, &PlatformArgs::default())?;
    let retry = a.retry.parse()?;
    (ctx.retries, ctx.retry_delay) = (Some(retry.attempts), retry.delay);
    let store = store_args.open()?;
    let mut opts = berth_engine::images::PushOptions {
        destination: a.destination,
        copy: copy::CopyOptions {
            format: a.format.as_deref().and_then(ManifestFormat::parse),
            compression: a.compression_format.as_deref().and_then(Compression::parse),
            compression_level: a.compression_level,
            decompress: a.disable_compression,
            ..Default::default()
        },
        digest_file: a.digestfile,
        all: a.all,
        rm: a.rm,
    };
    a.sign.apply(&mut opts.copy)?;
    let progress = crate::progress::unless_quiet(a.quiet);
    // A manifest list too: the list, and with --all its images.
    berth_engine::images::push_any(&store, &a.image, &opts, &ctx, progress.as_ref())
        .map_err(exit::image)?;
    Ok(())
}
