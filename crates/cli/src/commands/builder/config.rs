//! `builder config`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::builder::{self, Builder};
use berth_image::config_edit::ConfigEdit;
use berth_image::manifest::{ContainerConfig, Healthcheck};
use clap::Args;
use serde_json::Value;

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
    let mut edits = Vec::new();
    let shell = match &a.shell {
        Some(s) => {
            let words = builder::command_words(s, false, &[]).map_err(exit::build)?;
            edits.push(ConfigEdit::Shell(words.clone()));
            words
        }
        None => b.shell(),
    };
    if let Some(c) = &a.entrypoint {
        let argv = builder::command_words(c, true, &shell).map_err(exit::build)?;
        edits.push(ConfigEdit::Entrypoint {
            argv,
            keep_cmd: true,
        });
    }
    if let Some(c) = &a.cmd {
        let argv = builder::command_words(c, false, &shell).map_err(exit::build)?;
        edits.push(ConfigEdit::Cmd(argv));
    }
    let flags = [
        ("env", &a.env),
        ("label", &a.label),
        ("port", &a.port),
        ("volume", &a.volume),
    ];
    for (flag, values) in flags {
        for v in values {
            edits.push(builder::config_flag(flag, v).map_err(exit::build)?);
        }
    }
    if let Some(u) = &a.user {
        edits.push(ConfigEdit::User(u.clone()));
    }
    if let Some(w) = &a.workingdir {
        edits.push(ConfigEdit::WorkingDir(w.clone()));
    }
    if let Some(s) = &a.stop_signal {
        berth_builder::parse_signal(s)
            .map_err(|e| exit::podman(format!("--stop-signal {s}: {e}")))?;
        edits.push(ConfigEdit::StopSignal(s.clone()));
    }
    edits.extend(a.onbuild.iter().cloned().map(ConfigEdit::OnBuild));
    b.edit(edits);
    for an in &a.annotation {
        b.set_annotation(an).map_err(exit::build)?;
    }
    if let Some(h) = healthcheck(&b.config, &a)? {
        b.edit([h]);
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

/// `--healthcheck` and its timing flags, over the config's Healthcheck.
fn healthcheck(config: &Value, a: &ConfigArgs) -> Result<Option<ConfigEdit>, exit::Failure> {
    let mut h = ContainerConfig::from_value(config).healthcheck;
    if let Some(flag) = &a.healthcheck {
        h = Some(Healthcheck {
            test: healthcheck_test(flag)?,
            ..Default::default()
        });
    }
    type Field = fn(&mut Healthcheck) -> &mut Option<u64>;
    let timings: [(&Option<String>, &str, Field); 3] = [
        (&a.healthcheck_interval, "--healthcheck-interval", |h| {
            &mut h.interval
        }),
        (&a.healthcheck_timeout, "--healthcheck-timeout", |h| {
            &mut h.timeout
        }),
        (
            &a.healthcheck_start_period,
            "--healthcheck-start-period",
            |h| &mut h.start_period,
        ),
    ];
    let mut touched = a.healthcheck.is_some();
    for (value, flag, field) in timings {
        if let Some(v) = value {
            let ns = berth_builder::parse_go_duration(v)
                .map_err(|e| exit::podman(format!("{flag} {v}: {e}")))?;
            let ns = u64::try_from(ns)
                .map_err(|_| exit::podman(format!("{flag} {v}: must not be negative")))?;
            *field(need_healthcheck(&mut h, flag)?) = Some(ns);
            touched = true;
        }
    }
    if let Some(r) = a.healthcheck_retries {
        need_healthcheck(&mut h, "--healthcheck-retries")?.retries = Some(r);
        touched = true;
    }
    Ok(h.filter(|_| touched).map(ConfigEdit::Healthcheck))
}

/// `--healthcheck`: `CMD …`, `CMD-SHELL …` or `NONE`.
fn healthcheck_test(h: &str) -> Result<Vec<String>, exit::Failure> {
    let t = h.trim();
    if t == "NONE" {
        return Ok(vec!["NONE".into()]);
    }
    if let Some(rest) = t.strip_prefix("CMD-SHELL ") {
        return Ok(vec!["CMD-SHELL".into(), rest.trim().into()]);
    }
    let Some(rest) = t.strip_prefix("CMD ") else {
        return Err(exit::podman(format!(
            "--healthcheck {h}: start with CMD, CMD-SHELL or NONE"
        )));
    };
    let rest = rest.trim();
    let words: Vec<String> = if rest.starts_with('[') {
        serde_json::from_str(rest).map_err(|e| exit::podman(format!("--healthcheck {h}: {e}")))?
    } else {
        rest.split_whitespace().map(String::from).collect()
    };
    Ok(std::iter::once("CMD".to_string()).chain(words).collect())
}

fn need_healthcheck<'a>(
    h: &'a mut Option<Healthcheck>,
    flag: &str,
) -> Result<&'a mut Healthcheck, exit::Failure> {
    h.as_mut()
        .ok_or_else(|| exit::podman(format!("{flag}: no --healthcheck is set")))
}
