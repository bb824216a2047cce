//! podman drives berth-oci as its OCI runtime (`--runtime /path/to/berth-oci`).

mod support;
use std::process::{Command, Stdio};
use support::*;

struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("berth-oci-podman")
            .tempdir()
            .unwrap();
        // This machine lacks CAP_SYS_RESOURCE, so podman's default rlimits must be lower.
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        Podman { dir }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .env("BERTH_OCI_EXE_DIR", self.dir.path().join("exe"))
            .arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "vfs", "--runtime", BIN]);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .args(["rm", "--all", "--force", "--time", "0"])
            .output();
        let _ = self.cmd().args(["system", "reset", "--force"]).output();
        unmount_all_in(&self.dir.path().join("exe"));
        unmount_default_self_image(std::path::Path::new(BIN));
    }
}

#[test]
fn podman_runs_execs_and_stops_containers_through_berth_oci() {
    let pm = Podman::new();
    let b = Bundle::new(&["true"]);
    let mut import = pm
        .cmd()
        .args(["import", "-", "localhost/berth-test:latest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(b.rootfs())
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::copy(tar.stdout.as_mut().unwrap(), import.stdin.as_mut().unwrap()).unwrap();
    drop(import.stdin.take());
    assert!(tar.wait().unwrap().success() && import.wait().unwrap().success());

    let out = pm.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/berth-test",
        "sh",
        "-c",
        "echo hi; exit 0",
    ]);
    assert_eq!(out, "hi\n");
    let code = pm
        .cmd()
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/berth-test",
            "sh",
            "-c",
            "exit 5",
        ])
        .status()
        .unwrap();
    assert_eq!(code.code(), Some(5));

    pm.ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "none",
        "localhost/berth-test",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        pm.ok(&["exec", "c1", "cat", "/proc/1/cmdline"]),
        "sleep\x001000\x00"
    );
    assert_eq!(
        pm.ok(&["inspect", "--format", "{{.State.Status}}", "c1"])
            .trim(),
        "running"
    );
    pm.ok(&["pause", "c1"]);
    assert_eq!(
        pm.ok(&["inspect", "--format", "{{.State.Status}}", "c1"])
            .trim(),
        "paused"
    );
    pm.ok(&["unpause", "c1"]);
    pm.ok(&["stop", "--time", "0", "c1"]);
    assert_eq!(
        pm.ok(&["inspect", "--format", "{{.State.Status}}", "c1"])
            .trim(),
        "exited"
    );
    pm.ok(&["rm", "c1"]);
}
