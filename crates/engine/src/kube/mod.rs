//! `kube play` and `kube down`: Kubernetes Pods and Deployments as berth pods,
//! read with the Kubernetes API's own types (k8s-openapi).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;

use berth_storage::Store;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod as KubePod, PodSpec, Secret};

use crate::Error;
mod generate;
mod sources;

pub use generate::generate;

use crate::network::{NetworkMode, PortMapping};
use crate::pods::{self, PodCreate};
use crate::run::RunOptions;
use crate::spec::ProcessOptions;

/// The largest YAML `kube play` reads: far beyond any real set of objects, far
/// below what would exhaust memory.
pub const MAX_YAML: usize = 4 << 20;

/// What `kube play` is asked to do.
#[derive(Debug, Clone)]
pub struct PlayOptions {
    /// `--replace`: pods of the same names go first.
    pub replace: bool,
    /// `--start=false` leaves the containers created.
    pub start: bool,
    /// `--network`: the pods' network (default containers.conf's).
    pub network: NetworkMode,
    /// `--annotation KEY=VALUE`s for every container.
    pub annotations: Vec<String>,
    /// Images to use in place of those the YAML names (`--build`'s).
    pub images: BTreeMap<String, String>,
    /// `--configmap FILE`s' texts: ConfigMaps for the pods' env and volumes.
    pub configmaps: Vec<String>,
    /// `--log-driver` for every container.
    pub log_driver: Option<String>,
    /// `--service-container`: a container that runs while the pods do, named
    /// after the YAML's digest (`DIGEST12-service`), as podman's kube units expect.
    pub service_container: bool,
}

impl Default for PlayOptions {
    fn default() -> PlayOptions {
        PlayOptions {
            replace: false,
            start: true,
            network: NetworkMode::Unset,
            annotations: Vec::new(),
            images: BTreeMap::new(),
            service_container: false,
            configmaps: Vec::new(),
            log_driver: None,
        }
    }
}

/// A pod `kube play` made: its ID and its containers' IDs.
#[derive(Debug, Clone, Default)]
pub struct PlayedPod {
    pub id: String,
    pub containers: Vec<String>,
    /// The play's service container (`--service-container`).
    pub service_container: Option<String>,
}

/// One pod to make: its name and what Kubernetes says of it.
#[derive(Debug)]
struct PodPlan {
    name: String,
    /// The YAML's ConfigMaps, which the pod's env and volumes may name.
    sources: sources::Sources,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: PodSpec,
}

/// Kubernetes' limit on a value podman checks annotations against.
pub(crate) const MAX_ANNOTATION: usize = 63;

fn check_annotations(a: &BTreeMap<String, String>) -> Result<(), Error> {
    match a.iter().find(|(_, v)| v.len() > MAX_ANNOTATION) {
        Some((k, v)) => Err(invalid(format!("invalid annotation {k:?}={v:?}"))),
        None => Ok(()),
    }
}

/// The one pod of a DaemonSet or a Job: its template, named `NAME-pod`.
fn template_plan(
    kind: &str,
    name: &str,
    template: k8s_openapi::api::core::v1::PodTemplateSpec,
) -> Result<PodPlan, Error> {
    let spec = template
        .spec
        .ok_or_else(|| invalid(format!("{kind} {name} has no pod template spec")))?;
    let meta = template.metadata.unwrap_or_default();
    let annotations = meta.annotations.unwrap_or_default();
    check_annotations(&annotations)?;
    Ok(PodPlan {
        sources: Default::default(),
        name: format!("{name}-pod"),
        labels: meta.labels.unwrap_or_default(),
        annotations,
        spec,
    })
}

pub(crate) fn invalid(why: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("kube: {why}"))
}

/// The Pods and Deployments of a YAML stream (other kinds are refused, so that
/// nothing is silently left out).
fn plans(yaml: &str) -> Result<Vec<PodPlan>, Error> {
    plans_with(yaml, &[])
}

/// `--configmap FILE`s: ConfigMaps (and only those) the YAML's pods may name.
fn configmaps(texts: &[String]) -> Result<sources::Sources, Error> {
    let mut sources = sources::Sources::default();
    for text in texts {
        if text.len() > MAX_YAML {
            return Err(invalid("a --configmap file is larger than a YAML is read"));
        }
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            let v: serde_yaml_ng::Value = serde::Deserialize::deserialize(doc)
                .map_err(|e| invalid(format!("--configmap: YAML: {e}")))?;
            if v.is_null() {
                continue;
            }
            if v.get("kind").and_then(|k| k.as_str()) != Some("ConfigMap") {
                return Err(invalid("--configmap: a file holds only ConfigMaps"));
            }
            let c: ConfigMap = serde_yaml_ng::from_value(v)
                .map_err(|e| invalid(format!("--configmap: ConfigMap: {e}")))?;
            sources.add_configmap(c)?;
        }
    }
    Ok(sources)
}

fn plans_with(yaml: &str, extra: &[String]) -> Result<Vec<PodPlan>, Error> {
    if yaml.len() > MAX_YAML {
        return Err(invalid(format!(
            "the YAML is more than the {MAX_YAML} bytes read"
        )));
    }
    let mut out = Vec::new();
    let mut sources = configmaps(extra)?;
    for doc in serde_yaml_ng::Deserializer::from_str(yaml) {
        let v: serde_yaml_ng::Value =
            serde::Deserialize::deserialize(doc).map_err(|e| invalid(format!("YAML: {e}")))?;
        if v.is_null() {
            continue;
        }
        let kind = v
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        match kind.as_str() {
            "Pod" => {
                let p: KubePod =
                    serde_yaml_ng::from_value(v).map_err(|e| invalid(format!("Pod: {e}")))?;
                let name = p
                    .metadata
                    .name
                    .clone()
                    .ok_or_else(|| invalid("a Pod has no metadata.name"))?;
                let spec = p
                    .spec
                    .ok_or_else(|| invalid(format!("Pod {name} has no spec")))?;
                let annotations = p.metadata.annotations.unwrap_or_default();
                check_annotations(&annotations)?;
                out.push(PodPlan {
                    sources: Default::default(),
                    labels: p.metadata.labels.unwrap_or_default(),
                    annotations,
                    name,
                    spec,
                });
            }
            "Deployment" => {
                let d: Deployment = serde_yaml_ng::from_value(v)
                    .map_err(|e| invalid(format!("Deployment: {e}")))?;
                let name = d
                    .metadata
                    .name
                    .clone()
                    .ok_or_else(|| invalid("a Deployment has no metadata.name"))?;
                let spec = d
                    .spec
                    .ok_or_else(|| invalid(format!("Deployment {name} has no spec")))?;
                let template = spec.template;
                let pod_spec = template.spec.ok_or_else(|| {
                    invalid(format!("Deployment {name} has no pod template spec"))
                })?;
                let replicas = spec.replicas.unwrap_or(1);
                if !(0..=64).contains(&replicas) {
                    return Err(invalid(format!(
                        "Deployment {name}: {replicas} replicas (0 to 64 on one host)"
                    )));
                }
                let meta = template.metadata.unwrap_or_default();
                let labels = meta.labels.unwrap_or_default();
                let annotations = meta.annotations.unwrap_or_default();
                check_annotations(&annotations)?;
                for i in 0..replicas {
                    out.push(PodPlan {
                        sources: Default::default(),
                        name: format!("{name}-pod-{i}"),
                        labels: labels.clone(),
                        annotations: annotations.clone(),
                        spec: pod_spec.clone(),
                    });
                }
            }
            // One host: a DaemonSet is one pod; a Job's pod runs to its end
            // (its template's restartPolicy, Never by default).
            "DaemonSet" => {
                let d: DaemonSet =
                    serde_yaml_ng::from_value(v).map_err(|e| invalid(format!("DaemonSet: {e}")))?;
                let name = d
                    .metadata
                    .name
                    .clone()
                    .ok_or_else(|| invalid("a DaemonSet has no metadata.name"))?;
                let spec = d
                    .spec
                    .ok_or_else(|| invalid(format!("DaemonSet {name} has no spec")))?;
                out.push(template_plan("DaemonSet", &name, spec.template)?);
            }
            "Job" => {
                let j: Job =
                    serde_yaml_ng::from_value(v).map_err(|e| invalid(format!("Job: {e}")))?;
                let name = j
                    .metadata
                    .name
                    .clone()
                    .ok_or_else(|| invalid("a Job has no metadata.name"))?;
                let spec = j
                    .spec
                    .ok_or_else(|| invalid(format!("Job {name} has no spec")))?;
                let mut plan = template_plan("Job", &name, spec.template)?;
                plan.spec
                    .restart_policy
                    .get_or_insert_with(|| "Never".into());
                out.push(plan);
            }
            "ConfigMap" => {
                let c: ConfigMap =
                    serde_yaml_ng::from_value(v).map_err(|e| invalid(format!("ConfigMap: {e}")))?;
                sources.add_configmap(c)?;
            }
            "Secret" => {
                let s: Secret =
                    serde_yaml_ng::from_value(v).map_err(|e| invalid(format!("Secret: {e}")))?;
                sources.add_secret(s)?;
            }
            "" => return Err(invalid("an object without a kind")),
            other => {
                return Err(invalid(format!(
                    "kind {other} is not supported (Pod, Deployment, DaemonSet, Job, ConfigMap, Secret)"
                )));
            }
        }
    }
    for p in &mut out {
        p.sources = sources.clone();
    }
    Ok(out)
}

/// The images the YAML's containers name, each once, in order.
pub fn images(yaml: &str) -> Result<Vec<String>, Error> {
    let mut v: Vec<String> = Vec::new();
    for plan in plans(yaml)? {
        for c in plan.spec.containers.iter().filter_map(|c| c.image.clone()) {
            if !v.contains(&c) {
                v.push(c);
            }
        }
    }
    Ok(v)
}

/// `kube play --build`: of the YAML's images, those whose name's last part
/// (`quay.io/x/app:1` → `app`) is a directory of `context` holding a
/// Containerfile or Dockerfile; each with that part (its tag to be) and the
/// directory.
pub fn build_contexts(
    yaml: &str,
    context: &std::path::Path,
) -> Result<Vec<(String, String, std::path::PathBuf)>, Error> {
    let mut out = Vec::new();
    for image in images(yaml)? {
        let last = image.rsplit('/').next().unwrap_or(&image);
        let base = last.split(['@', ':']).next().unwrap_or(last).to_string();
        let dir = context.join(&base);
        let has_file = ["Containerfile", "Dockerfile"]
            .iter()
            .any(|f| dir.join(f).is_file());
        if !base.is_empty() && !base.starts_with('.') && has_file {
            out.push((image, base, dir));
        }
    }
    Ok(out)
}

/// Where a played pod's generated files (its configMap volumes) live.
pub fn files_dir(store: &Store, pod: &str) -> std::path::PathBuf {
    store.graph_root().join("kube").join(pod)
}

/// A volume of the pod as `-v` gives it: `SOURCE:` for a bind or a named
/// volume, or None for an emptyDir (an anonymous volume).
fn volume_source(
    spec: &PodSpec,
    name: &str,
    files: &std::path::Path,
) -> Result<Option<String>, Error> {
    let v = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == name)
        .ok_or_else(|| invalid(format!("volumeMount {name}: no such volume in the pod")))?;
    if let Some(h) = &v.host_path {
        if !h.path.starts_with('/') || h.path.split('/').any(|c| c == "..") {
            return Err(invalid(format!(
                "volume {name}: hostPath {} must be absolute, without ..",
                h.path
            )));
        }
        return Ok(Some(h.path.clone()));
    }
    if let Some(c) = &v.persistent_volume_claim {
        if !crate::volumes::named::valid_name(&c.claim_name) {
            return Err(invalid(format!(
                "volume {name}: claimName {:?} is not a volume name",
                c.claim_name
            )));
        }
        return Ok(Some(c.claim_name.clone()));
    }
    // An emptyDir is a directory of the pod's (as the kubelet's), made beside its
    // configMap volumes and gone with them: every container that mounts it
    // sees the same one.
    if v.empty_dir.is_some() || v.config_map.is_some() || v.secret.is_some() {
        check_file_volume_name(&v.name)?;
        return Ok(Some(files.join(&v.name).to_string_lossy().into_owned()));
    }
    Err(invalid(format!(
        "volume {name}: only hostPath, emptyDir, persistentVolumeClaim, configMap and secret are supported"
    )))
}

/// The name of a volume kept as a directory under the pod's files (emptyDir,
/// configMap, secret): a name, never a path.
fn check_file_volume_name(name: &str) -> Result<(), Error> {
    match crate::volumes::named::valid_name(name) {
        true => Ok(()),
        false => Err(invalid(format!("volume name {name:?} is not a name"))),
    }
}

/// A `mountPath`: an absolute path, and the mount options podman lets follow it
/// (`/data:z`); nothing else may, so the path is never read as a second source.
fn mount_path(p: &str) -> Result<(&str, Vec<&str>), Error> {
    let (dest, opts) = match p.split_once(':') {
        Some((d, o)) => (d, o.split(',').collect()),
        None => (p, Vec::new()),
    };
    if !dest.starts_with('/') {
        return Err(invalid(format!("mountPath {p:?} is not absolute")));
    }
    if let Some(o) = opts
        .iter()
        .find(|o| !["z", "Z", "ro", "rw", "U"].contains(*o))
    {
        return Err(invalid(format!(
            "mountPath {p:?}: {o:?} is not a mount option"
        )));
    }
    Ok((dest, opts))
}

/// A container of the pod as berth's options.
fn container_options(
    plan: &PodPlan,
    c: &Container,
    files: &std::path::Path,
) -> Result<ProcessOptions, Error> {
    let mut p = ProcessOptions {
        entrypoint: c.command.clone(),
        command: c.args.clone().unwrap_or_default(),
        workdir: c.working_dir.clone(),
        ..Default::default()
    };
    p.env = plan.sources.env_from(c)?;
    for e in c.env.iter().flatten() {
        if let Some(v) = plan.sources.env_value(c, e)? {
            p.env.push(format!("{}={v}", e.name));
        }
    }
    for m in c.volume_mounts.iter().flatten() {
        let (dest, mut opts) = mount_path(&m.mount_path)?;
        if m.read_only == Some(true) {
            opts.push("ro");
        }
        let opts = match opts.is_empty() {
            true => String::new(),
            false => format!(":{}", opts.join(",")),
        };
        let flag = match volume_source(&plan.spec, &m.name, files)? {
            Some(src) if src.contains(':') => {
                return Err(invalid(format!("volume {}: {src:?} holds a ':'", m.name)));
            }
            Some(src) => format!("{src}:{dest}{opts}"),
            None => format!("{dest}{opts}"),
        };
        p.volumes.push(
            flag.parse()
                .map_err(|e| invalid(format!("volumeMount {}: {e}", m.name)))?,
        );
    }
    if let Some(s) = &c.security_context {
        p.privileged = s.privileged == Some(true);
        p.read_only = s.read_only_root_filesystem == Some(true);
        if let Some(uid) = s.run_as_user {
            p.user = Some(match s.run_as_group {
                Some(gid) => format!("{uid}:{gid}"),
                None => uid.to_string(),
            });
        }
        if let Some(caps) = &s.capabilities {
            p.cap_add = caps.add.clone().unwrap_or_default();
            p.cap_drop = caps.drop.clone().unwrap_or_default();
        }
    }
    p.restart = match plan.spec.restart_policy.as_deref() {
        None | Some("Always") => crate::container::RestartPolicy::Always,
        Some("OnFailure") => crate::container::RestartPolicy::OnFailure(0),
        Some("Never") => crate::container::RestartPolicy::No,
        Some(other) => return Err(invalid(format!("restartPolicy {other}"))),
    };
    if let Some(limits) = c.resources.as_ref().and_then(|r| r.limits.as_ref()) {
        let what = |k: &str| format!("container {}: resources.limits.{k}", c.name);
        if let Some(q) = limits.get("memory") {
            let bytes =
                quantity(&q.0).ok_or_else(|| invalid(format!("{}: {:?}", what("memory"), q.0)))?;
            p.memory = Some(crate::security::MemoryLimit(bytes.round() as i64));
        }
        if let Some(q) = limits.get("cpu") {
            let cpus =
                quantity(&q.0).ok_or_else(|| invalid(format!("{}: {:?}", what("cpu"), q.0)))?;
            p.cpus = Some(cpus);
        }
    }
    // One healthcheck a container: liveness (which restarts) wins; a readiness
    // probe alone only reports healthy or unhealthy, as the kubelet only stops
    // sending traffic to an unready container.
    if let Some(probe) = &c.liveness_probe {
        healthcheck(&mut p, probe, Probe::Liveness, &c.name)?;
    } else if let Some(probe) = &c.readiness_probe {
        healthcheck(&mut p, probe, Probe::Readiness, &c.name)?;
    }
    p.pod = Some(plan.name.clone());
    Ok(p)
}

/// A Kubernetes quantity (`128Mi`, `1G`, `500m`, `0.5`, `1e3`) as a number.
fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let (num, mult) = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("m", 1e-3),
    ]
    .iter()
    .find_map(|(suffix, m)| q.strip_suffix(suffix).map(|n| (n, *m)))
    .unwrap_or((q, 1.0));
    let n: f64 = num.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n * mult)
}

/// Which probe a healthcheck comes from.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Probe {
    /// Restarts the container when it fails (the kubelet's answer).
    Liveness,
    /// Reports only.
    Readiness,
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Probe::Liveness => "livenessProbe",
            Probe::Readiness => "readinessProbe",
        })
    }
}

/// A probe as the container's healthcheck, failing after as many misses as the
/// probe allows. exec runs its command; tcpSocket and httpGet run `nc` (with
/// `-z`, or busybox's `-e true`) and `wget` in the container, as podman turns
/// them into commands.
fn healthcheck(
    p: &mut ProcessOptions,
    probe: &k8s_openapi::api::core::v1::Probe,
    kind: Probe,
    container: &str,
) -> Result<(), Error> {
    let fail = |why: &str| invalid(format!("container {container}: {kind}: {why}"));
    let port = |port: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString| match port {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => Ok(n.to_string()),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => {
            Err(fail(&format!("a named port ({s}) is not supported")))
        }
    };
    let argv: Vec<String> = if let Some(e) = &probe.exec {
        e.command.clone().unwrap_or_default()
    } else if let Some(t) = &probe.tcp_socket {
        let host = t.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        // `nc -z` where nc has it (OpenBSD's, ncat); busybox's nc has no -z and
        // connects, then runs `true`, with -e. Host and port are arguments, never
        // shell text.
        let connect = r#"nc -z -w 1 "$0" "$1" 2>/dev/null || nc -w 1 "$0" "$1" -e true"#;
        vec![
            "sh".into(),
            "-c".into(),
            connect.into(),
            host,
            port(&t.port)?,
        ]
    } else if let Some(h) = &probe.http_get {
        let host = h.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let url = format!("{scheme}://{host}:{}{path}", port(&h.port)?);
        vec![
            "wget".into(),
            "-q".into(),
            "-O".into(),
            "/dev/null".into(),
            url,
        ]
    } else {
        return Err(fail("no exec, tcpSocket or httpGet"));
    };
    if argv.is_empty() {
        return Err(fail("an empty command"));
    }
    p.health_cmd = Some(serde_json::to_string(&argv).expect("strings serialise"));
    let secs = |s: Option<i32>| s.filter(|n| *n > 0).map(|n| format!("{n}s"));
    p.health.interval = secs(probe.period_seconds).or(Some("10s".into()));
    p.health.timeout = secs(probe.timeout_seconds).or(Some("1s".into()));
    p.health.start_period = secs(probe.initial_delay_seconds);
    p.health.retries = Some(probe.failure_threshold.filter(|n| *n > 0).unwrap_or(3) as u32);
    p.health.on_failure = (kind == Probe::Liveness).then(|| "restart".into());
    Ok(())
}

/// The pod's published ports: its containers' `hostPort`s.
fn ports(spec: &PodSpec) -> Result<Vec<PortMapping>, Error> {
    let mut out = Vec::new();
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            let Some(host) = p.host_port else { continue };
            let protocol = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
            let port = |n: i32| u16::try_from(n).ok().filter(|n| *n != 0);
            // Made from its fields, never from a flag's text: no field can be
            // read as another.
            // A hostPort alone publishes the same port of the container, as podman's.
            let inner = if p.container_port == 0 {
                host
            } else {
                p.container_port
            };
            let (Some(host_port), Some(container_port)) = (port(host), port(inner)) else {
                return Err(invalid(format!(
                    "container {}: ports {host}:{} out of range",
                    c.name, p.container_port
                )));
            };
            let host_ip = p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".into());
            if !["tcp", "udp", "sctp"].contains(&protocol.as_str())
                || host_ip.parse::<std::net::IpAddr>().is_err()
            {
                return Err(invalid(format!(
                    "container {}: port {host_ip}:{host_port}/{protocol} is not an address and protocol",
                    c.name
                )));
            }
            out.push(PortMapping {
                host_ip,
                host_port,
                container_port,
                protocol,
            });
        }
    }
    Ok(out)
}

/// `kube play`: each Pod (and each replica of a Deployment) becomes a pod of
/// containers named `POD-CONTAINER`, started unless `start` is off.
pub fn play(
    store: &Arc<Store>,
    yaml: &str,
    o: &PlayOptions,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<Vec<PlayedPod>, Error> {
    for a in &o.annotations {
        let value = a.split_once('=').map_or("", |(_, v)| v);
        if value.len() > MAX_ANNOTATION {
            return Err(Error::InvalidArgument(format!(
                "annotation exceeds maximum size, {MAX_ANNOTATION}, of kubernetes annotation: {value}"
            )));
        }
    }
    let plans = plans_with(yaml, &o.configmaps)?;
    let service = match o.service_container {
        true => Some(service_container(store, yaml, &plans, o, monitor_argv)?),
        false => None,
    };
    let mut played: Vec<PlayedPod> = Vec::new();
    for plan in &plans {
        match play_one(store, plan, o, service.as_deref(), monitor_argv) {
            Ok(p) => played.push(p),
            Err(e) => {
                // All or nothing: the pods this play made before go too (and the
                // service container with the last of them, or here).
                for p in &played {
                    let _ = pods::remove(store, &p.id, true, 0);
                }
                if let Some(s) = &service {
                    let _ = crate::lifecycle::remove_member(store, s, true, 0);
                }
                return Err(e);
            }
        }
    }
    Ok(played)
}

/// The name of a play's service container: the YAML's SHA-256, 12 hex digits,
/// and `-service`, as podman names it.
pub fn service_container_name(yaml: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(yaml.as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-service", &hex[..12])
}

fn service_container(
    store: &Arc<Store>,
    yaml: &str,
    plans: &[PodPlan],
    o: &PlayOptions,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<String, Error> {
    let name = service_container_name(yaml);
    if o.replace {
        // The old play's pods go first, and its service container with them.
        for plan in plans {
            match pods::remove(store, &plan.name, true, 0) {
                Ok(_) | Err(Error::NoSuchPod(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if let Ok(old) = crate::container::find(store, &name)
            && old.config.process.service
        {
            crate::lifecycle::remove_member(store, &old.id, true, 0)?;
        }
    }
    pods::create_service_container(store, &name, monitor_argv)
}

/// `hostAliases` as `--add-host NAME:IP`s.
fn host_aliases(spec: &k8s_openapi::api::core::v1::PodSpec) -> Vec<String> {
    let aliases = spec.host_aliases.iter().flatten();
    aliases
        .flat_map(|a| {
            let names = a.hostnames.iter().flatten();
            names.map(|n| format!("{n}:{}", a.ip))
        })
        .collect()
}

/// One pod of a play, removed again when any part of it fails.
fn play_one(
    store: &Arc<Store>,
    plan: &PodPlan,
    o: &PlayOptions,
    service: Option<&str>,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<PlayedPod, Error> {
    if plan.spec.containers.is_empty() {
        return Err(invalid(format!("pod {} has no containers", plan.name)));
    }
    let network = match plan.spec.host_network {
        Some(true) => NetworkMode::Host,
        _ => o.network.clone(),
    };
    let create = PodCreate {
        name: Some(plan.name.clone()),
        infra: true,
        hostname: plan.spec.hostname.clone(),
        labels: plan
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        network,
        ports: ports(&plan.spec)?,
        add_hosts: host_aliases(&plan.spec),
        // The pod's namespaces as podman shares them, its PID namespace too when
        // the processes are to see each other.
        share: (plan.spec.share_process_namespace == Some(true)).then(|| "+pid".to_string()),
        replace: o.replace,
        // podman's kube play: the pod stops when its containers have.
        exit_policy: pods::ExitPolicy::Stop,
        service_container: service.map(str::to_string),
        ..Default::default()
    };
    let files = files_dir(store, &plan.name);
    let mut options: Vec<(String, String, ProcessOptions)> = plan
        .spec
        .containers
        .iter()
        .map(|c| {
            let image = c
                .image
                .clone()
                .ok_or_else(|| invalid(format!("container {} has no image", c.name)))?;
            let image = o.images.get(&image).cloned().unwrap_or(image);
            Ok((c.name.clone(), image, container_options(plan, c, &files)?))
        })
        .collect::<Result<_, Error>>()?;
    pull_images(store, plan, &mut options, o)?;
    // Every volume kept under the pod's files is checked, mounted or not, before
    // anything is made (an unmounted one's name was joined to the path unread).
    for v in plan.spec.volumes.iter().flatten() {
        if v.empty_dir.is_some() || v.config_map.is_some() || v.secret.is_some() {
            check_file_volume_name(&v.name)?;
        }
    }
    let pod = pods::create(store, &create)?;
    // The configMap volumes' files and the emptyDirs, kept until the pod goes.
    for v in plan.spec.volumes.iter().flatten() {
        use sources::Kind;
        if v.empty_dir.is_some()
            && let Err(e) = empty_dir(&files.join(&v.name))
        {
            let _ = pods::remove(store, &pod.id, true, 0);
            return Err(e);
        }
        let source = match (&v.config_map, &v.secret) {
            (Some(c), _) => Some((
                Kind::ConfigMap,
                c.name.clone(),
                c.items.as_ref(),
                c.optional,
            )),
            (_, Some(s)) => Some((
                Kind::Secret,
                s.secret_name.clone().unwrap_or_default(),
                s.items.as_ref(),
                s.optional,
            )),
            _ => None,
        };
        if let Some((kind, name, items, optional)) = source
            && let Err(e) =
                plan.sources
                    .write_volume(kind, &name, items, optional, &files.join(&v.name))
        {
            let _ = pods::remove(store, &pod.id, true, 0);
            return Err(e);
        }
    }
    let mut done = PlayedPod {
        id: pod.id.clone(),
        containers: Vec::new(),
        service_container: service.map(str::to_string),
    };
    for (name, image, mut process) in options {
        if o.log_driver.is_some() {
            process.log_driver = o.log_driver.clone();
        }
        process.annotations = plan
            .annotations
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(o.annotations.iter().cloned())
            .collect();
        let ro = RunOptions {
            image,
            name: Some(format!("{}-{name}", plan.name)),
            rm: false,
            replace: false,
            process,
        };
        match crate::run::create(store, &ro) {
            Ok(info) => done.containers.push(info.id),
            Err(e) => {
                let _ = pods::remove(store, &pod.id, true, 0);
                return Err(e.into());
            }
        }
    }
    if o.start
        && let Err(e) = pods::start(store, &pod.id, monitor_argv)
    {
        let _ = pods::remove(store, &pod.id, true, 0);
        return Err(e);
    }
    Ok(done)
}

/// Pulls what the containers need before anything is made, as podman's play
/// does, by the rule `run` follows ([`crate::pull::for_container`]): an image
/// of another transport (`oci:` …) is copied in and its container made from
/// the copy, which is why each image may be replaced by the name to make it
/// from.
fn pull_images(
    store: &Arc<Store>,
    plan: &PodPlan,
    options: &mut [(String, String, ProcessOptions)],
    o: &PlayOptions,
) -> Result<(), Error> {
    use crate::pull::{PullOptions, PullPolicy};
    for (c, (_, image, _)) in plan.spec.containers.iter().zip(options) {
        let built = o.images.values().any(|b| b == image);
        let policy = pull_policy(c.image_pull_policy.as_deref(), built);
        let mut po = PullOptions {
            policy,
            ..Default::default()
        };
        po.context.retries = Some(3);
        let failed = |e| Error::other(format!("{image}: pulling the image: {e}"));
        let silent = &berth_image::copy::Silent;
        if policy == PullPolicy::Never && !crate::pull::from_elsewhere(image) {
            // for_container leaves a missing image to create; play refuses it
            // here, before the pod is made, with the pull's own words.
            crate::pull::pull(store, image, &po, silent, &mut |_| {}).map_err(failed)?;
            continue;
        }
        let from =
            crate::pull::for_container(store, image, po, silent, &mut |_| {}).map_err(failed)?;
        *image = from;
    }
    Ok(())
}

/// The pull policy a container's `imagePullPolicy` asks for: `Always` asks the
/// registry, `Never` takes only a local image, anything else pulls a missing
/// one. An image `--build` made (`built`) is local, whatever the YAML says.
fn pull_policy(asked: Option<&str>, built: bool) -> crate::pull::PullPolicy {
    use crate::pull::PullPolicy;
    match asked {
        _ if built => PullPolicy::Missing,
        Some("Always") => PullPolicy::Always,
        Some("Never") => PullPolicy::Never,
        _ => PullPolicy::Missing,
    }
}

/// An emptyDir's directory, open to every user as the kubelet's are (the pod's
/// directory above it is its owner's alone).
fn empty_dir(dir: &std::path::Path) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |p: &std::path::Path, e: std::io::Error| Error::other(format!("{}: {e}", p.display()));
    if let Some(parent) = dir.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| io(parent, e))?;
    }
    std::fs::DirBuilder::new()
        .mode(0o777)
        .create(dir)
        .map_err(|e| io(dir, e))?;
    // Whatever the umask took away.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).map_err(|e| io(dir, e))
}

/// `kube down`: the pods the YAML made go, with their containers; returns their
/// IDs.
pub fn down(store: &Store, yaml: &str) -> Result<Vec<String>, Error> {
    let mut gone = Vec::new();
    for plan in plans(yaml)? {
        match pods::remove(store, &plan.name, true, 10) {
            Ok(p) => gone.push(p.id),
            Err(Error::NoSuchPod(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_policies_as_kubernetes_names_them() {
        use crate::pull::PullPolicy;
        assert_eq!(pull_policy(Some("Always"), false), PullPolicy::Always);
        assert_eq!(pull_policy(Some("Never"), false), PullPolicy::Never);
        assert_eq!(
            pull_policy(Some("IfNotPresent"), false),
            PullPolicy::Missing
        );
        assert_eq!(pull_policy(None, false), PullPolicy::Missing);
        // What --build made is not asked of a registry, nor refused.
        assert_eq!(pull_policy(Some("Always"), true), PullPolicy::Missing);
        assert_eq!(pull_policy(Some("Never"), true), PullPolicy::Missing);
    }

    #[test]
    fn host_ports_are_checked_field_by_field() {
        let spec = |port: &str| {
            let y = format!(
                "kind: Pod\nmetadata: {{name: p}}\nspec:\n  containers: [{{name: c, image: i, ports: [{port}]}}]\n"
            );
            plans(&y).unwrap().remove(0).spec
        };
        let p = ports(&spec(
            "{containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1}",
        ))
        .unwrap();
        assert_eq!(
            (p[0].host_ip.as_str(), p[0].host_port, p[0].container_port),
            ("127.0.0.1", 8080, 80)
        );
        assert_eq!(p[0].protocol, "tcp");
        assert!(
            ports(&spec(
                "{containerPort: 80, hostPort: 8080, hostIP: '1.2.3.4:9'}"
            ))
            .is_err()
        );
        assert!(ports(&spec("{containerPort: 80, hostPort: 70000}")).is_err());
        assert!(ports(&spec("{containerPort: 80}")).unwrap().is_empty());
        let p = ports(&spec("{hostPort: 8080, hostIP: 127.0.0.1}")).unwrap();
        assert_eq!((p[0].host_port, p[0].container_port), (8080, 8080));
    }

    #[test]
    fn daemonsets_and_jobs_are_one_pod_each() {
        let yaml = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers: [{name: c, image: busybox}]\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: busybox}]\n";
        let p = plans(yaml).unwrap();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["agent-pod", "once-pod"]);
        assert_eq!(p[0].labels["app"], "a");
        assert_eq!(p[1].spec.restart_policy.as_deref(), Some("Never"));
    }

    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        assert_eq!(quantity("128Mi"), Some(128.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1G"), Some(1e9));
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("-1"), None);
        assert_eq!(quantity("lots"), None);
    }

    #[test]
    fn a_mount_path_is_one_path_and_podman_options() {
        assert_eq!(mount_path("/data:z").unwrap(), ("/data", vec!["z"]));
        assert_eq!(mount_path("/data").unwrap(), ("/data", vec![]));
        // Never a second source: `/:/host` would bind the host's root.
        assert!(mount_path("/:/host").is_err());
        assert!(mount_path("relative").is_err());
    }

    #[test]
    fn deployments_become_one_pod_a_replica() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c, image: busybox}]\n";
        let p = plans(yaml).unwrap();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web-pod-0", "web-pod-1"]);
        assert_eq!(p[0].labels["app"], "web");
    }

    fn probe(yaml: &str) -> k8s_openapi::api::core::v1::Probe {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn probes_become_healthchecks_and_only_liveness_restarts() {
        let mut p = ProcessOptions::default();
        let tcp = probe("tcpSocket: {port: 8080}\nperiodSeconds: 5\nfailureThreshold: 2");
        healthcheck(&mut p, &tcp, Probe::Liveness, "c").unwrap();
        let argv: Vec<String> = serde_json::from_str(p.health_cmd.as_deref().unwrap()).unwrap();
        assert_eq!(
            (argv[0].as_str(), &argv[3..]),
            ("sh", &["127.0.0.1".to_string(), "8080".to_string()][..])
        );
        assert_eq!(p.health.interval.as_deref(), Some("5s"));
        assert_eq!(p.health.retries, Some(2));
        assert_eq!(p.health.on_failure.as_deref(), Some("restart"));

        let mut p = ProcessOptions::default();
        let http = probe("httpGet: {path: /ready, port: 80, host: 10.0.0.1}");
        healthcheck(&mut p, &http, Probe::Readiness, "c").unwrap();
        assert_eq!(
            p.health_cmd.as_deref(),
            Some(r#"["wget","-q","-O","/dev/null","http://10.0.0.1:80/ready"]"#)
        );
        assert_eq!(p.health.on_failure, None);

        let named = probe("tcpSocket: {port: http}");
        let e = healthcheck(&mut p, &named, Probe::Readiness, "web").unwrap_err();
        assert!(
            e.to_string()
                .contains("container web: readinessProbe: a named port"),
            "{e}"
        );
        let none = probe("periodSeconds: 5");
        assert!(healthcheck(&mut p, &none, Probe::Liveness, "c").is_err());
    }

    #[test]
    fn hostile_or_unknown_yaml_is_refused() {
        assert!(plans(&"#".repeat(MAX_YAML + 1)).is_err());
        assert!(plans("kind: CronJob\nmetadata: {name: s}\n").is_err());
        assert!(plans("metadata: {name: s}\n").is_err());
        // Aliases that would expand without bound.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            bomb.push_str(&format!(
                "{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
                n = (b'a' + i) as char,
                p = (b'a' + i - 1) as char
            ));
        }
        bomb.push_str("kind: Pod\n");
        let e = plans(&bomb).unwrap_err().to_string();
        assert!(e.contains("YAML") && e.contains("repetition"), "{e}");
        let traversal = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, volumeMounts: [{name: v, mountPath: /d}]}]\n  volumes: [{name: v, persistentVolumeClaim: {claimName: ../../etc}}]\n";
        let plan = &plans(traversal).unwrap()[0];
        let e = container_options(plan, &plan.spec.containers[0], std::path::Path::new("/x"))
            .unwrap_err();
        assert!(e.to_string().contains("../../etc"), "{e}");
    }
}
