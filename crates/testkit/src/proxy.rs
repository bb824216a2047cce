//! A hostile registry: a small HTTP/1.1 proxy on 127.0.0.1 in front of a real
//! registry that corrupts blob or manifest responses.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Answer the first N blob requests with 503; pass everything after them through.
    Unavailable(usize),
    /// Answer the first PATCH (an upload chunk) with 503 without passing it on.
    UnavailablePatchOnce,
    /// Answer the first blob PUT (a monolithic upload) with 503 without passing it on.
    UnavailablePutOnce,
    /// No fault: a token server in front of an open registry. `/v2/` requests
    /// without the bearer token get 401 and a `Bearer` challenge whose realm is
    /// the proxy's own `/token`, which hands the token out for basic
    /// credentials `user:pass`.
    Bearer,
    /// Send every blob body a KiB at a time, 20 ms apart (a slow registry).
    Trickle,
    /// Answer every blob GET with a redirect to `file:///etc/shadow`.
    RedirectToFile,
    /// No fault: pass everything through (the request log is the point).
    None,
}

/// The bearer token [`Fault::Bearer`] issues.
pub const BEARER_TOKEN: &str = "berth-test-token";

/// What the proxy saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `METHOD PATH`.
    pub line: String,
    /// Its headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct HostileProxy {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
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
        let state = Arc::new(State {
            fault,
            upstream,
            addr: addr.clone(),
            fired: AtomicUsize::new(0),
        });
        let st = state.clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &st, &log);
                });
            }
        });
        drop(state);
        Ok(HostileProxy {
            addr,
            seen,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The requests received so far, in the order they arrived. A request is
    /// logged as soon as it is read, before it is answered, so that a client
    /// that has its answer finds its request here (no race with the thread
    /// that serves it).
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

struct State {
    fault: Fault,
    upstream: String,
    addr: String,
    /// How many times the fault has fired.
    fired: AtomicUsize,
}

impl State {
    /// True the first `n` times it is asked.
    fn fire(&self, n: usize) -> bool {
        self.fired.fetch_add(1, Ordering::SeqCst) < n
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

fn respond(
    client: TcpStream,
    status: &str,
    headers: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    let mut c = client;
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    c.write_all(out.as_bytes())?;
    c.write_all(body)?;
    c.shutdown(Shutdown::Both)
}

const UNAVAILABLE: &str = "503 Service Unavailable";

/// The token server and gate of [`Fault::Bearer`]; `Some` when it answered.
fn bearer_gate(
    client: &TcpStream,
    st: &State,
    path: &str,
    seen: &Seen,
) -> std::io::Result<Option<()>> {
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("user:pass")
    );
    if path.starts_with("/token") {
        let c = client.try_clone()?;
        if seen.header("authorization") == Some(basic.as_str()) {
            let body = format!("{{\"token\":\"{BEARER_TOKEN}\",\"expires_in\":300}}");
            respond(
                c,
                "200 OK",
                &["Content-Type: application/json".into()],
                body.as_bytes(),
            )?;
        } else {
            respond(c, "401 Unauthorized", &[], b"")?;
        }
        return Ok(Some(()));
    }
    let bearer = format!("Bearer {BEARER_TOKEN}");
    if path.starts_with("/v2/") && seen.header("authorization") != Some(bearer.as_str()) {
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"http://{}/token\",service=\"berth-test\"",
            st.addr
        );
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        respond(client.try_clone()?, "401 Unauthorized", &[challenge], body)?;
        return Ok(Some(()));
    }
    Ok(None)
}

/// One request per connection: log it, forward it, corrupt the answer, close.
/// Returns what it saw of the request.
fn serve(client: TcpStream, st: &State, log: &Mutex<Vec<Seen>>) -> std::io::Result<Option<Seen>> {
    let mut reader = BufReader::new(client.try_clone()?);
    let head = read_head(&mut reader)?;
    let Some(request_line) = head.first().cloned() else {
        return Ok(None);
    };
    let seen = Seen {
        line: request_line
            .rsplit_once(' ')
            .map_or(request_line.as_str(), |(l, _)| l)
            .to_string(),
        headers: head[1..]
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
    };
    log.lock().expect("log").push(seen.clone());
    let mut body = vec![0u8; content_length(&head).unwrap_or(0)];
    reader.read_exact(&mut body)?;
    let fault = st.fault;
    let is_get = request_line.starts_with("GET ");
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    if fault == Fault::Bearer && bearer_gate(&client, st, &path, &seen)?.is_some() {
        return Ok(Some(seen));
    }
    if fault == Fault::UnavailablePatchOnce && request_line.starts_with("PATCH ") && st.fire(1) {
        respond(client, UNAVAILABLE, &[], b"")?;
        return Ok(Some(seen));
    }
    if fault == Fault::UnavailablePutOnce
        && request_line.starts_with("PUT ")
        && path.contains("/blobs/uploads/")
        && st.fire(1)
    {
        respond(client, UNAVAILABLE, &[], b"")?;
        return Ok(Some(seen));
    }
    if fault == Fault::RedirectToFile && is_get && path.contains("/blobs/sha256:") {
        let to = ["Location: file:///etc/shadow".to_string()];
        respond(client, "307 Temporary Redirect", &to, b"")?;
        return Ok(Some(seen));
    }
    if let Fault::Unavailable(n) = fault
        && is_get
        && path.contains("/blobs/sha256:")
        && st.fire(n)
    {
        respond(client, UNAVAILABLE, &[], b"")?;
        return Ok(Some(seen));
    }
    let mut up = TcpStream::connect(&st.upstream)?;
    let mut out = format!("{request_line}\r\n");
    for h in &head[1..] {
        let k = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        // The registry behind a bearer gate is open: the token stays here.
        let drop = k == "connection" || (fault == Fault::Bearer && k == "authorization");
        if !drop {
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
        Fault::TruncateOnce if blob && st.fire(1) => {
            sent = resp_body.len() / 2;
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
    if fault == Fault::Trickle && blob {
        for chunk in resp_body[..sent].chunks(1024) {
            // The client gone (it gave up): done.
            if c.write_all(chunk).and_then(|()| c.flush()).is_err() {
                return Ok(Some(seen));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    } else {
        c.write_all(&resp_body[..sent])?;
    }
    c.flush()?;
    c.shutdown(Shutdown::Both)?;
    Ok(Some(seen))
}
