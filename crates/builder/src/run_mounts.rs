//! `RUN --mount`: bind (from the context, a stage or an image), cache (a
//! directory the store keeps between builds), tmpfs, and secret (a file given
//! with `--secret`, never written into the image).
//!
//! Every source path is resolved inside its own root (openat2
//! `RESOLVE_IN_ROOT`), so neither `..` nor a symlink in the context can bind a
//! host path into the build (CVE-2024-1753); a cache's id is hashed into its
//! directory's name, so no id can name a directory outside the cache root
//! (CVE-2024-9675). Writable binds of the context go through an overlay whose
//! upper directory is thrown away: the context itself is never written.
//! Mount points the runtime had to create in the working container are removed
//! after the command, so they do not end up in the image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_engine::volumes::{TmpfsSpec, VolumeSpec};
use berth_image::digest::{Algorithm, Digester};
use berth_storage::archive;

use crate::mount::{Mount, MountSpec, MountType};

/// A RUN mount that could not be set up, with the spec as written.
#[derive(Debug, thiserror::Error)]
#[error("--mount={spec}: {reason}")]
pub struct RunMountError {
    pub spec: String,
    pub reason: MountSetupError,
}

/// Why a RUN mount could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MountSetupError {
    /// Variables in the spec were never expanded (a builder bug).
    #[error("unexpanded variables")]
    Unexpanded,
    #[error("a secret mount needs an id")]
    SecretNeedsId,
    #[error("a {0} mount needs a target")]
    NoTarget(&'static str),
    #[error("mount target {0}: no ':' or '..' allowed")]
    BadTarget(String),
    #[error("{what} {path}: outside its root")]
    OutsideRoot { what: &'static str, path: String },
    #[error("{what} {path}: no such file or directory")]
    NotFound { what: &'static str, path: String },
    /// The engine's `-v SRC:DST` cannot say a path holding ':'.
    #[error("{what} {path}: paths holding ':' cannot be mounted")]
    Colon { what: &'static str, path: String },
    #[error("from={0}: no such stage")]
    NoStage(String),
    #[error("cache {id}: {source}")]
    Cache { id: String, source: std::io::Error },
    #[error("secret {0} is required but was not given with --secret")]
    SecretRequired(String),
    #[error("secret {id}: {}: {source}", .path.display())]
    SecretRead {
        id: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret {id}: {source}")]
    SecretWrite { id: String, source: std::io::Error },
    #[error("ssh {0} is required but no agent was given with --ssh")]
    SshRequired(String),
    /// `-v NAME:DST:O`: an overlay needs a host directory.
    #[error("-v {0}: an overlay (:O) needs a host path as its source")]
    OverlayNotHostPath(String),
    /// The RUN's scratch directory.
    #[error(transparent)]
    Scratch(std::io::Error),
    /// The overlay over a writable bind (boxed: the store's errors are large).
    #[error(transparent)]
    Overlay(Box<berth_storage::Error>),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> MountSetupError + '_ {
    move |source| MountSetupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where RUN's mounts come from.
pub struct Sources<'a> {
    pub context: &'a Path,
    /// Stages built so far: their names and mounted roots.
    pub stages: &'a [(Vec<String>, PathBuf)],
    /// `--secret id=ID,src=PATH`.
    pub secrets: &'a BTreeMap<String, PathBuf>,
    /// `--ssh ID=SOCKET`: SSH agents' sockets by id.
    pub ssh: &'a BTreeMap<String, PathBuf>,
    /// The store's directory for cache mounts.
    pub cache_root: PathBuf,
    /// Scratch space for this RUN (secret copies, overlay dirs); removed after.
    pub scratch: PathBuf,
    /// The stage's working directory (relative targets).
    pub workdir: &'a str,
}

/// What the engine is handed for one RUN, and what to undo after it.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Bind mounts.
    pub volumes: Vec<VolumeSpec>,
    /// Tmpfs mounts.
    pub tmpfs: Vec<TmpfsSpec>,
    /// `NAME=VALUE` for secrets exposed as environment variables.
    pub env: Vec<String>,
    /// Overlays mounted for writable binds, unmounted after the command.
    overlays: Vec<PathBuf>,
}

fn target_of(m: &Mount, workdir: &str) -> Result<String, MountSetupError> {
    let t = match (&m.target, m.kind) {
        (Some(t), _) => t.clone(),
        (None, MountType::Secret) => format!(
            "/run/secrets/{}",
            m.id.as_deref().ok_or(MountSetupError::SecretNeedsId)?
        ),
        (None, k) => return Err(MountSetupError::NoTarget(k.as_str())),
    };
    let t = if t.starts_with('/') {
        t
    } else {
        format!("{}/{t}", workdir.trim_end_matches('/'))
    };
    if t.contains(':') || t.split('/').any(|c| c == "..") {
        return Err(MountSetupError::BadTarget(t));
    }
    Ok(t)
}

/// A path `rel` inside `root`, symlinks resolved inside it; an error when it
/// does not exist there.
fn inside(root: &Path, rel: &str, what: &'static str) -> Result<PathBuf, MountSetupError> {
    let path = rel.to_string();
    let clean: PathBuf = Path::new(rel)
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    if crate::ignore::clean(rel).starts_with("..") {
        return Err(MountSetupError::OutsideRoot { what, path });
    }
    let resolved =
        archive::resolve_in_root(root, &clean).ok_or_else(|| MountSetupError::NotFound {
            what,
            path: path.clone(),
        })?;
    let host = root.join(resolved);
    if host.to_string_lossy().contains(':') {
        return Err(MountSetupError::Colon { what, path });
    }
    Ok(host)
}

/// The bind mounts, tmpfs mounts and secret variables of one RUN.
pub fn prepare(specs: &[MountSpec], src: &Sources) -> Result<Prepared, RunMountError> {
    let mut out = Prepared::default();
    for spec in specs {
        let fail = |reason| RunMountError {
            spec: spec.spec.clone(),
            reason,
        };
        let m = spec
            .mount
            .as_ref()
            .ok_or_else(|| fail(MountSetupError::Unexpanded))?;
        if let Err(e) = prepare_one(m, src, &mut out) {
            out.release();
            return Err(fail(e));
        }
    }
    Ok(out)
}

fn prepare_one(m: &Mount, src: &Sources, out: &mut Prepared) -> Result<(), MountSetupError> {
    match m.kind {
        MountType::Bind => {
            let target = target_of(m, src.workdir)?;
            let root = match &m.from {
                None => src.context.to_path_buf(),
                Some(f) => src
                    .stages
                    .iter()
                    .find(|(names, _)| names.contains(&f.to_ascii_lowercase()))
                    .map(|(_, r)| r.clone())
                    .ok_or_else(|| MountSetupError::NoStage(f.clone()))?,
            };
            let host = inside(&root, m.source.as_deref().unwrap_or("."), "source")?;
            let host = if m.readonly {
                host
            } else {
                let base = src.scratch.join(format!("rw-{}", out.volumes.len()));
                writable_copy(&host, base, out)?
            };
            out.volumes
                .push(VolumeSpec::bind(host, &target, m.readonly));
        }
        MountType::Cache => {
            let target = target_of(m, src.workdir)?;
            let id = m.id.clone().unwrap_or_else(|| target.clone());
            let mut d = Digester::new(Algorithm::Sha256);
            d.update(id.as_bytes());
            let dir = src.cache_root.join(d.finish().hex());
            if !dir.exists() {
                std::fs::create_dir_all(&dir).map_err(|source| MountSetupError::Cache {
                    id: id.clone(),
                    source,
                })?;
                set_owner_mode(&dir, m.uid, m.gid, Some(m.mode.unwrap_or(0o755)))?;
            }
            out.volumes.push(VolumeSpec::bind(dir, &target, m.readonly));
        }
        MountType::Tmpfs => {
            let target = target_of(m, src.workdir)?;
            out.tmpfs.push(TmpfsSpec {
                destination: target,
                options: m.size.map(|n| format!("size={n}")).into_iter().collect(),
            });
        }
        MountType::Secret => {
            let id = m.id.as_deref().ok_or(MountSetupError::SecretNeedsId)?;
            let Some(file) = src.secrets.get(id) else {
                if m.required {
                    return Err(MountSetupError::SecretRequired(id.to_string()));
                }
                return Ok(());
            };
            let data = std::fs::read(file).map_err(|source| MountSetupError::SecretRead {
                id: id.to_string(),
                path: file.clone(),
                source,
            })?;
            if let Some(var) = &m.env {
                out.env.push(format!(
                    "{var}={}",
                    String::from_utf8_lossy(&data).trim_end_matches('\n')
                ));
                if m.target.is_none() {
                    return Ok(());
                }
            }
            let target = target_of(m, src.workdir)?;
            // A copy of its own, with the mode and owner asked for.
            std::fs::create_dir_all(&src.scratch).map_err(MountSetupError::Scratch)?;
            let copy = src.scratch.join(format!("secret-{}", out.volumes.len()));
            std::fs::write(&copy, &data).map_err(|source| MountSetupError::SecretWrite {
                id: id.to_string(),
                source,
            })?;
            set_owner_mode(&copy, m.uid, m.gid, Some(m.mode.unwrap_or(0o400)))?;
            out.volumes.push(VolumeSpec::bind(copy, &target, true));
        }
        MountType::Ssh => {
            let id = m.id.as_deref().unwrap_or("default");
            let Some(socket) = src.ssh.get(id) else {
                if m.required {
                    return Err(MountSetupError::SshRequired(id.to_string()));
                }
                return Ok(());
            };
            // The agent's socket, where SSH_AUTH_SOCK says (buildkit's place).
            let target = match &m.target {
                Some(_) => target_of(m, src.workdir)?,
                None => format!("/run/buildkit/ssh_agent.{}", out.volumes.len()),
            };
            // The first agent is SSH_AUTH_SOCK's, as buildkit has it.
            if !out.env.iter().any(|e| e.starts_with("SSH_AUTH_SOCK=")) {
                out.env.push(format!("SSH_AUTH_SOCK={target}"));
            }
            out.volumes
                .push(VolumeSpec::bind(socket.clone(), &target, true));
        }
    }
    Ok(())
}

/// A writable view of `host` whose writes are thrown away: an overlay over a
/// directory, a copy of a file.
fn writable_copy(
    host: &Path,
    base: PathBuf,
    out: &mut Prepared,
) -> Result<PathBuf, MountSetupError> {
    if host.is_dir() {
        let (upper, work, merged) = (base.join("upper"), base.join("work"), base.join("merged"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir_all(d).map_err(MountSetupError::Scratch)?;
        }
        berth_storage::drivers::overlay::mount(&[host], Some((&upper, &work)), &merged, None)
            .map_err(|e| MountSetupError::Overlay(Box::new(e)))?;
        out.overlays.push(merged.clone());
        Ok(merged)
    } else {
        std::fs::create_dir_all(&base).map_err(MountSetupError::Scratch)?;
        let copy = base.join("file");
        std::fs::copy(host, &copy).map_err(io_at(host))?;
        Ok(copy)
    }
}

/// `-v SRC:DST:O` (`builder run`'s): the same bind over a writable view of
/// SRC whose writes go to a throwaway upper directory under `scratch`, so SRC
/// stays unchanged; unmounted by [`Prepared::release`].
pub fn overlay_volume(
    v: &VolumeSpec,
    scratch: &Path,
    n: usize,
    out: &mut Prepared,
) -> Result<VolumeSpec, MountSetupError> {
    let host = match &v.source {
        berth_engine::volumes::VolumeSource::Host(p) => p.clone(),
        _ => {
            return Err(MountSetupError::OverlayNotHostPath(v.to_string()));
        }
    };
    if !host.exists() {
        return Err(MountSetupError::NotFound {
            what: "source",
            path: host.display().to_string(),
        });
    }
    let base = scratch.join(format!("O-{n}"));
    let merged = writable_copy(&host, base, out)?;
    let options = v.options.iter().filter(|o| *o != "O").cloned().collect();
    Ok(VolumeSpec {
        source: berth_engine::volumes::VolumeSource::Host(merged),
        destination: v.destination.clone(),
        options,
    })
}

fn set_owner_mode(
    p: &Path,
    uid: Option<u32>,
    gid: Option<u32>,
    mode: Option<u32>,
) -> Result<(), MountSetupError> {
    use std::os::unix::fs::PermissionsExt;
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(p, uid, gid).map_err(io_at(p))?;
    }
    if let Some(m) = mode {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).map_err(io_at(p))?;
    }
    Ok(())
}

/// What a RUN killed with its build left in its scratch directory: the
/// overlays of writable binds are unmounted, then the directory (copies of
/// secrets among it) goes. Left in place if an overlay stays mounted, so that
/// nothing is removed through it.
pub fn release_scratch(scratch: &Path) {
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return;
    };
    let mut clear = true;
    for e in entries.flatten() {
        let merged = e.path().join("merged");
        if berth_storage::drivers::overlay::is_mounted(&merged) {
            let _ = berth_storage::drivers::overlay::unmount_path(&merged);
            clear &= !berth_storage::drivers::overlay::is_mounted(&merged);
        }
    }
    if clear {
        let _ = std::fs::remove_dir_all(scratch);
    }
}

impl Prepared {
    /// Unmounts the overlays of writable binds.
    pub fn release(&mut self) {
        for m in self.overlays.drain(..) {
            let _ = berth_storage::drivers::overlay::unmount_path(&m);
        }
    }

    /// Every mount target of this RUN.
    pub fn targets(&self) -> Vec<String> {
        berth_engine::volumes::destinations(&self.volumes, &self.tmpfs)
    }
}

/// The components of `target` missing from `rootfs` now, shallowest first: the
/// runtime will make them as mount points, and [`remove_made`] takes them out
/// again after the command.
pub fn missing(rootfs: &Path, target: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut rel = PathBuf::new();
    for c in Path::new(target).components() {
        if let std::path::Component::Normal(n) = c {
            rel.push(n);
            if archive::resolve_in_root(rootfs, &rel).is_none() {
                out.push(rel.clone());
            }
        }
    }
    out
}

/// Removes what [`missing`] listed, deepest first, if it is still an empty
/// directory or an empty file (what the runtime made). Each path is resolved
/// inside the root again, so nothing the command left behind (a symlink in
/// the path, say) can turn the removal to the host.
pub fn remove_made(rootfs: &Path, made: &[PathBuf]) {
    for rel in made.iter().rev() {
        let Some(parent) = rel.parent() else { continue };
        let Some(name) = rel.file_name() else {
            continue;
        };
        let Some(p) = archive::resolve_in_root(rootfs, parent) else {
            continue;
        };
        let path = rootfs.join(p).join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(md) if md.is_dir() => {
                let _ = std::fs::remove_dir(&path);
            }
            Ok(md) if md.is_file() && md.len() == 0 => {
                let _ = std::fs::remove_file(&path);
            }
            _ => {}
        }
    }
}
