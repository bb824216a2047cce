//! The few rtnetlink requests a bridge network needs (what `ip link`/`ip addr`/
//! `ip route` send), made directly: a bridge, a veth pair with one end moved
//! into the container's namespace, addresses, a default route, links up,
//! enslaved or deleted. A socket stays in the network namespace it was made
//! in, so each namespace's work is done on a socket made by a thread that
//! joined it ([`in_netns`]).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

const NLMSG_ERROR: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;

/// Runs `f` on a thread of its own that joined the network namespace at `ns`
/// (none: this process's), so that the sockets it makes live there.
pub fn in_netns<T: Send>(
    ns: Option<&Path>,
    f: impl FnOnce() -> io::Result<T> + Send,
) -> io::Result<T> {
    let with_path =
        |p: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
    let file = ns
        .map(|p| open_netns(p).map_err(|e| with_path(p, e)))
        .transpose()?;
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(f) = &file {
                berth_runtime::sys::setns(f.as_raw_fd(), libc::CLONE_NEWNET)?;
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
    })
}

/// Opens a pinned network namespace, refusing a path that is no namespace
/// here: a pin made in another mount namespace (a berth run under `ip netns
/// exec`, which gives each command one of its own) is an empty file outside it,
/// which the kernel would refuse with a bare "Invalid argument".
pub fn open_netns(path: &Path) -> io::Result<std::fs::File> {
    const NSFS_MAGIC: i64 = 0x6e73_6673;
    let file = std::fs::File::open(path)?;
    // SAFETY: fstatfs fills the zeroed struct for a descriptor we hold open.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if st.f_type as i64 != NSFS_MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a network namespace in this mount namespace (was the container started under another `ip netns exec` or `unshare -m`?)",
        ));
    }
    Ok(file)
}

/// A message being built: the header, a fixed part, then attributes.
struct Message {
    buf: Vec<u8>,
    /// Where each open nest's length lives.
    nests: Vec<usize>,
}

impl Message {
    fn new(kind: u16, flags: u16, fixed: &[u8]) -> Message {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set at send
        buf.extend_from_slice(&kind.to_ne_bytes());
        let flags = flags | libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16;
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
        buf.extend_from_slice(fixed);
        Message {
            buf,
            nests: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Message {
        self.buf
            .extend_from_slice(&(4 + data.len() as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn name(&mut self, kind: u16, s: &str) -> &mut Message {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(kind, &b)
    }

    fn u32(&mut self, kind: u16, v: u32) -> &mut Message {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Opens a nested attribute; [`Message::end`] closes it.
    fn nest(&mut self, kind: u16) -> &mut Message {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Appends raw bytes (a nested message's fixed part).
    fn raw(&mut self, b: &[u8]) -> &mut Message {
        self.buf.extend_from_slice(b);
        self
    }

    fn end(&mut self) -> &mut Message {
        let at = self.nests.pop().expect("an open nest");
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    fn finish(&mut self) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        &self.buf
    }
}

/// `struct ifinfomsg`: family, type, index, flags and the flags changed.
fn ifinfo(index: u32, flags: u32, change: u32) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// An rtnetlink socket of the calling thread's network namespace.
pub struct Netlink(OwnedFd);

impl Netlink {
    pub fn open() -> io::Result<Netlink> {
        // SAFETY: plain integer arguments; the result is checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just returned to us, owned from here on.
        Ok(Netlink(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Sends one request and reads its acknowledgement: the kernel's error.
    fn call(&self, m: &mut Message) -> io::Result<()> {
        let b = m.finish();
        // SAFETY: the buffer outlives the call; its length is passed.
        let n = unsafe { libc::send(self.0.as_raw_fd(), b.as_ptr().cast(), b.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut answer = [0u8; 8192];
        // SAFETY: the buffer is ours and its length is passed.
        let n = unsafe {
            libc::recv(
                self.0.as_raw_fd(),
                answer.as_mut_ptr().cast(),
                answer.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let answer = &answer[..n as usize];
        if answer.len() < 20 || u16::from_ne_bytes([answer[4], answer[5]]) != NLMSG_ERROR {
            return Err(io::Error::other("netlink: no acknowledgement"));
        }
        match i32::from_ne_bytes([answer[16], answer[17], answer[18], answer[19]]) {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(-e)),
        }
    }

    /// `ip link add NAME [mtu MTU] type bridge`; one that exists is kept.
    pub fn add_bridge(&self, name: &str, mtu: Option<u32>) -> io::Result<()> {
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        let mut m = Message::new(libc::RTM_NEWLINK, flags, &ifinfo(0, 0, 0));
        m.name(libc::IFLA_IFNAME, name);
        if let Some(mtu) = mtu {
            m.u32(libc::IFLA_MTU, mtu);
        }
        m.nest(libc::IFLA_LINKINFO)
            .name(libc::IFLA_INFO_KIND, "bridge")
            .end();
        exists_is_fine(self.call(&mut m))
    }

    /// `ip link add HOST [mtu MTU] type veth peer name PEER netns NS [address
    /// MAC] [mtu MTU]`: the pair made here, its `peer` end moved into the
    /// namespace open at `ns`.
    pub fn add_veth(
        &self,
        host: &str,
        peer: &str,
        ns: RawFd,
        mac: Option<[u8; 6]>,
        mtu: Option<u32>,
    ) -> io::Result<()> {
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        let mut m = Message::new(libc::RTM_NEWLINK, flags, &ifinfo(0, 0, 0));
        m.name(libc::IFLA_IFNAME, host);
        if let Some(mtu) = mtu {
            m.u32(libc::IFLA_MTU, mtu);
        }
        m.nest(libc::IFLA_LINKINFO)
            .name(libc::IFLA_INFO_KIND, "veth")
            .nest(libc::IFLA_INFO_DATA)
            .nest(VETH_INFO_PEER)
            .raw(&ifinfo(0, 0, 0))
            .name(libc::IFLA_IFNAME, peer)
            .u32(libc::IFLA_NET_NS_FD, ns as u32);
        if let Some(mtu) = mtu {
            m.u32(libc::IFLA_MTU, mtu);
        }
        if let Some(mac) = mac {
            m.attr(libc::IFLA_ADDRESS, &mac);
        }
        m.end().end().end();
        self.call(&mut m)
    }

    /// `ip link set NAME up [master BRIDGE]`.
    pub fn up(&self, index: u32, master: Option<u32>) -> io::Result<()> {
        let up = libc::IFF_UP as u32;
        let mut m = Message::new(libc::RTM_NEWLINK, 0, &ifinfo(index, up, up));
        if let Some(b) = master {
            m.u32(libc::IFLA_MASTER, b);
        }
        self.call(&mut m)
    }

    /// `ip link del NAME` (a veth takes its peer with it).
    pub fn delete(&self, index: u32) -> io::Result<()> {
        let mut m = Message::new(libc::RTM_DELLINK, 0, &ifinfo(index, 0, 0));
        self.call(&mut m)
    }

    /// `ip addr add ADDR/LEN dev INDEX`; one it has already is kept.
    pub fn add_address(&self, index: u32, addr: Ipv4Addr, len: u8) -> io::Result<()> {
        let mut fixed = [0u8; 8];
        fixed[0] = libc::AF_INET as u8;
        fixed[1] = len;
        fixed[3] = libc::RT_SCOPE_UNIVERSE;
        fixed[4..8].copy_from_slice(&index.to_ne_bytes());
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        let mut m = Message::new(libc::RTM_NEWADDR, flags, &fixed);
        let broadcast = u32::from(addr) | (u32::MAX >> len);
        m.attr(libc::IFA_LOCAL, &addr.octets())
            .attr(libc::IFA_ADDRESS, &addr.octets())
            .attr(libc::IFA_BROADCAST, &broadcast.to_be_bytes());
        exists_is_fine(self.call(&mut m))
    }

    /// `ip route add default via GATEWAY`.
    pub fn add_default_route(&self, gateway: Ipv4Addr) -> io::Result<()> {
        let fixed = [
            libc::AF_INET as u8,
            0, // destination length: the default route
            0,
            0,
            libc::RT_TABLE_MAIN,
            libc::RTPROT_BOOT,
            libc::RT_SCOPE_UNIVERSE,
            libc::RTN_UNICAST,
            0,
            0,
            0,
            0,
        ];
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        let mut m = Message::new(libc::RTM_NEWROUTE, flags, &fixed);
        m.attr(libc::RTA_GATEWAY, &gateway.octets());
        exists_is_fine(self.call(&mut m))
    }
}

fn exists_is_fine(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        r => r,
    }
}

/// The index of interface `name` in the calling thread's namespace.
pub fn index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name; 0 means none.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Writes a sysctl of the calling thread's network namespace
/// (`net/ipv4/ip_forward` …).
pub fn sysctl(key: &str, value: &str) -> io::Result<()> {
    std::fs::write(format!("/proc/sys/{key}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each request is tried in a namespace of the test's own, as root only.
    fn root() -> bool {
        berth_runtime::sys::geteuid() == 0
    }

    #[test]
    fn messages_are_laid_out_as_the_kernel_reads_them() {
        let mut m = Message::new(libc::RTM_NEWLINK, 0, &ifinfo(7, 1, 1));
        m.name(libc::IFLA_IFNAME, "br0")
            .nest(libc::IFLA_LINKINFO)
            .name(libc::IFLA_INFO_KIND, "bridge")
            .end();
        let b = m.finish().to_vec();
        assert_eq!(
            u32::from_ne_bytes(b[..4].try_into().unwrap()) as usize,
            b.len()
        );
        assert_eq!(b.len() % 4, 0);
        // The name attribute: 4 bytes of header, "br0\0".
        assert_eq!(&b[32..40], &[8, 0, 3, 0, b'b', b'r', b'0', 0]);
        // The nest's length covers its child (4 + 4 + "bridge\0" padded to 8).
        assert_eq!(u16::from_ne_bytes([b[40], b[41]]), 16);
    }

    #[test]
    fn a_bridge_and_a_veth_pair_in_namespaces_of_the_tests_own() {
        if !root() {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let (host, ctr) = (d.path().join("host"), d.path().join("ctr"));
        for ns in [&host, &ctr] {
            crate::sys::pin_new_netns(ns).unwrap();
        }
        let r = in_netns(Some(&host), || {
            let nl = Netlink::open()?;
            nl.add_bridge("tbr0", None)?;
            nl.add_bridge("tbr0", None)?;
            let br = index("tbr0").expect("the bridge");
            nl.add_address(br, Ipv4Addr::new(10, 77, 0, 1), 24)?;
            nl.up(br, None)?;
            let ctr_ns = std::fs::File::open(&ctr)?;
            nl.add_veth(
                "tveth0",
                "eth7",
                ctr_ns.as_raw_fd(),
                Some([2, 0x42, 0xac, 0, 0, 9]),
                None,
            )?;
            nl.up(index("tveth0").expect("the host end"), Some(br))?;
            std::fs::read_to_string("/proc/thread-self/net/dev")
        });
        let inside = in_netns(Some(&ctr), || {
            let nl = Netlink::open()?;
            let i = index("eth7").expect("the peer moved in");
            nl.add_address(i, Ipv4Addr::new(10, 77, 0, 2), 24)?;
            nl.up(i, None)?;
            nl.add_default_route(Ipv4Addr::new(10, 77, 0, 1))?;
            // A child of this thread is in its namespace: ip shows the address.
            let link = std::process::Command::new("ip")
                .args(["link", "show", "eth7"])
                .output()?;
            Ok(std::fs::read_to_string("/proc/thread-self/net/route")?
                + &String::from_utf8_lossy(&link.stdout))
        });
        for ns in [&host, &ctr] {
            crate::sys::unpin_netns(ns);
        }
        let dev = r.unwrap();
        assert!(dev.contains("tbr0:") && dev.contains("tveth0:"), "{dev}");
        let routes = inside.unwrap();
        // The default route (destination 0) through 10.77.0.1 (hex, little-endian).
        assert!(
            routes
                .lines()
                .any(|l| l.starts_with("eth7\t00000000\t01004D0A")),
            "{routes}"
        );
        assert!(routes.contains("link/ether 02:42:ac:00:00:09"), "{routes}");
    }

    #[test]
    fn a_pin_that_is_no_namespace_here_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let pin = dir.path().join("berth-gone");
        std::fs::write(&pin, b"").unwrap();
        let e = open_netns(&pin).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("not a network namespace"), "{e}");
        let e = in_netns(Some(&pin), || Ok(())).unwrap_err();
        assert!(e.to_string().starts_with(pin.to_str().unwrap()), "{e}");
        assert!(open_netns(Path::new("/proc/self/ns/net")).is_ok());
    }
}
