//! `kube generate`: pods and containers as Kubernetes Pods that `kube play` takes
//! back (and Kubernetes accepts).

use std::collections::BTreeMap;

use berth_storage::Store;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HostAlias,
    HostPathVolumeSource, PersistentVolumeClaimVolumeSource, Pod as KubePod, PodSpec, PodStatus,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::container::{self, Info, RestartPolicy};
use crate::volumes::VolumeSource;
use crate::{Error, pods};

/// One container as a Pod's container (its name without the pod's prefix), and
/// the volumes it needs.
fn container(
    info: &Info,
    prefix: &str,
    kube_files: &std::path::Path,
    volumes: &mut Vec<Volume>,
) -> Container {
    let p = &info.config.process;
    let name = kube_name(info, prefix);
    let mut mounts = Vec::new();
    for (i, v) in p.volumes.iter().enumerate() {
        let vol_name = format!("{name}-vol-{i}");
        let mut vol = Volume {
            name: vol_name.clone(),
            ..Default::default()
        };
        match &v.source {
            // A played pod's own directory (its emptyDir's, or its configMap's
            // files) goes with the pod: never a hostPath to it.
            VolumeSource::Host(path) if path.starts_with(kube_files) => {
                vol.empty_dir = Some(EmptyDirVolumeSource::default());
            }
            VolumeSource::Host(path) => {
                vol.host_path = Some(HostPathVolumeSource {
                    path: path.to_string_lossy().into_owned(),
                    ..Default::default()
                });
            }
            VolumeSource::Named(n) if p.anonymous_volumes.contains(n) => {
                vol.empty_dir = Some(EmptyDirVolumeSource::default());
            }
            VolumeSource::Named(n) => {
                vol.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: n.clone(),
                    ..Default::default()
                });
            }
            VolumeSource::Anonymous => vol.empty_dir = Some(EmptyDirVolumeSource::default()),
        }
        volumes.push(vol);
        mounts.push(VolumeMount {
            name: vol_name,
            mount_path: v.destination.clone(),
            read_only: v.read_only().then_some(true),
            ..Default::default()
        });
    }
    let env: Vec<EnvVar> = p
        .env
        .iter()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            EnvVar {
                name: k.to_string(),
                value: Some(v.to_string()),
                ..Default::default()
            }
        })
        .collect();
    let run_as_user = p
        .user
        .as_deref()
        .and_then(|u| u.split(':').next()?.parse().ok());
    let security = SecurityContext {
        privileged: p.privileged.then_some(true),
        read_only_root_filesystem: p.read_only.then_some(true),
        run_as_user,
        // A privileged container has every capability: none to list.
        capabilities: (!p.privileged).then(|| capabilities(p)),
        ..Default::default()
    };
    Container {
        name,
        image: Some(info.config.image_name.clone()),
        // What ran, whole: it plays back the same whatever the image's defaults.
        command: Some(info.config.args.clone()),
        env: (!env.is_empty()).then_some(env),
        working_dir: p.workdir.clone(),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        security_context: Some(security),
        resources: Some(limits(p).unwrap_or_default()),
        ..Default::default()
    }
}

/// An annotation's value cut to the length `kube play` takes (podman's 63
/// characters, with its warning).
fn truncated(v: String) -> String {
    if v.chars().count() <= super::MAX_ANNOTATION {
        return v;
    }
    let cut: String = v.chars().take(super::MAX_ANNOTATION).collect();
    log::warn!(
        "Truncation Annotation: {v:?} to {cut:?}: Kubernetes only allows {} characters",
        super::MAX_ANNOTATION
    );
    cut
}

/// A container's name in the Pod: without its pod's prefix (`kube play` puts
/// it back) and, as podman writes names for Kubernetes, without underscores.
fn kube_name(info: &Info, prefix: &str) -> String {
    let name = info.name().strip_prefix(prefix).unwrap_or(info.name());
    name.replace('_', "")
}

/// The container's capabilities against the OCI runtime tools' default set,
/// which Kubernetes runtimes start from (podman's reckoning): what it lacks of
/// that set is dropped, what it has beyond it added.
fn capabilities(p: &crate::spec::ProcessOptions) -> Capabilities {
    const RUNTIME_DEFAULT: [&str; 14] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];
    let has = crate::spec::capability_set(p);
    let drop: Vec<String> = RUNTIME_DEFAULT
        .iter()
        .filter(|c| !has.iter().any(|h| h == *c))
        .map(|c| c.to_string())
        .collect();
    let add: Vec<String> = has
        .into_iter()
        .filter(|c| !RUNTIME_DEFAULT.contains(&c.as_str()))
        .collect();
    Capabilities {
        add: (!add.is_empty()).then_some(add),
        drop: (!drop.is_empty()).then_some(drop),
    }
}

/// `--memory` and `--cpus` as Kubernetes limits (bytes; thousandths of a CPU),
/// which `kube play` reads back as the same flags.
fn limits(
    p: &crate::spec::ProcessOptions,
) -> Option<k8s_openapi::api::core::v1::ResourceRequirements> {
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    let mut l = std::collections::BTreeMap::new();
    if let Some(m) = p.memory.filter(|m| m.0 > 0) {
        l.insert("memory".to_string(), Quantity(m.0.to_string()));
    }
    if let Some(c) = p.cpus.filter(|c| *c > 0.0) {
        l.insert(
            "cpu".to_string(),
            Quantity(format!("{}m", (c * 1000.0).round() as i64)),
        );
    }
    (!l.is_empty()).then(|| k8s_openapi::api::core::v1::ResourceRequirements {
        limits: Some(l),
        ..Default::default()
    })
}

fn restart_policy(r: RestartPolicy) -> &'static str {
    match r {
        RestartPolicy::No => "Never",
        RestartPolicy::OnFailure(_) => "OnFailure",
        RestartPolicy::Always | RestartPolicy::UnlessStopped => "Always",
    }
}

/// What a Pod is made of besides its containers: a pod's, or a lone
/// container's.
struct PodFacts<'a> {
    name: &'a str,
    labels: BTreeMap<String, String>,
    hostname: Option<String>,
    ports: &'a [crate::network::PortMapping],
    /// `--add-host`s (`NAME:IP`) of the pod.
    add_hosts: &'a [String],
    host_network: bool,
    share_pid: bool,
    /// Whether this is a pod's (its status is written, as podman does).
    pod: bool,
}

/// One Pod of `members` (a pod's containers, its infra container left out, or a
/// lone container), published ports on its first container, each member's
/// annotations (podman's and the user's) in its metadata as `KEY/CONTAINER`.
fn pod_of(
    store: &Store,
    facts: PodFacts,
    members: &[Info],
    kube_files: &std::path::Path,
) -> KubePod {
    let PodFacts {
        name, mut labels, ..
    } = facts;
    let name = name.replace('_', "");
    let prefix = format!("{}-", facts.name);
    let mut volumes = Vec::new();
    let mut annotations = BTreeMap::new();
    for m in members {
        let cname = kube_name(m, &prefix);
        for (k, v) in crate::annotations::of_container(store, &m.config) {
            annotations.insert(format!("{k}/{cname}"), truncated(v));
        }
    }
    labels.entry("app".into()).or_insert_with(|| name.clone());
    let mut containers: Vec<Container> = members
        .iter()
        .map(|m| container(m, &prefix, kube_files, &mut volumes))
        .collect();
    let ports = facts.ports;
    if let Some(first) = containers.first_mut() {
        let ports: Vec<ContainerPort> = ports
            .iter()
            .map(|p| ContainerPort {
                container_port: i32::from(p.container_port),
                host_port: Some(i32::from(p.host_port)),
                host_ip: (p.host_ip != "0.0.0.0" && !p.host_ip.is_empty())
                    .then(|| p.host_ip.clone()),
                protocol: Some(p.protocol.to_ascii_uppercase()),
                ..Default::default()
            })
            .collect();
        first.ports = (!ports.is_empty()).then_some(ports);
    }
    let host_aliases: Vec<HostAlias> = facts
        .add_hosts
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(host, ip)| HostAlias {
            ip: ip.to_string(),
            hostnames: Some(vec![host.to_string()]),
        })
        .collect();
    KubePod {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            creation_timestamp: Some(Time(k8s_openapi::jiff::Timestamp::now())),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers,
            hostname: facts.hostname,
            host_aliases: (!host_aliases.is_empty()).then_some(host_aliases),
            host_network: facts.host_network.then_some(true),
            share_process_namespace: facts.share_pid.then_some(true),
            // podman uses neither Kubernetes' service links nor its tokens.
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            restart_policy: members
                .first()
                .map(|m| restart_policy(m.config.restart).to_string()),
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..Default::default()
        }),
        status: facts.pod.then(PodStatus::default),
    }
}

/// The pod's creation time quoted, as Go's YAML writes it: a YAML 1.1 reader
/// (PyYAML, many tools) would read it unquoted as a timestamp, not a string.
fn quote_timestamps(yaml: &str) -> String {
    yaml.lines()
        .map(|l| match l.strip_prefix("  creationTimestamp: ") {
            // metadata's own key, at its depth; a value elsewhere that holds
            // the words is left alone.
            Some(t) if !t.starts_with(['"', '\'']) => format!("  creationTimestamp: \"{t}\"\n"),
            _ => format!("{l}\n"),
        })
        .collect()
}

/// `kube generate NAME…`: each pod (or container, as a Pod of one named
/// `NAME-pod`) as a YAML document, apiVersion and kind first.
pub fn generate(store: &Store, names: &[String]) -> Result<String, Error> {
    let mut docs = Vec::new();
    let kube_files = store.graph_root().join("kube");
    for n in names {
        let pod = match pods::find(store, n) {
            Ok(pod) => {
                let (infra, members): (Vec<Info>, Vec<Info>) = pods::members(store, &pod)
                    .into_iter()
                    .partition(|m| m.config.process.infra);
                if members.is_empty() {
                    // podman's words.
                    return Err(Error::InvalidArgument(match infra.is_empty() {
                        true => format!("pod {} has no containers", pod.id),
                        false => format!("pod {} only has an infra container", pod.id),
                    }));
                }
                let infra = infra.first().map(|i| &i.config.process);
                let facts = PodFacts {
                    name: &pod.name,
                    labels: pod.labels.clone(),
                    hostname: Some(pod.hostname.clone()),
                    ports: &pod.ports,
                    add_hosts: infra.map(|p| p.add_hosts.as_slice()).unwrap_or_default(),
                    host_network: infra
                        .is_some_and(|p| p.network == crate::network::NetworkMode::Host),
                    share_pid: pod.shares("pid"),
                    pod: true,
                };
                pod_of(store, facts, &members, &kube_files)
            }
            Err(_) => {
                let c = container::find(store, n)?;
                let ports = crate::network::attachment(store, &c.id)
                    .map(|a| a.ports)
                    .unwrap_or_else(|| c.config.process.ports.clone());
                let name = format!("{}-pod", c.name());
                let p = &c.config.process;
                let facts = PodFacts {
                    name: &name,
                    labels: BTreeMap::new(),
                    // A name of its own, not the one made of its ID.
                    hostname: p.hostname.clone().filter(|h| !c.id.starts_with(h.as_str())),
                    ports: &ports,
                    add_hosts: &p.add_hosts,
                    host_network: p.network == crate::network::NetworkMode::Host,
                    share_pid: false,
                    pod: false,
                };
                pod_of(store, facts, std::slice::from_ref(&c), &kube_files)
            }
        };
        let mut v = serde_json::to_value(&pod).map_err(Error::other)?;
        // k8s-openapi's types write apiVersion and kind themselves.
        if let Some(o) = v.as_object_mut() {
            o.retain(|_, x| !x.is_null());
        }
        let yaml = serde_yaml_ng::to_string(&v).map_err(Error::other)?;
        docs.push(quote_timestamps(&yaml));
    }
    Ok(docs.join("---\n"))
}
