//! `berth builder`: buildah's scripted verbs, driven as a script would drive
//! them, each result checked by running the committed image or reading it back.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use support::fixtures;

struct Store {
    dir: tempfile::TempDir,
    driver: &'static str,
}

impl Store {
    fn new() -> Store {
        Store::with_driver("overlay")
    }

    fn with_driver(driver: &'static str) -> Store {
        let st = Store {
            dir: tempfile::tempdir().unwrap(),
            driver,
        };
        let tarball = st.dir.path().join("rootfs.tar");
        std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
        st.ok(&["import", "-q", tarball.to_str().unwrap(), "localhost/bb:1"]);
        st
    }

    fn cmd(&self) -> Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args(["--storage-driver", self.driver]);
        c.env("BERTH_OCI_EXE_DIR", self.dir.path().join("exe"));
        c.current_dir(self.dir.path());
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd().args(args))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn write(&self, p: &str, content: &str) -> PathBuf {
        let f = self.path(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, content).unwrap();
        f
    }

    fn config(&self, image: &str) -> serde_json::Value {
        json(&self.ok(&["image", "inspect", image]).stdout)[0]["Config"].clone()
    }

    fn config_id(&self, image: &str) -> String {
        json(&self.ok(&["image", "inspect", image]).stdout)[0]["Id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn layers(&self, image: &str) -> usize {
        json(&self.ok(&["image", "inspect", image]).stdout)[0]["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .len()
    }

    /// No working container and no mount is left.
    fn assert_clean(&self) {
        assert_eq!(self.ok(&["builder", "containers", "-q"]).stdout, "");
        assert_eq!(self.ok(&["ps", "-a", "-q", "--external"]).stdout, "");
        let root = self.path("root").to_string_lossy().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts
                .lines()
                .any(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&root))),
            "a mount was left"
        );
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = run_cmd(self.cmd().args(["builder", "rm", "-a"]));
        let _ = run_cmd(self.cmd().args(["rm", "-af"]));
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("exe")) {
            for e in entries.flatten() {
                let _ = Command::new("umount")
                    .arg("-l")
                    .arg(e.path())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

/// The paths in the newest layer of a stored image.
fn last_layer_paths(st: &Store, image: &str) -> Vec<String> {
    last_layer_entries(st, image)
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// The paths in the newest layer of a stored image, with their file times.
fn last_layer_entries(st: &Store, image: &str) -> Vec<(String, u64)> {
    let out = st.path(&format!("oci-{}", image.replace(['/', ':'], "_")));
    st.ok(&[
        "image",
        "copy",
        "-q",
        &format!("containers-storage:{image}"),
        &format!("oci:{}:x", out.display()),
    ]);
    let m = oci_manifest(&out, "x");
    let layers = m["layers"].as_array().unwrap();
    let last = layers.last().unwrap()["digest"].as_str().unwrap();
    let blob = std::fs::read(out.join("blobs/sha256").join(&last[7..])).unwrap();
    let plain: Box<dyn std::io::Read> = if blob.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(&blob[..]))
    } else {
        Box::new(&blob[..])
    };
    tar::Archive::new(plain)
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let path = path.trim_end_matches('/').to_string();
            (path, e.header().mtime().unwrap())
        })
        .collect()
}

fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, name, content.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn a_script_of_verbs_commits_one_layer_that_runs_as_configured() {
    let st = Store::new();
    let c = st.ok(&["builder", "from", "localhost/bb:1"]).stdout;
    let c = c.trim();
    assert_eq!(c, "bb-working-container", "buildah's naming");
    // A second one from the same image gets the next name.
    let c2 = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    assert_eq!(c2.trim(), "bb-working-container-1");
    st.ok(&["builder", "rm", c2.trim()]);

    let r = st.run(&[
        "builder",
        "run",
        c,
        "--",
        "sh",
        "-c",
        "echo built > /built; exit 3",
    ]);
    assert_eq!(r.code, 3, "the command's own exit code: {}", r.stderr);
    st.ok(&[
        "builder",
        "run",
        "-e",
        "WHO=env",
        c,
        "--",
        "sh",
        "-c",
        "echo $WHO > /who",
    ]);

    // copy: a file, a directory's contents, ownership and mode; add: an archive unpacked.
    st.write("ctx/app.conf", "conf\n");
    st.write("ctx/lib/a.txt", "a\n");
    st.write("ctx/lib/sub/b.txt", "b\n");
    std::fs::write(
        st.path("ctx/bundle.tar"),
        tar_of(&[("unpacked/x.txt", "x\n")]),
    )
    .unwrap();
    st.ok(&[
        "builder",
        "copy",
        "--chown",
        "nobody",
        "--chmod",
        "600",
        c,
        "ctx/app.conf",
        "/etc/app.conf",
    ]);
    st.ok(&["builder", "copy", c, "ctx/lib", "/opt/lib/"]);
    st.ok(&[
        "builder",
        "add",
        c,
        st.path("ctx/bundle.tar").to_str().unwrap(),
        "/srv/",
    ]);

    // A host tool writes straight into the mounted root (make install DESTDIR=$mnt).
    let mnt = st.ok(&["builder", "mount", c]).stdout.trim().to_string();
    std::fs::create_dir_all(Path::new(&mnt).join("usr/local/bin")).unwrap();
    std::fs::write(
        Path::new(&mnt).join("usr/local/bin/tool"),
        "#!/bin/sh\necho tool ran\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(Path::new(&mnt).join("usr/local/bin/tool"))
        .status()
        .unwrap();
    let listed = st.ok(&["builder", "mount"]).stdout;
    assert!(listed.contains(c) && listed.contains(&mnt), "{listed}");
    st.ok(&["builder", "umount", c]);

    st.ok(&[
        "builder", "config",
        "--entrypoint", "[\"/bin/sh\", \"-c\"]",
        "--cmd", "[\"cat /built /who /etc/app.conf /opt/lib/a.txt /opt/lib/sub/b.txt /srv/unpacked/x.txt; tool; pwd; id -un; echo $MODE\"]",
        "--env", "MODE=scripted",
        "--env", "PATH=/usr/local/bin:/bin",
        "--label", "org.example.kind=script",
        "--port", "8080",
        "--volume", "/data",
        "--workingdir", "/opt",
        "--user", "nobody",
        "--annotation", "org.example.note=hello",
        "--stop-signal", "SIGTERM",
        "--author", "berth tests",
        "--created-by", "a builder script",
        "--comment", "one layer",
        c,
    ]);
    let i = json(&st.ok(&["builder", "inspect", c]).stdout);
    assert_eq!(i["OCIv1"]["config"]["User"], "nobody");
    assert_eq!(i["ImageAnnotations"]["org.example.note"], "hello");
    let name = st
        .ok(&[
            "builder",
            "inspect",
            "--format",
            "{{.Container}} {{.FromImageID}}",
            c,
        ])
        .stdout;
    assert!(name.starts_with("bb-working-container "), "{name}");
    // The base image's part of the config, as buildah shows it, by Go's
    // field names.
    let base = st
        .ok(&[
            "builder",
            "inspect",
            "--format",
            "{{.OCIv1.Architecture}}/{{.OCIv1.OS}} {{len .OCIv1.RootFS.DiffIDs}} {{.FromImageDigest}}",
            c,
        ])
        .stdout;
    let (platform, rest) = base.trim().split_once(' ').unwrap();
    assert_eq!(platform, "amd64/linux", "{base}");
    let (layers, digest) = rest.split_once(' ').unwrap();
    assert!(layers.parse::<usize>().unwrap() >= 1, "{base}");
    assert!(digest.starts_with("sha256:"), "{base}");

    let iidfile = st.dir.path().join("iid");
    let iid_arg = iidfile.to_str().unwrap();
    let out = st
        .ok(&[
            "builder",
            "commit",
            "-q",
            "--rm",
            "--iidfile",
            iid_arg,
            c,
            "localhost/scripted:1",
        ])
        .stdout;
    // --iidfile: the ID there as buildah writes it, and not on stdout.
    assert_eq!(out, "");
    let written = std::fs::read_to_string(&iidfile).unwrap();
    assert_eq!(
        written,
        format!("sha256:{}", st.config_id("localhost/scripted:1"))
    );
    st.assert_clean();
    assert_eq!(
        st.layers("localhost/scripted:1"),
        st.layers("localhost/bb:1") + 1,
        "one layer for the whole script"
    );
    // The runtime's mount points (/proc, /etc/hosts …) are not the script's changes.
    let paths = last_layer_paths(&st, "localhost/scripted:1");
    for made in [
        "proc",
        "sys",
        "dev",
        "etc/hosts",
        "etc/hostname",
        "etc/resolv.conf",
        "run/.containerenv",
    ] {
        assert!(
            !paths.iter().any(|p| p == made),
            "{made} in the layer: {paths:?}"
        );
    }
    assert!(paths.iter().any(|p| p == "built"), "{paths:?}");
    let r = st.ok(&["run", "--rm", "localhost/scripted:1"]);
    assert_eq!(
        r.stdout, "built\nenv\nconf\na\nb\nx\ntool ran\n/opt\nnobody\nscripted\n",
        "{}",
        r.stderr
    );
    let r = st.ok(&[
        "run",
        "--rm",
        "--user",
        "root",
        "localhost/scripted:1",
        "stat -c '%U %a' /etc/app.conf",
    ]);
    assert_eq!(r.stdout.trim(), "nobody 600");
    let cfg = st.config("localhost/scripted:1");
    assert_eq!(cfg["Labels"]["org.example.kind"], "script");
    assert!(cfg["ExposedPorts"]["8080/tcp"].is_object(), "{cfg}");
    assert!(cfg["Volumes"]["/data"].is_object(), "{cfg}");
    assert_eq!(cfg["StopSignal"], "SIGTERM");
    let h = st
        .ok(&[
            "history",
            "--format",
            "{{.CreatedBy}}|{{.Comment}}",
            "localhost/scripted:1",
        ])
        .stdout;
    assert_eq!(h.lines().next(), Some("a builder script|one layer"), "{h}");
    let v = json(&st.ok(&["image", "inspect", "localhost/scripted:1"]).stdout);
    assert_eq!(v[0]["Author"], "berth tests");
}

#[test]
fn docker_format_keeps_what_oci_drops_and_squash_makes_one_layer() {
    let st = Store::new();
    let c = st
        .ok(&["builder", "from", "--name", "hc", "localhost/bb:1"])
        .stdout;
    let c = c.trim();
    assert_eq!(c, "hc");
    st.ok(&[
        "builder",
        "config",
        "--healthcheck",
        "CMD-SHELL test -e /",
        "--healthcheck-interval",
        "30s",
        "--healthcheck-retries",
        "2",
        "--shell",
        "[\"/bin/sh\", \"-ec\"]",
        "--onbuild",
        "RUN echo child",
        c,
    ]);
    let r = st.ok(&["builder", "commit", c, "localhost/oci:1"]);
    for what in ["HEALTHCHECK", "SHELL", "ONBUILD"] {
        assert!(
            r.stderr.contains(what),
            "no warning for {what}: {}",
            r.stderr
        );
    }
    let oci = st.config("localhost/oci:1");
    assert!(
        oci["Healthcheck"].is_null() && oci["Shell"].is_null() && oci["OnBuild"].is_null(),
        "{oci}"
    );
    st.ok(&[
        "builder",
        "commit",
        "--format",
        "docker",
        c,
        "localhost/docker:1",
    ]);
    let d = st.config("localhost/docker:1");
    assert_eq!(
        d["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "test -e /"])
    );
    assert_eq!(d["Healthcheck"]["Interval"], 30_000_000_000u64);
    assert_eq!(d["Healthcheck"]["Retries"], 2);
    assert_eq!(d["Shell"], serde_json::json!(["/bin/sh", "-ec"]));
    assert_eq!(d["OnBuild"], serde_json::json!(["RUN echo child"]));
    // The image is Docker schema 2 all the way to a registry-bound copy.
    let out = st.path("docker-dir");
    st.ok(&[
        "image",
        "copy",
        "-q",
        "containers-storage:localhost/docker:1",
        &format!("dir:{}", out.display()),
    ]);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    // Squashed: one layer for the whole tree, and it still runs.
    st.ok(&["builder", "run", c, "--", "sh", "-c", "echo squashed > /s"]);
    st.ok(&[
        "builder",
        "commit",
        "--squash",
        "--rm",
        c,
        "localhost/squashed:1",
    ]);
    assert_eq!(st.layers("localhost/squashed:1"), 1);
    let r = st.ok(&["run", "--rm", "localhost/squashed:1", "cat", "/s"]);
    assert_eq!(r.stdout, "squashed\n");
    st.assert_clean();
}

#[test]
fn scratch_copy_from_and_errors() {
    let st = Store::new();
    // From scratch: a static busybox and nothing else.
    let c = st.ok(&["builder", "from", "scratch"]).stdout;
    let c = c.trim();
    assert_eq!(c, "working-container");
    st.ok(&["builder", "copy", c, "/bin/busybox", "/busybox"]);
    st.ok(&[
        "builder",
        "config",
        "--entrypoint",
        "[\"/busybox\"]",
        "--cmd",
        "echo from scratch",
        c,
    ]);
    st.ok(&["builder", "commit", "--rm", c, "localhost/tiny:1"]);
    let r = st.ok(&["run", "--rm", "localhost/tiny:1"]);
    assert_eq!(r.stdout, "from scratch\n");
    let r = st.ok(&["run", "--rm", "localhost/tiny:1", "ls", "/"]);
    assert!(
        !r.stdout.contains("bin"),
        "scratch holds only what was copied: {}",
        r.stdout
    );

    // --from another working container, and from an image.
    let a = st
        .ok(&["builder", "from", "--name", "a", "localhost/bb:1"])
        .stdout;
    st.ok(&[
        "builder",
        "run",
        a.trim(),
        "--",
        "sh",
        "-c",
        "mkdir /out && echo made > /out/artifact",
    ]);
    let b = st
        .ok(&["builder", "from", "--name", "b", "localhost/bb:1"])
        .stdout;
    st.ok(&[
        "builder",
        "copy",
        "--from",
        "a",
        b.trim(),
        "/out/artifact",
        "/artifact",
    ]);
    st.ok(&[
        "builder",
        "copy",
        "--from",
        "localhost/tiny:1",
        b.trim(),
        "/busybox",
        "/tiny-busybox",
    ]);
    let r = st.ok(&[
        "builder",
        "run",
        "b",
        "--",
        "sh",
        "-c",
        "cat /artifact; test -x /tiny-busybox && echo ok",
    ]);
    assert_eq!(r.stdout, "made\nok\n");

    // Errors are one line and change nothing.
    let r = st.run(&["builder", "copy", "b", "no-such-file", "/x"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    st.ok(&["create", "--name", "plain", "localhost/bb:1", "true"]);
    let r = st.run(&["builder", "run", "plain", "--", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not a working container"), "{}", r.stderr);
    let r = st.run(&["builder", "from", "localhost/nope:1", "--pull=never"]);
    assert_ne!(r.code, 0);
    let r = st.run(&["builder", "config", "--healthcheck-retries", "3", "b"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // Working containers are not ordinary ones: ps leaves them out unless --external.
    assert_eq!(
        st.ok(&["ps", "-a", "--format", "{{.Names}}"]).stdout.trim(),
        "plain"
    );
    let all = st
        .ok(&["ps", "-a", "--external", "--format", "{{.Names}}"])
        .stdout;
    assert!(all.contains('a') && all.contains('b'), "{all}");
    let listed = st
        .ok(&["builder", "containers", "--format", "{{.ContainerName}}"])
        .stdout;
    let mut names: Vec<&str> = listed.lines().collect();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    st.ok(&["builder", "rm", "-a"]);
    st.ok(&["rm", "plain"]);
    st.assert_clean();
}

#[test]
fn a_symlink_in_the_container_cannot_send_a_copy_to_the_host() {
    let st = Store::new();
    let c = st.ok(&["builder", "from", "localhost/bb:1"]).stdout;
    let c = c.trim();
    let outside = st.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // A dangling symlink to the host directory resolves inside the
    // container's root, as buildah's securejoin resolves it: the copy makes
    // the directory there, nothing on the host.
    let script = format!("ln -s {0} /abs", outside.display());
    st.ok(&["builder", "run", c, "--", "sh", "-c", &script]);
    st.write("payload", "payload\n");
    st.ok(&["builder", "copy", c, "payload", "/abs/p0"]);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "a copy reached the host"
    );
    // Absolute and climbing symlinks to a path the container has too: they
    // resolve inside the container's root.
    let script = format!(
        "mkdir -p {0} && ln -s ../../../../../../../../{0} /rel",
        outside.display()
    );
    st.ok(&["builder", "run", c, "--", "sh", "-c", &script]);
    st.ok(&["builder", "copy", c, "payload", "/abs/p1"]);
    st.ok(&["builder", "copy", c, "payload", "/rel/p2"]);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "a copy reached the host"
    );
    let r = st.ok(&[
        "builder",
        "run",
        c,
        "--",
        "sh",
        "-c",
        &format!("cat {0}/p0 {0}/p1 {0}/p2", outside.display()),
    ]);
    assert_eq!(
        r.stdout, "payload\npayload\npayload\n",
        "the copies land inside the container's root"
    );
    // A merged /usr's /lib: a directory to make below it goes to /usr/lib.
    st.ok(&[
        "builder",
        "run",
        c,
        "--",
        "sh",
        "-c",
        "mkdir -p /usr/lib && ln -s usr/lib /lib",
    ]);
    st.ok(&["builder", "copy", c, "payload", "/lib/sub/p3"]);
    let r = st.ok(&["builder", "run", c, "--", "cat", "/usr/lib/sub/p3"]);
    assert_eq!(r.stdout, "payload\n");
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

#[test]
fn builder_images_lists_as_buildah_and_scratch_leaves_no_image() {
    let st = Store::new();
    // `from scratch` stands on no image a user sees.
    let c = st.ok(&["builder", "from", "-q", "scratch"]).stdout;
    assert_eq!(c.trim(), "working-container");
    for list in [
        st.ok(&["images", "--format", "{{.Repository}}"]).stdout,
        st.ok(&["builder", "images", "--format", "{{.Name}}"])
            .stdout,
    ] {
        assert_eq!(list, "localhost/bb\n");
    }
    let table = st.ok(&["builder", "images"]).stdout;
    let head = table.lines().next().unwrap();
    let cols: Vec<&str> = head
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        cols,
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        "{table}"
    );
    // buildah's JSON: short IDs unless --no-trunc, names, sizes as shown.
    let v = json(&st.ok(&["builder", "images", "--json"]).stdout);
    let img = &v[0];
    assert_eq!(img["names"][0], "localhost/bb:1");
    let id = img["id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert!(img["size"].as_str().unwrap().ends_with("B"), "{v}");
    assert_eq!(st.ok(&["builder", "images", "-q"]).stdout.trim(), id);
    let full = st.ok(&["builder", "images", "-q", "--no-trunc"]).stdout;
    assert!(full.trim().starts_with(&format!("sha256:{id}")), "{full}");
    let r = st.run(&["builder", "images", "nosuch"]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: nosuch: image not known\n");
    st.ok(&["builder", "rm", "working-container"]);
    // A local name has no registry to ask for a newer image: it stands.
    let c = st
        .ok(&["builder", "from", "-q", "--pull=true", "bb:1"])
        .stdout;
    st.ok(&["builder", "rm", c.trim()]);
}

#[test]
fn a_buildah_script_runs_under_the_builder_alias() {
    // What `alias buildah='berth builder'` makes of a script's usual verbs.
    let st = Store::new();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    st.ok(&["builder", "rename", c.trim(), "app"]);
    st.ok(&[
        "builder",
        "run",
        "app",
        "--",
        "sh",
        "-c",
        "echo made > /made",
    ]);
    st.ok(&["builder", "config", "--cmd", "cat /made", "app"]);
    st.ok(&["builder", "commit", "-q", "app", "localhost/app:1"]);
    st.ok(&["builder", "tag", "localhost/app:1", "localhost/app:2"]);
    let ctx = st.write(
        "ctx/Containerfile",
        "FROM localhost/app:2\nRUN echo built >> /made\n",
    );
    let ctx_dir = ctx.parent().unwrap().to_str().unwrap().to_string();
    st.ok(&["builder", "bud", "-q", "-t", "localhost/app:3", &ctx_dir]);
    let history = st.ok(&["builder", "history", "localhost/app:3"]).stdout;
    assert!(history.contains("echo built >> /made"), "{history}");
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/app:3"]).stdout,
        "made\nbuilt\n"
    );
    assert!(st.ok(&["builder", "version"]).stdout.contains("Version:"));
    // buildah's --version line, in berth's name.
    for flag in ["--version", "-v"] {
        let line = st.ok(&["builder", flag]).stdout;
        assert!(
            line.starts_with(&format!(
                "berth version {} (image-spec ",
                env!("CARGO_PKG_VERSION")
            )) && line.contains(", runtime-spec ")
                && line.ends_with(")\n"),
            "{line}"
        );
    }
    // info is buildah's JSON (`buildah info | jq .host.cpus`).
    let info = json(&st.ok(&["builder", "info"]).stdout);
    assert!(info["host"]["cpus"].as_u64().unwrap() >= 1, "{info}");
    assert!(info["host"]["MemTotal"].as_u64().unwrap() > 0, "{info}");
    assert_eq!(info["host"]["os"], "linux");
    assert_eq!(
        info["store"]["GraphRoot"],
        st.path("root").to_str().unwrap()
    );
    assert_eq!(
        st.ok(&["builder", "info", "--format", "{{.store.GraphDriverName}}"])
            .stdout,
        "overlay\n"
    );
    // inspect: a working container, else an image; a list with --type manifest.
    let id = st
        .ok(&["image", "inspect", "--format", "{{.Id}}", "localhost/app:1"])
        .stdout;
    for args in [&["--type", "image"][..], &[]] {
        let mut cmd = vec!["builder", "inspect"];
        cmd.extend(args);
        cmd.extend(["--format", "{{.FromImageID}}", "localhost/app:1"]);
        assert_eq!(st.ok(&cmd).stdout, id, "{args:?}");
    }
    assert_eq!(
        st.ok(&["builder", "inspect", "--format", "{{.Container}}", "app"])
            .stdout,
        "app\n"
    );
    st.ok(&["builder", "manifest", "create", "localhost/applist"]);
    let index = json(
        &st.ok(&[
            "builder",
            "inspect",
            "--type",
            "manifest",
            "localhost/applist",
        ])
        .stdout,
    );
    assert_eq!(index["schemaVersion"], 2);
    st.ok(&["builder", "manifest", "rm", "localhost/applist"]);
    st.ok(&["builder", "rm", "app"]);
    st.ok(&[
        "builder",
        "rmi",
        "localhost/app:3",
        "localhost/app:2",
        "localhost/app:1",
    ]);
    assert_eq!(
        st.ok(&["builder", "images", "--format", "{{.Name}}"])
            .stdout,
        "localhost/bb\n"
    );
}

#[test]
fn builder_from_takes_buildahs_registry_flags() {
    let reg = support::registry::Registry::start_with_auth("u", "p").expect("registry");
    let st = Store::new();
    let image = format!("{}/x/bb:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "--creds",
        "u:p",
        "localhost/bb:1",
        &format!("docker://{image}"),
    ]);
    let policy = st.write(
        "policy.json",
        r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
    );
    let conf = st.write("registries.conf", "unqualified-search-registries = []\n");
    let from = |creds: &str| {
        st.run(&[
            "builder",
            "from",
            "-q",
            "--pull=always",
            "--tls-verify=false",
            "--creds",
            creds,
            "--signature-policy",
            policy.to_str().unwrap(),
            "--registries-conf",
            conf.to_str().unwrap(),
            &image,
        ])
    };
    let r = from("u:wrong");
    assert_ne!(r.code, 0, "{}", r.stdout);
    let r = from("u:p");
    assert_eq!(r.code, 0, "{}", r.stderr);
    // -q: the name alone, nothing of the pull.
    assert_eq!(r.stdout, "bb-working-container\n");
    assert_eq!(r.stderr, "");
    // A policy that rejects everything stops the pull.
    let reject = st.write("reject.json", r#"{"default": [{"type": "reject"}]}"#);
    let r = st.run(&[
        "builder",
        "from",
        "-q",
        "--pull=always",
        "--tls-verify=false",
        "--creds",
        "u:p",
        "--signature-policy",
        reject.to_str().unwrap(),
        &image,
    ]);
    assert_ne!(r.code, 0);
    st.ok(&["builder", "rm", "--all"]);
    // bud and pull take them too.
    let ctx = st.write(
        "ctx/Containerfile",
        &format!("FROM {image}\nRUN touch /built\n"),
    );
    let ctx_dir = ctx.parent().unwrap().to_str().unwrap().to_string();
    st.ok(&["rmi", &image]);
    st.ok(&[
        "builder",
        "bud",
        "-q",
        "--pull=always",
        "--tls-verify=false",
        "--creds",
        "u:p",
        "--signature-policy",
        policy.to_str().unwrap(),
        "--registries-conf",
        conf.to_str().unwrap(),
        "-t",
        "localhost/from-reg:1",
        &ctx_dir,
    ]);
    st.ok(&["rmi", &image]);
    st.ok(&[
        "builder",
        "pull",
        "-q",
        "--tls-verify=false",
        "--creds",
        "u:p",
        "--registries-conf",
        conf.to_str().unwrap(),
        &image,
    ]);
}

#[test]
fn froms_limits_capabilities_and_volumes_reach_every_run() {
    let st = Store::new();
    let share = st.write("share/f", "shared\n");
    let share_dir = share.parent().unwrap().to_str().unwrap().to_string();
    let c = st
        .ok(&[
            "builder",
            "from",
            "-q",
            "--memory",
            "64m",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_RAW",
            "-v",
            &format!("{share_dir}:/share:ro"),
            "--ulimit",
            "nofile=512:512",
            "localhost/bb:1",
        ])
        .stdout;
    let c = c.trim();
    let out = st
        .ok(&[
            "builder",
            "run",
            c,
            "--",
            "sh",
            "-c",
            "cat /share/f; ulimit -n; grep CapEff /proc/self/status",
        ])
        .stdout;
    // NET_RAW alone is bit 13.
    assert_eq!(out, "shared\n512\nCapEff:\t0000000000002000\n");
    // A run's own -v adds to from's.
    let out = st
        .ok(&[
            "builder",
            "run",
            "-v",
            &format!("{share_dir}:/again"),
            c,
            "--",
            "cat",
            "/share/f",
            "/again/f",
        ])
        .stdout;
    assert_eq!(out, "shared\nshared\n");
    // run's own: hostname, capabilities, mounts.
    let out = st
        .ok(&[
            "builder",
            "run",
            "--hostname",
            "bh",
            "--cap-drop",
            "NET_RAW",
            "--mount",
            "type=tmpfs,target=/scratch",
            c,
            "--",
            "sh",
            "-c",
            "hostname; grep CapEff /proc/self/status; grep -c ' /scratch tmpfs ' /proc/mounts",
        ])
        .stdout;
    assert_eq!(out, "bh\nCapEff:\t0000000000000000\n1\n");
    // A bad flag is refused before anything is made.
    let r = st.run(&["builder", "from", "--ulimit", "bogus", "localhost/bb:1"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("--ulimit bogus"), "{}", r.stderr);
    st.ok(&["builder", "rm", c]);
    assert_eq!(st.ok(&["builder", "containers", "-q"]).stdout, "");
}

/// buildah's `prune`: dangling images go (their IDs printed) and the build cache
/// with them, so the next build runs every step again.
#[test]
fn prune_takes_dangling_images_and_the_build_cache() {
    let st = Store::new();
    st.write(
        "ctx/Containerfile",
        "FROM localhost/bb:1\nRUN --mount=type=cache,target=/c echo x > /c/f && cp /c/f /f\n",
    );
    let ctx = st.path("ctx");
    let first = st.ok(&["build", "-q", "-t", "localhost/p:1", ctx.to_str().unwrap()]);
    let id = first.stdout.trim().to_string();
    assert!(st.path("root/build-cache").is_dir());
    assert!(st.path("root/build-cache-mounts").is_dir());
    // Untagged, the image dangles.
    st.ok(&["untag", "localhost/p:1"]);
    let r = st.ok(&["builder", "prune", "-f"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| id.starts_with(l) || l.starts_with(&id)),
        "{}",
        r.stdout
    );
    assert!(!st.path("root/build-cache").exists());
    assert!(!st.path("root/build-cache-mounts").exists());
    assert_eq!(st.run(&["image", "exists", &id]).code, 1);
    // The base image (named) stays; --all takes it too when nothing uses it.
    assert_eq!(st.run(&["image", "exists", "localhost/bb:1"]).code, 0);
    st.ok(&["builder", "prune", "--all"]);
    assert_eq!(st.run(&["image", "exists", "localhost/bb:1"]).code, 1);
}

/// buildah in a store of the test's own; exit code and stderr.
fn buildah(st: &Store, args: &[&str]) -> (i32, String) {
    let out = Command::new("buildah")
        .arg("--root")
        .arg(st.path("buildah-root"))
        .arg("--runroot")
        .arg(st.path("buildah-run"))
        .args(["--storage-driver", "vfs"])
        .env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An OCI layout's one manifest, as JSON.
fn layout_manifest(dir: &Path) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let blob = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    serde_json::from_slice(&std::fs::read(blob).unwrap()).unwrap()
}

/// The names in a layer of an OCI layout (a gzipped tar).
fn layer_names(dir: &Path, digest: &str) -> Vec<String> {
    let blob = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(blob).unwrap());
    let mut names: Vec<String> = tar::Archive::new(gz)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    names
}

/// `builder source`: a source image made, filled, pushed to a registry and pulled
/// back by berth, read by buildah (and buildah's read by berth), layer for layer.
#[test]
fn source_images_go_between_berth_and_buildah() {
    let reg = support::registry::Registry::start().expect("registry");
    let st = Store::new();
    let src = st.path("src");
    let src_arg = src.to_str().unwrap();
    st.ok(&["builder", "source", "create", "--author", "me", src_arg]);
    let file = st.write("art/notes.txt", "the sources\n");
    st.write("tree/pkg/main.c", "int main(void) { return 0; }\n");
    st.ok(&["builder", "source", "add", src_arg, file.to_str().unwrap()]);
    let tree = st.path("tree");
    st.ok(&[
        "builder",
        "source",
        "add",
        "--annotation",
        "k=v",
        src_arg,
        tree.to_str().unwrap(),
    ]);
    let m = layout_manifest(&src);
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.oci.source.image.config.v1+json"
    );
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{m}");
    assert_eq!(layers[1]["annotations"]["k"], "v");
    let digest = |i: usize| layers[i]["digest"].as_str().unwrap().to_string();
    assert_eq!(layer_names(&src, &digest(0)), ["notes.txt"]);
    assert!(
        layer_names(&src, &digest(1))
            .iter()
            .any(|n| n.ends_with("pkg/main.c"))
    );
    // Pushed, then pulled by buildah and by berth: the same layers.
    let image = format!("{}/src/app:1", reg.addr());
    st.ok(&[
        "builder",
        "source",
        "push",
        "--tls-verify=false",
        src_arg,
        &image,
    ]);
    let theirs = st.path("buildah-pulled");
    let (code, err) = buildah(
        &st,
        &[
            "source",
            "pull",
            "--tls-verify=false",
            &image,
            theirs.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "buildah source pull: {err}");
    assert_eq!(layout_manifest(&theirs)["layers"], m["layers"]);
    let ours = st.path("pulled");
    st.ok(&[
        "builder",
        "source",
        "pull",
        "--tls-verify=false",
        &image,
        ours.to_str().unwrap(),
    ]);
    assert_eq!(layout_manifest(&ours), m);
    // buildah's own source image, pushed by buildah, pulled by berth.
    let made = st.path("buildah-made");
    let made_arg = made.to_str().unwrap();
    assert_eq!(buildah(&st, &["source", "create", made_arg]).0, 0);
    assert_eq!(
        buildah(&st, &["source", "add", made_arg, file.to_str().unwrap()]).0,
        0
    );
    let image2 = format!("{}/src/theirs:1", reg.addr());
    let (code, err) = buildah(
        &st,
        &["source", "push", "--tls-verify=false", made_arg, &image2],
    );
    assert_eq!(code, 0, "buildah source push: {err}");
    let back = st.path("back");
    st.ok(&[
        "builder",
        "source",
        "pull",
        "--tls-verify=false",
        &image2,
        back.to_str().unwrap(),
    ]);
    assert_eq!(
        layer_names(
            &back,
            layout_manifest(&back)["layers"][0]["digest"]
                .as_str()
                .unwrap()
        ),
        ["notes.txt"]
    );
}

/// Artifacts added at the same time all end up in the image.
#[test]
fn source_adds_at_once_keep_every_artifact() {
    let st = Store::new();
    let src = st.path("src");
    let src_arg = src.to_str().unwrap().to_string();
    st.ok(&["builder", "source", "create", &src_arg]);
    let files: Vec<PathBuf> = (0..8)
        .map(|i| st.write(&format!("art/f{i}.txt"), &format!("artifact {i}\n")))
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            st.cmd()
                .args(["builder", "source", "add", &src_arg])
                .arg(f)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let layers = layout_manifest(&src)["layers"].as_array().unwrap().len();
    assert_eq!(layers, 8);
}

/// What is not a source image is refused, and nothing is written for it.
#[test]
fn source_commands_refuse_what_is_not_a_source_image() {
    let reg = support::registry::Registry::start().expect("registry");
    let st = Store::new();
    let src = st.path("src");
    let src_arg = src.to_str().unwrap();
    st.ok(&["builder", "source", "create", src_arg]);
    let again = st.run(&["builder", "source", "create", src_arg]);
    assert_eq!(again.code, 125);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let missing = st.run(&["builder", "source", "add", src_arg, "/nonexistent/artifact"]);
    assert_eq!(missing.code, 125);
    assert!(
        missing.stderr.contains("/nonexistent/artifact"),
        "{}",
        missing.stderr
    );
    // An ordinary image: in a layout, it takes no artifact; in a registry, it
    // is not pulled as a source image.
    let plain = st.path("plain");
    st.ok(&[
        "push",
        "-q",
        "localhost/bb:1",
        &format!("oci:{}", plain.display()),
    ]);
    let add = st.run(&[
        "builder",
        "source",
        "add",
        plain.to_str().unwrap(),
        "/etc/hostname",
    ]);
    assert_eq!(add.code, 125);
    assert!(add.stderr.contains("not a source image"), "{}", add.stderr);
    let image = format!("{}/plain/bb:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "localhost/bb:1",
        &format!("docker://{image}"),
    ]);
    let into = st.path("into");
    let pull = st.run(&[
        "builder",
        "source",
        "pull",
        "--tls-verify=false",
        &image,
        into.to_str().unwrap(),
    ]);
    assert_eq!(pull.code, 125);
    assert!(
        pull.stderr.contains("not a source image"),
        "{}",
        pull.stderr
    );
    assert!(!into.exists(), "a refused pull wrote {}", into.display());
}

/// buildah's `--userns-uid-map/--userns-gid-map` (as root): `from` and `build`
/// put the working container in a user namespace of its own, where the image
/// keeps its owners; what `copy`, `run` and COPY/RUN write is root's inside
/// and stays so in the committed image (nothing leaks the host's IDs).
#[test]
fn userns_uid_map_keeps_owners_through_copy_run_and_commit() {
    let st = Store::new();
    let map = [
        "--userns-uid-map",
        "0:200000:65536",
        "--userns-gid-map",
        "0:300000:1000:1000:301000:64536",
    ];
    st.write("a.txt", "hi\n");
    let ctr = st
        .ok(&[
            &["builder", "from", "-q"][..],
            &map[..],
            &["localhost/bb:1"][..],
        ]
        .concat())
        .stdout
        .trim()
        .to_string();
    st.ok(&["builder", "copy", &ctr, "a.txt", "/new/a.txt"]);
    st.ok(&["builder", "copy", "--chown", "7:8", &ctr, "a.txt", "/b.txt"]);
    let inside = st.ok(&[
        "builder", "run", &ctr, "--", "sh", "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox /new /new/a.txt /b.txt; mkdir /ran",
    ]);
    let words: Vec<&str> = inside.stdout.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "0", "200000", "65536", "0", "300000", "1000", "1000", "301000", "64536", "0:0", "0:0",
            "0:0", "7:8"
        ],
        "{}",
        inside.stdout
    );
    st.ok(&["builder", "commit", "-q", &ctr, "localhost/mapped:1"]);
    st.ok(&["builder", "rm", &ctr]);
    let plain = st.ok(&[
        "run",
        "--rm",
        "localhost/mapped:1",
        "stat",
        "-c",
        "%n %u:%g",
        "/new/a.txt",
        "/b.txt",
        "/ran",
    ]);
    assert_eq!(plain.stdout, "/new/a.txt 0:0\n/b.txt 7:8\n/ran 0:0\n");
    // A build with the map: COPY and RUN inside the namespace, root's files.
    st.write(
        "ctx/Containerfile",
        "FROM localhost/bb:1 AS one\nRUN mkdir /o && touch /o/f && chown 5:6 /o/f\n\
         FROM localhost/bb:1\nCOPY a.txt /sub/a.txt\nWORKDIR /work/dir\nCOPY --from=one /o/f /copied\n\
         RUN grep -q 200000 /proc/self/uid_map && touch /r /work/dir/w\n",
    );
    st.write("ctx/a.txt", "hi\n");
    st.ok(&[
        &["build", "-q", "-t", "localhost/built:1"][..],
        &map[..],
        &["ctx"][..],
    ]
    .concat());
    let built = st.ok(&[
        "run",
        "--rm",
        "localhost/built:1",
        "stat",
        "-c",
        "%n %u:%g",
        "/sub",
        "/sub/a.txt",
        "/r",
        "/work/dir",
        "/work/dir/w",
        "/copied",
    ]);
    assert_eq!(
        built.stdout,
        "/sub 0:0\n/sub/a.txt 0:0\n/r 0:0\n/work/dir 0:0\n/work/dir/w 0:0\n/copied 5:6\n"
    );
    let bad = st.run(&[
        "builder",
        "from",
        "--userns-uid-map",
        "0:1:2:3",
        "localhost/bb:1",
    ]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
    assert!(bad.stderr.contains("--uidmap"), "{}", bad.stderr);
    st.assert_clean();
}

/// `from` takes an image where it lies (`oci:`, `oci-archive:`, `docker-archive:`,
/// `dir:`) whatever `--pull` says, and names the working container after the
/// name the copy gave the image, as buildah does: an OCI layout's path as a
/// local name, an archive's own name; an unnamed image's transport. `pull` (as
/// buildah's and podman's) names it alike.
#[test]
fn from_and_pull_take_images_from_other_transports_under_their_names() {
    let st = Store::new();
    fixtures::small(&st.path("x/bb")).unwrap();
    let names = |st: &Store| {
        st.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .stdout
    };
    st.ok(&["image", "copy", "-q", "oci:x/bb:latest", "dir:bbdir"]);
    let from = |args: &[&str]| {
        let mut v = vec!["builder", "from", "-q"];
        v.extend_from_slice(args);
        st.ok(&v).stdout
    };
    // A directory names nothing: the container is named after the transport.
    assert_eq!(from(&["dir:bbdir"]), "dir-working-container\n");
    assert_eq!(names(&st), "localhost/bb:1\n<none>:<none>\n");
    assert_eq!(
        from(&["--pull=never", "oci:x/bb:latest"]),
        "bb-working-container\n"
    );
    assert!(
        names(&st).contains("localhost/x/bb:latest\n"),
        "{}",
        names(&st)
    );
    st.ok(&[
        "image",
        "copy",
        "-q",
        "oci:x/bb:latest",
        "oci-archive:bb.tar:foo/bar:v2",
    ]);
    assert_eq!(
        from(&["--pull", "oci-archive:bb.tar"]),
        "bar-working-container\n"
    );
    st.ok(&[
        "image",
        "copy",
        "-q",
        "oci:x/bb:latest",
        "docker-archive:bbd.tar:docker.io/library/dbb:3",
    ]);
    assert_eq!(from(&["docker-archive:bbd.tar"]), "dbb-working-container\n");
    // The working container runs what the image holds.
    let r = st.ok(&["builder", "run", "bb-working-container", "--", "echo", "hi"]);
    assert_eq!(r.stdout, "hi\n");
    st.ok(&["builder", "rm", "-a"]);
    st.ok(&["rmi", "-a", "-f"]);
    for pull in [&["builder", "pull", "-q"][..], &["pull", "-q"][..]] {
        let mut v = pull.to_vec();
        v.push("oci:x/bb:latest");
        st.ok(&v);
        assert_eq!(names(&st), "localhost/x/bb:latest\n");
        st.ok(&["rmi", "localhost/x/bb:latest"]);
    }
    st.assert_clean();
}

/// Booleans as buildah's (and podman's) flag parser takes them: alone, or with
/// `=true`/`=false`; alone, neither they nor a flag whose value is optional
/// (`--pull`, `--layers`) takes the next argument.
#[test]
fn booleans_take_true_and_false_and_never_the_next_argument() {
    let st = Store::new();
    let ctx = st.write(
        "ctx/Containerfile",
        "FROM localhost/bb:1\nRUN echo built > /built\n",
    );
    let file = ctx.to_str().unwrap();
    // Alone, each is followed by the context, which it must leave.
    for flag in ["--layers", "--rm", "--pull", "--squash", "--no-cache"] {
        let r = st.run(&["builder", "build", "-q", "-f", file, flag, "ctx"]);
        assert_eq!(r.code, 0, "{flag}: {}", r.stderr);
        assert_eq!(r.stdout.trim().len(), 64, "{flag}: {}", r.stdout);
    }
    // podman's build too.
    let r = st.run(&["build", "-q", "--rm", "-f", file, "--layers", "ctx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // --quiet=false says what it does; --quiet=true does not.
    let loud = st.ok(&[
        "builder",
        "bud",
        "--quiet=false",
        "--no-cache=true",
        "--squash=true",
        "--layers=false",
        "--pull=false",
        "-t",
        "localhost/built:1",
        "ctx",
    ]);
    assert!(loud.stdout.contains("RUN echo built"), "{}", loud.stdout);
    assert_eq!(st.layers("localhost/built:1"), 1, "--squash=true");
    let quiet = st.ok(&["builder", "bud", "--quiet=true", "ctx"]);
    let all = quiet.stdout + &quiet.stderr;
    assert!(!all.contains("RUN echo built"), "{all}");
    let bad = st.run(&["builder", "images", "--all=maybe"]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
    // The verbs' booleans.
    let c = st
        .ok(&["builder", "from", "-q", "localhost/built:1"])
        .stdout;
    let c = c.trim();
    let r = st.ok(&[
        "builder",
        "run",
        "--terminal=false",
        c,
        "--",
        "cat",
        "/built",
    ]);
    assert_eq!(r.stdout, "built\n");
    st.ok(&[
        "builder",
        "commit",
        "-q",
        "--rm=true",
        c,
        "localhost/built:2",
    ]);
    assert_eq!(st.ok(&["builder", "containers", "-q"]).stdout, "");
    let c2 = st
        .ok(&["builder", "from", "-q", "localhost/built:2"])
        .stdout;
    st.ok(&[
        "builder",
        "commit",
        "-q",
        "--rm=false",
        c2.trim(),
        "localhost/built:3",
    ]);
    assert_eq!(
        st.ok(&["builder", "containers", "--all=false", "--quiet=true"])
            .stdout
            .lines()
            .count(),
        1,
        "--rm=false left it"
    );
    st.ok(&["builder", "rm", "--all=true"]);
    let images = json(&st.ok(&["builder", "images", "--json=true"]).stdout);
    assert!(images.as_array().unwrap().len() >= 3, "{images}");
    assert_eq!(
        st.ok(&["builder", "images", "--json=false", "-q", "--all=true"])
            .stdout
            .lines()
            .count(),
        st.ok(&["images", "-q", "-a"]).stdout.lines().count()
    );
    st.ok(&[
        "builder",
        "manifest",
        "create",
        "--all=true",
        "localhost/list",
    ]);
    st.ok(&["builder", "manifest", "rm", "localhost/list"]);
    // podman's commit -p leaves the container's name and the image's in place.
    st.ok(&["run", "--name", "p", "localhost/bb:1", "true"]);
    st.ok(&["commit", "-q", "-p", "p", "localhost/paused:1"]);
    st.ok(&["image", "exists", "localhost/paused:1"]);
    st.ok(&["rm", "p"]);
    st.ok(&["rmi", "--all=false", "localhost/paused:1"]);
    st.assert_clean();
}

/// A flag's value may start with `-` (`config --cmd '-c "echo hi"'`), and
/// `--cmd` splits words as buildah does (quotes kept together).
#[test]
fn config_values_may_start_with_a_dash() {
    let st = Store::new();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    st.ok(&[
        "builder",
        "config",
        "--entrypoint",
        r#"["/bin/sh"]"#,
        "--cmd",
        r#"-c "echo hi""#,
        "--label",
        "-l=1",
        "--env",
        "-X=1",
        c,
    ]);
    st.ok(&["builder", "commit", "-q", "--rm", c, "localhost/dash:1"]);
    let config = st.config("localhost/dash:1");
    assert_eq!(config["Cmd"], serde_json::json!(["-c", "echo hi"]));
    assert_eq!(config["Labels"]["-l"], "1");
    assert!(
        config["Env"].as_array().unwrap().contains(&"-X=1".into()),
        "{config}"
    );
    assert_eq!(st.ok(&["run", "--rm", "localhost/dash:1"]).stdout, "hi\n");
    let r = st.run(&["builder", "from", "-q", "localhost/dash:1"]);
    let c = r.stdout.trim();
    let bad = st.run(&["builder", "config", "--cmd", r#"echo "open"#, c]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("invalid command line string"),
        "{}",
        bad.stderr
    );
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

/// `add` and `copy` download a URL as buildah's do: into DEST (under the URL's
/// file name when DEST is a directory), 0600 unless `--chmod`, owned as
/// `--chown` says, and an archive from a URL is left packed.
#[test]
fn add_and_copy_download_urls() {
    let st = Store::new();
    let base = berth_testkit::files::serve(vec![
        ("/file.txt", b"hello\n".to_vec()),
        ("/a.tar", tar_of(&[("inside.txt", "packed\n")])),
    ])
    .expect("a file server on 127.0.0.1");
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    let url = |p: &str| format!("{base}{p}");
    st.ok(&["builder", "add", "-q", c, &url("/file.txt"), "/dest"]);
    st.ok(&[
        "builder",
        "add",
        "-q",
        "--chmod",
        "755",
        "--chown",
        "1:2",
        c,
        &url("/file.txt"),
        "/d2/",
    ]);
    st.ok(&["builder", "add", "-q", c, &url("/a.tar"), "/d3/"]);
    st.ok(&["builder", "copy", "-q", c, &url("/file.txt"), "/d4"]);
    let r = st.ok(&[
        "builder",
        "run",
        c,
        "--",
        "sh",
        "-c",
        "stat -c '%n %a %u:%g' /dest /d2/file.txt /d3/a.tar /d4; cat /dest; ls /d3",
    ]);
    assert_eq!(
        r.stdout,
        "/dest 600 0:0\n/d2/file.txt 755 1:2\n/d3/a.tar 600 0:0\n/d4 600 0:0\nhello\na.tar\n"
    );
    let r = st.run(&["builder", "add", c, &url("/missing"), "/m"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("/missing"), "{}", r.stderr);
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

/// `copy` and `add` print the digest of what they copied, as buildah does: the
/// same content gives the same digest whatever its files' times; `-q` prints
/// nothing.
#[test]
fn copy_and_add_print_the_content_digest() {
    let st = Store::new();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    let f = st.write("f.txt", "one\n");
    let copy = |verb: &str| st.ok(&["builder", verb, c, "f.txt", "/f"]).stdout;
    let first = copy("copy");
    let hex = first.trim_end();
    assert!(
        first.ends_with('\n') && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{first:?}"
    );
    let file = std::fs::File::options().write(true).open(&f).unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(copy("add"), first, "only the content counts");
    st.write("f.txt", "two\n");
    assert_ne!(copy("copy"), first);
    for verb in ["copy", "add"] {
        let r = st.ok(&["builder", verb, "-q", c, "f.txt", "/f"]);
        assert_eq!(r.stdout, "", "{verb} -q");
    }
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

/// buildah's registry and trust flags on copy, add, commit, push and manifest:
/// accepted, and honoured where the verb reaches a registry: `commit CTR
/// docker://…` writes the image there and keeps nothing in the store, `copy
/// --from docker://…` pulls the image under the trust policy given.
#[test]
fn registry_flags_reach_the_registry_from_copy_and_commit() {
    let reg = support::registry::Registry::start().expect("registry");
    let st = Store::new();
    let remote = format!("docker://{}/x/made:1", reg.addr());
    let policy = st.write(
        "policy.json",
        r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
    );
    let reject = st.write("reject.json", r#"{"default": [{"type": "reject"}]}"#);
    let policy = policy.to_str().unwrap();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    st.write("f.txt", "from the registry\n");
    let flags = [
        "--tls-verify=false",
        "--signature-policy",
        policy,
        "--cert-dir",
        "/nonexistent",
        "--creds",
        "u:p",
    ];
    for verb in ["copy", "add"] {
        let mut args = vec!["builder", verb, "-q"];
        args.extend(flags);
        args.extend([c, "f.txt", "/f.txt"]);
        st.ok(&args);
    }
    let images = |st: &Store| st.ok(&["images", "-q", "-a"]).stdout;
    let before = images(&st);
    let mut args = vec!["builder", "commit", "-q"];
    args.extend(flags);
    args.extend([c, remote.as_str()]);
    let r = st.ok(&args);
    assert_eq!(r.stdout, "", "no ID for an image written elsewhere");
    assert_eq!(images(&st), before, "the store keeps nothing of it");
    // The registry has it: copy --from pulls it, under the policy given.
    let c2 = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c2 = c2.trim();
    let from = |policy: &str| {
        st.run(&[
            "builder",
            "copy",
            "-q",
            "--tls-verify=false",
            "--signature-policy",
            policy,
            "--from",
            &remote,
            c2,
            "/f.txt",
            "/again.txt",
        ])
    };
    let refused = from(reject.to_str().unwrap());
    assert_eq!(refused.code, 125, "{}", refused.stderr);
    let r = from(policy);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = st.ok(&["builder", "run", c2, "--", "cat", "/again.txt"]);
    assert_eq!(r.stdout, "from the registry\n");
    // buildah checks commit's authfile before anything else.
    let r = st.run(&[
        "builder",
        "commit",
        "--authfile",
        "/nonexistent.json",
        c2,
        "x",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent.json"), "{}", r.stderr);
    // push and manifest verbs take them too.
    st.ok(&[
        "builder",
        "push",
        "-q",
        "--tls-verify=false",
        "--signature-policy",
        policy,
        "localhost/bb:1",
        &remote,
    ]);
    st.ok(&[
        "builder",
        "manifest",
        "create",
        "--tls-verify=false",
        "localhost/list",
        &remote,
    ]);
    st.ok(&[
        "builder",
        "manifest",
        "push",
        "-q",
        "--tls-verify=false",
        "--signature-policy",
        policy,
        "localhost/list",
        // Where its one image already is.
        &format!("docker://{}/x/made:list", reg.addr()),
    ]);
    st.ok(&["builder", "manifest", "rm", "localhost/list"]);
    st.ok(&["builder", "rm", "-a"]);
    st.assert_clean();
}

/// `mount` alone lists the working containers mounted now (vfs's as
/// overlay's); `containers` lists them oldest first, `-q`, `--format` and
/// `--json` with full IDs (the table cuts them), `--json` under buildah's keys.
#[test]
fn mount_lists_the_mounted_and_containers_lists_in_creation_order() {
    for driver in ["overlay", "vfs"] {
        let st = Store::with_driver(driver);
        let names: Vec<String> = (0..3)
            .map(|_| {
                let n = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
                n.trim().to_string()
            })
            .collect();
        let id = |n: &str| {
            st.ok(&["builder", "inspect", "--format", "{{.ContainerID}}", n])
                .stdout
                .trim()
                .to_string()
        };
        let ids: Vec<String> = names.iter().map(|n| id(n)).collect();
        assert!(ids.iter().all(|i| i.len() == 64), "{ids:?}");
        // What run and copy mount, they unmount.
        st.ok(&["builder", "run", &names[0], "--", "true"]);
        st.write("f.txt", "x");
        st.ok(&["builder", "copy", "-q", &names[0], "f.txt", "/f"]);
        assert_eq!(st.ok(&["builder", "mount"]).stdout, "", "{driver}");
        let at = st.ok(&["builder", "mount", &names[1]]).stdout;
        assert_eq!(
            st.ok(&["builder", "mount"]).stdout,
            format!("{} {at}", names[1]),
            "{driver}"
        );
        assert_eq!(
            st.ok(&["builder", "containers", "-q"]).stdout,
            format!("{}\n", ids.join("\n")),
            "{driver}"
        );
        assert_eq!(
            st.ok(&[
                "builder",
                "containers",
                "--format",
                "{{.ContainerID}} {{.ContainerName}}"
            ])
            .stdout,
            ids.iter()
                .zip(&names)
                .map(|(i, n)| format!("{i} {n}\n"))
                .collect::<String>()
        );
        let table = st.ok(&["builder", "containers", "--noheading"]).stdout;
        let first: Vec<&str> = table
            .lines()
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(first, ids.iter().map(|i| &i[..12]).collect::<Vec<_>>());
        let listed = json(&st.ok(&["builder", "containers", "--json"]).stdout);
        assert_eq!(listed[2]["id"], ids[2].as_str());
        assert_eq!(listed[2]["containername"], names[2].as_str());
        assert_eq!(listed[2]["builder"], true);
        st.ok(&["builder", "umount", &names[1]]);
        assert_eq!(st.ok(&["builder", "mount"]).stdout, "", "{driver}");
        st.ok(&["builder", "rm", "-a"]);
        st.assert_clean();
    }
}

/// `builder rmi` reports as buildah's: `untagged: NAME` for each name, then the
/// bare ID of each image deleted; podman's `rmi` keeps its own words.
#[test]
fn builder_rmi_reports_in_buildahs_words() {
    let st = Store::new();
    let id = st
        .ok(&["image", "inspect", "--format", "{{.Id}}", "localhost/bb:1"])
        .stdout;
    let id = id.trim();
    st.ok(&["tag", "localhost/bb:1", "t1", "t2", "t3"]);
    assert_eq!(
        st.ok(&["builder", "rmi", "t1"]).stdout,
        "untagged: localhost/t1:latest\n"
    );
    assert_eq!(
        st.ok(&["rmi", "t2"]).stdout,
        "Untagged: localhost/t2:latest\n"
    );
    assert_eq!(
        st.ok(&["builder", "rmi", "-f", id]).stdout,
        format!("untagged: localhost/bb:1\nuntagged: localhost/t3:latest\n{id}\n")
    );
    st.ok(&[
        "import",
        "-q",
        st.path("rootfs.tar").to_str().unwrap(),
        "localhost/bb:1",
    ]);
    let id = st
        .ok(&["image", "inspect", "--format", "{{.Id}}", "localhost/bb:1"])
        .stdout;
    assert_eq!(
        st.ok(&["rmi", "localhost/bb:1"]).stdout,
        format!("Untagged: localhost/bb:1\nDeleted: {id}")
    );
    st.assert_clean();
}

/// buildah's `run` flags: an overlay volume leaves its source as it was, a
/// cache mount keeps its files from one run to the next, a propagation option
/// reaches the mount, and the namespace, hosts and isolation flags do what
/// buildah's do.
#[test]
fn run_takes_overlay_volumes_caches_and_buildahs_namespace_flags() {
    let st = Store::new();
    let src = st.write("src/f", "original\n");
    let src_dir = src.parent().unwrap().to_str().unwrap().to_string();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    let sh = |flags: &[&str], script: &str| {
        let mut args = vec!["builder", "run"];
        args.extend_from_slice(flags);
        args.extend([c, "--", "sh", "-c", script]);
        st.ok(&args).stdout
    };
    // :O — the command writes, the source stays as it was.
    let o = format!("{src_dir}:/o:O");
    let out = sh(
        &["-v", &o],
        "echo changed > /o/f; echo new > /o/g; cat /o/f /o/g",
    );
    assert_eq!(out, "changed\nnew\n");
    assert_eq!(std::fs::read_to_string(&src).unwrap(), "original\n");
    assert!(!st.path("src/g").exists());
    // Each run starts again from the source.
    assert_eq!(sh(&["-v", &o], "cat /o/f; ls /o"), "original\nf\n");
    // A propagation option reaches the mount (mountinfo's optional fields).
    let shared = format!("{src_dir}:/p:rshared");
    let private = format!("{src_dir}:/p:rprivate");
    let peer = "grep ' /p ' /proc/self/mountinfo | grep -c shared: || true";
    assert_eq!(sh(&["-v", &shared], peer), "1\n");
    assert_eq!(sh(&["-v", &private], peer), "0\n");
    // type=cache: what one run leaves, the next finds; the container's own
    // root does not get it.
    let cache = ["--mount", "type=cache,target=/cache"];
    sh(&cache, "echo kept > /cache/k");
    assert_eq!(sh(&cache, "cat /cache/k"), "kept\n");
    assert_eq!(sh(&[], "ls -A /cache 2>/dev/null; true"), "");
    // --pid/--ipc/--uts/--cgroupns host: the host's namespaces; private: not.
    for ns in ["pid", "ipc", "uts", "cgroup"] {
        let mine = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let mine = format!("{}\n", mine.display());
        let flag = match ns {
            "cgroup" => "--cgroupns".to_string(),
            n => format!("--{n}"),
        };
        let probe = format!("readlink /proc/self/ns/{ns}");
        assert_eq!(sh(&[&flag, "host"], &probe), mine, "{flag} host");
        assert_ne!(sh(&[&flag, "private"], &probe), mine, "{flag} private");
    }
    let r = st.run(&["builder", "run", "--pid", "/proc/1/ns/pid", c, "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("use host or private"), "{}", r.stderr);
    // --no-hosts: the image's /etc/hosts, not the one made for the run.
    let hosts = st.write("hosts", "10.1.2.3 mine\n");
    st.ok(&[
        "builder",
        "copy",
        "-q",
        c,
        hosts.to_str().unwrap(),
        "/etc/hosts",
    ]);
    assert_eq!(sh(&["--no-hosts"], "cat /etc/hosts"), "10.1.2.3 mine\n");
    assert!(sh(&[], "cat /etc/hosts").contains("localhost"));
    // --isolation and --net are buildah's spellings; a bad isolation is refused.
    let out = sh(
        &["--isolation", "chroot", "--net", "none", "--tty=false"],
        "echo ok",
    );
    assert_eq!(out, "ok\n");
    let r = st.run(&["builder", "run", "--isolation", "vm", c, "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // podman's containers have no :O.
    let r = st.run(&["create", "-v", &o, "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("builder run"), "{}", r.stderr);
    // --contextdir: a relative bind source is a path in it, never outside.
    st.write("rctx/sub/f", "in context\n");
    st.write("outside/g", "out\n");
    let rctx = st.path("rctx");
    let rctx = rctx.to_str().unwrap();
    let bind = [
        "--contextdir",
        rctx,
        "--mount",
        "type=bind,src=sub,target=/m",
    ];
    assert_eq!(sh(&bind, "cat /m/f"), "in context\n");
    let r = st.run(&[
        "builder",
        "run",
        "--contextdir",
        rctx,
        "--mount",
        "type=bind,src=../outside,target=/m",
        c,
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("context directory"), "{}", r.stderr);
    // --add-history: the command in the image's history, as buildah writes it.
    st.ok(&[
        "builder",
        "run",
        "--add-history",
        c,
        "--",
        "sh",
        "-c",
        "echo x",
    ]);
    st.ok(&["builder", "commit", "-q", c, "localhost/ran"]);
    let cfg = image_config(&st, "localhost/ran");
    let history = cfg["history"].as_array().unwrap();
    assert_eq!(
        history[history.len() - 2]["created_by"],
        "/bin/sh -c sh -c echo x"
    );
    let r = st.run(&["builder", "run", "--no-pivot", c, "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("pivot"), "{}", r.stderr);
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

/// buildah's `from` flags that reach every `run` in the working container:
/// limits, /dev/shm, hosts and DNS, namespaces and network; and those about
/// the pull and the container itself.
#[test]
fn froms_namespaces_dns_and_cpu_flags_reach_every_run() {
    let st = Store::new();
    let cid = st.path("cid");
    let c = st
        .ok(&[
            "builder",
            "from",
            "-q",
            "--pull-never",
            "--isolation",
            "chroot",
            "--format",
            "docker",
            "--cidfile",
            cid.to_str().unwrap(),
            "--os",
            "linux",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "-m",
            "64m",
            "--shm-size",
            "1m",
            "--add-host",
            "h1:10.9.8.7",
            "--dns",
            "10.0.0.53",
            "--dns-search",
            "example.test",
            "--dns-option",
            "ndots:3",
            "--pid",
            "host",
            "--network",
            "host",
            "--userns",
            "host",
            "--retry",
            "1",
            "--retry-delay",
            "1s",
            "localhost/bb:1",
        ])
        .stdout;
    let c = c.trim();
    let id = std::fs::read_to_string(&cid).unwrap();
    assert_eq!(id.len(), 64, "{id}");
    let script = "cat /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
                  /sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1; \
                  grep h1 /etc/hosts; cat /etc/resolv.conf; readlink /proc/self/ns/pid; readlink /proc/self/ns/net";
    let out = st
        .ok(&["builder", "run", c, "--", "sh", "-c", script])
        .stdout;
    let ns = |n: &str| std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
    let (pid, net) = (ns("pid"), ns("net"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..3], ["50000", "25000", "67108864"], "{out}");
    assert!(lines[3].split_whitespace().nth(1) == Some("1024"), "{out}");
    assert_eq!(
        lines[4..],
        [
            "10.9.8.7\th1",
            "search example.test",
            "nameserver 10.0.0.53",
            "options ndots:3",
            pid.to_str().unwrap(),
            net.to_str().unwrap(),
        ],
        "{out}"
    );
    // The container's record says so too, as podman's inspect shows it.
    let limits = st
        .ok(&[
            "container",
            "inspect",
            c,
            "--format",
            "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}",
        ])
        .stdout;
    assert_eq!(limits, "50000 25000\n");
    // A run's own flags win over from's.
    let out = st
        .ok(&[
            "builder",
            "run",
            "--pid",
            "private",
            "--net",
            "none",
            c,
            "--",
            "readlink",
            "/proc/self/ns/pid",
        ])
        .stdout;
    assert_ne!(out.trim(), pid.to_str().unwrap());
    // The ID file is the container's, and a second one is refused before
    // anything is made.
    st.ok(&["builder", "rm", id.trim()]);
    let r = st.run(&[
        "builder",
        "from",
        "--cidfile",
        cid.to_str().unwrap(),
        "localhost/bb:1",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("container id file exists"),
        "{}",
        r.stderr
    );
    // What berth cannot give is refused, not ignored.
    let r = st.run(&["builder", "from", "--userns", "container", "localhost/bb:1"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("--userns-uid-map"), "{}", r.stderr);
    // --pull-never does not pull what is missing.
    let r = st.run(&["builder", "from", "--pull-never", "localhost/absent:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.assert_clean();
}

/// The image config a commit writes, as `image inspect --config` reads it.
fn image_config(st: &Store, image: &str) -> serde_json::Value {
    let store_ref = format!("containers-storage:{image}");
    json(&st.ok(&["image", "inspect", "--config", &store_ref]).stdout)
}

/// buildah's `config` flags for the image's platform, the history and
/// Docker's hostname and domain name, read back from the committed config.
#[test]
fn config_sets_the_platform_history_and_docker_names() {
    let st = Store::new();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    st.ok(&[
        "builder",
        "config",
        "--os",
        "freebsd",
        "--arch",
        "arm64",
        "--variant",
        "v8",
        "--os-version",
        "10.0.1",
        "--os-feature",
        "f1",
        "--os-feature",
        "f2",
        "--history-comment",
        "made here",
        "--hostname",
        "hh",
        "--domainname",
        "dom.example",
        "--add-history",
        "--env",
        "A=b",
        "--cmd",
        "echo hi",
        c,
    ]);
    st.ok(&["builder", "config", "--os-feature", "f1-", c]);
    let r = st.ok(&["builder", "commit", "-q", c, "localhost/oci-img"]);
    // OCI has no hostname: said, as buildah says it.
    assert!(
        r.stderr.contains("HOSTNAME is not supported for OCI"),
        "{}",
        r.stderr
    );
    let cfg = image_config(&st, "localhost/oci-img");
    assert_eq!(
        (
            &cfg["os"],
            &cfg["architecture"],
            &cfg["variant"],
            &cfg["os.version"]
        ),
        (
            &"freebsd".into(),
            &"arm64".into(),
            &"v8".into(),
            &"10.0.1".into()
        )
    );
    assert_eq!(cfg["os.features"], serde_json::json!(["f2"]));
    assert!(cfg["config"].get("Hostname").is_none(), "{cfg}");
    let history = cfg["history"].as_array().unwrap();
    let tail: Vec<(&str, bool)> = history[history.len() - 3..]
        .iter()
        .map(|h| (h["created_by"].as_str().unwrap(), h["empty_layer"] == true))
        .collect();
    assert_eq!(
        tail,
        [
            ("/bin/sh -c #(nop) CMD echo hi", true),
            ("/bin/sh -c #(nop) ENV A=b", true),
            ("berth builder", false)
        ]
    );
    assert_eq!(history.last().unwrap()["comment"], "made here");
    // Docker's format keeps them.
    st.ok(&[
        "builder",
        "commit",
        "-q",
        "--format",
        "docker",
        c,
        "localhost/docker-img",
    ]);
    let cfg = image_config(&st, "localhost/docker-img");
    assert_eq!(
        (&cfg["config"]["Hostname"], &cfg["config"]["Domainname"]),
        (&"hh".into(), &"dom.example".into())
    );
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

/// buildah's `commit` flags: a fixed timestamp everywhere it goes, no
/// history, the image added to a manifest list, uncompressed layers, and an
/// OCI archive as the destination.
#[test]
fn commit_takes_a_timestamp_a_manifest_list_and_an_archive() {
    let st = Store::new();
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    st.ok(&["builder", "run", c, "--", "sh", "-c", "echo x > /made"]);
    st.ok(&["builder", "config", "--env", "GONE=1", "--env", "KEPT=1", c]);
    st.ok(&[
        "builder",
        "commit",
        "-q",
        "--timestamp",
        "1000",
        "--omit-history",
        "--identity-label=false",
        "--manifest",
        "localhost/list",
        "--unsetenv",
        "GONE",
        c,
        "localhost/stamped",
    ]);
    let cfg = image_config(&st, "localhost/stamped");
    assert_eq!(cfg["created"], "1970-01-01T00:16:40Z");
    assert!(cfg.get("history").is_none(), "{cfg}");
    let env = cfg["config"]["Env"].as_array().cloned().unwrap_or_default();
    assert_eq!(env, [serde_json::json!("KEPT=1")], "{cfg}");
    let entries = last_layer_entries(&st, "localhost/stamped");
    assert!(entries.iter().any(|(p, _)| p == "made"), "{entries:?}");
    assert!(entries.iter().all(|(_, t)| *t == 1000), "{entries:?}");
    // In the list, by the image's manifest digest.
    let list = json(&st.ok(&["manifest", "inspect", "localhost/list"]).stdout);
    assert_eq!(list["manifests"].as_array().unwrap().len(), 1, "{list}");
    // Elsewhere than a registry: uncompressed unless told otherwise.
    let layer_types = |dir: &str, flags: &[&str]| {
        let out = st.path(dir);
        let dest = format!("oci:{}:t", out.display());
        let mut args = vec!["builder", "commit", "-q"];
        args.extend_from_slice(flags);
        args.extend([c, dest.as_str()]);
        st.ok(&args);
        let m = oci_manifest(&out, "t");
        let types: Vec<String> = m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["mediaType"].as_str().unwrap().to_string())
            .collect();
        types
    };
    let plain = layer_types("plain", &["--disable-compression"]);
    assert!(plain.iter().all(|t| t.ends_with(".tar")), "{plain:?}");
    let packed = layer_types("packed", &["--disable-compression=false"]);
    assert!(packed.iter().all(|t| t.ends_with("+gzip")), "{packed:?}");
    let archive = st.path("img.tar");
    let dest = format!("oci-archive:{}", archive.display());
    st.ok(&["builder", "commit", "-q", c, &dest]);
    let r = st.ok(&["image", "inspect", "--config", &dest]);
    assert_eq!(json(&r.stdout)["os"], "linux");
    // A list cannot take an image the store does not keep.
    let r = st.run(&[
        "builder",
        "commit",
        "--manifest",
        "localhost/list",
        c,
        &dest,
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["builder", "rm", c]);
    st.ok(&["manifest", "rm", "localhost/list"]);
    st.assert_clean();
}

/// buildah's `bud` flags for every RUN (limits, hosts, DNS, capabilities,
/// environment) and for the build itself (--from, --omit-history,
/// --manifest, --skip-unused-stages), read back from what RUN wrote into
/// the image and from the image's config.
#[test]
fn bud_takes_buildahs_run_and_image_flags() {
    let st = Store::new();
    st.write(
        "ctx/Containerfile",
        "FROM localhost/absent:1\n\
         RUN cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.limit_in_bytes > /out; \
         grep h1 /etc/hosts >> /out; grep nameserver /etc/resolv.conf >> /out; \
         grep CapEff /proc/self/status >> /out; echo \"$FOO\" >> /out; \
         (ls /etc/hosts 2>/dev/null || echo no-hosts) >> /out\n\
         FROM localhost/bb:1 AS unused\n\
         RUN echo built-unused\n\
         FROM localhost/bb:1\n\
         ENV KEEP=1 DROP=2\n\
         COPY --from=0 /out /out\n",
    );
    let ctx = st.path("ctx");
    let r = st.ok(&[
        "builder",
        "bud",
        "--from",
        "localhost/bb:1",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "-m",
        "64m",
        "--add-host",
        "h1:10.9.8.7",
        "--dns",
        "10.0.0.53",
        "--cap-drop",
        "CHOWN",
        "--cap-add",
        "NET_RAW",
        "--env",
        "FOO=bar",
        "--force-rm",
        "--isolation",
        "chroot",
        "--identity-label=false",
        "--omit-history",
        "--manifest",
        "localhost/blist",
        "--retry",
        "1",
        "--unsetenv",
        "DROP",
        "--os-version",
        "10.1",
        "--os-feature",
        "f1",
        "--userns",
        "host",
        "--compress",
        "--disable-content-trust",
        "--disable-compression=false",
        "-t",
        "localhost/built",
        ctx.to_str().unwrap(),
    ]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("built-unused"), "{all}");
    let out = st
        .ok(&["run", "--rm", "localhost/built", "cat", "/out"])
        .stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..4],
        ["25000", "67108864", "10.9.8.7\th1", "nameserver 10.0.0.53"],
        "{out}"
    );
    // CHOWN (bit 0) gone, NET_RAW (bit 13) there.
    let caps = lines[4].strip_prefix("CapEff:\t").unwrap();
    let caps = u64::from_str_radix(caps, 16).unwrap();
    assert_eq!((caps & 1, caps >> 13 & 1), (0, 1), "{out}");
    assert_eq!(lines[5], "bar");
    let cfg = image_config(&st, "localhost/built");
    assert!(cfg.get("history").is_none(), "{cfg}");
    let env = cfg["config"]["Env"].as_array().unwrap();
    assert!(env.contains(&"FOO=bar".into()), "{cfg}");
    assert!(env.contains(&"KEEP=1".into()), "{cfg}");
    assert!(!env.contains(&"DROP=2".into()), "{cfg}");
    assert_eq!(
        (&cfg["os.version"], &cfg["os.features"]),
        (&"10.1".into(), &serde_json::json!(["f1"]))
    );
    let list = json(&st.ok(&["manifest", "inspect", "localhost/blist"]).stdout);
    assert_eq!(list["manifests"].as_array().unwrap().len(), 1, "{list}");
    // Every stage, and no /etc/hosts made for RUN.
    let r = st.ok(&[
        "builder",
        "bud",
        "--from",
        "localhost/bb:1",
        "--skip-unused-stages=false",
        "--no-hosts",
        "-t",
        "localhost/built2",
        ctx.to_str().unwrap(),
    ]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("built-unused"), "{all}");
    let out = st
        .ok(&["run", "--rm", "localhost/built2", "cat", "/out"])
        .stdout;
    assert_eq!(out.lines().last(), Some("no-hosts"), "{out}{all}");
    let r = st.run(&[
        "builder",
        "bud",
        "--no-hosts",
        "--add-host",
        "a:1.2.3.4",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("--no-hosts and --add-host"),
        "{}",
        r.stderr
    );
    st.ok(&["manifest", "rm", "localhost/blist"]);
    st.ok(&["rmi", "-f", "localhost/built", "localhost/built2"]);
    st.assert_clean();
}

/// buildah's smaller flags: containers --filter, mount --json, umount --all,
/// rmi --prune, images --history, copy --contextdir/--ignorefile/--add-history,
/// push's and pull's, manifest create --amend and manifest push --format.
#[test]
fn buildahs_smaller_flags_do_what_buildahs_do() {
    let st = Store::new();
    let c = st
        .ok(&[
            "builder",
            "from",
            "-q",
            "--name",
            "flt-one",
            "localhost/bb:1",
        ])
        .stdout;
    let c = c.trim();
    let names = |filter: &str| {
        let f = format!("--filter={filter}");
        st.ok(&[
            "builder",
            "containers",
            &f,
            "--format",
            "{{.ContainerName}}",
        ])
        .stdout
    };
    assert_eq!(names("name=flt"), "flt-one\n");
    assert_eq!(names("name=other"), "");
    assert_eq!(names("ancestor=localhost/bb"), "flt-one\n");
    assert_eq!(names("ancestor=bb:1,name=flt"), "flt-one\n");
    let r = st.run(&["builder", "containers", "--filter", "bogus=1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // mount --json: the mount point alone for one container, with the name
    // when listing; umount --all unmounts them all.
    let one = json(&st.ok(&["builder", "mount", "--json", c]).stdout);
    let point = one[0]["mountPoint"].as_str().unwrap().to_string();
    assert!(one[0].get("container").is_none(), "{one}");
    let all = json(&st.ok(&["builder", "mount", "--json"]).stdout);
    assert_eq!(
        all,
        serde_json::json!([{"container": "flt-one", "mountPoint": point}])
    );
    let id = st.ok(&["builder", "umount", "--all"]).stdout;
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(st.ok(&["builder", "mount"]).stdout, "");
    // copy --contextdir: its ignore file excludes; a source outside is refused.
    st.write("ctx/d/a.txt", "a\n");
    st.write("ctx/d/b.log", "b\n");
    let ignore = st.write("ctx/.ig", "d/*.log\n");
    let ctx = st.path("ctx");
    let d = st.path("ctx/d");
    st.ok(&[
        "builder",
        "copy",
        "-q",
        "--add-history",
        "--contextdir",
        ctx.to_str().unwrap(),
        "--ignorefile",
        ignore.to_str().unwrap(),
        c,
        d.to_str().unwrap(),
        "/dst",
    ]);
    let ls = st.ok(&["builder", "run", c, "--", "ls", "/dst"]).stdout;
    assert_eq!(ls, "a.txt\n");
    let outside = st.write("elsewhere/x", "x\n");
    let r = st.run(&[
        "builder",
        "copy",
        "--contextdir",
        ctx.to_str().unwrap(),
        c,
        outside.to_str().unwrap(),
        "/x",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = st.run(&[
        "builder",
        "copy",
        "--ignorefile",
        ignore.to_str().unwrap(),
        c,
        d.to_str().unwrap(),
        "/y",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // The copy's history entry, then a dangling image for rmi --prune.
    st.ok(&["builder", "commit", "-q", c, "localhost/flags"]);
    let cfg = image_config(&st, "localhost/flags");
    let history = cfg["history"].as_array().unwrap();
    let copied = history[history.len() - 2]["created_by"].as_str().unwrap();
    assert!(
        copied.starts_with("/bin/sh -c #(nop) COPY dir:"),
        "{copied}"
    );
    let old = st
        .ok(&["images", "-q", "--no-trunc", "localhost/flags"])
        .stdout;
    st.ok(&["builder", "commit", "-q", c, "localhost/flags"]);
    let pruned = st.ok(&["builder", "rmi", "--prune"]).stdout;
    assert_eq!(
        pruned.trim(),
        old.trim().trim_start_matches("sha256:"),
        "{pruned}"
    );
    // images --history: the other names an image has had.
    st.ok(&["tag", "localhost/flags", "localhost/flags2"]);
    let table = st.ok(&["builder", "images", "--history"]).stdout;
    let head = table.lines().next().unwrap();
    assert!(head.ends_with("HISTORY"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("localhost/flags2"))
        .unwrap();
    assert!(row.ends_with("localhost/flags:latest"), "{table}");
    // push: uncompressed layers; pull: signatures are never kept anyway.
    let out = st.path("pushed");
    let dest = format!("oci:{}:t", out.display());
    st.ok(&[
        "builder",
        "push",
        "-q",
        "-D",
        "--compression-level",
        "5",
        "--remove-signatures",
        "--retry-delay",
        "1s",
        "localhost/flags",
        &dest,
    ]);
    // buildah's -D (--disable-compression), not berth's global --debug.
    let pushed = st.run(&["builder", "push", "-q", "-D", "localhost/flags", &dest]);
    assert!(!pushed.stderr.contains("level=debug"), "{}", pushed.stderr);
    let m = oci_manifest(&out, "t");
    assert!(
        m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["mediaType"] == "application/vnd.oci.image.layer.v1.tar"),
        "{m}"
    );
    st.ok(&[
        "builder",
        "pull",
        "-q",
        "--remove-signatures",
        "--retry-delay",
        "1s",
        &dest,
    ]);
    let r = st.run(&["builder", "pull", "--retry-delay", "soon", &dest]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("--retry-delay soon"), "{}", r.stderr);
    st.ok(&[
        "builder",
        "copy",
        "-q",
        "--retry",
        "1",
        "--retry-delay",
        "1s",
        "--from",
        &dest,
        c,
        "/bin/busybox",
        "/again",
    ]);
    // Lists: --amend adds to one already there; push --format v2s2; buildah's
    // push takes a list, and --rm removes it after.
    st.ok(&["manifest", "create", "localhost/flist"]);
    let r = st.run(&["manifest", "create", "localhost/flist"]);
    assert_eq!(r.code, 125);
    st.ok(&[
        "manifest",
        "create",
        "--amend",
        "localhost/flist",
        "localhost/flags",
    ]);
    let list = json(&st.ok(&["manifest", "inspect", "localhost/flist"]).stdout);
    assert_eq!(list["manifests"].as_array().unwrap().len(), 1, "{list}");
    let dir = st.path("listdir");
    st.ok(&[
        "manifest",
        "push",
        "-q",
        "--format",
        "v2s2",
        "--remove-signatures",
        "localhost/flist",
        &format!("dir:{}", dir.display()),
    ]);
    let top = json(&std::fs::read_to_string(dir.join("manifest.json")).unwrap());
    assert_eq!(
        top["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    let layout = st.path("listoci");
    st.ok(&[
        "builder",
        "push",
        "-q",
        "--all",
        "--rm",
        "localhost/flist",
        &format!("oci:{}:t", layout.display()),
    ]);
    assert_eq!(st.run(&["manifest", "exists", "localhost/flist"]).code, 1);
    // Signing a commit or a list is refused in words, not ignored.
    for args in [
        ["builder", "commit", "--sign-by", "ABCD", c],
        ["manifest", "push", "--sign-by", "ABCD", "localhost/flist"],
    ] {
        let r = st.run(&args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("--sign-by: "), "{}", r.stderr);
    }
    // info --debug: a debug key with berth's version.
    let info = json(&st.ok(&["builder", "info", "-d"]).stdout);
    assert!(info["debug"]["berth version"].is_string(), "{info}");
    assert!(
        json(&st.ok(&["builder", "info"]).stdout)
            .get("debug")
            .is_none()
    );
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}

/// buildah's `--http-proxy` (on by default): `run` and RUN get the proxy
/// variables of the environment berth is called from; `=false` keeps them
/// out.
#[test]
fn proxy_variables_reach_run_unless_http_proxy_is_false() {
    let st = Store::new();
    let proxied = |args: &[&str]| {
        let r = run_cmd(
            st.cmd()
                .env("https_proxy", "http://proxy.test:3128")
                .args(args),
        );
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.stdout
    };
    let on = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let off = st
        .ok(&[
            "builder",
            "from",
            "-q",
            "--http-proxy=false",
            "localhost/bb:1",
        ])
        .stdout;
    let probe = ["--", "sh", "-c", "echo \"p=$https_proxy\""];
    let run = |c: &str| {
        let mut args = vec!["builder", "run", c.trim()];
        args.extend(probe);
        proxied(&args)
    };
    assert_eq!(run(&on), "p=http://proxy.test:3128\n");
    assert_eq!(run(&off), "p=\n");
    // A variable the command is given stands.
    let given = proxied(&[
        "builder",
        "run",
        "-e",
        "https_proxy=mine",
        on.trim(),
        "--",
        "sh",
        "-c",
        "echo $https_proxy",
    ]);
    assert_eq!(given, "mine\n");
    st.write(
        "ctx/Containerfile",
        "FROM localhost/bb:1\nRUN echo \"p=$https_proxy\" > /p\n",
    );
    let ctx = st.path("ctx");
    proxied(&[
        "builder",
        "bud",
        "-q",
        "-t",
        "localhost/proxied",
        ctx.to_str().unwrap(),
    ]);
    let out = st
        .ok(&["run", "--rm", "localhost/proxied", "cat", "/p"])
        .stdout;
    assert_eq!(out, "p=http://proxy.test:3128\n");
    st.ok(&["builder", "rm", on.trim(), off.trim()]);
    st.ok(&["rmi", "localhost/proxied"]);
    st.assert_clean();
}

/// bud's --stdin (RUN reads it), --cache-ttl (an old cache is not used, 0 uses
/// none) and the flags berth does not serve, refused in words.
#[test]
fn bud_reads_stdin_bounds_the_cache_and_refuses_what_it_cannot_do() {
    use std::io::Write;
    let st = Store::new();
    st.write("ctx/Containerfile", "FROM localhost/bb:1\nRUN cat > /in\n");
    let ctx = st.path("ctx");
    let ctx = ctx.to_str().unwrap();
    let mut child = st
        .cmd()
        .args([
            "builder",
            "bud",
            "-q",
            "--stdin",
            "--layers=false",
            "-t",
            "localhost/stdin",
            ctx,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"fed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = st.ok(&["run", "--rm", "localhost/stdin", "cat", "/in"]);
    assert_eq!(r.stdout, "fed\n");
    // The cache (buildah's bud keeps one with --layers): used within the
    // TTL, not with 0.
    st.write(
        "ctx2/Containerfile",
        "FROM localhost/bb:1\nRUN echo cached > /c\n",
    );
    let ctx2 = st.path("ctx2");
    let ctx2 = ctx2.to_str().unwrap();
    let bud = |ttl: &str| {
        let r = st.ok(&[
            "builder",
            "bud",
            "--layers",
            "--cache-ttl",
            ttl,
            "-t",
            "localhost/ttl",
            ctx2,
        ]);
        format!("{}{}", r.stdout, r.stderr).contains("Using cache")
    };
    assert!(!bud("1h"), "nothing to use yet");
    assert!(bud("1h"));
    assert!(!bud("0"));
    for (flag, value) in [
        ("--cache-from", "reg/cache"),
        ("--cache-to", "reg/cache"),
        ("--sign-by", "ABCD"),
        ("--cpp-flag", "-DX"),
        ("--encryption-key", "jwe:/k.pem"),
    ] {
        let r = st.run(&["builder", "bud", flag, value, ctx2]);
        assert_eq!(r.code, 125, "{flag}: {}", r.stderr);
        assert!(
            r.stderr.contains(flag) && !r.stderr.contains("unexpected"),
            "{}",
            r.stderr
        );
    }
    let r = st.run(&["builder", "bud", "--all-platforms", ctx2]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("one platform"), "{}", r.stderr);
    // A user's /etc/subuid range, when it has none, is said so.
    let r = st.run(&[
        "builder",
        "from",
        "--userns-uid-map-user",
        "no-such-user-here",
        "localhost/bb:1",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no-such-user-here"), "{}", r.stderr);
    st.ok(&["rmi", "localhost/stdin", "localhost/ttl"]);
    st.assert_clean();
}

/// `run --network private` is buildah's: a namespace of the command's own on
/// the default network (containers.conf's netns; here a bridge), not
/// loopback alone; run in a network namespace the test makes, so the bridge
/// never touches the host's.
#[test]
fn run_network_private_joins_the_default_network() {
    let st = Store::new();
    let conf = st.write("bridged.conf", "[containers]\nnetns = \"bridge\"\n");
    let c = st.ok(&["builder", "from", "-q", "localhost/bb:1"]).stdout;
    let c = c.trim();
    // berth in a network namespace of the test's own, the bridge's home.
    let unshared = |args: &[&str]| {
        let store = st.cmd();
        let mut wrapped = Command::new("unshare");
        wrapped
            .arg("-n")
            .arg(store.get_program())
            .args(store.get_args())
            .envs(store.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("CONTAINERS_CONF", &conf)
            .current_dir(st.path(""))
            .args(args);
        let r = run_cmd(&mut wrapped);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.stdout
    };
    let names = |dev: &str| {
        dev.lines()
            .skip(2)
            .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
            .collect::<Vec<_>>()
    };
    let interfaces = |mode: &str| {
        names(&unshared(&[
            "builder",
            "run",
            "--network",
            mode,
            c,
            "--",
            "cat",
            "/proc/net/dev",
        ]))
    };
    assert_eq!(interfaces("none"), ["lo"]);
    let private = interfaces("private");
    assert!(private.contains(&"eth0".to_string()), "{private:?}");
    // bud's RUN too.
    st.write(
        "ctx/Containerfile",
        "FROM localhost/bb:1\nRUN cat /proc/net/dev > /dev.txt\n",
    );
    let ctx = st.path("ctx");
    unshared(&[
        "builder",
        "bud",
        "-q",
        "--network",
        "private",
        "-t",
        "localhost/net",
        ctx.to_str().unwrap(),
    ]);
    let dev = st
        .ok(&["run", "--rm", "localhost/net", "cat", "/dev.txt"])
        .stdout;
    assert!(names(&dev).contains(&"eth0".to_string()), "{dev}");
    st.ok(&["rmi", "localhost/net"]);
    st.ok(&["builder", "rm", c]);
    st.assert_clean();
}
