//! A step's or stage's image: the working container committed with the
//! config the stage accumulated; the target also gets the build's labels,
//! annotations, format, squash and tags.

use std::io::Write;

use serde_json::{Value, json};

use super::Working;
use super::driver::Executor;
use super::progress;
use super::state::StageState;
use crate::error::BuildError;

/// How a step is committed.
pub(super) enum Step<'a> {
    /// The layer an instruction made (RUN, COPY, ADD), named in the history
    /// as buildah names it.
    Layer(&'a str),
    /// The stage's files as they are: a layer of what changed.
    Files,
    /// A stage built without `--layers`: a layer of what changed, with a
    /// history entry for each of the stage's instructions as buildah writes
    /// them (the last one the layer's, the others empty).
    Whole(&'a [String]),
    /// Only the config changed since the parent: no layer, as buildah
    /// commits such a step.
    ConfigOnly,
}

/// Commits `w` as `step` says. The image is leased: the next step or stage
/// starts from it.
pub(super) fn commit(
    x: &Executor,
    log: &mut dyn Write,
    w: &Working,
    state: &StageState,
    is_target: bool,
    step: Step,
) -> Result<String, BuildError> {
    let req = x.req;
    let mut config = state.config.clone();
    let mut dropped = Vec::new();
    if is_target {
        for (k, v) in &req.labels {
            config["Labels"][k] = json!(v);
        }
        berth_image::config_edit::apply_to_value(
            &mut config,
            req.unsetenv
                .iter()
                .cloned()
                .map(berth_image::config_edit::ConfigEdit::RemoveEnv),
        );
        if !req.env.is_empty() {
            let edits = req
                .env
                .iter()
                .map(|(k, v)| berth_image::config_edit::ConfigEdit::Env(k.clone(), v.clone()));
            berth_image::config_edit::apply_to_value(&mut config, edits);
        }
        if !req.docker_format {
            dropped = crate::builder::drop_docker_only(&mut config);
        }
    }
    let edit = move |c: &mut Value| -> Result<(), berth_engine::commit::EditError> {
        *c = config.clone();
        Ok(())
    };
    let reference = if is_target {
        req.tags.first().cloned()
    } else {
        None
    };
    if is_target {
        progress::committing(log, reference.as_deref());
    }
    let o = berth_engine::commit::CommitOptions {
        reference,
        message: None,
        author: None,
        pause: false,
        edit: Box::new(edit),
        created_by: Some(match step {
            Step::Layer(i) => created_by(i),
            Step::Whole([.., last]) => created_by(last),
            Step::Files | Step::ConfigOnly | Step::Whole([]) => "berth build".to_string(),
        }),
        annotations: if is_target {
            req.annotations.clone()
        } else {
            Vec::new()
        },
        docker: is_target && req.docker_format,
        squash: is_target && req.squash,
        empty_layer: matches!(step, Step::ConfigOnly) && !(is_target && req.squash),
        timestamp: req.timestamp,
        image_fields: if is_target {
            target_fields(x, w)
        } else {
            Vec::new()
        },
        history: match step {
            Step::Whole([earlier @ .., _]) => earlier
                .iter()
                .map(|i| json!({"created_by": created_by(i)}))
                .collect(),
            _ => Vec::new(),
        },
        omit_history: is_target && req.omit_history,
    };
    for d in dropped {
        progress::dropped(d);
    }
    let id = x.lease.hold(|| {
        berth_engine::commit::commit(x.store, &w.container.id, &o).map_err(BuildError::from)
    })?;
    if is_target {
        for t in req.tags.iter().skip(1) {
            x.store.tag(&id, t)?;
        }
    }
    Ok(id)
}

/// An instruction as buildah's history names it: RUN's command as the shell
/// ran it, the others as no-ops.
fn created_by(instruction: &str) -> String {
    match instruction.strip_prefix("RUN ") {
        Some(cmd) => format!("/bin/sh -c {}", cmd.trim()),
        None => format!("/bin/sh -c #(nop) {instruction}"),
    }
}

/// `--os-version` and `--os-feature`s: the target image's, over (features:
/// besides) its base's.
fn target_fields(x: &Executor, w: &Working) -> Vec<(String, Value)> {
    let req = x.req;
    let mut fields = Vec::new();
    if let Some(v) = &req.os_version {
        fields.push(("os.version".to_string(), json!(v)));
    }
    if !req.os_features.is_empty() {
        let base: Vec<String> = x
            .store
            .image(&w.container.config.image_id)
            .and_then(|i| x.store.image_config(&i))
            .ok()
            .and_then(|c| serde_json::from_slice::<Value>(&c).ok())
            .and_then(|c| serde_json::from_value(c["os.features"].clone()).ok())
            .unwrap_or_default();
        let mut all = base;
        for f in &req.os_features {
            if !all.contains(f) {
                all.push(f.clone());
            }
        }
        fields.push(("os.features".to_string(), json!(all)));
    }
    fields
}
