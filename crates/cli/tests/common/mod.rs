//! Helpers for driving the `berth` binary as a user would.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn berth() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    // Never read the machine's registries.conf or credentials.
    c.env("CONTAINERS_REGISTRIES_CONF", "/dev/null");
    c.env_remove("REGISTRY_AUTH_FILE");
    c.stdin(Stdio::null());
    c
}

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
