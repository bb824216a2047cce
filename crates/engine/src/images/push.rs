//! `push`: a local image copied to a registry (or any transport), by default
//! under its own full name.

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

/// Pushes the local image `image` to `destination` (a name, or
/// TRANSPORT:NAME); without one, to the image's own full name. A local image
/// (`localhost/NAME`) so goes nowhere public, and a short name is never
/// taken for Docker Hub's.
pub fn push(
    store: &Arc<Store>,
    image: &str,
    destination: Option<&str>,
    context: &Context,
    options: &CopyOptions,
    progress: &dyn Progress,
) -> Result<PushReport, ImageError> {
    let src = StorageSource::open(store.clone(), image)?;
    let names = &src.image().names;
    let own = berth_storage::store::candidate_names(image)
        .into_iter()
        .find(|n| names.contains(n))
        .unwrap_or_else(|| image.to_string());
    let dest = destination_name(destination.unwrap_or(&own))?;
    let push_err = |e: berth_image::Error| ImageError::Push(e.to_string());
    let dst = dest.open_destination(context).map_err(push_err)?;
    let report = copy::copy_image(&src, dst.as_ref(), options, progress).map_err(push_err)?;
    let shown = destination.unwrap_or(&own);
    crate::events::image(store, "push", &src.image().id, shown);
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
