//! berth's container engine: turns an image in the store into an OCI bundle with
//! podman's defaults and runs it through berth's runtime library, in the
//! foreground or detached under a monitor process (conmon's role).

pub mod access;
pub mod annotations;
pub mod attach;
pub mod autoupdate;
pub mod changes;
pub mod clone;
pub mod commit;
pub mod conf;
pub mod container;
pub mod container_filters;
pub mod copy;
pub mod deadline;
pub mod df;
pub mod duration;
mod engine;
pub mod env;
pub mod error;
pub mod events;
pub mod exec;
pub mod flagform;
pub mod health;
mod image_mounts;
pub mod images;
pub mod init;
pub mod input;
pub mod journald;
pub mod kube;
pub mod leases;
pub mod lifecycle;
pub mod login;
pub mod logs;
pub mod manifests;
pub mod monitor;
pub mod names;
pub mod namespaces;
pub mod network;
pub mod oci;
pub mod outfile;
pub mod passwd;
pub mod pods;
pub mod prune_filters;
pub mod pull;
pub mod resources;
pub mod run;
pub mod secrets;
pub mod security;
pub mod spec;
pub mod stats;
pub mod stdio;
mod sys;
pub mod system;
pub mod system_prune;
pub mod systemd;
pub mod targets;
pub mod terminal;
pub mod time;
pub mod top;
pub mod transfer;
pub mod units;
mod userns_view;
pub mod views;
pub mod volumes;

pub use engine::{Containers, Engine, Images, MonitorArgv, Networks, Pods, Volumes};
pub use error::Error;
pub use pull::{PullBool, PullError, PullEvent, PullOptions, PullPolicy, PullReport};
pub use run::{RunError, RunOptions, run};

/// The user's terminal, for front ends that have one (the CLI): raw mode,
/// window sizes and their changes. Engine operations never touch it; they
/// take streams and a resize channel.
pub mod tty {
    pub use crate::sys::{RawMode, drain, isatty, poll_readable, raw_mode, winch_events, winsize};
}

/// A vfs store in `dir`, for unit tests.
#[cfg(test)]
pub(crate) fn test_store(dir: &std::path::Path) -> berth_storage::Store {
    let cfg = berth_storage::StoreConfig::at(
        dir.join("root"),
        dir.join("run"),
        berth_storage::DriverKind::Vfs,
    );
    berth_storage::Store::open(cfg).unwrap()
}
