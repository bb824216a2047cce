//! Containers from images: `create` records one in the store with its
//! configuration; `run` in the foreground runs it with the built-in runtime in
//! this very process (no extra binary to exec); detached containers go through
//! the monitor (see [`crate::monitor`]).

use crate::conf::ConfError;
use crate::container::{self, ContainerConfig, ContainerState, Info, Status, now_ns};
use crate::health::HealthError;
use crate::init::InitError;
use crate::network::{NetworkError, NetworkMode, PortMapping};
use crate::spec::{self, ProcessOptions, SpecError};
pub use crate::sys::Ended;
use crate::terminal::ConsoleSocket;
use crate::volumes::{self, VolumeError};
use berth_runtime::create::{self, Runtime};
use berth_runtime::pid::Pid;
use berth_storage::Store;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    pub name: Option<String>,
    pub rm: bool,
    /// `--replace`: a container already of this name is removed first.
    pub replace: bool,
    pub process: ProcessOptions,
}

/// A pod `--pod new:NAME` made: removed again when dropped (as podman's)
/// unless a container was made in it, so a failure leaves no pod behind to
/// trip the next try.
pub struct NewPod {
    store: std::sync::Arc<Store>,
    id: Option<String>,
}

impl NewPod {
    /// A container was made in it: the pod stays.
    pub fn keep(mut self) {
        self.id = None;
    }
}

impl Drop for NewPod {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let _ = crate::pods::remove(&self.store, &id, true, 0);
        }
    }
}

/// What comes before a container is made: `--replace` removes the one of its
/// name, and `--pod new:NAME` makes the pod, which takes the container's
/// hostname and published ports (as podman's).
pub fn prepare(store: &std::sync::Arc<Store>, o: &mut RunOptions) -> Result<NewPod, RunError> {
    if let (true, Some(n)) = (o.replace, &o.name)
        && container::find(store, n).is_ok()
    {
        crate::lifecycle::remove(store, n, true).map_err(engine)?;
    }
    let mut made = NewPod {
        store: store.clone(),
        id: None,
    };
    let Some(name) = o
        .process
        .pod
        .as_deref()
        .and_then(|p| p.strip_prefix("new:"))
    else {
        return Ok(made);
    };
    let pod = crate::pods::PodCreate {
        name: Some(name.to_string()),
        infra: true,
        hostname: o.process.hostname.take(),
        ports: std::mem::take(&mut o.process.ports),
        ..Default::default()
    };
    let pod = crate::pods::create(store, &pod).map_err(engine)?;
    o.process.pod = Some(pod.id.clone());
    made.id = Some(pod.id);
    Ok(made)
}

/// Failures with podman's exit codes: 125 for berth's own, 126 when the command
/// cannot be run, 127 when it does not exist.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Engine(String),
    /// A flag or setting that cannot be (a signal that is none, say).
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    CannotRun(String),
    /// Not in the store (or removed since it was looked up).
    #[error("{0}: image not known")]
    ImageNotKnown(String),
    #[error("{0}")]
    NotFound(String),
    /// Joining a bridge network or publishing its ports failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A `-v`, `--tmpfs` or volume could not be mounted.
    #[error(transparent)]
    Volume(#[from] VolumeError),
    /// The image and flags make no valid spec.
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Health(#[from] HealthError),
    #[error(transparent)]
    Init(#[from] InitError),
    #[error(transparent)]
    Conf(#[from] ConfError),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            // A --user the image cannot resolve: the runtime's failure to
            // start the command, podman's 126.
            RunError::CannotRun(_) | RunError::Spec(crate::spec::SpecError::User(_)) => 126,
            RunError::NotFound(_) => 127,
            // berth's own failures, before the command could be tried.
            RunError::Engine(_)
            | RunError::InvalidArgument(_)
            | RunError::ImageNotKnown(_)
            | RunError::Network(_)
            | RunError::Volume(_)
            | RunError::Spec(_)
            | RunError::Health(_)
            | RunError::Init(_)
            | RunError::Conf(_) => 125,
        }
    }
}

pub(crate) fn engine<E: std::fmt::Display>(e: E) -> RunError {
    RunError::Engine(e.to_string())
}

/// The runtime's state directory for berth's containers.
pub fn runtime_root(store: &Store) -> PathBuf {
    store.config().run_root.join("oci")
}

pub fn runtime(store: &Store) -> Runtime {
    Runtime {
        root: runtime_root(store),
        systemd_cgroup: false,
    }
}

/// The `config` object of an image's configuration.
pub fn image_config(store: &Store, image: &str) -> Result<serde_json::Value, RunError> {
    if image.is_empty() {
        // A `--rootfs` container's: no image, so nothing it says.
        return Ok(serde_json::json!({}));
    }
    let not_known = || RunError::ImageNotKnown(image.to_string());
    let img = store.image(image).map_err(|_| not_known())?;
    // An image removed since it was looked up (an rmi racing this run's pull)
    // is not known any more, as podman says; not a missing file.
    let raw = store
        .image_config(&img)
        .map_err(|e| match store.image(&img.id) {
            Err(_) => not_known(),
            Ok(_) => engine(e),
        })?;
    let full: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|e| engine(format!("image config: {e}")))?;
    Ok(full["config"].clone())
}

/// `-P`: each port the image exposes, on a free port of the host (chosen
/// with the other `-p` ports left without one).
fn publish_all(config: &serde_json::Value) -> Vec<PortMapping> {
    let exposed = config["ExposedPorts"].as_object();
    exposed
        .into_iter()
        .flat_map(|ports| ports.keys())
        .filter_map(|key| PortMapping::parse(key).ok())
        .collect()
}

/// What containers.conf decides when the flags do not: the network mode, the
/// runtime and the log driver.
fn conf_defaults(p: &mut ProcessOptions) -> Result<(), RunError> {
    let conf = crate::conf::get()?;
    if p.network == NetworkMode::Unset {
        let publishes = !p.ports.is_empty() || p.publish_all;
        p.network = default_network(conf.netns.as_deref(), publishes)?;
    }
    if p.runtime.is_none()
        && let Some(r) = &conf.runtime
    {
        crate::oci::resolve(r)
            .map_err(|e| RunError::Engine(format!("containers.conf [engine] runtime: {e}")))?;
        p.runtime = Some(r.clone());
    }
    if p.log_driver.is_none() {
        p.log_driver = conf.log_driver.clone();
    }
    for (flags, configured) in [
        (&mut p.dns, &conf.dns_servers),
        (&mut p.dns_search, &conf.dns_searches),
        (&mut p.dns_options, &conf.dns_options),
    ] {
        if flags.is_empty() {
            flags.clone_from(configured);
        }
    }
    if p.image_volume.is_none()
        && let Some(m) = &conf.image_volume_mode
    {
        let mode = m.parse().map_err(|e| {
            RunError::Engine(format!("containers.conf [engine] image_volume_mode: {e}"))
        })?;
        p.image_volume = Some(mode);
    }
    Ok(())
}

/// podman's rule: root gets the bridge network, a rootless user pasta (which
/// needs no privilege; slirp4netns is taken as pasta); published ports need one
/// of the two whatever the default says.
/// `private` (a namespace of the container's own, [`NetworkMode::Unset`]) as
/// containers.conf and the user make it: a bridge network as root, pasta
/// rootless; any other mode as it is.
pub fn resolve_private(mode: NetworkMode) -> Result<NetworkMode, RunError> {
    match mode {
        NetworkMode::Unset => default_network(crate::conf::get()?.netns.as_deref(), false),
        m => Ok(m),
    }
}

fn default_network(netns: Option<&str>, ports: bool) -> Result<NetworkMode, RunError> {
    let rootless = berth_runtime::userns::rootless_uid().is_some();
    let mode = match netns {
        None | Some("private") if !rootless => "bridge",
        None | Some("private" | "slirp4netns") => "pasta",
        Some(m) => m,
    };
    let mode: NetworkMode = mode
        .parse()
        .map_err(|e| RunError::Engine(format!("containers.conf [containers] netns: {e}")))?;
    match mode {
        NetworkMode::Bridge(_) | NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_) => Ok(mode),
        _ if ports && rootless => Ok(NetworkMode::Pasta(Vec::new())),
        _ if ports => Ok(NetworkMode::Bridge(crate::network::DEFAULT.into())),
        _ => Ok(mode),
    }
}

/// Whether a container must run under the monitor even in the foreground
/// (attached, as `start -a` does): restart policies and healthchecks are the
/// monitor's work.
pub fn needs_monitor(store: &Store, o: &RunOptions) -> bool {
    let p = &o.process;
    let image_health = || {
        image_config(store, &o.image).is_ok_and(|c| {
            c["Healthcheck"]["Test"]
                .as_array()
                .is_some_and(|t| t.first().and_then(|v| v.as_str()) != Some("NONE"))
        })
    };
    // A container that joins others' namespaces (a pod's) starts them first,
    // which the monitor's start path does.
    p.restart != container::RestartPolicy::No
        || p.pod.is_some()
        || !crate::namespaces::donors(p).is_empty()
        || (!p.health.disabled && (p.health_cmd.is_some() || image_health()))
}

/// `--volumes-from CONTAINER[:ro|rw]`: that container's volumes and binds, at
/// the same places (read-only with `ro`; its own modes otherwise).
fn volumes_of(store: &Store, from: &str) -> Result<Vec<volumes::VolumeSpec>, RunError> {
    let (name, mode) = match from.rsplit_once(':') {
        Some((n, m @ ("ro" | "rw" | "z" | "Z"))) => (n, Some(m)),
        _ => (from, None),
    };
    let other = container::find(store, name).map_err(engine)?;
    Ok(other
        .config
        .process
        .volumes
        .iter()
        .map(|v| {
            let mut v = v.clone();
            if let Some(m @ ("ro" | "rw")) = mode {
                v.options.retain(|o| o != "ro" && o != "rw");
                v.options.push(m.to_string());
            }
            v
        })
        .collect())
}

/// Keeps the first of equal items, in order.
fn dedup<T: PartialEq + Clone>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::new();
    v.retain(|x| {
        let new = !seen.contains(x);
        if new {
            seen.push(x.clone());
        }
        new
    });
}

/// The image a container is made from and its config; none for `--rootfs`.
fn image_of(
    store: &Store,
    o: &RunOptions,
) -> Result<(Option<berth_storage::Image>, serde_json::Value), RunError> {
    if o.process.rootfs.is_some() {
        return Ok((None, serde_json::json!({})));
    }
    let not_known = || RunError::ImageNotKnown(o.image.clone());
    let img = store.image(&o.image).map_err(|_| not_known())?;
    let config = image_config(store, &img.id).map_err(|e| match e {
        RunError::ImageNotKnown(_) => not_known(),
        e => e,
    })?;
    Ok((Some(img), config))
}

/// `--rootfs PATH[:O]`: the directory (absolute, so it means the same at start),
/// under an overlay with `:O`.
pub fn parse_rootfs(spec: &str) -> Result<berth_storage::ExternalRoot, RunError> {
    let (path, overlay) = match spec.rsplit_once(':') {
        Some((p, "O")) => (p, true),
        _ => (spec, false),
    };
    let path =
        std::path::absolute(path).map_err(|e| RunError::Engine(format!("--rootfs {spec}: {e}")))?;
    if !path.is_dir() {
        return Err(RunError::Engine(format!(
            "--rootfs {}: not a directory",
            path.display()
        )));
    }
    Ok(berth_storage::ExternalRoot { path, overlay })
}

/// What the options alone must pass, judged before anything is made (the
/// CLI judges them before it pulls, as podman does): the stop signal is a
/// signal, and an auto-update label has a fully-qualified image to update from.
pub fn check(
    image: &str,
    labels: &[String],
    stop_signal: Option<&str>,
) -> Result<(), crate::Error> {
    crate::autoupdate::check(image, labels)?;
    match stop_signal {
        Some(s) => crate::lifecycle::parse_kill_signal(s).map(drop),
        None => Ok(()),
    }
}

/// Records a new container (not yet started).
pub fn create(store: &Store, o: &RunOptions) -> Result<Info, RunError> {
    create_for(store, o, true)
}

/// [`create`]; `to_start` records this process as the one about to start it,
/// which keeps it from `prune` while this process lives.
pub fn create_for(store: &Store, o: &RunOptions, to_start: bool) -> Result<Info, RunError> {
    let p = &o.process;
    check(&o.image, &p.labels, p.stop_signal.as_deref()).map_err(|e| match e {
        crate::Error::InvalidArgument(m) => RunError::InvalidArgument(m),
        e => engine(e),
    })?;
    // The monitor writes it at start, with no one to tell then: refused now.
    if let Some(f) = &o.process.conmon_pidfile
        && !f.parent().is_some_and(std::path::Path::is_dir)
    {
        return Err(engine(format!(
            "--conmon-pidfile {}: its directory does not exist",
            f.display()
        )));
    }
    let (img, config) = image_of(store, o)?;
    let args = spec::args(&config, &o.process);
    // A `--rootfs` container has no image to give a command (an image's is
    // judged when the container starts).
    if args.is_empty() && o.process.rootfs.is_some() {
        return Err(RunError::Engine(
            "no command or entrypoint provided, and no CMD or ENTRYPOINT from image".into(),
        ));
    }
    let mut o = o.clone();
    if o.process.publish_all {
        // --expose adds to what the image exposes.
        let exposed = o.process.expose.iter().map(|e| PortMapping::parse(e));
        let exposed = exposed.collect::<Result<Vec<_>, _>>()?;
        for p in publish_all(&config).into_iter().chain(exposed) {
            if !o.process.ports.iter().any(|q| q.same_target(&p)) {
                o.process.ports.push(p);
            }
        }
    }
    // A pod's member takes its namespaces (and refuses network flags) before
    // containers.conf fills in a network of its own.
    crate::pods::join(store, &mut o.process)?;
    conf_defaults(&mut o.process)?;
    // The namespaces are known now: a sysctl that would change the host's is
    // refused at create, as podman refuses it, not at every start.
    spec::sysctls_for(&o.process)?;
    if let Some(tz) = &o.process.tz {
        spec::timezone_file(tz)?;
    }
    // Whatever front end made the spec: ports only where the container has a
    // network of its own (the CLI has said so already; Docker's API says
    // nothing, as Docker discards them).
    o.process.discard_unpublishable_ports();
    // The image's VOLUMEs get anonymous volumes, unless something else is
    // mounted there (working containers of builds write through to the image).
    let builder = o.process.labels.iter().any(|l| {
        l.strip_prefix(crate::views::BUILDER_LABEL)
            .is_some_and(|r| r.starts_with('='))
    });
    for from in std::mem::take(&mut o.process.volumes_from) {
        o.process.volumes.extend(volumes_of(store, &from)?);
    }
    // The same -v (or --tmpfs) twice is one mount, as podman takes it; two
    // different ones on one destination are refused below.
    dedup(&mut o.process.volumes);
    dedup(&mut o.process.tmpfs);
    let (specs, names) = volumes::anonymous_for_flags(&o.process.volumes);
    o.process.volumes = specs;
    o.process.anonymous_volumes.extend(names);
    volumes::check_unique_destinations(&o.process.volumes, &o.process.tmpfs)?;
    crate::secrets::check(store, &o.process.secrets).map_err(engine)?;
    if !builder {
        let taken = volumes::destinations(&o.process.volumes, &o.process.tmpfs);
        let (specs, names) = volumes::anonymous_for_image(&config, &taken);
        match o.process.image_volume.unwrap_or_default() {
            volumes::ImageVolumeMode::Bind => {
                o.process.volumes.extend(specs);
                o.process.anonymous_volumes.extend(names);
            }
            volumes::ImageVolumeMode::Tmpfs => {
                let tmpfs = specs.into_iter().map(|v| volumes::TmpfsSpec {
                    destination: v.destination,
                    options: Vec::new(),
                });
                o.process.tmpfs.extend(tmpfs);
            }
            volumes::ImageVolumeMode::Ignore => {}
        }
    }
    let o = &o;
    // A bad runtime, log driver, network or mount flag fails now, not at start.
    container::check_log_driver(o.process.log_driver.as_deref()).map_err(engine)?;
    match &o.process.runtime {
        Some(r) if crate::oci::resolve(r).map_err(engine)?.is_some() => {}
        _ => crate::oci::Oci::check_builtin_flags(&o.process.runtime_flags)?,
    }
    // Host ports left out are chosen now, so that `port` and `ps` show them.
    let mut o = o.clone();
    for p in &mut o.process.ports {
        p.assign()?;
    }
    crate::namespaces::resolve_donors(store, &mut o.process)?;
    let o = &o;
    if let Some(other) = o.process.network.container() {
        container::find(store, other).map_err(engine)?;
        if !o.process.add_hosts.is_empty() {
            return Err(RunError::Engine(
                "cannot set extra host entries when the container is joined to another containers network namespace".into(),
            ));
        }
    }
    // `-v …:O` is an overlay `berth builder run` sets up for each command.
    let working = format!("{}=true", crate::views::BUILDER_LABEL);
    if !o.process.labels.contains(&working)
        && let Some(v) = o.process.volumes.iter().find(|v| v.overlay())
    {
        return Err(RunError::Engine(
            crate::volumes::VolumeError::OverlayNotServed(v.to_string()).to_string(),
        ));
    }
    if o.process.no_hosts && !o.process.add_hosts.is_empty() {
        return Err(RunError::Engine(
            "--no-hosts and --add-host conflict, can not be used together".into(),
        ));
    }
    if !o.process.networks.is_empty() && o.process.network.bridge().is_none() {
        return Err(RunError::Engine(format!(
            "--network {}: no other network can be joined with it",
            o.process.network
        )));
    }
    for n in &o.process.networks {
        crate::network::get(store, n)?;
    }
    match o.process.network.bridge() {
        Some(net) => {
            crate::network::get(store, net)?;
        }
        None if !o.process.ports.is_empty() && !o.process.network.user_mode() => {
            return Err(RunError::Engine(format!(
                "-p needs a bridge network, not --network {}",
                o.process.network
            )));
        }
        None => {}
    }
    for v in &o.process.volumes {
        volumes::volume_mount(store, v)?;
    }
    for m in &o.process.image_mounts {
        store
            .image(&m.source)
            .map_err(|_| RunError::ImageNotKnown(m.source.clone()))?;
    }
    for t in &o.process.tmpfs {
        volumes::tmpfs_mount(t);
    }
    if let Some(n) = &o.name
        && store.container(n).is_ok()
    {
        return Err(RunError::Engine(format!(
            "the container name \"{n}\" is already in use; remove it or pick another name"
        )));
    }
    let health =
        crate::health::config_from(o.process.health_cmd.as_deref(), &o.process.health, &config)?;
    let restart = o.process.restart;
    if o.rm && restart != container::RestartPolicy::No {
        return Err(RunError::Engine(
            "the --rm option conflicts with --restart (a restart policy other than \"no\")".into(),
        ));
    }
    let cfg = ContainerConfig {
        // The name as the store holds it (`localhost/NAME:latest` for
        // `NAME`), as podman records it; an ID stays as given.
        image_name: img.as_ref().map_or_else(String::new, |img| {
            berth_storage::store::candidate_names(&o.image)
                .into_iter()
                .find(|n| img.names.contains(n))
                .unwrap_or_else(|| o.image.clone())
        }),
        image_id: img.as_ref().map_or_else(String::new, |i| i.id.clone()),
        process: o.process.clone(),
        args,
        rm: o.rm,
        created_ns: now_ns(),
        health,
        restart,
        creator: to_start.then(berth_runtime::pid::ProcessId::this),
    };
    let mut cfg = cfg;
    let meta = serde_json::to_string(&cfg).map_err(engine)?;
    let c = create_named(store, img.as_ref(), o, &meta)?;
    if cfg.process.auto_userns.is_some() {
        // The map the store picked under its lock is the container's.
        cfg.process.id_map = c.id_map.clone();
        let meta = serde_json::to_string(&cfg).map_err(engine)?;
        if let Err(e) = store.set_container_metadata(&c.id, meta) {
            let _ = store.remove_container(&c.id);
            return Err(engine(e));
        }
    }
    container::save_state(store, &c.id, &ContainerState::default()).map_err(engine)?;
    let info = Info {
        id: c.id,
        names: c.names,
        config: cfg,
        state: ContainerState::default(),
    };
    crate::events::container(store, &info, "create", None);
    Ok(info)
}

/// Records the container under `name`, or a generated one. The store reserves
/// a name under its lock; a generated name another process took meanwhile is
/// replaced by a new one, so concurrent `create`s never fail on a name they
/// did not choose.
fn create_named(
    store: &Store,
    image: Option<&berth_storage::Image>,
    o: &RunOptions,
    meta: &str,
) -> Result<berth_storage::Container, RunError> {
    let name = o.name.as_deref();
    let image_id = image.map_or("", |i| i.id.as_str());
    let mut attempts = 0;
    loop {
        let chosen = match name {
            Some(n) => n.to_string(),
            None => crate::names::generate(|n| store.container(n).is_ok()),
        };
        let p = &o.process;
        let made = match (&p.rootfs, &p.auto_userns) {
            (Some(_), _) if p.id_map.is_some() || p.auto_userns.is_some() => {
                return Err(RunError::Engine(
                    "--rootfs with a user namespace of the container's own is not supported".into(),
                ));
            }
            (Some(root), _) => store.create_container_on(root.clone(), &[chosen], meta),
            (None, Some(req)) => {
                let (uids, gids) = crate::namespaces::auto_available().map_err(engine)?;
                store.create_container_auto(image_id, &[chosen], meta, req, (&uids, &gids))
            }
            (None, None) => {
                store.create_container_mapped(image_id, &[chosen], meta, p.id_map.clone())
            }
        };
        match made {
            Err(berth_storage::Error::NameInUse { .. }) if name.is_none() && attempts < 32 => {
                attempts += 1;
            }
            // Removed since create looked it up (an rmi racing a run's pull).
            Err(berth_storage::Error::ImageNotFound(_)) => {
                return Err(RunError::ImageNotKnown(image_id.to_string()));
            }
            r => return r.map_err(engine),
        }
    }
}

/// Runs the image's command (or the given one) in the foreground and returns its
/// exit code.
pub fn run(store: &Store, o: &RunOptions) -> Result<i32, RunError> {
    run_with(store, o, |_| Ok(()))
}

/// [`run`], calling `created` once the container exists (before it starts).
pub fn run_with(
    store: &Store,
    o: &RunOptions,
    created: impl FnOnce(&Info) -> Result<(), RunError>,
) -> Result<i32, RunError> {
    let c = create(store, o)?;
    if let Err(e) = created(&c) {
        remove(store, &c.id);
        return Err(e);
    }
    let result = run_container(store, &c);
    if o.rm {
        remove(store, &c.id);
        // --rm takes the anonymous volumes with it, as podman's does.
        volumes::remove_anonymous(store, &c.config.process.anonymous_volumes);
    } else if result.is_err() {
        // As podman leaves it: created, holding nothing, there to start again
        // or remove (and its name taken meanwhile).
        crate::monitor::finish_failed(store, &c.id);
        let st = container::ContainerState {
            status: container::Status::Created,
            init: None,
            monitor: None,
            ..container::load_state(store, &c.id)
        };
        let _ = container::save_state(store, &c.id, &st);
    }
    result
}

/// Mounts the container's rootfs and writes its bundle; returns the bundle.
pub fn prepare_bundle(store: &Store, info: &Info) -> Result<PathBuf, RunError> {
    let (id, cfg) = (info.id.as_str(), &info.config);
    let config = image_config(store, &cfg.image_id)?;
    let rootfs = store.mount(id).map_err(engine)?;
    let bundle = container::userdata(store, id);
    std::fs::create_dir_all(&bundle).map_err(|e| engine(format!("{}: {e}", bundle.display())))?;
    for u in &cfg.process.host_users {
        let line = crate::passwd::host_line(u).ok_or_else(|| {
            RunError::CannotRun(format!(
                "--hostuser {u}: no such user in the host's /etc/passwd"
            ))
        })?;
        crate::passwd::add_line(&rootfs, &line)
            .map_err(|e| engine(format!("--hostuser {u}: /etc/passwd: {e}")))?;
    }
    let targets: Vec<&str> = cfg
        .process
        .volumes
        .iter()
        .map(|v| v.destination.as_str())
        .collect();
    let workdir = cfg.process.workdir.clone().unwrap_or_else(|| {
        config["WorkingDir"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    if let Some(k) = &cfg.process.keep_id {
        let home = crate::passwd::home(k, &targets, &workdir);
        crate::passwd::add(&rootfs, k, &home)
            .map_err(|e| engine(format!("add user {} to /etc/passwd: {e}", k.name)))?;
    }
    let mut spec = spec::generate(&config, &rootfs, id, &cfg.process)?;
    if cfg.process.create_workdir && workdir.starts_with('/') {
        let user = spec.process.as_ref().map(|p| (p.user.uid, p.user.gid));
        let owner = workdir_owner(&cfg.process, user);
        make_workdir(&rootfs, &workdir, owner)
            .map_err(|e| engine(format!("workdir {workdir}: {e}")))?;
    }
    spec.annotations = crate::annotations::of_container(store, cfg);
    // `--user`, else the image's USER, as podman takes it. A volume at
    // /etc/passwd is the user's own: never written.
    let user = cfg.process.user.as_deref().or(config["User"].as_str());
    if let (Some(user), Some(p)) = (user.filter(|u| !u.is_empty()), &spec.process)
        && !targets.contains(&"/etc/passwd")
        && !cfg.process.keep_passwd
    {
        crate::passwd::add_numeric_user(&rootfs, user, p.user.gid, &workdir)
            .map_err(|e| engine(format!("--user {user}: /etc/passwd: {e}")))?;
    }
    let hostname = match (&spec.hostname, cfg.process.uts.container()) {
        (Some(h), _) => h.clone(),
        // In another's UTS namespace: that container's hostname.
        (None, Some(donor)) => crate::volumes::hostname_of(&container::userdata(store, donor)),
        (None, None) => String::new(),
    };
    let mut members = Vec::new();
    let mut net_att = None;
    crate::namespaces::prepare(store, id, &cfg.process, &mut spec)?;
    let isolated = match &cfg.process.network {
        crate::network::NetworkMode::None => Some(crate::network::setup_isolated(store, id)?),
        crate::network::NetworkMode::Pasta(opts) => Some(crate::network::setup_pasta(
            store,
            id,
            &cfg.process.ports,
            opts,
        )?),
        crate::network::NetworkMode::Slirp4netns(opts) => Some(crate::network::slirp::setup(
            store,
            id,
            &cfg.process.ports,
            opts,
        )?),
        _ => None,
    };
    if let Some(att) = isolated.as_ref().filter(|a| a.helper.is_some()) {
        // A user-mode network's addresses go into the container's files.
        net_att = Some(att.clone());
    }
    if let Some(att) = isolated
        && let Some(ns) = spec
            .linux
            .as_mut()
            .and_then(|l| l.namespaces.iter_mut().find(|n| n.kind == "network"))
    {
        ns.path = Some(att.netns.to_string_lossy().into_owned());
    }
    if let Some(net) = cfg.process.network.bridge() {
        let att = crate::network::setup(store, id, net, &cfg.process.ports)?;
        if let Some(ns) = spec
            .linux
            .as_mut()
            .and_then(|l| l.namespaces.iter_mut().find(|n| n.kind == "network"))
        {
            ns.path = Some(att.netns.to_string_lossy().into_owned());
        }
        let mut att = att;
        for extra in &cfg.process.networks {
            crate::network::connect(store, id, extra, None)?;
            att = crate::network::attachment(store, id).unwrap_or(att);
        }
        for n in std::iter::once(net).chain(cfg.process.networks.iter().map(String::as_str)) {
            for m in crate::network::members(store, n) {
                if !members.contains(&m) {
                    members.push(m);
                }
            }
        }
        net_att = Some(att);
        // The others on its networks learn this container's name too.
        crate::network::refresh_all_hosts(store);
    }
    // Later mounts go over earlier ones: the generated files, then the user's.
    let generated = volumes::generated_files(info, &bundle, &hostname, &members, net_att.as_ref())?;
    if let Some(m) = &cfg.process.id_map {
        // /etc/hosts, resolv.conf, hostname: the container's root's, as podman
        // gives them, so that it may write them.
        for src in generated.iter().filter_map(|g| g.source.as_deref()) {
            std::os::unix::fs::chown(src, m.host_uid(0), m.host_gid(0))
                .map_err(|e| engine(format!("{src}: {e}")))?;
        }
    }
    spec.mounts.extend(generated);
    if let Some(donor) = net_donor(store, info)? {
        // In another's network namespace: its /etc/hosts (this container's
        // name added) and resolv.conf, as podman shares them in a pod.
        let donor = container::userdata(store, &donor);
        volumes::share_network_files(&mut spec.mounts, &donor, &[&hostname, info.name()])?;
    }
    crate::secrets::attach(store, info, &bundle, &mut spec).map_err(engine)?;
    if let Some(tz) = &cfg.process.tz {
        let zone = spec::timezone_file(tz)?;
        spec.mounts.push(berth_runtime::spec::Mount {
            destination: "/etc/localtime".into(),
            kind: Some("bind".into()),
            source: Some(zone.to_string_lossy().into_owned()),
            options: vec!["rbind".into(), "ro".into(), "rprivate".into()],
            ..Default::default()
        });
    }
    let owner = user_on_host(cfg, &spec);
    for v in &cfg.process.volumes {
        let m = volumes::volume_mount(store, v)?;
        volumes::copy_up(store, &rootfs, v, owner)?;
        spec.mounts.push(m);
    }
    spec.mounts
        .extend(crate::image_mounts::mount_all(store, info)?);
    for t in &cfg.process.tmpfs {
        spec.mounts.push(volumes::tmpfs_mount(t));
    }
    chown_volumes(store, cfg, &spec)?;
    if cfg.process.init {
        crate::init::apply(store, &mut spec)?;
    }
    if let Some(m) = &cfg.process.id_map {
        crate::userns_view::prepare(store, id, m, &mut spec)?;
    }
    let body = serde_json::to_vec_pretty(&spec).map_err(engine)?;
    std::fs::write(bundle.join("config.json"), body)
        .map_err(|e| engine(format!("write config.json: {e}")))?;
    Ok(bundle)
}

/// The container's user (its process's), as host IDs: through its map when
/// it has one.
fn user_on_host(
    cfg: &crate::container::ContainerConfig,
    spec: &berth_runtime::spec::Spec,
) -> (u32, u32) {
    let (uid, gid) = spec
        .process
        .as_ref()
        .map_or((0, 0), |p| (p.user.uid, p.user.gid));
    match &cfg.process.id_map {
        Some(m) => (
            m.host_uid(uid).unwrap_or(berth_storage::idmap::OVERFLOW_ID),
            m.host_gid(gid).unwrap_or(berth_storage::idmap::OVERFLOW_ID),
        ),
        None => (uid, gid),
    }
}

/// `-v …:U`: each such source becomes the container's user's (its host IDs
/// through the container's map, when it has one).
fn chown_volumes(
    store: &Store,
    cfg: &crate::container::ContainerConfig,
    spec: &berth_runtime::spec::Spec,
) -> Result<(), RunError> {
    let wanted: Vec<_> = cfg
        .process
        .volumes
        .iter()
        .filter(|v| v.chown_to_user())
        .collect();
    let owner = user_on_host(cfg, spec);
    for v in wanted {
        volumes::chown_source(store, v, owner)?;
    }
    Ok(())
}

/// When a container that shared another's network stops: its line in that
/// one's /etc/hosts goes (podman's; the next member's takes its place).
pub(crate) fn leave_shared_hosts(store: &Store, info: &Info) {
    if let Ok(Some(donor)) = net_donor(store, info) {
        volumes::leave_network_files(&container::userdata(store, &donor), info.name());
    }
}

/// The container whose network namespace this one ends up in, following
/// `container:` joins to the one with a network of its own.
fn net_donor(store: &Store, info: &Info) -> Result<Option<String>, RunError> {
    let mut next = info.config.process.network.container().map(str::to_string);
    let mut seen = vec![info.id.clone()];
    let mut root = None;
    while let Some(name) = next {
        let c = container::find(store, &name).map_err(engine)?;
        if seen.contains(&c.id) {
            return Err(engine(format!(
                "--network container:{name}: a loop of containers joining each other"
            )));
        }
        next = c.config.process.network.container().map(str::to_string);
        seen.push(c.id.clone());
        root = Some(c.id);
    }
    Ok(root)
}

/// What a start took that outlives the container's process: its network, its
/// host-side /dev/shm, its rootfs mount, the images it mounted.
fn release_start(store: &Store, c: &Info) {
    leave_shared_hosts(store, c);
    crate::network::teardown(store, &c.id);
    crate::namespaces::release_shm(store, &c.id);
    crate::userns_view::release(&c.id);
    let _ = store.unmount(&c.id, false);
    crate::image_mounts::release(store, c);
}

/// Runs a recorded container's process in the foreground (its output to this
/// process's and to its log); returns its exit code. The builder uses it with a
/// process of its own (RUN) over a working container.
pub fn run_container(store: &Store, c: &Info) -> Result<i32, RunError> {
    run_container_ended(store, c).map(Ended::code)
}

/// [`run_container`], telling a death by signal from an exit code.
pub fn run_container_ended(store: &Store, c: &Info) -> Result<Ended, RunError> {
    if let crate::oci::Oci::Builtin(_) = crate::oci::Oci::for_container(store, c)? {
        crate::oci::Oci::check_builtin_flags(&c.config.process.runtime_flags)?;
    }
    // Without a monitor this process holds the published ports, as the
    // monitor would.
    let ports = reserve_ports(c)?;
    let bundle = prepare_bundle(store, c).inspect_err(|_| release_start(store, c))?;
    let result = if c.config.process.tty {
        run_with_terminal(store, c, bundle)
    } else {
        run_piped(store, c, bundle)
    };
    // Free before the exit is recorded: whoever sees the container stopped
    // can have its ports.
    drop(ports);
    release_start(store, c);
    let done = ContainerState {
        status: Status::Exited,
        init: None,
        exit_code: result.as_ref().ok().map(|e| e.code()),
        finished_ns: Some(now_ns()),
        ..container::load_state(store, &c.id)
    };
    container::save_state(store, &c.id, &done).map_err(engine)?;
    crate::events::container(store, c, "died", done.exit_code);
    result
}

/// The foreground without a terminal: the container's stdout and stderr are
/// pipes (as under conmon), copied to this process's own and to the log, while
/// this process waits for the container, passing on the signals it gets.
fn run_piped(store: &Store, c: &Info, bundle: PathBuf) -> Result<Ended, RunError> {
    let pid_file = bundle.join("pidfile");
    let oci = crate::oci::Oci::for_container(store, c)?;
    // A runtime binary leaves the container's init to us: reap it as its parent.
    crate::sys::set_child_subreaper().map_err(engine)?;
    let swapped = crate::stdio::Swapped::new(c.config.process.interactive).map_err(engine)?;
    // A Ctrl-C from here on is the container's, even before its pid is known.
    create::forward_signals();
    let created = oci.run_detached(&c.id, &bundle, &pid_file, None);
    let (out, err, mut tee) = swapped.restore().map_err(engine)?;
    if let Err(e) = created {
        create::abandon_start();
        return Err(with_runtime_words(e, err));
    }
    // A stream left out of --attach goes only to the log.
    let attach = &c.config.process.attach;
    for (name, f) in [("stdout", &mut tee.out), ("stderr", &mut tee.err)] {
        if !attach.is_empty() && !attach.iter().any(|a| a == name) {
            *f = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .map_err(engine)?;
        }
    }
    let pid = started_pid(store, c, &pid_file)?;
    let log = container::log_target(store, &c.id);
    let code = std::thread::scope(|s| {
        s.spawn(|| crate::stdio::pump(out, err, &log, Some(tee)));
        let deadline = crate::deadline::watch(s, pid, c.config.process.timeout);
        let status = create::wait_status_forwarding_signals(pid.get());
        let ended = status.map_or(Ended::Exited(255), Ended::from_status);
        crate::deadline::ended(deadline, ended)
    });
    oci.delete(&c.id);
    Ok(code)
}

/// A runtime binary that failed before it logged anything said why on its
/// stderr, which was the container's: its last line names the failure.
fn with_runtime_words(e: RunError, err: std::os::fd::OwnedFd) -> RunError {
    use std::io::Read;
    let mut said = String::new();
    // Every writer is gone (the runtime exited, no container runs): this ends.
    let _ = std::fs::File::from(err)
        .take(64 << 10)
        .read_to_string(&mut said);
    let Some(line) = said.lines().rfind(|l| !l.trim().is_empty()) else {
        return e;
    };
    match e {
        RunError::CannotRun(m) if m.starts_with("the runtime failed") => {
            RunError::CannotRun(line.trim().to_string())
        }
        e => e,
    }
}

/// A socket path short enough for `sun_path` (108 bytes): under the run root when
/// it fits, else in the temporary directory.
fn console_socket_path(store: &Store, id: &str) -> PathBuf {
    let short = &id[..12.min(id.len())];
    let dir = store.config().run_root.join("sockets");
    let p = dir.join(format!("{short}.console"));
    if p.as_os_str().len() < 100 && std::fs::create_dir_all(&dir).is_ok() {
        return p;
    }
    std::env::temp_dir().join(format!("berth-{short}.console"))
}

/// `run -t`: the runtime hands the terminal over a console socket; this process
/// copies between it and the user's terminal, then reaps the container.
fn run_with_terminal(store: &Store, c: &Info, bundle: PathBuf) -> Result<Ended, RunError> {
    let console = ConsoleSocket::bind(&console_socket_path(store, &c.id)).map_err(engine)?;
    let pid_file = bundle.join("pidfile");
    let oci = crate::oci::Oci::for_container(store, c)?;
    crate::sys::set_child_subreaper().map_err(engine)?;
    oci.run_detached(&c.id, &bundle, &pid_file, Some(console.path()))?;
    let master = console
        .receive()
        .map_err(|e| engine(format!("container terminal: {e}")))?;
    let pid = started_pid(store, c, &pid_file)?;
    let code = std::thread::scope(|s| {
        let deadline = crate::deadline::watch(s, pid, c.config.process.timeout);
        crate::terminal::proxy(master, c.config.process.interactive);
        let status = crate::sys::wait_pid_status(pid.get());
        status.map(|s| crate::deadline::ended(deadline, Ended::from_status(s)))
    })
    .map_err(engine)?;
    oci.delete(&c.id);
    Ok(code)
}

/// Reads the pid the runtime wrote for the container's init and records the
/// container as running under this process.
pub(crate) fn started_pid(
    store: &Store,
    info: &Info,
    pid_file: &std::path::Path,
) -> Result<Pid, RunError> {
    let pid = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| Pid::parse(&s))
        .ok_or_else(|| {
            engine(format!(
                "the runtime wrote no pid to {}",
                pid_file.display()
            ))
        })?;
    container::record_running(store, info, pid).map_err(engine)?;
    Ok(pid)
}

/// Binds the host side of the container's published ports (as podman does
/// before the container starts), for the caller to hold while it runs: a
/// port another container or a host process has fails the start with
/// "address already in use" (podman's 126) before any network is set up.
pub(crate) fn reserve_ports(info: &Info) -> Result<crate::network::Reservation, RunError> {
    let reserve = || {
        crate::network::reserve(&info.config.process.ports)
            .map_err(|e| RunError::CannotRun(e.to_string()))
    };
    match &info.config.process.network {
        NetworkMode::Bridge(_) if !crate::network::rootless::active() => reserve(),
        // pasta, slirp4netns or the rootless port forwarder binds them itself:
        // checked free now (the same words and 126), then let go for it.
        NetworkMode::Bridge(_) | NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_) => {
            reserve().map(|_| Default::default())
        }
        _ => Ok(Default::default()),
    }
}

/// Who owns the working directories made for `o` (host IDs; None: this
/// process): the container's root, or with `workdir_as_user` the command's
/// `user` (its container IDs).
fn workdir_owner(o: &ProcessOptions, user: Option<(u32, u32)>) -> Option<(u32, u32)> {
    let (uid, gid) = user.filter(|_| o.workdir_as_user).unwrap_or((0, 0));
    match &o.id_map {
        Some(m) => Some((
            m.host_uid(uid).unwrap_or_default(),
            m.host_gid(gid).unwrap_or_default(),
        )),
        None => Some((uid, gid)).filter(|&ids| ids != (0, 0)),
    }
}

/// `dir` made inside `rootfs` where it is missing, each directory made owned
/// by `owner` (host IDs; none: this process's); every step is resolved inside
/// the rootfs, so no symlink of the image leads out of it.
fn make_workdir(
    rootfs: &std::path::Path,
    dir: &str,
    owner: Option<(u32, u32)>,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let dirs = libc::O_PATH | libc::O_DIRECTORY;
    let root = berth_runtime::rootfs::Rootfs::open(&rootfs.to_string_lossy())
        .map_err(std::io::Error::other)?;
    let mut at = String::from("/");
    for name in dir.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let parent = root.open_in(&at, dirs)?;
        at = format!("{}/{name}", at.trim_end_matches('/'));
        match root.open_in(&at, dirs) {
            Ok(_) => continue,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let c_name = berth_runtime::sys::cstr(name)?;
        match berth_runtime::sys::mkdirat(parent.as_raw_fd(), &c_name, 0o755) {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
            _ => {}
        }
        if let Some((uid, gid)) = owner {
            berth_runtime::sys::fchownat_nofollow(parent.as_raw_fd(), &c_name, uid, gid)?;
        }
    }
    Ok(())
}

pub(crate) fn classify(msg: &str) -> RunError {
    if let Some(rest) = msg.strip_prefix("chdir to cwd ") {
        // podman's words (and its 126) for a --workdir the container lacks.
        let dir = rest.split(": ").next().unwrap_or(rest);
        return RunError::CannotRun(format!("workdir {dir} does not exist on container"));
    }
    if msg.contains("executable file not found")
        || msg.contains("No such file or directory") && msg.starts_with("exec ")
    {
        RunError::NotFound(msg.to_string())
    } else if msg.starts_with("exec ") {
        RunError::CannotRun(msg.to_string())
    } else {
        RunError::Engine(msg.to_string())
    }
}

/// Removes a container: what the runtime may still hold of it (a start that was
/// interrupted), its network, its mount, its record and its bundle; best effort.
pub fn remove(store: &Store, id: &str) {
    let info = container::find(store, id).ok();
    let rt = info
        .as_ref()
        .and_then(|i| i.config.process.runtime.clone())
        .and_then(|r| crate::oci::Oci::of(store, Some(&r)).ok())
        .unwrap_or_else(|| crate::oci::Oci::Builtin(runtime(store)));
    rt.delete(id);
    crate::network::teardown(store, id);
    crate::namespaces::release_shm(store, id);
    crate::attach::remove_sockets(store, id);
    crate::userns_view::release(id);
    let _ = store.unmount(id, true);
    if let Some(i) = &info {
        crate::image_mounts::release(store, i);
    }
    if store.remove_container(id).is_ok()
        && let Some(i) = &info
    {
        crate::events::container(store, i, "remove", None);
    }
    container::forget_run_dir(store, id);
}
