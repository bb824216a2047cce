//! `diff`: what a container changed over its image, as podman lists it —
//! `A` added, `C` changed (directories included), `D` deleted.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use berth_storage::Store;

use crate::container;
use crate::error::Error;

fn fail(m: impl ToString) -> Error {
    Error::Other(m.to_string())
}

/// Whether `rel` exists in any of the image's layers, checked component by
/// component without following symlinks (a layer's content is not trusted).
pub(crate) fn in_lower(layers: &[PathBuf], rel: &Path) -> bool {
    layers.iter().any(|root| {
        let mut p = root.clone();
        for c in rel.components() {
            let Component::Normal(n) = c else {
                return false;
            };
            p.push(n);
            match std::fs::symlink_metadata(&p) {
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        true
    })
}

/// The changes, sorted by path: ("A"|"C"|"D", "/path").
pub fn changes(store: &Store, name: &str) -> Result<Vec<(char, String)>, Error> {
    let info = container::find(store, name).map_err(fail)?;
    let c = store.container(&info.id).map_err(fail)?;
    let lower = lower_paths(store, &c.layer)?;
    let (mut r, w) = std::io::pipe().map_err(fail)?;
    let layer = c.layer.clone();
    let mut tar_bytes = Vec::new();
    std::thread::scope(|s| {
        let writer = s.spawn(move || store.diff_unhashed(&layer, w).map(drop));
        let _ = r.read_to_end(&mut tar_bytes);
        writer.join().expect("diff thread").map_err(fail)
    })?;
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(&tar_bytes[..]);
    for e in ar.entries().map_err(fail)? {
        let e = e.map_err(fail)?;
        let path = e.path().map_err(fail)?.into_owned();
        let clean: PathBuf = path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        if clean.as_os_str().is_empty() {
            continue;
        }
        let name = clean
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == ".wh..wh..opq" {
            continue;
        }
        if let Some(target) = name.strip_prefix(".wh.") {
            let gone = clean.with_file_name(target);
            out.push(('D', format!("/{}", gone.display())));
            continue;
        }
        let kind = if in_lower(&lower, &clean) { 'C' } else { 'A' };
        out.push((kind, format!("/{}", clean.display())));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out.dedup_by(|a, b| a.1 == b.1);
    Ok(drop_mount_points(out, &mount_points(store, &info.id)))
}

/// The directories of the layers below `layer`, top first.
pub(crate) fn lower_paths(store: &Store, layer: &str) -> Result<Vec<PathBuf>, Error> {
    let top = store.layer(layer).map_err(fail)?;
    let mut lower = Vec::new();
    let mut next = top.parent.clone();
    while let Some(id) = next {
        let l = store.layer(&id).map_err(fail)?;
        lower.push(store.layer_path(&l));
        next = l.parent.clone();
    }
    Ok(lower)
}

/// What a commit leaves out of a container's layer: the mount points the
/// runtime made there (absent from the image), and directories that hold
/// nothing else.
pub(crate) fn runtime_made(
    store: &Store,
    id: &str,
    layer: &str,
) -> Result<std::collections::HashSet<PathBuf>, Error> {
    let lower = lower_paths(store, layer)?;
    let upper = store.layer_path(&store.layer(layer).map_err(fail)?);
    let mut skip = std::collections::HashSet::new();
    for m in mount_points(store, id) {
        let rel: PathBuf = Path::new(&m)
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        if !rel.as_os_str().is_empty() && !in_lower(&lower, &rel) {
            skip.insert(rel);
        }
    }
    // Parents made only to hold mount points, deepest first.
    let mut parents: Vec<PathBuf> = skip
        .iter()
        .flat_map(|p| {
            p.ancestors()
                .skip(1)
                .map(Path::to_path_buf)
                .collect::<Vec<_>>()
        })
        .filter(|a| !a.as_os_str().is_empty() && !in_lower(&lower, a))
        .collect();
    parents.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    parents.dedup();
    for p in parents {
        let only_skipped = std::fs::read_dir(upper.join(&p))
            .is_ok_and(|rd| rd.flatten().all(|e| skip.contains(&p.join(e.file_name()))));
        if only_skipped {
            skip.insert(p);
        }
    }
    Ok(skip)
}

/// Where the runtime mounts things (/proc, /dev, /etc/hosts …): it creates those
/// paths in the container's layer, but the user did not change them.
fn mount_points(store: &Store, id: &str) -> Vec<String> {
    berth_runtime::create::load_spec(&container::userdata(store, id))
        .map(|s| s.mounts.into_iter().map(|m| m.destination).collect())
        .unwrap_or_default()
}

/// Drops the mount points, and the directories listed only because they lead
/// to one.
fn drop_mount_points(list: Vec<(char, String)>, mounts: &[String]) -> Vec<(char, String)> {
    let under =
        |p: &str, m: &str| m.len() > p.len() && m.starts_with(p) && m.as_bytes()[p.len()] == b'/';
    let kept: Vec<(char, String)> = list
        .into_iter()
        .filter(|(_, p)| !mounts.iter().any(|m| m == p || under(m, p)))
        .collect();
    kept.iter()
        .filter(|(_, p)| {
            let leads_to_mount = mounts.iter().any(|m| under(p, m));
            !leads_to_mount || kept.iter().any(|(_, q)| under(p, q))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_and_their_only_parents_go() {
        let list = vec![
            ('C', "/etc".to_string()),
            ('A', "/etc/hosts".to_string()),
            ('A', "/dev".to_string()),
            ('A', "/opt".to_string()),
            ('C', "/var".to_string()),
            ('A', "/var/x".to_string()),
        ];
        let mounts = [
            "/etc/hosts".to_string(),
            "/dev".to_string(),
            "/var/run/y".to_string(),
        ];
        let got: Vec<String> = drop_mount_points(list, &mounts)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert_eq!(got, ["/opt", "/var", "/var/x"]);
    }
}
