//! `info`: the host and the store as podman reports them (`podman info`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_storage::Store;
use serde::Serialize;

use crate::container::Status;
use crate::error::Error;

/// podman's `info` report; its JSON keys are podman's.
#[derive(Debug, Serialize)]
pub struct InfoReport {
    pub host: HostInfo,
    pub store: StoreInfo,
    pub registries: BTreeMap<String, serde_json::Value>,
    pub plugins: Plugins,
    pub version: ComponentVersion,
}

/// The drivers of each kind berth has, as podman lists its plugins.
#[derive(Debug, Serialize)]
pub struct Plugins {
    pub volume: Vec<&'static str>,
    pub network: Vec<&'static str>,
    pub log: Vec<&'static str>,
    pub authorization: Option<Vec<&'static str>>,
}

/// The service's socket, where `system service` listens by default.
#[derive(Debug, Serialize)]
pub struct RemoteSocket {
    pub path: String,
    pub exists: bool,
}

/// The default URI of `system service`: root's socket under /run, a user's
/// under $XDG_RUNTIME_DIR (a directory of the user's own in /tmp without it).
pub fn default_service_uri() -> String {
    let uid = berth_runtime::sys::geteuid();
    if uid == 0 {
        return "unix:///run/berth/berth.sock".into();
    }
    match std::env::var("XDG_RUNTIME_DIR") {
        Ok(dir) => format!("unix://{dir}/berth/berth.sock"),
        Err(_) => format!("unix:///tmp/berth-{uid}/berth.sock"),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    /// The version of the builder (berth's own, as buildah's is podman's).
    pub buildah_version: &'static str,
    /// The container monitor: berth's own, in conmon's role.
    pub conmon: MonitorInfo,
    pub arch: String,
    pub os: String,
    pub kernel: String,
    pub hostname: String,
    pub cgroup_version: &'static str,
    pub cgroup_manager: &'static str,
    pub distribution: Distribution,
    pub oci_runtime: OciRuntimeInfo,
    pub network_backend: &'static str,
    pub event_logger: &'static str,
    pub log_driver: String,
    pub security: SecurityInfo,
    pub cpus: usize,
    pub mem_total: u64,
    pub mem_free: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    /// podman's words: `3h 25m 10.00s (Approximately 0.12 days)`.
    pub uptime: String,
    pub remote_socket: RemoteSocket,
}

/// The host's distribution, from os-release.
#[derive(Debug, Serialize, Default)]
pub struct Distribution {
    pub distribution: String,
    pub version: String,
    pub codename: String,
}

#[derive(Debug, Serialize)]
pub struct MonitorInfo {
    pub package: String,
    pub path: String,
    pub version: String,
}

impl MonitorInfo {
    fn berth() -> MonitorInfo {
        MonitorInfo {
            package: format!("berth {VERSION} (its own monitor, in conmon's role)"),
            path: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            version: format!("berth monitor version {VERSION}"),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OciRuntimeInfo {
    pub name: String,
    /// The binary's path; for berth's own runtime, the `berth-oci` binary beside
    /// this one (the same runtime with runc's command line, which `--runtime`
    /// takes), else "built in".
    pub path: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityInfo {
    pub seccomp_enabled: bool,
    pub rootless: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    pub graph_driver_name: String,
    pub graph_options: BTreeMap<String, String>,
    pub graph_status: BTreeMap<String, String>,
    pub config_file: Option<PathBuf>,
    pub container_store: ContainerCounts,
    pub image_store: ImageCounts,
    pub volume_path: PathBuf,
}

#[derive(Debug, Serialize, Default)]
pub struct ContainerCounts {
    pub number: usize,
    pub running: usize,
    pub paused: usize,
    pub stopped: usize,
}

#[derive(Debug, Serialize)]
pub struct ImageCounts {
    pub number: usize,
}

/// berth's version, the one every front end reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl InfoReport {
    /// The report as podman's Go templates see it: its JSON, plus the Go
    /// field names that are not their JSON keys (`{{.Host.CgroupsVersion}}`
    /// is `cgroupVersion`; the rest match but for case).
    pub fn template_data(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("info serialises");
        v["host"]["CgroupsVersion"] = v["host"]["cgroupVersion"].clone();
        v
    }
}

/// One side of `version` (podman's define.Version), with podman's keys.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentVersion {
    #[serde(rename = "APIVersion")]
    pub api_version: String,
    pub version: String,
    pub go_version: String,
    pub git_commit: String,
    pub built_time: String,
    /// Seconds since the epoch (0: not recorded).
    pub built: i64,
    /// `linux/amd64`.
    pub os_arch: String,
    pub os: String,
}

/// `version`'s report (podman's SystemVersionReport).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionReport {
    pub client: ComponentVersion,
    /// The engine answering: locally the same library (berth has no service
    /// of its own running), as podman reports its local one too.
    pub server: ComponentVersion,
}

impl VersionReport {
    /// The report as podman's Go templates see it: its JSON, plus
    /// `{{.Version}}`, the client's version.
    pub fn template_data(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("version serialises");
        v["Version"] = self.client.version.clone().into();
        v
    }
}

/// buildah's `--version` line in berth's name: `berth version 0.1.0
/// (image-spec 1.1.0, runtime-spec 1.2.0)`.
pub fn version_line() -> String {
    format!(
        "berth version {VERSION} (image-spec {}, runtime-spec {})",
        berth_image::SPEC_VERSION,
        berth_runtime::state::OCI_VERSION
    )
}

/// buildah's `version` report in berth's name (`builder version [--json]`),
/// its keys in buildah's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildahVersion {
    pub version: String,
    /// Empty: berth is not written in Go.
    pub go_version: String,
    pub image_spec: String,
    pub runtime_spec: String,
    /// Empty: berth's networks are its own, not CNI plugins.
    pub cni_spec: String,
    pub libcni_version: String,
    /// The image library's version (buildah's containers/image): berth's.
    pub image_version: String,
    pub git_commit: String,
    /// As Go's time.ANSIC prints the build time; berth records none, which
    /// reads as the epoch, as a reproducible buildah's does.
    pub built: String,
    pub os_arch: String,
    pub build_platform: String,
}

pub fn buildah_version() -> BuildahVersion {
    let platform = format!("{}/{}", std::env::consts::OS, go_arch());
    BuildahVersion {
        version: VERSION.into(),
        go_version: String::new(),
        image_spec: berth_image::SPEC_VERSION.into(),
        runtime_spec: berth_runtime::state::OCI_VERSION.into(),
        cni_spec: String::new(),
        libcni_version: String::new(),
        image_version: VERSION.into(),
        git_commit: option_env!("BERTH_GIT_COMMIT").unwrap_or("").into(),
        built: "Thu Jan  1 00:00:00 1970".into(),
        os_arch: platform.clone(),
        build_platform: platform,
    }
}

/// buildah's `info`: the host and the store under buildah's own keys
/// (`buildah info | jq .host.cpus`).
#[derive(Debug, Serialize)]
pub struct BuildahInfo {
    /// `info --debug`: what berth was built as (buildah's `debug` key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<BTreeMap<&'static str, String>>,
    pub host: BuildahHost,
    pub store: BuildahStore,
}

/// `builder info --debug`'s `debug` key: berth's version and build, in
/// buildah's words where they apply.
pub fn buildah_debug() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("berth version", VERSION.to_string()),
        ("compiler", "rustc".to_string()),
        (
            "git commit",
            option_env!("BERTH_GIT_COMMIT").unwrap_or("").to_string(),
        ),
    ])
}

#[derive(Debug, Serialize)]
pub struct BuildahHost {
    #[serde(rename = "CgroupVersion")]
    pub cgroup_version: &'static str,
    #[serde(rename = "Distribution")]
    pub distribution: Distribution,
    #[serde(rename = "MemFree")]
    pub mem_free: u64,
    #[serde(rename = "MemTotal")]
    pub mem_total: u64,
    #[serde(rename = "OCIRuntime")]
    pub oci_runtime: String,
    #[serde(rename = "SwapFree")]
    pub swap_free: u64,
    #[serde(rename = "SwapTotal")]
    pub swap_total: u64,
    pub arch: String,
    pub cpus: usize,
    pub hostname: String,
    pub kernel: String,
    pub os: String,
    pub rootless: bool,
    /// `16h 27m 57.32s (Approximately 0.67 days)`.
    pub uptime: String,
    pub variant: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildahStore {
    pub container_store: Count,
    pub graph_driver_name: String,
    pub graph_options: BTreeMap<String, String>,
    pub graph_root: PathBuf,
    pub graph_status: BTreeMap<String, String>,
    pub image_store: Count,
    pub run_root: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct Count {
    pub number: usize,
}

/// The report `builder info` prints, from [`info`]'s.
pub fn buildah_info(store: &Store, runtime: Option<&str>) -> Result<BuildahInfo, Error> {
    let i = info(store, runtime)?;
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    Ok(BuildahInfo {
        debug: None,
        host: BuildahHost {
            cgroup_version: i.host.cgroup_version,
            distribution: i.host.distribution,
            mem_free: meminfo("MemFree"),
            mem_total: meminfo("MemTotal"),
            oci_runtime: i.host.oci_runtime.name,
            swap_free: meminfo("SwapFree"),
            swap_total: meminfo("SwapTotal"),
            arch: i.host.arch,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hostname: i.host.hostname,
            kernel: i.host.kernel,
            os: i.host.os,
            rootless: i.host.security.rootless,
            uptime: format!(
                "{}h {}m {:.2}s (Approximately {:.2} days)",
                (uptime / 3600.0) as u64,
                (uptime % 3600.0 / 60.0) as u64,
                uptime % 60.0,
                uptime / 86400.0
            ),
            variant: String::new(),
        },
        store: BuildahStore {
            container_store: Count {
                number: i.store.container_store.number,
            },
            graph_driver_name: i.store.graph_driver_name,
            graph_options: i.store.graph_options,
            graph_root: i.store.graph_root,
            graph_status: i.store.graph_status,
            image_store: Count {
                number: i.store.image_store.number,
            },
            run_root: i.store.run_root,
        },
    })
}

/// A `/proc/meminfo` figure (`MemTotal`, `MemFree`, `SwapTotal` …) in bytes;
/// 0 when it cannot be read.
pub fn meminfo(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// berth's `version`.
pub fn version() -> VersionReport {
    let mine = ComponentVersion {
        api_version: VERSION.into(),
        version: VERSION.into(),
        go_version: String::new(),
        git_commit: String::new(),
        built_time: String::new(),
        built: 0,
        os_arch: format!("{}/{}", std::env::consts::OS, go_arch()),
        os: std::env::consts::OS.into(),
    };
    VersionReport {
        client: mine.clone(),
        server: mine,
    }
}

fn builtin_runtime_path() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("berth-oci")))
        .filter(|p| p.is_file())
        .map_or_else(|| "built in".into(), |p| p.display().to_string())
}

/// The report; `runtime` is the runtime new containers get (`--runtime`),
/// else containers.conf's.
pub fn info(store: &Store, runtime: Option<&str>) -> Result<InfoReport, Error> {
    let conf = crate::conf::get()?;
    let runtime = runtime.map(str::to_string).or_else(|| conf.runtime.clone());
    let oci_runtime = match runtime.as_deref() {
        None | Some("berth" | "builtin" | "") => OciRuntimeInfo {
            name: "berth".into(),
            path: Some(builtin_runtime_path()),
        },
        Some(name) => OciRuntimeInfo {
            name: name.into(),
            path: crate::oci::resolve(name)?.map(|p| p.display().to_string()),
        },
    };
    let cfg = store.config();
    Ok(InfoReport {
        host: HostInfo {
            buildah_version: VERSION,
            conmon: MonitorInfo::berth(),
            arch: go_arch().into(),
            os: std::env::consts::OS.into(),
            kernel: proc_value("/proc/sys/kernel/osrelease"),
            hostname: proc_value("/proc/sys/kernel/hostname"),
            cgroup_version: cgroup_version(),
            cgroup_manager: "cgroupfs",
            distribution: distribution(),
            oci_runtime,
            network_backend: crate::network::Backend::configured()?.name(),
            event_logger: if crate::events::disabled() {
                "none"
            } else {
                "file"
            },
            log_driver: conf.log_driver.clone().unwrap_or_else(|| "k8s-file".into()),
            security: SecurityInfo {
                seccomp_enabled: true,
                rootless: !is_root(),
            },
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total: meminfo("MemTotal"),
            mem_free: meminfo("MemFree"),
            swap_total: meminfo("SwapTotal"),
            swap_free: meminfo("SwapFree"),
            uptime: uptime(),
            remote_socket: {
                let uri = default_service_uri();
                let path = uri.trim_start_matches("unix://").to_string();
                RemoteSocket {
                    exists: std::path::Path::new(&path).exists(),
                    path: uri,
                }
            },
        },
        store: StoreInfo {
            graph_root: cfg.graph_root.clone(),
            run_root: cfg.run_root.clone(),
            graph_driver_name: crate::views::driver_name(store),
            graph_options: BTreeMap::new(),
            graph_status: BTreeMap::new(),
            config_file: cfg.config_file.clone(),
            container_store: container_counts(store)?,
            image_store: ImageCounts {
                number: store.images().map_err(Error::other)?.len(),
            },
            volume_path: crate::volumes::named::volume_path(store),
        },
        registries: BTreeMap::new(),
        plugins: Plugins {
            volume: vec!["local"],
            network: vec!["bridge"],
            log: vec!["k8s-file", "none", "passthrough", "journald"],
            authorization: None,
        },
        version: version().server,
    })
}

/// The host's uptime as podman words it.
fn uptime() -> String {
    let secs: f64 = proc_value("/proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let whole = secs as u64;
    let (h, m) = (whole / 3600, whole % 3600 / 60);
    let s = secs - (h * 3600 + m * 60) as f64;
    format!(
        "{h}h {m}m {s:.2}s (Approximately {:.2} days)",
        secs / 86400.0
    )
}

fn container_counts(store: &Store) -> Result<ContainerCounts, Error> {
    let mut n = ContainerCounts::default();
    for c in crate::container::list(store).map_err(Error::other)? {
        n.number += 1;
        match c.state.status {
            Status::Running => n.running += 1,
            Status::Paused => n.paused += 1,
            _ => n.stopped += 1,
        }
    }
    Ok(n)
}

/// The machine's architecture in Go's words (amd64, arm64 …), as images name it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn proc_value(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn cgroup_version() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "v2"
    } else {
        "v1"
    }
}

fn distribution() -> Distribution {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    Distribution {
        distribution: field("ID"),
        version: field("VERSION_ID"),
        codename: field("VERSION_CODENAME"),
    }
}

/// Whether berth runs as root: /proc/self belongs to the effective user.
fn is_root() -> bool {
    berth_runtime::userns::rootless_uid().is_none()
}

/// `system reset`: every pod, container and volume goes (running ones killed),
/// then the store's directories and `extra` ones with all they hold: images,
/// networks, secrets, manifest lists (podman's). Mounts under them are taken
/// off first; a directory something still holds mounted is refused, never
/// emptied through the mount.
pub fn reset(store: &Store, extra: &[PathBuf]) -> Result<(), Error> {
    for p in crate::pods::list(store) {
        let _ = crate::pods::remove(store, &p.id, true, 0);
    }
    for c in crate::container::list(store).unwrap_or_default() {
        let _ = crate::lifecycle::remove_member(store, &c.id, true, 0);
    }
    for v in crate::volumes::named::names(store) {
        let _ = crate::volumes::named::remove(store, &v, true, 0);
    }
    // The networks' bridges and rules, which outlive their containers.
    crate::network::remove_all_bridges(store);
    if crate::network::rootless::active() {
        // Left by a container that was never torn down (its pasta with it).
        crate::network::rootless::remove(store);
    }
    let cfg = store.config();
    let mut roots = vec![
        cfg.graph_root.clone(),
        cfg.run_root.clone(),
        crate::volumes::named::volume_path(store),
    ];
    roots.extend(extra.iter().cloned());
    unmount_under(&roots);
    if let Some(m) = mounts_under(&roots).first() {
        return Err(Error::other(format!(
            "{}: still mounted; nothing was removed from the store's directories",
            m.display()
        )));
    }
    for r in &roots {
        match std::fs::remove_dir_all(r) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::other(format!("{}: {e}", r.display()))),
        }
    }
    // The containers' views went with them; their directory too, once empty.
    crate::userns_view::remove_base_if_empty();
    Ok(())
}

/// This process's mount points at or below any of `roots`, deepest first.
fn mounts_under(roots: &[PathBuf]) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(berth_storage::drivers::overlay::unescape_mountinfo(m)))
        .filter(|m| roots.iter().any(|r| m.starts_with(r)))
        .collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    out.dedup();
    out
}

fn unmount_under(roots: &[PathBuf]) {
    for m in mounts_under(roots) {
        if let Ok(c) = std::ffi::CString::new(m.as_os_str().as_encoded_bytes()) {
            // SAFETY: a NUL-terminated path; a failed unmount is found afterwards.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// `mount`, `image mount`, `volume mount` as a rootless user: refused (podman's
/// words) unless run inside `berth unshare`, where the user's shell sees what
/// is mounted; a mount made in the namespace a command joined by itself shows
/// nowhere else.
pub fn check_mount_visible(command: &str) -> Result<(), crate::Error> {
    if berth_runtime::userns::rootless_uid().is_some() && berth_runtime::userns::joined_here() {
        return Err(crate::Error::InvalidArgument(format!(
            "cannot run command \"berth {command}\" in rootless mode, must execute `berth unshare` first"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_keys_are_podmans() {
        let r = version();
        let v = serde_json::to_value(&r).unwrap();
        let client = v["Client"].as_object().unwrap();
        let keys: Vec<&str> = client.keys().map(String::as_str).collect();
        for k in [
            "APIVersion",
            "Version",
            "GoVersion",
            "GitCommit",
            "BuiltTime",
            "Built",
            "OsArch",
            "Os",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert_eq!(v["Server"], v["Client"]);
        assert_eq!(v["Client"]["OsArch"], format!("linux/{}", go_arch()));
        assert!(v.get("Version").is_none());
        assert_eq!(r.template_data()["Version"], VERSION);
    }

    #[test]
    fn info_templates_know_podmans_go_name_for_the_cgroup_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::test_store(dir.path());
        let report = info(&store, None).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["host"].get("CgroupsVersion").is_none());
        let t = report.template_data();
        assert_eq!(t["host"]["CgroupsVersion"], json["host"]["cgroupVersion"]);
        assert_eq!(t["store"]["imageStore"]["number"], 0);
    }
}
