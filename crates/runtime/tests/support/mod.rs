//! Test bundles: a busybox rootfs and a config from `berth-oci spec`, driven through
//! the real binary with a private state root per test.
#![allow(dead_code)]

use serde_json::Value;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_berth-oci");

const APPLETS: &[&str] = &[
    "sh", "true", "false", "sleep", "cat", "ls", "id", "echo", "touch", "mkdir", "grep",
    "readlink", "hostname", "ps", "stat", "test", "wc", "head", "env", "pwd", "ln", "cp", "chmod",
    "uname",
];

/// A bundle directory holding rootfs/ (busybox) and config.json.
pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub spec: Value,
}

impl Bundle {
    pub fn new(args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("berth-oci-test")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("rootfs");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox"))
            .expect("busybox-static is installed");
        for a in APPLETS {
            symlink("busybox", root.join("bin").join(a)).unwrap();
        }
        std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        let out = Command::new(BIN)
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut spec: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        spec["process"]["terminal"] = false.into();
        spec["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        spec["root"]["readonly"] = false.into();
        Bundle { dir, spec }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn write(&self) {
        std::fs::write(
            self.path().join("config.json"),
            serde_json::to_vec_pretty(&self.spec).unwrap(),
        )
        .unwrap();
    }
}

/// A private state root; every container made through it is force-deleted on drop,
/// so a failing test leaves no process, cgroup or state behind.
pub struct Runtime {
    pub root: tempfile::TempDir,
    ids: std::cell::RefCell<Vec<String>>,
}

impl Runtime {
    pub fn new() -> Runtime {
        Runtime {
            root: tempfile::Builder::new()
                .prefix("berth-oci-state")
                .tempdir()
                .unwrap(),
            ids: Default::default(),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--root").arg(self.root.path());
        c.env("BERTH_OCI_EXE_DIR", self.root.path().join(".exe"));
        c.stdin(Stdio::null());
        c
    }

    pub fn track(&self, id: &str) {
        self.ids.borrow_mut().push(id.to_string());
    }

    pub fn run(&self, b: &Bundle, id: &str) -> Output {
        b.write();
        self.track(id);
        self.cmd()
            .args(["run", "--bundle"])
            .arg(b.path())
            .arg(id)
            .output()
            .unwrap()
    }

    /// `create` with its output in files: the container inherits the runtime's stdio,
    /// so pipes would stay open as long as the container lives.
    pub fn create(&self, b: &Bundle, id: &str) -> Output {
        self.create_with(b, id, &[])
    }

    pub fn create_with(&self, b: &Bundle, id: &str, extra: &[&str]) -> Output {
        b.write();
        self.track(id);
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let status = self
            .cmd()
            .args(["create", "--bundle"])
            .arg(b.path())
            .args(extra)
            .arg(id)
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "berth-oci {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    /// Polls `state` until the status is `want` (a condition, not a timed sleep).
    pub fn wait_status(&self, id: &str, want: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self.status(id) == want {
                return;
            }
            std::thread::yield_now();
        }
        panic!("container {id} never reached {want}: {}", self.status(id));
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.cmd().args(["delete", "--force", id]).output();
        }
        unmount_all_in(&self.root.path().join(".exe"));
    }
}

/// Detaches the read-only self-image mounts berth-oci made under `dir`.
pub fn unmount_all_in(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = std::ffi::CString::new(e.path().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: umount2 with a valid C string.
        unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Polls until `pid` runs `want` (the init executes the container's command a
/// moment after `start` returns, as runc's does): a condition, not a timed sleep.
pub fn wait_cmdline(pid: i64, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let got = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if got == want || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::yield_now();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn read_all(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut v = Vec::new();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut v).unwrap();
    v
}

/// Detaches the self-image mount berth-oci made for `bin` in the default place
/// (/run/berth-oci/.exe), for callers such as podman that do not pass our environment on.
pub fn unmount_default_self_image(bin: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(bin) else {
        return;
    };
    let p = format!(
        "/run/berth-oci/.exe/berth-oci-{}-{}-{}",
        m.dev(),
        m.ino(),
        m.mtime()
    );
    let c = std::ffi::CString::new(p.clone()).unwrap();
    // SAFETY: umount2 with a valid C string.
    if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
        let _ = std::fs::remove_file(&p);
    }
}
