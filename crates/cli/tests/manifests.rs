//! `manifest`: lists made from local and registry images, pushed to Debian's
//! docker-registry on 127.0.0.1 and read back by platform.

mod common;
mod support;

use common::store::TestStore;
use support::fixtures;

#[test]
fn a_list_made_here_is_pushed_and_each_platform_pulled_back() {
    let reg = support::registry::Registry::start().expect("registry");
    let st = TestStore::with_busybox();
    let fx = fixtures::multi_arch(&st.path().join("ma")).unwrap();
    let multi = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let id = st
        .ok(&["manifest", "create", "mylist"])
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(st.run(&["manifest", "exists", "mylist"]).code, 0);
    // The host's image of an index, then a local image as another platform.
    st.ok(&["manifest", "add", "mylist", &multi]);
    st.ok(&[
        "manifest",
        "add",
        "--arch",
        "s390x",
        "--annotation",
        "made=here",
        "mylist",
        "localhost/bb:1",
    ]);
    let index = common::json(&st.ok(&["manifest", "inspect", "mylist"]).stdout);
    let entries = index["manifests"].as_array().unwrap().clone();
    let arches: Vec<&str> = entries
        .iter()
        .map(|d| d["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "s390x"], "{index}");
    assert_eq!(entries[1]["annotations"]["made"], "here");
    // annotate changes an entry; remove takes one out; add --all takes all.
    let amd = entries[0]["digest"].as_str().unwrap().to_string();
    st.ok(&["manifest", "annotate", "--variant", "v3", "mylist", &amd]);
    let index = common::json(&st.ok(&["manifest", "inspect", "mylist"]).stdout);
    assert_eq!(index["manifests"][0]["platform"]["variant"], "v3");
    st.ok(&["manifest", "remove", "mylist", &amd]);
    st.ok(&["manifest", "add", "--all", "mylist", &multi]);
    let index = common::json(&st.ok(&["manifest", "inspect", "mylist"]).stdout);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 4, "{index}");
    // Pushed with its images; each platform's image pulls back from it.
    let dest = format!("{}/lists/mylist:1", reg.addr());
    let digestfile = st.path().join("digest");
    st.ok(&[
        "manifest",
        "push",
        "--tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        "mylist",
        &format!("docker://{dest}"),
    ]);
    let raw = st
        .ok(&[
            "image",
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{dest}"),
        ])
        .stdout;
    let pushed = common::json(&raw);
    assert_eq!(pushed["manifests"].as_array().unwrap().len(), 4, "{raw}");
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    assert!(digest.starts_with("sha256:"), "{digest}");
    // The entry chosen by platform is the image added for it (the local
    // image was added as s390x: its own config says amd64).
    for (arch, config_arch) in [("arm64", "arm64"), ("s390x", "amd64")] {
        let out = format!(
            "oci:{}:x",
            st.path().join(format!("pulled-{arch}")).display()
        );
        st.ok(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--override-arch",
            arch,
            &format!("docker://{dest}"),
            &out,
        ]);
        let config = st.ok(&["image", "inspect", "--config", &out]).stdout;
        assert_eq!(common::json(&config)["architecture"], config_arch, "{arch}");
    }
    // rmi takes a list as podman's does; then it is gone.
    let r = st.ok(&["rmi", "mylist"]);
    assert!(r.stdout.contains(&format!("Deleted: {id}")), "{}", r.stdout);
    assert_eq!(st.run(&["manifest", "exists", "mylist"]).code, 1);
    assert_eq!(st.run(&["manifest", "inspect", "mylist"]).code, 125);
    assert!(!st.path().join("root/manifests").join(&id).exists());
}

#[test]
fn bad_manifest_commands_say_what_is_wrong() {
    let st = TestStore::with_busybox();
    st.ok(&["manifest", "create", "l"]);
    // buildah's spelling reaches the same lists.
    assert_eq!(st.run(&["builder", "manifest", "exists", "l"]).code, 0);
    let r = st.run(&["manifest", "create", "l"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("localhost/l:latest: image name in use"),
        "{}",
        r.stderr
    );
    let r = st.run(&["manifest", "annotate", "--arch", "x", "l", "sha256:0000"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not in manifest list l"), "{}", r.stderr);
    let r = st.run(&["manifest", "add", "l", "oci:/nonexistent:x"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = st.run(&["manifest", "inspect", "nosuch"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("nosuch: image not known"), "{}", r.stderr);
    // A failed create with images leaves no list behind.
    let r = st.run(&["manifest", "create", "m", "oci:/nonexistent:x"]);
    assert_eq!(r.code, 125);
    assert_eq!(st.run(&["manifest", "exists", "m"]).code, 1);
}

/// `manifest push`: an unknown list is told before bad registry flags, and
/// `--rm` takes the list once it is pushed (with its digest file written).
#[test]
fn manifest_push_rm_and_which_error_first() {
    let st = TestStore::with_busybox();
    let out = format!("oci:{}:x", st.path().join("out").display());
    let r = st.run(&["manifest", "push", "--creds=:pw", "nosuch", &out]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("nosuch: image not known"), "{}", r.stderr);
    st.ok(&["manifest", "create", "l"]);
    // The flags are bad indeed: a known list meets them.
    let r = st.run(&["manifest", "push", "--creds=:pw", "l", &out]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("username must not be empty"),
        "{}",
        r.stderr
    );
    assert_eq!(st.run(&["manifest", "exists", "l"]).code, 0);
    let digestfile = st.path().join("digest");
    let pushed = st.ok(&[
        "manifest",
        "push",
        "--rm",
        "--digestfile",
        digestfile.to_str().unwrap(),
        "l",
        &out,
    ]);
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    assert_eq!(pushed.stdout.trim(), digest);
    assert_eq!(st.run(&["manifest", "exists", "l"]).code, 1);
}

/// `push` of a list's name (buildah's push takes them): the list, with
/// `--all` its images, with `--rm` the list goes once pushed.
#[test]
fn push_of_a_lists_name_pushes_the_list() {
    let reg = support::registry::Registry::start().expect("registry");
    let st = TestStore::with_busybox();
    st.ok(&["manifest", "create", "plist"]);
    st.ok(&["manifest", "add", "plist", "localhost/bb:1"]);
    let dest = format!("docker://{}/lists/plist:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "--all",
        "--rm",
        "plist",
        &dest,
    ]);
    let raw = st
        .ok(&["image", "inspect", "--raw", "--tls-verify=false", &dest])
        .stdout;
    let pushed = common::json(&raw);
    assert_eq!(pushed["manifests"].as_array().unwrap().len(), 1, "{raw}");
    assert_eq!(st.run(&["manifest", "exists", "plist"]).code, 1);
    // Neither an image nor a list.
    let r = st.run(&["push", "--tls-verify=false", "nosuch", &dest]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("nosuch"), "{}", r.stderr);
}
