//! The instructions that edit the image config (ENV, ARG, WORKDIR, USER,
//! CMD, ENTRYPOINT, SHELL, LABEL, MAINTAINER, EXPOSE, VOLUME, STOPSIGNAL,
//! HEALTHCHECK), written into the image by the next commit.

use berth_image::config_edit::{ConfigEdit, apply_to_value};
use berth_image::manifest::Healthcheck as ImageHealthcheck;
use serde_json::json;

use super::Working;
use super::rootfs::make_dir;
use super::state::StageState;
use crate::error::StepError;
use crate::instructions::{CommandLine, Healthcheck, Instruction};

/// A command's argv: the exec form as written, the shell form through the
/// stage's SHELL.
pub(super) fn words(c: &CommandLine, shell: &[String]) -> Vec<String> {
    match c {
        CommandLine::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect(),
        CommandLine::Exec(v) => v.clone(),
    }
}

impl StageState {
    /// WORKDIR: relative to the current one; the directory is made in `w`,
    /// or when there is none, in the next working container.
    pub(super) fn workdir(&mut self, w: Option<&Working>, d: &str) -> Result<(), StepError> {
        let d = if d.starts_with('/') {
            d.to_string()
        } else {
            format!("{}/{d}", self.workdir.trim_end_matches('/'))
        };
        match w {
            Some(w) => make_dir(w, &d)?,
            None => self.pending_dirs.push(d.clone()),
        }
        self.workdir = d.clone();
        self.config["WorkingDir"] = json!(d);
        Ok(())
    }

    /// An instruction that needs no container. RUN, COPY, ADD and WORKDIR
    /// are the dispatcher's; FROM starts a stage and edits nothing.
    pub(super) fn edit_config(&mut self, inst: &Instruction) {
        let edits: Vec<ConfigEdit> = match inst {
            Instruction::Env(pairs) => pairs
                .iter()
                .map(|kv| {
                    self.env.set(&kv.key, &kv.value);
                    ConfigEdit::Env(kv.key.clone(), kv.value.clone())
                })
                .collect(),
            Instruction::Arg(defs) => {
                for d in defs {
                    if let Some(v) = &d.default {
                        self.args.set(&d.name, v);
                    }
                }
                Vec::new()
            }
            Instruction::User(u) => {
                self.user = Some(u.clone());
                vec![ConfigEdit::User(u.clone())]
            }
            Instruction::Cmd(c) => {
                self.cmd_set = true;
                vec![ConfigEdit::Cmd(words(c, &self.shell))]
            }
            // A new entrypoint drops a CMD the base image set, as Docker does.
            Instruction::Entrypoint(c) => vec![ConfigEdit::Entrypoint {
                argv: words(c, &self.shell),
                keep_cmd: self.cmd_set,
            }],
            Instruction::Shell(s) => {
                self.shell = s.clone();
                vec![ConfigEdit::Shell(s.clone())]
            }
            Instruction::Label(pairs) => pairs
                .iter()
                .map(|kv| ConfigEdit::Label(kv.key.clone(), kv.value.clone()))
                .collect(),
            Instruction::Maintainer(m) => vec![ConfigEdit::Label("maintainer".into(), m.clone())],
            Instruction::Expose(ports) => ports.iter().cloned().map(ConfigEdit::Expose).collect(),
            Instruction::Volume(vols) => vols.iter().cloned().map(ConfigEdit::Volume).collect(),
            Instruction::StopSignal(s) => vec![ConfigEdit::StopSignal(s.clone())],
            Instruction::Onbuild(o) => vec![ConfigEdit::OnBuild(o.expression.clone())],
            Instruction::Healthcheck(h) => vec![ConfigEdit::Healthcheck(healthcheck(h))],
            Instruction::Run(_)
            | Instruction::Copy(_)
            | Instruction::Add(_)
            | Instruction::Workdir(_)
            | Instruction::From(_) => Vec::new(),
        };
        if !edits.is_empty() {
            apply_to_value(&mut self.config, edits);
        }
    }
}

/// HEALTHCHECK as the image config's `Healthcheck`.
fn healthcheck(h: &Healthcheck) -> ImageHealthcheck {
    match h {
        Healthcheck::None => ImageHealthcheck {
            test: vec!["NONE".into()],
            ..Default::default()
        },
        Healthcheck::Check(c) => ImageHealthcheck {
            test: c.test.clone(),
            interval: c.interval.map(|d| d.as_nanos() as u64),
            timeout: c.timeout.map(|d| d.as_nanos() as u64),
            start_period: c.start_period.map(|d| d.as_nanos() as u64),
            retries: c.retries.map(u64::from),
        },
    }
}
