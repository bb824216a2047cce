//! `--network`: which network namespace a container gets.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::{DEFAULT, NetworkError, valid_name};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// Not given: containers.conf's `netns` decides when the container is made.
    #[default]
    Unset,
    /// A bridge network, by name (`bridge` is the default one).
    Bridge(String),
    /// The host's namespace.
    Host,
    /// A namespace of its own with loopback only.
    None,
    /// `container:ID`: another container's namespace, joined while it runs.
    Container(String),
    /// `ns:PATH`: a namespace file.
    Ns(PathBuf),
    /// `pasta[:OPTIONS]`: a namespace of its own that pasta (from passt) connects
    /// to the host's network without privileges: rootless networking. The
    /// options (comma-separated) go to pasta as they are.
    Pasta(Vec<String>),
    /// `slirp4netns[:OPTIONS]`: a namespace of its own behind slirp4netns's
    /// user-mode network (10.0.2.0/24, the host at 10.0.2.2), podman 4's
    /// rootless default; `allow_host_loopback`, `cidr`, `enable_ipv6`, `mtu`
    /// and `port_handler=slirp4netns` are its options.
    Slirp4netns(Vec<String>),
}

impl NetworkMode {
    /// The bridge network joined, if any.
    pub fn bridge(&self) -> Option<&str> {
        match self {
            NetworkMode::Bridge(n) => Some(n),
            _ => None,
        }
    }

    /// How `inspect` names the mode (HostConfig.NetworkMode): without options.
    pub fn inspect_name(&self) -> String {
        match self {
            NetworkMode::Slirp4netns(_) => "slirp4netns".into(),
            NetworkMode::Pasta(_) => "pasta".into(),
            // podman's: a container on any bridge network is in "bridge" mode.
            NetworkMode::Bridge(_) => "bridge".into(),
            other => other.to_string(),
        }
    }

    /// Whether a user-mode network (pasta, slirp4netns) publishes the ports.
    pub fn user_mode(&self) -> bool {
        matches!(self, NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_))
    }

    /// The container whose namespace is joined, for `container:ID`.
    pub fn container(&self) -> Option<&str> {
        match self {
            NetworkMode::Container(c) => Some(c),
            _ => None,
        }
    }
}

impl FromStr for NetworkMode {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<NetworkMode, NetworkError> {
        let bad = |why: &str| NetworkError::InvalidMode {
            mode: s.to_string(),
            reason: why.to_string(),
        };
        Ok(match s {
            // podman's word for a namespace of the container's own, as by default.
            "" | "private" => NetworkMode::Unset,
            "host" => NetworkMode::Host,
            "none" => NetworkMode::None,
            "bridge" => NetworkMode::Bridge(DEFAULT.to_string()),
            "pasta" => NetworkMode::Pasta(Vec::new()),
            _ if s.starts_with("pasta:") => NetworkMode::Pasta(options(&s["pasta:".len()..])),
            "slirp4netns" => NetworkMode::Slirp4netns(Vec::new()),
            _ if s.starts_with("slirp4netns:") => {
                let o = options(&s["slirp4netns:".len()..]);
                if let Some(bad_one) = o.iter().find(|o| !slirp_option(o)) {
                    return Err(bad(&format!("unknown slirp4netns option {bad_one:?}")));
                }
                NetworkMode::Slirp4netns(o)
            }
            _ => {
                if let Some(c) = s.strip_prefix("container:") {
                    if c.is_empty() {
                        return Err(bad("a container is required"));
                    }
                    NetworkMode::Container(c.to_string())
                } else if let Some(p) = s.strip_prefix("ns:") {
                    if !p.starts_with('/') {
                        return Err(bad("the namespace path must be absolute"));
                    }
                    NetworkMode::Ns(PathBuf::from(p))
                } else if valid_name(s) {
                    NetworkMode::Bridge(s.to_string())
                } else {
                    return Err(bad(
                        "not host, none, bridge, container:ID, ns:PATH or a network name",
                    ));
                }
            }
        })
    }
}

/// Comma-separated options.
fn options(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// The slirp4netns options berth passes on.
fn slirp_option(o: &str) -> bool {
    let (k, v) = o.split_once('=').unwrap_or((o, ""));
    match k {
        "allow_host_loopback" | "enable_ipv6" => matches!(v, "true" | "false"),
        "port_handler" => v == "slirp4netns",
        "cidr" => !v.is_empty(),
        "mtu" => v.parse::<u32>().is_ok(),
        _ => false,
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkMode::Unset => Ok(()),
            NetworkMode::Bridge(n) if n == DEFAULT => f.write_str("bridge"),
            NetworkMode::Bridge(n) => f.write_str(n),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Container(c) => write!(f, "container:{c}"),
            NetworkMode::Ns(p) => write!(f, "ns:{}", p.display()),
            NetworkMode::Pasta(o) if o.is_empty() => f.write_str("pasta"),
            NetworkMode::Pasta(o) => write!(f, "pasta:{}", o.join(",")),
            NetworkMode::Slirp4netns(o) if o.is_empty() => f.write_str("slirp4netns"),
            NetworkMode::Slirp4netns(o) => write!(f, "slirp4netns:{}", o.join(",")),
        }
    }
}

impl serde::Serialize for NetworkMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NetworkMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NetworkMode, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_mode_reads_back_from_its_flag() {
        for flag in [
            "",
            "host",
            "none",
            "bridge",
            "net1",
            "container:abc",
            "ns:/run/netns/x",
            "pasta",
            "pasta:-T,9000",
            "slirp4netns",
            "slirp4netns:port_handler=slirp4netns,mtu=1500",
        ] {
            let m: NetworkMode = flag.parse().unwrap();
            assert_eq!(m.to_string(), flag);
        }
        let m: NetworkMode = DEFAULT.parse().unwrap();
        assert_eq!(
            (m.bridge(), m.to_string()),
            (Some(DEFAULT), "bridge".into())
        );
        assert_eq!(
            "container:c1".parse::<NetworkMode>().unwrap().container(),
            Some("c1")
        );
    }

    #[test]
    fn a_bad_network_mode_is_refused_naming_it() {
        for flag in [
            "container:",
            "ns:rel/path",
            "two words",
            "-x",
            "slirp4netns:port_handler=rootlesskit",
            "slirp4netns:nosuch",
        ] {
            let e = flag.parse::<NetworkMode>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("--network {flag}: ")), "{e}");
        }
    }
}
