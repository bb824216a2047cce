//! Published ports held on the host for the container's life, as podman does:
//! it binds each published host address and port itself (libpod's
//! `bindPorts`: a TCP listener, a bound UDP socket) and hands the sockets to
//! conmon, which keeps them open while the container runs. The firewall's
//! DNAT rules take the traffic before any socket sees it; the sockets are
//! there so that nothing else can have the port meanwhile: a second
//! container publishing it, or a host process binding it, fails with
//! "address already in use" instead of silently sharing or stealing it.
//!
//! The sockets are made close-on-exec: they stay with the process that holds
//! them (the monitor, or a foreground `berth run`), never reaching the
//! container or a runtime binary.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;

use super::PortMapping;

/// The host sockets of a container's published ports; dropping it frees the
/// ports.
#[derive(Debug, Default)]
pub struct Reservation {
    /// Kept only to be closed when the reservation goes.
    sockets: Vec<OwnedFd>,
}

impl Reservation {
    /// How many sockets are held (SCTP ports are not reserved, as in podman).
    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }
}

/// A published port that could not be bound; the text is podman's
/// (`cannot listen on the TCP port: listen tcp4 :8080: bind: address already
/// in use`), with the address as berth shows it.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on the {} port: listen {}{} {addr}: bind: {}",
    .protocol.to_uppercase(), .protocol, if .addr.is_ipv4() { "4" } else { "6" }, berth_runtime::error::go_words(.source))]
pub struct ReserveError {
    pub protocol: String,
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

impl ReserveError {
    /// Another socket has the port.
    pub fn in_use(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::AddrInUse
    }
}

/// Binds every published port's host address and port (each port's host
/// port already chosen); all or nothing: on failure, those bound are freed.
pub fn reserve(ports: &[PortMapping]) -> Result<Reservation, ReserveError> {
    let mut r = Reservation::default();
    for p in ports {
        if let Some(held) = bind(p)? {
            r.sockets.push(held);
        }
    }
    Ok(r)
}

fn bind(p: &PortMapping) -> Result<Option<OwnedFd>, ReserveError> {
    // parse() checked the address; the wildcard is what "no address" binds.
    let ip: IpAddr = p.host_ip.parse().unwrap_or([0, 0, 0, 0].into());
    let addr = SocketAddr::new(ip, p.host_port);
    let fail = |source| ReserveError {
        protocol: p.protocol.clone(),
        addr,
        source,
    };
    // std's sockets are what podman's Go makes: close-on-exec; TCP with
    // SO_REUSEADDR and listening (a listener's port no other socket can
    // bind, SO_REUSEADDR or not); UDP plainly bound.
    match p.protocol.as_str() {
        "tcp" => TcpListener::bind(addr).map(|s| Some(s.into())),
        "udp" => UdpSocket::bind(addr).map(|s| Some(s.into())),
        // SCTP ports are not reserved ("Port reservation for SCTP is not
        // supported", podman says).
        _ => Ok(None),
    }
    .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host_ip: &str, host_port: u16, protocol: &str) -> PortMapping {
        PortMapping {
            host_ip: host_ip.into(),
            host_port,
            container_port: 80,
            protocol: protocol.into(),
        }
    }

    /// Runs `f` on a thread of its own in a new, empty network namespace (a
    /// thread's own, as network namespaces are): what it binds touches
    /// nothing of the machine's.
    fn in_new_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: unshare has no memory-safety preconditions; it moves
                // only this thread into a new network namespace.
                let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "unshare: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap()
        })
    }

    #[test]
    fn a_reserved_port_cannot_be_taken_until_released() {
        in_new_netns(|| {
            let port = 5300;
            let ports = [
                mapping("0.0.0.0", port, "tcp"),
                mapping("0.0.0.0", port, "udp"),
            ];
            let held = reserve(&ports).unwrap();
            assert_eq!(held.len(), 2);
            // Another container's reservation, or a server's bind.
            let e = reserve(&ports[..1]).unwrap_err();
            assert!(e.in_use(), "{e}");
            assert_eq!(
                e.to_string(),
                "cannot listen on the TCP port: listen tcp4 0.0.0.0:5300: bind: address already in use"
            );
            let e = reserve(&ports[1..]).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("cannot listen on the UDP port: listen udp4")
            );
            assert!(TcpListener::bind(("0.0.0.0", port)).is_err());
            drop(held);
            reserve(&ports).expect("free again");
        })
    }

    #[test]
    fn all_or_nothing() {
        in_new_netns(|| {
            let taken = TcpListener::bind("0.0.0.0:5301").unwrap();
            let ports = [
                mapping("0.0.0.0", 5302, "tcp"),
                mapping("0.0.0.0", 5301, "tcp"),
            ];
            assert!(reserve(&ports).unwrap_err().in_use());
            // The first port, bound before the second failed, was let go.
            TcpListener::bind("0.0.0.0:5302").expect("5302 released");
            drop(taken);
        })
    }

    #[test]
    fn sctp_is_not_reserved() {
        let r = reserve(&[mapping("127.0.0.1", 1, "sctp")]).unwrap();
        assert!(r.is_empty());
    }
}
