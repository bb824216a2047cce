//! `stats`: a running container's resource use, read from the cgroups its init
//! is in (whichever runtime made them) and its network namespace's counters.

use std::path::{Path, PathBuf};

use crate::container::{Info, now_ns};

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    pub id: String,
    pub name: String,
    /// CPU time over wall time since start, in percent of one CPU.
    pub cpu_percent: f64,
    pub mem_usage: u64,
    pub mem_limit: u64,
    pub pids: u64,
    pub net_input: u64,
    pub net_output: u64,
    /// CPU time used, in nanoseconds.
    pub cpu_nanos: u64,
    /// Bytes read and written by the container's block I/O.
    pub block_input: u64,
    pub block_output: u64,
}

/// A `stats` row as podman prints it and its templates read it (`{{.CPUPerc}}`
/// …), the numbers beside in their own fields (`cpu_percent` …).
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatsReport {
    #[serde(flatten)]
    pub stats: Stats,
    #[serde(rename = "ID")]
    pub short_id: String,
    #[serde(rename = "Name")]
    pub display_name: String,
    #[serde(rename = "CPUPerc")]
    pub cpu_perc: String,
    #[serde(rename = "MemUsage")]
    pub mem_usage_limit: String,
    #[serde(rename = "MemPerc")]
    pub mem_perc: String,
    #[serde(rename = "NetIO")]
    pub net_io: String,
    #[serde(rename = "BlockIO")]
    pub block_io: String,
    #[serde(rename = "PIDs")]
    pub pid_count: String,
    /// The CPU percentage as a number, and its average (one sample: the same).
    #[serde(rename = "CPU")]
    pub cpu: f64,
    #[serde(rename = "AVGCPU")]
    pub avg_cpu: String,
    /// Memory in binary units (`772KiB / 23.54GiB`).
    #[serde(rename = "MemUsageBytes")]
    pub mem_usage_bytes: String,
    /// The CPU time, as a Go duration (podman's CPU TIME column).
    #[serde(rename = "UpTime")]
    pub up_time: String,
}

/// A `stats --format json` entry as podman prints it: every figure a string.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatsJson {
    pub id: String,
    pub name: String,
    pub cpu_time: String,
    pub cpu_percent: String,
    pub avg_cpu: String,
    pub mem_usage: String,
    pub mem_percent: String,
    pub net_io: String,
    pub block_io: String,
    pub pids: String,
}

impl StatsJson {
    pub fn of(r: &StatsReport) -> StatsJson {
        StatsJson {
            id: r.short_id.clone(),
            name: r.display_name.clone(),
            cpu_time: r.up_time.clone(),
            cpu_percent: r.cpu_perc.clone(),
            avg_cpu: r.avg_cpu.clone(),
            mem_usage: r.mem_usage_limit.clone(),
            mem_percent: r.mem_perc.clone(),
            net_io: r.net_io.clone(),
            block_io: r.block_io.clone(),
            pids: r.pid_count.clone(),
        }
    }
}

impl StatsReport {
    pub fn of(s: Stats) -> StatsReport {
        // podman's figures: decimal units (`790.5kB / 25.28GB`).
        let bytes = crate::units::human_size;
        let binary = crate::units::bytes_size;
        let mem_pct = if s.mem_limit > 0 {
            s.mem_usage as f64 * 100.0 / s.mem_limit as f64
        } else {
            0.0
        };
        StatsReport {
            short_id: s.id[..12.min(s.id.len())].to_string(),
            display_name: s.name.clone(),
            cpu_perc: format!("{:.2}%", s.cpu_percent),
            mem_usage_limit: format!("{} / {}", bytes(s.mem_usage), bytes(s.mem_limit)),
            mem_perc: format!("{mem_pct:.2}%"),
            net_io: format!("{} / {}", bytes(s.net_input), bytes(s.net_output)),
            block_io: format!("{} / {}", bytes(s.block_input), bytes(s.block_output)),
            pid_count: s.pids.to_string(),
            cpu: s.cpu_percent,
            avg_cpu: format!("{:.2}%", s.cpu_percent),
            mem_usage_bytes: format!("{} / {}", binary(s.mem_usage), binary(s.mem_limit)),
            up_time: crate::top::go_duration_ns(u128::from(s.cpu_nanos)),
            stats: s,
        }
    }
}

/// A `pod stats` row: a running member's [`StatsReport`] under podman's pod
/// column names.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PodStatsReport {
    #[serde(flatten)]
    pub container: StatsReport,
    /// The pod's short ID.
    #[serde(rename = "Pod")]
    pub pod: String,
    #[serde(rename = "CID")]
    pub cid: String,
    #[serde(rename = "CPU")]
    pub cpu: String,
    #[serde(rename = "Mem")]
    pub mem: String,
    #[serde(rename = "PIDS")]
    pub pids_column: String,
}

/// `stats`: the running containers among those named (among every one
/// without names), each read now. A name no container has is an error.
pub fn report(
    store: &berth_storage::Store,
    names: &[String],
) -> Result<Vec<StatsReport>, crate::Error> {
    let targets: Vec<Info> = if names.is_empty() {
        crate::container::list(store).map_err(crate::Error::other)?
    } else {
        names
            .iter()
            .map(|n| crate::container::find(store, n))
            .collect::<Result<_, _>>()?
    };
    Ok(targets
        .iter()
        .filter(|i| i.state.status == crate::container::Status::Running)
        .map(|i| StatsReport::of(read(i)))
        .collect())
}

/// The pods `pod stats` watches: those named, or every pod.
pub fn pod_targets(
    store: &berth_storage::Store,
    names: &[String],
) -> Result<Vec<crate::pods::Pod>, crate::Error> {
    if names.is_empty() {
        return Ok(crate::pods::list(store));
    }
    names.iter().map(|p| crate::pods::find(store, p)).collect()
}

/// `pod stats`: one row a running member of each pod.
pub fn pod_rows(store: &berth_storage::Store, pods: &[crate::pods::Pod]) -> Vec<PodStatsReport> {
    let mut rows = Vec::new();
    for pod in pods {
        let members = crate::pods::members(store, pod);
        for m in members
            .iter()
            .filter(|m| m.state.status == crate::container::Status::Running)
        {
            let r = StatsReport::of(read(m));
            rows.push(PodStatsReport {
                pod: pod.id[..12.min(pod.id.len())].to_string(),
                cid: r.short_id.clone(),
                cpu: r.cpu_perc.clone(),
                mem: r.mem_perc.clone(),
                pids_column: r.pid_count.clone(),
                container: r,
            });
        }
    }
    rows
}

/// The cgroup directories of a process: (controller or "" for v2, path).
fn cgroups(pid: i32) -> Vec<(String, PathBuf)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        let rel = path.trim_start_matches('/');
        if ctrls.is_empty() {
            for base in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
                let p = Path::new(base).join(rel);
                if p.join("cgroup.procs").exists() {
                    out.push((String::new(), p));
                    break;
                }
            }
        } else {
            for c in ctrls.split(',') {
                let c = c.trim_start_matches("name=");
                out.push((
                    c.to_string(),
                    Path::new("/sys/fs/cgroup").join(ctrls).join(rel),
                ));
            }
        }
    }
    out
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn find<'a>(cg: &'a [(String, PathBuf)], ctrl: &str) -> Option<&'a PathBuf> {
    cg.iter().find(|(c, _)| c == ctrl).map(|(_, p)| p)
}

fn v2(cg: &[(String, PathBuf)]) -> Option<&PathBuf> {
    find(cg, "")
}

/// Reads a running container's figures.
pub fn read(info: &Info) -> Stats {
    let pid = info.state.pid();
    let cg = cgroups(pid);
    let mut s = Stats {
        id: info.id.clone(),
        name: info.name().to_string(),
        ..Default::default()
    };
    let v1_or_v2 = |ctrl: &str, v1: &str, v2f: &str| -> Option<u64> {
        find(&cg, ctrl)
            .and_then(|p| read_u64(&p.join(v1)))
            .or_else(|| v2(&cg).and_then(|p| read_u64(&p.join(v2f))))
    };
    s.mem_usage = v1_or_v2("memory", "memory.usage_in_bytes", "memory.current").unwrap_or(0);
    let host_mem = crate::system::meminfo("MemTotal");
    let limit = find(&cg, "memory")
        .and_then(|p| read_u64(&p.join("memory.limit_in_bytes")))
        .or_else(|| v2(&cg).and_then(|p| read_u64(&p.join("memory.max"))));
    s.mem_limit = limit
        .filter(|l| *l < host_mem && *l > 0)
        .unwrap_or(host_mem);
    s.pids = v1_or_v2("pids", "pids.current", "pids.current").unwrap_or(0);
    let cpu_ns = find(&cg, "cpuacct")
        .and_then(|p| read_u64(&p.join("cpuacct.usage")))
        .or_else(|| {
            let stat = std::fs::read_to_string(v2(&cg)?.join("cpu.stat")).ok()?;
            let usec: u64 = stat
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .parse()
                .ok()?;
            Some(usec * 1000)
        })
        .unwrap_or(0);
    s.cpu_nanos = cpu_ns;
    (s.block_input, s.block_output) = block_io(&cg);
    let elapsed = now_ns().saturating_sub(info.state.started_ns.unwrap_or(now_ns()));
    if elapsed > 0 {
        s.cpu_percent = cpu_ns as f64 * 100.0 / elapsed as f64;
    }
    let net = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    for line in net.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 9 {
            s.net_input += f[0];
            s.net_output += f[8];
        }
    }
    s
}

/// Bytes read and written: cgroup v1's blkio.throttle.io_service_bytes
/// (`MAJ:MIN Read N` lines), else v2's io.stat (`rbytes=N wbytes=N`).
fn block_io(cg: &[(String, PathBuf)]) -> (u64, u64) {
    let (mut read, mut write) = (0, 0);
    if let Some(text) = find(cg, "blkio")
        .and_then(|p| std::fs::read_to_string(p.join("blkio.throttle.io_service_bytes")).ok())
    {
        for l in text.lines() {
            let f: Vec<&str> = l.split_whitespace().collect();
            match (f.get(1), f.get(2).and_then(|n| n.parse::<u64>().ok())) {
                (Some(&"Read"), Some(n)) => read += n,
                (Some(&"Write"), Some(n)) => write += n,
                _ => {}
            }
        }
        return (read, write);
    }
    let text = v2(cg)
        .and_then(|p| std::fs::read_to_string(p.join("io.stat")).ok())
        .unwrap_or_default();
    for word in text.split_whitespace() {
        match word.split_once('=') {
            Some(("rbytes", n)) => read += n.parse::<u64>().unwrap_or(0),
            Some(("wbytes", n)) => write += n.parse::<u64>().unwrap_or(0),
            _ => {}
        }
    }
    (read, write)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_store as store;

    #[test]
    fn a_named_container_must_exist_and_unnamed_means_every_running_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        assert!(report(&store, &[]).unwrap().is_empty());
        let e = report(&store, &["nope".into()]).unwrap_err();
        assert!(
            matches!(e, crate::Error::NoSuchContainer(ref n) if n == "nope"),
            "{e}"
        );
        assert!(pod_targets(&store, &[]).unwrap().is_empty());
        let e = pod_targets(&store, &["p1".into()]).unwrap_err();
        assert!(matches!(e, crate::Error::NoSuchPod(_)), "{e}");
    }

    #[test]
    fn a_report_shows_podmans_columns() {
        let r = StatsReport::of(Stats {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            mem_usage: 50,
            mem_limit: 200,
            ..Default::default()
        });
        assert_eq!(r.short_id, "0123456789ab");
        assert_eq!(r.mem_perc, "25.00%");
    }
}
