//! Detached containers under berth's monitor: run -d, create/start, ps, logs,
//! stop, kill, wait, rm, inspect — driven through the `berth` binary as a user
//! would, with podman run on the same image where behaviour must match.

mod common;
mod support;

use std::path::Path;
use std::process::Command;

use common::*;
use support::fixtures;

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        let st = Store {
            dir: tempfile::tempdir().unwrap(),
        };
        let tarball = st.dir.path().join("rootfs.tar");
        std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
        st.ok(&["import", "-q", tarball.to_str().unwrap(), "localhost/bb:1"]);
        st
    }

    fn cmd(&self) -> Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "overlay"]);
        c.env("BERTH_OCI_EXE_DIR", self.dir.path().join("exe"));
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    }

    fn inspect(&self, name: &str, field: &str) -> String {
        let f = format!("{{{{{field}}}}}");
        self.ok(&["inspect", "--format", &f, name])
            .stdout
            .trim()
            .to_string()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Whatever a failed test left running goes first, then the self image.
        let _ = run_cmd(self.cmd().args(["rm", "-af"]));
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("exe")) {
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

/// Mounts left in the store (its root and run root; not the runtime's own
/// read-only copy of the binary, which lives beside them until the test ends).
fn mounts_under(dir: &Path) -> usize {
    let roots = [dir.join("root"), dir.join("run")].map(|d| d.to_string_lossy().to_string());
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| roots.iter().any(|r| m.starts_with(r.as_str())))
        })
        .count()
}

fn process_exists(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[test]
fn a_detached_container_lives_on_and_stops() {
    let st = Store::new();
    let r = st.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo hello; echo oops >&2; exec sleep 1000",
    ]);
    let id = r.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full ID: {id}");
    // The container outlives the command that started it.
    assert_eq!(st.inspect("web", ".State.Status"), "running");
    let pid = st.inspect("web", ".State.Pid");
    assert!(process_exists(&pid), "container pid {pid} is not running");
    let ps = st.ok(&["ps"]).stdout;
    assert!(ps.starts_with("CONTAINER ID  IMAGE"), "{ps}");
    let row = ps.lines().nth(1).expect("a row");
    assert!(
        row.starts_with(&id[..12]) && row.contains("Up ") && row.ends_with("web"),
        "{row}"
    );
    assert_eq!(st.ok(&["ps", "-q"]).stdout.trim(), &id[..12]);
    // Removing a running container needs -f: exit 2, and it stays.
    let r = st.run(&["rm", "web"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("running"), "{}", r.stderr);
    // sleep as PID 1 ignores SIGTERM: stop kills it after the timeout.
    assert_eq!(st.ok(&["stop", "-t", "1", "web"]).stdout.trim(), "web");
    assert!(!process_exists(&pid), "the container survived stop");
    assert_eq!(st.inspect("web", ".State.Status"), "exited");
    assert_eq!(st.inspect("web", ".State.ExitCode"), "137");
    let ps = st.ok(&["ps", "-a"]).stdout;
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert_eq!(st.ok(&["ps"]).stdout.lines().count(), 1, "only the header");
    // The log holds both streams, each back on its own.
    let mut c = st.cmd();
    let logs = run_cmd(c.args(["logs", "web"]));
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("hello\n", "oops\n")
    );
    st.ok(&["rm", "web"]);
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
    assert_eq!(mounts_under(st.dir.path()), 0, "a mount was left behind");
}

#[test]
fn exit_codes_wait_and_rm_on_exit() {
    let st = Store::new();
    let id = st
        .ok(&["run", "-d", "localhost/bb:1", "sh", "-c", "exit 3"])
        .stdout;
    assert_eq!(st.ok(&["wait", id.trim()]).stdout, "3\n");
    assert!(st.ok(&["ps", "-a"]).stdout.contains("Exited (3)"));
    // A command that does not exist: 127, one line, as podman.
    let r = st.run(&["run", "-d", "--rm", "localhost/bb:1", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    // --rm: once the container is done, nothing of it is left.
    let r = st.ok(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "brief",
        "localhost/bb:1",
        "sh",
        "-c",
        "sleep 1; exit 4",
    ]);
    // wait gets the exit code even though the container goes as it ends
    // (or, if it went already, says so).
    let w = st.run(&["wait", "brief"]);
    assert!(
        (w.code, w.stdout.as_str()) == (0, "4\n") || w.stderr.contains("no such container"),
        "{} {}",
        w.stdout,
        w.stderr
    );
    let left = st.ok(&["ps", "-a", "--format", "{{.Names}}"]).stdout;
    assert!(!left.contains("brief"), "{left}");
    let id = r.stdout.trim();
    assert!(!st.dir.path().join("run/containers").join(id).exists());
}

#[test]
fn create_start_logs_and_kill() {
    let st = Store::new();
    let id = st
        .ok(&[
            "create",
            "--name",
            "counter",
            "localhost/bb:1",
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo line$i; done",
        ])
        .stdout;
    assert_eq!(id.trim().len(), 64);
    assert!(st.ok(&["ps", "-a"]).stdout.contains("Created"));
    assert_eq!(st.inspect("counter", ".State.Status"), "created");
    // wait on a container not started yet waits through its start.
    let mut waiter = st.cmd();
    waiter
        .args(["wait", "counter"])
        .stdout(std::process::Stdio::piped());
    let waiter = waiter.spawn().unwrap();
    assert_eq!(st.ok(&["start", "counter"]).stdout, "counter\n");
    let waited = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&waited.stdout), "0\n");
    assert_eq!(st.ok(&["wait", "counter"]).stdout, "0\n");
    assert_eq!(
        st.ok(&["logs", "--tail", "2", "counter"]).stdout,
        "line4\nline5\n"
    );
    let stamped = st.ok(&["logs", "-t", "counter"]).stdout;
    let first = stamped.lines().next().unwrap();
    assert!(
        first.ends_with(" line1") && first.starts_with("20"),
        "{first}"
    );
    // Started again, it runs the same command and the log grows.
    st.ok(&["start", "counter"]);
    st.ok(&["wait", "counter"]);
    assert_eq!(st.ok(&["logs", "counter"]).stdout.lines().count(), 10);

    st.ok(&[
        "run",
        "-d",
        "--name",
        "sleeper",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(st.ok(&["kill", "sleeper"]).stdout, "sleeper\n");
    assert_eq!(st.ok(&["wait", "sleeper"]).stdout, "137\n");
    let r = st.run(&["kill", "sleeper"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("state improper"), "{}", r.stderr);
    let r = st.run(&["logs", "nobody"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such container"), "{}", r.stderr);
    let json = json(&st.ok(&["ps", "-a", "--format", "json"]).stdout);
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Names"][0].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sleeper", "counter"], "newest first");
}

#[test]
fn twenty_containers_start_and_go_in_parallel() {
    let st = Store::new();
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let mut c = st.cmd();
            c.args([
                "run",
                "-d",
                "--name",
                &format!("p{i}"),
                "localhost/bb:1",
                "sleep",
                "1000",
            ]);
            std::thread::spawn(move || run_cmd(&mut c))
        })
        .collect();
    for t in threads {
        let r = t.join().unwrap();
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(st.ok(&["ps", "-q"]).stdout.lines().count(), 20);
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let mut c = st.cmd();
            c.args(["rm", "-f", &format!("p{i}")]);
            std::thread::spawn(move || run_cmd(&mut c))
        })
        .collect();
    for t in threads {
        let r = t.join().unwrap();
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
    assert_eq!(mounts_under(st.dir.path()), 0, "a mount was left behind");
    let oci = st.dir.path().join("run/oci");
    let left = std::fs::read_dir(&oci).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "runtime state left in {}", oci.display());
}

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
    let st = Store::new();
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
fn sigkill_during_run_d_leaves_nothing_half_made() {
    let st = Store::new();
    // Kill `berth run -d` at spread-out moments of its work: before the record,
    // between record and monitor, while the monitor starts the container.
    for delay_ms in [0u64, 2, 4, 7, 10, 15, 20, 30, 45, 70] {
        let mut c = st.cmd();
        c.args(["run", "-d", "localhost/bb:1", "sleep", "1000"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    // Every container left is whole: listed, inspectable, removable.
    let listed = json(&st.ok(&["ps", "-a", "--format", "json"]).stdout);
    for c in listed.as_array().unwrap() {
        let id = c["Id"].as_str().unwrap();
        let state = st.inspect(id, ".State.Status");
        assert!(
            ["created", "running", "exited"].contains(&state.as_str()),
            "{id}: {state}"
        );
    }
    st.ok(&["rm", "-af"]);
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
    assert_eq!(mounts_under(st.dir.path()), 0, "a mount was left behind");
    let oci = st.dir.path().join("run/oci");
    assert_eq!(
        std::fs::read_dir(&oci).map(|d| d.count()).unwrap_or(0),
        0,
        "runtime state left"
    );
    let check = st.run(&["system", "check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

#[test]
fn exec_volumes_tmpfs_and_generated_files() {
    let st = Store::new();
    let share = st.dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(share.join("f"), "from the host\n").unwrap();
    let ro = format!("{}:/mnt:ro", share.display());
    st.ok(&[
        "run",
        "-d",
        "--name",
        "e",
        "--hostname",
        "box",
        "-v",
        &ro,
        "-v",
        "cache:/data",
        "--tmpfs",
        "/scratch:size=1m",
        "--add-host",
        "db:192.0.2.7",
        "--dns",
        "192.0.2.53",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        st.ok(&["exec", "e", "cat", "/mnt/f"]).stdout,
        "from the host\n"
    );
    // Read-only bind: writing fails inside, nothing appears on the host.
    let r = st.run(&["exec", "e", "sh", "-c", "echo x > /mnt/new"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!share.join("new").exists());
    // A named volume lives in the store and outlives the container.
    st.ok(&["exec", "e", "sh", "-c", "echo kept > /data/k"]);
    let vol = st.dir.path().join("root/volumes/cache/_data/k");
    assert_eq!(std::fs::read_to_string(&vol).unwrap(), "kept\n");
    let r = st.ok(&[
        "exec",
        "e",
        "sh",
        "-c",
        "grep -c tmpfs /proc/mounts >/dev/null && stat -f -c %T /scratch",
    ]);
    assert_eq!(r.stdout.trim(), "tmpfs");
    assert_eq!(
        st.ok(&["exec", "e", "cat", "/etc/hostname"]).stdout,
        "box\n"
    );
    let hosts = st.ok(&["exec", "e", "cat", "/etc/hosts"]).stdout;
    assert!(
        hosts.contains("192.0.2.7\tdb") && hosts.contains("localhost"),
        "{hosts}"
    );
    let resolv = st.ok(&["exec", "e", "cat", "/etc/resolv.conf"]).stdout;
    assert!(resolv.contains("nameserver 192.0.2.53"), "{resolv}");
    // exec --privileged: more capabilities than the container's own eleven.
    let caps = |args: &[&str]| {
        let mut full = vec!["exec"];
        full.extend_from_slice(args);
        full.extend(["e", "grep", "CapEff", "/proc/self/status"]);
        let out = st.ok(&full).stdout;
        u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16)
            .unwrap()
            .count_ones()
    };
    assert_eq!(caps(&[]), 11);
    assert!(caps(&["--privileged"]) > 11);
    // .Mounts lists what the user mounted.
    let m = json(
        &st.ok(&["inspect", "--format", "{{json .Mounts}}", "e"])
            .stdout,
    );
    let dests: Vec<&str> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Destination"].as_str().unwrap())
        .collect();
    assert_eq!(dests, ["/mnt", "/data", "/scratch"]);
    assert_eq!(m[0]["RW"], false);
    assert_eq!(m[1]["Type"], "volume");
    let env = st.ok(&["exec", "e", "cat", "/run/.containerenv"]).stdout;
    assert!(env.contains("name=\"e\""), "{env}");
    // exec's own exit codes: the process's, 127 for a missing command.
    assert_eq!(
        st.run(&[
            "exec",
            "-e",
            "N=5",
            "-w",
            "/tmp",
            "e",
            "sh",
            "-c",
            "[ $PWD = /tmp ] && exit $N"
        ])
        .code,
        5
    );
    let r = st.run(&["exec", "e", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    st.ok(&["rm", "-f", "e"]);
    assert!(vol.exists(), "the volume went with the container");
    // Bad mounts are refused at once with podman's exit code, nothing created.
    let before = st.ok(&["ps", "-a", "-q"]).stdout;
    for bad in [
        ["-v", "/no/such/dir:/x"],
        ["-v", "relative:x"],
        ["--tmpfs", "scratch"],
    ] {
        let r = st.run(&["run", "--rm", bad[0], bad[1], "localhost/bb:1", "true"]);
        assert_eq!(r.code, 125, "{bad:?}");
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, before);
}

#[test]
fn commit_turns_changes_into_an_image() {
    let st = Store::new();
    st.ok(&[
        "run", "-d", "--name", "src", "localhost/bb:1", "sh", "-c",
        "echo changed > /etc/motd; rm /bin/vi; mkdir -p /opt/app && echo v1 > /opt/app/version; exec sleep 1000",
    ]);
    // Wait until the script's changes are there: its last write is visible.
    let r = st.ok(&[
        "exec",
        "src",
        "sh",
        "-c",
        "until [ -f /opt/app/version ]; do sleep 0.01; done; cat /opt/app/version",
    ]);
    assert_eq!(r.stdout, "v1\n");
    let id = st
        .ok(&[
            "commit",
            "-q",
            "-m",
            "add the app",
            "-a",
            "tester",
            "-c",
            "CMD [\"cat\", \"/opt/app/version\"]",
            "-c",
            "ENV MODE=prod",
            "src",
            "localhost/app:1",
        ])
        .stdout;
    assert_eq!(id.trim().len(), 64, "{id}");
    // The container kept running through the commit (paused, then resumed).
    assert_eq!(st.inspect("src", ".State.Status"), "running");
    assert_eq!(st.ok(&["run", "--rm", "localhost/app:1"]).stdout, "v1\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/app:1",
        "sh",
        "-c",
        "cat /etc/motd; echo $MODE; [ -e /bin/vi ] || echo vi-gone",
    ]);
    assert_eq!(r.stdout, "changed\nprod\nvi-gone\n");
    let hist = json(&st.ok(&["image", "inspect", "localhost/app:1"]).stdout);
    let hist = &hist[0];
    assert_eq!(hist["Author"], "tester", "{hist}");
    let layers = hist["RootFS"]["Layers"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(layers, 2, "the image's layer plus the container's: {hist}");
    assert!(
        st.ok(&["history", "localhost/app:1"])
            .stdout
            .contains("add the app")
    );
    let r = st.run(&["commit", "nobody", "localhost/x:1"]);
    assert_eq!(r.code, 125);
}

#[test]
fn pause_top_restart_prune_and_volumes() {
    let st = Store::new();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "p",
        "-v",
        "vol:/data",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let pid = st.inspect("p", ".State.Pid");
    st.ok(&["pause", "p"]);
    assert_eq!(st.inspect("p", ".State.Status"), "paused");

    assert!(st.ok(&["ps"]).stdout.contains("(Paused)"));
    assert_eq!(st.run(&["pause", "p"]).code, 125, "paused twice");
    st.ok(&["unpause", "p"]);
    assert_eq!(st.inspect("p", ".State.Status"), "running");
    let top = st.ok(&["top", "p"]).stdout;
    assert!(
        top.starts_with("UID") && top.contains("sleep 1000"),
        "{top}"
    );
    st.ok(&["restart", "-t", "0", "p"]);
    let new_pid = st.inspect("p", ".State.Pid");
    assert_ne!(pid, new_pid, "restart kept the old process");
    assert_eq!(st.inspect("p", ".State.Status"), "running");
    // Volumes: in use, rm needs -f; unused ones go with prune.
    st.ok(&["volume", "create", "spare"]);
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "spare\nvol\n");
    assert_eq!(st.run(&["volume", "rm", "vol"]).code, 2);
    let v = json(&st.ok(&["volume", "inspect", "vol"]).stdout);
    assert!(
        v[0]["Mountpoint"]
            .as_str()
            .unwrap()
            .ends_with("volumes/vol/_data")
    );
    assert_eq!(st.ok(&["volume", "prune"]).stdout, "spare\n");
    // Exists, prune: only stopped containers go.
    assert_eq!(st.run(&["container", "exists", "p"]).code, 0);
    assert_eq!(st.run(&["container", "exists", "nobody"]).code, 1);
    st.ok(&["create", "--name", "idle", "localhost/bb:1", "true"]);
    assert_eq!(st.ok(&["container", "prune"]).stdout.lines().count(), 1);
    assert_eq!(st.run(&["container", "exists", "idle"]).code, 1);
    assert_eq!(st.run(&["container", "exists", "p"]).code, 0);
    st.ok(&["volume", "rm", "-f", "vol"]);
    assert_eq!(
        st.run(&["container", "exists", "p"]).code,
        1,
        "rm -f of a volume removes its users"
    );
    let _ = pid;
}

#[test]
fn run_it_gives_the_container_a_terminal() {
    let st = Store::new();
    let mut c = st.cmd();
    c.args(["run", "--rm", "-it", "localhost/bb:1", "sh"]);
    let (out, code) = on_terminal(
        c,
        b"tty; [ -t 0 ] && echo stdin-is-a-tty; echo term=$TERM; exit 3\n",
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("/dev/pts/0") && out.contains("stdin-is-a-tty"),
        "{out}"
    );
    assert!(out.contains("term=xterm"), "{out}");
    // Without -t the container has no terminal even when berth has one.
    let mut c = st.cmd();
    c.args([
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "[ -t 1 ] || echo no-tty",
    ]);
    let (out, code) = on_terminal(c, b"");
    assert_eq!((code, out.trim()), (0, "no-tty"), "{out}");
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
}

#[test]
fn env_passthrough_exec_stdin_usage_errors_and_inspect_env() {
    let st = Store::new();
    // `-e NAME` passes berth's own NAME on; an unset one is left out.
    let mut c = st.cmd();
    c.env("BERTH_T_PASSED", "from-host")
        .env_remove("BERTH_T_UNSET")
        .args([
            "run",
            "--rm",
            "-e",
            "BERTH_T_PASSED",
            "-e",
            "BERTH_T_UNSET",
            "localhost/bb:1",
            "sh",
            "-c",
            "echo ${BERTH_T_PASSED}; env | grep -c BERTH_T_UNSET",
        ]);
    let r = run_cmd(&mut c);
    assert_eq!(r.stdout, "from-host\n0\n", "{}", r.stderr);
    // exec without -i reads nothing of ours; with -i it gets it all.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "-e",
        "A=1",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let exec_with_input = |i: bool| {
        let mut c = st.cmd();
        c.arg("exec");
        if i {
            c.arg("-i");
        }
        c.args(["x", "sh", "-c", "cat; echo end"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    assert_eq!(exec_with_input(false), "end\n");
    assert_eq!(exec_with_input(true), "typed\nend\n");
    // .Config.Env is what the process gets: the image's PATH under the flags'.
    let env = st.inspect("x", "json .Config.Env");
    assert!(env.contains("PATH=") && env.contains("A=1"), "{env}");
    // A bad command line is podman's 125, with clap's message; help is 0.
    let r = st.run(&["run", "--no-such-flag", "localhost/bb:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("--no-such-flag"), "{}", r.stderr);
    assert_eq!(st.run(&["run", "--help"]).code, 0);
    // info names the runtime new containers get, as `podman info` templates read it.
    let r = st.ok(&[
        "--runtime",
        "runc",
        "info",
        "--format",
        "{{.Host.OCIRuntime.Name}}",
    ]);
    assert_eq!(r.stdout.trim(), "runc");
    st.ok(&["rm", "-f", "x"]);
}

#[test]
fn foreground_runs_get_restarts_and_healthchecks_too() {
    let st = Store::new();
    // The container waits until its own healthcheck has run once.
    let r = st.run(&[
        "run",
        "--name",
        "h",
        "--health-cmd",
        "touch /tmp/checked",
        "--health-interval",
        "1s",
        "localhost/bb:1",
        "sh",
        "-c",
        "for i in $(seq 100); do [ -e /tmp/checked ] && echo checked && exit 0; sleep 0.1; done; echo never",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "checked\n"),
        "{}",
        r.stderr
    );
    // on-failure:2 in the foreground: the output comes through, the exit code
    // is the last run's, after the two restarts.
    let r = st.run(&[
        "run",
        "--name",
        "f",
        "--restart",
        "on-failure:2",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo try; exit 3",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.starts_with("try\n"), "{}", r.stdout);
    assert_eq!(st.inspect("f", ".RestartCount"), "2");
    // With --rm the monitor may have removed the container before the
    // foreground command asks for its exit code: it is still the code.
    for _ in 0..5 {
        let r = st.run(&[
            "run",
            "--rm",
            "--health-cmd",
            "true",
            "localhost/bb:1",
            "sh",
            "-c",
            "exit 3",
        ]);
        assert_eq!(r.code, 3, "{}", r.stderr);
    }
}

#[test]
fn run_it_passes_terminal_resizes_on() {
    use std::os::fd::AsRawFd;
    let st = Store::new();
    let mut c = st.cmd();
    c.args(["run", "--rm", "-it", "localhost/bb:1", "sh"]);
    // The container watches its own terminal's size for a while.
    let script = b"for i in $(seq 200); do [ \"$(stty size)\" = '33 111' ] && echo resized && exit 0; sleep 0.05; done; exit 9\n";
    let (out, code) = on_terminal_then(c, script, true, |term, pid| {
        let ws = libc::winsize {
            ws_row: 33,
            ws_col: 111,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on the test's own terminal, with a valid winsize.
        unsafe { libc::ioctl(term.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        // berth's terminal is not its controlling one here: tell it, as the
        // kernel tells the foreground group of a real one.
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(pid as i32, libc::SIGWINCH) };
    });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("resized"), "{out}");
}

#[test]
fn all_flags_short_hostname_volumes_and_more_fields() {
    let st = Store::new();
    for n in ["a1", "a2"] {
        st.ok(&[
            "run",
            "-d",
            "--name",
            n,
            "-h",
            "shorthost",
            "-l",
            "tier=web",
            "-m",
            "64m",
            "--stop-signal",
            "INT",
            "localhost/bb:1",
            "sleep",
            "1000",
        ]);
    }
    st.ok(&["create", "--name", "c1", "localhost/bb:1", "true"]);
    assert_eq!(st.ok(&["exec", "a1", "hostname"]).stdout, "shorthost\n");
    // inspect and ps show what podman's do.
    assert_eq!(st.inspect("a1", ".Config.Labels.tier"), "web");
    assert_eq!(st.inspect("a1", ".Config.StopSignal"), "2");
    assert_eq!(st.inspect("a1", ".HostConfig.Memory"), "67108864");
    assert_eq!(st.inspect("a1", "json .Config.Cmd"), r#"["sleep","1000"]"#);
    let r = st.ok(&[
        "ps",
        "--format",
        "{{.Names}} {{.Command}} {{.Labels.tier}} {{.RunningFor}}",
    ]);
    assert!(r.stdout.contains("a1 sleep 1000 web "), "{}", r.stdout);
    // -a on pause/unpause/stop/kill picks the containers in the right state.
    let r = st.ok(&["pause", "-a"]);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert_eq!(st.inspect("a2", ".State.Status"), "paused");
    st.ok(&["unpause", "--all"]);
    assert_eq!(st.inspect("a2", ".State.Status"), "running");
    st.ok(&["stop", "-a", "-t", "0"]);
    assert_eq!(st.inspect("a1", ".State.Status"), "exited");
    assert_eq!(st.inspect("c1", ".State.Status"), "created");
    // rm with nothing to remove is an error, not a silent success.
    let r = st.run(&["rm"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["rm", "-a"]);
    // Volumes: a name is made up when none is given; one that exists is refused.
    let name = st.ok(&["volume", "create"]).stdout.trim().to_string();
    assert_eq!(name.len(), 64, "{name}");
    st.ok(&["volume", "create", "dup"]);
    let r = st.run(&["volume", "create", "dup"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    st.ok(&["volume", "create", "--ignore", "dup"]);
}

#[test]
fn cap_add_opens_the_seccomp_filter_for_that_capability() {
    let st = Store::new();
    let mount = ["localhost/bb:1", "mount", "-t", "tmpfs", "none", "/tmp"];
    let r = st.run(&[&["run", "--rm"][..], &mount[..]].concat());
    assert_ne!(r.code, 0, "mounted without CAP_SYS_ADMIN");
    let r = st.run(&[&["run", "--rm", "--cap-add", "SYS_ADMIN"][..], &mount[..]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // podman's own profile (its rules for CAP_SYS_ADMIN only) behaves the same.
    let profile = "seccomp=/usr/share/containers/seccomp.json";
    let r = st.run(&[&["run", "--rm", "--security-opt", profile][..], &mount[..]].concat());
    assert_ne!(
        r.code, 0,
        "podman's profile let mount through without CAP_SYS_ADMIN"
    );
    let with_cap = [
        "run",
        "--rm",
        "--security-opt",
        profile,
        "--cap-add",
        "SYS_ADMIN",
    ];
    let r = st.run(&[&with_cap[..], &mount[..]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = st.run(&[
        "run",
        "--rm",
        "--security-opt",
        profile,
        "localhost/bb:1",
        "echo",
        "ok",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "ok\n"), "{}", r.stderr);
}

#[test]
fn host_namespaces_shm_groups_dns_search_and_cidfile() {
    let st = Store::new();
    let me = std::process::id();
    let shm = format!("/dev/shm/berth-t{me}");
    std::fs::write(&shm, "host shm").unwrap();
    let script = format!(
        "[ -d /proc/{me} ] && echo sees-host-pids; hostname; cat {shm}; \
         df -k /dev/shm | tail -1 | awk '{{print $2}}'"
    );
    let r = st.run(&[
        "run",
        "--rm",
        "--pid",
        "host",
        "--uts",
        "host",
        "--ipc",
        "host",
        "localhost/bb:1",
        "sh",
        "-c",
        &script,
    ]);
    let _ = std::fs::remove_file(&shm);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(
        r.stdout.starts_with("sees-host-pids\n"),
        "{} {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.contains(&format!("{}\nhost shm", host.trim())),
        "{}",
        r.stdout
    );
    // Private ones: none of that, and /dev/shm of the size asked for.
    let r = st.ok(&[
        "run",
        "--rm",
        "--shm-size",
        "8m",
        "--group-add",
        "1234",
        "--dns-search",
        "example.test",
        "localhost/bb:1",
        "sh",
        "-c",
        &format!(
            "[ -d /proc/{me} ] || echo own-pids; df -k /dev/shm | tail -1 | awk '{{print $2}}'; \
             id -G; grep ^search /etc/resolv.conf"
        ),
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "own-pids", "{}", r.stdout);
    assert_eq!(lines[1], "8192", "{}", r.stdout);
    assert!(lines[2].split(' ').any(|g| g == "1234"), "{}", r.stdout);
    assert!(lines[3].starts_with("search example.test"), "{}", r.stdout);
    // --cidfile: the ID, and a file that exists already is refused first.
    let cid = st.dir.path().join("cid");
    let id = st
        .ok(&[
            "create",
            "--cidfile",
            cid.to_str().unwrap(),
            "localhost/bb:1",
            "true",
        ])
        .stdout;
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    let before = st.ok(&["ps", "-a", "-q"]).stdout;
    let r = st.run(&[
        "run",
        "-d",
        "--cidfile",
        cid.to_str().unwrap(),
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert_eq!(
        st.ok(&["ps", "-a", "-q"]).stdout,
        before,
        "a container was made"
    );
}

#[test]
fn privileged_containers_get_the_hosts_devices() {
    let st = Store::new();
    // A device every Linux host with loop support has, not in the default set.
    let dev = "/dev/loop-control";
    assert!(Path::new(dev).exists(), "this host has no {dev}");
    let check = [
        "localhost/bb:1",
        "sh",
        "-c",
        "[ -c /dev/loop-control ] && echo there",
    ];
    let r = st.ok(&[&["run", "--rm", "--privileged"][..], &check[..]].concat());
    assert_eq!(r.stdout, "there\n");
    let r = st.run(&[&["run", "--rm"][..], &check[..]].concat());
    assert_eq!(r.stdout, "", "an unprivileged container got {dev}");
}

#[test]
fn anonymous_and_relative_volume_flags() {
    let st = Store::new();
    // -v /DEST: an anonymous volume, gone with rm -v.
    st.ok(&[
        "run",
        "--name",
        "anon",
        "-v",
        "/data",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let vols = st.ok(&["volume", "ls", "-q"]).stdout;
    assert_eq!(vols.lines().count(), 1, "{vols}");
    st.ok(&["rm", "-v", "anon"]);
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "");
    // -v ./DIR:DEST: the directory, from where berth runs.
    let here = st.dir.path().join("here");
    std::fs::create_dir_all(here.join("sub")).unwrap();
    std::fs::write(here.join("sub/f"), "relative\n").unwrap();
    let mut c = st.cmd();
    c.current_dir(&here).args([
        "run",
        "--rm",
        "-v",
        "./sub:/mnt",
        "localhost/bb:1",
        "cat",
        "/mnt/f",
    ]);
    let r = run_cmd(&mut c);
    assert_eq!(r.stdout, "relative\n", "{}", r.stderr);
}

#[test]
fn cp_sees_volumes_and_binds_as_the_container_does() {
    let st = Store::new();
    let share = st.dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    let ro = format!("{}:/ro:ro", share.display());
    st.ok(&[
        "run",
        "-d",
        "--name",
        "v",
        "-v",
        "vol:/data",
        "-v",
        &ro,
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let src = st.dir.path().join("in.txt");
    std::fs::write(&src, "into the volume\n").unwrap();
    st.ok(&["cp", src.to_str().unwrap(), "v:/data/"]);
    // The running container sees it where the volume is mounted…
    assert_eq!(
        st.ok(&["exec", "v", "cat", "/data/in.txt"]).stdout,
        "into the volume\n"
    );
    // …and it comes back out from there.
    st.ok(&["exec", "v", "sh", "-c", "echo made inside > /data/out.txt"]);
    let out = st.dir.path().join("out.txt");
    st.ok(&["cp", "v:/data/out.txt", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "made inside\n");
    // A read-only bind takes nothing.
    let r = st.run(&["cp", src.to_str().unwrap(), "v:/ro/"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(!share.join("in.txt").exists());
    st.ok(&["rm", "-f", "v"]);
}

#[test]
fn attach_passes_terminal_resizes_to_the_monitor() {
    use std::os::fd::AsRawFd;
    let st = Store::new();
    st.ok(&["run", "-dit", "--name", "t", "localhost/bb:1", "sh"]);
    let mut c = st.cmd();
    c.args(["attach", "t"]);
    let script = b"for i in $(seq 200); do [ \"$(stty size)\" = '44 99' ] && echo resized && exit 0; sleep 0.05; done; exit 9\n";
    let (out, code) = on_terminal_then(c, script, true, |term, pid| {
        let ws = libc::winsize {
            ws_row: 44,
            ws_col: 99,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on the test's own terminal, with a valid winsize.
        unsafe { libc::ioctl(term.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        // SAFETY: a signal to the child this test started.
        unsafe { libc::kill(pid as i32, libc::SIGWINCH) };
    });
    assert!(out.contains("resized"), "{out}");
    assert_eq!(code, 0, "{out}");
    assert_eq!(st.inspect("t", ".State.ExitCode"), "0");
}

#[test]
fn restart_policies_and_healthchecks_run_in_the_monitor() {
    let st = Store::new();
    // on-failure:2 — the first run and two restarts; `wait` returns once the
    // monitor gives up.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    assert_eq!(st.ok(&["wait", "flaky"]).stdout, "1\n");
    assert_eq!(st.inspect("flaky", ".RestartCount"), "2");
    assert_eq!(st.ok(&["logs", "flaky"]).stdout, "run\nrun\nrun\n");
    // always — restarted after a clean exit, until the user stops it.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo tick; sleep 0.1",
    ]);
    wait_for("two restarts", || {
        st.inspect("loop", ".RestartCount")
            .parse::<u32>()
            .unwrap_or(0)
            >= 2
    });
    st.ok(&["stop", "-t", "1", "loop"]);
    assert_eq!(st.inspect("loop", ".State.Status"), "exited");
    let count = st.inspect("loop", ".RestartCount");
    st.ok(&["wait", "loop"]);
    assert_eq!(
        st.inspect("loop", ".RestartCount"),
        count,
        "restarted after stop"
    );
    let r = st.run(&[
        "run",
        "--rm",
        "--restart",
        "always",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        st.run(&[
            "run",
            "-d",
            "--restart",
            "sometimes",
            "localhost/bb:1",
            "true"
        ])
        .code
            == 125
    );

    // Healthchecks without systemd: the monitor runs them every interval.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--health-cmd",
        "test -f /tmp/ready",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    wait_for("unhealthy", || {
        st.inspect("svc", ".State.Health.Status") == "unhealthy"
    });
    assert!(st.ok(&["ps"]).stdout.contains("(unhealthy)"));
    assert_eq!(st.run(&["healthcheck", "run", "svc"]).code, 1);
    st.ok(&["exec", "svc", "sh", "-c", "echo > /tmp/ready"]);
    wait_for("healthy", || {
        st.inspect("svc", ".State.Health.Status") == "healthy"
    });
    let r = st.run(&["healthcheck", "run", "svc"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "healthy\n"));
    assert_eq!(st.inspect("svc", ".State.Health.FailingStreak"), "0");
    let r = st.run(&["healthcheck", "run", "flaky"]);
    assert_eq!(r.code, 125, "no healthcheck defined");
}

#[test]
fn security_and_resource_flags() {
    let st = Store::new();
    // The default seccomp filter: on, and a user namespace cannot be made.
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null || echo refused",
    ]);
    assert_eq!(r.stdout, "Seccomp:\t2\nrefused\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "localhost/bb:1",
        "grep",
        "Seccomp:",
        "/proc/self/status",
    ]);
    assert_eq!(r.stdout, "Seccomp:\t0\n");
    // --privileged: no filter, more capabilities than the default eleven, /sys writable.
    let r = st.ok(&[
        "run",
        "--rm",
        "--privileged",
        "localhost/bb:1",
        "sh",
        "-c",
        "grep -E '^(Seccomp|CapEff):' /proc/self/status; grep ' /sys ' /proc/mounts",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let capeff = u64::from_str_radix(lines[0].split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert!(capeff.count_ones() > 11, "{}", r.stdout);
    assert_eq!(lines[1], "Seccomp:\t0");
    assert!(lines[2].contains(" rw,"), "{}", r.stdout);
    let r = st.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "--ulimit",
        "nofile=100:200",
        "localhost/bb:1",
        "sh",
        "-c",
        "grep NoNewPrivs /proc/self/status; ulimit -n; ulimit -Hn",
    ]);
    assert_eq!(r.stdout, "NoNewPrivs:\t1\n100\n200\n");
    // Limits land in the container's cgroup (v1 or v2 file names).
    let r = st.ok(&[
        "run", "--rm", "--memory", "64m", "--pids-limit", "50", "localhost/bb:1", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; true",
    ]);
    assert_eq!(r.stdout, "67108864\n50\n");
    // --env-file, --mount, --replace, --label.
    let envf = st.dir.path().join("env");
    std::fs::write(&envf, "A=1\n# a comment\n\nB=two\n").unwrap();
    let r = st.ok(&[
        "run",
        "--rm",
        "--env-file",
        envf.to_str().unwrap(),
        "-e",
        "B=2",
        "--mount",
        "type=tmpfs,target=/t",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo $A $B; grep -c ' /t tmpfs' /proc/mounts",
    ]);
    assert_eq!(r.stdout, "1 2\n1\n");
    let first = st
        .ok(&[
            "create",
            "--name",
            "same",
            "--label",
            "tier=web",
            "localhost/bb:1",
            "true",
        ])
        .stdout;
    assert_eq!(
        st.run(&["create", "--name", "same", "localhost/bb:1", "true"])
            .code,
        125
    );
    let second = st
        .ok(&[
            "create",
            "--replace",
            "--name",
            "same",
            "localhost/bb:1",
            "true",
        ])
        .stdout;
    assert_ne!(first, second);
    assert_eq!(st.ok(&["ps", "-a", "-q", "--no-trunc"]).stdout, second);
    for bad in [
        ["--memory", "lots"],
        ["--ulimit", "nofile=9:1"],
        ["--security-opt", "bogus"],
        ["--mount", "type=bind,target=/x"],
    ] {
        let r = st.run(&["run", "--rm", bad[0], bad[1], "localhost/bb:1", "true"]);
        assert_eq!(r.code, 125, "{bad:?}: {}", r.stderr);
    }
}

#[test]
fn cp_both_ways_and_symlinks_stay_inside_the_container() {
    let st = Store::new();
    let victim = st.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let script = format!(
        "mkdir -p /d/sub; echo inside > /d/sub/f; ln -s /etc /d/etc-link; ln -s ../../../../../.. /d/up; ln -s {} /d/abs; exec sleep 1000",
        victim.display()
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sh",
        "-c",
        &script,
    ]);
    st.ok(&[
        "exec",
        "c",
        "sh",
        "-c",
        "until [ -L /d/abs ]; do sleep 0.01; done",
    ]);
    // Out: a directory, its symlinks copied as symlinks, never followed.
    let out = st.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    st.ok(&["cp", "c:/d", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("d/sub/f")).unwrap(),
        "inside\n"
    );
    assert_eq!(
        std::fs::read_link(out.join("d/etc-link")).unwrap(),
        Path::new("/etc")
    );
    // Through a symlink inside the container: the container's /etc, not the host's.
    let got = out.join("passwd");
    st.ok(&["cp", "c:/d/etc-link/passwd", got.to_str().unwrap()]);
    let passwd = std::fs::read_to_string(&got).unwrap();
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/sh\nnobody"),
        "{passwd}"
    );
    let got = out.join("group");
    st.ok(&["cp", "c:/d/up/etc/group", got.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        "root:x:0:\nnobody:x:65534:\n"
    );
    // In: through a relative symlink climbing out and an absolute one naming a
    // host directory, the file lands inside the container's root.
    let host_file = st.dir.path().join("planted");
    std::fs::write(&host_file, "from the host\n").unwrap();
    st.ok(&["cp", host_file.to_str().unwrap(), "c:/d/abs/"]);
    assert!(
        std::fs::read_dir(&victim).unwrap().next().is_none(),
        "wrote into the host's directory"
    );
    st.ok(&["cp", host_file.to_str().unwrap(), "c:/d/up/planted"]);
    let r = st.ok(&[
        "exec",
        "c",
        "sh",
        "-c",
        "cat /planted; ls /d/abs/ 2>/dev/null; echo .",
    ]);
    assert!(r.stdout.starts_with("from the host\n"), "{}", r.stdout);
    // A plain copy in, read back by the container.
    st.ok(&["cp", host_file.to_str().unwrap(), "c:/d/sub/"]);
    assert_eq!(
        st.ok(&["exec", "c", "cat", "/d/sub/planted"]).stdout,
        "from the host\n"
    );
    let r = st.run(&["cp", "c:/no/such", out.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = st.run(&["cp", "/etc/hostname", "/tmp/x"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

/// CVE-2018-15664 (docker cp's symlink-exchange race) and CVE-2019-10152
/// (podman cp following a container's symlinks): while the container swaps a
/// directory for a symlink to a host directory and back, as fast as it can,
/// copies in and out never reach the host's directory.
#[test]
fn cp_races_against_symlink_swaps_cve_2018_15664_cve_2019_10152() {
    let st = Store::new();
    let victim = st.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("secret"), "HOST SECRET\n").unwrap();
    let script = format!(
        "mkdir -p /w; while true; do \
           rm -rf /w/swap; mkdir /w/swap; echo container > /w/swap/secret; \
           rm -rf /w/swap; ln -s {v} /w/swap; \
         done",
        v = victim.display()
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "racer",
        "localhost/bb:1",
        "sh",
        "-c",
        &script,
    ]);
    let planted = st.dir.path().join("planted");
    std::fs::write(&planted, "from the host\n").unwrap();
    let out = st.dir.path().join("out");
    let (mut ins, mut outs) = (0, 0);
    for _ in 0..60 {
        if st
            .run(&["cp", planted.to_str().unwrap(), "racer:/w/swap/planted"])
            .code
            == 0
        {
            ins += 1;
        }
        let _ = std::fs::remove_file(&out);
        if st
            .run(&["cp", "racer:/w/swap/secret", out.to_str().unwrap()])
            .code
            == 0
        {
            outs += 1;
            let got = std::fs::read_to_string(&out).unwrap_or_default();
            assert_ne!(
                got, "HOST SECRET\n",
                "cp read the host's file through the symlink"
            );
        }
    }
    let on_host: Vec<_> = std::fs::read_dir(&victim)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(on_host, ["secret"], "cp wrote into the host's directory");
    assert_eq!(
        std::fs::read_to_string(victim.join("secret")).unwrap(),
        "HOST SECRET\n"
    );
    // The race was real: some copies went through, inside the container.
    assert!(ins + outs > 0, "no copy succeeded: the race proved nothing");
    st.ok(&["rm", "-f", "racer"]);
}

#[test]
fn ps_filters_and_sorts() {
    let st = Store::new();
    st.ok(&[
        "create",
        "--name",
        "b-created",
        "--label",
        "tier=web",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(
        st.run(&[
            "run",
            "--name",
            "a-exited",
            "localhost/bb:1",
            "sh",
            "-c",
            "exit 3"
        ])
        .code,
        3
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c-running",
        "--label",
        "tier=db",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let names = |args: &[&str]| {
        let mut full = vec!["ps", "--format", "{{.Names}}"];
        full.extend_from_slice(args);
        st.ok(&full)
            .stdout
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&[]), ["c-running"]);
    assert_eq!(
        names(&["-a"]),
        ["c-running", "a-exited", "b-created"],
        "newest first"
    );
    assert_eq!(
        names(&["-a", "--sort", "names"]),
        ["a-exited", "b-created", "c-running"]
    );
    assert_eq!(names(&["--filter", "status=exited"]), ["a-exited"]);
    assert_eq!(names(&["--filter", "exited=3"]), ["a-exited"]);
    assert_eq!(
        names(&["-a", "--filter", "label=tier"]),
        ["c-running", "b-created"]
    );
    assert_eq!(names(&["-a", "--filter", "label=tier=web"]), ["b-created"]);
    assert_eq!(
        names(&["-a", "--filter", "name=created", "--filter", "name=exited"]),
        ["a-exited", "b-created"]
    );
    assert_eq!(
        names(&["-a", "--filter", "ancestor=localhost/bb:1"]).len(),
        3
    );
    assert_eq!(st.run(&["ps", "--filter", "color=red"]).code, 125);
    assert_eq!(st.run(&["ps", "--sort", "colour"]).code, 125);
}

#[test]
fn export_then_import_round_trips_a_containers_files() {
    let st = Store::new();
    st.ok(&[
        "run",
        "--name",
        "src",
        "localhost/bb:1",
        "sh",
        "-c",
        "mkdir /app && echo v2 > /app/version && ln -s version /app/current",
    ]);
    let tar = st.dir.path().join("src.tar");
    st.ok(&["export", "-o", tar.to_str().unwrap(), "src"]);
    st.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/flat:1"]);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/flat:1",
        "sh",
        "-c",
        "cat /app/current; readlink /app/current",
    ]);
    assert_eq!(r.stdout, "v2\nversion\n");
    assert_eq!(
        st.run(&["export", "-o", tar.to_str().unwrap(), "nobody"])
            .code,
        125
    );
    assert!(tar.exists(), "a failed export replaced the archive");
}

/// A network namespace made for one test (the bridge, its addresses and the
/// iptables rules of published ports live and die with it); berth runs in it
/// through nsenter, which leaves the mount namespace alone.
struct TestNetns {
    name: String,
}

impl TestNetns {
    fn new(tag: &str) -> TestNetns {
        let name = format!("berth-t{}-{tag}", std::process::id());
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        ok(Command::new("ip").args(["netns", "add", &name]));
        ok(Command::new("ip").args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"]));
        TestNetns { name }
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// A command run inside the namespace.
    fn wrap(&self, c: &Command) -> Command {
        let mut n = Command::new("nsenter");
        n.arg(format!("--net={}", self.path()))
            .arg(c.get_program())
            .args(c.get_args());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => n.env(k, v),
                None => n.env_remove(k),
            };
        }
        n
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        // What is still running in it (an aardvark-dns a failed test left).
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn bridge_networks_through_netavark() {
    bridge_networks_publish_ports_and_resolve_names("netavark");
}

#[test]
fn bridge_networks_through_cni_plugins() {
    bridge_networks_publish_ports_and_resolve_names("cni");
}

fn bridge_networks_publish_ports_and_resolve_names(backend: &str) {
    let st = Store::new();
    let ns = TestNetns::new(&backend[..3]);
    let conf = st.dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        format!("[containers]\nnetns = \"none\"\n[network]\nnetwork_backend = \"{backend}\"\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF", &conf).args(args);
        run_cmd(&mut ns.wrap(&c))
    };
    let ok = |args: &[&str]| {
        let r = run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    };
    ok(&["network", "create", "--subnet", "10.91.0.0/24", "app"]);
    assert!(ok(&["network", "ls", "-q"]).stdout.contains("app"));
    ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "app",
        "--network-alias",
        "www",
        "-p",
        "127.0.0.1:18080:80",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo hello-web > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
    let ip = ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        "web",
    ])
    .stdout;
    assert!(ip.starts_with("10.91.0."), "{ip}");
    // The host by name, at the gateway; HOSTNAME as podman sets it.
    let r = ok(&[
        "exec",
        "web",
        "sh",
        "-c",
        "grep host.containers.internal /etc/hosts; echo $HOSTNAME",
    ]);
    let id = ok(&["inspect", "--format", "{{.Id}}", "web"]).stdout;
    assert_eq!(
        r.stdout,
        format!("10.91.0.1\thost.containers.internal\n{}\n", &id[..12])
    );
    // Another container on the network reaches it by name.
    let r = ok(&[
        "run",
        "--rm",
        "--network",
        "app",
        "localhost/bb:1",
        "sh",
        "-c",
        "until wget -q -O - http://web/index.html; do sleep 0.05; done; wget -q -O - http://www/index.html",
    ]);
    assert_eq!(r.stdout, "hello-web\nhello-web\n", "by name, then by alias");
    if backend == "netavark" {
        // aardvark-dns on the gateway answers for the network's containers.
        let r = ok(&[
            "run",
            "--rm",
            "--network",
            "app",
            "localhost/bb:1",
            "sh",
            "-c",
            "grep -E '^(nameserver|search)' /etc/resolv.conf; nslookup web; nslookup www.dns.podman",
        ]);
        assert!(r.stdout.contains("nameserver 10.91.0.1\n"), "{}", r.stdout);
        assert_eq!(r.stdout.matches("nameserver").count(), 1, "{}", r.stdout);
        assert!(r.stdout.contains("dns.podman"), "{}", r.stdout);
        // Both names answer with web's address: its own and its alias.
        for name in ["web", "www"] {
            let answer = format!("Name:\t{name}.dns.podman\nAddress: {}\n", ip.trim());
            assert!(r.stdout.contains(&answer), "{name}: {}", r.stdout);
        }
        let v = json(&ok(&["network", "inspect", "app"]).stdout);
        assert_eq!(v[0]["dns_enabled"], true, "{v}");
        assert_eq!(v[0]["subnets"][0]["gateway"], "10.91.0.1", "{v}");
    }
    // The published port answers on the namespace's loopback.
    let mut wget = Command::new("/bin/busybox");
    wget.args(["wget", "-q", "-O", "-", "http://127.0.0.1:18080/index.html"]);
    let r = run_cmd(&mut ns.wrap(&wget));
    assert_eq!(r.stdout, "hello-web\n", "{}", r.stderr);
    assert_eq!(ok(&["port", "web"]).stdout, "80/tcp -> 127.0.0.1:18080\n");
    // A host port left out is chosen, and shown.
    ok(&[
        "run",
        "-d",
        "--name",
        "auto",
        "--network",
        "app",
        "-p",
        "127.0.0.1::80",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo auto > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
    let shown = ok(&["port", "auto"]).stdout;
    let addr = shown
        .trim()
        .strip_prefix("80/tcp -> ")
        .unwrap_or_else(|| panic!("{shown}"))
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    // (httpd may still be starting: a bounded wait for it to answer.)
    let mut wget = Command::new("/bin/busybox");
    wget.args(["sh", "-c"]).arg(format!(
        "for i in $(seq 200); do busybox wget -q -O - http://{addr}/index.html && exit; sleep 0.05; done"
    ));
    let r = run_cmd(&mut ns.wrap(&wget));
    assert_eq!(r.stdout, "auto\n", "{}", r.stderr);
    ok(&["rm", "-f", "auto"]);
    assert!(ok(&["ps"]).stdout.contains("127.0.0.1:18080->80/tcp"));
    // A network in use stays; -p without a bridge network is refused.
    assert_eq!(run(&["network", "rm", "app"]).code, 125);
    assert_eq!(
        run(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-p",
            "1:1",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
    // -P publishes what the image exposes (none here) and --expose adds
    // (inside this test's namespace), and joins the bridge.
    let r = ok(&[
        "run",
        "-d",
        "--name",
        "all",
        "-P",
        "--expose",
        "8080",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(r.code, 0);
    let shown = ok(&["port", "all"]).stdout;
    assert!(shown.starts_with("8080/tcp -> 0.0.0.0:"), "{shown}");
    assert_eq!(
        ok(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", "all"])
            .stdout
            .trim(),
        "bridge"
    );
    ok(&["rm", "-f", "all"]);
    ok(&["rm", "-f", "web"]);
    ok(&["network", "rm", "app"]);
    // Nothing left: no pinned namespaces, no port rules.
    let pins = st.dir.path().join("run/netns");
    assert_eq!(
        std::fs::read_dir(&pins).map(|d| d.count()).unwrap_or(0),
        0,
        "a namespace pin was left"
    );
    let mut ipt = Command::new("iptables");
    ipt.args(["-t", "nat", "-S"]);
    let rules = run_cmd(&mut ns.wrap(&ipt)).stdout;
    assert!(!rules.contains("18080"), "{rules}");
    // rm -af in Store's Drop must run in the namespace too: nothing is left to it.
    assert_eq!(ok(&["ps", "-a", "-q"]).stdout, "");
    // aardvark-dns left with the last container; nothing runs in the namespace.
    let pids = Command::new("ip")
        .args(["netns", "pids", &ns.name])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pids.stdout).trim(), "");
    // With no netns in containers.conf, root's containers get the default
    // bridge network, as podman's do.
    std::fs::write(
        &conf,
        format!("[network]\nnetwork_backend = \"{backend}\"\n"),
    )
    .unwrap();
    let r = ok(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "ip -4 -o addr show eth0",
    ]);
    assert!(r.stdout.contains("inet 10.89."), "{}", r.stdout);
    let pins = std::fs::read_dir(st.dir.path().join("run/netns")).map(|d| d.count());
    assert_eq!(pins.unwrap_or(0), 0, "a namespace pin was left");
}

#[test]
fn rename_logs_window_inspect_images_and_pull_on_run() {
    let st = Store::new();
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
    let other = Store::new();
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

#[test]
fn init_runs_as_pid_1_passes_signals_and_keeps_the_exit_code() {
    let st = Store::new();
    let r = st.run(&[
        "run",
        "--rm",
        "--init",
        "localhost/bb:1",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; exit 4",
    ]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("/run/berth-init -- sh -c"),
        "{}",
        r.stdout
    );
    // sleep as PID 1 ignores SIGTERM (137 after the timeout); under the init it
    // gets the signal and dies of it (143).
    st.ok(&[
        "run",
        "-d",
        "--init",
        "--name",
        "i",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    st.ok(&["stop", "-t", "30", "i"]);
    assert_eq!(st.inspect("i", ".State.ExitCode"), "143");
    let r = st.run(&["run", "--rm", "--init", "localhost/bb:1", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
}

#[test]
fn runc_runs_containers_through_the_same_commands() {
    let st = Store::new();
    let r = st.run(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo via runc; exit 5",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (5, "via runc\n"),
        "{}",
        r.stderr
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "r",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo up; exec sleep 1000",
    ]);
    // runc keeps its own state, under the run root.
    let list = Command::new("runc")
        .arg("--root")
        .arg(st.dir.path().join("run/runc"))
        .args(["list", "-q"])
        .output()
        .unwrap();
    let id = st.inspect("r", ".Id");
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), id);
    assert_eq!(
        st.ok(&["exec", "-u", "nobody", "r", "id", "-u"]).stdout,
        "65534\n"
    );
    assert!(st.ok(&["top", "r"]).stdout.contains("sleep 1000"));
    st.ok(&["pause", "r"]);
    st.ok(&["unpause", "r"]);
    st.ok(&["stop", "-t", "1", "r"]);
    assert_eq!(st.inspect("r", ".State.ExitCode"), "137");
    assert_eq!(st.ok(&["logs", "r"]).stdout, "up\n");
    st.ok(&["rm", "r"]);
    let r = st.run(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "no-such-command",
    ]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--runtime",
            "no-such-runtime",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
    let left = Command::new("runc")
        .arg("--root")
        .arg(st.dir.path().join("run/runc"))
        .args(["list", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&left.stdout).trim(),
        "",
        "runc state left"
    );
}

#[test]
fn crun_and_berth_oci_binaries_run_containers() {
    let st = Store::new();
    let oci = Path::new(env!("CARGO_BIN_EXE_berth"))
        .with_file_name("berth-oci")
        .to_string_lossy()
        .into_owned();
    assert!(
        Path::new(&oci).is_file(),
        "{oci}: build the workspace first"
    );
    let r = st.run(&[
        "--runtime",
        &oci,
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo via berth-oci; exit 3",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (3, "via berth-oci\n"),
        "{}",
        r.stderr
    );
    st.ok(&[
        "--runtime",
        &oci,
        "run",
        "-d",
        "--name",
        "o",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(st.inspect("o", ".OCIRuntime"), oci);
    assert_eq!(st.ok(&["exec", "o", "echo", "in"]).stdout, "in\n");
    st.ok(&["stop", "-t", "1", "o"]);
    assert_eq!(st.inspect("o", ".State.ExitCode"), "137");
    st.ok(&["rm", "o"]);
    // crun 1.8 refuses this machine's hybrid cgroup layout: it runs in a
    // mount namespace of its own without the cgroup2 mount, as on a v1 host.
    let mut c = st.cmd();
    c.args([
        "--runtime",
        "crun",
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo via crun; exit 4",
    ]);
    let mut u = Command::new("unshare");
    u.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            u.env(k, v);
        }
    }
    let r = run_cmd(&mut u);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (4, "via crun\n"),
        "{}",
        r.stderr
    );
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
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
    let st = Store::new();
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
fn containers_conf_chooses_the_runtime() {
    let st = Store::new();
    let conf = st.dir.path().join("containers.conf");
    let with_conf = |text: &str, args: &[&str]| {
        std::fs::write(&conf, text).unwrap();
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF", &conf).args(args);
        run_cmd(&mut c)
    };
    // [engine] runtime: new containers get it; --runtime still wins.
    let engine = "[containers]\nnetns = \"none\"\n[engine]\nruntime = \"runc\"\n";
    let r = with_conf(engine, &["create", "--name", "a", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(st.inspect("a", ".OCIRuntime"), "runc");
    let r = with_conf(
        engine,
        &[
            "--runtime",
            "berth",
            "create",
            "--name",
            "b",
            "localhost/bb:1",
            "true",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(st.inspect("b", ".OCIRuntime"), "berth");
    let r = with_conf(engine, &["start", "-a", "a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // [engine.runtimes]: a name for the first of its paths that exists.
    let named = "[containers]\nnetns = \"none\"\n[engine.runtimes]\n\
                 mine = [\"/nonexistent/runc\", \"/usr/sbin/runc\"]\n\
                 gone = [\"/nonexistent/runc\"]\n";
    let r = with_conf(
        named,
        &[
            "--runtime",
            "mine",
            "run",
            "--rm",
            "localhost/bb:1",
            "echo",
            "mine",
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "mine\n"), "{}", r.stderr);
    let r = with_conf(
        named,
        &["--runtime", "gone", "run", "--rm", "localhost/bb:1", "true"],
    );
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("/nonexistent/runc"), "{}", r.stderr);
    // A broken file is named, in one line, and nothing is created.
    let r = with_conf(
        "[engine\n",
        &["create", "--name", "c", "localhost/bb:1", "true"],
    );
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("containers.conf"), "{}", r.stderr);
    assert_eq!(st.run(&["container", "exists", "c"]).code, 1);
}

#[test]
fn attach_detach_keys_and_start_attached() {
    let st = Store::new();
    // -dit: the monitor holds the terminal; attach types into it and gets the
    // container's exit code when it ends.
    st.ok(&["run", "-dit", "--name", "t", "localhost/bb:1", "sh"]);
    let mut c = st.cmd();
    c.args(["attach", "t"]);
    let (out, code) = on_terminal(c, b"echo from-attach; exit 3\n");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("from-attach"), "{out}");
    assert_eq!(st.inspect("t", ".State.ExitCode"), "3");
    // Detach keys leave it running.
    st.ok(&["run", "-dit", "--name", "d", "localhost/bb:1", "sh"]);
    let mut c = st.cmd();
    c.args(["attach", "d"]);
    let (_, code) = on_raw_terminal(c, b"\x10\x11");
    assert_eq!(code, 0);
    assert_eq!(st.inspect("d", ".State.Status"), "running");
    let mut c = st.cmd();
    c.args(["attach", "--detach-keys", "ctrl-x", "d"]);
    let (_, code) = on_raw_terminal(c, b"\x18");
    assert_eq!(code, 0);
    // start -a sees the output from its first byte, on the right streams.
    st.ok(&[
        "create",
        "--name",
        "s",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo first-byte; echo on-stderr >&2; exit 7",
    ]);
    let r = st.run(&["start", "-a", "s"]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (7, "first-byte\n", "on-stderr\n")
    );
    // -di: attach feeds stdin through the monitor.
    st.ok(&[
        "run",
        "-di",
        "--name",
        "i",
        "localhost/bb:1",
        "sh",
        "-c",
        "read l; echo got:$l; exit 0",
    ]);
    let mut c = st.cmd();
    c.args(["attach", "i"]).stdin(std::process::Stdio::piped());
    let mut child = c.stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got:hello\n");
    assert_eq!(out.status.code(), Some(0));
    let r = st.run(&["attach", "s"]);
    assert_eq!(r.code, 125, "attach to a stopped container");
}

#[test]
fn diff_lists_what_the_container_changed() {
    let st = Store::new();
    st.ok(&[
        "run",
        "--name",
        "c",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo x > /etc/motd; mkdir -p /opt/a; echo y > /opt/a/b; rm /bin/vi",
    ]);
    assert_eq!(
        st.ok(&["diff", "c"]).stdout,
        "C /bin\nD /bin/vi\nC /etc\nA /etc/motd\nA /opt\nA /opt/a\nA /opt/a/b\n"
    );
    // The runtime's mount points (/proc, /etc/hosts …) are not changes.
    st.ok(&["run", "--name", "quiet", "localhost/bb:1", "true"]);
    assert_eq!(st.ok(&["diff", "quiet"]).stdout, "");
    let v = json(&st.ok(&["diff", "--format", "json", "c"]).stdout);
    assert_eq!(v["deleted"], serde_json::json!(["/bin/vi"]));
}

#[test]
fn devices_and_sharing_another_containers_network() {
    let st = Store::new();
    let r = st.ok(&[
        "run",
        "--rm",
        "--device",
        "/dev/null:/dev/mynull:rw",
        "localhost/bb:1",
        "sh",
        "-c",
        "stat -c '%F %t:%T' /dev/mynull; echo x > /dev/mynull && echo wrote",
    ]);
    assert_eq!(r.stdout, "character special file 1:3\nwrote\n");
    // Without the device rule the node cannot be opened even if made by hand.
    let r = st.run(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "mknod /tmp/n c 1 3 && echo x > /tmp/n",
    ]);
    assert_ne!(r.code, 0, "a device outside the allowed set was usable");
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--device",
            "/etc/passwd",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
    // --network container:NAME joins that container's network namespace.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "net-owner",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let a = st
        .ok(&["exec", "net-owner", "readlink", "/proc/self/ns/net"])
        .stdout;
    let b = st
        .ok(&[
            "run",
            "--rm",
            "--network",
            "container:net-owner",
            "localhost/bb:1",
            "readlink",
            "/proc/self/ns/net",
        ])
        .stdout;
    let c = st
        .ok(&[
            "run",
            "--rm",
            "localhost/bb:1",
            "readlink",
            "/proc/self/ns/net",
        ])
        .stdout;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--network",
            "container:nobody",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
}

#[test]
fn stats_info_and_system_prune() {
    let st = Store::new();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "localhost/bb:1",
        "sh",
        "-c",
        "sleep 1000 & sleep 1000",
    ]);
    // The shell forks its first sleep on its own schedule.
    let stats = || json(&st.ok(&["stats", "--no-stream", "--format", "json"]).stdout);
    wait_for("both processes", || {
        stats()[0]["pids"].as_u64().unwrap_or(0) >= 2
    });
    let v = stats();
    let s = &v[0];
    assert_eq!(s["name"], "busy");
    assert_eq!(s["mem_limit"], 64 << 20);
    assert!(s["mem_usage"].as_u64().unwrap() > 0, "{s}");
    assert!(s["pids"].as_u64().unwrap() >= 2, "{s}");
    let table = st.ok(&["stats", "--no-stream"]).stdout;
    assert!(table.starts_with("ID") && table.contains("busy"), "{table}");
    // podman's template names.
    let r = st.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
    ]);
    assert!(
        r.stdout.starts_with("busy ") && r.stdout.contains(" / 64"),
        "{}",
        r.stdout
    );
    // Without --no-stream: a table per interval while the container runs,
    // and the end once it has stopped.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "short",
        "localhost/bb:1",
        "sleep",
        "4",
    ]);
    let r = st.ok(&["stats", "--format", "{{.Name}}", "short"]);
    let frames = r.stdout.lines().filter(|l| *l == "short").count();
    assert!(frames >= 2, "{}", r.stdout);
    let info = json(&st.ok(&["info", "--format", "json"]).stdout);
    assert_eq!(info["store"]["containerStore"]["running"], 1);
    assert_eq!(info["store"]["graphDriverName"], "overlay");
    assert!(st.ok(&["info"]).stdout.contains("graphRoot: "));
    // system prune: stopped containers and dangling images go, running ones stay.
    st.ok(&["create", "--name", "idle", "localhost/bb:1", "true"]);
    st.ok(&["volume", "create", "spare"]);
    let r = st.ok(&["system", "prune", "--volumes"]).stdout;
    assert!(
        r.contains("Deleted Containers") && r.contains("spare"),
        "{r}"
    );
    assert_eq!(st.run(&["container", "exists", "idle"]).code, 1);
    assert_eq!(st.run(&["container", "exists", "busy"]).code, 0);
    assert_eq!(st.run(&["image", "exists", "localhost/bb:1"]).code, 0);
}

#[test]
fn log_driver_none_keeps_no_log() {
    let st = Store::new();
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
    assert!(r.stderr.contains("none"), "{}", r.stderr);
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

#[test]
fn exec_it_gives_the_process_a_terminal() {
    let st = Store::new();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let mut c = st.cmd();
    c.args(["exec", "-it", "box", "sh"]);
    let (out, code) = on_terminal(c, b"tty; echo in-exec; exit 6\n");
    assert_eq!(code, 6, "{out}");
    assert!(
        out.contains("/dev/pts/") && out.contains("in-exec"),
        "{out}"
    );
    // The same through runc.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "rbox",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let mut c = st.cmd();
    c.args(["exec", "-it", "rbox", "sh"]);
    let (out, code) = on_terminal(c, b"echo via-runc; exit 4\n");
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("via-runc"), "{out}");
}

#[test]
fn image_volumes_sizes_and_table_templates() {
    let st = Store::new();
    let ctx = st.dir.path().join("vol-ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN mkdir -p /data && echo seed > /data/seed && chown nobody /data\nVOLUME /data\n",
    )
    .unwrap();
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/vol:1",
        ctx.to_str().unwrap(),
    ]);
    let volumes = || {
        st.ok(&["volume", "ls", "-q"])
            .stdout
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // An anonymous volume, filled from the image on first use; it outlives the run.
    let r = st.ok(&[
        "run",
        "--name",
        "v1",
        "localhost/vol:1",
        "sh",
        "-c",
        "cat /data/seed; stat -c %U /data; echo more > /data/more",
    ]);
    assert_eq!(r.stdout, "seed\nnobody\n");
    let anon = volumes();
    assert_eq!(anon.len(), 1, "{anon:?}");
    assert_eq!(anon[0].len(), 64);
    let r = st.ok(&["start", "-a", "v1"]);
    assert_eq!(r.stdout, "seed\nnobody\n", "the same volume on restart");
    // rm keeps it; rm -v takes it.
    st.ok(&["run", "--name", "v2", "localhost/vol:1", "true"]);
    assert_eq!(volumes().len(), 2);
    st.ok(&["rm", "v2"]);
    assert_eq!(
        volumes().len(),
        2,
        "rm without -v keeps the anonymous volume"
    );
    st.ok(&["rm", "-v", "v1"]);
    assert_eq!(volumes().len(), 1);
    // --rm takes its anonymous volume with it; a named volume is filled once.
    st.ok(&["volume", "prune", "-f"]);
    st.ok(&["run", "--rm", "localhost/vol:1", "true"]);
    assert_eq!(volumes(), Vec::<String>::new());
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        "named:/data",
        "localhost/vol:1",
        "sh",
        "-c",
        "cat /data/seed; rm /data/seed",
    ]);
    assert_eq!(r.stdout, "seed\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        "named:/data",
        "localhost/vol:1",
        "ls",
        "/data",
    ]);
    assert_eq!(r.stdout, "", "copied up on first use only");

    // ps -s: what a container wrote, and with its image.
    st.ok(&["create", "--name", "sized", "localhost/bb:1", "true"]);
    st.ok(&[
        "run",
        "--name",
        "writer",
        "localhost/bb:1",
        "sh",
        "-c",
        "head -c 300000 /dev/zero > /blob",
    ]);
    let t = st.ok(&["ps", "-a", "-s", "--sort", "size"]).stdout;
    let head = t.lines().next().unwrap();
    assert!(head.ends_with("SIZE"), "{t}");
    let last = t.lines().last().unwrap();
    assert!(
        last.contains("writer") && last.contains("300") && last.contains("virtual"),
        "{t}"
    );
    // A table template: podman's headers, aligned columns.
    let t = st
        .ok(&[
            "ps",
            "-a",
            "--format",
            "table {{.ID}}\t{{.Names}}\t{{.Status}}",
        ])
        .stdout;
    let lines: Vec<&str> = t.lines().collect();
    assert!(
        lines[0].starts_with("CONTAINER ID")
            && lines[0].contains("NAMES")
            && lines[0].contains("STATUS"),
        "{t}"
    );
    let col = lines[0].find("NAMES").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.len() > col && l.as_bytes()[col - 1] == b' '),
        "columns are aligned: {t}"
    );
    let t = st
        .ok(&[
            "images",
            "--format",
            "table {{.ID}} {{.Repository}}:{{.Tag}}",
        ])
        .stdout;
    assert!(t.starts_with("IMAGE ID REPOSITORY:TAG\n"), "{t}");
    st.ok(&["rm", "-af"]);
}

#[test]
fn everyday_docker_commands_work_through_alias_docker() {
    let st = Store::new();
    // alias docker=berth: the same binary under docker's name.
    let bin = st.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_berth"), bin.join("docker")).unwrap();
    let docker = |args: &[&str]| {
        let mut c = Command::new(bin.join("docker"));
        c.env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
            .env("BERTH_OCI_EXE_DIR", st.dir.path().join("exe"))
            .arg("--root")
            .arg(st.dir.path().join("root"))
            .arg("--runroot")
            .arg(st.dir.path().join("run"))
            .args(args)
            .stdin(std::process::Stdio::null());
        let r = run_cmd(&mut c);
        assert_eq!(r.code, 0, "docker {args:?}: {}", r.stderr);
        r
    };
    assert_eq!(
        docker(&["run", "--rm", "localhost/bb:1", "echo", "hi"]).stdout,
        "hi\n"
    );
    docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    assert_eq!(
        docker(&["ps", "--format", "{{.Names}}"]).stdout.trim(),
        "web"
    );
    assert_eq!(
        docker(&["container", "ls", "-a", "-q"])
            .stdout
            .lines()
            .count(),
        1
    );
    assert_eq!(
        docker(&["exec", "web", "echo", "inside"]).stdout,
        "inside\n"
    );
    assert_eq!(
        docker(&["container", "exec", "web", "hostname"])
            .stdout
            .trim()
            .len(),
        12
    );
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            "web"
        ])
        .stdout
        .trim(),
        "running"
    );
    docker(&["container", "stop", "-t", "0", "web"]);
    docker(&["container", "rm", "web"]);
    docker(&["image", "tag", "localhost/bb:1", "localhost/bb:copy"]);
    let names = docker(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout;
    assert!(names.contains("localhost/bb:copy"), "{names}");
    docker(&["image", "rm", "localhost/bb:copy"]);
    docker(&[
        "container",
        "create",
        "--name",
        "c",
        "localhost/bb:1",
        "true",
    ]);
    docker(&["container", "start", "-a", "c"]);
    docker(&[
        "container",
        "cp",
        "c:/etc/passwd",
        st.dir.path().join("passwd").to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(st.dir.path().join("passwd"))
            .unwrap()
            .contains("root")
    );
    docker(&["container", "rm", "c"]);
    let v = docker(&["version", "--format", "{{.Client.Version}}"]).stdout;
    assert_eq!(v.trim(), env!("CARGO_PKG_VERSION"));
    let v = json(&docker(&["version", "--format", "json"]).stdout);
    assert_eq!(v["Client"]["Os"], "linux");
}

#[test]
fn stop_signals_capabilities_exec_detached_and_follow() {
    let st = Store::new();
    let ctx = st.dir.path().join("sig-ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nSTOPSIGNAL SIGUSR1\n",
    )
    .unwrap();
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/sig:1",
        ctx.to_str().unwrap(),
    ]);
    let script = "trap 'echo got-usr1; exit 7' USR1; trap 'echo got-usr2; exit 8' USR2; echo ready; while :; do sleep 0.1; done";
    // The image's STOPSIGNAL, then --stop-signal over it.
    for (name, extra, want, code) in [
        ("img-signal", vec![], "got-usr1", "7"),
        (
            "flag-signal",
            vec!["--stop-signal", "SIGUSR2"],
            "got-usr2",
            "8",
        ),
    ] {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend(extra);
        args.extend(["localhost/sig:1", "sh", "-c", script]);
        st.ok(&args);
        wait_for("ready", || st.ok(&["logs", name]).stdout.contains("ready"));
        st.ok(&["stop", "-t", "10", name]);
        assert!(st.ok(&["logs", name]).stdout.contains(want), "{name}");
        assert_eq!(st.inspect(name, ".State.ExitCode"), code, "{name}");
    }
    // kill -s delivers the signal named.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "killed",
        "localhost/sig:1",
        "sh",
        "-c",
        script,
    ]);
    wait_for("ready", || {
        st.ok(&["logs", "killed"]).stdout.contains("ready")
    });
    st.ok(&["kill", "-s", "USR2", "killed"]);
    assert_eq!(st.ok(&["wait", "killed"]).stdout.trim(), "8");
    // exec -d: the process runs on its own; ps -n 1 is the newest container.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "bg",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    st.ok(&["exec", "-d", "bg", "sh", "-c", "echo detached > /tmp/done"]);
    wait_for("exec -d", || {
        st.run(&["exec", "bg", "cat", "/tmp/done"]).stdout == "detached\n"
    });
    assert_eq!(
        st.ok(&["ps", "-a", "-n", "1", "--format", "{{.Names}}"])
            .stdout
            .trim(),
        "bg"
    );
    st.ok(&["rm", "-f", "bg"]);
    // --cap-drop and --cap-add change the effective set.
    let capeff = |extra: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend(extra);
        args.extend([
            "localhost/bb:1",
            "sh",
            "-c",
            "grep CapEff /proc/self/status",
        ]);
        let out = st.ok(&args).stdout;
        u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    const CHOWN: u64 = 1 << 0;
    const NET_ADMIN: u64 = 1 << 12;
    let default = capeff(&[]);
    assert!(
        default & CHOWN != 0 && default & NET_ADMIN == 0,
        "{default:x}"
    );
    assert_eq!(capeff(&["--cap-drop", "CHOWN"]) & CHOWN, 0);
    assert_ne!(capeff(&["--cap-add", "NET_ADMIN"]) & NET_ADMIN, 0);
    assert_eq!(capeff(&["--cap-drop", "ALL"]), 0);
    // logs -f follows until the container exits.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "localhost/bb:1",
        "sh",
        "-c",
        "for i in 1 2 3; do echo line$i; sleep 0.2; done",
    ]);
    let r = st.ok(&["logs", "-f", "talker"]);
    assert_eq!(r.stdout, "line1\nline2\nline3\n");
    st.ok(&["rm", "-af"]);
}

#[test]
fn network_connect_and_disconnect() {
    let st = Store::new();
    let ns = TestNetns::new("conn");
    let run = |args: &[&str]| {
        let mut c = st.cmd();
        c.args(args);
        run_cmd(&mut ns.wrap(&c))
    };
    let ok = |args: &[&str]| {
        let r = run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    };
    ok(&["network", "create", "--subnet", "10.92.0.0/24", "front"]);
    ok(&["network", "create", "--subnet", "10.93.0.0/24", "back"]);
    ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "back",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo from-db > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
    ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "front",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    // Not connected yet: app does not know db, nor db app.
    assert!(
        !ok(&["exec", "db", "cat", "/etc/hosts"])
            .stdout
            .contains("\tapp")
    );
    assert!(
        !ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    let r = run(&[
        "exec",
        "app",
        "wget",
        "-q",
        "-T",
        "1",
        "-O",
        "-",
        "http://db/index.html",
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    ok(&["network", "connect", "back", "app"]);
    let r = ok(&[
        "exec",
        "app",
        "sh",
        "-c",
        "ip -4 -o addr show eth1; for i in $(seq 200); do wget -q -O - http://db/index.html && break; sleep 0.05; done",
    ]);
    assert!(r.stdout.contains("10.93.0."), "{}", r.stdout);
    assert!(r.stdout.ends_with("from-db\n"), "{}", r.stdout);
    // Twice is an error; a network the container is not on cannot be left.
    assert_eq!(run(&["network", "connect", "back", "app"]).code, 125);
    ok(&["network", "disconnect", "back", "app"]);
    let r = ok(&[
        "exec",
        "app",
        "sh",
        "-c",
        "ip -o link | grep -c eth1 || true",
    ]);
    assert_eq!(r.stdout.trim(), "0", "eth1 is gone");
    assert!(
        !ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    ok(&["network", "connect", "back", "app"]);
    assert!(
        ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    // A connection is the container's: it is back after a restart, and the
    // network cannot go while the container is on it.
    ok(&["restart", "-t", "0", "app"]);
    let r = ok(&["exec", "app", "sh", "-c", "ip -4 -o addr show eth1"]);
    assert!(r.stdout.contains("10.93.0."), "{}", r.stdout);
    assert_eq!(run(&["network", "rm", "back"]).code, 125);
    // Two --network flags: two interfaces from the start.
    let r = ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "--network",
        "back",
        "localhost/bb:1",
        "sh",
        "-c",
        "ip -4 -o addr | grep -c 'eth[01]'",
    ]);
    assert_eq!(r.stdout.trim(), "2", "{}", r.stdout);
    // A container that goes is forgotten by those that stay.
    ok(&["rm", "-f", "db"]);
    assert!(
        !ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    ok(&["network", "disconnect", "back", "app"]);
    let r = run(&["network", "disconnect", "back", "app"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not connected"), "{}", r.stderr);
    // A container without a bridge network cannot be connected.
    ok(&[
        "run",
        "-d",
        "--name",
        "lonely",
        "--network",
        "none",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    assert_eq!(run(&["network", "connect", "back", "lonely"]).code, 125);
    ok(&["rm", "-af"]);
    // ls takes podman's --format and --filter; exists and prune as podman's.
    let r = ok(&[
        "network",
        "ls",
        "--filter",
        "name=fro",
        "--format",
        "{{.Name}} {{.Driver}}",
    ]);
    assert_eq!(r.stdout, "front bridge\n");
    assert_eq!(run(&["network", "exists", "front"]).code, 0);
    let pruned = ok(&["network", "prune"]).stdout;
    assert_eq!(pruned, "back\nfront\n");
    assert_eq!(run(&["network", "exists", "front"]).code, 1);
}
