//! `image prune`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_engine::Engine;
use berth_engine::images::PruneOptions;
use berth_engine::units::human_size;
use clap::Args;

#[derive(Args)]
pub struct PruneArgs {
    /// Remove every image no container uses, not only dangling ones.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub(crate) force: bool,
    /// until=TIME|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]: only images
    /// matching every filter go.
    #[arg(long)]
    pub(crate) filter: Vec<String>,
}

pub fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    let warning = if a.all {
        "WARNING! This command removes all images without at least one container associated with them."
    } else {
        "WARNING! This command removes all dangling images."
    };
    if !a.force && !crate::prompt::confirm(warning) {
        return Ok(());
    }
    prune_images(store_args, a.all, a.filter)
}

/// Removes dangling images (with `all`, every image no container uses) that
/// pass `filters`, printing each.
pub fn prune_images(store_args: &StoreArgs, all: bool, filters: Vec<String>) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let pruned = engine
        .images()
        .prune(&PruneOptions { all, filters })
        .map_err(exit::image)?;
    for p in &pruned {
        println!("{}", p.id);
    }
    let freed: u64 = pruned.iter().map(|p| p.size).sum();
    if freed > 0 {
        eprintln!("Total reclaimed space: {}", human_size(freed));
    }
    Ok(())
}
