//! `--log-level` and `--debug`: berth's messages on stderr in podman's
//! (logrus') key=value form, `time="…" level=debug msg="…"`. The default
//! level is podman's, warn.

use log::{Level, LevelFilter, Log, Metadata, Record};

/// podman's levels; fatal and panic show errors only here.
const LEVELS: [&str; 7] = ["trace", "debug", "info", "warn", "error", "fatal", "panic"];

/// The filter a `--log-level` value asks for; podman's wording and exit code 1
/// when it names no level.
pub fn level(name: &str) -> Result<LevelFilter, crate::exit::Failure> {
    Ok(match name {
        "trace" => LevelFilter::Trace,
        "debug" => LevelFilter::Debug,
        "info" => LevelFilter::Info,
        "warn" | "warning" => LevelFilter::Warn,
        "error" | "fatal" | "panic" => LevelFilter::Error,
        other => {
            return Err(crate::exit::usage(
                1,
                format!(
                    "Log Level {other:?} is not supported, choose from: {}",
                    LEVELS.join(", ")
                ),
            ));
        }
    })
}

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let level = match r.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        let time = berth_engine::time::format_rfc3339(berth_engine::time::now_secs());
        let msg = r.args().to_string();
        eprintln!("time={time:?} level={level} msg={msg:?}");
    }

    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr;

/// Installs the logger at `filter`, and says so at info as podman does.
fn init(filter: LevelFilter) {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(filter);
    }
    log::info!(
        "berth filtering at log level {}",
        filter.as_str().to_lowercase()
    );
}

/// `--log-level`/`--debug` (which may not come together), then the first
/// messages podman's debug log has.
pub fn start(log_level: Option<&str>, debug: bool) -> Result<(), crate::exit::Failure> {
    let filter = match (log_level, debug) {
        (Some(_), true) => {
            return Err(crate::exit::usage(
                1,
                "Setting --log-level and --debug is not allowed",
            ));
        }
        (Some(l), false) => level(l)?,
        (None, true) => LevelFilter::Debug,
        (None, false) => LevelFilter::Warn,
    };
    init(filter);
    let args: Vec<String> = std::env::args().skip(1).collect();
    log::debug!("Called berth {}", args.join(" "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_as_podman_names_them() {
        assert_eq!(level("warning").unwrap(), LevelFilter::Warn);
        assert_eq!(level("panic").unwrap(), LevelFilter::Error);
        let e = level("telepathic").unwrap_err();
        assert_eq!(e.code, 1);
        assert!(
            e.message
                .starts_with("Log Level \"telepathic\" is not supported"),
            "{}",
            e.message
        );
    }
}
