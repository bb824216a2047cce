//! The engine's few system calls, each behind a safe function.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A pipe, both ends close-on-exec: (read, write).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes `target` a copy of `fd` (not close-on-exec).
pub fn dup2(fd: &impl AsRawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 on an open descriptor; target is one of this process's stdio slots.
    check(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop)
}

/// A new descriptor for what `fd` refers to, close-on-exec.
pub fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor number; the result is owned here.
    let n = check(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: n was just returned by fcntl and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// Makes this process a child subreaper: orphans of the container reparent here.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// Starts a new session (the monitor leaves the terminal of the `berth` that made it).
pub fn setsid() -> io::Result<()> {
    // SAFETY: setsid has no arguments.
    check(unsafe { libc::setsid() }).map(drop)
}

/// Waits for any child; returns (pid, exit code as a shell reports it).
pub fn wait_any() -> io::Result<(i32, i32)> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        return Ok((pid, code));
    }
}

/// Waits until any of the descriptors is readable (or hung up); returns which.
pub fn poll_readable(fds: &[RawFd], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    loop {
        // SAFETY: p is a valid array of p.len() pollfd structures.
        let r = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(p.iter().map(|x| x.revents != 0).collect());
    }
}

/// Clock ticks a second, the unit of /proc's process times.
pub fn clock_ticks() -> i64 {
    // SAFETY: sysconf only reads a system constant.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n > 0 { n } else { 100 }
}

/// Whether `fd` is a terminal.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty takes a descriptor number.
    unsafe { libc::isatty(fd) == 1 }
}

/// A terminal's settings, restored when dropped.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

/// Puts the terminal `fd` in raw mode (keys go to the container as they are typed).
pub fn raw_mode(fd: RawFd) -> io::Result<RawMode> {
    // SAFETY: a zeroed termios is a valid out-buffer for tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: t is a valid termios.
    check(unsafe { libc::tcgetattr(fd, &mut t) })?;
    let saved = t;
    // SAFETY: cfmakeraw edits the struct in place.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: t is a valid termios.
    check(unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) })?;
    Ok(RawMode { fd, saved })
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring settings read from the same descriptor.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Copies the window size of terminal `from` to terminal `to`.
pub fn copy_winsize(from: RawFd, to: RawFd) {
    // SAFETY: a zeroed winsize is a valid out-buffer.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ take a pointer to winsize.
    unsafe {
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Waits for one child; returns its exit code as a shell reports it.
pub fn wait_pid(pid: i32) -> io::Result<i32> {
    wait_pid_status(pid).map(|s| Ended::from_status(s).code())
}

/// How a process ended: its exit code, or the signal that killed it (which
/// podman reports as 128 + N and buildah as a failure of its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signalled(i32),
}

impl Ended {
    /// From waitpid's status.
    pub fn from_status(status: libc::c_int) -> Ended {
        if libc::WIFSIGNALED(status) {
            Ended::Signalled(libc::WTERMSIG(status))
        } else {
            Ended::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// The exit code as a shell reports it.
    pub fn code(self) -> i32 {
        match self {
            Ended::Exited(c) => c,
            Ended::Signalled(s) => 128 + s,
        }
    }
}

/// Waits for one child; returns waitpid's status.
pub fn wait_pid_status(pid: i32) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(status);
    }
}

/// Makes a new network namespace and pins it by bind-mounting it on `path`
/// (a thread unshares, so this process keeps its own namespace).
pub fn pin_new_netns(path: &std::path::Path) -> io::Result<()> {
    use std::ffi::CString;
    std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new("/")))?;
    std::fs::File::create(path)?;
    let target = CString::new(path.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    let r = std::thread::spawn(move || -> io::Result<()> {
        // SAFETY: unshare affects only this thread, which ends right after.
        check(unsafe { libc::unshare(libc::CLONE_NEWNET) })?;
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        let src =
            CString::new(format!("/proc/self/task/{tid}/ns/net")).map_err(io::Error::other)?;
        // SAFETY: both paths are NUL-terminated; a bind mount with no data.
        check(unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        })?;
        loopback_up()
    })
    .join()
    .map_err(|_| io::Error::other("netns thread panicked"))?;
    if r.is_err() {
        let _ = std::fs::remove_file(path);
    }
    r
}

/// Brings up `lo` in this thread's network namespace (a new one has it down).
fn loopback_up() -> io::Result<()> {
    // SAFETY: a datagram socket only to name the interface in ioctls.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: the descriptor was just made and is owned here.
    let sock = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero ifreq is valid; its name is set below.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write the ifreq given,
    // which outlives both calls.
    unsafe {
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req))?;
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req))?;
    }
    Ok(())
}

/// Unpins a network namespace made by [`pin_new_netns`].
pub fn unpin_netns(path: &std::path::Path) {
    if let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) {
        // SAFETY: a NUL-terminated path; a failed unmount is ignored.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    let _ = std::fs::remove_file(path);
}

/// Mounts a tmpfs on `path` with `data` (`size=…,mode=…`), nosuid, nodev and noexec.
pub fn mount_tmpfs(path: &std::path::Path, data: &str) -> io::Result<()> {
    use std::ffi::CString;
    let target = CString::new(path.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    let data = CString::new(data).map_err(io::Error::other)?;
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    check(unsafe {
        libc::mount(
            c"shm".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    })
    .map(drop)
}

/// Binds `src` (and what is mounted below it) on `target`, both existing.
pub fn rbind(src: &std::path::Path, target: &std::path::Path) -> io::Result<()> {
    use std::ffi::CString;
    let src = CString::new(src.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    let target = CString::new(target.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    // SAFETY: both paths are NUL-terminated and outlive the call; no data.
    check(unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REC,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// [`unmount`], never following a symlink at `path`.
pub fn unmount_nofollow(path: &std::path::Path) {
    detach(path, libc::UMOUNT_NOFOLLOW);
}

/// Detaches whatever is mounted on `path`; nothing mounted is no error.
pub fn unmount(path: &std::path::Path) {
    detach(path, 0);
}

fn detach(path: &std::path::Path, flags: libc::c_int) {
    if let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) {
        // SAFETY: a NUL-terminated path; a failed unmount is ignored.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH | flags) };
    }
}

/// The write end of the pipe the SIGWINCH handler pokes (-1: none).
static WINCH_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_winch(_: libc::c_int) {
    let fd = WINCH_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe already says "resized".
        unsafe { libc::write(fd, b"w".as_ptr().cast(), 1) };
    }
}

/// The write end of the pipe the proxied-signal handler writes to (-1: none).
static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_proxied(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write(2) is async-signal-safe; the byte is a local.
        unsafe { libc::write(fd, (&raw const b).cast(), 1) };
    }
}

/// From now on, each of the signals `--sig-proxy` passes on
/// ([`berth_runtime::create::PROXIED_SIGNALS`]) that this process gets is one byte
/// (its number) on the returned pipe, instead of its usual action.
pub fn signal_events() -> io::Result<std::fs::File> {
    let (r, w) = pipe()?;
    // The write end lives as long as the process: the handler may run late.
    SIGNAL_PIPE.store(
        std::os::fd::IntoRawFd::into_raw_fd(w),
        std::sync::atomic::Ordering::Relaxed,
    );
    for sig in berth_runtime::create::PROXIED_SIGNALS {
        // SAFETY: a zeroed sigaction with a handler that only calls write(2).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_proxied as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            check(libc::sigaction(sig, &sa, std::ptr::null_mut()))?;
        }
    }
    Ok(std::fs::File::from(r))
}

/// A descriptor that becomes readable when the user's terminal is resized
/// (SIGWINCH), for a poll loop to notice; drain it with [`drain`].
pub fn winch_events() -> io::Result<OwnedFd> {
    let (r, w) = pipe()?;
    for fd in [r.as_raw_fd(), w.as_raw_fd()] {
        // SAFETY: fcntl on descriptors this function owns.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) })?;
    }
    // The write end lives as long as the process: the handler may run late.
    WINCH_PIPE.store(
        std::os::fd::IntoRawFd::into_raw_fd(w),
        std::sync::atomic::Ordering::Relaxed,
    );
    // SAFETY: a zeroed sigaction with a handler that only calls write(2).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_winch as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        check(libc::sigaction(libc::SIGWINCH, &sa, std::ptr::null_mut()))?;
    }
    Ok(r)
}

/// Reads whatever a non-blocking descriptor holds.
pub fn drain(fd: RawFd) {
    let mut buf = [0u8; 64];
    // SAFETY: reading into a local buffer of the length given.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

/// A terminal's (rows, columns).
pub fn winsize(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: a zeroed winsize is a valid out-buffer for TIOCGWINSZ.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize through the pointer.
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0).then_some((ws.ws_row, ws.ws_col))
}

/// Sets a terminal's size (its foreground process gets SIGWINCH).
pub fn set_winsize(fd: RawFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer; failure is ignored.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// This process's supplementary group IDs.
pub fn supplementary_groups() -> Vec<u32> {
    // SAFETY: a null buffer of size 0 asks only for the count.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut v = vec![0 as libc::gid_t; n as usize];
    // SAFETY: the buffer holds `n` gids, as its length says.
    let got = unsafe { libc::getgroups(n, v.as_mut_ptr()) };
    v.truncate(got.max(0) as usize);
    v
}

/// The host's first IPv4 address that is up and not loopback, in interface
/// order (what `hostname -I` prints first).
pub fn first_host_ipv4() -> Option<std::net::Ipv4Addr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a list this function frees below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut found = None;
    let mut cur = list;
    while !cur.is_null() && found.is_none() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        let flags = ifa.ifa_flags;
        let up = flags & libc::IFF_UP as u32 != 0 && flags & libc::IFF_LOOPBACK as u32 == 0;
        // SAFETY: a non-null ifa_addr points at a sockaddr of the family it
        // names; AF_INET ones are sockaddr_in.
        if up
            && !ifa.ifa_addr.is_null()
            && unsafe { (*ifa.ifa_addr).sa_family } as i32 == libc::AF_INET
        {
            // SAFETY: checked above to be an AF_INET address.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            found = Some(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// `name` under `dir` (`None`: `name` is a whole path), opened without
/// following a link at its last step; `mode` for what O_CREAT makes.
pub fn open_nofollow(
    dir: Option<&OwnedFd>,
    name: &std::ffi::OsStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    let c = std::ffi::CString::new(name.as_encoded_bytes()).map_err(io::Error::other)?;
    let at = dir.map_or(libc::AT_FDCWD, AsRawFd::as_raw_fd);
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated name; the mode is openat's variadic third
    // argument; the descriptor returned is new and ours.
    let fd = check(unsafe { libc::openat(at, c.as_ptr(), flags, mode as libc::c_uint) })?;
    // SAFETY: openat returned a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// fstat(2) of an open descriptor.
pub fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is valid; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is open and `st` outlives the call.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// The entry `name` of the directory `dir`, never following a link.
pub fn lstat_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> io::Result<libc::stat> {
    let c = std::ffi::CString::new(name.as_encoded_bytes()).map_err(io::Error::other)?;
    // SAFETY: an all-zero stat is valid; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: an open directory, a NUL-terminated name, `st` outliving the call.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(st)
}

/// Changes the owner of the entry `name` of `dir` (a link itself, never its target).
pub fn lchown_at(dir: &OwnedFd, name: &std::ffi::OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let c = std::ffi::CString::new(name.as_encoded_bytes()).map_err(io::Error::other)?;
    // SAFETY: an open directory and a NUL-terminated name.
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            c.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// fchown(2) of an open descriptor.
pub fn fchown(fd: &OwnedFd, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: the descriptor is open.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}
