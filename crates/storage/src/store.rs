//! The store: images, layers and containers under one graphroot, shared by any number
//! of berth processes without a daemon.
//!
//! On disk (all under the graphroot):
//! - `storage.lock` — the store-wide lock: shared to read metadata, exclusive to change
//!   it (and to move anything into or out of the store);
//! - `store.json` — all metadata (layers, images, containers) in one file, written
//!   temp + fsync + rename under the exclusive lock, so that a process killed in a
//!   write leaves the records before it or after it, never a mix (stores written
//!   before it kept `layers.json`, `images.json` and `containers.json`, read while
//!   `store.json` is absent and removed by the first write). A record is saved before
//!   the files it stops naming are removed, so a kill in between leaves only files no
//!   record names, which `recover` removes;
//! - `DRIVER/ID/diff` — a layer's files (`work`, `merged` too for overlay containers);
//! - `blobs/sha256/HEX` — the blob each layer was stored from, and every other blob of
//!   the same diff an image's manifest names (see `blobs.rs`), so that a push or save
//!   serves the very bytes (and digests) that were pulled;
//! - `images/ID/` — the config and manifests of an image;
//! - `RUNROOT/containers/ID` — a container's run directory, the engine's (its state,
//!   sockets, user data); removed by `recover` once no record names the container;
//! - `staging/TOKEN` + `staging/TOKEN.lock` — work in progress, each entry flocked by
//!   the process working on it. Layers are applied there without the store lock and
//!   renamed into place under it, so a process killed at any moment leaves either a
//!   staging entry whose lock is free, or a directory that no record names; the next
//!   `open` that gets the exclusive lock removes both.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use berth_image::manifest::RawManifest;
use berth_image::{Digest, Reference};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::archive::{self, ApplyOptions, ApplyReport, DiffReport, WhiteoutMode};
use crate::config::{DriverKind, StoreConfig, StoreOptions};
use crate::containers::{Container, ExternalRoot};
use crate::drivers::{Driver, overlay, vfs};
use crate::error::{Error, IoContext, Result};
use crate::images::Image;
use crate::layers::{Layer, chain_ids};
use crate::lock::{LockFile, LockGuard, random_hex, sync_dir, write_atomic};

const METADATA: &str = "store.json";
/// The metadata files of stores written before `store.json`.
const LEGACY: [&str; 3] = ["layers.json", "images.json", "containers.json"];

/// `store.json` as read.
#[derive(Default, Deserialize)]
struct Records {
    #[serde(default)]
    layers: Vec<Layer>,
    #[serde(default)]
    images: Vec<Image>,
    #[serde(default)]
    containers: Vec<Container>,
}

/// `store.json` as written: the primary store's own records.
#[derive(Serialize)]
struct RecordsOut<'a> {
    layers: Vec<&'a Layer>,
    images: Vec<&'a Image>,
    containers: &'a [Container],
}

/// Reads a store's records from `store.json`, or from the legacy files.
fn read_records(root: &Path) -> Result<Records> {
    let path = root.join(METADATA);
    if path.exists() {
        return read_json(&path);
    }
    Ok(Records {
        layers: read_json(&root.join(LEGACY[0]))?,
        images: read_json(&root.join(LEGACY[1]))?,
        containers: read_json(&root.join(LEGACY[2]))?,
    })
}

/// A read-only additional image store.
#[derive(Debug)]
struct Additional {
    root: PathBuf,
    driver: Driver,
    lock: LockFile,
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    config: StoreConfig,
    driver: Driver,
    lock: LockFile,
    additional: Vec<Additional>,
}

/// All metadata, primary and additional stores together (the latter marked read-only).
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    pub layers: Vec<Layer>,
    pub images: Vec<Image>,
    pub containers: Vec<Container>,
    /// Files and directories to remove once the records that named them are saved.
    pub doomed: Vec<PathBuf>,
}

impl State {
    pub(crate) fn layer(&self, id: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.id == id)
    }
}

/// What removing an image did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemovedImage {
    /// Names taken off.
    pub untagged: Vec<String>,
    /// The image ID, when the image itself was deleted.
    pub deleted: Option<String>,
    /// Layers freed with it.
    pub layers: Vec<String>,
}

/// A staging entry: a private directory under `staging/`, flocked by its owner, removed
/// on drop unless its contents were moved into the store.
#[derive(Debug)]
pub(crate) struct Staging {
    pub dir: PathBuf,
    lock_path: PathBuf,
    _lock: LockGuard,
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// A layer applied (or a blob kept) in staging by a destination, waiting for commit.
#[derive(Debug)]
pub(crate) struct Pending {
    pub staging: Staging,
    /// The applied tree (overlay only; vfs applies at commit on top of the parent).
    pub applied: Option<(ApplyReport, Digest)>,
    /// The blob as it came.
    pub blob: PathBuf,
}

/// An image to record, from a destination's commit.
pub(crate) struct NewImage {
    pub names: Vec<String>,
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub manifest: RawManifest,
    pub other_manifests: Vec<RawManifest>,
    pub layer_blobs: Vec<(Digest, u64)>,
    pub diff_ids: Vec<Digest>,
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read_json<T: DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match fs::read(path) {
        Ok(b) if b.is_empty() => Ok(T::default()),
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Metadata {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let b = serde_json::to_vec(v).map_err(|e| Error::Metadata {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, &b)
}

fn mkdirs(p: &Path) -> Result<()> {
    fs::create_dir_all(p).at(p)
}

/// Makes a directory of the store private to its owner (0700), as
/// containers/storage makes its roots: layers and containers' files hold what
/// other users of the host must not read. A store made 0755 by an older berth
/// is narrowed when opened.
///
/// A root that existed before and holds nothing of berth's (`--root /srv`), or
/// is shared (sticky or world-writable, as /tmp), is left alone: narrowing a
/// directory others use would break their work.
fn ours(dir: &Path, marks: &[&str]) -> bool {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(dir) {
        Err(_) => true,
        // Never a shared directory (sticky or world-writable, as /tmp).
        Ok(m) if m.permissions().mode() & 0o1002 != 0 => false,
        Ok(_) => marks.iter().any(|m| dir.join(m).exists()),
    }
}

fn make_private(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(p).at(p)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(p, fs::Permissions::from_mode(0o700)).at(p)?;
    }
    Ok(())
}

/// Marks `dir` as the top of unrelated hierarchies (`chattr +T`), so that ext4's Orlov
/// allocator places each new child directory (a layer, a staging entry) in the block
/// group with the fewest directories instead of next to its siblings. Layers applied in
/// parallel then do not contend for one group's bitmaps, and a layer is less likely to
/// land among inodes deleted seconds ago: on ext4 without a journal the allocator
/// skips those one by one for every file it creates (`recently_deleted()`). Measured in
/// bench/RESULTS.md (2026-12-02, evening). A hint only: file systems without the flag
/// refuse it, and that is fine.
fn spread_children(dir: &Path) {
    use rustix::fs::{IFlags, Mode, OFlags, ioctl_getflags, ioctl_setflags, open};
    let Ok(fd) = open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    if let Ok(flags) = ioctl_getflags(&fd)
        && !flags.contains(IFlags::TOPDIR)
    {
        let _ = ioctl_setflags(&fd, flags | IFlags::TOPDIR);
    }
}

/// The temporary file of an unfinished metadata write (see `write_atomic`).
pub(crate) fn unfinished_write(name: &str) -> bool {
    std::iter::once(METADATA)
        .chain(LEGACY)
        .any(|m| name.starts_with(&format!(".{m}.tmp-")))
}

/// Container layers no container names: left by a store that kept its records in
/// three files, written one after the other, when a write was cut between them.
pub(crate) fn orphan_container_layers(st: &State) -> Vec<String> {
    let used: HashSet<&str> = st.containers.iter().map(|c| c.layer.as_str()).collect();
    st.layers
        .iter()
        .filter(|l| l.container && l.store == 0 && !used.contains(l.id.as_str()))
        .map(|l| l.id.clone())
        .collect()
}

/// A new layer's directory, made empty: one there already is what a removal
/// killed (or failed) after its record went left behind, since no record
/// names it (the caller checked, under the exclusive lock); a rename into it
/// would fail with "Directory not empty" (found by the chaos test).
fn leftover_free(dest: &Path) -> Result<()> {
    remove_all(dest)?;
    mkdirs(dest)
}

/// Removes a file or a directory tree; missing is fine.
fn remove_path(p: &Path) -> Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => remove_all(p),
        Ok(_) => fs::remove_file(p).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(Error::io(p, e)),
        }),
        Err(_) => Ok(()),
    }
}

/// A container's read-write layer record, on `parent` (none: a `--rootfs`
/// container's, or one from an image without layers).
fn container_layer(id: &str, parent: Option<String>) -> Layer {
    Layer {
        id: id.to_string(),
        parent,
        created: now(),
        diff_id: None,
        compressed_digest: None,
        compressed_size: None,
        uncompressed_size: None,
        other_blobs: Vec::new(),
        tree_checksum: None,
        container: true,
        read_only: false,
        store: 0,
    }
}

fn check_names_free(st: &State, names: &[String]) -> Result<()> {
    for n in names {
        if let Some(c) = st.containers.iter().find(|c| c.names.contains(n)) {
            return Err(Error::NameInUse {
                name: n.clone(),
                id: c.id.clone(),
            });
        }
    }
    Ok(())
}

/// Removes a directory tree; missing is fine.
pub(crate) fn remove_all(p: &Path) -> Result<()> {
    overlay::detach_below(p);
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    }
}

impl Store {
    /// Opens (creating) the store the options and storage.conf describe.
    pub fn open_with(opts: &StoreOptions) -> Result<Store> {
        Store::open(StoreConfig::resolve(opts)?)
    }

    /// Opens (creating) a store, and cleans what killed processes left, if no other
    /// process is using the store right now.
    pub fn open(config: StoreConfig) -> Result<Store> {
        let root = &config.graph_root;
        let driver = Driver::new(config.driver, root, config.driver_options.clone());
        let ours_root = ours(root, &["storage.lock"]);
        let ours_run = ours(&config.run_root, &["containers", "oci", "sockets"]);
        for d in [
            root.clone(),
            config.run_root.clone(),
            driver.home.clone(),
            root.join("blobs/sha256"),
            root.join("images"),
            root.join("staging"),
            root.join("empty"),
        ] {
            mkdirs(&d)?;
        }
        let ours = [(root, ours_root), (&config.run_root, ours_run)];
        for (d, _) in ours.iter().filter(|(_, ours)| *ours) {
            make_private(d)?;
        }
        make_private(&driver.home)?;
        // The engine's named volumes live under the root too: an older
        // store's open volumes/ is narrowed here, before any command uses it.
        let volumes = root.join("volumes");
        if ours_root && volumes.is_dir() {
            make_private(&volumes)?;
        }
        // Layers are applied in staging/ and containers' trees live in DRIVER/.
        spread_children(&root.join("staging"));
        spread_children(&driver.home);
        let additional = config
            .additional_image_stores
            .iter()
            .map(|r| Additional {
                root: r.clone(),
                driver: Driver::new(config.driver, r, Vec::new()),
                lock: LockFile::read_only(r.join("storage.lock")),
            })
            .collect();
        let store = Store {
            lock: LockFile::new(root.join("storage.lock")),
            driver,
            config,
            additional,
        };
        if let Some(_g) = store.lock.try_exclusive()? {
            store.recover()?;
        }
        Ok(store)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn graph_root(&self) -> &Path {
        &self.config.graph_root
    }

    pub fn driver(&self) -> DriverKind {
        self.driver.kind
    }

    fn root_of(&self, store: usize) -> &Path {
        if store == 0 {
            &self.config.graph_root
        } else {
            &self.additional[store - 1].root
        }
    }

    fn driver_of(&self, store: usize) -> &Driver {
        if store == 0 {
            &self.driver
        } else {
            &self.additional[store - 1].driver
        }
    }

    /// A new layer's root before its diff is applied, as containers/storage
    /// makes it: a copy of the parent (vfs) or the parent root's owner and mode
    /// (overlay), and 0555 for a base layer; a diff with a `./` entry then
    /// sets its own.
    fn init_layer_root(&self, diff: &Path, parent: Option<&Layer>) -> Result<()> {
        match parent {
            Some(pl) if self.driver.kind == DriverKind::Vfs => {
                vfs::copy_tree(&self.layer_path(pl), diff)
            }
            _ => self.root_as_given(diff, parent),
        }
    }

    /// A layer root's owner and mode as containers/storage gives them before
    /// a diff sets its own: its parent root's, or 0555 for a base layer.
    fn root_as_given(&self, diff: &Path, parent: Option<&Layer>) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        match parent {
            Some(pl) => copy_owner_and_mode(&self.layer_path(pl), diff, None),
            None => fs::set_permissions(diff, fs::Permissions::from_mode(0o555)).at(diff),
        }
    }

    /// The directory holding a layer's files.
    pub fn layer_path(&self, layer: &Layer) -> PathBuf {
        self.driver_of(layer.store).diff_dir(&layer.id)
    }

    /// Where the copies of layers mapped through ID maps live.
    fn mapped_root(&self) -> PathBuf {
        self.config.graph_root.join("overlay-mapped")
    }

    /// A layer's copy with its owners through `map`.
    fn mapped_layer_path(&self, layer: &Layer, map: &crate::idmap::IdMap) -> PathBuf {
        self.mapped_root().join(map.key()).join(&layer.id)
    }

    /// Makes the missing mapped copies of the layers under a container (see
    /// [`crate::idmap`]). Each is built aside (`.LAYER.tmp-PID-RANDOM`) without
    /// the store's lock, which a big copy would hold for long, then renamed in
    /// under it, unless another process was first or the layer went meanwhile.
    /// Copies a killed process left half-built are removed on the way.
    fn ensure_mapped_copies(&self, c: &Container, map: &crate::idmap::IdMap) -> Result<()> {
        let wanted: Vec<(Layer, PathBuf)> = self.read(|st| {
            let own = st
                .layer(&c.layer)
                .ok_or_else(|| Error::LayerNotFound(c.layer.clone()))?;
            Ok(self
                .stack(st, own.parent.as_deref())?
                .into_iter()
                .map(|l| (l.clone(), self.mapped_layer_path(l, map)))
                .filter(|(_, p)| !p.is_dir())
                .collect())
        })?;
        if wanted.is_empty() {
            return Ok(());
        }
        let dir = self.mapped_root().join(map.key());
        mkdirs(&dir)?;
        remove_stale_copies(&dir);
        for (layer, path) in wanted {
            let tmp = dir.join(format!(
                ".{}.tmp-{}-{}",
                layer.id,
                std::process::id(),
                random_hex(4)
            ));
            mkdirs(&tmp)?;
            let built = vfs::copy_tree_mapped(&self.layer_path(&layer), &tmp, Some(map));
            let placed = built.and_then(|()| {
                self.write(|st| {
                    if path.is_dir() || st.layer(&layer.id).is_none() {
                        return Ok(());
                    }
                    fs::rename(&tmp, &path).at(&path)
                })
            });
            if tmp.exists() {
                let _ = remove_all(&tmp);
            }
            placed?;
        }
        Ok(())
    }

    pub(crate) fn blob_path_in(&self, store: usize, digest: &Digest) -> PathBuf {
        self.root_of(store)
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// The compressed blob a layer was pulled as, when the store kept it.
    pub fn layer_blob_path(&self, layer: &Layer) -> Option<PathBuf> {
        let d = layer.compressed_digest.as_ref()?;
        let p = self.blob_path_in(layer.store, d);
        p.exists().then_some(p)
    }

    pub(crate) fn image_dir(&self, image: &Image) -> PathBuf {
        self.root_of(image.store).join("images").join(&image.id)
    }

    // ---- metadata under the locks -------------------------------------------------

    fn load_primary(&self) -> Result<State> {
        let r = read_records(&self.config.graph_root)?;
        Ok(State {
            layers: r.layers,
            images: r.images,
            containers: r.containers,
            doomed: Vec::new(),
        })
    }

    fn load_all(&self) -> Result<State> {
        let mut st = self.load_primary()?;
        for (i, a) in self.additional.iter().enumerate() {
            let _g = a.lock.shared()?;
            let Records {
                mut layers,
                mut images,
                ..
            } = read_records(&a.root)?;
            for l in &mut layers {
                l.read_only = true;
                l.store = i + 1;
            }
            for im in &mut images {
                im.read_only = true;
                im.store = i + 1;
            }
            let have: HashSet<String> = st.layers.iter().map(|l| l.id.clone()).collect();
            st.layers.extend(
                layers
                    .into_iter()
                    .filter(|l| !l.container && !have.contains(&l.id)),
            );
            let have: HashSet<String> = st.images.iter().map(|m| m.id.clone()).collect();
            st.images
                .extend(images.into_iter().filter(|m| !have.contains(&m.id)));
        }
        Ok(st)
    }

    fn save(&self, st: &State) -> Result<()> {
        let r = &self.config.graph_root;
        let out = RecordsOut {
            layers: st.layers.iter().filter(|l| l.store == 0).collect(),
            images: st.images.iter().filter(|m| m.store == 0).collect(),
            containers: &st.containers,
        };
        write_json(&r.join(METADATA), &out)?;
        for f in LEGACY {
            match fs::remove_file(r.join(f)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(r.join(f), e));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> Result<T>) -> Result<T> {
        let _g = self.lock.shared()?;
        f(&self.load_all()?)
    }

    /// Runs `f` under the exclusive lock and saves what it changed (when it succeeds).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let _g = self.lock.exclusive()?;
        let mut st = self.load_all()?;
        let before = st.clone();
        let out = f(&mut st)?;
        if st.layers != before.layers
            || st.images != before.images
            || st.containers != before.containers
        {
            self.save(&st)?;
        }
        // Best effort: what is left here no record names, and `recover` removes it.
        for p in &st.doomed {
            let _ = remove_path(p);
        }
        Ok(out)
    }

    /// Saves under the exclusive lock the caller holds (repairs).
    pub(crate) fn save_state(&self, st: &State) -> Result<()> {
        self.save(st)
    }

    // ---- recovery -----------------------------------------------------------------

    /// Removes what killed processes left. Runs under the exclusive lock.
    pub(crate) fn recover(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        let staging = self.config.graph_root.join("staging");
        for e in fs::read_dir(&staging).at(&staging)? {
            let e = e.at(&staging)?;
            let name = e.file_name().to_string_lossy().to_string();
            let Some(tok) = name.strip_suffix(".lock") else {
                if !staging.join(format!("{name}.lock")).exists() {
                    remove_all(&e.path())?;
                    removed.push(format!("staging/{name}"));
                }
                continue;
            };
            if let Some(_g) = LockFile::new(e.path()).try_exclusive()? {
                remove_all(&staging.join(tok))?;
                let _ = fs::remove_file(e.path());
                removed.push(format!("staging/{tok}"));
            }
        }
        removed.extend(self.remove_unfinished_writes()?);
        let mut st = self.load_primary()?;
        let orphans = orphan_container_layers(&st);
        if !orphans.is_empty() {
            st.layers.retain(|l| !orphans.contains(&l.id));
            self.save(&st)?;
            removed.extend(orphans.iter().map(|l| format!("container layer {l}")));
        }
        let layers: HashSet<&str> = st.layers.iter().map(|l| l.id.as_str()).collect();
        for e in fs::read_dir(&self.driver.home).at(&self.driver.home)? {
            let e = e.at(&self.driver.home)?;
            let name = e.file_name().to_string_lossy().to_string();
            if !layers.contains(name.as_str()) {
                let merged = e.path().join("merged");
                if overlay::is_mounted(&merged) {
                    overlay::unmount_path(&merged)?;
                }
                remove_all(&e.path())?;
                removed.push(format!("{}/{name}", self.driver.kind.name()));
            }
        }
        let image_ids: HashSet<&str> = st.images.iter().map(|m| m.id.as_str()).collect();
        let counts = self.config.run_root.join("mounts");
        if let Ok(rd) = fs::read_dir(&counts) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let of_image = name
                    .strip_prefix("image-")
                    .is_some_and(|id| image_ids.contains(id));
                if !layers.contains(name.as_str()) && !of_image {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        // Mounts of images that are gone (a removal cut short).
        let mounts = self.config.run_root.join("image-mounts");
        if let Ok(rd) = fs::read_dir(&mounts) {
            for e in rd.flatten() {
                if !image_ids.contains(e.file_name().to_string_lossy().as_ref()) {
                    if overlay::is_mounted(&e.path()) {
                        overlay::unmount_path(&e.path())?;
                    }
                    let _ = fs::remove_dir(e.path());
                }
            }
        }
        removed.extend(self.remove_gone_run_dirs(&st));
        let images: HashSet<&str> = st.images.iter().map(|m| m.id.as_str()).collect();
        let idir = self.config.graph_root.join("images");
        for e in fs::read_dir(&idir).at(&idir)? {
            let e = e.at(&idir)?;
            let name = e.file_name().to_string_lossy().to_string();
            if !images.contains(name.as_str()) {
                remove_all(&e.path())?;
                removed.push(format!("images/{name}"));
            }
        }
        let blobs: HashSet<String> = st
            .layers
            .iter()
            .flat_map(|l| l.blob_digests())
            .map(|d| d.hex().to_string())
            .collect();
        let bdir = self.config.graph_root.join("blobs/sha256");
        for e in fs::read_dir(&bdir).at(&bdir)? {
            let e = e.at(&bdir)?;
            let name = e.file_name().to_string_lossy().to_string();
            if !blobs.contains(&name) {
                let _ = fs::remove_file(e.path());
                removed.push(format!("blobs/sha256/{name}"));
            }
        }
        Ok(removed)
    }

    /// Run directories (`RUNROOT/containers/ID`: the engine's state, sockets and
    /// user data of a container) of containers that no longer exist: left by a
    /// removal killed after the record went, or made again by a late writer.
    fn remove_gone_run_dirs(&self, st: &State) -> Vec<String> {
        let ids: HashSet<&str> = st.containers.iter().map(|c| c.id.as_str()).collect();
        let dir = self.config.run_root.join("containers");
        let Ok(rd) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !ids.contains(name.as_str()) && remove_all(&e.path()).is_ok() {
                removed.push(format!("run directory containers/{name}"));
            }
        }
        removed
    }

    /// Temporary metadata files of writers killed before their rename. Runs under
    /// the exclusive lock, which every metadata writer holds.
    fn remove_unfinished_writes(&self) -> Result<Vec<String>> {
        let root = &self.config.graph_root;
        let mut removed = Vec::new();
        for e in fs::read_dir(root).at(root)? {
            let name = e.at(root)?.file_name().to_string_lossy().to_string();
            if unfinished_write(&name) {
                let _ = fs::remove_file(root.join(&name));
                removed.push(name);
            }
        }
        Ok(removed)
    }

    /// A new staging entry. Taken under the shared lock so that a recovering process
    /// (exclusive) never sees it half made.
    pub(crate) fn stage(&self) -> Result<Staging> {
        let _g = self.lock.shared()?;
        let tok = random_hex(16);
        let base = self.config.graph_root.join("staging");
        let lock_path = base.join(format!("{tok}.lock"));
        let lock = LockFile::new(&lock_path)
            .try_exclusive()?
            .ok_or_else(|| Error::Invalid(format!("{}: already locked", lock_path.display())))?;
        let dir = base.join(&tok);
        fs::create_dir(&dir).at(&dir)?;
        Ok(Staging {
            dir,
            lock_path,
            _lock: lock,
        })
    }

    /// Flushes the filesystem holding the store (`syncfs`).
    pub(crate) fn sync_filesystem(&self) -> Result<()> {
        let root = &self.config.graph_root;
        let dir = fs::File::open(root).at(root)?;
        rustix::fs::syncfs(&dir).map_err(|e| Error::Io {
            path: root.clone(),
            source: e.into(),
        })
    }

    pub(crate) fn apply_options(&self, whiteouts: WhiteoutMode) -> ApplyOptions {
        ApplyOptions::new(whiteouts)
    }

    // ---- images -------------------------------------------------------------------

    /// Every image, the additional stores' included.
    pub fn images(&self) -> Result<Vec<Image>> {
        self.read(|st| {
            Ok(st
                .images
                .iter()
                .map(|m| m.clone().sized(&st.layers))
                .collect())
        })
    }

    /// An image by name (`alpine`, `docker.io/library/alpine:latest`), ID, ID prefix or
    /// manifest digest.
    pub fn image(&self, name: &str) -> Result<Image> {
        self.read(|st| find_image(st, name).map(|i| st.images[i].clone().sized(&st.layers)))
    }

    /// The manifest an image was stored with, or another one it keeps by digest.
    pub fn image_manifest(&self, image: &Image, instance: Option<&Digest>) -> Result<RawManifest> {
        let d = instance.unwrap_or(&image.manifest_digest);
        if !image.digests.contains(d) && *d != image.manifest_digest {
            return Err(Error::Image(berth_image::Error::BlobNotFound {
                what: format!("image {}", image.id),
                digest: d.clone(),
            }));
        }
        let p = self.image_dir(image).join(format!("manifest-{}", d.hex()));
        let bytes = fs::read(&p).at(&p)?;
        let mt = fs::read_to_string(
            self.image_dir(image)
                .join(format!("manifest-{}.type", d.hex())),
        )
        .unwrap_or_else(|_| berth_image::manifest::guess_media_type(&bytes));
        Ok(RawManifest::new(bytes, mt))
    }

    /// An image's config blob.
    pub fn image_config(&self, image: &Image) -> Result<Vec<u8>> {
        let p = self.image_dir(image).join("config");
        fs::read(&p).at(&p)
    }

    /// Adds a name to an image, taking it off any other image.
    pub fn tag(&self, image: &str, name: &str) -> Result<()> {
        let name = normalize_name(name)?;
        self.write(|st| {
            let i = find_image(st, image)?;
            if st.images[i].read_only {
                return Err(Error::ReadOnly(st.images[i].id.clone()));
            }
            for (j, other) in st.images.iter_mut().enumerate() {
                if j != i && other.store == 0 && other.names.contains(&name) {
                    other.names.retain(|n| *n != name);
                    other.note_names();
                }
            }
            if !st.images[i].names.contains(&name) {
                st.images[i].names.push(name);
            }
            st.images[i].note_names();
            Ok(())
        })
    }

    /// Takes a name off an image.
    pub fn untag(&self, image: &str, name: &str) -> Result<()> {
        let typed = normalize_name(name)?;
        self.write(|st| {
            let i = find_image(st, image)?;
            if st.images[i].read_only {
                return Err(Error::ReadOnly(st.images[i].id.clone()));
            }
            let Some(name) = candidate_names(name)
                .into_iter()
                .find(|n| st.images[i].names.contains(n))
            else {
                return Err(Error::ImageNotFound(typed));
            };
            st.images[i].names.retain(|n| *n != name);
            st.images[i].note_names();
            Ok(())
        })
    }

    /// Removes an image as `rmi` does: named by one of several names, only that name
    /// goes; otherwise the image and the layers nothing else uses.
    pub fn remove_image(&self, name: &str) -> Result<RemovedImage> {
        self.write(|st| {
            let i = find_image(st, name)?;
            let im = st.images[i].clone();
            if im.read_only {
                return Err(Error::ReadOnly(im.id));
            }
            let by_name = name_meant(&im, name);
            if let Some(n) = by_name.as_ref().filter(|_| im.names.len() > 1) {
                st.images[i].names.retain(|x| x != n);
                st.images[i].note_names();
                return Ok(RemovedImage {
                    untagged: vec![n.clone()],
                    ..Default::default()
                });
            }
            if let Some(c) = st.containers.iter().find(|c| c.image == im.id) {
                return Err(Error::ImageInUse {
                    image: im.id.clone(),
                    container: c.id.clone(),
                });
            }
            // An `image mount` of it ends with it: its layers are going.
            let mounted = self.image_mount_point(&im.id);
            if overlay::is_mounted(&mounted) {
                overlay::unmount_path(&mounted)?;
                let _ = fs::remove_dir(&mounted);
                self.set_mount_count(&format!("image-{}", im.id), 0)?;
            }
            st.images.remove(i);
            let layers = self.release_layers(st, im.top_layer.clone())?;
            st.doomed.push(self.image_dir(&im));
            Ok(RemovedImage {
                untagged: im.names.clone(),
                deleted: Some(im.id),
                layers,
            })
        })
    }

    /// Removes `top` and its ancestors while nothing else uses them; runs under the
    /// exclusive lock, after the records that used them are gone from `st`.
    fn release_layers(&self, st: &mut State, mut top: Option<String>) -> Result<Vec<String>> {
        let mut freed = Vec::new();
        while let Some(id) = top.take() {
            let Some(pos) = st.layers.iter().position(|l| l.id == id) else {
                break;
            };
            let l = &st.layers[pos];
            let used = l.store != 0
                || st
                    .images
                    .iter()
                    .any(|m| m.layers.contains(&id) || m.top_layer.as_deref() == Some(&id))
                || st.layers.iter().any(|o| o.parent.as_deref() == Some(&id))
                || st.containers.iter().any(|c| c.layer == id);
            if used {
                break;
            }
            let l = st.layers.remove(pos);
            top = l.parent.clone();
            let merged = self.driver.layer_dir(&l.id).join("merged");
            if self.driver.kind == DriverKind::Overlay && overlay::is_mounted(&merged) {
                overlay::unmount_path(&merged)?;
            }
            st.doomed.push(self.driver.layer_dir(&l.id));
            // Its mapped copies go with it.
            if let Ok(maps) = fs::read_dir(self.mapped_root()) {
                st.doomed.extend(
                    maps.flatten()
                        .map(|m| m.path().join(&l.id))
                        .filter(|p| p.exists()),
                );
            }
            for d in l.blob_digests() {
                if st.layers.iter().any(|o| o.store == 0 && o.has_blob(d)) {
                    continue;
                }
                st.doomed.push(self.blob_path_in(0, d));
            }
            freed.push(l.id);
        }
        Ok(freed)
    }

    // ---- layers -------------------------------------------------------------------

    /// Every layer, the additional stores' included.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        self.read(|st| Ok(st.layers.clone()))
    }

    pub fn layer(&self, id: &str) -> Result<Layer> {
        self.read(|st| {
            st.layer(id)
                .cloned()
                .ok_or_else(|| Error::LayerNotFound(id.into()))
        })
    }

    /// The layer's stack, top first.
    pub(crate) fn stack<'s>(&self, st: &'s State, top: Option<&str>) -> Result<Vec<&'s Layer>> {
        walk_stack(top, |id| st.layer(id))
    }

    /// Writes a layer's changes as a tar (with OCI whiteouts) to `out`.
    pub fn diff<W: Write>(&self, layer_id: &str, out: W) -> Result<DiffReport> {
        let (dir, parent, back) = self.layer_dirs(layer_id)?;
        archive::diff::write_diff_mapped(
            &dir,
            parent.as_deref(),
            self.driver.whiteouts(),
            out,
            back.as_ref(),
        )
    }

    /// [`Store::diff`] without computing its digest (the reader hashes it).
    pub fn diff_unhashed<W: Write>(&self, layer_id: &str, out: W) -> Result<u64> {
        self.diff_unhashed_skipping(layer_id, out, &std::collections::HashSet::new(), None)
    }

    /// [`Store::diff_unhashed`] leaving out these paths (relative to the layer's
    /// root) and what is below them; `mtime` fixes every entry's modification time.
    pub fn diff_unhashed_skipping<W: Write>(
        &self,
        layer_id: &str,
        out: W,
        skip: &std::collections::HashSet<PathBuf>,
        mtime: Option<u64>,
    ) -> Result<u64> {
        let (dir, parent, back) = self.layer_dirs(layer_id)?;
        let mode = self.driver.whiteouts();
        let opts = archive::diff::DiffOptions {
            skip,
            mtime,
            owners: back.as_ref(),
        };
        archive::diff::write_diff_with(&dir, parent.as_deref(), mode, out, &opts)
    }

    /// A layer's directory, its parent's, and the map its owners go back
    /// through (a container's upper layer holding mapped owners).
    #[allow(clippy::type_complexity)]
    fn layer_dirs(
        &self,
        layer_id: &str,
    ) -> Result<(PathBuf, Option<PathBuf>, Option<crate::idmap::IdMap>)> {
        self.read(|st| {
            let l = st
                .layer(layer_id)
                .ok_or_else(|| Error::LayerNotFound(layer_id.into()))?;
            let parent = match &l.parent {
                Some(p) => Some(
                    self.layer_path(st.layer(p).ok_or_else(|| Error::LayerNotFound(p.clone()))?),
                ),
                None => None,
            };
            let back = st
                .containers
                .iter()
                .find(|c| c.layer == layer_id)
                .and_then(|c| c.mapped_upper().cloned());
            Ok((self.layer_path(l), parent, back))
        })
    }

    /// Records an image whose layers sit in `pending` (keyed by blob digest) or in the
    /// store already. Everything is moved into place under the exclusive lock.
    pub(crate) fn commit_image(
        &self,
        new: NewImage,
        pending: &mut HashMap<Digest, Pending>,
    ) -> Result<Image> {
        if new.layer_blobs.len() != new.diff_ids.len() {
            return Err(Error::Invalid(format!(
                "image {}: manifest has {} layers, config {} diff IDs",
                new.config_digest,
                new.layer_blobs.len(),
                new.diff_ids.len()
            )));
        }
        let chains = chain_ids(&new.diff_ids);
        self.write(|st| {
            let r = self.commit_locked(st, &new, &chains, pending);
            if r.is_err() {
                // Layers moved into place before the failure have no record: take
                // them out again (the saved metadata is unchanged).
                let _ = self.recover();
            }
            r
        })
    }

    fn commit_locked(
        &self,
        st: &mut State,
        new: &NewImage,
        chains: &[Digest],
        pending: &mut HashMap<Digest, Pending>,
    ) -> Result<Image> {
        {
            let mut parent: Option<String> = None;
            let mut ids = Vec::new();
            for (i, chain) in chains.iter().enumerate() {
                let id = chain.hex().to_string();
                let (blob, size) = &new.layer_blobs[i];
                if st.layer(&id).is_none() {
                    let layer = self.create_layer(
                        st,
                        &id,
                        parent.as_deref(),
                        blob,
                        *size,
                        &new.diff_ids[i],
                        pending,
                    )?;
                    st.layers.push(layer);
                } else {
                    // The layer is here already, perhaps stored from another blob (an
                    // image imported uncompressed, pushed, and pulled back gzipped):
                    // the manifest recorded below names this one, so it is kept too.
                    self.keep_blob(st, &id, blob, &new.diff_ids[i], pending)?;
                }
                ids.push(id.clone());
                parent = Some(id);
            }
            let id = new.config_digest.hex().to_string();
            let dir = self.config.graph_root.join("images").join(&id);
            mkdirs(&dir)?;
            write_atomic(&dir.join("config"), &new.config)?;
            let mut digests = Vec::new();
            for m in std::iter::once(&new.manifest).chain(&new.other_manifests) {
                let d = m.digest();
                write_atomic(&dir.join(format!("manifest-{}", d.hex())), &m.bytes)?;
                write_atomic(
                    &dir.join(format!("manifest-{}.type", d.hex())),
                    m.media_type.as_bytes(),
                )?;
                digests.push(d);
            }
            let size = Image::unpacked_size(&ids, &st.layers)
                .unwrap_or_else(|| new.layer_blobs.iter().map(|(_, s)| s).sum());
            for other in st.images.iter_mut().filter(|m| m.store == 0 && m.id != id) {
                if other.names.iter().any(|n| new.names.contains(n)) {
                    other.names.retain(|n| !new.names.contains(n));
                    other.note_names();
                }
            }
            let image = match st.images.iter_mut().find(|m| m.id == id && m.store == 0) {
                Some(m) => {
                    for n in &new.names {
                        if !m.names.contains(n) {
                            m.names.push(n.clone());
                        }
                    }
                    m.note_names();
                    for d in digests {
                        if !m.digests.contains(&d) {
                            m.digests.push(d);
                        }
                    }
                    m.manifest_digest = new.manifest.digest();
                    m.manifest_media_type = new.manifest.media_type.clone();
                    m.clone()
                }
                None => {
                    let m = Image {
                        id: id.clone(),
                        names: new.names.clone(),
                        names_history: new.names.clone(),
                        top_layer: parent,
                        layers: ids,
                        config_digest: new.config_digest.clone(),
                        manifest_digest: new.manifest.digest(),
                        manifest_media_type: new.manifest.media_type.clone(),
                        digests,
                        created: now(),
                        size,
                        read_only: false,
                        store: 0,
                    };
                    st.images.push(m.clone());
                    m
                }
            };
            Ok(image)
        }
    }

    /// Moves (or, for vfs and repeated blobs, applies) one layer into place.
    #[allow(clippy::too_many_arguments)]
    fn create_layer(
        &self,
        st: &State,
        id: &str,
        parent: Option<&str>,
        blob: &Digest,
        blob_size: u64,
        diff_id: &Digest,
        pending: &mut HashMap<Digest, Pending>,
    ) -> Result<Layer> {
        let dest = self.driver.layer_dir(id);
        let stored_blob = self.blob_path_in(0, blob);
        let mut layer = Layer {
            id: id.to_string(),
            parent: parent.map(str::to_string),
            created: now(),
            diff_id: Some(diff_id.clone()),
            compressed_digest: Some(blob.clone()),
            compressed_size: Some(blob_size),
            uncompressed_size: None,
            other_blobs: Vec::new(),
            tree_checksum: None,
            container: false,
            read_only: false,
            store: 0,
        };
        let p = pending.get_mut(blob);
        if let Some(p) = p
            && let Some((rep, mut sum)) = p.applied.take()
        {
            if rep.diff_id != *diff_id {
                return Err(Error::DigestMismatch {
                    layer: id.into(),
                    what: "diff ID",
                    expected: diff_id.clone(),
                    actual: rep.diff_id,
                });
            }
            leftover_free(&dest)?;
            let src = p.staging.dir.join("diff");
            if !rep.root_entry {
                // Applied before its parent was known: its root is given now,
                // and the tree checksum (which covers it) taken again.
                self.root_as_given(&src, parent.and_then(|pid| st.layer(pid)))?;
                let known = rep.contents.clone().unwrap_or_default();
                sum = archive::tree::tree_checksum_as(
                    &src,
                    archive::tree::ContentSum::Crc32,
                    &known,
                )?;
            }
            fs::rename(&src, dest.join("diff")).at(&dest)?;
            if !stored_blob.exists() {
                fs::hard_link(&p.blob, &stored_blob)
                    .or_else(|_| fs::copy(&p.blob, &stored_blob).map(|_| ()))
                    .at(&stored_blob)?;
            }
            sync_dir(&self.driver.home)?;
            layer.uncompressed_size = Some(rep.uncompressed_size);
            layer.tree_checksum = Some(sum);
            return Ok(layer);
        }
        // Apply from a blob: the one staged, or one the store (or an additional
        // store) keeps already.
        let source = match pending.get(blob) {
            Some(p) => p.blob.clone(),
            None => {
                let mut found = None;
                for l in &st.layers {
                    if l.has_blob(blob) {
                        let p = self.blob_path_in(l.store, blob);
                        if p.exists() {
                            found = Some(p);
                            break;
                        }
                    }
                }
                found.ok_or_else(|| {
                    Error::Image(berth_image::Error::BlobNotFound {
                        what: format!("layer {id}"),
                        digest: blob.clone(),
                    })
                })?
            }
        };
        let staging = self.stage_locked()?;
        let diff = staging.dir.join("diff");
        mkdirs(&diff)?;
        let pl = parent
            .map(|pid| {
                st.layer(pid)
                    .ok_or_else(|| Error::LayerNotFound(pid.into()))
            })
            .transpose()?;
        self.init_layer_root(&diff, pl)?;
        let f = fs::File::open(&source).at(&source)?;
        let mut opts = self.apply_options(self.driver.whiteouts());
        opts.checksum = true;
        let rep = archive::apply_layer(f, &diff, &opts, None)?;
        if rep.diff_id != *diff_id {
            return Err(Error::DigestMismatch {
                layer: id.into(),
                what: "diff ID",
                expected: diff_id.clone(),
                actual: rep.diff_id,
            });
        }
        if rep.compressed_digest != *blob {
            return Err(Error::DigestMismatch {
                layer: id.into(),
                what: "blob",
                expected: blob.clone(),
                actual: rep.compressed_digest,
            });
        }
        let sum = rep.tree_checksum.clone().expect("asked for");
        leftover_free(&dest)?;
        fs::rename(&diff, dest.join("diff")).at(&dest)?;
        if !stored_blob.exists() {
            fs::hard_link(&source, &stored_blob)
                .or_else(|_| fs::copy(&source, &stored_blob).map(|_| ()))
                .at(&stored_blob)?;
        }
        sync_dir(&self.driver.home)?;
        layer.uncompressed_size = Some(rep.uncompressed_size);
        layer.tree_checksum = Some(sum);
        Ok(layer)
    }

    /// A staging entry for a caller that already holds the exclusive lock.
    pub(crate) fn stage_locked(&self) -> Result<Staging> {
        let tok = random_hex(16);
        let base = self.config.graph_root.join("staging");
        let lock_path = base.join(format!("{tok}.lock"));
        let lock = LockFile::new(&lock_path)
            .try_exclusive()?
            .ok_or_else(|| Error::Invalid(format!("{}: already locked", lock_path.display())))?;
        let dir = base.join(&tok);
        fs::create_dir(&dir).at(&dir)?;
        Ok(Staging {
            dir,
            lock_path,
            _lock: lock,
        })
    }

    /// Applies a layer archive (plain, gzip or zstd) on top of `parent` and records it
    /// as a read-only layer keyed by its chain ID (commit and build produce layers this
    /// way). The stream as given is kept as the layer's blob. An identical layer
    /// already present is returned as it is.
    pub fn put_layer<R: Read>(&self, parent: Option<&str>, reader: R) -> Result<Layer> {
        let parent_layer = match parent {
            Some(p) => Some(self.layer(p)?),
            None => None,
        };
        let parent_chain = match &parent_layer {
            None => None,
            Some(l) if l.container || l.diff_id.is_none() => {
                return Err(Error::Invalid(format!(
                    "layer {}: a container's layer cannot be a parent; commit it first",
                    l.id
                )));
            }
            Some(l) => Some(
                format!("sha256:{}", l.id)
                    .parse::<Digest>()
                    .map_err(|e| Error::Invalid(format!("layer {}: {e}", l.id)))?,
            ),
        };
        let staging = self.stage()?;
        let diff = staging.dir.join("diff");
        mkdirs(&diff)?;
        self.init_layer_root(&diff, parent_layer.as_ref())?;
        let blob = staging.dir.join("blob");
        let f = fs::File::create(&blob).at(&blob)?;
        let mut keep = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut opts = self.apply_options(self.driver.whiteouts());
        opts.checksum = true;
        let rep = archive::apply_layer(reader, &diff, &opts, Some(&mut keep))?;
        keep.into_inner()
            .map_err(|e| Error::io(&blob, e.into_error()))?
            .sync_all()
            .at(&blob)?;
        let chain = match &parent_chain {
            None => rep.diff_id.clone(),
            Some(p) => Digest::sha256_of(format!("{p} {}", rep.diff_id).as_bytes()),
        };
        let id = chain.hex().to_string();
        let sum = rep.tree_checksum.clone().expect("asked for");
        self.write(|st| {
            if let Some(l) = st.layer(&id) {
                return Ok(l.clone());
            }
            if let Some(p) = parent
                && st.layer(p).is_none()
            {
                return Err(Error::LayerNotFound(p.to_string()));
            }
            let dest = self.driver.layer_dir(&id);
            leftover_free(&dest)?;
            fs::rename(&diff, dest.join("diff")).at(&dest)?;
            let stored = self.blob_path_in(0, &rep.compressed_digest);
            if !stored.exists() {
                fs::rename(&blob, &stored).at(&stored)?;
            }
            sync_dir(&self.driver.home)?;
            let l = Layer {
                id: id.clone(),
                parent: parent.map(str::to_string),
                created: now(),
                diff_id: Some(rep.diff_id.clone()),
                compressed_digest: Some(rep.compressed_digest.clone()),
                compressed_size: Some(rep.compressed_size),
                uncompressed_size: Some(rep.uncompressed_size),
                other_blobs: Vec::new(),
                tree_checksum: Some(sum.clone()),
                container: false,
                read_only: false,
                store: 0,
            };
            st.layers.push(l.clone());
            Ok(l)
        })
    }

    // ---- containers ---------------------------------------------------------------

    /// Creates a container: a new read-write layer on the image's top layer.
    pub fn create_container(
        &self,
        image: &str,
        names: &[String],
        metadata: &str,
    ) -> Result<Container> {
        self.create_container_mapped(image, names, metadata, None)
    }

    /// [`Self::create_container`] for a container in a user namespace of its
    /// own that maps IDs through `map` (see [`crate::idmap`]).
    pub fn create_container_mapped(
        &self,
        image: &str,
        names: &[String],
        metadata: &str,
        map: Option<crate::idmap::IdMap>,
    ) -> Result<Container> {
        let strategy = self.check_mappable(map.as_ref())?;
        self.write(|st| self.create_in(st, image, names, metadata, map, strategy))
    }

    /// How a mapped container's root is made, decided here once: ID-mapped
    /// mounts of the layers (overlay only) as root; mapped copies rootless,
    /// where the kernel refuses ID-mapped mounts of the host's filesystems.
    fn check_mappable(&self, map: Option<&crate::idmap::IdMap>) -> Result<crate::idmap::Strategy> {
        use crate::idmap::Strategy;
        let Some(m) = map else {
            return Ok(Strategy::default());
        };
        m.check()?;
        // (vfs would copy and compare whole mapped trees for every diff.)
        if self.driver.kind != DriverKind::Overlay {
            return Err(Error::Invalid(format!(
                "a container with its own ID map needs the overlay storage driver, not {:?}",
                self.driver.kind.name()
            )));
        }
        if crate::config::rootless_uid().is_some() {
            return Ok(Strategy::Copies);
        }
        Ok(Strategy::Mounts)
    }

    /// [`Self::create_container`] with `--userns auto`: the map is picked under
    /// the store's lock from the host IDs `available` (uids, gids: start and
    /// count) that no other container's map holds, so two creates never share
    /// IDs. Its size is `req.size`, else estimated from the image as podman does.
    pub fn create_container_auto(
        &self,
        image: &str,
        names: &[String],
        metadata: &str,
        req: &crate::idmap::AutoRequest,
        available: crate::idmap::Available,
    ) -> Result<Container> {
        let size = match req.size {
            Some(n) => n,
            None => self.auto_size_of(image)?,
        };
        let probe = crate::idmap::pick_auto(size, req, available, &[])?;
        let strategy = self.check_mappable(Some(&probe))?;
        self.write(|st| {
            let used: Vec<&crate::idmap::IdMap> = st
                .containers
                .iter()
                .filter_map(|c| c.id_map.as_ref())
                .collect();
            let map = crate::idmap::pick_auto(size, req, available, &used)?;
            self.create_in(st, image, names, metadata, Some(map), strategy)
        })
    }

    /// podman's estimate of the IDs an image needs (see
    /// [`crate::idmap::auto_size`]): its layers' owners and the IDs its
    /// /etc/passwd and /etc/group name. Layers never change: walked unlocked.
    fn auto_size_of(&self, image: &str) -> Result<u32> {
        let dirs: Vec<PathBuf> = self.read(|st| {
            let im = &st.images[find_image(st, image)?];
            Ok(self
                .stack(st, im.top_layer.as_deref())?
                .iter()
                .map(|l| self.layer_path(l))
                .collect())
        })?;
        let mut highest = None;
        for d in &dirs {
            highest = highest.max(highest_owner(d));
        }
        // The topmost copy of each file is the one the container sees.
        let file = |name: &str| {
            dirs.iter()
                .map(|d| d.join(name))
                .find(|p| p.symlink_metadata().is_ok())
                .and_then(|p| fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        let from_files = crate::idmap::ids_in_account_file(&file("etc/passwd"), &[2, 3])
            .max(crate::idmap::ids_in_account_file(&file("etc/group"), &[2]));
        crate::idmap::auto_size(highest, from_files)
    }

    fn create_in(
        &self,
        st: &mut State,
        image: &str,
        names: &[String],
        metadata: &str,
        map: Option<crate::idmap::IdMap>,
        strategy: crate::idmap::Strategy,
    ) -> Result<Container> {
        let im = st.images[find_image(st, image)?].clone();
        check_names_free(st, names)?;
        let id = random_hex(32);
        let dir = self.driver.layer_dir(&id);
        let diff = dir.join("diff");
        mkdirs(&diff)?;
        // With mapped copies the upper layer holds mapped owners, its root too.
        let copies = map
            .as_ref()
            .filter(|_| strategy == crate::idmap::Strategy::Copies);
        match self.driver.kind {
            DriverKind::Overlay => {
                mkdirs(&dir.join("work"))?;
                mkdirs(&dir.join("merged"))?;
                // The merged root takes the upper dir's owner and mode:
                // give it the image's, so that `/` is what the image says.
                if let Some(l) = im.top_layer.as_deref().and_then(|t| st.layer(t)) {
                    copy_owner_and_mode(&self.layer_path(l), &diff, copies)?;
                }
            }
            DriverKind::Vfs => {
                if let Some(top) = &im.top_layer {
                    let l = st
                        .layer(top)
                        .ok_or_else(|| Error::LayerNotFound(top.clone()))?;
                    vfs::copy_tree_mapped(&self.layer_path(l), &diff, copies)?;
                }
            }
        }
        st.layers.push(container_layer(&id, im.top_layer.clone()));
        let c = Container {
            id: id.clone(),
            names: names.to_vec(),
            image: im.id.clone(),
            layer: id,
            metadata: metadata.to_string(),
            created: now(),
            rootfs: None,
            id_map: map,
            id_map_strategy: strategy,
        };
        st.containers.push(c.clone());
        Ok(c)
    }

    /// A container whose root is a host directory (`run --rootfs`): its own layer
    /// only holds the upper and work directories of an overlay over it.
    pub fn create_container_on(
        &self,
        root: ExternalRoot,
        names: &[String],
        metadata: &str,
    ) -> Result<Container> {
        let bad = |m: &str| Error::Driver {
            driver: self.driver.kind.name().to_string(),
            message: format!("--rootfs {}: {m}", root.path.display()),
        };
        if !root.path.is_dir() {
            return Err(bad("not a directory"));
        }
        if root.overlay && self.driver.kind != DriverKind::Overlay {
            return Err(bad("an overlay (:O) needs the overlay driver"));
        }
        self.write(|st| {
            check_names_free(st, names)?;
            let id = random_hex(32);
            let dir = self.driver.layer_dir(&id);
            for d in ["diff", "work", "merged"] {
                mkdirs(&dir.join(d))?;
            }
            if root.overlay {
                copy_owner_and_mode(&root.path, &dir.join("diff"), None)?;
            }
            st.layers.push(container_layer(&id, None));
            let c = Container {
                id: id.clone(),
                names: names.to_vec(),
                image: String::new(),
                layer: id,
                metadata: metadata.to_string(),
                created: now(),
                rootfs: Some(root.clone()),
                id_map: None,
                id_map_strategy: Default::default(),
            };
            st.containers.push(c.clone());
            Ok(c)
        })
    }

    pub fn containers(&self) -> Result<Vec<Container>> {
        self.read(|st| Ok(st.containers.clone()))
    }

    /// A container by name, ID or ID prefix.
    pub fn container(&self, name: &str) -> Result<Container> {
        self.read(|st| find_container(st, name).map(|i| st.containers[i].clone()))
    }

    /// Where the mount count of a container's root lives: the run root, so that a
    /// reboot (which drops every mount) drops the counts too.
    fn mount_count_path(&self, layer: &str) -> PathBuf {
        self.config.run_root.join("mounts").join(layer)
    }

    fn mount_count(&self, layer: &str) -> u32 {
        fs::read_to_string(self.mount_count_path(layer))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn set_mount_count(&self, layer: &str, n: u32) -> Result<()> {
        let p = self.mount_count_path(layer);
        if n == 0 {
            return match fs::remove_file(&p) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(p, e)),
            };
        }
        mkdirs(p.parent().expect("parent"))?;
        write_atomic(&p, n.to_string().as_bytes())
    }

    /// Mounts a container's root filesystem and returns where (vfs: its directory).
    /// Mounts are counted across processes: each `mount` needs an `unmount`.
    pub fn mount(&self, container: &str) -> Result<PathBuf> {
        let c = self.container(container)?;
        if let Some(map) = c.mapped_upper() {
            self.ensure_mapped_copies(&c, map)?;
        }
        self.write(|st| {
            let c = st.containers[find_container(st, container)?].clone();
            let own = st
                .layer(&c.layer)
                .ok_or_else(|| Error::LayerNotFound(c.layer.clone()))?;
            match &c.rootfs {
                // The directory itself is the root: nothing to mount.
                Some(r) if !r.overlay => return Ok(r.path.clone()),
                Some(_) => {}
                // Nothing to mount, but counted as an overlay mount is, so
                // that `mount` lists what is mounted (as containers/storage
                // counts vfs mounts too).
                None if self.driver.kind == DriverKind::Vfs => {
                    let n = self.mount_count(&c.layer);
                    self.set_mount_count(&c.layer, n.saturating_add(1))?;
                    return Ok(self.layer_path(own));
                }
                None => {}
            }
            let dir = self.driver.layer_dir(&c.layer);
            let merged = dir.join("merged");
            if overlay::is_mounted(&merged) {
                let n = self.mount_count(&c.layer);
                self.set_mount_count(&c.layer, n.saturating_add(1).max(1))?;
                return Ok(merged);
            }
            let copies = c.mapped_upper();
            let lowers: Vec<PathBuf> = match &c.rootfs {
                Some(r) => vec![r.path.clone()],
                None => self
                    .stack(st, own.parent.as_deref())?
                    .iter()
                    .map(|l| match copies {
                        Some(m) => {
                            let p = self.mapped_layer_path(l, m);
                            if p.is_dir() {
                                Ok(p)
                            } else {
                                Err(Error::Invalid(format!(
                                    "layer {}: its mapped copy is missing",
                                    l.id
                                )))
                            }
                        }
                        None => Ok(self.layer_path(l)),
                    })
                    .collect::<Result<_>>()?,
            };
            let empty = self.config.graph_root.join("empty");
            let lowers: Vec<&Path> = if lowers.is_empty() {
                vec![empty.as_path()]
            } else {
                lowers.iter().map(PathBuf::as_path).collect()
            };
            let upper = (dir.join("diff"), dir.join("work"));
            let extra = self.driver.mount_options();
            match c.id_map.as_ref().filter(|_| copies.is_none()) {
                None => overlay::mount(&lowers, Some((&upper.0, &upper.1)), &merged, extra)?,
                Some(map) => {
                    use std::os::fd::AsFd;
                    let (lower, upper_ns) =
                        (map.user_namespace()?, map.for_upper().user_namespace()?);
                    let ns = (lower.as_fd(), upper_ns.as_fd());
                    let scratch = dir.join("idmapped");
                    let upper = (upper.0.as_path(), upper.1.as_path());
                    overlay::mount_idmapped(&lowers, upper, &merged, extra, ns, &scratch)?
                }
            }
            self.set_mount_count(&c.layer, 1)?;
            Ok(merged)
        })
    }

    /// Where a container's root filesystem is mounted now, if it is (a vfs
    /// container's root is always in place).
    pub fn mount_point(&self, container: &str) -> Option<PathBuf> {
        let c = self.container(container).ok()?;
        match &c.rootfs {
            Some(r) if !r.overlay => return Some(r.path.clone()),
            Some(_) => {}
            None if self.driver.kind == DriverKind::Vfs => {
                return (self.mount_count(&c.layer) > 0).then(|| self.driver.diff_dir(&c.layer));
            }
            None => {}
        }
        let merged = self.driver.layer_dir(&c.layer).join("merged");
        overlay::is_mounted(&merged).then_some(merged)
    }

    /// Drops one mount of a container's root filesystem, unmounting it when none is
    /// left (or at once with `force`). Returns whether it is still mounted.
    pub fn unmount(&self, container: &str, force: bool) -> Result<bool> {
        let c = self.container(container)?;
        let overlaid = c.rootfs.as_ref().is_none_or(|r| r.overlay);
        if !overlaid {
            return Ok(false);
        }
        let _g = self.lock.exclusive()?;
        let n = self.mount_count(&c.layer).saturating_sub(1);
        if self.driver.kind == DriverKind::Vfs {
            let n = if force { 0 } else { n };
            self.set_mount_count(&c.layer, n)?;
            return Ok(n > 0);
        }
        let merged = self.driver.layer_dir(&c.layer).join("merged");
        if n > 0 && !force && overlay::is_mounted(&merged) {
            self.set_mount_count(&c.layer, n)?;
            return Ok(true);
        }
        overlay::unmount_path(&merged)?;
        self.set_mount_count(&c.layer, 0)?;
        Ok(false)
    }

    /// Where an image's root filesystem is mounted by [`Store::mount_image`].
    fn image_mount_point(&self, id: &str) -> PathBuf {
        self.config.run_root.join("image-mounts").join(id)
    }

    /// Mounts an image's root filesystem read-only (`image mount`, `--mount
    /// type=image`) and returns its ID and where; counted across processes as
    /// container mounts are (vfs: the top layer's own directory).
    pub fn mount_image(&self, image: &str) -> Result<(String, PathBuf)> {
        self.write(|st| {
            let im = st.images[find_image(st, image)?].clone();
            let key = format!("image-{}", im.id);
            let layers: Vec<PathBuf> = self
                .stack(st, im.top_layer.as_deref())?
                .iter()
                .map(|l| self.layer_path(l))
                .collect();
            if self.driver.kind == DriverKind::Vfs {
                let top = layers
                    .first()
                    .cloned()
                    .unwrap_or_else(|| self.config.graph_root.join("empty"));
                return Ok((im.id, top));
            }
            let target = self.image_mount_point(&im.id);
            if overlay::is_mounted(&target) {
                let n = self.mount_count(&key);
                self.set_mount_count(&key, n.saturating_add(1).max(1))?;
                return Ok((im.id, target));
            }
            mkdirs(&target)?;
            let empty = self.config.graph_root.join("empty");
            mkdirs(&empty)?;
            // One lower alone makes no overlay: the empty directory goes under it.
            let mut lowers: Vec<&Path> = layers.iter().map(PathBuf::as_path).collect();
            if lowers.len() < 2 {
                lowers.push(empty.as_path());
            }
            overlay::mount(&lowers, None, &target, self.driver.mount_options())?;
            self.set_mount_count(&key, 1)?;
            Ok((im.id, target))
        })
    }

    /// Undoes one [`Store::mount_image`] (all of them with `force`); returns
    /// the image's ID when it is no longer mounted by this call, None when it
    /// was not mounted or still is.
    pub fn unmount_image(&self, image: &str, force: bool) -> Result<Option<String>> {
        let im = self.image(image)?;
        if self.driver.kind != DriverKind::Overlay {
            return Ok(None);
        }
        let _g = self.lock.exclusive()?;
        let key = format!("image-{}", im.id);
        let target = self.image_mount_point(&im.id);
        if !overlay::is_mounted(&target) {
            self.set_mount_count(&key, 0)?;
            return Ok(None);
        }
        let n = self.mount_count(&key).saturating_sub(1);
        if n > 0 && !force {
            self.set_mount_count(&key, n)?;
            return Ok(None);
        }
        overlay::unmount_path(&target)?;
        let _ = fs::remove_dir(&target);
        self.set_mount_count(&key, 0)?;
        Ok(Some(im.id))
    }

    /// An image's layer directories, top first (for an overlay of one's own).
    pub fn image_layer_dirs(&self, image: &str) -> Result<Vec<PathBuf>> {
        self.read(|st| {
            let im = &st.images[find_image(st, image)?];
            Ok(self
                .stack(st, im.top_layer.as_deref())?
                .iter()
                .map(|l| self.layer_path(l))
                .collect())
        })
    }

    /// The images mounted now, with where.
    pub fn mounted_images(&self) -> Result<Vec<(Image, PathBuf)>> {
        Ok(self
            .images()?
            .into_iter()
            .filter_map(|im| {
                let p = self.image_mount_point(&im.id);
                overlay::is_mounted(&p).then_some((im, p))
            })
            .collect())
    }

    /// Gives a container a new name (its only one).
    pub fn rename_container(&self, container: &str, name: &str) -> Result<()> {
        self.write(|st| {
            let i = find_container(st, container)?;
            if let Some(other) = st
                .containers
                .iter()
                .find(|c| c.id != st.containers[i].id && c.names.iter().any(|n| n == name))
            {
                return Err(Error::NameInUse {
                    name: name.to_string(),
                    id: other.id.clone(),
                });
            }
            st.containers[i].names = vec![name.to_string()];
            Ok(())
        })
    }

    /// Replaces a container's engine metadata (under the store's lock).
    pub fn set_container_metadata(&self, container: &str, metadata: String) -> Result<()> {
        self.write(|st| {
            let i = find_container(st, container)?;
            st.containers[i].metadata = metadata;
            Ok(())
        })
    }

    /// Deletes a container and its read-write layer (unmounting it first).
    pub fn remove_container(&self, container: &str) -> Result<()> {
        self.write(|st| {
            let i = find_container(st, container)?;
            let c = st.containers.remove(i);
            let merged = self.driver.layer_dir(&c.layer).join("merged");
            if self.driver.kind == DriverKind::Overlay && overlay::is_mounted(&merged) {
                overlay::unmount_path(&merged)?;
            }
            self.set_mount_count(&c.layer, 0)?;
            st.layers.retain(|l| l.id != c.layer);
            st.doomed.push(self.driver.layer_dir(&c.layer));
            Ok(())
        })
    }
}

/// `name` as stored: a normalised reference (`docker.io/library/alpine:latest`).
/// The full name a new local image gets (`tag`, `commit`, `build -t`,
/// `import`): a name that names no registry is local, `localhost/NAME:TAG`, as
/// podman and buildah name it, so that a later `push` never guesses a public
/// registry for it.
pub fn normalize_name(name: &str) -> Result<String> {
    let local;
    let name = if names_registry(name) {
        name
    } else {
        local = format!("localhost/{name}");
        &local
    };
    Reference::parse(name)
        .map(|r| r.to_string())
        .map_err(|e| Error::Image(e.into()))
}

/// Whether a name's first component is a registry (`host.domain`, `host:port`
/// or `localhost`), as the reference grammar tells a domain from a path.
fn names_registry(name: &str) -> bool {
    name.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    })
}

/// The full names a name typed to find an image may stand for: itself when
/// qualified; else the local image first, then Docker Hub's (a short name of
/// an image pulled from there).
pub fn candidate_names(name: &str) -> Vec<String> {
    let mut v: Vec<String> = normalize_name(name).into_iter().collect();
    if let Ok(hub) = Reference::parse(name).map(|r| r.to_string())
        && !v.contains(&hub)
    {
        v.push(hub);
    }
    v
}

pub(crate) fn find_image(st: &State, name: &str) -> Result<usize> {
    if let Some(i) = st
        .images
        .iter()
        .position(|m| m.names.iter().any(|n| n == name))
    {
        return Ok(i);
    }
    for n in candidate_names(name) {
        if let Some(i) = st.images.iter().position(|m| m.names.contains(&n)) {
            return Ok(i);
        }
    }
    let hits: Vec<usize> = (0..st.images.len())
        .filter(|&i| st.images[i].matches_id(name))
        .collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => by_short_name(st, name).ok_or_else(|| Error::ImageNotFound(name.to_string())),
        [a, b, ..] => {
            if st.images[*a].id == st.images[*b].id {
                Ok(*a)
            } else {
                Err(Error::Ambiguous {
                    name: name.to_string(),
                    first: st.images[*a].id.clone(),
                    second: st.images[*b].id.clone(),
                })
            }
        }
    }
}

/// The ending a short name (`NAME[:TAG]`, `PATH/NAME[:TAG]`) matches in an
/// image's names, as podman finds it last: `/PATH:TAG` (`latest` when no tag is
/// given), from whatever registry.
fn short_name_suffix(name: &str) -> Option<String> {
    if names_registry(name) || name.contains('@') || name.is_empty() {
        return None;
    }
    let (path, tag) = match name.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (name, "latest"),
    };
    Some(format!("/{path}:{tag}"))
}

fn by_short_name(st: &State, name: &str) -> Option<usize> {
    let wanted = short_name_suffix(name)?;
    st.images
        .iter()
        .position(|m| m.names.iter().any(|n| n.ends_with(&wanted)))
}

/// Which of the image's names `name` stands for, if it names one.
fn name_meant(im: &Image, name: &str) -> Option<String> {
    candidate_names(name)
        .into_iter()
        .find(|n| im.names.contains(n))
        .or_else(|| {
            let wanted = short_name_suffix(name)?;
            im.names.iter().find(|n| n.ends_with(&wanted)).cloned()
        })
}

fn find_container(st: &State, name: &str) -> Result<usize> {
    if let Some(i) = st
        .containers
        .iter()
        .position(|c| c.id == name || c.names.iter().any(|n| n == name))
    {
        return Ok(i);
    }
    let hits: Vec<usize> = (0..st.containers.len())
        .filter(|&i| name.len() >= 3 && st.containers[i].id.starts_with(name))
        .collect();
    match hits.as_slice() {
        [i] => Ok(*i),
        _ => Err(Error::ContainerNotFound(name.to_string())),
    }
}

/// Removes the half-built copies (`.LAYER.tmp-PID-…`) of processes gone.
fn remove_stale_copies(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((_, rest)) = name.split_once(".tmp-") else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if name.starts_with('.') && !alive {
            let _ = remove_all(&e.path());
        }
    }
}

/// The highest owner (user or group) of anything under `dir`; None when empty.
fn highest_owner(dir: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let mut todo = vec![dir.to_path_buf()];
    let mut high = None;
    while let Some(d) = todo.pop() {
        let Ok(md) = fs::symlink_metadata(&d) else {
            continue;
        };
        high = high.max(Some(md.uid().max(md.gid())));
        if md.is_dir()
            && let Ok(entries) = fs::read_dir(&d)
        {
            todo.extend(entries.flatten().map(|e| e.path()));
        }
    }
    high
}

/// Gives `to` the owner (through `map`, when given) and permission bits of `from`.
fn copy_owner_and_mode(from: &Path, to: &Path, map: Option<&crate::idmap::IdMap>) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let md = fs::metadata(from).at(from)?;
    let (uid, gid) = match map {
        Some(m) => m.copy_owner(md.uid(), md.gid()),
        None => (md.uid(), md.gid()),
    };
    std::os::unix::fs::chown(to, Some(uid), Some(gid)).at(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(md.mode() & 0o7777)).at(to)
}

/// The layers from `top` down its parents, top first: a loop in the chain,
/// or more layers than [`MAX_STACK`], refused in words.
fn walk_stack<'s>(
    top: Option<&str>,
    find: impl Fn(&str) -> Option<&'s Layer>,
) -> Result<Vec<&'s Layer>> {
    let mut out: Vec<&Layer> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut cur = top.map(str::to_string);
    while let Some(id) = cur {
        let l = find(&id).ok_or_else(|| Error::LayerNotFound(id.clone()))?;
        if !seen.insert(id.clone()) {
            return Err(Error::Invalid(format!("layer {id}: parent chain loops")));
        }
        if out.len() >= MAX_STACK {
            return Err(Error::Invalid(format!(
                "layer {}: more than {MAX_STACK} layers in its stack",
                top.unwrap_or_default()
            )));
        }
        out.push(l);
        cur = l.parent.clone();
    }
    Ok(out)
}

/// The deepest stack of layers a store takes.
const MAX_STACK: usize = 4096;

#[cfg(test)]
mod stack_tests {
    use super::*;

    fn layer(id: &str, parent: Option<&str>) -> Layer {
        serde_json::from_value(serde_json::json!({"id": id, "parent": parent, "created": 0}))
            .unwrap()
    }

    #[test]
    fn loops_and_depth_are_told_apart() {
        let looped = [layer("a", Some("b")), layer("b", Some("a"))];
        let find = |id: &str| looped.iter().find(|l| l.id == id);
        let e = walk_stack(Some("a"), find).unwrap_err().to_string();
        assert!(e.contains("parent chain loops"), "{e}");
        let deep: Vec<Layer> = (0..=MAX_STACK)
            .map(|i| {
                let parent = (i > 0).then(|| (i - 1).to_string());
                layer(&i.to_string(), parent.as_deref())
            })
            .collect();
        let by_id: std::collections::HashMap<&str, &Layer> =
            deep.iter().map(|l| (l.id.as_str(), l)).collect();
        let top = MAX_STACK.to_string();
        let e = walk_stack(Some(&top), |id| by_id.get(id).copied())
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 4096 layers"), "{e}");
        let ok = walk_stack(Some("4095"), |id| by_id.get(id).copied()).unwrap();
        assert_eq!(ok.len(), MAX_STACK);
    }
}
