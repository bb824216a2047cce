//! `exec`: a new process inside a running container's namespaces and cgroup.
//!
//! The runtime joins the pid and time namespaces itself (they apply to children),
//! forks, and the child joins the rest. The sync socket is close-on-exec, so EOF on
//! the runtime's side means the execve went through.

use crate::capabilities;
use crate::create::{self, Runtime};
use crate::error::{Context, Error, Result};
use crate::process;
use crate::rootfs::Rootfs;
use crate::spec::Process;
use crate::state::{State, Status};
use crate::sys::{self, cstr};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

#[derive(Default)]
pub struct ExecOptions {
    pub id: String,
    pub process_file: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
    /// The process's stdin, stdout and stderr, instead of this process's own
    /// (a caller relaying them to streams); they must stay open until exec
    /// returns.
    pub stdio: Option<[std::os::fd::RawFd; 3]>,
}

fn build_process(st: &State, o: &ExecOptions) -> Result<Process> {
    if let Some(f) = &o.process_file {
        let text = std::fs::read(f).with(|| format!("read {}", f.display()))?;
        let p: Process =
            serde_json::from_slice(&text).map_err(|e| Error(format!("{}: {e}", f.display())))?;
        process::validate(&p)?;
        return Ok(p);
    }
    if o.args.is_empty() {
        bail!("exec needs a command (or --process FILE)");
    }
    let mut p = st.config.process.clone().unwrap_or_default();
    p.args = o.args.clone();
    p.terminal = o.tty;
    for kv in &o.env {
        // A variable given on the command line replaces the spec's of the same name.
        let key = kv.split('=').next().unwrap_or(kv);
        p.env.retain(|e| e.split('=').next() != Some(key));
        p.env.push(kv.clone());
    }
    if let Some(c) = &o.cwd {
        p.cwd = c.clone();
    }
    if let Some(u) = &o.user {
        let (uid, gid) = u.split_once(':').unwrap_or((u, "0"));
        p.user.uid = uid
            .parse()
            .map_err(|_| Error(format!("--user {u:?}: want UID[:GID]")))?;
        p.user.gid = gid
            .parse()
            .map_err(|_| Error(format!("--user {u:?}: want UID[:GID]")))?;
    }
    if !o.additional_gids.is_empty() {
        p.user.additional_gids = o.additional_gids.clone();
    }
    if !o.caps.is_empty() {
        let caps = p.capabilities.get_or_insert_with(Default::default);
        for c in &o.caps {
            if capabilities::by_name(c).is_none() {
                bail!("--cap {c:?}: unknown capability");
            }
            for set in [
                &mut caps.bounding,
                &mut caps.effective,
                &mut caps.permitted,
                &mut caps.ambient,
            ] {
                if !set.contains(c) {
                    set.push(c.clone());
                }
            }
        }
    }
    if o.no_new_privs {
        p.no_new_privileges = true;
    }
    if let Some(a) = &o.apparmor {
        p.apparmor_profile = Some(a.clone());
    }
    process::validate(&p)?;
    Ok(p)
}

fn same_ns(pid: i32, file: &str) -> bool {
    let a = std::fs::metadata(format!("/proc/{pid}/ns/{file}"));
    let b = std::fs::metadata(format!("/proc/self/ns/{file}"));
    use std::os::unix::fs::MetadataExt;
    matches!((a, b), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev())
}

pub fn exec(rt: &Runtime, o: &ExecOptions) -> Result<i32> {
    let preserved = process::inherited_fds(o.preserve_fds);
    let st = State::load(&rt.root, &o.id)?;
    match st.status(&rt.root) {
        Status::Running | Status::Created => {}
        s => bail!("cannot exec in a {} container", s.as_str()),
    }
    let p = build_process(&st, o)?;
    if p.terminal && o.console_socket.is_none() {
        bail!("--tty needs --console-socket");
    }
    let mut joins: Vec<(i32, OwnedFd)> = Vec::new();
    for ns in &st.config.linux().namespaces {
        let file = create::ns_file(&ns.kind);
        if same_ns(st.pid, file) {
            continue;
        }
        let flag = create::ns_flag(&ns.kind).expect("validated at create");
        let path = format!("/proc/{}/ns/{file}", st.pid);
        let fd = sys::openat(libc::AT_FDCWD, &cstr(&path).ctx("ns")?, libc::O_RDONLY, 0)
            .with(|| format!("open {path}"))?;
        if flag == libc::CLONE_NEWPID || flag == libc::CLONE_NEWTIME {
            sys::setns(fd.as_raw_fd(), flag).with(|| format!("join {} namespace", ns.kind))?;
        } else {
            joins.push((flag, fd));
        }
    }
    // The user namespace last: a namespace the host's owns (a network namespace
    // made before the container) can be joined only while this process still has
    // its privileges over the host's, which it gives up on entering the
    // container's user namespace (it is privileged over that one already).
    joins.sort_by_key(|(f, _)| {
        if *f == libc::CLONE_NEWUSER {
            3
        } else if *f == libc::CLONE_NEWNS {
            2
        } else {
            1
        }
    });
    let userns = joins.iter().any(|(f, _)| *f == libc::CLONE_NEWUSER);
    let filter = process::compile_seccomp(&st.config)?;
    // Connected now: once the child has joined the container's mount namespace the
    // socket's path is out of its reach.
    let console = match (&o.console_socket, p.terminal) {
        (Some(path), true) => Some(
            UnixStream::connect(path)
                .with(|| format!("connect to console socket {}", path.display()))?,
        ),
        _ => None,
    };
    let (parent, child) = sys::seqpacket_pair().ctx("socketpair")?;
    // The process moves itself into the container's cgroups, or is born in
    // the v2 one (see create's `fork_into_cgroup`), not moved there by us.
    let cgroup = st.cgroup.existing();
    let into = cgroup.open_v2();
    let (pid, in_v2) = sys::clone_fork_maybe_into(0, into.as_ref().map(AsFd::as_fd)).ctx("fork")?;
    if pid == 0 {
        drop(parent);
        let e = match cgroup.join_self(in_v2).and_then(|()| {
            child_steps(
                o.stdio,
                &p,
                &st.config,
                &joins,
                userns,
                filter.as_ref(),
                &preserved,
                console.as_ref(),
                &child,
            )
        }) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let _ = (&UnixStream::from(child)).write_all(format!("E{}", e.0).as_bytes());
        // SAFETY: _exit in a forked child.
        unsafe { libc::_exit(1) };
    }
    drop(child);
    let result = (|| {
        let s = UnixStream::from(parent);
        (&s).write_all(b"G").ctx("signal the exec process")?;
        let mut buf = vec![0u8; 4096];
        let n = (&s).read(&mut buf).ctx("read from the exec process")?;
        if n > 0 && buf[0] == b'E' {
            bail!("{}", String::from_utf8_lossy(&buf[1..n]));
        }
        Ok(())
    })();
    if let Err(e) = result {
        // Our own child, not reaped yet: its pid is still its own.
        if let Some(child) = crate::pid::Pid::new(pid) {
            let _ = sys::kill(child, libc::SIGKILL);
        }
        let _ = sys::waitpid(pid, 0);
        return Err(e);
    }
    if let Some(f) = &o.pid_file {
        create::write_pid_file(f, pid)?;
    }
    if o.detach {
        return Ok(0);
    }
    Ok(create::wait_forwarding_signals(pid))
}

enum Never {}

#[allow(clippy::too_many_arguments)]
fn child_steps(
    stdio: Option<[std::os::fd::RawFd; 3]>,
    p: &Process,
    spec: &crate::spec::Spec,
    joins: &[(i32, OwnedFd)],
    userns: bool,
    filter: Option<&process::Filter>,
    preserved: &[i32],
    console: Option<&UnixStream>,
    sock: &OwnedFd,
) -> Result<Never> {
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as _, 0).ctx("pdeathsig")?;
    if let Some(fds) = stdio {
        // Copies above 2 first, so that placing one cannot overwrite another.
        let mut high = [0; 3];
        for (h, fd) in high.iter_mut().zip(fds) {
            // SAFETY: fcntl on a descriptor of this forked child.
            *h = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
            if *h < 0 {
                return Err(std::io::Error::last_os_error()).ctx("set the process's stdio");
            }
        }
        for (to, from) in high.into_iter().enumerate() {
            sys::dup2(from, to as i32).ctx("set the process's stdio")?;
        }
    }
    let mut b = [0u8; 1];
    (&UnixStream::from(sock.try_clone().ctx("sync")?))
        .read_exact(&mut b)
        .ctx("wait for the runtime")?;
    for (flag, fd) in joins {
        sys::setns(fd.as_raw_fd(), *flag).ctx("join the container's namespaces")?;
    }
    let mut peer = None;
    if p.terminal {
        let root = Rootfs::open("/")?;
        let ptmx = root
            .open_in("/dev/pts/ptmx", libc::O_PATH)
            .ctx("open /dev/pts/ptmx")?;
        let (master, pe) = sys::open_pty(&sys::fd_path(&ptmx)).ctx("open a pseudo-terminal")?;
        if let Some(size) = p.console_size {
            let _ = sys::set_winsize(master.as_raw_fd(), size.height, size.width);
        }
        let conn = console.ok_or("--tty needs --console-socket")?;
        sys::send_fd(conn.as_raw_fd(), b"/dev/ptmx", master.as_raw_fd())
            .ctx("send the terminal to the console socket")?;
        peer = Some(pe);
    }
    process::set_rlimits(p)?;
    // The container's personality (linux32) holds for exec'd processes too.
    process::set_scheduling(p, spec)?;
    process::set_labels(p)?;
    if let Some(m) = p.user.umask {
        sys::umask(m);
    }
    if let Some(pe) = &peer {
        create::attach_terminal(pe)?;
    }
    drop(peer);
    let exe = process::find_executable(p)?;
    if p.no_new_privileges {
        process::set_no_new_privs()?;
    }
    process::enter_cwd(p, true)?;
    process::prepare_fds(preserved)?;
    let early = filter.is_some_and(|_| !p.no_new_privileges);
    if early && let Some(f) = filter {
        process::load_seccomp(f)?;
    }
    process::set_user_and_caps(p, !userns)?;
    process::enter_cwd(p, false)?;
    if !early && let Some(f) = filter {
        process::load_seccomp(f)?;
    }
    sys::prctl(libc::PR_SET_PDEATHSIG, 0, 0).ctx("pdeathsig")?;
    Err(process::exec(p, &exe))
}
