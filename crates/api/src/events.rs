//! `GET /events`: the event log as Docker's JSON messages, the recorded ones
//! since `since`, then (without `until`) each new one as it is written, until
//! the client goes.

use berth_engine::events::{Event, EventFilter, Follower};
use serde_json::{Value, json};

use crate::http::{Chunked, Request};
use crate::reply::{ApiError, Done, Reply, Result};
use crate::{Conn, Service};

fn message(e: &Event) -> Value {
    if e.kind == "volume" {
        return volume_message(e);
    }
    let mut attributes: serde_json::Map<String, Value> = e
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    attributes.insert("name".into(), json!(e.name));
    attributes.insert("image".into(), json!(e.image));
    // Docker's name for the exit code of a `die`.
    if let Some(code) = attributes.get("containerExitCode").cloned() {
        attributes.insert("exitCode".into(), code);
    }
    // Docker calls a container's exit `die`.
    let action = if e.status == "died" {
        "die"
    } else {
        e.status.as_str()
    };
    json!({
        "status": action,
        "id": e.id,
        "from": e.image,
        "Type": e.kind,
        "Action": action,
        "Actor": {"ID": e.id, "Attributes": attributes},
        "scope": "local",
        "time": e.time_ns / 1_000_000_000,
        "timeNano": e.time_ns,
    })
}

/// A volume's event as Docker words it: the volume's name is its ID, and a
/// removed volume is `destroy`ed.
fn volume_message(e: &Event) -> Value {
    let action = match e.status.as_str() {
        "remove" => "destroy",
        s => s,
    };
    json!({
        "Type": "volume",
        "Action": action,
        "Actor": {"ID": e.name, "Attributes": {"driver": "local"}},
        "scope": "local",
        "time": e.time_ns / 1_000_000_000,
        "timeNano": e.time_ns,
    })
}

/// Docker's times: seconds since the epoch, maybe with a fraction.
fn point(req: &Request, name: &str) -> std::result::Result<Option<u64>, ApiError> {
    match req.param(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<f64>()
            .map(|s| Some((s * 1e9) as u64))
            .map_err(|_| ApiError::bad_request(format!("{name} {v:?}: not a time in seconds"))),
    }
}

pub fn events(s: &Service, req: &Request, conn: &mut Conn) -> Result {
    let filter = EventFilter {
        filters: crate::system::filters(req)?
            .into_iter()
            .map(|f| match f.strip_prefix("event=die") {
                Some("") => "event=died".to_string(),
                _ => f,
            })
            .collect(),
        since_ns: point(req, "since")?,
        until_ns: point(req, "until")?,
    };
    // Every key is judged before the stream begins (the log may hold no event
    // to judge it by yet).
    for f in &filter.filters {
        let key = f.split_once('=').map_or(f.as_str(), |(k, _)| k);
        if !berth_engine::events::FILTER_KEYS.contains(&key) {
            return Err(ApiError::bad_request(format!(
                "filters: {key:?} is not a filter of events"
            )));
        }
    }
    let store = s.engine.store();
    // What is recorded, and where the log ends now (a bad filter is told
    // before the stream begins). Without `since`, only what comes next.
    let (since, follow) = (filter.since_ns.is_some(), filter.until_ns.is_none());
    let mut follower = Follower::new(store, filter);
    let recorded = follower.poll()?;
    let mut batch = if since { recorded } else { Vec::new() };
    Chunked::start(&mut conn.writer, 200, "application/json").map_err(|e| ApiError::new(500, e))?;
    loop {
        let mut out = Chunked::resume(&mut conn.writer);
        for e in batch.drain(..) {
            if out.json_line(&message(&e)).is_err() {
                return Ok(Reply::Written(Done::Close));
            }
        }
        if !follow {
            let done = out.finish();
            return Ok(Reply::Written(if done.is_ok() {
                Done::KeepOpen
            } else {
                Done::Close
            }));
        }
        // The client's hang-up ends the stream; meanwhile the log is read anew.
        if crate::client_gone(&conn.writer, 200) {
            return Ok(Reply::Written(Done::Close));
        }
        // The answer has begun: a failure now can only end the stream.
        let Ok(new) = follower.poll() else {
            return Ok(Reply::Written(Done::Close));
        };
        batch = new;
    }
}
