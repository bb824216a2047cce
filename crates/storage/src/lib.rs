//! berth-storage: what containers/storage does — image, layer and container stores
//! under one root, the overlay and vfs drivers, layer apply and diff, and the locks
//! that let any number of berth processes share a store without a daemon.

pub mod archive;
pub mod error;

pub use error::{Error, Result};
