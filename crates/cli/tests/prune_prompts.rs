//! `system prune`, `volume prune`, `container prune`, `image prune` and `pod
//! prune` ask before they delete, as podman's do
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

/// Asks `args` with each answer that is not yes (no input at all among them),
/// then with yes: `kept` must hold until the yes and not after.
fn asks_with(st: &TestStore, args: &[&str], warning: &str, kept: impl Fn() -> bool) {
    for answer in ["", "n\n", "\n"] {
        let r = answering(st, args, answer);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(
            r.stdout,
            format!("{warning}\nAre you sure you want to continue? [y/N] "),
            "{args:?}"
        );
        assert!(kept(), "{args:?} removed with answer {answer:?}");
    }
    let r = answering(st, args, "y\n");
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    assert!(!kept(), "{args:?} kept everything after yes");
}

#[test]
fn container_image_and_pod_prune_ask_and_keep_everything_unless_told_yes() {
    let st = TestStore::with_busybox();
    let exists = |kind: &str, name: &str| st.run(&[kind, "exists", name]).code == 0;
    st.ok(&[
        "create",
        "--name",
        "stopped",
        "--network",
        "none",
        "localhost/bb:1",
        "true",
    ]);
    asks_with(
        &st,
        &["container", "prune"],
        "WARNING! This will remove all non running containers.",
        || exists("container", "stopped"),
    );
    asks_with(
        &st,
        &["image", "prune", "-a"],
        "WARNING! This command removes all images without at least one container associated with them.",
        || exists("image", "localhost/bb:1"),
    );
    st.ok(&["pod", "create", "--network", "none", "--name", "idle"]);
    asks_with(
        &st,
        &["pod", "prune"],
        "WARNING! This will remove all stopped/exited pods..",
        || exists("pod", "idle"),
    );
    // Without -a, podman's words for dangling images.
    let r = answering(&st, &["image", "prune"], "");
    assert!(
        r.stdout
            .starts_with("WARNING! This command removes all dangling images.\n"),
        "{}",
        r.stdout
    );
}

/// `KIND prune --filter FILTER` fails as podman's does, in `words`.
fn refused(st: &TestStore, kind: &str, filter: &str, words: &str) {
    let r = st.run(&[kind, "prune", "-f", "--filter", filter]);
    assert_eq!(r.code, 125, "{kind} {filter}");
    assert!(r.stderr.contains(words), "{}", r.stderr);
}

#[test]
fn container_volume_and_system_prune_take_podmans_filters() {
    let st = TestStore::with_busybox();
    let names = || st.ok(&["ps", "-a", "--format", "{{.Names}}"]).stdout;
    let sorted = |s: String| {
        let mut v: Vec<&str> = s.lines().collect();
        v.sort();
        v.join(" ")
    };
    for (name, label) in [("keep", "tier=db"), ("web", "tier=web"), ("bare", "")] {
        let mut args = vec!["create", "--name", name];
        if !label.is_empty() {
            args.extend(["--label", label]);
        }
        st.ok(&[&args[..], &["localhost/bb:1", "true"]].concat());
    }
    // Made just now: none was made before an hour ago.
    st.ok(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(sorted(names()), "bare keep web");
    // label!=: those without it go.
    let r = st.ok(&["container", "prune", "-f", "--filter", "label!=tier"]);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert_eq!(sorted(names()), "keep web");
    refused(
        &st,
        "container",
        "colour=red",
        "colour is an invalid filter",
    );
    // volume prune: label= and until=, as podman 4.3 (no label!=).
    st.ok(&["volume", "create", "--label", "tier=db", "dbdata"]);
    st.ok(&["volume", "create", "scratch"]);
    refused(
        &st,
        "volume",
        "label!=tier",
        "\"label!\" is an invalid volume filter",
    );
    st.ok(&["volume", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(volumes(&st), "dbdata\nscratch\n");
    // system prune passes its filters on: only what has tier=web goes.
    let r = st.ok(&[
        "system",
        "prune",
        "-f",
        "--volumes",
        "--filter",
        "label=tier=web",
    ]);
    assert!(r.stdout.contains("Deleted Containers"), "{}", r.stdout);
    assert_eq!(sorted(names()), "keep");
    assert_eq!(volumes(&st), "dbdata\nscratch\n");
    st.ok(&["volume", "prune", "-f", "--filter", "label=tier=db"]);
    assert_eq!(volumes(&st), "scratch\n");
    st.ok(&["rm", "-a"]);
}
