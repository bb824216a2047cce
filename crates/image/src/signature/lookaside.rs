//! Lookaside signature storage for registries (containers-registries.d(5)):
//! signatures kept beside a registry at
//! `BASE/REPOSITORY@ALGO=HEX/signature-N`, found through the YAML files of
//! a registries.d directory.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::reference::Reference;
use crate::signature::policy::docker_scopes;

/// At most this many signatures are read for one manifest, each at most
/// [`MAX_SIGNATURE_SIZE`]: a hostile server must not make us read forever.
pub const MAX_SIGNATURES: usize = 64;
pub const MAX_SIGNATURE_SIZE: u64 = 4 << 20;

/// Where signatures of one registry scope live.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct ScopeConfig {
    lookaside: Option<String>,
    lookaside_staging: Option<String>,
    /// The old names of the two keys above.
    sigstore: Option<String>,
    sigstore_staging: Option<String>,
    #[serde(default)]
    use_sigstore_attachments: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct File {
    default_docker: Option<ScopeConfig>,
    #[serde(default)]
    docker: BTreeMap<String, ScopeConfig>,
}

/// The merged configuration of a registries.d directory.
#[derive(Clone, Debug, Default)]
pub struct RegistriesD {
    default_docker: Option<ScopeConfig>,
    docker: BTreeMap<String, ScopeConfig>,
}

impl RegistriesD {
    /// `dir` (`--registries.d`), else the user's `~/.config/containers/registries.d`
    /// when it exists, else `/etc/containers/registries.d`. A missing directory
    /// is an empty configuration.
    pub fn load(dir: Option<&Path>) -> Result<RegistriesD> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => default_dir(),
        };
        let mut conf = RegistriesD::default();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(conf),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).at(&path)?;
            let f: File = serde_yaml_ng::from_str(&text).map_err(|e| {
                Error::Invalid(format!("{}: {}", path.display(), one_line(&e.to_string())))
            })?;
            if let Some(d) = f.default_docker {
                if conf.default_docker.is_some() {
                    return Err(Error::Invalid(format!(
                        "{}: default-docker is defined in more than one file",
                        path.display()
                    )));
                }
                conf.default_docker = Some(d);
            }
            for (scope, c) in f.docker {
                if conf.docker.insert(scope.clone(), c).is_some() {
                    return Err(Error::Invalid(format!(
                        "{}: docker scope {scope:?} is defined in more than one file",
                        path.display()
                    )));
                }
            }
        }
        Ok(conf)
    }

    /// Where signatures of a policy scope are read from (`""`: the default), as
    /// `image trust show` lists it; empty when nothing is configured.
    pub fn lookaside_for_scope(&self, scope: &str) -> String {
        let c = match scope {
            "" => self.default_docker.as_ref(),
            s => self.docker.get(s).or(self.default_docker.as_ref()),
        };
        c.and_then(|c| c.lookaside.clone().or(c.sigstore.clone()))
            .unwrap_or_default()
    }

    /// The most specific configuration for a reference.
    fn scope(&self, r: &Reference) -> Option<&ScopeConfig> {
        docker_scopes(r)
            .iter()
            .find_map(|s| self.docker.get(s))
            .or(self.default_docker.as_ref())
    }

    /// The base URL signatures are read from (`write` false) or written to.
    /// Without configuration, the built-in default directory.
    pub fn base_url(&self, r: &Reference, write: bool) -> String {
        let c = self.scope(r);
        let read = c.and_then(|c| c.lookaside.clone().or(c.sigstore.clone()));
        let url = if write {
            c.and_then(|c| c.lookaside_staging.clone().or(c.sigstore_staging.clone()))
                .or(read)
        } else {
            read
        };
        url.unwrap_or_else(default_lookaside)
    }
}

fn one_line(s: &str) -> String {
    s.lines().collect::<Vec<_>>().join(" ")
}

fn default_dir() -> PathBuf {
    if !is_root()
        && let Some(h) = std::env::var_os("HOME")
    {
        let p = PathBuf::from(h).join(".config/containers/registries.d");
        if p.is_dir() {
            return p;
        }
    }
    PathBuf::from("/etc/containers/registries.d")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// containers/image's built-in default: a directory on this machine.
fn default_lookaside() -> String {
    if !is_root()
        && let Some(h) = std::env::var_os("HOME")
    {
        return format!(
            "file://{}/.local/share/containers/sigstore",
            PathBuf::from(h).display()
        );
    }
    "file:///var/lib/containers/sigstore".into()
}

/// `BASE/REPOSITORY@ALGO=HEX/signature-N` (N from 1).
pub fn signature_url(base: &str, r: &Reference, manifest: &Digest, n: usize) -> String {
    format!(
        "{}/{}@{}={}/signature-{n}",
        base.trim_end_matches('/'),
        r.repository(),
        manifest.algorithm().name(),
        manifest.hex()
    )
}

/// Reads the signatures stored for a manifest, in order, stopping at the first
/// missing one.
pub fn read_signatures(base: &str, r: &Reference, manifest: &Digest) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for n in 1..=MAX_SIGNATURES {
        let url = signature_url(base, r, manifest, n);
        match fetch(&url)? {
            Some(sig) => out.push(sig),
            None => break,
        }
    }
    Ok(out)
}

/// Writes signatures for a manifest, replacing any stored before. Only
/// `file://` bases can be written.
pub fn write_signatures(
    base: &str,
    r: &Reference,
    manifest: &Digest,
    sigs: &[Vec<u8>],
) -> Result<()> {
    let first = signature_url(base, r, manifest, 1);
    let dir = file_path(&first)?
        .parent()
        .expect("signature path has a parent")
        .to_path_buf();
    std::fs::create_dir_all(&dir).at(&dir)?;
    for (i, sig) in sigs.iter().enumerate() {
        let path = file_path(&signature_url(base, r, manifest, i + 1))?;
        crate::fsutil::write_atomic(&path, sig)?;
    }
    // Signatures left over from an earlier, longer list would otherwise be
    // read as part of this one.
    for n in sigs.len() + 1..=MAX_SIGNATURES {
        let path = file_path(&signature_url(base, r, manifest, n))?;
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(())
}

fn file_path(url: &str) -> Result<PathBuf> {
    let p = url.strip_prefix("file://").ok_or_else(|| {
        Error::Unsupported(format!(
            "{url}: signatures can only be written to file:// lookaside storage"
        ))
    })?;
    if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
        return Err(Error::Invalid(format!("{url}: not an absolute file URL")));
    }
    Ok(PathBuf::from(p))
}

fn fetch(url: &str) -> Result<Option<Vec<u8>>> {
    if url.starts_with("file://") {
        let path = file_path(url)?;
        let f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        return read_limited(f, url).map(Some);
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return match crate::http::get(url)? {
            crate::http::Fetched::Body(r) => read_limited(r, url).map(Some),
            crate::http::Fetched::NotFound => Ok(None),
        };
    }
    Err(Error::Unsupported(format!(
        "{url}: unsupported lookaside URL scheme"
    )))
}

fn read_limited(r: impl Read, url: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(MAX_SIGNATURE_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Invalid(format!("{url}: {e}")))?;
    if buf.len() as u64 > MAX_SIGNATURE_SIZE {
        return Err(Error::Invalid(format!(
            "{url}: signature larger than {MAX_SIGNATURE_SIZE} bytes"
        )));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_scope_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "default-docker:\n  lookaside: file:///d\ndocker:\n  example.com:\n    lookaside: https://sigs.example.com\n    lookaside-staging: file:///stage\n  example.com/ns/app:\n    sigstore: file:///app\n",
        )
        .unwrap();
        let c = RegistriesD::load(Some(dir.path())).unwrap();
        let r = |s: &str| Reference::parse(s).unwrap();
        assert_eq!(c.base_url(&r("example.com/ns/app:1"), false), "file:///app");
        assert_eq!(
            c.base_url(&r("example.com/other:1"), false),
            "https://sigs.example.com"
        );
        assert_eq!(c.base_url(&r("example.com/other:1"), true), "file:///stage");
        assert_eq!(c.base_url(&r("quay.io/x:1"), false), "file:///d");
        let d = Digest::sha256_of(b"m");
        assert_eq!(
            signature_url("file:///d/", &r("quay.io/x/y:1"), &d, 2),
            format!("file:///d/x/y@sha256={}/signature-2", d.hex())
        );
    }

    #[test]
    fn bad_yaml_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "docker: [").unwrap();
        let e = RegistriesD::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("bad.yaml"), "{e}");
    }

    #[test]
    fn writes_then_reads_back_and_drops_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let base = format!("file://{}", dir.path().display());
        let r = Reference::parse("localhost:5000/a/b:t").unwrap();
        let d = Digest::sha256_of(b"m");
        write_signatures(&base, &r, &d, &[b"one".to_vec(), b"two".to_vec()]).unwrap();
        assert_eq!(read_signatures(&base, &r, &d).unwrap().len(), 2);
        write_signatures(&base, &r, &d, &[b"three".to_vec()]).unwrap();
        assert_eq!(
            read_signatures(&base, &r, &d).unwrap(),
            vec![b"three".to_vec()]
        );
        assert!(write_signatures("https://x", &r, &d, &[b"x".to_vec()]).is_err());
    }
}
