//! The netavark backend, as podman 4 drives it: berth leases the address
//! (netavark does no IPAM of its own), then `netavark setup NETNS` reads the
//! container's options on stdin, makes the bridge, the veth pair, the
//! firewall rules and published ports, and starts aardvark-dns for networks
//! with DNS; `teardown` undoes it, and aardvark-dns exits with its last entry.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use berth_storage::Store;
use serde_json::{Value, json};

use super::{Iface, Network, NetworkError, Target};

/// The programs, found as podman finds them.
pub struct Binaries {
    pub netavark: PathBuf,
    pub aardvark: Option<PathBuf>,
}

pub fn binaries() -> Option<Binaries> {
    let conf = crate::conf::get().ok()?;
    Some(Binaries {
        netavark: conf.helper("netavark")?,
        aardvark: conf.helper("aardvark-dns"),
    })
}

/// The network as netavark's `network_info` describes it.
fn network_info(net: &Network) -> Result<Value, NetworkError> {
    let gw = super::ipam::gateway(net)?;
    let mut subnet = json!({"subnet": net.subnet});
    if !net.internal || net.gateway.is_some() {
        subnet["gateway"] = json!(gw.to_string());
    }
    if let Some(r) = &net.lease_range {
        subnet["lease_range"] = json!({"start_ip": r.start_ip, "end_ip": r.end_ip});
    }
    let mut info = json!({
        "name": net.name,
        "id": net.id(),
        "driver": "bridge",
        "network_interface": net.bridge,
        "subnets": [subnet],
        "ipv6_enabled": false,
        "internal": net.internal,
        "dns_enabled": net.dns_enabled,
        "ipam_options": {"driver": "host-local"},
    });
    // mtu, vlan, isolate: netavark applies them itself.
    if !net.options.is_empty() {
        info["options"] = json!(net.options);
    }
    Ok(info)
}

/// The options of one `setup` or `teardown`: this container on this network.
fn options(t: &Target, ip: &str) -> Result<Value, NetworkError> {
    let ports: Vec<Value> = t
        .ports
        .iter()
        .map(|p| {
            json!({"container_port": p.container_port, "host_ip": p.firewall_host_ip(),
                   "host_port": p.host_port, "protocol": p.protocol, "range": 1})
        })
        .collect();
    let mut o = json!({
        "container_id": t.id,
        "container_name": t.name,
        "port_mappings": ports,
        "networks": {t.net.name.as_str(): {
            "interface_name": t.ifname,
            "static_ips": [ip],
            "aliases": std::iter::once(t.name).chain(t.aliases.iter().map(String::as_str)).collect::<Vec<_>>(),
        }},
        "network_info": {t.net.name.as_str(): network_info(t.net)?},
    });
    if !t.dns.is_empty() {
        o["dns_servers"] = json!(t.dns);
    }
    if let Some(mac) = t.mac {
        o["networks"][t.net.name.as_str()]["static_mac"] = json!(mac.to_string());
    }
    Ok(o)
}

/// Runs netavark; its JSON answer, or its error in one line.
fn call(store: &Store, verb: &str, t: &Target, opts: &Value) -> Result<Value, NetworkError> {
    let bins = binaries().ok_or(NetworkError::NetavarkMissing)?;
    let config = store.config().run_root.join("networks");
    std::fs::create_dir_all(&config).map_err(NetworkError::io(&config))?;
    let exec = |program: String| move |source| NetworkError::Exec { program, source };
    let mut c = Command::new(&bins.netavark);
    c.arg("--config").arg(&config);
    // An ordinary user's bridges live in its rootless network namespace,
    // which netavark is run in.
    let rootless_ns = match super::rootless::active() {
        true => Some(super::rootless::ensure(store)?),
        false => None,
    };
    c.args([
        "--rootless",
        if rootless_ns.is_some() {
            "true"
        } else {
            "false"
        },
    ]);
    let ns_file = match &rootless_ns {
        Some(ns) => Some(std::fs::File::open(ns).map_err(NetworkError::io(ns))?),
        None => None,
    };
    if let Some(fd) = ns_file.as_ref().map(std::os::fd::AsRawFd::as_raw_fd) {
        // SAFETY: setns is async-signal-safe and touches only the child, on a
        // descriptor this process keeps open until the spawn returns.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, move || {
                berth_runtime::sys::setns(fd, libc::CLONE_NEWNET)
            });
        }
    }
    if let Some(a) = &bins.aardvark {
        c.arg("--aardvark-binary").arg(a);
    }
    let mut child = c
        .arg(verb)
        .arg(t.netns)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(exec(bins.netavark.display().to_string()))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&serde_json::to_vec(opts).expect("serialises"))
        .map_err(exec(format!("netavark {verb}")))?;
    let out = child
        .wait_with_output()
        .map_err(exec(format!("netavark {verb}")))?;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if out.status.success() {
        return Ok(v);
    }
    let msg = v["error"].as_str().map(String::from).unwrap_or_else(|| {
        // Its stderr also carries syslog complaints; the last line is the error.
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rfind(|l| !l.trim().is_empty() && !l.contains("syslog"))
            .unwrap_or("failed")
            .to_string()
    });
    Err(NetworkError::Backend {
        network: t.net.name.clone(),
        step: format!("netavark {verb}"),
        output: msg,
    })
}

pub fn attach(store: &Store, t: &Target) -> Result<Iface, NetworkError> {
    let ip = super::ipam::allocate(store, t.net, t.id, t.ip)?.to_string();
    let opts = options(t, &ip)?;
    let v = match call(store, "setup", t, &opts) {
        Ok(v) => v,
        Err(e) => {
            // netavark undoes its own half-done work; the lease is ours.
            let _ = super::ipam::release(store, t.net, t.id);
            return Err(e);
        }
    };
    let status = &v[t.net.name.as_str()];
    let strings = |key: &str| crate::spec::strings(&status[key]);
    Ok(Iface {
        ip,
        dns: strings("dns_server_ips"),
        search: strings("dns_search_domains"),
    })
}

pub fn detach(store: &Store, t: &Target, ip: &str) -> Result<(), NetworkError> {
    let opts = options(t, ip)?;
    let r = call(store, "teardown", t, &opts);
    super::ipam::release(store, t.net, t.id)?;
    r.map(drop)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::PortMapping;
    use super::*;

    fn port_options(spec: &str) -> Value {
        let net = Network {
            name: "berth".into(),
            bridge: "berth0".into(),
            subnet: "10.89.0.0/24".into(),
            dns_enabled: false,
            ..Default::default()
        };
        let ports = [PortMapping::parse(spec).unwrap()];
        let t = Target {
            net: &net,
            id: "0123456789ab",
            name: "web",
            dns: &[],
            aliases: &[],
            netns: Path::new("/run/netns/x"),
            ifname: "eth0",
            ports: &ports,
            mac: None,
            ip: None,
        };
        options(&t, "10.89.0.2").unwrap()["port_mappings"][0].clone()
    }

    /// netavark puts `-d HOST_IP` in its rules for any address it is given:
    /// the wildcard must reach it as no address at all, as podman sends it.
    #[test]
    fn the_wildcard_reaches_netavark_as_no_address() {
        for spec in ["5253:5000", "0.0.0.0:5253:5000"] {
            let p = port_options(spec);
            assert_eq!(p["host_ip"], "", "{spec}: {p}");
            assert_eq!(p["host_port"], 5253);
        }
        let p = port_options("127.0.0.1:5253:5000");
        assert_eq!(p["host_ip"], "127.0.0.1");
        // Shown as podman shows it.
        assert_eq!(PortMapping::parse("5253:5000").unwrap().host_ip, "0.0.0.0");
    }
}
