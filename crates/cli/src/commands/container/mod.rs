//! podman's container commands: the shared helpers; one file per concern below.

pub mod changes;
pub mod clone;
pub mod exec;
pub mod files;
pub mod flags;
pub mod health;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod prune;
pub mod ps;
pub mod run;
pub mod spec_flags;
pub mod stats;
pub mod update;

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult, Failure};
use berth_engine::targets::AllOf;
use clap::{Args, Subcommand};

/// The container verbs podman has both at the top level and under `container`.
// Parsed once; boxing the big variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ContainerVerb {
    /// Run a command in a new container from a local image.
    Run(run::RunArgs),
    /// Create a container without starting it.
    Create(run::CreateArgs),
    /// Start containers.
    Start(lifecycle::StartArgs),
    /// Attach to a running container's output and input.
    Attach(lifecycle::AttachArgs),
    /// Stop running containers (SIGTERM, then SIGKILL after a timeout).
    Stop(lifecycle::StopArgs),
    /// Send a signal to running containers.
    Kill(lifecycle::KillArgs),
    /// Remove containers.
    Rm(lifecycle::RmArgs),
    /// Wait for containers to exit and print their exit codes.
    Wait(lifecycle::WaitArgs),
    /// Print a container's log.
    Logs(logs::LogsArgs),
    /// Run a process in a running container.
    Exec(exec::ExecArgs),
    /// Create an image from a container's changes.
    Commit(changes::CommitArgs),
    /// Copy files between a container and the host.
    Cp(files::CpArgs),
    /// Write a container's filesystem as a tar archive.
    Export(changes::ExportArgs),
    /// Freeze the processes of running containers.
    Pause(lifecycle::PauseArgs),
    /// Thaw paused containers.
    Unpause(lifecycle::PauseArgs),
    /// Show a container's processes.
    Top(stats::TopArgs),
    /// Stop and start containers again.
    Restart(lifecycle::StopArgs),
    /// Mount containers' root filesystems and print where.
    Mount(files::MountArgs),
    /// Unmount containers' root filesystems.
    #[command(alias = "unmount")]
    Umount(files::UmountArgs),
    /// List a container's published ports.
    Port(stats::PortArgs),
    /// Give a container a new name.
    Rename(lifecycle::RenameArgs),
    /// List what a container changed over its image.
    Diff(changes::DiffArgs),
    /// Show running containers' resource use.
    Stats(stats::StatsArgs),
    /// Change a container's resource limits (at once when it runs).
    Update(update::UpdateArgs),
}

impl ContainerVerb {
    pub fn run(self, store: &StoreArgs) -> CmdResult {
        use exit::exit_with;
        match self {
            Self::Run(a) => exit_with(run::run(store, a)),
            Self::Create(a) => exit_with(run::create(store, a)),
            Self::Start(a) => exit_with(lifecycle::start(store, a)),
            Self::Attach(a) => exit_with(lifecycle::attach(store, a)),
            Self::Stop(a) => lifecycle::stop(store, a),
            Self::Kill(a) => lifecycle::kill(store, a),
            Self::Rm(a) => lifecycle::rm(store, a),
            Self::Wait(a) => lifecycle::wait(store, a),
            Self::Logs(a) => logs::logs(store, a),
            Self::Exec(a) => exit_with(exec::exec(store, a)),
            Self::Commit(a) => changes::commit(store, a),
            Self::Cp(a) => files::cp(store, a),
            Self::Export(a) => changes::export(store, a),
            Self::Pause(a) => lifecycle::pause(store, a, true),
            Self::Unpause(a) => lifecycle::pause(store, a, false),
            Self::Top(a) => stats::top(store, a),
            Self::Restart(a) => lifecycle::restart(store, a),
            Self::Mount(a) => files::mount(store, a),
            Self::Umount(a) => files::umount(store, a),
            Self::Port(a) => stats::port(store, a),
            Self::Rename(a) => lifecycle::rename(store, a),
            Self::Diff(a) => changes::diff(store, a),
            Self::Stats(a) => stats::stats(store, a),
            Self::Update(a) => update::update(store, a),
        }
    }
}

pub(crate) fn fail(e: berth_engine::Error) -> Failure {
    crate::exit::engine(e)
}

/// Runs `f` on each name; errors are printed as they come, and the last one's
/// code is the exit code (podman goes on with the other names).
pub(crate) fn each(names: &[String], mut f: impl FnMut(&str) -> Result<(), Failure>) -> CmdResult {
    let mut last = None;
    for n in names {
        if let Err(e) = f(n) {
            eprintln!("Error: {}", e.message);
            last = Some(e.code);
        }
    }
    match last {
        Some(code) => Err(exit::silent(code)),
        None => Ok(()),
    }
}

#[derive(Args)]
pub struct NamesArgs {
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
}

/// podman's `--latest`, on the commands that act on containers.
#[derive(Args)]
pub struct Latest {
    /// Act on the container created last (instead of naming one).
    #[arg(short, long)]
    pub(crate) latest: bool,
}

/// The containers a command acts on: those named, or with `--all` (`all`
/// says of which kind) the engine's choice, by ID; with `--latest` the one
/// created last.
pub(crate) fn targets(
    store: &berth_storage::Store,
    all: Option<AllOf>,
    latest: &Latest,
    names: &[String],
) -> Result<Vec<String>, Failure> {
    berth_engine::targets::targets(store, all, latest.latest, names).map_err(fail)
}

/// [`targets`], every one of them looked for first (`ignore`: the missing
/// ones passed over), as podman's stop, kill, start, pause, restart and wait.
pub(crate) fn found_targets(
    store: &berth_storage::Store,
    all: Option<AllOf>,
    latest: &Latest,
    names: &[String],
    ignore: bool,
) -> Result<Vec<String>, Failure> {
    let names = targets(store, all, latest, names)?;
    berth_engine::targets::existing(store, names, ignore).map_err(fail)
}

/// The container a command on one container acts on: with `--latest` the one
/// created last, else the first of `args`, taken off them (`missing` says
/// what podman says when there is neither).
pub(crate) fn one(
    store: &berth_storage::Store,
    latest: &Latest,
    args: &mut Vec<String>,
    missing: &str,
) -> Result<String, Failure> {
    if latest.latest {
        return berth_engine::targets::latest_id(store).map_err(fail);
    }
    if args.is_empty() {
        return Err(exit::podman(missing));
    }
    Ok(args.remove(0))
}
