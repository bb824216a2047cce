//! Containers whose user namespace maps IDs otherwise than the store's files are
//! owned (podman's `--uidmap`/`--gidmap`). Nothing is copied or chowned: the
//! container's overlay is built from ID-mapped mounts of its layers (Linux 5.19),
//! so inside the namespace each file has the owner the image gives it, and what
//! the container writes lands in its upper layer with unmapped owners, ready for
//! `diff` and `commit` as any other container's.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// IDs `container..container+size` in the namespace are `host..host+size`
/// outside it (one line of `uid_map`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// A container's user namespace mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

/// What the kernel shows for an ID a namespace does not map.
pub const OVERFLOW_ID: u32 = 65534;

/// The owner overlayfs's own files in a mapped container's upper layer get on
/// disk: the highest valid ID, which no image uses.
pub const OVERLAY_OWNER: u32 = u32::MAX - 1;

fn to_host(ranges: &[IdRange], id: u32) -> Option<u32> {
    ranges
        .iter()
        .find(|r| id >= r.container && id - r.container < r.size)
        .map(|r| r.host + (id - r.container))
}

fn to_container(ranges: &[IdRange], id: u32) -> Option<u32> {
    ranges
        .iter()
        .find(|r| id >= r.host && id - r.host < r.size)
        .map(|r| r.container + (id - r.host))
}

/// Two ranges of one side (`side` picks container or host IDs) that overlap.
fn overlap(ranges: &[IdRange], side: fn(&IdRange) -> u32) -> Option<(&IdRange, &IdRange)> {
    ranges.iter().enumerate().find_map(|(i, a)| {
        ranges[i + 1..].iter().find_map(|b| {
            let (sa, sb) = (u64::from(side(a)), u64::from(side(b)));
            (sa < sb + u64::from(b.size) && sb < sa + u64::from(a.size)).then_some((a, b))
        })
    })
}

impl IdMap {
    /// The host UID of the container's `uid`, if the map has it.
    pub fn host_uid(&self, uid: u32) -> Option<u32> {
        to_host(&self.uids, uid)
    }

    pub fn host_gid(&self, gid: u32) -> Option<u32> {
        to_host(&self.gids, gid)
    }

    /// The container's UID of host `uid`, if the map has it.
    pub fn container_uid(&self, uid: u32) -> Option<u32> {
        to_container(&self.uids, uid)
    }

    pub fn container_gid(&self, gid: u32) -> Option<u32> {
        to_container(&self.gids, gid)
    }

    /// What the kernel would refuse or the container could not live with, said
    /// before anything is made: no root inside, empty or overflowing ranges,
    /// ranges that overlap inside or outside.
    pub fn check(&self) -> Result<()> {
        for (what, ranges) in [("UID", &self.uids), ("GID", &self.gids)] {
            let bad = |why: String| Err(Error::Invalid(format!("{what} map: {why}")));
            if to_host(ranges, 0).is_none() {
                return bad(format!("the container's {what} 0 is not mapped"));
            }
            if let Some(r) = ranges.iter().find(|r| {
                r.size == 0
                    || r.container.checked_add(r.size).is_none()
                    || r.host.checked_add(r.size).is_none()
            }) {
                return bad(format!(
                    "range {}:{}:{} is empty or overflows",
                    r.container, r.host, r.size
                ));
            }
            for (side, get) in [
                (
                    "container",
                    (|r: &IdRange| r.container) as fn(&IdRange) -> u32,
                ),
                ("host", |r: &IdRange| r.host),
            ] {
                if let Some((a, b)) = overlap(ranges, get) {
                    return bad(format!(
                        "ranges {}:{}:{} and {}:{}:{} overlap on the {side} side",
                        a.container, a.host, a.size, b.container, b.host, b.size
                    ));
                }
            }
        }
        Ok(())
    }

    fn text(ranges: &[IdRange]) -> String {
        ranges
            .iter()
            .map(|r| format!("{} {} {}\n", r.container, r.host, r.size))
            .collect()
    }

    /// The map the container's upper layer is mounted with: the container's,
    /// plus the host's root (overlayfs works in its upper and work dirs as the
    /// mounter, root, whom an ID-mapped mount must map or refuse with
    /// EOVERFLOW) as [`OVERLAY_OWNER`], an ID no image uses. So what the
    /// container writes lands with the image's owners, unmapped, while
    /// overlayfs's own files there are the host root's, seen from the host.
    pub fn for_upper(&self) -> IdMap {
        let add = |ranges: &[IdRange]| {
            let mut r = ranges.to_vec();
            let root_mapped = r.iter().any(|x| x.host == 0);
            let top_used = to_host(ranges, OVERLAY_OWNER).is_some();
            if !root_mapped && !top_used {
                r.push(IdRange {
                    container: OVERLAY_OWNER,
                    host: 0,
                    size: 1,
                });
            }
            r
        };
        IdMap {
            uids: add(&self.uids),
            gids: add(&self.gids),
        }
    }

    /// A user namespace carrying this map, held by its descriptor: what
    /// ID-mapped mounts are marked with. A short-lived child makes it and
    /// waits on a pipe while the maps are written and the namespace opened.
    pub fn user_namespace(&self) -> Result<OwnedFd> {
        let err =
            |what: &str, e: std::io::Error| Error::Invalid(format!("ID-mapped mount: {what}: {e}"));
        let (rd, wr) = std::io::pipe().map_err(|e| err("pipe", e))?;
        // SAFETY: a raw clone without CLONE_VM acts as fork. The child only calls
        // read(2) and _exit(2), which take no lock another thread could hold.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
        if pid == 0 {
            let mut b = 0u8;
            // SAFETY: closes its copy of the write end (else the read below never
            // sees the end), reads one byte into a local, and leaves without
            // running the parent's destructors or atexit handlers.
            unsafe {
                libc::close(wr.as_raw_fd());
                libc::read(rd.as_raw_fd(), (&raw mut b).cast(), 1);
                libc::_exit(0)
            }
        }
        if pid < 0 {
            return Err(err(
                "clone a user namespace",
                std::io::Error::last_os_error(),
            ));
        }
        drop(rd);
        let made = (|| {
            std::fs::write(format!("/proc/{pid}/uid_map"), Self::text(&self.uids))
                .map_err(|e| err("write uid_map", e))?;
            std::fs::write(format!("/proc/{pid}/gid_map"), Self::text(&self.gids))
                .map_err(|e| err("write gid_map", e))?;
            let f = std::fs::File::open(format!("/proc/{pid}/ns/user"))
                .map_err(|e| err("open the user namespace", e))?;
            Ok(OwnedFd::from(f))
        })();
        drop(wr);
        // SAFETY: reaps the child made above (pid > 0, ours, not yet waited for).
        unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0) };
        made
    }
}

/// A detached clone of the mount at `dir`, its owners seen through the user
/// namespace `ns`.
pub(crate) fn mapped_clone(dir: &Path, ns: BorrowedFd) -> Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("{}: a NUL in the path", dir.display())))?;
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    // SAFETY: open_tree(2) with a NUL-terminated path that outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(Error::io(dir, std::io::Error::last_os_error()));
    }
    // SAFETY: open_tree returned a new descriptor that nothing else owns.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: ns.as_raw_fd() as u64,
    };
    // SAFETY: mount_setattr(2) on our descriptor with an attr struct of the size given.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::Invalid(format!(
            "{}: ID-mapped mount refused ({e}); --uidmap needs Linux 5.19 and a filesystem that supports ID-mapped mounts",
            dir.display()
        )));
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(container: u32, host: u32, size: u32) -> IdRange {
        IdRange {
            container,
            host,
            size,
        }
    }

    #[test]
    fn ids_go_through_their_range() {
        let m = IdMap {
            uids: vec![r(0, 100000, 1000), r(1000, 5000, 1)],
            gids: vec![r(0, 200000, 65536)],
        };
        assert_eq!(m.host_uid(0), Some(100000));
        assert_eq!(m.host_uid(999), Some(100999));
        assert_eq!(m.host_uid(1000), Some(5000));
        assert_eq!(m.host_uid(1001), None);
        assert_eq!(m.host_gid(65535), Some(265535));
        assert_eq!(m.container_uid(100999), Some(999));
        assert_eq!(m.container_uid(5000), Some(1000));
        assert_eq!(m.container_uid(0), None);
        assert!(m.check().is_ok());
    }

    #[test]
    fn maps_without_root_or_with_overlaps_are_refused() {
        let check = |uids: Vec<IdRange>| {
            IdMap {
                uids,
                gids: vec![r(0, 1000, 1)],
            }
            .check()
            .map_err(|e| e.to_string())
        };
        let e = check(vec![r(1, 100000, 10)]).unwrap_err();
        assert!(e.contains("UID 0 is not mapped"), "{e}");
        let e = check(vec![r(0, 100000, 10), r(5, 200000, 10)]).unwrap_err();
        assert!(e.contains("overlap on the container side"), "{e}");
        let e = check(vec![r(0, 100000, 10), r(10, 100005, 10)]).unwrap_err();
        assert!(e.contains("overlap on the host side"), "{e}");
        let e = check(vec![r(0, u32::MAX, 2)]).unwrap_err();
        assert!(e.contains("overflows"), "{e}");
        assert!(check(vec![r(0, 100000, 10), r(10, 100010, 10)]).is_ok());
    }
}
