//! What `network ls`, `inspect` and `prune` report, with podman's keys.

use std::collections::BTreeMap;

use berth_storage::Store;
use serde::Serialize;

use crate::prune_filters::PruneFilters;

use super::{DEFAULT, LeaseRange, Network, NetworkError, get, ipam, list, remove};

/// `network inspect`'s object.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkInspect {
    pub name: String,
    pub id: String,
    pub driver: &'static str,
    pub network_interface: String,
    /// RFC 3339 with nanoseconds, as podman prints a network's time.
    pub created: String,
    pub subnets: Vec<Subnet>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    pub ipam_options: IpamOptions,
}

#[derive(Clone, Debug, Serialize)]
pub struct Subnet {
    pub subnet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IpamOptions {
    pub driver: &'static str,
}

impl NetworkInspect {
    pub fn of(n: &Network) -> NetworkInspect {
        let gateway = (!n.internal || n.gateway.is_some())
            .then(|| ipam::gateway(n).ok())
            .flatten()
            .map(|g| g.to_string());
        NetworkInspect {
            name: n.name.clone(),
            id: n.id(),
            driver: "bridge",
            network_interface: n.bridge.clone(),
            created: crate::time::format_rfc3339_nanos(n.created),
            subnets: vec![Subnet {
                subnet: n.subnet.clone(),
                gateway,
                lease_range: n.lease_range.clone(),
            }],
            ipv6_enabled: false,
            internal: n.internal,
            dns_enabled: n.dns_enabled,
            labels: n.labels.clone(),
            options: n.options.clone(),
            ipam_options: IpamOptions {
                driver: "host-local",
            },
        }
    }
}

/// A `network ls` row: the inspect object under podman's JSON keys, and the
/// names podman's Go templates know its fields by (`{{.Name}}`, `{{.ID}}`,
/// `{{.Driver}}`).
#[derive(Clone, Debug, Serialize)]
pub struct NetworkRow {
    #[serde(flatten)]
    pub inspect: NetworkInspect,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Driver")]
    pub driver: &'static str,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "Options")]
    pub options: BTreeMap<String, String>,
    #[serde(rename = "Internal")]
    pub internal: bool,
    #[serde(rename = "DNSEnabled")]
    pub dns_enabled: bool,
    #[serde(rename = "IPv6Enabled")]
    pub ipv6_enabled: bool,
    #[serde(rename = "NetworkInterface")]
    pub network_interface: String,
}

impl NetworkRow {
    pub fn of(n: &Network) -> NetworkRow {
        let inspect = NetworkInspect::of(n);
        NetworkRow {
            name: inspect.name.clone(),
            id: inspect.id.clone(),
            driver: inspect.driver,
            labels: inspect.labels.clone(),
            options: inspect.options.clone(),
            internal: inspect.internal,
            dns_enabled: inspect.dns_enabled,
            ipv6_enabled: inspect.ipv6_enabled,
            network_interface: inspect.network_interface.clone(),
            inspect,
        }
    }
}

/// The networks `network ls` shows (the default one included, made if it is
/// not yet), filtered as podman 4.3 filters them: `name=` and `id=` (regular
/// expressions, matched anywhere), `driver=`, `label=`, `label!=`, `until=`,
/// `dangling=true|false` (no container on it). Values of one key are
/// alternatives (labels must all hold); different keys must all hold.
pub fn list_filtered(store: &Store, filters: &[String]) -> Result<Vec<Network>, NetworkError> {
    let _ = get(store, DEFAULT);
    let mut nets = list(store);
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut shared = Vec::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| NetworkError::InvalidFilter(f.clone()))?;
        match k {
            "name" | "id" | "driver" | "dangling" => by_key.entry(k).or_default().push(v),
            "label" | "label!" | "until" => shared.push(f.clone()),
            _ => return Err(NetworkError::InvalidFilter(k.to_string())),
        }
    }
    let shared = PruneFilters::parse(&shared, &["label", "label!", "until"])
        .map_err(NetworkError::from_filter)?;
    nets.retain(|n| shared.matches(n.created, &n.labels));
    for (k, values) in by_key {
        let regexes = |vs: &[&str]| -> Vec<regex::Regex> {
            vs.iter()
                .filter_map(|v| regex::Regex::new(v).ok())
                .collect()
        };
        match k {
            "name" => {
                let r = regexes(&values);
                nets.retain(|n| r.iter().any(|r| r.is_match(&n.name)));
            }
            "id" => {
                let r = regexes(&values);
                nets.retain(|n| r.iter().any(|r| r.is_match(&n.id())));
            }
            "driver" => nets.retain(|_| values.contains(&"bridge")),
            _ => {
                let want = match values.as_slice() {
                    [v] => go_bool(v).ok_or_else(|| {
                        NetworkError::Invalid(format!("invalid dangling filter value \"{v}\""))
                    })?,
                    _ => {
                        return Err(NetworkError::Invalid(
                            "got more than one value for filter key \"dangling\"".into(),
                        ));
                    }
                };
                let mut kept = Vec::new();
                for n in nets {
                    // The default network never counts as dangling (it cannot go).
                    let dangling = n.name != DEFAULT && super::users(store, &n.name)?.is_empty();
                    if dangling == want {
                        kept.push(n);
                    }
                }
                nets = kept;
            }
        }
    }
    Ok(nets)
}

/// Go's `strconv.ParseBool`.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Removes every network but the default one that no container uses and
/// that passes `filters` (`until=`, `label=`, `label!=`, as podman 4.3's
/// `network prune` takes them); returns their names.
pub fn prune(store: &Store, filters: &[String]) -> Result<Vec<String>, NetworkError> {
    let filters = PruneFilters::parse(filters, &["until", "label", "label!"])
        .map_err(NetworkError::from_filter)?;
    Ok(list(store)
        .into_iter()
        .filter(|n| {
            n.name != DEFAULT
                && filters.matches(n.created, &n.labels)
                && remove(store, &n.name).is_ok()
        })
        .map(|n| n.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_answers_to_podmans_template_names_and_json_keys() {
        let n = Network {
            name: "n1".into(),
            bridge: "berth1".into(),
            subnet: "10.89.1.0/24".into(),
            dns_enabled: false,
            ..Default::default()
        };
        let v = serde_json::to_value(NetworkRow::of(&n)).unwrap();
        assert_eq!(v["Name"], "n1");
        assert_eq!(v["name"], "n1");
        assert_eq!(v["ID"], n.id());
        assert_eq!(v["id"], n.id());
        assert_eq!(v["Driver"], "bridge");
        assert_eq!(v["network_interface"], "berth1");
    }
}
