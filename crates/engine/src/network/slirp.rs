//! `--network slirp4netns`: a namespace of the container's own that slirp4netns
//! connects to the host through a user-mode TCP/IP stack (the container is
//! 10.0.2.100, the host 10.0.2.2, DNS 10.0.2.3), and publishes ports into
//! through its API socket. slirp4netns runs until [`stop`] (from teardown)
//! ends it.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use berth_runtime::pid::{Pid, ProcessId};
use berth_storage::Store;

use super::{Attachment, NetworkError, PortMapping};

fn fail(why: impl std::fmt::Display) -> NetworkError {
    NetworkError::Slirp4netns(why.to_string())
}

/// Where a container's slirp4netns keeps its API socket and log: short, as a
/// socket's path must be.
fn files(store: &Store, id: &str) -> (PathBuf, PathBuf) {
    let dir = store.config().run_root.join("s4n");
    let short = &id[..12.min(id.len())];
    (
        dir.join(format!("{short}.sock")),
        dir.join(format!("{short}.log")),
    )
}

/// slirp4netns's command line for the options of `--network slirp4netns:…`.
fn command(options: &[String], netns: &std::path::Path, api: &std::path::Path) -> Command {
    let get = |key: &str| {
        options
            .iter()
            .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
    };
    let mut cmd = Command::new("slirp4netns");
    // Sandboxed (its own mount namespace, no filesystem but what it needs) and
    // seccomp-filtered, as podman runs it: it parses what the container sends.
    cmd.args([
        "--configure",
        "--netns-type=path",
        "--ready-fd=3",
        "--enable-sandbox",
        "--enable-seccomp",
    ])
    .arg(format!("--mtu={}", get("mtu").unwrap_or("65520")))
    .arg("--api-socket")
    .arg(api);
    if get("allow_host_loopback") != Some("true") {
        cmd.arg("--disable-host-loopback");
    }
    if get("enable_ipv6") == Some("true") {
        cmd.arg("--enable-ipv6");
    }
    if let Some(c) = get("cidr") {
        cmd.arg(format!("--cidr={c}"));
    }
    cmd.arg(netns).arg("tap0");
    cmd
}

/// The host's, the DNS forwarder's and the container's addresses in
/// slirp4netns's network: the 2nd, 3rd and 100th of its range (10.0.2.0/24
/// unless `cidr=` says).
fn addresses(options: &[String]) -> (String, String, String) {
    let default = (u32::from(std::net::Ipv4Addr::new(10, 0, 2, 0)), 24);
    let (base, prefix) = options
        .iter()
        .find_map(|o| o.strip_prefix("cidr="))
        .and_then(|c| {
            let (addr, len) = c.split_once('/').unwrap_or((c, "24"));
            let len: u32 = len.parse().ok().filter(|l| (1..=25).contains(l))?;
            Some((u32::from(addr.parse::<std::net::Ipv4Addr>().ok()?), len))
        })
        .unwrap_or(default);
    // The network's own address, then its 2nd, 3rd and 100th (a /25 at most
    // holds a .100).
    let network = base & (u32::MAX << (32 - prefix));
    let nth = |n: u32| std::net::Ipv4Addr::from(network + n).to_string();
    (nth(2), nth(3), nth(100))
}

/// Connects the container's own namespace through slirp4netns and publishes
/// `ports`; the attachment records slirp4netns to end it at teardown.
pub fn setup(
    store: &Store,
    id: &str,
    ports: &[PortMapping],
    options: &[String],
) -> Result<Attachment, NetworkError> {
    if let Some(a) = super::attachment(store, id).filter(|a| a.netns.exists()) {
        return Ok(a);
    }
    let mut att = super::setup_isolated(store, id)?;
    att.ports = ports.to_vec();
    let (host, dns, own) = addresses(options);
    att.dns = vec![dns];
    att.address = Some(own);
    // The host by its own address (slirp4netns reaches it by NAT), as podman
    // names it; through 10.0.2.2 only when its loopback is allowed.
    let loopback = options.iter().any(|o| o == "allow_host_loopback=true");
    att.gateway = match crate::sys::first_host_ipv4() {
        Some(ip) if !loopback => Some(ip.to_string()),
        _ => Some(host),
    };
    super::save(store, id, &att)?;
    match start(store, id, &att, options) {
        Ok(helper) => {
            att.helper = Some(helper);
            if let Err(e) = super::save(store, id, &att) {
                stop(store, id, &helper);
                super::teardown(store, id);
                return Err(e);
            }
        }
        Err(e) => {
            super::teardown(store, id);
            return Err(e);
        }
    }
    for p in ports {
        if let Err(e) = publish(&files(store, id).0, p) {
            super::teardown(store, id);
            return Err(e);
        }
    }
    Ok(att)
}

/// Starts slirp4netns in a session of its own and waits until it says the
/// namespace is configured.
fn start(
    store: &Store,
    id: &str,
    att: &Attachment,
    options: &[String],
) -> Result<ProcessId, NetworkError> {
    let (api, log) = files(store, id);
    let dir = api.parent().expect("a directory");
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    // Its API socket publishes ports: no one else's to reach.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&api);
    let log_file =
        std::fs::File::create(&log).map_err(|e| fail(format!("{}: {e}", log.display())))?;
    let (ready_r, ready_w) = crate::sys::pipe().map_err(fail)?;
    let ready_fd = ready_w.as_raw_fd();
    let mut cmd = command(options, &att.netns, &api);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    // SAFETY: between fork and exec the child only calls setsid, dup2 and
    // fcntl, all async-signal-safe, on a descriptor it inherited.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: cleared instead.
            let on_3 = match ready_fd {
                3 => libc::fcntl(3, libc::F_SETFD, 0),
                fd => libc::dup2(fd, 3),
            };
            if libc::setsid() < 0 || on_3 < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        fail(format!(
            "run slirp4netns (Debian's slirp4netns package): {e}"
        ))
    })?;
    drop(ready_w);
    let pid = Pid::new(child.id() as i32).ok_or_else(|| fail("no pid"))?;
    let helper = ProcessId::of(pid);
    // One byte once configured; end of file when it exits first; nothing in
    // 30 s: it hangs, and is ended (our own child, not yet reaped).
    let mut child = child;
    let waited = crate::sys::poll_readable(
        &[ready_r.as_raw_fd()],
        Some(std::time::Duration::from_secs(30)),
    );
    let mut byte = [0u8; 1];
    let ready = matches!(waited.as_deref(), Ok([true]))
        && std::fs::File::from(ready_r).read(&mut byte).unwrap_or(0) == 1;
    if !ready {
        let _ = child.kill();
        let _ = child.wait();
        let why = std::fs::read_to_string(&log).unwrap_or_default();
        let why: Vec<&str> = why.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(fail(if why.is_empty() {
            "exited before the network was configured".to_string()
        } else {
            why.join("; ")
        }));
    }
    helper.ok_or_else(|| fail("exited once configured"))
}

/// Asks slirp4netns to forward a host port into the container.
fn publish(api: &std::path::Path, p: &PortMapping) -> Result<(), NetworkError> {
    let request = serde_json::json!({
        "execute": "add_hostfwd",
        "arguments": {
            "proto": p.protocol,
            "host_addr": if p.host_ip.is_empty() { "0.0.0.0" } else { p.host_ip.as_str() },
            "host_port": p.host_port,
            "guest_port": p.container_port,
        }
    });
    let what = format!("publish {}:{}", p.host_port, p.container_port);
    let mut s = std::os::unix::net::UnixStream::connect(api)
        .map_err(|e| fail(format!("{what}: {}: {e}", api.display())))?;
    s.write_all(request.to_string().as_bytes())
        .and_then(|()| s.shutdown(std::net::Shutdown::Write))
        .map_err(|e| fail(format!("{what}: {e}")))?;
    let mut answer = String::new();
    s.take(64 << 10)
        .read_to_string(&mut answer)
        .map_err(|e| fail(format!("{what}: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    match v.get("error") {
        None if v.get("return").is_some() => Ok(()),
        Some(e) => Err(fail(format!(
            "{what}: {}",
            e["desc"].as_str().unwrap_or("refused")
        ))),
        None => Err(fail(format!("{what}: no answer"))),
    }
}

/// Ends the container's slirp4netns, the very process started (its pid and
/// start time), and removes its files.
pub fn stop(store: &Store, id: &str, helper: &ProcessId) {
    if let Some(fd) = helper.open() {
        let _ = fd.signal(libc::SIGTERM);
        if !fd.wait_exit(Some(std::time::Duration::from_secs(2))) {
            let _ = fd.signal(libc::SIGKILL);
        }
    }
    let (api, log) = files(store, id);
    let _ = std::fs::remove_file(api);
    let _ = std::fs::remove_file(log);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_the_network_of_the_cidr() {
        let a = |o: &str| addresses(&[o.to_string()]);
        assert_eq!(
            a("mtu=1500"),
            ("10.0.2.2".into(), "10.0.2.3".into(), "10.0.2.100".into())
        );
        assert_eq!(
            a("cidr=10.9.0.5/24"),
            ("10.9.0.2".into(), "10.9.0.3".into(), "10.9.0.100".into())
        );
        // No overflow at the top of the space; a prefix with no .100 is not taken.
        assert_eq!(a("cidr=255.255.255.0/24").2, "255.255.255.100");
        assert_eq!(a("cidr=10.9.0.0/28").2, "10.0.2.100");
    }

    #[test]
    fn options_become_slirp4netns_flags() {
        let args = |o: &[&str]| {
            let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
            let c = command(&o, std::path::Path::new("/ns"), std::path::Path::new("/a"));
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        let plain = args(&[]);
        assert!(plain.contains(&"--disable-host-loopback".into()));
        assert!(plain.contains(&"--mtu=65520".into()));
        assert_eq!(plain[plain.len() - 2..], ["/ns", "tap0"]);
        let more = args(&["allow_host_loopback=true", "mtu=1500", "cidr=10.9.0.0/24"]);
        assert!(!more.contains(&"--disable-host-loopback".into()));
        assert!(more.contains(&"--mtu=1500".into()));
        assert!(more.contains(&"--cidr=10.9.0.0/24".into()));
    }
}
