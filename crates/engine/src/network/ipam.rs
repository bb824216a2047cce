//! Address leases for netavark, which (as with podman) is handed the
//! container's address rather than choosing one: one JSON file per network,
//! `address → container ID`, changed only under the network's lock.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_storage::Store;

use super::{LeaseRange, Network, NetworkError};

/// A subnet berth cannot use.
#[derive(Debug, thiserror::Error)]
pub enum SubnetError {
    #[error("subnet {0}: expected ADDR/LEN")]
    NoPrefixLength(String),
    #[error("subnet {0}: not an IPv4 address")]
    NotIpv4(String),
    /// Shorter is more than a host can lease; longer leaves no host address.
    #[error("subnet {0}: the prefix length must be 8 to 30")]
    PrefixLength(String),
}

/// The network's base address and prefix length.
pub fn parse_subnet(s: &str) -> Result<(Ipv4Addr, u8), SubnetError> {
    let (ip, len) = s
        .split_once('/')
        .ok_or_else(|| SubnetError::NoPrefixLength(s.into()))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| SubnetError::NotIpv4(s.into()))?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|n| (8..=30).contains(n))
        .ok_or_else(|| SubnetError::PrefixLength(s.into()))?;
    let mask = u32::MAX << (32 - len);
    Ok((Ipv4Addr::from(u32::from(ip) & mask), len))
}

/// The gateway: `--gateway`, or else the subnet's first address, as
/// podman's networks have it.
pub fn gateway(net: &Network) -> Result<Ipv4Addr, SubnetError> {
    let (base, _) = parse_subnet(&net.subnet)?;
    match net.gateway.as_deref().and_then(|g| g.parse().ok()) {
        Some(g) => Ok(g),
        None => Ok(Ipv4Addr::from(u32::from(base) + 1)),
    }
}

fn contains(base: Ipv4Addr, len: u8, ip: Ipv4Addr) -> bool {
    let mask = u32::MAX << (32 - len);
    u32::from(ip) & mask == u32::from(base)
}

/// `network create --gateway` and `--ip-range` checked against the subnet
/// as podman checks them: the gateway as given, the range as its first
/// and last address (podman's `lease_range`).
pub fn check_gateway_and_range(
    subnet: &str,
    gateway: Option<&str>,
    range: Option<&str>,
) -> Result<(Option<String>, Option<LeaseRange>), NetworkError> {
    let invalid = |why: String| NetworkError::Invalid(why);
    let (base, len) = parse_subnet(subnet)?;
    let subnet = format!("{base}/{len}");
    let gateway = match gateway {
        None => None,
        Some(g) => {
            let ip: Ipv4Addr = g.parse().map_err(|_| {
                invalid(format!(
                    "invalid argument {g:?} for \"--gateway\" flag: invalid string being converted to IP address: {g}"
                ))
            })?;
            if !contains(base, len, ip) {
                return Err(invalid(format!("gateway {ip} not in subnet {subnet}")));
            }
            Some(ip.to_string())
        }
    };
    let range = match range {
        None => None,
        Some(r) => {
            let bad = || invalid(format!("invalid CIDR address: {r}"));
            let (ip, rlen) = r.split_once('/').ok_or_else(bad)?;
            let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
            let rlen: u8 = rlen.parse().ok().filter(|n| *n <= 32).ok_or_else(bad)?;
            let mask = u32::MAX.checked_shl(32 - u32::from(rlen)).unwrap_or(0);
            let first = u32::from(ip) & mask;
            let (start, end) = (
                Ipv4Addr::from(first.saturating_add(1).min(first | !mask)),
                Ipv4Addr::from(first | !mask),
            );
            if !contains(base, len, start) {
                return Err(invalid(format!(
                    "lease range start ip {start} not in subnet {subnet}"
                )));
            }
            if !contains(base, len, end) {
                return Err(invalid(format!(
                    "lease range end ip {end} not in subnet {subnet}"
                )));
            }
            Some(LeaseRange {
                start_ip: start.to_string(),
                end_ip: end.to_string(),
            })
        }
    };
    Ok((gateway, range))
}

/// The addresses a container may get: after the network's own, before
/// broadcast, not the gateway, within `--ip-range` if it has one.
fn hosts(net: &Network) -> Result<impl Iterator<Item = Ipv4Addr>, SubnetError> {
    let (base, len) = parse_subnet(&net.subnet)?;
    let gw = u32::from(gateway(net)?);
    let broadcast = u32::from(base) | (u32::MAX >> len);
    let ip = |s: &str| s.parse::<Ipv4Addr>().ok().map(u32::from);
    let (lo, hi) = net
        .lease_range
        .as_ref()
        .map_or((None, None), |r| (ip(&r.start_ip), ip(&r.end_ip)));
    let first = (u32::from(base) + 1).max(lo.unwrap_or(0));
    let last = (broadcast - 1).min(hi.unwrap_or(u32::MAX));
    Ok((first..=last).filter(move |a| *a != gw).map(Ipv4Addr::from))
}

type Leases = BTreeMap<Ipv4Addr, String>;

struct Locked {
    _lock: File,
    path: PathBuf,
    leases: Leases,
}

fn open(store: &Store, net: &Network) -> Result<Locked, NetworkError> {
    let dir = super::dir(store).join("leases");
    std::fs::create_dir_all(&dir).map_err(NetworkError::io(&dir))?;
    let lock_path = dir.join(format!("{}.lock", net.name));
    let lock = berth_storage::lock::lock_file(&lock_path).map_err(NetworkError::io(&lock_path))?;
    let path = dir.join(format!("{}.json", net.name));
    let leases = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|source| NetworkError::CorruptLeases {
            path: path.clone(),
            source,
        })?,
        Err(_) => Leases::new(),
    };
    Ok(Locked {
        _lock: lock,
        path,
        leases,
    })
}

impl Locked {
    fn save(&self) -> Result<(), NetworkError> {
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&self.leases).expect("serialises"))
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(NetworkError::io(&self.path))
    }
}

/// Whether `ip` may be a container's fixed address on the network (`network
/// connect --ip`): in its subnet (podman's words when not), and neither its
/// own address, its broadcast nor its gateway. Outside `--ip-range` is fine,
/// as podman has it.
pub fn check_static(net: &Network, ip: Ipv4Addr) -> Result<(), NetworkError> {
    let (base, len) = parse_subnet(&net.subnet)?;
    if !contains(base, len, ip) {
        return Err(NetworkError::Invalid(format!(
            "requested static ip {ip} not in any subnet on network {}",
            net.name
        )));
    }
    let broadcast = Ipv4Addr::from(u32::from(base) | (u32::MAX >> len));
    if ip == base || ip == broadcast || ip == gateway(net)? {
        return Err(NetworkError::Invalid(format!(
            "requested static ip {ip} is the network address, the broadcast address or the gateway of network {}",
            net.name
        )));
    }
    Ok(())
}

/// Leases `want` (`network connect --ip`), or else the lowest free address,
/// to `id` (the one it holds, if any). Leases of containers that no longer
/// exist are taken back first.
pub fn allocate(
    store: &Store,
    net: &Network,
    id: &str,
    want: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, NetworkError> {
    let mut l = open(store, net)?;
    l.leases.retain(|_, owner| store.container(owner).is_ok());
    if let Some((ip, _)) = l.leases.iter().find(|(_, owner)| *owner == id)
        && want.is_none_or(|w| w == *ip)
    {
        return Ok(*ip);
    }
    let ip = match want {
        Some(ip) => {
            check_static(net, ip)?;
            match l.leases.get(&ip) {
                Some(owner) if owner != id => {
                    return Err(NetworkError::Invalid(format!(
                        "IPAM error: requested ip address {ip} is already allocated to container ID {owner}"
                    )));
                }
                _ => ip,
            }
        }
        None => hosts(net)?
            .find(|ip| !l.leases.contains_key(ip))
            .ok_or_else(|| NetworkError::AddressesExhausted {
                network: net.name.clone(),
                subnet: net.subnet.clone(),
            })?,
    };
    l.leases.retain(|_, owner| owner != id);
    l.leases.insert(ip, id.to_string());
    l.save()?;
    Ok(ip)
}

/// The containers holding an address on the network (those that still exist).
pub fn holders(store: &Store, net: &Network) -> Result<Vec<String>, NetworkError> {
    let l = open(store, net)?;
    Ok(l.leases
        .into_values()
        .filter(|owner| store.container(owner).is_ok())
        .collect())
}

/// Gives back whatever `id` holds on the network.
pub fn release(store: &Store, net: &Network, id: &str) -> Result<(), NetworkError> {
    let mut l = open(store, net)?;
    let before = l.leases.len();
    l.leases.retain(|_, owner| owner != id);
    if l.leases.len() == before {
        return Ok(());
    }
    l.save()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(subnet: &str) -> Network {
        Network {
            name: "n".into(),
            bridge: "b0".into(),
            subnet: subnet.into(),
            dns_enabled: true,
            ..Default::default()
        }
    }

    #[test]
    fn hosts_skip_network_gateway_and_broadcast() {
        let all: Vec<Ipv4Addr> = hosts(&net("10.1.2.0/30")).unwrap().collect();
        assert_eq!(all, vec![Ipv4Addr::new(10, 1, 2, 2)]);
        assert_eq!(
            gateway(&net("10.1.2.77/24")).unwrap(),
            Ipv4Addr::new(10, 1, 2, 1)
        );
        assert_eq!(hosts(&net("10.1.0.0/16")).unwrap().count(), 65533);
        assert!(matches!(
            parse_subnet("10.1.0.0/31"),
            Err(SubnetError::PrefixLength(_))
        ));
        assert!(matches!(
            parse_subnet("10.1.0/24"),
            Err(SubnetError::NotIpv4(_))
        ));
        assert_eq!(
            parse_subnet("10.1.0.0").unwrap_err().to_string(),
            "subnet 10.1.0.0: expected ADDR/LEN"
        );
    }
}
