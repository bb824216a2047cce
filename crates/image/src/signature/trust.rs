//! `image trust set/show`: podman's view and editor of policy.json.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::lookaside::RegistriesD;
use crate::error::{Error, Result};

/// The user's policy.json when it exists, else the system's (podman's order).
pub fn default_policy_path() -> PathBuf {
    crate::registries::config_home()
        .map(|h| h.join("containers/policy.json"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("/etc/containers/policy.json"))
}

/// A `--type`: accept (insecureAcceptAnything), reject, signedBy or
/// sigstoreSigned, as policy.json spells it.
pub fn trust_type(t: &str) -> Result<&'static str> {
    Ok(match t {
        "accept" | "insecureAcceptAnything" => "insecureAcceptAnything",
        "reject" => "reject",
        "signedBy" => "signedBy",
        "sigstoreSigned" => "sigstoreSigned",
        _ => {
            return Err(Error::Invalid(format!(
                "invalid choice: {t} (choose from 'accept', 'reject', 'signedBy', 'sigstoreSigned')"
            )));
        }
    })
}

/// Sets the requirement for `scope` ("default", or a registry or repository of
/// the docker transport) in the policy at `path`, keeping everything else in it.
pub fn set(path: &Path, scope: &str, kind: &str, pubkeys: &[PathBuf]) -> Result<()> {
    let kind = trust_type(kind)?;
    let requirements: Vec<Value> = match kind {
        "insecureAcceptAnything" | "reject" if !pubkeys.is_empty() => {
            return Err(Error::Invalid(format!(
                "{} public keys unexpectedly provided for trust type {kind}",
                pubkeys.len()
            )));
        }
        "insecureAcceptAnything" | "reject" => vec![json!({"type": kind})],
        _ if pubkeys.is_empty() => {
            return Err(Error::Invalid(format!(
                "at least one public key must be defined for type '{kind}'"
            )));
        }
        "signedBy" => pubkeys
            .iter()
            .map(|k| json!({"type": kind, "keyType": "GPGKeys", "keyPath": k}))
            .collect(),
        _ => pubkeys
            .iter()
            .map(|k| json!({"type": kind, "keyPath": k}))
            .collect(),
    };
    let mut policy = match std::fs::read(path) {
        Ok(text) => match serde_json::from_slice::<Value>(&text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Error::Invalid(format!(
                    "{}: could not read trust policies",
                    path.display()
                )));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(Error::io(path, e)),
    };
    if scope == "default" {
        policy.insert("default".into(), requirements.into());
    } else {
        if policy
            .get("default")
            .is_none_or(|d| d.as_array().is_none_or(Vec::is_empty))
        {
            return Err(Error::Invalid("default trust policy must be set".into()));
        }
        let transports = policy.entry("transports").or_insert_with(|| json!({}));
        let Some(transports) = transports.as_object_mut() else {
            return Err(Error::Invalid(format!(
                "{}: transports is not an object",
                path.display()
            )));
        };
        // A scope already listed under some transport is changed there.
        let holder = transports
            .iter()
            .find(|(_, scopes)| scopes.get(scope).is_some())
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| "docker".into());
        let scopes = transports.entry(holder).or_insert_with(|| json!({}));
        if let Some(scopes) = scopes.as_object_mut() {
            scopes.insert(scope.to_string(), requirements.into());
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut text = serde_json::to_vec_pretty(&Value::Object(policy))
        .map_err(|e| Error::Invalid(e.to_string()))?;
    text.push(b'\n');
    crate::fsutil::write_atomic_mode(path, &text, 0o644)
}

/// One requirement of the policy as `image trust show` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrustEntry {
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub repo_name: String,
    #[serde(rename = "sigstore", skip_serializing_if = "String::is_empty")]
    pub signature_store: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gpg_id: String,
}

/// The policy at `path`, requirement by requirement: the default first, then each
/// transport's scopes in order (docker's shown as "repository").
pub fn show(path: &Path, registries_d: &RegistriesD) -> Result<Vec<TrustEntry>> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let policy: Value = serde_json::from_slice(&text).map_err(|e| {
        Error::Invalid(format!(
            "could not parse trust policies from {}: {e}",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    let mut add = |transport: &str, name: &str, repo: &str, reqs: &Value| {
        for r in reqs.as_array().into_iter().flatten() {
            let kind = r["type"].as_str().unwrap_or_default();
            out.push(TrustEntry {
                transport: transport.into(),
                name: name.into(),
                repo_name: repo.into(),
                signature_store: registries_d.lookaside_for_scope(if repo == "default" {
                    ""
                } else {
                    repo
                }),
                kind: match kind {
                    "insecureAcceptAnything" => "accept",
                    "signedBy" => "signed",
                    other => other,
                }
                .into(),
                gpg_id: match kind {
                    "sigstoreSigned" => "N/A".into(),
                    _ => String::new(),
                },
            });
        }
    };
    add("all", "* (default)", "default", &policy["default"]);
    if let Some(transports) = policy["transports"].as_object() {
        for (t, scopes) in transports {
            let t = if t == "docker" { "repository" } else { t };
            for (scope, reqs) in scopes.as_object().into_iter().flatten() {
                add(t, scope, scope, reqs);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_show_as_podman_lists_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("policy.json");
        let d = RegistriesD::default();
        let e = set(&p, "docker.io", "reject", &[]).unwrap_err().to_string();
        assert!(e.contains("default trust policy must be set"), "{e}");
        assert!(
            set(&p, "default", "bogus", &[])
                .unwrap_err()
                .to_string()
                .starts_with("invalid choice: bogus")
        );
        set(&p, "default", "accept", &[]).unwrap();
        set(&p, "docker.io", "reject", &[]).unwrap();
        set(&p, "quay.io/x", "signedBy", &[PathBuf::from("/k.gpg")]).unwrap();
        let rows: Vec<(String, String, String)> = show(&p, &d)
            .unwrap()
            .into_iter()
            .map(|e| (e.transport, e.repo_name, e.kind))
            .collect();
        let want = [
            ("all", "default", "accept"),
            ("repository", "docker.io", "reject"),
            ("repository", "quay.io/x", "signed"),
        ];
        assert_eq!(rows, want.map(|(a, b, c)| (a.into(), b.into(), c.into())));
        // The policy berth reads for pulls takes the file as written.
        assert!(crate::signature::Policy::read(&p).is_ok());
        set(&p, "docker.io", "accept", &[]).unwrap();
        assert_eq!(show(&p, &d).unwrap()[1].kind, "accept");
    }
}
