//! `ps --filter` (and `start --filter`): podman 4.3's container filters
//! (pkg/domain/filters/containers.go), read once against the store: the
//! containers, pods and networks they name looked up, patterns compiled.
//! Values of one key are alternatives, except labels, which a container must
//! all have; different keys must all hold.

use std::collections::BTreeMap;

use berth_storage::Store;
use regex::Regex;

use crate::container::{self, Info, Status};
use crate::views::ViewError;

/// The keys podman 4.3 takes.
const KEYS: [&str; 14] = [
    "id",
    "label",
    "name",
    "exited",
    "status",
    "ancestor",
    "before",
    "since",
    "volume",
    "health",
    "until",
    "pod",
    "network",
    "restart-policy",
];

/// Filters ready to judge containers with.
#[derive(Default)]
pub struct ContainerFilters {
    by_key: BTreeMap<String, Vec<Filter>>,
}

enum Filter {
    /// `id=`, `name=`: regular expressions, matched anywhere (podman's
    /// regexp.MatchString); one that does not compile matches nothing.
    Id(Option<Regex>),
    Name(Option<Regex>),
    Status(String),
    Label(String),
    Exited(String),
    Ancestor(String),
    /// `before=`, `since=`: created before or after that container.
    CreatedBefore(u64),
    CreatedAfter(u64),
    /// `until=`: created before that moment.
    Until(u64),
    /// `volume=SOURCE[:DEST]`: a named volume or bind source (at DEST).
    Volume {
        source: String,
        dest: Option<String>,
    },
    Health(String),
    /// The pod's ID, when the value names one; else the value.
    Pod(String),
    /// A bridge network's name, or `container:ID` for a container joining
    /// another's network namespace.
    Network(String),
    RestartPolicy(&'static str),
}

impl ContainerFilters {
    /// Reads `KEY=VALUE` filters; an unknown key, a container `before=` or
    /// `since=` names that does not exist, or a bad time is an error.
    pub fn parse(store: &Store, filters: &[String]) -> Result<ContainerFilters, ViewError> {
        // podman's states, and Docker's (restarting, dead) for its API.
        const STATES: [&str; 9] = [
            "unknown",
            "created",
            "running",
            "stopped",
            "paused",
            "exited",
            "removing",
            "restarting",
            "dead",
        ];
        let mut by_key: BTreeMap<String, Vec<Filter>> = BTreeMap::new();
        for f in filters {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| ViewError::FilterSyntax(f.clone()))?;
            if !KEYS.contains(&k) {
                return Err(ViewError::FilterKey(k.to_string()));
            }
            let created = |name: &str| {
                container::find(store, name)
                    .map(|c| c.config.created_ns)
                    .map_err(|_| ViewError::NoSuchContainer(name.to_string()))
            };
            let filter = match k {
                "id" => Filter::Id(Regex::new(v).ok()),
                "name" => Filter::Name(Regex::new(v).ok()),
                "status" if !STATES.contains(&v) => {
                    return Err(ViewError::UnknownState(v.to_string()));
                }
                "status" => Filter::Status(v.to_string()),
                "label" => Filter::Label(v.to_string()),
                "exited" => Filter::Exited(v.to_string()),
                "ancestor" => Filter::Ancestor(v.to_string()),
                "before" => Filter::CreatedBefore(created(v)?),
                "since" => Filter::CreatedAfter(created(v)?),
                "until" => Filter::Until(crate::time::parse_point(v)?),
                "volume" => match v.split_once(':') {
                    Some((source, dest)) => Filter::Volume {
                        source: source.to_string(),
                        dest: Some(dest.to_string()),
                    },
                    None => Filter::Volume {
                        source: v.to_string(),
                        dest: None,
                    },
                },
                "health" => Filter::Health(v.to_string()),
                "pod" => Filter::Pod(crate::pods::find(store, v).map_or(v.to_string(), |p| p.id)),
                "network" => Filter::Network(network_of(store, v)),
                _ => Filter::RestartPolicy(
                    restart_policy_name(v)
                        .ok_or_else(|| ViewError::RestartPolicy(v.to_string()))?,
                ),
            };
            by_key.entry(k.to_string()).or_default().push(filter);
        }
        Ok(ContainerFilters { by_key })
    }

    /// Whether the container passes every filter.
    pub fn matches(&self, store: &Store, i: &Info) -> bool {
        self.by_key.iter().all(|(k, filters)| match k.as_str() {
            // podman's and Docker's rule, which compose relies on.
            "label" => filters.iter().all(|f| f.matches(store, i)),
            _ => filters.iter().any(|f| f.matches(store, i)),
        })
    }

    /// Whether a filter asks for stopped containers (`ps` shows them without -a).
    pub fn wants_stopped(&self) -> bool {
        self.by_key.contains_key("status") || self.by_key.contains_key("exited")
    }
}

/// A `network=` value: `container:NAME` as that container's ID, a network's
/// ID (or its start) as its name; else the value.
fn network_of(store: &Store, v: &str) -> String {
    if let Some(c) = v.strip_prefix("container:") {
        return container::find(store, c).map_or(v.to_string(), |i| format!("container:{}", i.id));
    }
    let nets = crate::network::list(store);
    if nets.iter().any(|n| n.name == v) {
        return v.to_string();
    }
    nets.into_iter()
        .find(|n| !v.is_empty() && n.id().starts_with(v))
        .map_or(v.to_string(), |n| n.name)
}

impl Filter {
    fn matches(&self, store: &Store, i: &Info) -> bool {
        let p = &i.config.process;
        let created = i.config.created_ns;
        match self {
            Filter::Id(re) => re.as_ref().is_some_and(|re| re.is_match(&i.id)),
            Filter::Name(re) => re
                .as_ref()
                .is_some_and(|re| i.names.iter().any(|n| re.is_match(n))),
            // podman's "stopped" is an exited container too.
            Filter::Status(v) => {
                i.state.status.as_str() == v || (v == "stopped" && i.state.status == Status::Exited)
            }
            Filter::Label(v) => p.labels.iter().any(|l| match v.split_once('=') {
                Some(_) => l == v,
                None => l.split('=').next() == Some(v.as_str()),
            }),
            Filter::Exited(v) => i.state.exit_code.map(|c| c.to_string()).as_ref() == Some(v),
            Filter::Ancestor(v) => &i.config.image_name == v || i.config.image_id.starts_with(v),
            Filter::CreatedBefore(t) => created < *t,
            Filter::CreatedAfter(t) => created > *t,
            Filter::Until(t) => created < *t,
            Filter::Volume { source, dest } => p.volumes.iter().any(|v| {
                let from = match &v.source {
                    crate::volumes::VolumeSource::Host(path) => path.to_str() == Some(source),
                    crate::volumes::VolumeSource::Named(n) => n == source,
                    crate::volumes::VolumeSource::Anonymous => false,
                };
                from && dest.as_ref().is_none_or(|d| *d == v.destination)
            }),
            Filter::Health(v) => crate::views::health_status(store, i).as_ref() == Some(v),
            Filter::Pod(id) => p.pod.as_deref().is_some_and(|p| p.starts_with(id.as_str())),
            Filter::Network(v) => match v.strip_prefix("container:") {
                Some(id) => p
                    .network
                    .container()
                    .is_some_and(|c| container::find(store, c).is_ok_and(|donor| donor.id == id)),
                None => crate::network::on_network(i, v),
            },
            Filter::RestartPolicy(kind) => *kind == restart_kind(i.config.restart),
        }
    }
}

/// A `restart-policy=` filter's value as the policy's kind (podman says
/// `none` for no policy).
fn restart_policy_name(v: &str) -> Option<&'static str> {
    Some(match v {
        "" | "no" | "none" => "no",
        "always" => "always",
        "on-failure" => "on-failure",
        "unless-stopped" => "unless-stopped",
        _ => return None,
    })
}

fn restart_kind(p: crate::container::RestartPolicy) -> &'static str {
    use crate::container::RestartPolicy as R;
    match p {
        R::No => "no",
        R::Always => "always",
        R::OnFailure(_) => "on-failure",
        R::UnlessStopped => "unless-stopped",
    }
}
