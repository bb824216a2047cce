//! The monitor: conmon's role. One small process per detached container, started
//! by `berth` and outliving it. It creates and starts the container through the
//! built-in runtime (so the container's init is its child), keeps the container's
//! stdout and stderr and writes them to the log, waits for the exit, records the
//! exit code and time, cleans the runtime state up and, with `--rm`, removes the
//! container.
//!
//! `berth` starts it as `berth [store flags] __monitor ID` and reads one line
//! from its stdout: `ok`, or `err CODE MESSAGE` when the container could not be
//! started (CODE being podman's 125/126/127).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use std::path::PathBuf;

use berth_storage::{Store, StoreOptions};

use crate::attach::Streams;
use crate::container::{self, Status, now_ns};
use crate::run::{RunError, prepare_bundle, runtime};
use crate::sys;
use berth_runtime::pid::{Pid, ProcessId};

/// How a process berth starts runs berth again: its binary and the flags that
/// give it the same store. Monitors, `exec` helpers, builds and systemd units
/// are started from it.
#[derive(Clone, Debug)]
pub struct MonitorCommand {
    exe: PathBuf,
    store: StoreOptions,
    volume_path: Option<PathBuf>,
}

impl MonitorCommand {
    /// This process's binary (`berth` where it cannot be told) with this
    /// store and `--volumepath`: the binary it was started from, not the
    /// read-only image it may run from now (the API service does).
    pub fn current(store: StoreOptions, volume_path: Option<PathBuf>) -> MonitorCommand {
        MonitorCommand {
            exe: berth_runtime::selfexe::real_exe().unwrap_or_else(|_| "berth".into()),
            store,
            volume_path,
        }
    }

    /// The binary's real path and the store flags: what outlives this boot
    /// (systemd units) or needs no protection (helpers that run no container).
    pub fn argv(&self) -> Vec<OsString> {
        self.with_exe(self.exe.clone())
    }

    /// [`Self::argv`] from the binary's read-only image where there is one
    /// (CVE-2019-5736: a process that becomes a container's runtime runs from
    /// it, and so need not execute itself again to be protected).
    pub fn protected_argv(&self) -> Vec<OsString> {
        let exe = berth_runtime::selfexe::protected_path().unwrap_or_else(|| self.exe.clone());
        self.with_exe(exe)
    }

    /// A container's monitor: [`Self::protected_argv`], `__monitor ID`.
    pub fn monitor(&self, id: &str) -> Vec<OsString> {
        let mut v = self.protected_argv();
        v.extend(["__monitor".into(), id.into()]);
        v
    }

    /// `exec ID` run by this binary ([`Self::protected_argv`]: the process
    /// joins the container): what a healthcheck runs, its command appended.
    pub fn exec(&self, id: &str) -> Vec<OsString> {
        self.exec_with(id, &crate::exec::ExecRequest::default())
    }

    /// [`Self::exec`] with the request's flags (`-d -i -t --privileged`, `-e`,
    /// `-w`, `-u`) and command. An `env` entry without `=` takes its value
    /// from the environment the process is started with.
    pub fn exec_with(&self, id: &str, r: &crate::exec::ExecRequest) -> Vec<OsString> {
        let mut v = self.protected_argv();
        v.extend(exec_args(id, r));
        v
    }

    fn with_exe(&self, exe: PathBuf) -> Vec<OsString> {
        let mut v = vec![exe.into_os_string()];
        v.extend(self.store.to_args());
        if let Some(p) = &self.volume_path {
            v.extend(["--volumepath".into(), p.into()]);
        }
        v
    }
}

/// `exec [flags] ID ARGS…` for [`MonitorCommand::exec_with`].
fn exec_args(id: &str, r: &crate::exec::ExecRequest) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["exec".into()];
    for (set, flag) in [
        (r.detach, "-d"),
        (r.interactive, "-i"),
        (r.tty, "-t"),
        (r.privileged, "--privileged"),
    ] {
        if set {
            v.push(flag.into());
        }
    }
    for e in &r.env {
        v.extend(["-e".into(), e.into()]);
    }
    if let Some(w) = &r.workdir {
        v.extend(["-w".into(), w.into()]);
    }
    if let Some(u) = &r.user {
        v.extend(["-u".into(), u.into()]);
    }
    v.push(id.into());
    v.extend(r.args.iter().map(OsString::from));
    v
}

/// Starts the monitor with `argv` (the `berth` binary and its arguments up to and
/// including `__monitor ID`) and waits until the container runs or failed to.
pub fn spawn(argv: &[OsString]) -> Result<(), RunError> {
    spawn_attached(argv, None).map(drop)
}

/// [`spawn`]; with `attach`, the monitor (started with `--attach`) first says
/// `ready` and waits for this process to connect to its attach socket, so that
/// not a byte of the container's output is missed. Returns that connection.
pub fn spawn_attached(
    argv: &[OsString],
    attach: Option<&std::path::Path>,
) -> Result<Option<std::os::unix::net::UnixStream>, RunError> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(sys::setsid);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| RunError::Engine(format!("start the container monitor: {e}")))?;
    let mut line = String::new();
    let out = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(out);
    let read = |r: &mut BufReader<std::process::ChildStdout>, line: &mut String| {
        line.clear();
        r.read_line(line)
            .map_err(|e| RunError::Engine(format!("container monitor: {e}")))
    };
    read(&mut reader, &mut line)?;
    let mut conn = None;
    if line.trim_end() == "ready"
        && let Some(path) = attach
    {
        conn = Some(
            std::os::unix::net::UnixStream::connect(path)
                .map_err(|e| RunError::Engine(format!("attach: {e}")))?,
        );
        read(&mut reader, &mut line)?;
    }
    // The monitor outlives a command-line caller, and init reaps it then; a
    // caller that lives on (the REST API's service) reaps it here when it ends,
    // so no exited monitor stays a zombie of that process.
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    let line = line.trim_end();
    if line == "ok" {
        return Ok(conn);
    }
    let rest = line.strip_prefix("err ").unwrap_or(line);
    let (code, msg) = rest.split_once(' ').unwrap_or(("125", rest));
    let msg = if msg.is_empty() {
        "the container monitor exited without starting the container".to_string()
    } else {
        msg.to_string()
    };
    Err(match code {
        "126" => RunError::CannotRun(msg),
        "127" => RunError::NotFound(msg),
        _ => RunError::Engine(msg),
    })
}

/// The monitor's body, `command` being how it was started (its healthchecks
/// run [`MonitorCommand::exec`]). Returns its exit code.
pub fn main(store: &Store, command: &MonitorCommand, id: &str, wait_attach: bool) -> i32 {
    // Our stdout is the pipe to the `berth` that started us: keep it aside and give
    // the container fresh stdio.
    let Ok(report) = sys::dup(1).map(File::from) else {
        return 1;
    };
    let mut report = Some(report);
    // The attach socket outlives restarts: made once, removed when we leave.
    let attach_path = crate::attach::socket_path(store, id);
    let _ = std::fs::remove_file(&attach_path);
    let listener = std::os::unix::net::UnixListener::bind(&attach_path).ok();
    let mut first = None;
    if wait_attach && let (Some(l), Some(r)) = (listener.as_ref(), report.as_mut()) {
        let _ = writeln!(r, "ready");
        // The client connects right away; do not wait forever for one that died.
        if sys::poll_readable(
            &[std::os::fd::AsRawFd::as_raw_fd(l)],
            Some(std::time::Duration::from_secs(30)),
        )
        .is_ok_and(|r| r[0])
        {
            first = l.accept().ok().map(|(c, _)| c);
        }
    }
    let exec_argv = command.exec(id);
    let code = run_and_watch(store, id, &exec_argv, &mut report, listener.as_ref(), first);
    let _ = std::fs::remove_file(&attach_path);
    code
}

fn run_and_watch(
    store: &Store,
    id: &str,
    exec_argv: &[OsString],
    report: &mut Option<File>,
    listener: Option<&std::os::unix::net::UnixListener>,
    mut first: Option<std::os::unix::net::UnixStream>,
) -> i32 {
    // The published ports' sockets, held from the first start until the
    // container is done, restarts included (conmon keeps those podman binds).
    let mut ports = None;
    let result = container::lock(store, id)
        .map_err(|e| RunError::Engine(e.to_string()))
        .and_then(|_lock| start(store, id, &mut ports));
    let (pid, streams, info) = match result {
        Ok(x) => x,
        Err(e) => {
            drop(ports);
            let mut r = report.take().expect("report");
            let _ = writeln!(r, "err {} {}", e.exit_code(), one_line(&e.to_string()));
            finish_failed(store, id);
            return 1;
        }
    };
    // The log exists before `run -d` returns, so that a `logs -f` right after
    // it follows the log instead of finding none.
    drop(container::log_target(store, id).open());
    announce(store, &info);
    if let Some(mut r) = report.take() {
        let _ = writeln!(r, "ok");
    }
    let (mut pid, mut streams) = (pid, streams);
    let mut restarts = 0;
    loop {
        let code = watch(store, id, exec_argv, pid, streams, listener, first.take());
        let Ok(info) = container::find(store, id) else {
            return 0;
        };
        let by_user = container::stopped_by_user(store, id);
        // A failed healthcheck's restart (--health-on-failure restart) too.
        let again = info.config.restart.restarts(code, restarts, by_user)
            || (crate::health::take_restart(store, id) && !by_user);
        if !again {
            // Freed before the exit is recorded: whoever sees the container
            // stopped can have its ports.
            drop(ports);
            finish(store, id, code);
            return 0;
        }
        // Someone holds the container's lock: a stop or rm at work on it, which
        // may be waiting for this monitor to end. No restart then (waiting for
        // the lock would wait for ever).
        let Some(_lock) = container::try_lock(store, id) else {
            drop(ports);
            finish(store, id, code);
            return 0;
        };
        // The restart policy: record this exit, clear the runtime's state, start
        // again over the same rootfs.
        restarts += 1;
        record_exit(store, id, code, restarts);
        oci_of(store, id).delete(id);
        crate::userns_view::release(id);
        let _ = store.unmount(id, false);
        crate::image_mounts::release(store, &info);
        match start(store, id, &mut ports) {
            Ok((p, s, _)) => (pid, streams) = (p, s),
            Err(_) => {
                drop(ports);
                finish_failed(store, id);
                return 0;
            }
        }
        let mut st = container::load_state(store, id);
        st.restart_count = restarts;
        let _ = container::save_state(store, id, &st);
    }
}

/// The container runs: the monitor's pid file is there for a service manager
/// to follow before `start` returns (a `Type=forking` unit), and with
/// `--sdnotify=conmon` systemd hears it is ready, with the monitor as the
/// service's main process.
fn announce(store: &Store, info: &container::Info) {
    let pid_file = crate::systemd::monitor_pid_file(store, info);
    let _ = berth_storage::lock::write_atomic(&pid_file, std::process::id().to_string().as_bytes());
    if info.config.process.sdnotify == crate::systemd::SdNotify::Conmon {
        let _ = crate::systemd::notify(&format!("MAINPID={}\nREADY=1\n", std::process::id()));
    }
}

fn record_exit(store: &Store, id: &str, code: i32, restarts: u32) {
    let mut st = container::load_state(store, id);
    st.exit_code = Some(code);
    st.finished_ns = Some(now_ns());
    st.restart_count = restarts;
    let _ = container::save_state(store, id, &st);
}

fn one_line(s: &str) -> String {
    s.lines().collect::<Vec<_>>().join(" ")
}

/// Creates and starts the container with stdout and stderr on pipes (or a
/// terminal with `-t`); returns its pid, this side of its streams and the
/// container as it was started. The
/// first start binds the published ports into `ports`, before the network is
/// set up, so that a port in use fails it with nothing to undo.
fn start(
    store: &Store,
    id: &str,
    ports: &mut Option<crate::network::Reservation>,
) -> Result<(Pid, Streams, container::Info), RunError> {
    let engine = |e: std::io::Error| RunError::Engine(e.to_string());
    sys::set_child_subreaper().map_err(engine)?;
    // The caller holds the container's lock: until the container runs (or
    // failed to), `rm` waits; a container removed before the lock was taken
    // is gone for good.
    let info = container::find(store, id).map_err(|e| {
        container::forget_run_dir(store, id);
        RunError::Engine(e.to_string())
    })?;
    if ports.is_none() {
        *ports = Some(crate::run::reserve_ports(&info)?);
    }
    let bundle = prepare_bundle(store, &info)?;
    let p = &info.config.process;
    if p.tty {
        let (pid, streams) = start_with_terminal(store, &info, &bundle)?;
        return Ok((pid, streams, info));
    }
    let (out_r, out_w) = sys::pipe().map_err(engine)?;
    let (err_r, err_w) = sys::pipe().map_err(engine)?;
    // With -i the container's stdin is a pipe whose other end attach feeds.
    let input = if p.interactive {
        let (in_r, in_w) = sys::pipe().map_err(engine)?;
        sys::dup2(&in_r, 0).map_err(engine)?;
        Some(File::from(in_w))
    } else {
        let null = File::open("/dev/null").map_err(engine)?;
        sys::dup2(&null, 0).map_err(engine)?;
        None
    };
    sys::dup2(&out_w, 1).map_err(engine)?;
    sys::dup2(&err_w, 2).map_err(engine)?;
    drop((out_w, err_w));
    let pid_file = bundle.join("pidfile");
    let oci = crate::oci::Oci::for_container(store, &info)?;
    let started = oci.run_detached(&info.id, &bundle, &pid_file, None);
    // From here on the container alone holds the pipes' write ends.
    let devnull = OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(engine)?;
    sys::dup2(&devnull, 0).map_err(engine)?;
    sys::dup2(&devnull, 1).map_err(engine)?;
    sys::dup2(&devnull, 2).map_err(engine)?;
    started?;
    let pid = crate::run::started_pid(store, &info, &pid_file)?;
    Ok((
        pid,
        Streams {
            out: out_r,
            err: Some(err_r),
            input,
            stdin_once: info.config.process.stdin_once,
        },
        info,
    ))
}

/// `-t`: the runtime hands the terminal over a console socket.
fn start_with_terminal(
    store: &Store,
    info: &container::Info,
    bundle: &std::path::Path,
) -> Result<(Pid, Streams), RunError> {
    let engine = |e: std::io::Error| RunError::Engine(e.to_string());
    let socket = bundle.join("console.sock");
    let socket = if socket.as_os_str().len() < 100 {
        socket
    } else {
        std::env::temp_dir().join(format!("berth-{}.console", &info.id[..12]))
    };
    let console = crate::terminal::ConsoleSocket::bind(&socket).map_err(engine)?;
    let pid_file = bundle.join("pidfile");
    let oci = crate::oci::Oci::for_container(store, info)?;
    oci.run_detached(&info.id, bundle, &pid_file, Some(console.path()))?;
    let master = console
        .receive()
        .map_err(|e| RunError::Engine(format!("container terminal: {e}")))?;
    let pid = crate::run::started_pid(store, info, &pid_file)?;
    let input = if info.config.process.interactive {
        Some(File::from(
            sys::dup(std::os::fd::AsRawFd::as_raw_fd(&master)).map_err(engine)?,
        ))
    } else {
        None
    };
    Ok((
        pid,
        Streams {
            out: master,
            err: None,
            input,
            stdin_once: false,
        },
    ))
}

/// Copies the container's output into the log until both streams end, running
/// its healthcheck meanwhile, then reaps the container; returns its exit code.
fn watch(
    store: &Store,
    id: &str,
    exec_argv: &[OsString],
    pid: Pid,
    streams: Streams,
    listener: Option<&std::os::unix::net::UnixListener>,
    first: Option<std::os::unix::net::UnixStream>,
) -> i32 {
    let log = container::log_target(store, id);
    let info = container::find(store, id).ok();
    let health = info.as_ref().and_then(|i| i.config.health.clone());
    let timeout = info.as_ref().and_then(|i| i.config.process.timeout);
    let timed_out = std::thread::scope(|s| {
        s.spawn(|| match listener {
            Some(l) => crate::attach::serve(streams, &log, l, first),
            // No attach socket (it could not be made): the log alone.
            None => {
                let err = streams.err.or_else(|| sys::pipe().ok().map(|(r, _)| r));
                if let Some(err) = err {
                    crate::stdio::pump(streams.out, err, &log, None);
                }
            }
        });
        let deadline = crate::deadline::watch(s, pid, timeout);
        if let Some(h) = &health {
            run_healthchecks(store, id, exec_argv, pid, h);
        }
        crate::deadline::code(deadline, 0) == crate::deadline::TIMED_OUT
    });
    // Reap everything that ends up with us; the container's own exit code is the
    // one that counts.
    loop {
        match sys::wait_any() {
            Ok((p, _)) if p == pid.get() && timed_out => return crate::deadline::TIMED_OUT,
            Ok((p, code)) if p == pid.get() => return code,
            Ok(_) => continue,
            Err(_) => return 255,
        }
    }
}

/// Runs the healthcheck every interval until the container's init exits.
fn run_healthchecks(
    store: &Store,
    id: &str,
    exec_argv: &[OsString],
    pid: Pid,
    h: &crate::health::HealthConfig,
) {
    use std::os::fd::AsRawFd;
    let Some(pidfd) = ProcessId::of(pid).and_then(|p| p.open()) else {
        return;
    };
    crate::health::reset(store, id);
    // podman's `--health-interval 0`: no timer; the check runs when asked
    // (`healthcheck run`).
    if h.interval.is_zero() {
        return;
    }
    let started = std::time::Instant::now();
    let interval = h.interval.max(std::time::Duration::from_millis(100));
    loop {
        match sys::poll_readable(&[pidfd.as_raw_fd()], Some(interval)) {
            Ok(r) if !r[0] => {
                let in_start = started.elapsed() < h.start_period;
                crate::health::check(store, id, h, exec_argv, in_start);
            }
            _ => return,
        }
    }
}

/// After the exit: the runtime's state goes, the rootfs is unmounted, the exit is
/// recorded, and with `--rm` the container is removed.
/// The runtime the container was created with (the built-in one if unknown).
fn oci_of(store: &Store, id: &str) -> crate::oci::Oci {
    let name = container::find(store, id)
        .ok()
        .and_then(|i| i.config.process.runtime);
    crate::oci::Oci::of(store, name.as_deref())
        .unwrap_or_else(|_| crate::oci::Oci::Builtin(runtime(store)))
}

fn finish(store: &Store, id: &str, code: i32) {
    let info = container::find(store, id).ok();
    // Told as soon as it is known, before the clean-up that takes time.
    if let Some(i) = &info {
        crate::events::container(store, i, "died", Some(code));
    }
    oci_of(store, id).delete(id);
    if let Some(i) = &info {
        crate::run::leave_shared_hosts(store, i);
    }
    crate::network::teardown(store, id);
    crate::namespaces::release_shm(store, id);
    crate::userns_view::release(id);
    let _ = store.unmount(id, false);
    if let Some(i) = &info {
        crate::image_mounts::release(store, i);
    }
    let rm = info.as_ref().is_some_and(|i| i.config.rm);
    if rm {
        // Kept where `wait` finds it once the container is gone (conmon's
        // exit directory); written before the exit is recorded, so that
        // whoever sees the container exited finds it there afterwards.
        let _ = container::save_exit_code(store, id, code);
    }
    let mut st = container::load_state(store, id);
    st.status = Status::Exited;
    st.init = None;
    st.exit_code = Some(code);
    st.finished_ns = Some(now_ns());
    let _ = container::save_state(store, id, &st);
    if let Some(i) = &info {
        crate::pods::member_exited(store, i);
    }
    if rm {
        crate::run::remove(store, id);
        if let Some(i) = &info {
            crate::volumes::remove_anonymous(store, &i.config.process.anonymous_volumes);
        }
    }
}

/// A start that failed leaves the container created, not running.
pub(crate) fn finish_failed(store: &Store, id: &str) {
    oci_of(store, id).delete(id);
    let info = container::find(store, id).ok();
    if let Some(i) = &info {
        crate::run::leave_shared_hosts(store, i);
    }
    crate::network::teardown(store, id);
    crate::namespaces::release_shm(store, id);
    crate::userns_view::release(id);
    let _ = store.unmount(id, false);
    if let Some(info) = &info {
        crate::image_mounts::release(store, info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_passes_the_request_as_flags() {
        assert_eq!(exec_args("ID", &Default::default()), ["exec", "ID"]);
        let r = crate::exec::ExecRequest {
            args: vec!["sh".into(), "-c".into(), "true".into()],
            env: vec!["A=1".into()],
            workdir: Some("/w".into()),
            user: Some("1:2".into()),
            tty: true,
            interactive: true,
            ..Default::default()
        };
        let full = exec_args("ID", &r);
        let want = [
            "exec", "-i", "-t", "-e", "A=1", "-w", "/w", "-u", "1:2", "ID", "sh", "-c", "true",
        ];
        assert_eq!(full, want);
    }
}
