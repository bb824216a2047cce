//! The known runtime escapes, each as an attack that must fail.

mod support;
use serde_json::json;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The overwrite attempt on the protected binary meets ETXTBSY for as long as
/// any berth-oci process runs from the same file: the other tests here (which
/// run berth-oci) hold this shared, that one exclusively.
static BINARY: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    BINARY.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    BINARY.write().unwrap_or_else(|e| e.into_inner())
}
use std::os::unix::process::CommandExt;
use support::*;

/// Runs berth-oci with a host directory open, not close-on-exec, at fd 7 (and a
/// file at fd 3), the way a careless caller would leak them.
fn run_with_leaked_fds(rt: &Runtime, b: &Bundle, id: &str, extra: &[&str]) -> std::process::Output {
    b.write();
    rt.track(id);
    let dir = std::fs::File::open("/").unwrap();
    let file = tempfile::tempfile().unwrap();
    let (d, f) = (
        std::os::fd::AsRawFd::as_raw_fd(&dir),
        std::os::fd::AsRawFd::as_raw_fd(&file),
    );
    let mut cmd = rt.cmd();
    cmd.arg("run")
        .args(extra)
        .arg("--bundle")
        .arg(b.path())
        .arg(id);
    // SAFETY: dup/dup2/fcntl between fork and exec touch only this child's fd table.
    unsafe {
        cmd.pre_exec(move || {
            // Copies at 8 or above first: placing one at 7 or 3 then never
            // overwrites the other, and dup2 never meets its own fd (which would
            // leave it close-on-exec and the test unable to fail).
            let (d2, f2) = (
                libc::fcntl(d, libc::F_DUPFD, 8),
                libc::fcntl(f, libc::F_DUPFD, 8),
            );
            if d2 < 0 || f2 < 0 || libc::dup2(d2, 7) < 0 || libc::dup2(f2, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn no_host_fd_reaches_the_container() {
    let _binary = shared();
    let rt = Runtime::new();
    let b = Bundle::new(&["ls", "/proc/self/fd"]);
    let out = run_with_leaked_fds(&rt, &b, &unique("fds"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // 0-2 are stdio; 3 is ls's own directory handle.
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    let b = Bundle::new(&["sh", "-c", "ls /proc/self/fd; readlink /proc/self/fd/3"]);
    let out = run_with_leaked_fds(&rt, &b, &unique("fds"), &["--preserve-fds", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains('3') && !text.split_whitespace().any(|w| w == "7"),
        "{text}"
    );
}

#[test]
fn a_cwd_through_a_leaked_fd_is_refused() {
    let _binary = shared();
    // CVE-2024-21626: cwd /proc/self/fd/7 would land in the host's / through the leak.
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sh", "-c", "ls"]);
    b.spec["process"]["cwd"] = "/proc/self/fd/7".into();
    let out = run_with_leaked_fds(&rt, &b, &unique("cwd"), &[]);
    assert!(!out.status.success(), "ran with stdout {}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("/proc/self/fd/7"), "{err}");
}

#[test]
fn a_rootfs_whose_proc_is_a_symlink_is_refused() {
    let _binary = shared();
    let rt = Runtime::new();
    let b = Bundle::new(&["true"]);
    std::fs::remove_dir(b.rootfs().join("proc")).unwrap();
    std::os::unix::fs::symlink("/tmp", b.rootfs().join("proc")).unwrap();
    let out = rt.run(&b, &unique("procsym"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/proc must be mounted on ordinary directory"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_dir(b.rootfs().join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "nothing mounted through it"
    );
}

#[test]
fn masking_refuses_a_fake_dev_null() {
    let _binary = shared();
    // The 2025 runc CVEs: an image's /dev/null that is not the null device must not be
    // bind-mounted over masked paths.
    let rt = Runtime::new();
    let fake = tempfile::tempdir().unwrap();
    std::fs::write(fake.path().join("null"), "not a device").unwrap();
    let mut b = Bundle::new(&["true"]);
    let mounts = b.spec["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| !m["destination"].as_str().unwrap().starts_with("/dev"));
    mounts.push(
        json!({"destination": "/dev", "type": "bind", "source": fake.path(), "options": ["rbind"]}),
    );
    b.spec["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
    let out = rt.run(&b, &unique("null"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not the null device"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inheritable_capabilities_are_empty_by_default() {
    let _binary = shared();
    let rt = Runtime::new();
    let b = Bundle::new(&["grep", "CapInh", "/proc/self/status"]);
    let out = rt.run(&b, &unique("inh"));
    assert_eq!(
        stdout(&out).trim(),
        "CapInh:\t0000000000000000",
        "{}",
        stderr(&out)
    );
}

/// CVE-2019-5736: a process in the container holds the runtime's executable open
/// through /proc/1/exe while the init is still the runtime, then tries to write
/// to it once the runtime has gone. Returns (the attacker's report, whether the
/// binary changed).
fn overwrite_attempt(unprotected: bool) -> (String, bool) {
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("berth-oci");
    std::fs::copy(BIN, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let state = tempfile::tempdir().unwrap();
    let oci = |args: &[&str]| {
        let mut c = std::process::Command::new(&copy);
        c.arg("--root")
            .arg(state.path())
            .args(args)
            .stdin(std::process::Stdio::null())
            .env("BERTH_OCI_EXE_DIR", state.path().join(".exe"));
        // Files, not pipes: the container inherits the runtime's stdio.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(state.path().join("stderr.log"))
            .unwrap();
        c.stdout(std::process::Stdio::null()).stderr(log);
        if unprotected {
            c.env("_BERTH_OCI_PROTECTED", "1");
        }
        c
    };
    let b = Bundle::new(&["sleep", "1000"]);
    std::fs::set_permissions(
        b.rootfs().join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    b.write();
    let id = unique("cve5736");
    let ok = |c: &mut std::process::Command| {
        let st = c.status().unwrap();
        assert!(st.success(), "{c:?} failed");
    };
    ok(&mut oci(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        &id,
    ]));
    // The attacker waits for /tmp/go, which the test makes once every berth-oci
    // command has returned, and for the init to have become `sleep` (a process still
    // running the binary would make the write fail with ETXTBSY).
    // A write can still meet ETXTBSY for a moment while the exec'd init lets go of
    // the old image; only that error is retried.
    // Every way out of the script writes a report, so a silent attacker means it died.
    let attack = "report() { echo \"$*\" > /tmp/result.tmp; mv /tmp/result.tmp /tmp/result; exit; }; \
                  exec 3</proc/1/exe || report cannot open /proc/1/exe; echo open > /tmp/progress; \
                  w=0; until [ -e /tmp/go ] && grep -q sleep /proc/1/comm; do w=$((w+1)); \
                  [ $w -ge 20000 ] && report never started: comm=$(cat /proc/1/comm); done; \
                  echo started > /tmp/progress; \
                  n=0; while :; do (echo owned > /proc/self/fd/3) 2>/tmp/err; rc=$?; [ $rc = 0 ] && break; \
                  grep -q 'Text file busy' /tmp/err || break; n=$((n+1)); [ $n -ge 2000 ] && break; done; \
                  report rc=$rc tries=$n $(cat /tmp/err)";
    ok(&mut oci(&["exec", "--detach", &id, "sh", "-c", attack]));
    ok(&mut oci(&["start", &id]));
    std::fs::write(b.rootfs().join("tmp/go"), "").unwrap();
    let result = b.rootfs().join("tmp/result");
    let mut report = String::new();
    // A bound for a broken run, not a synchronisation: the loop ends as soon as the
    // attacker has written its report.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(r) = std::fs::read_to_string(&result) {
            report = r;
            break;
        }
        std::thread::yield_now();
    }
    // The deadline may have passed while this thread was not scheduled: one last look.
    if report.is_empty() {
        report = std::fs::read_to_string(&result).unwrap_or_default();
    }
    if report.is_empty() {
        report = silent_attacker(&copy, &state, &id, &b.rootfs());
    }
    // With the attack succeeding (the control), the copy is no longer a program:
    // clean up with the real binary.
    let _ = std::process::Command::new(BIN)
        .arg("--root")
        .arg(state.path())
        .args(["delete", "--force", &id])
        .env("BERTH_OCI_EXE_DIR", state.path().join(".exe"))
        .status();
    let changed = std::fs::read(&copy).unwrap() != before;
    unmount_all_in(&state.path().join(".exe"));
    (report, changed)
}

/// What is known when the attacker wrote no report: how far it got, what the
/// runtime said, and what it reports of the container.
fn silent_attacker(
    copy: &std::path::Path,
    state: &tempfile::TempDir,
    id: &str,
    rootfs: &std::path::Path,
) -> String {
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap_or_else(|e| e.to_string());
    let st = std::process::Command::new(copy)
        .arg("--root")
        .arg(state.path())
        .args(["state", id])
        .env("BERTH_OCI_EXE_DIR", state.path().join(".exe"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    format!(
        "no report from the attacker; progress: {}; err: {}; runtime stderr: {}; state: {st}",
        read(rootfs.join("tmp/progress")).trim(),
        read(rootfs.join("tmp/err")).trim(),
        read(state.path().join("stderr.log")).trim(),
    )
}

#[test]
fn the_runtime_binary_cannot_be_overwritten_from_inside() {
    let _binary = exclusive();
    let (report, changed) = overwrite_attempt(false);
    assert!(!changed, "the runtime binary was modified: {report}");
    assert!(report.contains("Read-only file system"), "{report}");
}

#[test]
fn without_the_protection_the_same_attack_succeeds() {
    let _binary = shared();
    // The control: proves the attack above is real, against a throwaway copy.
    let (report, changed) = overwrite_attempt(true);
    assert!(changed, "attack report: {report}");
}

#[test]
fn preserve_fds_never_hands_over_the_runtimes_own() {
    let _binary = shared();
    // --preserve-fds 5 with no fds passed: the runtime's fifo and sockets sit at
    // 3.. and must not be mistaken for the caller's.
    let rt = Runtime::new();
    let b = Bundle::new(&["ls", "/proc/self/fd"]);
    b.write();
    let id = unique("nofds");
    rt.track(&id);
    let out = rt
        .cmd()
        .args(["run", "--preserve-fds", "5", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
}
