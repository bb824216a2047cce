//! berth's OCI runtime: creates, starts and tears down containers from an OCI
//! bundle, with runc's command-line semantics (the `berth-oci` binary is a thin
//! front end over this library).

#[macro_use]
pub mod error;
pub mod capabilities;
pub mod cgroups;
pub mod create;
pub mod delete;
pub mod devices_bpf;
pub mod exec;
pub mod hooks;
pub mod idmap;
pub mod log;
pub mod mountopts;
pub mod ops;
pub mod pid;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod selfexe;
pub mod spec;
pub mod state;
pub mod sys;
pub mod template;
pub mod userns;

pub use create::{CreateOptions, Mode, Runtime};
pub use error::{Error, Result};
