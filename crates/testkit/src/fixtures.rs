//! Fixture images built from Debian's busybox-static, written as OCI layouts
//! reproducibly (mtime 0, root owner, sorted entries).

use std::io::Read;
use std::path::{Path, PathBuf};

use berth_image::manifest::{Descriptor, ImageIndex, Platform, RawManifest, media};
use berth_image::transport::{ImageDestination, ImageName};
use berth_image::{Context, Digest};

pub struct Fixture {
    pub layout: PathBuf,
    pub tag: String,
    pub manifest_digest: String,
}

/// A tar of the busybox rootfs: /bin/busybox, one symlink per applet, /etc files.
pub fn busybox_layer() -> Vec<u8> {
    let bb = std::fs::read("/bin/busybox").expect("busybox-static is installed");
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    let mut applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| !a.is_empty() && *a != "busybox")
        .map(str::to_string)
        .collect();
    applets.sort();
    let mut b = tar::Builder::new(Vec::new());
    for d in ["bin/", "etc/", "root/", "tmp/"] {
        dir(&mut b, d, if d == "tmp/" { 0o1777 } else { 0o755 });
    }
    file(&mut b, "bin/busybox", &bb, 0o755);
    for a in &applets {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, format!("bin/{a}"), "busybox")
            .unwrap();
    }
    file(&mut b, "etc/group", b"root:x:0:\nnobody:x:65534:\n", 0o644);
    file(
        &mut b,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        0o644,
    );
    b.into_inner().unwrap()
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn dir(b: &mut tar::Builder<Vec<u8>>, name: &str, mode: u32) {
    let mut h = header(tar::EntryType::Directory, mode, 0);
    b.append_data(&mut h, name, &[][..]).unwrap();
}

pub fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8], mode: u32) {
    let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
    b.append_data(&mut h, name, data).unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzEncoder::new(data, flate2::Compression::new(6))
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Writes one image's blobs and manifest; returns the manifest descriptor.
fn write_image(
    dst: &dyn ImageDestination,
    arch: &str,
    variant: Option<&str>,
    layers: &[Vec<u8>],
    instance: bool,
) -> Descriptor {
    let diff_ids: Vec<Digest> = layers.iter().map(|l| Digest::sha256_of(l)).collect();
    let mut config = serde_json::json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": arch,
        "variant": variant,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"], "Labels": {"org.berth.fixture": "small"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": layers.iter().map(|_| serde_json::json!({"created": "1970-01-01T00:00:00Z", "created_by": "berth fixture"})).collect::<Vec<_>>(),
    });
    if variant.is_none() {
        // As real images have it: no variant, not a null one.
        config.as_object_mut().unwrap().remove("variant");
    }
    let config = serde_json::to_vec(&config).unwrap();
    let c = dst.put_blob(&mut &config[..], None).unwrap();
    let layer_descs: Vec<Descriptor> = layers
        .iter()
        .map(|l| {
            let z = gzip(l);
            let i = dst.put_blob(&mut &z[..], None).unwrap();
            Descriptor::new(media::OCI_LAYER_GZIP, i.digest, i.size)
        })
        .collect();
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_MANIFEST,
        "config": Descriptor::new(media::OCI_CONFIG, c.digest, c.size),
        "layers": layer_descs,
    });
    let raw = RawManifest::new(serde_json::to_vec(&m).unwrap(), media::OCI_MANIFEST);
    let d = raw.digest();
    dst.put_manifest(&raw, instance.then_some(&d)).unwrap();
    let mut desc = Descriptor::new(media::OCI_MANIFEST, d, raw.bytes.len() as u64);
    desc.platform = Some(Platform {
        architecture: arch.into(),
        os: "linux".into(),
        variant: variant.map(str::to_string),
        ..Default::default()
    });
    desc
}

fn open(layout: &Path, tag: &str) -> Box<dyn ImageDestination> {
    ImageName::parse(&format!("oci:{}:{tag}", layout.display()))
        .unwrap()
        .open_destination(&Context::default())
        .unwrap()
}

/// A one-layer busybox image tagged `latest`.
pub fn small(layout: &Path) -> std::io::Result<Fixture> {
    let dst = open(layout, "latest");
    let desc = write_image(dst.as_ref(), "amd64", None, &[busybox_layer()], false);
    dst.commit().unwrap();
    Ok(Fixture {
        layout: layout.to_path_buf(),
        tag: "latest".into(),
        manifest_digest: desc.digest.to_string(),
    })
}

/// An OCI index of linux/amd64 (busybox), linux/arm64 and linux/arm/v7 images.
pub fn multi_arch(layout: &Path) -> std::io::Result<Fixture> {
    let dst = open(layout, "latest");
    let mut entries = vec![write_image(
        dst.as_ref(),
        "amd64",
        None,
        &[busybox_layer()],
        true,
    )];
    for (arch, variant) in [("arm64", None), ("arm", Some("v7"))] {
        let mut b = tar::Builder::new(Vec::new());
        file(&mut b, "etc/arch", format!("{arch}\n").as_bytes(), 0o644);
        let layer = b.into_inner().unwrap();
        entries.push(write_image(dst.as_ref(), arch, variant, &[layer], true));
    }
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(media::OCI_INDEX.into()),
        artifact_type: None,
        manifests: entries,
        subject: None,
        annotations: None,
    };
    let raw = RawManifest::new(serde_json::to_vec(&index).unwrap(), media::OCI_INDEX);
    dst.put_manifest(&raw, None).unwrap();
    dst.commit().unwrap();
    Ok(Fixture {
        layout: layout.to_path_buf(),
        tag: "latest".into(),
        manifest_digest: raw.digest().to_string(),
    })
}

/// The layers of [`special`] on top of busybox: everything applying a layer must
/// get right. Layer 2 holds hard and symbolic links, device nodes, a fifo, a
/// setuid file, a non-root owner and an xattr; layer 3 whites out a file and a
/// directory and makes a directory opaque; layer 4 brings a deleted file back.
pub fn special_layers() -> Vec<Vec<u8>> {
    use tar::EntryType;
    let base = crate::Tar::new()
        .dir("data/")
        .file("data/keep.txt", b"keep\n")
        .file("data/gone.txt", b"gone\n")
        .file_with("data/hard-a", b"shared\n", 0o640, 1000, 1000, 0, &[])
        .hardlink("data/hard-b", "data/hard-a")
        .symlink("data/link-rel", "keep.txt")
        .symlink("data/link-abs", "/data/keep.txt")
        .file_with("data/setuid", b"#!/bin/sh\n", 0o4755, 0, 0, 0, &[])
        .file_with(
            "data/xattr.txt",
            b"x\n",
            0o644,
            0,
            0,
            0,
            &[("user.berth", b"fixture")],
        )
        .dir("special/")
        .node(EntryType::Char, "special/null-copy", 1, 3)
        .node(EntryType::Block, "special/blk", 7, 0)
        .node(EntryType::Fifo, "special/fifo", 0, 0)
        .dir("opaque/")
        .file("opaque/old1", b"1\n")
        .file("opaque/old2", b"2\n")
        .dir("tree/")
        .dir("tree/sub/")
        .file("tree/sub/file", b"deep\n")
        .bytes();
    let deletions = crate::Tar::new()
        .dir("data/")
        .whiteout("data/.wh.gone.txt")
        .dir("opaque/")
        .whiteout("opaque/.wh..wh..opq")
        .file("opaque/new", b"new\n")
        .dir("tree/")
        .whiteout("tree/.wh.sub")
        .bytes();
    let back = crate::Tar::new()
        .dir("data/")
        .file("data/gone.txt", b"back\n")
        .bytes();
    vec![busybox_layer(), base, deletions, back]
}

/// What a container of [`special`] sees, as busybox's
/// `stat -c '%n %F %a %u:%g %h %t:%T'` prints each file under /data, /opaque and
/// /special (`%h` the link count, `%t:%T` the device numbers in hex).
pub const SPECIAL_TREE: &[&str] = &[
    "/data/gone.txt regular file 644 0:0 1 0:0",
    "/data/hard-a regular file 640 1000:1000 2 0:0",
    "/data/hard-b regular file 640 1000:1000 2 0:0",
    "/data/keep.txt regular file 644 0:0 1 0:0",
    "/data/link-abs symbolic link 777 0:0 1 0:0",
    "/data/link-rel symbolic link 777 0:0 1 0:0",
    "/data/setuid regular file 4755 0:0 1 0:0",
    "/data/xattr.txt regular file 644 0:0 1 0:0",
    "/opaque/new regular file 644 0:0 1 0:0",
    "/special/blk block special file 640 0:0 1 7:0",
    "/special/fifo fifo 640 0:0 1 0:0",
    "/special/null-copy character special file 640 0:0 1 1:3",
];

/// A busybox image whose later layers hold whiteouts, an opaque directory,
/// hard links, symlinks, xattrs, a setuid file and device nodes (see
/// [`special_layers`]), tagged `latest`.
pub fn special(layout: &Path) -> std::io::Result<Fixture> {
    let dst = open(layout, "latest");
    let desc = write_image(dst.as_ref(), "amd64", None, &special_layers(), false);
    dst.commit().unwrap();
    Ok(Fixture {
        layout: layout.to_path_buf(),
        tag: "latest".into(),
        manifest_digest: desc.digest.to_string(),
    })
}

/// An image of these layers (uncompressed tars, bottom first) tagged `latest`,
/// each layer gzip-compressed.
pub fn layered(layout: &Path, layers: &[Vec<u8>]) -> std::io::Result<Fixture> {
    let dst = open(layout, "latest");
    let desc = write_image(dst.as_ref(), "amd64", None, layers, false);
    dst.commit().unwrap();
    Ok(Fixture {
        layout: layout.to_path_buf(),
        tag: "latest".into(),
        manifest_digest: desc.digest.to_string(),
    })
}

/// `n` incompressible bytes, the same for the same seed (xorshift64*).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// The layers of [`five_layer`] at `scale` (1.0 is the benchmark's ~300 MB).
pub fn five_layer_layers(scale: f64) -> Vec<Vec<u8>> {
    let n = |x: f64| ((x * scale).round() as usize).max(1);
    let big = {
        let mut b = tar::Builder::new(Vec::new());
        dir(&mut b, "data/", 0o755);
        file(
            &mut b,
            "data/big.bin",
            &noise(n((100 << 20) as f64), 1),
            0o644,
        );
        b.into_inner().unwrap()
    };
    let chunks = {
        let mut b = tar::Builder::new(Vec::new());
        dir(&mut b, "data/", 0o755);
        for i in 0..20 {
            let name = format!("data/chunk{i}.bin");
            file(&mut b, &name, &noise(n((4 << 20) as f64), 100 + i), 0o644);
        }
        b.into_inner().unwrap()
    };
    let small_files = {
        let mut b = tar::Builder::new(Vec::new());
        dir(&mut b, "src/", 0o755);
        for d in 1..=n(80.0) {
            dir(&mut b, &format!("src/pkg{d}/"), 0o755);
            for f in 1..=100 {
                let text: String = (d * f..=d * f + 200)
                    .map(|i| format!("line pkg{d} file{f} {i}\n"))
                    .collect();
                file(
                    &mut b,
                    &format!("src/pkg{d}/f{f}.txt"),
                    text.as_bytes(),
                    0o644,
                );
            }
        }
        b.into_inner().unwrap()
    };
    let docs = {
        let mut b = tar::Builder::new(Vec::new());
        dir(&mut b, "docs/", 0o755);
        for i in 1..=40 {
            let text: String = (1..=n(60000.0))
                .map(|l| format!("{l} documentation text {i}\n"))
                .collect();
            file(&mut b, &format!("docs/doc{i}.txt"), text.as_bytes(), 0o644);
        }
        b.into_inner().unwrap()
    };
    vec![busybox_layer(), big, chunks, small_files, docs]
}

/// The five-layer image of the benchmarks and of tests that need an image of
/// some size: busybox; one big random file; 20 random chunks; ~8000 small text
/// files; 40 medium compressible files. At scale 1.0 about 300 MB (216 MB gzip);
/// tests use a small scale. The same bytes every time.
pub fn five_layer(layout: &Path, scale: f64) -> std::io::Result<Fixture> {
    layered(layout, &five_layer_layers(scale))
}
