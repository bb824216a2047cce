//! Pods: containers sharing namespaces around an infra container, as podman's
//! `pod` commands and `--pod` make them.

mod common;

use common::store::TestStore;
use common::wait_for;

const IMG: &str = "localhost/bb:1";

fn pod_field(st: &TestStore, pod: &str, field: &str) -> String {
    let f = format!("{{{{.{field}}}}}");
    st.ok(&["pod", "inspect", "--format", &f, pod])
        .stdout
        .trim()
        .to_string()
}

#[test]
fn containers_of_a_pod_share_its_loopback_hostname_and_shm() {
    let st = TestStore::with_busybox();
    let id = st
        .ok(&["pod", "create", "--network", "none", "--name", "web"])
        .stdout;
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(pod_field(&st, "web", "State"), "Created");
    assert_eq!(pod_field(&st, "web", "NumContainers"), "1");
    // The first member starts the infra container with it.
    st.ok(&[
        "run",
        "-d",
        "--pod",
        "web",
        "--name",
        "srv",
        IMG,
        "nc",
        "-l",
        "-p",
        "8080",
        "-e",
        "echo",
        "hello-pod",
    ]);
    assert_eq!(pod_field(&st, "web", "State"), "Running");
    let mut got = String::new();
    wait_for("the pod's server to answer on its loopback", || {
        let r = st.run(&[
            "run",
            "--rm",
            "--pod",
            "web",
            IMG,
            "sh",
            "-c",
            "nc 127.0.0.1 8080 </dev/null",
        ]);
        got = r.stdout;
        got.contains("hello-pod")
    });
    assert_eq!(got, "hello-pod\n");
    // The pod's name is its containers' hostname; its /dev/shm is theirs.
    assert_eq!(
        st.ok(&["run", "--rm", "--pod", "web", IMG, "hostname"])
            .stdout,
        "web\n"
    );
    st.ok(&[
        "run",
        "--rm",
        "--pod",
        "web",
        IMG,
        "touch",
        "/dev/shm/from-one",
    ]);
    st.ok(&[
        "run",
        "--rm",
        "--pod",
        "web",
        IMG,
        "ls",
        "/dev/shm/from-one",
    ]);
    let names = st
        .ok(&[
            "ps",
            "-a",
            "--filter",
            "pod=web",
            "--format",
            "{{.Names}} {{.Pod}}",
        ])
        .stdout;
    let short = &id[..12];
    assert!(names.contains(&format!("srv {short}")), "{names}");
    assert!(names.contains(&format!("{short}-infra {short}")), "{names}");
    // A member cannot set what the pod shares.
    let r = st.run(&[
        "run",
        "--rm",
        "--pod",
        "web",
        "--hostname",
        "x",
        IMG,
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot set hostname when joining the pod UTS namespace"),
        "{}",
        r.stderr
    );
    // Running containers keep the pod unless forced.
    st.ok(&["run", "-d", "--pod", "web", IMG, "sleep", "1000"]);
    let r = st.run(&["pod", "rm", "web"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        st.ok(&["pod", "rm", "-f", "-t", "0", "web"]).stdout.trim(),
        id
    );
    assert_eq!(st.run(&["pod", "exists", "web"]).code, 1);
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "", "containers left");
}

#[test]
fn a_pod_shares_pids_when_asked_and_stops_in_order() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--share",
        "+pid",
        "--name",
        "p",
    ]);
    assert_eq!(
        pod_field(&st, "p", "SharedNamespaces"),
        "[cgroup ipc net pid uts]"
    );
    st.ok(&[
        "run", "-d", "--pod", "p", "--name", "a", IMG, "sleep", "1000",
    ]);
    let ps = st
        .ok(&["run", "--rm", "--pod", "p", IMG, "ps", "-o", "args"])
        .stdout;
    assert!(ps.contains("/pause"), "{ps}");
    assert!(ps.contains("sleep 1000"), "{ps}");
    let top = st.ok(&["pod", "top", "p"]).stdout;
    assert!(top.starts_with("USER"), "{top}");
    assert!(
        top.contains("sleep 1000") && top.contains("/pause"),
        "{top}"
    );
    st.ok(&["pod", "stop", "-t", "0", "p"]);
    assert_eq!(pod_field(&st, "p", "State"), "Exited");
    assert_eq!(st.run(&["pod", "top", "p"]).code, 125);
    st.ok(&["pod", "start", "p"]);
    assert_eq!(pod_field(&st, "p", "State"), "Running");
    st.ok(&["pod", "kill", "p"]);
    wait_for("the pod to stop after kill", || {
        pod_field(&st, "p", "State") == "Exited"
    });
}

#[test]
fn the_infra_container_goes_only_with_its_pod() {
    let st = TestStore::with_busybox();
    let c = st.ok(&["create", "--pod", "new:p1", IMG, "true"]).stdout;
    let infra = pod_field(&st, "p1", "InfraContainerID");
    for args in [vec!["rm", &infra], vec!["rm", "--force", &infra]] {
        let r = st.run(&args);
        assert_eq!(r.code, 125);
        assert!(
            r.stderr
                .contains("cannot be removed without removing the pod"),
            "{}",
            r.stderr
        );
    }
    let out = st.ok(&["rm", "--depend", &infra]).stdout;
    assert!(out.contains(&infra) && out.contains(c.trim()), "{out}");
    assert_eq!(
        st.run(&["pod", "exists", "p1"]).code,
        1,
        "the pod outlived its infra container"
    );
    // rm --all --force takes pods' containers, their infra containers and
    // other containers alike.
    st.ok(&["create", "--pod", "new:p2", IMG, "true"]);
    st.ok(&["create", "--pod", "p2", IMG, "true"]);
    st.ok(&["create", IMG, "true"]);
    let out = st.ok(&["rm", "--force", "--all"]).stdout;
    assert_eq!(out.lines().count(), 4, "{out}");
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
}

#[test]
fn pod_create_refuses_what_podman_refuses() {
    let st = TestStore::with_busybox();
    let r = st.run(&["pod", "create", "--share", "bogus"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("invalid kernel namespace to share: bogus"),
        "{}",
        r.stderr
    );
    let r = st.run(&["pod", "create", "--exit-policy", "invalid"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("invalid pod exit policy"), "{}", r.stderr);
    st.ok(&["pod", "create", "--name", "dup", "--infra=false"]);
    let r = st.run(&["pod", "create", "--name", "dup"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = st.run(&["pod", "inspect", "nosuch"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such pod"), "{}", r.stderr);
    // --replace takes the old one's place.
    let old = pod_field(&st, "dup", "Id");
    st.ok(&[
        "pod",
        "create",
        "--name",
        "dup",
        "--replace",
        "--network",
        "none",
    ]);
    assert_ne!(pod_field(&st, "dup", "Id"), old);
}

#[test]
fn a_pod_with_exit_policy_stop_stops_when_its_last_container_exits() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--exit-policy",
        "stop",
        "--name",
        "s",
    ]);
    assert_eq!(pod_field(&st, "s", "ExitPolicy"), "stop");
    st.ok(&["run", "--pod", "s", IMG, "true"]);
    wait_for("the pod to stop", || {
        pod_field(&st, "s", "State") == "Exited"
    });
    st.ok(&["pod", "create", "--network", "none", "--name", "c"]);
    st.ok(&["run", "--pod", "c", IMG, "true"]);
    assert_eq!(pod_field(&st, "c", "State"), "Degraded");
}

#[test]
fn pod_ps_lists_and_filters() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "a",
        "--label",
        "tier=web",
    ]);
    st.ok(&["pod", "create", "--network", "none", "--name", "b"]);
    let table = st.ok(&["pod", "ps"]).stdout;
    let head: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        head,
        [
            "POD ID",
            "NAME",
            "STATUS",
            "CREATED",
            "INFRA ID",
            "# OF CONTAINERS"
        ]
    );
    assert_eq!(table.lines().count(), 3, "{table}");
    let names = st
        .ok(&[
            "pod",
            "ps",
            "--filter",
            "label=tier=web",
            "--format",
            "{{.Name}} {{.Status}}",
        ])
        .stdout;
    assert_eq!(names, "a Created\n");
    let json = common::json(&st.ok(&["pod", "ps", "--format", "json"]).stdout);
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(
        st.ok(&["pod", "ls", "--noheading", "-q"])
            .stdout
            .lines()
            .count(),
        2
    );
    // Members' columns, filters by member, and podman's sort orders.
    // A name no infra container's (hex) name can contain.
    st.ok(&["create", "--pod", "b", "--name", "member-q", IMG, "true"]);
    let ps = |args: &[&str]| {
        let mut a = vec!["pod", "ps"];
        a.extend_from_slice(args);
        st.ok(&a).stdout
    };
    let t = ps(&["--ctr-names", "--ctr-status", "--filter", "name=b"]);
    let head: Vec<&str> = t.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(head[head.len() - 2..], ["NAMES", "STATUS"], "{t}");
    assert!(
        t.contains("member-q") && t.contains("created,created"),
        "{t}"
    );
    assert_eq!(
        ps(&["--filter", "ctr-names=member-q", "--format", "{{.Name}}"]),
        "b\n"
    );
    assert_eq!(
        ps(&["--filter", "ctr-number=2", "--format", "{{.Name}}"]),
        "b\n"
    );
    assert_eq!(ps(&["--filter", "ctr-status=running", "-q"]), "");
    assert_eq!(ps(&["--sort", "name", "--format", "{{.Name}}"]), "a\nb\n");
    assert_eq!(
        ps(&["--sort", "created", "--format", "{{.Name}}"]),
        "b\na\n"
    );
    assert_eq!(ps(&["--latest", "--format", "{{.Name}}"]), "b\n");
    // The pod created last, whatever the order.
    assert_eq!(
        ps(&["--latest", "--sort", "name", "--format", "{{.Name}}"]),
        "b\n"
    );
    assert_eq!(ps(&["--sort", "number", "--format", "{{.Name}}"]), "a\nb\n");
    let ids = ps(&["--filter", "name=b", "--format", "{{.ContainerIds}}"]);
    assert_eq!(
        ids.trim().split(',').map(str::len).collect::<Vec<_>>(),
        [12, 12]
    );
    let r = st.run(&["pod", "ps", "--sort", "size"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    // The orders it offers are the ones it takes.
    assert_eq!(
        r.stderr,
        "Error: invalid option for --sort, options are: created, id, name, number, or status\n"
    );
    for by in ["created", "id", "name", "number", "status"] {
        st.ok(&["pod", "ps", "--sort", by]);
    }
}

/// `run --pod new:NAME` (which runs from berth's protected copy of itself) makes
/// the pod and its infra container; a pod whose only running container is its
/// infra container goes without --force; a pod that is not there is exit 1.
#[test]
fn run_in_a_new_pod_then_remove_it() {
    let st = TestStore::with_busybox();
    let r = st.ok(&["run", "--rm", "--pod", "new:fresh", IMG, "hostname"]);
    assert_eq!(r.stdout, "fresh\n");
    assert_eq!(
        pod_field(&st, "fresh", "State"),
        "Running",
        "the infra container stopped"
    );
    assert_eq!(st.ok(&["pod", "rm", "fresh"]).stdout.trim().len(), 64);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    let r = st.run(&["pod", "rm", "fresh"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(st.ok(&["pod", "rm", "--ignore", "fresh"]).stdout, "");
}

/// `--pod new:NAME --hostname H`: the new pod takes the hostname, as podman's.
#[test]
fn a_new_pod_takes_its_first_containers_hostname() {
    let st = TestStore::with_busybox();
    let r = st.ok(&[
        "run",
        "--rm",
        "--pod",
        "new:hn",
        "--hostname",
        "foobar",
        IMG,
        "hostname",
    ]);
    assert_eq!(r.stdout, "foobar\n");
    assert_eq!(pod_field(&st, "hn", "Hostname"), "foobar");
    st.ok(&["pod", "rm", "-f", "hn"]);
    assert_eq!(st.ok(&["pod", "rm", "--force", "hn"]).stdout, "");
}

/// `pod logs`: every container's lines, each after its container's ID; `-c` one.
#[test]
fn pod_logs_show_each_containers_lines() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "lg"]);
    let a = st
        .ok(&[
            "run", "-d", "--pod", "lg", "--name", "la", IMG, "echo", "from-a",
        ])
        .stdout;
    let b = st
        .ok(&[
            "run", "-d", "--pod", "lg", "--name", "lb", IMG, "echo", "from-b",
        ])
        .stdout;
    st.ok(&["wait", "la", "lb"]);
    let logs = st.ok(&["pod", "logs", "lg"]).stdout;
    let mut lines: Vec<&str> = logs.lines().collect();
    lines.sort();
    let mut want = vec![
        format!("{} from-a", &a[..12]),
        format!("{} from-b", &b[..12]),
    ];
    want.sort();
    assert_eq!(lines, want);
    assert_eq!(st.ok(&["pod", "logs", "-c", "lb", "lg"]).stdout, "from-b\n");
}

/// `--pod new:NAME` whose container cannot be made leaves no pod behind.
#[test]
fn a_new_pod_goes_when_its_container_cannot_be_made() {
    let st = TestStore::with_busybox();
    let r = st.run(&[
        "create",
        "--pod",
        "new:np",
        "-v",
        "relative:/x:bogus",
        IMG,
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        st.run(&["pod", "exists", "np"]).code,
        1,
        "the new pod stayed"
    );
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// `pod prune` takes the pods none of whose containers runs, and only those.
#[test]
fn pod_prune_takes_only_stopped_pods() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "up"]);
    st.ok(&["run", "-d", "--pod", "up", IMG, "sleep", "1000"]);
    let idle = st
        .ok(&["pod", "create", "--network", "none", "--name", "idle"])
        .stdout;
    let out = st.ok(&["pod", "prune", "-f"]).stdout;
    assert_eq!(out, idle);
    assert_eq!(st.run(&["pod", "exists", "idle"]).code, 1);
    assert_eq!(st.run(&["pod", "exists", "up"]).code, 0);
}

/// A pod's members see its /etc/hosts, resolv.conf and hostname (the pod's
/// `--add-host`, `--dns`, `--hostname`), each member's name added; network
/// flags on a member are refused, as podman refuses them.
#[test]
fn members_see_the_pods_hosts_resolv_conf_and_hostname() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "nf",
        "--hostname",
        "podhost",
        "--add-host",
        "foo.example:10.1.2.3",
        "--dns",
        "10.9.9.9",
    ]);
    st.ok(&[
        "run", "-d", "--pod", "nf", "--name", "first", IMG, "sleep", "1000",
    ]);
    let show = "cat /etc/hosts; cat /etc/resolv.conf; echo host=$(cat /etc/hostname)";
    let out = st
        .ok(&[
            "run", "--rm", "--pod", "nf", "--name", "second", IMG, "sh", "-c", show,
        ])
        .stdout;
    assert!(out.contains("10.1.2.3\tfoo.example\n"), "{out}");
    assert!(out.contains("nameserver 10.9.9.9\n"), "{out}");
    assert!(out.contains("host=podhost\n"), "{out}");
    // Each member's name on 127.0.0.1 (the pod's hostname is there already).
    assert!(out.contains("127.0.0.1\tfirst\n"), "{out}");
    assert!(out.contains("127.0.0.1\tsecond\n"), "{out}");
    // A member that stopped is no longer in them.
    let later = st
        .ok(&["run", "--rm", "--pod", "nf", IMG, "cat", "/etc/hosts"])
        .stdout;
    assert!(
        later.contains("127.0.0.1\tfirst\n") && !later.contains("second"),
        "{later}"
    );
    for (flag, value, why) in [
        (
            "--add-host",
            "x:1.2.3.4",
            "extra host entries must be specified on the pod",
        ),
        (
            "--network",
            "bridge",
            "networks must be defined when the pod is created",
        ),
        (
            "-p",
            "127.0.0.1:8080:80",
            "published or exposed ports must be defined",
        ),
    ] {
        let r = st.run(&["create", "--pod", "nf", flag, value, IMG, "true"]);
        assert_eq!(r.code, 125, "{flag}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{flag}: {}", r.stderr);
    }
    // A pod `--pod new:` made goes again when the engine refuses the container.
    let r = st.run(&[
        "create",
        "--pod",
        "new:np2",
        "--volumes-from",
        "nosuch",
        IMG,
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        st.run(&["pod", "exists", "np2"]).code,
        1,
        "the new pod stayed"
    );
}

/// `pod kill` judges the signal before it looks for the pod, as podman does.
#[test]
fn pod_kill_refuses_a_bad_signal_first() {
    let st = TestStore::with_busybox();
    for s in ["0", "SIGBADSIG", "%%"] {
        let r = st.run(&["pod", "kill", "-s", s, "nosuchpod"]);
        assert_eq!(r.code, 125);
        assert_eq!(r.stderr, format!("Error: invalid signal: {s}\n"));
    }
}

#[test]
fn pod_stats_show_the_running_members_of_pods() {
    let st = TestStore::with_busybox();
    let pod = st
        .ok(&["pod", "create", "--network", "none", "--name", "ps1"])
        .stdout;
    st.ok(&[
        "run", "-d", "--pod", "ps1", "--name", "m1", IMG, "sleep", "1000",
    ]);
    st.ok(&["create", "--pod", "ps1", "--name", "idle", IMG, "true"]);
    let r = st.ok(&[
        "pod",
        "stats",
        "--no-stream",
        "--format",
        "{{.Pod}} {{.Name}} {{.PIDS}}",
        "ps1",
    ]);
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    let short = &pod.trim()[..12];
    assert_eq!(
        lines,
        [format!("{short} {short}-infra 1"), format!("{short} m1 1")],
        "{}",
        r.stdout
    );
    let table = st.ok(&["pod", "stats", "--no-stream"]).stdout;
    assert!(table.starts_with("POD  "), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    let r = st.run(&["pod", "stats", "--no-stream", "nosuchpod"]);
    assert_eq!(r.code, 125);
    st.ok(&["pod", "rm", "-f", "-t", "0", "ps1"]);
}

/// The cgroup file of a controller in whichever hierarchy this host has.
fn cgroup_file(path: &str, v1: &str, v2: &str) -> Option<String> {
    let v1 = format!(
        "/sys/fs/cgroup/{}{path}/{v1}",
        v1.split('.').next().unwrap()
    );
    let v2 = format!("/sys/fs/cgroup{path}/{v2}");
    std::fs::read_to_string(v1)
        .or_else(|_| std::fs::read_to_string(v2))
        .ok()
        .map(|s| s.trim().to_string())
}

/// `pod create --cpus/--memory`: the pod has a cgroup with those limits, its
/// containers' cgroups nest under it (so together they cannot use more), and it
/// goes with the pod.
#[test]
fn a_pods_limits_hold_for_its_containers_together() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "lim",
        "--cpus",
        "0.5",
        "--memory",
        "64m",
    ]);
    let path = pod_field(&st, "lim", "CgroupPath");
    let pod_id = pod_field(&st, "lim", "Id");
    assert!(path.ends_with(&pod_id), "{path}");
    assert_eq!(pod_field(&st, "lim", "memory_limit"), "67108864");
    assert_eq!(pod_field(&st, "lim", "cpu_quota"), "50000");
    let mem = cgroup_file(&path, "memory.limit_in_bytes", "memory.max");
    assert_eq!(mem.as_deref(), Some("67108864"));
    let quota = cgroup_file(&path, "cpu.cfs_quota_us", "cpu.max");
    assert!(
        quota.as_deref().is_some_and(|q| q.starts_with("50000")),
        "{quota:?}"
    );
    // As after a reboot, the pod's cgroup is gone: a member's start makes it
    // again, limits and all.
    let mut dirs = vec![std::path::PathBuf::from(format!("/sys/fs/cgroup{path}"))];
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        dirs.push(h.path().join(path.trim_start_matches('/')));
    }
    for d in dirs.iter().filter(|d| d.is_dir()) {
        std::fs::remove_dir(d).unwrap();
    }
    assert_eq!(
        cgroup_file(&path, "memory.limit_in_bytes", "memory.max"),
        None
    );
    let id = st
        .ok(&["run", "-d", "--pod", "lim", IMG, "sleep", "600"])
        .stdout;
    let own = st
        .ok(&["exec", id.trim(), "cat", "/proc/self/cgroup"])
        .stdout;
    // With its own cgroup namespace the container sees its cgroup as its root;
    // the host sees it under the pod's.
    let pid = st.inspect(id.trim(), ".State.Pid");
    let host_view = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(
        cgroup_file(&path, "memory.limit_in_bytes", "memory.max").as_deref(),
        Some("67108864")
    );
    assert!(
        host_view.contains(&format!("{path}/{}", id.trim())),
        "{host_view}\n(container's own view: {own})"
    );
    // Alone within its 64 MiB, a member that holds 200 MiB is killed.
    let r = st.run(&[
        "run",
        "--rm",
        "--pod",
        "lim",
        IMG,
        "sh",
        "-c",
        "head -c 200m /dev/zero | tail",
    ]);
    assert_eq!(r.code, 137, "{}", r.stderr);
    st.ok(&["pod", "rm", "-f", "-t", "0", "lim"]);
    assert_eq!(
        cgroup_file(&path, "memory.limit_in_bytes", "memory.max"),
        None
    );
    // A parent named as systemd names slices, relative: from the root.
    // The parent is the caller's to remove, as podman leaves it: after the pod
    // (the test store's clean-up), passed or failed.
    struct Parent(String);
    impl Drop for Parent {
        fn drop(&mut self) {
            let root = std::path::PathBuf::from("/sys/fs/cgroup");
            let hierarchies = std::fs::read_dir(&root).into_iter().flatten().flatten();
            for h in hierarchies.map(|h| h.path()).chain([root.clone()]) {
                let d = h.join(&self.0);
                // Children first: a pod a failed test left.
                for c in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let _ = std::fs::remove_dir(c.path());
                }
                let _ = std::fs::remove_dir(d);
            }
        }
    }
    let slice = format!("berth-test-{}.slice", std::process::id());
    let _parent = Parent(slice.clone());
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "sl",
        "--cgroup-parent",
        &slice,
    ]);
    let path = pod_field(&st, "sl", "CgroupPath");
    assert_eq!(path, format!("/{slice}/{}", pod_field(&st, "sl", "Id")));
    assert_eq!(pod_field(&st, "sl", "CgroupParent"), format!("/{slice}"));
    st.ok(&["pod", "rm", "-f", "-t", "0", "sl"]);
}

/// `pod clone`: a new pod made as the original was (limits, shared namespaces),
/// with a clone of each container (new anonymous volumes of its own), named
/// NAME-clone; `--start` starts it, `--destroy` removes the original.
#[test]
fn a_pod_clone_is_made_as_the_original_and_runs_beside_it() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--name",
        "orig",
        "--memory",
        "64m",
    ]);
    st.ok(&[
        "run",
        "-d",
        "--pod",
        "orig",
        "--name",
        "app",
        "-e",
        "GREETING=hi",
        "-v",
        "/data",
        IMG,
        "sleep",
        "600",
    ]);
    let clone_id = st.ok(&["pod", "clone", "--start", "orig"]).stdout;
    assert_eq!(pod_field(&st, clone_id.trim(), "Name"), "orig-clone");
    assert_eq!(pod_field(&st, "orig-clone", "State"), "Running");
    assert_eq!(pod_field(&st, "orig-clone", "Hostname"), "orig-clone");
    assert_eq!(pod_field(&st, "orig-clone", "memory_limit"), "67108864");
    assert_eq!(pod_field(&st, "orig-clone", "NumContainers"), "2");
    // The member's clone runs in the new pod, with the same settings and a
    // volume of its own.
    assert_eq!(st.inspect("app-clone", ".State.Status"), "running");
    assert_eq!(st.inspect("app-clone", ".Pod"), clone_id.trim());
    let env = st
        .ok(&["exec", "app-clone", "sh", "-c", "echo $GREETING; hostname"])
        .stdout;
    assert_eq!(env, "hi\norig-clone\n");
    let vol = |c: &str| st.inspect(c, "(index .Mounts 0).Name");
    assert_ne!(vol("app"), vol("app-clone"));
    // A second clone, renamed with other limits, replaces the original.
    let id = st
        .ok(&[
            "pod",
            "clone",
            "--destroy",
            "--memory",
            "32m",
            "--name",
            "second",
            "orig",
        ])
        .stdout;
    assert_eq!(pod_field(&st, id.trim(), "memory_limit"), "33554432");
    assert_eq!(pod_field(&st, "second", "State"), "Created");
    assert_eq!(st.run(&["pod", "exists", "orig"]).code, 1);
    assert_eq!(st.run(&["container", "exists", "app"]).code, 1);
    st.ok(&["pod", "rm", "-af", "-t", "0"]);
}

/// `container clone`: the same configuration under NAME-clone (or the name
/// given), created, or started with `--run`; `--destroy` removes the original.
#[test]
fn a_container_clone_keeps_the_configuration() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "c1",
        "-e",
        "K=v",
        "--memory",
        "64m",
        IMG,
        "sh",
        "-c",
        "echo $K; sleep 600",
    ]);
    let id = st.ok(&["container", "clone", "--run", "c1"]).stdout;
    assert_eq!(st.inspect(id.trim(), ".Name"), "c1-clone");
    assert_eq!(st.inspect("c1-clone", ".State.Status"), "running");
    assert_eq!(st.inspect("c1-clone", ".HostConfig.Memory"), "67108864");
    assert_eq!(st.inspect("c1", ".State.Status"), "created");
    wait_for("the clone's output", || {
        st.ok(&["logs", "c1-clone"]).stdout == "v\n"
    });
    st.ok(&[
        "container",
        "clone",
        "--destroy",
        "--cpus",
        "0.5",
        "c1",
        "c2",
    ]);
    assert_eq!(st.inspect("c2", ".HostConfig.NanoCpus"), "500000000");
    assert_eq!(st.run(&["container", "exists", "c1"]).code, 1);
    // A running original is not destroyed without --force, and then no clone
    // is made either.
    let r = st.run(&["container", "clone", "--destroy", "c1-clone", "c3"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("running"), "{}", r.stderr);
    assert_eq!(st.run(&["container", "exists", "c3"]).code, 1);
    st.ok(&[
        "container",
        "clone",
        "--destroy",
        "--force",
        "c1-clone",
        "c3",
    ]);
    assert_eq!(st.run(&["container", "exists", "c1-clone"]).code, 1);
    // Unknown: podman's words, 125.
    let r = st.run(&["container", "clone", "nosuch"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such container"), "{}", r.stderr);
}

/// `pod create --userns`: the host's namespace as root; podman's words for
/// the rootless-only modes, and no pod made.
#[test]
fn pod_userns_is_the_hosts_as_root() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--network",
        "none",
        "--userns",
        "host",
        "--name",
        "u",
    ]);
    let r = st.run(&[
        "pod",
        "create",
        "--network",
        "none",
        "--userns",
        "keep-id",
        "--name",
        "k",
    ]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr,
        "Error: keep-id is only supported in rootless mode\n"
    );
    assert_eq!(st.run(&["pod", "exists", "k"]).code, 1);
}

/// `rmi` of an image a container uses: podman's words and exit code 2, several
/// errors as one; `rmi -f` of the infra image takes the pod with its
/// containers; names are untagged before images are deleted.
#[test]
fn rmi_of_images_pods_use() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--pod", "new:rp", "--name", "m", IMG, "true"]);
    let infra = pod_field(&st, "rp", "InfraContainerID");
    let pause = st.inspect(&infra, ".ImageName");
    let r = st.run(&["rmi", &pause]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "Error: image used by {infra}: image is in use by a container: consider listing external containers and force-removing image\n"
        )
    );
    let r = st.run(&["rmi", IMG, &pause]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("Error: 2 errors occurred:\n\t* image used by "),
        "{}",
        r.stderr
    );
    let out = st.ok(&["rmi", "-f", &pause]).stdout;
    assert!(
        out.starts_with(&format!("Untagged: {pause}\nDeleted: ")),
        "{out}"
    );
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
    st.ok(&["image", "exists", IMG]);
}

/// `pod create --uidmap` (as root): the infra container makes the pod's user
/// namespace and every member joins it, its own root mapped the same way, so
/// members see the image's owners and each other's processes' IDs alike.
#[test]
fn a_pod_with_its_own_id_map_puts_every_member_in_one_user_namespace() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "pod",
        "create",
        "--name",
        "mp",
        "--network",
        "none",
        "--uidmap",
        "0:200000:65536",
    ]);
    st.ok(&[
        "run",
        "-d",
        "--pod",
        "mp",
        "--name",
        "m1",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    st.ok(&[
        "run",
        "-d",
        "--pod",
        "mp",
        "--name",
        "m2",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let infra = pod_field(&st, "mp", "InfraContainerID");
    assert_eq!(
        st.inspect(&infra, ".HostConfig.IDMappings.UIDMap"),
        "[0:200000:65536]"
    );
    let ns = |name: &str| {
        let pid = st.inspect(name, ".State.Pid");
        std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap()
    };
    let own = std::fs::read_link("/proc/self/ns/user").unwrap();
    assert_ne!(
        ns(&infra),
        own,
        "the infra has no user namespace of its own"
    );
    assert_eq!(ns("m1"), ns(&infra));
    assert_eq!(ns("m2"), ns(&infra));
    let inside = st.ok(&[
        "exec",
        "m1",
        "sh",
        "-c",
        "cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; touch /made && stat -c %u /made",
    ]);
    let words: Vec<&str> = inside.stdout.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "200000", "65536", "0:0", "0"],
        "{}",
        inside.stdout
    );
    // A member with a map of its own would not share the pod's.
    let r = st.run(&[
        "create",
        "--pod",
        "mp",
        "--uidmap",
        "0:300000:1000",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("user namespace"), "{}", r.stderr);
    // keep-id is a rootless user's, for pods as for containers.
    let r = st.run(&["pod", "create", "--userns", "keep-id"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("keep-id is only supported in rootless mode"),
        "{}",
        r.stderr
    );
    st.ok(&["pod", "rm", "-f", "-t", "0", "mp"]);
    assert!(
        !std::path::Path::new("/run/berth-userns")
            .join(&infra)
            .exists()
    );
}

/// `container prune` takes the stopped containers outside pods and leaves a
/// pod's (its infra container and its members), as podman's does, instead of
/// stopping at the first infra container.
#[test]
fn container_prune_leaves_pods_containers() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "pz"]);
    st.ok(&["create", "--pod", "pz", "--name", "member", IMG, "true"]);
    let solo = st.ok(&["create", "--network", "none", "--name", "solo", IMG, "true"]);
    let pruned = st.ok(&["container", "prune", "-f"]);
    assert_eq!(pruned.stdout, solo.stdout);
    let left = st.ok(&["ps", "-a", "--format", "{{.Names}}", "--filter", "pod=pz"]);
    let mut left: Vec<&str> = left.stdout.lines().collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"member"), "{left:?}");
    assert_eq!(st.run(&["container", "exists", "solo"]).code, 1);
}

/// podman's `pod start` answers 125 when a member cannot start, whatever the
/// member's own reason (run's 126/127).
#[test]
fn pod_start_of_a_member_that_cannot_start_is_125() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "ps1"]);
    st.ok(&["create", "--pod", "ps1", IMG, "no-such-command"]);
    let r = st.run(&["pod", "start", "ps1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-command"), "{}", r.stderr);
    st.ok(&["pod", "rm", "-f", "-t", "0", "ps1"]);
}

/// `pod ps -q` prints whole IDs, as podman's does (its table cuts them).
#[test]
fn pod_ps_quiet_prints_whole_ids() {
    let st = TestStore::with_busybox();
    let id = st
        .ok(&["pod", "create", "--infra=false", "--name", "q"])
        .stdout;
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, id);
    let table = st.ok(&["pod", "ps", "--format", "{{.ID}}"]).stdout;
    assert_eq!(table.trim(), &id[..12]);
    st.ok(&["pod", "rm", "q"]);
}
