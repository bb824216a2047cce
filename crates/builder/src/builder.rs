//! buildah's scripted building (`berth builder`): a working container made from
//! an image is changed across many calls — commands run in it, files copied in,
//! config edits, host tools writing straight into its mounted root — and then
//! committed, which turns all of those changes into one new layer.
//!
//! Each call may be a new process, so what a commit will write besides the files
//! (the image config in progress, annotations, author) is kept beside the
//! container in the store, in `GRAPHROOT/builders/ID.json`.
//!
//! `berth build` makes working containers too (one per stage, one per image it
//! reads), labelled as these are and also with the process that made them
//! ([`OWNER_LABEL`]): they are its own, and it removes them when it ends. One
//! whose process is gone (a killed build) is a leftover: listed here, removed
//! by `rm` and by `container prune` ([`prune`]), while one whose process still
//! runs is never taken from under it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_engine::container::{self, Info};
use berth_engine::namespaces::NsMode;
use berth_engine::run::{self, RunOptions};
use berth_engine::spec::ProcessOptions;
use berth_engine::volumes::InvalidMount;
use berth_image::config_edit::{ConfigEdit, apply_to_value};
use berth_runtime::pid::{Pid, ProcessId};
use berth_storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::BuildError;
use crate::execute::{CopyKind, Owner, copy_files, is_url, parse_mode, scratch};

/// The label that marks berth builder's working containers.
pub const LABEL: &str = berth_engine::views::BUILDER_LABEL;

/// The label naming the process a build's working container belongs to:
/// `PID:START` (its pid and start time, so that a recycled pid is never taken
/// for it).
pub const OWNER_LABEL: &str = "io.berth.builder.owner";

/// The labels of a working container that this process makes for itself and
/// removes before it ends (a build's stage, an image it reads).
pub fn owned_labels() -> Vec<String> {
    let me = ProcessId::this();
    vec![
        format!("{LABEL}=true"),
        format!("{OWNER_LABEL}={}:{}", me.pid, me.start),
    ]
}

/// Who made a working container, which decides who may remove it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// `builder from`: the user's, until `builder rm`.
    #[default]
    Scripted,
    /// A process's own (`berth build`), with that process when recorded (a
    /// berth before the owner label recorded none).
    Build(Option<ProcessId>),
    /// Not a working container at all (`containers --all` lists those too).
    Other,
}

/// A working container and the image config it will be committed with.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Builder {
    pub id: String,
    pub name: String,
    /// Not saved: read from the container each time.
    #[serde(skip)]
    pub origin: Origin,
    /// The image as the user named it (`scratch` for none) and its ID.
    pub from_image: String,
    pub from_id: String,
    /// The image config's `config` object as the commit will write it.
    pub config: Value,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub author: Option<String>,
    /// The history entry's `created_by` and `comment`.
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Fields of the image config itself the commit sets (`config --os`,
    /// `--arch`, `--variant`, `--os-version`, `--os-feature`).
    #[serde(default)]
    pub image_fields: BTreeMap<String, Value>,
    /// History entries `--add-history` asked for, written before the
    /// commit's own.
    #[serde(default)]
    pub history: Vec<Value>,
    /// `from --http-proxy` (default true): every `run` gets the proxy
    /// variables (`http_proxy`, `HTTPS_PROXY` …) of the environment it is
    /// called from.
    #[serde(default = "yes")]
    pub http_proxy: bool,
}

fn yes() -> bool {
    true
}

/// The proxy variables (`http_proxy`, `NO_PROXY` …) of this process's
/// environment, as `NAME=VALUE`, that `env` does not set already: what
/// buildah's `--http-proxy` passes to a command.
pub fn proxy_env(env: &[String]) -> Vec<String> {
    crate::stages::PROXY_ARGS
        .iter()
        .filter(|k| !env.iter().any(|e| e.split('=').next() == Some(**k)))
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
        .collect()
}

/// A history entry for `--add-history` (buildah's words: `/bin/sh -c #(nop)
/// INSTRUCTION ARGS` for what changes no file), made now.
pub fn history_entry(created_by: String) -> Value {
    json!({
        "created": berth_engine::container::rfc3339(berth_engine::time::now_ns()),
        "created_by": created_by,
    })
}

fn state_path(store: &Store, id: &str) -> PathBuf {
    store
        .config()
        .graph_root
        .join("builders")
        .join(format!("{id}.json"))
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Builder {
    /// Writes the state (write, then rename: a reader never sees half of it).
    pub fn save(&self, store: &Store) -> Result<(), BuildError> {
        let path = state_path(store, &self.id);
        let dir = path.parent().expect("builders dir");
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self)?;
        std::fs::write(&tmp, text).map_err(io_at(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_at(&path))
    }

    /// The working container `name` (a name or an ID): one of `builder from`,
    /// or one a build made.
    pub fn load(store: &Store, name: &str) -> Result<Builder, BuildError> {
        let info = container::find(store, name)?;
        let b = Builder::of(store, info)?;
        if b.origin == Origin::Other {
            return Err(BuildError::NotWorkingContainer(name.to_string()));
        }
        Ok(b)
    }

    /// The container as a working container: its saved state (`builder
    /// from`), else what its record tells.
    fn of(store: &Store, info: Info) -> Result<Builder, BuildError> {
        let path = state_path(store, &info.id);
        match std::fs::read(&path) {
            Ok(text) => {
                let mut b: Builder = serde_json::from_slice(&text)
                    .map_err(|source| BuildError::State { path, source })?;
                // The container's name now (`rename` changes it), not the one saved.
                b.name = info.name().to_string();
                Ok(b)
            }
            Err(_) => Ok(Builder::recorded(store, info)),
        }
    }

    /// A container with no saved state: a build's working container (or any
    /// other container), its config that of its image.
    fn recorded(store: &Store, info: Info) -> Builder {
        let origin = if is_working(&info) {
            Origin::Build(owner(&info))
        } else {
            Origin::Other
        };
        let full: Value = store
            .image(&info.config.image_id)
            .and_then(|i| store.image_config(&i))
            .ok()
            .and_then(|c| serde_json::from_slice(&c).ok())
            .unwrap_or_default();
        Builder {
            name: info.name().to_string(),
            id: info.id,
            origin,
            from_image: info.config.image_name,
            from_id: info.config.image_id,
            config: full
                .get("config")
                .filter(|c| c.is_object())
                .cloned()
                .unwrap_or_else(|| json!({})),
            annotations: BTreeMap::new(),
            author: full["author"].as_str().map(String::from),
            created_by: None,
            comment: None,
            image_fields: BTreeMap::new(),
            history: Vec::new(),
            http_proxy: true,
        }
    }

    /// The process still working in this container (a build that runs), which
    /// alone may remove it.
    pub fn in_use(&self) -> Option<ProcessId> {
        match self.origin {
            Origin::Build(Some(p)) if p.alive() => Some(p),
            _ => None,
        }
    }

    /// A build's working container whose build is gone (killed): nobody
    /// will ever remove it but a user.
    pub fn leftover(&self) -> bool {
        matches!(self.origin, Origin::Build(Some(p)) if !p.alive())
    }

    fn env(&self) -> Vec<String> {
        strings(&self.config["Env"])
    }
}

pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// Whether the container is a working container (`builder from`'s or a
/// build's).
fn is_working(info: &Info) -> bool {
    info.is_build_container()
}

/// The process a build's working container belongs to, from its label.
fn owner(info: &Info) -> Option<ProcessId> {
    let value = info
        .config
        .process
        .labels
        .iter()
        .find_map(|l| l.strip_prefix(OWNER_LABEL)?.strip_prefix('='))?;
    let (pid, start) = value.split_once(':')?;
    Some(ProcessId {
        pid: Pid::parse(pid)?,
        start: start.parse().ok()?,
    })
}

/// Every working container, newest first: `builder from`'s and builds'.
pub fn list(store: &Store) -> Result<Vec<Builder>, BuildError> {
    Ok(list_all(store)?
        .into_iter()
        .filter(|b| b.origin != Origin::Other)
        .collect())
}

/// Every container, oldest first (as buildah lists them), as working
/// containers (buildah's `containers --all`); those that are not have
/// [`Origin::Other`].
pub fn list_all(store: &Store) -> Result<Vec<Builder>, BuildError> {
    let mut out = Vec::new();
    for info in container::list(store)?.into_iter().rev() {
        // One that went meanwhile, or whose state cannot be read, is skipped.
        if let Ok(b) = Builder::of(store, info) {
            out.push(b);
        }
    }
    Ok(out)
}

/// `from IMAGE|scratch`: a working container from a local image. `run_with`
/// holds what buildah's `from` flags give every later `run` (limits,
/// capabilities, volumes, ulimits, devices, security options): kept in the
/// container's own options.
///
/// `image` is the image as the user named it (a name, an ID, `TRANSPORT:REF`
/// or `scratch`), `found` what to look it up by in the store (the ID a pull
/// from another transport left, or the name itself).
pub fn from(
    store: &Arc<Store>,
    image: &str,
    found: &str,
    name: Option<&str>,
    run_with: ProcessOptions,
    http_proxy: bool,
) -> Result<Builder, BuildError> {
    let from_id = if image == "scratch" {
        scratch(store)?
    } else {
        store
            .image(found)
            .map(|i| i.id)
            .map_err(|_| BuildError::ImageNotKnown(image.to_string()))?
    };
    let img = store.image(&from_id)?;
    // buildah's: the name a pull just gave it, else the image's name that
    // holds what was typed, else its first (an unnamed image: what was typed).
    let image = if image == "scratch" {
        image.to_string()
    } else {
        let typed = name_prefix(image);
        img.names
            .iter()
            .find(|n| *n == found)
            .or_else(|| img.names.iter().find(|n| n.contains(&typed)))
            .or(img.names.first())
            .cloned()
            .unwrap_or_else(|| image.to_string())
    };
    let image = image.as_str();
    let full: Value = serde_json::from_slice(&store.image_config(&img)?)?;
    let config = if full["config"].is_object() {
        full["config"].clone()
    } else {
        json!({})
    };
    let name = match name {
        Some(n) => n.to_string(),
        None => default_name(store, image)?,
    };
    let o = RunOptions {
        image: from_id.clone(),
        name: Some(name.clone()),
        rm: false,
        replace: false,
        process: ProcessOptions {
            command: vec!["/bin/sh".into()],
            labels: vec![format!("{LABEL}=true")],
            ..run_with
        },
    };
    let info = run::create(store, &o).map_err(BuildError::CreateContainer)?;
    let b = Builder {
        id: info.id.clone(),
        name,
        origin: Origin::Scripted,
        from_image: image.to_string(),
        from_id,
        config,
        annotations: BTreeMap::new(),
        author: full["author"].as_str().map(String::from),
        created_by: None,
        comment: None,
        image_fields: BTreeMap::new(),
        history: Vec::new(),
        http_proxy,
    };
    if let Err(e) = b.save(store) {
        run::remove(store, &info.id);
        return Err(e);
    }
    Ok(b)
}

/// What buildah names a working container after: an image name's last path
/// component without tag or digest (`alpine`), an ID's first 12 characters, a
/// `TRANSPORT:REF`'s transport (`dir`, `oci-archive`).
fn name_prefix(image: &str) -> String {
    if berth_image::transport::ImageName::has_transport(image) {
        return image.split(':').next().unwrap_or(image).to_string();
    }
    let id = image.strip_prefix("sha256:").unwrap_or(image);
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return id[..12].to_string();
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split(':').next().unwrap_or(last).to_string()
}

/// buildah's names: `alpine-working-container`, then `-1`, `-2` … when taken.
fn default_name(store: &Store, image: &str) -> Result<String, BuildError> {
    let base = if image == "scratch" {
        String::new()
    } else {
        format!("{}-", name_prefix(image))
    };
    let first = format!("{base}working-container");
    let taken: Vec<String> = container::list(store)?
        .into_iter()
        .flat_map(|i| i.names)
        .collect();
    let mut name = first.clone();
    let mut n = 0;
    while taken.contains(&name) {
        n += 1;
        name = format!("{first}-{n}");
    }
    Ok(name)
}

/// How `run` runs a command in a working container.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    pub args: Vec<String>,
    /// More `KEY=VALUE`s over the config's environment.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// none (default) or host.
    pub network: Option<berth_engine::network::NetworkMode>,
    /// `-v SRC:DST[:OPTS]` bind mounts for this command only.
    pub volumes: Vec<berth_engine::volumes::VolumeSpec>,
    /// `--mount type=tmpfs,…`.
    pub tmpfs: Vec<berth_engine::volumes::TmpfsSpec>,
    pub hostname: Option<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub devices: Vec<String>,
    /// `-t`: on a terminal.
    pub terminal: bool,
    /// `--pid`, `--ipc`, `--uts`, `--cgroupns`: host or private; none given,
    /// what `from` said (private by default).
    pub pid: Option<NsMode>,
    pub ipc: Option<NsMode>,
    pub uts: Option<NsMode>,
    pub cgroupns: Option<NsMode>,
    /// `--no-hosts`: the image's /etc/hosts, not one made for the run.
    pub no_hosts: bool,
    /// `--mount type=cache,…`: directories kept across runs (and builds: the
    /// same store as RUN --mount=type=cache).
    pub caches: Vec<crate::mount::MountSpec>,
    /// `--runtime` and `--runtime-flag`s for this command (none: from's).
    pub runtime: Option<String>,
    pub runtime_flags: Vec<String>,
    /// `--add-history`: the command goes into the image's history (recorded
    /// before it runs, whatever its exit code).
    pub add_history: bool,
}

/// `--contextdir DIR` as `run` and `copy` take it: the directory, canonical.
fn context_dir(dir: &Path) -> Result<PathBuf, BuildError> {
    std::fs::canonicalize(dir).map_err(|e| BuildError::InvalidFlag {
        flag: "--contextdir".into(),
        value: dir.display().to_string(),
        why: e.to_string(),
    })
}

/// `run --contextdir DIR`: a `--mount type=bind` source that is relative is
/// a path in DIR, and must stay inside it (no `..` or symlink out).
pub fn in_context_dir(mount: &str, dir: &Path) -> Result<String, BuildError> {
    let fields: Vec<&str> = mount.split(',').collect();
    let bind = fields
        .iter()
        .any(|f| f.trim().eq_ignore_ascii_case("type=bind"));
    let mut out = Vec::new();
    for f in fields {
        let source = f
            .split_once('=')
            .filter(|(k, v)| bind && matches!(*k, "source" | "src") && !v.starts_with('/'));
        match source {
            Some((k, v)) => {
                let rel = archive_path(dir, v).ok_or_else(|| BuildError::InvalidFlag {
                    flag: "--mount".into(),
                    value: mount.to_string(),
                    why: format!(
                        "{v}: no such path inside the context directory {}",
                        dir.display()
                    ),
                })?;
                out.push(format!("{k}={}", dir.join(rel).display()));
            }
            None => out.push(f.to_string()),
        }
    }
    Ok(out.join(","))
}

/// `path` resolved inside `root` (symlinks and `..` kept in it), or None.
fn archive_path(root: &Path, path: &str) -> Option<PathBuf> {
    berth_storage::archive::resolve_in_root(root, Path::new(path))
}

impl RunSpec {
    /// `run --mount`s: binds and volumes join `-v`'s, a tmpfs is its own; an
    /// image mount is a build's (RUN --mount), not served here. With
    /// `--contextdir`, a relative bind source is a path in it
    /// ([`in_context_dir`]).
    pub fn add_mounts(
        &mut self,
        mounts: &[String],
        contextdir: Option<&Path>,
    ) -> Result<(), BuildError> {
        use berth_engine::volumes::MountFlag;
        let mounts = match contextdir {
            None => mounts.to_vec(),
            Some(dir) => {
                let dir = context_dir(dir)?;
                mounts
                    .iter()
                    .map(|m| in_context_dir(m, &dir))
                    .collect::<Result<_, _>>()?
            }
        };
        let bad = |value: &str, why: String| BuildError::InvalidFlag {
            flag: "--mount".into(),
            value: value.to_string(),
            why,
        };
        for m in &mounts {
            if is_cache(m) {
                let literal = |v: &str| Ok(v.to_string());
                let mount = crate::mount::parse_mount(m, Some(&literal))
                    .map_err(|e| bad(m, e.to_string()))?;
                if mount.as_ref().is_some_and(|c| c.from.is_some()) {
                    return Err(bad(
                        m,
                        "from= names a build's stage, not served by run".into(),
                    ));
                }
                self.caches.push(crate::mount::MountSpec {
                    spec: m.clone(),
                    mount,
                });
                continue;
            }
            match m.parse().map_err(|e: InvalidMount| bad(m, e.reason))? {
                MountFlag::Volume(v) => self.volumes.push(v),
                MountFlag::Tmpfs(t) => self.tmpfs.push(t),
                MountFlag::Image(_) => {
                    return Err(bad(m, "type=image is not served by run".into()));
                }
            }
        }
        Ok(())
    }
}

/// Whether a `--mount` is `type=cache`.
fn is_cache(m: &str) -> bool {
    m.split(',')
        .any(|f| f.trim().eq_ignore_ascii_case("type=cache"))
}

/// `run`: the command over the working container's root, with the config's
/// environment, working directory and user; returns its exit code. Cache
/// mounts and overlays (`-v SRC:DST:O`) are set up for the command and taken
/// down after it (an overlay's upper directory with them).
pub fn run(store: &Store, b: &mut Builder, spec: &RunSpec) -> Result<i32, BuildError> {
    if spec.add_history {
        b.add_run_history(&spec.args);
        b.save(store)?;
    }
    let info = container::find(store, &b.id)?;
    let scratch = crate::execute::scratch_dir(store, &b.id);
    let none = BTreeMap::new();
    let workdir = spec
        .workdir
        .clone()
        .or_else(|| b.config["WorkingDir"].as_str().map(String::from))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let sources = crate::run_mounts::Sources {
        context: Path::new("/"),
        stages: &[],
        secrets: &none,
        ssh: &none,
        cache_root: store.config().graph_root.join("build-cache-mounts"),
        scratch: scratch.clone(),
        workdir: &workdir,
    };
    let mut prepared = crate::run_mounts::prepare(&spec.caches, &sources).map_err(|e| {
        BuildError::InvalidFlag {
            flag: "--mount".into(),
            value: e.spec,
            why: e.reason.to_string(),
        }
    })?;
    let result = run_prepared(store, b, info, spec, &scratch, &mut prepared);
    prepared.release();
    crate::run_mounts::release_scratch(&scratch);
    result
}

fn run_prepared(
    store: &Store,
    b: &Builder,
    mut info: Info,
    spec: &RunSpec,
    scratch: &Path,
    prepared: &mut crate::run_mounts::Prepared,
) -> Result<i32, BuildError> {
    let mut env = b.env();
    for kv in &spec.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    let from_config = |k: &str| {
        b.config[k]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    // What `from` was given (limits, capabilities, volumes …) stays; the
    // command and what `run` says are this run's.
    let stored = std::mem::take(&mut info.config.process);
    let mut volumes = Vec::new();
    let caches = prepared.volumes.clone();
    let given = stored.volumes.iter().chain(&spec.volumes).chain(&caches);
    for (n, v) in given.enumerate() {
        if !v.overlay() {
            volumes.push(v.clone());
            continue;
        }
        let o = crate::run_mounts::overlay_volume(v, scratch, n, prepared).map_err(|e| {
            BuildError::InvalidFlag {
                flag: "-v".into(),
                value: v.to_string(),
                why: e.to_string(),
            }
        })?;
        volumes.push(o);
    }
    let tmpfs = [&spec.tmpfs[..], &prepared.tmpfs[..]].concat();
    env.extend(prepared.env.iter().cloned());
    if b.http_proxy {
        let proxies = proxy_env(&env);
        env.extend(proxies);
    }
    info.config.process = ProcessOptions {
        command: spec.args.clone(),
        entrypoint: Some(Vec::new()),
        env,
        workdir: spec.workdir.clone().or_else(|| from_config("WorkingDir")),
        // buildah's run makes a missing working directory, its user's.
        create_workdir: true,
        workdir_as_user: true,
        keep_passwd: true,
        user: spec.user.clone().or_else(|| from_config("User")),
        // `private`: one of its own on the default network, as at create.
        network: run::resolve_private(spec.network.clone().unwrap_or(stored.network.clone()))
            .map_err(BuildError::Run)?,
        volumes,
        tmpfs,
        hostname: spec.hostname.clone(),
        pid: spec.pid.clone().unwrap_or(stored.pid),
        ipc: spec.ipc.clone().unwrap_or(stored.ipc),
        uts: spec.uts.clone().unwrap_or(stored.uts),
        cgroupns: spec.cgroupns.clone().unwrap_or(stored.cgroupns),
        no_hosts: spec.no_hosts || stored.no_hosts,
        runtime: spec.runtime.clone().or(stored.runtime.clone()),
        runtime_flags: match spec.runtime_flags.is_empty() {
            true => stored.runtime_flags.clone(),
            false => spec.runtime_flags.clone(),
        },
        tty: spec.terminal,
        // buildah's run hands the command its own stdin (a build's RUN gets
        // none of the caller's).
        interactive: true,
        labels: vec![format!("{LABEL}=true")],
        // The run's own capability flags over from's.
        cap_add: later_wins(&stored.cap_add, &spec.cap_drop, &spec.cap_add),
        cap_drop: later_wins(&stored.cap_drop, &spec.cap_add, &spec.cap_drop),
        devices: [&stored.devices[..], &spec.devices[..]].concat(),
        // The rest is from's: limits, ulimits, security options, DNS and
        // hosts, /dev/shm's size, the user namespace.
        ..stored
    };
    let ended = run::run_container_ended(store, &info).map_err(BuildError::Run)?;
    Ok(buildah_exit(ended))
}

/// The exit code buildah gives a command: its own, or 1 for one a signal
/// killed, once it has said which on stderr as buildah does (podman's
/// 128 + N would pass for an exit code the command chose).
pub(crate) fn buildah_exit(ended: run::Ended) -> i32 {
    match ended {
        run::Ended::Exited(code) => code,
        run::Ended::Signalled(sig) => {
            eprintln!("container exited on {}", crate::signal::go_words(sig));
            1
        }
    }
}

/// `earlier` less what `undone` names (case aside), then `added`.
fn later_wins(earlier: &[String], undone: &[String], added: &[String]) -> Vec<String> {
    let gone = |c: &String| undone.iter().any(|u| u.eq_ignore_ascii_case(c));
    earlier
        .iter()
        .filter(|c| !gone(c))
        .chain(added)
        .cloned()
        .collect()
}

/// What `copy`/`add` copy into a working container.
#[derive(Clone, Debug, Default)]
pub struct CopySpec {
    /// Host paths (relative to `cwd`), or paths in `from`'s root.
    pub sources: Vec<String>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    /// Another working container or an image to copy from.
    pub from: Option<String>,
    /// `add`: local archives are unpacked.
    pub add: bool,
    pub cwd: PathBuf,
    /// `--contextdir`: host sources are read inside it (a source outside it
    /// is refused), and its .containerignore (or `ignore_file`) excludes.
    pub context_dir: Option<PathBuf>,
    /// `--ignorefile` (with `context_dir`).
    pub ignore_file: Option<PathBuf>,
    /// `--add-history`: a history entry for the copy, once it is done.
    pub add_history: bool,
}

/// `copy`/`add`: the sources into the container's root, through the layer
/// extractor, so a symlink inside the container cannot send them elsewhere.
/// Returns the content digest (hex) of what was copied, which buildah prints.
pub fn copy(store: &Arc<Store>, b: &mut Builder, spec: &CopySpec) -> Result<String, BuildError> {
    let context_dir = spec.context_dir.as_deref().map(context_dir).transpose()?;
    let digest = copy_in(store, b, spec, context_dir)?;
    if spec.add_history {
        b.add_copy_history(spec, &digest);
        b.save(store)?;
    }
    Ok(digest)
}

fn copy_in(
    store: &Arc<Store>,
    b: &Builder,
    spec: &CopySpec,
    context_dir: Option<PathBuf>,
) -> Result<String, BuildError> {
    let rootfs = store.mount(&b.id)?;
    let id_map = container::find(store, &b.id)
        .ok()
        .and_then(|i| i.config.process.id_map);
    // A source container or image, mounted for the copy.
    let mut lent: Option<(String, bool)> = None;
    let mut from_map = None;
    let result = (|| {
        let from_root = match &spec.from {
            None => None,
            Some(f) => {
                let (id, temporary) = source_container(store, f)?;
                lent = Some((id.clone(), temporary));
                from_map = container::find(store, &id)
                    .ok()
                    .and_then(|i| i.config.process.id_map);
                Some(store.mount(&id)?)
            }
        };
        let (root, sources): (PathBuf, Vec<String>) = match (&from_root, &context_dir) {
            (Some(r), _) => (r.clone(), spec.sources.clone()),
            // Sources inside the context directory, as paths in it.
            (None, Some(dir)) => (dir.clone(), in_context(dir, &spec.cwd, &spec.sources)?),
            // Host paths, made absolute: the copy then reads them under `/`;
            // URLs are downloaded.
            (None, None) => (
                PathBuf::from("/"),
                spec.sources
                    .iter()
                    .map(|s| match is_url(s) {
                        true => s.clone(),
                        false => absolute(&spec.cwd, s),
                    })
                    .collect(),
            ),
        };
        let owner = match &spec.chown {
            None => None,
            Some(c) => {
                let u = berth_engine::spec::user(&rootfs, c).map_err(BuildError::Chown)?;
                Some((u64::from(u.uid), u64::from(u.gid)))
            }
        };
        let mode = parse_mode(spec.chmod.as_deref())?;
        let files = crate::Files {
            sources,
            inline: Vec::new(),
            dest: spec.dest.clone(),
            json: false,
        };
        let workdir = b.config["WorkingDir"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("/")
            .to_string();
        let owner = Owner {
            set: owner,
            keep: from_root.is_some(),
            map: id_map.as_ref(),
            from_map: from_map.as_ref(),
        };
        // buildah downloads URLs for copy and add alike.
        let kind = match spec.add {
            true => CopyKind::Add,
            false => CopyKind::Fetch,
        };
        let ignore = match (&context_dir, &from_root) {
            (Some(dir), None) => Some(crate::execute::load_ignore(
                dir,
                spec.ignore_file.as_deref(),
            )?),
            _ => None,
        };
        copy_files(
            &root,
            ignore.as_ref(),
            &files,
            &rootfs,
            &workdir,
            owner,
            mode,
            kind,
        )
        .map_err(BuildError::from)
    })();
    if let Some((id, temporary)) = lent {
        let _ = store.unmount(&id, false);
        if temporary {
            run::remove(store, &id);
        }
    }
    let _ = store.unmount(&b.id, false);
    result
}

/// Host sources as paths inside `dir` (`--contextdir`); URLs as they are.
fn in_context(dir: &Path, cwd: &Path, sources: &[String]) -> Result<Vec<String>, BuildError> {
    sources
        .iter()
        .map(|s| {
            if is_url(s) {
                return Ok(s.clone());
            }
            let abs = PathBuf::from(absolute(cwd, s));
            abs.strip_prefix(dir)
                .map(|r| match r.as_os_str().is_empty() {
                    true => ".".to_string(),
                    false => r.to_string_lossy().into_owned(),
                })
                .map_err(|_| crate::error::CopyError::OutsideContext(s.clone()).into())
        })
        .collect()
}

impl Builder {
    /// `run --add-history`: `/bin/sh -c ARGS`, as buildah writes it.
    pub fn add_run_history(&mut self, args: &[String]) {
        self.history
            .push(history_entry(format!("/bin/sh -c {}", args.join(" "))));
    }

    /// `copy/add --add-history`: an entry as buildah writes it, `/bin/sh -c
    /// #(nop) COPY file:DIGEST` (`dir:` for one directory, `multi:` for
    /// several sources).
    pub fn add_copy_history(&mut self, spec: &CopySpec, digest: &str) {
        let kind = match spec.sources.as_slice() {
            [one] if Path::new(&absolute(&spec.cwd, one)).is_dir() => "dir",
            [_] => "file",
            _ => "multi",
        };
        let verb = if spec.add { "ADD" } else { "COPY" };
        self.history.push(history_entry(format!(
            "/bin/sh -c #(nop) {verb} {kind}:{digest} in {} ",
            spec.dest
        )));
    }
}

fn absolute(cwd: &Path, s: &str) -> String {
    if s.starts_with('/') {
        s.to_string()
    } else {
        cwd.join(s).to_string_lossy().into_owned()
    }
}

/// The container `--from` names, or a temporary one made from the image it
/// names (`true`: remove it afterwards).
fn source_container(store: &Arc<Store>, from: &str) -> Result<(String, bool), BuildError> {
    if let Ok(info) = container::find(store, from) {
        return Ok((info.id, false));
    }
    let image = store
        .image(from)
        .map_err(|_| BuildError::NoCopySource(from.to_string()))?;
    let o = RunOptions {
        image: image.id,
        name: None,
        rm: false,
        replace: false,
        process: ProcessOptions {
            network: berth_engine::network::NetworkMode::None,
            command: vec!["/bin/true".into()],
            // This process's own: a leftover if it is killed before removing it.
            labels: owned_labels(),
            ..Default::default()
        },
    };
    let info = run::create(store, &o).map_err(BuildError::CreateContainer)?;
    Ok((info.id, true))
}

/// What a commit writes.
#[derive(Default)]
pub struct CommitSpec {
    pub image: Option<String>,
    /// Docker schema 2 instead of OCI.
    pub docker: bool,
    pub squash: bool,
    /// Remove the working container afterwards.
    pub rm: bool,
    /// A file the new image's ID is written to (`--iidfile`).
    pub iid_file: Option<PathBuf>,
    /// Registry access for an image written elsewhere than the store
    /// (`docker://REG/NAME`, `oci:DIR` …).
    pub context: berth_image::Context,
    /// `--timestamp`: seconds since the epoch as the image's and its new
    /// history entries' creation time and the new layer's file times.
    pub timestamp: Option<i64>,
    /// `--omit-history`: the image has no history.
    pub omit_history: bool,
    /// `--disable-compression=false`: an image written to `oci:`, `dir:` …
    /// gets gzipped layers. As buildah's, layers are otherwise left as the
    /// store keeps them (uncompressed), but a registry always gets them
    /// compressed.
    pub compress: bool,
    /// `--manifest LIST`: the new image is added to this manifest list (made
    /// when there is none).
    pub manifest: Option<String>,
    /// `--unsetenv NAME`: the image goes without these variables.
    pub unsetenv: Vec<String>,
}

/// The config fields only Docker's format has; an OCI commit drops them.
pub const DOCKER_ONLY: [(&str, &str); 5] = [
    ("Healthcheck", "HEALTHCHECK"),
    ("Shell", "SHELL"),
    ("OnBuild", "ONBUILD"),
    ("Hostname", "HOSTNAME"),
    ("Domainname", "DOMAINNAME"),
];

/// Drops what an OCI config cannot hold; returns the instructions dropped, for
/// the warning buildah prints.
pub fn drop_docker_only(config: &mut Value) -> Vec<&'static str> {
    let mut dropped = Vec::new();
    if let Some(o) = config.as_object_mut() {
        for (field, instruction) in DOCKER_ONLY {
            // Docker's configs carry "Hostname": "" and the like: nothing lost.
            if o.remove(field).is_some_and(|v| !v.is_null() && v != "") {
                dropped.push(instruction);
            }
        }
    }
    dropped
}

/// `commit`: the working container's changes, all of them, as one new layer
/// over its image (or, with `squash`, one layer for everything). Returns the
/// image ID and the instructions an OCI commit dropped.
///
/// An image named `TRANSPORT:NAME` (other than the store's own) is written
/// there and not kept in the store, as buildah's commit does; no ID is then
/// returned.
pub fn commit(
    store: &Arc<Store>,
    b: &Builder,
    spec: &CommitSpec,
    progress: &dyn berth_image::copy::Progress,
) -> Result<(Option<String>, Vec<&'static str>), BuildError> {
    use berth_image::transport::ImageName;
    let elsewhere = spec.image.as_deref().filter(|d| {
        ImageName::parse(d).is_ok_and(|n| !matches!(n, ImageName::ContainersStorage(_)))
    });
    if let (Some(list), Some(dest)) = (&spec.manifest, elsewhere) {
        return Err(BuildError::InvalidFlag {
            flag: "--manifest".into(),
            value: list.clone(),
            why: format!("the image goes to {dest}, not into the store a list holds images of"),
        });
    }
    let mut config = b.config.clone();
    apply_to_value(
        &mut config,
        spec.unsetenv.iter().cloned().map(ConfigEdit::RemoveEnv),
    );
    let dropped = if spec.docker {
        Vec::new()
    } else {
        drop_docker_only(&mut config)
    };
    let edit = move |c: &mut Value| -> Result<(), berth_engine::commit::EditError> {
        *c = config.clone();
        Ok(())
    };
    let mut o = berth_engine::commit::CommitOptions::plain(edit);
    o.reference = spec.image.clone().filter(|_| elsewhere.is_none());
    o.message = b.comment.clone();
    o.author = b.author.clone();
    o.created_by = Some(
        b.created_by
            .clone()
            .unwrap_or_else(|| "berth builder".to_string()),
    );
    o.annotations = b
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    o.docker = spec.docker;
    o.squash = spec.squash;
    o.image_fields = b
        .image_fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    o.history = b.history.clone();
    o.timestamp = spec.timestamp;
    o.omit_history = spec.omit_history;
    let id = berth_engine::commit::commit(store, &b.id, &o)?;
    if let Some(dest) = elsewhere {
        let mut push = berth_engine::images::PushOptions {
            destination: Some(dest.to_string()),
            ..Default::default()
        };
        if spec.compress {
            push.copy.compression = Some(berth_image::manifest::Compression::Gzip);
        }
        let pushed = berth_engine::images::push(store, &id, &push, &spec.context, progress);
        // The store keeps nothing of it (the new image has no name, no container).
        if let Err(e) =
            berth_engine::images::remove(store, std::slice::from_ref(&id), Default::default())
        {
            log::warn!("the committed image {id} stays in the store: {e}");
        }
        pushed.map_err(|source| BuildError::CommitElsewhere {
            dest: dest.to_string(),
            source: Box::new(source),
        })?;
    } else {
        if let Some(list) = &spec.manifest {
            add_to_list(store, list, &id, &spec.context)?;
        }
        write_image_id(spec.iid_file.as_deref(), &id)?;
    }
    if spec.rm {
        remove(store, b)?;
    }
    Ok((elsewhere.is_none().then_some(id), dropped))
}

/// `commit --manifest LIST` (and build's): the image into the list, which
/// is made when there is none yet.
pub fn add_to_list(
    store: &Arc<Store>,
    list: &str,
    id: &str,
    context: &berth_image::Context,
) -> Result<(), BuildError> {
    use berth_engine::manifests;
    let failed = |e: berth_engine::images::ImageError| BuildError::InvalidFlag {
        flag: "--manifest".into(),
        value: list.to_string(),
        why: e.to_string(),
    };
    if !manifests::exists(store, list) {
        manifests::create(store, list).map_err(failed)?;
    }
    manifests::add(store, list, id, &Default::default(), context).map_err(failed)?;
    Ok(())
}

/// `--iidfile`: the image's ID as `sha256:ID`, as buildah writes it.
pub(crate) fn write_image_id(path: Option<&Path>, id: &str) -> Result<(), BuildError> {
    let Some(path) = path else {
        return Ok(());
    };
    berth_engine::outfile::write(path, format!("sha256:{id}")).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `mount`: the root, mounted until `umount` (host tools may write into it).
pub fn mount(store: &Store, b: &Builder) -> Result<PathBuf, BuildError> {
    Ok(store.mount(&b.id)?)
}

pub fn umount(store: &Store, b: &Builder) -> Result<(), BuildError> {
    store.unmount(&b.id, false)?;
    Ok(())
}

/// `rm`: the container, its mount, its layer and its state go; with them
/// whatever a killed build's RUN left (its process, the overlays of its
/// writable binds). A working container of a build that still runs stays.
pub fn remove(store: &Store, b: &Builder) -> Result<(), BuildError> {
    if let Some(p) = b.in_use() {
        return Err(BuildError::InUse {
            name: b.name.clone(),
            pid: p.pid.to_string(),
        });
    }
    let _ = store.unmount(&b.id, true);
    // A force delete: a RUN process a killed build left running goes too.
    run::remove(store, &b.id);
    crate::run_mounts::release_scratch(&crate::execute::scratch_dir(store, &b.id));
    if store.container(&b.id).is_ok() {
        return Err(BuildError::NotRemoved(b.name.clone()));
    }
    match std::fs::remove_file(state_path(store, &b.id)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(BuildError::StateFile(e)),
        _ => Ok(()),
    }
}

/// `container prune`: what podman's removes (every container that is not
/// running), but of working containers only the leftovers of builds whose
/// process is gone, as podman considers buildah's containers only when not in
/// use: `builder from`'s stay until `builder rm`, and a build that runs keeps
/// its own. Returns the IDs removed.
/// Only the containers `filters` pass go (`--filter until=`, `label=`, `label!=`).
pub fn prune(
    store: &Store,
    filters: &berth_engine::prune_filters::PruneFilters,
) -> Result<Vec<String>, BuildError> {
    let mut gone = Vec::new();
    for info in container::list(store)? {
        // `builder from`'s carry no owner, so only a build's can qualify.
        if is_working(&info)
            && owner(&info).is_some_and(|p| !p.alive())
            && berth_engine::lifecycle::prune_passes(filters, &info)
        {
            let b = Builder::recorded(store, info);
            remove(store, &b)?;
            gone.push(b.id);
        }
    }
    gone.extend(berth_engine::lifecycle::prune(store, filters)?);
    Ok(gone)
}

/// A command or shell for `config`: a JSON array as is, anything else in the
/// shell form (`/bin/sh -c STRING`) when `shell_form`, else split on spaces.
pub fn command_words(
    s: &str,
    shell_form: bool,
    shell: &[String],
) -> Result<Vec<String>, BuildError> {
    let t = s.trim();
    if t.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(t).map_err(|source| BuildError::NotJsonArray {
            value: s.to_string(),
            source,
        });
    }
    if t.is_empty() {
        return Ok(Vec::new());
    }
    Ok(if shell_form {
        shell.iter().cloned().chain([s.to_string()]).collect()
    } else {
        shell_words(t).ok_or_else(|| BuildError::NotCommandLine(s.to_string()))?
    })
}

/// Words as buildah's `config --cmd` splits them (go-shellwords): on unquoted
/// blanks, with '…', "…" and backslash escapes; None when a quote is left
/// open. By hand because, unlike a POSIX shell and the shlex crate, `#` starts
/// no comment here and `$` expands nothing.
fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut in_word, mut escaped) = (false, false);
    let mut quote: Option<char> = None;
    for c in s.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => (escaped, in_word) = (true, true),
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (None, c) if c.is_whitespace() => {
                if std::mem::take(&mut in_word) {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, c) => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if quote.is_some() || escaped {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

impl Builder {
    /// The SHELL commands in the shell form go through.
    pub fn shell(&self) -> Vec<String> {
        let s = strings(&self.config["Shell"]);
        if s.is_empty() {
            vec!["/bin/sh".into(), "-c".into()]
        } else {
            s
        }
    }

    /// Applies edits to the image config the commit will write.
    pub fn edit(&mut self, edits: impl IntoIterator<Item = ConfigEdit>) {
        apply_to_value(&mut self.config, edits);
    }
}

/// A `builder config` flag of the `KEY=VALUE` (or `KEY-` to remove) kind as
/// its edit: `--env`, `--label`; `--port` and `--volume` take `X` or `X-`.
pub fn config_flag(flag: &str, value: &str) -> Result<ConfigEdit, BuildError> {
    let removed = value.strip_suffix('-').filter(|k| !k.contains('='));
    let pair = || {
        value
            .split_once('=')
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .ok_or_else(|| not_key_value(&format!("--{flag}"), value))
    };
    Ok(match (flag, removed) {
        ("env", Some(k)) => ConfigEdit::RemoveEnv(k.into()),
        ("env", None) => pair().map(|(k, v)| ConfigEdit::Env(k, v))?,
        ("label", Some(k)) => ConfigEdit::RemoveLabel(k.into()),
        ("label", None) => pair().map(|(k, v)| ConfigEdit::Label(k, v))?,
        ("port", Some(p)) => ConfigEdit::Unexpose(p.into()),
        ("port", None) => ConfigEdit::Expose(value.into()),
        ("volume", Some(v)) => ConfigEdit::RemoveVolume(v.into()),
        _ => ConfigEdit::Volume(value.into()),
    })
}

fn not_key_value(flag: &str, value: &str) -> BuildError {
    BuildError::NotKeyValue {
        flag: flag.to_string(),
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_cmd_words_split_as_buildahs() {
        let w = |s: &str| command_words(s, false, &[]).map_err(|e| e.to_string());
        assert_eq!(
            w(r#"echo #hi "a b" c\ d 'e "f"' $HOME"#).unwrap(),
            ["echo", "#hi", "a b", "c d", "e \"f\"", "$HOME"]
        );
        assert_eq!(w(r#"-c "echo hi""#).unwrap(), ["-c", "echo hi"]);
        assert_eq!(w(r#"x "" y"#).unwrap(), ["x", "", "y"]);
        assert_eq!(
            w(r#"echo "open"#).unwrap_err(),
            r#"parsing "echo \"open": invalid command line string"#
        );
    }

    #[test]
    fn run_mounts_go_where_they_belong_and_an_image_is_refused() {
        let mut spec = RunSpec::default();
        let mounts = ["type=bind,src=/tmp,dst=/t", "type=tmpfs,dst=/scratch"].map(String::from);
        spec.add_mounts(&mounts, None).unwrap();
        assert_eq!((spec.volumes.len(), spec.tmpfs.len()), (1, 1));
        let image = ["type=image,src=busybox,dst=/img".to_string()];
        let e = spec.add_mounts(&image, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--mount type=image,src=busybox,dst=/img: type=image is not served by run"
        );
        let e = spec
            .add_mounts(&["type=bind".to_string()], None)
            .unwrap_err();
        assert_eq!(e.to_string(), "--mount type=bind: a target is required");
    }
}
