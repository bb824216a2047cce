//! `berth run` in the foreground: a local image run through the built-in runtime.

mod common;
mod support;

use common::*;
use support::fixtures;

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self) -> std::process::Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "overlay"]);
        // The read-only self image the runtime makes goes here, to be cleaned up.
        c.env("BERTH_OCI_EXE_DIR", self.dir.path().join("exe"));
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("exe")) {
            for e in entries.flatten() {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(e.path())
                    .status();
            }
        }
    }
}

fn store_with_busybox() -> Store {
    let st = Store::new();
    let tarball = st.dir.path().join("rootfs.tar");
    std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
    let r = st.run(&[
        "import",
        "-q",
        "--change",
        "CMD [\"sh\", \"-c\", \"echo from the image\"]",
        "--change",
        "ENV GREETING=hello",
        tarball.to_str().unwrap(),
        "localhost/bb:1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    st
}

#[test]
fn run_uses_the_images_command_env_and_the_flags() {
    let st = store_with_busybox();
    let r = st.run(&["run", "--rm", "localhost/bb:1"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "from the image\n"),
        "{}",
        r.stderr
    );
    let r = st.run(&[
        "run",
        "--rm",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        "--hostname",
        "box",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo $GREETING $X $(pwd) $(id -u):$(id -g) $(hostname)",
    ]);
    assert_eq!(r.stdout, "hello 1 /tmp 1000:1000 box\n", "{}", r.stderr);
    let r = st.run(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "localhost/bb:1",
        "via",
        "entrypoint",
    ]);
    assert_eq!(r.stdout, "via entrypoint\n", "{}", r.stderr);
}

#[test]
fn exit_codes_are_podmans() {
    let st = store_with_busybox();
    assert_eq!(
        st.run(&["run", "--rm", "localhost/bb:1", "sh", "-c", "exit 42"])
            .code,
        42
    );
    let r = st.run(&["run", "--rm", "localhost/bb:1", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        r.stderr.contains("executable file not found"),
        "{}",
        r.stderr
    );
    let r = st.run(&["run", "--rm", "localhost/missing:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("localhost/missing:1: image not known"),
        "{}",
        r.stderr
    );
}

#[test]
fn rm_leaves_no_container_mount_or_state() {
    let st = store_with_busybox();
    let r = st.run(&[
        "run",
        "--rm",
        "--read-only",
        "localhost/bb:1",
        "sh",
        "-c",
        "touch /x 2>/dev/null || echo ro; grep -c . /proc/self/mountinfo >/dev/null",
    ]);
    assert_eq!(r.stdout, "ro\n", "{}", r.stderr);
    let run_root = st.dir.path().join("run");
    let leftovers: Vec<_> = std::fs::read_dir(run_root.join("containers"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(st.dir.path().join("root").to_str().unwrap()),
        "an overlay is still mounted"
    );
    let states: Vec<_> = std::fs::read_dir(run_root.join("oci"))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    assert!(states.is_empty(), "{states:?}");
}
