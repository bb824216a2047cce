//! A signal never reaches the wrong process: `rm -f`, `kill` and `stop` on a
//! container started in the foreground signal that container, not the caller's
//! process group (`kill(0, …)`), and a recorded pid is the container's own.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use common::store::TestStore;
use common::*;

/// `berth run --name NAME bb sleep 1000` in the foreground, in a process group
/// of its own, once the container runs.
fn foreground(st: &TestStore, name: &str) -> Child {
    let mut c = st.cmd();
    c.args(["run", "--name", name, "localhost/bb:1", "sleep", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let child = c.spawn().expect("berth run");
    wait_for("the foreground container to run", || {
        st.run(&["inspect", "--format", "{{.State.Status}}", name])
            .stdout
            .trim()
            == "running"
    });
    child
}

/// Runs `berth ARGS` from a shell in a new process group that also holds a
/// canary process; returns what the shell reports of both.
fn from_a_script(st: &TestStore, args: &[&str]) -> String {
    let mut berth_argv = vec![st.cmd().get_program().to_string_lossy().into_owned()];
    berth_argv.extend(
        st.cmd()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned()),
    );
    berth_argv.extend(args.iter().map(|a| a.to_string()));
    let script = r#"sleep 60 & canary=$!
"$@"; echo "rc=$?"
kill -0 "$canary" && echo canary-alive
kill "$canary""#;
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(&berth_argv)
        .envs(st.cmd().get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn init_pid(st: &TestStore, name: &str) -> i32 {
    st.inspect(name, ".State.Pid").parse().expect("a pid")
}

/// The process `pid` runs `sleep 1000` (the container's, not some other).
fn is_the_sleeper(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\x001000"))
}

#[test]
fn a_foreground_container_records_its_real_pid() {
    let st = TestStore::with_busybox();
    let mut run = foreground(&st, "fg");
    let pid = init_pid(&st, "fg");
    assert!(pid > 0 && is_the_sleeper(pid), "inspect says Pid {pid}");
    let ps = st.ok(&["ps", "--format", "{{.Names}} {{.Pid}}"]).stdout;
    assert_eq!(ps.trim(), format!("fg {pid}"));
    st.ok(&["stop", "-t", "0", "fg"]);
    let status = run.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(137),
        "the foreground run ends as its container did"
    );
    assert!(!is_the_sleeper(pid));
    assert_eq!(st.inspect("fg", ".State.Status"), "exited");
}

#[test]
fn rm_force_of_a_foreground_container_spares_the_callers_group() {
    let st = TestStore::with_busybox();
    let mut run = foreground(&st, "fg");
    let pid = init_pid(&st, "fg");
    let said = from_a_script(&st, &["rm", "-f", "fg"]);
    assert!(
        said.contains("rc=0"),
        "rm -f was killed or failed: {said:?}"
    );
    assert!(
        said.contains("canary-alive"),
        "rm -f killed its caller's group: {said:?}"
    );
    run.wait().unwrap();
    assert!(!is_the_sleeper(pid), "the container survived rm -f");
    assert_ne!(st.run(&["container", "exists", "fg"]).code, 0);
}

#[test]
fn kill_and_stop_of_a_foreground_container_spare_the_callers_group() {
    let st = TestStore::with_busybox();
    for verb in [&["kill", "fg"][..], &["stop", "-t", "0", "fg"][..]] {
        let mut run = foreground(&st, "fg");
        let pid = init_pid(&st, "fg");
        let said = from_a_script(&st, verb);
        assert!(
            said.contains("rc=0"),
            "{verb:?} was killed or failed: {said:?}"
        );
        assert!(
            said.contains("canary-alive"),
            "{verb:?} killed its caller's group: {said:?}"
        );
        run.wait().unwrap();
        assert!(!is_the_sleeper(pid), "{verb:?} left the container running");
        st.ok(&["rm", "fg"]);
    }
}

/// A signal number out of range gets podman's words, from `kill` and from
/// `create --stop-signal` (before any image is looked for or pulled).
#[test]
fn out_of_range_signal_numbers_are_refused_in_podmans_words() {
    let st = TestStore::with_busybox();
    for s in ["65", "-65", "999", "99999999"] {
        let r = st.run(&["kill", "-s", s, "nosuchcontainer"]);
        assert_eq!(r.code, 125);
        assert_eq!(r.stderr, "Error: valid signals are 1 through 64\n", "{s}");
    }
    let r = st.run(&["create", "--stop-signal=99", "localhost/no-such-image:1"]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: valid signals are 1 through 64\n");
    assert_eq!(
        st.run(&["kill", "-s", "0", "nosuchcontainer"]).stderr,
        "Error: invalid signal: 0\n"
    );
}

/// A container that says "ready", then ends with 3 on SIGINT.
const TRAPS_INT: &str = "trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.1; done";

/// Starts `berth ARGS` with its output piped and waits for the container's
/// "ready".
fn until_ready(
    st: &TestStore,
    args: &[&str],
) -> (Child, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let mut child = st
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("berth");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    (child, out)
}

/// Sends `sig` to a child this test started and has not reaped (alive, ours).
fn signal_child(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    assert!(pid > 0);
    // SAFETY: the pid of an unreaped child of this process.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// podman's --sig-proxy (the default): a signal to an attached `run` (one its
/// monitor runs, for a healthcheck) or `start -a` goes to the container.
#[test]
fn an_attached_run_or_start_passes_signals_on() {
    use std::io::Read;
    let st = TestStore::with_busybox();
    let run = [
        "run",
        "--name",
        "sp",
        "--health-cmd",
        "true",
        "localhost/bb:1",
        "sh",
        "-c",
        TRAPS_INT,
    ];
    for args in [&run[..], &["start", "-a", "sp"][..]] {
        let (mut child, mut out) = until_ready(&st, args);
        signal_child(&child, libc::SIGINT);
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "got INT\n", "{args:?}");
        assert_eq!(child.wait().unwrap().code(), Some(3), "{args:?}");
        assert_eq!(st.inspect("sp", ".State.ExitCode"), "3");
    }
}

/// `--sig-proxy=false`: the signal ends the command only; the container runs
/// on under its monitor.
#[test]
fn without_the_proxy_the_container_outlives_its_run() {
    let st = TestStore::with_busybox();
    let args = [
        "run",
        "--name",
        "np",
        "--sig-proxy=false",
        "localhost/bb:1",
        "sh",
        "-c",
        TRAPS_INT,
    ];
    let (mut child, _out) = until_ready(&st, &args);
    signal_child(&child, libc::SIGTERM);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&child.wait().unwrap()),
        Some(libc::SIGTERM)
    );
    assert_eq!(st.inspect("np", ".State.Status"), "running");
    st.ok(&["rm", "-f", "-t", "0", "np"]);
}
