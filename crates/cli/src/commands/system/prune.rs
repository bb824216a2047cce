//! `system prune`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_engine::system_prune::{
    SystemPruneError, SystemPruneFailure, SystemPruneOptions, SystemPruneReport,
};
use berth_engine::units::human_size;
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
/// --volumes unused volumes, then the networks no container uses: the
/// engine's system prune, told as podman tells it.
pub fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    let o = SystemPruneOptions::new(a.all, a.volumes, a.filter.clone()).map_err(exit::podman)?;
    if !a.force && !crate::prompt::confirm(&prune_warning(&a)) {
        return Ok(());
    }
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    // As `container prune`: a running build keeps its working containers.
    match engine.system_prune(&o, berth_builder::builder::prune) {
        Ok(report) => tell(&report, a.volumes, None),
        Err(f) => {
            let SystemPruneFailure { done, error } = *f;
            tell(&done, a.volumes, Some(error))
        }
    }
}

/// Each prune's heading and what it removed, up to the one that failed.
fn tell(
    r: &SystemPruneReport,
    volumes: bool,
    failed: Option<SystemPruneError<berth_builder::BuildError>>,
) -> CmdResult {
    println!("Deleted Containers");
    r.containers.iter().for_each(|id| println!("{id}"));
    if let Some(SystemPruneError::Containers(e)) = failed {
        return Err(exit::build(e));
    }
    println!("Deleted Images");
    r.images.iter().for_each(|p| println!("{}", p.id));
    let freed: u64 = r.images.iter().map(|p| p.size).sum();
    if freed > 0 {
        eprintln!("Total reclaimed space: {}", human_size(freed));
    }
    if let Some(SystemPruneError::Images(e)) = failed {
        return Err(exit::image(e));
    }
    if volumes {
        println!("Deleted Volumes");
        r.volumes.iter().for_each(|name| println!("{name}"));
    }
    if let Some(SystemPruneError::Volumes(e)) = failed {
        return Err(crate::commands::volume::failure(e, 125));
    }
    // As podman's: the networks no container uses go too.
    println!("Deleted Networks");
    r.networks.iter().for_each(|name| println!("{name}"));
    match failed {
        // The networks' error, the one left.
        Some(e) => Err(exit::podman(e)),
        None => Ok(()),
    }
}
