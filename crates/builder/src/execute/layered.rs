//! A stage built with `--layers`: each RUN, COPY and ADD becomes a layer of
//! its own (an intermediate image), cached under a key chained from the base
//! image through every instruction so far and the content each one reads; a
//! later build reuses every step up to the first that changed. The other
//! instructions change the config, written by the next commit.

use std::io::Write;
use std::path::PathBuf;

use super::Working;
use super::base::{close, start_stage};
use super::cache::{cached, remember, step_key, target_key};
use super::commit::{Step, commit};
use super::driver::{Executor, Planned};
use super::onbuild::onbuild_triggers;
use super::progress;
use super::rootfs::make_dir;
use super::state::StageState;
use crate::error::BuildError;
use crate::instructions::{Instruction, Located};

/// Builds the stage step by step; returns its image.
pub(super) fn build_stage_layered(
    x: &Executor,
    log: &mut dyn Write,
    working: &[Working],
    s: &Planned,
    step: &mut usize,
) -> Result<String, BuildError> {
    let at = s.at(x);
    let mut state = StageState::new(x.store, s.base)?;
    let triggers = onbuild_triggers(&mut state.config)?;
    let from_roots = x.roots(working);
    let mut parent = s.base.to_string();
    let first = format!("berth build layers 1\0{}\0{:?}", s.base, s.stage.args);
    let mut chain = step_key(x, working, &first, None, &state)?;
    // Whether config changed since the last commit.
    let mut pending = false;
    let all = triggers
        .iter()
        .map(|t| (t, true))
        .chain(s.stage.instructions.iter().map(|i| (i, false)));
    for (inst, trigger) in all {
        if trigger {
            progress::line(log, at, &format!("ONBUILD: {}", inst.original.trim()));
        } else {
            *step += 1;
            progress::step(log, at, (*step, x.total), inst.original.trim());
        }
        chain = step_key(x, working, &chain, Some(inst), &state)?;
        if !makes_layer(inst) {
            state.apply(x, None, inst, &from_roots)?;
            pending = true;
            continue;
        }
        if !x.req.no_cache
            && let Some(id) = cached(x.store, x.lease, &chain, x.req.cache_ttl)
        {
            progress::using_cache(log, &id);
            parent = id;
            state.pending_dirs.clear();
            pending = false;
            continue;
        }
        parent = layer(x, log, s, &mut state, &parent, inst, &from_roots)?;
        remember(x.store, &chain, &parent);
        pending = false;
    }
    if !(s.is_target || pending || !state.pending_dirs.is_empty()) {
        return Ok(parent);
    }
    last_layer(x, log, working, s, &mut state, &parent, &chain)
}

/// RUN, COPY and ADD change files: a layer each. The rest only edit the config.
fn makes_layer(inst: &Located) -> bool {
    matches!(
        inst.instruction,
        Instruction::Run(_) | Instruction::Copy(_) | Instruction::Add(_)
    )
}

/// One RUN, COPY or ADD applied over `parent` and committed: its image.
fn layer(
    x: &Executor,
    log: &mut dyn Write,
    s: &Planned,
    state: &mut StageState,
    parent: &str,
    inst: &Located,
    from_roots: &[(Vec<String>, PathBuf)],
) -> Result<String, BuildError> {
    let w = open_step(x, parent, s.def, state)?;
    let applied = state.apply(x, Some(&w), inst, from_roots);
    let id =
        applied.and_then(|()| commit(x, log, &w, state, false, Step::Layer(inst.original.trim())));
    close(x.store, &w);
    id
}

/// The stage's last config (and a target's labels, format, squash) as an
/// image over `parent`, itself cached.
fn last_layer(
    x: &Executor,
    log: &mut dyn Write,
    working: &[Working],
    s: &Planned,
    state: &mut StageState,
    parent: &str,
    chain: &str,
) -> Result<String, BuildError> {
    let end = format!("{chain}\0end\0{}", s.is_target);
    let end = step_key(x, working, &end, None, state)?;
    let end = if s.is_target {
        target_key(&end, x.req)
    } else {
        end
    };
    if !x.req.no_cache
        && let Some(id) = cached(x.store, x.lease, &end, x.req.cache_ttl)
    {
        progress::using_cache(log, &id);
        if s.is_target {
            for t in &x.req.tags {
                x.store.tag(&id, t)?;
            }
        }
        return Ok(id);
    }
    // WORKDIRs made now are files of this step; else only the config changed.
    let step = if state.pending_dirs.is_empty() {
        Step::ConfigOnly
    } else {
        Step::Files
    };
    let w = open_step(x, parent, s.def, state)?;
    let id = commit(x, log, &w, state, s.is_target, step);
    close(x.store, &w);
    let id = id?;
    remember(x.store, &end, &id);
    Ok(id)
}

/// A working container from `parent` for one step, with the WORKDIRs set
/// while none was open made in it.
fn open_step(
    x: &Executor,
    parent: &str,
    def: &crate::stages::Stage,
    state: &mut StageState,
) -> Result<Working, BuildError> {
    let w = start_stage(x.store, parent, def, x.req)?;
    for d in std::mem::take(&mut state.pending_dirs) {
        if let Err(e) = make_dir(&w, &d) {
            close(x.store, &w);
            return Err(BuildError::Workdir {
                dir: d,
                source: Box::new(e),
            });
        }
    }
    Ok(w)
}
