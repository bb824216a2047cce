//! `kube generate`: pods and containers as Kubernetes Pods that `kube play` takes
//! back (and Kubernetes accepts).

use std::collections::BTreeMap;

use berth_storage::Store;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HostPathVolumeSource,
    PersistentVolumeClaimVolumeSource, Pod as KubePod, PodSpec, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

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
    let name = info
        .name()
        .strip_prefix(prefix)
        .unwrap_or(info.name())
        .to_string();
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
    let caps = (!p.cap_add.is_empty() || !p.cap_drop.is_empty()).then(|| Capabilities {
        add: (!p.cap_add.is_empty()).then(|| p.cap_add.clone()),
        drop: (!p.cap_drop.is_empty()).then(|| p.cap_drop.clone()),
    });
    let security =
        (p.privileged || p.read_only || run_as_user.is_some() || caps.is_some()).then(|| {
            SecurityContext {
                privileged: p.privileged.then_some(true),
                read_only_root_filesystem: p.read_only.then_some(true),
                run_as_user,
                capabilities: caps,
                ..Default::default()
            }
        });
    Container {
        name,
        image: Some(info.config.image_name.clone()),
        // What ran, whole: it plays back the same whatever the image's defaults.
        command: Some(info.config.args.clone()),
        env: (!env.is_empty()).then_some(env),
        working_dir: p.workdir.clone(),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        security_context: security,
        resources: limits(p),
        ..Default::default()
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

/// One Pod of `members` (a pod's containers, its infra container left out, or a
/// lone container), published ports on its first container.
fn pod_of(
    name: &str,
    labels: BTreeMap<String, String>,
    hostname: Option<String>,
    members: &[Info],
    ports: &[crate::network::PortMapping],
    kube_files: &std::path::Path,
) -> KubePod {
    let prefix = format!("{name}-");
    let mut volumes = Vec::new();
    let mut containers: Vec<Container> = members
        .iter()
        .map(|m| container(m, &prefix, kube_files, &mut volumes))
        .collect();
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
    KubePod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: (!labels.is_empty()).then_some(labels),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers,
            hostname,
            restart_policy: members
                .first()
                .map(|m| restart_policy(m.config.restart).to_string()),
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..Default::default()
        }),
        status: None,
    }
}

/// `kube generate NAME…`: each pod (or container, as a Pod of one named
/// `NAME-pod`) as a YAML document, apiVersion and kind first.
pub fn generate(store: &Store, names: &[String]) -> Result<String, Error> {
    let mut docs = Vec::new();
    let kube_files = store.graph_root().join("kube");
    for n in names {
        let pod = match pods::find(store, n) {
            Ok(pod) => {
                let members: Vec<Info> = pods::members(store, &pod)
                    .into_iter()
                    .filter(|m| !m.config.process.infra)
                    .collect();
                if members.is_empty() {
                    return Err(Error::InvalidArgument(format!(
                        "pod {} has no containers to generate",
                        pod.name
                    )));
                }
                let hostname = (pod.hostname != pod.name).then(|| pod.hostname.clone());
                pod_of(
                    &pod.name,
                    pod.labels.clone(),
                    hostname,
                    &members,
                    &pod.ports,
                    &kube_files,
                )
            }
            Err(_) => {
                let c = container::find(store, n)?;
                let ports = crate::network::attachment(store, &c.id)
                    .map(|a| a.ports)
                    .unwrap_or_else(|| c.config.process.ports.clone());
                let name = format!("{}-pod", c.name());
                pod_of(
                    &name,
                    BTreeMap::new(),
                    None,
                    std::slice::from_ref(&c),
                    &ports,
                    &kube_files,
                )
            }
        };
        let mut v = serde_json::to_value(&pod).map_err(Error::other)?;
        // k8s-openapi's types write apiVersion and kind themselves.
        if let Some(o) = v.as_object_mut() {
            o.retain(|_, x| !x.is_null());
        }
        docs.push(serde_yaml_ng::to_string(&v).map_err(Error::other)?);
    }
    Ok(docs.join("---\n"))
}
