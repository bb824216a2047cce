//! `save` and `load`: images to and from docker archives, OCI archives and
//! directories, as podman writes and reads them.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use berth_image::copy::{self, Progress};
use berth_image::manifest::ManifestFormat;
use berth_image::transport::ImageName;
use berth_image::transport::docker_archive::DockerArchiveDestination;
use berth_image::{Context, Reference};
use berth_storage::store::{candidate_names, normalize_name};
use berth_storage::{StorageSource, Store};

use super::ImageError;
use crate::pull::{PullOptions, pull_from};

/// `save --format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaveFormat {
    #[default]
    DockerArchive,
    OciArchive,
    OciDir,
    DockerDir,
}

impl FromStr for SaveFormat {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<SaveFormat, ImageError> {
        Ok(match s {
            "docker-archive" => SaveFormat::DockerArchive,
            "oci-archive" => SaveFormat::OciArchive,
            "oci-dir" => SaveFormat::OciDir,
            "docker-dir" => SaveFormat::DockerDir,
            _ => {
                return Err(ImageError::InvalidArgument(format!(
                    "save: unknown format {s:?} (docker-archive, oci-archive, oci-dir, docker-dir)"
                )));
            }
        })
    }
}

impl SaveFormat {
    fn name(self) -> &'static str {
        match self {
            SaveFormat::DockerArchive => "docker-archive",
            SaveFormat::OciArchive => "oci-archive",
            SaveFormat::OciDir => "oci-dir",
            SaveFormat::DockerDir => "docker-dir",
        }
    }
}

/// Where and how `save` writes.
#[derive(Clone, Debug, Default)]
pub struct SaveOptions {
    pub format: SaveFormat,
    /// The file (or directory, for the *-dir formats).
    pub output: PathBuf,
    /// Several images into one docker archive, each under the name given.
    pub multi_image: bool,
    /// Layers written uncompressed (the OCI formats, podman's `--uncompressed`).
    pub uncompressed: bool,
}

fn archive_err(e: impl std::fmt::Display) -> ImageError {
    ImageError::Archive(e.to_string())
}

/// Saves `images`: one image (further arguments are extra names in a docker
/// archive), or with `multi_image` several into one docker archive.
pub fn save(
    store: &Arc<Store>,
    images: &[String],
    o: &SaveOptions,
    progress: &dyn Progress,
) -> Result<(), ImageError> {
    save_images(store, images, o, progress)?;
    let path = o.output.display().to_string();
    for name in images {
        if let Ok(img) = store.image(name) {
            crate::events::image(store, "save", &img.id, &path);
        }
    }
    Ok(())
}

/// [`save`] into a private temporary file, returned open at its start for a
/// front end to send on (stdout, a connection) once the archive is whole; the
/// file is already gone from the file system. `o.output` is not used, and a
/// format that makes a directory is refused.
pub fn save_stream(
    store: &Arc<Store>,
    images: &[String],
    o: &SaveOptions,
    progress: &dyn Progress,
) -> Result<File, ImageError> {
    if matches!(o.format, SaveFormat::OciDir | SaveFormat::DockerDir) {
        return Err(ImageError::InvalidArgument(format!(
            "save: --format {} makes a directory: it needs an output path",
            o.format.name()
        )));
    }
    let dir = tempfile::tempdir().map_err(archive_err)?;
    let o = SaveOptions {
        output: dir.path().join("archive.tar"),
        ..o.clone()
    };
    save(store, images, &o, progress)?;
    File::open(&o.output).map_err(archive_err)
}

fn save_images(
    store: &Arc<Store>,
    images: &[String],
    o: &SaveOptions,
    progress: &dyn Progress,
) -> Result<(), ImageError> {
    let Some(first) = images.first() else {
        return Err(ImageError::InvalidArgument(
            "save: an image is required".into(),
        ));
    };
    if o.multi_image && o.format != SaveFormat::DockerArchive {
        return Err(ImageError::InvalidArgument(
            "save: --multi-image-archive is only for --format docker-archive".into(),
        ));
    }
    if o.format == SaveFormat::DockerArchive {
        return save_docker_archive(store, images, o, progress);
    }
    if images.len() > 1 {
        return Err(ImageError::InvalidArgument(format!(
            "save: --format {} takes one image",
            o.format.name()
        )));
    }
    let src = StorageSource::open(store.clone(), first)?;
    // An OCI archive or layout names the image as podman's do (the ref name
    // is its full name), unless it was saved by ID.
    let tag = saved_name(src.image(), first);
    let path = o.output.clone();
    let dest = match o.format {
        SaveFormat::OciArchive => ImageName::OciArchive { path, tag },
        SaveFormat::OciDir => ImageName::Oci { path, tag },
        _ => ImageName::Dir(path),
    };
    let dst = dest
        .open_destination(&Context::default())
        .map_err(archive_err)?;
    let opts = copy::CopyOptions {
        format: (o.format == SaveFormat::DockerDir).then_some(ManifestFormat::DockerV2S2),
        decompress: o.uncompressed,
        ..Default::default()
    };
    copy::copy_image(&src, dst.as_ref(), &opts, progress).map_err(archive_err)?;
    Ok(())
}

/// The name an image is saved under: the one the user gave, when it is one of
/// the image's; none when given by ID (it loads as <none>, as podman's); else
/// its first name.
fn saved_name(img: &berth_storage::Image, given: &str) -> Option<String> {
    candidate_names(given)
        .into_iter()
        .find(|n| img.names.contains(n))
        .or_else(|| (!img.matches_id(given)).then(|| img.names.first().cloned())?)
}

/// `docker save`'s format: one image whose further arguments are extra names, or
/// with `multi_image` several images, each under the name given.
fn save_docker_archive(
    store: &Arc<Store>,
    images: &[String],
    o: &SaveOptions,
    progress: &dyn Progress,
) -> Result<(), ImageError> {
    let dst = if o.multi_image {
        DockerArchiveDestination::open_multi(&o.output)
    } else {
        DockerArchiveDestination::open(&o.output, None)
    }
    .map_err(archive_err)?;
    let saved = if o.multi_image { images } else { &images[..1] };
    for image in saved {
        let src = StorageSource::open(store.clone(), image)?;
        let named = saved_name(src.image(), image);
        let mut tags: Vec<String> = named.into_iter().collect();
        if !o.multi_image {
            for extra in &images[1..] {
                tags.push(normalize_name(extra)?);
            }
        }
        let refs = tags
            .iter()
            .map(|t| t.parse::<Reference>().map_err(archive_err))
            .collect::<Result<Vec<_>, _>>()?;
        dst.set_names(refs);
        copy::copy_image(&src, &dst, &copy::CopyOptions::default(), progress)
            .map_err(archive_err)?;
    }
    if o.multi_image {
        dst.finish().map_err(archive_err)?;
    }
    Ok(())
}

/// Loads every image of a docker or OCI archive; returns what was loaded:
/// each name, or `sha256:ID` for an image without one.
pub fn load(
    store: &Arc<Store>,
    input: &Path,
    progress: &dyn Progress,
) -> Result<Vec<String>, ImageError> {
    let mut loaded = Vec::new();
    for (src_name, names) in archive_images(input)? {
        let src = ImageName::parse(&src_name).map_err(archive_err)?;
        // An archive's names are docker's: a short one is Docker Hub's, as
        // podman load reads it (not a local name).
        let names: Vec<String> = names
            .iter()
            .map(|n| Reference::parse(n).map_or_else(|_| n.clone(), |r| r.to_string()))
            .collect();
        let first = names.first().map(String::as_str);
        let id = pull_from(store, &src, first, &PullOptions::default(), progress)
            .map_err(archive_err)?;
        for n in names.iter().skip(1) {
            store.tag(&id, n)?;
        }
        if names.is_empty() {
            loaded.push(format!("sha256:{id}"));
        }
        loaded.extend(names);
    }
    crate::events::image(store, "loadfromarchive", "", &input.display().to_string());
    Ok(loaded)
}

/// [`load`] from a stream (stdin, a request's body), kept first in a private
/// temporary file: an archive is read more than once.
pub fn load_from(
    store: &Arc<Store>,
    input: &mut dyn Read,
    progress: &dyn Progress,
) -> Result<Vec<String>, ImageError> {
    let dir = tempfile::tempdir().map_err(archive_err)?;
    let path = dir.path().join("archive.tar");
    let mut file = File::create(&path).map_err(archive_err)?;
    std::io::copy(input, &mut file).map_err(ImageError::ArchiveInput)?;
    drop(file);
    load(store, &path, progress)
}

/// The names a docker archive holding one image gives it (docker's short
/// names as Docker Hub's, as `load` reads them); none for anything else.
pub(crate) fn single_image_names(input: &Path) -> Vec<String> {
    match archive_images(input).ok().as_deref() {
        Some([(_, names)]) => names
            .iter()
            .map(|n| Reference::parse(n).map_or_else(|_| n.clone(), |r| r.to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The name an image of an OCI archive is pulled under, as libimage's pull
/// gives it: the one its index's descriptor carries (containerd's image name,
/// else the ref name), a short one local (`latest` → `localhost/latest:latest`);
/// none when the descriptor names nothing or the archive cannot be read.
pub(crate) fn oci_archive_name(input: &Path, tag: Option<&str>) -> Option<String> {
    let index = archive_member(input, "index.json").ok()??;
    let v: serde_json::Value = serde_json::from_slice(&index).ok()?;
    let manifests = v["manifests"].as_array()?;
    let ref_name =
        |m: &serde_json::Value| m["annotations"]["org.opencontainers.image.ref.name"].clone();
    let chosen = match tag {
        Some(t) => manifests.iter().find(|m| ref_name(m) == t)?,
        None => match manifests.as_slice() {
            [one] => one,
            _ => return None,
        },
    };
    let a = &chosen["annotations"];
    let name = a["io.containerd.image.name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| a["org.opencontainers.image.ref.name"].as_str())?;
    normalize_name(name).ok()
}

/// Each image of the archive, as a source name and the names it is to get.
fn archive_images(input: &Path) -> Result<Vec<(String, Vec<String>)>, ImageError> {
    let path = input.display().to_string();
    // podman's words, which scripts match, then what was wrong.
    let bad = |e: std::io::Error| {
        ImageError::Archive(format!(
            "{path}: payload does not match any of the supported image formats: oci-archive, docker-archive: {e}"
        ))
    };
    // An OCI archive has an oci-layout file; anything else is read as docker's format.
    if archive_member(input, "oci-layout").map_err(bad)?.is_some() {
        let refs = oci_archive_refs(input).map_err(bad)?;
        if refs.is_empty() {
            return Ok(vec![(format!("oci-archive:{path}"), Vec::new())]);
        }
        return Ok(refs
            .into_iter()
            .map(|r| {
                // A ref that is a whole image name names the image; a bare tag does not.
                let names = if r.contains('/') {
                    vec![r.clone()]
                } else {
                    Vec::new()
                };
                (format!("oci-archive:{path}:{r}"), names)
            })
            .collect());
    }
    let entries = docker_archive_tags(input).map_err(bad)?;
    if entries.is_empty() {
        return Err(ImageError::Archive(format!(
            "{path}: the archive holds no image"
        )));
    }
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(i, tags)| (format!("docker-archive:{path}:@{i}"), tags))
        .collect())
}

/// A small member of a tar archive (manifest.json, index.json, oci-layout), read
/// whole; `None` when the archive has no such member.
fn archive_member(path: &Path, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    let mut ar = tar::Archive::new(std::fs::File::open(path)?);
    for e in ar.entries()? {
        let mut e = e?;
        let p = e.path()?.to_string_lossy().into_owned();
        if p.trim_start_matches("./") == name {
            let mut v = Vec::new();
            (&mut e).take(4 << 20).read_to_end(&mut v)?;
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The RepoTags of each image of a docker archive, in manifest.json's order.
fn docker_archive_tags(path: &Path) -> std::io::Result<Vec<Vec<String>>> {
    let Some(m) = archive_member(path, "manifest.json")? else {
        return Err(std::io::Error::other(
            "no manifest.json: not a docker archive",
        ));
    };
    let v: serde_json::Value = serde_json::from_slice(&m)
        .map_err(|e| std::io::Error::other(format!("manifest.json: {e}")))?;
    let entries = v
        .as_array()
        .ok_or_else(|| std::io::Error::other("manifest.json: not a list of images"))?;
    Ok(entries
        .iter()
        .map(|e| {
            e["RepoTags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect())
}

/// The ref names in an OCI archive's index.json.
fn oci_archive_refs(path: &Path) -> std::io::Result<Vec<String>> {
    let Some(i) = archive_member(path, "index.json")? else {
        return Err(std::io::Error::other("no index.json: not an OCI archive"));
    };
    let v: serde_json::Value = serde_json::from_slice(&i)
        .map_err(|e| std::io::Error::other(format!("index.json: {e}")))?;
    Ok(v["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect())
}
