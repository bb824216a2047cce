//! Rootless: the user namespace every berth process of an ordinary user runs in.
//!
//! The user's ID is root there and its subordinate IDs (`/etc/subuid`,
//! `/etc/subgid`, mapped by `newuidmap`/`newgidmap`) are the other users, so
//! layers keep their owners and containers can be made as root makes them. The
//! first command makes the namespace (and a mount namespace it owns), held open
//! by a pause process; every later command joins those two, as podman's pause
//! process has it, so what one command mounted or started the next one reaches.

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::sys;

/// Set in the namespace: the user's own UID outside it. Children (the monitor,
/// builds) inherit it and know they run rootless although their UID is 0.
pub const ROOTLESS_UID_ENV: &str = "BERTH_ROOTLESS_UID";

/// The pause process's name, checked before a recorded PID is trusted.
const PAUSE_NAME: &str = "berth-pause-ns";

#[derive(Debug)]
pub struct UsernsError(String);

impl std::fmt::Display for UsernsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rootless: {}", self.0)
    }
}

impl std::error::Error for UsernsError {}

fn err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> UsernsError {
    UsernsError(format!("{what}: {e}"))
}

/// The user's UID when this process runs rootless: its own UID when not root,
/// else the one [`ROOTLESS_UID_ENV`] carries into the namespace.
pub fn rootless_uid() -> Option<u32> {
    match sys::geteuid() {
        0 => std::env::var(ROOTLESS_UID_ENV).ok()?.parse().ok(),
        uid => Some(uid),
    }
}

/// A subordinate range (`start`, `count`) from `/etc/subuid`'s or `/etc/subgid`'s
/// text: the first line naming the user by name or by ID.
pub fn subordinate_range(text: &str, user: &str, id: u32) -> Option<(u32, u32)> {
    text.lines().find_map(|l| {
        let mut f = l.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        if who != user && who.parse::<u32>().ok() != Some(id) {
            return None;
        }
        let (start, count) = (start.parse().ok()?, count.parse::<u32>().ok()?);
        (count > 0).then_some((start, count))
    })
}

/// The user name of a UID, from `/etc/passwd`.
fn user_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
    })
}

/// Set when this command joined the namespace itself (not started inside it,
/// as under `berth unshare`): its mounts are then seen by no shell of the user's.
static JOINED_HERE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this command joined the rootless namespace itself ([`enter`]).
pub fn joined_here() -> bool {
    JOINED_HERE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Enters the user's namespace (making it on first use); `run_dir` holds the
/// pause process's PID file and lock. A no-op for root. Must be called while
/// this process has a single thread (joining a user namespace requires it).
pub fn enter(run_dir: &Path) -> Result<(), UsernsError> {
    let uid = sys::geteuid();
    if uid == 0 {
        return Ok(());
    }
    private_dir(run_dir, uid)?;
    let lock_path = run_dir.join("pause.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| err(lock_path.display(), e))?;
    crate::sys::flock_exclusive(std::os::fd::AsFd::as_fd(&lock))
        .map_err(|e| err(lock_path.display(), e))?;
    let pid_file = run_dir.join("pause.pid");
    let pid = match recorded_pause(&pid_file, uid) {
        Some(pid) => pid,
        None => {
            let pid = make_pause(uid)?;
            std::fs::write(&pid_file, pid.to_string()).map_err(|e| err(pid_file.display(), e))?;
            pid
        }
    };
    join(pid)?;
    JOINED_HERE.store(true, std::sync::atomic::Ordering::Relaxed);
    drop(lock);
    // SAFETY: the caller is single-threaded (documented), so no thread reads the
    // environment meanwhile.
    unsafe { std::env::set_var(ROOTLESS_UID_ENV, uid.to_string()) };
    Ok(())
}

/// Where the user's pause process is recorded: `$XDG_RUNTIME_DIR/berth`, else
/// `/tmp/berth-run-UID` (the rootless store's run root).
pub fn default_run_dir(uid: u32) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("berth"),
        None => PathBuf::from(format!("/tmp/berth-run-{uid}")),
    }
}

/// Makes `dir` (0700) or takes it if it is already the user's alone: a directory
/// in /tmp that someone else made first is refused, never used.
fn private_dir(dir: &Path, uid: u32) -> Result<(), UsernsError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let m = std::fs::symlink_metadata(dir).map_err(|e| err(dir.display(), e))?;
    if !m.is_dir() || m.uid() != uid || m.mode() & 0o077 != 0 {
        return Err(UsernsError(format!(
            "{}: not a directory of this user's alone (mode 0700)",
            dir.display()
        )));
    }
    Ok(())
}

/// The recorded pause process, if it is alive, ours, and still the pause process.
fn recorded_pause(pid_file: &Path, uid: u32) -> Option<i32> {
    use std::os::unix::fs::MetadataExt;
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let comm = std::fs::read_to_string(proc.join("comm")).ok()?;
    let owner = std::fs::metadata(&proc).ok()?.uid();
    let theirs = std::fs::read_link(proc.join("ns/user")).ok()?;
    let ours = std::fs::read_link("/proc/self/ns/user").ok()?;
    (pid > 0 && comm.trim() == PAUSE_NAME && owner == uid && theirs != ours).then_some(pid)
}

/// Ends the user's pause process (`system migrate`, `system reset`): the next
/// command makes the namespace again, with the ranges `/etc/subuid` says then.
/// The PID file's process is signalled only through a pidfd, once the pidfd
/// shows it is still the pause process.
pub fn stop_pause(run_dir: &Path) -> Result<bool, UsernsError> {
    let pid_file = run_dir.join("pause.pid");
    let Some(pid) = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
        .and_then(crate::pid::Pid::new)
    else {
        return Ok(false);
    };
    let is_pause = || {
        std::fs::read_to_string(format!("/proc/{}/comm", pid.get()))
            .is_ok_and(|c| c.trim() == PAUSE_NAME)
    };
    let stopped = match crate::pid::PidFd::open(pid).map_err(|e| err("pidfd", e))? {
        Some(fd) if is_pause() => {
            fd.signal(libc::SIGKILL)
                .map_err(|e| err("kill the pause process", e))?;
            true
        }
        _ => false,
    };
    let _ = std::fs::remove_file(&pid_file);
    Ok(stopped)
}

/// Joins the pause process's user and mount namespaces; the working directory
/// (which joining a mount namespace resets to its root) is kept.
fn join(pid: i32) -> Result<(), UsernsError> {
    let cwd = std::env::current_dir().ok();
    for (ns, flag) in [("user", libc::CLONE_NEWUSER), ("mnt", libc::CLONE_NEWNS)] {
        let path = format!("/proc/{pid}/ns/{ns}");
        let f = std::fs::File::open(&path).map_err(|e| err(&path, e))?;
        sys::setns(f.as_raw_fd(), flag).map_err(|e| err(format!("join {path}"), e))?;
    }
    if let Some(d) = cwd {
        std::env::set_current_dir(&d).map_err(|e| err(d.display(), e))?;
    }
    Ok(())
}

fn pipe() -> Result<(std::fs::File, std::fs::File), UsernsError> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(err("pipe", io::Error::last_os_error()));
    }
    // SAFETY: pipe2 just made both fds, owned by nothing else.
    Ok(unsafe {
        (
            std::fs::File::from(OwnedFd::from_raw_fd(fds[0])),
            std::fs::File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    })
}

/// Forks the pause process into new user and mount namespaces, maps its IDs
/// from outside, and returns its PID once it holds them.
fn make_pause(uid: u32) -> Result<i32, UsernsError> {
    // SAFETY: getegid has no preconditions.
    let gid = unsafe { libc::getegid() };
    let (mut ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let pid = sys::clone_fork(0).map_err(|e| err("fork the pause process", e))?;
    if pid == 0 {
        drop((ready_r, go_w));
        pause_child(ready_w, go_r);
    }
    drop((ready_w, go_r));
    let mut b = [0u8; 1];
    let unshared = ready_r.read(&mut b).map_err(|e| err("pause process", e))?;
    let mapped = if unshared == 1 {
        map_ids(pid, uid, gid)
    } else {
        Err(UsernsError(
            "the kernel refused a user namespace (unshare failed)".into(),
        ))
    };
    if let Err(e) = mapped {
        if let Some(p) = crate::pid::Pid::new(pid) {
            // Our own child, not yet reaped: its PID cannot have been reused.
            let _ = sys::kill(p, libc::SIGKILL);
        }
        let _ = sys::waitpid(pid, 0);
        return Err(e);
    }
    (&go_w)
        .write_all(b"g")
        .map_err(|e| err("pause process", e))?;
    match ready_r.read(&mut b) {
        Ok(1) => Ok(pid),
        _ => {
            let _ = sys::waitpid(pid, 0);
            Err(UsernsError("the pause process failed to start".into()))
        }
    }
}

/// Writes the pause process's ID maps: the user's ID as 0 and its subordinate
/// range from 1 up (through the setuid helpers), else the user's ID alone.
fn map_ids(pid: i32, uid: u32, gid: u32) -> Result<(), UsernsError> {
    let name = user_name(uid).unwrap_or_default();
    let range = |file: &str, id: u32| {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|t| subordinate_range(&t, &name, id))
    };
    match (range("/etc/subuid", uid), range("/etc/subgid", gid)) {
        (Some((us, uc)), Some((gs, gc))) => {
            helper("newuidmap", pid, uid, us, uc)?;
            helper("newgidmap", pid, gid, gs, gc)
        }
        _ => {
            // podman's fallback without a range: one ID, so every file in a layer
            // belongs to the user; setgroups must be denied to write gid_map.
            let write = |f: &str, text: String| {
                let path = format!("/proc/{pid}/{f}");
                std::fs::write(&path, text).map_err(|e| err(&path, e))
            };
            write("setgroups", "deny".into())?;
            write("uid_map", format!("0 {uid} 1\n"))?;
            write("gid_map", format!("0 {gid} 1\n"))
        }
    }
}

fn helper(prog: &str, pid: i32, id: u32, start: u32, count: u32) -> Result<(), UsernsError> {
    let out = std::process::Command::new(prog)
        .args([pid.to_string(), "0".into(), id.to_string(), "1".into()])
        .args(["1".into(), start.to_string(), count.to_string()])
        // Not /dev/null, which some hosts keep from ordinary users.
        .stdin(std::process::Stdio::piped())
        .output()
        .map_err(|e| err(format!("{prog} (Debian's uidmap package)"), e))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(err(prog, why.trim()));
    }
    Ok(())
}

/// The pause process: unshares, waits to be mapped, then holds the namespaces
/// until it is killed. Never returns.
fn pause_child(ready: std::fs::File, mut go: std::fs::File) -> ! {
    let code = (|| -> io::Result<()> {
        sys::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS)?;
        (&ready).write_all(b"u")?;
        let mut b = [0u8; 1];
        if go.read(&mut b)? != 1 {
            return Err(io::Error::other("parent gone"));
        }
        sys::setresgid(0)?;
        sys::setresuid(0)?;
        sys::setsid()?;
        let name = CString::new(PAUSE_NAME).expect("no NUL");
        // SAFETY: a valid C string for PR_SET_NAME.
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
        std::env::set_current_dir("/")?;
        // Off the caller's terminal and pipes, so none stays open for it.
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            Ok(null) => (0..3).try_for_each(|fd| sys::dup2(null.as_raw_fd(), fd))?,
            // SAFETY: closing stdio this process never uses again.
            Err(_) => (0..3).for_each(|fd| unsafe {
                libc::close(fd);
            }),
        }
        (&ready).write_all(b"r")?;
        Ok(())
    })();
    if code.is_err() {
        // SAFETY: leaving the forked child at once.
        unsafe { libc::_exit(1) };
    }
    // Every other descriptor goes: above all the lock, which would otherwise stay
    // held for as long as this process lives.
    // SAFETY: plain integers; closing fds this process no longer uses.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_by_name_or_id() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:300000:0\n";
        assert_eq!(
            subordinate_range(text, "alice", 1000),
            Some((100000, 65536))
        );
        assert_eq!(subordinate_range(text, "carol", 1001), Some((200000, 1000)));
        // An empty range is none.
        assert_eq!(subordinate_range(text, "bob", 1002), None);
        assert_eq!(subordinate_range("garbage\n", "alice", 1000), None);
    }
}
