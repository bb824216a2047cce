//! The build loop: the stages the plan needs, in order, each from its base
//! image (or the cache) to a committed image; and the images that `COPY
//! --from` and RUN mounts read, lent through a container each for as long as
//! the build runs.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use berth_engine::leases::Lease;
use berth_engine::run::{self, RunOptions};
use berth_engine::spec::ProcessOptions;
use berth_storage::Store;

use super::base::{base_image, close, image_env, start_stage};
use super::cache::{cache_key, cached, remember};
use super::commit::{Step, commit};
use super::context::load_ignore;
use super::layered::build_stage_layered;
use super::onbuild::onbuild_triggers;
use super::progress::{self, Stage};
use super::state::StageState;
use super::{BuildRequest, Working};
use crate::error::BuildError;
use crate::{Containerfile, ExpandedStage, Ignore, Plan, expand_plan, globals, plan};

/// What every stage of a build reads (buildah's executor).
pub(super) struct Executor<'a> {
    pub(super) store: &'a Arc<Store>,
    pub(super) req: &'a BuildRequest,
    pub(super) cf: &'a Containerfile,
    pub(super) ignore: &'a Ignore,
    /// The roots of the images read from (`COPY --from`, RUN mounts).
    pub(super) borrowed: &'a [Working],
    /// Holds the images the build uses until it ends.
    pub(super) lease: &'a Lease,
    /// The steps of the whole build, for the `STEP n/total` lines.
    pub(super) total: usize,
}

impl Executor<'_> {
    /// The roots `COPY --from` and RUN mounts may name: the stages built so
    /// far, the images lent and the `--build-context` directories.
    pub(super) fn roots(&self, working: &[Working]) -> Vec<(Vec<String>, PathBuf)> {
        let dirs = self.req.contexts.iter().filter_map(|(name, c)| match c {
            crate::inputs::BuildContext::Directory(d) => {
                Some((vec![name.to_ascii_lowercase()], d.clone()))
            }
            crate::inputs::BuildContext::Image(_) => None,
        });
        working
            .iter()
            .chain(self.borrowed)
            .map(|w| (w.names.clone(), w.rootfs.clone()))
            .chain(dirs)
            .collect()
    }
}

/// A planned stage about to be built.
pub(super) struct Planned<'a> {
    pub(super) def: &'a crate::stages::Stage,
    pub(super) stage: &'a ExpandedStage,
    /// The image its FROM resolved to.
    pub(super) base: &'a str,
    pub(super) is_target: bool,
}

impl Planned<'_> {
    /// How the stage is named in progress lines.
    pub(super) fn at(&self, x: &Executor) -> Stage {
        Stage {
            index: self.def.index,
            count: x.cf.stages.len(),
        }
    }
}

/// Builds; progress goes to `log` (podman and buildah print it on stdout,
/// warnings on stderr). Returns the
/// image ID.
pub fn build(
    store: &Arc<Store>,
    req: &BuildRequest,
    log: &mut dyn Write,
) -> Result<String, BuildError> {
    // Ctrl-C (or a TERM) stops a build, as buildah's: the RUN running is killed
    // rather than handed a signal its init may ignore.
    berth_runtime::create::kill_on_interrupt();
    let cf = req.parse()?;
    let opts = req.options();
    let g = globals(&cf, &opts)?;
    let p = plan(&cf, &g, &opts)?;
    let image_env = |r: &str| image_env(store, r);
    let stages = expand_plan(&cf, &p, &g, &opts, &image_env)?;
    let ignore = load_ignore(&req.context, req.ignore_file.as_deref())?;
    // Until the build ends, the images it uses stay: a prune meanwhile leaves
    // the bases of stages not yet started and what the build commits.
    let lease = Lease::new(&store.config().run_root);
    lease_images(store, &lease, &cf, &p)?;
    // Images that COPY --from or RUN --mount read: mounted through a container each.
    let mut borrowed: Vec<Working> = Vec::new();
    let lent = borrow_images(store, req, &cf, &p, &mut borrowed);
    let result = lent.and_then(|()| {
        let x = Executor {
            store,
            req,
            cf: &cf,
            ignore: &ignore,
            borrowed: &borrowed,
            lease: &lease,
            total: stages.iter().map(|(_, s)| s.instructions.len() + 1).sum(),
        };
        run_stages(&x, log, &p, &stages)
    });
    for w in &borrowed {
        close(store, w);
    }
    let id = result?;
    if let Some(list) = &req.manifest {
        crate::builder::add_to_list(store, list, &id, &Default::default())?;
    }
    crate::builder::write_image_id(req.iid_file.as_deref(), &id)?;
    Ok(id)
}

/// Whether the plan's image reference names one of the file's stages.
pub(super) fn is_stage(cf: &Containerfile, reference: &str) -> bool {
    cf.stages.iter().any(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(reference))
    })
}

/// Leases the images the plan names that are in the store (stages and
/// `scratch` aside); one missing is reported where it is used.
fn lease_images(
    store: &Store,
    lease: &Lease,
    cf: &Containerfile,
    p: &Plan,
) -> Result<(), BuildError> {
    let _making = lease.making()?;
    for i in &p.images {
        if is_stage(cf, &i.reference) || i.reference == "scratch" {
            continue;
        }
        if let Ok(img) = store.image(&i.reference) {
            lease.add(&img.id)?;
        }
    }
    Ok(())
}

/// Lends every image that is read from but not built on (`COPY --from`,
/// RUN mounts), into `borrowed` (which the caller cleans up, also on error).
fn borrow_images(
    store: &Arc<Store>,
    req: &BuildRequest,
    cf: &Containerfile,
    p: &Plan,
    borrowed: &mut Vec<Working>,
) -> Result<(), BuildError> {
    for i in &p.images {
        if i.usage == crate::ImageUse::Base
            || borrowed
                .iter()
                .any(|b| b.names.contains(&i.reference.to_ascii_lowercase()))
            || cf
                .stages
                .iter()
                .any(|s| s.name.as_deref() == Some(i.reference.as_str()))
        {
            continue;
        }
        let mut w = lend(store, &i.reference, req.id_map.clone())?;
        // `--from=NAME` of a `--build-context NAME=docker-image://REF` reads it.
        let aliases = req.contexts.iter().filter(
            |(_, c)| matches!(c, crate::inputs::BuildContext::Image(r) if *r == i.reference),
        );
        w.names
            .extend(aliases.map(|(name, _)| name.to_ascii_lowercase()));
        borrowed.push(w);
    }
    Ok(())
}

/// An image's root, mounted through a container made for it (with the
/// build's ID map, so that every root COPY --from reads is seen alike).
fn lend(
    store: &Arc<Store>,
    reference: &str,
    id_map: Option<berth_storage::idmap::IdMap>,
) -> Result<Working, BuildError> {
    let id = store
        .image(reference)
        .map(|img| img.id)
        .map_err(|_| BuildError::ImageNotPulled(reference.to_string()))?;
    let o = RunOptions {
        image: id,
        name: None,
        rm: false,
        replace: false,
        process: ProcessOptions {
            network: berth_engine::network::NetworkMode::None,
            command: vec!["/bin/true".into()],
            labels: crate::builder::owned_labels(),
            id_map,
            ..Default::default()
        },
    };
    let container = run::create(store, &o).map_err(BuildError::CreateContainer)?;
    let rootfs = match store.mount(&container.id) {
        Ok(r) => r,
        Err(e) => {
            run::remove(store, &container.id);
            return Err(e.into());
        }
    };
    Ok(Working {
        names: vec![reference.to_ascii_lowercase()],
        container,
        rootfs,
        image: None,
    })
}

/// Builds the planned stages; returns the last one's image.
fn run_stages(
    x: &Executor,
    log: &mut dyn Write,
    p: &Plan,
    stages: &[(usize, ExpandedStage)],
) -> Result<String, BuildError> {
    let mut step = 0;
    let mut working: Vec<Working> = Vec::new();
    let result = (|| {
        let mut last = String::new();
        for (index, stage) in stages {
            let def = &x.cf.stages[*index];
            let is_target = *index == p.target;
            last = build_stage(x, log, &mut working, &mut step, def, stage, is_target)?;
        }
        Ok(last)
    })();
    // Working containers go, and the images of stages that were not the target.
    for w in &working {
        close(x.store, w);
    }
    if let Ok(final_id) = &result {
        // With --layers the stages' images stay, as the cache; else they go.
        for w in working.iter().filter(|_| !x.req.layers) {
            if let Some(i) = &w.image
                && i != final_id
                && let Err(e) = x.store.remove_image(i)
            {
                progress::not_removed(i, &e);
            }
        }
        progress::tagged(log, &x.req.tags);
    }
    result
}

/// One planned stage, from its base image (or the cache) to its image; a
/// stage later ones may copy from stays in `working`.
fn build_stage(
    x: &Executor,
    log: &mut dyn Write,
    working: &mut Vec<Working>,
    step: &mut usize,
    def: &crate::stages::Stage,
    stage: &ExpandedStage,
    is_target: bool,
) -> Result<String, BuildError> {
    *step += 1;
    let from = &stage.from;
    let at = Stage {
        index: def.index,
        count: x.cf.stages.len(),
    };
    let named = def
        .name
        .as_deref()
        .map(|n| format!(" AS {n}"))
        .unwrap_or_default();
    progress::step(
        log,
        at,
        (*step, x.total),
        &format!("FROM {}{named}", from.image),
    );
    // FROM --platform, else --platform: what the base must be built for.
    let wanted = match &from.platform {
        Some(p) if !p.is_empty() => Some(crate::Platform::parse(p)?),
        _ => x.req.platform.clone(),
    };
    // A stage of this name first, then a `--build-context` image, then the image.
    let named_stage = working
        .iter()
        .any(|w| w.names.contains(&from.image.to_ascii_lowercase()));
    let image = match x.req.context_image(&from.image) {
        Some(r) if !named_stage => r,
        _ => &from.image,
    };
    let base = base_image(x.store, x.lease, working, image, wanted.as_ref())?;
    let s = Planned {
        def,
        stage,
        base: &base,
        is_target,
    };
    if !x.req.layers {
        return build_stage_whole(x, log, working, &s, step);
    }
    let key = cache_key(x, working, &s)?;
    if !x.req.no_cache
        && let Some(id) = cached(x.store, x.lease, &key, x.req.cache_ttl)
    {
        // Unchanged since the last build: the stage's image as it was.
        *step += stage.instructions.len();
        progress::using_cache(log, &id);
        if is_target {
            // Nothing after the target can copy from it: no container needed.
            for t in &x.req.tags {
                x.store.tag(&id, t)?;
            }
        } else {
            keep_stage(x, working, def, &id)?;
        }
        return Ok(id);
    }
    let id = build_stage_layered(x, log, working, &s, step)?;
    remember(x.store, &key, &id);
    if !x.req.no_id_lines {
        progress::done(log, &id);
    }
    if !is_target {
        // Later stages may copy from it.
        keep_stage(x, working, def, &id)?;
    }
    Ok(id)
}

/// A stage's image mounted for the stages after it.
fn keep_stage(
    x: &Executor,
    working: &mut Vec<Working>,
    def: &crate::stages::Stage,
    id: &str,
) -> Result<(), BuildError> {
    let mut w = start_stage(x.store, id, def, x.req)?;
    w.image = Some(id.to_string());
    working.push(w);
    Ok(())
}

/// A stage without `--layers`: one working container from the base, every
/// instruction applied in it, one commit at the end.
fn build_stage_whole(
    x: &Executor,
    log: &mut dyn Write,
    working: &mut Vec<Working>,
    s: &Planned,
    step: &mut usize,
) -> Result<String, BuildError> {
    working.push(start_stage(x.store, s.base, s.def, x.req)?);
    let w = working.last().expect("pushed");
    let at = s.at(x);
    let mut state = StageState::new(x.store, s.base)?;
    // The base image's ONBUILD triggers run first, and are not inherited.
    let triggers = onbuild_triggers(&mut state.config)?;
    let from_roots = x.roots(working);
    for inst in &triggers {
        progress::line(log, at, &format!("ONBUILD {}", inst.original.trim()));
        state.apply(x, Some(w), inst, &from_roots)?;
    }
    for inst in &s.stage.instructions {
        *step += 1;
        progress::step(log, at, (*step, x.total), inst.original.trim());
        state.apply(x, Some(w), inst, &from_roots)?;
    }
    let done: Vec<String> = (s.stage.instructions.iter())
        .map(|i| i.original.trim().to_string())
        .collect();
    let id = commit(x, log, w, &state, s.is_target, Step::Whole(&done))?;
    if !x.req.no_id_lines {
        progress::done(log, &id);
    }
    working.last_mut().expect("pushed").image = Some(id.clone());
    Ok(id)
}
