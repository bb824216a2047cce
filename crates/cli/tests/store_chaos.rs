//! The store under abuse, through the `berth` binary and a real registry: several
//! processes pulling, tagging, reading and removing at once for a bounded time,
//! and pulls killed with SIGKILL at random moments. After each, `system check`
//! must find the store whole and every image must read back as it was pushed.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use support::fixtures;
use support::registry::Registry;

struct Store {
    dir: tempfile::TempDir,
    driver: &'static str,
}

impl Store {
    fn new(driver: &'static str) -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
            driver,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", self.driver]);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    }

    /// `system check` finds nothing wrong.
    fn assert_whole(&self, when: &str) {
        let r = self.run(&["system", "check"]);
        assert_eq!(r.code, 0, "{when}: {}{}", r.stdout, r.stderr);
    }

    /// The image reads back with these diff IDs (every layer verified on the way).
    fn assert_reads_back(&self, name: &str, want: &[String], scratch: &Path) {
        let _ = std::fs::remove_dir_all(scratch);
        self.ok(&[
            "image",
            "copy",
            "-q",
            &format!("containers-storage:{name}"),
            &format!("oci:{}:x", scratch.display()),
        ]);
        assert_eq!(oci_diff_ids(scratch, "x"), want, "{name}");
    }
}

/// A small linear congruential generator: the tests' choices, reproducible from
/// the seed they print.
struct Rng(u64);

impl Rng {
    fn seeded(what: &str) -> Rng {
        let seed = std::env::var("BERTH_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{what}: BERTH_CHAOS_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pushes fixture layouts to the registry; returns (name, diff IDs) of each.
fn publish(reg: &Registry, fxs: &[(&str, fixtures::Fixture)]) -> Vec<(String, Vec<String>)> {
    fxs.iter()
        .map(|(repo, fx)| {
            let name = format!("{}/{repo}:1", reg.addr());
            ok(&[
                "image",
                "copy",
                "-q",
                "--dest-tls-verify=false",
                &format!("oci:{}:{}", fx.layout.display(), fx.tag),
                &format!("docker://{name}"),
            ]);
            (name, oci_diff_ids(&fx.layout, &fx.tag))
        })
        .collect()
}

fn kill_pulls_at_random_moments(driver: &'static str) {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::five_layer(&tmp.path().join("five"), 0.05).unwrap();
    let images = publish(&reg, &[("kill/five", fx)]);
    let (name, diff_ids) = &images[0];
    let st = Store::new(driver);
    let pull = ["pull", "-q", "--tls-verify=false", name.as_str()];
    // How long a whole pull takes here: kills land anywhere in it, and a bit after.
    let t = Instant::now();
    st.ok(&pull);
    let whole = t.elapsed();
    st.ok(&["rmi", "-f", name]);
    let mut rng = Rng::seeded(driver);
    let scratch = tmp.path().join("back");
    for round in 0..10 {
        let at = Duration::from_micros(rng.below(whole.as_micros() as u64 * 6 / 5 + 1));
        let mut child = st
            .cmd()
            .args(pull)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Not a synchronisation: the random moment of the kill.
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        st.assert_whole(&format!("round {round}, killed at {at:?}"));
        st.ok(&pull);
        st.assert_whole(&format!("round {round}, after the next pull"));
        st.assert_reads_back(name, diff_ids, &scratch);
        st.ok(&["rmi", "-f", name]);
    }
    st.assert_whole("at the end");
}

#[test]
fn sigkill_of_pull_at_random_moments_overlay() {
    kill_pulls_at_random_moments("overlay");
}

#[test]
fn sigkill_of_pull_at_random_moments_vfs() {
    kill_pulls_at_random_moments("vfs");
}

/// What a racing peer may legitimately make a command fail with.
fn tolerable(r: &Run) -> bool {
    r.code == 0
        || ["not known", "not found", "in use", "no such", "unknown"]
            .iter()
            .any(|w| r.stderr.to_lowercase().contains(w))
}

#[test]
fn parallel_pulls_tags_reads_and_removals_leave_a_whole_store() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    // Three images sharing their busybox layer.
    let images = publish(
        &reg,
        &[
            (
                "chaos/small",
                fixtures::small(&tmp.path().join("a")).unwrap(),
            ),
            (
                "chaos/five",
                fixtures::five_layer(&tmp.path().join("b"), 0.02).unwrap(),
            ),
            (
                "chaos/special",
                fixtures::special(&tmp.path().join("c")).unwrap(),
            ),
        ],
    );
    let st = Store::new("overlay");
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut seeds = Rng::seeded("chaos");
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let mut rng = Rng(seeds.next());
                let (st, images) = (&st, &images);
                let scratch: PathBuf = tmp.path().join(format!("w{w}"));
                s.spawn(move || {
                    let mut bad = Vec::new();
                    let (mut n, mut succeeded) = (0, 0);
                    while Instant::now() < deadline {
                        n += 1;
                        let (name, _) = &images[rng.below(images.len() as u64) as usize];
                        let alias = format!("localhost/w{w}/alias:{}", rng.below(3));
                        let out = format!("oci:{}:x", scratch.display());
                        let src = format!("containers-storage:{name}");
                        let args: Vec<&str> = match rng.below(7) {
                            0 | 1 => vec!["pull", "-q", "--tls-verify=false", name],
                            2 => vec!["tag", name, &alias],
                            3 => vec!["untag", name, &alias],
                            4 => vec!["rmi", "-f", name],
                            5 => vec!["images", "-a"],
                            _ => vec!["image", "copy", "-q", &src, &out],
                        };
                        let r = st.run(&args);
                        succeeded += usize::from(r.code == 0);
                        if !tolerable(&r) {
                            bad.push(format!("{args:?} exited {}: {}", r.code, r.stderr));
                        }
                    }
                    eprintln!("worker {w}: {n} commands, {succeeded} succeeded");
                    // Races make many commands fail for good reasons (the image
                    // another worker just removed); each worker must still get
                    // some done.
                    assert!(
                        succeeded > 0,
                        "worker {w}: nothing succeeded in {n} commands"
                    );
                    bad
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");
    st.assert_whole("after the chaos");
    // Whatever is left reads back whole; and every image can still be pulled.
    for (name, diff_ids) in &images {
        st.ok(&["pull", "-q", "--tls-verify=false", name]);
        st.assert_reads_back(name, diff_ids, &tmp.path().join("final"));
    }
    st.ok(&["rmi", "-a", "-f"]);
    st.assert_whole("after removing everything");
}
