//! OCI runtimes other than the built-in one: runc, crun and the berth-oci
//! binary through the same commands, and containers.conf choosing the runtime.

mod common;

use std::path::Path;
use std::process::Command;

use common::store::TestStore;
use common::*;

#[test]
fn runc_runs_containers_through_the_same_commands() {
    let st = TestStore::with_busybox();
    let r = st.run(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo via runc; exit 5",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (5, "via runc\n"),
        "{}",
        r.stderr
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "r",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo up; exec sleep 1000",
    ]);
    // runc keeps its own state, under the run root.
    let list = Command::new("runc")
        .arg("--root")
        .arg(st.dir.path().join("run/runc"))
        .args(["list", "-q"])
        .output()
        .unwrap();
    let id = st.inspect("r", ".Id");
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), id);
    assert_eq!(
        st.ok(&["exec", "-u", "nobody", "r", "id", "-u"]).stdout,
        "65534\n"
    );
    assert!(st.ok(&["top", "r"]).stdout.contains("sleep 1000"));
    st.ok(&["pause", "r"]);
    st.ok(&["unpause", "r"]);
    st.ok(&["stop", "-t", "1", "r"]);
    assert_eq!(st.inspect("r", ".State.ExitCode"), "137");
    assert_eq!(st.ok(&["logs", "r"]).stdout, "up\n");
    st.ok(&["rm", "r"]);
    let r = st.run(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "localhost/bb:1",
        "no-such-command",
    ]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--runtime",
            "no-such-runtime",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
    let left = Command::new("runc")
        .arg("--root")
        .arg(st.dir.path().join("run/runc"))
        .args(["list", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&left.stdout).trim(),
        "",
        "runc state left"
    );
}

#[test]
fn crun_and_berth_oci_binaries_run_containers() {
    let st = TestStore::with_busybox();
    let oci = Path::new(env!("CARGO_BIN_EXE_berth"))
        .with_file_name("berth-oci")
        .to_string_lossy()
        .into_owned();
    assert!(
        Path::new(&oci).is_file(),
        "{oci}: build the workspace first"
    );
    // `info` names it as the built-in runtime's binary, so a script can take it from there.
    let r = st.ok(&["info", "--format", "{{.Host.OCIRuntime.Path}}"]);
    assert_eq!(r.stdout.trim(), oci);
    let r = st.run(&[
        "--runtime",
        &oci,
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo via berth-oci; exit 3",
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (3, "via berth-oci\n"),
        "{}",
        r.stderr
    );
    st.ok(&[
        "--runtime",
        &oci,
        "run",
        "-d",
        "--name",
        "o",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(st.inspect("o", ".OCIRuntime"), oci);
    assert_eq!(st.ok(&["exec", "o", "echo", "in"]).stdout, "in\n");
    st.ok(&["stop", "-t", "1", "o"]);
    assert_eq!(st.inspect("o", ".State.ExitCode"), "137");
    st.ok(&["rm", "o"]);
    // crun 1.8 refuses this machine's hybrid cgroup layout: it runs in a
    // mount namespace of its own without the cgroup2 mount, as on a v1 host.
    let mut c = st.cmd();
    c.args([
        "--runtime",
        "crun",
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo via crun; exit 4",
    ]);
    let mut u = Command::new("unshare");
    u.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            u.env(k, v);
        }
    }
    let r = run_cmd(&mut u);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (4, "via crun\n"),
        "{}",
        r.stderr
    );
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
}

#[test]
fn containers_conf_chooses_the_runtime() {
    let st = TestStore::with_busybox();
    let conf = st.dir.path().join("containers.conf");
    let with_conf = |text: &str, args: &[&str]| {
        std::fs::write(&conf, text).unwrap();
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF", &conf).args(args);
        run_cmd(&mut c)
    };
    // [engine] runtime: new containers get it; --runtime still wins.
    let engine = "[containers]\nnetns = \"none\"\n[engine]\nruntime = \"runc\"\n";
    let r = with_conf(engine, &["create", "--name", "a", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(st.inspect("a", ".OCIRuntime"), "runc");
    let r = with_conf(
        engine,
        &[
            "--runtime",
            "berth",
            "create",
            "--name",
            "b",
            "localhost/bb:1",
            "true",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(st.inspect("b", ".OCIRuntime"), "berth");
    let r = with_conf(engine, &["start", "-a", "a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // [engine.runtimes]: a name for the first of its paths that exists.
    let named = "[containers]\nnetns = \"none\"\n[engine.runtimes]\n\
                 mine = [\"/nonexistent/runc\", \"/usr/sbin/runc\"]\n\
                 gone = [\"/nonexistent/runc\"]\n";
    let r = with_conf(
        named,
        &[
            "--runtime",
            "mine",
            "run",
            "--rm",
            "localhost/bb:1",
            "echo",
            "mine",
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "mine\n"), "{}", r.stderr);
    let r = with_conf(
        named,
        &["--runtime", "gone", "run", "--rm", "localhost/bb:1", "true"],
    );
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("/nonexistent/runc"), "{}", r.stderr);
    // A broken file is named, in one line, and nothing is created.
    let r = with_conf(
        "[engine\n",
        &["create", "--name", "c", "localhost/bb:1", "true"],
    );
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("containers.conf"), "{}", r.stderr);
    assert_eq!(st.run(&["container", "exists", "c"]).code, 1);
}

#[test]
fn runtime_flags_reach_the_runtime() {
    let st = TestStore::with_busybox();
    let r = st.run(&[
        "--runtime-flag",
        "invalidflag",
        "run",
        "--rm",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(r.stderr.contains("invalidflag"), "{}", r.stderr);
    let runc = ["--runtime", "runc", "--runtime-flag"];
    let r = st.run(
        &[
            &runc[..],
            &["invalidflag", "run", "--rm", "localhost/bb:1", "true"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(
        r.stderr.contains("invalidflag"),
        "runc's own words: {}",
        r.stderr
    );
    let r = st.run(
        &[
            &runc[..],
            &["debug", "run", "--rm", "localhost/bb:1", "echo", "ok"],
        ]
        .concat(),
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "ok\n"), "{}", r.stderr);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}
