//! The container's stdout and stderr as conmon handles them: pipes that the
//! engine reads, writing each chunk to the container log and, for a container
//! in the foreground, on to the user's own stdout and stderr.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use crate::container::now_ns;
use crate::logs::{self, Stream};
use crate::sys;

/// Where the output goes besides the log: the user's stdout and stderr.
pub struct Tee {
    pub out: File,
    pub err: File,
}

/// Copies both streams until each ends (when every process of the container
/// has closed it).
pub fn pump(out: OwnedFd, err: OwnedFd, log: &logs::Target, mut tee: Option<Tee>) {
    let mut log = log.open();
    let mut streams = vec![
        (File::from(out), Stream::Stdout),
        (File::from(err), Stream::Stderr),
    ];
    let mut buf = vec![0u8; 64 << 10];
    while !streams.is_empty() {
        let fds: Vec<i32> = streams.iter().map(|(f, _)| f.as_raw_fd()).collect();
        let Ok(ready) = sys::poll_readable(&fds, None) else {
            return;
        };
        let mut closed = Vec::new();
        for (i, r) in ready.iter().enumerate() {
            if !r {
                continue;
            }
            let (f, stream) = &mut streams[i];
            match f.read(&mut buf) {
                Ok(0) | Err(_) => closed.push(i),
                Ok(n) => {
                    log.write(*stream, &buf[..n], now_ns());
                    if let Some(t) = tee.as_mut() {
                        let w = match stream {
                            Stream::Stdout => &mut t.out,
                            Stream::Stderr => &mut t.err,
                        };
                        let _ = w.write_all(&buf[..n]);
                    }
                }
            }
        }
        for i in closed.into_iter().rev() {
            streams.remove(i);
        }
    }
}

/// The container's stdio while it is being created: stdin `/dev/null` (or this
/// process's own with `keep_stdin`), stdout and stderr new pipes. Returns the
/// pipes' read ends and this process's original stdout and stderr, which
/// [`Swapped::restore`] puts back.
pub struct Swapped {
    pub out: OwnedFd,
    pub err: OwnedFd,
    saved_out: OwnedFd,
    saved_err: OwnedFd,
}

impl Swapped {
    pub fn new(keep_stdin: bool) -> std::io::Result<Swapped> {
        let (out_r, out_w) = sys::pipe()?;
        let (err_r, err_w) = sys::pipe()?;
        let saved_out = sys::dup(1)?;
        let saved_err = sys::dup(2)?;
        if !keep_stdin {
            sys::dup2(&File::open("/dev/null")?, 0)?;
        }
        sys::dup2(&out_w, 1)?;
        sys::dup2(&err_w, 2)?;
        Ok(Swapped {
            out: out_r,
            err: err_r,
            saved_out,
            saved_err,
        })
    }

    /// Puts this process's stdout and stderr back; returns them as a [`Tee`].
    pub fn restore(self) -> std::io::Result<(OwnedFd, OwnedFd, Tee)> {
        sys::dup2(&self.saved_out, 1)?;
        sys::dup2(&self.saved_err, 2)?;
        Ok((
            self.out,
            self.err,
            Tee {
                out: File::from(self.saved_out),
                err: File::from(self.saved_err),
            },
        ))
    }
}
