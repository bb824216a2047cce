//! What a container gets mounted besides its image: `-v`/`--volume` bind mounts
//! and named volumes, `--tmpfs`, and the files podman generates for each
//! container (/etc/hosts, /etc/hostname, /etc/resolv.conf, /run/.containerenv).

use std::path::{Component, Path, PathBuf};

use berth_runtime::spec::Mount;
use berth_storage::Store;

use crate::container::Info;

fn bind(dest: &str, source: &Path, ro: bool) -> Mount {
    bind_with(dest, source, ro, &[])
}

fn bind_with(dest: &str, source: &Path, ro: bool, flags: &[&str]) -> Mount {
    let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
    if ro {
        options.push("ro".into());
    }
    options.extend(flags.iter().map(|f| f.to_string()));
    Mount {
        destination: dest.into(),
        kind: Some("bind".into()),
        source: Some(source.to_string_lossy().into_owned()),
        options,
        ..Default::default()
    }
}

/// A destination inside the container: absolute, without `..`.
fn check_dest(dest: &str, flag: &'static str) -> Result<(), VolumeError> {
    let p = Path::new(dest);
    if !p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        return Err(VolumeError::Destination {
            flag,
            destination: dest.to_string(),
        });
    }
    Ok(())
}

pub mod named;
mod spec;

use named::valid_name as valid_volume_name;
pub use named::{VolumeError, VolumeInspect, data_dir as volume_dir};
pub use spec::{
    ImageMountSpec, ImageVolumeMode, InvalidMount, MountFlag, TmpfsSpec, VolumeSource, VolumeSpec,
    absolute_source,
};

/// A `-v` as a bind mount: of its host path, or of its named volume's data
/// (made on first use).
pub fn volume_mount(store: &Store, v: &VolumeSpec) -> Result<Mount, VolumeError> {
    if v.overlay() {
        return Err(VolumeError::OverlayNotServed(v.to_string()));
    }
    let source = match &v.source {
        VolumeSource::Host(p) => {
            std::fs::metadata(p).map_err(|e| VolumeError::HostPath {
                spec: v.to_string(),
                source_path: p.display().to_string(),
                source: e,
            })?;
            p.clone()
        }
        VolumeSource::Named(n) => match named::backing(store, n)? {
            named::Backing::Directory(d) | named::Backing::Bind(d) => d,
            named::Backing::Tmpfs(options) => {
                return Ok(tmpfs_mount(&TmpfsSpec {
                    destination: v.destination.clone(),
                    options,
                }));
            }
        },
        // Named when the container was made; one left is a record's fault.
        VolumeSource::Anonymous => return Err(VolumeError::InvalidSpec(v.to_string())),
    };
    let flags: Vec<&str> = v.flags().collect();
    Ok(bind_with(&v.destination, &source, v.read_only(), &flags))
}

/// Host paths `:U` never takes over (podman refuses the same): the system's
/// own directories and the user's home.
fn dangerous(p: &Path) -> bool {
    const SYSTEM: [&str; 22] = [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/etc/passwd",
        "/etc/shadow",
        "/home",
        "/lib",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
    ];
    SYSTEM.iter().any(|s| p == Path::new(s))
        || std::env::var_os("HOME").is_some_and(|h| p == Path::new(&h))
}

/// `-v …:U`: the source and what it holds become `owner`'s (host IDs), as
/// podman does it: only when the source itself is someone else's, so a file
/// given another owner later keeps it across restarts. The tree is walked by
/// descriptor, never through a link (one swapped in meanwhile included) and
/// never into another filesystem mounted below it.
pub fn chown_source(store: &Store, v: &VolumeSpec, owner: (u32, u32)) -> Result<(), VolumeError> {
    let Some(src) = host_source(store, v) else {
        return Ok(());
    };
    let err = |p: &Path, e: std::io::Error| VolumeError::HostPath {
        spec: v.to_string(),
        source_path: p.display().to_string(),
        source: e,
    };
    let real = std::fs::canonicalize(&src).map_err(|e| err(&src, e))?;
    if dangerous(&real) {
        return Err(err(
            &src,
            std::io::Error::other("refusing to change the owner of a system directory (:U)"),
        ));
    }
    let top =
        crate::sys::open_nofollow(None, real.as_os_str(), libc::O_RDONLY | libc::O_NONBLOCK, 0)
            .map_err(|e| err(&real, e))?;
    let st = crate::sys::fstat(&top).map_err(|e| err(&real, e))?;
    if (st.st_uid, st.st_gid) == owner {
        return Ok(());
    }
    crate::sys::fchown(&top, owner.0, owner.1).map_err(|e| err(&real, e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Ok(());
    }
    let mut todo = vec![(top, real)];
    while let Some((dir, path)) = todo.pop() {
        let names: Vec<std::ffi::OsString> = std::fs::read_dir(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&dir)
        ))
        .map_err(|e| err(&path, e))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
        for name in names {
            let here = path.join(&name);
            let Ok(m) = crate::sys::lstat_at(&dir, &name) else {
                continue; // gone meanwhile
            };
            crate::sys::lchown_at(&dir, &name, owner.0, owner.1).map_err(|e| err(&here, e))?;
            if m.st_mode & libc::S_IFMT == libc::S_IFDIR && m.st_dev == st.st_dev {
                let flags = libc::O_RDONLY | libc::O_DIRECTORY;
                if let Ok(child) = crate::sys::open_nofollow(Some(&dir), &name, flags, 0) {
                    todo.push((child, here));
                }
            }
        }
    }
    Ok(())
}

/// Where a `-v`'s data is on the host, without making anything.
pub fn host_source(store: &Store, v: &VolumeSpec) -> Option<PathBuf> {
    match &v.source {
        VolumeSource::Host(p) => Some(p.clone()),
        VolumeSource::Named(n) => named::host_path(store, n),
        VolumeSource::Anonymous => None,
    }
}

/// The image's VOLUMEs that no `-v`, `--mount` or `--tmpfs` covers, each as a
/// new anonymous volume; returns the specs and the names.
pub fn anonymous_for_image(
    config: &serde_json::Value,
    taken: &[String],
) -> (Vec<VolumeSpec>, Vec<String>) {
    let mut specs = Vec::new();
    let mut names = Vec::new();
    for dest in config["Volumes"]
        .as_object()
        .into_iter()
        .flat_map(|v| v.keys())
    {
        // A relative VOLUME is under / (docker's and podman's reading of
        // `VOLUME ['/a', '/b']`, which is words, not JSON: `/[/a,`, `/b]`).
        let dest = match dest.trim_end_matches('/') {
            d if d.starts_with('/') => d.to_string(),
            d => format!("/{d}"),
        };
        let dest = dest.as_str();
        if dest == "/" || check_dest(dest, "VOLUME").is_err() || taken.iter().any(|t| t == dest) {
            continue;
        }
        let name = random_name();
        specs.push(VolumeSpec {
            source: VolumeSource::Named(name.clone()),
            destination: dest.to_string(),
            options: Vec::new(),
        });
        names.push(name);
    }
    (specs, names)
}

/// `-v /DEST` (no source): a new anonymous volume there; the new names are
/// returned too. Other specs are kept as they are.
pub fn anonymous_for_flags(specs: &[VolumeSpec]) -> (Vec<VolumeSpec>, Vec<String>) {
    let mut names = Vec::new();
    let out = specs
        .iter()
        .map(|v| {
            let mut v = v.clone();
            if v.source == VolumeSource::Anonymous {
                let name = random_name();
                v.source = VolumeSource::Named(name.clone());
                names.push(name);
            }
            v
        })
        .collect();
    (out, names)
}

/// 64 hex digits, as podman names anonymous volumes.
fn random_name() -> String {
    use std::io::Read;
    let mut b = [0u8; 32];
    let got = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if got.is_err() {
        // Not random, but unique enough for a name: time and pid.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b[..16].copy_from_slice(&t.to_le_bytes());
        b[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The container path of each `-v`/`--tmpfs` mount.
pub fn destinations(volumes: &[VolumeSpec], tmpfs: &[TmpfsSpec]) -> Vec<String> {
    let v = volumes.iter().map(|v| v.destination.clone());
    v.chain(tmpfs.iter().map(|t| t.destination.clone()))
        .collect()
}

/// Two mounts on one destination would hide one another: refused, as podman
/// refuses them.
pub fn check_unique_destinations(
    volumes: &[VolumeSpec],
    tmpfs: &[TmpfsSpec],
) -> Result<(), VolumeError> {
    let mut seen = std::collections::HashSet::new();
    for d in destinations(volumes, tmpfs) {
        if !seen.insert(d.clone()) {
            return Err(VolumeError::DuplicateDestination(d));
        }
    }
    Ok(())
}

/// A named volume's first use: what the image holds at the mount's path is
/// copied in (podman's copy-up), read inside the container's root and written
/// by the layer extractor, so the image's symlinks cannot point it elsewhere.
///
/// An empty volume the image has nothing for goes, on that first use, to
/// `owner`: the host IDs of the container's user (podman's NeedsChown), who
/// could not write it otherwise.
pub fn copy_up(
    store: &Store,
    rootfs: &Path,
    v: &VolumeSpec,
    owner: (u32, u32),
) -> Result<(), VolumeError> {
    let (Some(name), dest) = (v.name(), &v.destination) else {
        return Ok(());
    };
    let first_use = named::mark_used(store, name);
    // A bind or tmpfs volume holds what it holds.
    if !matches!(named::backing(store, name)?, named::Backing::Directory(_)) {
        return Ok(());
    }
    let data = volume_dir(store, name);
    let marker = data.with_file_name("copied-up");
    if marker.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(&data)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true);
    let rel: PathBuf = Path::new(dest)
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    if empty && berth_storage::archive::is_dir_in_root(rootfs, &rel) {
        let io = VolumeError::io(name);
        std::fs::create_dir_all(&data).map_err(&io)?;
        let (r, mut w) = std::io::pipe().map_err(&io)?;
        std::thread::scope(|s| {
            let reader = s.spawn(move || {
                let mut opts = berth_storage::archive::ApplyOptions::new(
                    berth_storage::archive::WhiteoutMode::Literal,
                );
                opts.sync = false;
                berth_storage::archive::apply_layer(r, &data, &opts, None).map(drop)
            });
            let wrote = berth_storage::archive::tar_in_root(rootfs, &rel, "", &mut w);
            drop(w);
            let applied = reader.join().expect("copy-up thread");
            wrote.map(drop).map_err(|source| VolumeError::CopyUpRead {
                name: name.to_string(),
                destination: dest.to_string(),
                source: Box::new(source),
            })?;
            applied.map_err(|source| VolumeError::CopyUpWrite {
                name: name.to_string(),
                source: Box::new(source),
            })
        })?;
        // The volume's root takes the owner and mode of the image's directory.
        if let Some(src) = berth_storage::archive::resolve_in_root(rootfs, &rel)
            && let Ok(md) = std::fs::symlink_metadata(rootfs.join(src))
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let data = volume_dir(store, name);
            std::os::unix::fs::chown(&data, Some(md.uid()), Some(md.gid()))
                .map_err(VolumeError::io(name))?;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(md.mode() & 0o7777))
                .map_err(VolumeError::io(name))?;
        }
        // Copied once: podman's NeedsCopyUp turns false.
        std::fs::write(&marker, b"").map_err(VolumeError::io(name))?;
    } else if first_use {
        // -o uid=/gid= name the owner themselves: never the container's user.
        let (owner, given) = match named::option_owner(store, name) {
            Some(o) => (o, true),
            None => (owner, false),
        };
        if empty || given {
            std::os::unix::fs::chown(&data, Some(owner.0), Some(owner.1))
                .map_err(VolumeError::io(name))?;
        }
    }
    Ok(())
}

/// Removes a container's anonymous volumes.
pub fn remove_anonymous(store: &Store, names: &[String]) {
    for n in names.iter().filter(|n| valid_volume_name(n)) {
        if let Some(dir) = volume_dir(store, n).parent()
            && std::fs::remove_dir_all(dir).is_ok()
        {
            crate::events::volume(store, "remove", n);
        }
    }
}

/// A `--tmpfs` mount, nosuid and nodev unless its options say otherwise;
/// what the image has at its destination is copied into it (podman's
/// tmpcopyup) unless `notmpcopyup`.
pub fn tmpfs_mount(t: &TmpfsSpec) -> Mount {
    let mut options: Vec<String> = vec!["nosuid".into(), "nodev".into()];
    options.extend(t.options.iter().filter(|o| *o != "notmpcopyup").cloned());
    if !t
        .options
        .iter()
        .any(|o| o == "notmpcopyup" || o == "tmpcopyup")
    {
        options.push("tmpcopyup".into());
    }
    Mount {
        destination: t.destination.clone(),
        kind: Some("tmpfs".into()),
        source: Some("tmpfs".into()),
        options,
        ..Default::default()
    }
}

/// Writes the container's /etc/hosts, /etc/hostname, /etc/resolv.conf and
/// /run/.containerenv into `userdata`; returns their bind mounts.
pub fn generated_files(
    info: &Info,
    userdata: &Path,
    hostname: &str,
    members: &[(String, String)],
    net: Option<&crate::network::Attachment>,
) -> Result<Vec<Mount>, VolumeError> {
    let p = &info.config.process;
    let host_net = p.network == crate::network::NetworkMode::Host;
    let mut hosts = if host_net {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        format!(
            "127.0.0.1 localhost localhost.localdomain localhost4 localhost4.localdomain4\n\
             ::1 localhost localhost.localdomain localhost6 localhost6.localdomain6\n\
             {}\t{hostname} {}\n",
            net.and_then(|a| a.address.as_deref())
                .unwrap_or("127.0.1.1"),
            info.name()
        )
    };
    for h in &p.add_hosts {
        let (name, addr) = h
            .split_once(':')
            .ok_or_else(|| VolumeError::InvalidAddHost(h.clone()))?;
        addr.parse::<std::net::IpAddr>()
            .map_err(|_| VolumeError::AddHostAddress {
                spec: h.clone(),
                address: addr.to_string(),
            })?;
        hosts.push_str(&format!("{addr}\t{name}\n"));
    }
    // As podman's: the host by a name, where the container reaches it.
    if let Some(gw) = net.and_then(|a| a.gateway.as_deref()) {
        hosts.push_str(&format!("{gw}\thost.containers.internal\n"));
    }
    if !members.is_empty() {
        hosts.push_str(&network_section(members));
    }
    let (net_dns, search) = net.map_or((&[][..], &[][..]), |a| (&a.dns[..], &a.search[..]));
    let search: Vec<String> = if p.dns_search.is_empty() {
        search.to_vec()
    } else {
        p.dns_search.clone()
    };
    let resolv = resolv_conf(&p.dns, host_net, net_dns, &search, &p.dns_options);
    // podman tells only a privileged container about itself; others get
    // the file (its presence says "in a container") empty.
    let containerenv = if p.privileged {
        format!(
            "engine=\"berth-{}\"\nname=\"{}\"\nid=\"{}\"\nimage=\"{}\"\nimageid=\"{}\"\nrootless={}\n",
            env!("CARGO_PKG_VERSION"),
            info.name(),
            info.id,
            info.config.image_name,
            info.config.image_id,
            u8::from(berth_runtime::userns::rootless_uid().is_some())
        )
    } else {
        String::new()
    };
    let files = [
        ("hosts", "/etc/hosts", hosts),
        ("hostname", "/etc/hostname", format!("{hostname}\n")),
        ("resolv.conf", "/etc/resolv.conf", resolv),
        (".containerenv", "/run/.containerenv", containerenv),
    ];
    let mut mounts = Vec::new();
    for (file, dest, text) in files {
        // --no-hosts: the image's own /etc/hosts stays.
        if p.no_hosts && file == "hosts" {
            continue;
        }
        let path = userdata.join(file);
        std::fs::write(&path, text).map_err(|source| VolumeError::GeneratedFile {
            path: path.clone(),
            source,
        })?;
        mounts.push(bind(dest, &path, false));
    }
    Ok(mounts)
}

/// The hostname a container was given (its generated /etc/hostname), or "".
pub fn hostname_of(userdata: &Path) -> String {
    std::fs::read_to_string(userdata.join("hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A container in another's network namespace sees that one's /etc/hosts and
/// resolv.conf (`donor` is its userdata directory); its `names` (hostname,
/// name) on 127.0.0.1 are added to those hosts before the network section,
/// less those the file names already (podman's: a pod's hostname is there).
/// Files the other never wrote stay this container's own.
pub fn share_network_files(
    mounts: &mut [Mount],
    donor: &Path,
    names: &[&str],
) -> Result<(), VolumeError> {
    let hosts = donor.join("hosts");
    for m in mounts.iter_mut() {
        let file = match m.destination.as_str() {
            "/etc/hosts" => "hosts",
            "/etc/resolv.conf" => "resolv.conf",
            _ => continue,
        };
        if donor.join(file).exists() {
            m.source = Some(donor.join(file).to_string_lossy().into_owned());
        }
    }
    if !hosts.exists() {
        return Ok(());
    }
    edit_hosts(&hosts, |text| {
        let known = |n: &str| {
            text.lines()
                .any(|l| l.split_whitespace().skip(1).any(|m| m == n))
        };
        let fresh: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !n.is_empty() && !known(n))
            .collect();
        if fresh.is_empty() {
            return None;
        }
        let (base, section) = text.split_at(text.find(MEMBERS_MARK).unwrap_or(text.len()));
        Some(format!("{base}127.0.0.1\t{}\n{section}", fresh.join(" ")))
    })
    .map_err(|source| VolumeError::GeneratedFile {
        path: hosts,
        source,
    })
}

/// A member that stops: its 127.0.0.1 line in the shared hosts goes.
pub fn leave_network_files(donor: &Path, name: &str) {
    let _ = edit_hosts(&donor.join("hosts"), |text| {
        let mine = |l: &str| {
            let mut f = l.split_whitespace();
            f.next() == Some("127.0.0.1") && f.any(|n| n == name)
        };
        if !text.lines().any(mine) {
            return None;
        }
        Some(
            text.lines()
                .filter(|l| !mine(l))
                .map(|l| format!("{l}\n"))
                .collect(),
        )
    });
}

/// Rewrites a hosts file in place (it is bind-mounted into running
/// containers: its inode must stay) under an exclusive flock, so that
/// containers starting side by side each keep their line.
fn edit_hosts(path: &Path, edit: impl FnOnce(&str) -> Option<String>) -> std::io::Result<()> {
    use std::io::{Read, Seek, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    berth_storage::lock::flock_exclusive(&f)?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    if let Some(new) = edit(&text) {
        f.seek(std::io::SeekFrom::Start(0))?;
        f.set_len(0)?;
        f.write_all(new.as_bytes())?;
    }
    Ok(())
}

const MEMBERS_MARK: &str = "# berth: containers on the same network\n";

fn network_section(members: &[(String, String)]) -> String {
    let mut s = String::from(MEMBERS_MARK);
    for (ip, name) in members {
        s.push_str(&format!("{ip}\t{name}\n"));
    }
    s
}

/// Rewrites the network section of a container's /etc/hosts in place (the file
/// is bind-mounted into the running container: its inode must stay).
pub fn refresh_hosts(hosts: &Path, members: &[(String, String)]) {
    let _ = edit_hosts(hosts, |text| {
        let base = text.split(MEMBERS_MARK).next().unwrap_or_default();
        Some(base.to_string() + &network_section(members))
    });
}

/// The host's resolv.conf, its nameservers replaced by `--dns` ones when given;
/// loopback nameservers only make sense on the host's network. On a network
/// with DNS, its server (aardvark-dns) is the only one: it answers for the
/// containers and forwards the rest (to `--dns` servers, given to it).
/// The container's resolv.conf: the host's, with the servers given (`--dns`,
/// containers.conf's) or else the network's own in place of its nameservers
/// (those on loopback dropped off the host's network), the search domains
/// first and `options` replaced by those given.
fn resolv_conf(
    dns: &[String],
    host_net: bool,
    net_dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let ours: &[String] = if dns.is_empty() { net_dns } else { dns };
    let mut out: Vec<String> = Vec::new();
    let mut searched = false;
    for l in host.lines() {
        let t = l.trim();
        if let Some(ns) = t.strip_prefix("nameserver") {
            let ns = ns.trim();
            if ours.is_empty() && (host_net || !(ns.starts_with("127.") || ns == "::1")) {
                out.push(l.to_string());
            }
        } else if let Some(rest) = t.strip_prefix("search").filter(|_| !search.is_empty()) {
            out.push(format!("search {} {}", search.join(" "), rest.trim()));
            searched = true;
        } else if t.starts_with("options") && !options.is_empty() {
            continue;
        } else {
            out.push(l.to_string());
        }
    }
    if !search.is_empty() && !searched {
        out.insert(0, format!("search {}", search.join(" ")));
    }
    out.extend(ours.iter().map(|d| format!("nameserver {d}")));
    if !options.is_empty() {
        out.push(format!("options {}", options.join(" ")));
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_and_destinations() {
        let m = tmpfs_mount(&"/scratch:size=1m,mode=1777".parse().unwrap());
        assert_eq!(
            m.options,
            ["nosuid", "nodev", "size=1m", "mode=1777", "tmpcopyup"]
        );
        let m = tmpfs_mount(&"/scratch:notmpcopyup".parse().unwrap());
        assert_eq!(m.options, ["nosuid", "nodev"]);
        assert_eq!(
            "scratch".parse::<TmpfsSpec>().unwrap_err().to_string(),
            "--tmpfs scratch: the container path must be absolute, without \"..\""
        );
        assert!(matches!(
            "/a/../etc".parse::<TmpfsSpec>(),
            Err(VolumeError::Destination {
                flag: "--tmpfs",
                ..
            })
        ));
    }

    #[test]
    fn resolv_conf_drops_loopback_off_the_host_network() {
        let r = resolv_conf(&["192.0.2.1".into()], false, &[], &[], &[]);
        assert!(r.contains("nameserver 192.0.2.1"));
        assert_eq!(r.matches("nameserver").count(), 1, "{r}");
    }

    #[test]
    fn resolv_conf_on_a_dns_network_names_only_its_server() {
        let r = resolv_conf(
            &[],
            false,
            &["10.89.3.1".into()],
            &["dns.podman".into()],
            &[],
        );
        assert_eq!(r.matches("nameserver").count(), 1, "{r}");
        assert!(r.contains("nameserver 10.89.3.1\n"), "{r}");
        assert!(
            r.starts_with("search dns.podman") || r.contains("\nsearch dns.podman"),
            "{r}"
        );
        // Servers given win over the network's own (podman's rule).
        let given = ["192.0.2.1".to_string(), "192.0.2.2".to_string()];
        let r = resolv_conf(
            &given,
            false,
            &["10.89.3.1".into()],
            &[],
            &["ndots:2".into()],
        );
        assert!(
            r.contains("nameserver 192.0.2.1\nnameserver 192.0.2.2\n"),
            "{r}"
        );
        assert!(!r.contains("10.89.3.1"), "{r}");
        assert!(r.ends_with("options ndots:2\n"), "{r}");
        assert_eq!(r.matches("options").count(), 1, "{r}");
    }
}
