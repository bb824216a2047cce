//! Images in the store as podman's image commands see them: listed with
//! filters, removed, pruned, tagged and inspected. Every front end (the CLI,
//! later the REST API) gets the same typed reports and the same rules.

pub(crate) mod archive;
mod change;
mod import;
mod inspect;
mod list;
mod prune;
mod push;
mod remove;
mod search;
mod sign;

use berth_storage::{Image, Store};

pub use archive::{SaveFormat, SaveOptions, load, load_from, save, save_stream};
pub use change::apply_change;
pub use import::{ImportOptions, import};
pub use inspect::{ImageInspect, RootFs, inspect};
pub use list::{ImageSummary, ListOptions, SCRATCH_REPO, SortKey, list};
pub use prune::{PruneOptions, Pruned, prune};
pub use push::{PushOptions, PushReport, push, push_any};
pub use remove::{Removal, RemoveOptions, remove};
pub use search::{SearchOptions, SearchResult, search};
pub use sign::{SignOptions, sign};

/// What went wrong with an image operation.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No image has that name, ID or ID prefix.
    #[error("{0}: image not known")]
    NotKnown(String),
    /// `untag` of a name the image does not have.
    #[error("{0}: tag not known")]
    TagNotKnown(String),
    /// Removing an image by ID that has several names, without force.
    #[error(
        "unable to delete image {0} (must force): image is referenced in multiple repositories"
    )]
    MustForce(String),
    /// A filter podman does not know, or one whose value does not parse.
    #[error("{0}")]
    InvalidFilter(String),
    /// A value the caller gave is not acceptable.
    #[error("{0}")]
    InvalidArgument(String),
    /// Removing an image a container uses, without force (podman's words).
    #[error(
        "image used by {container}: image is in use by a container: consider listing external containers and force-removing image"
    )]
    InUse { container: String },
    /// `rmi -f` could not remove a container made from the image.
    #[error("removing container {container} of image {image}: {source}")]
    Container {
        container: String,
        image: String,
        source: Box<crate::Error>,
    },
    /// An archive `save` could not write or `load` could not read.
    #[error("{0}")]
    Archive(String),
    /// The archive `load_from` was given could not be read (or kept).
    #[error("{0}")]
    ArchiveInput(std::io::Error),
    /// The copy to a push's destination failed.
    #[error("{0}")]
    Push(String),
    /// A push's digest could not be written to the file asked for.
    #[error("{}: {source}", path.display())]
    DigestFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A tarball `import` could not read or store.
    #[error("{0}")]
    Import(String),
    /// `image sign`: gpg, or the signatures' storage, failed.
    #[error("{name}: {source}")]
    Sign {
        name: String,
        source: berth_image::Error,
    },
    /// The leases of running builds and pulls could not be read.
    #[error(transparent)]
    Lease(#[from] crate::leases::LeaseError),
    #[error(transparent)]
    Store(berth_storage::Error),
}

impl From<berth_storage::Error> for ImageError {
    fn from(e: berth_storage::Error) -> ImageError {
        match e {
            berth_storage::Error::ImageNotFound(n) => ImageError::NotKnown(n),
            berth_storage::Error::ImageInUse { container, .. } => ImageError::InUse { container },
            e => ImageError::Store(e),
        }
    }
}

/// Whether another image is built on `img`, in podman's sense: a child has
/// `img`'s layers and at most one more, and `img`'s history plus one entry.
pub fn has_children(store: &Store, all: &[Image], img: &Image) -> bool {
    let history = |i: &Image| -> Option<Vec<serde_json::Value>> {
        let b = store.image_config(i).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
        Some(v["history"].as_array().cloned().unwrap_or_default())
    };
    let mut mine = None;
    all.iter()
        .filter(|o| {
            o.id != img.id
                && o.layers.starts_with(&img.layers)
                && o.layers.len() <= img.layers.len() + 1
        })
        .any(|o| {
            let mine = mine.get_or_insert_with(|| history(img)).as_ref();
            match (mine, history(o)) {
                (Some(p), Some(c)) => c.len() == p.len() + 1 && c.starts_with(p),
                _ => false,
            }
        })
}

/// The labels of an image's config (none when it cannot be read).
pub(crate) fn labels(store: &Store, img: &Image) -> serde_json::Map<String, serde_json::Value> {
    store
        .image_config(img)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["config"]["Labels"].as_object().cloned())
        .unwrap_or_default()
}

/// Adds `names` to the image `image`.
pub fn tag(store: &Store, image: &str, names: &[String]) -> Result<(), ImageError> {
    if names.is_empty() {
        return Err(ImageError::InvalidArgument(
            "at least one new name is required".into(),
        ));
    }
    let id = store.image(image)?.id;
    for n in names {
        store.tag(image, n)?;
        crate::events::image(store, "tag", &id, n);
    }
    Ok(())
}

/// Takes `names` (all of its names when none are given) off the image `image`.
pub fn untag(store: &Store, image: &str, names: &[String]) -> Result<(), ImageError> {
    let img = store.image(image)?;
    let names = if names.is_empty() { &img.names } else { names };
    for n in names {
        let full = berth_storage::store::candidate_names(n)
            .into_iter()
            .find(|c| img.names.contains(c))
            .ok_or_else(|| ImageError::TagNotKnown(n.clone()))?;
        store.untag(&img.id, &full)?;
        crate::events::image(store, "untag", &img.id, &full);
    }
    Ok(())
}

/// Whether an image of that name, ID or ID prefix exists.
pub fn exists(store: &Store, name: &str) -> Result<bool, ImageError> {
    match store.image(name) {
        Ok(_) => Ok(true),
        Err(berth_storage::Error::ImageNotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One entry of an image's history, newest first, as `history` shows it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The image's ID on the newest entry; `<missing>` on older ones, which
    /// have no ID of their own.
    pub id: String,
    /// RFC 3339, as the config records it.
    pub created: Option<String>,
    pub created_by: String,
    /// Bytes of the layer the step made (0 for a step that made none).
    pub size: u64,
    pub comment: String,
}

/// An entry as `history`'s table and templates show it (podman's history
/// template fields): `human` sizes and times for people, IDs cut to 12
/// characters unless `full_ids`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HistoryFields {
    #[serde(rename = "ID")]
    pub id: String,
    /// "N units ago" when human, else as recorded.
    #[serde(rename = "Created")]
    pub created: String,
    #[serde(rename = "CreatedSince")]
    pub created_since: String,
    /// Go's default time format.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "CreatedBy")]
    pub created_by: String,
    /// `table_size` when human, else bytes.
    #[serde(rename = "Size")]
    pub size: String,
    #[serde(rename = "Comment")]
    pub comment: String,
}

impl HistoryEntry {
    /// The ID cut to 12 characters unless `full`; `<missing>` as it is.
    pub fn short_id(&self, full: bool) -> String {
        if full || self.id.len() < 12 || self.id.starts_with('<') {
            self.id.clone()
        } else {
            self.id[..12].to_string()
        }
    }

    /// The entry's template fields.
    pub fn fields(&self, human: bool, full_ids: bool) -> HistoryFields {
        let recorded = self.created.clone().unwrap_or_default();
        // An entry without a time is shown as of the epoch.
        let secs = crate::time::parse_rfc3339(&recorded).unwrap_or(0);
        let since = crate::time::since(secs);
        HistoryFields {
            id: self.short_id(full_ids),
            created: if human { since.clone() } else { recorded },
            created_since: since,
            created_at: crate::time::go_time(secs.saturating_mul(1_000_000_000)),
            created_by: self.created_by.clone(),
            size: if human {
                crate::units::table_size(self.size)
            } else {
                self.size.to_string()
            },
            comment: self.comment.clone(),
        }
    }
}

/// The history of the image `name`, newest first.
/// The unpacked size of each of an image's layers, bottom first, as podman's
/// `history` shows them.
fn unpacked_sizes(store: &Store, img: &berth_storage::Image) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut next = img.top_layer.clone();
    while let Some(id) = next {
        let Ok(l) = store.layer(&id) else { break };
        sizes.push(l.uncompressed_size.or(l.compressed_size).unwrap_or(0));
        next = l.parent;
    }
    sizes.reverse();
    sizes
}

pub fn history(store: &Store, name: &str) -> Result<Vec<HistoryEntry>, ImageError> {
    use berth_image::manifest::ImageConfig;
    let img = store.image(name)?;
    let cfg: ImageConfig = serde_json::from_slice(&store.image_config(&img)?).map_err(|e| {
        ImageError::Store(berth_storage::Error::Invalid(format!(
            "image {}: config: {e}",
            img.id
        )))
    })?;
    let layer_sizes = unpacked_sizes(store, &img);
    let mut sizes = layer_sizes.into_iter();
    let n = cfg.history.len();
    let mut entries: Vec<HistoryEntry> = cfg
        .history
        .iter()
        .enumerate()
        .map(|(i, h)| HistoryEntry {
            id: if i + 1 == n {
                img.id.clone()
            } else {
                "<missing>".into()
            },
            created: h.created.clone(),
            created_by: h.created_by.clone().unwrap_or_default(),
            size: if h.empty_layer == Some(true) {
                0
            } else {
                sizes.next().unwrap_or(0)
            },
            comment: h.comment.clone().unwrap_or_default(),
        })
        .collect();
    entries.reverse();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, created: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            id: id.into(),
            created: created.map(String::from),
            created_by: "/bin/sh -c true".into(),
            size: 2048,
            comment: String::new(),
        }
    }

    #[test]
    fn history_ids_are_cut_unless_full_or_missing() {
        let id = "0123456789abcdef";
        assert_eq!(entry(id, None).short_id(false), "0123456789ab");
        assert_eq!(entry(id, None).short_id(true), id);
        assert_eq!(entry("<missing>", None).short_id(false), "<missing>");
    }

    #[test]
    fn history_fields_for_people_or_raw() {
        let e = entry("<missing>", Some("2020-01-02T03:04:05Z"));
        let raw = e.fields(false, false);
        assert_eq!(raw.created, "2020-01-02T03:04:05Z");
        assert_eq!(raw.size, "2048");
        let human = e.fields(true, false);
        assert_eq!(human.created, human.created_since);
        assert!(human.created.ends_with(" ago"), "{}", human.created);
        assert_eq!(human.size, crate::units::table_size(2048));
        assert_eq!(human.created_at, raw.created_at);
        // No time recorded: the epoch's.
        assert_eq!(entry("x", None).fields(false, false).created, "");
        assert_eq!(
            entry("x", None).fields(true, false).created,
            crate::time::since(0)
        );
    }
}
