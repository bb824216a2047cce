//! Flags podman's scripts (and its own system tests) pass everywhere, with
//! podman's meaning: `start --all`, `volume rm --all`, `--noheading`, and the
//! globals `--noout`, `--log-level`, `--events-backend`.

mod common;

use common::store::TestStore;

#[test]
fn start_all_starts_every_container_not_running() {
    let st = TestStore::with_busybox();
    for n in ["a", "b"] {
        st.ok(&["create", "--name", n, "localhost/bb:1", "sleep", "100"]);
    }
    st.ok(&["start", "--all"]);
    assert_eq!(st.inspect("a", ".State.Status"), "running");
    assert_eq!(st.inspect("b", ".State.Status"), "running");
    st.ok(&["rm", "-af", "-t", "0"]);
}

#[test]
fn volume_rm_all_and_noheading_tables() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "v1"]);
    st.ok(&["volume", "create", "v2"]);
    st.ok(&["volume", "rm", "--all"]);
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "");
    let images = st.ok(&["images", "--noheading"]).stdout;
    assert!(images.starts_with("localhost/bb"), "{images}");
    assert_eq!(images.lines().count(), 1);
    st.ok(&["create", "--name", "c", "localhost/bb:1", "true"]);
    let ps = st.ok(&["ps", "-a", "--noheading"]).stdout;
    assert_eq!(ps.lines().count(), 1, "{ps}");
    assert!(ps.trim_end().ends_with(" c"), "{ps}");
    let nets = st.ok(&["network", "ls"]).stdout;
    assert!(nets.starts_with("NETWORK ID"), "{nets}");
    let nets = st.ok(&["network", "ls", "--noheading"]).stdout;
    assert!(
        !nets.contains("NETWORK ID") && nets.lines().count() >= 1,
        "{nets}"
    );
    // The default network has podman's name, so `--network podman` means it.
    let names = st.ok(&["network", "ls", "--format", "{{.Name}}"]).stdout;
    assert_eq!(names, "podman\n");
    let row = st.ok(&["network", "ls", "--format", "{{.ID}} {{.Driver}} {{.id}}"]);
    let id = st.ok(&["network", "inspect", "--format", "{{.id}}", "podman"]);
    let id = id.stdout.trim();
    // .ID cut as the table's, podman's JSON field whole.
    assert_eq!(row.stdout, format!("{} bridge {id}\n", &id[..12]));
    let whole = st.ok(&["network", "ls", "--no-trunc", "--format", "{{.ID}}"]);
    assert_eq!(whole.stdout, format!("{id}\n"));
    let json = common::json(&st.ok(&["network", "ls", "--format", "json"]).stdout);
    assert_eq!(json[0]["id"], id);
    assert!(json[0].get("ID").is_none(), "{json}");
    assert!(nets.starts_with(&id[..12]), "{nets}");
    let r = st.ok(&["network", "inspect", "--format", "{{.Name}}", "podman"]);
    assert_eq!(r.stdout, "podman\n");
}

#[test]
fn global_noout_log_level_and_events_backend() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "--noout",
        "--log-level",
        "error",
        "--events-backend",
        "file",
        "create",
        "--name",
        "quiet",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.stdout, "", "--noout printed");
    assert_eq!(st.run(&["container", "exists", "quiet"]).code, 0);
    // A level that is none: podman's words and exit code 1.
    let r = st.run(&["--log-level", "loud", "ps"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("Log Level \"loud\" is not supported"),
        "{}",
        r.stderr
    );
    // Messages in logrus' form, filtered by level; the default (warn) shows none.
    let levels = |flags: &[&str]| {
        let mut args = flags.to_vec();
        args.push("ps");
        let err = st.ok(&args).stderr;
        ["trace", "debug", "info", "warning"].map(|l| err.contains(&format!(" level={l} ")))
    };
    assert_eq!(levels(&["--log-level=trace"]), [true, true, true, false]);
    assert_eq!(levels(&["--log-level=debug"]), [false, true, true, false]);
    assert_eq!(levels(&["--log-level=info"]), [false, false, true, false]);
    assert_eq!(levels(&[]), [false, false, false, false]);
    assert_eq!(levels(&["-D"]), [false, true, true, false]);
    let err = st.ok(&["--debug", "ps"]).stderr;
    assert!(
        err.contains(" level=debug msg=\"Using graph root "),
        "{err}"
    );
    let r = st.run(&["--debug", "--log-level=panic", "ps"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "Setting --log-level and --debug is not allowed\n");
    // berth writes cgroupfs itself: asked for that, it says nothing.
    let r = st.ok(&[
        "--log-level",
        "warning",
        "--cgroup-manager=cgroupfs",
        "info",
        "-f",
        "",
    ]);
    assert_eq!((r.stdout.trim(), r.stderr.as_str()), ("", ""));
    let r = st.ok(&["--cgroup-manager=systemd", "ps", "-q"]);
    assert!(
        r.stderr
            .contains("--cgroup-manager systemd: berth manages cgroups through cgroupfs"),
        "{}",
        r.stderr
    );
    assert_eq!(st.run(&["--cgroup-manager=other", "ps"]).code, 125);
}

#[test]
fn kill_judges_the_signal_before_the_container_as_podman() {
    let st = TestStore::with_busybox();
    for bad in [
        "0",
        "SIGBADSIG",
        "SIG",
        "BADSIG",
        "%%",
        "!",
        " ",
        "-0",
        "-BADSIG",
    ] {
        let r = st.run(&["kill", "-s", bad, "nosuchcontainer"]);
        assert_eq!(r.code, 125, "{bad:?}: {}", r.stderr);
        let want = format!(
            "Error: invalid signal: {}",
            bad.strip_prefix('-').unwrap_or(bad)
        );
        assert_eq!(r.stderr.trim_end(), want.trim_end(), "{bad:?}");
    }
    st.ok(&["run", "-d", "--name", "t", "localhost/bb:1", "sleep", "100"]);
    for good in ["-HUP", "sigusr1", "10", "SIGUSR2"] {
        st.ok(&["kill", "-s", good, "t"]);
    }
    st.ok(&["rm", "-f", "-t", "0", "t"]);
}

#[test]
fn run_answers_as_podman_run_does() {
    let st = TestStore::with_busybox();
    let img = "localhost/bb:1";
    // --memory=0 is no limit; --kernel-memory is a no-op that says so.
    assert_eq!(
        st.ok(&["run", "--rm", "--memory=0", img, "echo", "hi"])
            .stdout,
        "hi\n"
    );
    let r = st.ok(&["run", "--rm", "--kernel-memory", "100m", img, "true"]);
    assert_eq!(
        r.stderr.trim(),
        "The --kernel-memory flag is no longer supported. This flag is a noop."
    );
    // Ports with a network mode that has none: a warning, and the container runs.
    let r = st.ok(&[
        "run",
        "--rm",
        "-p",
        "8080",
        "--network",
        "none",
        img,
        "echo",
        "ran",
    ]);
    assert_eq!(r.stdout, "ran\n");
    assert_eq!(
        r.stderr.trim(),
        "Port mappings have been discarded as one of the Host, Container, Pod, and None network modes are in use"
    );
    // What cannot run is 126, with podman's words.
    let r = st.run(&["run", "--rm", "--workdir", "/i/do/not/exist", img, "pwd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "Error: workdir \"/i/do/not/exist\" does not exist on container"
    );
    let r = st.run(&["run", "--rm", img, "/etc"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert_eq!(r.stderr.trim(), "Error: exec \"/etc\": permission denied");
    let r = st.run(&["run", "--rm", "--pull=never", "localhost/nothere:1", "true"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: localhost/nothere:1: image not known"
    );
}

#[test]
fn container_facts_are_podmans() {
    let st = TestStore::with_busybox();
    st.ok(&["tag", "localhost/bb:1", "localhost/other/name"]);
    let id = st.ok(&["create", "localhost/other/name", "true"]).stdout;
    let id = id.trim();
    // The image as the store names it, :latest included; its digest; the log.
    assert_eq!(st.inspect(id, ".ImageName"), "localhost/other/name:latest");
    let digest = st.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Digest}}",
        "localhost/bb:1",
    ]);
    assert_eq!(st.inspect(id, ".ImageDigest"), digest.stdout.trim());
    assert!(
        st.inspect(id, ".HostConfig.LogConfig.Path")
            .ends_with("ctr.log")
    );
    // ps templates show the short ID, as the table does.
    let r = st.ok(&["ps", "-a", "--format", "{{.ID}}"]);
    assert_eq!(r.stdout.trim(), &id[..12]);
    // /run/.containerenv: empty, unless the container is privileged.
    let plain = st.ok(&["run", "--rm", "localhost/bb:1", "cat", "/run/.containerenv"]);
    assert_eq!(plain.stdout, "");
    let privileged = st.ok(&[
        "run",
        "--rm",
        "--privileged",
        "--name",
        "p",
        "localhost/bb:1",
        "cat",
        "/run/.containerenv",
    ]);
    assert!(
        privileged.stdout.contains("name=\"p\""),
        "{}",
        privileged.stdout
    );
    st.ok(&["rm", id]);
}

#[test]
fn force_passes_over_what_is_not_there_and_times_read_as_podmans() {
    let st = TestStore::with_busybox();
    // Without -f a missing container or image is an error (1); with it, nothing.
    let r = st.run(&["container", "rm", "bogus"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "Error: no container with name or ID \"bogus\" found: no such container"
    );
    let r = st.ok(&["container", "rm", "--force", "bogus"]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    let r = st.run(&["image", "rm", "bogus"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.trim(), "Error: bogus: image not known");
    let r = st.ok(&["image", "rm", "--force", "bogus"]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    // start takes --all or names, not both.
    let r = st.run(&["start", "--all", "12333"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: either start all containers or the container(s) provided in the arguments"
    );
    // logs --since takes a Unix time.
    st.ok(&["run", "--name", "l", "localhost/bb:1", "echo", "logged"]);
    assert_eq!(st.ok(&["logs", "--since", "1000", "l"]).stdout, "logged\n");
    assert_eq!(st.ok(&["logs", "--since", "4102444800", "l"]).stdout, "");
    st.ok(&["rm", "l"]);
}

#[test]
fn info_images_and_volumes_as_podman_reads_them() {
    let st = TestStore::with_busybox();
    assert_eq!(
        st.ok(&["info", "--format", "{{.Host.LogDriver}}"]).stdout,
        "k8s-file\n"
    );
    let cg = st.ok(&[
        "info",
        "--format",
        "{{.Host.CgroupsVersion}}+{{.Host.CgroupManager}}",
    ]);
    assert!(
        cg.stdout.starts_with('v') && cg.stdout.ends_with("+cgroupfs\n"),
        "{}",
        cg.stdout
    );
    let at = st.ok(&["images", "--format", "{{.CreatedAt}}"]).stdout;
    let (date, zone) = at.trim().split_at(19);
    assert_eq!(zone, " +0000 UTC", "{at}");
    assert_eq!(&date[4..5], "-");
    assert_eq!(&date[10..11], " ");
    // The same -v twice is one mount; two on one destination are refused.
    let dir = st.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), "x").unwrap();
    let v = format!("{}:/vol1", dir.display());
    let r = st.ok(&[
        "run",
        "--rm",
        "-v",
        &v,
        "-v",
        &v,
        "localhost/bb:1",
        "cat",
        "/vol1/f",
    ]);
    assert_eq!(r.stdout, "x");
    let other = format!("{}:/vol1", st.path().display());
    let r = st.run(&[
        "run",
        "--rm",
        "-v",
        &v,
        "-v",
        &other,
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr.trim(), "Error: /vol1: duplicate mount destination");
}

#[test]
fn volumes_as_podman_keeps_them() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "volume",
        "create",
        "--label",
        "team=a",
        "-o",
        "o=x",
        "volume_1a",
    ]);
    st.ok(&["volume", "create", "volume_1b"]);
    st.ok(&["volume", "create", "other"]);
    let names = |filter: &str| {
        st.ok(&["volume", "ls", "--filter", filter, "--format", "{{.Name}}"])
            .stdout
    };
    assert_eq!(names("name=volume_1.+"), "volume_1a\nvolume_1b\n");
    assert_eq!(names("label=team=a"), "volume_1a\n");
    assert_eq!(names("label=team=b"), "");
    let labels = st.ok(&["volume", "inspect", "volume_1a"]).stdout;
    let v: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(v[0]["Labels"]["team"], "a");
    assert_eq!(v[0]["Options"]["o"], "x");
    let table = st.ok(&["volume", "ls", "--noheading"]).stdout;
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(!table.contains("VOLUME NAME"));
    // Files in and out as a tar; mount tells where they are.
    st.ok(&[
        "run",
        "--rm",
        "-v",
        "volume_1a:/v",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo hi > /v/f",
    ]);
    let tar = st.path().join("v.tar");
    st.ok(&[
        "volume",
        "export",
        "volume_1a",
        "--output",
        tar.to_str().unwrap(),
    ]);
    // A volume that is not there: podman's 125, and no file left behind.
    let missing = st.path().join("missing.tar");
    let r = st.run(&[
        "volume",
        "export",
        "nosuchvol",
        "-o",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(!missing.exists(), "an empty archive was left behind");
    let names: Vec<_> = std::fs::read_dir(st.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.to_string_lossy().contains("berth-tmp")),
        "{names:?}"
    );
    st.ok(&["volume", "import", "volume_1b", tar.to_str().unwrap()]);
    let dir = st.ok(&["volume", "mount", "volume_1b"]).stdout;
    assert_eq!(
        std::fs::read_to_string(format!("{}/f", dir.trim())).unwrap(),
        "hi\n"
    );
    st.ok(&["volume", "unmount", "volume_1b"]);
    // exists, and rm --force of what is not there.
    assert_eq!(st.run(&["volume", "exists", "volume_1b"]).code, 0);
    assert_eq!(st.run(&["volume", "exists", "bogus"]).code, 1);
    assert_eq!(st.run(&["volume", "rm", "bogus"]).code, 1);
    let r = st.ok(&["volume", "rm", "--force", "bogus"]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
}

#[test]
fn save_and_load_through_pipes_as_podman() {
    let st = TestStore::with_busybox();
    // save without -o writes the archive to stdout; load without -i reads stdin.
    let out = st
        .cmd()
        .args(["save", "--format", "oci-archive", "localhost/bb:1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = st.path().join("piped.tar");
    std::fs::write(&archive, &out.stdout).unwrap();
    // A directory is no stream.
    let r = st.run(&["save", "--format", "oci-dir", "localhost/bb:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("needs an output path"), "{}", r.stderr);
    let id = st.inspect("localhost/bb:1", ".Id");
    st.ok(&["rmi", "localhost/bb:1"]);
    let mut load = st.cmd();
    load.arg("load")
        .stdin(std::fs::File::open(&archive).unwrap());
    let r = common::run_cmd(&mut load);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The OCI archive names the image: it loads under its name again.
    assert_eq!(r.stdout, "Loaded image: localhost/bb:1\n");
    // An image saved by its ID loads without a name.
    let by_id = st.path().join("by-id.tar");
    st.ok(&["save", "-o", by_id.to_str().unwrap(), &id[..12]]);
    st.ok(&["rmi", "-af"]);
    st.ok(&["load", "-i", by_id.to_str().unwrap()]);
    let listed = st.ok(&[
        "images",
        "-a",
        "--format",
        "{{.ID}} {{.Repository}}:{{.Tag}}",
    ]);
    assert_eq!(listed.stdout.trim(), format!("{} <none>:<none>", &id[..12]));
    // What is no archive says so in podman's words.
    let junk = st.path().join("junk");
    std::fs::write(&junk, "not an archive").unwrap();
    let r = st.run(&["load", "-i", junk.to_str().unwrap()]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("payload does not match any of the supported image formats:"),
        "{}",
        r.stderr
    );
}

#[test]
fn buildx_build_is_build() {
    let st = TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN echo hi > /x\nVOLUME /a/b/c\nVOLUME ['/etc/foo', '/etc/bar']\n",
    )
    .unwrap();
    st.ok(&["buildx", "build", "-t", "bx", ctx.to_str().unwrap()]);
    // docker's `image build` too.
    st.ok(&["image", "build", "-q", "-t", "ib", ctx.to_str().unwrap()]);
    assert_eq!(st.ok(&["run", "--rm", "ib", "cat", "/x"]).stdout, "hi\n");
    assert_eq!(st.ok(&["run", "--rm", "bx", "cat", "/x"]).stdout, "hi\n");
    // VOLUME of words that look like JSON: volumes at docker's odd places,
    // the relative one under /; each a volume, not the root's filesystem.
    let r = st.ok(&["run", "--rm", "bx", "find", "/[", "/etc/bar]", "-print"]);
    assert_eq!(r.stdout, "/[\n/[/etc\n/[/etc/foo,\n/etc/bar]\n");
    let devs = st.ok(&[
        "run",
        "--rm",
        "bx",
        "stat",
        "-c",
        "%D",
        "/",
        "/a/b",
        "/a/b/c",
        "/[/etc/foo,",
    ]);
    let d: Vec<&str> = devs.stdout.lines().collect();
    assert_eq!(d[0], d[1], "{d:?}");
    assert_ne!(d[0], d[2], "/a/b/c is no volume: {d:?}");
    assert_ne!(d[0], d[3], "/[/etc/foo, is no volume: {d:?}");
}

#[test]
fn stop_untag_info_and_run_flags_as_podman() {
    let st = TestStore::with_busybox();
    // stop --ignore passes over what is not there; --timeout is -t.
    assert_eq!(st.run(&["stop", "nothere"]).code, 125);
    st.ok(&["stop", "--ignore", "nothere"]);
    st.ok(&["run", "-d", "--name", "s", "localhost/bb:1", "sleep", "100"]);
    st.ok(&["stop", "--timeout", "0", "s"]);
    // untag of a name the image lacks: "tag not known".
    let r = st.run(&["untag", "localhost/bb:1", "registry.com/foo:bar"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: registry.com/foo:bar: tag not known"
    );
    // info's fields scripts read.
    let info = st.ok(&["info", "--format", "json"]).stdout;
    let v: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(v["host"]["cgroupManager"], "cgroupfs");
    assert!(v["host"]["distribution"]["distribution"].is_string());
    assert!(v["store"]["graphOptions"].is_object());
    // The builder's version and the monitor (conmon's role) are berth's own.
    assert_eq!(v["host"]["buildahVersion"], env!("CARGO_PKG_VERSION"));
    let monitor = v["host"]["conmon"]["path"].as_str().unwrap();
    assert!(std::path::Path::new(monitor).is_file(), "{monitor}");
    // The host's figures, the service's socket, the plugins and the whole
    // version block scripts read.
    assert!(v["host"]["cpus"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["host"]["memTotal"].as_u64().unwrap() > 0, "{v}");
    assert!(
        v["host"]["uptime"]
            .as_str()
            .unwrap()
            .contains("(Approximately "),
        "{v}"
    );
    assert!(
        v["host"]["remoteSocket"]["path"]
            .as_str()
            .unwrap()
            .starts_with("unix:///"),
        "{v}"
    );
    assert_eq!(v["plugins"]["volume"], serde_json::json!(["local"]));
    let f = "{{.Version.Version}} {{.Version.APIVersion}} {{.Version.Os}} {{len .Plugins.Log}}";
    let r = st.ok(&["info", "--format", f]);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(r.stdout, format!("{version} {version} linux 4\n"));
    st.ok(&[
        "--storage-opt=",
        "info",
        "--format",
        "{{.Store.GraphDriverName}}",
    ]);
    // The YAML form: an empty map on its line, as podman prints it; the counts.
    let yaml = st.ok(&["info"]).stdout;
    assert!(yaml.contains("\n  graphOptions: {}\n"), "{yaml}");
    assert!(yaml.contains("  imageStore:\n    number: 1\n"), "{yaml}");
    // --group-add keep-groups stands alone; --userns as root is host.
    let r = st.run(&[
        "run",
        "--rm",
        "--group-add",
        "keep-groups",
        "--group-add",
        "457",
        "localhost/bb:1",
        "id",
    ]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: the '--group-add keep-groups' option is not allowed with any other --group-add options"
    );
    st.ok(&[
        "run",
        "--rm",
        "--group-add",
        "keep-groups",
        "localhost/bb:1",
        "true",
    ]);
    // A user given has its own group among its groups; the default root none.
    let groups = |user: &[&str]| {
        let script = "grep ^Groups: /proc/self/status";
        let argv = [
            &["run", "--rm"],
            user,
            &["localhost/bb:1", "sh", "-c", script],
        ]
        .concat();
        st.ok(&argv)
            .stdout
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(groups(&["-u", "1000:1000"]), "1000");
    assert_eq!(groups(&["-u", "1000:1000", "--group-add", "7"]), "7 1000");
    assert_eq!(groups(&["-u", "0"]), "0");
    assert_eq!(groups(&[]), "");
    st.ok(&["run", "--rm", "--userns", "host", "localhost/bb:1", "true"]);
    let r = st.run(&["run", "--rm", "--userns=nomap", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: nomap is only supported in rootless mode"
    );
    st.ok(&["rm", "s"]);
}

#[test]
fn mounts_and_volume_templates_as_podman() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "m", "localhost/bb:1", "true"]);
    let id = st.inspect("m", ".Id");
    let path = st.ok(&["mount", "m"]).stdout;
    // Without names, the mounted containers with where they are.
    let listed = st.ok(&["mount"]).stdout;
    assert_eq!(listed, format!("{} {}", &id[..12], path));
    let full = st.ok(&["mount", "--notruncate"]).stdout;
    assert_eq!(full, format!("{id} {path}"));
    st.ok(&["umount", "--all"]);
    assert_eq!(st.ok(&["mount"]).stdout, "");
    st.ok(&["volume", "create", "tv"]);
    let mp = st.ok(&["volume", "inspect", "tv", "--format", "{{.Mountpoint}}"]);
    assert!(
        mp.stdout.trim().ends_with("/volumes/tv/_data"),
        "{}",
        mp.stdout
    );
    st.ok(&["rm", "m"]);
}

#[test]
fn build_ignorefile_replaces_the_contexts_ignore_file() {
    let st = TestStore::with_busybox();
    let ctx = st.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    for f in ["a", "b"] {
        std::fs::write(ctx.join(f), f).unwrap();
    }
    std::fs::write(ctx.join(".containerignore"), "a\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nCOPY . /c/\nRUN ls /c > /list\n",
    )
    .unwrap();
    let other = st.path().join("other-ignore");
    std::fs::write(&other, "b\n").unwrap();
    let c = ctx.to_str().unwrap();
    st.ok(&["build", "-t", "plain", c]);
    st.ok(&[
        "build",
        "-t",
        "given",
        "--ignorefile",
        other.to_str().unwrap(),
        c,
    ]);
    let list = |img: &str| st.ok(&["run", "--rm", img, "cat", "/list"]).stdout;
    assert!(!list("plain").contains("a\n") && list("plain").contains("b\n"));
    assert!(list("given").contains("a\n") && !list("given").contains("b\n"));
    let r = st.run(&["build", "--ignorefile", "/nonexistent", c]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("--ignorefile /nonexistent:"),
        "{}",
        r.stderr
    );
}

#[test]
fn wait_for_a_condition() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "w",
        "localhost/bb:1",
        "sh",
        "-c",
        "exit 3",
    ]);
    // Created already: -1 at once; a condition that means the exit, its code.
    assert_eq!(
        st.ok(&["wait", "--condition", "created", "w"]).stdout,
        "-1\n"
    );
    st.ok(&["start", "w"]);
    let r = st.ok(&[
        "container",
        "wait",
        "--condition=exited",
        "--condition=stopped",
        "w",
    ]);
    assert_eq!(r.stdout, "3\n");
    st.ok(&["run", "-d", "--name", "r", "localhost/bb:1", "sleep", "100"]);
    assert_eq!(
        st.ok(&["wait", "--condition", "running", "r"]).stdout,
        "-1\n"
    );
    let r = st.run(&["wait", "--condition", "bogus", "r"]);
    assert_eq!(r.code, 125);
    st.ok(&["rm", "-f", "-t", "0", "r", "w"]);
}

#[test]
fn conmon_pidfile_names_the_monitor() {
    let st = TestStore::with_busybox();
    let pidfile = st.path().join("monitor.pid");
    let id = st.ok(&[
        "run",
        "-d",
        "--conmon-pidfile",
        pidfile.to_str().unwrap(),
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let id = id.stdout.trim();
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert_eq!(pid, st.inspect(id, ".State.ConmonPid"));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains("__monitor"));
    st.ok(&["rm", "-f", "-t", "0", id]);
    // Written by the monitor itself, so `start` of a created container too.
    let pidfile = st.path().join("created.pid");
    st.ok(&[
        "create",
        "--name",
        "later",
        "--conmon-pidfile",
        pidfile.to_str().unwrap(),
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    assert!(!pidfile.exists());
    st.ok(&["start", "later"]);
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert_eq!(pid, st.inspect("later", ".State.ConmonPid"));
    // A pid file nowhere to be written is refused before anything is made.
    let r = st.run(&[
        "run",
        "-d",
        "--name",
        "nopid",
        "--conmon-pidfile",
        "/nonexistent/d/m.pid",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("--conmon-pidfile /nonexistent/d/m.pid: its directory does not exist"),
        "{}",
        r.stderr
    );
    assert_eq!(st.run(&["container", "exists", "nopid"]).code, 1);
    // Flags a systemd unit passes: told apart from ones berth has not.
    let r = st.run(&["run", "--sdnotify", "container", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("--sdnotify container: not supported"),
        "{}",
        r.stderr
    );
    let r = st.run(&["run", "--cgroups", "disabled", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("--cgroups disabled: not supported"),
        "{}",
        r.stderr
    );
    let r = st.run(&["stop", "--cidfile", "/nonexistent/ctr-id"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("reading CIDFile /nonexistent/ctr-id"),
        "{}",
        r.stderr
    );
    st.ok(&["rm", "-f", "--ignore", "--cidfile", "/nonexistent/ctr-id"]);
}

#[test]
fn preserve_fds_passes_inherited_descriptors() {
    use std::os::fd::AsRawFd;
    let st = TestStore::with_busybox();
    let file = st.path().join("for-fd-4");
    std::fs::write(&file, "through fd 4\n").unwrap();
    let f = std::fs::File::open(&file).unwrap();
    let fd = f.as_raw_fd();
    let mut c = st.cmd();
    c.args([
        "run",
        "--rm",
        "-i",
        "--preserve-fds=2",
        "localhost/bb:1",
        "sh",
        "-c",
        "cat <&4",
    ]);
    // SAFETY: in the forked child, dup2 onto fd 4 of a descriptor open in the
    // parent (or, when the file got fd 4 itself, which dup2 would leave
    // close-on-exec, clearing that flag); nothing else runs between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(move || {
            let r = if fd == 4 {
                libc::fcntl(4, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 4)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let r = common::run_cmd(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "through fd 4\n");
}

#[test]
fn rmi_force_of_one_name_takes_only_that_name() {
    let st = TestStore::with_busybox();
    st.ok(&["tag", "localhost/bb:1", "localhost/stray:1"]);
    let r = st.ok(&["rmi", "--force", "localhost/stray:1"]);
    assert_eq!(r.stdout, "Untagged: localhost/stray:1\n");
    // The image stays under its other name, and runs.
    st.ok(&["run", "--rm", "localhost/bb:1", "true"]);
    // Its last name with -f: containers made from it go, then the image.
    st.ok(&["create", "--name", "user", "localhost/bb:1", "true"]);
    let r = st.ok(&["rmi", "-f", "localhost/bb:1"]);
    assert!(r.stdout.contains("Deleted: "), "{}", r.stdout);
    assert_eq!(st.run(&["container", "exists", "user"]).code, 1);
}

#[test]
fn logs_times_with_offsets() {
    let st = TestStore::with_busybox();
    st.ok(&["run", "--name", "l", "localhost/bb:1", "echo", "logged"]);
    let since = |t: &str| st.ok(&["logs", "--since", t, "l"]).stdout;
    assert_eq!(since("2000-01-01T00:00:00+00:00"), "logged\n");
    assert_eq!(since("2000-01-01T02:00:00.5+02:00"), "logged\n");
    assert_eq!(since("2100-01-01T00:00:00-05:00"), "");
    st.ok(&["rm", "l"]);
}

#[test]
fn images_formats_as_podman() {
    let st = TestStore::with_busybox();
    // JSON's CreatedAt is RFC 3339; templates' is Go's; labels are there.
    let j = st.ok(&["images", "--format", "json"]).stdout;
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    let at = v[0]["CreatedAt"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.contains('T'), "{at}");
    assert!(v[0]["Labels"].is_object());
    let list = st.ok(&["images", "--format", "{{.CreatedSince}}--{{.CreatedAt}}"]);
    let hist = st.ok(&[
        "history",
        "--format",
        "{{.CreatedSince}}--{{.CreatedAt}}",
        "localhost/bb:1",
    ]);
    // The same time; "N seconds ago" may differ when a second passes between the two.
    let at = |out: &str| {
        let line = out.lines().next().unwrap_or_default().to_string();
        let (since, at) = line.split_once("--").unwrap_or_default();
        assert!(since.ends_with(" ago"), "{line}");
        at.to_string()
    };
    assert_eq!(at(&hist.stdout), at(&list.stdout));
    // A table template: fields a space apart are aligned columns.
    st.ok(&["tag", "localhost/bb:1", "localhost/a-much-longer-name:1"]);
    let t = st.ok(&[
        "images",
        "--sort",
        "repository",
        "--format",
        "table {{.Repository}} {{.Tag}}",
    ]);
    let lines: Vec<&str> = t.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["REPOSITORY", "TAG"]
    );
    assert_eq!(lines[1], "localhost/a-much-longer-name  1");
    assert_eq!(lines[2], "localhost/bb                  1");
    // A flag given twice: the last one counts, as podman's.
    let r = st.ok(&[
        "images",
        "--format",
        "json",
        "--format",
        "{{.Tag}}",
        "localhost/bb:1",
    ]);
    assert_eq!(r.stdout, "1\n");
}

#[test]
fn volume_options_and_duplicates_as_podman() {
    let st = TestStore::with_busybox();
    // noexec on a volume: its files do not run (126); exec, nosuid, nodev are taken.
    st.ok(&["volume", "create", "x"]);
    st.ok(&[
        "run",
        "--rm",
        "-v",
        "x:/vol:exec,nosuid,nodev",
        "localhost/bb:1",
        "sh",
        "-c",
        "cp /bin/busybox /vol/busybox && /vol/busybox true",
    ]);
    let r = st.run(&[
        "run",
        "--rm",
        "-v",
        "x:/vol:noexec,z",
        "localhost/bb:1",
        "/vol/busybox",
        "true",
    ]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    // In Go's words, as runc and crun print them.
    assert_eq!(
        r.stderr.trim(),
        "Error: exec \"/vol/busybox\": permission denied"
    );
    // The same --tmpfs twice is one; two different on one destination are refused.
    st.ok(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t",
        "--tmpfs",
        "/t",
        "localhost/bb:1",
        "true",
    ]);
    let r = st.run(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t",
        "--tmpfs",
        "/t:ro",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.stderr.trim(), "Error: /t: duplicate mount destination");
}

#[test]
fn stop_warns_when_it_had_to_kill() {
    let st = TestStore::with_busybox();
    // A shell as pid 1 ignores SIGTERM: the stop ends in SIGKILL, and says so.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "stopme",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let r = st.ok(&["stop", "-t", "1", "stopme"]);
    assert_eq!(r.stdout, "stopme\n");
    assert_eq!(
        r.stderr.trim(),
        "WARN StopSignal SIGTERM failed to stop container stopme in 1 seconds, resorting to SIGKILL"
    );
    // One that obeys its stop signal gives no warning.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "obeys",
        "localhost/bb:1",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
    let r = st.ok(&["stop", "-t", "5", "obeys"]);
    assert_eq!(r.stderr, "");
    st.ok(&["rm", "stopme", "obeys"]);
}

#[test]
fn ps_status_stopped_is_exited() {
    let st = TestStore::with_busybox();
    st.ok(&["run", "--name", "done", "localhost/bb:1", "true"]);
    st.ok(&["create", "--name", "new", "localhost/bb:1", "true"]);
    let r = st.ok(&[
        "ps",
        "-a",
        "--filter",
        "status=stopped",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(r.stdout, "done\n");
    st.ok(&["rm", "done", "new"]);
}

#[test]
fn start_filter_as_podman() {
    let st = TestStore::with_busybox();
    let id = st.ok(&["run", "-d", "localhost/bb:1", "true"]).stdout;
    let id = id.trim();
    st.ok(&["wait", id]);
    let r = st.ok(&["start", "--filter", "restart-policy=always", id]);
    assert_eq!(r.stdout, "");
    let r = st.ok(&["start", "--filter", "restart-policy=none", id]);
    assert_eq!(r.stdout, format!("{id}\n"));
    let r = st.run(&["start", "--filter", "restart-policy=fakepolicy", id]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr.trim(), "Error: fakepolicy invalid restart policy");
    st.ok(&["wait", id]);
    let bad = st.ok(&["run", "-d", "localhost/bb:1", "false"]).stdout;
    st.ok(&["wait", bad.trim()]);
    let r = st.ok(&["start", "--all", "--filter", "exited=0"]);
    assert_eq!(r.stdout, format!("{id}\n"));
    st.ok(&["rm", "-af"]);
}

#[test]
fn cp_says_what_could_not_be_found() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "cpc", "localhost/bb:1", "true"]);
    let host = st.path().join("hostfile");
    std::fs::write(&host, "x").unwrap();
    let missing = st.path().join("IdoNotExist");
    let r = st.run(&["cp", missing.to_str().unwrap(), "cpc:/tmp"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "Error: \"{}\" could not be found on the host",
            missing.display()
        )
    );
    let r = st.run(&["cp", host.to_str().unwrap(), "cpc:/IdoNotExist/"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: \"/IdoNotExist/\" could not be found on container cpc: no such file or directory"
    );
    let r = st.run(&["cp", "cpc:/tmp/nothere", st.path().to_str().unwrap()]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        "Error: \"/tmp/nothere\" could not be found on container cpc: no such file or directory"
    );
    // What is there still goes both ways.
    st.ok(&["cp", host.to_str().unwrap(), "cpc:/tmp/"]);
    let back = st.path().join("back");
    st.ok(&["cp", "cpc:/tmp/hostfile", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(back).unwrap(), "x");
    st.ok(&["rm", "cpc"]);
}

#[test]
fn logs_of_several_containers_are_prefixed() {
    let st = TestStore::with_busybox();
    let a = st.ok(&["run", "--name", "la", "localhost/bb:1", "echo", "from a"]);
    assert_eq!(a.stdout, "from a\n");
    st.ok(&["run", "--name", "lb", "localhost/bb:1", "echo", "from b"]);
    let ia = st.inspect("la", ".Id");
    let ib = st.inspect("lb", ".Id");
    let r = st.ok(&["logs", "la", "lb"]);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    let mut want = vec![
        format!("{} from a", &ia[..12]),
        format!("{} from b", &ib[..12]),
    ];
    want.sort();
    assert_eq!(lines, want);
    let r = st.ok(&["logs", "--names", "la", "lb"]);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, ["la from a", "lb from b"]);
    st.ok(&["rm", "la", "lb"]);
}

#[test]
fn events_record_what_happened_to_containers() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--label",
        "team=a",
        "--name",
        "ev",
        "--rm",
        "localhost/bb:1",
        "true",
    ]);
    let past = |filters: &[&str], extra: &[&str]| {
        let mut args = vec!["events", "--stream=false"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        args.extend(extra);
        st.ok(&args).stdout
    };
    let all = past(&["container=ev"], &["--format", "{{.Status}}"]);
    assert_eq!(all, "create\ninit\nstart\ndied\nremove\n");
    let start = past(&["type=container", "label=team=a", "event=start"], &[]);
    assert_eq!(start.lines().count(), 1, "{start}");
    let line = start.trim();
    assert!(
        line.ends_with("(image=localhost/bb:1, name=ev, team=a)"),
        "{line}"
    );
    assert!(line.contains(" +0000 UTC container start "), "{line}");
    let died = past(
        &["container=ev", "event=died"],
        &["--format", "{{.Name}} {{.ContainerExitCode}} {{json .}}"],
    );
    // podman's: the exit code a number of its own, not an attribute.
    assert!(
        died.starts_with("ev 0 {\"ContainerExitCode\":0,\"ID\""),
        "{died}"
    );
    assert!(!died.contains("containerExitCode"), "{died}");
    // Short IDs with --no-trunc=false; the future only with --since.
    let short = past(&["event=start"], &["--no-trunc=false"]);
    let id = short
        .split(" container start ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(past(&[], &["--since", "4102444800"]), "");
    // A stream with --until in the past ends at once, after the past.
    let r = st.ok(&["events", "--until", "1000"]);
    assert_eq!(r.stdout, "");
}

/// The rest of podman's container events: kill, stop, restart, rename,
/// commit, mount and unmount, health_status with the container's health.
#[test]
fn events_of_signals_stops_renames_commits_mounts_and_health() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "evs",
        "--network",
        "none",
        "--health-cmd",
        "true",
        "localhost/bb:1",
        "sh",
        "-c",
        "trap '' HUP; while :; do sleep 0.2; done",
    ]);
    st.ok(&["kill", "-s", "HUP", "evs"]);
    st.ok(&["healthcheck", "run", "evs"]);
    st.ok(&["restart", "-t", "0", "evs"]);
    st.ok(&["rename", "evs", "evs2"]);
    st.ok(&["commit", "-q", "evs2", "localhost/evs:1"]);
    st.ok(&["mount", "evs2"]);
    st.ok(&["umount", "evs2"]);
    st.ok(&["stop", "-t", "0", "evs2"]);
    let id = st.inspect("evs2", ".Id");
    let seen = st
        .ok(&[
            "events",
            "--stream=false",
            "--filter",
            &format!("container={id}"),
            "--format",
            "{{.Status}}",
        ])
        .stdout;
    let seen: Vec<&str> = seen.lines().collect();
    let want = [
        "create",
        "init",
        "start",
        "kill",
        "health_status",
        "restart",
        "died",
        "stop",
        "init",
        "start",
        "rename",
        "commit",
        "mount",
        "unmount",
        "died",
        "stop",
    ];
    assert_eq!(seen, want);
    let health = st
        .ok(&[
            "events",
            "--stream=false",
            "--filter",
            "event=health_status",
            "--format",
            "{{.Attributes.health_status}}",
        ])
        .stdout;
    assert_eq!(health, "healthy\n");
    st.ok(&["rm", "evs2"]);
}

#[test]
fn events_backend_none_records_nothing() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "--events-backend",
        "none",
        "run",
        "--name",
        "quiet",
        "--rm",
        "localhost/bb:1",
        "true",
    ]);
    let r = st.ok(&["events", "--stream=false", "--filter", "container=quiet"]);
    assert_eq!(r.stdout, "");
    assert_eq!(
        st.ok(&["info", "--format", "{{.Host.EventLogger}}"]).stdout,
        "file\n"
    );
}

/// A reader that has gone (`berth images | head -1`) ends berth by SIGPIPE,
/// quietly, as it ends podman: never a panic's message on the terminal.
#[test]
fn a_closed_stdout_ends_berth_by_sigpipe_without_a_message() {
    use std::os::unix::process::ExitStatusExt;
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "listed",
        "--network",
        "none",
        "localhost/bb:1",
    ]);
    for args in [&["images"][..], &["ps", "-a"], &["inspect", "listed"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = st
            .cmd()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {out:?}"
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

/// An inspect document's times print as Go prints a time.Time, as podman's
/// templates do (`2024-03-01 12:34:56.789 +0000 UTC`); `json` keeps RFC 3339.
#[test]
fn inspect_templates_print_times_as_go_does() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "timed",
        "--network",
        "none",
        "localhost/bb:1",
    ]);
    let go = st.inspect("timed", ".Created");
    let (date, rest) = go.split_once(' ').unwrap();
    assert_eq!(date.len(), 10, "{go}");
    assert!(rest.ends_with(" +0000 UTC"), "{go}");
    assert_eq!(
        st.inspect("timed", ".State.StartedAt"),
        "0001-01-01 00:00:00 +0000 UTC"
    );
    let json = st.inspect("timed", "json .Created");
    assert!(json.contains('T') && json.ends_with("Z\""), "{json}");
}

/// Templates as Go runs them for podman: a label the container lacks is
/// `<no value>` and `index` of it empty, not an error; a field that does not
/// exist is, with podman's 125 (skopeo's inspect keeps its 1); `table` means
/// nothing to one document.
#[test]
fn inspect_templates_judge_missing_keys_as_go_does() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "t", "--label", "a=1", "localhost/bb:1"]);
    let f = "{{.Config.Labels.a}}|{{.Config.Labels.b}}|[{{index .Config.Labels \"b\"}}]";
    let r = st.ok(&["inspect", "--format", f, "t"]);
    assert_eq!(r.stdout, "1|<no value>|[]\n");
    let r = st.ok(&["inspect", "--format", "table {{.Name}}", "t"]);
    assert_eq!(r.stdout, "t\n");
    for bad in ["{{.Nonexistent}}", "{{.Name"] {
        let r = st.run(&["inspect", "--format", bad, "t"]);
        assert_eq!(r.code, 125, "{bad}: {}", r.stderr);
    }
    let r = st.run(&["info", "--format", "{{.Nonexistent}}"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let layout = st.path().join("layout");
    st.ok(&[
        "push",
        "-q",
        "localhost/bb:1",
        &format!("oci:{}:x", layout.display()),
    ]);
    let r = st.run(&[
        "image",
        "inspect",
        "--format",
        "{{.Nonexistent}}",
        &format!("oci:{}:x", layout.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// `images` templates have podman's fields: `.Size` for humans, `.Created`
/// as an age, `.CreatedTime` in Go's format, `.VirtualSize` in bytes.
#[test]
fn images_templates_have_podmans_human_fields() {
    let st = TestStore::with_busybox();
    let f = "{{.Size}}|{{.Created}}|{{.CreatedTime}}|{{.VirtualSize}}";
    let out = st.ok(&["images", "--format", f, "localhost/bb:1"]).stdout;
    let parts: Vec<&str> = out.trim().split('|').collect();
    let (number, unit) = parts[0].split_once(' ').unwrap();
    assert!(
        number.parse::<f64>().is_ok() && unit.ends_with('B'),
        "{out}"
    );
    assert!(parts[1].ends_with(" ago"), "{out}");
    assert!(parts[2].ends_with(" +0000 UTC"), "{out}");
    let bytes: u64 = parts[3].parse().unwrap();
    assert!(bytes > 1000, "{out}");
    // JSON keeps the numbers.
    let v: serde_json::Value =
        serde_json::from_str(&st.ok(&["images", "--format", "json"]).stdout).unwrap();
    assert_eq!(v[0]["Size"], bytes);
    assert_eq!(v[0]["VirtualSize"], bytes);
}

/// `help [COMMAND]`, as podman, skopeo and buildah (cobra) have it.
#[test]
fn the_help_command_helps_with_any_command() {
    for (args, usage) in [
        (&["help", "ps"][..], "Usage: berth ps"),
        (&["image", "help", "copy"], "Usage: berth image copy"),
        (&["builder", "help", "from"], "Usage: berth builder from"),
    ] {
        let r = common::run(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stdout.contains(usage), "{args:?}: {}", r.stdout);
    }
}

/// `--sysctl` (namespaced parameters only, none of a namespace shared with the
/// host), `--oom-score-adj` and `--label-file`, as podman takes them.
#[test]
fn sysctls_oom_score_and_label_files() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "kernel.shmmax=1000000",
        "--oom-score-adj",
        "500",
        "localhost/bb:1",
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/kernel/shmmax",
        "/proc/self/oom_score_adj",
    ]);
    assert_eq!(r.stdout, "1\n1000000\n500\n");
    for (flags, words) in [
        (
            &["--sysctl", "vm.swappiness=1"][..],
            "sysctl 'vm.swappiness' is not allowed",
        ),
        (
            &["--sysctl", "net.core.somaxconn"],
            "must be in the form of KEY=VALUE",
        ),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
            "can't be set since Network Namespace set to host",
        ),
        (&["--oom-score-adj", "1001"], "1001"),
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend(["localhost/bb:1", "true"]);
        let r = st.run(&args);
        assert_eq!(r.code, 125, "{flags:?}");
        assert!(r.stderr.contains(words), "{flags:?}: {}", r.stderr);
    }
    // Refused by create itself, which then makes nothing.
    let before = st.ok(&["ps", "-aq"]).stdout;
    let r = st.run(&[
        "create",
        "--ipc",
        "host",
        "--sysctl",
        "kernel.shmmax=1000000",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("can't be set since IPC Namespace set to host"),
        "{}",
        r.stderr
    );
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, before);
    let file = st.path().join("labels");
    std::fs::write(&file, "a=1\n# a comment\n\nb\n").unwrap();
    st.ok(&[
        "create",
        "--name",
        "lf",
        "--network",
        "none",
        "--label-file",
        file.to_str().unwrap(),
        "-l",
        "c=3",
        "--sysctl",
        "net.core.somaxconn=100",
        "localhost/bb:1",
    ]);
    assert_eq!(st.inspect("lf", ".Config.Labels"), "map[a:1 b: c:3]");
    assert_eq!(
        st.inspect("lf", ".HostConfig.Sysctls"),
        "map[net.core.somaxconn:100]"
    );
}

/// `--cgroupns host` shares the host's cgroup namespace; private is the default.
#[test]
fn cgroupns_host_or_private() {
    let st = TestStore::with_busybox();
    let ns = |flags: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend(flags);
        args.extend(["localhost/bb:1", "readlink", "/proc/self/ns/cgroup"]);
        st.ok(&args).stdout.trim().to_string()
    };
    let host = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    assert_eq!(ns(&["--cgroupns", "host"]), host.to_str().unwrap());
    assert_ne!(ns(&[]), host.to_str().unwrap());
    st.ok(&[
        "create",
        "--name",
        "cg",
        "--cgroupns",
        "host",
        "localhost/bb:1",
    ]);
    assert_eq!(st.inspect("cg", ".HostConfig.CgroupMode"), "host");
    let r = st.run(&[
        "run",
        "--rm",
        "--cgroupns",
        "bogus",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("--cgroupns bogus"), "{}", r.stderr);
}

/// `ps` as podman 4.3 prints it: "Up … ago", and its template fields
/// (.CreatedAt in Go's format, a short .ImageID, a cut .Command, .Size only
/// with --size).
#[test]
fn ps_says_up_ago_and_has_podmans_template_fields() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "none",
        "localhost/bb:1",
        "sh",
        "-c",
        "sleep 1000; echo a long command line",
    ]);
    let table = st.ok(&["ps"]).stdout;
    assert!(table.contains(" ago "), "{table}");
    let f = "{{.Status}}|{{.CreatedAt}}|{{.ImageID}}|{{.Command}}|{{.Size}}";
    let out = st.ok(&["ps", "--format", f]).stdout;
    let v: Vec<&str> = out.trim().split('|').collect();
    assert!(v[0].starts_with("Up ") && v[0].ends_with(" ago"), "{out}");
    assert!(v[1].ends_with(" +0000 UTC"), "{out}");
    assert_eq!(v[2].len(), 12, "{out}");
    assert_eq!(v[3], "sh -c sleep 1000;...", "{out}");
    assert_eq!(v[4], "", "{out}");
    st.ok(&["rm", "-f", "-t", "0", "up"]);
}

/// `ps --ns`: podman's namespace table (inode numbers) and template fields.
#[test]
fn ps_ns_shows_the_containers_namespaces() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "nsx",
        "--network",
        "none",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let pid = st.inspect("nsx", ".State.Pid");
    let inode = |kind: &str| {
        let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
        let link = link.to_string_lossy().into_owned();
        link.trim_end_matches(']')
            .split('[')
            .nth(1)
            .unwrap()
            .to_string()
    };
    let table = st.ok(&["ps", "--ns"]).stdout;
    let (head, row) = table.split_once('\n').unwrap();
    assert!(
        head.starts_with("CONTAINER ID") && head.contains("NET"),
        "{table}"
    );
    assert!(
        row.contains(&pid) && row.contains(&inode("net")) && row.contains(&inode("pid")),
        "{table}"
    );
    let net = st.ok(&["ps", "--ns", "--format", "{{.NET}}"]).stdout;
    assert_eq!(net.trim(), inode("net"));
    assert_eq!(st.ok(&["ps", "--format", "{{.NET}}"]).stdout.trim(), "");
    st.ok(&["rm", "-f", "-t", "0", "nsx"]);
}

#[test]
fn containers_conf_events_logger_none_records_nothing_unless_the_flag_says_file() {
    let st = TestStore::with_busybox();
    let conf = st.path().join("events-none.conf");
    std::fs::write(&conf, "[engine]\nevents_logger = \"none\"\n").unwrap();
    let with_conf = |args: &[&str]| {
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF_OVERRIDE", &conf).args(args);
        common::run_cmd(&mut c)
    };
    let run = |name: &str, flags: &[&str]| {
        let mut args = flags.to_vec();
        args.extend(["run", "--rm", "--network", "none", "--name", name]);
        args.extend(["localhost/bb:1", "true"]);
        assert_eq!(with_conf(&args).code, 0);
    };
    run("by-conf", &[]);
    run("by-flag", &["--events-backend", "file"]);
    let seen = st
        .ok(&["events", "--stream=false", "--format", "{{.Name}}"])
        .stdout;
    assert!(!seen.contains("by-conf"), "{seen}");
    assert!(seen.contains("by-flag"), "{seen}");
    let logger = with_conf(&["info", "--format", "{{.Host.EventLogger}}"]);
    assert_eq!(logger.stdout, "none\n");
}

#[test]
fn a_bad_flag_value_fails_create_naming_it_and_makes_nothing() {
    let st = TestStore::with_busybox();
    for (flags, words) in [
        (&["--memory", "1k"][..], "--memory 1k: the minimum is 6MB"),
        (&["--shm-size", "lots"][..], "--shm-size lots"),
        (&["--restart", "sometimes"][..], "--restart sometimes"),
        (&["--network", "container:"][..], "--network container:"),
        (&["-p", "80:x"][..], "-p 80:x"),
        (
            &["-v", "/tmp:rel"][..],
            "-v rel: the container path must be absolute",
        ),
        (
            &["--mount", "type=bind,target=/x"][..],
            "a source is required",
        ),
        (&["--tmpfs", "rel"][..], "--tmpfs rel"),
    ] {
        let mut args = vec!["create", "--name", "never"];
        args.extend(flags);
        args.push("localhost/bb:1");
        let r = st.run(&args);
        assert_eq!(r.code, 125, "{flags:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{flags:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{flags:?}: {}",
            r.stderr
        );
    }
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

#[test]
fn run_environment_home_and_time_zone_as_podman_sets_them() {
    let st = TestStore::with_busybox();
    let env = |extra: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend(extra);
        args.extend(["localhost/bb:1", "env"]);
        st.ok(&args).stdout
    };
    let all = env(&[]);
    assert!(
        all.contains("TERM=xterm\n") && all.contains("HOME=/root\n"),
        "{all}"
    );
    // A user /etc/passwd does not know gets HOME=/, never an empty one.
    assert!(env(&["--user", "100"]).contains("HOME=/\n"));
    assert!(!env(&["--unsetenv", "TERM"]).contains("TERM="));
    let only = env(&["--unsetenv-all", "--env", "TERM=abc"]);
    assert_eq!(
        only.lines()
            .filter(|l| !l.starts_with("HOSTNAME="))
            .collect::<Vec<_>>(),
        ["TERM=abc"]
    );
    // --tz: the zone's file at /etc/localtime; the last --tz wins.
    let date = |tz: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend(tz);
        args.extend(["localhost/bb:1", "date", "-d", "@1600000000"]);
        st.ok(&args).stdout
    };
    assert_eq!(date(&[]), "Sun Sep 13 12:26:40 UTC 2020\n");
    assert_eq!(
        date(&["--tz=Iceland", "--tz=MST7MDT"]),
        "Sun Sep 13 06:26:40 MDT 2020\n"
    );
    let r = st.run(&[
        "run",
        "--rm",
        "--tz",
        "../../etc/passwd",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (125, "Error: --tz ../../etc/passwd: not a time zone name")
    );
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

#[test]
fn run_rmi_removes_the_image_unless_another_container_uses_it() {
    let st = TestStore::with_busybox();
    // An image of its own (another name of bb:1 would only be untagged).
    st.ok(&["create", "--name", "base", "localhost/bb:1", "true"]);
    st.ok(&["commit", "-q", "base", "localhost/once:1"]);
    st.ok(&["rm", "base"]);
    st.ok(&["create", "--name", "keep", "localhost/once:1", "true"]);
    st.ok(&["run", "--rmi", "localhost/once:1", "true"]);
    st.ok(&["image", "exists", "localhost/once:1"]);
    st.ok(&["rm", "keep"]);
    st.ok(&["run", "--rmi", "localhost/once:1", "true"]);
    assert_eq!(st.run(&["image", "exists", "localhost/once:1"]).code, 1);
    // --rmi implies --rm; the base image stays.
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    st.ok(&["image", "exists", "localhost/bb:1"]);
}

#[test]
fn rm_depend_removes_the_containers_that_join_it_first() {
    let st = TestStore::with_busybox();
    let base = st
        .ok(&["create", "localhost/bb:1", "true"])
        .stdout
        .trim()
        .to_string();
    let net = format!("--network=container:{base}");
    let dep = st
        .ok(&["create", &net, "localhost/bb:1", "true"])
        .stdout
        .trim()
        .to_string();
    let r = st.run(&["rm", &base]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("has dependent containers which must be removed before it"),
        "{}",
        r.stderr
    );
    let r = st.ok(&["rm", "--depend", &base]);
    assert_eq!(r.stdout, format!("{dep}\n{base}\n"));
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

#[test]
fn image_events_are_recorded_as_podman_records_them() {
    let st = TestStore::with_busybox();
    let id = st.inspect("localhost/bb:1", ".ID");
    let ball = st.path().join("ball.tar");
    let ball_s = ball.to_str().unwrap();
    st.ok(&["save", "-q", "-o", ball_s, "localhost/bb:1"]);
    st.ok(&["tag", "localhost/bb:1", "registry.com/abc"]);
    st.ok(&["untag", "localhost/bb:1", "registry.com/abc"]);
    st.ok(&["tag", "localhost/bb:1", "registry.com/abc"]);
    st.ok(&["rmi", "-f", &id]);
    st.ok(&["load", "-q", "-i", ball_s]);
    st.ok(&["pull", "-q", &format!("docker-archive:{ball_s}")]);
    let r = st.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=image",
        "--format",
        "{{.Status}}--{{.Name}}",
    ]);
    let expect = [
        format!("save--{ball_s}"),
        "tag--registry.com/abc".into(),
        "untag--registry.com/abc:latest".into(),
        "tag--registry.com/abc".into(),
        "untag--localhost/bb:1".into(),
        "untag--registry.com/abc:latest".into(),
        format!("remove--{id}"),
        format!("loadfromarchive--{ball_s}"),
        format!("pull--docker-archive:{ball_s}"),
    ];
    // The import that made bb:1 is not an event of these.
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), expect);
    // podman's pull event carries no ID.
    let pulls = st.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "event=pull",
        "--format",
        "[{{.ID}}]",
    ]);
    assert_eq!(pulls.stdout, "[]\n");
    let r = st.run(&["--events-backend", "none", "events", "--stream=false"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (125, "Error: cannot read events with the \"none\" backend")
    );
    // containers.conf may put the file elsewhere.
    let (conf, log) = (
        st.path().join("containers.conf"),
        st.path().join("my-events.log"),
    );
    std::fs::write(
        &conf,
        format!("[engine]\nevents_logfile_path=\"{}\"\n", log.display()),
    )
    .unwrap();
    let mut c = st.cmd();
    c.env("CONTAINERS_CONF", &conf)
        .args(["tag", "localhost/bb:1", "localhost/again:1"]);
    assert_eq!(common::run_cmd(&mut c).code, 0);
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("\"Name\":\"localhost/again:1\"")
    );
}

#[test]
fn the_containers_root_has_the_images_mode() {
    let st = TestStore::with_busybox();
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let tar = berth_testkit::tar_builder::Tar::new()
        .dir_with("./", 0o555, 0, 1_600_000_000)
        .dir_with("bin", 0o755, 0, 1_600_000_000)
        .file_with("bin/busybox", &busybox, 0o755, 0, 0, 1_600_000_000, &[])
        .symlink("bin/stat", "busybox")
        .bytes();
    let t = st.path().join("r555.tar");
    std::fs::write(&t, tar).unwrap();
    st.ok(&["import", "-q", t.to_str().unwrap(), "localhost/r555:1"]);
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/r555:1",
        "/bin/stat",
        "-c",
        "%a",
        "/",
    ]);
    assert_eq!(r.stdout, "555\n");
}

#[test]
fn run_takes_an_image_from_an_archive() {
    let st = TestStore::with_busybox();
    let ball = st.path().join("bb.tar");
    st.ok(&["save", "-q", "-o", ball.to_str().unwrap(), "localhost/bb:1"]);
    st.ok(&["rmi", "localhost/bb:1"]);
    let image = format!("docker-archive:{}", ball.display());
    let r = st.ok(&["run", "--rm", "-q", &image, "echo", "from the archive"]);
    assert_eq!(r.stdout, "from the archive\n");
    // The image came back under the name the archive gives it.
    st.ok(&["image", "exists", "localhost/bb:1"]);
}

#[test]
fn log_opt_and_attach_shape_a_containers_output() {
    let st = TestStore::with_busybox();
    // --log-opt max-size: shown by inspect, and the log never grows past it.
    let id = st
        .ok(&[
            "run",
            "-d",
            "--log-opt",
            "max-size=1.5k",
            "localhost/bb:1",
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done",
        ])
        .stdout
        .trim()
        .to_string();
    st.ok(&["wait", &id]);
    assert_eq!(st.inspect(&id, ".HostConfig.LogConfig.Size"), "1.5kB");
    let log = st.inspect(&id, ".HostConfig.LogConfig.Path");
    let len = std::fs::metadata(&log).unwrap().len();
    assert!(len > 0 && len <= 1500, "log of {len} bytes");
    let logs = st.ok(&["logs", &id]).stdout;
    assert!(logs.ends_with("line-199\n"), "{logs}");
    // --log-opt path: the log is where it says.
    let path = st.path().join("my.log");
    let opt = format!("path={}", path.display());
    st.ok(&[
        "run",
        "--name",
        "p",
        "--log-opt",
        &opt,
        "localhost/bb:1",
        "echo",
        "to my log",
    ]);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("to my log")
    );
    assert_eq!(st.ok(&["logs", "p"]).stdout, "to my log\n");
    // --attach stdin: not attached to stdout, run prints the container's ID.
    let r = st.ok(&[
        "run",
        "--name",
        "a",
        "--attach",
        "stdin",
        "localhost/bb:1",
        "echo",
        "hello",
    ]);
    assert_eq!(r.stdout.trim(), st.inspect("a", ".Id"));
    let r = st.ok(&[
        "run",
        "--rm",
        "-a",
        "stderr",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    // Only stderr is the container's (attached to one of its outputs, run
    // does not print the container's ID).
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", "err\n"));
    st.ok(&["rm", "-af"]);
}

#[test]
fn images_show_the_names_an_image_has_had_and_filter_after() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "c", "localhost/bb:1", "true"]);
    st.ok(&["commit", "-q", "c", "my-test-image"]);
    let history = |st: &TestStore| {
        st.ok(&["images", "my-test-image", "--format", "{{ .History }}"])
            .stdout
    };
    assert_eq!(history(&st), "localhost/my-test-image:latest\n");
    for n in ["n1", "n2"] {
        st.ok(&["tag", "my-test-image", n]);
        st.ok(&["rmi", n]);
    }
    assert_eq!(
        history(&st),
        "localhost/my-test-image:latest, localhost/n2:latest, localhost/n1:latest\n"
    );
    // after= is since=: images made later than the one named.
    let bb = st.inspect("localhost/bb:1", ".ID");
    let fmt = "--format={{.Repository}}:{{.Tag}}";
    let r = st.ok(&[
        "images",
        "--noheading",
        fmt,
        &format!("--filter=after={bb}"),
    ]);
    assert_eq!(r.stdout, "localhost/my-test-image:latest\n");
}

#[test]
fn ps_sort_created_is_oldest_first_and_last_takes_the_newest() {
    let st = TestStore::with_busybox();
    for n in ["first", "second", "third"] {
        st.ok(&["create", "--name", n, "localhost/bb:1", "true"]);
    }
    let names = |extra: &[&str]| {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        args.extend(extra);
        st.ok(&args).stdout
    };
    assert_eq!(names(&["--sort", "created"]), "first\nsecond\nthird\n");
    // Unsorted too: podman's ps sorts by creation, oldest first.
    assert_eq!(names(&[]), "first\nsecond\nthird\n");
    assert_eq!(names(&["--last", "2"]), "second\nthird\n");
    assert_eq!(
        names(&["--last", "2", "--sort", "created"]),
        "second\nthird\n"
    );
}

#[test]
fn image_mount_shows_an_images_files_read_only_and_counts() {
    let st = TestStore::with_busybox();
    let id = st.inspect("localhost/bb:1", ".ID");
    let path = st
        .ok(&["image", "mount", "localhost/bb:1"])
        .stdout
        .trim()
        .to_string();
    assert!(
        std::path::Path::new(&path).join("bin/busybox").is_file(),
        "{path}"
    );
    let w = std::fs::write(std::path::Path::new(&path).join("new"), "x");
    assert!(w.is_err(), "an image mount is read-only");
    // Mounted again: listed once, and a plain umount leaves it mounted.
    st.ok(&["image", "mount", "localhost/bb:1"]);
    let listed = st.ok(&["image", "mount"]).stdout;
    assert_eq!(listed, format!("localhost/bb:1 {path}\n"));
    assert_eq!(st.ok(&["image", "umount", "localhost/bb:1"]).stdout, "");
    assert_eq!(
        st.ok(&["image", "umount", "-f", "localhost/bb:1"]).stdout,
        format!("{id}\n")
    );
    assert_eq!(st.ok(&["image", "umount", "localhost/bb:1"]).stdout, "");
    assert_eq!(st.ok(&["image", "mount"]).stdout, "");
    let r = st.run(&["image", "umount", "no-such-image"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (125, "Error: no-such-image: image not known")
    );
    // --all: each image once (by its first name), however many names it has.
    st.ok(&["tag", "localhost/bb:1", "localhost/bb:2"]);
    let all = st.ok(&["image", "mount", "--all"]).stdout;
    assert_eq!(all, format!("localhost/bb:1 {path}\n"));
    assert_eq!(
        st.ok(&["image", "umount", "--all"]).stdout,
        format!("{id}\n")
    );
    st.ok(&["untag", "localhost/bb:1", "localhost/bb:2"]);
    // rmi of a mounted image takes the mount with it.
    let path = st
        .ok(&["image", "mount", "localhost/bb:1"])
        .stdout
        .trim()
        .to_string();
    st.ok(&["rmi", "localhost/bb:1"]);
    assert!(!std::path::Path::new(&path).join("bin").exists());
}

#[test]
fn mount_type_image_puts_an_image_in_a_container() {
    let st = TestStore::with_busybox();
    let img = "localhost/bb:1";
    let m = "type=image,src=localhost/bb:1,dst=/image-mount";
    st.ok(&[
        "run",
        "--rm",
        "--mount",
        m,
        img,
        "cmp",
        "/bin/busybox",
        "/image-mount/bin/busybox",
    ]);
    let r = st.run(&[
        "run",
        "--rm",
        "--mount",
        m,
        img,
        "touch",
        "/image-mount/read-only",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    // Gone with the container: nothing left mounted.
    assert_eq!(st.ok(&["image", "umount", img]).stdout, "");
    // rw: writes land in the container's own layer, never in the image.
    let rw = format!("{m},rw=true");
    st.ok(&[
        "run",
        "--rm",
        "--mount",
        &rw,
        img,
        "touch",
        "/image-mount/readwrite",
    ]);
    let path = st.ok(&["image", "mount", img]).stdout.trim().to_string();
    assert!(!std::path::Path::new(&path).join("readwrite").exists());
    // Another holder of the image's mount keeps it mounted.
    st.ok(&["run", "--rm", "--mount", m, img, "true"]);
    assert_eq!(
        st.ok(&["image", "umount", img]).stdout,
        format!("{}\n", st.inspect(img, ".ID"))
    );
    let id = st
        .ok(&["run", "-d", "--mount", &rw, img, "sleep", "100"])
        .stdout
        .trim()
        .to_string();
    let mounts = st.inspect(
        &id,
        "range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}}{{end",
    );
    assert_eq!(mounts, "image localhost/bb:1 /image-mount true");
    // The running container holds the image's mount too (podman's): an
    // unmount takes it, and the container's own view stays.
    assert_eq!(
        st.ok(&["image", "umount", img]).stdout,
        format!("{}\n", st.inspect(img, ".ID"))
    );
    assert_eq!(st.ok(&["image", "umount", img]).stdout, "");
    st.ok(&[
        "exec",
        &id,
        "cmp",
        "/bin/busybox",
        "/image-mount/bin/busybox",
    ]);
    st.ok(&["rm", "-f", "-t", "0", &id]);
    let r = st.run(&[
        "run",
        "--rm",
        "--mount",
        "type=image,src=localhost/nosuch:1,dst=/x",
        img,
        "true",
    ]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (125, "Error: localhost/nosuch:1: image not known")
    );
}

#[test]
fn save_uncompressed_writes_plain_tar_layers() {
    let st = TestStore::with_busybox();
    let archive = st.path().join("img.tar");
    st.ok(&[
        "save",
        "-q",
        "-o",
        archive.to_str().unwrap(),
        "--format",
        "oci-archive",
        "--uncompressed",
        "localhost/bb:1",
    ]);
    let out = st.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut ar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    ar.unpack(&out).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .replace("sha256:", "");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("blobs/sha256").join(digest)).unwrap())
            .unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar");
        let blob = out
            .join("blobs/sha256")
            .join(layer["digest"].as_str().unwrap().replace("sha256:", ""));
        let head = std::fs::read(blob).unwrap();
        assert_eq!(&head[257..262], b"ustar", "a plain tar");
    }
}

#[test]
fn device_cgroup_rules_are_checked_and_applied() {
    let st = TestStore::with_busybox();
    for rule in ["b 7:* rmw", "c 7:* rmw", "a 7:1 rmw", "a 7 rmw"] {
        st.ok(&[
            "run",
            "--rm",
            &format!("--device-cgroup-rule={rule}"),
            "localhost/bb:1",
            "true",
        ]);
    }
    for (rule, words) in [
        (
            "b 7:* rmX",
            "Error: invalid device access in device-access-add: X",
        ),
        (
            "b 7:2",
            "Error: invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\"",
        ),
        (
            "x 7:* rmw",
            "Error: invalid device type in device-access-add: x",
        ),
        (
            "a a:* rmw",
            "Error: strconv.ParseUint: parsing \"a\": invalid syntax",
        ),
    ] {
        let r = st.run(&[
            "run",
            "--rm",
            &format!("--device-cgroup-rule={rule}"),
            "localhost/bb:1",
            "true",
        ]);
        assert_eq!((r.code, r.stderr.trim()), (125, words));
    }
    // The rule reaches the device cgroup: a loop device node may be made and
    // opened with it, and not without.
    let use_loop = |rule: Option<&str>| {
        let mut args = vec!["run", "--rm", "--cap-add", "mknod"];
        args.extend(rule);
        args.extend([
            "localhost/bb:1",
            "sh",
            "-c",
            "mknod /tmp/l b 7 0 && cat /tmp/l >/dev/null && echo opened",
        ]);
        st.run(&args)
    };
    let r = use_loop(Some("--device-cgroup-rule=b 7:* rmw"));
    assert_eq!((r.code, r.stdout.as_str()), (0, "opened\n"), "{}", r.stderr);
    let r = use_loop(None);
    assert!(
        r.code != 0 && r.stderr.contains("Operation not permitted"),
        "{}",
        r.stderr
    );
}

#[test]
fn inspect_latest_is_the_container_created_last() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "older", "localhost/bb:1", "true"]);
    st.ok(&["create", "--name", "newer", "localhost/bb:1", "true"]);
    let r = st.ok(&["inspect", "-l", "--format", "{{.Name}}"]);
    assert_eq!(r.stdout.trim(), "newer");
    st.ok(&["rm", "-l"]);
    assert_eq!(
        st.ok(&["ps", "-a", "--format", "{{.Names}}"]).stdout,
        "older\n"
    );
}

/// `--timeout`: a container that runs longer is killed, in the foreground
/// and under its monitor; its exit code is podman's -1 (255 for `run`).
#[test]
fn timeout_kills_a_container_that_runs_too_long() {
    let st = TestStore::with_busybox();
    let r = st.run(&[
        "run",
        "--name",
        "fg",
        "--timeout",
        "1",
        "localhost/bb:1",
        "sleep",
        "60",
    ]);
    assert_eq!(r.code, 255, "{}", r.stderr);
    assert_eq!(st.inspect("fg", ".State.Status"), "exited");
    assert_eq!(st.inspect("fg", ".State.ExitCode"), "-1");
    st.ok(&[
        "run",
        "-d",
        "--name",
        "bg",
        "--timeout",
        "1",
        "localhost/bb:1",
        "sleep",
        "60",
    ]);
    assert_eq!(st.ok(&["wait", "bg"]).stdout, "-1\n");
    // In time: the command's own exit code.
    let r = st.run(&[
        "run",
        "--rm",
        "--timeout",
        "30",
        "localhost/bb:1",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(r.code, 3);
}

/// While `stop` waits out its timeout, the container is podman's
/// "stopping", other commands go on, and a `kill` ends it (137).
#[test]
fn a_container_being_stopped_is_stopping() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "stopme",
        "localhost/bb:1",
        "sh",
        "-c",
        "trap 'echo Received SIGTERM, ignoring' TERM; echo READY; while :; do sleep 0.2; done",
    ]);
    while !st.ok(&["logs", "stopme"]).stdout.contains("READY") {
        std::thread::yield_now();
    }
    let mut stop = st
        .cmd()
        .args(["stop", "-t", "20", "stopme"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !st
        .ok(&["logs", "stopme"])
        .stdout
        .contains("Received SIGTERM")
    {
        std::thread::yield_now();
    }
    st.ok(&["ps", "-a"]);
    assert_eq!(st.inspect("stopme", ".State.Status"), "stopping");
    assert_eq!(st.inspect("stopme", ".State.Running"), "true");
    st.ok(&["kill", "stopme"]);
    st.ok(&["wait", "stopme"]);
    assert_eq!(st.inspect("stopme", ".State.ExitCode"), "137");
    assert_eq!(st.inspect("stopme", ".State.Status"), "exited");
    assert!(stop.wait().unwrap().success());
}

/// A signal from `kill` that the container survives leaves it running (not
/// "stopping", which only `stop` makes it).
#[test]
fn a_signal_the_container_survives_leaves_it_running() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "hup",
        "--network",
        "none",
        "localhost/bb:1",
        "sh",
        "-c",
        "trap 'echo got HUP' HUP; echo READY; while :; do sleep 0.2; done",
    ]);
    common::wait_for("READY", || st.ok(&["logs", "hup"]).stdout.contains("READY"));
    st.ok(&["kill", "-s", "HUP", "hup"]);
    common::wait_for("the trap", || {
        st.ok(&["logs", "hup"]).stdout.contains("got HUP")
    });
    assert_eq!(st.inspect("hup", ".State.Status"), "running");
    let ps = st.ok(&["ps", "--filter", "status=running", "--format", "{{.Names}}"]);
    assert_eq!(ps.stdout, "hup\n");
    st.ok(&["rm", "-f", "-t", "0", "hup"]);
}

/// `--volumepath` (and containers.conf's `volume_path`): named volumes live
/// there, for every command and the monitors they start; info says where.
#[test]
fn volumepath_puts_named_volumes_elsewhere() {
    let st = TestStore::with_busybox();
    let vp = st.path().join("vols");
    let vp_s = vp.to_str().unwrap();
    let with = |args: &[&str]| {
        let mut a = vec!["--volumepath", vp_s];
        a.extend_from_slice(args);
        st.ok(&a)
    };
    assert_eq!(
        with(&["info", "--format", "{{.Store.VolumePath}}"])
            .stdout
            .trim(),
        vp_s
    );
    with(&["volume", "create", "v"]);
    assert!(vp.join("v/_data").is_dir());
    assert_eq!(with(&["volume", "ls", "-q"]).stdout, "v\n");
    assert_eq!(
        st.ok(&["volume", "ls", "-q"]).stdout,
        "",
        "the default path has it too"
    );
    with(&[
        "run",
        "--rm",
        "-v",
        "v:/data",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo x > /data/f",
    ]);
    assert_eq!(
        std::fs::read_to_string(vp.join("v/_data/f")).unwrap(),
        "x\n"
    );
    // A detached --rm container's anonymous volume goes with it, from there.
    with(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "anon",
        "-v",
        "/scratch",
        "localhost/bb:1",
        "true",
    ]);
    with(&["wait", "--ignore", "anon"]);
    // Removal follows the exit (the monitor's, as podman's cleanup process).
    common::wait_for("the --rm container's removal", || {
        with(&["volume", "ls", "-q"]).stdout == "v\n"
    });
    // containers.conf's volume_path, when no flag says otherwise.
    let conf = st.path().join("containers.conf");
    std::fs::write(&conf, format!("[engine]\nvolume_path = \"{vp_s}\"\n")).unwrap();
    let r = common::run_cmd(
        st.cmd()
            .env("CONTAINERS_CONF", &conf)
            .args(["volume", "ls", "-q"]),
    );
    assert_eq!(r.stdout, "v\n", "{}", r.stderr);
    with(&["volume", "rm", "v"]);
    assert!(!vp.join("v").exists());
}

/// `inspect` finds containers, images, volumes and networks, in one call,
/// and `--type` says which; `container inspect` only containers.
#[test]
fn inspect_finds_every_kind_and_type_narrows_it() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "c1", "localhost/bb:1", "true"]);
    st.ok(&["volume", "create", "v1"]);
    let r = st.ok(&["inspect", "--format", "{{.Name}}", "c1", "v1"]);
    assert_eq!(r.stdout, "c1\nv1\n");
    let all = common::json(&st.ok(&["inspect", "c1", "localhost/bb:1", "v1"]).stdout);
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    assert!(all[1]["RepoTags"].is_array(), "{all}");
    let r = st.run(&["inspect", "--type", "image", "v1"]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: inspecting object: v1: image not known\n");
    let r = st.run(&["container", "inspect", "v1"]);
    assert_eq!(r.stderr, "Error: inspecting object: no such container v1\n");
    // Pods too, by name or with --type pod.
    st.ok(&["pod", "create", "--infra=false", "--name", "p1"]);
    let r = st.ok(&["inspect", "--format", "{{.Name}}", "p1"]);
    assert_eq!(r.stdout, "p1\n");
    let r = st.ok(&["inspect", "--type", "pod", "--format", "{{.Name}}", "p1"]);
    assert_eq!(r.stdout, "p1\n");
    assert_eq!(
        st.run(&["container", "inspect", "localhost/bb:1"]).code,
        125
    );
    let two = common::json(
        &st.ok(&["image", "inspect", "localhost/bb:1", "localhost/bb:1"])
            .stdout,
    );
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(
        st.ok(&["inspect", "--type", "volume", "--format", "{{.Name}}", "v1"])
            .stdout,
        "v1\n"
    );
}

#[test]
fn auto_updates_need_a_fully_qualified_registry_image() {
    let st = TestStore::with_busybox();
    let label = "io.containers.autoupdate=registry";
    st.ok(&["create", "--label", label, "localhost/bb:1", "true"]);
    st.ok(&["tag", "localhost/bb:1", "shortname:latest"]);
    let r = st.run(&["create", "--label", label, "shortname:latest", "true"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr,
        "Error: short name: auto updates require fully-qualified image reference: \"shortname:latest\"\n"
    );
    let archive = st.path().join("a.tar");
    st.ok(&["save", "-o", archive.to_str().unwrap(), "localhost/bb:1"]);
    let src = format!("docker-archive:{}", archive.display());
    let r = st.run(&["create", "--label", label, &src, "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("auto updates require the docker image transport but image is of transport \"docker-archive\""),
        "{}",
        r.stderr
    );
    // Nothing was made of them.
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout.lines().count(), 1);
}

/// Volumes and pods have their events as podman records them: a volume made
/// by name or for a container, removed, pruned; a pod's life. `--format json`
/// leaves out what a volume's event has not, as podman's does.
#[test]
fn volume_and_pod_events_as_podman_records_them() {
    let st = TestStore::with_busybox();
    st.ok(&["volume", "create", "v1"]);
    st.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "v1:/a",
        "-v",
        "auto:/b",
        "localhost/bb:1",
        "true",
    ]);
    st.ok(&["volume", "rm", "v1"]);
    st.ok(&["volume", "prune", "-f"]);
    let volume_events = st.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=volume",
        "--format",
        "{{.Status}} {{.Name}}",
    ]);
    assert_eq!(
        volume_events.stdout,
        "create v1\ncreate auto\nremove v1\nremove auto\nprune auto\n"
    );
    let json = st.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "volume=v1",
        "--format",
        "json",
    ]);
    let first: serde_json::Value =
        serde_json::from_str(json.stdout.lines().next().unwrap()).unwrap();
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["Name", "Status", "Time", "Type", "Attributes"],
        "{first}"
    );
    assert_eq!(first["Attributes"], serde_json::Value::Null);
    st.ok(&["pod", "create", "--infra=false", "--name", "p"]);
    st.ok(&[
        "create",
        "--pod",
        "p",
        "--name",
        "m",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    for verb in ["start", "pause", "unpause"] {
        st.ok(&["pod", verb, "p"]);
    }
    st.ok(&["pod", "stop", "-t", "0", "p"]);
    st.ok(&["pod", "rm", "p"]);
    let pod_events = st.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "pod=p",
        "--format",
        "{{.Type}} {{.Status}} {{.Name}}",
    ]);
    assert_eq!(
        pod_events.stdout,
        "pod create p\npod start p\npod pause p\npod unpause p\npod stop p\npod remove p\n"
    );
}

/// stop, kill, pause, restart and start look for every container
/// named before acting on any, as podman's do: a missing one among them is
/// the error and the others are left as they were (--ignore passes over it).
#[test]
fn lifecycle_commands_find_every_container_before_acting() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "localhost/bb:1",
        "sleep",
        "100",
    ]);
    let want = "Error: no container with name or ID \"nope\" found: no such container\n";
    for verb in [
        &["stop", "-t", "0"][..],
        &["kill"],
        &["pause"],
        &["restart", "-t", "0"],
    ] {
        let r = st.run(&[verb, &["nope", "up"]].concat());
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (125, "", want),
            "{verb:?}"
        );
        assert_eq!(st.inspect("up", ".State.Status"), "running", "{verb:?}");
    }
    st.ok(&["create", "--name", "made", "localhost/bb:1", "true"]);
    let r = st.run(&["start", "nope", "made"]);
    assert_eq!((r.code, r.stderr.as_str()), (125, want));
    assert_eq!(st.inspect("made", ".State.Status"), "created");
    let r = st.ok(&["stop", "--ignore", "-t", "0", "nope", "up"]);
    assert_eq!(r.stdout, "up\n");
    st.ok(&["rm", "-a"]);
}

/// `image inspect` has podman's fields in podman's order, and templates that
/// read the config's labels and user work without any set.
#[test]
fn image_inspect_has_podmans_fields() {
    let st = TestStore::with_busybox();
    let v = common::json(&st.ok(&["image", "inspect", "localhost/bb:1"]).stdout);
    let keys: Vec<&str> = v[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Id",
            "Digest",
            "RepoTags",
            "RepoDigests",
            "Parent",
            "Comment",
            "Created",
            "Config",
            "Version",
            "Author",
            "Architecture",
            "Os",
            "Size",
            "VirtualSize",
            "GraphDriver",
            "RootFS",
            "Labels",
            "Annotations",
            "ManifestType",
            "User",
            "History",
            "NamesHistory"
        ]
    );
    assert_eq!(v[0]["VirtualSize"], v[0]["Size"]);
    let upper = v[0]["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap();
    assert!(
        std::path::Path::new(upper).join("bin/busybox").exists(),
        "{upper}"
    );
    let f = "{{.Labels}}|{{.User}}|{{.GraphDriver.Name}}|{{index .NamesHistory 0}}";
    let r = st.ok(&["image", "inspect", "--format", f, "localhost/bb:1"]);
    assert_eq!(r.stdout, "map[]||overlay|localhost/bb:1\n");
}
