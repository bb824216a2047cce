//! A checksum of a layer's tree, recorded when the layer is applied and recomputed by
//! `check`. Re-tarring a layer cannot reproduce the bytes of a tar another tool wrote
//! (header layout, order, padding differ), so the diff ID cannot be re-derived from the
//! tree; this checksum covers what the tree holds instead: every path in name order
//! with its type, mode, owner, mtime (whole seconds, as tar carries it), size, device
//! number, symlink target, xattrs and a checksum of its content.
//!
//! The content checksum guards against accidental damage, as the CRC-64 of
//! containers/storage's tar-split does: someone able to rewrite a layer could rewrite
//! its record too. So layers applied now use CRC-32 (format 2, with `crc32fast`, an order
//! of magnitude cheaper than sha256 when pulling); layers recorded by earlier
//! versions used sha256 (format 1) and still verify.

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

/// How file contents enter the checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentSum {
    /// Format 1: sha256 of each file.
    Sha256,
    /// Format 2 (current): crc32 of each file.
    Crc32,
}

/// Checksums a file's content as it streams by.
pub enum ContentHasher {
    Sha256(Box<Digester>),
    Crc32(crc32fast::Hasher),
}

impl ContentHasher {
    pub fn new(kind: ContentSum) -> ContentHasher {
        match kind {
            ContentSum::Sha256 => ContentHasher::Sha256(Box::new(Digester::new(Algorithm::Sha256))),
            ContentSum::Crc32 => ContentHasher::Crc32(crc32fast::Hasher::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            ContentHasher::Sha256(d) => d.update(data),
            ContentHasher::Crc32(h) => h.update(data),
        }
    }

    pub fn finish(self) -> String {
        match self {
            ContentHasher::Sha256(d) => (*d).finish().hex().to_string(),
            ContentHasher::Crc32(h) => format!("crc32:{:08x}", h.finalize()),
        }
    }
}

/// Content checksums already known, by (device, inode).
pub(crate) type ContentSums = HashMap<(u64, u64), String>;

/// The checksum of the tree under `dir` (the directory itself included), in the
/// current format.
pub fn tree_checksum(dir: &Path) -> Result<Digest> {
    tree_checksum_as(dir, ContentSum::Crc32, &HashMap::new())
}

/// Whether the tree under `dir` still has the checksum `recorded` (in either
/// format); otherwise its current-format checksum.
pub fn verify_tree(dir: &Path, recorded: &Digest) -> Result<std::result::Result<(), Digest>> {
    let now = tree_checksum(dir)?;
    if now == *recorded || tree_checksum_as(dir, ContentSum::Sha256, &HashMap::new())? == *recorded
    {
        return Ok(Ok(()));
    }
    Ok(Err(now))
}

/// The checksum in a given format, taking the content checksums of files already
/// known (computed in that format while extracting).
pub(crate) fn tree_checksum_as(
    dir: &Path,
    kind: ContentSum,
    known: &ContentSums,
) -> Result<Digest> {
    let mut d = Digester::new(Algorithm::Sha256);
    if kind == ContentSum::Crc32 {
        d.update(b"berth tree checksum 2\n");
    }
    let mut seen = known.clone();
    let mut buf = vec![0u8; 1 << 20];
    walk(dir, Path::new(""), kind, &mut d, &mut seen, &mut buf)?;
    Ok(d.finish())
}

fn walk(
    root: &Path,
    rel: &Path,
    kind_of_sum: ContentSum,
    d: &mut Digester,
    seen: &mut ContentSums,
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
                let mut h = ContentHasher::new(kind_of_sum);
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
        d.update(content.as_bytes());
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
            walk(root, &rel.join(n), kind_of_sum, d, seen, buf)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_verify_and_a_changed_byte_does_not() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("d")).unwrap();
        fs::write(dir.path().join("d/f"), b"content").unwrap();
        let old = tree_checksum_as(dir.path(), ContentSum::Sha256, &HashMap::new()).unwrap();
        let new = tree_checksum(dir.path()).unwrap();
        assert_ne!(old, new, "the formats must not collide");
        assert_eq!(verify_tree(dir.path(), &old).unwrap(), Ok(()));
        assert_eq!(verify_tree(dir.path(), &new).unwrap(), Ok(()));
        fs::write(dir.path().join("d/f"), b"contenT").unwrap();
        assert!(verify_tree(dir.path(), &old).unwrap().is_err());
        assert!(verify_tree(dir.path(), &new).unwrap().is_err());
    }
}
