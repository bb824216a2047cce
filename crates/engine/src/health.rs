//! Healthchecks, run by the container's monitor itself (no systemd timers):
//! every interval the check command runs in the container through `berth exec`,
//! with a timeout; the results make the health status podman reports
//! (`starting`, `healthy`, `unhealthy`), kept in `health.json` beside the state.

use std::ffi::OsString;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_storage::Store;
use serde::{Deserialize, Serialize};

use crate::container::{self, now_ns, rfc3339};
use crate::duration::parse_go_duration;
use crate::monitor::MonitorCommand;

/// The check as configured (`--health-*` or the image's HEALTHCHECK).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    /// The command, exec form (`CMD-SHELL` already turned into `/bin/sh -c`).
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u32,
    /// `--health-on-failure`: what happens once the container is unhealthy.
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// podman's `--health-on-failure` actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    None,
    Kill,
    Restart,
    Stop,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::None => "none",
            OnFailure::Kill => "kill",
            OnFailure::Restart => "restart",
            OnFailure::Stop => "stop",
        }
    }
}

impl std::str::FromStr for OnFailure {
    type Err = HealthError;
    fn from_str(s: &str) -> Result<OnFailure, HealthError> {
        Ok(match s {
            "" | "none" => OnFailure::None,
            "kill" => OnFailure::Kill,
            "restart" => OnFailure::Restart,
            "stop" => OnFailure::Stop,
            other => return Err(HealthError::OnFailure(other.to_string())),
        })
    }
}

/// One check's outcome, as podman logs it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Probe {
    pub start: String,
    pub end: String,
    pub exit_code: i32,
    pub output: String,
}

/// What `inspect` shows as `.State.Health`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: String,
    pub failing_streak: u32,
    pub log: Vec<Probe>,
}

/// A `--health-*` flag that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// Not Go's duration syntax.
    #[error("invalid duration {0:?}")]
    InvalidDuration(String),
    /// `--health-cmd '[…]'` that is not a JSON array of strings.
    #[error("--health-cmd {command}: {source}")]
    InvalidCommand {
        command: String,
        source: serde_json::Error,
    },
    #[error("--health-on-failure {0}: none, kill, restart or stop")]
    OnFailure(String),
    /// An action without a check to trigger it.
    #[error("cannot set on-failure action to {0} without a health check")]
    OnFailureWithoutCheck(&'static str),
}

/// Go's duration syntax as podman takes it: `30s`, `1m30s`, `500ms`, `2h`
/// (see [`parse_go_duration`]); a negative one is no interval, timeout or
/// age, and is refused like any other that does not parse.
pub fn parse_duration(s: &str) -> Result<Duration, HealthError> {
    match parse_go_duration(s) {
        Ok(ns) if ns >= 0 => Ok(Duration::from_nanos(ns.unsigned_abs())),
        _ => Err(HealthError::InvalidDuration(s.to_string())),
    }
}

/// The check from the flags, else from the image config's `Healthcheck`; `None`
/// when there is none or it is disabled.
pub fn config_from(
    cmd: Option<&str>,
    flags: &HealthFlags,
    image: &serde_json::Value,
) -> Result<Option<HealthConfig>, HealthError> {
    let on_failure: OnFailure = flags.on_failure.as_deref().unwrap_or("").parse()?;
    let without_check = || match on_failure {
        OnFailure::None => Ok(None),
        action => Err(HealthError::OnFailureWithoutCheck(action.as_str())),
    };
    if flags.disabled {
        return without_check();
    }
    let img = &image["Healthcheck"];
    let test: Vec<String> = match cmd {
        Some(c) if c.trim_start().starts_with('[') => {
            serde_json::from_str(c).map_err(|source| HealthError::InvalidCommand {
                command: c.to_string(),
                source,
            })?
        }
        Some(c) => vec!["/bin/sh".into(), "-c".into(), c.into()],
        None => {
            let t: Vec<String> = img["Test"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            match t.first().map(String::as_str) {
                Some("CMD") => t[1..].to_vec(),
                Some("CMD-SHELL") => {
                    vec!["/bin/sh".into(), "-c".into(), t[1..].join(" ")]
                }
                _ => return without_check(),
            }
        }
    };
    if test.is_empty() {
        return without_check();
    }
    let ns = |k: &str| img[k].as_u64().filter(|n| *n > 0).map(Duration::from_nanos);
    let pick =
        |flag: &Option<String>, key: &str, default: Duration| -> Result<Duration, HealthError> {
            match flag {
                Some(f) => parse_duration(f),
                None => Ok(ns(key).unwrap_or(default)),
            }
        };
    Ok(Some(HealthConfig {
        test,
        interval: pick(&flags.interval, "Interval", Duration::from_secs(30))?,
        timeout: pick(&flags.timeout, "Timeout", Duration::from_secs(30))?,
        start_period: pick(&flags.start_period, "StartPeriod", Duration::ZERO)?,
        retries: flags
            .retries
            .or(img["Retries"].as_u64().map(|r| r as u32))
            .unwrap_or(3),
        on_failure,
    }))
}

/// The `--health-*` flags other than the command.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HealthFlags {
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub retries: Option<u32>,
    /// `--no-healthcheck`, or `--health-interval disable`.
    pub disabled: bool,
    /// `--health-on-failure`.
    pub on_failure: Option<String>,
}

fn path(store: &Store, id: &str) -> std::path::PathBuf {
    container::userdata(store, id).join("health.json")
}

pub fn load(store: &Store, id: &str) -> Option<Health> {
    std::fs::read(path(store, id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn save(store: &Store, id: &str, h: &Health) {
    let bytes = serde_json::to_vec(h).expect("health serialises");
    let _ = berth_image::fsutil::write_atomic(&path(store, id), &bytes);
}

/// Marks a freshly started container's health as `starting`.
pub fn reset(store: &Store, id: &str) {
    save(
        store,
        id,
        &Health {
            status: "starting".into(),
            ..Default::default()
        },
    );
}

/// `healthcheck run NAME`: the container's check run once now, as its timer
/// would run it, by `command`'s [`MonitorCommand::exec`]; whether it passed.
/// A container with no check, or one not running, has none to run.
pub fn run_now(store: &Store, command: &MonitorCommand, name: &str) -> Result<bool, crate::Error> {
    let i = container::find(store, name)?;
    let Some(h) = &i.config.health else {
        let why = format!("container {} has no defined healthcheck", i.id);
        return Err(crate::Error::InvalidArgument(why));
    };
    if i.state.status != container::Status::Running {
        let why = format!("container {} is not running", i.id);
        return Err(crate::Error::StateImproper(why));
    }
    Ok(check(store, &i.id, h, &command.exec(&i.id), false))
}

/// Runs the check once with `exec_argv` (`berth … exec ID`) and records the
/// result; `in_start_period` failures do not count. Returns whether it passed.
pub fn check(
    store: &Store,
    id: &str,
    cfg: &HealthConfig,
    exec_argv: &[OsString],
    in_start_period: bool,
) -> bool {
    let start = now_ns();
    let (code, output) = run_with_timeout(exec_argv, &cfg.test, cfg.timeout);
    let mut h = load(store, id).unwrap_or_default();
    h.log.push(Probe {
        start: rfc3339(start),
        end: rfc3339(now_ns()),
        exit_code: code,
        output,
    });
    let drop = h.log.len().saturating_sub(5);
    h.log.drain(..drop);
    if code == 0 {
        h.failing_streak = 0;
        h.status = "healthy".into();
    } else if !in_start_period {
        h.failing_streak += 1;
        if h.failing_streak >= cfg.retries {
            h.status = "unhealthy".into();
        }
    }
    if h.status.is_empty() {
        h.status = "starting".into();
    }
    save(store, id, &h);
    if let Ok(info) = container::find(store, id) {
        crate::events::health_status(store, &info, &h.status);
    }
    if h.status == "unhealthy" {
        on_failure(store, id, cfg.on_failure);
    }
    code == 0
}

/// Marker of a restart the healthcheck asked for: the container's monitor
/// starts it again once it has exited, whatever its restart policy says.
fn restart_marker(store: &Store, id: &str) -> std::path::PathBuf {
    container::userdata(store, id).join("health-restart")
}

/// Whether a failed healthcheck asked for a restart (taken once).
pub fn take_restart(store: &Store, id: &str) -> bool {
    std::fs::remove_file(restart_marker(store, id)).is_ok()
}

/// `--health-on-failure`: kill, stop, or end the container for its monitor
/// to start again. Run by `healthcheck run`, the action is done when it
/// returns (as podman's); run by the container's own monitor, it never waits
/// for that monitor (itself).
fn on_failure(store: &Store, id: &str, action: OnFailure) {
    let Ok(info) = container::find(store, id) else {
        return;
    };
    let in_monitor = info
        .state
        .monitor
        .is_some_and(|m| m.pid == berth_runtime::pid::Pid::this());
    let init = info.state.init.and_then(|p| p.open());
    let wait = Some(Duration::from_secs(10));
    match action {
        OnFailure::None => {}
        OnFailure::Kill => {
            let _ = crate::lifecycle::signal(store, id, "KILL");
            if !in_monitor {
                crate::lifecycle::wait_stopped(&info, wait);
            }
        }
        OnFailure::Stop if !in_monitor => {
            let _ = crate::lifecycle::stop(store, id, None);
        }
        OnFailure::Stop => {
            // From the monitor: the stop signal, its timeout on the init
            // alone, then SIGKILL; the monitor records the exit as a stop.
            container::mark_stopped(store, id, true);
            let grace = Duration::from_secs(info.config.process.stop_timeout.unwrap_or(10));
            let _ = crate::lifecycle::signal(store, id, "TERM");
            if init.as_ref().is_some_and(|fd| !fd.wait_exit(Some(grace))) {
                let _ = crate::lifecycle::signal(store, id, "KILL");
            }
        }
        OnFailure::Restart => {
            if std::fs::write(restart_marker(store, id), b"").is_err() {
                return;
            }
            let _ = crate::lifecycle::signal(store, id, "KILL");
            if !in_monitor && let Some(fd) = init {
                // Done when the monitor runs the container again.
                fd.wait_exit(wait);
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while std::time::Instant::now() < deadline {
                    let st = container::load_state(store, id);
                    if st.status == container::Status::Running && st.init != info.state.init {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// Runs the check; a check past its timeout is killed and fails.
fn run_with_timeout(exec_argv: &[OsString], test: &[String], timeout: Duration) -> (i32, String) {
    let mut cmd = Command::new(&exec_argv[0]);
    cmd.args(&exec_argv[1..])
        .args(test)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Ok(mut child) = cmd.spawn() else {
        return (125, "cannot run the healthcheck".into());
    };
    let deadline = Instant::now() + timeout;
    let pidfd = berth_runtime::pid::Pid::new(child.id() as i32)
        .and_then(|p| berth_runtime::pid::PidFd::open(p).ok().flatten());
    let mut timed_out = false;
    if let Some(fd) = &pidfd {
        let left = deadline.saturating_duration_since(Instant::now());
        if !fd.wait_exit(Some(left)) {
            timed_out = true;
            let _ = child.kill();
        }
    }
    let mut output = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = (&mut o).take(4096).read_to_string(&mut output);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = (&mut e).take(4096).read_to_string(&mut output);
    }
    let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
    if timed_out {
        return (
            1,
            format!("healthcheck command exceeded timeout of {timeout:?}"),
        );
    }
    (status, output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_container_has_no_check_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::test_store(dir.path());
        let command = MonitorCommand::current(Default::default(), None);
        let e = run_now(&store, &command, "nope").unwrap_err();
        assert!(
            matches!(e, crate::Error::NoSuchContainer(ref n) if n == "nope"),
            "{e}"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("10").unwrap_err().to_string(),
            "invalid duration \"10\""
        );
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("-5s").is_err());
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
    }

    #[test]
    fn image_healthcheck_and_flags() {
        let img = serde_json::json!({"Healthcheck": {"Test": ["CMD-SHELL", "test -f /ok"], "Interval": 2_000_000_000u64, "Retries": 5}});
        let c = config_from(None, &HealthFlags::default(), &img)
            .unwrap()
            .unwrap();
        assert_eq!(c.test, ["/bin/sh", "-c", "test -f /ok"]);
        assert_eq!((c.interval, c.retries), (Duration::from_secs(2), 5));
        let flags = HealthFlags {
            interval: Some("1s".into()),
            ..Default::default()
        };
        let c = config_from(Some("[\"true\"]"), &flags, &img)
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.test.as_slice(), c.interval),
            (&["true".to_string()][..], Duration::from_secs(1))
        );
        let off = HealthFlags {
            disabled: true,
            ..Default::default()
        };
        assert!(config_from(None, &off, &img).unwrap().is_none());
        assert!(
            config_from(None, &HealthFlags::default(), &serde_json::json!({}))
                .unwrap()
                .is_none()
        );
    }
}
