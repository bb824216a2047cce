//! Containers whose user namespace maps IDs otherwise than the store's files are
//! owned (podman's `--uidmap`/`--gidmap`, `--userns keep-id|nomap|auto`).
//!
//! As root nothing is copied or chowned: the container's overlay is built from
//! ID-mapped mounts of its layers (Linux 5.19), so inside the namespace each file
//! has the owner the image gives it, and what the container writes lands in its
//! upper layer with unmapped owners, ready for `diff` and `commit` as any other
//! container's.
//!
//! A rootless store lives in the user's own user namespace, whose filesystems
//! belong to the initial one: the kernel refuses ID-mapped mounts there. Such a
//! container's layers are then mapped copies (made once per map and layer under
//! `GRAPHROOT/overlay-mapped/KEY/LAYER`, gone with their layer), and its upper
//! layer holds mapped owners, which `diff` maps back ([`IdMap::container_uid`]).
//! [`Strategy`] says which; the store chooses at create.

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

/// What the kernel shows for an ID a namespace does not map, and what a file's
/// owner becomes when a map has no way back for it.
pub const OVERFLOW_ID: u32 = 65534;

/// How a mapped container's root is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// ID-mapped mounts of the layers; the upper layer holds unmapped owners.
    #[default]
    Mounts,
    /// Mapped copies of the layers; the upper layer holds mapped owners.
    Copies,
}

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

    /// The container's UID of a host `uid`; [`OVERFLOW_ID`] when unmapped.
    pub fn container_uid(&self, uid: u32) -> u32 {
        to_container(&self.uids, uid).unwrap_or(OVERFLOW_ID)
    }

    pub fn container_gid(&self, gid: u32) -> u32 {
        to_container(&self.gids, gid).unwrap_or(OVERFLOW_ID)
    }

    /// The owner a mapped copy gives a file the image gives `uid`/`gid`: their
    /// host IDs; an ID the map leaves out goes to the container's nobody, else
    /// its root (never an ID outside the map, which another container may use).
    pub fn copy_owner(&self, uid: u32, gid: u32) -> (u32, u32) {
        let one = |ranges: &[IdRange], id: u32| {
            to_host(ranges, id)
                .or_else(|| to_host(ranges, OVERFLOW_ID))
                .or_else(|| to_host(ranges, 0))
                .unwrap_or(OVERFLOW_ID)
        };
        (one(&self.uids, uid), one(&self.gids, gid))
    }

    /// The map's short, stable name: where its layer copies live.
    pub fn key(&self) -> String {
        use sha2::Digest as _;
        let text = serde_json::to_vec(self).expect("an ID map serializes");
        let hash = sha2::Sha256::digest(&text);
        hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
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

/// `--userns auto`: a map the store picks at create, from free IDs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoRequest {
    /// `size=`: IDs in the namespace (else from the image, see [`AUTO_MIN_SIZE`]).
    pub size: Option<u32>,
    /// `uidmapping=`/`gidmapping=`: ranges the map must hold as given.
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

/// containers/storage's defaults for an estimated size: at least this many IDs…
pub const AUTO_MIN_SIZE: u32 = 1024;
/// …and at most this many.
pub const AUTO_MAX_SIZE: u32 = 65536;

/// Host IDs containers may take, as /etc/subuid gives them: (start, count)
/// ranges of UIDs and of GIDs.
pub type Available<'a> = (&'a [(u32, u32)], &'a [(u32, u32)]);

/// Half-open intervals of IDs, sorted and disjoint.
type Ids = Vec<(u64, u64)>;

fn subtract(set: &[(u64, u64)], cut: &[(u64, u64)]) -> Ids {
    let mut out = Vec::new();
    for &(mut s, e) in set {
        let mut cuts: Vec<_> = cut.iter().filter(|c| c.0 < e && c.1 > s).collect();
        cuts.sort();
        for c in cuts {
            if c.0 > s {
                out.push((s, c.0));
            }
            s = s.max(c.1);
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

fn host_ids(ranges: &[IdRange]) -> Ids {
    let mut v: Ids = ranges
        .iter()
        .map(|r| (u64::from(r.host), u64::from(r.host) + u64::from(r.size)))
        .collect();
    v.sort();
    v
}

/// One side of an automatic map: container IDs `0..size` (less those `extra`
/// maps itself) on the first free host IDs of `available` that no map in `used`
/// and no `extra` range holds, then `extra` as given.
fn pick_side(
    size: u32,
    available: &[(u32, u32)],
    used: &[&[IdRange]],
    extra: &[IdRange],
) -> Result<Vec<IdRange>> {
    let avail: Ids = available
        .iter()
        .map(|&(s, n)| (u64::from(s), u64::from(s) + u64::from(n)))
        .collect();
    let mut taken: Ids = used.iter().flat_map(|r| host_ids(r)).collect();
    taken.extend(host_ids(extra));
    let mut free = subtract(&avail, &taken);
    free.sort();
    let own: Ids = extra
        .iter()
        .map(|r| {
            (
                u64::from(r.container),
                u64::from(r.container) + u64::from(r.size),
            )
        })
        .collect();
    let wanted = subtract(&[(0, u64::from(size))], &own);
    let need: u64 = wanted.iter().map(|(s, e)| e - s).sum();
    if free.iter().map(|(s, e)| e - s).sum::<u64>() < need {
        return Err(Error::Invalid("could not find enough available IDs".into()));
    }
    let mut out = Vec::new();
    let (mut fi, mut fs) = (0, free.first().map_or(0, |f| f.0));
    for (mut ws, we) in wanted {
        while ws < we {
            let (_, fe) = free[fi];
            let n = (we - ws).min(fe - fs);
            out.push(IdRange {
                container: ws as u32,
                host: fs as u32,
                size: n as u32,
            });
            ws += n;
            fs += n;
            if fs == fe && fi + 1 < free.len() {
                fi += 1;
                fs = free[fi].0;
            }
        }
    }
    out.extend(extra.iter().cloned());
    Ok(out)
}

/// The map of a `--userns auto` container of `size` IDs, from the host IDs
/// `uids`/`gids` (start, count) that the maps of `used` (every other
/// container's) leave free: podman's allocation, first fit.
pub fn pick_auto(
    size: u32,
    req: &AutoRequest,
    (uids, gids): Available,
    used: &[&IdMap],
) -> Result<IdMap> {
    let used_u: Vec<&[IdRange]> = used.iter().map(|m| m.uids.as_slice()).collect();
    let used_g: Vec<&[IdRange]> = used.iter().map(|m| m.gids.as_slice()).collect();
    let map = IdMap {
        uids: pick_side(size, uids, &used_u, &req.uids)?,
        gids: pick_side(size, gids, &used_g, &req.gids)?,
    };
    map.check()?;
    Ok(map)
}

/// The size podman estimates for an image: one more than the highest owner of
/// its files and the highest ID its /etc/passwd and /etc/group name (nobody's
/// left out), at least [`AUTO_MIN_SIZE`]; above [`AUTO_MAX_SIZE`] refused.
pub fn auto_size(highest_owner: Option<u32>, from_files: u32) -> Result<u32> {
    let size = highest_owner
        .map_or(0, |h| h.saturating_add(1))
        .max(from_files)
        .max(AUTO_MIN_SIZE);
    if size > AUTO_MAX_SIZE {
        return Err(Error::Invalid(format!(
            "the container needs a user namespace with size {size} that is bigger than the maximum value allowed with userns=auto {AUTO_MAX_SIZE}"
        )));
    }
    Ok(size)
}

/// The highest ID a passwd or group file names (field `fields` of each line
/// among `cols`), nobody's (65534 or the names nobody/nogroup) left out, plus one.
pub fn ids_in_account_file(text: &str, cols: &[usize]) -> u32 {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] != "nobody" && f[0] != "nogroup").then_some(f)
        })
        .flat_map(|f| {
            cols.iter()
                .filter_map(|&c| f.get(c)?.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|&id| id != OVERFLOW_ID)
        .map(|id| id.saturating_add(1))
        .max()
        .unwrap_or(0)
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
        assert_eq!(m.container_uid(100999), 999);
        assert_eq!(m.container_uid(5000), 1000);
        assert_eq!(m.container_uid(0), OVERFLOW_ID);
        assert!(m.check().is_ok());
    }

    #[test]
    fn ids_map_back_and_the_unmapped_overflow() {
        let m = IdMap {
            uids: vec![r(0, 1, 1000), r(1000, 0, 1), r(1001, 1001, 64535)],
            gids: vec![r(0, 1, 65536)],
        };
        assert_eq!(m.container_uid(0), 1000);
        assert_eq!(m.container_uid(1), 0);
        assert_eq!(m.container_uid(1001), 1001);
        assert_eq!(m.container_uid(70000), OVERFLOW_ID);
        assert_eq!(m.container_gid(0), OVERFLOW_ID);
        assert_eq!(m.copy_owner(0, 0), (1, 1));
        assert_eq!(m.copy_owner(1000, 5), (0, 6));
        assert_eq!(m.key(), m.clone().key());
        assert_ne!(m.key(), IdMap::default().key());
    }

    #[test]
    fn auto_maps_take_the_first_free_ids_and_keep_given_ranges() {
        let avail: &[(u32, u32)] = &[(100000, 5000)];
        let a = pick_auto(1024, &AutoRequest::default(), (avail, avail), &[]).unwrap();
        assert_eq!(a.uids, vec![r(0, 100000, 1024)]);
        // A second one starts after the first; a third across a hole.
        let b = pick_auto(1024, &AutoRequest::default(), (avail, avail), &[&a]).unwrap();
        assert_eq!(b.uids, vec![r(0, 101024, 1024)]);
        let c = pick_auto(2048, &AutoRequest::default(), (avail, avail), &[&b]).unwrap();
        assert_eq!(c.uids, vec![r(0, 100000, 1024), r(1024, 102048, 1024)]);
        let e = pick_auto(4000, &AutoRequest::default(), (avail, avail), &[&a, &b]).unwrap_err();
        assert!(
            e.to_string()
                .contains("could not find enough available IDs"),
            "{e}"
        );
        // uidmapping=0:5000:1: container 0 is host 5000; the rest from the pool.
        let req = AutoRequest {
            size: None,
            uids: vec![r(0, 5000, 1)],
            gids: Vec::new(),
        };
        let d = pick_auto(1024, &req, (avail, avail), &[]).unwrap();
        assert_eq!(d.uids, vec![r(1, 100000, 1023), r(0, 5000, 1)]);
        assert_eq!(d.gids, vec![r(0, 100000, 1024)]);
    }

    #[test]
    fn auto_sizes_follow_the_image() {
        assert_eq!(auto_size(Some(0), 0).unwrap(), 1024);
        assert_eq!(auto_size(Some(3000), 0).unwrap(), 3001);
        assert_eq!(auto_size(None, 2001).unwrap(), 2001);
        let e = auto_size(Some(70000), 0).unwrap_err().to_string();
        assert!(
            e.contains("bigger than the maximum value allowed with userns=auto 65536"),
            "{e}"
        );
        let passwd = "root:x:0:0::/root:/bin/sh\nwww:x:33:33::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
        assert_eq!(ids_in_account_file(passwd, &[2, 3]), 34);
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
