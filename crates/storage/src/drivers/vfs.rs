//! vfs: every layer a full copy of its parent's tree plus its own changes.
//! The copy keeps modes, owners, times, xattrs, device nodes and hardlinks.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, Timespec, Timestamps, XattrFlags};

use crate::archive::diff::xattrs;
use crate::error::{IoContext, Result};
use crate::idmap::IdMap;

/// Copies the tree `src` into the existing directory `dst`.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    copy_tree_mapped(src, dst, None)
}

/// [`copy_tree`], each owner through `map` ([`IdMap::copy_owner`]): a layer as
/// a container in a user namespace of its own must see it.
pub fn copy_tree_mapped(src: &Path, dst: &Path, map: Option<&IdMap>) -> Result<()> {
    let mut links = HashMap::new();
    copy_children(src, dst, map, &mut links)?;
    copy_meta(src, dst, &fs::symlink_metadata(src).at(src)?, map)
}

fn copy_children(
    src: &Path,
    dst: &Path,
    map: Option<&IdMap>,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<()> {
    for e in fs::read_dir(src).at(src)? {
        let e = e.at(src)?;
        let (s, d) = (e.path(), dst.join(e.file_name()));
        let md = fs::symlink_metadata(&s).at(&s)?;
        let ft = md.file_type();
        if ft.is_dir() {
            fs::create_dir(&d).at(&d)?;
            copy_children(&s, &d, map, links)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s).at(&s)?, &d).at(&d)?;
        } else if ft.is_file() {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = links.get(&key) {
                    fs::hard_link(first, &d).at(&d)?;
                    continue;
                }
                links.insert(key, d.clone());
            }
            fs::copy(&s, &d).at(&d)?;
        } else {
            let kind = if ft.is_char_device() {
                FileType::CharacterDevice
            } else if ft.is_block_device() {
                FileType::BlockDevice
            } else if ft.is_fifo() {
                FileType::Fifo
            } else {
                continue;
            };
            rustix::fs::mknodat(CWD, &d, kind, Mode::from_raw_mode(0o600), md.rdev()).at(&d)?;
        }
        copy_meta(&s, &d, &md, map)?;
    }
    Ok(())
}

fn copy_meta(src: &Path, dst: &Path, md: &fs::Metadata, map: Option<&IdMap>) -> Result<()> {
    let symlink = md.file_type().is_symlink();
    let (uid, gid) = match map {
        Some(m) => m.copy_owner(md.uid(), md.gid()),
        None => (md.uid(), md.gid()),
    };
    rustix::fs::chownat(
        CWD,
        dst,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .at(dst)?;
    // An owner the map lacks went to another ID: a setuid or setgid bit
    // must not come along to it (a setuid-5000 file is no setuid-root one).
    let mut mode = md.mode() & 0o7777;
    if map.is_some_and(|m| m.host_uid(md.uid()).is_none() || m.host_gid(md.gid()).is_none()) {
        mode &= !0o6000;
    }
    if !symlink {
        rustix::fs::chmodat(CWD, dst, Mode::from_raw_mode(mode), AtFlags::empty()).at(dst)?;
        for (k, v) in xattrs(src)? {
            rustix::fs::lsetxattr(dst, OsStr::from_bytes(&k), &v, XattrFlags::empty()).at(dst)?;
        }
    }
    let t = |s: i64, n: i64| Timespec {
        tv_sec: s,
        tv_nsec: n as _,
    };
    let ts = Timestamps {
        last_access: t(md.atime(), md.atime_nsec()),
        last_modification: t(md.mtime(), md.mtime_nsec()),
    };
    rustix::fs::utimensat(CWD, dst, &ts, AtFlags::SYMLINK_NOFOLLOW).at(dst)
}
