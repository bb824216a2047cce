//! Terminals and attaching: run -it and exec -it give the process a terminal,
//! resizes reach it (in the foreground and through the monitor), attach types
//! into a detached container, detach keys leave it running, start -a.

mod common;

use common::store::TestStore;
use common::*;

#[test]
fn run_it_gives_the_container_a_terminal() {
    let st = TestStore::with_busybox();
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
fn run_it_passes_terminal_resizes_on() {
    use std::os::fd::AsRawFd;
    let st = TestStore::with_busybox();
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
fn attach_passes_terminal_resizes_to_the_monitor() {
    use std::os::fd::AsRawFd;
    let st = TestStore::with_busybox();
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
fn attach_detach_keys_and_start_attached() {
    let st = TestStore::with_busybox();
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
fn exec_it_gives_the_process_a_terminal() {
    let st = TestStore::with_busybox();
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

/// `run -i` under the monitor (a healthcheck puts it there): piped input
/// reaches the container and its end closes the container's stdin, as Docker's
/// StdinOnce does, while the output still comes back.
#[test]
fn run_i_under_the_monitor_ends_the_containers_input_with_ours() {
    let st = TestStore::with_busybox();
    let mut c = st.cmd();
    c.args([
        "run",
        "-i",
        "--rm",
        "--health-cmd",
        "true",
        "localhost/bb:1",
        "sh",
        "-c",
        "cat; echo end",
    ]);
    let mut child = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"one\ntwo\n").unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\nend\n");
}
