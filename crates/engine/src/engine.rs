//! The engine API (libpod with podman's domain layer): one value opened from the
//! store options, under every front end. The CLI, the REST API and the CRI ask
//! it for `images()`, `containers()` … and get typed reports back; none of them
//! holds behaviour another would have to copy.

use std::sync::Arc;

use berth_image::copy::Progress;
use berth_storage::{Store, StoreOptions};

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

    /// Images: pulling, and later the rest of what `images`, `rmi`, `push` do.
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
}
