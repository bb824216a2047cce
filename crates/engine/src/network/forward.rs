//! Published ports of a rootless container on a bridge network (podman's
//! `rootlessport`): a process of berth's binds the host's addresses and ports,
//! then joins the rootless network namespace ([`super::rootless`]) and passes
//! every TCP connection and UDP datagram to the container's address there.
//!
//! It runs as `berth __port-forward NETNS ADDRESS PORT…` (each `PORT` in the
//! form [`PortMapping`] is kept in), in a session of its own, says `ok` (or
//! `err WHY`) on its stdout once the ports are bound, and serves until
//! teardown ends it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_runtime::pid::{Pid, ProcessId};

use super::{NetworkError, PortMapping};

/// The hidden command that serves.
pub const COMMAND: &str = "__port-forward";

/// A UDP "connection" (a client's address) is forgotten after this long quiet.
const UDP_IDLE: Duration = Duration::from_secs(60);

/// At most this many TCP connections, and UDP clients, a port at once: what
/// any client can open must not exhaust the user's threads.
const MAX_PEERS: usize = 1024;

/// How long a connection to the container may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A thread, or none when the system has no more to give (the caller goes
/// on without it rather than dying).
fn thread(f: impl FnOnce() + Send + 'static) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().spawn(f).ok()
}

fn fail(why: impl std::fmt::Display) -> NetworkError {
    NetworkError::Forward(why.to_string())
}

/// Starts the forwarder for `ports` to `address` inside `netns` and waits
/// until it holds the ports (a port in use fails here, in podman's words).
pub fn spawn(
    netns: &Path,
    address: &str,
    ports: &[PortMapping],
) -> Result<ProcessId, NetworkError> {
    let exe = berth_runtime::selfexe::real_exe().map_err(fail)?;
    let mut cmd = Command::new(exe);
    cmd.arg(COMMAND).arg(netns).arg(address);
    cmd.args(ports.iter().map(ToString::to_string))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(crate::sys::setsid);
    }
    let mut child = cmd.spawn().map_err(fail)?;
    let pid = Pid::new(child.id() as i32).ok_or_else(|| fail("no pid"))?;
    let id = ProcessId::of(pid);
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    match (line.trim_end(), id) {
        ("ok", Some(id)) => Ok(id),
        (answer, _) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(match answer.strip_prefix("err ") {
                Some(why) => NetworkError::Publish(why.to_string()),
                None => fail("exited before it held the ports"),
            })
        }
    }
}

/// The forwarder's own main: `args` are what follows [`COMMAND`]. Returns
/// only on a failure before serving (already reported on stdout).
pub fn serve(args: &[String]) -> i32 {
    let mut out = std::io::stdout();
    match bind_and_join(args) {
        Ok(serving) => {
            // The last word on stdout: nobody reads it any more.
            let _ = writeln!(out, "ok").and_then(|()| out.flush());
            serving.run();
            0
        }
        Err(why) => {
            let _ = writeln!(out, "err {why}");
            1
        }
    }
}

struct Serving {
    target: IpAddr,
    tcp: Vec<(TcpListener, u16)>,
    udp: Vec<(UdpSocket, u16)>,
}

/// Binds every port here (the host's network), then moves into `NETNS`, where
/// every socket made from now on lives.
fn bind_and_join(args: &[String]) -> Result<Serving, NetworkError> {
    let [netns, address, ports @ ..] = args else {
        return Err(NetworkError::Publish(format!(
            "usage: {COMMAND} NETNS ADDRESS PORT..."
        )));
    };
    let target: IpAddr = address
        .parse()
        .map_err(|_| NetworkError::Publish(format!("{address}: not an address")))?;
    let mut s = Serving {
        target,
        tcp: Vec::new(),
        udp: Vec::new(),
    };
    for p in ports {
        let p: PortMapping = p.parse()?;
        let ip: IpAddr = p.host_ip.parse().unwrap_or([0, 0, 0, 0].into());
        let addr = SocketAddr::new(ip, p.host_port);
        let in_use = |e: std::io::Error| {
            NetworkError::Publish(
                super::ReserveError {
                    protocol: p.protocol.clone(),
                    addr,
                    source: e,
                }
                .to_string(),
            )
        };
        match p.protocol.as_str() {
            "tcp" => s
                .tcp
                .push((TcpListener::bind(addr).map_err(in_use)?, p.container_port)),
            "udp" => s
                .udp
                .push((UdpSocket::bind(addr).map_err(in_use)?, p.container_port)),
            other => {
                return Err(NetworkError::Publish(format!(
                    "{p}: {other} ports are not forwarded rootless"
                )));
            }
        }
    }
    let ns =
        std::fs::File::open(netns).map_err(|e| NetworkError::Publish(format!("{netns}: {e}")))?;
    berth_runtime::sys::setns(ns.as_raw_fd(), libc::CLONE_NEWNET)
        .map_err(|e| NetworkError::Publish(format!("join {netns}: {e}")))?;
    Ok(s)
}

impl Serving {
    /// One thread a listener; threads made after the join are in the
    /// container's side's namespace, and so are their sockets.
    fn run(self) {
        let target = self.target;
        let mut threads = Vec::new();
        for (l, port) in self.tcp {
            threads.extend(thread(move || tcp(&l, (target, port).into())));
        }
        for (s, port) in self.udp {
            threads.extend(thread(move || udp(s, (target, port).into())));
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

fn tcp(listener: &TcpListener, to: SocketAddr) {
    let live = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for client in listener.incoming() {
        let Ok(client) = client else {
            // Out of descriptors, say: a pause instead of a spin.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        if live.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= MAX_PEERS {
            live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            continue;
        }
        let done = live.clone();
        let served = thread(move || {
            if let Ok(server) = TcpStream::connect_timeout(&to, CONNECT_TIMEOUT) {
                splice(client, server);
            }
            done.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
        if served.is_none() {
            live.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Copies both ways until each side has said all it will; a side's end of
/// file is passed on as a half-close.
fn splice(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let one_way = |mut from: TcpStream, mut to: TcpStream| {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    };
    let Some(back) = thread(move || one_way(b2, a2)) else {
        return;
    };
    one_way(a, b);
    let _ = back.join();
}

/// Each client address gets a socket of its own towards the container, so
/// that answers find their way back; it goes after [`UDP_IDLE`] of quiet.
fn udp(host: UdpSocket, to: SocketAddr) {
    let host = Arc::new(host);
    let peers: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = host.recv_from(&mut buf) else {
            continue;
        };
        let known = peers.lock().expect("not poisoned").get(&client).cloned();
        let upstream = match known {
            Some(u) => u,
            None => {
                if peers.lock().expect("not poisoned").len() >= MAX_PEERS {
                    continue;
                }
                let Some(u) = udp_peer(to) else { continue };
                peers
                    .lock()
                    .expect("not poisoned")
                    .insert(client, u.clone());
                let (host, peers2, u2) = (host.clone(), peers.clone(), u.clone());
                let answering = thread(move || {
                    udp_answers(&u2, &host, client);
                    peers2.lock().expect("not poisoned").remove(&client);
                });
                if answering.is_none() {
                    peers.lock().expect("not poisoned").remove(&client);
                    continue;
                }
                u
            }
        };
        let _ = upstream.send(&buf[..n]);
    }
}

fn udp_peer(to: SocketAddr) -> Option<Arc<UdpSocket>> {
    let any: SocketAddr = match to {
        SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let u = UdpSocket::bind(any).ok()?;
    u.connect(to).ok()?;
    u.set_read_timeout(Some(UDP_IDLE)).ok()?;
    Some(Arc::new(u))
}

fn udp_answers(upstream: &UdpSocket, host: &UdpSocket, client: SocketAddr) {
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = upstream.recv(&mut buf) {
        let _ = host.send_to(&buf[..n], client);
    }
}
