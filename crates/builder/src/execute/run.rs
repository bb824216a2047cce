//! RUN: the command in the stage's working container, through the engine,
//! with the stage's environment and the instruction's `--mount`s.

use std::path::PathBuf;

use berth_engine::run;
use berth_engine::spec::ProcessOptions;

use super::Working;
use super::config::words;
use super::driver::Executor;
use super::scratch_dir;
use super::state::{StageState, step_error};
use crate::error::BuildError;
use crate::instructions::{CommandLine, Located};
use crate::run_mounts::{self, Prepared, Sources};

impl StageState {
    /// RUN: its mounts prepared (and their missing targets made) for the
    /// time the command runs; a command that fails fails the build.
    pub(super) fn run(
        &self,
        x: &Executor,
        w: &Working,
        inst: &Located,
        r: &crate::Run,
        stages: &[(Vec<String>, PathBuf)],
    ) -> Result<(), BuildError> {
        let step = step_error(inst);
        let args = self.command(r);
        let scratch = scratch_dir(x.store, &w.container.id);
        let sources = Sources {
            context: &x.req.context,
            stages,
            secrets: &x.req.secrets,
            ssh: &x.req.ssh,
            cache_root: x.store.config().graph_root.join("build-cache-mounts"),
            scratch: scratch.clone(),
            workdir: &self.workdir,
        };
        let mut mounts = run_mounts::prepare(&r.mounts, &sources).map_err(|e| step(e.into()))?;
        // A VOLUME the image lacks is there for the command, as under buildah:
        // an empty tmpfs, whose content goes with it (its mount point too;
        // buildah keeps that as an empty directory).
        let targets = mounts.targets();
        let volumes = self.config["Volumes"].as_object().into_iter().flatten();
        for v in volumes.map(|(k, _)| k).filter(|v| v.starts_with('/')) {
            if !targets.contains(v) && !run_mounts::missing(&w.rootfs, v).is_empty() {
                mounts.tmpfs.push(berth_engine::volumes::TmpfsSpec {
                    destination: v.clone(),
                    options: Vec::new(),
                });
            }
        }
        let made: Vec<PathBuf> = mounts
            .targets()
            .iter()
            .flat_map(|t| run_mounts::missing(&w.rootfs, t))
            .collect();
        let network = match r.network {
            Some(crate::Network::None) => Some(berth_engine::network::NetworkMode::None),
            Some(crate::Network::Host) => Some(berth_engine::network::NetworkMode::Host),
            _ => None,
        };
        let code = self.run_in(x, w, args, &mounts, network);
        mounts.release();
        run_mounts::remove_made(&w.rootfs, &made);
        let _ = std::fs::remove_dir_all(&scratch);
        let code = code?;
        if berth_runtime::create::interrupted() {
            return Err(BuildError::Interrupted {
                instruction: inst.original.trim().to_string(),
            });
        }
        if code != 0 {
            return Err(BuildError::RunFailed {
                instruction: inst.original.trim().to_string(),
                code,
            });
        }
        Ok(())
    }

    /// RUN's argv; a heredoc in the shell form is the script the shell runs.
    fn command(&self, r: &crate::Run) -> Vec<String> {
        match (r.heredocs.first(), &r.command) {
            (Some(h), CommandLine::Shell(_)) => self
                .shell
                .iter()
                .cloned()
                .chain([h.content.clone()])
                .collect(),
            _ => words(&r.command, &self.shell),
        }
    }

    /// The command over the working container's root, with the stage's
    /// environment (ENV, then ARGs), working directory and user.
    fn run_in(
        &self,
        x: &Executor,
        w: &Working,
        args: Vec<String>,
        mounts: &Prepared,
        network: Option<berth_engine::network::NetworkMode>,
    ) -> Result<i32, BuildError> {
        let mut env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        // --env's, under the stage's own ENV.
        for (k, v) in &x.req.env {
            if self.env.get(k).is_none() {
                env.push(format!("{k}={v}"));
            }
        }
        for (k, v) in self.args.iter() {
            if self.env.get(k).is_none() {
                env.push(format!("{k}={v}"));
            }
        }
        env.extend(mounts.env.iter().cloned());
        if x.req.http_proxy {
            let proxies = crate::builder::proxy_env(&env);
            env.extend(proxies);
        }
        let mut info = w.container.clone();
        info.config.process = ProcessOptions {
            command: args,
            entrypoint: Some(Vec::new()),
            env,
            workdir: Some(self.workdir.clone()),
            user: self.user.clone(),
            // A numeric USER gets no /etc/passwd line: buildah writes none
            // into the layer.
            keep_passwd: true,
            // `private`: one of its own on the default network.
            network: run::resolve_private(
                network
                    .or_else(|| x.req.network.clone())
                    .unwrap_or(berth_engine::network::NetworkMode::None),
            )
            .map_err(BuildError::Run)?,
            volumes: x
                .req
                .volumes
                .iter()
                .chain(&mounts.volumes)
                .cloned()
                .collect(),
            tmpfs: mounts.tmpfs.clone(),
            ulimits: x.req.ulimits.clone(),
            security_opt: x.req.security_opt.clone(),
            runtime_flags: x.req.runtime_flags.clone(),
            runtime: x.req.runtime.clone(),
            id_map: x.req.id_map.clone(),
            ..x.req.run_with.clone()
        };
        let ended = run::run_container_ended(x.store, &info).map_err(BuildError::Run)?;
        Ok(crate::builder::buildah_exit(ended))
    }
}
