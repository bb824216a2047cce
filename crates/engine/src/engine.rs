//! The engine API (libpod with podman's domain layer): one value opened from the
//! store options, under every front end. The CLI, the REST API and the CRI ask
//! it for `images()`, `containers()` … and get typed reports back; none of them
//! holds behaviour another would have to copy.

use std::sync::Arc;

use berth_image::copy::Progress;
use berth_storage::{Store, StoreOptions};

use crate::images::{
    ImageError, ImageInspect, ImageSummary, ListOptions, PruneOptions, Pruned, Removal,
    RemoveOptions,
};
use crate::pull::{PullError, PullEvent, PullOptions, PullReport};

/// The engine over one store.
#[derive(Clone)]
pub struct Engine {
    store: Arc<Store>,
}

impl Engine {
    /// Opens the store the options name (and recovers what a killed process left).
    pub fn open(options: &StoreOptions) -> Result<Engine, berth_storage::Error> {
        Store::open_with(options).map(|s| Engine::with_store(Arc::new(s)))
    }

    /// An engine over a store already open.
    pub fn with_store(store: Arc<Store>) -> Engine {
        Engine { store }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Images: what `pull`, `images`, `rmi`, `image prune`, `tag` … do.
    pub fn images(&self) -> Images<'_> {
        Images { engine: self }
    }
}

/// The engine's image operations.
pub struct Images<'a> {
    engine: &'a Engine,
}

impl Images<'_> {
    /// Pulls `name` under the pull policy, registries.conf and the trust policy.
    pub fn pull(
        &self,
        name: &str,
        options: &PullOptions,
        progress: &dyn Progress,
        events: &mut dyn FnMut(PullEvent),
    ) -> Result<PullReport, PullError> {
        crate::pull::pull(&self.engine.store, name, options, progress, events)
    }

    /// The images, one entry per name, filtered and sorted (`images`).
    pub fn list(&self, options: &ListOptions) -> Result<Vec<ImageSummary>, ImageError> {
        crate::images::list(&self.engine.store, options)
    }

    /// Removes images by name or ID (`rmi`): one result per image, in order.
    pub fn remove(
        &self,
        names: &[String],
        options: RemoveOptions,
    ) -> Result<Vec<Result<Removal, ImageError>>, ImageError> {
        crate::images::remove(&self.engine.store, names, options)
    }

    /// Removes the images nothing uses (`image prune`).
    pub fn prune(&self, options: &PruneOptions) -> Result<Vec<Pruned>, ImageError> {
        crate::images::prune(&self.engine.store, options)
    }

    /// An image as `image inspect` shows it.
    pub fn inspect(&self, name: &str) -> Result<ImageInspect, ImageError> {
        crate::images::inspect(&self.engine.store, name)
    }

    pub fn tag(&self, image: &str, names: &[String]) -> Result<(), ImageError> {
        crate::images::tag(&self.engine.store, image, names)
    }

    pub fn untag(&self, image: &str, names: &[String]) -> Result<(), ImageError> {
        crate::images::untag(&self.engine.store, image, names)
    }

    pub fn exists(&self, name: &str) -> Result<bool, ImageError> {
        crate::images::exists(&self.engine.store, name)
    }

    /// The image's history, newest first.
    pub fn history(&self, name: &str) -> Result<Vec<crate::images::HistoryEntry>, ImageError> {
        crate::images::history(&self.engine.store, name)
    }

    /// Imports a root filesystem tarball as a one-layer image; returns its ID.
    pub fn import(
        &self,
        input: &mut dyn std::io::Read,
        options: &crate::images::ImportOptions,
    ) -> Result<String, ImageError> {
        crate::images::import(&self.engine.store, input, options)
    }

    /// Pushes a local image (to its own name without a destination).
    pub fn push(
        &self,
        image: &str,
        destination: Option<&str>,
        context: &berth_image::Context,
        options: &berth_image::copy::CopyOptions,
        progress: &dyn Progress,
    ) -> Result<crate::images::PushReport, ImageError> {
        crate::images::push(
            &self.engine.store,
            image,
            destination,
            context,
            options,
            progress,
        )
    }

    /// Saves images to an archive or directory.
    pub fn save(
        &self,
        images: &[String],
        options: &crate::images::SaveOptions,
        progress: &dyn Progress,
    ) -> Result<(), ImageError> {
        crate::images::save(&self.engine.store, images, options, progress)
    }

    /// Loads every image of an archive; returns the names (or IDs) loaded.
    pub fn load(
        &self,
        input: &std::path::Path,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, ImageError> {
        crate::images::load(&self.engine.store, input, progress)
    }
}
