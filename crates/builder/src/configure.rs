//! `builder config`: flags that change a working container's image config, applied as
//! the same [`ConfigEdit`]s a Containerfile's instructions make.

use crate::BuildError;
use crate::builder::{Builder, command_words, config_flag};
use berth_image::config_edit::ConfigEdit;
use berth_image::manifest::{ContainerConfig, Healthcheck};

/// What `builder config` was asked to change (buildah's flags), as written.
#[derive(Debug, Default, Clone)]
pub struct ConfigChanges {
    pub cmd: Option<String>,
    pub entrypoint: Option<String>,
    /// `KEY=VALUE`, or `KEY-` to unset.
    pub env: Vec<String>,
    /// `KEY=VALUE`, or `KEY-` to remove.
    pub label: Vec<String>,
    /// `PORT[/PROTO]`, or `PORT-` to stop exposing.
    pub port: Vec<String>,
    /// A path, or `PATH-` to remove.
    pub volume: Vec<String>,
    /// `KEY=VALUE` on the manifest, or `KEY-` to remove.
    pub annotation: Vec<String>,
    pub user: Option<String>,
    pub workingdir: Option<String>,
    pub stop_signal: Option<String>,
    /// `CMD ARGS…`, `CMD-SHELL COMMAND` or `NONE`.
    pub healthcheck: Option<String>,
    pub healthcheck_interval: Option<String>,
    pub healthcheck_timeout: Option<String>,
    pub healthcheck_start_period: Option<String>,
    pub healthcheck_retries: Option<u64>,
    pub onbuild: Vec<String>,
    /// A JSON array or words.
    pub shell: Option<String>,
    pub author: Option<String>,
    /// The history entry's "created by".
    pub created_by: Option<String>,
    /// The history entry's comment (`--comment`, `--history-comment`).
    pub comment: Option<String>,
    /// The image's platform: `os`, `architecture`, `variant`, `os.version`.
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    /// An `os.features` entry, or `FEATURE-` to remove one.
    pub os_feature: Vec<String>,
    /// Docker's config `Hostname` and `Domainname` (an OCI commit drops them).
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// `--add-history`: a history entry for each change.
    pub add_history: bool,
}

fn invalid(flag: &str, value: &str, why: impl ToString) -> BuildError {
    BuildError::InvalidFlag {
        flag: flag.to_string(),
        value: value.to_string(),
        why: why.to_string(),
    }
}

impl Builder {
    /// Applies `builder config`'s changes; nothing is changed when one is invalid
    /// (the caller saves the builder only on success).
    pub fn configure(&mut self, c: &ConfigChanges) -> Result<(), BuildError> {
        let mut edits = Vec::new();
        let shell = match &c.shell {
            Some(s) => {
                let words = command_words(s, false, &[])?;
                edits.push(ConfigEdit::Shell(words.clone()));
                words
            }
            None => self.shell(),
        };
        if let Some(e) = &c.entrypoint {
            let argv = command_words(e, true, &shell)?;
            edits.push(ConfigEdit::Entrypoint {
                argv,
                keep_cmd: true,
            });
        }
        if let Some(cmd) = &c.cmd {
            edits.push(ConfigEdit::Cmd(command_words(cmd, false, &shell)?));
        }
        edits.extend(self.env_edits(&c.env)?);
        let flags = [
            ("label", &c.label),
            ("port", &c.port),
            ("volume", &c.volume),
        ];
        for (flag, values) in flags {
            for v in values {
                edits.push(config_flag(flag, v)?);
            }
        }
        edits.extend(c.user.clone().map(ConfigEdit::User));
        edits.extend(c.workingdir.clone().map(ConfigEdit::WorkingDir));
        if let Some(s) = &c.stop_signal {
            crate::parse_signal(s).map_err(|e| invalid("--stop-signal", s, e))?;
            edits.push(ConfigEdit::StopSignal(s.clone()));
        }
        edits.extend(c.onbuild.iter().cloned().map(ConfigEdit::OnBuild));
        let health = healthcheck(&self.config, c)?;
        let mut annotations = self.annotations.clone();
        for an in &c.annotation {
            set_annotation(&mut annotations, an)?;
        }
        self.edit(edits.into_iter().chain(health));
        self.annotations = annotations;
        let history = [
            (&mut self.author, &c.author),
            (&mut self.created_by, &c.created_by),
            (&mut self.comment, &c.comment),
        ];
        for (field, value) in history {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        self.set_platform(c);
        for (key, value) in [("Hostname", &c.hostname), ("Domainname", &c.domainname)] {
            if let (Some(v), Some(o)) = (value, self.config.as_object_mut()) {
                o.insert(key.into(), v.clone().into());
            }
        }
        if c.add_history {
            self.history
                .extend(history_of(c).into_iter().map(crate::builder::history_entry));
        }
        Ok(())
    }

    /// `--env`'s edits, each value's `$VAR` and `${VAR}` expanded as buildah
    /// expands them (Go's os.Expand) from the environment the config has
    /// with the earlier `--env`s applied; a variable set again moves to the
    /// end, as buildah's SetEnv puts it.
    fn env_edits(&self, values: &[String]) -> Result<Vec<ConfigEdit>, BuildError> {
        let mut env = serde_json::json!({"Env": self.config["Env"]});
        let mut edits = Vec::new();
        for v in values {
            let edit = match config_flag("env", v)? {
                ConfigEdit::Env(k, value) => {
                    let known = crate::builder::strings(&env["Env"]);
                    let value = go_expand(&value, |name| lookup(&known, name));
                    vec![ConfigEdit::RemoveEnv(k.clone()), ConfigEdit::Env(k, value)]
                }
                other => vec![other],
            };
            berth_image::config_edit::apply_to_value(&mut env, edit.iter().cloned());
            edits.extend(edit);
        }
        Ok(edits)
    }

    /// `--os`, `--arch`, `--variant`, `--os-version`, `--os-feature`.
    fn set_platform(&mut self, c: &ConfigChanges) {
        let fields = [
            ("os", &c.os),
            ("architecture", &c.arch),
            ("variant", &c.variant),
            ("os.version", &c.os_version),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                self.image_fields.insert(k.into(), v.clone().into());
            }
        }
        if c.os_feature.is_empty() {
            return;
        }
        let mut features: Vec<String> = self
            .image_fields
            .get("os.features")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        for f in &c.os_feature {
            match f.strip_suffix('-') {
                Some(gone) => features.retain(|x| x != gone),
                None if !features.contains(f) => features.push(f.clone()),
                None => {}
            }
        }
        self.image_fields
            .insert("os.features".into(), features.into());
    }
}

/// `name`'s value in `env` (`K=V` entries). buildah's answer for one it
/// lacks: the name itself, after an error in its words.
fn lookup(env: &[String], name: &str) -> String {
    let found = env
        .iter()
        .find_map(|e| e.split_once('=').filter(|(k, _)| *k == name));
    match found {
        Some((_, v)) => v.to_string(),
        None => {
            log::error!("error expanding variable {name:?}: no value set in configuration");
            name.to_string()
        }
    }
}

/// Go's os.Expand: `$NAME`, `${NAME}` and the one-character `$1`, `$$`, `$*`…
/// replaced by `value(NAME)`; a `$` before nothing of a name stays, a bad
/// `${` or `${}` is dropped.
fn go_expand(s: &str, mut value: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if after.is_empty() {
            out.push('$');
            return out;
        }
        let (name, used) = shell_name(after);
        match (name, used) {
            ("", 0) => out.push('$'),
            ("", _) => {}
            (n, _) => out.push_str(&value(n)),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

/// The name a `$` starts (without it) and the bytes it takes, as Go's
/// getShellName reads it.
fn shell_name(s: &str) -> (&str, usize) {
    let special = |b: u8| b"*#$@!?-".contains(&b) || b.is_ascii_digit();
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        return match s.find('}') {
            Some(1) => ("", 2),
            Some(end) => (&s[1..end], end + 1),
            None => ("", 1),
        };
    }
    if special(b[0]) {
        return (&s[..1], 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (&s[..n], n)
}

/// The history entries `--add-history` writes for these changes, buildah's
/// way: `/bin/sh -c #(nop) INSTRUCTION ARGS`, one an instruction.
fn history_of(c: &ConfigChanges) -> Vec<String> {
    let one = |i: &str, v: &Option<String>| v.as_ref().map(|v| format!("{i} {v}"));
    let all = |i: &str, v: &[String]| (!v.is_empty()).then(|| format!("{i} {}", v.join(" ")));
    [
        one("SHELL", &c.shell),
        one("ENTRYPOINT", &c.entrypoint),
        one("CMD", &c.cmd),
        all("ENV", &c.env),
        all("LABEL", &c.label),
        all("EXPOSE", &c.port),
        all("VOLUME", &c.volume),
        one("USER", &c.user),
        one("WORKDIR", &c.workingdir),
        one("STOPSIGNAL", &c.stop_signal),
        all("ONBUILD", &c.onbuild),
        one("HEALTHCHECK", &c.healthcheck),
    ]
    .into_iter()
    .flatten()
    .map(|i| format!("/bin/sh -c #(nop) {i}"))
    .collect()
}

fn set_annotation(
    annotations: &mut std::collections::BTreeMap<String, String>,
    kv: &str,
) -> Result<(), BuildError> {
    if let Some(k) = kv.strip_suffix('-').filter(|k| !k.contains('=')) {
        annotations.remove(k);
        return Ok(());
    }
    let (k, v) = kv.split_once('=').ok_or_else(|| BuildError::NotKeyValue {
        flag: "--annotation".into(),
        value: kv.into(),
    })?;
    annotations.insert(k.to_string(), v.to_string());
    Ok(())
}

/// `--healthcheck` and its timing flags, over the config's healthcheck.
fn healthcheck(
    config: &serde_json::Value,
    c: &ConfigChanges,
) -> Result<Option<ConfigEdit>, BuildError> {
    let mut h = ContainerConfig::from_value(config).healthcheck;
    if let Some(flag) = &c.healthcheck {
        h = Some(Healthcheck {
            test: healthcheck_test(flag)?,
            ..Default::default()
        });
    }
    type Field = fn(&mut Healthcheck) -> &mut Option<u64>;
    let timings: [(&Option<String>, &str, Field); 3] = [
        (&c.healthcheck_interval, "--healthcheck-interval", |h| {
            &mut h.interval
        }),
        (&c.healthcheck_timeout, "--healthcheck-timeout", |h| {
            &mut h.timeout
        }),
        (
            &c.healthcheck_start_period,
            "--healthcheck-start-period",
            |h| &mut h.start_period,
        ),
    ];
    let mut touched = c.healthcheck.is_some();
    for (value, flag, field) in timings {
        if let Some(v) = value {
            let ns = crate::parse_go_duration(v).map_err(|e| invalid(flag, v, e))?;
            let ns = u64::try_from(ns).map_err(|_| invalid(flag, v, "must not be negative"))?;
            *field(need_healthcheck(&mut h, flag, v)?) = Some(ns);
            touched = true;
        }
    }
    if let Some(r) = c.healthcheck_retries {
        let flag = "--healthcheck-retries";
        need_healthcheck(&mut h, flag, &r.to_string())?.retries = Some(r);
        touched = true;
    }
    Ok(h.filter(|_| touched).map(ConfigEdit::Healthcheck))
}

/// `--healthcheck`: `CMD …`, `CMD-SHELL …` or `NONE`.
fn healthcheck_test(h: &str) -> Result<Vec<String>, BuildError> {
    let t = h.trim();
    if t == "NONE" {
        return Ok(vec!["NONE".into()]);
    }
    if let Some(rest) = t.strip_prefix("CMD-SHELL ") {
        return Ok(vec!["CMD-SHELL".into(), rest.trim().into()]);
    }
    let Some(rest) = t.strip_prefix("CMD ").map(str::trim) else {
        return Err(invalid(
            "--healthcheck",
            h,
            "start with CMD, CMD-SHELL or NONE",
        ));
    };
    let words: Vec<String> = if rest.starts_with('[') {
        serde_json::from_str(rest).map_err(|e| invalid("--healthcheck", h, e))?
    } else {
        rest.split_whitespace().map(String::from).collect()
    };
    Ok(std::iter::once("CMD".to_string()).chain(words).collect())
}

fn need_healthcheck<'a>(
    h: &'a mut Option<Healthcheck>,
    flag: &str,
    value: &str,
) -> Result<&'a mut Healthcheck, BuildError> {
    h.as_mut()
        .ok_or_else(|| invalid(flag, value, "no --healthcheck is set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_expand_reads_names_as_go_does() {
        let env = ["A=1".to_string(), "B_2=two".to_string()];
        let x = |s: &str| go_expand(s, |n| lookup(&env, n));
        assert_eq!(x("/opt:$A"), "/opt:1");
        assert_eq!(x("${B_2}z$A$"), "twoz1$");
        assert_eq!(x("${NOPE:-d}$NOPE"), "NOPE:-dNOPE");
        assert_eq!(x("$$ $1x ${}y ${z"), "$ 1x y z");
        assert_eq!(x("\\$A 'é$A'"), "\\1 'é1'");
        assert_eq!(x("$-a $ b"), "-a $ b");
    }

    #[test]
    fn healthcheck_forms() {
        assert_eq!(healthcheck_test("NONE").unwrap(), ["NONE"]);
        assert_eq!(
            healthcheck_test("CMD-SHELL curl -f x || exit 1").unwrap(),
            ["CMD-SHELL", "curl -f x || exit 1"]
        );
        assert_eq!(
            healthcheck_test(r#"CMD ["ls", "/a b"]"#).unwrap(),
            ["CMD", "ls", "/a b"]
        );
        assert_eq!(healthcheck_test("CMD ls -l").unwrap(), ["CMD", "ls", "-l"]);
        let e = healthcheck_test("ls").unwrap_err().to_string();
        assert_eq!(e, "--healthcheck ls: start with CMD, CMD-SHELL or NONE");
    }

    #[test]
    fn timings_need_a_healthcheck() {
        let c = ConfigChanges {
            healthcheck_interval: Some("5s".into()),
            ..Default::default()
        };
        let e = healthcheck(&serde_json::json!({}), &c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--healthcheck-interval 5s: no --healthcheck is set"
        );
        let c = ConfigChanges {
            healthcheck: Some("CMD true".into()),
            healthcheck_interval: Some("5s".into()),
            healthcheck_retries: Some(3),
            ..Default::default()
        };
        let Some(ConfigEdit::Healthcheck(h)) = healthcheck(&serde_json::json!({}), &c).unwrap()
        else {
            panic!("no healthcheck edit");
        };
        assert_eq!(h.interval, Some(5_000_000_000));
        assert_eq!(h.retries, Some(3));
    }
}
