//! Flags podman's scripts (and its own system tests) pass everywhere, with
//! podman's meaning: `start --all`, `volume rm --all`, `--noheading`, and the
//! globals `--noout`, `--log-level`, `--events-backend`.

mod common;

use common::store::TestStore;

#[test]
fn start_all_starts_every_container_not_running() {
    let st = TestStore::with_busybox();
    for n in ["a", "b"] {
        st.ok(&["create", "--name", n, "localhost/bb:1", "sleep", "100"]);
    }
    st.ok(&["start", "--all"]);
    assert_eq!(st.inspect("a", ".State.Status"), "running");
    assert_eq!(st.inspect("b", ".State.Status"), "running");
    st.ok(&["rm", "-af", "-t", "0"]);
}

#[test]
fn volume_rm_all_and_noheading_tables() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "v1"]);
    st.ok(&["volume", "create", "v2"]);
    st.ok(&["volume", "rm", "--all"]);
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "");
    let images = st.ok(&["images", "--noheading"]).stdout;
    assert!(images.starts_with("localhost/bb"), "{images}");
    assert_eq!(images.lines().count(), 1);
    st.ok(&["create", "--name", "c", "localhost/bb:1", "true"]);
    let ps = st.ok(&["ps", "-a", "--noheading"]).stdout;
    assert_eq!(ps.lines().count(), 1, "{ps}");
    assert!(ps.trim_end().ends_with(" c"), "{ps}");
}

#[test]
fn global_noout_log_level_and_events_backend() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "--noout",
        "--log-level",
        "error",
        "--events-backend",
        "file",
        "create",
        "--name",
        "quiet",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.stdout, "", "--noout printed");
    assert_eq!(st.run(&["container", "exists", "quiet"]).code, 0);
    let r = st.run(&["--log-level", "loud", "ps"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

#[test]
fn kill_judges_the_signal_before_the_container_as_podman() {
    let st = TestStore::with_busybox();
    for bad in [
        "0",
        "SIGBADSIG",
        "SIG",
        "BADSIG",
        "%%",
        "!",
        " ",
        "-0",
        "-BADSIG",
    ] {
        let r = st.run(&["kill", "-s", bad, "nosuchcontainer"]);
        assert_eq!(r.code, 125, "{bad:?}: {}", r.stderr);
        let want = format!(
            "Error: invalid signal: {}",
            bad.strip_prefix('-').unwrap_or(bad)
        );
        assert_eq!(r.stderr.trim_end(), want.trim_end(), "{bad:?}");
    }
    st.ok(&["run", "-d", "--name", "t", "localhost/bb:1", "sleep", "100"]);
    for good in ["-HUP", "sigusr1", "10", "SIGUSR2"] {
        st.ok(&["kill", "-s", good, "t"]);
    }
    st.ok(&["rm", "-f", "-t", "0", "t"]);
}
