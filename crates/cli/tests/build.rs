//! `berth build`: Containerfiles built through the engine and checked by running
//! the result, as a user would.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use support::fixtures;

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        let st = Store {
            dir: tempfile::tempdir().unwrap(),
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
            .args(["--storage-driver", "overlay"]);
        c.env("BERTH_OCI_EXE_DIR", self.dir.path().join("exe"));
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

    /// A context directory with these files (path, content).
    fn context(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let d = self.dir.path().join(name);
        for (p, content) in files {
            let f = d.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, content).unwrap();
        }
        d
    }

    /// Nothing of a build is left: no containers, no mounts under the store.
    fn assert_clean(&self) {
        assert_eq!(
            self.ok(&["ps", "-a", "-q", "--external"]).stdout,
            "",
            "a working container was left"
        );
        let d = self.dir.path().join("root").to_string_lossy().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !mounts
                .lines()
                .any(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&d))),
            "a mount was left"
        );
    }
}

impl Drop for Store {
    fn drop(&mut self) {
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

const EVERY_INSTRUCTION: &str = "# syntax=docker/dockerfile:1
ARG BASE=localhost/bb:1
FROM $BASE AS builder
ARG GREETING=hello
ENV APP_HOME=/srv/app NAME=\"berth build\"
WORKDIR $APP_HOME
COPY --chown=nobody:nobody --chmod=640 src/ ./src/
COPY <<EOF notes.txt
written by a heredoc
EOF
RUN echo \"$GREETING from $NAME\" > generated.txt && id -u > built-as.txt
ADD archive.tar /opt/unpacked/
SHELL [\"/bin/sh\", \"-c\"]
RUN <<EOF
echo \"from a RUN heredoc\" > /srv/app/heredoc.txt
EOF

FROM localhost/bb:1
LABEL org.example.tier=\"web\" version=2
MAINTAINER someone@example.com
COPY --from=builder /srv/app /srv/app
COPY --from=builder /opt/unpacked /opt/unpacked
ENV MODE=prod
EXPOSE 8080 53/udp
VOLUME [\"/data\"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD test -f /srv/app/generated.txt
ONBUILD RUN echo child build
USER nobody
WORKDIR /srv/app
ENTRYPOINT [\"/bin/sh\", \"-c\"]
CMD [\"cat generated.txt\"]
";

fn archive(path: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(8);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_data(&mut h, "inside/file.txt", &b"unpacked"[..])
        .unwrap();
    std::fs::write(path, b.into_inner().unwrap()).unwrap();
}

#[test]
fn every_instruction_builds_and_the_image_runs_as_written() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[
            ("Containerfile", EVERY_INSTRUCTION),
            ("src/main.sh", "echo main\n"),
        ],
    );
    archive(&ctx.join("archive.tar"));
    let iid = st.dir.path().join("iid");
    let r = st.run(&[
        "build",
        "-t",
        "localhost/every:1",
        "-t",
        "localhost/every:latest",
        "--build-arg",
        "GREETING=hi",
        "--iidfile",
        iid.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.trim().to_string();
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    assert!(
        r.stderr.contains("STEP 1/")
            && r.stderr
                .contains("Successfully tagged localhost/every:latest"),
        "{}",
        r.stderr
    );
    // The CMD, the build arg, ENV and RUN.
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/every:1"]).stdout,
        "hi from berth build\n"
    );
    let r = st.ok(&[
        "run", "--rm", "localhost/every:latest",
        "id -un; pwd; echo $MODE $APP_HOME; cat notes.txt heredoc.txt built-as.txt /opt/unpacked/inside/file.txt; echo; stat -c '%U:%G %a' src/main.sh",
    ]);
    assert_eq!(
        r.stdout,
        "nobody\n/srv/app\nprod\nwritten by a heredoc\nfrom a RUN heredoc\n0\nunpacked\nnobody:nobody 640\n"
    );
    let v = json(&st.ok(&["image", "inspect", "localhost/every:1"]).stdout);
    let c = &v[0]["Config"];
    assert_eq!(c["Labels"]["org.example.tier"], "web");
    assert_eq!(c["Labels"]["maintainer"], "someone@example.com");
    assert!(
        c["ExposedPorts"]["8080/tcp"].is_object() && c["ExposedPorts"]["53/udp"].is_object(),
        "{c}"
    );
    assert!(c["Volumes"]["/data"].is_object(), "{c}");
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(
        c["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "test -f /srv/app/generated.txt"])
    );
    assert_eq!(c["Healthcheck"]["Retries"], 2);
    assert_eq!(c["OnBuild"], serde_json::json!(["RUN echo child build"]));
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    st.assert_clean();
    // With --layers (the default) the builder stage's image stays, as the cache:
    // the base, the result under two names, the builder stage.
    let images = st.ok(&["images", "-a"]).stdout;
    assert_eq!(images.lines().count(), 5, "{images}");
}

#[test]
fn target_build_args_and_containerignore() {
    let st = Store::new();
    let file = "FROM localhost/bb:1 AS first\nARG WHO=default\nRUN echo $WHO > /who\nCOPY . /ctx/\nFROM first\nRUN echo second > /second\n";
    let ctx = st.context(
        "ctx",
        &[
            ("Containerfile", file),
            (".containerignore", "*.secret\nlogs\n!logs/keep.txt\n"),
            ("a.txt", "a"),
            ("b.secret", "hidden"),
            ("logs/drop.txt", "x"),
            ("logs/keep.txt", "kept"),
        ],
    );
    st.ok(&[
        "build",
        "-q",
        "--target",
        "first",
        "--build-arg",
        "WHO=me",
        "-t",
        "localhost/first:1",
        ctx.to_str().unwrap(),
    ]);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/first:1",
        "sh",
        "-c",
        "cat /who; ls -A /ctx /ctx/logs; [ -e /second ] || echo no-second",
    ]);
    assert_eq!(
        r.stdout,
        "me\n/ctx:\n.containerignore\nContainerfile\na.txt\nlogs\n\n/ctx/logs:\nkeep.txt\nno-second\n"
    );
    let r = st.run(&["build", "--target", "nope", ctx.to_str().unwrap()]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("nope"), "{}", r.stderr);
    // -f - reads the file from stdin.
    let mut c = st.cmd();
    c.args([
        "build",
        "-q",
        "-f",
        "-",
        "-t",
        "localhost/stdin:1",
        ctx.to_str().unwrap(),
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"FROM localhost/bb:1\nCMD [\"echo\", \"from stdin\"]\n",
    )
    .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/stdin:1"]).stdout,
        "from stdin\n"
    );
}

#[test]
fn copies_never_leave_their_roots_and_a_failing_run_stops_the_build() {
    let st = Store::new();
    let outside = st.dir.path().join("outside-secret");
    std::fs::write(&outside, "host secret\n").unwrap();
    let ctx = st.context("ctx", &[("Containerfile", ""), ("ok.txt", "ok")]);
    std::os::unix::fs::symlink(&outside, ctx.join("link-out")).unwrap();
    std::os::unix::fs::symlink("/etc", ctx.join("etc-link")).unwrap();
    let build = |file: &str| {
        std::fs::write(ctx.join("Containerfile"), file).unwrap();
        st.run(&["build", "-t", "localhost/t:1", ctx.to_str().unwrap()])
    };
    // `..` cannot climb out of the context.
    let r = build("FROM localhost/bb:1\nCOPY ../outside-secret /x\n");
    assert_eq!(r.code, 125, "{}", r.stdout);
    assert!(
        r.stderr.contains("outside the build context"),
        "{}",
        r.stderr
    );
    // A symlink naming a host file resolves inside the context, where there is
    // no such file: refused, as Docker scopes it.
    let r = build("FROM localhost/bb:1\nCOPY link-out /x\n");
    assert_eq!(r.code, 125, "{}", r.stdout);
    // Inside a copied directory it is copied as the symlink, never its target.
    let r = build("FROM localhost/bb:1\nCOPY . /ctx/\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/t:1",
        "sh",
        "-c",
        "readlink /ctx/link-out; cat /ctx/link-out 2>/dev/null || echo unreadable",
    ]);
    assert_eq!(r.stdout, format!("{}\nunreadable\n", outside.display()));
    // A path through a symlinked directory resolves inside the context.
    let r = build("FROM localhost/bb:1\nCOPY etc-link/passwd /x\n");
    assert_eq!(r.code, 125, "copied the host's /etc/passwd: {}", r.stdout);
    // COPY --from resolves an absolute symlink inside the stage's root.
    let r = build(
        "FROM localhost/bb:1 AS s\nRUN mkdir /d && ln -s /etc /d/etc\nFROM localhost/bb:1\nCOPY --from=s /d/etc/group /g\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/t:1", "cat", "/g"]).stdout,
        "root:x:0:\nnobody:x:65534:\n"
    );
    // A failing RUN: its exit code, a message naming the step, nothing left.
    let r = build("FROM localhost/bb:1\nRUN echo before\nRUN exit 7\nRUN echo never\n");
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains("building at STEP \"RUN exit 7\""),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("never"), "{}", r.stdout);
    st.assert_clean();
}

#[test]
fn an_unchanged_rebuild_comes_from_the_cache() {
    let st = Store::new();
    let file = "FROM localhost/bb:1 AS gen\nRUN cat /proc/sys/kernel/random/uuid > /stamp\nFROM localhost/bb:1\nCOPY --from=gen /stamp /stamp\nCOPY app/ /app/\n";
    let ctx = st.context("ctx", &[("Containerfile", file), ("app/v", "1")]);
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "-t", "localhost/c:1"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        st.ok(&args)
    };
    let first = build(&[]);
    let again = build(&[]);
    assert_eq!(
        again.stdout, first.stdout,
        "an unchanged rebuild made a new image"
    );
    assert!(again.stderr.contains("Using cache"), "{}", again.stderr);
    let stamp = st
        .ok(&["run", "--rm", "localhost/c:1", "cat", "/stamp"])
        .stdout;
    // A changed file invalidates the stage that copies it, not the one before.
    std::fs::write(ctx.join("app/v"), "2").unwrap();
    let changed = build(&[]);
    assert_ne!(changed.stdout, first.stdout);
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/c:1", "cat", "/app/v"])
            .stdout,
        "2"
    );
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/c:1", "cat", "/stamp"])
            .stdout,
        stamp,
        "the first stage ran again"
    );
    // --no-cache runs everything again.
    build(&["--no-cache"]);
    assert_ne!(
        st.ok(&["run", "--rm", "localhost/c:1", "cat", "/stamp"])
            .stdout,
        stamp
    );
    st.assert_clean();
}
