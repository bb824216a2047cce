//! `pod …`: podman's pods over the engine's; one file per larger command.

mod create;
mod ps;

use crate::commands::container::each;
use crate::commands::container::run::monitor_argv;
use crate::commands::{StoreArgs, ids_from_files};
use crate::exit::{self, CmdResult, Failure};
use berth_engine::Pods;
use berth_engine::pods::Pod;
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Args)]
pub struct PodArgs {
    #[command(subcommand)]
    command: PodCommand,
}

// Parsed once; boxing the big variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum PodCommand {
    /// Create a pod (and its infra container).
    Create(create::CreateArgs),
    /// Make a pod as another was made, with a clone of each of its containers.
    Clone(create::CloneArgs),
    /// Start pods: the infra container, then the others.
    Start(NamesArgs),
    /// Stop pods: their containers, then the infra container.
    Stop(StopArgs),
    /// Stop and start pods again.
    Restart(StopArgs),
    /// Send a signal to the containers of pods.
    Kill(KillArgs),
    /// Freeze the containers of pods.
    Pause(NamesArgs),
    /// Thaw the containers of pods.
    Unpause(NamesArgs),
    /// Remove pods and their containers.
    Rm(RmArgs),
    /// List pods.
    #[command(alias = "ls", alias = "list")]
    Ps(ps::PsArgs),
    /// Show pods' configuration and state.
    Inspect(InspectArgs),
    /// Exit 0 when the pod exists, 1 when not.
    Exists(ExistsArgs),
    /// Remove every pod none of whose containers runs.
    Prune(PruneArgs),
    /// Show the processes of a pod's containers.
    Top(TopArgs),
    /// Show what the containers of pods use (CPU, memory, network, PIDs).
    Stats(crate::commands::container::stats::PodStatsArgs),
    /// Print the logs of a pod's containers (each line after its container's ID).
    Logs(LogsArgs),
}

#[derive(Args)]
struct LogsArgs {
    /// Only this container of the pod.
    #[arg(short, long)]
    container: Option<String>,
    #[arg(short, long)]
    follow: bool,
    #[arg(long)]
    tail: Option<i64>,
    #[arg(short, long)]
    timestamps: bool,
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    until: Option<String>,
    /// With several containers: prefix lines with names, not IDs.
    #[arg(short, long)]
    names: bool,
    pod: String,
}

#[derive(Args)]
struct TopArgs {
    name: String,
    /// Format descriptors (podman's default set when none).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    descriptors: Vec<String>,
}

#[derive(Args)]
struct NamesArgs {
    #[arg(short, long)]
    all: bool,
    /// The pod whose ID this file holds (`pod create --pod-id-file`).
    #[arg(long)]
    pod_id_file: Vec<PathBuf>,
    names: Vec<String>,
}

#[derive(Args)]
struct StopArgs {
    #[arg(short, long)]
    all: bool,
    /// Seconds to wait before SIGKILL.
    #[arg(short, long)]
    time: Option<u64>,
    #[arg(short, long)]
    ignore: bool,
    /// The pod whose ID this file holds (`pod create --pod-id-file`).
    #[arg(long)]
    pod_id_file: Vec<PathBuf>,
    names: Vec<String>,
}

#[derive(Args)]
struct KillArgs {
    #[arg(short, long)]
    all: bool,
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    names: Vec<String>,
}

#[derive(Args)]
struct RmArgs {
    #[arg(short, long)]
    all: bool,
    /// Stop running containers first.
    #[arg(short, long)]
    force: bool,
    #[arg(short, long)]
    ignore: bool,
    /// Seconds to wait before SIGKILL (with --force).
    #[arg(short, long, default_value_t = 10)]
    time: u64,
    /// The pod whose ID this file holds (`pod create --pod-id-file`).
    #[arg(long)]
    pod_id_file: Vec<PathBuf>,
    names: Vec<String>,
}

#[derive(Args)]
struct InspectArgs {
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
struct ExistsArgs {
    name: String,
}

#[derive(Args)]
struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
}

/// podman's pod commands answer 125 for a member that cannot start (its
/// command missing, say), where `run` says 126/127.
fn fail(e: berth_engine::Error) -> Failure {
    match e {
        berth_engine::Error::Run(_) => exit::podman(e),
        e => exit::engine(e),
    }
}

/// The pods a command acts on: those named and those `--pod-id-file`s
/// name, or with `--all` every one.
fn targets(
    pods: &Pods,
    all: bool,
    names: &[String],
    (files, ignore): (&[PathBuf], bool),
) -> Result<Vec<String>, Failure> {
    if all {
        return Ok(pods.list().into_iter().map(|p| p.id).collect());
    }
    let mut v = names.to_vec();
    v.extend(ids_from_files(files, ignore, "pod ID file")?);
    Ok(v)
}

pub fn run(store_args: &StoreArgs, a: PodArgs) -> CmdResult {
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    let pods = engine.pods();
    let argv = |id: &str| monitor_argv(store_args, id);
    let each_pod = |all: bool,
                    names: &[String],
                    files: &[PathBuf],
                    f: &dyn Fn(&str) -> Result<Pod, berth_engine::Error>| {
        each(&targets(&pods, all, names, (files, false))?, |n| {
            println!("{}", f(n).map_err(fail)?.id);
            Ok(())
        })
    };
    match a.command {
        PodCommand::Create(c) => create::create(&pods, c),
        PodCommand::Clone(c) => create::clone(&pods, c, &argv),
        PodCommand::Start(n) => {
            each_pod(n.all, &n.names, &n.pod_id_file, &|p| pods.start(p, &argv))
        }
        PodCommand::Stop(s) => each(
            &targets(&pods, s.all, &s.names, (&s.pod_id_file, s.ignore))?,
            |n| match pods.stop(n, s.time) {
                Err(berth_engine::Error::NoSuchPod(_)) if s.ignore => Ok(()),
                r => {
                    println!("{}", r.map_err(fail)?.id);
                    Ok(())
                }
            },
        ),
        PodCommand::Restart(s) => each_pod(s.all, &s.names, &s.pod_id_file, &|p| {
            pods.restart(p, s.time, &argv)
        }),
        PodCommand::Kill(k) => each_pod(k.all, &k.names, &[], &|p| pods.kill(p, &k.signal)),
        PodCommand::Pause(n) => each_pod(n.all, &n.names, &n.pod_id_file, &|p| {
            pods.set_paused(p, true)
        }),
        PodCommand::Unpause(n) => each_pod(n.all, &n.names, &n.pod_id_file, &|p| {
            pods.set_paused(p, false)
        }),
        PodCommand::Rm(r) => each(
            &targets(&pods, r.all, &r.names, (&r.pod_id_file, r.ignore))?,
            |n| {
                match pods.remove(n, r.force, r.time) {
                    // As rm -f: a pod that is not there is gone already.
                    Err(berth_engine::Error::NoSuchPod(_)) if r.ignore || r.all || r.force => {
                        Ok(())
                    }
                    // podman's pod rm: 1 for a pod that does not exist.
                    Err(e @ berth_engine::Error::NoSuchPod(_)) => Err(exit::usage(1, e)),
                    res => {
                        println!("{}", res.map_err(fail)?.id);
                        Ok(())
                    }
                }
            },
        ),
        PodCommand::Ps(p) => ps::ps(&pods, p),
        PodCommand::Stats(a) => crate::commands::container::stats::pod_stats(store_args, a),
        PodCommand::Inspect(i) => {
            let mut values = Vec::new();
            for n in &i.names {
                let pod = pods.find(n).map_err(fail)?;
                values.push(crate::output::value(pods.inspect(&pod)));
            }
            // One pod: podman 4 prints the object itself.
            let v = match values.len() {
                1 => values.remove(0),
                _ => Value::Array(values),
            };
            crate::output::print_doc(&v, i.format.as_deref())
        }
        PodCommand::Logs(l) => {
            let containers = pods.log_targets(&l.pod, l.container).map_err(fail)?;
            let a = crate::commands::container::logs::LogsArgs {
                follow: l.follow,
                tail: l.tail,
                timestamps: l.timestamps,
                since: l.since,
                until: l.until,
                names: l.names,
                latest: crate::commands::container::Latest { latest: false },
                containers,
            };
            crate::commands::container::logs::logs(store_args, a)
        }
        PodCommand::Top(t) => {
            let rows = pods.top(&t.name, &t.descriptors).map_err(fail)?;
            print!("{}", crate::output::table::render(&rows));
            Ok(())
        }
        PodCommand::Exists(e) => match pods.find(&e.name) {
            Ok(_) => Ok(()),
            Err(_) => Err(exit::silent(1)),
        },
        PodCommand::Prune(a) => {
            if !a.force
                && !crate::prompt::confirm("WARNING! This will remove all stopped/exited pods..")
            {
                return Ok(());
            }
            let (gone, failed) = pods.prune();
            gone.iter().for_each(|id| println!("{id}"));
            failed.map_or(Ok(()), |e| Err(fail(e)))
        }
    }
}
