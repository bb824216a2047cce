//! berth-image: what containers/image does — image references, transports behind one
//! source/destination interface, manifests and indexes, and the copy engine.

pub mod digest;
pub mod reference;

pub use digest::{Algorithm, Digest, DigestError};
pub use reference::{Reference, ReferenceError};
pub mod auth;
pub mod blob;
pub mod config_edit;
pub mod context;
pub mod error;
pub mod http;
pub mod inspect;
pub mod manifest;
pub mod registries;
pub mod transport;

pub use context::Context;
pub use error::{Error, Result};
pub use manifest::{Descriptor, Manifest, RawManifest};
pub use transport::{ImageDestination, ImageName, ImageSource};
pub mod copy;
pub mod fsutil;
pub mod signature;
pub mod sync;
