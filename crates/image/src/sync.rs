//! What `sync` copies: the YAML source list skopeo reads, and tag filters by regular
//! expression and by semver range.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// One registry's section of a sync YAML file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegistrySection {
    /// Repository → tags (empty: every tag).
    #[serde(default)]
    pub images: BTreeMap<String, Vec<String>>,
    /// Repository → regular expression the tags must match.
    #[serde(default)]
    pub images_by_tag_regex: BTreeMap<String, String>,
    /// Repository → semver range the tags must satisfy (e.g. ">=1.2, <2").
    #[serde(default)]
    pub images_by_semver: BTreeMap<String, String>,
    #[serde(default)]
    pub credentials: Option<YamlCredentials>,
    #[serde(default)]
    pub tls_verify: Option<bool>,
    #[serde(default)]
    pub cert_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct YamlCredentials {
    pub username: String,
    pub password: String,
}

pub fn read_yaml(path: &Path) -> Result<BTreeMap<String, RegistrySection>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_yaml_ng::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{}: {}",
            path.display(),
            e.to_string().replace('\n', " ")
        ))
    })
}

/// A filter on tags.
#[derive(Debug, Clone)]
pub enum TagFilter {
    Regex(regex::Regex),
    Semver(semver::VersionReq),
}

impl TagFilter {
    pub fn regex(s: &str) -> Result<TagFilter> {
        regex::Regex::new(s)
            .map(TagFilter::Regex)
            .map_err(|e| Error::Invalid(format!("tag regex {s:?}: {e}")))
    }

    pub fn semver(s: &str) -> Result<TagFilter> {
        semver::VersionReq::parse(s)
            .map(TagFilter::Semver)
            .map_err(|e| Error::Invalid(format!("semver range {s:?}: {e}")))
    }

    pub fn matches(&self, tag: &str) -> bool {
        match self {
            TagFilter::Regex(r) => r.is_match(tag),
            TagFilter::Semver(req) => tag_version(tag).is_some_and(|v| req.matches(&v)),
        }
    }
}

/// A tag read as a version: `v1.2.3`, `1.2` (→ 1.2.0), `1` (→ 1.0.0), `1.2.3-rc1`.
pub fn tag_version(tag: &str) -> Option<semver::Version> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    let (core, pre) = match t.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (t, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    if let Some(p) = pre {
        padded.push('-');
        padded.push_str(p);
    }
    semver::Version::parse(&padded).ok()
}

/// Keeps the tags every filter accepts, in order.
pub fn filter_tags(tags: Vec<String>, filters: &[TagFilter]) -> Vec<String> {
    tags.into_iter()
        .filter(|t| filters.iter().all(|f| f.matches(t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_ranges() {
        let f = TagFilter::semver(">=1.2, <2").unwrap();
        let tags: Vec<String> = [
            "1.1", "1.2", "v1.5.3", "2.0.0", "latest", "1.3-rc1", "1.9.9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(filter_tags(tags, &[f]), ["1.2", "v1.5.3", "1.9.9"]);
    }

    #[test]
    fn regex_and_yaml() {
        let f = TagFilter::regex(r"^1\.\d+$").unwrap();
        assert!(f.matches("1.35"));
        assert!(!f.matches("1.35.0"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.yaml");
        std::fs::write(
            &p,
            "127.0.0.1:5000:\n  images:\n    busybox: []\n    app: [\"1.0\"]\n  images-by-semver:\n    x: \">=1\"\n  tls-verify: false\n",
        )
        .unwrap();
        let y = read_yaml(&p).unwrap();
        let s = &y["127.0.0.1:5000"];
        assert_eq!(s.images["app"], ["1.0"]);
        assert_eq!(s.tls_verify, Some(false));
        std::fs::write(&p, "r:\n  imagez: {}\n").unwrap();
        assert!(read_yaml(&p).is_err());
    }
}
