//! `cp` between a container and the host. Both directions go through a tar
//! stream: the container side is read with the walker of
//! `berth_storage::archive::copy_out` and written with the layer extractor,
//! both of which resolve every path inside the root they work in, so symlinks
//! in a (possibly running, possibly hostile) container cannot redirect the copy
//! to the host (CVE-2018-15664, CVE-2019-10152).
//!
//! `cp CTR:SRC -` and `cp - CTR:DIR` (podman's streams) write the same tar to
//! stdout, and extract one from stdin with the same extractor.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use berth_storage::Store;
use berth_storage::archive::{self, ApplyOptions, WhiteoutMode};

use crate::container;
use crate::error::Error;

fn fail(m: impl ToString) -> Error {
    Error::Other(m.to_string())
}

/// A path inside the container, relative to its root, without `..`.
fn in_container(p: &str) -> Result<PathBuf, Error> {
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Prefix(_) => return Err(fail(format!("{p}: invalid path"))),
        }
    }
    Ok(out)
}

fn base_name(p: &Path) -> Result<String, Error> {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            fail(format!(
                "{}: cannot copy a root directory by name",
                p.display()
            ))
        })
}

/// Runs `f` with the container's root filesystem mounted.
fn with_rootfs<T>(
    store: &Store,
    name: &str,
    f: impl FnOnce(&Path) -> Result<T, Error>,
) -> Result<T, Error> {
    let info = container::find(store, name).map_err(fail)?;
    let root = store.mount(&info.id).map_err(fail)?;
    let r = f(&root);
    let _ = store.unmount(&info.id, false);
    r
}

/// Where a container path lives as the container sees it: under one of its
/// volumes or bind mounts (the deepest that holds it), that mount's host
/// directory, the path within it, and whether it is read-only; else None.
fn on_volume(
    store: &Store,
    name: &str,
    rel: &Path,
) -> Result<Option<(PathBuf, PathBuf, bool)>, Error> {
    let info = container::find(store, name).map_err(fail)?;
    let mut best: Option<(usize, PathBuf, PathBuf, bool)> = None;
    for v in &info.config.process.volumes {
        let dest = in_container(&v.destination)?;
        let (Some(src), Ok(inner)) = (
            crate::volumes::host_source(store, v),
            rel.strip_prefix(&dest),
        ) else {
            continue;
        };
        let depth = dest.components().count();
        if best.as_ref().is_none_or(|b| depth > b.0) && src.is_dir() {
            best = Some((depth, src, inner.to_path_buf(), v.read_only()));
        }
    }
    Ok(best.map(|(_, root, inner, ro)| (root, inner, ro)))
}

/// Runs `f` on the tree that holds `rel` for the container: a volume's
/// directory, or the root filesystem; with the path within that tree.
fn with_tree<T>(
    store: &Store,
    name: &str,
    rel: &Path,
    writing: bool,
    f: impl FnOnce(&Path, &Path) -> Result<T, Error>,
) -> Result<T, Error> {
    match on_volume(store, name, rel)? {
        Some((_, _, true)) if writing => Err(fail(format!(
            "/{}: on a read-only volume of the container",
            rel.display()
        ))),
        _ if let Some(root) = live_root(store, name)? => f(&root, rel),
        Some((root, inner, _)) => f(&root, &inner),
        None => with_rootfs(store, name, |root| f(root, rel)),
    }
}

/// A running container's root as its processes see it, every mount of it
/// (tmpfs, volumes) included: its init's `/proc/PID/root`, which the copy
/// resolves inside (nothing leaves it). None for a container not running.
fn live_root(store: &Store, name: &str) -> Result<Option<PathBuf>, Error> {
    let info = container::find(store, name).map_err(fail)?;
    let st = container::load_state(store, &info.id);
    Ok(st
        .init
        .filter(|p| p.alive())
        .map(|p| PathBuf::from(format!("/proc/{}/root", p.pid.get())))
        .filter(|root| root.is_dir()))
}

/// How `cp` copies.
#[derive(Clone, Copy, Debug, Default)]
pub struct CopyOptions {
    /// The owner of what is copied into a container (see [`container_owner`]);
    /// None keeps the files' own.
    pub owner: Option<(u32, u32)>,
    /// Replace a directory with a file or a file with a directory; without
    /// it that is refused, as podman refuses it.
    pub overwrite: bool,
}

/// Refuses to put a directory where a file is, or a file where a directory
/// is, unless `overwrite` (podman's words).
fn check_kind(
    exists: bool,
    was_dir: bool,
    is_dir: bool,
    shown: &Path,
    o: &CopyOptions,
) -> Result<(), Error> {
    if !exists || was_dir == is_dir || o.overwrite {
        return Ok(());
    }
    let op = if is_dir { "mkdir" } else { "open" };
    let at = Path::new("/").join(shown);
    Err(fail(format!(
        "copier: put: error creating \"{}\": {op} {}: file exists",
        at.display(),
        at.display()
    )))
}

/// The container's user and primary group, for `cp`'s `--archive` (the
/// default): what copied files are given, as podman does. Its `--user`, else
/// the image's, resolved in the container's own /etc/passwd; root when none.
pub fn container_owner(store: &Store, name: &str) -> Result<(u32, u32), Error> {
    let info = container::find(store, name).map_err(fail)?;
    let user = match &info.config.process.user {
        Some(u) => u.clone(),
        None => crate::run::image_config(store, &info.config.image_id)
            .ok()
            .and_then(|c| c["User"].as_str().map(String::from))
            .unwrap_or_default(),
    };
    if user.is_empty() {
        return Ok((0, 0));
    }
    with_rootfs(store, name, |root| {
        let u = crate::spec::user(root, &user).map_err(fail)?;
        Ok((u.uid, u.gid))
    })
}

/// The map of a container with a user namespace of its own: what is copied
/// into its root from the host goes through it.
pub(crate) fn id_map_of(store: &Store, name: &str) -> Option<berth_storage::idmap::IdMap> {
    container::find(store, name).ok()?.config.process.id_map
}

/// Extracts a tar stream, written by `produce`, into `root` (nothing leaves
/// it), owned by `owner` when given.
fn pipe_into(
    root: &Path,
    owner: Option<(u32, u32)>,
    id_map: Option<berth_storage::idmap::IdMap>,
    produce: impl FnOnce(std::io::PipeWriter) -> Result<(), Error> + Send,
) -> Result<(), Error> {
    let (r, w) = std::io::pipe().map_err(fail)?;
    let mut opts = ApplyOptions::new(WhiteoutMode::Literal);
    opts.sync = false;
    opts.owner = owner;
    opts.id_map = id_map;
    // A running container's tmpfs and volumes are mounts under its root.
    opts.cross_mounts = true;
    std::thread::scope(|s| {
        let producer = s.spawn(move || produce(w));
        let applied = archive::apply_layer(r, root, &opts, None);
        let produced = producer.join().expect("tar thread");
        produced?;
        applied.map(drop).map_err(fail)
    })
}

/// `cp CONTAINER:SRC DEST`.
pub fn copy_out(
    store: &Store,
    name: &str,
    src: &str,
    dest: &Path,
    o: &CopyOptions,
) -> Result<(), Error> {
    let rel = in_container(src)?;
    // Only `-` streams: a device or a pipe by its path is refused, as podman's.
    if std::fs::metadata(dest).is_ok_and(|m| !m.is_dir() && !m.is_file()) {
        return Err(Error::InvalidArgument(format!(
            "invalid destination: {:?} must be a directory or a regular file",
            dest.display().to_string()
        )));
    }
    // A link on the host is written through, as podman resolves the host path
    // first: the link itself stays.
    let resolved = std::fs::symlink_metadata(dest)
        .is_ok_and(|m| m.file_type().is_symlink())
        .then(|| std::fs::canonicalize(dest).ok())
        .flatten();
    let dest = resolved.as_deref().unwrap_or(dest);
    let (root, top) = if dest.is_dir() {
        (dest.to_path_buf(), base_name(&rel)?)
    } else {
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(fail(format!("{}: no such directory", parent.display())));
        }
        (parent.to_path_buf(), base_name(dest)?)
    };
    with_tree(store, name, &rel, false, |rootfs, rel| {
        let rel = rel.to_path_buf();
        if !rel.as_os_str().is_empty()
            && (!archive::is_dir_in_root(rootfs, rel.parent().unwrap_or(Path::new("")))
                || archive::resolve_in_root(rootfs, &rel).is_none())
        {
            return Err(fail(format!(
                "\"{src}\" could not be found on container {name}: no such file or directory"
            )));
        }
        let existing = std::fs::symlink_metadata(root.join(&top)).ok();
        let is_dir = rel.as_os_str().is_empty() || archive::is_dir_in_root(rootfs, &rel);
        let was_dir = existing.as_ref().is_some_and(|m| m.is_dir());
        // Named from the destination directory, as podman's copier sees it.
        check_kind(existing.is_some(), was_dir, is_dir, Path::new(&top), o)?;
        let rootfs = rootfs.to_path_buf();
        let unmap = id_map_of(store, name);
        pipe_into(&root, None, None, move |w| {
            archive::tar_in_root_mapped(&rootfs, &rel, &top, w, unmap.as_ref())
                .map(drop)
                .map_err(|e| fail(format!("{src}: {e}")))
        })
    })
}

/// What a dangling symlink at `at` (its parent resolved in `root`) names, when
/// that name's directory exists: a copy onto the link creates it, as podman's
/// copier does.
fn dangling_target(root: &Path, at: &Path) -> Option<PathBuf> {
    let link = std::fs::read_link(root.join(at)).ok()?;
    let named = match link.strip_prefix("/") {
        Ok(abs) => abs.to_path_buf(),
        Err(_) => at.parent()?.join(&link),
    };
    let file = named.file_name().filter(|f| *f != "..")?;
    let dir = archive::resolve_in_root(root, named.parent()?)?;
    Some(dir.join(file))
}

/// `cp SRC CONTAINER:DEST`; `owner` (see [`container_owner`]) over the
/// host files' own.
pub fn copy_in(
    store: &Store,
    src: &Path,
    name: &str,
    dest: &str,
    o: &CopyOptions,
) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(src).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail(format!(
            "\"{}\" could not be found on the host",
            src.display()
        )),
        _ => fail(format!("{}: {e}", src.display())),
    })?;
    let dest_rel = in_container(dest)?;
    // podman's words for a destination the container lacks.
    let missing = || {
        fail(format!(
            "\"{dest}\" could not be found on container {name}: no such file or directory"
        ))
    };
    with_tree(store, name, &dest_rel, true, |rootfs, dest_rel| {
        let dest_rel = dest_rel.to_path_buf();
        // Symlinks on the way resolve as the container sees them, inside its
        // root; the extractor then refuses any that changed meanwhile.
        let dest_rel = match archive::resolve_in_root(rootfs, &dest_rel) {
            Some(r) => r,
            // DEST/ names a directory, which must be there.
            None if dest.ends_with('/') => return Err(missing()),
            None => match dest_rel
                .parent()
                .and_then(|p| archive::resolve_in_root(rootfs, p))
            {
                Some(p) => {
                    let at = p.join(base_name(&dest_rel)?);
                    dangling_target(rootfs, &at).unwrap_or(at)
                }
                None => return Err(missing()),
            },
        };
        // Into an existing directory under the source's name, else as DEST.
        let target = if archive::is_dir_in_root(rootfs, &dest_rel) {
            dest_rel.join(base_name(src)?)
        } else {
            dest_rel.clone()
        };
        if target.as_os_str().is_empty() {
            return Err(fail("cannot replace the container's root directory"));
        }
        let exists = archive::resolve_in_root(rootfs, &target).is_some();
        let was_dir = archive::is_dir_in_root(rootfs, &target);
        check_kind(exists, was_dir, meta.is_dir(), &target, o)?;
        let owner = o.owner;
        let src = src.to_path_buf();
        pipe_into(rootfs, owner, id_map_of(store, name), move |w| {
            let mut b = tar::Builder::new(w);
            b.follow_symlinks(false);
            let r = if meta.is_dir() {
                b.append_dir_all(&target, &src)
            } else {
                b.append_path_with_name(&src, &target)
            };
            r.and_then(|_| b.finish())
                .map_err(|e| fail(format!("{}: {e}", src.display())))
        })
    })
}

/// `cp CONTAINER:SRC OTHER:DEST`: through a directory of the host's, as a
/// copy out and a copy in.
pub fn copy_between(
    store: &Store,
    from: &str,
    src: &str,
    to: &str,
    dest: &str,
    o: &CopyOptions,
) -> Result<(), Error> {
    let tmp = tempfile::tempdir().map_err(fail)?;
    let rel = in_container(src)?;
    let name = match rel.file_name() {
        Some(n) => n.to_os_string(),
        None => "root".into(),
    };
    let staged = tmp.path().join(&name);
    copy_out(store, from, src, &staged, &CopyOptions::default())?;
    copy_in(store, &staged, to, dest, o)
}

/// `cp CONTAINER:SRC -`: SRC as a tar on `out`, its top entry named after
/// it (`etc`, `etc/passwd` …; the root's entries are named from the root).
pub fn copy_out_stream(
    store: &Store,
    name: &str,
    src: &str,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let rel = in_container(src)?;
    let top = match rel.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        None => String::new(),
    };
    let unmap = id_map_of(store, name);
    with_tree(store, name, &rel, false, |tree, rel| {
        archive::tar_in_root_mapped(tree, rel, &top, out, unmap.as_ref())
            .map(drop)
            .map_err(|e| fail(format!("{src}: {e}")))
    })
}

/// `cp - CONTAINER:DEST`: extracts a tar (plain, gzip or zstd) read from
/// `input` into the directory DEST, as podman does; DEST must exist.
pub fn copy_in_stream(
    store: &Store,
    input: impl Read + Send,
    name: &str,
    dest: &str,
    o: &CopyOptions,
) -> Result<(), Error> {
    let owner = o.owner;
    let input = tar_stream(input)?;
    let dest_rel = in_container(dest)?;
    with_tree(store, name, &dest_rel, true, |tree, rel| {
        let dir = open_dir_in_root(tree, rel)
            .map_err(|_| fail("destination must be a directory when copying from stdin"))?;
        // The extractor opens this very directory again through its
        // descriptor, so a symlink the container swaps in on the way cannot
        // redirect it; below it, it follows no symlink and refuses `..` and
        // absolute names (a hostile archive stays inside the directory).
        let at = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
        let mut opts = ApplyOptions::new(WhiteoutMode::Literal);
        opts.sync = false;
        opts.owner = owner;
        opts.id_map = id_map_of(store, name);
        archive::apply_layer(input, &at, &opts, None)
            .map(drop)
            .map_err(|e| {
                let shown = format!("{name}:{}", Path::new("/").join(&dest_rel).display());
                fail(e.to_string().replace(&at.display().to_string(), &shown))
            })
    })
}

/// The decompressed stream, once its first block is seen to be a tar header
/// (podman refuses anything else, an empty stream included).
fn tar_stream<'a>(input: impl Read + Send + 'a) -> Result<impl Read + 'a, Error> {
    let not_tar = || fail("source must be a (compressed) tar archive when copying from stdin");
    let (kind, sniffed) = berth_image::blob::sniff(input).map_err(|_| not_tar())?;
    let mut plain = berth_image::blob::decompress(sniffed, kind);
    let mut head = Vec::with_capacity(512);
    (&mut plain)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|_| not_tar())?;
    if !is_tar_header(&head) {
        return Err(not_tar());
    }
    Ok(std::io::Cursor::new(head).chain(plain))
}

/// Whether `block` is a tar header: 512 bytes whose checksum field matches
/// their sum (counting that field as spaces), as tar readers check it.
fn is_tar_header(block: &[u8]) -> bool {
    let Ok(b) = <&[u8; 512]>::try_from(block) else {
        return false;
    };
    let Ok(stored) = tar::Header::from_byte_slice(b).cksum() else {
        return false;
    };
    let sum: u32 = b
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(x)
            }
        })
        .sum();
    stored == sum
}

/// Opens the directory `rel` resolved inside `root` as the container sees it:
/// openat2 with `RESOLVE_IN_ROOT`, so neither `..` nor a symlink leaves `root`
/// (the runtime's openat2, which retries the kernel's EAGAIN).
pub(crate) fn open_dir_in_root(root: &Path, rel: &Path) -> std::io::Result<OwnedFd> {
    let root_fd = std::fs::File::open(root)?;
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let c_rel = std::ffi::CString::new(rel.as_os_str().as_bytes())?;
    berth_runtime::sys::openat2(
        root_fd.as_raw_fd(),
        &c_rel,
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
        berth_runtime::sys::RESOLVE_IN_ROOT | berth_runtime::sys::RESOLVE_NO_MAGICLINKS,
    )
}

/// `export`: the container's whole filesystem as a tar, entries named from its root.
pub fn export(
    store: &Store,
    name: &str,
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), Error> {
    let unmap = id_map_of(store, name);
    with_rootfs(store, name, |rootfs| {
        archive::tar_in_root_mapped(rootfs, Path::new(""), "", out, unmap.as_ref())
            .map(drop)
            .map_err(fail)
    })
}

/// `export -o FILE`: the tar is written beside FILE and renamed over it once
/// whole, so that a failed export leaves no half archive under its name.
pub fn export_to_file(store: &Store, name: &str, path: &Path) -> Result<(), Error> {
    let tmp = path.with_extension("berth-tmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(fail)?);
    let written = export(store, name, &mut f).and_then(|()| f.flush().map_err(fail));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Where `build --output` writes an image's files (buildah's and docker's forms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesOutput {
    /// `type=local,dest=DIR`, or a bare path: the files in a directory.
    Dir(PathBuf),
    /// `type=tar,dest=FILE`: one tar.
    Tar(PathBuf),
    /// `-` (or `type=tar,dest=-`): a tar on standard output.
    Stdout,
}

impl std::str::FromStr for FilesOutput {
    type Err = Error;
    fn from_str(s: &str) -> Result<FilesOutput, Error> {
        let bad = |why: &str| Error::InvalidArgument(format!("--output {s}: {why}"));
        if s == "-" {
            return Ok(FilesOutput::Stdout);
        }
        if !s.contains('=') {
            return Ok(FilesOutput::Dir(PathBuf::from(s)));
        }
        let (mut kind, mut dest) = (None, None);
        for part in s.split(',') {
            match part.split_once('=') {
                Some(("type", v)) => kind = Some(v),
                Some(("dest", v)) => dest = Some(v),
                _ => return Err(bad("expected type=local|tar,dest=PATH")),
            }
        }
        let dest = dest
            .filter(|d| !d.is_empty())
            .ok_or_else(|| bad("no dest"))?;
        match (kind.unwrap_or("local"), dest) {
            ("local", "-") => Err(bad("a local output needs a directory")),
            ("local", d) => Ok(FilesOutput::Dir(PathBuf::from(d))),
            ("tar", "-") => Ok(FilesOutput::Stdout),
            ("tar", d) => Ok(FilesOutput::Tar(PathBuf::from(d))),
            (other, _) => Err(bad(&format!("type {other:?} is not local or tar"))),
        }
    }
}

/// An image's whole filesystem as a directory tree or a tar (`build --output`).
/// A directory's entries are written as `cp` writes them: nothing lands outside it.
pub fn export_image(store: &Store, image: &str, to: &FilesOutput) -> Result<(), Error> {
    let (id, root) = store.mount_image(image).map_err(fail)?;
    let written = match to {
        FilesOutput::Stdout => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            archive::tar_in_root(&root, Path::new(""), "", &mut out)
                .map(drop)
                .map_err(fail)
                .and_then(|()| out.flush().map_err(fail))
        }
        FilesOutput::Tar(path) => std::fs::File::create(path)
            .map_err(|e| fail(format!("{}: {e}", path.display())))
            .and_then(|f| {
                archive::tar_in_root(&root, Path::new(""), "", std::io::BufWriter::new(f))
                    .map(drop)
                    .map_err(fail)
            }),
        FilesOutput::Dir(dir) => export_into(&root, dir),
    };
    let _ = store.unmount_image(&id, false);
    written
}

fn export_into(root: &Path, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let (r, w) = std::io::pipe().map_err(fail)?;
    std::thread::scope(|s| {
        let tar = s.spawn(move || archive::tar_in_root(root, Path::new(""), "", w));
        let applied = archive::apply_layer(r, dir, &ApplyOptions::new(WhiteoutMode::Literal), None);
        let made = tar.join().map_err(|_| fail("the tar writer panicked"))?;
        made.map_err(fail)?;
        applied.map(drop).map_err(fail)
    })
}

/// What `cp` is asked: each side is `CONTAINER:PATH` when CONTAINER names a
/// container, else a path on the host (`-`: a tar stream).
#[derive(Clone, Copy, Debug)]
pub struct CpRequest<'a> {
    pub source: &'a str,
    pub destination: &'a str,
    /// What goes into a container is given its user and group.
    pub archive: bool,
    /// See [`CopyOptions::overwrite`].
    pub overwrite: bool,
}

/// `cp`: copies as the request's two sides say, a tar from `stdin` or to
/// `stdout` for `-`.
pub fn cp(
    store: &Store,
    r: &CpRequest,
    stdin: &mut (dyn Read + Send),
    stdout: &mut (dyn Write + Send),
) -> Result<(), Error> {
    let into = |c: &str| into_options(store, c, r);
    match (locate(store, r.source), locate(store, r.destination)) {
        (Some((c, p)), None) if r.destination == "-" => {
            copy_out_stream(store, c, p, stdout)?;
            stdout.flush().map_err(fail)
        }
        (None, Some((c, p))) if r.source == "-" => copy_in_stream(store, stdin, c, p, &into(c)?),
        (Some((c, p)), None) => {
            let o = CopyOptions {
                owner: None,
                overwrite: r.overwrite,
            };
            copy_out(store, c, p, Path::new(r.destination), &o)
        }
        (None, Some((c, p))) => copy_in(store, Path::new(r.source), c, p, &into(c)?),
        (Some((from, src)), Some((to, dest))) => {
            copy_between(store, from, src, to, dest, &into(to)?)
        }
        // A side written as CONTAINER:PATH names a container that is not
        // there, in podman's words.
        (None, None) => Err(
            match [r.source, r.destination].into_iter().find_map(named) {
                Some(name) => Error::InvalidArgument(format!("container {name:?} does not exist")),
                None => Error::InvalidArgument(
                    "one of the paths must name a container (CONTAINER:PATH)".into(),
                ),
            },
        ),
    }
}

/// The NAME of a side written as `NAME:PATH` (a name without `/`, not a
/// relative host path such as `./a:b`), whether or not it is a container.
fn named(side: &str) -> Option<&str> {
    let (name, _) = side.split_once(':')?;
    (!name.is_empty() && !name.contains('/') && !name.starts_with('.')).then_some(name)
}

/// `NAME:PATH` when NAME is a container; else a host path (None).
fn locate<'a>(store: &Store, side: &'a str) -> Option<(&'a str, &'a str)> {
    let (name, path) = side.split_once(':')?;
    container::find(store, name).ok().map(|_| (name, path))
}

/// How to copy into `container`: with `archive`, as its user and group.
fn into_options(store: &Store, container: &str, r: &CpRequest) -> Result<CopyOptions, Error> {
    let owner = match r.archive {
        true => Some(container_owner(store, container)?),
        false => None,
    };
    Ok(CopyOptions {
        owner,
        overwrite: r.overwrite,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_needs_a_container_on_one_side() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::test_store(dir.path());
        // A colon alone does not make a container: `nope` is none.
        assert_eq!(locate(&store, "nope:/etc"), None);
        assert_eq!(locate(&store, "/etc/hosts"), None);
        let r = CpRequest {
            source: "nope:/etc",
            destination: "-",
            archive: true,
            overwrite: false,
        };
        let e = cp(&store, &r, &mut std::io::empty(), &mut std::io::sink()).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        assert_eq!(e.to_string(), "container \"nope\" does not exist");
        let r = CpRequest {
            source: "/etc/hosts",
            destination: "./a:b",
            ..r
        };
        let e = cp(&store, &r, &mut std::io::empty(), &mut std::io::sink()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "one of the paths must name a container (CONTAINER:PATH)"
        );
    }

    #[test]
    fn output_flags_read_as_buildah_takes_them() {
        let p = |s: &str| s.parse::<FilesOutput>();
        assert_eq!(p("out").unwrap(), FilesOutput::Dir("out".into()));
        assert_eq!(p("-").unwrap(), FilesOutput::Stdout);
        assert_eq!(
            p("type=local,dest=/x").unwrap(),
            FilesOutput::Dir("/x".into())
        );
        assert_eq!(
            p("type=tar,dest=a.tar").unwrap(),
            FilesOutput::Tar("a.tar".into())
        );
        assert_eq!(p("type=tar,dest=-").unwrap(), FilesOutput::Stdout);
        assert!(p("type=registry,dest=x").is_err());
        assert!(p("type=local").is_err());
    }

    #[test]
    fn knows_a_tar_header() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        b.append_data(&mut h, "f", &b"abc"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        assert!(is_tar_header(&tar[..512]));
        assert!(!is_tar_header(&[0u8; 512]));
        assert!(!is_tar_header(&tar[..100]));
        let mut bad = tar[..512].to_vec();
        bad[0] ^= 1;
        assert!(!is_tar_header(&bad));
    }
}
