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
    /// Set an environment variable (KEY=VALUE; a bare KEY passes this
    /// process's value on).
    #[arg(short, long = "env")]
    pub(crate) env: Vec<String>,
    /// Read environment variables from a file (a KEY=VALUE a line).
    #[arg(long)]
    pub(crate) env_file: Vec<std::path::PathBuf>,
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
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    /// CONTAINER (unless --latest), then the command and its arguments. As
    /// podman reads them, berth's own flags end at CONTAINER (or the
    /// command): what follows is the command's (`exec C ls -l`).
    #[arg(value_names = ["CONTAINER", "COMMAND"], required = true, trailing_var_arg = true)]
    pub(crate) name_and_command: Vec<String>,
}

/// Returns the process's exit code.
pub fn exec(store_args: &StoreArgs, a: ExecArgs) -> Result<i32, Failure> {
    crate::exit::protect_self()?;
    let store = store_args.open()?;
    let mut words = a.name_and_command;
    let name = super::one(
        &store,
        &a.latest,
        &mut words,
        "exec requires the name or ID of a container or the --latest flag",
    )?;
    let env =
        berth_engine::env::from_command_line(&a.env_file, &a.env).map_err(crate::exit::podman)?;
    let r = lifecycle::ExecRequest {
        args: words,
        env,
        workdir: a.workdir,
        user: a.user,
        detach: a.detach,
        tty: a.tty,
        interactive: a.interactive,
        privileged: a.privileged,
    };
    lifecycle::exec(&store, &name, &r).map_err(|e| match e {
        // podman's exec exits 255 for a container it cannot exec into.
        e @ berth_engine::Error::StateImproper(_) => crate::exit::usage(255, e),
        e => fail(e),
    })
}
