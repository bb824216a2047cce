//! `run --rootfs`: a host directory as the container's root instead of an image,
//! written in place or (`PATH:O`) under an overlay that keeps it as it was.

mod common;

use std::path::Path;

use common::store::TestStore;

const IMG: &str = "localhost/bb:1";

/// A copy of the image's files in a directory of the test's own.
fn rootfs_copy(st: &TestStore, into: &Path) {
    let mnt = st.ok(&["image", "mount", IMG]).stdout.trim().to_string();
    let r = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{mnt}/."))
        .arg(into)
        .status()
        .expect("cp");
    st.ok(&["image", "unmount", IMG]);
    assert!(r.success());
}

#[test]
fn a_directory_runs_as_the_root_written_in_place_or_under_an_overlay() {
    let st = TestStore::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    rootfs_copy(&st, &root);
    let under = format!("{}:O", root.display());
    // Under an overlay: the container sees its own writes, the directory never does.
    let r = st.ok(&[
        "run",
        "--name",
        "ov",
        "--network",
        "none",
        "--rootfs",
        &under,
        "sh",
        "-c",
        "echo kept > /note; cat /note",
    ]);
    assert_eq!(r.stdout, "kept\n");
    assert!(!root.join("note").exists());
    assert_eq!(st.inspect("ov", ".ImageDigest"), "");
    assert_eq!(st.inspect("ov", ".Image"), "");
    assert_eq!(st.inspect("ov", ".Rootfs"), root.display().to_string());
    // Started again, it still has what it wrote.
    let r = st.ok(&["start", "-a", "ov"]);
    assert_eq!(r.stdout, "kept\n");
    st.ok(&["rm", "ov"]);
    assert!(root.join("bin/busybox").exists(), "rm took the directory");
    // In place: the directory is the root, and keeps what the container wrote.
    let r = st.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--rootfs",
        root.to_str().unwrap(),
        "sh",
        "-c",
        "echo there > /written",
    ]);
    assert_eq!(r.code, 0);
    assert_eq!(
        std::fs::read_to_string(root.join("written")).unwrap(),
        "there\n"
    );
    assert!(root.join("bin/busybox").exists(), "--rm took the directory");
    // Nothing is left of either container, and the image is free to go.
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
    st.ok(&["rmi", IMG]);
}

#[test]
fn a_rootfs_that_is_not_a_directory_or_has_no_command_is_refused() {
    let st = TestStore::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let r = st.run(&["create", "--rootfs", missing.to_str().unwrap(), "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    // A directory but no command: nothing says what to run.
    let r = st.run(&["create", "--rootfs", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no command"), "{}", r.stderr);
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
}
