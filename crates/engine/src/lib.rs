//! berth's container engine: turns an image in the store into an OCI bundle with
//! podman's defaults and runs it through berth's runtime library.
//!
//! This first part runs a container in the foreground (`berth run [--rm]`); the
//! per-container monitor, detached containers, logs and networks come next (issue 5).

pub mod run;
pub mod spec;

pub use run::{RunError, RunOptions, run};
