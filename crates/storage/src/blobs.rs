//! The blobs kept for layers. A layer is keyed by its chain ID, so one layer stands
//! for every blob that decompresses to its diff: the tar an image was imported from,
//! and the gzip of it the same image was pulled back as after a push. Each image's
//! manifests name some of these blobs, and `save` and `push` serve exactly those
//! bytes, so the store keeps every blob a manifest it records names, each listed on
//! the layer it is a form of (see [`Layer::other_blobs`]).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use berth_image::Digest;
use berth_image::blob;
use berth_image::digest::{Algorithm, DigestingWriter};

use crate::error::{Error, IoContext, Result};
use crate::layers::{Layer, LayerBlob};
use crate::lock::random_hex;
use crate::store::{Pending, State, Store};

/// sha256 of a blob's uncompressed content: the diff ID of a layer blob.
pub(crate) fn diff_id_of(path: &Path) -> Result<Digest> {
    decompress_into(path, io::sink())
}

/// Writes a blob's uncompressed content to `out`; returns its sha256.
pub(crate) fn decompress_into<W: Write>(path: &Path, out: W) -> Result<Digest> {
    let f = File::open(path).at(path)?;
    let (compression, sniffed) = blob::sniff(f).at(path)?;
    let mut plain = blob::decompress(sniffed, compression);
    let mut w = DigestingWriter::new(out, Algorithm::Sha256);
    io::copy(&mut plain, &mut w).at(path)?;
    Ok(w.finish().1)
}

/// Puts `src` at `dest` (a path in `blobs/`) by a hard link, else by a copy renamed
/// into place, so that `dest` never exists half written.
pub(crate) fn link_or_copy(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() || fs::hard_link(src, dest).is_ok() {
        return Ok(());
    }
    let tmp = dest.with_file_name(format!(".tmp-{}", random_hex(8)));
    let copied = fs::copy(src, &tmp)
        .and_then(|_| File::open(&tmp)?.sync_all())
        .and_then(|()| fs::rename(&tmp, dest));
    if copied.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    copied.at(dest)
}

impl Store {
    /// Where the store keeps the blob `digest` (in any of its stores), if it does.
    pub fn blob_path(&self, digest: &Digest) -> Result<Option<PathBuf>> {
        self.read(|st| Ok(self.find_blob(st, digest)))
    }

    pub(crate) fn find_blob(&self, st: &State, digest: &Digest) -> Option<PathBuf> {
        st.layers
            .iter()
            .filter(|l| l.has_blob(digest))
            .map(|l| self.blob_path_in(l.store, digest))
            .find(|p| p.exists())
    }

    /// Whether `layer` itself keeps the blob `digest`: recorded on it, and on disk.
    pub(crate) fn layer_keeps(&self, layer: &Layer, digest: &Digest) -> bool {
        layer.has_blob(digest) && self.blob_path_in(layer.store, digest).exists()
    }

    /// A blob some layer of the diff `diff_id` keeps as `digest`: the store verified
    /// it against the diff when that layer was stored.
    pub(crate) fn kept_for_diff(
        &self,
        st: &State,
        digest: &Digest,
        diff_id: &Digest,
    ) -> Option<PathBuf> {
        st.layers
            .iter()
            .filter(|l| l.diff_id.as_ref() == Some(diff_id) && l.has_blob(digest))
            .map(|l| self.blob_path_in(l.store, digest))
            .find(|p| p.exists())
    }

    /// Any blob some layer of the diff `diff_id` keeps.
    pub(crate) fn any_kept_for_diff(&self, st: &State, diff_id: &Digest) -> Option<PathBuf> {
        st.layers
            .iter()
            .filter(|l| l.diff_id.as_ref() == Some(diff_id))
            .flat_map(|l| l.blob_digests().map(|d| self.blob_path_in(l.store, d)))
            .find(|p| p.exists())
    }

    /// Makes layer `id`, present already, keep `blob` too, from the blob a destination
    /// staged, or one the store keeps for another layer of the same diff. The blob
    /// must decompress to the layer's diff ID. Runs under the exclusive lock.
    pub(crate) fn keep_blob(
        &self,
        st: &mut State,
        id: &str,
        blob: &Digest,
        diff_id: &Digest,
        pending: &HashMap<Digest, Pending>,
    ) -> Result<()> {
        let layer = st
            .layer(id)
            .ok_or_else(|| Error::LayerNotFound(id.into()))?;
        if self.layer_keeps(layer, blob) {
            return Ok(());
        }
        let source = match (pending.get(blob), self.kept_for_diff(st, blob, diff_id)) {
            (_, Some(kept)) => kept,
            (Some(p), None) => {
                // Applied in staging (overlay): the diff ID was taken as it streamed.
                let actual = match &p.applied {
                    Some((rep, _)) => rep.diff_id.clone(),
                    None => diff_id_of(&p.blob)?,
                };
                if actual != *diff_id {
                    return Err(Error::DigestMismatch {
                        layer: id.into(),
                        what: "diff ID",
                        expected: diff_id.clone(),
                        actual,
                    });
                }
                p.blob.clone()
            }
            (None, None) => {
                return Err(Error::Image(berth_image::Error::BlobNotFound {
                    what: format!("layer {id}"),
                    digest: blob.clone(),
                }));
            }
        };
        self.attach_blob(st, id, blob, &source)
    }

    /// Records `blob` (whose bytes are at `source`, already verified) as one more
    /// blob of the primary store's layer `id`, linking it into `blobs/`.
    pub(crate) fn attach_blob(
        &self,
        st: &mut State,
        id: &str,
        blob: &Digest,
        source: &Path,
    ) -> Result<()> {
        let dest = self.blob_path_in(0, blob);
        let layer = st
            .layers
            .iter_mut()
            .find(|l| l.id == id)
            .ok_or_else(|| Error::LayerNotFound(id.into()))?;
        if layer.store != 0 {
            return Err(Error::ReadOnlyLayer {
                layer: id.into(),
                digest: blob.clone(),
            });
        }
        if source != dest {
            link_or_copy(source, &dest)?;
        }
        if !layer.has_blob(blob) {
            let size = fs::metadata(&dest).at(&dest)?.len();
            layer.other_blobs.push(LayerBlob {
                digest: blob.clone(),
                size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_blob_and_its_gzip_have_one_diff_id() {
        let dir = tempfile::tempdir().unwrap();
        let tar = vec![7u8; 4096];
        let plain = dir.path().join("plain");
        fs::write(&plain, &tar).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gzipped = dir.path().join("gzipped");
        fs::write(&gzipped, gz.finish().unwrap()).unwrap();
        let want = Digest::sha256_of(&tar);
        assert_eq!(diff_id_of(&plain).unwrap(), want);
        assert_eq!(diff_id_of(&gzipped).unwrap(), want);
        let copy = dir.path().join("copy");
        link_or_copy(&gzipped, &copy).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), fs::read(&gzipped).unwrap());
    }
}
