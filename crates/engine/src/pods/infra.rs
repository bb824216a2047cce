//! A pod's infra container: its image, built here from berth-pause (never
//! pulled), and the container that holds the pod's namespaces.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_storage::Store;

use crate::Error;

/// The infra image's name: one per berth version, made on first use, named
/// as podman names its own (`localhost/podman-pause:VERSION-BUILT`, with
/// `version`'s Server.Version and Server.Built), so that scripts which find or
/// remove the pause image by podman's name go on working.
pub fn image_name() -> String {
    format!("localhost/podman-pause:{}-0", env!("CARGO_PKG_VERSION"))
}

/// The pause program: beside this executable (berth and berth-pause are built and
/// installed together), else on $PATH.
fn pause_binary() -> Result<PathBuf, Error> {
    // This executable may run from a protected copy of itself elsewhere
    // (CVE-2019-5736): the path it was started by counts too.
    let started_as = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .filter(|p| p.components().count() > 1);
    let beside = [std::env::current_exe().ok(), started_as]
        .into_iter()
        .flatten()
        .map(|e| e.with_file_name("berth-pause"))
        .find(|p| p.is_file());
    beside
        .or_else(|| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join("berth-pause"))
                    .find(|p| p.is_file())
            })
        })
        .ok_or_else(|| Error::other("berth-pause is neither beside berth nor on $PATH"))
}

/// The shared libraries a dynamic executable loads (ldd's list); none for a
/// static one.
fn libraries(bin: &Path) -> Result<Vec<PathBuf>, Error> {
    let out = std::process::Command::new("ldd")
        .arg(bin)
        .output()
        .map_err(|e| Error::other(format!("ldd {}: {e}", bin.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = l.split_once("=>").map_or(l, |(_, p)| p.trim());
            path.split_whitespace()
                .next()
                .filter(|p| p.starts_with('/'))
        })
        .map(PathBuf::from)
        .collect())
}

/// A tar header of root's file or directory, mode 0755.
fn header(size: usize, dir: bool) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size as u64);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h
}

/// A layer with `/pause` and what it needs to run.
fn layer(bin: &Path) -> Result<Vec<u8>, Error> {
    let io = |what: &Path, e: std::io::Error| Error::other(format!("{}: {e}", what.display()));
    let mut tar = tar::Builder::new(Vec::new());
    let add = |tar: &mut tar::Builder<Vec<u8>>, from: &Path, to: &Path| {
        let mut data = Vec::new();
        std::fs::File::open(from)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| io(from, e))?;
        let to = to.strip_prefix("/").unwrap_or(to);
        tar.append_data(&mut header(data.len(), false), to, &data[..])
            .map_err(|e| io(from, e))
    };
    add(&mut tar, bin, Path::new("pause"))?;
    let mut dirs = std::collections::BTreeSet::new();
    let libs = libraries(bin)?;
    for lib in &libs {
        let rel = lib.strip_prefix("/").unwrap_or(lib);
        dirs.extend(
            rel.ancestors()
                .skip(1)
                .filter(|d| !d.as_os_str().is_empty())
                .map(Path::to_path_buf),
        );
    }
    // Parents before children (a BTreeSet of paths sorts them so).
    for d in &dirs {
        tar.append_data(&mut header(0, true), d, std::io::empty())
            .map_err(|e| io(d, e))?;
    }
    for lib in &libs {
        add(&mut tar, lib, lib)?;
    }
    tar.into_inner().map_err(|e| io(bin, e))
}

/// The infra image's ID, built when missing.
pub fn image(store: &Arc<Store>) -> Result<String, Error> {
    let name = image_name();
    if let Ok(im) = store.image(&name) {
        return Ok(im.id);
    }
    let data = layer(&pause_binary()?)?;
    let o = crate::images::ImportOptions {
        source: "berth-pause".into(),
        changes: vec![r#"ENTRYPOINT ["/pause"]"#.into()],
        message: Some("berth's pod infra image".into()),
        reference: Some(name),
        ..Default::default()
    };
    let id = crate::images::import(store, &mut &data[..], &o).map_err(Error::other)?;
    Ok(id.trim_start_matches("sha256:").to_string())
}
