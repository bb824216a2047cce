//! What confines a container: seccomp and capabilities (--cap-add/--privileged,
//! --security-opt), devices, resource limits, host or shared namespaces
//! (--pid/--uts/--ipc host, --network container:NAME), /dev/shm size, groups,
//! DNS search; and --env-file, --mount, --replace, --cidfile.

mod common;

use std::path::Path;

use common::store::TestStore;

#[test]
fn cap_add_opens_the_seccomp_filter_for_that_capability() {
    let st = TestStore::with_busybox();
    let mount = ["localhost/bb:1", "mount", "-t", "tmpfs", "none", "/tmp"];
    let r = st.run(&[&["run", "--rm"][..], &mount[..]].concat());
    assert_ne!(r.code, 0, "mounted without CAP_SYS_ADMIN");
    let r = st.run(&[&["run", "--rm", "--cap-add", "SYS_ADMIN"][..], &mount[..]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // podman's own profile (its rules for CAP_SYS_ADMIN only) behaves the same.
    let profile = "seccomp=/usr/share/containers/seccomp.json";
    let r = st.run(&[&["run", "--rm", "--security-opt", profile][..], &mount[..]].concat());
    assert_ne!(
        r.code, 0,
        "podman's profile let mount through without CAP_SYS_ADMIN"
    );
    let with_cap = [
        "run",
        "--rm",
        "--security-opt",
        profile,
        "--cap-add",
        "SYS_ADMIN",
    ];
    let r = st.run(&[&with_cap[..], &mount[..]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = st.run(&[
        "run",
        "--rm",
        "--security-opt",
        profile,
        "localhost/bb:1",
        "echo",
        "ok",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "ok\n"), "{}", r.stderr);
}

#[test]
fn host_namespaces_shm_groups_dns_search_and_cidfile() {
    let st = TestStore::with_busybox();
    let me = std::process::id();
    let shm = format!("/dev/shm/berth-t{me}");
    std::fs::write(&shm, "host shm").unwrap();
    let script = format!(
        "[ -d /proc/{me} ] && echo sees-host-pids; hostname; cat {shm}; \
         df -k /dev/shm | tail -1 | awk '{{print $2}}'"
    );
    let r = st.run(&[
        "run",
        "--rm",
        "--pid",
        "host",
        "--uts",
        "host",
        "--ipc",
        "host",
        "localhost/bb:1",
        "sh",
        "-c",
        &script,
    ]);
    let _ = std::fs::remove_file(&shm);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(
        r.stdout.starts_with("sees-host-pids\n"),
        "{} {}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout.contains(&format!("{}\nhost shm", host.trim())),
        "{}",
        r.stdout
    );
    // Private ones: none of that, and /dev/shm of the size asked for.
    let r = st.ok(&[
        "run",
        "--rm",
        "--shm-size",
        "8m",
        "--group-add",
        "1234",
        "--dns-search",
        "example.test",
        "localhost/bb:1",
        "sh",
        "-c",
        &format!(
            "[ -d /proc/{me} ] || echo own-pids; df -k /dev/shm | tail -1 | awk '{{print $2}}'; \
             id -G; grep ^search /etc/resolv.conf"
        ),
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "own-pids", "{}", r.stdout);
    assert_eq!(lines[1], "8192", "{}", r.stdout);
    assert!(lines[2].split(' ').any(|g| g == "1234"), "{}", r.stdout);
    assert!(lines[3].starts_with("search example.test"), "{}", r.stdout);
    // --cidfile: the ID, and a file that exists already is refused first.
    let cid = st.dir.path().join("cid");
    let id = st
        .ok(&[
            "create",
            "--cidfile",
            cid.to_str().unwrap(),
            "localhost/bb:1",
            "true",
        ])
        .stdout;
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    let before = st.ok(&["ps", "-a", "-q"]).stdout;
    let r = st.run(&[
        "run",
        "-d",
        "--cidfile",
        cid.to_str().unwrap(),
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.starts_with("Error: container id file exists. ")
            && r.stderr.contains(&format!("delete {}", cid.display())),
        "{}",
        r.stderr
    );
    assert_eq!(
        st.ok(&["ps", "-a", "-q"]).stdout,
        before,
        "a container was made"
    );
}

#[test]
fn privileged_containers_get_the_hosts_devices() {
    let st = TestStore::with_busybox();
    // A device every Linux host with loop support has, not in the default set.
    let dev = "/dev/loop-control";
    assert!(Path::new(dev).exists(), "this host has no {dev}");
    let check = [
        "localhost/bb:1",
        "sh",
        "-c",
        "[ -c /dev/loop-control ] && echo there",
    ];
    let r = st.ok(&[&["run", "--rm", "--privileged"][..], &check[..]].concat());
    assert_eq!(r.stdout, "there\n");
    let r = st.run(&[&["run", "--rm"][..], &check[..]].concat());
    assert_eq!(r.stdout, "", "an unprivileged container got {dev}");
}

#[test]
fn security_and_resource_flags() {
    let st = TestStore::with_busybox();
    // The default seccomp filter: on, and a user namespace cannot be made.
    let r = st.ok(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null || echo refused",
    ]);
    assert_eq!(r.stdout, "Seccomp:\t2\nrefused\n");
    let r = st.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "localhost/bb:1",
        "grep",
        "Seccomp:",
        "/proc/self/status",
    ]);
    assert_eq!(r.stdout, "Seccomp:\t0\n");
    // --privileged: no filter, more capabilities than the default eleven, /sys writable.
    let r = st.ok(&[
        "run",
        "--rm",
        "--privileged",
        "localhost/bb:1",
        "sh",
        "-c",
        "grep -E '^(Seccomp|CapEff):' /proc/self/status; grep ' /sys ' /proc/mounts",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let capeff = u64::from_str_radix(lines[0].split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert!(capeff.count_ones() > 11, "{}", r.stdout);
    assert_eq!(lines[1], "Seccomp:\t0");
    assert!(lines[2].contains(" rw,"), "{}", r.stdout);
    let r = st.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "--ulimit",
        "nofile=100:200",
        "localhost/bb:1",
        "sh",
        "-c",
        "grep NoNewPrivs /proc/self/status; ulimit -n; ulimit -Hn",
    ]);
    assert_eq!(r.stdout, "NoNewPrivs:\t1\n100\n200\n");
    // Limits land in the container's cgroup (v1 or v2 file names).
    let r = st.ok(&[
        "run", "--rm", "--memory", "64m", "--pids-limit", "50", "localhost/bb:1", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; true",
    ]);
    assert_eq!(r.stdout, "67108864\n50\n");
    // --env-file, --mount, --replace, --label.
    let envf = st.dir.path().join("env");
    std::fs::write(&envf, "A=1\n# a comment\n\nB=two\n").unwrap();
    let r = st.ok(&[
        "run",
        "--rm",
        "--env-file",
        envf.to_str().unwrap(),
        "-e",
        "B=2",
        "--mount",
        "type=tmpfs,target=/t",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo $A $B; grep -c ' /t tmpfs' /proc/mounts",
    ]);
    assert_eq!(r.stdout, "1 2\n1\n");
    let first = st
        .ok(&[
            "create",
            "--name",
            "same",
            "--label",
            "tier=web",
            "localhost/bb:1",
            "true",
        ])
        .stdout;
    assert_eq!(
        st.run(&["create", "--name", "same", "localhost/bb:1", "true"])
            .code,
        125
    );
    let second = st
        .ok(&[
            "create",
            "--replace",
            "--name",
            "same",
            "localhost/bb:1",
            "true",
        ])
        .stdout;
    assert_ne!(first, second);
    assert_eq!(st.ok(&["ps", "-a", "-q", "--no-trunc"]).stdout, second);
    for bad in [
        ["--memory", "lots"],
        ["--ulimit", "nofile=9:1"],
        ["--security-opt", "bogus"],
        ["--mount", "type=bind,target=/x"],
    ] {
        let r = st.run(&["run", "--rm", bad[0], bad[1], "localhost/bb:1", "true"]);
        assert_eq!(r.code, 125, "{bad:?}: {}", r.stderr);
    }
}

#[test]
fn devices_and_sharing_another_containers_network() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "run",
        "--rm",
        "--device",
        "/dev/null:/dev/mynull:rw",
        "localhost/bb:1",
        "sh",
        "-c",
        "stat -c '%F %t:%T' /dev/mynull; echo x > /dev/mynull && echo wrote",
    ]);
    assert_eq!(r.stdout, "character special file 1:3\nwrote\n");
    // Without the device rule the node cannot be opened even if made by hand.
    let r = st.run(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "mknod /tmp/n c 1 3 && echo x > /tmp/n",
    ]);
    assert_ne!(r.code, 0, "a device outside the allowed set was usable");
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--device",
            "/etc/passwd",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
    // --network container:NAME joins that container's network namespace.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "net-owner",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let a = st
        .ok(&["exec", "net-owner", "readlink", "/proc/self/ns/net"])
        .stdout;
    let b = st
        .ok(&[
            "run",
            "--rm",
            "--network",
            "container:net-owner",
            "localhost/bb:1",
            "readlink",
            "/proc/self/ns/net",
        ])
        .stdout;
    let c = st
        .ok(&[
            "run",
            "--rm",
            "localhost/bb:1",
            "readlink",
            "/proc/self/ns/net",
        ])
        .stdout;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        st.run(&[
            "run",
            "--rm",
            "--network",
            "container:nobody",
            "localhost/bb:1",
            "true"
        ])
        .code,
        125
    );
}

/// `--ipc`: host shares the host's namespace, none/private/shareable give
/// the container its own (none without /dev/shm), as podman's do.
#[test]
fn ipc_modes_as_podman() {
    let st = TestStore::with_busybox();
    let host = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let host = host.to_str().unwrap();
    let ns = |mode: &str| {
        st.ok(&[
            "run",
            "--rm",
            &format!("--ipc={mode}"),
            "localhost/bb:1",
            "readlink",
            "/proc/self/ns/ipc",
        ])
        .stdout
        .trim()
        .to_string()
    };
    assert_eq!(ns("host"), host);
    for mode in ["none", "private", "shareable"] {
        assert_ne!(ns(mode), host, "{mode}");
    }
    let r = st.run(&[
        "run",
        "--rm",
        "--ipc=none",
        "localhost/bb:1",
        "ls",
        "/dev/shm",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("/dev/shm: No such file or directory"),
        "{}",
        r.stderr
    );
    st.ok(&[
        "run",
        "--rm",
        "--ipc=shareable",
        "localhost/bb:1",
        "ls",
        "-d",
        "/dev/shm",
    ]);
}

/// `--ipc/--pid/--uts container:NAME` join a running container's namespaces as
/// podman does: the same IPC namespace with the same /dev/shm files, the same
/// processes, the same hostname; a private IPC namespace cannot be joined, and the
/// host-side /dev/shm goes with its container.
#[test]
fn joining_another_containers_namespaces() {
    let st = TestStore::with_busybox();
    let img = "localhost/bb:1";
    st.ok(&["run", "-d", "--name", "donor", img, "sleep", "100"]);
    let donor_ipc = st
        .ok(&["exec", "donor", "readlink", "/proc/self/ns/ipc"])
        .stdout;
    let joined = |flag: &str, cmd: &[&str]| {
        let flag = format!("{flag}=container:donor");
        let args = [&["run", "--rm", flag.as_str(), img][..], cmd].concat();
        st.ok(&args).stdout
    };
    assert_eq!(
        joined("--ipc", &["readlink", "/proc/self/ns/ipc"]),
        donor_ipc
    );
    st.ok(&["exec", "donor", "sh", "-c", "echo shared > /dev/shm/note"]);
    assert_eq!(joined("--ipc", &["cat", "/dev/shm/note"]), "shared\n");
    let ps = joined("--pid", &["ps", "-o", "args"]);
    assert!(ps.contains("sleep 100"), "{ps}");
    let host = st.ok(&["exec", "donor", "hostname"]).stdout;
    assert_eq!(joined("--uts", &["hostname"]), host);
    // The donor cannot go while a container that joins it exists.
    st.ok(&[
        "create",
        "--name",
        "joiner",
        "--pid",
        "container:donor",
        img,
        "true",
    ]);
    let r = st.run(&["rm", "-f", "-t", "0", "donor"]);
    assert_ne!(r.code, 0, "a donor with a dependent was removed");
    st.ok(&["rm", "joiner"]);

    st.ok(&[
        "run", "-d", "--ipc", "private", "--name", "own", img, "sleep", "100",
    ]);
    let r = st.run(&["run", "--rm", "--ipc", "container:own", img, "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"),
        "{}",
        r.stderr
    );

    let id = st.ok(&["inspect", "--format", "{{.Id}}", "donor"]).stdout;
    let shm = format!("/containers/{}/userdata/shm", id.trim());
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.contains(&shm))
    };
    assert!(mounted(), "no host-side /dev/shm for a shareable container");
    st.ok(&["stop", "-t", "0", "donor"]);
    assert!(
        !mounted(),
        "the stopped container's /dev/shm stayed mounted"
    );
}

#[test]
fn resolv_conf_takes_dns_options_and_containers_conf_servers() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "run",
        "--rm",
        "--dns-opt",
        "ndots:3",
        "--dns-option",
        "edns0",
        "localhost/bb:1",
        "grep",
        "^options",
        "/etc/resolv.conf",
    ]);
    assert_eq!(r.stdout, "options ndots:3 edns0\n");
    // containers.conf's servers, searches and options when no flag names any.
    let conf = st.path().join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\ndns_servers = [\"192.0.2.1\", \"192.0.2.2\"]\n\
         dns_searches = [\"example.test\"]\ndns_options = [\"attempts:2\"]\n",
    )
    .unwrap();
    let mut c = st.cmd();
    c.env("CONTAINERS_CONF", &conf).args([
        "run",
        "--rm",
        "--network",
        "none",
        "localhost/bb:1",
        "cat",
        "/etc/resolv.conf",
    ]);
    let r = common::run_cmd(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("search example.test"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("nameserver 192.0.2.1\nnameserver 192.0.2.2\noptions attempts:2\n"),
        "{}",
        r.stdout
    );
    let mut c = st.cmd();
    c.env("CONTAINERS_CONF", &conf).args([
        "run",
        "--rm",
        "--network",
        "none",
        "--dns",
        "192.0.2.9",
        "localhost/bb:1",
        "grep",
        "-c",
        "nameserver",
        "/etc/resolv.conf",
    ]);
    assert_eq!(
        common::run_cmd(&mut c).stdout,
        "1\n",
        "--dns wins over the file"
    );
}

#[test]
fn device_io_limits_reach_the_blkio_cgroup() {
    let st = TestStore::with_busybox();
    // The machine's first disk, as the kernel lists it.
    let parts = std::fs::read_to_string("/proc/partitions").unwrap();
    let (numbers, name) = parts
        .lines()
        .skip(2)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4).then(|| (format!("{}:{}", f[0], f[1]), f[3].to_string()))
        })
        .expect("a block device in /proc/partitions");
    let dev = format!("/dev/{name}");
    let limits = [
        "--device-read-bps",
        &format!("{dev}:1M"),
        "--device-write-iops",
        &format!("{dev}:100"),
    ];
    // A cgroup v2 host has them in io.max, a v1 (or hybrid) one in blkio.
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let files: &[&str] = match v2 {
        true => &["/sys/fs/cgroup/io.max"],
        false => &[
            "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device",
            "/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device",
        ],
    };
    let args = [
        &["run", "--rm"][..],
        &limits,
        &["localhost/bb:1", "cat"],
        files,
    ]
    .concat();
    let r = st.ok(&args);
    match v2 {
        true => assert!(
            r.stdout.contains(&format!(
                "{numbers} rbps=1048576 wbps=max riops=max wiops=100"
            )),
            "{}",
            r.stdout
        ),
        false => assert_eq!(r.stdout, format!("{numbers} 1048576\n{numbers} 100\n")),
    }
    let r = st.run(&[
        "run",
        "--rm",
        "--device-read-bps",
        "/etc/passwd:1M",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("--device-read-bps /etc/passwd:1M: /etc/passwd is not a device"),
        "{}",
        r.stderr
    );
    let r = st.run(&[
        "run",
        "--rm",
        "--device-read-iops",
        &format!("{dev}:lots"),
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("\"lots\" is not a rate"), "{}", r.stderr);
}

/// `--cgroup-parent`: the container's cgroup nests under the one named (the
/// host sees it there), and goes with the container.
#[test]
fn cgroup_parent_places_the_containers_cgroup() {
    let st = TestStore::with_busybox();
    let parent = format!("/berth-test-parent-{}", std::process::id());
    let id = st
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--cgroup-parent",
            &parent,
            "localhost/bb:1",
            "sleep",
            "600",
        ])
        .stdout;
    let id = id.trim();
    let pid = st.inspect(id, ".State.Pid");
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    st.ok(&["rm", "-f", "-t", "0", id]);
    // The parent itself is the caller's to remove (podman leaves it too).
    for h in [
        "pids", "memory", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer", "systemd",
        "unified", "",
    ] {
        let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{h}{parent}"));
    }
    assert!(cgroups.contains(&format!("{parent}/{id}")), "{cgroups}");
}

/// CVE-2019-5736: a container's monitor forks the container's init, whose
/// /proc/PID/exe is berth until it executes the container's command. Monitors
/// (a pod's infra container's too) run from a read-only image of berth, so the
/// binary cannot be written through that link.
#[test]
fn monitors_run_from_a_read_only_image_of_berth() {
    use std::os::unix::fs::MetadataExt;
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--name", "p"]);
    st.ok(&[
        "run",
        "-d",
        "--name",
        "alone",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    st.ok(&[
        "run",
        "-d",
        "--name",
        "member",
        "--pod",
        "p",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let infra = st.ok(&["pod", "inspect", "p", "--format", "{{.InfraContainerID}}"]);
    let berth = std::fs::metadata(env!("CARGO_BIN_EXE_berth")).unwrap();
    for name in ["alone", "member", infra.stdout.trim()] {
        let pid = st.inspect(name, ".State.ConmonPid");
        let exe = format!("/proc/{pid}/exe");
        let m = std::fs::metadata(&exe).unwrap();
        assert_eq!(
            (m.dev(), m.ino()),
            (berth.dev(), berth.ino()),
            "{name}: not berth"
        );
        // Writing is refused while it runs (ETXTBSY); what the attack waits
        // for is the process's end, after which only a read-only mount holds.
        let c = std::ffi::CString::new(exe.clone()).unwrap();
        // SAFETY: statvfs into a zeroed struct with a valid C path.
        let mut fs: libc::statvfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut fs) }, 0);
        assert_ne!(
            fs.f_flag & libc::ST_RDONLY,
            0,
            "{name}: its monitor runs from a writable {}",
            std::fs::read_link(&exe).unwrap().display()
        );
    }
    st.ok(&["pod", "rm", "-f", "-t", "0", "p"]);
    st.ok(&["rm", "-f", "-t", "0", "alone"]);
}

/// `--uidmap`/`--gidmap` (as root): the container gets a user namespace of its
/// own. Inside it the image's files keep their owners (its root is an overlay
/// of ID-mapped layers, nothing copied); outside, its processes and what it
/// writes are the mapped IDs, while the upper layer keeps the image's, so a
/// commit is what it would be without a map. The store stays private: the
/// container reaches its root through binds under /run/berth-userns.
#[test]
fn uidmap_gives_a_user_namespace_in_which_the_image_keeps_its_owners() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let st = TestStore::with_busybox();
    std::fs::set_permissions(st.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let map = ["--uidmap", "0:200000:65536", "--gidmap", "0:300000:65536"];
    let run = [
        &["run", "-d", "--name", "m"][..],
        &map[..],
        &["localhost/bb:1", "sh", "-c", "echo x > /made; sleep 600"][..],
    ]
    .concat();
    st.ok(&run);
    let inside = st.ok(&["exec", "m", "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox /etc/passwd; id -u; until [ -e /made ]; do sleep 0.1; done; cat /made; stat -c %u:%g /made; touch /etc/passwd && echo written"]).stdout;
    let words: Vec<&str> = inside.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "0", "200000", "65536", "0", "300000", "65536", "0:0", "0:0", "0", "x", "0:0",
            "written"
        ],
        "{inside}"
    );
    assert_eq!(
        st.inspect("m", ".HostConfig.IDMappings.UIDMap"),
        "[0:200000:65536]"
    );
    let pid = st.inspect("m", ".State.Pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.lines().any(|l| l.starts_with("Uid:\t200000\t")),
        "{status}"
    );
    // top: USER as the container sees it, HUSER as the host does.
    let top = st.ok(&["top", "m", "user", "huser"]);
    assert_eq!(
        top.stdout
            .lines()
            .nth(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["root", "200000"]),
        "{}",
        top.stdout
    );
    // From the host, through the container's mount, its files are the mapped IDs.
    let root = st.ok(&["mount", "m"]).stdout;
    let made = std::fs::metadata(Path::new(root.trim()).join("made")).unwrap();
    st.ok(&["umount", "m"]);
    assert_eq!((made.uid(), made.gid()), (200000, 300000));
    let id = st.inspect("m", ".Id");
    let view = Path::new("/run/berth-userns").join(&id);
    assert!(view.join("rootfs/bin/busybox").exists());
    // Passable by the container's root (its group), writable by berth alone.
    let vm = std::fs::metadata(&view).unwrap();
    assert_eq!((vm.uid(), vm.gid(), vm.mode() & 0o7777), (0, 300000, 0o710));
    // `--userns container:m` joins m's user namespace, its root mapped alike.
    let joined = st.ok(&[
        "run",
        "--rm",
        "--userns",
        "container:m",
        "localhost/bb:1",
        "sh",
        "-c",
        "readlink /proc/self/ns/user; stat -c %u /bin/busybox",
    ]);
    let m_ns = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    assert_eq!(joined.stdout, format!("{}\n0\n", m_ns.display()));
    // Copied out, the file has the owner the container sees, not the host's.
    let out = st.path().join("made.out");
    st.ok(&["cp", "m:/made", out.to_str().unwrap()]);
    let md = std::fs::metadata(&out).unwrap();
    assert_eq!((md.uid(), md.gid()), (0, 0));
    // Its generated files are its root's, to write as podman lets it.
    let hosts = st.ok(&[
        "exec",
        "m",
        "sh",
        "-c",
        "echo 10.0.0.9 extra >> /etc/hosts && echo ok",
    ]);
    assert_eq!(hosts.stdout, "ok\n");
    // A secret's uid=/gid= are the container's IDs.
    let secret = st.path().join("secret.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    st.ok(&["secret", "create", "mapsec", secret.to_str().unwrap()]);
    let read = st.ok(&[
        &[
            "run",
            "--rm",
            "--user",
            "5:6",
            "--secret",
            "mapsec,uid=5,gid=6,mode=0400",
        ][..],
        &map[..],
        &[
            "localhost/bb:1",
            "sh",
            "-c",
            "cat /run/secrets/mapsec; stat -c %u:%g /run/secrets/mapsec",
        ][..],
    ]
    .concat());
    assert_eq!(read.stdout, "s3cret5:6\n");
    // A new named volume is the mapped root's: it can write there.
    let vol = st.ok(&[
        &["run", "--rm", "-v", "mapvol:/data"][..],
        &map[..],
        &[
            "localhost/bb:1",
            "sh",
            "-c",
            "echo y > /data/f && stat -c %u:%g /data/f",
        ][..],
    ]
    .concat());
    assert_eq!(vol.stdout.trim(), "0:0");
    // A commit keeps the image's owners: root's file is root's without a map.
    st.ok(&["commit", "m", "localhost/mapped:1"]);
    let plain = st.ok(&[
        "run",
        "--rm",
        "localhost/mapped:1",
        "stat",
        "-c",
        "%u:%g",
        "/made",
    ]);
    assert_eq!(plain.stdout.trim(), "0:0");
    st.ok(&["rm", "-f", "-t", "0", "m"]);
    assert!(
        !view.exists(),
        "the binds under {} outlived the container",
        view.display()
    );
    for bad in [["--uidmap", "0:100000"], ["--uidmap", "1:100000:10"]] {
        let out = st.run(
            &[
                &["run", "--rm"][..],
                &bad[..],
                &["localhost/bb:1", "true"][..],
            ]
            .concat(),
        );
        assert_eq!(out.code, 125, "{}", out.stderr);
        assert!(out.stderr.contains("--uidmap"), "{}", out.stderr);
    }
    let out = st.run(&[
        "run",
        "--rm",
        "--uidmap",
        "1:100000:10",
        "localhost/bb:1",
        "true",
    ]);
    assert!(out.stderr.contains("UID 0 is not mapped"), "{}", out.stderr);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// /etc/subuid and /etc/subgid with a range for user "containers" while it
/// lives (what `--userns auto` takes as root), then as they were.
struct AutoRange(Vec<(&'static str, String)>);

impl AutoRange {
    fn new(start: u32, count: u32) -> AutoRange {
        let files = ["/etc/subuid", "/etc/subgid"];
        let kept = files
            .iter()
            .map(|f| (*f, std::fs::read_to_string(f).unwrap_or_default()))
            .collect();
        for f in files {
            let mut text = std::fs::read_to_string(f).unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("containers:{start}:{count}\n"));
            std::fs::write(f, text).unwrap();
        }
        AutoRange(kept)
    }
}

impl Drop for AutoRange {
    fn drop(&mut self) {
        for (f, text) in &self.0 {
            let _ = std::fs::write(f, text);
        }
    }
}

/// `--userns auto` as root: each container gets its own range of user
/// "containers"'s IDs (podman's estimate, 1024 for busybox, or `size=`), never
/// another container's, with `uidmapping=` kept as given; the image's files keep
/// their owners inside (ID-mapped layers, as `--uidmap`); keep-id and nomap are
/// refused with podman's words.
#[test]
fn userns_auto_gives_each_container_its_own_free_range() {
    let st = TestStore::with_busybox();
    let _range = AutoRange::new(3_000_000_000, 200_000);
    let map_of = |args: &[&str]| {
        let r = st.ok(args);
        r.stdout
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    st.ok(&[
        "run",
        "-d",
        "--name",
        "a1",
        "--userns=auto",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let inside = st.ok(&[
        "exec",
        "a1",
        "sh",
        "-c",
        "cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; id -u",
    ]);
    let words: Vec<&str> = inside.stdout.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "3000000000", "1024", "0:0", "0"],
        "{}",
        inside.stdout
    );
    let second = map_of(&[
        "run",
        "--rm",
        "--userns=auto:size=2000",
        "localhost/bb:1",
        "cat",
        "/proc/self/gid_map",
    ]);
    assert_eq!(second, ["0", "3000001024", "2000"]);
    let given = map_of(&[
        "run",
        "--rm",
        "--userns=auto:uidmapping=0:5000:1",
        "localhost/bb:1",
        "cat",
        "/proc/self/uid_map",
    ]);
    assert_eq!(given, ["1", "3000001024", "1023", "0", "5000", "1"]);
    assert_eq!(st.inspect("a1", ".HostConfig.UsernsMode"), "private");
    // containers.conf's `userns = "auto"` for a container given no mode.
    let conf = st.path().join("userns.conf");
    std::fs::write(&conf, "[containers]\nuserns = \"auto\"\n").unwrap();
    let mut c = st.cmd();
    c.env("CONTAINERS_CONF", &conf).args([
        "run",
        "--rm",
        "localhost/bb:1",
        "cat",
        "/proc/self/uid_map",
    ]);
    let r = common::run_cmd(&mut c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "3000001024", "1024"], "{}", r.stdout);
    // A pod's member joins the pod's namespace, made by that default once.
    let conf_cmd = |args: &[&str]| {
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF", &conf).args(args);
        common::run_cmd(&mut c)
    };
    let r = conf_cmd(&["pod", "create", "--name", "pa", "--network", "none"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = conf_cmd(&[
        "run",
        "--rm",
        "--pod",
        "pa",
        "localhost/bb:1",
        "cat",
        "/proc/self/uid_map",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "3000001024", "1024"], "{}", r.stdout);
    st.ok(&["pod", "rm", "-f", "-t", "0", "pa"]);
    for (mode, words) in [
        (
            "keep-id",
            "Error: keep-id is only supported in rootless mode\n",
        ),
        ("nomap", "Error: nomap is only supported in rootless mode\n"),
        (
            "auto:size=300000",
            "Error: could not find enough available IDs\n",
        ),
        ("auto:foo", "Error: invalid option specified: \"foo\"\n"),
    ] {
        let r = st.run(&["run", "--rm", "--userns", mode, "localhost/bb:1", "true"]);
        assert_eq!((r.code, r.stderr.as_str()), (125, words), "{mode}");
    }
    st.ok(&["rm", "-f", "-t", "0", "a1"]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// `--hostuser NAME|UID` (podman's): the host user's /etc/passwd line is
/// added to the container's when its UID has none; an unknown user fails the
/// start with podman's 126.
#[test]
fn hostuser_adds_the_hosts_passwd_line() {
    let st = TestStore::with_busybox();
    let host = std::fs::read_to_string("/etc/passwd").unwrap();
    let daemon = host
        .lines()
        .find(|l| l.starts_with("daemon:"))
        .expect("a daemon user")
        .to_string();
    let uid = daemon.split(':').nth(2).unwrap().to_string();
    let r = st.run(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "grep",
        "^daemon:",
        "/etc/passwd",
    ]);
    assert_eq!(r.code, 1, "the image has no daemon: {}", r.stdout);
    for who in ["daemon", uid.as_str()] {
        let r = st.ok(&[
            "run",
            "--rm",
            "--hostuser",
            who,
            "localhost/bb:1",
            "grep",
            "^daemon:",
            "/etc/passwd",
        ]);
        assert_eq!(r.stdout.trim(), daemon);
    }
    let r = st.run(&[
        "run",
        "--rm",
        "--hostuser",
        "bogus-user",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(r.stderr.contains("--hostuser bogus-user"), "{}", r.stderr);
}

/// An image run as a numeric user it does not know (OpenShift's arbitrary
/// IDs): podman's /etc/passwd and /etc/group lines name it, so that `id` and
/// `whoami` work; a user the image knows, and a volume at /etc/passwd, are
/// left as they are.
#[test]
fn an_arbitrary_numeric_user_gets_podmans_passwd_lines() {
    let st = TestStore::with_busybox();
    let show = "id; whoami; grep -c . /etc/passwd";
    let r = st.ok(&[
        "run",
        "--rm",
        "--user",
        "1234:5678",
        "-w",
        "/tmp",
        "localhost/bb:1",
        "sh",
        "-c",
        "id; whoami; tail -1 /etc/passwd; tail -1 /etc/group",
    ]);
    assert_eq!(
        r.stdout,
        "uid=1234(1234) gid=5678(5678) groups=5678(5678)\n1234\n\
         1234:*:1234:5678:container user:/tmp:/bin/sh\n5678:x:5678:1234\n"
    );
    let plain = st.ok(&["run", "--rm", "localhost/bb:1", "sh", "-c", show]);
    let known = st.ok(&[
        "run",
        "--rm",
        "--user",
        "0",
        "localhost/bb:1",
        "sh",
        "-c",
        show,
    ]);
    // The same user and passwd; named, root has its group among its groups.
    assert_eq!(
        known.stdout,
        plain.stdout.replacen(")\n", ") groups=0(root)\n", 1)
    );
    let own = st.path().join("passwd");
    std::fs::write(&own, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let vol = format!("{}:/etc/passwd", own.display());
    let r = st.ok(&[
        "run",
        "--rm",
        "--user",
        "77",
        "-v",
        &vol,
        "localhost/bb:1",
        "cat",
        "/etc/passwd",
    ]);
    assert_eq!(r.stdout, "root:x:0:0:root:/root:/bin/sh\n");
    assert_eq!(
        std::fs::read_to_string(&own).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
}

/// containers.conf's default_capabilities and default_sysctls, as podman
/// applies them: the capabilities a container starts from, and sysctls set
/// unless --sysctl sets the key or the key's namespace is the host's.
#[test]
fn containers_conf_default_capabilities_and_sysctls() {
    let st = TestStore::with_busybox();
    let conf = st.path().join("containers.conf");
    std::fs::write(
        &conf,
        "[containers]\ndefault_capabilities = [\"CHOWN\", \"NET_RAW\"]\n\
         default_sysctls = [\"net.ipv4.ping_group_range=0 0\"]\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF", &conf).args(["run", "--rm"]);
        c.args(extra).args([
            "localhost/bb:1",
            "sh",
            "-c",
            "grep CapEff /proc/self/status; cat /proc/sys/net/ipv4/ping_group_range",
        ]);
        let r = common::run_cmd(&mut c);
        assert_eq!(r.code, 0, "{extra:?}: {}", r.stderr);
        r.stdout
    };
    // CHOWN is bit 0, NET_RAW bit 13.
    assert_eq!(
        run(&["--network", "none"]),
        "CapEff:\t0000000000002001\n0\t0\n"
    );
    assert_eq!(
        run(&[
            "--network",
            "none",
            "--sysctl",
            "net.ipv4.ping_group_range=1 1"
        ]),
        "CapEff:\t0000000000002001\n1\t1\n"
    );
    let host = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let out = run(&["--network", "host"]);
    assert!(out.ends_with(&host), "the host's own is left: {out}");
}

/// With the host's network and no --hostname, a container is named as the
/// host is (podman's and Docker's rule), in its UTS namespace, $HOSTNAME and
/// inspect; --hostname still wins.
#[test]
fn the_hosts_network_brings_the_hosts_name() {
    let st = TestStore::with_busybox();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    let script = "cat /proc/sys/kernel/hostname; echo $HOSTNAME";
    let r = st.ok(&[
        "run",
        "--name",
        "hn",
        "--network",
        "host",
        "localhost/bb:1",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(r.stdout, format!("{host}\n{host}\n"));
    assert_eq!(st.inspect("hn", ".Config.Hostname"), host);
    let r = st.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--hostname",
        "mine",
        "localhost/bb:1",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(r.stdout, "mine\nmine\n");
    st.ok(&["rm", "hn"]);
}
