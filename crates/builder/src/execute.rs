//! Running a build, as buildah does: per stage a working container from the
//! base image with its root filesystem mounted; COPY and ADD write into it
//! (every path resolved inside the root it belongs to), RUN runs in it through
//! the engine, the other instructions edit the image config; at the end of a
//! stage the working container is committed (one layer for the stage).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use berth_engine::container::Info;
use berth_engine::leases::Lease;
use berth_engine::run::{self, RunOptions};
use berth_engine::spec::ProcessOptions;
use berth_storage::Store;
use berth_storage::archive::{self, ApplyOptions, WhiteoutMode};
use serde_json::{Value, json};

pub use crate::error::BuildError;
use crate::error::{CopyError, InvalidMode, StepError};
use crate::instructions::{CommandLine, Healthcheck, Instruction, Located};
use crate::stages::{BuildOptions, Vars};
use crate::{Ignore, expand_plan, globals, parse, plan};

/// What `berth build` was asked for.
#[derive(Clone, Debug, Default)]
pub struct BuildRequest {
    /// The Containerfile's text and the name used in messages.
    pub containerfile: String,
    pub file_name: String,
    pub context: PathBuf,
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub labels: Vec<(String, String)>,
    /// `--network` for RUN: none (the default here) or host.
    pub network: Option<String>,
    /// `--layers` (default): reuse the result of a stage built before from the
    /// same base, instructions and file contents, and keep stages' images.
    pub layers: bool,
    /// `--no-cache`: build every stage again (the result still goes to the cache).
    pub no_cache: bool,
    /// `--secret id=ID,src=PATH`: files RUN --mount=type=secret may read.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `-v SRC:DST[:OPTS]`: bind mounts for every RUN.
    pub volumes: Vec<String>,
    /// `--format docker`: Docker schema 2, keeping HEALTHCHECK, SHELL and ONBUILD.
    pub docker_format: bool,
    /// `--squash`: the image as one layer.
    pub squash: bool,
    /// `--annotation K=V` on the image's manifest.
    pub annotations: Vec<(String, String)>,
    /// `--platform`: the platform built for (default the host's).
    pub platform: Option<crate::Platform>,
}

impl BuildRequest {
    fn options(&self) -> BuildOptions {
        let mut o = BuildOptions {
            build_args: self.build_args.clone(),
            target: self.target.clone(),
            ..Default::default()
        };
        if let Some(p) = &self.platform {
            o.target_platform = p.clone();
        }
        o
    }
}

/// The images a build reads from the store (bases, `COPY --from` and `RUN
/// --mount` images, not stages or `scratch`), so that a front end can pull
/// them first.
pub fn images_needed(req: &BuildRequest) -> Result<Vec<String>, BuildError> {
    let cf = parse(&req.containerfile, &req.file_name)?;
    let opts = req.options();
    let g = globals(&cf, &opts)?;
    let p = plan(&cf, &g, &opts)?;
    let mut out: Vec<String> = Vec::new();
    for i in p.images {
        let is_stage = cf.stages.iter().any(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&i.reference))
        });
        if !is_stage && i.reference != "scratch" && !out.contains(&i.reference) {
            out.push(i.reference);
        }
    }
    Ok(out)
}

/// Where a RUN in working container `id` keeps its scratch files (copies of
/// secrets, overlays of writable binds) while it runs.
pub(crate) fn scratch_dir(store: &Store, id: &str) -> PathBuf {
    store.config().run_root.join("build-scratch").join(id)
}

/// A stage being built.
struct Working {
    /// The stage's name (or index) for `COPY --from`.
    names: Vec<String>,
    container: Info,
    rootfs: PathBuf,
    image: Option<String>,
}

/// Builds; progress goes to `log` (podman prints it on stderr). Returns the
/// image ID.
pub fn build(
    store: &Arc<Store>,
    req: &BuildRequest,
    log: &mut dyn Write,
) -> Result<String, BuildError> {
    let cf = parse(&req.containerfile, &req.file_name)?;
    let opts = req.options();
    let g = globals(&cf, &opts)?;
    let p = plan(&cf, &g, &opts)?;
    let image_env = |r: &str| image_env(store, r);
    let stages = expand_plan(&cf, &p, &g, &opts, &image_env)?;
    let ignore = load_ignore(&req.context)?;
    // Until the build ends, the images it uses stay: a prune meanwhile leaves
    // the bases of stages not yet started and what the build commits.
    let lease = Lease::new(&store.config().run_root);
    lease_images(store, &lease, &cf, &p)?;
    // Images that COPY --from or RUN --mount read: mounted through a container each.
    let mut borrowed: Vec<Working> = Vec::new();
    let lent = (|| {
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
            let id = store
                .image(&i.reference)
                .map(|img| img.id)
                .map_err(|_| BuildError::ImageNotPulled(i.reference.clone()))?;
            let o = RunOptions {
                image: id,
                name: None,
                rm: false,
                process: ProcessOptions {
                    network: "none".into(),
                    command: vec!["/bin/true".into()],
                    labels: crate::builder::owned_labels(),
                    ..Default::default()
                },
            };
            let container = run::create(store, &o).map_err(BuildError::CreateContainer)?;
            let rootfs = store.mount(&container.id);
            let rootfs = match rootfs {
                Ok(r) => r,
                Err(e) => {
                    run::remove(store, &container.id);
                    return Err(e.into());
                }
            };
            borrowed.push(Working {
                names: vec![i.reference.to_ascii_lowercase()],
                container,
                rootfs,
                image: None,
            });
        }
        Ok(())
    })();
    let result = lent.and_then(|()| {
        run_stages(
            store, req, log, &cf, &p, &stages, &ignore, &borrowed, &lease,
        )
    });
    for w in &borrowed {
        let _ = store.unmount(&w.container.id, true);
        run::remove(store, &w.container.id);
    }
    result
}

/// Leases the images the plan names that are in the store (stages and
/// `scratch` aside); one missing is reported where it is used.
fn lease_images(
    store: &Store,
    lease: &Lease,
    cf: &crate::Containerfile,
    p: &crate::Plan,
) -> Result<(), BuildError> {
    let _making = lease.making()?;
    for i in &p.images {
        let is_stage = cf.stages.iter().any(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&i.reference))
        });
        if is_stage || i.reference == "scratch" {
            continue;
        }
        if let Ok(img) = store.image(&i.reference) {
            lease.add(&img.id)?;
        }
    }
    Ok(())
}

/// Builds the planned stages; `borrowed` are the roots of images read from.
#[allow(clippy::too_many_arguments)]
fn run_stages(
    store: &Arc<Store>,
    req: &BuildRequest,
    log: &mut dyn Write,
    cf: &crate::Containerfile,
    p: &crate::Plan,
    stages: &[(usize, crate::ExpandedStage)],
    ignore: &Ignore,
    borrowed: &[Working],
    lease: &Lease,
) -> Result<String, BuildError> {
    let total: usize = stages.iter().map(|(_, s)| s.instructions.len() + 1).sum();
    let mut step = 0;
    let mut working: Vec<Working> = Vec::new();
    let result = (|| {
        let mut last = String::new();
        for (index, stage) in stages {
            step += 1;
            let from = &stage.from;
            let _ = writeln!(
                log,
                "[{}/{}] STEP {step}/{total}: FROM {}",
                index + 1,
                cf.stages.len(),
                from.image
            );
            // FROM --platform, else --platform: what the base must be built for.
            let wanted = match &from.platform {
                Some(p) if !p.is_empty() => Some(crate::Platform::parse(p)?),
                _ => req.platform.clone(),
            };
            let base = base_image(store, lease, &working, &from.image, wanted.as_ref())?;
            let is_target = *index == p.target;
            let key = req
                .layers
                .then(|| cache_key(&base, stage, req, &working, borrowed, is_target))
                .transpose()?;
            if let Some(id) = key
                .as_deref()
                .filter(|_| !req.no_cache)
                .and_then(|k| cached(store, lease, k))
            {
                // Unchanged since the last build: the stage's image as it was.
                step += stage.instructions.len();
                let _ = writeln!(log, "--> Using cache {id}");
                if is_target {
                    // Nothing after the target can copy from it: no container needed.
                    for t in &req.tags {
                        store.tag(&id, t)?;
                    }
                } else {
                    let mut w = start_stage(store, &id, &cf.stages[*index], req)?;
                    w.image = Some(id.clone());
                    working.push(w);
                }
                last = id;
                continue;
            }
            if req.layers {
                let id = build_stage_layered(
                    store,
                    req,
                    log,
                    &cf.stages[*index],
                    stage,
                    &base,
                    is_target,
                    &working,
                    borrowed,
                    ignore,
                    lease,
                    (&mut step, total, cf.stages.len()),
                )?;
                if let Some(k) = &key {
                    remember(store, k, &id);
                }
                let _ = writeln!(log, "--> {}", &id[..12.min(id.len())]);
                if !is_target {
                    // Later stages may copy from it.
                    let mut w = start_stage(store, &id, &cf.stages[*index], req)?;
                    w.image = Some(id.clone());
                    working.push(w);
                }
                last = id;
                continue;
            }
            let w = start_stage(store, &base, &cf.stages[*index], req)?;
            working.push(w);
            let w = working.last().expect("pushed");
            let mut state = StageState::new(store, &base)?;
            // The base image's ONBUILD triggers run first, and are not inherited.
            let triggers = onbuild_triggers(&mut state.config)?;
            let from_roots: Vec<(Vec<String>, PathBuf)> = working
                .iter()
                .chain(borrowed)
                .map(|w| (w.names.clone(), w.rootfs.clone()))
                .collect();
            for inst in &triggers {
                let _ = writeln!(
                    log,
                    "[{}/{}] ONBUILD {}",
                    index + 1,
                    cf.stages.len(),
                    inst.original.trim()
                );
                state.apply(store, Some(w), inst, req, ignore, &from_roots)?;
            }
            for inst in &stage.instructions {
                step += 1;
                let _ = writeln!(
                    log,
                    "[{}/{}] STEP {step}/{total}: {}",
                    index + 1,
                    cf.stages.len(),
                    inst.original.trim()
                );
                let from_roots: Vec<(Vec<String>, PathBuf)> = working
                    .iter()
                    .chain(borrowed)
                    .map(|w| (w.names.clone(), w.rootfs.clone()))
                    .collect();
                state.apply(store, Some(w), inst, req, ignore, &from_roots)?;
            }
            let id = commit(store, lease, w, &state, req, is_target, log)?;
            if let Some(k) = &key {
                remember(store, k, &id);
            }
            let _ = writeln!(log, "--> {}", &id[..12.min(id.len())]);
            working.last_mut().expect("pushed").image = Some(id.clone());
            last = id;
        }
        Ok(last)
    })();
    // Working containers go, and the images of stages that were not the target.
    for w in &working {
        let _ = store.unmount(&w.container.id, true);
        run::remove(store, &w.container.id);
    }
    if let Ok(final_id) = &result {
        // With --layers the stages' images stay, as the cache; else they go.
        for w in working.iter().filter(|_| !req.layers) {
            if let Some(i) = &w.image
                && i != final_id
                && let Err(e) = store.remove_image(i)
            {
                let _ = writeln!(log, "warning: could not remove intermediate image {i}: {e}");
            }
        }
        for t in &req.tags {
            let _ = writeln!(log, "Successfully tagged {t}");
        }
    }
    result
}

/// A stage with `--layers`: each RUN, COPY and ADD becomes a layer of its own
/// (an intermediate image), cached under a key chained from the base image
/// through every instruction so far and the content each one reads; a later
/// build reuses every step up to the first that changed. The other
/// instructions change the config, written by the next commit. Returns the
/// stage's image.
#[allow(clippy::too_many_arguments)]
fn build_stage_layered(
    store: &Arc<Store>,
    req: &BuildRequest,
    log: &mut dyn Write,
    stage_def: &crate::stages::Stage,
    stage: &crate::stages::ExpandedStage,
    base: &str,
    is_target: bool,
    working: &[Working],
    borrowed: &[Working],
    ignore: &Ignore,
    lease: &Lease,
    (step, total, stages): (&mut usize, usize, usize),
) -> Result<String, BuildError> {
    let mut state = StageState::new(store, base)?;
    let triggers = onbuild_triggers(&mut state.config)?;
    let from_roots: Vec<(Vec<String>, PathBuf)> = working
        .iter()
        .chain(borrowed)
        .map(|w| (w.names.clone(), w.rootfs.clone()))
        .collect();
    let mut parent = base.to_string();
    let mut chain = step_key(
        &format!("berth build layers 1\0{base}\0{:?}", stage.args),
        None,
        req,
        working,
        borrowed,
        &state,
    )?;
    // The container of the step being run, if any; and whether config changed
    // since the last commit.
    let mut current: Option<Working> = None;
    let mut pending = false;
    let result = (|| {
        let all = triggers
            .iter()
            .map(|t| (t, true))
            .chain(stage.instructions.iter().map(|i| (i, false)));
        for (inst, trigger) in all {
            if !trigger {
                *step += 1;
            }
            let _ = writeln!(
                log,
                "[{}/{stages}] {}: {}",
                stage_def.index + 1,
                if trigger {
                    "ONBUILD".to_string()
                } else {
                    format!("STEP {}/{total}", *step)
                },
                inst.original.trim()
            );
            chain = step_key(&chain, Some(inst), req, working, borrowed, &state)?;
            let fs = matches!(
                inst.instruction,
                Instruction::Run(_) | Instruction::Copy(_) | Instruction::Add(_)
            );
            if !fs {
                state.apply(store, current.as_ref(), inst, req, ignore, &from_roots)?;
                pending = true;
                continue;
            }
            if current.is_none()
                && !req.no_cache
                && let Some(id) = cached(store, lease, &chain)
            {
                let _ = writeln!(log, "--> Using cache {id}");
                parent = id;
                state.pending_dirs.clear();
                pending = false;
                continue;
            }
            let w = match current.take() {
                Some(w) => w,
                None => open_step(store, &parent, stage_def, req, &mut state)?,
            };
            let applied = state.apply(store, Some(&w), inst, req, ignore, &from_roots);
            let id = applied.and_then(|()| {
                commit_as(
                    store,
                    lease,
                    &w,
                    &state,
                    req,
                    false,
                    log,
                    Some(inst.original.trim()),
                )
            });
            close_step(store, &w);
            let id = id?;
            remember(store, &chain, &id);
            parent = id;
            pending = false;
        }
        if !(is_target || pending || !state.pending_dirs.is_empty()) {
            return Ok(parent.clone());
        }
        // The stage's last config (and a target's labels, format, squash).
        let end = step_key(
            &format!("{chain}\0end\0{is_target}"),
            None,
            req,
            working,
            borrowed,
            &state,
        )?;
        let end = if is_target {
            let mut d = berth_image::digest::Digester::new(berth_image::digest::Algorithm::Sha256);
            d.update(
                format!(
                    "{end}\0{:?}\0{:?}\0{}\0{}\0{:?}",
                    req.labels, req.annotations, req.docker_format, req.squash, req.tags
                )
                .as_bytes(),
            );
            d.finish().hex().to_string()
        } else {
            end
        };
        if !req.no_cache
            && let Some(id) = cached(store, lease, &end)
        {
            let _ = writeln!(log, "--> Using cache {id}");
            if is_target {
                for t in &req.tags {
                    store.tag(&id, t)?;
                }
            }
            return Ok(id);
        }
        let w = open_step(store, &parent, stage_def, req, &mut state)?;
        let id = commit_as(store, lease, &w, &state, req, is_target, log, None);
        close_step(store, &w);
        let id = id?;
        remember(store, &end, &id);
        Ok(id)
    })();
    if let Some(w) = current {
        close_step(store, &w);
    }
    result
}

/// A working container from `parent` for one step, with the WORKDIRs set
/// while none was open made in it.
fn open_step(
    store: &Arc<Store>,
    parent: &str,
    stage_def: &crate::stages::Stage,
    req: &BuildRequest,
    state: &mut StageState,
) -> Result<Working, BuildError> {
    let w = start_stage(store, parent, stage_def, req)?;
    for d in std::mem::take(&mut state.pending_dirs) {
        if let Err(e) = make_dir(&w.rootfs, &d) {
            close_step(store, &w);
            return Err(BuildError::Workdir {
                dir: d,
                source: Box::new(e),
            });
        }
    }
    Ok(w)
}

fn close_step(store: &Store, w: &Working) {
    let _ = store.unmount(&w.container.id, true);
    run::remove(store, &w.container.id);
}

/// The next link of a stage's cache chain: the previous key, the instruction
/// as expanded, and what it reads (copied context files, URLs' contents, the
/// images of `--from` stages, context binds of RUN mounts, ARG values).
fn step_key(
    prev: &str,
    inst: Option<&Located>,
    req: &BuildRequest,
    working: &[Working],
    borrowed: &[Working],
    state: &StageState,
) -> Result<String, BuildError> {
    use berth_image::digest::{Algorithm, Digester};
    let mut d = Digester::new(Algorithm::Sha256);
    let mut put = |s: &str| {
        d.update(s.as_bytes());
        d.update(b"\0");
    };
    put(prev);
    put(req.network.as_deref().unwrap_or("none"));
    put(&format!("{:?}", req.volumes));
    let Some(inst) = inst else {
        return Ok(d.finish().hex().to_string());
    };
    put(&format!("{:?}", inst.instruction));
    let image_of = |f: &str| {
        let f = f.to_ascii_lowercase();
        working
            .iter()
            .find(|w| w.names.contains(&f))
            .and_then(|w| w.image.clone())
            .or_else(|| {
                borrowed
                    .iter()
                    .find(|w| w.names.contains(&f))
                    .map(|w| w.container.config.image_id.clone())
            })
            .unwrap_or(f)
    };
    match &inst.instruction {
        Instruction::Copy(c) => match &c.from {
            Some(f) => put(&image_of(f)),
            None => {
                for src in &c.files.sources {
                    put(&content_digest(&req.context, src)?);
                }
            }
        },
        Instruction::Add(a) => {
            for src in &a.files.sources {
                put(&if is_url(src) {
                    url_digest(src)?
                } else {
                    content_digest(&req.context, src)?
                });
            }
        }
        Instruction::Run(r) => {
            put(&format!("{:?}", state.args));
            for m in r.mounts.iter().filter_map(|m| m.mount.as_ref()) {
                if m.kind == crate::MountType::Bind {
                    match &m.from {
                        None => put(&content_digest(
                            &req.context,
                            m.source.as_deref().unwrap_or("."),
                        )?),
                        Some(f) => put(&image_of(f)),
                    }
                }
            }
        }
        _ => {}
    }
    Ok(d.finish().hex().to_string())
}

/// What decides a stage's result: its base image, its expanded instructions,
/// the stage's ARG values (RUN sees them), the contents of the files it copies
/// from the context, the images of the stages it copies from, and the labels a
/// target gets.
fn cache_key(
    base: &str,
    stage: &crate::stages::ExpandedStage,
    req: &BuildRequest,
    working: &[Working],
    borrowed: &[Working],
    is_target: bool,
) -> Result<String, BuildError> {
    use berth_image::digest::{Algorithm, Digester};
    let mut d = Digester::new(Algorithm::Sha256);
    let mut put = |s: &str| {
        d.update(s.as_bytes());
        d.update(b"\0");
    };
    put("berth build cache 1");
    put(base);
    put(&format!("{:?}", stage.args));
    put(req.network.as_deref().unwrap_or("none"));
    if is_target {
        put(&format!("{:?}", req.labels));
        put(&format!(
            "{:?} {} {}",
            req.annotations, req.docker_format, req.squash
        ));
    }
    for inst in &stage.instructions {
        put(&format!("{:?}", inst.instruction));
        let (files, from) = match &inst.instruction {
            Instruction::Copy(c) => (Some(&c.files), c.from.as_deref()),
            Instruction::Add(a) => (Some(&a.files), None),
            _ => (None, None),
        };
        match (files, from) {
            (Some(_), Some(f)) => {
                let img = working
                    .iter()
                    .find(|w| w.names.contains(&f.to_ascii_lowercase()))
                    .and_then(|w| w.image.clone())
                    .or_else(|| {
                        borrowed
                            .iter()
                            .find(|w| w.names.contains(&f.to_ascii_lowercase()))
                            .map(|w| w.container.config.image_id.clone())
                    })
                    .unwrap_or_else(|| f.to_string());
                put(&img);
            }
            (Some(files), None) => {
                for src in &files.sources {
                    put(&if is_url(src) {
                        url_digest(src)?
                    } else {
                        content_digest(&req.context, src)?
                    });
                }
            }
            _ => {}
        }
        // What a RUN binds from the context decides its result too.
        if let Instruction::Run(r) = &inst.instruction {
            for m in r.mounts.iter().filter_map(|m| m.mount.as_ref()) {
                if m.kind == crate::MountType::Bind && m.from.is_none() {
                    put(&content_digest(
                        &req.context,
                        m.source.as_deref().unwrap_or("."),
                    )?);
                }
            }
        }
    }
    Ok(d.finish().hex().to_string())
}

/// A digest of what a context source holds: names, modes, link targets and
/// contents, walked in name order (symlinks not followed).
fn content_digest(context: &Path, src: &str) -> Result<String, BuildError> {
    use berth_image::digest::{Algorithm, Digester};
    use std::os::unix::fs::MetadataExt;
    fn walk(p: &Path, rel: &str, d: &mut Digester, buf: &mut [u8]) -> std::io::Result<()> {
        let md = std::fs::symlink_metadata(p)?;
        d.update(format!("{rel}\0{:o}\0", md.mode()).as_bytes());
        if md.file_type().is_symlink() {
            d.update(std::fs::read_link(p)?.as_os_str().as_encoded_bytes());
        } else if md.is_file() {
            let mut f = std::fs::File::open(p)?;
            loop {
                let n = f.read(buf)?;
                if n == 0 {
                    break;
                }
                d.update(&buf[..n]);
            }
        } else if md.is_dir() {
            let mut names: Vec<_> = std::fs::read_dir(p)?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for n in names {
                walk(
                    &p.join(&n),
                    &format!("{rel}/{}", n.to_string_lossy()),
                    d,
                    buf,
                )?;
            }
        }
        Ok(())
    }
    let mut d = Digester::new(Algorithm::Sha256);
    // One buffer for every file: zeroing a fresh one per small file costs more
    // than hashing it.
    let mut buf = vec![0u8; 256 << 10];
    if src.starts_with("http://") || src.starts_with("https://") || has_glob(src) {
        // Globs and URLs: by the directory as a whole.
        walk(context, ".", &mut d, &mut buf).map_err(CopyError::Io)?;
    } else {
        let path = source_path(context, src)?;
        walk(&path, src, &mut d, &mut buf).map_err(CopyError::Io)?;
    }
    Ok(d.finish().hex().to_string())
}

fn cache_dir(store: &Store) -> PathBuf {
    store.config().graph_root.join("build-cache")
}

/// The image a cache key recorded, if it is still in the store; leased, as
/// the build goes on from it without a container for a while.
fn cached(store: &Store, lease: &Lease, key: &str) -> Option<String> {
    let id = std::fs::read_to_string(cache_dir(store).join(key)).ok()?;
    let id = id.trim().to_string();
    lease
        .hold(|| store.image(&id).map(|i| i.id).map_err(BuildError::from))
        .ok()
}

fn remember(store: &Store, key: &str, id: &str) {
    let dir = cache_dir(store);
    if std::fs::create_dir_all(&dir).is_ok() {
        let tmp = dir.join(format!("{key}.tmp"));
        if std::fs::write(&tmp, id).is_ok() {
            let _ = std::fs::rename(tmp, dir.join(key));
        }
    }
}

fn image_env(store: &Store, reference: &str) -> Vars {
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

fn load_ignore(context: &Path) -> Result<Ignore, BuildError> {
    for name in [".containerignore", ".dockerignore"] {
        if let Ok(text) = std::fs::read_to_string(context.join(name)) {
            return Ignore::parse(&text)
                .map_err(|source| BuildError::Ignore { file: name, source });
        }
    }
    Ok(Ignore::default())
}

/// The base config's ONBUILD triggers as instructions (taken out of the
/// config: a child does not pass them on).
fn onbuild_triggers(config: &mut Value) -> Result<Vec<Located>, BuildError> {
    let Some(list) = config.as_object_mut().and_then(|o| o.remove("OnBuild")) else {
        return Ok(Vec::new());
    };
    let text: String = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .map(|t| format!("{t}\n"))
        .collect();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let ast = crate::parse_ast(&text, "ONBUILD")?;
    let insts = crate::parse_instructions(&ast, "ONBUILD")?;
    if let Some(bad) = insts.iter().find(|i| {
        matches!(
            i.instruction,
            Instruction::From(_) | Instruction::Onbuild(_)
        )
    }) {
        return Err(BuildError::BadTrigger(bad.original.trim().to_string()));
    }
    Ok(insts)
}

/// The image a FROM names: an earlier stage's result, `scratch`, or a local image.
fn base_image(
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
    let name = if p == &host {
        "localhost/berth-scratch:latest".to_string()
    } else {
        format!("localhost/berth-scratch:{}", p.format().replace('/', "-"))
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

fn start_stage(
    store: &Arc<Store>,
    base: &str,
    stage: &crate::stages::Stage,
    req: &BuildRequest,
) -> Result<Working, BuildError> {
    let o = RunOptions {
        image: base.to_string(),
        name: None,
        rm: false,
        process: ProcessOptions {
            network: req.network.clone().unwrap_or_else(|| "none".into()),
            command: vec!["/bin/sh".into()],
            labels: crate::builder::owned_labels(),
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

/// The PATH a stage gets when its base has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The config and settings a stage accumulates.
struct StageState {
    config: Value,
    env: Vars,
    args: Vars,
    workdir: String,
    user: Option<String>,
    shell: Vec<String>,
    history: Vec<String>,
    /// WORKDIRs set while no container was open, made in the next one.
    pending_dirs: Vec<String>,
}

impl StageState {
    fn new(store: &Store, base: &str) -> Result<StageState, BuildError> {
        let img = store.image(base)?;
        let full: Value = serde_json::from_slice(&store.image_config(&img)?)?;
        let config = if full["config"].is_object() {
            full["config"].clone()
        } else {
            json!({})
        };
        let mut env = Vars::default();
        // A base without PATH gets the default one first, as buildah and
        // Docker's builder give it (RUN needs it; ENV PATH replaces it in place).
        if !config["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e.as_str().is_some_and(|s| s.starts_with("PATH=")))
        {
            env.set("PATH", DEFAULT_PATH);
        }
        for e in config["Env"].as_array().into_iter().flatten() {
            if let Some((k, v)) = e.as_str().and_then(|s| s.split_once('=')) {
                env.set(k, v);
            }
        }
        let mut config = config;
        config["Env"] = json!(
            env.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        );
        let workdir = config["WorkingDir"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("/")
            .to_string();
        let user = config["User"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(String::from);
        let shell = config["Shell"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
        Ok(StageState {
            config,
            env,
            args: Vars::default(),
            workdir,
            user,
            shell,
            history: Vec::new(),
            pending_dirs: Vec::new(),
        })
    }

    /// Applies one instruction. RUN, COPY and ADD need the working container
    /// `w`; the others only change the state (WORKDIR's directory is made in
    /// `w`, or noted for the next container when there is none).
    fn apply(
        &mut self,
        store: &Store,
        w: Option<&Working>,
        inst: &Located,
        req: &BuildRequest,
        ignore: &Ignore,
        stages: &[(Vec<String>, PathBuf)],
    ) -> Result<(), BuildError> {
        self.history.push(inst.original.trim().to_string());
        let step = |e: StepError| BuildError::Step {
            instruction: inst.original.trim().to_string(),
            source: Box::new(e),
        };
        let words = |c: &CommandLine, shell: &[String]| match c {
            CommandLine::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect::<Vec<_>>(),
            CommandLine::Exec(v) => v.clone(),
        };
        match &inst.instruction {
            Instruction::Run(r) => {
                let w = w.ok_or(BuildError::NoWorkingContainer)?;
                let mut args = words(&r.command, &self.shell);
                if let (Some(h), CommandLine::Shell(_)) = (r.heredocs.first(), &r.command) {
                    args = self
                        .shell
                        .iter()
                        .cloned()
                        .chain([h.content.clone()])
                        .collect();
                }
                let scratch = scratch_dir(store, &w.container.id);
                let sources = crate::run_mounts::Sources {
                    context: &req.context,
                    stages,
                    secrets: &req.secrets,
                    cache_root: store.config().graph_root.join("build-cache-mounts"),
                    scratch: scratch.clone(),
                    workdir: &self.workdir,
                };
                let mut mounts =
                    crate::run_mounts::prepare(&r.mounts, &sources).map_err(|e| step(e.into()))?;
                let made: Vec<PathBuf> = mounts
                    .targets()
                    .iter()
                    .flat_map(|t| crate::run_mounts::missing(&w.rootfs, t))
                    .collect();
                let network = match r.network {
                    Some(crate::Network::None) => Some("none".to_string()),
                    Some(crate::Network::Host) => Some("host".to_string()),
                    _ => None,
                };
                let code = self.run(store, w, args, req, &mounts, network);
                mounts.release();
                crate::run_mounts::remove_made(&w.rootfs, &made);
                let _ = std::fs::remove_dir_all(&scratch);
                let code = code?;
                if code != 0 {
                    return Err(BuildError::RunFailed {
                        instruction: inst.original.trim().to_string(),
                        code,
                    });
                }
            }
            Instruction::Copy(c) => {
                let w = w.ok_or(BuildError::NoWorkingContainer)?;
                let from_root = match &c.from {
                    None => None,
                    Some(f) => Some(
                        stages
                            .iter()
                            .find(|(names, _)| names.contains(&f.to_ascii_lowercase()))
                            .map(|(_, r)| r.clone())
                            .ok_or_else(|| step(StepError::NoStage(f.clone())))?,
                    ),
                };
                let (root, ign) = match &from_root {
                    Some(r) => (r.as_path(), None),
                    None => (req.context.as_path(), Some(ignore)),
                };
                let owner = self.owner(&w.rootfs, c.chown.as_deref()).map_err(step)?;
                let mode = parse_mode(c.chmod.as_deref()).map_err(|e| step(e.into()))?;
                // From the context files become root's; from a stage they keep
                // their owners (unless --chown), as Docker does.
                let owner = Owner {
                    set: owner,
                    keep: from_root.is_some(),
                };
                copy_files(
                    root,
                    ign,
                    &c.files,
                    &w.rootfs,
                    &self.workdir,
                    owner,
                    mode,
                    false,
                )
                .map_err(|e| step(e.into()))?;
            }
            Instruction::Add(a) => {
                let w = w.ok_or(BuildError::NoWorkingContainer)?;
                let owner = self.owner(&w.rootfs, a.chown.as_deref()).map_err(step)?;
                let mode = parse_mode(a.chmod.as_deref()).map_err(|e| step(e.into()))?;
                let owner = Owner {
                    set: owner,
                    keep: false,
                };
                copy_files(
                    &req.context,
                    Some(ignore),
                    &a.files,
                    &w.rootfs,
                    &self.workdir,
                    owner,
                    mode,
                    true,
                )
                .map_err(|e| step(e.into()))?;
            }
            Instruction::Env(pairs) => {
                for kv in pairs {
                    self.env.set(&kv.key, &kv.value);
                }
                self.config["Env"] = json!(
                    self.env
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                );
            }
            Instruction::Arg(defs) => {
                for d in defs {
                    if let Some(v) = &d.default {
                        self.args.set(&d.name, v);
                    }
                }
            }
            Instruction::Workdir(d) => {
                let d = if d.starts_with('/') {
                    d.clone()
                } else {
                    format!("{}/{d}", self.workdir.trim_end_matches('/'))
                };
                match w {
                    Some(w) => make_dir(&w.rootfs, &d).map_err(|e| step(e.into()))?,
                    None => self.pending_dirs.push(d.clone()),
                }
                self.workdir = d.clone();
                self.config["WorkingDir"] = json!(d);
            }
            Instruction::User(u) => {
                self.user = Some(u.clone());
                self.config["User"] = json!(u);
            }
            Instruction::Cmd(c) => self.config["Cmd"] = json!(words(c, &self.shell)),
            Instruction::Entrypoint(c) => {
                self.config["Entrypoint"] = json!(words(c, &self.shell));
                // A new entrypoint drops an inherited CMD, as Docker does.
                if let Some(o) = self.config.as_object_mut() {
                    o.remove("Cmd");
                }
            }
            Instruction::Shell(s) => {
                self.shell = s.clone();
                self.config["Shell"] = json!(s);
            }
            Instruction::Label(pairs) => {
                for kv in pairs {
                    self.config["Labels"][&kv.key] = json!(kv.value);
                }
            }
            Instruction::Maintainer(m) => self.config["Labels"]["maintainer"] = json!(m),
            Instruction::Expose(ports) => {
                for p in ports {
                    let key = if p.contains('/') {
                        p.clone()
                    } else {
                        format!("{p}/tcp")
                    };
                    self.config["ExposedPorts"][key] = json!({});
                }
            }
            Instruction::Volume(vols) => {
                for v in vols {
                    self.config["Volumes"][v] = json!({});
                }
            }
            Instruction::StopSignal(s) => self.config["StopSignal"] = json!(s),
            Instruction::Onbuild(o) => {
                let list = self.config["OnBuild"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut list = list;
                list.push(json!(o.expression));
                self.config["OnBuild"] = json!(list);
            }
            Instruction::Healthcheck(h) => {
                self.config["Healthcheck"] = match h {
                    Healthcheck::None => json!({"Test": ["NONE"]}),
                    Healthcheck::Check(c) => {
                        // Unset timings are left out, as Docker writes them.
                        let mut h = json!({"Test": c.test});
                        for (k, d) in [
                            ("Interval", c.interval),
                            ("Timeout", c.timeout),
                            ("StartPeriod", c.start_period),
                        ] {
                            if let Some(d) = d {
                                h[k] = json!(d.as_nanos() as u64);
                            }
                        }
                        if let Some(r) = c.retries {
                            h["Retries"] = json!(r);
                        }
                        h
                    }
                };
            }
            Instruction::From(_) => {}
        }
        Ok(())
    }

    /// RUN: the command over the working container's root, with the stage's
    /// environment (ENV, then ARGs), working directory and user.
    fn run(
        &self,
        store: &Store,
        w: &Working,
        args: Vec<String>,
        req: &BuildRequest,
        mounts: &crate::run_mounts::Prepared,
        network: Option<String>,
    ) -> Result<i32, BuildError> {
        let mut env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for (k, v) in self.args.iter() {
            if self.env.get(k).is_none() {
                env.push(format!("{k}={v}"));
            }
        }
        env.extend(mounts.env.iter().cloned());
        let mut info = w.container.clone();
        info.config.process = ProcessOptions {
            command: args,
            entrypoint: Some(Vec::new()),
            env,
            workdir: Some(self.workdir.clone()),
            user: self.user.clone(),
            network: network
                .or_else(|| req.network.clone())
                .unwrap_or_else(|| "none".into()),
            volumes: req.volumes.iter().chain(&mounts.volumes).cloned().collect(),
            tmpfs: mounts.tmpfs.clone(),
            ..Default::default()
        };
        run::run_container(store, &info).map_err(BuildError::Run)
    }

    /// `--chown USER[:GROUP]`, names resolved in the stage's own /etc/passwd.
    fn owner(&self, rootfs: &Path, chown: Option<&str>) -> Result<Option<(u64, u64)>, StepError> {
        match chown {
            None => Ok(None),
            Some(c) => {
                let u = berth_engine::spec::user(rootfs, c).map_err(StepError::Chown)?;
                Ok(Some((u64::from(u.uid), u64::from(u.gid))))
            }
        }
    }
}

pub(crate) fn parse_mode(chmod: Option<&str>) -> Result<Option<u32>, InvalidMode> {
    chmod
        .map(|m| u32::from_str_radix(m, 8).map_err(|_| InvalidMode(m.to_string())))
        .transpose()
}

fn commit(
    store: &Arc<Store>,
    lease: &Lease,
    w: &Working,
    state: &StageState,
    req: &BuildRequest,
    is_target: bool,
    log: &mut dyn Write,
) -> Result<String, BuildError> {
    commit_as(store, lease, w, state, req, is_target, log, None)
}

/// [`commit`] with the history entry naming the instruction that made the layer.
/// The image is leased: the next step or stage starts from it.
#[allow(clippy::too_many_arguments)]
fn commit_as(
    store: &Arc<Store>,
    lease: &Lease,
    w: &Working,
    state: &StageState,
    req: &BuildRequest,
    is_target: bool,
    log: &mut dyn Write,
    instruction: Option<&str>,
) -> Result<String, BuildError> {
    let mut config = state.config.clone();
    let mut dropped = Vec::new();
    if is_target {
        for (k, v) in &req.labels {
            config["Labels"][k] = json!(v);
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
    let o = berth_engine::commit::CommitOptions {
        reference,
        message: None,
        author: None,
        pause: false,
        edit: &edit,
        created_by: Some(match instruction {
            Some(i) => format!("/bin/sh -c #(nop) {i}"),
            None => "berth build".to_string(),
        }),
        annotations: if is_target {
            req.annotations.clone()
        } else {
            Vec::new()
        },
        docker: is_target && req.docker_format,
        squash: is_target && req.squash,
    };
    for d in dropped {
        let _ = writeln!(
            log,
            "WARN: {d} is not supported for OCI image format and will be ignored. Must use `docker` format"
        );
    }
    let id = lease.hold(|| {
        berth_engine::commit::commit(store, &w.container.id, &o).map_err(BuildError::from)
    })?;
    if is_target {
        for t in req.tags.iter().skip(1) {
            store.tag(&id, t)?;
        }
    }
    let _ = state.history.len();
    Ok(id)
}

/// A path inside the container from a COPY destination (relative to WORKDIR).
fn container_path(dest: &str, workdir: &str) -> PathBuf {
    let full = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{}/{dest}", workdir.trim_end_matches('/'))
    };
    let mut out = PathBuf::new();
    for c in Path::new(&full).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Makes a directory (and its parents) inside the root.
pub(crate) fn make_dir(rootfs: &Path, dir: &str) -> Result<(), CopyError> {
    let rel = container_path(dir, "/");
    if rel.as_os_str().is_empty() {
        return Ok(());
    }
    let mut b = tar::Builder::new(Vec::new());
    let mut h = new_header(tar::EntryType::Directory, 0o755, 0);
    b.append_data(&mut h, format!("{}/", rel.display()), std::io::empty())?;
    apply(rootfs, &b.into_inner()?)
}

/// A header for an entry the builder makes itself: root-owned, stamped now.
fn new_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    h
}

fn apply_stream(rootfs: &Path, tar: impl Read) -> Result<(), CopyError> {
    let mut opts = ApplyOptions::new(WhiteoutMode::Literal);
    opts.sync = false;
    archive::apply_layer(tar, rootfs, &opts, None)
        .map(drop)
        .map_err(CopyError::Apply)
}

fn apply(rootfs: &Path, tar: &[u8]) -> Result<(), CopyError> {
    apply_stream(rootfs, tar)
}

/// A source path inside `root`, without `..` climbing out, symlinks resolved
/// inside `root`.
fn source_path(root: &Path, src: &str) -> Result<PathBuf, CopyError> {
    let rel = container_path(src, "/");
    let clean = crate::ignore::clean(src);
    if clean.starts_with("..") {
        return Err(CopyError::OutsideContext(src.to_string()));
    }
    let resolved =
        archive::resolve_in_root(root, &rel).ok_or_else(|| CopyError::NoSource(src.to_string()))?;
    Ok(root.join(resolved))
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Sources matching a pattern in its last component (`*.txt`, `dir/a?`).
fn glob(root: &Path, src: &str) -> Result<Vec<(PathBuf, String)>, CopyError> {
    let (dir, pat) = src.rsplit_once('/').unwrap_or(("", src));
    let base = source_path(root, if dir.is_empty() { "." } else { dir })?;
    let matcher = Ignore::parse(pat)?;
    let mut out = Vec::new();
    for e in std::fs::read_dir(&base).map_err(read_error(src))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if matcher.is_excluded(&name) {
            out.push((
                e.path(),
                format!(
                    "{}{name}",
                    if dir.is_empty() {
                        String::new()
                    } else {
                        format!("{dir}/")
                    }
                ),
            ));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(CopyError::NoMatch(src.to_string()));
    }
    Ok(out)
}

/// A source, named as the instruction names it, that could not be read.
fn read_error(shown: &str) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Read {
        source_name: shown.to_string(),
        source,
    }
}

/// A host file that could not be read or archived.
fn entry_error(path: &Path) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Entry {
        path: path.to_path_buf(),
        source,
    }
}

/// Who copied files belong to: `set` (`--chown`), else their own owner when
/// `keep`, else root.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) set: Option<(u64, u64)>,
    pub(crate) keep: bool,
}

impl Owner {
    fn of(self, md: &std::fs::Metadata) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        match self.set {
            Some(o) => o,
            None if self.keep => (u64::from(md.uid()), u64::from(md.gid())),
            None => (0, 0),
        }
    }
}

/// COPY/ADD: sources from `root` (the context or a stage's root) into the
/// container, as one tar applied by the layer extractor.
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_files(
    root: &Path,
    ignore: Option<&Ignore>,
    files: &crate::Files,
    rootfs: &Path,
    workdir: &str,
    owner: Owner,
    mode: Option<u32>,
    add: bool,
) -> Result<(), CopyError> {
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    // Downloads of ADD's URLs live here until the copy is done.
    let downloads = tempfile::tempdir()?;
    for (n, s) in files.sources.iter().enumerate() {
        if add && is_url(s) {
            let dir = downloads.path().join(n.to_string());
            sources.push((download(s, &dir)?, s.clone()));
            continue;
        }
        if has_glob(s) {
            sources.extend(glob(root, s)?);
        } else {
            sources.push((source_path(root, s)?, crate::ignore::clean(s)));
        }
    }
    let dest = container_path(&files.dest, workdir);
    // Symlinks on the way to the destination resolve inside the container.
    let dest = match archive::resolve_in_root(rootfs, &dest) {
        Some(d) => d,
        None => match dest
            .parent()
            .and_then(|p| archive::resolve_in_root(rootfs, p))
        {
            Some(p) => p.join(dest.file_name().unwrap_or_default()),
            None => dest.clone(),
        },
    };
    let into_dir = files.dest.ends_with('/')
        || sources.len() + files.inline.len() > 1
        || archive::is_dir_in_root(rootfs, &dest);
    // A destination directory the copy creates gets its owner (`--chown`).
    let make_dest = archive::resolve_in_root(rootfs, &dest).is_none();
    // The tar is streamed to the extractor through a pipe, never held whole.
    let (r, w) = std::io::pipe()?;
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<(), CopyError> {
            let mut b = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, w));
            b.follow_symlinks(false);
            write_sources(
                &mut b, files, &sources, &dest, into_dir, make_dest, ignore, owner, mode, add,
            )?;
            b.into_inner().and_then(|mut w| w.flush())?;
            Ok(())
        });
        let applied = apply_stream(rootfs, r);
        let produced = producer.join().expect("tar thread");
        match (produced, applied) {
            (Ok(()), a) => a,
            // The extractor refused something: the writer only saw the pipe close.
            (Err(p), Err(a)) if p.is_broken_pipe() => Err(a),
            (Err(p), _) => Err(p),
        }
    })
}

/// The tar entries of COPY/ADD's sources.
#[allow(clippy::too_many_arguments)]
fn write_sources<W: Write>(
    b: &mut tar::Builder<W>,
    files: &crate::Files,
    sources: &[(PathBuf, String)],
    dest: &Path,
    into_dir: bool,
    make_dest: bool,
    ignore: Option<&Ignore>,
    owner: Owner,
    mode: Option<u32>,
    add: bool,
) -> Result<(), CopyError> {
    let dest = dest.to_path_buf();
    let mut made = !make_dest;
    for inline in &files.inline {
        let target = if into_dir {
            dest.join(&inline.name)
        } else {
            dest.clone()
        };
        let mut h = new_header(
            tar::EntryType::Regular,
            mode.unwrap_or(0o644),
            inline.content.len() as u64,
        );
        let (u, g) = owner.set.unwrap_or((0, 0));
        h.set_uid(u);
        h.set_gid(g);
        b.append_data(&mut h, &target, inline.content.as_bytes())?;
    }
    for (path, shown) in sources {
        let md = std::fs::symlink_metadata(path).map_err(read_error(shown))?;
        // A downloaded archive stays an archive, as Docker has it.
        if add && md.is_file() && !is_url(shown) && is_archive(path) {
            unpack(b, path, &dest, owner.set)?;
            continue;
        }
        if md.is_dir() {
            if !made && !dest.as_os_str().is_empty() {
                // The directory's contents go into DEST, which takes the
                // directory's own metadata (and --chown), as buildah does.
                add_entry(b, path, &md, &dest, owner, None)?;
                made = true;
            }
            add_tree(b, path, shown, &dest, ignore, owner, mode)?;
        } else {
            if ignore.is_some_and(|i| i.is_excluded(shown)) {
                return Err(CopyError::Excluded(shown.clone()));
            }
            let name = path.file_name().unwrap_or_default();
            let target = if into_dir {
                dest.join(name)
            } else {
                dest.clone()
            };
            add_entry(b, path, &md, &target, owner, mode)?;
        }
    }
    Ok(())
}

fn add_entry<W: Write>(
    b: &mut tar::Builder<W>,
    path: &Path,
    md: &std::fs::Metadata,
    target: &Path,
    owner: Owner,
    mode: Option<u32>,
) -> Result<(), CopyError> {
    use std::os::unix::fs::MetadataExt;
    let mut h = tar::Header::new_gnu();
    h.set_metadata_in_mode(md, tar::HeaderMode::Complete);
    let (u, g) = owner.of(md);
    h.set_uid(u);
    h.set_gid(g);
    if let Some(m) = mode {
        h.set_mode(m);
    } else {
        h.set_mode(md.mode() & 0o7777);
    }
    let ft = md.file_type();
    let r = if ft.is_symlink() {
        let t = std::fs::read_link(path)?;
        h.set_size(0);
        b.append_link(&mut h, target, t)
    } else if ft.is_dir() {
        h.set_size(0);
        b.append_data(&mut h, target, std::io::empty())
    } else if ft.is_file() {
        let f = std::fs::File::open(path).map_err(entry_error(path))?;
        h.set_size(md.len());
        b.append_data(&mut h, target, f.take(md.len()))
    } else {
        return Ok(());
    };
    r.map_err(entry_error(path))
}

/// A directory's contents (not the directory itself) under `dest`, skipping
/// what the ignore file excludes; symlinks are copied, never followed.
#[allow(clippy::too_many_arguments)]
fn add_tree<W: Write>(
    b: &mut tar::Builder<W>,
    dir: &Path,
    shown: &str,
    dest: &Path,
    ignore: Option<&Ignore>,
    owner: Owner,
    mode: Option<u32>,
) -> Result<(), CopyError> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_error(shown))?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for n in names {
        let path = dir.join(&n);
        let rel = if shown == "." || shown.is_empty() {
            n.to_string_lossy().into_owned()
        } else {
            format!("{}/{}", shown.trim_end_matches('/'), n.to_string_lossy())
        };
        let md = std::fs::symlink_metadata(&path).map_err(read_error(&rel))?;
        let excluded = ignore.is_some_and(|i| i.is_excluded(&rel));
        if excluded && !(md.is_dir() && ignore.is_some_and(|i| !i.may_skip_dir(&rel))) {
            continue;
        }
        let target = dest.join(&n);
        if md.is_dir() {
            if !excluded {
                add_entry(b, &path, &md, &target, owner, mode)?;
            }
            add_tree(b, &path, &rel, &target, ignore, owner, mode)?;
        } else if !excluded {
            add_entry(b, &path, &md, &target, owner, mode)?;
        }
    }
    Ok(())
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// The largest file ADD downloads.
const MAX_DOWNLOAD: u64 = 8 << 30;

fn get(url: &str) -> Result<Box<dyn Read + Send>, CopyError> {
    berth_image::http::get_body(url).map_err(CopyError::Fetch)
}

fn download_error(url: &str) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Download {
        url: url.to_string(),
        source,
    }
}

/// ADD of a URL: the file, named as the URL's last path segment, in `dir`.
fn download(url: &str, dir: &Path) -> Result<PathBuf, CopyError> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.contains(':'))
        .filter(|s| *s != "." && *s != "..")
        .unwrap_or("download");
    std::fs::create_dir_all(dir)?;
    let file = dir.join(name);
    let resp = get(url)?;
    let mut out = std::fs::File::create(&file)?;
    let n =
        std::io::copy(&mut resp.take(MAX_DOWNLOAD + 1), &mut out).map_err(download_error(url))?;
    if n > MAX_DOWNLOAD {
        return Err(CopyError::TooLarge {
            url: url.to_string(),
            limit: MAX_DOWNLOAD,
        });
    }
    // Docker's mode for downloaded files.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// What a URL serves now, as a digest: ADD's part of the cache key.
fn url_digest(url: &str) -> Result<String, CopyError> {
    use berth_image::digest::{Algorithm, Digester};
    let mut d = Digester::new(Algorithm::Sha256);
    d.update(url.as_bytes());
    let mut r = get(url)?.take(MAX_DOWNLOAD);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf).map_err(download_error(url))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    Ok(d.finish().hex().to_string())
}

fn is_archive(path: &Path) -> bool {
    let mut head = [0u8; 512];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let c = berth_image::manifest::Compression::sniff(&head[..n.min(4)]);
    c != berth_image::manifest::Compression::None || (n >= 262 && &head[257..262] == b"ustar")
}

/// ADD of a local archive: its entries re-rooted under `dest`.
fn unpack<W: Write>(
    b: &mut tar::Builder<W>,
    path: &Path,
    dest: &Path,
    owner: Option<(u64, u64)>,
) -> Result<(), CopyError> {
    let f = std::fs::File::open(path)?;
    let mut r = std::io::BufReader::new(f);
    let head = std::io::BufRead::fill_buf(&mut r)?;
    let c = berth_image::manifest::Compression::sniff(&head[..head.len().min(4)]);
    let plain = berth_image::blob::decompress(r, c);
    let mut ar = tar::Archive::new(plain);
    for e in ar.entries()? {
        let mut e = e?;
        let p = e.path()?.into_owned();
        let rel: PathBuf = p
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        let mut h = e.header().clone();
        if let Some((u, g)) = owner {
            h.set_uid(u);
            h.set_gid(g);
        }
        let target = dest.join(&rel);
        let kind = h.entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let t = e.link_name()?.unwrap_or_default().into_owned();
            let t = if kind.is_hard_link() { dest.join(t) } else { t };
            b.append_link(&mut h, &target, t)?;
        } else {
            let mut data = Vec::new();
            e.read_to_end(&mut data)?;
            b.append_data(&mut h, &target, &data[..])?;
        }
    }
    Ok(())
}
