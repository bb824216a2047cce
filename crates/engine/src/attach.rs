//! `attach`: the monitor keeps a socket beside each detached container; clients
//! connected to it get the container's output as it comes (frames: a byte for
//! the stream, 1 stdout or 2 stderr, a big-endian u32 length, the bytes) and
//! what they send goes to the container's stdin or terminal (`-i`). The log is
//! written all the same, attached or not. Beside it a datagram socket (`.ctl`,
//! conmon's control channel) takes `resize ROWS COLS` for the terminal.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_storage::Store;

use crate::container::{Info, now_ns};
use crate::logs::{self, Stream};
use crate::sys;

/// The container's side of the streams, held by the monitor.
pub struct Streams {
    /// stdout, or the terminal with `-t`.
    pub out: OwnedFd,
    /// stderr (none with a terminal).
    pub err: Option<OwnedFd>,
    /// Where clients' input goes: the stdin pipe, or the terminal (`-i`).
    pub input: Option<File>,
    /// Docker's StdinOnce: the container's stdin closes when a client's
    /// input ends (`run -i` piped input reaches its end-of-file).
    pub stdin_once: bool,
}

/// An attached client; `reading` until its input ends (it may still take output).
struct Client {
    stream: UnixStream,
    reading: bool,
}

/// `RUNROOT/sockets/ID12.attach` (short enough for `sun_path`), else in /tmp.
pub fn socket_path(store: &Store, id: &str) -> PathBuf {
    let short = &id[..12.min(id.len())];
    let dir = store.config().run_root.join("sockets");
    let p = dir.join(format!("{short}.attach"));
    if p.as_os_str().len() < 100 && std::fs::create_dir_all(&dir).is_ok() {
        return p;
    }
    std::env::temp_dir().join(format!("berth-{short}.attach"))
}

fn frame(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(5 + data.len());
    f.push(kind);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// Copies the container's output to the log and to attached clients, and
/// clients' input to the container, until the output streams end.
pub fn serve(s: Streams, log: &logs::Target, listener: &UnixListener, first: Option<UnixStream>) {
    let mut log = log.open();
    let _ = listener.set_nonblocking(true);
    let mut outputs: Vec<(File, Stream)> = vec![(File::from(s.out), Stream::Stdout)];
    if let Some(e) = s.err {
        outputs.push((File::from(e), Stream::Stderr));
    }
    let mut input = s.input;
    let mut clients: Vec<Client> = first
        .into_iter()
        .map(|stream| Client {
            stream,
            reading: true,
        })
        .collect();
    let ctl = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(control_path))
        .and_then(|p| {
            let _ = std::fs::remove_file(&p);
            std::os::unix::net::UnixDatagram::bind(&p)
                .ok()
                .map(|s| (s, p))
        });
    let mut buf = vec![0u8; 64 << 10];
    while !outputs.is_empty() {
        let mut fds: Vec<i32> = outputs.iter().map(|(f, _)| f.as_raw_fd()).collect();
        fds.push(listener.as_raw_fd());
        // A client whose input ended is not polled (poll skips negative fds).
        fds.extend(
            clients
                .iter()
                .map(|c| if c.reading { c.stream.as_raw_fd() } else { -1 }),
        );
        if let Some((c, _)) = &ctl {
            fds.push(c.as_raw_fd());
        }
        let Ok(ready) = sys::poll_readable(&fds, None) else {
            return;
        };
        if let Some((c, _)) = ctl.as_ref().filter(|_| ready.last() == Some(&true))
            && let Ok(n) = c.recv(&mut buf)
            && let Some((rows, cols)) = parse_resize(&buf[..n])
        {
            // The terminal is the first output (with -t it is the only one).
            sys::set_winsize(outputs[0].0.as_raw_fd(), rows, cols);
        }
        let n_out = outputs.len();
        let mut closed = Vec::new();
        for i in 0..n_out {
            if !ready[i] {
                continue;
            }
            let (f, stream) = &mut outputs[i];
            match f.read(&mut buf) {
                Ok(0) | Err(_) => closed.push(i),
                Ok(n) => {
                    log.write(*stream, &buf[..n], now_ns());
                    let kind = if *stream == Stream::Stdout { 1 } else { 2 };
                    let f = frame(kind, &buf[..n]);
                    // A client that cannot keep up is dropped, not waited for.
                    clients.retain_mut(|c| c.stream.write_all(&f).is_ok());
                }
            }
        }
        if ready[n_out]
            && let Ok((c, _)) = listener.accept()
        {
            let _ = c.set_nonblocking(false);
            let _ = c.set_write_timeout(Some(std::time::Duration::from_secs(5)));
            clients.push(Client {
                stream: c,
                reading: true,
            });
        }
        let mut gone = Vec::new();
        for (j, c) in clients.iter_mut().enumerate() {
            if !c.reading || !ready.get(n_out + 1 + j).copied().unwrap_or(false) {
                continue;
            }
            match c.stream.read(&mut buf) {
                Err(_) => gone.push(j),
                // Its input ended; its output goes on until it closes.
                Ok(0) => {
                    c.reading = false;
                    if s.stdin_once {
                        input = None;
                    }
                }
                Ok(n) => {
                    if let Some(i) = input.as_mut()
                        && i.write_all(&buf[..n]).is_err()
                    {
                        input = None;
                    }
                }
            }
        }
        for j in gone.into_iter().rev() {
            clients.remove(j);
        }
        for i in closed.into_iter().rev() {
            outputs.remove(i);
        }
    }
    if let Some((_, p)) = &ctl {
        let _ = std::fs::remove_file(p);
    }
}

/// Removes the sockets a monitor of the container made (attach, control,
/// console), for when it could not remove them itself.
pub fn remove_sockets(store: &Store, id: &str) {
    let attach = socket_path(store, id);
    for p in [
        control_path(&attach),
        attach.with_extension("console"),
        attach.with_extension("exec"),
        attach,
    ] {
        let _ = std::fs::remove_file(p);
    }
}

/// The control socket beside an attach socket.
pub fn control_path(attach: &Path) -> PathBuf {
    attach.with_extension("ctl")
}

/// `resize ROWS COLS`.
fn parse_resize(msg: &[u8]) -> Option<(u16, u16)> {
    let text = std::str::from_utf8(msg).ok()?;
    let mut it = text.split_whitespace();
    (it.next()? == "resize").then_some(())?;
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Passes a terminal size on to the container behind the attach socket
/// `attach` (through its control socket, conmon's ctl channel).
pub fn resize(attach: &Path, rows: u16, cols: u16) -> std::io::Result<()> {
    let sock = std::os::unix::net::UnixDatagram::unbound()?;
    sock.send_to(
        format!("resize {rows} {cols}").as_bytes(),
        control_path(attach),
    )
    .map(drop)
}

/// The attach socket a connection was made to.
pub fn peer_path(stream: &UnixStream) -> Option<PathBuf> {
    stream
        .peer_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf))
}

/// How an attach ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The container's output ended (it exited).
    Exited,
    /// The user typed the detach keys.
    Detached,
}

/// A `--detach-keys` entry that names no key.
#[derive(Debug, thiserror::Error)]
#[error("invalid detach key {0:?}")]
pub struct InvalidDetachKey(pub String);

/// Parses `--detach-keys` (`ctrl-p,ctrl-q`, podman's default; `""` disables).
pub fn detach_keys(spec: &str) -> Result<Vec<u8>, InvalidDetachKey> {
    spec.split(',')
        .filter(|k| !k.is_empty())
        .map(|k| match k.strip_prefix("ctrl-") {
            Some(c) if c.len() == 1 && c.as_bytes()[0].is_ascii_alphabetic() => {
                Ok(c.as_bytes()[0].to_ascii_lowercase() - b'a' + 1)
            }
            Some("@") => Ok(0),
            Some("[") => Ok(27),
            Some("\\") => Ok(28),
            Some("]") => Ok(29),
            Some("^") => Ok(30),
            Some("_") => Ok(31),
            None if k.len() == 1 => Ok(k.as_bytes()[0]),
            _ => Err(InvalidDetachKey(k.to_string())),
        })
        .collect()
}

/// A client's side of an attach: where the container's input comes from and
/// its output goes. A terminal, a socket of the REST API or a test's buffers
/// all fit.
pub struct AttachStreams<'a> {
    /// Input for the container (`-i`); None sends nothing.
    pub stdin: Option<Box<dyn Read + Send>>,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Terminal sizes (rows, columns) for a `-t` container, as the client's
    /// window changes; None: the size stays as it is.
    pub resize: Option<std::sync::mpsc::Receiver<(u16, u16)>>,
}

/// Connects to a container's attach socket.
pub fn connect(path: &Path) -> std::io::Result<UnixStream> {
    UnixStream::connect(path)
}

/// `attach NAME`: the container, which must be running, and a connection to
/// its monitor's attach socket (its output from now on, its input, for
/// [`relay`]).
pub fn attach(store: &Store, name: &str) -> Result<(Info, UnixStream), crate::Error> {
    let info = crate::targets::attachable(store, name)?;
    let conn = connect(&socket_path(store, &info.id))
        .map_err(|e| crate::Error::Other(format!("attach to {}: {e}", info.id)))?;
    Ok((info, conn))
}

/// `--sig-proxy`: from now on the signals this process gets go to the
/// container `id` (through [`crate::lifecycle::kill`], which finds its process
/// by pidfd), as podman's attached run, start and attach pass them on. A
/// signal that finds the container gone is dropped.
pub fn proxy_signals(store: Arc<Store>, id: &str) -> std::io::Result<()> {
    let mut events = sys::signal_events()?;
    let id = id.to_string();
    std::thread::spawn(move || {
        let mut b = [0u8; 1];
        while events.read_exact(&mut b).is_ok() {
            let _ = crate::lifecycle::kill(&store, &id, &b[0].to_string());
        }
    });
    Ok(())
}

/// Relays between an attach connection and `io` until the container's output
/// ends or the detach `keys` come on stdin.
pub fn relay(stream: UnixStream, io: AttachStreams, keys: &[u8]) -> std::io::Result<Ended> {
    let detached = Arc::new(AtomicBool::new(false));
    if let (Some(sizes), Some(path)) = (io.resize, peer_path(&stream)) {
        // Each size goes to the container's control socket, until the
        // client stops sending them.
        std::thread::spawn(move || {
            for (rows, cols) in sizes {
                let _ = resize(&path, rows, cols);
            }
        });
    }
    if let Some(input) = io.stdin {
        let to = stream.try_clone()?;
        let keys = keys.to_vec();
        let flag = detached.clone();
        std::thread::spawn(move || send_input(input, to, &keys, &flag));
    }
    let mut from = stream;
    let mut head = [0u8; 5];
    loop {
        if from.read_exact(&mut head).is_err() {
            break;
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut data = vec![0u8; len.min(16 << 20)];
        if from.read_exact(&mut data).is_err() {
            break;
        }
        let w: &mut dyn Write = if head[0] == 2 {
            &mut *io.stderr
        } else {
            &mut *io.stdout
        };
        // The client gone (its terminal closed, its socket shut): done.
        if w.write_all(&data).and_then(|()| w.flush()).is_err() {
            break;
        }
    }
    Ok(if detached.load(Ordering::SeqCst) {
        Ended::Detached
    } else {
        Ended::Exited
    })
}

/// Copies `input` to the container until it ends or the detach keys come (a
/// partial sequence that does not complete goes through as typed).
fn send_input(
    mut input: Box<dyn Read + Send>,
    mut to: UnixStream,
    keys: &[u8],
    detached: &AtomicBool,
) {
    let mut matched = 0;
    let mut b = [0u8; 4096];
    loop {
        let n = match input.read(&mut b) {
            Ok(0) | Err(_) => {
                // The monitor learns the input ended (and, for a StdinOnce
                // container, closes its stdin); output keeps coming.
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(n) => n,
        };
        let mut send = Vec::with_capacity(n);
        for &c in &b[..n] {
            if !keys.is_empty() && c == keys[matched] {
                matched += 1;
                if matched == keys.len() {
                    detached.store(true, Ordering::SeqCst);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                    return;
                }
                continue;
            }
            send.extend_from_slice(&keys[..matched]);
            matched = 0;
            send.push(c);
        }
        if to.write_all(&send).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_specs() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q").unwrap(), [16, 17]);
        assert_eq!(detach_keys("").unwrap(), Vec::<u8>::new());
        assert!(detach_keys("ctrl-").is_err());
        assert_eq!(parse_resize(b"resize 33 111"), Some((33, 111)));
        assert_eq!(parse_resize(b"resize 33"), None);
        assert_eq!(parse_resize(b"kill 9"), None);
    }
}
