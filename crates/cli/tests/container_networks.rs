//! Bridge networks (netavark and CNI plugins), each in a network namespace of
//! the test's own: published ports, names and aliases through aardvark-dns,
//! network connect/disconnect, ls/exists/prune, and nothing left behind.

mod common;

use std::process::Command;

use common::store::TestStore;
use common::*;

/// A network namespace made for one test (the bridge, its addresses and the
/// iptables rules of published ports live and die with it); berth runs in it
/// through nsenter, which leaves the mount namespace alone.
struct TestNetns {
    name: String,
}

impl TestNetns {
    fn new(tag: &str) -> TestNetns {
        let name = format!("berth-t{}-{tag}", std::process::id());
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        ok(Command::new("ip").args(["netns", "add", &name]));
        ok(Command::new("ip").args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"]));
        TestNetns { name }
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// berth on the store, run inside the namespace.
    fn berth(&self, st: &TestStore, args: &[&str]) -> Run {
        let mut c = st.cmd();
        c.args(args);
        run_cmd(&mut self.wrap(&c))
    }

    /// [`TestNetns::berth`], which must succeed.
    fn berth_ok(&self, st: &TestStore, args: &[&str]) -> Run {
        let r = self.berth(st, args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    }

    /// A command run inside the namespace.
    fn wrap(&self, c: &Command) -> Command {
        let mut n = Command::new("nsenter");
        n.arg(format!("--net={}", self.path()))
            .arg(c.get_program())
            .args(c.get_args());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => n.env(k, v),
                None => n.env_remove(k),
            };
        }
        n
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        // What is still running in it (an aardvark-dns a failed test left).
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn bridge_networks_through_berths_own_backend() {
    bridge_networks_publish_ports_and_resolve_names("berth");
}

#[test]
fn bridge_networks_through_netavark() {
    bridge_networks_publish_ports_and_resolve_names("netavark");
}

#[test]
fn bridge_networks_through_cni_plugins() {
    bridge_networks_publish_ports_and_resolve_names("cni");
}

fn bridge_networks_publish_ports_and_resolve_names(backend: &str) {
    let st = TestStore::with_busybox();
    let ns = TestNetns::new(&backend[..3]);
    let conf = st.dir.path().join("containers.conf");
    std::fs::write(
        &conf,
        format!("[containers]\nnetns = \"none\"\n[network]\nnetwork_backend = \"{backend}\"\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = st.cmd();
        c.env("CONTAINERS_CONF", &conf).args(args);
        run_cmd(&mut ns.wrap(&c))
    };
    let ok = |args: &[&str]| {
        let r = run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    };
    ok(&["network", "create", "--subnet", "10.91.0.0/24", "app"]);
    assert!(ok(&["network", "ls", "-q"]).stdout.contains("app"));
    ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "app",
        "--network-alias",
        "www",
        "-p",
        "127.0.0.1:18080:80",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo hello-web > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
    let ip = ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        "web",
    ])
    .stdout;
    assert!(ip.starts_with("10.91.0."), "{ip}");
    // The host by name, at the gateway; HOSTNAME as podman sets it.
    let r = ok(&[
        "exec",
        "web",
        "sh",
        "-c",
        "grep host.containers.internal /etc/hosts; echo $HOSTNAME",
    ]);
    let id = ok(&["inspect", "--format", "{{.Id}}", "web"]).stdout;
    assert_eq!(
        r.stdout,
        format!("10.91.0.1\thost.containers.internal\n{}\n", &id[..12])
    );
    // Another container on the network reaches it by name.
    let r = ok(&[
        "run",
        "--rm",
        "--network",
        "app",
        "localhost/bb:1",
        "sh",
        "-c",
        "until wget -q -O - http://web/index.html; do sleep 0.05; done; wget -q -O - http://www/index.html",
    ]);
    assert_eq!(r.stdout, "hello-web\nhello-web\n", "by name, then by alias");
    if backend != "cni" {
        // aardvark-dns on the gateway answers for the network's containers.
        let r = ok(&[
            "run",
            "--rm",
            "--network",
            "app",
            "localhost/bb:1",
            "sh",
            "-c",
            "grep -E '^(nameserver|search)' /etc/resolv.conf; nslookup web; nslookup www.dns.podman",
        ]);
        assert!(r.stdout.contains("nameserver 10.91.0.1\n"), "{}", r.stdout);
        assert_eq!(r.stdout.matches("nameserver").count(), 1, "{}", r.stdout);
        assert!(r.stdout.contains("dns.podman"), "{}", r.stdout);
        // Both names answer with web's address: its own and its alias.
        for name in ["web", "www"] {
            let answer = format!("Name:\t{name}.dns.podman\nAddress: {}\n", ip.trim());
            assert!(r.stdout.contains(&answer), "{name}: {}", r.stdout);
        }
        let v = json(&ok(&["network", "inspect", "app"]).stdout);
        assert_eq!(v[0]["dns_enabled"], true, "{v}");
        assert_eq!(v[0]["subnets"][0]["gateway"], "10.91.0.1", "{v}");
    }
    // The published port answers on the namespace's loopback.
    let mut wget = Command::new("/bin/busybox");
    wget.args(["wget", "-q", "-O", "-", "http://127.0.0.1:18080/index.html"]);
    let r = run_cmd(&mut ns.wrap(&wget));
    assert_eq!(r.stdout, "hello-web\n", "{}", r.stderr);
    assert_eq!(ok(&["port", "web"]).stdout, "80/tcp -> 127.0.0.1:18080\n");
    // podman's inspect: a user network's container is in bridge mode, with
    // no restart policy an empty name.
    let modes = ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.NetworkMode}}|{{.HostConfig.RestartPolicy.Name}}",
        "web",
    ]);
    assert_eq!(modes.stdout, "bridge|\n");
    // --all: every running container's, after its short ID.
    let web = ok(&["inspect", "--format", "{{.Id}}", "web"]).stdout;
    let all = ok(&["port", "--all"]).stdout;
    assert_eq!(all, format!("{}\t80/tcp -> 127.0.0.1:18080\n", &web[..12]));
    // A host port left out is chosen, and shown.
    ok(&[
        "run",
        "-d",
        "--name",
        "auto",
        "--network",
        "app",
        "-p",
        "127.0.0.1::80",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo auto > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
    let shown = ok(&["port", "auto"]).stdout;
    let addr = shown
        .trim()
        .strip_prefix("80/tcp -> ")
        .unwrap_or_else(|| panic!("{shown}"))
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    // (httpd may still be starting: a bounded wait for it to answer.)
    let mut wget = Command::new("/bin/busybox");
    wget.args(["sh", "-c"]).arg(format!(
        "for i in $(seq 200); do busybox wget -q -O - http://{addr}/index.html && exit; sleep 0.05; done"
    ));
    let r = run_cmd(&mut ns.wrap(&wget));
    assert_eq!(r.stdout, "auto\n", "{}", r.stderr);
    ok(&["rm", "-f", "auto"]);
    assert!(ok(&["ps"]).stdout.contains("127.0.0.1:18080->80/tcp"));
    // A network in use stays; -p with --network none is dropped with
    // podman's warning, and the container runs.
    assert_eq!(run(&["network", "rm", "app"]).code, 125);
    let r = run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-p",
        "1:1",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Port mappings have been discarded"),
        "{}",
        r.stderr
    );
    // -P publishes what the image exposes (none here) and --expose adds
    // (inside this test's namespace), and joins the bridge.
    let r = ok(&[
        "run",
        "-d",
        "--name",
        "all",
        "-P",
        "--expose",
        "8080",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(r.code, 0);
    let shown = ok(&["port", "all"]).stdout;
    assert!(shown.starts_with("8080/tcp -> 0.0.0.0:"), "{shown}");
    assert_eq!(
        ok(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", "all"])
            .stdout
            .trim(),
        "bridge"
    );
    ok(&["rm", "-f", "all"]);
    // --force takes the containers on the network too.
    assert_eq!(
        ok(&["network", "rm", "--force", "-t", "0", "app"]).stdout,
        "app\n"
    );
    assert_eq!(run(&["container", "exists", "web"]).code, 1);
    let r = run(&["network", "rm", "app"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Error: unable to find network with name or ID app: network not found\n"
    );
    assert_eq!(ok(&["network", "rm", "--force", "app"]).stdout, "");
    // Nothing left: no pinned namespaces, no port rules.
    let pins = st.dir.path().join("run/netns");
    assert_eq!(
        std::fs::read_dir(&pins).map(|d| d.count()).unwrap_or(0),
        0,
        "a namespace pin was left"
    );
    let mut ipt = Command::new("iptables");
    ipt.args(["-t", "nat", "-S"]);
    let rules = run_cmd(&mut ns.wrap(&ipt)).stdout;
    assert!(!rules.contains("18080"), "{rules}");
    // The network's own bridge and rules went with it.
    assert!(!rules.contains("10.91.0.0/24"), "{rules}");
    let mut filter = Command::new("iptables");
    filter.arg("-S");
    let rules = run_cmd(&mut ns.wrap(&filter)).stdout;
    assert!(!rules.contains("10.91.0.0/24"), "{rules}");
    let mut addrs = Command::new("ip");
    addrs.args(["-o", "addr"]);
    let addrs = run_cmd(&mut ns.wrap(&addrs)).stdout;
    assert!(!addrs.contains("10.91.0."), "{addrs}");
    // rm -af in TestStore's Drop must run in the namespace too: nothing is left to it.
    assert_eq!(ok(&["ps", "-a", "-q"]).stdout, "");
    // aardvark-dns left with the last container; nothing runs in the namespace.
    let pids = Command::new("ip")
        .args(["netns", "pids", &ns.name])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pids.stdout).trim(), "");
    // With no netns in containers.conf, root's containers get the default
    // bridge network, as podman's do.
    std::fs::write(
        &conf,
        format!("[network]\nnetwork_backend = \"{backend}\"\n"),
    )
    .unwrap();
    let r = ok(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "ip -4 -o addr show eth0",
    ]);
    assert!(r.stdout.contains("inet 10.89."), "{}", r.stdout);
    let pins = std::fs::read_dir(st.dir.path().join("run/netns")).map(|d| d.count());
    assert_eq!(pins.unwrap_or(0), 0, "a namespace pin was left");
    if backend == "berth" {
        // The network's rules outlive its containers; a flushed firewall
        // (firewalld's reload, iptables -F) gets them back at the next start.
        let nat = || {
            let mut c = Command::new("iptables");
            c.args(["-t", "nat", "-S"]);
            run_cmd(&mut ns.wrap(&c)).stdout
        };
        assert!(nat().contains("-j MASQUERADE"), "{}", nat());
        let mut flush = Command::new("iptables");
        flush.args(["-t", "nat", "-F"]);
        run_cmd(&mut ns.wrap(&flush));
        assert!(!nat().contains("-j MASQUERADE"));
        ok(&["run", "--rm", "localhost/bb:1", "true"]);
        let rules = nat();
        assert!(rules.contains("-j MASQUERADE"), "{rules}");
        assert_eq!(
            rules.matches("-A POSTROUTING -s 10.89.0.0/24").count(),
            1,
            "{rules}"
        );
    }
    if backend != "cni" {
        // --mac-address: a container's, and a pod's for its members.
        let link = |extra: &[&str]| {
            let args = [
                &["run", "--rm"],
                extra,
                &["localhost/bb:1", "ip", "link", "show", "eth0"],
            ];
            ok(&args.concat()).stdout
        };
        let l = link(&["--mac-address", "02:42:AC:11:00:99"]);
        assert!(l.contains("link/ether 02:42:ac:11:00:99 "), "{l}");
        ok(&[
            "pod",
            "create",
            "--name",
            "macpod",
            "--mac-address",
            "0a:58:0a:00:00:07",
        ]);
        let l = link(&["--pod", "macpod"]);
        assert!(l.contains("link/ether 0a:58:0a:00:00:07 "), "{l}");
        let r = run(&[
            "run",
            "--rm",
            "--pod",
            "macpod",
            "--mac-address",
            "0a:58:0a:00:00:08",
            "localhost/bb:1",
            "true",
        ]);
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert!(r.stderr.contains("must be set on the pod"), "{}", r.stderr);
        ok(&["pod", "rm", "-f", "-t", "0", "macpod"]);
        let r = run(&[
            "run",
            "--rm",
            "--mac-address",
            "01:00:5e:00:00:01",
            "localhost/bb:1",
            "true",
        ]);
        assert_eq!(r.code, 125, "{}", r.stderr);
    }
}

#[test]
fn network_connect_and_disconnect() {
    let st = TestStore::with_busybox();
    let ns = TestNetns::new("conn");
    let run = |args: &[&str]| ns.berth(&st, args);
    let ok = |args: &[&str]| ns.berth_ok(&st, args);
    ok(&["network", "create", "--subnet", "10.92.0.0/24", "front"]);
    ok(&["network", "create", "--subnet", "10.93.0.0/24", "back"]);
    ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "back",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo from-db > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
    ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "front",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    // Not connected yet: app does not know db, nor db app.
    assert!(
        !ok(&["exec", "db", "cat", "/etc/hosts"])
            .stdout
            .contains("\tapp")
    );
    assert!(
        !ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    let r = run(&[
        "exec",
        "app",
        "wget",
        "-q",
        "-T",
        "1",
        "-O",
        "-",
        "http://db/index.html",
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    ok(&["network", "connect", "back", "app"]);
    let r = ok(&[
        "exec",
        "app",
        "sh",
        "-c",
        "ip -4 -o addr show eth1; for i in $(seq 200); do wget -q -O - http://db/index.html && break; sleep 0.05; done",
    ]);
    assert!(r.stdout.contains("10.93.0."), "{}", r.stdout);
    assert!(r.stdout.ends_with("from-db\n"), "{}", r.stdout);
    // ps --filter network=: the containers on it, connected ones too.
    let on = |net: &str| {
        let f = format!("network={net}");
        ok(&["ps", "--filter", &f, "--format", "{{.Names}}"]).stdout
    };
    // Oldest first, as podman lists them.
    assert_eq!(on("back"), "db\napp\n");
    assert_eq!(on("front"), "app\n");
    // Twice is an error; a network the container is not on cannot be left.
    assert_eq!(run(&["network", "connect", "back", "app"]).code, 125);
    ok(&["network", "disconnect", "back", "app"]);
    let r = ok(&[
        "exec",
        "app",
        "sh",
        "-c",
        "ip -o link | grep -c eth1 || true",
    ]);
    assert_eq!(r.stdout.trim(), "0", "eth1 is gone");
    assert!(
        !ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    ok(&["network", "connect", "back", "app"]);
    assert!(
        ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    // A connection is the container's: it is back after a restart, and the
    // network cannot go while the container is on it.
    ok(&["restart", "-t", "0", "app"]);
    let r = ok(&["exec", "app", "sh", "-c", "ip -4 -o addr show eth1"]);
    assert!(r.stdout.contains("10.93.0."), "{}", r.stdout);
    assert_eq!(run(&["network", "rm", "back"]).code, 125);
    // Two --network flags: two interfaces from the start.
    let r = ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "--network",
        "back",
        "localhost/bb:1",
        "sh",
        "-c",
        "ip -4 -o addr | grep -c 'eth[01]'",
    ]);
    assert_eq!(r.stdout.trim(), "2", "{}", r.stdout);
    // A container that goes is forgotten by those that stay.
    ok(&["rm", "-f", "db"]);
    assert!(
        !ok(&["exec", "app", "cat", "/etc/hosts"])
            .stdout
            .contains("\tdb")
    );
    ok(&["network", "disconnect", "back", "app"]);
    let r = run(&["network", "disconnect", "back", "app"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not connected"), "{}", r.stderr);
    // A container without a bridge network cannot be connected.
    ok(&[
        "run",
        "-d",
        "--name",
        "lonely",
        "--network",
        "none",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    assert_eq!(run(&["network", "connect", "back", "lonely"]).code, 125);
    ok(&["rm", "-af"]);
    // ls takes podman's --format and --filter; exists and prune as podman's.
    let r = ok(&[
        "network",
        "ls",
        "--filter",
        "name=fro",
        "--format",
        "{{.Name}} {{.Driver}}",
    ]);
    assert_eq!(r.stdout, "front bridge\n");
    assert_eq!(run(&["network", "exists", "front"]).code, 0);
    let pruned = ok(&["network", "prune", "-f"]).stdout;
    assert_eq!(pruned, "back\nfront\n");
    assert_eq!(run(&["network", "exists", "front"]).code, 1);
}

#[test]
fn network_create_takes_podmans_gateway_range_mtu_and_labels() {
    let st = TestStore::with_busybox();
    let ns = TestNetns::new("opts");
    let run = |args: &[&str]| ns.berth(&st, args);
    let ok = |args: &[&str]| ns.berth_ok(&st, args);
    ok(&[
        "network",
        "create",
        "-d",
        "bridge",
        "--subnet",
        "10.94.0.0/24",
        "--gateway",
        "10.94.0.254",
        "--ip-range",
        "10.94.0.128/25",
        "-o",
        "mtu=1400",
        "--label",
        "tier=web",
        "edge",
    ]);
    // Inspect shows them under podman's keys.
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["network", "inspect", "edge"]).stdout).unwrap();
    let n = &v[0];
    assert_eq!(n["subnets"][0]["gateway"], "10.94.0.254", "{n}");
    assert_eq!(n["subnets"][0]["lease_range"]["start_ip"], "10.94.0.129");
    assert_eq!(n["subnets"][0]["lease_range"]["end_ip"], "10.94.0.255");
    assert_eq!(n["labels"]["tier"], "web");
    assert_eq!(n["options"]["mtu"], "1400");
    assert!(n["created"].as_str().unwrap().ends_with('Z'), "{n}");
    // A container gets an address from the range, the route through the
    // gateway given, and the MTU, on both ends of its link.
    let r = ok(&[
        "run",
        "--rm",
        "--network",
        "edge",
        "localhost/bb:1",
        "sh",
        "-c",
        "ip -4 -o addr show eth0; ip route show default; cat /sys/class/net/eth0/mtu",
    ]);
    assert!(r.stdout.contains("inet 10.94.0.129/24"), "{}", r.stdout);
    assert!(r.stdout.contains("default via 10.94.0.254"), "{}", r.stdout);
    assert!(r.stdout.ends_with("\n1400\n"), "{}", r.stdout);
    // ls: --no-trunc, and podman's label=, dangling= filters.
    ok(&["network", "create", "--subnet", "10.95.0.0/24", "plain"]);
    let id = n["id"].as_str().unwrap();
    let r = ok(&["network", "ls", "--no-trunc", "--filter", "label=tier=web"]);
    assert!(r.stdout.contains(&format!("{id}  edge")), "{}", r.stdout);
    assert!(!r.stdout.contains("plain"), "{}", r.stdout);
    let q = |f: &str| ok(&["network", "ls", "-q", "--filter", f]).stdout;
    assert_eq!(q("label!=tier"), "plain\npodman\n");
    assert_eq!(q("dangling=true"), "edge\nplain\n");
    assert_eq!(q("name=^pl"), "plain\n");
    // What berth cannot do is refused in podman's words.
    for (args, words) in [
        (
            &["-d", "macvlan"][..],
            "unsupported driver macvlan: invalid argument",
        ),
        (
            &["-o", "vlan=5"][..],
            "unsupported bridge network option vlan",
        ),
        (
            &["-o", "mtu=abc"][..],
            "strconv.Atoi: parsing \"abc\": invalid syntax",
        ),
        (
            &["--gateway", "10.96.0.1"][..],
            "cannot set gateway or range without subnet",
        ),
        (
            &["--subnet", "10.96.0.0/24", "--gateway", "10.97.0.1"][..],
            "gateway 10.97.0.1 not in subnet 10.96.0.0/24",
        ),
        (&["--ipv6"][..], "--ipv6: not supported"),
    ] {
        let r = run(&[&["network", "create"], args, &["bad"]].concat());
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    assert_eq!(run(&["network", "exists", "bad"]).code, 1);
    let r = run(&["network", "ls", "--filter", "colour=red"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("invalid filter \"colour\""),
        "{}",
        r.stderr
    );
    // network prune takes podman's until=, label=, label!=.
    let prune = |f: &str| ok(&["network", "prune", "-f", "--filter", f]).stdout;
    assert_eq!(prune("until=1h"), "");
    assert_eq!(prune("label!=tier"), "plain\n");
    assert_eq!(prune("label=tier=db"), "");
    let r = run(&["network", "prune", "-f", "--filter", "colour=red"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("invalid filter \"colour\""),
        "{}",
        r.stderr
    );
    // system prune takes them to its network prune too.
    let r = ok(&["system", "prune", "-f", "--filter", "label=tier=web"]);
    assert!(
        r.stdout.ends_with("Deleted Networks\nedge\n"),
        "{}",
        r.stdout
    );
    assert_eq!(run(&["network", "exists", "edge"]).code, 1);
    // Without a name, podman's next free podmanN.
    assert_eq!(ok(&["network", "create"]).stdout, "podman1\n");
    assert_eq!(ok(&["network", "create", "--internal"]).stdout, "podman2\n");
    ok(&["network", "rm", "podman1", "podman2"]);
}

#[test]
fn network_connect_takes_aliases_and_a_fixed_address() {
    let st = TestStore::with_busybox();
    let ns = TestNetns::new("alias");
    let run = |args: &[&str]| ns.berth(&st, args);
    let ok = |args: &[&str]| ns.berth_ok(&st, args);
    ok(&["network", "create", "--subnet", "10.96.0.0/24", "front"]);
    ok(&["network", "create", "--subnet", "10.97.0.0/24", "back"]);
    for (name, net) in [("db", "back"), ("app", "front")] {
        let args = ["run", "-d", "--name", name, "--network", net];
        ok(&[&args[..], &["localhost/bb:1", "sleep", "300"]].concat());
    }
    ok(&[
        "network",
        "connect",
        "--alias",
        "cache,kv",
        "--alias",
        "store",
        "--ip",
        "10.97.0.77",
        "back",
        "app",
    ]);
    let addr = |c: &str| {
        let r = ok(&["exec", c, "sh", "-c", "ip -4 -o addr show eth1"]);
        r.stdout
    };
    assert!(
        addr("app").contains("inet 10.97.0.77/24"),
        "{}",
        addr("app")
    );
    // The aliases are names of app's on that network, for the others there.
    let hosts = ok(&["exec", "db", "cat", "/etc/hosts"]).stdout;
    for alias in ["cache", "kv", "store"] {
        let line = format!("10.97.0.77\t{alias}");
        assert!(hosts.contains(&line), "{alias}: {hosts}");
    }
    let r = ok(&["exec", "db", "nslookup", "cache"]);
    assert!(r.stdout.contains("10.97.0.77"), "{}", r.stdout);
    // inspect shows them as podman's does, the short ID after them.
    let f = "{{json .NetworkSettings.Networks.back.Aliases}}";
    let id = ok(&["inspect", "--format", "{{.Id}}", "app"]).stdout;
    assert_eq!(
        ok(&["inspect", "--format", f, "app"]).stdout.trim(),
        format!(r#"["cache","kv","store","{}"]"#, &id[..12])
    );
    // Kept with the container: the same address and names after a restart.
    ok(&["restart", "-t", "0", "app"]);
    assert!(
        addr("app").contains("inet 10.97.0.77/24"),
        "{}",
        addr("app")
    );
    assert!(
        ok(&["exec", "db", "cat", "/etc/hosts"])
            .stdout
            .contains("10.97.0.77\tstore")
    );
    // An address another container has, or one outside the network, is refused.
    ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "front",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    for (ip, words) in [
        (
            "10.97.0.77",
            "requested ip address 10.97.0.77 is already allocated",
        ),
        (
            "10.1.2.3",
            "requested static ip 10.1.2.3 not in any subnet on network back",
        ),
    ] {
        let r = run(&["network", "connect", "--ip", ip, "back", "late"]);
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert!(r.stderr.contains(words), "{}", r.stderr);
    }
    assert!(
        !ok(&["exec", "late", "ip", "-o", "link"])
            .stdout
            .contains("eth1")
    );
    // disconnect -f: off the network, its names gone from the others'.
    ok(&["network", "disconnect", "-f", "back", "app"]);
    assert!(
        !ok(&["exec", "db", "cat", "/etc/hosts"])
            .stdout
            .contains("cache")
    );
    let r = ok(&["exec", "app", "ip", "-o", "link"]);
    assert!(!r.stdout.contains("eth1"), "{}", r.stdout);
    ok(&["rm", "-af", "-t", "0"]);
}

#[test]
fn isolated_networks_do_not_reach_each_other() {
    let st = TestStore::with_busybox();
    let ns = TestNetns::new("iso");
    let run = |args: &[&str]| ns.berth(&st, args);
    let ok = |args: &[&str]| ns.berth_ok(&st, args);
    for (name, subnet, isolate) in [
        ("iso1", "10.104.0.0/24", true),
        ("iso2", "10.105.0.0/24", true),
        ("open", "10.106.0.0/24", false),
    ] {
        let mut args = vec!["network", "create", "--subnet", subnet];
        if isolate {
            args.extend(["-o", "isolate=true"]);
        }
        ok(&[&args[..], &[name]].concat());
    }
    let v = common::json(&ok(&["network", "inspect", "iso1"]).stdout);
    assert_eq!(v[0]["options"]["isolate"], "true", "{v}");
    let mut servers = std::collections::BTreeMap::new();
    for net in ["iso2", "open"] {
        let name = format!("web-{net}");
        ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            net,
            "localhost/bb:1",
            "sh",
            "-c",
            "echo hello > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
        ]);
        let f = "{{.NetworkSettings.IPAddress}}";
        servers.insert(net, ok(&["inspect", "--format", f, &name]).stdout);
    }
    // What answers from `net` at the server on `to` (its httpd may still be
    // starting: a refused connection is tried again).
    let fetch = |net: &str, to: &str| {
        let url = format!("http://{}/index.html", servers[to].trim());
        let script = format!(
            "for i in $(seq 100); do wget -q -O - {url} && exit 0; sleep 0.05; done; exit 1"
        );
        let args = [
            "run",
            "--rm",
            "--network",
            net,
            "localhost/bb:1",
            "sh",
            "-c",
        ];
        run(&[&args[..], &[&script]].concat())
    };
    // Isolated from isolated: dropped; to and from an open network: served.
    let r = fetch("open", "iso2");
    assert_eq!((r.code, r.stdout.as_str()), (0, "hello\n"), "{}", r.stderr);
    let r = fetch("iso1", "open");
    assert_eq!((r.code, r.stdout.as_str()), (0, "hello\n"), "{}", r.stderr);
    // Dropped, not refused: the connection times out.
    let to = servers["iso2"].trim().to_string();
    let args = ["run", "--rm", "--network", "iso1", "localhost/bb:1"];
    let r = run(&[&args[..], &["nc", "-w", "2", &to, "80"]].concat());
    assert_ne!(r.code, 0, "iso1 reached iso2: {}", r.stdout);
    assert!(r.stderr.contains("timed out"), "{}", r.stderr);
    // Its rules go with the network.
    ok(&["rm", "-f", "-t", "0", "web-iso2", "web-open"]);
    ok(&["network", "rm", "iso1", "iso2", "open"]);
    let mut save = Command::new("iptables-save");
    save.args(["-t", "filter"]);
    let rules = run_cmd(&mut ns.wrap(&save)).stdout;
    assert!(
        !rules.contains("-j DROP\n-A") || !rules.contains("berth"),
        "{rules}"
    );
    assert!(!rules.contains("BERTH-ISOLATE-2 -o"), "{rules}");
}

/// Two stores (two `--root`s) each making a network before either has a
/// container, so no bridge routes their subnet yet: each gets a subnet and a
/// bridge of its own (they took the same pair, and their containers then
/// shared one bridge, addresses and DNS). A subnet asked for by name is
/// refused while another store's network has it, and free once that goes.
#[test]
fn networks_of_two_stores_never_share_a_subnet_or_a_bridge() {
    let (a, b) = (TestStore::with_busybox(), TestStore::with_busybox());
    let pair = |st: &TestStore| {
        let v = json(&st.ok(&["network", "inspect", "net"]).stdout);
        let subnet = v[0]["subnets"][0]["subnet"].as_str().unwrap().to_string();
        (
            subnet,
            v[0]["network_interface"].as_str().unwrap().to_string(),
        )
    };
    a.ok(&["network", "create", "net"]);
    b.ok(&["network", "create", "net"]);
    let (pa, pb) = (pair(&a), pair(&b));
    assert_ne!(pa.0, pb.0);
    assert_ne!(pa.1, pb.1);
    // Neither is the default network's, which every store shares.
    for p in [&pa, &pb] {
        assert_ne!(p.0, "10.89.0.0/24");
        assert_ne!(p.1, "berth0");
    }
    let r = b.run(&["network", "create", "--subnet", &pa.0, "other"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "Error: subnet {} is already used by another network\n",
            pa.0
        )
    );
    a.ok(&["network", "rm", "net"]);
    b.ok(&["network", "create", "--subnet", &pa.0, "other"]);
    b.ok(&["network", "rm", "net", "other"]);
}
