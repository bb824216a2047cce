//! overlayfs mounts through the new mount API.
//!
//! Lowerdirs are handed to the kernel one per `fsconfig(FSCONFIG_SET_STRING,
//! "lowerdir+", …)` call (Linux ≥ 6.8), so the page-size limit of a single
//! `lowerdir=a:b:c` option string never applies however many layers an image has;
//! and each directory is named by an `O_PATH` descriptor as `/proc/self/fd/N`, so
//! fsconfig's 256-byte limit on one value never applies however long the graphroot's
//! path is. (containers/storage's short `l/` links exist to squeeze that string.)
//!
//! Kernels before 6.8 do not know `lowerdir+`; there the lowers go in one
//! `lowerdir=` option of a classic mount(2), still named by descriptor, which
//! keeps each at about 17 bytes of the page-sized option string (some 200 layers).

use std::path::{Path, PathBuf};

use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::{CWD, Mode, OFlags};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags, fsconfig_create,
    fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount, unmount,
};

use crate::error::{Error, Result};

fn driver_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Driver {
        driver: "overlay".into(),
        message: format!("{what}: {e}"),
    }
}

/// Mounts an overlay at `target`: `lowers` top first, optional upper and work dirs
/// (none: a read-only mount of the lowers).
pub fn mount(
    lowers: &[&Path],
    upper: Option<(&Path, &Path)>,
    target: &Path,
    extra: Option<&str>,
) -> Result<()> {
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| driver_err("fsopen", e))?;
    fsconfig_set_string(&fs, "source", "overlay").map_err(|e| driver_err("source", e))?;
    for (i, l) in lowers.iter().enumerate() {
        let fd = open_path(l)?;
        let r = fsconfig_set_string(&fs, "lowerdir+", fd_name(&fd));
        if i == 0 && r == Err(rustix::io::Errno::INVAL) {
            // An overlayfs older than Linux 6.8.
            return mount_legacy(lowers, upper, target, extra);
        }
        r.map_err(|e| {
            driver_err(
                &format!("lowerdir {} ({} of {})", l.display(), i + 1, lowers.len()),
                e,
            )
        })?;
    }
    if let Some((up, work)) = upper {
        let (u, w) = (open_path(up)?, open_path(work)?);
        fsconfig_set_string(&fs, "upperdir", fd_name(&u)).map_err(|e| driver_err("upperdir", e))?;
        fsconfig_set_string(&fs, "workdir", fd_name(&w)).map_err(|e| driver_err("workdir", e))?;
    }
    if rootless() {
        fsconfig_set_flag(&fs, "userxattr").map_err(|e| driver_err("userxattr", e))?;
    }
    if let Some(extra) = extra {
        for opt in extra.split(',').filter(|o| !o.is_empty()) {
            match opt.split_once('=') {
                Some((k, v)) => fsconfig_set_string(&fs, k, v),
                None => fsconfig_set_flag(&fs, opt),
            }
            .map_err(|e| driver_err(&format!("mount option {opt}"), e))?;
        }
    }
    match fsconfig_create(&fs) {
        Ok(()) => {}
        // Before Linux 6.8 overlayfs may take the options through its legacy
        // parser and refuse `lowerdir+` only now.
        Err(rustix::io::Errno::INVAL) if !lowers.is_empty() => {
            return mount_legacy(lowers, upper, target, extra);
        }
        Err(e) => return Err(driver_err("create", e)),
    }
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())
        .map_err(|e| driver_err("fsmount", e))?;
    std::fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
    move_mount(
        &mnt,
        "",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| driver_err(&format!("move_mount to {}", target.display()), e))
}

/// [`mount`] with every layer seen through a user namespace (Linux 5.19's
/// ID-mapped layers): the lowers through `ns.0`, the upper and work dirs, which
/// must share a mount, through one clone of their parent mapped by `ns.1`.
/// Each clone is attached under `scratch` just long enough for the overlay to
/// take it.
pub fn mount_idmapped(
    lowers: &[&Path],
    (up, work): (&Path, &Path),
    target: &Path,
    extra: Option<&str>,
    ns: (std::os::fd::BorrowedFd, std::os::fd::BorrowedFd),
    scratch: &Path,
) -> Result<()> {
    let base = up.parent().filter(|p| Some(*p) == work.parent());
    let base = base.ok_or_else(|| driver_err("ID-mapped upper", "upper and work dirs apart"))?;
    clear_scratch(scratch)?;
    std::fs::create_dir_all(scratch).map_err(|e| Error::io(scratch, e))?;
    let mut attached = Vec::new();
    let made = (|| {
        for (i, dir) in lowers.iter().copied().chain([base]).enumerate() {
            let at = scratch.join(i.to_string());
            std::fs::create_dir(&at).map_err(|e| Error::io(&at, e))?;
            let by = if i < lowers.len() { ns.0 } else { ns.1 };
            let tree = crate::idmap::mapped_clone(dir, by)?;
            move_mount(&tree, "", CWD, &at, MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH)
                .map_err(|e| driver_err(&format!("attach {}", at.display()), e))?;
            attached.push(at);
        }
        let (top, lows) = attached.split_last().expect("the upper's parent");
        let lows: Vec<&Path> = lows.iter().map(PathBuf::as_path).collect();
        let names = |p: &Path| top.join(p.file_name().expect("a named dir"));
        mount(&lows, Some((&names(up), &names(work))), target, extra)
    })();
    // The overlay holds its own clones of the layers now: ours go.
    let cleared = clear_scratch(scratch);
    made.and(cleared)
}

/// Detaches whatever an interrupted [`mount_idmapped`] left under `scratch`
/// and removes it.
fn clear_scratch(scratch: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return Ok(());
    };
    detach_below(scratch);
    for e in entries.flatten() {
        let p = e.path();
        std::fs::remove_dir(&p).map_err(|e| Error::io(&p, e))?;
    }
    std::fs::remove_dir(scratch).map_err(|e| Error::io(scratch, e))
}

/// In a user namespace overlayfs keeps its whiteouts and opaque marks in
/// `user.overlay.*` xattrs (`userxattr`), the only ones its root may write.
fn rootless() -> bool {
    crate::config::rootless_uid().is_some()
}

/// [`mount`] through mount(2) with one option string, for kernels without
/// `lowerdir+`.
pub fn mount_legacy(
    lowers: &[&Path],
    upper: Option<(&Path, &Path)>,
    target: &Path,
    extra: Option<&str>,
) -> Result<()> {
    // The descriptors stay open until the kernel has resolved their names.
    let fds = lowers
        .iter()
        .map(|l| open_path(l))
        .collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = fds.iter().map(fd_name).collect();
    let mut data = format!("lowerdir={}", names.join(":"));
    let upper_fds = match upper {
        Some((up, work)) => Some((open_path(up)?, open_path(work)?)),
        None => None,
    };
    if let Some((u, w)) = &upper_fds {
        data.push_str(&format!(",upperdir={},workdir={}", fd_name(u), fd_name(w)));
    }
    if rootless() {
        data.push_str(",userxattr");
    }
    if let Some(extra) = extra.filter(|e| !e.is_empty()) {
        data.push(',');
        data.push_str(extra);
    }
    // mount(2) copies one page of options.
    if data.len() >= 4096 {
        return Err(driver_err(
            "mount",
            format!(
                "{} layers do not fit in one mount option string on this kernel (Linux < 6.8)",
                lowers.len()
            ),
        ));
    }
    std::fs::create_dir_all(target).map_err(|e| Error::io(target, e))?;
    let flags = if upper.is_none() {
        rustix::mount::MountFlags::RDONLY
    } else {
        rustix::mount::MountFlags::empty()
    };
    let data = std::ffi::CString::new(data).map_err(|e| driver_err("mount options", e))?;
    rustix::mount::mount("overlay", target, "overlay", flags, data.as_c_str())
        .map_err(|e| driver_err(&format!("mount on {}", target.display()), e))
}

fn open_path(p: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        p,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(p, e.into()))
}

fn fd_name(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Unmounts `target` (lazily when busy); not mounted is not an error.
pub fn unmount_path(target: &Path) -> Result<()> {
    match unmount(target, UnmountFlags::empty()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(rustix::io::Errno::BUSY) => unmount(target, UnmountFlags::DETACH)
            .map_err(|e| driver_err(&format!("unmount {}", target.display()), e)),
        Err(e) => Err(driver_err(&format!("unmount {}", target.display()), e)),
    }
}

/// Whether `path` is a mount point in this mount namespace.
pub fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|m| unescape_mountinfo(m) == want.as_ref())
    })
}

/// Detaches every mount below `dir`, deepest first: what a killed process left
/// (a merged root, a layer's ID-mapped clone) must never be walked into by a
/// removal, which would delete the files of what is mounted there.
pub fn detach_below(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut below: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mountinfo(m)))
        .filter(|m| m.starts_with(dir) && m != dir)
        .collect();
    below.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for m in below {
        let _ = unmount(&m, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW);
    }
}

/// A mount point as /proc/self/mountinfo writes it, with its octal escapes undone.
pub fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    /// The mount(2) path older kernels take, exercised here on whatever kernel
    /// runs the tests: upper layers win, the upper dir takes the writes.
    #[test]
    fn legacy_mount_stacks_lowers_and_writes_to_upper() {
        if !as_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let d = |n: &str| {
            let p = t.path().join(n);
            std::fs::create_dir_all(&p).unwrap();
            p
        };
        let (bottom, middle, top) = (d("bottom"), d("middle"), d("top"));
        std::fs::write(bottom.join("a"), "bottom").unwrap();
        std::fs::write(bottom.join("b"), "bottom").unwrap();
        std::fs::write(middle.join("b"), "middle").unwrap();
        std::fs::write(top.join("c"), "top").unwrap();
        let (upper, work, target) = (d("upper"), d("work"), t.path().join("merged"));
        mount_legacy(
            &[&top, &middle, &bottom],
            Some((&upper, &work)),
            &target,
            None,
        )
        .unwrap();
        let read = |n: &str| std::fs::read_to_string(target.join(n)).unwrap();
        let seen = (read("a"), read("b"), read("c"));
        std::fs::write(target.join("new"), "written").unwrap();
        let in_upper = std::fs::read_to_string(upper.join("new"));
        unmount_path(&target).unwrap();
        assert_eq!(seen, ("bottom".into(), "middle".into(), "top".into()));
        assert_eq!(in_upper.unwrap(), "written");
        assert!(!is_mounted(&target));
        // Read-only without an upper dir.
        mount_legacy(&[&middle, &bottom], None, &target, None).unwrap();
        let w = std::fs::write(target.join("x"), "no");
        unmount_path(&target).unwrap();
        assert!(w.is_err(), "a mount without upper dir must be read-only");
    }
}
