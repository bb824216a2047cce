//! Helpers for driving the `berth` binary as a user would.

#![allow(dead_code)]

pub mod host;
pub mod store;

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn berth() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    // Never read the machine's registries.conf or credentials.
    c.env("CONTAINERS_REGISTRIES_CONF", "/dev/null");
    c.env("CONTAINERS_CONF", CONTAINERS_CONF);
    c.env_remove("CONTAINERS_CONF_OVERRIDE");
    c.env_remove("REGISTRY_AUTH_FILE");
    c.stdin(Stdio::null());
    c
}

/// The containers.conf every test's berth reads (not the machine's).
pub const CONTAINERS_CONF: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/containers.conf");

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Run {
    run_cmd(berth().args(args))
}

pub fn run_cmd(c: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run berth");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs and insists on success.
pub fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.code, 0, "berth {args:?} failed: {}", r.stderr);
    r
}

pub fn skopeo(args: &[&str]) -> Run {
    let mut c = Command::new("skopeo");
    c.args(args).env("CONTAINERS_REGISTRIES_CONF", "/dev/null");
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 0, "skopeo {args:?} failed: {}", r.stderr);
    r
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The digests of an OCI layout's image's layers, read from the layout itself.
pub fn oci_manifest(layout: &Path, tag: &str) -> serde_json::Value {
    let index = json(&std::fs::read_to_string(layout.join("index.json")).unwrap());
    let desc = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"))
        .clone();
    let digest = desc["digest"].as_str().unwrap().to_string();
    let hex = digest.strip_prefix("sha256:").unwrap();
    json(&std::fs::read_to_string(layout.join("blobs/sha256").join(hex)).unwrap())
}

/// Diff IDs from the image config in an OCI layout.
pub fn oci_diff_ids(layout: &Path, tag: &str) -> Vec<String> {
    let m = oci_manifest(layout, tag);
    let cfg = m["config"]["digest"].as_str().unwrap();
    let c = json(&std::fs::read_to_string(layout.join("blobs/sha256").join(&cfg[7..])).unwrap());
    c["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Whether an OCI layout lists any image at all.
pub fn layout_has_image(layout: &Path) -> bool {
    std::fs::read_to_string(layout.join("index.json"))
        .map(|s| !json(&s)["manifests"].as_array().unwrap().is_empty())
        .unwrap_or(false)
}

/// Runs berth with a new pseudo-terminal as its stdin, stdout and stderr, types
/// `input`, and returns what appeared on the terminal and the exit code.
pub fn on_terminal(cmd: Command, input: &[u8]) -> (String, i32) {
    on_terminal_when(cmd, input, false)
}

/// [`on_terminal`], typing only once the program has put the terminal in raw
/// mode (keys such as ctrl-q would otherwise be eaten by the line discipline).
pub fn on_raw_terminal(cmd: Command, input: &[u8]) -> (String, i32) {
    on_terminal_when(cmd, input, true)
}

pub fn on_terminal_when(cmd: Command, input: &[u8], wait_raw: bool) -> (String, i32) {
    on_terminal_then(cmd, input, wait_raw, |_, _| {})
}

/// [`on_terminal_when`], then `after(terminal, pid)` once the input is typed.
pub fn on_terminal_then(
    mut cmd: Command,
    input: &[u8],
    wait_raw: bool,
    after: impl FnOnce(&std::fs::File, u32),
) -> (String, i32) {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    let (mut master, mut peer) = (0, 0);
    // SAFETY: openpty fills two descriptors; the other arguments may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut peer,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty");
    // SAFETY: openpty returned two new descriptors owned here.
    let (master, peer) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(peer),
        )
    };
    cmd.stdin(peer.try_clone().unwrap())
        .stdout(peer.try_clone().unwrap())
        .stderr(peer);
    let mut child = cmd.spawn().unwrap();
    drop(cmd);
    if wait_raw {
        use std::os::fd::AsRawFd;
        wait_for("raw mode", || {
            // SAFETY: a zeroed termios is a valid out-buffer for tcgetattr.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: master is an open terminal descriptor.
            unsafe { libc::tcgetattr(master.as_raw_fd(), &mut t) };
            t.c_lflag & libc::ICANON == 0
        });
    }
    let mut w = master.try_clone().unwrap();
    w.write_all(input).unwrap();
    after(&master, child.id());
    let mut out = Vec::new();
    let mut r = master;
    let mut buf = [0u8; 4096];
    // Reading ends with EIO once berth, the last holder of the peer, exits.
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (String::from_utf8_lossy(&out).replace('\r', ""), code)
}

/// Polls `cond` until it holds (at most 20 s): for states the monitor reaches on
/// its own schedule (healthcheck intervals, restarts).
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
