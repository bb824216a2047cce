//! A container as the engine sees it: the store's record, the configuration it
//! was created with (kept in the record's metadata) and its state (a file under the
//! run root, written by whoever changes it).

use std::path::PathBuf;

use berth_storage::Store;
use serde::{Deserialize, Serialize};

use crate::spec::ProcessOptions;
use berth_runtime::pid::{Pid, ProcessId};

impl ContainerState {
    /// The init's pid as podman's inspect shows it (0 when not running).
    pub fn pid(&self) -> i32 {
        self.init.map_or(0, |p| p.pid.get())
    }

    /// The monitor's pid while it runs (podman's `ConmonPid`), else 0.
    pub fn monitor_pid(&self) -> i32 {
        self.monitor
            .filter(|m| m.alive())
            .map_or(0, |m| m.pid.get())
    }

    /// Whether the monitor that watches the container still runs.
    pub fn monitor_alive(&self) -> bool {
        self.monitor.is_some_and(|m| m.alive())
    }

    /// Whether the container's init still runs.
    pub fn init_alive(&self) -> bool {
        self.init.is_some_and(|p| p.alive())
    }
}

/// What `create` was asked for, kept for `start`, `ps` and `inspect`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The image as the user named it.
    pub image_name: String,
    pub image_id: String,
    pub process: ProcessOptions,
    /// The command line the container runs (entrypoint and command).
    pub args: Vec<String>,
    pub rm: bool,
    /// Nanoseconds since the epoch.
    pub created_ns: u64,
    /// The healthcheck, from the flags or the image.
    #[serde(default)]
    pub health: Option<crate::health::HealthConfig>,
    #[serde(default)]
    pub restart: RestartPolicy,
    /// The process that created the container to start it itself (`run`):
    /// recorded with the container, so that no moment exists in which a
    /// concurrent prune could take it for an abandoned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<ProcessId>,
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure(0) => f.write_str("on-failure"),
            RestartPolicy::OnFailure(n) => write!(f, "on-failure:{n}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl std::str::FromStr for RestartPolicy {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<RestartPolicy, crate::Error> {
        RestartPolicy::parse(s)
    }
}

/// `--restart` in a container's spec, kept as the flag (records of older
/// versions hold the flag, or null for none).
pub(crate) mod restart_flag {
    use super::RestartPolicy;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(r: &RestartPolicy, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(r)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RestartPolicy, D::Error> {
        let flag = Option::<String>::deserialize(d)?.unwrap_or_default();
        RestartPolicy::parse(&flag).map_err(serde::de::Error::custom)
    }
}

/// `--restart`: what the monitor does when the container exits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    #[default]
    No,
    /// Restart after a non-zero exit, at most N times (0: no limit).
    OnFailure(u32),
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    pub fn parse(s: &str) -> Result<RestartPolicy, crate::Error> {
        let bad = |why: &str| crate::Error::InvalidArgument(format!("--restart {s}: {why}"));
        Ok(match s {
            "" | "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => RestartPolicy::OnFailure(0),
            other => match other.strip_prefix("on-failure:") {
                Some(n) => RestartPolicy::OnFailure(
                    n.parse()
                        .map_err(|_| bad("the retry count must be a number"))?,
                ),
                None => {
                    return Err(bad("expected no, on-failure[:N], always or unless-stopped"));
                }
            },
        })
    }

    pub fn name(self) -> String {
        self.to_string()
    }

    /// Whether to start again after an exit with `code`, having restarted
    /// `restarts` times; a container its user stopped stays stopped.
    pub fn restarts(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Exited => "exited",
        }
    }
}

/// What happened to the container so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: Status,
    /// The container's init process, while running: a pid with its start time,
    /// so that neither 0 nor a recycled pid can be signalled.
    #[serde(default)]
    pub init: Option<ProcessId>,
    /// What holds its stdio and records its exit: the monitor, or the
    /// foreground `berth run`.
    #[serde(default)]
    pub monitor: Option<ProcessId>,
    pub exit_code: Option<i32>,
    pub started_ns: Option<u64>,
    pub finished_ns: Option<u64>,
    #[serde(default)]
    pub restart_count: u32,
}

/// Marks a container as stopped by its user, so that its restart policy leaves
/// it stopped.
pub fn mark_stopped(store: &Store, id: &str, on: bool) {
    let p = userdata(store, id).join("stopped");
    if on {
        let _ = std::fs::write(p, b"");
    } else {
        let _ = std::fs::remove_file(p);
    }
}

pub fn stopped_by_user(store: &Store, id: &str) -> bool {
    userdata(store, id).join("stopped").exists()
}

/// Marks a container as stopped by its user through `stop` (not merely sent a
/// signal by `kill`): while it still runs, its state is podman's "stopping".
pub fn mark_stopping(store: &Store, id: &str) {
    let _ = std::fs::write(userdata(store, id).join("stopped"), STOPPING);
}

/// Whether a `stop` of the container is under way (or was, for one still up).
pub fn stopping(store: &Store, id: &str) -> bool {
    std::fs::read(userdata(store, id).join("stopped")).is_ok_and(|b| b == STOPPING)
}

const STOPPING: &[u8] = b"stop";

/// A container with everything known about it.
#[derive(Clone, Debug)]
pub struct Info {
    pub id: String,
    pub names: Vec<String>,
    pub config: ContainerConfig,
    pub state: ContainerState,
}

impl Info {
    pub fn name(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }

    /// Whether the container was created by a process that still runs and may
    /// be about to start it (a `run` between its create and its start), so
    /// that `prune` must leave it.
    pub fn being_started(&self) -> bool {
        self.state.status == Status::Created && self.config.creator.is_some_and(|p| p.alive())
    }

    /// Whether it is a build's (or `builder from`'s) working container,
    /// which the builder's own commands manage.
    pub fn is_build_container(&self) -> bool {
        let mark = format!("{}=true", crate::views::BUILDER_LABEL);
        self.config.process.labels.contains(&mark)
    }
}

/// `RUNROOT/containers/ID/userdata`: bundle, state, log.
pub fn userdata(store: &Store, id: &str) -> PathBuf {
    store
        .config()
        .run_root
        .join("containers")
        .join(id)
        .join("userdata")
}

/// `--log-opt path=`, else the container's own directory's ctr.log.
pub fn log_path(store: &Store, id: &str) -> PathBuf {
    log_file(store, id, find(store, id).ok().as_ref())
}

/// [`log_path`] for a container already read.
fn log_file(store: &Store, id: &str, info: Option<&Info>) -> PathBuf {
    info.and_then(|i| i.config.process.log_opts.path.clone())
        .unwrap_or_else(|| userdata(store, id).join("ctr.log"))
}

/// Where the container's output is written: its log, or nowhere with
/// `--log-driver none`.
pub fn log_target(store: &Store, id: &str) -> crate::logs::Target {
    use crate::logs::Target;
    let info = find(store, id).ok();
    match info
        .as_ref()
        .and_then(|i| i.config.process.log_driver.as_deref())
    {
        Some("none") => Target::File {
            path: PathBuf::from("/dev/null"),
            max_size: None,
        },
        Some("journald") => Target::Journald {
            id: id.to_string(),
            name: info
                .as_ref()
                .map(|i| i.name().to_string())
                .unwrap_or_default(),
        },
        _ => Target::File {
            path: log_file(store, id, info.as_ref()),
            max_size: info
                .as_ref()
                .and_then(|i| i.config.process.log_opts.max_size),
        },
    }
}

fn exit_file(store: &Store, id: &str) -> PathBuf {
    store.config().run_root.join("exits").join(id)
}

/// Records the exit code of a container about to be removed (`--rm`).
pub fn save_exit_code(store: &Store, id: &str, code: i32) -> std::io::Result<()> {
    let p = exit_file(store, id);
    let dir = p.parent().expect("has a parent");
    std::fs::create_dir_all(dir)?;
    forget_old_exit_codes(dir);
    std::fs::write(p, code.to_string())
}

/// How long the exit code of a removed `--rm` container is kept for a late
/// `wait` (podman's conmon keeps them a while too): without a bound, the
/// directory grew by one file per `--rm` container (chaos finding F11).
const EXIT_CODE_KEPT: std::time::Duration = std::time::Duration::from_secs(300);

fn forget_old_exit_codes(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > EXIT_CODE_KEPT);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The exit code of a container removed after it exited.
pub fn removed_exit_code(store: &Store, id: &str) -> Option<i32> {
    std::fs::read_to_string(exit_file(store, id))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Whether a `--log-driver` writes the container's log file: k8s-file (the
/// default), and docker's json-file, which podman takes for k8s-file (its
/// name is kept, as podman keeps it).
pub fn logs_to_file(d: Option<&str>) -> bool {
    matches!(d, None | Some("k8s-file") | Some("json-file"))
}

/// Checks a `--log-driver` value.
pub fn check_log_driver(d: Option<&str>) -> Result<(), crate::Error> {
    match d {
        _ if logs_to_file(d) => Ok(()),
        Some("none") => Ok(()),
        Some("journald") if crate::journald::available() => Ok(()),
        Some("journald") => Err(crate::Error::InvalidArgument(format!(
            "--log-driver journald: this host has no journald ({} does not answer)",
            crate::journald::socket_path().display()
        ))),
        other => Err(crate::Error::InvalidArgument(format!(
            "--log-driver {}: unknown driver (k8s-file, json-file, journald or none)",
            other.unwrap_or_default()
        ))),
    }
}

/// Holds a container's lock: starting it (until it runs) and removing it exclude
/// each other, so a container is never removed half-way through its start.
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// Takes the container's lock, waiting for it.
pub fn lock(store: &Store, id: &str) -> std::io::Result<Lock> {
    let dir = run_dir(store, id);
    let mut tries = 0;
    let f = loop {
        std::fs::create_dir_all(&dir)?;
        match berth_storage::lock::lock_file(&dir.join("lock")) {
            // The store's recovery removed the directory between the two: it
            // does so for containers that are gone, which the caller finds next.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
            r => break r?,
        }
    };
    Ok(Lock(f))
}

fn run_dir(store: &Store, id: &str) -> PathBuf {
    store.config().run_root.join("containers").join(id)
}

/// Removes the run directory of a container found gone under its lock (taking
/// the lock made it again).
pub fn forget_run_dir(store: &Store, id: &str) {
    let _ = std::fs::remove_dir_all(run_dir(store, id));
}

fn state_path(store: &Store, id: &str) -> PathBuf {
    userdata(store, id).join("state.json")
}

pub use crate::time::now_ns;

fn read_state(store: &Store, id: &str) -> Option<ContainerState> {
    std::fs::read(state_path(store, id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// The container's state, judged against the processes it names: a container
/// is running while its init runs, whoever watches it. One whose monitor is
/// gone (killed, or the machine rebooted) and whose init is gone too is
/// exited, with exit code -1 (none known) as podman reports it.
pub fn load_state(store: &Store, id: &str) -> ContainerState {
    judged_state(store, id).0
}

/// [`load_state`], and whether the container was found ended with no one
/// left to record it (its watcher and its init both gone).
fn judged_state(store: &Store, id: &str) -> (ContainerState, bool) {
    let mut st = read_state(store, id).unwrap_or_default();
    if !matches!(st.status, Status::Running | Status::Paused) || st.monitor_alive() {
        return (st, false);
    }
    // The monitor writes the final state before it exits: read once more in
    // case it just did.
    if let Some(again) = read_state(store, id)
        && !matches!(again.status, Status::Running | Status::Paused)
    {
        return (again, false);
    }
    if st.init_alive() {
        return (st, false);
    }
    st.status = Status::Exited;
    st.init = None;
    // No one saw it exit: podman's -1, unless its code was kept.
    st.exit_code = removed_exit_code(store, id).or(Some(-1));
    (st, true)
}

/// Records that the container's init runs as `pid`, watched by this process.
pub fn record_running(store: &Store, info: &Info, pid: Pid) -> std::io::Result<ContainerState> {
    let id = &info.id;
    let init = ProcessId::of(pid).ok_or_else(|| {
        std::io::Error::other(format!("the container's process {pid} exited at once"))
    })?;
    let st = ContainerState {
        status: Status::Running,
        init: Some(init),
        monitor: Some(ProcessId::this()),
        exit_code: None,
        started_ns: Some(now_ns()),
        finished_ns: None,
        restart_count: load_state(store, id).restart_count,
    };
    save_state(store, id, &st)?;
    // podman's pair: the container initialised, then started.
    crate::events::container(store, info, "init", None);
    crate::events::container(store, info, "start", None);
    Ok(st)
}

pub fn save_state(store: &Store, id: &str, st: &ContainerState) -> std::io::Result<()> {
    let path = state_path(store, id);
    std::fs::create_dir_all(path.parent().expect("parent"))?;
    // The monitor and a `stop` may write at once: each through its own
    // temporary file, so neither renames the other's half-written one.
    let bytes = serde_json::to_vec(st).expect("state serialises");
    berth_image::fsutil::write_atomic(&path, &bytes).map_err(std::io::Error::other)
}

/// Changes a container's recorded configuration.
pub fn update_config(
    store: &Store,
    id: &str,
    change: impl FnOnce(&mut ContainerConfig),
) -> Result<(), crate::Error> {
    let mut info = find(store, id)?;
    change(&mut info.config);
    let meta = serde_json::to_string(&info.config).expect("config serialises");
    store
        .set_container_metadata(&info.id, meta)
        .map_err(crate::Error::other)
}

fn info_of(store: &Store, c: berth_storage::Container) -> Info {
    let config = serde_json::from_str(&c.metadata).unwrap_or_default();
    let (state, orphaned) = judged_state(store, &c.id);
    let info = Info {
        id: c.id,
        names: c.names,
        config,
        state,
    };
    if orphaned {
        // Its foreground `run` was killed, and it has ended since: what that
        // run would have done is done by whoever sees it first.
        crate::lifecycle::reap_orphan(store, &info);
    }
    info
}

/// The container's lock if no one holds it now.
pub fn try_lock(store: &Store, id: &str) -> Option<berth_storage::lock::LockGuard> {
    let dir = run_dir(store, id);
    std::fs::create_dir_all(&dir).ok()?;
    berth_storage::lock::LockFile::new(dir.join("lock"))
        .try_exclusive()
        .ok()
        .flatten()
}

/// A container by name, full ID or unique ID prefix.
pub fn find(store: &Store, name: &str) -> Result<Info, crate::Error> {
    let c = store
        .container(name)
        .map_err(|_| crate::Error::NoSuchContainer(name.to_string()))?;
    Ok(info_of(store, c))
}

/// Every container, newest first.
pub fn list(store: &Store) -> Result<Vec<Info>, berth_storage::Error> {
    let mut v: Vec<Info> = store
        .containers()?
        .into_iter()
        .map(|c| info_of(store, c))
        .collect();
    v.sort_by_key(|i| std::cmp::Reverse(i.config.created_ns));
    Ok(v)
}

/// RFC 3339 with nanoseconds, UTC.
pub fn rfc3339(ns: u64) -> String {
    crate::time::format_rfc3339_nanos(ns)
}

/// "3 seconds", "About a minute", "2 hours" — podman's units.FormatDuration style.
pub fn human_duration(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(human_duration(5_000_000_000), "5 seconds");
        assert_eq!(human_duration(90_000_000_000), "About a minute");
    }
}
