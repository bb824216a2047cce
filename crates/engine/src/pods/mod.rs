//! Pods: containers that share namespaces around an infra container, as
//! Kubernetes runs them and podman's `pod` commands manage them.
//!
//! A pod is a record in `GRAPHROOT/pods/ID.json`, changed under `pods/lock`;
//! its containers name it in their configuration, and those that share its
//! namespaces join its infra container's (`container:INFRA`), which holds them
//! with berth-pause and publishes the pod's ports.

pub mod infra;
pub(crate) mod order;

pub use order::{PodSort, PsOptions};

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use berth_storage::Store;
use serde::{Deserialize, Serialize};

use crate::container::{self, Info, Status};
use crate::namespaces::NsMode;
use crate::network::{NetworkMode, PortMapping};
use crate::resources::ResourceUpdate;
use crate::run::{RunError, RunOptions};
use crate::spec::ProcessOptions;
use crate::{Error, lifecycle};

/// The namespaces a pod's containers may share.
const SHAREABLE: [&str; 5] = ["cgroup", "ipc", "net", "pid", "uts"];
/// podman's default `--share`.
const DEFAULT_SHARE: [&str; 4] = ["cgroup", "ipc", "net", "uts"];

/// What the pod does when its last container (other than infra) exits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitPolicy {
    #[default]
    Continue,
    Stop,
}

impl std::str::FromStr for ExitPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<ExitPolicy, Error> {
        match s {
            "continue" => Ok(ExitPolicy::Continue),
            "stop" => Ok(ExitPolicy::Stop),
            // podman's words, the option's name first.
            _ => Err(Error::InvalidArgument(format!(
                "running pod create option: invalid pod exit policy: \"{s}\""
            ))),
        }
    }
}

impl std::fmt::Display for ExitPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExitPolicy::Continue => "continue",
            ExitPolicy::Stop => "stop",
        })
    }
}

/// A pod as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub created_ns: u64,
    pub labels: BTreeMap<String, String>,
    pub hostname: String,
    pub infra_id: Option<String>,
    /// The namespaces its containers share (of [`SHAREABLE`]), sorted.
    pub shared: Vec<String>,
    pub exit_policy: ExitPolicy,
    pub network: String,
    pub ports: Vec<PortMapping>,
    /// The command line that made the pod (`generate systemd --new`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create_command: Vec<String>,
    /// The service container of the `kube play` that made it, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_container: Option<String>,
    /// The pod's cgroup, its containers' parent (none rootless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_path: Option<String>,
    /// The pod's limits, set on its cgroup.
    #[serde(default, skip_serializing_if = "ResourceUpdate::is_empty")]
    pub resources: ResourceUpdate,
}

/// Where pods' cgroups go unless `--cgroup-parent` says otherwise.
pub const CGROUP_PARENT: &str = "/berth_pods";

impl Pod {
    pub fn shares(&self, ns: &str) -> bool {
        self.infra_id.is_some() && self.shared.iter().any(|s| s == ns)
    }
}

/// `pod create`'s options.
#[derive(Clone, Debug, Default)]
pub struct PodCreate {
    pub name: Option<String>,
    /// false: `--infra=false`, a pod of containers that share nothing.
    pub infra: bool,
    pub infra_image: Option<String>,
    pub infra_name: Option<String>,
    pub infra_command: Option<Vec<String>>,
    /// `--share`: a list, or `+LIST` to add to the default.
    pub share: Option<String>,
    pub hostname: Option<String>,
    pub labels: Vec<String>,
    pub network: NetworkMode,
    pub ports: Vec<PortMapping>,
    pub add_hosts: Vec<String>,
    /// `--mac-address`: the infra container's (the pod's) interface's.
    pub mac_address: Option<crate::network::MacAddress>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    pub exit_policy: ExitPolicy,
    /// `--replace`: a pod of the same name goes first.
    pub replace: bool,
    /// `--infra-conmon-pidfile`: where the infra container's monitor writes its pid.
    pub infra_conmon_pidfile: Option<PathBuf>,
    /// The command line that makes the pod, kept for `generate systemd --new`.
    pub create_command: Vec<String>,
    /// A `kube play --service-container`'s service container, started with the
    /// pod and stopped when none of its pods runs.
    pub service_container: Option<String>,
    /// `--cpus`, `--memory` …: limits of the pod's cgroup, which every member's
    /// nests under.
    pub resources: ResourceUpdate,
    /// `--cgroup-parent`: where the pod's cgroup goes.
    pub cgroup_parent: Option<String>,
    /// `--userns`, `--uidmap`, `--gidmap`: the infra container's user
    /// namespace, which every member joins.
    pub userns: crate::namespaces::Userns,
    /// `--pod-id-file`: a file the new pod's ID is written to.
    pub id_file: Option<PathBuf>,
}

impl PodCreate {
    /// podman's warning when limits are asked where no cgroup can hold them.
    pub fn rootless_limits_warning(&self) -> Option<&'static str> {
        let mut p = ProcessOptions::default();
        self.resources.apply_to(&mut p);
        p.rootless_limits_warning()
    }
}

/// Makes the pod's cgroup with its limits.
fn make_cgroup(path: &str, limits: &ResourceUpdate) -> Result<(), Error> {
    let fail = |e: berth_runtime::Error| Error::other(format!("pod cgroup {path}: {e}"));
    let cg = berth_runtime::cgroups::at(path).map_err(fail)?;
    cg.create().map_err(fail)?;
    let mut p = ProcessOptions::default();
    limits.apply_to(&mut p);
    let r = crate::resources::of(&p).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if let Some(r) = r
        && let Err(e) = cg.apply(&r)
    {
        let _ = cg.remove();
        return Err(fail(e));
    }
    Ok(())
}

/// The pod's cgroup with its limits, made again when missing (after a reboot
/// the cgroup hierarchy starts empty), before a member starts in it.
pub fn ensure_cgroup(store: &Store, pod: &str) -> Result<(), Error> {
    let Ok(pod) = find(store, pod) else {
        return Ok(());
    };
    let Some(path) = &pod.cgroup_path else {
        return Ok(());
    };
    let present =
        berth_runtime::cgroups::at(path).is_ok_and(|cg| cg.dirs.iter().all(|d| d.path.is_dir()));
    if present {
        return Ok(());
    }
    make_cgroup(path, &pod.resources)
}

fn remove_cgroup(path: &str) {
    // Best effort: its members' cgroups went with them.
    if let Ok(cg) = berth_runtime::cgroups::at(path) {
        let _ = cg.remove();
    }
}

fn dir(store: &Store) -> PathBuf {
    store.graph_root().join("pods")
}

/// Holds the pods' lock: a name is checked and taken under it.
fn lock(store: &Store) -> Result<std::fs::File, Error> {
    let d = dir(store);
    std::fs::create_dir_all(&d).map_err(|e| Error::other(format!("{}: {e}", d.display())))?;
    let path = d.join("lock");
    berth_storage::lock::lock_file(&path)
        .map_err(|e| Error::other(format!("{}: {e}", path.display())))
}

/// Held while [`start`] starts a pod's members: a member that exits meanwhile
/// waits for it before it judges the exit policy (a sibling not started yet
/// would look down, and the infra container would be stopped under it).
fn start_lock(store: &Store, id: &str) -> Result<std::fs::File, Error> {
    let path = dir(store).join(format!("{id}.start"));
    berth_storage::lock::lock_file(&path)
        .map_err(|e| Error::other(format!("{}: {e}", path.display())))
}

fn save(store: &Store, pod: &Pod) -> Result<(), Error> {
    let path = dir(store).join(format!("{}.json", pod.id));
    let bytes = serde_json::to_vec_pretty(pod).expect("a pod serialises");
    berth_storage::lock::write_atomic(&path, &bytes).map_err(Error::other)
}

/// Every pod, newest first.
pub fn list(store: &Store) -> Vec<Pod> {
    let mut pods: Vec<Pod> = std::fs::read_dir(dir(store))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    pods.sort_by_key(|p: &Pod| std::cmp::Reverse(p.created_ns));
    pods
}

/// A pod by name, full ID or unique ID prefix.
pub fn find(store: &Store, name: &str) -> Result<Pod, Error> {
    let pods = list(store);
    if let Some(p) = pods.iter().find(|p| p.name == name || p.id == name) {
        return Ok(p.clone());
    }
    let mut by_prefix = pods
        .iter()
        .filter(|p| !name.is_empty() && p.id.starts_with(name));
    match (by_prefix.next(), by_prefix.next()) {
        (Some(p), None) => Ok(p.clone()),
        _ => Err(Error::NoSuchPod(name.to_string())),
    }
}

/// The pod's containers, the infra container among them, oldest first.
pub fn members(store: &Store, pod: &Pod) -> Vec<Info> {
    members_in(&container::list(store).unwrap_or_default(), pod)
}

/// [`members`] out of a list of containers already read.
fn members_in(all: &[Info], pod: &Pod) -> Vec<Info> {
    let mut v: Vec<Info> = all
        .iter()
        .filter(|i| i.config.process.pod.as_deref() == Some(&pod.id))
        .cloned()
        .collect();
    v.sort_by_key(|i| (!i.config.process.infra, i.config.created_ns));
    v
}

/// podman's pod status from its containers' states.
pub fn status(members: &[Info]) -> &'static str {
    let n = members.len();
    let count = |s: &[Status]| {
        members
            .iter()
            .filter(|i| s.contains(&i.state.status))
            .count()
    };
    let running = count(&[Status::Running]);
    match () {
        _ if n == 0 => "Created",
        _ if running == n => "Running",
        _ if running > 0 => "Degraded",
        _ if count(&[Status::Paused]) == n => "Paused",
        _ if count(&[Status::Created]) == n => "Created",
        _ if count(&[Status::Exited, Status::Created]) == n => "Exited",
        _ => "Degraded",
    }
}

/// `--share`: podman's list (`+LIST` adds to the default), checked.
fn shared_namespaces(share: Option<&str>) -> Result<Vec<String>, Error> {
    let (base, list) = match share {
        None => (&DEFAULT_SHARE[..], ""),
        Some(s) => match s.strip_prefix('+') {
            Some(rest) => (&DEFAULT_SHARE[..], rest),
            None => (&[][..], s),
        },
    };
    let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    for ns in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if ns == "none" {
            continue;
        }
        if !SHAREABLE.contains(&ns) {
            return Err(Error::InvalidArgument(format!(
                "invalid kernel namespace to share: {ns}. Options are: cgroup, ipc, net, pid, uts or none"
            )));
        }
        if !out.iter().any(|o| o == ns) {
            out.push(ns.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// Creates a pod and, unless `infra` is off, its infra container (created, not
/// started: it starts with the pod's first container).
pub fn create(store: &Arc<Store>, o: &PodCreate) -> Result<Pod, Error> {
    let shared = shared_namespaces(o.share.as_deref())?;
    if !o.infra && !o.ports.is_empty() {
        return Err(Error::InvalidArgument(
            "you must have an infra container to publish port bindings to the host".into(),
        ));
    }
    let mut labels = BTreeMap::new();
    for l in &o.labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    if let Some(n) = &o.name
        && !crate::volumes::named::valid_name(n)
    {
        // podman's rule for names ([a-zA-Z0-9][a-zA-Z0-9_.-]*): a pod's name
        // also names files (kube play's), never a path.
        return Err(Error::InvalidArgument(format!(
            "pod name {n:?}: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        )));
    }
    // Checked before anything goes: a bad request leaves the old pod in place.
    if o.replace
        && let Some(name) = &o.name
        && find(store, name).is_ok()
    {
        remove(store, name, true, 0)?;
    }
    let id = berth_storage::lock::random_hex(32);
    let name = o.name.clone().unwrap_or_else(|| {
        let pods = list(store);
        crate::names::generate(|n| pods.iter().any(|p| p.name == n))
    });
    let mut pod = Pod {
        hostname: o.hostname.clone().unwrap_or_else(|| name.clone()),
        id,
        name,
        created_ns: container::now_ns(),
        labels,
        infra_id: None,
        shared,
        exit_policy: o.exit_policy,
        network: o.network.to_string(),
        ports: o.ports.clone(),
        create_command: o.create_command.clone(),
        service_container: o.service_container.clone(),
        cgroup_path: None,
        resources: o.resources.clone(),
    };
    if berth_runtime::userns::rootless_uid().is_none() {
        let parent = o.cgroup_parent.as_deref().unwrap_or(CGROUP_PARENT);
        // A relative parent (`machine.slice`) is from the hierarchy's root, as
        // podman takes it from init's cgroup.
        let parent = parent.trim_matches('/');
        pod.cgroup_path = Some(format!("/{parent}/{}", pod.id).replace("//", "/"));
    }
    {
        let _lock = lock(store)?;
        if list(store).iter().any(|p| p.name == pod.name) {
            return Err(Error::InvalidArgument(format!(
                "{}: pod already exists",
                pod.name
            )));
        }
        save(store, &pod)?;
    }
    if let Some(path) = &pod.cgroup_path
        && let Err(e) = make_cgroup(path, &o.resources)
    {
        forget(store, &pod.id);
        return Err(e);
    }
    if o.infra {
        match create_infra(store, &pod, o) {
            Ok(id) => pod.infra_id = Some(id),
            Err(e) => {
                forget(store, &pod.id);
                return Err(e);
            }
        }
        save(store, &pod)?;
    }
    crate::events::pod(store, "create", &pod.id, &pod.name);
    if let Some(f) = &o.id_file {
        crate::outfile::write(f, &pod.id)
            .map_err(|e| Error::Other(format!("--pod-id-file {}: {e}", f.display())))?;
    }
    Ok(pod)
}

/// The infra image: the one given, else containers.conf's (pulled when
/// missing), else berth's own, built on first use.
fn infra_image(store: &Arc<Store>, given: Option<String>) -> Result<String, Error> {
    let configured = crate::conf::get()?.infra_image.clone();
    Ok(match given.or(configured) {
        Some(i) => {
            // Pulled when missing, as podman does (a local image stands: the
            // default policy, always, would ask its registry every time).
            let o = crate::pull::PullOptions {
                policy: crate::pull::PullPolicy::Missing,
                ..Default::default()
            };
            crate::pull::pull(store, &i, &o, &berth_image::copy::Silent, &mut |_| {})
                .map_err(|e| Error::InvalidArgument(format!("infra image {i}: {e}")))?;
            i
        }
        None => {
            infra::image(store)?;
            infra::image_name()
        }
    })
}

/// `kube play --service-container`: a container of the infra image, in no
/// network, that runs while the play's pods do (what systemd watches in
/// podman's kube units); made and started before the pods.
pub fn create_service_container(
    store: &Arc<Store>,
    name: &str,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<String, Error> {
    let ro = RunOptions {
        image: infra_image(store, None)?,
        name: Some(name.to_string()),
        rm: false,
        replace: false,
        process: ProcessOptions {
            network: NetworkMode::None,
            service: true,
            ..Default::default()
        },
    };
    let id = crate::run::create(store, &ro)?.id;
    if let Err(e) = lifecycle::start(store, &id, monitor_argv) {
        let _ = lifecycle::remove_member(store, &id, true, 0);
        return Err(e);
    }
    Ok(id)
}

/// The pods a service container serves.
fn served_by(store: &Store, service: &str) -> Vec<Pod> {
    list(store)
        .into_iter()
        .filter(|p| p.service_container.as_deref() == Some(service))
        .collect()
}

/// Stops a service container when no container of its pods runs any more
/// (`except`: one that is exiting now).
fn stop_idle_service(store: &Store, service: &str, except: &str) {
    let busy = served_by(store, service).iter().any(|p| {
        members(store, p).iter().any(|m| {
            !m.config.process.infra
                && m.id != except
                && (matches!(m.state.status, Status::Running | Status::Paused)
                    || m.state.monitor_alive())
        })
    });
    if !busy {
        let _ = lifecycle::stop(store, service, Some(10));
    }
}

fn create_infra(store: &Arc<Store>, pod: &Pod, o: &PodCreate) -> Result<String, Error> {
    let image = infra_image(store, o.infra_image.clone())?;
    let has = |ns: &str| pod.shared.iter().any(|s| s == ns);
    let process = ProcessOptions {
        // `--infra-command` is the infra's whole command line, as podman makes
        // it: the image's entrypoint does not run before it.
        entrypoint: o.infra_command.clone(),
        hostname: has("uts").then(|| pod.hostname.clone()),
        network: if has("net") {
            o.network.clone()
        } else {
            NetworkMode::None
        },
        ports: o.ports.clone(),
        add_hosts: o.add_hosts.clone(),
        mac_address: o.mac_address,
        dns: o.dns.clone(),
        dns_search: o.dns_search.clone(),
        dns_options: o.dns_options.clone(),
        ipc: NsMode::Shareable,
        pod: Some(pod.id.clone()),
        infra: true,
        conmon_pidfile: o.infra_conmon_pidfile.clone(),
        cgroup_parent: pod.cgroup_path.clone(),
        ..Default::default()
    };
    let mut process = process;
    o.userns.clone().apply(&mut process);
    let name = o
        .infra_name
        .clone()
        .unwrap_or_else(|| format!("{}-infra", &pod.id[..12]));
    let ro = RunOptions {
        image,
        name: Some(name),
        rm: false,
        replace: false,
        process,
    };
    Ok(crate::run::create(store, &ro)?.id)
}

/// At a container's create: `--pod NAME` makes it a member, joining the pod's
/// shared namespaces through its infra container.
pub fn join(store: &Store, p: &mut ProcessOptions) -> Result<(), RunError> {
    let Some(name) = p.pod.clone() else {
        return Ok(());
    };
    if p.infra {
        return Ok(());
    }
    let pod = find(store, &name).map_err(|e| RunError::Engine(e.to_string()))?;
    p.pod = Some(pod.id.clone());
    if p.cgroup_parent.is_none() {
        p.cgroup_parent.clone_from(&pod.cgroup_path);
    }
    let Some(infra) = pod.infra_id.clone() else {
        return Ok(());
    };
    let invalid = |why: &str| RunError::Engine(format!("invalid config provided: {why}"));
    if pod.shares("net") {
        let refused = if !p.networks.is_empty() || p.network != NetworkMode::Unset {
            Some("networks must be defined when the pod is created")
        } else if !p.ports.is_empty() {
            Some("published or exposed ports must be defined when the pod is created")
        } else if !p.add_hosts.is_empty() {
            Some("extra host entries must be specified on the pod")
        } else if p.mac_address.is_some() {
            Some("a MAC address must be set on the pod")
        } else {
            None
        };
        if let Some(what) = refused {
            return Err(invalid(&format!(
                "{what}: network cannot be configured when it is shared with a pod"
            )));
        }
        p.network = NetworkMode::Container(infra.clone());
    }
    if pod.shares("uts") {
        if p.hostname.is_some() {
            return Err(invalid(
                "cannot set hostname when joining the pod UTS namespace",
            ));
        }
        p.uts = NsMode::Container(infra.clone());
    }
    if pod.shares("ipc") {
        p.ipc = NsMode::Container(infra.clone());
    }
    if pod.shares("pid") {
        p.pid = NsMode::Container(infra.clone());
    }
    join_userns(store, p, &infra)
}

/// A pod whose infra container has a user namespace of its own: its members
/// join it, their roots mapped as the infra's, and run as its user (`--userns
/// keep-id`'s) where no `--user` is given.
fn join_userns(store: &Store, p: &mut ProcessOptions, infra: &str) -> Result<(), RunError> {
    let infra_info = container::find(store, infra).map_err(|e| RunError::Engine(e.to_string()))?;
    let Some(map) = infra_info.config.process.id_map else {
        return Ok(());
    };
    if p.id_map.is_some() || p.auto_userns.is_some() {
        return Err(RunError::Engine(
            "invalid config provided: cannot set a user namespace of its own for a container joining a pod whose infra container has one".into(),
        ));
    }
    p.id_map = Some(map);
    p.userns_of = Some(infra.to_string());
    // podman's: the infra's user (keep-id's) unless --user says otherwise.
    if p.user.is_none() {
        p.user = infra_info.config.process.user;
    }
    Ok(())
}

/// Undoes [`join`]: what the pod gave a member's options, for a clone of it
/// to join another pod (or none).
pub fn leave(pod: &Pod, p: &mut ProcessOptions) {
    if let Some(infra) = &pod.infra_id {
        let joined = NsMode::Container(infra.clone());
        if p.network == NetworkMode::Container(infra.clone()) {
            p.network = NetworkMode::Unset;
        }
        for ns in [&mut p.uts, &mut p.ipc, &mut p.pid] {
            if *ns == joined {
                *ns = NsMode::Private;
            }
        }
        if p.userns_of.as_ref() == Some(infra) {
            p.userns_of = None;
            p.id_map = None;
        }
    }
    if p.cgroup_parent.is_some() && p.cgroup_parent == pod.cgroup_path {
        p.cgroup_parent = None;
    }
    p.pod = None;
}

/// The options a pod was created with, as its record and its infra
/// container keep them (`pod clone`).
pub fn create_options(pod: &Pod, members: &[Info]) -> PodCreate {
    let infra = members.iter().find(|m| m.config.process.infra);
    let ip = infra.map(|i| &i.config.process);
    PodCreate {
        name: Some(pod.name.clone()),
        infra: pod.infra_id.is_some(),
        // berth's own is built again when missing, never pulled.
        infra_image: infra
            .map(|i| i.config.image_name.clone())
            .filter(|i| *i != infra::image_name()),
        infra_name: None,
        infra_command: ip.and_then(|p| p.entrypoint.clone()),
        share: Some(if pod.shared.is_empty() {
            "none".to_string()
        } else {
            pod.shared.join(",")
        }),
        hostname: Some(pod.hostname.clone()),
        labels: pod.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        network: pod.network.parse().unwrap_or_default(),
        ports: pod.ports.clone(),
        add_hosts: ip.map(|p| p.add_hosts.clone()).unwrap_or_default(),
        // A clone beside its pod on one network must not share its address.
        mac_address: None,
        dns: ip.map(|p| p.dns.clone()).unwrap_or_default(),
        dns_search: ip.map(|p| p.dns_search.clone()).unwrap_or_default(),
        dns_options: ip.map(|p| p.dns_options.clone()).unwrap_or_default(),
        exit_policy: pod.exit_policy,
        replace: false,
        infra_conmon_pidfile: None,
        create_command: pod.create_command.clone(),
        // The infra's map, or for an `auto` one a new pick.
        userns: match ip.and_then(|p| p.auto_userns.clone()) {
            Some(auto) => crate::namespaces::Userns {
                auto: Some(auto),
                ..Default::default()
            },
            None => crate::namespaces::Userns {
                id_map: ip.and_then(|p| p.id_map.clone()),
                ..Default::default()
            },
        },
        service_container: None,
        resources: pod.resources.clone(),
        cgroup_parent: pod
            .cgroup_path
            .as_deref()
            .and_then(|p| p.rsplit_once('/'))
            .map(|(parent, _)| parent.to_string())
            .filter(|p| !p.is_empty()),
        id_file: None,
    }
}

/// Drops the pod's record and what it had; whether there was one.
fn forget(store: &Store, id: &str) -> bool {
    // What `kube play` wrote for it (configMap volumes) goes with it.
    if let Ok(pod) = find(store, id) {
        let _ = std::fs::remove_dir_all(crate::kube::files_dir(store, &pod.name));
        if let Some(path) = &pod.cgroup_path {
            remove_cgroup(path);
        }
    }
    let _ = std::fs::remove_file(dir(store).join(format!("{id}.start")));
    std::fs::remove_file(dir(store).join(format!("{id}.json"))).is_ok()
}

/// After its infra container is removed: the pod goes too.
pub fn infra_removed(store: &Store, info: &Info) {
    if let (true, Some(pod)) = (info.config.process.infra, &info.config.process.pod) {
        let name = find(store, pod).map(|p| p.name).unwrap_or_default();
        if forget(store, pod) {
            crate::events::pod(store, "remove", pod, &name);
        }
    }
}

/// The containers `pod logs` reads: the one named, else every member but
/// the infra container (which has nothing to say).
pub fn log_targets(
    store: &Store,
    name: &str,
    container: Option<String>,
) -> Result<Vec<String>, Error> {
    let pod = find(store, name)?;
    let ids: Vec<String> = match container {
        Some(c) => vec![c],
        None => members(store, &pod)
            .into_iter()
            .filter(|m| !m.config.process.infra)
            .map(|m| m.id)
            .collect(),
    };
    if ids.is_empty() {
        let why = format!("pod {} has no containers", pod.name);
        return Err(Error::InvalidArgument(why));
    }
    Ok(ids)
}

/// `pod restart`: the pod stopped as `stop` stops it, then started again.
pub fn restart(
    store: &Store,
    name: &str,
    timeout: Option<u64>,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<Pod, Error> {
    stop(store, name, timeout)?;
    start(store, name, monitor_argv)
}

/// Starts the pod: its infra container first, then the others.
pub fn start(
    store: &Store,
    name: &str,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<Pod, Error> {
    let pod = find(store, name)?;
    let _starting = start_lock(store, &pod.id)?;
    if let Some(service) = &pod.service_container
        && let Ok(sc) = container::find(store, service)
        && !matches!(sc.state.status, Status::Running | Status::Paused)
    {
        lifecycle::start(store, &sc.id, monitor_argv)?;
    }
    let down: Vec<Info> = members(store, &pod)
        .into_iter()
        .filter(|m| !matches!(m.state.status, Status::Running | Status::Paused))
        .collect();
    let (infra, others): (Vec<Info>, Vec<Info>) =
        down.into_iter().partition(|m| m.config.process.infra);
    for m in &infra {
        lifecycle::start(store, &m.id, monitor_argv)?;
    }
    // The others only join the infra container's namespaces: they start side by
    // side, each under its own monitor.
    // (The monitor's command lines are made here: the caller's maker need not
    // be shareable between threads. A member whose other donors are down
    // starts them with the same maker first, alone.)
    let (alone, together): (Vec<Info>, Vec<Info>) = others.into_iter().partition(|m| {
        crate::namespaces::donors(&m.config.process)
            .iter()
            .any(|d| Some(*d) != pod.infra_id.as_deref())
    });
    let argvs: BTreeMap<String, Vec<OsString>> = together
        .iter()
        .map(|m| (m.id.clone(), monitor_argv(&m.id)))
        .collect();
    for m in &alone {
        lifecycle::start(store, &m.id, monitor_argv)?;
    }
    let argv_of = |id: &str| argvs.get(id).cloned().unwrap_or_default();
    std::thread::scope(|s| {
        let started: Vec<_> = together
            .iter()
            .map(|m| s.spawn(|| lifecycle::start(store, &m.id, &argv_of)))
            .collect();
        started
            .into_iter()
            .try_for_each(|h| h.join().expect("a start thread panicked").map(drop))
    })?;
    crate::events::pod(store, "start", &pod.id, &pod.name);
    Ok(pod)
}

/// Stops the pod: its containers first, then the infra container.
pub fn stop(store: &Store, name: &str, timeout: Option<u64>) -> Result<Pod, Error> {
    let pod = find(store, name)?;
    for m in members(store, &pod).iter().rev() {
        if matches!(m.state.status, Status::Running | Status::Paused) {
            lifecycle::stop(store, &m.id, timeout)?;
        }
    }
    crate::events::pod(store, "stop", &pod.id, &pod.name);
    Ok(pod)
}

/// Sends a signal to every running container of the pod.
pub fn kill(store: &Store, name: &str, signal: &str) -> Result<Pod, Error> {
    // The signal is judged before the pod is looked for, as podman does.
    lifecycle::parse_kill_signal(signal)?;
    let pod = find(store, name)?;
    for m in members(store, &pod).iter().rev() {
        if m.state.status == Status::Running {
            lifecycle::kill(store, &m.id, signal)?;
        }
    }
    crate::events::pod(store, "kill", &pod.id, &pod.name);
    Ok(pod)
}

/// Freezes or thaws the pod's containers.
pub fn set_paused(store: &Store, name: &str, pause: bool) -> Result<Pod, Error> {
    let pod = find(store, name)?;
    let want = if pause {
        Status::Running
    } else {
        Status::Paused
    };
    for m in members(store, &pod) {
        if m.state.status == want {
            lifecycle::set_paused(store, &m.id, pause)?;
        }
    }
    let status = if pause { "pause" } else { "unpause" };
    crate::events::pod(store, status, &pod.id, &pod.name);
    Ok(pod)
}

/// Removes the pod and its containers; running ones only with `force`.
pub fn remove(store: &Store, name: &str, force: bool, time: u64) -> Result<Pod, Error> {
    let pod = find(store, name)?;
    let members = members(store, &pod);
    // The infra container a member started goes without force, as podman's.
    if !force
        && let Some(up) = members.iter().find(|m| {
            !m.config.process.infra && matches!(m.state.status, Status::Running | Status::Paused)
        })
    {
        return Err(Error::StateImproper(format!(
            "pod {} has containers that are not ready to be removed: cannot remove container {} as it is running - running or paused containers cannot be removed without force: container state improper",
            pod.id, up.id
        )));
    }
    // Members before the infra container whose namespaces they join.
    for m in members.iter().rev() {
        match lifecycle::remove_member(store, &m.id, force || m.config.process.infra, time) {
            Ok(_) | Err(Error::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // (Gone already with its infra container, which said so.)
    if forget(store, &pod.id) {
        crate::events::pod(store, "remove", &pod.id, &pod.name);
    }
    // The last of a play's pods takes its service container with it.
    if let Some(service) = &pod.service_container
        && served_by(store, service).is_empty()
    {
        match lifecycle::remove_member(store, service, true, time) {
            Ok(_) | Err(Error::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pod)
}

/// `pod prune`: removes every pod none of whose containers runs; returns the IDs
/// removed and the first failure (the others are still tried).
pub fn prune(store: &Store) -> (Vec<String>, Option<Error>) {
    let all = container::list(store).unwrap_or_default();
    let (mut gone, mut failed) = (Vec::new(), None);
    for p in list(store) {
        if !matches!(status(&members_in(&all, &p)), "Exited" | "Created") {
            continue;
        }
        match remove(store, &p.id, true, 0) {
            Ok(p) => gone.push(p.id),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    (gone, failed)
}

/// A pod as `pod ps --format json` lists it (podman's fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodSummary {
    pub id: String,
    pub name: String,
    pub status: String,
    /// RFC 3339.
    pub created: String,
    #[serde(skip)]
    pub created_ns: u64,
    pub infra_id: String,
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<String>,
    pub containers: Vec<PodSummaryMember>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PodSummaryMember {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Names")]
    pub names: String,
    #[serde(rename = "Status")]
    pub status: String,
}

/// Whether a pod passes every `pod ps --filter` (id=, name=, label=KEY[=VALUE],
/// status=, network=, until=, ctr-ids=, ctr-names=, ctr-status=, ctr-number=).
fn passes(p: &Pod, members: &[Info], filters: &[String]) -> Result<bool, Error> {
    for f in filters {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            Error::InvalidArgument(format!("invalid filter {f:?}: expected KEY=VALUE"))
        })?;
        let ok = match k {
            "id" => p.id.starts_with(v),
            "name" => p.name.contains(v),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => p.labels.get(lk).is_some_and(|x| x == lv),
                None => p.labels.contains_key(v),
            },
            "status" => status(members).eq_ignore_ascii_case(v),
            "network" => p.network == v,
            "ctr-ids" => members.iter().any(|m| m.id.starts_with(v)),
            "ctr-names" => members
                .iter()
                .any(|m| m.names.iter().any(|n| n.contains(v))),
            "ctr-status" => members.iter().any(|m| m.state.status.as_str() == v),
            "ctr-number" => {
                let n: usize = v.parse().map_err(|_| {
                    Error::InvalidArgument(format!("invalid filter {f:?}: not a number"))
                })?;
                members.len() == n
            }
            "until" => {
                let t = crate::time::until(v).ok_or_else(|| {
                    Error::InvalidArgument(format!("invalid filter {f:?}: not a time"))
                })?;
                p.created_ns / 1_000_000_000 < t
            }
            _ => return Err(Error::InvalidArgument(format!("invalid filter {k:?}"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `pod ps`: the pods that pass the filters, newest first.
pub fn ps(store: &Store, filters: &[String]) -> Result<Vec<PodSummary>, Error> {
    let mut out = Vec::new();
    // The containers once, not once a pod.
    let all = container::list(store).unwrap_or_default();
    for p in list(store) {
        let members = members_in(&all, &p);
        if !passes(&p, &members, filters)? {
            continue;
        }
        out.push(PodSummary {
            status: status(&members).to_string(),
            created: container::rfc3339(p.created_ns),
            created_ns: p.created_ns,
            infra_id: p.infra_id.clone().unwrap_or_default(),
            networks: match p.network.as_str() {
                "" => Vec::new(),
                n => vec![n.to_string()],
            },
            containers: members
                .iter()
                .map(|m| PodSummaryMember {
                    id: m.id.clone(),
                    names: m.name().to_string(),
                    status: m.state.status.as_str().to_string(),
                })
                .collect(),
            id: p.id,
            name: p.name,
            labels: p.labels,
        });
    }
    Ok(out)
}

/// `pod top`: the processes of every running container of the pod, in the
/// format descriptors given (podman's default set when none), one table.
pub fn top(store: &Store, name: &str, args: &[String]) -> Result<Vec<Vec<String>>, Error> {
    let pod = find(store, name)?;
    if !crate::top::are_descriptors(args) {
        return Err(Error::InvalidArgument(format!(
            "pod top {}: unknown format descriptors",
            args.join(" ")
        )));
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for m in members(store, &pod) {
        if m.state.status != Status::Running {
            continue;
        }
        let pids = crate::oci::Oci::for_container(store, &m)?.pids(&m.id)?;
        let table = crate::top::table(&pids, args).expect("descriptors checked");
        let skip = usize::from(!rows.is_empty());
        rows.extend(table.into_iter().skip(skip));
    }
    if rows.is_empty() {
        return Err(Error::StateImproper(format!(
            "pod {} has no running containers",
            pod.id
        )));
    }
    Ok(rows)
}

/// `pod inspect`, podman's fields.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodInspect {
    pub id: String,
    pub name: String,
    pub created: String,
    pub exit_policy: String,
    pub state: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub create_infra: bool,
    #[serde(rename = "InfraContainerID", skip_serializing_if = "Option::is_none")]
    pub infra_container_id: Option<String>,
    pub infra_config: Option<InfraConfig>,
    pub shared_namespaces: Vec<String>,
    pub num_containers: usize,
    pub containers: Vec<PodMember>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_path: Option<String>,
    #[serde(rename = "cpu_period", skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<u64>,
    #[serde(rename = "cpu_quota", skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(rename = "cpu_shares", skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    #[serde(rename = "cpuset_cpus", skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
    #[serde(rename = "cpuset_mems", skip_serializing_if = "Option::is_none")]
    pub cpuset_mems: Option<String>,
    #[serde(rename = "memory_limit", skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<i64>,
    #[serde(rename = "memory_swap", skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    #[serde(rename = "blkio_weight", skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InfraConfig {
    pub host_network: bool,
    pub port_bindings: BTreeMap<String, Vec<BTreeMap<String, String>>>,
    pub networks: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PodMember {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "State")]
    pub state: String,
}

pub fn inspect(store: &Store, pod: &Pod) -> PodInspect {
    let members = members(store, pod);
    let r = &pod.resources;
    let mut port_bindings: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for p in &pod.ports {
        port_bindings
            .entry(format!("{}/{}", p.container_port, p.protocol))
            .or_default()
            .push(BTreeMap::from([
                ("HostIp".to_string(), p.host_ip.clone()),
                ("HostPort".to_string(), p.host_port.to_string()),
            ]));
    }
    PodInspect {
        id: pod.id.clone(),
        name: pod.name.clone(),
        created: container::rfc3339(pod.created_ns),
        exit_policy: pod.exit_policy.to_string(),
        state: status(&members).to_string(),
        hostname: pod.hostname.clone(),
        labels: pod.labels.clone(),
        create_infra: pod.infra_id.is_some(),
        infra_container_id: pod.infra_id.clone(),
        infra_config: pod.infra_id.as_ref().map(|_| InfraConfig {
            host_network: pod.network == "host",
            port_bindings,
            networks: match pod.network.as_str() {
                "" | "host" | "none" => Vec::new(),
                n => vec![n.to_string()],
            },
        }),
        shared_namespaces: if pod.infra_id.is_some() {
            pod.shared.clone()
        } else {
            Vec::new()
        },
        num_containers: members.len(),
        containers: members
            .iter()
            .map(|m| PodMember {
                id: m.id.clone(),
                name: m.name().to_string(),
                state: m.state.status.as_str().to_string(),
            })
            .collect(),
        cgroup_parent: pod
            .cgroup_path
            .as_deref()
            .and_then(|p| p.rsplit_once('/').map(|(parent, _)| parent.to_string())),
        cgroup_path: pod.cgroup_path.clone(),
        cpu_period: r.cpus.map(|_| 100_000),
        cpu_quota: r.cpus.map(|c| (c * 100_000.0).round() as i64),
        cpu_shares: r.cpu_shares,
        cpuset_cpus: r.cpuset_cpus.clone(),
        cpuset_mems: r.cpuset_mems.clone(),
        memory_limit: r.memory.map(|m| m.0).filter(|m| *m > 0),
        memory_swap: r.memory_swap,
        blkio_weight: r.blkio_weight,
    }
}

/// When a container of a pod with `--exit-policy stop` exits: the last one out
/// stops the infra container.
pub fn member_exited(store: &Store, info: &Info) {
    let Some(pod) = info.config.process.pod.as_deref() else {
        return;
    };
    if info.config.process.infra {
        return;
    }
    let Ok(pod) = find(store, pod) else {
        return;
    };
    if pod.exit_policy != ExitPolicy::Stop {
        return;
    }
    // Once the pod's members are started, if they are being started now.
    drop(start_lock(store, &pod.id));
    let members = members(store, &pod);
    // A sibling still starting (its monitor alive, not yet recorded running)
    // counts as up: the pod's first containers start side by side.
    let others_up = members.iter().any(|m| {
        !m.config.process.infra
            && m.id != info.id
            && (matches!(m.state.status, Status::Running | Status::Paused)
                || m.state.monitor_alive())
    });
    if !others_up && let Some(infra) = &pod.infra_id {
        let _ = lifecycle::stop(store, infra, Some(10));
    }
    if !others_up && let Some(service) = &pod.service_container {
        stop_idle_service(store, service, &info.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_lists_as_podman_reads_them() {
        assert_eq!(
            shared_namespaces(None).unwrap(),
            ["cgroup", "ipc", "net", "uts"]
        );
        assert_eq!(shared_namespaces(Some("ipc")).unwrap(), ["ipc"]);
        assert_eq!(
            shared_namespaces(Some("+pid")).unwrap(),
            ["cgroup", "ipc", "net", "pid", "uts"]
        );
        assert!(shared_namespaces(Some("bogus")).is_err());
        assert!(shared_namespaces(Some("none")).unwrap().is_empty());
    }

    #[test]
    fn exit_policies() {
        assert_eq!("stop".parse::<ExitPolicy>().unwrap(), ExitPolicy::Stop);
        assert!("invalid".parse::<ExitPolicy>().is_err());
        assert_eq!(ExitPolicy::default().to_string(), "continue");
    }
}
