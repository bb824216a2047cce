//! `top`: a container's processes in podman's format descriptors (psgo's:
//! `user,pid,ppid,pcpu,etime,tty,time,args` by default, `huser`, `%C` …),
//! read from /proc. Arguments that are not descriptors are ps(1) options,
//! whose output is cut down to the container's processes.

use std::path::Path;

/// One descriptor: its names (psgo's and the AIX code) and its column header.
struct Descriptor {
    names: &'static [&'static str],
    header: &'static str,
    value: fn(&Proc) -> String,
}

const DESCRIPTORS: &[Descriptor] = &[
    d(&["args", "%a"], "COMMAND", |p| p.args()),
    d(&["comm", "%c"], "COMMAND", |p| p.stat_field(1)),
    d(&["etime", "%t"], "ELAPSED", |p| {
        go_duration_ns(p.elapsed_ns())
    }),
    d(&["group", "%G"], "GROUP", |p| p.group(true, false)),
    d(&["hgroup"], "HGROUP", |p| p.group(false, false)),
    d(&["hpid"], "HPID", |p| p.pid.to_string()),
    d(&["huser"], "HUSER", |p| p.user(false, false)),
    d(&["nice", "%n"], "NI", |p| p.stat_field(18)),
    d(&["pcpu", "%C"], "%CPU", |p| {
        format!("{:.3}", p.cpu_percent())
    }),
    d(&["pgid", "%r"], "PGID", |p| p.stat_field(4)),
    d(&["pid", "%p"], "PID", |p| p.ns_pid()),
    d(&["ppid", "%P"], "PPID", |p| p.ns_ppid()),
    d(&["rgroup", "%g"], "RGROUP", |p| p.group(true, true)),
    d(&["ruser", "%U"], "RUSER", |p| p.user(true, true)),
    d(&["rss"], "RSS", |p| p.status_kb("VmRSS")),
    d(&["state"], "STATE", |p| p.stat_field(2)),
    d(
        &["time", "%x"],
        "TIME",
        |p| go_duration(p.cpu_secs() as u64),
    ),
    d(&["tty", "%y"], "TTY", |p| p.tty()),
    d(&["user", "%u"], "USER", |p| p.user(true, false)),
    d(&["vsz", "%z"], "VSZ", |p| p.status_kb("VmSize")),
    d(&["seccomp"], "SECCOMP", |p| p.seccomp()),
    d(&["capamb"], "AMBIENT CAPS", |p| p.status("CapAmb")),
    d(&["capbnd"], "BOUNDING CAPS", |p| p.status("CapBnd")),
    d(&["capeff"], "EFFECTIVE CAPS", |p| p.status("CapEff")),
    d(&["capinh"], "INHERITED CAPS", |p| p.status("CapInh")),
    d(&["capprm"], "PERMITTED CAPS", |p| p.status("CapPrm")),
];

const fn d(
    names: &'static [&'static str],
    header: &'static str,
    value: fn(&Proc) -> String,
) -> Descriptor {
    Descriptor {
        names,
        header,
        value,
    }
}

/// podman's default columns.
pub const DEFAULT: &str = "user,pid,ppid,pcpu,etime,tty,time,args";

/// The descriptors `args` names (comma- or space-separated), or None when
/// one of them is not a descriptor (then they are ps(1) options).
fn descriptors(args: &[String]) -> Option<Vec<&'static Descriptor>> {
    let words: Vec<&str> = if args.is_empty() {
        DEFAULT.split(',').collect()
    } else {
        args.iter()
            .flat_map(|a| a.split(',').flat_map(str::split_whitespace))
            .collect()
    };
    words
        .iter()
        .map(|w| DESCRIPTORS.iter().find(|d| d.names.contains(w)))
        .collect()
}

/// Whether `args` are format descriptors (else ps(1) options).
pub fn are_descriptors(args: &[String]) -> bool {
    descriptors(args).is_some()
}

/// The table of `pids` (host pids of one container) in the descriptors
/// `args` names: rows of cells, the header first.
pub fn table(pids: &[i32], args: &[String]) -> Option<Vec<Vec<String>>> {
    let ds = descriptors(args)?;
    let mut rows = vec![ds.iter().map(|d| d.header.to_string()).collect()];
    for &pid in pids {
        let Some(p) = Proc::read(pid) else { continue };
        rows.push(ds.iter().map(|d| (d.value)(&p)).collect());
    }
    Some(rows)
}

/// What /proc says of one process.
struct Proc {
    pid: i32,
    stat: Vec<String>,
    status: String,
}

impl Proc {
    fn read(pid: i32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // comm is in parentheses and may hold spaces: split around it.
        let (head, rest) = stat.split_once(" (")?;
        let (comm, tail) = rest.rsplit_once(") ")?;
        let mut fields = vec![head.to_string(), comm.to_string()];
        fields.extend(tail.split_whitespace().map(String::from));
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(Proc {
            pid,
            stat: fields,
            status,
        })
    }

    fn stat_field(&self, i: usize) -> String {
        self.stat.get(i).cloned().unwrap_or_default()
    }

    fn status(&self, key: &str) -> String {
        self.status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }

    fn status_kb(&self, key: &str) -> String {
        self.status(key).trim_end_matches(" kB").trim().to_string()
    }

    /// The last of a status line's values: the pid in the innermost namespace.
    fn innermost(&self, key: &str) -> String {
        let v = self.status(key);
        v.split_whitespace().last().unwrap_or_default().to_string()
    }

    fn ns_pid(&self) -> String {
        self.innermost("NSpid")
    }

    fn ns_ppid(&self) -> String {
        // The parent's own innermost pid; 0 for the container's init.
        let ppid: i32 = self.stat_field(3).parse().unwrap_or(0);
        if self.innermost("NSpid") == "1" {
            return "0".into();
        }
        Proc::read(ppid).map_or_else(|| "0".into(), |p| p.ns_pid())
    }

    fn args(&self) -> String {
        let raw = std::fs::read(format!("/proc/{}/cmdline", self.pid)).unwrap_or_default();
        let words: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        if words.is_empty() {
            format!("[{}]", self.stat_field(1))
        } else {
            words.join(" ")
        }
    }

    /// Uid: real, effective … (`real` picks the first, else the second).
    fn id(&self, key: &str, real: bool) -> u32 {
        let v = self.status(key);
        let mut ids = v.split_whitespace();
        let id = if real { ids.next() } else { ids.nth(1) };
        id.and_then(|i| i.parse().ok()).unwrap_or(0)
    }

    /// A user name from the container's /etc/passwd (`in_container`) or the
    /// host's; the number when it names none.
    fn user(&self, in_container: bool, real: bool) -> String {
        let uid = self.seen(self.id("Uid", real), "uid_map", in_container);
        self.name_of(uid, "passwd", in_container)
    }

    fn group(&self, in_container: bool, real: bool) -> String {
        let gid = self.seen(self.id("Gid", real), "gid_map", in_container);
        self.name_of(gid, "group", in_container)
    }

    /// An ID as /proc shows it to this process, as the container sees it
    /// (back through the process's own map) or as the host does (on through
    /// this process's map, a rootless user's namespace's): `user` and `huser`
    /// differ in a container with a user namespace of its own.
    fn seen(&self, id: u32, map: &str, in_container: bool) -> u32 {
        let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/user")).ok();
        // In this process's own user namespace, /proc shows the IDs as the
        // container sees them already (a PID's map then reads as the parent's).
        if in_container && ns(&self.pid.to_string()).is_some_and(|n| Some(n) == ns("self")) {
            return id;
        }
        let (file, forward) = if in_container {
            (format!("/proc/{}/{map}", self.pid), false)
        } else {
            (format!("/proc/self/{map}"), true)
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        through_map(&text, id, forward).unwrap_or(if in_container { 65534 } else { id })
    }

    fn name_of(&self, id: u32, file: &str, in_container: bool) -> String {
        let path = if in_container {
            format!("/proc/{}/root/etc/{file}", self.pid)
        } else {
            format!("/etc/{file}")
        };
        name_in(Path::new(&path), id).unwrap_or_else(|| id.to_string())
    }

    fn tty(&self) -> String {
        let nr: u32 = self.stat_field(6).parse().unwrap_or(0);
        if nr == 0 {
            return "?".into();
        }
        let (major, minor) = ((nr >> 8) & 0xfff, (nr & 0xff) | ((nr >> 12) & 0xfff00));
        match major {
            136..=143 => format!("pts/{}", minor + (major - 136) * 256),
            4 => format!("tty{minor}"),
            _ => "?".into(),
        }
    }

    fn ticks(&self, i: usize) -> f64 {
        self.stat_field(i).parse().unwrap_or(0.0)
    }

    fn cpu_secs(&self) -> f64 {
        (self.ticks(13) + self.ticks(14)) / clock_ticks()
    }

    fn elapsed_secs(&self) -> u64 {
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|u| u.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        (uptime - self.ticks(21) / clock_ticks()).max(0.0) as u64
    }

    /// Since the process started, as psgo has it: now, less its start
    /// (boot time plus whole seconds after boot), to the nanosecond.
    fn elapsed_ns(&self) -> u128 {
        let btime: u128 = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
            })
            .unwrap_or(0);
        let started = btime + (self.ticks(21) / clock_ticks()) as u128;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        now.saturating_sub(started * 1_000_000_000)
    }

    fn cpu_percent(&self) -> f64 {
        let elapsed = self.elapsed_secs();
        if elapsed == 0 {
            return 0.0;
        }
        self.cpu_secs() / elapsed as f64 * 100.0
    }

    fn seccomp(&self) -> String {
        match self.status("Seccomp").as_str() {
            "0" => "disabled",
            "1" => "strict",
            "2" => "filter",
            _ => "?",
        }
        .into()
    }
}

fn clock_ticks() -> f64 {
    crate::sys::clock_ticks() as f64
}

/// The name of `id` in a passwd or group file.
pub(crate) fn name_in(path: &Path, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let num: u32 = f.nth(1)?.parse().ok()?;
        (num == id).then(|| name.to_string())
    })
}

/// Seconds as Go prints a duration (`1h2m3s`, `45s`, `0s`), as psgo does.
fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Nanoseconds as Go's `Duration.String` prints them: `1.236277861s`,
/// `2m3.5s`, `1h0m0s`, and below a second `1.5ms`, `250µs`, `0s`.
pub(crate) fn go_duration_ns(ns: u128) -> String {
    /// `n` over `10^digits` with its fraction's trailing zeros dropped.
    fn decimal(n: u128, digits: u32) -> String {
        let scale = 10u128.pow(digits);
        let frac = format!("{:0width$}", n % scale, width = digits as usize);
        match frac.trim_end_matches('0') {
            "" => (n / scale).to_string(),
            f => format!("{}.{f}", n / scale),
        }
    }
    match ns {
        0 => "0s".into(),
        1..=999 => format!("{ns}ns"),
        1_000..=999_999 => format!("{}\u{b5}s", decimal(ns, 3)),
        1_000_000..=999_999_999 => format!("{}ms", decimal(ns, 6)),
        _ => {
            let secs = ns / 1_000_000_000;
            let s = decimal(ns % 60_000_000_000, 9);
            match (secs / 3600, secs % 3600 / 60) {
                (0, 0) => format!("{s}s"),
                (0, m) => format!("{m}m{s}s"),
                (h, m) => format!("{h}h{m}m{s}s"),
            }
        }
    }
}

/// `id` through a `uid_map`'s lines (inside, outside, count): inside to
/// outside when `forward`, else back.
fn through_map(text: &str, id: u32, forward: bool) -> Option<u32> {
    text.lines().find_map(|l| {
        let n: Vec<u64> = l
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [inside, outside, count] = n[..] else {
            return None;
        };
        let (from, to) = if forward {
            (inside, outside)
        } else {
            (outside, inside)
        };
        let id = u64::from(id);
        (id >= from && id - from < count).then(|| u32::try_from(to + (id - from)).ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_go_through_a_map_either_way() {
        let map = "         0     100000      65536\n     65536       1000          1\n";
        assert_eq!(through_map(map, 0, true), Some(100000));
        assert_eq!(through_map(map, 65536, true), Some(1000));
        assert_eq!(through_map(map, 100005, false), Some(5));
        assert_eq!(through_map(map, 7, false), None);
        let identity = "0 0 4294967295\n";
        assert_eq!(through_map(identity, 1234, false), Some(1234));
    }

    #[test]
    fn descriptors_or_ps_options() {
        assert!(are_descriptors(&[]));
        assert!(are_descriptors(&["huser,user".into()]));
        assert!(are_descriptors(&["pid".into(), "%C".into(), "args".into()]));
        assert!(!are_descriptors(&["-ef".into()]));
        assert!(!are_descriptors(&["aux".into()]));
    }

    #[test]
    fn this_process_in_a_table() {
        let me = std::process::id() as i32;
        let rows = table(&[me], &["pid,huser,args,etime,tty".into()]).unwrap();
        assert_eq!(rows[0], ["PID", "HUSER", "COMMAND", "ELAPSED", "TTY"]);
        assert_eq!(rows[1][0], me.to_string());
        assert_eq!(rows[1][1], "root");
        assert!(rows[1][2].contains("berth_engine"), "{:?}", rows[1]);
        assert!(rows[1][3].ends_with('s'), "{:?}", rows[1]);
        assert_eq!(go_duration(3723), "1h2m3s");
        assert_eq!(go_duration(59), "59s");
        assert_eq!(go_duration_ns(1_236_277_861), "1.236277861s");
        assert_eq!(go_duration_ns(123_500_000_000), "2m3.5s");
        assert_eq!(go_duration_ns(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration_ns(1_500_000), "1.5ms");
        assert_eq!(go_duration_ns(250_000), "250\u{b5}s");
        assert_eq!(go_duration_ns(7), "7ns");
        assert_eq!(go_duration_ns(0), "0s");
    }
}
