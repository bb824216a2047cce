//! `run -t` in the foreground: the container's terminal is a pseudo-terminal the
//! runtime makes and hands over on a console socket; this process copies between
//! it and the user's terminal (raw mode) until the container closes it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::sys;

/// The console socket a runtime sends the container's terminal over
/// (`--console-socket`). Nothing accepts while the runtime works: its
/// connection waits in the listener's backlog with the terminal already sent,
/// and is taken after the runtime returns. So no thread runs beside the
/// built-in runtime, which forks the container's process from this one (a
/// fork beside another thread may inherit a lock that thread held).
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listens on `path` (replacing a stale socket there).
    pub fn bind(path: &Path) -> std::io::Result<ConsoleSocket> {
        let _ = std::fs::remove_file(path);
        Ok(ConsoleSocket {
            listener: UnixListener::bind(path)?,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The terminal the runtime sent while it created the process.
    pub fn receive(self) -> std::io::Result<OwnedFd> {
        self.listener.set_nonblocking(true)?;
        let (conn, _) = self.listener.accept().map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => {
                std::io::Error::other("the runtime did not connect to the console socket")
            }
            _ => e,
        })?;
        conn.set_nonblocking(false)?;
        let mut buf = [0u8; 64];
        let (_, fd) = berth_runtime::sys::recv_fd(conn.as_raw_fd(), &mut buf)?;
        fd.ok_or_else(|| std::io::Error::other("the runtime sent no terminal"))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Copies the user's stdin (when `interactive`) to the terminal and the terminal
/// to stdout until the container's side is closed.
pub fn proxy(master: OwnedFd, interactive: bool) {
    let stdin_tty = sys::isatty(0);
    // A resized terminal is passed on, as it happens (watched before the size
    // is first copied, so that no resize falls between).
    let winch = stdin_tty.then(|| sys::winch_events().ok()).flatten();
    if stdin_tty {
        sys::copy_winsize(0, master.as_raw_fd());
    }
    // Raw only when the user's keys go to the container.
    let _raw = (interactive && stdin_tty)
        .then(|| sys::raw_mode(0).ok())
        .flatten();
    let mut term = File::from(master);
    let mut stdin_open = interactive;
    let mut out = std::io::stdout();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let mut fds = vec![term.as_raw_fd()];
        if let Some(w) = &winch {
            fds.push(w.as_raw_fd());
        }
        let stdin_at = fds.len();
        if stdin_open {
            fds.push(0);
        }
        let Ok(ready) = sys::poll_readable(&fds, None) else {
            return;
        };
        if let Some(w) = winch.as_ref().filter(|_| ready[1]) {
            sys::drain(w.as_raw_fd());
            sys::copy_winsize(0, term.as_raw_fd());
        }
        if ready[0] {
            match term.read(&mut buf) {
                // EIO: the container's side of the terminal is closed.
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
        if stdin_open && ready.get(stdin_at).copied().unwrap_or(false) {
            match std::io::stdin().lock().read(&mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => {
                    if term.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
