//! `--change`: a Containerfile instruction applied to an image's container
//! config (`commit --change`, `import --change`).

use serde_json::{Value, json};

use super::ImageError;

/// Applies one `--change` instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
/// USER, WORKDIR, STOPSIGNAL) to `cfg`, the config's `config` object.
pub fn apply_change(cfg: &mut Value, change: &str) -> Result<(), ImageError> {
    let (inst, rest) = change
        .trim()
        .split_once(char::is_whitespace)
        .unwrap_or((change.trim(), ""));
    let rest = rest.trim();
    let bad = || ImageError::InvalidArgument(format!("invalid --change {change:?}"));
    if !cfg.is_object() {
        *cfg = json!({});
    }
    let obj = cfg.as_object_mut().expect("an object");
    match inst.to_ascii_uppercase().as_str() {
        "CMD" => {
            obj.insert("Cmd".into(), words(rest));
        }
        "ENTRYPOINT" => {
            obj.insert("Entrypoint".into(), words(rest));
        }
        "USER" => {
            obj.insert("User".into(), rest.into());
        }
        "WORKDIR" => {
            obj.insert("WorkingDir".into(), rest.into());
        }
        "STOPSIGNAL" => {
            obj.insert("StopSignal".into(), rest.into());
        }
        "ENV" => {
            let (k, v) = rest
                .split_once('=')
                .or_else(|| rest.split_once(' '))
                .ok_or_else(bad)?;
            let env = obj.entry("Env").or_insert_with(|| json!([]));
            if let Some(env) = env.as_array_mut() {
                env.push(format!("{}={}", k.trim(), v.trim()).into());
            }
        }
        "LABEL" => {
            let (k, v) = rest.split_once('=').ok_or_else(bad)?;
            let labels = obj.entry("Labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(k.trim().into(), v.trim().trim_matches('"').into());
            }
        }
        "EXPOSE" => {
            let ports = obj.entry("ExposedPorts").or_insert_with(|| json!({}));
            if let Some(ports) = ports.as_object_mut() {
                for p in rest.split_whitespace() {
                    let p = if p.contains('/') {
                        p.to_string()
                    } else {
                        format!("{p}/tcp")
                    };
                    ports.insert(p, json!({}));
                }
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}

/// A command in JSON (exec) form, or else in shell form.
fn words(rest: &str) -> Value {
    match serde_json::from_str::<Vec<String>>(rest) {
        Ok(v) => json!(v),
        Err(_) => json!(["/bin/sh", "-c", rest]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_edit_the_config_as_instructions_would() {
        let mut cfg = json!({});
        for c in [
            "CMD [\"echo\", \"hi\"]",
            "ENTRYPOINT sh",
            "ENV A=1",
            "ENV B 2",
            "LABEL k=\"v\"",
            "EXPOSE 80 53/udp",
            "user nobody",
        ] {
            apply_change(&mut cfg, c).unwrap();
        }
        assert_eq!(cfg["Cmd"], json!(["echo", "hi"]));
        assert_eq!(cfg["Entrypoint"], json!(["/bin/sh", "-c", "sh"]));
        assert_eq!(cfg["Env"], json!(["A=1", "B=2"]));
        assert_eq!(cfg["Labels"], json!({"k": "v"}));
        assert_eq!(cfg["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(cfg["User"], "nobody");
        let e = apply_change(&mut cfg, "RUN true").unwrap_err();
        assert_eq!(e.to_string(), "invalid --change \"RUN true\"");
    }
}
