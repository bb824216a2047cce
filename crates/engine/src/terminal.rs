//! `run -t` in the foreground: the container's terminal is a pseudo-terminal the
//! runtime makes and hands over on a console socket; this process copies between
//! it and the user's terminal (raw mode) until the container closes it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread::JoinHandle;

use crate::sys;

/// Listens on `path` for the runtime's one connection carrying the terminal.
pub fn receive_master(path: &Path) -> std::io::Result<JoinHandle<std::io::Result<OwnedFd>>> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    Ok(std::thread::spawn(move || {
        let (conn, _) = listener.accept()?;
        let mut buf = [0u8; 64];
        let (_, fd) = berth_runtime::sys::recv_fd(conn.as_raw_fd(), &mut buf)?;
        fd.ok_or_else(|| std::io::Error::other("the runtime sent no terminal"))
    }))
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
