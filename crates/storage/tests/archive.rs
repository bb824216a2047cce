//! Layer apply and diff: round trips of every entry kind, compression sniffing, the
//! hostile-archive corpus on both whiteout forms, whiteouts and opaque directories.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use berth_image::Digest;
use berth_image::manifest::Compression;
use berth_storage::archive::{
    ApplyOptions, Limits, WhiteoutMode, apply_layer, tree_checksum, write_diff,
};
use common::{Tar, snapshot};
use tar::EntryType;

fn opts(mode: WhiteoutMode) -> ApplyOptions {
    let mut o = ApplyOptions::new(mode);
    o.sync = false;
    o
}

fn every_kind() -> Tar {
    Tar::new()
        .dir_with("etc", 0o755, 0, 1_500_000_000)
        .file_with(
            "etc/passwd",
            b"root:x:0:0\n",
            0o644,
            0,
            0,
            1_500_000_001,
            &[],
        )
        .file_with(
            "etc/shadow",
            b"secret",
            0o640,
            0,
            42,
            1_500_000_002,
            &[("user.note", b"kept"), ("trusted.berth", b"t")],
        )
        .file_with("bin/su", b"\x7fELF", 0o4755, 0, 0, 1_500_000_003, &[])
        .hardlink("bin/su2", "bin/su")
        .symlink("bin/sh", "busybox")
        .symlink("usr-lib", "../../../usr/lib")
        .dir_with("home/user", 0o700, 1000, 1_500_000_004)
        .file_with(
            "home/user/f",
            b"mine",
            0o600,
            1000,
            1000,
            1_500_000_005,
            &[],
        )
        .node(EntryType::Char, "dev/null", 1, 3)
        .node(EntryType::Block, "dev/loop0", 7, 0)
        .node(EntryType::Fifo, "run/fifo", 0, 0)
        .dir_with("tmp", 0o1777, 0, 1_500_000_006)
}

fn fix_root(p: &Path) {
    fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let t = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        },
    };
    rustix::fs::utimensat(rustix::fs::CWD, p, &t, rustix::fs::AtFlags::empty()).unwrap();
}

#[test]
fn every_entry_kind_survives_apply_diff_apply() {
    for mode in [WhiteoutMode::Overlay, WhiteoutMode::Delete] {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        let tar = every_kind().bytes();
        let mut o = opts(mode);
        o.checksum = true;
        let rep = apply_layer(&tar[..], &a, &o, None).unwrap();
        assert_eq!(rep.diff_id, Digest::sha256_of(&tar));
        assert_eq!(rep.tree_checksum.unwrap(), tree_checksum(&a).unwrap());
        assert_eq!(rep.compression, Compression::None);

        let md = fs::metadata(a.join("bin/su")).unwrap();
        assert_eq!(md.mode() & 0o7777, 0o4755);
        assert_eq!(md.nlink(), 2);
        assert_eq!(md.mtime(), 1_500_000_003);
        assert_eq!(fs::metadata(a.join("etc/shadow")).unwrap().gid(), 42);
        assert_eq!(fs::metadata(a.join("home/user")).unwrap().uid(), 1000);
        assert_eq!(fs::metadata(a.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
        assert_eq!(fs::metadata(a.join("etc")).unwrap().mtime(), 1_500_000_000);
        assert_eq!(
            fs::read_link(a.join("usr-lib")).unwrap(),
            Path::new("../../../usr/lib")
        );
        assert_eq!(
            fs::symlink_metadata(a.join("dev/null")).unwrap().rdev(),
            rustix::fs::makedev(1, 3)
        );
        let mut v = [0u8; 16];
        let n = rustix::fs::getxattr(a.join("etc/shadow"), "user.note", &mut v[..]).unwrap();
        assert_eq!(&v[..n], b"kept");

        let mut out = Vec::new();
        let d = write_diff(&a, None, mode, &mut out).unwrap();
        assert_eq!(d.diff_id, Digest::sha256_of(&out));
        apply_layer(&out[..], &b, &opts(mode), None).unwrap();
        fix_root(&a);
        fix_root(&b);
        assert_eq!(snapshot(&a), snapshot(&b));
        assert_eq!(tree_checksum(&a).unwrap(), tree_checksum(&b).unwrap());
        // The same tree gives the same diff bytes.
        let mut again = Vec::new();
        write_diff(&b, None, mode, &mut again).unwrap();
        assert_eq!(out, again);
    }
}

#[test]
fn compression_is_sniffed_and_both_digests_computed() {
    let t = tempfile::tempdir().unwrap();
    let tar = Tar::new().file("a", b"hello");
    let plain = Tar::new().file("a", b"hello").bytes();
    // An uncompressed blob with bytes after the tar's end: its digest (hashed
    // once, as the diff ID) must still cover every byte.
    let mut padded = plain.clone();
    padded.extend_from_slice(&[0u8; 4096]);
    for (blob, c) in [
        (tar.gzip(), Compression::Gzip),
        (Tar::new().file("a", b"hello").zstd(), Compression::Zstd),
        (plain.clone(), Compression::None),
        (padded, Compression::None),
    ] {
        let dir = t.path().join(format!("{c:?}-{}", blob.len()));
        fs::create_dir(&dir).unwrap();
        let mut kept = Vec::new();
        let r = apply_layer(
            &blob[..],
            &dir,
            &opts(WhiteoutMode::Overlay),
            Some(&mut kept),
        )
        .unwrap();
        assert_eq!(r.compression, c);
        if c == Compression::None {
            assert_eq!(r.diff_id, Digest::sha256_of(&blob));
        } else {
            assert_eq!(r.diff_id, Digest::sha256_of(&plain));
        }
        assert_eq!(r.compressed_digest, Digest::sha256_of(&blob));
        assert_eq!(r.compressed_size, blob.len() as u64);
        assert_eq!(kept, blob);
        assert_eq!(fs::read(dir.join("a")).unwrap(), b"hello");
    }
}

#[test]
fn whiteouts_take_each_drivers_form() {
    let t = tempfile::tempdir().unwrap();
    let base = Tar::new()
        .file("keep", b"k")
        .file("gone", b"g")
        .file("d/old", b"o")
        .file("e/x", b"x")
        .bytes();
    let upper = Tar::new()
        .whiteout(".wh.gone")
        .dir("d")
        .whiteout("d/.wh..wh..opq")
        .file("d/new", b"n")
        .whiteout("e/.wh.x")
        .bytes();
    // overlay form
    let o = t.path().join("o");
    fs::create_dir(&o).unwrap();
    apply_layer(&upper[..], &o, &opts(WhiteoutMode::Overlay), None).unwrap();
    let md = fs::symlink_metadata(o.join("gone")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &md.file_type()
    ));
    assert_eq!(md.rdev(), 0);
    let mut v = [0u8; 4];
    let n = rustix::fs::getxattr(o.join("d"), "trusted.overlay.opaque", &mut v[..]).unwrap();
    assert_eq!(&v[..n], b"y");
    // and back to OCI whiteouts
    let mut out = Vec::new();
    write_diff(&o, None, WhiteoutMode::Overlay, &mut out).unwrap();
    let names: Vec<String> = tar::Archive::new(&out[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&".wh.gone".to_string()), "{names:?}");
    assert!(names.contains(&"d/.wh..wh..opq".to_string()), "{names:?}");
    assert!(names.contains(&"e/.wh.x".to_string()), "{names:?}");

    // delete form, on a copy of the base
    let v1 = t.path().join("v");
    fs::create_dir(&v1).unwrap();
    apply_layer(&base[..], &v1, &opts(WhiteoutMode::Delete), None).unwrap();
    apply_layer(&upper[..], &v1, &opts(WhiteoutMode::Delete), None).unwrap();
    assert!(v1.join("keep").exists());
    assert!(!v1.join("gone").exists());
    assert!(!v1.join("d/old").exists());
    assert!(v1.join("d/new").exists());
    assert!(!v1.join("e/x").exists());
}

/// A file in PAX's sparse format 1.0 claiming 10^15 bytes.
fn pax_sparse() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("GNU.sparse.major", b"1".as_slice()),
        ("GNU.sparse.minor", b"0".as_slice()),
        ("GNU.sparse.name", b"big".as_slice()),
        ("GNU.sparse.realsize", b"1000000000000000".as_slice()),
    ])
    .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("GNUSparseFile.0/big").unwrap();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    b.append(&h, &b"1\n0"[..]).unwrap();
    b.into_inner().unwrap()
}

/// A hostile archive and whether it must be refused (else: applied harmlessly).
fn corpus() -> Vec<(&'static str, Vec<u8>, bool)> {
    vec![
        (
            "dotdot",
            Tar::new().file("../canary/evil", b"x").bytes(),
            true,
        ),
        (
            "dotdot-deep",
            Tar::new().file("a/../../canary/evil", b"x").bytes(),
            true,
        ),
        (
            "absolute",
            Tar::new().file("/tmp/berth-evil", b"x").bytes(),
            true,
        ),
        (
            "symlink-parent",
            Tar::new()
                .symlink("l", "../canary")
                .file("l/evil", b"x")
                .bytes(),
            true,
        ),
        (
            "symlink-parent-abs",
            Tar::new()
                .symlink("l", "/")
                .file("l/tmp/berth-evil", b"x")
                .bytes(),
            true,
        ),
        (
            "symlink-chain",
            Tar::new()
                .symlink("a", "b")
                .symlink("b", "../canary")
                .file("a/evil", b"x")
                .bytes(),
            true,
        ),
        (
            "hardlink-out",
            Tar::new().hardlink("h", "../canary/secret").bytes(),
            true,
        ),
        (
            "hardlink-abs",
            Tar::new().hardlink("h", "/etc/passwd").bytes(),
            true,
        ),
        (
            "hardlink-via-symlink",
            Tar::new()
                .symlink("l", "../canary")
                .hardlink("h", "l/secret")
                .bytes(),
            true,
        ),
        (
            "whiteout-via-symlink",
            Tar::new()
                .symlink("l", "../canary")
                .whiteout("l/.wh.secret")
                .bytes(),
            true,
        ),
        (
            "opaque-via-symlink",
            Tar::new()
                .symlink("l", "../canary")
                .whiteout("l/.wh..wh..opq")
                .bytes(),
            true,
        ),
        (
            "whiteout-dotdot",
            Tar::new().whiteout(".wh...").bytes(),
            true,
        ),
        (
            "whiteout-escape",
            Tar::new().whiteout("../canary/.wh.secret").bytes(),
            true,
        ),
        ("huge-file", Tar::new().claim("big", 1 << 50).bytes(), true),
        // PAX's sparse format 1.0: refused as GNU's own sparse entries are,
        // not stored as its raw map under GNUSparseFile.0/.
        ("pax-sparse", pax_sparse(), true),
        (
            // A symlink then a file of the same name: the file replaces the link and
            // nothing is written through it.
            "file-over-symlink",
            Tar::new()
                .symlink("s", "../canary/secret")
                .file("s", b"x")
                .bytes(),
            false,
        ),
        (
            "symlink-dangling-out",
            Tar::new().symlink("s", "../../../../canary/secret").bytes(),
            false,
        ),
    ]
}

#[test]
fn hostile_archives_write_nothing_outside_the_layer() {
    for mode in [WhiteoutMode::Overlay, WhiteoutMode::Delete] {
        for (name, tar, refused) in corpus() {
            let t = tempfile::tempdir().unwrap();
            let canary = t.path().join("canary");
            fs::create_dir(&canary).unwrap();
            fs::write(canary.join("secret"), b"s").unwrap();
            let layer = t.path().join("layer");
            fs::create_dir(&layer).unwrap();
            let before = snapshot(&canary);
            let r = apply_layer(&tar[..], &layer, &opts(mode), None);
            assert_eq!(r.is_err(), refused, "{name} ({mode:?}): {r:?}");
            assert_eq!(snapshot(&canary), before, "{name}: canary changed");
            assert_eq!(fs::read(canary.join("secret")).unwrap(), b"s", "{name}");
            let outside: Vec<_> = fs::read_dir(t.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(outside.len(), 2, "{name}: {outside:?}");
            assert!(!Path::new("/tmp/berth-evil").exists(), "{name}");
        }
    }
}

#[test]
fn counts_and_devices_are_bounded() {
    let t = tempfile::tempdir().unwrap();
    let mut o = opts(WhiteoutMode::Overlay);
    o.limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let many = Tar::new()
        .file("a", b"")
        .file("b", b"")
        .file("c", b"")
        .file("d", b"")
        .bytes();
    let r = apply_layer(&many[..], t.path(), &o, None);
    assert!(r.is_err(), "{r:?}");

    let mut o = opts(WhiteoutMode::Overlay);
    o.allow_devices = false;
    let dev = Tar::new().node(EntryType::Block, "sda", 8, 0).bytes();
    let d2 = tempfile::tempdir().unwrap();
    assert!(apply_layer(&dev[..], d2.path(), &o, None).is_err());
    let fifo = Tar::new().node(EntryType::Fifo, "p", 0, 0).bytes();
    apply_layer(&fifo[..], d2.path(), &o, None).unwrap();
}

#[test]
fn truncated_and_corrupt_streams_fail() {
    let t = tempfile::tempdir().unwrap();
    let gz = Tar::new().file("a", &vec![7u8; 100_000]).gzip();
    let r = apply_layer(
        &gz[..gz.len() / 2],
        t.path(),
        &opts(WhiteoutMode::Overlay),
        None,
    );
    assert!(r.is_err());
}
