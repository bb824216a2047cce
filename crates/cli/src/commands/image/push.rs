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
    #[arg(long, default_value_t = 3)]
    pub(crate) retry: u32,
    #[command(flatten)]
    pub(crate) sign: crate::commands::image::trust::SignArgs,
    #[command(flatten)]
    pub(crate) access: Access,
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
    let platform = PlatformArgs {
        retry_times: a.retry,
        ..Default::default()
    };
    let ctx = context(&a.access, &platform)?;
    let store = store_args.open()?;
    let mut opts = berth_engine::images::PushOptions {
        destination: a.destination,
        copy: copy::CopyOptions {
            format: a.format.as_deref().and_then(ManifestFormat::parse),
            compression: a.compression_format.as_deref().and_then(Compression::parse),
            ..Default::default()
        },
        digest_file: a.digestfile,
    };
    a.sign.apply(&mut opts.copy)?;
    let progress = crate::progress::unless_quiet(a.quiet);
    berth_engine::images::push(&store, &a.image, &opts, &ctx, progress.as_ref())
        .map_err(exit::image)?;
    Ok(())
}
