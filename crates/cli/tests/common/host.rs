//! What the host shows of a test's containers: mounts left under a store,
//! processes that still exist.

use std::path::Path;

/// Mounts left in the store (its root and run root; not the runtime's own
/// read-only copy of the binary, which lives beside them until the test ends).
pub fn mounts_under(dir: &Path) -> usize {
    let roots = [dir.join("root"), dir.join("run")].map(|d| d.to_string_lossy().to_string());
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| roots.iter().any(|r| m.starts_with(r.as_str())))
        })
        .count()
}

/// Whether `/proc/PID` exists (a zombie still does).
pub fn process_exists(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}
