//! overlayfs mounts through the new mount API.
//!
//! Lowerdirs are handed to the kernel one per `fsconfig(FSCONFIG_SET_STRING,
//! "lowerdir+", …)` call (Linux ≥ 6.8), so the page-size limit of a single
//! `lowerdir=a:b:c` option string never applies however many layers an image has;
//! and each directory is named by an `O_PATH` descriptor as `/proc/self/fd/N`, so
//! fsconfig's 256-byte limit on one value never applies however long the graphroot's
//! path is. (containers/storage's short `l/` links exist to squeeze that string.)

use std::path::Path;

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
        fsconfig_set_string(&fs, "lowerdir+", fd_name(&fd)).map_err(|e| {
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
    if let Some(extra) = extra {
        for opt in extra.split(',').filter(|o| !o.is_empty()) {
            match opt.split_once('=') {
                Some((k, v)) => fsconfig_set_string(&fs, k, v),
                None => fsconfig_set_flag(&fs, opt),
            }
            .map_err(|e| driver_err(&format!("mount option {opt}"), e))?;
        }
    }
    fsconfig_create(&fs).map_err(|e| driver_err("create", e))?;
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
            .is_some_and(|m| unescape(m) == want.as_ref())
    })
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}
