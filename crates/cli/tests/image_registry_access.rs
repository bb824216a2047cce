//! Credentials, TLS and hostile registries.

mod common;
mod support;

use common::*;
use support::fixtures;
use support::proxy::{Fault, HostileProxy};
use support::registry::Registry;

/// skopeo's other credential flags: `--username/--password` as `--creds`,
/// `--no-creds` anonymous whatever the auth file holds, and each copy end's own.
#[test]
fn skopeos_username_password_and_no_creds_flags() {
    let reg = Registry::start_with_auth("alice", "wonder").expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let dst = format!("docker://{}/auth/u:1", reg.addr());
    let no_tls = "--tls-verify=false";
    let user = ["--username", "alice", "--password", "wonder"];
    let mut copy = vec!["image", "copy", "-q", "--dest-tls-verify=false"];
    copy.extend([
        "--dest-username",
        "alice",
        "--dest-password",
        "wonder",
        &src,
        &dst,
    ]);
    ok(&copy);
    let mut inspect = vec!["image", "inspect", no_tls];
    inspect.extend(user);
    inspect.push(&dst);
    assert_eq!(
        json(&ok(&inspect).stdout)["Digest"],
        fx.manifest_digest.as_str()
    );
    let repo = format!("docker://{}/auth/u", reg.addr());
    let mut tags = vec!["image", "list-tags", no_tls];
    tags.extend(user);
    tags.push(&repo);
    assert_eq!(json(&ok(&tags).stdout)["Tags"][0], "1");
    // With credentials in the auth file, --no-creds goes anonymously: refused.
    let af = tmp.path().join("auth.json");
    let af = af.to_str().unwrap();
    let mut c = berth();
    c.args([
        "image",
        "login",
        "-v",
        no_tls,
        "--authfile",
        af,
        "-u",
        "alice",
    ]);
    c.args(["--password-stdin", reg.addr()]);
    c.stdin(std::process::Stdio::piped());
    let r = pipe_stdin(c, "wonder\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(&format!("Used: {af}\n")),
        "{}",
        r.stdout
    );
    ok(&["image", "inspect", no_tls, "--authfile", af, &dst]);
    let r = run(&[
        "image",
        "inspect",
        no_tls,
        "--authfile",
        af,
        "--no-creds",
        &dst,
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    ok(&[
        "image",
        "logout",
        "--tls-verify=false",
        "--authfile",
        af,
        reg.addr(),
    ]);
    // --no-creds and --creds together are refused.
    let r = run(&["image", "inspect", "--no-creds", "--creds", "a:b", &dst]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}

#[test]
fn login_copy_logout_with_htpasswd_registry() {
    let reg = Registry::start_with_auth("alice", "wonder").expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let dst = format!("docker://{}/auth/img:1", reg.addr());
    let authfile = tmp.path().join("auth.json");
    let af = authfile.to_str().unwrap();

    // Without credentials the registry refuses.
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--authfile",
        af,
        &src,
        &dst,
    ]);
    assert_eq!(r.code, 1);
    // The registry's error code and message, as containers/image prints them.
    assert!(
        r.stderr.contains(": unauthorized: authentication required"),
        "{}",
        r.stderr
    );

    // A wrong password is refused at login and nothing is stored.
    let mut c = berth();
    c.args([
        "login",
        "--tls-verify=false",
        "--authfile",
        af,
        "-u",
        "alice",
        "--password-stdin",
        reg.addr(),
    ]);
    c.stdin(std::process::Stdio::piped());
    let r = pipe_stdin(c, "wrong\n");
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "Error: logging into \"{}\": invalid username/password\n",
            reg.addr()
        )
    );
    assert!(!authfile.exists());

    let mut c = berth();
    c.args([
        "login",
        "--tls-verify=false",
        "--authfile",
        af,
        "-u",
        "alice",
        "--password-stdin",
        reg.addr(),
    ]);
    let r = pipe_stdin(c, "wonder\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Login Succeeded"));
    let r = ok(&["login", "--get-login", "--authfile", af, reg.addr()]);
    assert_eq!(r.stdout.trim(), "alice");

    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--authfile",
        af,
        &src,
        &dst,
    ]);
    // skopeo reads berth's auth file.
    let s = json(&skopeo(&["inspect", "--tls-verify=false", "--authfile", af, &dst]).stdout);
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
    // --creds works without any file.
    ok(&[
        "image",
        "inspect",
        "--tls-verify=false",
        "--creds",
        "alice:wonder",
        &dst,
    ]);

    ok(&["logout", "--authfile", af, reg.addr()]);
    let r = run(&["logout", "--authfile", af, reg.addr()]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not logged into"), "{}", r.stderr);
    let r = run(&[
        "image",
        "inspect",
        "--tls-verify=false",
        "--authfile",
        af,
        &dst,
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

fn pipe_stdin(mut c: std::process::Command, input: &str) -> Run {
    use std::io::Write;
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn tls_registry_needs_its_ca() {
    let reg = Registry::start_tls().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let dst = format!("docker://{}/tls/img:1", reg.addr());
    let r = run(&["image", "copy", "-q", &src, &dst]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.to_lowercase().contains("certificate"),
        "{}",
        r.stderr
    );
    let certs = reg.cert_dir().to_str().unwrap().to_string();
    ok(&["image", "copy", "-q", "--dest-cert-dir", &certs, &src, &dst]);
    let b = json(&ok(&["image", "inspect", "--cert-dir", &certs, &dst]).stdout);
    assert_eq!(b["Digest"], fx.manifest_digest.as_str());
    // --tls-verify=false accepts the unknown certificate (and still speaks TLS).
    ok(&["image", "inspect", "--tls-verify=false", &dst]);
}

#[test]
fn hostile_registry_is_refused_and_nothing_is_left() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let name = "hostile/img:1";
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{}/{name}", reg.addr()),
    ]);
    for (fault, expect) in [
        (Fault::FlipByte, "digest mismatch"),
        (Fault::Truncate, "blob"),
        (Fault::LieLength, "blob"),
    ] {
        let proxy = HostileProxy::start(reg.addr(), fault).expect("proxy");
        let out = tmp.path().join(format!("out-{fault:?}"));
        let r = run(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--retry-times",
            "1",
            &format!("docker://{}/{name}", proxy.addr()),
            &format!("oci:{}:x", out.display()),
        ]);
        assert_eq!(r.code, 1, "{fault:?} accepted: {}", r.stderr);
        assert!(r.stderr.contains(expect), "{fault:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{fault:?}: {}", r.stderr);
        assert!(!layout_has_image(&out), "{fault:?} left an image behind");
        let stray: Vec<_> = std::fs::read_dir(out.join("blobs/sha256"))
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(stray.is_empty(), "{fault:?} left temp files");
    }
    // A manifest that does not hash to the digest asked for is refused.
    let digest = fx.manifest_digest.clone();
    let proxy = HostileProxy::start(reg.addr(), Fault::WrongManifest).expect("proxy");
    let r = run(&[
        "image",
        "inspect",
        "--tls-verify=false",
        &format!("docker://{}/hostile/img@{digest}", proxy.addr()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("hashes to"), "{}", r.stderr);
}

#[test]
fn dropped_blob_download_resumes_and_5xx_is_retried() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{}/flaky/img:1", reg.addr()),
    ]);
    // Two 503s in a row: the second is answered by the retry loop, after a backoff.
    for fault in [Fault::TruncateOnce, Fault::Unavailable(2)] {
        let proxy = HostileProxy::start(reg.addr(), fault).expect("proxy");
        let out = tmp.path().join(format!("out-{fault:?}"));
        let r = run(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            &format!("docker://{}/flaky/img:1", proxy.addr()),
            &format!("oci:{}:x", out.display()),
        ]);
        assert_eq!(r.code, 0, "{fault:?}: {}", r.stderr);
        assert_eq!(
            oci_diff_ids(&out, "x"),
            oci_diff_ids(&fx.layout, &fx.tag),
            "{fault:?}"
        );
        let blob_gets: Vec<_> = proxy
            .seen()
            .into_iter()
            .filter(|s| s.line.starts_with("GET ") && s.line.contains("/blobs/"))
            .collect();
        let layers = oci_diff_ids(&fx.layout, &fx.tag).len();
        match fault {
            // The cut-off body is picked up where it broke, not fetched again.
            Fault::TruncateOnce => assert!(
                blob_gets.iter().any(|s| s
                    .header("range")
                    .is_some_and(|r| r.starts_with("bytes=") && r != "bytes=0-")),
                "no ranged GET after the truncated body: {blob_gets:?}"
            ),
            // Config and layers, plus the two refused attempts.
            _ => assert_eq!(blob_gets.len(), layers + 1 + 2, "{blob_gets:?}"),
        }
    }
}

#[test]
fn a_chunked_upload_retries_a_refused_chunk() {
    // Recompressing makes the size unknown up front, so the layer goes up in
    // Content-Range chunks (64 KiB here); the proxy refuses the first with 503.
    // (A single streamed PATCH could not be sent again.)
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let proxy = HostileProxy::start(reg.addr(), Fault::UnavailablePatchOnce).expect("proxy");
    let r = run_cmd(berth().env("BERTH_UPLOAD_CHUNK_SIZE", "65536").args([
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd",
        &format!("oci:{}:{}", fx.layout.display(), fx.tag),
        &format!("docker://{}/chunked/img:1", proxy.addr()),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = tmp.path().join("back");
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("docker://{}/chunked/img:1", reg.addr()),
        &format!("oci:{}:x", out.display()),
    ]);
    assert_eq!(oci_diff_ids(&out, "x"), oci_diff_ids(&fx.layout, &fx.tag));
}

#[test]
fn a_refused_monolithic_upload_is_sent_again() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let proxy = HostileProxy::start(reg.addr(), Fault::UnavailablePutOnce).expect("proxy");
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:{}", fx.layout.display(), fx.tag),
        &format!("docker://{}/mono/img:1", proxy.addr()),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let puts: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.line.starts_with("PUT ") && s.line.contains("/blobs/uploads/"))
        .collect();
    // The config and the layer, one of them twice.
    assert_eq!(puts.len(), 3, "{puts:?}");
    let s = json(
        &skopeo(&[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{}/mono/img:1", reg.addr()),
        ])
        .stdout,
    );
    assert_eq!(s["Digest"], fx.manifest_digest.as_str());
}
