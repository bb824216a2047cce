//! The store end to end on real overlayfs and vfs: pull from an OCI layout, the merged
//! view of whiteouts and opaque directories, containers, diffs, push with identical
//! digests, shared layers, names, additional image stores, check and repair.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use berth_image::copy::{CopyOptions, Silent, copy_image};
use berth_image::transport::ImageSource;
use berth_image::transport::oci_layout::{OciDestination, OciSource};
use berth_storage::{DriverKind, Error, StorageSource, Store};
use common::{Tar, TestStore, make_layout, open_store, pull};

fn base() -> Vec<u8> {
    Tar::new()
        .dir("etc")
        .file("etc/os-release", b"berth test\n")
        .file("etc/gone", b"to be deleted\n")
        .file("opq/old1", b"1")
        .file("opq/old2", b"2")
        .file("bin/busybox", b"\x7fELF....")
        .hardlink("bin/sh", "bin/busybox")
        .symlink("bin/ls", "busybox")
        .bytes()
}

fn upper() -> Vec<u8> {
    Tar::new()
        .whiteout("etc/.wh.gone")
        .dir("opq")
        .whiteout("opq/.wh..wh..opq")
        .file("opq/new", b"n")
        .file("etc/added", b"a")
        .bytes()
}

fn top() -> Vec<u8> {
    Tar::new().file("app/run", b"#!/bin/sh\n").bytes()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

fn pull_mount_diff_push(driver: DriverKind) {
    let ts = TestStore::new(driver);
    let layout = ts.dir.path().join("layout");
    let md = make_layout(&layout, "v1", &[base(), upper(), top()], "a");
    pull(&ts.store, &layout, "v1", "example.com/test:v1").unwrap();

    let im = ts.store.image("example.com/test:v1").unwrap();
    assert_eq!(im.layers.len(), 3);
    assert_eq!(im.manifest_digest, md);
    assert_eq!(ts.store.image(&im.id[..12]).unwrap().id, im.id);
    assert!(ts.store.check(false).unwrap().is_clean());

    let c = ts
        .store
        .create_container("example.com/test:v1", &["c1".into()], "{}")
        .unwrap();
    let root = ts.store.mount("c1").unwrap();
    assert_eq!(
        fs::read(root.join("etc/os-release")).unwrap(),
        b"berth test\n"
    );
    assert!(!root.join("etc/gone").exists(), "whiteout not honoured");
    assert_eq!(
        names(&root.join("opq")),
        vec!["new"],
        "opaque dir not honoured"
    );
    assert_eq!(fs::read(root.join("bin/sh")).unwrap(), b"\x7fELF....");
    assert!(root.join("app/run").exists());
    fs::write(root.join("etc/written"), b"w").unwrap();
    fs::remove_file(root.join("etc/os-release")).unwrap();
    ts.store.unmount("c1", false).unwrap();

    let mut tar = Vec::new();
    ts.store.diff(&c.layer, &mut tar).unwrap();
    let entries: Vec<String> = tar::Archive::new(&tar[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(entries.contains(&"etc/written".to_string()), "{entries:?}");
    assert!(
        entries.contains(&"etc/.wh.os-release".to_string()),
        "{entries:?}"
    );

    // Pushed back out, the image keeps its digests.
    let out = ts.dir.path().join("out");
    let src = StorageSource::open(ts.store.clone(), "example.com/test:v1").unwrap();
    let dst = OciDestination::open(&out, Some("v1")).unwrap();
    let rep = copy_image(&src, &dst, &CopyOptions::default(), &Silent).unwrap();
    assert_eq!(rep.manifest_digest, md);
    let orig = OciSource::open(&layout, Some("v1")).unwrap();
    assert_eq!(
        orig.manifest(None).unwrap().bytes,
        src.manifest(None).unwrap().bytes
    );
    for f in names(&layout.join("blobs/sha256")) {
        assert_eq!(
            fs::read(layout.join("blobs/sha256").join(&f)).unwrap(),
            fs::read(out.join("blobs/sha256").join(&f)).unwrap()
        );
    }

    assert!(matches!(
        ts.store.remove_image("example.com/test:v1"),
        Err(Error::ImageInUse { .. })
    ));
    ts.store.remove_container("c1").unwrap();
    let r = ts.store.remove_image("example.com/test:v1").unwrap();
    assert_eq!(r.layers.len(), 3);
    assert!(ts.store.layers().unwrap().is_empty());
    assert!(ts.store.check(false).unwrap().is_clean());
    let root = ts.dir.path().join("root");
    assert!(names(&root.join(driver.name())).is_empty());
    assert!(names(&root.join("blobs/sha256")).is_empty());
    assert!(names(&root.join("images")).is_empty());
}

#[test]
fn overlay_pull_mount_diff_push() {
    pull_mount_diff_push(DriverKind::Overlay);
}

#[test]
fn vfs_pull_mount_diff_push() {
    pull_mount_diff_push(DriverKind::Vfs);
}

#[test]
fn layers_are_shared_and_freed_last() {
    for driver in [DriverKind::Overlay, DriverKind::Vfs] {
        let ts = TestStore::new(driver);
        let layout = ts.dir.path().join("layout");
        make_layout(&layout, "a", &[base(), upper()], "a");
        make_layout(&layout, "b", &[base(), upper(), top()], "b");
        pull(&ts.store, &layout, "a", "test/a").unwrap();
        pull(&ts.store, &layout, "b", "test/b").unwrap();
        assert_eq!(ts.store.layers().unwrap().len(), 3);
        let r = ts.store.remove_image("test/b").unwrap();
        assert_eq!(r.layers.len(), 1);
        assert_eq!(ts.store.layers().unwrap().len(), 2);
        // Pulled again: the shared layers are reused, the blob skipped, the top
        // applied again.
        pull(&ts.store, &layout, "b", "test/b").unwrap();
        assert_eq!(ts.store.layers().unwrap().len(), 3);
        ts.store.remove_image("test/a").unwrap();
        assert_eq!(ts.store.layers().unwrap().len(), 3);
        ts.store.remove_image("test/b").unwrap();
        assert!(ts.store.layers().unwrap().is_empty());
        assert!(ts.store.check(false).unwrap().is_clean());
    }
}

#[test]
fn names_move_between_images() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "a", &[base()], "a");
    make_layout(&layout, "b", &[base()], "b");
    pull(&ts.store, &layout, "a", "test/x:1").unwrap();
    pull(&ts.store, &layout, "b", "test/y").unwrap();
    let a = ts.store.image("test/x:1").unwrap();
    let b = ts.store.image("test/y").unwrap();
    assert_ne!(a.id, b.id);
    ts.store.tag(&b.id, "test/x:1").unwrap();
    assert_eq!(ts.store.image("test/x:1").unwrap().id, b.id);
    assert!(ts.store.image(&a.id).unwrap().names.is_empty());
    ts.store.tag(&b.id, "test/z").unwrap();
    // rmi of one of several names only untags.
    let r = ts.store.remove_image("test/z").unwrap();
    assert_eq!(r.deleted, None);
    assert_eq!(ts.store.image(&b.id).unwrap().names.len(), 2);
    ts.store.untag(&b.id, "test/x:1").unwrap();
    assert!(ts.store.image("test/x:1").unwrap_err().is_not_found());
    assert!(ts.store.check(false).unwrap().is_clean());
}

#[test]
fn additional_image_stores_are_used_in_place_and_never_written() {
    let t = tempfile::tempdir().unwrap();
    let ro_dir = t.path().join("ro");
    let layout = t.path().join("layout");
    make_layout(&layout, "v1", &[base(), upper()], "ro");
    {
        let ro = open_store(&ro_dir, DriverKind::Overlay, &[]);
        pull(&ro, &layout, "v1", "shared/img").unwrap();
    }
    let before = common::snapshot(&ro_dir.join("root"));
    let rw_dir = t.path().join("rw");
    let store = open_store(&rw_dir, DriverKind::Overlay, &[ro_dir.join("root")]);
    let _guard = Unmount(t.path().to_path_buf());
    let im = store.image("shared/img").unwrap();
    assert!(im.read_only);
    assert!(matches!(
        store.remove_image("shared/img"),
        Err(Error::ReadOnly(_))
    ));
    store
        .create_container("shared/img", &["c".into()], "")
        .unwrap();
    let root = store.mount("c").unwrap();
    assert!(root.join("etc/added").exists());
    assert!(!root.join("etc/gone").exists());
    fs::write(root.join("new"), b"x").unwrap();
    store.unmount("c", false).unwrap();
    // A local image on top of the shared layers reuses them.
    make_layout(&layout, "v2", &[base(), upper(), top()], "local");
    pull(&store, &layout, "v2", "local/img").unwrap();
    let local = store.layers().unwrap();
    assert_eq!(
        local
            .iter()
            .filter(|l| !l.read_only && !l.container)
            .count(),
        1
    );
    assert!(store.check(false).unwrap().is_clean());
    store.remove_container("c").unwrap();
    store.remove_image("local/img").unwrap();
    assert_eq!(common::snapshot(&ro_dir.join("root")), before);
}

struct Unmount(std::path::PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        common::unmount_under(&self.0);
    }
}

#[test]
fn check_finds_and_repairs_damage() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "a", &[base(), upper()], "a");
    make_layout(&layout, "b", &[top()], "b");
    pull(&ts.store, &layout, "a", "test/a").unwrap();
    pull(&ts.store, &layout, "b", "test/b").unwrap();
    let a = ts.store.image("test/a").unwrap();
    let bottom = ts.store.layer(&a.layers[0]).unwrap();
    fs::write(
        ts.store.layer_path(&bottom).join("etc/os-release"),
        b"tampered",
    )
    .unwrap();
    // Leftover of a killed process.
    fs::create_dir_all(ts.dir.path().join("root/staging/deadbeef/diff")).unwrap();
    let r = ts.store.check(false).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, berth_storage::Problem::LayerModified { .. })),
        "{:?}",
        r.problems
    );
    let r = ts.store.check(true).unwrap();
    assert!(!r.repaired.is_empty());
    assert!(ts.store.image("test/a").is_err());
    assert!(ts.store.image("test/b").is_ok());
    assert!(
        ts.store.check(false).unwrap().is_clean(),
        "{:?}",
        ts.store.check(false).unwrap()
    );
    assert!(!ts.dir.path().join("root/staging/deadbeef").exists());
}

#[test]
fn many_layers_mount_under_a_long_root() {
    let t = tempfile::tempdir().unwrap();
    let deep = t
        .path()
        .join("a-rather-long-directory-name-to-make-lowerdir-paths-long".repeat(3));
    let layout = t.path().join("layout");
    let layers: Vec<Vec<u8>> = (0..120)
        .map(|i| {
            Tar::new()
                .file(&format!("f{i}"), format!("{i}").as_bytes())
                .bytes()
        })
        .collect();
    make_layout(&layout, "v", &layers, "many");
    let store: Arc<Store> = open_store(&deep, DriverKind::Overlay, &[]);
    let _g = Unmount(t.path().to_path_buf());
    pull(&store, &layout, "v", "test/many").unwrap();
    store.create_container("test/many", &[], "").unwrap();
    let c = store.containers().unwrap().remove(0);
    let root = store.mount(&c.id).unwrap();
    assert_eq!(fs::read(root.join("f0")).unwrap(), b"0");
    assert_eq!(fs::read(root.join("f119")).unwrap(), b"119");
    store.remove_container(&c.id).unwrap();
}

#[test]
fn mounts_are_counted() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "v1", &[base()], "a");
    pull(&ts.store, &layout, "v1", "test/m").unwrap();
    ts.store
        .create_container("test/m", &["m".into()], "")
        .unwrap();
    let root = ts.store.mount("m").unwrap();
    assert_eq!(ts.store.mount("m").unwrap(), root);
    assert!(ts.store.unmount("m", false).unwrap());
    assert!(common::is_mounted(&root));
    assert!(!ts.store.unmount("m", false).unwrap());
    assert!(!common::is_mounted(&root));
    ts.store.mount("m").unwrap();
    ts.store.mount("m").unwrap();
    assert!(!ts.store.unmount("m", true).unwrap());
    assert!(!common::is_mounted(&root));
    ts.store.remove_container("m").unwrap();
}

#[test]
fn zstd_and_uncompressed_layers_are_stored_and_served_as_written() {
    use berth_image::manifest::Compression;
    for (decompress, compression) in [(false, Some(Compression::Zstd)), (true, None)] {
        let ts = TestStore::new(DriverKind::Overlay);
        let layout = ts.dir.path().join("layout");
        make_layout(&layout, "v1", &[base(), upper()], "z");
        let src = OciSource::open(&layout, Some("v1")).unwrap();
        let dst = berth_storage::StorageDestination::new(ts.store.clone(), Some("test/z")).unwrap();
        let opts = CopyOptions {
            compression,
            decompress,
            ..CopyOptions::default()
        };
        let rep = copy_image(&src, &dst, &opts, &Silent).unwrap();
        let im = ts.store.image("test/z").unwrap();
        assert_eq!(im.manifest_digest, rep.manifest_digest);
        let c = ts.store.create_container("test/z", &[], "").unwrap();
        let root = ts.store.mount(&c.id).unwrap();
        assert!(root.join("etc/added").exists());
        assert!(!root.join("etc/gone").exists());
        ts.store.unmount(&c.id, true).unwrap();
        // Served back byte for byte.
        let out = ts.dir.path().join("out");
        let s = StorageSource::open(ts.store.clone(), "test/z").unwrap();
        let d = OciDestination::open(&out, Some("v1")).unwrap();
        assert_eq!(
            copy_image(&s, &d, &CopyOptions::default(), &Silent)
                .unwrap()
                .manifest_digest,
            rep.manifest_digest
        );
        assert!(ts.store.check(false).unwrap().is_clean());
    }
}

#[test]
fn a_hostile_layer_fails_the_pull_and_leaves_nothing() {
    for driver in [DriverKind::Overlay, DriverKind::Vfs] {
        let ts = TestStore::new(driver);
        let canary = ts.dir.path().join("canary");
        fs::create_dir(&canary).unwrap();
        let layout = ts.dir.path().join("layout");
        let evil = Tar::new()
            .symlink("esc", "../../../../../canary")
            .file("esc/pwned", b"x")
            .bytes();
        make_layout(&layout, "v1", &[base(), evil], "evil");
        assert!(pull(&ts.store, &layout, "v1", "test/evil").is_err());
        assert!(names(&canary).is_empty());
        assert!(ts.store.images().unwrap().is_empty());
        assert!(names(&ts.dir.path().join("root/staging")).is_empty());
        assert!(ts.store.check(false).unwrap().is_clean());
    }
}

#[test]
fn a_containers_changes_become_a_layer() {
    for driver in [DriverKind::Overlay, DriverKind::Vfs] {
        let ts = TestStore::new(driver);
        let layout = ts.dir.path().join("layout");
        make_layout(&layout, "v1", &[base(), upper()], "c");
        pull(&ts.store, &layout, "v1", "test/c").unwrap();
        let im = ts.store.image("test/c").unwrap();
        let c = ts.store.create_container("test/c", &[], "").unwrap();
        let root = ts.store.mount(&c.id).unwrap();
        fs::write(root.join("etc/new"), b"n").unwrap();
        fs::remove_file(root.join("etc/added")).unwrap();
        ts.store.unmount(&c.id, true).unwrap();
        let mut tar = Vec::new();
        ts.store.diff(&c.layer, &mut tar).unwrap();
        let top = im.top_layer.as_deref();
        let l = ts.store.put_layer(top, &tar[..]).unwrap();
        assert_eq!(l.parent.as_deref(), top);
        assert_eq!(ts.store.put_layer(top, &tar[..]).unwrap().id, l.id);
        let merged = ts.store.layer_path(&l);
        match driver {
            DriverKind::Overlay => assert!(merged.join("etc/new").exists()),
            DriverKind::Vfs => {
                assert!(merged.join("etc/new").exists());
                assert!(!merged.join("etc/added").exists());
                assert!(merged.join("etc/os-release").exists());
            }
        }
        assert!(ts.store.check(false).unwrap().is_clean());
    }
}

/// On ext4 the store asks the Orlov allocator to spread layers over block groups
/// (`chattr +T` on the directories new layer trees are made in).
#[test]
fn layer_parents_are_marked_top_of_hierarchy_on_ext4() {
    use rustix::fs::{IFlags, Mode, OFlags, ioctl_getflags, open, statfs};
    const EXT4_SUPER_MAGIC: i64 = 0xEF53;
    let base = Path::new("/var/tmp");
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between architectures
    let fs_type = statfs(base).map(|s| s.f_type as i64);
    if fs_type != Ok(EXT4_SUPER_MAGIC) {
        eprintln!("skipped: /var/tmp is not ext4 here");
        return;
    }
    let dir = tempfile::tempdir_in(base).unwrap();
    let store = open_store(dir.path(), DriverKind::Overlay, &[]);
    for d in ["staging", "overlay"] {
        let p = store.graph_root().join(d);
        let fd = open(&p, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let flags = ioctl_getflags(&fd).unwrap();
        assert!(
            flags.contains(IFlags::TOPDIR),
            "{} lacks +T: {flags:?}",
            p.display()
        );
    }
}

/// Makes the store's records what an older berth, which wrote them as three files one
/// after the other, left when killed between `layers.json` and `containers.json` of a
/// container's creation: a container layer that no container names.
fn cut_between_legacy_files(root: &Path, orphan: &str) {
    let path = root.join("store.json");
    let mut records: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    records["containers"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["id"] != orphan);
    for f in ["layers", "images", "containers"] {
        fs::write(
            root.join(format!("{f}.json")),
            serde_json::to_vec(&records[f]).unwrap(),
        )
        .unwrap();
    }
    fs::remove_file(&path).unwrap();
}

#[test]
fn what_a_cut_write_leaves_is_found_and_repaired() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "a", &[base()], "a");
    pull(&ts.store, &layout, "a", "test/a").unwrap();
    let kept = ts
        .store
        .create_container("test/a", &["kept".into()], "")
        .unwrap();
    let cut = ts
        .store
        .create_container("test/a", &["cut".into()], "")
        .unwrap();
    let root = ts.dir.path().join("root");
    cut_between_legacy_files(&root, &cut.id);
    // A writer killed between its temporary file and the rename.
    let tmp = root.join(".store.json.tmp-4242-00ff");
    fs::write(&tmp, b"{").unwrap();

    let r = ts.store.check(false).unwrap();
    let orphaned = berth_storage::Problem::LayerOrphaned {
        layer: cut.layer.clone(),
    };
    assert!(r.problems.contains(&orphaned), "{:?}", r.problems);
    assert!(
        r.problems
            .iter()
            .any(|p| p.to_string().starts_with(".store.json.tmp-4242-00ff:")),
        "{:?}",
        r.problems
    );
    let r = ts.store.check(true).unwrap();
    assert!(!r.repaired.is_empty());
    let after = ts.store.check(false).unwrap();
    assert!(after.is_clean(), "{after:?}");
    assert!(!tmp.exists(), "the unfinished write is left");
    assert!(!root.join("overlay").join(&cut.layer).exists());
    assert!(
        ts.store.layer(&cut.layer).is_err(),
        "the orphan is recorded"
    );
    // What the container that was whole had is untouched, and the records are one
    // file again.
    assert_eq!(ts.store.container("kept").unwrap().layer, kept.layer);
    assert!(root.join("overlay").join(&kept.layer).join("diff").is_dir());
    assert!(root.join("store.json").is_file());
    assert!(!root.join("layers.json").exists());
}

#[test]
fn opening_an_idle_store_removes_what_a_cut_write_left() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "a", &[base()], "a");
    pull(&ts.store, &layout, "a", "test/a").unwrap();
    let cut = ts.store.create_container("test/a", &[], "").unwrap();
    let root = ts.dir.path().join("root");
    cut_between_legacy_files(&root, &cut.id);
    let tmp = root.join(".containers.json.tmp-4242-00ff");
    fs::write(&tmp, b"[").unwrap();

    let again = open_store(ts.dir.path(), DriverKind::Overlay, &[]);
    assert!(again.layer(&cut.layer).is_err(), "the orphan is recorded");
    assert!(!root.join("overlay").join(&cut.layer).exists());
    assert!(!tmp.exists(), "the unfinished write is left");
    assert!(again.check(false).unwrap().is_clean());
    assert!(again.image("test/a").is_ok());
}

#[test]
fn removed_records_go_before_their_files() {
    // A removal saves the records first: the files left by a kill between the two
    // are named by no record (a leftover `recover` removes), never records without
    // files. Seen from outside, every file of the removed container and image is gone.
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "a", &[base()], "a");
    pull(&ts.store, &layout, "a", "test/a").unwrap();
    let c = ts.store.create_container("test/a", &[], "").unwrap();
    let im = ts.store.image("test/a").unwrap();
    let root = ts.dir.path().join("root");
    ts.store.remove_container(&c.id).unwrap();
    assert!(!root.join("overlay").join(&c.layer).exists());
    let removed = ts.store.remove_image("test/a").unwrap();
    assert_eq!(removed.deleted.as_deref(), Some(im.id.as_str()));
    assert!(!root.join("images").join(&im.id).exists());
    for l in &removed.layers {
        assert!(!root.join("overlay").join(l).exists(), "layer {l} left");
    }
    assert_eq!(fs::read_dir(root.join("blobs/sha256")).unwrap().count(), 0);
    assert!(ts.store.check(false).unwrap().is_clean());
}

#[test]
fn a_layer_directory_left_by_a_cut_removal_does_not_block_the_next_pull() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "a", &[base()], "a");
    pull(&ts.store, &layout, "a", "test/a").unwrap();
    let layer = ts.store.image("test/a").unwrap().layers[0].clone();
    ts.store.remove_image("test/a").unwrap();
    // What a removal killed after its record was saved leaves behind.
    let left = ts.dir.path().join("root/overlay").join(&layer).join("diff");
    fs::create_dir_all(&left).unwrap();
    fs::write(left.join("stale"), b"x").unwrap();
    pull(&ts.store, &layout, "a", "test/a").unwrap();
    let l = ts.store.layer(&layer).unwrap();
    assert!(!ts.store.layer_path(&l).join("stale").exists());
    assert!(ts.store.check(false).unwrap().is_clean());
}

/// A layer whose tar has no `./` entry has the root containers/storage gives
/// it: 0555 for a base layer, its parent's mode above one (podman's
/// "run image with filesystem permission"); a `./` entry sets its own.
#[test]
fn a_layer_without_a_root_entry_keeps_the_root_it_is_given() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    for driver in [DriverKind::Overlay, DriverKind::Vfs] {
        let ts = TestStore::new(driver);
        let base = ts.store.put_layer(None, &top()[..]).unwrap();
        assert_eq!(mode(&ts.store.layer_path(&base)), 0o555, "{driver:?}");
        let own = Tar::new().dir_with(".", 0o750, 0, 0).bytes();
        let mid = ts.store.put_layer(Some(&base.id), &own[..]).unwrap();
        assert_eq!(mode(&ts.store.layer_path(&mid)), 0o750, "{driver:?}");
        let above = Tar::new().file("x", b"x").bytes();
        let up = ts.store.put_layer(Some(&mid.id), &above[..]).unwrap();
        assert_eq!(mode(&ts.store.layer_path(&up)), 0o750, "{driver:?}");
    }
}

/// The same for layers pulled through the copy engine, which applies them
/// before it knows their parents: a root without an entry is given at the
/// commit, and the recorded tree checksums still verify.
#[test]
fn a_pulled_layer_without_a_root_entry_gets_its_parents_root() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    let plain = Tar::new().file("a", b"a").bytes();
    let own = Tar::new()
        .dir_with(".", 0o750, 0, 0)
        .file("b", b"b")
        .bytes();
    let above = Tar::new().file("c", b"c").bytes();
    make_layout(&layout, "v1", &[plain, own, above], "roots");
    pull(&ts.store, &layout, "v1", "test/roots").unwrap();
    let im = ts.store.image("test/roots").unwrap();
    let modes: Vec<u32> = im
        .layers
        .iter()
        .map(|id| mode(&ts.store.layer_path(&ts.store.layer(id).unwrap())))
        .collect();
    assert_eq!(modes, [0o555, 0o750, 0o750]);
    let report = ts.store.check(false).unwrap();
    assert!(report.is_clean(), "{report:?}");
}

/// A mount a killed process left inside a container's directory (an
/// ID-mapped clone of an image layer, a merged root) is detached when the
/// container goes, never walked into: the image's own files stay.
#[test]
fn removing_a_container_never_empties_what_is_mounted_inside_it() {
    let ts = TestStore::new(DriverKind::Overlay);
    let layout = ts.dir.path().join("layout");
    make_layout(&layout, "v1", &[base()], "a");
    pull(&ts.store, &layout, "v1", "test/left").unwrap();
    let c = ts.store.create_container("test/left", &[], "").unwrap();
    let image = ts.store.image("test/left").unwrap();
    let layer = ts.store.layer(image.top_layer.as_deref().unwrap()).unwrap();
    let layer_dir = ts.store.layer_path(&layer);
    let before = names(&layer_dir);
    assert!(!before.is_empty());
    // What a process killed between attaching and clearing would leave.
    let root = ts.store.mount(&c.id).unwrap();
    let left = root.parent().unwrap().join("idmapped/0");
    fs::create_dir_all(&left).unwrap();
    let status = std::process::Command::new("mount")
        .args(["--bind"])
        .arg(&layer_dir)
        .arg(&left)
        .status()
        .unwrap();
    assert!(status.success());
    ts.store.remove_container(&c.id).unwrap();
    assert!(!common::is_mounted(&left), "the leftover mount stayed");
    assert_eq!(names(&layer_dir), before, "the image's layer lost files");
}
