//! `pod …`: podman's pods over the engine's.

use crate::commands::StoreArgs;
use crate::commands::container::each;
use crate::commands::container::run::monitor_argv;
use crate::exit::{self, CmdResult, Failure};
use crate::output::{print_rows, print_value};
use berth_engine::container::{human_duration, now_ns};
use berth_engine::pods::{self, Pod, PodCreate};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

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
    Create(CreateArgs),
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
    Ps(PsArgs),
    /// Show pods' configuration and state.
    Inspect(InspectArgs),
    /// Exit 0 when the pod exists, 1 when not.
    Exists(ExistsArgs),
    /// Remove every pod none of whose containers runs.
    Prune(PruneArgs),
    /// Show the processes of a pod's containers.
    Top(TopArgs),
}

#[derive(Args)]
struct TopArgs {
    name: String,
    /// Format descriptors (podman's default set when none).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    descriptors: Vec<String>,
}

#[derive(Args)]
struct CreateArgs {
    #[arg(short, long)]
    name: Option<String>,
    /// Whether the pod has an infra container holding its shared namespaces.
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true")]
    infra: bool,
    #[arg(long)]
    infra_image: Option<String>,
    #[arg(long)]
    infra_name: Option<String>,
    /// The infra container's command (a JSON array or words).
    #[arg(long)]
    infra_command: Option<String>,
    /// Namespaces the containers share: cgroup, ipc, net, pid, uts (+LIST adds to
    /// the default cgroup,ipc,net,uts; none: nothing).
    #[arg(long)]
    share: Option<String>,
    #[arg(long)]
    hostname: Option<String>,
    #[arg(short, long)]
    label: Vec<String>,
    #[arg(long)]
    network: Option<String>,
    /// [IP:]HOST:CONTAINER[/PROTO], published by the infra container.
    #[arg(short, long)]
    publish: Vec<String>,
    #[arg(long)]
    add_host: Vec<String>,
    #[arg(long)]
    dns: Vec<String>,
    #[arg(long)]
    dns_search: Vec<String>,
    /// continue (default) or stop: what the pod does when its last container exits.
    #[arg(long, default_value = "continue")]
    exit_policy: String,
    /// Replace a pod of the same name.
    #[arg(long)]
    replace: bool,
    /// Write the pod's ID here.
    #[arg(long)]
    pod_id_file: Option<std::path::PathBuf>,
    /// A name for the pod (podman takes it as an argument too).
    pod_name: Option<String>,
}

#[derive(Args)]
struct NamesArgs {
    #[arg(short, long)]
    all: bool,
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
    names: Vec<String>,
}

#[derive(Args)]
struct PsArgs {
    #[arg(short, long)]
    quiet: bool,
    #[arg(long)]
    no_trunc: bool,
    #[arg(long)]
    noheading: bool,
    /// json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// id=, name=, label=KEY[=VALUE], status= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
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
    /// Do not ask.
    #[arg(short, long)]
    force: bool,
}

fn fail(e: berth_engine::Error) -> Failure {
    exit::engine(e)
}

/// The pods a command acts on: those named, or with `--all` every one.
fn targets(store: &berth_storage::Store, all: bool, names: &[String]) -> Vec<String> {
    match all {
        true => pods::list(store).into_iter().map(|p| p.id).collect(),
        false => names.to_vec(),
    }
}

pub fn run(store_args: &StoreArgs, a: PodArgs) -> CmdResult {
    let store = store_args.open()?;
    let argv = |id: &str| monitor_argv(store_args, id);
    let each_pod =
        |all: bool, names: &[String], f: &dyn Fn(&str) -> Result<Pod, berth_engine::Error>| {
            each(&targets(&store, all, names), |n| {
                println!("{}", f(n).map_err(fail)?.id);
                Ok(())
            })
        };
    match a.command {
        PodCommand::Create(c) => create(&store, c),
        PodCommand::Start(n) => each_pod(n.all, &n.names, &|p| pods::start(&store, p, &argv)),
        PodCommand::Stop(s) => each(&targets(&store, s.all, &s.names), |n| {
            match pods::stop(&store, n, s.time) {
                Err(berth_engine::Error::NoSuchPod(_)) if s.ignore => Ok(()),
                r => {
                    println!("{}", r.map_err(fail)?.id);
                    Ok(())
                }
            }
        }),
        PodCommand::Restart(s) => each_pod(s.all, &s.names, &|p| {
            pods::stop(&store, p, s.time)?;
            pods::start(&store, p, &argv)
        }),
        PodCommand::Kill(k) => each_pod(k.all, &k.names, &|p| pods::kill(&store, p, &k.signal)),
        PodCommand::Pause(n) => each_pod(n.all, &n.names, &|p| pods::set_paused(&store, p, true)),
        PodCommand::Unpause(n) => {
            each_pod(n.all, &n.names, &|p| pods::set_paused(&store, p, false))
        }
        PodCommand::Rm(r) => each(&targets(&store, r.all, &r.names), |n| {
            match pods::remove(&store, n, r.force, r.time) {
                // As rm -f: a pod that is not there is gone already.
                Err(berth_engine::Error::NoSuchPod(_)) if r.ignore || r.all || r.force => Ok(()),
                // podman's pod rm: 1 for a pod that does not exist.
                Err(e @ berth_engine::Error::NoSuchPod(_)) => Err(exit::usage(1, e)),
                res => {
                    println!("{}", res.map_err(fail)?.id);
                    Ok(())
                }
            }
        }),
        PodCommand::Ps(p) => ps(&store, p),
        PodCommand::Inspect(i) => {
            let mut values = Vec::new();
            for n in &i.names {
                let pod = pods::find(&store, n).map_err(fail)?;
                values.push(serde_json::to_value(pods::inspect(&store, &pod)).expect("json"));
            }
            // One pod: podman 4 prints the object itself.
            let v = match values.len() {
                1 => values.remove(0),
                _ => Value::Array(values),
            };
            print_value(&v, i.format.as_deref())
        }
        PodCommand::Top(t) => {
            let rows = pods::top(&store, &t.name, &t.descriptors).map_err(fail)?;
            print!("{}", crate::output::table::render(&rows));
            Ok(())
        }
        PodCommand::Exists(e) => match pods::find(&store, &e.name) {
            Ok(_) => Ok(()),
            Err(_) => Err(exit::silent(1)),
        },
        PodCommand::Prune(_) => {
            for p in pods::list(&store) {
                let members = pods::members(&store, &p);
                if matches!(pods::status(&members), "Exited" | "Created") {
                    println!("{}", pods::remove(&store, &p.id, true, 0).map_err(fail)?.id);
                }
            }
            Ok(())
        }
    }
}

fn create(store: &std::sync::Arc<berth_storage::Store>, c: CreateArgs) -> CmdResult {
    let ports = c
        .publish
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<_>, _>>()
        .map_err(exit::podman)?;
    let infra_command = c
        .infra_command
        .as_deref()
        .map(|s| match s.trim_start().starts_with('[') {
            true => serde_json::from_str(s).map_err(exit::podman),
            false => Ok(s.split_whitespace().map(String::from).collect()),
        })
        .transpose()?;
    let o = PodCreate {
        name: c.name.or(c.pod_name),
        infra: c.infra,
        infra_image: c.infra_image,
        infra_name: c.infra_name,
        infra_command,
        share: c.share,
        hostname: c.hostname,
        labels: c.label,
        network: c
            .network
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(exit::podman)?,
        ports,
        add_hosts: c.add_host,
        dns: c.dns,
        dns_search: c.dns_search,
        exit_policy: c.exit_policy.parse().map_err(fail)?,
        replace: c.replace,
    };
    let pod = pods::create(store, &o).map_err(fail)?;
    if let Some(f) = &c.pod_id_file {
        std::fs::write(f, &pod.id)
            .map_err(|e| exit::podman(format!("--pod-id-file {}: {e}", f.display())))?;
    }
    println!("{}", pod.id);
    Ok(())
}

fn ps(store: &berth_storage::Store, a: PsArgs) -> CmdResult {
    let list = pods::ps(store, &a.filter).map_err(fail)?;
    let short = |s: &str| match a.no_trunc {
        true => s.to_string(),
        false => s.chars().take(12).collect(),
    };
    if a.quiet {
        for p in &list {
            println!("{}", short(&p.id));
        }
        return Ok(());
    }
    let now = now_ns();
    let rows: Vec<Value> = list
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).expect("json");
            // Template fields as podman's table shows them.
            v["ID"] = json!(short(&p.id));
            v["InfraID"] = json!(short(&p.infra_id));
            v["NumberOfContainers"] = json!(p.containers.len());
            let ago = human_duration(now.saturating_sub(p.created_ns));
            v["CreatedHuman"] = json!(format!("{ago} ago"));
            v
        })
        .collect();
    if let Some(f) = &a.format {
        return print_rows(&rows, f);
    }
    let head = [
        "POD ID",
        "NAME",
        "STATUS",
        "CREATED",
        "INFRA ID",
        "# OF CONTAINERS",
    ];
    let mut table = vec![head.map(String::from).to_vec()];
    for r in &rows {
        let cell = |k: &str| match &r[k] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let keys = [
            "ID",
            "Name",
            "Status",
            "CreatedHuman",
            "InfraID",
            "NumberOfContainers",
        ];
        table.push(keys.map(cell).to_vec());
    }
    crate::output::table::print(&table, !a.noheading);
    Ok(())
}
