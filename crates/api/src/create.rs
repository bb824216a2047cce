//! `POST /containers/create`: Docker's container config (what docker-compose
//! and the SDKs send) turned into the engine's typed options. Fields berth has
//! no use for are ignored, as Docker ignores zero values; values it cannot
//! honour are refused with the field's name.

use std::collections::BTreeMap;

use berth_engine::RunOptions;
use berth_engine::namespaces::NsMode;
use berth_engine::network::{NetworkMode, PortMapping};
use berth_engine::spec::ProcessOptions;
use serde::Deserialize;
use serde_json::Value;

use crate::reply::ApiError;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    image: String,
    cmd: Option<StrOrList>,
    entrypoint: Option<StrOrList>,
    env: Option<Vec<String>>,
    working_dir: String,
    user: String,
    hostname: String,
    labels: Option<BTreeMap<String, String>>,
    tty: bool,
    open_stdin: bool,
    stdin_once: bool,
    stop_signal: Option<String>,
    stop_timeout: Option<u64>,
    exposed_ports: Option<BTreeMap<String, Value>>,
    /// Docker's anonymous volumes (`-v /DEST`), by destination.
    volumes: Option<BTreeMap<String, Value>>,
    healthcheck: Option<Healthcheck>,
    host_config: Option<HostConfigBody>,
    networking_config: Option<NetworkingConfig>,
}

impl CreateBody {
    /// The host paths of HostConfig.Binds that are not there: Docker's
    /// legacy `-v` makes them as directories (a Mounts bind is refused instead).
    pub fn missing_bind_sources(&self) -> Vec<std::path::PathBuf> {
        let binds = self.host_config.as_ref().and_then(|h| h.binds.as_ref());
        binds
            .into_iter()
            .flatten()
            .filter_map(|b| b.parse::<berth_engine::volumes::VolumeSpec>().ok())
            .filter_map(|v| match v.source {
                berth_engine::volumes::VolumeSource::Host(p) => Some(p),
                _ => None,
            })
            .filter(|p| std::fs::symlink_metadata(p).is_err())
            .collect()
    }
}

/// Docker takes `"Cmd": "sh -c x"` as well as a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum StrOrList {
    Str(String),
    List(Vec<String>),
}

impl StrOrList {
    fn into_vec(self) -> Vec<String> {
        match self {
            StrOrList::Str(s) => vec![s],
            StrOrList::List(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Healthcheck {
    test: Option<Vec<String>>,
    /// Nanoseconds, as Docker's.
    interval: u64,
    timeout: u64,
    start_period: u64,
    retries: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HostConfigBody {
    binds: Option<Vec<String>>,
    port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    publish_all_ports: bool,
    restart_policy: Option<RestartPolicyBody>,
    network_mode: String,
    auto_remove: bool,
    privileged: bool,
    readonly_rootfs: bool,
    cap_add: Option<Vec<String>>,
    cap_drop: Option<Vec<String>>,
    memory: i64,
    memory_swap: i64,
    memory_reservation: i64,
    nano_cpus: i64,
    cpu_shares: u64,
    cpu_period: u64,
    cpu_quota: i64,
    memory_swappiness: Option<i64>,
    oom_kill_disable: Option<bool>,
    sysctls: Option<BTreeMap<String, String>>,
    oom_score_adj: Option<i32>,
    cgroupns_mode: String,
    cpuset_cpus: String,
    cpuset_mems: String,
    pids_limit: Option<i64>,
    blkio_weight: u16,
    dns: Option<Vec<String>>,
    dns_search: Option<Vec<String>>,
    extra_hosts: Option<Vec<String>>,
    tmpfs: Option<BTreeMap<String, String>>,
    mounts: Option<Vec<MountBody>>,
    security_opt: Option<Vec<String>>,
    init: Option<bool>,
    shm_size: i64,
    group_add: Option<Vec<String>>,
    volumes_from: Option<Vec<String>>,
    pid_mode: String,
    ipc_mode: String,
    #[serde(rename = "UTSMode")]
    uts_mode: String,
    userns_mode: String,
    log_config: Option<LogConfigBody>,
    ulimits: Option<Vec<UlimitBody>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UlimitBody {
    name: String,
    soft: i64,
    hard: i64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PortBinding {
    host_ip: String,
    host_port: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RestartPolicyBody {
    name: String,
    maximum_retry_count: u32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct MountBody {
    #[serde(rename = "Type")]
    kind: String,
    source: String,
    target: String,
    read_only: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct LogConfigBody {
    #[serde(rename = "Type")]
    kind: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NetworkingConfig {
    endpoints_config: Option<BTreeMap<String, Option<EndpointBody>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EndpointBody {
    aliases: Option<Vec<String>>,
}

fn bad(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("{field}: {e}"))
}

/// The engine's options for a Docker create request named `name`.
pub fn run_options(body: CreateBody, name: Option<String>) -> Result<RunOptions, ApiError> {
    if body.image.is_empty() {
        return Err(ApiError::bad_request("Image: a container needs an image"));
    }
    let h = body.host_config.unwrap_or_default();
    let mut p = ProcessOptions {
        command: body.cmd.map(StrOrList::into_vec).unwrap_or_default(),
        // `--entrypoint ''` comes as [""] (or ""): no entrypoint at all.
        entrypoint: body
            .entrypoint
            .map(StrOrList::into_vec)
            .map(|e| if e == [""] { Vec::new() } else { e }),
        env: body.env.unwrap_or_default(),
        workdir: non_empty(body.working_dir),
        // Docker makes a working directory the image lacks.
        create_workdir: true,
        user: non_empty(body.user),
        hostname: non_empty(body.hostname),
        labels: body
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        tty: body.tty,
        interactive: body.open_stdin,
        stdin_once: body.open_stdin && body.stdin_once,
        stop_signal: body.stop_signal.filter(|s| !s.is_empty()),
        stop_timeout: body.stop_timeout,
        expose: body.exposed_ports.unwrap_or_default().into_keys().collect(),
        publish_all: h.publish_all_ports,
        privileged: h.privileged,
        read_only: h.readonly_rootfs,
        cap_add: h.cap_add.unwrap_or_default(),
        cap_drop: h.cap_drop.unwrap_or_default(),
        dns: h.dns.unwrap_or_default(),
        dns_search: h.dns_search.unwrap_or_default(),
        add_hosts: h.extra_hosts.unwrap_or_default(),
        security_opt: h.security_opt.unwrap_or_default(),
        init: h.init.unwrap_or(false),
        group_add: h.group_add.unwrap_or_default(),
        volumes_from: h.volumes_from.unwrap_or_default(),
        cpu_shares: (h.cpu_shares > 0).then_some(h.cpu_shares),
        cpu_period: (h.cpu_period > 0).then_some(h.cpu_period),
        cpu_quota: (h.cpu_quota != 0).then_some(h.cpu_quota),
        // Docker's -1: not set.
        memory_swappiness: h.memory_swappiness.and_then(|s| u64::try_from(s).ok()),
        oom_kill_disable: h.oom_kill_disable.filter(|d| *d),
        sysctls: h
            .sysctls
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        oom_score_adj: h.oom_score_adj.filter(|a| *a != 0),
        cgroupns: berth_engine::namespaces::NsMode::parse_cgroupns(Some(&h.cgroupns_mode))
            .map_err(|e| bad("CgroupnsMode", e))?,
        cpuset_cpus: non_empty(h.cpuset_cpus),
        cpuset_mems: non_empty(h.cpuset_mems),
        cpus: (h.nano_cpus > 0).then(|| h.nano_cpus as f64 / 1e9),
        memory: (h.memory > 0).then_some(berth_engine::security::MemoryLimit(h.memory)),
        memory_swap: (h.memory_swap != 0).then_some(h.memory_swap),
        memory_reservation: (h.memory_reservation > 0).then_some(h.memory_reservation),
        pids_limit: h.pids_limit.filter(|l| *l != 0),
        blkio_weight: (h.blkio_weight > 0).then_some(h.blkio_weight),
        ..Default::default()
    };
    if h.shm_size > 0 {
        p.shm_size = Some(berth_engine::security::Bytes(h.shm_size));
    }
    if let Some(t) = body.healthcheck {
        health(&mut p, t);
    }
    if let Some(r) = h.restart_policy.filter(|r| !r.name.is_empty()) {
        let text = match (r.name.as_str(), r.maximum_retry_count) {
            ("on-failure", n) if n > 0 => format!("on-failure:{n}"),
            (n, _) => n.to_string(),
        };
        p.restart = text.parse().map_err(|e| bad("RestartPolicy", e))?;
    }
    berth_engine::spec::parse_sysctls(&p.sysctls).map_err(|e| bad("Sysctls", e))?;
    // As --ulimit NAME=SOFT:HARD (-1: unlimited), checked now.
    for u in h.ulimits.unwrap_or_default() {
        let name = u.name.to_ascii_lowercase();
        let name = name.strip_prefix("rlimit_").unwrap_or(&name);
        let text = format!("{name}={}:{}", u.soft, u.hard);
        berth_engine::security::ulimit(&text).map_err(|e| bad("Ulimits", e))?;
        p.ulimits.push(text);
    }
    for b in h.binds.unwrap_or_default() {
        p.volumes.push(b.parse().map_err(|e| bad("Binds", e))?);
    }
    for m in h.mounts.unwrap_or_default() {
        mount(&mut p, m)?;
    }
    for (dest, opts) in h.tmpfs.unwrap_or_default() {
        let text = if opts.is_empty() {
            dest
        } else {
            format!("{dest}:{opts}")
        };
        p.tmpfs.push(text.parse().map_err(|e| bad("Tmpfs", e))?);
    }
    // A destination something else is mounted on (compose lists every
    // volume's here, binds and named ones too) is that mount's.
    for dest in body.volumes.unwrap_or_default().into_keys() {
        if dest.contains(':') {
            return Err(bad("Volumes", format!("{dest:?} is no container path")));
        }
        let v: berth_engine::volumes::VolumeSpec = dest.parse().map_err(|e| bad("Volumes", e))?;
        let taken = p.volumes.iter().any(|o| o.destination == v.destination)
            || p.tmpfs.iter().any(|t| t.destination == v.destination)
            || p.image_mounts
                .iter()
                .any(|m| m.destination == v.destination);
        if !taken {
            p.volumes.push(v);
        }
    }
    p.ports = ports(h.port_bindings.unwrap_or_default())?;
    p.network = network_mode(&h.network_mode)?;
    // Unset modes get the engine's defaults, as the CLI's flags left out do.
    let ns = |flag, field, text: &str| {
        let text = (!text.is_empty()).then_some(text);
        NsMode::parse(flag, text).map_err(|e| bad(field, e))
    };
    p.pid = ns("pid", "PidMode", &h.pid_mode)?;
    p.ipc = ns("ipc", "IpcMode", &h.ipc_mode)?;
    p.uts = ns("uts", "UTSMode", &h.uts_mode)?;
    userns(
        &mut p,
        (!h.userns_mode.is_empty()).then_some(&h.userns_mode),
        "UsernsMode",
    )?;
    if let Some(l) = h.log_config.filter(|l| !l.kind.is_empty()) {
        p.log_driver = Some(match l.kind.as_str() {
            // Docker's default driver; berth's file log answers `logs` the same.
            "json-file" => "k8s-file".into(),
            k => k.into(),
        });
    }
    for (net, ep) in body
        .networking_config
        .and_then(|n| n.endpoints_config)
        .unwrap_or_default()
    {
        if let Some(aliases) = ep.and_then(|e| e.aliases) {
            p.network_aliases.extend(aliases);
        }
        if p.network.bridge() != Some(net.as_str()) && !matches!(net.as_str(), "bridge" | "default")
        {
            p.networks.push(net);
        }
    }
    Ok(RunOptions {
        image: body.image,
        name,
        rm: h.auto_remove,
        replace: false,
        process: p,
    })
}

/// The user namespace as the CLI's run and create resolve it: the mode
/// asked for, else containers.conf's; a pod member's is its infra's. Called
/// once the user is set, which wins over keep-id's.
pub(crate) fn userns(
    p: &mut ProcessOptions,
    mode: Option<&str>,
    field: &str,
) -> Result<(), ApiError> {
    let in_pod = p.pod.is_some();
    berth_engine::namespaces::userns_of_member(mode, &[], &[], in_pod)
        .map_err(|e| bad(field, e))?
        .apply(p);
    Ok(())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn health(p: &mut ProcessOptions, t: Healthcheck) {
    let secs = |ns: u64| (ns > 0).then(|| format!("{}ms", ns / 1_000_000));
    match t.test.as_deref() {
        Some([none]) if none == "NONE" => p.health.disabled = true,
        Some([kind, cmd @ ..]) if kind == "CMD-SHELL" => p.health_cmd = Some(cmd.join(" ")),
        Some([kind, cmd @ ..]) if kind == "CMD" => {
            p.health_cmd = Some(serde_json::to_string(cmd).unwrap_or_default());
        }
        _ => {}
    }
    p.health.interval = secs(t.interval);
    p.health.timeout = secs(t.timeout);
    p.health.start_period = secs(t.start_period);
    p.health.retries = (t.retries > 0).then_some(t.retries);
}

fn mount(p: &mut ProcessOptions, m: MountBody) -> Result<(), ApiError> {
    let ro = if m.read_only { ",ro" } else { "" };
    let text = match m.kind.as_str() {
        "bind" | "volume" => format!(
            "type={},source={},target={}{ro}",
            m.kind, m.source, m.target
        ),
        "tmpfs" => format!("type=tmpfs,target={}", m.target),
        k => return Err(bad("Mounts", format!("type {k:?} is not served"))),
    };
    p.add_mount(text.parse().map_err(|e| bad("Mounts", e))?);
    Ok(())
}

/// `{"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}`, field by field.
fn ports(
    bindings: BTreeMap<String, Option<Vec<PortBinding>>>,
) -> Result<Vec<PortMapping>, ApiError> {
    let mut out = Vec::new();
    for (port, binds) in bindings {
        let (num, protocol) = port.split_once('/').unwrap_or((&port, "tcp"));
        let container_port: u16 = num
            .parse()
            .map_err(|_| bad("PortBindings", format!("port {port:?}")))?;
        if !matches!(protocol, "tcp" | "udp" | "sctp") {
            return Err(bad("PortBindings", format!("protocol {protocol:?}")));
        }
        for b in binds.unwrap_or_default() {
            let host_port = match b.host_port.as_str() {
                "" => 0,
                p => p
                    .parse()
                    .map_err(|_| bad("PortBindings", format!("HostPort {p:?}")))?,
            };
            let host_ip = match b.host_ip.as_str() {
                "" => "0.0.0.0".to_string(),
                ip => ip
                    .parse::<std::net::IpAddr>()
                    .map_err(|_| bad("PortBindings", format!("HostIp {ip:?}")))?
                    .to_string(),
            };
            out.push(PortMapping {
                host_ip,
                host_port,
                container_port,
                protocol: protocol.to_string(),
            });
        }
    }
    Ok(out)
}

/// Docker's `default` and `bridge` are the default network here.
fn network_mode(mode: &str) -> Result<NetworkMode, ApiError> {
    match mode {
        "" | "default" => Ok(NetworkMode::Unset),
        "bridge" => Ok(NetworkMode::Bridge(berth_engine::network::DEFAULT.into())),
        m => m.parse().map_err(|e| bad("NetworkMode", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: serde_json::Value) -> Result<RunOptions, ApiError> {
        run_options(serde_json::from_value(body).unwrap(), None)
    }

    #[test]
    fn userns_mode_resolves_as_the_cli_flag_does() {
        let body = serde_json::json!({
            "Image": "busybox",
            "HostConfig": {"UsernsMode": "auto:size=1024"},
        });
        let o = create(body).unwrap();
        let auto = o.process.auto_userns.expect("an auto user namespace");
        assert_eq!(auto.size, Some(1024));
    }

    #[test]
    fn config_volumes_are_anonymous_unless_mounted_otherwise() {
        let body = serde_json::json!({
            "Image": "busybox",
            "Volumes": {"/anon": {}, "/bound/": {}, "/t": {}},
            "HostConfig": {"Binds": ["/srv:/bound"], "Tmpfs": {"/t": ""}},
        });
        let o = create(body).unwrap();
        let v: Vec<String> = o.process.volumes.iter().map(|v| v.to_string()).collect();
        assert_eq!(v, ["/srv:/bound", "/anon"]);
        let body = serde_json::json!({"Image": "busybox", "Volumes": {"/a:/b": {}}});
        assert_eq!(create(body).unwrap_err().status, 400);
    }

    #[test]
    fn an_empty_entrypoint_is_none() {
        for ep in [serde_json::json!([""]), serde_json::json!("")] {
            let body = serde_json::json!({"Image": "busybox", "Entrypoint": ep, "Cmd": ["echo"]});
            let o = create(body).unwrap();
            assert_eq!(o.process.entrypoint, Some(Vec::new()));
        }
    }

    #[test]
    fn ulimits_are_the_flags_and_checked() {
        let body = serde_json::json!({
            "Image": "busybox",
            "HostConfig": {"Ulimits": [
                {"Name": "nofile", "Soft": 512, "Hard": 1024},
                {"Name": "RLIMIT_CORE", "Soft": -1, "Hard": -1},
            ]},
        });
        assert_eq!(
            create(body).unwrap().process.ulimits,
            ["nofile=512:1024", "core=-1:-1"]
        );
        let body = serde_json::json!({
            "Image": "busybox",
            "HostConfig": {"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]},
        });
        let e = create(body).unwrap_err();
        assert!(e.message.starts_with("Ulimits: "), "{}", e.message);
    }

    #[test]
    fn a_userns_mode_berth_has_not_is_a_bad_request() {
        let body = serde_json::json!({
            "Image": "busybox",
            "HostConfig": {"UsernsMode": "auto:size=x"},
        });
        let e = create(body).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.starts_with("UsernsMode: "), "{}", e.message);
    }
}
