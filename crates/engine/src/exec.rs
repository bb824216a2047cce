//! `exec`: a process in a running container, its stdio either this process's
//! own (a CLI, a terminal) or streams (a REST API connection, a test's buffers).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc::Receiver;

use berth_runtime::exec::ExecOptions;
use berth_storage::Store;

use crate::container::{self, Info, Status};
use crate::error::{Error, Result};
use crate::run;
use crate::sys;

/// What `exec` runs.
#[derive(Clone, Debug, Default)]
pub struct ExecRequest {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// A user name or UID[:GID], resolved in the container's /etc/passwd.
    pub user: Option<String>,
    pub detach: bool,
    /// `-t`: the process gets a terminal, proxied to the user's.
    pub tty: bool,
    /// `-i`: the user's input goes to it (with `-t`, through the terminal).
    pub interactive: bool,
    /// `--privileged`: every capability.
    pub privileged: bool,
}

/// Where an exec'd process's input comes from and its output goes.
pub enum ExecIo {
    /// This process's stdin, stdout and stderr (with `-t`, its terminal).
    Inherit,
    Streams(ExecStreams),
}

/// A client's side of an exec, for front ends that are not a terminal.
pub struct ExecStreams {
    /// Its input (`-i`); None: it reads end-of-file.
    pub stdin: Option<Box<dyn Read + Send>>,
    pub stdout: Box<dyn Write + Send>,
    /// Unused with `-t`: a terminal has one output.
    pub stderr: Box<dyn Write + Send>,
    /// The client's terminal size as it changes, (rows, columns), for `-t`.
    pub resize: Option<Receiver<(u16, u16)>>,
}

/// Runs a process in a running container with this process's stdio; returns its
/// exit code (0 with `detach`). The process is this process's child, as with
/// podman exec.
pub fn exec(store: &Store, name: &str, r: &ExecRequest) -> Result<i32> {
    exec_with(store, name, r, ExecIo::Inherit)
}

/// [`exec`] with its stdio given. With the built-in runtime the process is
/// forked from this one before any relay thread starts, so the caller must be
/// single-threaded then (the runtime refuses otherwise).
pub fn exec_with(store: &Store, name: &str, r: &ExecRequest, io: ExecIo) -> Result<i32> {
    if r.args.is_empty() {
        return Err(Error::InvalidArgument(
            "must provide a non-empty command to start an exec session".into(),
        ));
    }
    let info = container::find(store, name).map_err(|_| Error::NoSuchContainer(name.into()))?;
    if info.state.status != Status::Running {
        return Err(not_running());
    }
    let opts = ExecOptions {
        id: info.id.clone(),
        args: r.args.clone(),
        env: r.env.clone(),
        cwd: r.workdir.clone(),
        user: resolve_user(store, &info, r.user.as_deref())?,
        detach: r.detach,
        caps: if r.privileged {
            berth_runtime::capabilities::all_names()
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let rt = crate::lifecycle::oci(store, &info)?;
    match io {
        _ if r.detach => exec_detached(store, &info, &rt, opts),
        ExecIo::Inherit if r.tty => {
            let (master, pid) = start_with_terminal(store, &info, &rt, opts)?;
            crate::terminal::proxy(master, r.interactive);
            sys::wait_pid(pid).map_err(other)
        }
        ExecIo::Inherit => exec_inherited(store, &info, &rt, opts, r.interactive),
        ExecIo::Streams(s) if r.tty => {
            let (master, pid) = start_with_terminal(store, &info, &rt, opts)?;
            relay_terminal(master, s);
            sys::wait_pid(pid).map_err(other)
        }
        ExecIo::Streams(s) => exec_streams(store, &info, &rt, opts, s),
    }
}

/// podman's words for an exec into a container that is not running (paused,
/// created, exited, or ended a moment ago).
fn not_running() -> Error {
    Error::StateImproper(
        "can only create exec sessions on running containers: container state improper".into(),
    )
}

fn other(e: std::io::Error) -> Error {
    Error::other(e.to_string())
}

/// A user name resolves in the container's own /etc/passwd: its rootfs is the
/// one its bundle names.
fn resolve_user(store: &Store, info: &Info, user: Option<&str>) -> Result<Option<String>> {
    let Some(u) = user else {
        return Ok(None);
    };
    let bundle = berth_runtime::create::load_spec(&container::userdata(store, &info.id))
        .map_err(|e| Error::other(e.0))?;
    let rootfs = bundle.root.map(|r| r.path).unwrap_or_default();
    let resolved = crate::spec::user(std::path::Path::new(&rootfs), u)?;
    Ok(Some(format!("{}:{}", resolved.uid, resolved.gid)))
}

/// Without `-t`, on this process's stdio (or detached).
fn exec_inherited(
    store: &Store,
    info: &Info,
    rt: &crate::oci::Oci,
    opts: ExecOptions,
    interactive: bool,
) -> Result<i32> {
    if !interactive {
        // Without -i the process reads nothing of ours (a `while read`
        // loop around `berth exec` keeps its input), as with podman.
        let null = File::open("/dev/null").map_err(|e| Error::other(format!("/dev/null: {e}")))?;
        sys::dup2(&null, 0).map_err(|e| Error::other(format!("stdin: {e}")))?;
    }
    rt.exec(&opts).map_err(|e| exec_failed(store, &info.id, e))
}

/// `exec -d`: the process keeps none of the caller's stdio (it reads
/// /dev/null and writes nowhere, as podman's does), so that a caller reading
/// `exec -d`'s output to its end is not held until the process exits.
fn exec_detached(
    store: &Store,
    info: &Info,
    rt: &crate::oci::Oci,
    opts: ExecOptions,
) -> Result<i32> {
    let io_err = |e: std::io::Error| Error::other(format!("exec -d: {e}"));
    let saved = (0..3)
        .map(sys::dup)
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_err)?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(io_err)?;
    for fd in 0..3 {
        sys::dup2(&null, fd).map_err(io_err)?;
    }
    let started = rt.exec(&opts).map_err(|e| exec_failed(store, &info.id, e));
    for (fd, s) in saved.iter().enumerate() {
        sys::dup2(s, fd as i32).map_err(io_err)?;
    }
    started
}

/// Starts the process detached, as this process's child (a child subreaper
/// for a runtime binary's), and returns its pid.
fn start_detached(
    store: &Store,
    info: &Info,
    rt: &crate::oci::Oci,
    mut opts: ExecOptions,
) -> Result<i32> {
    let dir = container::userdata(store, &info.id);
    let pid_file = dir.join(format!("exec-{}.pid", std::process::id()));
    sys::set_child_subreaper().map_err(other)?;
    opts.detach = true;
    opts.pid_file = Some(pid_file.clone());
    rt.exec(&opts)
        .map_err(|e| exec_failed(store, &info.id, e))?;
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| Error::other("the runtime wrote no pid file"))?;
    let _ = std::fs::remove_file(&pid_file);
    Ok(pid)
}

/// `-t`: the runtime hands the terminal over a console socket.
fn start_with_terminal(
    store: &Store,
    info: &Info,
    rt: &crate::oci::Oci,
    mut opts: ExecOptions,
) -> Result<(OwnedFd, i32)> {
    let socket = crate::attach::socket_path(store, &info.id).with_extension("exec");
    let console = crate::terminal::ConsoleSocket::bind(&socket).map_err(other)?;
    opts.tty = true;
    opts.console_socket = Some(socket.clone());
    let pid = start_detached(store, info, rt, opts)?;
    let master = console.receive().map_err(other)?;
    Ok((master, pid))
}

/// Copies between a terminal and streams until the process's side closes.
/// The input's thread is left to end with its stream.
fn relay_terminal(master: OwnedFd, s: ExecStreams) {
    let term = File::from(master);
    if let (Some(sizes), Ok(t)) = (s.resize, term.try_clone()) {
        std::thread::spawn(move || {
            for (rows, cols) in sizes {
                let _ = berth_runtime::sys::set_winsize(t.as_raw_fd(), rows, cols);
            }
        });
    }
    if let (Some(mut input), Ok(mut t)) = (s.stdin, term.try_clone()) {
        std::thread::spawn(move || std::io::copy(&mut input, &mut t));
    }
    let mut out = s.stdout;
    // Ends with EIO once the process's side of the terminal is closed.
    let _ = std::io::copy(&mut &term, &mut out);
    let _ = out.flush();
}

/// Without `-t`, on streams: pipes for its stdin, stdout and stderr.
fn exec_streams(
    store: &Store,
    info: &Info,
    rt: &crate::oci::Oci,
    mut opts: ExecOptions,
    s: ExecStreams,
) -> Result<i32> {
    let (in_r, in_w) = std::io::pipe().map_err(other)?;
    let (mut out_r, out_w) = std::io::pipe().map_err(other)?;
    let (mut err_r, err_w) = std::io::pipe().map_err(other)?;
    opts.stdio = Some([in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()]);
    let pid = start_detached(store, info, rt, opts)?;
    // Only the process holds these now: its exit ends the copies below.
    drop((in_r, out_w, err_w));
    match s.stdin {
        Some(mut input) => {
            let mut to = in_w;
            std::thread::spawn(move || std::io::copy(&mut input, &mut to));
        }
        // No input: the process reads end-of-file at once, not a pipe held open.
        None => drop(in_w),
    }
    let (mut out, mut err) = (s.stdout, s.stderr);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = std::io::copy(&mut err_r, &mut err);
            let _ = err.flush();
        });
        let _ = std::io::copy(&mut out_r, &mut out);
        let _ = out.flush();
    });
    sys::wait_pid(pid).map_err(other)
}

/// An exec the runtime could not start: when the container stopped (or went)
/// meanwhile, podman's answer for that rather than the runtime's step that
/// noticed it (chaos finding F6: "signal the exec process: Broken pipe").
fn exec_failed(store: &Store, id: &str, e: run::RunError) -> Error {
    match container::find(store, id) {
        Err(_) => Error::NoSuchContainer(id.to_string()),
        // Its init may be gone while the state still says running: the monitor
        // records the exit a moment after it.
        Ok(i) if i.state.status != Status::Running || !init_lives(&i.state) => not_running(),
        Ok(_) => Error::from(e),
    }
}

/// Whether the container's init runs and is not on its way out: an exiting
/// process gives up its namespaces before it becomes a zombie, and an exec
/// that failed to join them saw exactly that.
fn init_lives(st: &container::ContainerState) -> bool {
    st.init_alive()
        && st
            .init
            .is_some_and(|p| std::fs::read_link(format!("/proc/{}/ns/mnt", p.pid)).is_ok())
}
