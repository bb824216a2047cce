//! Events, as podman's file backend keeps them: one JSON line per event in
//! `RUNROOT/events/events.log`, appended whole (O_APPEND), read back by
//! `events` with filters.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use berth_storage::Store;
use serde::{Deserialize, Serialize};

use crate::container::Info;

/// One event.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    /// Nanoseconds since the epoch.
    pub time_ns: u64,
    /// `container` or `image`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// What happened: create, init, start, died, remove, pause, unpause …
    pub status: String,
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub image: String,
    /// The container's labels, and for `died` its exit code.
    pub attributes: Vec<(String, String)>,
}

/// An event as podman's `events --format json` and templates show it.
#[derive(Clone, Debug, Serialize)]
pub struct EventReport {
    /// A `died` container's exit code (podman's, a number, not an attribute).
    #[serde(rename = "ContainerExitCode", skip_serializing_if = "Option::is_none")]
    pub container_exit_code: Option<i32>,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Image")]
    pub image: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Status")]
    pub status: String,
    /// RFC 3339 with nanoseconds, as Go's JSON has it (no trailing zeros).
    #[serde(rename = "Time")]
    pub time: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Attributes")]
    pub attributes: std::collections::BTreeMap<String, String>,
}

impl Event {
    pub fn report(&self) -> EventReport {
        let code = |(k, v): &(String, String)| (k == EXIT_CODE).then(|| v.parse().ok()).flatten();
        EventReport {
            container_exit_code: self.attributes.iter().find_map(code),
            id: self.id.clone(),
            image: self.image.clone(),
            name: self.name.clone(),
            status: self.status.clone(),
            time: crate::time::format_rfc3339_go(self.time_ns),
            kind: self.kind.clone(),
            attributes: self
                .attributes
                .iter()
                .filter(|(k, _)| k != EXIT_CODE)
                .cloned()
                .collect(),
        }
    }
}

/// The `--filter` keys of events.
pub const FILTER_KEYS: [&str; 8] = [
    "type",
    "event",
    "status",
    "container",
    "pod",
    "image",
    "volume",
    "label",
];

/// The attribute a `died` event keeps its exit code in, in the log.
const EXIT_CODE: &str = "containerExitCode";

/// containers.conf's `[engine] events_logfile_path`, else RUNROOT/events/events.log.
fn path(store: &Store) -> PathBuf {
    crate::conf::get()
        .ok()
        .and_then(|c| c.events_logfile_path.clone())
        .unwrap_or_else(|| store.config().run_root.join("events").join("events.log"))
}

/// Records a healthcheck's result (podman's `health_status` event, the
/// container's health in its `health_status` attribute).
pub fn health_status(store: &Store, info: &Info, health: &str) {
    let extra = [("health_status".to_string(), health.to_string())];
    record_container(store, info, "health_status", extra.into_iter());
}

/// Records that `status` happened to the container; best effort (an event
/// that cannot be written never fails what happened).
pub fn container(store: &Store, info: &Info, status: &str, exit_code: Option<i32>) {
    let code = exit_code.map(|c| (EXIT_CODE.to_string(), c.to_string()));
    record_container(store, info, status, code.into_iter());
}

fn record_container(
    store: &Store,
    info: &Info,
    status: &str,
    extra: impl Iterator<Item = (String, String)>,
) {
    let mut attributes: Vec<(String, String)> = info
        .config
        .process
        .labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect();
    attributes.extend(extra);
    record(
        store,
        &Event {
            time_ns: crate::container::now_ns(),
            kind: "container".into(),
            status: status.into(),
            id: info.id.clone(),
            name: info.name().to_string(),
            image: info.config.image_name.clone(),
            attributes,
        },
    );
}

/// Records that `status` (pull, push, save, loadfromarchive, tag, untag,
/// remove) happened to image `id`, under `name` (the reference, path or tag
/// it was about); best effort.
pub fn image(store: &Store, status: &str, id: &str, name: &str) {
    other(
        store,
        "image",
        status,
        id.trim_start_matches("sha256:"),
        name,
    );
}

/// Records that `status` (create, remove, prune) happened to volume `name`;
/// best effort.
pub fn volume(store: &Store, status: &str, name: &str) {
    other(store, "volume", status, "", name);
}

/// Records that `status` (create, start, stop, pause, unpause, kill, remove)
/// happened to pod `id`, named `name`; best effort.
pub fn pod(store: &Store, status: &str, id: &str, name: &str) {
    other(store, "pod", status, id, name);
}

fn other(store: &Store, kind: &str, status: &str, id: &str, name: &str) {
    record(
        store,
        &Event {
            time_ns: crate::container::now_ns(),
            kind: kind.into(),
            status: status.into(),
            id: id.to_string(),
            name: name.to_string(),
            image: String::new(),
            attributes: Vec::new(),
        },
    );
}

static BACKEND: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `--events-backend`: this process's backend, over containers.conf's
/// `events_logger` (the first call wins).
pub fn set_backend(backend: &str) {
    let _ = BACKEND.set(backend.to_string());
}

/// Whether the backend is `none` (the flag's, else containers.conf's): this
/// process records no events, and there is nothing to read.
pub fn disabled() -> bool {
    match BACKEND.get() {
        Some(b) => b == "none",
        None => crate::conf::get().is_ok_and(|c| c.events_logger.as_deref() == Some("none")),
    }
}

fn record(store: &Store, e: &Event) {
    if disabled() {
        return;
    }
    let p = path(store);
    if let Some(dir) = p.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut line = serde_json::to_vec(e).expect("an event serialises");
    line.push(b'\n');
    // One write of the whole line: appends of several processes never mix.
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
    {
        let _ = f.write_all(&line);
    }
}

/// What `events` shows.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// podman's `--filter`s: type=, event= (status), container= and pod=
    /// (name or ID prefix), image=, volume=, label=KEY[=VALUE]. The same key
    /// twice: either.
    pub filters: Vec<String>,
    /// Only events at or after / before these times (ns since the epoch).
    pub since_ns: Option<u64>,
    pub until_ns: Option<u64>,
}

impl EventFilter {
    fn keeps(&self, e: &Event) -> Result<bool, crate::Error> {
        if self.since_ns.is_some_and(|t| e.time_ns < t)
            || self.until_ns.is_some_and(|t| e.time_ns > t)
        {
            return Ok(false);
        }
        let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for f in &self.filters {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| crate::Error::InvalidArgument(format!("invalid filter {f:?}")))?;
            by_key.entry(k).or_default().push(v);
        }
        for (k, values) in by_key {
            let ok = values.iter().any(|v| match k {
                "type" => e.kind == *v,
                "event" | "status" => e.status == *v,
                "container" | "pod" => {
                    e.kind == if k == "pod" { "pod" } else { "container" }
                        && (e.name == *v || (v.len() >= 3 && e.id.starts_with(v)))
                }
                "volume" => e.kind == "volume" && e.name == *v,
                "image" => e.image == *v,
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => e.attributes.iter().any(|(a, b)| a == lk && b == lv),
                    None => e.attributes.iter().any(|(a, _)| a == v),
                },
                _ => false,
            });
            if !FILTER_KEYS.contains(&k) {
                return Err(crate::Error::InvalidArgument(format!(
                    "invalid filter {k:?}"
                )));
            }
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The recorded events that pass `f`, oldest first.
pub fn read(store: &Store, f: &EventFilter) -> Result<Vec<Event>, crate::Error> {
    let mut out = Vec::new();
    for e in read_from(store, 0).0 {
        if f.keeps(&e)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// The events after byte `offset` of the log, and the offset after them.
pub fn read_from(store: &Store, offset: u64) -> (Vec<Event>, u64) {
    use std::io::Seek;
    let Ok(mut f) = std::fs::File::open(path(store)) else {
        return (Vec::new(), offset);
    };
    if f.seek(std::io::SeekFrom::Start(offset)).is_err() {
        return (Vec::new(), offset);
    }
    let mut r = std::io::BufReader::new(f);
    let mut events = Vec::new();
    let mut at = offset;
    let mut line = String::new();
    while let Ok(n) = r.read_line(&mut line) {
        // A line still being written ends without a newline: read it next time.
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        at += n as u64;
        if let Ok(e) = serde_json::from_str(&line) {
            events.push(e);
        }
        line.clear();
    }
    (events, at)
}

/// A stream of the log (`events --stream`, the API's `/events`): each
/// [`Follower::poll`] reads on from where the last one ended.
pub struct Follower<'a> {
    store: &'a Store,
    filter: EventFilter,
    offset: u64,
}

impl<'a> Follower<'a> {
    /// A follower from the log's beginning: its first poll has every
    /// recorded event that passes `filter`.
    pub fn new(store: &'a Store, filter: EventFilter) -> Follower<'a> {
        Follower {
            store,
            filter,
            offset: 0,
        }
    }

    /// The events written since the last poll that pass the filter, oldest
    /// first. A line still being written is left for the next poll.
    pub fn poll(&mut self) -> Result<Vec<Event>, crate::Error> {
        let (events, next) = read_from(self.store, self.offset);
        let mut kept = Vec::new();
        for e in events {
            if self.filter.keeps(&e)? {
                kept.push(e);
            }
        }
        self.offset = next;
        Ok(kept)
    }

    /// The filter's `until` has passed: no event to come can pass it.
    pub fn expired(&self) -> bool {
        self.filter
            .until_ns
            .is_some_and(|t| crate::container::now_ns() > t)
    }
}
