//! `builder config`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::builder::{self, Builder};
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub(crate) struct ConfigArgs {
    #[arg(long)]
    pub(crate) cmd: Option<String>,
    #[arg(long)]
    pub(crate) entrypoint: Option<String>,
    /// KEY=VALUE, or KEY- to unset.
    #[arg(short, long)]
    pub(crate) env: Vec<String>,
    /// KEY=VALUE, or KEY- to remove.
    #[arg(short, long)]
    pub(crate) label: Vec<String>,
    /// PORT[/PROTO] to expose, or PORT- to stop.
    #[arg(short, long)]
    pub(crate) port: Vec<String>,
    #[arg(short, long)]
    pub(crate) user: Option<String>,
    #[arg(long)]
    pub(crate) workingdir: Option<String>,
    /// A volume path, or PATH- to remove.
    #[arg(short, long)]
    pub(crate) volume: Vec<String>,
    /// KEY=VALUE on the manifest, or KEY- to remove.
    #[arg(short, long)]
    pub(crate) annotation: Vec<String>,
    #[arg(long)]
    pub(crate) stop_signal: Option<String>,
    /// CMD ARGS..., CMD-SHELL COMMAND, or NONE.
    #[arg(long)]
    pub(crate) healthcheck: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_interval: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_timeout: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_start_period: Option<String>,
    #[arg(long)]
    pub(crate) healthcheck_retries: Option<u64>,
    /// An instruction run when the image is built on.
    #[arg(long)]
    pub(crate) onbuild: Vec<String>,
    /// The shell for shell-form commands (JSON array or words).
    #[arg(long)]
    pub(crate) shell: Option<String>,
    #[arg(long)]
    pub(crate) author: Option<String>,
    /// The history entry's "created by".
    #[arg(long)]
    pub(crate) created_by: Option<String>,
    /// The history entry's comment.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    pub(crate) container: String,
}

pub(crate) fn config(store_args: &StoreArgs, a: ConfigArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let shell = match &a.shell {
        Some(s) => {
            let words = builder::command_words(s, false, &[]).map_err(exit::build)?;
            b.config["Shell"] = json!(words);
            words
        }
        None => b.shell(),
    };
    if let Some(c) = &a.entrypoint {
        b.config["Entrypoint"] =
            json!(builder::command_words(c, true, &shell).map_err(exit::build)?);
    }
    if let Some(c) = &a.cmd {
        b.config["Cmd"] = json!(builder::command_words(c, false, &shell).map_err(exit::build)?);
    }
    for e in &a.env {
        b.set_env(e).map_err(exit::build)?;
    }
    for l in &a.label {
        b.set_pair("Labels", "--label", l).map_err(exit::build)?;
    }
    for p in &a.port {
        let p = match p.strip_suffix('-') {
            Some(x) if !x.contains('/') => format!("{x}/tcp-"),
            None if !p.contains('/') => format!("{p}/tcp"),
            _ => p.clone(),
        };
        b.set_member("ExposedPorts", &p);
    }
    for v in &a.volume {
        b.set_member("Volumes", v);
    }
    for an in &a.annotation {
        b.set_annotation(an).map_err(exit::build)?;
    }
    if let Some(u) = &a.user {
        b.config["User"] = json!(u);
    }
    if let Some(w) = &a.workingdir {
        b.config["WorkingDir"] = json!(w);
    }
    if let Some(s) = &a.stop_signal {
        berth_builder::parse_signal(s)
            .map_err(|e| exit::podman(format!("--stop-signal {s}: {e}")))?;
        b.config["StopSignal"] = json!(s);
    }
    healthcheck(&mut b.config, &a)?;
    if !a.onbuild.is_empty() {
        let mut list: Vec<Value> = b.config["OnBuild"].as_array().cloned().unwrap_or_default();
        list.extend(a.onbuild.iter().map(|o| json!(o)));
        b.config["OnBuild"] = json!(list);
    }
    if let Some(x) = a.author {
        b.author = Some(x);
    }
    if let Some(x) = a.created_by {
        b.created_by = Some(x);
    }
    if let Some(x) = a.comment {
        b.comment = Some(x);
    }
    b.save(&store).map_err(exit::build)
}

/// `--healthcheck` and its timing flags into the config's Healthcheck.
fn healthcheck(config: &mut Value, a: &ConfigArgs) -> CmdResult {
    if let Some(h) = &a.healthcheck {
        let t = h.trim();
        let test = if t == "NONE" {
            json!(["NONE"])
        } else if let Some(rest) = t.strip_prefix("CMD-SHELL ") {
            json!(["CMD-SHELL", rest.trim()])
        } else if let Some(rest) = t.strip_prefix("CMD ") {
            let rest = rest.trim();
            let words: Vec<String> = if rest.starts_with('[') {
                serde_json::from_str(rest)
                    .map_err(|e| exit::podman(format!("--healthcheck {h}: {e}")))?
            } else {
                rest.split_whitespace().map(String::from).collect()
            };
            json!(
                ["CMD"]
                    .into_iter()
                    .map(String::from)
                    .chain(words)
                    .collect::<Vec<_>>()
            )
        } else {
            return Err(exit::podman(format!(
                "--healthcheck {h}: start with CMD, CMD-SHELL or NONE"
            )));
        };
        config["Healthcheck"] = json!({"Test": test});
    }
    let timings = [
        (
            "Interval",
            &a.healthcheck_interval,
            "--healthcheck-interval",
        ),
        ("Timeout", &a.healthcheck_timeout, "--healthcheck-timeout"),
        (
            "StartPeriod",
            &a.healthcheck_start_period,
            "--healthcheck-start-period",
        ),
    ];
    for (field, value, flag) in timings {
        if let Some(v) = value {
            let ns = berth_builder::parse_go_duration(v)
                .map_err(|e| exit::podman(format!("{flag} {v}: {e}")))?;
            need_healthcheck(config, flag)?;
            config["Healthcheck"][field] = json!(ns);
        }
    }
    if let Some(r) = a.healthcheck_retries {
        need_healthcheck(config, "--healthcheck-retries")?;
        config["Healthcheck"]["Retries"] = json!(r);
    }
    Ok(())
}

fn need_healthcheck(config: &Value, flag: &str) -> CmdResult {
    if config["Healthcheck"].is_object() {
        Ok(())
    } else {
        Err(exit::podman(format!("{flag}: no --healthcheck is set")))
    }
}
