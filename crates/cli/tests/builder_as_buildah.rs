//! `berth builder` where a script written for buildah 1.28 would notice it is
//! not buildah: exit codes, streams, what ends up in committed layers.

mod common;

use common::store::TestStore;
use common::{json, run, run_cmd};

/// A working container of localhost/bb:1; its name.
fn working(st: &TestStore) -> String {
    let r = st.ok(&["builder", "from", "-q", "localhost/bb:1"]);
    r.stdout.trim().to_string()
}

/// A build context holding `containerfile`, under the store's directory.
fn context(st: &TestStore, containerfile: &str) -> String {
    let dir = st.path().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Containerfile"), containerfile).unwrap();
    dir.to_str().unwrap().to_string()
}

/// A command a signal killed fails `builder run` as buildah's run fails it:
/// exit 1, after buildah's words (podman's 137 would pass for a code the
/// command chose); a command's own code passes through with buildah's line.
#[test]
fn run_killed_by_a_signal_fails_as_buildahs() {
    let st = TestStore::with_busybox();
    let c = working(&st);
    // In the host's PID namespace: a shell that is PID 1 of its own namespace
    // cannot kill itself, under buildah's oci isolation either.
    let r = st.run(&[
        "builder",
        "run",
        "--pid",
        "host",
        &c,
        "--",
        "sh",
        "-c",
        "kill -9 $$",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "container exited on killed\nError: while running runtime: exit status 1\n"
    );
    let r = st.run(&["builder", "run", &c, "--", "sh", "-c", "exit 3"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stderr, "Error: while running runtime: exit status 3\n");
    st.ok(&["builder", "rm", &c]);
}

/// A RUN step a signal killed fails the build with exit 1, buildah's.
#[test]
fn build_run_killed_by_a_signal_fails_the_build() {
    let st = TestStore::with_busybox();
    let ctx = context(
        &st,
        "FROM localhost/bb:1\nRUN kill -TERM $$\nRUN echo after\n",
    );
    let r = st.run(&["builder", "bud", "--pid", "host", "-t", "killed", &ctx]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("container exited on terminated\n"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "Error: building at STEP \"RUN kill -TERM $$\": while running runtime: exit status 1"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("after") && !r.stderr.contains("after"));
    assert_ne!(st.run(&["image", "exists", "localhost/killed"]).code, 0);
}

/// `builder bud` caches nothing unless asked (`--layers`, BUILDAH_LAYERS=true)
/// as buildah's bud: a second build runs its RUN again. `berth build` keeps
/// podman's default, the cache.
#[test]
fn bud_caches_layers_only_when_asked() {
    let st = TestStore::with_busybox();
    let ctx = context(&st, "FROM localhost/bb:1\nRUN echo ran\n");
    let build = |verb: &[&str], env: Option<&str>, flag: Option<&str>| {
        let mut c = st.cmd();
        c.args(verb)
            .args(["-t", "localhost/l:1"])
            .args(flag)
            .arg(&ctx);
        if let Some(v) = env {
            c.env("BUILDAH_LAYERS", v);
        }
        let r = run_cmd(&mut c);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let all = r.stdout + &r.stderr;
        let ran = all.lines().any(|l| l == "ran");
        assert_ne!(ran, all.contains("Using cache"), "{all}");
        all.contains("Using cache")
    };
    let bud: &[&str] = &["builder", "bud"];
    assert!(!build(bud, None, None));
    // Without layers, the history still names each instruction, as buildah's.
    let history = st.ok(&["history", "--no-trunc", "localhost/l:1"]).stdout;
    assert!(history.contains("/bin/sh -c echo ran"), "{history}");
    assert!(!build(bud, None, None), "bud cached without --layers");
    assert!(!build(bud, Some("true"), None));
    assert!(build(bud, Some("true"), None));
    assert!(build(bud, None, Some("--layers")));
    assert!(!build(bud, Some("true"), Some("--layers=false")));
    assert!(build(&["build"], None, None));
    assert!(!build(&["build"], Some("false"), None));
}

/// `builder run` hands the command its own stdin, as buildah's run does:
/// `echo foo | buildah run c -- cat` prints foo.
#[test]
fn run_passes_stdin_through() {
    use std::io::Write;
    use std::process::Stdio;
    let st = TestStore::with_busybox();
    let c = working(&st);
    let mut child = st
        .cmd()
        .args(["builder", "run", &c, "--", "sh", "-c", "cat; echo end"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"foo\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "foo\nend\n", "{err}");
    st.ok(&["builder", "rm", &c]);
}

/// A working directory the container lacks is made for `builder run`, as
/// buildah makes it (`config --workingdir`'s and `run --workingdir`'s), owned
/// by the command's user, and committed with the container.
#[test]
fn run_makes_a_missing_working_directory() {
    let st = TestStore::with_busybox();
    let c = working(&st);
    st.ok(&["builder", "config", "--workingdir", "/newdir", &c]);
    assert_eq!(
        st.ok(&["builder", "run", &c, "--", "pwd"]).stdout,
        "/newdir\n"
    );
    let r = st.ok(&[
        "builder",
        "run",
        "--user",
        "1000:1000",
        "--workingdir",
        "/u/v",
        &c,
        "--",
        "sh",
        "-c",
        "touch f && pwd",
    ]);
    assert_eq!(r.stdout, "/u/v\n");
    let stat = ["stat", "-c", "%u:%g %n", "/newdir", "/u", "/u/v/f"];
    let r = st.ok(&[&["builder", "run", &c, "--"][..], &stat].concat());
    assert_eq!(r.stdout, "0:0 /newdir\n1000:1000 /u\n1000:1000 /u/v/f\n");
    st.ok(&["builder", "commit", "-q", "--rm", &c, "localhost/wd:1"]);
    let r = st.ok(&["run", "--rm", "localhost/wd:1", "ls", "/u/v"]);
    assert_eq!(r.stdout, "f\n");
}

/// A numeric user (`run --user`, `config --user`, a Containerfile's USER)
/// leaves the container's /etc/passwd and /etc/group as the image has them,
/// as buildah does: no line of podman's ends up in a committed layer.
#[test]
fn a_numeric_user_writes_no_passwd_or_group_line() {
    let st = TestStore::with_busybox();
    let files = |image: &str| {
        let r = st.ok(&["run", "--rm", image, "cat", "/etc/passwd", "/etc/group"]);
        r.stdout
    };
    let before = files("localhost/bb:1");
    let c = working(&st);
    let r = st.ok(&["builder", "run", "--user", "1000:1000", &c, "--", "id"]);
    assert_eq!(r.stdout, "uid=1000 gid=1000 groups=1000\n");
    st.ok(&["builder", "config", "--user", "4321", &c]);
    st.ok(&["builder", "run", &c, "--", "true"]);
    st.ok(&["builder", "commit", "-q", "--rm", &c, "localhost/numeric:1"]);
    let ctx = context(&st, "FROM localhost/bb:1\nUSER 1234:99\nRUN id\n");
    st.ok(&["builder", "bud", "-q", "-t", "localhost/numeric:2", &ctx]);
    for image in ["localhost/numeric:1", "localhost/numeric:2"] {
        let r = st.ok(&[
            "run",
            "--rm",
            "--user",
            "0",
            image,
            "cat",
            "/etc/passwd",
            "/etc/group",
        ]);
        assert_eq!(r.stdout, before, "{image}");
    }
}

/// `builder bud` and `build` print their progress and RUN's output on stdout,
/// as buildah's bud and podman's build do, RUN's stderr on stderr; with -q
/// stdout holds the image's ID alone, so `id=$(buildah bud -q .)` works.
#[test]
fn bud_prints_progress_on_stdout_and_only_the_id_with_quiet() {
    let st = TestStore::with_busybox();
    let ctx = context(
        &st,
        "FROM localhost/bb:1\nRUN echo out; echo err >&2\nENV A=b\n",
    );
    for verb in [&["builder", "bud"][..], &["build", "--layers=false"]] {
        let r = st.ok(&[verb, &["-t", "localhost/s:1", &ctx]].concat());
        let id = st.inspect("localhost/s:1", ".Id");
        let want = [
            "STEP 1/3: FROM localhost/bb:1",
            "STEP 2/3: RUN echo out; echo err >&2",
            "out",
            "STEP 3/3: ENV A=b",
            "COMMIT localhost/s:1",
            &format!("--> {}", &id[..11]),
            "Successfully tagged localhost/s:1",
            &id,
            "",
        ];
        assert_eq!(r.stdout, want.join("\n"), "{verb:?}");
        assert_eq!(r.stderr, "err\n", "{verb:?}");
        let r = st.ok(&[verb, &["-q", "-t", "localhost/s:1", &ctx]].concat());
        let id = st.inspect("localhost/s:1", ".Id");
        assert_eq!(r.stdout, format!("{id}\n"), "{verb:?}");
        assert_eq!(r.stderr, "err\n", "{verb:?}");
    }
}

/// `builder rmi` fails as buildah's: 125 for an image that is not there or
/// one a container uses, the errors as buildah lists them; `rmi -a` takes
/// every image, one with several names too (so does podman's).
#[test]
fn rmi_fails_with_125_and_all_takes_images_of_several_names() {
    let st = TestStore::with_busybox();
    let r = st.run(&["builder", "rmi", "nosuch"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "Error: 1 error occurred:\n\t* nosuch: image not known\n\n\n"
    );
    let c = working(&st);
    let r = st.run(&["builder", "rmi", "localhost/bb:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("image is in use by a container"),
        "{}",
        r.stderr
    );
    st.ok(&["builder", "rm", &c]);
    st.ok(&[
        "tag",
        "localhost/bb:1",
        "localhost/bb:2",
        "localhost/other:1",
    ]);
    let r = st.ok(&["builder", "rmi", "-a"]);
    assert!(
        r.stdout.contains("untagged: localhost/other:1\n"),
        "{}",
        r.stdout
    );
    assert_eq!(st.ok(&["images", "-aq"]).stdout, "");
    st.ok(&[
        "import",
        "-q",
        st.path().join("rootfs.tar").to_str().unwrap(),
        "localhost/bb:1",
    ]);
    st.ok(&["tag", "localhost/bb:1", "localhost/bb:2"]);
    st.ok(&["rmi", "-a"]);
    assert_eq!(st.ok(&["images", "-aq"]).stdout, "");
}

/// `builder config --env` expands `$VAR` and `${VAR}` in its values from the
/// container's environment as buildah does (earlier --envs included); a
/// variable it lacks becomes its name, with buildah's error.
#[test]
fn config_env_expands_variables_from_the_config() {
    let st = TestStore::with_busybox();
    let c = working(&st);
    // The imported image has no environment of its own.
    st.ok(&["builder", "config", "--env", "PATH=/usr/bin:/bin", &c]);
    let r = st.ok(&[
        "builder",
        "config",
        "--env",
        "E2=two",
        "--env",
        "P2=/opt:$PATH",
        "--env",
        "E3=${E2}z",
        "--env",
        "U=${NOPE}x",
        "--env",
        "E2=re$E2",
        &c,
    ]);
    assert!(
        r.stderr
            .contains(r#"error expanding variable \"NOPE\": no value set in configuration"#),
        "{}",
        r.stderr
    );
    let env = st.ok(&["builder", "run", &c, "--", "env"]).stdout;
    for want in [
        "P2=/opt:/usr/bin:/bin".to_string(),
        "E3=twoz".to_string(),
        "U=NOPEx".to_string(),
        "E2=retwo".to_string(),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} not in {env}");
    }
    st.ok(&["builder", "rm", &c]);
}

/// With --iidfile, buildah's commit and bud leave the ID to the file: no ID
/// on stdout (no `--> ID` line either), -q or not; podman's build still
/// prints it.
#[test]
fn an_iidfile_takes_the_id_off_stdout() {
    let st = TestStore::with_busybox();
    let iid = st.path().join("iid");
    let iid_s = iid.to_str().unwrap();
    let id_in_file = || {
        let id = std::fs::read_to_string(&iid).unwrap();
        std::fs::remove_file(&iid).unwrap();
        id.strip_prefix("sha256:").unwrap().to_string()
    };
    let c = working(&st);
    for quiet in [&["-q"][..], &[]] {
        let args = [&["builder", "commit", "--iidfile", iid_s][..], quiet, &[&c]];
        let r = st.ok(&args.concat());
        assert_eq!(r.stdout, "", "{quiet:?}");
        assert_eq!(id_in_file().len(), 64);
    }
    st.ok(&["builder", "rm", &c]);
    let ctx = context(&st, "FROM localhost/bb:1\nRUN true\n");
    let r = st.ok(&["builder", "bud", "-q", "--iidfile", iid_s, &ctx]);
    assert_eq!(r.stdout, "");
    id_in_file();
    let r = st.ok(&["builder", "bud", "--iidfile", iid_s, &ctx]);
    let id = id_in_file();
    assert!(r.stdout.ends_with("COMMIT\n"), "{}", r.stdout);
    assert!(!r.stdout.contains(&id[..11]), "{}", r.stdout);
    let r = st.ok(&["build", "--iidfile", iid_s, &ctx]);
    let id = id_in_file();
    assert!(
        r.stdout.ends_with(&format!("--> {}\n{id}\n", &id[..11])),
        "{}",
        r.stdout
    );
}

/// `builder version` prints buildah's lines, and `--json` buildah's keys in
/// its order, with berth's values.
#[test]
fn version_prints_buildahs_lines_and_json() {
    let version = env!("CARGO_PKG_VERSION");
    let out = run(&["builder", "version"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let labels: Vec<&str> = out.stdout.lines().map(|l| &l[..17]).collect();
    assert_eq!(
        labels.iter().map(|l| l.trim_end()).collect::<Vec<_>>(),
        [
            "Version:",
            "Go Version:",
            "Image Spec:",
            "Runtime Spec:",
            "CNI Spec:",
            "libcni Version:",
            "image Version:",
            "Git Commit:",
            "Built:",
            "OS/Arch:",
            "BuildPlatform:",
        ]
    );
    assert!(
        out.stdout
            .starts_with(&format!("Version:         {version}\n"))
    );
    let out = run(&["builder", "version", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = json(&out.stdout);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 11, "{v}");
    assert_eq!(v["version"], version);
    assert!(
        v["imageSpec"].is_string() && v["runtimeSpec"].is_string(),
        "{v}"
    );
    assert!(v["osArch"].as_str().unwrap().starts_with("linux/"), "{v}");
    assert!(
        out.stdout.starts_with("{\n    \"version\": "),
        "{}",
        out.stdout
    );
}
