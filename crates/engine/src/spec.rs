//! The OCI runtime spec for a container: podman's defaults (namespaces, mounts,
//! capabilities, masked and read-only paths) with the image config and the user's
//! flags on top.

use berth_runtime::spec::{Capabilities, Linux, Mount, Namespace, Process, Root, Spec, User};
use serde_json::Value;
use std::path::Path;

use crate::security::{InvalidSize, SecurityError};

/// A USER (or `--user`, `--chown`) the image's /etc/passwd and /etc/group
/// cannot resolve.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user {0:?} not found in the image's /etc/passwd")]
    NoSuchUser(String),
    #[error("user {0:?}: bad uid in /etc/passwd")]
    BadUid(String),
    #[error("group {0:?} not found in the image's /etc/group")]
    NoSuchGroup(String),
    #[error("group {0:?}: bad gid in /etc/group")]
    BadGid(String),
}

/// /dev/shm's size when no `--shm-size` is given, as podman makes it.
pub const DEFAULT_SHM_SIZE: i64 = 65_536_000;

/// `--tz`: the host file that becomes the container's /etc/localtime.
pub fn timezone_file(tz: &str) -> Result<std::path::PathBuf, SpecError> {
    let bad = |why: &str| SpecError::Timezone {
        tz: tz.to_string(),
        reason: why.to_string(),
    };
    let path = if tz == "local" {
        std::fs::canonicalize("/etc/localtime")
            .map_err(|_| bad("the host has no /etc/localtime"))?
    } else {
        let rel = Path::new(tz);
        let plain = rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if tz.is_empty() || !plain {
            return Err(bad("not a time zone name"));
        }
        Path::new("/usr/share/zoneinfo").join(rel)
    };
    if !path.is_file() {
        return Err(bad("unknown time zone"));
    }
    Ok(path)
}

/// A container's OCI spec that cannot be made from its image and flags.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command: the image has neither Entrypoint nor Cmd, and none was given")]
    NoCommand,
    /// A `--pid`, `--ipc` or `--uts` mode berth does not have.
    #[error("--{flag} {mode}: not supported (host, private{}, container:NAME)", if *.flag == "ipc" { ", shareable, none" } else { "" })]
    NamespaceMode { flag: &'static str, mode: String },
    #[error("--group-add {0}: not in the image's /etc/group")]
    GroupAdd(String),
    #[error(
        "the '--group-add keep-groups' option is not allowed with any other --group-add options"
    )]
    KeepGroupsAlone,
    #[error("--log-opt {opt}: {reason}")]
    LogOpt { opt: String, reason: String },
    #[error("--tz {tz}: {reason}")]
    Timezone { tz: String, reason: String },
    #[error("--shm-size {size}: {source}")]
    ShmSize { size: String, source: InvalidSize },
    #[error("--cgroupns {0}: not supported (host or private)")]
    CgroupNs(String),
    /// A buildah namespace flag's mode other than host or private.
    #[error("--{flag} {mode}: berth joins no namespace by its path; use host or private")]
    JoinsNoNamespace { flag: &'static str, mode: String },
    /// A `--sysctl` refused, in podman's words.
    #[error("{0}")]
    Sysctl(String),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Security(#[from] SecurityError),
}

/// A `--shm-size` value (64m, 1g …).
pub fn parse_shm_size(size: &str) -> Result<crate::security::Bytes, SpecError> {
    size.parse().map_err(|source| SpecError::ShmSize {
        size: size.to_string(),
        source,
    })
}

/// podman's default capability set.
pub const DEFAULT_CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

const MASKED: [&str; 13] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
    "/proc/interrupts",
    "/sys/devices/virtual/powercap",
];

const READONLY: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ProcessOptions {
    pub command: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// A working directory the rootfs lacks is made at start (as the
    /// container's root's), as Docker makes it, instead of refused as
    /// podman's `--workdir` is: Docker's API sets it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_workdir: bool,
    /// /etc/passwd and /etc/group are left as the image has them: no line
    /// for a numeric user (podman's run adds them; buildah never writes them,
    /// so they would end up in a committed layer).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_passwd: bool,
    /// With `create_workdir`: the directories made are the command's user's,
    /// as buildah's run makes them (Docker's are root's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub workdir_as_user: bool,
    pub user: Option<String>,
    pub hostname: Option<String>,
    /// `--network`.
    pub network: crate::network::NetworkMode,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `-v SOURCE:DEST[:OPTIONS]` (anonymous ones named at create).
    #[serde(with = "crate::flagform")]
    pub volumes: Vec<crate::volumes::VolumeSpec>,
    /// `--tmpfs DEST[:OPTIONS]`.
    #[serde(with = "crate::flagform")]
    pub tmpfs: Vec<crate::volumes::TmpfsSpec>,
    /// `--mount type=image`.
    #[serde(with = "crate::flagform")]
    pub image_mounts: Vec<crate::volumes::ImageMountSpec>,
    /// `--add-host HOST:IP`.
    pub add_hosts: Vec<String>,
    /// `--dns IP`.
    pub dns: Vec<String>,
    /// `-t`: the process gets a terminal.
    pub tty: bool,
    /// `-i`: the user's stdin goes to the process.
    pub interactive: bool,
    /// Docker's StdinOnce (`run -i` attached): stdin closes when the attached
    /// client's input ends.
    #[serde(default)]
    pub stdin_once: bool,
    /// `--restart`.
    #[serde(with = "crate::container::restart_flag")]
    pub restart: crate::container::RestartPolicy,
    /// `--health-cmd`.
    pub health_cmd: Option<String>,
    /// The other `--health-*` flags.
    pub health: crate::health::HealthFlags,
    /// `--privileged`: every capability, no seccomp filter, no masked paths.
    pub privileged: bool,
    /// `--security-opt`.
    pub security_opt: Vec<String>,
    /// `--memory`, `--cpus`, `--pids-limit`.
    #[serde(with = "crate::flagform::optional")]
    pub memory: Option<crate::security::MemoryLimit>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    /// `--ulimit NAME=SOFT[:HARD]`.
    pub ulimits: Vec<String>,
    /// `--label KEY=VALUE`.
    pub labels: Vec<String>,
    /// `--stop-signal`, `--stop-timeout`.
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    /// `--timeout`: seconds the container may run before it is killed.
    pub timeout: Option<u64>,
    /// `-p [IP:]HOST:CONTAINER[/PROTO]`; a host port of 0 is chosen at create.
    #[serde(with = "crate::flagform")]
    pub ports: Vec<crate::network::PortMapping>,
    /// `--init`: berth-init runs as PID 1 and starts the command.
    pub init: bool,
    /// `--runtime`: a runc-compatible binary instead of the built-in runtime.
    pub runtime: Option<String>,
    /// `--device HOST[:CONTAINER][:PERMISSIONS]`.
    pub devices: Vec<String>,
    /// `--log-driver`: k8s-file (the default) or none.
    pub log_driver: Option<String>,
    /// `-P`: publish every port the image exposes on a free host port.
    pub publish_all: bool,
    /// The anonymous volumes made for the image's VOLUMEs (their names; the
    /// mounts are among `volumes`), removed with the container by `rm -v` or
    /// `--rm`.
    pub anonymous_volumes: Vec<String>,
    /// `--pod`: the pod the container belongs to (its ID once created).
    pub pod: Option<String>,
    /// Whether this is its pod's infra container.
    pub infra: bool,
    /// `--cgroup-parent`: the cgroup the container's nests under (a pod's by
    /// default for its members); `/berth` when none.
    pub cgroup_parent: Option<String>,
    /// Whether this is a `kube play --service-container`'s service container, which
    /// runs while the play's pods do.
    pub service: bool,
    /// `--pid`, `--ipc`, `--uts`: whose namespaces the container has.
    pub pid: crate::namespaces::NsMode,
    pub ipc: crate::namespaces::NsMode,
    pub uts: crate::namespaces::NsMode,
    /// `--cgroupns host|private` (private, berth's default on every host).
    #[serde(default)]
    pub cgroupns: crate::namespaces::NsMode,
    /// `--no-hosts`: no /etc/hosts is made; the image's stays.
    pub no_hosts: bool,
    /// `--uidmap`/`--gidmap`: a user namespace of the container's own with this
    /// mapping (none: the host's, or a rootless user's own).
    pub id_map: Option<berth_storage::idmap::IdMap>,
    /// `--hostuser`: host users (names or UIDs) whose /etc/passwd lines the
    /// container's gets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_users: Vec<String>,
    /// `--userns keep-id`: the user, added to its /etc/passwd and /etc/group
    /// when the image lacks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_id: Option<crate::passwd::KeepIdUser>,
    /// The container whose user namespace it joins (its pod's infra, whose
    /// `id_map` it then has too); none: a namespace of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_of: Option<String>,
    /// `--userns auto`: the store picks `id_map` at create from free IDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_userns: Option<berth_storage::idmap::AutoRequest>,
    /// `--shm-size` of /dev/shm (default [`DEFAULT_SHM_SIZE`]).
    #[serde(with = "crate::flagform::optional")]
    pub shm_size: Option<crate::security::Bytes>,
    /// `--group-add`: more groups, by name (the image's /etc/group) or number.
    pub group_add: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`: resolv.conf's `options`.
    pub dns_options: Vec<String>,
    /// `--secret`: secrets given at each start (by name; never their data).
    #[serde(with = "crate::flagform")]
    pub secrets: Vec<crate::secrets::SecretRef>,
    /// `--cpu-shares`, `--cpuset-cpus`, `--cpuset-mems`.
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// `--memory-swap` (memory and swap together; -1: unlimited) and
    /// `--memory-reservation` (the soft limit), in bytes.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// `--cpu-period`, `--cpu-quota` (microseconds), `--memory-swappiness`,
    /// `--oom-kill-disable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    /// `--blkio-weight` (10 to 1000).
    pub blkio_weight: Option<u16>,
    /// `--device-read-bps`, `--device-write-bps`, `--device-read-iops`,
    /// `--device-write-iops`.
    #[serde(with = "crate::flagform")]
    pub device_read_bps: Vec<crate::resources::DeviceThrottle>,
    #[serde(with = "crate::flagform")]
    pub device_write_bps: Vec<crate::resources::DeviceThrottle>,
    #[serde(with = "crate::flagform")]
    pub device_read_iops: Vec<crate::resources::DeviceThrottle>,
    #[serde(with = "crate::flagform")]
    pub device_write_iops: Vec<crate::resources::DeviceThrottle>,
    /// `--annotation KEY=VALUE`, into the OCI spec.
    pub annotations: Vec<String>,
    /// `--expose PORT[/PROTO]`: published by `-P` as the image's EXPOSE are.
    pub expose: Vec<String>,
    /// Bridge networks besides `network` (more `--network`s, `network
    /// connect`): each another interface, joined at every start.
    pub networks: Vec<String>,
    /// `--tz`: a zone of the host's /usr/share/zoneinfo, or "local" (the
    /// host's /etc/localtime), mounted at /etc/localtime.
    pub tz: Option<String>,
    /// `--log-opt`.
    pub log_opts: LogOpts,
    /// `--attach`: the streams a foreground container is attached to (none
    /// given: stdout and stderr).
    pub attach: Vec<String>,
    /// `--unsetenv NAME`: not from the defaults or the image.
    pub unsetenv: Vec<String>,
    /// `--unsetenv-all`: only the `--env` variables.
    pub unsetenv_all: bool,
    /// `--device-cgroup-rule`s: more devices the container may use.
    #[serde(with = "crate::flagform")]
    pub device_cgroup_rules: Vec<crate::security::DeviceCgroupRule>,
    /// `--volumes-from CONTAINER[:ro|rw]`: resolved into `volumes` at create.
    pub volumes_from: Vec<String>,
    /// `--runtime-flag`s: the runtime's global options, without `--`.
    pub runtime_flags: Vec<String>,
    /// `--rootfs`: a host directory is the root, not an image.
    pub rootfs: Option<berth_storage::ExternalRoot>,
    /// `--image-volume` (None: containers.conf's, else bind).
    #[serde(with = "crate::flagform::optional")]
    pub image_volume: Option<crate::volumes::ImageVolumeMode>,
    /// `--network-alias`: more names the container answers to on its networks.
    pub network_aliases: Vec<String>,
    /// `network connect --alias/--ip`: more names and a fixed address on one
    /// network.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub network_options: std::collections::BTreeMap<String, crate::network::ConnectOptions>,
    /// `--mac-address`: its first network interface's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<crate::network::MacAddress>,
    /// `--sdnotify`: who tells systemd (`$NOTIFY_SOCKET`) that the service is
    /// ready.
    pub sdnotify: crate::systemd::SdNotify,
    /// `--conmon-pidfile`: where the monitor also writes its pid.
    pub conmon_pidfile: Option<std::path::PathBuf>,
    /// `--systemd`: systemd as the container's init.
    pub systemd: crate::systemd::SystemdMode,
    /// `--sysctl KEY=VALUE`: namespaced kernel parameters, checked at create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sysctls: Vec<String>,
    /// `--oom-score-adj`: the process's OOM killer score adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    /// The command line that made the container (podman's CreateCommand),
    /// which `generate systemd --new` turns into its unit's `run`; empty for
    /// one made over the REST API or by kube play.
    pub create_command: Vec<String>,
}

/// `--log-opt path=FILE`, `max-size=SIZE` (decimal units, as podman reads
/// them), `tag=TAG`; docker's `max-file=N` is accepted and, as by podman
/// (conmon keeps one file), has no effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LogOpts {
    pub path: Option<std::path::PathBuf>,
    pub max_size: Option<u64>,
    pub tag: Option<String>,
}

impl LogOpts {
    /// Adds one `--log-opt KEY=VALUE`.
    pub fn set(&mut self, opt: &str) -> Result<(), SpecError> {
        let bad = |why: &str| SpecError::LogOpt {
            opt: opt.to_string(),
            reason: why.to_string(),
        };
        let (k, v) = opt
            .split_once('=')
            .ok_or_else(|| bad("expected KEY=VALUE"))?;
        match k {
            "path" if v.starts_with('/') => self.path = Some(v.into()),
            "path" => return Err(bad("the path must be absolute")),
            "max-size" => self.max_size = Some(decimal_size(v).ok_or_else(|| bad("not a size"))?),
            "tag" => self.tag = Some(v.to_string()),
            "max-file" => {}
            _ => return Err(bad("path, max-size, max-file or tag")),
        }
        Ok(())
    }
}

/// `3.5m`, `100k`, `1g`, `512` → bytes, in decimal units (podman's
/// FromHumanSize).
fn decimal_size(s: &str) -> Option<u64> {
    crate::security::parse_size(s, 1000.0)
        .ok()
        .map(|n| n.round() as u64)
}

/// A mapping as the runtime spec writes it.
fn spec_ids(ranges: &[berth_storage::idmap::IdRange]) -> Vec<berth_runtime::spec::IdMapping> {
    ranges
        .iter()
        .map(|r| berth_runtime::spec::IdMapping {
            container_id: r.container,
            host_id: r.host,
            size: r.size,
        })
        .collect()
}

impl ProcessOptions {
    /// A `--mount` (or an API's mount) among the mounts of its kind.
    pub fn add_mount(&mut self, m: crate::volumes::MountFlag) {
        use crate::volumes::MountFlag;
        match m {
            MountFlag::Volume(v) => self.volumes.push(v),
            MountFlag::Tmpfs(t) => self.tmpfs.push(t),
            MountFlag::Image(i) => self.image_mounts.push(i),
        }
    }

    /// Rootless without a cgroup of its own (cgroup v1): resource flags are
    /// ignored, with podman's warning for the caller to show.
    pub fn rootless_limits_warning(&self) -> Option<&'static str> {
        let limits = self.memory.is_some()
            || self.cpus.is_some()
            || self.memory_swap.is_some()
            || self.memory_reservation.is_some()
            || self.cpuset_cpus.is_some();
        (limits && berth_runtime::userns::rootless_uid().is_some()).then_some(
            "Resource limits are not supported and ignored on cgroups V1 rootless systems",
        )
    }

    /// podman's rule for `-p` with a network mode that has no ports of its own
    /// (host, none, another container's, a given namespace): the container runs
    /// without them, and the caller shows the warning returned.
    pub fn discard_unpublishable_ports(&mut self) -> Option<&'static str> {
        use crate::network::NetworkMode;
        let own_ports = matches!(
            self.network,
            NetworkMode::Unset
                | NetworkMode::Bridge(_)
                | NetworkMode::Pasta(_)
                | NetworkMode::Slirp4netns(_)
        );
        if own_ports || self.ports.is_empty() {
            return None;
        }
        self.ports.clear();
        Some(
            "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use",
        )
    }
}

fn mount(dest: &str, kind: &str, source: &str, options: &[&str]) -> Mount {
    Mount {
        destination: dest.into(),
        kind: Some(kind.into()),
        source: Some(source.into()),
        options: options.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A JSON array's strings (nothing for anything else).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The process args: the entrypoint (flag or image) followed by the command (args or
/// the image's Cmd, which a new entrypoint resets).
pub fn args(config: &Value, o: &ProcessOptions) -> Vec<String> {
    let (entry, default_cmd) = match &o.entrypoint {
        Some(e) => (e.clone(), Vec::new()),
        None => (strings(&config["Entrypoint"]), strings(&config["Cmd"])),
    };
    let cmd = if o.command.is_empty() {
        default_cmd
    } else {
        o.command.clone()
    };
    entry.into_iter().chain(cmd).collect()
}

/// Environment: podman's defaults (PATH, TERM, container), then the image's,
/// less `--unsetenv` names (or all of them with `--unsetenv-all`), then the
/// user's `--env` (later wins). HOME, when none is set, is the user's (see
/// [`generate`]).
pub fn env(config: &Value, o: &ProcessOptions) -> Vec<String> {
    let name = |kv: &str| kv.split('=').next().unwrap_or("").to_string();
    let defaults = [
        format!("PATH={DEFAULT_PATH}"),
        "TERM=xterm".into(),
        "container=berth".into(),
    ];
    let mut out: Vec<String> = Vec::new();
    let inherited = defaults.into_iter().chain(strings(&config["Env"]));
    for kv in inherited.filter(|_| !o.unsetenv_all) {
        if o.unsetenv.contains(&name(&kv)) {
            continue;
        }
        out.retain(|e| name(e) != name(&kv));
        out.push(kv);
    }
    for kv in &o.env {
        out.retain(|e| name(e) != name(kv));
        out.push(kv.clone());
    }
    out
}

/// The home directory /etc/passwd gives `uid`, else "/" (podman's rule).
fn home_of(rootfs: &Path, uid: u32) -> String {
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    lookup(&passwd, 5, |f| f[2] == uid.to_string())
        .map(|f| f[5].to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

/// USER as podman reads it: `uid[:gid]` numbers, or names looked up in the rootfs's
/// /etc/passwd and /etc/group.
pub fn user(rootfs: &Path, spec: &str) -> Result<User, UserError> {
    if spec.is_empty() {
        return Ok(User::default());
    }
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (
            n,
            lookup(&passwd, 2, |f| f[2] == u).and_then(|f| f[3].parse().ok()),
        ),
        Err(_) => {
            let f = lookup(&passwd, 3, |f| f[0] == u)
                .ok_or_else(|| UserError::NoSuchUser(u.to_string()))?;
            (
                f[2].parse().map_err(|_| UserError::BadUid(u.to_string()))?,
                f[3].parse().ok(),
            )
        }
    };
    let gid = match g {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
                let f = lookup(&group, 2, |f| f[0] == g)
                    .ok_or_else(|| UserError::NoSuchGroup(g.to_string()))?;
                f[2].parse().map_err(|_| UserError::BadGid(g.to_string()))?
            }
        },
        None => primary.unwrap_or(0),
    };
    // The groups /etc/group lists the user in, as podman adds them.
    let name = lookup(&passwd, 2, |f| f[2].parse::<u32>().ok() == Some(uid)).map(|f| f[0]);
    let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    let mut additional_gids: Vec<u32> = Vec::new();
    if let Some(name) = name {
        for f in group.lines().map(|l| l.split(':').collect::<Vec<_>>()) {
            if f.len() > 3
                && f[3].split(',').any(|m| m == name)
                && let Ok(g) = f[2].parse::<u32>()
                && g != gid
                && !additional_gids.contains(&g)
            {
                additional_gids.push(g);
            }
        }
    }
    Ok(User {
        uid,
        gid,
        additional_gids,
        ..Default::default()
    })
}

pub(crate) fn lookup(text: &str, min: usize, pred: impl Fn(&[&str]) -> bool) -> Option<Vec<&str>> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > min && pred(f))
}

fn capabilities(o: &ProcessOptions, uid: u32) -> Capabilities {
    let set = capability_set(o);
    // A non-root user keeps only the bounding set, as with podman.
    let live = if uid == 0 { set.clone() } else { Vec::new() };
    Capabilities {
        bounding: set,
        effective: live.clone(),
        permitted: live,
        inheritable: Vec::new(),
        ambient: Vec::new(),
    }
}

/// The capabilities a container of `o` has (its bounding set): podman's
/// defaults with `--cap-drop` taken out and `--cap-add` put in.
pub fn capability_set(o: &ProcessOptions) -> Vec<String> {
    let norm = |c: &String| {
        let c = c.to_ascii_uppercase();
        if c.starts_with("CAP_") || c == "ALL" {
            c
        } else {
            format!("CAP_{c}")
        }
    };
    let drop: Vec<String> = o.cap_drop.iter().map(norm).collect();
    let mut set: Vec<String> = if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        default_caps()
            .iter()
            .map(norm)
            .filter(|c| !drop.contains(c))
            .collect()
    };
    for c in o.cap_add.iter().map(norm) {
        if c == "ALL" {
            set = berth_runtime::capabilities::all_names();
        } else if !set.contains(&c) {
            set.push(c);
        }
    }
    set
}

/// The container's hostname: `--hostname`; with the host's network, the
/// host's name (as podman and Docker give it); else its short ID.
pub fn hostname(o: &ProcessOptions, id: &str) -> String {
    if let Some(h) = &o.hostname {
        return h.clone();
    }
    if o.network == crate::network::NetworkMode::Host
        && let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname")
        && !h.trim().is_empty()
    {
        return h.trim().to_string();
    }
    id[..12.min(id.len())].to_string()
}

/// containers.conf's `default_capabilities`, else podman's own list.
pub fn default_caps() -> Vec<String> {
    crate::conf::get()
        .ok()
        .and_then(|c| c.default_capabilities.clone())
        .unwrap_or_else(|| DEFAULT_CAPS.iter().map(|s| s.to_string()).collect())
}

/// The whole spec for a container of `config` (the image config's `config` object)
/// whose root filesystem is `rootfs`.
pub fn generate(
    config: &Value,
    rootfs: &Path,
    id: &str,
    o: &ProcessOptions,
) -> Result<Spec, SpecError> {
    let args = args(config, o);
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    let user_spec = o
        .user
        .clone()
        .or_else(|| config["User"].as_str().map(String::from))
        .unwrap_or_default();
    let mut user = user(rootfs, &user_spec)?;
    // A user asked for (by flag or image) has its primary group among its
    // groups too, as podman gives it; the default root has none.
    if !user_spec.is_empty() && !user.additional_gids.contains(&user.gid) {
        user.additional_gids.push(user.gid);
    }
    if o.group_add.iter().any(|g| g == "keep-groups") {
        if o.group_add.len() > 1 {
            return Err(SpecError::KeepGroupsAlone);
        }
        // podman's keep-groups: the caller's own supplementary groups.
        for gid in crate::sys::supplementary_groups() {
            if !user.additional_gids.contains(&gid) {
                user.additional_gids.push(gid);
            }
        }
    }
    for g in o.group_add.iter().filter(|g| *g != "keep-groups") {
        let gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
                lookup(&group, 2, |f| f[0] == g)
                    .and_then(|f| f[2].parse().ok())
                    .ok_or_else(|| SpecError::GroupAdd(g.clone()))?
            }
        };
        if !user.additional_gids.contains(&gid) {
            user.additional_gids.push(gid);
        }
    }
    let cwd = o
        .workdir
        .clone()
        .or_else(|| {
            config["WorkingDir"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(String::from)
        })
        .unwrap_or_else(|| "/".into());
    let mut namespaces: Vec<Namespace> = [
        ("pid", o.pid.is_host()),
        ("ipc", o.ipc.is_host()),
        ("uts", o.uts.is_host()),
        ("mount", false),
        ("cgroup", o.cgroupns.is_host()),
    ]
    .iter()
    .filter(|(_, host)| !host)
    .map(|(k, _)| Namespace {
        kind: k.to_string(),
        path: None,
    })
    .collect();
    if o.id_map.is_some() {
        namespaces.push(Namespace {
            kind: "user".into(),
            path: None,
        });
    }
    use crate::network::NetworkMode;
    match &o.network {
        NetworkMode::Host => {}
        NetworkMode::Ns(path) => namespaces.push(Namespace {
            kind: "network".into(),
            path: Some(path.to_string_lossy().into_owned()),
        }),
        // A bridge network's namespace is made and pinned before the container
        // starts, and container:ID's is the other container's, set at start:
        // run::prepare_bundle names them.
        NetworkMode::None
        | NetworkMode::Unset
        | NetworkMode::Bridge(_)
        | NetworkMode::Pasta(_)
        | NetworkMode::Slirp4netns(_)
        | NetworkMode::Container(_) => namespaces.push(Namespace {
            kind: "network".into(),
            path: None,
        }),
    }
    let shm_size = match o.shm_size {
        Some(s) => format!("size={s}"),
        // podman's default, 65536000 bytes (containers.conf's "65536k" read
        // with decimal units).
        None => format!("size={DEFAULT_SHM_SIZE}"),
    };
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            if o.privileged {
                &["nosuid", "noexec", "nodev"]
            } else {
                &["nosuid", "noexec", "nodev", "ro"]
            },
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ];
    if o.ipc == crate::namespaces::NsMode::None {
        // --ipc none: an IPC namespace of its own, and no /dev/shm at all.
        mounts.retain(|m| m.destination != "/dev/shm");
    }
    if o.ipc.is_host() {
        // The host's IPC namespace comes with the host's /dev/shm.
        mounts.retain(|m| m.destination != "/dev/shm");
        mounts.push(mount(
            "/dev/shm",
            "bind",
            "/dev/shm",
            &["rbind", "nosuid", "noexec", "nodev"],
        ));
    }
    if o.read_only {
        // podman's read_only_tmpfs: a read-only container still gets writable
        // /run, /tmp and /var/tmp; otherwise they are the image's own
        // directories. Where the user mounts something of their own, theirs.
        let own = |d: &str| {
            o.tmpfs.iter().any(|t| t.destination == d)
                || o.volumes.iter().any(|v| v.destination == d)
        };
        mounts.extend(
            [
                mount("/run", "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=755"]),
                mount("/tmp", "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=1777"]),
                mount(
                    "/var/tmp",
                    "tmpfs",
                    "tmpfs",
                    &["nosuid", "nodev", "mode=1777"],
                ),
            ]
            .into_iter()
            .filter(|m| !own(&m.destination)),
        );
    }
    let systemd = o.systemd.applies(&args);
    if systemd {
        // Unless the user mounted something there.
        let taken = |d: &str| {
            mounts.iter().any(|m| m.destination == d)
                || o.tmpfs.iter().any(|t| t.destination == d)
                || o.volumes.iter().any(|v| v.destination == d)
        };
        let wanted: Vec<&str> = crate::systemd::SYSTEMD_TMPFS
            .into_iter()
            .filter(|d| !taken(d))
            .collect();
        for d in wanted {
            mounts.push(mount(
                d,
                "tmpfs",
                "tmpfs",
                &["rw", "rprivate", "nosuid", "nodev"],
            ));
        }
    }
    let capabilities = if o.privileged {
        let all = berth_runtime::capabilities::all_names();
        Capabilities {
            bounding: all.clone(),
            effective: all.clone(),
            permitted: all,
            ..Default::default()
        }
    } else {
        capabilities(o, user.uid)
    };
    // A profile's capability conditions are judged against what the
    // container may ever hold: its bounding set.
    let (seccomp, no_new_privileges) = crate::security::security_opts(
        &o.security_opt,
        o.privileged,
        &o.cap_add,
        &capabilities.bounding,
    )?;
    let rlimits = o
        .ulimits
        .iter()
        .map(|u| crate::security::ulimit(u))
        .collect::<Result<Vec<_>, _>>()?;
    let mut resources = crate::resources::of(o)?;
    let mut devices = Vec::new();
    for d in &o.devices {
        let (node, rule) = crate::security::device(d)?;
        devices.push(node);
        resources
            .get_or_insert_with(Default::default)
            .devices
            .push(rule);
    }
    if !o.device_cgroup_rules.is_empty() {
        let rules = o.device_cgroup_rules.iter().map(|r| r.0.clone());
        resources
            .get_or_insert_with(Default::default)
            .devices
            .extend(rules);
    }
    if o.privileged {
        // The host's devices are there (those --device did not name already)…
        for d in crate::security::host_devices() {
            if !devices
                .iter()
                .any(|x: &berth_runtime::spec::Device| x.path == d.path)
            {
                devices.push(d);
            }
        }
        // …and every device may be used (the device cgroup allows all).
        resources.get_or_insert_with(Default::default).devices =
            vec![berth_runtime::spec::DeviceRule {
                allow: true,
                access: Some("rwm".into()),
                ..Default::default()
            }];
    }
    let process = Process {
        terminal: o.tty,
        args,
        env: {
            let mut e = env(config, o);
            if !o.unsetenv_all && !e.iter().any(|v| v.starts_with("HOME=")) {
                e.push(format!("HOME={}", home_of(rootfs, user.uid)));
            }
            if systemd {
                // systemd reads the machine ID it is offered from here.
                e.push(format!("container_uuid={}", &id[..32.min(id.len())]));
            }
            if !e.iter().any(|v| v.starts_with("HOSTNAME=")) {
                e.push(format!("HOSTNAME={}", hostname(o, id)));
            }
            e
        },
        cwd,
        capabilities: Some(capabilities),
        user,
        rlimits,
        no_new_privileges,
        oom_score_adj: o.oom_score_adj,
        ..Default::default()
    };
    let sysctl = sysctls_for(o)?;
    // Rootless without a delegated cgroup (cgroup v1): no cgroup, so no limits, as
    // podman has it there.
    let rootless = berth_runtime::userns::rootless_uid().is_some();
    let resources = if rootless { None } else { resources };
    Ok(Spec {
        // What podman 4 writes: nothing here needs a later spec, and older
        // runtimes (crun 1.8) refuse a version they do not know.
        oci_version: "1.0.2-dev".into(),
        process: Some(process),
        root: Some(Root {
            path: rootfs.to_string_lossy().into_owned(),
            readonly: o.read_only,
        }),
        // The host's own name stays with the host's UTS namespace.
        hostname: (!o.uts.is_host() && o.uts.container().is_none()).then(|| hostname(o, id)),
        // The caller's, with podman's own (`annotations::of`).
        annotations: Default::default(),
        mounts,
        linux: Some(Linux {
            namespaces,
            seccomp,
            resources,
            devices,
            masked_paths: if o.privileged {
                Vec::new()
            } else {
                MASKED.iter().map(|s| s.to_string()).collect()
            },
            readonly_paths: if o.privileged {
                Vec::new()
            } else {
                READONLY.iter().map(|s| s.to_string()).collect()
            },
            cgroups_path: (!rootless).then(|| {
                let parent = o.cgroup_parent.as_deref().unwrap_or("/berth");
                format!("{}/{id}", parent.trim_end_matches('/'))
            }),
            uid_mappings: o
                .id_map
                .as_ref()
                .map_or_else(Vec::new, |m| spec_ids(&m.uids)),
            gid_mappings: o
                .id_map
                .as_ref()
                .map_or_else(Vec::new, |m| spec_ids(&m.gids)),
            sysctl,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `--sysctl` flags checked as podman checks them: KEY=VALUE, no stray
/// spaces, and only kernel parameters a container's own namespaces hold.
pub fn parse_sysctls(flags: &[String]) -> Result<Vec<(String, String)>, SpecError> {
    const NAMESPACED: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    flags
        .iter()
        .map(|f| {
            let bad = |why: String| SpecError::Sysctl(why);
            let (k, v) = f.split_once('=').ok_or_else(|| {
                bad(format!(
                    "{f} is invalid, sysctl values must be in the form of KEY=VALUE"
                ))
            })?;
            if k.trim() != k || v.trim() != v {
                return Err(bad(format!("'{f}' is invalid, extra spaces found")));
            }
            let prefixed = ["net.", "fs.mqueue."].iter().any(|p| k.starts_with(p));
            if !NAMESPACED.contains(&k) && !prefixed {
                return Err(bad(format!("sysctl '{k}' is not allowed")));
            }
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// containers.conf's `default_sysctls` a container takes: only those of
/// namespaces it has of its own. The host's network or IPC namespace, another
/// container's (`container:`, a pod member's) or a given one (`ns:PATH`) is
/// not the container's to change: a default there would change the host's, or
/// the donor's (a pod's infra container takes them for its members).
fn default_sysctls_for(
    o: &ProcessOptions,
    defaults: &[String],
) -> std::collections::BTreeMap<String, String> {
    use crate::network::NetworkMode;
    let own_net = matches!(
        o.network,
        NetworkMode::Unset
            | NetworkMode::Bridge(_)
            | NetworkMode::None
            | NetworkMode::Pasta(_)
            | NetworkMode::Slirp4netns(_)
    );
    let own_ipc = !o.ipc.is_host() && o.ipc.container().is_none();
    parse_sysctls(defaults)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| {
            let ipc = k.starts_with("fs.mqueue.") || k.starts_with("kernel.");
            let net = k.starts_with("net.");
            (!net || own_net) && (!ipc || own_ipc)
        })
        .collect()
}

/// The container's sysctls; one for a namespace it shares with the host is
/// refused (it would change the host's), as podman refuses it.
pub fn sysctls_for(
    o: &ProcessOptions,
) -> Result<std::collections::BTreeMap<String, String>, SpecError> {
    let defaults = crate::conf::get()
        .map(|c| c.default_sysctls.clone())
        .unwrap_or_default();
    let mut out = default_sysctls_for(o, &defaults);
    for (k, v) in parse_sysctls(&o.sysctls)? {
        let host =
            |ns: &str| format!("sysctl {k}={v} can't be set since {ns} Namespace set to host");
        let ipc = k.starts_with("fs.mqueue.") || k.starts_with("kernel.");
        if ipc && o.ipc.is_host() {
            return Err(SpecError::Sysctl(host("IPC")));
        }
        if k.starts_with("net.") && o.network == crate::network::NetworkMode::Host {
            return Err(SpecError::Sysctl(host("Network")));
        }
        out.insert(k, v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {

    #[test]
    fn default_sysctls_only_for_namespaces_of_its_own() {
        use crate::namespaces::NsMode;
        use crate::network::NetworkMode;
        let defaults = [
            "net.ipv4.ping_group_range=0 0".to_string(),
            "kernel.msgmax=65536".to_string(),
        ];
        let keys = |network: NetworkMode, ipc: NsMode| {
            let o = ProcessOptions {
                network,
                ipc,
                ..Default::default()
            };
            default_sysctls_for(&o, &defaults)
                .into_keys()
                .collect::<Vec<_>>()
        };
        let both = ["kernel.msgmax", "net.ipv4.ping_group_range"];
        assert_eq!(keys(NetworkMode::None, NsMode::Shareable), both);
        assert_eq!(
            keys(NetworkMode::Bridge("podman".into()), NsMode::Private),
            both
        );
        for joined in [
            NetworkMode::Host,
            NetworkMode::Container("x".into()),
            NetworkMode::Ns("/run/netns/x".into()),
        ] {
            assert_eq!(keys(joined, NsMode::Shareable), ["kernel.msgmax"]);
        }
        assert_eq!(
            keys(NetworkMode::None, NsMode::Container("x".into())),
            ["net.ipv4.ping_group_range"]
        );
        assert_eq!(
            keys(NetworkMode::None, NsMode::Host),
            ["net.ipv4.ping_group_range"]
        );
    }

    #[test]
    fn log_sizes_read_and_show_as_podman_does() {
        let mut o = LogOpts::default();
        o.set("max-size=3.047m").unwrap();
        assert_eq!(o.max_size, Some(3_047_000));
        assert!(o.set("max-size=lots").is_err());
        assert!(o.set("path=relative").is_err());
        assert!(o.set("colour=blue").is_err());
        o.set("max-file=3").unwrap();
        assert_eq!(o.max_size, Some(3_047_000));
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn entrypoint_and_cmd_combine_as_docker_does() {
        let c = json!({"Entrypoint": ["/init"], "Cmd": ["serve"]});
        let o = |cmd: &[&str], ep: Option<&[&str]>| ProcessOptions {
            command: cmd.iter().map(|s| s.to_string()).collect(),
            entrypoint: ep.map(|e| e.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(args(&c, &o(&[], None)), ["/init", "serve"]);
        assert_eq!(args(&c, &o(&["x"], None)), ["/init", "x"]);
        assert_eq!(args(&c, &o(&[], Some(&["sh"]))), ["sh"]);
    }

    #[test]
    fn env_layers_later_values_over_earlier() {
        let c = json!({"Env": ["PATH=/bin", "A=1"]});
        let mut o = ProcessOptions {
            env: vec!["A=2".into()],
            ..Default::default()
        };
        let e = env(&c, &o);
        assert!(e.contains(&"PATH=/bin".to_string()) && e.contains(&"A=2".to_string()));
        assert!(!e.contains(&"A=1".to_string()));
        assert!(e.contains(&"TERM=xterm".to_string()));
        o.unsetenv = vec!["TERM".into(), "A".into()];
        let e = env(&c, &o);
        assert!(!e.iter().any(|v| v.starts_with("TERM=")), "{e:?}");
        assert!(e.contains(&"A=2".to_string()), "--env still counts: {e:?}");
        o.unsetenv_all = true;
        assert_eq!(env(&c, &o), ["A=2"]);
    }

    #[test]
    fn users_by_name_and_number() {
        let d = tempfile_dir();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(
            d.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nweb:x:33:44::/var/www:/bin/false\n",
        )
        .unwrap();
        std::fs::write(d.join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        assert_eq!(
            (user(&d, "web").unwrap().uid, user(&d, "web").unwrap().gid),
            (33, 44)
        );
        assert_eq!(
            (
                user(&d, "33:staff").unwrap().uid,
                user(&d, "33:staff").unwrap().gid
            ),
            (33, 50)
        );
        assert_eq!(user(&d, "1000").unwrap().uid, 1000);
        assert!(user(&d, "nobody-here").is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("berth-engine-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
