//! `berth image` flags a skopeo user reaches for, each checked by what it changes:
//! bearer-token registries, inspect's fields against skopeo's, platform choice on
//! copy, `--multi-arch`, compression levels, `-q`, and `podman load` of what
//! berth writes as a docker-archive.

mod common;
mod support;

use std::path::Path;

use common::*;
use support::fixtures;
use support::proxy::{BEARER_TOKEN, Fault, HostileProxy};
use support::registry::Registry;

const NO_TLS: &str = "--tls-verify=false";

fn oci(fx: &fixtures::Fixture) -> String {
    format!("oci:{}:{}", fx.layout.display(), fx.tag)
}

#[test]
fn bearer_token_registry_with_creds_and_docker_config() {
    let reg = Registry::start().expect("registry");
    let proxy = HostileProxy::start(reg.addr(), Fault::Bearer).expect("proxy");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let dst = format!("docker://{}/tok/img:1", proxy.addr());
    // An empty auth file, so that nothing of the machine's is read.
    let authfile = tmp.path().join("auth.json");
    std::fs::write(&authfile, "{}").unwrap();
    let af = authfile.to_str().unwrap();

    let r = run(&[
        "image",
        "copy",
        "-q",
        "--authfile",
        af,
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &dst,
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("authentication required"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    ok(&[
        "image",
        "copy",
        "-q",
        "--authfile",
        af,
        "--dest-creds",
        "user:pass",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &dst,
    ]);
    let seen = proxy.seen();
    assert!(
        seen.iter().any(|s| s.line.starts_with("GET /token")),
        "no token was asked for: {seen:?}"
    );
    let bearer = format!("Bearer {BEARER_TOKEN}");
    assert!(
        seen.iter()
            .any(|s| s.line.starts_with("PUT /v2/tok/img/manifests/")
                && s.header("authorization") == Some(bearer.as_str())),
        "the manifest was not put with the token: {seen:?}"
    );

    // Back with --src-creds, and with ~/.docker/config.json alone.
    let out = tmp.path().join("back");
    ok(&[
        "image",
        "copy",
        "-q",
        "--authfile",
        af,
        "--src-creds",
        "user:pass",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &dst,
        &format!("oci:{}:x", out.display()),
    ]);
    assert_eq!(oci_diff_ids(&out, "x"), oci_diff_ids(&fx.layout, &fx.tag));
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"dXNlcjpwYXNz"}}}}}}"#,
            proxy.addr()
        ),
    )
    .unwrap();
    let r = run_cmd(
        berth()
            .env("HOME", &home)
            .env_remove("DOCKER_CONFIG")
            .env("XDG_RUNTIME_DIR", tmp.path().join("xdg"))
            .args(["image", "inspect", NO_TLS, &dst]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["Digest"], fx.manifest_digest.as_str());
}

/// `--registry-token` sends the user's token where the registry asks for one,
/// never asking the token server.
#[test]
fn a_registry_token_is_sent_as_given() {
    let reg = Registry::start().expect("registry");
    let proxy = HostileProxy::start(reg.addr(), Fault::Bearer).expect("proxy");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let dst = format!("docker://{}/tok/given:1", proxy.addr());
    let authfile = tmp.path().join("auth.json");
    std::fs::write(&authfile, "{}").unwrap();
    let af = authfile.to_str().unwrap();
    let copy = |token: &str| {
        run(&[
            "image",
            "copy",
            "-q",
            "--authfile",
            af,
            "--dest-tls-verify=false",
            "--dest-registry-token",
            token,
            &oci(&fx),
            &dst,
        ])
    };
    assert_eq!(copy("not-the-token").code, 1);
    assert_eq!(copy(BEARER_TOKEN).code, 0);
    let r = run(&[
        "image",
        "inspect",
        NO_TLS,
        "--authfile",
        af,
        "--registry-token",
        BEARER_TOKEN,
        &dst,
    ]);
    assert_eq!(
        json(&r.stdout)["Digest"],
        fx.manifest_digest.as_str(),
        "{}",
        r.stderr
    );
    let seen = proxy.seen();
    assert!(
        !seen.iter().any(|s| s.line.starts_with("GET /token")),
        "{seen:?}"
    );
}

/// `--dest-shared-blob-dir`/`--src-shared-blob-dir` (and inspect's
/// `--shared-blob-dir`): oci: layouts whose blobs live in one directory they
/// share, as skopeo writes and reads them.
#[test]
fn oci_layouts_sharing_a_blob_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let shared = tmp.path().join("blobs");
    let sh = shared.to_str().unwrap();
    let layout = |n: &str| format!("oci:{}:t", tmp.path().join(n).display());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-shared-blob-dir",
        sh,
        &oci(&fx),
        &layout("a"),
    ]);
    let in_shared = std::fs::read_dir(shared.join("sha256")).unwrap().count();
    assert!(in_shared >= 3, "manifest, config and layer: {in_shared}");
    let own = tmp.path().join("a/blobs/sha256");
    assert_eq!(std::fs::read_dir(&own).map_or(0, |d| d.count()), 0);
    // Read back through the shared directory only.
    assert_ne!(run(&["image", "inspect", &layout("a")]).code, 0);
    let i = json(&ok(&["image", "inspect", "--shared-blob-dir", sh, &layout("a")]).stdout);
    assert_eq!(i["Digest"], fx.manifest_digest.as_str());
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-shared-blob-dir",
        sh,
        &layout("a"),
        &layout("b"),
    ]);
    assert_eq!(
        oci_diff_ids(&tmp.path().join("b"), "t"),
        oci_diff_ids(&fx.layout, &fx.tag)
    );
    // skopeo reads what berth wrote, and berth what skopeo writes.
    let s = skopeo(&[
        "copy",
        "--src-shared-blob-dir",
        sh,
        &layout("a"),
        &layout("c"),
    ]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let skopeo_shared = tmp.path().join("sk");
    let sk = skopeo_shared.to_str().unwrap();
    let s = skopeo(&[
        "copy",
        "--dest-shared-blob-dir",
        sk,
        &oci(&fx),
        &layout("d"),
    ]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let i = json(&ok(&["image", "inspect", "--shared-blob-dir", sk, &layout("d")]).stdout);
    assert_eq!(i["Digest"], fx.manifest_digest.as_str());
}

/// skopeo's verbs fail with skopeo's 1 where podman's `image` verbs say 125.
#[test]
fn skopeos_verbs_fail_with_1() {
    let tmp = tempfile::tempdir().unwrap();
    let af = tmp.path().join("auth.json");
    let af = af.to_str().unwrap();
    let r = run(&["image", "manifest-digest", "/nonexistent/manifest.json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = run(&["image", "logout", "--authfile", af, "localhost:1"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (1, "Error: not logged into localhost:1")
    );
    // podman's `logout` keeps podman's 125.
    assert_eq!(run(&["logout", "--authfile", af, "localhost:1"]).code, 125);
}

/// skopeo's global options before the verb: the policy ones reach copy (the
/// verb's own win), `--override-*` reach inspect, `--command-timeout` ends a
/// command that hangs; `-v` prints the version.
#[test]
fn skopeos_global_options_before_the_verb() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let reject = tmp.path().join("reject.json");
    std::fs::write(&reject, r#"{"default":[{"type":"reject"}]}"#).unwrap();
    let accept = tmp.path().join("accept.json");
    std::fs::write(
        &accept,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let (rj, ac) = (reject.to_str().unwrap(), accept.to_str().unwrap());
    let out = |n: &str| format!("dir:{}", tmp.path().join(n).display());
    let r = run(&["image", "--policy", rj, "copy", "-q", &oci(&fx), &out("a")]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is rejected by policy"), "{}", r.stderr);
    ok(&[
        "image",
        "--policy",
        rj,
        "--insecure-policy",
        "copy",
        "-q",
        &oci(&fx),
        &out("b"),
    ]);
    ok(&[
        "image",
        "--policy",
        rj,
        "copy",
        "--policy",
        ac,
        "-q",
        &oci(&fx),
        &out("c"),
    ]);
    ok(&[
        "image",
        "--tmpdir",
        tmp.path().to_str().unwrap(),
        "inspect",
        &oci(&fx),
    ]);
    // Not for podman's verbs.
    let r = run(&["image", "--override-arch", "arm64", "pull", "x"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("skopeo's"), "{}", r.stderr);
    // A registry that never answers: the timeout ends the command.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let held = std::thread::spawn(move || silent.accept().map(|(c, _)| c));
    let r = run(&[
        "image",
        "--command-timeout",
        "300ms",
        "inspect",
        NO_TLS,
        &format!("docker://{addr}/x:1"),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("context deadline exceeded"),
        "{}",
        r.stderr
    );
    drop(held.join());
    for v in ["-v", "--version"] {
        assert!(ok(&["image", v]).stdout.starts_with("berth-image version "));
    }
}

#[test]
fn inspect_fields_config_and_format_match_skopeo() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let dst = format!("docker://{}/ins/img:1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &dst,
    ]);
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &dst,
        &format!("docker://{}/ins/img:2", reg.addr()),
    ]);

    let ours = json(&ok(&["image", "inspect", NO_TLS, &dst]).stdout);
    let theirs = json(&skopeo(&["inspect", NO_TLS, &dst]).stdout);
    for field in [
        "Name",
        "Digest",
        "RepoTags",
        "Created",
        "Architecture",
        "Os",
        "Layers",
        "Env",
        "Labels",
    ] {
        assert_eq!(ours[field], theirs[field], "{field}: {ours} / {theirs}");
    }
    assert_eq!(ours["Labels"]["org.berth.fixture"], "small");
    // A layout has no name: both leave the key out.
    let ours = json(&ok(&["image", "inspect", &oci(&fx)]).stdout);
    let theirs = json(&skopeo(&["inspect", &oci(&fx)]).stdout);
    assert_eq!(ours.get("Name"), theirs.get("Name"), "{ours} / {theirs}");
    // Templates print as skopeo's: its maps and lists, a nil one as map[]
    // or [], its times with their methods.
    let plain = format!("oci:{}", tmp.path().join("plain").display());
    ok(&["image", "copy", "-q", &oci(&fx), &plain]);
    let f = "{{.Labels}}|{{.Env}}|{{.Created.Format \"2006\"}}";
    let ours = ok(&["image", "inspect", "--format", f, &plain]).stdout;
    assert_eq!(ours, skopeo(&["inspect", "--format", f, &plain]).stdout);
    let ours = json(&ok(&["image", "inspect", NO_TLS, &dst]).stdout);
    // skopeo 1.9 has no LayersData yet: it is the manifest's layers.
    let m = oci_manifest(&fx.layout, &fx.tag);
    let data = ours["LayersData"].as_array().unwrap();
    assert_eq!(data.len(), m["layers"].as_array().unwrap().len());
    for (d, l) in data.iter().zip(m["layers"].as_array().unwrap()) {
        assert_eq!(d["Digest"], l["digest"]);
        assert_eq!(d["Size"], l["size"]);
        assert_eq!(d["MIMEType"], l["mediaType"]);
    }
    let tags = json(&ok(&["image", "inspect", "--no-tags", NO_TLS, &dst]).stdout);
    assert_eq!(tags["RepoTags"], serde_json::json!([]));

    let ours = json(&ok(&["image", "inspect", "--config", NO_TLS, &dst]).stdout);
    let theirs = json(&skopeo(&["inspect", "--config", NO_TLS, &dst]).stdout);
    assert_eq!(ours, theirs);
    assert!(ours["rootfs"]["diff_ids"].is_array(), "{ours}");

    let r = ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Name}} {{.Digest}} {{.Architecture}}",
        NO_TLS,
        &dst,
    ]);
    assert_eq!(
        r.stdout,
        format!("{}/ins/img {} amd64\n", reg.addr(), fx.manifest_digest)
    );
    let r = run(&["image", "inspect", "--format", "{{.Nope", NO_TLS, &dst]);
    assert_ne!(r.code, 0);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

/// The blob files of an OCI layout.
fn layout_blobs(layout: &Path) -> Vec<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn platform_overrides_and_multi_arch_modes_on_copy() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::multi_arch(&tmp.path().join("ma")).unwrap();
    let index = oci_manifest(&fx.layout, &fx.tag);
    let entry = |arch: &str| {
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch)
            .unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // --override-os/--override-arch pick one image of the index.
    let arm = tmp.path().join("arm");
    ok(&[
        "image",
        "copy",
        "-q",
        "--override-os",
        "linux",
        "--override-arch",
        "arm64",
        &oci(&fx),
        &format!("oci:{}:a", arm.display()),
    ]);
    let m = oci_manifest(&arm, "a");
    assert!(m["layers"].is_array(), "{m}");
    let digest = oci_index_digest(&arm, "a");
    assert_eq!(digest, entry("arm64"));
    // A platform the index does not have is refused by name.
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--override-os",
        "windows",
        &oci(&fx),
        &format!("oci:{}:w", tmp.path().join("w").display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("windows"), "{}", r.stderr);

    // --multi-arch system is the host's image; all is every image.
    let sys = tmp.path().join("sys");
    ok(&[
        "image",
        "copy",
        "-q",
        "--multi-arch",
        "system",
        &oci(&fx),
        &format!("oci:{}:s", sys.display()),
    ]);
    assert_eq!(oci_index_digest(&sys, "s"), entry("amd64"));
    let all = format!("docker://{}/ma/img:all", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--multi-arch",
        "all",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &all,
    ]);
    let raw = json(&ok(&["image", "inspect", "--raw", NO_TLS, &all]).stdout);
    assert_eq!(raw["manifests"].as_array().unwrap().len(), 3);

    // index-only: the index alone, none of the images it lists.
    let idx = tmp.path().join("idx");
    ok(&[
        "image",
        "copy",
        "-q",
        "--multi-arch",
        "index-only",
        &oci(&fx),
        &format!("oci:{}:i", idx.display()),
    ]);
    assert_eq!(oci_index_digest(&idx, "i"), fx.manifest_digest);
    let blobs = layout_blobs(&idx);
    assert_eq!(blobs.len(), 1, "only the index should be there: {blobs:?}");
    // Into a registry that has the images already, the index alone is enough.
    let again = format!("docker://{}/ma/img:idx", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--multi-arch",
        "index-only",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &again,
    ]);
    let s = json(&skopeo(&["inspect", NO_TLS, "--override-arch", "arm64", &again]).stdout);
    assert_eq!(s["Architecture"], "arm64");
    let r = run(&[
        "image",
        "copy",
        "--multi-arch",
        "some",
        &oci(&fx),
        "oci:/nonexistent/x",
    ]);
    assert_ne!(r.code, 0);
    assert!(!Path::new("/nonexistent/x").exists());
}

/// The digest an OCI layout's index.json gives for a tag.
fn oci_index_digest(layout: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn compression_level_parallel_copies_and_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let mut sizes = Vec::new();
    for level in ["1", "19"] {
        let out = tmp.path().join(format!("z{level}"));
        let r = ok(&[
            "image",
            "copy",
            "-q",
            "--dest-compress-format",
            "zstd",
            "--dest-compress-level",
            level,
            "--image-parallel-copies",
            "1",
            &oci(&fx),
            &format!("oci:{}:z", out.display()),
        ]);
        assert_eq!(r.stderr, "", "-q must be silent");
        assert_eq!(r.stdout, "", "-q must be silent");
        let m = oci_manifest(&out, "z");
        let layer = &m["layers"][0];
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
        sizes.push(layer["size"].as_u64().unwrap());
        assert_eq!(oci_diff_ids(&out, "z"), oci_diff_ids(&fx.layout, &fx.tag));
    }
    assert!(
        sizes[1] < sizes[0],
        "level 19 should compress better than level 1: {sizes:?}"
    );
    // Without -q, a line per blob.
    let r = ok(&[
        "image",
        "copy",
        &oci(&fx),
        &format!("oci:{}:v", tmp.path().join("v").display()),
    ]);
    assert!(r.stdout.contains("Copying blob"), "{}", r.stdout);
    assert!(r.stdout.contains("Writing manifest"), "{}", r.stdout);
    // A count that is not a number is refused before anything is written.
    let r = run(&[
        "image",
        "copy",
        "--image-parallel-copies",
        "many",
        &oci(&fx),
        &format!("oci:{}:p", tmp.path().join("p").display()),
    ]);
    assert_ne!(r.code, 0);
    assert!(!tmp.path().join("p").exists());
}

#[test]
fn a_corrupting_source_never_reaches_a_registry_destination() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &format!("docker://{}/src/img:1", reg.addr()),
    ]);
    for fault in [Fault::FlipByte, Fault::Truncate, Fault::LieLength] {
        let proxy = HostileProxy::start(reg.addr(), fault).expect("proxy");
        let dst = format!(
            "docker://{}/dst/{}:1",
            reg.addr(),
            format!("{fault:?}").to_lowercase()
        );
        let r = run(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{}/src/img:1", proxy.addr()),
            &dst,
        ]);
        assert_eq!(r.code, 1, "{fault:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{fault:?}: {}",
            r.stderr
        );
        let r = run(&["image", "inspect", NO_TLS, &dst]);
        assert!(
            r.code == 1 && r.stderr.contains("manifest unknown"),
            "{fault:?}: a manifest was written, or the registry failed: {}{}",
            r.stdout,
            r.stderr
        );
    }
}

/// A registry that redirects a blob to `file:///etc/shadow` is refused in
/// words (the HTTP library panicked on it), and nothing is pulled.
#[test]
fn a_redirect_to_a_file_is_refused() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &oci(&fx),
        &format!("docker://{}/src/img:1", reg.addr()),
    ]);
    let proxy = HostileProxy::start(reg.addr(), Fault::RedirectToFile).expect("proxy");
    let dst = tmp.path().join("d");
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("docker://{}/src/img:1", proxy.addr()),
        &format!("oci:{}:1", dst.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("refused redirect to file:///etc/shadow: not an http or https address"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// skopeo's `--command-timeout` reached in the middle of a copy from a slow
/// registry: the copy stops through its own error path, so the layout it was
/// writing keeps no partial blob and gets no manifest.
#[test]
fn a_copy_past_its_command_timeout_leaves_no_partial_blob() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let layer = {
        let mut b = tar::Builder::new(Vec::new());
        fixtures::file(&mut b, "noise", &fixtures::noise(300_000, 7), 0o644);
        b.into_inner().unwrap()
    };
    let fx = fixtures::layered(&tmp.path().join("s"), &[layer]).unwrap();
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &oci(&fx),
        &format!("docker://{}/src/slow:1", reg.addr()),
    ]);
    let proxy = HostileProxy::start(reg.addr(), Fault::Trickle).expect("proxy");
    let dst = tmp.path().join("d");
    let r = run(&[
        "image",
        "--command-timeout",
        "500ms",
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("docker://{}/src/slow:1", proxy.addr()),
        &format!("oci:{}:1", dst.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("context deadline exceeded"),
        "{}",
        r.stderr
    );
    let left: Vec<String> = std::fs::read_dir(dst.join("blobs/sha256"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !left.iter().any(|n| n.starts_with('.')),
        "partial blobs: {left:?}"
    );
    let index = std::fs::read_to_string(dst.join("index.json")).unwrap_or_default();
    assert!(
        !index.contains("application/vnd"),
        "a manifest was written: {index}"
    );
}

#[test]
fn cross_repository_copy_mounts_blobs() {
    let reg = Registry::start().expect("registry");
    let proxy = HostileProxy::start(reg.addr(), Fault::None).expect("proxy");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let a = format!("docker://{}/m/a:1", proxy.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &oci(&fx),
        &a,
    ]);
    let before = proxy.seen().len();
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &a,
        &format!("docker://{}/m/b:1", proxy.addr()),
    ]);
    let seen = &proxy.seen()[before..];
    let mounts = seen
        .iter()
        .filter(|s| {
            s.line.starts_with("POST /v2/m/b/blobs/uploads/?")
                && s.line.contains("mount=")
                && (s.line.contains("from=m%2Fa") || s.line.contains("from=m/a"))
        })
        .count();
    assert!(mounts >= 2, "config and layer should be mounted: {seen:?}");
    assert!(
        !seen
            .iter()
            .any(|s| s.line.starts_with("GET /v2/m/a/blobs/")),
        "a blob was downloaded instead of mounted: {seen:?}"
    );
}

#[test]
fn podman_loads_a_docker_archive_berth_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let archive = tmp.path().join("img.tar");
    ok(&[
        "image",
        "copy",
        "-q",
        &oci(&fx),
        &format!("docker-archive:{}:localhost/loaded:7", archive.display()),
    ]);
    let podman = |args: &[&str]| {
        let mut c = std::process::Command::new("podman");
        c.arg("--root")
            .arg(tmp.path().join("proot"))
            .arg("--runroot")
            .arg(tmp.path().join("prun"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args)
            .env("CONTAINERS_REGISTRIES_CONF", "/dev/null");
        run_cmd(&mut c)
    };
    let r = podman(&["load", "-i", archive.to_str().unwrap()]);
    let cleanup = || {
        let _ = podman(&["system", "reset", "--force"]);
    };
    if r.code != 0 {
        cleanup();
        panic!("podman load: {}", r.stderr);
    }
    let r = podman(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let inspect = podman(&["image", "inspect", "localhost/loaded:7"]);
    cleanup();
    assert_eq!(r.stdout.trim(), "localhost/loaded:7", "{}", r.stderr);
    let v = json(&inspect.stdout);
    assert_eq!(
        v[0]["RootFS"]["Layers"],
        serde_json::json!(oci_diff_ids(&fx.layout, &fx.tag)),
        "{}",
        inspect.stdout
    );
}

#[test]
fn logout_all_forgets_every_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let authfile = tmp.path().join("auth.json");
    std::fs::write(
        &authfile,
        r#"{"auths":{"127.0.0.1:1":{"auth":"YTpi"},"127.0.0.1:2":{"auth":"Yzpk"}}}"#,
    )
    .unwrap();
    let af = authfile.to_str().unwrap();
    assert_eq!(
        ok(&["login", "--get-login", "--authfile", af, "127.0.0.1:1"])
            .stdout
            .trim(),
        "a"
    );
    ok(&["logout", "-a", "--authfile", af]);
    for reg in ["127.0.0.1:1", "127.0.0.1:2"] {
        let r = run(&["login", "--get-login", "--authfile", af, reg]);
        assert_ne!(r.code, 0, "{reg} is still logged in");
    }
}

#[test]
fn progress_bars_on_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let layer = oci_manifest(&fx.layout, &fx.tag)["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")[..12]
        .to_string();
    let mut c = berth();
    c.args([
        "image",
        "copy",
        &oci(&fx),
        &format!("oci:{}:t", tmp.path().join("t").display()),
    ]);
    let (out, code) = on_terminal(c, b"");
    assert_eq!(code, 0, "{out}");
    // A bar for the layer, redrawn in place (cursor up), then its done line.
    assert!(out.contains(&format!("Copying blob {layer} [")), "{out:?}");
    assert!(out.contains("\x1b["), "{out:?}");
    let done = out
        .rfind(&format!("Copying blob {layer} done"))
        .expect("done line");
    let manifest = out
        .rfind("Writing manifest to image destination")
        .expect("manifest line");
    assert!(done < manifest, "{out:?}");
    // -q: nothing on the terminal either.
    let mut c = berth();
    c.args([
        "image",
        "copy",
        "-q",
        &oci(&fx),
        &format!("oci:{}:q", tmp.path().join("q").display()),
    ]);
    let (out, code) = on_terminal(c, b"");
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn an_index_becomes_a_docker_manifest_list_and_back() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::multi_arch(&tmp.path().join("ma")).unwrap();
    let list = format!("docker://{}/conv/list:1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--all",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &oci(&fx),
        &list,
    ]);
    let raw = json(&skopeo(&["inspect", "--raw", NO_TLS, &list]).stdout);
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    for m in raw["manifests"].as_array().unwrap() {
        assert_eq!(
            m["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
    }
    let s = json(&skopeo(&["inspect", NO_TLS, "--override-arch", "arm64", &list]).stdout);
    assert_eq!(s["Architecture"], "arm64");
    // A Docker list as the source: one platform out of it, then all of it as OCI.
    let one = tmp.path().join("one");
    ok(&[
        "image",
        "copy",
        "-q",
        "--override-arch",
        "arm",
        "--override-variant",
        "v7",
        "--src-tls-verify=false",
        &list,
        &format!("oci:{}:a", one.display()),
    ]);
    let cfg_digest = oci_manifest(&one, "a")["config"]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(one.join("blobs/sha256").join(cfg_digest)).unwrap())
            .unwrap();
    assert_eq!(
        (cfg["architecture"].as_str(), cfg["variant"].as_str()),
        (Some("arm"), Some("v7"))
    );
    let back = tmp.path().join("back");
    ok(&[
        "image",
        "copy",
        "-q",
        "--all",
        "--format",
        "oci",
        "--src-tls-verify=false",
        &list,
        &format!("oci:{}:b", back.display()),
    ]);
    let idx = oci_manifest(&back, "b");
    assert_eq!(idx["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 3);
    // --preserve-digests refuses the conversion rather than change the digest.
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--all",
        "--format",
        "v2s2",
        "--preserve-digests",
        &oci(&fx),
        &format!("oci:{}:p", tmp.path().join("p").display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

#[test]
fn manifest_digest_agrees_with_skopeo() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::multi_arch(&tmp.path().join("ma")).unwrap();
    // The index and one image manifest, as files.
    let index = tmp.path().join("index.json");
    let hex = fx.manifest_digest.trim_start_matches("sha256:");
    std::fs::copy(fx.layout.join("blobs/sha256").join(hex), &index).unwrap();
    let one: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    let first = one["manifests"][0]["digest"].as_str().unwrap();
    let image = tmp.path().join("image.json");
    std::fs::copy(
        fx.layout
            .join("blobs/sha256")
            .join(first.trim_start_matches("sha256:")),
        &image,
    )
    .unwrap();
    for (file, want) in [(&index, fx.manifest_digest.as_str()), (&image, first)] {
        let f = file.to_str().unwrap();
        let ours = ok(&["image", "manifest-digest", f]).stdout;
        assert_eq!(ours.trim(), want);
        assert_eq!(skopeo(&["manifest-digest", f]).stdout, ours);
    }
    let r = run(&["image", "manifest-digest", "/nonexistent.json"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("/nonexistent.json"), "{}", r.stderr);
}

#[test]
fn list_tags_of_an_archive_are_its_images_names_as_skopeo_lists_them() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("l")).unwrap();
    let archive = tmp.path().join("a.tar");
    let dest = format!("docker-archive:{}:example.test/app:1", archive.display());
    ok(&[
        "image",
        "copy",
        "-q",
        &format!("oci:{}:{}", fx.layout.display(), fx.tag),
        &dest,
    ]);
    let src = format!("docker-archive:{}", archive.display());
    let ours = json(&ok(&["image", "list-tags", &src]).stdout);
    let theirs = json(&skopeo(&["list-tags", &src]).stdout);
    assert_eq!(ours["Tags"], theirs["Tags"]);
    assert_eq!(ours["Tags"][0], "example.test/app:1");
}

#[test]
fn additional_tags_name_an_archives_image_as_skopeo_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("l")).unwrap();
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let tags = |tool: &dyn Fn(&[&str]) -> Run, file: &str| {
        let archive = tmp.path().join(file);
        let dest = format!("docker-archive:{}:example.test/app:1", archive.display());
        tool(&[
            "copy",
            "-q",
            "--additional-tag",
            "example.test/app:2",
            &src,
            &dest,
        ]);
        json(
            &skopeo(&[
                "list-tags",
                &format!("docker-archive:{}", archive.display()),
            ])
            .stdout,
        )["Tags"]
            .clone()
    };
    let ours = tags(
        &|args: &[&str]| ok(&[&["image"][..], args].concat()),
        "ours.tar",
    );
    let theirs = tags(&|args: &[&str]| skopeo(args), "theirs.tar");
    assert_eq!(ours, theirs);
    assert_eq!(ours.as_array().unwrap().len(), 2, "{ours}");
    let r = run(&[
        "image",
        "copy",
        "--additional-tag",
        "x:1",
        &src,
        &format!("oci:{}/o:1", tmp.path().display()),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("--additional-tag can only be used with a docker-archive"),
        "{}",
        r.stderr
    );
}
