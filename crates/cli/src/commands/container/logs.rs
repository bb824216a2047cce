//! `logs`.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::exit::{CmdResult, Failure};
use berth_engine::container::rfc3339;
use berth_engine::lifecycle::{self, LogOptions};
use clap::Args;
use std::sync::Mutex;

#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing as the container writes.
    #[arg(short, long)]
    pub(crate) follow: bool,
    /// Only the last N lines (-1, as any negative number: all of them).
    #[arg(long, allow_negative_numbers = true)]
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
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    #[arg(required_unless_present = "latest")]
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
    let containers = super::targets(&store, None, &a.latest, &a.containers)?;
    if let [name] = containers.as_slice() {
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        return lifecycle::logs(&store, name, &o, &mut out, &mut err).map_err(fail);
    }
    let (out, err) = (Mutex::new(std::io::stdout()), Mutex::new(std::io::stderr()));
    lifecycle::logs_many(&store, &containers, a.names, &o, &out, &err).map_err(fail)
}
