//! The CNI backend: Debian's containernetworking-plugins, run one by one
//! (`bridge` with `host-local` addresses, then `portmap` for published ports),
//! each given the previous one's result, as the CNI spec chains them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_storage::Store;
use serde_json::{Value, json};

use super::{Iface, Network, NetworkError, PortMapping, Target};

const CNI_VERSION: &str = "0.4.0";
const PLUGIN_DIRS: [&str; 3] = ["/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni"];

fn plugin_dirs() -> Vec<PathBuf> {
    let conf = crate::conf::get().ok();
    match conf.filter(|c| !c.cni_plugin_dirs.is_empty()) {
        Some(c) => c.cni_plugin_dirs.clone(),
        None => PLUGIN_DIRS.iter().map(PathBuf::from).collect(),
    }
}

fn plugins(net: &Network, store: &Store, ports: &[PortMapping]) -> Vec<Value> {
    let mut range = json!({"subnet": net.subnet});
    if let Ok(gw) = super::ipam::gateway(net) {
        range["gateway"] = json!(gw.to_string());
    }
    if let Some(r) = &net.lease_range {
        range["rangeStart"] = json!(r.start_ip);
        // podman's end is the range's last address, its broadcast address
        // when the range ends the subnet: host-local takes the one before.
        let end = super::ipam::parse_subnet(&net.subnet)
            .ok()
            .zip(r.end_ip.parse::<std::net::Ipv4Addr>().ok())
            .map(|((base, len), end)| {
                let broadcast = u32::from(base) | (u32::MAX >> len);
                std::net::Ipv4Addr::from(u32::from(end).min(broadcast - 1))
            });
        if let Some(end) = end {
            range["rangeEnd"] = json!(end.to_string());
        }
    }
    let mut bridge = json!({
        "type": "bridge",
        "bridge": net.bridge,
        "isGateway": !net.internal,
        "ipMasq": !net.internal,
        "hairpinMode": true,
        "ipam": {
            "type": "host-local",
            "ranges": [[range]],
            "routes": if net.internal { json!([]) } else { json!([{"dst": "0.0.0.0/0"}]) },
            "dataDir": super::dir(store).join("ipam"),
        },
    });
    if let Some(mtu) = net.mtu() {
        bridge["mtu"] = json!(mtu);
    }
    if let Some(vlan) = net.options.get("vlan").and_then(|v| v.parse::<u16>().ok()) {
        bridge["vlan"] = json!(vlan);
    }
    let mut v = vec![bridge];
    if !ports.is_empty() {
        v.push(json!({"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}));
    }
    v
}

fn plugin_path(kind: &str) -> Result<PathBuf, NetworkError> {
    plugin_dirs()
        .iter()
        .map(|d| Path::new(d).join(kind))
        .find(|p| p.exists())
        .ok_or_else(|| NetworkError::CniPluginMissing(kind.to_string()))
}

/// Runs one CNI plugin; returns its result.
fn call(
    plugin: &Value,
    command: &str,
    t: &Target,
    prev: Option<&Value>,
) -> Result<Value, NetworkError> {
    let kind = plugin["type"].as_str().unwrap_or_default();
    let exec = |source| NetworkError::Exec {
        program: format!("CNI plugin {kind}"),
        source,
    };
    let mut conf = plugin.clone();
    conf["cniVersion"] = json!(CNI_VERSION);
    conf["name"] = json!(t.net.name);
    if let Some(p) = prev {
        conf["prevResult"] = p.clone();
    }
    if kind == "portmap" {
        let pm: Vec<Value> = t
            .ports
            .iter()
            // No hostIP for the wildcard, as podman passes it (see
            // PortMapping::firewall_host_ip).
            .map(|p| json!({"hostPort": p.host_port, "containerPort": p.container_port, "protocol": p.protocol, "hostIP": p.firewall_host_ip()}))
            .collect();
        conf["runtimeConfig"] = json!({"portMappings": pm});
    }
    let path_list = plugin_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let mut child = Command::new(plugin_path(kind)?)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", t.id)
        .env("CNI_NETNS", t.netns)
        .env("CNI_IFNAME", t.ifname)
        .env("CNI_PATH", path_list)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(exec)?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&serde_json::to_vec(&conf).expect("serialises"))
        .map_err(exec)?;
    let out = child.wait_with_output().map_err(exec)?;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if !out.status.success() {
        let msg = v["msg"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string());
        return Err(NetworkError::Backend {
            network: t.net.name.clone(),
            step: format!("{kind} {command}"),
            output: msg,
        });
    }
    Ok(v)
}

/// ADD through the chain; a failure undoes the plugins that succeeded.
pub fn attach(store: &Store, t: &Target) -> Result<Iface, NetworkError> {
    let mut prev: Option<Value> = None;
    let mut done = Vec::new();
    for p in plugins(t.net, store, t.ports) {
        match call(&p, "ADD", t, prev.as_ref()) {
            Ok(v) => {
                prev = Some(v);
                done.push(p);
            }
            Err(e) => {
                for p in done.iter().rev() {
                    let _ = call(p, "DEL", t, None);
                }
                return Err(e);
            }
        }
    }
    let ip = prev
        .as_ref()
        .and_then(|r| r["ips"][0]["address"].as_str())
        .and_then(|a| a.split('/').next())
        .ok_or_else(|| NetworkError::NoAddress(t.net.name.clone()))?
        .to_string();
    Ok(Iface {
        ip,
        dns: Vec::new(),
        search: Vec::new(),
    })
}

/// DEL through the chain in reverse; every plugin is asked even after a failure.
pub fn detach(store: &Store, t: &Target) -> Result<(), NetworkError> {
    let mut first = Ok(());
    for p in plugins(t.net, store, t.ports).iter().rev() {
        if let Err(e) = call(p, "DEL", t, None)
            && first.is_ok()
        {
            first = Err(e);
        }
    }
    first
}
