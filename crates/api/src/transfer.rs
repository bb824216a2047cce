//! Moving images and containers' files as archives: `docker save`/`load`
//! (`GET /images/get`, `POST /images/load`), `docker commit`, `docker export`,
//! and what a container changed (`docker diff`) and uses (`docker stats`).

use std::io::Write;

use berth_engine::images::ImageError;
use serde_json::{Value, json};

use crate::http::{BodyReader, Chunked, Request};
use crate::reply::{ApiError, Done, Reply, Result};
use crate::{Conn, Service};

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(500, e)
}

/// `GET /images/get?names=A&names=B` and `GET /images/NAME/get`: a docker
/// archive, made whole (a private temporary file) before it is sent.
pub fn save(s: &Service, req: &Request, name: Option<&str>, w: &mut dyn Write) -> Result {
    let names: Vec<String> = match name {
        Some(n) => vec![n.to_string()],
        None => req
            .query
            .iter()
            .filter(|(k, _)| k == "names")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    if names.is_empty() {
        return Err(ApiError::bad_request(
            "names: which images to save is missing",
        ));
    }
    for n in &names {
        s.engine.images().inspect(n)?;
    }
    let o = berth_engine::images::SaveOptions {
        multi_image: names.len() > 1,
        ..Default::default()
    };
    let mut file = s
        .engine
        .images()
        .save_stream(&names, &o, &berth_image::copy::Silent)?;
    let mut out = Chunked::start(w, 200, "application/x-tar").map_err(internal)?;
    let sent = std::io::copy(&mut file, &mut out).is_ok() && out.finish().is_ok();
    Ok(Reply::Written(if sent {
        Done::KeepOpen
    } else {
        Done::Close
    }))
}

/// `POST /images/load`: the body, an archive, loaded.
pub fn load(s: &Service, req: &Request, conn: &mut Conn) -> Result {
    let mut body = BodyReader::new(&mut conn.reader, req).map_err(ApiError::bad_request)?;
    let loaded = match s
        .engine
        .images()
        .load_from(&mut body, &berth_image::copy::Silent)
    {
        Err(ImageError::ArchiveInput(e)) => {
            return Err(ApiError::bad_request(format!("the archive: {e}")));
        }
        r => r?,
    };
    let lines: Vec<Value> = loaded
        .iter()
        .map(|n| json!({"stream": format!("Loaded image: {n}\n")}))
        .collect();
    let mut out = Chunked::start(&mut conn.writer, 200, "application/json").map_err(internal)?;
    for l in &lines {
        let _ = out.json_line(l);
    }
    let _ = out.finish();
    Ok(Reply::Written(Done::Close))
}

/// `POST /commit?container=C&repo=R&tag=T&comment=&author=&pause=&changes=`.
pub fn commit(s: &Service, req: &Request) -> Result {
    let Some(container) = req.param("container").filter(|c| !c.is_empty()) else {
        return Err(ApiError::bad_request(
            "container: which container to commit is missing",
        ));
    };
    let reference = match (
        req.param("repo").filter(|r| !r.is_empty()),
        req.param("tag"),
    ) {
        (Some(r), Some(t)) if !t.is_empty() => Some(format!("{r}:{t}")),
        (Some(r), _) => Some(r.to_string()),
        _ => None,
    };
    let changes: Vec<String> = req
        .query
        .iter()
        .filter(|(k, v)| k == "changes" && !v.is_empty())
        .flat_map(|(_, v)| v.lines().map(String::from).collect::<Vec<_>>())
        .collect();
    let o = berth_engine::commit::CommitOptions {
        reference,
        message: req
            .param("comment")
            .filter(|c| !c.is_empty())
            .map(String::from),
        author: req
            .param("author")
            .filter(|a| !a.is_empty())
            .map(String::from),
        pause: req.param("pause") != Some("false") && req.param("pause") != Some("0"),
        ..berth_engine::commit::CommitOptions::with_changes(&changes)?
    };
    let id = berth_engine::commit::commit(s.engine.store(), container, &o)?;
    Ok(Reply::Json(201, json!({"Id": format!("sha256:{id}")})))
}

/// `GET /containers/ID/export`: its root filesystem as a tar.
pub fn export(s: &Service, id: &str, w: &mut dyn Write) -> Result {
    let info = s.engine.containers().inspect(id)?;
    let (mut reader, writer) = std::io::pipe().map_err(internal)?;
    let store = s.engine.store().clone();
    let making = std::thread::spawn(move || {
        let mut w = writer;
        berth_engine::copy::export(&store, &info.id, &mut w)
    });
    let mut out = Chunked::start(w, 200, "application/x-tar").map_err(internal)?;
    let sent = std::io::copy(&mut reader, &mut out).is_ok();
    drop(reader);
    let ok = sent && matches!(making.join(), Ok(Ok(()))) && out.finish().is_ok();
    Ok(Reply::Written(if ok {
        Done::KeepOpen
    } else {
        Done::Close
    }))
}

/// `GET /containers/ID/changes`: Docker's kinds, 0 changed, 1 added, 2 deleted.
pub fn changes(s: &Service, id: &str) -> Result {
    let list = berth_engine::changes::changes(s.engine.store(), id)?;
    let out: Vec<Value> = list
        .into_iter()
        .map(|(kind, path)| {
            let k = match kind {
                'A' => 1,
                'D' => 2,
                _ => 0,
            };
            json!({"Path": path, "Kind": k})
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(out)))
}

/// `GET /containers/ID/stats?stream=false`: one reading in Docker's shape
/// (a stream is one reading a second, until the client goes).
pub fn stats(s: &Service, req: &Request, id: &str, w: &mut dyn Write) -> Result {
    let c = s.engine.containers();
    let stream = req.param("stream").is_none_or(|v| v == "1" || v == "true");
    let reading = || -> std::result::Result<Value, ApiError> {
        let info = berth_engine::container::find(s.engine.store(), id)?;
        let st = berth_engine::stats::read(&info);
        let now = berth_engine::time::format_rfc3339_nanos(berth_engine::time::now_ns());
        Ok(json!({
            "read": now,
            "id": info.id,
            "name": format!("/{}", info.name()),
            "pids_stats": {"current": st.pids},
            "memory_stats": {"usage": st.mem_usage, "limit": st.mem_limit},
            "cpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 1},
            "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 1},
            "networks": {"eth0": {"rx_bytes": st.net_input, "tx_bytes": st.net_output}},
            "berth_cpu_percent": st.cpu_percent,
        }))
    };
    c.inspect(id)?;
    if !stream {
        return Ok(Reply::Json(200, reading()?));
    }
    let mut out = Chunked::start(w, 200, "application/json").map_err(internal)?;
    loop {
        let Ok(v) = reading() else { break };
        if out.json_line(&v).is_err() {
            return Ok(Reply::Written(Done::Close));
        }
        if !c
            .inspect(id)
            .is_ok_and(|i| i.state.running || i.state.paused)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    let _ = out.finish();
    Ok(Reply::Written(Done::Close))
}
