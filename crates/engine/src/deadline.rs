//! `--timeout`: a container that runs longer than its time is killed, as
//! conmon's timeout does; its exit code is then -1, podman's.

use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use berth_runtime::pid::{Pid, ProcessId};

use crate::sys::Ended;

/// The exit code of a container its deadline killed.
pub const TIMED_OUT: i32 = -1;

/// Watches the container's init `pid` on a thread of `scope` for `secs`
/// seconds (None or 0: no deadline), and SIGKILLs it through a pidfd when the
/// time is up. The handle answers whether it did; the thread ends as soon as
/// the process does.
pub fn watch<'scope>(
    scope: &'scope Scope<'scope, '_>,
    pid: Pid,
    secs: Option<u64>,
) -> Option<ScopedJoinHandle<'scope, bool>> {
    use std::os::fd::AsRawFd;
    let limit = Duration::from_secs(secs.filter(|s| *s > 0)?);
    let pidfd = ProcessId::of(pid).and_then(|p| p.open())?;
    Some(scope.spawn(move || {
        let ended = crate::sys::poll_readable(&[pidfd.as_raw_fd()], Some(limit));
        match ended {
            Ok(r) if !r[0] => pidfd.signal(libc::SIGKILL).unwrap_or(false),
            _ => false,
        }
    }))
}

/// The exit code to record: [`TIMED_OUT`] when the deadline killed it.
pub fn code(watcher: Option<ScopedJoinHandle<'_, bool>>, code: i32) -> i32 {
    ended(watcher, Ended::Exited(code)).code()
}

/// How the process ended, [`TIMED_OUT`] when the deadline killed it.
pub fn ended(watcher: Option<ScopedJoinHandle<'_, bool>>, ended: Ended) -> Ended {
    match watcher.map(|w| w.join()) {
        Some(Ok(true)) => Ended::Exited(TIMED_OUT),
        _ => ended,
    }
}
