//! `builder config`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::builder::Builder;
use berth_builder::configure::ConfigChanges;
use clap::Args;

#[derive(Args)]
pub(crate) struct ConfigArgs {
    #[arg(long)]
    pub(crate) cmd: Option<String>,
    #[arg(long)]
    pub(crate) entrypoint: Option<String>,
    /// KEY=VALUE, or KEY- to unset.
    #[arg(short, long)]
    pub(crate) env: Vec<String>,
    /// KEY=VALUE, or KEY- to remove.
    #[arg(short, long)]
    pub(crate) label: Vec<String>,
    /// PORT[/PROTO] to expose, or PORT- to stop.
    #[arg(short, long)]
    pub(crate) port: Vec<String>,
    #[arg(short, long)]
    pub(crate) user: Option<String>,
    #[arg(long)]
    pub(crate) workingdir: Option<String>,
    /// A volume path, or PATH- to remove.
    #[arg(short, long)]
    pub(crate) volume: Vec<String>,
    /// KEY=VALUE on the manifest, or KEY- to remove.
    #[arg(short, long)]
    pub(crate) annotation: Vec<String>,
    #[arg(long)]
    pub(crate) stop_signal: Option<String>,
    /// CMD ARGS..., CMD-SHELL COMMAND, or NONE.
    #[arg(long)]
    pub(crate) healthcheck: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_interval: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_timeout: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_start_period: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_retries: Option<u64>,
    /// An instruction run when the image is built on.
    #[arg(long)]
    pub(crate) onbuild: Vec<String>,
    /// The shell for shell-form commands (JSON array or words).
    #[arg(long)]
    pub(crate) shell: Option<String>,
    #[arg(long)]
    pub(crate) author: Option<String>,
    /// The history entry's "created by".
    #[arg(long)]
    pub(crate) created_by: Option<String>,
    /// The history entry's comment.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    pub(crate) container: String,
}

pub(crate) fn config(store_args: &StoreArgs, a: ConfigArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let changes = ConfigChanges {
        cmd: a.cmd,
        entrypoint: a.entrypoint,
        env: a.env,
        label: a.label,
        port: a.port,
        volume: a.volume,
        annotation: a.annotation,
        user: a.user,
        workingdir: a.workingdir,
        stop_signal: a.stop_signal,
        healthcheck: a.healthcheck,
        healthcheck_interval: a.healthcheck_interval,
        healthcheck_timeout: a.healthcheck_timeout,
        healthcheck_start_period: a.healthcheck_start_period,
        healthcheck_retries: a.healthcheck_retries,
        onbuild: a.onbuild,
        shell: a.shell,
        author: a.author,
        created_by: a.created_by,
        comment: a.comment,
    };
    b.configure(&changes).map_err(exit::build)?;
    b.save(&store).map_err(exit::build)
}
