//! `generate systemd`: the units berth writes are run here as systemd would run
//! them (this machine has no systemd): their Exec lines split and their
//! specifiers expanded by systemd's rules, in a bare environment with the
//! unit's Environment=, and a notify socket that hears what `Type=notify`
//! waits for.

mod common;

use common::store::TestStore;
use common::{Run, run_cmd, wait_for};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;

const IMG: &str = "localhost/bb:1";

/// A unit as systemd loads it.
struct Unit {
    /// `container-x.service`, or `container-x@1.service` for an instance.
    name: String,
    instance: String,
    keys: Vec<(String, String)>,
    runtime_dir: PathBuf,
    store: PathBuf,
}

impl Unit {
    fn load(text: &str, name: &str, instance: &str, runtime_dir: &Path, st: &TestStore) -> Unit {
        let joined = text.replace("\\\n", "");
        let keys = joined
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('['))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Unit {
            name: name.to_string(),
            instance: instance.to_string(),
            keys,
            runtime_dir: runtime_dir.to_path_buf(),
            store: st.path().to_path_buf(),
        }
    }

    fn values(&self, key: &str) -> Vec<&str> {
        self.keys
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn value(&self, key: &str) -> &str {
        let v = self.values(key);
        assert_eq!(v.len(), 1, "one {key}= in the unit");
        v[0]
    }

    /// One word's specifiers (`%t`, `%n`, `%i`, `%I`, `%%`) and `$$`.
    fn expand(&self, word: &str) -> String {
        let mut out = String::new();
        let mut chars = word.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('t') => out.push_str(self.runtime_dir.to_str().unwrap()),
                Some('n') => out.push_str(&self.name),
                Some('i') | Some('I') => out.push_str(&self.instance),
                Some('%') => out.push('%'),
                other => panic!("specifier %{other:?} in {word}"),
            }
        }
        out.replace("$$", "$")
    }

    /// Runs every line of `key` in order, as systemd would, and returns the
    /// last one's result; the first failure stops.
    fn exec(&self, key: &str, notify: Option<&Path>) -> Run {
        let mut last = None;
        for line in self.values(key) {
            let words: Vec<String> = split_words(line).iter().map(|w| self.expand(w)).collect();
            let mut c = Command::new(&words[0]);
            c.args(&words[1..]).env_clear();
            c.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            c.env("CONTAINERS_CONF", common::CONTAINERS_CONF);
            c.env("CONTAINERS_REGISTRIES_CONF", "/dev/null");
            c.env("BERTH_OCI_EXE_DIR", self.store.join("exe"));
            for e in self.values("Environment") {
                for w in split_words(e) {
                    let (k, v) = w.split_once('=').expect("NAME=VALUE");
                    c.env(k, self.expand(v));
                }
            }
            if let Some(n) = notify {
                c.env("NOTIFY_SOCKET", n);
            }
            c.stdin(std::process::Stdio::null());
            let r = run_cmd(&mut c);
            assert_eq!(r.code, 0, "{key}={line}: {}", r.stderr);
            last = Some(r);
        }
        last.unwrap_or_else(|| panic!("no {key}= in the unit"))
    }
}

/// systemd's word splitting of a command line: blanks separate words,
/// double quotes group them, backslash escapes inside quotes.
fn split_words(line: &str) -> Vec<String> {
    let mut words = vec![];
    let mut chars = line.trim().chars().peekable();
    while chars.peek().is_some() {
        let mut w = String::new();
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == '\t' {
                break;
            }
            chars.next();
            if c != '"' {
                w.push(c);
                continue;
            }
            while let Some(q) = chars.next() {
                match q {
                    '"' => break,
                    '\\' => w.push(match chars.next() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some(e) => e,
                        None => '\\',
                    }),
                    q => w.push(q),
                }
            }
        }
        words.push(w);
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
    }
    words
}

/// The notify socket systemd listens on for a `Type=notify` unit.
struct NotifySocket {
    path: PathBuf,
    socket: UnixDatagram,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        NotifySocket { path, socket }
    }

    /// The next message, as `KEY=VALUE` lines.
    fn receive(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).expect("a notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn running(st: &TestStore) -> Vec<String> {
    st.ok(&["ps", "--format", "{{.Names}}"])
        .stdout
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_new_unit_makes_a_fresh_container_at_each_start_and_tells_systemd_it_is_ready() {
    let st = TestStore::with_busybox();
    let mut create = st.cmd();
    create.env("FOO", "value").args([
        "create",
        "--stop-timeout",
        "1",
        "--name",
        "svc",
        "-e",
        "FOO",
        "--env",
        "MY=my val",
        "--restart",
        "on-failure:42",
        IMG,
        "sh",
        "-c",
        "env; echo 100%; sleep 1000",
    ]);
    assert_eq!(run_cmd(&mut create).code, 0);
    let text = st
        .ok(&["generate", "systemd", "--new", "--name", "svc"])
        .stdout;
    assert!(text.starts_with("# container-svc.service\n"), "{text}");
    st.ok(&["rm", "svc"]);
    let rt = tempfile::tempdir().unwrap();
    let unit = Unit::load(&text, "container-svc.service", "", rt.path(), &st);
    assert_eq!(unit.value("Type"), "notify");
    assert_eq!(unit.value("NotifyAccess"), "all");
    // The container's --restart, as systemd's.
    assert_eq!(unit.value("Restart"), "on-failure");
    assert_eq!(unit.value("StartLimitBurst"), "42");
    let mut ids = vec![];
    for _ in 0..2 {
        let notify = NotifySocket::bind(rt.path());
        unit.exec("ExecStartPre", None);
        unit.exec("ExecStart", Some(&notify.path));
        let said = notify.receive();
        assert!(said.lines().any(|l| l == "READY=1"), "{said}");
        let main: i32 = said
            .lines()
            .find_map(|l| l.strip_prefix("MAINPID="))
            .expect("MAINPID")
            .parse()
            .unwrap();
        // The main pid is the container's monitor, which lives as long as it.
        assert!(
            alive(main) && cmdline(main).contains("__monitor"),
            "{}",
            cmdline(main)
        );
        assert_eq!(running(&st), ["svc"]);
        let id = std::fs::read_to_string(rt.path().join("container-svc.service.ctr-id")).unwrap();
        assert_eq!(st.inspect("svc", ".Id"), id.trim());
        ids.push(id);
        // -e FOO took the value the unit's Environment= gives it.
        wait_for("the service's output", || {
            st.ok(&["logs", "svc"]).stdout.contains("FOO=value")
        });
        let logs = st.ok(&["logs", "svc"]).stdout;
        assert!(
            logs.contains("MY=my val\n") && logs.contains("100%\n"),
            "{logs}"
        );
        unit.exec("ExecStop", None);
        unit.exec("ExecStopPost", None);
        wait_for("the monitor to end", || !alive(main));
        assert!(st.ok(&["ps", "-a", "-q"]).stdout.is_empty());
        drop(notify);
        std::fs::remove_file(rt.path().join("notify.sock")).unwrap();
    }
    assert_ne!(ids[0], ids[1], "a fresh container at each start");
    // Stopping a service that is not running is no error (--ignore).
    unit.exec("ExecStop", None);
    unit.exec("ExecStopPost", None);
}

#[test]
fn a_unit_for_an_existing_container_starts_it_and_systemd_follows_its_monitor() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--name",
        "old",
        "--stop-timeout",
        "3",
        IMG,
        "sleep",
        "1000",
    ]);
    let text = st.ok(&["generate", "systemd", "-n", "old"]).stdout;
    let rt = tempfile::tempdir().unwrap();
    let unit = Unit::load(&text, "container-old.service", "", rt.path(), &st);
    assert_eq!(unit.value("Type"), "forking");
    assert_eq!(unit.value("TimeoutStopSec"), "63");
    unit.exec("ExecStart", None);
    // systemd reads the pid file once ExecStart has returned.
    let pid: i32 = std::fs::read_to_string(unit.value("PIDFile"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        alive(pid) && cmdline(pid).contains("__monitor"),
        "{}",
        cmdline(pid)
    );
    assert_eq!(st.inspect("old", ".State.ConmonPid"), pid.to_string());
    assert_eq!(running(&st), ["old"]);
    unit.exec("ExecStop", None);
    wait_for("the monitor to end", || !alive(pid));
    assert_eq!(st.inspect("old", ".State.Status"), "exited");
    unit.exec("ExecStopPost", None);
    // The monitor's restarts would fight systemd's stop: said, not refused.
    st.ok(&["create", "--restart=always", "--name", "again", IMG, "true"]);
    let r = st.ok(&["generate", "systemd", "again"]);
    assert!(
        r.stderr.contains("level=warning")
            && r.stderr
                .contains("has restart policy \\\"always\\\" which can lead to issues"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("ExecStart="));
}

#[test]
fn a_template_unit_runs_one_container_per_instance() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "create",
        "--stop-timeout=1",
        "--name",
        "tpl",
        IMG,
        "sleep",
        "1000",
    ]);
    let text = st
        .ok(&["generate", "systemd", "--template", "-n", "tpl"])
        .stdout;
    assert!(text.starts_with("# container-tpl@.service\n"), "{text}");
    st.ok(&["rm", "tpl"]);
    let rt = tempfile::tempdir().unwrap();
    let units: Vec<Unit> = ["1", "2"]
        .iter()
        .map(|i| {
            Unit::load(
                &text,
                &format!("container-tpl@{i}.service"),
                i,
                rt.path(),
                &st,
            )
        })
        .collect();
    for u in &units {
        u.exec("ExecStartPre", None);
        u.exec("ExecStart", None);
    }
    let mut names = running(&st);
    names.sort();
    assert_eq!(names, ["tpl-1", "tpl-2"]);
    for u in &units {
        u.exec("ExecStop", None);
        u.exec("ExecStopPost", None);
    }
    assert!(st.ok(&["ps", "-a", "-q"]).stdout.is_empty());
}

#[test]
fn a_pods_units_start_its_infra_and_bind_its_members() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "p"]);
    st.ok(&[
        "create",
        "--stop-timeout=1",
        "--pod",
        "p",
        "--name",
        "member",
        IMG,
        "sleep",
        "1000",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let r = run_cmd(
        st.cmd()
            .current_dir(dir.path())
            .args(["generate", "systemd", "--name", "--files", "p"]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pod_file = dir.path().join("pod-p.service");
    let member_file = dir.path().join("container-member.service");
    let mut printed: Vec<&str> = r.stdout.lines().collect();
    printed.sort();
    assert_eq!(
        printed,
        [member_file.to_str().unwrap(), pod_file.to_str().unwrap()]
    );
    let rt = tempfile::tempdir().unwrap();
    let pod_text = std::fs::read_to_string(&pod_file).unwrap();
    let member_text = std::fs::read_to_string(&member_file).unwrap();
    let pod = Unit::load(&pod_text, "pod-p.service", "", rt.path(), &st);
    let member = Unit::load(&member_text, "container-member.service", "", rt.path(), &st);
    assert_eq!(
        pod.values("Wants"),
        ["network-online.target", "container-member.service"]
    );
    assert_eq!(pod.value("Before"), "container-member.service");
    assert_eq!(member.value("BindsTo"), "pod-p.service");
    assert_eq!(
        member.values("After"),
        ["network-online.target", "pod-p.service"]
    );
    // systemd starts the pod's unit, then the members it wants.
    pod.exec("ExecStart", None);
    member.exec("ExecStart", None);
    let infra_pid: i32 = std::fs::read_to_string(pod.value("PIDFile"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(infra_pid));
    assert_eq!(
        st.ok(&["pod", "inspect", "--format", "{{.State}}", "p"])
            .stdout
            .trim(),
        "Running"
    );
    member.exec("ExecStop", None);
    pod.exec("ExecStop", None);
    wait_for("the infra's monitor to end", || !alive(infra_pid));
    // JSON: the units by name.
    let j = common::json(
        &st.ok(&["generate", "systemd", "--name", "--format", "json", "p"])
            .stdout,
    );
    assert!(j["pod-p"].as_str().unwrap().contains("ExecStart="), "{j}");
    assert!(j["container-member"].is_string(), "{j}");
}

#[test]
fn generate_systemd_refuses_what_it_cannot_write() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "p"]);
    st.ok(&["create", "--name", "c", IMG, "true"]);
    for (args, says) in [
        (
            &["--new", "--template", "p"][..],
            "--template is not supported for pods",
        ),
        (
            &["--new=false", "--template", "c"][..],
            "--template cannot be set with --new=false",
        ),
        (
            &["--restart-policy", "sometimes", "c"][..],
            "sometimes is not a valid restart policy",
        ),
        (
            &["nosuch"][..],
            "no container with name or ID \"nosuch\" found",
        ),
        (
            &["--format", "yaml", "c"][..],
            "unknown --format argument: yaml",
        ),
    ] {
        let r = st.run(&[&["generate", "systemd"][..], args].concat());
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
}

#[test]
fn a_container_for_systemd_gets_its_tmpfs_uuid_and_halt_signal() {
    let st = TestStore::with_busybox();
    let script = "echo uuid=$container_uuid; grep -E ' /(run|run/lock|tmp|var/log/journal) ' /proc/mounts; \
                  trap 'echo halted; exit 0' 37; echo ready; while :; do sleep 0.1; done";
    let id = st
        .ok(&[
            "run",
            "-d",
            "--systemd=always",
            "--name",
            "sd",
            IMG,
            "sh",
            "-c",
            script,
        ])
        .stdout;
    let id = id.trim();
    wait_for("the container's trap", || {
        st.ok(&["logs", "sd"]).stdout.contains("ready")
    });
    let logs = st.ok(&["logs", "sd"]).stdout;
    assert!(logs.contains(&format!("uuid={}\n", &id[..32])), "{logs}");
    for d in ["/run", "/run/lock", "/tmp", "/var/log/journal"] {
        assert!(
            logs.contains(&format!("tmpfs {d} tmpfs rw,")),
            "{d}: {logs}"
        );
    }
    // systemd halts on SIGRTMIN+3 (it ignores SIGTERM): stop sends that.
    st.ok(&["stop", "-t", "60", "sd"]);
    assert!(st.ok(&["logs", "sd"]).stdout.contains("halted"));
    assert_eq!(st.inspect("sd", ".State.ExitCode"), "0");
    // Not for other commands unless asked.
    let r = st.ok(&[
        "run",
        "--rm",
        IMG,
        "sh",
        "-c",
        "echo ${container_uuid:-none}",
    ]);
    assert_eq!(r.stdout, "none\n");
    let r = st.run(&["run", "--rm", "--systemd=sometimes", IMG, "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr
            .contains("--systemd sometimes: expected true, false or always"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_new_pods_units_make_the_pod_and_its_members_afresh() {
    let st = TestStore::with_busybox();
    st.ok(&["pod", "create", "--network", "none", "--name", "np"]);
    st.ok(&[
        "create",
        "--stop-timeout=1",
        "--pod",
        "np",
        "--name",
        "nm",
        IMG,
        "sleep",
        "1000",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let r = run_cmd(
        st.cmd()
            .current_dir(dir.path())
            .args(["generate", "systemd", "--new", "--name", "--files", "np"]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The old pod goes; the units make their own.
    st.ok(&["pod", "rm", "-f", "np"]);
    let rt = tempfile::tempdir().unwrap();
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let pod = Unit::load(
        &read("pod-np.service"),
        "pod-np.service",
        "",
        rt.path(),
        &st,
    );
    let member = Unit::load(
        &read("container-nm.service"),
        "container-nm.service",
        "",
        rt.path(),
        &st,
    );
    assert_eq!(pod.value("Type"), "forking");
    assert_eq!(member.value("BindsTo"), "pod-np.service");
    for round in 0..2 {
        pod.exec("ExecStartPre", None);
        pod.exec("ExecStart", None);
        let notify = NotifySocket::bind(rt.path());
        member.exec("ExecStartPre", None);
        member.exec("ExecStart", Some(&notify.path));
        assert!(notify.receive().contains("READY=1"));
        let infra: i32 = std::fs::read_to_string(pod.expand(pod.value("PIDFile")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            alive(infra) && cmdline(infra).contains("__monitor"),
            "round {round}"
        );
        assert_eq!(st.inspect("nm", ".Pod").len(), 64);
        let pod_id = std::fs::read_to_string(rt.path().join("pod-np.pod-id")).unwrap();
        assert_eq!(st.inspect("nm", ".Pod"), pod_id.trim());
        assert_eq!(
            st.ok(&["pod", "inspect", "--format", "{{.State}}", "np"])
                .stdout
                .trim(),
            "Running"
        );
        member.exec("ExecStop", None);
        member.exec("ExecStopPost", None);
        pod.exec("ExecStop", None);
        pod.exec("ExecStopPost", None);
        wait_for("the infra's monitor to end", || !alive(infra));
        assert_eq!(st.run(&["pod", "exists", "np"]).code, 1);
        assert!(st.ok(&["ps", "-a", "-q"]).stdout.is_empty());
        drop(notify);
        std::fs::remove_file(rt.path().join("notify.sock")).unwrap();
    }
}
