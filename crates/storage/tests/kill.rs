//! A process killed (SIGKILL) while applying layers, at points chosen by how many
//! bytes it had read: the next open cleans up, `check` is clean, and the same pull
//! then succeeds.

mod common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use berth_image::manifest::{Descriptor, RawManifest};
use berth_image::transport::oci_layout::OciSource;
use berth_image::transport::{BlobStream, ImageSource};
use berth_image::{Digest, Result as ImageResult};
use berth_storage::{DriverKind, StorageDestination, Store, StoreConfig};
use common::{Tar, make_layout, pull};

/// A source whose blob streams kill the process once `at` bytes were read in all.
struct KillingSource {
    inner: OciSource,
    read: Arc<AtomicU64>,
    at: u64,
}

struct KillingReader {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
    at: u64,
}

impl Read for KillingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self.at.saturating_sub(self.read.load(Ordering::SeqCst)) as usize;
        if room == 0 {
            // SAFETY: kill(2) on our own pid with a valid signal.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
        let want = buf.len().min(room.max(1));
        let n = self.inner.read(&mut buf[..want])?;
        self.read.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

impl ImageSource for KillingSource {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn manifest(&self, instance: Option<&Digest>) -> ImageResult<RawManifest> {
        self.inner.manifest(instance)
    }
    fn blob(&self, desc: &Descriptor) -> ImageResult<BlobStream> {
        let b = self.inner.blob(desc)?;
        Ok(BlobStream {
            reader: Box::new(KillingReader {
                inner: b.reader,
                read: self.read.clone(),
                at: self.at,
            }),
            size: b.size,
        })
    }
}

fn open(root: &Path, driver: DriverKind) -> Arc<Store> {
    Arc::new(Store::open(StoreConfig::at(root.join("root"), root.join("run"), driver)).unwrap())
}

fn driver_named(s: &str) -> DriverKind {
    berth_storage::DriverKind::parse(s).unwrap()
}

#[test]
#[ignore = "the child side, run by its parent test with --ignored"]
fn kill_child() {
    let (Ok(root), Ok(layout), Ok(at), Ok(driver)) = (
        std::env::var("BERTH_KILL_ROOT"),
        std::env::var("BERTH_KILL_LAYOUT"),
        std::env::var("BERTH_KILL_AT"),
        std::env::var("BERTH_KILL_DRIVER"),
    ) else {
        panic!("run only by the parent test, which sets the environment");
    };
    let store = open(Path::new(&root), driver_named(&driver));
    let src = KillingSource {
        inner: OciSource::open(Path::new(&layout), Some("v1")).unwrap(),
        read: Arc::new(AtomicU64::new(0)),
        at: at.parse().unwrap(),
    };
    let dst = StorageDestination::new(store, Some("kill/me")).unwrap();
    berth_image::copy::copy_image(
        &src,
        &dst,
        &berth_image::copy::CopyOptions::default(),
        &berth_image::copy::Silent,
    )
    .unwrap();
}

/// Incompressible bytes, deterministically.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn layers() -> Vec<Vec<u8>> {
    (0..3u64)
        .map(|l| {
            let mut t = Tar::new().dir(&format!("d{l}"));
            for f in 0..40u64 {
                t = t.file(&format!("d{l}/f{f}"), &noise(8 << 10, l * 100 + f + 1));
            }
            t.whiteout("etc/.wh.x").bytes()
        })
        .collect()
}

fn killed_at_byte_counts(driver: DriverKind) {
    let t = tempfile::tempdir().unwrap();
    let _g = Unmount(t.path().to_path_buf());
    let layout = t.path().join("layout");
    let ls = layers();
    make_layout(&layout, "v1", &ls, "kill");
    // Another image holds the bottom layer, so each pull skips it and applies the two
    // others: the kill points fall within what those two compress to.
    make_layout(&layout, "base", &ls[..1], "base");
    let root = t.path().to_path_buf();
    pull(&open(&root, driver), &layout, "base", "kill/base").unwrap();
    let total = (common::gzip(&ls[1]).len() + common::gzip(&ls[2]).len()) as u64;
    for at in [
        0,
        1,
        600,
        40_000,
        total / 3,
        total / 2,
        total * 3 / 4,
        total - 10,
    ] {
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "kill_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BERTH_KILL_ROOT", &root)
            .env("BERTH_KILL_LAYOUT", &layout)
            .env("BERTH_KILL_AT", at.to_string())
            .env("BERTH_KILL_DRIVER", driver.name())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "child at {at}: {status:?}"
        );
        let store = open(&root, driver);
        let r = store.check(false).unwrap();
        assert!(r.is_clean(), "after kill at {at}: {:?}", r.problems);
        assert!(store.image("kill/me").is_err());
        let staging: Vec<PathBuf> = std::fs::read_dir(root.join("root/staging"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(staging.is_empty(), "after kill at {at}: {staging:?}");
        pull(&store, &layout, "v1", "kill/me").unwrap();
        assert!(store.check(false).unwrap().is_clean());
        let r = store.remove_image("kill/me").unwrap();
        assert_eq!(r.layers.len(), 2);
    }
    let store = open(&root, driver);
    store.remove_image("kill/base").unwrap();
    assert!(store.layers().unwrap().is_empty());
    assert!(store.check(false).unwrap().is_clean());
}

#[test]
fn overlay_survives_sigkill_while_applying() {
    killed_at_byte_counts(DriverKind::Overlay);
}

#[test]
fn vfs_survives_sigkill_while_applying() {
    killed_at_byte_counts(DriverKind::Vfs);
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        common::unmount_under(&self.0);
    }
}
