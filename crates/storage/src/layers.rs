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
