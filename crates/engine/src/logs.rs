//! The container log in podman's default `k8s-file` format: one line per line of
//! output, `TIMESTAMP STREAM TAG TEXT`, TAG `F` for a full line and `P` for a
//! partial one (output that did not end in a newline before the stream paused).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::container::rfc3339;
use crate::journald::Journal;

/// Where a container's output is logged (`--log-driver`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// k8s-file: the log file (`/dev/null` for `none`), emptied when it would
    /// grow past `max_size` bytes (`--log-opt max-size`, conmon's way).
    File {
        path: PathBuf,
        max_size: Option<u64>,
    },
    Journald {
        id: String,
        name: String,
    },
}

/// A [`Target`] opened for writing.
pub enum Sink {
    File {
        file: File,
        max_size: Option<u64>,
    },
    Journald(Journal),
    /// The target could not be opened: output is still shown, not logged.
    Lost,
}

/// A log an older berth made 0644 becomes 0600 when next written.
fn narrow(file: &File) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = file.metadata()
        && m.permissions().mode() & 0o077 != 0
    {
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
}

impl Target {
    pub fn open(&self) -> Sink {
        let sink = match self {
            // 0600, as podman's: a log holds what the container printed.
            Target::File { path, max_size } => OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .ok()
                .inspect(narrow)
                .map(|file| Sink::File {
                    file,
                    max_size: *max_size,
                }),
            Target::Journald { id, name } => Journal::open(id, name).map(Sink::Journald),
        };
        sink.unwrap_or(Sink::Lost)
    }
}

impl Sink {
    /// Logs a chunk of output read at `now_ns`.
    pub fn write(&mut self, stream: Stream, data: &[u8], now_ns: u64) {
        match self {
            Sink::File { file, max_size } => {
                let mut entries = Vec::with_capacity(data.len() + 64);
                let _ = write_entries(&mut entries, stream, data, now_ns);
                let mut entries = &entries[..];
                if let Some(max) = *max_size {
                    let size = file.metadata().map_or(0, |m| m.len());
                    if size + entries.len() as u64 > max {
                        // Appending, so the next write lands at the new end, 0.
                        let _ = file.set_len(0);
                        entries = newest_lines(entries, max as usize);
                    }
                }
                let _ = file.write_all(entries);
            }
            Sink::Journald(j) => j.write(stream, data),
            Sink::Lost => {}
        }
    }
}

/// The last whole lines of `entries` that fit in `max` bytes.
fn newest_lines(entries: &[u8], max: usize) -> &[u8] {
    if entries.len() <= max {
        return entries;
    }
    let from = entries.len() - max;
    match entries[from.saturating_sub(1)..]
        .iter()
        .position(|b| *b == b'\n')
    {
        // The line before `from` ends at or after it: keep what follows it.
        Some(i) => &entries[from.saturating_sub(1) + i + 1..],
        None => &[],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Writes `data` as log lines stamped `now_ns`.
pub fn write_entries(
    out: &mut impl Write,
    stream: Stream,
    data: &[u8],
    now_ns: u64,
) -> io::Result<()> {
    let stamp = rfc3339(now_ns);
    let mut rest = data;
    while !rest.is_empty() {
        let (line, tag, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], "F", &rest[i + 1..]),
            None => (rest, "P", &rest[rest.len()..]),
        };
        write!(out, "{stamp} {} {tag} ", stream.as_str())?;
        out.write_all(line)?;
        out.write_all(b"\n")?;
        rest = next;
    }
    Ok(())
}

/// One entry read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub timestamp: String,
    pub stream: Stream,
    pub partial: bool,
    pub text: Vec<u8>,
}

/// Parses a log line; malformed lines are skipped by the caller.
pub fn parse_line(line: &[u8]) -> Option<Entry> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let timestamp = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let partial = match parts.next()? {
        b"F" => false,
        b"P" => true,
        _ => return None,
    };
    let text = parts.next().unwrap_or_default().to_vec();
    Some(Entry {
        timestamp,
        stream,
        partial,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let mut out = Vec::new();
        write_entries(&mut out, Stream::Stdout, b"one\ntwo\nthr", 0).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "1970-01-01T00:00:00.000000000Z stdout F one",
                "1970-01-01T00:00:00.000000000Z stdout F two",
                "1970-01-01T00:00:00.000000000Z stdout P thr"
            ]
        );
        let e = parse_line(lines[2].as_bytes()).unwrap();
        assert_eq!(
            (e.stream, e.partial, e.text.as_slice()),
            (Stream::Stdout, true, &b"thr"[..])
        );
        assert!(parse_line(b"garbage").is_none());
    }
}
