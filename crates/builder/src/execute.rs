//! Running a build, as buildah does: per stage a working container from the
//! base image with its root filesystem mounted; COPY and ADD write into it
//! (every path resolved inside the root it belongs to), RUN runs in it through
//! the engine, the other instructions edit the image config; at the end of a
//! stage the working container is committed (one layer for the stage).
//!
//! One concern a module:
//! - `driver`: the build loop over the planned stages, and the
//!   images lent to `COPY --from` and RUN mounts;
//! - `layered`: a stage built with `--layers`, one cached image a step;
//! - `cache`: cache keys (what decides a result) and their records;
//! - `base`: the image a FROM names, `scratch`, and working containers;
//! - `state`: what a stage accumulates, and the step dispatcher; `config`
//!   the instructions that only edit the image config; `onbuild` ONBUILD;
//! - `run`: RUN in the working container;
//! - `copy`, `context`, `add`, `rootfs`: COPY/ADD as a tar of the sources
//!   (from the context, a stage or a URL) applied to the container's root;
//! - `commit`: a step's or stage's image, tagged when it is the target;
//! - `progress`: the lines the build writes to its log.

mod add;
mod base;
mod cache;
pub use cache::prune_caches;
mod commit;
mod config;
mod context;
mod copy;
mod driver;
mod layered;
mod onbuild;
mod progress;
mod rootfs;
mod run;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_engine::container::Info;
use berth_storage::Store;

pub(crate) use self::add::is_url;
pub(crate) use self::base::scratch;
pub(crate) use self::context::load_ignore;
pub(crate) use self::copy::{CopyKind, Owner, copy_files, parse_mode};
pub use self::driver::build;
pub use crate::error::BuildError;
use crate::stages::BuildOptions;
use crate::{globals, parse, plan};

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
    pub network: Option<berth_engine::network::NetworkMode>,
    /// `--layers` (default): reuse the result of a stage built before from the
    /// same base, instructions and file contents, and keep stages' images.
    pub layers: bool,
    /// `--no-cache`: build every stage again (the result still goes to the cache).
    pub no_cache: bool,
    /// `--secret id=ID,src=PATH`: files RUN --mount=type=secret may read.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `-v SRC:DST[:OPTS]`: bind mounts for every RUN.
    pub volumes: Vec<berth_engine::volumes::VolumeSpec>,
    /// `--format docker`: Docker schema 2, keeping HEALTHCHECK, SHELL and ONBUILD.
    pub docker_format: bool,
    /// `--squash`: the image as one layer.
    pub squash: bool,
    /// `--annotation K=V` on the image's manifest.
    pub annotations: Vec<(String, String)>,
    /// `--platform`: the platform built for (default the host's).
    pub platform: Option<crate::Platform>,
    /// `--ignorefile`: the ignore patterns, instead of the context's own.
    pub ignore_file: Option<PathBuf>,
    /// `--ulimit NAME=SOFT[:HARD]` for every RUN.
    pub ulimits: Vec<String>,
    /// `--security-opt` for every RUN.
    pub security_opt: Vec<String>,
    /// `--runtime-flag`s for the runtime that runs every RUN.
    pub runtime_flags: Vec<String>,
    /// `--runtime` for RUN (None: containers.conf's, else the built-in one).
    pub runtime: Option<String>,
    /// `--timestamp`: seconds since the epoch for every commit's creation time
    /// and its layers' file times (reproducible builds).
    pub timestamp: Option<i64>,
    /// `--ssh ID=SOCKET`: SSH agents RUN --mount=type=ssh may use.
    pub ssh: BTreeMap<String, PathBuf>,
    /// `--build-context NAME=…`: named directories and images.
    pub contexts: BTreeMap<String, crate::inputs::BuildContext>,
    /// `--userns-uid-map/--userns-gid-map`: every stage's working container
    /// in a user namespace of its own with this map.
    pub id_map: Option<berth_storage::idmap::IdMap>,
    /// `--iidfile`: a file the built image's ID is written to.
    pub iid_file: Option<PathBuf>,
    /// No `--> ID` line for each image committed: buildah's bud leaves them
    /// out when the ID goes to an `--iidfile` (podman's build does not).
    pub no_id_lines: bool,
    /// What every RUN gets besides the above (buildah's `--cap-add`,
    /// `--memory`, `--cpu-*`, `--add-host`, `--dns*`, `--no-hosts`,
    /// `--device`, `--shm-size`, namespace flags).
    pub run_with: berth_engine::spec::ProcessOptions,
    /// `--env K=V`: in every RUN's environment (under the stage's ENV) and in
    /// the built image's config.
    pub env: Vec<(String, String)>,
    /// `--from IMAGE`: the first stage's base instead of its FROM's.
    pub from: Option<String>,
    /// `--skip-unused-stages=false`: every stage up to the target is built,
    /// not only those it needs.
    pub all_stages: bool,
    /// `--omit-history`: the built image has no history.
    pub omit_history: bool,
    /// `--manifest LIST`: the built image is added to this list (made when
    /// there is none).
    pub manifest: Option<String>,
    /// `--unsetenv NAME`: the built image goes without these variables.
    pub unsetenv: Vec<String>,
    /// `--os-feature`s the built image needs besides its base's, and
    /// `--os-version` instead of its base's.
    pub os_features: Vec<String>,
    pub os_version: Option<String>,
    /// `--http-proxy` (podman's and buildah's default): RUN gets the proxy
    /// variables of the build's own environment.
    pub http_proxy: bool,
    /// `--cache-ttl`: a cached image made longer ago than this is not used.
    pub cache_ttl: Option<std::time::Duration>,
}

impl BuildRequest {
    /// What must hold before anything is pulled or built, as podman checks
    /// it: the runtime RUN uses can be found, and every `--ulimit` parses.
    pub fn preflight(&self) -> Result<(), BuildError> {
        let conf = berth_engine::conf::get().map_err(berth_engine::Error::from)?;
        let runtime = self.runtime.as_deref().or(conf.runtime.as_deref());
        berth_engine::oci::resolve(runtime.unwrap_or("")).map_err(berth_engine::Error::from)?;
        for u in &self.ulimits {
            berth_engine::security::ulimit(u).map_err(berth_engine::Error::from)?;
        }
        Ok(())
    }

    /// The Containerfile, its first FROM replaced by `--from`'s image.
    pub(crate) fn parse(&self) -> Result<crate::Containerfile, BuildError> {
        let mut cf = parse(&self.containerfile, &self.file_name)?;
        if let (Some(f), Some(first)) = (&self.from, cf.stages.first_mut()) {
            first.from.image = f.clone();
        }
        Ok(cf)
    }

    fn options(&self) -> BuildOptions {
        let mut o = BuildOptions {
            build_args: self.build_args.clone(),
            target: self.target.clone(),
            all_stages: self.all_stages,
            ..Default::default()
        };
        if let Some(p) = &self.platform {
            o.target_platform = p.clone();
        }
        for (name, c) in &self.contexts {
            let source = match c {
                crate::inputs::BuildContext::Directory(_) => crate::ContextSource::Directory,
                crate::inputs::BuildContext::Image(r) => crate::ContextSource::Image(r.clone()),
            };
            o.contexts.insert(name.clone(), source);
        }
        o
    }

    /// The image a `--build-context` of this name stands for.
    pub(crate) fn context_image(&self, name: &str) -> Option<&str> {
        match self.context(name)? {
            crate::inputs::BuildContext::Image(r) => Some(r),
            crate::inputs::BuildContext::Directory(_) => None,
        }
    }

    /// The directory a `--build-context` of this name stands for.
    pub(crate) fn context_dir(&self, name: &str) -> Option<&Path> {
        match self.context(name)? {
            crate::inputs::BuildContext::Directory(d) => Some(d),
            crate::inputs::BuildContext::Image(_) => None,
        }
    }

    fn context(&self, name: &str) -> Option<&crate::inputs::BuildContext> {
        self.contexts
            .get(name)
            .or_else(|| self.contexts.get(&name.to_ascii_lowercase()))
    }
}

/// The images a build reads from the store (bases, `COPY --from` and `RUN
/// --mount` images, not stages or `scratch`), so that a front end can pull
/// them first.
pub fn images_needed(req: &BuildRequest) -> Result<Vec<String>, BuildError> {
    let cf = req.parse()?;
    let opts = req.options();
    let g = globals(&cf, &opts)?;
    let p = plan(&cf, &g, &opts)?;
    let mut out: Vec<String> = Vec::new();
    for i in p.images {
        if !driver::is_stage(&cf, &i.reference)
            && i.reference != "scratch"
            && !out.contains(&i.reference)
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_refuses_a_missing_runtime_and_a_bad_ulimit() {
        let runtime = BuildRequest {
            runtime: Some("/no/such/runtime".into()),
            ..Default::default()
        };
        assert!(matches!(runtime.preflight(), Err(BuildError::Engine(_))));
        let ulimit = BuildRequest {
            ulimits: vec!["nofile=many".into()],
            ..Default::default()
        };
        let e = ulimit.preflight().unwrap_err();
        assert!(e.to_string().contains("nofile=many"), "{e}");
    }
}
