//! Protection against CVE-2019-5736: a container process that gets hold of the
//! runtime's own executable (via /proc/PID/exe of an init still running berth-oci, or
//! a `#!/proc/self/exe` entrypoint) must not be able to write to it.
//!
//! Instead of copying the binary into a sealed memfd on every start (crun, runc),
//! berth-oci runs from a read-only bind mount of itself, made once per binary under
//! `/run/berth-oci/.exe/` and reused: the only cost on later runs is one execve.
//! Opening that file for writing fails with EROFS whatever the caller's privileges.
//! Where no mount can be made (rootless), a sealed memfd copy is the fallback.

use crate::error::{Context, Result};
use crate::sys::{self, cstr};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Set for the protected image's run, to the path of the binary it was made
/// from (see [`real_exe`]).
const MARKER: &str = "_BERTH_OCI_PROTECTED";

/// The binary a protected process was started from, before its re-execution.
static STARTED_FROM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The binary this process was started from: where it re-executed itself
/// from its read-only image, the binary the image was made of. What must
/// outlive the image (a systemd unit, which runs after a reboot) names it.
pub fn real_exe() -> std::io::Result<PathBuf> {
    match STARTED_FROM.get() {
        Some(p) => Ok(p.clone()),
        None => std::env::current_exe(),
    }
}

/// Whether this process already runs from a read-only or sealed image.
fn protected() -> bool {
    if std::env::var_os(MARKER).is_some() {
        return true;
    }
    sys::statvfs_flags(c"/proc/self/exe").is_ok_and(|f| f & libc::ST_RDONLY != 0)
}

fn cache_dir() -> PathBuf {
    // Tests point this at a directory they clean up.
    if let Some(dir) = std::env::var_os("BERTH_OCI_EXE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(uid) = crate::userns::rootless_uid()
        && sys::geteuid() == 0
    {
        // In the user's namespace: its own run directory, where its root may mount.
        return crate::userns::default_run_dir(uid).join("oci-exe");
    }
    if sys::geteuid() == 0 {
        PathBuf::from("/run/berth-oci/.exe")
    } else {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        base.join("berth-oci/.exe")
    }
}

/// Re-executes from the protected image unless already there. Returns only when
/// the current image is safe to hand to a container (or on a fallback failure).
pub fn ensure_protected() -> Result<()> {
    if protected() {
        if let Some(from) = std::env::var_os(MARKER).map(PathBuf::from)
            && from.is_absolute()
        {
            let _ = STARTED_FROM.set(from);
        }
        // Children (hooks) must not inherit the marker as a promise.
        // SAFETY-free: single-threaded at this point.
        unsafe { std::env::remove_var(MARKER) };
        return Ok(());
    }
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| {
            CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())).unwrap_or_default()
        })
        .collect();
    if let Some(path) = ro_image() {
        let c = cstr(&path.to_string_lossy()).ctx("path")?;
        let e = sys::execve(&c, &argv, &env_with_marker());
        return Err(e).ctx("re-execute from the read-only image");
    }
    exec_sealed_copy(&argv)
}

/// What a process this one starts (a container's monitor, itself this binary)
/// should execute to run protected without executing itself again: this
/// process's image when it is protected already, else the read-only image,
/// made when missing. None where none can be made (rootless): the child then
/// protects itself.
pub fn protected_path() -> Option<PathBuf> {
    if protected() {
        return Some(own_image());
    }
    ro_image()
}

/// This process's own (protected) image: by its path while the path names
/// it; once the binary was replaced and a newer berth collected this image's
/// mount (`collect_stale`), by `/proc/self/exe`, which a child resolves to the
/// same image (a long-running service must go on starting monitors).
fn own_image() -> PathBuf {
    let same = |p: &Path| {
        let (a, b) = (std::fs::metadata(p), std::fs::metadata("/proc/self/exe"));
        matches!((a, b), (Ok(a), Ok(b)) if (a.dev(), a.ino()) == (b.dev(), b.ino()))
    };
    match std::env::current_exe() {
        Ok(p) if same(&p) => p,
        _ => PathBuf::from("/proc/self/exe"),
    }
}

/// This binary's read-only image, made when missing; None where no mount can
/// be made.
fn ro_image() -> Option<PathBuf> {
    let meta = std::fs::metadata("/proc/self/exe").ok()?;
    let dir = cache_dir();
    let path = image_path(&dir, &meta);
    (is_our_ro_mount(&path, &meta) || make_ro_mount(&dir, &path, &meta).is_ok()).then_some(path)
}

/// The read-only image's path: one per binary (device, inode, mtime).
fn image_path(dir: &Path, exe: &std::fs::Metadata) -> PathBuf {
    dir.join(format!(
        "berth-oci-{}-{}-{}",
        exe.dev(),
        exe.ino(),
        exe.mtime()
    ))
}

fn env_with_marker() -> Vec<CString> {
    let mut marker = format!("{MARKER}=").into_bytes();
    if let Ok(from) = std::fs::read_link("/proc/self/exe") {
        marker.extend(from.into_os_string().into_encoded_bytes());
    }
    std::env::vars_os()
        .map(|(k, v)| {
            let mut b = k.into_encoded_bytes();
            b.push(b'=');
            b.extend(v.into_encoded_bytes());
            CString::new(b).unwrap_or_default()
        })
        .chain(std::iter::once(CString::new(marker).unwrap_or_default()))
        .collect()
}

fn is_our_ro_mount(path: &Path, exe: &std::fs::Metadata) -> bool {
    let Ok(m) = std::fs::metadata(path) else {
        return false;
    };
    let c = match cstr(&path.to_string_lossy()) {
        Ok(c) => c,
        Err(_) => return false,
    };
    m.ino() == exe.ino()
        && m.dev() == exe.dev()
        && sys::statvfs_flags(&c).is_ok_and(|f| f & libc::ST_RDONLY != 0)
}

fn make_ro_mount(dir: &Path, path: &Path, exe: &std::fs::Metadata) -> Result<()> {
    std::fs::create_dir_all(dir).ctx("create exe cache")?;
    collect_stale(dir);
    // Another berth-oci may be doing the same right now: serialise on a lock file
    // (a mount point cannot be renamed into place).
    let lock = std::fs::File::create(dir.join(".lock")).ctx("create exe cache lock")?;
    sys::flock_exclusive(std::os::fd::AsFd::as_fd(&lock)).ctx("lock exe cache")?;
    if is_our_ro_mount(path, exe) {
        return Ok(());
    }
    std::fs::File::create(path).ctx("create exe mount point")?;
    let t = cstr(&path.to_string_lossy()).ctx("path")?;
    let source = exe_source(exe)?;
    let r = sys::mount(Some(&source), &t, None, libc::MS_BIND, None).and_then(|_| {
        sys::mount(
            None,
            &t,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
    });
    if let Err(e) = r {
        let _ = sys::umount2(&t, libc::MNT_DETACH);
        let _ = std::fs::remove_file(path);
        return Err(e).ctx("bind the runtime read-only");
    }
    Ok(())
}

/// What to bind: `/proc/self/exe`, unless this process joined another mount
/// namespace since it started (rootless), where the executable's mount is not
/// one of the caller's and the bind is refused; then its path, if that still
/// names the same file.
fn exe_source(exe: &std::fs::Metadata) -> Result<CString> {
    if crate::userns::rootless_uid().is_none() {
        return Ok(c"/proc/self/exe".to_owned());
    }
    let p = std::fs::read_link("/proc/self/exe").ctx("read /proc/self/exe")?;
    let m = std::fs::metadata(&p).ctx("stat the executable")?;
    if (m.dev(), m.ino()) != (exe.dev(), exe.ino()) {
        return Err("the executable was replaced while running".into());
    }
    cstr(&p.to_string_lossy()).ctx("path")
}

/// Unmounts cached images whose binary has been replaced or deleted since.
fn collect_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if std::fs::metadata(&p).is_ok_and(|m| m.nlink() == 0)
            && let Ok(c) = cstr(&p.to_string_lossy())
        {
            let _ = sys::umount2(&c, libc::MNT_DETACH);
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Rootless fallback: copy into a sealed memfd and run that.
fn exec_sealed_copy(argv: &[CString]) -> Result<()> {
    // SAFETY: memfd_create with a C string name; the fd is owned below.
    let fd = unsafe {
        libc::memfd_create(
            c"berth-oci".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).ctx("memfd_create");
    }
    // SAFETY: fresh fd from the kernel.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut src = std::fs::File::open("/proc/self/exe").ctx("open /proc/self/exe")?;
    let mut dst = std::fs::File::from(memfd.try_clone().ctx("dup")?);
    std::io::copy(&mut src, &mut dst).ctx("copy the runtime")?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl with integer arguments on our fd.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
        return Err(std::io::Error::last_os_error()).ctx("seal the runtime copy");
    }
    let env = env_with_marker();
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = env.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: null-terminated arrays of C strings that outlive the call.
    unsafe { libc::fexecve(memfd.as_raw_fd(), a.as_ptr(), e.as_ptr()) };
    Err(std::io::Error::last_os_error()).ctx("execute the sealed runtime copy")
}
