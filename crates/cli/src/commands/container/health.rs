//! `healthcheck run`.

use crate::commands::StoreArgs;
use crate::commands::container::inspect::ExistsArgs;
use crate::exit::{self, CmdResult};
use clap::Args;

#[derive(Args)]
pub struct HealthcheckArgs {
    #[command(subcommand)]
    pub(crate) command: HealthcheckCommand,
}

#[derive(clap::Subcommand)]
pub(crate) enum HealthcheckCommand {
    /// Run a container's healthcheck now: exit 0 healthy, 1 unhealthy.
    Run(ExistsArgs),
}

pub fn healthcheck(store_args: &StoreArgs, a: HealthcheckArgs) -> CmdResult {
    let HealthcheckCommand::Run(n) = a.command;
    let store = store_args.open()?;
    let healthy = berth_engine::health::run_now(&store, &store_args.command(), &n.name);
    // Healthy says nothing, as podman's.
    if healthy.map_err(exit::podman)? {
        Ok(())
    } else {
        println!("unhealthy");
        Err(exit::silent(1))
    }
}
