//! berth's own bridge backend (containers.conf `network_backend = "berth"`, the
//! default): what netavark's bridge driver does, without its ~40 `iptables`
//! commands a container. The links, addresses and routes are made through
//! rtnetlink ([`netlink`]), the firewall rules of a step go to one
//! `iptables-restore` ([`firewall`]), names to aardvark-dns ([`dns`]). The
//! bridge and the network's rules come with its first container and stay (as
//! docker's do) until the network is removed ([`remove_network`], also by
//! `system reset`): a `run --rm` then touches neither, where netavark makes
//! and unmakes them both, ~25 ms of nftables work each time. A rootless
//! user's live in its rootless network namespace ([`super::rootless`]) and go
//! with it.
//!
//! Why not netavark, the field's own backend, by default (it stays one line of
//! containers.conf away): netavark 1.4 runs one `iptables` process a rule, ~40
//! a container's start and stop, ~250 ms of a `run --rm` that otherwise takes
//! ~40 ms here; with it, berth's bridge `run --rm` was 0.73 of podman's (the
//! target is 0.15) and `docker run` through the service 0.72 (target 0.3).
//! With this backend: 0.150 and 0.130 (`bench/RESULTS.md`). The kernel
//! interfaces are the same (rtnetlink, iptables, aardvark-dns's files).

mod dns;
mod firewall;
pub(crate) mod netlink;

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use berth_storage::Store;
use sha2::{Digest, Sha256};

use super::{Iface, NetworkError, Target, ipam, rootless};
use netlink::{Netlink, in_netns, index};

/// The host's end of a container's veth on a network: `vb` and 10 hex digits
/// of both names (an interface name has 15 characters at most).
fn host_veth(container: &str, network: &str) -> String {
    let d = Sha256::digest(format!("{container}/{network}"));
    let hex: String = d.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("vb{hex}")
}

/// What names the network's rules: the network in this store (its graph
/// root), so that another store's network of the same name keeps its own.
fn rules_key(store: &Store, net: &super::Network) -> String {
    let d = Sha256::digest(format!(
        "{}\0{}",
        store.config().graph_root.display(),
        net.name
    ));
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the bridge has a port (a container's veth, of any store).
fn has_ports(bridge: &str) -> bool {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif")).is_ok_and(|mut d| d.next().is_some())
}

/// The namespace the bridges live in: the host's (none), or a rootless user's
/// own, made when missing if `make`.
fn bridge_ns(store: &Store, make: bool) -> Result<Option<PathBuf>, NetworkError> {
    if !rootless::active() {
        return Ok(None);
    }
    let ns = rootless::netns_path(store);
    if make {
        rootless::ensure(store).map(Some)
    } else {
        Ok(Some(ns))
    }
}

fn aardvark_dir(store: &Store) -> PathBuf {
    store
        .config()
        .run_root
        .join("networks")
        .join("aardvark-dns")
}

fn os(what: &'static str) -> impl Fn(std::io::Error) -> NetworkError {
    move |e| NetworkError::Link(format!("{what}: {e}"))
}

/// Connects the container at `t` (called under the backend's lock).
pub fn attach(store: &Store, t: &Target) -> Result<Iface, NetworkError> {
    let ip = ipam::allocate(store, t.net, t.id, t.ip)?;
    match connect(store, t, ip) {
        Ok(iface) => Ok(iface),
        Err(e) => {
            // What was done is undone; the lease is given back.
            let _ = detach(store, t, &ip.to_string());
            Err(e)
        }
    }
}

fn connect(store: &Store, t: &Target, ip: Ipv4Addr) -> Result<Iface, NetworkError> {
    if let Some(p) = t.ports.iter().find(|p| p.host_ip.contains(':')) {
        return Err(NetworkError::Publish(format!(
            "-p {p}: berth's network backend publishes on IPv4 host addresses only"
        )));
    }
    let (_, len) = ipam::parse_subnet(&t.net.subnet)?;
    let gw = ipam::gateway(t.net)?;
    let host = bridge_ns(store, true)?;
    let veth = host_veth(t.id, &t.net.name);
    let ctr_ns = netlink::open_netns(t.netns).map_err(NetworkError::io(t.netns))?;
    let (net, ifname, internal) = (t.net, t.ifname, t.net.internal);
    let key = rules_key(store, net);
    in_netns(host.as_deref(), || {
        let nl = Netlink::open()?;
        nl.add_bridge(&net.bridge, net.mtu())?;
        let br = index(&net.bridge).ok_or_else(|| std::io::Error::other("bridge vanished"))?;
        if !internal {
            nl.add_address(br, gw, len)?;
            netlink::sysctl("net/ipv4/ip_forward", "1")?;
        }
        if !t.ports.is_empty() {
            // Published ports answer 127.0.0.1: DNAT out of loopback (the
            // network's rules drop what else would use it).
            netlink::sysctl(&format!("net/ipv4/conf/{}/route_localnet", net.bridge), "1")?;
        }
        nl.up(br, None)?;
        let mac = t.mac.map(|m| m.0);
        if let Err(e) = nl.add_veth(&veth, ifname, ctr_ns.as_raw_fd(), mac, net.mtu()) {
            // A veth a killed berth left (its name is the container's): gone,
            // then made again.
            let stale = index(&veth).filter(|_| e.raw_os_error() == Some(libc::EEXIST));
            let Some(old) = stale else { return Err(e) };
            nl.delete(old)?;
            nl.add_veth(&veth, ifname, ctr_ns.as_raw_fd(), mac, net.mtu())?;
        }
        let v = index(&veth).ok_or_else(|| std::io::Error::other("veth vanished"))?;
        nl.up(v, Some(br))
    })
    .map_err(os("bridge"))
    .and_then(|()| {
        // iptables runs in the bridges' namespace too.
        in_netns(host.as_deref(), || {
            let now = firewall::current();
            let mut rules = String::new();
            let network = firewall::network_rules(net, &key);
            let mut applied = false;
            if !internal && !firewall::all_present(&network, &now) {
                // Part of them (a flushed table): the rest goes first.
                if firewall::any_present(&network, &now) {
                    firewall::remove(&firewall::remove_network_rules(net, &key));
                }
                rules.push_str(&network);
                applied = true;
            }
            // After the network's own chain, which it must precede.
            if !internal && net.isolated() && (applied || !firewall::isolation_present(net, &now)) {
                rules.push_str(&firewall::isolation_rules(net, &now));
            }
            if !t.ports.is_empty() {
                let ports = firewall::port_rules(t.id, net, &ip.to_string(), t.ports);
                // A killed berth's rules for the container: gone first.
                if firewall::any_present(&ports, &now) {
                    firewall::remove(&firewall::remove_port_rules(t.id));
                }
                rules.push_str(&ports);
            }
            Ok(if rules.is_empty() {
                Ok(())
            } else {
                firewall::apply(&rules)
            })
        })
        .map_err(os("firewall"))?
    })?;
    in_netns(Some(t.netns), || {
        let nl = Netlink::open()?;
        let i = index(ifname).ok_or_else(|| std::io::Error::other("no container end"))?;
        nl.add_address(i, ip, len)?;
        nl.up(i, None)?;
        if !internal {
            nl.add_default_route(gw)?;
        }
        Ok(())
    })
    .map_err(os("container interface"))?;
    let gateway = gw.to_string();
    let dns_on = t.net.dns_enabled && !internal;
    if dns_on {
        let aardvark = crate::conf::get()?
            .helper("aardvark-dns")
            .ok_or(NetworkError::AardvarkMissing)?;
        let ip_text = ip.to_string();
        let entry = dns::Entry {
            network: &t.net.name,
            gateway: &gateway,
            container: t.id,
            ip: &ip_text,
            // A name that would break aardvark-dns's line (a space, a comma)
            // answers for nobody rather than breaking the network's names.
            names: std::iter::once(t.name)
                .chain(t.aliases.iter().map(String::as_str))
                .chain(std::iter::once(&t.id[..12.min(t.id.len())]))
                .filter(|n| !n.is_empty() && !n.contains(|c: char| c.is_whitespace() || c == ','))
                .collect(),
            servers: t.dns,
        };
        in_netns(host.as_deref(), || {
            Ok(dns::add(&aardvark_dir(store), &aardvark, &entry))
        })
        .map_err(os("dns"))??;
    }
    Ok(Iface {
        ip: ip.to_string(),
        dns: if dns_on { vec![gateway] } else { Vec::new() },
        search: if dns_on {
            vec!["dns.podman".into()]
        } else {
            Vec::new()
        },
    })
}

/// Disconnects the container at `t` (called under the backend's lock): its
/// name, its ports' rules, its veth, then its lease.
pub fn detach(store: &Store, t: &Target, _ip: &str) -> Result<(), NetworkError> {
    let host = bridge_ns(store, false)?;
    if host.as_ref().is_some_and(|ns| !ns.exists()) {
        // The rootless namespace is gone, and all that was in it.
        return ipam::release(store, t.net, t.id);
    }
    if t.net.dns_enabled && !t.net.internal {
        let dir = aardvark_dir(store);
        let _ = in_netns(host.as_deref(), || Ok(dns::remove(&dir, &t.net.name, t.id)));
    }
    let veth = host_veth(t.id, &t.net.name);
    let undone = in_netns(host.as_deref(), || {
        if !t.ports.is_empty() {
            firewall::remove(&firewall::remove_port_rules(t.id));
        }
        match index(&veth) {
            Some(v) => Netlink::open()?.delete(v),
            None => Ok(()),
        }
    });
    ipam::release(store, t.net, t.id)?;
    undone.map_err(os("teardown"))
}

/// Removes the network's rules and its bridge (`network rm`, `system
/// reset`); its containers are gone already. A bridge that still has a port
/// (another store's container on a network of the same bridge name) stays.
pub fn remove_network(store: &Store, net: &super::Network) {
    let Ok(host) = bridge_ns(store, false) else {
        return;
    };
    if host.as_ref().is_some_and(|ns| !ns.exists()) {
        return;
    }
    let key = rules_key(store, net);
    // sysfs shows the host's links: a rootless user's namespace is its own.
    let in_use = host.is_none() && has_ports(&net.bridge);
    let _ = in_netns(host.as_deref(), || {
        let network = firewall::network_rules(net, &key);
        let now = firewall::current();
        if !net.internal && firewall::any_present(&network, &now) {
            firewall::remove(&firewall::remove_network_rules(net, &key));
        }
        if net.isolated() && now.contains(&format!("-o {} -j DROP", net.bridge)) {
            firewall::remove(&firewall::remove_isolation_rules(net));
        }
        match index(&net.bridge) {
            Some(br) if !in_use => Netlink::open()?.delete(br),
            _ => Ok(()),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_veth_names_fit_and_differ() {
        let a = host_veth("0123456789abcdef", "web");
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("vb"));
        assert_ne!(a, host_veth("0123456789abcdef", "db"));
        assert_eq!(a, host_veth("0123456789abcdef", "web"));
    }
}
