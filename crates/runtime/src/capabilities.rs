//! Capability names and the five sets of the process.

use crate::error::{Context, Result};
use crate::spec::Capabilities;
use crate::sys;

/// Capability names in kernel bit order (linux/capability.h).
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The highest capability this kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

pub fn by_name(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    NAMES.iter().position(|n| *n == full).map(|i| i as u32)
}

/// A set as a bit mask; names the kernel does not know are skipped, as runc does,
/// so a config written for a newer kernel still runs.
pub fn mask(names: &[String], last: u32) -> u64 {
    names
        .iter()
        .filter_map(|n| by_name(n))
        .filter(|&c| c <= last)
        .fold(0, |m, c| m | 1u64 << c)
}

pub fn names_of(mask: u64) -> Vec<String> {
    (0..NAMES.len())
        .filter(|&i| mask & (1 << i) != 0)
        .map(|i| NAMES[i].to_string())
        .collect()
}

/// Whether the calling process still has `cap` in its bounding set (a capability
/// can only be granted to the container if it is).
fn in_bounding(cap: u32) -> bool {
    sys::prctl(libc::PR_CAPBSET_READ, cap as _, 0).is_ok_and(|r| r == 1)
}

/// Drops from every set the capabilities this kernel does not know or this process
/// cannot grant (on this project's machines CAP_SYS_RESOURCE is outside the bounding
/// set), with one warning naming them, as runc does.
pub fn usable(caps: &Capabilities) -> Capabilities {
    let last = last_cap();
    let mut dropped: Vec<String> = Vec::new();
    let mut keep = |set: &[String]| -> Vec<String> {
        set.iter()
            .filter(|n| {
                let ok = by_name(n).is_some_and(|c| c <= last && in_bounding(c));
                if !ok && !dropped.contains(n) {
                    dropped.push((*n).clone());
                }
                ok
            })
            .cloned()
            .collect()
    };
    let out = Capabilities {
        bounding: keep(&caps.bounding),
        effective: keep(&caps.effective),
        inheritable: keep(&caps.inheritable),
        permitted: keep(&caps.permitted),
        ambient: keep(&caps.ambient),
    };
    if !dropped.is_empty() {
        crate::log::warn(&format!(
            "ignoring unknown or unavailable capabilities: [{}]",
            dropped.join(" ")
        ));
    }
    out
}

/// Drops from the bounding set every capability not in `bounding`. Needs
/// CAP_SETPCAP, so it runs before the user switch.
pub fn drop_bounding(caps: &Capabilities) -> Result<()> {
    let last = last_cap();
    let keep = mask(&caps.bounding, last);
    for c in 0..=last {
        if keep & (1 << c) == 0 {
            match sys::prctl(libc::PR_CAPBSET_DROP, c as _, 0) {
                Ok(_) => {}
                // EINVAL: a capability this kernel lacks.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => {
                    return Err(e).with(|| format!("drop {} from the bounding set", cap_name(c)));
                }
            }
        }
    }
    Ok(())
}

fn cap_name(c: u32) -> String {
    NAMES
        .get(c as usize)
        .map_or_else(|| format!("capability {c}"), |s| s.to_string())
}

/// Sets effective, permitted and inheritable, then raises the ambient set.
/// Inheritable stays empty unless the spec names it.
pub fn apply(caps: &Capabilities) -> Result<()> {
    let last = last_cap();
    let eff = mask(&caps.effective, last);
    let perm = mask(&caps.permitted, last);
    let inh = mask(&caps.inheritable, last);
    sys::capset(eff, perm, inh).ctx("set capabilities")?;
    let _ = sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as _, 0);
    for c in 0..=last {
        if mask(&caps.ambient, last) & (1 << c) != 0 {
            // The kernel allows an ambient capability only when it is also permitted
            // and inheritable; configs often list ambient without inheritable (runc's
            // own template does), so a refusal is skipped as runc does.
            let _ = sys::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as _,
                c as _,
            );
        }
    }
    Ok(())
}

/// The full set this kernel knows, for `spec` and `features`.
pub fn all_names() -> Vec<String> {
    let last = last_cap() as usize;
    NAMES.iter().take(last + 1).map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_masks() {
        let names = vec![
            "CAP_KILL".to_string(),
            "net_raw".to_string(),
            "CAP_NOPE".to_string(),
        ];
        let m = mask(&names, 40);
        assert_eq!(m, 1 << 5 | 1 << 13);
        assert_eq!(names_of(m), vec!["CAP_KILL", "CAP_NET_RAW"]);
    }

    #[test]
    fn caps_beyond_the_kernel_are_skipped() {
        let names = vec!["CAP_CHECKPOINT_RESTORE".to_string()];
        assert_eq!(mask(&names, 39), 0);
        assert_eq!(mask(&names, 40), 1 << 40);
    }
}
