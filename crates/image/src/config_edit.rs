//! Edits of an image's container config: what a Containerfile's ENV, CMD,
//! LABEL … do, what `--change` does to `commit` and `import`, and what
//! `builder config` flags do. One type for the edit, one `apply`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::manifest::{ContainerConfig, Healthcheck};

/// One change to a [`ContainerConfig`].
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigEdit {
    Cmd(Vec<String>),
    /// ENTRYPOINT; a CMD inherited (not set since, `keep_cmd` false) is reset,
    /// as Docker does.
    Entrypoint {
        argv: Vec<String>,
        keep_cmd: bool,
    },
    /// A variable, replacing one of the same name where it was.
    Env(String, String),
    Label(String, String),
    /// A port, `80` (tcp) or `53/udp`.
    Expose(String),
    Volume(String),
    User(String),
    WorkingDir(String),
    StopSignal(String),
    Shell(Vec<String>),
    Healthcheck(Healthcheck),
    OnBuild(String),
    /// `builder config --env K-` and the like: removals.
    RemoveEnv(String),
    RemoveLabel(String),
    Unexpose(String),
    RemoveVolume(String),
}

impl ContainerConfig {
    pub fn apply(&mut self, edit: ConfigEdit) {
        match edit {
            ConfigEdit::Cmd(argv) => self.cmd = Some(argv),
            ConfigEdit::Entrypoint { argv, keep_cmd } => {
                self.entrypoint = Some(argv);
                if !keep_cmd {
                    self.cmd = None;
                }
            }
            ConfigEdit::Env(k, v) => {
                let env = self.env.get_or_insert_with(Vec::new);
                let kv = format!("{k}={v}");
                let same = |e: &String| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == k;
                match env.iter_mut().find(|e| same(e)) {
                    Some(e) => *e = kv,
                    None => env.push(kv),
                }
            }
            ConfigEdit::Label(k, v) => {
                self.labels.get_or_insert_with(BTreeMap::new).insert(k, v);
            }
            ConfigEdit::Expose(p) => {
                let key = if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                };
                let ports = self.exposed_ports.get_or_insert_with(BTreeMap::new);
                ports.insert(key, Value::Object(Default::default()));
            }
            ConfigEdit::Volume(v) => {
                let vols = self.volumes.get_or_insert_with(BTreeMap::new);
                vols.insert(v, Value::Object(Default::default()));
            }
            ConfigEdit::User(u) => self.user = Some(u),
            ConfigEdit::WorkingDir(d) => self.working_dir = Some(d),
            ConfigEdit::StopSignal(s) => self.stop_signal = Some(s),
            ConfigEdit::Shell(s) => self.shell = Some(s),
            ConfigEdit::Healthcheck(h) => self.healthcheck = Some(h),
            ConfigEdit::OnBuild(o) => self.on_build.get_or_insert_with(Vec::new).push(o),
            ConfigEdit::RemoveEnv(k) => {
                if let Some(env) = &mut self.env {
                    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) != k);
                }
            }
            ConfigEdit::RemoveLabel(k) => {
                if let Some(l) = &mut self.labels {
                    l.remove(&k);
                }
            }
            ConfigEdit::Unexpose(p) => {
                let key = if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                };
                if let Some(ports) = &mut self.exposed_ports {
                    ports.remove(&key);
                }
            }
            ConfigEdit::RemoveVolume(v) => {
                if let Some(vols) = &mut self.volumes {
                    vols.remove(&v);
                }
            }
        }
    }

    /// The config in a JSON value (`null` or not an object: an empty one).
    pub fn from_value(v: &Value) -> ContainerConfig {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a container config serialises")
    }
}

/// Applies `edits` to the container config held in `v`. Only the fields the
/// edits change are written: a field this type cannot read (an image's own
/// oddity) stays as it was.
pub fn apply_to_value(v: &mut Value, edits: impl IntoIterator<Item = ConfigEdit>) {
    let before = ContainerConfig::from_value(v);
    let mut after = before.clone();
    for e in edits {
        after.apply(e);
    }
    let (Value::Object(b), Value::Object(a)) = (before.to_value(), after.to_value()) else {
        return;
    };
    if !v.is_object() {
        *v = Value::Object(Default::default());
    }
    let obj = v.as_object_mut().expect("an object");
    for (k, val) in &a {
        if b.get(k) != Some(val) {
            obj.insert(k.clone(), val.clone());
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        obj.remove(k);
    }
}

/// A `--change` that is not one of the instructions it takes.
#[derive(Debug, thiserror::Error)]
#[error("invalid --change {0:?}")]
pub struct InvalidChange(pub String);

/// `--change INSTRUCTION ARGS` (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER,
/// WORKDIR, STOPSIGNAL, VOLUME, ONBUILD) as the edits it makes. A command in JSON form
/// is taken as it is, otherwise through `/bin/sh -c`.
pub fn parse_change(change: &str) -> Result<Vec<ConfigEdit>, InvalidChange> {
    let trimmed = change.trim();
    let (inst, rest) = trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed, ""));
    let rest = rest.trim();
    let bad = || InvalidChange(change.to_string());
    let words = || match serde_json::from_str::<Vec<String>>(rest) {
        Ok(v) => v,
        Err(_) => vec!["/bin/sh".into(), "-c".into(), rest.into()],
    };
    Ok(match inst.to_ascii_uppercase().as_str() {
        "CMD" => vec![ConfigEdit::Cmd(words())],
        "ENTRYPOINT" => vec![ConfigEdit::Entrypoint {
            argv: words(),
            keep_cmd: true,
        }],
        "USER" => vec![ConfigEdit::User(rest.into())],
        "WORKDIR" => vec![ConfigEdit::WorkingDir(rest.into())],
        "STOPSIGNAL" => vec![ConfigEdit::StopSignal(rest.into())],
        "ENV" => {
            let (k, v) = rest
                .split_once('=')
                .or_else(|| rest.split_once(' '))
                .ok_or_else(bad)?;
            vec![ConfigEdit::Env(k.trim().into(), v.trim().into())]
        }
        "LABEL" => {
            let (k, v) = rest.split_once('=').ok_or_else(bad)?;
            vec![ConfigEdit::Label(
                k.trim().into(),
                v.trim().trim_matches('"').into(),
            )]
        }
        "EXPOSE" => rest
            .split_whitespace()
            .map(|p| ConfigEdit::Expose(p.into()))
            .collect(),
        // A trigger, kept as written (podman's: it always appends).
        "ONBUILD" if !rest.is_empty() => vec![ConfigEdit::OnBuild(rest.into())],
        "VOLUME" => match serde_json::from_str::<Vec<String>>(rest) {
            Ok(v) => v.into_iter().map(ConfigEdit::Volume).collect(),
            Err(_) => rest
                .split_whitespace()
                .map(|v| ConfigEdit::Volume(v.into()))
                .collect(),
        },
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_edit_the_config_as_instructions_would() {
        let mut cfg = json!({"Hostname": "kept", "Env": ["A=0", "PATH=/bin"]});
        for c in [
            "CMD [\"echo\", \"hi\"]",
            "ENTRYPOINT sh",
            "ENV A=1",
            "ENV B 2",
            "LABEL k=\"v\"",
            "EXPOSE 80 53/udp",
            "user nobody",
            "VOLUME /data",
            "ONBUILD RUN echo hi",
            "onbuild COPY . /src",
        ] {
            apply_to_value(&mut cfg, parse_change(c).unwrap());
        }
        assert_eq!(cfg["Cmd"], json!(["echo", "hi"]));
        assert_eq!(cfg["Entrypoint"], json!(["/bin/sh", "-c", "sh"]));
        assert_eq!(cfg["Env"], json!(["A=1", "PATH=/bin", "B=2"]));
        assert_eq!(cfg["Labels"], json!({"k": "v"}));
        assert_eq!(cfg["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(cfg["Volumes"], json!({"/data": {}}));
        assert_eq!(cfg["OnBuild"], json!(["RUN echo hi", "COPY . /src"]));
        assert_eq!(cfg["User"], "nobody");
        assert_eq!(cfg["Hostname"], "kept");
        // A field of a type this one cannot read is left alone.
        let mut odd = json!({"Labels": {"n": 1}, "Cmd": ["x"]});
        apply_to_value(&mut odd, parse_change("USER u").unwrap());
        assert_eq!(odd, json!({"Labels": {"n": 1}, "Cmd": ["x"], "User": "u"}));
        let e = parse_change("RUN true").unwrap_err();
        assert_eq!(e.to_string(), "invalid --change \"RUN true\"");
    }

    #[test]
    fn an_entrypoint_resets_an_inherited_cmd_only() {
        let mut c = ContainerConfig {
            cmd: Some(vec!["inherited".into()]),
            ..Default::default()
        };
        c.apply(ConfigEdit::Entrypoint {
            argv: vec!["e".into()],
            keep_cmd: false,
        });
        assert_eq!(c.cmd, None);
        c.apply(ConfigEdit::Cmd(vec!["mine".into()]));
        c.apply(ConfigEdit::Entrypoint {
            argv: vec!["e2".into()],
            keep_cmd: true,
        });
        assert_eq!(c.cmd, Some(vec!["mine".into()]));
    }
}
