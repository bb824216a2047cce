//! Many `berth` processes on one store, as podman promises: generated names
//! never collide, `wait` on a container that never ran answers at once, and
//! a `--rm` container's monitor never makes the user's stop or rm fail.

mod common;

use std::collections::HashSet;

use common::store::TestStore;

#[test]
fn concurrent_creates_without_names_all_succeed_with_distinct_names() {
    let st = TestStore::with_busybox();
    let ids: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..20)
                        .map(|_| {
                            let r = st.run(&["create", "localhost/bb:1", "true"]);
                            assert_eq!(r.code, 0, "create: {}", r.stderr);
                            r.stdout.trim().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(ids.len(), 80);
    let names = st.ok(&["ps", "-a", "--format", "{{.Names}}"]).stdout;
    let names: Vec<&str> = names.lines().collect();
    let distinct: HashSet<&str> = names.iter().copied().collect();
    assert_eq!((names.len(), distinct.len()), (80, 80), "{names:?}");
}

#[test]
fn wait_on_a_container_that_never_ran_answers_at_once() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "idle",
        "localhost/bb:1",
        "/no/such/command",
    ]);
    assert_eq!(st.ok(&["wait", "idle"]).stdout, "0\n");
    // Its start fails (the command does not exist) with podman's 125 for any
    // failed start; it still never ran.
    assert_eq!(st.run(&["start", "idle"]).code, 125);
    assert_eq!(st.ok(&["wait", "idle"]).stdout, "0\n");
}

#[test]
fn rm_ignore_skips_what_is_gone_and_rm_all_takes_what_is_there() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "here", "localhost/bb:1", "true"]);
    let r = st.run(&["rm", "gone"]);
    assert_eq!(r.code, 1, "rm of a missing container: {}", r.stderr);
    let r = st.ok(&["rm", "--ignore", "gone", "here"]);
    assert_eq!(r.stdout, "here\n");
    // podman's system tests start every test with this line.
    st.ok(&["rm", "-t", "0", "--all", "--force", "--ignore"]);
}

#[test]
fn a_container_others_share_cannot_be_removed_and_mounts_do_not_overlap() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "base",
        "--network",
        "none",
        "localhost/bb:1",
        "true",
    ]);
    st.ok(&[
        "create",
        "--name",
        "joiner",
        "--network",
        "container:base",
        "localhost/bb:1",
        "true",
    ]);
    let r = st.run(&["rm", "base"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("dependent containers"), "{}", r.stderr);
    assert_eq!(st.run(&["container", "exists", "base"]).code, 0);
    st.ok(&["rm", "joiner"]);
    st.ok(&["rm", "base"]);
    let r = st.run(&[
        "create",
        "-v",
        "/tmp:/data",
        "--tmpfs",
        "/data",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("/data: duplicate mount destination"),
        "{}",
        r.stderr
    );
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "", "a container was left");
}

/// `stop` and `rm -f` of a running `--rm` container race its monitor, which
/// removes it as soon as its process ends: whoever gets there first, the
/// user's command succeeds and the container is gone (podman's answer;
/// berth's used to be "no such container").
#[test]
fn stop_and_rm_of_a_rm_container_racing_its_monitor_succeed() {
    let st = TestStore::with_busybox();
    for i in 0..12 {
        let name = format!("race{i}");
        st.ok(&[
            "run",
            "-d",
            "--rm",
            "--name",
            &name,
            "localhost/bb:1",
            "sleep",
            "1000",
        ]);
        let verb: &[&str] = if i % 2 == 0 {
            &["stop", "-t", "0"]
        } else {
            &["rm", "-f", "-t", "0"]
        };
        let mut args = verb.to_vec();
        args.push(&name);
        let r = st.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        // The monitor's removal may still be finishing after a stop.
        let r = st.run(&["wait", "--ignore", &name]);
        assert_eq!(r.code, 0, "wait --ignore {name}: {}", r.stderr);
        assert_ne!(
            st.run(&["container", "exists", &name]).code,
            0,
            "{name} left"
        );
    }
}
