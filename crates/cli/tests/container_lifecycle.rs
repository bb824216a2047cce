//! A container's life under berth's monitor: run -d, create/start, wait, stop,
//! kill (with the image's or the flag's stop signal, or under --init), pause,
//! restart, rm and --rm, exit codes, many containers at once, and a `run -d`
//! killed part-way; nothing (mounts, runtime state) is left behind.

mod common;

use common::host::{mounts_under, process_exists};
use common::store::TestStore;
use common::*;

#[test]
fn a_detached_container_lives_on_and_stops() {
    let st = TestStore::with_busybox();
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
    let st = TestStore::with_busybox();
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
    let st = TestStore::with_busybox();
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
    // wait on a container that never ran answers at once, 0, as podman's
    // (its 130-kill.bats, "podman wait - exit codes").
    assert_eq!(st.ok(&["wait", "counter"]).stdout, "0\n");
    assert_eq!(st.ok(&["start", "counter"]).stdout, "counter\n");
    assert_eq!(st.ok(&["wait", "counter"]).stdout, "0\n");
    assert_eq!(
        st.ok(&["logs", "--tail", "2", "counter"]).stdout,
        "line4\nline5\n"
    );
    // podman's --tail: 0 is no line, -1 (its default) every line; an
    // integer, so docker's "all" is refused.
    assert_eq!(st.ok(&["logs", "--tail", "0", "counter"]).stdout, "");
    for all in [&["--tail", "-1"][..], &["--tail=-1"], &["--tail", "-3"]] {
        let r = st.ok(&[&["logs"], all, &["counter"]].concat());
        assert_eq!(r.stdout.lines().count(), 5, "{all:?}: {}", r.stdout);
    }
    assert_eq!(st.run(&["logs", "--tail", "all", "counter"]).code, 125);
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
    assert_eq!(names, ["counter", "sleeper"], "oldest first, as podman's");
}

#[test]
fn twenty_containers_start_and_go_in_parallel() {
    let st = TestStore::with_busybox();
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

#[test]
fn sigkill_during_run_d_leaves_nothing_half_made() {
    let st = TestStore::with_busybox();
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
fn pause_top_restart_prune_and_volumes() {
    let st = TestStore::with_busybox();
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
    // podman echoes the name given.
    assert_eq!(st.ok(&["pause", "p"]).stdout, "p\n");
    assert_eq!(st.inspect("p", ".State.Status"), "paused");

    // podman's STATUS for it: "Paused", shown with -a only; it is not running.
    let status = st.ok(&["ps", "-a", "--format", "{{.Status}}"]).stdout;
    assert_eq!(status, "Paused\n");
    assert_eq!(st.ok(&["ps", "-q"]).stdout, "");
    assert_eq!(st.inspect("p", ".State.Running"), "false");
    assert_eq!(st.run(&["pause", "p"]).code, 125, "paused twice");
    assert_eq!(st.ok(&["unpause", "p"]).stdout, "p\n");
    assert_eq!(st.inspect("p", ".State.Status"), "running");
    // top: podman's default descriptors; others by name (host and container
    // views of the same process); ps(1) options go to ps(1) run in the
    // container, as podman's top does: the container's own PIDs.
    let top = st.ok(&["top", "p"]).stdout;
    let rows: Vec<Vec<&str>> = top
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"
        ],
        "{top}"
    );
    assert_eq!(rows.len(), 2, "{top}");
    assert_eq!(rows[1][..3], ["root", "1", "0"], "{top}");
    assert_eq!(rows[1][7..], ["sleep", "1000"], "{top}");
    let top = st.ok(&["top", "p", "huser,hpid", "args"]).stdout;
    assert_eq!(
        top.lines()
            .nth(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["root", pid.as_str(), "sleep", "1000"]),
        "{top}"
    );
    let ps = st.ok(&["top", "p", "-o", "pid,args"]).stdout;
    assert_eq!(
        ps.split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMMAND", "1", "sleep", "1000"]
    );
    let r = st.run(&["top", "p", "--no-such-option"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .starts_with("Error: executing ps(1) in the container: "),
        "{}",
        r.stderr
    );
    assert_eq!(st.ok(&["restart", "-t", "0", "p"]).stdout, "p\n");
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
    assert_eq!(st.ok(&["volume", "prune", "-f"]).stdout, "spare\n");
    // Exists, prune: only stopped containers go.
    assert_eq!(st.run(&["container", "exists", "p"]).code, 0);
    assert_eq!(st.run(&["container", "exists", "nobody"]).code, 1);
    st.ok(&["create", "--name", "idle", "localhost/bb:1", "true"]);
    assert_eq!(
        st.ok(&["container", "prune", "-f"]).stdout.lines().count(),
        1
    );
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
fn init_runs_as_pid_1_passes_signals_and_keeps_the_exit_code() {
    let st = TestStore::with_busybox();
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
fn stop_signals_capabilities_exec_detached_and_follow() {
    let st = TestStore::with_busybox();
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

/// podman's `--latest`/`-l`: the container created last, on every command
/// podman 4.3 has it on; with no container at all, podman's "no such
/// container".
#[test]
fn latest_acts_on_the_container_created_last() {
    let st = TestStore::with_busybox();
    for cmd in [
        &["stop", "-l"][..],
        &["logs", "-l"],
        &["exec", "-l", "true"],
    ] {
        let r = st.run(cmd);
        assert_eq!(r.code, 125, "{cmd:?}");
        assert_eq!(r.stderr, "Error: no such container\n", "{cmd:?}");
    }
    assert_eq!(st.run(&["rm", "-l"]).code, 1, "rm's code for none");
    for (name, script) in [
        ("first", "exec sleep 1000"),
        ("second", "echo hello; exec sleep 1000"),
    ] {
        st.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "-e",
            "X=1",
            "localhost/bb:1",
            "sh",
            "-c",
            script,
        ]);
    }
    let out = |args: &[&str]| st.ok(args).stdout;
    let status = |name: &str| st.inspect(name, ".State.Status");
    let id = st.inspect("second", ".Id");
    assert_eq!(out(&["ps", "-l", "--format", "{{.Names}}"]), "second\n");
    assert_eq!(out(&["inspect", "-l", "--format", "{{.Name}}"]), "second\n");
    wait_for("second's output", || out(&["logs", "-l"]) == "hello\n");
    // exec -l: every word is the command's.
    assert_eq!(
        out(&["exec", "-l", "sh", "-c", "echo $X; touch /new"]),
        "1\n"
    );
    assert!(out(&["diff", "-l"]).contains("A /new"));
    assert!(out(&["top", "-l", "args"]).contains("sleep 1000"));
    assert_eq!(out(&["port", "-l"]), "");
    assert_eq!(
        out(&["stats", "-l", "--no-stream", "--format", "{{.Name}}"]),
        "second\n"
    );
    let mounted = out(&["mount", "-l"]);
    assert!(std::path::Path::new(mounted.trim()).join("new").exists());
    assert_eq!(out(&["umount", "-l"]).trim(), id);
    assert_eq!(out(&["pause", "-l"]).trim(), id);
    assert_eq!(status("second"), "paused");
    assert_eq!(out(&["unpause", "-l"]).trim(), id);
    assert_eq!(out(&["restart", "-l", "-t", "0"]).trim(), id);
    assert_eq!(status("second"), "running");
    out(&["stop", "-l", "-t", "0"]);
    assert_eq!(out(&["wait", "-l"]), "137\n");
    assert_eq!(status("second"), "exited");
    out(&["start", "-l"]);
    assert_eq!(status("second"), "running");
    out(&["kill", "-l"]);
    assert_eq!(out(&["wait", "-l"]), "137\n");
    out(&["rm", "-l"]);
    // Only the newest went; the first ran all along.
    assert_eq!(out(&["ps", "-a", "--format", "{{.Names}}"]), "first\n");
    assert_eq!(status("first"), "running");
    st.ok(&["rm", "-f", "-t", "0", "first"]);
}
