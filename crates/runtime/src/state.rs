//! Container state kept under the runtime root (`/run/berth-oci/ID/state.json`), and
//! the OCI state document `state` prints.

use crate::cgroups::Cgroup;
use crate::error::{Context, Error, Result};
use crate::pid::{Pid, ProcessId};
use crate::spec::Spec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub const OCI_VERSION: &str = "1.2.0";
pub const FIFO: &str = "exec.fifo";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub pid: i32,
    /// The init's start time (field 22 of /proc/PID/stat), so a recycled PID is not
    /// mistaken for the container.
    pub pid_start: u64,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub cgroup: Cgroup,
    pub config: Spec,
    #[serde(default)]
    pub started: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

pub fn valid_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(Error(format!(
            "invalid container ID {id:?}: use letters, digits, _ + - ."
        )))
    }
}

pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Start time of a process, or None when it is gone or a zombie.
pub fn process_start(pid: i32) -> Option<u64> {
    crate::pid::start_time(crate::pid::Pid::new(pid)?)
}

impl State {
    pub fn load(root: &Path, id: &str) -> Result<State> {
        valid_id(id)?;
        let path = dir(root, id).join("state.json");
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error(format!("container {id} does not exist")));
            }
            Err(e) => return Err(e).with(|| format!("read {}", path.display())),
        };
        serde_json::from_slice(&text).map_err(|e| Error(format!("{}: {e}", path.display())))
    }

    pub fn save(&self, root: &Path) -> Result<()> {
        let d = dir(root, &self.id);
        let tmp = d.join("state.json.tmp");
        let body = serde_json::to_vec(self).map_err(|e| Error(e.to_string()))?;
        fs::write(&tmp, body).with(|| format!("write {}", tmp.display()))?;
        fs::rename(&tmp, d.join("state.json")).ctx("save state")
    }

    /// The container's init, as recorded.
    pub fn process(&self) -> Option<ProcessId> {
        Pid::new(self.pid).map(|pid| ProcessId {
            pid,
            start: self.pid_start,
        })
    }

    pub fn alive(&self) -> bool {
        self.process().is_some_and(|p| p.alive())
    }

    pub fn status(&self, root: &Path) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        if dir(root, &self.id).join(FIFO).exists() {
            return Status::Created;
        }
        if self.cgroup.is_frozen() {
            return Status::Paused;
        }
        Status::Running
    }

    /// The runtime spec's state document.
    pub fn oci(&self, status: Status) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "status": status.as_str(),
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
        });
        if !self.annotations.is_empty() {
            v["annotations"] = serde_json::to_value(&self.annotations).unwrap_or_default();
        }
        v
    }
}

/// RFC 3339 UTC with nanoseconds, as runc prints `created`.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%NZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(valid_id("abc-1.2_x").is_ok());
        for bad in ["", "..", "a/b", "a b"] {
            assert!(valid_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn our_own_process_has_a_start_time() {
        assert!(process_start(std::process::id() as i32).is_some());
    }
}
