//! Published ports (`-p`, `-P`), each test inside a network namespace of its
//! own: a port published without a host address answers on every address of
//! the host (loopback, the bridge's gateway, other interfaces); one published
//! on 127.0.0.1 only there; and, as podman's conmon does, the container's
//! monitor (or the foreground `berth run`) holds the published ports' sockets
//! while the container runs, so that another container or a host process
//! cannot take them, until the container stops.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::store::TestStore;
use common::*;

/// A network namespace made for one test, with its loopback up and a veth
/// pair of its own (192.0.2.10, TEST-NET-1, on one end: nothing outside this
/// namespace sees it) standing for the host's other interfaces. Bridges,
/// veths and firewall rules live and die with it.
struct TestNetns {
    name: String,
}

/// The other interface's address.
const OTHER_ADDR: &str = "192.0.2.10";

impl TestNetns {
    fn new(tag: &str) -> TestNetns {
        let name = format!("berth-p{}-{tag}", std::process::id());
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = TestNetns { name };
        for args in [
            "link set lo up",
            "link add berthv0 type veth peer name berthv1",
            &format!("addr add {OTHER_ADDR}/24 dev berthv0"),
            "link set berthv0 up",
            "link set berthv1 up",
        ] {
            let mut ip = Command::new("ip");
            ip.args(args.split(' '));
            ok(&mut ns.wrap(&ip));
        }
        ns
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// A command run inside the namespace (nsenter leaves the mount
    /// namespace alone, unlike `ip netns exec`).
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

    /// Runs `f` on a thread of its own moved into the namespace (a network
    /// namespace is a thread's own: the test's other threads stay where
    /// they are); sockets it makes belong to the namespace.
    fn on_thread<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = std::fs::File::open(self.path()).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: setns on a descriptor this closure borrows; it only
                // changes this thread's network namespace.
                let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap()
        })
    }

    /// A host process's attempt to take a TCP port (as servers do:
    /// SO_REUSEADDR, bind, listen).
    fn bind_tcp(&self, addr: &str) -> std::io::Result<TcpListener> {
        self.on_thread(|| TcpListener::bind(addr))
    }

    fn bind_udp(&self, addr: &str) -> std::io::Result<UdpSocket> {
        self.on_thread(|| UdpSocket::bind(addr))
    }

    /// The nat table's rules (netavark's and the CNI plugins' port rules).
    fn nat_rules(&self) -> String {
        let mut ipt = Command::new("iptables");
        ipt.args(["-t", "nat", "-S"]);
        run_cmd(&mut self.wrap(&ipt)).stdout
    }

    /// `GET http://ADDR/index.html` from the namespace's host side: its body,
    /// or None. Retried while the server may still be starting. (`timeout`
    /// only keeps a broken build from hanging the test on a connection no
    /// one serves; busybox's own `wget -T` crashes here.)
    fn http_get(&self, addr: &str, tries: u32) -> Option<String> {
        let mut sh = Command::new("/bin/busybox");
        sh.args(["sh", "-c"]).arg(format!(
            "for i in $(seq {tries}); do timeout 10 busybox wget -q -O - http://{addr}/index.html && exit; sleep 0.1; done; exit 1"
        ));
        let r = run_cmd(&mut self.wrap(&sh));
        (r.code == 0).then_some(r.stdout)
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        // What still runs in it (a monitor or aardvark-dns a failed test left).
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        // Its firewall rules, bridges and veths go with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// One test's store and namespace; berth always runs inside the namespace,
/// with the given network backend.
struct Env {
    st: TestStore,
    ns: TestNetns,
    conf: PathBuf,
}

impl Env {
    fn new(tag: &str, backend: &str) -> Env {
        let st = TestStore::with_busybox();
        let ns = TestNetns::new(tag);
        let conf = st.dir.path().join("containers.conf");
        std::fs::write(
            &conf,
            format!("[containers]\nnetns = \"none\"\n[network]\nnetwork_backend = \"{backend}\"\n"),
        )
        .unwrap();
        Env { st, ns, conf }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.st.cmd();
        c.env("CONTAINERS_CONF", &self.conf).args(args);
        self.ns.wrap(&c)
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(&mut self.cmd(args))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "berth {args:?}: {}", r.stderr);
        r
    }

    /// The network namespaces berth keeps pinned (one per attached container).
    fn pins(&self) -> usize {
        std::fs::read_dir(self.st.path().join("run/netns"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    fn running(&self) -> String {
        self.ok(&["ps", "--format", "{{.Names}}"]).stdout
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Inside the namespace, before it goes: the containers' network
        // teardown must touch its firewall, never the host's. (The store's own
        // Drop, run on the host later, then finds nothing left.)
        let _ = run_cmd(self.cmd(&["rm", "-af", "-t", "0"]).stdin(Stdio::null()));
    }
}

/// A foreground `berth run --name fg` a failed test must not leave behind:
/// it is stopped and waited for in the namespace, before the store's own
/// cleanup runs on the host.
struct Foreground<'a> {
    env: &'a Env,
    child: std::process::Child,
}

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.env.run(&["rm", "-f", "-t", "0", "fg"]);
            let _ = self.child.wait();
        }
    }
}

/// A busybox httpd on container port 5000 serving `body`.
fn httpd(body: &str) -> String {
    format!("mkdir -p /www; echo {body} > /www/index.html; exec httpd -f -p 5000 -h /www")
}

const GATEWAY: &str = "10.89.0.1";

#[test]
fn published_ports_answer_on_every_host_address_through_berths_own_backend() {
    published_ports_answer_on_every_host_address("berth");
}

#[test]
fn published_ports_answer_on_every_host_address_through_netavark() {
    published_ports_answer_on_every_host_address("netavark");
}

#[test]
fn published_ports_answer_on_every_host_address_through_cni_plugins() {
    published_ports_answer_on_every_host_address("cni");
}

fn published_ports_answer_on_every_host_address(backend: &str) {
    let env = Env::new(&backend[..3], backend);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "5253:5000",
        "-p",
        "127.0.0.1:5254:5000",
        "-p",
        "0.0.0.0:5255:5000",
        "localhost/bb:1",
        "sh",
        "-c",
        &httpd("hello-web"),
    ]);
    let port = env.ok(&["port", "web"]).stdout;
    assert!(port.contains("5000/tcp -> 0.0.0.0:5253\n"), "{port}");
    // A port published three times: each place, as podman prints them.
    let places = env.ok(&["port", "web", "5000"]).stdout;
    assert_eq!(
        places, "0.0.0.0:5253\n127.0.0.1:5254\n0.0.0.0:5255\n",
        "{places}"
    );
    // No host address: loopback, the bridge's gateway and another interface.
    for addr in ["127.0.0.1", GATEWAY, OTHER_ADDR] {
        let got = env.ns.http_get(&format!("{addr}:5253"), 100);
        assert_eq!(got.as_deref(), Some("hello-web\n"), "{addr}:5253");
    }
    // 0.0.0.0 is the same as no address, as podman has it.
    for addr in ["127.0.0.1", GATEWAY] {
        let got = env.ns.http_get(&format!("{addr}:5255"), 1);
        assert_eq!(got.as_deref(), Some("hello-web\n"), "{addr}:5255");
    }
    // 127.0.0.1: there and nowhere else.
    let got = env.ns.http_get("127.0.0.1:5254", 1);
    assert_eq!(got.as_deref(), Some("hello-web\n"));
    for addr in [GATEWAY, OTHER_ADDR] {
        assert_eq!(env.ns.http_get(&format!("{addr}:5254"), 1), None, "{addr}");
    }
    // Whichever the backend, the ports are held on the host meanwhile.
    for addr in ["0.0.0.0:5253", "127.0.0.1:5254", "0.0.0.0:5255"] {
        let e = env.ns.bind_tcp(addr).err().map(|e| e.kind());
        assert_eq!(e, Some(std::io::ErrorKind::AddrInUse), "{addr}");
    }
    // A host port left out (-p 5000, -P) is chosen, and answers everywhere too.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "auto",
        "-p",
        "5000",
        "localhost/bb:1",
        "sh",
        "-c",
        &httpd("hello-auto"),
    ]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "all",
        "-P",
        "--expose",
        "5000",
        "localhost/bb:1",
        "sh",
        "-c",
        &httpd("hello-all"),
    ]);
    for (name, body) in [("auto", "hello-auto\n"), ("all", "hello-all\n")] {
        let shown = env.ok(&["port", name]).stdout;
        let host_port = shown
            .trim()
            .strip_prefix("5000/tcp -> 0.0.0.0:")
            .unwrap_or_else(|| panic!("{name}: {shown}"))
            .to_string();
        for addr in ["127.0.0.1", GATEWAY] {
            let got = env.ns.http_get(&format!("{addr}:{host_port}"), 100);
            assert_eq!(got.as_deref(), Some(body), "{name} at {addr}:{host_port}");
        }
    }
    env.ok(&["rm", "-f", "-t", "0", "web", "auto", "all"]);
    let rules = env.ns.nat_rules();
    assert!(!rules.contains("5253"), "port rules left: {rules}");
    assert_eq!(env.pins(), 0, "a namespace pin was left");
}

#[test]
fn a_second_container_cannot_publish_a_port_in_use() {
    let env = Env::new("dup", "berth");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "first",
        "-p",
        "5260:5000",
        "localhost/bb:1",
        "sh",
        "-c",
        &httpd("from-first"),
    ]);
    let (rules, pins) = (env.ns.nat_rules(), env.pins());
    let r = env.run(&[
        "run",
        "-d",
        "--name",
        "second",
        "-p",
        "5260:5000",
        "localhost/bb:1",
        "sh",
        "-c",
        &httpd("from-second"),
    ]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(r.stderr.contains("address already in use"), "{}", r.stderr);
    // Nothing half-made: not running, no network attachment, no rules.
    assert_eq!(env.running(), "first\n");
    let status = env.ok(&["inspect", "--format", "{{.State.Status}}", "second"]);
    assert_eq!(status.stdout.trim(), "created");
    assert_eq!(env.pins(), pins, "the failed container kept a namespace");
    assert_eq!(env.ns.nat_rules(), rules, "the failed container left rules");
    let got = env.ns.http_get("127.0.0.1:5260", 100);
    assert_eq!(got.as_deref(), Some("from-first\n"), "the port is first's");
    // `start` fails the same way (with podman's 125: start answers 125 for
    // every failure); so does the port on one address of the host.
    let r = env.run(&["start", "second"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("address already in use"), "{}", r.stderr);
    env.ok(&[
        "create",
        "--name",
        "third",
        "-p",
        "127.0.0.1:5260:5000",
        "localhost/bb:1",
        "true",
    ]);
    let r = env.run(&["start", "third"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("address already in use"), "{}", r.stderr);
    assert_eq!(env.running(), "first\n");
    assert_eq!(env.ns.nat_rules(), rules);
    // Once first is gone, the port is second's.
    env.ok(&["rm", "-f", "-t", "0", "first"]);
    env.ok(&["start", "second"]);
    let got = env.ns.http_get("127.0.0.1:5260", 100);
    assert_eq!(got.as_deref(), Some("from-second\n"));
}

#[test]
fn a_host_process_cannot_bind_a_published_port_until_the_container_stops() {
    let env = Env::new("host", "berth");
    env.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-p",
        "5270:5000",
        "-p",
        "5271:5001/udp",
        "localhost/bb:1",
        "sleep",
        "1000",
    ]);
    let taken = |what: &str| {
        for addr in ["0.0.0.0:5270", "127.0.0.1:5270"] {
            let e = env.ns.bind_tcp(addr).err();
            let e = e.unwrap_or_else(|| panic!("{what}: bound {addr}"));
            assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{what}: {addr}");
        }
        let e = env.ns.bind_udp("0.0.0.0:5271").err();
        let e = e.unwrap_or_else(|| panic!("{what}: bound udp 5271"));
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{what}: udp");
    };
    let free = |what: &str| {
        env.ns
            .bind_tcp("0.0.0.0:5270")
            .unwrap_or_else(|e| panic!("{what}: tcp 5270: {e}"));
        env.ns
            .bind_udp("0.0.0.0:5271")
            .unwrap_or_else(|e| panic!("{what}: udp 5271: {e}"));
    };
    taken("running");
    env.ok(&["stop", "-t", "0", "holder"]);
    free("stopped");
    env.ok(&["start", "holder"]);
    taken("started again");
    env.ok(&["restart", "-t", "0", "holder"]);
    taken("restarted");
    env.ok(&["rm", "-f", "-t", "0", "holder"]);
    free("removed");
}

#[test]
fn a_foreground_run_holds_its_published_ports() {
    let env = Env::new("fg", "berth");
    let mut c = env.cmd(&[
        "run",
        "--rm",
        "--name",
        "fg",
        "-p",
        "5280:5000",
        "localhost/bb:1",
        "sh",
        "-c",
        "echo up; until [ -e /tmp/go ]; do sleep 0.05; done",
    ]);
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut fg = Foreground { env: &env, child };
    let mut line = String::new();
    let mut out = BufReader::new(fg.child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "up\n");
    let e = env.ns.bind_tcp("0.0.0.0:5280").err();
    assert_eq!(
        e.map(|e| e.kind()),
        Some(std::io::ErrorKind::AddrInUse),
        "a host process took a port the container publishes"
    );
    env.ok(&["exec", "fg", "touch", "/tmp/go"]);
    assert!(fg.child.wait().unwrap().success());
    env.ns
        .bind_tcp("0.0.0.0:5280")
        .expect("the port is free once the container is gone");
}

/// A pod's ports are published by its infra container, and its containers'
/// servers answer there; a member cannot publish ports of its own.
#[test]
fn a_pods_ports_reach_its_containers() {
    let env = Env::new("pod", "berth");
    env.ok(&[
        "pod",
        "create",
        "--name",
        "pw",
        "--network",
        "bridge",
        "-p",
        "127.0.0.1:5260:5000",
    ]);
    env.ok(&[
        "run",
        "-d",
        "--pod",
        "pw",
        "localhost/bb:1",
        "sh",
        "-c",
        &httpd("hello-pod"),
    ]);
    let got = env.ns.http_get("127.0.0.1:5260", 100);
    assert_eq!(got.as_deref(), Some("hello-pod\n"));
    let r = env.run(&[
        "run",
        "--rm",
        "--pod",
        "pw",
        "-p",
        "5261:80",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("published or exposed ports must be defined when the pod is created"),
        "{}",
        r.stderr
    );
    env.ok(&["pod", "rm", "-f", "-t", "0", "pw"]);
    assert_eq!(env.pins(), 0, "the pod's network namespace stayed pinned");
}

#[test]
fn a_port_range_publishes_each_port_of_it() {
    let env = Env::new("rng", "berth");
    // Two servers in one container, one for each port of the range.
    let script = "mkdir -p /a /b; echo port-a > /a/index.html; echo port-b > /b/index.html; \
                  httpd -p 5000 -h /a; exec httpd -f -p 5001 -h /b";
    env.ok(&[
        "run",
        "-d",
        "--name",
        "range",
        "-p",
        "127.0.0.1:5260-5261:5000-5001",
        "localhost/bb:1",
        "sh",
        "-c",
        script,
    ]);
    let port = env.ok(&["port", "range"]).stdout;
    assert!(
        port.contains("5000/tcp -> 127.0.0.1:5260\n")
            && port.contains("5001/tcp -> 127.0.0.1:5261\n"),
        "{port}"
    );
    // One port (tcp unless named): only where it is published, as podman
    // prints it.
    assert_eq!(
        env.ok(&["port", "range", "5001"]).stdout,
        "127.0.0.1:5261\n"
    );
    assert_eq!(
        env.ok(&["port", "range", "5000/tcp"]).stdout,
        "127.0.0.1:5260\n"
    );
    for (query, says) in [
        ("5001/udp", "failed to find published port \"5001/udp\""),
        ("80", "failed to find published port \"80\""),
        ("http", "port formats are port/protocol. 'http' is invalid"),
    ] {
        let r = env.run(&["port", "range", query]);
        assert_eq!((r.code, r.stdout.as_str()), (125, ""), "{query}");
        assert_eq!(r.stderr.trim(), format!("Error: {says}"));
    }
    for (host_port, body) in [(5260, "port-a\n"), (5261, "port-b\n")] {
        let got = env.ns.http_get(&format!("127.0.0.1:{host_port}"), 100);
        assert_eq!(got.as_deref(), Some(body), "{host_port}");
    }
    // Ranges of two lengths are refused, before anything is made.
    let r = env.run(&["run", "-d", "-p", "5270-5272:80", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("-p 5270-5272:80: expected"),
        "{}",
        r.stderr
    );
    env.ok(&["rm", "-f", "-t", "0", "range"]);
}
