//! The `containers-storage:[DRIVER@GRAPHROOT+RUNROOT]NAME` transport: berth-image's
//! [`ImageSource`] and [`ImageDestination`] over the store.
//!
//! Destination: each layer blob streams straight into [`crate::archive::apply_layer`]
//! in a staging directory of its own (overlay layers do not depend on their parent,
//! so the copy engine's parallel `put_blob` calls decompress and apply in parallel,
//! one thread per layer), while the bytes as they came are written beside it; `commit`
//! then checks each diff ID against the config, renames the layers into place under
//! their chain IDs and records the image, all under the store's exclusive lock. vfs
//! layers need their parent's tree, so vfs stages the blob and applies at commit.
//!
//! Source: serves the manifests and config kept with the image and the compressed
//! blobs kept in `blobs/`, so `copy containers-storage:x docker://…` pushes the
//! digests that were pulled. Keeping the blob (rather than tar-split metadata) costs
//! its size on disk but is exact for any compressor, and simple to verify.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_image::digest::{Algorithm, DigestingWriter};
use berth_image::manifest::{Compression, Descriptor, ImageIndex, Manifest, Platform, RawManifest};
use berth_image::transport::{BlobInfo, BlobStream, ImageDestination, ImageSource};
use berth_image::{Digest, Error as ImageError, Result as ImageResult};

use crate::archive::{self, WhiteoutMode};
use crate::config::{DriverKind, StoreOptions};
use crate::error::{Error, IoContext, Result};
use crate::images::Image;
use crate::store::{NewImage, Pending, Store, normalize_name};

/// Largest non-layer blob (configs) held in memory.
const MAX_CONFIG: u64 = 16 << 20;

/// A parsed `containers-storage:` name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageReference {
    /// `DRIVER@` of a `[…]` store specifier.
    pub driver: Option<String>,
    /// `GRAPHROOT` of a `[…]` store specifier.
    pub graph_root: Option<PathBuf>,
    /// `+RUNROOT` of a `[…]` store specifier.
    pub run_root: Option<PathBuf>,
    /// The image's name or ID; empty for an untagged destination.
    pub name: String,
}

impl StorageReference {
    /// Parses what follows `containers-storage:`.
    pub fn parse(s: &str) -> Result<StorageReference> {
        let mut r = StorageReference::default();
        let rest = if let Some(spec) = s.strip_prefix('[') {
            let (spec, rest) = spec
                .split_once(']')
                .ok_or_else(|| Error::Invalid(format!("containers-storage:{s}: missing ']'")))?;
            let (driver, roots) = match spec.split_once('@') {
                Some((d, r)) => (Some(d.to_string()), r),
                None => (None, spec),
            };
            let (graph, run) = match roots.split_once('+') {
                Some((g, r)) => (g, Some(PathBuf::from(r))),
                None => (roots, None),
            };
            r.driver = driver.filter(|d| !d.is_empty());
            r.graph_root = Some(PathBuf::from(graph));
            r.run_root = run;
            rest
        } else {
            s
        };
        r.name = rest.to_string();
        Ok(r)
    }

    /// The caller's options with this name's store specifier laid over them.
    pub fn store_options(&self, base: &StoreOptions) -> StoreOptions {
        let mut o = base.clone();
        if self.graph_root.is_some() {
            o.graph_root = self.graph_root.clone();
        }
        if self.run_root.is_some() {
            o.run_root = self.run_root.clone();
        }
        if self.driver.is_some() {
            o.driver = self.driver.clone();
        }
        o
    }
}

fn image_err(e: Error) -> ImageError {
    match e {
        Error::Image(e) => e,
        Error::ImageNotFound(n) => ImageError::ImageNotFound(format!("containers-storage:{n}")),
        Error::Io { path, source } => ImageError::io(path, source),
        other => ImageError::Invalid(other.to_string()),
    }
}

fn display_name(store: &Store, name: &str) -> String {
    let c = store.config();
    format!(
        "containers-storage:[{}@{}+{}]{name}",
        c.driver.name(),
        c.graph_root.display(),
        c.run_root.display()
    )
}

/// Where an image is written into the store.
pub struct StorageDestination {
    store: Arc<Store>,
    names: Vec<String>,
    pending: Mutex<HashMap<Digest, Pending>>,
    blobs: Mutex<HashMap<Digest, Vec<u8>>>,
    manifests: Mutex<(Option<RawManifest>, Vec<RawManifest>)>,
}

impl StorageDestination {
    /// A destination tagging the image `name` (none: stored by ID only).
    pub fn new(store: Arc<Store>, name: Option<&str>) -> Result<StorageDestination> {
        let names = match name.filter(|n| !n.is_empty()) {
            Some(n) => vec![normalize_name(n)?],
            None => Vec::new(),
        };
        Ok(StorageDestination {
            store,
            names,
            pending: Mutex::new(HashMap::new()),
            blobs: Mutex::new(HashMap::new()),
            manifests: Mutex::new((None, Vec::new())),
        })
    }

    fn put_layer(
        &self,
        head: Vec<u8>,
        reader: &mut dyn Read,
        known: Option<&BlobInfo>,
    ) -> Result<(Digest, u64)> {
        let staging = self.store.stage()?;
        let blob = staging.dir.join("blob");
        let f = File::create(&blob).at(&blob)?;
        let mut keep = BufWriter::with_capacity(1 << 20, f);
        let stream = Cursor::new(head).chain(reader);
        let (digest, size, applied) = match self.store.driver() {
            DriverKind::Overlay => {
                let diff = staging.dir.join("diff");
                fs::create_dir(&diff).at(&diff)?;
                let mut opts = self.store.apply_options(WhiteoutMode::Overlay);
                opts.checksum = true;
                // The copy engine's reader verifies the digest it announces.
                opts.known_digest = known.map(|k| k.digest.clone());
                let rep = archive::apply_layer(stream, &diff, &opts, Some(&mut keep))?;
                let sum = rep.tree_checksum.clone().expect("asked for");
                (
                    rep.compressed_digest.clone(),
                    rep.compressed_size,
                    Some((rep, sum)),
                )
            }
            DriverKind::Vfs => {
                let mut w = DigestingWriter::new(&mut keep, Algorithm::Sha256);
                let mut s = stream;
                io::copy(&mut s, &mut w).map_err(Error::Stream)?;
                let (_, d, n) = w.finish();
                (d, n, None)
            }
        };
        keep.into_inner()
            .map_err(|e| Error::io(&blob, e.into_error()))?;
        self.pending.lock().expect("lock").insert(
            digest.clone(),
            Pending {
                staging,
                applied,
                blob,
            },
        );
        Ok((digest, size))
    }
}

/// Whether the first bytes of a blob look like a layer (compressed, or a tar header).
fn looks_like_layer(head: &[u8]) -> bool {
    match Compression::sniff(head) {
        Compression::Gzip | Compression::Zstd => true,
        Compression::None => {
            head.len() >= 512 && (&head[257..262] == b"ustar" || head.iter().all(|b| *b == 0))
        }
    }
}

impl ImageDestination for StorageDestination {
    fn name(&self) -> String {
        display_name(&self.store, self.names.first().map_or("", String::as_str))
    }

    fn has_blob(&self, desc: &Descriptor) -> ImageResult<bool> {
        if !berth_image::manifest::is_layer_type(&desc.media_type) {
            return Ok(false);
        }
        // Pin a blob the store has by linking it into a staging entry of our own, so
        // that a concurrent removal cannot take it away before commit.
        let Some(src) = self.store.blob_path(&desc.digest).map_err(image_err)? else {
            return Ok(false);
        };
        let staging = self.store.stage().map_err(image_err)?;
        let blob = staging.dir.join("blob");
        if fs::hard_link(&src, &blob).is_err() && fs::copy(&src, &blob).is_err() {
            // Removed meanwhile: the copy sends it.
            return Ok(false);
        }
        self.pending.lock().expect("lock").insert(
            desc.digest.clone(),
            Pending {
                staging,
                applied: None,
                blob,
            },
        );
        Ok(true)
    }

    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> ImageResult<BlobInfo> {
        let mut head = Vec::with_capacity(512);
        reader
            .take(512)
            .read_to_end(&mut head)
            .map_err(ImageError::Stream)?;
        let (digest, size) = if looks_like_layer(&head) {
            self.put_layer(head, reader, known).map_err(image_err)?
        } else {
            let mut all = head;
            reader
                .take(MAX_CONFIG + 1)
                .read_to_end(&mut all)
                .map_err(ImageError::Stream)?;
            if all.len() as u64 > MAX_CONFIG {
                return Err(ImageError::Unsupported(format!(
                    "{}: a non-layer blob larger than {MAX_CONFIG} bytes",
                    self.name()
                )));
            }
            let d = Digest::sha256_of(&all);
            let n = all.len() as u64;
            self.blobs.lock().expect("lock").insert(d.clone(), all);
            (d, n)
        };
        if let Some(k) = known
            && k.digest != digest
        {
            self.pending.lock().expect("lock").remove(&digest);
            return Err(ImageError::DigestMismatch {
                expected: k.digest.clone(),
                actual: digest,
            });
        }
        Ok(BlobInfo { digest, size })
    }

    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> ImageResult<()> {
        let mut m = self.manifests.lock().expect("lock");
        match instance {
            None => m.0 = Some(manifest.clone()),
            Some(_) => m.1.push(manifest.clone()),
        }
        Ok(())
    }

    fn commit(&self) -> ImageResult<()> {
        let (top, instances) = {
            let m = self.manifests.lock().expect("lock");
            (m.0.clone(), m.1.clone())
        };
        let top = top
            .ok_or_else(|| ImageError::Invalid(format!("{}: no manifest written", self.name())))?;
        let (manifest, others) = if top.is_index() {
            let Manifest::Index(index) = top.parse()? else {
                unreachable!("an index parses as one")
            };
            let want = pick_instance(&index)?;
            let inst = instances
                .iter()
                .find(|m| m.digest() == want)
                .cloned()
                .ok_or_else(|| {
                    ImageError::Unsupported(format!(
                        "{}: the index was copied without this platform's image",
                        self.name()
                    ))
                })?;
            let mut others = vec![top.clone()];
            others.extend(instances.into_iter().filter(|m| m.digest() != want));
            (inst, others)
        } else {
            (top, instances)
        };
        let Manifest::Image(im) = manifest.parse()? else {
            return Err(ImageError::Invalid("expected an image manifest".into()));
        };
        let config = match self.blobs.lock().expect("lock").get(&im.config.digest) {
            Some(c) => c.clone(),
            None => {
                let existing = self
                    .store
                    .image(&format!("sha256:{}", im.config.digest.hex()))
                    .map_err(image_err)?;
                self.store.image_config(&existing).map_err(image_err)?
            }
        };
        let v: serde_json::Value = serde_json::from_slice(&config)
            .map_err(|e| ImageError::Invalid(format!("image config {}: {e}", im.config.digest)))?;
        let diff_ids: Vec<Digest> = match v.pointer("/rootfs/diff_ids") {
            Some(ids) => serde_json::from_value(ids.clone()).map_err(|e| {
                ImageError::Invalid(format!("image config {}: {e}", im.config.digest))
            })?,
            None => Vec::new(),
        };
        let layer_blobs: Vec<(Digest, u64)> = im
            .layers
            .iter()
            .map(|l| (l.digest.clone(), l.size))
            .collect();
        let new = NewImage {
            names: self.names.clone(),
            config,
            config_digest: im.config.digest.clone(),
            manifest,
            other_manifests: others,
            layer_blobs,
            diff_ids,
        };
        let mut pending = self.pending.lock().expect("lock");
        if !pending.is_empty() {
            // Staged layers and blobs reach the disk before any record names them.
            self.store.sync_filesystem().map_err(image_err)?;
        }
        self.store
            .commit_image(new, &mut pending)
            .map_err(image_err)?;
        pending.clear();
        Ok(())
    }
}

fn pick_instance(index: &ImageIndex) -> ImageResult<Digest> {
    Ok(index.choose(&Platform::host())?.digest.clone())
}

/// An image in the store, read as a source.
pub struct StorageSource {
    store: Arc<Store>,
    image: Image,
    name: String,
}

impl StorageSource {
    /// The image named `name` (name, ID or ID prefix).
    pub fn open(store: Arc<Store>, name: &str) -> Result<StorageSource> {
        let image = store.image(name)?;
        Ok(StorageSource {
            name: display_name(&store, name),
            store,
            image,
        })
    }

    pub fn image(&self) -> &Image {
        &self.image
    }
}

impl ImageSource for StorageSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self, instance: Option<&Digest>) -> ImageResult<RawManifest> {
        self.store
            .image_manifest(&self.image, instance)
            .map_err(image_err)
    }

    fn blob(&self, desc: &Descriptor) -> ImageResult<BlobStream> {
        if desc.digest == self.image.config_digest {
            let c = self.store.image_config(&self.image).map_err(image_err)?;
            let size = Some(c.len() as u64);
            return Ok(BlobStream {
                reader: Box::new(Cursor::new(c)),
                size,
            });
        }
        // Any blob a layer keeps (the one it was stored from, or another form of the
        // same diff an image's manifest names): blobs are content-addressed.
        if let Some(p) = self.store.blob_path(&desc.digest).map_err(image_err)? {
            let f = File::open(&p).map_err(|e| ImageError::io(&p, e))?;
            let size = f.metadata().ok().map(|m| m.len());
            return Ok(BlobStream {
                reader: Box::new(f),
                size,
            });
        }
        Err(ImageError::BlobNotFound {
            what: self.name.clone(),
            digest: desc.digest.clone(),
        })
    }
}

/// Opens `containers-storage:REST` for reading: the store `base` describes, with any
/// `[DRIVER@ROOT+RUNROOT]` of the name laid over it.
pub fn open_source(base: &StoreOptions, rest: &str) -> Result<Box<dyn ImageSource>> {
    let r = StorageReference::parse(rest)?;
    let store = Arc::new(Store::open_with(&r.store_options(base))?);
    Ok(Box::new(StorageSource::open(store, &r.name)?))
}

/// Opens `containers-storage:REST` for writing (an empty name stores the image by ID).
pub fn open_destination(base: &StoreOptions, rest: &str) -> Result<Box<dyn ImageDestination>> {
    let r = StorageReference::parse(rest)?;
    let store = Arc::new(Store::open_with(&r.store_options(base))?);
    let name = (!r.name.is_empty()).then_some(r.name.as_str());
    Ok(Box::new(StorageDestination::new(store, name)?))
}

/// Opens any image for reading: `containers-storage:` through the store
/// `base` describes, every other transport as berth-image opens it.
pub fn open_any_source(
    base: &StoreOptions,
    name: &berth_image::ImageName,
    ctx: &berth_image::Context,
) -> Result<Box<dyn ImageSource>> {
    match name {
        berth_image::ImageName::ContainersStorage(rest) => open_source(base, rest),
        other => Ok(other.open_source(ctx)?),
    }
}

/// Opens any image for writing, as [`open_any_source`] reads.
pub fn open_any_destination(
    base: &StoreOptions,
    name: &berth_image::ImageName,
    ctx: &berth_image::Context,
) -> Result<Box<dyn ImageDestination>> {
    match name {
        berth_image::ImageName::ContainersStorage(rest) => open_destination(base, rest),
        other => Ok(other.open_destination(ctx)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_specifiers() {
        let r = StorageReference::parse("[overlay@/tmp/r+/tmp/rr]anchors/large:latest").unwrap();
        assert_eq!(r.driver.as_deref(), Some("overlay"));
        assert_eq!(r.graph_root, Some(PathBuf::from("/tmp/r")));
        assert_eq!(r.run_root, Some(PathBuf::from("/tmp/rr")));
        assert_eq!(r.name, "anchors/large:latest");
        let r = StorageReference::parse("[/tmp/r]x").unwrap();
        assert_eq!((r.driver, r.run_root, r.name.as_str()), (None, None, "x"));
        assert_eq!(StorageReference::parse("alpine").unwrap().name, "alpine");
        assert!(StorageReference::parse("[/tmp/r").is_err());
    }
}
