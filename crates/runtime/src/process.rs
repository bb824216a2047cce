//! What turns the forked runtime into the user's process: rlimits, scheduling, LSM
//! labels, user and groups, capabilities, no_new_privs, seccomp, the working
//! directory and finally execve. Shared by the container's init and by `exec`.

use crate::capabilities;
use crate::error::{Context, Error, Result};
use crate::rootfs;
use crate::seccomp;
use crate::spec::{Process, Spec};
use crate::sys::{self, cstr};
use std::ffi::CString;
use std::os::fd::OwnedFd;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const RLIMITS: &[(&str, i32)] = &[
    ("RLIMIT_CPU", libc::RLIMIT_CPU as i32),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as i32),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as i32),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as i32),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as i32),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as i32),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as i32),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as i32),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as i32),
    ("RLIMIT_AS", libc::RLIMIT_AS as i32),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as i32),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as i32),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as i32),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as i32),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as i32),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as i32),
];

pub fn rlimit_by_name(name: &str) -> Option<i32> {
    RLIMITS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

pub fn rlimit_names() -> Vec<String> {
    RLIMITS.iter().map(|(n, _)| n.to_string()).collect()
}

/// Validates what can be checked before anything is forked.
pub fn validate(p: &Process) -> Result<()> {
    if p.args.is_empty() {
        bail!("process.args is empty: nothing to run");
    }
    if !p.cwd.is_empty() && !p.cwd.starts_with('/') {
        bail!("process.cwd {:?} must be an absolute path", p.cwd);
    }
    for r in &p.rlimits {
        if rlimit_by_name(&r.kind).is_none() {
            bail!("rlimit {:?}: unknown type", r.kind);
        }
        if r.soft > r.hard {
            bail!(
                "rlimit {}: soft limit {} above hard limit {}",
                r.kind,
                r.soft,
                r.hard
            );
        }
    }
    Ok(())
}

pub fn set_rlimits(p: &Process) -> Result<()> {
    for r in &p.rlimits {
        let res = rlimit_by_name(&r.kind)
            .ok_or_else(|| Error(format!("rlimit {:?}: unknown", r.kind)))?;
        sys::setrlimit(res, r.soft, r.hard)
            .with(|| format!("set {} to {}:{}", r.kind, r.soft, r.hard))?;
    }
    Ok(())
}

/// ioPriority, scheduler and personality, where the spec sets them.
pub fn set_scheduling(p: &Process, spec: &Spec) -> Result<()> {
    if let Some(io) = &p.io_priority {
        let class = match io.class.as_str() {
            "IOPRIO_CLASS_RT" => 1,
            "IOPRIO_CLASS_BE" => 2,
            "IOPRIO_CLASS_IDLE" => 3,
            other => bail!("ioPriority class {other:?}: unknown"),
        };
        sys::ioprio_set(class, io.priority).ctx("set I/O priority")?;
    }
    if let Some(s) = &p.scheduler {
        let policy = match s.policy.as_str() {
            "SCHED_OTHER" => 0,
            "SCHED_FIFO" => 1,
            "SCHED_RR" => 2,
            "SCHED_BATCH" => 3,
            "SCHED_ISO" => 4,
            "SCHED_IDLE" => 5,
            "SCHED_DEADLINE" => 6,
            other => bail!("scheduler policy {other:?}: unknown"),
        };
        let mut flags = 0u64;
        for f in &s.flags {
            flags |= match f.as_str() {
                "SCHED_FLAG_RESET_ON_FORK" => 0x01,
                "SCHED_FLAG_RECLAIM" => 0x02,
                "SCHED_FLAG_DL_OVERRUN" => 0x04,
                "SCHED_FLAG_KEEP_POLICY" => 0x08,
                "SCHED_FLAG_KEEP_PARAMS" => 0x10,
                "SCHED_FLAG_UTIL_CLAMP_MIN" => 0x20,
                "SCHED_FLAG_UTIL_CLAMP_MAX" => 0x40,
                other => bail!("scheduler flag {other:?}: unknown"),
            };
        }
        sys::sched_setattr(
            policy,
            flags,
            s.nice,
            s.priority as u32,
            (s.runtime, s.deadline, s.period),
        )
        .ctx("set scheduler")?;
    }
    if let Some(pers) = &spec.linux().personality {
        let domain = match pers.domain.as_str() {
            "LINUX" => 0x0000,
            "LINUX32" => 0x0008,
            other => bail!("personality domain {other:?}: unknown"),
        };
        sys::personality(domain).ctx("set personality")?;
    }
    Ok(())
}

/// AppArmor profile and SELinux label for the next execve, where the host has them.
pub fn set_labels(p: &Process) -> Result<()> {
    if let Some(profile) = p.apparmor_profile.as_deref().filter(|s| !s.is_empty())
        && apparmor_enabled()
    {
        {
            let attr = if std::path::Path::new("/proc/self/attr/apparmor/exec").exists() {
                "self/attr/apparmor/exec"
            } else {
                "self/attr/exec"
            };
            rootfs::write_proc(attr, &format!("exec {profile}"))
                .with(|| format!("apparmor profile {profile}"))?;
        }
    }
    if let Some(label) = p.selinux_label.as_deref().filter(|s| !s.is_empty())
        && std::path::Path::new("/sys/fs/selinux/enforce").exists()
    {
        rootfs::write_proc("self/attr/exec", label).with(|| format!("selinux label {label}"))?;
    }
    Ok(())
}

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'))
}

/// Switches to the spec's user keeping capabilities, then sets the five sets.
/// Order matters: the bounding set needs CAP_SETPCAP, which the switch may drop.
pub fn set_user_and_caps(p: &Process, setgroups_allowed: bool) -> Result<()> {
    let caps = p.capabilities.as_ref().map(capabilities::usable);
    if let Some(caps) = &caps {
        capabilities::drop_bounding(caps)?;
    }
    sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0).ctx("keep capabilities")?;
    if setgroups_allowed {
        sys::setgroups(&p.user.additional_gids).ctx("set additional groups")?;
    }
    sys::setresgid(p.user.gid).with(|| format!("set gid {}", p.user.gid))?;
    sys::setresuid(p.user.uid).with(|| format!("set uid {}", p.user.uid))?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0).ctx("reset keep-capabilities")?;
    if let Some(caps) = &caps {
        capabilities::apply(caps)?;
    }
    Ok(())
}

pub fn set_no_new_privs() -> Result<()> {
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
        .ctx("set no_new_privs")
        .map(drop)
}

/// chdir to process.cwd and make sure it is inside the container: a cwd reached
/// through a leaked host fd (CVE-2024-21626) is reported by the kernel's getcwd as
/// "(unreachable)…". Called again after the user switch (the path may only be
/// reachable as that user) without the check.
pub fn enter_cwd(p: &Process, verify: bool) -> Result<()> {
    let cwd = if p.cwd.is_empty() {
        "/"
    } else {
        p.cwd.as_str()
    };
    std::env::set_current_dir(cwd).with(|| format!("chdir to cwd {cwd:?}"))?;
    // After a filter is in, getcwd may be one it traps (a notify agent would then
    // have to answer for the runtime); the first call already verified the path.
    if !verify {
        return Ok(());
    }
    let mut buf = vec![0u8; 4096];
    // SAFETY: the raw syscall writes at most buf.len() bytes into buf.
    let n = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    if n > 0 && buf[0] != b'/' {
        bail!("cwd {cwd:?} is outside the container");
    }
    Ok(())
}

pub fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// Resolves args[0] the way execvp would, with the container's PATH.
pub fn find_executable(p: &Process) -> Result<CString> {
    let name = &p.args[0];
    if name.contains('/') {
        check_executable(name).with(|| format!("exec {name:?}"))?;
        return cstr(name).ctx(name);
    }
    let path = env_value(&p.env, "PATH").unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = format!("{}/{name}", dir.trim_end_matches('/'));
        if check_executable(&cand).is_ok() {
            return cstr(&cand).ctx(&cand);
        }
    }
    bail!("exec {name:?}: executable file not found in $PATH")
}

fn check_executable(path: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)?;
    // A directory is not executable either: execve says EACCES for both, and
    // runc and crun print Go's lowercase "permission denied".
    if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "permission denied",
        ));
    }
    Ok(())
}

/// The fds among 3 .. 3+n the caller passed in (`--preserve-fds n`). Taken before
/// the runtime opens anything, so none of its own descriptors can be mistaken for
/// one of them.
pub fn inherited_fds(n: u32) -> Vec<i32> {
    (3..3 + n as i32)
        .filter(|fd| sys::fd_is_open(*fd))
        .collect()
}

/// Sets close-on-exec on every fd from 3 up, then clears it on the preserved ones.
pub fn prepare_fds(preserved: &[i32]) -> Result<()> {
    sys::cloexec_from(3).ctx("close inherited fds")?;
    for &fd in preserved {
        sys::set_cloexec(fd, false).with(|| format!("preserve fd {fd}"))?;
    }
    Ok(())
}

/// The compiled seccomp filter and when it has to go in.
pub struct Filter {
    pub ctx: libseccomp::ScmpFilterContext,
    pub notify: bool,
}

pub fn compile_seccomp(spec: &Spec) -> Result<Option<Filter>> {
    match &spec.linux().seccomp {
        Some(s) => Ok(Some(Filter {
            ctx: seccomp::compile(s)?,
            notify: seccomp::uses_notify(s),
        })),
        None => Ok(None),
    }
}

pub fn load_seccomp(f: &Filter) -> Result<Option<OwnedFd>> {
    seccomp::load(&f.ctx, f.notify)
}

pub fn exec(p: &Process, path: &CString) -> Error {
    // The runtime ignores SIGPIPE, and callers may have left others ignored; the
    // user's process starts with every signal at its default.
    sys::reset_signals();
    let argv: Vec<CString> = p
        .args
        .iter()
        .filter_map(|a| CString::new(a.as_str()).ok())
        .collect();
    let envp: Vec<CString> = p
        .env
        .iter()
        .filter_map(|a| CString::new(a.as_str()).ok())
        .collect();
    let e = sys::execve(path, &argv, &envp);
    Error(format!(
        "exec {:?}: {}",
        p.args[0],
        crate::error::go_words(&e)
    ))
}
