//! A stage's starting point: the image its FROM names (an earlier stage, a
//! local image of the right platform, or an empty `scratch` image made on
//! demand) and the working container on it.

use std::sync::Arc;

use berth_engine::leases::Lease;
use berth_engine::run::{self, RunOptions};
use berth_engine::spec::ProcessOptions;
use berth_storage::Store;
use serde_json::{Value, json};

use super::{BuildRequest, Working};
use crate::error::{BuildError, CopyError};
use crate::stages::Vars;

/// The image a FROM names: an earlier stage's result, `scratch`, or a local image.
pub(super) fn base_image(
    store: &Arc<Store>,
    lease: &Lease,
    working: &[Working],
    name: &str,
    platform: Option<&crate::Platform>,
) -> Result<String, BuildError> {
    let lower = name.to_ascii_lowercase();
    if let Some(w) = working.iter().find(|w| w.names.contains(&lower)) {
        return w
            .image
            .clone()
            .ok_or_else(|| BuildError::StageNotBuilt(name.to_string()));
    }
    if lower == "scratch" {
        return lease.hold(|| scratch_for(store, platform));
    }
    let id = lease.hold(|| {
        store
            .image(name)
            .map(|i| i.id)
            .map_err(|_| BuildError::ImageNotPulled(name.to_string()))
    })?;
    if let Some(want) = platform {
        let img = store.image(&id)?;
        let cfg: Value = serde_json::from_slice(&store.image_config(&img)?)?;
        let (os, arch) = (
            cfg["os"].as_str().unwrap_or("linux"),
            cfg["architecture"].as_str().unwrap_or(""),
        );
        if os != want.os || arch != want.arch {
            return Err(BuildError::WrongPlatform {
                image: name.to_string(),
                found: format!("{os}/{arch}"),
                wanted: want.format(),
            });
        }
    }
    Ok(id)
}

/// An image with one empty layer, for `FROM scratch`.
pub(crate) fn scratch(store: &Arc<Store>) -> Result<String, BuildError> {
    scratch_for(store, None)
}

/// [`scratch`] for a platform (default the host's).
fn scratch_for(
    store: &Arc<Store>,
    platform: Option<&crate::Platform>,
) -> Result<String, BuildError> {
    let host = crate::Platform::host();
    let p = platform.unwrap_or(&host);
    let repo = berth_engine::images::SCRATCH_REPO;
    let name = if p == &host {
        format!("{repo}:latest")
    } else {
        format!("{repo}:{}", p.format().replace('/', "-"))
    };
    let name = name.as_str();
    if let Ok(i) = store.image(name) {
        return Ok(i.id);
    }
    use berth_image::manifest::{Descriptor, RawManifest, media};
    use berth_image::transport::ImageDestination;
    let dst = berth_storage::StorageDestination::new(store.clone(), Some(name))?;
    let layer = tar::Builder::new(Vec::new())
        .into_inner()
        .map_err(CopyError::Io)?;
    let l = dst.put_blob(&mut &layer[..], None)?;
    let mut config = json!({
        "architecture": p.arch, "os": p.os, "config": {},
        "rootfs": {"type": "layers", "diff_ids": [l.digest.to_string()]},
        "history": [{"created_by": "berth: FROM scratch", "empty_layer": false}],
    });
    if let Some(v) = &p.variant {
        config["variant"] = json!(v);
    }
    let config = serde_json::to_vec(&config)?;
    let c = dst.put_blob(&mut &config[..], None)?;
    let m = json!({"schemaVersion": 2, "mediaType": media::OCI_MANIFEST,
        "config": Descriptor::new(media::OCI_CONFIG, c.digest.clone(), c.size),
        "layers": [Descriptor::new(media::OCI_LAYER, l.digest, l.size)]});
    let raw = RawManifest::new(serde_json::to_vec(&m)?, media::OCI_MANIFEST);
    dst.put_manifest(&raw, None)?;
    dst.commit()?;
    Ok(store.image(name)?.id)
}

/// A working container from `base` for a stage, its root mounted, named
/// as `COPY --from` may name the stage.
pub(super) fn start_stage(
    store: &Arc<Store>,
    base: &str,
    stage: &crate::stages::Stage,
    req: &BuildRequest,
) -> Result<Working, BuildError> {
    let o = RunOptions {
        image: base.to_string(),
        name: None,
        rm: false,
        replace: false,
        process: ProcessOptions {
            network: req
                .network
                .clone()
                .unwrap_or(berth_engine::network::NetworkMode::None),
            command: vec!["/bin/sh".into()],
            labels: crate::builder::owned_labels(),
            id_map: req.id_map.clone(),
            ..Default::default()
        },
    };
    let container = run::create(store, &o).map_err(BuildError::CreateContainer)?;
    let rootfs = store.mount(&container.id)?;
    let mut names = vec![stage.index.to_string()];
    if let Some(n) = &stage.name {
        names.push(n.clone());
    }
    Ok(Working {
        names,
        container,
        rootfs,
        image: None,
    })
}

/// A working container unmounted and removed (best effort, as it is cleanup).
pub(super) fn close(store: &Store, w: &Working) {
    let _ = store.unmount(&w.container.id, true);
    run::remove(store, &w.container.id);
}

/// The ENV of an image, for expanding variables in the stages built on it.
pub(super) fn image_env(store: &Store, reference: &str) -> Vars {
    let mut v = Vars::default();
    if let Ok(img) = store.image(reference)
        && let Ok(raw) = store.image_config(&img)
        && let Ok(cfg) = serde_json::from_slice::<Value>(&raw)
    {
        for e in cfg["config"]["Env"].as_array().into_iter().flatten() {
            if let Some((k, val)) = e.as_str().and_then(|s| s.split_once('=')) {
                v.set(k, val);
            }
        }
    }
    v
}
