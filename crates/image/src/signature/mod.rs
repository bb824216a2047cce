//! Image signatures: GPG "simple signing" payloads, their storage beside
//! registries (lookaside) and in `dir:` images, and the trust policy that
//! decides which images may be used.

pub mod gpg;
pub mod lookaside;
pub mod payload;
pub mod policy;
pub mod trust;
pub mod verify;

pub use gpg::Gpg;
pub use payload::Payload;
pub use policy::{Policy, PolicyImage};
pub use verify::{
    Rejected, StandaloneError, StandaloneVerify, Verified, sign_standalone, verify_signature,
    verify_standalone,
};
