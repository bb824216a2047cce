//! HTTP/1.1 as the API needs it: one request at a time off a stream (headers
//! parsed by `httparse`, a body by Content-Length or chunked), answers with a
//! length or chunked. Every limit is checked before memory is taken: a client
//! is hostile until proven otherwise.

use std::io::{self, BufRead, BufReader, Read, Write};

/// Request heads over this are refused (431), as are more headers than this.
pub const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
/// JSON bodies over this are refused (413).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path without its query, percent-decoded.
    pub path: String,
    /// The path as sent (a segment may hold an encoded `/`).
    pub raw_path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter as Docker's clients send them (1/true).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("1" | "true" | "True" | "yes"))
    }

    /// Whether the client keeps the connection for another request.
    pub fn keep_alive(&self) -> bool {
        !self
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
    }
}

/// Why no request could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The client closed the connection between requests.
    #[error("connection closed")]
    Closed,
    #[error("request head over {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("request body over {MAX_BODY} bytes")]
    BodyTooLarge,
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl ReadError {
    /// The status the client is told, if it can still be told one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ReadError::HeadTooLarge => Some(431),
            ReadError::BodyTooLarge => Some(413),
            ReadError::Malformed(_) => Some(400),
            ReadError::Closed | ReadError::Io(_) => None,
        }
    }
}

/// Reads the next request; its body is read whole (at most [`MAX_BODY`]),
/// unless `streamed` says its handler reads it (a build context, an archive).
pub fn read_request<R: Read>(
    r: &mut BufReader<R>,
    streamed: impl Fn(&str, &str) -> bool,
) -> Result<Request, ReadError> {
    let head = read_head(r)?;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ReadError::Malformed("truncated head".into())),
        Err(e) => return Err(ReadError::Malformed(e.to_string())),
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let raw_path = path.to_string();
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| ReadError::Malformed("path is not UTF-8".into()))?
        .into_owned();
    let mut out = Request {
        method: req.method.unwrap_or("GET").to_string(),
        path,
        raw_path,
        query: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    if !streamed(&out.method, &out.path) {
        out.body = read_body(r, &out)?;
    }
    Ok(out)
}

/// A body its handler reads as it comes: by Content-Length or chunked.
pub struct BodyReader<'a, R: Read> {
    r: &'a mut BufReader<R>,
    chunked: bool,
    /// Bytes left: of the body, or of the current chunk.
    left: u64,
    done: bool,
}

impl<'a, R: Read> BodyReader<'a, R> {
    pub fn new(r: &'a mut BufReader<R>, req: &Request) -> Result<Self, ReadError> {
        let chunked = req
            .header("transfer-encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        let left = match req.header("content-length") {
            Some(v) if !chunked => v
                .trim()
                .parse()
                .map_err(|_| ReadError::Malformed(format!("Content-Length {v:?}")))?,
            _ => 0,
        };
        Ok(BodyReader {
            r,
            chunked,
            left,
            done: !chunked && left == 0,
        })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let mut line = String::new();
        self.r.by_ref().take(1024).read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        self.left = u64::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if self.left == 0 {
            self.done = true;
            loop {
                line.clear();
                let n = self.r.by_ref().take(MAX_HEAD as u64).read_line(&mut line)?;
                if n == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for BodyReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 && self.chunked {
            self.next_chunk()?;
            if self.done {
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left as usize);
        let n = self.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        if self.left == 0 {
            if self.chunked {
                let mut crlf = [0; 2];
                self.r.read_exact(&mut crlf)?;
            } else {
                self.done = true;
            }
        }
        Ok(n)
    }
}

/// The head up to and including the blank line.
fn read_head<R: Read>(r: &mut BufReader<R>) -> Result<Vec<u8>, ReadError> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r
            .by_ref()
            .take((MAX_HEAD - head.len()) as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(if head.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Malformed("connection closed inside the head".into())
            });
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Err(ReadError::HeadTooLarge);
        }
        // Blank lines before a request are allowed (RFC 9112 2.2).
        if line == b"\r\n" || line == b"\n" {
            if head.len() == line.len() {
                head.clear();
                continue;
            }
            return Ok(head);
        }
    }
}

fn read_body<R: Read>(r: &mut BufReader<R>, req: &Request) -> Result<Vec<u8>, ReadError> {
    if req
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        return read_chunked(r);
    }
    let len = match req.header("content-length") {
        None => return Ok(Vec::new()),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ReadError::Malformed(format!("Content-Length {v:?}")))?,
    };
    if len > MAX_BODY {
        return Err(ReadError::BodyTooLarge);
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked<R: Read>(r: &mut BufReader<R>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.by_ref().take(1024).read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| ReadError::Malformed(format!("chunk size {size:?}")))?;
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(ReadError::BodyTooLarge);
        }
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                line.clear();
                let n = r.by_ref().take(MAX_HEAD as u64).read_line(&mut line)?;
                if n == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        // Only what arrives takes memory (a chunk size alone commits nothing).
        let got = r.by_ref().take(size as u64).read_to_end(&mut body)?;
        if got < size {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf)?;
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "UPGRADED",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "",
    }
}

static CORS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `--cors ORIGIN`: every answer allows that origin (browsers' cross-origin calls).
pub fn set_cors(origin: &str) {
    let _ = CORS.set(origin.to_string());
}

/// The headers every answer carries: Docker clients read the API version off them.
fn common_headers(w: &mut dyn Write) -> io::Result<()> {
    if let Some(origin) = CORS.get() {
        write!(
            w,
            "Access-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Headers: *\r\nAccess-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE, OPTIONS\r\n"
        )?;
    }
    write!(
        w,
        "Api-Version: {}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Libpod/{} (linux)\r\nLibpod-Api-Version: {}\r\n",
        crate::DOCKER_API_VERSION,
        crate::LIBPOD_API_VERSION,
        crate::LIBPOD_API_VERSION,
    )
}

/// A whole answer with its length.
pub fn respond(w: &mut dyn Write, status: u16, content_type: &str, body: &[u8]) -> io::Result<()> {
    // One write a small answer: the head and body are put together first.
    let mut out = Vec::with_capacity(256 + body.len());
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    common_headers(&mut out)?;
    if status != 204 && status != 304 {
        write!(
            out,
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        )?;
    }
    out.extend_from_slice(b"\r\n");
    if status != 204 && status != 304 {
        out.extend_from_slice(body);
    }
    w.write_all(&out)?;
    w.flush()
}

/// An answer streamed in chunks: each `write` is a chunk; `finish` ends it.
pub struct Chunked<'a> {
    w: &'a mut dyn Write,
}

impl<'a> Chunked<'a> {
    pub fn start(w: &'a mut dyn Write, status: u16, content_type: &str) -> io::Result<Self> {
        Self::start_with(w, status, content_type, &[])
    }

    /// [`Self::start`] with more headers.
    pub fn start_with(
        w: &'a mut dyn Write,
        status: u16,
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> io::Result<Self> {
        let mut head = Vec::with_capacity(256);
        write!(head, "HTTP/1.1 {status} {}\r\n", reason(status))?;
        common_headers(&mut head)?;
        for (k, v) in extra {
            write!(head, "{k}: {v}\r\n")?;
        }
        write!(
            head,
            "Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )?;
        w.write_all(&head)?;
        w.flush()?;
        Ok(Chunked { w })
    }

    /// Goes on with a stream whose head was sent already.
    pub fn resume(w: &'a mut dyn Write) -> Self {
        Chunked { w }
    }

    /// One JSON value and a newline, as one chunk (a streamed progress line).
    pub fn json_line(&mut self, v: &serde_json::Value) -> io::Result<()> {
        let mut line = serde_json::to_vec(v).map_err(io::Error::other)?;
        line.push(b'\n');
        self.write_all(&line)
    }

    pub fn finish(self) -> io::Result<()> {
        self.w.write_all(b"0\r\n\r\n")?;
        self.w.flush()
    }

    /// The stream's last JSON line and its end: the connection stays open
    /// for another request unless writing failed.
    pub fn end_with(mut self, last: &serde_json::Value) -> crate::reply::Reply {
        let ok = self.json_line(last).is_ok() && self.finish().is_ok();
        crate::reply::Reply::Written(if ok {
            crate::reply::Done::KeepOpen
        } else {
            crate::reply::Done::Close
        })
    }
}

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut chunk = Vec::with_capacity(buf.len() + 12);
        write!(chunk, "{:x}\r\n", buf.len())?;
        chunk.extend_from_slice(buf);
        chunk.extend_from_slice(b"\r\n");
        self.w.write_all(&chunk)?;
        // Followers of a stream see each piece as it comes.
        self.w.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Result<Request, ReadError> {
        read_request(&mut BufReader::new(raw), |_, _| false)
    }

    #[test]
    fn a_request_with_query_and_body() {
        let r = read(b"POST /v1.41/containers/create?name=a%20b&x=1 HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1.41/containers/create");
        assert_eq!(r.param("name"), Some("a b"));
        assert!(r.flag("x"));
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn a_streamed_body_is_read_as_it_comes() {
        let raw = b"POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /next";
        let mut r = BufReader::new(&raw[..]);
        let req = read_request(&mut r, |_, p| p == "/build").unwrap();
        let mut body = String::new();
        BodyReader::new(&mut r, &req)
            .unwrap()
            .read_to_string(&mut body)
            .unwrap();
        assert_eq!(body, "abcde");
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "GET /next");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let r = read(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, b"abcde");
    }

    #[test]
    fn hostile_sizes_are_refused_before_they_are_read() {
        let big = format!(
            "POST /x HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(read(big.as_bytes()), Err(ReadError::BodyTooLarge)));
        let chunk = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n";
        assert!(matches!(
            read(chunk.as_bytes()),
            Err(ReadError::BodyTooLarge)
        ));
        let mut head = b"GET /x HTTP/1.1\r\nX: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        assert!(matches!(read(&head), Err(ReadError::HeadTooLarge)));
        assert!(matches!(
            read(b"GARBAGE\r\n\r\n"),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(read(b""), Err(ReadError::Closed)));
    }
}
