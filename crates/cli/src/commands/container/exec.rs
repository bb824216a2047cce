//! `exec`.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::exit::Failure;
use berth_engine::lifecycle::{self};
use clap::Args;

#[derive(Args)]
pub struct ExecArgs {
    /// Run in the background.
    #[arg(short, long)]
    pub(crate) detach: bool,
    /// Set an environment variable (KEY=VALUE).
    #[arg(short, long = "env")]
    pub(crate) env: Vec<String>,
    /// Working directory.
    #[arg(short, long)]
    pub(crate) workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    pub(crate) user: Option<String>,
    /// Keep stdin open (stdin is passed through as it is).
    #[arg(short, long)]
    pub(crate) interactive: bool,
    /// Give the process a terminal.
    #[arg(short, long)]
    pub(crate) tty: bool,
    /// Every capability for this process.
    #[arg(long)]
    pub(crate) privileged: bool,
    pub(crate) name: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) command: Vec<String>,
}

/// Returns the process's exit code.
pub fn exec(store_args: &StoreArgs, a: ExecArgs) -> Result<i32, Failure> {
    crate::exit::protect_self()?;
    let store = store_args.open()?;
    let r = lifecycle::ExecRequest {
        args: a.command,
        env: a.env,
        workdir: a.workdir,
        user: a.user,
        detach: a.detach,
        tty: a.tty,
        interactive: a.interactive,
        privileged: a.privileged,
    };
    lifecycle::exec(&store, &a.name, &r).map_err(fail)
}
