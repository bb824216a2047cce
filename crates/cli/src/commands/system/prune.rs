//! `system prune`.

use crate::commands::StoreArgs;
use crate::exit::CmdResult;
use clap::Args;

#[derive(Args)]
pub struct PruneArgs {
    /// Remove every unused image, not only dangling ones.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Also remove volumes no container uses.
    #[arg(long)]
    pub(crate) volumes: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub(crate) force: bool,
    /// Only what passes: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]
    /// (passed on to the container, image and volume prunes).
    #[arg(long)]
    pub(crate) filter: Vec<String>,
}

/// What `system prune` warns about before it asks, as podman words it.
fn prune_warning(a: &PruneArgs) -> String {
    let mut w = String::from(
        "WARNING! This command removes:\n\t- all stopped containers\n\t- all networks not used by at least one container\n",
    );
    if a.volumes {
        w.push_str("\t- all volumes not used by at least one container\n");
    }
    w.push_str(if a.all {
        "\t- all images without at least one container associated to them\n"
    } else {
        "\t- all dangling images\n"
    });
    w
}

/// Stopped containers, then dangling (or with -a unused) images, then with
/// --volumes unused volumes, then the networks no container uses.
pub fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    let filters = berth_engine::lifecycle::prune_filters(&a.filter).map_err(crate::exit::podman)?;
    if !a.force && !crate::prompt::confirm(&prune_warning(&a)) {
        return Ok(());
    }
    println!("Deleted Containers");
    // As `container prune`: a running build keeps its working containers.
    crate::commands::container::lifecycle::prune_containers(store_args, &filters)?;
    println!("Deleted Images");
    crate::commands::image::prune::prune_images(store_args, a.all, a.filter.clone())?;
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    if a.volumes {
        println!("Deleted Volumes");
        crate::commands::volume::prune_volumes(&engine.volumes(), &a.filter)?;
    }
    // As podman's: the networks no container uses go too.
    println!("Deleted Networks");
    let networks = engine.networks();
    for name in networks.prune(&a.filter).map_err(crate::exit::podman)? {
        println!("{name}");
    }
    Ok(())
}
