//! Every image in the store can be saved and pushed: an image whose layers were stored
//! uncompressed (`import`), pushed (gzipped on the way) and pulled back under the same
//! or another name, or a second image sharing its layer pulled the same way; and a
//! store an older berth left naming blobs it did not keep is reported by `system
//! check` and mended by `system check --repair`.

mod common;
mod support;

use std::path::Path;

use common::store::TestStore;
use common::*;
use support::registry::Registry;

const NO_TLS: &str = "--tls-verify=false";

/// A store with no image in it.
fn empty_store() -> TestStore {
    TestStore {
        dir: tempfile::tempdir().unwrap(),
    }
}

/// `localhost/bb:1` (imported uncompressed), pushed to `REG/bb:1` and pulled back,
/// once as `REG/bb:1` and once copied back over `localhost/bb:1` itself; and
/// `localhost/bb2:1`, another image of the same layer, pushed, removed and pulled
/// back as `REG/bb2:1`. Returns the names to save and push.
fn pushed_and_pulled_back(st: &TestStore, reg: &Registry) -> Vec<String> {
    let bb = format!("{}/bb:1", reg.addr());
    let bb2 = format!("{}/bb2:1", reg.addr());
    let tarball = st.path().join("rootfs.tar");
    st.ok(&[
        "import",
        "-q",
        "--change",
        "ENV SECOND=1",
        tarball.to_str().unwrap(),
        "localhost/bb2:1",
    ]);
    st.ok(&["push", "-q", NO_TLS, "localhost/bb:1", &bb]);
    st.ok(&["push", "-q", NO_TLS, "localhost/bb2:1", &bb2]);
    st.ok(&["rmi", "localhost/bb2:1"]);
    st.ok(&["pull", "-q", NO_TLS, &bb]);
    st.ok(&["pull", "-q", NO_TLS, &bb2]);
    st.ok(&[
        "image",
        "copy",
        "-q",
        "--src-tls-verify=false",
        &format!("docker://{bb}"),
        "containers-storage:localhost/bb:1",
    ]);
    vec!["localhost/bb:1".into(), bb, bb2]
}

/// Saves `name` in `format`, loads it into an empty store and runs `true` in it.
fn save_load_run(st: &TestStore, name: &str, format: &str, out: &Path) {
    st.ok(&[
        "save",
        "-q",
        "--format",
        format,
        "-o",
        out.to_str().unwrap(),
        name,
    ]);
    let back = empty_store();
    let r = back.ok(&["load", "-q", "-i", out.to_str().unwrap()]);
    let loaded = if format == "docker-archive" {
        name.to_string()
    } else {
        // What load says it loaded: the name (either archive carries it).
        r.stdout.trim().rsplit(' ').next().unwrap().to_string()
    };
    back.ok(&["run", "--rm", &loaded, "true"]);
}

/// Pushes `name` to `dest`, pulls it into an empty store and runs `true` in it.
fn push_pull_run(st: &TestStore, name: &str, dest: &str) {
    st.ok(&["push", "-q", NO_TLS, name, dest]);
    let back = empty_store();
    back.ok(&["pull", "-q", NO_TLS, dest]);
    back.ok(&["run", "--rm", dest, "true"]);
}

/// Every name saves (both archive formats), loads and runs; pushes, pulls and runs.
fn every_name_saves_and_pushes(st: &TestStore, reg: &Registry, names: &[String]) {
    for (i, name) in names.iter().enumerate() {
        for format in ["docker-archive", "oci-archive"] {
            let out = st.path().join(format!("saved-{i}-{format}.tar"));
            save_load_run(st, name, format, &out);
        }
        push_pull_run(st, name, &format!("{}/again{i}:1", reg.addr()));
    }
}

/// What an older berth left: it kept its records in three files (`layers.json`,
/// `images.json`, `containers.json`), and recorded the pulled manifests but not the
/// blobs they name for layers the store had already. Makes the store's files so
/// (whatever this berth recorded) and returns the digests of the blobs not kept.
fn as_an_older_berth_left_it(st: &TestStore) -> Vec<String> {
    let root = st.path().join("root");
    let path = root.join("store.json");
    let mut records = json(&std::fs::read_to_string(&path).unwrap());
    let mut layers = records["layers"].take();
    for l in layers.as_array_mut().unwrap() {
        l.as_object_mut().unwrap().remove("other_blobs");
    }
    let write = |file: &str, v: &serde_json::Value| {
        std::fs::write(root.join(file), serde_json::to_vec(v).unwrap()).unwrap()
    };
    write("layers.json", &layers);
    write("images.json", &records["images"]);
    write("containers.json", &records["containers"]);
    std::fs::remove_file(&path).unwrap();
    let stored_from: Vec<&str> = layers
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["compressed_digest"].as_str())
        .collect();
    let mut not_kept = Vec::new();
    for image in std::fs::read_dir(root.join("images")).unwrap() {
        for f in std::fs::read_dir(image.unwrap().path()).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("manifest-") || name.ends_with(".type") {
                continue;
            }
            let m = json(&std::fs::read_to_string(&f).unwrap());
            for l in m["layers"].as_array().unwrap() {
                let d = l["digest"].as_str().unwrap();
                if !stored_from.contains(&d) && !not_kept.iter().any(|k| k == d) {
                    not_kept.push(d.to_string());
                }
            }
        }
    }
    for d in &not_kept {
        let blob = root
            .join("blobs/sha256")
            .join(d.strip_prefix("sha256:").unwrap());
        let _ = std::fs::remove_file(blob);
    }
    not_kept
}

fn image_id(st: &TestStore, name: &str) -> String {
    st.inspect(name, ".Id")
}

#[test]
fn uncompressed_image_pulled_back_saves_and_pushes_under_every_name() {
    let reg = Registry::start().expect("registry");
    let st = TestStore::with_busybox();
    let names = pushed_and_pulled_back(&st, &reg);
    let r = st.ok(&["system", "check"]);
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
    every_name_saves_and_pushes(&st, &reg, &names);
    // Saving and pushing changed nothing: the store is still whole.
    let r = st.ok(&["system", "check"]);
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
}

#[test]
fn system_check_finds_and_repair_mends_manifests_naming_blobs_not_kept() {
    let reg = Registry::start().expect("registry");
    let st = TestStore::with_busybox();
    let names = pushed_and_pulled_back(&st, &reg);
    let forgotten = as_an_older_berth_left_it(&st);
    assert!(
        !forgotten.is_empty(),
        "the pulled manifests name gzipped blobs"
    );
    // Broken as an older berth left it: neither image saves.
    let out = st.path().join("broken.tar");
    for name in [&names[0], &names[2]] {
        let r = st.run(&["save", "-q", "-o", out.to_str().unwrap(), name]);
        assert_ne!(r.code, 0, "save {name} from the broken store");
    }

    let r = st.run(&["system", "check"]);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for name in [&names[0], &names[2]] {
        let id = image_id(&st, name);
        assert!(
            r.stdout
                .lines()
                .any(|l| l.contains(&id) && l.contains(name.as_str())),
            "{id} ({name}) reported: {}",
            r.stdout
        );
    }
    for d in &forgotten {
        assert!(r.stdout.contains(d.as_str()), "{d} reported: {}", r.stdout);
    }

    // The image pulled back over the imported one keeps its first manifest; the
    // one whose only manifest named the gzipped blob gets one naming the blob kept.
    let r = st.ok(&["system", "check", "--repair"]);
    assert_eq!(
        r.stdout.matches("is served with manifest").count(),
        2,
        "{}",
        r.stdout
    );
    // Mended, not removed: every name is still there, and the store is whole.
    for name in &names {
        st.ok(&["image", "exists", name]);
    }
    let r = st.ok(&["system", "check"]);
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
    every_name_saves_and_pushes(&st, &reg, &names);
}

/// The same for the layers `build` and `commit` store (uncompressed too):
/// pushed, pulled back under the same and another name, every name saves,
/// loads, pushes and runs, and the store stays whole.
#[test]
fn built_and_committed_images_pulled_back_save_and_push() {
    let reg = Registry::start().expect("registry");
    let st = TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN echo built > /built\n",
    )
    .unwrap();
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/built:1",
        ctx.to_str().unwrap(),
    ]);
    st.ok(&[
        "run",
        "--name",
        "c",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo made > /made",
    ]);
    st.ok(&["commit", "-q", "c", "localhost/committed:1"]);
    let mut names = Vec::new();
    for local in ["localhost/built:1", "localhost/committed:1"] {
        let remote = format!("{}/{}", reg.addr(), local.trim_start_matches("localhost/"));
        st.ok(&["push", "-q", NO_TLS, local, &remote]);
        st.ok(&["pull", "-q", NO_TLS, &remote]);
        // Pulled back over the local name too.
        st.ok(&[
            "image",
            "copy",
            "-q",
            "--src-tls-verify=false",
            &format!("docker://{remote}"),
            &format!("containers-storage:{local}"),
        ]);
        names.extend([local.to_string(), remote]);
    }
    let r = st.ok(&["system", "check"]);
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
    every_name_saves_and_pushes(&st, &reg, &names);
    assert_eq!(
        st.ok(&["run", "--rm", &names[1], "cat", "/built"]).stdout,
        "built\n"
    );
    assert_eq!(
        st.ok(&["run", "--rm", &names[3], "cat", "/made"]).stdout,
        "made\n"
    );
    let r = st.ok(&["system", "check"]);
    assert!(r.stdout.contains("No problems found"), "{}", r.stdout);
}
