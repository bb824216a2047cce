//! `system reset`: everything of the store goes (podman's), after a question that
//! only "y" answers yes to.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::store::TestStore;

#[test]
fn reset_removes_everything_and_asks_first() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "v"]);
    st.ok(&["network", "create", "--subnet", "10.89.201.0/24", "n"]);
    st.ok(&[
        "create",
        "--name",
        "made",
        "-v",
        "v:/data",
        "localhost/bb:1",
        "true",
    ]);
    st.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let pid: i32 = st.inspect("up", ".State.Pid").parse().unwrap();
    st.ok(&["pod", "create", "--name", "p"]);
    // Not answered yes: nothing happens.
    let mut c = st.cmd();
    c.args(["system", "reset"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("WARNING! This will remove:"));
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout.lines().count(), 3);
    // --force: all of it, the running container's process too.
    st.ok(&["system", "reset", "--force"]);
    assert!(!common::host::process_exists(&pid.to_string()));
    assert!(!st.path().join("root").exists(), "the graph root was kept");
    assert_eq!(common::host::mounts_under(st.path()), 0);
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
    assert_eq!(st.ok(&["images", "-q"]).stdout, "");
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "");
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
    let nets = st.ok(&["network", "ls", "--format", "{{.Name}}"]).stdout;
    assert_eq!(nets, "podman\n");
}
