//! The runtime spec's features, each checked from inside the container as a user
//! would see it.

mod support;
use serde_json::json;
use support::*;

fn run_ok(b: &Bundle) -> String {
    let rt = Runtime::new();
    let out = rt.run(b, &unique("cfg"));
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn namespaces_hostname_and_pid_one() {
    let mut b = Bundle::new(&["sh", "-c", "hostname; echo $$; ls /sys/class/net"]);
    b.spec["hostname"] = "berthbox".into();
    b.spec["domainname"] = "example.test".into();
    let out = run_ok(&b);
    assert_eq!(out, "berthbox\n1\nlo\n");
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_host_id() {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u",
    ]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.spec["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.spec["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    // The rootfs must be owned by the mapped root for the container to use it.
    let status = std::process::Command::new("chown")
        .args(["-R", "100000:100000"])
        .arg(b.rootfs())
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_ok(&b);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "100000", "65536", "0", "100000", "65536", "0"],
        "{out}"
    );
}

#[test]
fn mounts_readonly_root_and_paths() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("greeting"), "hi\n").unwrap();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /data/greeting; touch /data/x 2>/dev/null && echo data-rw || echo data-ro; \
         touch /etc/x 2>/dev/null && echo root-rw || echo root-ro; \
         touch /scratch/x && echo scratch-rw; \
         echo 1 2>/dev/null > /proc/sys/kernel/domainname && echo sys-rw || echo sys-ro; \
         wc -c < /proc/timer_list; stat -f -c %T /proc/acpi",
    ]);
    b.spec["root"]["readonly"] = true.into();
    let mounts = b.spec["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind", "ro"]}));
    mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
    let out = run_ok(&b);
    assert_eq!(out, "hi\ndata-ro\nroot-ro\nscratch-rw\nsys-ro\n0\ntmpfs\n");
    assert!(!host.path().join("x").exists());
}

#[test]
fn capabilities_rlimits_and_no_new_privileges() {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep -E '^Cap(Inh|Prm|Eff|Bnd)|NoNewPrivs' /proc/self/status; grep 'open files' /proc/self/limits",
    ]);
    let caps = json!(["CAP_CHOWN", "CAP_KILL"]);
    b.spec["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    b.spec["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]);
    b.spec["process"]["noNewPrivileges"] = true.into();
    let out = run_ok(&b);
    let mask = format!("{:016x}", 1u64 << 0 | 1u64 << 5);
    assert!(out.contains("CapInh:\t0000000000000000"), "{out}");
    for set in ["CapPrm", "CapEff", "CapBnd"] {
        assert!(out.contains(&format!("{set}:\t{mask}")), "{set} in {out}");
    }
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    let limits: Vec<&str> = out.lines().last().unwrap().split_whitespace().collect();
    assert_eq!(&limits[3..5], ["321", "654"], "{out}");
}

#[test]
fn user_groups_cwd_env_and_umask() {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "id -u; id -g; id -G; pwd; echo $GREETING; touch /tmp/f; stat -c %a /tmp/f",
    ]);
    b.spec["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [1002], "umask": 63});
    b.spec["process"]["cwd"] = "/tmp".into();
    b.spec["process"]["env"]
        .as_array_mut()
        .unwrap()
        .push("GREETING=hello".into());
    std::fs::set_permissions(
        b.rootfs().join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let out = run_ok(&b);
    assert_eq!(out, "1000\n1001\n1001 1002\n/tmp\nhello\n600\n");
}

#[test]
fn seccomp_profile_denies_with_the_chosen_errno() {
    let mut b = Bundle::new(&["sh", "-c", "mkdir /tmp/nope; echo rc=$?"]);
    b.spec["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    let out = run_ok(&b);
    assert!(
        out.contains("Operation not permitted") || out.contains("rc=1"),
        "{out}"
    );
    assert!(!b.rootfs().join("tmp/nope").exists());
}

#[test]
fn podmans_default_seccomp_profile_loads() {
    let Ok(text) = std::fs::read_to_string("/usr/share/containers/seccomp.json") else {
        panic!(
            "containers-common's seccomp.json is installed with podman (scripts/install-deps.sh)"
        );
    };
    let mut b = Bundle::new(&["sh", "-c", "grep Seccomp: /proc/self/status"]);
    b.spec["linux"]["seccomp"] = serde_json::from_str(&text).unwrap();
    let out = run_ok(&b);
    assert_eq!(out.trim(), "Seccomp:\t2");
}

#[test]
fn sysctl_and_devices_are_set() {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/ip_forward; stat -c '%t:%T %a' /dev/fuse-like",
    ]);
    b.spec["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    b.spec["linux"]["devices"] =
        json!([{"type": "c", "path": "/dev/fuse-like", "major": 1, "minor": 3, "fileMode": 432}]);
    let out = run_ok(&b);
    assert_eq!(out, "1\n1:3 660\n");
}

#[test]
fn hooks_run_at_their_points_with_the_state_on_stdin() {
    let b = Bundle::new(&["true"]);
    let log = b.path().join("hooks.log");
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo \"{name} $s\" >> {}", log.display())]});
    let mut b = b;
    b.spec["hooks"] = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    let rt = Runtime::new();
    let id = unique("hooks");
    let out = rt.run(&b, &id);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let order: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        order,
        ["prestart", "createRuntime", "poststart", "poststop"],
        "{text}"
    );
    for l in text.lines() {
        let state: serde_json::Value = serde_json::from_str(l.split_once(' ').unwrap().1).unwrap();
        assert_eq!(state["id"], id.as_str());
    }
}

#[test]
fn a_failing_prestart_hook_fails_create_and_cleans_up() {
    let mut b = Bundle::new(&["true"]);
    b.spec["hooks"] = json!({"prestart": [{"path": "/bin/false"}]});
    let rt = Runtime::new();
    let id = unique("badhook");
    let out = rt.create(&b, &id);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("prestart hook /bin/false"),
        "{}",
        stderr(&out)
    );
    assert!(!rt.root.path().join(&id).exists());
}

#[test]
fn terminal_goes_to_the_console_socket() {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::net::UnixListener;
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "test -t 0 && echo tty-ok; readlink /proc/self/fd/1",
    ]);
    b.spec["process"]["terminal"] = true.into();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let rt = Runtime::new();
    let id = unique("tty");
    let out = rt.create_with(&b, &id, &["--console-socket", sock.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (conn, _) = listener.accept().unwrap();
    let master = recv_fd(conn.as_raw_fd());
    rt.ok(&["start", &id]);
    // SAFETY: the fd arrived over SCM_RIGHTS and is ours now.
    let mut f = unsafe { std::fs::File::from_raw_fd(master) };
    let mut text = String::new();
    let mut buf = [0u8; 256];
    while !text.contains("/dev/pts/") || !text.ends_with('\n') {
        match std::io::Read::read(&mut f, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(text.contains("tty-ok"), "{text:?}");
    assert!(text.contains("/dev/pts/0"), "{text:?}");
}

fn recv_fd(sock: i32) -> i32 {
    let mut data = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut cbuf = [0u8; 64];
    // SAFETY: a zeroed msghdr pointing at the buffers above.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = cbuf.len();
        assert!(libc::recvmsg(sock, &mut msg, 0) > 0);
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null());
        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>())
    }
}

#[test]
fn the_process_starts_with_no_signal_ignored() {
    // The runtime ignores SIGPIPE for itself; that must not survive into the container.
    let b = Bundle::new(&["grep", "SigIgn", "/proc/self/status"]);
    assert_eq!(run_ok(&b).trim(), "SigIgn:\t0000000000000000");
}

#[test]
fn seccomp_notify_passes_the_listener_to_the_agent() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::net::UnixListener;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut data = vec![0u8; 8192];
        let (n, fd) = recv_with_fd(conn.as_raw_fd(), &mut data);
        // Closing the listener makes the notified syscall fail with ENOSYS.
        // SAFETY: the fd arrived over SCM_RIGHTS and is ours.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
        serde_json::from_slice::<serde_json::Value>(&data[..n]).unwrap()
    });
    let mut b = Bundle::new(&["sh", "-c", "mkdir /tmp/n 2>/dev/null; echo rc=$?"]);
    b.spec["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "listenerMetadata": "from-the-test",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let rt = Runtime::new();
    let id = unique("notify");
    let out = rt.run(&b, &id);
    let msg = agent.join().unwrap();
    assert_eq!(msg["fds"], json!(["seccompFd"]), "{msg}");
    assert_eq!(msg["metadata"], "from-the-test");
    assert_eq!(msg["state"]["id"], id.as_str());
    assert_eq!(stdout(&out), "rc=1\n", "{}", stderr(&out));
    assert!(!b.rootfs().join("tmp/n").exists());
}

fn recv_with_fd(sock: i32, data: &mut [u8]) -> (usize, i32) {
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut cbuf = [0u8; 64];
    // SAFETY: a zeroed msghdr pointing at the buffers above.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = cbuf.len();
        let n = libc::recvmsg(sock, &mut msg, 0);
        assert!(n > 0);
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null());
        (
            n as usize,
            std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>()),
        )
    }
}

#[test]
fn errors_also_go_to_the_json_log() {
    let rt = Runtime::new();
    let log = rt.root.path().join("runtime.log");
    let out = rt
        .cmd()
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "kill", "missing-ctr", "KILL"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["msg"], "container missing-ctr does not exist");
}

#[test]
fn no_pivot_moves_the_rootfs_onto_slash() {
    let rt = Runtime::new();
    let b = Bundle::new(&["ls", "/"]);
    b.write();
    let id = unique("nopivot");
    rt.track(&id);
    let out = rt
        .cmd()
        .args(["run", "--no-pivot", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let entries: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    let mut want: Vec<String> = std::fs::read_dir(b.rootfs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    assert_eq!(entries, want);
}

#[test]
fn time_namespace_offsets_shift_the_monotonic_clock() {
    let mut b = Bundle::new(&["cat", "/proc/uptime"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    b.spec["linux"]["timeOffsets"] = json!({"boottime": {"secs": 3_000_000_000u64, "nanosecs": 0}});
    let out = run_ok(&b);
    let uptime: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(uptime > 3e9, "{out}");
}

#[test]
fn idmapped_bind_mount_shows_host_owners_mapped() {
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("owned");
    std::fs::write(&f, "x").unwrap();
    std::os::unix::fs::chown(&f, Some(0), Some(0)).unwrap();
    // As runc writes them, the mappings read "on-disk (container) id -> id seen":
    // a file root owns on disk shows as 1000 through the mount, as it would to a
    // container whose user namespace maps its root to host 1000.
    let mut b = Bundle::new(&["stat", "-c", "%u:%g", "/idm/owned"]);
    b.spec["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/idm", "type": "bind", "source": host.path(), "options": ["bind", "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    }));
    assert_eq!(run_ok(&b).trim(), "1000:1000");
}

#[test]
fn container_side_hooks_run_inside() {
    let mut b = Bundle::new(&["cat", "/tmp/hooks"]);
    std::fs::set_permissions(
        b.rootfs().join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let log = b.rootfs().join("tmp/hooks");
    // createContainer runs before pivot_root (host paths resolve); startContainer
    // runs inside the container, after start, before the process.
    b.spec["hooks"] = json!({
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", format!("echo create >> {}", log.display())]}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo start-$(hostname) >> /tmp/hooks"]}],
    });
    b.spec["hostname"] = "hooked".into();
    assert_eq!(run_ok(&b), "create\nstart-hooked\n");
}

#[test]
fn unknown_capabilities_are_skipped_with_a_warning() {
    let mut b = Bundle::new(&["grep", "CapEff", "/proc/self/status"]);
    let caps = json!(["CAP_KILL", "CAP_TEST_CAP"]);
    b.spec["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    let rt = Runtime::new();
    let out = rt.run(&b, &unique("capwarn"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("CapEff:\t{:016x}", 1u64 << 5));
    assert!(
        stderr(&out).contains("ignoring unknown or unavailable capabilities: [CAP_TEST_CAP]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn linux32_personality_holds_for_run_and_exec() {
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.spec["linux"]["personality"] = json!({"domain": "LINUX32"});
    let rt = Runtime::new();
    let id = unique("pers");
    assert!(rt.create(&b, &id).status.success());
    rt.ok(&["start", &id]);
    assert_eq!(rt.ok(&["exec", &id, "uname", "-m"]).trim(), "i686");
    let pid = rt.state(&id)["pid"].as_i64().unwrap();
    let pers = std::fs::read_to_string(format!("/proc/{pid}/personality")).unwrap();
    assert_eq!(pers.trim(), "00000008");
}

#[test]
fn a_hook_past_its_timeout_is_killed_and_fails_create() {
    let mut b = Bundle::new(&["true"]);
    b.spec["hooks"] =
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]});
    let rt = Runtime::new();
    let id = unique("hooktimeout");
    let started = std::time::Instant::now();
    let out = rt.create(&b, &id);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("createRuntime hook /bin/sleep: timed out after 1 s"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the hook was not killed at its timeout"
    );
    assert!(!rt.root.path().join(&id).exists());
}

#[test]
fn exec_tty_goes_to_the_console_socket() {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::net::UnixListener;
    let b = Bundle::new(&["sleep", "1000"]);
    let rt = Runtime::new();
    let id = unique("exectty");
    assert!(rt.create(&b, &id).status.success());
    rt.ok(&["start", &id]);
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut child = rt
        .cmd()
        .args([
            "exec",
            "--tty",
            "--console-socket",
            sock.to_str().unwrap(),
            &id,
            "sh",
            "-c",
            "test -t 1 && echo exec-tty-ok",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Accept without blocking forever: if exec fails it never connects.
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(st) = child.try_wait().unwrap() {
                    // It may have connected, sent the fd and ended between our
                    // accept and try_wait: the connection then waits in the backlog.
                    if let Ok((c, _)) = listener.accept() {
                        break c;
                    }
                    let mut err = String::new();
                    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err)
                        .unwrap();
                    panic!("exec ended ({st}) without connecting: {err}");
                }
                assert!(std::time::Instant::now() < deadline, "exec never connected");
                std::thread::yield_now();
            }
            Err(e) => panic!("{e}"),
        }
    };
    conn.set_nonblocking(false).unwrap();
    // SAFETY: the fd arrived over SCM_RIGHTS and is ours now.
    let mut master = unsafe { std::fs::File::from_raw_fd(recv_fd(conn.as_raw_fd())) };
    let mut text = String::new();
    let mut buf = [0u8; 256];
    while !text.contains("exec-tty-ok") {
        match std::io::Read::read(&mut master, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(text.contains("exec-tty-ok"), "{text:?}");
    assert!(child.wait().unwrap().success());
}
