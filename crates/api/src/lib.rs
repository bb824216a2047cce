//! berth's REST API: the Docker Engine API (v1.41, what docker-compose, the
//! docker CLI and the SDKs speak) served over the engine, daemonless: a
//! `system service` runs while clients come and ends after `--time` idle
//! seconds. The store stays the one truth, so what the API makes the CLI sees,
//! and the other way round; no lock is held between requests.

mod archive;
mod attach;
mod build;
mod containers;
mod create;
mod events;
mod exec;
pub mod http;
mod images;
mod libpod;
mod libpod_store;
pub mod listen;
mod manifests;
mod pty;
mod reply;
mod router;
mod system;
mod tls;
mod transfer;

use std::ffi::OsString;
use std::io::{BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_engine::Engine;
use berth_engine::monitor::MonitorCommand;

pub use listen::{Listener, Stream};

/// The Docker Engine API version served (compat paths).
pub const DOCKER_API_VERSION: &str = "1.41";
/// The oldest one whose clients are answered.
pub const DOCKER_MIN_API_VERSION: &str = "1.24";
/// The libpod API version reported (podman 4.3's).
pub const LIBPOD_API_VERSION: &str = "4.3.1";

/// How the service starts a container's monitor: the front end's argv for an ID.
pub type MonitorArgv = dyn Fn(&str) -> Vec<OsString> + Send + Sync;

/// What every request is served with.
pub struct Service {
    pub engine: Engine,
    /// The front end's binary and its store flags: monitors (`__monitor ID`),
    /// exec helpers (`exec …`) and builds are started from it.
    command: MonitorCommand,
    monitor: Box<MonitorArgv>,
    execs: exec::Sessions,
    /// Clients attached to a container not yet started (Docker's `run` attaches
    /// first): its start hands them the connection its monitor makes, so they
    /// see its output from the first byte.
    attaching: std::sync::Mutex<std::collections::HashMap<String, Vec<attach::Waiting>>>,
}

impl Service {
    /// `command`: the front end's binary and the store flags it was given.
    pub fn new(engine: Engine, command: MonitorCommand) -> Service {
        let base = command.clone();
        let monitor = Box::new(move |id: &str| base.monitor(id));
        Service {
            engine,
            command,
            monitor,
            execs: Default::default(),
            attaching: Default::default(),
        }
    }
}

/// One client connection: its buffered reading half and its writing half.
pub struct Conn {
    pub reader: BufReader<Stream>,
    pub writer: Stream,
}

/// Serves until `idle` passes with no client connected (None: for ever).
pub fn serve(
    listener: Listener,
    service: Arc<Service>,
    idle: Option<Duration>,
) -> std::io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    loop {
        let wait = match idle {
            None => None,
            Some(idle) if active.load(Ordering::SeqCst) == 0 => {
                let since = last.lock().map(|t| t.elapsed()).unwrap_or_default();
                if since >= idle {
                    return Ok(());
                }
                Some(idle - since)
            }
            // Clients are connected: look again in a while.
            Some(idle) => Some(idle.max(Duration::from_millis(100))),
        };
        let stream = match listener.accept_within(wait) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            // Out of descriptors or memory for now: clients are refused until
            // some leave, the service goes on.
            Err(e) if transient(&e) => {
                log::warn!("API service: accepting a client: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(e),
        };
        if active.load(Ordering::SeqCst) >= MAX_CLIENTS {
            // Dropped unanswered: the client sees its connection closed.
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (service, active, last) = (service.clone(), active.clone(), last.clone());
        std::thread::spawn(move || {
            connection(&service, stream);
            if let Ok(mut t) = last.lock() {
                *t = Instant::now();
            }
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Waits up to `ms` for the client to hang up; true when it has. Only the
/// hang-up wakes it: bytes the client sends meanwhile are left to be read.
pub(crate) fn client_gone(stream: &Stream, ms: i32) -> bool {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: p is one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    r > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

/// Clients served at once; more are closed at once.
const MAX_CLIENTS: usize = 512;
/// A client silent this long while a request is awaited is let go.
const IDLE_CLIENT: Duration = Duration::from_secs(300);

fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::EAGAIN)
    )
}

/// Requests one after another on one connection, until either side closes it.
fn connection(service: &Service, stream: Stream) {
    let _ = stream.set_read_timeout(Some(IDLE_CLIENT));
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut conn = Conn {
        reader: BufReader::new(reader),
        writer: stream,
    };
    loop {
        let req = match http::read_request(&mut conn.reader, router::streamed) {
            Ok(r) => r,
            Err(e) => {
                if let Some(status) = e.status() {
                    let body = reply::error_body(status, &e.to_string());
                    let _ = http::respond(&mut conn.writer, status, "application/json", &body);
                }
                return;
            }
        };
        // A body its handler streams may be left half read: the connection ends.
        let keep = req.keep_alive() && !router::streamed(&req.method, &req.path);
        match router::handle(service, &req, &mut conn) {
            Ok(reply::Done::KeepOpen) if keep => {}
            Ok(_) => return,
            Err(e) => {
                log::debug!("{} {}: {e}", req.method, req.path);
                return;
            }
        }
        let _ = conn.writer.flush();
    }
}
