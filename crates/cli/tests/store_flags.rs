//! The flags of podman's image commands, each checked by what it changes:
//! pull's tag, platform, credential and retry flags; push's compression, format
//! and digest file; the listing flags of images, history and rmi; save's
//! formats; storage.conf, additional image stores and `system check --repair`.

mod common;
mod support;

use std::path::{Path, PathBuf};

use common::*;
use support::fixtures;
use support::proxy::{Fault, HostileProxy};
use support::registry::Registry;

const NO_TLS: &str = "--tls-verify=false";

/// A store of its own (vfs), by flags.
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn cmd(&self) -> std::process::Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", "vfs"]);
        c
    }

    fn run(&self, rest: &[&str]) -> Run {
        run_cmd(self.cmd().args(rest))
    }

    fn ok(&self, rest: &[&str]) -> Run {
        let r = self.run(rest);
        assert_eq!(r.code, 0, "berth {rest:?}: {}", r.stderr);
        r
    }

    fn import(&self, change: &str, name: &str) -> String {
        let tarball = self.dir.path().join("rootfs.tar");
        if !tarball.exists() {
            std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
        }
        let mut args = vec![
            "import",
            "-q",
            "--change",
            change,
            tarball.to_str().unwrap(),
        ];
        if !name.is_empty() {
            args.push(name);
        }
        self.ok(&args)
            .stdout
            .trim()
            .trim_start_matches("sha256:")
            .to_string()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af"]);
    }
}

fn push_fixture(fx: &fixtures::Fixture, dst: &str, all: bool) {
    let src = format!("oci:{}:{}", fx.layout.display(), fx.tag);
    let mut args = vec!["image", "copy", "-q", "--dest-tls-verify=false"];
    if all {
        args.push("--all");
    }
    args.extend([src.as_str(), dst]);
    ok(&args);
}

fn arch_of(st: &Store, name: &str) -> String {
    let v = json(&st.ok(&["image", "inspect", name]).stdout);
    v[0]["Architecture"].as_str().unwrap_or("").to_string()
}

#[test]
fn pull_tags_platforms_credentials_and_retries() {
    let reg = Registry::start().expect("registry");
    let tmp = tempfile::tempdir().unwrap();
    let small = fixtures::small(&tmp.path().join("s")).unwrap();
    let ma = fixtures::multi_arch(&tmp.path().join("ma")).unwrap();
    for tag in ["1", "2"] {
        push_fixture(
            &small,
            &format!("docker://{}/lib/bb:{tag}", reg.addr()),
            false,
        );
    }
    push_fixture(&ma, &format!("docker://{}/lib/ma:1", reg.addr()), true);

    let st = Store::new();
    st.ok(&[
        "pull",
        "-q",
        "--all-tags",
        NO_TLS,
        &format!("{}/lib/bb", reg.addr()),
    ]);
    let names = st
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .stdout;
    for tag in ["1", "2"] {
        assert!(
            names.contains(&format!("{}/lib/bb:{tag}", reg.addr())),
            "{names}"
        );
    }
    let ma_name = format!("{}/lib/ma:1", reg.addr());
    st.ok(&["pull", "-q", "--platform", "linux/arm64", NO_TLS, &ma_name]);
    assert_eq!(arch_of(&st, &ma_name), "arm64");
    st.ok(&[
        "pull",
        "-q",
        "--arch",
        "arm",
        "--variant",
        "v7",
        NO_TLS,
        &ma_name,
    ]);
    assert_eq!(arch_of(&st, &ma_name), "arm");
    st.ok(&[
        "pull", "-q", "--os", "linux", "--arch", "amd64", NO_TLS, &ma_name,
    ]);
    assert_eq!(arch_of(&st, &ma_name), "amd64");
    let r = st.run(&["pull", "-q", "--os", "windows", NO_TLS, &ma_name]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("windows"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);

    // Credentials: --creds, then --authfile.
    let auth = Registry::start_with_auth("u", "p").expect("registry");
    let locked = format!("{}/lock/bb:1", auth.addr());
    ok(&[
        "image",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-creds",
        "u:p",
        &format!("oci:{}:{}", small.layout.display(), small.tag),
        &format!("docker://{locked}"),
    ]);
    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let r = st.run(&[
        "pull",
        "-q",
        "--authfile",
        empty.to_str().unwrap(),
        NO_TLS,
        &locked,
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&[
        "pull",
        "-q",
        "--authfile",
        empty.to_str().unwrap(),
        "--creds",
        "u:p",
        NO_TLS,
        &locked,
    ]);
    let af = tmp.path().join("auth.json");
    std::fs::write(
        &af,
        format!(r#"{{"auths":{{"{}":{{"auth":"dTpw"}}}}}}"#, auth.addr()),
    )
    .unwrap();
    st.ok(&["rmi", &locked]);
    st.ok(&[
        "pull",
        "-q",
        "--authfile",
        af.to_str().unwrap(),
        NO_TLS,
        &locked,
    ]);

    // --retry: refusals are ridden out with enough retries, not with none.
    // Fresh stores, so that every blob has to be fetched.
    let st = Store::new();
    let proxy = HostileProxy::start(reg.addr(), Fault::Unavailable(3)).expect("proxy");
    let flaky = format!("{}/lib/bb:1", proxy.addr());
    let r = st.run(&["pull", "-q", "--retry", "0", NO_TLS, &flaky]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    let st = Store::new();
    let proxy = HostileProxy::start(reg.addr(), Fault::Unavailable(3)).expect("proxy");
    let flaky = format!("{}/lib/bb:1", proxy.addr());
    st.ok(&["pull", "-q", "--retry", "4", NO_TLS, &flaky]);
    let gets = proxy
        .seen()
        .iter()
        .filter(|s| s.line.starts_with("GET ") && s.line.contains("/blobs/"))
        .count();
    assert!(
        gets >= 2 + 3,
        "the blobs, and the three refused tries: {gets}"
    );
}

#[test]
fn push_compression_format_and_digestfile() {
    let reg = Registry::start().expect("registry");
    let st = Store::new();
    st.import("ENV A=1", "localhost/pushme:1");
    let digestfile = st.dir.path().join("digest");
    let dst = format!("docker://{}/p/z:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        NO_TLS,
        "--compression-format",
        "zstd",
        "--format",
        "oci",
        "--digestfile",
        digestfile.to_str().unwrap(),
        "localhost/pushme:1",
        &dst,
    ]);
    let raw = json(&skopeo(&["inspect", "--raw", NO_TLS, &dst]).stdout);
    assert_eq!(
        raw["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        raw["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let s = json(&skopeo(&["inspect", NO_TLS, &dst]).stdout);
    assert_eq!(
        std::fs::read_to_string(&digestfile).unwrap().trim(),
        s["Digest"]
    );
    let v2 = format!("docker://{}/p/v2:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        NO_TLS,
        "--format",
        "v2s2",
        "localhost/pushme:1",
        &v2,
    ]);
    let raw = json(&skopeo(&["inspect", "--raw", NO_TLS, &v2]).stdout);
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    // The same diff IDs whichever way it went.
    let a = json(&skopeo(&["inspect", "--config", NO_TLS, &dst]).stdout);
    let b = json(&skopeo(&["inspect", "--config", NO_TLS, &v2]).stdout);
    assert_eq!(a["rootfs"], b["rootfs"]);
    // A digest file that cannot be written: podman's 125, the file named.
    let unwritable = st.dir.path().join("no/such/dir/digest");
    let r = st.run(&[
        "push",
        "-q",
        NO_TLS,
        "--digestfile",
        unwritable.to_str().unwrap(),
        "localhost/pushme:1",
        &v2,
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let told = format!("{}: No such file or directory", unwritable.display());
    assert!(r.stderr.contains(&told), "{}", r.stderr);
}

#[test]
fn listing_flags_of_images_history_untag_and_rmi() {
    let st = Store::new();
    let a = st.import("ENV W=a", "localhost/alpha:1");
    let b = st.import("ENV W=b", "localhost/beta:1");
    st.ok(&["tag", "localhost/beta:1", "localhost/beta:2"]);

    let t = st.ok(&["images", "--digests"]).stdout;
    let head = t.lines().next().unwrap();
    assert!(head.contains("DIGEST"), "{t}");
    assert!(t.lines().skip(1).all(|l| l.contains("sha256:")), "{t}");
    let ids = st.ok(&["images", "-q", "--no-trunc"]).stdout;
    assert!(
        ids.contains(&format!("sha256:{a}")) && ids.contains(&format!("sha256:{b}")),
        "{ids}"
    );
    let repos = st
        .ok(&[
            "images",
            "--sort",
            "repository",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .stdout;
    let repos: Vec<&str> = repos.lines().collect();
    assert_eq!(repos[0], "localhost/alpha:1", "{repos:?}");
    assert!(repos[1].starts_with("localhost/beta:"), "{repos:?}");
    let only = st
        .ok(&["images", "-q", "--filter", "reference=localhost/alph*"])
        .stdout;
    assert_eq!(only.trim(), &a[..12]);
    let by_id = st
        .ok(&["images", "-q", "--filter", &format!("id={}", &b[..8])])
        .stdout;
    assert_eq!(by_id.trim(), &b[..12]);

    let h = st
        .ok(&["history", "--no-trunc", "localhost/alpha:1"])
        .stdout;
    assert!(h.contains(&format!("sha256:{a}")) || h.contains(&a), "{h}");
    let h = st
        .ok(&[
            "history",
            "--human=false",
            "--format",
            "{{.Created}}",
            "localhost/alpha:1",
        ])
        .stdout;
    assert!(h.trim().contains('T'), "RFC 3339 time expected: {h}");
    let h = st
        .ok(&["history", "--format", "{{.Created}}", "localhost/alpha:1"])
        .stdout;
    assert!(h.contains("ago"), "a time for humans expected: {h}");

    st.ok(&["untag", "localhost/beta:1", "localhost/beta:2"]);
    let v = json(&st.ok(&["image", "inspect", &b]).stdout);
    assert_eq!(v[0]["RepoTags"], serde_json::json!(["localhost/beta:1"]));
    st.ok(&["untag", "localhost/beta:1"]);
    let v = json(&st.ok(&["image", "inspect", &b]).stdout);
    assert_eq!(v[0]["RepoTags"], serde_json::json!([]));

    // rmi -f takes the containers using the image with it; rmi -a takes the rest.
    st.ok(&["create", "--name", "user", "localhost/alpha:1", "true"]);
    let r = st.run(&["rmi", "localhost/alpha:1"]);
    assert_ne!(r.code, 0, "an image in use is kept without -f");
    st.ok(&["rmi", "-f", "localhost/alpha:1"]);
    assert_eq!(st.run(&["container", "exists", "user"]).code, 1);
    st.ok(&["rmi", "-a"]);
    assert_eq!(st.ok(&["images", "-a", "-q"]).stdout, "");
}

#[test]
fn save_in_every_format_is_read_back() {
    let st = Store::new();
    st.import("ENV W=saved", "localhost/saved:1");
    let tmp = tempfile::tempdir().unwrap();
    for (format, transport) in [
        ("oci-archive", "oci-archive"),
        ("oci-dir", "oci"),
        ("docker-archive", "docker-archive"),
        ("docker-dir", "dir"),
    ] {
        let out = tmp.path().join(format);
        st.ok(&[
            "save",
            "-q",
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
            "localhost/saved:1",
        ]);
        let s = json(
            &skopeo(&[
                "inspect",
                "--config",
                &format!("{transport}:{}", out.display()),
            ])
            .stdout,
        );
        assert_eq!(s["config"]["Env"][0], "W=saved", "{format}");
    }
    assert!(tmp.path().join("oci-dir/index.json").is_file());
    assert!(tmp.path().join("docker-dir/manifest.json").is_file());
}

/// Every path under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                todo.push(e.path());
            }
            out.push((e.path(), m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn storage_conf_additional_stores_and_check_repair() {
    // A shared, read-only image store made by another store.
    let shared = Store::new();
    let shared_id = shared.import("ENV W=shared", "localhost/shared:1");
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("storage.conf");
    std::fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n\
             [storage.options]\nadditionalimagestores = [\"{}\"]\n",
            tmp.path().join("graph").display(),
            tmp.path().join("run").display(),
            shared.root().display()
        ),
    )
    .unwrap();
    let user = |args: &[&str]| run_cmd(berth().env("BERTH_STORAGE_CONF", &conf).args(args));
    let before = snapshot(&shared.root());

    let v = json(&user(&["images", "--format", "json"]).stdout);
    let row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Id"] == shared_id.as_str())
        .unwrap_or_else(|| panic!("the shared image is not listed: {v}"));
    assert_eq!(row["ReadOnly"], true);
    let r = user(&["run", "--rm", "localhost/shared:1", "sh", "-c", "echo $W"]);
    assert_eq!((r.code, r.stdout.trim()), (0, "shared"), "{}", r.stderr);
    let r = user(&["tag", "localhost/shared:1", "localhost/mine:1"]);
    assert_ne!(r.code, 0, "tagging in a read-only store must fail");
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    let r = user(&["rmi", "-a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(user(&["image", "exists", "localhost/shared:1"]).code, 0);
    assert!(
        tmp.path().join("graph").is_dir(),
        "graphroot from storage.conf"
    );
    let r = user(&["system", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        snapshot(&shared.root()),
        before,
        "the shared store was written to"
    );

    // system check finds a damaged layer; --repair removes the image with it.
    let own = Store::new();
    own.import("ENV W=own", "localhost/own:1");
    let vfs = own.root().join("vfs");
    let layer = std::fs::read_dir(&vfs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(layer.join("diff/etc/passwd"), "tampered\n").unwrap();
    let r = own.run(&["system", "check"]);
    assert_eq!(r.code, 125, "{}", r.stdout);
    assert!(
        r.stdout
            .contains(layer.file_name().unwrap().to_str().unwrap()),
        "{}",
        r.stdout
    );
    let r = own.ok(&["system", "check", "--repair"]);
    assert!(
        r.stdout.contains("Repaired: image") && r.stdout.contains("removed"),
        "{}",
        r.stdout
    );
    assert_eq!(own.run(&["image", "exists", "localhost/own:1"]).code, 1);
    own.ok(&["system", "check"]);
}
