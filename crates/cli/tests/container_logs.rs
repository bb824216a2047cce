//! A container's output: `logs` (streams, --since/--until windows, names after
//! `rename`), wait/ps/inspect/logs beside podman's on the same image, the
//! journald and none log drivers; and `run` pulling an image the store lacks.

mod common;
mod support;

use std::path::Path;
use std::process::Command;

use common::store::TestStore;
use common::*;

/// podman, on its own store, with the settings this machine needs.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new(tarball: &Path) -> Podman {
        let p = Podman {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            p.dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        let r = p.run(&["import", "-q", tarball.to_str().unwrap(), "localhost/bb:1"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        p
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "overlay", "--runtime", "runc"])
            .args(args);
        run_cmd(&mut c)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af"]);
        let _ = self.run(&["system", "reset", "--force"]);
        let _ = Command::new("umount")
            .arg(self.dir.path().join("root/overlay"))
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn logs_wait_and_ps_agree_with_podman() {
    let st = TestStore::with_busybox();
    let tarball = st.dir.path().join("rootfs.tar");
    let pm = Podman::new(&tarball);
    let script = "echo one; echo two >&2; printf 'no newline'; exit 4";
    for (tool, r) in [
        (
            "berth",
            st.run(&[
                "run",
                "-d",
                "--network",
                "none",
                "--name",
                "x",
                "localhost/bb:1",
                "sh",
                "-c",
                script,
            ]),
        ),
        (
            "podman",
            pm.run(&[
                "run",
                "-d",
                "--network",
                "none",
                "--name",
                "x",
                "localhost/bb:1",
                "sh",
                "-c",
                script,
            ]),
        ),
    ] {
        assert_eq!(r.code, 0, "{tool}: {}", r.stderr);
    }
    let waits = (st.run(&["wait", "x"]), pm.run(&["wait", "x"]));
    assert_eq!(
        (waits.0.stdout.as_str(), waits.0.code),
        (waits.1.stdout.as_str(), waits.1.code)
    );
    let (b, p) = (st.run(&["logs", "x"]), pm.run(&["logs", "x"]));
    assert_eq!(
        (b.code, b.stdout.as_str(), b.stderr.as_str()),
        (p.code, p.stdout.as_str(), p.stderr.as_str())
    );
    let f = "{{.Names}} {{.ExitCode}} {{.State}}";
    let (b, p) = (
        st.run(&["ps", "-a", "--format", f]),
        pm.run(&["ps", "-a", "--format", f]),
    );
    // The state ends in a relative time ("1 second ago"): compare up to it.
    let head = |s: &str| s.split(')').next().unwrap_or_default().to_string();
    assert_eq!(head(&b.stdout), head(&p.stdout));
    assert!(b.stdout.starts_with("x 4 Exited (4) "), "{}", b.stdout);
    for s in [
        ".State.Status",
        ".State.ExitCode",
        ".State.Running",
        ".Name",
    ] {
        let f = format!("{{{{{s}}}}}");
        let (b, p) = (
            st.run(&["inspect", "--format", &f, "x"]),
            pm.run(&["inspect", "--format", &f, "x"]),
        );
        assert_eq!(b.stdout, p.stdout, "{s}");
    }
    // Both refuse to remove a running container without -f, with exit 2.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "y",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let r = pm.run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "y",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(st.run(&["rm", "y"]).code, pm.run(&["rm", "y"]).code);
}

#[test]
fn rename_logs_window_inspect_images_and_pull_on_run() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "old",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo first",
    ]);
    st.ok(&["rename", "old", "new"]);
    assert_eq!(st.run(&["container", "exists", "old"]).code, 1);
    assert_eq!(st.ok(&["logs", "new"]).stdout, "first\n");
    st.ok(&["create", "--name", "taken", "localhost/bb:1", "true"]);
    assert_eq!(st.run(&["rename", "new", "taken"]).code, 125);
    // --since/--until: a window in the log's own times.
    assert_eq!(
        st.ok(&["logs", "--since", "2000-01-01T00:00:00Z", "new"])
            .stdout,
        "first\n"
    );
    assert_eq!(
        st.ok(&["logs", "--until", "2000-01-01T00:00:00Z", "new"])
            .stdout,
        ""
    );
    assert_eq!(st.ok(&["logs", "--since", "1h", "new"]).stdout, "first\n");
    assert_eq!(st.run(&["logs", "--since", "yesterday", "new"]).code, 125);
    // `inspect` takes images as podman's does.
    let v = json(&st.ok(&["inspect", "localhost/bb:1"]).stdout);
    assert!(v[0]["RootFS"]["Layers"].is_array(), "{v}");
    // --pull missing: run pulls what the store lacks.
    let reg = support::registry::Registry::start().expect("registry");
    let conf = st.dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr()
        ),
    )
    .unwrap();
    let remote = format!("{}/pulled/bb:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "localhost/bb:1",
        &remote,
    ]);
    let other = TestStore::with_busybox();
    let mut c = other.cmd();
    c.env("CONTAINERS_REGISTRIES_CONF", &conf).args([
        "run",
        "--rm",
        &remote,
        "echo",
        "pulled and ran",
    ]);
    let r = run_cmd(&mut c);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "pulled and ran\n"),
        "{}",
        r.stderr
    );
    let mut c = other.cmd();
    c.env("CONTAINERS_REGISTRIES_CONF", &conf).args([
        "run",
        "--rm",
        "--pull",
        "never",
        &format!("{}/absent:1", reg.addr()),
        "true",
    ]);
    assert_eq!(run_cmd(&mut c).code, 125);
}

/// The fields of one journald native-protocol datagram.
fn journal_fields(d: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    let mut rest = d;
    while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
        let key = &rest[..nl];
        rest = &rest[nl + 1..];
        if let Some(eq) = key.iter().position(|b| *b == b'=') {
            m.insert(
                String::from_utf8_lossy(&key[..eq]).into(),
                key[eq + 1..].to_vec(),
            );
            continue;
        }
        let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
        m.insert(
            String::from_utf8_lossy(key).into(),
            rest[8..8 + len].to_vec(),
        );
        rest = &rest[8 + len + 1..];
    }
    m
}

#[test]
fn journald_log_driver_sends_entries_to_the_journal() {
    let st = TestStore::with_busybox();
    // Without a journal the driver is refused when the container is made.
    let mut c = st.cmd();
    c.env("BERTH_JOURNAL_SOCKET", st.dir.path().join("absent"))
        .args([
            "create",
            "--log-driver",
            "journald",
            "localhost/bb:1",
            "true",
        ]);
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no journald"), "{}", r.stderr);
    // A socket of the test's own stands in for journald's.
    let path = st.dir.path().join("journal.socket");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let with_journal = |args: &[&str]| {
        let mut c = st.cmd();
        c.env("BERTH_JOURNAL_SOCKET", &path).args(args);
        run_cmd(&mut c)
    };
    let r = with_journal(&[
        "run",
        "-d",
        "--name",
        "j",
        "--log-driver",
        "journald",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo out; echo err >&2; printf part",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.trim().to_string();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < 3 {
        let n = sock.recv(&mut buf).expect("an entry within 10 s");
        got.push(journal_fields(&buf[..n]));
    }
    let by_message = |m: &[u8]| {
        got.iter()
            .find(|f| f["MESSAGE"] == m)
            .unwrap_or_else(|| panic!("no entry {m:?}: {got:?}"))
    };
    let out = by_message(b"out");
    assert_eq!(out["PRIORITY"], b"6");
    assert_eq!(out["CONTAINER_NAME"], b"j");
    assert_eq!(out["CONTAINER_ID_FULL"], id.as_bytes());
    assert_eq!(out["CONTAINER_ID"], &id.as_bytes()[..12]);
    assert_eq!(by_message(b"err")["PRIORITY"], b"3");
    assert_eq!(by_message(b"part")["CONTAINER_PARTIAL_MESSAGE"], b"true");
    assert!(!out.contains_key("CONTAINER_PARTIAL_MESSAGE"));
    st.ok(&["wait", "j"]);
    assert_eq!(st.inspect("j", ".HostConfig.LogConfig.Type"), "journald");
    assert_eq!(st.inspect("j", ".LogPath"), "");
    // `logs` reads the journal back through journalctl, named when missing.
    let journalctl = Command::new("journalctl").arg("--version").output().is_ok();
    if !journalctl {
        let r = st.run(&["logs", "j"]);
        assert_eq!(r.code, 125);
        assert!(r.stderr.contains("journalctl"), "{}", r.stderr);
    }
    st.ok(&["rm", "j"]);
    // A k8s-file container names its log file, which holds its output.
    st.ok(&["run", "--name", "k", "localhost/bb:1", "echo", "filed"]);
    let log = st.inspect("k", ".LogPath");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .ends_with(" stdout F filed\n")
    );
}

#[test]
fn log_driver_none_keeps_no_log() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "run",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "localhost/bb:1",
        "echo",
        "shown",
    ]);
    assert_eq!(r.stdout, "shown\n", "the user still sees the output");
    let r = st.run(&["logs", "quiet"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("this container is using the 'none' log driver, cannot read logs"),
        "{}",
        r.stderr
    );
    let id = st.inspect("quiet", ".Id");
    assert!(
        !st.dir
            .path()
            .join("run/containers")
            .join(id)
            .join("userdata/ctr.log")
            .exists()
    );
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--log-driver",
            "syslog",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
}

/// docker's default driver, which compose files and scripts name: podman takes
/// json-file for its k8s-file log and keeps the name.
#[test]
fn log_driver_json_file_logs_as_k8s_file() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "j",
        "--network",
        "none",
        "--log-driver",
        "json-file",
        "--log-opt",
        "max-file=3",
        "--log-opt",
        "max-size=1m",
        "localhost/bb:1",
        "echo",
        "filed",
    ]);
    assert_eq!(st.ok(&["logs", "j"]).stdout, "filed\n");
    assert_eq!(st.inspect("j", ".HostConfig.LogConfig.Type"), "json-file");
    assert_eq!(st.inspect("j", ".HostConfig.LogConfig.Size"), "1MB");
    let log = st.inspect("j", ".LogPath");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .ends_with(" stdout F filed\n"),
        "{log}"
    );
    // Other drivers and options are still refused, naming what is known.
    let r = st.run(&["create", "--log-driver", "syslog", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("json-file"), "{}", r.stderr);
    let r = st.run(&[
        "create",
        "--log-opt",
        "colour=red",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    st.ok(&["rm", "j"]);
}
