//! `commit`: a container's changes become a new image — its image's layers plus
//! one layer holding the container's diff, and the image's config with that layer
//! and a history entry added.

use berth_image::config_edit::{ConfigEdit, apply_to_value, parse_change};
use std::sync::Arc;

use berth_image::manifest::{Descriptor, Manifest, RawManifest, media};
use berth_image::transport::{BlobInfo, ImageDestination};
use berth_storage::{StorageDestination, Store};
use serde_json::{Value, json};

use crate::container::{self, Status, now_ns, rfc3339};
use crate::error::Error;

/// Why the caller's `edit` refused (a `--change` instruction, say): the
/// caller's own error, carried back to it.
pub type EditError = Box<dyn std::error::Error + Send + Sync>;

/// What `commit` does to the new image's container config.
pub type Edit<'a> = Box<dyn Fn(&mut Value) -> Result<(), EditError> + 'a>;

/// What `commit` was asked for.
pub struct CommitOptions<'a> {
    /// The new image's name.
    pub reference: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    /// `--pause`: freeze a running container while its diff is read.
    pub pause: bool,
    /// Applies `--change` instructions to the config's `config` object.
    pub edit: Edit<'a>,
    /// The history entry's `created_by` (default: the container's command).
    pub created_by: Option<String>,
    /// Annotations on the new manifest.
    pub annotations: Vec<(String, String)>,
    /// Docker schema 2 instead of OCI (keeps HEALTHCHECK, SHELL, ONBUILD, which
    /// OCI configs have no field for).
    pub docker: bool,
    /// One layer for the whole root filesystem instead of the image's layers
    /// plus one.
    pub squash: bool,
    /// No new layer: only the config and a history entry marked
    /// `empty_layer` (a build step that changed no file, as buildah commits it).
    pub empty_layer: bool,
    /// `--timestamp`: seconds since the epoch as the image's and history's creation
    /// time and every new layer entry's modification time, so that the same
    /// sources give the same image.
    pub timestamp: Option<i64>,
    /// Fields of the image config itself set over the base's (`os`,
    /// `architecture`, `variant`, `os.version`, `os.features`).
    pub image_fields: Vec<(String, Value)>,
    /// History entries (`created_by`, `comment`, `created`) put before the
    /// commit's own, each marked `empty_layer` (buildah's `--add-history`).
    pub history: Vec<Value>,
    /// `--omit-history`: the image has no history at all.
    pub omit_history: bool,
}

impl<'a> CommitOptions<'a> {
    /// What `commit` does without flags.
    pub fn plain(edit: impl Fn(&mut Value) -> Result<(), EditError> + 'a) -> CommitOptions<'a> {
        CommitOptions {
            reference: None,
            message: None,
            author: None,
            pause: false,
            edit: Box::new(edit),
            created_by: None,
            annotations: Vec::new(),
            docker: false,
            squash: false,
            empty_layer: false,
            timestamp: None,
            image_fields: Vec::new(),
            history: Vec::new(),
            omit_history: false,
        }
    }
}

impl CommitOptions<'static> {
    /// What `commit` does without flags but `--change` (CMD, ENV, LABEL …).
    /// The instructions are parsed here so that a bad one is refused before
    /// the container's diff is read; each is applied on its own, in order,
    /// as the flags were given.
    pub fn with_changes(changes: &[String]) -> Result<CommitOptions<'static>, Error> {
        Ok(CommitOptions::with_changes_in(changes, true)?.0)
    }

    /// [`CommitOptions::with_changes`] for an image of Docker's format
    /// (`docker`) or OCI's, which has no ONBUILD: there, as podman's commit
    /// does, an `ONBUILD` change is left out, and returned for the warning.
    pub fn with_changes_in(
        changes: &[String],
        docker: bool,
    ) -> Result<(CommitOptions<'static>, Vec<String>), Error> {
        let mut edits = changes
            .iter()
            .map(|c| parse_change(c))
            .collect::<Result<Vec<Vec<ConfigEdit>>, _>>()
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let mut dropped = Vec::new();
        if !docker {
            for e in &mut edits {
                e.retain(|e| match e {
                    ConfigEdit::OnBuild(o) => {
                        dropped.push(o.clone());
                        false
                    }
                    _ => true,
                });
            }
        }
        let options = CommitOptions::plain(move |cfg: &mut Value| {
            for e in &edits {
                apply_to_value(cfg, e.iter().cloned());
            }
            Ok(())
        });
        Ok((options, dropped))
    }
}

fn fail(m: impl ToString) -> Error {
    Error::Other(m.to_string())
}

/// Commits a container; returns the new image's ID.
pub fn commit(store: &Arc<Store>, name: &str, o: &CommitOptions) -> Result<String, Error> {
    let info =
        container::find(store, name).map_err(|_| Error::NoSuchContainer(name.to_string()))?;
    crate::events::container(store, &info, "commit", None);
    let c = store.container(&info.id).map_err(fail)?;
    let image = store.image(&c.image).map_err(fail)?;
    let base: Value = serde_json::from_slice(&store.image_config(&image).map_err(fail)?)
        .map_err(|e| fail(format!("image config: {e}")))?;
    let manifest = store.image_manifest(&image, None).map_err(fail)?;
    let Manifest::Image(m) = manifest.parse().map_err(fail)? else {
        return Err(fail("the container's image has no single manifest"));
    };
    let dst = StorageDestination::new(store.clone(), o.reference.as_deref()).map_err(fail)?;
    let paused = o.pause && info.state.status == Status::Running;
    let oci = crate::oci::Oci::for_container(store, &info).map_err(fail)?;
    if paused {
        oci.pause(&info.id, true).map_err(fail)?;
    }
    let layer = if o.squash {
        put_squashed(store, &info.id, &dst).map(Some)
    } else if o.empty_layer {
        Ok(None)
    } else {
        let skip = crate::changes::runtime_made(store, &info.id, &c.layer)?;
        put_diff(
            store,
            &c.layer,
            &dst,
            &skip,
            o.timestamp.map(|t| t.max(0) as u64),
        )
        .map(Some)
    };
    if paused {
        let _ = oci.pause(&info.id, false);
    }
    let layer = layer?;
    let mut base = base;
    if o.squash {
        squash_history(&mut base);
    }
    apply_to_value(&mut base["config"], container_edits(&info));
    let config = new_config(base, layer.as_ref(), &info.config.args, o)?;
    let config = serde_json::to_vec(&config).map_err(fail)?;
    let cfg = dst.put_blob(&mut &config[..], None).map_err(fail)?;
    let (manifest_type, config_type, new_layer_type) = if o.docker {
        (media::DOCKER_MANIFEST, media::DOCKER_CONFIG, DOCKER_LAYER)
    } else {
        (media::OCI_MANIFEST, media::OCI_CONFIG, media::OCI_LAYER)
    };
    let mut layers: Vec<Descriptor> = if o.squash {
        Vec::new()
    } else {
        m.layers
            .iter()
            .map(|l| {
                let mut l = l.clone();
                l.media_type = layer_type(&l.media_type, o.docker)?.to_string();
                Ok(l)
            })
            .collect::<Result<_, Error>>()?
    };
    if let Some(layer) = &layer {
        layers.push(Descriptor::new(
            new_layer_type,
            layer.digest.clone(),
            layer.size,
        ));
    }
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": Descriptor::new(config_type, cfg.digest.clone(), cfg.size),
        "layers": layers,
    });
    if !o.annotations.is_empty() && !o.docker {
        manifest["annotations"] = json!(
            o.annotations
                .iter()
                .cloned()
                .collect::<std::collections::BTreeMap<_, _>>()
        );
    }
    let raw = RawManifest::new(serde_json::to_vec(&manifest).map_err(fail)?, manifest_type);
    dst.put_manifest(&raw, None).map_err(fail)?;
    dst.commit().map_err(fail)?;
    Ok(cfg.digest.hex().to_string())
}

/// Streams the container layer's diff (a tar, uncompressed as containers/storage
/// keeps layers; pushing compresses it) into the destination, which applies it.
fn put_diff(
    store: &Arc<Store>,
    layer: &str,
    dst: &StorageDestination,
    skip: &std::collections::HashSet<std::path::PathBuf>,
    mtime: Option<u64>,
) -> Result<BlobInfo, Error> {
    let (mut r, w) = std::io::pipe().map_err(fail)?;
    std::thread::scope(|s| {
        let writer = s.spawn(move || {
            store
                .diff_unhashed_skipping(layer, w, skip, mtime)
                .map(drop)
        });
        let put = dst.put_blob(&mut r, None);
        drop(r);
        let wrote = writer.join().expect("diff thread");
        // The writer's failure explains a short stream better than the reader's.
        wrote.map_err(|e| fail(format!("reading the container's changes: {e}")))?;
        put.map_err(fail)
    })
}

/// Docker schema 2's type for an uncompressed layer.
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// A base layer's media type in the new manifest's format.
fn layer_type(mt: &str, docker: bool) -> Result<&str, Error> {
    Ok(match (mt, docker) {
        (media::DOCKER_LAYER_GZIP, false) => media::OCI_LAYER_GZIP,
        (DOCKER_LAYER, false) => media::OCI_LAYER,
        (media::OCI_LAYER_GZIP, true) => media::DOCKER_LAYER_GZIP,
        (media::OCI_LAYER, true) => DOCKER_LAYER,
        (media::OCI_LAYER_ZSTD, true) => {
            return Err(fail(
                "the image has zstd layers, which Docker's format cannot describe: commit it as OCI",
            ));
        }
        (other, _) => other,
    })
}

/// The whole root filesystem of the container as one layer.
fn put_squashed(
    store: &Arc<Store>,
    container: &str,
    dst: &StorageDestination,
) -> Result<BlobInfo, Error> {
    let rootfs = store.mount(container).map_err(fail)?;
    let unmap = crate::copy::id_map_of(store, container);
    let (mut r, w) = std::io::pipe().map_err(fail)?;
    let result = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut w = w;
            berth_storage::archive::tar_in_root_mapped(
                &rootfs,
                std::path::Path::new(""),
                "",
                &mut w,
                unmap.as_ref(),
            )
        });
        let put = dst.put_blob(&mut r, None);
        drop(r);
        let wrote = writer.join().expect("tar thread");
        wrote.map_err(|e| fail(format!("reading the container's files: {e}")))?;
        put.map_err(fail)
    });
    let _ = store.unmount(container, false);
    result
}

/// With one squashed layer, the base's history entries hold no layer of their own.
fn squash_history(base: &mut Value) {
    if let Some(h) = base["history"].as_array_mut() {
        for e in h {
            e["empty_layer"] = json!(true);
        }
    }
    base["rootfs"] = json!({"type": "layers", "diff_ids": []});
}

/// What the container was made with on top of its image, as the new image's
/// config keeps it (podman's and docker's commit): entrypoint, command,
/// environment, working directory, user, labels, exposed ports, stop signal.
fn container_edits(info: &container::Info) -> Vec<ConfigEdit> {
    let p = &info.config.process;
    let pair = |kv: &String| match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (kv.clone(), String::new()),
    };
    let mut edits = Vec::new();
    if let Some(argv) = &p.entrypoint {
        edits.push(ConfigEdit::Entrypoint {
            argv: argv.clone(),
            keep_cmd: false,
        });
    }
    if !p.command.is_empty() {
        edits.push(ConfigEdit::Cmd(p.command.clone()));
    }
    edits.extend(p.env.iter().map(|e| {
        let (k, v) = pair(e);
        ConfigEdit::Env(k, v)
    }));
    edits.extend(p.workdir.clone().map(ConfigEdit::WorkingDir));
    edits.extend(p.user.clone().map(ConfigEdit::User));
    edits.extend(p.labels.iter().map(|l| {
        let (k, v) = pair(l);
        ConfigEdit::Label(k, v)
    }));
    edits.extend(p.expose.iter().cloned().map(ConfigEdit::Expose));
    edits.extend(p.stop_signal.clone().map(ConfigEdit::StopSignal));
    edits
}

fn new_config(
    mut base: Value,
    layer: Option<&BlobInfo>,
    args: &[String],
    o: &CommitOptions,
) -> Result<Value, Error> {
    let created = match o.timestamp {
        // Whole seconds, written as Go writes them (no fraction of zeros).
        Some(t) => rfc3339(u64::try_from(t).unwrap_or(0).saturating_mul(1_000_000_000))
            .replace(".000000000Z", "Z"),
        None => rfc3339(now_ns()),
    };
    if !base["config"].is_object() {
        base["config"] = json!({});
    }
    (o.edit)(&mut base["config"]).map_err(fail)?;
    base["created"] = json!(created);
    for (k, v) in &o.image_fields {
        base[k.as_str()] = v.clone();
    }
    if let Some(a) = &o.author {
        base["author"] = json!(a);
    }
    if !base["rootfs"]["diff_ids"].is_array() {
        base["rootfs"] = json!({"type": "layers", "diff_ids": []});
    }
    if let Some(layer) = layer {
        base["rootfs"]["diff_ids"]
            .as_array_mut()
            .expect("array")
            .push(json!(layer.digest.to_string()));
    }
    let by = o.created_by.clone().unwrap_or_else(|| args.join(" "));
    let mut entry = json!({"created": created, "created_by": by});
    if layer.is_none() {
        entry["empty_layer"] = json!(true);
    }
    if let Some(m) = &o.message {
        entry["comment"] = json!(m);
    }
    if let Some(a) = &o.author {
        entry["author"] = json!(a);
    }
    let mut entries: Vec<Value> = o
        .history
        .iter()
        .map(|h| {
            let mut e = h.clone();
            if o.timestamp.is_some() || !e["created"].is_string() {
                e["created"] = json!(created);
            }
            e["empty_layer"] = json!(true);
            e
        })
        .collect();
    entries.push(entry);
    match base["history"].as_array_mut() {
        Some(h) => h.extend(entries),
        None => base["history"] = json!(entries),
    }
    if o.omit_history
        && let Some(b) = base.as_object_mut()
    {
        b.remove("history");
    }
    Ok(base)
}
