//! Processes that may be signalled, and only those.
//!
//! `kill(0, sig)` signals the caller's whole process group and `kill(-1, sig)`
//! every process the caller may signal; a pid read from a file may also have
//! been recycled by an unrelated process since it was written. So nothing here
//! takes a raw integer: a [`Pid`] is positive by construction, a [`ProcessId`]
//! pairs it with the process's start time, and signals go through a [`PidFd`]
//! opened on a process whose start time was checked after the descriptor pinned
//! it.

use std::io;
use std::num::NonZeroI32;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A process id greater than zero: never a process group, never "everyone".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Pid(NonZeroI32);

impl Pid {
    /// `raw` when it names a single process (> 0).
    pub fn new(raw: i32) -> Option<Pid> {
        if raw > 0 {
            NonZeroI32::new(raw).map(Pid)
        } else {
            None
        }
    }

    /// This process.
    pub fn this() -> Pid {
        Pid::new(std::process::id() as i32).expect("a process's own pid is positive")
    }

    pub fn get(self) -> i32 {
        self.0.get()
    }

    /// Parses a pid file's content.
    pub fn parse(text: &str) -> Option<Pid> {
        text.trim().parse().ok().and_then(Pid::new)
    }
}

/// A number that cannot be a process id (0, or negative).
#[derive(Debug)]
pub struct NotAPid(pub i32);

impl std::fmt::Display for NotAPid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a process id", self.0)
    }
}

impl std::error::Error for NotAPid {}

impl TryFrom<i32> for Pid {
    type Error = NotAPid;
    fn try_from(raw: i32) -> Result<Pid, NotAPid> {
        Pid::new(raw).ok_or(NotAPid(raw))
    }
}

impl From<Pid> for i32 {
    fn from(p: Pid) -> i32 {
        p.get()
    }
}

impl std::fmt::Display for Pid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The start time of a live (not zombie) process, in clock ticks since boot
/// (`/proc/PID/stat` field 22).
pub fn start_time(pid: Pid) -> Option<u64> {
    stat(pid).filter(|s| !s.exited).map(|s| s.start)
}

struct Stat {
    /// A zombie, or dead: exited but not reaped.
    exited: bool,
    start: u64,
}

fn stat(pid: Pid) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split(' ').collect();
    Some(Stat {
        // fields[0] is the state (field 3).
        exited: matches!(fields.first(), Some(&"Z") | Some(&"X")),
        start: fields.get(19)?.parse().ok()?,
    })
}

/// One particular process: its pid and its start time, which together are
/// never reused while the machine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: Pid,
    pub start: u64,
}

impl ProcessId {
    /// The process that `pid` names now, if any: running, or exited and not
    /// yet reaped by its parent (a container that exits at once is still
    /// recorded, and then found not [`alive`](Self::alive)).
    pub fn of(pid: Pid) -> Option<ProcessId> {
        stat(pid).map(|s| ProcessId {
            pid,
            start: s.start,
        })
    }

    /// This process.
    pub fn this() -> ProcessId {
        ProcessId::of(Pid::this()).expect("this process is alive")
    }

    /// Whether this very process still runs.
    pub fn alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }

    /// A descriptor for this very process, or None when it is gone (its pid
    /// free or taken by another process).
    pub fn open(&self) -> Option<PidFd> {
        let fd = PidFd::open(self.pid).ok()??;
        // The descriptor pins whatever runs as pid now; if that is still our
        // process, it is ours for as long as the descriptor lives.
        self.alive().then_some(fd)
    }
}

/// A pidfd: signals through it reach the process it was opened on, or none.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// A pidfd for `pid`; None when no such process exists.
    pub fn open(pid: Pid) -> io::Result<Option<PidFd>> {
        // SAFETY: pidfd_open takes a pid and flags; the result is a new descriptor.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.get(), 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::ESRCH) {
                Ok(None)
            } else {
                Err(e)
            };
        }
        // SAFETY: the kernel returned a new descriptor that nothing else owns.
        Ok(Some(PidFd(unsafe { OwnedFd::from_raw_fd(r as RawFd) })))
    }

    /// Sends `sig`; Ok(false) when the process has exited already.
    pub fn signal(&self, sig: i32) -> io::Result<bool> {
        // SAFETY: pidfd_send_signal on a descriptor we own, no siginfo, no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            Ok(false)
        } else {
            Err(e)
        }
    }

    /// Waits until the process exits, at most `timeout`; true when it did.
    pub fn wait_exit(&self, timeout: Option<Duration>) -> bool {
        let mut p = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            let ms = left.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
            // SAFETY: p is one valid pollfd.
            let r = unsafe { libc::poll(&mut p, 1, ms) };
            if r > 0 {
                return true;
            }
            if r == 0 {
                return false;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return false;
            }
        }
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pid_names_a_group_or_everyone() {
        assert_eq!(Pid::new(0), None);
        assert_eq!(Pid::new(-1), None);
        assert_eq!(Pid::new(-42), None);
        assert_eq!(Pid::parse(" 17\n").map(Pid::get), Some(17));
        assert_eq!(Pid::parse("0"), None);
        assert!(serde_json::from_str::<Pid>("0").is_err());
        assert!(serde_json::from_str::<Pid>("-1").is_err());
    }

    #[test]
    fn a_process_is_known_by_its_start_time() {
        let me = ProcessId::this();
        assert!(me.alive());
        assert!(me.open().is_some());
        let other = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive(), "a recycled pid is another process");
        assert!(other.open().is_none());
    }

    #[test]
    fn signals_go_through_the_pidfd() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let id = ProcessId::of(Pid::new(child.id() as i32).unwrap()).unwrap();
        let fd = id.open().expect("running");
        assert!(!fd.wait_exit(Some(Duration::from_millis(1))));
        assert!(fd.signal(libc::SIGKILL).unwrap());
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        assert!(!id.alive());
        assert!(id.open().is_none());
    }
}
