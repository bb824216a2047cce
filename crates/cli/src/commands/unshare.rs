//! `unshare`: a command (by default the user's shell) in the rootless user's
//! namespace, where the store's files show their owners as containers see them.

use std::os::unix::process::CommandExt;

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use clap::Args;

#[derive(Args)]
pub struct UnshareArgs {
    /// The command and its arguments (default: $SHELL, else /bin/sh).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn unshare(store_args: &StoreArgs, a: UnshareArgs) -> CmdResult {
    run(store_args, a, false)
}

/// `root_too`: buildah's verb runs the command for root as it is, where podman's
/// refuses.
pub fn run(store_args: &StoreArgs, a: UnshareArgs, root_too: bool) -> CmdResult {
    // main has entered the namespace already; root has none to enter.
    if !root_too && berth_runtime::userns::rootless_uid().is_none() {
        return Err(exit::podman("please use unshare with rootless"));
    }
    let cfg = store_args.open()?.config().clone();
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
    let (prog, args) = match a.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (shell, Vec::new()),
    };
    let e = std::process::Command::new(&prog)
        .args(args)
        .env("CONTAINERS_GRAPHROOT", &cfg.graph_root)
        .env("CONTAINERS_RUNROOT", &cfg.run_root)
        .exec();
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    Err(exit::usage(code, format!("{prog}: {e}")))
}
