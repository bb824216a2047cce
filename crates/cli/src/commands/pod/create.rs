//! `pod create`.

use crate::exit::{self, CmdResult};
use berth_engine::Pods;
use berth_engine::clone::PodCloneOptions;
use berth_engine::pods::PodCreate;
use clap::Args;

use super::fail;

#[derive(Args)]
pub(super) struct CreateArgs {
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
    /// The Ethernet address of the pod's network interface (a bridge's).
    #[arg(long)]
    mac_address: Option<berth_engine::network::MacAddress>,
    #[arg(long)]
    dns: Vec<String>,
    #[arg(long)]
    dns_search: Vec<String>,
    /// An option for the pod's /etc/resolv.conf (ndots:2, edns0 …).
    #[arg(long = "dns-option", visible_alias = "dns-opt")]
    dns_option: Vec<String>,
    /// continue (default) or stop: what the pod does when its last container exits.
    #[arg(long, default_value = "continue")]
    exit_policy: String,
    /// Replace a pod of the same name.
    #[arg(long)]
    replace: bool,
    /// Write the pod's ID here.
    #[arg(long)]
    pod_id_file: Option<std::path::PathBuf>,
    /// Write the infra container's monitor's pid here (systemd's PIDFile).
    #[arg(long)]
    infra_conmon_pidfile: Option<std::path::PathBuf>,
    /// The pod's limits: its cgroup's, which every member's nests under.
    #[command(flatten)]
    resources: crate::commands::container::flags::ResourceFlags,
    /// The user namespace of the pod's containers: host, auto[:OPTS] (root
    /// and rootless), keep-id[:OPTS] or nomap (rootless); the infra container
    /// makes it and every member joins it.
    #[arg(long)]
    userns: Option<String>,
    /// CONTAINER:HOST:SIZE: the pod's own user namespace maps these UIDs.
    #[arg(long)]
    uidmap: Vec<String>,
    /// CONTAINER:HOST:SIZE for GIDs (default: as --uidmap).
    #[arg(long)]
    gidmap: Vec<String>,
    /// Where the pod's cgroup goes (default /berth_pods).
    #[arg(long)]
    cgroup_parent: Option<String>,
    /// A name for the pod (podman takes it as an argument too).
    pod_name: Option<String>,
}

pub(super) fn create(pods: &Pods, c: CreateArgs) -> CmdResult {
    let userns = berth_engine::namespaces::userns(c.userns.as_deref(), &c.uidmap, &c.gidmap)
        .map_err(fail)?;
    let ports = berth_engine::network::PortMapping::parse_all(&c.publish).map_err(exit::podman)?;
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
        mac_address: c.mac_address,
        dns: c.dns,
        dns_search: c.dns_search,
        dns_options: c.dns_option,
        exit_policy: c.exit_policy.parse().map_err(fail)?,
        replace: c.replace,
        infra_conmon_pidfile: c
            .infra_conmon_pidfile
            .and_then(|p| std::path::absolute(p).ok()),
        create_command: std::env::args().collect(),
        service_container: None,
        resources: c.resources.update()?,
        userns,
        cgroup_parent: c.cgroup_parent,
        id_file: c.pod_id_file,
    };
    if let Some(w) = o.rootless_limits_warning() {
        eprintln!("{w}");
    }
    let pod = pods.create(&o).map_err(fail)?;
    println!("{}", pod.id);
    Ok(())
}

#[derive(Args)]
pub(super) struct CloneArgs {
    /// The new pod's name (default: the original's with -clone).
    #[arg(short, long)]
    name: Option<String>,
    /// Start the new pod.
    #[arg(long)]
    start: bool,
    /// Remove the original pod and its containers.
    #[arg(long)]
    destroy: bool,
    /// Limits replacing the original's.
    #[command(flatten)]
    resources: crate::commands::container::flags::ResourceFlags,
    pod: String,
    /// The new pod's name, as --name.
    new_name: Option<String>,
}

/// `pod clone`: prints the new pod's ID.
pub(super) fn clone(pods: &Pods, c: CloneArgs, monitor: berth_engine::MonitorArgv) -> CmdResult {
    let o = PodCloneOptions {
        name: c.name.or(c.new_name),
        resources: c.resources.update()?,
        destroy: c.destroy,
    };
    let pod = pods.clone_pod(&c.pod, &o).map_err(fail)?;
    if c.start {
        pods.start(&pod.id, monitor).map_err(fail)?;
    }
    println!("{}", pod.id);
    Ok(())
}
