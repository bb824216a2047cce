//! `berth run` in the foreground: a container in the store, its bundle under the
//! run root, the built-in runtime in this very process (no extra binary to exec).

use crate::spec::{self, ProcessOptions};
use berth_runtime::create::{self, CreateOptions, Mode, Runtime};
use berth_storage::Store;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    pub name: Option<String>,
    pub rm: bool,
    pub process: ProcessOptions,
}

/// Failures with podman's exit codes: 125 for berth's own, 126 when the command
/// cannot be run, 127 when it does not exist.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Engine(String),
    #[error("{0}")]
    CannotRun(String),
    #[error("{0}")]
    NotFound(String),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Engine(_) => 125,
            RunError::CannotRun(_) => 126,
            RunError::NotFound(_) => 127,
        }
    }
}

fn engine<E: std::fmt::Display>(e: E) -> RunError {
    RunError::Engine(e.to_string())
}

/// The runtime's state directory for berth's containers.
pub fn runtime_root(store: &Store) -> PathBuf {
    store.config().run_root.join("oci")
}

/// Runs the image's command (or the given one) and returns its exit code.
pub fn run(store: &Store, o: &RunOptions) -> Result<i32, RunError> {
    let img = store
        .image(&o.image)
        .map_err(|_| RunError::Engine(format!("{}: image not known (pull it first)", o.image)))?;
    let raw = store.image_config(&img).map_err(engine)?;
    let full: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| engine(format!("image config: {e}")))?;
    let config = &full["config"];
    let names: Vec<String> = o.name.iter().cloned().collect();
    let c = store
        .create_container(&img.id, &names, "")
        .map_err(engine)?;
    let result = run_container(store, &c.id, config, o);
    if o.rm || result.is_err() {
        remove(store, &c.id);
    }
    result
}

fn run_container(
    store: &Store,
    id: &str,
    config: &serde_json::Value,
    o: &RunOptions,
) -> Result<i32, RunError> {
    let rootfs = store.mount(id).map_err(engine)?;
    let bundle = store
        .config()
        .run_root
        .join("containers")
        .join(id)
        .join("userdata");
    std::fs::create_dir_all(&bundle).map_err(|e| engine(format!("{}: {e}", bundle.display())))?;
    let spec = spec::generate(config, &rootfs, id, &o.process).map_err(RunError::Engine)?;
    let body = serde_json::to_vec_pretty(&spec).map_err(engine)?;
    std::fs::write(bundle.join("config.json"), body)
        .map_err(|e| engine(format!("write config.json: {e}")))?;
    let rt = Runtime {
        root: runtime_root(store),
        systemd_cgroup: false,
    };
    let opts = CreateOptions {
        id: id.to_string(),
        bundle,
        ..Default::default()
    };
    create::create(&rt, &opts, Mode::Run { detach: false }).map_err(|e| classify(&e.0))
}

fn classify(msg: &str) -> RunError {
    if msg.contains("executable file not found")
        || msg.contains("No such file or directory") && msg.starts_with("exec ")
    {
        RunError::NotFound(msg.to_string())
    } else if msg.starts_with("exec ") {
        RunError::CannotRun(msg.to_string())
    } else {
        RunError::Engine(msg.to_string())
    }
}

/// Unmounts and removes a container with its bundle; best effort.
pub fn remove(store: &Store, id: &str) {
    let _ = store.unmount(id, true);
    let _ = store.remove_container(id);
    let _ = std::fs::remove_dir_all(store.config().run_root.join("containers").join(id));
}
