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
    // An ID naming an image with two names needs -f, as podman has it.
    let r = st.run(&["rmi", &id]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("multiple repositories"), "{}", r.stderr);
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
    let df = json(&st.ok(&["system", "df", "--format", "json"]).stdout);
    assert_eq!(df[0]["Type"], "Images");
    assert_eq!(df[0]["Total"], 1);
    assert!(df[0]["RawSize"].as_u64().unwrap() > 1_000_000, "{df}");
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

#[test]
fn import_history_and_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Store::new();
    let tarball = tmp.path().join("rootfs.tar");
    std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
    let out = st.ok(&[
        "import",
        "-q",
        "--change",
        "CMD [\"/bin/sh\",\"-c\",\"echo hi\"]",
        "--change",
        "ENV A=b",
        "--change",
        "LABEL x=y",
        "--message",
        "from a tarball",
        tarball.to_str().unwrap(),
        "localhost/imported:1",
    ]);
    assert!(out.stdout.trim().starts_with("sha256:"), "{}", out.stdout);
    let v = json(&st.ok(&["image", "inspect", "localhost/imported:1"]).stdout);
    assert_eq!(
        v[0]["Config"]["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "echo hi"])
    );
    assert_eq!(v[0]["Config"]["Env"], serde_json::json!(["A=b"]));
    assert_eq!(v[0]["Config"]["Labels"]["x"], "y");
    let diff = v[0]["RootFS"]["Layers"][0].as_str().unwrap().to_string();
    let want = format!("sha256:{}", berth_image_sha(&fixtures::busybox_layer()));
    assert_eq!(diff, want, "the diff ID is the tarball's sha256");
    let h = st.ok(&["history", "localhost/imported:1"]).stdout;
    assert!(h.starts_with("ID") && h.contains("from a tarball"), "{h}");
    // A URL on loopback works too; an untagged import is dangling and pruned.
    let base = berth_testkit::files::serve(vec![("/rootfs.tar", fixtures::busybox_layer())])
        .expect("a file server");
    st.ok(&["import", "-q", &format!("{base}/rootfs.tar")]);
    let missing = format!("{base}/gone.tar");
    let r = st.run(&["import", "-q", &missing]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr.trim(), format!("Error: {missing}: 404 Not Found"));
    let r = st.run(&["import", "-q", "/nonexistent/rootfs.tar"]);
    assert_eq!(r.code, 125);
    let ids = st.ok(&["images", "-q"]).stdout;
    assert_eq!(ids.lines().count(), 2, "{ids}");
    let dangling = st.ok(&["images", "-q", "--filter", "dangling=true"]).stdout;
    assert_eq!(dangling.lines().count(), 1, "{dangling}");
    std::fs::write(tmp.path().join("junk"), b"not a tar at all, clearly").unwrap();
    let r = st.run(&["import", tmp.path().join("junk").to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // prune takes the dangling image only; -a the rest.
    st.ok(&["image", "prune", "-f"]);
    assert_eq!(st.ok(&["images", "-q"]).stdout.lines().count(), 1);
    assert_eq!(st.run(&["image", "exists", "localhost/imported:1"]).code, 0);
    st.ok(&["image", "prune", "-f", "-a"]);
    assert_eq!(st.ok(&["images", "-q"]).stdout.trim(), "");
}

fn berth_image_sha(data: &[u8]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn pull_policy_newer_compares_digests_with_the_registry() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let fx = fixtures::small(&tmp.path().join("s")).unwrap();
    let name = format!("{}/newer/busybox:1", reg.addr());
    let src = format!("oci:{}:latest", fx.layout.display());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{name}"),
    ]);
    let st = Store::new();
    st.ok(&["pull", "-q", "--tls-verify=false", &name]);
    // Same digest on the registry: nothing is fetched.
    let r = st.ok(&["pull", "--policy", "newer", "--tls-verify=false", &name]);
    assert!(
        r.stderr.contains("is up to date, not pulling"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Trying to pull"), "{}", r.stderr);
    // The tag now names another manifest (zstd layers): it is pulled.
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd",
        &src,
        &format!("docker://{name}"),
    ]);
    let remote = ok(&[
        "image",
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        &format!("docker://{name}"),
    ]);
    let r = st.ok(&["pull", "--policy", "newer", "--tls-verify=false", &name]);
    assert!(r.stderr.contains("Trying to pull"), "{}", r.stderr);
    let inspect = json(&st.ok(&["image", "inspect", &name]).stdout);
    assert_eq!(inspect[0]["Digest"], remote.stdout.trim());
    // With the registry gone, the local image stands.
    drop(reg);
    let r = st.ok(&["pull", "--policy", "newer", "--tls-verify=false", &name]);
    assert!(r.stderr.contains("using the local one"), "{}", r.stderr);
}

#[test]
fn save_m_writes_several_images_and_extra_names_become_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Store::new();
    let tarball = tmp.path().join("rootfs.tar");
    std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
    // Two images sharing their one layer, told apart by their configs.
    st.ok(&[
        "import",
        "-q",
        "--change",
        "ENV WHO=one",
        tarball.to_str().unwrap(),
        "localhost/one:1",
    ]);
    st.ok(&[
        "import",
        "-q",
        "--change",
        "ENV WHO=two",
        tarball.to_str().unwrap(),
        "localhost/two:1",
    ]);
    let multi = tmp.path().join("multi.tar");
    st.ok(&[
        "save",
        "-q",
        "-m",
        "-o",
        multi.to_str().unwrap(),
        "localhost/one:1",
        "localhost/two:1",
    ]);
    let list = tar_member(&multi, "manifest.json");
    let entries = json(&list);
    let tags: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["RepoTags"][0].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["localhost/one:1", "localhost/two:1"]);
    assert_eq!(
        entries[0]["Layers"], entries[1]["Layers"],
        "the shared layer is stored once"
    );
    // Each image comes back out of the archive by index.
    for (i, who) in [(0, "WHO=one"), (1, "WHO=two")] {
        let out = tmp.path().join(format!("img{i}"));
        ok(&[
            "image",
            "copy",
            "-q",
            &format!("docker-archive:{}:@{i}", multi.display()),
            &format!("oci:{}:x", out.display()),
        ]);
        let cfg = oci_config(&out, "x");
        assert_eq!(cfg["config"]["Env"][0], who);
    }
    // Without -m, further names are more tags of the first image.
    let one = tmp.path().join("one.tar");
    st.ok(&[
        "save",
        "-q",
        "-o",
        one.to_str().unwrap(),
        "localhost/one:1",
        "localhost/one:extra",
    ]);
    let entries = json(&tar_member(&one, "manifest.json"));
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(
        entries[0]["RepoTags"],
        serde_json::json!(["localhost/one:1", "localhost/one:extra"])
    );
    // load takes every image of a multi-image archive, and every name.
    let back = Store::new();
    let r = back.ok(&["load", "-q", "-i", multi.to_str().unwrap()]);
    assert_eq!(
        r.stdout,
        "Loaded image: localhost/one:1\nLoaded image: localhost/two:1\n"
    );
    let r = back.ok(&["load", "-q", "-i", one.to_str().unwrap()]);
    assert!(r.stdout.contains("localhost/one:extra"), "{}", r.stdout);
    for (name, who) in [
        ("localhost/one:1", "WHO=one"),
        ("localhost/two:1", "WHO=two"),
        ("localhost/one:extra", "WHO=one"),
    ] {
        let v = json(&back.ok(&["image", "inspect", name]).stdout);
        assert_eq!(v[0]["Config"]["Env"][0], who, "{name}");
    }
    // An OCI archive comes back under its name too.
    let oa = tmp.path().join("one-oci.tar");
    st.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "-o",
        oa.to_str().unwrap(),
        "localhost/two:1",
    ]);
    let third = Store::new();
    let r = third.ok(&["load", "-i", oa.to_str().unwrap()]);
    assert!(r.stdout.contains("Loaded image: "), "{}", r.stdout);
    let v = json(
        &third
            .ok(&[
                "image",
                "inspect",
                r.stdout.trim().trim_start_matches("Loaded image: "),
            ])
            .stdout,
    );
    assert_eq!(v[0]["Config"]["Env"][0], "WHO=two");
    // Not an archive: one line, nothing stored.
    std::fs::write(tmp.path().join("junk.tar"), b"junk").unwrap();
    let r = third.run(&["load", "-i", tmp.path().join("junk.tar").to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert_eq!(third.ok(&["images", "-q"]).stdout.lines().count(), 1);
    let r = st.run(&[
        "save",
        "-m",
        "--format",
        "oci-archive",
        "-o",
        one.to_str().unwrap(),
        "localhost/one:1",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

fn tar_member(archive: &std::path::Path, name: &str) -> String {
    let out = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn oci_config(layout: &std::path::Path, tag: &str) -> serde_json::Value {
    let m = oci_manifest(layout, tag);
    let cfg = m["config"]["digest"].as_str().unwrap();
    json(&std::fs::read_to_string(layout.join("blobs/sha256").join(&cfg[7..])).unwrap())
}

#[test]
fn images_filters_by_label_digest_and_age() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Store::new();
    let tarball = tmp.path().join("rootfs.tar");
    std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
    st.ok(&[
        "import",
        "-q",
        "--change",
        "LABEL tier=web",
        tarball.to_str().unwrap(),
        "localhost/web:1",
    ]);
    st.ok(&[
        "import",
        "-q",
        "--change",
        "LABEL tier=db",
        tarball.to_str().unwrap(),
        "localhost/db:1",
    ]);
    let names = |filter: &str| {
        let mut v: Vec<String> = st
            .ok(&["images", "--filter", filter, "--format", "{{.Repository}}"])
            .stdout
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("label=tier=web"), ["localhost/web"]);
    assert_eq!(names("label=tier"), ["localhost/db", "localhost/web"]);
    assert!(names("label=nope").is_empty());
    let digest = json(&st.ok(&["image", "inspect", "localhost/db:1"]).stdout)[0]["Digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(names(&format!("digest={digest}")), ["localhost/db"]);
    assert_eq!(names("readonly=false").len(), 2);
    // An image is never before or since itself.
    assert!(!names("since=localhost/web:1").contains(&"localhost/web".to_string()));
    assert!(!names("before=localhost/db:1").contains(&"localhost/db".to_string()));
    let r = st.run(&["images", "--filter", "before=localhost/nothing:1"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("image localhost/nothing:1 not known"),
        "{}",
        r.stderr
    );
}

#[test]
fn images_hides_intermediates_and_prune_takes_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let st = Store::new();
    let tarball = tmp.path().join("rootfs.tar");
    std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
    // An image, and an image committed from a container of it; once the first
    // loses its name it is intermediate: neither listed without -a nor dangling.
    let base = st
        .ok(&[
            "import",
            "-q",
            tarball.to_str().unwrap(),
            "localhost/base:1",
        ])
        .stdout
        .trim()
        .trim_start_matches("sha256:")
        .to_string();
    st.ok(&["create", "--name", "c", "localhost/base:1", "true"]);
    st.ok(&["commit", "-q", "c", "localhost/child:1"]);
    st.ok(&["rm", "c"]);
    st.ok(&["untag", "localhost/base:1"]);
    let listed = st.ok(&["images", "-q", "--no-trunc"]).stdout;
    assert!(!listed.contains(&base), "intermediate listed: {listed}");
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let listed = st.ok(&["images", "-a", "-q", "--no-trunc"]).stdout;
    assert!(listed.contains(&base), "-a must list it: {listed}");
    let dangling = st
        .ok(&["images", "-a", "-q", "--filter", "dangling=true"])
        .stdout;
    assert_eq!(dangling, "", "an image with children is not dangling");

    // Two dangling images told apart by a label.
    for tier in ["a", "b"] {
        st.ok(&[
            "import",
            "-q",
            "--change",
            &format!("LABEL tier={tier}"),
            "--message",
            &format!("tier {tier}"),
            tarball.to_str().unwrap(),
        ]);
    }
    let count = || st.ok(&["images", "-a", "-q"]).stdout.lines().count();
    assert_eq!(count(), 4);
    // Made just now: none is older than an hour.
    st.ok(&["image", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(count(), 4);
    st.ok(&["image", "prune", "-f", "--filter", "label=tier=a"]);
    assert_eq!(count(), 3);
    let left = st.ok(&["images", "-q", "--filter", "label=tier=b"]).stdout;
    assert_eq!(left.lines().count(), 1, "{left}");
    st.ok(&["image", "prune", "-f", "--filter", "label!=tier=b"]);
    assert_eq!(count(), 3, "label!= keeps the labelled one");
    let r = st.run(&["image", "prune", "-f", "--filter", "colour=red"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("colour"), "{}", r.stderr);
    // A Unix time a minute from now: everything was made before it.
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    st.ok(&["image", "prune", "-f", "--filter", &format!("until={soon}")]);
    // What is left: the child and its intermediate parent, which prune (dangling
    // images only) does not take.
    assert_eq!(count(), 2);
    assert_eq!(st.run(&["image", "exists", "localhost/child:1"]).code, 0);
}

/// `search` lists what a registry holds (its catalog), filtered by the
/// term, and `--list-tags` a repository's tags, as podman's search does.
#[test]
fn search_lists_a_registrys_repositories_and_tags() {
    let reg = Registry::start().expect("registry");
    let st = common::store::TestStore::with_busybox();
    let no_tls = "--tls-verify=false";
    for name in ["lib/bb:1", "lib/bb:2", "other/tool:1"] {
        st.ok(&[
            "push",
            "-q",
            no_tls,
            "localhost/bb:1",
            &format!("{}/{name}", reg.addr()),
        ]);
    }
    let all = st
        .ok(&["search", no_tls, &format!("{}/", reg.addr())])
        .stdout;
    let names: Vec<&str> = all
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("{}/lib/bb", reg.addr()),
            format!("{}/other/tool", reg.addr())
        ],
        "{all}"
    );
    assert!(all.starts_with("NAME"), "{all}");
    let r = st.ok(&[
        "search",
        no_tls,
        "--format",
        "{{.Name}}",
        &format!("{}/tool", reg.addr()),
    ]);
    assert_eq!(r.stdout, format!("{}/other/tool\n", reg.addr()));
    let r = st.ok(&[
        "search",
        no_tls,
        "--limit",
        "1",
        "--format",
        "{{.Name}}",
        &format!("{}/", reg.addr()),
    ]);
    assert_eq!(r.stdout.lines().count(), 1);
    // --filter: a catalog has no stars and nothing official; a filter podman
    // does not know is refused.
    let filtered = |f: &str| {
        st.run(&[
            "search",
            no_tls,
            "--filter",
            f,
            "--format",
            "{{.Name}}",
            &format!("{}/tool", reg.addr()),
        ])
    };
    assert_eq!(filtered("is-official=false").stdout.lines().count(), 1);
    assert_eq!(filtered("stars=1").stdout, "");
    let r = filtered("size=1");
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: invalid filter \"size=1\"\n");
    let tags = st.ok(&[
        "search",
        no_tls,
        "--list-tags",
        "--format",
        "{{.Tag}}",
        &format!("{}/lib/bb", reg.addr()),
    ]);
    let mut tags: Vec<&str> = tags.stdout.lines().collect();
    tags.sort();
    assert_eq!(tags, ["1", "2"]);
    let json = common::json(
        &st.ok(&[
            "search",
            no_tls,
            "--format",
            "json",
            &format!("{}/bb", reg.addr()),
        ])
        .stdout,
    );
    assert_eq!(json[0]["Index"], reg.addr());
    let r = st.run(&[
        "search",
        no_tls,
        "--filter",
        "colour=blue",
        &format!("{}/", reg.addr()),
    ]);
    assert_eq!(r.code, 125);
}
