//! libpod's manifest-list endpoints (`/libpod/manifests/…`), as podman 4's
//! remote client calls them. A list's name holds `/` (`localhost/list:1`),
//! sent as `%2F` within one path segment: these paths are split before they
//! are decoded.

use serde_json::{Value, json};

use berth_engine::manifests::{self, InstanceOptions};

use crate::Service;
use crate::http::Request;
use crate::reply::{ApiError, Reply, Result};

/// The path's segments after `/libpod/manifests`, each percent-decoded on its
/// own; None when the path is not under it.
pub fn segments(raw_path: &str) -> Option<Vec<String>> {
    let path = crate::router::strip_version(raw_path);
    let rest = path
        .strip_prefix("/libpod/manifests")
        .or_else(|| path.strip_prefix("/manifests"))?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|d| d.into_owned())
        })
        .collect()
}

pub fn route(s: &Service, req: &Request, segs: &[String]) -> Result {
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        // podman 3's form: the name as a parameter.
        ("POST", ["create"]) => match req.param("name") {
            Some(name) => create(s, req, name),
            None => Err(ApiError::bad_request(
                "name: which list to create is missing",
            )),
        },
        ("POST", [name]) => create(s, req, name),
        ("GET", [name, "exists"]) => {
            Ok(Reply::Empty(if manifests::exists(s.engine.store(), name) {
                204
            } else {
                404
            }))
        }
        ("GET", [name, "json"]) => inspect(s, name),
        ("PUT", [name]) => modify(s, req, name),
        ("DELETE", [name]) => delete(s, name),
        ("POST", [name, "registry", destination]) => push(s, req, name, Some(destination)),
        ("POST", [name, "push"]) => push(s, req, name, req.param("destination")),
        _ => Err(ApiError::not_found(format!(
            "{} {}: no such endpoint in berth's API",
            req.method, req.path
        ))),
    }
}

/// `POST /manifests/NAME?images=…&all=`: a new list, with the images given.
fn create(s: &Service, req: &Request, name: &str) -> Result {
    let images: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k == "images")
        .flat_map(|(_, v)| v.split(',').map(str::to_string))
        .filter(|i| !i.is_empty())
        .collect();
    let o = InstanceOptions {
        all: req.flag("all"),
        ..Default::default()
    };
    let l = manifests::create_with(
        s.engine.store(),
        name,
        &images,
        &o,
        &crate::images::registry_context(req)?,
    )?;
    Ok(Reply::Json(200, json!({ "Id": l.id })))
}

fn inspect(s: &Service, name: &str) -> Result {
    let store = s.engine.store();
    let l = manifests::find(store, name)?;
    let index = manifests::index(store, &l)?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(index).map_err(|e| ApiError::new(500, e))?,
    ))
}

/// A body field as Go decodes JSON: the key in any case.
fn field<'a>(body: &'a Value, key: &str) -> Option<&'a Value> {
    body.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn text(body: &Value, key: &str) -> Option<String> {
    field(body, key)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn strings(body: &Value, key: &str) -> Vec<String> {
    field(body, key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `PUT /manifests/NAME` with `{operation: update|remove|annotate, images, …}`.
fn modify(s: &Service, req: &Request, name: &str) -> Result {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("Decode(): {e}")))?;
    let store = s.engine.store();
    let list = manifests::find(store, name)?;
    let annotations = field(&body, "annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let o = InstanceOptions {
        all: field(&body, "all")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        os: text(&body, "os"),
        arch: text(&body, "arch"),
        variant: text(&body, "variant"),
        os_version: text(&body, "os_version"),
        features: strings(&body, "features"),
        annotations,
    };
    let images = strings(&body, "images");
    let operation = text(&body, "operation").unwrap_or_default();
    let mut done = Vec::new();
    match operation.as_str() {
        "update" => {
            let ctx = crate::images::registry_context(req)?;
            for i in &images {
                for d in manifests::add(store, &list.id, i, &o, &ctx)? {
                    done.push(d.to_string());
                }
            }
        }
        "remove" => {
            for d in &images {
                manifests::remove_instance(store, &list.id, d)?;
                done.push(d.clone());
            }
        }
        "annotate" => {
            for d in &images {
                manifests::annotate(store, &list.id, d, &o)?;
                done.push(d.clone());
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "operation {other:?}: not update, remove or annotate"
            )));
        }
    }
    Ok(Reply::Json(200, json!({ "Id": list.id, "images": done })))
}

fn delete(s: &Service, name: &str) -> Result {
    let l = manifests::delete(s.engine.store(), name)?;
    Ok(Reply::Json(
        200,
        json!({ "Deleted": [l.id], "Untagged": l.names, "Errors": [], "ExitCode": 0 }),
    ))
}

/// `POST /manifests/NAME/registry/DEST?all=&tlsVerify=`: the list (and with
/// `all` its images) pushed; the list's digest. Without a destination, the
/// list's own name, as `manifest push` does.
fn push(s: &Service, req: &Request, name: &str, destination: Option<&str>) -> Result {
    let list = manifests::find(s.engine.store(), name)?;
    let o = manifests::PushOptions {
        destination: destination.map(|d| d.strip_prefix("docker://").unwrap_or(d).to_string()),
        all: req.param("all") != Some("false"),
        ..Default::default()
    };
    let ctx = crate::images::registry_context(req)?;
    let digest = manifests::push_list(
        s.engine.store(),
        &list,
        &o,
        &ctx,
        &berth_image::copy::Silent,
    )?;
    Ok(Reply::Json(200, json!({ "Id": digest.to_string() })))
}

#[cfg(test)]
mod tests {
    use super::segments;

    #[test]
    fn a_name_with_slashes_is_one_segment() {
        assert_eq!(
            segments("/v4.3.1/libpod/manifests/localhost%2Flist%3A1/json").unwrap(),
            ["localhost/list:1", "json"]
        );
        assert_eq!(
            segments("/v4.3.1/libpod/manifests/a%2Fb/registry/127.0.0.1:5000%2Fx%2Fy:1").unwrap(),
            ["a/b", "registry", "127.0.0.1:5000/x/y:1"]
        );
        assert_eq!(segments("/v4.3.1/libpod/manifestsx/a"), None);
    }
}
