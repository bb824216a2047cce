//! berth-image: what containers/image does — image references, transports behind one
//! source/destination interface, manifests and indexes, and the copy engine.

pub mod digest;
pub mod reference;

pub use digest::{Algorithm, Digest, DigestError};
pub use reference::{Reference, ReferenceError};
