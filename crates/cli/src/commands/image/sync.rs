//! `berth image sync`: copy whole repositories, directories of images, or a YAML list.

use berth_engine::transfer::{SyncDestination, SyncEvent, SyncRequest, SyncSource};
use berth_image::copy::CopyOptions;
use clap::Args;

use crate::commands::image::access::CopyAccess;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::copy::{copy_options, transfer};
use crate::commands::image::trust::SignArgs;
use crate::commands::image::trust::TrustArgs;
use crate::exit::{self, CmdResult};

#[derive(Args)]
pub struct SyncArgs {
    /// Source kind: docker (a repository or image), dir (a directory of images), yaml.
    #[arg(short, long, value_parser = ["docker", "dir", "yaml"])]
    src: String,
    /// Destination kind: docker (a registry namespace) or dir.
    #[arg(short, long, value_parser = ["docker", "dir"])]
    dest: String,
    /// Copy all images of lists.
    #[arg(short, long)]
    all: bool,
    /// Keep the source's registry and full path in the destination name.
    #[arg(long)]
    scoped: bool,
    /// Only tags matching this regular expression (docker sources).
    #[arg(long)]
    tag_regex: Option<String>,
    /// Only tags within this semver range, e.g. ">=1.2, <2" (docker sources).
    #[arg(long)]
    tag_semver: Option<String>,
    /// Print what would be copied, copy nothing.
    #[arg(long)]
    dry_run: bool,
    /// Go on after an image fails; exit 1 at the end.
    #[arg(long)]
    keep_going: bool,
    #[arg(short, long, value_parser = ["oci", "v2s2"])]
    format: Option<String>,
    #[arg(long)]
    preserve_digests: bool,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
    #[command(flatten)]
    access: CopyAccess,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
    source: String,
    destination: String,
}

pub fn run(store: &crate::commands::StoreArgs, a: SyncArgs) -> CmdResult {
    let flags = (&a.access, &a.platform);
    let transfer = transfer(store, flags, &a.trust, &a.sign, |src| CopyOptions {
        preserve_digests: a.preserve_digests,
        ..copy_options(a.all, None, a.format.as_deref(), src)
    })?;
    let req = request(&a);
    let (quiet, dry_run) = (a.quiet, a.dry_run);
    let mut print = |event: SyncEvent| match event {
        SyncEvent::Copying {
            index,
            total,
            src,
            dst,
        } if !quiet || dry_run => {
            // skopeo's words: a dry run says what it would have done.
            let verb = if dry_run {
                "Would have copied"
            } else {
                "Copying"
            };
            eprintln!("{verb} image ref {index}/{total}: {src} → {dst}");
        }
        SyncEvent::Failed(e) => eprintln!("Error: {e}"),
        SyncEvent::Copying { .. } => {}
    };
    let report = transfer
        .sync(
            &req,
            crate::progress::unless_quiet_on_stdout(a.quiet).as_ref(),
            &mut print,
        )
        .map_err(exit::transfer)?;
    if !a.quiet || a.dry_run {
        let synced = report.total - report.failed;
        let verb = if a.dry_run {
            "Would have synced"
        } else {
            "Synced"
        };
        eprintln!("{verb} {synced} images from {} sources", report.sources);
    }
    report.check().map_err(exit::transfer)
}

fn request(a: &SyncArgs) -> SyncRequest {
    SyncRequest {
        src_kind: match a.src.as_str() {
            "docker" => SyncSource::Docker,
            "dir" => SyncSource::Dir,
            _ => SyncSource::Yaml,
        },
        source: a.source.clone(),
        dst_kind: match a.dest.as_str() {
            "docker" => SyncDestination::Docker,
            _ => SyncDestination::Dir,
        },
        destination: a.destination.clone(),
        tag_regex: a.tag_regex.clone(),
        tag_semver: a.tag_semver.clone(),
        scoped: a.scoped,
        dry_run: a.dry_run,
        keep_going: a.keep_going,
    }
}
