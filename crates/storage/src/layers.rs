//! Layer records. A layer pulled from an image is keyed by its chain ID (its ID is the
//! chain ID's hex) and shared by every image whose stack contains it; a container's
//! read-write layer has a random ID.

use berth_image::Digest;
use serde::{Deserialize, Serialize};

/// One layer, as `layers.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Seconds since the epoch.
    pub created: u64,
    /// sha256 of the uncompressed tar the layer was applied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<Digest>,
    /// Digest of the blob as pulled (kept in `blobs/`), served again on push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_size: Option<u64>,
    /// The same diff as other blobs (another compression of it), kept in `blobs/` too.
    /// A layer is keyed by chain ID, so an image that names other blobs for layers the
    /// store has already (pushed compressed and pulled back) shares the layer, and
    /// its manifest can be served only if its blobs are kept beside the first one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_blobs: Vec<LayerBlob>,
    /// Checksum of the applied tree (see [`crate::archive::tree`]), for `check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_checksum: Option<Digest>,
    /// A container's read-write layer.
    #[serde(default)]
    pub container: bool,
    /// Set on layers of an additional (read-only) image store.
    #[serde(skip)]
    pub read_only: bool,
    /// Which store holds it: 0 the primary, i + 1 the i-th additional store.
    #[serde(skip)]
    pub store: usize,
}

/// A blob kept for a layer besides the one it was first stored from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlob {
    pub digest: Digest,
    pub size: u64,
}

impl Layer {
    /// Every blob digest the store keeps for the layer, the first one first.
    pub fn blob_digests(&self) -> impl Iterator<Item = &Digest> {
        self.compressed_digest
            .iter()
            .chain(self.other_blobs.iter().map(|b| &b.digest))
    }

    /// Whether the layer records `digest` among its blobs.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_digests().any(|d| d == digest)
    }
}

/// The chain IDs of a stack of diff IDs, bottom first:
/// `chain(0) = diff(0)`, `chain(n) = sha256(chain(n-1) + " " + diff(n))`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::sha256_of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_of_one_is_the_diff_id() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }
}
