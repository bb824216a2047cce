//! Nothing in the store is readable by other users of the host (the class of
//! moby's CVE-2021-41091): the graph root, run root, the driver's directory and
//! the volumes are 0700 and container logs 0600, as podman has them; an older
//! store's 0755 directories are narrowed when berth opens it; a shared
//! directory given as the root is never narrowed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::store::TestStore;
use common::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Whether the unprivileged user `nobody` can read the file.
fn nobody_reads(p: &Path) -> bool {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(p)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("setpriv")
        .success()
}

/// A store whose temporary directory others may enter (as /var/lib is), so
/// that only berth's own modes protect what is inside.
fn open_parent_store() -> TestStore {
    let st = TestStore::with_busybox();
    std::fs::set_permissions(st.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    st
}

#[test]
fn a_containers_log_and_volume_are_private() {
    let st = open_parent_store();
    st.ok(&["volume", "create", "secrets"]);
    let r = st.ok(&[
        "run",
        "--name",
        "c",
        "-v",
        "secrets:/data",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo token=s3cret > /data/app.env; echo token=s3cret",
    ]);
    assert_eq!(r.stdout, "token=s3cret\n");
    let id = st.inspect("c", ".Id");
    let log = st
        .path()
        .join(format!("run/containers/{id}/userdata/ctr.log"));
    let data = st.path().join("root/volumes/secrets/_data/app.env");
    assert!(std::fs::read_to_string(&log).unwrap().contains("s3cret"));
    assert_eq!(mode(&log), 0o600, "the log");
    for dir in ["root", "run", "root/overlay", "root/volumes"] {
        assert_eq!(mode(&st.path().join(dir)), 0o700, "{dir}");
    }
    assert!(!nobody_reads(&log), "another user read the container's log");
    assert!(
        !nobody_reads(&data),
        "another user read the container's volume"
    );
    // The owner still can, of course.
    assert_eq!(st.ok(&["logs", "c"]).stdout, "token=s3cret\n");
}

#[test]
fn an_older_stores_open_directories_are_narrowed_when_opened() {
    let st = open_parent_store();
    st.ok(&["volume", "create", "v"]);
    st.ok(&["run", "--name", "old", "localhost/bb:1", "echo", "hi"]);
    let log = std::path::PathBuf::from(st.inspect("old", ".LogPath"));
    for dir in ["root", "run", "root/overlay", "root/volumes"] {
        std::fs::set_permissions(st.path().join(dir), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    st.ok(&["images"]);
    for dir in ["root", "run", "root/overlay", "root/volumes"] {
        assert_eq!(mode(&st.path().join(dir)), 0o700, "{dir}");
    }
    // A log an older berth left readable is narrowed when next written.
    st.ok(&["start", "-a", "old"]);
    assert_eq!(mode(&log), 0o600);
    assert_eq!(st.ok(&["logs", "old"]).stdout, "hi\nhi\n");
}

#[test]
fn a_shared_directory_given_as_the_root_keeps_its_mode() {
    let st = open_parent_store();
    let shared = st.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    for _ in 0..2 {
        let r = run_cmd(
            berth()
                .arg("--root")
                .arg(&shared)
                .arg("--runroot")
                .arg(st.path().join("run2"))
                .args(["images", "-q"]),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(mode(&shared), 0o1777);
    assert_eq!(mode(&st.path().join("run2")), 0o700);
}
