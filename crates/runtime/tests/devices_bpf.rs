//! cgroup v2 device rules as a BPF program, checked against the real kernel: on this
//! hybrid host the cgroup2 mount (/sys/fs/cgroup/unified) takes device programs too.

use berth_runtime::devices_bpf;
use berth_runtime::spec::DeviceRule;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

fn cgroup2_mount() -> PathBuf {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| PathBuf::from(left.split(' ').nth(4).unwrap()))
        })
        .expect("a cgroup2 mount")
}

struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn rule(
    allow: bool,
    kind: &str,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> DeviceRule {
    DeviceRule {
        allow,
        kind: Some(kind.into()),
        major,
        minor,
        access: Some(access.into()),
    }
}

#[test]
fn the_filter_allows_only_what_the_rules_allow() {
    let dir = cgroup2_mount().join(format!("berth-devtest-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let cg = Cgroup(dir);
    // Deny everything, then allow /dev/null (c 1:3) for reading and writing only.
    let rules = [
        rule(false, "a", None, None, "rwm"),
        rule(true, "c", Some(1), Some(3), "rw"),
    ];
    devices_bpf::attach(&cg.0, &rules).unwrap();
    let procs = cg.0.join("cgroup.procs");
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "cat /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 && echo zero-ok || echo zero-denied"]);
    // SAFETY: only a write(2) of the child's own pid into the cgroup before exec.
    unsafe {
        cmd.pre_exec(move || std::fs::write(&procs, "0"));
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "null-ok\nzero-denied\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
