//! Lock files (flock) and crash-safe metadata writes.
//!
//! Each acquisition opens the lock file anew, so the lock excludes other threads of
//! the same process as well as other processes (flock locks belong to the open file
//! description). A killed process's locks vanish with it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};
use rustix::io::Errno;

use crate::error::{Error, IoContext, Result};

/// A lock file path; locks are taken on fresh descriptors.
#[derive(Clone, Debug)]
pub struct LockFile {
    path: PathBuf,
    read_only: bool,
}

/// A held lock, released on drop.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

impl LockFile {
    /// A lock file that is created when missing.
    pub fn new(path: impl Into<PathBuf>) -> LockFile {
        LockFile {
            path: path.into(),
            read_only: false,
        }
    }

    /// The lock file of a store this process may not write (additional image
    /// stores): only shared locks, and a missing file means no lock.
    pub fn read_only(path: impl Into<PathBuf>) -> LockFile {
        LockFile {
            path: path.into(),
            read_only: true,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> Result<Option<File>> {
        let r = if self.read_only {
            File::open(&self.path)
        } else {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(&self.path)
        };
        match r {
            Ok(f) => Ok(Some(f)),
            Err(e) if self.read_only && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    fn take(&self, op: FlockOperation) -> Result<Option<LockGuard>> {
        let Some(f) = self.open()? else {
            return Ok(Some(LockGuard {
                _file: File::open("/dev/null").at("/dev/null")?,
            }));
        };
        loop {
            match flock(&f, op) {
                Ok(()) => return Ok(Some(LockGuard { _file: f })),
                Err(Errno::INTR) => continue,
                Err(Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(Error::io(&self.path, e.into())),
            }
        }
    }

    /// Waits for a shared (reader) lock.
    pub fn shared(&self) -> Result<LockGuard> {
        Ok(self
            .take(FlockOperation::LockShared)?
            .expect("blocking lock"))
    }

    /// Waits for an exclusive (writer) lock.
    pub fn exclusive(&self) -> Result<LockGuard> {
        if self.read_only {
            return Err(Error::io(
                &self.path,
                std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            ));
        }
        Ok(self
            .take(FlockOperation::LockExclusive)?
            .expect("blocking lock"))
    }

    /// An exclusive lock if no one holds any.
    pub fn try_exclusive(&self) -> Result<Option<LockGuard>> {
        self.take(FlockOperation::NonBlockingLockExclusive)
    }
}

/// Waits for an exclusive `flock` on a file the caller opened (and keeps
/// open: the lock goes with the descriptor); the one flock of the workspace's
/// library crates.
pub fn flock_exclusive(f: &File) -> std::io::Result<()> {
    loop {
        match flock(f, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Opens (making it when missing) and exclusively locks the lock file at
/// `path`; the lock holds while the returned file lives.
pub fn lock_file(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    flock_exclusive(&f)?;
    Ok(f)
}

/// Writes `bytes` to `path` atomically and durably (see
/// [`berth_image::fsutil::write_durable`]): temporary file `.NAME.tmp-…`,
/// fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    berth_image::fsutil::write_durable(path, bytes).map_err(|e| match e {
        berth_image::Error::Io { path, source } => Error::io(path, source),
        e => Error::Invalid(e.to_string()),
    })
}

/// fsync of a directory, so that renames into it last.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// `n` random bytes as hex, from the kernel.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let mut got = 0;
    while got < n {
        // SAFETY: the buffer is valid for `n - got` bytes from `got`.
        let r = unsafe { libc::getrandom(b[got..].as_mut_ptr().cast(), n - got, 0) };
        if r > 0 {
            got += r as usize;
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
