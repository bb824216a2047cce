//! Writing into a working container's root: every path resolved inside it,
//! every change a tar applied by the layer extractor.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use berth_storage::archive::{self, ApplyOptions, WhiteoutMode};

use crate::error::CopyError;

/// A path inside the container from a COPY destination (relative to WORKDIR).
pub(super) fn container_path(dest: &str, workdir: &str) -> PathBuf {
    let full = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{}/{dest}", workdir.trim_end_matches('/'))
    };
    let mut out = PathBuf::new();
    for c in Path::new(&full).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Makes a directory (and its parents) inside the working container's root
/// (root's, through its ID map when it has one).
pub(super) fn make_dir(w: &super::Working, dir: &str) -> Result<(), CopyError> {
    // Through the symlinks on the way, inside the root (buildah's securejoin).
    let rel = berth_storage::archive::secure_join(&w.rootfs, &container_path(dir, "/"))?;
    if rel.as_os_str().is_empty() {
        return Ok(());
    }
    let mut b = tar::Builder::new(Vec::new());
    let mut h = new_header(tar::EntryType::Directory, 0o755, 0);
    b.append_data(&mut h, format!("{}/", rel.display()), std::io::empty())?;
    let map = w.container.config.process.id_map.clone();
    apply_stream(&w.rootfs, b.into_inner()?.as_slice(), map)
}

/// A header for an entry the builder makes itself: root-owned, stamped now.
pub(super) fn new_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    h
}

/// A tar streamed to the layer extractor, applied to the root (paths kept
/// inside it; whiteout names taken literally).
pub(super) fn apply_stream(
    rootfs: &Path,
    tar: impl Read,
    id_map: Option<berth_storage::idmap::IdMap>,
) -> Result<(), CopyError> {
    let mut opts = ApplyOptions::new(WhiteoutMode::Literal);
    opts.sync = false;
    opts.id_map = id_map;
    archive::apply_layer(tar, rootfs, &opts, None)
        .map(drop)
        .map_err(CopyError::Apply)
}
