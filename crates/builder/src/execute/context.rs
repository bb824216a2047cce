//! The build context and other roots COPY reads from: the ignore file, and
//! sources (paths or patterns) resolved without leaving their root.

use std::path::{Path, PathBuf};

use berth_storage::archive;

use super::rootfs::container_path;
use crate::Ignore;
use crate::error::{BuildError, CopyError};

/// `--ignorefile`, else the context's `.containerignore` (else `.dockerignore`;
/// else nothing excluded).
pub(crate) fn load_ignore(context: &Path, given: Option<&Path>) -> Result<Ignore, BuildError> {
    let parse = |text: &str, file: String| {
        Ignore::parse(text).map_err(|source| BuildError::Ignore { file, source })
    };
    if let Some(path) = given {
        let text = std::fs::read_to_string(path).map_err(|source| BuildError::IgnoreFile {
            path: path.to_path_buf(),
            source,
        })?;
        return parse(&text, path.display().to_string());
    }
    for name in [".containerignore", ".dockerignore"] {
        if let Ok(text) = std::fs::read_to_string(context.join(name)) {
            return parse(&text, name.to_string());
        }
    }
    Ok(Ignore::default())
}

/// A source path inside `root`, without `..` climbing out, symlinks resolved
/// inside `root`.
pub(super) fn source_path(root: &Path, src: &str) -> Result<PathBuf, CopyError> {
    let rel = container_path(src, "/");
    let clean = crate::ignore::clean(src);
    if clean.starts_with("..") {
        return Err(CopyError::OutsideContext(src.to_string()));
    }
    let resolved =
        archive::resolve_in_root(root, &rel).ok_or_else(|| CopyError::NoSource(src.to_string()))?;
    Ok(root.join(resolved))
}

/// Whether a source is a pattern rather than a path.
pub(super) fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Sources matching a pattern in its last component (`*.txt`, `dir/a?`).
pub(super) fn glob(root: &Path, src: &str) -> Result<Vec<(PathBuf, String)>, CopyError> {
    let (dir, pat) = src.rsplit_once('/').unwrap_or(("", src));
    let base = source_path(root, if dir.is_empty() { "." } else { dir })?;
    let matcher = Ignore::parse(pat)?;
    let mut out = Vec::new();
    for e in std::fs::read_dir(&base).map_err(read_error(src))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if matcher.is_excluded(&name) {
            out.push((
                e.path(),
                format!(
                    "{}{name}",
                    if dir.is_empty() {
                        String::new()
                    } else {
                        format!("{dir}/")
                    }
                ),
            ));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(CopyError::NoMatch(src.to_string()));
    }
    Ok(out)
}

/// A source, named as the instruction names it, that could not be read.
pub(super) fn read_error(shown: &str) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Read {
        source_name: shown.to_string(),
        source,
    }
}
