//! `logs`.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::exit::{CmdResult, Failure};
use berth_engine::container::{now_ns, rfc3339};
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
    pub(crate) name: String,
}

/// A `--since`/`--until` value as the log's own timestamp form.
fn log_time(v: &str) -> Result<String, Failure> {
    if let Ok(d) = berth_engine::health::parse_duration(v) {
        let ns = now_ns().saturating_sub(d.as_nanos() as u64);
        return Ok(rfc3339(ns));
    }
    // A Unix time in seconds, as podman takes it too.
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(rfc3339(secs.saturating_mul(1_000_000_000)));
    }
    let bad = || Failure {
        code: 125,
        message: format!(
            "invalid time {v:?}: use RFC 3339 (2026-01-02T15:04:05Z), a Unix time or a duration (10m)"
        ),
    };
    berth_engine::time::parse_rfc3339_nanos(v)
        .map(rfc3339)
        .ok_or_else(bad)
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
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    lifecycle::logs(&store, &a.name, &o, &mut out, &mut err).map_err(fail)
}
