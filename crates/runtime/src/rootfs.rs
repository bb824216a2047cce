//! The container's filesystem: mounts, device nodes, pivot_root, masked and
//! read-only paths.
//!
//! Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT), and every
//! mount goes onto the `/proc/self/fd/N` of the fd so resolved, so a symlink in the
//! image can never send a mount outside the rootfs.

use crate::cgroups::Cgroup;
use crate::error::{Context, Error, Result};
use crate::mountopts::{self, MountFlags};
use crate::spec::{Device, Mount, Spec};
use crate::sys::{self, cstr, fd_path};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

pub struct Rootfs {
    pub path: String,
    pub fd: OwnedFd,
}

impl Rootfs {
    pub fn open(path: &str) -> Result<Rootfs> {
        let fd = sys::openat(
            libc::AT_FDCWD,
            &cstr(path).ctx(path)?,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        )
        .with(|| format!("open rootfs {path}"))?;
        Ok(Rootfs {
            path: path.to_string(),
            fd,
        })
    }

    /// Opens `path` (container view) inside the root.
    pub fn open_in(&self, path: &str, flags: i32) -> std::io::Result<OwnedFd> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        sys::openat2(
            self.fd.as_raw_fd(),
            &cstr(rel)?,
            flags,
            0,
            sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS,
        )
    }

    /// mkdir -p inside the root; returns the directory's O_PATH fd.
    pub fn mkdir_all(&self, path: &str) -> Result<OwnedFd> {
        let comps: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if let Ok(fd) = self.open_in(path, libc::O_PATH | libc::O_DIRECTORY) {
            return Ok(fd);
        }
        let mut parent = self
            .open_in("/", libc::O_PATH | libc::O_DIRECTORY)
            .ctx("open rootfs")?;
        for i in 0..comps.len() {
            let prefix = comps[..=i].join("/");
            match self.open_in(&prefix, libc::O_PATH | libc::O_DIRECTORY) {
                Ok(fd) => parent = fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let name = cstr(comps[i]).ctx(path)?;
                    match sys::mkdirat(parent.as_raw_fd(), &name, 0o755) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                        Err(e) => {
                            return Err(e)
                                .with(|| format!("create directory /{prefix} in the rootfs"));
                        }
                    }
                    parent = self
                        .open_in(&prefix, libc::O_PATH | libc::O_DIRECTORY)
                        .with(|| format!("open /{prefix} in the rootfs"))?;
                }
                Err(e) => return Err(e).with(|| format!("open /{prefix} in the rootfs")),
            }
        }
        Ok(parent)
    }

    /// Makes sure a mount target exists, as a directory or an empty file, and returns
    /// an O_PATH fd on it.
    pub fn ensure_target(&self, path: &str, dir: bool) -> Result<OwnedFd> {
        if dir {
            return self.mkdir_all(path);
        }
        if let Ok(fd) = self.open_in(path, libc::O_PATH) {
            return Ok(fd);
        }
        let (parent, name) = split_parent(path);
        let pfd = self.mkdir_all(parent)?;
        let cname = cstr(name).ctx(path)?;
        match sys::openat(
            pfd.as_raw_fd(),
            &cname,
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW,
            0o644,
        ) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e).with(|| format!("create mount target {path} in the rootfs")),
        }
        self.open_in(path, libc::O_PATH)
            .with(|| format!("open mount target {path} in the rootfs"))
    }
}

fn split_parent(path: &str) -> (&str, &str) {
    let p = path.trim_end_matches('/');
    match p.rfind('/') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("", p),
    }
}

/// What the mount phase needs beyond the spec.
pub struct MountContext<'a> {
    pub spec: &'a Spec,
    pub cgroup: &'a Cgroup,
    pub userns: bool,
    pub cgroupns: bool,
    /// One entry per spec mount: the user namespace of an id-mapped bind.
    pub idmap: &'a [Option<OwnedFd>],
}

/// Sets "/" propagation and makes the rootfs a mount point of its own.
pub fn prepare_root(spec: &Spec, rootfs: &str) -> Result<()> {
    let prop = match spec.linux().rootfs_propagation.as_deref() {
        None | Some("") => libc::MS_SLAVE | libc::MS_REC,
        Some(p) => match mountopts::propagation(p) {
            Some(f) => f,
            None => bail!("rootfsPropagation {p:?}: unknown"),
        },
    };
    sys::mount(None, c"/", None, prop, None).ctx("set propagation of /")?;
    // pivot_root refuses a new root whose parent mount is shared.
    make_parent_mount_private(rootfs)?;
    let r = cstr(rootfs).ctx(rootfs)?;
    sys::mount(Some(&r), &r, None, libc::MS_BIND | libc::MS_REC, None)
        .with(|| format!("bind rootfs {rootfs}"))?;
    Ok(())
}

/// After pivot_root: the container's "/" gets the propagation the spec asked for
/// (the bind that became "/" was made under a private parent).
pub fn set_root_propagation(spec: &Spec) -> Result<()> {
    match spec.linux().rootfs_propagation.as_deref() {
        None | Some("") => Ok(()),
        Some(p) => {
            let flags = mountopts::propagation(p)
                .ok_or_else(|| Error(format!("rootfsPropagation {p:?}: unknown")))?;
            sys::mount(None, c"/", None, flags, None).with(|| format!("make / {p}"))
        }
    }
}

/// After pivot_root: leaving the old root made every mount a slave (or, alone
/// in its peer group, private), so a mount the spec asked to be shared or a
/// slave (`-v …:rshared`) gets that propagation again, at its place in the new
/// root.
pub fn restore_mount_propagation(spec: &Spec) -> Result<()> {
    for m in &spec.mounts {
        let opts = mountopts::parse(&m.options);
        let Some(&last) = opts.propagation.last() else {
            continue;
        };
        if last & (libc::MS_SHARED | libc::MS_SLAVE) == 0 {
            continue;
        }
        let dest = cstr(&m.destination).ctx(&m.destination)?;
        sys::mount(None, &dest, None, last, None)
            .with(|| format!("set propagation of {}", m.destination))?;
    }
    Ok(())
}

/// The mount holding the rootfs's parent directory, made private (not recursively).
fn make_parent_mount_private(rootfs: &str) -> Result<()> {
    let parent = std::path::Path::new(rootfs)
        .parent()
        .unwrap_or(std::path::Path::new("/"));
    let info = std::fs::read_to_string("/proc/self/mountinfo").ctx("read mountinfo")?;
    let mut best = "/".to_string();
    for line in info.lines() {
        let Some(mp) = line.split(' ').nth(4) else {
            continue;
        };
        let mp = mp.replace("\\040", " ");
        if parent.starts_with(&mp) && mp.len() > best.len() {
            best = mp;
        }
    }
    let c = cstr(&best).ctx("mount point")?;
    sys::mount(None, &c, None, libc::MS_PRIVATE, None).with(|| format!("make {best} private"))
}

/// Every mount of the spec, then /dev's nodes and links.
pub fn mount_all(ctx: &MountContext, root: &Rootfs) -> Result<()> {
    for (i, m) in ctx.spec.mounts.iter().enumerate() {
        let ns = ctx.idmap.get(i).and_then(Option::as_ref);
        mount_one(ctx, root, m, ns).with(|| format!("mount {}", m.destination))?;
    }
    if needs_dev_setup(ctx.spec) {
        create_devices(ctx, root)?;
        dev_links(root)?;
    }
    Ok(())
}

fn needs_dev_setup(spec: &Spec) -> bool {
    !spec.mounts.iter().any(|m| {
        m.destination.trim_end_matches('/') == "/dev"
            && m.options.iter().any(|o| o == "bind" || o == "rbind")
    })
}

fn mount_kind(m: &Mount) -> &str {
    match m.kind.as_deref() {
        Some(k) if !k.is_empty() && k != "none" => k,
        _ if m.options.iter().any(|o| o == "bind" || o == "rbind") => "bind",
        Some(k) => k,
        None => "bind",
    }
}

fn mount_one(ctx: &MountContext, root: &Rootfs, m: &Mount, idmap: Option<&OwnedFd>) -> Result<()> {
    let kind = mount_kind(m);
    let opts = mountopts::parse(&m.options);
    let dest = m.destination.as_str();
    if !dest.starts_with('/') && dest.is_empty() {
        bail!("destination is empty");
    }
    match kind {
        "bind" => bind_mount(ctx, root, m, &opts, idmap),
        "cgroup" | "cgroup2" => mount_cgroup(ctx, root, m, &opts, kind),
        _ => {
            if matches!(kind, "proc" | "sysfs") {
                refuse_non_directory(root, dest)?;
            }
            let target = root.ensure_target(dest, true)?;
            let src = cstr(m.source.as_deref().unwrap_or(kind)).ctx("source")?;
            let data = data_with_label(ctx.spec, &opts.data, kind);
            let data_c = if data.is_empty() {
                None
            } else {
                Some(cstr(&data).ctx("options")?)
            };
            // tmpcopyup (runc's and crun's): what the image has there is
            // copied into the new tmpfs; the directory under it is held open
            // across the mount, which then hides it.
            let below = (kind == "tmpfs" && m.options.iter().any(|o| o == "tmpcopyup"))
                .then(|| {
                    sys::openat(
                        target.as_raw_fd(),
                        c".",
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                        0,
                    )
                })
                .transpose()
                .ctx("tmpcopyup: open the directory under the tmpfs")?;
            let mut flags = opts.flags;
            if kind == "mqueue" && ctx.userns {
                // mqueue cannot be mounted in a user namespace without its IPC ns owner
                // rights; fall back to a bind of the host's, as runc does.
                flags &= !libc::MS_RDONLY;
            }
            let mounted = sys::mount(
                Some(&src),
                &fd_path(&target),
                Some(&cstr(kind).ctx("type")?),
                flags,
                data_c.as_deref(),
            );
            // A devpts gid= the user namespace does not map (a rootless user
            // with its own ID alone): without it, as runc retries.
            let mounted = match mounted {
                Err(e) if kind == "devpts" && ctx.userns && data.contains("gid=") => {
                    let no_gid: Vec<&str> =
                        data.split(',').filter(|o| !o.starts_with("gid=")).collect();
                    let d = cstr(&no_gid.join(",")).ctx("options")?;
                    sys::mount(
                        Some(&src),
                        &fd_path(&target),
                        Some(&cstr(kind).ctx("type")?),
                        flags,
                        Some(&d),
                    )
                    .map_err(|_| e)
                }
                r => r,
            };
            mounted.or_else(|e| fallback_for_userns(ctx, kind, &target, e))?;
            if let Some(below) = below {
                let above = root
                    .open_in(dest, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
                    .with(|| format!("tmpcopyup: open the tmpfs on {dest}"))?;
                let path = |fd: &OwnedFd| {
                    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                };
                copy_up(&path(&below), &path(&above))
                    .with(|| format!("tmpcopyup: copy into the tmpfs on {dest}"))?;
            }
            finish(root, dest, &opts)
        }
    }
}

/// Copies the tree under `from` into the directory `to`: directories, files,
/// symlinks (never followed) with their modes and owners.
fn copy_up(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown, symlink};
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let md = std::fs::symlink_metadata(&src)?;
        let ft = md.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_up(&src, &dst)?;
        } else if ft.is_symlink() {
            symlink(std::fs::read_link(&src)?, &dst)?;
        } else if ft.is_file() {
            std::fs::copy(&src, &dst)?;
        } else {
            // Devices, fifos and sockets are not copied up (as runc).
            continue;
        }
        lchown(&dst, Some(md.uid()), Some(md.gid()))?;
        if !ft.is_symlink() {
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
        }
    }
    Ok(())
}

fn data_with_label(spec: &Spec, data: &str, kind: &str) -> String {
    match spec.linux().mount_label.as_deref() {
        Some(label)
            if !label.is_empty()
                && matches!(kind, "tmpfs" | "mqueue" | "devpts" | "shm")
                && selinux_enabled() =>
        {
            let ctx = format!("context=\"{label}\"");
            if data.is_empty() {
                ctx
            } else {
                format!("{data},{ctx}")
            }
        }
        _ => data.to_string(),
    }
}

fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

fn fallback_for_userns(
    ctx: &MountContext,
    kind: &str,
    target: &OwnedFd,
    e: std::io::Error,
) -> Result<()> {
    // sysfs and mqueue cannot be mounted fresh in a user namespace that does not own
    // the net/ipc namespace; bind the host's instead, as runc and crun do.
    if ctx.userns && matches!(kind, "sysfs" | "mqueue") && e.raw_os_error() == Some(libc::EPERM) {
        let src = if kind == "sysfs" {
            c"/sys"
        } else {
            c"/dev/mqueue"
        };
        return sys::mount(
            Some(src),
            &fd_path(target),
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .ctx("bind host's instead");
    }
    Err(Error(crate::error::describe_io(&e)))
}

/// proc and sysfs must land on a real directory: an image whose /proc is a symlink
/// could otherwise aim the mount somewhere it must not go.
fn refuse_non_directory(root: &Rootfs, dest: &str) -> Result<()> {
    match root.open_in(dest, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => {
            let st = sys::fstat(fd.as_raw_fd()).ctx("stat")?;
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                bail!(
                    "{dest} in the rootfs is a symlink or not a directory: {dest} must be mounted on ordinary directory"
                );
            }
            Ok(())
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(e).with(|| format!("open {dest} in the rootfs")),
    }
}

fn bind_mount(
    ctx: &MountContext,
    root: &Rootfs,
    m: &Mount,
    opts: &MountFlags,
    idmap: Option<&OwnedFd>,
) -> Result<()> {
    let source = m.source.as_deref().ok_or("bind mount without a source")?;
    let meta = std::fs::metadata(source).with(|| format!("bind source {source}"))?;
    let target = root.ensure_target(&m.destination, meta.is_dir())?;
    let src = cstr(source).ctx(source)?;
    if let Some(ns) = idmap {
        crate::idmap::idmapped_bind(ns, &src, &target, opts)?;
    } else {
        let rec = if opts.recursive_bind { libc::MS_REC } else { 0 };
        sys::mount(
            Some(&src),
            &fd_path(&target),
            None,
            libc::MS_BIND | rec,
            None,
        )
        .ctx("bind")?;
    }
    let remount = opts.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    if remount != 0 {
        let top = root.open_in(&m.destination, libc::O_PATH).ctx("reopen")?;
        let path = fd_path(&top);
        // In a user namespace the flags the host locked must be kept on remount.
        let locked = if ctx.userns { locked_flags(&path) } else { 0 };
        sys::mount(
            None,
            &path,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | remount | locked,
            None,
        )
        .ctx("remount with options")?;
    }
    finish(root, &m.destination, opts)
}

fn locked_flags(path: &CString) -> libc::c_ulong {
    let f = sys::statvfs_flags(path).unwrap_or(0);
    (f & (libc::ST_NOSUID
        | libc::ST_NODEV
        | libc::ST_NOEXEC
        | libc::ST_NOATIME
        | libc::ST_NODIRATIME
        | libc::ST_RELATIME)) as libc::c_ulong
}

/// Propagation and recursive (`r*`) attributes, applied once the mount exists.
fn finish(root: &Rootfs, dest: &str, opts: &MountFlags) -> Result<()> {
    if opts.propagation.is_empty() && opts.attr_set == 0 && opts.attr_clr == 0 {
        return Ok(());
    }
    let top = root.open_in(dest, libc::O_PATH).ctx("reopen")?;
    let path = fd_path(&top);
    for p in &opts.propagation {
        sys::mount(None, &path, None, *p, None).ctx("set propagation")?;
    }
    if opts.attr_set != 0 || opts.attr_clr != 0 {
        sys::mount_setattr(
            top.as_raw_fd(),
            c"",
            true,
            opts.attr_set,
            opts.attr_clr,
            None,
        )
        .ctx("set recursive mount attributes")?;
    }
    Ok(())
}

/// A cgroup mount: on a v2-only host the cgroup2 filesystem (scoped by the cgroup
/// namespace) or a bind of the container's cgroup; on v1 and hybrid hosts a tmpfs
/// holding a bind of the container's directory in each hierarchy.
fn mount_cgroup(
    ctx: &MountContext,
    root: &Rootfs,
    m: &Mount,
    opts: &MountFlags,
    kind: &str,
) -> Result<()> {
    let dest = &m.destination;
    let target = root.ensure_target(dest, true)?;
    let ro = opts.flags & libc::MS_RDONLY;
    let base = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if ctx.cgroup.is_unified() || kind == "cgroup2" {
        let dir = ctx
            .cgroup
            .dirs
            .iter()
            .find(|d| d.v2)
            .ok_or("no cgroup2 hierarchy on this host")?;
        if ctx.cgroupns {
            sys::mount(
                Some(c"cgroup2"),
                &fd_path(&target),
                Some(c"cgroup2"),
                base | ro,
                None,
            )
            .ctx("cgroup2")?;
        } else {
            let src = cstr(&dir.path.to_string_lossy()).ctx("cgroup")?;
            sys::mount(
                Some(&src),
                &fd_path(&target),
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .ctx("bind cgroup")?;
            if ro != 0 {
                let top = root.open_in(dest, libc::O_PATH).ctx("reopen")?;
                sys::mount(
                    None,
                    &fd_path(&top),
                    None,
                    libc::MS_BIND | libc::MS_REMOUNT | base | ro,
                    None,
                )
                .ctx("remount cgroup read-only")?;
            }
        }
        return Ok(());
    }
    sys::mount(
        Some(c"tmpfs"),
        &fd_path(&target),
        Some(c"tmpfs"),
        base,
        Some(c"mode=755"),
    )
    .ctx("tmpfs")?;
    for d in &ctx.cgroup.dirs {
        let name = if d.v2 {
            "unified".to_string()
        } else {
            d.controllers.trim_start_matches("name=").to_string()
        };
        let sub = format!("{}/{}", dest.trim_end_matches('/'), name);
        let t = root.mkdir_all(&sub)?;
        let src = cstr(&d.path.to_string_lossy()).ctx("cgroup")?;
        sys::mount(
            Some(&src),
            &fd_path(&t),
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .with(|| format!("bind cgroup {}", d.path.display()))?;
        let top = root.open_in(&sub, libc::O_PATH).ctx("reopen")?;
        sys::mount(
            None,
            &fd_path(&top),
            None,
            libc::MS_BIND | libc::MS_REMOUNT | base | ro,
            None,
        )
        .with(|| format!("remount cgroup {name}"))?;
        // cpu,cpuacct is also reachable as cpu and cpuacct.
        if name.contains(',') {
            let dir_fd = root
                .open_in(dest, libc::O_PATH | libc::O_DIRECTORY)
                .ctx("reopen")?;
            for single in name.split(',') {
                let _ = sys::symlinkat(
                    &cstr(&name).ctx("link")?,
                    dir_fd.as_raw_fd(),
                    &cstr(single).ctx("link")?,
                );
            }
        }
    }
    if ro != 0 {
        let top = root.open_in(dest, libc::O_PATH).ctx("reopen")?;
        sys::mount(
            None,
            &fd_path(&top),
            None,
            libc::MS_REMOUNT | base | ro,
            Some(c"mode=755"),
        )
        .ctx("remount cgroup tmpfs read-only")?;
    }
    Ok(())
}

/// The devices every container has, before the spec's own.
fn default_devices() -> Vec<Device> {
    [
        ("null", 3),
        ("zero", 5),
        ("full", 7),
        ("random", 8),
        ("urandom", 9),
    ]
    .iter()
    .map(|(n, minor)| Device {
        kind: "c".into(),
        path: format!("/dev/{n}"),
        major: 1,
        minor: *minor,
        file_mode: Some(0o666),
        uid: Some(0),
        gid: Some(0),
    })
    .chain(std::iter::once(Device {
        kind: "c".into(),
        path: "/dev/tty".into(),
        major: 5,
        minor: 0,
        file_mode: Some(0o666),
        uid: Some(0),
        gid: Some(0),
    }))
    .collect()
}

fn create_devices(ctx: &MountContext, root: &Rootfs) -> Result<()> {
    let mut devices = default_devices();
    for d in &ctx.spec.linux().devices {
        devices.retain(|x| x.path != d.path);
        devices.push(d.clone());
    }
    for d in &devices {
        create_device(ctx, root, d).with(|| format!("create device {}", d.path))?;
    }
    Ok(())
}

fn create_device(ctx: &MountContext, root: &Rootfs, d: &Device) -> Result<()> {
    if !d.path.starts_with("/dev/") || d.path.split('/').any(|c| c == "..") {
        bail!("device path must be under /dev");
    }
    let (parent, name) = split_parent(&d.path);
    let pfd = root.mkdir_all(parent)?;
    let cname = cstr(name).ctx("name")?;
    if ctx.userns {
        // mknod is not allowed in a user namespace: bind the host's node instead.
        let t = root.ensure_target(&d.path, false)?;
        let src = cstr(&d.path).ctx("path")?;
        return sys::mount(Some(&src), &fd_path(&t), None, libc::MS_BIND, None)
            .ctx("bind host device");
    }
    let kind = match d.kind.as_str() {
        "c" | "u" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        other => bail!("device type {other:?}: not c, u, b or p"),
    };
    let perm = d.file_mode.unwrap_or(0o666) & 0o7777;
    // Replace whatever the image had there (a file, a stale node), never following it.
    // SAFETY-free: unlinkat through std is not fd-relative, so use libc's via sys.
    let _ = unlink_at(pfd.as_raw_fd(), &cname);
    sys::mknodat(
        pfd.as_raw_fd(),
        &cname,
        kind | perm,
        sys::makedev(d.major as u64, d.minor as u64),
    )
    .ctx("mknod")?;
    // mknod is subject to the umask; set the mode exactly.
    sys::fchmodat(pfd.as_raw_fd(), &cname, perm).ctx("chmod")?;
    sys::fchownat_nofollow(
        pfd.as_raw_fd(),
        &cname,
        d.uid.unwrap_or(0),
        d.gid.unwrap_or(0),
    )
    .ctx("chown")
}

fn unlink_at(dirfd: i32, name: &std::ffi::CStr) -> std::io::Result<()> {
    crate::sys::unlinkat(dirfd, name)
}

fn dev_links(root: &Rootfs) -> Result<()> {
    let dev = root.mkdir_all("/dev")?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("pts/ptmx", "ptmx"),
    ];
    if std::path::Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        let cname = cstr(name).ctx(name)?;
        if name == "ptmx" {
            let _ = unlink_at(dev.as_raw_fd(), &cname);
        }
        match sys::symlinkat(&cstr(target).ctx(target)?, dev.as_raw_fd(), &cname) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e).with(|| format!("symlink /dev/{name}")),
        }
    }
    Ok(())
}

/// Binds the terminal's peer onto /dev/console.
pub fn bind_console(root: &Rootfs, pty_peer: &OwnedFd) -> Result<()> {
    let t = root.ensure_target("/dev/console", false)?;
    sys::mount(
        Some(&fd_path(pty_peer)),
        &fd_path(&t),
        None,
        libc::MS_BIND,
        None,
    )
    .ctx("bind /dev/console")
}

/// pivot_root into the rootfs and drop the old root; with `no_pivot`, MS_MOVE and chroot.
pub fn enter(root: &Rootfs, no_pivot: bool) -> Result<()> {
    sys::fchdir(root.fd.as_raw_fd()).ctx("chdir to rootfs")?;
    if no_pivot {
        sys::mount(Some(c"."), c"/", None, libc::MS_MOVE, None).ctx("move rootfs to /")?;
        sys::chroot(c".").ctx("chroot")?;
    } else {
        // pivot_root(".", ".") stacks the old root on top of the new one; detaching
        // it (after making it slave so the unmount does not reach the host) leaves
        // the new root alone, with no directory needed for the old one.
        sys::pivot_root(c".", c".").ctx("pivot_root")?;
        sys::mount(None, c".", None, libc::MS_SLAVE | libc::MS_REC, None)
            .ctx("make old root slave")?;
        sys::umount2(c".", libc::MNT_DETACH).ctx("detach old root")?;
    }
    std::env::set_current_dir("/").ctx("chdir /")
}

/// After pivot: /dev/null, verified by fd to be the real 1:3 node before anything is
/// masked with it (the 2025 runc /dev/null races).
fn open_dev_null() -> Result<OwnedFd> {
    let fd = sys::openat(
        libc::AT_FDCWD,
        c"/dev/null",
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
    )
    .ctx("open /dev/null")?;
    let st = sys::fstat(fd.as_raw_fd()).ctx("stat /dev/null")?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != sys::makedev(1, 3) {
        bail!("/dev/null in the container is not the null device; refusing to mask with it");
    }
    Ok(fd)
}

/// Hides maskedPaths: /dev/null over files, an empty read-only tmpfs over directories.
pub fn mask_paths(paths: &[String]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let root = Rootfs::open("/")?;
    let null = open_dev_null()?;
    for p in paths {
        let fd = match root.open_in(p, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e).with(|| format!("open masked path {p}")),
        };
        let st = sys::fstat(fd.as_raw_fd()).ctx(p)?;
        let r = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            sys::mount(
                Some(c"tmpfs"),
                &fd_path(&fd),
                Some(c"tmpfs"),
                libc::MS_RDONLY,
                None,
            )
        } else if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            continue;
        } else {
            sys::mount(
                Some(&fd_path(&null)),
                &fd_path(&fd),
                None,
                libc::MS_BIND,
                None,
            )
        };
        r.with(|| format!("mask {p}"))?;
    }
    Ok(())
}

/// Makes readonlyPaths read-only bind mounts of themselves.
pub fn readonly_paths(paths: &[String], userns: bool) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let root = Rootfs::open("/")?;
    for p in paths {
        let fd = match root.open_in(p, libc::O_PATH) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e).with(|| format!("open read-only path {p}")),
        };
        let path = fd_path(&fd);
        sys::mount(Some(&path), &path, None, libc::MS_BIND | libc::MS_REC, None)
            .with(|| format!("bind {p}"))?;
        let top = root.open_in(p, libc::O_PATH).ctx(p.as_str())?;
        let tp = fd_path(&top);
        let locked = if userns { locked_flags(&tp) } else { 0 };
        let flags = libc::MS_BIND
            | libc::MS_REMOUNT
            | libc::MS_RDONLY
            | libc::MS_NOSUID
            | libc::MS_NODEV
            | libc::MS_NOEXEC
            | locked;
        sys::mount(None, &tp, None, flags, None).with(|| format!("make {p} read-only"))?;
    }
    Ok(())
}

/// root.readonly: remount / read-only once everything is mounted.
pub fn readonly_root(userns: bool) -> Result<()> {
    let locked = if userns {
        locked_flags(&CString::from(c"/"))
    } else {
        0
    };
    sys::mount(
        None,
        c"/",
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked,
        None,
    )
    .ctx("remount / read-only")
}

/// Writes a file under /proc, refusing if the path crosses a mount or a symlink, or
/// does not end on procfs (so a bind mount planted over it cannot redirect the write).
pub fn write_proc(rel: &str, value: &str) -> Result<()> {
    let proc_fd = sys::openat(
        libc::AT_FDCWD,
        c"/proc",
        libc::O_PATH | libc::O_DIRECTORY,
        0,
    )
    .ctx("open /proc")?;
    if sys::fstatfs_type(proc_fd.as_raw_fd()).ctx("statfs /proc")? != PROC_SUPER_MAGIC {
        bail!("/proc is not procfs");
    }
    const RESOLVE_NO_XDEV: u64 = 0x01;
    let fd = sys::openat2(
        proc_fd.as_raw_fd(),
        &cstr(rel).ctx(rel)?,
        libc::O_WRONLY,
        0,
        RESOLVE_NO_XDEV | sys::RESOLVE_NO_MAGICLINKS | sys::RESOLVE_NO_SYMLINKS,
    )
    .with(|| format!("open /proc/{rel}"))?;
    if sys::fstatfs_type(fd.as_raw_fd()).ctx(rel)? != PROC_SUPER_MAGIC {
        bail!("/proc/{rel} is not on procfs");
    }
    let mut f = std::fs::File::from(fd);
    std::io::Write::write_all(&mut f, value.as_bytes()).with(|| format!("write /proc/{rel}"))
}

/// linux.sysctl: each key written under /proc/sys.
pub fn apply_sysctl(spec: &Spec) -> Result<()> {
    for (k, v) in &spec.linux().sysctl {
        if k.contains('/') && k.contains('.')
            || k.split(['.', '/']).any(|c| c == ".." || c.is_empty())
        {
            bail!("sysctl {k:?}: not a valid key");
        }
        write_proc(&format!("sys/{}", k.replace('.', "/")), v).with(|| format!("sysctl {k}"))?;
    }
    Ok(())
}
