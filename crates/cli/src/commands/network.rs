//! `berth network`: bridge networks (netavark and aardvark-dns, or CNI plugins).

use berth_engine::network::NetworkError;
use berth_engine::{Engine, network};
use clap::{Args, Subcommand};

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::table::row;
use crate::output::{print_inspect, values};

#[derive(Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    command: NetworkCommand,
}

#[derive(Subcommand)]
pub(crate) enum NetworkCommand {
    /// Create a bridge network.
    Create(CreateArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show networks' details.
    Inspect(NamesArgs),
    /// Remove networks no container uses (with --force, their containers too).
    Rm(RmArgs),
    /// Connect a container to another network.
    Connect(ConnectArgs),
    /// Disconnect a container from a network.
    Disconnect(DisconnectArgs),
    /// Exit 0 if the network exists, 1 if not.
    Exists(NameArg),
    /// Remove the networks no container uses (the default one stays).
    Prune(PruneArgs),
}

#[derive(Args)]
pub(crate) struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Only networks that pass: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE].
    #[arg(long)]
    filter: Vec<String>,
}

#[derive(Args)]
pub(crate) struct RmArgs {
    /// Remove the containers on the network first; a missing network is no error.
    #[arg(short, long)]
    force: bool,
    /// Seconds to wait for those containers to stop before they are killed.
    #[arg(short, long, default_value_t = 10)]
    time: u64,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub(crate) struct NameArg {
    name: String,
}

#[derive(Args)]
pub(crate) struct ConnectArgs {
    /// Network-scoped alias for the container (more names on that network).
    #[arg(long, value_delimiter = ',')]
    alias: Vec<String>,
    /// A static IPv4 address for the container on this network.
    #[arg(long)]
    ip: Option<std::net::Ipv4Addr>,
    network: String,
    container: String,
}

#[derive(Args)]
pub(crate) struct DisconnectArgs {
    /// Force the container to disconnect from a network.
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

#[derive(Args)]
pub(crate) struct CreateArgs {
    /// Driver to manage the network (bridge).
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// ADDR/LEN, e.g. 10.90.0.0/24 (default: a free 10.89.N.0/24).
    #[arg(long)]
    subnet: Option<String>,
    /// The subnet's gateway (default: its first address).
    #[arg(long)]
    gateway: Option<String>,
    /// Allocate container IPs from this range (ADDR/LEN within the subnet).
    #[arg(long)]
    ip_range: Option<String>,
    /// Restrict external access from this network.
    #[arg(long)]
    internal: bool,
    /// No aardvark-dns for the network (names still come from /etc/hosts).
    #[arg(long)]
    disable_dns: bool,
    /// Enable IPv6 networking (not supported: berth's networks are IPv4).
    #[arg(long)]
    ipv6: bool,
    /// Set metadata on the network (KEY=VALUE).
    #[arg(long)]
    label: Vec<String>,
    /// Set driver specific options: mtu=N, isolate=BOOL (vlan=N with netavark or CNI).
    #[arg(short, long)]
    opt: Vec<String>,
    /// Without one, the first free podmanN.
    name: Option<String>,
}

#[derive(Args)]
pub(crate) struct LsArgs {
    /// Only the networks' names.
    #[arg(short, long)]
    quiet: bool,
    /// json, or a Go template over podman's fields (.Name .ID .Driver .Labels …).
    #[arg(long)]
    format: Option<String>,
    /// name=, id=, driver=, label=, label!=, until=, dangling=.
    #[arg(short, long)]
    filter: Vec<String>,
    /// No header row.
    #[arg(short, long)]
    noheading: bool,
    /// Do not truncate the network ID.
    #[arg(long)]
    no_trunc: bool,
}

#[derive(Args)]
pub(crate) struct NamesArgs {
    /// json, or a Go template per network.
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn run(store_args: &StoreArgs, a: NetworkArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let networks = engine.networks();
    match a.command {
        NetworkCommand::Create(c) => {
            let o = network::CreateOptions {
                driver: Some(c.driver),
                subnet: c.subnet,
                gateway: c.gateway,
                ip_range: c.ip_range,
                internal: c.internal,
                disable_dns: c.disable_dns,
                ipv6: c.ipv6,
                labels: berth_engine::views::label_pairs(&c.label),
                options: berth_engine::views::label_pairs(&c.opt),
            };
            let name = c.name.as_deref().unwrap_or_default();
            let n = networks.create(name, &o).map_err(exit::podman)?;
            println!("{}", n.name);
        }
        NetworkCommand::Ls(l) => {
            let rows = networks.rows(&l.filter).map_err(exit::podman)?;
            // JSON: podman's network documents; templates: their fields by
            // Go name too, .ID cut as the table cuts it.
            if l.format.as_deref() == Some("json") {
                let docs: Vec<_> = rows.into_iter().map(|r| r.inspect).collect();
                return crate::output::print_value(&crate::output::value(docs), None);
            }
            if let Some(f) = &l.format {
                let mut values = crate::output::values(&rows);
                if !l.no_trunc {
                    for v in &mut values {
                        let short: String = v["ID"]
                            .as_str()
                            .unwrap_or_default()
                            .chars()
                            .take(12)
                            .collect();
                        v["ID"] = serde_json::json!(short);
                    }
                }
                return crate::output::print_rows(&values, f);
            }
            if l.quiet {
                rows.iter().for_each(|r| println!("{}", r.name));
            } else {
                let mut table = vec![row(&["NETWORK ID", "NAME", "DRIVER"])];
                let width = if l.no_trunc { 64 } else { 12 };
                table.extend(rows.iter().map(|r| {
                    let id = r.id[..width.min(r.id.len())].to_string();
                    vec![id, r.name.clone(), r.driver.into()]
                }));
                crate::output::table::print(&table, !l.noheading);
            }
        }
        NetworkCommand::Inspect(n) => {
            let docs = n.names.iter().map(|name| networks.inspect(name));
            let docs = docs.collect::<Result<Vec<_>, _>>().map_err(exit::podman)?;
            print_inspect(&values(docs), n.format.as_deref())?;
        }
        NetworkCommand::Rm(n) => {
            for name in &n.names {
                if n.force {
                    if networks.exists(name) {
                        networks.remove_forced(name, n.time).map_err(exit::engine)?;
                        println!("{name}");
                    }
                    continue;
                }
                networks.remove(name).map_err(|e| match e {
                    // podman's rm: 1 for a network that does not exist.
                    NetworkError::NotFound(_) => exit::usage(1, e),
                    e => exit::podman(e),
                })?;
                println!("{name}");
            }
        }
        NetworkCommand::Exists(n) => {
            if !networks.exists(&n.name) {
                return Err(exit::silent(1));
            }
        }
        NetworkCommand::Prune(p) => {
            let warning =
                "WARNING! This will remove all networks not used by at least one container.";
            if !p.force && !crate::prompt::confirm(warning) {
                return Ok(());
            }
            for name in networks.prune(&p.filter).map_err(exit::podman)? {
                println!("{name}");
            }
        }
        NetworkCommand::Connect(c) => {
            let o = network::ConnectOptions {
                aliases: c.alias,
                ip: c.ip,
            };
            networks
                .connect(&c.container, &c.network, &o)
                .map_err(exit::podman)?;
        }
        NetworkCommand::Disconnect(c) => networks
            .disconnect(&c.container, &c.network, c.force)
            .map_err(exit::podman)?,
    }
    Ok(())
}
