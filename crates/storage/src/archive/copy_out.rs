//! A tar of a path inside a root filesystem that may be hostile (a container's
//! rootfs while it runs): the path is resolved with openat2 `RESOLVE_IN_ROOT`,
//! and the tree under it is walked by descriptor with `O_NOFOLLOW`, so neither
//! a symlink nor a directory swapped for one mid-walk can lead outside the root
//! (CVE-2018-15664, CVE-2019-10152).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};
use tar::{Builder, EntryType, Header};

use crate::error::{Error, Result};

fn err(path: &Path, e: impl Into<std::io::Error>) -> Error {
    Error::io(path.to_path_buf(), e.into())
}

/// Writes `rel` (inside `root`) to `out` as a tar whose top entry is `name`.
/// Returns the number of entries.
pub fn tar_in_root<W: Write>(root: &Path, rel: &Path, name: &str, out: W) -> Result<u64> {
    tar_in_root_mapped(root, rel, name, out, None)
}

/// [`tar_in_root`], each owner mapped back through `owners` (host to container
/// IDs) when given: a container root whose files hold mapped owners.
pub fn tar_in_root_mapped<W: Write>(
    root: &Path,
    rel: &Path,
    name: &str,
    out: W,
    owners: Option<&crate::idmap::IdMap>,
) -> Result<u64> {
    let root_fd = rfs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err(root, e))?;
    let rel_str = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let src = super::openat2(
        &root_fd,
        rel_str,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| err(rel, e))?;
    let mut b = Builder::new(out);
    b.follow_symlinks(false);
    let mut w = Walker {
        b: &mut b,
        entries: 0,
        owners,
    };
    let st = rfs::fstat(&src).map_err(|e| err(rel, e))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
            let dir = reopen(&src, OFlags::RDONLY | OFlags::DIRECTORY).map_err(|e| err(rel, e))?;
            w.dir(&dir, &st, name)?;
        }
        FileType::RegularFile => {
            let f = reopen(&src, OFlags::RDONLY).map_err(|e| err(rel, e))?;
            w.file(File::from(f), name)?;
        }
        _ => return Err(err(rel, std::io::Error::other("not a file or directory"))),
    }
    let n = w.entries;
    b.finish().map_err(|e| err(rel, e))?;
    Ok(n)
}

/// Opens what an `O_PATH` descriptor refers to, through its /proc/self/fd link
/// (which names that very inode, not a path).
fn reopen(fd: &OwnedFd, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let p = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rfs::open(p.as_str(), flags | OFlags::CLOEXEC, Mode::empty())
}

struct Walker<'a, W: Write> {
    b: &'a mut Builder<W>,
    entries: u64,
    owners: Option<&'a crate::idmap::IdMap>,
}

fn header(st: &rfs::Stat, kind: EntryType, owners: Option<&crate::idmap::IdMap>) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    let (uid, gid) = match owners {
        Some(m) => (m.container_uid(st.st_uid), m.container_gid(st.st_gid)),
        None => (st.st_uid, st.st_gid),
    };
    h.set_uid(u64::from(uid));
    h.set_gid(u64::from(gid));
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

impl<W: Write> Walker<'_, W> {
    /// A directory and what it holds; `name` empty for the archive's root, whose
    /// entries then carry bare names (as `export` writes them).
    fn dir(&mut self, dir: &OwnedFd, st: &rfs::Stat, name: &str) -> Result<()> {
        let p = Path::new(name);
        if !name.is_empty() {
            let mut h = header(st, EntryType::Directory, self.owners);
            self.b
                .append_data(&mut h, format!("{name}/"), std::io::empty())
                .map_err(|e| err(p, e))?;
            self.entries += 1;
        }
        let mut names: Vec<Vec<u8>> = rfs::Dir::read_from(dir)
            .map_err(|e| err(p, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_bytes().to_vec())
            .filter(|n| n != b"." && n != b"..")
            .collect();
        names.sort();
        for n in names {
            let child = std::ffi::OsStr::from_bytes(&n);
            let child_name = if name.is_empty() {
                child.to_string_lossy().into_owned()
            } else {
                format!("{name}/{}", child.to_string_lossy())
            };
            self.entry(dir, child, &child_name)?;
        }
        Ok(())
    }

    fn entry(&mut self, dir: &OwnedFd, child: &std::ffi::OsStr, name: &str) -> Result<()> {
        let p = Path::new(name);
        let st = rfs::statat(dir, child, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| err(p, e))?;
        let nofollow = OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                let fd = rfs::openat(
                    dir,
                    child,
                    OFlags::RDONLY | OFlags::DIRECTORY | nofollow,
                    Mode::empty(),
                )
                .map_err(|e| err(p, e))?;
                let st = rfs::fstat(&fd).map_err(|e| err(p, e))?;
                self.dir(&fd, &st, name)
            }
            FileType::RegularFile => {
                let fd = rfs::openat(dir, child, OFlags::RDONLY | nofollow, Mode::empty())
                    .map_err(|e| err(p, e))?;
                self.file(File::from(fd), name)
            }
            FileType::Symlink => {
                let target = rfs::readlinkat(dir, child, Vec::new()).map_err(|e| err(p, e))?;
                let mut h = header(&st, EntryType::Symlink, self.owners);
                self.b
                    .append_link(&mut h, name, std::ffi::OsStr::from_bytes(target.as_bytes()))
                    .map_err(|e| err(p, e))?;
                self.entries += 1;
                Ok(())
            }
            kind @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                let t = match kind {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = header(&st, t, self.owners);
                let dev = st.st_rdev;
                let _ = h.set_device_major(rfs::major(dev));
                let _ = h.set_device_minor(rfs::minor(dev));
                self.b
                    .append_data(&mut h, name, std::io::empty())
                    .map_err(|e| err(p, e))?;
                self.entries += 1;
                Ok(())
            }
            // Sockets cannot be archived.
            _ => Ok(()),
        }
    }

    fn file(&mut self, f: File, name: &str) -> Result<()> {
        let p = Path::new(name);
        let st = rfs::fstat(f.as_fd()).map_err(|e| err(p, e))?;
        let mut h = header(&st, EntryType::Regular, self.owners);
        h.set_size(st.st_size as u64);
        // A file that shrinks while read ends the archive short: refuse rather
        // than pad silently.
        let reader = std::io::Read::take(f, st.st_size as u64);
        self.b
            .append_data(&mut h, name, reader)
            .map_err(|e| err(p, e))?;
        self.entries += 1;
        Ok(())
    }
}

/// Whether `rel`, resolved inside `root`, is a directory.
pub fn is_dir_in_root(root: &Path, rel: &Path) -> bool {
    let Ok(root_fd) = rfs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    super::openat2(
        &root_fd,
        rel,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .is_ok()
}

/// `rel` with every symlink resolved inside `root` (as the container would see
/// it), relative to `root`; `None` when it does not exist.
pub fn resolve_in_root(root: &Path, rel: &Path) -> Option<std::path::PathBuf> {
    let root_fd = rfs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let fd = super::openat2(
        &root_fd,
        rel,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let here = |fd: &OwnedFd| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok();
    let (root_path, path) = (here(&root_fd)?, here(&fd)?);
    path.strip_prefix(&root_path).ok().map(Path::to_path_buf)
}

/// How many symlinks [`secure_join`] follows before it gives up (as
/// securejoin does).
const MAX_LINKS: usize = 255;

/// `rel` resolved inside `root` the way buildah resolves a destination
/// (securejoin): every symlink on the way is followed, an absolute target
/// taken from `root` and `..` never climbing above it, so that the result is
/// always inside `root`; parts that do not exist are kept as written (they
/// name what a copy will make). Relative to `root`, free of symlinks and
/// `..`. Each step is looked up by the kernel confined to `root`, so a tree
/// changing under the walk cannot lead it out; what is then written there
/// goes through the extractor, which refuses any symlink it meets.
pub fn secure_join(root: &Path, rel: &Path) -> std::io::Result<std::path::PathBuf> {
    use std::ffi::OsString;
    use std::path::{Component, PathBuf};
    let root_fd = rfs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    // What is left to walk, the next part last.
    let parts = |p: &Path| -> Vec<OsString> {
        p.components()
            .rev()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some(OsString::from("..")),
                _ => None,
            })
            .collect()
    };
    let mut todo = parts(rel);
    let mut out = PathBuf::new();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            out.pop();
            continue;
        }
        let next = out.join(&part);
        let fd = match super::openat2(
            &root_fd,
            &next,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => fd,
            // Missing, or below something that is not a directory: kept as
            // written (the copy makes it, or fails there).
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => {
                out = next;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if FileType::from_raw_mode(rfs::fstat(&fd)?.st_mode) != FileType::Symlink {
            out = next;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(rustix::io::Errno::LOOP.into());
        }
        let target = PathBuf::from(std::ffi::OsStr::from_bytes(
            rfs::readlinkat(&fd, "", Vec::new())?.as_bytes(),
        ));
        if target.is_absolute() {
            out = PathBuf::new();
        }
        // The target's parts come before the rest.
        todo.extend(parts(&target));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn secure_join_follows_links_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        for d in ["run", "usr/lib", "etc", "var", "a/b"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("file"), "").unwrap();
        // Debian's /var/run, merged /usr's /lib.
        symlink("/run", root.join("var/run")).unwrap();
        symlink("usr/lib", root.join("lib")).unwrap();
        // Escapes, which must land inside.
        symlink("../../../../etc", root.join("escape")).unwrap();
        symlink("/", root.join("slash")).unwrap();
        symlink("../../..", root.join("a/b/up")).unwrap();
        symlink("/nowhere/yet", root.join("dangling")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        let j =
            |p: &str| secure_join(&root, Path::new(p)).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(j("/var/run").unwrap(), "run");
        assert_eq!(j("var/run/x/y").unwrap(), "run/x/y");
        assert_eq!(j("/lib/sub/ok3").unwrap(), "usr/lib/sub/ok3");
        assert_eq!(j("/escape/x").unwrap(), "etc/x");
        assert_eq!(j("/slash/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(j("/a/b/up/a/b/up/etc").unwrap(), "etc");
        assert_eq!(j("/../../etc/x").unwrap(), "etc/x");
        assert_eq!(j("/dangling/f").unwrap(), "nowhere/yet/f");
        assert_eq!(j("/new/../lib/x").unwrap(), "usr/lib/x");
        assert_eq!(j("/file/x").unwrap(), "file/x");
        assert_eq!(j("/").unwrap(), "");
        assert_eq!(
            j("/loop1/x").unwrap_err().raw_os_error(),
            Some(rustix::io::Errno::LOOP.raw_os_error())
        );
    }
}
