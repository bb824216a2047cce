//! `exec` into a running container and what the process finds there: binds,
//! named volumes and tmpfs, generated /etc files, its environment (-e
//! passthrough, .Config.Env), stdin with and without -i, privileges, exit
//! codes; and `run`'s usage errors.

mod common;

use common::store::TestStore;
use common::*;

#[test]
fn exec_volumes_tmpfs_and_generated_files() {
    let st = TestStore::with_busybox();
    let share = st.dir.path().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(share.join("f"), "from the host\n").unwrap();
    let ro = format!("{}:/mnt:ro", share.display());
    st.ok(&[
        "run",
        "-d",
        "--name",
        "e",
        "--hostname",
        "box",
        "-v",
        &ro,
        "-v",
        "cache:/data",
        "--tmpfs",
        "/scratch:size=1m",
        "--add-host",
        "db:192.0.2.7",
        "--dns",
        "192.0.2.53",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        st.ok(&["exec", "e", "cat", "/mnt/f"]).stdout,
        "from the host\n"
    );
    // Read-only bind: writing fails inside, nothing appears on the host.
    let r = st.run(&["exec", "e", "sh", "-c", "echo x > /mnt/new"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!share.join("new").exists());
    // A named volume lives in the store and outlives the container.
    st.ok(&["exec", "e", "sh", "-c", "echo kept > /data/k"]);
    let vol = st.dir.path().join("root/volumes/cache/_data/k");
    assert_eq!(std::fs::read_to_string(&vol).unwrap(), "kept\n");
    let r = st.ok(&[
        "exec",
        "e",
        "sh",
        "-c",
        "grep -c tmpfs /proc/mounts >/dev/null && stat -f -c %T /scratch",
    ]);
    assert_eq!(r.stdout.trim(), "tmpfs");
    assert_eq!(
        st.ok(&["exec", "e", "cat", "/etc/hostname"]).stdout,
        "box\n"
    );
    let hosts = st.ok(&["exec", "e", "cat", "/etc/hosts"]).stdout;
    assert!(
        hosts.contains("192.0.2.7\tdb") && hosts.contains("localhost"),
        "{hosts}"
    );
    let resolv = st.ok(&["exec", "e", "cat", "/etc/resolv.conf"]).stdout;
    assert!(resolv.contains("nameserver 192.0.2.53"), "{resolv}");
    // exec --privileged: more capabilities than the container's own eleven.
    let caps = |args: &[&str]| {
        let mut full = vec!["exec"];
        full.extend_from_slice(args);
        full.extend(["e", "grep", "CapEff", "/proc/self/status"]);
        let out = st.ok(&full).stdout;
        u64::from_str_radix(out.split_whitespace().nth(1).unwrap(), 16)
            .unwrap()
            .count_ones()
    };
    assert_eq!(caps(&[]), 11);
    assert!(caps(&["--privileged"]) > 11);
    // .Mounts lists what the user mounted.
    let m = json(
        &st.ok(&["inspect", "--format", "{{json .Mounts}}", "e"])
            .stdout,
    );
    let dests: Vec<&str> = m
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Destination"].as_str().unwrap())
        .collect();
    assert_eq!(dests, ["/mnt", "/data", "/scratch"]);
    assert_eq!(m[0]["RW"], false);
    assert_eq!(m[1]["Type"], "volume");
    // As podman's: the file says "in a container"; only a privileged one is
    // told its name and image.
    let env = st.ok(&["exec", "e", "cat", "/run/.containerenv"]).stdout;
    assert_eq!(env, "");
    // exec's own exit codes: the process's, 127 for a missing command.
    assert_eq!(
        st.run(&[
            "exec",
            "-e",
            "N=5",
            "-w",
            "/tmp",
            "e",
            "sh",
            "-c",
            "[ $PWD = /tmp ] && exit $N"
        ])
        .code,
        5
    );
    let r = st.run(&["exec", "e", "no-such-command"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    st.ok(&["rm", "-f", "e"]);
    assert!(vol.exists(), "the volume went with the container");
    // Bad mounts are refused at once with podman's exit code, nothing created.
    let before = st.ok(&["ps", "-a", "-q"]).stdout;
    for bad in [
        ["-v", "/no/such/dir:/x"],
        ["-v", "relative:x"],
        ["--tmpfs", "scratch"],
    ] {
        let r = st.run(&["run", "--rm", bad[0], bad[1], "localhost/bb:1", "true"]);
        assert_eq!(r.code, 125, "{bad:?}");
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, before);
}

#[test]
fn env_passthrough_exec_stdin_usage_errors_and_inspect_env() {
    let st = TestStore::with_busybox();
    // `-e NAME` passes berth's own NAME on; an unset one is left out.
    let mut c = st.cmd();
    c.env("BERTH_T_PASSED", "from-host")
        .env_remove("BERTH_T_UNSET")
        .args([
            "run",
            "--rm",
            "-e",
            "BERTH_T_PASSED",
            "-e",
            "BERTH_T_UNSET",
            "localhost/bb:1",
            "sh",
            "-c",
            "echo ${BERTH_T_PASSED}; env | grep -c BERTH_T_UNSET",
        ]);
    let r = run_cmd(&mut c);
    assert_eq!(r.stdout, "from-host\n0\n", "{}", r.stderr);
    // exec without -i reads nothing of ours; with -i it gets it all.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "-e",
        "A=1",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let exec_with_input = |i: bool| {
        let mut c = st.cmd();
        c.arg("exec");
        if i {
            c.arg("-i");
        }
        c.args(["x", "sh", "-c", "cat; echo end"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(b"typed\n").unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    assert_eq!(exec_with_input(false), "end\n");
    assert_eq!(exec_with_input(true), "typed\nend\n");
    // exec's -e NAME passes berth's own NAME on too, and --env-file is read
    // first, as run's.
    let file = st.path().join("env");
    std::fs::write(&file, "# vars\nFROM_FILE=f\nBERTH_T_PASSED=overridden\n").unwrap();
    let mut c = st.cmd();
    c.env("BERTH_T_PASSED", "from-host")
        .env_remove("BERTH_T_UNSET")
        .args(["exec", "--env-file", file.to_str().unwrap()])
        .args([
            "-e",
            "BERTH_T_PASSED",
            "-e",
            "BERTH_T_UNSET",
            "x",
            "sh",
            "-c",
        ])
        .arg("echo $BERTH_T_PASSED $FROM_FILE; env | grep -c BERTH_T_UNSET");
    let r = run_cmd(&mut c);
    assert_eq!(r.stdout, "from-host f\n0\n", "{}", r.stderr);
    // .Config.Env is what the process gets: the image's PATH under the flags'.
    let env = st.inspect("x", "json .Config.Env");
    assert!(env.contains("PATH=") && env.contains("A=1"), "{env}");
    // A bad command line is podman's 125, with clap's message; help is 0.
    let r = st.run(&["run", "--no-such-flag", "localhost/bb:1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("--no-such-flag"), "{}", r.stderr);
    assert_eq!(st.run(&["run", "--help"]).code, 0);
    // info names the runtime new containers get, as `podman info` templates read it.
    let r = st.ok(&[
        "--runtime",
        "runc",
        "info",
        "--format",
        "{{.Host.OCIRuntime.Name}}",
    ]);
    assert_eq!(r.stdout.trim(), "runc");
    st.ok(&["rm", "-f", "x"]);
}

#[test]
fn a_detached_exec_keeps_none_of_the_callers_stdio() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "host",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    // The caller's stdout is a file here, so that a leak is seen, not waited on.
    let out = st.path().join("exec-out");
    let status = st
        .cmd()
        .args([
            "exec",
            "-d",
            "host",
            "sh",
            "-c",
            "echo hidden; exec sleep 601",
        ])
        .stdout(std::fs::File::create(&out).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    // The detached process, as the host sees it: this container's (another
    // test's `sleep 601` may run meanwhile), known by its cgroup.
    let id = st.inspect("host", ".Id");
    let mut pid = None;
    common::wait_for("the detached command", || {
        pid = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cgroup = std::fs::read_to_string(e.path().join("cgroup")).ok()?;
            (cmd == b"sleep\x00601\x00" && cgroup.contains(&id)).then(|| e.path())
        });
        pid.is_some()
    });
    let proc = pid.unwrap();
    for fd in ["0", "1", "2"] {
        let to = std::fs::read_link(proc.join("fd").join(fd)).unwrap();
        assert_eq!(to, std::path::Path::new("/dev/null"), "fd {fd}");
    }
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "the caller got its output"
    );
    st.ok(&["rm", "-f", "-t", "0", "host"]);
}

/// podman reads its own flags up to IMAGE (exec: CONTAINER) and no further:
/// what follows is the command's, however much it looks like berth's flags.
#[test]
fn words_after_the_image_or_container_belong_to_the_command() {
    let st = TestStore::with_busybox();
    let run_as = |entrypoint: &str, words: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "none", "--entrypoint"];
        args.extend([entrypoint, "localhost/bb:1"]);
        args.extend(words);
        st.ok(&args).stdout
    };
    // `-c` is the shell's, not --cpu-shares.
    assert_eq!(run_as("sh", &["-c", "echo ran as $(id -u)"]), "ran as 0\n");
    // `-d` after IMAGE does not detach: echo prints it in the foreground.
    assert_eq!(run_as("echo", &["-d", "x"]), "-d x\n");
    // create keeps every word, `--` too, as the command; none became a flag.
    st.ok(&[
        "create",
        "--name",
        "c",
        "--network",
        "none",
        "localhost/bb:1",
        "-e",
        "A=1",
        "-v",
        "-h",
        "--",
        "x",
    ]);
    assert_eq!(
        st.inspect("c", "json .Config.Cmd"),
        r#"["-e","A=1","-v","-h","--","x"]"#
    );
    assert!(!st.inspect("c", "json .Config.Env").contains("A=1"));
    // A `--` before IMAGE still ends berth's flags.
    let r = st.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--",
        "localhost/bb:1",
        "echo",
        "hi",
    ]);
    assert_eq!(r.stdout, "hi\n");
    // An unknown flag before IMAGE is still refused, not taken as the image.
    let r = st.run(&["run", "--no-such-flag", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("--no-such-flag"), "{}", r.stderr);

    st.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "--network",
        "none",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let r = st.ok(&["exec", "x", "ls", "-l", "/bin/sh"]);
    assert!(r.stdout.starts_with("lrwx"), "{}", r.stdout);
    // `-d` after CONTAINER is the command to run, which does not exist.
    let r = st.run(&["exec", "x", "-d"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(r.stderr.contains("\"-d\""), "{}", r.stderr);
    let r = st.run(&["exec", "x"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("non-empty command"), "{}", r.stderr);
    st.ok(&["rm", "-f", "-t", "0", "x", "c"]);
}
