//! `image mount` and `image umount`: an image's root filesystem, read-only, on
//! the host.

use berth_engine::Engine;
use clap::Args;

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};

#[derive(Args)]
pub(crate) struct MountArgs {
    /// Mount every image.
    #[arg(short, long)]
    all: bool,
    /// The images (none: list those mounted).
    images: Vec<String>,
}

#[derive(Args)]
pub(crate) struct UnmountArgs {
    /// Unmount every mounted image.
    #[arg(short, long)]
    all: bool,
    /// Unmount even when mounted more than once.
    #[arg(short, long)]
    force: bool,
    #[arg(required_unless_present = "all")]
    images: Vec<String>,
}

pub(crate) fn mount(store_args: &StoreArgs, a: MountArgs) -> CmdResult {
    berth_engine::system::check_mount_visible("image mount").map_err(crate::exit::podman)?;
    let engine = Engine::with_store(store_args.open()?);
    let images = engine.images();
    if a.all {
        let print = |name: &str, path: &std::path::Path| println!("{name} {}", path.display());
        return images.mount_all(print).map_err(exit::image);
    }
    if a.images.is_empty() {
        for (name, path) in images.mounted().map_err(exit::image)? {
            println!("{name} {}", path.display());
        }
        return Ok(());
    }
    for name in &a.images {
        let (_, path) = images.mount(name).map_err(exit::image)?;
        println!("{}", path.display());
    }
    Ok(())
}

pub(crate) fn unmount(store_args: &StoreArgs, a: UnmountArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let images = engine.images();
    let names = if a.all {
        let mounted = images.mounted().map_err(exit::image)?;
        mounted.into_iter().map(|(n, _)| n).collect()
    } else {
        a.images
    };
    for name in &names {
        // The ID of each image this left unmounted, as podman prints it.
        if let Some(id) = images
            .unmount(name, a.force || a.all)
            .map_err(exit::image)?
        {
            println!("{id}");
        }
    }
    Ok(())
}
