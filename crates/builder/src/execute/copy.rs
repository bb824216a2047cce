//! COPY and ADD: the sources (from the context, minus what the ignore file
//! excludes, or from a stage's root; for ADD also URLs and archives) written
//! as one tar, owned and moded as `--chown`/`--chmod` say, streamed into the
//! working container's root.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_storage::archive;

use super::Working;
use super::add::{download, is_archive, is_url, unpack};
use super::context::{glob, has_glob, read_error, source_path};
use super::driver::Executor;
use super::rootfs::{apply_stream, container_path, new_header};
use super::state::StageState;
use crate::Ignore;
use crate::error::{CopyError, InvalidMode, StepError};

impl StageState {
    /// COPY: from the context, or with `--from` from a stage's root (one of
    /// `stages`).
    pub(super) fn copy(
        &self,
        x: &Executor,
        w: &Working,
        c: &crate::Copy,
        stages: &[(Vec<String>, PathBuf)],
    ) -> Result<(), StepError> {
        let from_root = match &c.from {
            None => None,
            Some(f) => Some(
                stages
                    .iter()
                    .find(|(names, _)| names.contains(&f.to_ascii_lowercase()))
                    .map(|(_, r)| r.clone())
                    .ok_or_else(|| StepError::NoStage(f.clone()))?,
            ),
        };
        let (root, ign) = match &from_root {
            Some(r) => (r.as_path(), None),
            None => (x.req.context.as_path(), Some(x.ignore)),
        };
        let owner = self.owner(&w.rootfs, c.chown.as_deref())?;
        let mode = parse_mode(c.chmod.as_deref())?;
        // From the context files become root's; from a stage they keep
        // their owners (unless --chown), as Docker does.
        let owner = Owner {
            set: owner,
            keep: from_root.is_some(),
            map: x.req.id_map.as_ref(),
            // Stages and lent images all have the build's map; a
            // --build-context directory is the host's.
            from_map: x.req.id_map.as_ref().filter(|_| {
                from_root.as_ref().is_some_and(|r| {
                    !x.req
                        .contexts
                        .values()
                        .any(|c| matches!(c, crate::inputs::BuildContext::Directory(d) if d == r))
                })
            }),
        };
        copy_files(
            root,
            ign,
            &c.files,
            &w.rootfs,
            &self.workdir,
            owner,
            mode,
            CopyKind::Copy,
        )?;
        Ok(())
    }

    /// ADD: from the context or URLs; local archives are unpacked.
    pub(super) fn add(&self, x: &Executor, w: &Working, a: &crate::Add) -> Result<(), StepError> {
        let owner = self.owner(&w.rootfs, a.chown.as_deref())?;
        let mode = parse_mode(a.chmod.as_deref())?;
        let owner = Owner {
            set: owner,
            keep: false,
            map: x.req.id_map.as_ref(),
            from_map: None,
        };
        copy_files(
            &x.req.context,
            Some(x.ignore),
            &a.files,
            &w.rootfs,
            &self.workdir,
            owner,
            mode,
            CopyKind::Add,
        )?;
        Ok(())
    }

    /// `--chown USER[:GROUP]`, names resolved in the stage's own /etc/passwd.
    fn owner(&self, rootfs: &Path, chown: Option<&str>) -> Result<Option<(u64, u64)>, StepError> {
        match chown {
            None => Ok(None),
            Some(c) => {
                let u = berth_engine::spec::user(rootfs, c).map_err(StepError::Chown)?;
                Ok(Some((u64::from(u.uid), u64::from(u.gid))))
            }
        }
    }
}

/// `--chmod`: an octal mode.
pub(crate) fn parse_mode(chmod: Option<&str>) -> Result<Option<u32>, InvalidMode> {
    chmod
        .map(|m| u32::from_str_radix(m, 8).map_err(|_| InvalidMode(m.to_string())))
        .transpose()
}

/// A host file that could not be read or archived.
fn entry_error(path: &Path) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Entry {
        path: path.to_path_buf(),
        source,
    }
}

/// Who copied files belong to: `set` (`--chown`), else their own owner when
/// `keep`, else root.
/// With `map` (a working container with a user namespace of its own), every
/// owner goes through it as the files are written; owners kept from a source
/// root seen through `from_map` are first taken back to the IDs that root's
/// container sees.
#[derive(Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub(crate) set: Option<(u64, u64)>,
    pub(crate) keep: bool,
    pub(crate) map: Option<&'a berth_storage::idmap::IdMap>,
    pub(crate) from_map: Option<&'a berth_storage::idmap::IdMap>,
}

impl Owner<'_> {
    fn of(self, md: &std::fs::Metadata) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        match self.set {
            Some(o) => o,
            None if self.keep => match self.from_map {
                Some(m) => (
                    u64::from(m.container_uid(md.uid())),
                    u64::from(m.container_gid(md.gid())),
                ),
                None => (u64::from(md.uid()), u64::from(md.gid())),
            },
            None => (0, 0),
        }
    }
}

/// What a copy makes of sources beyond local files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CopyKind {
    /// COPY: local files only.
    Copy,
    /// `builder copy`: URLs too, downloaded as they are.
    Fetch,
    /// ADD and `builder add`: URLs downloaded, local archives unpacked.
    Add,
}

/// COPY/ADD: sources from `root` (the context or a stage's root) into the
/// container, as one tar applied by the layer extractor. Returns the content
/// digest (hex) of what was copied, as buildah's digest is made: the tar's
/// digest with its entries' times zeroed, so that only names, owners, modes
/// and contents count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_files(
    root: &Path,
    ignore: Option<&Ignore>,
    files: &crate::Files,
    rootfs: &Path,
    workdir: &str,
    owner: Owner,
    mode: Option<u32>,
    kind: CopyKind,
) -> Result<String, CopyError> {
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    // Downloads of ADD's URLs live here until the copy is done.
    let downloads = tempfile::tempdir()?;
    for (n, s) in files.sources.iter().enumerate() {
        if kind != CopyKind::Copy && is_url(s) {
            let dir = downloads.path().join(n.to_string());
            sources.push((download(s, &dir)?, s.clone()));
            continue;
        }
        if has_glob(s) {
            sources.extend(glob(root, s)?);
        } else {
            sources.push((source_path(root, s)?, crate::ignore::clean(s)));
        }
    }
    let dest = container_path(&files.dest, workdir);
    let named_dir = files.dest.ends_with('/') || sources.len() + files.inline.len() > 1;
    // Symlinks on the way to the destination resolve inside the container,
    // as buildah's securejoin resolves them (`/var/run` -> `/run`, `/lib` ->
    // `usr/lib`, `..` and absolute targets kept in the root), even where
    // what they name is still to be made. A file's own name is followed
    // only to something there: the link of a new file is replaced.
    let full = archive::secure_join(rootfs, &dest)?;
    let dest = if named_dir || archive::resolve_in_root(rootfs, &full).is_some() {
        full
    } else {
        match (dest.parent(), dest.file_name()) {
            (Some(parent), Some(name)) => archive::secure_join(rootfs, parent)?.join(name),
            _ => full,
        }
    };
    let into_dir = named_dir || archive::is_dir_in_root(rootfs, &dest);
    // A destination directory the copy creates gets its owner (`--chown`).
    let make_dest = archive::resolve_in_root(rootfs, &dest).is_none();
    // The tar is streamed to the extractor through a pipe, never held whole.
    let (r, w) = std::io::pipe()?;
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<String, CopyError> {
            let w = std::io::BufWriter::with_capacity(1 << 20, ContentDigest::new(w));
            let mut b = tar::Builder::new(w);
            b.follow_symlinks(false);
            write_sources(
                &mut b, files, &sources, &dest, into_dir, make_dest, ignore, owner, mode, kind,
            )?;
            let w = b.into_inner()?.into_inner().map_err(|e| e.into_error())?;
            Ok(w.finish())
        });
        let applied = apply_stream(rootfs, r, owner.map.cloned());
        let produced = producer.join().expect("tar thread");
        match (produced, applied) {
            (Ok(digest), a) => a.map(|()| digest),
            // The extractor refused something: the writer only saw the pipe close.
            (Err(p), Err(a)) if p.is_broken_pipe() => Err(a),
            (Err(p), _) => Err(p),
        }
    })
}

/// A tar stream passed on to `inner` and digested on the way, each header
/// with its times zeroed (buildah's content digest; its value is berth's own,
/// as the tar writers differ).
struct ContentDigest<W> {
    inner: W,
    digester: berth_image::digest::Digester,
    /// The 512-byte block being filled.
    block: Vec<u8>,
    /// Data blocks still to come of the entry last headed.
    data_blocks: u64,
}

impl<W: Write> ContentDigest<W> {
    fn new(inner: W) -> Self {
        ContentDigest {
            inner,
            digester: berth_image::digest::Digester::new(berth_image::digest::Algorithm::Sha256),
            block: Vec::with_capacity(512),
            data_blocks: 0,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let take = (512 - self.block.len()).min(bytes.len());
            self.block.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.block.len() == 512 {
                self.block_done();
                self.block.clear();
            }
        }
    }

    fn block_done(&mut self) {
        if self.data_blocks > 0 || self.block.iter().all(|b| *b == 0) {
            self.data_blocks = self.data_blocks.saturating_sub(1);
            self.digester.update(&self.block);
            return;
        }
        let mut h = tar::Header::from_byte_slice(&self.block).clone();
        self.data_blocks = h.entry_size().unwrap_or(0).div_ceil(512);
        h.set_mtime(0);
        if let Some(g) = h.as_gnu_mut() {
            g.set_atime(0);
            g.set_ctime(0);
        }
        h.set_cksum();
        self.digester.update(h.as_bytes());
    }

    /// The digest's hex; the writer is flushed.
    fn finish(mut self) -> String {
        let _ = self.inner.flush();
        self.digester.finish().hex().to_string()
    }
}

impl<W: Write> Write for ContentDigest<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.feed(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The tar entries of COPY/ADD's sources.
#[allow(clippy::too_many_arguments)]
fn write_sources<W: Write>(
    b: &mut tar::Builder<W>,
    files: &crate::Files,
    sources: &[(PathBuf, String)],
    dest: &Path,
    into_dir: bool,
    make_dest: bool,
    ignore: Option<&Ignore>,
    owner: Owner,
    mode: Option<u32>,
    kind: CopyKind,
) -> Result<(), CopyError> {
    let dest = dest.to_path_buf();
    let mut made = !make_dest;
    let mut links = HardLinks::default();
    for inline in &files.inline {
        let target = if into_dir {
            dest.join(&inline.name)
        } else {
            dest.clone()
        };
        let mut h = new_header(
            tar::EntryType::Regular,
            mode.unwrap_or(0o644),
            inline.content.len() as u64,
        );
        let (u, g) = owner.set.unwrap_or((0, 0));
        h.set_uid(u);
        h.set_gid(g);
        b.append_data(&mut h, &target, inline.content.as_bytes())?;
    }
    for (path, shown) in sources {
        let md = std::fs::symlink_metadata(path).map_err(read_error(shown))?;
        // A downloaded archive stays an archive, as Docker has it.
        if kind == CopyKind::Add && md.is_file() && !is_url(shown) && is_archive(path) {
            unpack(b, path, &dest, owner.set)?;
            continue;
        }
        if md.is_dir() {
            if !made && !dest.as_os_str().is_empty() {
                // The directory's contents go into DEST, which takes the
                // directory's own metadata (and --chown), as buildah does.
                add_entry(b, path, &md, &dest, owner, None)?;
                made = true;
            }
            let added = add_tree(b, path, shown, &dest, ignore, owner, mode, &mut links)?;
            // A directory the ignore file excludes, with nothing under it let
            // back in, is not there for COPY (as buildah has it).
            if added == 0 && shown != "." && ignore.is_some_and(|i| i.is_excluded(shown)) {
                return Err(CopyError::Excluded(shown.clone()));
            }
        } else {
            if ignore.is_some_and(|i| i.is_excluded(shown)) {
                return Err(CopyError::Excluded(shown.clone()));
            }
            let name = path.file_name().unwrap_or_default();
            let target = if into_dir {
                dest.join(name)
            } else {
                dest.clone()
            };
            add_entry(b, path, &md, &target, owner, mode)?;
        }
    }
    Ok(())
}

fn add_entry<W: Write>(
    b: &mut tar::Builder<W>,
    path: &Path,
    md: &std::fs::Metadata,
    target: &Path,
    owner: Owner,
    mode: Option<u32>,
) -> Result<(), CopyError> {
    use std::os::unix::fs::MetadataExt;
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(md, tar::HeaderMode::Complete);
    let (u, g) = owner.of(md);
    h.set_uid(u);
    h.set_gid(g);
    if let Some(m) = mode {
        h.set_mode(m);
    } else {
        h.set_mode(md.mode() & 0o7777);
    }
    let ft = md.file_type();
    let r = if ft.is_symlink() {
        let t = std::fs::read_link(path)?;
        h.set_size(0);
        b.append_link(&mut h, target, t)
    } else if ft.is_dir() {
        h.set_size(0);
        b.append_data(&mut h, target, std::io::empty())
    } else if ft.is_file() {
        let f = std::fs::File::open(path).map_err(entry_error(path))?;
        h.set_size(md.len());
        b.append_data(&mut h, target, f.take(md.len()))
    } else {
        return Ok(());
    };
    r.map_err(entry_error(path))
}

/// The files with more than one name met in a COPY, by device and inode:
/// where the first name went.
#[derive(Default)]
struct HardLinks(std::collections::HashMap<(u64, u64), PathBuf>);

impl HardLinks {
    /// The target a file with other names was first copied to; notes this
    /// one as the first otherwise.
    fn first_of(&mut self, md: &std::fs::Metadata, target: &Path) -> Option<PathBuf> {
        use std::os::unix::fs::MetadataExt;
        if !md.is_file() || md.nlink() < 2 {
            return None;
        }
        match self.0.entry((md.dev(), md.ino())) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(target.to_path_buf());
                None
            }
        }
    }
}

/// A hard link entry: `target` another name of `first`.
fn add_hard_link<W: Write>(
    b: &mut tar::Builder<W>,
    md: &std::fs::Metadata,
    target: &Path,
    first: &Path,
    owner: Owner,
    mode: Option<u32>,
) -> Result<(), CopyError> {
    use std::os::unix::fs::MetadataExt;
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(md, tar::HeaderMode::Complete);
    h.set_entry_type(tar::EntryType::Link);
    let (u, g) = owner.of(md);
    h.set_uid(u);
    h.set_gid(g);
    h.set_mode(mode.unwrap_or(md.mode() & 0o7777));
    h.set_size(0);
    b.append_link(&mut h, target, first)
        .map_err(entry_error(target))
}

/// A directory's contents (not the directory itself) under `dest`, skipping
/// what the ignore file excludes; symlinks are copied, never followed.
#[allow(clippy::too_many_arguments)]
fn add_tree<W: Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    shown: &str,
    dest: &Path,
    ignore: Option<&Ignore>,
    owner: Owner,
    mode: Option<u32>,
    links: &mut HardLinks,
) -> Result<usize, CopyError> {
    let mut added = 0;
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_error(shown))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for n in names {
        let path = dir.join(&n);
        let rel = if shown == "." || shown.is_empty() {
            n.to_string_lossy().into_owned()
        } else {
            format!("{}/{}", shown.trim_end_matches('/'), n.to_string_lossy())
        };
        let md = std::fs::symlink_metadata(&path).map_err(read_error(&rel))?;
        let excluded = ignore.is_some_and(|i| i.is_excluded(&rel));
        if excluded && !(md.is_dir() && ignore.is_some_and(|i| i.opens_excluded_dir(&rel))) {
            continue;
        }
        let target = dest.join(&n);
        if !excluded {
            match links.first_of(&md, &target) {
                // Another name of a file already copied: a link to it, as the
                // context has it.
                Some(first) => add_hard_link(b, &md, &target, &first, owner, mode)?,
                None => add_entry(b, &path, &md, &target, owner, mode)?,
            }
            added += 1;
        }
        if md.is_dir() {
            added += add_tree(b, &path, &rel, &target, ignore, owner, mode, links)?;
        }
    }
    Ok(added)
}
