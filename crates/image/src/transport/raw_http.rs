//! Blob bodies over plain HTTP/1.1 with large socket reads and writes.
//!
//! ureq moves bodies through an 8 KiB buffer: a 200 MB layer costs some 25 000
//! `recvfrom` or `sendto` calls, a measurable share of a copy from or to a
//! registry on this machine. For `http://` registries (local ones, mostly) the
//! blob GET and the monolithic PUT go through this small client instead; every
//! other request, and any answer it does not expect, stays with ureq.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Socket reads and writes in pieces of this size.
const IO_SIZE: usize = 1 << 20;
/// Response headers larger than this are refused.
const MAX_HEAD: usize = 64 << 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// A response's status line and the headers this client looks at.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub content_length: Option<u64>,
    pub chunked: bool,
    pub location: Option<String>,
}

/// A response body of known length read straight from the socket.
pub struct Body {
    stream: TcpStream,
    /// Body bytes that arrived with the headers.
    early: Vec<u8>,
    pos: usize,
    remaining: u64,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = if self.pos < self.early.len() {
            let n = want.min(self.early.len() - self.pos);
            buf[..n].copy_from_slice(&self.early[self.pos..self.pos + n]);
            self.pos += n;
            n
        } else {
            let n = self.stream.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed with {} bytes of the body unread",
                        self.remaining
                    ),
                ));
            }
            n
        };
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// `http://HOST[:PORT]/PATH` → (`HOST:PORT`, `/PATH`).
fn split_url(url: &str) -> Option<(String, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains('@') {
        return None;
    }
    let addr = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Some((addr, path))
}

fn connect(addr: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"));
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(Some(IO_TIMEOUT))?;
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Sends a request head; `None` when the URL is not plain `http://`.
fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Option<io::Result<TcpStream>> {
    let (addr, path) = split_url(url)?;
    Some((|| {
        let mut s = connect(&addr)?;
        let host = addr.strip_suffix(":80").unwrap_or(&addr);
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\nConnection: close\r\n"
        );
        for (k, v) in headers {
            if v.contains(['\r', '\n']) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "header with a line break",
                ));
            }
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        Ok(s)
    })())
}

/// Reads the response head; returns it with the body bytes read along with it.
fn read_head(s: &mut TcpStream) -> io::Result<(Head, Vec<u8>)> {
    let mut buf = Vec::with_capacity(16 << 10);
    let mut chunk = [0u8; 16 << 10];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response head too large",
            ));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response head is not text"))?;
    let head = parse_head(text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed response head"))?;
    Ok((head, buf[end + 4..].to_vec()))
}

fn parse_head(text: &str) -> Option<Head> {
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let mut head = Head {
        status,
        content_length: None,
        chunked: false,
        location: None,
    };
    for line in lines {
        let (k, v) = line.split_once(':')?;
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                let n = v.parse().ok()?;
                // Two different lengths: a smuggling attempt or a broken server.
                if head.content_length.is_some_and(|c| c != n) {
                    return None;
                }
                head.content_length = Some(n);
            }
            "transfer-encoding" => head.chunked = true,
            "location" => head.location = Some(v.to_string()),
            _ => {}
        }
    }
    Some(head)
}

/// GETs `url`. `Ok(Some)` only for a 200 with a plain body of known length;
/// `Ok(None)` for anything else (the caller asks again through ureq).
pub fn get(url: &str, headers: &[(&str, &str)]) -> io::Result<Option<Result<(Body, u64), u16>>> {
    let Some(s) = request("GET", url, headers) else {
        return Ok(None);
    };
    let mut s = s?;
    let (head, early) = read_head(&mut s)?;
    match (head.status, head.content_length, head.chunked) {
        (200, Some(len), false) if early.len() as u64 <= len => Ok(Some(Ok((
            Body {
                stream: s,
                early,
                pos: 0,
                remaining: len,
            },
            len,
        )))),
        (status, ..) => Ok(Some(Err(status))),
    }
}

/// PUTs `len` bytes of `body` to `url`; returns the response head and up to
/// 64 KiB of its body. `None` when the URL is not plain `http://`.
pub fn put(
    url: &str,
    headers: &[(&str, &str)],
    body: &mut dyn Read,
    len: u64,
) -> Option<io::Result<(Head, Vec<u8>)>> {
    let s = request("PUT", url, headers)?;
    Some((|| {
        let mut s = s?;
        let mut buf = vec![0u8; IO_SIZE];
        let mut sent = 0u64;
        while sent < len {
            let want = (len - sent).min(IO_SIZE as u64) as usize;
            let n = body.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "blob shorter than its size",
                ));
            }
            if let Err(e) = s.write_all(&buf[..n]) {
                // The server may have answered early (a refusal): read it.
                if let Ok(r) = read_response(&mut s) {
                    return Ok(r);
                }
                return Err(e);
            }
            sent += n as u64;
        }
        // The reader must end where the size says (it verifies the digest at EOF).
        if body.read(&mut buf[..1])? != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "blob longer than its size",
            ));
        }
        read_response(&mut s)
    })())
}

fn read_response(s: &mut TcpStream) -> io::Result<(Head, Vec<u8>)> {
    let (head, mut early) = read_head(s)?;
    let limit = head.content_length.unwrap_or(64 << 10).min(64 << 10) as usize;
    if early.len() < limit && !head.chunked {
        let mut rest = Vec::new();
        let _ = s.take((limit - early.len()) as u64).read_to_end(&mut rest);
        early.extend(rest);
    }
    early.truncate(limit);
    Ok((head, early))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_heads() {
        assert_eq!(
            split_url("http://127.0.0.1:5000/v2/a/blobs/x?y=1"),
            Some(("127.0.0.1:5000".into(), "/v2/a/blobs/x?y=1"))
        );
        assert_eq!(split_url("http://reg/v2/"), Some(("reg:80".into(), "/v2/")));
        assert_eq!(split_url("https://reg/v2/"), None);
        assert_eq!(split_url("http://u@reg/"), None);
        let h = parse_head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nDocker-Distribution-API-Version: registry/2.0").unwrap();
        assert_eq!(
            (h.status, h.content_length, h.chunked),
            (200, Some(12), false)
        );
        assert!(parse_head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2").is_none());
        assert!(parse_head("SSH-2.0 hello").is_none());
        assert!(parse_head("HTTP/1.1 200 OK\r\nno colon").is_none());
    }

    /// A one-shot server on loopback answering with `response`.
    fn serve(response: Vec<u8>) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut got = vec![0u8; 1 << 16];
            let n = c.read(&mut got).unwrap();
            c.write_all(&response).unwrap();
            got.truncate(n);
            got
        });
        (format!("http://{addr}/v2/x"), t)
    }

    #[test]
    fn get_reads_exactly_the_announced_body() {
        let (url, t) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec());
        let (mut body, len) = get(&url, &[("Authorization", "Bearer t")])
            .unwrap()
            .unwrap()
            .unwrap();
        let mut s = String::new();
        body.read_to_string(&mut s).unwrap();
        assert_eq!((len, s.as_str()), (5, "hello"));
        let req = String::from_utf8(t.join().unwrap()).unwrap();
        assert!(
            req.starts_with("GET /v2/x HTTP/1.1\r\n")
                && req.contains("Authorization: Bearer t\r\n"),
            "{req}"
        );
    }

    #[test]
    fn a_short_body_is_an_error_and_odd_answers_fall_back() {
        let (url, _t) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello".to_vec());
        let (mut body, _) = get(&url, &[]).unwrap().unwrap().unwrap();
        assert!(body.read_to_end(&mut Vec::new()).is_err());
        for (answer, status) in [
            (
                &b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://x/\r\nContent-Length: 0\r\n\r\n"
                    [..],
                307,
            ),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200),
            (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 401),
            (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 503),
        ] {
            let (url, _t) = serve(answer.to_vec());
            assert_eq!(get(&url, &[]).unwrap().unwrap().err(), Some(status));
        }
        assert!(get("https://example.invalid/", &[]).unwrap().is_none());
    }
}
