//! ConfigMaps and Secrets for `kube play`: their keys as environment variables
//! (`valueFrom`, `envFrom`) and as files in a volume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, KeyToPath, Secret};

use super::invalid;
use crate::Error;

/// The keys of one ConfigMap or Secret.
type Keys = BTreeMap<String, Vec<u8>>;

/// The ConfigMaps and Secrets of a YAML stream, by name.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    configmaps: BTreeMap<String, Keys>,
    secrets: BTreeMap<String, Keys>,
}

/// Which kind a reference names.
#[derive(Clone, Copy)]
pub enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }
}

impl Sources {
    pub fn add_configmap(&mut self, c: ConfigMap) -> Result<(), Error> {
        let name = c
            .metadata
            .name
            .ok_or_else(|| invalid("a ConfigMap has no metadata.name"))?;
        let mut keys: Keys = c
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect();
        keys.extend(
            c.binary_data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0)),
        );
        self.configmaps.insert(name, keys);
        Ok(())
    }

    pub fn add_secret(&mut self, s: Secret) -> Result<(), Error> {
        let name = s
            .metadata
            .name
            .ok_or_else(|| invalid("a Secret has no metadata.name"))?;
        // `data` comes base64-decoded by its type; `stringData` as written.
        let mut keys: Keys = s
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        keys.extend(
            s.string_data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        );
        self.secrets.insert(name, keys);
        Ok(())
    }

    fn get(&self, kind: Kind, name: &str, optional: Option<bool>) -> Result<Option<&Keys>, Error> {
        let all = match kind {
            Kind::ConfigMap => &self.configmaps,
            Kind::Secret => &self.secrets,
        };
        match all.get(name) {
            Some(m) => Ok(Some(m)),
            None if optional == Some(true) => Ok(None),
            None => Err(invalid(format!(
                "{} {name} is not in the YAML",
                kind.word()
            ))),
        }
    }

    fn text(kind: Kind, name: &str, key: &str, v: &[u8]) -> Result<String, Error> {
        String::from_utf8(v.to_vec())
            .map_err(|_| invalid(format!("{} {name}: key {key} is not text", kind.word())))
    }

    /// One `env` entry's value: its own, or a ConfigMap's or Secret's key (None: an
    /// optional reference to nothing).
    pub fn env_value(&self, c: &Container, e: &EnvVar) -> Result<Option<String>, Error> {
        let Some(from) = &e.value_from else {
            return Ok(Some(e.value.clone().unwrap_or_default()));
        };
        let (kind, name, key, optional) = match (&from.config_map_key_ref, &from.secret_key_ref) {
            (Some(r), _) => (Kind::ConfigMap, &r.name, &r.key, r.optional),
            (_, Some(r)) => (Kind::Secret, &r.name, &r.key, r.optional),
            _ => {
                return Err(invalid(format!(
                    "container {}: env {}: only configMapKeyRef and secretKeyRef are supported in valueFrom",
                    c.name, e.name
                )));
            }
        };
        let Some(map) = self.get(kind, name, optional)? else {
            return Ok(None);
        };
        match map.get(key) {
            Some(v) => Self::text(kind, name, key, v).map(Some),
            None if optional == Some(true) => Ok(None),
            None => Err(invalid(format!("{} {name} has no key {key}", kind.word()))),
        }
    }

    /// `envFrom`: every key of the ConfigMaps and Secrets named, with prefixes.
    pub fn env_from(&self, c: &Container) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for source in c.env_from.iter().flatten() {
            let (kind, name, optional) = match (&source.config_map_ref, &source.secret_ref) {
                (Some(r), _) => (Kind::ConfigMap, &r.name, r.optional),
                (_, Some(r)) => (Kind::Secret, &r.name, r.optional),
                _ => return Err(invalid(format!("container {}: an empty envFrom", c.name))),
            };
            let Some(map) = self.get(kind, name, optional)? else {
                continue;
            };
            let prefix = source.prefix.as_deref().unwrap_or("");
            for (k, v) in map {
                out.push(format!("{prefix}{k}={}", Self::text(kind, name, k, v)?));
            }
        }
        Ok(out)
    }

    /// A configMap or secret volume's files, written under `dir` (each key, or the
    /// items asked for, at their relative paths).
    pub fn write_volume(
        &self,
        kind: Kind,
        name: &str,
        items: Option<&Vec<KeyToPath>>,
        optional: Option<bool>,
        dir: &Path,
    ) -> Result<(), Error> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let io = |p: &Path, e: std::io::Error| Error::other(format!("{}: {e}", p.display()));
        // The pod's directory (and `kube/` above it) are their owner's alone, as
        // a Secret's values must be whatever the store's root allows; the
        // volume's own directory is what the container sees.
        if let Some(parent) = dir.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| io(parent, e))?;
        }
        match std::fs::DirBuilder::new().mode(0o755).create(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(dir, e)),
            _ => {}
        }
        let Some(map) = self.get(kind, name, optional)? else {
            return Ok(());
        };
        let files: Vec<(String, String)> = match items {
            Some(items) => items
                .iter()
                .map(|i| (i.key.clone(), i.path.clone()))
                .collect(),
            None => map.keys().map(|k| (k.clone(), k.clone())).collect(),
        };
        // Kubernetes' default mode for both (a container's non-root user reads
        // them); the store around them is its owner's only.
        let mode = 0o644;
        for (key, rel) in files {
            let path = safe_join(dir, &rel)?;
            let value = map
                .get(&key)
                .ok_or_else(|| invalid(format!("{} {name} has no key {key}", kind.word())))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
                .map_err(|e| io(&path, e))?;
            std::io::Write::write_all(&mut f, value).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }
}

/// `dir/rel` for a relative path without `..` (a hostile item path stays inside).
fn safe_join(dir: &Path, rel: &str) -> Result<PathBuf, Error> {
    let p = Path::new(rel);
    let ok = !rel.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !ok {
        return Err(invalid(format!(
            "volume item path {rel:?} must be relative, without .."
        )));
    }
    Ok(dir.join(p))
}
