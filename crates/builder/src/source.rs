//! buildah's source images (`builder source create/add/push/pull`): OCI
//! artifacts that carry the sources an image was built from. One is an image
//! manifest whose config has the media type [`CONFIG_MEDIA_TYPE`] and whose
//! layers are the artifacts, each a gzipped tar; it is made in an OCI layout
//! and pushed from there, and pulled only into one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use berth_image::copy::{CopyOptions, Progress};
use berth_image::transport::ImageName;
use berth_image::{Context, Digest, Reference};
use serde_json::{Value, json};

/// The config media type that makes an image a source image.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.source.image.config.v1+json";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// A source image's manifest is small; one that is not is not one.
const MANIFEST_LIMIT: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("creating source image: {0:?} already exists")]
    Exists(String),
    #[error("{0}: not a source image (its config is {1:?})")]
    NotSource(String, String),
    #[error("{0}: {1}")]
    Invalid(String, String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Image(#[from] berth_image::Error),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SourceError + '_ {
    move |e| SourceError::Io(path.display().to_string(), e)
}

/// `source create PATH`: an empty source image in a new OCI layout.
pub fn create(path: &Path, author: Option<&str>, timestamp: bool) -> Result<(), SourceError> {
    if path.exists() {
        return Err(SourceError::Exists(path.display().to_string()));
    }
    let mut config = serde_json::Map::new();
    if timestamp {
        config.insert("created".into(), berth_runtime::state::now_rfc3339().into());
    }
    if let Some(a) = author {
        config.insert("author".into(), a.into());
    }
    std::fs::create_dir_all(path.join("blobs/sha256")).map_err(io(path))?;
    let oci_layout = json!({"imageLayoutVersion": "1.0.0"}).to_string();
    std::fs::write(path.join("oci-layout"), oci_layout).map_err(io(path))?;
    let config = write_blob(path, Value::Object(config).to_string().as_bytes())?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config.0.to_string(), "size": config.1},
        "layers": [],
    });
    set_manifest(path, &manifest, None)
}

/// `source add PATH ARTIFACT`: the artifact (a file, by its name, or a
/// directory's content) as a new gzipped tar layer.
pub fn add(
    path: &Path,
    artifact: &Path,
    annotations: &BTreeMap<String, String>,
) -> Result<(), SourceError> {
    // One add at a time per layout, or one would lose the other's layer. The
    // lock is on `oci-layout`, which no writer replaces (index.json is).
    let layout = path.join("oci-layout");
    let lock = std::fs::File::open(&layout).map_err(io(&layout))?;
    berth_storage::lock::flock_exclusive(&lock).map_err(io(&layout))?;
    let (old, mut manifest) = read_manifest(path)?;
    let meta = std::fs::metadata(artifact).map_err(io(artifact))?;
    // Written to a file as it is made (an artifact may be large), then stored
    // under its digest.
    let blobs = path.join("blobs/sha256");
    let staged = tempfile::tempfile_in(&blobs).map_err(io(&blobs))?;
    let mut gz = flate2::write::GzEncoder::new(staged, flate2::Compression::default());
    {
        let mut tar = tar::Builder::new(&mut gz);
        tar.follow_symlinks(false);
        if meta.is_dir() {
            tar.append_dir_all(".", artifact).map_err(io(artifact))?;
        } else {
            let name = artifact.file_name().ok_or_else(|| {
                SourceError::Invalid(artifact.display().to_string(), "no file name".into())
            })?;
            tar.append_path_with_name(artifact, name)
                .map_err(io(artifact))?;
        }
        tar.finish().map_err(io(artifact))?;
    }
    let mut staged = gz.finish().map_err(io(artifact))?;
    std::io::Seek::rewind(&mut staged).map_err(io(&blobs))?;
    let (digest, size) = store_blob(path, &mut staged)?;
    let mut layer =
        json!({"mediaType": LAYER_MEDIA_TYPE, "digest": digest.to_string(), "size": size});
    if !annotations.is_empty() {
        layer["annotations"] = json!(annotations);
    }
    match manifest["layers"].as_array_mut() {
        Some(layers) => layers.push(layer),
        None => manifest["layers"] = json!([layer]),
    }
    set_manifest(path, &manifest, Some(&old))
}

/// `source push PATH[:TAG] REFERENCE`.
pub fn push(
    layout: &str,
    reference: &Reference,
    context: &Context,
    progress: &dyn Progress,
) -> Result<Digest, SourceError> {
    let src = ImageName::parse(&format!("oci:{layout}"))?;
    transfer(
        layout,
        &src,
        &ImageName::Docker(reference.clone()),
        context,
        progress,
    )
}

/// `source pull REFERENCE PATH[:TAG]`.
pub fn pull(
    reference: &Reference,
    layout: &str,
    context: &Context,
    progress: &dyn Progress,
) -> Result<Digest, SourceError> {
    let dst = ImageName::parse(&format!("oci:{layout}"))?;
    let name = reference.to_string();
    transfer(
        &name,
        &ImageName::Docker(reference.clone()),
        &dst,
        context,
        progress,
    )
}

/// Copies a source image as it is; refused, before the destination is
/// opened (so nothing is written), unless it is one.
fn transfer(
    name: &str,
    from: &ImageName,
    to: &ImageName,
    context: &Context,
    progress: &dyn Progress,
) -> Result<Digest, SourceError> {
    let src = from.open_source(context)?;
    check(name, &src.manifest(None)?.bytes)?;
    let dst = to.open_destination(context)?;
    let report = berth_image::copy::copy_image(
        src.as_ref(),
        dst.as_ref(),
        &CopyOptions::default(),
        progress,
    )?;
    Ok(report.manifest_digest)
}

/// Whether a manifest is a source image's (an image manifest with the
/// source config media type).
fn check(name: &str, manifest: &[u8]) -> Result<(), SourceError> {
    let v: Value = serde_json::from_slice(manifest)
        .map_err(|e| SourceError::Invalid(name.to_string(), format!("manifest: {e}")))?;
    let config = v["config"]["mediaType"].as_str().unwrap_or_default();
    if config != CONFIG_MEDIA_TYPE {
        return Err(SourceError::NotSource(name.to_string(), config.to_string()));
    }
    Ok(())
}

/// The layout's one manifest, checked to be a source image's.
fn read_manifest(path: &Path) -> Result<(Digest, Value), SourceError> {
    let name = path.display().to_string();
    let index = berth_image::transport::oci_layout::read_index(path)?;
    let [desc] = index.manifests.as_slice() else {
        return Err(SourceError::Invalid(
            name,
            format!("{} manifests in its index, not one", index.manifests.len()),
        ));
    };
    let bytes = berth_image::transport::oci_layout::read_verified(
        &blob_path(path, &desc.digest),
        &desc.digest,
        MANIFEST_LIMIT,
    )?;
    check(&name, &bytes)?;
    let v =
        serde_json::from_slice(&bytes).map_err(|e| SourceError::Invalid(name, e.to_string()))?;
    Ok((desc.digest.clone(), v))
}

/// Writes the manifest, points the index at it and drops the one it replaces.
fn set_manifest(path: &Path, manifest: &Value, old: Option<&Digest>) -> Result<(), SourceError> {
    let (digest, size) = write_blob(path, manifest.to_string().as_bytes())?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": MANIFEST_MEDIA_TYPE, "digest": digest.to_string(), "size": size}],
    });
    let mut tmp = tempfile::NamedTempFile::new_in(path).map_err(io(path))?;
    tmp.write_all(index.to_string().as_bytes())
        .map_err(io(path))?;
    tmp.persist(path.join("index.json"))
        .map_err(|e| SourceError::Io(path.display().to_string(), e.error))?;
    if let Some(old) = old.filter(|o| **o != digest) {
        let _ = std::fs::remove_file(blob_path(path, old));
    }
    Ok(())
}

fn write_blob(path: &Path, bytes: &[u8]) -> Result<(Digest, u64), SourceError> {
    store_blob(path, &mut &bytes[..])
}

/// Stores what `reader` gives under its digest: a new file of its own
/// (never one a link points at), renamed into place whole.
fn store_blob(path: &Path, reader: &mut dyn std::io::Read) -> Result<(Digest, u64), SourceError> {
    let blobs = path.join("blobs/sha256");
    let (tmp, info) = berth_image::fsutil::stream_to_temp(&blobs, reader, None)?;
    let file = blob_path(path, &info.digest);
    tmp.persist(&file)
        .map_err(|e| SourceError::Io(file.display().to_string(), e.error))?;
    Ok((info.digest, info.size))
}

fn blob_path(path: &Path, digest: &Digest) -> std::path::PathBuf {
    path.join("blobs")
        .join(digest.algorithm().name())
        .join(digest.hex())
}
