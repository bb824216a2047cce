//! Names on a network with DNS, served by aardvark-dns as podman 4 has it:
//! one file a network in its configuration directory, its first line the
//! gateway (where aardvark-dns listens), then one line a container
//! (`ID IPV4 IPV6 NAME,ALIAS…[ DNS,…]`); aardvark-dns is started with the
//! first file, told of every change with SIGHUP, and leaves with the last.

use std::path::{Path, PathBuf};

use berth_runtime::pid::{Pid, ProcessId};

use super::super::NetworkError;

fn fail(path: &Path, e: std::io::Error) -> NetworkError {
    NetworkError::Dns(format!("{}: {e}", path.display()))
}

/// What aardvark-dns answers for one container on one network.
pub struct Entry<'a> {
    pub network: &'a str,
    pub gateway: &'a str,
    pub container: &'a str,
    pub ip: &'a str,
    pub names: Vec<&'a str>,
    /// `--dns`: where its other questions go.
    pub servers: &'a [String],
}

/// The line of `e` in its network's file.
fn line(e: &Entry) -> String {
    let servers = match e.servers.join(",") {
        s if s.is_empty() => s,
        s => format!(" {s}"),
    };
    format!("{} {}  {}{servers}\n", e.container, e.ip, e.names.join(","))
}

/// Adds the container's line (the file made with its header first) and has
/// aardvark-dns read it. Called under the backend's lock.
pub fn add(dir: &Path, aardvark: &Path, e: &Entry) -> Result<(), NetworkError> {
    std::fs::create_dir_all(dir).map_err(|x| fail(dir, x))?;
    let path = dir.join(e.network);
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.is_empty() {
        text = format!("{}\n", e.gateway);
    }
    text.retain_lines_without(e.container);
    text.push_str(&line(e));
    replace(&path, &text).map_err(|x| fail(&path, x))?;
    notify(dir, aardvark)
}

/// Takes the container's lines out of `network`'s file (the file goes with
/// its last); aardvark-dns is told, and leaves once no file is left.
pub fn remove(dir: &Path, network: &str, container: &str) -> Result<(), NetworkError> {
    let path = dir.join(network);
    let Ok(mut text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    text.retain_lines_without(container);
    if text.lines().count() <= 1 {
        std::fs::remove_file(&path).map_err(|x| fail(&path, x))?;
    } else {
        replace(&path, &text).map_err(|x| fail(&path, x))?;
    }
    if let Some(p) = running(dir) {
        let _ = p.open().map(|fd| fd.signal(libc::SIGHUP));
    }
    Ok(())
}

/// Writes the file whole under another name, then renames it over: aardvark-dns
/// never reads half of it (no fsync: the run root does not outlive a boot).
/// The temporary file lies beside the directory, where aardvark-dns (which
/// reads every file in it) never looks.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let dir = path
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".aardvark-{name}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

trait Lines {
    fn retain_lines_without(&mut self, container: &str);
}

impl Lines for String {
    /// Keeps the header and every line but the container's.
    fn retain_lines_without(&mut self, container: &str) {
        let kept: String = self
            .lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || l.split(' ').next() != Some(container))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        *self = kept;
    }
}

fn pid_file(dir: &Path) -> PathBuf {
    dir.join("aardvark.pid")
}

/// The aardvark-dns serving `dir`, if the one its PID file names runs.
fn running(dir: &Path) -> Option<ProcessId> {
    let pid = Pid::parse(std::fs::read_to_string(pid_file(dir)).ok()?.trim())?;
    let id = ProcessId::of(pid)?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    comm.starts_with("aardvark").then_some(id)
}

/// SIGHUP to the running aardvark-dns, else starts it (it goes to the
/// background once it listens, as netavark relies on).
fn notify(dir: &Path, aardvark: &Path) -> Result<(), NetworkError> {
    if let Some(p) = running(dir)
        && p.open().is_some_and(|fd| fd.signal(libc::SIGHUP).is_ok())
    {
        return Ok(());
    }
    let out = std::process::Command::new(aardvark)
        .arg("--config")
        .arg(dir)
        .args(["-p", "53", "run"])
        // Not piped: the server it leaves behind would hold a pipe open.
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| NetworkError::Dns(format!("{}: {e}", aardvark.display())))?;
    if !out.success() {
        return Err(NetworkError::Dns(format!(
            "aardvark-dns could not serve {}: {out}",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_aardvarks_and_a_containers_are_replaced_not_doubled() {
        let servers = ["1.1.1.1".to_string()];
        let e = Entry {
            network: "web",
            gateway: "10.89.3.1",
            container: "abc",
            ip: "10.89.3.2",
            names: vec!["db", "alias"],
            servers: &servers,
        };
        assert_eq!(line(&e), "abc 10.89.3.2  db,alias 1.1.1.1\n");
        let mut text = "10.89.3.1\nabc 10.89.3.2  db\nabcd 10.89.3.3  x\n".to_string();
        text.retain_lines_without("abc");
        assert_eq!(text, "10.89.3.1\nabcd 10.89.3.3  x\n");
    }
}
