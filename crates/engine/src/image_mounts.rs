//! `--mount type=image`: another image's root filesystem in a container,
//! mounted when the container starts and let go when it stops or goes.
//! Read-only ones share the image's mount (`image mount`); a writable one is
//! an overlay of the container's own whose writes go with it.

use std::path::{Path, PathBuf};

use berth_runtime::spec::Mount;
use berth_storage::Store;

use crate::container::{self, Info};
use crate::run::RunError;

/// The container's directory for its image mounts; a `held-N` file marks a
/// read-only mount this container holds (so that it is let go once).
fn dir(store: &Store, id: &str) -> PathBuf {
    container::userdata(store, id).join("image-mounts")
}

/// Mounts the container's image mounts; returns the bind mounts for its spec.
pub(crate) fn mount_all(store: &Store, info: &Info) -> Result<Vec<Mount>, RunError> {
    let engine = |e: String| RunError::Engine(e);
    let mut out = Vec::new();
    for (n, m) in info.config.process.image_mounts.iter().enumerate() {
        let d = dir(store, &info.id).join(n.to_string());
        std::fs::create_dir_all(&d).map_err(|e| engine(format!("{}: {e}", d.display())))?;
        let not_known = |_| RunError::ImageNotKnown(m.source.clone());
        // The image is mounted (and counted) for the container either way, as
        // podman mounts it, so `image umount` sees it; a writable mount is an
        // overlay of its own over the layers, which that unmount leaves alone.
        let (_, path) = store.mount_image(&m.source).map_err(not_known)?;
        let _ = std::fs::write(d.join("held"), b"");
        let source = if m.rw {
            let lowers = store.image_layer_dirs(&m.source).map_err(not_known)?;
            writable(&d, &lowers).map_err(|e| engine(format!("--mount {m}: {e}")))?
        } else {
            path
        };
        out.push(Mount {
            destination: m.destination.clone(),
            kind: Some("bind".into()),
            source: Some(source.to_string_lossy().into_owned()),
            options: ["rbind", if m.rw { "rw" } else { "ro" }, "rprivate"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// An overlay of the image's layers with an upper layer in `d`.
fn writable(d: &Path, lowers: &[PathBuf]) -> berth_storage::Result<PathBuf> {
    let (upper, work, merged) = (d.join("upper"), d.join("work"), d.join("merged"));
    for p in [&upper, &work, &merged] {
        std::fs::create_dir_all(p).map_err(|e| berth_storage::Error::io(p, e))?;
    }
    if !berth_storage::drivers::overlay::is_mounted(&merged) {
        let empty = d.join("empty");
        std::fs::create_dir_all(&empty).map_err(|e| berth_storage::Error::io(&empty, e))?;
        let mut l: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
        if l.is_empty() {
            l.push(&empty);
        }
        berth_storage::drivers::overlay::mount(&l, Some((&upper, &work)), &merged, None)?;
    }
    Ok(merged)
}

/// Lets go of what [`mount_all`] mounted for the container (best effort).
pub(crate) fn release(store: &Store, info: &Info) {
    let base = dir(store, &info.id);
    for (n, m) in info.config.process.image_mounts.iter().enumerate() {
        let d = base.join(n.to_string());
        if std::fs::remove_file(d.join("held")).is_ok() {
            let _ = store.unmount_image(&m.source, false);
        }
        if m.rw {
            let merged = d.join("merged");
            if berth_storage::drivers::overlay::is_mounted(&merged) {
                let _ = berth_storage::drivers::overlay::unmount_path(&merged);
            }
            let _ = std::fs::remove_dir_all(&d);
        }
    }
}
