//! `image prune`: images nothing uses, removed as podman's prune removes them.

use std::collections::HashSet;

use berth_storage::Store;

use super::{ImageError, has_children, labels};
use crate::prune_filters::PruneFilters;

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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub id: String,
    pub size: u64,
    /// The names it had (none for a dangling image), gone with it.
    pub names: Vec<String>,
}

/// Removes dangling images (with `o.all`, every image no container uses), and
/// never one a running build or pull holds. An image that a concurrent
/// command took or started to use meanwhile is left to it, not an error.
pub fn prune(store: &Store, o: &PruneOptions) -> Result<Vec<Pruned>, ImageError> {
    let filters = PruneFilters::parse(&o.filters, &["until", "label", "label!"]).map_err(|e| {
        ImageError::InvalidFilter(match e.key() {
            Some(k) => format!("invalid filter {k:?}: until, label and label! are supported"),
            None => e.to_string(),
        })
    })?;
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
            let labels = labels(store, img)
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect();
            if !filters.matches(img.created.saturating_mul(1_000_000_000), &labels) {
                continue;
            }
        }
        match store.remove_image(&img.id) {
            Ok(_) => pruned.push(Pruned {
                id: img.id.clone(),
                size: img.size,
                names: img.names.clone(),
            }),
            Err(
                berth_storage::Error::ImageNotFound(_) | berth_storage::Error::ImageInUse { .. },
            ) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(pruned)
}
