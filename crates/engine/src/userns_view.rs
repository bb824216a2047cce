//! A container in a user namespace of its own (`--uidmap`) is set up by the
//! runtime from inside that namespace, whose root has no rights over the store's
//! private directories (0700, the host root's). So its root filesystem and each
//! file or directory it binds from the store are bound one by one under
//! `/run/berth-userns/ID` (that directory 0711; `ID` 0710, berth's, its group
//! the mapped root's: passable by the container's root, never writable by it,
//! so nothing it plants there can steer berth's mounts or removals), and the
//! spec points there: nothing else of the store becomes reachable.
//! A rootless user's are under `/tmp/berth-userns-UID` (0711, the user's; one
//! made by anyone else is refused), since its run root is the user's alone.

use crate::run::{RunError, engine};
use berth_runtime::spec::Spec;
use berth_storage::Store;
use berth_storage::idmap::IdMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const BASE: &str = "/run/berth-userns";

fn base() -> PathBuf {
    match berth_runtime::userns::rootless_uid() {
        Some(uid) => PathBuf::from(format!("/tmp/berth-userns-{uid}")),
        None => PathBuf::from(BASE),
    }
}

fn dir(id: &str) -> PathBuf {
    base().join(id)
}

/// Makes the base directory (0711), or takes it if it is this process's
/// user's real directory: never a link, never another user's.
fn make_base(base: &Path) -> Result<(), RunError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o711).create(base);
    let m = std::fs::symlink_metadata(base).map_err(|e| io(base, e))?;
    let me = berth_runtime::sys::geteuid();
    if !m.is_dir() || m.uid() != me {
        return Err(engine(format!(
            "{}: not a directory of this user's own",
            base.display()
        )));
    }
    std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o711)).map_err(|e| io(base, e))
}

fn io(p: &Path, e: std::io::Error) -> RunError {
    engine(format!("{}: {e}", p.display()))
}

/// Binds what the container reaches in the store under its own directory and
/// points `spec` there.
pub fn prepare(store: &Store, id: &str, map: &IdMap, spec: &mut Spec) -> Result<(), RunError> {
    release(id);
    make_base(&base())?;
    let own = dir(id);
    std::fs::create_dir(&own).map_err(|e| io(&own, e))?;
    std::os::unix::fs::chown(&own, None, map.host_gid(0)).map_err(|e| io(&own, e))?;
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o710))
        .map_err(|e| io(&own, e))?;
    let made = bind_all(store, &own, spec);
    if made.is_err() {
        release(id);
    }
    made
}

fn bind_all(store: &Store, own: &Path, spec: &mut Spec) -> Result<(), RunError> {
    if let Some(root) = spec.root.as_mut() {
        let at = own.join("rootfs");
        bind_one(Path::new(&root.path), &at)?;
        root.path = at.to_string_lossy().into_owned();
    }
    let cfg = store.config();
    let private = [cfg.graph_root.as_path(), cfg.run_root.as_path()];
    let mut n = 0;
    for m in &mut spec.mounts {
        let bind = m.kind.as_deref() == Some("bind")
            || m.options.iter().any(|o| o == "bind" || o == "rbind");
        let Some(src) = m.source.as_deref().map(PathBuf::from) else {
            continue;
        };
        if !bind || !private.iter().any(|p| src.starts_with(p)) {
            continue;
        }
        let at = own.join(n.to_string());
        n += 1;
        bind_one(&src, &at)?;
        m.source = Some(at.to_string_lossy().into_owned());
    }
    Ok(())
}

/// Binds `src` on a new `at` of its kind (a directory or a file).
fn bind_one(src: &Path, at: &Path) -> Result<(), RunError> {
    let is_dir = std::fs::metadata(src).map_err(|e| io(src, e))?.is_dir();
    // New entries only (O_EXCL): never through something already there.
    if is_dir {
        std::fs::create_dir(at).map_err(|e| io(at, e))?;
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(at)
            .map_err(|e| io(at, e))?;
    }
    crate::sys::rbind(src, at)
        .map_err(|e| engine(format!("bind {} on {}: {e}", src.display(), at.display())))
}

/// Undoes [`prepare`]: detaches every bind and removes the directory (nothing
/// there is no error).
pub fn release(id: &str) {
    let own = dir(id);
    let Ok(entries) = std::fs::read_dir(&own) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        crate::sys::unmount_nofollow(&p);
        let dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        let _ = if dir {
            std::fs::remove_dir(&p)
        } else {
            std::fs::remove_file(&p)
        };
    }
    let _ = std::fs::remove_dir(&own);
}

/// `system reset`: the views' directory goes when no container has one left.
pub fn remove_base_if_empty() {
    let _ = std::fs::remove_dir(base());
}
