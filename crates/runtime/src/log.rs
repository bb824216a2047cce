//! Errors and warnings: to stderr, and to `--log` (text or runc's JSON lines) for
//! callers such as podman that read the runtime's log file.

use std::io::Write;
use std::sync::OnceLock;

struct Sink {
    path: std::path::PathBuf,
    json: bool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

pub fn init(path: Option<std::path::PathBuf>, json: bool) {
    if let Some(path) = path {
        let _ = SINK.set(Sink { path, json });
    }
}

fn write(level: &str, msg: &str) {
    let Some(s) = SINK.get() else { return };
    let line = if s.json {
        serde_json::json!({"level": level, "msg": msg, "time": crate::state::now_rfc3339()})
            .to_string()
    } else {
        format!("{} {level}: {msg}", crate::state::now_rfc3339())
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&s.path)
    {
        let _ = writeln!(f, "{line}");
    }
}

pub fn error(msg: &str) {
    write("error", msg);
    // "Error: " as podman and skopeo print it; callers (conmon, test harnesses)
    // look for the word.
    eprintln!("Error: {msg}");
}

/// A warning goes to `--log` when there is one (as runc's do: podman reads
/// them there and shows the user nothing), else to stderr.
pub fn warn(msg: &str) {
    if SINK.get().is_some() {
        write("warning", msg);
    } else {
        eprintln!("berth-oci: warning: {msg}");
    }
}
