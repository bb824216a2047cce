//! What the engine reports about containers, as podman's JSON has it: `ps`
//! entries ([`PsEntry`]) and `inspect` documents ([`ContainerInspect`]). Every
//! front end serialises these same values (the CLI as JSON, tables or Go
//! templates; the REST API as its bodies), so none recomputes them.

use std::path::PathBuf;

use berth_storage::Store;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::container::{self, Info, Status, human_duration, now_ns, rfc3339};
use crate::container_filters::ContainerFilters;

/// The label `berth builder` and `build` put on their working containers,
/// which `ps` leaves out unless asked (`--external`).
pub const BUILDER_LABEL: &str = "io.berth.builder";

/// Which containers `ps` lists, and in which order.
#[derive(Clone, Debug, Default)]
pub struct PsOptions {
    /// Stopped containers too.
    pub all: bool,
    /// Only the N newest (implies `all`).
    pub last: Option<usize>,
    /// `KEY=VALUE` filters; the same key twice means either.
    pub filters: Vec<String>,
    /// created (default), id, image, names, size or status.
    pub sort: Option<String>,
    /// Working containers of builds too.
    pub external: bool,
    /// Docker's list rather than podman's: newest first, and paused
    /// containers among the running ones (podman shows them with -a only).
    pub docker: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("invalid filter {0:?}: expected KEY=VALUE")]
    FilterSyntax(String),
    #[error("invalid filter {0:?}")]
    FilterKey(String),
    #[error("{0} invalid restart policy")]
    RestartPolicy(String),
    #[error("unknown container state: {0}: invalid argument")]
    UnknownState(String),
    /// `before=`, `since=`: no such container.
    #[error("no container with name or ID \"{0}\" found: no such container")]
    NoSuchContainer(String),
    #[error(transparent)]
    Time(#[from] crate::time::InvalidTime),
    #[error("invalid --sort {0:?}: created, id, image, names, size or status")]
    Sort(String),
    #[error(transparent)]
    Store(#[from] berth_storage::Error),
}

/// One container as `ps --format json` shows it (podman's field names).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PsEntry {
    pub id: String,
    #[serde(rename = "ID")]
    pub id_alias: String,
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub command: Vec<String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub created_at: String,
    pub state: String,
    /// As the table's STATUS column: `Up 3 seconds`, `Exited (0) 2 minutes ago`.
    pub status: String,
    pub exited: bool,
    pub exit_code: i32,
    pub pid: i32,
    pub names: Vec<String>,
    pub auto_remove: bool,
    /// `127.0.0.1:8080->80/tcp, …`.
    pub ports: String,
    pub labels: Map<String, Value>,
    pub networks: Vec<String>,
    pub mounts: Vec<String>,
    /// The pod's ID (short) and name, empty outside a pod.
    pub pod: String,
    pub pod_name: String,
    pub is_infra: bool,
    /// The healthcheck's status, for podman's STATUS text.
    #[serde(skip)]
    pub health: Option<String>,
}

/// The containers `ps` shows, oldest first as podman sorts them (by
/// `--sort`, or newest first for Docker's list).
pub fn ps(store: &Store, o: &PsOptions) -> Result<Vec<Info>, ViewError> {
    let builder = format!("{BUILDER_LABEL}=true");
    let mut list = Vec::new();
    let filters = ContainerFilters::parse(store, &o.filters)?;
    for i in container::list(store)? {
        if (o.external || !i.config.process.labels.contains(&builder)) && filters.matches(store, &i)
        {
            list.push(i);
        }
    }
    // --last N: the N created most recently.
    if let Some(n) = o.last {
        list.sort_by_key(|x| std::cmp::Reverse(x.config.created_ns));
        list.truncate(n);
    }
    match o.sort.as_deref() {
        Some(by) => sort(store, &mut list, by)?,
        None if o.docker => list.sort_by_key(|x| std::cmp::Reverse(x.config.created_ns)),
        None => list.sort_by_key(|x| x.config.created_ns),
    }
    // A status filter shows stopped containers without -a, as podman does.
    if !o.all && o.last.is_none() && !filters.wants_stopped() {
        list.retain(|i| match i.state.status {
            Status::Running => true,
            Status::Paused => o.docker,
            _ => false,
        });
    }
    Ok(list)
}

fn sort(store: &Store, list: &mut [Info], by: &str) -> Result<(), ViewError> {
    match by {
        // Oldest first, as podman sorts them.
        "created" => list.sort_by_key(|x| x.config.created_ns),
        "id" => list.sort_by(|x, y| x.id.cmp(&y.id)),
        "image" => list.sort_by(|x, y| x.config.image_name.cmp(&y.config.image_name)),
        "names" => list.sort_by(|x, y| x.names.cmp(&y.names)),
        "status" => list.sort_by_key(|x| x.state.status.as_str()),
        "size" => list.sort_by_cached_key(|x| sizes(store, x).0),
        other => return Err(ViewError::Sort(other.to_string())),
    }
    Ok(())
}

/// Bytes of the files under `p` (symlinks not followed).
pub fn du(p: &std::path::Path) -> u64 {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !md.is_dir() {
        return if md.is_file() { md.len() } else { 0 };
    }
    std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| du(&e.path()))
        .sum()
}

/// Bytes a container has written (its layer), and its image's size.
pub fn sizes(store: &Store, i: &Info) -> (u64, u64) {
    let rw = store
        .container(&i.id)
        .ok()
        .and_then(|c| store.layer(&c.layer).ok())
        .map(|l| du(&store.layer_path(&l)))
        .unwrap_or(0);
    let image = store
        .image(&i.config.image_id)
        .map(|im| im.size)
        .unwrap_or(0);
    (rw, image)
}

/// The healthcheck's status, for containers that have one.
pub fn health_status(store: &Store, i: &Info) -> Option<String> {
    i.config.health.as_ref()?;
    crate::health::load(store, &i.id).map(|h| h.status)
}

/// A running container's namespaces as `ps --ns` shows them: each one's inode
/// number (`cgroup`, `ipc`, `mnt`, `net`, `pid`, `user`, `uts`), empty for one
/// not running (or whose process is not the one recorded).
pub fn namespaces(i: &Info) -> [String; 7] {
    let kinds = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"];
    let alive = i.state.init.filter(|p| p.alive()).map(|p| p.pid.get());
    kinds.map(|k| {
        let Some(pid) = alive else {
            return String::new();
        };
        std::fs::read_link(format!("/proc/{pid}/ns/{k}"))
            .ok()
            .and_then(|l| {
                let l = l.to_string_lossy().into_owned();
                let inode = l.split_once('[')?.1.strip_suffix(']')?.to_string();
                Some(inode)
            })
            .unwrap_or_default()
    })
}

/// podman's STATUS column: `Up 3 seconds ago (healthy)`, `Exited (1) 2
/// minutes ago` … (the Docker API's [`status_text`] says `Up 3 seconds`).
pub fn podman_status_text(i: &Info, now: u64, health: Option<&str>) -> String {
    let since = |t: Option<u64>| human_duration(now.saturating_sub(t.unwrap_or(now)));
    match (i.state.status, health) {
        (Status::Running, Some(h)) => format!("Up {} ago ({h})", since(i.state.started_ns)),
        (Status::Running, None) => format!("Up {} ago", since(i.state.started_ns)),
        _ => status_text(i, now, health),
    }
}

/// Docker's STATUS: `Up 3 seconds (healthy)`, `Exited (1) 2 minutes ago` …
pub fn status_text(i: &Info, now: u64, health: Option<&str>) -> String {
    let since = |t: Option<u64>| human_duration(now.saturating_sub(t.unwrap_or(now)));
    match i.state.status {
        Status::Created => "Created".into(),
        Status::Running => match health {
            Some(h) => format!("Up {} ({h})", since(i.state.started_ns)),
            None => format!("Up {}", since(i.state.started_ns)),
        },
        // podman says only "Paused" (docker: "Up … (Paused)").
        Status::Paused => "Paused".into(),
        Status::Exited => match i.state.exit_code {
            Some(c) => format!("Exited ({c}) {} ago", since(i.state.finished_ns)),
            None => "Exited".into(),
        },
    }
}

/// `127.0.0.1:8080->80/tcp, …` from the container's published ports.
pub fn ports_text(store: &Store, i: &Info) -> String {
    crate::network::attachment(store, &i.id)
        .map(|a| {
            a.ports
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}->{}/{}",
                        p.host_ip, p.host_port, p.container_port, p.protocol
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `--label K=V` flags as the map podman shows.
pub fn labels_map(labels: &[String]) -> Map<String, Value> {
    labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), Value::String(v.to_string()))
        })
        .collect()
}

/// `KEY=VALUE` flags (`--label`, `--opt`) as a sorted map; a bare `KEY`
/// has an empty value, and a later flag of a key wins.
pub fn label_pairs(labels: &[String]) -> std::collections::BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| l.split_once('=').unwrap_or((l, "")))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl PsEntry {
    pub fn of(store: &Store, i: &Info, now: u64, health: Option<&str>) -> PsEntry {
        PsEntry {
            id: i.id.clone(),
            id_alias: i.id.clone(),
            image: i.config.image_name.clone(),
            image_id: i.config.image_id.clone(),
            command: i.config.args.clone(),
            created: i.config.created_ns / 1_000_000_000,
            created_at: rfc3339(i.config.created_ns),
            state: i.state.status.as_str().to_string(),
            status: status_text(i, now, health),
            health: health.map(String::from),
            exited: i.state.status == Status::Exited,
            exit_code: i.state.exit_code.unwrap_or(0),
            pid: i.state.pid(),
            names: i.names.clone(),
            auto_remove: i.config.rm,
            ports: ports_text(store, i),
            labels: labels_map(&i.config.process.labels),
            networks: i
                .config
                .process
                .network
                .bridge()
                .map(|n| vec![n.to_string()])
                .unwrap_or_default(),
            mounts: i
                .config
                .process
                .volumes
                .iter()
                .map(|v| v.destination.clone())
                .collect(),
            pod: i
                .config
                .process
                .pod
                .as_deref()
                .map(|p| p[..12.min(p.len())].to_string())
                .unwrap_or_default(),
            pod_name: i
                .config
                .process
                .pod
                .as_deref()
                .and_then(|p| crate::pods::find(store, p).ok())
                .map(|p| p.name)
                .unwrap_or_default(),
            is_infra: i.config.process.infra,
        }
    }
}

/// Where the container's generated `file` is, once made (empty before).
fn userdata_file(store: &Store, i: &Info, file: &str) -> String {
    let p = container::userdata(store, &i.id).join(file);
    if p.exists() {
        p.display().to_string()
    } else {
        String::new()
    }
}

/// `GraphDriver` as podman's inspect has it: the driver and, for overlay,
/// the image's layers (`LowerDir`, top first), the container's own
/// (`UpperDir`), its work and mount directories.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriverView {
    pub name: String,
    pub data: std::collections::BTreeMap<String, String>,
}

impl GraphDriverView {
    /// An image's: its top layer the upper one, the others below.
    pub fn of_image(store: &Store, img: &berth_storage::Image) -> GraphDriverView {
        let mut layers = img.layers.iter().rev().filter_map(|l| store.layer(l).ok());
        let top = layers.next();
        Self::overlay(store, top.as_ref(), layers, None)
    }

    /// A container's: its own layer the upper one over its image's.
    fn of(store: &Store, i: &Info) -> GraphDriverView {
        let layer = store
            .container(&i.id)
            .ok()
            .and_then(|c| store.layer(&c.layer).ok());
        let image = store
            .image(&i.config.image_id)
            .map(|im| im.layers)
            .unwrap_or_default();
        let lowers = image.iter().rev().filter_map(|l| store.layer(l).ok());
        Self::overlay(
            store,
            layer.as_ref(),
            lowers,
            Some(store.mount_point(&i.id)),
        )
    }

    /// The driver's name and, for overlay, the directories of `upper` over
    /// `lowers` (top first); `merged`: where a container is (or would be) mounted.
    fn overlay(
        store: &Store,
        upper: Option<&berth_storage::Layer>,
        lowers: impl Iterator<Item = berth_storage::Layer>,
        merged: Option<Option<std::path::PathBuf>>,
    ) -> GraphDriverView {
        let name = driver_name(store);
        let mut data = std::collections::BTreeMap::new();
        if let (Some(upper), "overlay") = (upper, name.as_str()) {
            let upper = store.layer_path(upper);
            let dir = upper
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let lowers: Vec<String> = lowers
                .map(|l| store.layer_path(&l).display().to_string())
                .collect();
            if !lowers.is_empty() {
                data.insert("LowerDir".into(), lowers.join(":"));
            }
            if let Some(m) = merged {
                let m = m.unwrap_or_else(|| dir.join("merged"));
                data.insert("MergedDir".into(), m.display().to_string());
            }
            data.insert("UpperDir".into(), upper.display().to_string());
            data.insert("WorkDir".into(), dir.join("work").display().to_string());
        }
        GraphDriverView { name, data }
    }
}

/// The storage driver's name as podman words it (`overlay`, `vfs`).
pub fn driver_name(store: &Store) -> String {
    format!("{:?}", store.driver()).to_lowercase()
}

/// One container as podman's `ps --format json` prints it (its fields, in
/// its order): times as seconds, ports as records, the status as the table's.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PsJson {
    pub auto_remove: bool,
    pub command: Vec<String>,
    /// `3 minutes ago`.
    pub created_at: String,
    pub exited: bool,
    /// Seconds; Go's zero time (-62135596800) when it has not exited.
    pub exited_at: i64,
    pub exit_code: i32,
    pub id: String,
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub is_infra: bool,
    /// Null without labels.
    pub labels: Option<Map<String, Value>>,
    pub mounts: Vec<String>,
    pub names: Vec<String>,
    pub namespaces: Map<String, Value>,
    pub networks: Vec<String>,
    pub pid: i32,
    /// The pod's full ID.
    pub pod: String,
    pub pod_name: String,
    /// Null without published ports.
    pub ports: Option<Vec<PortRecord>>,
    /// With `--size`: `rootFsSize` and `rwSize`; else null.
    pub size: Option<Value>,
    pub started_at: i64,
    pub state: String,
    pub status: String,
    /// Seconds since the epoch.
    pub created: u64,
}

/// A published port as podman's `ps` JSON has it (netavark's PortMapping).
#[derive(Clone, Debug, Serialize)]
pub struct PortRecord {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    pub protocol: String,
}

/// Go's zero time, in seconds since the epoch.
const GO_ZERO_SECS: i64 = -62_135_596_800;

impl PsJson {
    /// `sizes`: the container's written bytes and its image's, with --size.
    pub fn of(i: &Info, e: &PsEntry, now: u64, sizes: Option<(u64, u64)>) -> PsJson {
        let secs = |ns: Option<u64>| ns.map_or(GO_ZERO_SECS, |n| (n / 1_000_000_000) as i64);
        let ports: Vec<PortRecord> = i
            .config
            .process
            .ports
            .iter()
            .map(|p| PortRecord {
                host_ip: if p.host_ip == "0.0.0.0" {
                    String::new()
                } else {
                    p.host_ip.clone()
                },
                container_port: p.container_port,
                host_port: p.host_port,
                range: 1,
                protocol: p.protocol.clone(),
            })
            .collect();
        let ago = container::human_duration(now.saturating_sub(i.config.created_ns));
        PsJson {
            auto_remove: e.auto_remove,
            command: e.command.clone(),
            created_at: format!("{ago} ago"),
            exited: e.exited,
            exited_at: secs(i.state.finished_ns.filter(|_| e.exited)),
            exit_code: e.exit_code,
            id: e.id.clone(),
            image: e.image.clone(),
            image_id: e.image_id.clone(),
            is_infra: e.is_infra,
            labels: (!e.labels.is_empty()).then(|| e.labels.clone()),
            mounts: e.mounts.clone(),
            names: e.names.clone(),
            namespaces: Map::new(),
            networks: e.networks.clone(),
            pid: e.pid,
            pod: i.config.process.pod.clone().unwrap_or_default(),
            pod_name: e.pod_name.clone(),
            ports: (!ports.is_empty()).then_some(ports),
            size: sizes
                .map(|(rw, image)| serde_json::json!({"rootFsSize": rw + image, "rwSize": rw})),
            started_at: secs(i.state.started_ns),
            state: e.state.clone(),
            status: podman_status_text(i, now, e.health.as_deref()),
            created: e.created,
        }
    }
}

/// `podman inspect` of a container: the fields scripts read.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub id: String,
    pub created: String,
    pub path: Option<String>,
    pub args: Vec<String>,
    pub state: InspectState,
    pub restart_count: u32,
    pub network_settings: NetworkSettings,
    pub image: String,
    /// The digest of the manifest the image was stored with.
    pub image_digest: String,
    pub image_name: String,
    /// `--rootfs`'s directory; empty for a container made from an image.
    pub rootfs: String,
    pub is_infra: bool,
    /// A `kube play --service-container`'s service container.
    pub is_service: bool,
    #[serde(rename = "OCIRuntime")]
    pub oci_runtime: String,
    pub name: String,
    pub config: InspectConfig,
    /// The storage driver, and where the container's layers are.
    pub driver: String,
    pub graph_driver: GraphDriverView,
    /// The files berth made for /etc/hosts, /etc/resolv.conf, /etc/hostname.
    pub hosts_path: String,
    pub resolv_conf_path: String,
    pub hostname_path: String,
    pub log_path: String,
    pub host_config: HostConfig,
    pub mounts: Vec<InspectMount>,
    /// The pod's full ID, empty outside a pod.
    pub pod: String,
    /// Where the monitor writes its pid (`--conmon-pidfile` or its own).
    pub conmon_pid_file: String,
    /// `inspect --size`: what the container wrote, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<u64>,
    /// `inspect --size`: that and its image's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectState {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub dead: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub error: String,
    pub pid: i32,
    pub conmon_pid: i32,
    pub exit_code: i32,
    pub started_at: String,
    pub finished_at: String,
    /// podman's: an empty one when there is no healthcheck.
    #[serde(serialize_with = "health_or_empty")]
    pub health: Option<crate::health::Health>,
}

fn health_or_empty<S: serde::Serializer>(
    h: &Option<crate::health::Health>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let log = h.as_ref().map(|h| &h.log).filter(|l| !l.is_empty());
    serde::Serialize::serialize(
        &serde_json::json!({
            "Status": h.as_ref().map_or("", |h| h.status.as_str()),
            "FailingStreak": h.as_ref().map_or(0, |h| h.failing_streak),
            "Log": log,
        }),
        s,
    )
}

/// A healthcheck as podman's inspect shows it (Docker's HealthConfig).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthcheckView {
    /// `["CMD-SHELL", "cmd"]` or `["CMD", "arg", …]`.
    pub test: Vec<String>,
    /// Nanoseconds; left out when not set.
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: u128,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: u128,
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: u128,
    pub retries: u32,
}

fn is_zero(n: &u128) -> bool {
    *n == 0
}

impl HealthcheckView {
    fn of(h: &crate::health::HealthConfig) -> HealthcheckView {
        let test = match h.test.as_slice() {
            [sh, c, cmd] if sh == "/bin/sh" && c == "-c" => vec!["CMD-SHELL".into(), cmd.clone()],
            t => std::iter::once("CMD".to_string())
                .chain(t.iter().cloned())
                .collect(),
        };
        HealthcheckView {
            test,
            interval: h.interval.as_nanos(),
            timeout: h.timeout.as_nanos(),
            start_period: h.start_period.as_nanos(),
            retries: h.retries,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    /// `PORT/PROTO` → the host ends it is published on.
    pub ports: Map<String, Value>,
    pub networks: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_key: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectConfig {
    pub hostname: String,
    pub user: String,
    /// What the process gets: the image's environment under the flags'.
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub entrypoint: String,
    pub labels: Map<String, Value>,
    /// `--annotation`s (and a played Pod's), as the OCI spec gets them.
    pub annotations: Map<String, Value>,
    pub stop_signal: i32,
    pub tty: bool,
    pub open_stdin: bool,
    pub image: String,
    pub working_dir: String,
    /// Null without one (a template still finds the field).
    pub healthcheck: Option<HealthcheckView>,
    /// `--health-on-failure`, as podman names it.
    pub healthcheck_on_failure_action: String,
    /// The command line that made the container (empty: not the CLI).
    pub create_command: Vec<String>,
    /// Whether the container runs in systemd's mode (`--systemd`).
    pub systemd_mode: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    pub log_config: LogConfig,
    pub binds: Vec<String>,
    pub memory: i64,
    /// `--cpus`, in billionths of a CPU, and as the quota of a 100 ms period.
    pub nano_cpus: i64,
    pub cpu_period: u64,
    pub cpu_quota: i64,
    /// -1 when not set, as podman shows it.
    pub memory_swappiness: i64,
    pub oom_kill_disable: bool,
    pub privileged: bool,
    pub auto_remove: bool,
    pub restart_policy: RestartPolicyView,
    pub network_mode: String,
    pub readonly_rootfs: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--cgroupns`: "host" or "private", as podman shows it.
    pub cgroup_mode: String,
    /// `--sysctl`s, as podman shows them.
    pub sysctls: std::collections::BTreeMap<String, String>,
    pub oom_score_adj: i32,
    /// A user namespace of its own (`--uidmap`): its map, podman's
    /// CONTAINER:HOST:SIZE strings.
    #[serde(rename = "IDMappings", skip_serializing_if = "Option::is_none")]
    pub id_mappings: Option<IdMappingsView>,
    /// podman's words: "" (the host's, or a rootless user's own), "private"
    /// (a map of its own, keep-id's and auto's too), "container:ID".
    pub userns_mode: String,
    /// `-p`, as asked (`NetworkSettings.Ports` says what is bound now).
    pub port_bindings: Map<String, Value>,
    pub publish_all_ports: bool,
    pub dns: Vec<String>,
    pub dns_options: Vec<String>,
    pub dns_search: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub group_add: Vec<String>,
    /// podman's words: "shareable", "private", "host", "none", "container:ID".
    pub ipc_mode: String,
    pub pid_mode: String,
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    pub pids_limit: i64,
    /// /dev/shm's size in bytes (podman's 64m when not given).
    pub shm_size: i64,
    /// Each tmpfs's destination and its options.
    pub tmpfs: std::collections::BTreeMap<String, String>,
    pub security_opt: Vec<String>,
    pub devices: Vec<DeviceView>,
    pub cgroup_parent: String,
    pub volumes_from: Vec<String>,
    pub cpu_shares: u64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub blkio_weight: u16,
}

/// A `--device`, as podman's inspect shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceView {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

impl DeviceView {
    /// `HOST[:CONTAINER][:PERMISSIONS]`, read as the spec reads it.
    fn of(flag: &str) -> DeviceView {
        let (host, inner, perms) = crate::security::device_parts(flag).unwrap_or((flag, flag, ""));
        DeviceView {
            path_on_host: host.to_string(),
            path_in_container: inner.to_string(),
            cgroup_permissions: perms.to_string(),
        }
    }
}

/// Ports as podman's inspect maps them: `PORT/PROTO` to its host bindings,
/// the wildcard address shown empty.
fn port_map(ports: &[crate::network::PortMapping]) -> Map<String, Value> {
    let mut out = Map::new();
    for p in ports {
        let binding = serde_json::json!({
            "HostIp": p.firewall_host_ip(),
            "HostPort": p.host_port.to_string(),
        });
        match out
            .entry(format!("{}/{}", p.container_port, p.protocol))
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(v) => v.push(binding),
            _ => unreachable!("made an array above"),
        }
    }
    out
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdMappingsView {
    #[serde(rename = "UIDMap")]
    pub uid_map: Vec<String>,
    #[serde(rename = "GIDMap")]
    pub gid_map: Vec<String>,
}

impl IdMappingsView {
    fn of(m: &berth_storage::idmap::IdMap) -> IdMappingsView {
        let text = |rs: &[berth_storage::idmap::IdRange]| {
            rs.iter()
                .map(|r| format!("{}:{}:{}", r.container, r.host, r.size))
                .collect()
        };
        IdMappingsView {
            uid_map: text(&m.uids),
            gid_map: text(&m.gids),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    /// The k8s-file log's path ("" for the other drivers).
    #[serde(rename = "Path")]
    pub path: String,
    /// `--log-opt max-size`, as podman shows it ("0B" for none).
    #[serde(rename = "Size")]
    pub size: String,
    #[serde(rename = "Tag")]
    pub tag: String,
}

/// The policy's name and its retry count apart, as podman and Docker show
/// them (`on-failure` and 2 for `--restart on-failure:2`).
#[derive(Clone, Debug, Serialize)]
pub struct RestartPolicyView {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "MaximumRetryCount")]
    pub maximum_retry_count: u32,
}

impl RestartPolicyView {
    fn of(r: container::RestartPolicy) -> RestartPolicyView {
        match r {
            container::RestartPolicy::OnFailure(n) => RestartPolicyView {
                name: "on-failure".into(),
                maximum_retry_count: n,
            },
            // podman's: no policy is an empty name (Docker's API says "no").
            container::RestartPolicy::No => RestartPolicyView {
                name: String::new(),
                maximum_retry_count: 0,
            },
            r => RestartPolicyView {
                name: r.name(),
                maximum_retry_count: 0,
            },
        }
    }
}

/// A volume, bind or tmpfs the user asked for.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectMount {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub source: String,
    pub destination: String,
    /// "local" for a volume (none for the other kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    /// A bind's or volume's propagation (berth's rprivate unless given);
    /// empty for the other kinds.
    pub propagation: String,
}

fn time_or_zero(ns: Option<u64>) -> String {
    ns.map(rfc3339)
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

impl ContainerInspect {
    /// With `SizeRw` and `SizeRootFs` (`inspect --size`), as `ps --size` counts them.
    pub fn with_size(mut self, store: &Store, i: &Info) -> ContainerInspect {
        let (rw, image) = sizes(store, i);
        self.size_rw = Some(rw);
        self.size_root_fs = Some(rw + image);
        self
    }

    pub fn of(store: &Store, i: &Info) -> ContainerInspect {
        let p = &i.config.process;
        let log_driver = p.log_driver.as_deref().unwrap_or("k8s-file");
        let log_path = match container::log_target(store, &i.id) {
            crate::logs::Target::File { path, .. } if container::logs_to_file(Some(log_driver)) => {
                path.display().to_string()
            }
            _ => String::new(),
        };
        ContainerInspect {
            id: i.id.clone(),
            created: rfc3339(i.config.created_ns),
            path: i.config.args.first().cloned(),
            args: i.config.args.iter().skip(1).cloned().collect(),
            state: InspectState::of(store, i),
            restart_count: i.state.restart_count,
            network_settings: NetworkSettings::of(store, i),
            image: i.config.image_id.clone(),
            image_digest: store
                .image(&i.config.image_id)
                .map(|m| m.manifest_digest.to_string())
                .unwrap_or_default(),
            image_name: i.config.image_name.clone(),
            rootfs: p
                .rootfs
                .as_ref()
                .map(|r| r.path.display().to_string())
                .unwrap_or_default(),
            is_infra: p.infra,
            is_service: p.service,
            oci_runtime: p.runtime.clone().unwrap_or_else(|| "berth".into()),
            name: i.name().to_string(),
            config: InspectConfig::of(store, i),
            pod: p.pod.clone().unwrap_or_default(),
            conmon_pid_file: crate::systemd::monitor_pid_file(store, i)
                .display()
                .to_string(),
            size_rw: None,
            size_root_fs: None,
            driver: driver_name(store),
            graph_driver: GraphDriverView::of(store, i),
            hosts_path: userdata_file(store, i, "hosts"),
            resolv_conf_path: userdata_file(store, i, "resolv.conf"),
            hostname_path: userdata_file(store, i, "hostname"),
            log_path: log_path.clone(),
            host_config: HostConfig {
                log_config: LogConfig {
                    kind: log_driver.to_string(),
                    path: log_path.clone(),
                    size: crate::units::human_size(p.log_opts.max_size.unwrap_or(0)),
                    tag: p.log_opts.tag.clone().unwrap_or_default(),
                },
                binds: p
                    .volumes
                    .iter()
                    .filter(|v| matches!(v.source, crate::volumes::VolumeSource::Host(_)))
                    .map(|v| v.to_string())
                    .collect(),
                memory: p.memory.map_or(0, |m| m.0),
                nano_cpus: p.cpus.map_or(0, |c| (c * 1e9).round() as i64),
                cpu_period: p
                    .cpu_period
                    .unwrap_or(if p.cpus.is_some() { 100_000 } else { 0 }),
                cpu_quota: p
                    .cpu_quota
                    .unwrap_or_else(|| p.cpus.map_or(0, |c| (c * 100_000.0).round() as i64)),
                memory_swappiness: p.memory_swappiness.map_or(-1, |s| s as i64),
                oom_kill_disable: p.oom_kill_disable.unwrap_or(false),
                privileged: p.privileged,
                auto_remove: i.config.rm,
                restart_policy: RestartPolicyView::of(i.config.restart),
                network_mode: p.network.inspect_name(),
                readonly_rootfs: p.read_only,
                cap_add: p.cap_add.clone(),
                cap_drop: p.cap_drop.clone(),
                cgroup_mode: if p.cgroupns.is_host() {
                    "host"
                } else {
                    "private"
                }
                .into(),
                sysctls: crate::spec::parse_sysctls(&p.sysctls)
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                oom_score_adj: p.oom_score_adj.unwrap_or(0),
                id_mappings: p.id_map.as_ref().map(IdMappingsView::of),
                userns_mode: match (&p.userns_of, &p.id_map) {
                    (Some(of), _) => format!("container:{of}"),
                    (None, Some(_)) => "private".into(),
                    _ => String::new(),
                },
                port_bindings: port_map(&p.ports),
                publish_all_ports: p.publish_all,
                dns: p.dns.clone(),
                dns_options: p.dns_options.clone(),
                dns_search: p.dns_search.clone(),
                extra_hosts: p.add_hosts.clone(),
                group_add: p.group_add.clone(),
                ipc_mode: p.ipc.to_string(),
                pid_mode: p.pid.to_string(),
                uts_mode: p.uts.to_string(),
                pids_limit: p.pids_limit.unwrap_or(0),
                shm_size: p.shm_size.map_or(crate::spec::DEFAULT_SHM_SIZE, |b| b.0),
                tmpfs: p
                    .tmpfs
                    .iter()
                    .map(|t| (t.destination.clone(), t.options.join(",")))
                    .collect(),
                security_opt: p.security_opt.clone(),
                devices: p.devices.iter().map(|d| DeviceView::of(d)).collect(),
                cgroup_parent: p.cgroup_parent.clone().unwrap_or_default(),
                volumes_from: p.volumes_from.clone(),
                cpu_shares: p.cpu_shares.unwrap_or(0),
                cpuset_cpus: p.cpuset_cpus.clone().unwrap_or_default(),
                cpuset_mems: p.cpuset_mems.clone().unwrap_or_default(),
                memory_reservation: p.memory_reservation.unwrap_or(0),
                memory_swap: p.memory_swap.unwrap_or(0),
                blkio_weight: p.blkio_weight.unwrap_or(0),
            },
            mounts: mounts(store, i),
        }
    }
}

impl InspectState {
    fn of(store: &Store, i: &Info) -> InspectState {
        // A running container whose stop is under way (the stop signal sent,
        // its timeout not yet over): podman's "stopping". A signal from `kill`
        // that does not end it leaves it running.
        let stopping = i.state.status == Status::Running && container::stopping(store, &i.id);
        InspectState {
            status: if stopping {
                "stopping".into()
            } else {
                i.state.status.as_str().to_string()
            },
            // podman's: a paused container is not running (Docker's is).
            running: i.state.status == Status::Running,
            paused: i.state.status == Status::Paused,
            dead: false,
            oom_killed: false,
            error: String::new(),
            pid: i.state.pid(),
            conmon_pid: i.state.monitor_pid(),
            exit_code: i.state.exit_code.unwrap_or(0),
            started_at: time_or_zero(i.state.started_ns),
            finished_at: time_or_zero(i.state.finished_ns),
            health: crate::health::load(store, &i.id).filter(|_| i.config.health.is_some()),
        }
    }
}

impl NetworkSettings {
    fn of(store: &Store, i: &Info) -> NetworkSettings {
        let Some(a) = crate::network::attachment(store, &i.id) else {
            // Not running: the ports it will publish, as podman shows them.
            return NetworkSettings {
                ports: port_map(&i.config.process.ports),
                ..NetworkSettings::default()
            };
        };
        let ports = port_map(&a.ports);
        let mut networks = Map::new();
        for (name, _, ip) in &a.interfaces {
            let aliases = crate::network::aliases(i, name);
            networks.insert(
                name.clone(),
                serde_json::json!({"IPAddress": ip, "Aliases": aliases}),
            );
        }
        NetworkSettings {
            ip_address: a
                .interfaces
                .first()
                .map(|x| x.2.clone())
                .unwrap_or_default(),
            ports,
            networks,
            sandbox_key: Some(a.netns),
        }
    }
}

impl InspectConfig {
    fn of(store: &Store, i: &Info) -> InspectConfig {
        let p = &i.config.process;
        let image_cfg = crate::run::image_config(store, &i.config.image_id).ok();
        let image = image_cfg.clone().unwrap_or(Value::Null);
        let strings = crate::spec::strings;
        // Split as podman shows them: the entrypoint joined, the command alone.
        let entrypoint = p
            .entrypoint
            .clone()
            .unwrap_or_else(|| strings(&image["Entrypoint"]));
        let cmd = if !p.command.is_empty() {
            p.command.clone()
        } else if p.entrypoint.is_some() {
            Vec::new()
        } else {
            strings(&image["Cmd"])
        };
        InspectConfig {
            hostname: crate::spec::hostname(p, &i.id),
            // The image's USER when no --user was given, as podman shows it.
            user: p
                .user
                .clone()
                .or_else(|| image["User"].as_str().map(String::from))
                .unwrap_or_default(),
            env: image_cfg
                .map(|c| crate::spec::env(&c, p))
                .unwrap_or_else(|| p.env.clone()),
            cmd,
            entrypoint: entrypoint.join(" "),
            labels: labels_map(&p.labels),
            annotations: crate::annotations::of_container(store, &i.config)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
            stop_signal: p
                .stop_signal
                .as_deref()
                .or(image["StopSignal"].as_str())
                .and_then(|s| berth_runtime::ops::parse_signal(s).ok())
                .unwrap_or(libc::SIGTERM),
            tty: p.tty,
            open_stdin: p.interactive,
            image: i.config.image_name.clone(),
            working_dir: p.workdir.clone().unwrap_or_else(|| "/".into()),
            healthcheck: i.config.health.as_ref().map(HealthcheckView::of),
            healthcheck_on_failure_action: i
                .config
                .health
                .as_ref()
                .map_or("none", |h| h.on_failure.as_str())
                .to_string(),
            create_command: p.create_command.clone(),
            systemd_mode: p.systemd.applies(&i.config.args),
        }
    }
}

/// `.Mounts` as podman shows them: volumes, binds and tmpfs the user asked for.
fn mounts(store: &Store, i: &Info) -> Vec<InspectMount> {
    let mut out = Vec::new();
    for v in &i.config.process.volumes {
        let Some(source) = crate::volumes::host_source(store, v) else {
            continue;
        };
        const PROPAGATIONS: [&str; 6] = [
            "shared", "rshared", "slave", "rslave", "private", "rprivate",
        ];
        let propagation = v
            .options
            .iter()
            .rev()
            .find(|o| PROPAGATIONS.contains(&o.as_str()))
            .map_or("rprivate", String::as_str);
        out.push(InspectMount {
            kind: if v.name().is_some() { "volume" } else { "bind" }.into(),
            name: Some(v.name().unwrap_or_default().to_string()),
            source: source.to_string_lossy().into_owned(),
            destination: v.destination.clone(),
            driver: v.name().map(|_| "local".to_string()),
            mode: String::new(),
            rw: !v.read_only(),
            propagation: propagation.to_string(),
        });
    }
    for t in &i.config.process.tmpfs {
        out.push(InspectMount {
            kind: "tmpfs".into(),
            name: None,
            source: "tmpfs".into(),
            destination: t.destination.clone(),
            driver: None,
            mode: String::new(),
            rw: true,
            propagation: String::new(),
        });
    }
    for m in &i.config.process.image_mounts {
        out.push(InspectMount {
            kind: "image".into(),
            name: None,
            source: m.source.clone(),
            destination: m.destination.clone(),
            driver: None,
            mode: String::new(),
            rw: m.rw,
            propagation: String::new(),
        });
    }
    out
}

/// `ps` entries for the containers `ps` shows, with the time they are judged at.
pub fn ps_entries(store: &Store, list: &[Info]) -> Vec<PsEntry> {
    let now = now_ns();
    list.iter()
        .map(|i| PsEntry::of(store, i, now, health_status(store, i).as_deref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_flags_pair_up_a_bare_key_empty_the_last_winning() {
        let flags = ["b=1=2", "a", "b=3", "c="].map(String::from);
        let got: Vec<_> = label_pairs(&flags).into_iter().collect();
        let want = [("a", ""), ("b", "3"), ("c", "")].map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(got, want);
        assert_eq!(label_pairs(&["k=v=w".to_string()])["k"], "v=w");
    }
}
