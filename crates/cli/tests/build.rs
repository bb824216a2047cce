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

/// As buildah builds them: a stage name given twice (a reference means the
/// last before it), and `COPY --from=$ARG` with the stage's ARG.
#[test]
fn repeated_stage_names_and_from_args() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[(
            "Containerfile",
            "FROM localhost/bb:1 AS s\nRUN echo one > /x\n\
             FROM localhost/bb:1 AS s\nRUN echo two > /x\n\
             FROM localhost/bb:1\nARG SRC=s\nCOPY --from=$SRC /x /x\n",
        )],
    );
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/stages:1",
        ctx.to_str().unwrap(),
    ]);
    let r = st.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/stages:1",
        "cat",
        "/x",
    ]);
    assert_eq!(r.stdout, "two\n");
}

/// A RUN after VOLUME finds the volume's directory, as under buildah, and
/// what it writes there is not kept in the image.
#[test]
fn a_run_after_volume_has_the_directory_and_keeps_nothing_in_it() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[(
            "Containerfile",
            "FROM localhost/bb:1\nVOLUME /data/vol\nRUN test -d /data/vol && touch /data/vol/f\n",
        )],
    );
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/vol:1",
        ctx.to_str().unwrap(),
    ]);
    let root = st.ok(&["image", "mount", "localhost/vol:1"]).stdout;
    let kept = Path::new(root.trim()).join("data/vol/f").exists();
    st.ok(&["image", "umount", "localhost/vol:1"]);
    assert!(!kept, "the RUN's write into the volume was kept");
}

/// `--build-arg NAME` alone takes the caller's `$NAME`, as buildah's does.
#[test]
fn a_bare_build_arg_takes_the_callers_environment() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[(
            "Containerfile",
            "FROM localhost/bb:1\nARG A\nRUN echo \"A=$A\" > /a\n",
        )],
    );
    let mut c = st.cmd();
    c.env("A", "from-env");
    c.args([
        "build",
        "-q",
        "-t",
        "localhost/argenv:1",
        "--build-arg",
        "A",
    ]);
    let r = run_cmd(c.arg(&ctx));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = st.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/argenv:1",
        "cat",
        "/a",
    ]);
    assert_eq!(out.stdout, "A=from-env\n");
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
        "--format",
        "docker",
        "--iidfile",
        iid.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The progress on stdout, as podman's, the image's ID its last line.
    let id = r.stdout.lines().last().unwrap().to_string();
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    assert!(
        r.stdout.contains("STEP 1/")
            && r.stdout
                .contains("Successfully tagged localhost/every:latest"),
        "{}",
        r.stdout
    );
    // buildah's COMMIT line names the image before its ID and tags.
    let commit = r.stdout.find("\nCOMMIT ").expect("a COMMIT line");
    assert!(
        commit < r.stdout.find("Successfully tagged").unwrap(),
        "{}",
        r.stdout
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
    // With --layers (the default) each step's image stays, as the cache:
    // `images` leaves the intermediate ones out, `images -a` lists them.
    let names = st
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .stdout;
    assert!(
        names.contains("localhost/every:1") && names.contains("localhost/every:latest"),
        "{names}"
    );
    let shown = st.ok(&["images", "-q"]).stdout.lines().count();
    let all = st.ok(&["images", "-a", "-q"]).stdout.lines().count();
    assert!(
        all > shown + 4,
        "a layer per step: {shown} shown, {all} in all"
    );
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
    // A RUN the runtime cannot run at all: the runtime's failure, exit 1 (as podman's
    // build says "exit status 1"; its run would say 126/127).
    let r = build("FROM localhost/bb:1\nRUN [\"/no/such/program\"]\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("/no/such/program"), "{}", r.stderr);
    std::fs::write(ctx.join("Containerfile"), "FROM localhost/bb:1\nRUN true\n").unwrap();
    let r = st.run(&[
        "--runtime-flag",
        "invalidflag",
        "build",
        "-t",
        "localhost/t:1",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("invalidflag"), "{}", r.stderr);
    st.assert_clean();
}

/// Containerfiles made to exhaust the builder: refused with a one-line error
/// naming the line, exit 125, as any other bad Containerfile.
#[test]
fn hostile_containerfiles_are_refused_by_line() {
    let st = Store::new();
    let ctx = st.context("ctx", &[("Containerfile", "")]);
    let build = |file: &str| {
        std::fs::write(ctx.join("Containerfile"), file).unwrap();
        st.run(&["build", ctx.to_str().unwrap()])
    };
    let refused = |file: &str, why: &str| {
        let r = build(file);
        assert_eq!(r.code, 125, "{}", r.stderr);
        let msg = r.stderr.trim_end();
        assert!(
            msg.starts_with("Error: ") && msg.contains(why) && !msg.contains('\n'),
            "{msg}"
        );
        assert!(msg.len() < 300, "{msg}");
    };
    // Substitutions nested 5000 deep overflowed the stack (abort, 134).
    let d = 5000;
    refused(
        &format!(
            "FROM localhost/bb:1\nARG X={}A{}\nRUN true\n",
            "${A:-".repeat(d),
            "}".repeat(d)
        ),
        "Containerfile:2: variable substitutions nested more than 100 deep",
    );
    // As did an ONBUILD chain 5000 long.
    refused(
        &format!("FROM localhost/bb:1\n{}RUN true\n", "ONBUILD ".repeat(d)),
        "Containerfile:2: Chaining ONBUILD",
    );
    // ARGs (or ENVs) each doubling the one before grew to gigabytes: a value
    // is at most 1 MiB, reached by the 16th doubling of 16 bytes.
    for kw in ["ARG", "ENV"] {
        let mut file = format!("FROM localhost/bb:1\n{kw} A0=xxxxxxxxxxxxxxxx\n");
        for i in 0..40 {
            file.push_str(&format!("{kw} A{}=${{A{i}}}${{A{i}}}\n", i + 1));
        }
        file.push_str("LABEL l=${A40}\n");
        refused(
            &file,
            "Containerfile:19: a variable expansion makes a value longer than 1048576 bytes",
        );
    }
    // A RUN of a megabyte that cannot run (no argument may pass 128 KiB):
    // its error quotes the start of it, and still ends with why.
    let r = build(&format!(
        "FROM localhost/bb:1\nRUN echo {}\n",
        "x".repeat(1 << 20)
    ));
    assert_eq!(r.code, 126, "{}", &r.stderr[r.stderr.len() - 500..]);
    assert!(r.stderr.contains("argument list too long"));
    let last = r.stderr.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("Error: building at STEP \"RUN echo xxx")
            && last.ends_with("x…\": while running runtime: exit status 126")
            && last.chars().count() < 300,
        "{}",
        &last[..500.min(last.len())]
    );
    st.assert_clean();
}

/// COPY, ADD and WORKDIR follow the image's symlinks on the way to their
/// destination, inside its root, as buildah does: Debian's /var/run -> /run,
/// merged /usr's /lib -> usr/lib; a link climbing out lands inside.
#[test]
fn destinations_through_the_images_symlinks_resolve_inside_its_root() {
    let st = Store::new();
    let name = format!("berth-escape-{}", std::process::id());
    let host = Path::new("/etc").join(&name);
    let ctx = st.context("ctx", &[("ok", "ok\n"), ("Containerfile", "")]);
    let file = format!(
        "FROM localhost/bb:1
RUN mkdir -p /var /usr/lib && ln -s /run /var/run && ln -s usr/lib /lib && ln -s ../../../../../../../../etc /escape && ln -s / /slash
COPY ok /var/run/
COPY ok /lib/sub/ok3
ADD ok /escape/{name}
COPY ok /slash/../slash/etc/{name}.2
WORKDIR /lib/wd
"
    );
    std::fs::write(ctx.join("Containerfile"), file).unwrap();
    let r = st.run(&["build", "-t", "localhost/t:1", ctx.to_str().unwrap()]);
    assert!(!host.exists(), "a copy reached the host's /etc");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/t:1",
        "sh",
        "-c",
        &format!("cat /usr/lib/sub/ok3 /etc/{name} /etc/{name}.2 && pwd && ls -d /usr/lib/wd"),
    ]);
    assert_eq!(r.stdout, "ok\nok\nok\n/usr/lib/wd\n/usr/lib/wd\n");
    // /run is the runtime's in a container: the copy is seen in the image.
    let root = st.ok(&["image", "mount", "localhost/t:1"]).stdout;
    let root = Path::new(root.trim());
    assert_eq!(
        std::fs::read_to_string(root.join("run/ok")).unwrap(),
        "ok\n"
    );
    assert!(root.join("var/run").is_symlink());
    st.ok(&["image", "umount", "localhost/t:1"]);
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
    // The progress is on stdout, the image's ID its last line.
    let id = |r: &Run| r.stdout.lines().last().unwrap().to_string();
    let first = build(&[]);
    let again = build(&[]);
    assert_eq!(
        id(&again),
        id(&first),
        "an unchanged rebuild made a new image"
    );
    assert!(again.stdout.contains("Using cache"), "{}", again.stdout);
    let stamp = st
        .ok(&["run", "--rm", "localhost/c:1", "cat", "/stamp"])
        .stdout;
    // A changed file invalidates the stage that copies it, not the one before.
    std::fs::write(ctx.join("app/v"), "2").unwrap();
    let changed = build(&[]);
    assert_ne!(id(&changed), id(&first));
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
    // Steps are cached one by one: changing the last RUN reuses the ones before.
    let steps = "FROM localhost/bb:1\nRUN cat /proc/sys/kernel/random/uuid > /one\nCOPY app/ /app/\nENV X=1\nRUN cat /proc/sys/kernel/random/uuid > /two\n";
    std::fs::write(ctx.join("Containerfile"), steps).unwrap();
    build(&[]);
    let one = st
        .ok(&["run", "--rm", "localhost/c:1", "cat", "/one"])
        .stdout;
    let two = st
        .ok(&["run", "--rm", "localhost/c:1", "cat", "/two"])
        .stdout;
    std::fs::write(
        ctx.join("Containerfile"),
        steps.replace("ENV X=1", "ENV X=2"),
    )
    .unwrap();
    let r = build(&[]);
    assert_eq!(r.stdout.matches("Using cache").count(), 2, "{}", r.stdout);
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/c:1", "cat", "/one"])
            .stdout,
        one
    );
    assert_ne!(
        st.ok(&["run", "--rm", "localhost/c:1", "cat", "/two"])
            .stdout,
        two
    );
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/c:1", "sh", "-c", "echo $X"])
            .stdout,
        "2\n"
    );
    // --no-cache runs everything again.
    std::fs::write(ctx.join("Containerfile"), file).unwrap();
    build(&["--no-cache"]);
    assert_ne!(
        st.ok(&["run", "--rm", "localhost/c:1", "cat", "/stamp"])
            .stdout,
        stamp
    );
    st.assert_clean();
}

/// `rmi` of a built image takes its intermediate images along (podman's
/// "Deleted:" for each), unless another image is built on them; so a build
/// after it runs its steps again instead of reusing them.
#[test]
fn rmi_of_a_built_image_takes_its_intermediate_images() {
    let st = Store::new();
    let file =
        "FROM localhost/bb:1\nRUN cat /proc/sys/kernel/random/uuid > /one\nRUN echo two > /two\n";
    let ctx = st.context("ctx", &[("Containerfile", file)]);
    let images = || {
        st.ok(&["images", "-a", "-q", "--no-trunc"])
            .stdout
            .lines()
            .count()
    };
    let base = images();
    st.ok(&["build", "-q", "-t", "localhost/a:1", ctx.to_str().unwrap()]);
    let built = images();
    assert!(built >= base + 2, "no intermediate images: {built}");
    // A second image on the first RUN's result shares it.
    std::fs::write(
        ctx.join("Containerfile"),
        file.replace("echo two", "echo other"),
    )
    .unwrap();
    st.ok(&["build", "-q", "-t", "localhost/b:1", ctx.to_str().unwrap()]);
    // b and its own last step go; the first RUN's image, a's too, stays.
    let r = st.ok(&["rmi", "localhost/b:1"]);
    assert_eq!(r.stdout.matches("Deleted: ").count(), 2, "{}", r.stdout);
    assert_eq!(images(), built, "the shared step went with b");
    let r = st.ok(&["rmi", "localhost/a:1"]);
    assert!(r.stdout.matches("Deleted: ").count() >= 2, "{}", r.stdout);
    assert_eq!(images(), base, "intermediate images were left");
    let again = st.ok(&["build", "-t", "localhost/a:1", ctx.to_str().unwrap()]);
    assert!(!again.stdout.contains("Using cache"), "{}", again.stdout);
    // --no-prune: the image goes, its intermediate images stay, and the
    // next build uses them.
    let r = st.ok(&["rmi", "--no-prune", "localhost/a:1"]);
    assert_eq!(r.stdout.matches("Deleted: ").count(), 1, "{}", r.stdout);
    assert!(images() > base, "the intermediate images went");
    let cached = st.ok(&["build", "-t", "localhost/a:1", ctx.to_str().unwrap()]);
    assert!(cached.stdout.contains("Using cache"), "{}", cached.stdout);
    st.ok(&["rmi", "localhost/a:1"]);
    assert_eq!(images(), base, "intermediate images were left");
    st.assert_clean();
}

/// Serves `files` (path → body) on 127.0.0.1; returns the base URL.
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    berth_testkit::files::serve(files).expect("a file server on 127.0.0.1")
}

fn tar_with(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(body.len() as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        // set_path refuses `..`; a hostile archive has it anyway.
        let name_bytes = name.as_bytes();
        h.as_old_mut().name[..name_bytes.len()].copy_from_slice(name_bytes);
        h.set_cksum();
        b.append(&h, body.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn run_mounts_secrets_and_volumes() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[
            ("data/input.txt", "from the context\n"),
            ("Containerfile", "FROM localhost/bb:1
RUN --mount=type=bind,source=data,target=/in cat /in/input.txt > /copied.txt
RUN --mount=type=bind,source=data,target=/in,rw echo scribble > /in/input.txt && cat /in/input.txt > /scribbled.txt
RUN --mount=type=bind,source=data,target=/in sh -c 'echo x > /in/new' || echo read-only > /ro.txt
RUN --mount=type=cache,target=/cache sh -c 'date +%s%N >> /cache/runs; wc -l < /cache/runs > /cache-count.txt'
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo gone > /scratch/f; mount | grep -c \" /scratch \" > /tmpfs.txt'
RUN --mount=type=secret,id=token cat /run/secrets/token > /secret-seen.txt; stat -c %a /run/secrets/token > /secret-mode.txt
RUN --mount=type=secret,id=fromenv,env=TOKEN sh -c 'echo $TOKEN > /env-secret.txt'
RUN cat /shared/hello > /volume.txt
"),
        ],
    );
    let secret = st.dir.path().join("token");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let shared = st.dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("hello"), "from -v\n").unwrap();
    let build = |tag: &str| {
        let mut c = st.cmd();
        c.env("FROM_ENV", "env-value").args([
            "build",
            "--no-cache",
            "-t",
            tag,
            "--secret",
            &format!("id=token,src={}", secret.display()),
            "--secret",
            "id=fromenv,env=FROM_ENV",
            "-v",
            &format!("{}:/shared:ro", shared.display()),
            ctx.to_str().unwrap(),
        ]);
        let r = run_cmd(&mut c);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    build("localhost/mounts:1");
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/mounts:1",
        "cat",
        "/copied.txt",
        "/scribbled.txt",
        "/ro.txt",
        "/cache-count.txt",
        "/tmpfs.txt",
        "/secret-seen.txt",
        "/secret-mode.txt",
        "/env-secret.txt",
        "/volume.txt",
    ]);
    assert_eq!(
        r.stdout, "from the context\nscribble\nread-only\n1\n1\ns3cret\n400\nenv-value\nfrom -v\n",
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(ctx.join("data/input.txt")).unwrap(),
        "from the context\n",
        "a writable bind must not write the context"
    );
    // Nothing of the mounts is in the image: no secret, no mount points.
    let r = st.ok(&[
        "run", "--rm", "localhost/mounts:1", "sh", "-c",
        "ls /run/secrets /in /cache /scratch 2>&1; grep -r s3cret / --exclude-dir=proc --exclude-dir=sys -l 2>/dev/null | grep -v secret-seen; true",
    ]);
    assert!(!r.stdout.contains("token"), "{}", r.stdout);
    assert_eq!(
        r.stdout.matches("No such file or directory").count(),
        4,
        "mount points were left in the image: {}",
        r.stdout
    );
    // The cache mount outlives the build: a second build sees the first run's line.
    build("localhost/mounts:2");
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/mounts:2",
        "cat",
        "/cache-count.txt",
    ]);
    assert_eq!(r.stdout, "2\n");
    // A required secret that is not given stops the build with one line.
    let ctx2 = st.context(
        "ctx2",
        &[(
            "Containerfile",
            "FROM localhost/bb:1\nRUN --mount=type=secret,id=missing,required=true true\n",
        )],
    );
    let r = st.run(&["build", ctx2.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("missing"), "{}", r.stderr);
    st.assert_clean();
}

#[test]
fn run_mounts_never_reach_outside_their_roots() {
    // CVE-2024-1753: a bind mount's source leaving the context; CVE-2024-9675:
    // a cache id leaving the cache directory.
    let st = Store::new();
    let host = st.dir.path().join("host-secret");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("file"), "host data\n").unwrap();
    let ctx = st.context("ctx", &[("ok", "ok\n")]);
    std::os::unix::fs::symlink(&host, ctx.join("link-abs")).unwrap();
    std::os::unix::fs::symlink("../host-secret", ctx.join("link-rel")).unwrap();
    for (what, mount) in [
        ("dotdot", "type=bind,source=../host-secret,target=/x"),
        ("absolute link", "type=bind,source=link-abs,target=/x"),
        ("relative link", "type=bind,source=link-rel,target=/x"),
    ] {
        let file = format!("FROM localhost/bb:1\nRUN --mount={mount} cat /x/file\n");
        std::fs::write(ctx.join("Containerfile"), file).unwrap();
        let r = st.run(&["build", ctx.to_str().unwrap()]);
        assert_ne!(r.code, 0, "{what}: the build read the host: {}", r.stdout);
        assert!(
            !r.stdout.contains("host data") && !r.stderr.contains("host data"),
            "{what}"
        );
    }
    // A cache id that climbs: the cache still lives in the store.
    let escape = st.dir.path().join("escaped");
    let file = format!(
        "FROM localhost/bb:1\nRUN --mount=type=cache,id=../../../../../../..{},target=/c touch /c/planted\n",
        escape.display()
    );
    std::fs::write(ctx.join("Containerfile"), file).unwrap();
    let r = st.run(&["build", ctx.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!escape.exists(), "a cache id reached the host");
    let planted: Vec<_> = std::fs::read_dir(st.dir.path().join("root/build-cache-mounts"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("planted").exists())
        .collect();
    assert_eq!(planted.len(), 1, "the cache directory is in the store");
    st.assert_clean();
}

#[test]
fn add_urls_copy_from_images_format_squash_and_annotations() {
    let st = Store::new();
    // CVE-2020-10696: a remote archive is a file, never unpacked (its `..`
    // entries could otherwise land anywhere).
    let hostile = tar_with(&[("../../../../../../tmp/berth-add-escape", "pwned\n")]);
    let base = serve(vec![
        ("/notes.txt", b"downloaded\n".to_vec()),
        ("/bundle.tar", hostile.clone()),
    ]);
    let file = format!(
        "FROM localhost/bb:1 AS tools\nRUN echo tool > /tool\n\
         FROM scratch\nCOPY --from=localhost/bb:1 /bin/busybox /bin/busybox\n\
         COPY --from=tools /tool /tool\n\
         ADD {base}/notes.txt /srv/\nADD {base}/bundle.tar /srv/\n\
         HEALTHCHECK CMD /bin/busybox true\nCMD [\"/bin/busybox\", \"cat\", \"/srv/notes.txt\", \"/tool\"]\n"
    );
    let ctx = st.context("ctx", &[("Containerfile", &file)]);
    let r = st.run(&[
        "build",
        "-t",
        "localhost/net:1",
        "--annotation",
        "org.example.a=b",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("HEALTHCHECK is not supported for OCI"),
        "{}",
        r.stderr
    );
    assert!(!Path::new("/tmp/berth-add-escape").exists());
    let r = st.ok(&["run", "--rm", "localhost/net:1"]);
    assert_eq!(r.stdout, "downloaded\ntool\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/net:1",
        "/bin/busybox",
        "sh",
        "-c",
        "stat -c '%a %s' /srv/notes.txt /srv/bundle.tar",
    ]);
    assert_eq!(r.stdout, format!("600 11\n600 {}\n", hostile.len()));
    let v = json(&st.ok(&["image", "inspect", "localhost/net:1"]).stdout);
    assert!(v[0]["Config"]["Healthcheck"].is_null(), "OCI drops it");
    let out = st.dir.path().join("net-oci");
    st.ok(&[
        "image",
        "copy",
        "-q",
        "containers-storage:localhost/net:1",
        &format!("oci:{}:x", out.display()),
    ]);
    assert_eq!(oci_manifest(&out, "x")["annotations"]["org.example.a"], "b");
    // --format docker keeps HEALTHCHECK; --squash makes one layer.
    let r = st.run(&[
        "build",
        "-t",
        "localhost/net:2",
        "--format",
        "docker",
        "--squash",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&st.ok(&["image", "inspect", "localhost/net:2"]).stdout);
    assert_eq!(
        v[0]["Config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "/bin/busybox true"])
    );
    assert_eq!(v[0]["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/net:2"]).stdout,
        "downloaded\ntool\n"
    );
    // A URL that is not there: one line, nothing built.
    let bad = st.context(
        "bad",
        &[(
            "Containerfile",
            &format!("FROM localhost/bb:1\nADD {base}/nope /x\n"),
        )],
    );
    let r = st.run(&["build", "-t", "localhost/bad:1", bad.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("/nope"), "{}", r.stderr);
    assert_ne!(st.run(&["image", "exists", "localhost/bad:1"]).code, 0);
    st.assert_clean();
}

#[test]
fn build_arg_files_and_platforms() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[
            (
                "Containerfile",
                "FROM localhost/bb:1\nARG A\nARG B\nRUN echo $A $B > /args\n",
            ),
            ("args", "# the defaults\nA=from-file\n\nB=file-b\n"),
        ],
    );
    st.ok(&[
        "build",
        "-t",
        "localhost/args:1",
        "--build-arg-file",
        ctx.join("args").to_str().unwrap(),
        "--build-arg",
        "B=flag",
        "--platform",
        "linux/amd64",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/args:1", "cat", "/args"])
            .stdout,
        "from-file flag\n"
    );
    // A base that is not for the platform asked for is refused by name.
    // --pull takes its policy after `=` only, as podman's does.
    let r = st.run(&[
        "build",
        "--pull=never",
        "--platform",
        "linux/s390x",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("linux/amd64, not linux/s390x"),
        "{}",
        r.stderr
    );
    let r = st.run(&["build", "--secret", "id=x", ctx.to_str().unwrap()]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
}

#[test]
fn onbuild_triggers_run_in_the_child_build() {
    let st = Store::new();
    let parent = st.context(
        "parent",
        &[("Containerfile", "FROM localhost/bb:1\nONBUILD RUN echo triggered > /onbuild.txt\nONBUILD COPY hello.txt /from-child-context\n")],
    );
    st.ok(&[
        "build",
        "-q",
        "--format",
        "docker",
        "-t",
        "localhost/parent:1",
        parent.to_str().unwrap(),
    ]);
    let child = st.context(
        "child",
        &[
            (
                "Containerfile",
                "FROM localhost/parent:1\nRUN cat /onbuild.txt > /seen.txt\n",
            ),
            ("hello.txt", "child context\n"),
        ],
    );
    st.ok(&[
        "build",
        "-q",
        "--format",
        "docker",
        "-t",
        "localhost/child:1",
        child.to_str().unwrap(),
    ]);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/child:1",
        "cat",
        "/seen.txt",
        "/from-child-context",
    ]);
    assert_eq!(r.stdout, "triggered\nchild context\n");
    let v = json(&st.ok(&["image", "inspect", "localhost/child:1"]).stdout);
    assert!(
        v[0]["Config"]["OnBuild"].is_null(),
        "triggers are not inherited: {}",
        v[0]["Config"]
    );
    st.assert_clean();
}

#[test]
fn a_context_or_a_containerfile_on_stdin() {
    let st = Store::new();
    // A tar of the context.
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in [
        (
            "Containerfile",
            "FROM localhost/bb:1\nCOPY hello.txt /hello.txt\n",
        ),
        ("hello.txt", "from a tar on stdin\n"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    let tarball = st.dir.path().join("ctx.tar");
    std::fs::write(&tarball, b.into_inner().unwrap()).unwrap();
    let mut c = st.cmd();
    c.args(["build", "-q", "-t", "localhost/stdin:1", "-"])
        .stdin(std::fs::File::open(&tarball).unwrap());
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = st.ok(&["run", "--rm", "localhost/stdin:1", "cat", "/hello.txt"]);
    assert_eq!(r.stdout, "from a tar on stdin\n");
    // A Containerfile alone: no context to copy from.
    let file = st.dir.path().join("Containerfile.solo");
    std::fs::write(&file, "FROM localhost/bb:1\nRUN echo solo > /solo\n").unwrap();
    let mut c = st.cmd();
    c.args(["build", "-q", "-t", "localhost/stdin:2", "-"])
        .stdin(std::fs::File::open(&file).unwrap());
    let r = run_cmd(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        st.ok(&["run", "--rm", "localhost/stdin:2", "cat", "/solo"])
            .stdout,
        "solo\n"
    );
    st.assert_clean();
}

#[test]
fn builds_for_another_platform_from_its_image() {
    // A multi-arch base in a registry: --platform picks its arm64 image; a
    // COPY-only build needs no emulation.
    let reg = support::registry::Registry::start().expect("registry");
    let st = Store::new();
    let fx = fixtures::multi_arch(&st.dir.path().join("ma")).unwrap();
    let base = format!("{}/ma/base:1", reg.addr());
    st.ok(&[
        "image",
        "copy",
        "-q",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:{}", fx.layout.display(), fx.tag),
        &format!("docker://{base}"),
    ]);
    std::fs::write(
        st.dir.path().join("registries.conf"),
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr()
        ),
    )
    .unwrap();
    let file = format!(
        "FROM {base}\nARG TARGETARCH\nCOPY note.txt /note.txt\nLABEL built-for=$TARGETARCH\n"
    );
    let ctx = st.context("ctx", &[("Containerfile", &file), ("note.txt", "copied\n")]);
    let build = |platform: &str, tag: &str| {
        let mut c = st.cmd();
        c.env(
            "CONTAINERS_REGISTRIES_CONF",
            st.dir.path().join("registries.conf"),
        )
        .args([
            "build",
            "-q",
            "--platform",
            platform,
            "-t",
            tag,
            ctx.to_str().unwrap(),
        ]);
        run_cmd(&mut c)
    };
    let r = build("linux/arm64", "localhost/cross:arm64");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&st.ok(&["image", "inspect", "localhost/cross:arm64"]).stdout);
    assert_eq!(v[0]["Architecture"], "arm64");
    assert_eq!(v[0]["Config"]["Labels"]["built-for"], "arm64");
    // Its files: the arm64 image's, and the copy.
    let out = st.dir.path().join("cross-oci");
    st.ok(&[
        "image",
        "copy",
        "-q",
        "containers-storage:localhost/cross:arm64",
        &format!("oci:{}:x", out.display()),
    ]);
    let cfg = oci_manifest(&out, "x");
    // The base's layer and the COPY's; the label added no layer.
    assert_eq!(cfg["layers"].as_array().unwrap().len(), 2, "{cfg}");
    st.assert_clean();
}

#[test]
fn build_flags_podman_scripts_pass() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    let ctx_s = ctx.to_str().unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN ulimit -n\n",
    )
    .unwrap();
    // --ulimit reaches RUN; --jobs is taken; --logfile gets what stderr would.
    let log = st.path().join("build.log");
    let log_s = log.to_str().unwrap();
    let r = st.ok(&[
        "build",
        "--jobs",
        "2",
        "--ulimit",
        "nofile=512:512",
        "--logfile",
        log_s,
        "--pull-never",
        "-t",
        "localhost/lim:1",
        ctx_s,
    ]);
    assert_eq!(r.stderr, "", "the build's output went to the log file");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("512\n") && text.contains("COMMIT"), "{text}");
    // buildah's short ID after a commit: 11 characters.
    assert!(
        text.lines()
            .any(|l| l.starts_with("--> ") && l.len() == 4 + 11),
        "{text}"
    );
    // One stage: buildah's bare STEP lines, and the name as the store holds it.
    assert!(
        text.starts_with("STEP 1/2: FROM localhost/bb:1\n"),
        "{text}"
    );
    assert!(
        text.contains("Successfully tagged localhost/lim:1\n"),
        "{text}"
    );
    // The global --runtime runs RUN, and one that is not there fails first.
    let r = st.run(&["--runtime", "idonotexist", "build", ctx_s]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("\"idonotexist\" not found"),
        "{}",
        r.stderr
    );
    st.ok(&["--runtime", "runc", "build", "--no-cache", ctx_s]);
    let runc_state = st.path().join("run/runc");
    assert!(runc_state.is_dir(), "runc was not asked to run RUN");
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1 AS a\nFROM a\n",
    )
    .unwrap();
    let r = st.ok(&["build", ctx_s]);
    assert!(
        r.stdout
            .starts_with("[1/2] STEP 1/2: FROM localhost/bb:1 AS a\n"),
        "{}",
        r.stdout
    );
    // --pull-never with a base that is not here: podman's words.
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/nosuch:1\nRUN true\n",
    )
    .unwrap();
    let r = st.run(&["build", "--pull-never", ctx_s]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("Error: creating build container: localhost/nosuch:1: image not known"),
        "{}",
        r.stderr
    );
    let r = st.run(&["build", "--authfile", "/nonexistent/auth.json", ctx_s]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: checking authfile: stat /nonexistent/auth.json: no such file or directory"
    );
}

#[test]
fn containerfiles_are_found_as_podman_finds_them() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir_all(ctx.join("subdir")).unwrap();
    let (ctx_s, elsewhere) = (ctx.to_str().unwrap(), st.path().join("Containerfile2"));
    std::fs::write(
        ctx.join("Containerfile1"),
        "FROM localhost/bb:1\nCOPY . /ctx\n",
    )
    .unwrap();
    std::fs::write(&elsewhere, "LABEL second=yes\n").unwrap();
    // A -f name not here is looked for in the context.
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/f:1",
        "-f",
        "Containerfile1",
        ctx_s,
    ]);
    let r = st.run(&["build", "-f", "Containerfile2", ctx_s]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: Containerfile2: no such file or directory"
    );
    // No context: the Containerfile's directory is it; two -f are read as one.
    let first = ctx.join("Containerfile1");
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/f:2",
        "-f",
        first.to_str().unwrap(),
        "-f",
        elsewhere.to_str().unwrap(),
    ]);
    let r = st.ok(&["run", "--rm", "localhost/f:2", "ls", "/ctx"]);
    assert_eq!(r.stdout, "Containerfile1\nsubdir\n");
    assert_eq!(st.inspect("localhost/f:2", ".Config.Labels.second"), "yes");
    // A directory the ignore file leaves out is not there for COPY.
    std::fs::write(ctx.join(".dockerignore"), "*\nsubdir\n!*/sub1*\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nCOPY ./ ./\nCOPY subdir ./\n",
    )
    .unwrap();
    let r = st.run(&["build", ctx_s]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("COPY subdir ./"), "{}", r.stderr);
}

#[test]
fn layers_follow_the_flag_then_buildah_layers() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN echo layered\n",
    )
    .unwrap();
    let ctx_s = ctx.to_str().unwrap();
    let build = |env: Option<&str>, flag: Option<&str>| {
        let mut c = st.cmd();
        c.args(["build", "-t", "localhost/l:1"]);
        if let Some(f) = flag {
            c.arg(f);
        }
        c.arg(ctx_s);
        if let Some(v) = env {
            c.env("BUILDAH_LAYERS", v);
        }
        let r = common::run_cmd(&mut c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.contains("Using cache")
    };
    assert!(!build(None, None), "the first build has no cache");
    assert!(build(None, None));
    assert!(build(None, Some("--layers=true")));
    assert!(!build(None, Some("--layers=false")));
    assert!(!build(Some("false"), None));
    assert!(build(Some("false"), Some("--layers=1")));
    assert!(!build(Some("1"), Some("--layers=false")));
}

#[test]
fn copy_follows_buildahs_ignore_rules_for_excluded_directories() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    let keep = ["test2", "subdir1/sub1", "subdir1/sub3", "other"];
    let drop = ["test1", "subdir1/sub2", "subdir2/sub1", "subdir2/sub3"];
    for f in keep.iter().chain(&drop) {
        let p = ctx.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f).unwrap();
    }
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nCOPY ./ /new/\n",
    )
    .unwrap();
    std::fs::write(
        ctx.join(".dockerignore"),
        "# comment\ntest*\n!test2*\nsubdir1\nsubdir2\n!*/sub1*\n!subdir1/sub3*\n",
    )
    .unwrap();
    st.ok(&[
        "build",
        "-q",
        "-t",
        "localhost/ign:1",
        ctx.to_str().unwrap(),
    ]);
    let found = st
        .ok(&[
            "run",
            "--rm",
            "localhost/ign:1",
            "find",
            "/new",
            "-type",
            "f",
        ])
        .stdout;
    for f in keep {
        assert!(
            found.contains(&format!("/new/{f}\n")),
            "{f} missing: {found}"
        );
    }
    // subdir2 is not opened: no exception names a path in it literally.
    for f in drop {
        assert!(
            !found.contains(&format!("/new/{f}\n")),
            "{f} copied: {found}"
        );
    }
}

#[test]
fn add_unpacks_xz_and_bzip2_archives() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir_all(ctx.join("src/subtest")).unwrap();
    std::fs::write(
        ctx.join("src/subtest/myfile1"),
        "This is the ORIGINAL file\n",
    )
    .unwrap();
    // GNU tar's archives, padded to whole records after their end blocks: the
    // decompressor must be read to its end.
    for (flag, ext) in [("-J", "xz"), ("-j", "bz2")] {
        let archive = ctx.join(format!("my.tar.{ext}"));
        let made = Command::new("tar")
            .args(["-C", ctx.join("src").to_str().unwrap(), flag, "-cf"])
            .arg(&archive)
            .arg("subtest")
            .status()
            .unwrap();
        assert!(made.success());
        let file = format!("FROM localhost/bb:1\nADD my.tar.{ext} /\n");
        std::fs::write(ctx.join("Containerfile"), file).unwrap();
        st.ok(&[
            "build",
            "-q",
            "-t",
            "localhost/add:1",
            ctx.to_str().unwrap(),
        ]);
        let r = st.ok(&["run", "--rm", "localhost/add:1", "cat", "/subtest/myfile1"]);
        assert_eq!(r.stdout, "This is the ORIGINAL file\n", "{ext}");
    }
}

#[test]
fn copy_keeps_hard_links_as_links() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir_all(ctx.join("subdir/subsubdir")).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nCOPY . /test\n",
    )
    .unwrap();
    std::fs::hard_link(ctx.join("Containerfile"), ctx.join("hardlink1")).unwrap();
    std::fs::hard_link(
        ctx.join("Containerfile"),
        ctx.join("subdir/subsubdir/hardlink3"),
    )
    .unwrap();
    st.ok(&["build", "-q", "-t", "localhost/hl:1", ctx.to_str().unwrap()]);
    let inode = |p: &str| {
        st.ok(&["run", "--rm", "localhost/hl:1", "stat", "-c", "%i %h", p])
            .stdout
    };
    let first = inode("/test/Containerfile");
    assert!(first.ends_with(" 3\n"), "three names: {first}");
    assert_eq!(inode("/test/hardlink1"), first);
    assert_eq!(inode("/test/subdir/subsubdir/hardlink3"), first);
}

#[test]
fn build_security_opt_and_runtime_flags_reach_every_run() {
    let st = common::store::TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN grep Seccomp: /proc/self/status\n",
    )
    .unwrap();
    let ctx_s = ctx.to_str().unwrap();
    let r = st.ok(&["build", "--no-cache", ctx_s]);
    assert!(
        r.stdout.contains("Seccomp:\t2") || r.stderr.contains("Seccomp:\t2"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let r = st.ok(&[
        "build",
        "--no-cache",
        "--security-opt",
        "seccomp=unconfined",
        ctx_s,
    ]);
    assert!(
        r.stdout.contains("Seccomp:\t0") || r.stderr.contains("Seccomp:\t0"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let r = st.run(&[
        "--runtime-flag",
        "invalidflag",
        "build",
        "--no-cache",
        ctx_s,
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("invalidflag"), "{}", r.stderr);
}

#[test]
fn an_interrupted_build_stops_at_once_and_fails() {
    use std::io::BufRead;
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[("Containerfile", "FROM localhost/bb:1\nRUN sleep 601\n")],
    );
    let mut child = st
        .cmd()
        .args(["build", "-t", "localhost/never:1"])
        .arg(&ctx)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The progress is on stdout, as podman's; the error on stderr.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut err = child.stderr.take().unwrap();
    let mut said = String::new();
    while !said.contains("RUN sleep 601") {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the build ended: {said}"
        );
        said.push_str(&line);
    }
    // The RUN's process is there before the interrupt is sent.
    let running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x00601\x00")
        })
    };
    wait_for("the RUN to start", running);
    // SAFETY: kill(2) on our own child, not yet waited for (its pid cannot
    // have been reused).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{said}{rest}");
    assert!(
        rest.contains("building at STEP \"RUN sleep 601\": interrupted"),
        "{rest}"
    );
    assert!(!running(), "the RUN's process was left running");
    assert_eq!(st.ok(&["ps", "-a", "--external", "-q"]).stdout, "");
    assert_eq!(st.run(&["image", "exists", "localhost/never:1"]).code, 1);
    st.assert_clean();
}

#[test]
fn os_arch_and_variant_name_the_platform_built_for() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[("Containerfile", "FROM scratch\nCOPY f /f\n"), ("f", "x\n")],
    );
    let c = ctx.to_str().unwrap();
    st.ok(&[
        "build",
        "-q",
        "--arch",
        "arm64",
        "--variant",
        "v8",
        "-t",
        "localhost/arm:1",
        c,
    ]);
    let v = json(&st.ok(&["image", "inspect", "localhost/arm:1"]).stdout);
    assert_eq!(v[0]["Architecture"], "arm64");
    assert_eq!(v[0]["Os"], "linux");
    let r = st.run(&[
        "build",
        "-q",
        "--platform",
        "linux/amd64",
        "--arch",
        "arm64",
        c,
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

/// `--output`: the built image's files as a directory or a tar as well as the image
/// (buildah's and docker's forms); a bad form is refused before anything is built.
#[test]
fn output_writes_the_images_files() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[(
            "Containerfile",
            "FROM localhost/bb:1\nRUN mkdir -p /out && echo made > /out/f && ln -s f /out/link\n",
        )],
    );
    let dir = st.dir.path().join("files");
    let r = st.ok(&[
        "build",
        "-q",
        "-o",
        dir.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
    let id = r.stdout.trim().to_string();
    assert_eq!(
        std::fs::read_to_string(dir.join("out/f")).unwrap(),
        "made\n"
    );
    assert_eq!(
        std::fs::read_link(dir.join("out/link")).unwrap(),
        Path::new("f")
    );
    assert!(dir.join("bin/busybox").is_file());
    // The image is there too.
    assert_eq!(
        st.ok(&["images", "-q", "--no-trunc"])
            .stdout
            .matches(&id[..12])
            .count(),
        1
    );
    let tar = st.dir.path().join("files.tar");
    let dest = format!("type=tar,dest={}", tar.display());
    st.ok(&["build", "-q", "--output", &dest, ctx.to_str().unwrap()]);
    let mut names: Vec<String> = tar::Archive::new(std::fs::File::open(&tar).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().any(|n| n.trim_end_matches('/') == "out/f"),
        "{names:?}"
    );
    // `-`: the tar alone on standard output.
    let mut c = st.cmd();
    c.args(["build", "-q", "-o", "-", ctx.to_str().unwrap()]);
    let out = c.output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.len() > 1024 && out.stdout.len().is_multiple_of(512),
        "{}",
        out.stdout.len()
    );
    let r = st.run(&["build", "-o", "type=registry,dest=x", ctx.to_str().unwrap()]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("--output type=registry,dest=x"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("STEP") && !r.stderr.contains("STEP"),
        "built before refusing: {}{}",
        r.stdout,
        r.stderr
    );
    st.assert_clean();
}

/// `--timestamp`: the same sources build the same image (its creation time and its
/// new files' times fixed, whatever the clock and the context's file times say).
#[test]
fn timestamp_makes_the_build_reproducible() {
    let st = Store::new();
    let ctx = st.context(
        "ctx",
        &[
            (
                "Containerfile",
                "FROM localhost/bb:1\nCOPY f /f\nRUN echo ran > /ran\nLABEL k=v\n",
            ),
            ("f", "file\n"),
        ],
    );
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "-q", "--no-cache"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        st.ok(&args).stdout.trim().to_string()
    };
    let first = build(&["--timestamp", "1000000000"]);
    // Other file times in the context (the same contents): the same image.
    std::fs::write(ctx.join("f"), "file\n").unwrap();
    let second = build(&["--timestamp", "1000000000"]);
    assert_eq!(first, second);
    let created = st.ok(&[
        "inspect",
        "--type",
        "image",
        "--format",
        "{{.Created}}",
        &first,
    ]);
    assert!(
        created.stdout.starts_with("2001-09-09"),
        "{}",
        created.stdout
    );
    let r = st.ok(&["run", "--rm", &first, "stat", "-c", "%Y", "/ran", "/f"]);
    assert_eq!(r.stdout, "1000000000\n1000000000\n");
    // Without it, the image has the time it was built.
    let plain = build(&[]);
    assert_ne!(plain, first);
    st.assert_clean();
}

/// A context without a Containerfile or Dockerfile: podman's words (ending as
/// Go's stat of the Dockerfile does) and 125; `-f` names another file.
#[test]
fn a_context_without_a_containerfile_is_refused_in_podmans_words() {
    let st = Store::new();
    let ctx = st.context("noc", &[("foofile", "FROM scratch\n")]);
    let r = st.run(&["build", "-q", "-t", "x", ctx.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let want = format!(
        "{}: no such file or directory\n",
        ctx.join("Dockerfile").display()
    );
    assert!(r.stderr.ends_with(&want), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let foofile = ctx.join("foofile");
    st.ok(&[
        "build",
        "-q",
        "-t",
        "x",
        "-f",
        foofile.to_str().unwrap(),
        ctx.to_str().unwrap(),
    ]);
}

/// `--build-context NAME=DIR|docker-image://REF|container-image://REF`: COPY
/// --from, RUN --mount=from= and FROM read the named directory or image; a
/// changed file in the directory is copied anew, not taken from the cache.
#[test]
fn build_contexts_name_more_directories_and_images() {
    let st = Store::new();
    let extra = st.context("extra", &[("hello.txt", "from extra\n")]);
    let ctx = st.context(
        "bc",
        &[(
            "Containerfile",
            "FROM base\nCOPY --from=extra hello.txt /hello\nCOPY --from=img /bin/busybox /bb2\nRUN --mount=type=bind,from=extra,target=/x cat /x/hello.txt > /seen\n",
        )],
    );
    let extra_flag = format!("extra={}", extra.display());
    let build = |tag: &str| {
        st.ok(&[
            "build",
            "-q",
            "-t",
            tag,
            "--build-context",
            &extra_flag,
            "--build-context",
            "base=docker-image://localhost/bb:1",
            "--build-context",
            "img=container-image://localhost/bb:1",
            ctx.to_str().unwrap(),
        ])
    };
    build("bc:1");
    let out = |tag: &str| {
        st.ok(&[
            "run",
            "--rm",
            tag,
            "sh",
            "-c",
            "cat /hello /seen; test -x /bb2 && echo bb2",
        ])
        .stdout
    };
    assert_eq!(out("bc:1"), "from extra\nfrom extra\nbb2\n");
    std::fs::write(extra.join("hello.txt"), "changed\n").unwrap();
    build("bc:2");
    assert_eq!(out("bc:2"), "changed\nchanged\nbb2\n");
    // What cannot be a context, and FROM of a directory, fail in one line.
    for (flag, want) in [
        ("x=https://example.invalid/c.tar", "only a directory"),
        ("x=/no/such/dir", "no such file or directory"),
        ("novalue", "expected NAME=VALUE"),
    ] {
        let r = st.run(&[
            "build",
            "-q",
            "--build-context",
            flag,
            ctx.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 125, "{flag}: {}", r.stderr);
        assert!(
            r.stderr.contains(want) && r.stderr.lines().count() == 1,
            "{flag}: {}",
            r.stderr
        );
    }
    let from_dir = st.context("fd", &[("Containerfile", "FROM extra\n")]);
    let r = st.run(&[
        "build",
        "-q",
        "--build-context",
        &extra_flag,
        from_dir.to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("is a directory, not an image"),
        "{}",
        r.stderr
    );
}

/// Remote contexts as podman takes them: an archive (or a lone Containerfile)
/// over http, and a git repository (`git://…#REF:DIR`, served here by `git
/// daemon` on 127.0.0.1), each fetched into a directory of its own.
#[test]
fn remote_contexts_from_an_archive_url_and_a_git_repository() {
    let st = Store::new();
    let base = serve(vec![
        (
            "/ctx.tar",
            tar_with(&[
                ("Containerfile", "FROM localhost/bb:1\nCOPY msg /msg\n"),
                ("msg", "from the archive\n"),
            ]),
        ),
        (
            "/Containerfile",
            b"FROM localhost/bb:1\nRUN echo alone > /msg\n".to_vec(),
        ),
    ]);
    let cat = |tag: &str| st.ok(&["run", "--rm", tag, "cat", "/msg"]).stdout;
    st.ok(&[
        "build",
        "-q",
        "-t",
        "remote:tar",
        &format!("{base}/ctx.tar"),
    ]);
    assert_eq!(cat("remote:tar"), "from the archive\n");
    st.ok(&[
        "build",
        "-q",
        "-t",
        "remote:cf",
        &format!("{base}/Containerfile"),
    ]);
    assert_eq!(cat("remote:cf"), "alone\n");
    let r = st.run(&["build", "-q", &format!("{base}/missing.tar")]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("missing.tar") && r.stderr.lines().count() == 1,
        "{}",
        r.stderr
    );

    // A repository with the context in a directory of a branch.
    let repos = st.dir.path().join("repos");
    let repo = repos.join("ctx.git");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let sub = repo.join("app");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("Containerfile"),
        "FROM localhost/bb:1\nCOPY msg /msg\n",
    )
    .unwrap();
    std::fs::write(sub.join("msg"), "from git\n").unwrap();
    // A link out of the repository is no context directory.
    std::os::unix::fs::symlink("/etc", repo.join("esc")).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "ctx"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // git-daemon itself (`git daemon` would run it as a child that outlives a
    // kill of `git`), so the test ends it.
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .unwrap()
        .stdout;
    let exec_path = String::from_utf8(exec_path).unwrap();
    struct Daemon(std::process::Child);
    impl Drop for Daemon {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let daemon = Command::new(std::path::Path::new(exec_path.trim()).join("git-daemon"))
        .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", repos.display()))
        .arg(&repos)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon(daemon);
    let url = format!("git://127.0.0.1:{port}/ctx.git");
    common::wait_for("git daemon to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let built = st.run(&[
        "build",
        "-q",
        "-t",
        "remote:git",
        &format!("{url}#feature:app"),
    ]);
    let escape = st.run(&["build", "-q", &format!("{url}#feature:../..")]);
    let linked = st.run(&["build", "-q", &format!("{url}#feature:esc")]);
    drop(daemon);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert_eq!(cat("remote:git"), "from git\n");
    assert_eq!(escape.code, 125, "{}", escape.stderr);
    assert!(
        escape
            .stderr
            .contains("not a directory within the repository"),
        "{}",
        escape.stderr
    );
    assert_eq!(linked.code, 125, "{}", linked.stderr);
    assert!(
        linked
            .stderr
            .contains("not a directory within the repository"),
        "{}",
        linked.stderr
    );
}

/// `--ssh default=SOCKET`: a RUN with `--mount=type=ssh` finds the agent's
/// socket where SSH_AUTH_SOCK says, and nothing of it stays in the image; a
/// required agent that was not given fails the build in one line.
#[test]
fn ssh_mounts_lend_an_agent_to_a_run() {
    let st = Store::new();
    let socket = st.dir.path().join("agent.sock");
    struct Agent(std::process::Child);
    impl Drop for Agent {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Agent(
        Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::wait_for("ssh-agent's socket", || socket.exists());
    let ctx = st.context(
        "ssh",
        &[(
            "Containerfile",
            "FROM localhost/bb:1\nRUN --mount=type=ssh,required=true sh -c 'test -S \"$SSH_AUTH_SOCK\" && echo \"$SSH_AUTH_SOCK\" > /seen'\n",
        )],
    );
    let flag = format!("default={}", socket.display());
    st.ok(&[
        "build",
        "-q",
        "-t",
        "ssh:1",
        "--ssh",
        &flag,
        ctx.to_str().unwrap(),
    ]);
    let seen = st.ok(&["run", "--rm", "ssh:1", "cat", "/seen"]).stdout;
    assert_eq!(seen, "/run/buildkit/ssh_agent.0\n");
    // The image's own files: no mount point of the socket in them.
    st.ok(&["create", "--name", "look", "ssh:1", "true"]);
    let root = st.ok(&["mount", "look"]).stdout;
    let left = std::path::Path::new(root.trim()).join("run/buildkit/ssh_agent.0");
    let exists = left.exists();
    st.ok(&["umount", "look"]);
    st.ok(&["rm", "look"]);
    assert!(!exists, "{} is in the image", left.display());
    let r = st.run(&["build", "-q", "--no-cache", ctx.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("ssh default is required"), "{}", r.stderr);
    let r = st.run(&[
        "build",
        "-q",
        "--ssh",
        "default=/etc/hostname",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("not an agent's socket"), "{}", r.stderr);
}
