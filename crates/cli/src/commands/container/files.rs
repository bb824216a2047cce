//! A container's files from the host: `cp`, `mount`, `umount`.

use crate::commands::StoreArgs;
use crate::commands::container::each;
use crate::commands::container::fail;
use crate::exit::{self, CmdResult};
use berth_engine::copy::CpRequest;
use berth_engine::targets::{self, AllOf};
use clap::Args;

#[derive(Args)]
pub struct MountArgs {
    /// Full container IDs in the list of mounts.
    #[arg(long)]
    pub(crate) notruncate: bool,
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    /// Without names (or --latest): the mounted containers, with where.
    pub(crate) names: Vec<String>,
}

#[derive(Args)]
pub struct UmountArgs {
    /// Every mounted container.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Unmount even if other mounts of it are counted.
    #[arg(short, long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    #[arg(required_unless_present_any = ["all", "latest"])]
    pub(crate) names: Vec<String>,
}

/// `mount`: prints where each container's root filesystem is mounted
/// (mounting it); without names, lists the mounted containers.
pub fn mount(store_args: &StoreArgs, a: MountArgs) -> CmdResult {
    berth_engine::system::check_mount_visible("mount").map_err(exit::podman)?;
    let store = store_args.open()?;
    if a.names.is_empty() && !a.latest.latest {
        for (id, p) in targets::mounted(&store).map_err(exit::podman)? {
            let id = if a.notruncate { &id[..] } else { &id[..12] };
            println!("{id} {}", p.display());
        }
        return Ok(());
    }
    let names = super::targets(&store, None, &a.latest, &a.names)?;
    each(&names, |n| {
        let p = targets::mount(&store, n).map_err(exit::podman)?;
        println!("{}", p.display());
        Ok(())
    })
}

pub fn umount(store_args: &StoreArgs, a: UmountArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = super::targets(&store, a.all.then_some(AllOf::Mounted), &a.latest, &a.names)?;
    each(&names, |n| {
        let id = targets::unmount(&store, n, a.force).map_err(exit::podman)?;
        println!("{id}");
        Ok(())
    })
}

#[derive(Args)]
pub struct CpArgs {
    /// podman pauses a running container while it copies, against symlinks
    /// swapped in under it; berth resolves every path inside the container's
    /// root and never follows one that changes, so it does not pause: taken
    /// for podman's command lines.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "true")]
    pub(crate) pause: bool,
    /// Give what is copied into a container its user and group (default);
    /// false keeps the owners the files (or the tar's entries) have.
    #[arg(short, long, num_args = 0..=1, default_missing_value = "true", default_value = "true", require_equals = true)]
    pub(crate) archive: bool,
    /// Replace a directory with a file, or a file with a directory.
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// [CONTAINER:]PATH, or `-` for a tar archive on stdin
    pub(crate) source: String,
    /// [CONTAINER:]PATH, or `-` for a tar archive on stdout
    pub(crate) destination: String,
}

/// `cp`: the engine tells the container side from the host's; `-` is a tar
/// on stdout or stdin, as podman has it.
pub fn cp(store_args: &StoreArgs, a: CpArgs) -> CmdResult {
    let store = store_args.open()?;
    let r = CpRequest {
        source: &a.source,
        destination: &a.destination,
        archive: a.archive,
        overwrite: a.overwrite,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
    berth_engine::copy::cp(&store, &r, &mut std::io::stdin(), &mut out).map_err(fail)
}
