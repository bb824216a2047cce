//! Container records: a read-write layer on top of an image's top layer, and the
//! engine's own metadata (opaque to the store).

use serde::{Deserialize, Serialize};

/// One container, as `containers.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    #[serde(default)]
    pub names: Vec<String>,
    /// The image ID it was created from.
    pub image: String,
    /// Its read-write layer's ID.
    pub layer: String,
    /// The engine's metadata, stored as given.
    #[serde(default)]
    pub metadata: String,
    pub created: u64,
    /// A root that is a host directory (`run --rootfs`), not an image; `image` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<ExternalRoot>,
    /// Its user namespace's mapping (`--uidmap`): its root is then an overlay of
    /// ID-mapped mounts of its layers (see [`crate::idmap`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_map: Option<crate::idmap::IdMap>,
}

/// A host directory as a container's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRoot {
    pub path: std::path::PathBuf,
    /// Under an overlay whose upper layer is the container's own (podman's `:O`), so
    /// the directory is never written; without it the container writes the directory.
    pub overlay: bool,
}
