//! `oci:PATH[:REF]`: an OCI image layout directory.
//! Blobs are not fsynced: like skopeo, berth treats a layout as a user's export, not
//! its store.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::digest::{Algorithm, Digest};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::manifest::{Descriptor, ImageIndex, RawManifest, media};
use crate::transport::{BlobInfo, BlobStream, ImageDestination, ImageSource};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_VERSION: &str = "1.0.0";

#[derive(Serialize, Deserialize)]
struct LayoutFile {
    #[serde(rename = "imageLayoutVersion")]
    image_layout_version: String,
}

/// Reads `index.json` of a layout.
pub fn read_index(root: &Path) -> Result<ImageIndex> {
    let layout = root.join(LAYOUT_FILE);
    let text = std::fs::read(&layout).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::ImageNotFound(format!("oci:{}", root.display()))
        } else {
            Error::io(&layout, e)
        }
    })?;
    let lf: LayoutFile = serde_json::from_slice(&text)
        .map_err(|e| Error::Invalid(format!("{}: {e}", layout.display())))?;
    if !lf.image_layout_version.starts_with("1.") {
        return Err(Error::Unsupported(format!(
            "{}: image layout version {}",
            layout.display(),
            lf.image_layout_version
        )));
    }
    let path = root.join("index.json");
    let bytes = std::fs::read(&path).at(&path)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// Reads a blob that must hash to its digest (manifests and configs).
pub fn read_verified(path: &Path, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
    let f = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::BlobNotFound {
                what: path.display().to_string(),
                digest: digest.clone(),
            }
        } else {
            Error::io(path, e)
        }
    })?;
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes).at(path)?;
    if bytes.len() as u64 > limit {
        return Err(Error::Invalid(format!(
            "{}: larger than {limit} bytes",
            path.display()
        )));
    }
    let actual = digest.of_same_kind(&bytes);
    if actual != *digest {
        return Err(Error::ManifestDigestMismatch {
            expected: digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// Manifests and configs are small; anything bigger is refused as hostile.
pub const MANIFEST_LIMIT: u64 = 4 << 20;

pub struct OciSource {
    root: PathBuf,
    desc: Descriptor,
    name: String,
    /// `--src-shared-blob-dir`: where the blobs are instead of `blobs/`.
    shared_blobs: Option<PathBuf>,
}

/// A blob's file: below the layout's `blobs/`, or in a blob directory several
/// layouts share (skopeo's `--shared-blob-dir`: `DIR/ALGORITHM/HEX`).
fn blob_file(root: &Path, shared: Option<&Path>, digest: &Digest) -> PathBuf {
    let dir = blobs_dir(root, shared).join(digest.algorithm().name());
    dir.join(digest.hex())
}

/// Where a layout's blobs are: its own `blobs/`, or the shared directory.
fn blobs_dir(root: &Path, shared: Option<&Path>) -> PathBuf {
    shared.map_or_else(|| root.join("blobs"), Path::to_path_buf)
}

impl OciSource {
    pub fn open(root: &Path, tag: Option<&str>) -> Result<OciSource> {
        let name = match tag {
            Some(t) => format!("oci:{}:{t}", root.display()),
            None => format!("oci:{}", root.display()),
        };
        let index = read_index(root)?;
        let desc = select(&index, tag, &name)?;
        Ok(OciSource {
            root: root.to_path_buf(),
            desc,
            name,
            shared_blobs: None,
        })
    }

    /// The source reading its blobs from `dir` (none: the layout's own).
    pub fn with_shared_blobs(mut self, dir: Option<PathBuf>) -> OciSource {
        self.shared_blobs = dir;
        self
    }

    fn blob_file(&self, digest: &Digest) -> PathBuf {
        blob_file(&self.root, self.shared_blobs.as_deref(), digest)
    }
}

/// The index entry a tag names, or the only entry when there is no tag.
fn select(index: &ImageIndex, tag: Option<&str>, name: &str) -> Result<Descriptor> {
    match tag {
        Some(t) => index
            .manifests
            .iter()
            .find(|d| ref_name(d) == Some(t))
            .cloned()
            .ok_or_else(|| Error::ImageNotFound(name.to_string())),
        None => match index.manifests.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::ImageNotFound(name.to_string())),
            _ => Err(Error::Invalid(format!(
                "{name}: the layout holds several images; name one with :REF"
            ))),
        },
    }
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations.as_ref()?.get(REF_NAME).map(String::as_str)
}

impl ImageSource for OciSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self, instance: Option<&Digest>) -> Result<RawManifest> {
        let (digest, mt) = match instance {
            Some(d) => (d.clone(), String::new()),
            None => (self.desc.digest.clone(), self.desc.media_type.clone()),
        };
        let bytes = read_verified(&self.blob_file(&digest), &digest, MANIFEST_LIMIT)?;
        Ok(RawManifest::new(bytes, mt))
    }

    fn blob(&self, desc: &Descriptor) -> Result<BlobStream> {
        let path = self.blob_file(&desc.digest);
        let f = fsutil::open_optional(&path)?.ok_or_else(|| Error::BlobNotFound {
            what: self.name.clone(),
            digest: desc.digest.clone(),
        })?;
        let size = f.metadata().at(&path)?.len();
        Ok(BlobStream {
            reader: Box::new(f),
            size: Some(size),
        })
    }

    fn tags(&self) -> Result<Vec<String>> {
        let index = read_index(&self.root)?;
        Ok(index
            .manifests
            .iter()
            .filter_map(|d| ref_name(d).map(str::to_string))
            .collect())
    }
}

pub struct OciDestination {
    root: PathBuf,
    tag: Option<String>,
    top: Mutex<Option<Descriptor>>,
    /// `--dest-shared-blob-dir`: where the blobs go instead of `blobs/`.
    shared_blobs: Option<PathBuf>,
    /// Whether Docker manifests are converted to OCI ones (a user's `oci:`
    /// layout, as skopeo writes one) rather than kept (berth's own lists).
    oci_only: bool,
}

impl OciDestination {
    pub fn open(root: &Path, tag: Option<&str>) -> Result<OciDestination> {
        std::fs::create_dir_all(root.join("blobs/sha256")).at(root)?;
        let layout = root.join(LAYOUT_FILE);
        if !layout.exists() {
            let lf = LayoutFile {
                image_layout_version: LAYOUT_VERSION.into(),
            };
            fsutil::write_public(&layout, &serde_json::to_vec(&lf).expect("json"))?;
        }
        Ok(OciDestination {
            root: root.to_path_buf(),
            tag: tag.map(str::to_string),
            top: Mutex::new(None),
            shared_blobs: None,
            oci_only: false,
        })
    }

    /// The destination storing OCI manifests only: a Docker image copied in
    /// is converted, as skopeo's and podman's `oci:` do, so that every reader
    /// of OCI layouts can read it.
    pub fn oci_types_only(mut self) -> OciDestination {
        self.oci_only = true;
        self
    }

    /// The destination writing its blobs into `dir` (none: the layout's own).
    pub fn with_shared_blobs(mut self, dir: Option<PathBuf>) -> OciDestination {
        self.shared_blobs = dir;
        self
    }

    fn blob_file(&self, digest: &Digest) -> PathBuf {
        blob_file(&self.root, self.shared_blobs.as_deref(), digest)
    }

    fn store(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo> {
        let alg = known.map_or(Algorithm::Sha256, |k| k.digest.algorithm());
        let dir = blobs_dir(&self.root, self.shared_blobs.as_deref()).join(alg.name());
        std::fs::create_dir_all(&dir).at(&dir)?;
        let (tmp, info) = fsutil::stream_to_temp(&dir, reader, known)?;
        let path = self.blob_file(&info.digest);
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(info)
    }
}

impl ImageDestination for OciDestination {
    fn name(&self) -> String {
        match &self.tag {
            Some(t) => format!("oci:{}:{t}", self.root.display()),
            None => format!("oci:{}", self.root.display()),
        }
    }

    fn supported_manifest_types(&self) -> Vec<&'static str> {
        match self.oci_only {
            true => vec![media::OCI_MANIFEST],
            false => vec![media::OCI_MANIFEST, media::DOCKER_MANIFEST],
        }
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        let path = self.blob_file(&desc.digest);
        Ok(std::fs::metadata(&path).is_ok_and(|m| m.len() == desc.size))
    }

    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo> {
        self.store(reader, known)
    }

    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> Result<()> {
        let info = self.store(&mut &manifest.bytes[..], None)?;
        if let Some(want) = instance {
            if *want != info.digest {
                return Err(Error::ManifestDigestMismatch {
                    expected: want.clone(),
                    actual: info.digest,
                });
            }
            return Ok(());
        }
        let mut desc = Descriptor::new(&manifest.effective_media_type(), info.digest, info.size);
        if let Some(t) = &self.tag {
            desc.annotations = Some(BTreeMap::from([(REF_NAME.to_string(), t.clone())]));
        }
        *self.top.lock().expect("lock") = Some(desc);
        Ok(())
    }

    fn commit(&self) -> Result<()> {
        let Some(desc) = self.top.lock().expect("lock").clone() else {
            return Err(Error::Invalid(format!(
                "{}: no manifest was written",
                self.name()
            )));
        };
        let path = self.root.join("index.json");
        let mut index = if path.exists() {
            read_index(&self.root)?
        } else {
            ImageIndex {
                schema_version: 2,
                media_type: Some(media::OCI_INDEX.into()),
                artifact_type: None,
                manifests: Vec::new(),
                subject: None,
                annotations: None,
            }
        };
        match &self.tag {
            Some(t) => index.manifests.retain(|d| ref_name(d) != Some(t)),
            None => index
                .manifests
                .retain(|d| d.digest != desc.digest || ref_name(d).is_some()),
        }
        index.manifests.push(desc);
        let bytes = serde_json::to_vec(&index).expect("json");
        fsutil::write_public(&path, &bytes)
    }
}
