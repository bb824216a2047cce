//! podman's, skopeo's and buildah's commands, grouped by noun; every command file parses its flags, calls the engine and prints.

pub mod builder;
pub mod container;
pub mod events;
pub mod generate;
pub mod image;
pub mod kube;
pub mod login;
pub mod manifest;
pub mod network;
pub mod pod;
pub mod secret;
pub mod system;
pub mod unshare;
pub mod volume;

use crate::exit::{self, Failure};
use berth_storage::{Store, StoreOptions};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// `--root`, `--runroot`, `--storage-driver`, `--storage-opt`, as podman's globals.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// Storage root (graphroot).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Storage state directory (runroot).
    #[arg(long, global = true)]
    pub runroot: Option<PathBuf>,
    /// Storage driver: overlay or vfs.
    #[arg(long, global = true)]
    pub storage_driver: Option<String>,
    /// Storage driver option (KEY=VALUE), repeatable.
    #[arg(long, global = true)]
    pub storage_opt: Vec<String>,
    /// OCI runtime for new containers: berth (built in), a runc-compatible
    /// binary (runc, crun, berth-oci, a name from containers.conf's
    /// [engine.runtimes]) or a path; default containers.conf's [engine] runtime.
    #[arg(long, global = true)]
    pub runtime: Option<String>,
    /// A global option for the OCI runtime (FLAG or FLAG=VALUE, without
    /// `--`), repeatable.
    #[arg(long, global = true)]
    pub runtime_flag: Vec<String>,
    /// Where named volumes live (default containers.conf's volume_path, else
    /// ROOT/volumes).
    #[arg(long, global = true)]
    pub volumepath: Option<PathBuf>,
}

impl StoreArgs {
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            graph_root: self.root.clone(),
            run_root: self.runroot.clone(),
            driver: self.storage_driver.clone(),
            // podman's `--storage-opt ''`: no option.
            storage_opts: self
                .storage_opt
                .iter()
                .filter(|o| !o.is_empty())
                .cloned()
                .collect(),
            config_file: None,
        }
    }

    /// How processes this one starts run berth with the same store.
    pub fn command(&self) -> berth_engine::monitor::MonitorCommand {
        berth_engine::monitor::MonitorCommand::current(self.options(), self.volumepath.clone())
    }

    pub fn open(&self) -> Result<Arc<Store>, Failure> {
        let options = self.options();
        log::trace!("Opening the store with {options:?}");
        if let Some(v) = &self.volumepath {
            berth_engine::volumes::named::set_volume_path(v.clone());
        }
        let store = Store::open_with(&options).map_err(exit::podman)?;
        let cfg = store.config();
        log::debug!("Using graph root {}", cfg.graph_root.display());
        log::debug!("Using run root {}", cfg.run_root.display());
        log::debug!(
            "Using storage driver {}",
            berth_engine::views::driver_name(&store)
        );
        Ok(Arc::new(store))
    }
}

/// `--cidfile`s and `--pod-id-file`s (`kind`): the IDs they hold; with
/// `--ignore`, a file that is not there (its container or pod never made, or
/// gone with it) names none.
pub(crate) fn ids_from_files(
    files: &[PathBuf],
    ignore: bool,
    kind: &str,
) -> Result<Vec<String>, Failure> {
    berth_engine::outfile::read_ids(files, ignore)
        .map_err(|e| exit::podman(format!("reading {kind} {e}")))
}
