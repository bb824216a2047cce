//! The copy engine between local transports, on images built here with berth's own
//! OCI layout writer: round trips, recompression, platform choice, and corrupt sources.

use std::io::Read;
use std::path::Path;

use berth_image::copy::{CopyOptions, MultiArch, Silent, copy_image};
use berth_image::manifest::{
    Compression, Descriptor, ImageIndex, ImageManifest, Manifest, Platform, RawManifest, media,
};
use berth_image::transport::{BlobInfo, ImageDestination, ImageName};
use berth_image::{Context, Digest};

fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzEncoder::new(data, flate2::Compression::fast())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn put(dst: &dyn ImageDestination, data: &[u8]) -> BlobInfo {
    dst.put_blob(&mut &data[..], None).unwrap()
}

/// Writes a one-image layout with the given layer tars (gzipped); returns the
/// manifest digest and the diff IDs.
fn make_image(
    dst: &dyn ImageDestination,
    arch: &str,
    layers: &[Vec<u8>],
    instance: bool,
) -> (Digest, u64, Vec<Digest>) {
    let diff_ids: Vec<Digest> = layers.iter().map(|l| Digest::sha256_of(l)).collect();
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let c = put(dst, &config);
    let descs = layers
        .iter()
        .map(|l| {
            let z = gzip(l);
            let i = put(dst, &z);
            Descriptor::new(media::OCI_LAYER_GZIP, i.digest, i.size)
        })
        .collect();
    let m = ImageManifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(media::OCI_CONFIG, c.digest, c.size),
        layers: descs,
        subject: None,
        annotations: None,
    };
    let raw = RawManifest::new(serde_json::to_vec(&m).unwrap(), media::OCI_MANIFEST);
    let d = raw.digest();
    dst.put_manifest(&raw, if instance { Some(&d) } else { None })
        .unwrap();
    (d, raw.bytes.len() as u64, diff_ids)
}

fn simple_image(dir: &Path) -> (String, Vec<Digest>) {
    let name = format!("oci:{}:v1", dir.display());
    let dst = ImageName::parse(&name)
        .unwrap()
        .open_destination(&Context::default())
        .unwrap();
    let l1 = layer_tar(&[("etc/hello", b"hello\n"), ("bin/x", &[7u8; 70_000])]);
    let l2 = layer_tar(&[("etc/hello", b"changed\n")]);
    let (_, _, diff_ids) = make_image(dst.as_ref(), "amd64", &[l1, l2], false);
    dst.commit().unwrap();
    (name, diff_ids)
}

fn copy(src: &str, dst: &str, opts: &CopyOptions) -> berth_image::Result<Digest> {
    let ctx = Context::default();
    let s = ImageName::parse(src)?.open_source(&ctx)?;
    let d = ImageName::parse(dst)?.open_destination(&ctx)?;
    copy_image(s.as_ref(), d.as_ref(), opts, &Silent).map(|r| r.manifest_digest)
}

fn image_of(name: &str) -> (ImageManifest, Vec<Digest>) {
    let ctx = Context::default();
    let s = ImageName::parse(name).unwrap().open_source(&ctx).unwrap();
    let Manifest::Image(m) = s.manifest(None).unwrap().parse().unwrap() else {
        panic!("not an image")
    };
    let mut cfg = Vec::new();
    s.blob(&m.config)
        .unwrap()
        .reader
        .read_to_end(&mut cfg)
        .unwrap();
    let c: berth_image::manifest::ImageConfig = serde_json::from_slice(&cfg).unwrap();
    (m, c.rootfs.diff_ids)
}

#[test]
fn local_round_trip_keeps_digests_and_content() {
    let t = tempfile::tempdir().unwrap();
    let (src, diff_ids) = simple_image(&t.path().join("src"));
    let opts = CopyOptions::default();
    let d0 = copy(
        &src,
        &format!("dir:{}", t.path().join("d").display()),
        &opts,
    )
    .unwrap();
    let d1 = copy(
        &format!("dir:{}", t.path().join("d").display()),
        &format!("oci-archive:{}:a", t.path().join("a.tar").display()),
        &opts,
    )
    .unwrap();
    assert_eq!(d0, d1, "an unchanged copy keeps the manifest digest");
    copy(
        &format!("oci-archive:{}:a", t.path().join("a.tar").display()),
        &format!("docker-archive:{}:x/y:1", t.path().join("d.tar").display()),
        &opts,
    )
    .unwrap();
    let (m, ids) = image_of(&format!(
        "docker-archive:{}",
        t.path().join("d.tar").display()
    ));
    assert_eq!(ids, diff_ids);
    // docker-archive stores layers uncompressed: their digests are the diff IDs.
    assert_eq!(
        m.layers
            .iter()
            .map(|l| l.digest.clone())
            .collect::<Vec<_>>(),
        diff_ids
    );
    let back = format!("oci:{}:b", t.path().join("back").display());
    copy(
        &format!("docker-archive:{}:x/y:1", t.path().join("d.tar").display()),
        &back,
        &opts,
    )
    .unwrap();
    assert_eq!(image_of(&back).1, diff_ids);
}

#[test]
fn recompression_changes_blobs_not_diff_ids() {
    let t = tempfile::tempdir().unwrap();
    let (src, diff_ids) = simple_image(&t.path().join("src"));
    let z = format!("oci:{}:z", t.path().join("z").display());
    let opts = CopyOptions {
        compression: Some(Compression::Zstd),
        ..Default::default()
    };
    copy(&src, &z, &opts).unwrap();
    let (m, ids) = image_of(&z);
    assert_eq!(ids, diff_ids);
    assert!(
        m.layers
            .iter()
            .all(|l| l.media_type == media::OCI_LAYER_ZSTD)
    );
    // Docker schema 2 has no zstd: converting to it brings gzip back.
    let v2 = format!("dir:{}", t.path().join("v2").display());
    let opts = CopyOptions {
        format: berth_image::manifest::ManifestFormat::parse("v2s2"),
        ..Default::default()
    };
    copy(&z, &v2, &opts).unwrap();
    let (m, ids) = image_of(&v2);
    assert_eq!(ids, diff_ids);
    assert!(
        m.layers
            .iter()
            .all(|l| l.media_type == media::DOCKER_LAYER_GZIP),
        "{m:?}"
    );
    assert_eq!(m.config.media_type, media::DOCKER_CONFIG);
}

#[test]
fn a_corrupt_blob_stops_the_copy_and_no_image_appears() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("src");
    let (src, _) = simple_image(&dir);
    let (m, _) = image_of(&src);
    // Flip a byte of the second layer in place.
    let p = dir.join("blobs/sha256").join(m.layers[1].digest.hex());
    let mut data = std::fs::read(&p).unwrap();
    let n = data.len() / 2;
    data[n] ^= 0x55;
    std::fs::write(&p, &data).unwrap();
    let out = t.path().join("out");
    let e = copy(
        &src,
        &format!("oci:{}:x", out.display()),
        &CopyOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    assert!(!out.join("index.json").exists(), "a manifest was written");
    // Truncated: a size mismatch.
    std::fs::write(&p, &data[..n]).unwrap();
    let e = copy(
        &src,
        &format!("oci:{}:x", out.display()),
        &CopyOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("size mismatch"), "{e}");
    assert!(!out.join("index.json").exists());
    // And through recompression the check still holds.
    let opts = CopyOptions {
        compression: Some(Compression::Zstd),
        ..Default::default()
    };
    std::fs::write(&p, &data).unwrap();
    let e = copy(&src, &format!("oci:{}:x", out.display()), &opts).unwrap_err();
    assert!(
        e.to_string().contains("mismatch")
            || e.to_string().contains("corrupt")
            || e.to_string().contains("invalid"),
        "{e}"
    );
    assert!(!out.join("index.json").exists());
}

#[test]
fn index_platform_choice_and_all() {
    let t = tempfile::tempdir().unwrap();
    let name = format!("oci:{}:multi", t.path().join("m").display());
    let dst = ImageName::parse(&name)
        .unwrap()
        .open_destination(&Context::default())
        .unwrap();
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let l = layer_tar(&[("arch", arch.as_bytes())]);
        let (d, size, _) = make_image(dst.as_ref(), arch, &[l], true);
        let mut desc = Descriptor::new(media::OCI_MANIFEST, d, size);
        desc.platform = Some(Platform {
            architecture: arch.into(),
            os: "linux".into(),
            ..Default::default()
        });
        entries.push(desc);
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

    let arm = CopyOptions {
        platform: Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: Some("v8".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let one = format!("oci:{}:one", t.path().join("one").display());
    copy(&name, &one, &arm).unwrap();
    let ctx = Context::default();
    let s = ImageName::parse(&one).unwrap().open_source(&ctx).unwrap();
    let Manifest::Image(_) = s.manifest(None).unwrap().parse().unwrap() else {
        panic!("expected the arm64 image alone")
    };
    let all = format!("oci:{}:all", t.path().join("all").display());
    let opts = CopyOptions {
        multi_arch: MultiArch::All,
        ..Default::default()
    };
    let d = copy(&name, &all, &opts).unwrap();
    assert_eq!(d, raw.digest(), "an unchanged index keeps its digest");
    let riscv = CopyOptions {
        platform: Platform {
            architecture: "riscv64".into(),
            os: "linux".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = copy(
        &name,
        &format!("oci:{}:r", t.path().join("r").display()),
        &riscv,
    )
    .unwrap_err();
    assert!(e.to_string().contains("linux/riscv64"), "{e}");
    // docker-archive cannot hold an index.
    let e = copy(
        &name,
        &format!("docker-archive:{}", t.path().join("x.tar").display()),
        &opts,
    )
    .unwrap_err();
    assert!(e.to_string().contains("multi-architecture"), "{e}");
    assert!(!t.path().join("x.tar").exists());
}
