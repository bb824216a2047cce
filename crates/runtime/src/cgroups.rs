//! cgroups v1, v2 and the hybrid of both: where the container's cgroup lives, joining
//! it, writing its limits, freezing, listing and removing it.
//!
//! The layout is read from /proc/self/mountinfo rather than assumed: a hybrid host
//! (v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified, as on this
//! project's machines) gets a directory in every hierarchy, each controller's limits
//! going to the hierarchy that holds it.

use crate::error::{Context, Error, Result};
use crate::spec::{Resources, Spec};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// One mounted hierarchy: v1 with its controllers (`cpu,cpuacct`), or the v2 one.
#[derive(Debug, Clone)]
struct Hierarchy {
    mount: PathBuf,
    /// The mount's root inside the hierarchy (`/` unless the host is itself nested).
    root: String,
    controllers: Vec<String>,
    v2: bool,
}

/// The container's cgroup: one directory per hierarchy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cgroup {
    pub dirs: Vec<CgroupDir>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CgroupDir {
    /// `cpu,cpuacct`, `memory`, ... for v1; empty for the v2 hierarchy.
    pub controllers: String,
    pub path: PathBuf,
    pub v2: bool,
}

fn hierarchies() -> Result<Vec<Hierarchy>> {
    let info = fs::read_to_string("/proc/self/mountinfo").ctx("read /proc/self/mountinfo")?;
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        let (fstype, _source, superopts) = (r.next(), r.next(), r.next().unwrap_or(""));
        let l: Vec<&str> = left.split(' ').collect();
        if l.len() < 5 {
            continue;
        }
        let (root, mount) = (unescape(l[3]), PathBuf::from(unescape(l[4])));
        let h = match fstype {
            Some("cgroup2") => {
                let controllers =
                    fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
                Hierarchy {
                    mount,
                    root,
                    controllers: words(&controllers),
                    v2: true,
                }
            }
            Some("cgroup") => {
                let controllers = superopts
                    .split(',')
                    .filter(|o| {
                        !matches!(
                            *o,
                            "rw" | "ro" | "relatime" | "noatime" | "nosuid" | "nodev" | "noexec"
                        )
                    })
                    .filter(|o| {
                        !o.starts_with("release_agent") && *o != "clone_children" && *o != "xattr"
                    })
                    .map(str::to_string)
                    .collect();
                Hierarchy {
                    mount,
                    root,
                    controllers,
                    v2: false,
                }
            }
            _ => continue,
        };
        // The same hierarchy can be mounted twice (bind mounts); keep the first.
        if !out
            .iter()
            .any(|o| o.v2 == h.v2 && o.controllers == h.controllers)
        {
            out.push(h);
        }
    }
    Ok(out)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8)
        {
            out.push(v as char);
            i += 4;
            continue;
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// The caller's own cgroup path in a hierarchy, from /proc/self/cgroup.
fn own_path(h: &Hierarchy) -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_id, ctrls, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("/"),
        );
        let matches = if h.v2 {
            ctrls.is_empty()
        } else {
            let mut a: Vec<&str> = ctrls.split(',').collect();
            let mut b: Vec<&str> = h.controllers.iter().map(String::as_str).collect();
            a.sort();
            b.sort();
            a == b
        };
        if matches {
            return path.to_string();
        }
    }
    "/".to_string()
}

/// Turns systemd's `slice:prefix:name` form into a cgroupfs path, for hosts (like
/// this project's) where `--systemd-cgroup` is passed but no systemd runs.
pub fn systemd_path(spec_path: &str) -> Option<String> {
    let mut parts = spec_path.splitn(3, ':');
    let (slice, prefix, name) = (parts.next()?, parts.next()?, parts.next()?);
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    // `a-b.slice` lives under `a.slice`.
    let stem = slice.strip_suffix(".slice")?;
    let mut path = String::new();
    let mut acc = String::new();
    for (i, part) in stem.split('-').enumerate() {
        if i > 0 {
            acc.push('-');
        }
        acc.push_str(part);
        path.push('/');
        path.push_str(&acc);
        path.push_str(".slice");
    }
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    };
    Some(format!("{path}/{unit}"))
}

/// Where the container's cgroup goes: an absolute cgroupsPath from each hierarchy's
/// root, a relative one under the caller's own cgroup, none under `/berth-oci/ID`.
pub fn resolve(spec: &Spec, id: &str, systemd: bool) -> Result<Cgroup> {
    // Rootless with no cgroupsPath asked for: no cgroup at all, as runc's rootless
    // mode has it where the user was delegated none (cgroup v1).
    if spec.linux().cgroups_path.is_none() && crate::userns::rootless_uid().is_some() {
        return Ok(Cgroup { dirs: Vec::new() });
    }
    let requested = spec.linux().cgroups_path.clone().unwrap_or_default();
    let requested = if systemd && requested.contains(':') {
        systemd_path(&requested)
            .ok_or_else(|| Error(format!("cgroupsPath {requested:?}: not slice:prefix:name")))?
    } else if requested.is_empty() {
        format!("/berth-oci/{id}")
    } else {
        requested
    };
    place(&requested)
}

/// The cgroup at an absolute path in every hierarchy: a pod's, which its
/// containers' cgroups nest under.
pub fn at(path: &str) -> Result<Cgroup> {
    if !path.starts_with('/') {
        bail!("cgroup {path:?}: not an absolute path");
    }
    place(path)
}

/// `requested` in each hierarchy: absolute from its root, else under this
/// process's own cgroup.
fn place(requested: &str) -> Result<Cgroup> {
    if requested.split('/').any(|c| c == "..") {
        bail!("cgroupsPath {requested:?}: must not hold \"..\"");
    }
    let mut dirs = Vec::new();
    for h in hierarchies()? {
        if !h.v2
            && h.controllers
                .iter()
                .all(|c| c.starts_with("name=") && c != "name=systemd")
        {
            continue;
        }
        let inner = if requested.starts_with('/') {
            requested.to_string()
        } else {
            format!("{}/{}", own_path(&h).trim_end_matches('/'), requested)
        };
        // Paths in /proc/self/cgroup are relative to the hierarchy's true root; the
        // mount may show only a subtree of it.
        let rel = inner
            .strip_prefix(h.root.trim_end_matches('/'))
            .unwrap_or(&inner);
        let path = h.mount.join(rel.trim_start_matches('/'));
        dirs.push(CgroupDir {
            controllers: h.controllers.join(","),
            path,
            v2: h.v2,
        });
    }
    Ok(Cgroup { dirs })
}

fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    fs::write(dir.join(file), value)
        .with(|| format!("write {value:?} to {}", dir.join(file).display()))
}

impl CgroupDir {
    fn has(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

impl Cgroup {
    fn v1(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| !d.v2 && d.has(controller))
            .map(|d| d.path.as_path())
    }

    fn v2_dir(&self) -> Option<&CgroupDir> {
        self.dirs.iter().find(|d| d.v2)
    }

    /// Whether the v2 hierarchy is the only one (a pure v2 host).
    pub fn is_unified(&self) -> bool {
        self.dirs.len() == 1 && self.dirs[0].v2
    }

    /// Makes every directory (a cpuset one ready to take processes).
    pub fn create(&self) -> Result<()> {
        for d in &self.dirs {
            if d.v2 {
                create_v2(&d.path)?;
            } else {
                fs::create_dir_all(&d.path)
                    .with(|| format!("create cgroup {}", d.path.display()))?;
                if d.has("cpuset") {
                    init_cpuset(&d.path)?;
                }
            }
        }
        Ok(())
    }

    /// Makes every directory and puts `pid` in each.
    pub fn create_and_join(&self, pid: i32) -> Result<()> {
        self.create()?;
        for d in &self.dirs {
            write(&d.path, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// The v2 directory opened for a child to be born in (CLONE_INTO_CGROUP).
    pub fn open_v2(&self) -> Option<std::os::fd::OwnedFd> {
        let d = self.v2_dir()?;
        let c = crate::sys::cstr(&d.path.to_string_lossy()).ok()?;
        crate::sys::openat(
            libc::AT_FDCWD,
            &c,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )
        .ok()
    }

    /// Moves the caller, a process just forked and still single-threaded, into
    /// every directory (made already). In a v1 hierarchy `0` goes to `tasks`:
    /// moving only the calling thread spares the kernel its global threadgroup
    /// lock, which a write to `cgroup.procs` takes and whose release waits out an
    /// RCU grace period (7–15 ms a container here). v2 has no such way for a
    /// process: `in_v2` says it was born there (CLONE_INTO_CGROUP), else it is
    /// moved through `cgroup.procs`.
    pub fn join_self(&self, in_v2: bool) -> Result<()> {
        for d in &self.dirs {
            match (d.v2, in_v2) {
                (false, _) => write(&d.path, "tasks", "0")?,
                (true, false) => write(&d.path, "cgroup.procs", "0")?,
                (true, true) => {}
            }
        }
        Ok(())
    }

    /// The directories still there, which an exec'd process joins.
    pub fn existing(&self) -> Cgroup {
        Cgroup {
            dirs: self
                .dirs
                .iter()
                .filter(|d| d.path.exists())
                .cloned()
                .collect(),
        }
    }

    /// Writes every limit the spec sets.
    pub fn apply(&self, r: &Resources) -> Result<()> {
        if let Some(dir) = self.v1("memory") {
            v1_memory(dir, r)?;
        }
        if let Some(dir) = self.v1("cpu") {
            v1_cpu(dir, r)?;
        }
        if let Some(dir) = self.v1("cpuset")
            && let Some(cpu) = &r.cpu
        {
            if let Some(c) = &cpu.cpus {
                write(dir, "cpuset.cpus", c)?;
            }
            if let Some(m) = &cpu.mems {
                write(dir, "cpuset.mems", m)?;
            }
        }
        if let Some(dir) = self.v1("pids")
            && let Some(p) = &r.pids
        {
            write(dir, "pids.max", &limit_or_max(p.limit))?;
        }
        if let Some(dir) = self.v1("blkio") {
            v1_blkio(dir, r)?;
        }
        if let Some(dir) = self.v1("devices") {
            v1_devices(dir, r)?;
        }
        if let Some(dir) = self.v1("net_cls")
            && let Some(id) = r.network.as_ref().and_then(|n| n.class_id)
        {
            write(dir, "net_cls.classid", &id.to_string())?;
        }
        if let Some(dir) = self.v1("net_prio")
            && let Some(n) = &r.network
        {
            for p in &n.priorities {
                write(
                    dir,
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name, p.priority),
                )?;
            }
        }
        if let Some(dir) = self.v1("hugetlb") {
            for h in &r.hugepage_limits {
                write(
                    dir,
                    &format!("hugetlb.{}.limit_in_bytes", h.page_size),
                    &h.limit.to_string(),
                )?;
            }
        }
        if let Some(d) = self.v2_dir() {
            v2_apply(&d.path, r, self.is_unified())?;
            // v2 has no device files: its rules are a BPF program (on hybrid hosts
            // the v1 devices controller above already enforces them).
            if self.is_unified() && !r.devices.is_empty() {
                crate::devices_bpf::attach(&d.path, &with_default_devices(&r.devices))?;
            }
        }
        Ok(())
    }

    /// Every process in the container's cgroup.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let dir = self
            .v1("freezer")
            .or_else(|| self.v1("pids"))
            .or_else(|| self.v2_dir().map(|d| d.path.as_path()))
            .or_else(|| self.dirs.first().map(|d| d.path.as_path()))
            .ok_or("the container has no cgroup")?;
        let text = fs::read_to_string(dir.join("cgroup.procs"))
            .with(|| format!("read {}/cgroup.procs", dir.display()))?;
        Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
    }

    /// Freezes (`true`) or thaws the cgroup and waits until the kernel says so.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        if let Some(dir) = self.v1("freezer") {
            let want = if frozen { "FROZEN" } else { "THAWED" };
            for _ in 0..1000 {
                write(dir, "freezer.state", want)?;
                let now = fs::read_to_string(dir.join("freezer.state")).unwrap_or_default();
                if now.trim() == want {
                    return Ok(());
                }
                std::thread::yield_now();
            }
            bail!("{}: did not reach {want}", dir.display());
        }
        let d = self
            .v2_dir()
            .filter(|d| d.path.join("cgroup.freeze").exists())
            .ok_or("no freezer cgroup for the container")?;
        write(&d.path, "cgroup.freeze", if frozen { "1" } else { "0" })?;
        let want = if frozen { "frozen 1" } else { "frozen 0" };
        for _ in 0..1000 {
            let ev = fs::read_to_string(d.path.join("cgroup.events")).unwrap_or_default();
            if ev.lines().any(|l| l == want) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        bail!("{}: did not reach {want}", d.path.display())
    }

    pub fn is_frozen(&self) -> bool {
        if let Some(dir) = self.v1("freezer") {
            return fs::read_to_string(dir.join("freezer.state"))
                .is_ok_and(|s| s.trim() == "FROZEN");
        }
        self.v2_dir().is_some_and(|d| {
            fs::read_to_string(d.path.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
        })
    }

    /// Removes the directories; a frozen cgroup is thawed first so its processes can die.
    pub fn remove(&self) -> Result<()> {
        if self.is_frozen() {
            let _ = self.freeze(false);
        }
        for d in &self.dirs {
            remove_dir(&d.path)?;
        }
        Ok(())
    }
}

fn remove_dir(path: &Path) -> Result<()> {
    // Children first (a container may have made its own sub-cgroups).
    if let Ok(entries) = fs::read_dir(path) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_dir(&e.path())?;
            }
        }
    }
    for attempt in 0..200 {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            // EBUSY: the last processes are still exiting.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 199 => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => return Err(e).with(|| format!("remove cgroup {}", path.display())),
        }
    }
    Ok(())
}

fn limit_or_max(v: i64) -> String {
    if v <= 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// v1 cpuset cgroups start empty; a process cannot join until cpus and mems are set,
/// so copy them down from the nearest parent that has them.
fn init_cpuset(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let cur = fs::read_to_string(dir.join(file)).unwrap_or_default();
        if !cur.trim().is_empty() {
            continue;
        }
        if let Some(parent) = dir.parent() {
            init_cpuset(parent)?;
            let v = fs::read_to_string(parent.join(file)).unwrap_or_default();
            write(dir, file, v.trim())?;
        }
    }
    Ok(())
}

/// Makes a v2 cgroup with the controllers it needs enabled on the way down.
fn create_v2(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mount = mount_root(path);
    let rel = path.strip_prefix(&mount).unwrap_or(path);
    let mut cur = mount.clone();
    for comp in rel.components() {
        let avail = fs::read_to_string(cur.join("cgroup.controllers")).unwrap_or_default();
        let on = fs::read_to_string(cur.join("cgroup.subtree_control")).unwrap_or_default();
        let missing: Vec<String> = avail
            .split_whitespace()
            .filter(|c| !on.split_whitespace().any(|o| o == *c))
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            // Best effort: a populated parent refuses (EBUSY); the child still works
            // without those controllers, as with runc.
            let _ = fs::write(cur.join("cgroup.subtree_control"), missing.join(" "));
        }
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with(|| format!("create cgroup {}", cur.display())),
        }
    }
    Ok(())
}

fn mount_root(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    while !p.exists() && p.pop() {}
    while let Some(parent) = p.parent() {
        if !parent.join("cgroup.controllers").exists() {
            break;
        }
        p = parent.to_path_buf();
    }
    p
}

fn v1_memory(dir: &Path, r: &Resources) -> Result<()> {
    let Some(m) = &r.memory else { return Ok(()) };
    if let Some(v) = m.reservation {
        write(dir, "memory.soft_limit_in_bytes", &v.to_string())?;
    }
    // The swap limit (memsw) must never be below the memory limit, so the order of
    // the two writes depends on whether the limits grow or shrink.
    let cur_mem = fs::read_to_string(dir.join("memory.limit_in_bytes"))
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    let memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    let raise_first = m
        .limit
        .is_some_and(|l| l == -1 || cur_mem.is_some_and(|c| l > c));
    let write_swap = |_: ()| -> Result<()> {
        if let Some(s) = m.swap
            && memsw
        {
            write(dir, "memory.memsw.limit_in_bytes", &s.to_string())?;
        }
        Ok(())
    };
    if raise_first {
        write_swap(())?;
    }
    if let Some(l) = m.limit {
        write(dir, "memory.limit_in_bytes", &l.to_string())?;
    }
    if !raise_first {
        write_swap(())?;
    }
    if let Some(k) = m.kernel
        && dir.join("memory.kmem.limit_in_bytes").exists()
    {
        let _ = fs::write(dir.join("memory.kmem.limit_in_bytes"), k.to_string());
    }
    if let Some(k) = m.kernel_tcp {
        write(dir, "memory.kmem.tcp.limit_in_bytes", &k.to_string())?;
    }
    if let Some(s) = m.swappiness
        && s <= 100
    {
        write(dir, "memory.swappiness", &s.to_string())?;
    }
    if m.disable_oom_killer == Some(true) {
        write(dir, "memory.oom_control", "1")?;
    }
    Ok(())
}

fn v1_cpu(dir: &Path, r: &Resources) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    if let Some(s) = c.shares.filter(|s| *s > 0) {
        write(dir, "cpu.shares", &s.to_string())?;
    }
    if let Some(p) = c.period.filter(|p| *p > 0) {
        write(dir, "cpu.cfs_period_us", &p.to_string())?;
    }
    if let Some(q) = c.quota.filter(|q| *q != 0) {
        write(dir, "cpu.cfs_quota_us", &q.to_string())?;
    }
    if let Some(b) = c.burst {
        write(dir, "cpu.cfs_burst_us", &b.to_string())?;
    }
    if let Some(p) = c.realtime_period.filter(|p| *p > 0) {
        write(dir, "cpu.rt_period_us", &p.to_string())?;
    }
    if let Some(rt) = c.realtime_runtime.filter(|r| *r != 0) {
        write(dir, "cpu.rt_runtime_us", &rt.to_string())?;
    }
    if let Some(i) = c.idle {
        write(dir, "cpu.idle", &i.to_string())?;
    }
    Ok(())
}

fn v1_blkio(dir: &Path, r: &Resources) -> Result<()> {
    let Some(b) = &r.block_io else { return Ok(()) };
    // Kernels with the BFQ scheduler name the weight files bfq.*; CFQ's are gone.
    let weight_file = if dir.join("blkio.weight").exists() {
        "blkio.weight"
    } else {
        "blkio.bfq.weight"
    };
    if let Some(w) = b.weight {
        write(dir, weight_file, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight {
        write(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            write(
                dir,
                "blkio.weight_device",
                &format!("{}:{} {w}", d.major, d.minor),
            )?;
        }
        if let Some(w) = d.leaf_weight {
            write(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", d.major, d.minor),
            )?;
        }
    }
    let throttles = [
        (
            "blkio.throttle.read_bps_device",
            &b.throttle_read_bps_device,
        ),
        (
            "blkio.throttle.write_bps_device",
            &b.throttle_write_bps_device,
        ),
        (
            "blkio.throttle.read_iops_device",
            &b.throttle_read_iops_device,
        ),
        (
            "blkio.throttle.write_iops_device",
            &b.throttle_write_iops_device,
        ),
    ];
    for (file, devs) in throttles {
        for d in devs {
            write(dir, file, &format!("{}:{} {}", d.major, d.minor, d.rate))?;
        }
    }
    Ok(())
}

/// Devices every container gets, whatever the rules say (runc's list).
const DEFAULT_ALLOWED: [&str; 9] = [
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 1:8 rwm",
    "c 1:9 rwm",
    "c 5:0 rwm",
    "c 5:1 rwm",
    "c 5:2 rwm",
    "c 136:* rwm",
];

/// The spec's rules followed by the devices every container may use.
pub fn with_default_devices(rules: &[crate::spec::DeviceRule]) -> Vec<crate::spec::DeviceRule> {
    let mut out = rules.to_vec();
    for d in DEFAULT_ALLOWED {
        let mut parts = d.split(' ');
        let (kind, nums, access) = (parts.next(), parts.next().unwrap_or(""), parts.next());
        let (maj, min) = nums.split_once(':').unwrap_or(("*", "*"));
        out.push(crate::spec::DeviceRule {
            allow: true,
            kind: kind.map(String::from),
            major: maj.parse().ok(),
            minor: min.parse().ok(),
            access: access.map(String::from),
        });
    }
    out
}

fn v1_devices(dir: &Path, r: &Resources) -> Result<()> {
    // A child cannot allow more than its parent; skip when we are not the host's root
    // (inside a user namespace the files are not writable).
    if fs::metadata(dir.join("devices.deny")).is_err() {
        return Ok(());
    }
    write(dir, "devices.deny", "a")?;
    for rule in &r.devices {
        let kind = rule.kind.as_deref().unwrap_or("a");
        // FIFOs are not devices to the cgroup; it only knows a, b and c.
        if !matches!(kind, "a" | "b" | "c") {
            continue;
        }
        let num = |v: Option<i64>| {
            v.filter(|v| *v >= 0)
                .map_or("*".to_string(), |v| v.to_string())
        };
        let access = rule.access.as_deref().unwrap_or("rwm");
        let line = if kind == "a" {
            "a".to_string()
        } else {
            format!("{kind} {}:{} {access}", num(rule.major), num(rule.minor))
        };
        write(
            dir,
            if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            },
            &line,
        )?;
    }
    for d in DEFAULT_ALLOWED {
        write(dir, "devices.allow", d)?;
    }
    Ok(())
}

fn v2_apply(dir: &Path, r: &Resources, unified: bool) -> Result<()> {
    if unified {
        if let Some(m) = &r.memory {
            if let Some(l) = m.limit {
                write(dir, "memory.max", &limit_or_max(l))?;
            }
            if let Some(l) = m.reservation {
                write(dir, "memory.low", &l.to_string())?;
            }
            if let Some(s) = m.swap {
                // v1's swap limit counts memory plus swap; v2's counts swap alone.
                let v = match m.limit {
                    _ if s < 0 => "max".to_string(),
                    Some(l) if l > 0 => (s - l).max(0).to_string(),
                    _ => s.to_string(),
                };
                write(dir, "memory.swap.max", &v)?;
            }
        }
        if let Some(c) = &r.cpu {
            if let Some(s) = c.shares.filter(|s| *s > 0) {
                let weight = 1 + ((s.clamp(2, 262_144) - 2) * 9999) / 262_142;
                write(dir, "cpu.weight", &weight.to_string())?;
            }
            if c.quota.is_some() || c.period.is_some() {
                let quota = c
                    .quota
                    .filter(|q| *q > 0)
                    .map_or("max".to_string(), |q| q.to_string());
                let period = c.period.filter(|p| *p > 0).unwrap_or(100_000);
                write(dir, "cpu.max", &format!("{quota} {period}"))?;
            }
            if let Some(c) = &c.cpus {
                write(dir, "cpuset.cpus", c)?;
            }
            if let Some(m) = &c.mems {
                write(dir, "cpuset.mems", m)?;
            }
        }
        if let Some(p) = &r.pids {
            write(dir, "pids.max", &limit_or_max(p.limit))?;
        }
        if let Some(b) = &r.block_io {
            if let Some(w) = b.weight {
                // blkio weight 10..1000 maps onto io.weight 1..10000.
                let v = 1 + (u32::from(w).saturating_sub(10)) * 9999 / 990;
                write(dir, "io.weight", &v.to_string())?;
            }
            let io_max = [
                ("rbps", &b.throttle_read_bps_device),
                ("wbps", &b.throttle_write_bps_device),
                ("riops", &b.throttle_read_iops_device),
                ("wiops", &b.throttle_write_iops_device),
            ];
            for (key, devs) in io_max {
                for d in devs {
                    write(
                        dir,
                        "io.max",
                        &format!("{}:{} {key}={}", d.major, d.minor, d.rate),
                    )?;
                }
            }
        }
    }
    // On a hybrid host hugetlb may live on the v2 side (this project's machines).
    for h in &r.hugepage_limits {
        let file = format!("hugetlb.{}.max", h.page_size);
        if dir.join(&file).exists() {
            write(dir, &file, &h.limit.to_string())?;
        }
    }
    for (k, v) in &r.unified {
        if k.contains('/') || k.starts_with('.') {
            bail!("unified key {k:?}: not a cgroup file name");
        }
        write(dir, k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_slices_nest_by_dash() {
        assert_eq!(
            systemd_path("machine.slice:libpod:abc").unwrap(),
            "/machine.slice/libpod-abc.scope"
        );
        assert_eq!(
            systemd_path("a-b.slice:p:n").unwrap(),
            "/a.slice/a-b.slice/p-n.scope"
        );
        assert!(systemd_path("nocolon").is_none());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
