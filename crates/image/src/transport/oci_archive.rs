//! `oci-archive:PATH[:REF]`: an OCI image layout in a tar file.
//! Read in place; written as a layout in a temp directory beside the target and
//! packed into the archive at commit, so a failed copy leaves no archive behind.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::staging_dir;
use crate::manifest::{Descriptor, ImageIndex, RawManifest};
use crate::transport::oci_layout::{MANIFEST_LIMIT, OciDestination, REF_NAME};
use crate::transport::tar_index::TarIndex;
use crate::transport::{BlobInfo, BlobStream, ImageDestination, ImageSource};

pub struct OciArchiveSource {
    archive: TarIndex,
    desc: Descriptor,
    name: String,
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}

impl OciArchiveSource {
    pub fn open(path: &Path, tag: Option<&str>) -> Result<OciArchiveSource> {
        let name = match tag {
            Some(t) => format!("oci-archive:{}:{t}", path.display()),
            None => format!("oci-archive:{}", path.display()),
        };
        let archive = TarIndex::open(path)?;
        if !archive.contains("oci-layout") {
            return Err(Error::Invalid(format!(
                "{name}: no oci-layout file in the archive"
            )));
        }
        let bytes = archive
            .read_small("index.json", MANIFEST_LIMIT)?
            .ok_or_else(|| Error::Invalid(format!("{name}: no index.json in the archive")))?;
        let index: ImageIndex = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{name}: index.json: {e}")))?;
        let desc = match tag {
            Some(t) => index.manifests.iter().find(|d| {
                d.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .is_some_and(|r| r == t)
            }),
            None if index.manifests.len() == 1 => index.manifests.first(),
            None if index.manifests.is_empty() => None,
            None => {
                return Err(Error::Invalid(format!(
                    "{name}: the archive holds several images; name one with :REF"
                )));
            }
        }
        .cloned()
        .ok_or_else(|| Error::ImageNotFound(name.clone()))?;
        Ok(OciArchiveSource {
            archive,
            desc,
            name,
        })
    }
}

impl ImageSource for OciArchiveSource {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self, instance: Option<&Digest>) -> Result<RawManifest> {
        let (d, mt) = match instance {
            Some(d) => (d.clone(), String::new()),
            None => (self.desc.digest.clone(), self.desc.media_type.clone()),
        };
        let bytes = self
            .archive
            .read_small(&blob_name(&d), MANIFEST_LIMIT)?
            .ok_or_else(|| Error::BlobNotFound {
                what: self.name.clone(),
                digest: d.clone(),
            })?;
        let actual = d.of_same_kind(&bytes);
        if actual != d {
            return Err(Error::ManifestDigestMismatch {
                expected: d,
                actual,
            });
        }
        Ok(RawManifest::new(bytes, mt))
    }

    fn blob(&self, desc: &Descriptor) -> Result<BlobStream> {
        let (reader, size) = self
            .archive
            .open_file(&blob_name(&desc.digest))?
            .ok_or_else(|| Error::BlobNotFound {
                what: self.name.clone(),
                digest: desc.digest.clone(),
            })?;
        Ok(BlobStream {
            reader,
            size: Some(size),
        })
    }
}

pub struct OciArchiveDestination {
    target: PathBuf,
    staging: tempfile::TempDir,
    layout: OciDestination,
}

impl OciArchiveDestination {
    pub fn open(path: &Path, tag: Option<&str>) -> Result<OciArchiveDestination> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let staging = staging_dir(dir, ".berth-oci-archive-")?;
        let layout = OciDestination::open(staging.path(), tag)?.oci_types_only();
        Ok(OciArchiveDestination {
            target: path.to_path_buf(),
            staging,
            layout,
        })
    }
}

/// Packs a directory tree into a tar file at `target`, atomically.
pub fn pack_dir(dir: &Path, target: &Path) -> Result<()> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = crate::fsutil::archive_temp(parent, ".berth-archive-")?;
    {
        let out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        let mut b = tar::Builder::new(crate::copy::Stoppable(out));
        b.mode(tar::HeaderMode::Deterministic);
        b.follow_symlinks(false);
        append_sorted(&mut b, dir, Path::new(""))?;
        b.into_inner()
            .and_then(|mut w| std::io::Write::flush(&mut w))
            .at(target)?;
    }
    tmp.persist(target)
        .map_err(|e| Error::io(target, e.error))?;
    Ok(())
}

fn append_sorted<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &Path,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .at(dir)?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = prefix.join(e.file_name());
        let ft = e.file_type().at(&path)?;
        if ft.is_dir() {
            b.append_dir(&name, &path).at(&path)?;
            append_sorted(b, &path, &name)?;
        } else if ft.is_file() {
            b.append_path_with_name(&path, &name).at(&path)?;
        }
    }
    Ok(())
}

impl ImageDestination for OciArchiveDestination {
    fn name(&self) -> String {
        format!("oci-archive:{}", self.target.display())
    }

    fn supported_manifest_types(&self) -> Vec<&'static str> {
        self.layout.supported_manifest_types()
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        self.layout.has_blob(desc)
    }

    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo> {
        self.layout.put_blob(reader, known)
    }

    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> Result<()> {
        self.layout.put_manifest(manifest, instance)
    }

    fn commit(&self) -> Result<()> {
        self.layout.commit()?;
        pack_dir(self.staging.path(), &self.target)
    }
}
