//! Docker's image endpoints over the engine's `images()`.

use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc;

use berth_engine::images::{ImageSummary, ListOptions, RemoveOptions};
use berth_engine::pull::{PullEvent, PullOptions, PullPolicy};
use berth_image::Descriptor;
use berth_image::copy::Progress;
use serde_json::{Value, json};

use crate::Service;
use crate::http::{Chunked, Request};
use crate::reply::{ApiError, Reply, Result};
use crate::system::filters;

fn summary(s: &ImageSummary) -> Value {
    let tags: Vec<&String> = s.names.iter().collect();
    json!({
        "Id": format!("sha256:{}", s.id),
        "ParentId": "",
        "RepoTags": if s.dangling { Vec::new() } else { tags },
        "RepoDigests": repo_digests(&s.names, &s.digest),
        "Created": s.created,
        "Size": s.size,
        "VirtualSize": s.size,
        "SharedSize": 0,
        "Labels": s.labels,
        "Containers": 0,
    })
}

/// `GET /images/json`: one entry an image (the engine lists one a name).
pub fn list(s: &Service, req: &Request) -> Result {
    let o = ListOptions {
        all: req.flag("all"),
        filters: filters(req)?,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for img in s.engine.images().list(&o)? {
        if !seen.contains(&img.id) {
            seen.push(img.id.clone());
            out.push(summary(&img));
        }
    }
    Ok(Reply::Json(200, Value::Array(out)))
}

pub fn inspect(s: &Service, name: &str) -> Result {
    let i = s.engine.images().inspect(name)?;
    let mut v = serde_json::to_value(&i).map_err(|e| ApiError::new(500, e))?;
    v["Id"] = json!(format!("sha256:{}", i.id));
    v["ContainerConfig"] = v["Config"].clone();
    v["VirtualSize"] = json!(i.size);
    Ok(Reply::Json(200, v))
}

pub fn tag(s: &Service, req: &Request, name: &str) -> Result {
    let repo = req
        .param("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("repo: the new name's repository is missing"))?;
    let tag = req
        .param("tag")
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    s.engine.images().tag(name, &[format!("{repo}:{tag}")])?;
    Ok(Reply::Empty(201))
}

pub fn remove(s: &Service, req: &Request, name: &str) -> Result {
    let o = RemoveOptions {
        force: req.flag("force"),
        // Docker's: the untagged parents stay.
        no_prune: req.flag("noprune"),
        ..Default::default()
    };
    let mut out = Vec::new();
    for r in s.engine.images().remove(&[name.to_string()], o)? {
        let r = r?;
        out.extend(r.untagged.iter().map(|n| json!({"Untagged": n})));
        out.extend(
            r.deleted
                .iter()
                .chain(&r.parents)
                .map(|d| json!({"Deleted": format!("sha256:{d}")})),
        );
    }
    Ok(Reply::Json(200, Value::Array(out)))
}

/// `POST /images/prune`: the engine's image prune under Docker's filters
/// (`dangling=true`, the default, or `false` for every image no container
/// uses; `until`, `label`, `label!`).
pub fn prune(s: &Service, req: &Request) -> Result {
    let pruned = pruned(s, req, false)?;
    let mut deleted = Vec::new();
    for p in &pruned {
        deleted.extend(p.names.iter().map(|n| json!({"Untagged": n})));
        deleted.push(json!({"Deleted": format!("sha256:{}", p.id)}));
    }
    let space: u64 = pruned.iter().map(|p| p.size).sum();
    Ok(Reply::Json(
        200,
        json!({"ImagesDeleted": deleted, "SpaceReclaimed": space}),
    ))
}

/// `POST /libpod/images/prune`: the same prune (`all=true` as
/// `dangling=false`), in libpod's report shape.
pub fn libpod_prune(s: &Service, req: &Request) -> Result {
    let out: Vec<Value> = pruned(s, req, req.flag("all"))?
        .iter()
        .map(|p| json!({"Id": p.id, "Size": p.size, "Err": null}))
        .collect();
    Ok(Reply::Json(200, Value::Array(out)))
}

fn pruned(
    s: &Service,
    req: &Request,
    all: bool,
) -> std::result::Result<Vec<berth_engine::images::Pruned>, ApiError> {
    let mut o = berth_engine::images::PruneOptions {
        all,
        ..Default::default()
    };
    for f in filters(req)? {
        match f.split_once('=') {
            Some(("dangling", v)) => {
                o.all = match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => false,
                    "false" | "0" => true,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "invalid filter 'dangling={v}'"
                        )));
                    }
                }
            }
            _ => o.filters.push(f),
        }
    }
    Ok(s.engine.images().prune(&o)?)
}

/// Pull progress as Docker's JSON lines, sent to the answering thread.
struct Lines(Mutex<mpsc::Sender<Value>>);

impl Lines {
    fn send(&self, v: Value) {
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send(v);
        }
    }
}

fn short(d: &Descriptor) -> String {
    let hex = d.digest.to_string();
    let hex = hex.split_once(':').map_or(hex.as_str(), |(_, h)| h);
    hex[..12.min(hex.len())].to_string()
}

impl Progress for Lines {
    fn blob_started(&self, d: &Descriptor, is_config: bool) {
        if !is_config {
            self.send(json!({"status": "Pulling fs layer", "progressDetail": {}, "id": short(d)}));
        }
    }
    fn blob_progress(&self, d: &Descriptor, bytes: u64) {
        self.send(json!({
            "status": "Downloading",
            "progressDetail": {"current": bytes, "total": d.size},
            "id": short(d),
        }));
    }
    fn blob_done(&self, d: &Descriptor, skipped: bool) {
        let status = if skipped {
            "Already exists"
        } else {
            "Download complete"
        };
        self.send(json!({"status": status, "progressDetail": {}, "id": short(d)}));
    }
}

/// `POST /images/create?fromImage=NAME&tag=TAG`: a pull, its progress streamed
/// as Docker's JSON lines (a failure after the answer began is a line too).
pub fn pull(s: &Service, req: &Request, w: &mut dyn Write) -> Result {
    let Some(from) = req.param("fromImage").filter(|f| !f.is_empty()) else {
        return Err(ApiError::new(
            501,
            "images/create without fromImage (an import) is not served yet",
        ));
    };
    let name = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) if t.starts_with("sha256:") => format!("{from}@{t}"),
        Some(t) => format!("{from}:{t}"),
        None => from.to_string(),
    };
    // A Docker client's short name is Docker Hub's, as podman's compat API
    // normalizes it (registries.conf's search is podman's, not Docker's).
    let name = berth_image::Reference::parse(&name).map_or(name, |r| r.to_string());
    let o = PullOptions {
        policy: PullPolicy::Always,
        context: registry_context(req)?,
        ..Default::default()
    };
    let mut out = Chunked::start(w, 200, "application/json").map_err(|e| ApiError::new(500, e))?;
    let (tx, rx) = mpsc::channel();
    let lines = Lines(Mutex::new(tx.clone()));
    let result = std::thread::scope(|scope| {
        let pulling = scope.spawn(|| {
            let mut events = |e: PullEvent| {
                if let PullEvent::Trying(r) = e {
                    let _ = tx.send(json!({"status": format!("Trying to pull {r}...")}));
                }
            };
            let r = s.engine.images().pull(&name, &o, &lines, &mut events);
            drop(lines);
            drop(tx);
            r
        });
        // Until the pull drops its senders.
        for line in rx {
            if out.json_line(&line).is_err() {
                break;
            }
        }
        pulling.join()
    });
    let last = match result {
        // Docker's last word, without an "id" (the docker CLI would print it
        // in front: "ID: Status: …").
        Ok(Ok(_)) => json!({
            "status": format!("Status: Downloaded newer image for {name}"),
        }),
        Ok(Err(e)) => json!({"error": e.to_string(), "errorDetail": {"message": e.to_string()}}),
        Err(_) => {
            json!({"error": "the pull failed", "errorDetail": {"message": "the pull failed"}})
        }
    };
    Ok(out.end_with(&last))
}

/// `GET /images/NAME/history`.
pub fn history(s: &Service, name: &str) -> Result {
    let id = s.engine.images().inspect(name)?.id;
    let out: Vec<Value> = s
        .engine
        .images()
        .history(name)?
        .into_iter()
        .map(|h| {
            let created = h
                .created
                .as_deref()
                .and_then(berth_engine::time::parse_rfc3339)
                .unwrap_or(0);
            let hid = if h.id == id { format!("sha256:{}", h.id) } else { h.id };
            json!({"Id": hid, "Created": created, "CreatedBy": h.created_by, "Tags": null, "Size": h.size, "Comment": h.comment})
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(out)))
}

/// Registry access as the request asks for it, the same for every endpoint
/// that reaches a registry (Docker's and libpod's pull, push and search, and
/// manifest push): `X-Registry-Auth`'s credentials, libpod's
/// `tlsVerify=false`, and three tries as podman makes.
pub(crate) fn registry_context(
    req: &Request,
) -> std::result::Result<berth_image::Context, ApiError> {
    let access = berth_engine::access::RegistryAccess {
        tls_verify: (req.param("tlsVerify") == Some("false")).then_some(false),
        retries: Some(3),
        ..Default::default()
    };
    // The settings come from the request: a bad one is the client's.
    let mut c = access.context().map_err(ApiError::bad_request)?;
    // X-Registry-Auth gives them parsed, not as --creds' text.
    c.credentials = registry_auth(req)?;
    // A Docker client names the registry its credentials are for: never sent
    // to another (a short name tried at several, a search of several).
    c.credentials_registry = auth_config(req)?
        .and_then(|v| v["serveraddress"].as_str().map(str::to_string))
        .filter(|s| !s.is_empty());
    Ok(c)
}

/// `X-Registry-Auth`: base64 (URL or standard alphabet) of Docker's auth
/// config JSON; none, or an empty one, means no credentials.
pub(crate) fn registry_auth(
    req: &Request,
) -> std::result::Result<Option<berth_image::auth::Credentials>, ApiError> {
    let Some(v) = auth_config(req)? else {
        return Ok(None);
    };
    match (v["username"].as_str(), v["password"].as_str()) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(berth_image::auth::Credentials {
            username: u.to_string(),
            password: p.to_string(),
        })),
        _ => Ok(None),
    }
}

/// `X-Registry-Auth` decoded.
fn auth_config(req: &Request) -> std::result::Result<Option<Value>, ApiError> {
    use base64::Engine as _;
    let Some(text) = req
        .header("x-registry-auth")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(text.trim_end_matches('='))
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
        })
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .map_err(|_| ApiError::bad_request("X-Registry-Auth: not base64"))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| ApiError::bad_request("X-Registry-Auth: not JSON"))
}

/// `POST /images/NAME/push?tag=T`: pushed to its own name, the progress as
/// Docker's JSON lines, the digest last. A manifest list's name pushes the
/// list, as `podman push` does.
pub fn push(s: &Service, req: &Request, name: &str, w: &mut dyn Write) -> Result {
    let image = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.to_string(),
    };
    if !berth_engine::manifests::exists(s.engine.store(), &image) {
        s.engine.images().inspect(&image)?;
    }
    let context = registry_context(req)?;
    let mut out = Chunked::start(w, 200, "application/json").map_err(|e| ApiError::new(500, e))?;
    let _ = out.json_line(&json!({"status": format!("The push refers to repository [{name}]")}));
    let last = match s.engine.images().push_any(
        &image,
        &Default::default(),
        &context,
        &berth_image::copy::Silent,
    ) {
        Ok(r) => {
            // Two messages, as Docker sends them: a client shows the digest
            // line and takes the aux object (which it does not print) apart.
            let tag = req.param("tag").unwrap_or("latest");
            let _ = out.json_line(&json!({
                "status": format!("{tag}: digest: {} size: 0", r.manifest_digest)
            }));
            json!({"progressDetail": {}, "aux": {"Tag": tag, "Digest": r.manifest_digest.to_string(), "Size": 0}})
        }
        Err(e) => json!({"error": e.to_string(), "errorDetail": {"message": e.to_string()}}),
    };
    Ok(out.end_with(&last))
}

/// `REPO@DIGEST` for each of an image's names.
pub fn repo_digests(names: &[String], digest: &str) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let repo = n.rsplit_once(':').map_or(n.as_str(), |(r, _)| r);
            format!("{repo}@{digest}")
        })
        .collect()
}

/// `GET /images/search?term=T&limit=N&filters=F`: registries.conf's search
/// registries (or the one the term names), in Docker's shape; `filters`
/// (is-official, is-automated, stars) as `search --filter` takes them.
pub fn search(req: &Request) -> Result {
    let Some(term) = req.param("term").filter(|t| !t.is_empty()) else {
        return Err(ApiError::bad_request("term: what to search for is missing"));
    };
    let limit = match req.param("limit").filter(|l| !l.is_empty()) {
        None => 25,
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("limit {l:?}")))?,
    };
    let o = berth_engine::images::SearchOptions {
        limit,
        list_tags: false,
        filters: crate::system::filters(req)?,
    };
    let found = berth_engine::images::search(term, &registry_context(req)?, &o)?;
    let out: Vec<Value> = found
        .into_iter()
        .map(|r| {
            json!({
                "name": r.name,
                "description": r.description,
                "star_count": r.stars,
                "is_official": r.official == "[OK]",
                "is_automated": r.automated == "[OK]",
            })
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(out)))
}
