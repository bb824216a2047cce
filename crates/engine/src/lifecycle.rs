//! What happens to containers after `create`: start (through the monitor), stop,
//! kill, wait, remove, and reading their logs.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use berth_storage::Store;

use crate::container::{self, Info, Status};
use crate::error::{Error, Result};
use crate::logs::{self, Stream};
use crate::prune_filters::PruneFilters;
use crate::run;
use crate::sys;

fn find(store: &Store, name: &str) -> Result<Info> {
    container::find(store, name).map_err(|_| Error::NoSuchContainer(name.to_string()))
}

/// Starts a created or exited container through a new monitor; `monitor_argv`
/// gives the command line that runs `berth __monitor ID`.
pub fn start(
    store: &Store,
    name: &str,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<Info> {
    let info = find(store, name)?;
    if is_up(&info) {
        return Ok(info);
    }
    start_donors(store, &info, monitor_argv)?;
    release_leftovers(store, &info);
    container::mark_stopped(store, &info.id, false);
    crate::monitor::spawn(&monitor_argv(&info.id))?;
    // A --rm container may be gone already (it ran and its monitor removed it).
    Ok(find(store, &info.id).unwrap_or(info))
}

/// The containers whose namespaces this one joins start first (a pod's infra
/// container with its first member), as podman starts dependencies; a pod's
/// cgroup, with its limits, is made again where a reboot took it away.
fn start_donors(
    store: &Store,
    info: &Info,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<()> {
    if let Some(pod) = &info.config.process.pod {
        crate::pods::ensure_cgroup(store, pod)?;
    }
    for donor in crate::namespaces::donors(&info.config.process) {
        let d = find(store, donor)?;
        if !is_up(&d) {
            start(store, &d.id, monitor_argv)?;
        }
    }
    Ok(())
}

/// The runtime the container runs under.
pub(crate) fn oci(store: &Store, info: &Info) -> Result<crate::oci::Oci> {
    crate::oci::Oci::for_container(store, info).map_err(Error::from)
}

/// Whether the container has processes (running or paused).
fn is_up(info: &Info) -> bool {
    matches!(info.state.status, Status::Running | Status::Paused)
}

/// Freezes (`pause`) or thaws a running container.
pub fn set_paused(store: &Store, name: &str, pause: bool) -> Result<Info> {
    let mut info = find(store, name)?;
    let (want, verb) = if pause {
        (Status::Running, "pause")
    } else {
        (Status::Paused, "unpause")
    };
    if info.state.status != want {
        return Err(Error::StateImproper(format!(
            "\"{}\" is not {}, can't {verb}: container state improper",
            info.id,
            want.as_str()
        )));
    }
    oci(store, &info)?.pause(&info.id, pause)?;
    info.state.status = if pause {
        Status::Paused
    } else {
        Status::Running
    };
    container::save_state(store, &info.id, &info.state).map_err(|e| Error::other(e.to_string()))?;
    crate::events::container(store, &info, verb, None);
    Ok(info)
}

/// The container's processes as `ps` shows them (`top`).
/// What `top` shows.
pub enum Top {
    /// Rows of the format descriptors asked for, the header first.
    Table(Vec<Vec<String>>),
    /// ps(1)'s own output for its options, cut to the container's processes.
    Ps(String),
}

/// A running container's processes: in podman's format descriptors, or as
/// ps(1) in the container shows them when `args` are ps options (run there by
/// `command`'s `exec`, so its PIDs and users are the container's own).
pub fn top(
    store: &Store,
    name: &str,
    args: &[String],
    command: &crate::monitor::MonitorCommand,
) -> Result<Top> {
    let info = find(store, name)?;
    if !is_up(&info) {
        return Err(Error::StateImproper(format!(
            "top can only be used on running containers: {} is {}",
            info.id,
            info.state.status.as_str()
        )));
    }
    if crate::top::are_descriptors(args) {
        let pids = oci(store, &info)?.pids(&info.id)?;
        let rows = crate::top::table(&pids, args).expect("descriptors checked");
        return Ok(Top::Table(rows));
    }
    ps_in(command, &info.id, args).map(Top::Ps)
}

/// ps(1) with `args` run in container `id`, as podman's top does for options
/// that are not its descriptors; without the lines of that ps itself.
fn ps_in(command: &crate::monitor::MonitorCommand, id: &str, args: &[String]) -> Result<String> {
    let argv = command.exec(id);
    let words = args.iter().flat_map(|a| a.split_whitespace());
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .arg("ps")
        .args(words)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::other(format!("executing ps(1) in the container: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(Error::other(format!(
            "executing ps(1) in the container: runtime failed with exit status: {} and output: {}",
            out.status.code().unwrap_or(-1),
            said.lines().collect::<Vec<_>>().join(" ")
        )));
    }
    let own = args.join(" ");
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| own.is_empty() || !l.contains(&own))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// Stops (if needed) and starts a container again.
pub fn restart(
    store: &Store,
    name: &str,
    timeout: Option<u64>,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<Info> {
    let info = find(store, name)?;
    crate::events::container(store, &info, "restart", None);
    let info = stop(store, &info.id, timeout)?;
    start(store, &info.id, monitor_argv)
}

/// Starts a container with this process attached from its first byte of output.
pub fn start_attached(
    store: &Store,
    name: &str,
    monitor_argv: &dyn Fn(&str) -> Vec<OsString>,
) -> Result<(Info, std::os::unix::net::UnixStream)> {
    let info = find(store, name)?;
    if is_up(&info) {
        return Err(Error::StateImproper(format!(
            "container {} is running already: use attach",
            info.id
        )));
    }
    start_donors(store, &info, monitor_argv)?;
    release_leftovers(store, &info);
    container::mark_stopped(store, &info.id, false);
    let mut argv = monitor_argv(&info.id);
    argv.push("--attach".into());
    let path = crate::attach::socket_path(store, &info.id);
    let conn = crate::monitor::spawn_attached(&argv, Some(&path))?
        .ok_or_else(|| Error::other("the monitor made no attach socket"))?;
    // A --rm container may be gone already (it ran and its monitor removed it).
    Ok((find(store, &info.id).unwrap_or(info), conn))
}

/// What a container that ran before may have left if nothing cleaned up after
/// it (its monitor was killed): the runtime's state, its network, its mount and
/// its sockets. A later start would trip over them.
fn release_leftovers(store: &Store, info: &Info) {
    if info.state.status != Status::Exited || info.state.monitor_alive() {
        return;
    }
    if let Ok(rt) = oci(store, info) {
        rt.delete(&info.id);
    }
    crate::network::teardown(store, &info.id);
    crate::namespaces::release_shm(store, &info.id);
    crate::userns_view::release(&info.id);
    let _ = store.unmount(&info.id, false);
    crate::image_mounts::release(store, info);
    crate::attach::remove_sockets(store, &info.id);
}

/// A container found ended after its watcher (a foreground `run`, a monitor)
/// was killed: its exit recorded, what it held released, and with --rm the
/// container removed, by the first berth that sees it (under its lock, never
/// waiting for one: whoever holds it is at work on the container already).
pub(crate) fn reap_orphan(store: &Store, info: &Info) {
    if let Some(_lock) = container::try_lock(store, &info.id) {
        finish_orphan(store, info);
    }
}

/// After a container whose monitor had died is stopped: what the monitor would
/// have done (its leftovers released, the exit recorded; with `--rm`, removed).
fn finish_orphan(store: &Store, info: &Info) {
    let mut st = container::load_state(store, &info.id);
    if st.monitor_alive() || st.init_alive() {
        return;
    }
    st.status = Status::Exited;
    st.init = None;
    st.finished_ns = Some(container::now_ns());
    let _ = container::save_state(store, &info.id, &st);
    release_leftovers(
        store,
        &Info {
            state: st,
            ..info.clone()
        },
    );
    if info.config.rm {
        run::remove(store, &info.id);
        crate::volumes::remove_anonymous(store, &info.config.process.anonymous_volumes);
    }
}

/// Waits until the container's monitor is gone (so its final state is written),
/// or, when no monitor watches it any more, its init; at most `timeout`; true
/// when it is.
pub fn wait_stopped(info: &Info, timeout: Option<Duration>) -> bool {
    if !is_up(info) {
        return true;
    }
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    let left = || deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
    if let Some(monitor) = info.state.monitor.and_then(|m| m.open())
        && !monitor.wait_exit(left())
    {
        return false;
    }
    // A monitor's exit is the container's only when its init is gone too: a
    // monitor killed meanwhile leaves the init running (found by the chaos
    // test: stop returned 0 and the container ran on).
    info.state
        .init
        .and_then(|p| p.open())
        .is_none_or(|init| init.wait_exit(left()))
}

/// Sends `sig` to the container's init through a pidfd; false when it is gone.
fn signal_init(info: &Info, sig: i32) -> Result<bool> {
    let Some(fd) = info.state.init.and_then(|p| p.open()) else {
        return Ok(false);
    };
    fd.signal(sig)
        .map_err(|e| Error::other(format!("{}: send signal {sig}: {e}", info.id)))
}

/// Sends a signal to a running container's init.
pub fn kill(store: &Store, name: &str, signal: &str) -> Result<Info> {
    signal_container(store, name, signal, true)
}

/// [`kill`] for berth's own reasons (a healthcheck's action), which leaves the
/// restart policy to decide.
pub fn signal(store: &Store, name: &str, signal: &str) -> Result<Info> {
    signal_container(store, name, signal, false)
}

fn signal_container(store: &Store, name: &str, signal: &str, by_user: bool) -> Result<Info> {
    // The signal is judged before the container is looked for, as podman does.
    let sig = parse_kill_signal(signal)?;
    let info = find(store, name)?;
    if !is_up(&info) {
        return Err(Error::StateImproper(format!(
            "can only kill running containers. {} is in state {}: container state improper",
            info.id,
            info.state.status.as_str()
        )));
    }
    // As podman's: a container its user signalled is not restarted by its
    // policy when it goes (marked before the signal can end it).
    // (A stop under way stays one.)
    if by_user && !container::stopped_by_user(store, &info.id) {
        container::mark_stopped(store, &info.id, true);
    }
    if !signal_init(&info, sig)? {
        return Err(Error::StateImproper(format!(
            "{}: container process is gone",
            info.id
        )));
    }
    if by_user {
        crate::events::container(store, &info, "kill", None);
    }
    Ok(info)
}

/// `kill -s SIG`: a name (`TERM`, `SIGTERM`, any case) or number, with one
/// leading dash allowed; 0 is no signal to send.
/// A signal as `kill -s` and `--stop-signal` take it (a leading `-` allowed),
/// with podman's words for what is not one.
pub fn parse_kill_signal(signal: &str) -> Result<i32> {
    let s = signal.strip_prefix('-').unwrap_or(signal);
    if let Ok(n) = s.parse::<i64>()
        && n != 0
        && !(1..=64).contains(&n)
    {
        return Err(Error::InvalidArgument(
            "valid signals are 1 through 64".into(),
        ));
    }
    match berth_runtime::ops::parse_signal(s) {
        Ok(n) if n > 0 && !s.is_empty() => Ok(n),
        _ => Err(Error::InvalidArgument(format!("invalid signal: {s}"))),
    }
}

/// The STOPSIGNAL of the image a container was made from.
fn image_stop_signal(store: &Store, image_id: &str) -> Option<String> {
    let img = store.image(image_id).ok()?;
    let cfg: serde_json::Value = serde_json::from_slice(&store.image_config(&img).ok()?).ok()?;
    cfg["config"]["StopSignal"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Stops a running container: SIGTERM (or the stop signal), then SIGKILL after
/// `timeout` seconds. Stopping a stopped container is not an error.
/// `timeout` `None`: the container's `--stop-timeout`, else 10 seconds.
pub fn stop(store: &Store, name: &str, timeout: Option<u64>) -> Result<Info> {
    stop_reporting(store, name, timeout).map(|(info, _)| info)
}

/// [`stop`], and podman's warning when the stop signal did not end the
/// container in time and SIGKILL did.
pub fn stop_reporting(
    store: &Store,
    name: &str,
    timeout: Option<u64>,
) -> Result<(Info, Option<String>)> {
    let info = find(store, name)?;
    let timeout = timeout.or(info.config.process.stop_timeout).unwrap_or(10);
    // --stop-signal, else the image's STOPSIGNAL, else SIGTERM.
    let named = info
        .config
        .process
        .stop_signal
        .clone()
        .or_else(|| image_stop_signal(store, &info.config.image_id))
        .or_else(|| {
            // systemd halts on SIGRTMIN+3, and ignores SIGTERM.
            let p = &info.config.process;
            p.systemd
                .applies(&info.config.args)
                .then(|| "RTMIN+3".to_string())
        });
    let stop_signal = match &named {
        Some(s) => berth_runtime::ops::parse_signal(s).map_err(|e| Error::InvalidArgument(e.0))?,
        None => libc::SIGTERM,
    };
    if !is_up(&info) {
        return Ok((info, None));
    }
    // The monitor must not bring it back (restart policies).
    container::mark_stopping(store, &info.id);
    // A frozen process acts on no signal, SIGKILL included: thaw it first,
    // whatever the state says (a cgroup frozen under a `running` state would
    // otherwise keep the container, signalled and alive, for ever), as
    // `runc delete --force` thaws.
    let _ = oci(store, &info)?.pause(&info.id, false);
    if timeout > 0 {
        signal_init(&info, stop_signal)?;
        if wait_stopped(&info, Some(Duration::from_secs(timeout))) {
            finish_orphan(store, &info);
            crate::events::container(store, &info, "stop", None);
            return Ok((after_stop(store, info), None));
        }
    }
    let warning = (timeout > 0).then(|| {
        let signal = named.as_deref().map_or_else(
            || "SIGTERM".to_string(),
            |s| {
                let s = s.to_ascii_uppercase();
                if s.starts_with("SIG") { s } else { format!("SIG{s}") }
            },
        );
        format!(
            "StopSignal {signal} failed to stop container {} in {timeout} seconds, resorting to SIGKILL",
            info.name()
        )
    });
    // Killing the pid namespace's init kills every process in it.
    signal_init(&info, libc::SIGKILL)?;
    oci(store, &info)?.kill_all(&info.id, libc::SIGKILL);
    wait_stopped(&info, None);
    finish_orphan(store, &info);
    crate::events::container(store, &info, "stop", None);
    Ok((after_stop(store, info), warning))
}

/// The container as it is after a stop; a `--rm` container its monitor
/// removed meanwhile is reported as it was, stopped all the same.
fn after_stop(store: &Store, info: Info) -> Info {
    find(store, &info.id).unwrap_or(info)
}

/// Removes a container; a running one only with `force` (after killing it).
/// `container prune`: removes every container that is created or exited,
/// but a build's working container and one a `run` is about to start;
/// one another container still depends on (or that a concurrent start made
/// run) stays, as with podman. Of those, only the ones `filters` pass go
/// (`--filter until=`, `label=`, `label!=`). Returns the IDs removed.
pub fn prune(store: &Store, filters: &PruneFilters) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    for info in container::list(store).map_err(Error::other)? {
        let stopped = matches!(info.state.status, Status::Created | Status::Exited);
        // A pod's containers (its infra one too) go with their pod, as
        // podman's prune leaves them.
        let in_pod = info.config.process.pod.is_some();
        if !stopped || in_pod || info.being_started() || info.is_build_container() {
            continue;
        }
        if !prune_passes(filters, &info) {
            continue;
        }
        match remove(store, &info.id, false) {
            Ok(_) => gone.push(info.id),
            // A --rm container its monitor removed meanwhile: gone already.
            Err(Error::NoSuchContainer(_)) => {}
            Err(Error::HasDependents { .. } | Error::RunningNotForced(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(gone)
}

/// Whether `container prune --filter` takes the container: made before
/// `until=`, with (and without) the labels it was given.
pub fn prune_passes(filters: &PruneFilters, info: &Info) -> bool {
    let labels = info
        .config
        .process
        .labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    filters.matches(info.config.created_ns, &labels)
}

/// `container prune`'s (and `system prune`'s) `--filter`s, as podman 4.3
/// takes them: `until=`, `label=`, `label!=`.
pub fn prune_filters(filters: &[String]) -> Result<PruneFilters> {
    PruneFilters::parse(filters, &["until", "label", "label!"]).map_err(|e| {
        Error::InvalidArgument(match e.key() {
            Some(k) => format!("{k} is an invalid filter"),
            None => e.to_string(),
        })
    })
}

pub fn remove(store: &Store, name: &str, force: bool) -> Result<Info> {
    remove_timed(store, name, force, 0)
}

/// [`remove`]; a running container (with `force`) is stopped first with
/// `time` seconds between its stop signal and SIGKILL (`rm -f -t N`).
pub fn remove_timed(store: &Store, name: &str, force: bool, time: u64) -> Result<Info> {
    let info = find(store, name)?;
    if let (true, Some(pod)) = (info.config.process.infra, &info.config.process.pod) {
        return Err(Error::StateImproper(format!(
            "container {} is the infra container of pod {pod} and cannot be removed without removing the pod",
            info.id
        )));
    }
    if info.config.process.service {
        let pods: Vec<String> = crate::pods::list(store)
            .into_iter()
            .filter(|p| p.service_container.as_deref() == Some(info.id.as_str()))
            .map(|p| p.id)
            .collect();
        if !pods.is_empty() {
            return Err(Error::StateImproper(format!(
                "container {} is the service container of pod(s) {} and cannot be removed without removing the pod(s)",
                info.id,
                pods.join(", ")
            )));
        }
    }
    remove_member(store, &info.id, force, time)
}

/// [`remove_timed`] of any container, a pod's infra container too (whose pod
/// goes with it): for `pod rm`, `rm --depend` and `rm --all`.
pub fn remove_member(store: &Store, name: &str, force: bool, time: u64) -> Result<Info> {
    let info = find(store, name)?;
    // Wait for a start in progress to finish, then look again.
    let _lock = container::lock(store, &info.id).map_err(|e| Error::other(e.to_string()))?;
    let info = find(store, &info.id).inspect_err(|_| container::forget_run_dir(store, &info.id))?;
    let dependents = dependents(store, &info.id);
    if !dependents.is_empty() {
        return Err(Error::HasDependents {
            id: info.id,
            dependents,
        });
    }
    if is_up(&info) {
        if !force {
            return Err(Error::RunningNotForced(info.id));
        }
        stop(store, &info.id, Some(time))?;
    }
    // A monitor with --rm may have removed it already.
    if store.container(&info.id).is_ok() {
        run::remove(store, &info.id);
    }
    crate::pods::infra_removed(store, &info);
    Ok(info)
}

/// The containers that join this one's namespaces (`--network/--pid/--ipc/--uts
/// container:`),
/// which must go before it.
fn dependents(store: &Store, id: &str) -> Vec<String> {
    container::list(store)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| crate::namespaces::joins(store, &i.config.process, id))
        .map(|i| i.id)
        .collect()
}

/// `rm --depend`: the containers that join this one's namespaces first (and
/// theirs before them), then this one; returns every container removed, in
/// the order they went.
pub fn remove_with_dependents(
    store: &Store,
    name: &str,
    force: bool,
    time: u64,
    volumes: bool,
) -> Result<Vec<Info>> {
    let info = find(store, name)?;
    let mut removed = Vec::new();
    for d in dependents(store, &info.id) {
        removed.extend(remove_with_dependents(store, &d, force, time, volumes)?);
    }
    let gone = remove_member(store, &info.id, force, time)?;
    if volumes {
        crate::volumes::remove_anonymous(store, &gone.config.process.anonymous_volumes);
    }
    removed.push(gone);
    Ok(removed)
}

/// How `rm` removes a container (the CLI's flags, the API's parameters).
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoveOptions {
    /// A running container is stopped first instead of refused.
    pub force: bool,
    /// With `force`: seconds between its stop signal and SIGKILL.
    pub time: u64,
    /// Its anonymous volumes go with it.
    pub volumes: bool,
    /// The containers that join its namespaces go first, a pod's infra
    /// container too (and so its pod): `rm --depend`.
    pub depend: bool,
    /// A container that is not there is as good as removed (`rm --ignore`,
    /// podman's `ignore=`): nothing is removed and nothing is reported.
    pub ignore: bool,
}

/// `rm`: the container as `o` says; returns every container removed, in the
/// order they went.
pub fn remove_with(store: &Store, name: &str, o: &RemoveOptions) -> Result<Vec<Info>> {
    match remove_present(store, name, o) {
        // Checked after the attempt too: one that went meanwhile (a --rm
        // container its monitor removed) is as good as removed as well. A
        // dependent that went while the named one stays is still an error.
        Err(Error::NoSuchContainer(_)) if o.ignore && find(store, name).is_err() => Ok(Vec::new()),
        r => r,
    }
}

fn remove_present(store: &Store, name: &str, o: &RemoveOptions) -> Result<Vec<Info>> {
    if o.depend {
        return remove_with_dependents(store, name, o.force, o.time, o.volumes);
    }
    let info = remove_timed(store, name, o.force, o.time)?;
    if o.volumes {
        crate::volumes::remove_anonymous(store, &info.config.process.anonymous_volumes);
    }
    Ok(vec![info])
}

/// Waits for a container to exit and returns its exit code.
pub fn wait(store: &Store, name: &str) -> Result<i32> {
    // A --rm container its monitor removed already: its recorded exit code.
    let info = match find(store, name) {
        Ok(i) => i,
        Err(e) => return container::removed_exit_code(store, name).ok_or(e),
    };
    // A container that never ran has nothing to wait for: podman answers 0
    // at once (its 130-kill.bats, "podman wait - exit codes").
    if info.state.status == Status::Created {
        return Ok(info.state.exit_code.unwrap_or(0));
    }
    wait_stopped(&info, None);
    let st = container::load_state(store, &info.id);
    // A --rm container is done when its monitor has removed it (and its
    // anonymous volumes): whoever waited for it then finds nothing left.
    if info.config.rm
        && let Some(m) = st.monitor.and_then(|m| m.open())
    {
        m.wait_exit(None);
    }
    Ok(st
        .exit_code
        .or_else(|| container::removed_exit_code(store, &info.id))
        .unwrap_or(-1))
}

/// `wait --condition`: a state to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitCondition {
    /// `stopped`, `exited` (the default): the container's exit, whose code is
    /// the answer.
    Exited,
    Running,
    Paused,
    Created,
}

impl std::str::FromStr for WaitCondition {
    type Err = Error;
    fn from_str(s: &str) -> Result<WaitCondition> {
        Ok(match s {
            "stopped" | "exited" => WaitCondition::Exited,
            "running" => WaitCondition::Running,
            "paused" => WaitCondition::Paused,
            "created" | "configured" => WaitCondition::Created,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "--condition {other}: unknown (created, running, paused, stopped or exited)"
                )));
            }
        })
    }
}

/// `wait --interval`: a duration (`250ms`, `1s`), or as podman also takes
/// it, a number of milliseconds.
pub fn wait_interval(s: &str) -> Result<Duration> {
    crate::health::parse_duration(s)
        .or_else(|_| s.parse::<u64>().map(Duration::from_millis))
        .map_err(|_| Error::InvalidArgument(format!("--interval {s}: not a duration")))
}

/// Waits until the container meets one of `conditions`, looking every
/// `interval` (podman polls too); the exit code for an exit, else -1.
pub fn wait_for(
    store: &Store,
    name: &str,
    conditions: &[WaitCondition],
    interval: Duration,
) -> Result<i32> {
    if conditions.is_empty() || conditions.contains(&WaitCondition::Exited) {
        return wait(store, name);
    }
    loop {
        let info = find(store, name)?;
        let met = conditions.iter().any(|c| {
            matches!(
                (c, info.state.status),
                (WaitCondition::Running, Status::Running)
                    | (WaitCondition::Paused, Status::Paused)
                    | (WaitCondition::Created, Status::Created)
            )
        });
        if met {
            return Ok(-1);
        }
        std::thread::sleep(interval);
    }
}

pub use crate::exec::{ExecRequest, exec};

/// Options of `logs`.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail: Option<usize>,
    pub timestamps: bool,
    /// Only entries at or after / before these times (RFC 3339, as in the log).
    pub since: Option<String>,
    pub until: Option<String>,
}

/// `logs` of several containers: each line after its container's short ID
/// (or, `by_name`, its name), as it comes: each container's log is read (or
/// followed) at once, in a thread of its own, and lines go out whole.
pub fn logs_many<O: Write + Send, E: Write + Send>(
    store: &Store,
    names: &[String],
    by_name: bool,
    o: &LogOptions,
    out: &std::sync::Mutex<O>,
    err: &std::sync::Mutex<E>,
) -> Result<()> {
    let mut prefixed = Vec::new();
    for n in names {
        let i = find(store, n)?;
        let prefix = match by_name {
            true => i.name().to_string(),
            false => i.id[..12].to_string(),
        };
        prefixed.push((i.id, prefix));
    }
    std::thread::scope(|s| {
        let threads: Vec<_> = prefixed
            .iter()
            .map(|(id, prefix)| {
                s.spawn(move || {
                    let mut w = Prefixed::new(prefix, out);
                    let mut e = Prefixed::new(prefix, err);
                    logs(store, id, o, &mut w, &mut e)
                })
            })
            .collect();
        // Every container's log is read to its end before an error is told.
        let results: Vec<Result<()>> = threads
            .into_iter()
            .map(|t| t.join().expect("a logs thread"))
            .collect();
        results.into_iter().collect()
    })
}

/// Lines written through it go out whole, after `PREFIX `, one writer at a
/// time.
struct Prefixed<'a, W: Write> {
    prefix: &'a str,
    to: &'a std::sync::Mutex<W>,
    line: Vec<u8>,
}

impl<'a, W: Write> Prefixed<'a, W> {
    fn new(prefix: &'a str, to: &'a std::sync::Mutex<W>) -> Prefixed<'a, W> {
        Prefixed {
            prefix,
            to,
            line: Vec::new(),
        }
    }
}

impl<W: Write> Write for Prefixed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.line.push(b);
            if b == b'\n' {
                let mut text = format!("{} ", self.prefix).into_bytes();
                text.append(&mut self.line);
                let mut to = self.to.lock().unwrap_or_else(|p| p.into_inner());
                to.write_all(&text)?;
                to.flush()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Copies the container's log to `out` and `err`, by stream.
pub fn logs(
    store: &Store,
    name: &str,
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let info = find(store, name)?;
    if info.config.process.log_driver.as_deref() == Some("none") {
        return Err(Error::InvalidArgument(format!(
            "{}: this container is using the 'none' log driver, cannot read logs",
            info.id
        )));
    }
    if info.config.process.log_driver.as_deref() == Some("journald") {
        return journald_logs(&info, o, out, err);
    }
    let path = container::log_path(store, &info.id);
    let file = match std::fs::File::open(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::other(format!("{}: {e}", path.display()))),
    };
    let Some(file) = file else {
        return Ok(());
    };
    let mut reader = BufReader::new(file);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    read_lines(&mut reader, &mut lines);
    window(&mut lines, o);
    // A reader gone (a closed pipe, a client that left) ends it.
    if print(&lines, o, out, err).is_err() || !o.follow {
        return Ok(());
    }
    follow(&info, Duration::from_millis(100), o, out, err, || {
        let mut more = Vec::new();
        read_lines(&mut reader, &mut more);
        Ok(more)
    })
}

/// `logs -f`: while the container runs, polls its monitor's pidfd every
/// `interval` and prints what `more` finds the log gained meanwhile.
fn follow(
    info: &container::Info,
    interval: Duration,
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
    mut more: impl FnMut() -> Result<Vec<Vec<u8>>>,
) -> Result<()> {
    let pidfd = match info.state.status {
        Status::Running | Status::Paused => (info.state.monitor.and_then(|m| m.open()))
            .or_else(|| info.state.init.and_then(|p| p.open())),
        _ => None,
    };
    let Some(pidfd) = pidfd else {
        return Ok(());
    };
    loop {
        let gone = sys::poll_readable(&[pidfd.as_raw_fd()], Some(interval))
            .map(|r| r[0])
            .unwrap_or(true);
        if print(&more()?, o, out, err).is_err() || gone {
            return Ok(());
        }
    }
}

/// Keeps the lines `--since`, `--until` and `--tail` choose.
fn window(lines: &mut Vec<Vec<u8>>, o: &LogOptions) {
    // The log's timestamps are fixed-width RFC 3339 UTC: they compare as text.
    let stamp = |l: &Vec<u8>| logs::parse_line(l).map(|e| e.timestamp).unwrap_or_default();
    if let Some(s) = &o.since {
        lines.retain(|l| stamp(l).as_str() >= s.as_str());
    }
    if let Some(u) = &o.until {
        lines.retain(|l| stamp(l).as_str() <= u.as_str());
    }
    if let Some(n) = o.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
}

/// `logs` of a journald container: its entries read back from the journal.
fn journald_logs(
    info: &container::Info,
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<()> {
    let (mut lines, mut cursor) = crate::journald::read(&info.id, None)?;
    window(&mut lines, o);
    // A reader gone (a closed pipe, a client that left) ends it.
    if print(&lines, o, out, err).is_err() || !o.follow {
        return Ok(());
    }
    follow(info, Duration::from_millis(250), o, out, err, || {
        let (more, cur) = crate::journald::read(&info.id, cursor.as_deref())?;
        cursor = cur;
        Ok(more)
    })
}

fn read_lines(r: &mut impl BufRead, into: &mut Vec<Vec<u8>>) {
    loop {
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                into.push(line);
            }
        }
    }
}

/// Writes the entries, each line in one write (a REST API frame a line);
/// an error means the reader went away.
fn print(
    lines: &[Vec<u8>],
    o: &LogOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    for l in lines {
        let Some(e) = logs::parse_line(l) else {
            continue;
        };
        let w: &mut dyn Write = match e.stream {
            Stream::Stdout => &mut *out,
            Stream::Stderr => &mut *err,
        };
        line.clear();
        if o.timestamps {
            line.extend_from_slice(e.timestamp.as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(&e.text);
        if !e.partial {
            line.push(b'\n');
        }
        w.write_all(&line)?;
    }
    out.flush()?;
    err.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_store as store;

    #[test]
    fn a_missing_container_is_removed_only_when_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for depend in [false, true] {
            let o = RemoveOptions {
                depend,
                ..Default::default()
            };
            let e = remove_with(&store, "nope", &o).unwrap_err();
            assert!(
                matches!(e, Error::NoSuchContainer(ref n) if n == "nope"),
                "{e}"
            );
            let o = RemoveOptions { ignore: true, ..o };
            assert!(remove_with(&store, "nope", &o).unwrap().is_empty());
        }
    }

    #[test]
    fn a_wait_interval_is_a_duration_or_milliseconds() {
        assert_eq!(wait_interval("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(wait_interval("300").unwrap(), Duration::from_millis(300));
        let e = wait_interval("soon").unwrap_err();
        assert_eq!(e.to_string(), "--interval soon: not a duration");
    }
}
