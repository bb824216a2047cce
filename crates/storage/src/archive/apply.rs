//! Applying a layer archive onto a directory, on fd-relative operations only.
//!
//! Every parent directory is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//! | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)` from the layer's root, and every final
//! component is created with `O_EXCL`/`O_NOFOLLOW` or an `*at` call that does not follow
//! symlinks, so no entry can write outside the layer: `..` and absolute names are
//! refused, entries under a symlinked parent are refused, hardlinks resolve their target
//! the same way. The `tar` crate parses headers; nothing of its unpack code is used.
//!
//! The stream is hashed twice as it passes, in one pass: the compressed digest (what the
//! manifest names) and the diff ID (sha256 of the uncompressed tar).

use super::tree::{ContentHasher, ContentSum};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc;

use berth_image::Digest;
use berth_image::digest::{Algorithm, Digester};
use berth_image::manifest::Compression;
use rustix::fs::{
    self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps, XattrFlags,
};
use rustix::io::Errno;

use super::{Limits, OPAQUE_MARKER, WHITEOUT_PREFIX, WhiteoutMode};
use super::{clean_path, split_parent};
use crate::error::{Error, IoContext, Result};

/// How to apply a layer.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub whiteouts: WhiteoutMode,
    pub limits: Limits,
    /// Whether device nodes may be created (fifos always may).
    pub allow_devices: bool,
    /// Whether owners are taken from the archive (as root) or left to the applier.
    pub preserve_owners: bool,
    /// Every entry owned by this uid and gid instead of the archive's owners
    /// (`cp`'s `--archive`: the container's user).
    pub owner: Option<(u32, u32)>,
    /// `syncfs` once the layer is written (never per file).
    pub sync: bool,
    /// Compute the layer's tree checksum ([`super::tree`]), hashing file contents as
    /// they are written rather than reading them back.
    pub checksum: bool,
    /// The stream's digest, when the caller's reader already verifies it (as the copy
    /// engine's does): the stream is then not hashed a second time.
    pub known_digest: Option<Digest>,
    /// Whether entries may go below mount points under the root: a layer
    /// never does; `cp` into a running container's root (its tmpfs and
    /// volumes, as it sees them) does.
    pub cross_mounts: bool,
    /// Writing into the root of a container with a user namespace of its own,
    /// seen from the host: every owner (the archive's, [`Self::owner`], and
    /// root for directories made on the way) goes through its map.
    pub id_map: Option<crate::idmap::IdMap>,
}

impl ApplyOptions {
    pub fn new(whiteouts: WhiteoutMode) -> ApplyOptions {
        let root = rustix::process::geteuid().is_root();
        // Root of a user namespace may not make device nodes.
        let rootless = crate::config::rootless_uid().is_some();
        ApplyOptions {
            whiteouts,
            limits: Limits::default(),
            allow_devices: root && !rootless,
            preserve_owners: root,
            owner: None,
            sync: true,
            checksum: false,
            known_digest: None,
            cross_mounts: false,
            id_map: None,
        }
    }
}

/// What applying a layer found.
#[derive(Clone, Debug)]
pub struct ApplyReport {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    /// sha256 of the stream as it came (compressed or not).
    pub compressed_digest: Digest,
    pub compressed_size: u64,
    pub compression: Compression,
    pub entries: u64,
    /// The tree checksum, when asked for.
    pub tree_checksum: Option<Digest>,
    /// Whether the archive had an entry for the layer's root (`./`), which
    /// sets the root's mode and owner; without one they are what the root
    /// was given (see `Store`'s layer roots).
    pub root_entry: bool,
    /// The content checksums of the files written (with `checksum`), so that
    /// the tree checksum can be taken again cheaply after the root changes.
    pub contents: Option<super::tree::ContentSums>,
}

/// Applies the layer archive in `reader` (plain tar, gzip or zstd, sniffed) onto the
/// directory `root`. `keep`, when given, receives a copy of the stream as it came, so
/// that the compressed blob can be kept and served again with its digest.
pub fn apply_layer<R: Read>(
    reader: R,
    root: &Path,
    opts: &ApplyOptions,
    keep: Option<&mut (dyn Write + Send)>,
) -> Result<ApplyReport> {
    let root_fd = rfs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(root)?;
    let mut outer = Digester::new(Algorithm::Sha256);
    let hash_outer = opts.known_digest.is_none();
    let mut outer_n = 0u64;
    let mut unused = Digester::new(Algorithm::Sha256);
    let mut inner_n = 0u64;
    let diff_id;
    let compression;
    let entries;
    let contents;
    let root_entry;
    {
        let mut raw = io::BufReader::with_capacity(
            1 << 20,
            Tee {
                inner: reader,
                digester: &mut outer,
                count: &mut outer_n,
                copy: keep,
                limit: u64::MAX,
                hash: hash_outer,
            },
        );
        let head = raw.fill_buf().map_err(Error::Stream)?;
        compression = Compression::sniff(&head[..head.len().min(4)]);
        if compression == Compression::None {
            // An uncompressed blob's digest is its diff ID: hash it once.
            raw.get_mut().hash = false;
        }
        let decoder = match compression {
            Compression::None => Decoder::Plain(raw),
            Compression::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(raw)),
            Compression::Zstd => {
                Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(raw).map_err(Error::Stream)?)
            }
        };
        let mut plain = Tee {
            inner: decoder,
            digester: &mut unused,
            count: &mut inner_n,
            copy: None,
            limit: opts.limits.max_total_size,
            hash: false,
        };
        // Decompression (and the blob's digest) stay on this thread; the diff ID, tar
        // parsing and the file system work run on a second one, fed through a bounded
        // channel, so that one layer is not limited by one core.
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(8);
        let (n, c, d, r) = std::thread::scope(|s| -> Result<Extracted> {
            let worker = s.spawn(move || -> Result<Extracted> {
                let mut archive = tar::Archive::new(ChannelReader {
                    rx,
                    cur: Vec::new(),
                    pos: 0,
                    digester: Digester::new(Algorithm::Sha256),
                });
                let mut ex = Extractor::new(root_fd, root, opts);
                for e in archive.entries().map_err(Error::Stream)? {
                    let mut e = e.map_err(Error::Stream)?;
                    ex.entry(&mut e)?;
                }
                ex.finish()?;
                // The end-of-archive blocks and padding: read so the feeder finishes.
                let mut rest = archive.into_inner();
                io::copy(&mut rest, &mut io::sink()).map_err(Error::Stream)?;
                Ok((
                    ex.entries,
                    ex.contents.take(),
                    rest.digester.finish(),
                    ex.root_entry,
                ))
            });
            let fed = feed(&mut plain, &tx);
            drop(tx);
            let res = match worker.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            // A broken stream explains a failed extraction better than the reverse.
            fed.map_err(Error::Stream)?;
            res
        })?;
        entries = n;
        contents = c;
        diff_id = d;
        root_entry = r;
        // Whatever follows the compressed stream belongs to the blob's digest.
        let rest = plain;
        let mut raw = rest.inner.into_raw();
        io::copy(&mut raw, &mut io::sink()).map_err(Error::Stream)?;
    }
    let tree_checksum = match &contents {
        Some(c) => Some(super::tree::tree_checksum_as(
            root,
            super::tree::ContentSum::Crc32,
            c,
        )?),
        None => None,
    };
    let compressed_digest = match &opts.known_digest {
        Some(d) => d.clone(),
        None if compression == Compression::None => diff_id.clone(),
        None => outer.finish(),
    };
    Ok(ApplyReport {
        diff_id,
        uncompressed_size: inner_n,
        compressed_digest,
        compressed_size: outer_n,
        compression,
        entries,
        tree_checksum,
        root_entry,
        contents,
    })
}

type FileDigests = super::tree::ContentSums;

const CHUNK: usize = 256 << 10;

/// Sends the decompressed stream in chunks until it ends or the receiver stops.
fn feed(r: &mut impl Read, tx: &mpsc::SyncSender<Vec<u8>>) -> io::Result<()> {
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut n = 0;
        while n < CHUNK {
            let m = r.read(&mut chunk[n..])?;
            if m == 0 {
                break;
            }
            n += m;
        }
        if n == 0 {
            return Ok(());
        }
        chunk.truncate(n);
        if tx.send(chunk).is_err() {
            // The extractor stopped; its result says why.
            return Ok(());
        }
    }
}

/// The extractor's side of the channel.
/// What the extractor thread returns: entries, file digests, diff ID, and
/// whether the root had an entry.
type Extracted = (u64, Option<FileDigests>, Digest, bool);

/// The extractor's side of the channel; it hashes every byte received (the diff ID).
struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    digester: Digester,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.digester.update(&c);
                    self.cur = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The decompressor a sniffed stream needs (one per layer; its size is moot).
#[allow(clippy::large_enum_variant)]
enum Decoder<B: BufRead> {
    Plain(B),
    Gzip(flate2::bufread::MultiGzDecoder<B>),
    Zstd(zstd::stream::read::Decoder<'static, B>),
}

impl<B: BufRead> Decoder<B> {
    fn into_raw(self) -> B {
        match self {
            Decoder::Plain(b) => b,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

impl<B: BufRead> Read for Decoder<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(b) => b.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Hashes, counts and optionally copies what passes.
struct Tee<'a, 'b, R> {
    inner: R,
    digester: &'a mut Digester,
    count: &'a mut u64,
    copy: Option<&'a mut (dyn Write + Send + 'b)>,
    limit: u64,
    hash: bool,
}

impl<R: Read> Read for Tee<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hash {
            self.digester.update(&buf[..n]);
        }
        *self.count += n as u64;
        if *self.count > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("uncompressed layer larger than {} bytes", self.limit),
            ));
        }
        if let Some(w) = self.copy.as_mut() {
            w.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

/// Ownership, mode, times and xattrs of an entry.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// How the extractor resolves paths under the root.
fn resolve_flags(o: &ApplyOptions) -> ResolveFlags {
    if o.cross_mounts {
        RESOLVE.difference(ResolveFlags::NO_XDEV)
    } else {
        RESOLVE
    }
}

struct Extractor<'o> {
    root: OwnedFd,
    root_path: &'o Path,
    opts: &'o ApplyOptions,
    /// The last parent directory opened, by its relative path.
    cache: Option<(PathBuf, Rc<OwnedFd>)>,
    /// Directory metadata, applied at the end (children change a directory's mtime).
    dirs: Vec<(PathBuf, Meta)>,
    /// Delete mode: the paths this layer wrote, which an opaque marker keeps.
    own: HashSet<PathBuf>,
    buf: Vec<u8>,
    entries: u64,
    /// Content digests of the regular files written, by (device, inode).
    contents: Option<FileDigests>,
    /// Whether an entry named the root.
    root_entry: bool,
}

impl<'o> Extractor<'o> {
    fn new(root: OwnedFd, root_path: &'o Path, opts: &'o ApplyOptions) -> Self {
        Extractor {
            root,
            root_path,
            opts,
            cache: None,
            dirs: Vec::new(),
            own: HashSet::new(),
            buf: vec![0u8; 1 << 20],
            entries: 0,
            contents: opts.checksum.then(HashMap::new),
            root_entry: false,
        }
    }

    fn io_err(&self, rel: &Path, e: impl Into<io::Error>) -> Error {
        Error::io(self.root_path.join(rel), e.into())
    }

    fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<()> {
        self.entries += 1;
        let limits = self.opts.limits;
        if self.entries > limits.max_entries {
            return Err(Error::Limit(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let raw = e.path().map_err(Error::Stream)?.into_owned();
        let shown = raw.display().to_string();
        if raw.as_os_str().len() > limits.max_path_len {
            return Err(Error::refused(shown, "path too long"));
        }
        let path = clean_path(&raw).map_err(|why| Error::refused(&shown, why))?;
        let kind = e.header().entry_type();
        let size = e.size();
        if size > limits.max_file_size {
            return Err(Error::refused(shown, format!("file of {size} bytes")));
        }
        let meta = self.meta(e, &shown)?;

        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let Some((parent, name)) = split_parent(&path) else {
            // The layer's root itself: only its metadata may be set.
            if !kind.is_dir() {
                return Err(Error::refused(shown, "the root is not a directory"));
            }
            self.dirs.push((PathBuf::new(), meta));
            self.root_entry = true;
            return Ok(());
        };
        let name_b = name.as_bytes();
        if self.opts.whiteouts != WhiteoutMode::Literal
            && let Some(target) = name_b.strip_prefix(WHITEOUT_PREFIX.as_bytes())
        {
            if name_b == OPAQUE_MARKER.as_bytes() {
                return self.opaque(parent, &shown);
            }
            if target.is_empty() || target == b"." || target == b".." {
                return Err(Error::refused(shown, "whiteout of nothing"));
            }
            return self.whiteout(parent, OsStr::from_bytes(target), &shown);
        }
        let pfd_rc = self.parent(parent, &shown)?;
        let pfd = pfd_rc.as_fd();
        if self.opts.whiteouts == WhiteoutMode::Delete {
            self.own.insert(path.clone());
        }
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                self.make_dir(pfd, name, &path)?;
                self.dirs.push((path, meta));
            }
            T::Regular | T::Continuous => {
                self.replace(pfd, name, false, &path)?;
                let fd = rfs::openat(
                    pfd,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(|er| self.io_err(&path, er))?;
                let mut f = File::from(fd);
                let mut written = 0u64;
                let mut hasher = self
                    .contents
                    .is_some()
                    .then(|| ContentHasher::new(ContentSum::Crc32));
                loop {
                    let n = e.read(&mut self.buf).map_err(Error::Stream)?;
                    if n == 0 {
                        break;
                    }
                    f.write_all(&self.buf[..n])
                        .map_err(|er| self.io_err(&path, er))?;
                    if let Some(h) = hasher.as_mut() {
                        h.update(&self.buf[..n]);
                    }
                    written += n as u64;
                }
                if let Some(h) = hasher {
                    let st = rfs::fstat(&f).map_err(|er| self.io_err(&path, er))?;
                    if let Some(c) = self.contents.as_mut() {
                        c.insert((st.st_dev, st.st_ino), h.finish());
                    }
                }
                if written != size {
                    return Err(Error::Stream(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{shown}: archive ends inside the file"),
                    )));
                }
                self.set_meta_fd(f.as_fd(), &meta, &path)?;
            }
            T::Symlink => {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| Error::refused(&shown, "symlink without target"))?
                    .into_owned();
                self.replace(pfd, name, false, &path)?;
                rfs::symlinkat(OsStr::from_bytes(&target), pfd, name)
                    .map_err(|er| self.io_err(&path, er))?;
                self.set_meta_at(pfd, name, &meta, &path, false)?;
            }
            T::Link => {
                let target = e
                    .link_name()
                    .map_err(Error::Stream)?
                    .ok_or_else(|| Error::refused(&shown, "hardlink without target"))?
                    .into_owned();
                let target = clean_path(&target)
                    .map_err(|why| Error::refused(&shown, format!("hardlink target: {why}")))?;
                if target == path {
                    return Ok(());
                }
                let Some((tparent, tname)) = split_parent(&target) else {
                    return Err(Error::refused(shown, "hardlink to the root"));
                };
                let tfd = match self.open_dir(tparent) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => {
                        return Err(Error::refused(shown, "hardlink target does not exist"));
                    }
                    Err(Errno::LOOP) | Err(Errno::XDEV) | Err(Errno::NOTDIR) => {
                        return Err(Error::refused(shown, "hardlink target outside the layer"));
                    }
                    Err(er) => return Err(self.io_err(tparent, er)),
                };
                let st = rfs::statat(&tfd, tname, AtFlags::SYMLINK_NOFOLLOW).map_err(|er| {
                    if er == Errno::NOENT {
                        Error::refused(&shown, "hardlink target does not exist")
                    } else {
                        self.io_err(&target, er)
                    }
                })?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    return Err(Error::refused(shown, "hardlink to a directory"));
                }
                self.replace(pfd, name, false, &path)?;
                rfs::linkat(&tfd, tname, pfd, name, AtFlags::empty())
                    .map_err(|er| self.io_err(&path, er))?;
            }
            T::Char | T::Block | T::Fifo => {
                let ft = match kind {
                    T::Char => FileType::CharacterDevice,
                    T::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                if ft != FileType::Fifo && !self.opts.allow_devices {
                    return Err(Error::refused(shown, "device nodes are not allowed here"));
                }
                let major = e.header().device_major().ok().flatten().unwrap_or(0);
                let minor = e.header().device_minor().ok().flatten().unwrap_or(0);
                self.replace(pfd, name, false, &path)?;
                rfs::mknodat(
                    pfd,
                    name,
                    ft,
                    Mode::from_raw_mode(0o600),
                    rfs::makedev(major, minor),
                )
                .map_err(|er| self.io_err(&path, er))?;
                self.set_meta_at(pfd, name, &meta, &path, true)?;
            }
            T::GNUSparse => return Err(Error::refused(shown, "sparse files are not supported")),
            other => {
                return Err(Error::refused(
                    shown,
                    format!("unsupported entry type {:?}", other.as_byte() as char),
                ));
            }
        }
        Ok(())
    }

    fn meta<R: Read>(&self, e: &mut tar::Entry<'_, R>, shown: &str) -> Result<Meta> {
        let h = e.header();
        let mode = h.mode().map_err(Error::Stream)? & 0o7777;
        let uid = h.uid().map_err(Error::Stream)?;
        let gid = h.gid().map_err(Error::Stream)?;
        let mtime = h.mtime().map_err(Error::Stream)? as i64;
        let (Ok(uid), Ok(gid)) = (u32::try_from(uid), u32::try_from(gid)) else {
            return Err(Error::refused(shown, "owner out of range"));
        };
        let mut xattrs = Vec::new();
        let mut total = 0usize;
        if let Some(exts) = e.pax_extensions().map_err(Error::Stream)? {
            for ext in exts {
                let ext = ext.map_err(Error::Stream)?;
                // PAX's sparse files (GNU.sparse.*, formats 0.x and 1.0) as
                // GNU's own: refused, not stored as their raw map.
                if ext.key_bytes().starts_with(b"GNU.sparse.") {
                    return Err(Error::refused(shown, "sparse files are not supported"));
                }
                if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    total += name.len() + ext.value_bytes().len();
                    if total > self.opts.limits.max_xattr_size {
                        return Err(Error::refused(shown, "extended attributes too large"));
                    }
                    xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
        Ok(Meta {
            mode,
            uid,
            gid,
            mtime,
            xattrs,
        })
    }

    /// Opens a directory below the root without following any symlink.
    fn open_dir(&self, rel: &Path) -> rustix::io::Result<OwnedFd> {
        let p: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        super::openat2(
            &self.root,
            p,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            resolve_flags(self.opts),
        )
    }

    /// The parent directory of an entry, created (0755) where missing.
    fn parent(&mut self, rel: &Path, shown: &str) -> Result<Rc<OwnedFd>> {
        let hit = matches!(&self.cache, Some((p, _)) if p == rel);
        if !hit {
            let fd = match self.open_dir(rel) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => self.create_dirs(rel, shown)?,
                Err(er) => return Err(self.resolve_error(rel, shown, er)),
            };
            self.cache = Some((rel.to_path_buf(), Rc::new(fd)));
        }
        Ok(self.cache.as_ref().expect("cached").1.clone())
    }

    /// A directory made on the way is root's: the mapped root's in a
    /// container with a map of its own.
    fn own_made_dir(&self, pfd: &OwnedFd, name: &OsStr, rel: &Path) -> Result<()> {
        let Some(map) = &self.opts.id_map else {
            return Ok(());
        };
        let (uid, gid) = (map.host_uid(0), map.host_gid(0));
        rfs::chownat(
            pfd,
            name,
            uid.map(rfs::Uid::from_raw),
            gid.map(rfs::Gid::from_raw),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|er| self.io_err(rel, er))
    }

    fn resolve_error(&self, rel: &Path, shown: &str, er: Errno) -> Error {
        match er {
            Errno::LOOP => Error::refused(shown, "parent path goes through a symlink"),
            Errno::XDEV => Error::refused(shown, "parent path leaves the layer"),
            Errno::NOTDIR => Error::refused(shown, "parent path is not a directory"),
            er => self.io_err(rel, er),
        }
    }

    fn create_dirs(&mut self, rel: &Path, shown: &str) -> Result<OwnedFd> {
        let mut cur = self
            .open_dir(Path::new(""))
            .map_err(|er| self.io_err(rel, er))?;
        let mut sofar = PathBuf::new();
        for comp in rel.iter() {
            sofar.push(comp);
            let next = super::openat2(
                &cur,
                comp,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::empty(),
                resolve_flags(self.opts),
            );
            cur = match next {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match rfs::mkdirat(&cur, comp, Mode::from_raw_mode(0o755)) {
                        Ok(()) => self.own_made_dir(&cur, comp, &sofar)?,
                        Err(Errno::EXIST) => {}
                        Err(er) => return Err(self.io_err(&sofar, er)),
                    }
                    if self.opts.whiteouts == WhiteoutMode::Delete {
                        self.own.insert(sofar.clone());
                    }
                    super::openat2(
                        &cur,
                        comp,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                        Mode::empty(),
                        resolve_flags(self.opts),
                    )
                    .map_err(|er| self.resolve_error(&sofar, shown, er))?
                }
                Err(er) => return Err(self.resolve_error(&sofar, shown, er)),
            };
        }
        Ok(cur)
    }

    /// Makes room for a new entry `name`: removes what is there unless both are
    /// directories.
    fn replace(
        &mut self,
        pfd: BorrowedFd<'_>,
        name: &OsStr,
        is_dir: bool,
        rel: &Path,
    ) -> Result<bool> {
        let st = match rfs::statat(pfd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(false),
            Err(er) => return Err(self.io_err(rel, er)),
        };
        let was_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if was_dir && is_dir {
            return Ok(true);
        }
        if was_dir {
            remove_tree(pfd, name).map_err(|er| self.io_err(rel, er))?;
            self.cache = None;
        } else {
            rfs::unlinkat(pfd, name, AtFlags::empty()).map_err(|er| self.io_err(rel, er))?;
        }
        Ok(false)
    }

    fn make_dir(&mut self, pfd: BorrowedFd<'_>, name: &OsStr, rel: &Path) -> Result<()> {
        if self.replace(pfd, name, true, rel)? {
            return Ok(());
        }
        rfs::mkdirat(pfd, name, Mode::from_raw_mode(0o700)).map_err(|er| self.io_err(rel, er))
    }

    /// The owner an entry gets: the override, else the archive's (through the
    /// container's map; an ID it lacks becomes the overflow ID, which the
    /// mapped root filesystem then refuses by name).
    fn owner_of(&self, m: &Meta) -> (u32, u32) {
        let (uid, gid) = self.opts.owner.unwrap_or((m.uid, m.gid));
        match &self.opts.id_map {
            None => (uid, gid),
            Some(map) => (
                map.host_uid(uid).unwrap_or(crate::idmap::OVERFLOW_ID),
                map.host_gid(gid).unwrap_or(crate::idmap::OVERFLOW_ID),
            ),
        }
    }

    fn set_meta_fd(&self, fd: BorrowedFd<'_>, m: &Meta, rel: &Path) -> Result<()> {
        if self.opts.preserve_owners || self.opts.owner.is_some() {
            let (uid, gid) = self.owner_of(m);
            rfs::fchown(
                fd,
                Some(rfs::Uid::from_raw(uid)),
                Some(rfs::Gid::from_raw(gid)),
            )
            .map_err(|er| self.io_err(rel, er))?;
        }
        rfs::fchmod(fd, Mode::from_raw_mode(m.mode)).map_err(|er| self.io_err(rel, er))?;
        for (k, v) in &m.xattrs {
            rfs::fsetxattr(fd, OsStr::from_bytes(k), v, XattrFlags::empty())
                .map_err(|er| self.io_err(rel, er))?;
        }
        rfs::futimens(fd, &times(m.mtime)).map_err(|er| self.io_err(rel, er))
    }

    /// Metadata of a symlink or device node, by name without following it.
    fn set_meta_at(
        &self,
        pfd: BorrowedFd<'_>,
        name: &OsStr,
        m: &Meta,
        rel: &Path,
        chmod: bool,
    ) -> Result<()> {
        if self.opts.preserve_owners || self.opts.owner.is_some() {
            let (uid, gid) = self.owner_of(m);
            rfs::chownat(
                pfd,
                name,
                Some(rfs::Uid::from_raw(uid)),
                Some(rfs::Gid::from_raw(gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(|er| self.io_err(rel, er))?;
        }
        if chmod {
            // The node was just made by us in a directory no one else writes; it is
            // not a symlink, so following is moot.
            rfs::chmodat(pfd, name, Mode::from_raw_mode(m.mode), AtFlags::empty())
                .map_err(|er| self.io_err(rel, er))?;
        }
        rfs::utimensat(pfd, name, &times(m.mtime), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|er| self.io_err(rel, er))
    }

    fn opaque(&mut self, parent: &Path, shown: &str) -> Result<()> {
        match self.opts.whiteouts {
            // Never reached: entry() takes whiteout names literally in this mode.
            WhiteoutMode::Literal => {}
            WhiteoutMode::Overlay => {
                let fd = self.parent(parent, shown)?;
                rfs::fsetxattr(&*fd, super::opaque_xattr(), b"y", XattrFlags::empty())
                    .map_err(|er| Error::io(self.root_path.join(parent), er.into()))?;
            }
            WhiteoutMode::Delete => {
                let dir = match self.open_dir(parent) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => return Ok(()),
                    Err(er) => return Err(self.resolve_error(parent, shown, er)),
                };
                let mut doomed = Vec::new();
                for ent in read_names(dir.as_fd()).map_err(|er| self.io_err(parent, er))? {
                    if !self.own.contains(&parent.join(&ent)) {
                        doomed.push(ent);
                    }
                }
                for ent in doomed {
                    remove_any(dir.as_fd(), &ent)
                        .map_err(|er| self.io_err(&parent.join(&ent), er))?;
                }
                self.cache = None;
            }
        }
        Ok(())
    }

    fn whiteout(&mut self, parent: &Path, target: &OsStr, shown: &str) -> Result<()> {
        let rel = parent.join(target);
        match self.opts.whiteouts {
            WhiteoutMode::Literal => {}
            WhiteoutMode::Overlay => {
                let pfd = self.parent(parent, shown)?;
                self.replace(pfd.as_fd(), target, false, &rel)?;
                rfs::mknodat(
                    &*pfd,
                    target,
                    FileType::CharacterDevice,
                    Mode::empty(),
                    rfs::makedev(0, 0),
                )
                .map_err(|er| self.io_err(&rel, er))?;
            }
            WhiteoutMode::Delete => {
                let pfd = match self.open_dir(parent) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => return Ok(()),
                    Err(er) => return Err(self.resolve_error(parent, shown, er)),
                };
                match remove_any(pfd.as_fd(), target) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(er) => return Err(self.io_err(&rel, er)),
                }
                self.own.remove(&rel);
                self.cache = None;
            }
        }
        Ok(())
    }

    /// Directory metadata, then one sync for the whole layer.
    fn finish(&mut self) -> Result<()> {
        self.cache = None;
        let dirs = std::mem::take(&mut self.dirs);
        for (rel, meta) in &dirs {
            let fd = match self.open_dir(rel) {
                Ok(fd) => fd,
                // Replaced or whited out later in the same archive.
                Err(Errno::NOENT) | Err(Errno::NOTDIR) | Err(Errno::LOOP) => continue,
                Err(er) => return Err(self.io_err(rel, er)),
            };
            self.set_meta_fd(fd.as_fd(), meta, rel)?;
        }
        if self.opts.sync {
            rfs::syncfs(&self.root).map_err(|er| self.io_err(Path::new(""), er))?;
        }
        Ok(())
    }
}

fn times(mtime: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Names in a directory, without `.` and `..`.
pub(crate) fn read_names(dir: BorrowedFd<'_>) -> rustix::io::Result<Vec<std::ffi::OsString>> {
    let mut d = rfs::Dir::read_from(dir)?;
    let mut out = Vec::new();
    while let Some(ent) = d.read() {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    Ok(out)
}

/// Removes `name` in `dir` whatever it is, directories recursively, never following
/// symlinks.
pub(crate) fn remove_any(dir: BorrowedFd<'_>, name: &OsStr) -> rustix::io::Result<()> {
    let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        remove_tree(dir, name)
    } else {
        rfs::unlinkat(dir, name, AtFlags::empty())
    }
}

fn remove_tree(dir: BorrowedFd<'_>, name: &OsStr) -> rustix::io::Result<()> {
    let sub = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for child in read_names(sub.as_fd())? {
        remove_any(sub.as_fd(), &child)?;
    }
    drop(sub);
    rfs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}
