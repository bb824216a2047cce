//! A checksum of a layer's tree, recorded when the layer is applied and recomputed by
//! `check`. Re-tarring a layer cannot reproduce the bytes of a tar another tool wrote
//! (header layout, order, padding differ), so the diff ID cannot be re-derived from the
//! tree; this checksum covers what the tree holds instead: every path in name order
//! with its type, mode, owner, mtime (whole seconds, as tar carries it), size, device number, symlink target, xattrs and
//! the sha256 of its content.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use berth_image::Digest;
use berth_image::digest::{Algorithm, Digester};

use super::diff::xattrs;
use crate::error::{IoContext, Result};

/// The checksum of the tree under `dir` (the directory itself included).
pub fn tree_checksum(dir: &Path) -> Result<Digest> {
    tree_checksum_with(dir, &HashMap::new())
}

/// The same, taking the content digests of files already known by (device, inode).
pub(crate) fn tree_checksum_with(
    dir: &Path,
    known: &HashMap<(u64, u64), Digest>,
) -> Result<Digest> {
    let mut d = Digester::new(Algorithm::Sha256);
    let mut seen = known.clone();
    let mut buf = vec![0u8; 1 << 20];
    walk(dir, Path::new(""), &mut d, &mut seen, &mut buf)?;
    Ok(d.finish())
}

fn walk(
    root: &Path,
    rel: &Path,
    d: &mut Digester,
    seen: &mut HashMap<(u64, u64), Digest>,
    buf: &mut [u8],
) -> Result<()> {
    let full = root.join(rel);
    let md = fs::symlink_metadata(&full).at(&full)?;
    let ft = md.file_type();
    let kind = if ft.is_dir() {
        'd'
    } else if ft.is_file() {
        'f'
    } else if ft.is_symlink() {
        'l'
    } else if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else if ft.is_fifo() {
        'p'
    } else {
        's'
    };
    d.update(rel.as_os_str().as_bytes());
    let size = if ft.is_dir() { 0 } else { md.size() };
    d.update(
        format!(
            "\0{kind}\0{:o}\0{}\0{}\0{}\0{}\0{}\0",
            md.mode() & 0o7777,
            md.uid(),
            md.gid(),
            md.mtime(),
            size,
            md.rdev()
        )
        .as_bytes(),
    );
    if ft.is_symlink() {
        d.update(fs::read_link(&full).at(&full)?.as_os_str().as_bytes());
    }
    for (k, v) in xattrs(&full)? {
        d.update(b"\0x");
        d.update(&k);
        d.update(b"=");
        d.update(&v);
    }
    if ft.is_file() {
        let key = (md.dev(), md.ino());
        let content = match seen.get(&key) {
            Some(c) => c.clone(),
            None => {
                let mut h = Digester::new(Algorithm::Sha256);
                let mut f = File::open(&full).at(&full)?;
                loop {
                    let n = f.read(buf).at(&full)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                let c = h.finish();
                seen.insert(key, c.clone());
                c
            }
        };
        d.update(b"\0");
        d.update(content.hex().as_bytes());
    }
    d.update(b"\n");
    if ft.is_dir() {
        let mut names: Vec<_> = fs::read_dir(&full)
            .at(&full)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .at(&full)?;
        names.sort();
        for n in names {
            walk(root, &rel.join(n), d, seen, buf)?;
        }
    }
    Ok(())
}
