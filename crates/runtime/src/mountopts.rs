//! Mount options as the spec writes them (`ro`, `nosuid`, `rbind`, `rprivate`,
//! `rro`, `idmap`, `size=64m`) turned into mount(2) flags, propagation changes,
//! mount_setattr(2) attributes and the filesystem's data string.

use crate::sys;
use libc::c_ulong;

#[derive(Debug, Default, Clone)]
pub struct MountFlags {
    pub flags: c_ulong,
    pub propagation: Vec<c_ulong>,
    pub data: String,
    /// Recursive attributes (`rro`, `rnosuid`, ...) for mount_setattr(AT_RECURSIVE).
    pub attr_set: u64,
    pub attr_clr: u64,
    pub recursive_bind: bool,
    pub idmap: bool,
}

/// Flag options: (name, set?, flag).
const FLAGS: &[(&str, bool, c_ulong)] = &[
    ("ro", true, libc::MS_RDONLY),
    ("rw", false, libc::MS_RDONLY),
    ("nosuid", true, libc::MS_NOSUID),
    ("suid", false, libc::MS_NOSUID),
    ("nodev", true, libc::MS_NODEV),
    ("dev", false, libc::MS_NODEV),
    ("noexec", true, libc::MS_NOEXEC),
    ("exec", false, libc::MS_NOEXEC),
    ("sync", true, libc::MS_SYNCHRONOUS),
    ("async", false, libc::MS_SYNCHRONOUS),
    ("dirsync", true, libc::MS_DIRSYNC),
    ("remount", true, libc::MS_REMOUNT),
    ("mand", true, libc::MS_MANDLOCK),
    ("nomand", false, libc::MS_MANDLOCK),
    ("atime", false, libc::MS_NOATIME),
    ("noatime", true, libc::MS_NOATIME),
    ("diratime", false, libc::MS_NODIRATIME),
    ("nodiratime", true, libc::MS_NODIRATIME),
    ("relatime", true, libc::MS_RELATIME),
    ("norelatime", false, libc::MS_RELATIME),
    ("strictatime", true, libc::MS_STRICTATIME),
    ("nostrictatime", false, libc::MS_STRICTATIME),
    ("silent", true, libc::MS_SILENT),
    ("loud", false, libc::MS_SILENT),
    ("bind", true, libc::MS_BIND),
    ("rbind", true, libc::MS_BIND | libc::MS_REC),
];

/// Recursive attribute options: (name, set?, attribute).
const ATTRS: &[(&str, bool, u64)] = &[
    ("rro", true, sys::MOUNT_ATTR_RDONLY),
    ("rrw", false, sys::MOUNT_ATTR_RDONLY),
    ("rnosuid", true, sys::MOUNT_ATTR_NOSUID),
    ("rsuid", false, sys::MOUNT_ATTR_NOSUID),
    ("rnodev", true, sys::MOUNT_ATTR_NODEV),
    ("rdev", false, sys::MOUNT_ATTR_NODEV),
    ("rnoexec", true, sys::MOUNT_ATTR_NOEXEC),
    ("rexec", false, sys::MOUNT_ATTR_NOEXEC),
    ("rnodiratime", true, sys::MOUNT_ATTR_NODIRATIME),
    ("rdiratime", false, sys::MOUNT_ATTR_NODIRATIME),
    ("rnosymfollow", true, sys::MOUNT_ATTR_NOSYMFOLLOW),
    ("rsymfollow", false, sys::MOUNT_ATTR_NOSYMFOLLOW),
];

pub fn propagation(name: &str) -> Option<c_ulong> {
    Some(match name {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

pub fn parse(options: &[String]) -> MountFlags {
    let mut m = MountFlags::default();
    let mut data = Vec::new();
    for o in options {
        let o = o.as_str();
        if let Some((_, set, f)) = FLAGS.iter().find(|(n, _, _)| *n == o) {
            if *set {
                m.flags |= f
            } else {
                m.flags &= !f
            }
            if o == "rbind" {
                m.recursive_bind = true;
            }
        } else if let Some(p) = propagation(o) {
            m.propagation.push(p);
        } else if let Some((_, set, a)) = ATTRS.iter().find(|(n, _, _)| *n == o) {
            if *set {
                m.attr_set |= a
            } else {
                m.attr_clr |= a
            }
        } else if let Some(rest) = o
            .strip_prefix('r')
            .filter(|r| matches!(*r, "atime" | "noatime" | "relatime" | "strictatime"))
        {
            m.attr_clr |= sys::MOUNT_ATTR__ATIME;
            m.attr_set |= match rest {
                "noatime" => sys::MOUNT_ATTR_NOATIME,
                "strictatime" => sys::MOUNT_ATTR_STRICTATIME,
                _ => sys::MOUNT_ATTR_RELATIME,
            };
        } else if o == "idmap" || o == "ridmap" {
            m.idmap = true;
            if o == "ridmap" {
                m.recursive_bind = true;
            }
        } else if o == "tmpcopyup"
            || o == "notmpcopyup"
            || o == "copy-symlink"
            || o.starts_with("x-")
        {
            // Options for other tools (crun's tmpcopyup, systemd's x-*); not mount data.
        } else {
            data.push(o);
        }
    }
    m.data = data.join(",");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_data_and_propagation_are_split() {
        let m = parse(&opts(&[
            "nosuid",
            "noexec",
            "mode=755",
            "size=65536k",
            "rprivate",
            "ro",
        ]));
        assert_eq!(m.flags, libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_RDONLY);
        assert_eq!(m.data, "mode=755,size=65536k");
        assert_eq!(m.propagation, vec![libc::MS_PRIVATE | libc::MS_REC]);
    }

    #[test]
    fn later_options_win_and_recursive_attrs_are_kept_apart() {
        let m = parse(&opts(&["ro", "rw", "rbind", "rro", "rnoatime"]));
        assert_eq!(m.flags & libc::MS_RDONLY, 0);
        assert!(m.recursive_bind);
        assert_eq!(m.attr_set, sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOATIME);
        assert_eq!(m.attr_clr, sys::MOUNT_ATTR__ATIME);
    }
}
