//! `berth image` as a drop-in for skopeo 1.9 where a black-box sweep found it
//! apart: boolean flag values, the modes of the files a copy writes, sync's
//! repository names, exit codes, interrupted copies and docker-archive
//! destinations.

mod common;
mod support;

use common::*;
use support::fixtures;
use support::proxy::{Fault, HostileProxy};
use support::registry::Registry;

fn oci(fx: &fixtures::Fixture) -> String {
    format!("oci:{}:{}", fx.layout.display(), fx.tag)
}

/// A registry holding the small fixture as `ns/img:t1`.
fn registry_with_image(tmp: &std::path::Path) -> (Registry, String) {
    let reg = Registry::start().unwrap();
    let fx = fixtures::small(&tmp.join("small")).unwrap();
    let dest = format!("docker://{}/ns/img:t1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &oci(&fx),
        &dest,
    ]);
    (reg, dest)
}

/// Boolean flags take what Go's strconv.ParseBool takes (1, t, F, TRUE, ...),
/// skopeo's and podman's alike; anything else is refused in its words.
#[test]
fn boolean_flags_take_go_booleans() {
    let tmp = tempfile::tempdir().unwrap();
    let (reg, img) = registry_with_image(tmp.path());
    for v in ["0", "f", "F", "False", "FALSE"] {
        let flag = format!("--tls-verify={v}");
        let r = ok(&["image", "inspect", &flag, &img]);
        assert!(r.stdout.contains("\"Digest\""), "{}", r.stdout);
    }
    // True: HTTPS is required of a plain-HTTP registry, so the inspect fails
    // reaching it, not parsing its flags.
    for v in ["1", "t", "T", "TRUE", "True"] {
        let r = run(&["image", "inspect", &format!("--tls-verify={v}"), &img]);
        assert_eq!(r.code, 1, "{v}: {}", r.stderr);
        assert!(r.stderr.contains("plain HTTP"), "{v}: {}", r.stderr);
    }
    let out = format!("oci:{}:x", tmp.path().join("out").display());
    ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=0",
        "--dest-tls-verify=T",
        &img,
        &out,
    ]);
    let r = run(&["image", "inspect", "--tls-verify=yes", &img]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("strconv.ParseBool: parsing \"yes\": invalid syntax"),
        "{}",
        r.stderr
    );
    // podman's verbs read them alike.
    let af = tmp.path().join("auth.json");
    let r = ok(&[
        "login",
        "--tls-verify=0",
        "-u",
        "u",
        "-p",
        "p",
        "--authfile",
        af.to_str().unwrap(),
        reg.addr(),
    ]);
    assert!(r.stdout.contains("Login Succeeded"), "{}", r.stdout);
}

/// berth run under the umask `mask`, as a shell's `umask` sets it.
fn run_with_umask(mask: &str, args: &[&str]) -> Run {
    let b = berth();
    let mut c = std::process::Command::new("sh");
    c.args(["-c", &format!("umask {mask} && exec \"$0\" \"$@\"")])
        .arg(b.get_program())
        .args(args);
    for (k, v) in b.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    run_cmd(&mut c)
}

/// Every file under `root` (or `root` itself, a file) with its mode.
fn file_modes(root: &std::path::Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let md = std::fs::metadata(root).unwrap();
    if md.is_file() {
        return vec![(root.display().to_string(), md.permissions().mode() & 0o7777)];
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).unwrap() {
        out.extend(file_modes(&e.unwrap().path()));
    }
    out
}

/// A copy's destination files get 0666 less the umask, as skopeo (and any
/// ordinary create) makes them: readable by others under umask 022.
#[test]
fn copied_files_have_the_umasks_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("small")).unwrap();
    for (mask, want) in [("022", 0o644), ("027", 0o640)] {
        let at = |n: &str| tmp.path().join(format!("{n}-{mask}"));
        let dests = [
            format!("dir:{}", at("dir").display()),
            format!("oci:{}:x", at("oci").display()),
            format!("oci-archive:{}", at("oa").display()),
            format!("docker-archive:{}:x/y:1", at("da").display()),
        ];
        for d in &dests {
            let r = run_with_umask(mask, &["image", "copy", "-q", &oci(&fx), d]);
            assert_eq!(r.code, 0, "{d}: {}", r.stderr);
        }
        let mut files = Vec::new();
        for n in ["dir", "oci", "oa", "da"] {
            files.extend(file_modes(&at(n)));
        }
        // dir: blobs, manifest.json, version; oci: blobs, index.json, oci-layout.
        assert!(files.len() >= 10, "{files:?}");
        for (f, m) in files {
            assert_eq!(m, want, "{f} under umask {mask}: {m:o}");
        }
    }
}

/// The tags of `repo` in `reg`, as skopeo lists them (none when it is absent).
fn tags(reg: &Registry, repo: &str) -> Vec<String> {
    let r = run(&[
        "image",
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{}/{repo}", reg.addr()),
    ]);
    if r.code != 0 {
        return Vec::new();
    }
    let v = json(&r.stdout);
    let mut t: Vec<String> = v["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

/// `sync --src dir --dest docker` names each image by its directory's own
/// name below the destination, as skopeo does (with --scoped, by its path
/// below the source): a tree `sync --scoped` wrote, whose first directory is
/// a registry with a port, goes back as DEST/img:t1.
#[test]
fn sync_from_a_dir_tree_names_images_as_skopeo() {
    let tmp = tempfile::tempdir().unwrap();
    let (reg, _) = registry_with_image(tmp.path());
    let tree = tmp.path().join("tree");
    let tree_s = tree.to_str().unwrap();
    let sync = |extra: &[&str], src: &str, dest: &str| {
        let mut args = vec!["image", "sync", "-q", "--src", "dir", "--dest", "docker"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--dest-tls-verify=false", src, dest]);
        ok(&args);
    };
    ok(&[
        "image",
        "sync",
        "-q",
        "--scoped",
        "--src",
        "docker",
        "--dest",
        "dir",
        "--src-tls-verify=false",
        &format!("{}/ns/img:t1", reg.addr()),
        tree_s,
    ]);
    let scoped_img = tree.join(reg.addr()).join("ns/img:t1");
    assert!(scoped_img.join("manifest.json").is_file());
    sync(&[], tree_s, &format!("{}/dest", reg.addr()));
    assert_eq!(tags(&reg, "dest/img"), ["t1"]);
    // The image's own directory as the source.
    sync(
        &[],
        scoped_img.to_str().unwrap(),
        &format!("{}/one", reg.addr()),
    );
    assert_eq!(tags(&reg, "one/img"), ["t1"]);
    // A registry without a port in the tree: --scoped keeps the path.
    let named = tmp.path().join("named");
    let img = format!("dir:{}/reg.example.com/ns/img:t2", named.display());
    let src = format!("docker://{}/ns/img:t1", reg.addr());
    ok(&["image", "copy", "-q", "--src-tls-verify=false", &src, &img]);
    let named_s = named.to_str().unwrap();
    sync(&[], named_s, &format!("{}/flat", reg.addr()));
    assert_eq!(tags(&reg, "flat/img"), ["t2"]);
    sync(&["--scoped"], named_s, &format!("{}/sc", reg.addr()));
    assert_eq!(tags(&reg, "sc/reg.example.com/ns/img"), ["t2"]);
}

/// skopeo 1.9's verbs exit 1 for every failure, an image or repository that
/// does not exist and a bad command line alike; copy, sync and list-tags
/// short of operands print their help and exit 0. podman's `image` verbs keep
/// podman's codes.
#[test]
fn skopeos_verbs_exit_1_for_every_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let (reg, img) = registry_with_image(tmp.path());
    let at = |n: &str| format!("docker://{}/{n}", reg.addr());
    let out = format!("dir:{}", tmp.path().join("out").display());
    let zero = format!("@sha256:{}", "0".repeat(64));
    let failing: &[&[&str]] = &[
        &["inspect", "--tls-verify=false", &at("ns/img:nope")],
        &["inspect", "--tls-verify=false", &at("ns/nothere:x")],
        &[
            "inspect",
            "--tls-verify=false",
            &at(&format!("ns/img{zero}")),
        ],
        &["copy", "--src-tls-verify=false", &at("ns/img:nope"), &out],
        &["list-tags", "--tls-verify=false", &at("ns/nothere")],
        &["delete", "--tls-verify=false", &at("ns/img:nope")],
        &["copy", "--bogus", &img, &out],
        &["copy", "--multi-arch=bad", &img, &out],
        &["inspect", "--format", "{{", &img],
        &["delete"],
        &["--bogus"],
    ];
    for args in failing {
        let r = run(&[&["image"], *args].concat());
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.is_empty(), "{args:?}");
    }
    let r = run(&[
        "image",
        "sync",
        "--keep-going",
        "--src",
        "docker",
        "--dest",
        "dir",
        "--src-tls-verify=false",
        &at("ns/nothere"),
        tmp.path().join("sync").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for verb in ["copy", "sync", "list-tags"] {
        let r = run(&["image", verb]);
        assert_eq!(r.code, 0, "{verb}: {}", r.stderr);
        assert!(r.stdout.contains("Usage:"), "{verb}: {}", r.stdout);
    }
    // podman's verbs under `image`: a bad flag is 125, an unknown image to
    // inspect 125, to remove 1.
    assert_eq!(run(&["image", "ls", "--bogus"]).code, 125);
    assert_eq!(run(&["image", "inspect", "--bogus", "x"]).code, 125);
    let store = tempfile::tempdir().unwrap();
    let root = store.path().join("root");
    let runroot = store.path().join("run");
    let local = |args: &[&str]| {
        let dirs = [
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
        ];
        run(&[&dirs[..], args].concat()).code
    };
    assert_eq!(local(&["image", "inspect", "nothere"]), 125);
    assert_eq!(local(&["image", "rm", "nothere"]), 1);
}

/// Every path below `root`, `root` itself left out.
fn tree(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        out.push(e.path());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(tree(&e.path()));
        }
    }
    out
}

fn hidden(p: &std::path::Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// A copy interrupted by SIGINT or SIGTERM while it writes a blob leaves
/// nothing behind: no staging directory beside an archive, no partial blob in
/// a dir: or oci: destination; and the process ends by the signal.
#[test]
fn an_interrupted_copy_leaves_nothing_behind() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start().unwrap();
    let layer = {
        let mut b = tar::Builder::new(Vec::new());
        fixtures::file(&mut b, "noise", &fixtures::noise(2_000_000, 3), 0o644);
        b.into_inner().unwrap()
    };
    let fx = fixtures::layered(&tmp.path().join("s"), &[layer]).unwrap();
    let at = |r: &str| format!("docker://{r}/slow/img:1");
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &oci(&fx),
        &at(reg.addr()),
    ]);
    // Blobs come 1 KiB at a time: the copy is still writing one when signalled.
    let proxy = HostileProxy::start(reg.addr(), Fault::Trickle).unwrap();
    let cases = [
        ("oci-archive", "out.tar", libc::SIGINT),
        ("docker-archive", "out.tar", libc::SIGTERM),
        ("dir", "out", libc::SIGINT),
        ("oci", "out:1", libc::SIGTERM),
    ];
    for (transport, name, sig) in cases {
        let dir = tmp.path().join(transport);
        std::fs::create_dir(&dir).unwrap();
        let dest = format!("{transport}:{}/{name}", dir.display());
        let mut child = berth()
            .args([
                "image",
                "copy",
                "-q",
                "--src-tls-verify=false",
                &at(proxy.addr()),
                &dest,
            ])
            .spawn()
            .unwrap();
        let writing = || {
            let t = tree(&dir);
            t.iter().any(|p| p.to_string_lossy().contains(".tmp-blob-"))
        };
        wait_for("a blob being written", writing);
        let status = std::process::Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig), "{transport}: {status:?}");
        let left: Vec<_> = tree(&dir).into_iter().filter(|p| hidden(p)).collect();
        assert!(left.is_empty(), "{transport}: left behind {left:?}");
        if transport.ends_with("archive") {
            assert!(tree(&dir).is_empty(), "{transport}: {:?}", tree(&dir));
        }
    }
}

/// A copy to a docker-archive that already holds something is refused, the
/// file left as it was, as skopeo refuses it; an empty file may be written.
/// A docker-archive's image is named by a tag, never a digest.
#[test]
fn docker_archives_are_never_overwritten_nor_named_by_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("small")).unwrap();
    let tar = tmp.path().join("x.tar");
    std::fs::write(&tar, b"precious").unwrap();
    let dest = format!("docker-archive:{}:a/b:1", tar.display());
    let r = run(&["image", "copy", "-q", &oci(&fx), &dest]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("docker-archive doesn't support modifying existing images"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&tar).unwrap(), b"precious");
    let plain = format!("docker-archive:{}", tar.display());
    let r = run(&[
        "image",
        "copy",
        "-q",
        "--additional-tag",
        "c/d:2",
        &oci(&fx),
        &plain,
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(std::fs::read(&tar).unwrap(), b"precious");
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 2, "staging left: {names:?}");
    // An empty file is written.
    std::fs::write(&tar, b"").unwrap();
    ok(&["image", "copy", "-q", &oci(&fx), &dest]);
    assert!(std::fs::metadata(&tar).unwrap().len() > 0);
    let digest = format!("sha256:{}", "0".repeat(64));
    let to = |r: &str| format!("docker-archive:{}:{r}", tmp.path().join("y.tar").display());
    for (name, said) in [
        (format!("foo@{digest}"), "reference does not include a tag"),
        (
            format!("foo:1@{digest}"),
            "docker-archive doesn't support digest references",
        ),
    ] {
        let r = run(&["image", "copy", "-q", &oci(&fx), &to(&name)]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(said), "{name}: {}", r.stderr);
        assert!(!tmp.path().join("y.tar").exists());
    }
}

/// Relays every connection to `127.0.0.1:port` to `upstream`, from a
/// listener bound now; ends with the test process.
fn relay(port: u16, upstream: String) {
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let Ok(up) = std::net::TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c2, mut up2) = (c.try_clone().unwrap(), up.try_clone().unwrap());
            let (mut c, mut up) = (c, up);
            std::thread::spawn(move || std::io::copy(&mut c, &mut up2));
            std::thread::spawn(move || std::io::copy(&mut up, &mut c2));
        }
    });
}

/// --retry-times retries a registry that is not reachable yet, as skopeo
/// does, saying so: an inspect started before its registry answers succeeds
/// once it does.
#[test]
fn retry_times_waits_for_a_registry_that_comes_up() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let (reg, _) = registry_with_image(tmp.path());
    // A port nothing listens on, until the relay does.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let img = format!("docker://127.0.0.1:{port}/ns/img:t1");
    let mut child = berth()
        .args([
            "image",
            "inspect",
            "--retry-times",
            "10",
            "--tls-verify=false",
            &img,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("retrying"), "{line}");
    relay(port, reg.addr().to_string());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{line}");
    let v = json(&String::from_utf8_lossy(&out.stdout));
    assert!(v["Digest"].as_str().unwrap().starts_with("sha256:"));
}

/// `login REGISTRY` without a username, when the auth file's credentials for
/// it still work, says so and succeeds, as skopeo and podman do; when they do
/// not, it says that and asks.
#[test]
fn login_with_working_stored_credentials_is_already_logged_in() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start_with_auth("u", "p").unwrap();
    let af = tmp.path().join("auth.json");
    let af = af.to_str().unwrap();
    let flags = ["--tls-verify=false", "--authfile", af];
    ok(&[&["login", "-u", "u", "-p", "p"][..], &flags, &[reg.addr()]].concat());
    let said = format!(
        "Existing credentials are valid. Already logged in to {}",
        reg.addr()
    );
    for verb in [&["login"][..], &["image", "login"]] {
        let r = ok(&[verb, &flags, &[reg.addr()]].concat());
        assert!(r.stdout.contains(&said), "{verb:?}: {}", r.stdout);
    }
    // Credentials that no longer work: asked for again (no terminal: fails).
    let bad = tmp.path().join("bad.json");
    let auth = format!(r#"{{"auths":{{"{}":{{"auth":"dTpiYWQ="}}}}}}"#, reg.addr());
    std::fs::write(&bad, auth).unwrap();
    let bad = bad.to_str().unwrap();
    let r = run(&["login", "--tls-verify=false", "--authfile", bad, reg.addr()]);
    assert_ne!(r.code, 0);
    assert!(
        r.stdout.contains("Existing credentials are invalid"),
        "{}",
        r.stdout
    );
}
