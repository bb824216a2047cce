//! `berth build` against `buildah bud`: a corpus of Containerfiles, each built
//! by both from the same base image and context; the two images must agree in
//! their config and in their file trees (paths, types, modes, owners, contents,
//! link targets).

mod common;
mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use support::fixtures;

struct Both {
    dir: tempfile::TempDir,
}

impl Both {
    fn new() -> Both {
        let b = Both {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            b.path("containers.conf"),
            "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        let tarball = b.path("rootfs.tar");
        std::fs::write(&tarball, fixtures::busybox_layer()).unwrap();
        ok_run(b.berth(&["import", "-q", tarball.to_str().unwrap(), "localhost/bb:1"]));
        let archive = b.path("base.tar");
        ok_run(b.berth(&[
            "save",
            "-q",
            "-o",
            archive.to_str().unwrap(),
            "localhost/bb:1",
        ]));
        ok_run(b.buildah(&[
            "pull",
            "-q",
            &format!("docker-archive:{}", archive.display()),
        ]));
        b
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn berth(&self, args: &[&str]) -> Command {
        let mut c = berth();
        c.arg("--root")
            .arg(self.path("berth-root"))
            .arg("--runroot")
            .arg(self.path("berth-run"))
            .args(["--storage-driver", "vfs"])
            .env("BERTH_OCI_EXE_DIR", self.path("exe"))
            .args(args);
        c
    }

    fn buildah(&self, args: &[&str]) -> Command {
        let mut c = Command::new("buildah");
        c.arg("--root")
            .arg(self.path("buildah-root"))
            .arg("--runroot")
            .arg(self.path("buildah-run"))
            .args(["--storage-driver", "vfs"])
            .env("CONTAINERS_CONF", self.path("containers.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
            .args(args);
        c
    }

    /// Builds `file` with both tools; returns each image's config and tree.
    fn build(
        &self,
        name: &str,
        file: &str,
        files: &[(&str, &str)],
    ) -> [(serde_json::Value, Tree); 2] {
        let ctx = self.path(&format!("ctx-{name}"));
        for (p, content) in files.iter().chain(&[("Containerfile", file)]) {
            let f = ctx.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, content).unwrap();
        }
        let tag = format!("localhost/{name}:1");
        let c = ctx.to_str().unwrap();
        ok_run(self.berth(&["build", "-q", "--format", "docker", "-t", &tag, c]));
        ok_run(self.buildah(&[
            "bud",
            "-q",
            "--runtime",
            "runc",
            "--isolation",
            "chroot",
            "--format",
            "docker",
            "--layers=false",
            "-t",
            &tag,
            c,
        ]));
        let ours =
            json(&ok_run(self.berth(&["image", "inspect", &tag])).stdout)[0]["Config"].clone();
        let theirs = json(&ok_run(self.buildah(&["inspect", "--type", "image", &tag])).stdout)["Docker"]["config"].clone();
        // buildah's image comes over as an OCI layout (no working container:
        // `buildah from` would run the ONBUILD triggers); both trees are read
        // through berth working containers.
        let layout = self.path(&format!("buildah-{name}"));
        ok_run(self.buildah(&["push", "-q", &tag, &format!("oci:{}:x", layout.display())]));
        let theirs_name = format!("localhost/buildah-{name}:1");
        ok_run(self.berth(&[
            "image",
            "copy",
            "-q",
            &format!("oci:{}:x", layout.display()),
            &format!("containers-storage:{theirs_name}"),
        ]));
        let tree_of = |image: &str| {
            let c = ok_run(self.berth(&["builder", "from", "--pull=never", image])).stdout;
            let m = ok_run(self.berth(&["builder", "mount", c.trim()])).stdout;
            let t = tree(Path::new(m.trim()));
            ok_run(self.berth(&["builder", "rm", c.trim()]));
            t
        };
        [(ours, tree_of(&tag)), (theirs, tree_of(&theirs_name))]
    }
}

impl Drop for Both {
    fn drop(&mut self) {
        let _ = self.buildah(&["rm", "-a"]).output();
        let _ = self.buildah(&["rmi", "-af"]).output();
        let _ = self.berth(&["builder", "rm", "-a"]).output();
        let _ = self.berth(&["rm", "-af"]).output();
        if let Ok(entries) = std::fs::read_dir(self.path("exe")) {
            // The runtime's read-only images; the lock file beside them is not one.
            for e in entries.flatten().filter(|e| e.file_name() != ".lock") {
                let _ = Command::new("umount").arg("-l").arg(e.path()).status();
            }
        }
    }
}

fn ok_run(mut c: Command) -> Run {
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 0, "{c:?}: {}", r.stderr);
    r
}

/// Path → what a user would see of it (mtimes aside).
type Tree = BTreeMap<String, String>;

fn tree(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let what = if md.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                "dir".to_string()
            } else if md.is_file() {
                let data = std::fs::read(&p).unwrap();
                use sha2::Digest;
                format!("file {:x}", sha2::Sha256::digest(&data))
            } else {
                format!("special {:o}", md.mode() & 0o170000)
            };
            out.insert(
                rel,
                format!("{what} {:o} {}:{}", md.mode() & 0o7777, md.uid(), md.gid()),
            );
            if md.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

const RUNTIME_MOUNT_POINTS: [&str; 7] = [
    "dev",
    "proc",
    "sys",
    "run",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
];

const FIELDS: [&str; 12] = [
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "Labels",
    "ExposedPorts",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "OnBuild",
    "Shell",
];

/// Empty lists, objects and strings count as absent (the tools differ only in
/// whether they write them out).
fn norm(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Array(a) if a.is_empty() => serde_json::Value::Null,
        serde_json::Value::Object(o) if o.is_empty() => serde_json::Value::Null,
        serde_json::Value::String(s) if s.is_empty() => serde_json::Value::Null,
        other => other.clone(),
    }
}

fn assert_same(name: &str, both: &[(serde_json::Value, Tree); 2]) {
    let [(ours, our_tree), (theirs, their_tree)] = both;
    // buildah signs its images with its version; berth does not.
    let mut theirs = theirs.clone();
    if let Some(l) = theirs["Labels"].as_object_mut() {
        l.remove("io.buildah.version");
    }
    for f in FIELDS {
        assert_eq!(
            norm(&ours[f]),
            norm(&theirs[f]),
            "{name}: config {f}\nberth:   {ours}\nbuildah: {theirs}"
        );
    }
    let only = |a: &Tree, b: &Tree| -> Vec<String> {
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: {v} / {}", b.get(k).map_or("-", String::as_str)))
            .collect()
    };
    let diff = only(our_tree, their_tree);
    // buildah 1.28 leaves the runtime's mount points of RUN in its images
    // (empty files and directories); berth's commits leave them out.
    let mount_point = |k: &str, v: &str| {
        RUNTIME_MOUNT_POINTS.contains(&k)
            && (v.starts_with("dir ")
                || v.starts_with(
                    "file e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ",
                ))
    };
    let missing: Vec<&String> = their_tree
        .iter()
        .filter(|(k, v)| !our_tree.contains_key(*k) && !mount_point(k, v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        diff.is_empty() && missing.is_empty(),
        "{name}: trees differ\nberth/buildah: {diff:#?}\nonly in buildah's: {missing:#?}"
    );
}

/// A name, a Containerfile, and the context's other files.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

#[test]
fn a_corpus_of_containerfiles_builds_as_buildah_builds_it() {
    if Command::new("buildah").arg("--version").output().is_err() {
        panic!("buildah is needed (scripts/install-deps.sh installs it)");
    }
    let both = Both::new();
    let corpus: &[Case] = &[
        (
            "config",
            "FROM localhost/bb:1
ARG VERSION=1.2
ENV APP=/srv/app PATH=/usr/local/bin:/bin VERSION=$VERSION
LABEL org.example.name=\"corpus\" org.example.version=$VERSION
EXPOSE 8080 53/udp
VOLUME /data /cache
WORKDIR $APP/sub
USER nobody
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --retries=3 CMD test -d /srv
SHELL [\"/bin/sh\", \"-ec\"]
ONBUILD RUN echo child
ENTRYPOINT [\"/bin/sh\", \"-c\"]
CMD [\"echo $APP\"]
",
            &[],
        ),
        (
            "files",
            "FROM localhost/bb:1
COPY a.txt /opt/a.txt
COPY --chown=nobody:nobody dir/ /opt/dir/
COPY --chmod=640 a.txt /opt/mode.txt
WORKDIR /opt/made/by/workdir
COPY *.cfg ./
RUN mkdir -p /var/lib/app && echo state > /var/lib/app/state && ln -s /var/lib/app/state /opt/link && chmod 700 /var/lib/app
RUN rm /opt/a.txt
CMD echo shell form
",
            &[
                ("a.txt", "a\n"),
                ("dir/x.txt", "x\n"),
                ("dir/sub/y.txt", "y\n"),
                ("one.cfg", "1\n"),
                ("two.cfg", "2\n"),
                ("ignored.txt", "no\n"),
            ],
        ),
        (
            "stages",
            "FROM localhost/bb:1 AS build
WORKDIR /work
RUN echo artifact > out.txt && mkdir -p tree/deep && echo deep > tree/deep/f
FROM localhost/bb:1 AS unused
RUN false
FROM localhost/bb:1
COPY --from=build /work/out.txt /app/
COPY --from=build /work/tree /app/tree
ENTRYPOINT /bin/cat /app/out.txt
",
            &[],
        ),
        (
            "add",
            "FROM localhost/bb:1
ADD archive.tar /opt/unpacked/
ADD archive.tar.gz /opt/gz/
COPY . /ctx/
RUN ls -R /ctx > /listing.txt
",
            &[
                (".containerignore", "*.log\nsecret/\n!secret/keep.txt\n"),
                ("app.log", "no\n"),
                ("keep.txt", "yes\n"),
                ("secret/hidden.txt", "no\n"),
                ("secret/keep.txt", "kept\n"),
            ],
        ),
        (
            // Destinations through symlinks of the image: Debian's /var/run
            // (/run is not compared: the runtime's), the like to /srv,
            // merged /usr's /lib, a dangling link, and links that would
            // climb out, which resolve inside the root.
            "symlinked-destinations",
            "FROM localhost/bb:1
RUN mkdir -p /var /usr/lib && ln -s /run /var/run && ln -s usr/lib /lib && ln -s ../../../../etc /escape && ln -s ../../.. /slash && ln -s /nowhere/yet /dangling && ln -s /srv /var/srv
COPY ok /var/run/
COPY ok /var/srv/
COPY ok /dangling/f
COPY ok /lib/sub/ok3
COPY ok /escape/x
COPY ok ok2 /slash/tmp/both/
WORKDIR /lib/wd
COPY ok here
",
            &[("ok", "ok\n"), ("ok2", "ok2\n")],
        ),
    ];
    // The archives ADD unpacks.
    let ctx = both.path("ctx-add");
    std::fs::create_dir_all(&ctx).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, body, mode) in [
        ("top.txt", "top\n", 0o644),
        ("bin/tool", "#!/bin/sh\n", 0o755),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    let tar_bytes = b.into_inner().unwrap();
    std::fs::write(ctx.join("archive.tar"), &tar_bytes).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
    std::fs::write(ctx.join("archive.tar.gz"), gz.finish().unwrap()).unwrap();
    for (name, file, files) in corpus {
        let built = both.build(name, file, files);
        assert_same(name, &built);
    }
}

/// `builder run` against `buildah run`: a command's own exit code passes
/// through; one that cannot be run at all (missing, not executable) is the
/// runtime's failure, 1, in both.
#[test]
fn builder_run_exits_as_buildah_run() {
    let b = Both::new();
    let ours = ok_run(b.berth(&["builder", "from", "-q", "localhost/bb:1"])).stdout;
    let theirs = ok_run(b.buildah(&["from", "-q", "localhost/bb:1"])).stdout;
    let (ours, theirs) = (ours.trim(), theirs.trim());
    for cmd in [
        &["nosuchcmd"][..],
        &["/etc/passwd"],
        &["sh", "-c", "exit 3"],
        &["true"],
    ] {
        let mut c = b.berth(&["builder", "run", ours, "--"]);
        c.args(cmd);
        let berth_code = run_cmd(&mut c).code;
        let mut c = b.buildah(&[
            "run",
            "--runtime",
            "runc",
            "--isolation",
            "chroot",
            theirs,
            "--",
        ]);
        c.args(cmd);
        let buildah_code = run_cmd(&mut c).code;
        assert_eq!(berth_code, buildah_code, "{cmd:?}");
    }
    ok_run(b.berth(&["builder", "rm", ours]));
    ok_run(b.buildah(&["rm", theirs]));
}

/// `builder from --pull[=…]` against `buildah from`: which policies leave a
/// local image standing and which ask its registry (one nobody serves, on a
/// closed loopback port), by exit code; the image name is never taken for the
/// flag's value.
#[test]
fn builder_from_pull_policies_act_as_buildahs() {
    let b = Both::new();
    let here = "127.0.0.1:1/x/here:1";
    ok_run(b.berth(&["tag", "localhost/bb:1", here]));
    ok_run(b.buildah(&["tag", "localhost/bb:1", here]));
    for image in [here, "127.0.0.1:1/x/missing:1"] {
        for pull in [
            "--pull",
            "--pull=true",
            "--pull=false",
            "--pull=never",
            "--pull=always",
        ] {
            let ours = run_cmd(&mut b.berth(&["builder", "from", "-q", pull, image]));
            let theirs = run_cmd(&mut b.buildah(&["from", "-q", pull, image]));
            assert_eq!(
                ours.code == 0,
                theirs.code == 0,
                "from {pull} {image}: berth {} ({}), buildah {} ({})",
                ours.code,
                ours.stderr,
                theirs.code,
                theirs.stderr
            );
        }
    }
    ok_run(b.berth(&["builder", "rm", "--all"]));
    ok_run(b.buildah(&["rm", "--all"]));
}
