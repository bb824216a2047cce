//! What confines a container beyond its namespaces: berth's default seccomp
//! filter, `--security-opt`, `--privileged`, and the resource limits of
//! `--memory`, `--cpus`, `--pids-limit` and `--ulimit`.

use berth_runtime::spec::{Cpu, Memory, Pids, Resources, Rlimit, Seccomp, SyscallArg, SyscallRule};

/// A size (`512m`) that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid size {0:?}")]
pub struct InvalidSize(pub String);

/// A confinement flag (`--security-opt`, `--memory`, `--device`, `--ulimit`…)
/// that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("--security-opt {option}: {source}")]
    SeccompFile {
        option: String,
        source: std::io::Error,
    },
    #[error("--security-opt {option}: not a seccomp profile: {source}")]
    NotSeccompProfile {
        option: String,
        source: serde_json::Error,
    },
    #[error("--security-opt {0}: unknown option")]
    UnknownSecurityOpt(String),
    #[error("--memory: {0}")]
    Memory(#[source] InvalidSize),
    #[error("--memory {0}: the minimum is 6MB")]
    MemoryBelowMinimum(String),
    #[error("--cpus {0}: must be more than 0")]
    Cpus(f64),
    /// Limits that cannot go together, in podman's words.
    #[error("{0}")]
    Conflict(String),
    /// podman's words, without the flag's name.
    #[error("{0}")]
    DeviceCgroupRule(String),
    #[error("--device {0}: expected HOST[:CONTAINER][:PERMISSIONS]")]
    InvalidDevice(String),
    #[error("--device {0}: expected HOST[:CONTAINER][:rwm]")]
    DevicePermissions(String),
    #[error("--device {spec}: {host}: {source}")]
    DeviceHost {
        spec: String,
        host: String,
        source: std::io::Error,
    },
    #[error("--device {spec}: {host} is not a device")]
    NotADevice { spec: String, host: String },
    #[error("--ulimit {0}: expected NAME=SOFT[:HARD]")]
    InvalidUlimit(String),
    #[error("--ulimit {spec}: unknown limit {name:?}")]
    UnknownUlimit { spec: String, name: String },
    #[error("--ulimit {0}: the soft limit is above the hard one")]
    SoftAboveHard(String),
}

/// System calls a container does not need and that widen the kernel's attack
/// surface or reach outside the container: kernel modules and kexec, kernel
/// keyrings, BPF and perf, mounting and namespace changes, clock and swap
/// settings, file handles that bypass the mount tree, other processes' memory.
/// Denied with EPERM; everything else is allowed (the capability set does the
/// rest). Names the host's libseccomp does not know are skipped.
const DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "_sysctl",
    "sysfs",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

const CLONE_NEWUSER: u64 = 0x1000_0000;

/// What an added capability gives back of [`DENIED`], as docker's and podman's
/// profiles do: the system calls that capability is the kernel's own check for.
const ALLOWED_BY_CAP: &[(&str, &[&str])] = &[
    (
        "SYS_ADMIN",
        &[
            "bpf",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "name_to_handle_at",
            "open_tree",
            "perf_event_open",
            "pivot_root",
            "quotactl",
            "setns",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("SYS_BOOT", &["reboot"]),
    (
        "SYS_MODULE",
        &["delete_module", "finit_module", "init_module"],
    ),
    ("SYS_PACCT", &["acct"]),
    (
        "SYS_PTRACE",
        &["kcmp", "process_vm_readv", "process_vm_writev"],
    ),
    ("SYS_RAWIO", &["ioperm", "iopl"]),
    (
        "SYS_TIME",
        &["clock_adjtime", "clock_settime", "settimeofday", "stime"],
    ),
    (
        "SYS_NICE",
        &["get_mempolicy", "mbind", "move_pages", "set_mempolicy"],
    ),
    ("BPF", &["bpf"]),
    ("PERFMON", &["perf_event_open"]),
];

/// Whether `--cap-add` (names with or without `CAP_`, or ALL) adds `cap`.
fn adds(cap_add: &[String], cap: &str) -> bool {
    cap_add.iter().any(|c| {
        let c = c.to_ascii_uppercase();
        c == "ALL" || c.strip_prefix("CAP_").unwrap_or(&c) == cap
    })
}

/// berth's default filter: allow, except [`DENIED`], `clone` making a user
/// namespace, and `clone3` (ENOSYS, so that libc falls back to `clone`, whose
/// flags the filter can see). A capability added with `--cap-add` takes its
/// system calls off the list (SYS_ADMIN also lets `clone` make namespaces).
pub fn seccomp_for(cap_add: &[String]) -> Seccomp {
    let freed: Vec<&str> = ALLOWED_BY_CAP
        .iter()
        .filter(|(cap, _)| adds(cap_add, cap))
        .flat_map(|(_, calls)| calls.iter().copied())
        .collect();
    let mut s = default_seccomp();
    s.syscalls[0].names.retain(|n| !freed.contains(&n.as_str()));
    if adds(cap_add, "SYS_ADMIN") {
        s.syscalls
            .retain(|r| r.names != ["clone"] || r.args.is_empty());
    }
    s
}

/// [`seccomp_for`] with no capability added.
pub fn default_seccomp() -> Seccomp {
    let errno = |names: &[&str], ret: u32| SyscallRule {
        names: names.iter().map(|s| s.to_string()).collect(),
        action: "SCMP_ACT_ERRNO".into(),
        errno_ret: Some(ret),
        args: Vec::new(),
    };
    let mut clone_userns = errno(&["clone"], libc::EPERM as u32);
    clone_userns.args = vec![SyscallArg {
        index: 0,
        value: CLONE_NEWUSER,
        value_two: CLONE_NEWUSER,
        op: "SCMP_CMP_MASKED_EQ".into(),
    }];
    Seccomp {
        default_action: "SCMP_ACT_ALLOW".into(),
        architectures: host_architectures(),
        syscalls: vec![
            errno(DENIED, libc::EPERM as u32),
            clone_userns,
            errno(&["clone3"], libc::ENOSYS as u32),
        ],
        ..Default::default()
    }
}

/// The host's native system call ABI and its compatibility ones: the deny-list
/// must hold for a 32-bit entry into the kernel too. (Each added architecture
/// costs filter-building time at every start, so only these.)
fn host_architectures() -> Vec<String> {
    let names: &[&str] = match std::env::consts::ARCH {
        "x86_64" => &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "aarch64" => &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "x86" => &["SCMP_ARCH_X86"],
        "arm" => &["SCMP_ARCH_ARM"],
        "powerpc64" => &["SCMP_ARCH_PPC64LE"],
        "s390x" => &["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
        "riscv64" => &["SCMP_ARCH_RISCV64"],
        _ => &[],
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// `--security-opt` values: (seccomp profile or none when unconfined,
/// no-new-privileges); the default profile follows `--cap-add`.
pub fn security_opts(
    opts: &[String],
    privileged: bool,
    cap_add: &[String],
    caps: &[String],
) -> Result<(Option<Seccomp>, bool), SecurityError> {
    let mut seccomp = (!privileged).then(|| seccomp_for(cap_add));
    let mut nnp = false;
    for o in opts {
        let (k, v) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
        match k {
            "no-new-privileges" => nnp = v.is_empty() || v == "true",
            "seccomp" if v == "unconfined" => seccomp = None,
            "seccomp" => {
                let text = std::fs::read(v).map_err(|source| SecurityError::SeccompFile {
                    option: o.clone(),
                    source,
                })?;
                let not_profile = |source| SecurityError::NotSeccompProfile {
                    option: o.clone(),
                    source,
                };
                let profile: serde_json::Value =
                    serde_json::from_slice(&text).map_err(not_profile)?;
                seccomp = Some(profile_for(&profile, caps).map_err(not_profile)?);
            }
            // No LSM on this host's kind of machines: accepted, as podman does
            // where SELinux/AppArmor are off.
            "label" | "apparmor" => {}
            _ => return Err(SecurityError::UnknownSecurityOpt(o.clone())),
        }
    }
    Ok((seccomp, nnp))
}

/// The host as seccomp profiles name it in `includes`/`excludes` (Go's names).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The kernel's (major, minor).
fn kernel_version() -> (u32, u32) {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = r
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Whether a profile rule's `includes` and `excludes` hold for this container.
fn rule_applies(rule: &serde_json::Value, caps: &[String]) -> bool {
    let list = crate::spec::strings;
    let (inc, exc) = (&rule["includes"], &rule["excludes"]);
    let arch = go_arch();
    let inc_arches = list(&inc["arches"]);
    if !inc_arches.is_empty() && !inc_arches.iter().any(|a| a == arch) {
        return false;
    }
    if !list(&inc["caps"]).iter().all(|c| caps.contains(c)) {
        return false;
    }
    if let Some(min) = inc["minKernel"].as_str() {
        let mut it = min.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let want = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        if kernel_version() < want {
            return false;
        }
    }
    !list(&exc["arches"]).iter().any(|a| a == arch)
        && !list(&exc["caps"]).iter().any(|c| caps.contains(c))
}

/// A seccomp profile file: the OCI form, or the docker/podman form (an
/// `archMap`, rules that hold only for some capabilities or architectures),
/// which is resolved here for this container's bounding set `caps`.
pub fn profile_for(v: &serde_json::Value, caps: &[String]) -> Result<Seccomp, serde_json::Error> {
    let mut v = v.clone();
    if let Some(map) = v.get("archMap").and_then(|m| m.as_array()).cloned() {
        let native = host_architectures().into_iter().next().unwrap_or_default();
        let arches: Vec<serde_json::Value> = map
            .iter()
            .filter(|e| e["architecture"].as_str() == Some(native.as_str()))
            .flat_map(|e| {
                std::iter::once(e["architecture"].clone()).chain(
                    e["subArchitectures"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                )
            })
            .collect();
        v["architectures"] = serde_json::Value::Array(arches);
    }
    if let Some(rules) = v.get("syscalls").and_then(|r| r.as_array()).cloned() {
        v["syscalls"] = rules
            .into_iter()
            .filter(|r| rule_applies(r, caps))
            .collect();
    }
    serde_json::from_value(v)
}

/// `512m`, `1g`, `100k`, `1048576` → bytes (binary units).
pub fn parse_bytes(s: &str) -> Result<i64, InvalidSize> {
    parse_size(s, 1024.0).map(|n| n as i64)
}

/// A size with an optional k, m or g suffix (and b), each `unit` times the
/// one below; a number that is negative, not finite or too big is refused.
pub fn parse_size(s: &str, unit: f64) -> Result<f64, InvalidSize> {
    let bad = || InvalidSize(s.to_string());
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], unit),
        Some('m') => (&t[..t.len() - 1], unit * unit),
        Some('g') => (&t[..t.len() - 1], unit * unit * unit),
        _ => (t, 1.0),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let bytes = n * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes)
}

/// A size given as `512m`, `1g`, `100k` or bytes; kept as bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub i64);

impl std::str::FromStr for Bytes {
    type Err = InvalidSize;
    fn from_str(s: &str) -> Result<Bytes, InvalidSize> {
        parse_bytes(s).map(Bytes)
    }
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `--memory`: a limit of at least 6MB, or 0 for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit(pub i64);

impl std::str::FromStr for MemoryLimit {
    type Err = SecurityError;
    fn from_str(s: &str) -> Result<MemoryLimit, SecurityError> {
        let limit = parse_bytes(s).map_err(SecurityError::Memory)?;
        // 0 is podman's "no limit".
        if limit != 0 && limit < 6 << 20 {
            return Err(SecurityError::MemoryBelowMinimum(s.to_string()));
        }
        Ok(MemoryLimit(limit))
    }
}

impl std::fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The cgroup limits asked for, if any.
pub fn resources(
    memory: Option<MemoryLimit>,
    cpus: Option<f64>,
    pids: Option<i64>,
) -> Result<Option<Resources>, SecurityError> {
    if memory.is_none() && cpus.is_none() && pids.is_none() {
        return Ok(None);
    }
    let mut r = Resources::default();
    if let Some(MemoryLimit(limit)) = memory
        && limit != 0
    {
        r.memory = Some(Memory {
            limit: Some(limit),
            ..Default::default()
        });
    }
    if let Some(c) = cpus {
        if c.is_nan() || c <= 0.0 {
            return Err(SecurityError::Cpus(c));
        }
        let period = 100_000u64;
        r.cpu = Some(Cpu {
            quota: Some((c * period as f64) as i64),
            period: Some(period),
            ..Default::default()
        });
    }
    if let Some(p) = pids {
        r.pids = Some(Pids { limit: p });
    }
    Ok(Some(r))
}

/// `--device-cgroup-rule "TYPE MAJOR:MINOR ACCESS"` (`c 7:* rmw`): a rule
/// the device cgroup allows, checked as podman checks it (its words).
#[derive(Clone, Debug)]
pub struct DeviceCgroupRule(pub berth_runtime::spec::DeviceRule);

impl std::str::FromStr for DeviceCgroupRule {
    type Err = SecurityError;
    fn from_str(s: &str) -> Result<DeviceCgroupRule, SecurityError> {
        let bad = |m: String| SecurityError::DeviceCgroupRule(m);
        let parts: Vec<&str> = s.split_whitespace().collect();
        let [kind, numbers, access] = parts[..] else {
            return Err(bad(format!(
                "invalid device cgroup rule requires type, major:Minor, and access rules: {s:?}"
            )));
        };
        if !["a", "b", "c"].contains(&kind) {
            return Err(bad(format!(
                "invalid device type in device-access-add: {kind}"
            )));
        }
        if let Some(c) = access.chars().find(|c| !"rwm".contains(*c)) {
            return Err(bad(format!(
                "invalid device access in device-access-add: {c}"
            )));
        }
        let number = |n: &str| -> Result<Option<i64>, SecurityError> {
            match n {
                "*" => Ok(None),
                n => n
                    .parse::<u32>()
                    .map(|v| Some(i64::from(v)))
                    .map_err(|_| bad(format!("strconv.ParseUint: parsing {n:?}: invalid syntax"))),
            }
        };
        let (major, minor) = numbers.split_once(':').unwrap_or((numbers, "*"));
        Ok(DeviceCgroupRule(berth_runtime::spec::DeviceRule {
            allow: true,
            kind: Some(kind.to_string()),
            major: number(major)?,
            minor: number(minor)?,
            access: Some(access.to_string()),
        }))
    }
}

impl std::fmt::Display for DeviceCgroupRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0;
        let n = |v: Option<i64>| v.map_or("*".to_string(), |v| v.to_string());
        write!(
            f,
            "{} {}:{} {}",
            r.kind.as_deref().unwrap_or("a"),
            n(r.major),
            n(r.minor),
            r.access.as_deref().unwrap_or("rwm")
        )
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`: the node to make in the
/// container and the device-cgroup rule that lets it be used.
/// `--privileged`: every device node of the host's /dev (not its pseudo
/// terminals, shared memory or message queues, which the container has its
/// own of), as podman gives a privileged container.
pub fn host_devices() -> Vec<berth_runtime::spec::Device> {
    fn walk(dir: &std::path::Path, out: &mut Vec<berth_runtime::spec::Device>, depth: u32) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            // A link (/dev/stdin → /proc/self/fd/0, /dev/fd …) is no device
            // node of its own: followed, it names whatever this process holds.
            if ft.is_symlink() {
                continue;
            }
            if ft.is_dir() {
                let skip = [
                    "/dev/pts",
                    "/dev/shm",
                    "/dev/mqueue",
                    "/dev/.lxc",
                    "/dev/hugepages",
                ];
                if depth < 3 && !skip.iter().any(|s| path == std::path::Path::new(s)) {
                    walk(&path, out, depth + 1);
                }
                continue;
            }
            let Some(p) = path.to_str() else { continue };
            // Character and block devices only; /dev/console and the
            // terminal multiplexer are the container's own.
            if p == "/dev/console" || p == "/dev/ptmx" || p == "/dev/tty" {
                continue;
            }
            if let Ok((node, _)) = device(p) {
                out.push(node);
            }
        }
    }
    let mut out = Vec::new();
    walk(std::path::Path::new("/dev"), &mut out, 0);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A `--device HOST[:CONTAINER][:PERMISSIONS]` taken apart: host path,
/// path inside, cgroup permissions (rwm when not given).
pub fn device_parts(spec: &str) -> Result<(&str, &str, &str), SecurityError> {
    let parts: Vec<&str> = spec.split(':').collect();
    Ok(match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if p.chars().all(|c| "rwm".contains(c)) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(SecurityError::InvalidDevice(spec.to_string())),
    })
}

pub fn device(
    spec: &str,
) -> Result<(berth_runtime::spec::Device, berth_runtime::spec::DeviceRule), SecurityError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let (host, inside, perms) = device_parts(spec)?;
    if perms.is_empty() || !perms.chars().all(|c| "rwm".contains(c)) || !inside.starts_with('/') {
        return Err(SecurityError::DevicePermissions(spec.to_string()));
    }
    let md = std::fs::metadata(host).map_err(|source| SecurityError::DeviceHost {
        spec: spec.to_string(),
        host: host.to_string(),
        source,
    })?;
    let kind = if md.file_type().is_char_device() {
        "c"
    } else if md.file_type().is_block_device() {
        "b"
    } else {
        return Err(SecurityError::NotADevice {
            spec: spec.to_string(),
            host: host.to_string(),
        });
    };
    let dev = md.rdev();
    let major = (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as i64;
    let minor = ((dev & 0xff) | ((dev >> 12) & !0xff)) as i64;
    Ok((
        berth_runtime::spec::Device {
            kind: kind.into(),
            path: inside.into(),
            major,
            minor,
            file_mode: Some(md.mode() & 0o777),
            uid: Some(0),
            gid: Some(0),
        },
        berth_runtime::spec::DeviceRule {
            allow: true,
            kind: Some(kind.into()),
            major: Some(major),
            minor: Some(minor),
            access: Some(perms.into()),
        },
    ))
}

/// `--ulimit NAME=SOFT[:HARD]`.
pub fn ulimit(s: &str) -> Result<Rlimit, SecurityError> {
    let bad = || SecurityError::InvalidUlimit(s.to_string());
    let (name, vals) = s.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    let num = |v: &str| -> Result<u64, SecurityError> {
        if v == "-1" || v == "unlimited" {
            Ok(u64::MAX)
        } else {
            v.parse().map_err(|_| bad())
        }
    };
    let known = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
        "as",
    ];
    if !known.contains(&name) {
        return Err(SecurityError::UnknownUlimit {
            spec: s.to_string(),
            name: name.to_string(),
        });
    }
    let (soft, hard) = (num(soft)?, num(hard)?);
    if soft > hard {
        return Err(SecurityError::SoftAboveHard(s.to_string()));
    }
    Ok(Rlimit {
        kind: format!("RLIMIT_{}", name.to_ascii_uppercase()),
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_profiles_keep_only_the_rules_for_this_container() {
        let p = serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "archMap": [{"architecture": host_architectures()[0], "subArchitectures": ["X"]},
                        {"architecture": "SCMP_ARCH_OTHER", "subArchitectures": []}],
            "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["odd"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["nowhere"]}},
                {"names": ["new"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
            ],
        });
        let names = |s: &Seccomp| -> Vec<String> {
            s.syscalls.iter().flat_map(|r| r.names.clone()).collect()
        };
        let plain = profile_for(&p, &["CAP_CHOWN".into()]).unwrap();
        assert_eq!(names(&plain), ["read", "clone"]);
        assert_eq!(
            plain.architectures,
            [host_architectures()[0].clone(), "X".into()]
        );
        let admin = profile_for(&p, &["CAP_SYS_ADMIN".into()]).unwrap();
        assert_eq!(names(&admin), ["read", "mount"]);
    }

    #[test]
    fn added_capabilities_take_their_calls_off_the_deny_list() {
        let denied = |s: &Seccomp, call: &str| s.syscalls[0].names.iter().any(|n| n == call);
        let none = seccomp_for(&[]);
        assert!(denied(&none, "mount") && denied(&none, "settimeofday"));
        let admin = seccomp_for(&["CAP_SYS_ADMIN".into()]);
        assert!(!denied(&admin, "mount") && !denied(&admin, "unshare"));
        assert!(denied(&admin, "settimeofday"), "only SYS_ADMIN's calls");
        assert!(!admin.syscalls.iter().any(|r| r.names == ["clone"]));
        let time = seccomp_for(&["sys_time".into()]);
        assert!(!denied(&time, "clock_settime") && denied(&time, "mount"));
        let all = seccomp_for(&["ALL".into()]);
        assert!(!denied(&all, "init_module") && denied(&all, "keyctl"));
    }

    #[test]
    fn sizes_limits_and_options() {
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert!(parse_bytes("lots").is_err());
        for hostile in ["inf", "nan", "-1", "1e30g"] {
            assert!(parse_bytes(hostile).is_err(), "{hostile}");
        }
        let r = resources(Some("64m".parse().unwrap()), Some(0.5), Some(100))
            .unwrap()
            .unwrap();
        assert_eq!(r.cpu.unwrap().quota, Some(50_000));
        assert_eq!(
            "1k".parse::<MemoryLimit>().unwrap_err().to_string(),
            "--memory 1k: the minimum is 6MB"
        );
        assert_eq!("0".parse::<MemoryLimit>().unwrap(), MemoryLimit(0));
        let u = ulimit("nofile=1024:2048").unwrap();
        assert_eq!(
            (u.kind.as_str(), u.soft, u.hard),
            ("RLIMIT_NOFILE", 1024, 2048)
        );
        assert!(ulimit("nofile=9:1").is_err());
        assert!(ulimit("bogus=1").is_err());
        let (s, nnp) = security_opts(&["no-new-privileges".into()], false, &[], &[]).unwrap();
        assert!(s.is_some() && nnp);
        let (s, _) = security_opts(&["seccomp=unconfined".into()], false, &[], &[]).unwrap();
        assert!(s.is_none());
        assert!(security_opts(&["bogus".into()], false, &[], &[]).is_err());
        assert!(
            security_opts(&[], true, &[], &[]).unwrap().0.is_none(),
            "privileged: no filter"
        );
    }
}
