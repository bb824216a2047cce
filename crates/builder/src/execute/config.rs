//! The instructions that edit the image config (ENV, ARG, WORKDIR, USER,
//! CMD, ENTRYPOINT, SHELL, LABEL, MAINTAINER, EXPOSE, VOLUME, STOPSIGNAL,
//! HEALTHCHECK), written into the image by the next commit.

use serde_json::{Value, json};

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
            Some(w) => make_dir(&w.rootfs, &d)?,
            None => self.pending_dirs.push(d.clone()),
        }
        self.workdir = d.clone();
        self.config["WorkingDir"] = json!(d);
        Ok(())
    }

    /// An instruction that needs no container. RUN, COPY, ADD and WORKDIR
    /// are the dispatcher's; FROM starts a stage and edits nothing.
    pub(super) fn edit_config(&mut self, inst: &Instruction) {
        match inst {
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
            Instruction::Onbuild(o) => self.add_trigger(&o.expression),
            Instruction::Healthcheck(h) => self.config["Healthcheck"] = healthcheck(h),
            Instruction::Run(_)
            | Instruction::Copy(_)
            | Instruction::Add(_)
            | Instruction::Workdir(_)
            | Instruction::From(_) => {}
        }
    }
}

/// HEALTHCHECK as the image config's `Healthcheck`.
fn healthcheck(h: &Healthcheck) -> Value {
    match h {
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
    }
}
