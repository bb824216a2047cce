//! The syscall boundary: every `unsafe` of the runtime lives here, each wrapper
//! returning `io::Result` so the logic above stays safe code.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let p = |c: Option<&CStr>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is a valid NUL-terminated string or null, as mount(2) allows.
    cvt(unsafe { libc::mount(p(source), target.as_ptr(), p(fstype), flags, p(data).cast()) })
        .map(drop)
}

pub fn umount2(target: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: target is a valid C string.
    cvt(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> io::Result<()> {
    // SAFETY: both are valid C strings; pivot_root has no libc wrapper.
    cvt_long(unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) })
        .map(drop)
}

pub fn chroot(path: &CStr) -> io::Result<()> {
    // SAFETY: valid C string.
    cvt(unsafe { libc::chroot(path.as_ptr()) }).map(drop)
}

pub fn fchdir(fd: RawFd) -> io::Result<()> {
    // SAFETY: fchdir takes any fd; a bad one is EBADF.
    cvt(unsafe { libc::fchdir(fd) }).map(drop)
}

pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe the string's bytes.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe the string's bytes.
    cvt(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) }).map(drop)
}

pub fn setns(fd: RawFd, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: setns validates the fd itself.
    cvt(unsafe { libc::setns(fd, nstype) }).map(drop)
}

pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain flags.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

/// How many threads this process has (`/proc/self/stat` field 20).
pub fn threads() -> io::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    stat.rfind(')')
        .and_then(|i| stat.get(i + 2..))
        .and_then(|rest| rest.split(' ').nth(17))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::other("/proc/self/stat: no thread count"))
}

/// fork(2) with namespace flags: `clone(flags | SIGCHLD)` with no new stack, so the
/// child continues on a copy of the caller's stack exactly as after fork. Returns 0 in
/// the child.
///
/// The raw clone runs none of libc's fork handlers, so a lock another thread held
/// (malloc's, stdio's) would stay locked forever in the child, which allocates.
/// The caller must therefore be single-threaded; that is checked here, and a
/// multi-threaded caller gets an error instead of a child that may hang.
pub fn clone_fork(flags: libc::c_int) -> io::Result<libc::pid_t> {
    ensure_single_threaded()?;
    // SAFETY: with a null stack the raw clone behaves as fork; the caller was
    // just found single-threaded, so no lock can be held by another thread.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    cvt_long(ret).map(|p| p as libc::pid_t)
}

/// `clone_fork`, the child born in the cgroup v2 directory `cgroup` is open on
/// (clone3's CLONE_INTO_CGROUP, Linux 5.7): it never has to be moved there, and
/// a move takes the kernel's global threadgroup lock, whose writer waits out an
/// RCU grace period (7–15 ms a container on this project's machines).
pub fn clone_fork_into(flags: libc::c_int, cgroup: BorrowedFd) -> io::Result<libc::pid_t> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    // The kernel's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    ensure_single_threaded()?;
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: clone3 with no stack behaves as fork (the child continues on a copy
    // of this stack); `args` outlives the call and its size is passed; the caller
    // was just found single-threaded, as for clone_fork.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    cvt_long(ret).map(|p| p as libc::pid_t)
}

/// `clone_fork`, the child born in the cgroup v2 directory `cgroup` is open on
/// where the kernel can (the bool); older kernels, or a directory that cannot
/// take processes, get a plain fork and the child moves itself.
pub fn clone_fork_maybe_into(
    flags: libc::c_int,
    cgroup: Option<BorrowedFd>,
) -> io::Result<(libc::pid_t, bool)> {
    if let Some(fd) = cgroup
        && let Ok(pid) = clone_fork_into(flags, fd)
    {
        return Ok((pid, true));
    }
    clone_fork(flags).map(|pid| (pid, false))
}

/// The raw clone runs no fork handlers: refuses a caller with other threads.
fn ensure_single_threaded() -> io::Result<()> {
    // A thread just joined may still be counted for a moment while the kernel
    // finishes its exit (its code and its locks are done with): give such a
    // thread up to 100 ms to go; a live one stays and is refused (chaos F13).
    let mut n = threads()?;
    for _ in 0..50 {
        if n == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        n = threads()?;
    }
    if n != 1 {
        return Err(io::Error::other(format!(
            "the runtime forks the container's process, which needs a single-threaded caller (this process has {n} threads)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod fork_tests {
    #[test]
    fn a_multi_threaded_caller_cannot_fork() {
        // The test harness runs this on a thread of its own: more than one.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        match super::clone_fork(0) {
            // SAFETY: the child of a fork that should not have happened leaves at once.
            Ok(0) => unsafe { libc::_exit(0) },
            Ok(pid) => {
                let _ = super::waitpid(pid, 0);
                panic!("forked beside another thread");
            }
            Err(e) => assert!(e.to_string().contains("single-threaded"), "{e}"),
        }
        drop(tx);
        let _ = other.join();
    }
}

/// Waits for an exclusive flock on `fd` (the lock goes with the open file).
pub fn flock_exclusive(fd: BorrowedFd) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor the caller keeps open for the call.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub fn getpid() -> libc::pid_t {
    // SAFETY: always succeeds.
    unsafe { libc::getpid() }
}

/// Signals a child of ours that has not been reaped (so its pid cannot have been
/// reused); other processes are signalled through [`crate::pid::PidFd`].
pub fn kill(pid: crate::pid::Pid, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: plain integers; `pid` is positive by its type.
    cvt(unsafe { libc::kill(pid.get(), sig) }).map(drop)
}

/// waitpid; returns (pid, raw status). Retries EINTR.
pub fn waitpid(pid: libc::pid_t, flags: libc::c_int) -> io::Result<(libc::pid_t, libc::c_int)> {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r >= 0 {
            return Ok((r, status));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The shell's view of a wait status: the exit code, or 128 + the signal.
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

pub fn mknod(path: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> io::Result<()> {
    // SAFETY: valid C string.
    cvt(unsafe { libc::mknod(path.as_ptr(), mode, dev) }).map(drop)
}

pub fn makedev(major: u64, minor: u64) -> libc::dev_t {
    libc::makedev(major as u32, minor as u32)
}

pub fn chown(path: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: valid C string.
    cvt(unsafe { libc::chown(path.as_ptr(), uid, gid) }).map(drop)
}

pub fn fchown(fd: RawFd, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: fd-only call.
    cvt(unsafe { libc::fchown(fd, uid, gid) }).map(drop)
}

pub fn umask(mask: u32) -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

/// openat2(2): resolve `path` under `dirfd` with the given RESOLVE_* flags.
pub fn openat2(
    dirfd: RawFd,
    path: &CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    loop {
        // SAFETY: `how` is a valid open_how of the size passed; path is a C string.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if r >= 0 {
            // SAFETY: the kernel returned a fresh fd that we now own.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        let e = io::Error::last_os_error();
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks to retry.
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(e);
        }
    }
}

pub fn openat(dirfd: RawFd, path: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: path is a C string; the returned fd is owned.
    let r = unsafe { libc::openat(dirfd, path.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    cvt(r).map(|fd| {
        // SAFETY: fresh fd from the kernel.
        unsafe { OwnedFd::from_raw_fd(fd) }
    })
}

pub fn mkdirat(dirfd: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: name is a C string.
    cvt(unsafe { libc::mkdirat(dirfd, name.as_ptr(), mode) }).map(drop)
}

pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: a zeroed stat is a valid out buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a valid out pointer.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

pub fn fstatfs_type(fd: RawFd) -> io::Result<i64> {
    // SAFETY: a zeroed statfs is a valid out buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: st is a valid out pointer.
    cvt(unsafe { libc::fstatfs(fd, &mut st) })?;
    Ok(st.f_type as i64)
}

pub fn statfs_type(path: &CStr) -> io::Result<i64> {
    // SAFETY: a zeroed statfs is a valid out buffer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is a C string, st a valid out pointer.
    cvt(unsafe { libc::statfs(path.as_ptr(), &mut st) })?;
    Ok(st.f_type as i64)
}

/// The mount flags (MS_RDONLY, MS_NOSUID, ...) of the mount holding `path`.
pub fn statvfs_flags(path: &CStr) -> io::Result<u64> {
    // SAFETY: a zeroed statvfs is a valid out buffer.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is a C string, st a valid out pointer.
    cvt(unsafe { libc::statvfs(path.as_ptr(), &mut st) })?;
    Ok(st.f_flag)
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_IDMAP: u64 = 0x100000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x200000;
const AT_RECURSIVE: u32 = 0x8000;
const OPEN_TREE_CLONE: u32 = 1;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;

/// mount_setattr(2) on the mount at `path` (recursively when asked).
pub fn mount_setattr(
    dirfd: RawFd,
    path: &CStr,
    recursive: bool,
    set: u64,
    clr: u64,
    userns_fd: Option<RawFd>,
) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: userns_fd.unwrap_or(0) as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: attr is a valid mount_attr of the size passed; path is a C string.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path`.
pub fn open_tree_clone(path: &CStr, recursive: bool) -> io::Result<OwnedFd> {
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: path is a C string.
    let r = cvt_long(unsafe {
        libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags)
    })?;
    // SAFETY: fresh fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// move_mount(2) of a detached tree onto the mount point `target` (an O_PATH fd).
pub fn move_mount(from: RawFd, target: RawFd) -> io::Result<()> {
    const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
    let empty = c"";
    // SAFETY: both paths are empty C strings; the fds name the objects.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from,
            empty.as_ptr(),
            target,
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(drop)
}

pub fn prctl(
    option: libc::c_int,
    arg2: libc::c_ulong,
    arg3: libc::c_ulong,
) -> io::Result<libc::c_int> {
    // SAFETY: the options used here take integer arguments only.
    cvt(unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_V3: u32 = 0x2008_0522;

/// capset(2) of the calling thread's three sets, given as 64-bit masks.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and a two-element data array, as the v3 ABI requires.
    cvt_long(unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) })
        .map(drop)
}

/// capget(2) of a process: (effective, permitted, inheritable).
pub fn capget(pid: i32) -> io::Result<(u64, u64, u64)> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element out array, as the v3 ABI requires.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |lo: u32, hi: u32| (hi as u64) << 32 | lo as u64;
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

pub fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: plain integers; the raw syscall sets only this thread, which is the process.
    cvt_long(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

pub fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: as setresuid.
    cvt_long(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

pub fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: pointer and length describe the slice.
    cvt_long(unsafe { libc::syscall(libc::SYS_setgroups, gids.len(), gids.as_ptr()) }).map(drop)
}

pub fn setsid() -> io::Result<()> {
    // SAFETY: no arguments.
    cvt(unsafe { libc::setsid() }).map(drop)
}

pub fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is a valid rlimit; a null old-limit pointer is allowed.
    cvt(unsafe {
        libc::prlimit(
            0,
            resource as libc::__rlimit_resource_t,
            &lim,
            std::ptr::null_mut(),
        )
    })
    .map(drop)
}

/// Marks every fd from `first` up close-on-exec, so only stdio and preserved fds
/// reach the container's process (CVE-2024-21626).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: plain integers.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Kernels before 5.11, or a filter that forbids close_range: walk the fd table.
    let limit = std::fs::read_dir("/proc/self/fd").ok();
    match limit {
        Some(entries) => {
            for entry in entries {
                if let Some(fd) = entry?
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<RawFd>().ok())
                    && fd >= first as RawFd
                {
                    let _ = set_cloexec(fd, true);
                }
            }
        }
        None => {
            for fd in first as RawFd..65536 {
                if fd_is_open(fd) {
                    set_cloexec(fd, true)?;
                }
            }
        }
    }
    Ok(())
}

pub fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: fcntl on an fd with integer arguments.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    let new = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, new) }).map(drop)
}

pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: plain fds.
    cvt(unsafe { libc::dup2(old, new) }).map(drop)
}

pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: null-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// A connected pair of SOCK_SEQPACKET sockets, close-on-exec.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid two-element out array.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: two fresh fds from the kernel.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends `data` with `fd` attached as SCM_RIGHTS.
pub fn send_fd(sock: RawFd, data: &[u8], fd: RawFd) -> io::Result<()> {
    let space = unsafe_cmsg_space(std::mem::size_of::<RawFd>());
    let mut cbuf = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    // SAFETY: a zeroed msghdr is valid; fields are filled in below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg points at a control buffer large enough for one fd.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    }
    // SAFETY: msg is fully initialised.
    let r = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Receives a message and the fd attached to it, if any.
pub fn recv_fd(sock: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let space = unsafe_cmsg_space(std::mem::size_of::<RawFd>());
    let mut cbuf = vec![0u8; space];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: a zeroed msghdr is valid; fields are filled in below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg describes valid buffers.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut fd = None;
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
        {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
    }
    Ok((n as usize, fd))
}

fn unsafe_cmsg_space(len: usize) -> usize {
    // SAFETY: CMSG_SPACE is pure arithmetic.
    unsafe { libc::CMSG_SPACE(len as u32) as usize }
}

/// Opens a new pseudo-terminal through `ptmx`: (master, peer), peer opened with
/// TIOCGPTPEER so no /dev/pts path lookup can be raced.
pub fn open_pty(ptmx: &CStr) -> io::Result<(OwnedFd, OwnedFd)> {
    // SAFETY: ptmx is a C string; the fd is owned below.
    let m = cvt(unsafe {
        libc::open(
            ptmx.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fresh fd from the kernel.
    let master = unsafe { OwnedFd::from_raw_fd(m) };
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to int.
    cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd.
    let p = cvt(unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            TIOCGPTPEER as _,
            libc::O_RDWR | libc::O_NOCTTY,
        )
    })?;
    // SAFETY: fresh fd from the kernel.
    Ok((master, unsafe { OwnedFd::from_raw_fd(p) }))
}

pub fn set_winsize(fd: RawFd, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ takes a pointer to winsize.
    cvt(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) }).map(drop)
}

pub fn set_ctty(fd: RawFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument.
    cvt(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
}

pub fn mkfifo(path: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: valid C string.
    cvt(unsafe { libc::mkfifo(path.as_ptr(), mode) }).map(drop)
}

pub fn poll_in(fd: RawFd, timeout_ms: i32) -> io::Result<i16> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(p.revents)
}

pub fn personality(persona: libc::c_ulong) -> io::Result<()> {
    // SAFETY: plain integer.
    cvt(unsafe { libc::personality(persona) }).map(drop)
}

pub fn ioprio_set(class: i32, prio: i32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: i32 = 1;
    let value = (class << 13) | prio;
    // SAFETY: plain integers.
    cvt_long(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) }).map(drop)
}

pub fn setpriority(nice: i32) -> io::Result<()> {
    // SAFETY: plain integers.
    cvt(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) }).map(drop)
}

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

pub fn sched_setattr(
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    rdp: (u64, u64, u64),
) -> io::Result<()> {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice,
        priority,
        runtime: rdp.0,
        deadline: rdp.1,
        period: rdp.2,
    };
    // SAFETY: attr is a valid sched_attr of the size it states.
    cvt_long(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) })
        .map(drop)
}

/// Whether `fd` is still open (used to tell preserved fds from gaps).
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any integer is harmless.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

pub fn geteuid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::geteuid() }
}

pub fn fd_path(fd: &impl AsRawFd) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL in a number")
}

pub fn mknodat(dirfd: RawFd, name: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> io::Result<()> {
    // SAFETY: name is a C string.
    cvt(unsafe { libc::mknodat(dirfd, name.as_ptr(), mode, dev) }).map(drop)
}

pub fn symlinkat(target: &CStr, dirfd: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: both are C strings.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dirfd, name.as_ptr()) }).map(drop)
}

pub fn fchownat_nofollow(dirfd: RawFd, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: name is a C string.
    cvt(unsafe { libc::fchownat(dirfd, name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

pub fn fchmodat(dirfd: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: name is a C string.
    cvt(unsafe { libc::fchmodat(dirfd, name.as_ptr(), mode, 0) }).map(drop)
}

pub fn unlinkat(dirfd: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: name is a C string.
    cvt(unsafe { libc::unlinkat(dirfd, name.as_ptr(), 0) }).map(drop)
}

/// Every signal back to its default disposition, through the raw syscall because
/// glibc refuses to touch the two real-time signals it keeps for itself (32, 33) —
/// which a caller may have left ignored, and an ignored signal survives execve.
pub fn reset_signals() {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a valid kernel sigaction of the size passed; no old action wanted.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                0usize,
                8usize,
            );
        }
    }
}
