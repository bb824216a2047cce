//! Layer archives: applying a (compressed) tar onto a layer directory, producing a
//! tar of a layer's changes, and a checksum of a layer's tree for `check`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

pub mod apply;
pub mod copy_out;
pub mod diff;
pub mod tree;

/// openat2, again while the kernel answers EAGAIN: with RESOLVE_IN_ROOT or
/// RESOLVE_BENEATH it does so when any rename or mount on the system raced
/// the lookup (openat2(2)), which many containers starting at once make
/// likely; the lookup is not wrong, only to be done again.
pub(crate) fn openat2<P: rustix::path::Arg + Copy, Fd: std::os::fd::AsFd>(
    dir: Fd,
    path: P,
    flags: rustix::fs::OFlags,
    mode: rustix::fs::Mode,
    resolve: rustix::fs::ResolveFlags,
) -> rustix::io::Result<std::os::fd::OwnedFd> {
    loop {
        match rustix::fs::openat2(&dir, path, flags, mode, resolve) {
            Err(rustix::io::Errno::AGAIN) => continue,
            r => return r,
        }
    }
}

pub use apply::{ApplyOptions, ApplyReport, apply_layer};
pub use copy_out::{is_dir_in_root, resolve_in_root, secure_join, tar_in_root, tar_in_root_mapped};
pub use diff::{DiffReport, write_diff, write_diff_unhashed};
pub use tree::{tree_checksum, verify_tree};

/// How deletions are written into a layer directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// overlayfs form: a whiteout is a 0/0 character device, an opaque directory
    /// carries `trusted.overlay.opaque=y`. The layer holds only its own changes.
    Overlay,
    /// The layer is a full tree (vfs): whiteouts delete, opaque markers empty the
    /// directory of what lower layers put there.
    Delete,
    /// A plain file tree (`cp`, a build's COPY): names that look like whiteouts
    /// are ordinary files.
    Literal,
}

/// Bounds on what one layer archive may contain (DESIGN §7).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: u64,
    pub max_file_size: u64,
    pub max_total_size: u64,
    pub max_path_len: usize,
    pub max_xattr_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 4_000_000,
            max_file_size: 64 << 30,
            max_total_size: 1 << 40,
            max_path_len: 4096,
            max_xattr_size: 64 << 10,
        }
    }
}

pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// What a rootless overlay (mounted `userxattr`) reads in its place: `trusted.*`
/// needs privilege over the whole host.
pub const OVERLAY_USER_OPAQUE_XATTR: &str = "user.overlay.opaque";

/// The opaque-directory xattr this process's overlays read.
pub fn opaque_xattr() -> &'static str {
    match crate::config::rootless_uid() {
        Some(_) => OVERLAY_USER_OPAQUE_XATTR,
        None => OVERLAY_OPAQUE_XATTR,
    }
}

/// The relative, normalised form of an archive path: no `..`, not absolute.
/// `./` prefixes and repeated slashes are dropped. The empty path is the root.
pub(crate) fn clean_path(raw: &Path) -> Result<PathBuf, &'static str> {
    let bytes = raw.as_os_str().as_bytes();
    if bytes.first() == Some(&b'/') {
        return Err("absolute path");
    }
    let mut out = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err("path with `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path"),
        }
    }
    Ok(out)
}

/// The last component, or `None` for the root.
pub(crate) fn split_parent(p: &Path) -> Option<(&Path, &OsStr)> {
    let name = p.file_name()?;
    Some((p.parent().unwrap_or(Path::new("")), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths() {
        assert_eq!(clean_path(Path::new("./a//b/")).unwrap(), Path::new("a/b"));
        assert_eq!(clean_path(Path::new("./")).unwrap(), Path::new(""));
        assert!(clean_path(Path::new("a/../../b")).is_err());
        assert!(clean_path(Path::new("/etc/passwd")).is_err());
    }
}
