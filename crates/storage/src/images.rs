//! Image records: an image is its config's digest (the ID), its top layer, the
//! manifests it was stored with, and the names it is tagged with.

use berth_image::Digest;
use serde::{Deserialize, Serialize};

/// One image, as `images.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// The config digest's hex.
    pub id: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_layer: Option<String>,
    /// The layers bottom first (chain IDs' hex).
    #[serde(default)]
    pub layers: Vec<String>,
    pub config_digest: Digest,
    /// The manifest the image was stored with (served by `manifest(None)`).
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    /// Every manifest kept for the image (the index and instances of a multi-arch copy).
    #[serde(default)]
    pub digests: Vec<Digest>,
    pub created: u64,
    /// Compressed size of the layers plus config, as pulled.
    pub size: u64,
    #[serde(skip)]
    pub read_only: bool,
    #[serde(skip)]
    pub store: usize,
}

impl Image {
    /// Whether `s` names this image: a name, the ID, an ID prefix (≥ 3 hex), or
    /// `sha256:ID`, or a manifest digest.
    pub fn matches_id(&self, s: &str) -> bool {
        let s = s.strip_prefix("sha256:").unwrap_or(s);
        (s.len() >= 3 && self.id.starts_with(s)) || self.digests.iter().any(|d| d.hex() == s)
    }
}
