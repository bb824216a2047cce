//! `image prune` while a build runs: the images the build uses and has not
//! tied to a container (its base images, the intermediate images it has
//! committed with `--layers`, its stages' images) are leased by the build and
//! stay; once the build ends, or is killed, they are the prune's again.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Child;

use common::store::TestStore;
use common::wait_for;

/// Two stages: the second waits for the test to open the gate, then copies
/// from the first and starts a third stage from the base image again.
const GATED: &str = "FROM localhost/bb:1 AS stage0
RUN echo made-first > /made
RUN echo made-second >> /made
FROM localhost/bb:1 AS stage1
RUN echo one > /one
RUN while [ ! -e /gate/open ]; do sleep 0.1; done
COPY --from=stage0 /made /made
RUN cat /one >> /made
FROM localhost/bb:1
COPY --from=stage1 /made /made
RUN echo done > /done
";

/// A `berth build` running in the background. Dropped (the test passed or
/// failed), it is killed and whatever it left is removed.
struct Build<'a> {
    st: &'a TestStore,
    child: Option<Child>,
    log: PathBuf,
}

impl<'a> Build<'a> {
    /// Starts `berth build ARGS` with its output in `NAME.log` in the store's
    /// directory.
    fn start(st: &'a TestStore, name: &str, args: &[&str]) -> Build<'a> {
        let log = st.path().join(format!("{name}.log"));
        let f = std::fs::File::create(&log).unwrap();
        let child = st
            .cmd()
            .arg("build")
            .args(args)
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            // Its own group: nothing sent to it reaches the test runner.
            .process_group(0)
            .spawn()
            .unwrap();
        Build {
            st,
            child: Some(child),
            log,
        }
    }

    /// `kill -9`, and the exit reaped.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the build to end by itself; its exit code and its output.
    fn wait(&mut self) -> (i32, String) {
        let mut c = self.child.take().expect("a build running");
        let code = c.wait().unwrap().code().unwrap_or(-1);
        (code, std::fs::read_to_string(&self.log).unwrap_or_default())
    }
}

impl Drop for Build<'_> {
    fn drop(&mut self) {
        self.kill();
        // Leftovers go (the RUN's process too); TestStore's `rm -af` follows.
        let _ = self.st.run(&["builder", "rm", "--all"]);
    }
}

/// A context directory holding `containerfile`, and an empty gate directory.
fn context(st: &TestStore, containerfile: &str) -> (PathBuf, PathBuf) {
    let d = st.path().join("ctx");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("Containerfile"), containerfile).unwrap();
    let gate = st.path().join("gate");
    std::fs::create_dir_all(&gate).unwrap();
    (d, gate)
}

/// Starts the gated build, tagged `localhost/gated:1`, and waits until its
/// RUN waits on the gate (the first stage built, its working container
/// mounted for `COPY --from`).
fn start_gated<'a>(st: &'a TestStore, ctx: &Path, gate: &Path) -> Build<'a> {
    let volume = format!("{}:/gate:ro", gate.display());
    let build = Build::start(
        st,
        "gated",
        &[
            "-v",
            &volume,
            "-t",
            "localhost/gated:1",
            ctx.to_str().unwrap(),
        ],
    );
    wait_for("the gated RUN step", || {
        std::fs::read_to_string(&build.log).is_ok_and(|l| l.contains("/gate/open"))
            && running(st) == 1
    });
    build
}

/// How many working containers run now (the gated RUN's).
fn running(st: &TestStore) -> usize {
    st.ok(&["ps", "--external", "-q", "--no-trunc"])
        .stdout
        .lines()
        .count()
}

/// Every image ID in the store.
fn image_ids(st: &TestStore) -> Vec<String> {
    let mut ids: Vec<String> = st
        .ok(&["images", "-a", "-q", "--no-trunc"])
        .stdout
        .lines()
        .map(|l| l.trim_start_matches("sha256:").to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The lease files under the run root.
fn leases(st: &TestStore) -> Vec<String> {
    std::fs::read_dir(st.path().join("run/leases"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// The images `prune` said it removed.
fn pruned(st: &TestStore, args: &[&str]) -> Vec<String> {
    let mut all = vec!["image", "prune", "-f"];
    all.extend_from_slice(args);
    st.ok(&all)
        .stdout
        .lines()
        .map(|l| l.trim_start_matches("sha256:").to_string())
        .collect()
}

#[test]
fn prune_while_a_build_runs_leaves_its_images() {
    let st = TestStore::with_busybox();
    let (ctx, gate) = context(&st, GATED);
    let mut build = start_gated(&st, &ctx, &gate);
    let before = image_ids(&st);
    assert!(before.len() >= 4, "the build's intermediates: {before:?}");

    let dangling = pruned(&st, &["-f"]);
    let all = pruned(&st, &["-a", "-f"]);
    assert_eq!(
        (dangling, all),
        (vec![], vec![]),
        "prune took images of a running build"
    );
    assert_eq!(image_ids(&st), before);

    std::fs::write(gate.join("open"), "").unwrap();
    let (code, log) = build.wait();
    assert_eq!(code, 0, "the build failed: {log}");
    let made = st.ok(&["run", "--rm", "localhost/gated:1", "cat", "/made", "/done"]);
    assert_eq!(made.stdout, "made-first\nmade-second\none\ndone\n");

    // The build is over, its lease gone with it: its dangling images (the
    // stages' results) are the prune's again, and with -a every image is.
    assert_eq!(
        leases(&st),
        Vec::<String>::new(),
        "the build left its lease"
    );
    let after = image_ids(&st);
    let dangling = pruned(&st, &["-f"]);
    assert!(!dangling.is_empty(), "the build's dangling images stayed");
    assert!(dangling.iter().all(|id| after.contains(id)), "{dangling:?}");
    st.ok(&["run", "--rm", "localhost/gated:1", "cat", "/done"]);
    pruned(&st, &["-a", "-f"]);
    assert_eq!(image_ids(&st), Vec::<String>::new(), "prune -a kept images");
}

#[test]
fn a_killed_build_holds_nothing() {
    let st = TestStore::with_busybox();
    let (ctx, gate) = context(&st, GATED);
    let mut build = start_gated(&st, &ctx, &gate);
    let before = image_ids(&st);
    assert!(
        pruned(&st, &["-a", "-f"]).is_empty(),
        "prune took images of a running build"
    );
    build.kill();
    // The working containers it left hold their images; once they go, its
    // lease (its process is dead) holds nothing.
    st.ok(&["builder", "rm", "--all"]);
    // Its leases (the build's, and the one its pull of the base took for the
    // rest of the process) stay until a prune finds their process dead.
    assert!(!leases(&st).is_empty(), "the killed build's leases");
    let mut gone = pruned(&st, &["-a", "-f"]);
    gone.sort();
    assert_eq!(gone, before, "prune after the build was killed kept images");
    assert!(image_ids(&st).is_empty());
    assert!(leases(&st).is_empty(), "a dead process's lease was left");
}
