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
    /// How its mapped root is made (ID-mapped mounts as root, mapped copies
    /// rootless), which says what owners its upper layer holds.
    #[serde(default, skip_serializing_if = "is_default")]
    pub id_map_strategy: crate::idmap::Strategy,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Container {
    /// The map its upper layer's owners went through, when they did (mapped
    /// copies): what `diff`, `commit`, `export` and `cp` map back.
    pub fn mapped_upper(&self) -> Option<&crate::idmap::IdMap> {
        self.id_map
            .as_ref()
            .filter(|_| self.id_map_strategy == crate::idmap::Strategy::Copies)
    }
}

/// A host directory as a container's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRoot {
    pub path: std::path::PathBuf,
    /// Under an overlay whose upper layer is the container's own (podman's `:O`), so
    /// the directory is never written; without it the container writes the directory.
    pub overlay: bool,
}
