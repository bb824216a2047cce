//! Pods through their lifecycle: pause and unpause, restart, pods made with
//! another infra image or command or none, `--pod-id-file`, and a member killed
//! from outside coming back by its restart policy.

mod common;

use common::store::TestStore;
use common::wait_for;

const IMG: &str = "localhost/bb:1";

fn pod_field(st: &TestStore, pod: &str, field: &str) -> String {
    let f = format!("{{{{.{field}}}}}");
    st.ok(&["pod", "inspect", "--format", &f, pod])
        .stdout
        .trim()
        .to_string()
}

/// Each container of the pod (its infra container too) as `NAME STATUS`
/// (inspect's `.State.Status`), sorted.
fn member_states(st: &TestStore, pod: &str) -> Vec<String> {
    let filter = format!("pod={pod}");
    let names = st
        .ok(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])
        .stdout;
    let mut v: Vec<String> = names
        .lines()
        .map(|n| format!("{n} {}", st.inspect(n, ".State.Status")))
        .collect();
    v.sort();
    v
}

/// The command line of a process, its arguments separated by spaces.
fn cmdline(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(args.join(" "))
}

/// The main process of a running container, as `inspect` gives it, proved to
/// run `command` (never pid 0 or 1, never someone else's process).
fn container_pid(st: &TestStore, name: &str, command: &str) -> i32 {
    let pid: i32 = st.inspect(name, ".State.Pid").parse().unwrap();
    assert!(pid > 1, "{name}: pid {pid}");
    assert_eq!(cmdline(pid).as_deref(), Some(command), "{name}: pid {pid}");
    pid
}

/// SIGKILLs `pid` as if it died by itself (not through berth): through a pidfd
/// opened first, and only if the process the pidfd holds still runs `command`.
fn sigkill_checked(pid: i32, command: &str) {
    assert!(pid > 1);
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(
        fd >= 0,
        "pidfd_open {pid}: {}",
        std::io::Error::last_os_error()
    );
    // The pidfd pins the process: checked after it is open, the pid cannot have
    // gone to another process in between.
    let same = cmdline(pid).as_deref() == Some(command);
    let sent = same && {
        // SAFETY: a pidfd owned here; a null siginfo is allowed.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            ) == 0
        }
    };
    // SAFETY: closing the descriptor pidfd_open gave.
    unsafe { libc::close(fd as i32) };
    assert!(same, "pid {pid} no longer runs {command:?}");
    assert!(sent, "pidfd_send_signal {pid}");
}

/// `pod pause` freezes every container of the pod (the infra container too),
/// `pod unpause` thaws them: the same processes run on, and answer `exec`.
#[test]
fn pod_pause_freezes_every_member_and_unpause_thaws_them() {
    let st = TestStore::with_busybox();
    let id = st
        .ok(&["pod", "create", "--network", "none", "--name", "pz"])
        .stdout;
    let short = &id.trim()[..12];
    for m in ["m1", "m2"] {
        st.ok(&[
            "run", "-d", "--pod", "pz", "--name", m, IMG, "sleep", "1000",
        ]);
    }
    let before = container_pid(&st, "m1", "sleep 1000");
    let paused = st.ok(&["pod", "pause", "pz"]).stdout;
    assert_eq!(paused.trim(), id.trim());
    assert_eq!(
        member_states(&st, "pz"),
        [
            format!("{short}-infra paused"),
            "m1 paused".into(),
            "m2 paused".into()
        ]
    );
    assert_eq!(pod_field(&st, "pz", "State"), "Paused");
    assert_eq!(st.inspect("m1", ".State.Paused"), "true");
    assert_eq!(st.inspect("m2", ".State.Status"), "paused");
    // The kernel holds them frozen (cgroup v1's freezer, or v2's cgroup.freeze).
    assert!(frozen(before), "m1's process is not frozen");
    st.ok(&["pod", "unpause", "pz"]);
    assert_eq!(
        member_states(&st, "pz"),
        [
            format!("{short}-infra running"),
            "m1 running".into(),
            "m2 running".into()
        ]
    );
    assert_eq!(pod_field(&st, "pz", "State"), "Running");
    assert!(!frozen(before), "m1's process is still frozen");
    // Thawed, not restarted: the same process, and it answers.
    assert_eq!(container_pid(&st, "m1", "sleep 1000"), before);
    assert_eq!(st.ok(&["exec", "m2", "echo", "awake"]).stdout, "awake\n");
    st.ok(&["pod", "rm", "-f", "-t", "0", "pz"]);
}

/// Whether the cgroup that holds `pid` is frozen, read from the freezer's own
/// files (v1: freezer.state FROZEN; v2: cgroup.freeze 1).
fn frozen(pid: i32) -> bool {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        if controllers.split(',').any(|c| c == "freezer") {
            let state = format!("/sys/fs/cgroup/freezer{path}/freezer.state");
            let s = std::fs::read_to_string(&state).unwrap_or_default();
            return s.trim() == "FROZEN";
        }
    }
    cgroups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .and_then(|p| std::fs::read_to_string(format!("/sys/fs/cgroup{p}/cgroup.freeze")).ok())
        .is_some_and(|s| s.trim() == "1")
}

/// `pod restart` stops and starts every member: new processes, a later start
/// time, and a member that had exited runs again.
#[test]
fn pod_restart_runs_every_member_anew() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "rs"]);
    st.ok(&[
        "run", "-d", "--pod", "rs", "--name", "long", IMG, "sleep", "1000",
    ]);
    st.ok(&["run", "--pod", "rs", "--name", "once", IMG, "echo", "ran"]);
    assert_eq!(st.inspect("once", ".State.Status"), "exited");
    let pid = container_pid(&st, "long", "sleep 1000");
    let started = st.inspect("long", ".State.StartedAt");
    let infra = pod_field(&st, "rs", "InfraContainerID");
    let infra_pid = st.inspect(&infra, ".State.Pid");
    let out = st.ok(&["pod", "restart", "-t", "0", "rs"]).stdout;
    assert_eq!(out.trim(), pod_field(&st, "rs", "Id"));
    assert_eq!(st.inspect("long", ".State.Status"), "running");
    let new_pid = container_pid(&st, "long", "sleep 1000");
    assert_ne!(new_pid, pid, "the same process runs on");
    assert!(!common::host::process_exists(&pid.to_string()));
    let restarted = st.inspect("long", ".State.StartedAt");
    assert!(restarted > started, "{restarted} is not after {started}");
    assert_eq!(st.inspect(&infra, ".State.Status"), "running");
    assert_ne!(st.inspect(&infra, ".State.Pid"), infra_pid);
    // The member that had exited ran again: its line twice.
    st.ok(&["wait", "once"]);
    assert_eq!(st.ok(&["logs", "once"]).stdout, "ran\nran\n");
    st.ok(&["pod", "rm", "-f", "-t", "0", "rs"]);
}

/// `--infra-image` and `--infra-command`: the infra container is made of that
/// image and runs that command (a JSON array or words).
#[test]
fn pod_create_takes_the_infra_image_and_command_given() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "ii",
        "--infra-image",
        IMG,
        "--infra-command",
        r#"["sleep", "4321"]"#,
    ]);
    let infra = pod_field(&st, "ii", "InfraContainerID");
    assert_eq!(st.inspect(&infra, ".ImageName"), IMG);
    st.ok(&[
        "run", "-d", "--pod", "ii", "--name", "m", IMG, "sleep", "1000",
    ]);
    // The infra container's process is that command, and the member shares its
    // hostname (the pod's namespaces are held by it).
    container_pid(&st, &infra, "sleep 4321");
    assert_eq!(st.ok(&["exec", "m", "hostname"]).stdout, "ii\n");
    st.ok(&["pod", "rm", "-f", "-t", "0", "ii"]);
    // Words, over an image's own entrypoint (podman's: the command is the
    // infra's entrypoint), and the default image's pause otherwise.
    st.ok(&["create", "--name", "e", IMG, "true"]);
    let ep = r#"ENTRYPOINT ["/original-entrypoint-should-be-overridden"]"#;
    st.ok(&["commit", "--change", ep, "e", "localhost/ep:1"]);
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "iw",
        "--infra-image",
        "localhost/ep:1",
        "--infra-command",
        "sleep 1234",
    ]);
    st.ok(&["pod", "start", "iw"]);
    let infra = pod_field(&st, "iw", "InfraContainerID");
    container_pid(&st, &infra, "sleep 1234");
    assert_eq!(st.inspect(&infra, ".Config.Entrypoint"), "sleep 1234");
    st.ok(&["pod", "create", "--network", "none", "--name", "id"]);
    let infra = pod_field(&st, "id", "InfraContainerID");
    assert_ne!(st.inspect(&infra, ".ImageName"), IMG);
    st.ok(&["pod", "rm", "-f", "-t", "0", "iw"]);
    st.ok(&["pod", "rm", "-f", "-t", "0", "id"]);
}

/// `--infra=false`: a pod of containers that share nothing, with no infra
/// container; its member runs on its own, and the pod is Running with it.
#[test]
fn a_pod_without_infra_runs_its_member_alone() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--infra=false", "--name", "bare"]);
    assert_eq!(pod_field(&st, "bare", "CreateInfra"), "false");
    assert_eq!(pod_field(&st, "bare", "NumContainers"), "0");
    assert_eq!(pod_field(&st, "bare", "SharedNamespaces"), "[]");
    st.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--pod",
        "bare",
        "--name",
        "only",
        IMG,
        "sleep",
        "1000",
    ]);
    assert_eq!(member_states(&st, "bare"), ["only running"]);
    assert_eq!(pod_field(&st, "bare", "State"), "Running");
    container_pid(&st, "only", "sleep 1000");
    // Nothing shared: not the pod's name as hostname.
    let host = st.ok(&["exec", "only", "hostname"]).stdout;
    assert_ne!(host, "bare\n");
    // Publishing ports needs an infra container.
    let r = st.run(&["pod", "create", "--infra=false", "-p", "8080:80"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("infra container"), "{}", r.stderr);
    st.ok(&["pod", "stop", "-t", "0", "bare"]);
    assert_eq!(pod_field(&st, "bare", "State"), "Exited");
    st.ok(&["pod", "rm", "bare"]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// `pod create --pod-id-file FILE` writes the pod's ID there, and the pod
/// commands (and `run --pod-id-file`) find the pod by it.
#[test]
fn the_pod_id_file_names_the_pod_for_later_commands() {
    let st = TestStore::with_busybox();
    let file = st.path().join("pod.id");
    let f = file.to_str().unwrap();
    let id = st
        .ok(&[
            "pod",
            "create",
            "--network",
            "none",
            "--name",
            "byfile",
            "--pod-id-file",
            f,
        ])
        .stdout;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), id.trim());
    st.ok(&[
        "run",
        "-d",
        "--pod-id-file",
        f,
        "--name",
        "m",
        IMG,
        "sleep",
        "1000",
    ]);
    assert_eq!(st.inspect("m", ".Pod"), id.trim());
    assert_eq!(
        st.ok(&["pod", "stop", "-t", "0", "--pod-id-file", f])
            .stdout,
        id
    );
    assert_eq!(pod_field(&st, "byfile", "State"), "Exited");
    assert_eq!(st.ok(&["pod", "start", "--pod-id-file", f]).stdout, id);
    assert_eq!(pod_field(&st, "byfile", "State"), "Running");
    assert_eq!(
        st.ok(&["pod", "rm", "-f", "-t", "0", "--pod-id-file", f])
            .stdout,
        id
    );
    assert_eq!(st.run(&["pod", "exists", "byfile"]).code, 1);
    // A file that names no pod: refused, unless --ignore.
    let r = st.run(&["pod", "rm", "--pod-id-file", f]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    st.ok(&["pod", "rm", "--ignore", "--pod-id-file", f]);
}

/// A member whose process dies by SIGKILL (not by berth's kill or stop) comes
/// back by its restart policy, `always` and `on-failure` alike; the pod's other
/// member runs on untouched.
#[test]
fn a_killed_member_comes_back_by_its_restart_policy() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "rp"]);
    st.ok(&[
        "run", "-d", "--pod", "rp", "--name", "steady", IMG, "sleep", "1000",
    ]);
    let steady = container_pid(&st, "steady", "sleep 1000");
    for (name, policy, command) in [
        ("always", "always", "sleep 1001"),
        ("onfail", "on-failure", "sleep 1002"),
    ] {
        let mut args = vec!["run", "-d", "--pod", "rp", "--name", name];
        args.extend(["--restart", policy, IMG]);
        args.extend(command.split(' '));
        st.ok(&args);
        let pid = container_pid(&st, name, command);
        assert_eq!(st.inspect(name, ".RestartCount"), "0");
        sigkill_checked(pid, command);
        // (While its monitor starts it again, inspect may still show the
        // dead pid: the new one is waited for.)
        wait_for(&format!("{name} to be restarted"), || {
            st.inspect(name, ".RestartCount") == "1"
                && st.inspect(name, ".State.Status") == "running"
                && st.inspect(name, ".State.Pid") != pid.to_string()
        });
        container_pid(&st, name, command);
        assert!(!common::host::process_exists(&pid.to_string()));
    }
    assert_eq!(container_pid(&st, "steady", "sleep 1000"), steady);
    assert_eq!(pod_field(&st, "rp", "State"), "Running");
    // Without a policy, a member killed so stays down.
    st.ok(&[
        "run", "-d", "--pod", "rp", "--name", "plain", IMG, "sleep", "1003",
    ]);
    let pid = container_pid(&st, "plain", "sleep 1003");
    sigkill_checked(pid, "sleep 1003");
    wait_for("plain to exit", || {
        st.inspect("plain", ".State.Status") == "exited"
    });
    assert_eq!(st.inspect("plain", ".State.ExitCode"), "137");
    assert_eq!(st.inspect("plain", ".RestartCount"), "0");
    st.ok(&["pod", "rm", "-f", "-t", "0", "rp"]);
}
