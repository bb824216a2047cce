//! The layer cache: what decides a stage's or a step's result, as a key, and
//! the image each key last gave (one file per key under the graph root).

use std::io::Read;
use std::path::{Path, PathBuf};

use berth_engine::leases::Lease;
use berth_image::digest::{Algorithm, Digester};
use berth_storage::Store;

use super::add::{is_url, url_digest};
use super::context::{has_glob, source_path};
use super::driver::{Executor, Planned};
use super::state::StageState;
use super::{BuildRequest, Working};
use crate::error::{BuildError, CopyError};
use crate::instructions::{Instruction, Located};

/// The image of the stage (built so far) or lent image named `name`, if any.
fn stage_image(x: &Executor, working: &[Working], name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    working
        .iter()
        .find(|w| w.names.contains(&name))
        .and_then(|w| w.image.clone())
        .or_else(|| {
            x.borrowed
                .iter()
                .find(|w| w.names.contains(&name))
                .map(|w| w.container.config.image_id.clone())
        })
}

/// What a COPY or a RUN bind reads from.
enum Reads<'a> {
    /// Files of a directory: the context, or a `--build-context` directory.
    Files(&'a Path),
    /// A stage's or lent image's ID (None: not known by that name).
    Image(Option<String>),
}

/// What `--from=NAME` (or no `--from`) reads: a stage or lent image of that
/// name first, then a `--build-context` directory, as the build's roots have it.
fn read_from<'a>(x: &'a Executor, working: &[Working], from: Option<&str>) -> Reads<'a> {
    let Some(name) = from else {
        return Reads::Files(&x.req.context);
    };
    match (stage_image(x, working, name), x.req.context_dir(name)) {
        (None, Some(dir)) => Reads::Files(dir),
        (image, _) => Reads::Image(image),
    }
}

/// The next link of a stage's cache chain: the previous key, the instruction
/// as expanded, and what it reads (copied context files, URLs' contents, the
/// images of `--from` stages, context binds of RUN mounts, ARG values).
pub(super) fn step_key(
    x: &Executor,
    working: &[Working],
    prev: &str,
    inst: Option<&Located>,
    state: &StageState,
) -> Result<String, BuildError> {
    let req = x.req;
    let mut d = Digester::new(Algorithm::Sha256);
    let mut put = |s: &str| {
        d.update(s.as_bytes());
        d.update(b"\0");
    };
    put(prev);
    put(&req
        .network
        .as_ref()
        .map_or("none".into(), ToString::to_string));
    // In their flag form, as cache keys were made before they were typed.
    let volumes: Vec<String> = req.volumes.iter().map(ToString::to_string).collect();
    put(&format!("{volumes:?}"));
    // What the context excludes decides what COPY copies: an --ignorefile
    // from outside the context is in no content digest.
    put(&format!("{:?}", x.ignore));
    // A fixed timestamp makes other layers (their files' times) and configs.
    if let Some(t) = req.timestamp {
        put(&format!("timestamp {t}"));
    }
    for p in run_flags(req) {
        put(&p);
    }
    let Some(inst) = inst else {
        return Ok(d.finish().hex().to_string());
    };
    put(&format!("{:?}", inst.instruction));
    let image_of = |image: Option<String>, f: &str| image.unwrap_or_else(|| f.to_ascii_lowercase());
    match &inst.instruction {
        Instruction::Copy(c) => match read_from(x, working, c.from.as_deref()) {
            Reads::Files(dir) => {
                for src in &c.files.sources {
                    put(&content_digest(dir, src)?);
                }
            }
            Reads::Image(image) => put(&image_of(image, c.from.as_deref().unwrap_or_default())),
        },
        Instruction::Add(a) => {
            for src in &a.files.sources {
                put(&source_digest(&req.context, src)?);
            }
        }
        Instruction::Run(r) => {
            put(&format!("{:?}", state.args));
            for m in r.mounts.iter().filter_map(|m| m.mount.as_ref()) {
                if m.kind == crate::MountType::Bind {
                    match read_from(x, working, m.from.as_deref()) {
                        Reads::Files(dir) => {
                            put(&content_digest(dir, m.source.as_deref().unwrap_or("."))?)
                        }
                        Reads::Image(image) => {
                            put(&image_of(image, m.from.as_deref().unwrap_or_default()))
                        }
                    }
                }
            }
        }
        _ => {}
    }
    Ok(d.finish().hex().to_string())
}

/// What the build's flags give every RUN (`--env`, limits, hosts, DNS,
/// capabilities …), as cache key parts; none when none is given, so that
/// keys made before these flags stand.
fn run_flags(req: &BuildRequest) -> Vec<String> {
    let mut parts = Vec::new();
    // --env: every RUN sees it, the target's config holds it.
    if !req.env.is_empty() {
        parts.push(format!("env {:?}", req.env));
    }
    let given = serde_json::to_value(&req.run_with).ok();
    if given != serde_json::to_value(berth_engine::spec::ProcessOptions::default()).ok() {
        parts.push(format!("run {}", given.unwrap_or_default()));
    }
    parts
}

/// What only the target image gets from `--unsetenv`, `--os-feature`,
/// `--os-version`, `--omit-history`; empty when none is given, so that keys
/// made before these flags stand.
fn target_only(req: &BuildRequest) -> String {
    let given = !req.unsetenv.is_empty()
        || !req.os_features.is_empty()
        || req.os_version.is_some()
        || req.omit_history;
    match given {
        true => format!(
            "\0target {:?} {:?} {:?} {}",
            req.unsetenv, req.os_features, req.os_version, req.omit_history
        ),
        false => String::new(),
    }
}

/// A target stage's last key, with what only the target gets: labels,
/// annotations, format, squash and tags.
pub(super) fn target_key(end: &str, req: &BuildRequest) -> String {
    let mut d = Digester::new(Algorithm::Sha256);
    d.update(
        format!(
            "{end}\0{:?}\0{:?}\0{}\0{}\0{:?}{}",
            req.labels,
            req.annotations,
            req.docker_format,
            req.squash,
            req.tags,
            target_only(req)
        )
        .as_bytes(),
    );
    d.finish().hex().to_string()
}

/// What decides a stage's result: its base image, its expanded instructions,
/// the stage's ARG values (RUN sees them), the contents of the files it copies
/// from the context, the images of the stages it copies from, and the labels a
/// target gets.
pub(super) fn cache_key(
    x: &Executor,
    working: &[Working],
    s: &Planned,
) -> Result<String, BuildError> {
    let req = x.req;
    let mut d = Digester::new(Algorithm::Sha256);
    let mut put = |s: &str| {
        d.update(s.as_bytes());
        d.update(b"\0");
    };
    put("berth build cache 1");
    put(s.base);
    put(&format!("{:?}", s.stage.args));
    put(&req
        .network
        .as_ref()
        .map_or("none".into(), ToString::to_string));
    // What the context excludes (an --ignorefile is in no content digest).
    put(&format!("{:?}", x.ignore));
    if let Some(t) = req.timestamp {
        put(&format!("timestamp {t}"));
    }
    for p in run_flags(req) {
        put(&p);
    }
    if s.is_target {
        let only = target_only(req);
        if !only.is_empty() {
            put(&only);
        }
        put(&format!("{:?}", req.labels));
        put(&format!(
            "{:?} {} {}",
            req.annotations, req.docker_format, req.squash
        ));
    }
    for inst in &s.stage.instructions {
        put(&format!("{:?}", inst.instruction));
        let (files, from) = match &inst.instruction {
            Instruction::Copy(c) => (Some(&c.files), c.from.as_deref()),
            Instruction::Add(a) => (Some(&a.files), None),
            _ => (None, None),
        };
        if let Some(files) = files {
            match read_from(x, working, from) {
                // ADD (never --from here) may name URLs.
                Reads::Files(dir) if from.is_none() => {
                    for src in &files.sources {
                        put(&source_digest(dir, src)?);
                    }
                }
                Reads::Files(dir) => {
                    for src in &files.sources {
                        put(&content_digest(dir, src)?);
                    }
                }
                Reads::Image(image) => {
                    let f = from.unwrap_or_default();
                    put(&image.unwrap_or_else(|| f.to_string()));
                }
            }
        }
        // What a RUN binds from the context decides its result too.
        if let Instruction::Run(r) = &inst.instruction {
            for m in r.mounts.iter().filter_map(|m| m.mount.as_ref()) {
                if m.kind != crate::MountType::Bind {
                    continue;
                }
                let source = m.source.as_deref().unwrap_or(".");
                match read_from(x, working, m.from.as_deref()) {
                    Reads::Files(dir) => put(&content_digest(dir, source)?),
                    Reads::Image(image) => {
                        let f = m.from.as_deref().unwrap_or_default();
                        put(&image.unwrap_or_else(|| f.to_string()))
                    }
                }
            }
        }
    }
    Ok(d.finish().hex().to_string())
}

/// An ADD source's digest: what a URL serves, else what the context holds.
fn source_digest(context: &Path, src: &str) -> Result<String, BuildError> {
    if is_url(src) {
        Ok(url_digest(src)?)
    } else {
        content_digest(context, src)
    }
}

/// A digest of what a context source holds: names, modes, link targets and
/// contents, walked in name order (symlinks not followed).
fn content_digest(context: &Path, src: &str) -> Result<String, BuildError> {
    let mut d = Digester::new(Algorithm::Sha256);
    // One buffer for every file: zeroing a fresh one per small file costs more
    // than hashing it.
    let mut buf = vec![0u8; 256 << 10];
    if src.starts_with("http://") || src.starts_with("https://") || has_glob(src) {
        // Globs and URLs: by the directory as a whole.
        walk(context, ".", &mut d, &mut buf).map_err(CopyError::Io)?;
    } else {
        let path = source_path(context, src)?;
        walk(&path, src, &mut d, &mut buf).map_err(CopyError::Io)?;
    }
    Ok(d.finish().hex().to_string())
}

/// [`content_digest`]'s walk of `p`, named `rel` in the digest.
fn walk(p: &Path, rel: &str, d: &mut Digester, buf: &mut [u8]) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::symlink_metadata(p)?;
    d.update(format!("{rel}\0{:o}\0", md.mode()).as_bytes());
    if md.file_type().is_symlink() {
        d.update(std::fs::read_link(p)?.as_os_str().as_encoded_bytes());
    } else if md.is_file() {
        let mut f = std::fs::File::open(p)?;
        loop {
            let n = f.read(buf)?;
            if n == 0 {
                break;
            }
            d.update(&buf[..n]);
        }
    } else if md.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(p)?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for n in names {
            walk(
                &p.join(&n),
                &format!("{rel}/{}", n.to_string_lossy()),
                d,
                buf,
            )?;
        }
    }
    Ok(())
}

/// `builder prune`'s part: the layer cache's keys and RUN's cache mounts,
/// which make later builds faster and nothing else needs. Cache mounts stay
/// while any build or pull holds images (a RUN may have one mounted); returns
/// whether they went.
pub fn prune_caches(store: &Store) -> Result<bool, std::io::Error> {
    let rm = |d: PathBuf| match std::fs::remove_dir_all(&d) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    rm(cache_dir(store))?;
    let leased = berth_engine::leases::Leased::read(&store.config().run_root)
        .map_err(std::io::Error::other)?;
    if !leased.is_empty() {
        return Ok(false);
    }
    rm(store.config().graph_root.join("build-cache-mounts"))?;
    Ok(true)
}

fn cache_dir(store: &Store) -> PathBuf {
    store.config().graph_root.join("build-cache")
}

/// The image a cache key recorded, if it is still in the store; leased, as
/// the build goes on from it without a container for a while.
pub(super) fn cached(
    store: &Store,
    lease: &Lease,
    key: &str,
    ttl: Option<std::time::Duration>,
) -> Option<String> {
    let id = std::fs::read_to_string(cache_dir(store).join(key)).ok()?;
    let id = id.trim().to_string();
    // --cache-ttl: an image made longer ago than that is not used.
    if let Some(ttl) = ttl {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let created = store.image(&id).ok()?.created;
        if now.saturating_sub(created) >= ttl.as_secs() {
            return None;
        }
    }
    lease
        .hold(|| store.image(&id).map(|i| i.id).map_err(BuildError::from))
        .ok()
}

/// Records the image a key gave (best effort: a cache that cannot be written
/// only means a rebuild next time).
pub(super) fn remember(store: &Store, key: &str, id: &str) {
    let dir = cache_dir(store);
    if std::fs::create_dir_all(&dir).is_ok() {
        let tmp = dir.join(format!("{key}.tmp"));
        if std::fs::write(&tmp, id).is_ok() {
            let _ = std::fs::rename(tmp, dir.join(key));
        }
    }
}
