//! Docker's exec endpoints. An exec session is made (`POST
//! /containers/ID/exec`), started on a hijacked connection (`POST
//! /exec/ID/start`) and asked for its exit code (`GET /exec/ID/json`).
//!
//! The process is run by a freshly executed `berth exec` (the front end's
//! binary): the built-in runtime forks, which only a single-threaded process
//! may do, and this service has a thread a client.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::json;

use crate::http::Request;
use crate::reply::{ApiError, Done, Reply, Result};
use crate::{Conn, Service};

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    tty: bool,
    env: Option<Vec<String>>,
    cmd: Vec<String>,
    privileged: bool,
    user: String,
    working_dir: String,
}

pub struct Session {
    container: String,
    config: ExecConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    started: bool,
    running: bool,
    exit_code: Option<i32>,
    pid: u32,
}

/// The service's exec sessions, by ID.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Arc<Session>>>);

/// Sessions kept at most; the oldest ended ones go first.
const KEPT: usize = 1024;

impl Sessions {
    fn get(&self, id: &str) -> std::result::Result<Arc<Session>, ApiError> {
        let map = self
            .0
            .lock()
            .map_err(|_| ApiError::new(500, "exec sessions poisoned"))?;
        map.get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {id}")))
    }

    /// Keeps a new session; at [`KEPT`], ended ones and those of containers
    /// no longer running go first, and past it a new one is refused.
    fn insert(&self, s: &Service, id: String, session: Session) -> Result<()> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| ApiError::new(500, "exec sessions poisoned"))?;
        if map.len() >= KEPT {
            map.retain(|_, x| {
                let live = x.state.lock().is_ok_and(|st| st.running || !st.started);
                live && s
                    .engine
                    .containers()
                    .inspect(&x.container)
                    .is_ok_and(|c| c.state.running || c.state.paused)
            });
        }
        if map.len() >= KEPT {
            return Err(ApiError::new(
                503,
                format!("{KEPT} exec sessions are open: start or drop some first"),
            ));
        }
        map.insert(id, Arc::new(session));
        Ok(())
    }
}

pub fn create(s: &Service, req: &Request, id: &str) -> Result {
    let config: ExecConfig = crate::containers::json_body(req)?;
    if config.cmd.is_empty() {
        return Err(ApiError::bad_request("Cmd: an exec needs a command"));
    }
    let info = s.engine.containers().inspect(id)?;
    if info.state.paused {
        return Err(ApiError::new(
            409,
            format!(
                "Container {} is paused, unpause the container before exec",
                info.id
            ),
        ));
    }
    if !info.state.running {
        return Err(ApiError::new(
            409,
            format!("Container {} is not running", info.id),
        ));
    }
    let exec_id = berth_storage::lock::random_hex(32);
    s.execs.insert(
        s,
        exec_id.clone(),
        Session {
            container: info.id,
            config,
            state: Mutex::default(),
        },
    )?;
    Ok(Reply::Json(201, json!({"Id": exec_id})))
}

pub fn inspect(s: &Service, id: &str) -> Result {
    let session = s.execs.get(id)?;
    let st = session
        .state
        .lock()
        .map_err(|_| ApiError::new(500, "exec session poisoned"))?;
    let c = &session.config;
    Ok(Reply::Json(
        200,
        json!({
            "ID": id,
            "Running": st.running,
            "ExitCode": st.exit_code,
            "ProcessConfig": {
                "tty": c.tty,
                "entrypoint": c.cmd[0],
                "arguments": &c.cmd[1..],
                "privileged": c.privileged,
                "user": c.user,
            },
            "OpenStdin": c.attach_stdin,
            "OpenStderr": c.attach_stderr,
            "OpenStdout": c.attach_stdout,
            "CanRemove": false,
            "ContainerID": session.container,
            "DetachKeys": "",
            "Pid": st.pid,
        }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
}

/// The `berth exec` that runs the session's process.
fn helper(s: &Service, session: &Session) -> Command {
    let c = &session.config;
    let request = berth_engine::exec::ExecRequest {
        args: c.cmd.clone(),
        // A bare NAME would take the service's own value (exec -e NAME reads
        // the caller's environment): only NAME=VALUE goes, as Docker's daemon
        // keeps no value for a bare name.
        env: c
            .env
            .iter()
            .flatten()
            .filter(|e| e.contains('='))
            .cloned()
            .collect(),
        workdir: Some(c.working_dir.clone()).filter(|w| !w.is_empty()),
        user: Some(c.user.clone()).filter(|u| !u.is_empty()),
        tty: c.tty,
        interactive: c.attach_stdin,
        privileged: c.privileged,
        detach: false,
    };
    let argv = s.command.exec_with(&session.container, &request);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

pub fn start(s: &Service, req: &Request, id: &str, conn: &mut Conn) -> Result {
    let body: StartBody = crate::containers::json_body(req)?;
    let session = s.execs.get(id)?;
    {
        let mut st = session
            .state
            .lock()
            .map_err(|_| ApiError::new(500, "exec session poisoned"))?;
        if st.started {
            return Err(ApiError::new(
                409,
                format!("exec session {id} has already started"),
            ));
        }
        st.started = true;
        st.running = true;
    }
    let r = run(s, req, &session, body.detach, conn);
    if r.is_err()
        && let Ok(mut st) = session.state.lock()
    {
        // It never ran: inspect says so, with no exit code.
        st.running = false;
    }
    r
}

fn run(
    s: &Service,
    req: &Request,
    session: &Arc<Session>,
    detach: bool,
    conn: &mut Conn,
) -> Result {
    let session = session.clone();
    let mut cmd = helper(s, &session);
    if detach {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = spawn(&session, &mut cmd)?;
        std::thread::spawn(move || finish(&session, child));
        return Ok(Reply::Empty(200));
    }
    let tty = session.config.tty;
    let pty = if tty {
        Some(
            crate::pty::Pty::open()
                .map_err(|e| ApiError::new(500, format!("exec terminal: {e}")))?,
        )
    } else {
        None
    };
    match &pty {
        Some(p) => {
            cmd.stdin(p.slave()?).stdout(p.slave()?).stderr(p.slave()?);
        }
        None => {
            let input = if session.config.attach_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            };
            cmd.stdin(input)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
    }
    let head = if req.header("upgrade").is_some() {
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    } else {
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    };
    let mut child = spawn(&session, &mut cmd)?;
    // The helper holds its copies of the terminal's far side now.
    drop(cmd);
    let _ = conn.writer.write_all(head.as_bytes());
    let input: Option<Box<dyn Write + Send>> = match &pty {
        Some(p) => p
            .master()
            .ok()
            .map(|f| Box::new(f) as Box<dyn Write + Send>),
        None => child
            .stdin
            .take()
            .map(|i| Box::new(i) as Box<dyn Write + Send>),
    };
    // The client's input may pause for as long as it likes.
    let _ = conn.writer.set_read_timeout(None);
    if let (Some(mut input), Ok(mut from)) = (input, conn.reader.get_ref().try_clone()) {
        let buffered = conn.reader.buffer().to_vec();
        std::thread::spawn(move || {
            let _ = input.write_all(&buffered);
            let _ = std::io::copy(&mut from, &mut input);
            // Dropped: the process's stdin ends with the client's.
        });
    }
    let out = Arc::new(Mutex::new(
        conn.writer.try_clone().map_err(|e| ApiError::new(500, e))?,
    ));
    let mut relays = Vec::new();
    let outputs: Vec<(Box<dyn Read + Send>, u8)> = match pty {
        Some(p) => vec![(Box::new(p.into_master()), 0)],
        None => {
            let mut v: Vec<(Box<dyn Read + Send>, u8)> = Vec::new();
            if let Some(o) = child.stdout.take() {
                v.push((Box::new(o), 1));
            }
            if let Some(e) = child.stderr.take() {
                v.push((Box::new(e), 2));
            }
            v
        }
    };
    for (from, stream) in outputs {
        let out = out.clone();
        relays.push(std::thread::spawn(move || relay(from, stream, &out)));
    }
    finish(&session, child);
    for r in relays {
        let _ = r.join();
    }
    conn.writer.shutdown_write();
    Ok(Reply::Written(Done::Close))
}

fn spawn(
    session: &Session,
    cmd: &mut Command,
) -> std::result::Result<std::process::Child, ApiError> {
    let child = cmd.spawn().map_err(|e| {
        if let Ok(mut st) = session.state.lock() {
            st.running = false;
        }
        ApiError::new(500, format!("exec: {e}"))
    })?;
    if let Ok(mut st) = session.state.lock() {
        st.pid = child.id();
    }
    Ok(child)
}

/// Waits for the helper (this service's own child) and keeps its exit code.
fn finish(session: &Session, mut child: std::process::Child) {
    let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
    if let Ok(mut st) = session.state.lock() {
        st.running = false;
        st.exit_code = Some(code);
    }
}

/// Copies one output to the client: framed by stream (0: a terminal's, raw).
fn relay(mut from: Box<dyn Read + Send>, stream: u8, out: &Mutex<crate::Stream>) {
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut frame = Vec::with_capacity(n + 8);
        if stream != 0 {
            frame.extend_from_slice(&[stream, 0, 0, 0]);
            frame.extend_from_slice(&(n as u32).to_be_bytes());
        }
        frame.extend_from_slice(&buf[..n]);
        let Ok(mut o) = out.lock() else { return };
        if o.write_all(&frame).is_err() {
            return;
        }
    }
}
