//! Docker's container endpoints over the engine's `containers()`.

use std::cell::RefCell;
use std::io::Write;

use berth_engine::container::Info;
use berth_engine::views::{PsEntry, PsOptions};
use serde_json::{Value, json};

use crate::Service;
use crate::http::{Chunked, Request};
use crate::reply::{ApiError, Done, Reply, Result};
use crate::system::filters;

/// The request's JSON body (an empty body is the type's default).
pub fn json_body<T: serde::de::DeserializeOwned + Default>(
    req: &Request,
) -> std::result::Result<T, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

/// podman's states as Docker names them.
fn docker_state(state: &str) -> &str {
    match state {
        "configured" | "initialized" => "created",
        "stopped" => "exited",
        "stopping" => "running",
        s => s,
    }
}

/// Docker's STATUS, which says how long a paused container has been up
/// (`Up 3 minutes (Paused)`) where podman's says only "Paused".
fn docker_status(info: &Info, status: String) -> String {
    if info.state.status != berth_engine::container::Status::Paused {
        return status;
    }
    let now = berth_engine::container::now_ns();
    let up = now.saturating_sub(info.state.started_ns.unwrap_or(now));
    format!(
        "Up {} (Paused)",
        berth_engine::container::human_duration(up)
    )
}

fn entry(info: &Info, e: PsEntry) -> Value {
    let ports: Vec<Value> = info
        .config
        .process
        .ports
        .iter()
        .map(|p| {
            json!({"IP": p.host_ip, "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.protocol})
        })
        .collect();
    let networks: serde_json::Map<String, Value> =
        e.networks.iter().map(|n| (n.clone(), json!({}))).collect();
    json!({
        "Id": e.id,
        "Names": e.names.iter().map(|n| format!("/{n}")).collect::<Vec<_>>(),
        "Image": e.image,
        "ImageID": format!("sha256:{}", e.image_id),
        "Command": e.command.join(" "),
        "Created": e.created,
        "Ports": ports,
        "Labels": e.labels,
        "State": docker_state(&e.state),
        "Status": docker_status(info, e.status),
        "HostConfig": {"NetworkMode": info.config.process.network.to_string()},
        "NetworkSettings": {"Networks": networks},
        "Mounts": [],
    })
}

pub fn list(s: &Service, req: &Request) -> Result {
    listed(s, req, entry)
}

/// `ps` for a list request (`all`, `limit`/`last`, `filters`), each container
/// shown by `show`: Docker's or libpod's entry.
pub fn listed(s: &Service, req: &Request, show: fn(&Info, PsEntry) -> Value) -> Result {
    let last = match req.param("limit").or(req.param("last")) {
        Some(l) if !l.is_empty() && l != "-1" && l != "0" => Some(
            l.parse()
                .map_err(|_| ApiError::bad_request(format!("limit {l:?}")))?,
        ),
        _ => None,
    };
    let o = PsOptions {
        all: req.flag("all"),
        last,
        filters: filters(req)?,
        external: req.flag("external"),
        docker: true,
        ..Default::default()
    };
    let store = s.engine.store();
    let infos = berth_engine::views::ps(store, &o).map_err(ApiError::bad_request)?;
    let entries = berth_engine::views::ps_entries(store, &infos);
    let out = infos.iter().zip(entries).map(|(i, e)| show(i, e)).collect();
    Ok(Reply::Json(200, Value::Array(out)))
}

pub fn create(s: &Service, req: &Request) -> Result {
    let body: crate::create::CreateBody = json_body(req)?;
    let name = req
        .param("name")
        .filter(|n| !n.is_empty())
        .map(String::from);
    let missing = body.missing_bind_sources();
    let o = crate::create::run_options(body, name)?;
    for dir in missing {
        std::fs::create_dir_all(&dir).map_err(|e| {
            ApiError::new(
                500,
                format!(
                    "error while creating mount source path '{}': {e}",
                    dir.display()
                ),
            )
        })?;
    }
    let c = s.engine.containers().create(&o)?;
    Ok(Reply::Json(201, json!({"Id": c.id, "Warnings": []})))
}

/// podman's inspect in Docker's spelling: a `/` before the name, the image by
/// `sha256:` ID, Docker's state names.
pub fn inspect(s: &Service, id: &str) -> Result {
    let c = s.engine.containers().inspect(id)?;
    let mut v = serde_json::to_value(&c).map_err(|e| ApiError::new(500, e))?;
    v["Name"] = json!(format!("/{}", c.name));
    v["Image"] = json!(format!("sha256:{}", c.image));
    v["Config"]["Image"] = json!(c.image_name);
    v["State"]["Status"] = json!(docker_state(&c.state.status));
    v["State"]["Restarting"] = json!(false);
    // Docker shows a health only where there is a check (compose waits on
    // one it sees).
    if c.state.health.is_none()
        && let Some(state) = v["State"].as_object_mut()
    {
        state.remove("Health");
    }
    // Docker's paused container is still running.
    if c.state.paused {
        v["State"]["Running"] = json!(true);
    }
    endpoints(s, &c.id, &mut v["NetworkSettings"]["Networks"])?;
    // Docker's: a user network's mode is its name (compose compares it), no
    // restart policy is "no".
    let info = berth_engine::container::find(s.engine.store(), &c.id)?;
    if let berth_engine::network::NetworkMode::Bridge(_) = info.config.process.network {
        v["HostConfig"]["NetworkMode"] = json!(info.config.process.network.to_string());
    }
    if v["HostConfig"]["RestartPolicy"]["Name"] == "" {
        v["HostConfig"]["RestartPolicy"]["Name"] = json!("no");
    }
    v["Config"]["StopSignal"] =
        json!(berth_runtime::ops::signal_name(c.config.stop_signal).unwrap_or_default());
    // berth's file log serves `logs` as Docker's json-file does; clients
    // (docker-py's run) read logs only from drivers they know.
    if v["HostConfig"]["LogConfig"]["Type"] == "k8s-file" {
        v["HostConfig"]["LogConfig"]["Type"] = json!("json-file");
    }
    Ok(Reply::Json(200, v))
}

/// Every network the container is configured for is listed (before it runs
/// too, as Docker's), with its aliases and its short ID among them: compose
/// reads them to know it need not connect the container again.
fn endpoints(s: &Service, id: &str, networks: &mut Value) -> std::result::Result<(), ApiError> {
    let info = berth_engine::container::find(s.engine.store(), id)?;
    let p = &info.config.process;
    if !networks.is_object() {
        *networks = json!({});
    }
    for n in p
        .network
        .bridge()
        .into_iter()
        .chain(p.networks.iter().map(String::as_str))
    {
        let e = &mut networks[n];
        if !e.is_object() {
            *e = json!({"IPAddress": "", "Gateway": "", "MacAddress": "", "IPPrefixLen": 0});
        }
        e["Aliases"] = json!(berth_engine::network::aliases(&info, n));
        e["NetworkID"] = json!(n);
    }
    Ok(())
}

fn running(s: &Service, id: &str) -> std::result::Result<bool, ApiError> {
    let state = s.engine.containers().inspect(id)?.state;
    Ok(state.running || state.paused)
}

pub fn start(s: &Service, id: &str) -> Result {
    let info = s.engine.containers().inspect(id)?;
    // Docker's: a paused container is running too.
    if info.state.running || info.state.paused {
        return Ok(Reply::Empty(304));
    }
    let Err(e) = started(s, &info.id) else {
        return Ok(Reply::Empty(204));
    };
    // Docker's AutoRemove: a start that fails removes the container (and its
    // anonymous volumes) as its exit would, the code kept for `wait`; its
    // client waits for that.
    let store = s.engine.store();
    if let Ok(c) = berth_engine::container::find(store, &info.id)
        && c.config.rm
    {
        let code = match &e {
            berth_engine::Error::Run(r) => r.exit_code(),
            _ => 125,
        };
        let _ = berth_engine::container::save_exit_code(store, &c.id, code);
        berth_engine::run::remove(store, &c.id);
        berth_engine::volumes::remove_anonymous(store, &c.config.process.anonymous_volumes);
    }
    Err(e.into())
}

/// Starts the container of full ID `id`, handing it to any client attached first.
fn started(s: &Service, id: &str) -> std::result::Result<(), berth_engine::Error> {
    let waiting = crate::attach::take_waiting(s, id);
    match waiting.split_first() {
        Some(((_, first), others)) => {
            let (_, conn) = s.engine.containers().start_attached(id, &*s.monitor)?;
            // A client gone meanwhile drops the connection: the output is logged all the same.
            let _ = first.send(conn);
            // Others attach to it as it runs.
            for (_, client) in others {
                if let Ok((_, c)) = s.engine.containers().attach(id) {
                    let _ = client.send(c);
                }
            }
        }
        None => {
            s.engine.containers().start(id, &*s.monitor)?;
        }
    }
    Ok(())
}

fn timeout(req: &Request) -> std::result::Result<Option<u64>, ApiError> {
    // Docker's `t`, libpod's `timeout`.
    match req
        .param("t")
        .or(req.param("timeout"))
        .filter(|t| !t.is_empty())
    {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("t {t:?}: not a number of seconds"))),
    }
}

pub fn stop(s: &Service, req: &Request, id: &str) -> Result {
    let t = timeout(req)?;
    if !running(s, id)? {
        return Ok(Reply::Empty(304));
    }
    s.engine.containers().stop(id, t)?;
    Ok(Reply::Empty(204))
}

pub fn restart(s: &Service, req: &Request, id: &str) -> Result {
    let t = timeout(req)?;
    s.engine.containers().restart(id, t, &*s.monitor)?;
    Ok(Reply::Empty(204))
}

pub fn kill(s: &Service, req: &Request, id: &str) -> Result {
    let signal = req
        .param("signal")
        .filter(|s| !s.is_empty())
        .unwrap_or("KILL");
    if !running(s, id)? {
        return Err(ApiError::new(409, format!("container {id} is not running")));
    }
    s.engine.containers().kill(id, signal)?;
    Ok(Reply::Empty(204))
}

pub fn pause(s: &Service, id: &str, pause: bool) -> Result {
    let c = s.engine.containers();
    if pause {
        c.pause(id)?
    } else {
        c.unpause(id)?
    };
    Ok(Reply::Empty(204))
}

/// `POST /containers/ID/wait`: the head at once (Docker's clients read it
/// before they start the container), the exit code when it comes.
pub fn wait(s: &Service, req: &Request, id: &str, conn: &mut crate::Conn) -> Result {
    let condition = req.param("condition").unwrap_or("not-running");
    if !matches!(condition, "not-running" | "next-exit" | "removed" | "") {
        return Err(ApiError::bad_request(format!(
            "condition {condition:?}: not-running, next-exit or removed"
        )));
    }
    let c = s.engine.containers();
    let info = c.inspect(id)?;
    Chunked::start(&mut conn.writer, 200, "application/json").map_err(io)?;
    let gone = || Ok(Reply::Written(Done::Close));
    // Not yet started (Docker's `run` waits, then starts; `--rm` waits for the
    // removal): its next run's end, whose exit code is the answer.
    if matches!(condition, "next-exit" | "removed") && !(info.state.running || info.state.paused) {
        let before = info.state.finished_at.clone();
        loop {
            match c.inspect(&info.id) {
                Ok(i) if i.state.running || i.state.paused || i.state.finished_at != before => {
                    break;
                }
                // Looked at again in a while, unless the client leaves.
                Ok(_) if crate::client_gone(&conn.writer, 20) => return gone(),
                Ok(_) => {}
                // Gone: a --rm container that ran; wait answers its recorded code.
                Err(_) => break,
            }
        }
    }
    let body = match c.wait(&info.id) {
        Ok(code) => {
            if condition == "removed" {
                while c.inspect(&info.id).is_ok() {
                    if crate::client_gone(&conn.writer, 20) {
                        return gone();
                    }
                }
            }
            json!({"StatusCode": code, "Error": null})
        }
        Err(e) => json!({"StatusCode": -1, "Error": {"Message": e.to_string()}}),
    };
    let mut out = Chunked::resume(&mut conn.writer);
    let done = out.json_line(&body).and_then(|()| out.finish());
    Ok(Reply::Written(if done.is_ok() {
        Done::KeepOpen
    } else {
        Done::Close
    }))
}

pub fn remove(s: &Service, req: &Request, id: &str) -> Result {
    let o = berth_engine::lifecycle::RemoveOptions {
        force: req.flag("force"),
        volumes: req.flag("v"),
        ..Default::default()
    };
    s.engine.containers().remove_with(id, &o)?;
    Ok(Reply::Empty(204))
}

/// Docker's stream framing: a header (stream, 0, 0, 0, length) before each piece.
struct Framed<'a, 'b> {
    out: &'a RefCell<Chunked<'b>>,
    stream: u8,
}

impl Write for Framed<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut frame = Vec::with_capacity(8 + buf.len());
        frame.extend_from_slice(&[self.stream, 0, 0, 0]);
        frame.extend_from_slice(&(buf.len() as u32).to_be_bytes());
        frame.extend_from_slice(buf);
        self.out.borrow_mut().write_all(&frame)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.borrow_mut().flush()
    }
}

/// `GET /containers/ID/logs`: the log as it is, or followed while the
/// container runs; framed by stream unless the container has a terminal.
pub fn logs(s: &Service, req: &Request, id: &str, w: &mut dyn Write) -> Result {
    let c = s.engine.containers();
    let info = c.inspect(id)?;
    let (want_out, want_err) = (req.flag("stdout"), req.flag("stderr"));
    if !want_out && !want_err {
        return Err(ApiError::bad_request(
            "you must choose at least one stream (stdout, stderr)",
        ));
    }
    let tail = match req.param("tail") {
        // libpod's client asks -1 for all.
        None | Some("" | "all") => None,
        Some(t) if t.starts_with('-') => None,
        Some(t) => Some(
            t.parse()
                .map_err(|_| ApiError::bad_request(format!("tail {t:?}")))?,
        ),
    };
    let point = |name| -> std::result::Result<Option<String>, ApiError> {
        match req.param(name).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            // libpod's client sends RFC 3339, Go's zero time for none.
            Some(v) if v.starts_with("0001-01-01") => Ok(None),
            Some(v) if berth_engine::time::parse_rfc3339(v).is_some() => Ok(Some(v.to_string())),
            Some(v) => {
                let secs: f64 = v
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("{name} {v:?}")))?;
                Ok(Some(berth_engine::time::format_rfc3339(secs as u64)))
            }
        }
    };
    let o = berth_engine::lifecycle::LogOptions {
        follow: req.flag("follow"),
        tail,
        timestamps: req.flag("timestamps"),
        since: point("since")?,
        until: point("until")?,
    };
    let out =
        RefCell::new(Chunked::start(w, 200, "application/vnd.docker.raw-stream").map_err(io)?);
    let tty = info.config.tty;
    let mut sink = std::io::sink();
    let mut o_out = Framed {
        out: &out,
        stream: 1,
    };
    let mut o_err = Framed {
        out: &out,
        stream: 2,
    };
    let mut raw = RawWriter { out: &out };
    let mut raw2 = RawWriter { out: &out };
    let (stdout, stderr): (&mut dyn Write, &mut dyn Write) = match (tty, want_out, want_err) {
        (true, true, true) => (&mut raw, &mut raw2),
        (true, true, false) => (&mut raw, &mut sink),
        (true, false, _) => (&mut sink, &mut raw),
        (false, true, true) => (&mut o_out, &mut o_err),
        (false, true, false) => (&mut o_out, &mut sink),
        (false, false, _) => (&mut sink, &mut o_err),
    };
    // The answer has begun: a failure now can only end the stream early.
    let r = c.logs(id, &o, stdout, stderr);
    let finished = out.into_inner().finish();
    if let Err(e) = r {
        log::debug!("logs of {id}: {e}");
    }
    Ok(Reply::Written(if finished.is_ok() {
        Done::KeepOpen
    } else {
        Done::Close
    }))
}

struct RawWriter<'a, 'b> {
    out: &'a RefCell<Chunked<'b>>,
}

impl Write for RawWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.borrow_mut().flush()
    }
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::new(500, e)
}

/// `POST /containers/prune`: the containers not running that pass its
/// `filters` (builds' working containers are not the API's to take).
pub fn prune(s: &Service, req: &Request) -> Result {
    let gone = s.engine.containers().prune(&crate::system::filters(req)?)?;
    Ok(Reply::Json(
        200,
        json!({"ContainersDeleted": gone, "SpaceReclaimed": 0}),
    ))
}

pub fn rename(s: &Service, req: &Request, id: &str) -> Result {
    let name = req
        .param("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("name: the new name is missing"))?;
    s.engine.containers().rename(id, name)?;
    Ok(Reply::Empty(204))
}

pub fn top(s: &Service, req: &Request, id: &str) -> Result {
    let args: Vec<String> = req
        .param("ps_args")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let (titles, rows) =
        match berth_engine::lifecycle::top(s.engine.store(), id, &args, &s.command)? {
            berth_engine::lifecycle::Top::Table(mut rows) => {
                let titles = if rows.is_empty() {
                    Vec::new()
                } else {
                    rows.remove(0)
                };
                (titles, rows)
            }
            // ps(1)'s columns: split on blanks, the last column keeps its spaces.
            berth_engine::lifecycle::Top::Ps(text) => {
                let mut lines = text.lines();
                let titles: Vec<String> = lines
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                let n = titles.len().max(1);
                let rows = lines
                    .map(|l| {
                        let mut cols: Vec<String> = Vec::new();
                        let mut rest = l.trim_start();
                        while cols.len() + 1 < n {
                            let Some((col, more)) = rest.split_once(char::is_whitespace) else {
                                break;
                            };
                            cols.push(col.to_string());
                            rest = more.trim_start();
                        }
                        cols.push(rest.to_string());
                        cols
                    })
                    .collect();
                (titles, rows)
            }
        };
    Ok(Reply::Json(
        200,
        json!({"Titles": titles, "Processes": rows}),
    ))
}
