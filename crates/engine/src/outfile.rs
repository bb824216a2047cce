//! Files a user names for a command's result (`--digestfile`, `--iidfile`,
//! `--pod-id-file`): written whole or not at all, so that a script reading
//! one while it is written never sees half a digest or ID.

use std::io;
use std::path::Path;

/// Writes `text` to `path` through a temp file renamed over it, with the
/// mode podman's os.WriteFile(…, 0644) gives.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    berth_image::fsutil::write_atomic_mode(path, text.as_bytes(), 0o644).map_err(plain)
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
        assert_eq!(mode & 0o777, 0o644);
        // Nothing of the temp file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_told_as_a_plain_write_tells_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = write(&dir.path().join("no/such/digest"), "x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(e.to_string(), "No such file or directory (os error 2)");
    }
}
