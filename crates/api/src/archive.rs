//! `docker cp`: `GET`/`HEAD /containers/ID/archive?path=P` give P as a tar
//! (with its stat in `X-Docker-Container-Path-Stat`), `PUT` extracts a tar
//! into the directory P. Both go through the engine's `cp`, which resolves
//! every path inside the container's root (a hostile archive or symlink stays
//! in it).

use std::io::{Read, Write};

use base64::Engine as _;
use serde_json::json;

use crate::http::{self, BodyReader, Request};
use crate::reply::{ApiError, Done, Reply, Result};
use crate::{Conn, Service};

fn path_param(req: &Request) -> std::result::Result<&str, ApiError> {
    req.param("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("path: which path in the container is missing"))
}

/// Go's FileMode of a tar entry: its permissions, with Go's bits for a
/// directory (1<<31) and a symlink (1<<27), as Docker's stat header has it.
fn go_mode(h: &tar::Header) -> u64 {
    let perm = u64::from(h.mode().unwrap_or(0) & 0o7777);
    match h.entry_type() {
        tar::EntryType::Directory => perm | 1 << 31,
        tar::EntryType::Symlink => perm | 1 << 27,
        _ => perm,
    }
}

/// The stat's `linkTarget`: Docker's is a symlink's target ("" otherwise);
/// libpod's is the absolute path in the container that a copy should read (the
/// symlink's target made absolute, else the path itself), which podman's remote
/// `cp` copies from.
fn link_target(req: &Request, path: &str, h: &tar::Header) -> String {
    let target = h
        .link_name()
        .ok()
        .flatten()
        .map(|l| l.to_string_lossy().into_owned());
    if !req.path.contains("/libpod/") {
        return target.unwrap_or_default();
    }
    let abs = std::path::Path::new("/").join(path.trim_start_matches('/'));
    match target {
        Some(t) if h.entry_type() == tar::EntryType::Symlink => {
            let parent = abs.parent().unwrap_or(std::path::Path::new("/"));
            parent.join(t).to_string_lossy().into_owned()
        }
        _ => abs.to_string_lossy().into_owned(),
    }
}

/// GET and HEAD: the tar is made on another thread into a pipe; its first
/// header gives the stat the answer's head carries, then the rest follows.
pub fn get(s: &Service, req: &Request, id: &str, conn: &mut Conn, head_only: bool) -> Result {
    let path = path_param(req)?.to_string();
    let info = s.engine.containers().inspect(id)?;
    let (mut reader, writer) = std::io::pipe().map_err(|e| ApiError::new(500, e))?;
    let store = s.engine.store().clone();
    let making = std::thread::spawn(move || {
        let mut w = writer;
        berth_engine::copy::copy_out_stream(&store, &info.id, &path, &mut w)
    });
    let mut first = [0u8; 512];
    if reader.read_exact(&mut first).is_err() {
        let why = match making.join() {
            Ok(Err(e)) => e.to_string(),
            _ => "nothing to copy".to_string(),
        };
        let status = if why.contains("no such file") || why.contains("No such file") {
            404
        } else {
            500
        };
        return Err(ApiError::new(status, why));
    }
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(&first);
    let name = req.param("path").unwrap_or("");
    let base = std::path::Path::new(name)
        .file_name()
        .map_or_else(|| "/".to_string(), |n| n.to_string_lossy().into_owned());
    let stat = json!({
        "name": base,
        "size": h.size().unwrap_or(0),
        "mode": go_mode(&h),
        "mtime": berth_engine::time::format_rfc3339(h.mtime().unwrap_or(0)),
        "linkTarget": link_target(req, name, &h),
    });
    let stat = base64::engine::general_purpose::STANDARD.encode(stat.to_string());
    let w = &mut conn.writer;
    if head_only {
        // One write: the head whole.
        let head = format!(
            "HTTP/1.1 200 OK\r\nX-Docker-Container-Path-Stat: {stat}\r\nContent-Length: 0\r\n\r\n"
        );
        let _ = w.write_all(head.as_bytes());
        drop(reader);
        let _ = making.join();
        return Ok(Reply::Written(Done::KeepOpen));
    }
    let mut out = http::Chunked::start_with(
        w,
        200,
        "application/x-tar",
        &[("X-Docker-Container-Path-Stat", &stat)],
    )
    .map_err(|e| ApiError::new(500, e))?;
    let sent = out
        .write_all(&first)
        .and_then(|()| std::io::copy(&mut reader, &mut out).map(drop));
    drop(reader);
    let made = making.join();
    let ok = sent.is_ok() && matches!(made, Ok(Ok(()))) && out.finish().is_ok();
    Ok(Reply::Written(if ok {
        Done::KeepOpen
    } else {
        Done::Close
    }))
}

/// PUT: the body (a tar) extracted into the directory `path`.
pub fn put(s: &Service, req: &Request, id: &str, conn: &mut Conn) -> Result {
    let path = path_param(req)?;
    let info = s.engine.containers().inspect(id)?;
    let body = BodyReader::new(&mut conn.reader, req).map_err(ApiError::bad_request)?;
    let o = berth_engine::copy::CopyOptions {
        owner: None,
        overwrite: !req.flag("noOverwriteDirNonDir"),
    };
    berth_engine::copy::copy_in_stream(s.engine.store(), body, &info.id, path, &o).map_err(
        |e| {
            let text = e.to_string();
            let status = if text.contains("must be a directory") || text.contains("no such") {
                404
            } else {
                400
            };
            ApiError::new(status, text)
        },
    )?;
    Ok(Reply::Empty(200))
}
