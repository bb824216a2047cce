//! `system reset` and `system migrate` (podman's).

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use clap::Args;

#[derive(Args)]
pub struct ResetArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
}

#[derive(Args)]
pub struct MigrateArgs {
    /// Accepted for podman's scripts; berth's containers need no new runtime.
    #[arg(long)]
    new_runtime: Option<String>,
}

const WARNING: &str = "WARNING! This will remove:
        - all containers
        - all pods
        - all images
        - all networks
        - all build cache
        - all machines
        - all volumes";

/// The rootless user's run directory (its pause process's), if rootless.
fn rootless_run_dir() -> Option<std::path::PathBuf> {
    berth_runtime::userns::rootless_uid().map(berth_runtime::userns::default_run_dir)
}

pub fn reset(store_args: &StoreArgs, a: ResetArgs) -> CmdResult {
    if !a.force && !crate::prompt::confirm(WARNING) {
        return Ok(());
    }
    let store = store_args.open()?;
    // The user's namespace goes too (it lives on while this process is in it):
    // the next command makes it afresh.
    if let Some(dir) = rootless_run_dir() {
        berth_runtime::userns::stop_pause(&dir).map_err(exit::podman)?;
    }
    let extra: Vec<_> = rootless_run_dir().into_iter().collect();
    berth_engine::system::reset(&store, &extra).map_err(exit::engine)
}

/// Rootless: the pause process ends, so the next command makes the user's
/// namespace with what /etc/subuid and /etc/subgid say now.
pub fn migrate(_store_args: &StoreArgs, _a: MigrateArgs) -> CmdResult {
    if let Some(dir) = rootless_run_dir() {
        berth_runtime::userns::stop_pause(&dir).map_err(exit::podman)?;
    }
    Ok(())
}
