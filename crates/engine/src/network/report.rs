//! What `network ls`, `inspect` and `prune` report, with podman's keys.

use berth_storage::Store;
use serde::Serialize;

use super::{DEFAULT, Network, NetworkError, get, ipam, list, remove};

/// `network inspect`'s object.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkInspect {
    pub name: String,
    pub id: String,
    pub driver: &'static str,
    pub network_interface: String,
    pub subnets: Vec<Subnet>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    pub ipam_options: IpamOptions,
}

#[derive(Clone, Debug, Serialize)]
pub struct Subnet {
    pub subnet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IpamOptions {
    pub driver: &'static str,
}

impl NetworkInspect {
    pub fn of(n: &Network) -> NetworkInspect {
        let gateway = (!n.internal)
            .then(|| ipam::gateway(n).ok())
            .flatten()
            .map(|g| g.to_string());
        NetworkInspect {
            name: n.name.clone(),
            id: n.id(),
            driver: "bridge",
            network_interface: n.bridge.clone(),
            subnets: vec![Subnet {
                subnet: n.subnet.clone(),
                gateway,
            }],
            ipv6_enabled: false,
            internal: n.internal,
            dns_enabled: n.dns_enabled,
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
}

impl NetworkRow {
    pub fn of(n: &Network) -> NetworkRow {
        let inspect = NetworkInspect::of(n);
        NetworkRow {
            name: inspect.name.clone(),
            id: inspect.id.clone(),
            driver: inspect.driver,
            inspect,
        }
    }
}

/// The networks `network ls` shows (the default one included, made if it is
/// not yet), filtered by `name=`, `id=` (prefixes match) or `driver=`.
pub fn list_filtered(store: &Store, filters: &[String]) -> Result<Vec<Network>, NetworkError> {
    let _ = get(store, DEFAULT);
    let mut nets = list(store);
    for f in filters {
        let bad = || NetworkError::InvalidFilter(f.clone());
        let (k, v) = f.split_once('=').ok_or_else(bad)?;
        match k {
            "name" => nets.retain(|n| n.name.contains(v)),
            "id" => nets.retain(|n| n.id().starts_with(v)),
            "driver" => nets.retain(|_| v == "bridge"),
            _ => return Err(bad()),
        }
    }
    Ok(nets)
}

/// Removes every network but the default one that no container uses; returns
/// their names.
pub fn prune(store: &Store) -> Vec<String> {
    list(store)
        .into_iter()
        .filter(|n| n.name != DEFAULT && remove(store, &n.name).is_ok())
        .map(|n| n.name)
        .collect()
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
            internal: false,
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
