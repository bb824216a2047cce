//! What can go wrong with bridge networks, in the words users see (podman's
//! where podman has them).

use std::path::PathBuf;

use crate::conf::ConfError;

use super::ipam::SubnetError;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// pasta could not connect a container (its own words).
    #[error("pasta: {0}")]
    Pasta(String),
    /// slirp4netns could not connect a container (its own words).
    #[error("slirp4netns: {0}")]
    Slirp4netns(String),
    /// berth's own backend: a link, address or route the kernel refused.
    #[error("network set-up: {0}")]
    Link(String),
    /// berth's own backend: iptables-restore refused the rules.
    #[error("firewall: {0}")]
    Firewall(String),
    /// berth's own backend: aardvark-dns could not be told.
    #[error("dns: {0}")]
    Dns(String),
    #[error(
        "aardvark-dns not found (install aardvark-dns), which names containers on networks with DNS"
    )]
    AardvarkMissing,
    #[error(
        "--mac-address {0}: expected six hexadecimal octets (02:42:ac:11:00:02), not a group address"
    )]
    InvalidMac(String),
    #[error("--ip: the {0} backend cannot set one")]
    StaticIpUnsupported(&'static str),
    #[error("--mac-address: the {0} backend cannot set one")]
    MacUnsupported(&'static str),
    /// The rootless port forwarder could not start.
    #[error("port forwarder: {0}")]
    Forward(String),
    /// A published port the forwarder could not bind (podman's words).
    #[error("{0}")]
    Publish(String),
    #[error(
        "network {0}: the CNI backend has no rootless mode; set network_backend = \"netavark\" in containers.conf"
    )]
    CniRootless(String),
    #[error("unable to find network with name or ID {0}: network not found")]
    NotFound(String),
    /// A `network create` podman refuses too, in its words.
    #[error("{0}")]
    Invalid(String),
    #[error("network {0} already exists")]
    Exists(String),
    #[error("network name {0:?}: use letters, digits, _ . -")]
    BadName(String),
    /// `--subnet` as given to `network create`.
    #[error("--{0}")]
    InvalidSubnet(#[source] SubnetError),
    /// A stored network's own subnet (a file edited by hand).
    #[error(transparent)]
    Subnet(#[from] SubnetError),
    #[error("subnet {0} is already used by another network")]
    SubnetInUse(String),
    #[error("no free subnet left in 10.89.0.0/16")]
    SubnetsExhausted,
    /// IPAM: every host address of the subnet is leased.
    #[error("network {network}: no free address left in {subnet}")]
    AddressesExhausted { network: String, subnet: String },
    #[error("network {name} is used by containers: {}", .containers.join(", "))]
    InUse {
        name: String,
        containers: Vec<String>,
    },
    #[error("invalid filter {0:?}")]
    InvalidFilter(String),
    #[error("--network {mode}: {reason}")]
    InvalidMode { mode: String, reason: String },
    /// `port CONTAINER PORT`: a PORT[/PROTO] that does not parse.
    #[error("port formats are port/protocol. '{0}' is invalid")]
    InvalidPortQuery(String),
    /// `port CONTAINER PORT`: that port is not published.
    #[error("failed to find published port \"{0}\"")]
    PortNotPublished(String),
    /// `-p` that does not parse.
    #[error("-p {0}: expected [[IP:][HOSTPORT]:]CONTAINERPORT[/tcp|udp|sctp]")]
    InvalidPort(String),
    #[error("-p {container_port}: no free host port: {source}")]
    NoFreePort {
        container_port: u16,
        source: std::io::Error,
    },
    #[error("the container is not running on a bridge network (start it with --network NAME)")]
    NotRunningOnBridge,
    #[error("the container is not on any bridge network")]
    NoBridgeNetwork,
    #[error("the container is not on a bridge network (create it with --network NAME)")]
    NotOnBridge,
    /// What went wrong connecting or disconnecting a container.
    #[error("{container}: {source}")]
    OfContainer {
        container: String,
        source: Box<NetworkError>,
    },
    #[error("the container is already connected to network {0}")]
    AlreadyConnected(String),
    #[error("the container is not connected to network {0}")]
    NotConnected(String),
    #[error(
        "containers.conf network_backend netavark: netavark not found (install netavark and aardvark-dns)"
    )]
    ConfiguredNetavarkMissing,
    #[error("netavark not found (install netavark and aardvark-dns)")]
    NetavarkMissing,
    #[error("CNI plugin {0:?} not found (install containernetworking-plugins)")]
    CniPluginMissing(String),
    /// netavark or a CNI plugin could not be run at all.
    #[error("{program}: {source}")]
    Exec {
        program: String,
        source: std::io::Error,
    },
    /// netavark or a CNI plugin refused: `step` is `netavark setup`,
    /// `bridge ADD`…, `output` its own error line.
    #[error("network {network}: {step}: {output}")]
    Backend {
        network: String,
        step: String,
        output: String,
    },
    #[error("network {0}: the bridge plugin gave no address")]
    NoAddress(String),
    #[error("network namespace {}: {source}", .path.display())]
    Namespace {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A network's file that does not parse.
    #[error("network {name}: {source}")]
    Corrupt {
        name: String,
        source: serde_json::Error,
    },
    /// A lease file that does not parse.
    #[error("{}: {source}", .path.display())]
    CorruptLeases {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing a network's file; shown without the path, as it always was.
    #[error("{source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// The containers using a network could not be listed.
    #[error(transparent)]
    Store(#[from] berth_storage::Error),
}

impl NetworkError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> NetworkError {
        let path = path.into();
        move |source| NetworkError::Io { path, source }
    }
}

impl NetworkError {
    /// A `--filter` the shared prune filters refused, in podman's network words.
    pub fn from_filter(e: crate::prune_filters::InvalidFilter) -> NetworkError {
        match e.key() {
            Some(k) => NetworkError::InvalidFilter(k.to_string()),
            None => NetworkError::Invalid(e.to_string()),
        }
    }
}
