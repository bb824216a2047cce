//! The small commands: start, state, kill, pause, resume, ps, list, update.

use crate::create::Runtime;
use crate::error::{Context, Error, Result};
use crate::hooks;
use crate::spec::{Cpu, Memory, Pids, Resources};
use crate::state::{self, State, Status};
use crate::sys::{self, cstr};
use std::io::Write;

pub fn start(rt: &Runtime, id: &str) -> Result<()> {
    let mut st = State::load(&rt.root, id)?;
    match st.status(&rt.root) {
        Status::Created => {}
        Status::Stopped => bail!("cannot start a container that has stopped"),
        s => bail!("cannot start an already {} container", s.as_str()),
    }
    let fifo = state::dir(&rt.root, id).join(state::FIFO);
    let c = cstr(&fifo.to_string_lossy()).ctx("fifo")?;
    // Non-blocking: with no reader (the init died) this fails at once with ENXIO
    // instead of hanging.
    let fd = match sys::openat(libc::AT_FDCWD, &c, libc::O_WRONLY | libc::O_NONBLOCK, 0) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            bail!("cannot start container {id}: its process is gone")
        }
        Err(e) => return Err(e).ctx("open exec fifo"),
    };
    std::fs::File::from(fd)
        .write_all(b"0")
        .ctx("signal the container to start")?;
    let _ = std::fs::remove_file(&fifo);
    st.started = true;
    st.save(&rt.root)?;
    run_poststart(&st)
}

/// poststart hooks; a failing one is a warning (see hooks::run_all_warn).
pub fn run_poststart(st: &State) -> Result<()> {
    let poststart = st.config.hooks().poststart;
    hooks::run_all_warn("poststart", &poststart, &st.oci(Status::Running));
    Ok(())
}

pub fn state_json(rt: &Runtime, id: &str) -> Result<serde_json::Value> {
    let st = State::load(&rt.root, id)?;
    let status = st.status(&rt.root);
    Ok(st.oci(status))
}

const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// A signal's name with `SIG` (`SIGTERM` for 15), as Docker's inspect shows it.
pub fn signal_name(n: i32) -> Option<String> {
    SIGNALS
        .iter()
        .find(|(_, m)| *m == n)
        .map(|(name, _)| format!("SIG{name}"))
}

/// Signal names as runc takes them: `KILL`, `SIGKILL`, `9`.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        bail!("signal {s}: out of range");
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    if let Some((_, n)) = SIGNALS.iter().find(|(n, _)| *n == name) {
        return Ok(*n);
    }
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.trim_start_matches('+')
                .parse()
                .map_err(|_| Error(format!("unknown signal {s:?}")))?
        };
        return Ok(libc::SIGRTMIN() + off);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.trim_start_matches('-')
                .parse()
                .map_err(|_| Error(format!("unknown signal {s:?}")))?
        };
        return Ok(libc::SIGRTMAX() - off);
    }
    bail!("unknown signal {s:?}")
}

pub fn kill(rt: &Runtime, id: &str, sig: i32, all: bool) -> Result<()> {
    let st = State::load(&rt.root, id)?;
    let status = st.status(&rt.root);
    if status == Status::Stopped {
        bail!("container {id} is not running");
    }
    if all {
        for pid in st.cgroup.pids()? {
            signal_member(pid, sig);
        }
        return Ok(());
    }
    let sent = st
        .process()
        .and_then(|p| p.open())
        .map(|fd| fd.signal(sig))
        .transpose()
        .with(|| format!("send signal {sig} to container {id}"))?;
    match sent {
        Some(true) => Ok(()),
        _ => bail!("container {id} is not running"),
    }
}

/// Signals a process listed in the container's cgroup, through a pidfd so that
/// one which exited meanwhile is not mistaken for a process that took its pid.
pub fn signal_member(pid: i32, sig: i32) {
    if let Some(fd) =
        crate::pid::Pid::new(pid).and_then(|p| crate::pid::PidFd::open(p).ok().flatten())
    {
        let _ = fd.signal(sig);
    }
}

pub fn pause(rt: &Runtime, id: &str) -> Result<()> {
    let st = State::load(&rt.root, id)?;
    match st.status(&rt.root) {
        Status::Running => st.cgroup.freeze(true),
        s => bail!("container {id} is {}, not running", s.as_str()),
    }
}

pub fn resume(rt: &Runtime, id: &str) -> Result<()> {
    let st = State::load(&rt.root, id)?;
    match st.status(&rt.root) {
        Status::Paused => st.cgroup.freeze(false),
        s => bail!("container {id} is {}, not paused", s.as_str()),
    }
}

pub fn pids(rt: &Runtime, id: &str) -> Result<Vec<i32>> {
    let st = State::load(&rt.root, id)?;
    if st.status(&rt.root) == Status::Stopped {
        return Ok(Vec::new());
    }
    if st.cgroup.dirs.is_empty() {
        // Rootless without a delegated cgroup: found by their pid namespace
        // when the container made one of its own (a joined one is shared).
        let own_ns = st
            .config
            .namespace("pid")
            .is_some_and(|n| n.path.as_deref().is_none_or(str::is_empty));
        return Ok(pids_without_cgroup(st.pid, own_ns));
    }
    st.cgroup.pids()
}

/// A container's processes when it has no cgroup to list them: those in the
/// init's pid namespace when the container made it (processes exec'd into it
/// included), else the init and its descendants.
fn pids_without_cgroup(init: i32, own_ns: bool) -> Vec<i32> {
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let all: Vec<(i32, i32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The fields after the command's closing parenthesis: state, ppid …
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let init_ns = ns(&init.to_string());
    if own_ns && init_ns.is_some() && init_ns != ns("self") {
        return all
            .iter()
            .filter(|(p, _)| ns(&p.to_string()) == init_ns)
            .map(|(p, _)| *p)
            .collect();
    }
    let mut out = vec![init];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    out
}

/// `ps`: the host's ps(1) output cut down to the container's processes.
pub fn ps_table(rt: &Runtime, id: &str, ps_args: &[String]) -> Result<String> {
    let pids = pids(rt, id)?;
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .ctx("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or("ps output has no PID column")?;
    let mut res = format!("{header}\n");
    for l in lines {
        if let Some(pid) = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok())
            && pids.contains(&pid)
        {
            res.push_str(l);
            res.push('\n');
        }
    }
    Ok(res)
}

/// Every container under the root, oldest first.
pub fn list(rt: &Runtime) -> Result<Vec<(State, Status)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&rt.root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with(|| format!("read {}", rt.root.display())),
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(st) = State::load(&rt.root, &name) {
            let status = st.status(&rt.root);
            out.push((st, status));
        }
    }
    out.sort_by(|a, b| a.0.created.cmp(&b.0.created));
    Ok(out)
}

/// The flags `update` takes, each an override of the stored resources.
#[derive(Default)]
pub struct UpdateFlags {
    pub resources_file: Option<String>,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub kernel_memory: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpu_rt_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

pub fn update(rt: &Runtime, id: &str, f: &UpdateFlags) -> Result<()> {
    let mut st = State::load(&rt.root, id)?;
    if st.status(&rt.root) == Status::Stopped {
        bail!("container {id} is stopped");
    }
    let mut r: Resources = match &f.resources_file {
        Some(path) => {
            let text = if path == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .ctx("read resources from stdin")?;
                s
            } else {
                std::fs::read_to_string(path).with(|| format!("read {path}"))?
            };
            serde_json::from_str(&text).map_err(|e| Error(format!("{path}: {e}")))?
        }
        None => Resources::default(),
    };
    let m = r.memory.get_or_insert_with(Memory::default);
    m.limit = f.memory.or(m.limit);
    m.swap = f.memory_swap.or(m.swap);
    m.reservation = f.memory_reservation.or(m.reservation);
    m.kernel = f.kernel_memory.or(m.kernel);
    let c = r.cpu.get_or_insert_with(Cpu::default);
    c.shares = f.cpu_shares.or(c.shares);
    c.quota = f.cpu_quota.or(c.quota);
    c.period = f.cpu_period.or(c.period);
    c.realtime_runtime = f.cpu_rt_runtime.or(c.realtime_runtime);
    c.realtime_period = f.cpu_rt_period.or(c.realtime_period);
    c.cpus = f.cpuset_cpus.clone().or(c.cpus.take());
    c.mems = f.cpuset_mems.clone().or(c.mems.take());
    if let Some(l) = f.pids_limit {
        r.pids = Some(Pids { limit: l });
    }
    if let Some(w) = f.blkio_weight {
        r.block_io.get_or_insert_with(Default::default).weight = Some(w);
    }
    // Device rules are not updatable in place (they would reset to deny-all first).
    r.devices.clear();
    st.cgroup.apply(&r)?;
    let linux = st.config.linux.get_or_insert_with(Default::default);
    let stored = linux.resources.get_or_insert_with(Default::default);
    if r.memory.is_some() {
        stored.memory = r.memory;
    }
    if r.cpu.is_some() {
        stored.cpu = r.cpu;
    }
    if r.pids.is_some() {
        stored.pids = r.pids;
    }
    st.save(&rt.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
