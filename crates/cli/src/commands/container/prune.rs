//! `container prune`: the containers that are not running, asked first.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use clap::Args;

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub(crate) force: bool,
    /// Only containers that pass: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE].
    #[arg(long)]
    pub(crate) filter: Vec<String>,
}

pub fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    let filters = berth_engine::lifecycle::prune_filters(&a.filter).map_err(exit::podman)?;
    if !a.force && !crate::prompt::confirm("WARNING! This will remove all non running containers.")
    {
        return Ok(());
    }
    prune_containers(store_args, &filters)
}

/// The builder's prune, printing each container removed: it keeps the
/// working containers of running builds and takes the leftovers of killed ones.
pub(crate) fn prune_containers(
    store_args: &StoreArgs,
    filters: &berth_engine::prune_filters::PruneFilters,
) -> CmdResult {
    let store = store_args.open()?;
    let gone = berth_builder::builder::prune(&store, filters).map_err(crate::exit::build)?;
    for id in gone {
        println!("{id}");
    }
    Ok(())
}
