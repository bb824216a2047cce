//! Bridge networks through the CNI plugins Debian ships
//! (containernetworking-plugins): a network is a bridge with a subnet and
//! host-local addresses; a container on it gets a network namespace of its own,
//! pinned under the run root, with an address, a route out, published ports
//! (`portmap`) and /etc/hosts entries for the other containers on the network.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::container;

/// berth's default network (`--network bridge`).
pub const DEFAULT: &str = "berth";
const CNI_VERSION: &str = "0.4.0";
const PLUGIN_DIRS: [&str; 3] = ["/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub bridge: String,
    /// `10.89.0.0/24`.
    pub subnet: String,
}

/// `-p [IP:]HOST:CONTAINER[/PROTO]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

impl PortMapping {
    pub fn parse(s: &str) -> Result<PortMapping, String> {
        let bad = || format!("-p {s}: expected [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]");
        let (spec, protocol) = match s.rsplit_once('/') {
            Some((a, p @ ("tcp" | "udp" | "sctp"))) => (a, p.to_string()),
            Some(_) => return Err(bad()),
            None => (s, "tcp".to_string()),
        };
        let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
        let (container_port, host_port, host_ip) = match parts.as_slice() {
            [c, h] => (*c, *h, "0.0.0.0"),
            [c, h, ip] => (*c, *h, *ip),
            _ => return Err(bad()),
        };
        let port = |p: &str| p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(bad);
        let host_ip = if host_ip.is_empty() {
            "0.0.0.0"
        } else {
            host_ip
        };
        host_ip.parse::<std::net::IpAddr>().map_err(|_| bad())?;
        Ok(PortMapping {
            host_ip: host_ip.to_string(),
            host_port: port(host_port)?,
            container_port: port(container_port)?,
            protocol,
        })
    }
}

/// What a container got on its networks, kept to undo it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Attachment {
    pub netns: PathBuf,
    /// The network being joined (kept even when joining failed half-way).
    #[serde(default)]
    pub network: Option<String>,
    /// (network, interface, address without prefix length).
    pub interfaces: Vec<(String, String, String)>,
    pub ports: Vec<PortMapping>,
}

fn dir(store: &Store) -> PathBuf {
    store.config().graph_root.join("networks")
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A network by name; the default one is made on first use.
pub fn get(store: &Store, name: &str) -> Result<Network, String> {
    let p = dir(store).join(format!("{name}.json"));
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("network {name}: {e}")),
        Err(_) if name == DEFAULT => create(store, DEFAULT, None),
        Err(_) => Err(format!("network {name}: no such network")),
    }
}

pub fn list(store: &Store) -> Vec<Network> {
    let mut v: Vec<Network> = std::fs::read_dir(dir(store))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .filter_map(|b| serde_json::from_slice(&b).ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a: &Network, b| a.name.cmp(&b.name));
    v
}

/// Creates a network; without a subnet, the first free 10.89.N.0/24.
pub fn create(store: &Store, name: &str, subnet: Option<&str>) -> Result<Network, String> {
    if !valid_name(name) {
        return Err(format!("network name {name:?}: use letters, digits, _ . -"));
    }
    let existing = list(store);
    if existing.iter().any(|n| n.name == name) {
        return Err(format!("network {name} already exists"));
    }
    let subnet = match subnet {
        Some(s) => {
            check_subnet(s)?;
            s.to_string()
        }
        None => (0..=255)
            .map(|i| format!("10.89.{i}.0/24"))
            .find(|s| !existing.iter().any(|n| &n.subnet == s))
            .ok_or("no free subnet left in 10.89.0.0/16")?,
    };
    if existing.iter().any(|n| n.subnet == subnet) {
        return Err(format!(
            "subnet {subnet} is already used by another network"
        ));
    }
    let index = existing.len();
    let net = Network {
        name: name.to_string(),
        bridge: format!("berth{index}"),
        subnet,
    };
    std::fs::create_dir_all(dir(store)).map_err(|e| e.to_string())?;
    std::fs::write(
        dir(store).join(format!("{name}.json")),
        serde_json::to_vec_pretty(&net).expect("serialises"),
    )
    .map_err(|e| e.to_string())?;
    Ok(net)
}

fn check_subnet(s: &str) -> Result<(), String> {
    let (ip, len) = s
        .split_once('/')
        .ok_or(format!("--subnet {s}: expected ADDR/LEN"))?;
    ip.parse::<std::net::Ipv4Addr>()
        .map_err(|_| format!("--subnet {s}: not an IPv4 address"))?;
    match len.parse::<u8>() {
        Ok(n) if (8..=30).contains(&n) => Ok(()),
        _ => Err(format!("--subnet {s}: the prefix length must be 8 to 30")),
    }
}

/// Removes a network no container uses.
pub fn remove(store: &Store, name: &str) -> Result<(), String> {
    get(store, name)?;
    let users: Vec<String> = container::list(store)?
        .into_iter()
        .filter(|i| {
            i.config.process.network == name
                || (name == DEFAULT && i.config.process.network == "bridge")
        })
        .map(|i| i.name().to_string())
        .collect();
    if !users.is_empty() {
        return Err(format!(
            "network {name} is used by containers: {}",
            users.join(", ")
        ));
    }
    std::fs::remove_file(dir(store).join(format!("{name}.json"))).map_err(|e| e.to_string())
}

/// The network a `--network` value names, if it is a bridge network.
pub fn bridge_network(value: &str) -> Option<&str> {
    match value {
        "" | "none" | "host" => None,
        "bridge" => Some(DEFAULT),
        v if v.starts_with("container:") || v.starts_with("ns:") => None,
        v => Some(v),
    }
}

fn plugins(net: &Network, store: &Store, ports: &[PortMapping]) -> Vec<Value> {
    let mut v = vec![json!({
        "type": "bridge",
        "bridge": net.bridge,
        "isGateway": true,
        "ipMasq": true,
        "hairpinMode": true,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": net.subnet}]],
            "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": dir(store).join("ipam"),
        },
    })];
    if !ports.is_empty() {
        v.push(json!({"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}));
    }
    v
}

fn plugin_path(kind: &str) -> Result<PathBuf, String> {
    PLUGIN_DIRS
        .iter()
        .map(|d| Path::new(d).join(kind))
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!("CNI plugin {kind:?} not found (install containernetworking-plugins)")
        })
}

/// Which container interface a plugin call is about.
struct Target<'a> {
    net: &'a Network,
    id: &'a str,
    netns: &'a Path,
    ifname: &'a str,
    ports: &'a [PortMapping],
}

/// Runs one CNI plugin; returns its result.
fn call(plugin: &Value, command: &str, t: &Target, prev: Option<&Value>) -> Result<Value, String> {
    let Target {
        net,
        id,
        netns,
        ifname,
        ports,
    } = *t;
    let kind = plugin["type"].as_str().unwrap_or_default();
    let mut conf = plugin.clone();
    conf["cniVersion"] = json!(CNI_VERSION);
    conf["name"] = json!(net.name);
    if let Some(p) = prev {
        conf["prevResult"] = p.clone();
    }
    if kind == "portmap" {
        let pm: Vec<Value> = ports
            .iter()
            .map(|p| json!({"hostPort": p.host_port, "containerPort": p.container_port, "protocol": p.protocol, "hostIP": p.host_ip}))
            .collect();
        conf["runtimeConfig"] = json!({"portMappings": pm});
    }
    let mut child = Command::new(plugin_path(kind)?)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", netns)
        .env("CNI_IFNAME", ifname)
        .env("CNI_PATH", PLUGIN_DIRS.join(":"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("CNI plugin {kind}: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&serde_json::to_vec(&conf).expect("serialises"))
        .map_err(|e| format!("CNI plugin {kind}: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("CNI plugin {kind}: {e}"))?;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if !out.status.success() {
        let msg = v["msg"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string());
        return Err(format!("network {}: {kind} {command}: {msg}", net.name));
    }
    Ok(v)
}

fn netns_path(store: &Store, id: &str) -> PathBuf {
    store
        .config()
        .run_root
        .join("netns")
        .join(format!("berth-{}", &id[..12.min(id.len())]))
}

fn attachment_path(store: &Store, id: &str) -> PathBuf {
    container::userdata(store, id).join("network.json")
}

pub fn attachment(store: &Store, id: &str) -> Option<Attachment> {
    std::fs::read(attachment_path(store, id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// Connects a container to a bridge network (once; a restart reuses it);
/// returns the pinned network namespace to run it in.
pub fn setup(
    store: &Store,
    id: &str,
    network: &str,
    ports: &[PortMapping],
) -> Result<Attachment, String> {
    if let Some(a) = attachment(store, id).filter(|a| a.netns.exists()) {
        return Ok(a);
    }
    let net = get(store, network)?;
    let netns = netns_path(store, id);
    crate::sys::pin_new_netns(&netns)
        .map_err(|e| format!("network namespace {}: {e}", netns.display()))?;
    let mut att = Attachment {
        netns: netns.clone(),
        network: Some(net.name.clone()),
        interfaces: Vec::new(),
        ports: ports.to_vec(),
    };
    let result = (|| {
        let mut prev: Option<Value> = None;
        let t = Target {
            net: &net,
            id,
            netns: &netns,
            ifname: "eth0",
            ports,
        };
        for p in plugins(&net, store, ports) {
            prev = Some(call(&p, "ADD", &t, prev.as_ref())?);
        }
        let ip = prev
            .as_ref()
            .and_then(|r| r["ips"][0]["address"].as_str())
            .and_then(|a| a.split('/').next())
            .ok_or_else(|| format!("network {network}: the bridge plugin gave no address"))?
            .to_string();
        att.interfaces.push((net.name.clone(), "eth0".into(), ip));
        Ok::<(), String>(())
    })();
    // Saved even on failure, so that teardown undoes whatever was done.
    let _ = std::fs::create_dir_all(container::userdata(store, id));
    let _ = std::fs::write(
        attachment_path(store, id),
        serde_json::to_vec(&att).expect("serialises"),
    );
    if let Err(e) = result {
        teardown(store, id);
        return Err(e);
    }
    Ok(att)
}

/// `network connect`: one more interface (`ethN`) on `network` for a
/// container that runs in a bridge network namespace; returns its address.
pub fn connect(store: &Store, id: &str, network: &str) -> Result<String, String> {
    let mut att = attachment(store, id)
        .filter(|a| a.netns.exists())
        .ok_or("the container is not running on a bridge network (start it with --network NAME)")?;
    if att.interfaces.iter().any(|(n, _, _)| n == network) {
        return Err(format!(
            "the container is already connected to network {network}"
        ));
    }
    let net = get(store, network)?;
    let ifname = format!("eth{}", att.interfaces.len());
    let t = Target {
        net: &net,
        id,
        netns: &att.netns,
        ifname: &ifname,
        ports: &[],
    };
    let mut prev: Option<Value> = None;
    let mut done = Vec::new();
    for p in plugins(&net, store, &[]) {
        match call(&p, "ADD", &t, prev.as_ref()) {
            Ok(v) => {
                prev = Some(v);
                done.push(p);
            }
            Err(e) => {
                for p in done.iter().rev() {
                    let _ = call(p, "DEL", &t, None);
                }
                return Err(e);
            }
        }
    }
    let ip = prev
        .as_ref()
        .and_then(|r| r["ips"][0]["address"].as_str())
        .and_then(|a| a.split('/').next())
        .ok_or_else(|| format!("network {network}: the bridge plugin gave no address"))?
        .to_string();
    att.interfaces.push((net.name.clone(), ifname, ip.clone()));
    std::fs::write(
        attachment_path(store, id),
        serde_json::to_vec(&att).expect("serialises"),
    )
    .map_err(|e| format!("{}: {e}", attachment_path(store, id).display()))?;
    Ok(ip)
}

/// `network disconnect`: the container's interface on `network` goes.
pub fn disconnect(store: &Store, id: &str, network: &str) -> Result<(), String> {
    let mut att = attachment(store, id).ok_or("the container is not on any bridge network")?;
    let at = att
        .interfaces
        .iter()
        .position(|(n, _, _)| n == network)
        .ok_or_else(|| format!("the container is not connected to network {network}"))?;
    let (_, ifname, _) = att.interfaces.remove(at);
    let net = get(store, network)?;
    let ports = if at == 0 {
        att.ports.clone()
    } else {
        Vec::new()
    };
    let t = Target {
        net: &net,
        id,
        netns: &att.netns,
        ifname: &ifname,
        ports: &ports,
    };
    for p in plugins(&net, store, &ports).iter().rev() {
        call(p, "DEL", &t, None)?;
    }
    if at == 0 {
        att.ports.clear();
    }
    std::fs::write(
        attachment_path(store, id),
        serde_json::to_vec(&att).expect("serialises"),
    )
    .map_err(|e| format!("{}: {e}", attachment_path(store, id).display()))
}

/// Undoes [`setup`]: the plugins' DEL in reverse order, the namespace unpinned.
pub fn teardown(store: &Store, id: &str) {
    let Some(att) = attachment(store, id) else {
        return;
    };
    let del = |net: &Network, ifname: &str| {
        let t = Target {
            net,
            id,
            netns: &att.netns,
            ifname,
            ports: &att.ports,
        };
        for p in plugins(net, store, &att.ports).iter().rev() {
            let _ = call(p, "DEL", &t, None);
        }
    };
    for (name, ifname, _) in &att.interfaces {
        if let Ok(net) = get(store, name) {
            del(&net, ifname);
        }
    }
    if att.interfaces.is_empty()
        && let Some(name) = &att.network
        && let Ok(net) = get(store, name)
    {
        // A setup that failed half-way: release whatever address it took.
        del(&net, "eth0");
    }
    crate::sys::unpin_netns(&att.netns);
    let _ = std::fs::remove_file(attachment_path(store, id));
}

/// Rewrites the /etc/hosts of every container on a bridge network with the
/// names of all the containers it shares a network with.
pub fn refresh_all_hosts(store: &Store) {
    for i in container::list(store).unwrap_or_default() {
        let Some(a) = attachment(store, &i.id) else {
            continue;
        };
        let mut all: Vec<(String, String)> = Vec::new();
        for (net, _, _) in &a.interfaces {
            for m in members(store, net) {
                if !all.contains(&m) {
                    all.push(m);
                }
            }
        }
        crate::volumes::refresh_hosts(&container::userdata(store, &i.id).join("hosts"), &all);
    }
}

/// `IP NAME` lines for the running containers on `network` (for /etc/hosts).
pub fn members(store: &Store, network: &str) -> Vec<(String, String)> {
    container::list(store)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| {
            let a = attachment(store, &i.id)?;
            let ip = a
                .interfaces
                .iter()
                .find(|(n, _, _)| n == network)?
                .2
                .clone();
            Some((ip, i.name().to_string()))
        })
        .collect()
}
