//! registries.conf (v2): search registries, short-name aliases, mirrors, insecure and
//! blocked registries, read where the ecosystem keeps it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::reference::{ParsedName, Reference};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ConfFile {
    #[serde(default)]
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(default)]
    short_name_mode: Option<String>,
    #[serde(default)]
    registry: Vec<RegistryEntry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

/// One `[[registry]]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegistryEntry {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub mirror: Vec<Mirror>,
    #[serde(default)]
    pub mirror_by_digest_only: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Mirror {
    pub location: String,
    #[serde(default)]
    pub insecure: bool,
}

/// The merged configuration.
#[derive(Clone, Debug, Default)]
pub struct RegistriesConf {
    pub search: Vec<String>,
    pub short_name_mode: Option<String>,
    pub registries: Vec<RegistryEntry>,
    pub aliases: BTreeMap<String, String>,
    /// The file read first (named in errors, as containers/image names it).
    pub main_file: PathBuf,
}

/// An endpoint to try for a reference: a mirror or the registry itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The reference rewritten to this endpoint's location.
    pub reference: Reference,
    pub insecure: bool,
    pub is_mirror: bool,
}

impl RegistriesConf {
    /// Reads `$CONTAINERS_REGISTRIES_CONF`, else the user's file, else
    /// `/etc/containers/registries.conf`, plus the `registries.conf.d` drop-ins.
    pub fn load() -> Result<RegistriesConf> {
        let main = if let Some(p) = std::env::var_os("CONTAINERS_REGISTRIES_CONF") {
            Some(PathBuf::from(p))
        } else {
            let user = config_home().map(|h| h.join("containers/registries.conf"));
            match user {
                Some(u) if u.exists() => Some(u),
                _ => Some(PathBuf::from("/etc/containers/registries.conf")),
            }
        };
        let mut conf = RegistriesConf {
            main_file: main.clone().unwrap_or_default(),
            ..RegistriesConf::default()
        };
        if let Some(p) = main.filter(|p| p.exists()) {
            conf.merge_file(&p)?;
        }
        // Drop-ins apply only without an explicit file, as containers/image does.
        if std::env::var_os("CONTAINERS_REGISTRIES_CONF").is_none() {
            let mut dirs = vec![PathBuf::from("/etc/containers/registries.conf.d")];
            if let Some(h) = config_home() {
                dirs.push(h.join("containers/registries.conf.d"));
            }
            for d in dirs {
                conf.merge_dir(&d)?;
            }
        }
        Ok(conf)
    }

    pub fn from_str(text: &str, origin: &Path) -> Result<RegistriesConf> {
        let mut conf = RegistriesConf::default();
        conf.merge_text(text, origin)?;
        Ok(conf)
    }

    fn merge_dir(&mut self, dir: &Path) -> Result<()> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        files.sort();
        for f in files {
            self.merge_file(&f)?;
        }
        Ok(())
    }

    fn merge_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        self.merge_text(&text, path)
    }

    fn merge_text(&mut self, text: &str, origin: &Path) -> Result<()> {
        let f: ConfFile = toml::from_str(text).map_err(|e| {
            Error::Invalid(format!(
                "{}: {}",
                origin.display(),
                e.message().replace('\n', " ")
            ))
        })?;
        if let Some(s) = f.unqualified_search_registries {
            self.search = s;
        }
        if f.short_name_mode.is_some() {
            self.short_name_mode = f.short_name_mode;
        }
        for mut r in f.registry {
            if r.prefix.is_empty() {
                r.prefix = r.location.clone();
            }
            if r.location.is_empty() && r.prefix.is_empty() {
                return Err(Error::Invalid(format!(
                    "{}: a [[registry]] needs a location or prefix",
                    origin.display()
                )));
            }
            self.registries.retain(|x| x.prefix != r.prefix);
            self.registries.push(r);
        }
        self.aliases.extend(f.aliases);
        Ok(())
    }

    /// The `[[registry]]` whose prefix matches the reference best (longest prefix).
    pub fn find(&self, reference: &Reference) -> Option<&RegistryEntry> {
        let name = reference.name();
        self.registries
            .iter()
            .filter(|r| prefix_matches(&r.prefix, &name))
            .max_by_key(|r| r.prefix.len())
    }

    pub fn is_insecure(&self, registry: &str) -> bool {
        self.registries
            .iter()
            .any(|r| r.insecure && (r.location == registry || r.prefix == registry))
    }

    /// The endpoints to pull from, mirrors first, then the (possibly rewritten) registry.
    /// Errors when the registry is blocked.
    pub fn pull_endpoints(&self, reference: &Reference) -> Result<Vec<Endpoint>> {
        let Some(entry) = self.find(reference) else {
            return Ok(vec![Endpoint {
                reference: reference.clone(),
                insecure: false,
                is_mirror: false,
            }]);
        };
        if entry.blocked {
            return Err(Error::Blocked {
                registry: reference.registry().to_string(),
            });
        }
        let mut out = Vec::new();
        if !entry.mirror_by_digest_only || reference.digest().is_some() {
            for m in &entry.mirror {
                if let Some(r) = rewrite(reference, &entry.prefix, &m.location) {
                    out.push(Endpoint {
                        reference: r,
                        insecure: m.insecure,
                        is_mirror: true,
                    });
                }
            }
        }
        let location = if entry.location.is_empty() {
            &entry.prefix
        } else {
            &entry.location
        };
        let primary = rewrite(reference, &entry.prefix, location).unwrap_or(reference.clone());
        out.push(Endpoint {
            reference: primary,
            insecure: entry.insecure,
            is_mirror: false,
        });
        Ok(out)
    }

    /// Candidates for a name as the user typed it: an alias, else the search registries
    /// in order; a fully qualified name stands for itself.
    pub fn resolve_short_name(&self, name: &str) -> Result<Vec<Reference>> {
        let parsed = ParsedName::parse(name)?;
        if parsed.domain.is_some() {
            return Ok(vec![Reference::parse(name)?]);
        }
        if let Some(target) = self.aliases.get(&parsed.path) {
            let base = Reference::parse(target)?;
            return Ok(vec![Reference::new(
                base.registry().to_string(),
                base.repository().to_string(),
                parsed.tag.clone().or(base.tag().map(str::to_string)),
                parsed.digest.clone(),
            )]);
        }
        if self.search.is_empty() {
            return Err(Error::UnresolvedShortName {
                name: name.to_string(),
                file: self.main_file.clone(),
            });
        }
        Ok(self
            .search
            .iter()
            .map(|reg| {
                Reference::new(
                    reg.clone(),
                    parsed.path.clone(),
                    parsed.tag.clone(),
                    parsed.digest.clone(),
                )
            })
            .collect())
    }
}

/// Whether `prefix` covers `name` at a path-component boundary; `*.example.com`
/// wildcards match subdomains.
fn prefix_matches(prefix: &str, name: &str) -> bool {
    if let Some(domain) = prefix.strip_prefix("*.") {
        let host = name.split('/').next().unwrap_or("");
        return host.ends_with(&format!(".{domain}"));
    }
    name == prefix
        || (name.starts_with(prefix)
            && matches!(name.as_bytes().get(prefix.len()), Some(b'/' | b':' | b'@')))
}

fn rewrite(reference: &Reference, prefix: &str, location: &str) -> Option<Reference> {
    if prefix.starts_with("*.") {
        return Some(reference.clone());
    }
    let name = reference.name();
    let rest = name.strip_prefix(prefix)?;
    let new_name = format!("{location}{rest}");
    let mut s = new_name;
    if let Some(t) = reference.tag() {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = reference.digest() {
        s.push('@');
        s.push_str(&d.to_string());
    }
    Reference::parse(&s).ok()
}

pub(crate) fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
unqualified-search-registries = ["registry.example.com", "docker.io"]
[[registry]]
prefix = "docker.io/library"
location = "127.0.0.1:5000/lib"
insecure = true
[[registry.mirror]]
location = "mirror.local/lib"
[[registry]]
location = "evil.example.com"
blocked = true
[aliases]
"busybox" = "quay.io/prom/busybox"
"#;

    fn conf() -> RegistriesConf {
        RegistriesConf::from_str(CONF, Path::new("test.conf")).unwrap()
    }

    #[test]
    fn short_names() {
        let c = conf();
        let r = c.resolve_short_name("busybox:1").unwrap();
        assert_eq!(r[0].to_string(), "quay.io/prom/busybox:1");
        let r = c.resolve_short_name("alpine").unwrap();
        assert_eq!(
            r.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
            [
                "registry.example.com/alpine:latest",
                "docker.io/library/alpine:latest"
            ]
        );
        let r = c.resolve_short_name("quay.io/x/y").unwrap();
        assert_eq!(r[0].to_string(), "quay.io/x/y:latest");
    }

    #[test]
    fn mirrors_and_rewrites() {
        let c = conf();
        let eps = c
            .pull_endpoints(&Reference::parse("alpine:3").unwrap())
            .unwrap();
        assert_eq!(eps.len(), 2);
        assert_eq!(eps[0].reference.to_string(), "mirror.local/lib/alpine:3");
        assert!(eps[0].is_mirror);
        assert_eq!(eps[1].reference.to_string(), "127.0.0.1:5000/lib/alpine:3");
        assert!(eps[1].insecure);
    }

    #[test]
    fn blocked() {
        let c = conf();
        let e = c
            .pull_endpoints(&Reference::parse("evil.example.com/x").unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("blocked"), "{e}");
    }

    #[test]
    fn prefix_boundaries() {
        assert!(prefix_matches(
            "docker.io/library",
            "docker.io/library/alpine"
        ));
        assert!(!prefix_matches("docker.io/lib", "docker.io/library/alpine"));
        assert!(prefix_matches("*.example.com", "a.example.com/x"));
    }
}
