//! `image prune`: images nothing uses, removed as podman's prune removes them.

use std::collections::HashSet;

use berth_storage::Store;

use super::{ImageError, has_children, labels};

/// What `image prune` removes.
#[derive(Clone, Debug, Default)]
pub struct PruneOptions {
    /// Every image no container uses, not only dangling ones.
    pub all: bool,
    /// `until=TIME|DURATION`, `label=KEY[=VALUE]`, `label!=KEY[=VALUE]`: only
    /// images matching every filter go.
    pub filters: Vec<String>,
}

/// An image a prune removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pruned {
    pub id: String,
    pub size: u64,
}

/// One `--filter`.
enum Filter {
    /// Created before this time (seconds since the epoch).
    Until(u64),
    /// Has (or, negated, has not) this label, with this value if given.
    Label {
        key: String,
        value: Option<String>,
        negated: bool,
    },
}

impl Filter {
    fn parse(f: &str) -> Result<Filter, ImageError> {
        let bad = |why: &str| ImageError::InvalidFilter(format!("invalid filter {f:?}: {why}"));
        let (k, v, negated) = match f.split_once("!=") {
            Some((k, v)) if !k.contains('=') => (k, v, true),
            _ => match f.split_once('=') {
                Some((k, v)) => (k, v, false),
                None => return Err(bad("expected KEY=VALUE")),
            },
        };
        match (k, negated) {
            ("until", false) => crate::time::until(v)
                .map(Filter::Until)
                .ok_or_else(|| bad("use a duration (24h, 10m), a Unix time or RFC 3339")),
            ("label", _) => {
                let (key, value) = match v.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (v.to_string(), None),
                };
                Ok(Filter::Label {
                    key,
                    value,
                    negated,
                })
            }
            _ => Err(bad("unknown filter (until, label, label!= are supported)")),
        }
    }

    /// Whether the filter spares an image created at `created` with `labels`.
    fn keeps(&self, created: u64, labels: &serde_json::Map<String, serde_json::Value>) -> bool {
        match self {
            Filter::Until(t) => created >= *t,
            Filter::Label {
                key,
                value,
                negated,
            } => {
                let has = match (labels.get(key), value) {
                    (Some(v), Some(want)) => v.as_str() == Some(want.as_str()),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                has == *negated
            }
        }
    }
}

/// `until=`: a duration ago, a Unix time or an RFC 3339 time, in seconds.
/// Removes dangling images (with `o.all`, every image no container uses), and
/// never one a running build or pull holds. An image that a concurrent
/// command took or started to use meanwhile is left to it, not an error.
pub fn prune(store: &Store, o: &PruneOptions) -> Result<Vec<Pruned>, ImageError> {
    let filters = o
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    // No new lease is taken until the prune is done.
    let leased = crate::leases::Leased::read(&store.config().run_root)?;
    let used: HashSet<String> = store.containers()?.into_iter().map(|c| c.image).collect();
    let images = store.images()?;
    let mut pruned = Vec::new();
    for img in &images {
        if img.read_only
            || used.contains(&img.id)
            || leased.contains(&img.id)
            || (!o.all && !img.names.is_empty())
        {
            continue;
        }
        // Without `all` only dangling images go: an intermediate one has children.
        if !o.all && has_children(store, &images, img) {
            continue;
        }
        if !filters.is_empty() {
            let labels = labels(store, img);
            if filters.iter().any(|f| f.keeps(img.created, &labels)) {
                continue;
            }
        }
        match store.remove_image(&img.id) {
            Ok(_) => pruned.push(Pruned {
                id: img.id.clone(),
                size: img.size,
            }),
            Err(
                berth_storage::Error::ImageNotFound(_) | berth_storage::Error::ImageInUse { .. },
            ) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(pruned)
}
