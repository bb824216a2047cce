//! runc's command line end to end: run, create/start/state/kill/delete, exec, ps,
//! list, pause/resume, update, and the errors a user sees.

mod support;
use support::*;

#[test]
fn run_reports_the_container_exit_code_and_leaves_nothing() {
    let rt = Runtime::new();
    let b = Bundle::new(&["sh", "-c", "echo out; echo err >&2; exit 3"]);
    let id = unique("run");
    let out = rt.run(&b, &id);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "out\n");
    assert!(stderr(&out).contains("err"));
    // A foreground run deletes its container when it ends.
    let st = rt.cmd().args(["state", &id]).output().unwrap();
    assert!(!st.status.success());
    assert!(
        stderr(&st).contains(&format!("container {id} does not exist")),
        "{}",
        stderr(&st)
    );
}

#[test]
fn create_start_kill_delete_walks_through_the_states() {
    let rt = Runtime::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("life");
    let pidfile = b.path().join("pid");
    let out = rt.create_with(&b, &id, &["--pid-file", pidfile.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let st = rt.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["ociVersion"], "1.2.0");
    assert_eq!(st["bundle"], b.path().to_str().unwrap());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap(), pid.to_string());
    // Before start the init is still the runtime, waiting.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert!(comm.starts_with("berth-oci"), "{comm}");

    rt.ok(&["start", &id]);
    rt.wait_status(&id, "running");
    let cmdline = wait_cmdline(pid, "sleep\x001000\x00");
    assert_eq!(cmdline, "sleep\x001000\x00");
    let again = rt.cmd().args(["start", &id]).output().unwrap();
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already running"),
        "{}",
        stderr(&again)
    );

    let busy = rt.cmd().args(["delete", &id]).output().unwrap();
    assert!(!busy.status.success());
    assert!(
        stderr(&busy).contains("not stopped: running"),
        "{}",
        stderr(&busy)
    );

    rt.ok(&["kill", &id, "KILL"]);
    rt.wait_status(&id, "stopped");
    assert_eq!(rt.state(&id)["pid"], 0);
    rt.ok(&["delete", &id]);
    assert!(!rt.root.path().join(&id).exists());
}

#[test]
fn exec_joins_the_running_container() {
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.spec["hostname"] = "inside".into();
    let id = unique("exec");
    assert!(rt.create(&b, &id).status.success());
    rt.ok(&["start", &id]);
    let out = rt
        .cmd()
        .args([
            "exec",
            "--env",
            "X=42",
            "--cwd",
            "/tmp",
            &id,
            "sh",
            "-c",
            "echo $X $(hostname) $(pwd); cat /proc/1/cmdline",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "42 inside /tmp\nsleep\x001000\x00");
    let code = rt
        .cmd()
        .args(["exec", &id, "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(code.status.code(), Some(7));
    let missing = rt
        .cmd()
        .args(["exec", &id, "no-such-binary"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("executable file not found in $PATH"),
        "{}",
        stderr(&missing)
    );
    // ps and list see the container.
    let pids: Vec<i64> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
    assert_eq!(pids, vec![rt.state(&id)["pid"].as_i64().unwrap()]);
    let list = rt.ok(&["list"]);
    assert!(list.lines().next().unwrap().starts_with("ID"), "{list}");
    assert!(list.contains(&id) && list.contains("running"), "{list}");
    assert_eq!(rt.ok(&["list", "-q"]).trim(), id);
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let rt = Runtime::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("pause");
    assert!(rt.create(&b, &id).status.success());
    rt.ok(&["start", &id]);
    rt.ok(&["pause", &id]);
    assert_eq!(rt.status(&id), "paused");
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    assert!(after.starts_with('D') || after.starts_with('S'), "{after}");
    rt.ok(&["resume", &id]);
    assert_eq!(rt.status(&id), "running");
    // delete --force of a paused container thaws it first, so the kill lands.
    rt.ok(&["pause", &id]);
    rt.ok(&["delete", "--force", &id]);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z"))
    );
}

#[test]
fn bad_input_gets_one_line_and_exit_1() {
    let rt = Runtime::new();
    let empty = tempfile::tempdir().unwrap();
    let out = rt
        .cmd()
        .args(["create", "--bundle"])
        .arg(empty.path())
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("config.json: No such file or directory"),
        "{err}"
    );
    assert!(!rt.root.path().join("x").exists(), "no state left behind");

    let b = Bundle::new(&["true"]);
    let bad_id = rt
        .cmd()
        .args(["create", "--bundle"])
        .arg(b.path())
        .arg("../escape")
        .output()
        .unwrap();
    assert!(
        stderr(&bad_id).contains("invalid container ID"),
        "{}",
        stderr(&bad_id)
    );

    let id = unique("dup");
    assert!(rt.create(&b, &id).status.success());
    let dup = rt.create(&b, &id);
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));

    let unknown = rt.cmd().arg("frobnicate").output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    let nope = rt
        .cmd()
        .args(["kill", "nope-404", "KILL"])
        .output()
        .unwrap();
    assert!(stderr(&nope).contains("container nope-404 does not exist"));
}

#[test]
fn update_changes_the_cgroup_limits() {
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let id = unique("upd");
    b.spec["linux"]["cgroupsPath"] = format!("/berth-oci-test/{id}").into();
    b.spec["linux"]["resources"]["pids"] = serde_json::json!({"limit": 50});
    assert!(rt.create(&b, &id).status.success());
    let pids_max = |id: &str| {
        let v1 = format!("/sys/fs/cgroup/pids/berth-oci-test/{id}/pids.max");
        let v2 = format!("/sys/fs/cgroup/berth-oci-test/{id}/pids.max");
        std::fs::read_to_string(v1)
            .or_else(|_| std::fs::read_to_string(v2))
            .unwrap()
    };
    assert_eq!(pids_max(&id).trim(), "50");
    rt.ok(&["update", "--pids-limit", "77", &id]);
    assert_eq!(pids_max(&id).trim(), "77");
    rt.ok(&["delete", "--force", &id]);
    assert!(!std::path::Path::new(&format!("/sys/fs/cgroup/pids/berth-oci-test/{id}")).exists());
}

#[test]
fn spec_and_features_describe_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["spec", "--rootless", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(
        spec["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "user")
    );
    assert!(spec["linux"]["uidMappings"][0]["size"] == 1);
    let again = std::process::Command::new(BIN)
        .args(["spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success(), "spec refuses to overwrite");
    let f: serde_json::Value = serde_json::from_slice(
        &std::process::Command::new(BIN)
            .arg("features")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    assert!(f["hooks"].as_array().unwrap().len() == 6);
    assert!(
        f["linux"]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "CAP_SYS_ADMIN")
    );
}

#[test]
fn run_detach_then_kill_all_reaches_every_process() {
    let rt = Runtime::new();
    let b = Bundle::new(&["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    b.write();
    let id = unique("detach");
    rt.track(&id);
    let err = tempfile::tempfile().unwrap();
    let status = rt
        .cmd()
        .args(["run", "--detach", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdout(std::process::Stdio::null())
        .stderr(err)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(rt.status(&id), "running");
    // The shell starts its two sleeps; wait until the cgroup holds all three.
    let mut pids = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        pids = serde_json::from_str::<Vec<i64>>(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
        if pids.len() == 3 {
            break;
        }
        std::thread::yield_now();
    }
    assert_eq!(pids.len(), 3, "{pids:?}");
    let table = rt.ok(&["ps", &id]);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.ends_with(":00 sleep 1000"))
            .count(),
        2,
        "{table}"
    );
    rt.ok(&["kill", "--all", &id, "KILL"]);
    rt.wait_status(&id, "stopped");
    rt.ok(&["delete", &id]);
}

#[test]
fn exec_with_a_process_file() {
    let rt = Runtime::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique("proc");
    assert!(rt.create(&b, &id).status.success());
    rt.ok(&["start", &id]);
    let pf = b.path().join("process.json");
    let process = serde_json::json!({
        "args": ["sh", "-c", "id -u; pwd; echo $FROM_FILE"],
        "env": ["PATH=/bin", "FROM_FILE=yes"],
        "cwd": "/etc",
        "user": {"uid": 4242, "gid": 4242}
    });
    std::fs::write(&pf, process.to_string()).unwrap();
    let out = rt
        .cmd()
        .args(["exec", "--process"])
        .arg(&pf)
        .arg(&id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "4242\n/etc\nyes\n");
}

#[test]
fn a_failing_poststart_hook_warns_and_the_rest_still_run() {
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let mark = b.path().join("second-ran");
    b.spec["hooks"] = serde_json::json!({"poststart": [
        {"path": "/bin/false"},
        {"path": "/bin/sh", "args": ["sh", "-c", format!("touch {}", mark.display())]}
    ]});
    let id = unique("poststart");
    assert!(rt.create(&b, &id).status.success());
    let out = rt.cmd().args(["start", &id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: poststart hook /bin/false"),
        "{}",
        stderr(&out)
    );
    assert!(mark.exists(), "the hook after the failing one ran");
    assert_eq!(rt.status(&id), "running");
}

#[test]
fn exec_env_replaces_the_spec_value() {
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.spec["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push("MY_VAR=from_spec".into());
    let id = unique("envx");
    assert!(rt.create(&b, &id).status.success());
    rt.ok(&["start", &id]);
    let out = rt.ok(&[
        "exec",
        "--env",
        "MY_VAR=from_cli",
        &id,
        "sh",
        "-c",
        "env | grep MY_VAR",
    ]);
    assert_eq!(out, "MY_VAR=from_cli\n");
}

#[test]
fn update_reads_resources_from_a_file() {
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let id = unique("updr");
    b.spec["linux"]["cgroupsPath"] = format!("/berth-oci-test/{id}").into();
    assert!(rt.create(&b, &id).status.success());
    let f = b.path().join("resources.json");
    std::fs::write(
        &f,
        r#"{"pids": {"limit": 123}, "memory": {"limit": 67108864}}"#,
    )
    .unwrap();
    rt.ok(&["update", "-r", f.to_str().unwrap(), &id]);
    let read = |ctrl: &str, v1: &str, v2: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/berth-oci-test/{id}/{v1}"))
            .or_else(|_| {
                std::fs::read_to_string(format!("/sys/fs/cgroup/berth-oci-test/{id}/{v2}"))
            })
            .unwrap()
    };
    assert_eq!(read("pids", "pids.max", "pids.max").trim(), "123");
    assert_eq!(
        read("memory", "memory.limit_in_bytes", "memory.max").trim(),
        "67108864"
    );
}

/// Every cgroup directory named `/berth-oci-test/ID`, in any hierarchy.
fn cgroup_dirs(id: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let roots = std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten();
    for root in
        std::iter::once(std::path::PathBuf::from("/sys/fs/cgroup")).chain(roots.map(|e| e.path()))
    {
        let d = root.join("berth-oci-test").join(id);
        if d.is_dir() {
            found.push(d);
        }
    }
    found
}

#[test]
fn a_run_failing_after_the_set_up_leaves_no_cgroup_process_or_state() {
    // The pid file is written after the container's cgroups exist and before its
    // start; a failure there (or anywhere up to the start) must undo all of it.
    let rt = Runtime::new();
    let mut b = Bundle::new(&["sleep", "1000"]);
    let id = unique("cut");
    b.spec["linux"]["cgroupsPath"] = format!("/berth-oci-test/{id}").into();
    b.write();
    rt.track(&id);
    let pid_file = b.path().join("no-such-dir/pid");
    let out = rt
        .cmd()
        .args(["run", "--detach", "--pid-file"])
        .arg(&pid_file)
        .arg("--bundle")
        .arg(b.path())
        .arg(&id)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pid file"), "{}", stderr(&out));
    assert_eq!(cgroup_dirs(&id), Vec::<std::path::PathBuf>::new());
    assert!(!rt.root.path().join(&id).exists(), "its state is left");
    let list = rt.ok(&["list", "-q"]);
    assert!(!list.contains(&id), "{list}");
}

#[test]
fn force_delete_removes_a_state_directory_a_killed_create_left() {
    // A create killed after it made the container's directory and before it wrote
    // the state leaves an empty directory: `delete --force` takes it.
    let rt = Runtime::new();
    let id = unique("empty");
    std::fs::create_dir(rt.root.path().join(&id)).unwrap();
    rt.ok(&["delete", "--force", &id]);
    assert!(!rt.root.path().join(&id).exists());
}

/// The init is in its cgroup in every hierarchy by the time `create` returns: one
/// it moved itself into (v1 `tasks`) or was born in (v2, CLONE_INTO_CGROUP), and,
/// in a user namespace of its own, the ones the runtime moved it into. So is a
/// process `exec` starts.
#[test]
fn the_init_and_exec_are_in_their_cgroup_in_every_hierarchy() {
    for userns in [false, true] {
        let rt = Runtime::new();
        let mut b = Bundle::new(&["sleep", "1000"]);
        let id = unique("cgjoin");
        b.spec["linux"]["cgroupsPath"] = format!("/berth-oci-test/{id}").into();
        if userns {
            b.spec["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"type": "user"}));
            let map = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            b.spec["linux"]["uidMappings"] = map.clone();
            b.spec["linux"]["gidMappings"] = map;
        }
        assert!(rt.create(&b, &id).status.success(), "userns {userns}");
        let want = format!("/berth-oci-test/{id}");
        let init = rt.state(&id)["pid"].as_i64().unwrap();
        in_cgroup(init, &want, &format!("init, userns {userns}"));
        rt.ok(&["start", &id]);
        let pid_file = b.path().join("exec.pid");
        let pid_arg = pid_file.to_string_lossy().into_owned();
        // Its stdio elsewhere than ours: a detached process keeps what it is given.
        let exec = rt
            .cmd()
            .args([
                "exec",
                "--detach",
                "--pid-file",
                &pid_arg,
                &id,
                "sleep",
                "100",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(exec.success());
        let exec: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
        in_cgroup(exec, &want, &format!("exec, userns {userns}"));
        rt.ok(&["delete", "--force", &id]);
    }
}

/// Every hierarchy with a controller (or the v2 one, `0::`) holds `pid` at `want`.
fn in_cgroup(pid: i64, want: &str, what: &str) {
    let lines = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let held: Vec<&str> = lines
        .lines()
        .filter(|l| !l.contains(":name=") || l.contains(":name=systemd:"))
        .collect();
    assert!(held.len() > 1 || lines.starts_with("0::"), "{lines}");
    for l in held {
        assert!(l.ends_with(want), "{what}: {l} (want {want})\n{lines}");
    }
}
