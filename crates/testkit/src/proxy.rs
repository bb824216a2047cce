//! A hostile registry: a small HTTP/1.1 proxy on 127.0.0.1 in front of a real
//! registry that corrupts blob or manifest responses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Flip one byte in the middle of every blob body.
    FlipByte,
    /// Announce the full length, send half of a blob, close.
    Truncate,
    /// Announce more bytes than a blob has.
    LieLength,
    /// Serve a manifest asked for by digest with a body that hashes differently.
    WrongManifest,
    /// Cut the first blob response in half; pass everything after it through.
    TruncateOnce,
    /// Answer the first blob request with 503; pass everything after it through.
    UnavailableOnce,
    /// Answer the first PATCH (an upload chunk) with 503 without passing it on.
    UnavailablePatchOnce,
}

pub struct HostileProxy {
    addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HostileProxy {
    pub fn start(upstream: &str, fault: Fault) -> std::io::Result<HostileProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let s = stop.clone();
        let fired = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let up = upstream.clone();
                let fired = fired.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &up, fault, &fired);
                });
            }
        });
        Ok(HostileProxy {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }
}

impl Drop for HostileProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request or response head (up to the blank line).
fn read_head(r: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l)? == 0 {
            break;
        }
        let l = l.trim_end().to_string();
        if l.is_empty() {
            break;
        }
        lines.push(l);
    }
    Ok(lines)
}

fn content_length(head: &[String]) -> Option<usize> {
    head.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })
}

/// One request per connection: forward it, corrupt the answer, close.
fn serve(
    client: TcpStream,
    upstream: &str,
    fault: Fault,
    fired: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let head = read_head(&mut reader)?;
    let Some(request_line) = head.first().cloned() else {
        return Ok(());
    };
    let mut body = vec![0u8; content_length(&head).unwrap_or(0)];
    reader.read_exact(&mut body)?;
    let mut up = TcpStream::connect(upstream)?;
    if fault == Fault::UnavailablePatchOnce
        && request_line.starts_with("PATCH ")
        && !fired.swap(true, Ordering::SeqCst)
    {
        let mut c = client;
        c.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return c.shutdown(Shutdown::Both);
    }
    let mut out = format!("{request_line}\r\n");
    for h in &head[1..] {
        let k = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        if k != "connection" {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes())?;
    up.write_all(&body)?;
    let mut up_reader = BufReader::new(up);
    let resp_head = read_head(&mut up_reader)?;
    let mut resp_body = Vec::new();
    up_reader.read_to_end(&mut resp_body)?;

    let is_get = request_line.starts_with("GET ");
    let path = request_line.split(' ').nth(1).unwrap_or("");
    let blob = is_get && path.contains("/blobs/sha256:") && !resp_body.is_empty();
    let manifest_by_digest = is_get && path.contains("/manifests/sha256:");
    let mut announced = resp_body.len();
    let mut sent = resp_body.len();
    match fault {
        Fault::FlipByte if blob => {
            let n = resp_body.len() / 2;
            resp_body[n] ^= 0x01;
        }
        Fault::Truncate if blob => sent = resp_body.len() / 2,
        Fault::LieLength if blob => announced += 100,
        Fault::TruncateOnce if blob && !fired.swap(true, Ordering::SeqCst) => {
            sent = resp_body.len() / 2;
        }
        Fault::UnavailableOnce if blob && !fired.swap(true, Ordering::SeqCst) => {
            let mut c = client;
            c.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return c.shutdown(Shutdown::Both);
        }
        Fault::WrongManifest if manifest_by_digest => {
            resp_body.push(b'\n');
            announced = resp_body.len();
            sent = announced;
        }
        _ => {}
    }
    let mut c = client;
    let mut out = String::new();
    for h in &resp_head {
        let k = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        if k == "content-length" {
            out.push_str(&format!("Content-Length: {announced}\r\n"));
        } else if k != "connection" {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    if content_length(&resp_head).is_none() && !request_line.starts_with("HEAD ") {
        out.push_str(&format!("Content-Length: {announced}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    c.write_all(out.as_bytes())?;
    c.write_all(&resp_body[..sent])?;
    c.flush()?;
    c.shutdown(Shutdown::Both)
}
