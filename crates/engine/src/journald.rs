//! The `journald` log driver: each line of output a journal entry sent over
//! journald's native protocol (a datagram of fields on its socket), with the
//! fields podman gives them, so that `journalctl CONTAINER_NAME=web` finds
//! them; `logs` reads them back through `journalctl -o json`.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;

use crate::container::rfc3339;
use crate::logs::Stream;

/// journald's socket; `BERTH_JOURNAL_SOCKET` points elsewhere (the tests' own).
pub fn socket_path() -> PathBuf {
    std::env::var_os("BERTH_JOURNAL_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/run/systemd/journal/socket".into())
}

/// Whether this host has a journal to write to.
pub fn available() -> bool {
    UnixDatagram::unbound().is_ok_and(|s| s.connect(socket_path()).is_ok())
}

pub struct Journal {
    sock: UnixDatagram,
    /// The fields every entry of this container carries.
    fields: Vec<u8>,
}

/// One field in the protocol's binary form, which takes any bytes.
fn field(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.extend_from_slice(key.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

impl Journal {
    pub fn open(id: &str, name: &str) -> Option<Journal> {
        let sock = UnixDatagram::unbound().ok()?;
        sock.connect(socket_path()).ok()?;
        let short = &id.as_bytes()[..12.min(id.len())];
        let mut fields = Vec::new();
        field(&mut fields, "CONTAINER_ID", short);
        field(&mut fields, "CONTAINER_ID_FULL", id.as_bytes());
        field(&mut fields, "CONTAINER_NAME", name.as_bytes());
        field(&mut fields, "CONTAINER_TAG", short);
        field(&mut fields, "SYSLOG_IDENTIFIER", name.as_bytes());
        Some(Journal { sock, fields })
    }

    /// Sends `data` as entries, a line each; an unfinished last line is
    /// marked partial, as podman marks it.
    pub fn write(&mut self, stream: Stream, data: &[u8]) {
        let priority: &[u8] = if stream == Stream::Stdout { b"6" } else { b"3" };
        let mut rest = data;
        while !rest.is_empty() {
            let (line, partial, next) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], false, &rest[i + 1..]),
                None => (rest, true, &rest[rest.len()..]),
            };
            let mut d = self.fields.clone();
            field(&mut d, "PRIORITY", priority);
            field(&mut d, "MESSAGE", line);
            if partial {
                field(&mut d, "CONTAINER_PARTIAL_MESSAGE", b"true");
            }
            // A full journal drops the entry rather than stall the container.
            let _ = self.sock.send(&d);
            rest = next;
        }
    }
}

/// A journal entry from `journalctl -o json` as a k8s-file log line, so that
/// `logs` filters and prints both drivers' entries alike; also its cursor.
pub fn entry_to_line(json: &serde_json::Value) -> Option<(Vec<u8>, String)> {
    let usec: u64 = json["__REALTIME_TIMESTAMP"].as_str()?.parse().ok()?;
    let text: Vec<u8> = match &json["MESSAGE"] {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        // journalctl shows a message that is not UTF-8 as its bytes.
        serde_json::Value::Array(a) => a
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<Option<Vec<u8>>>()?,
        _ => return None,
    };
    let stream = if json["PRIORITY"].as_str() == Some("3") {
        "stderr"
    } else {
        "stdout"
    };
    let tag = if json["CONTAINER_PARTIAL_MESSAGE"].as_str() == Some("true") {
        "P"
    } else {
        "F"
    };
    let mut line = format!("{} {stream} {tag} ", rfc3339(usec * 1000)).into_bytes();
    line.extend_from_slice(&text);
    line.push(b'\n');
    let cursor = json["__CURSOR"].as_str().unwrap_or_default().to_string();
    Some((line, cursor))
}

/// The journal could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journalctl (to read the journald log): {0}")]
    Exec(#[source] std::io::Error),
    /// journalctl refused: its first line.
    #[error("journalctl: {0}")]
    Failed(String),
}

/// The container's entries after `cursor` (all without one), as log lines;
/// the new cursor.
pub fn read(
    id: &str,
    cursor: Option<&str>,
) -> Result<(Vec<Vec<u8>>, Option<String>), JournalError> {
    let mut c = Command::new("journalctl");
    c.args(["--no-pager", "-o", "json"]);
    if let Some(cur) = cursor {
        c.arg(format!("--after-cursor={cur}"));
    }
    c.arg(format!("CONTAINER_ID_FULL={id}"));
    let out = c.output().map_err(JournalError::Exec)?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let first = msg.lines().next().unwrap_or("failed");
        return Err(JournalError::Failed(first.to_string()));
    }
    let mut lines = Vec::new();
    let mut last = cursor.map(String::from);
    for l in out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(l) else {
            continue;
        };
        if let Some((line, cur)) = entry_to_line(&v) {
            lines.push(line);
            last = Some(cur);
        }
    }
    Ok((lines, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_use_the_binary_form() {
        let mut d = Vec::new();
        field(&mut d, "MESSAGE", b"a\nb");
        assert_eq!(d, b"MESSAGE\n\x03\0\0\0\0\0\0\0a\nb\n");
    }

    #[test]
    fn journalctl_entries_become_log_lines() {
        let v = serde_json::json!({"__REALTIME_TIMESTAMP": "1700000000123456",
            "MESSAGE": "hello", "PRIORITY": "3", "__CURSOR": "s=1"});
        let (line, cur) = entry_to_line(&v).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "2023-11-14T22:13:20.123456000Z stderr F hello\n"
        );
        assert_eq!(cur, "s=1");
        let v = serde_json::json!({"__REALTIME_TIMESTAMP": "0", "MESSAGE": [104, 255],
            "CONTAINER_PARTIAL_MESSAGE": "true"});
        let (line, _) = entry_to_line(&v).unwrap();
        assert_eq!(line, b"1970-01-01T00:00:00.000000000Z stdout P h\xff\n");
        assert!(entry_to_line(&serde_json::json!({"MESSAGE": "x"})).is_none());
    }
}
