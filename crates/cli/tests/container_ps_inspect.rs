//! Looking at containers: the fields ps and inspect show, ps --filter and
//! --sort, -a on pause/unpause/stop, stats, info, and system prune.

mod common;

use common::store::TestStore;
use common::*;

#[test]
fn all_flags_short_hostname_volumes_and_more_fields() {
    let st = TestStore::with_busybox();
    for n in ["a1", "a2"] {
        st.ok(&[
            "run",
            "-d",
            "--name",
            n,
            "-h",
            "shorthost",
            "-l",
            "tier=web",
            "-m",
            "64m",
            "--stop-signal",
            "INT",
            "localhost/bb:1",
            "sleep",
            "1000",
        ]);
    }
    st.ok(&["create", "--name", "c1", "localhost/bb:1", "true"]);
    assert_eq!(st.ok(&["exec", "a1", "hostname"]).stdout, "shorthost\n");
    // inspect and ps show what podman's do.
    assert_eq!(st.inspect("a1", ".Config.Labels.tier"), "web");
    assert_eq!(st.inspect("a1", ".Config.StopSignal"), "2");
    assert_eq!(st.inspect("a1", ".HostConfig.Memory"), "67108864");
    assert_eq!(st.inspect("a1", "json .Config.Cmd"), r#"["sleep","1000"]"#);
    let r = st.ok(&[
        "ps",
        "--format",
        "{{.Names}} {{.Command}} {{.Labels.tier}} {{.RunningFor}}",
    ]);
    assert!(r.stdout.contains("a1 sleep 1000 web "), "{}", r.stdout);
    // -a on pause/unpause/stop/kill picks the containers in the right state.
    let r = st.ok(&["pause", "-a"]);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert_eq!(st.inspect("a2", ".State.Status"), "paused");
    st.ok(&["unpause", "--all"]);
    assert_eq!(st.inspect("a2", ".State.Status"), "running");
    st.ok(&["stop", "-a", "-t", "0"]);
    assert_eq!(st.inspect("a1", ".State.Status"), "exited");
    assert_eq!(st.inspect("c1", ".State.Status"), "created");
    // rm with nothing to remove is an error, not a silent success.
    let r = st.run(&["rm"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["rm", "-a"]);
    // Volumes: a name is made up when none is given; one that exists is refused.
    let name = st.ok(&["volume", "create"]).stdout.trim().to_string();
    assert_eq!(name.len(), 64, "{name}");
    st.ok(&["volume", "create", "dup"]);
    let r = st.run(&["volume", "create", "dup"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    st.ok(&["volume", "create", "--ignore", "dup"]);
}

#[test]
fn ps_filters_and_sorts() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "b-created",
        "--label",
        "tier=web",
        "-v",
        "vol1:/data",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(
        st.run(&[
            "run",
            "--name",
            "a-exited",
            "localhost/bb:1",
            "sh",
            "-c",
            "exit 3"
        ])
        .code,
        3
    );
    st.ok(&[
        "run",
        "-d",
        "--name",
        "c-running",
        "--label",
        "tier=db",
        "--health-cmd",
        "true",
        "--health-interval",
        "1h",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let names = |args: &[&str]| {
        let mut full = vec!["ps", "--format", "{{.Names}}"];
        full.extend_from_slice(args);
        st.ok(&full)
            .stdout
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&[]), ["c-running"]);
    assert_eq!(
        names(&["-a"]),
        ["b-created", "a-exited", "c-running"],
        "oldest first, as podman lists them"
    );
    // The last two made, still oldest first.
    assert_eq!(names(&["-a", "-n", "2"]), ["a-exited", "c-running"]);
    assert_eq!(
        names(&["-a", "--sort", "names"]),
        ["a-exited", "b-created", "c-running"]
    );
    assert_eq!(names(&["--filter", "status=exited"]), ["a-exited"]);
    assert_eq!(names(&["--filter", "exited=3"]), ["a-exited"]);
    assert_eq!(
        names(&["-a", "--filter", "label=tier"]),
        ["b-created", "c-running"]
    );
    assert_eq!(names(&["-a", "--filter", "label=tier=web"]), ["b-created"]);
    assert_eq!(
        names(&["-a", "--filter", "name=created", "--filter", "name=exited"]),
        ["b-created", "a-exited"]
    );
    assert_eq!(
        names(&["-a", "--filter", "ancestor=localhost/bb:1"]).len(),
        3
    );
    assert_eq!(st.run(&["ps", "--filter", "color=red"]).code, 125);
    let r = st.run(&["ps", "--filter", "status=bogus"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            125,
            "Error: unknown container state: bogus: invalid argument\n"
        )
    );
    assert_eq!(st.run(&["ps", "--sort", "colour"]).code, 125);
    // name= and id= are regular expressions, as podman's.
    assert_eq!(
        names(&["-a", "--filter", "name=^c-running$"]),
        ["c-running"]
    );
    assert_eq!(
        names(&["-a", "--filter", "name=-(created|exited)$"]),
        ["b-created", "a-exited"]
    );
    assert_eq!(
        names(&["-a", "--filter", "name=^running"]),
        Vec::<String>::new()
    );
    let id = st.inspect("a-exited", ".Id");
    let id_re = format!("id=^{}", &id[..6]);
    assert_eq!(names(&["-a", "--filter", &id_re]), ["a-exited"]);
    // Created before or after another container, or before a moment.
    assert_eq!(
        names(&["-a", "--filter", "before=c-running"]),
        ["b-created", "a-exited"]
    );
    assert_eq!(
        names(&["-a", "--filter", "since=b-created"]),
        ["a-exited", "c-running"]
    );
    assert_eq!(names(&["-a", "--filter", "until=4102444800"]).len(), 3);
    assert_eq!(names(&["-a", "--filter", "until=1"]), Vec::<String>::new());
    let r = st.run(&["ps", "--filter", "before=nothing-such"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such container"), "{}", r.stderr);
    // A volume by name, at a destination or anywhere.
    assert_eq!(names(&["-a", "--filter", "volume=vol1"]), ["b-created"]);
    assert_eq!(
        names(&["-a", "--filter", "volume=vol1:/data"]),
        ["b-created"]
    );
    assert_eq!(
        names(&["-a", "--filter", "volume=vol1:/x"]),
        Vec::<String>::new()
    );
    // health= after a check has run.
    st.ok(&["healthcheck", "run", "c-running"]);
    assert_eq!(names(&["--filter", "health=healthy"]), ["c-running"]);
    assert_eq!(
        names(&["--filter", "health=unhealthy"]),
        Vec::<String>::new()
    );
    // network=container:NAME: the containers joining its network namespace.
    st.ok(&[
        "create",
        "--name",
        "d-joined",
        "--network",
        "container:c-running",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(
        names(&["-a", "--filter", "network=container:c-running"]),
        ["d-joined"]
    );
    st.ok(&["rm", "-f", "-t", "0", "d-joined", "c-running"]);
}

#[test]
fn stats_info_and_system_prune() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "localhost/bb:1",
        "sh",
        "-c",
        "sleep 1000 & sleep 1000",
    ]);
    // The shell forks its first sleep on its own schedule.
    let stats = || json(&st.ok(&["stats", "--no-stream", "--format", "json"]).stdout);
    // podman's JSON: every figure a string, decimal units.
    let pids = |v: &serde_json::Value| v[0]["pids"].as_str().and_then(|p| p.parse::<u64>().ok());
    wait_for("both processes", || pids(&stats()).unwrap_or(0) >= 2);
    let v = stats();
    let s = &v[0];
    assert_eq!(s["name"], "busy");
    assert_eq!(s["id"].as_str().map(str::len), Some(12), "{s}");
    assert!(
        s["mem_usage"].as_str().unwrap().ends_with(" / 67.11MB"),
        "{s}"
    );
    assert!(s["cpu_percent"].as_str().unwrap().ends_with('%'), "{s}");
    for key in ["cpu_time", "avg_cpu", "mem_percent", "net_io", "block_io"] {
        assert!(s[key].is_string(), "{key}: {s}");
    }
    let table = st.ok(&["stats", "--no-stream"]).stdout;
    assert!(table.starts_with("ID") && table.contains("busy"), "{table}");
    // --no-trunc: the whole ID, in the table and in templates.
    let id = st.inspect("busy", ".Id");
    let ids = |extra: &[&str]| {
        let args = [&["stats", "--no-stream", "--format", "{{.ID}}"], extra].concat();
        st.ok(&args).stdout.trim().to_string()
    };
    assert_eq!(ids(&[]), id[..12]);
    assert_eq!(ids(&["--no-trunc"]), id);
    let table = st.ok(&["stats", "--no-stream", "--no-trunc"]).stdout;
    assert!(table.contains(&format!("{id}  busy")), "{table}");
    // podman's template names.
    let r = st.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}} {{.MemUsageBytes}}",
    ]);
    assert!(
        r.stdout.starts_with("busy ")
            && r.stdout.contains(" / 67.11MB ")
            && r.stdout.ends_with(" / 64MiB\n"),
        "{}",
        r.stdout
    );
    // A table of them is headed as podman heads it.
    let r = st.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "table {{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}} {{.NetIO}} {{.BlockIO}}",
    ]);
    let head: Vec<&str> = r
        .stdout
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        head,
        [
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "PIDS",
            "NET IO",
            "BLOCK IO"
        ]
    );
    // Without --no-stream: a table per interval while the container runs,
    // and the end once it has stopped.
    st.ok(&[
        "run",
        "-d",
        "--name",
        "short",
        "localhost/bb:1",
        "sleep",
        "4",
    ]);
    let r = st.ok(&["stats", "--format", "{{.Name}}", "short"]);
    let frames = r.stdout.lines().filter(|l| *l == "short").count();
    assert!(frames >= 2, "{}", r.stdout);
    let info = json(&st.ok(&["info", "--format", "json"]).stdout);
    assert_eq!(info["store"]["containerStore"]["running"], 1);
    assert_eq!(info["store"]["graphDriverName"], "overlay");
    assert!(st.ok(&["info"]).stdout.contains("graphRoot: "));
    // system prune: stopped containers and dangling images go, running ones stay.
    st.ok(&["create", "--name", "idle", "localhost/bb:1", "true"]);
    st.ok(&["volume", "create", "spare"]);
    let r = st.ok(&["system", "prune", "-f", "--volumes"]).stdout;
    assert!(
        r.contains("Deleted Containers") && r.contains("spare"),
        "{r}"
    );
    assert_eq!(st.run(&["container", "exists", "idle"]).code, 1);
    assert_eq!(st.run(&["container", "exists", "busy"]).code, 0);
    assert_eq!(st.run(&["image", "exists", "localhost/bb:1"]).code, 0);
}

/// `.Config.User` is the image's USER when no --user was given, as podman shows it.
#[test]
fn inspect_shows_the_images_user() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "base", "localhost/bb:1", "true"]);
    st.ok(&[
        "commit",
        "-q",
        "--change",
        "USER 1000",
        "base",
        "localhost/user:1",
    ]);
    st.ok(&["create", "--name", "u", "localhost/user:1", "true"]);
    st.ok(&[
        "create",
        "--name",
        "v",
        "--user",
        "0",
        "localhost/user:1",
        "true",
    ]);
    assert_eq!(st.inspect("u", ".Config.User"), "1000");
    assert_eq!(st.inspect("v", ".Config.User"), "0");
}

#[test]
fn inspect_size_counts_what_the_container_wrote() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "--name",
        "writer",
        "localhost/bb:1",
        "dd",
        "if=/dev/zero",
        "of=/blob",
        "bs=1024",
        "count=300",
    ]);
    // Without --size, no sizes, as podman's (omitempty).
    let plain = st.ok(&["inspect", "writer"]).stdout;
    assert!(!plain.contains("SizeRw"), "{plain}");
    for args in [&["inspect", "--size"][..], &["container", "inspect", "-s"]] {
        let f = ["--format", "{{.SizeRw}} {{.SizeRootFs}}", "writer"];
        let out = st.ok(&[args, &f[..]].concat()).stdout;
        let n: Vec<u64> = out.split_whitespace().map(|n| n.parse().unwrap()).collect();
        assert!(n[0] >= 300 * 1024, "{args:?}: {out}");
        // The root: that and the image's layers.
        assert!(n[1] > n[0] + 1_000_000, "{args:?}: {out}");
    }
    st.ok(&["rm", "writer"]);
}

/// inspect's HostConfig says what was asked (ports, DNS, hosts, namespaces,
/// /dev/shm, tmpfs, devices) and NetworkSettings.Ports what a created
/// container will publish, as podman 4.3's inspect shows them; /dev/shm is
/// podman's default size.
#[test]
fn host_config_shows_what_was_asked() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "hc",
        "-p",
        "127.0.0.1:18081:80",
        "-p",
        "18082:80",
        "--dns",
        "10.0.0.53",
        "--add-host",
        "h1:10.9.8.7",
        "--tmpfs",
        "/t:size=1m",
        "--device",
        "/dev/fuse",
        "--pid",
        "host",
        "localhost/bb:1",
        "true",
    ]);
    let bindings = r#"{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18081"},{"HostIp":"","HostPort":"18082"}]}"#;
    assert_eq!(st.inspect("hc", "json .HostConfig.PortBindings"), bindings);
    assert_eq!(st.inspect("hc", "json .NetworkSettings.Ports"), bindings);
    let fields = "{{.HostConfig.Dns}} {{.HostConfig.ExtraHosts}} {{.HostConfig.IpcMode}} \
                  {{.HostConfig.PidMode}} {{.HostConfig.UTSMode}} {{.HostConfig.ShmSize}} \
                  {{json .HostConfig.Tmpfs}} {{json .HostConfig.Devices}}";
    let got = st.ok(&["inspect", "--format", fields, "hc"]).stdout;
    assert_eq!(
        got.trim(),
        r#"[10.0.0.53] [h1:10.9.8.7] shareable host private 65536000 {"/t":"size=1m"} [{"PathOnHost":"/dev/fuse","PathInContainer":"/dev/fuse","CgroupPermissions":"rwm"}]"#
    );
    let shm = st
        .ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/bb:1",
            "df",
            "-k",
            "/dev/shm",
        ])
        .stdout;
    let size = shm.lines().last().and_then(|l| l.split_whitespace().nth(1));
    assert_eq!(size, Some("64000"), "{shm}");
    st.ok(&["rm", "hc"]);
}

/// `ps --format json` as podman prints it, as scripts read it with jq:
/// ports as records, null labels and ports when there are none, Go's zero
/// time for what has not happened, the table's status, the pod's full ID.
#[test]
fn ps_json_has_podmans_shape() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "p",
        "-p",
        "127.0.0.1:18099:80/udp",
        "--label",
        "k=v",
        "localhost/bb:1",
    ]);
    st.ok(&[
        "create",
        "--name",
        "bare",
        "--network",
        "none",
        "localhost/bb:1",
    ]);
    let v = json(&st.ok(&["ps", "-a", "--format", "json"]).stdout);
    let keys: Vec<&str> = v[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "AutoRemove",
            "Command",
            "CreatedAt",
            "Exited",
            "ExitedAt",
            "ExitCode",
            "Id",
            "Image",
            "ImageID",
            "IsInfra",
            "Labels",
            "Mounts",
            "Names",
            "Namespaces",
            "Networks",
            "Pid",
            "Pod",
            "PodName",
            "Ports",
            "Size",
            "StartedAt",
            "State",
            "Status",
            "Created"
        ]
    );
    assert_eq!(
        v[0]["Ports"],
        serde_json::json!([{"host_ip": "127.0.0.1", "container_port": 80, "host_port": 18099, "range": 1, "protocol": "udp"}])
    );
    assert_eq!(v[0]["Labels"], serde_json::json!({"k": "v"}));
    assert_eq!(
        (v[0]["ExitedAt"].as_i64(), v[0]["StartedAt"].as_i64()),
        (Some(-62135596800), Some(-62135596800))
    );
    assert_eq!(v[0]["Status"], "Created");
    assert!(v[0]["CreatedAt"].as_str().unwrap().ends_with(" ago"), "{v}");
    assert!(
        v[1]["Labels"].is_null() && v[1]["Ports"].is_null() && v[1]["Size"].is_null(),
        "{v}"
    );
    let sized = json(&st.ok(&["ps", "-a", "-s", "--format", "json"]).stdout);
    assert!(
        sized[0]["Size"]["rootFsSize"].as_u64().unwrap() > 0,
        "{sized}"
    );
    let t = st.ok(&[
        "ps",
        "-a",
        "--format",
        "{{.Mounts}} {{.RunningFor}}",
        "--filter",
        "name=bare",
    ]);
    assert!(
        t.stdout.starts_with("[] ") && t.stdout.ends_with(" ago\n"),
        "{}",
        t.stdout
    );
}

/// inspect's GraphDriver and generated files name where they are on the
/// host, as podman's do: a file the container writes shows in MergedDir and
/// UpperDir; HostsPath is the /etc/hosts it sees.
#[test]
fn inspect_names_the_containers_layers_and_files_on_the_host() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "g",
        "--network",
        "none",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo hi > /made; sleep 100",
    ]);
    let field = |f: &str| st.inspect("g", f);
    assert_eq!(field(".Driver"), "overlay");
    assert_eq!(field(".GraphDriver.Name"), "overlay");
    let merged = std::path::PathBuf::from(field(".GraphDriver.Data.MergedDir"));
    let upper = std::path::PathBuf::from(field(".GraphDriver.Data.UpperDir"));
    wait_for("the container's file", || upper.join("made").exists());
    assert_eq!(
        std::fs::read_to_string(merged.join("made")).unwrap(),
        "hi\n"
    );
    assert!(field(".GraphDriver.Data.LowerDir").ends_with("/diff"));
    let hosts = std::fs::read_to_string(field(".HostsPath")).unwrap();
    assert_eq!(hosts, st.ok(&["exec", "g", "cat", "/etc/hosts"]).stdout);
    st.ok(&["rm", "-f", "-t", "0", "g"]);
}
