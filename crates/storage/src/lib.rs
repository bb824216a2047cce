//! berth-storage: what containers/storage does — image, layer and container stores
//! under one root, the overlay and vfs drivers, layer apply and diff, and the locks
//! that let any number of berth processes share a store without a daemon.
//!
//! The front end's path:
//! - [`StoreOptions`] (filled from `--root`, `--runroot`, `--storage-driver`,
//!   `--storage-opt`) → [`Store::open_with`], which reads berth's storage.conf;
//! - images: [`Store::images`], [`Store::image`], [`Store::tag`], [`Store::untag`],
//!   [`Store::remove_image`], [`Store::image_manifest`], [`Store::image_config`];
//! - layers: [`Store::layers`], [`Store::layer`], [`Store::layer_path`], [`Store::diff`];
//! - containers: [`Store::create_container`], [`Store::containers`], [`Store::mount`],
//!   [`Store::unmount`], [`Store::remove_container`];
//! - [`Store::check`] (`system check`, with repair);
//! - the `containers-storage:` transport: [`transport::open_source`],
//!   [`transport::open_destination`], or [`StorageSource`] / [`StorageDestination`] on an
//!   open store.
//!
//! The library never prints; every error names the thing and the cause.

pub mod archive;
mod blobs;
pub mod check;
pub mod config;
pub mod containers;
pub mod drivers;
pub mod error;
pub mod idmap;
pub mod images;
pub mod layers;
pub mod lock;
mod mend;
pub mod store;
pub mod transport;

pub use check::{CheckReport, Problem};
pub use config::{DriverKind, StoreConfig, StoreOptions};
pub use containers::{Container, ExternalRoot};
pub use error::{Error, Result};
pub use images::Image;
pub use layers::{Layer, LayerBlob};
pub use store::{RemovedImage, Store};
pub use transport::{StorageDestination, StorageReference, StorageSource};
