//! Which handler a request goes to. Docker's paths come bare or under
//! `/v1.NN/`; libpod's under `/v4.N.N/libpod/` (served by the same handlers
//! where the two APIs agree).

use crate::http::{self, Request};
use crate::reply::{self, ApiError, Done, Reply};
use crate::{Conn, Service};
use crate::{containers, images, system, transfer};

/// Answers one request; Err only when the connection itself failed.
pub fn handle(service: &Service, req: &Request, conn: &mut Conn) -> std::io::Result<Done> {
    let path = strip_version(&req.path);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let reply = route(service, req, &segs, conn).unwrap_or_else(|e| {
        Reply::Text(
            e.status,
            "application/json",
            String::from_utf8_lossy(&reply::error_body(e.status, &e.message)).into_owned(),
        )
    });
    let w = &mut conn.writer;
    // HEAD: the same head, no body.
    let reply = match reply {
        Reply::Text(status, ty, _) if req.method == "HEAD" => {
            Reply::Text(status, ty, String::new())
        }
        r => r,
    };
    match reply {
        Reply::Json(status, v) => {
            let body = serde_json::to_vec(&v).unwrap_or_default();
            http::respond(w, status, "application/json", &body)?;
        }
        Reply::Text(status, ty, text) => http::respond(w, status, ty, text.as_bytes())?,
        Reply::Empty(status) => http::respond(w, status, "text/plain", b"")?,
        Reply::Written(done) => return Ok(done),
    }
    Ok(Done::KeepOpen)
}

/// Requests whose bodies their handlers read as they come (a build context
/// can be larger than any body kept in memory).
pub fn streamed(method: &str, path: &str) -> bool {
    let path = strip_version(path);
    let path = path.strip_prefix("/libpod").unwrap_or(path);
    (method == "POST" && path == "/build")
        || (method == "PUT" && path.starts_with("/containers/") && path.ends_with("/archive"))
        || (method == "POST" && path == "/images/load")
}

/// `/v1.41/containers/json` → `/containers/json`; `/v4.3.1/libpod/…` keeps `libpod/`.
pub(crate) fn strip_version(path: &str) -> &str {
    let Some(rest) = path.strip_prefix("/v") else {
        return path;
    };
    let end = rest.find('/').unwrap_or(rest.len());
    if rest[..end].chars().all(|c| c.is_ascii_digit() || c == '.') && end > 0 {
        &rest[end..]
    } else {
        path
    }
}

fn route(s: &Service, req: &Request, segs: &[&str], conn: &mut Conn) -> reply::Result {
    let m = req.method.as_str();
    if let ["libpod", rest @ ..] = segs {
        return libpod_route(s, req, rest, conn);
    }
    match (m, segs) {
        ("GET" | "HEAD", ["_ping"]) => {
            Ok(Reply::Text(200, "text/plain; charset=utf-8", "OK".into()))
        }
        ("GET", ["version"]) => system::version(s),
        ("GET", ["info"]) => system::info(s),
        ("GET", ["system", "df"]) => system::df(s),
        ("POST", ["auth"]) => system::auth(req),
        ("GET", ["events"]) => crate::events::events(s, req, conn),
        ("GET", ["images", name @ .., "history"]) if !name.is_empty() => {
            images::history(s, &name.join("/"))
        }
        ("GET", ["containers", "json"]) => containers::list(s, req),
        ("POST", ["containers", "create"]) => containers::create(s, req),
        ("GET", ["containers", id, "json"]) => containers::inspect(s, id),
        ("POST", ["containers", id, "start"]) => containers::start(s, id),
        ("POST", ["containers", id, "attach"]) => crate::attach::attach(s, req, id, conn),
        ("POST", ["containers", id, "resize"]) => crate::attach::resize(s, req, id),
        ("POST", ["containers", id, "stop"]) => containers::stop(s, req, id),
        ("POST", ["containers", id, "restart"]) => containers::restart(s, req, id),
        ("POST", ["containers", id, "kill"]) => containers::kill(s, req, id),
        ("POST", ["containers", id, "pause"]) => containers::pause(s, id, true),
        ("POST", ["containers", id, "unpause"]) => containers::pause(s, id, false),
        ("POST", ["containers", id, "wait"]) => containers::wait(s, req, id, conn),
        ("DELETE", ["containers", id]) => containers::remove(s, req, id),
        ("GET", ["containers", id, "logs"]) => containers::logs(s, req, id, &mut conn.writer),
        ("POST", ["containers", id, "exec"]) => crate::exec::create(s, req, id),
        ("POST", ["exec", id, "start"]) => crate::exec::start(s, req, id, conn),
        ("GET", ["exec", id, "json"]) => crate::exec::inspect(s, id),
        ("GET", ["containers", id, "archive"]) => crate::archive::get(s, req, id, conn, false),
        ("HEAD", ["containers", id, "archive"]) => crate::archive::get(s, req, id, conn, true),
        ("PUT", ["containers", id, "archive"]) => crate::archive::put(s, req, id, conn),
        ("POST", ["build"]) => crate::build::build(s, req, conn),
        ("POST", ["build", "prune"]) => crate::build::prune(s),
        ("GET", ["images", "json"]) => images::list(s, req),
        ("POST", ["images", "prune"]) => images::prune(s, req),
        ("GET", ["images", "search"]) => images::search(req),
        ("GET", ["images", "get"]) => transfer::save(s, req, None, &mut conn.writer),
        ("GET", ["images", name @ .., "get"]) if !name.is_empty() => {
            transfer::save(s, req, Some(&name.join("/")), &mut conn.writer)
        }
        ("POST", ["images", "load"]) => transfer::load(s, req, conn),
        ("POST", ["commit"]) => transfer::commit(s, req),
        ("GET", ["containers", id, "export"]) => transfer::export(s, id, &mut conn.writer),
        ("GET", ["containers", id, "changes"]) => transfer::changes(s, id),
        ("GET", ["containers", id, "stats"]) => transfer::stats(s, req, id, &mut conn.writer),
        ("POST", ["images", "create"]) => images::pull(s, req, &mut conn.writer),
        ("GET", ["images", name @ .., "json"]) if !name.is_empty() => {
            images::inspect(s, &name.join("/"))
        }
        ("POST", ["images", name @ .., "push"]) if !name.is_empty() => {
            images::push(s, req, &name.join("/"), &mut conn.writer)
        }
        ("POST", ["images", name @ .., "tag"]) if !name.is_empty() => {
            images::tag(s, req, &name.join("/"))
        }
        ("DELETE", ["images", name @ ..]) if !name.is_empty() => {
            images::remove(s, req, &name.join("/"))
        }
        ("GET", ["volumes"]) => system::volumes(s, req),
        ("POST", ["volumes", "create"]) => system::volume_create(s, req),
        ("GET", ["volumes", name]) => system::volume_inspect(s, name),
        ("DELETE", ["volumes", name]) => system::volume_remove(s, req, name),
        ("POST", ["volumes", "prune"]) => system::volume_prune(s, req),
        ("GET", ["networks"]) => system::networks(s, req),
        ("POST", ["networks", "create"]) => system::network_create(s, req),
        ("POST", ["networks", "prune"]) => system::network_prune(s, req),
        ("GET", ["networks", name]) => system::network_inspect(s, name),
        ("DELETE", ["networks", name]) => system::network_remove(s, name),
        ("POST", ["networks", name, "connect"]) => system::network_connect(s, req, name, true),
        ("POST", ["networks", name, "disconnect"]) => system::network_connect(s, req, name, false),
        ("POST", ["containers", "prune"]) => containers::prune(s, req),
        ("POST", ["containers", id, "rename"]) => containers::rename(s, req, id),
        ("GET", ["containers", id, "top"]) => containers::top(s, req, id),
        _ => Err(ApiError::not_found(format!(
            "{m} {}: no such endpoint in berth's API",
            req.path
        ))),
    }
}

/// libpod's own answers where they differ from Docker's; the rest as Docker's.
fn libpod_route(s: &Service, req: &Request, segs: &[&str], conn: &mut Conn) -> reply::Result {
    libpod_answer(s, req, segs, conn).map_err(|mut e| {
        // podman's client knows a missing container by podman's words.
        if let Some(name) = e.message.strip_prefix("No such container: ") {
            e.message = format!("no container with name or ID \"{name}\" found: no such container");
        }
        e
    })
}

fn libpod_answer(s: &Service, req: &Request, segs: &[&str], conn: &mut Conn) -> reply::Result {
    use crate::{libpod, libpod_store};
    // Lists' names hold `/`: their paths are split before they are decoded.
    if let Some(m) = crate::manifests::segments(&req.raw_path) {
        return crate::manifests::route(s, req, &m);
    }
    match (req.method.as_str(), segs) {
        ("GET", ["info"]) => libpod::info(s),
        ("GET", ["containers", "json"]) => libpod::containers(s, req),
        ("POST", ["containers", "create"]) => libpod::create(s, req),
        ("GET", ["containers", id, "json"]) => libpod::inspect(s, id),
        ("GET", ["containers", id, "exists"]) => libpod::exists(s, id),
        ("POST", ["containers", id, "wait"]) => libpod::wait(s, id),
        ("DELETE", ["containers", id]) => libpod::remove(s, req, id),
        ("GET", ["images", "json"]) => libpod::images(s, req),
        ("DELETE", ["images", "remove"]) => libpod::images_remove(s, req),
        ("POST", ["images", "prune"]) => images::libpod_prune(s, req),
        ("POST", ["images", name @ .., "push"]) if !name.is_empty() => {
            libpod::push(s, req, &name.join("/"), &mut conn.writer)
        }
        ("GET", ["images", name @ .., "exists"]) if !name.is_empty() => {
            libpod::image_exists(s, &name.join("/"))
        }
        ("GET", ["pods", "json"]) => libpod::pods(s, req),
        ("POST", ["pods", "create"]) => libpod::pod_create(s, req),
        ("GET", ["pods", name, "json"]) => libpod::pod_inspect(s, name),
        ("GET", ["pods", name, "exists"]) => libpod::pod_exists(s, name),
        ("DELETE", ["pods", name]) => libpod::pod_remove(s, req, name),
        (
            "POST",
            [
                "pods",
                name,
                verb @ ("start" | "stop" | "kill" | "pause" | "unpause"),
            ],
        ) => libpod::pod_verb(s, req, name, verb),
        ("POST", ["play", "kube"] | ["kube", "play"]) => libpod::play_kube(s, req),
        ("GET", ["generate", name, "systemd"]) => libpod::generate_systemd(s, req, name),
        ("POST", ["secrets", "create"]) => libpod_store::secret_create(s, req),
        ("GET", ["secrets", "json"]) => libpod_store::secrets(s),
        ("GET", ["secrets", name, "json"]) => libpod_store::secret_inspect(s, name),
        ("DELETE", ["secrets", name]) => libpod_store::secret_remove(s, name),
        ("GET", ["volumes", "json"]) => libpod_store::volumes(s, req),
        ("POST", ["volumes", "create"]) => libpod_store::volume_create(s, req),
        ("POST", ["volumes", "prune"]) => libpod_store::volume_prune(s, req),
        ("GET", ["volumes", name, "json"]) => libpod_store::volume_inspect(s, name),
        ("GET", ["volumes", name, "exists"]) => libpod_store::volume_exists(s, name),
        ("DELETE", ["volumes", name]) => libpod_store::volume_remove(s, req, name),
        ("GET", ["networks", "json"]) => libpod_store::networks(s, req),
        ("POST", ["networks", "create"]) => libpod_store::network_create(s, req),
        ("GET", ["networks", name, "json"]) => libpod_store::network_inspect(s, name),
        ("GET", ["networks", name, "exists"]) => libpod_store::network_exists(s, name),
        ("DELETE", ["networks", name]) => libpod_store::network_remove(s, req, name),
        ("POST", ["images", "pull"]) => libpod::pull(s, req, &mut conn.writer),
        _ => route(s, req, segs, conn),
    }
}

#[cfg(test)]
mod tests {
    use super::strip_version;

    #[test]
    fn versions_come_off_paths() {
        assert_eq!(strip_version("/v1.41/containers/json"), "/containers/json");
        assert_eq!(strip_version("/containers/json"), "/containers/json");
        assert_eq!(strip_version("/v4.3.1/libpod/info"), "/libpod/info");
        assert_eq!(strip_version("/volumes"), "/volumes");
    }
}
