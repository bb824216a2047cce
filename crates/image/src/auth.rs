//! Registry credentials: auth.json (containers' and Docker's), `--creds`, `--authfile`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::error::{Error, IoContext, Result};
use crate::reference::Reference;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:***)", self.username)
    }
}

impl Credentials {
    /// `USER[:PASSWORD]` as `--creds` takes it.
    pub fn parse(s: &str) -> Result<Credentials> {
        let (u, p) = s.split_once(':').unwrap_or((s, ""));
        if u.is_empty() {
            return Err(Error::Invalid("--creds: username must not be empty".into()));
        }
        Ok(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        })
    }
}

/// The auth file `berth login` writes by default: `$REGISTRY_AUTH_FILE`, else
/// `$XDG_RUNTIME_DIR/containers/auth.json`, else root's
/// `/run/containers/0/auth.json` or, for a rootless user (who cannot make
/// /run/containers/UID), its runtime directory's, as podman's own runtime
/// directory takes XDG_RUNTIME_DIR's place: `/tmp/berth-run-UID/containers/auth.json`.
pub fn default_auth_file() -> PathBuf {
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        return PathBuf::from(p);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("containers/auth.json");
    }
    // A rootless user is root in its namespace (berth-runtime's userns records
    // its own UID): its file is its own, not root's.
    let uid = std::env::var("BERTH_ROOTLESS_UID")
        .ok()
        .and_then(|u| u.parse::<u32>().ok())
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions and cannot fail.
            unsafe { libc::getuid() }
        });
    if uid == 0 {
        return PathBuf::from("/run/containers/0/auth.json");
    }
    PathBuf::from(format!("/tmp/berth-run-{uid}/containers/auth.json"))
}

/// Every file credentials are read from, in order of precedence.
fn auth_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let mut v = vec![default_auth_file()];
    if let Some(h) = crate::registries::config_home() {
        v.push(h.join("containers/auth.json"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        v.push(PathBuf::from(home).join(".docker/config.json"));
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        v.push(PathBuf::from(d).join("config.json"));
    }
    v
}

/// Looks up credentials for a reference: the most specific key wins
/// (`host/ns/repo`, then `host/ns`, then `host`), first file first.
pub fn lookup(reference: &Reference, explicit_file: Option<&Path>) -> Result<Option<Credentials>> {
    for file in auth_files(explicit_file) {
        let Some(auths) = read_auths(&file)? else {
            continue;
        };
        for key in candidate_keys(reference) {
            if let Some(c) = entry_credentials(&auths, &key, &file)? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

fn candidate_keys(reference: &Reference) -> Vec<String> {
    let mut keys = Vec::new();
    let mut name = reference.name();
    loop {
        keys.push(name.clone());
        match name.rfind('/') {
            Some(i) => name.truncate(i),
            None => break,
        }
    }
    if reference.registry() == "docker.io" {
        keys.push("https://index.docker.io/v1/".into());
        keys.push("index.docker.io".into());
    }
    keys
}

fn entry_credentials(
    auths: &Map<String, Value>,
    key: &str,
    file: &Path,
) -> Result<Option<Credentials>> {
    let found = auths.iter().find(|(k, _)| normalize_key(k) == key);
    let Some((_, entry)) = found else {
        return Ok(None);
    };
    let Some(encoded) = entry.get("auth").and_then(Value::as_str) else {
        return Ok(None);
    };
    if encoded.is_empty() {
        return Ok(None);
    }
    let bad = || Error::Invalid(format!("{}: invalid auth entry for {key}", file.display()));
    let decoded = B64.decode(encoded).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (u, p) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

/// `https://host/v1/` → `host`, as Docker writes its keys.
fn normalize_key(k: &str) -> String {
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let k = k
        .strip_suffix("/v1/")
        .or_else(|| k.strip_suffix("/v2/"))
        .unwrap_or(k);
    let k = k.trim_end_matches('/');
    if k == "index.docker.io" || k == "registry-1.docker.io" {
        "docker.io".into()
    } else {
        k.to_string()
    }
}

fn read_auths(file: &Path) -> Result<Option<Map<String, Value>>> {
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(file, e)),
    };
    let v: Value = serde_json::from_slice(&text)
        .map_err(|e| Error::Invalid(format!("{}: invalid JSON: {e}", file.display())))?;
    Ok(v.get("auths").and_then(Value::as_object).cloned())
}

/// Stores credentials for `key` (a registry, or `registry/namespace/repo`).
pub fn store(file: &Path, key: &str, creds: &Credentials) -> Result<()> {
    update(file, |auths| {
        let enc = B64.encode(format!("{}:{}", creds.username, creds.password));
        auths.insert(key.to_string(), json!({ "auth": enc }));
        true
    })
    .map(|_| ())
}

/// Removes credentials for `key`; returns whether there were any.
pub fn remove(file: &Path, key: &str) -> Result<bool> {
    update(file, |auths| {
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| normalize_key(k) == key)
            .cloned()
            .collect();
        for k in &keys {
            auths.remove(k);
        }
        !keys.is_empty()
    })
}

/// Removes every stored credential from the file.
pub fn remove_all(file: &Path) -> Result<()> {
    update(file, |auths| {
        auths.clear();
        true
    })
    .map(|_| ())
}

fn update(file: &Path, f: impl FnOnce(&mut Map<String, Value>) -> bool) -> Result<bool> {
    let mut doc: Value = match std::fs::read(file) {
        Ok(t) => serde_json::from_slice(&t)
            .map_err(|e| Error::Invalid(format!("{}: invalid JSON: {e}", file.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(Error::io(file, e)),
    };
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| Error::Invalid(format!("{}: not a JSON object", file.display())))?;
    let auths = obj
        .entry("auths")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| Error::Invalid(format!("{}: \"auths\" is not an object", file.display())))?;
    let changed = f(auths);
    if changed {
        write_private(file, &serde_json::to_vec_pretty(&doc).expect("JSON value"))?;
    }
    Ok(changed)
}

/// Writes a file readable by its owner only, atomically.
fn write_private(file: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .at(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("auth"),
        std::process::id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .at(&tmp)?;
    f.write_all(data).at(&tmp)?;
    f.sync_all().at(&tmp)?;
    std::fs::rename(&tmp, file).at(file)
}

/// The key `berth login HOST[/REPO]` stores under.
pub fn login_key(arg: &str) -> String {
    normalize_key(arg.strip_prefix("docker://").unwrap_or(arg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lookup_remove() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("sub/auth.json");
        let c = Credentials::parse("alice:s3:cret").unwrap();
        assert_eq!(c.password, "s3:cret");
        store(&f, "127.0.0.1:5000", &c).unwrap();
        let r = Reference::parse("127.0.0.1:5000/x/y").unwrap();
        assert_eq!(lookup(&r, Some(&f)).unwrap(), Some(c.clone()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A repository-scoped entry wins over the registry's.
        let c2 = Credentials::parse("bob:pw").unwrap();
        store(&f, "127.0.0.1:5000/x", &c2).unwrap();
        assert_eq!(lookup(&r, Some(&f)).unwrap(), Some(c2));
        assert!(remove(&f, "127.0.0.1:5000/x").unwrap());
        assert!(!remove(&f, "127.0.0.1:5000/x").unwrap());
        assert_eq!(lookup(&r, Some(&f)).unwrap(), Some(c));
    }

    #[test]
    fn docker_style_keys() {
        assert_eq!(normalize_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_key("https://quay.io"), "quay.io");
    }
}
