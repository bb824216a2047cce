//! Where the service listens: a unix socket (the default), a socket handed
//! over by systemd (`LISTEN_FDS`), or TCP on request.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
    /// TCP with TLS: each client is decrypted into a socket pair's end.
    Tls(TcpListener, std::sync::Arc<rustls::ServerConfig>),
}

pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// Why the service cannot listen where it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// podman's words: the scheme (as Go's URL parser reads it) and the URI.
    #[error(
        "API Service endpoint scheme {scheme:?} is not supported. Try tcp://{uri} or unix:/{uri}"
    )]
    BadUri { scheme: String, uri: String },
    #[error("{}: another service is listening there", .0.display())]
    InUse(PathBuf),
    #[error("{}: {source}", path.display())]
    Path { path: PathBuf, source: io::Error },
    #[error("{addr}: {source}")]
    Tcp { addr: String, source: io::Error },
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// The default socket: root's under /run, a user's under $XDG_RUNTIME_DIR.
pub fn default_uri() -> String {
    berth_engine::system::default_service_uri()
}

impl Listener {
    /// Listens at `uri`; a socket file left by a service that is gone is replaced.
    pub fn bind(uri: &str) -> Result<Listener, ListenError> {
        // podman's forms: unix:///PATH or unix:PATH, tcp://HOST:PORT or tcp:HOST:PORT.
        if let Some(path) = uri.strip_prefix("unix://").or(uri.strip_prefix("unix:")) {
            return bind_unix(Path::new(path)).map(Listener::Unix);
        }
        if let Some(addr) = uri.strip_prefix("tcp://").or(uri.strip_prefix("tcp:")) {
            let l = TcpListener::bind(addr).map_err(|source| ListenError::Tcp {
                addr: addr.into(),
                source,
            })?;
            return Ok(Listener::Tcp(l));
        }
        let scheme = uri.split_once(':').map_or("", |(s, _)| s).to_string();
        Err(ListenError::BadUri {
            scheme,
            uri: uri.into(),
        })
    }

    /// The socket systemd passed (`LISTEN_PID` is this process, `LISTEN_FDS` ≥ 1: fd 3).
    pub fn from_systemd() -> Option<Listener> {
        let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
        let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
        if pid != std::process::id() || fds < 1 {
            return None;
        }
        const FD: RawFd = 3;
        // The monitors and helpers it starts must not keep the listening socket.
        // SAFETY: fcntl on a descriptor number; a failure changes nothing.
        unsafe { libc::fcntl(FD, libc::F_SETFD, libc::FD_CLOEXEC) };
        // SAFETY: removing variables before any thread of this service reads them.
        unsafe {
            std::env::remove_var("LISTEN_PID");
            std::env::remove_var("LISTEN_FDS");
            std::env::remove_var("LISTEN_FDNAMES");
        }
        // SAFETY: a zeroed sockaddr_storage is valid; getsockname writes at most len bytes.
        let family = unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            if libc::getsockname(FD, (&raw mut addr).cast(), &mut len) != 0 {
                return None;
            }
            addr.ss_family as i32
        };
        // SAFETY: systemd handed fd 3 to this process (LISTEN_PID says so); it is ours to own.
        Some(unsafe {
            match family {
                libc::AF_UNIX => Listener::Unix(UnixListener::from_raw_fd(FD)),
                _ => Listener::Tcp(TcpListener::from_raw_fd(FD)),
            }
        })
    }

    fn fd(&self) -> RawFd {
        match self {
            Listener::Unix(l) => l.as_raw_fd(),
            Listener::Tcp(l) | Listener::Tls(l, _) => l.as_raw_fd(),
        }
    }

    /// Serves TLS on a TCP listener with the PEM certificate chain and key.
    pub fn with_tls(self, cert: &Path, key: &Path) -> Result<Listener, ListenError> {
        let config = crate::tls::config(cert, key)?;
        match self {
            Listener::Tcp(l) | Listener::Tls(l, _) => Ok(Listener::Tls(l, config)),
            Listener::Unix(_) => Err(crate::tls::TlsError::NotTcp.into()),
        }
    }

    /// The next client, or None when `wait` passed without one.
    pub fn accept_within(&self, wait: Option<Duration>) -> io::Result<Option<Stream>> {
        let mut p = libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = wait.map_or(-1, |w| w.as_millis().clamp(1, i32::MAX as u128) as i32);
        // SAFETY: p is one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(e)
            };
        }
        if r == 0 {
            return Ok(None);
        }
        let s = match self {
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            Listener::Tls(l, config) => l
                .accept()
                .and_then(|(s, _)| crate::tls::accept(s, config))
                .map(Stream::Unix),
        };
        match s {
            Ok(s) => Ok(Some(s)),
            // The client went before it was taken: wait for the next.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn bind_unix(path: &Path) -> Result<UnixListener, ListenError> {
    let err = |source| ListenError::Path {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(if me == 0 { 0o755 } else { 0o700 })
            .create(dir)
            .map_err(err)?;
        // Another user's directory (made first, in a shared /tmp) could swap
        // the socket for one of theirs: only the caller's or root's will do.
        let m = std::fs::symlink_metadata(dir).map_err(err)?;
        if !m.is_dir() || (m.uid() != me && m.uid() != 0) {
            return Err(ListenError::Path {
                path: dir.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "not a directory of this user's or root's",
                ),
            });
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(ListenError::InUse(path.to_path_buf()));
            }
            // Left by a service that is gone.
            std::fs::remove_file(path).map_err(err)?;
        }
        Ok(_) => {
            return Err(err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a socket",
            )));
        }
        Err(_) => {}
    }
    let l = UnixListener::bind(path).map_err(err)?;
    // The socket is as powerful as root: its owner and group only.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(err)?;
    Ok(l)
}

impl Stream {
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
        })
    }

    /// How long a read waits (None: for ever, for a hijacked stream's input).
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tcp(s) => s.set_read_timeout(t),
        }
    }

    /// Ends the writing half (a hijacked stream's end of output).
    pub fn shutdown_write(&self) {
        let _ = match self {
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }
}
