//! `commit`: a container's changes become a new image — its image's layers plus
//! one layer holding the container's diff, and the image's config with that layer
//! and a history entry added.

use std::sync::Arc;

use berth_image::manifest::{Descriptor, Manifest, RawManifest, media};
use berth_image::transport::{BlobInfo, ImageDestination};
use berth_storage::{StorageDestination, Store};
use serde_json::{Value, json};

use crate::container::{self, Status, now_ns, rfc3339};
use crate::lifecycle::Failure;

/// What `commit` was asked for.
pub struct CommitOptions<'a> {
    /// The new image's name.
    pub reference: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    /// `--pause`: freeze a running container while its diff is read.
    pub pause: bool,
    /// Applies `--change` instructions to the config's `config` object.
    pub edit: &'a dyn Fn(&mut Value) -> Result<(), String>,
}

fn fail(code: i32, m: impl ToString) -> Failure {
    Failure {
        code,
        message: m.to_string(),
    }
}

/// Commits a container; returns the new image's ID.
pub fn commit(store: &Arc<Store>, name: &str, o: &CommitOptions) -> Result<String, Failure> {
    let info = container::find(store, name).map_err(|m| fail(125, m))?;
    let c = store.container(&info.id).map_err(|e| fail(125, e))?;
    let image = store.image(&c.image).map_err(|e| fail(125, e))?;
    let base: Value =
        serde_json::from_slice(&store.image_config(&image).map_err(|e| fail(125, e))?)
            .map_err(|e| fail(125, format!("image config: {e}")))?;
    let manifest = store
        .image_manifest(&image, None)
        .map_err(|e| fail(125, e))?;
    let Manifest::Image(m) = manifest.parse().map_err(|e| fail(125, e))? else {
        return Err(fail(125, "the container's image has no single manifest"));
    };
    let dst =
        StorageDestination::new(store.clone(), o.reference.as_deref()).map_err(|e| fail(125, e))?;
    let paused = o.pause && info.state.status == Status::Running;
    let oci = crate::oci::Oci::of(store, info.config.process.runtime.as_deref())
        .map_err(|e| fail(125, e))?;
    if paused {
        oci.pause(&info.id, true).map_err(|e| fail(125, e))?;
    }
    let layer = put_diff(store, &c.layer, &dst);
    if paused {
        let _ = oci.pause(&info.id, false);
    }
    let layer = layer?;
    let config = new_config(base, &layer, &info.config.args, o)?;
    let config = serde_json::to_vec(&config).map_err(|e| fail(125, e))?;
    let cfg = dst
        .put_blob(&mut &config[..], None)
        .map_err(|e| fail(125, e))?;
    let mut layers: Vec<Descriptor> = m
        .layers
        .iter()
        .map(|l| {
            let mut l = l.clone();
            l.media_type = oci_layer_type(&l.media_type).to_string();
            l
        })
        .collect();
    layers.push(Descriptor::new(
        media::OCI_LAYER,
        layer.digest.clone(),
        layer.size,
    ));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": Descriptor::new(media::OCI_CONFIG, cfg.digest.clone(), cfg.size),
        "layers": layers,
    });
    let raw = RawManifest::new(
        serde_json::to_vec(&manifest).map_err(|e| fail(125, e))?,
        media::OCI_MANIFEST,
    );
    dst.put_manifest(&raw, None).map_err(|e| fail(125, e))?;
    dst.commit().map_err(|e| fail(125, e))?;
    Ok(cfg.digest.hex().to_string())
}

/// Streams the container layer's diff (a tar, uncompressed as containers/storage
/// keeps layers; pushing compresses it) into the destination, which applies it.
fn put_diff(
    store: &Arc<Store>,
    layer: &str,
    dst: &StorageDestination,
) -> Result<BlobInfo, Failure> {
    let (mut r, w) = std::io::pipe().map_err(|e| fail(125, e))?;
    std::thread::scope(|s| {
        let writer = s.spawn(move || store.diff_unhashed(layer, w).map(drop));
        let put = dst.put_blob(&mut r, None);
        drop(r);
        let wrote = writer.join().expect("diff thread");
        // The writer's failure explains a short stream better than the reader's.
        wrote.map_err(|e| fail(125, format!("reading the container's changes: {e}")))?;
        put.map_err(|e| fail(125, e))
    })
}

fn oci_layer_type(mt: &str) -> &str {
    match mt {
        media::DOCKER_LAYER_GZIP => media::OCI_LAYER_GZIP,
        "application/vnd.docker.image.rootfs.diff.tar" => media::OCI_LAYER,
        other => other,
    }
}

fn new_config(
    mut base: Value,
    layer: &BlobInfo,
    args: &[String],
    o: &CommitOptions,
) -> Result<Value, Failure> {
    let created = rfc3339(now_ns());
    if !base["config"].is_object() {
        base["config"] = json!({});
    }
    (o.edit)(&mut base["config"]).map_err(|m| fail(125, m))?;
    base["created"] = json!(created);
    if let Some(a) = &o.author {
        base["author"] = json!(a);
    }
    if !base["rootfs"]["diff_ids"].is_array() {
        base["rootfs"] = json!({"type": "layers", "diff_ids": []});
    }
    base["rootfs"]["diff_ids"]
        .as_array_mut()
        .expect("array")
        .push(json!(layer.digest.to_string()));
    let mut entry = json!({"created": created, "created_by": args.join(" ")});
    if let Some(m) = &o.message {
        entry["comment"] = json!(m);
    }
    if let Some(a) = &o.author {
        entry["author"] = json!(a);
    }
    match base["history"].as_array_mut() {
        Some(h) => h.push(entry),
        None => base["history"] = json!([entry]),
    }
    Ok(base)
}
