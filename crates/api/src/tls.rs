//! TLS for a TCP listener (`--tls-cert`, `--tls-key`): each connection is
//! decrypted by two relay threads into one end of a socket pair, whose other
//! end the service reads and writes as it does any client's (hijacked
//! streams included, which need both directions at once).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::ServerConnection;

/// Why `--tls-cert`/`--tls-key` cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file that cannot be read or parsed.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
    #[error("{}: no certificate in it", .0.display())]
    NoCertificate(PathBuf),
    #[error("{}: no private key in it", .0.display())]
    NoKey(PathBuf),
    /// rustls refused the pair (a key that is not the certificate's …).
    #[error("the certificate and key: {0}")]
    Refused(#[from] rustls::Error),
    #[error("--tls-cert and --tls-key are for a tcp:// URI")]
    NotTcp,
}

fn file(path: &Path) -> impl Fn(io::Error) -> TlsError + '_ {
    move |source| TlsError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// The server's certificate chain and key, read once.
pub fn config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = rustls_pemfile::certs(&mut &std::fs::read(cert).map_err(file(cert))?[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(file(cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_path_buf()));
    }
    let key_der = rustls_pemfile::private_key(&mut &std::fs::read(key).map_err(file(key))?[..])
        .map_err(file(key))?
        .ok_or_else(|| TlsError::NoKey(key.to_path_buf()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map(Arc::new)?)
}

/// Wraps a TCP client: returns the plain end the service serves.
pub fn accept(tcp: TcpStream, config: &Arc<rustls::ServerConfig>) -> io::Result<UnixStream> {
    let conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
    let conn = Arc::new(Mutex::new(conn));
    let (plain, inner) = UnixStream::pair()?;
    let (tcp_in, mut tcp_out) = (tcp.try_clone()?, tcp);
    let (mut inner_in, inner_out) = (inner.try_clone()?, inner);
    let c = conn.clone();
    let mut tcp_out2 = tcp_out.try_clone()?;
    // Client → service: records in, plaintext out (handshake answers back).
    std::thread::spawn(move || {
        let failed = decrypt(tcp_in, &c, &mut tcp_out2, &inner_out).is_err();
        // The service sees the client's end; a client that spoke no TLS is cut off.
        let _ = inner_out.shutdown(std::net::Shutdown::Write);
        if failed {
            let _ = tcp_out2.shutdown(std::net::Shutdown::Both);
        }
    });
    // Service → client: plaintext in, records out.
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 << 10];
        loop {
            let n = match inner_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let records = {
                let Ok(mut g) = conn.lock() else { break };
                if g.writer().write_all(&buf[..n]).is_err() {
                    break;
                }
                pending_tls(&mut g)
            };
            // The socket is written with the lock released.
            if records.and_then(|r| tcp_out.write_all(&r)).is_err() {
                break;
            }
        }
        let records = conn.lock().ok().and_then(|mut g| {
            g.send_close_notify();
            pending_tls(&mut g).ok()
        });
        if let Some(r) = records {
            let _ = tcp_out.write_all(&r);
        }
        let _ = tcp_out.shutdown(std::net::Shutdown::Write);
    });
    Ok(plain)
}

/// What rustls has to send, taken out under the lock.
fn pending_tls(conn: &mut ServerConnection) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out)?;
    }
    Ok(out)
}

fn decrypt(
    mut tcp: TcpStream,
    conn: &Mutex<ServerConnection>,
    tcp_out: &mut TcpStream,
    mut plain: &UnixStream,
) -> io::Result<()> {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        // rustls takes part of a read at a time: every byte read is fed.
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (data, records, failed) = {
                let mut g = conn.lock().map_err(|_| io::Error::other("poisoned"))?;
                g.read_tls(&mut rest)?;
                let failed = g.process_new_packets().err();
                let records = pending_tls(&mut g)?;
                let mut data = Vec::new();
                if failed.is_none() {
                    match g.reader().read_to_end(&mut data) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
                (data, records, failed)
            };
            // Socket writes happen with the lock released (an alert too).
            tcp_out.write_all(&records)?;
            if let Some(e) = failed {
                return Err(io::Error::other(e));
            }
            if !data.is_empty() {
                plain.write_all(&data)?;
            }
        }
    }
}
