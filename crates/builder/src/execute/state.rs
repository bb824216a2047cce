//! What a stage accumulates while it is built (the image config, ENV and ARG
//! values, WORKDIR, USER, SHELL), read from its base image, and the step
//! dispatcher that applies one instruction to it.

use std::path::PathBuf;

use berth_storage::Store;
use serde_json::{Value, json};

use super::Working;
use super::driver::Executor;
use crate::error::{BuildError, StepError};
use crate::instructions::{Instruction, Located};
use crate::stages::Vars;

/// The PATH a stage gets when its base has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The config and settings a stage accumulates.
pub(super) struct StageState {
    pub(super) config: Value,
    pub(super) env: Vars,
    pub(super) args: Vars,
    pub(super) workdir: String,
    pub(super) user: Option<String>,
    pub(super) shell: Vec<String>,
    /// Whether this stage set CMD (an ENTRYPOINT after it keeps it).
    pub(super) cmd_set: bool,
    /// WORKDIRs set while no container was open, made in the next one.
    pub(super) pending_dirs: Vec<String>,
}

impl StageState {
    /// The state a stage starts from: its base image's config.
    pub(super) fn new(store: &Store, base: &str) -> Result<StageState, BuildError> {
        let img = store.image(base)?;
        let full: Value = serde_json::from_slice(&store.image_config(&img)?)?;
        let mut config = if full["config"].is_object() {
            full["config"].clone()
        } else {
            json!({})
        };
        let env = base_env(&config);
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
            cmd_set: false,
            pending_dirs: Vec::new(),
        })
    }

    /// Applies one instruction. RUN, COPY and ADD need the working container
    /// `w`; the others only change the state (WORKDIR's directory is made in
    /// `w`, or noted for the next container when there is none). `stages` are
    /// the roots `--from` may name.
    pub(super) fn apply(
        &mut self,
        x: &Executor,
        w: Option<&Working>,
        inst: &Located,
        stages: &[(Vec<String>, PathBuf)],
    ) -> Result<(), BuildError> {
        let step = step_error(inst);
        let working = || w.ok_or(BuildError::NoWorkingContainer);
        match &inst.instruction {
            Instruction::Run(r) => self.run(x, working()?, inst, r, stages),
            Instruction::Copy(c) => self.copy(x, working()?, c, stages).map_err(step),
            Instruction::Add(a) => self.add(x, working()?, a).map_err(step),
            Instruction::Workdir(d) => self.workdir(w, d).map_err(step),
            i => {
                self.edit_config(i);
                Ok(())
            }
        }
    }
}

/// An instruction's failure, named by the instruction as written.
pub(super) fn step_error(inst: &Located) -> impl Fn(StepError) -> BuildError + '_ {
    |e| BuildError::Step {
        instruction: inst.original.trim().to_string(),
        source: Box::new(e),
    }
}

/// The base config's environment; a base without PATH gets the default one
/// first, as buildah and Docker's builder give it (RUN needs it; ENV PATH
/// replaces it in place).
fn base_env(config: &Value) -> Vars {
    let mut env = Vars::default();
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
    env
}
