//! `system prune`: the four prunes in podman's order, one report.

use berth_storage::Store;
use serde::Serialize;

use crate::Engine;
use crate::images::{ImageError, PruneOptions, Pruned};
use crate::network::NetworkError;
use crate::prune_filters::PruneFilters;
use crate::volumes::VolumeError;

/// What `system prune` removes: stopped containers, dangling images (with
/// `all`, every image no container uses), with `volumes` the volumes no
/// container uses, and the networks no container uses; only what passes the
/// filters (`until=`, `label=`, `label!=`).
#[derive(Clone, Debug, Default)]
pub struct SystemPruneOptions {
    all: bool,
    volumes: bool,
    filters: Vec<String>,
    /// `filters` as the container prune judges them.
    container_filters: PruneFilters,
}

impl SystemPruneOptions {
    /// The options, the filters checked (as `container prune` takes them)
    /// before anything is removed.
    pub fn new(all: bool, volumes: bool, filters: Vec<String>) -> crate::error::Result<Self> {
        Ok(SystemPruneOptions {
            container_filters: crate::lifecycle::prune_filters(&filters)?,
            all,
            volumes,
            filters,
        })
    }
}

/// What a `system prune` removed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SystemPruneReport {
    /// Container IDs.
    pub containers: Vec<String>,
    pub images: Vec<Pruned>,
    /// Volume names (none unless asked for).
    pub volumes: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
}

/// The prune that failed; `E` is the container prune's error.
#[derive(Debug, thiserror::Error)]
pub enum SystemPruneError<E: std::fmt::Display + std::fmt::Debug> {
    #[error("{0}")]
    Containers(E),
    #[error(transparent)]
    Images(ImageError),
    #[error(transparent)]
    Volumes(VolumeError),
    #[error(transparent)]
    Networks(NetworkError),
}

/// A `system prune` stopped by one prune's error: what the ones before it
/// removed, and the error.
#[derive(Debug)]
pub struct SystemPruneFailure<E: std::fmt::Display + std::fmt::Debug> {
    pub done: SystemPruneReport,
    pub error: SystemPruneError<E>,
}

impl Engine {
    /// `system prune`: the containers `containers` prunes (the engine's own
    /// [`crate::lifecycle::prune`], or the builder's, which also takes the
    /// working containers killed builds left), then the images, the volumes
    /// and the networks, each as its own prune does. The first error stops
    /// it.
    pub fn system_prune<E: std::fmt::Display + std::fmt::Debug>(
        &self,
        o: &SystemPruneOptions,
        containers: impl FnOnce(&Store, &PruneFilters) -> Result<Vec<String>, E>,
    ) -> Result<SystemPruneReport, Box<SystemPruneFailure<E>>> {
        let mut done = SystemPruneReport::default();
        match self.system_prune_into(o, containers, &mut done) {
            Ok(()) => Ok(done),
            Err(error) => Err(Box::new(SystemPruneFailure { done, error })),
        }
    }

    fn system_prune_into<E: std::fmt::Display + std::fmt::Debug>(
        &self,
        o: &SystemPruneOptions,
        containers: impl FnOnce(&Store, &PruneFilters) -> Result<Vec<String>, E>,
        done: &mut SystemPruneReport,
    ) -> Result<(), SystemPruneError<E>> {
        done.containers =
            containers(self.store(), &o.container_filters).map_err(SystemPruneError::Containers)?;
        let images = PruneOptions {
            all: o.all,
            filters: o.filters.clone(),
        };
        done.images = self
            .images()
            .prune(&images)
            .map_err(SystemPruneError::Images)?;
        if o.volumes {
            done.volumes = self
                .volumes()
                .prune(&o.filters)
                .map_err(SystemPruneError::Volumes)?;
        }
        done.networks = self
            .networks()
            .prune(&o.filters)
            .map_err(SystemPruneError::Networks)?;
        Ok(())
    }
}
