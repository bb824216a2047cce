//! `create` and `run`: one fork makes the container's init, which sets up its
//! namespaces and filesystem itself while the runtime places it in its cgroup,
//! writes its ID maps and runs the runtime-side hooks.
//!
//! The two talk over a SOCK_SEQPACKET pair, one byte a message:
//!   runtime → init: `G` go (maps and cgroup done), `C` continue (hooks done), `S` start (run only)
//!   init → runtime: `H` run createRuntime/prestart hooks now, `R` ready, `E…` error text
//! With `create`, the ready init then waits for `start` on the exec FIFO: it holds the
//! read end, and `start` writes one byte into it.

use crate::cgroups::{self, Cgroup};
use crate::error::{Context, Error, Result};
use crate::hooks;
use crate::idmap::map_text;
use crate::process::{self, Filter};
use crate::rootfs::{self, MountContext, Rootfs};
use crate::spec::{Process, Spec};
use crate::state::{self, State, Status};
use crate::sys::{self, cstr};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

pub struct Runtime {
    pub root: PathBuf,
    pub systemd_cgroup: bool,
}

#[derive(Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// The fds to pass on, when the caller proved them inherited itself (it
    /// opened files of its own since it started); else `preserve_fds` counts
    /// from 3 among this process's fds.
    pub preserved: Option<Vec<i32>>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Run { detach: bool },
}

const NS_FLAGS: &[(&str, i32)] = &[
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("network", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
    ("mount", libc::CLONE_NEWNS),
];

pub fn ns_flag(kind: &str) -> Option<i32> {
    NS_FLAGS.iter().find(|(k, _)| *k == kind).map(|(_, f)| *f)
}

/// `/proc/PID/ns/` name of a namespace flag.
fn ns_kind(flag: i32) -> &'static str {
    let kind = NS_FLAGS
        .iter()
        .find(|(_, f)| *f == flag)
        .map_or("", |(k, _)| *k);
    ns_file(kind)
}

/// `/proc/PID/ns/` name of a namespace type.
pub fn ns_file(kind: &str) -> &str {
    match kind {
        "network" => "net",
        "mount" => "mnt",
        other => other,
    }
}

pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).with(|| format!("read {}", path.display()))?;
    let spec: Spec =
        serde_json::from_slice(&text).map_err(|e| Error(format!("{}: {e}", path.display())))?;
    validate(&spec)?;
    Ok(spec)
}

fn validate(spec: &Spec) -> Result<()> {
    check_oci_version(&spec.oci_version)?;
    let p = spec.process.as_ref().ok_or("config.json has no process")?;
    process::validate(p)?;
    let root = spec.root.as_ref().ok_or("config.json has no root")?;
    if root.path.is_empty() {
        bail!("root.path is empty");
    }
    for ns in &spec.linux().namespaces {
        if ns_flag(&ns.kind).is_none() {
            bail!("namespace type {:?}: unknown", ns.kind);
        }
    }
    if spec.hostname.as_deref().is_some_and(|h| !h.is_empty()) && spec.namespace("uts").is_none() {
        bail!("hostname is set but the container has no UTS namespace of its own");
    }
    for m in &spec.mounts {
        if !m.destination.starts_with('/') {
            bail!(
                "mount destination {:?} must be an absolute path",
                m.destination
            );
        }
    }
    Ok(())
}

/// ociVersion must be a 1.x semantic version; anything else is refused up front.
fn check_oci_version(v: &str) -> Result<()> {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if !numeric || parts[0] != "1" {
        bail!("ociVersion {v:?}: not a supported runtime spec version (1.x.y)");
    }
    Ok(())
}

/// Everything the init needs, decided before the fork.
struct Plan {
    spec: Spec,
    process: Process,
    rootfs: String,
    cgroup: Cgroup,
    filter: Option<Filter>,
    fifo: Option<OwnedFd>,
    clone_flags: i32,
    unshare_flags: i32,
    joins: Vec<(i32, OwnedFd)>,
    /// With a user namespace of its own: the other namespaces it joins, which
    /// the runtime joins before the fork (the child, inside its new user
    /// namespace, has no privilege over namespaces the host's owns; it inherits
    /// them instead, as runc's joins come before its unshare).
    parent_joins: Vec<(i32, OwnedFd)>,
    new_userns: bool,
    idmap: Vec<Option<OwnedFd>>,
    preserved: Vec<i32>,
    /// The init moves itself into its cgroups (see `Cgroup::join_self`); not in
    /// a user namespace of its own, whose root may not write the host's files.
    self_join: bool,
}

pub fn create(rt: &Runtime, opts: &CreateOptions, mode: Mode) -> Result<i32> {
    // Which of fds 3.. the caller handed over, seen before this process opens any
    // of its own (those must never be preserved into the container).
    let preserved = opts
        .preserved
        .clone()
        .unwrap_or_else(|| process::inherited_fds(opts.preserve_fds));
    state::valid_id(&opts.id)?;
    let bundle =
        std::fs::canonicalize(&opts.bundle).with(|| format!("bundle {}", opts.bundle.display()))?;
    let spec = load_spec(&bundle)?;
    // Relative paths in the spec (root.path, bind sources) are relative to the bundle.
    std::env::set_current_dir(&bundle).with(|| format!("chdir to bundle {}", bundle.display()))?;
    let rootfs = std::fs::canonicalize(&spec.root.as_ref().expect("validated").path)
        .with(|| format!("rootfs {}", spec.root.as_ref().expect("validated").path))?;
    if spec.process.as_ref().is_some_and(|p| p.terminal) && opts.console_socket.is_none() {
        bail!("process.terminal is true but no --console-socket was given");
    }
    std::fs::create_dir_all(&rt.root)
        .with(|| format!("create state directory {}", rt.root.display()))?;
    let dir = state::dir(&rt.root, &opts.id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("container {} already exists", opts.id)
        }
        Err(e) => return Err(e).with(|| format!("create {}", dir.display())),
    }
    let result = create_in(
        rt,
        opts,
        mode,
        spec,
        &bundle,
        &rootfs.to_string_lossy(),
        &dir,
        &preserved,
    );
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn create_in(
    rt: &Runtime,
    opts: &CreateOptions,
    mode: Mode,
    spec: Spec,
    bundle: &Path,
    rootfs: &str,
    dir: &Path,
    preserved: &[i32],
) -> Result<i32> {
    let cgroup = cgroups::resolve(&spec, &opts.id, rt.systemd_cgroup)?;
    let fifo = if mode == Mode::Create {
        Some(make_fifo(dir)?)
    } else {
        None
    };
    let mut plan = plan(spec, rootfs.to_string(), cgroup, fifo)?;
    plan.preserved = preserved.to_vec();
    let (parent_sock, child_sock) = sys::seqpacket_pair().ctx("socketpair")?;
    let (parent_ns, pid, in_v2) = match fork_into_cgroup(&plan) {
        Ok(forked) => forked,
        Err(e) => {
            let _ = plan.cgroup.remove();
            return Err(e);
        }
    };
    // This process (a caller of the library, not only berth-oci) goes on with
    // its own pid and time namespaces for its children: a thread started after
    // a setns(CLONE_NEWPID) would fail with EINVAL.
    if !matches!(pid, Ok(0))
        && let Err(e) = parent_ns.restore()
    {
        if let Ok(child) = pid {
            // The child waits for our word on its socket: it is ours, alive,
            // and goes with this failure.
            // SAFETY: kill and waitpid of the child this process just forked.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, std::ptr::null_mut(), 0);
            }
        }
        let _ = plan.cgroup.remove();
        return Err(e);
    }
    let pid = match pid {
        Ok(pid) => pid,
        Err(e) => {
            // Made before the fork for a child that never came.
            let _ = plan.cgroup.remove();
            return Err(e);
        }
    };
    if pid == 0 {
        drop(parent_sock);
        let err = init(&plan, opts, mode, &child_sock, in_v2);
        let msg = format!("E{}", err.0);
        // SAFETY-free path: best-effort report, then leave without running destructors
        // the parent still owns (files, the state directory).
        let _ = sys_send(&child_sock, msg.as_bytes());
        // SAFETY: _exit in a forked child.
        unsafe { libc::_exit(1) };
    }
    drop(child_sock);
    let mut st = State {
        id: opts.id.clone(),
        pid,
        pid_start: 0,
        bundle: bundle.to_string_lossy().into_owned(),
        rootfs: rootfs.to_string(),
        created: state::now_rfc3339(),
        owner: String::new(),
        annotations: plan.spec.annotations.clone(),
        cgroup: plan.cgroup.clone(),
        config: plan.spec.clone(),
        started: false,
    };
    st.pid_start = state::process_start(pid).unwrap_or(0);
    if let Err(e) = set_up(rt, opts, mode, &plan, &parent_sock, &mut st) {
        // Whatever step failed (the init may have died under us), nothing of the
        // container may stay: not its process, not its cgroups (chaos finding F10).
        // Our own child, not reaped yet: its pid is still its own.
        if let Some(child) = crate::pid::Pid::new(pid) {
            let _ = sys::kill(child, libc::SIGKILL);
        }
        let _ = sys::waitpid(pid, 0);
        let _ = plan.cgroup.remove();
        return Err(e);
    }
    match mode {
        Mode::Create => Ok(0),
        Mode::Run { detach } => {
            if let Err(e) = crate::ops::run_poststart(&st) {
                let _ = sys::waitpid(pid, 0);
                crate::delete::cleanup(rt, &st);
                return Err(e);
            }
            if detach {
                return Ok(0);
            }
            let code = wait_forwarding_signals(pid);
            crate::delete::cleanup(rt, &st);
            Ok(code)
        }
    }
}

/// Enters the parent namespaces the container needs and forks its process
/// there. With `self_join` its cgroup directories are made first and the child
/// is born in the v2 one where the kernel can (the returned bool), moving
/// itself into the rest (`init`).
fn fork_into_cgroup(plan: &Plan) -> Result<(ParentNamespaces, Result<i32>, bool)> {
    let into = if plan.self_join {
        plan.cgroup.create()?;
        plan.cgroup.open_v2()
    } else {
        None
    };
    let mut parent_ns = enter_parent_namespaces(&plan.spec)?;
    if !plan.parent_joins.is_empty() && crate::userns::rootless_uid().is_some() {
        let forked = fork_through_helper(plan, into.as_ref().map(AsFd::as_fd));
        let in_v2 = forked.as_ref().is_ok_and(|f| f.1);
        return Ok((parent_ns, forked.map(|f| f.0), in_v2));
    }
    let joins_user = plan.joins.iter().any(|(f, _)| *f == libc::CLONE_NEWUSER);
    if joins_user && plan.clone_flags & libc::CLONE_NEWPID != 0 {
        return Ok((parent_ns, fork_joined(plan), false));
    }
    // A failed join goes back through Drop.
    parent_ns.join(&plan.parent_joins)?;
    match sys::clone_fork_maybe_into(plan.clone_flags, into.as_ref().map(AsFd::as_fd)) {
        Ok((pid, in_v2)) => Ok((parent_ns, Ok(pid), in_v2)),
        Err(e) => Ok((parent_ns, Err(e).ctx("clone the container process"), false)),
    }
}

/// Rootless, this process could not come back to the host's namespaces once it
/// left them for those its container joins (they belong to the initial user
/// namespace): a short-lived helper joins them and clones the container's
/// process as this process's own child (CLONE_PARENT), tells its pid on a pipe
/// and leaves. Returns the pid (0 in the container's process) and whether it
/// was born in the cgroup.
fn fork_through_helper(plan: &Plan, into: Option<std::os::fd::BorrowedFd>) -> Result<(i32, bool)> {
    let join = || {
        let mut saved = ParentNamespaces(Vec::new());
        let joined = saved.join(&plan.parent_joins);
        // The saved descriptors go without a return: this process ends.
        std::mem::forget(saved);
        joined
    };
    helper_fork(plan, into, join, false)
}

/// Set in a container's process whose helper joined its namespaces and its
/// cgroup before cloning it ([`fork_joined`]): it must not join them again.
static JOINED_BY_HELPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A container that joins a user namespace and has a pid namespace of its
/// own: that pid namespace must belong to the joined user namespace, so it is
/// made by a clone from inside it. A short-lived helper joins the other
/// namespaces and the container's cgroup while it still may, then the user
/// namespace, and clones the container's process (which inherits all three).
fn fork_joined(plan: &Plan) -> Result<i32> {
    // The cgroup first, seen through the runtime's own mount namespace.
    let join = || {
        plan.cgroup.join_self(false)?;
        join_all(&plan.joins, || Ok(()))
    };
    helper_fork(plan, None, join, true).map(|(pid, _)| pid)
}

/// Forks a helper that runs `join`, then clones the container's process as
/// this process's child (CLONE_PARENT), tells its pid on a pipe and leaves.
fn helper_fork(
    plan: &Plan,
    into: Option<std::os::fd::BorrowedFd>,
    join: impl FnOnce() -> Result<()>,
    marks_joined: bool,
) -> Result<(i32, bool)> {
    let (mut rd, mut wr) = std::io::pipe().ctx("pipe")?;
    match sys::clone_fork(0).ctx("fork the namespace helper")? {
        0 => {
            drop(rd);
            let forked = join().and_then(|()| {
                sys::clone_fork_maybe_into(plan.clone_flags | libc::CLONE_PARENT, into)
                    .ctx("clone the container process")
            });
            match forked {
                Ok((0, in_v2)) => {
                    drop(wr);
                    JOINED_BY_HELPER.store(marks_joined, std::sync::atomic::Ordering::Relaxed);
                    Ok((0, in_v2))
                }
                Ok((pid, in_v2)) => {
                    // Tagged, so that no error text is ever taken for a pid.
                    let mut word = vec![b'P'];
                    word.extend(pid.to_le_bytes());
                    word.push(u8::from(in_v2));
                    let _ = wr.write_all(&word);
                    // SAFETY: the helper leaves at once, running no destructors
                    // of state it shares with the runtime.
                    unsafe { libc::_exit(0) }
                }
                Err(e) => {
                    let _ = wr.write_all(e.to_string().as_bytes());
                    // SAFETY: as above.
                    unsafe { libc::_exit(1) }
                }
            }
        }
        helper => {
            drop(wr);
            let mut got = Vec::new();
            let read = rd.read_to_end(&mut got);
            // The helper is this process's child, forked above and not yet reaped.
            let _ = sys::waitpid(helper, 0);
            read.ctx("read the namespace helper's answer")?;
            match got.as_slice() {
                [b'P', a, b, c, d, v2] => Ok((i32::from_le_bytes([*a, *b, *c, *d]), *v2 == 1)),
                why => Err(Error(format!(
                    "the namespace helper failed: {}",
                    String::from_utf8_lossy(why)
                ))),
            }
        }
    }
}

/// Joins the namespaces the spec names. A user namespace comes last: until
/// then this process keeps its privileges over namespaces its own user
/// namespace owns (a pinned network namespace), which it loses inside another
/// (as crun does); one refused before (a caller privileged only inside that
/// user namespace) is joined again after it. It then acts as that
/// namespace's root.
fn join_all(joins: &[(i32, OwnedFd)], before_user: impl FnOnce() -> Result<()>) -> Result<()> {
    let user = joins.iter().find(|(f, _)| *f == libc::CLONE_NEWUSER);
    let mut later = Vec::new();
    for (flag, fd) in joins.iter().filter(|(f, _)| *f != libc::CLONE_NEWUSER) {
        match sys::setns(fd.as_raw_fd(), *flag) {
            Ok(()) => {}
            Err(e) if user.is_some() && e.raw_os_error() == Some(libc::EPERM) => {
                later.push((*flag, fd));
            }
            Err(e) => return Err(e).ctx("join namespace"),
        }
    }
    before_user()?;
    if let Some((flag, fd)) = user {
        sys::setns(fd.as_raw_fd(), *flag).ctx("join the user namespace")?;
        sys::setresgid(0).ctx("become root in the user namespace")?;
        sys::setresuid(0).ctx("become root in the user namespace")?;
    }
    for (flag, fd) in later {
        sys::setns(fd.as_raw_fd(), flag).ctx("join namespace")?;
    }
    Ok(())
}

/// From the fork to a container that is created (or, for `run`, started): the
/// state written while the init sets itself up, the set-up driven, the pid file,
/// and for `run` the start.
fn set_up(
    rt: &Runtime,
    opts: &CreateOptions,
    mode: Mode,
    plan: &Plan,
    sock: &OwnedFd,
    st: &mut State,
) -> Result<()> {
    st.save(&rt.root)?;
    drive_init(plan, sock, st)?;
    if let Some(f) = &opts.pid_file {
        write_pid_file(f, st.pid)?;
    }
    if let Mode::Run { .. } = mode {
        sys_send(sock, b"S").ctx("start the container")?;
        st.started = true;
        st.save(&rt.root)?;
    }
    Ok(())
}

pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("berth-tmp");
    std::fs::write(&tmp, pid.to_string()).with(|| format!("write pid file {}", path.display()))?;
    std::fs::rename(&tmp, path).with(|| format!("write pid file {}", path.display()))
}

fn make_fifo(dir: &Path) -> Result<OwnedFd> {
    let path = dir.join(state::FIFO);
    let c = cstr(&path.to_string_lossy()).ctx("fifo")?;
    sys::mkfifo(&c, 0o600).ctx("create exec fifo")?;
    // Opened for reading without waiting for a writer; `start` opens the write end.
    sys::openat(libc::AT_FDCWD, &c, libc::O_RDONLY | libc::O_NONBLOCK, 0).ctx("open exec fifo")
}

fn plan(spec: Spec, rootfs: String, cgroup: Cgroup, fifo: Option<OwnedFd>) -> Result<Plan> {
    let process = spec.process.clone().expect("validated");
    let filter = process::compile_seccomp(&spec)?;
    let mut clone_flags = 0;
    let mut unshare_flags = 0;
    let mut joins = Vec::new();
    let mut new_userns = false;
    for ns in &spec.linux().namespaces {
        let flag = ns_flag(&ns.kind).expect("validated");
        match ns.path.as_deref().filter(|p| !p.is_empty()) {
            Some(path) => {
                if flag == libc::CLONE_NEWPID || flag == libc::CLONE_NEWTIME {
                    continue; // joined by the runtime before the fork
                }
                let fd = sys::openat(libc::AT_FDCWD, &cstr(path).ctx(path)?, libc::O_RDONLY, 0)
                    .with(|| format!("open {} namespace {path}", ns.kind))?;
                joins.push((flag, fd));
            }
            None => match flag {
                libc::CLONE_NEWUSER => {
                    clone_flags |= flag;
                    new_userns = true;
                }
                libc::CLONE_NEWPID => clone_flags |= flag,
                libc::CLONE_NEWTIME => {}
                _ => unshare_flags |= flag,
            },
        }
    }
    // The mount namespace last among the others (see join_all for the user's).
    joins.sort_by_key(|(f, _)| *f == libc::CLONE_NEWNS);
    let parent_joins = if new_userns {
        let (parent, child): (Vec<_>, Vec<_>) = std::mem::take(&mut joins)
            .into_iter()
            .partition(|(f, _)| *f != libc::CLONE_NEWUSER && *f != libc::CLONE_NEWNS);
        joins = child;
        parent
    } else {
        Vec::new()
    };
    let l = spec.linux();
    let idmap = spec
        .mounts
        .iter()
        .map(|m| {
            let wanted = m.options.iter().any(|o| o == "idmap" || o == "ridmap")
                || !m.uid_mappings.is_empty();
            wanted
                .then(|| crate::idmap::userns_for(m, &l.uid_mappings, &l.gid_mappings))
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Plan {
        self_join: !new_userns && !cgroup.dirs.is_empty(),
        spec,
        process,
        rootfs,
        cgroup,
        filter,
        fifo,
        clone_flags,
        unshare_flags,
        joins,
        parent_joins,
        new_userns,
        idmap,
        preserved: Vec::new(),
    })
}

/// The pid and time namespaces this process's children got before
/// [`enter_parent_namespaces`], to go back to after the fork.
struct ParentNamespaces(Vec<(libc::c_int, OwnedFd)>);

impl ParentNamespaces {
    /// Joins these too, saving this process's own to return to.
    fn join(&mut self, joins: &[(i32, OwnedFd)]) -> Result<()> {
        for (flag, fd) in joins {
            let kind = ns_kind(*flag);
            let own = format!("/proc/self/ns/{kind}");
            let saved = sys::openat(libc::AT_FDCWD, &cstr(&own).ctx(&own)?, libc::O_RDONLY, 0)
                .with(|| format!("open {own}"))?;
            self.0.push((*flag, saved));
            sys::setns(fd.as_raw_fd(), *flag).with(|| format!("join the {kind} namespace"))?;
        }
        Ok(())
    }

    /// Returns to every saved namespace, even past one that fails.
    fn restore(mut self) -> Result<()> {
        let mut first = Ok(());
        for (flag, fd) in std::mem::take(&mut self.0) {
            let r = sys::setns(fd.as_raw_fd(), flag).ctx("return to the runtime's own namespace");
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// A failure between joining and the fork goes back too (a forked child never
/// drops it: it leaves by _exit).
impl Drop for ParentNamespaces {
    fn drop(&mut self) {
        for (flag, fd) in &self.0 {
            let _ = sys::setns(fd.as_raw_fd(), *flag);
        }
    }
}

/// pid and time namespaces apply to children only, so the runtime joins (or makes)
/// them itself just before the fork; what it had before is returned.
fn enter_parent_namespaces(spec: &Spec) -> Result<ParentNamespaces> {
    let mut saved = ParentNamespaces(Vec::new());
    for kind in ["pid", "time"] {
        let Some(ns) = spec.namespace(kind) else {
            continue;
        };
        let path = ns.path.as_deref().filter(|p| !p.is_empty());
        if path.is_some() || kind == "time" {
            let own = format!("/proc/self/ns/{kind}");
            let fd = sys::openat(libc::AT_FDCWD, &cstr(&own).ctx(&own)?, libc::O_RDONLY, 0)
                .with(|| format!("open {own}"))?;
            saved.0.push((ns_flag(kind).expect("known"), fd));
        }
        match path {
            Some(path) => {
                let fd = sys::openat(libc::AT_FDCWD, &cstr(path).ctx(path)?, libc::O_RDONLY, 0)
                    .with(|| format!("open {kind} namespace {path}"))?;
                sys::setns(fd.as_raw_fd(), ns_flag(kind).expect("known"))
                    .with(|| format!("join {kind} namespace {path}"))?;
            }
            None if kind == "time" => {
                sys::unshare(libc::CLONE_NEWTIME).ctx("create time namespace")?;
                let offsets: String = spec
                    .linux()
                    .time_offsets
                    .iter()
                    .map(|(clock, o)| format!("{clock} {} {}\n", o.secs, o.nanosecs))
                    .collect();
                if !offsets.is_empty() {
                    std::fs::write("/proc/self/timens_offsets", offsets)
                        .ctx("write time offsets")?;
                }
            }
            None => {}
        }
    }
    Ok(saved)
}

fn sys_send(sock: &OwnedFd, msg: &[u8]) -> std::io::Result<()> {
    // SAFETY-free: a SEQPACKET send through a borrowed std stream.
    let s = UnixStream::from(sock.try_clone()?);
    (&s).write_all(msg)
}

fn recv(sock: &OwnedFd) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 8192];
    let s = UnixStream::from(sock.try_clone().ctx("sync")?);
    let n = (&s).read(&mut buf).ctx("read from the container process")?;
    buf.truncate(n);
    Ok(buf)
}

/// The runtime's side of the set-up conversation.
fn drive_init(plan: &Plan, sock: &OwnedFd, st: &State) -> Result<()> {
    let pid = st.pid;
    if plan.new_userns {
        let l = plan.spec.linux();
        std::fs::write(format!("/proc/{pid}/uid_map"), map_text(&l.uid_mappings))
            .ctx("write uid_map")?;
        if sys::geteuid() != 0 {
            std::fs::write(format!("/proc/{pid}/setgroups"), "deny").ctx("write setgroups")?;
        }
        std::fs::write(format!("/proc/{pid}/gid_map"), map_text(&l.gid_mappings))
            .ctx("write gid_map")?;
    }
    if !plan.self_join {
        plan.cgroup.create_and_join(pid)?;
    }
    let mut resources = plan.spec.linux().resources.clone().unwrap_or_default();
    // The spec's devices must be usable whatever the rules say, as with runc.
    for d in &plan.spec.linux().devices {
        resources.devices.push(crate::spec::DeviceRule {
            allow: true,
            kind: Some(if d.kind == "u" {
                "c".into()
            } else {
                d.kind.clone()
            }),
            major: Some(d.major),
            minor: Some(d.minor),
            access: Some("rwm".into()),
        });
    }
    plan.cgroup.apply(&resources)?;
    if let Some(adj) = plan.process.oom_score_adj {
        std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())
            .with(|| format!("set oom_score_adj {adj}"))?;
    }
    sys_send(sock, b"G").ctx("signal the container process")?;
    let mut buf = vec![0u8; 8192];
    loop {
        // recvmsg, not read: the `N` message carries the seccomp listener fd.
        let (n, fd) =
            sys::recv_fd(sock.as_raw_fd(), &mut buf).ctx("read from the container process")?;
        let msg = &buf[..n];
        match msg.first() {
            Some(b'H') => {
                let h = plan.spec.hooks();
                let state = st.oci(Status::Created);
                hooks::run_all("prestart", &h.prestart, &state)?;
                hooks::run_all("createRuntime", &h.create_runtime, &state)?;
                sys_send(sock, b"C").ctx("signal the container process")?;
            }
            Some(b'N') => {
                forward_notify_fd(plan, sock, st, fd.ok_or("seccomp listener fd missing")?)?
            }
            Some(b'R') => return Ok(()),
            Some(b'E') => return Err(Error(String::from_utf8_lossy(&msg[1..]).into_owned())),
            _ => bail!("the container process exited during set-up"),
        }
    }
}

/// SCMP_ACT_NOTIFY: the init passed its listener fd up; hand it to the spec's socket
/// with the container process state, as the runtime spec describes.
fn forward_notify_fd(plan: &Plan, sock: &OwnedFd, st: &State, fd: OwnedFd) -> Result<()> {
    let s = plan.spec.linux().seccomp.as_ref().ok_or("no seccomp")?;
    let path = s
        .listener_path
        .as_deref()
        .ok_or("SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath")?;
    let conn = UnixStream::connect(path).with(|| format!("connect to seccomp listener {path}"))?;
    let body = serde_json::json!({
        "ociVersion": state::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": st.pid,
        "metadata": s.listener_metadata.clone().unwrap_or_default(),
        "state": st.oci(Status::Creating),
    });
    sys::send_fd(
        conn.as_raw_fd(),
        body.to_string().as_bytes(),
        fd.as_raw_fd(),
    )
    .ctx("send seccomp listener")?;
    sys_send(sock, b"C").ctx("signal the container process")
}

fn wait_msg(sock: &OwnedFd, want: u8) -> Result<()> {
    let msg = recv(sock)?;
    if msg.first() == Some(&want) {
        Ok(())
    } else {
        Err(Error("the runtime went away during set-up".into()))
    }
}

/// The container's init, in the forked child. Returns only on error.
fn init(plan: &Plan, opts: &CreateOptions, mode: Mode, sock: &OwnedFd, in_v2: bool) -> Error {
    match init_steps(plan, opts, mode, sock, in_v2) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

enum Never {}

fn init_steps(
    plan: &Plan,
    opts: &CreateOptions,
    mode: Mode,
    sock: &OwnedFd,
    in_v2: bool,
) -> Result<Never> {
    // Die with the runtime while it still drives us; cleared before `ready`.
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as _, 0).ctx("pdeathsig")?;
    if plan.self_join && !JOINED_BY_HELPER.load(std::sync::atomic::Ordering::Relaxed) {
        plan.cgroup.join_self(in_v2)?;
    }
    // With nothing to join, the namespaces other than cgroup are made while the
    // runtime is still writing maps and cgroups: the two cores work at once.
    // (cgroup must wait until we are in our cgroup; it becomes the namespace root.)
    let early = if plan.joins.is_empty() {
        plan.unshare_flags & !libc::CLONE_NEWCGROUP
    } else {
        0
    };
    if early != 0 {
        sys::unshare(early).ctx("create namespaces")?;
    }
    wait_msg(sock, b'G')?;
    let spec = &plan.spec;
    let p = &plan.process;
    if plan.new_userns {
        sys::setresgid(0).ctx("become root in the user namespace")?;
        sys::setresuid(0).ctx("become root in the user namespace")?;
    }
    if !JOINED_BY_HELPER.load(std::sync::atomic::Ordering::Relaxed) {
        join_all(&plan.joins, || Ok(()))?;
    }
    if plan.unshare_flags & !early != 0 {
        sys::unshare(plan.unshare_flags & !early).ctx("create namespaces")?;
    }
    // In a user namespace of its own, or already in one (rootless): either way
    // no device node can be made and sysfs may need its netns's owner.
    let userns = plan.new_userns
        || plan.joins.iter().any(|(f, _)| *f == libc::CLONE_NEWUSER)
        || crate::userns::rootless_uid().is_some();
    let has_mountns = spec.namespace("mount").is_some();
    let root = Rootfs::open(&plan.rootfs)?;
    let mut pty_peer = None;
    if has_mountns {
        rootfs::prepare_root(spec, &plan.rootfs)?;
        let root = Rootfs::open(&plan.rootfs)?;
        let ctx = MountContext {
            spec,
            cgroup: &plan.cgroup,
            userns,
            cgroupns: spec.namespace("cgroup").is_some(),
            idmap: &plan.idmap,
        };
        rootfs::mount_all(&ctx, &root)?;
    }
    let root = if has_mountns {
        Rootfs::open(&plan.rootfs)?
    } else {
        root
    };
    if p.terminal {
        pty_peer = Some(setup_terminal(&root, p, opts)?);
    }
    let h = spec.hooks();
    if !h.prestart.is_empty() || !h.create_runtime.is_empty() {
        sys_send(sock, b"H").ctx("sync")?;
        wait_msg(sock, b'C')?;
    }
    if !h.create_container.is_empty() {
        let st = serde_json::json!({"ociVersion": state::OCI_VERSION, "id": opts.id, "status": "created", "pid": sys::getpid(), "bundle": opts.bundle});
        hooks::run_all("createContainer", &h.create_container, &st)?;
    }
    if has_mountns {
        rootfs::enter(&root, opts.no_pivot)?;
        rootfs::set_root_propagation(spec)?;
        rootfs::restore_mount_propagation(spec)?;
    } else {
        sys::chroot(&cstr(&plan.rootfs).ctx("rootfs")?).ctx("chroot")?;
        std::env::set_current_dir("/").ctx("chdir /")?;
    }
    drop(root);
    if let Some(h) = spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        sys::sethostname(h).ctx("set hostname")?;
    }
    if let Some(d) = spec.domainname.as_deref().filter(|d| !d.is_empty()) {
        sys::setdomainname(d).ctx("set domainname")?;
    }
    rootfs::apply_sysctl(spec)?;
    // Without a mount namespace of its own every mount would land on the host's
    // tree, so masking and read-only remounts only happen inside one.
    if has_mountns {
        rootfs::mask_paths(&spec.linux().masked_paths)?;
        rootfs::readonly_paths(&spec.linux().readonly_paths, userns)?;
        if spec.root.as_ref().is_some_and(|r| r.readonly) {
            rootfs::readonly_root(userns)?;
        }
    }
    if !opts.no_new_keyring {
        join_session_keyring(&opts.id);
    }
    process::set_rlimits(p)?;
    process::set_scheduling(p, spec)?;
    process::set_labels(p)?;
    if let Some(mask) = p.user.umask {
        sys::umask(mask);
    } else {
        sys::umask(0o022);
    }
    if let Some(peer) = &pty_peer {
        attach_terminal(peer)?;
    }
    drop(pty_peer);
    let exe = process::find_executable(p)?;
    // A filter with notify must go in while the runtime can still pass the fd on,
    // and without no_new_privs it needs CAP_SYS_ADMIN, so before the user switch.
    let early = plan
        .filter
        .as_ref()
        .is_some_and(|f| f.notify || !p.no_new_privileges);
    // The cwd is checked, and inherited fds marked, while those syscalls are surely
    // allowed (before any filter).
    process::enter_cwd(p, true)?;
    process::prepare_fds(&plan.preserved)?;
    if p.no_new_privileges {
        process::set_no_new_privs()?;
    }
    if early && let Some(f) = &plan.filter {
        load_filter(f, sock)?;
    }
    process::set_user_and_caps(p, !userns || sys::geteuid() == 0 && !setgroups_denied())?;
    process::enter_cwd(p, false)?;
    sys::prctl(libc::PR_SET_PDEATHSIG, 0, 0).ctx("pdeathsig")?;
    sys_send(sock, b"R").ctx("sync")?;
    match mode {
        Mode::Create => wait_for_start(plan.fifo.as_ref().expect("create has a fifo"))?,
        Mode::Run { .. } => wait_msg(sock, b'S')?,
    }
    if !h.start_container.is_empty() {
        let st = serde_json::json!({"ociVersion": state::OCI_VERSION, "id": opts.id, "status": "running", "pid": sys::getpid()});
        // A startContainer hook without an env of its own runs with the process's.
        let start_hooks: Vec<crate::spec::Hook> = h
            .start_container
            .iter()
            .cloned()
            .map(|mut hk| {
                if hk.env.is_empty() {
                    hk.env = p.env.clone();
                }
                hk
            })
            .collect();
        hooks::run_all("startContainer", &start_hooks, &st)?;
    }
    if !early && let Some(f) = &plan.filter {
        process::load_seccomp(f)?;
    }
    let e = process::exec(p, &exe);
    // Started: nobody reads the socket any more. The process's own stderr
    // hears of it, and its exit status says what kind, as a shell's (and
    // podman's) 127 for a command not there, 126 for one that cannot run
    // (a volume mounted noexec).
    eprintln!("Error: {}", e.0);
    let code = if e.0.contains("No such file") {
        127
    } else {
        126
    };
    // SAFETY: _exit in the forked container process, which owns nothing the
    // runtime's parent needs cleaned up.
    unsafe { libc::_exit(code) }
}

fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

fn load_filter(f: &Filter, sock: &OwnedFd) -> Result<()> {
    if let Some(fd) = process::load_seccomp(f)? {
        sys::send_fd(sock.as_raw_fd(), b"N", fd.as_raw_fd()).ctx("pass the seccomp listener")?;
        wait_msg(sock, b'C')?;
    }
    Ok(())
}

/// Blocks until `start` writes into the exec FIFO. The read end was opened
/// non-blocking before any writer existed; poll waits for the byte.
fn wait_for_start(fifo: &OwnedFd) -> Result<()> {
    loop {
        let ev = sys::poll_in(fifo.as_raw_fd(), -1).ctx("wait for start")?;
        if ev & libc::POLLIN != 0 {
            let mut b = [0u8; 1];
            // SAFETY-free: read through a File borrowed from the fd.
            let mut f = std::fs::File::from(fifo.try_clone().ctx("fifo")?);
            match f.read(&mut b) {
                Ok(1) => return Ok(()),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e).ctx("read exec fifo"),
            }
        }
    }
}

fn join_session_keyring(id: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name = std::ffi::CString::new(format!("_ses.{id}")).unwrap_or_default();
    // SAFETY: keyctl with a C string argument; failure (no keyring support) is ignored
    // as runc does.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
}

/// Opens a pty in the container's devpts, sends the master to the console socket and
/// binds the peer on /dev/console.
fn setup_terminal(root: &Rootfs, p: &Process, opts: &CreateOptions) -> Result<OwnedFd> {
    let ptmx = root
        .open_in("/dev/pts/ptmx", libc::O_PATH)
        .ctx("open /dev/pts/ptmx in the container")?;
    let (master, peer) = sys::open_pty(&sys::fd_path(&ptmx)).ctx("open a pseudo-terminal")?;
    if let Some(size) = p.console_size {
        sys::set_winsize(master.as_raw_fd(), size.height, size.width).ctx("set terminal size")?;
    }
    let sock = opts.console_socket.as_ref().expect("checked in create");
    send_console(sock, &master)?;
    rootfs::bind_console(root, &peer)?;
    Ok(peer)
}

pub fn send_console(sock: &Path, master: &OwnedFd) -> Result<()> {
    let conn = UnixStream::connect(sock)
        .with(|| format!("connect to console socket {}", sock.display()))?;
    sys::send_fd(conn.as_raw_fd(), b"/dev/ptmx", master.as_raw_fd())
        .ctx("send the terminal to the console socket")
}

pub fn attach_terminal(peer: &OwnedFd) -> Result<()> {
    sys::setsid().ctx("setsid")?;
    sys::set_ctty(peer.as_raw_fd()).ctx("set controlling terminal")?;
    for fd in 0..3 {
        sys::dup2(peer.as_raw_fd(), fd).ctx("terminal stdio")?;
    }
    Ok(())
}

static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Set by a caller for which an interrupt ends the work (a build): SIGINT,
/// SIGTERM and SIGHUP then kill the waited-for process instead of being
/// passed on (a container's init ignores signals it has no handler for).
static KILL_ON_INTERRUPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, an interrupt kills the foreground process (see
/// [`interrupted`]).
pub fn kill_on_interrupt() {
    KILL_ON_INTERRUPT.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether an interrupt killed a foreground process.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A signal that came while the foreground process was being started (no pid
/// yet to pass it to): delivered as soon as there is one.
static PENDING: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// Between [`forward_signals`] and the pid being known.
static STARTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(std::sync::atomic::Ordering::Relaxed);
    if pid <= 0 {
        if STARTING.load(std::sync::atomic::Ordering::Relaxed) {
            PENDING.store(sig, std::sync::atomic::Ordering::Relaxed);
        } else if sig != libc::SIGWINCH {
            // No foreground process: the signal does to this one what it would
            // have done without the handler.
            // SAFETY: signal(2) and raise(3) are async-signal-safe.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
            }
        }
        return;
    }
    let interrupt = matches!(sig, libc::SIGINT | libc::SIGTERM | libc::SIGHUP);
    let sig = if interrupt && KILL_ON_INTERRUPT.load(std::sync::atomic::Ordering::Relaxed) {
        INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
        libc::SIGKILL
    } else {
        sig
    };
    // SAFETY: kill is async-signal-safe; pid is the child this process waits for.
    unsafe { libc::kill(pid, sig) };
}

/// The signals podman's `--sig-proxy` passes on to a container (not SIGCHLD,
/// SIGSTOP, SIGKILL; a terminal's SIGWINCH is a resize).
pub const PROXIED_SIGNALS: [libc::c_int; 8] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGCONT,
];

/// From now on the signals a user sends this process are kept for the
/// foreground process about to start (and passed to it by
/// [`wait_forwarding_signals`]) instead of ending this process first: called
/// just before the container is started, so that none is lost in between.
pub fn forward_signals() {
    STARTING.store(true, std::sync::atomic::Ordering::Relaxed);
    for sig in PROXIED_SIGNALS.into_iter().chain([libc::SIGWINCH]) {
        // SAFETY: installing a handler that only calls kill(2) or stores an integer.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The start [`forward_signals`] announced did not happen: signals act as
/// before again (a pending one is acted on now).
pub fn abandon_start() {
    STARTING.store(false, std::sync::atomic::Ordering::Relaxed);
    let pending = PENDING.swap(0, std::sync::atomic::Ordering::Relaxed);
    if pending != 0 {
        forward(pending);
    }
}

/// Waits for the foreground container or exec'd process, passing on the signals a
/// user sends to the runtime. Returns the shell-style exit code.
pub fn wait_forwarding_signals(pid: RawFd) -> i32 {
    wait_status_forwarding_signals(pid).map_or(255, sys::exit_code)
}

/// [`wait_forwarding_signals`], returning waitpid's status (None when it
/// failed): for callers that tell a death by signal from an exit code of
/// 128 + N, as buildah does.
pub fn wait_status_forwarding_signals(pid: RawFd) -> Option<libc::c_int> {
    CHILD.store(pid, std::sync::atomic::Ordering::Relaxed);
    forward_signals();
    STARTING.store(false, std::sync::atomic::Ordering::Relaxed);
    // One that came while the process was being started goes to it now.
    let pending = PENDING.swap(0, std::sync::atomic::Ordering::Relaxed);
    if pending != 0 {
        forward(pending);
    }
    let status = sys::waitpid(pid, 0).ok().map(|(_, status)| status);
    // Reaped: its pid may be anyone's now, so nothing more is sent to it.
    CHILD.store(0, std::sync::atomic::Ordering::Relaxed);
    status
}
