//! The user's terminal attached to a container: the engine relays streams;
//! this front end decides that they are the terminal's, puts it in raw mode
//! for a `-t` container and passes its window sizes on.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use berth_engine::attach::{self, AttachStreams, Ended};
use berth_engine::container::Info;
use berth_engine::tty;
use berth_storage::Store;

use crate::exit::{self, Failure};

/// A container's session on the user's terminal: relayed until the
/// container ends (its exit code, waited for) or the user detaches (0).
/// With `sig_proxy`, the signals this process gets go to the container.
pub fn session(
    store: &Arc<Store>,
    info: &Info,
    conn: UnixStream,
    stdin: bool,
    keys: &[u8],
    sig_proxy: bool,
) -> Result<i32, Failure> {
    if sig_proxy {
        attach::proxy_signals(store.clone(), &info.id)
            .map_err(|e| exit::podman(format!("--sig-proxy: {e}")))?;
    }
    let ended = terminal(conn, stdin, info.config.process.tty, keys)
        .map_err(|e| exit::podman(format!("attach to {}: {e}", info.id)))?;
    match ended {
        Ended::Detached => Ok(0),
        Ended::Exited => berth_engine::lifecycle::wait(store, &info.id).map_err(exit::engine),
    }
}

/// Relays between the user's stdio and an attach connection until the
/// container's output ends or the user types the detach `keys`.
pub fn terminal(
    conn: UnixStream,
    interactive: bool,
    tty_mode: bool,
    keys: &[u8],
) -> std::io::Result<Ended> {
    let on_tty = tty_mode && tty::isatty(0);
    let resize = on_tty.then(window_sizes).flatten();
    let _raw = on_tty.then(|| tty::raw_mode(0).ok()).flatten();
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let stdin = interactive.then(|| Box::new(std::io::stdin()) as Box<dyn Read + Send>);
    attach::relay(
        conn,
        AttachStreams {
            stdin,
            stdout: &mut out,
            stderr: &mut err,
            resize,
        },
        keys,
    )
}

/// The terminal's size now and at every SIGWINCH, for as long as this
/// process lives.
fn window_sizes() -> Option<Receiver<(u16, u16)>> {
    let winch = tty::winch_events().ok()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        loop {
            if let Some(size) = tty::winsize(0)
                && tx.send(size).is_err()
            {
                return;
            }
            if tty::poll_readable(&[winch.as_raw_fd()], None).is_err() {
                return;
            }
            tty::drain(winch.as_raw_fd());
        }
    });
    Some(rx)
}
