//! A container's files from the host: `cp`, `mount`, `umount`.

use crate::commands::StoreArgs;
use crate::commands::container::each;
use crate::commands::container::fail;
use crate::exit::{self, CmdResult, Failure};
use berth_engine::copy::CopyOptions;
use berth_engine::targets::{self, AllOf};
use clap::Args;

#[derive(Args)]
pub struct MountArgs {
    /// Full container IDs in the list of mounts.
    #[arg(long)]
    pub(crate) notruncate: bool,
    /// Without names: the mounted containers, with where.
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
    #[arg(required_unless_present = "all")]
    pub(crate) names: Vec<String>,
}

/// `mount`: prints where each container's root filesystem is mounted
/// (mounting it); without names, lists the mounted containers.
pub fn mount(store_args: &StoreArgs, a: MountArgs) -> CmdResult {
    let store = store_args.open()?;
    if a.names.is_empty() {
        for (id, p) in targets::mounted(&store).map_err(exit::podman)? {
            let id = if a.notruncate { &id[..] } else { &id[..12] };
            println!("{id} {}", p.display());
        }
        return Ok(());
    }
    each(&a.names, |n| {
        let p = targets::mount(&store, n).map_err(exit::podman)?;
        println!("{}", p.display());
        Ok(())
    })
}

pub fn umount(store_args: &StoreArgs, a: UmountArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = super::targets(&store, a.all.then_some(AllOf::Mounted), &a.names)?;
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

/// `NAME:PATH` when NAME is a container; else a host path.
fn split_container<'a>(store: &berth_storage::Store, s: &'a str) -> Option<(&'a str, &'a str)> {
    let (name, path) = s.split_once(':')?;
    berth_engine::container::find(store, name)
        .ok()
        .map(|_| (name, path))
}

/// How to copy into `container`: with `--archive`, as its user and group.
fn into(store: &berth_storage::Store, container: &str, a: &CpArgs) -> Result<CopyOptions, Failure> {
    let owner = match a.archive {
        true => Some(berth_engine::copy::container_owner(store, container).map_err(fail)?),
        false => None,
    };
    Ok(CopyOptions {
        owner,
        overwrite: a.overwrite,
    })
}

pub fn cp(store_args: &StoreArgs, a: CpArgs) -> CmdResult {
    let store = store_args.open()?;
    let src = split_container(&store, &a.source);
    let dst = split_container(&store, &a.destination);
    let r = match (src, dst) {
        // `-` is a tar on stdout or stdin, as podman has it.
        (Some((c, p)), None) if a.destination == "-" => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            berth_engine::copy::copy_out_stream(&store, c, p, &mut out).and_then(|()| {
                std::io::Write::flush(&mut out)
                    .map_err(|e| berth_engine::Error::Other(e.to_string()))
            })
        }
        (None, Some((c, p))) if a.source == "-" => {
            let o = into(&store, c, &a)?;
            berth_engine::copy::copy_in_stream(&store, std::io::stdin(), c, p, &o)
        }
        (Some((c, p)), None) => {
            let o = CopyOptions {
                owner: None,
                overwrite: a.overwrite,
            };
            berth_engine::copy::copy_out(&store, c, p, std::path::Path::new(&a.destination), &o)
        }
        (None, Some((c, p))) => {
            let o = into(&store, c, &a)?;
            berth_engine::copy::copy_in(&store, std::path::Path::new(&a.source), c, p, &o)
        }
        (Some((from, src)), Some((to, dest))) => {
            let o = into(&store, to, &a)?;
            berth_engine::copy::copy_between(&store, from, src, to, dest, &o)
        }
        (None, None) => {
            return Err(exit::podman(
                "one of the paths must name a container (CONTAINER:PATH)",
            ));
        }
    };
    r.map_err(fail)
}
