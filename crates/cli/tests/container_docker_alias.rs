//! `alias docker=berth`: everyday docker commands work with the binary
//! called by docker's name.

mod common;

use std::process::Command;

use common::store::TestStore;
use common::*;

#[test]
fn everyday_docker_commands_work_through_alias_docker() {
    let st = TestStore::with_busybox();
    // alias docker=berth: the same binary under docker's name.
    let bin = st.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_berth"), bin.join("docker")).unwrap();
    let docker = |args: &[&str]| {
        let mut c = Command::new(bin.join("docker"));
        c.env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
            .env("BERTH_OCI_EXE_DIR", st.dir.path().join("exe"))
            .arg("--root")
            .arg(st.dir.path().join("root"))
            .arg("--runroot")
            .arg(st.dir.path().join("run"))
            .args(args)
            .stdin(std::process::Stdio::null());
        let r = run_cmd(&mut c);
        assert_eq!(r.code, 0, "docker {args:?}: {}", r.stderr);
        r
    };
    assert_eq!(
        docker(&["run", "--rm", "localhost/bb:1", "echo", "hi"]).stdout,
        "hi\n"
    );
    docker(&[
        "run",
        "-d",
        "--name",
        "web",
        "localhost/bb:1",
        "sleep",
        "300",
    ]);
    assert_eq!(
        docker(&["ps", "--format", "{{.Names}}"]).stdout.trim(),
        "web"
    );
    assert_eq!(
        docker(&["container", "ls", "-a", "-q"])
            .stdout
            .lines()
            .count(),
        1
    );
    assert_eq!(
        docker(&["exec", "web", "echo", "inside"]).stdout,
        "inside\n"
    );
    assert_eq!(
        docker(&["container", "exec", "web", "hostname"])
            .stdout
            .trim()
            .len(),
        12
    );
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            "web"
        ])
        .stdout
        .trim(),
        "running"
    );
    docker(&["container", "stop", "-t", "0", "web"]);
    docker(&["container", "rm", "web"]);
    docker(&["image", "tag", "localhost/bb:1", "localhost/bb:copy"]);
    let names = docker(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).stdout;
    assert!(names.contains("localhost/bb:copy"), "{names}");
    docker(&["image", "rm", "localhost/bb:copy"]);
    docker(&[
        "container",
        "create",
        "--name",
        "c",
        "localhost/bb:1",
        "true",
    ]);
    docker(&["container", "start", "-a", "c"]);
    docker(&[
        "container",
        "cp",
        "c:/etc/passwd",
        st.dir.path().join("passwd").to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(st.dir.path().join("passwd"))
            .unwrap()
            .contains("root")
    );
    docker(&["container", "rm", "c"]);
    let v = docker(&["version", "--format", "{{.Client.Version}}"]).stdout;
    assert_eq!(v.trim(), env!("CARGO_PKG_VERSION"));
    let v = json(&docker(&["version", "--format", "json"]).stdout);
    assert_eq!(v["Client"]["Os"], "linux");
    // Scripts (podman's own test helpers) read the server's version too.
    let v = docker(&["version", "--format", "{{.Server.Version}}"]).stdout;
    assert_eq!(v.trim(), env!("CARGO_PKG_VERSION"));
}
