//! `--network slirp4netns`: podman 4's user-mode network, as root here: the
//! container's addresses, DNS and /etc/hosts as podman writes them, a port
//! published on 127.0.0.1, and slirp4netns gone with the container.

mod common;

use std::io::Read;

use common::store::TestStore;
use common::wait_for;

/// The slirp4netns processes serving this container's namespace.
fn slirp_pids(id: &str) -> Vec<i32> {
    let short = &id[..12];
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.starts_with("slirp4netns\0") && cmd.contains(short)
        })
        .filter(|pid| {
            // A zombie is gone but for its parent's wait.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
        .collect()
}

#[test]
fn slirp4netns_connects_publishes_and_leaves_with_the_container() {
    let st = TestStore::with_busybox();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("127.0.0.1:{port}:8080");
    let id = st
        .ok(&[
            "run",
            "-d",
            "--name",
            "s",
            "--hostname",
            "sh1",
            "--network",
            "slirp4netns:cidr=10.77.5.0/24",
            "-p",
            &publish,
            "localhost/bb:1",
            "nc",
            "-ll",
            "-p",
            "8080",
            "-e",
            "echo",
            "hi-slirp",
        ])
        .stdout;
    let id = id.trim();
    assert_eq!(st.inspect("s", ".HostConfig.NetworkMode"), "slirp4netns");
    let files = st
        .ok(&[
            "exec",
            "s",
            "sh",
            "-c",
            "ip -4 addr show tap0; cat /etc/hosts /etc/resolv.conf",
        ])
        .stdout;
    assert!(files.contains("inet 10.77.5.100/24"), "{files}");
    assert!(files.contains("\n10.77.5.100\tsh1 s\n"), "{files}");
    assert!(files.contains("nameserver 10.77.5.3"), "{files}");
    assert!(files.contains("\thost.containers.internal\n"), "{files}");
    assert_eq!(slirp_pids(id).len(), 1);
    let mut got = String::new();
    wait_for("the published port to answer", || {
        got.clear();
        std::net::TcpStream::connect(("127.0.0.1", port))
            .and_then(|mut s| s.read_to_string(&mut got))
            .is_ok()
            && got == "hi-slirp\n"
    });
    st.ok(&["rm", "-f", "-t", "0", "s"]);
    wait_for("slirp4netns to end", || slirp_pids(id).is_empty());
    // An option slirp4netns is not given by berth: refused in one line.
    let r = st.run(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns:port_handler=rootlesskit",
        "localhost/bb:1",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown slirp4netns option"),
        "{}",
        r.stderr
    );
}
