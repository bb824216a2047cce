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

/// The OCI image-spec version berth reads and writes (indexes' and manifests'
/// `artifactType` and `subject` are 1.1's).
pub const SPEC_VERSION: &str = "1.1.0";
pub use error::{Error, Result};
pub use manifest::{Descriptor, Manifest, RawManifest};
pub use transport::{ImageDestination, ImageName, ImageSource};
pub mod copy;
pub mod fsutil;
pub mod signature;
pub mod sync;
