//! Producing a layer's changes as a tar with OCI whiteouts: in overlay form from the
//! upper directory (0/0 character devices become `.wh.NAME`, opaque directories get a
//! `.wh..wh..opq` entry), in vfs form by comparing the layer's tree with its parent's.
//! Entries are written in name order, so the same tree gives the same bytes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_image::Digest;
use berth_image::digest::{Algorithm, DigestingWriter};
use tar::{Builder, EntryType, Header};

use super::{
    OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR, WHITEOUT_PREFIX, WhiteoutMode,
};
use crate::error::{Error, IoContext, Result};

/// What writing a diff produced.
#[derive(Clone, Debug)]
pub struct DiffReport {
    /// sha256 of the tar written.
    pub diff_id: Digest,
    pub size: u64,
    pub entries: u64,
}

/// Writes the changes of `layer` as an uncompressed tar to `out`. In overlay mode the
/// directory holds only changes; in delete (vfs) mode it is a full tree compared with
/// `parent` (none: everything is new).
pub fn write_diff<W: Write>(
    layer: &Path,
    parent: Option<&Path>,
    mode: WhiteoutMode,
    out: W,
) -> Result<DiffReport> {
    write_diff_mapped(layer, parent, mode, out, None)
}

/// [`write_diff`], each owner mapped back through `owners` (host to
/// container IDs) when given: a layer whose files hold mapped owners.
pub fn write_diff_mapped<W: Write>(
    layer: &Path,
    parent: Option<&Path>,
    mode: WhiteoutMode,
    out: W,
    owners: Option<&crate::idmap::IdMap>,
) -> Result<DiffReport> {
    let opts = DiffOptions {
        skip: &HashSet::new(),
        mtime: None,
        owners,
    };
    let (inner, entries) = write_tar(
        layer,
        parent,
        mode,
        DigestingWriter::new(out, Algorithm::Sha256),
        &opts,
    )?;
    let (_, diff_id, size) = inner.finish();
    Ok(DiffReport {
        diff_id,
        size,
        entries,
    })
}

/// [`write_diff`] without hashing what it writes, for a reader that hashes it
/// anyway (as `commit` applying it as a new layer does). Returns the entries.
/// `mtime`, when given, is every entry's modification time (reproducible builds,
/// `--timestamp`).
pub fn write_diff_unhashed<W: Write>(
    layer: &Path,
    parent: Option<&Path>,
    mode: WhiteoutMode,
    out: W,
    skip: &HashSet<PathBuf>,
    mtime: Option<u64>,
) -> Result<u64> {
    let opts = DiffOptions {
        skip,
        mtime,
        owners: None,
    };
    write_diff_with(layer, parent, mode, out, &opts)
}

/// How [`write_diff_with`] writes a diff.
pub struct DiffOptions<'a> {
    /// Paths (relative) left out with what is below them.
    pub skip: &'a HashSet<PathBuf>,
    /// Every entry's modification time, when fixed.
    pub mtime: Option<u64>,
    /// The map owners go back through (host to container IDs), when given.
    pub owners: Option<&'a crate::idmap::IdMap>,
}

/// [`write_diff_unhashed`] with every option.
pub fn write_diff_with<W: Write>(
    layer: &Path,
    parent: Option<&Path>,
    mode: WhiteoutMode,
    out: W,
    opts: &DiffOptions,
) -> Result<u64> {
    write_tar(layer, parent, mode, out, opts).map(|(_, n)| n)
}

fn write_tar<W: Write>(
    layer: &Path,
    parent: Option<&Path>,
    mode: WhiteoutMode,
    out: W,
    opts: &DiffOptions,
) -> Result<(W, u64)> {
    let mut w = DiffWriter {
        root: layer,
        mode,
        tar: Builder::new(out),
        links: HashMap::new(),
        entries: 0,
        skip: opts.skip,
        mtime: opts.mtime,
        owners: opts.owners,
    };
    w.tar.mode(tar::HeaderMode::Complete);
    let parent = match mode {
        WhiteoutMode::Overlay => None,
        WhiteoutMode::Delete | WhiteoutMode::Literal => parent,
    };
    w.walk(Path::new(""), parent)?;
    let entries = w.entries;
    let inner = w.tar.into_inner().map_err(Error::Stream)?;
    Ok((inner, entries))
}

struct DiffWriter<'a, W: Write> {
    root: &'a Path,
    mode: WhiteoutMode,
    tar: Builder<W>,
    /// First path of each multiply-linked inode, for hardlink entries.
    links: HashMap<(u64, u64), PathBuf>,
    entries: u64,
    /// Paths (relative) left out with what is below them.
    skip: &'a HashSet<PathBuf>,
    /// Every entry's modification time, when fixed.
    mtime: Option<u64>,
    /// The map owners go back through, when given.
    owners: Option<&'a crate::idmap::IdMap>,
}

fn sorted_names(dir: &Path) -> Result<Vec<OsString>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir).at(dir)? {
        names.push(e.at(dir)?.file_name());
    }
    names.sort();
    Ok(names)
}

/// Extended attributes of a path, not following symlinks, in name order.
pub(crate) fn xattrs(path: &Path) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut list = vec![0u8; 4096];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut list[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) => list.resize(list.len() * 4, 0),
            Err(rustix::io::Errno::NOTSUP) => return Ok(out),
            Err(e) => return Err(Error::io(path, e.into())),
        }
    };
    for name in list[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let mut val = vec![0u8; 256];
        let m = loop {
            match rustix::fs::lgetxattr(path, OsStr::from_bytes(name), &mut val[..]) {
                Ok(m) => break m,
                Err(rustix::io::Errno::RANGE) => val.resize(val.len() * 4, 0),
                Err(rustix::io::Errno::NODATA) => break usize::MAX,
                Err(e) => return Err(Error::io(path, e.into())),
            }
        };
        if m != usize::MAX {
            val.truncate(m);
            out.insert(name.to_vec(), val);
        }
    }
    Ok(out)
}

fn is_whiteout_dev(md: &Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

impl<W: Write> DiffWriter<'_, W> {
    fn walk(&mut self, rel: &Path, parent: Option<&Path>) -> Result<()> {
        let dir = self.root.join(rel);
        let names = sorted_names(&dir)?;
        if let Some(p) = parent {
            let pdir = p.join(rel);
            // Deleted since the parent: whiteouts.
            for old in sorted_names(&pdir)? {
                if names.binary_search(&old).is_err() {
                    self.whiteout(&rel.join(wh_name(&old)))?;
                }
            }
        }
        for name in names {
            let r = rel.join(&name);
            if self.skip.contains(&r) {
                continue;
            }
            let full = self.root.join(&r);
            let md = fs::symlink_metadata(&full).at(&full)?;
            if self.mode == WhiteoutMode::Overlay && is_whiteout_dev(&md) {
                self.whiteout(&rel.join(wh_name(&name)))?;
                continue;
            }
            let old = match parent {
                Some(p) => match fs::symlink_metadata(p.join(&r)) {
                    Ok(m) => Some(m),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(Error::io(p.join(&r), e)),
                },
                None => None,
            };
            let changed = match &old {
                None => true,
                Some(o) => differs(&full, &md, &parent.expect("parent").join(&r), o)?,
            };
            if changed {
                self.emit(&r, &full, &md)?;
            }
            if md.is_dir() {
                let sub_parent = match &old {
                    Some(o) if o.is_dir() => parent,
                    _ => None,
                };
                self.walk(&r, sub_parent)?;
            }
        }
        Ok(())
    }

    fn whiteout(&mut self, rel: &Path) -> Result<()> {
        let mut h = Header::new_gnu();
        h.set_entry_type(EntryType::Regular);
        h.set_size(0);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        self.tar
            .append_data(&mut h, rel, io::empty())
            .map_err(Error::Stream)?;
        self.entries += 1;
        Ok(())
    }

    fn emit(&mut self, rel: &Path, full: &Path, md: &Metadata) -> Result<()> {
        let mut xs = xattrs(full)?;
        let opaque = self.mode == WhiteoutMode::Overlay
            && md.is_dir()
            && [OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR]
                .iter()
                .any(|x| xs.get(x.as_bytes()).map(Vec::as_slice) == Some(b"y"));
        xs.retain(|k, _| !k.starts_with(b"trusted.overlay.") && !k.starts_with(b"user.overlay."));
        if !xs.is_empty() {
            let keys: Vec<(String, &[u8])> = xs
                .iter()
                .map(|(k, v)| {
                    (
                        format!("SCHILY.xattr.{}", String::from_utf8_lossy(k)),
                        v.as_slice(),
                    )
                })
                .collect();
            self.tar
                .append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(Error::Stream)?;
        }
        let mut h = Header::new_gnu();
        h.set_mode(md.mode() & 0o7777);
        let (uid, gid) = match self.owners {
            Some(m) => (m.container_uid(md.uid()), m.container_gid(md.gid())),
            None => (md.uid(), md.gid()),
        };
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mtime(self.mtime.unwrap_or(md.mtime().max(0) as u64));
        h.set_size(0);
        let ft = md.file_type();
        let res = if ft.is_dir() {
            h.set_entry_type(EntryType::Directory);
            self.tar.append_data(&mut h, rel, io::empty())
        } else if ft.is_file() {
            let key = (md.dev(), md.ino());
            if md.nlink() > 1 {
                if let Some(first) = self.links.get(&key) {
                    h.set_entry_type(EntryType::Link);
                    let first = first.clone();
                    self.entries += 1;
                    return self
                        .tar
                        .append_link(&mut h, rel, &first)
                        .map_err(Error::Stream);
                }
                self.links.insert(key, rel.to_path_buf());
            }
            h.set_entry_type(EntryType::Regular);
            h.set_size(md.len());
            let f = File::open(full).at(full)?;
            self.tar.append_data(&mut h, rel, f)
        } else if ft.is_symlink() {
            h.set_entry_type(EntryType::Symlink);
            let target = fs::read_link(full).at(full)?;
            self.tar.append_link(&mut h, rel, &target)
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            h.set_entry_type(if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            });
            let dev = md.rdev();
            h.set_device_major(rustix::fs::major(dev))
                .map_err(Error::Stream)?;
            h.set_device_minor(rustix::fs::minor(dev))
                .map_err(Error::Stream)?;
            self.tar.append_data(&mut h, rel, io::empty())
        } else {
            // Sockets are not carried by layers.
            return Ok(());
        };
        res.map_err(Error::Stream)?;
        self.entries += 1;
        if opaque {
            self.whiteout(&rel.join(OPAQUE_MARKER))?;
        }
        Ok(())
    }
}

fn wh_name(name: &OsStr) -> OsString {
    let mut s = OsString::from(WHITEOUT_PREFIX);
    s.push(name);
    s
}

/// Whether a path changed from its parent layer's version (vfs diffs).
fn differs(new_path: &Path, new: &Metadata, old_path: &Path, old: &Metadata) -> Result<bool> {
    if new.file_type() != old.file_type()
        || new.mode() != old.mode()
        || new.uid() != old.uid()
        || new.gid() != old.gid()
        || new.rdev() != old.rdev()
    {
        return Ok(true);
    }
    if !new.is_dir()
        && (new.size() != old.size()
            || new.mtime() != old.mtime()
            || new.mtime_nsec() != old.mtime_nsec())
    {
        return Ok(true);
    }
    if new.is_dir() && (new.mtime() != old.mtime() || new.mtime_nsec() != old.mtime_nsec()) {
        return Ok(true);
    }
    if new.file_type().is_symlink() && fs::read_link(new_path).ok() != fs::read_link(old_path).ok()
    {
        return Ok(true);
    }
    Ok(xattrs(new_path)? != xattrs(old_path)?)
}
