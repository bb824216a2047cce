//! `POST /build`: the body is the context as a tar; a freshly executed
//! `berth build -` (the front end's binary: RUN steps fork the runtime, which
//! this threaded service must not) reads it on its stdin, and what it prints
//! comes back as Docker's JSON stream.

use std::io::{BufRead, BufReader, Write};

use std::process::{Command, Stdio};
use std::sync::mpsc;

use serde_json::{Value, json};

use crate::http::{BodyReader, Chunked, Request};
use crate::reply::{ApiError, Done, Reply, Result};
use crate::{Conn, Service};

/// Docker's JSON maps of query values (`buildargs`, `labels`) as KEY=VALUE.
fn map_param(req: &Request, name: &str) -> std::result::Result<Vec<String>, ApiError> {
    let Some(text) = req.param(name).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))?;
    Ok(v.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            Value::Null => k,
            other => format!("{k}={other}"),
        })
        .collect())
}

fn command(s: &Service, req: &Request) -> std::result::Result<Command, ApiError> {
    let argv = s.command.argv();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).arg("build");
    let file = req
        .param("dockerfile")
        .filter(|f| !f.is_empty())
        .unwrap_or("Dockerfile");
    if file.starts_with('/') || file.split('/').any(|p| p == "..") {
        return Err(ApiError::bad_request(format!(
            "dockerfile {file:?}: a path inside the context"
        )));
    }
    cmd.arg("-f").arg(file);
    for (k, v) in &req.query {
        match k.as_str() {
            "t" if !v.is_empty() => {
                cmd.arg("-t").arg(v);
            }
            "target" if !v.is_empty() => {
                cmd.arg("--target").arg(v);
            }
            "networkmode" if matches!(v.as_str(), "none" | "host") => {
                cmd.arg("--network").arg(v);
            }
            "platform" if !v.is_empty() => {
                cmd.arg("--platform").arg(v);
            }
            _ => {}
        }
    }
    for a in map_param(req, "buildargs")? {
        cmd.arg("--build-arg").arg(a);
    }
    for l in map_param(req, "labels")? {
        cmd.arg("--label").arg(l);
    }
    if req.flag("nocache") {
        cmd.arg("--no-cache");
    }
    if req.flag("pull") {
        cmd.arg("--pull=always");
    }
    cmd.arg("-");
    Ok(cmd)
}

pub fn build(s: &Service, req: &Request, conn: &mut Conn) -> Result {
    let mut cmd = command(s, req)?;
    // The image's ID comes in a private file: RUN steps print on stdout too.
    let iid_dir = tempfile::tempdir().map_err(|e| ApiError::new(500, e))?;
    let iid = iid_dir.path().join("iid");
    cmd.arg("--iidfile").arg(&iid);
    let quiet = req.flag("q");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ApiError::new(500, format!("build: {e}")))?;
    let mut input = child.stdin.take().expect("piped");
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .enumerate()
    .map(|(i, r)| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            // Any bytes (a RUN step may print what is not UTF-8), a line at a time.
            let mut r = BufReader::new(r);
            let mut line = Vec::new();
            while r.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches('\n')
                    .to_string();
                let _ = tx.send((i == 0, text));
                line.clear();
            }
        })
    })
    .collect();
    drop(tx);
    // The context goes to the builder while its output comes back.
    let body = BodyReader::new(&mut conn.reader, req).map_err(ApiError::bad_request)?;
    let fed = std::thread::scope(|scope| {
        let feeding = scope.spawn(move || {
            let mut body = body;
            let r = std::io::copy(&mut body, &mut input);
            drop(input);
            r
        });
        let mut out = Chunked::start(&mut conn.writer, 200, "application/json").ok();
        let mut last_err = String::new();
        for (stdout, line) in rx {
            if !stdout {
                last_err.clone_from(&line);
            }
            if let (Some(o), false) = (out.as_mut(), quiet)
                && o.json_line(&json!({"stream": format!("{line}\n")}))
                    .is_err()
            {
                out = None;
            }
        }
        (feeding.join(), out, last_err)
    });
    let (feeding, out, last_err) = fed;
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|e| ApiError::new(500, e))?;
    let id = std::fs::read_to_string(&iid)
        .ok()
        .map(|t| t.trim().trim_start_matches("sha256:").to_string())
        .filter(|t| !t.is_empty());
    let Some(mut out) = out else {
        return Ok(Reply::Written(Done::Close));
    };
    let lines = match (status.success(), id) {
        (true, Some(id)) => {
            let short: String = id.chars().take(12).collect();
            let aux = json!({"aux": {"ID": format!("sha256:{id}")}});
            if quiet {
                // Docker's quiet build says only the ID (which `build -q` prints).
                vec![aux, json!({"stream": format!("sha256:{id}\n")})]
            } else {
                // The builder has said which names it gave; Docker's last words are the ID.
                vec![
                    aux,
                    json!({"stream": format!("Successfully built {short}\n")}),
                ]
            }
        }
        _ => {
            let why = match feeding {
                Ok(Err(e)) => format!("reading the build context: {e}"),
                _ if last_err.is_empty() => "the build failed".to_string(),
                _ => last_err,
            };
            vec![json!({"errorDetail": {"message": why}, "error": why})]
        }
    };
    for l in lines {
        let _ = out.json_line(&l);
    }
    let _ = out.finish();
    let _ = conn.writer.flush();
    Ok(Reply::Written(Done::Close))
}

/// `POST /build/prune`: berth keeps no build cache apart from its images
/// (layers a build reuses are images' layers, which the image prune takes),
/// so nothing goes; `docker system prune` asks for it after the images'.
pub fn prune(_: &Service) -> Result {
    Ok(Reply::Json(
        200,
        json!({"CachesDeleted": [], "SpaceReclaimed": 0}),
    ))
}
