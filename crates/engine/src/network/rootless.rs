//! Bridge networks for an ordinary user, as podman 4 has them: the bridges,
//! veths, firewall rules and aardvark-dns live in one network namespace of the
//! user's (the "rootless network namespace", owned by the user's namespace),
//! which pasta connects to the host's network; netavark runs inside it with
//! `--rootless true`. Published ports reach the containers through a forwarder
//! of berth's ([`super::forward`]) that listens on the host and connects from
//! inside that namespace.
//!
//! The namespace is made by the first container that joins a bridge network
//! and removed once no bridge is left in it.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use berth_runtime::pid::ProcessId;
use berth_storage::Store;

use super::NetworkError;

/// pasta's interface in the namespace (named, as podman's slirp4netns one is,
/// rather than after whatever interface the host routes through).
const TAP: &str = "tap0";

/// Whether this process serves an ordinary user.
pub fn active() -> bool {
    berth_runtime::userns::rootless_uid().is_some()
}

/// Where the namespace is pinned (in the user's mount namespace).
pub fn netns_path(store: &Store) -> PathBuf {
    store.config().run_root.join("netns").join("rootless-netns")
}

/// The record of the namespace's pasta (its PID and start time); not pasta's
/// own PID file, which [`super::run_pasta`] reads and removes.
fn pasta_pid_path(store: &Store) -> PathBuf {
    store
        .config()
        .run_root
        .join("netns")
        .join("rootless-netns.json")
}

/// The pasta serving the namespace, if the one recorded still runs.
fn pasta(store: &Store) -> Option<ProcessId> {
    let text = std::fs::read_to_string(pasta_pid_path(store)).ok()?;
    let id: ProcessId = serde_json::from_str(&text).ok()?;
    id.alive().then_some(id)
}

/// The namespace, made and connected if it is not yet (or its pasta died).
/// Called with the backend lock held.
pub fn ensure(store: &Store) -> Result<PathBuf, NetworkError> {
    let ns = netns_path(store);
    if ns.exists() && pasta(store).is_some() {
        return Ok(ns);
    }
    // Its pasta died: connected again, the containers in it staying where
    // they are (a new namespace would split the network in two).
    if is_pinned(&ns) && connect(store, &ns).is_ok() {
        return Ok(ns);
    }
    crate::sys::unpin_netns(&ns);
    crate::sys::pin_new_netns(&ns).map_err(|source| NetworkError::Namespace {
        path: ns.clone(),
        source,
    })?;
    match connect(store, &ns) {
        Ok(()) => Ok(ns),
        Err(e) => {
            crate::sys::unpin_netns(&ns);
            Err(e)
        }
    }
}

/// Whether `path` is a network namespace (a pin), not a file left behind.
fn is_pinned(path: &Path) -> bool {
    std::fs::File::open(path).is_ok_and(|f| {
        // SAFETY: an ioctl on a descriptor we own; NS_GET_NSTYPE takes no argument.
        let kind = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE) };
        kind == libc::CLONE_NEWNET
    })
}

/// `ioctl_ns(2)`: the type of the namespace a descriptor refers to.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// pasta connects the namespace to the host's network (its addresses and
/// routes copied in) and forwards no port of its own: published ports go
/// through berth's forwarder, to the containers' addresses.
fn connect(store: &Store, ns: &Path) -> Result<(), NetworkError> {
    let mut cmd = std::process::Command::new("pasta");
    cmd.args(["--config-net", "--quiet", "--ns-ifname", TAP])
        .args(["-t", "none", "-u", "none", "-T", "none", "-U", "none"]);
    let id = super::run_pasta(cmd, ns)?
        .ok_or_else(|| NetworkError::Pasta("started, but wrote no PID".into()))?;
    let path = pasta_pid_path(store);
    std::fs::write(&path, serde_json::to_vec(&id).expect("serialises"))
        .map_err(NetworkError::io(&path))
}

/// Removes the namespace once no container is left on a bridge in it: only
/// its loopback, pasta's interface and bridges (which berth's own backend
/// keeps while their network exists; netavark deletes one with its last
/// container). Called with the backend lock held, so no setup is half-way
/// meanwhile.
pub fn remove_if_unused(store: &Store) {
    let ns = netns_path(store);
    let unused = |names: Vec<String>| {
        let bridges: Vec<String> = super::list(store).into_iter().map(|n| n.bridge).collect();
        names
            .iter()
            .all(|n| n == "lo" || n == TAP || bridges.contains(n))
    };
    if ns.exists() && interfaces(&ns).is_ok_and(unused) {
        remove(store);
    }
}

/// Removes the namespace and ends its pasta.
pub fn remove(store: &Store) {
    if let Some(fd) = pasta(store).and_then(|p| p.open()) {
        let _ = fd.signal(libc::SIGTERM);
        fd.wait_exit(Some(std::time::Duration::from_secs(2)));
    }
    crate::sys::unpin_netns(&netns_path(store));
    let _ = std::fs::remove_file(pasta_pid_path(store));
}

/// The names of the interfaces in the namespace at `ns`, as a thread that
/// joined it reads them.
fn interfaces(ns: &Path) -> std::io::Result<Vec<String>> {
    super::native::netlink::in_netns(Some(ns), || {
        let text = std::fs::read_to_string("/proc/thread-self/net/dev")?;
        Ok(text
            .lines()
            .skip(2)
            .filter_map(|l| Some(l.split(':').next()?.trim().to_string()))
            .collect())
    })
}
