//! ID-mapped bind mounts (`idmap`/`ridmap` options or a mount's own uid/gid mappings):
//! a user namespace carrying the mappings is made by a short-lived child, and the
//! cloned mount tree is marked MOUNT_ATTR_IDMAP with it before being moved in place.

use crate::error::{Context, Result};
use crate::mountopts::MountFlags;
use crate::spec::{IdMapping, Mount};
use crate::sys;
use std::ffi::CStr;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};

pub fn map_text(maps: &[IdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

/// A user namespace with the given mappings, held open by fd.
pub fn userns_with(uid: &[IdMapping], gid: &[IdMapping]) -> Result<OwnedFd> {
    let (rd, wr) = std::io::pipe().ctx("pipe")?;
    let pid = sys::clone_fork(libc::CLONE_NEWUSER)
        .ctx("create a user namespace for the id-mapped mount")?;
    if pid == 0 {
        drop(wr);
        let mut rd = rd;
        let mut b = [0u8; 1];
        let _ = rd.read(&mut b);
        // SAFETY: _exit in the forked child, skipping the parent's atexit handlers.
        unsafe { libc::_exit(0) };
    }
    drop(rd);
    let result = (|| {
        std::fs::write(format!("/proc/{pid}/uid_map"), map_text(uid)).ctx("write uid_map")?;
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny").ok();
        std::fs::write(format!("/proc/{pid}/gid_map"), map_text(gid)).ctx("write gid_map")?;
        let path = sys::cstr(&format!("/proc/{pid}/ns/user")).ctx("path")?;
        sys::openat(libc::AT_FDCWD, &path, libc::O_RDONLY, 0).ctx("open user namespace")
    })();
    drop(wr);
    let _ = sys::waitpid(pid, 0);
    result
}

/// The user namespace an id-mapped mount needs, made by the runtime before the fork:
/// the init lives in a new pid namespace where the helper's /proc entry is unreachable.
/// Without mappings of its own the mount takes the container's.
pub fn userns_for(
    m: &Mount,
    container_uid: &[IdMapping],
    container_gid: &[IdMapping],
) -> Result<OwnedFd> {
    let (uid, gid) = if m.uid_mappings.is_empty() {
        (container_uid.to_vec(), container_gid.to_vec())
    } else {
        (m.uid_mappings.clone(), m.gid_mappings.clone())
    };
    if uid.is_empty() || gid.is_empty() {
        bail!(
            "id-mapped mount {} needs uid and gid mappings",
            m.destination
        );
    }
    userns_with(&uid, &gid)
}

pub fn idmapped_bind(ns: &OwnedFd, src: &CStr, target: &OwnedFd, opts: &MountFlags) -> Result<()> {
    let tree = sys::open_tree_clone(src, opts.recursive_bind).ctx("clone the mount tree")?;
    sys::mount_setattr(
        tree.as_raw_fd(),
        c"",
        opts.recursive_bind,
        sys::MOUNT_ATTR_IDMAP,
        0,
        Some(ns.as_raw_fd()),
    )
    .ctx("id-map the mount")?;
    sys::move_mount(tree.as_raw_fd(), target.as_raw_fd()).ctx("move the id-mapped mount in place")
}
