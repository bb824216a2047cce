//! A container's state is derived from its processes, not from what the last
//! writer hoped: when its monitor (or the foreground `berth run`) is killed,
//! a container whose process still runs is running, and stop, kill, rm and
//! start work on it; nothing of the dead monitor piles up.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Stdio;

use common::store::TestStore;
use common::*;

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.rsplit(") ").next().unwrap_or("").starts_with('Z'))
}

/// The pid of the process whose command line is `berth … __monitor ID`.
fn monitor_of(id: &str) -> i32 {
    let wanted = format!("__monitor\0{id}");
    let found: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&wanted))
        })
        .collect();
    // A child the monitor forked (the container's process before its exec)
    // carries the same command line for a moment: the monitor is the one
    // whose parent is not among them.
    let ppid = |pid: &i32| -> i32 {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(") ").next()?.split(' ').nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    let monitors: Vec<i32> = found
        .iter()
        .copied()
        .filter(|p| !found.contains(&ppid(p)))
        .collect();
    assert_eq!(monitors.len(), 1, "monitors of {id}: {found:?}");
    monitors[0]
}

/// SIGKILLs the container's monitor, found by its command line; returns its pid.
fn kill_monitor(st: &TestStore, name: &str) -> i32 {
    let pid = monitor_of(&st.inspect(name, ".Id"));
    assert!(pid > 0);
    // SAFETY: a positive pid, found above to be the monitor's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    wait_for("the monitor to die", || !alive(pid));
    pid
}

fn status(st: &TestStore, name: &str) -> String {
    st.inspect(name, ".State.Status")
}

#[test]
fn a_container_whose_monitor_died_is_still_running_and_can_be_stopped() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let pid: i32 = st.inspect("c", ".State.Pid").parse().unwrap();
    kill_monitor(&st, "c");
    assert!(alive(pid));
    assert_eq!(status(&st, "c"), "running");
    assert_eq!(st.inspect("c", ".State.Pid"), pid.to_string());
    let ps = st.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]).stdout;
    assert!(ps.trim().starts_with("c Up "), "{ps}");
    st.ok(&["stop", "-t", "1", "c"]);
    wait_for("the container's process to end", || !alive(pid));
    assert_eq!(status(&st, "c"), "exited");
    // It starts again, under a new monitor, and is removed cleanly.
    st.ok(&["start", "c"]);
    assert_eq!(status(&st, "c"), "running");
    let again: i32 = st.inspect("c", ".State.Pid").parse().unwrap();
    assert!(again != pid && alive(again));
    // inspect names the new monitor, as podman's ConmonPid.
    let monitor = monitor_of(&st.inspect("c", ".Id"));
    assert_eq!(st.inspect("c", ".State.ConmonPid"), monitor.to_string());
    st.ok(&["rm", "-f", "-t", "0", "c"]);
    assert!(!alive(again));
    assert_eq!(st.sockets(), Vec::<String>::new(), "sockets left behind");
}

#[test]
fn a_container_whose_monitor_died_can_be_killed_and_removed() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let pid: i32 = st.inspect("c", ".State.Pid").parse().unwrap();
    kill_monitor(&st, "c");
    st.ok(&["kill", "c"]);
    wait_for("the container's process to end", || !alive(pid));
    assert_eq!(status(&st, "c"), "exited");
    // No one saw its exit code: podman's -1.
    assert_eq!(st.inspect("c", ".State.ExitCode"), "-1");
    assert_eq!(st.ok(&["wait", "c"]).stdout, "-1\n");
    let ps = st.ok(&["ps", "-a", "--format", "{{.Status}}"]).stdout;
    assert!(ps.starts_with("Exited (-1)"), "{ps}");
    st.ok(&["rm", "c"]);
    assert_ne!(st.run(&["container", "exists", "c"]).code, 0);
    assert_eq!(st.sockets(), Vec::<String>::new(), "sockets left behind");
    assert_eq!(host::mounts_under(st.path()), 0, "mounts left behind");
}

#[test]
fn a_killed_foreground_run_leaves_a_running_container_that_rm_force_ends() {
    let st = TestStore::with_busybox();
    let mut run = st.cmd();
    run.args(["run", "--name", "fg", "localhost/bb:1", "sleep", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut run = run.spawn().unwrap();
    wait_for("the foreground container to run", || {
        st.run(&["inspect", "--format", "{{.State.Status}}", "fg"])
            .stdout
            .trim()
            == "running"
    });
    let pid: i32 = st.inspect("fg", ".State.Pid").parse().unwrap();
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(alive(pid), "the container went with its foreground run");
    assert_eq!(status(&st, "fg"), "running");
    st.ok(&["rm", "-f", "-t", "0", "fg"]);
    wait_for("the container's process to end", || !alive(pid));
    assert_ne!(st.run(&["container", "exists", "fg"]).code, 0);
}

/// A foreground `run` killed while its container runs: once the container
/// ends, the next berth to look records the end and releases what it held
/// (its mount, its network namespace, its published port); a --rm one is
/// removed, as podman's monitor would have done.
#[test]
fn a_container_outliving_its_killed_run_is_cleaned_up_once_it_ends() {
    let st = TestStore::with_busybox();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("127.0.0.1:{port}:80");
    for (name, rm) in [("kept", false), ("gone", true)] {
        let mut run = st.cmd();
        run.args(["run", "--name", name, "-p", &publish]);
        if rm {
            run.arg("--rm");
        }
        run.args(["localhost/bb:1", "sleep", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut run = run.spawn().unwrap();
        wait_for("the foreground container to run", || {
            st.run(&["inspect", "--format", "{{.State.Status}}", name])
                .stdout
                .trim()
                == "running"
        });
        let pid: i32 = st.inspect(name, ".State.Pid").parse().unwrap();
        run.kill().unwrap();
        run.wait().unwrap();
        wait_for("the container's process to end", || !alive(pid));
        // The first look finds it ended and cleans up after it.
        let listed = st
            .ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
            .stdout;
        assert!(
            listed.starts_with(&format!("{name} Exited (-1)")),
            "{listed}"
        );
        if rm {
            assert_ne!(st.run(&["container", "exists", name]).code, 0);
        } else {
            let finished = st.inspect(name, ".State.FinishedAt");
            assert!(!finished.starts_with("0001"), "{finished}");
        }
        assert_eq!(
            host::mounts_under(st.path()),
            0,
            "{name}: mounts left behind"
        );
        // The port is free for the next container, which is reachable on it.
        let next = st.ok(&[
            "run",
            "-d",
            "-p",
            &publish,
            "localhost/bb:1",
            "sh",
            "-c",
            "echo hi | nc -l -p 80",
        ]);
        let id = next.stdout.trim();
        let mut said = String::new();
        wait_for("the next container to answer on the port", || {
            use std::io::Read;
            said.clear();
            std::net::TcpStream::connect(("127.0.0.1", port))
                .and_then(|mut c| c.read_to_string(&mut said))
                .is_ok()
                && said == "hi\n"
        });
        st.ok(&["rm", "-f", "-t", "0", id]);
        if !rm {
            st.ok(&["rm", name]);
        }
    }
}

#[test]
fn stop_kills_a_container_whose_monitor_dies_during_the_stop() {
    let st = TestStore::with_busybox();
    // The container notes SIGTERM and ignores it: stop must SIGKILL it.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sh",
        "-c",
        "trap 'touch /tmp/got-term' TERM; while true; do sleep 0.1; done",
    ]);
    let pid: i32 = st.inspect("c", ".State.Pid").parse().unwrap();
    let mut stop = st.cmd();
    stop.args(["stop", "-t", "3", "c"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let stop = stop.spawn().unwrap();
    wait_for("the container to get SIGTERM", || {
        st.run(&["exec", "c", "test", "-e", "/tmp/got-term"]).code == 0
    });
    kill_monitor(&st, "c");
    let out = stop.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!alive(pid), "stop returned while the container ran on");
    assert_eq!(status(&st, "c"), "exited");
    st.ok(&["rm", "c"]);
}

#[test]
fn exit_codes_of_removed_containers_do_not_pile_up() {
    let st = TestStore::with_busybox();
    let exits = st.path().join("run/exits");
    std::fs::create_dir_all(&exits).unwrap();
    let stale = exits.join("0".repeat(64));
    std::fs::write(&stale, "0").unwrap();
    let aged = std::process::Command::new("touch")
        .args(["-d", "10 minutes ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(aged.success());
    let id = st
        .ok(&["run", "-d", "--rm", "localhost/bb:1", "sh", "-c", "exit 3"])
        .stdout;
    let id = id.trim();
    // A late wait still gets the code of the container its monitor removed.
    assert_eq!(st.ok(&["wait", id]).stdout, "3\n");
    assert!(exits.join(id).exists());
    assert!(!stale.exists(), "an old exit code was kept");
}

/// The freezer state file of the container's cgroup (v1 `freezer.state`, or v2
/// `cgroup.freeze`), and what freezes it.
fn freezer_of(pid: i32) -> (std::path::PathBuf, &'static str) {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in cg.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrl, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if ctrl == "freezer" {
            let p = format!("/sys/fs/cgroup/freezer{path}/freezer.state");
            return (p.into(), "FROZEN");
        }
    }
    let path = cg.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    (format!("/sys/fs/cgroup{path}/cgroup.freeze").into(), "1")
}

#[test]
fn rm_force_thaws_a_frozen_container_whatever_its_state_says() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let pid: i32 = st.inspect("c", ".State.Pid").parse().unwrap();
    // Frozen behind berth's back: the state still says running.
    let (freezer, frozen) = freezer_of(pid);
    std::fs::write(&freezer, frozen).unwrap();
    assert_eq!(status(&st, "c"), "running");
    let r = st.run(&["rm", "-f", "-t", "0", "c"]);
    if r.code != 0 {
        // Do not leave a frozen process behind a failed test.
        let thaw = if frozen == "1" { "0" } else { "THAWED" };
        let _ = std::fs::write(&freezer, thaw);
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    wait_for("the container's process to end", || !alive(pid));
    assert_ne!(st.run(&["container", "exists", "c"]).code, 0);
}

#[test]
fn run_directories_of_removed_containers_do_not_outlive_them() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "kept", "localhost/bb:1", "true"]);
    let kept = st.inspect("kept", ".Id");
    let runs = st.path().join("run/containers");
    // What an `rm` killed after the record went leaves, and what a late writer (a
    // stop finishing a container its monitor removed) makes again.
    let gone = runs.join("1".repeat(64)).join("userdata");
    std::fs::create_dir_all(&gone).unwrap();
    std::fs::write(gone.join("state.json"), "{}").unwrap();
    // An `rm` of a container that another removal took first.
    let r = st.run(&["rm", &"2".repeat(64)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    st.ok(&["ps", "-a"]);
    let left: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![kept.clone()]);
    st.ok(&["rm", "kept"]);
    assert!(!runs.join(&kept).exists());
}

/// Sends `sig` to `pid`, a process the test found and checked alive itself.
fn signal(pid: i32, sig: i32) {
    assert!(pid > 0);
    // SAFETY: a positive pid the caller found to be its container's or monitor's.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// Lets a stopped monitor go on, even when the test fails.
struct Resume(i32);

impl Drop for Resume {
    fn drop(&mut self) {
        if alive(self.0) {
            signal(self.0, libc::SIGCONT);
        }
    }
}

#[test]
fn exec_into_a_container_whose_process_just_died_says_it_is_not_running() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let init: i32 = st.inspect("c", ".State.Pid").parse().unwrap();
    let monitor = monitor_of(&st.inspect("c", ".Id"));
    // Stopped, the monitor cannot record the exit: the state still says running
    // while the container's process is gone, as in the moment after any exit.
    signal(monitor, libc::SIGSTOP);
    let resume = Resume(monitor);
    signal(init, libc::SIGKILL);
    wait_for("the container's process to die", || !alive(init));
    let r = st.run(&["exec", "c", "true"]);
    assert_eq!(r.code, 255, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "Error: can only create exec sessions on running containers: container state improper"
    );
    drop(resume);
    wait_for("the exit to be recorded", || status(&st, "c") == "exited");
    st.ok(&["rm", "c"]);
}
