//! Files a user names for a command's result (`--digestfile`, `--iidfile`,
//! `--pod-id-file`, `--cidfile`), and the ID files later commands read back.
//! A result is written whole or not at all, so that a script reading one
//! while it is written never sees half a digest or ID.

use std::io;
use std::path::{Path, PathBuf};

/// A `--cidfile` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CidFileError {
    /// One is there already: another container may be using it (podman's words).
    #[error(
        "container id file exists. Ensure another container is not using it or delete {}",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("--cidfile {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// An ID file (`--cidfile`, `--pod-id-file`) that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct ReadIdError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Refuses a `--cidfile` that exists, before anything is made.
pub fn check_cidfile(path: &Path) -> Result<(), CidFileError> {
    match path.exists() {
        true => Err(CidFileError::Exists(path.to_path_buf())),
        false => Ok(()),
    }
}

/// Writes a new container's ID to its `--cidfile`, which must not exist yet
/// (created exclusively: two containers never share one, as podman's).
pub fn write_cidfile(path: &Path, id: &str) -> Result<(), CidFileError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| io::Write::write_all(&mut f, id.as_bytes()))
        .map_err(|source| CidFileError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// The IDs ID files hold, in order; with `ignore_missing` a file that is
/// not there names nothing (`--ignore`).
pub fn read_ids(files: &[PathBuf], ignore_missing: bool) -> Result<Vec<String>, ReadIdError> {
    let mut ids = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(id) => ids.push(id.trim().to_string()),
            Err(e) if ignore_missing && e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                let path = f.clone();
                return Err(ReadIdError { path, source });
            }
        }
    }
    Ok(ids)
}

/// Writes `data` to `path` through a temp file renamed over it, with the
/// mode podman's os.WriteFile(…, 0644) gives: 0644 less the umask.
pub fn write(path: &Path, data: impl AsRef<[u8]>) -> io::Result<()> {
    let mode = 0o644 & !umask();
    berth_image::fsutil::write_atomic_mode(path, data.as_ref(), mode).map_err(plain)
}

/// This process's umask, read from /proc (setting it to learn it would race
/// with other threads creating files); 077 when /proc cannot tell, so that
/// a file is never more open than the user asked.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    umask_in(&status).unwrap_or(0o077)
}

/// The `Umask:` line of a /proc/PID/status text (Linux 4.7 and later).
fn umask_in(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
}

/// The I/O error alone, as a direct write would have given it: the temp
/// file's error names the temp file (tempfile's " at path …"), which the
/// user never asked for, and the caller names `path` itself.
fn plain(e: berth_image::Error) -> io::Error {
    match e {
        berth_image::Error::Io { source, .. } => {
            let text = source.to_string();
            match text.split_once(" at path ") {
                Some((plain, _)) => io::Error::new(source.kind(), plain.to_string()),
                None => source,
            }
        }
        other => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_the_whole_text_readable_by_all() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("digest");
        std::fs::write(&p, "an older, longer text").unwrap();
        write(&p, "sha256:abc").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "sha256:abc");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644 & !umask());
        // Nothing of the temp file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_umask_is_read_from_the_status_text() {
        assert_eq!(
            umask_in("Name:\tberth\nUmask:\t0027\nState:\tR\n"),
            Some(0o027)
        );
        assert_eq!(umask_in("Name:\tberth\n"), None);
        assert!(umask_in(&std::fs::read_to_string("/proc/self/status").unwrap()).is_some());
    }

    #[test]
    fn a_cidfile_is_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cid");
        check_cidfile(&p).unwrap();
        write_cidfile(&p, "abc").unwrap();
        let e = check_cidfile(&p).unwrap_err();
        assert!(
            e.to_string().starts_with("container id file exists."),
            "{e}"
        );
        let e = write_cidfile(&p, "def").unwrap_err();
        assert!(matches!(e, CidFileError::Write { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "abc");
    }

    #[test]
    fn id_files_are_read_trimmed_and_missing_ones_passed_over_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (a, missing) = (dir.path().join("a"), dir.path().join("missing"));
        std::fs::write(&a, "abc\n").unwrap();
        let files = [a.clone(), missing.clone()];
        assert_eq!(read_ids(&files, true).unwrap(), ["abc"]);
        let e = read_ids(&files, false).unwrap_err();
        assert_eq!(e.path, missing);
    }

    #[test]
    fn a_missing_directory_is_told_as_a_plain_write_tells_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = write(&dir.path().join("no/such/digest"), "x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(e.to_string(), "No such file or directory (os error 2)");
    }
}
