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
}
