//! `berth image copy/inspect/list-tags/delete/sync` against Debian's docker-registry
//! started on 127.0.0.1, with the project's fixture images; skopeo as the peer.

mod common;
mod support;

use std::path::Path;

use common::*;
use support::fixtures;
use support::registry::Registry;

const NO_TLS: &str = "--tls-verify=false";

fn small(dir: &Path) -> fixtures::Fixture {
    fixtures::small(&dir.join("small")).expect("small fixture")
}

#[test]
fn round_trip_through_every_transport() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let want = oci_diff_ids(&fx.layout, &fx.tag);
    let docker = format!("docker://{}/rt/small:v1", reg.addr());
    let dir = format!("dir:{}", tmp.path().join("d").display());
    let oci_ar = format!("oci-archive:{}:t", tmp.path().join("a.tar").display());
    let dk_ar = format!(
        "docker-archive:{}:x/y:z",
        tmp.path().join("d.tar").display()
    );
    let back = tmp.path().join("back");
    let hops = [
        src.as_str(),
        docker.as_str(),
        dir.as_str(),
        oci_ar.as_str(),
        dk_ar.as_str(),
        &format!("oci:{}:end", back.display()),
    ];
    for pair in hops.windows(2) {
        ok(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            pair[0],
            pair[1],
        ]);
    }
    // The files of the image survive every hop: same diff IDs.
    assert_eq!(oci_diff_ids(&back, "end"), want);
    // An unchanged copy keeps the manifest digest: skopeo sees what berth pushed.
    let s = json(&skopeo(&["inspect", NO_TLS, &docker]).stdout);
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
    let b = json(&ok(&["image", "inspect", NO_TLS, &docker]).stdout);
    assert_eq!(b["Digest"], s["Digest"]);
    assert_eq!(b["Layers"], s["Layers"]);
    assert_eq!(b["RepoTags"], serde_json::json!(["v1"]));
    // The docker archive is what `docker load` reads: manifest.json with RepoTags.
    let skopeo_view = json(&skopeo(&["inspect", &dk_ar.replace(":x/y:z", "")]).stdout);
    assert_eq!(skopeo_view["Layers"].as_array().unwrap().len(), want.len());
}

#[test]
fn skopeo_reads_what_berth_writes_and_the_reverse() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    // skopeo pushes, berth pulls into a layout that skopeo then reads.
    let by_skopeo = format!("docker://{}/interop/a:1", reg.addr());
    skopeo(&["copy", "-q", "--dest-tls-verify=false", &src, &by_skopeo]);
    let out = tmp.path().join("out");
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        &by_skopeo,
        &format!("oci:{}:x", out.display()),
    ]);
    let s = json(&skopeo(&["inspect", &format!("oci:{}:x", out.display())]).stdout);
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
    // berth pushes with zstd, skopeo copies it to a dir, the files are intact.
    let by_berth = format!("docker://{}/interop/b:1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd",
        &src,
        &by_berth,
    ]);
    let d = tmp.path().join("sdir");
    skopeo(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &by_berth,
        &format!("oci:{}:z", d.display()),
    ]);
    let m = oci_manifest(&d, "z");
    assert!(
        m["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with("+zstd"),
        "{m}"
    );
    assert_eq!(oci_diff_ids(&d, "z"), oci_diff_ids(&fx.layout, &fx.tag));
}

#[test]
fn gzip_zstd_round_trip_keeps_diff_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let z = tmp.path().join("z");
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-compress-format",
        "zstd",
        &src,
        &format!("oci:{}:z", z.display()),
    ]);
    let g = tmp.path().join("g");
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-compress-format",
        "gzip",
        &format!("oci:{}:z", z.display()),
        &format!("oci:{}:g", g.display()),
    ]);
    let u = tmp.path().join("u");
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-decompress",
        &format!("oci:{}:g", g.display()),
        &format!("oci:{}:u", u.display()),
    ]);
    let mz = oci_manifest(&z, "z");
    let mg = oci_manifest(&g, "g");
    let mu = oci_manifest(&u, "u");
    assert!(
        mz["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with("+zstd")
    );
    assert!(
        mg["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with("+gzip")
    );
    assert!(
        mu["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with(".tar")
    );
    // Uncompressed, the layer's digest is its diff ID.
    let want = oci_diff_ids(&fx.layout, &fx.tag);
    assert_eq!(mu["layers"][0]["digest"], want[0].as_str());
    assert_eq!(oci_diff_ids(&z, "z"), want);
    // --preserve-digests refuses a copy that would change them.
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--preserve-digests",
        "--dest-compress-format",
        "zstd",
        &src,
        &format!("oci:{}:p", tmp.path().join("p").display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("preserve-digests"), "{}", r.stderr);
}

#[test]
fn multi_arch_index_copies_all_or_one() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::multi_arch(&tmp.path().join("ma")).expect("multi-arch fixture");
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let all = format!("docker://{}/ma/all:1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--all",
        "--dest-tls-verify=false",
        &src,
        &all,
    ]);
    let raw = json(&ok(&["image", "inspect", "--raw", NO_TLS, &all]).stdout);
    assert_eq!(raw["manifests"].as_array().unwrap().len(), 3, "{raw}");
    // The index digest is kept; skopeo can pick the arm64 image from it.
    let s = json(&skopeo(&["inspect", NO_TLS, "--override-arch", "arm64", &all]).stdout);
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
    assert_eq!(s["Architecture"], "arm64");
    // Without --all, only the host's image is copied.
    let one = tmp.path().join("one");
    ok(&[
        "image",
        "copy",
        "-q",
        &src,
        &format!("oci:{}:h", one.display()),
    ]);
    let m = oci_manifest(&one, "h");
    assert!(
        m["layers"].is_array(),
        "expected an image manifest, got {m}"
    );
    let b = json(
        &ok(&[
            "image",
            "inspect",
            "--override-arch",
            "arm",
            "--override-variant",
            "v7",
            NO_TLS,
            &all,
        ])
        .stdout,
    );
    assert_eq!(b["Architecture"], "arm");
}

#[test]
fn missing_image_and_bad_names_exit_1_as_skopeo() {
    let reg = Registry::start().expect("registry");
    let r = run(&[
        "image",
        "inspect",
        NO_TLS,
        &format!("docker://{}/no/such:img", reg.addr()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // What the registry said, in containers/image's words (scripts match them).
    let said = format!(
        "reading manifest img in {}/no/such: manifest unknown: manifest unknown",
        reg.addr()
    );
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    let opening = format!("initializing source docker://{}/no/such:img: ", reg.addr());
    assert!(r.stderr.contains(&opening), "{}", r.stderr);
    // podman's pull says the same.
    let store = tempfile::tempdir().unwrap();
    let root = store.path().join("root");
    let runroot = store.path().join("run");
    let r = run(&[
        "--root",
        root.to_str().unwrap(),
        "--runroot",
        runroot.to_str().unwrap(),
        "pull",
        NO_TLS,
        &format!("{}/no/such:img", reg.addr()),
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains(&opening) && r.stderr.contains("manifest unknown"),
        "{}",
        r.stderr
    );
    for bad in [
        "docker://Upper/Case",
        "docker://a@sha256:1234",
        "docker:alpine",
        "nosuch:x",
        "docker://a:-tag",
        "docker-daemon:busybox:latest",
    ] {
        let out = tempfile::tempdir().unwrap();
        let dst = format!("dir:{}", out.path().join("never").display());
        let r = run(&["image", "copy", bad, &dst]);
        assert_eq!(r.code, 1, "{bad}: {}", r.stderr);
        assert!(
            !out.path().join("never").exists(),
            "{bad}: wrote before refusing"
        );
        assert_eq!(r.stderr.lines().count(), 1, "{bad}: {}", r.stderr);
        assert!(r.stderr.starts_with("Error: "), "{bad}: {}", r.stderr);
    }
    let r = run(&["image", "inspect", "--raw", "--format", "{{.}}", "oci:/x:y"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (1, "Error: raw output does not support format option")
    );
    let r = run(&["image", "inspect", "docker-daemon:busybox:latest"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no Docker daemon"), "{}", r.stderr);
}

#[test]
fn list_tags_delete_and_sync_with_filters() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    for t in ["1.0", "1.2.3", "1.9", "2.0", "latest"] {
        ok(&[
            "image",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{}/s/app:{t}", reg.addr()),
        ]);
    }
    let tags = json(
        &ok(&[
            "image",
            "list-tags",
            NO_TLS,
            &format!("docker://{}/s/app", reg.addr()),
        ])
        .stdout,
    );
    let mut got: Vec<String> = serde_json::from_value(tags["Tags"].clone()).unwrap();
    got.sort();
    assert_eq!(got, ["1.0", "1.2.3", "1.9", "2.0", "latest"]);
    // A dry run says what it would copy, in skopeo's words, and copies nothing.
    let dry = ok(&[
        "image",
        "sync",
        "--dry-run",
        "--src",
        "docker",
        "--dest",
        "docker",
        "--src-tls-verify=false",
        "--tag-semver",
        ">=1.2, <2",
        &format!("{}/s/app", reg.addr()),
        &format!("{}/mirror", reg.addr()),
    ]);
    assert_eq!(
        dry.stderr.matches("Would have copied image ref").count(),
        2,
        "{}",
        dry.stderr
    );
    assert!(
        dry.stderr
            .contains("Would have synced 2 images from 1 sources"),
        "{}",
        dry.stderr
    );
    let none = run(&[
        "image",
        "list-tags",
        NO_TLS,
        &format!("docker://{}/mirror/app", reg.addr()),
    ]);
    assert_ne!(none.code, 0, "the dry run copied: {}", none.stdout);
    // Sync only the 1.x releases from 1.2 on into a second namespace.
    ok(&[
        "image",
        "sync",
        "-q",
        "--src",
        "docker",
        "--dest",
        "docker",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--tag-semver",
        ">=1.2, <2",
        &format!("{}/s/app", reg.addr()),
        &format!("{}/mirror", reg.addr()),
    ]);
    let tags = json(
        &ok(&[
            "image",
            "list-tags",
            NO_TLS,
            &format!("docker://{}/mirror/app", reg.addr()),
        ])
        .stdout,
    );
    let mut got: Vec<String> = serde_json::from_value(tags["Tags"].clone()).unwrap();
    got.sort();
    assert_eq!(got, ["1.2.3", "1.9"]);
    // Sync to directories by regex.
    let dirs = tmp.path().join("dirs");
    ok(&[
        "image",
        "sync",
        "-q",
        "--src",
        "docker",
        "--dest",
        "dir",
        "--src-tls-verify=false",
        "--tag-regex",
        "^latest$",
        &format!("{}/s/app", reg.addr()),
        dirs.to_str().unwrap(),
    ]);
    assert!(dirs.join("app:latest/manifest.json").is_file());
    // Delete removes the manifest; the tag then no longer resolves.
    let gone = format!("docker://{}/s/app:2.0", reg.addr());
    ok(&["image", "delete", NO_TLS, &gone]);
    assert_manifest_unknown(&run(&["image", "inspect", NO_TLS, &gone]));
}

#[test]
fn sync_from_yaml() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    for t in ["v1.0.0", "v1.1.0", "v2.0.0"] {
        ok(&[
            "image",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{}/y/app:{t}", reg.addr()),
        ]);
    }
    let yaml = tmp.path().join("sync.yaml");
    std::fs::write(
        &yaml,
        format!(
            "{}:\n  tls-verify: false\n  images-by-semver:\n    y/app: \"^1\"\n",
            reg.addr()
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    ok(&[
        "image",
        "sync",
        "-q",
        "--src",
        "yaml",
        "--dest",
        "dir",
        yaml.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["app:v1.0.0", "app:v1.1.0"]);
}

#[test]
fn present_blobs_are_not_sent_again_and_mounts_cross_repositories() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let a = format!("docker://{}/m/a:1", reg.addr());
    // skopeo's verb reports on stdout.
    let r = ok(&["image", "copy", "--dest-tls-verify=false", &src, &a]);
    assert!(
        r.stdout.contains("Copying blob") && r.stdout.contains(" done"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("Storing signatures\n"), "{}", r.stdout);
    assert_eq!(r.stderr, "");
    // Again: everything is there already.
    let r = ok(&["image", "copy", "--dest-tls-verify=false", &src, &a]);
    assert!(r.stdout.contains("skipped: already exists"), "{}", r.stdout);
    assert!(!r.stdout.contains(" done"), "{}", r.stdout);
    // Registry to registry, another repository: blobs are mounted, not uploaded.
    let b = format!("docker://{}/m/b:1", reg.addr());
    let r = ok(&[
        "image",
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &a,
        &b,
    ]);
    assert!(r.stdout.contains("skipped: already exists"), "{}", r.stdout);
    let s = json(&skopeo(&["inspect", NO_TLS, &b]).stdout);
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
}

#[test]
fn docker_schema2_conversion_and_digestfile() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let d = tmp.path().join("v2s2");
    let digestfile = tmp.path().join("digest");
    ok(&[
        "image",
        "copy",
        "-q",
        "--format",
        "v2s2",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &src,
        &format!("dir:{}", d.display()),
    ]);
    let m = json(&std::fs::read_to_string(d.join("manifest.json")).unwrap());
    assert_eq!(
        m["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.docker.container.image.v1+json"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    // The digest file names the manifest written; skopeo agrees.
    let written = std::fs::read_to_string(&digestfile).unwrap();
    let s = json(&skopeo(&["inspect", &format!("dir:{}", d.display())]).stdout);
    assert_eq!(s["Digest"], written.as_str());
    assert_ne!(written, fx.manifest_digest);
    // Into an oci: layout (or archive) it becomes an OCI image again, as
    // skopeo writes one; asked to stay Docker's, it is refused.
    let back = tmp.path().join("back");
    let dir_src = format!("dir:{}", d.display());
    ok(&[
        "image",
        "copy",
        "-q",
        &dir_src,
        &format!("oci:{}:t", back.display()),
    ]);
    assert_eq!(
        oci_manifest(&back, "t")["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let archive = format!("oci-archive:{}:t", tmp.path().join("a.tar").display());
    ok(&["image", "copy", "-q", &dir_src, &archive]);
    let s = json(&skopeo(&["inspect", "--raw", &archive]).stdout);
    assert_eq!(s["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    let kept = format!("oci:{}:k", back.display());
    let r = run(&["image", "copy", "-q", "--format", "v2s2", &dir_src, &kept]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // A digest file that cannot be written: skopeo's 1, the file named, and
    // nothing of a temp file left about.
    let unwritable = tmp.path().join("no/such/dir/digest");
    let again = tmp.path().join("again");
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--digestfile",
        unwritable.to_str().unwrap(),
        &src,
        &format!("dir:{}", again.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let told = format!("{}: No such file or directory", unwritable.display());
    assert!(r.stderr.contains(&told), "{}", r.stderr);
}

#[test]
fn registries_conf_mirrors_and_blocks() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{}/mirrored/app:1", reg.addr()),
    ]);
    let conf = tmp.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nprefix = \"registry.invalid/app\"\nlocation = \"registry.invalid/app\"\n\
             [[registry.mirror]]\nlocation = \"{}/mirrored/app\"\ninsecure = true\n\
             [[registry]]\nlocation = \"{}\"\nblocked = true\n",
            reg.addr(),
            "blocked.invalid"
        ),
    )
    .unwrap();
    // The image is found through the mirror: registry.invalid is never contacted.
    let r = run_cmd(berth().env("CONTAINERS_REGISTRIES_CONF", &conf).args([
        "image",
        "inspect",
        "--no-tags",
        "docker://registry.invalid/app:1",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["Digest"], fx.manifest_digest.as_str());
    let r = run_cmd(berth().env("CONTAINERS_REGISTRIES_CONF", &conf).args([
        "image",
        "inspect",
        "docker://blocked.invalid/x:1",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("blocked"), "{}", r.stderr);
}

#[test]
fn every_transport_pair() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let want = oci_diff_ids(&fx.layout, &fx.tag);
    let p = |n: &str| tmp.path().join(n).display().to_string();
    // One location per transport, written once from the fixture.
    let kinds = |tag: &str| {
        vec![
            format!("docker://{}/pairs/{tag}:1", reg.addr()),
            format!("oci:{}:{tag}", p("oci")),
            format!("oci-archive:{}:{tag}", p(&format!("{tag}.oci.tar"))),
            format!("dir:{}", p(&format!("{tag}.dir"))),
            format!(
                "docker-archive:{}:x/{tag}:1",
                p(&format!("{tag}.docker.tar"))
            ),
        ]
    };
    let flags = ["-q", "--src-tls-verify=false", "--dest-tls-verify=false"];
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let sources = kinds("src");
    for s in &sources {
        let mut args = vec!["image", "copy"];
        args.extend(flags);
        args.extend([src.as_str(), s.as_str()]);
        ok(&args);
    }
    for (i, s) in sources.iter().enumerate() {
        for (j, d) in kinds(&format!("d{i}")).iter().enumerate() {
            let mut args = vec!["image", "copy"];
            args.extend(flags);
            args.extend([s.as_str(), d.as_str()]);
            ok(&args);
            // Read the destination back into a layout and compare the files' identity.
            let check = format!("oci:{}:c{i}x{j}", p("check"));
            let mut args = vec!["image", "copy"];
            args.extend(flags);
            args.extend([d.as_str(), check.as_str()]);
            ok(&args);
            assert_eq!(
                oci_diff_ids(&tmp.path().join("check"), &format!("c{i}x{j}")),
                want,
                "{s} -> {d}"
            );
        }
    }
}

#[test]
fn a_damaged_local_blob_is_refused_on_push_and_no_manifest_appears() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    // Flip one byte in the middle of the layer, keeping its size: only a digest
    // check can notice. (berth leaves that check to the registry on push.)
    let layer = oci_manifest(&fx.layout, &fx.tag)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let path = fx
        .layout
        .join("blobs/sha256")
        .join(layer.strip_prefix("sha256:").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let dst = format!("docker://{}/damaged/small:v1", reg.addr());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let r = run(&["image", "copy", "-q", "--dest-tls-verify=false", &src, &dst]);
    assert_eq!(r.code, 1, "a damaged blob was pushed");
    assert!(r.stderr.to_lowercase().contains("digest"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert_manifest_unknown(&run(&["image", "inspect", NO_TLS, &dst]));
}

#[test]
fn special_files_and_five_layer_images_keep_their_layers_through_every_transport() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    for (what, fx) in [
        (
            "special",
            fixtures::special(&tmp.path().join("sp")).unwrap(),
        ),
        (
            "five",
            fixtures::five_layer(&tmp.path().join("five"), 0.02).unwrap(),
        ),
    ] {
        let want = oci_diff_ids(&fx.layout, &fx.tag);
        let d = tmp.path().join(what);
        let chain = [
            format!("oci:{}:{}", fx.layout.display(), fx.tag),
            format!("dir:{}", d.join("dir").display()),
            format!(
                "docker-archive:{}:localhost/{what}:1",
                d.join("d.tar").display()
            ),
            format!("oci-archive:{}:x", d.join("o.tar").display()),
            format!("docker://{}/rt/{what}:1", reg.addr()),
            format!("oci:{}:back", d.join("back").display()),
        ];
        std::fs::create_dir_all(&d).unwrap();
        for pair in chain.windows(2) {
            ok(&[
                "image",
                "copy",
                "-q",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &pair[0],
                &pair[1],
            ]);
        }
        assert_eq!(oci_diff_ids(&d.join("back"), "back"), want, "{what}");
        let s = json(&skopeo(&["inspect", "--config", NO_TLS, &chain[4]]).stdout);
        assert_eq!(s["rootfs"]["diff_ids"], serde_json::json!(want), "{what}");
    }
}

fn tags_of(reg: &Registry, repo: &str) -> Vec<String> {
    let v = json(
        &ok(&[
            "image",
            "list-tags",
            NO_TLS,
            &format!("docker://{}/{repo}", reg.addr()),
        ])
        .stdout,
    );
    let mut t: Vec<String> = serde_json::from_value(v["Tags"].clone()).unwrap();
    t.sort();
    t
}

#[test]
fn sync_yaml_lists_and_regexes_into_a_registry_and_back_from_dirs() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    for t in ["v1", "v2", "dev", "dev-old"] {
        ok(&[
            "image",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &src,
            &format!("docker://{}/y/app:{t}", reg.addr()),
        ]);
    }
    // YAML: a tag list for one repository and a regex for the same one.
    let yaml = tmp.path().join("sync.yaml");
    std::fs::write(
        &yaml,
        format!(
            "{}:\n  tls-verify: false\n  images:\n    y/app: [v1]\n  images-by-tag-regex:\n    y/app: ^dev$\n",
            reg.addr()
        ),
    )
    .unwrap();
    ok(&[
        "image",
        "sync",
        "-q",
        "--src",
        "yaml",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        yaml.to_str().unwrap(),
        &format!("{}/copy", reg.addr()),
    ]);
    assert_eq!(tags_of(&reg, "copy/app"), ["dev", "v1"]);
    // A tree of dir: images back into the registry, named by their paths.
    let dirs = tmp.path().join("dirs");
    ok(&[
        "image",
        "sync",
        "-q",
        "--src",
        "docker",
        "--dest",
        "dir",
        "--src-tls-verify=false",
        &format!("{}/y/app", reg.addr()),
        dirs.to_str().unwrap(),
    ]);
    ok(&[
        "image",
        "sync",
        "-q",
        "--src",
        "dir",
        "--dest",
        "docker",
        "--dest-tls-verify=false",
        dirs.to_str().unwrap(),
        &format!("{}/fromdir", reg.addr()),
    ]);
    assert_eq!(tags_of(&reg, "fromdir/app"), ["dev", "dev-old", "v1", "v2"]);
    let s = json(
        &skopeo(&[
            "inspect",
            NO_TLS,
            &format!("docker://{}/fromdir/app:v2", reg.addr()),
        ])
        .stdout,
    );
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
    // A YAML key berth does not know is refused by name, before anything is copied.
    std::fs::write(
        &yaml,
        format!("{}:\n  images-by-colour:\n    y/app: red\n", reg.addr()),
    )
    .unwrap();
    let r = run(&[
        "image",
        "sync",
        "--src",
        "yaml",
        "--dest",
        "dir",
        yaml.to_str().unwrap(),
        tmp.path().join("none").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("images-by-colour"), "{}", r.stderr);
    assert!(!tmp.path().join("none").exists());
}

#[test]
fn registries_conf_insecure_entry_and_blocked_destination() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = small(tmp.path());
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let conf = tmp.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n\
             [[registry]]\nlocation = \"{}/closed\"\nblocked = true\n",
            reg.addr(),
            reg.addr()
        ),
    )
    .unwrap();
    let with_conf =
        |args: &[&str]| run_cmd(berth().env("CONTAINERS_REGISTRIES_CONF", &conf).args(args));
    // insecure = true: plain HTTP without any --tls-verify flag, both ways.
    let open = format!("docker://{}/open/app:1", reg.addr());
    let r = with_conf(&["image", "copy", "-q", &src, &open]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = with_conf(&["image", "inspect", &open]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["Digest"], fx.manifest_digest.as_str());
    // Without the file the same registry is refused (it speaks no TLS).
    assert_ne!(run(&["image", "inspect", &open]).code, 0);
    // blocked = true on a namespace: refused as a destination, nothing sent.
    let closed = format!("docker://{}/closed/app:1", reg.addr());
    let r = with_conf(&["image", "copy", "-q", &src, &closed]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("blocked"), "{}", r.stderr);
    assert_manifest_unknown(&run(&["image", "inspect", NO_TLS, &closed]));
}

/// An inspect that failed because the registry has no such manifest (skopeo's
/// exit 1, in containers/image's words): nothing was written there.
fn assert_manifest_unknown(r: &Run) {
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("manifest unknown"), "{}", r.stderr);
}
