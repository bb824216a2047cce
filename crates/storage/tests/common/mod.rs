//! Helpers shared by the storage tests: tar construction with raw headers (so hostile
//! names survive), tree snapshots, and Drop guards for mounts.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

pub use berth_testkit::Tar;

/// Every path under `dir` with a one-line description of what it is.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let full = root.join(rel);
        let md = std::fs::symlink_metadata(&full).unwrap();
        let ft = md.file_type();
        let what = if ft.is_symlink() {
            format!("link {}", std::fs::read_link(&full).unwrap().display())
        } else if ft.is_file() {
            format!("file {:o} {}", md.mode(), md.len())
        } else if ft.is_char_device() {
            format!("char {}", md.rdev())
        } else {
            format!("{:o}", md.mode())
        };
        out.insert(rel.to_path_buf(), what);
        if ft.is_dir() {
            for e in std::fs::read_dir(&full).unwrap() {
                walk(root, &rel.join(e.unwrap().file_name()), out);
            }
        }
    }
    walk(dir, Path::new(""), &mut out);
    out
}

/// Unmounts (lazily) on drop.
pub struct MountGuard(pub PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

/// Whether `path` is a mount point in this mount namespace.
pub fn is_mounted(path: &Path) -> bool {
    let want = path.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// gzip of a plain tar.
pub fn gzip(plain: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(plain).unwrap();
    e.finish().unwrap()
}

fn sha(b: &[u8]) -> berth_image::Digest {
    berth_image::Digest::sha256_of(b)
}

/// Writes an OCI layout at `dir` holding one image tagged `tag`, its layers the given
/// plain tars (stored gzip-compressed). Returns the manifest digest.
pub fn make_layout(dir: &Path, tag: &str, layers: &[Vec<u8>], label: &str) -> berth_image::Digest {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| {
        let d = sha(b);
        std::fs::write(blobs.join(d.hex()), b).unwrap();
        d
    };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for plain in layers {
        let gz = gzip(plain);
        diff_ids.push(sha(plain).to_string());
        let d = put(&gz);
        descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": d.to_string(), "size": gz.len()
        }));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": berth_image::manifest::Platform::host().architecture,
        "os": "linux",
        "config": {"Labels": {"test": label}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))
    .unwrap();
    let cd = put(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cd.to_string(), "size": config.len()},
        "layers": descs
    }))
    .unwrap();
    let md = put(&manifest);
    let index_path = dir.join("index.json");
    let mut index: serde_json::Value = std::fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| serde_json::json!({"schemaVersion": 2, "manifests": []}));
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": md.to_string(), "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    md
}

/// Copies `oci:LAYOUT:TAG` into the store as `name`.
pub fn pull(
    store: &std::sync::Arc<berth_storage::Store>,
    layout: &Path,
    tag: &str,
    name: &str,
) -> berth_image::Result<berth_image::copy::CopyReport> {
    let src = berth_image::transport::oci_layout::OciSource::open(layout, Some(tag))?;
    let dst = berth_storage::StorageDestination::new(store.clone(), Some(name))
        .map_err(|e| berth_image::Error::Invalid(e.to_string()))?;
    berth_image::copy::copy_image(
        &src,
        &dst,
        &berth_image::copy::CopyOptions::default(),
        &berth_image::copy::Silent,
    )
}

/// A store in a fresh temporary directory, unmounting everything under it on drop.
pub struct TestStore {
    pub store: std::sync::Arc<berth_storage::Store>,
    pub dir: tempfile::TempDir,
}

impl TestStore {
    pub fn new(driver: berth_storage::DriverKind) -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path(), driver, &[]);
        TestStore { store, dir }
    }
}

pub fn open_store(
    dir: &Path,
    driver: berth_storage::DriverKind,
    additional: &[PathBuf],
) -> std::sync::Arc<berth_storage::Store> {
    let mut cfg = berth_storage::StoreConfig::at(dir.join("root"), dir.join("run"), driver);
    cfg.additional_image_stores = additional.to_vec();
    std::sync::Arc::new(berth_storage::Store::open(cfg).unwrap())
}

impl Drop for TestStore {
    fn drop(&mut self) {
        unmount_under(self.dir.path());
    }
}

/// Lazily unmounts every mount below `dir`.
pub fn unmount_under(dir: &Path) {
    let prefix = dir.to_string_lossy().to_string();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in mounts {
        let _ = rustix::mount::unmount(m, rustix::mount::UnmountFlags::DETACH);
    }
}
