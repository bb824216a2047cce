//! `secret`: podman's secrets, kept by the store (its file driver: a
//! root-only directory) and given to a container at each start, as a file
//! (under /run/secrets by default) or an environment variable; never in an
//! image, a container's configuration or `inspect`.

use std::collections::BTreeMap;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_storage::Store;
use serde::{Deserialize, Serialize};

use crate::container::Info;

/// podman's bound on a secret's size.
pub const MAX_SIZE: usize = 512_000;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0}: no such secret")]
    NotFound(String),
    #[error("{0}: secret name in use")]
    NameInUse(String),
    #[error("secret name {0:?}: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 253 characters")]
    BadName(String),
    #[error("secret {0}: the data is empty or over 512000 bytes")]
    BadSize(String),
    #[error("invalid filter {0:?}: name or id")]
    Filter(String),
    #[error("--driver {0}: only the file driver is supported")]
    Driver(String),
    #[error("--secret {flag}: {reason}")]
    BadFlag { flag: String, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A secret as stored (its data kept apart).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Secret {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub created_ns: u64,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A secret as `secret ls` shows it, podman's table and template fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretRow {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub driver: String,
    /// How long ago.
    pub created_at: String,
    /// As created: a secret is never updated.
    pub updated_at: String,
}

impl Secret {
    /// Its `secret ls` row.
    pub fn row(&self) -> SecretRow {
        let created = crate::time::since(self.created_ns / 1_000_000_000);
        SecretRow {
            id: self.id.clone(),
            name: self.name.clone(),
            driver: self.driver.clone(),
            created_at: created.clone(),
            updated_at: created,
        }
    }
}

/// `secret inspect`, in podman's JSON.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub spec: SecretSpec,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretSpec {
    pub name: String,
    pub driver: SecretDriver,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDriver {
    pub name: String,
    pub options: BTreeMap<String, String>,
}

impl SecretInspect {
    pub fn of(store: &Store, s: &Secret) -> SecretInspect {
        let at = crate::time::format_rfc3339_nanos(s.created_ns);
        SecretInspect {
            id: s.id.clone(),
            created_at: at.clone(),
            updated_at: at,
            spec: SecretSpec {
                name: s.name.clone(),
                driver: SecretDriver {
                    name: s.driver.clone(),
                    options: BTreeMap::from([(
                        "path".to_string(),
                        dir(store).display().to_string(),
                    )]),
                },
                labels: s.labels.clone(),
            },
        }
    }
}

fn dir(store: &Store) -> PathBuf {
    store.graph_root().join("secrets")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SecretError + '_ {
    move |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The secrets' directory, root's alone, with its lock held.
fn locked(store: &Store) -> Result<std::fs::File, SecretError> {
    let d = dir(store);
    std::fs::create_dir_all(d.join("data")).map_err(io(&d))?;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(io(&d))?;
    let lock = d.join("lock");
    berth_storage::lock::lock_file(&lock).map_err(io(&lock))
}

/// Every secret, oldest first.
pub fn list(store: &Store) -> Vec<Secret> {
    let mut v: Vec<Secret> = std::fs::read(dir(store).join("secrets.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    v.sort_by_key(|s| s.created_ns);
    v
}

/// [`list`] with `secret ls`'s filters: `name=NAME`, `id=PREFIX`.
pub fn list_filtered(store: &Store, filters: &[String]) -> Result<Vec<Secret>, SecretError> {
    let mut all = list(store);
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f, ""));
        match k {
            "name" => all.retain(|s| s.name == v),
            "id" => all.retain(|s| s.id.starts_with(v)),
            _ => return Err(SecretError::Filter(k.to_string())),
        }
    }
    Ok(all)
}

fn save(store: &Store, all: &[Secret]) -> Result<(), SecretError> {
    let path = dir(store).join("secrets.json");
    let bytes = serde_json::to_vec_pretty(all).expect("secrets serialise");
    berth_storage::lock::write_atomic(&path, &bytes).map_err(|e| SecretError::Io {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// By name, full ID or a unique ID prefix of at least three characters (as containers).
pub fn find(store: &Store, name: &str) -> Result<Secret, SecretError> {
    let all = list(store);
    if let Some(s) = all.iter().find(|s| s.name == name || s.id == name) {
        return Ok(s.clone());
    }
    let mut by_prefix = all
        .iter()
        .filter(|s| name.len() >= 3 && s.id.starts_with(name));
    match (by_prefix.next(), by_prefix.next()) {
        (Some(s), None) => Ok(s.clone()),
        _ => Err(SecretError::NotFound(name.to_string())),
    }
}

/// `secret create NAME`: stores `data` (root-only) and returns the secret.
pub fn create(
    store: &Store,
    name: &str,
    data: &[u8],
    driver: &str,
    labels: BTreeMap<String, String>,
) -> Result<Secret, SecretError> {
    if driver != "file" {
        return Err(SecretError::Driver(driver.to_string()));
    }
    if name.len() > 253 || !crate::volumes::named::valid_name(name) {
        return Err(SecretError::BadName(name.to_string()));
    }
    if data.is_empty() || data.len() > MAX_SIZE {
        return Err(SecretError::BadSize(name.to_string()));
    }
    let _lock = locked(store)?;
    let mut all = list(store);
    if all.iter().any(|s| s.name == name) {
        return Err(SecretError::NameInUse(name.to_string()));
    }
    let mut id = berth_storage::lock::random_hex(13);
    id.truncate(25);
    let path = dir(store).join("data").join(&id);
    write_private(&path, data, 0o600)?;
    let s = Secret {
        id,
        name: name.to_string(),
        driver: driver.to_string(),
        created_ns: crate::time::now_ns(),
        labels,
    };
    all.push(s.clone());
    if let Err(e) = save(store, &all) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(s)
}

fn write_private(path: &Path, data: &[u8], mode: u32) -> Result<(), SecretError> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    f.write_all(data).map_err(io(path))
}

/// `secret rm`: the secret and its data go.
pub fn remove(store: &Store, name: &str) -> Result<Secret, SecretError> {
    let _lock = locked(store)?;
    let s = find(store, name)?;
    let mut all = list(store);
    all.retain(|x| x.id != s.id);
    save(store, &all)?;
    let _ = std::fs::remove_file(dir(store).join("data").join(&s.id));
    Ok(s)
}

fn data(store: &Store, s: &Secret) -> Result<Vec<u8>, SecretError> {
    let path = dir(store).join("data").join(&s.id);
    std::fs::read(&path).map_err(io(&path))
}

/// `--secret NAME[,type=mount|env][,target=T][,uid=N][,gid=N][,mode=OCTAL]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    pub source: String,
    /// As an environment variable instead of a file.
    pub env: bool,
    /// The variable's name, or the file's path (a bare name: under
    /// /run/secrets).
    pub target: Option<String>,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

impl std::str::FromStr for SecretRef {
    type Err = SecretError;
    fn from_str(flag: &str) -> Result<SecretRef, SecretError> {
        let bad = |reason: &str| SecretError::BadFlag {
            flag: flag.to_string(),
            reason: reason.to_string(),
        };
        let mut r = SecretRef {
            source: String::new(),
            env: false,
            target: None,
            uid: 0,
            gid: 0,
            mode: 0o444,
        };
        for (i, part) in flag.split(',').enumerate() {
            let Some((k, v)) = part.split_once('=') else {
                if i == 0 {
                    r.source = part.to_string();
                    continue;
                }
                return Err(bad(&format!("{part:?} is not KEY=VALUE")));
            };
            let num = |v: &str, radix| {
                u32::from_str_radix(v, radix).map_err(|_| bad(&format!("{k}={v}")))
            };
            match k {
                "source" => r.source = v.to_string(),
                "type" => {
                    r.env = match v {
                        "env" => true,
                        "mount" => false,
                        _ => return Err(bad("type is mount or env")),
                    }
                }
                "target" => r.target = Some(v.to_string()),
                "uid" => r.uid = num(v, 10)?,
                "gid" => r.gid = num(v, 10)?,
                "mode" => r.mode = num(v, 8)?,
                _ => return Err(bad(&format!("unknown option {k}"))),
            }
        }
        if r.source.is_empty() {
            return Err(bad("no secret named"));
        }
        if r.env && (r.uid != 0 || r.gid != 0 || r.mode != 0o444) {
            return Err(bad("uid, gid and mode are for type=mount"));
        }
        if let Some(t) = &r.target
            && !r.env
            && (t.is_empty() || t.split('/').any(|c| c == ".."))
        {
            return Err(bad("the target is a file name or an absolute path"));
        }
        Ok(r)
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{},type={}",
            self.source,
            if self.env { "env" } else { "mount" }
        )?;
        if let Some(t) = &self.target {
            write!(f, ",target={t}")?;
        }
        if !self.env {
            write!(f, ",uid={},gid={},mode={:o}", self.uid, self.gid, self.mode)?;
        }
        Ok(())
    }
}

impl SecretRef {
    /// Where a mounted secret appears in the container.
    fn path(&self) -> String {
        match &self.target {
            Some(t) if t.starts_with('/') => t.clone(),
            Some(t) => format!("/run/secrets/{t}"),
            None => format!("/run/secrets/{}", self.source),
        }
    }
}

/// Checks at create that every `--secret` names a secret.
pub fn check(store: &Store, refs: &[SecretRef]) -> Result<(), SecretError> {
    refs.iter()
        .try_for_each(|r| find(store, &r.source).map(drop))
}

/// At each start: mounted secrets as read-only files copied into the
/// container's run directory (root's alone), env secrets into its
/// process's environment.
pub fn attach(
    store: &Store,
    info: &Info,
    userdata: &Path,
    spec: &mut berth_runtime::spec::Spec,
) -> Result<(), SecretError> {
    let refs = &info.config.process.secrets;
    if refs.is_empty() {
        return Ok(());
    }
    let dir = userdata.join("secrets");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io(&dir))?;
    for r in refs {
        let s = find(store, &r.source)?;
        let bytes = data(store, &s)?;
        if r.env {
            let name = r.target.clone().unwrap_or_else(|| s.name.clone());
            let value = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(p) = spec.process.as_mut() {
                p.env.retain(|e| e.split('=').next() != Some(name.as_str()));
                p.env.push(format!("{name}={value}"));
            }
            continue;
        }
        let file = dir.join(&s.id);
        write_private(&file, &bytes, r.mode)?;
        // uid= and gid= are the container's IDs: the host's through its map.
        let (uid, gid) = match &info.config.process.id_map {
            Some(m) => (
                m.host_uid(r.uid)
                    .unwrap_or(berth_storage::idmap::OVERFLOW_ID),
                m.host_gid(r.gid)
                    .unwrap_or(berth_storage::idmap::OVERFLOW_ID),
            ),
            None => (r.uid, r.gid),
        };
        std::os::unix::fs::chown(&file, Some(uid), Some(gid)).map_err(io(&file))?;
        spec.mounts.push(berth_runtime::spec::Mount {
            destination: r.path(),
            kind: Some("bind".into()),
            source: Some(file.to_string_lossy().into_owned()),
            options: ["rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"]
                .map(String::from)
                .into(),
            ..Default::default()
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_flags_read_as_podman_writes_them() {
        let r: SecretRef = "db".parse().unwrap();
        assert_eq!(
            (r.source.as_str(), r.env, r.mode, r.path()),
            ("db", false, 0o444, "/run/secrets/db".into())
        );
        let r: SecretRef = "source=db,type=env,target=DB_PASS".parse().unwrap();
        assert!(r.env);
        assert_eq!(r.target.as_deref(), Some("DB_PASS"));
        let r: SecretRef = "db,target=/etc/db.key,uid=5,gid=6,mode=0400"
            .parse()
            .unwrap();
        assert_eq!(
            (r.path(), r.uid, r.gid, r.mode),
            ("/etc/db.key".into(), 5, 6, 0o400)
        );
        for bad in [
            "",
            "type=env",
            "db,type=file",
            "db,mode=9",
            "db,target=../x",
            "db,type=env,uid=1",
            "db,what=1",
            "db,x",
        ] {
            assert!(bad.parse::<SecretRef>().is_err(), "{bad}");
        }
    }
}
