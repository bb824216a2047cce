//! podman's image commands over berth's store: pull, images, tag, save/load, push,
//! rmi, system check, and `containers-storage:` as a copy transport.

mod common;
mod support;

use common::*;
use support::fixtures;
use support::registry::Registry;

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn args<'a>(&'a self, rest: &[&'a str]) -> Vec<String> {
        let mut v = vec![
            "--root".to_string(),
            self.dir.path().join("root").display().to_string(),
            "--runroot".to_string(),
            self.dir.path().join("run").display().to_string(),
            "--storage-driver".to_string(),
            "vfs".to_string(),
        ];
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    }

    fn run(&self, rest: &[&str]) -> Run {
        let a = self.args(rest);
        run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn ok(&self, rest: &[&str]) -> Run {
        let r = self.run(rest);
        assert_eq!(r.code, 0, "berth {rest:?}: {}", r.stderr);
        r
    }
}

#[test]
fn pull_tag_save_load_push_rmi() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let name = format!("{}/lib/busybox:1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:latest", fx.layout.display()),
        &format!("docker://{name}"),
    ]);
    let st = Store::new();
    let id = st
        .ok(&["pull", "-q", "--tls-verify=false", &name])
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "pull -q prints the ID: {id}");
    let table = st.ok(&["images"]).stdout;
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(
        table.contains(&id[..12]) && table.contains(&format!("{}/lib/busybox", reg.addr())),
        "{table}"
    );
    // A second pull with --policy missing does not fetch again.
    let r = st.ok(&["pull", "--policy", "missing", "--tls-verify=false", &name]);
    assert!(r.stderr.contains("not pulling"), "{}", r.stderr);
    st.ok(&["tag", &name, "localhost/mine:2"]);
    let names = st
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .stdout;
    assert!(names.lines().any(|l| l == "localhost/mine:2"), "{names}");
    assert_eq!(st.run(&["image", "exists", "localhost/mine:2"]).code, 0);
    assert_eq!(st.run(&["image", "exists", "localhost/none:1"]).code, 1);
    let inspect = json(&st.ok(&["image", "inspect", "localhost/mine:2"]).stdout);
    assert_eq!(inspect[0]["Id"], id.as_str());
    assert_eq!(inspect[0]["Digest"], fx.manifest_digest.as_str());

    // save → rmi → load brings the same image back under the saved name.
    let archive = tmp.path().join("saved.tar");
    st.ok(&[
        "save",
        "-q",
        "-o",
        archive.to_str().unwrap(),
        "localhost/mine:2",
    ]);
    st.ok(&["rmi", "-f", &id]);
    assert_eq!(st.ok(&["images", "-q"]).stdout.trim(), "");
    let r = st.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    assert!(
        r.stdout.contains("Loaded image: localhost/mine:2"),
        "{}",
        r.stdout
    );

    // Push from the store: skopeo reads it; the diff IDs are the fixture's.
    let pushed = format!("{}/lib/pushed:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "localhost/mine:2",
        &pushed,
    ]);
    let out = tmp.path().join("out");
    skopeo(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("docker://{pushed}"),
        &format!("oci:{}:p", out.display()),
    ]);
    assert_eq!(oci_diff_ids(&out, "p"), oci_diff_ids(&fx.layout, &fx.tag));

    // rmi of a name that is not there: exit 1; --ignore: 0.
    assert_eq!(st.run(&["rmi", "localhost/none:1"]).code, 1);
    st.ok(&["rmi", "--ignore", "localhost/none:1"]);
    assert!(st.ok(&["system", "check"]).stdout.contains("No problems"));
}

#[test]
fn pulled_image_is_pushed_back_with_its_digests() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let name = format!("{}/lib/app:1", reg.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:latest", fx.layout.display()),
        &format!("docker://{name}"),
    ]);
    let st = Store::new();
    st.ok(&["pull", "-q", "--tls-verify=false", &name]);
    // containers-storage: is a transport of image copy.
    let back = format!("docker://{}/lib/again:1", reg.addr());
    st.ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("containers-storage:{name}"),
        &back,
    ]);
    let s = json(&skopeo(&["inspect", "--tls-verify=false", &back]).stdout);
    assert_eq!(
        s["Digest"],
        fx.manifest_digest.as_str(),
        "push after pull keeps the manifest digest"
    );
}
