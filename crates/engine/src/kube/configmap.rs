//! ConfigMaps for `kube play`: their keys as environment variables
//! (`valueFrom.configMapKeyRef`, `envFrom.configMapRef`) and as files in a volume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, ConfigMapVolumeSource, Container, EnvVar};

use super::invalid;
use crate::Error;

/// The ConfigMaps of a YAML stream, by name.
#[derive(Debug, Clone, Default)]
pub struct ConfigMaps(BTreeMap<String, BTreeMap<String, String>>);

impl ConfigMaps {
    pub fn add(&mut self, c: ConfigMap) -> Result<(), Error> {
        let name = c
            .metadata
            .name
            .ok_or_else(|| invalid("a ConfigMap has no metadata.name"))?;
        if c.binary_data.is_some_and(|b| !b.is_empty()) {
            return Err(invalid(format!(
                "ConfigMap {name}: binaryData is not supported"
            )));
        }
        self.0.insert(name, c.data.unwrap_or_default());
        Ok(())
    }

    fn get(
        &self,
        name: &str,
        optional: Option<bool>,
    ) -> Result<Option<&BTreeMap<String, String>>, Error> {
        match self.0.get(name) {
            Some(m) => Ok(Some(m)),
            None if optional == Some(true) => Ok(None),
            None => Err(invalid(format!("ConfigMap {name} is not in the YAML"))),
        }
    }

    /// One `env` entry's value: its own, or a ConfigMap key's (None: an optional
    /// reference to nothing).
    pub fn env_value(&self, c: &Container, e: &EnvVar) -> Result<Option<String>, Error> {
        let Some(from) = &e.value_from else {
            return Ok(Some(e.value.clone().unwrap_or_default()));
        };
        let Some(r) = &from.config_map_key_ref else {
            return Err(invalid(format!(
                "container {}: env {}: only configMapKeyRef is supported in valueFrom",
                c.name, e.name
            )));
        };
        let Some(map) = self.get(&r.name, r.optional)? else {
            return Ok(None);
        };
        match map.get(&r.key) {
            Some(v) => Ok(Some(v.clone())),
            None if r.optional == Some(true) => Ok(None),
            None => Err(invalid(format!(
                "ConfigMap {} has no key {}",
                r.name, r.key
            ))),
        }
    }

    /// `envFrom`: every key of the ConfigMaps named, with their prefixes.
    pub fn env_from(&self, c: &Container) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for source in c.env_from.iter().flatten() {
            let Some(r) = &source.config_map_ref else {
                return Err(invalid(format!(
                    "container {}: only configMapRef is supported in envFrom",
                    c.name
                )));
            };
            let Some(map) = self.get(&r.name, r.optional)? else {
                continue;
            };
            let prefix = source.prefix.as_deref().unwrap_or("");
            out.extend(map.iter().map(|(k, v)| format!("{prefix}{k}={v}")));
        }
        Ok(out)
    }

    /// A configMap volume's files, written under `dir` (each key, or the items
    /// asked for, at their relative paths).
    pub fn write_volume(&self, v: &ConfigMapVolumeSource, dir: &Path) -> Result<(), Error> {
        let io = |p: &Path, e: std::io::Error| Error::other(format!("{}: {e}", p.display()));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let Some(map) = self.get(&v.name, v.optional)? else {
            return Ok(());
        };
        let files: Vec<(String, String)> = match &v.items {
            Some(items) => items
                .iter()
                .map(|i| (i.key.clone(), i.path.clone()))
                .collect(),
            None => map.keys().map(|k| (k.clone(), k.clone())).collect(),
        };
        for (key, rel) in files {
            let path = safe_join(dir, &rel)?;
            let value = map
                .get(&key)
                .ok_or_else(|| invalid(format!("ConfigMap {} has no key {key}", v.name)))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::write(&path, value).map_err(|e| io(&path, e))?;
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
            "configMap item path {rel:?} must be relative, without .."
        )));
    }
    Ok(dir.join(p))
}
