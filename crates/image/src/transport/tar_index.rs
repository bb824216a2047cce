//! Reading image archives in place: one pass records where each file's bytes are,
//! then blobs are served straight from the archive without extracting it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// Archives with more entries than this are refused as hostile.
const MAX_ENTRIES: usize = 1_000_000;

pub struct TarIndex {
    path: PathBuf,
    files: HashMap<String, (u64, u64)>,
}

impl TarIndex {
    pub fn open(path: &Path) -> Result<TarIndex> {
        let f = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::ImageNotFound(path.display().to_string())
            } else {
                Error::io(path, e)
            }
        })?;
        let mut archive = tar::Archive::new(f);
        let mut files = HashMap::new();
        let bad = |why: String| Error::Invalid(format!("{}: {why}", path.display()));
        for (n, entry) in archive.entries().at(path)?.enumerate() {
            if n >= MAX_ENTRIES {
                return Err(bad("too many entries".into()));
            }
            let entry = entry.map_err(|e| bad(format!("not a valid tar archive: {e}")))?;
            let kind = entry.header().entry_type();
            let name = entry
                .path()
                .map_err(|e| bad(format!("bad entry name: {e}")))?
                .into_owned();
            let Some(key) = normalize(&name) else {
                return Err(bad(format!("unsafe entry name {}", name.display())));
            };
            // Symlinks may appear (docker save links duplicate layers); resolve only
            // those that point at another file of the archive by a plain relative path.
            if kind.is_symlink() {
                if let Ok(Some(target)) = entry.link_name() {
                    let joined = Path::new(&key)
                        .parent()
                        .unwrap_or(Path::new(""))
                        .join(target);
                    if let Some(loc) = normalize(&joined).and_then(|t| files.get(&t).copied()) {
                        files.insert(key, loc);
                    }
                }
                continue;
            }
            if kind.is_file() {
                files.insert(key, (entry.raw_file_position(), entry.size()));
            }
        }
        Ok(TarIndex {
            path: path.to_path_buf(),
            files,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    pub fn size(&self, name: &str) -> Option<u64> {
        self.files.get(name).map(|(_, s)| *s)
    }

    /// A reader over one file of the archive.
    pub fn open_file(&self, name: &str) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let Some(&(offset, size)) = self.files.get(name) else {
            return Ok(None);
        };
        let mut f = File::open(&self.path).at(&self.path)?;
        f.seek(SeekFrom::Start(offset)).at(&self.path)?;
        Ok(Some((Box::new(f.take(size)), size)))
    }

    /// Reads a small file whole, bounded by `limit`.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let Some((r, size)) = self.open_file(name)? else {
            return Ok(None);
        };
        if size > limit {
            return Err(Error::Invalid(format!(
                "{}: {name} is larger than {limit} bytes",
                self.path.display()
            )));
        }
        let mut v = Vec::with_capacity(size as usize);
        r.take(limit).read_to_end(&mut v).at(&self.path)?;
        Ok(Some(v))
    }
}

/// `./a/b` → `a/b`; `None` for absolute paths and `..`.
fn normalize(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}
