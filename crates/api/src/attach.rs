//! `POST /containers/ID/attach`: the connection is hijacked (HTTP 101, then
//! raw bytes both ways) and relayed to the container's attach socket: its
//! output framed as Docker frames it (none with a terminal), the client's
//! bytes to its stdin. A container not yet started is attached when it starts,
//! from its first byte of output (Docker's `run` attaches, then starts).

use std::cell::RefCell;
use std::io::{Cursor, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use berth_engine::attach::{self, AttachStreams};

use crate::http::Request;
use crate::reply::{ApiError, Done, Reply, Result};
use crate::{Conn, Service};

pub fn attach(s: &Service, req: &Request, id: &str, conn: &mut Conn) -> Result {
    let info = s.engine.containers().inspect(id)?;
    // A running (or paused: refused, as Docker's) container is attached to
    // before the answer, so that what fails is told.
    let socket = if info.state.running || info.state.paused {
        Some(s.engine.containers().attach(&info.id)?.1)
    } else {
        None
    };
    let tty = info.config.tty;
    let (want_in, want_out, want_err) = (req.flag("stdin"), req.flag("stdout"), req.flag("stderr"));
    let upgrade = req.header("upgrade").is_some();
    let head = if upgrade {
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    } else {
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    };
    // Waiting for the start begins before the client hears the answer, so a
    // start it sends next cannot come first.
    let rx = socket.is_none().then(|| {
        let (tx, rx) = mpsc::channel();
        let token = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut pending) = s.attaching.lock() {
            pending
                .entry(info.id.clone())
                .or_default()
                .push((token, tx));
        }
        (token, rx)
    });
    conn.writer.write_all(head.as_bytes()).map_err(io)?;
    conn.writer.flush().map_err(io)?;
    let socket = match rx {
        None => socket,
        Some((token, rx)) => wait_for_start(s, &info.id, token, rx),
    };
    let Some(socket) = socket else {
        conn.writer.shutdown_write();
        return Ok(Reply::Written(Done::Close));
    };
    // The client's input may pause for as long as it likes.
    let _ = conn.writer.set_read_timeout(None);
    let stdin: Option<Box<dyn Read + Send>> = match (want_in, conn.reader.get_ref().try_clone()) {
        (true, Ok(rest)) => Some(Box::new(
            Cursor::new(conn.reader.buffer().to_vec()).chain(rest),
        )),
        _ => None,
    };
    let out = RefCell::new(&mut conn.writer);
    let mut stdout = Framed {
        out: &out,
        stream: 1,
        tty,
        on: want_out,
    };
    let mut stderr = Framed {
        out: &out,
        stream: 2,
        tty,
        on: want_err,
    };
    let streams = AttachStreams {
        stdin,
        stdout: &mut stdout,
        stderr: &mut stderr,
        resize: None,
    };
    let _ = attach::relay(socket, streams, &[]);
    conn.writer.shutdown_write();
    Ok(Reply::Written(Done::Close))
}

/// The connection the container's start hands over; None when it went away
/// unstarted. Started by someone else meanwhile: its socket, from then on.
// A hijacked client may have shut its writing half (no stdin): a hang-up
// cannot be told from that, so the wait ends with the container, not the client.
fn wait_for_start(
    s: &Service,
    id: &str,
    token: u64,
    rx: mpsc::Receiver<UnixStream>,
) -> Option<UnixStream> {
    let got = loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(conn) => break Some(conn),
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => match s.engine.containers().attach(id) {
                Ok((_, conn)) => break Some(conn),
                // Not running yet.
                Err(berth_engine::Error::StateImproper(_)) => continue,
                Err(_) => break None,
            },
        }
    };
    // Only this client's place goes: others may wait for the same start.
    if let Ok(mut pending) = s.attaching.lock()
        && let Some(list) = pending.get_mut(id)
    {
        list.retain(|(t, _)| *t != token);
        if list.is_empty() {
            pending.remove(id);
        }
    }
    got
}

/// A client waiting for a container's start: its token and where its
/// connection goes.
pub type Waiting = (u64, mpsc::Sender<UnixStream>);

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The clients attached and waiting for this container's start.
pub fn take_waiting(s: &Service, id: &str) -> Vec<Waiting> {
    s.attaching
        .lock()
        .ok()
        .and_then(|mut p| p.remove(id))
        .unwrap_or_default()
}

/// One stream's output onto the hijacked connection: Docker's 8-byte frame
/// header (stream, 0, 0, 0, big-endian length) unless there is a terminal.
struct Framed<'a, 'b> {
    out: &'a RefCell<&'b mut crate::Stream>,
    stream: u8,
    tty: bool,
    on: bool,
}

impl Write for Framed<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.on {
            return Ok(buf.len());
        }
        let mut out = self.out.borrow_mut();
        if self.tty {
            out.write_all(buf)?;
        } else {
            let mut frame = Vec::with_capacity(8 + buf.len());
            frame.extend_from_slice(&[self.stream, 0, 0, 0]);
            frame.extend_from_slice(&(buf.len() as u32).to_be_bytes());
            frame.extend_from_slice(buf);
            out.write_all(&frame)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.borrow_mut().flush()
    }
}

/// `POST /containers/ID/resize?h=ROWS&w=COLS`: the terminal's new size.
pub fn resize(s: &Service, req: &Request, id: &str) -> Result {
    let info = s.engine.containers().inspect(id)?;
    let num = |k: &str| -> std::result::Result<u16, ApiError> {
        let v = req.param(k).unwrap_or("");
        v.parse()
            .map_err(|_| ApiError::bad_request(format!("{k} {v:?}: not a size")))
    };
    let (rows, cols) = (num("h")?, num("w")?);
    if !(info.state.running || info.state.paused) {
        return Err(ApiError::new(409, format!("container {id} is not running")));
    }
    let control = attach::control_path(&attach::socket_path(s.engine.store(), &info.id));
    attach::resize(&control, rows, cols).map_err(|e| ApiError::new(500, format!("resize: {e}")))?;
    Ok(Reply::Empty(200))
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::new(500, e)
}
