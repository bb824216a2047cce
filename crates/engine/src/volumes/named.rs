//! Named volumes, kept under the store as podman keeps them
//! (`GRAPHROOT/volumes/NAME/_data`): create, list, inspect, remove, prune.
//! The volumes directory is private to its owner (0700), as podman's is: a
//! volume holds a container's data, which other users of the host must not read.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_storage::Store;
use serde::Serialize;

use crate::container;
use crate::prune_filters::PruneFilters;

/// A volume as `volume inspect` shows it (podman's field names).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeInspect {
    pub name: String,
    pub driver: String,
    pub mountpoint: PathBuf,
    pub created_at: String,
    pub labels: BTreeMap<String, String>,
    pub scope: String,
    pub options: BTreeMap<String, String>,
    /// Whether the next container to mount it empty copies the image's
    /// content at the mount point into it (podman's copy-up).
    pub needs_copy_up: bool,
    /// Whether no container has mounted it yet.
    pub needs_chown: bool,
}

/// What holds a volume's data, from its `-o type=…,device=…,o=…` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Its own directory in the store.
    Directory(PathBuf),
    /// `type=bind,device=DIR`: a host directory.
    Bind(PathBuf),
    /// `type=tmpfs`: a tmpfs with the `o=` options, for each container.
    Tmpfs(Vec<String>),
}

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("volume with name {0} already exists: volume already exists")]
    Exists(String),
    #[error("no volume with name \"{0}\" found: no such volume")]
    NotFound(String),
    #[error("volume {name} is being used by the following container(s): {}: volume is being used", .users.join(", "))]
    InUse { name: String, users: Vec<String> },
    #[error(
        "{0:?}: invalid volume name (letters, digits, '_', '.' and '-', starting with a letter or digit)"
    )]
    BadName(String),
    #[error("--image-volume {0}: expected bind, tmpfs or ignore")]
    ImageVolumeMode(String),
    /// A `volume create -o` podman would refuse (its words).
    #[error("invalid volume option {option} for driver 'local': {reason}")]
    BadOption { option: String, reason: String },
    #[error("volume {name}: {source}")]
    Io {
        name: String,
        source: std::io::Error,
    },
    #[error("volume {name}: removing container {container}: {message}")]
    Container {
        name: String,
        container: String,
        message: String,
    },
    /// `-v` that is not `SOURCE:DEST[:OPTIONS]`.
    #[error("-v {0}: expected SOURCE:DEST[:OPTIONS]")]
    InvalidSpec(String),
    #[error("-v {spec}: unknown option {option:?}")]
    InvalidOption { spec: String, option: String },
    /// `:O` reached a container start: only `berth builder run` (and `from`)
    /// set up an overlay over the source.
    #[error("-v {0}: overlay volumes (:O) are served by `berth builder run` only")]
    OverlayNotServed(String),
    /// A bind mount's host path that cannot be used.
    #[error("-v {spec}: {source_path}: {source}")]
    HostPath {
        spec: String,
        source_path: String,
        source: std::io::Error,
    },
    #[error("-v {spec}: {source_path:?} is neither an absolute path nor a volume name")]
    NeitherPathNorName { spec: String, source_path: String },
    /// `flag` is `-v`, `--tmpfs` or `VOLUME`.
    #[error("{flag} {destination}: the container path must be absolute, without \"..\"")]
    Destination {
        flag: &'static str,
        destination: String,
    },
    #[error("invalid filter {0:?}: name=REGEX, label=KEY[=VALUE], driver= or dangling=")]
    InvalidFilter(String),
    /// A `volume prune --filter` podman refuses too, in its words.
    #[error("{0}")]
    InvalidPruneFilter(String),
    #[error("{0}: duplicate mount destination")]
    DuplicateDestination(String),
    /// Copying the image's content into a new volume: reading it.
    #[error("volume {name}: reading {destination}: {source}")]
    CopyUpRead {
        name: String,
        destination: String,
        source: Box<berth_storage::Error>,
    },
    /// Copying the image's content into a new volume: writing it.
    #[error("volume {name}: {source}")]
    CopyUpWrite {
        name: String,
        source: Box<berth_storage::Error>,
    },
    #[error("--add-host {0}: expected HOST:IP")]
    InvalidAddHost(String),
    #[error("--add-host {spec}: {address:?} is not an IP address")]
    AddHostAddress { spec: String, address: String },
    /// One of the files berth writes for a container (/etc/hosts…).
    #[error("{}: {source}", .path.display())]
    GeneratedFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl VolumeError {
    pub(crate) fn io(name: &str) -> impl Fn(std::io::Error) -> VolumeError {
        move |source| VolumeError::Io {
            name: name.to_string(),
            source,
        }
    }
}

/// Where named volumes live for this process: `--volumepath`, else
/// containers.conf's `volume_path`, else GRAPHROOT/volumes.
static VOLUME_PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// `--volumepath`: named volumes live there for the rest of the process.
pub fn set_volume_path(dir: PathBuf) {
    let _ = VOLUME_PATH.set(dir);
}

/// The directory named volumes live in (see [`set_volume_path`]).
pub fn volume_path(store: &Store) -> PathBuf {
    if let Some(d) = VOLUME_PATH.get() {
        return d.clone();
    }
    crate::conf::get()
        .ok()
        .and_then(|c| c.volume_path.clone())
        .unwrap_or_else(|| store.config().graph_root.join("volumes"))
}

/// The volume directory, made private to its owner (an older store's 0755
/// directory is narrowed on first use).
fn root(store: &Store) -> Result<PathBuf, VolumeError> {
    let dir = volume_path(store);
    let io = |source| VolumeError::Io {
        name: "directory".into(),
        source,
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?
        }
        Ok(_) => {}
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io)?,
    }
    Ok(dir)
}

/// Where a volume's data lives.
pub fn data_dir(store: &Store, name: &str) -> PathBuf {
    volume_path(store).join(name).join("_data")
}

pub fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

pub fn exists(store: &Store, name: &str) -> bool {
    valid_name(name) && data_dir(store, name).is_dir()
}

/// Makes the volume unless it exists; returns its data directory.
pub fn ensure(store: &Store, name: &str) -> Result<PathBuf, VolumeError> {
    if !valid_name(name) {
        return Err(VolumeError::BadName(name.to_string()));
    }
    root(store)?;
    let dir = data_dir(store, name);
    let new = !dir.is_dir();
    std::fs::create_dir_all(&dir).map_err(|source| VolumeError::Io {
        name: name.to_string(),
        source,
    })?;
    if new {
        crate::events::volume(store, "create", name);
    }
    Ok(dir)
}

/// `volume create [--ignore] [NAME]`: a new volume (a random name without
/// one); with `ignore`, an existing one is not an error. Returns its name.
pub fn create(store: &Store, name: Option<&str>, ignore: bool) -> Result<String, VolumeError> {
    let name = name.map_or_else(|| berth_storage::lock::random_hex(32), str::to_string);
    if exists(store, &name) && !ignore {
        return Err(VolumeError::Exists(name));
    }
    ensure(store, &name)?;
    Ok(name)
}

/// Every volume's name, sorted.
pub fn names(store: &Store) -> Vec<String> {
    let dir = volume_path(store);
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("_data").is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The containers whose `-v` names the volume.
pub fn users(store: &Store, name: &str) -> Vec<String> {
    container::list(store)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| {
            i.config
                .process
                .volumes
                .iter()
                .any(|v| v.name() == Some(name))
        })
        .map(|i| i.id)
        .collect()
}

pub fn inspect(store: &Store, name: &str) -> Result<VolumeInspect, VolumeError> {
    if !exists(store, name) {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    let dir = data_dir(store, name);
    let meta = read_meta(store, name);
    Ok(VolumeInspect {
        name: name.to_string(),
        driver: "local".into(),
        created_at: created(&dir),
        needs_copy_up: !dir.with_file_name("copied-up").exists(),
        needs_chown: !dir.with_file_name("used").exists(),
        mountpoint: dir,
        labels: meta.labels,
        scope: "local".into(),
        options: meta.options,
    })
}

/// Checks `volume create -o` options as podman's local driver does: `type`,
/// `device`, `o` (mount options), and `size`, `inodes`, `uid`, `gid`, `copy`,
/// `nocopy`.
fn check_options(o: &BTreeMap<String, String>) -> Result<(), VolumeError> {
    let bad = |option: &str, reason: String| VolumeError::BadOption {
        option: option.to_string(),
        reason,
    };
    for k in o.keys() {
        if ![
            "type", "device", "o", "size", "inodes", "uid", "gid", "copy", "nocopy",
        ]
        .contains(&k.as_str())
        {
            return Err(bad(k, "unrecognized option".into()));
        }
    }
    match o.get("type").map(String::as_str) {
        Some("bind") => {
            let dev = o
                .get("device")
                .ok_or_else(|| bad("type", "bind needs a device".into()))?;
            let md = std::fs::metadata(dev).map_err(|e| {
                bad(
                    "device",
                    format!("stat {dev}: {}", berth_runtime::error::go_words(&e)),
                )
            })?;
            if !md.is_dir() {
                return Err(bad("device", format!("{dev} is not a directory")));
            }
        }
        None | Some("tmpfs") => {}
        Some(other) => return Err(bad("type", format!("{other:?} is not bind or tmpfs"))),
    }
    Ok(())
}

/// `volume create -o uid=N -o gid=N`: the owner the volume's data is given
/// (instead of its first container's user's).
pub fn option_owner(store: &Store, name: &str) -> Option<(u32, u32)> {
    let meta = read_meta(store, name);
    let id = |k: &str| meta.options.get(k).and_then(|v| v.parse::<u32>().ok());
    match (id("uid"), id("gid")) {
        (None, None) => None,
        (u, g) => Some((u.unwrap_or(0), g.unwrap_or(0))),
    }
}

/// What holds the volume's data (made on first use when it is the store's).
pub fn backing(store: &Store, name: &str) -> Result<Backing, VolumeError> {
    let meta = read_meta(store, name);
    let mount_options = || {
        meta.options
            .get("o")
            .map(|o| {
                o.split(',')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    match meta.options.get("type").map(String::as_str) {
        Some("tmpfs") => Ok(Backing::Tmpfs(mount_options())),
        Some("bind") => Ok(Backing::Bind(PathBuf::from(
            meta.options.get("device").cloned().unwrap_or_default(),
        ))),
        _ => ensure(store, name).map(Backing::Directory),
    }
}

/// Where the volume's data is on the host, without making anything (none for
/// a tmpfs volume: each container has its own).
pub fn host_path(store: &Store, name: &str) -> Option<PathBuf> {
    let meta = read_meta(store, name);
    match meta.options.get("type").map(String::as_str) {
        Some("tmpfs") => None,
        Some("bind") => meta.options.get("device").map(PathBuf::from),
        _ => Some(data_dir(store, name)),
    }
}

/// Notes that a container mounted the volume (`NeedsChown` turns false);
/// returns whether this was its first use.
pub fn mark_used(store: &Store, name: &str) -> bool {
    let marker = data_dir(store, name).with_file_name("used");
    if marker.exists() {
        return false;
    }
    let _ = std::fs::write(marker, b"");
    true
}

/// What `volume create` was told besides the name (`--label`, `--opt`).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CreateOptions {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

fn meta_path(store: &Store, name: &str) -> PathBuf {
    volume_path(store).join(name).join("volume.json")
}

fn read_meta(store: &Store, name: &str) -> CreateOptions {
    std::fs::read(meta_path(store, name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// `volume create [--ignore] [--label K=V] [--opt K=V] [NAME]`.
pub fn create_with(
    store: &Store,
    name: Option<&str>,
    ignore: bool,
    o: &CreateOptions,
) -> Result<String, VolumeError> {
    check_options(&o.options)?;
    let existed = name.is_some_and(|n| exists(store, n));
    let name = create(store, name, ignore)?;
    if !existed && (!o.labels.is_empty() || !o.options.is_empty()) {
        let bytes = serde_json::to_vec(o).expect("volume options serialise");
        berth_image::fsutil::write_atomic(&meta_path(store, &name), &bytes)
            .map_err(|e| VolumeError::io(&name)(std::io::Error::other(e)))?;
    }
    Ok(name)
}

/// One `--filter`, as a test of a volume.
type VolumeFilter = Box<dyn Fn(&Store, &VolumeInspect) -> bool>;

/// `volume ls --filter`: name=REGEX, label=KEY[=VALUE], driver=, dangling=.
pub fn list_filtered(store: &Store, filters: &[String]) -> Result<Vec<VolumeInspect>, VolumeError> {
    let mut keep: Vec<VolumeFilter> = Vec::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| VolumeError::InvalidFilter(f.clone()))?;
        let v = v.to_string();
        keep.push(match k {
            "name" => {
                let re =
                    regex::Regex::new(&v).map_err(|_| VolumeError::InvalidFilter(f.clone()))?;
                Box::new(move |_, i| re.is_match(&i.name))
            }
            "label" => Box::new(move |_, i| match v.split_once('=') {
                Some((lk, lv)) => i.labels.get(lk).is_some_and(|x| x == lv),
                None => i.labels.contains_key(&v),
            }),
            "driver" => Box::new(move |_, i| i.driver == v),
            "dangling" => Box::new(move |s, i| users(s, &i.name).is_empty() == (v == "true")),
            _ => return Err(VolumeError::InvalidFilter(f.clone())),
        });
    }
    Ok(list(store)
        .into_iter()
        .filter(|i| keep.iter().all(|k| k(store, i)))
        .collect())
}

/// `volume export`: the volume's files as a tar.
pub fn export(store: &Store, name: &str, out: &mut dyn std::io::Write) -> Result<(), VolumeError> {
    if !exists(store, name) {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    berth_storage::archive::tar_in_root(&data_dir(store, name), Path::new(""), "", out)
        .map(drop)
        .map_err(|e| VolumeError::io(name)(std::io::Error::other(e)))
}

/// `volume export -o FILE`: [`export`] into a file that appears whole or not
/// at all (written beside it under another name, renamed over it once done):
/// a volume that is not there leaves no empty file behind.
pub fn export_to_file(store: &Store, name: &str, path: &Path) -> Result<(), VolumeError> {
    if !exists(store, name) {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{file_name}.berth-tmp"));
    let fail = |e: std::io::Error| {
        VolumeError::io(name)(std::io::Error::other(format!("{}: {e}", path.display())))
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(fail)?);
    let written = export(store, name, &mut f).and_then(|()| {
        use std::io::Write;
        f.flush().map_err(fail)
    });
    drop(f);
    match written {
        Ok(()) => std::fs::rename(&tmp, path).map_err(fail),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `volume import`: a tar's files into the volume; nothing lands outside it.
pub fn import(store: &Store, name: &str, input: &mut dyn std::io::Read) -> Result<(), VolumeError> {
    if !exists(store, name) {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    let mut opts =
        berth_storage::archive::ApplyOptions::new(berth_storage::archive::WhiteoutMode::Literal);
    opts.sync = false;
    berth_storage::archive::apply_layer(input, &data_dir(store, name), &opts, None)
        .map(drop)
        .map_err(|e| VolumeError::io(name)(std::io::Error::other(e)))
}

fn created(dir: &Path) -> String {
    std::fs::metadata(dir)
        .and_then(|m| m.created().or_else(|_| m.modified()))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| container::rfc3339(d.as_nanos() as u64))
        .unwrap_or_default()
}

/// Every volume, as `volume ls` lists them.
pub fn list(store: &Store) -> Vec<VolumeInspect> {
    names(store)
        .iter()
        .filter_map(|n| inspect(store, n).ok())
        .collect()
}

/// `volume rm [-f] [-t SECONDS]`: a volume in use only with `force`, its
/// containers first (a running one gets `time` seconds to stop).
pub fn remove(store: &Store, name: &str, force: bool, time: u64) -> Result<(), VolumeError> {
    if !exists(store, name) {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    let used = users(store, name);
    if !used.is_empty() && !force {
        return Err(VolumeError::InUse {
            name: name.to_string(),
            users: used,
        });
    }
    for c in used {
        crate::lifecycle::remove_timed(store, &c, true, time).map_err(|f| {
            VolumeError::Container {
                name: name.to_string(),
                container: c.clone(),
                message: f.to_string(),
            }
        })?;
    }
    remove_dir(store, name)
}

/// The volumes `volume rm` and `volume inspect` act on: every one with
/// `all`, else those named, as given.
fn targets(store: &Store, names: &[String], all: bool) -> Vec<String> {
    if all {
        self::names(store)
    } else {
        names.to_vec()
    }
}

/// `volume inspect [--all] NAME…`: each one's object, in order; the first
/// that is not there is the error.
pub fn inspect_each(
    store: &Store,
    names: &[String],
    all: bool,
) -> Result<Vec<VolumeInspect>, VolumeError> {
    targets(store, names, all)
        .iter()
        .map(|n| inspect(store, n))
        .collect()
}

/// How `volume rm` removes.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoveOptions {
    /// Every volume, whatever was named.
    pub all: bool,
    /// Volumes in use go too (their containers first), and one that is not
    /// there is passed over, as podman's `-f` does.
    pub force: bool,
    /// With `force`: seconds a running container using it gets to stop.
    pub time: u64,
}

/// `volume rm`: the volumes `o` says, one by one; `removed` is told each as
/// it goes. The first failure stops it.
pub fn remove_each(
    store: &Store,
    names: &[String],
    o: &RemoveOptions,
    removed: &mut dyn FnMut(&str),
) -> Result<(), VolumeError> {
    for name in targets(store, names, o.all) {
        match remove(store, &name, o.force, o.time) {
            Err(VolumeError::NotFound(_)) if o.force => continue,
            r => r?,
        }
        removed(&name);
    }
    Ok(())
}

fn remove_dir(store: &Store, name: &str) -> Result<(), VolumeError> {
    let dir = volume_path(store).join(name);
    std::fs::remove_dir_all(dir).map_err(|source| VolumeError::Io {
        name: name.to_string(),
        source,
    })?;
    crate::events::volume(store, "remove", name);
    Ok(())
}

/// The volumes `prune` would remove: those no container names.
pub fn unused(store: &Store) -> Vec<String> {
    names(store)
        .into_iter()
        .filter(|n| users(store, n).is_empty())
        .collect()
}

/// The unused volumes that pass `filters`: `label=KEY[=VALUE]` and `until=`,
/// what podman 4.3's `volume prune` takes.
pub fn unused_filtered(store: &Store, filters: &[String]) -> Result<Vec<String>, VolumeError> {
    let filters = PruneFilters::parse(filters, &["label", "until"]).map_err(|e| {
        VolumeError::InvalidPruneFilter(match e.key() {
            Some(k) => format!("{k:?} is an invalid volume filter"),
            None => e.to_string(),
        })
    })?;
    Ok(unused(store)
        .into_iter()
        .filter(|n| {
            filters.is_empty()
                || inspect(store, n).is_ok_and(|v| {
                    let created = crate::time::parse_rfc3339_nanos(&v.created_at).unwrap_or(0);
                    filters.matches(created, &v.labels)
                })
        })
        .collect())
}

/// `volume prune [--filter]`: removes the unused volumes that pass the
/// filters; returns them.
pub fn prune_filtered(store: &Store, filters: &[String]) -> Result<Vec<String>, VolumeError> {
    let gone = unused_filtered(store, filters)?;
    for n in &gone {
        remove_dir(store, n)?;
        crate::events::volume(store, "prune", n);
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_store as store;

    #[test]
    fn all_takes_every_volume_and_force_passes_over_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for n in ["b", "a"] {
            create_with(&store, Some(n), false, &CreateOptions::default()).unwrap();
        }
        let names = |v: Vec<VolumeInspect>| v.into_iter().map(|v| v.name).collect::<Vec<_>>();
        assert_eq!(names(inspect_each(&store, &[], true).unwrap()), ["a", "b"]);
        let asked = ["b".to_string(), "nope".to_string(), "a".to_string()];
        assert!(matches!(
            inspect_each(&store, &asked, false),
            Err(VolumeError::NotFound(n)) if n == "nope"
        ));
        // Without force the missing one stops it, after what went before.
        let mut gone = Vec::new();
        let e = remove_each(&store, &asked, &RemoveOptions::default(), &mut |n| {
            gone.push(n.to_string())
        });
        assert!(matches!(e, Err(VolumeError::NotFound(_))));
        assert_eq!(gone, ["b"]);
        let force = RemoveOptions {
            force: true,
            ..Default::default()
        };
        let mut gone = Vec::new();
        remove_each(&store, &asked, &force, &mut |n| gone.push(n.to_string())).unwrap();
        assert_eq!(gone, ["a"]);
        assert!(names(inspect_each(&store, &[], true).unwrap()).is_empty());
    }
}
