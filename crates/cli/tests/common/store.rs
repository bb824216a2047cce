//! A private store for one test: `berth --root/--runroot` under a temporary
//! directory, with a busybox image, cleaned up (containers, the runtime's
//! read-only self image) when the test ends, passed or failed.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::{Run, berth, run_cmd};

pub struct TestStore {
    pub dir: tempfile::TempDir,
}

impl TestStore {
    /// A store holding `localhost/bb:1`, made from Debian's busybox-static.
    pub fn with_busybox() -> TestStore {
        let st = TestStore {
            dir: tempfile::tempdir().unwrap(),
        };
        let tarball = st.dir.path().join("rootfs.tar");
        std::fs::write(&tarball, berth_testkit::fixtures::busybox_layer()).unwrap();
        st.ok(&["import", "-q", tarball.to_str().unwrap(), "localhost/bb:1"]);
        st
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.path().join("root"))
            .arg("--runroot")
            .arg(self.path().join("run"))
            .args(["--storage-driver", "overlay"]);
        c.env("BERTH_OCI_EXE_DIR", self.path().join("exe"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }

    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    }

    /// `inspect --format {{FIELD}}`.
    pub fn inspect(&self, name: &str, field: &str) -> String {
        let f = format!("{{{{{field}}}}}");
        self.ok(&["inspect", "--format", &f, name])
            .stdout
            .trim()
            .to_string()
    }

    /// The files left in the run root's socket directory.
    pub fn sockets(&self) -> Vec<String> {
        std::fs::read_dir(self.path().join("run/sockets"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // In a process group of its own: a berth that signalled its caller's
        // group (the bug of kill(0, …)) must not take the test runner along.
        // Pods first: a pod without an infra container keeps its cgroup until
        // the pod itself goes.
        let _ = run_cmd(
            self.cmd()
                .args(["pod", "rm", "-af", "-t", "0"])
                .process_group(0),
        );
        let _ = run_cmd(self.cmd().args(["rm", "-af", "-t", "0"]).process_group(0));
        let _ = run_cmd(self.cmd().args(["image", "umount", "-a"]));
        // Bridges and their firewall rules outlive containers (until their
        // network goes): a store that had networks takes them along.
        let networks = self.path().join("root/networks");
        if std::fs::read_dir(&networks).is_ok_and(|mut d| d.next().is_some()) {
            let _ = run_cmd(self.cmd().args(["system", "reset", "--force"]));
        }
        if let Ok(entries) = std::fs::read_dir(self.path().join("exe")) {
            for e in entries.flatten() {
                let _ = Command::new("umount")
                    .arg("-l")
                    .arg(e.path())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}
