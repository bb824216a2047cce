//! `healthcheck run`.

use crate::commands::StoreArgs;
use crate::commands::container::inspect::ExistsArgs;
use crate::exit::{self, CmdResult};
use berth_engine::container::{self, Status};
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
    let i = container::find(&store, &n.name).map_err(exit::podman)?;
    let Some(h) = &i.config.health else {
        return Err(exit::podman(format!(
            "container {} has no defined healthcheck",
            i.id
        )));
    };
    if i.state.status != Status::Running {
        return Err(exit::podman(format!("container {} is not running", i.id)));
    }
    let mut argv = store_args.command().protected_argv();
    argv.extend(["exec".into(), i.id.clone().into()]);
    // Healthy says nothing, as podman's.
    if berth_engine::health::check(&store, &i.id, h, &argv, false) {
        Ok(())
    } else {
        println!("unhealthy");
        Err(exit::silent(1))
    }
}
