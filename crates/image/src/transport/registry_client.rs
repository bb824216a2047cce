// ureq's error type is large; it is handled at once, never stored.
#![allow(clippy::result_large_err)]
//! A client of the registry HTTP API v2 (the OCI distribution spec): ping, bearer and
//! basic auth, TLS settings, retries with backoff, resumable blob reads, uploads.
//! Blocking I/O on a pooled agent: blobs are copied on a few threads, which keeps the
//! copy path free of an async runtime while still overlapping transfers.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use crate::auth::Credentials;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::transport::raw_http;

const USER_AGENT: &str = concat!("berth/", env!("CARGO_PKG_VERSION"));
const DEFAULT_RETRIES: u32 = 3;

/// How a registry wants to be authenticated, learnt from its `WWW-Authenticate`.
#[derive(Clone, Debug, PartialEq)]
enum Challenge {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// TLS and endpoint settings for one registry.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// Verify certificates; when false, plain HTTP is tried after HTTPS fails.
    pub verify: bool,
    /// Directories with `*.crt` CAs and `*.cert`/`*.key` client pairs.
    pub cert_dirs: Vec<PathBuf>,
}

pub struct Client {
    agent: ureq::Agent,
    /// `https://host` or `http://host`.
    base: String,
    registry: String,
    creds: Option<Credentials>,
    challenge: Challenge,
    tokens: Mutex<HashMap<String, String>>,
    retries: u32,
    /// `--retry-delay`: the pause between attempts instead of the growing one.
    retry_delay: Option<Duration>,
    /// A token given by the user (`--registry-token`), sent where the
    /// registry asks for a bearer token instead of fetching one.
    bearer_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Option<Vec<ErrorEntry>>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

/// A registry's answer to a request that failed.
#[derive(Debug)]
pub struct Failure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Failure {
    /// What the registry said, as containers/image words it: its error code
    /// in words and its message (`manifest unknown: manifest unknown`), or
    /// the HTTP status when it said nothing more.
    pub fn said(&self) -> String {
        match self.code.as_str() {
            "" => format!(
                "invalid status code from registry {} ({})",
                self.status,
                status_text(self.status)
            ),
            code => format!(
                "{}: {}",
                code.to_ascii_lowercase().replace('_', " "),
                self.message
            ),
        }
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

impl Client {
    /// Connects to `registry` (host[:port]), finding its scheme and auth challenge.
    pub fn connect(
        registry: &str,
        creds: Option<Credentials>,
        tls: &TlsSettings,
        retries: Option<u32>,
    ) -> Result<Client> {
        let agent = build_agent(tls, registry)?;
        let host = api_host(registry);
        let mut client = Client {
            agent,
            base: format!("https://{host}"),
            registry: registry.to_string(),
            creds,
            challenge: Challenge::None,
            tokens: Mutex::new(HashMap::new()),
            retries: retries.unwrap_or(DEFAULT_RETRIES),
            retry_delay: None,
            bearer_token: None,
        };
        let mut attempt = 0;
        client.challenge = loop {
            match client.handshake(host, tls.verify) {
                // Unreachable or unwell (refused, 5xx): tried again as
                // skopeo's --retry-times tries its whole operation again.
                Err(e) if e.is_transient() && attempt < client.retries => {
                    attempt += 1;
                    let delay = backoff_delay(attempt);
                    log::warn!(
                        "Failed, retrying in {delay:?} ... ({attempt}/{}). Error: {e}",
                        client.retries
                    );
                    std::thread::sleep(delay);
                }
                other => break other?,
            }
        };
        Ok(client)
    }

    /// The registry's auth challenge, over HTTPS or, without TLS
    /// verification, plain HTTP when HTTPS fails.
    fn handshake(&mut self, host: &str, verify: bool) -> Result<Challenge> {
        self.base = format!("https://{host}");
        match self.ping() {
            Err(e) if !verify => {
                self.base = format!("http://{host}");
                self.ping().map_err(|e2| match e2 {
                    Error::Registry { .. } | Error::Transient { .. } => e2,
                    _ => e,
                })
            }
            other => other,
        }
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    fn ping(&self) -> Result<Challenge> {
        let url = format!("{}/v2/", self.base);
        // One attempt: `connect` tries the handshake again, plain HTTP too.
        let resp = follow(
            &self.agent,
            self.agent.get(&url).set("User-Agent", USER_AGENT),
        );
        match resp {
            Ok(_) => Ok(Challenge::None),
            Err(ureq::Error::Status(401, r)) => Ok(parse_challenge(r.header("WWW-Authenticate"))),
            Err(ureq::Error::Status(code, r)) => Err(self.failure_error(&url, failure(code, r))),
            Err(ureq::Error::Transport(t)) => {
                let message = transport_message(&t);
                if unreachable(&t) {
                    Err(Error::Transient { url, message })
                } else {
                    Err(Error::Registry { url, message })
                }
            }
        }
    }

    /// Verifies that the credentials are accepted (`berth login`).
    pub fn check_login(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        match self.send("GET", &url, &[], &[], Body::Empty) {
            Ok(_) => Ok(()),
            Err(SendError::Status(f)) if f.status == 401 => Err(Error::Unauthorized {
                registry: self.registry.clone(),
                message: "invalid username/password".into(),
            }),
            Err(e) => Err(self.send_error(&url, e)),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Resolves a `Location` header against the registry's base URL.
    pub fn resolve(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            format!("{}/{location}", self.base)
        }
    }

    /// Sends a request with auth for `scopes`, retrying transient failures when the
    /// body can be sent again.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        scopes: &[String],
        headers: &[(&str, String)],
        body: Body<'_>,
    ) -> Result<ureq::Response, SendError> {
        let mut body = Some(body);
        let mut reauthed = false;
        let mut attempt = 0;
        loop {
            let mut req = self
                .agent
                .request(method, url)
                .set("User-Agent", USER_AGENT);
            for (k, v) in headers {
                req = req.set(k, v);
            }
            if let Some(a) = self
                .authorization(scopes, false)
                .map_err(SendError::Other)?
            {
                req = req.set("Authorization", &a);
            }
            let b = body.take().expect("body present");
            let retryable = b.replayable();
            let (result, rest) = b.send(&self.agent, req);
            body = rest;
            match result {
                Ok(r) => return Ok(r),
                Err(ureq::Error::Status(401, r)) if !reauthed && body.is_some() => {
                    // The token lacks a scope the registry wants: ask for what it names.
                    reauthed = true;
                    let wanted = parse_scope(r.header("WWW-Authenticate"));
                    let mut s = scopes.to_vec();
                    s.extend(wanted);
                    self.authorization(&s, true).map_err(SendError::Other)?;
                    if let Some(t) = self
                        .tokens
                        .lock()
                        .expect("lock")
                        .get(&scope_key(&s))
                        .cloned()
                    {
                        self.tokens
                            .lock()
                            .expect("lock")
                            .insert(scope_key(scopes), t);
                    }
                }
                Err(ureq::Error::Status(code, r)) => {
                    if code >= 500 && retryable && body.is_some() && attempt < self.retries {
                        attempt += 1;
                        self.pause(attempt);
                        continue;
                    }
                    return Err(SendError::Status(failure(code, r)));
                }
                Err(ureq::Error::Transport(t)) => {
                    if retryable && body.is_some() && attempt < self.retries {
                        attempt += 1;
                        self.pause(attempt);
                        continue;
                    }
                    return Err(SendError::Transport(transport_message(&t)));
                }
            }
        }
    }

    /// Turns a failed send into an error naming the URL.
    pub fn send_error(&self, url: &str, e: SendError) -> Error {
        match e {
            SendError::Status(f) => self.failure_error(url, f),
            SendError::Transport(m) => Error::Transient {
                url: url.to_string(),
                message: m,
            },
            SendError::Other(e) => e,
        }
    }

    fn failure_error(&self, url: &str, f: Failure) -> Error {
        if f.status == 401 || f.status == 403 {
            let code = match (f.code.as_str(), f.status) {
                ("", 401) => "unauthorized".to_string(),
                ("", _) => "denied".to_string(),
                (c, _) => c.to_ascii_lowercase(),
            };
            let message = match f.message.as_str() {
                "" if f.status == 401 => "authentication required".to_string(),
                "" => format!("status {}", f.status),
                m => m.to_string(),
            };
            return Error::Unauthorized {
                registry: self.registry.clone(),
                message: format!("{code}: {message}"),
            };
        }
        let message = if f.message.is_empty() {
            format!("status {}", f.status)
        } else {
            format!("{} ({}, status {})", f.message, f.code, f.status)
        };
        let url = url.to_string();
        if f.status >= 500 {
            Error::Transient { url, message }
        } else {
            Error::Registry { url, message }
        }
    }

    fn with_retries<T>(
        &self,
        retry_transport: bool,
        mut f: impl FnMut() -> Result<T, ureq::Error>,
    ) -> Result<T, ureq::Error> {
        let mut attempt = 0;
        loop {
            match f() {
                Err(ureq::Error::Status(code, _)) if code >= 500 && attempt < self.retries => {}
                Err(ureq::Error::Transport(ref t))
                    if retry_transport
                        && attempt < self.retries
                        && t.kind() != ureq::ErrorKind::ConnectionFailed => {}
                other => return other,
            }
            attempt += 1;
            self.pause(attempt);
        }
    }

    /// The pause before attempt `attempt` again: `--retry-delay`'s, else the
    /// growing one.
    fn pause(&self, attempt: u32) {
        match self.retry_delay {
            Some(d) => std::thread::sleep(d),
            None => backoff(attempt),
        }
    }

    /// The client pausing `delay` between attempts (`--retry-delay`).
    pub fn with_retry_delay(mut self, delay: Option<Duration>) -> Client {
        self.retry_delay = delay;
        self
    }

    /// The client sending `token` where a bearer token is asked for.
    pub fn with_bearer_token(mut self, token: Option<String>) -> Client {
        self.bearer_token = token;
        self
    }

    /// The `Authorization` header value for these scopes, fetching a token if needed.
    fn authorization(&self, scopes: &[String], refresh: bool) -> Result<Option<String>> {
        match &self.challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(self.creds.as_ref().map(basic_header)),
            Challenge::Bearer { .. } if self.bearer_token.is_some() => {
                Ok(self.bearer_token.as_ref().map(|t| format!("Bearer {t}")))
            }
            Challenge::Bearer { realm, service } => {
                let key = scope_key(scopes);
                if !refresh && let Some(t) = self.tokens.lock().expect("lock").get(&key) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let token = self.fetch_token(realm, service.as_deref(), scopes)?;
                self.tokens.lock().expect("lock").insert(key, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    fn fetch_token(&self, realm: &str, service: Option<&str>, scopes: &[String]) -> Result<String> {
        let mut req = self.agent.get(realm).set("User-Agent", USER_AGENT);
        if let Some(s) = service {
            req = req.query("service", s);
        }
        for s in scopes {
            req = req.query("scope", s);
        }
        if let Some(c) = &self.creds {
            req = req.set("Authorization", &basic_header(c));
        }
        let resp = self
            .with_retries(true, || follow(&self.agent, req.clone()))
            .map_err(|e| match e {
                ureq::Error::Status(401 | 403, _) => Error::Unauthorized {
                    registry: self.registry.clone(),
                    message: "unable to retrieve auth token: invalid username/password: unauthorized: authentication required".into(),
                },
                ureq::Error::Status(code, _) => Error::Registry {
                    url: realm.to_string(),
                    message: format!("token request failed with status {code}"),
                },
                ureq::Error::Transport(t) => Error::Registry {
                    url: realm.to_string(),
                    message: transport_message(&t),
                },
            })?;
        let mut text = String::new();
        resp.into_reader()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(Error::Stream)?;
        let t: TokenResponse = serde_json::from_str(&text).map_err(|e| Error::Registry {
            url: realm.to_string(),
            message: format!("invalid token response: {e}"),
        })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Registry {
                url: realm.to_string(),
                message: "token response holds no token".into(),
            })
    }

    /// Streams a blob, resuming with `Range` when the connection drops.
    pub fn get_blob(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> Result<(Box<dyn Read + Send>, Option<u64>)> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let scopes = vec![pull_scope(repo)];
        if let Some((body, size)) = self.get_raw_retrying(&url, &scopes)? {
            return Ok((
                Box::new(ResumingReader {
                    agent: self.agent.clone(),
                    authorization: self.authorization(&scopes, false)?,
                    url,
                    inner: Some(Box::new(body)),
                    offset: 0,
                    resumes: 0,
                    max_resumes: self.retries,
                }),
                Some(size),
            ));
        }
        let resp = self
            .send("GET", &url, &scopes, &[], Body::Empty)
            .map_err(|e| match e {
                SendError::Status(f) if f.status == 404 => Error::BlobNotFound {
                    what: format!("{}/{repo}", self.registry),
                    digest: digest.clone(),
                },
                e => self.send_error(&url, e),
            })?;
        let size = resp.header("Content-Length").and_then(|v| v.parse().ok());
        let authorization = self.authorization(&scopes, false)?;
        Ok((
            Box::new(ResumingReader {
                agent: self.agent.clone(),
                authorization,
                url,
                inner: Some(resp.into_reader()),
                offset: 0,
                resumes: 0,
                max_resumes: self.retries,
            }),
            size,
        ))
    }
}

impl Client {
    fn raw_headers<'a>(&self, auth: &'a Option<String>) -> Vec<(&'static str, &'a str)> {
        let mut h = vec![("User-Agent", USER_AGENT)];
        if let Some(a) = auth {
            h.push(("Authorization", a.as_str()));
        }
        h
    }

    /// A blob GET through [`raw_http`] for `http://` registries, a 5xx or a
    /// dropped connection tried again (with backoff) up to the retry count;
    /// `None` when the answer is something else than a plain 200 (an auth
    /// challenge, a redirect: then ureq asks again).
    fn get_raw_retrying(
        &self,
        url: &str,
        scopes: &[String],
    ) -> Result<Option<(raw_http::Body, u64)>> {
        if !url.starts_with("http://") {
            return Ok(None);
        }
        let auth = self.authorization(scopes, false)?;
        let mut attempt = 0;
        loop {
            let why = match raw_http::get(url, &self.raw_headers(&auth)) {
                Ok(Some(Ok(body))) => return Ok(Some(body)),
                Ok(Some(Err(status))) if status >= 500 => format!("status {status}"),
                Ok(_) => return Ok(None),
                Err(e) => e.to_string(),
            };
            if attempt >= self.retries {
                return Err(Error::Transient {
                    url: url.to_string(),
                    message: format!("{why} after {attempt} retries"),
                });
            }
            attempt += 1;
            self.pause(attempt);
        }
    }

    /// A PUT of a `len`-byte body through [`raw_http`]; `None` when `url` is not
    /// plain `http://`.
    pub fn put_raw(
        &self,
        url: &str,
        scopes: &[String],
        headers: &[(&str, String)],
        body: &mut dyn Read,
        len: u64,
    ) -> Option<std::result::Result<(), SendError>> {
        if !url.starts_with("http://") {
            return None;
        }
        let auth = match self.authorization(scopes, false) {
            Ok(a) => a,
            Err(e) => return Some(Err(SendError::Other(e))),
        };
        let mut h = self.raw_headers(&auth);
        h.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
        Some(match raw_http::put(url, &h, body, len)? {
            Ok((head, _)) if (200..300).contains(&head.status) => Ok(()),
            Ok((head, text)) => Err(SendError::Status(failure_from_text(
                head.status,
                &String::from_utf8_lossy(&text),
            ))),
            Err(e) => Err(SendError::Transport(e.to_string())),
        })
    }
}

/// A blob body that picks up where it broke off.
struct ResumingReader {
    agent: ureq::Agent,
    authorization: Option<String>,
    url: String,
    inner: Option<Box<dyn Read + Send + Sync>>,
    offset: u64,
    resumes: u32,
    max_resumes: u32,
}

impl ResumingReader {
    fn reopen(&mut self) -> io::Result<()> {
        let mut req = self
            .agent
            .get(&self.url)
            .set("User-Agent", USER_AGENT)
            .set("Range", &format!("bytes={}-", self.offset));
        if let Some(a) = &self.authorization {
            req = req.set("Authorization", a);
        }
        let resp = follow(&self.agent, req)
            .map_err(|e| io::Error::other(format!("{}: resuming: {e}", self.url)))?;
        let full = resp.status() == 200;
        let mut reader = resp.into_reader();
        if full {
            // The server ignored the range: skip what we have already.
            let skipped = io::copy(&mut (&mut reader).take(self.offset), &mut io::sink())?;
            if skipped != self.offset {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{}: blob shorter on retry", self.url),
                ));
            }
        }
        self.inner = Some(reader);
        Ok(())
    }
}

impl Read for ResumingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.inner.is_none() {
                self.reopen()?;
            }
            let r = self.inner.as_mut().expect("reader").read(buf);
            match r {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if is_resumable(&e) && self.resumes < self.max_resumes => {
                    self.resumes += 1;
                    self.inner = None;
                    backoff(self.resumes);
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("{}: reading blob: {e}", self.url),
                    ));
                }
            }
        }
    }
}

fn is_resumable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::TimedOut
    )
}

/// A request body: none, bytes (replayable on retry), or a one-shot stream.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Stream(&'a mut dyn Read),
}

impl<'a> Body<'a> {
    fn replayable(&self) -> bool {
        !matches!(self, Body::Stream(_))
    }

    fn send(
        self,
        agent: &ureq::Agent,
        req: ureq::Request,
    ) -> (Result<ureq::Response, ureq::Error>, Option<Body<'a>>) {
        match self {
            Body::Empty => (follow(agent, req), Some(Body::Empty)),
            Body::Bytes(b) => (req.send_bytes(b), Some(Body::Bytes(b))),
            Body::Stream(r) => (req.send(r), None),
        }
    }
}

#[derive(Debug)]
pub enum SendError {
    Status(Failure),
    Transport(String),
    Other(Error),
}

fn failure(status: u16, resp: ureq::Response) -> Failure {
    let mut text = String::new();
    let _ = resp.into_reader().take(64 << 10).read_to_string(&mut text);
    failure_from_text(status, &text)
}

fn failure_from_text(status: u16, text: &str) -> Failure {
    let body: Option<ErrorBody> = serde_json::from_str(text).ok();
    let first = body.and_then(|b| b.errors).and_then(|mut e| {
        if e.is_empty() {
            None
        } else {
            Some(e.remove(0))
        }
    });
    match first {
        Some(e) => Failure {
            status,
            code: e.code.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
        },
        None => Failure {
            status,
            code: String::new(),
            message: String::new(),
        },
    }
}

fn transport_message(t: &ureq::Transport) -> String {
    let mut m = t.kind().to_string();
    if let Some(msg) = t.message() {
        m = format!("{m}: {msg}");
    }
    if let Some(src) = std::error::Error::source(t) {
        let s = src.to_string();
        if !m.contains(&s) {
            m = format!("{m}: {s}");
        }
    }
    if m.contains("InvalidContentType") {
        m.push_str(" (the server speaks plain HTTP; use --tls-verify=false)");
    }
    m.replace('\n', " ")
}

/// Whether nothing answered (refused, reset, timed out, no route): a
/// failure that may pass, which containers/common retries; a TLS failure
/// is not one.
fn unreachable(t: &ureq::Transport) -> bool {
    use std::io::ErrorKind as K;
    let io = std::error::Error::source(t).and_then(|e| e.downcast_ref::<std::io::Error>());
    t.kind() == ureq::ErrorKind::ConnectionFailed
        && io.is_some_and(|e| {
            matches!(
                e.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::TimedOut
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::NetworkDown
            )
        })
}

fn backoff(attempt: u32) {
    std::thread::sleep(backoff_delay(attempt));
}

/// Exponential backoff between retries of a failed request: 100 ms, 200 ms, 400 ms …
fn backoff_delay(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(6))
}

fn basic_header(c: &Credentials) -> String {
    format!(
        "Basic {}",
        B64.encode(format!("{}:{}", c.username, c.password))
    )
}

pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

pub fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

fn scope_key(scopes: &[String]) -> String {
    let mut s = scopes.to_vec();
    s.sort();
    s.dedup();
    s.join(" ")
}

/// Docker Hub's API lives on another host than its name.
fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

fn parse_challenge(h: Option<&str>) -> Challenge {
    let Some(h) = h else {
        return Challenge::Basic;
    };
    let (scheme, params) = h.split_once(' ').unwrap_or((h, ""));
    let params = parse_params(params);
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => match params.get("realm") {
            Some(realm) => Challenge::Bearer {
                realm: realm.clone(),
                service: params.get("service").cloned(),
            },
            None => Challenge::Basic,
        },
        _ => Challenge::Basic,
    }
}

fn parse_scope(h: Option<&str>) -> Vec<String> {
    let Some(h) = h else { return Vec::new() };
    let (_, params) = h.split_once(' ').unwrap_or((h, ""));
    parse_params(params)
        .get("scope")
        .map(|s| s.split(' ').map(str::to_string).collect())
        .unwrap_or_default()
}

/// `key="value",key2="v2"` as in WWW-Authenticate.
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let key = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.insert(key, value.to_string());
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// Builds the HTTP agent with TLS settings for the registry. It follows no
/// redirect itself: [`follow`] does, checking each.
fn build_agent(tls: &TlsSettings, registry: &str) -> Result<ureq::Agent> {
    let config = crate::transport::tls::client_config(tls, registry)?;
    Ok(ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(300))
        .max_idle_connections_per_host(16)
        .redirects(0)
        .build())
}

/// Redirects a body-less request follows at most.
const MAX_REDIRECTS: usize = 5;

/// Sends a body-less request (GET, HEAD) on `agent`, following its
/// redirects (at most [`MAX_REDIRECTS`]) as the HTTP library would, but each
/// `Location` checked first: only an http(s) address with a host is taken (a
/// hostile registry's `file:///etc/shadow` made the library panic), and the
/// credentials are not sent on to it.
pub(crate) fn follow(
    agent: &ureq::Agent,
    req: ureq::Request,
) -> std::result::Result<ureq::Response, ureq::Error> {
    let method = req.method().to_string();
    // What goes on to the next address: every header but the credentials.
    let headers: Vec<(String, String)> = req
        .header_names()
        .into_iter()
        .filter(|n| !n.eq_ignore_ascii_case("authorization"))
        .filter_map(|n| req.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut req = req;
    for hop in 0..=MAX_REDIRECTS {
        let resp = req.call()?;
        let location = match resp.status() {
            301 | 302 | 303 | 307 | 308 => resp.header("Location").map(str::to_string),
            _ => None,
        };
        let Some(location) = location else {
            return Ok(resp);
        };
        if hop == MAX_REDIRECTS {
            return Err(refused(&location, "too many redirects"));
        }
        let next = url::Url::parse(resp.get_url())
            .and_then(|u| u.join(&location))
            .map_err(|e| refused(&location, &e.to_string()))?;
        if !matches!(next.scheme(), "http" | "https") || next.host_str().is_none() {
            return Err(refused(&location, "not an http or https address"));
        }
        req = agent.request(&method, next.as_str());
        for (k, v) in &headers {
            req = req.set(k, v);
        }
    }
    unreachable!("the loop returns")
}

/// A redirect [`follow`] does not take, as a registry's error answer.
fn refused(location: &str, why: &str) -> ureq::Error {
    let location: String = location.chars().take(200).collect();
    let body = serde_json::json!({"errors": [{
        "code": "REDIRECT",
        "message": format!("refused redirect to {location}: {why}"),
    }]});
    match ureq::Response::new(400, "Bad Request", &body.to_string()) {
        Ok(r) => ureq::Error::Status(400, r),
        Err(e) => e,
    }
}

/// Certificate directories for a registry: the user's `--cert-dir`, else
/// `/etc/containers/certs.d/HOST` and `/etc/docker/certs.d/HOST`.
pub fn cert_dirs(registry: &str, explicit: Option<&Path>) -> Vec<PathBuf> {
    match explicit {
        Some(d) => vec![d.to_path_buf()],
        None => vec![
            PathBuf::from("/etc/containers/certs.d").join(registry),
            PathBuf::from("/etc/docker/certs.d").join(registry),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_bearer_token_is_sent_without_asking_the_realm() {
        let client = Client {
            agent: ureq::agent(),
            base: "http://127.0.0.1:1".into(),
            registry: "127.0.0.1:1".into(),
            creds: None,
            // Unreachable: fetching a token from it would fail.
            challenge: Challenge::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: None,
            },
            tokens: Mutex::new(HashMap::new()),
            retries: 0,
            retry_delay: None,
            bearer_token: None,
        };
        assert!(client.authorization(&[], false).is_err());
        let client = client.with_bearer_token(Some("tok".into()));
        let header = client.authorization(&["repository:a:pull".into()], false);
        assert_eq!(header.unwrap().as_deref(), Some("Bearer tok"));
    }

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(Some(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#,
        ));
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            }
        );
        assert_eq!(
            parse_challenge(Some(r#"Basic realm="Registry""#)),
            Challenge::Basic
        );
        assert_eq!(
            parse_scope(Some(r#"Bearer realm="r",scope="repository:a:pull,push""#)),
            vec!["repository:a:pull,push".to_string()]
        );
    }
}
