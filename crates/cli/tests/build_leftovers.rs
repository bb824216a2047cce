//! What a killed `berth build` leaves (working containers, their mounts and
//! layers, a RUN process still running) is listed by `builder containers` and
//! removed by `container prune` and `builder rm`, as buildah's and podman's
//! users expect; while a build runs, neither takes its working containers.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Child;

use berth_runtime::pid::{Pid, ProcessId};
use common::store::TestStore;
use common::wait_for;

/// A RUN that outlives the test's patience, unless its build is given a
/// `WAIT=0`.
const SLOW: &str = "FROM localhost/bb:1\nARG WAIT=30\nRUN sleep $WAIT\n";

/// A `berth build` running in the background. Dropped (the test passed or
/// failed), it is killed and whatever it left is removed, its RUN process
/// with it.
struct Build<'a> {
    st: &'a TestStore,
    child: Option<Child>,
}

impl<'a> Build<'a> {
    /// Starts `berth build ARGS` with its output in `NAME.log` in the store's
    /// directory.
    fn start(st: &'a TestStore, name: &str, args: &[&str]) -> Build<'a> {
        let log = std::fs::File::create(st.path().join(format!("{name}.log"))).unwrap();
        let child = st
            .cmd()
            .arg("build")
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own group: nothing sent to it reaches the test runner.
            .process_group(0)
            .spawn()
            .unwrap();
        Build {
            st,
            child: Some(child),
        }
    }

    /// `kill -9`, and the exit reaped: the build is gone for good.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the build to end by itself; its exit code.
    fn wait(&mut self) -> i32 {
        let mut c = self.child.take().expect("a build running");
        c.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Build<'_> {
    fn drop(&mut self) {
        self.kill();
        // Leftovers go (the RUN's process too); TestStore's `rm -af` follows.
        let _ = self.st.run(&["builder", "rm", "--all"]);
    }
}

/// A context directory holding `containerfile`.
fn context(st: &TestStore, name: &str, containerfile: &str) -> PathBuf {
    let d = st.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("Containerfile"), containerfile).unwrap();
    d
}

/// Full IDs of the working containers `ps --external` shows (`all`: stopped
/// ones too).
fn external(st: &TestStore, all: bool) -> Vec<String> {
    let mut args = vec!["ps", "--external", "-q", "--no-trunc"];
    if all {
        args.push("-a");
    }
    st.ok(&args).stdout.lines().map(str::to_string).collect()
}

/// The one working container whose RUN runs, once it does while the build
/// has `total` working containers (an earlier stage's short RUN does not
/// count).
fn running_step(st: &TestStore, total: usize) -> String {
    let mut running = Vec::new();
    wait_for("the RUN step running", || {
        running = external(st, false);
        running.len() == 1 && external(st, true).len() == total
    });
    running.remove(0)
}

/// The container's init process (its RUN's command) while it runs.
fn init_process(st: &TestStore, id: &str) -> ProcessId {
    let pid = Pid::parse(&st.inspect(id, ".State.Pid")).expect("a running RUN");
    ProcessId::of(pid).expect("the RUN's process")
}

/// Mount points under `dir`, as this mount namespace sees them.
fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&d))
        .map(str::to_string)
        .collect()
}

/// Nothing of working container `id` is left: no record, no mount under the
/// store, no layer, and the RUN process it held no longer runs.
fn assert_gone(st: &TestStore, id: &str, run: ProcessId) {
    assert!(
        !external(st, true).contains(&id.to_string()),
        "the working container is still there"
    );
    for d in ["root", "run"] {
        let left = mounts_under(&st.path().join(d));
        assert!(left.is_empty(), "mounts left under {d}: {left:?}");
    }
    let root = st.path().join("root");
    assert!(
        !root.join("overlay").join(id).exists(),
        "its layer's files were left"
    );
    let records = std::fs::read_to_string(root.join("store.json")).unwrap();
    assert!(!records.contains(id), "its layer is still recorded");
    assert!(!run.alive(), "its RUN process still runs");
}

/// The working containers `builder containers` lists, as full IDs.
fn builder_containers(st: &TestStore) -> Vec<String> {
    st.ok(&["builder", "containers", "-q", "--notruncate"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// Kills a build in its RUN step; returns the working container it left and
/// its RUN's process, checking that both are still there.
fn killed_build(st: &TestStore, build: &mut Build) -> (String, ProcessId) {
    let id = running_step(st, 1);
    let run = init_process(st, &id);
    build.kill();
    assert!(run.alive(), "the RUN process went with its build");
    assert_eq!(external(st, true), vec![id.clone()]);
    (id, run)
}

#[test]
fn killed_build_leftover_is_listed_and_pruned() {
    let st = TestStore::with_busybox();
    let ctx = context(&st, "ctx", SLOW);
    let mut build = Build::start(
        &st,
        "killed",
        &["-t", "localhost/slow:1", ctx.to_str().unwrap()],
    );
    let (id, run) = killed_build(&st, &mut build);
    assert_eq!(builder_containers(&st), vec![id.clone()]);
    let names = st.ok(&[
        "builder",
        "containers",
        "--format",
        "{{.ContainerName}} {{.Builder}}",
    ]);
    assert!(names.stdout.trim().ends_with(" true"), "{}", names.stdout);

    // The same build again works beside the leftover.
    let again = st.run(&[
        "build",
        "--build-arg",
        "WAIT=0",
        "-t",
        "localhost/slow:1",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        again.code, 0,
        "the build run again failed: {}",
        again.stderr
    );
    assert_eq!(
        builder_containers(&st),
        vec![id.clone()],
        "only the leftover is left"
    );

    let pruned = st.ok(&["container", "prune", "-f"]);
    assert!(
        pruned.stdout.lines().any(|l| l == id),
        "prune said: {}",
        pruned.stdout
    );
    assert_gone(&st, &id, run);
    assert!(builder_containers(&st).is_empty());
    st.ok(&["run", "--rm", "localhost/slow:1", "true"]);
}

/// [`SLOW`], its RUN writing over the context through an overlay the build
/// mounts (under the run root) for the RUN's time.
const SLOW_RW: &str =
    "FROM localhost/bb:1\nRUN --mount=type=bind,target=/ctx,rw touch /ctx/x && sleep 30\n";

#[test]
fn killed_build_leftover_goes_with_builder_rm_all() {
    let st = TestStore::with_busybox();
    let ctx = context(&st, "ctx", SLOW_RW);
    let mut build = Build::start(&st, "killed", &[ctx.to_str().unwrap()]);
    let (id, run) = killed_build(&st, &mut build);
    let scratch = mounts_under(&st.path().join("run/build-scratch"));
    assert_eq!(scratch.len(), 1, "the RUN's overlay: {scratch:?}");
    let removed = st.ok(&["builder", "rm", "--all"]);
    assert_eq!(removed.stdout.trim(), id);
    assert_gone(&st, &id, run);
    assert!(!st.path().join("run/build-scratch").join(&id).exists());
    assert!(
        !ctx.join("x").exists(),
        "the RUN wrote through to the context"
    );
}

#[test]
fn killed_build_leftover_goes_with_builder_rm_by_name() {
    let st = TestStore::with_busybox();
    let ctx = context(&st, "ctx", SLOW);
    let mut build = Build::start(&st, "killed", &[ctx.to_str().unwrap()]);
    let (id, run) = killed_build(&st, &mut build);
    let listed = st.ok(&["builder", "containers", "--format", "{{.ContainerName}}"]);
    let name = listed.stdout.trim();
    assert!(!name.is_empty(), "builder containers lists no leftover");
    st.ok(&["builder", "rm", name]);
    assert_gone(&st, &id, run);
}

/// A stage whose result a later stage copies, and a RUN that waits for the
/// test to open the gate: while it waits, the build has two working
/// containers (the first stage's, mounted for COPY --from, and the RUN's).
const GATED: &str = "FROM localhost/bb:1 AS first
RUN echo made-first > /made
FROM localhost/bb:1
RUN while [ ! -e /gate/open ]; do sleep 0.1; done
COPY --from=first /made /made
";

#[test]
fn prune_and_rm_all_leave_a_running_build_its_working_containers() {
    let st = TestStore::with_busybox();
    let ctx = context(&st, "ctx", GATED);
    let gate = st.path().join("gate");
    std::fs::create_dir_all(&gate).unwrap();
    let volume = format!("{}:/gate:ro", gate.display());
    let mut build = Build::start(
        &st,
        "gated",
        &[
            "-v",
            &volume,
            "-t",
            "localhost/gated:1",
            ctx.to_str().unwrap(),
        ],
    );
    running_step(&st, 2);
    let before = external(&st, true);
    assert_eq!(
        before.len(),
        2,
        "the first stage's and the RUN's: {before:?}"
    );

    let pruned = st.ok(&["container", "prune", "-f"]);
    assert!(
        before.iter().all(|id| !pruned.stdout.contains(id.as_str())),
        "prune took a running build's working container: {}",
        pruned.stdout
    );
    let kept = st.ok(&["builder", "rm", "--all"]);
    assert_eq!(
        kept.stdout, "",
        "rm --all took a running build's working container"
    );
    let named = st.run(&["builder", "rm", &before[0]]);
    assert_ne!(named.code, 0, "rm took a running build's working container");
    assert!(named.stderr.contains("in use"), "{}", named.stderr);
    let mut listed = builder_containers(&st);
    listed.sort();
    let mut expected = before.clone();
    expected.sort();
    assert_eq!(
        listed, expected,
        "builder containers lists a running build's"
    );

    std::fs::write(gate.join("open"), "").unwrap();
    let code = build.wait();
    let log = std::fs::read_to_string(st.path().join("gated.log")).unwrap();
    assert_eq!(code, 0, "the build failed: {log}");
    let made = st.ok(&["run", "--rm", "localhost/gated:1", "cat", "/made"]);
    assert_eq!(made.stdout, "made-first\n");
    assert!(
        external(&st, true).is_empty(),
        "the build left a working container"
    );
}
