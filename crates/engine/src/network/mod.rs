//! Bridge networks: a network is a bridge with a subnet; a container on it
//! gets a network namespace of its own, pinned under the run root, with an
//! address, a route out, published ports and /etc/hosts entries for the other
//! containers on the network. Two backends do the work, as in podman:
//! netavark with aardvark-dns (the default where installed, [`netavark`]) and
//! the CNI plugins ([`cni`]); containers.conf's `network_backend` picks one.

mod claims;
mod cni;
mod error;
pub mod forward;
pub mod ipam;
mod mode;
mod native;
mod netavark;
mod report;
mod reserve;
pub mod rootless;
pub mod slirp;

pub use error::NetworkError;
pub use mode::NetworkMode;
pub use report::{NetworkInspect, NetworkRow, list_filtered, prune};
pub use reserve::{Reservation, ReserveError, reserve};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_storage::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::container;

/// The default network (`--network bridge`), named as podman names its own so that
/// scripts saying `--network podman` or looking for it in `network ls` work unchanged.
/// Its bridge (`berth0`) and subnet (10.89.0.0/24) are berth's own, so podman's
/// `podman0` on the same host is never touched.
pub const DEFAULT: &str = "podman";
const DEFAULT_SUBNET: &str = "10.89.0.0/24";
const DEFAULT_BRIDGE: &str = "berth0";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub bridge: String,
    /// `10.89.0.0/24`.
    pub subnet: String,
    /// Containers resolve each other's names through aardvark-dns (netavark).
    #[serde(default)]
    pub dns_enabled: bool,
    /// No gateway, no route out, no masquerading.
    #[serde(default)]
    pub internal: bool,
    /// `--gateway`; without one, the subnet's first address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// `--ip-range`: the addresses containers are given, as podman keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
    /// `--label KEY=VALUE`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `-o KEY=VALUE`: the driver's options (`mtu`, and netavark's `vlan`, `isolate`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// When it was made, in nanoseconds since the epoch (0 in records of
    /// older versions: their file's time stands in).
    #[serde(default)]
    pub created: u64,
}

/// `network connect --alias NAME --ip ADDR`: what a container has on one
/// network of its own, kept with it for every start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectOptions {
    /// More names it answers to on that network (DNS and /etc/hosts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Its address there, rather than the next free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
}

/// `--ip-range`'s first and last address (podman's `lease_range`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRange {
    pub start_ip: String,
    pub end_ip: String,
}

impl Network {
    /// A stable 64-hex ID, as podman's network IDs look.
    pub fn id(&self) -> String {
        let d = Sha256::digest(format!("berth-network:{}", self.name));
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `-o isolate=true`: no traffic with the other isolated networks.
    pub fn isolated(&self) -> bool {
        self.options.get("isolate").is_some_and(|v| v == "true")
    }

    /// `-o mtu=N`, for the bridge and its containers' interfaces.
    pub fn mtu(&self) -> Option<u32> {
        self.options
            .get("mtu")
            .and_then(|m| m.parse().ok())
            .filter(|m| *m > 0)
    }
}

/// Which program sets networks up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Netavark,
    #[default]
    Cni,
    /// berth's own ([`native`]).
    Berth,
}

impl Backend {
    /// containers.conf's choice; without one, berth's own.
    pub fn configured() -> Result<Backend, NetworkError> {
        let conf = crate::conf::get()?;
        match conf.network_backend.as_deref() {
            Some("cni") => Ok(Backend::Cni),
            Some("netavark") if netavark::binaries().is_none() => {
                Err(NetworkError::ConfiguredNetavarkMissing)
            }
            Some("netavark") => Ok(Backend::Netavark),
            _ => Ok(Backend::Berth),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Netavark => "netavark",
            Backend::Cni => "cni",
            Backend::Berth => "berth",
        }
    }
}

/// `--mac-address`: a container's first interface's Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MacAddress(pub [u8; 6]);

impl std::str::FromStr for MacAddress {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<MacAddress, NetworkError> {
        let bad = || NetworkError::InvalidMac(s.to_string());
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut b = [0u8; 6];
        for (o, p) in b.iter_mut().zip(&parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        // A group (multicast) address belongs to no one interface.
        if b[0] & 1 == 1 {
            return Err(bad());
        }
        Ok(MacAddress(b))
    }
}

impl std::fmt::Display for MacAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: Vec<String> = self.0.iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&hex.join(":"))
    }
}

impl TryFrom<String> for MacAddress {
    type Error = NetworkError;
    fn try_from(s: String) -> Result<MacAddress, NetworkError> {
        s.parse()
    }
}

impl From<MacAddress> for String {
    fn from(m: MacAddress) -> String {
        m.to_string()
    }
}

/// `-p [IP:]HOST:CONTAINER[/PROTO]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// `0.0.0.0` when none was given (as `port` and `ps` show it): every
    /// address of the host. The backends are told so differently, see
    /// [`PortMapping::firewall_host_ip`].
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

impl PortMapping {
    /// `[[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]`; a host port left out is 0,
    /// for [`PortMapping::assign`] to choose.
    pub fn parse(s: &str) -> Result<PortMapping, NetworkError> {
        let bad = || NetworkError::InvalidPort(s.to_string());
        let (spec, protocol) = match s.rsplit_once('/') {
            Some((a, p @ ("tcp" | "udp" | "sctp"))) => (a, p.to_string()),
            Some(_) => return Err(bad()),
            None => (s, "tcp".to_string()),
        };
        let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
        let (container_port, host_port, host_ip) = match parts.as_slice() {
            [c] => (*c, "", ""),
            [c, h] => (*c, *h, ""),
            [c, h, ip] => (*c, *h, *ip),
            _ => return Err(bad()),
        };
        let port = |p: &str| p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(bad);
        let host_ip = match host_ip {
            "" => "0.0.0.0",
            ip => ip
                .strip_prefix('[')
                .and_then(|ip| ip.strip_suffix(']'))
                .unwrap_or(ip),
        };
        host_ip.parse::<std::net::IpAddr>().map_err(|_| bad())?;
        Ok(PortMapping {
            host_ip: host_ip.to_string(),
            // 0 is how an unassigned one is written back.
            host_port: match host_port {
                "" | "0" => 0,
                p => port(p)?,
            },
            container_port: port(container_port)?,
            protocol,
        })
    }

    /// `-p` as podman takes it: one mapping, or ranges (`8000-8002:80-82`,
    /// `80-82` with free host ports) as one mapping a port.
    pub fn parse_ranges(s: &str) -> Result<Vec<PortMapping>, NetworkError> {
        let bad = || NetworkError::InvalidPort(s.to_string());
        if !s.contains('-') {
            return Ok(vec![PortMapping::parse(s)?]);
        }
        let (spec, proto) = s.rsplit_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        // The ports are the last two fields: an IPv6 address holds ':' too.
        let (rest, container) = spec.rsplit_once(':').map_or(("", spec), |(r, c)| (r, c));
        let (prefix, host) = match rest.rsplit_once(':') {
            Some((ip, h)) => (format!("{ip}:"), h),
            None => (String::new(), rest),
        };
        let range = |r: &str| -> Result<(u16, u16), NetworkError> {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            let (a, b) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a == 0 || b < a {
                return Err(bad());
            }
            Ok((a, b))
        };
        let (c0, c1) = range(container)?;
        let host = match host {
            "" | "0" => None,
            h => Some(range(h)?),
        };
        if host.is_some_and(|(h0, h1)| h1 - h0 != c1 - c0) {
            return Err(bad());
        }
        (0..=c1 - c0)
            .map(|i| {
                let h = host.map_or(0, |(h0, _)| h0 + i);
                let one = format!("{prefix}{h}:{}", c0 + i);
                PortMapping::parse(&match proto {
                    Some(p) => format!("{one}/{p}"),
                    None => one,
                })
            })
            .collect()
    }

    /// Every `-p` flag's mappings, in order.
    pub fn parse_all(flags: &[String]) -> Result<Vec<PortMapping>, NetworkError> {
        let mut v = Vec::new();
        for f in flags {
            v.extend(PortMapping::parse_ranges(f)?);
        }
        Ok(v)
    }

    /// A free host port for one left out (the kernel's choice for a socket
    /// bound, never listening, on the host address).
    pub fn assign(&mut self) -> Result<(), NetworkError> {
        if self.host_port != 0 {
            return Ok(());
        }
        let addr = (self.host_ip.as_str(), 0);
        let port = match self.protocol.as_str() {
            "udp" => std::net::UdpSocket::bind(addr).and_then(|s| s.local_addr()),
            _ => std::net::TcpListener::bind(addr).and_then(|s| s.local_addr()),
        }
        .map_err(|source| NetworkError::NoFreePort {
            container_port: self.container_port,
            source,
        })?
        .port();
        self.host_port = port;
        Ok(())
    }

    /// The host address as netavark and the CNI portmap plugin take it: none
    /// (`""`) for the wildcard, as podman passes it (its `-p` parser leaves
    /// HostIP unset for 0.0.0.0: "CNI treats 0.0.0.0 and empty
    /// differently"). netavark 1.4 adds `-d HOST_IP` to its DNAT and
    /// masquerade-mark rules for any address it is given, so `0.0.0.0` became
    /// `-d 0.0.0.0/32`, which no packet matches: the port answered nowhere.
    /// Without an address its rules match every local destination (its
    /// PREROUTING and OUTPUT jumps are `-m addrtype --dst-type LOCAL`):
    /// loopback, the gateway, every interface.
    pub fn firewall_host_ip(&self) -> &str {
        match self.host_ip.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_unspecified() => "",
            _ => &self.host_ip,
        }
    }

    /// Whether `other` publishes the same container port.
    pub fn same_target(&self, other: &PortMapping) -> bool {
        self.container_port == other.container_port && self.protocol == other.protocol
    }
}

impl std::fmt::Display for PortMapping {
    /// `IP:HOSTPORT:CONTAINERPORT/PROTO` (host port 0: still to be chosen).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip = &self.host_ip;
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.clone()
        };
        write!(
            f,
            "{ip}:{}:{}/{}",
            self.host_port, self.container_port, self.protocol
        )
    }
}

impl std::str::FromStr for PortMapping {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<PortMapping, NetworkError> {
        PortMapping::parse(s)
    }
}

/// What a container got on its networks, kept to undo it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// Who made it, and so who undoes it.
    #[serde(default)]
    pub backend: Backend,
    pub netns: PathBuf,
    /// The network being joined (kept even when joining failed half-way).
    #[serde(default)]
    pub network: Option<String>,
    /// (network, interface, address without prefix length).
    pub interfaces: Vec<(String, String, String)>,
    pub ports: Vec<PortMapping>,
    /// Nameservers and search domains the networks serve (aardvark-dns).
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub search: Vec<String>,
    /// The first network's gateway: the host, as the container sees it.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The container's own address where no bridge network gives it one
    /// (slirp4netns's `.100`), for its /etc/hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The process serving the namespace (slirp4netns) or its published ports
    /// (the rootless port forwarder), ended at teardown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<berth_runtime::pid::ProcessId>,
}

fn dir(store: &Store) -> PathBuf {
    store.config().graph_root.join("networks")
}

fn valid_name(n: &str) -> bool {
    // aardvark-dns keeps its PID beside the networks' files.
    n != "aardvark.pid"
        && !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A network's record; one of an older version, which kept no time of
/// making, is dated by its file.
fn read(path: &Path) -> Option<Result<Network, serde_json::Error>> {
    let b = std::fs::read(path).ok()?;
    Some(serde_json::from_slice::<Network>(&b).map(|mut n| {
        if n.created == 0 {
            n.created = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as u64);
        }
        n
    }))
}

/// A network by name; the default one is made on first use.
pub fn get(store: &Store, name: &str) -> Result<Network, NetworkError> {
    let p = dir(store).join(format!("{name}.json"));
    match read(&p) {
        Some(r) => r.map_err(|source| NetworkError::Corrupt {
            name: name.to_string(),
            source,
        }),
        None if name == DEFAULT => create(store, DEFAULT, &CreateOptions::default()),
        None => Err(NetworkError::NotFound(name.to_string())),
    }
}

pub fn list(store: &Store) -> Vec<Network> {
    let mut v: Vec<Network> = std::fs::read_dir(dir(store))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .filter_map(|e| read(&e.path())?.ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a: &Network, b| a.name.cmp(&b.name));
    v
}

/// `network create`'s choices.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// `-d`: `bridge` (the default) is the one driver berth has.
    pub driver: Option<String>,
    /// Without one, the first free 10.89.N.0/24.
    pub subnet: Option<String>,
    /// `--gateway` (needs a subnet).
    pub gateway: Option<String>,
    /// `--ip-range ADDR/LEN` (needs a subnet): where containers' addresses come from.
    pub ip_range: Option<String>,
    pub internal: bool,
    pub disable_dns: bool,
    /// `--ipv6`: refused, berth's networks are IPv4 only.
    pub ipv6: bool,
    pub labels: BTreeMap<String, String>,
    /// `-o KEY=VALUE`.
    pub options: BTreeMap<String, String>,
}

/// Checks the driver's options as podman does, and keeps those the configured
/// backend can honour: `mtu` everywhere, `vlan` with netavark and CNI,
/// `isolate` with netavark and berth's own; the rest are refused in podman's words.
fn check_options(
    options: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, NetworkError> {
    let invalid = |why: String| NetworkError::Invalid(why);
    let atoi = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax")))
    };
    let backend = Backend::configured()?;
    let mut kept = BTreeMap::new();
    for (k, v) in options {
        let honoured = match k.as_str() {
            "mtu" => true,
            "vlan" => matches!(backend, Backend::Netavark | Backend::Cni),
            "isolate" => matches!(backend, Backend::Netavark | Backend::Berth),
            _ => false,
        };
        if !honoured {
            return Err(invalid(format!("unsupported bridge network option {k}")));
        }
        let v = match k.as_str() {
            "mtu" if v.is_empty() => continue,
            "mtu" => match atoi(v)? {
                m if m < 0 => return Err(invalid(format!("mtu {m} is less than zero"))),
                m => m.to_string(),
            },
            "vlan" if v.is_empty() => continue,
            "vlan" => match atoi(v)? {
                n if !(0..=4094).contains(&n) => {
                    return Err(invalid(format!("vlan ID {n} must be between 0 and 4094")));
                }
                n => n.to_string(),
            },
            // Go's ParseBool, written back as netavark reads it.
            _ => match v.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => "true".to_string(),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => "false".to_string(),
                _ => {
                    return Err(invalid(format!(
                        "strconv.ParseBool: parsing {v:?}: invalid syntax"
                    )));
                }
            },
        };
        kept.insert(k.clone(), v);
    }
    Ok(kept)
}

/// The name of a network made without one, as podman names it: `podmanN`,
/// the first N from 1 that no network has.
pub fn free_name(store: &Store) -> String {
    let taken: Vec<String> = list(store).into_iter().map(|n| n.name).collect();
    (1..)
        .map(|i| format!("podman{i}"))
        .find(|n| !taken.contains(n))
        .expect("a free name")
}

/// Creates a network.
pub fn create(store: &Store, name: &str, o: &CreateOptions) -> Result<Network, NetworkError> {
    let subnet = o.subnet.as_deref();
    if !valid_name(name) {
        return Err(NetworkError::BadName(name.to_string()));
    }
    let invalid = |why: String| NetworkError::Invalid(why);
    match o.driver.as_deref() {
        None | Some("bridge") => {}
        // macvlan and ipvlan are podman's too, but not berth's.
        Some(d) => return Err(invalid(format!("unsupported driver {d}: invalid argument"))),
    }
    if o.ipv6 {
        return Err(invalid(
            "--ipv6: not supported, berth's networks are IPv4 only".into(),
        ));
    }
    if subnet.is_none() && (o.gateway.is_some() || o.ip_range.is_some()) {
        return Err(invalid("cannot set gateway or range without subnet".into()));
    }
    let options = check_options(&o.options)?;
    let path = dir(store).join(format!("{name}.json"));
    // Held until the network's file is written: no other create, in this
    // store or another, picks the same subnet or bridge meanwhile.
    let claims = claims::Claims::lock(&store.config().run_root)?;
    let existing = list(store);
    if existing.iter().any(|n| n.name == name) {
        return Err(NetworkError::Exists(name.to_string()));
    }
    // The default network's subnet and bridge are the same in every store
    // (one bridge they share, as podman's `podman0`); no other network's.
    let free = |what: &str, default: &str| {
        name == DEFAULT || (what != default && !claims.taken_by_other(what, &path))
    };
    let subnet = match subnet {
        Some(s) => {
            ipam::parse_subnet(s).map_err(NetworkError::InvalidSubnet)?;
            s.to_string()
        }
        // Not one another store's network (or anything else) routes on this
        // host already: two bridges of one subnet would fight over it.
        None => {
            let routed = host_routes();
            (0..=255)
                .map(|i| format!("10.89.{i}.0/24"))
                .find(|s| {
                    !existing.iter().any(|n| &n.subnet == s)
                        && free(s, DEFAULT_SUBNET)
                        && (name == DEFAULT || !routed.contains(s))
                })
                .ok_or(NetworkError::SubnetsExhausted)?
        }
    };
    if existing.iter().any(|n| n.subnet == subnet) {
        return Err(NetworkError::SubnetInUse(subnet));
    }
    // A removed network's bridge name may be taken again, never a live one,
    // nor one the host has or another store's network claims.
    let bridge = (0..)
        .map(|i| format!("berth{i}"))
        .find(|b| {
            !existing.iter().any(|n| &n.bridge == b)
                && free(b, DEFAULT_BRIDGE)
                && (name == DEFAULT || !Path::new("/sys/class/net").join(b).exists())
        })
        .expect("a free bridge name");
    let (gateway, lease_range) =
        ipam::check_gateway_and_range(&subnet, o.gateway.as_deref(), o.ip_range.as_deref())?;
    // A subnet the user names may be another store's network's on this host.
    if name != DEFAULT && claims.taken_by_other(&subnet, &path) {
        return Err(NetworkError::SubnetInUse(subnet));
    }
    let net = Network {
        name: name.to_string(),
        bridge,
        subnet,
        // As podman's: DNS on the networks users make, not on the default one.
        dns_enabled: !o.disable_dns && name != DEFAULT,
        internal: o.internal,
        gateway,
        lease_range,
        labels: o.labels.clone(),
        options,
        created: crate::time::now_ns(),
    };
    let write = |path: PathBuf| move |source| NetworkError::Write { path, source };
    std::fs::create_dir_all(dir(store)).map_err(write(dir(store)))?;
    if name != DEFAULT {
        claims.claim(&net.subnet, &path)?;
        claims.claim(&net.bridge, &path)?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&net).expect("serialises"))
        .map_err(write(path.clone()))?;
    Ok(net)
}

/// The IPv4 networks the host routes (`/proc/net/route`), as `ADDR/LEN`.
fn host_routes() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            // The kernel prints the address as a number in its own byte order.
            let dst = std::net::Ipv4Addr::from(dst.to_ne_bytes());
            Some(format!("{dst}/{}", mask.count_ones()))
        })
        .collect()
}

/// Removes a network no container uses.
pub fn remove(store: &Store, name: &str) -> Result<(), NetworkError> {
    get(store, name)?;
    let users: Vec<String> = users(store, name)?
        .into_iter()
        .map(|i| i.name().to_string())
        .collect();
    if !users.is_empty() {
        return Err(NetworkError::InUse {
            name: name.to_string(),
            containers: users,
        });
    }
    let net = get(store, name)?;
    {
        let _lock = backend_lock(store)?;
        native::remove_network(store, &net);
    }
    let path = dir(store).join(format!("{name}.json"));
    std::fs::remove_file(&path).map_err(|source| NetworkError::Write {
        path: path.clone(),
        source,
    })?;
    if let Ok(claims) = claims::Claims::lock(&store.config().run_root) {
        claims.release(&net.subnet, &path);
        claims.release(&net.bridge, &path);
    }
    Ok(())
}

/// Every network's bridge and rules removed (`system reset`).
pub fn remove_all_bridges(store: &Store) {
    if let Ok(_lock) = backend_lock(store) {
        for net in list(store) {
            native::remove_network(store, &net);
        }
    }
}

/// The containers on network `name`.
pub fn users(store: &Store, name: &str) -> Result<Vec<container::Info>, NetworkError> {
    Ok(container::list(store)?
        .into_iter()
        .filter(|i| on_network(i, name))
        .collect())
}

/// Whether the container is on bridge network `name` (its first, or one
/// more it was given or connected to).
pub fn on_network(i: &container::Info, name: &str) -> bool {
    i.config.process.network.bridge() == Some(name)
        || i.config.process.networks.iter().any(|n| n == name)
}

/// Which container interface a backend call is about.
pub(crate) struct Target<'a> {
    net: &'a Network,
    id: &'a str,
    /// The container's name, which DNS answers for.
    name: &'a str,
    /// `--dns`: where aardvark-dns forwards this container's other queries.
    dns: &'a [String],
    /// `--network-alias`: more names for DNS.
    aliases: &'a [String],
    netns: &'a Path,
    ifname: &'a str,
    ports: &'a [PortMapping],
    /// `--mac-address`, for the first interface.
    mac: Option<MacAddress>,
    /// `network connect --ip`: the address to lease.
    ip: Option<std::net::Ipv4Addr>,
}

/// What a container got on one network.
pub(crate) struct Iface {
    ip: String,
    dns: Vec<String>,
    search: Vec<String>,
}

/// Held while a backend sets up or tears down: netavark and the CNI plugins
/// edit shared firewall chains without a lock of their own, so a teardown
/// that drops a network's chains must not run beside a setup that appends
/// to them ("No chain/target/match by that name"). podman holds one too.
fn backend_lock(store: &Store) -> Result<std::fs::File, NetworkError> {
    let d = dir(store);
    std::fs::create_dir_all(&d).map_err(NetworkError::io(&d))?;
    let path = d.join("backend.lock");
    berth_storage::lock::lock_file(&path).map_err(NetworkError::io(&path))
}

fn attach_with(backend: Backend, store: &Store, t: &Target) -> Result<Iface, NetworkError> {
    let _lock = backend_lock(store)?;
    match backend {
        Backend::Netavark => netavark::attach(store, t),
        Backend::Berth => native::attach(store, t),
        Backend::Cni if rootless::active() => Err(NetworkError::CniRootless(t.net.name.clone())),
        Backend::Cni if t.mac.is_some() => Err(NetworkError::MacUnsupported("cni")),
        Backend::Cni if t.ip.is_some() => Err(NetworkError::StaticIpUnsupported("cni")),
        Backend::Cni => cni::attach(store, t),
    }
}

fn detach_with(backend: Backend, store: &Store, t: &Target, ip: &str) -> Result<(), NetworkError> {
    let _lock = backend_lock(store)?;
    let done = match backend {
        Backend::Netavark => netavark::detach(store, t, ip),
        Backend::Berth => native::detach(store, t, ip),
        Backend::Cni => cni::detach(store, t),
    };
    if rootless::active() {
        rootless::remove_if_unused(store);
    }
    done
}

/// The container's name, `--dns` servers, aliases and `--mac-address` (none
/// once it is gone), read once.
fn container_facts(
    store: &Store,
    id: &str,
) -> (String, Vec<String>, Vec<String>, Option<MacAddress>) {
    match container::find(store, id) {
        Ok(i) => (
            i.name().to_string(),
            i.config.process.dns.clone(),
            i.config.process.network_aliases.clone(),
            i.config.process.mac_address,
        ),
        Err(_) => (
            id[..12.min(id.len())].to_string(),
            Vec::new(),
            Vec::new(),
            None,
        ),
    }
}

/// What the container was connected to `network` with (`network connect
/// --alias/--ip`).
fn connect_options(store: &Store, id: &str, network: &str) -> ConnectOptions {
    container::find(store, id)
        .ok()
        .and_then(|i| i.config.process.network_options.get(network).cloned())
        .unwrap_or_default()
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

/// The ports published to a container: its own, or those of the container whose
/// network namespace it joins (a pod's infra container, `--network container:`).
pub fn published_ports(store: &Store, info: &container::Info) -> Vec<PortMapping> {
    let owner = info.config.process.network.container().map_or_else(
        || info.id.clone(),
        |donor| container::find(store, donor).map_or_else(|_| donor.to_string(), |d| d.id),
    );
    attachment(store, &owner)
        .map(|a| a.ports)
        .unwrap_or_default()
}

/// `port CONTAINER PRIVATE_PORT[/PROTO]`: where that port of the container
/// (tcp when no protocol is named) is published on the host, each place it is.
pub fn published_port(
    store: &Store,
    info: &container::Info,
    port: &str,
) -> Result<Vec<PortMapping>, NetworkError> {
    let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
    let number: u16 = number
        .parse()
        .ok()
        .filter(|_| !protocol.contains('/'))
        .ok_or_else(|| NetworkError::InvalidPortQuery(port.to_string()))?;
    let found: Vec<PortMapping> = published_ports(store, info)
        .into_iter()
        .filter(|p| p.container_port == number && p.protocol == protocol)
        .collect();
    match found.is_empty() {
        true => Err(NetworkError::PortNotPublished(port.to_string())),
        false => Ok(found),
    }
}

fn save(store: &Store, id: &str, att: &Attachment) -> Result<(), NetworkError> {
    let path = attachment_path(store, id);
    let _ = std::fs::create_dir_all(container::userdata(store, id));
    std::fs::write(&path, serde_json::to_vec(att).expect("serialises"))
        .map_err(NetworkError::io(&path))
}

/// `--network none`: a namespace of the container's own with only its loopback,
/// which is up (as podman has it; a runtime would leave it down). Pinned as a
/// bridge network's is, and released by [`teardown`].
pub fn setup_isolated(store: &Store, id: &str) -> Result<Attachment, NetworkError> {
    if let Some(a) = attachment(store, id).filter(|a| a.netns.exists()) {
        return Ok(a);
    }
    let netns = netns_path(store, id);
    let att = Attachment {
        netns: netns.clone(),
        ..Default::default()
    };
    // Recorded before it is pinned: a process killed in between leaves a record
    // that teardown reads, never a pin nobody knows of.
    save(store, id, &att)?;
    crate::sys::pin_new_netns(&netns).map_err(|source| NetworkError::Namespace {
        path: netns.clone(),
        source,
    })?;
    Ok(att)
}

/// `--network pasta`: a namespace of the container's own, as [`setup_isolated`]'s,
/// that pasta connects to the host's network (its addresses and routes copied in,
/// the gateway standing for the host) and publishes `ports` into. [`teardown`]
/// ends pasta and waits for it.
pub fn setup_pasta(
    store: &Store,
    id: &str,
    ports: &[PortMapping],
    options: &[String],
) -> Result<Attachment, NetworkError> {
    if let Some(a) = attachment(store, id).filter(|a| a.netns.exists()) {
        return Ok(a);
    }
    let mut att = setup_isolated(store, id)?;
    att.ports = ports.to_vec();
    save(store, id, &att)?;
    let mut cmd = std::process::Command::new("pasta");
    cmd.args(["--config-net", "--quiet", "--ns-ifname", "eth0"]);
    for p in ports {
        let flag = if p.protocol == "udp" { "-u" } else { "-t" };
        let addr = match p.host_ip.as_str() {
            "" | "0.0.0.0" => String::new(),
            ip => format!("{ip}/"),
        };
        cmd.arg(flag)
            .arg(format!("{addr}{}:{}", p.host_port, p.container_port));
    }
    cmd.args(options);
    // Its PID, so that teardown ends it and waits: a port it held is free
    // again when `run --rm` returns, not whenever pasta notices.
    match run_pasta(cmd, &att.netns) {
        Ok(helper) => att.helper = helper,
        Err(e) => {
            teardown(store, id);
            return Err(e);
        }
    }
    save(store, id, &att)?;
    Ok(att)
}

/// Runs `cmd` (pasta and its options) for the namespace at `netns`: pasta
/// configures it, goes to the background and writes its PID, returned with
/// its start time (never mistaken for a process that took the PID over).
fn run_pasta(
    mut cmd: std::process::Command,
    netns: &Path,
) -> Result<Option<berth_runtime::pid::ProcessId>, NetworkError> {
    let pid_file = netns.with_extension("pasta");
    let _ = std::fs::remove_file(&pid_file);
    cmd.arg("--pid").arg(&pid_file).arg("--netns").arg(netns);
    // Not /dev/null for stdin: some hosts keep it from ordinary users.
    cmd.stdin(std::process::Stdio::piped());
    let out = cmd
        .output()
        .map_err(|e| NetworkError::Pasta(format!("run pasta (Debian's passt package): {e}")))?;
    if !out.status.success() {
        // Its complaints that no syslog listens here say nothing about the failure.
        let why = String::from_utf8_lossy(&out.stderr);
        let why: Vec<&str> = why
            .lines()
            .filter(|l| !l.is_empty() && !l.contains("syslog"))
            .collect();
        return Err(NetworkError::Pasta(why.join("; ")));
    }
    let id = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| berth_runtime::pid::Pid::parse(t.trim()))
        .and_then(berth_runtime::pid::ProcessId::of);
    let _ = std::fs::remove_file(&pid_file);
    Ok(id)
}

/// Connects a container to a bridge network (once; a restart reuses it);
/// returns the pinned network namespace to run it in.
pub fn setup(
    store: &Store,
    id: &str,
    network: &str,
    ports: &[PortMapping],
) -> Result<Attachment, NetworkError> {
    match attachment(store, id) {
        Some(a) if a.netns.exists() && !a.interfaces.is_empty() => return Ok(a),
        // One a killed berth left half-made: undone, then made again.
        Some(_) => teardown(store, id),
        None => {}
    }
    let net = get(store, network)?;
    let backend = Backend::configured()?;
    let netns = netns_path(store, id);
    crate::sys::pin_new_netns(&netns).map_err(|source| NetworkError::Namespace {
        path: netns.clone(),
        source,
    })?;
    let mut att = Attachment {
        backend,
        netns: netns.clone(),
        network: Some(net.name.clone()),
        ports: ports.to_vec(),
        ..Default::default()
    };
    let (name, dns, mut aliases, mac) = container_facts(store, id);
    let own = connect_options(store, id, &net.name);
    aliases.extend(own.aliases);
    let t = Target {
        net: &net,
        id,
        name: &name,
        dns: &dns,
        aliases: &aliases,
        netns: &netns,
        ifname: "eth0",
        ports,
        mac,
        ip: own.ip,
    };
    // Recorded before anything is made: a berth killed half-way leaves a
    // record that teardown undoes (rules, names, veth), not rules nobody knows of.
    if let Err(e) = save(store, id, &att) {
        teardown(store, id);
        return Err(e);
    }
    let mut result = attach_with(backend, store, &t);
    if let Ok(iface) = &result
        && rootless::active()
        && !ports.is_empty()
    {
        match forward::spawn(&rootless::netns_path(store), &iface.ip, ports) {
            Ok(helper) => att.helper = Some(helper),
            Err(e) => result = Err(e),
        }
    }
    if let Ok(iface) = &result {
        att.interfaces
            .push((net.name.clone(), "eth0".into(), iface.ip.clone()));
        att.dns.clone_from(&iface.dns);
        att.search.clone_from(&iface.search);
        att.gateway = (!net.internal)
            .then(|| ipam::gateway(&net).ok().map(|g| g.to_string()))
            .flatten();
    }
    // Saved even on failure, so that teardown undoes whatever was done.
    let saved = save(store, id, &att);
    if let Err(e) = result.map(drop).and(saved) {
        teardown(store, id);
        return Err(e);
    }
    Ok(att)
}

/// `network connect`: one more interface (`ethN`) on `network` for a
/// container that runs in a bridge network namespace, with the aliases and
/// address it was connected with (`extra`, or those kept with it); returns
/// its address.
pub fn connect(
    store: &Store,
    id: &str,
    network: &str,
    extra: Option<&ConnectOptions>,
) -> Result<String, NetworkError> {
    // A --network none container's namespace is pinned too, but is no bridge's.
    let mut att = attachment(store, id)
        .filter(|a| a.netns.exists() && a.network.is_some())
        .ok_or(NetworkError::NotRunningOnBridge)?;
    if att.interfaces.iter().any(|(n, _, _)| n == network) {
        return Err(NetworkError::AlreadyConnected(network.to_string()));
    }
    let net = get(store, network)?;
    let ifname = format!("eth{}", att.interfaces.len());
    let (name, dns, mut aliases, _) = container_facts(store, id);
    let own = extra
        .cloned()
        .unwrap_or_else(|| connect_options(store, id, &net.name));
    aliases.extend(own.aliases);
    let t = Target {
        net: &net,
        id,
        name: &name,
        dns: &dns,
        aliases: &aliases,
        netns: &att.netns,
        ifname: &ifname,
        ports: &[],
        mac: None,
        ip: own.ip,
    };
    let iface = attach_with(att.backend, store, &t)?;
    att.interfaces
        .push((net.name.clone(), ifname, iface.ip.clone()));
    for d in iface.dns {
        if !att.dns.contains(&d) {
            att.dns.push(d);
        }
    }
    save(store, id, &att)?;
    Ok(iface.ip)
}

/// `network disconnect`: the container's interface on `network` goes.
pub fn disconnect(store: &Store, id: &str, network: &str) -> Result<(), NetworkError> {
    let mut att = attachment(store, id).ok_or(NetworkError::NoBridgeNetwork)?;
    let at = att
        .interfaces
        .iter()
        .position(|(n, _, _)| n == network)
        .ok_or_else(|| NetworkError::NotConnected(network.to_string()))?;
    let (_, ifname, ip) = att.interfaces.remove(at);
    let net = get(store, network)?;
    // Published ports hang on the first interface.
    let ports = if at == 0 {
        if let Some(forwarder) = att.helper.take() {
            slirp::stop(store, id, &forwarder);
        }
        std::mem::take(&mut att.ports)
    } else {
        Vec::new()
    };
    let (name, dns, aliases, _) = container_facts(store, id);
    let t = Target {
        net: &net,
        id,
        name: &name,
        dns: &dns,
        aliases: &aliases,
        netns: &att.netns,
        ifname: &ifname,
        ports: &ports,
        mac: None,
        ip: None,
    };
    detach_with(att.backend, store, &t, &ip)?;
    save(store, id, &att)
}

/// Undoes [`setup`] and every `connect`: each interface detached, the
/// namespace unpinned. Failures are ignored: this is also the cleanup of a
/// setup that failed half-way.
pub fn teardown(store: &Store, id: &str) {
    let Some(att) = attachment(store, id) else {
        // A setup killed before it recorded anything may still have pinned the
        // namespace at its usual place.
        crate::sys::unpin_netns(&netns_path(store, id));
        return;
    };
    if let Some(helper) = &att.helper {
        slirp::stop(store, id, helper);
    }
    let (name, dns, aliases, _) = container_facts(store, id);
    let detach = |net: &Network, ifname: &str, ip: &str, ports: &[PortMapping]| {
        let t = Target {
            net,
            id,
            name: &name,
            dns: &dns,
            aliases: &aliases,
            netns: &att.netns,
            ifname,
            ports,
            mac: None,
            ip: None,
        };
        let _ = detach_with(att.backend, store, &t, ip);
    };
    for (i, (net_name, ifname, ip)) in att.interfaces.iter().enumerate() {
        if let Ok(net) = get(store, net_name) {
            let ports = if i == 0 { &att.ports[..] } else { &[] };
            detach(&net, ifname, ip, ports);
        }
    }
    if att.interfaces.is_empty()
        && let Some(n) = &att.network
        && let Ok(net) = get(store, n)
    {
        // A setup that failed half-way: release whatever address it took.
        match att.backend {
            // berth's own undoes what there is of it (its ports' rules, its
            // name, its veth), then gives the lease back.
            Backend::Cni | Backend::Berth => detach(&net, "eth0", "", &att.ports),
            Backend::Netavark => {
                let _ = ipam::release(store, &net, id);
            }
        }
    }
    crate::sys::unpin_netns(&att.netns);
    let _ = std::fs::remove_file(attachment_path(store, id));
    // The others forget its name (its address may soon be someone else's).
    refresh_all_hosts(store);
}

/// Rewrites the /etc/hosts of every container on a bridge network with the
/// names of all the containers it shares a network with.
/// `network connect` (or `disconnect`) of a container, running or not: kept
/// with the container, so that it is on the network at every start, with the
/// aliases and address of `options`; every member's /etc/hosts is brought up
/// to date. `force` (`disconnect -f`): a connection whose interface cannot
/// be undone (gone already, a backend that fails) is still dropped.
pub fn set_connected(
    store: &Store,
    container: &str,
    network: &str,
    connect: bool,
    options: &ConnectOptions,
    force: bool,
) -> Result<(), crate::Error> {
    let info = container::find(store, container)?;
    let of = |source| NetworkError::OfContainer {
        container: container.to_string(),
        source: Box::new(source),
    };
    let process = &info.config.process;
    let on = process.networks.iter().any(|n| n == network);
    let running = attachment(store, &info.id).is_some_and(|a| a.netns.exists());
    if connect {
        let net = get(store, network)?;
        if let Some(ip) = options.ip {
            ipam::check_static(&net, ip).map_err(of)?;
        }
    }
    if running {
        let done = if connect {
            self::connect(store, &info.id, network, Some(options)).map(drop)
        } else {
            match disconnect(store, &info.id, network) {
                Err(_) if force && on => Ok(()),
                r => r,
            }
        };
        done.map_err(of)?;
    } else if process.network.bridge().is_none() {
        return Err(of(NetworkError::NotOnBridge).into());
    } else if connect && (on || process.network.bridge() == Some(network)) {
        return Err(of(NetworkError::AlreadyConnected(network.to_string())).into());
    } else if !connect && !on {
        return Err(of(NetworkError::NotConnected(network.to_string())).into());
    }
    container::update_config(store, &info.id, |cfg| {
        let n = &mut cfg.process.networks;
        n.retain(|x| x != network);
        cfg.process.network_options.remove(network);
        if connect {
            n.push(network.to_string());
            if *options != ConnectOptions::default() {
                cfg.process
                    .network_options
                    .insert(network.to_string(), options.clone());
            }
        }
    })?;
    refresh_all_hosts(store);
    Ok(())
}

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

/// The names a container answers to on `network`, as podman's inspect lists
/// them: its `--network-alias`es, those it was connected there with
/// (`network connect --alias`), then its short ID.
pub fn aliases(i: &container::Info, network: &str) -> Vec<String> {
    let p = &i.config.process;
    let own = p.network_options.get(network).map(|o| &o.aliases[..]);
    p.network_aliases
        .iter()
        .chain(own.unwrap_or_default())
        .cloned()
        .chain(std::iter::once(i.id[..12.min(i.id.len())].to_string()))
        .collect()
}

/// `IP NAME` lines for the running containers on `network` (for /etc/hosts):
/// each container's name and its `--network-alias`es.
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
            let own = i.config.process.network_options.get(network);
            let names = std::iter::once(i.name().to_string())
                .chain(i.config.process.network_aliases.iter().cloned())
                .chain(own.into_iter().flat_map(|o| o.aliases.iter().cloned()));
            Some(names.map(|n| (ip.clone(), n)).collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn port_ranges_are_one_mapping_a_port() {
        let show = |s: &str| -> Vec<String> {
            PortMapping::parse_ranges(s)
                .unwrap()
                .iter()
                .map(|m| {
                    format!(
                        "{}:{}:{}/{}",
                        m.host_ip, m.host_port, m.container_port, m.protocol
                    )
                })
                .collect()
        };
        assert_eq!(
            show("127.0.0.1:8000-8002:80-82/udp"),
            [
                "127.0.0.1:8000:80/udp",
                "127.0.0.1:8001:81/udp",
                "127.0.0.1:8002:82/udp"
            ]
        );
        assert_eq!(show("90-91"), ["0.0.0.0:0:90/tcp", "0.0.0.0:0:91/tcp"]);
        assert_eq!(show("[::1]:5-6:5-6"), ["::1:5:5/tcp", "::1:6:6/tcp"]);
        assert_eq!(show("8080:80"), ["0.0.0.0:8080:80/tcp"]);
        for bad in [
            "8000-8002:80",
            "82-80:82-80",
            "0-2:0-2",
            "a-b:1-2",
            "1-2:1-2/icmp",
        ] {
            assert!(PortMapping::parse_ranges(bad).is_err(), "{bad}");
        }
    }

    use super::PortMapping;

    #[test]
    fn a_port_reads_back_from_the_form_it_is_kept_in() {
        for flag in [
            "80",
            "8080:80/udp",
            "127.0.0.1:8080:80",
            "[::1]:8080:80/sctp",
        ] {
            let p = PortMapping::parse(flag).unwrap();
            assert_eq!(p.to_string().parse::<PortMapping>().unwrap(), p, "{flag}");
        }
        let p = PortMapping::parse("[::1]:8080:80").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.to_string()),
            ("::1", "[::1]:8080:80/tcp".into())
        );
        // Left out, the host port is 0 until create chooses one.
        assert_eq!(
            PortMapping::parse("80").unwrap().to_string(),
            "0.0.0.0:0:80/tcp"
        );
    }

    #[test]
    fn a_bad_port_is_refused_naming_it() {
        for flag in ["0", "70000", "80/icmp", "a:b:c:80", "host:80:80", ":80:x"] {
            let e = PortMapping::parse(flag).unwrap_err().to_string();
            assert!(e.contains(flag), "{flag}: {e}");
        }
    }

    #[test]
    fn records_of_older_versions_keep_their_ports() {
        // Before ports were typed, records held the flag as given.
        let old = r#"{"ports": ["8080:80", "127.0.0.1:0:53/udp"]}"#;
        let o: crate::spec::ProcessOptions = serde_json::from_str(old).unwrap();
        assert_eq!(o.ports[0].host_port, 8080);
        assert_eq!(o.ports[1].protocol, "udp");
        let again = serde_json::to_value(&o).unwrap();
        assert_eq!(again["ports"][0], "0.0.0.0:8080:80/tcp");
    }
}
