//! start, stop, kill, restart, pause/unpause, wait, rm, rename, container prune, attach, and the hidden `__monitor`.

use crate::commands::StoreArgs;
use crate::commands::container::each;
use crate::commands::container::fail;
use crate::commands::container::run::monitor_argv;
use crate::commands::container::{Latest, found_targets, one, targets};
use crate::commands::ids_from_files;
use crate::exit::{self, CmdResult, Failure};
use berth_engine::container;
use berth_engine::lifecycle::{self};
use berth_engine::targets::AllOf;
use clap::Args;

#[derive(Args)]
pub struct StartArgs {
    /// Attach to the container's output (and with -i, its input).
    #[arg(short, long)]
    pub(crate) attach: bool,
    /// With --attach: send stdin too.
    #[arg(short, long)]
    pub(crate) interactive: bool,
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub(crate) detach_keys: String,
    /// With --attach: pass the signals this command gets on to the container.
    #[arg(long, default_value = "true")]
    pub(crate) sig_proxy: bool,
    /// Start every container that is not running.
    #[arg(long, conflicts_with = "attach")]
    pub(crate) all: bool,
    /// Only containers that pass these (ps's keys, and restart-policy=).
    #[arg(short, long)]
    pub(crate) filter: Vec<String>,
    #[command(flatten)]
    pub(crate) latest: Latest,
    #[arg(required_unless_present_any = ["all", "latest"])]
    pub(crate) names: Vec<String>,
}

/// The containers run under monitors, started from this binary's read-only
/// image (`monitor_argv`): this process forks none itself.
pub fn start(store_args: &StoreArgs, a: StartArgs) -> Result<i32, Failure> {
    let store = store_args.open()?;
    if a.all && !a.names.is_empty() {
        return Err(exit::podman(
            "either start all containers or the container(s) provided in the arguments",
        ));
    }
    let names = found_targets(
        &store,
        a.all.then_some(AllOf::NotRunning),
        &a.latest,
        &a.names,
        false,
    )?;
    if a.attach {
        let [name] = names.as_slice() else {
            return Err(exit::podman("start --attach takes one container"));
        };
        // 125 for any failure, as podman's start answers (run's 126/127 are
        // for the command run in the foreground).
        let (info, conn) =
            lifecycle::start_attached(&store, name, &|id| monitor_argv(store_args, id))
                .map_err(exit::podman)?;
        let keys = berth_engine::attach::detach_keys(&a.detach_keys).map_err(exit::podman)?;
        let stdin = a.interactive && info.config.process.interactive;
        return crate::attach::session(&store, &info, conn, stdin, &keys, a.sig_proxy);
    }
    // Only those that pass every --filter (ps's keys, restart-policy too).
    let names = berth_engine::targets::matching(&store, names, &a.filter).map_err(fail)?;
    each(&names, |n| {
        // podman's start answers 125 for any failure, a missing command included
        // (run's 126/127 are for the command run in the foreground).
        lifecycle::start(&store, n, &|id| monitor_argv(store_args, id)).map_err(exit::podman)?;
        println!("{n}");
        Ok(())
    })
    .map(|()| 0)
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container (default: its --stop-timeout, else 10).
    #[arg(short = 't', long = "time", visible_alias = "timeout")]
    pub(crate) time: Option<u64>,
    /// Every running container (with restart: every container).
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Pass over containers that do not exist.
    #[arg(short, long)]
    pub(crate) ignore: bool,
    /// The container whose ID this file holds (`run --cidfile`).
    #[arg(long)]
    pub(crate) cidfile: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub(crate) latest: Latest,
    #[arg(required_unless_present_any = ["all", "cidfile", "latest"])]
    pub(crate) names: Vec<String>,
}

pub fn stop(store_args: &StoreArgs, a: StopArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut names = found_targets(
        &store,
        a.all.then_some(AllOf::Running),
        &a.latest,
        &a.names,
        a.ignore,
    )?;
    names.extend(ids_from_files(&a.cidfile, a.ignore, "CIDFile")?);
    each(&names, |n| {
        match lifecycle::stop_reporting(&store, n, a.time) {
            Err(berth_engine::Error::NoSuchContainer(_)) if a.ignore => return Ok(()),
            Ok((_, Some(warning))) => eprintln!("WARN {warning}"),
            r => {
                r.map_err(fail)?;
            }
        };
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send (name or number).
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub(crate) signal: String,
    /// Every running container.
    #[arg(short, long)]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) latest: Latest,
    #[arg(required_unless_present_any = ["all", "latest"])]
    pub(crate) names: Vec<String>,
}

pub fn kill(store_args: &StoreArgs, a: KillArgs) -> CmdResult {
    let store = store_args.open()?;
    // The signal is judged before the containers, as podman does.
    lifecycle::parse_kill_signal(&a.signal).map_err(fail)?;
    let names = found_targets(
        &store,
        a.all.then_some(AllOf::Running),
        &a.latest,
        &a.names,
        false,
    )?;
    each(&names, |n| {
        lifecycle::kill(&store, n, &a.signal).map_err(fail)?;
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct RmArgs {
    /// Remove running containers too (killing them).
    #[arg(short, long)]
    pub(crate) force: bool,
    /// Remove every container.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Remove the containers' anonymous volumes too.
    #[arg(short, long)]
    pub(crate) volumes: bool,
    /// With -f: seconds between a running container's stop signal and SIGKILL
    /// (default 0: it is killed at once, as docker's rm -f does).
    #[arg(short = 't', long = "time", default_value_t = 0)]
    pub(crate) time: u64,
    /// A container that does not exist is not an error.
    #[arg(short, long)]
    pub(crate) ignore: bool,
    /// Remove the containers that depend on it (--network container:) first.
    #[arg(long)]
    pub(crate) depend: bool,
    #[command(flatten)]
    pub(crate) latest: Latest,
    /// The container whose ID this file holds (`run --cidfile`).
    #[arg(long)]
    pub(crate) cidfile: Vec<std::path::PathBuf>,
    #[arg(required_unless_present_any = ["all", "latest", "cidfile"])]
    pub(crate) names: Vec<String>,
}

pub fn rm(store_args: &StoreArgs, a: RmArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut names = targets(&store, a.all.then_some(AllOf::Every), &a.latest, &a.names)
        // podman's rm: 1 when there is no container to remove.
        .map_err(|e| exit::usage(1, e.message))?;
    names.extend(ids_from_files(&a.cidfile, a.ignore, "CIDFile")?);
    let o = lifecycle::RemoveOptions {
        force: a.force,
        time: a.time,
        volumes: a.volumes,
        // --all takes pods' infra containers too, after the containers that
        // join them (and so the pods).
        depend: a.depend || a.all,
        // With -a, one that went meanwhile (a --rm container its monitor
        // removed) is as good as removed; with -f, as with podman, one that
        // is not there.
        ignore: a.ignore || a.all || a.force,
    };
    let engine = berth_engine::Engine::with_store(store.clone());
    each(&names, |n| {
        let removed = engine
            .containers()
            .remove_with(n, &o)
            .map_err(|e| match e {
                // podman's rm: 1 for a container that does not exist.
                berth_engine::Error::NoSuchContainer(_) => exit::usage(1, e),
                e => fail(e),
            })?;
        for info in &removed {
            let named = !a.all && !a.depend;
            println!("{}", if named { n } else { &info.id });
        }
        Ok(())
    })
}

#[derive(Args)]
pub struct WaitArgs {
    /// A state to wait for: stopped/exited (default), running, paused, created
    /// (repeatable: any of them).
    #[arg(long)]
    pub(crate) condition: Vec<String>,
    /// How often to look, as a duration (default 250ms).
    #[arg(short, long, default_value = "250ms")]
    pub(crate) interval: String,
    /// A container that is not there (or goes while waited for) answers -1.
    #[arg(long)]
    pub(crate) ignore: bool,
    #[command(flatten)]
    pub(crate) latest: Latest,
    #[arg(required_unless_present = "latest")]
    pub(crate) names: Vec<String>,
}

pub fn wait(store_args: &StoreArgs, a: WaitArgs) -> CmdResult {
    let store = store_args.open()?;
    let conditions = a
        .condition
        .iter()
        .flat_map(|c| c.split(','))
        .map(str::parse)
        .collect::<Result<Vec<lifecycle::WaitCondition>, _>>()
        .map_err(fail)?;
    let interval = lifecycle::wait_interval(&a.interval).map_err(exit::podman)?;
    // Not looked for first: a removed container's recorded exit is still
    // its answer.
    let names = targets(&store, None, &a.latest, &a.names)?;
    each(&names, |n| {
        let code = match lifecycle::wait_for(&store, n, &conditions, interval) {
            Err(berth_engine::Error::NoSuchContainer(_)) if a.ignore => -1,
            r => r.map_err(fail)?,
        };
        println!("{code}");
        Ok(())
    })
}

#[derive(Args)]
pub struct PauseArgs {
    /// Every running (to pause) or paused (to unpause) container.
    #[arg(short, long)]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) latest: Latest,
    #[arg(required_unless_present_any = ["all", "latest"])]
    pub(crate) names: Vec<String>,
}

pub fn pause(store_args: &StoreArgs, a: PauseArgs, pause: bool) -> CmdResult {
    let store = store_args.open()?;
    let want = if pause {
        container::Status::Running
    } else {
        container::Status::Paused
    };
    let names = found_targets(
        &store,
        a.all.then_some(AllOf::InState(want)),
        &a.latest,
        &a.names,
        false,
    )?;
    // podman's: the name as given, the ID of one found by --all or --latest.
    let named = !a.all && !a.latest.latest;
    each(&names, |n| {
        let i = lifecycle::set_paused(&store, n, pause).map_err(fail)?;
        println!("{}", if named { n } else { &i.id });
        Ok(())
    })
}

pub fn restart(store_args: &StoreArgs, a: StopArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = found_targets(
        &store,
        a.all.then_some(AllOf::Every),
        &a.latest,
        &a.names,
        a.ignore,
    )?;
    each(&names, |n| {
        let i = lifecycle::restart(&store, n, a.time, &|id| monitor_argv(store_args, id))
            .map_err(fail)?;
        let named = !a.all && !a.latest.latest;
        println!("{}", if named { n } else { &i.id });
        Ok(())
    })
}

#[derive(Args)]
pub struct RenameArgs {
    pub(crate) container: String,
    pub(crate) name: String,
}

pub fn rename(store_args: &StoreArgs, a: RenameArgs) -> CmdResult {
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    engine
        .containers()
        .rename(&a.container, &a.name)
        .map_err(exit::podman)
}

#[derive(Args)]
pub struct AttachArgs {
    /// Keys that detach (default ctrl-p,ctrl-q).
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    pub(crate) detach_keys: String,
    /// Do not send stdin to the container.
    #[arg(long)]
    pub(crate) no_stdin: bool,
    /// Pass the signals this command gets on to the container.
    #[arg(long, default_value = "true")]
    pub(crate) sig_proxy: bool,
    #[command(flatten)]
    pub(crate) latest: Latest,
    #[arg(required_unless_present = "latest", conflicts_with = "latest")]
    pub(crate) name: Option<String>,
}

/// Attaches to a running container: its exit code when it ends, 0 on detach.
pub fn attach(store_args: &StoreArgs, a: AttachArgs) -> Result<i32, Failure> {
    let store = store_args.open()?;
    let mut names = a.name.into_iter().collect();
    let name = one(&store, &a.latest, &mut names, "attach requires a container")?;
    // A bad key is told after what is wrong with the container, and before
    // connecting: a client that leaves at once would end the input of a
    // container whose stdin is once (StdinOnce).
    let keys = match berth_engine::attach::detach_keys(&a.detach_keys) {
        Ok(keys) => keys,
        Err(e) => {
            berth_engine::targets::attachable(&store, &name).map_err(exit::podman)?;
            return Err(exit::podman(e));
        }
    };
    let (i, conn) = berth_engine::attach::attach(&store, &name).map_err(exit::podman)?;
    let stdin = i.config.process.interactive && !a.no_stdin;
    crate::attach::session(&store, &i, conn, stdin, &keys, a.sig_proxy)
}

#[derive(Args)]
pub struct MonitorArgs {
    pub(crate) id: String,
    /// Wait for one attach client before starting the container.
    #[arg(long)]
    pub(crate) attach: bool,
}

/// `__monitor ID`: the process that holds a detached container (see
/// berth_engine::monitor).
pub fn monitor(store_args: &StoreArgs, a: MonitorArgs) -> Result<i32, Failure> {
    crate::exit::protect_self()?;
    let store = store_args.open()?;
    Ok(berth_engine::monitor::main(
        &store,
        &store_args.command(),
        &a.id,
        a.attach,
    ))
}
