//! `push`: a local image copied to a registry (or any transport), by default
//! under its own full name.

use std::path::PathBuf;
use std::sync::Arc;

use berth_image::copy::{self, CopyOptions, Progress};
use berth_image::transport::ImageName;
use berth_image::{Context, Digest, Reference};
use berth_storage::{StorageSource, Store};

use super::ImageError;

/// What a push did.
#[derive(Clone, Debug)]
pub struct PushReport {
    /// The digest of the manifest the destination got.
    pub manifest_digest: Digest,
}

/// Where a push goes, how, and what it leaves behind.
#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    /// A name, or TRANSPORT:NAME; None: the image's own full name.
    pub destination: Option<String>,
    /// How the image is copied: format, compression, signing.
    pub copy: CopyOptions,
    /// A file the pushed manifest's digest is written to (`--digestfile`).
    pub digest_file: Option<PathBuf>,
    /// A manifest list [`push_any`] pushes: its images too (`--all`).
    pub all: bool,
    /// A manifest list [`push_any`] pushes: removed once pushed (`--rm`).
    pub rm: bool,
}

/// Pushes `name`: the local image of that name, or where no image has it,
/// the manifest list of that name (buildah's push takes them) as `manifest
/// push` does, in `copy.format`, its signatures removed with
/// `copy.remove_signatures`.
pub fn push_any(
    store: &Arc<Store>,
    name: &str,
    options: &PushOptions,
    context: &Context,
    progress: &dyn Progress,
) -> Result<PushReport, ImageError> {
    if store.image(name).is_err()
        && let Ok(list) = crate::manifests::find(store, name)
    {
        let o = crate::manifests::PushOptions {
            destination: options.destination.clone(),
            all: options.all,
            digest_file: options.digest_file.clone(),
            rm: options.rm,
            format: options.copy.format,
            remove_signatures: options.copy.remove_signatures,
        };
        let manifest_digest = crate::manifests::push_list(store, &list, &o, context, progress)?;
        return Ok(PushReport { manifest_digest });
    }
    push(store, name, options, context, progress)
}

/// Pushes the local image `image` to `options.destination`; without one, to
/// the image's own full name. A local image (`localhost/NAME`) so goes
/// nowhere public, and a short name is never taken for Docker Hub's.
pub fn push(
    store: &Arc<Store>,
    image: &str,
    options: &PushOptions,
    context: &Context,
    progress: &dyn Progress,
) -> Result<PushReport, ImageError> {
    let destination = options.destination.as_deref();
    let src = StorageSource::open(store.clone(), image)?;
    let names = &src.image().names;
    let own = berth_storage::store::candidate_names(image)
        .into_iter()
        .find(|n| names.contains(n))
        .unwrap_or_else(|| image.to_string());
    let dest = destination_name(destination.unwrap_or(&own))?;
    let push_err = |e: berth_image::Error| ImageError::Push(e.to_string());
    let dst = dest.open_destination(context).map_err(push_err)?;
    let report = copy::copy_image(&src, dst.as_ref(), &options.copy, progress).map_err(push_err)?;
    let shown = destination.unwrap_or(&own);
    crate::events::image(store, "push", &src.image().id, shown);
    if let Some(path) = &options.digest_file {
        crate::outfile::write(path, report.manifest_digest.to_string()).map_err(|source| {
            ImageError::DigestFile {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(PushReport {
        manifest_digest: report.manifest_digest,
    })
}

/// TRANSPORT:NAME, or else a registry reference.
fn destination_name(s: &str) -> Result<ImageName, ImageError> {
    match ImageName::parse(s) {
        Ok(n) => Ok(n),
        Err(_) => Reference::parse(s)
            .map(ImageName::Docker)
            .map_err(|e| ImageError::InvalidArgument(e.to_string())),
    }
}
