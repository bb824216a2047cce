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
}

/// What `system prune` warns about before it asks, as podman words it.
fn prune_warning(a: &PruneArgs) -> String {
    let mut w = String::from("WARNING! This command removes:\n\t- all stopped containers\n");
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
/// --volumes unused volumes.
pub fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    if !a.force && !crate::prompt::confirm(&prune_warning(&a)) {
        return Ok(());
    }
    let store = store_args.open()?;
    println!("Deleted Containers");
    // As `container prune`: a running build keeps its working containers.
    let gone = berth_builder::builder::prune(&store).map_err(crate::exit::build)?;
    for id in gone {
        println!("{id}");
    }
    println!("Deleted Images");
    crate::commands::image::prune::prune_images(store_args, a.all)?;
    if a.volumes {
        println!("Deleted Volumes");
        crate::commands::volume::prune_volumes(
            &berth_engine::Engine::with_store(store.clone()).volumes(),
            &[],
        )?;
    }
    Ok(())
}
