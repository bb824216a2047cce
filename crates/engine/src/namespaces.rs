//! `--pid`, `--ipc` and `--uts`: whose namespace a container has, podman's modes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use berth_runtime::spec::{Mount, Spec};
use berth_storage::Store;

use crate::container::{self, Status};
use crate::run::RunError;
use crate::spec::{ProcessOptions, SpecError};

/// A container's pid, ipc or uts namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NsMode {
    /// One of its own that no other container may join.
    #[default]
    Private,
    /// One of its own that others may join (`--ipc shareable`, podman's ipc default).
    Shareable,
    /// The host's.
    Host,
    /// ipc only: one of its own, with no `/dev/shm` at all.
    None,
    /// `container:NAME`: another container's, joined when this one starts.
    Container(String),
}

impl NsMode {
    /// A `--FLAG` value (`flag` is pid, ipc or uts); not given, podman's default:
    /// a shareable IPC namespace, private pid and uts ones.
    pub fn parse(flag: &'static str, value: Option<&str>) -> Result<NsMode, SpecError> {
        let bad = || SpecError::NamespaceMode {
            flag,
            mode: value.unwrap_or_default().to_string(),
        };
        Ok(match value {
            None | Some("") if flag == "ipc" => NsMode::Shareable,
            None | Some("" | "private") => NsMode::Private,
            Some("host") => NsMode::Host,
            Some("shareable") if flag == "ipc" => NsMode::Shareable,
            Some("none") if flag == "ipc" => NsMode::None,
            Some(v) => match v.strip_prefix("container:") {
                Some(c) if !c.is_empty() => NsMode::Container(c.to_string()),
                _ => return Err(bad()),
            },
        })
    }

    /// buildah's `--pid/--ipc/--uts/--cgroupns` (`builder run`, `from`,
    /// `build`): `host` or `private` (empty: private); None when not given.
    /// What else [`NsMode::parse`] takes (another container's, podman's ipc
    /// modes) is refused, as a working container joins no namespace.
    pub fn parse_host_or_private(
        flag: &'static str,
        value: Option<&str>,
    ) -> Result<Option<NsMode>, SpecError> {
        let Some(v) = value.filter(|v| !v.is_empty()) else {
            return Ok(value.map(|_| NsMode::Private));
        };
        match NsMode::parse(flag, Some(v)) {
            Ok(m @ (NsMode::Host | NsMode::Private)) => Ok(Some(m)),
            _ => Err(SpecError::JoinsNoNamespace {
                flag,
                mode: v.to_string(),
            }),
        }
    }

    /// A `--cgroupns` value: host or private (its default).
    pub fn parse_cgroupns(value: Option<&str>) -> Result<NsMode, SpecError> {
        match value {
            None | Some("" | "private") => Ok(NsMode::Private),
            Some("host") => Ok(NsMode::Host),
            Some(v) => Err(SpecError::CgroupNs(v.to_string())),
        }
    }

    pub fn is_host(&self) -> bool {
        *self == NsMode::Host
    }

    /// The container whose namespace is joined.
    pub fn container(&self) -> Option<&str> {
        match self {
            NsMode::Container(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for NsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NsMode::Private => f.write_str("private"),
            NsMode::Shareable => f.write_str("shareable"),
            NsMode::Host => f.write_str("host"),
            NsMode::None => f.write_str("none"),
            NsMode::Container(c) => write!(f, "container:{c}"),
        }
    }
}

impl serde::Serialize for NsMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Stored as its flag's words; a container made before the modes were typed kept
/// `null` (its own namespace), "host" or "none".
impl<'de> serde::Deserialize<'de> for NsMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NsMode, D::Error> {
        let s: Option<String> = serde::Deserialize::deserialize(d)?;
        Ok(match s.as_deref() {
            None | Some("" | "private") => NsMode::Private,
            Some("shareable") => NsMode::Shareable,
            Some("host") => NsMode::Host,
            Some("none") => NsMode::None,
            Some(v) => NsMode::Container(v.strip_prefix("container:").unwrap_or(v).to_string()),
        })
    }
}

/// `--userns`: the modes berth has (the host's, or for a rootless user its own
/// namespace), with podman's words for root and berth's for what is not built.
pub fn check_userns(mode: Option<&str>) -> Result<(), crate::Error> {
    let rootless = berth_runtime::userns::rootless_uid().is_some();
    let refuse = |why: String| Err(crate::Error::InvalidArgument(why));
    match mode {
        None | Some("" | "host") => Ok(()),
        Some(m) if rootless => refuse(format!(
            "--userns {m}: not built yet for rootless containers (the user's own namespace, the default, is)"
        )),
        Some(m @ ("keep-id" | "nomap")) => {
            refuse(format!("{m} is only supported in rootless mode"))
        }
        Some(other) => refuse(format!(
            "--userns {other}: not supported (host is the user namespace as root)"
        )),
    }
}

/// A container's user namespace, as `--userns`, `--uidmap` and `--gidmap` ask.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Userns {
    /// A map of its own, known now.
    pub id_map: Option<berth_storage::idmap::IdMap>,
    /// `auto`: a map the store picks at create.
    pub auto: Option<berth_storage::idmap::AutoRequest>,
    /// `keep-id`: the user it runs as unless `--user` says otherwise (podman's).
    pub user: Option<String>,
    /// `container:NAME`: that container's user namespace, joined.
    pub of: Option<String>,
    /// `keep-id`: the user, named in the container's /etc/passwd if missing.
    pub keep_id: Option<crate::passwd::KeepIdUser>,
}

impl Userns {
    /// Puts it into a container's options; `--user` given wins over keep-id's.
    pub fn apply(self, p: &mut ProcessOptions) {
        p.id_map = self.id_map;
        p.auto_userns = self.auto;
        p.userns_of = self.of;
        p.keep_id = self.keep_id;
        if p.user.is_none() {
            p.user = self.user;
        }
    }
}

/// [`userns`] for a container that may join a pod (`in_pod`): given no mode
/// and no map it takes none of containers.conf's, since a pod member joins
/// its infra container's user namespace, which that default made already.
pub fn userns_of_member(
    mode: Option<&str>,
    uidmap: &[String],
    gidmap: &[String],
    in_pod: bool,
) -> Result<Userns, crate::Error> {
    if in_pod && mode.is_none() && uidmap.is_empty() && gidmap.is_empty() {
        return Ok(Userns::default());
    }
    userns(mode, uidmap, gidmap)
}

/// `--userns MODE` with `--uidmap`/`--gidmap` for a container: podman 4.3's
/// modes and words. `keep-id[:uid=U,gid=G]` and `nomap` are a rootless user's
/// (the user's ID kept, or left out); `auto[:size=N,uidmapping=C:H:S,gidmapping=C:H:S]`
/// works for both, from the IDs of user "containers" in /etc/subuid and
/// /etc/subgid as root, from the user's own namespace rootless.
pub fn userns(
    mode: Option<&str>,
    uidmap: &[String],
    gidmap: &[String],
) -> Result<Userns, crate::Error> {
    let refuse = |why: String| Err(crate::Error::InvalidArgument(why));
    let maps = !uidmap.is_empty() || !gidmap.is_empty();
    if mode.is_some() && maps {
        return refuse(
            "--userns and --uidmap/--gidmap/--subuidname/--subgidname are mutually exclusive"
                .into(),
        );
    }
    let rootless = berth_runtime::userns::rootless_uid().is_some();
    // containers.conf's mode stands for a container given none.
    let conf_mode = match (mode, maps) {
        (None, false) => crate::conf::get().ok().and_then(|c| c.userns.clone()),
        _ => None,
    };
    let mode = mode.or(conf_mode.as_deref());
    let (kind, opts) = match mode {
        Some(m) => m.split_once(':').map_or((m, None), |(k, o)| (k, Some(o))),
        None => ("", None),
    };
    match (kind, opts) {
        ("" | "host", None) => Ok(Userns {
            id_map: id_map(uidmap, gidmap)?,
            ..Default::default()
        }),
        ("keep-id", _) if !rootless => refuse("keep-id is only supported in rootless mode".into()),
        ("nomap", None) if !rootless => refuse("nomap is only supported in rootless mode".into()),
        ("keep-id", o) => {
            let (mut uid, mut gid) = user_ids();
            for (key, val) in options(o)? {
                let n = parse_u32(val)?;
                match key {
                    "uid" => uid = n,
                    "gid" => gid = n,
                    other => return refuse(format!("unknown option specified: {other:?}")),
                }
            }
            let (nu, ng) = own_range_sizes();
            let map = berth_storage::idmap::IdMap {
                uids: keep_id(uid, nu),
                gids: keep_id(gid, ng),
            };
            let host = berth_runtime::userns::rootless_uid().unwrap_or_default();
            Ok(Userns {
                id_map: Some(map),
                user: Some(format!("{uid}:{gid}")),
                keep_id: Some(crate::passwd::KeepIdUser {
                    name: crate::passwd::name_of(host),
                    uid,
                    gid,
                }),
                ..Default::default()
            })
        }
        ("nomap", None) => {
            let (nu, ng) = own_range_sizes();
            if nu == 0 || ng == 0 {
                return refuse(
                    "nomap requires additional UIDs or GIDs defined in /etc/subuid and /etc/subgid to function correctly"
                        .into(),
                );
            }
            let all = |n| {
                vec![berth_storage::idmap::IdRange {
                    container: 0,
                    host: 1,
                    size: n,
                }]
            };
            Ok(Userns {
                id_map: Some(berth_storage::idmap::IdMap {
                    uids: all(nu),
                    gids: all(ng),
                }),
                ..Default::default()
            })
        }
        ("auto", o) => {
            let mut req = berth_storage::idmap::AutoRequest::default();
            for (key, val) in options(o)? {
                match key {
                    "size" => req.size = Some(parse_u32(val)?),
                    "uidmapping" => req.uids.extend(auto_mapping("UID", val)?),
                    "gidmapping" => req.gids.extend(auto_mapping("GID", val)?),
                    other => return refuse(format!("unknown option specified: {other:?}")),
                }
            }
            Ok(Userns {
                auto: Some(req),
                ..Default::default()
            })
        }
        ("container", Some(name)) if !name.is_empty() => Ok(Userns {
            of: Some(name.to_string()),
            ..Default::default()
        }),
        ("private" | "container" | "ns", _) => refuse(format!(
            "--userns {}: not supported yet",
            mode.unwrap_or_default()
        )),
        _ => refuse(format!(
            "unrecognized namespace mode {} passed",
            mode.unwrap_or_default()
        )),
    }
}

/// `KEY=VALUE,...` after a mode's colon, podman's words for what is not.
fn options(o: Option<&str>) -> Result<Vec<(&str, &str)>, crate::Error> {
    o.into_iter()
        .flat_map(|o| o.split(','))
        .map(|kv| {
            kv.split_once('=').ok_or_else(|| {
                crate::Error::InvalidArgument(format!("invalid option specified: {kv:?}"))
            })
        })
        .collect()
}

/// A number as Go's strconv.ParseUint(v, 10, 32) takes it, with its words.
fn parse_u32(v: &str) -> Result<u32, crate::Error> {
    v.parse::<u32>().map_err(|e| {
        let why = if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        crate::Error::InvalidArgument(format!("strconv.ParseUint: parsing {v:?}: {why}"))
    })
}

/// `uidmapping=`/`gidmapping=` of auto: CONTAINER:HOST:SIZE (SIZE 1 when left out).
fn auto_mapping(what: &str, v: &str) -> Result<Vec<berth_storage::idmap::IdRange>, crate::Error> {
    let spec = if v.split(':').count() == 2 {
        format!("{v}:1")
    } else {
        v.to_string()
    };
    ranges("--userns", std::slice::from_ref(&spec)).map_err(|_| {
        crate::Error::InvalidArgument(format!(
            "failed to create ParseUIDMap {what}=[{v}]: initializing ID mappings: {what} setting is malformed expected [\"uint32:uint32:uint32\"]: [{v:?}]"
        ))
    })
}

/// The rootless user's own UID and GID: who its namespace's 0 is outside.
fn user_ids() -> (u32, u32) {
    let outside = |f: &str| {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        text.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "0").then_some(())?;
            w.next()?.parse::<u32>().ok()
        })
    };
    let uid = berth_runtime::userns::rootless_uid().unwrap_or_default();
    (
        outside("/proc/self/uid_map").unwrap_or(uid),
        outside("/proc/self/gid_map").unwrap_or(uid),
    )
}

/// The sizes of the user's subordinate ranges in its namespace (IDs 1..=N
/// there): what the namespace maps besides the user.
fn own_range_sizes() -> (u32, u32) {
    let size = |f: &str| {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let total: u64 = text
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
            .sum();
        u32::try_from(total.saturating_sub(1)).unwrap_or(u32::MAX)
    };
    (size("/proc/self/uid_map"), size("/proc/self/gid_map"))
}

/// podman's keep-id map of one kind: the container's `id` is the user (0 in
/// its namespace), the container's IDs below it the first of its range, those
/// above it the rest.
fn keep_id(id: u32, range: u32) -> Vec<berth_storage::idmap::IdRange> {
    use berth_storage::idmap::IdRange;
    let mut out = Vec::new();
    if range > 0 && id > 0 {
        out.push(IdRange {
            container: 0,
            host: 1,
            size: id.min(range),
        });
    }
    out.push(IdRange {
        container: id,
        host: 0,
        size: 1,
    });
    if range > id {
        out.push(IdRange {
            container: id + 1,
            host: id + 1,
            size: range - id,
        });
    }
    out
}

/// The host IDs a `--userns auto` container may take: user "containers"'s
/// ranges in /etc/subuid and /etc/subgid as root, the user's own range (IDs
/// 1..=N of its namespace) rootless.
pub fn auto_available() -> Result<(IdRanges, IdRanges), crate::Error> {
    if berth_runtime::userns::rootless_uid().is_some() {
        let (u, g) = own_range_sizes();
        let one = |n: u32| if n == 0 { Vec::new() } else { vec![(1, n)] };
        return Ok((one(u), one(g)));
    }
    let read = |f: &str| {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut p = l.trim().split(':');
                let (who, start, count) = (p.next()?, p.next()?, p.next()?);
                (who == AUTO_USER).then_some((start.parse().ok()?, count.parse().ok()?))
            })
            .filter(|&(_, n): &(u32, u32)| n > 0)
            .collect::<Vec<_>>()
    };
    let (u, g) = (read("/etc/subuid"), read("/etc/subgid"));
    if u.is_empty() || g.is_empty() {
        return Err(crate::Error::InvalidArgument(format!(
            "could not find enough available IDs: no ranges for user {AUTO_USER:?} in /etc/subuid and /etc/subgid"
        )));
    }
    Ok((u, g))
}

/// (start, count) ranges of host IDs.
pub type IdRanges = Vec<(u32, u32)>;

/// Whose subordinate IDs `--userns auto` takes as root (containers/storage's
/// default `root-auto-userns-user`).
pub const AUTO_USER: &str = "containers";

/// `--uidmap`/`--gidmap` (podman's CONTAINER:HOST:SIZE, repeatable): a user
/// namespace of the container's own. Without `--gidmap` the groups are mapped
/// as the users are, as podman does. Rootless, HOST is an ID of the user's own
/// namespace (0 the user, 1.. its range), as podman takes it.
pub fn id_map(
    uidmap: &[String],
    gidmap: &[String],
) -> Result<Option<berth_storage::idmap::IdMap>, crate::Error> {
    if uidmap.is_empty() && gidmap.is_empty() {
        return Ok(None);
    }
    let uids = ranges("--uidmap", uidmap)?;
    let gids = if gidmap.is_empty() {
        uids.clone()
    } else {
        ranges("--gidmap", gidmap)?
    };
    let uids = if uidmap.is_empty() {
        gids.clone()
    } else {
        uids
    };
    let map = berth_storage::idmap::IdMap { uids, gids };
    map.check()
        .map_err(|e| crate::Error::InvalidArgument(format!("--uidmap/--gidmap: {e}")))?;
    if berth_runtime::userns::rootless_uid().is_some() {
        let (nu, ng) = own_range_sizes();
        for (what, ranges, n) in [("--uidmap", &map.uids, nu), ("--gidmap", &map.gids, ng)] {
            if let Some(r) = ranges
                .iter()
                .find(|r| u64::from(r.host) + u64::from(r.size) > u64::from(n) + 1)
            {
                return Err(crate::Error::InvalidArgument(format!(
                    "{what} {}:{}:{}: host IDs past {n}, the last of this user's namespace (0 is the user, 1-{n} its /etc/subuid range)",
                    r.container, r.host, r.size
                )));
            }
        }
    }
    Ok(Some(map))
}

/// buildah's `--userns-uid-map`/`--userns-gid-map`: [`id_map`]'s ranges, each
/// value holding one or more CONTAINER:HOST:SIZE triples (chained with `:` or
/// `,`).
/// `0:START:COUNT` for the range `file` (/etc/subuid or /etc/subgid) gives
/// `name` (buildah's `--userns-uid-map-user`, `--userns-gid-map-group`).
pub fn subordinate_map(file: &str, name: &str) -> Result<String, crate::Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| crate::Error::InvalidArgument(format!("{name}: {file}: {e}")))?;
    let id = name.parse().unwrap_or(u32::MAX);
    let (start, count) = berth_runtime::userns::subordinate_range(&text, name, id)
        .ok_or_else(|| crate::Error::InvalidArgument(format!("{name}: no range in {file}")))?;
    Ok(format!("0:{start}:{count}"))
}

pub fn id_map_chained(
    uidmap: &[String],
    gidmap: &[String],
) -> Result<Option<berth_storage::idmap::IdMap>, crate::Error> {
    let split = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .flat_map(|v| v.split(','))
            .flat_map(|v| {
                let parts: Vec<&str> = v.split(':').collect();
                // A count that is not a multiple of three stays whole, for
                // id_map to refuse in its words.
                if parts.len() > 3 && parts.len().is_multiple_of(3) {
                    parts.chunks(3).map(|c| c.join(":")).collect()
                } else {
                    vec![v.to_string()]
                }
            })
            .collect()
    };
    id_map(&split(uidmap), &split(gidmap))
}

fn ranges(
    flag: &str,
    specs: &[String],
) -> Result<Vec<berth_storage::idmap::IdRange>, crate::Error> {
    let bad =
        |s: &str, why: &str| crate::Error::InvalidArgument(format!("invalid {flag} {s:?}: {why}"));
    specs
        .iter()
        .map(|s| {
            let n: Vec<u32> = s
                .split(':')
                .map(|p| {
                    p.parse()
                        .map_err(|_| bad(s, "want CONTAINER:HOST:SIZE, numbers"))
                })
                .collect::<Result<_, _>>()?;
            let [container, host, size] = n[..] else {
                return Err(bad(s, "want CONTAINER:HOST:SIZE"));
            };
            if size == 0
                || container.checked_add(size).is_none()
                || host.checked_add(size).is_none()
            {
                return Err(bad(s, "an empty or overflowing range"));
            }
            Ok(berth_storage::idmap::IdRange {
                container,
                host,
                size,
            })
        })
        .collect()
}

/// The words podman prints when a container would join an IPC namespace its owner
/// keeps private.
pub fn not_shareable(donor: &str) -> String {
    format!(
        "container {donor} is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
    )
}

/// The pid, ipc and uts modes of a container, with the spec's name for each.
fn modes(p: &ProcessOptions) -> [(&'static str, &NsMode); 3] {
    [("pid", &p.pid), ("ipc", &p.ipc), ("uts", &p.uts)]
}

/// At create: each `container:NAME` names a container that exists (kept by its
/// ID, so a rename does not lose it), and an IPC namespace is joined only when
/// its owner made it shareable.
pub fn resolve_donors(store: &Store, p: &mut ProcessOptions) -> Result<(), RunError> {
    if let Some(name) = p.userns_of.clone() {
        // Its root is mapped as the donor's, whose namespace it joins.
        let donor = container::find(store, &name)
            .map_err(|e| RunError::Engine(format!("--userns container:{name}: {e}")))?;
        let Some(map) = donor.config.process.id_map.clone() else {
            return Err(RunError::Engine(format!(
                "--userns container:{name}: that container has no user namespace of its own"
            )));
        };
        p.id_map = Some(map);
        p.userns_of = Some(donor.id);
    }
    for (kind, mode) in [
        ("pid", &mut p.pid),
        ("ipc", &mut p.ipc),
        ("uts", &mut p.uts),
    ] {
        let NsMode::Container(name) = mode else {
            continue;
        };
        let donor = container::find(store, name)
            .map_err(|e| RunError::Engine(format!("--{kind} container:{name}: {e}")))?;
        if kind == "ipc" && donor.config.process.ipc != NsMode::Shareable {
            return Err(RunError::Engine(not_shareable(&donor.id)));
        }
        *name = donor.id;
    }
    Ok(())
}

/// Where a shareable IPC namespace's /dev/shm lives, on the host, so that the
/// containers joining it share its files too (podman keeps it there as well).
pub fn shm_dir(store: &Store, id: &str) -> PathBuf {
    container::userdata(store, id).join("shm")
}

/// When the container is done: its host-side /dev/shm goes.
pub fn release_shm(store: &Store, id: &str) {
    crate::sys::unmount(&shm_dir(store, id));
}

/// Replaces the spec's own /dev/shm with a bind of `source`.
fn bind_shm(spec: &mut Spec, source: &Path) {
    spec.mounts.retain(|m| m.destination != "/dev/shm");
    spec.mounts.push(Mount {
        destination: "/dev/shm".into(),
        kind: Some("bind".into()),
        source: Some(source.to_string_lossy().into_owned()),
        options: ["rbind", "nosuid", "noexec", "nodev"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    });
}

/// A shareable IPC namespace's /dev/shm: a tmpfs on the host with the size and
/// mode the spec gave its own.
fn host_shm(store: &Store, id: &str, spec: &mut Spec) -> Result<(), RunError> {
    let Some(own) = spec.mounts.iter().find(|m| m.destination == "/dev/shm") else {
        return Ok(());
    };
    let data: Vec<&str> = own
        .options
        .iter()
        .map(String::as_str)
        .filter(|o| o.starts_with("size=") || o.starts_with("mode="))
        .collect();
    let dir = shm_dir(store, id);
    let failed = |e: std::io::Error| RunError::Engine(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(failed)?;
    // What a start that died left mounted goes first: never two on one path.
    crate::sys::unmount(&dir);
    crate::sys::mount_tmpfs(&dir, &data.join(",")).map_err(failed)?;
    bind_shm(spec, &dir);
    Ok(())
}

/// At start: the spec joins the namespaces (pid, ipc, uts and network) of the
/// running containers named, and
/// an IPC namespace's joiner sees its owner's /dev/shm; a shareable one's
/// /dev/shm is made on the host.
pub fn prepare(
    store: &Store,
    id: &str,
    p: &ProcessOptions,
    spec: &mut Spec,
) -> Result<(), RunError> {
    if p.ipc == NsMode::Shareable {
        host_shm(store, id, spec)?;
    }
    // (flag, the spec's kind, /proc/PID/ns's name, the container joined)
    let joins = [
        ("pid", "pid", "pid", p.pid.container()),
        ("ipc", "ipc", "ipc", p.ipc.container()),
        ("uts", "uts", "uts", p.uts.container()),
        ("network", "network", "net", p.network.container()),
        ("userns", "user", "user", p.userns_of.as_deref()),
    ];
    // Each donor looked up once (a pod's members join one infra container's all).
    let mut found: BTreeMap<&str, (String, berth_runtime::pid::Pid)> = BTreeMap::new();
    for (flag, kind, proc_name, name) in joins {
        let Some(name) = name else {
            continue;
        };
        if !found.contains_key(name) {
            let donor = container::find(store, name)
                .map_err(|e| RunError::Engine(format!("--{flag} container:{name}: {e}")))?;
            let init = donor
                .state
                .init
                .filter(|_| donor.state.status == Status::Running)
                .ok_or_else(|| {
                    RunError::Engine(format!(
                        "--{flag} container:{name}: that container is not running"
                    ))
                })?;
            found.insert(name, (donor.id, init.pid));
        }
        let (donor_id, pid) = &found[name];
        let path = format!("/proc/{pid}/ns/{proc_name}");
        let linux = spec.linux.get_or_insert_default();
        if same_namespace(&path, &format!("/proc/self/ns/{proc_name}")) {
            // The donor has ours (a pod with --network host): sharing it is
            // staying in it, which also needs no right over its owner (a
            // rootless user may not join the host's network namespace).
            linux.namespaces.retain(|n| n.kind != kind);
        } else if let Some(ns) = linux.namespaces.iter_mut().find(|n| n.kind == kind) {
            ns.path = Some(path);
        }
        if kind == "ipc" {
            bind_shm(spec, &shm_dir(store, donor_id));
        }
    }
    Ok(())
}

/// Whether two namespace files are one namespace.
fn same_namespace(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// The containers whose namespaces a container joins, each once.
pub fn donors(p: &ProcessOptions) -> Vec<&str> {
    let mut v: Vec<&str> = modes(p)
        .iter()
        .filter_map(|(_, m)| m.container())
        .chain(p.network.container())
        .chain(p.userns_of.as_deref())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether a container joins any namespace of the container `id`.
pub fn joins(store: &Store, p: &ProcessOptions, id: &str) -> bool {
    let of = |name: &str| container::find(store, name).is_ok_and(|o| o.id == id);
    modes(p).iter().any(|(_, m)| m.container().is_some_and(of))
        || p.network.container().is_some_and(of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_as_podman_reads_them() {
        assert_eq!(NsMode::parse("ipc", None).unwrap(), NsMode::Shareable);
        assert_eq!(NsMode::parse("pid", None).unwrap(), NsMode::Private);
        assert_eq!(
            NsMode::parse("uts", Some("container:web")).unwrap(),
            NsMode::Container("web".into())
        );
        assert!(NsMode::parse("pid", Some("none")).is_err());
        assert!(NsMode::parse("pid", Some("shareable")).is_err());
        assert!(NsMode::parse("ipc", Some("container:")).is_err());
        assert!(NsMode::parse("ipc", Some("bogus")).is_err());
    }

    #[test]
    fn buildah_flags_take_host_or_private_only() {
        let mode = NsMode::parse_host_or_private;
        assert_eq!(mode("pid", None).unwrap(), None);
        assert_eq!(mode("ipc", Some("")).unwrap(), Some(NsMode::Private));
        assert_eq!(mode("ipc", Some("private")).unwrap(), Some(NsMode::Private));
        assert_eq!(mode("cgroupns", Some("host")).unwrap(), Some(NsMode::Host));
        for refused in ["shareable", "none", "container:web", "/proc/1/ns/ipc"] {
            let e = mode("ipc", Some(refused)).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "--ipc {refused}: berth joins no namespace by its path; use host or private"
                )
            );
        }
    }

    #[test]
    fn stored_modes_round_trip_and_old_nulls_read_as_private() {
        for m in [
            NsMode::Private,
            NsMode::Shareable,
            NsMode::Host,
            NsMode::None,
            NsMode::Container("abc".into()),
        ] {
            let j = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<NsMode>(&j).unwrap(), m);
        }
        assert_eq!(
            serde_json::from_str::<NsMode>("null").unwrap(),
            NsMode::Private
        );
    }
}
