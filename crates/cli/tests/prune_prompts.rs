//! `system prune` and `volume prune` ask before they delete, as podman's do
//! (`[y/N]`; anything but yes keeps everything), and `-f` does not ask: with
//! `alias docker=berth` a habit must not lose data.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::store::TestStore;
use common::*;

/// Runs berth with `answer` on its stdin.
fn answering(st: &TestStore, args: &[&str], answer: &str) -> Run {
    let mut c = st.cmd();
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn volumes(st: &TestStore) -> String {
    st.ok(&["volume", "ls", "-q"]).stdout
}

#[test]
fn volume_prune_asks_and_keeps_everything_unless_told_yes() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "precious"]);
    for answer in ["", "n\n", "no\n", "whatever\n"] {
        let r = answering(&st, &["volume", "prune"], answer);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains("precious") && r.stdout.contains("[y/N]"),
            "{:?}",
            r.stdout
        );
        assert_eq!(volumes(&st), "precious\n", "answer {answer:?} pruned");
    }
    let r = answering(&st, &["volume", "prune"], "y\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(volumes(&st), "");
    st.ok(&["volume", "create", "other"]);
    let r = st.ok(&["volume", "prune", "-f"]);
    assert_eq!(r.stdout, "other\n", "-f prunes without asking");
    assert_eq!(volumes(&st), "");
}

#[test]
fn system_prune_asks_and_keeps_everything_unless_told_yes() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "stopped", "localhost/bb:1", "true"]);
    st.ok(&["volume", "create", "precious"]);
    let r = answering(&st, &["system", "prune", "--volumes"], "\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("WARNING!") && r.stdout.contains("[y/N]"),
        "{}",
        r.stdout
    );
    assert_eq!(st.run(&["container", "exists", "stopped"]).code, 0);
    assert_eq!(volumes(&st), "precious\n");
    let r = answering(&st, &["system", "prune", "--volumes"], "Y\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(st.run(&["container", "exists", "stopped"]).code, 0);
    assert_eq!(volumes(&st), "");
    st.ok(&["create", "--name", "again", "localhost/bb:1", "true"]);
    st.ok(&["system", "prune", "-f"]);
    assert_ne!(st.run(&["container", "exists", "again"]).code, 0);
}
