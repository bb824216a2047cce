//! OCI hooks: each run with the container state on stdin, killed at its timeout.

use crate::error::{Error, Result};
use crate::spec::Hook;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn run_all(kind: &str, hooks: &[Hook], state: &serde_json::Value) -> Result<()> {
    for h in hooks {
        run(h, state).map_err(|e| Error(format!("{kind} hook {}: {}", h.path, e.0)))?;
    }
    Ok(())
}

/// poststart and poststop: a failing hook is a warning and the rest still run (the
/// runtime spec's rule, and what runtime-tools checks; crun and runc do the same).
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &serde_json::Value) {
    for h in hooks {
        if let Err(e) = run(h, state) {
            crate::log::warn(&format!("{kind} hook {}: {}", h.path, e.0));
        }
    }
}

fn run(h: &Hook, state: &serde_json::Value) -> Result<()> {
    let mut cmd = Command::new(&h.path);
    if let Some((arg0, rest)) = h.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in &h.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error(format!("start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    let deadline = h
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| Error(e.to_string()))? {
            if status.success() {
                return Ok(());
            }
            return Err(Error(format!("exited with {status}")));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error(format!(
                "timed out after {} s",
                h.timeout.unwrap_or(0)
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}
