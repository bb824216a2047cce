//! berth-storage: what containers/storage does — image, layer and container stores
//! under one root, the overlay and vfs drivers, layer apply and diff, and the locks
//! that let any number of berth processes share a store without a daemon.

pub mod archive;
pub mod check;
pub mod error;

pub use error::{Error, Result};
pub mod config;
pub mod drivers;
pub mod lock;

pub use config::{DriverKind, StoreConfig, StoreOptions};
pub mod containers;
pub mod images;
pub mod layers;
pub mod store;

pub use containers::Container;
pub use images::Image;
pub use layers::Layer;
pub use store::{RemovedImage, Store};
pub mod transport;

pub use check::{CheckReport, Problem};
pub use transport::{StorageDestination, StorageReference, StorageSource};
