//! `update`: new resource limits reach a running container's cgroup at once, with
//! the built-in runtime and with runc, and stay for its next start.

mod common;

use common::store::TestStore;

/// The cgroup file a limit lands in and what it holds, on cgroup v1 or v2.
fn expected(v2: bool) -> Vec<(&'static str, &'static str)> {
    if v2 {
        vec![
            ("cpu.max", "500000 100000"),
            ("cpuset.cpus", "0"),
            ("memory.max", "1073741824"),
            ("memory.swap.max", "2147483648"),
            ("memory.low", "419430400"),
            ("pids.max", "100"),
        ]
    } else {
        vec![
            ("cpu/cpu.shares", "512"),
            ("cpu/cpu.cfs_quota_us", "500000"),
            ("cpuset/cpuset.cpus", "0"),
            ("cpuset/cpuset.mems", "0"),
            ("memory/memory.limit_in_bytes", "1073741824"),
            ("memory/memory.memsw.limit_in_bytes", "3221225472"),
            ("memory/memory.soft_limit_in_bytes", "419430400"),
            ("pids/pids.max", "100"),
        ]
    }
}

fn update_reaches_the_cgroup(runtime: Option<&str>) {
    let st = TestStore::with_busybox();
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let mut run = vec!["run", "-d"];
    if let Some(r) = runtime {
        run.extend(["--runtime", r]);
    }
    run.extend(["localhost/bb:1", "sleep", "1000"]);
    let id = st.ok(&run).stdout.trim().to_string();
    let out = st.ok(&[
        "update",
        "--cpu-shares=512",
        "--cpus=5",
        "--cpuset-cpus=0",
        "--cpuset-mems=0",
        "--memory=1G",
        "--memory-swap=3G",
        "--memory-reservation=400M",
        "--pids-limit=100",
        &id,
    ]);
    assert_eq!(out.stdout.trim(), id);
    let read = |file: &str| {
        let path = format!("/sys/fs/cgroup/{file}");
        st.ok(&["exec", &id, "cat", &path])
            .stdout
            .trim()
            .to_string()
    };
    for (file, want) in expected(v2) {
        assert_eq!(read(file), want, "{file}");
    }
    // Kept for the next start.
    st.ok(&["stop", "-t", "0", &id]);
    st.ok(&["update", "--memory=256m", &id]);
    st.ok(&["start", &id]);
    let memory = if v2 {
        "memory.max"
    } else {
        "memory/memory.limit_in_bytes"
    };
    assert_eq!(read(memory), "268435456");
    let pids = if v2 { "pids.max" } else { "pids/pids.max" };
    assert_eq!(read(pids), "100");
}

#[test]
fn update_with_the_builtin_runtime() {
    update_reaches_the_cgroup(None);
}

#[test]
fn update_with_runc() {
    update_reaches_the_cgroup(Some("runc"));
}

#[test]
fn update_refuses_what_it_cannot_do() {
    let st = TestStore::with_busybox();
    let r = st.run(&["update", "--memory=1g", "nosuch"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such container"), "{}", r.stderr);
    st.ok(&["create", "--name", "c", "localhost/bb:1", "true"]);
    let r = st.run(&["update", "--memory=lots", "c"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("lots"), "{}", r.stderr);
    let r = st.run(&["update", "--blkio-weight=5", "c"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

/// `--cpu-period/--cpu-quota` (instead of `--cpus`, never with it),
/// `--memory-swappiness` and `--oom-kill-disable` at run, and changed by
/// `update`: in the cgroup and in inspect.
#[test]
fn cfs_period_quota_swappiness_and_the_oom_killer() {
    let st = TestStore::with_busybox();
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let id = st
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "--memory",
            "64m",
            "--memory-swappiness",
            "10",
            "--oom-kill-disable",
            "localhost/bb:1",
            "sleep",
            "1000",
        ])
        .stdout
        .trim()
        .to_string();
    let read = |file: &str| {
        let path = format!("/sys/fs/cgroup/{file}");
        st.ok(&["exec", &id, "cat", &path])
            .stdout
            .trim()
            .to_string()
    };
    if v2 {
        assert_eq!(read("cpu.max"), "25000 50000");
    } else {
        assert_eq!(read("cpu/cpu.cfs_period_us"), "50000");
        assert_eq!(read("cpu/cpu.cfs_quota_us"), "25000");
        assert_eq!(read("memory/memory.swappiness"), "10");
        assert!(read("memory/memory.oom_control").contains("oom_kill_disable 1"));
    }
    assert_eq!(st.inspect(&id, ".HostConfig.CpuPeriod"), "50000");
    assert_eq!(st.inspect(&id, ".HostConfig.CpuQuota"), "25000");
    assert_eq!(st.inspect(&id, ".HostConfig.MemorySwappiness"), "10");
    assert_eq!(st.inspect(&id, ".HostConfig.OomKillDisable"), "true");
    st.ok(&["update", "--cpu-quota", "40000", &id]);
    if !v2 {
        assert_eq!(read("cpu/cpu.cfs_quota_us"), "40000");
    }
    assert_eq!(st.inspect(&id, ".HostConfig.CpuQuota"), "40000");
    let r = st.run(&[
        "run",
        "--rm",
        "--cpus",
        "1",
        "--cpu-quota",
        "1000",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("--cpu-quota and --cpus cannot be set together"),
        "{}",
        r.stderr
    );
    st.ok(&["rm", "-f", "-t", "0", &id]);
}
