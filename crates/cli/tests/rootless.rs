//! Rootless: berth run by an ordinary user that the test creates, with and without
//! a subordinate ID range. Everything runs in the user's namespace (held by its
//! pause process), which every command joins: a container started by one command
//! is reached by the next.
//!
//! This machine keeps /dev/null and /dev/net/tun at mode 0600, where ordinary hosts
//! have 0666 (no program of an ordinary user, berth's, pasta or a container's, can
//! open them otherwise): the tests set 0666 while they run and put the old mode back.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::{Run, berth, run_cmd};

/// One test at a time changes /dev/null's mode and the user database.
static HOST: Mutex<()> = Mutex::new(());

/// A device node made 0666 (as udev makes /dev/null and /dev/net/tun on ordinary
/// hosts) for as long as it lives, then given its old mode back.
struct OpenToAll(&'static str, u32);

impl OpenToAll {
    fn new(dev: &'static str) -> OpenToAll {
        let old = std::fs::metadata(dev).unwrap().mode() & 0o7777;
        if old & 0o006 != 0o006 {
            eprintln!("note: {dev} is {old:o} here; 0666 (as on ordinary hosts) for this test");
        }
        std::fs::set_permissions(dev, std::fs::Permissions::from_mode(0o666)).unwrap();
        OpenToAll(dev, old)
    }
}

impl Drop for OpenToAll {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(self.1));
    }
}

/// A user made for the test (and its subordinate range, if asked), removed with
/// everything of its own when dropped.
struct User {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
    range: Option<(u32, u32)>,
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl User {
    fn new(with_range: bool) -> User {
        let tag = std::process::id() % 100_000;
        let name = format!("berthrl{}{tag}", u8::from(with_range));
        // No range unless this test gives one (Debian's useradd would pick one).
        sh(Command::new("useradd").args([
            "-m",
            "-K",
            "SUB_UID_COUNT=0",
            "-K",
            "SUB_GID_COUNT=0",
            &name,
        ]));
        let home = PathBuf::from(format!("/home/{name}"));
        let m = std::fs::metadata(&home).unwrap();
        let (uid, gid) = (m.uid(), m.gid());
        let range = with_range.then(|| {
            // Far above the ranges useradd hands out, one block per test process.
            let start = 2_000_000_000 + tag * 65_536 % 100_000_000;
            let r = format!("{start}-{}", start + 65_535);
            sh(Command::new("usermod").args(["--add-subuids", &r, "--add-subgids", &r, &name]));
            (start, 65_536)
        });
        User {
            name,
            uid,
            gid,
            home,
            range,
        }
    }

    /// berth as this user, in its home, with its own environment only.
    fn berth(&self, args: &[&str]) -> Run {
        self.berth_in(None, args)
    }

    /// [`User::berth`] in a network namespace the test made (entered as root, then
    /// the user's identity taken).
    fn berth_in(&self, netns: Option<&str>, args: &[&str]) -> Run {
        if let Some(ns) = netns {
            let mut c = Command::new("ip");
            c.args([
                "netns", "exec", ns, "runuser", "-u", &self.name, "--", "env", "-i",
            ])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("USER={}", self.name))
            .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("CONTAINERS_REGISTRIES_CONF=/dev/null")
            .arg(format!("CONTAINERS_CONF={}", common::CONTAINERS_CONF))
            .arg(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .current_dir(&self.home)
            .stdin(std::process::Stdio::null());
            return run_cmd(&mut c);
        }
        let mut c = berth();
        c.env_clear()
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
            .env("CONTAINERS_CONF", common::CONTAINERS_CONF)
            .current_dir(&self.home)
            .uid(self.uid)
            .gid(self.gid)
            .args(args);
        run_cmd(&mut c)
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.berth(args);
        assert_eq!(r.code, 0, "berth {args:?} as {}: {}", self.name, r.stderr);
        r
    }

    fn ok_in(&self, netns: &str, args: &[&str]) -> Run {
        let r = self.berth_in(Some(netns), args);
        assert_eq!(
            r.code, 0,
            "berth {args:?} as {} in {netns}: {}",
            self.name, r.stderr
        );
        r
    }

    /// A second container (`second`) publishing a port already taken: podman's
    /// words and 126.
    fn port_taken(&self, netns: &str, flags: &[&str]) {
        let args = [
            &["run", "-d", "--name", "second"],
            flags,
            &["localhost/bb:1", "sleep", "600"],
        ];
        let r = self.berth_in(Some(netns), &args.concat());
        assert_eq!(r.code, 126, "{}", r.stderr);
        assert!(r.stderr.contains("address already in use"), "{}", r.stderr);
    }

    fn run_dir(&self) -> PathBuf {
        PathBuf::from(format!("/tmp/berth-run-{}", self.uid))
    }

    /// Whether `id` (a host UID) is this user's or one of its range.
    fn owns(&self, id: u32) -> bool {
        id == self.uid || self.range.is_some_and(|(s, n)| id >= s && id < s + n)
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let _ = self.berth(&["rm", "-af", "-t", "0"]);
        // What is left of its processes (the pause process last holds the
        // namespaces): each checked to be this user's before a pidfd signals it.
        // SIGKILL is not instant: userdel refuses a user with a process left, so
        // this goes on until none is (for at most ten seconds).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = user_processes(self);
            if left.is_empty() || std::time::Instant::now() > deadline {
                break;
            }
            for pid in left {
                kill_checked(pid, self);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = Command::new("userdel").args(["-r", &self.name]).output();
        let _ = std::fs::remove_dir_all(self.run_dir());
        // Where its mapped containers' roots were bound (empty once they went).
        let _ = std::fs::remove_dir(format!("/tmp/berth-userns-{}", self.uid));
    }
}

fn user_processes(u: &User) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| u.owns(m.uid())))
        .collect()
}

fn kill_checked(pid: i32, u: &User) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return;
    }
    // The pidfd pins the process: if it is still the user's, it is the one we mean.
    if std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| u.owns(m.uid())) {
        // SAFETY: a pidfd we own; a null siginfo is allowed.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
    // SAFETY: closing the descriptor pidfd_open gave.
    unsafe { libc::close(fd as i32) };
}

/// The busybox layer as a tarball the user can read.
fn layer_for(u: &User) -> PathBuf {
    let p = u.home.join("rootfs.tar");
    std::fs::write(&p, berth_testkit::fixtures::busybox_layer()).unwrap();
    std::os::unix::fs::chown(&p, Some(u.uid), Some(u.gid)).unwrap();
    p
}

/// Every file under `dir` belongs to the user or its range: nothing of root's.
fn all_owned_by(dir: &Path, u: &User) -> Result<(), String> {
    for e in walk(dir) {
        let m = std::fs::symlink_metadata(&e).map_err(|x| x.to_string())?;
        if !u.owns(m.uid()) {
            return Err(format!("{} belongs to uid {}", e.display(), m.uid()));
        }
    }
    Ok(())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let d = out[i].clone();
        i += 1;
        if std::fs::symlink_metadata(&d).is_ok_and(|m| m.is_dir())
            && let Ok(entries) = std::fs::read_dir(&d)
        {
            out.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out
}

#[test]
fn an_ordinary_user_runs_builds_and_reaches_its_containers() {
    let _host = HOST.lock().unwrap_or_else(|e| e.into_inner());
    let _null = OpenToAll::new("/dev/null");
    // The bridge network's rootless namespace is connected by pasta.
    let _tun = OpenToAll::new("/dev/net/tun");
    let u = User::new(true);
    let (start, _) = u.range.unwrap();
    let tar = layer_for(&u);
    u.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/bb:1"]);
    let r = u.ok(&[
        "info",
        "--format",
        "{{.Host.Security.Rootless}} {{.Store.GraphRoot}}",
    ]);
    assert_eq!(
        r.stdout,
        format!("true {}/.local/share/berth\n", u.home.display())
    );
    // Root in the container is the user; the others are its range.
    let r = u.ok(&[
        "run",
        "--rm",
        "localhost/bb:1",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map",
    ]);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "0",
            "0",
            &u.uid.to_string(),
            "1",
            "1",
            &start.to_string(),
            "65536"
        ],
        "{}",
        r.stdout
    );
    // `unshare` runs a command in that namespace, with the store's paths.
    let r = u.ok(&["unshare", "sh", "-c", "id -u; echo $CONTAINERS_GRAPHROOT"]);
    assert_eq!(
        r.stdout,
        format!("0\n{}/.local/share/berth\n", u.home.display())
    );
    // Root has no such namespace: podman's words.
    let r = common::run(&["unshare", "true"]);
    assert_eq!(r.code, 125);
    assert_eq!(r.stderr, "Error: please use unshare with rootless\n");
    // buildah's verb: the same for the user, the command as it is for root.
    let r = u.ok(&["builder", "unshare", "id", "-u"]);
    assert_eq!(r.stdout, "0\n");
    let r = common::run(&["builder", "unshare", "sh", "-c", "exit 3"]);
    assert_eq!(r.code, 3);
    // The default bridge network, in the user's rootless network namespace.
    let r = u.ok(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "localhost/bb:1",
        "ip",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(r.stdout.contains("inet 10.89."), "{}", r.stdout);
    let r = u.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "localhost/bb:1",
        "ls",
        "/sys/class/net",
    ]);
    assert!(r.stdout.lines().any(|l| l == "lo"), "{}", r.stdout);
    // A pod on the host's network: its members share it (no namespace of the
    // host's is joined, which the user may not do).
    u.ok(&["pod", "create", "--name", "hostpod", "--network", "host"]);
    let member = u.ok(&[
        "run",
        "--rm",
        "--pod",
        "hostpod",
        "localhost/bb:1",
        "ls",
        "/sys/class/net",
    ]);
    assert_eq!(member.stdout, r.stdout);
    u.ok(&["pod", "rm", "-f", "-t", "0", "hostpod"]);
    // Limits cannot hold without a cgroup of the user's own: podman's warning, as is.
    let r = u.ok(&[
        "run",
        "--rm",
        "--memory",
        "64m",
        "localhost/bb:1",
        "echo",
        "ran",
    ]);
    assert_eq!(r.stdout, "ran\n");
    assert_eq!(
        r.stderr,
        "Resource limits are not supported and ignored on cgroups V1 rootless systems\n"
    );
    // A container started by one command is reached by the next.
    u.ok(&["run", "-d", "--name", "s", "localhost/bb:1", "sleep", "600"]);
    assert_eq!(u.ok(&["exec", "s", "id", "-u"]).stdout, "0\n");
    assert_eq!(u.ok(&["ps", "--format", "{{.Names}}"]).stdout, "s\n");
    u.ok(&["rm", "-f", "-t", "0", "s"]);
    // A build whose RUN gives a file to another user: stored as that user's ID
    // of the range, and read back as the container's 33.
    let ctx = u.home.join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/bb:1\nRUN echo built > /f && chown 33:33 /f\n",
    )
    .unwrap();
    std::os::unix::fs::chown(&ctx, Some(u.uid), Some(u.gid)).unwrap();
    u.ok(&["build", "-q", "-t", "localhost/built", "ctx"]);
    let r = u.ok(&[
        "run",
        "--rm",
        "localhost/built",
        "stat",
        "-c",
        "%u %g",
        "/f",
    ]);
    assert_eq!(r.stdout, "33 33\n");
    let store = u.home.join(".local/share/berth");
    let on_host: Vec<u32> = walk(&store)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "f"))
        .filter_map(|p| std::fs::symlink_metadata(p).ok())
        .map(|m| m.uid())
        .collect();
    assert!(on_host.contains(&(start + 32)), "{on_host:?}");
    // Nothing the user's berth wrote belongs to root.
    all_owned_by(&store, &u).unwrap();
    all_owned_by(&u.run_dir(), &u).unwrap();
    // Push to a registry on 127.0.0.1 and pull back, all as the user.
    let reg = berth_testkit::registry::Registry::start().expect("registry");
    let remote = format!("{}/rl/built:1", reg.addr());
    u.ok(&["push", "--tls-verify=false", "localhost/built", &remote]);
    u.ok(&["rmi", "localhost/built"]);
    u.ok(&["pull", "-q", "--tls-verify=false", &remote]);
    let r = u.ok(&["run", "--rm", &remote, "stat", "-c", "%u", "/f"]);
    assert_eq!(r.stdout, "33\n");
    // login without XDG_RUNTIME_DIR keeps the credentials in the user's
    // runtime directory (it cannot make /run/containers/UID).
    let authed = berth_testkit::registry::Registry::start_with_auth("ru", "rp").expect("registry");
    u.ok(&[
        "login",
        "--tls-verify=false",
        "-u",
        "ru",
        "-p",
        "rp",
        authed.addr(),
    ]);
    let auth = u.run_dir().join("containers/auth.json");
    assert!(
        std::fs::read_to_string(&auth)
            .unwrap()
            .contains(authed.addr())
    );
    u.ok(&["logout", authed.addr()]);
    // `system migrate`: the pause process goes, the next command makes another.
    let pause = || std::fs::read_to_string(u.run_dir().join("pause.pid")).unwrap();
    let before = pause();
    u.ok(&["system", "migrate"]);
    u.ok(&["images", "-q"]);
    assert_ne!(pause(), before);
    // `system reset`: the user's store and run directory go with its namespace.
    u.ok(&["system", "reset", "--force"]);
    assert!(!store.exists(), "the store was kept");
    assert!(!u.run_dir().join("pause.pid").exists());
    assert_eq!(u.ok(&["images", "-q"]).stdout, "");
}

#[test]
fn a_user_without_a_range_gets_its_own_id_alone() {
    let _host = HOST.lock().unwrap_or_else(|e| e.into_inner());
    let _null = OpenToAll::new("/dev/null");
    let u = User::new(false);
    let tar = layer_for(&u);
    u.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/bb:1"]);
    let r = u.ok(&["run", "--rm", "localhost/bb:1", "cat", "/proc/self/uid_map"]);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", &u.uid.to_string(), "1"], "{}", r.stdout);
}

/// Two network namespaces the test makes, joined by a veth pair: the user's
/// berth runs in the first (10.231.0.2/24, its default route via 10.231.0.1,
/// which nobody holds), a client in the second (10.231.0.3). Nothing reaches the
/// host's own network.
struct TwoNetns(String, String);

impl TwoNetns {
    fn new() -> TwoNetns {
        let (a, b) = (
            format!("berthrl-{}-a", std::process::id()),
            format!("berthrl-{}-b", std::process::id()),
        );
        let ns = TwoNetns(a.clone(), b.clone());
        let ip = |args: &str| sh(Command::new("ip").args(args.split(' ')));
        ip(&format!("netns add {a}"));
        ip(&format!("netns add {b}"));
        ip(&format!(
            "-n {a} link add v0 type veth peer name v1 netns {b}"
        ));
        ip(&format!("-n {a} addr add 10.231.0.2/24 dev v0"));
        ip(&format!("-n {b} addr add 10.231.0.3/24 dev v1"));
        for (n, dev) in [(&a, "v0"), (&b, "v1")] {
            ip(&format!("-n {n} link set lo up"));
            ip(&format!("-n {n} link set {dev} up"));
        }
        ip(&format!("-n {a} route add default via 10.231.0.1"));
        ns
    }

    /// A command in namespace `ns` (as root).
    fn exec(ns: &str, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, "/bin/busybox", "sh", "-c", cmd]);
        c
    }

    /// A listener in namespace `ns` that answers one connection on `port`
    /// with `pong`; returned once it listens.
    fn pong(ns: &str, port: u16) -> std::process::Child {
        let child = TwoNetns::exec(ns, &format!("echo pong | nc -l -p {port}"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        common::wait_for("the listener", || {
            let o = TwoNetns::exec(ns, "netstat -ltn").output().unwrap();
            String::from_utf8_lossy(&o.stdout).contains(&format!(":{port} "))
        });
        child
    }
}

/// An ordinary user (with a range) who has the test image, working in a network
/// namespace of the test's (`nets.0`, its host's network) beside another
/// (`nets.1`); the user goes first, the host's modes and lock last.
struct NetLab {
    u: User,
    nets: TwoNetns,
    _tun: OpenToAll,
    _null: OpenToAll,
    _host: std::sync::MutexGuard<'static, ()>,
}

impl NetLab {
    fn new() -> NetLab {
        let host = HOST.lock().unwrap_or_else(|e| e.into_inner());
        let (null, tun) = (OpenToAll::new("/dev/null"), OpenToAll::new("/dev/net/tun"));
        let u = User::new(true);
        let nets = TwoNetns::new();
        let tar = layer_for(&u);
        // The first command makes the user's namespace, in the test's network.
        u.ok_in(
            &nets.0,
            &["import", "-q", tar.to_str().unwrap(), "localhost/bb:1"],
        );
        NetLab {
            u,
            nets,
            _tun: tun,
            _null: null,
            _host: host,
        }
    }
}

impl Drop for TwoNetns {
    fn drop(&mut self) {
        for n in [&self.0, &self.1] {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// pasta, the rootless default: the container reaches the host (through the
/// gateway's address), a published port reaches the container, and a client in
/// another network namespace is seen with its own address, not a gateway's.
#[test]
fn pasta_connects_publishes_and_keeps_the_clients_address() {
    let lab = NetLab::new();
    let (u, nets, ns) = (&lab.u, &lab.nets, lab.nets.0.as_str());
    // Out: a listener on the host side (its loopback), reached at the gateway.
    let mut listener = TwoNetns::pong(ns, 19090);
    let r = u.ok_in(
        ns,
        &[
            "run",
            "--rm",
            "--network",
            "pasta",
            "localhost/bb:1",
            "sh",
            "-c",
            // The write side stays open until the answer is in: this pasta
            // (Debian 12's) can lose a reply that follows the container's FIN.
            "sleep 2 | nc -w 5 10.231.0.1 19090",
        ],
    );
    assert_eq!(r.stdout, "pong\n");
    let _ = listener.kill();
    let _ = listener.wait();
    // In: a published port; the container tells whom it sees.
    u.ok_in(
        ns,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            "18081:8080",
            "localhost/bb:1",
            "sh",
            "-c",
            "while true; do nc -l -p 8080 -e netstat -tn; done",
        ],
    );
    // The port taken: podman's words and 126, and nothing left running.
    u.port_taken(ns, &["-p", "18081:8080"]);
    u.ok_in(ns, &["rm", "-f", "second"]);
    let r = u.ok_in(ns, &["port", "web"]);
    assert!(r.stdout.starts_with("8080/tcp -> "), "{}", r.stdout);
    assert!(r.stdout.trim_end().ends_with(":18081"), "{}", r.stdout);
    let mut seen = String::new();
    common::wait_for("the published port to answer the other namespace", || {
        let o = TwoNetns::exec(&nets.1, "nc -w 2 10.231.0.2 18081 </dev/null")
            .output()
            .unwrap();
        seen = String::from_utf8_lossy(&o.stdout).into_owned();
        seen.contains(":8080")
    });
    assert!(
        seen.contains("10.231.0.3:"),
        "the client's address was not kept: {seen}"
    );
    u.ok_in(ns, &["rm", "-f", "-t", "0", "web"]);
    // pasta has gone with the container, and its port with it: the same
    // command twice in a row works.
    assert_eq!(network_helpers(u), Vec::<String>::new());
    for _ in 0..2 {
        u.ok_in(
            ns,
            &["run", "--rm", "-p", "18081:8080", "localhost/bb:1", "true"],
        );
    }
}

/// The user's network helpers still running (zombies have left): pasta,
/// aardvark-dns, monitors and port forwarders, as `PID COMMAND LINE`.
fn network_helpers(u: &User) -> Vec<String> {
    let helpers = ["pasta", "passt", "aardvark-dns", "berth"];
    user_processes(u)
        .into_iter()
        .filter_map(|p| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let args = std::fs::read(format!("/proc/{p}/cmdline")).ok()?;
            let args = String::from_utf8_lossy(&args).replace('\0', " ");
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, r)| r.starts_with('Z'));
            let pause = comm.trim() == "berth-pause-ns";
            let helper = helpers.iter().any(|h| comm.starts_with(h));
            (!zombie && !pause && helper).then(|| format!("{p} {args}"))
        })
        .collect()
}

/// Bridge networks for an ordinary user, as podman 4's rootless netns has them:
/// containers on a network the user made reach each other by name, the host's
/// side through pasta, and a published port (both protocols) from another
/// network namespace; a port taken is refused; the last container takes the
/// rootless namespace, pasta, aardvark-dns and the forwarder with it.
#[test]
fn bridge_networks_connect_resolve_and_publish_rootless() {
    let lab = NetLab::new();
    let (u, nets, ns) = (&lab.u, &lab.nets, lab.nets.0.as_str());
    u.ok_in(ns, &["network", "create", "rlnet"]);
    let serve = |name: &str, port: &str, script: &str| {
        u.ok_in(
            ns,
            &[
                "run",
                "-d",
                "--name",
                name,
                "--network",
                "rlnet",
                "-p",
                port,
                "localhost/bb:1",
                "sh",
                "-c",
                script,
            ],
        );
    };
    serve(
        "web",
        "18082:8080",
        "while true; do echo hello-from-web | nc -l -p 8080; done",
    );
    // (busybox has no UDP server: the test serves in the container's namespace.)
    serve("dgram", "18083:9090/udp", "sleep 600");
    let on_net = |script: &str| {
        let args = [
            "run",
            "--rm",
            "--network",
            "rlnet",
            "localhost/bb:1",
            "sh",
            "-c",
        ];
        u.ok_in(ns, &[&args[..], &[script]].concat())
    };
    // By name, through aardvark-dns, from a second container on the network.
    let r = on_net(
        "for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 web 8080 </dev/null && exit; done; exit 1",
    );
    assert_eq!(r.stdout, "hello-from-web\n", "{}", r.stderr);
    // Out to the host's side, through pasta.
    let mut listener = TwoNetns::pong(&nets.1, 19091);
    let r = on_net("sleep 2 | nc -w 5 10.231.0.3 19091");
    assert_eq!(r.stdout, "pong\n");
    let _ = listener.kill();
    let _ = listener.wait();
    // In: published TCP and UDP ports, from the other namespace.
    let mut seen = String::new();
    common::wait_for("the published TCP port to answer", || {
        let o = TwoNetns::exec(&nets.1, "nc -w 2 10.231.0.2 18082 </dev/null")
            .output()
            .unwrap();
        seen = String::from_utf8_lossy(&o.stdout).into_owned();
        seen == "hello-from-web\n"
    });
    let pid = u.ok_in(ns, &["inspect", "--format", "{{.State.Pid}}", "dgram"]);
    let mut server = Command::new("nsenter")
        .args(["-t", pid.stdout.trim(), "-n", "python3", "-c"])
        .arg(
            "import socket\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.bind(('0.0.0.0', 9090))\n\
             print('ready', flush=True)\n\
             while True:\n\
             \x20   d, a = s.recvfrom(100)\n\
             \x20   s.sendto(d.upper(), a)\n",
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready, "ready\n");
    let answer = Command::new("ip")
        .args(["netns", "exec", &nets.1, "python3", "-c"])
        .arg(
            "import socket\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             s.settimeout(5)\n\
             s.sendto(b'ping-udp', ('10.231.0.2', 18083))\n\
             print(s.recvfrom(100)[0].decode())\n",
        )
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        String::from_utf8_lossy(&answer.stdout),
        "PING-UDP\n",
        "{}",
        String::from_utf8_lossy(&answer.stderr)
    );
    let r = u.ok_in(ns, &["port", "web"]);
    assert_eq!(r.stdout, "8080/tcp -> 0.0.0.0:18082\n");
    // The port taken: podman's words and 126.
    u.port_taken(ns, &["--network", "rlnet", "-p", "18082:8080"]);
    u.ok_in(ns, &["rm", "-f", "-t", "0", "second", "web", "dgram"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left = network_helpers(u);
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pin = u.run_dir().join("berth/netns/rootless-netns");
    assert!(!pin.exists(), "{} is left", pin.display());
    u.ok_in(ns, &["network", "rm", "rlnet"]);
}

/// slirp4netns, podman 4's rootless default, as the alternative: the container
/// gets slirp4netns's address, a published port reaches it from another
/// network namespace, and slirp4netns goes with the container.
#[test]
fn slirp4netns_connects_and_publishes_rootless() {
    let lab = NetLab::new();
    let (u, nets, ns) = (&lab.u, &lab.nets, lab.nets.0.as_str());
    let r = u.ok_in(
        ns,
        &[
            "run",
            "--rm",
            "--network",
            "slirp4netns",
            "localhost/bb:1",
            "ip",
            "-4",
            "addr",
            "show",
            "tap0",
        ],
    );
    assert!(r.stdout.contains("inet 10.0.2.100/24"), "{}", r.stdout);
    u.ok_in(
        ns,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "slirp4netns",
            "-p",
            "18082:8080",
            "localhost/bb:1",
            "sh",
            "-c",
            "while true; do echo hi-slirp | nc -l -p 8080; done",
        ],
    );
    let mut seen = String::new();
    common::wait_for("the published port to answer the other namespace", || {
        let o = TwoNetns::exec(&nets.1, "nc -w 2 10.231.0.2 18082 </dev/null")
            .output()
            .unwrap();
        seen = String::from_utf8_lossy(&o.stdout).into_owned();
        seen.contains("hi-slirp")
    });
    u.ok_in(ns, &["rm", "-f", "-t", "0", "web"]);
    common::wait_for("slirp4netns to leave", || {
        !user_processes(u).iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "slirp4netns")
                && std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                    s.rsplit_once(") ")
                        .is_some_and(|(_, r)| !r.starts_with('Z'))
                })
        })
    });
}

/// `system service` as an ordinary user: its socket is the user's own, and the
/// docker CLI runs and lists the user's containers through it.
#[test]
fn the_rest_api_serves_a_rootless_user() {
    let _host = HOST.lock().unwrap_or_else(|e| e.into_inner());
    let _null = OpenToAll::new("/dev/null");
    let _tun = OpenToAll::new("/dev/net/tun");
    let u = User::new(true);
    let tar = layer_for(&u);
    u.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/bb:1"]);
    let socket = u.home.join("api.sock");
    struct Service(std::process::Child);
    impl Drop for Service {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _svc = Service(
        berth()
            .env_clear()
            .env("HOME", &u.home)
            .env("USER", &u.name)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
            .env("CONTAINERS_CONF", common::CONTAINERS_CONF)
            .current_dir(&u.home)
            .uid(u.uid)
            .gid(u.gid)
            .args(["system", "service", "--time", "0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::wait_for("the user's service socket", || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.uid(), u.uid, "the socket is the user's");
    let docker = |args: &[&str]| {
        let out = Command::new("timeout")
            .args(["-s", "KILL", "60", "/usr/bin/docker"])
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("DOCKER_CONFIG", u.home.join(".docker-test"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "localhost/bb:1",
            "echo",
            "hi-rootless"
        ]),
        "hi-rootless\n"
    );
    docker(&[
        "run",
        "-d",
        "--name",
        "kept",
        "--network",
        "none",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    assert_eq!(docker(&["ps", "--format", "{{.Names}}"]), "kept\n");
    // The user's own CLI sees the same container.
    assert_eq!(u.ok(&["ps", "--format", "{{.Names}}"]).stdout, "kept\n");
    docker(&["rm", "-f", "kept"]);
    // A user network through the API (compose's way): found by name.
    docker(&["network", "create", "apinet"]);
    let serve = "while true; do echo via-api | nc -l -p 8080; done";
    docker(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "apinet",
        "localhost/bb:1",
        "sh",
        "-c",
        serve,
    ]);
    let ask = "until nc srv 8080 </dev/null; do sleep 0.2; done";
    let got = docker(&[
        "run",
        "--rm",
        "--network",
        "apinet",
        "localhost/bb:1",
        "sh",
        "-c",
        ask,
    ]);
    assert_eq!(got, "via-api\n");
    docker(&["rm", "-f", "srv"]);
    docker(&["network", "rm", "apinet"]);
}

/// `--userns keep-id|nomap|auto` for an ordinary user (podman 4.3's modes): with
/// keep-id the container runs as the user, the image's files are still root's
/// inside, what it writes to a bind-mounted directory is the user's on the host,
/// and a commit keeps the owners the container saw. The layers are mapped
/// copies (the kernel refuses ID-mapped mounts here), gone with their image.
#[test]
fn keep_id_nomap_and_auto_for_an_ordinary_user() {
    let _host = HOST.lock().unwrap_or_else(|e| e.into_inner());
    let _null = OpenToAll::new("/dev/null");
    let u = User::new(true);
    let tar = layer_for(&u);
    u.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/bb:1"]);
    let (uid, gid) = (u.uid.to_string(), u.gid.to_string());
    // keep-id: the user's IDs inside, the image's root files root's.
    let r = u.ok(&[
        "run",
        "--rm",
        "--userns",
        "keep-id",
        "localhost/bb:1",
        "sh",
        "-c",
        "id -u; id -g; stat -c %u:%g /bin/busybox /; id -un; echo $HOME",
    ]);
    // Named in the container's /etc/passwd, as podman adds the user.
    assert_eq!(r.stdout, format!("{uid}\n{gid}\n0:0\n0:0\n{}\n/\n", u.name));
    // A pod made with keep-id: its members join the infra's namespace and run
    // as its user unless --user says otherwise (podman 4.3's).
    u.ok(&["pod", "create", "--name", "kpod", "--userns", "keep-id"]);
    let in_pod = |user: &[&str]| {
        let args = [
            &["run", "--rm", "--pod", "kpod"],
            user,
            &["localhost/bb:1", "id", "-u"],
        ];
        u.ok(&args.concat()).stdout
    };
    assert_eq!(in_pod(&[]), format!("{uid}\n"));
    assert_eq!(in_pod(&["--user", "0"]), "0\n");
    u.ok(&["pod", "rm", "-f", "-t", "0", "kpod"]);
    // Its infra image goes too: its mapped copy is counted below.
    let infra = u.ok(&["images", "-q", "localhost/podman-pause"]).stdout;
    u.ok(&["rmi", infra.trim()]);
    // What it writes to a bind-mounted directory is the user's on the host.
    let data = u.home.join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(u.uid), Some(u.gid)).unwrap();
    u.ok(&[
        "run",
        "--rm",
        "--userns=keep-id",
        "-v",
        &format!("{}:/data", data.display()),
        "localhost/bb:1",
        "sh",
        "-c",
        "echo hi > /data/f",
    ]);
    let m = std::fs::metadata(data.join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (u.uid, u.gid));
    // A new named volume is the keep-id user's, who writes there.
    let r = u.ok(&[
        "run",
        "--rm",
        "--userns=keep-id",
        "-v",
        "kv:/kv",
        "localhost/bb:1",
        "sh",
        "-c",
        "touch /kv/f && stat -c %u /kv/f",
    ]);
    assert_eq!(r.stdout, format!("{uid}\n"));
    // uid=/gid= move the user's place in the container (podman's map).
    let r = u.ok(&[
        "run",
        "--rm",
        "--userns=keep-id:uid=11,gid=12",
        "localhost/bb:1",
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map",
    ]);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "11", "12", "0", "1", "11", "11", "0", "1", "12", "12", "65525"
        ],
        "{}",
        r.stdout
    );
    // A commit keeps the owners seen inside: root's file root's, the user's its.
    u.ok(&[
        "run",
        "--name",
        "k",
        "--userns=keep-id",
        "--user",
        "0",
        "localhost/bb:1",
        "sh",
        "-c",
        &format!("echo x > /r; touch /u; chown {uid}:{gid} /u"),
    ]);
    u.ok(&["commit", "-q", "k", "localhost/kept:1"]);
    let r = u.ok(&[
        "run",
        "--rm",
        "localhost/kept:1",
        "stat",
        "-c",
        "%u:%g",
        "/r",
        "/u",
    ]);
    assert_eq!(r.stdout, format!("0:0\n{uid}:{gid}\n"));
    // export too.
    let out = u.home.join("k.tar");
    u.ok(&["export", "-o", out.to_str().unwrap(), "k"]);
    let listing = Command::new("tar")
        .args(["--numeric-owner", "-tvf"])
        .arg(&out)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let owner_of = |name: &str| {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" {name}")) || l.ends_with(&format!(" ./{name}")))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    assert_eq!(owner_of("r").as_deref(), Some("0/0"), "{listing}");
    assert_eq!(owner_of("u"), Some(format!("{uid}/{gid}")), "{listing}");
    // keep-id takes the user's whole range: auto finds nothing while it stays
    // (as podman documents).
    let r = u.berth(&["run", "--rm", "--userns=auto", "localhost/bb:1", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr, "Error: could not find enough available IDs\n");
    u.ok(&["rm", "k"]);
    // nomap: the user is not in the container at all.
    let r = u.ok(&[
        "run",
        "--rm",
        "--userns=nomap",
        "localhost/bb:1",
        "sh",
        "-c",
        "cat /proc/self/uid_map; stat -c %u /bin/busybox",
    ]);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "1", "65536", "0"], "{}", r.stdout);
    // top finds its processes without a cgroup (none is delegated here), and
    // shows the host's ID of its root: the range's first.
    u.ok(&[
        "run",
        "-d",
        "--name",
        "nm",
        "--userns=nomap",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let top = u.ok(&["top", "nm", "huser", "args"]);
    let (start, _) = u.range.unwrap();
    assert_eq!(
        top.stdout
            .lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().next()),
        Some(start.to_string().as_str()),
        "{}",
        top.stdout
    );
    u.ok(&["rm", "-f", "-t", "0", "nm"]);
    // A container in the user's own namespace: its root is root inside, the
    // user on the host.
    u.ok(&[
        "run",
        "-d",
        "--name",
        "pl",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let top = u.ok(&["top", "pl", "user", "huser"]);
    let row: Vec<&str> = top
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["root", u.name.as_str()], "{}", top.stdout);
    u.ok(&["rm", "-f", "-t", "0", "pl"]);
    // Mounting is refused outside `berth unshare` (no shell of the user's would
    // see the mount), as podman refuses it; inside, it is done.
    u.ok(&["volume", "create", "mv"]);
    let r = u.berth(&["volume", "mount", "mv"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot run command \"berth volume mount\" in rootless mode, must execute `berth unshare` first"),
        "{}",
        r.stderr
    );
    let inside = u.ok(&[
        "unshare",
        env!("CARGO_BIN_EXE_berth"),
        "volume",
        "mount",
        "mv",
    ]);
    assert!(
        inside.stdout.trim().ends_with("/mv/_data"),
        "{}",
        inside.stdout
    );
    // auto: the size podman estimates (1024 at least), from the user's range;
    // a second container gets the next free IDs.
    u.ok(&[
        "run",
        "-d",
        "--name",
        "a1",
        "--userns=auto",
        "localhost/bb:1",
        "sleep",
        "600",
    ]);
    let r = u.ok(&["exec", "a1", "sh", "-c", "cat /proc/self/uid_map; id -u"]);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "1", "1024", "0"], "{}", r.stdout);
    let r = u.ok(&[
        "run",
        "--rm",
        "--userns=auto:size=2000",
        "localhost/bb:1",
        "cat",
        "/proc/self/uid_map",
    ]);
    let words: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "1025", "2000"], "{}", r.stdout);
    u.ok(&["rm", "-f", "-t", "0", "a1"]);
    // Bad options: one line, podman's words, 125, nothing made.
    for (mode, words) in [
        (
            "keep-id:foo=1",
            "Error: unknown option specified: \"foo\"\n",
        ),
        ("keep-id:uid", "Error: invalid option specified: \"uid\"\n"),
        (
            "auto:size=x",
            "Error: strconv.ParseUint: parsing \"x\": invalid syntax\n",
        ),
        ("bogus", "Error: unrecognized namespace mode bogus passed\n"),
    ] {
        let r = u.berth(&["run", "--rm", "--userns", mode, "localhost/bb:1", "true"]);
        assert_eq!((r.code, r.stderr.as_str()), (125, words), "{mode}");
    }
    let r = u.berth(&[
        "run",
        "--rm",
        "--userns=keep-id",
        "--uidmap",
        "0:1:10",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr,
        "Error: --userns and --uidmap/--gidmap/--subuidname/--subgidname are mutually exclusive\n"
    );
    assert_eq!(u.ok(&["ps", "-aq"]).stdout, "");
    // The mapped copies go with their images.
    let mapped = u.home.join(".local/share/berth/overlay-mapped");
    let copies = || -> Vec<PathBuf> {
        walk(&mapped)
            .into_iter()
            .filter(|p| p.parent().and_then(Path::parent) == Some(mapped.as_path()))
            .collect()
    };
    assert!(!copies().is_empty(), "no mapped copies were made");
    u.ok(&["rmi", "localhost/kept:1", "localhost/bb:1"]);
    assert_eq!(copies(), Vec::<PathBuf>::new());
    all_owned_by(&u.home.join(".local/share/berth"), &u).unwrap();
    // Mapped containers' views lived in /tmp/berth-userns-UID: reset takes it.
    let views = PathBuf::from(format!("/tmp/berth-userns-{}", u.uid));
    assert!(views.is_dir());
    u.ok(&["system", "reset", "-f"]);
    assert!(!views.exists());
}
