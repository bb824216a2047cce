//! What runs in a container and what it uses: `top`, `port`, `stats`.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::exit::{self, CmdResult};
use crate::output::{print_rows, table};
use berth_engine::container;
use berth_engine::lifecycle::{self};
use berth_engine::stats::{self, StatsReport};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    /// CONTAINER (unless --latest), then format descriptors (podman's:
    /// user,pid,ppid,pcpu,etime,tty,time,args by default; huser, hpid, %C …),
    /// or else ps(1) options.
    #[arg(value_names = ["CONTAINER", "DESCRIPTORS"], required_unless_present = "latest", trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
}

pub fn top(store_args: &StoreArgs, mut a: TopArgs) -> CmdResult {
    let store = store_args.open()?;
    let name = super::one(
        &store,
        &a.latest,
        &mut a.args,
        "you must provide the name or id of a running container",
    )?;
    match lifecycle::top(&store, &name, &a.args, &store_args.command()).map_err(fail)? {
        lifecycle::Top::Table(rows) => print!("{}", crate::output::table::render(&rows)),
        lifecycle::Top::Ps(text) => print!("{text}"),
    }
    Ok(())
}

#[derive(Args)]
pub struct PortArgs {
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    /// Every running container's published ports, each line after its ID.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// CONTAINER (unless --latest), then only this port, PRIVATE_PORT[/PROTO]
    /// (tcp by default): its host address and port.
    #[arg(value_names = ["CONTAINER", "PORT"], required_unless_present_any = ["latest", "all"], num_args = 1..=2)]
    pub(crate) args: Vec<String>,
}

/// `port`: the container's published ports, `80/tcp -> 127.0.0.1:8080`; with
/// a port, where that one is published, `127.0.0.1:8080`.
pub fn port(store_args: &StoreArgs, mut a: PortArgs) -> CmdResult {
    let store = store_args.open()?;
    if a.all {
        return all_ports(&store);
    }
    let name = super::one(
        &store,
        &a.latest,
        &mut a.args,
        "you must supply a running container name or id",
    )?;
    let port = match a.args.as_slice() {
        [] => None,
        [port] => Some(port),
        _ => return Err(exit::podman("`port` accepts at most 2 arguments")),
    };
    let i = container::find(&store, &name).map_err(exit::podman)?;
    if let Some(port) = port {
        for p in berth_engine::network::published_port(&store, &i, port).map_err(exit::podman)? {
            println!("{}:{}", p.host_ip, p.host_port);
        }
        return Ok(());
    }
    for p in berth_engine::network::published_ports(&store, &i) {
        println!(
            "{}/{} -> {}:{}",
            p.container_port, p.protocol, p.host_ip, p.host_port
        );
    }
    Ok(())
}

/// `port --all`: the running containers' ports, oldest container first.
fn all_ports(store: &berth_storage::Store) -> CmdResult {
    let running = berth_engine::views::ps(store, &Default::default()).map_err(exit::podman)?;
    for i in running {
        for p in berth_engine::network::published_ports(store, &i) {
            let id = &i.id[..12];
            println!(
                "{id}\t{}/{} -> {}:{}",
                p.container_port, p.protocol, p.host_ip, p.host_port
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct StatsArgs {
    /// Print once and exit (otherwise a new table every --interval seconds
    /// while the containers run).
    #[arg(long)]
    pub(crate) no_stream: bool,
    /// Seconds between two tables when streaming.
    #[arg(short, long, default_value_t = 1)]
    pub(crate) interval: u64,
    /// Every container, not only running ones.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// json, or a Go template (podman's fields: .ID .Name .CPUPerc .CPU
    /// .AVGCPU .MemUsage .MemUsageBytes .MemPerc .NetIO .BlockIO .PIDs .UpTime).
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// Do not truncate output: the containers' whole IDs.
    #[arg(long)]
    pub(crate) no_trunc: bool,
    /// Do not clear the screen between two tables.
    #[arg(long)]
    pub(crate) no_reset: bool,
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    pub(crate) names: Vec<String>,
}

fn print_stats(stats: &[StatsReport], format: Option<&str>, no_trunc: bool) -> CmdResult {
    let mut values = crate::output::values(stats);
    if no_trunc {
        for (v, s) in values.iter_mut().zip(stats) {
            v["ID"] = Value::String(s.stats.id.clone());
        }
    }
    if format == Some("json") {
        // podman's: every figure a string, indented by one space.
        let rows: Vec<stats::StatsJson> = stats.iter().map(stats::StatsJson::of).collect();
        let mut out = Vec::new();
        let indent = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, indent);
        serde::Serialize::serialize(&rows, &mut ser).map_err(exit::podman)?;
        out.push(b'\n');
        return crate::output::write_out(&out);
    }
    if let Some(f) = format {
        return print_rows(&values, f);
    }
    let columns = [
        ("ID", "ID"),
        ("NAME", "Name"),
        ("CPU %", "CPUPerc"),
        ("MEM USAGE / LIMIT", "MemUsage"),
        ("MEM %", "MemPerc"),
        ("NET IO", "NetIO"),
        ("BLOCK IO", "BlockIO"),
        ("PIDS", "PIDs"),
        ("CPU TIME", "UpTime"),
        ("AVG CPU %", "AVGCPU"),
    ];
    print!("{}", table::render(&table::of_fields(&columns, &values)));
    Ok(())
}

#[derive(Args)]
pub struct PodStatsArgs {
    /// Every pod (the default when none is named).
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Print once and exit.
    #[arg(long)]
    pub(crate) no_stream: bool,
    /// json, or a Go template (.Pod .CID .Name .CPU .MemUsage .Mem .NetIO .BlockIO .PIDS).
    #[arg(long)]
    pub(crate) format: Option<String>,
    pub(crate) pods: Vec<String>,
}

/// `pod stats`: the running containers of pods, each with its pod's ID; a
/// new table every second unless `--no-stream`, until none of them runs.
pub fn pod_stats(store_args: &StoreArgs, a: PodStatsArgs) -> CmdResult {
    let store = store_args.open()?;
    let targets = stats::pod_targets(&store, &a.pods).map_err(exit::engine)?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        let rows = crate::output::values(stats::pod_rows(&store, &targets));
        if !a.no_stream && rows.is_empty() {
            return Ok(());
        }
        if !a.no_stream && tty {
            print!("\x1b[2J\x1b[H");
        }
        print_pod_rows(&rows, a.format.as_deref())?;
        if a.no_stream {
            return Ok(());
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn print_pod_rows(rows: &[Value], format: Option<&str>) -> CmdResult {
    if let Some(f) = format {
        return print_rows(rows, f);
    }
    let columns = [
        ("POD", "Pod"),
        ("CID", "CID"),
        ("NAME", "Name"),
        ("CPU %", "CPU"),
        ("MEM USAGE/ LIMIT", "MemUsage"),
        ("MEM %", "Mem"),
        ("NET IO", "NetIO"),
        ("BLOCK IO", "BlockIO"),
        ("PIDS", "PIDS"),
    ];
    print!("{}", table::render(&table::of_fields(&columns, rows)));
    Ok(())
}

pub fn stats(store_args: &StoreArgs, a: StatsArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = super::targets(&store, None, &a.latest, &a.names)?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        let stats = stats::report(&store, &names).map_err(exit::podman)?;
        // Streaming ends when nothing it watches runs any more.
        if !a.no_stream && stats.is_empty() {
            return Ok(());
        }
        if !a.no_stream && tty && !a.no_reset {
            print!("\x1b[2J\x1b[H");
        }
        print_stats(&stats, a.format.as_deref(), a.no_trunc)?;
        if a.no_stream {
            return Ok(());
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        std::thread::sleep(std::time::Duration::from_secs(a.interval.max(1)));
    }
}
