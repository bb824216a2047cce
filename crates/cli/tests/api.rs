//! `system service`: berth's REST API, driven by real clients (Debian's
//! python3-docker) and by hostile requests, against a service each test
//! starts on its own socket.

mod common;
mod support;

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::store::TestStore;
use common::wait_for;

const IMG: &str = "localhost/bb:1";

/// A running `system service`, killed (it is this test's own unreaped child)
/// when the test ends, passed or failed.
struct Service {
    child: Child,
    socket: PathBuf,
}

impl Service {
    fn start(st: &TestStore, time: &str) -> Service {
        Service::start_with(st, time, &[])
    }

    /// A service whose registries.conf says `reg` speaks plain HTTP.
    /// Debian's podman as a remote client of this service: exit code, stdout, stderr.
    fn podman(&self, args: &[&str]) -> (i32, String, String) {
        let url = format!("unix://{}", self.socket.display());
        let out = Command::new("timeout")
            .args(["-s", "KILL", "60", "podman", "--remote", "--url", &url])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn for_registry(st: &TestStore, reg: &support::registry::Registry) -> Service {
        let conf = st.path().join("registries.conf");
        let text = format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr()
        );
        std::fs::write(&conf, text).unwrap();
        Service::start_with(st, "0", &[("CONTAINERS_REGISTRIES_CONF", &conf)])
    }

    fn start_with(st: &TestStore, time: &str, env: &[(&str, &std::path::Path)]) -> Service {
        let socket = st.path().join("api.sock");
        let mut cmd = st.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .args(["system", "service", "--time", time])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the service's socket", || {
            UnixStream::connect(&socket).is_ok()
        });
        Service { child, socket }
    }

    /// One raw request on a new connection; the whole answer.
    fn raw(&self, request: &[u8]) -> String {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        // The service may answer and close before reading all of a refused request.
        let _ = s.write_all(request);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[test]
fn docker_py_runs_lists_logs_and_removes_through_the_service() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/docker_py.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&svc.socket)
        .arg(IMG)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docker-py: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("volumes ok\nnetworks True\n"), "{stdout}");
    // What the API made and removed, the CLI sees the same way.
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    assert_eq!(st.run(&["volume", "exists", "apivol"]).code, 1);
}

#[test]
fn containers_made_by_the_cli_are_seen_by_the_api_and_the_other_way_round() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    st.ok(&["create", "--name", "from-cli", IMG, "true"]);
    let list = svc
        .raw(b"GET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n");
    assert_eq!(status(&list), 200, "{list}");
    assert!(list.contains("\"Names\":[\"/from-cli\"]"), "{list}");
    let body = format!("{{\"Image\":\"{IMG}\",\"Cmd\":[\"true\"]}}");
    let create = svc.raw(
        format!(
            "POST /v1.41/containers/create?name=from-api HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(status(&create), 201, "{create}");
    assert_eq!(st.inspect("from-api", ".Config.Cmd"), "[true]");
    // Prune is the engine's, as the CLI's: the running container and a
    // build's working container stay.
    st.ok(&["run", "-d", "--name", "up", IMG, "sleep", "1000"]);
    let working = st.ok(&["builder", "from", "-q", IMG]).stdout;
    let prune = svc.raw(
        b"POST /v1.41/containers/prune HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status(&prune), 200, "{prune}");
    for gone in ["from-cli", "from-api"] {
        assert_eq!(
            st.run(&["container", "exists", gone]).code,
            1,
            "{gone}: {prune}"
        );
    }
    assert_eq!(st.run(&["container", "exists", "up"]).code, 0, "{prune}");
    let listed = st.ok(&["builder", "containers", "-q"]).stdout;
    assert!(
        !listed.trim().is_empty(),
        "the working container {working} went"
    );
}

#[test]
fn hostile_requests_get_a_clear_status_and_the_service_goes_on() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let mode = std::fs::metadata(&svc.socket).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o660,
        "the socket is for its owner and group only"
    );
    let huge_header = format!(
        "GET /_ping HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(berth_api::http::MAX_HEAD)
    );
    assert_eq!(status(&svc.raw(huge_header.as_bytes())), 431);
    let huge_body = format!(
        "POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        berth_api::http::MAX_BODY + 1
    );
    assert_eq!(status(&svc.raw(huge_body.as_bytes())), 413);
    let bad_json = svc.raw(b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope");
    assert_eq!(status(&bad_json), 400, "{bad_json}");
    assert!(bad_json.contains("request body"), "{bad_json}");
    let bad_ports = r#"{"Image":"localhost/bb:1","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"1.2.3.4:9","HostPort":"8080"}]}}}"#;
    let r = svc.raw(
        format!(
            "POST /containers/create HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bad_ports}",
            bad_ports.len()
        )
        .as_bytes(),
    );
    assert_eq!(status(&r), 400, "{r}");
    assert!(r.contains("HostIp"), "{r}");
    assert_eq!(status(&svc.raw(b"GARBAGE\r\n\r\n")), 400);
    // An archive whose entry climbs out of the destination is refused, and
    // nothing lands outside the container.
    st.ok(&["run", "-d", "--name", "box", IMG, "sleep", "1000"]);
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_old();
    let escape = format!("../../../../../../..{}/escaped", st.path().display());
    h.as_mut_bytes()[..escape.len()].copy_from_slice(escape.as_bytes());
    h.set_size(3);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append(&h, &b"bad"[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let mut put = format!(
        "PUT /v1.41/containers/box/archive?path=/ HTTP/1.1\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        tar.len()
    )
    .into_bytes();
    put.extend_from_slice(&tar);
    let r = svc.raw(&put);
    assert_eq!(status(&r), 400, "{r}");
    assert!(
        !st.path().join("escaped").exists(),
        "the archive wrote outside the container"
    );
    // A good archive on libpod's path (its body streamed as Docker's is).
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_path("good.txt").unwrap();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    tar.append(&h, &b"good\n"[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let mut put = format!(
        "PUT /v4.3.1/libpod/containers/box/archive?path=/ HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        tar.len()
    )
    .into_bytes();
    put.extend_from_slice(&tar);
    let r = svc.raw(&put);
    assert_eq!(status(&r), 200, "{r}");
    assert_eq!(st.ok(&["exec", "box", "cat", "/good.txt"]).stdout, "good\n");
    st.ok(&["rm", "-f", "-t", "0", "box"]);
    let missing = svc.raw(b"GET /v1.41/nowhere HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status(&missing), 404);
    // A client gone mid-request leaves nothing behind and the service answers the next.
    svc.raw(b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"Im");
    let ping = svc.raw(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(ping.ends_with("OK"), "{ping}");
    assert!(ping.contains("Api-Version: 1.41"), "{ping}");
    assert_eq!(
        st.ok(&["ps", "-aq"]).stdout,
        "",
        "a refused request made a container"
    );
}

#[test]
fn the_service_exits_after_its_idle_time_and_refuses_a_taken_socket() {
    let st = TestStore::with_busybox();
    let mut svc = Service::start(&st, "1");
    // A second service on the same socket is refused while the first listens.
    let second = st.run(&[
        "system",
        "service",
        &format!("unix://{}", svc.socket.display()),
    ]);
    assert_eq!(second.code, 125, "{}", second.stderr);
    assert!(
        second.stderr.contains("another service is listening"),
        "{}",
        second.stderr
    );
    let ping = svc.raw(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(ping.ends_with("OK"), "{ping}");
    // A URI of no scheme it serves: podman's words.
    let bad = st.run(&["system", "service", "localhost:9292"]);
    assert_eq!(bad.code, 125);
    assert!(
        bad.stderr.contains("API Service endpoint scheme \"localhost\" is not supported. Try tcp://localhost:9292 or unix:/localhost:9292"),
        "{}",
        bad.stderr
    );
    // No client for a second: it ends on its own, successfully.
    let status = svc.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// Debian's docker CLI (docker.io; its daemon never runs) against the service.
fn docker(svc: &Service, args: &[&str], stdin: &str) -> (i32, String, String) {
    // Killed, not asked: `docker run` passes a polite signal on to its container.
    let mut child = Command::new("timeout")
        .args(["-s", "KILL", "60", "/usr/bin/docker"])
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()))
        .env("DOCKER_CONFIG", svc.socket.with_file_name("docker-config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_docker_cli_runs_execs_and_lists_through_the_service() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let ok = |args: &[&str], stdin: &str| {
        let (code, out, err) = docker(&svc, args, stdin);
        assert_eq!(code, 0, "docker {args:?}: {out}{err}");
        out
    };
    // A foreground run: attached before its start, its exit code passed on.
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--name",
            "fg",
            IMG,
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 5",
        ],
        "",
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (5, "to-out\n", "to-err\n")
    );
    // --rm: Docker's client waits for the removal and passes the exit code on.
    let (code, _, err) = docker(&svc, &["run", "--rm", IMG, "sh", "-c", "exit 3"], "");
    assert_eq!(code, 3, "{err}");
    // Piped input reaches the container and ends there.
    assert_eq!(
        ok(
            &["run", "-i", "--rm", IMG, "sh", "-c", "cat; echo end"],
            "in1\nin2\n"
        ),
        "in1\nin2\nend\n"
    );
    let id = ok(
        &[
            "run", "-d", "--name", "srv", "-l", "k=v", IMG, "sleep", "1000",
        ],
        "",
    );
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(
        ok(&["exec", "srv", "sh", "-c", "echo $((6*7))"], ""),
        "42\n"
    );
    let (code, _, _) = docker(&svc, &["exec", "srv", "sh", "-c", "exit 9"], "");
    assert_eq!(code, 9);
    assert_eq!(
        ok(&["exec", "-i", "srv", "wc", "-l"], "a\nb\nc\n").trim(),
        "3"
    );
    // A terminal for the process (-t), through the service's pty.
    assert!(ok(&["exec", "-t", "srv", "tty"], "").starts_with("/dev/pts/"));
    // logs -f follows a container until it ends.
    ok(
        &[
            "run",
            "-d",
            "--name",
            "ticker",
            IMG,
            "sh",
            "-c",
            "for i in 1 2 3; do echo t$i; sleep 0.1; done",
        ],
        "",
    );
    assert_eq!(ok(&["logs", "-f", "ticker"], ""), "t1\nt2\nt3\n");
    ok(&["rm", "ticker"], "");
    // A user network: made, listed, inspected, joined, removed.
    ok(&["network", "create", "dnet"], "");
    assert!(
        ok(&["network", "ls", "--format", "{{.Name}}"], "")
            .lines()
            .any(|l| l == "dnet")
    );
    assert_eq!(
        ok(
            &["network", "inspect", "-f", "{{.Name}} {{.Driver}}", "dnet"],
            ""
        ),
        "dnet bridge\n"
    );
    assert_eq!(
        ok(
            &["run", "--rm", "--network", "dnet", IMG, "echo", "on-dnet"],
            ""
        ),
        "on-dnet\n"
    );
    ok(&["network", "rm", "dnet"], "");
    let ps = ok(&["ps", "--format", "{{.Names}} {{.Labels}}"], "");
    assert_eq!(ps, "srv k=v\n");
    assert_eq!(ok(&["logs", "fg"], ""), "to-out\n");
    assert_eq!(
        ok(
            &[
                "inspect",
                "-f",
                "{{.State.ExitCode}} {{.Config.StopSignal}}",
                "fg"
            ],
            ""
        ),
        "5 SIGTERM\n"
    );
    assert!(ok(&["images"], "").contains("localhost/bb"));
    assert_eq!(ok(&["history", "-q", IMG], "").lines().count(), 1);
    // The event log, as docker reads it: recorded events within a window
    // (docker sends a duration's time in whole seconds: the window ends later).
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let died = ok(
        &[
            "events",
            "--since",
            "10m",
            "--until",
            &later.to_string(),
            "--filter",
            "event=die",
            "--filter",
            "container=fg",
        ],
        "",
    );
    assert_eq!(died.lines().count(), 1, "{died}");
    assert!(
        died.contains("container die") && died.contains("name=fg"),
        "{died}"
    );
    ok(&["volume", "create", "dv"], "");
    assert!(ok(&["volume", "ls", "-q"], "").contains("dv"));
    // docker cp, both ways, through the archive endpoints.
    let host = st.path().join("hf.txt");
    std::fs::write(&host, "from-host\n").unwrap();
    ok(&["cp", host.to_str().unwrap(), "srv:/"], "");
    assert_eq!(ok(&["exec", "srv", "cat", "/hf.txt"], ""), "from-host\n");
    let back = st.path().join("back.txt");
    ok(&["cp", "srv:/hf.txt", back.to_str().unwrap()], "");
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "from-host\n");
    let (code, _, err) = docker(
        &svc,
        &["cp", "srv:/no-such-file", back.to_str().unwrap()],
        "",
    );
    assert_eq!(code, 1, "{err}");
    // What it changed, committed, saved, loaded back; its files exported; its use.
    assert!(ok(&["diff", "srv"], "").contains("A /hf.txt"));
    ok(
        &[
            "commit",
            "-c",
            "ENV FROM_COMMIT=1",
            "srv",
            "localhost/committed:1",
        ],
        "",
    );
    let saved = st.path().join("saved.tar");
    ok(
        &[
            "save",
            "-o",
            saved.to_str().unwrap(),
            "localhost/committed:1",
        ],
        "",
    );
    ok(&["rmi", "localhost/committed:1"], "");
    assert!(ok(&["load", "-i", saved.to_str().unwrap()], "").contains("localhost/committed:1"));
    assert_eq!(
        ok(
            &[
                "run",
                "--rm",
                "localhost/committed:1",
                "sh",
                "-c",
                "cat /hf.txt; echo $FROM_COMMIT"
            ],
            ""
        ),
        "from-host\n1\n"
    );
    let export = st.path().join("export.tar");
    ok(&["export", "-o", export.to_str().unwrap(), "srv"], "");
    let names = tar::Archive::new(std::fs::File::open(&export).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert!(
        names.iter().any(|n| n.trim_start_matches("./") == "hf.txt"),
        "{names:?}"
    );
    assert!(ok(&["stats", "--no-stream", "srv"], "").contains("srv"));
    let df = ok(
        &["system", "df", "--format", "{{.Type}} {{.TotalCount}}"],
        "",
    );
    assert!(
        df.contains("Containers 2\n") && df.contains("Images "),
        "{df}"
    );
    ok(&["rm", "-f", "srv", "fg"], "");
    ok(&["volume", "rm", "dv"], "");
    // The CLI sees what docker left: nothing.
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    let (code, _, err) = docker(&svc, &["inspect", "no-such"], "");
    assert_eq!(code, 1);
    assert!(
        err.contains("No such object") || err.contains("no-such"),
        "{err}"
    );
}

/// docker-compose 1.29 (Debian's), one project through the service: a user
/// network where services find each other by name, a named volume, a port on
/// 127.0.0.1, depends_on, exec and logs, then `down -v` leaving nothing.
#[test]
fn docker_compose_brings_a_project_up_and_down() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = st.path().join("proj");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!(
            r#"version: "3"
services:
  web:
    image: {IMG}
    command: ["sh", "-c", "echo saved > /data/f; while true; do echo hello-from-web | nc -l -p 8080; done"]
    volumes: ["data:/data"]
    ports: ["127.0.0.1:{port}:8080"]
  client:
    image: {IMG}
    depends_on: [web]
    command: ["sh", "-c", "until nc web 8080 </dev/null; do sleep 0.2; done; echo client-done"]
volumes:
  data: {{}}
"#
        ),
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let out = Command::new("timeout")
            .args(["-s", "KILL", "120", "docker-compose", "-p", "proj"])
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "docker-compose {args:?}: {text}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    compose(&["up", "-d"]);
    // The client found the web service by its name, through the network's DNS.
    let (code, out, err) = docker(&svc, &["wait", "proj_client_1"], "");
    assert_eq!((code, out.trim()), (0, "0"), "{err}");
    let logs = compose(&["logs", "--no-color", "client"]);
    assert!(
        logs.contains("hello-from-web") && logs.contains("client-done"),
        "{logs}"
    );
    let mut answer = String::new();
    wait_for("the published port", || {
        answer.clear();
        std::net::TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut s| s.read_to_string(&mut answer))
            .is_ok()
            && !answer.is_empty()
    });
    assert_eq!(answer, "hello-from-web\n");
    assert_eq!(compose(&["exec", "-T", "web", "cat", "/data/f"]), "saved\n");
    let ps = compose(&["ps"]);
    assert_eq!(ps.matches("proj_web_1").count(), 1, "{ps}");
    compose(&["down", "-v"]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    assert_eq!(st.run(&["volume", "exists", "proj_data"]).code, 1);
    assert_eq!(st.run(&["network", "exists", "proj_default"]).code, 1);
}

/// One request on its own connection: the status and the whole raw answer.
fn request(
    socket: &std::path::Path,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, text))
}

/// 64 clients at once for a minute, mixing list, inspect, logs and whole
/// container lives (create, start, wait, logs, rm): every request answered as
/// it should be, and nothing left behind.
#[test]
fn sixty_four_concurrent_clients_for_a_minute() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    st.ok(&[
        "run",
        "-d",
        "--name",
        "anchor",
        IMG,
        "sh",
        "-c",
        "echo anchored; sleep 1000",
    ]);
    // Its line is in its log before any client asks for it.
    wait_for("the anchor's first line in its log", || {
        st.ok(&["logs", "anchor"]).stdout == "anchored\n"
    });
    let secs: u64 = std::env::var("BERTH_API_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let socket = svc.socket.clone();
    let (failures, requests): (Vec<String>, usize) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..64)
            .map(|w| {
                let socket = socket.clone();
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    let mut n = 0;
                    let mut round = 0usize;
                    while std::time::Instant::now() < deadline {
                        round += 1;
                        let mut check =
                            |method: &str, path: &str, body: &str, want: u16, has: &str| {
                                n += 1;
                                match request(&socket, method, path, body) {
                                    Ok((code, text)) if code == want && text.contains(has) => {
                                        Some(text)
                                    }
                                    Ok((code, text)) => {
                                        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
                                        failed.push(format!("{method} {path}: {code} {body:?}"));
                                        None
                                    }
                                    Err(e) => {
                                        failed.push(format!("{method} {path}: {e}"));
                                        None
                                    }
                                }
                            };
                        match (w + round) % 8 {
                            0 => {
                                let name = format!("c{w}-{round}");
                                let body =
                                    format!(r#"{{"Image":"{IMG}","Cmd":["echo","{name}"]}}"#);
                                if check(
                                    "POST",
                                    &format!("/v1.41/containers/create?name={name}"),
                                    &body,
                                    201,
                                    "Id",
                                )
                                .is_some()
                                {
                                    check(
                                        "POST",
                                        &format!("/v1.41/containers/{name}/start"),
                                        "",
                                        204,
                                        "",
                                    );
                                    check(
                                        "POST",
                                        &format!("/v1.41/containers/{name}/wait"),
                                        "",
                                        200,
                                        "\"StatusCode\":0",
                                    );
                                    check(
                                        "GET",
                                        &format!("/v1.41/containers/{name}/logs?stdout=1"),
                                        "",
                                        200,
                                        &name,
                                    );
                                    check(
                                        "DELETE",
                                        &format!("/v1.41/containers/{name}"),
                                        "",
                                        204,
                                        "",
                                    );
                                }
                            }
                            1 | 2 => {
                                check("GET", "/v1.41/containers/json?all=1", "", 200, "/anchor");
                            }
                            3 | 4 => {
                                check(
                                    "GET",
                                    "/v1.41/containers/anchor/json",
                                    "",
                                    200,
                                    "\"Running\":true",
                                );
                            }
                            5 => {
                                check(
                                    "GET",
                                    "/v1.41/containers/anchor/logs?stdout=1&stderr=1",
                                    "",
                                    200,
                                    "anchored",
                                );
                            }
                            6 => {
                                check("GET", "/v1.41/images/json", "", 200, "localhost/bb:1");
                            }
                            _ => {
                                check("GET", "/_ping", "", 200, "OK");
                            }
                        }
                    }
                    (failed, n)
                })
            })
            .collect();
        workers.into_iter().fold((Vec::new(), 0), |(mut f, n), w| {
            let (wf, wn) = w.join().unwrap();
            f.extend(wf);
            (f, n + wn)
        })
    });
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert!(requests > 64, "only {requests} requests in {secs} s");
    // Nothing leaked: only the anchor is left, and once it goes, no mount of the store.
    assert_eq!(
        st.ok(&["ps", "-a", "--format", "{{.Names}}"]).stdout,
        "anchor\n"
    );
    st.ok(&["rm", "-f", "-t", "0", "anchor"]);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = st.path().to_string_lossy().into_owned();
    assert!(
        !mounts
            .lines()
            .any(|l| l.contains(&root) && l.contains("/overlay/")),
        "a container's mount was left"
    );
}

/// `docker build` through the service: the context goes as a tar, the build
/// runs (RUN included) and its image runs; a failing step fails the build.
#[test]
fn the_docker_cli_builds_from_a_context() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let ctx = st.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {IMG}\nARG X=1\nCOPY f.txt /f.txt\nRUN echo built-$X > /b.txt\nRUN printf no-newline-from-run\n"),
    )
    .unwrap();
    std::fs::write(ctx.join("f.txt"), "from-context\n").unwrap();
    std::fs::write(ctx.join("Bad"), format!("FROM {IMG}\nRUN exit 3\n")).unwrap();
    let dir = ctx.to_str().unwrap();
    let (code, out, err) = docker(
        &svc,
        &[
            "build",
            "-t",
            "localhost/built:1",
            "--build-arg",
            "X=7",
            dir,
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Successfully built"), "{out}");
    // A step's own output reaches the client; the image's ID is not mixed into it.
    assert!(out.contains("no-newline-from-run"), "{out}");
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--rm",
            "localhost/built:1",
            "cat",
            "/f.txt",
            "/b.txt",
        ],
        "",
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "from-context\nbuilt-7\n"),
        "{err}"
    );
    let bad = ctx.join("Bad");
    let (code, _, err) = docker(&svc, &["build", "-f", bad.to_str().unwrap(), dir], "");
    assert_ne!(code, 0);
    assert!(
        err.contains("exit status 3") || err.contains("RUN exit 3"),
        "{err}"
    );
    // The CLI's store has the image the API built.
    assert_eq!(st.run(&["image", "exists", "localhost/built:1"]).code, 0);
    // -q: the image's ID alone.
    let (code, out, err) = docker(&svc, &["build", "-q", "-t", "localhost/quiet:1", dir], "");
    assert_eq!(code, 0, "{out}{err}");
    let id = st.inspect("localhost/quiet:1", ".Id");
    assert_eq!(out, format!("sha256:{id}\n"), "{err}");
}

/// Debian's podman as a remote client (`podman --remote`) of the libpod
/// endpoints: run, ps, logs, exec, pods and kube play.
#[test]
fn podman_remote_runs_containers_pods_and_kube_play_through_the_service() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let podman = |args: &[&str]| {
        let (code, o, e) = svc.podman(args);
        assert_eq!(code, 0, "podman --remote {args:?}: {o}{e}");
        o
    };
    podman(&[
        "run",
        "-d",
        "--name",
        "r1",
        "-l",
        "k=v",
        IMG,
        "sh",
        "-c",
        "echo logged; sleep 1000",
    ]);
    assert_eq!(
        podman(&["ps", "--format", "{{.Names}} {{.Labels}}"]),
        "r1 map[k:v]\n"
    );
    assert_eq!(
        podman(&["run", "--rm", IMG, "echo", "foreground"]),
        "foreground\n"
    );
    assert_eq!(podman(&["exec", "r1", "echo", "in-exec"]), "in-exec\n");
    // cp both ways (libpod's stat names the path to read, and a symlink's target).
    let host = st.path().join("to-container");
    std::fs::write(&host, "copied in\n").unwrap();
    podman(&["cp", host.to_str().unwrap(), "r1:/in"]);
    assert_eq!(podman(&["exec", "r1", "cat", "/in"]), "copied in\n");
    podman(&["exec", "r1", "ln", "-s", "/in", "/link"]);
    let back = st.path().join("from-container");
    podman(&["cp", "r1:/link", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "copied in\n");
    let mut logged = String::new();
    wait_for("the container's first line in its log", || {
        logged = podman(&["logs", "r1"]);
        !logged.is_empty()
    });
    assert_eq!(logged, "logged\n");
    podman(&["pod", "create", "--name", "rpod"]);
    podman(&[
        "run", "-d", "--pod", "rpod", "--name", "member", IMG, "sleep", "1000",
    ]);
    assert_eq!(
        podman(&["pod", "inspect", "--format", "{{.NumContainers}}", "rpod"]),
        "2\n"
    );
    let yaml = st.path().join("kp.yaml");
    std::fs::write(
        &yaml,
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: kp}}\nspec:\n  containers:\n  - {{name: a, image: {IMG}, command: [sleep, \"1000\"]}}\n"),
    )
    .unwrap();
    podman(&["kube", "play", yaml.to_str().unwrap()]);
    // The CLI sees what the remote client made.
    assert_eq!(st.inspect("kp-a", ".State.Status"), "running");
    // Units for the service's containers, running the service's berth.
    let unit = podman(&[
        "generate",
        "systemd",
        "--name",
        "--restart-policy",
        "always",
        "r1",
    ]);
    assert!(unit.starts_with("# container-r1.service\n"), "{unit}");
    // The binary itself, not the read-only image the service runs from (gone
    // after a reboot).
    assert!(
        unit.contains(&format!("ExecStart={} ", env!("CARGO_BIN_EXE_berth"))),
        "{unit}"
    );
    assert!(
        unit.contains("\nRestart=always\n") && unit.contains(" start r1\n"),
        "{unit}"
    );
    // Volumes and networks through libpod's endpoints.
    assert_eq!(
        podman(&["volume", "create", "--label", "k=v", "rvol"]),
        "rvol\n"
    );
    assert!(
        podman(&["volume", "ls", "--format", "{{.Name}}"])
            .lines()
            .any(|l| l == "rvol")
    );
    assert_eq!(
        podman(&["volume", "inspect", "--format", "{{.Labels}}", "rvol"]),
        "map[k:v]\n"
    );
    assert_eq!(st.ok(&["volume", "exists", "rvol"]).code, 0);
    podman(&["volume", "rm", "rvol"]);
    assert_eq!(st.run(&["volume", "exists", "rvol"]).code, 1);
    assert_eq!(
        podman(&["network", "create", "--subnet", "10.89.77.0/24", "rnet"]),
        "rnet\n"
    );
    assert!(
        podman(&["network", "ls", "--format", "{{.Name}}"])
            .lines()
            .any(|l| l == "rnet")
    );
    let subnet = podman(&[
        "network",
        "inspect",
        "--format",
        "{{range .Subnets}}{{.Subnet}}{{end}}",
        "rnet",
    ]);
    assert_eq!(subnet, "10.89.77.0/24\n");
    podman(&["network", "rm", "rnet"]);
    assert_eq!(st.run(&["network", "exists", "rnet"]).code, 1);
    // Secrets: the data reaches the store, never an answer.
    let data = st.path().join("secret-data");
    std::fs::write(&data, "remote-s3cret").unwrap();
    let id = podman(&["secret", "create", "rsec", data.to_str().unwrap()]);
    assert_eq!(id.trim().len(), 25, "{id}");
    let listed = podman(&["secret", "ls", "--format", "{{.Name}}"]);
    assert_eq!(listed, "rsec\n");
    let shown = podman(&["secret", "inspect", "rsec"]);
    assert!(
        shown.contains("\"rsec\"") && !shown.contains("remote-s3cret"),
        "{shown}"
    );
    assert_eq!(
        st.ok(&[
            "run",
            "--rm",
            "--secret",
            "rsec",
            IMG,
            "cat",
            "/run/secrets/rsec",
        ])
        .stdout,
        "remote-s3cret"
    );
    podman(&["secret", "rm", "rsec"]);
    assert_eq!(st.run(&["secret", "exists", "rsec"]).code, 1);
    let units = podman(&["generate", "systemd", "--name", "rpod"]);
    assert!(
        units.contains("# pod-rpod.service") && units.contains("# container-member.service"),
        "{units}"
    );
    podman(&["pod", "rm", "-f", "-t", "0", "rpod"]);
    podman(&["pod", "rm", "-f", "-t", "0", "kp"]);
    podman(&["rm", "-f", "-t", "0", "r1"]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// `docker push` and `docker pull` through the service, against Debian's
/// docker-registry on 127.0.0.1 (registries.conf says it speaks plain HTTP).
#[test]
fn the_docker_cli_pushes_and_pulls_through_the_service() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start().expect("registry");
    let svc = Service::for_registry(&st, &reg);
    let name = format!("{}/api/bb:pushed", reg.addr());
    let ok = |args: &[&str]| {
        let (code, out, err) = docker(&svc, args, "");
        assert_eq!(code, 0, "docker {args:?}: {out}{err}");
        out
    };
    ok(&["tag", IMG, &name]);
    // The digest line is shown (it came in one message with the aux object,
    // which the docker CLI does not print).
    let pushed = ok(&["push", &name]);
    assert!(pushed.contains("pushed: digest: sha256:"), "{pushed}");
    ok(&["rmi", &name]);
    let pulled = ok(&["pull", &name]);
    // Docker's last line, with no image ID in front of it.
    assert!(
        pulled
            .lines()
            .any(|l| l.starts_with("Status: Downloaded newer image for ")),
        "{pulled}"
    );
    assert_eq!(
        ok(&["run", "--rm", &name, "echo", "pulled-back"]),
        "pulled-back\n"
    );
    // A name no registry has: docker says the pull failed.
    let (code, _, err) = docker(&svc, &["pull", &format!("{}/api/none:1", reg.addr())], "");
    assert_ne!(code, 0, "{err}");
}

/// TCP only when asked, and then with TLS when given a certificate: curl and
/// the docker CLI speak to it over TLS; plain HTTP gets no answer.
#[test]
fn the_service_serves_tls_on_tcp_when_given_a_certificate() {
    let st = TestStore::with_busybox();
    let (cert, key) = (st.path().join("cert.pem"), st.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = st
        .cmd()
        .args(["system", "service", "--time", "0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg(format!("tcp://127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(&mut child);
    wait_for("the TLS port", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let curl = |scheme: &str| {
        Command::new("curl")
            .args(["-s", "--max-time", "10", "--cacert"])
            .arg(&cert)
            .arg(format!("{scheme}://127.0.0.1:{port}/_ping"))
            .output()
            .unwrap()
    };
    let ok = curl("https");
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "OK", "{ok:?}");
    let plain = curl("http");
    assert!(
        !plain.status.success() && plain.stdout.is_empty(),
        "{plain:?}"
    );
    // A body of many records (rustls reads a record buffer at a time).
    let labels: String = (0..400)
        .map(|i| format!("\"label{i}\":\"{}\",", "v".repeat(40)))
        .collect();
    let big = format!(
        "{{\"Image\":\"{IMG}\",\"Cmd\":[\"true\"],\"Labels\":{{{}}}}}",
        labels.trim_end_matches(',')
    );
    assert!(big.len() > 20_000);
    let body_file = st.path().join("big.json");
    std::fs::write(&body_file, &big).unwrap();
    let created = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "20",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
        ])
        .arg(&cert)
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(format!("@{}", body_file.display()))
        .arg(format!(
            "https://127.0.0.1:{port}/v1.41/containers/create?name=big-over-tls"
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&created.stdout),
        "201",
        "{created:?}"
    );
    assert_eq!(
        st.inspect("big-over-tls", ".Config.Labels.label399"),
        "v".repeat(40)
    );
    st.ok(&["rm", "big-over-tls"]);
    st.ok(&["create", "--name", "seen-over-tls", IMG, "true"]);
    let out = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            "30",
            "/usr/bin/docker",
            "-H",
            &format!("tcp://127.0.0.1:{port}"),
            "--tlsverify",
            "--tlscacert",
        ])
        .arg(&cert)
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .env("DOCKER_CONFIG", st.path().join("docker-config"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "seen-over-tls\n",
        "{out:?}"
    );
}

/// `--cors ORIGIN`: every answer allows that origin (and says so at debug).
#[test]
fn cors_answers_carry_the_allowed_origin() {
    let st = TestStore::with_busybox();
    let socket = st.path().join("cors.sock");
    let child = st
        .cmd()
        .args([
            "--log-level",
            "debug",
            "system",
            "service",
            "--cors",
            "https://example.test",
            "--time",
            "1",
        ])
        .arg(format!("unix://{}", socket.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the service's socket", || {
        UnixStream::connect(&socket).is_ok()
    });
    let mut s = UnixStream::connect(&socket).unwrap();
    s.write_all(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.contains("Access-Control-Allow-Origin: https://example.test\r\n"),
        "{answer}"
    );
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"CORS Headers were set to \"https://example.test\""#),
        "{err}"
    );
}

/// `docker login` through the service checks the credentials against the
/// registry; the docker CLI then sends them with a push.
#[test]
fn docker_login_is_checked_against_the_registry() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start_with_auth("alice", "s3cret").expect("registry");
    let svc = Service::for_registry(&st, &reg);
    let (code, _, err) = docker(
        &svc,
        &["login", "-u", "alice", "--password-stdin", reg.addr()],
        "wrong\n",
    );
    assert_ne!(code, 0, "a wrong password logged in: {err}");
    let (code, out, err) = docker(
        &svc,
        &["login", "-u", "alice", "--password-stdin", reg.addr()],
        "s3cret\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Login Succeeded"), "{out}");
    let name = format!("{}/api/secret:1", reg.addr());
    let (code, out, err) = docker(&svc, &["tag", IMG, &name], "");
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = docker(&svc, &["push", &name], "");
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = docker(&svc, &["pull", &name], "");
    assert_eq!(code, 0, "{out}{err}");
}

/// podman's remote client sends credentials (X-Registry-Auth) and
/// `--tls-verify=false` (libpod's `tlsVerify`) with a push and a pull; the
/// service honours both on every endpoint that reaches a registry.
#[test]
fn podman_remote_push_and_pull_carry_credentials_and_tls_verify() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start_with_auth("alice", "s3cret").expect("registry");
    // No registries.conf marking the registry insecure: only tlsVerify=false
    // lets the service speak plain HTTP to it.
    let svc = Service::start(&st, "0");
    let name = format!("{}/remote/auth:1", reg.addr());
    let ok = |args: &[&str]| {
        let (code, o, e) = svc.podman(args);
        assert_eq!(code, 0, "podman --remote {args:?}: {o}{e}");
    };
    ok(&["tag", IMG, &name]);
    let (code, _, err) = svc.podman(&["push", "--tls-verify=false", &name]);
    assert_ne!(code, 0, "pushed without credentials");
    assert!(err.contains("authentication required"), "{err}");
    let creds = "--creds=alice:s3cret";
    let (code, _, err) = svc.podman(&["push", creds, &name]);
    assert_ne!(code, 0, "pushed over HTTP with TLS verification on: {err}");
    ok(&["push", "--tls-verify=false", creds, &name]);
    ok(&["rmi", &name]);
    ok(&["pull", "--tls-verify=false", creds, &name]);
    assert_eq!(st.run(&["image", "exists", &name]).code, 0);
}

/// `podman --remote rm --depend` removes the containers that depend on the one
/// named (here: one in its network namespace) with it, and reports each.
#[test]
fn podman_remote_rm_depend_takes_the_dependents_along() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "base", IMG, "sleep", "600"]);
    st.ok(&[
        "create",
        "--name",
        "leaf",
        "--network",
        "container:base",
        IMG,
        "true",
    ]);
    let svc = Service::start(&st, "0");
    let (code, out, err) = svc.podman(&["rm", "--depend", "base"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().count(),
        2,
        "one line a removed container: {out}"
    );
    for name in ["base", "leaf"] {
        assert_ne!(
            st.run(&["container", "exists", name]).code,
            0,
            "{name} is still there"
        );
    }
}

/// libpod's container rm with `ignore=true` answers an empty report for a
/// container that is not there; without it, 404.
#[test]
fn libpod_rm_ignore_takes_a_missing_container_as_removed() {
    let st = TestStore::with_busybox();
    st.ok(&["create", "--name", "here", IMG, "true"]);
    let svc = Service::start(&st, "0");
    let rm = |q: &str| {
        request(
            &svc.socket,
            "DELETE",
            &format!("/v4.0.0/libpod/containers/{q}"),
            "",
        )
        .unwrap()
    };
    let (code, answer) = rm("nope");
    assert_eq!(code, 404, "{answer}");
    let (code, answer) = rm("nope?ignore=true");
    assert_eq!(code, 200, "{answer}");
    assert!(answer.trim_end().ends_with("[]"), "{answer}");
    // One that is there still goes, and is reported.
    let (code, answer) = rm("here?ignore=true");
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("\"RawInput\":\"here\""), "{answer}");
    assert_ne!(st.run(&["container", "exists", "here"]).code, 0);
}

/// `docker search` through the service finds what a registry holds.
#[test]
fn docker_search_lists_a_registrys_repositories() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start().expect("registry");
    let svc = Service::for_registry(&st, &reg);
    let name = format!("{}/found/bb:1", reg.addr());
    for args in [&["tag", IMG, &name][..], &["push", &name][..]] {
        let (code, out, err) = docker(&svc, args, "");
        assert_eq!(code, 0, "{out}{err}");
    }
    let (code, out, err) = docker(
        &svc,
        &[
            "search",
            "--format",
            "{{.Name}}",
            &format!("{}/found", reg.addr()),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("found/bb"), "{out}");
    // Its filters, as podman's search --filter takes them: a registry's
    // catalog has no stars and nothing official.
    let search = |filter: &str| {
        let (code, out, err) = docker(
            &svc,
            &[
                "search",
                "--filter",
                filter,
                "--format",
                "{{.Name}}",
                &format!("{}/found", reg.addr()),
            ],
            "",
        );
        assert_eq!(code, 0, "{filter}: {err}");
        out
    };
    for kept in ["is-official=false", "is-automated=false", "stars=0"] {
        assert!(search(kept).contains("found/bb"), "{kept}");
    }
    for dropped in ["is-official=true", "is-automated=true", "stars=1"] {
        assert_eq!(search(dropped), "", "{dropped}");
    }
    let path = format!(
        "/v1.41/images/search?term={}/found&filters=%7B%22stars%22%3A%5B%22many%22%5D%7D",
        reg.addr()
    );
    let (code, answer) = request(&svc.socket, "GET", &path, "").unwrap();
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer.contains(r#""message":"invalid filter \"stars=many\"""#),
        "{answer}"
    );
}

/// Socket activation: a listening socket systemd passes (fd 3, `LISTEN_FDS`,
/// `LISTEN_PID` the service's own) is served, and the URI left out.
#[test]
fn the_service_serves_a_socket_systemd_passes() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let st = TestStore::with_busybox();
    let path = st.path().join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let fd = listener.as_raw_fd();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"", "sh"])
        .arg(st.cmd().get_program())
        .args(st.cmd().get_args())
        .args(["system", "service", "--time", "1"])
        .envs(st.cmd().get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: dup2 and fcntl are async-signal-safe; fd is the listener this
    // process holds open. Already fd 3, only its close-on-exec flag goes.
    unsafe {
        cmd.pre_exec(move || {
            let r = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    drop(listener);
    let mut s = UnixStream::connect(&path).unwrap();
    s.write_all(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 ") && answer.ends_with("OK"),
        "{answer}"
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// `docker events` through the service: docker's action names (`die`, with
/// its `exitCode`) and podman's others (kill, stop) as docker has them too.
#[test]
fn docker_events_say_what_happened_in_dockers_words() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let r = st.run(&[
        "run",
        "--name",
        "ev3",
        "--network",
        "none",
        IMG,
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(r.code, 3);
    st.ok(&[
        "run",
        "-d",
        "--name",
        "evk",
        "--network",
        "none",
        IMG,
        "sleep",
        "600",
    ]);
    st.ok(&["stop", "-t", "0", "evk"]);
    let until = (std::time::SystemTime::now() + std::time::Duration::from_secs(1))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let events = |filter: &str| {
        let args = [
            "events",
            "--since",
            "0",
            "--until",
            &until,
            "--filter",
            filter,
            "--format",
            "{{.Actor.Attributes.name}} {{.Action}} {{.Actor.Attributes.exitCode}}",
        ];
        let (code, out, err) = docker(&svc, &args, "");
        assert_eq!(code, 0, "{err}");
        out
    };
    assert_eq!(
        events("container=ev3")
            .lines()
            .filter(|l| l.contains(" die "))
            .collect::<Vec<_>>(),
        ["ev3 die 3"]
    );
    let evk = events("container=evk");
    assert!(
        evk.contains("evk kill") || evk.contains("evk stop"),
        "{evk}"
    );
    st.ok(&["rm", "ev3", "evk"]);
}

/// Clients that go away in the middle of a followed log or event stream
/// leave no thread of the service behind.
#[test]
fn clients_leaving_mid_stream_leave_nothing_behind() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    st.ok(&[
        "run",
        "-d",
        "--name",
        "chatty",
        IMG,
        "sh",
        "-c",
        "while true; do echo tick; sleep 0.05; done",
    ]);
    let threads = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", svc.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap()
    };
    let before = threads();
    for path in [
        "/v1.41/containers/chatty/logs?stdout=1&follow=1",
        "/v1.41/events",
    ] {
        for _ in 0..8 {
            let mut s = UnixStream::connect(&svc.socket).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: d\r\n\r\n").unwrap();
            let mut first = [0u8; 64];
            s.read_exact(&mut first).unwrap();
            assert!(
                first.starts_with(b"HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(&first)
            );
        }
    }
    wait_for("the service's streaming threads to end", || {
        threads() <= before
    });
    st.ok(&["rm", "-f", "-t", "0", "chatty"]);
}

/// libpod's manifest endpoints through podman's remote client: a list named
/// with `/` (sent as `%2F`), an image added, annotated, inspected, pushed to a
/// registry on 127.0.0.1 and removed.
#[test]
fn podman_remote_makes_and_pushes_manifest_lists_through_the_service() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start().expect("registry");
    let svc = Service::for_registry(&st, &reg);
    let ok = |args: &[&str]| {
        let (code, o, e) = svc.podman(args);
        assert_eq!(code, 0, "podman --remote {args:?}: {o}{e}");
        o
    };
    let id = ok(&["manifest", "create", "localhost/list:1"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    // The CLI sees what the API made, under the same ID.
    let cli = st.ok(&["manifest", "inspect", "localhost/list:1"]).stdout;
    assert!(cli.contains("\"manifests\""), "{cli}");
    ok(&["manifest", "add", "localhost/list:1", IMG]);
    let inspected: serde_json::Value =
        serde_json::from_str(&ok(&["manifest", "inspect", "localhost/list:1"])).unwrap();
    let entries = inspected["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{inspected}");
    let digest = entries[0]["digest"].as_str().unwrap().to_string();
    // podman 4.3's remote client takes no flags after `manifest annotate`: the
    // request it would send, by hand.
    let body =
        format!(r#"{{"operation":"annotate","images":["{digest}"],"os":"linux","arch":"arm64"}}"#);
    let answer = svc.raw(
        format!(
            "PUT /v4.3.1/libpod/manifests/localhost%2Flist%3A1 HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(status(&answer), 200, "{answer}");
    let inspected = ok(&["manifest", "inspect", "localhost/list:1"]);
    assert!(inspected.contains("arm64"), "{inspected}");
    let dest = format!("{}/lists/list:1", reg.addr());
    ok(&[
        "manifest",
        "push",
        "--tls-verify=false",
        "localhost/list:1",
        &format!("docker://{dest}"),
    ]);
    let pushed = st
        .ok(&[
            "image",
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{dest}"),
        ])
        .stdout;
    // The list as annotated (its image's digest may change: layers are
    // compressed on the way).
    let pushed: serde_json::Value = serde_json::from_str(&pushed).unwrap();
    assert_eq!(pushed["manifests"].as_array().unwrap().len(), 1, "{pushed}");
    assert_eq!(
        pushed["manifests"][0]["platform"]["architecture"], "arm64",
        "{pushed}"
    );
    assert_eq!(svc.podman(&["manifest", "exists", "localhost/list:1"]).0, 0);
    ok(&["manifest", "rm", "localhost/list:1"]);
    assert_eq!(svc.podman(&["manifest", "exists", "localhost/list:1"]).0, 1);
    let (code, _, err) = svc.podman(&["manifest", "inspect", "localhost/nosuch:1"]);
    assert_ne!(code, 0);
    assert!(err.contains("nosuch"), "{err}");
    // The same bulk removal serves rmi: podman's exit code for a missing image.
    let (code, _, err) = svc.podman(&["rmi", "localhost/nosuch:1"]);
    assert_eq!(code, 1, "{err}");
    st.ok(&["tag", IMG, "localhost/extra:1"]);
    assert!(ok(&["rmi", "localhost/extra:1"]).contains("Untagged: localhost/extra:1"));
    st.ok(&["image", "exists", IMG]);
}

/// A manifest list's name given to `podman --remote push` pushes the list (and
/// to Docker's push, to its own name), as `podman push LIST` does; libpod's
/// `all` pushes its images too.
#[test]
fn a_push_through_the_service_of_a_manifest_lists_name_pushes_the_list() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start().expect("registry");
    let svc = Service::for_registry(&st, &reg);
    let repo = format!("{}/lists/remote", reg.addr());
    let pushed_list = |dest: &str| {
        let raw = st
            .ok(&[
                "image",
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{dest}"),
            ])
            .stdout;
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["manifests"].as_array().map(Vec::len), Some(1), "{raw}");
    };
    // Lists of an image the registry's repository has already: neither
    // client asks for the images to go too.
    let src = format!("docker://{repo}:src");
    st.ok(&["push", "--tls-verify=false", IMG, &src]);
    for list in ["localhost/rlist:1", &format!("{repo}:2")] {
        st.ok(&["manifest", "create", list]);
        st.ok(&["manifest", "add", "--tls-verify=false", list, &src]);
    }
    let (code, o, e) = svc.podman(&[
        "push",
        "--tls-verify=false",
        "localhost/rlist:1",
        &format!("docker://{repo}:1"),
    ]);
    assert_eq!(code, 0, "podman --remote push LIST: {o}{e}");
    pushed_list(&format!("{repo}:1"));
    let (code, o, e) = docker(&svc, &["push", &format!("{repo}:2")], "");
    assert_eq!(code, 0, "docker push LIST: {o}{e}");
    pushed_list(&format!("{repo}:2"));
    // A list of a local image, its image pushed along (`all`).
    st.ok(&["manifest", "create", "localhost/local:1"]);
    st.ok(&["manifest", "add", "localhost/local:1", IMG]);
    let answer = svc.raw(
        format!(
            "POST /v4.3.1/libpod/images/localhost%2Flocal%3A1/push?destination={}%2Fother%3A1&all=true&tlsVerify=false HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            reg.addr()
        )
        .as_bytes(),
    );
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(!answer.contains("\"error\""), "{answer}");
    pushed_list(&format!("{}/other:1", reg.addr()));
    // Neither an image nor a list: not found, as before.
    let (code, _, e) = svc.podman(&["push", "--tls-verify=false", "localhost/nosuch:1"]);
    assert_ne!(code, 0);
    assert!(e.contains("nosuch"), "{e}");
}

/// Docker's attach to a running container relays its output from then on;
/// a paused one is refused before the answer (409, as Docker's), as the CLI's
/// attach refuses it.
#[test]
fn an_attach_over_the_api_to_a_running_container_gets_its_output() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    st.ok(&[
        "run",
        "-d",
        "--name",
        "late",
        "--network",
        "none",
        IMG,
        "sh",
        "-c",
        "sleep 2; echo attached-out",
    ]);
    // Read until the service closes, or for 10 seconds at most (an attach
    // to a paused container would wait for it).
    let attach = |name: &str| {
        let mut c = UnixStream::connect(&svc.socket).unwrap();
        let request = format!(
            "POST /containers/{name}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        c.write_all(request.as_bytes()).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let answer = attach("late");
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(answer.contains("attached-out"), "{answer}");
    st.ok(&[
        "run",
        "-d",
        "--name",
        "paused",
        "--network",
        "none",
        IMG,
        "sleep",
        "600",
    ]);
    st.ok(&["pause", "paused"]);
    let answer = attach("paused");
    assert_eq!(status(&answer), 409, "{answer}");
    let cli = st.run(&["attach", "paused"]);
    assert_eq!(cli.code, 125, "{}", cli.stderr);
    st.ok(&["unpause", "paused"]);
    st.ok(&["rm", "-f", "-t", "0", "paused", "late"]);
}

/// CVE-2019-5736: containers the service starts have their monitors run from
/// berth's read-only image, as the CLI's do (`container_isolation.rs`), started
/// from it at once: its command line names the image, so the monitor did not
/// have to execute itself again to get there.
#[test]
fn the_services_monitors_run_from_a_read_only_image_of_berth() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let body = format!("{{\"Image\":\"{IMG}\",\"Cmd\":[\"sleep\",\"600\"]}}");
    let (code, answer) = request(
        &svc.socket,
        "POST",
        "/v1.41/containers/create?name=by-api",
        &body,
    )
    .unwrap();
    assert_eq!(code, 201, "{answer}");
    let (code, answer) =
        request(&svc.socket, "POST", "/v1.41/containers/by-api/start", "").unwrap();
    assert_eq!(code, 204, "{answer}");
    let pid = st.inspect("by-api", ".State.ConmonPid");
    let exe = format!("/proc/{pid}/exe");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap().to_vec();
    let c = std::ffi::CString::new(exe.clone()).unwrap();
    // SAFETY: statvfs into a zeroed struct with a valid C path.
    let mut fs: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut fs) }, 0);
    let target = std::fs::read_link(&exe).unwrap();
    st.ok(&["rm", "-f", "-t", "0", "by-api"]);
    assert_ne!(
        fs.f_flag & libc::ST_RDONLY,
        0,
        "its monitor runs from a writable {}",
        target.display()
    );
    assert_eq!(
        std::path::Path::new(std::ffi::OsStr::from_bytes(&argv0)),
        target,
        "its monitor was started from another binary"
    );
}

/// A new container's options are judged as the CLI judges them: a StopSignal
/// that is no signal is refused in podman's words, and nothing is made.
#[test]
fn create_refuses_a_stop_signal_that_is_no_signal() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let create = |signal: &str| {
        let body =
            format!("{{\"Image\":\"{IMG}\",\"Cmd\":[\"true\"],\"StopSignal\":\"{signal}\"}}");
        request(
            &svc.socket,
            "POST",
            "/v1.41/containers/create?name=sig",
            &body,
        )
        .unwrap()
    };
    for (signal, words) in [
        ("SIGBOGUS", "invalid signal: SIGBOGUS"),
        ("99", "valid signals are 1 through 64"),
    ] {
        let (code, answer) = create(signal);
        assert_eq!(code, 400, "{answer}");
        assert!(answer.contains(words), "{answer}");
        assert_eq!(st.run(&["container", "exists", "sig"]).code, 1);
    }
    let (code, answer) = create("SIGUSR1");
    assert_eq!(code, 201, "{answer}");
    assert_eq!(st.inspect("sig", ".Config.StopSignal"), "10");
    st.ok(&["rm", "sig"]);
}

/// A paused container's STATUS is Docker's `Up … (Paused)` over the Docker
/// API (podman's own `ps` says only "Paused").
#[test]
fn a_paused_containers_docker_status() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    st.ok(&[
        "run",
        "-d",
        "--name",
        "pz",
        "--network",
        "none",
        IMG,
        "sleep",
        "60",
    ]);
    st.ok(&["pause", "pz"]);
    let (code, answer) = request(&svc.socket, "GET", "/v1.41/containers/json", "").unwrap();
    assert_eq!(code, 200, "{answer}");
    let status = answer
        .split("\"Status\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default();
    assert!(
        status.starts_with("Up ") && status.ends_with(" (Paused)"),
        "{answer}"
    );
    // podman's ps shows it with -a only, as "Paused".
    let ps = st.ok(&["ps", "-a", "--format", "{{.Status}}"]).stdout;
    assert_eq!(ps.trim(), "Paused");
    st.ok(&["rm", "-f", "-t", "0", "pz"]);
}

/// The service goes on starting containers after berth's binary is replaced
/// and a newer berth collects the read-only image the service runs from (an
/// upgrade under a running service): its monitors run from its own image.
#[test]
fn the_service_outlives_its_binarys_replacement() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let run = |name: &str| {
        let body = format!("{{\"Image\":\"{IMG}\",\"Cmd\":[\"true\"]}}");
        let path = format!("/v1.41/containers/create?name={name}");
        let (code, answer) = request(&svc.socket, "POST", &path, &body).unwrap();
        assert_eq!(code, 201, "{answer}");
        let path = format!("/v1.41/containers/{name}/start");
        request(&svc.socket, "POST", &path, "").unwrap()
    };
    assert_eq!(run("before").0, 204);
    // What collect_stale does to an image whose binary is gone.
    for e in std::fs::read_dir(st.path().join("exe")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("berth-oci-") {
            let ok = Command::new("umount")
                .arg("-l")
                .arg(e.path())
                .status()
                .unwrap();
            assert!(ok.success());
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let (code, answer) = run("after");
    assert_eq!(code, 204, "{answer}");
    st.ok(&["rm", "-f", "before", "after"]);
}

/// Ports bound for a container without a network of its own are discarded
/// at create, as Docker and the CLI discard them: it starts, publishing nothing.
#[test]
fn port_bindings_without_a_network_of_its_own_are_discarded() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let body = format!(
        "{{\"Image\":\"{IMG}\",\"Cmd\":[\"true\"],\"HostConfig\":{{\"NetworkMode\":\"none\",\"PortBindings\":{{\"80/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"18080\"}}]}}}}}}"
    );
    let (code, answer) = request(
        &svc.socket,
        "POST",
        "/v1.41/containers/create?name=noports",
        &body,
    )
    .unwrap();
    assert_eq!(code, 201, "{answer}");
    assert_eq!(st.inspect("noports", ".HostConfig.PortBindings"), "map[]");
    let (code, answer) =
        request(&svc.socket, "POST", "/v1.41/containers/noports/start", "").unwrap();
    assert_eq!(code, 204, "{answer}");
    st.ok(&["rm", "-f", "noports"]);
}

/// An exec's bare `NAME` in Env never takes the service's own environment
/// (`berth exec -e NAME` reads its caller's); NAME=VALUE goes as given.
#[test]
fn an_exec_over_the_api_gets_none_of_the_services_environment() {
    let st = TestStore::with_busybox();
    st.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "--network",
        "none",
        IMG,
        "sleep",
        "1000",
    ]);
    let secret = std::path::Path::new("from-the-service");
    let svc = Service::start_with(&st, "0", &[("BERTH_T_SECRET", secret)]);
    let body = r#"{"AttachStdout":true,"AttachStderr":true,"Env":["BERTH_T_SECRET","A=1"],"Cmd":["sh","-c","echo ${BERTH_T_SECRET:-unset} $A"]}"#;
    let (code, answer) = request(&svc.socket, "POST", "/containers/x/exec", body).unwrap();
    assert_eq!(code, 201, "{answer}");
    let id = answer
        .split("\"Id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no Id in {answer}"))
        .to_string();
    let (code, answer) = request(
        &svc.socket,
        "POST",
        &format!("/exec/{id}/start"),
        r#"{"Detach":false}"#,
    )
    .unwrap();
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("unset 1\n"), "{answer}");
    assert!(!answer.contains("from-the-service"), "{answer}");
    st.ok(&["rm", "-f", "-t", "0", "x"]);
}

/// Docker's network create with labels, a gateway, a range and an MTU (as
/// docker-compose and docker-py send them), listed back by label.
#[test]
fn docker_api_networks_keep_labels_gateway_range_and_mtu() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let body = r#"{"Name": "lab", "Labels": {"com.docker.compose.project": "p"},
        "IPAM": {"Config": [{"Subnet": "10.98.0.0/24", "Gateway": "10.98.0.254", "IPRange": "10.98.0.128/25"}]},
        "Options": {"com.docker.network.driver.mtu": "1400"}}"#;
    let (code, answer) = request(&svc.socket, "POST", "/v1.41/networks/create", body).unwrap();
    assert_eq!(code, 201, "{answer}");
    st.ok(&["network", "create", "other"]);
    // filters={"label":["com.docker.compose.project=p"]}
    let path =
        "/v1.41/networks?filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3Dp%22%5D%7D";
    let (code, answer) = request(&svc.socket, "GET", path, "").unwrap();
    assert_eq!(code, 200, "{answer}");
    let json_at = answer.find("\r\n\r\n").unwrap() + 4;
    let list: serde_json::Value = serde_json::from_str(&answer[json_at..]).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let n = &list[0];
    assert_eq!(n["Name"], "lab");
    assert_eq!(n["Labels"]["com.docker.compose.project"], "p");
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "10.98.0.254");
    assert_eq!(n["Options"]["mtu"], "1400");
    // The CLI sees the range as podman shows it.
    let v = common::json(&st.ok(&["network", "inspect", "lab"]).stdout);
    assert_eq!(v[0]["subnets"][0]["lease_range"]["start_ip"], "10.98.0.129");
}

/// podman's own client: network create's labels, gateway, range and options
/// reach the network, and what berth cannot do is refused in podman's words.
#[test]
fn podman_remote_network_create_keeps_labels_gateway_range_and_options() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let (code, _, err) = svc.podman(&[
        "network",
        "create",
        "--label",
        "a=b",
        "--subnet",
        "10.77.0.0/24",
        "--gateway",
        "10.77.0.254",
        "--ip-range",
        "10.77.0.64/26",
        "-o",
        "mtu=1400",
        "rn",
    ]);
    assert_eq!(code, 0, "{err}");
    let v = common::json(&st.ok(&["network", "inspect", "rn"]).stdout);
    let sub = &v[0]["subnets"][0];
    assert_eq!(sub["gateway"], "10.77.0.254", "{v}");
    assert_eq!(sub["lease_range"]["start_ip"], "10.77.0.65", "{v}");
    assert_eq!(v[0]["labels"]["a"], "b");
    assert_eq!(v[0]["options"]["mtu"], "1400");
    let (code, out, err) = svc.podman(&["network", "ls", "-q", "--filter", "label=a=b"]);
    assert_eq!((code, out.as_str()), (0, "rn\n"), "{err}");
    let (code, _, err) = svc.podman(&["network", "create", "-o", "vlan=3", "rv"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("unsupported bridge network option vlan"),
        "{err}"
    );
}

/// `docker run --rm` of a command that cannot start: the start's error is
/// answered and the container removed (Docker's AutoRemove), which the CLI
/// waits for before it exits; detached too.
#[test]
fn an_auto_remove_container_whose_start_fails_is_removed() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let (code, _, err) = docker(&svc, &["run", "--rm", IMG, "nosuchcmd"], "");
    assert_eq!(code, 127, "{err}");
    // Its wait is answered, with no error of its own.
    assert!(!err.contains("Error waiting"), "{err}");
    let (code, _, err) = docker(&svc, &["run", "--rm", "-d", IMG, "nosuchcmd"], "");
    assert_eq!(code, 127, "{err}");
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// A network's Options are only those it was made with (none: `{}`), so
/// `docker-compose up -d` again on the same project finds its network as it
/// left it instead of asking for it to be made again.
#[test]
fn docker_compose_up_twice_keeps_the_projects_network() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let dir = st.path().join("twice");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        format!("version: \"3\"\nservices:\n  s:\n    image: {IMG}\n    command: [\"sleep\", \"1000\"]\n"),
    )
    .unwrap();
    let compose = |args: &[&str]| {
        let out = Command::new("timeout")
            .args(["-s", "KILL", "120", "docker-compose", "-p", "twice"])
            .args(args)
            .current_dir(&dir)
            .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "docker-compose {args:?}: {text}");
    };
    compose(&["up", "-d"]);
    let (code, answer) = request(&svc.socket, "GET", "/v1.41/networks/twice_default", "").unwrap();
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("\"Options\":{}"), "{answer}");
    compose(&["up", "-d"]);
    compose(&["down"]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// The docker CLI's `-v /DEST` comes as Config.Volumes: an anonymous volume
/// there, shown in Mounts, and gone with the container under --rm.
#[test]
fn config_volumes_from_the_docker_cli_are_anonymous_volumes() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--name",
            "anon",
            "-v",
            "/anon",
            IMG,
            "sh",
            "-c",
            "echo kept > /anon/f && grep -c ' /anon ' /proc/mounts",
        ],
        "",
    );
    assert_eq!((code, out.as_str()), (0, "1\n"), "{err}");
    let (code, out, err) = docker(
        &svc,
        &[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}",
            "anon",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let name = out
        .trim()
        .strip_prefix("volume /anon ")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(name.len(), 64, "{out}");
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, format!("{name}\n"));
    docker(&svc, &["rm", "-v", "anon"], "");
    let (code, _, err) = docker(
        &svc,
        &["run", "--rm", "-v", "/anon", IMG, "ls", "/anon"],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(st.ok(&["volume", "ls", "-q"]).stdout, "");
}

/// A Binds host path that is not there is made (Docker's legacy -v); a
/// Mounts bind of a missing path is refused and makes nothing.
#[test]
fn a_missing_bind_source_is_made_for_binds_only() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let made = st.path().join("made/by/bind");
    let spec = format!("{}:/x", made.display());
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--rm",
            "-v",
            &spec,
            IMG,
            "sh",
            "-c",
            "echo in > /x/f; echo ok",
        ],
        "",
    );
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
    assert_eq!(std::fs::read_to_string(made.join("f")).unwrap(), "in\n");
    let not_made = st.path().join("not-made");
    let mount = format!("type=bind,source={},target=/x", not_made.display());
    let (code, _, _) = docker(&svc, &["run", "--rm", "--mount", &mount, IMG, "true"], "");
    assert_ne!(code, 0);
    assert!(!not_made.exists());
}

/// `docker run -w DIR` of a directory the image lacks: Docker makes it (the
/// container's root's), where berth's own CLI keeps podman's refusal.
#[test]
fn a_working_directory_the_image_lacks_is_made_for_docker() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--rm",
            "-w",
            "/new/dir",
            IMG,
            "sh",
            "-c",
            "pwd; stat -c %u:%g:%a .",
        ],
        "",
    );
    assert_eq!((code, out.as_str()), (0, "/new/dir\n0:0:755\n"), "{err}");
    let r = st.run(&["run", "--rm", "-w", "/new/dir", IMG, "pwd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not exist on container"),
        "{}",
        r.stderr
    );
}

/// `docker run --entrypoint ''` sends Entrypoint [""]: the image's
/// entrypoint is dropped and the command runs alone.
#[test]
fn an_empty_entrypoint_from_docker_means_none() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let made = st.ok(&["create", IMG, "true"]).stdout;
    st.ok(&[
        "commit",
        "--change",
        "ENTRYPOINT [\"false\"]",
        made.trim(),
        "localhost/ep:1",
    ]);
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--rm",
            "--entrypoint",
            "",
            "localhost/ep:1",
            "echo",
            "x",
        ],
        "",
    );
    assert_eq!((code, out.as_str()), (0, "x\n"), "{err}");
}

/// HostConfig.Ulimits (`docker run --ulimit`) apply as berth's --ulimit does.
#[test]
fn docker_ulimits_apply_to_the_container() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let (code, out, err) = docker(
        &svc,
        &[
            "run",
            "--rm",
            "--ulimit",
            "nofile=512:1024",
            IMG,
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn",
        ],
        "",
    );
    assert_eq!((code, out.as_str()), (0, "512\n1024\n"), "{err}");
}

/// `docker image prune` (dangling images) and `-a` (every image no container
/// uses), with what went: untagged names, deleted IDs, the space.
#[test]
fn docker_image_prune_removes_dangling_then_unused_images() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let c = st.ok(&["create", IMG, "true"]).stdout.trim().to_string();
    st.ok(&["commit", &c, "localhost/twice:1"]);
    let old = st.inspect("localhost/twice:1", ".Id");
    st.ok(&["commit", "--change", "ENV V=2", &c, "localhost/twice:1"]);
    let new = st.inspect("localhost/twice:1", ".Id");
    assert_ne!(old, new);
    let (code, out, err) = docker(&svc, &["image", "prune", "-f"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("deleted: sha256:{old}")), "{out}");
    assert!(!out.contains(&new), "{out}");
    assert_eq!(st.run(&["image", "exists", &old]).code, 1);
    // The container's image stays; the unused one goes, its name first.
    let (code, out, err) = docker(&svc, &["image", "prune", "-a", "-f"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("untagged: localhost/twice:1")
            && out.contains(&format!("deleted: sha256:{new}")),
        "{out}"
    );
    assert_eq!(st.run(&["image", "exists", &new]).code, 1);
    assert_eq!(st.run(&["image", "exists", IMG]).code, 0);
    // docker system prune: containers, networks, images, the build cache.
    let (code, out, err) = docker(&svc, &["system", "prune", "-a", "-f"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("untagged: localhost/bb:1"), "{out}");
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    assert_eq!(st.run(&["image", "exists", IMG]).code, 1);
    let (code, answer) = request(
        &svc.socket,
        "POST",
        "/v1.41/images/prune?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D",
        "",
    )
    .unwrap();
    assert_eq!(code, 400, "{answer}");
}

/// The default network is `bridge` to Docker's clients, as podman's compat
/// API shows it: listed and inspected by that name, and joined by it.
#[test]
fn the_default_network_is_bridge_to_docker_clients() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let ok = |args: &[&str]| {
        let (code, out, err) = docker(&svc, args, "");
        assert_eq!(code, 0, "docker {args:?}: {out}{err}");
        out
    };
    let names = ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(names, "bridge\n");
    assert_eq!(
        ok(&[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}}",
            "bridge"
        ]),
        "bridge bridge\n"
    );
    // Its own name still finds it, shown as it is.
    assert_eq!(
        ok(&["network", "inspect", "-f", "{{.Name}}", "podman"]),
        "podman\n"
    );
    assert_eq!(
        ok(&[
            "run",
            "--rm",
            "--network",
            "bridge",
            IMG,
            "echo",
            "on-bridge"
        ]),
        "on-bridge\n"
    );
}

/// `docker info`'s RegistryConfig from registries.conf: an insecure registry
/// is an index that is not Secure, docker.io's mirrors are Docker's mirrors.
#[test]
fn docker_info_has_the_registry_config_of_registries_conf() {
    let st = TestStore::with_busybox();
    let conf = st.path().join("registries.conf");
    std::fs::write(
        &conf,
        "[[registry]]\nlocation = \"reg.test:5000\"\ninsecure = true\n\n\
         [[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"mirror.test\"\n",
    )
    .unwrap();
    let svc = Service::start_with(&st, "0", &[("CONTAINERS_REGISTRIES_CONF", &conf)]);
    let info = |format: &str| {
        let (code, out, err) = docker(&svc, &["info", "-f", format], "");
        assert_eq!(code, 0, "{format}: {out}{err}");
        out
    };
    assert_eq!(
        info("{{json .RegistryConfig.InsecureRegistryCIDRs}}"),
        "[]\n"
    );
    assert_eq!(
        info("{{(index .RegistryConfig.IndexConfigs \"reg.test:5000\").Secure}}"),
        "false\n"
    );
    assert_eq!(
        info("{{json .RegistryConfig.Mirrors}}"),
        "[\"https://mirror.test/\"]\n"
    );
    let (code, out, err) = docker(&svc, &["info"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Insecure Registries:\n  reg.test:5000"),
        "{out}"
    );
}

/// Docker's inspect of what `docker create` asked for: the restart policy's
/// name and retry count apart, the port bindings, the binds, and Mounts with
/// a volume's driver and each mount's propagation.
#[test]
fn docker_inspect_shows_restart_policy_ports_binds_and_mounts() {
    let st = TestStore::with_busybox();
    let svc = Service::start(&st, "0");
    let host = st.path().join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    let bind = format!("{}:/x", host.display());
    let (code, _, err) = docker(
        &svc,
        &[
            "create",
            "--name",
            "i",
            "--restart",
            "on-failure:2",
            "-p",
            "127.0.0.1:18081:80",
            "-v",
            &bind,
            "-v",
            "nv:/nv",
            IMG,
            "true",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = docker(&svc, &["inspect", "i"], "");
    assert_eq!(code, 0, "{err}");
    let v = &common::json(&out)[0];
    let h = &v["HostConfig"];
    assert_eq!(h["RestartPolicy"]["Name"], "on-failure", "{h}");
    assert_eq!(h["RestartPolicy"]["MaximumRetryCount"], 2, "{h}");
    assert_eq!(h["PortBindings"]["80/tcp"][0]["HostPort"], "18081", "{h}");
    assert_eq!(h["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1", "{h}");
    assert!(
        h["Binds"]
            .as_array()
            .unwrap()
            .contains(&bind.clone().into()),
        "{h}"
    );
    let mounts = v["Mounts"].as_array().unwrap();
    let at = |dest: &str| mounts.iter().find(|m| m["Destination"] == dest).unwrap();
    assert_eq!(at("/nv")["Driver"], "local", "{mounts:?}");
    assert_eq!(at("/nv")["Propagation"], "rprivate", "{mounts:?}");
    assert_eq!(at("/x")["Type"], "bind", "{mounts:?}");
    assert_eq!(at("/x")["Propagation"], "rprivate", "{mounts:?}");
    docker(&svc, &["rm", "-v", "i"], "");
    // Docker's words where podman's differ: no policy is "no", and a user
    // network's container has the network's name as its mode.
    assert_eq!(docker(&svc, &["network", "create", "dn"], "").0, 0);
    let (code, _, err) = docker(
        &svc,
        &["create", "--name", "j", "--network", "dn", IMG, "true"],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = docker(&svc, &["inspect", "j"], "");
    let h = &common::json(&out)[0]["HostConfig"];
    assert_eq!(
        (
            h["RestartPolicy"]["Name"].as_str(),
            h["NetworkMode"].as_str()
        ),
        (Some("no"), Some("dn")),
        "{h}"
    );
    docker(&svc, &["rm", "j"], "");
    docker(&svc, &["network", "rm", "dn"], "");
}
