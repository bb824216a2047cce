//! `dir:PATH`: containers/image's directory layout — `manifest.json`, one file per blob
//! named by its digest's hex, `HEX.manifest.json` for the instances of an index.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::digest::{Algorithm, Digest};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::manifest::{Descriptor, RawManifest};
use crate::signature::lookaside;
use crate::transport::oci_layout::{MANIFEST_LIMIT, read_verified};
use crate::transport::{BlobInfo, BlobStream, ImageDestination, ImageSource};

const VERSION_FILE: &str = "version";
const VERSION: &str = "Directory Transport Version: 1.1\n";

fn blob_file(root: &Path, d: &Digest) -> PathBuf {
    match d.algorithm() {
        Algorithm::Sha256 => root.join(d.hex()),
        other => root.join(format!("{}-{}", other.name(), d.hex())),
    }
}

fn instance_manifest(root: &Path, d: &Digest) -> PathBuf {
    root.join(format!("{}.manifest.json", d.hex()))
}

/// `signature-N`, or `HEX.signature-N` for an image of an index (N from 1).
fn signature_file(root: &Path, manifest: &Digest, instance: bool, n: usize) -> PathBuf {
    if instance {
        root.join(format!("{}.signature-{n}", manifest.hex()))
    } else {
        root.join(format!("signature-{n}"))
    }
}

pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn open(root: &Path) -> Result<DirSource> {
        if !root.join("manifest.json").exists() {
            return Err(Error::ImageNotFound(format!("dir:{}", root.display())));
        }
        Ok(DirSource {
            root: root.to_path_buf(),
        })
    }
}

impl ImageSource for DirSource {
    fn name(&self) -> String {
        format!("dir:{}", self.root.display())
    }

    fn manifest(&self, instance: Option<&Digest>) -> Result<RawManifest> {
        let bytes = match instance {
            Some(d) => read_verified(&instance_manifest(&self.root, d), d, MANIFEST_LIMIT)?,
            None => {
                let p = self.root.join("manifest.json");
                let f = std::fs::File::open(&p).at(&p)?;
                let mut v = Vec::new();
                f.take(MANIFEST_LIMIT).read_to_end(&mut v).at(&p)?;
                v
            }
        };
        Ok(RawManifest::new(bytes, ""))
    }

    fn signatures(&self, manifest: &Digest, instance: bool) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for n in 1..=lookaside::MAX_SIGNATURES {
            let p = signature_file(&self.root, manifest, instance, n);
            let Some(f) = fsutil::open_optional(&p)? else {
                break;
            };
            let mut v = Vec::new();
            f.take(lookaside::MAX_SIGNATURE_SIZE)
                .read_to_end(&mut v)
                .at(&p)?;
            out.push(v);
        }
        Ok(out)
    }

    fn blob(&self, desc: &Descriptor) -> Result<BlobStream> {
        let path = blob_file(&self.root, &desc.digest);
        let f = fsutil::open_optional(&path)?.ok_or_else(|| Error::BlobNotFound {
            what: self.name(),
            digest: desc.digest.clone(),
        })?;
        let size = f.metadata().at(&path)?.len();
        Ok(BlobStream {
            reader: Box::new(f),
            size: Some(size),
        })
    }
}

pub struct DirDestination {
    root: PathBuf,
}

impl DirDestination {
    /// Opens `root` for writing: a new or empty directory, or an earlier `dir:` image,
    /// whose content is replaced.
    pub fn open(root: &Path) -> Result<DirDestination> {
        std::fs::create_dir_all(root).at(root)?;
        let mut entries = std::fs::read_dir(root).at(root)?.peekable();
        if entries.peek().is_some() {
            let version = std::fs::read_to_string(root.join(VERSION_FILE)).unwrap_or_default();
            if !version.starts_with("Directory Transport Version") {
                return Err(Error::Invalid(format!(
                    "dir:{}: directory is not empty and holds no dir: image",
                    root.display()
                )));
            }
            for e in entries {
                let p = e.at(root)?.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).at(&p)?;
                } else {
                    std::fs::remove_file(&p).at(&p)?;
                }
            }
        }
        fsutil::write_public(&root.join(VERSION_FILE), VERSION.as_bytes())?;
        Ok(DirDestination {
            root: root.to_path_buf(),
        })
    }
}

impl ImageDestination for DirDestination {
    fn name(&self) -> String {
        format!("dir:{}", self.root.display())
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        let p = blob_file(&self.root, &desc.digest);
        Ok(std::fs::metadata(p).is_ok_and(|m| m.len() == desc.size))
    }

    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo> {
        let (tmp, info) = fsutil::stream_to_temp(&self.root, reader, known)?;
        let path = blob_file(&self.root, &info.digest);
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(info)
    }

    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> Result<()> {
        let path = match instance {
            Some(d) => instance_manifest(&self.root, d),
            None => self.root.join("manifest.json"),
        };
        fsutil::write_public(&path, &manifest.bytes)
    }

    fn supports_signatures(&self) -> Result<()> {
        Ok(())
    }

    fn put_signatures(&self, sigs: &[Vec<u8>], manifest: &Digest, instance: bool) -> Result<()> {
        for (i, sig) in sigs.iter().enumerate() {
            fsutil::write_public(&signature_file(&self.root, manifest, instance, i + 1), sig)?;
        }
        Ok(())
    }

    fn commit(&self) -> Result<()> {
        Ok(())
    }
}
