//! Image records: an image is its config's digest (the ID), its top layer, the
//! manifests it was stored with, and the names it is tagged with.

use berth_image::Digest;
use serde::{Deserialize, Serialize};

use crate::layers::Layer;

/// One image, as `images.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// The config digest's hex.
    pub id: String,
    #[serde(default)]
    pub names: Vec<String>,
    /// Every name the image has had: its names now, then those it lost,
    /// latest first (containers/storage's NamesHistory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names_history: Vec<String>,
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
    /// The layers' unpacked size (see [`Image::unpacked_size`]); records of
    /// older stores hold the compressed size, corrected as they are read.
    pub size: u64,
    #[serde(skip)]
    pub read_only: bool,
    #[serde(skip)]
    pub store: usize,
}

impl Image {
    /// Brings [`Image::names_history`] up to date after the names changed.
    /// As containers/storage keeps it: names just added first (the latest
    /// first), then the other names it has, then those it lost.
    pub(crate) fn note_names(&mut self) {
        let older = std::mem::take(&mut self.names_history);
        let (kept, added): (Vec<String>, Vec<String>) =
            self.names.iter().cloned().partition(|n| older.contains(n));
        let lost = older.into_iter().filter(|n| !self.names.contains(n));
        self.names_history = added.into_iter().rev().chain(kept).chain(lost).collect();
    }

    /// The size podman shows for an image: the sum of its layers' uncompressed
    /// tar sizes, the same however the layers were compressed on the way in
    /// (an image imported, pushed gzipped and pulled back has the size it
    /// had). `None` when a layer's size is not recorded.
    pub(crate) fn unpacked_size(layer_ids: &[String], layers: &[Layer]) -> Option<u64> {
        layer_ids
            .iter()
            .map(|id| {
                layers
                    .iter()
                    .find(|l| l.id == *id)
                    .and_then(|l| l.uncompressed_size)
            })
            .sum()
    }

    /// The image with its size computed from its layers, as [`Image::unpacked_size`].
    pub(crate) fn sized(mut self, layers: &[Layer]) -> Image {
        if let Some(n) = Image::unpacked_size(&self.layers, layers) {
            self.size = n;
        }
        self
    }

    /// Whether `s` names this image: a name, the ID, an ID prefix (≥ 3 hex), or
    /// `sha256:ID`, or a manifest digest.
    pub fn matches_id(&self, s: &str) -> bool {
        let s = s.strip_prefix("sha256:").unwrap_or(s);
        (s.len() >= 3 && self.id.starts_with(s)) || self.digests.iter().any(|d| d.hex() == s)
    }
}
