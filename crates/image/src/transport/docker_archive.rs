//! `docker-archive:PATH[:REF|:@N]`: the `docker save` format — `manifest.json` listing
//! each image's config and uncompressed layer tars. Read in place; written through a
//! staging directory packed into the archive at commit.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::blob::sniff;
use crate::digest::{Algorithm, Digest, DigestingReader};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{self, staging_dir};
use crate::manifest::{
    Compression, Descriptor, ImageConfig, ImageManifest, Manifest, RawManifest, media,
};
use crate::reference::Reference;
use crate::transport::oci_archive::pack_dir;
use crate::transport::oci_layout::MANIFEST_LIMIT;
use crate::transport::tar_index::TarIndex;
use crate::transport::{
    ArchiveRef, BlobInfo, BlobStream, ImageDestination, ImageSource, LayerCompression,
};

const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";

#[derive(Debug, Serialize, Deserialize)]
struct ArchiveEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

pub struct DockerArchiveSource {
    archive: TarIndex,
    name: String,
    manifest: RawManifest,
    files: HashMap<Digest, String>,
}

impl DockerArchiveSource {
    pub fn open(path: &Path, which: Option<&ArchiveRef>) -> Result<DockerArchiveSource> {
        let name = format!("docker-archive:{}", path.display());
        let archive = TarIndex::open(path)?;
        let bad = |why: String| Error::Invalid(format!("{name}: {why}"));
        let bytes = archive
            .read_small("manifest.json", MANIFEST_LIMIT)?
            .ok_or_else(|| bad("no manifest.json in the archive".into()))?;
        let entries: Vec<ArchiveEntry> =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("manifest.json: {e}")))?;
        let entry = select(&entries, which, &name)?;
        let config = archive
            .read_small(&entry.config, MANIFEST_LIMIT)?
            .ok_or_else(|| bad(format!("{} is missing", entry.config)))?;
        let cfg: ImageConfig =
            serde_json::from_slice(&config).map_err(|e| bad(format!("image config: {e}")))?;
        if cfg.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(bad("the config's diff IDs do not match the layers".into()));
        }
        let config_digest = Digest::sha256_of(&config);
        let mut files = HashMap::from([(config_digest.clone(), entry.config.clone())]);
        let mut layers = Vec::new();
        for (file, diff_id) in entry.layers.iter().zip(&cfg.rootfs.diff_ids) {
            let desc = describe_layer(&archive, file, diff_id, &name)?;
            files.insert(desc.digest.clone(), file.clone());
            layers.push(desc);
        }
        let m = ImageManifest {
            schema_version: 2,
            media_type: Some(media::DOCKER_MANIFEST.into()),
            artifact_type: None,
            config: Descriptor::new(media::DOCKER_CONFIG, config_digest, config.len() as u64),
            layers,
            subject: None,
            annotations: None,
        };
        let manifest = RawManifest::new(
            serde_json::to_vec(&m).expect("json"),
            media::DOCKER_MANIFEST,
        );
        Ok(DockerArchiveSource {
            archive,
            name,
            manifest,
            files,
        })
    }
}

/// Every name (RepoTags) the archive's images carry, in order: skopeo's
/// `list-tags docker-archive:PATH`.
pub fn repo_tags(path: &Path) -> Result<Vec<String>> {
    let name = format!("docker-archive:{}", path.display());
    let archive = TarIndex::open(path)?;
    let bytes = archive
        .read_small("manifest.json", MANIFEST_LIMIT)?
        .ok_or_else(|| Error::Invalid(format!("{name}: no manifest.json in the archive")))?;
    let entries: Vec<ArchiveEntry> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Invalid(format!("{name}: manifest.json: {e}")))?;
    Ok(entries
        .into_iter()
        .flat_map(|e| e.repo_tags.unwrap_or_default())
        .collect())
}

fn select<'a>(
    entries: &'a [ArchiveEntry],
    which: Option<&ArchiveRef>,
    name: &str,
) -> Result<&'a ArchiveEntry> {
    match which {
        None if entries.len() == 1 => Ok(&entries[0]),
        None if entries.is_empty() => Err(Error::ImageNotFound(name.to_string())),
        None => Err(Error::Invalid(format!(
            "{name}: the archive holds {} images; name one with :REF or :@N",
            entries.len()
        ))),
        Some(ArchiveRef::Index(i)) => entries
            .get(*i)
            .ok_or_else(|| Error::ImageNotFound(format!("{name}:@{i}"))),
        Some(ArchiveRef::Name(r)) => entries
            .iter()
            .find(|e| {
                e.repo_tags
                    .iter()
                    .flatten()
                    .any(|t| Reference::parse(t).is_ok_and(|x| x == *r))
            })
            .ok_or_else(|| Error::ImageNotFound(format!("{name}:{r}"))),
    }
}

/// A layer file's descriptor: an uncompressed tar is named by its diff ID (checked as
/// it streams); a compressed one has to be hashed here.
fn describe_layer(
    archive: &TarIndex,
    file: &str,
    diff_id: &Digest,
    name: &str,
) -> Result<Descriptor> {
    let (reader, size) = archive
        .open_file(file)?
        .ok_or_else(|| Error::Invalid(format!("{name}: layer {file} is missing")))?;
    let (compression, reader) = sniff(reader).at(archive.path())?;
    if compression == Compression::None {
        return Ok(Descriptor::new(DOCKER_LAYER_TAR, diff_id.clone(), size));
    }
    let mut hashing = DigestingReader::new(reader, Algorithm::Sha256);
    std::io::copy(&mut hashing, &mut std::io::sink()).at(archive.path())?;
    let (digest, _) = hashing.finish();
    let mt = match compression {
        Compression::Zstd => media::OCI_LAYER_ZSTD,
        _ => media::DOCKER_LAYER_GZIP,
    };
    Ok(Descriptor::new(mt, digest, size))
}

impl ImageSource for DockerArchiveSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self, instance: Option<&Digest>) -> Result<RawManifest> {
        match instance {
            None => Ok(self.manifest.clone()),
            Some(d) => Err(Error::BlobNotFound {
                what: self.name.clone(),
                digest: d.clone(),
            }),
        }
    }

    fn blob(&self, desc: &Descriptor) -> Result<BlobStream> {
        let not_found = || Error::BlobNotFound {
            what: self.name.clone(),
            digest: desc.digest.clone(),
        };
        let file = self.files.get(&desc.digest).ok_or_else(not_found)?;
        let (reader, size) = self.archive.open_file(file)?.ok_or_else(not_found)?;
        Ok(BlobStream {
            reader,
            size: Some(size),
        })
    }
}

pub struct DockerArchiveDestination {
    target: PathBuf,
    reference: Mutex<Vec<Reference>>,
    staging: tempfile::TempDir,
    manifest: Mutex<Option<ImageManifest>>,
    /// Images committed so far, each with its names (RepoTags).
    entries: Mutex<Vec<(ImageManifest, Vec<Reference>)>>,
    /// Several images: `commit` only records one; `finish` writes the archive.
    multi: bool,
}

impl DockerArchiveDestination {
    pub fn open(path: &Path, reference: Option<Reference>) -> Result<DockerArchiveDestination> {
        Self::open_with(path, reference.into_iter().collect(), false)
    }

    /// [`open`](Self::open) for a copy, which as containers/image's never
    /// replaces an archive that holds something ("doesn't support modifying
    /// existing images"); an empty file may be written.
    pub fn open_new(path: &Path, reference: Option<Reference>) -> Result<DockerArchiveDestination> {
        let held = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0);
        if held {
            let name = reference
                .as_ref()
                .map(|r| format!(":{r}"))
                .unwrap_or_default();
            return Err(Error::Invalid(format!(
                "initializing destination docker-archive:{}{name}: docker-archive doesn't support modifying existing images",
                path.display()
            )));
        }
        Self::open(path, reference)
    }

    /// An archive of several images (`save -m`): copy each after `set_names`, then
    /// call `finish`.
    pub fn open_multi(path: &Path) -> Result<DockerArchiveDestination> {
        Self::open_with(path, Vec::new(), true)
    }

    fn open_with(
        path: &Path,
        names: Vec<Reference>,
        multi: bool,
    ) -> Result<DockerArchiveDestination> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let staging = staging_dir(dir, ".berth-docker-archive-")?;
        Ok(DockerArchiveDestination {
            target: path.to_path_buf(),
            reference: Mutex::new(names),
            staging,
            manifest: Mutex::new(None),
            entries: Mutex::new(Vec::new()),
            multi,
        })
    }

    /// The names (RepoTags) of the next image committed.
    pub fn set_names(&self, names: Vec<Reference>) {
        *self.reference.lock().expect("lock") = names;
    }

    /// Writes the archive of every image committed so far.
    pub fn finish(&self) -> Result<()> {
        let entries = std::mem::take(&mut *self.entries.lock().expect("lock"));
        if entries.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no image was written",
                self.name()
            )));
        }
        let out = self.staging.path().join("archive");
        std::fs::create_dir(&out).at(&out)?;
        let mut list = Vec::new();
        for (m, names) in &entries {
            let config_name = format!("{}.json", m.config.digest.hex());
            place_blob(&self.blob_path(&m.config.digest), &out.join(&config_name))?;
            let mut layers = Vec::new();
            for l in &m.layers {
                let name = format!("{}.tar", l.digest.hex());
                place_blob(&self.blob_path(&l.digest), &out.join(&name))?;
                layers.push(name);
            }
            list.push(ArchiveEntry {
                config: config_name,
                repo_tags: Some(names.iter().map(|r| r.to_string()).collect()),
                layers,
            });
        }
        fsutil::write_atomic(
            &out.join("manifest.json"),
            &serde_json::to_vec(&list).expect("json"),
        )?;
        pack_dir(&out, &self.target)
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.staging.path().join(format!("blob-{}", d.hex()))
    }
}

impl ImageDestination for DockerArchiveDestination {
    fn name(&self) -> String {
        format!("docker-archive:{}", self.target.display())
    }

    fn supported_manifest_types(&self) -> Vec<&'static str> {
        vec![media::DOCKER_MANIFEST]
    }

    fn supports_index(&self) -> bool {
        false
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Decompress
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self.blob_path(&desc.digest).exists())
    }

    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo> {
        let (tmp, info) = fsutil::stream_to_temp(self.staging.path(), reader, known)?;
        let path = self.blob_path(&info.digest);
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(info)
    }

    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> Result<()> {
        if instance.is_some() {
            return Err(Error::Unsupported(format!(
                "{}: cannot store a multi-architecture index",
                self.name()
            )));
        }
        let Manifest::Image(m) = manifest.parse()? else {
            return Err(Error::Unsupported(format!(
                "{}: cannot store an index",
                self.name()
            )));
        };
        *self.manifest.lock().expect("lock") = Some(m);
        Ok(())
    }

    fn commit(&self) -> Result<()> {
        let m =
            self.manifest.lock().expect("lock").take().ok_or_else(|| {
                Error::Invalid(format!("{}: no manifest was written", self.name()))
            })?;
        let names = self.reference.lock().expect("lock").clone();
        self.entries.lock().expect("lock").push((m, names));
        if self.multi { Ok(()) } else { self.finish() }
    }
}

/// Moves a staged blob into the archive tree once; images sharing it find it there.
fn place_blob(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        return Ok(());
    }
    move_blob(from, to)
}

fn move_blob(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).at(from)
}
