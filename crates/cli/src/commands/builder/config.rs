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
    /// The history entry's comment (buildah's name for it).
    #[arg(long)]
    pub(crate) history_comment: Option<String>,
    /// A history entry for each change made here (default: $BUILDAH_HISTORY).
    #[arg(long, env = "BUILDAH_HISTORY")]
    pub(crate) add_history: bool,
    /// The image's OS.
    #[arg(long)]
    pub(crate) os: Option<String>,
    /// The image's architecture.
    #[arg(long)]
    pub(crate) arch: Option<String>,
    /// The image's architecture variant.
    #[arg(long)]
    pub(crate) variant: Option<String>,
    /// The image's OS version.
    #[arg(long)]
    pub(crate) os_version: Option<String>,
    /// An OS feature the image needs, or FEATURE- to remove one.
    #[arg(long)]
    pub(crate) os_feature: Vec<String>,
    /// The config's hostname (kept by a docker-format commit only).
    #[arg(long)]
    pub(crate) hostname: Option<String>,
    /// The config's domain name (kept by a docker-format commit only).
    #[arg(long)]
    pub(crate) domainname: Option<String>,
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
        comment: a.history_comment.or(a.comment),
        os: a.os,
        arch: a.arch,
        variant: a.variant,
        os_version: a.os_version,
        os_feature: a.os_feature,
        hostname: a.hostname,
        domainname: a.domainname,
        add_history: a.add_history,
    };
    b.configure(&changes).map_err(exit::build)?;
    b.save(&store).map_err(exit::build)
}
