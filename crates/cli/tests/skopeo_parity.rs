//! `berth image` as a drop-in for skopeo 1.9 where a black-box sweep found it
//! apart: boolean flag values, the modes of the files a copy writes, sync's
//! repository names, exit codes, interrupted copies and docker-archive
//! destinations.

mod common;
mod support;

use common::*;
use support::fixtures;
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
