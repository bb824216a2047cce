//! `system service`: berth's REST API, driven by real clients (Debian's
//! python3-docker) and by hostile requests, against a service each test
//! starts on its own socket.

mod common;

use std::io::{Read, Write};
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
        let socket = st.path().join("api.sock");
        let child = st
            .cmd()
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
    ok(&["volume", "create", "dv"], "");
    assert!(ok(&["volume", "ls", "-q"], "").contains("dv"));
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
