//! Images whose manifests name layer blobs the store does not keep. berth before
//! [`crate::blobs`] left them when an image was pulled (or loaded) under a manifest
//! naming another compression of layers it had already: the manifest was recorded,
//! the blob dropped, and `save` and `push` failed on it. `check` finds them; repair
//! makes each image servable again with the least change, in this order:
//! - a blob that is the layer's uncompressed diff is made again, exactly, by
//!   decompressing a blob the store keeps for it; a blob another layer of the same
//!   diff keeps is kept for this one too;
//! - a manifest still naming a blob nothing keeps is dropped from the image; the
//!   image's own manifest is replaced by another one it keeps whose blobs are all
//!   there, else rewritten to name the blobs its layers keep (its config, and so the
//!   image's ID, stay as they are);
//! - an image none of this can mend is removed, as containers/storage's check does.

use std::fs;

use berth_image::Digest;
use berth_image::manifest::{Compression, ImageManifest, Manifest, ManifestFormat, RawManifest};

use crate::blobs::decompress_into;
use crate::error::{IoContext, Result};
use crate::images::Image;
use crate::lock::write_atomic;
use crate::store::{State, Store};

/// A layer blob one of an image's manifests names and the image's layer does not keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unkept {
    pub manifest: Digest,
    pub layer: String,
    pub blob: Digest,
}

/// One of an image's own manifests: kept with it, describing it (not an index, nor
/// another platform's image of one).
struct Own {
    digest: Digest,
    raw: RawManifest,
    manifest: ImageManifest,
}

impl Store {
    /// The image's own manifests, its default one first. Unreadable ones are left
    /// out: `check` reports a missing default manifest on its own.
    fn own_manifests(&self, image: &Image) -> Vec<Own> {
        let mut digests = vec![image.manifest_digest.clone()];
        digests.extend(
            image
                .digests
                .iter()
                .filter(|d| **d != image.manifest_digest)
                .cloned(),
        );
        digests
            .into_iter()
            .filter_map(|digest| {
                let raw = self.image_manifest(image, Some(&digest)).ok()?;
                match raw.parse().ok()? {
                    Manifest::Image(m) if m.config.digest == image.config_digest => Some(Own {
                        digest,
                        raw,
                        manifest: m,
                    }),
                    _ => None,
                }
            })
            .collect()
    }

    /// The layer blobs the image's own manifests name and its layers do not keep.
    pub(crate) fn unkept_blobs(&self, st: &State, image: &Image) -> Vec<Unkept> {
        let mut out = Vec::new();
        for own in self.own_manifests(image) {
            out.extend(self.unkept_in(st, image, &own.digest, &own.manifest));
        }
        out
    }

    fn unkept_in(
        &self,
        st: &State,
        image: &Image,
        digest: &Digest,
        m: &ImageManifest,
    ) -> Vec<Unkept> {
        // A layer missing altogether is `check`'s ImageLayerMissing.
        m.layers
            .iter()
            .zip(&image.layers)
            .filter_map(|(desc, id)| Some((desc, st.layer(id)?)))
            .filter(|(desc, l)| !self.layer_keeps(l, &desc.digest))
            .map(|(desc, l)| Unkept {
                manifest: digest.clone(),
                layer: l.id.clone(),
                blob: desc.digest.clone(),
            })
            .collect()
    }

    /// Mends `st.images[i]` (see the module's doc); returns what was done, or `None`
    /// when it cannot be mended. Runs under the exclusive lock.
    pub(crate) fn mend_image(&self, st: &mut State, i: usize) -> Result<Option<Vec<String>>> {
        let image = st.images[i].clone();
        let mut done = Vec::new();
        let mut missing: Vec<Unkept> = self.unkept_blobs(st, &image);
        // Several manifests may name one blob: it is restored once.
        missing.sort_by(|a, b| (&a.layer, &a.blob).cmp(&(&b.layer, &b.blob)));
        missing.dedup_by(|a, b| (&a.layer, &a.blob) == (&b.layer, &b.blob));
        for u in missing {
            if let Some(how) = self.restore_blob(st, &u.layer, &u.blob)? {
                done.push(format!(
                    "blob {} of layer {}: kept again, {how}",
                    u.blob, u.layer
                ));
            }
        }
        let mut broken: Vec<Unkept> = self.unkept_blobs(st, &image);
        broken.dedup_by(|a, b| a.manifest == b.manifest);
        if broken.is_empty() {
            return Ok(Some(done));
        }
        let bad: Vec<&Digest> = broken.iter().map(|u| &u.manifest).collect();
        let replacement = if bad.contains(&&image.manifest_digest) {
            match self.replacement_manifest(st, &image, &bad)? {
                Some(r) => Some(r),
                None => return Ok(None),
            }
        } else {
            None
        };
        // The dropped manifests' files go once the records are saved (`check`).
        let m = &mut st.images[i];
        m.digests.retain(|d| !bad.contains(&d));
        let keeps = match &replacement {
            Some(raw) => {
                let d = raw.digest();
                m.manifest_digest = d.clone();
                m.manifest_media_type = raw.media_type.clone();
                if !m.digests.contains(&d) {
                    m.digests.push(d);
                }
                format!("; it is served with manifest {} now", m.manifest_digest)
            }
            None => String::new(),
        };
        for u in &broken {
            done.push(format!(
                "manifest {} of image {}: it names blob {}, which the store does not keep{keeps}",
                u.manifest, image.id, u.blob
            ));
        }
        Ok(Some(done))
    }

    /// Keeps `blob` for the primary store's layer `id` again, when the store can
    /// produce it exactly; says how.
    fn restore_blob(&self, st: &mut State, id: &str, blob: &Digest) -> Result<Option<String>> {
        let Some(l) = st.layer(id).filter(|l| l.store == 0) else {
            return Ok(None);
        };
        let Some(diff_id) = l.diff_id.clone() else {
            return Ok(None);
        };
        if let Some(src) = self.kept_for_diff(st, blob, &diff_id) {
            self.attach_blob(st, id, blob, &src)?;
            return Ok(Some("as another layer of the same diff keeps it".into()));
        }
        if *blob != diff_id {
            return Ok(None);
        }
        // The uncompressed diff: any form of it, decompressed, hashes to it.
        let Some(src) = self.any_kept_for_diff(st, &diff_id) else {
            return Ok(None);
        };
        let staging = self.stage_locked()?;
        let tar = staging.dir.join("blob");
        let f = fs::File::create(&tar).at(&tar)?;
        let mut w = std::io::BufWriter::new(f);
        let actual = decompress_into(&src, &mut w)?;
        w.into_inner()
            .map_err(|e| crate::Error::io(&tar, e.into_error()))?
            .sync_all()
            .at(&tar)?;
        if actual != *blob {
            return Ok(None);
        }
        self.attach_blob(st, id, blob, &tar)?;
        Ok(Some(
            "decompressed from the blob the layer was stored from".into(),
        ))
    }

    /// What the image is to be served with instead of its default manifest, which
    /// names blobs nothing keeps: another of its manifests whose blobs are all kept,
    /// else the default one rewritten to name the blobs its layers keep (stored here).
    fn replacement_manifest(
        &self,
        st: &State,
        image: &Image,
        bad: &[&Digest],
    ) -> Result<Option<RawManifest>> {
        let own = self.own_manifests(image);
        if let Some(o) = own.iter().find(|o| !bad.contains(&&o.digest)) {
            return Ok(Some(o.raw.clone()));
        }
        let Some(default) = own.into_iter().find(|o| o.digest == image.manifest_digest) else {
            return Ok(None);
        };
        let Some(raw) = self.rewritten(st, image, default)? else {
            return Ok(None);
        };
        let dir = self.image_dir(image);
        let hex = raw.digest().hex().to_string();
        write_atomic(&dir.join(format!("manifest-{hex}")), &raw.bytes)?;
        write_atomic(
            &dir.join(format!("manifest-{hex}.type")),
            raw.media_type.as_bytes(),
        )?;
        Ok(Some(raw))
    }

    /// `own` with each layer no longer kept replaced by a blob its layer keeps.
    fn rewritten(&self, st: &State, image: &Image, own: Own) -> Result<Option<RawManifest>> {
        let Some(format) = ManifestFormat::of_manifest_type(&own.raw.effective_media_type()) else {
            return Ok(None);
        };
        let mut m = own.manifest;
        if m.layers.len() != image.layers.len() {
            return Ok(None);
        }
        for (desc, id) in m.layers.iter_mut().zip(&image.layers) {
            let Some(l) = st.layer(id) else {
                return Ok(None);
            };
            if self.layer_keeps(l, &desc.digest) {
                continue;
            }
            let Some((digest, path)) = l
                .blob_digests()
                .map(|d| (d, self.blob_path_in(l.store, d)))
                .find(|(_, p)| p.exists())
            else {
                return Ok(None);
            };
            let Ok(media_type) = format.layer_type(sniff(&path)?) else {
                return Ok(None);
            };
            desc.media_type = media_type.to_string();
            desc.digest = digest.clone();
            desc.size = fs::metadata(&path).at(&path)?.len();
            // What described the old blob (a zstd:chunked table, say) does not
            // describe this one.
            desc.annotations = None;
            desc.urls = None;
        }
        let bytes = serde_json::to_vec(&m).map_err(|e| crate::Error::Metadata {
            path: self.image_dir(image),
            message: e.to_string(),
        })?;
        Ok(Some(RawManifest::new(
            bytes,
            own.raw.effective_media_type(),
        )))
    }
}

/// A kept blob's compression, from its first bytes.
fn sniff(path: &std::path::Path) -> Result<Compression> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4);
    fs::File::open(path)
        .and_then(|f| f.take(4).read_to_end(&mut head))
        .at(path)?;
    Ok(Compression::sniff(&head))
}
