//! `--init`: berth-init (see `init/berth-init.rs`), embedded in berth, written
//! once under the run root and bind-mounted read-only at /run/berth-init.

use std::path::PathBuf;

use berth_runtime::spec::{Mount, Spec};
use berth_storage::Store;

const BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/berth-init"));

/// Where the init goes inside the container.
pub const PATH_IN_CONTAINER: &str = "/run/berth-init";

/// The binary on the host, written when missing or different.
fn install(store: &Store) -> std::io::Result<PathBuf> {
    let path = store.config().run_root.join("berth-init");
    if std::fs::read(&path).is_ok_and(|b| b == BINARY) {
        return Ok(path);
    }
    std::fs::create_dir_all(&store.config().run_root)?;
    // Concurrent first runs each write a temporary file of their own.
    berth_image::fsutil::write_atomic_mode(&path, BINARY, 0o755).map_err(std::io::Error::other)?;
    Ok(path)
}

/// berth-init could not be put where containers find it.
#[derive(Debug, thiserror::Error)]
#[error("--init: {0}")]
pub struct InitError(#[from] std::io::Error);

/// Puts berth-init in front of the container's command.
pub fn apply(store: &Store, spec: &mut Spec) -> Result<(), InitError> {
    let host = install(store)?;
    spec.mounts.push(Mount {
        destination: PATH_IN_CONTAINER.into(),
        kind: Some("bind".into()),
        source: Some(host.to_string_lossy().into_owned()),
        options: vec!["bind".into(), "ro".into(), "nosuid".into(), "nodev".into()],
        ..Default::default()
    });
    if let Some(p) = spec.process.as_mut() {
        p.args
            .splice(0..0, [PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    Ok(())
}
