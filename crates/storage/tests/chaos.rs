//! Many berth processes and threads on one store at once: pulls, tags, removals,
//! containers and reads in parallel for a bounded number of iterations; the store
//! must check clean afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use berth_storage::{DriverKind, Error, Store, StoreConfig};
use common::{Tar, make_layout, pull};

const ITERATIONS: usize = 24;
const IMAGES: usize = 3;

fn layouts(dir: &Path) {
    let base = Tar::new()
        .file("etc/os-release", b"chaos\n")
        .dir("opq")
        .file("opq/x", b"x")
        .bytes();
    for k in 0..IMAGES {
        let mut layers = vec![base.clone()];
        for j in 0..=k {
            layers.push(
                Tar::new()
                    .file(&format!("l{j}/data"), format!("{k}-{j}").as_bytes())
                    .whiteout("opq/.wh..wh..opq")
                    .bytes(),
            );
        }
        make_layout(dir, &format!("i{k}"), &layers, &format!("img{k}"));
    }
}

fn driver() -> DriverKind {
    std::env::var("BERTH_CHAOS_DRIVER")
        .ok()
        .and_then(|d| DriverKind::parse(&d))
        .unwrap_or(DriverKind::Overlay)
}

fn open(root: &Path, driver: DriverKind) -> Arc<Store> {
    Arc::new(Store::open(StoreConfig::at(root.join("root"), root.join("run"), driver)).unwrap())
}

/// Errors a racing peer can legitimately cause.
fn tolerable(e: &Error) -> bool {
    e.is_not_found() || matches!(e, Error::ImageInUse { .. })
}

fn worker(root: &Path, layout: &Path, seed: u64, driver: DriverKind) {
    let store = open(root, driver);
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for _ in 0..ITERATIONS {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let k = (x >> 33) as usize % IMAGES;
        let name = format!("chaos/i{k}");
        match (x >> 40) % 5 {
            0 => {
                pull(&store, layout, &format!("i{k}"), &name).expect("pull");
            }
            1 => {
                if let Err(e) = store.tag(&name, &format!("chaos/alias{seed}")) {
                    assert!(tolerable(&e), "tag: {e}");
                }
            }
            2 => {
                if let Err(e) = store.remove_image(&name) {
                    assert!(tolerable(&e), "rmi: {e}");
                }
            }
            3 => {
                for im in store.images().expect("images") {
                    if let Err(e) = store.image(&im.id) {
                        assert!(tolerable(&e), "lookup: {e}");
                    }
                }
            }
            _ => match store.create_container(&name, &[], "") {
                Ok(c) => {
                    let rootfs = store.mount(&c.id).expect("mount");
                    assert_eq!(
                        std::fs::read(rootfs.join("etc/os-release")).unwrap(),
                        b"chaos\n"
                    );
                    store.unmount(&c.id, false).expect("unmount");
                    store.remove_container(&c.id).expect("rm");
                }
                Err(e) => assert!(tolerable(&e), "create: {e}"),
            },
        }
    }
}

/// The child side: runs a worker when the parent asks for one.
#[test]
#[ignore = "the child side, run by its parent test with --ignored"]
fn chaos_child() {
    let (Ok(root), Ok(layout), Ok(seed)) = (
        std::env::var("BERTH_CHAOS_ROOT"),
        std::env::var("BERTH_CHAOS_LAYOUT"),
        std::env::var("BERTH_CHAOS_SEED"),
    ) else {
        panic!("run only by the parent test, which sets the environment");
    };
    worker(
        Path::new(&root),
        Path::new(&layout),
        seed.parse().unwrap(),
        driver(),
    );
}

#[test]
fn overlay_parallel_processes_and_threads_leave_a_clean_store() {
    chaos(DriverKind::Overlay);
}

#[test]
fn vfs_parallel_processes_and_threads_leave_a_clean_store() {
    chaos(DriverKind::Vfs);
}

fn chaos(driver: DriverKind) {
    let t = tempfile::tempdir().unwrap();
    let _g = Unmount(t.path().to_path_buf());
    let layout = t.path().join("layout");
    layouts(&layout);
    let root = t.path().to_path_buf();
    let children: Vec<_> = (0..2u64)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "chaos_child",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("BERTH_CHAOS_ROOT", &root)
                .env("BERTH_CHAOS_LAYOUT", &layout)
                .env("BERTH_CHAOS_SEED", (100 + i).to_string())
                .env("BERTH_CHAOS_DRIVER", driver.name())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for seed in 0..3u64 {
            let (root, layout): (PathBuf, PathBuf) = (root.clone(), layout.clone());
            s.spawn(move || worker(&root, &layout, seed, driver));
        }
    });
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child worker failed");
    }
    let store = open(&root, driver);
    let report = store.check(false).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    // Everything still there is usable.
    for im in store.images().unwrap() {
        let c = store.create_container(&im.id, &[], "").unwrap();
        store.mount(&c.id).unwrap();
        store.remove_container(&c.id).unwrap();
    }
    for k in 0..IMAGES {
        let _ = store.remove_image(&format!("chaos/i{k}"));
    }
    for im in store.images().unwrap() {
        store.remove_image(&im.id).unwrap();
    }
    assert!(store.layers().unwrap().is_empty());
    assert!(store.check(false).unwrap().is_clean());
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        common::unmount_under(&self.0);
    }
}
