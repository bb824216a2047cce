//! Files written so that a reader never sees half of one: temp file, then rename.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::digest::{Algorithm, Digest, DigestingWriter};
use crate::error::{Error, IoContext, Result};
use crate::transport::BlobInfo;

pub const COPY_BUFFER: usize = 1 << 20;

/// Writes `data` to `path` through a temp file of its own in the same
/// directory (`.NAME.tmp-RANDOM`, mode 0600), renamed over `path`: readers see
/// the old file or the new one, and concurrent writers never share a temp
/// file. Not synced: for state that a crash may lose but never garble.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    write_via_temp(path, data, false, Mode::Private)
}

/// [`write_atomic`] of a file that gets `mode` before it appears under its
/// name (an executable that another process may run at once).
pub fn write_atomic_mode(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    write_via_temp(path, data, false, Mode::Exact(mode))
}

/// [`write_atomic`] of a file in a place the user named (a `dir:` or `oci:`
/// destination): 0666 less the umask, as an ordinary create makes it and as
/// skopeo leaves it, so that other users and web servers can read it.
pub fn write_public(path: &Path, data: &[u8]) -> Result<()> {
    write_via_temp(path, data, false, Mode::Public)
}

/// [`write_atomic`], durable: the file is synced before the rename and the
/// directory after it, so that the new content survives a crash once this
/// returns (the store's records).
pub fn write_durable(path: &Path, data: &[u8]) -> Result<()> {
    write_via_temp(path, data, true, Mode::Private)
}

/// The mode a file written through a temp file ends with.
#[derive(Clone, Copy)]
enum Mode {
    /// 0600: the temp file's own.
    Private,
    /// Exactly this, whatever the umask.
    Exact(u32),
    /// 0666 less the umask.
    Public,
}

/// A temp file in `dir` named `prefix…`, made with `mode`'s permissions.
fn temp_in(dir: &Path, prefix: &str, mode: Mode) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    if let Mode::Public = mode {
        // Given to open(2), which takes the umask off as for any new file.
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = b.tempfile_in(dir).at(dir)?;
    if let Mode::Exact(m) = mode {
        let perms = std::fs::Permissions::from_mode(m);
        tmp.as_file().set_permissions(perms).at(tmp.path())?;
    }
    Ok(tmp)
}

/// A temp file beside `target` for a whole archive written in place of it,
/// public as [`write_public`]'s files are.
pub fn archive_temp(parent: &Path, prefix: &str) -> Result<tempfile::NamedTempFile> {
    temp_in(parent, prefix, Mode::Public)
}

fn write_via_temp(path: &Path, data: &[u8], durable: bool, mode: Mode) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut tmp = temp_in(dir, &format!(".{name}.tmp-"), mode)?;
    tmp.write_all(data).at(tmp.path())?;
    if durable {
        tmp.as_file().sync_all().at(tmp.path())?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// fsync of a directory, so that renames into it last.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Copies a stream into a new temp file in `dir`. Without `known`, the content is
/// hashed on the way; with it, the caller's reader verifies the digest (the
/// destination contract), so hashing again would only double the cost.
/// The temp file disappears unless the caller persists it.
pub fn stream_to_temp(
    dir: &Path,
    reader: &mut dyn Read,
    known: Option<&BlobInfo>,
) -> Result<(tempfile::NamedTempFile, BlobInfo)> {
    // A blob of a destination the user named: public, as skopeo writes it.
    let tmp = temp_in(dir, ".tmp-blob-", Mode::Public)?;
    if let Some(k) = known {
        let mut w = io::BufWriter::with_capacity(COPY_BUFFER, tmp);
        let size = copy(reader, &mut w)?;
        let tmp = w.into_inner().map_err(|e| Error::Stream(e.into_error()))?;
        let info = BlobInfo {
            digest: k.digest.clone(),
            size,
        };
        check_known(&info, known)?;
        return Ok((tmp, info));
    }
    let mut w = DigestingWriter::new(
        io::BufWriter::with_capacity(COPY_BUFFER, tmp),
        Algorithm::Sha256,
    );
    copy(reader, &mut w)?;
    let (buf, digest, size) = w.finish();
    let tmp = buf
        .into_inner()
        .map_err(|e| Error::Stream(e.into_error()))?;
    Ok((tmp, BlobInfo { digest, size }))
}

/// Copies all of `r` into `w` with a large buffer; errors keep their message.
pub fn copy(r: &mut dyn Read, w: &mut dyn Write) -> Result<u64> {
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Stream(e)),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
    w.flush()?;
    Ok(total)
}

/// `blobs/ALG/HEX` under an OCI layout (or any content-addressed directory).
pub fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs")
        .join(digest.algorithm().name())
        .join(digest.hex())
}

/// Opens a file, mapping "not found" to `None`.
pub fn open_optional(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Checks the result of a stream against what the caller announced.
pub fn check_known(got: &BlobInfo, known: Option<&BlobInfo>) -> Result<()> {
    if let Some(k) = known {
        if k.digest != got.digest {
            return Err(Error::DigestMismatch {
                expected: k.digest.clone(),
                actual: got.digest.clone(),
            });
        }
        if k.size != got.size {
            return Err(Error::SizeMismatch {
                digest: k.digest.clone(),
                expected: k.size,
                actual: got.size,
            });
        }
    }
    Ok(())
}

/// A staging directory beside an archive being written; names the missing parent
/// rather than the temp path when there is none.
pub fn staging_dir(dir: &Path, prefix: &str) -> Result<tempfile::TempDir> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "{}: directory does not exist",
            dir.display()
        )));
    }
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(dir)
        .map_err(|e| Error::io(dir, e))
}
