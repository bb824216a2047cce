//! `logs`.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::exit::{CmdResult, Failure};
use berth_engine::container::rfc3339;
use berth_engine::lifecycle::{self, LogOptions};
use clap::Args;

#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing as the container writes.
    #[arg(short, long)]
    pub(crate) follow: bool,
    /// Only the last N lines.
    #[arg(long)]
    pub(crate) tail: Option<i64>,
    /// Prefix each line with its time.
    #[arg(short, long)]
    pub(crate) timestamps: bool,
    /// Only lines since a time (RFC 3339) or a duration ago (10m, 1h30m).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only lines until a time or a duration ago.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// With several containers: prefix lines with names, not IDs.
    #[arg(short, long)]
    pub(crate) names: bool,
    #[arg(required = true)]
    pub(crate) containers: Vec<String>,
}

/// A `--since`/`--until` value as the log's own timestamp form.
fn log_time(v: &str) -> Result<String, Failure> {
    let ns = berth_engine::time::parse_point(v).map_err(crate::exit::podman)?;
    Ok(rfc3339(ns))
}

pub fn logs(store_args: &StoreArgs, a: LogsArgs) -> CmdResult {
    let store = store_args.open()?;
    let o = LogOptions {
        follow: a.follow,
        tail: a.tail.filter(|n| *n >= 0).map(|n| n as usize),
        timestamps: a.timestamps,
        since: a.since.as_deref().map(log_time).transpose()?,
        until: a.until.as_deref().map(log_time).transpose()?,
    };
    if let [name] = a.containers.as_slice() {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        return lifecycle::logs(&store, name, &o, &mut out, &mut err).map_err(fail);
    }
    // Several: each one's lines prefixed with its short ID (or name), as they
    // come (followed at once, each in its own thread).
    let mut prefixed = Vec::new();
    for n in &a.containers {
        let i = berth_engine::container::find(&store, n).map_err(fail)?;
        let prefix = if a.names {
            i.name().to_string()
        } else {
            i.id[..12].to_string()
        };
        prefixed.push((i.id, prefix));
    }
    let out = std::sync::Mutex::new(());
    let results: Vec<CmdResult> = std::thread::scope(|s| {
        let threads: Vec<_> = prefixed
            .iter()
            .map(|(id, prefix)| {
                let (store, o, out) = (&store, &o, &out);
                s.spawn(move || {
                    let mut w = Prefixed::new(prefix, out, false);
                    let mut e = Prefixed::new(prefix, out, true);
                    lifecycle::logs(store, id, o, &mut w, &mut e).map_err(fail)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a logs thread"))
            .collect()
    });
    results.into_iter().collect()
}

/// Lines written through it go out whole, after `PREFIX `, one writer at a
/// time.
struct Prefixed<'a> {
    prefix: &'a str,
    lock: &'a std::sync::Mutex<()>,
    stderr: bool,
    line: Vec<u8>,
}

impl<'a> Prefixed<'a> {
    fn new(prefix: &'a str, lock: &'a std::sync::Mutex<()>, stderr: bool) -> Prefixed<'a> {
        Prefixed {
            prefix,
            lock,
            stderr,
            line: Vec::new(),
        }
    }
}

impl std::io::Write for Prefixed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.line.push(b);
            if b == b'\n' {
                let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
                let mut text = format!("{} ", self.prefix).into_bytes();
                text.append(&mut self.line);
                if self.stderr {
                    std::io::stderr().write_all(&text)?;
                } else {
                    let mut out = std::io::stdout();
                    out.write_all(&text)?;
                    out.flush()?;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
