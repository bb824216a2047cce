//! `images`: the store's images, one entry per name, filtered and sorted as
//! podman's `images` does.

use std::str::FromStr;

use berth_storage::{Image, Store};
use serde::Serialize;

use super::{ImageError, has_children, labels};

/// What `images` lists.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Intermediate images (untagged, with children) too.
    pub all: bool,
    /// podman's `--filter KEY=VALUE`s: reference, dangling, id, before, since,
    /// digest, readonly, label. An image must match every one.
    pub filters: Vec<String>,
    pub sort: SortKey,
}

/// `--sort`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Newest first.
    #[default]
    Created,
    Id,
    Repository,
    Size,
    Tag,
}

impl FromStr for SortKey {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<SortKey, ImageError> {
        Ok(match s {
            "created" => SortKey::Created,
            "id" => SortKey::Id,
            "repository" => SortKey::Repository,
            "size" => SortKey::Size,
            "tag" => SortKey::Tag,
            _ => {
                return Err(ImageError::InvalidArgument(format!(
                    "invalid sort key {s:?} (created, id, repository, size, tag)"
                )));
            }
        })
    }
}

/// One image under one of its names (or `<none>` when it has none).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// The full ID (the config digest's hex).
    pub id: String,
    pub repository: String,
    pub tag: String,
    pub names: Vec<String>,
    /// The digest of the manifest it was stored with.
    pub digest: String,
    /// Seconds since the epoch.
    pub created: u64,
    pub size: u64,
    pub read_only: bool,
    pub dangling: bool,
    /// The config's labels.
    pub labels: serde_json::Map<String, serde_json::Value>,
    /// Every name the image has had, its names now first.
    pub history: Vec<String>,
}

fn summaries(store: &Store, img: &Image) -> Vec<ImageSummary> {
    let config: serde_json::Value = store
        .image_config(img)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let labels = config["config"]["Labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    // When the image was made (its config says), as podman shows it; the
    // store's record (when it arrived) for a config without a time.
    let created = config["created"]
        .as_str()
        .and_then(crate::time::parse_rfc3339)
        .unwrap_or(img.created);
    let entry = |repository: String, tag: String| ImageSummary {
        id: img.id.clone(),
        repository,
        tag,
        names: img.names.clone(),
        digest: img.manifest_digest.to_string(),
        created,
        size: img.size,
        read_only: img.read_only,
        dangling: img.names.is_empty(),
        labels: labels.clone(),
        // Records of older stores have no history: their names are it.
        history: if img.names_history.is_empty() {
            img.names.clone()
        } else {
            img.names_history.clone()
        },
    };
    if img.names.is_empty() {
        return vec![entry("<none>".into(), "<none>".into())];
    }
    // A name by digest (`repo@sha256:…`, kept from a pull by digest) is no
    // tag: a row of its own only when the image has no tag.
    let tagged: Vec<&String> = img.names.iter().filter(|n| !n.contains('@')).collect();
    if tagged.is_empty() {
        let repo = img.names[0].split('@').next().unwrap_or_default();
        return vec![entry(repo.to_string(), "<none>".into())];
    }
    tagged
        .into_iter()
        .map(|n| match n.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => entry(r.to_string(), t.to_string()),
            _ => entry(n.clone(), "<none>".into()),
        })
        .collect()
}

/// One `--filter`, parsed against the store's images.
enum Filter {
    Reference(String),
    Dangling(bool),
    Id(String),
    Before(u64),
    Since(u64),
    Digest(String),
    ReadOnly(bool),
    Label { key: String, value: Option<String> },
}

impl Filter {
    fn parse(store: &Store, filter: &str, all: &[Image]) -> Result<Filter, ImageError> {
        let (k, v) = filter.split_once('=').ok_or_else(|| {
            ImageError::InvalidFilter(format!("invalid filter {filter:?}: expected KEY=VALUE"))
        })?;
        Ok(match k {
            "reference" => Filter::Reference(v.to_string()),
            "dangling" => Filter::Dangling(v == "true"),
            "id" => Filter::Id(v.trim_start_matches("sha256:").to_string()),
            "before" => Filter::Before(created_of(store, all, v)?),
            "since" | "after" => Filter::Since(created_of(store, all, v)?),
            "digest" => Filter::Digest(v.to_string()),
            "readonly" => Filter::ReadOnly(v == "true"),
            "label" => match v.split_once('=') {
                Some((key, value)) => Filter::Label {
                    key: key.to_string(),
                    value: Some(value.to_string()),
                },
                None => Filter::Label {
                    key: v.to_string(),
                    value: None,
                },
            },
            _ => return Err(ImageError::InvalidFilter(format!("invalid filter {k:?}"))),
        })
    }

    fn matches(&self, store: &Store, all: &[Image], img: &Image, s: &ImageSummary) -> bool {
        match self {
            Filter::Reference(pattern) => reference_matches(pattern, s),
            // podman's words: dangling is untagged without children.
            Filter::Dangling(want) => {
                *want == (img.names.is_empty() && !has_children(store, all, img))
            }
            Filter::Id(prefix) => img.id.starts_with(prefix.as_str()),
            Filter::Before(t) => created_ns(store, img) < *t,
            Filter::Since(t) => created_ns(store, img) > *t,
            Filter::Digest(d) => {
                img.manifest_digest.to_string() == *d
                    || img.digests.iter().any(|x| x.to_string() == *d)
            }
            Filter::ReadOnly(want) => *want == img.read_only,
            Filter::Label { key, value } => {
                let labels = labels(store, img);
                match value {
                    Some(v) => labels.get(key).and_then(|x| x.as_str()) == Some(v.as_str()),
                    None => labels.contains_key(key),
                }
            }
        }
    }
}

/// When the image was made, in nanoseconds: its config's time (podman's
/// precision), else when the store got it.
fn created_ns(store: &Store, img: &Image) -> u64 {
    store
        .image_config(img)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|c| {
            c["created"]
                .as_str()
                .and_then(crate::time::parse_rfc3339_nanos)
        })
        .unwrap_or(img.created.saturating_mul(1_000_000_000))
}

/// The creation time of the image `name` (a name or an ID prefix), for
/// `before=` and `since=`, in nanoseconds.
fn created_of(store: &Store, all: &[Image], name: &str) -> Result<u64, ImageError> {
    let full = berth_storage::store::candidate_names(name);
    let id = name.trim_start_matches("sha256:");
    all.iter()
        .find(|i| {
            full.iter().any(|n| i.names.contains(n)) || (id.len() >= 3 && i.id.starts_with(id))
        })
        .map(|i| created_ns(store, i))
        .ok_or_else(|| ImageError::InvalidFilter(format!("invalid filter: image {name} not known")))
}

fn reference_matches(pattern: &str, s: &ImageSummary) -> bool {
    let full = format!("{}:{}", s.repository, s.tag);
    let short = full.strip_prefix("docker.io/library/").unwrap_or(&full);
    let last = full.rsplit('/').next().unwrap_or(&full);
    [full.as_str(), short, last, s.repository.as_str()]
        .iter()
        .any(|c| glob_match(pattern, c) || glob_match(&format!("{pattern}:*"), c))
}

/// `*` matches within a name component, as podman's reference filter does.
fn glob_match(pattern: &str, s: &str) -> bool {
    fn m(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && m(p, &s[1..])),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), s.as_bytes())
}

/// The images `images` shows, one entry per name, in `o.sort`'s order.
/// The repository of the empty images `from scratch` and `FROM scratch` stand
/// on: berth's own, kept out of listings (buildah's scratch leaves no image).
pub const SCRATCH_REPO: &str = "localhost/berth-scratch";

fn is_scratch(img: &berth_storage::Image) -> bool {
    !img.names.is_empty()
        && img.names.iter().all(|n| {
            n.strip_prefix(SCRATCH_REPO)
                .is_some_and(|t| t.starts_with(':'))
        })
}

pub fn list(store: &Store, o: &ListOptions) -> Result<Vec<ImageSummary>, ImageError> {
    let all = store.images()?;
    let filters = o
        .filters
        .iter()
        .map(|f| Filter::parse(store, f, &all))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    for img in all.iter().filter(|i| !is_scratch(i)) {
        // Intermediate images (untagged, with children) only with `all`.
        if !o.all && img.names.is_empty() && has_children(store, &all, img) {
            continue;
        }
        for s in summaries(store, img) {
            if filters.iter().all(|f| f.matches(store, &all, img, &s)) {
                out.push(s);
            }
        }
    }
    match o.sort {
        SortKey::Id => out.sort_by(|x, y| x.id.cmp(&y.id)),
        SortKey::Repository => out.sort_by(|x, y| x.repository.cmp(&y.repository)),
        SortKey::Tag => out.sort_by(|x, y| x.tag.cmp(&y.tag)),
        SortKey::Size => out.sort_by_key(|x| x.size),
        SortKey::Created => out.sort_by_key(|x| std::cmp::Reverse(x.created)),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn stars_stay_within_a_name_component() {
        assert!(glob_match("bb*", "bb:1"));
        assert!(glob_match("localhost/*:1", "localhost/bb:1"));
        assert!(!glob_match("*", "localhost/bb"));
        assert!(!glob_match("bb", "bbb"));
    }
}
