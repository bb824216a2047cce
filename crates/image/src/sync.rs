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

/// One image `sync` copies, and the name it keeps below the destination.
#[derive(Clone)]
pub struct SyncJob {
    pub src: crate::ImageName,
    /// The destination's name below the destination: `repo:tag`.
    pub suffix: String,
    /// The context to read this source with, when not the command's own (a
    /// YAML section's credentials and TLS settings).
    pub context: Option<std::sync::Arc<crate::Context>>,
}

/// The name an image keeps below the destination: the repository's last
/// component, or with `scoped` its registry and full path.
fn suffix(r: &crate::Reference, tag: &str, scoped: bool) -> String {
    let repo = if scoped {
        r.name()
    } else {
        r.repository()
            .rsplit('/')
            .next()
            .unwrap_or(r.repository())
            .to_string()
    };
    format!("{repo}:{tag}")
}

/// The images of a registry source: one image when it names a tag or
/// digest, else every tag of the repository that passes `filters`.
pub fn docker_jobs(
    source: &str,
    ctx: &crate::Context,
    filters: &[TagFilter],
    scoped: bool,
) -> Result<Vec<SyncJob>> {
    let s = source.strip_prefix("docker://").unwrap_or(source);
    let parsed = crate::reference::ParsedName::parse(s)?;
    let r = crate::Reference::parse(s)?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        let tag = r.tag().map_or_else(|| "latest".to_string(), str::to_string);
        return Ok(vec![SyncJob {
            src: crate::ImageName::Docker(r.clone()),
            suffix: suffix(&r, &tag, scoped),
            context: None,
        }]);
    }
    repo_jobs(&r, ctx, None, filters, scoped, None)
}

/// The given tags of a repository (all of them when none are given), those
/// passing `filters`.
fn repo_jobs(
    r: &crate::Reference,
    ctx: &crate::Context,
    wanted: Option<&[String]>,
    filters: &[TagFilter],
    scoped: bool,
    context: Option<&std::sync::Arc<crate::Context>>,
) -> Result<Vec<SyncJob>> {
    let tags = match wanted {
        Some(t) if !t.is_empty() => t.to_vec(),
        _ => {
            let client = crate::transport::docker::connect(r, false, ctx)?;
            crate::transport::docker::list_tags(&client, r)?
        }
    };
    Ok(filter_tags(tags, filters)
        .into_iter()
        .map(|tag| SyncJob {
            src: crate::ImageName::Docker(r.with_tag(&tag)),
            suffix: suffix(r, &tag, scoped),
            context: context.cloned(),
        })
        .collect())
}

/// Every `dir:` image below `root`, named below the destination as skopeo
/// names it: by its directory's own name (`tree/reg/ns/img:t1` → `img:t1`),
/// or with `scoped` by its path below `root` (`reg/ns/img:t1`); `:latest`
/// when that name has no tag.
pub fn dir_jobs(root: &Path, scoped: bool) -> Result<Vec<SyncJob>> {
    let mut jobs = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("manifest.json").is_file() {
            jobs.push(SyncJob {
                src: crate::ImageName::Dir(d.clone()),
                suffix: dir_suffix(root, &d, scoped),
                context: None,
            });
            continue;
        }
        for e in std::fs::read_dir(&d)
            .map_err(|e| Error::io(&d, e))?
            .flatten()
        {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    if jobs.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no images found",
            root.display()
        )));
    }
    jobs.sort_by(|a, b| a.suffix.cmp(&b.suffix));
    Ok(jobs)
}

/// The name below the destination of the `dir:` image at `d` below `root`.
fn dir_suffix(root: &Path, d: &Path, scoped: bool) -> String {
    let rel = d.strip_prefix(root).unwrap_or(d);
    // The source itself an image: its own name, scoped or not.
    let name = match (scoped, rel.as_os_str().is_empty()) {
        (true, false) => rel.to_string_lossy().to_string(),
        _ => d
            .canonicalize()
            .unwrap_or_else(|_| d.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
    };
    let last = name.rsplit('/').next().unwrap_or(&name);
    if last.contains(':') {
        name
    } else {
        format!("{name}:latest")
    }
}

/// The images a sync YAML file lists. `context_of` makes the context of a
/// registry's section (its TLS settings and credentials).
pub fn yaml_jobs(
    path: &Path,
    filters: &[TagFilter],
    scoped: bool,
    context_of: &dyn Fn(&RegistrySection) -> Result<crate::Context>,
) -> Result<Vec<SyncJob>> {
    let doc = read_yaml(path)?;
    let mut jobs = Vec::new();
    for (registry, section) in &doc {
        let ctx = std::sync::Arc::new(context_of(section)?);
        let repo_ref = |repo: &str| crate::Reference::parse(&format!("{registry}/{repo}"));
        for (repo, tags) in &section.images {
            let r = repo_ref(repo)?;
            jobs.extend(repo_jobs(
                &r,
                &ctx,
                Some(tags),
                filters,
                scoped,
                Some(&ctx),
            )?);
        }
        // Repositories listed with a tag filter of their own: every tag that
        // passes it and the command's filters.
        let by_regex = section
            .images_by_tag_regex
            .iter()
            .map(|(repo, re)| Ok::<_, Error>((repo, TagFilter::regex(re)?)));
        let by_semver = section
            .images_by_semver
            .iter()
            .map(|(repo, range)| Ok::<_, Error>((repo, TagFilter::semver(range)?)));
        for filtered in by_regex.chain(by_semver) {
            let (repo, own) = filtered?;
            let mut f = filters.to_vec();
            f.push(own);
            jobs.extend(repo_jobs(
                &repo_ref(repo)?,
                &ctx,
                None,
                &f,
                scoped,
                Some(&ctx),
            )?);
        }
    }
    Ok(jobs)
}
