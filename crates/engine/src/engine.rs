//! The engine API (libpod with podman's domain layer): one value opened from the
//! store options, under every front end. The CLI, the REST API and the CRI ask
//! it for `images()`, `containers()` … and get typed reports back; none of them
//! holds behaviour another would have to copy.

use std::sync::Arc;

use berth_image::copy::Progress;
use berth_storage::{Store, StoreOptions};

use crate::images::{
    ImageError, ImageInspect, ImageSummary, ListOptions, PruneOptions, Pruned, Removal,
    RemoveOptions,
};
use crate::network::{self, NetworkError};
use crate::pull::{PullError, PullEvent, PullOptions, PullReport};
use crate::volumes::{VolumeError, VolumeInspect};

/// The engine over one store.
#[derive(Clone)]
pub struct Engine {
    store: Arc<Store>,
}

impl Engine {
    /// Opens the store the options name (and recovers what a killed process left).
    pub fn open(options: &StoreOptions) -> Result<Engine, berth_storage::Error> {
        Store::open_with(options).map(|s| Engine::with_store(Arc::new(s)))
    }

    /// An engine over a store already open.
    pub fn with_store(store: Arc<Store>) -> Engine {
        Engine { store }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Images: what `pull`, `images`, `rmi`, `image prune`, `tag` … do.
    pub fn images(&self) -> Images<'_> {
        Images { engine: self }
    }

    /// Containers: what `create`, `start`, `stop`, `rm`, `ps`, `inspect` … do.
    pub fn containers(&self) -> Containers<'_> {
        Containers { engine: self }
    }

    /// Named volumes: `volume create`, `ls`, `inspect`, `rm`, `prune` ….
    pub fn volumes(&self) -> Volumes<'_> {
        Volumes { engine: self }
    }

    /// The host and the store (`info`); `runtime` as [`crate::system::info`].
    pub fn info(&self, runtime: Option<&str>) -> Result<crate::system::InfoReport, crate::Error> {
        crate::system::info(&self.store, runtime)
    }

    /// The host and the store as buildah's `info` reports them.
    pub fn buildah_info(
        &self,
        runtime: Option<&str>,
    ) -> Result<crate::system::BuildahInfo, crate::Error> {
        crate::system::buildah_info(&self.store, runtime)
    }

    /// Bridge networks: `network create`, `ls`, `inspect`, `rm`, `connect` ….
    pub fn networks(&self) -> Networks<'_> {
        Networks { engine: self }
    }

    /// Pods: `pod create`, `start`, `stop`, `rm`, `ps`, `inspect`, `clone` ….
    pub fn pods(&self) -> Pods<'_> {
        Pods { engine: self }
    }
}

/// The engine's pod operations; a pod is named by its name, ID or ID prefix.
pub struct Pods<'a> {
    engine: &'a Engine,
}

impl Pods<'_> {
    fn store(&self) -> &Store {
        &self.engine.store
    }

    /// Creates a pod (and its infra container, not started).
    pub fn create(&self, o: &crate::pods::PodCreate) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::create(&self.engine.store, o)
    }

    /// A new pod made as `name` was, with a clone of each of its containers.
    pub fn clone_pod(
        &self,
        name: &str,
        o: &crate::clone::PodCloneOptions,
    ) -> crate::error::Result<crate::pods::Pod> {
        crate::clone::pod(&self.engine.store, name, o)
    }

    pub fn find(&self, name: &str) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::find(self.store(), name)
    }

    pub fn list(&self) -> Vec<crate::pods::Pod> {
        crate::pods::list(self.store())
    }

    /// The pod's containers, its infra container among them.
    pub fn members(&self, pod: &crate::pods::Pod) -> Vec<crate::container::Info> {
        crate::pods::members(self.store(), pod)
    }

    /// Starts the infra container, then the others (each under a monitor).
    pub fn start(
        &self,
        name: &str,
        monitor: MonitorArgv,
    ) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::start(self.store(), name, monitor)
    }

    pub fn stop(&self, name: &str, timeout: Option<u64>) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::stop(self.store(), name, timeout)
    }

    /// The containers `pod logs` reads (see [`crate::pods::log_targets`]).
    pub fn log_targets(
        &self,
        name: &str,
        container: Option<String>,
    ) -> crate::error::Result<Vec<String>> {
        crate::pods::log_targets(self.store(), name, container)
    }

    /// Stops the pod, then starts it again.
    pub fn restart(
        &self,
        name: &str,
        timeout: Option<u64>,
        monitor: MonitorArgv,
    ) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::restart(self.store(), name, timeout, monitor)
    }

    pub fn kill(&self, name: &str, signal: &str) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::kill(self.store(), name, signal)
    }

    /// Freezes (`true`) or thaws the pod's containers.
    pub fn set_paused(&self, name: &str, pause: bool) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::set_paused(self.store(), name, pause)
    }

    /// Removes the pod and its containers (running ones only with `force`).
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        time: u64,
    ) -> crate::error::Result<crate::pods::Pod> {
        crate::pods::remove(self.store(), name, force, time)
    }

    /// Removes every pod none of whose containers runs.
    pub fn prune(&self) -> (Vec<String>, Option<crate::Error>) {
        crate::pods::prune(self.store())
    }

    /// `pod ps`: the pods the filters pass, in the order asked for.
    pub fn ps(
        &self,
        o: &crate::pods::PsOptions,
    ) -> crate::error::Result<Vec<crate::pods::PodSummary>> {
        crate::pods::order::ps(self.store(), o)
    }

    pub fn top(&self, name: &str, args: &[String]) -> crate::error::Result<Vec<Vec<String>>> {
        crate::pods::top(self.store(), name, args)
    }

    pub fn inspect(&self, pod: &crate::pods::Pod) -> crate::pods::PodInspect {
        crate::pods::inspect(self.store(), pod)
    }
}

/// The engine's image operations.
pub struct Images<'a> {
    engine: &'a Engine,
}

impl Images<'_> {
    /// Pulls `name` under the pull policy, registries.conf and the trust policy.
    pub fn pull(
        &self,
        name: &str,
        options: &PullOptions,
        progress: &dyn Progress,
        events: &mut dyn FnMut(PullEvent),
    ) -> Result<PullReport, PullError> {
        crate::pull::pull(&self.engine.store, name, options, progress, events)
    }

    /// Pulls the image a new container is made from; returns the name to make
    /// it from (see [`crate::pull::for_container`]).
    pub fn pull_for_container(
        &self,
        image: &str,
        options: PullOptions,
        progress: &dyn Progress,
        events: &mut dyn FnMut(PullEvent),
    ) -> Result<String, PullError> {
        crate::pull::for_container(&self.engine.store, image, options, progress, events)
    }

    /// The images, one entry per name, filtered and sorted (`images`).
    pub fn list(&self, options: &ListOptions) -> Result<Vec<ImageSummary>, ImageError> {
        crate::images::list(&self.engine.store, options)
    }

    /// Removes images by name or ID (`rmi`): one result per image, in order.
    pub fn remove(
        &self,
        names: &[String],
        options: RemoveOptions,
    ) -> Result<Vec<Result<Removal, ImageError>>, ImageError> {
        crate::images::remove(&self.engine.store, names, options)
    }

    /// Removes the images nothing uses (`image prune`).
    pub fn prune(&self, options: &PruneOptions) -> Result<Vec<Pruned>, ImageError> {
        crate::images::prune(&self.engine.store, options)
    }

    /// An image as `image inspect` shows it.
    pub fn inspect(&self, name: &str) -> Result<ImageInspect, ImageError> {
        crate::images::inspect(&self.engine.store, name)
    }

    pub fn tag(&self, image: &str, names: &[String]) -> Result<(), ImageError> {
        crate::images::tag(&self.engine.store, image, names)
    }

    pub fn untag(&self, image: &str, names: &[String]) -> Result<(), ImageError> {
        crate::images::untag(&self.engine.store, image, names)
    }

    pub fn exists(&self, name: &str) -> Result<bool, ImageError> {
        crate::images::exists(&self.engine.store, name)
    }

    /// The image's history, newest first.
    pub fn history(&self, name: &str) -> Result<Vec<crate::images::HistoryEntry>, ImageError> {
        crate::images::history(&self.engine.store, name)
    }

    /// Imports a root filesystem tarball as a one-layer image; returns its ID.
    pub fn import(
        &self,
        input: &mut dyn std::io::Read,
        options: &crate::images::ImportOptions,
    ) -> Result<String, ImageError> {
        crate::images::import(&self.engine.store, input, options)
    }

    /// Pushes a local image (to its own name without a destination).
    pub fn push(
        &self,
        image: &str,
        options: &crate::images::PushOptions,
        context: &berth_image::Context,
        progress: &dyn Progress,
    ) -> Result<crate::images::PushReport, ImageError> {
        crate::images::push(&self.engine.store, image, options, context, progress)
    }

    /// Pushes a local image, or where no image has the name, the manifest
    /// list of that name (see [`crate::images::push_any`]).
    pub fn push_any(
        &self,
        name: &str,
        options: &crate::images::PushOptions,
        context: &berth_image::Context,
        progress: &dyn Progress,
    ) -> Result<crate::images::PushReport, ImageError> {
        crate::images::push_any(&self.engine.store, name, options, context, progress)
    }

    /// Mounts an image's root filesystem read-only; returns its ID and where.
    pub fn mount(&self, name: &str) -> Result<(String, std::path::PathBuf), ImageError> {
        Ok(self.engine.store.mount_image(name)?)
    }

    /// `image mount --all`: mounts each image once, handing `each` its first
    /// name (its ID when it has none) and where, as it goes.
    pub fn mount_all(
        &self,
        mut each: impl FnMut(&str, &std::path::Path),
    ) -> Result<(), ImageError> {
        let all = self.list(&Default::default())?;
        let mut seen = std::collections::HashSet::new();
        for s in all.iter().filter(|s| seen.insert(&s.id)) {
            let (_, path) = self.mount(&s.id)?;
            each(s.names.first().unwrap_or(&s.id), &path);
        }
        Ok(())
    }

    /// Undoes a mount (all of them with `force`); the image's ID when it is
    /// no longer mounted because of this call.
    pub fn unmount(&self, name: &str, force: bool) -> Result<Option<String>, ImageError> {
        Ok(self.engine.store.unmount_image(name, force)?)
    }

    /// The images mounted now: each name (or ID) with where.
    pub fn mounted(&self) -> Result<Vec<(String, std::path::PathBuf)>, ImageError> {
        let mounted = self.engine.store.mounted_images()?;
        Ok(mounted
            .into_iter()
            .map(|(im, p)| (im.names.first().cloned().unwrap_or(im.id), p))
            .collect())
    }

    /// Saves images to an archive or directory.
    pub fn save(
        &self,
        images: &[String],
        options: &crate::images::SaveOptions,
        progress: &dyn Progress,
    ) -> Result<(), ImageError> {
        crate::images::save(&self.engine.store, images, options, progress)
    }

    /// Saves images to an archive kept in an unlinked temporary file, open at
    /// its start: what a front end sends on (see [`crate::images::save_stream`]).
    pub fn save_stream(
        &self,
        images: &[String],
        options: &crate::images::SaveOptions,
        progress: &dyn Progress,
    ) -> Result<std::fs::File, ImageError> {
        crate::images::save_stream(&self.engine.store, images, options, progress)
    }

    /// Loads every image of an archive; returns the names (or IDs) loaded.
    pub fn load(
        &self,
        input: &std::path::Path,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, ImageError> {
        crate::images::load(&self.engine.store, input, progress)
    }

    /// [`Self::load`] from a stream (stdin, a request's body).
    pub fn load_from(
        &self,
        input: &mut dyn std::io::Read,
        progress: &dyn Progress,
    ) -> Result<Vec<String>, ImageError> {
        crate::images::load_from(&self.engine.store, input, progress)
    }
}

/// The engine's container operations. Starting one takes the monitor's command
/// line for a container ID (`monitor_argv`): the front end's binary runs it.
pub struct Containers<'a> {
    engine: &'a Engine,
}

/// How a front end starts a container's monitor: its argv for an ID.
pub type MonitorArgv<'a> = &'a dyn Fn(&str) -> Vec<std::ffi::OsString>;

impl Containers<'_> {
    fn store(&self) -> &Store {
        &self.engine.store
    }

    /// Records a new container from a typed spec (`create`), after what
    /// [`crate::run::prepare`] does first (`--replace`, `--pod new:`).
    pub fn create(
        &self,
        options: &crate::RunOptions,
    ) -> Result<crate::container::Info, crate::RunError> {
        self.create_for(options, false)
    }

    /// [`Self::create`] for a caller that starts it next (`run -d`): until
    /// then, or until the caller is gone, `prune` leaves it.
    pub fn create_to_start(
        &self,
        options: &crate::RunOptions,
    ) -> Result<crate::container::Info, crate::RunError> {
        self.create_for(options, true)
    }

    fn create_for(
        &self,
        options: &crate::RunOptions,
        to_start: bool,
    ) -> Result<crate::container::Info, crate::RunError> {
        let mut o = options.clone();
        let pod = crate::run::prepare(&self.engine.store, &mut o)?;
        let info = crate::run::create_for(self.store(), &o, to_start)?;
        pod.keep();
        Ok(info)
    }

    /// A new container made as `name` was (`container clone`), not started.
    pub fn clone_container(
        &self,
        name: &str,
        o: &crate::clone::CloneOptions,
    ) -> crate::error::Result<crate::container::Info> {
        crate::clone::container(self.store(), name, o)
    }

    /// Runs a container in the foreground; returns its exit code.
    pub fn run(&self, options: &crate::RunOptions) -> Result<i32, crate::RunError> {
        self.run_with(options, |_| Ok(()))
    }

    /// [`Self::run`], calling `created` once the container exists (before it starts).
    pub fn run_with(
        &self,
        options: &crate::RunOptions,
        created: impl FnOnce(&crate::container::Info) -> Result<(), crate::RunError>,
    ) -> Result<i32, crate::RunError> {
        let mut o = options.clone();
        let pod = crate::run::prepare(&self.engine.store, &mut o)?;
        crate::run::run_with(self.store(), &o, |c| {
            pod.keep();
            created(c)
        })
    }

    /// `run -d`: makes the container, calls `created` (a --cidfile), starts
    /// it under its monitor. A container that cannot start is removed again
    /// when it was made with --rm, as podman's run does.
    pub fn run_detached(
        &self,
        options: &crate::RunOptions,
        monitor: MonitorArgv,
        created: impl FnOnce(&crate::container::Info) -> Result<(), crate::Error>,
    ) -> Result<crate::container::Info, crate::Error> {
        self.run_monitored(options, created, |id| self.start(id, monitor))
    }

    /// A foreground `run` that its monitor runs (a restart policy, a
    /// healthcheck, a pod): as [`Self::run_detached`], with a connection to
    /// the attach socket made before the container's process runs.
    pub fn run_attached(
        &self,
        options: &crate::RunOptions,
        monitor: MonitorArgv,
        created: impl FnOnce(&crate::container::Info) -> Result<(), crate::Error>,
    ) -> Result<(crate::container::Info, std::os::unix::net::UnixStream), crate::Error> {
        self.run_monitored(options, created, |id| self.start_attached(id, monitor))
    }

    fn run_monitored<T>(
        &self,
        options: &crate::RunOptions,
        created: impl FnOnce(&crate::container::Info) -> Result<(), crate::Error>,
        start: impl FnOnce(&str) -> Result<T, crate::Error>,
    ) -> Result<T, crate::Error> {
        let c = self.create_to_start(options)?;
        if let Err(e) = created(&c) {
            crate::run::remove(self.store(), &c.id);
            return Err(e);
        }
        start(&c.id).inspect_err(|_| {
            if options.rm {
                crate::run::remove(self.store(), &c.id);
            }
        })
    }

    /// Starts a created or stopped container under its monitor.
    pub fn start(
        &self,
        name: &str,
        monitor: MonitorArgv,
    ) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::start(self.store(), name, monitor)
    }

    /// Starts it under its monitor with a connection to its attach socket made
    /// before its process runs (no byte of its output is missed).
    pub fn start_attached(
        &self,
        name: &str,
        monitor: MonitorArgv,
    ) -> crate::error::Result<(crate::container::Info, std::os::unix::net::UnixStream)> {
        crate::lifecycle::start_attached(self.store(), name, monitor)
    }

    /// Attaches to a running container: it, and a connection to its attach
    /// socket (see [`crate::attach::attach`]).
    pub fn attach(
        &self,
        name: &str,
    ) -> crate::error::Result<(crate::container::Info, std::os::unix::net::UnixStream)> {
        crate::attach::attach(self.store(), name)
    }

    /// Stops it: the stop signal, then SIGKILL after `timeout` seconds.
    pub fn stop(
        &self,
        name: &str,
        timeout: Option<u64>,
    ) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::stop(self.store(), name, timeout)
    }

    pub fn kill(&self, name: &str, signal: &str) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::kill(self.store(), name, signal)
    }

    pub fn pause(&self, name: &str) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::set_paused(self.store(), name, true)
    }

    pub fn unpause(&self, name: &str) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::set_paused(self.store(), name, false)
    }

    /// Removes it (`force`: stopping it first, within `time` seconds).
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        time: u64,
    ) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::remove_timed(self.store(), name, force, time)
    }

    /// Removes the containers not running (`container prune`) that pass
    /// `filters` (`until=`, `label=`, `label!=`); see [`crate::lifecycle::prune`].
    pub fn prune(&self, filters: &[String]) -> crate::error::Result<Vec<String>> {
        let filters = crate::lifecycle::prune_filters(filters)?;
        crate::lifecycle::prune(self.store(), &filters)
    }

    /// Removes it as `o` says (`rm`); every container removed, in order.
    pub fn remove_with(
        &self,
        name: &str,
        o: &crate::lifecycle::RemoveOptions,
    ) -> crate::error::Result<Vec<crate::container::Info>> {
        crate::lifecycle::remove_with(self.store(), name, o)
    }

    /// Gives it another name (`rename`); a name in use is refused.
    pub fn rename(&self, name: &str, new_name: &str) -> crate::error::Result<()> {
        let info = crate::container::find(self.store(), name)?;
        self.store()
            .rename_container(&info.id, new_name)
            .map_err(|e| crate::Error::StateImproper(e.to_string()))?;
        // podman's rename event names the container by its new name.
        if let Ok(renamed) = crate::container::find(self.store(), &info.id) {
            crate::events::container(self.store(), &renamed, "rename", None);
        }
        Ok(())
    }

    /// Stops it (if it runs) and starts it again.
    pub fn restart(
        &self,
        name: &str,
        timeout: Option<u64>,
        monitor: MonitorArgv,
    ) -> crate::error::Result<crate::container::Info> {
        crate::lifecycle::restart(self.store(), name, timeout, monitor)
    }

    /// Waits for it to exit; returns its exit code.
    pub fn wait(&self, name: &str) -> crate::error::Result<i32> {
        crate::lifecycle::wait(self.store(), name)
    }

    /// Runs a process in it, on this process's stdio.
    pub fn exec(
        &self,
        name: &str,
        request: &crate::exec::ExecRequest,
    ) -> crate::error::Result<i32> {
        crate::exec::exec(self.store(), name, request)
    }

    /// Runs a process in it, on the given streams (see [`crate::exec::exec_with`]).
    pub fn exec_with(
        &self,
        name: &str,
        request: &crate::exec::ExecRequest,
        io: crate::exec::ExecIo,
    ) -> crate::error::Result<i32> {
        crate::exec::exec_with(self.store(), name, request, io)
    }

    /// The containers `ps` shows, as its entries.
    pub fn list(
        &self,
        options: &crate::views::PsOptions,
    ) -> Result<Vec<crate::views::PsEntry>, crate::views::ViewError> {
        let list = crate::views::ps(self.store(), options)?;
        Ok(crate::views::ps_entries(self.store(), &list))
    }

    /// A container as `inspect` shows it.
    pub fn inspect(&self, name: &str) -> crate::error::Result<crate::views::ContainerInspect> {
        let info = crate::container::find(self.store(), name)?;
        Ok(crate::views::ContainerInspect::of(self.store(), &info))
    }

    /// [`Containers::inspect`] with the sizes of what it wrote and of its
    /// whole root (`inspect --size`).
    pub fn inspect_sized(
        &self,
        name: &str,
    ) -> crate::error::Result<crate::views::ContainerInspect> {
        let info = crate::container::find(self.store(), name)?;
        let doc = crate::views::ContainerInspect::of(self.store(), &info);
        Ok(doc.with_size(self.store(), &info))
    }

    /// Its log, as `logs` prints it.
    pub fn logs(
        &self,
        name: &str,
        options: &crate::lifecycle::LogOptions,
        stdout: &mut dyn std::io::Write,
        stderr: &mut dyn std::io::Write,
    ) -> crate::error::Result<()> {
        crate::lifecycle::logs(self.store(), name, options, stdout, stderr)
    }
}

/// The engine's named-volume operations.
pub struct Volumes<'a> {
    engine: &'a Engine,
}

impl Volumes<'_> {
    /// Makes a volume (a generated name without one); returns its name.
    pub fn create(
        &self,
        name: Option<&str>,
        ignore_existing: bool,
        options: &crate::volumes::named::CreateOptions,
    ) -> Result<String, VolumeError> {
        crate::volumes::named::create_with(&self.engine.store, name, ignore_existing, options)
    }

    pub fn list(&self, filters: &[String]) -> Result<Vec<VolumeInspect>, VolumeError> {
        crate::volumes::named::list_filtered(&self.engine.store, filters)
    }

    pub fn inspect(&self, name: &str) -> Result<VolumeInspect, VolumeError> {
        crate::volumes::named::inspect(&self.engine.store, name)
    }

    pub fn exists(&self, name: &str) -> bool {
        crate::volumes::named::exists(&self.engine.store, name)
    }

    /// `volume inspect`: those named, or every one with `all`.
    pub fn inspect_each(
        &self,
        names: &[String],
        all: bool,
    ) -> Result<Vec<VolumeInspect>, VolumeError> {
        crate::volumes::named::inspect_each(&self.engine.store, names, all)
    }

    /// `volume rm`: see [`crate::volumes::named::remove_each`].
    pub fn remove_each(
        &self,
        names: &[String],
        o: &crate::volumes::named::RemoveOptions,
        removed: &mut dyn FnMut(&str),
    ) -> Result<(), VolumeError> {
        crate::volumes::named::remove_each(&self.engine.store, names, o, removed)
    }

    /// Removes it (`force`: with the containers using it, stopped within `time`).
    pub fn remove(&self, name: &str, force: bool, time: u64) -> Result<(), VolumeError> {
        crate::volumes::named::remove(&self.engine.store, name, force, time)
    }

    /// The volumes no container uses that pass `filters` (as `list` takes them).
    pub fn unused(&self, filters: &[String]) -> Result<Vec<String>, VolumeError> {
        crate::volumes::named::unused_filtered(&self.engine.store, filters)
    }

    /// Removes the volumes `unused` names; returns their names.
    pub fn prune(&self, filters: &[String]) -> Result<Vec<String>, VolumeError> {
        crate::volumes::named::prune_filtered(&self.engine.store, filters)
    }

    /// Writes its content as a tar archive.
    pub fn export(&self, name: &str, out: &mut dyn std::io::Write) -> Result<(), VolumeError> {
        crate::volumes::named::export(&self.engine.store, name, out)
    }

    /// Writes its content as a tar archive to `path`, whole or not at all.
    pub fn export_to_file(&self, name: &str, path: &std::path::Path) -> Result<(), VolumeError> {
        crate::volumes::named::export_to_file(&self.engine.store, name, path)
    }

    /// Replaces its content with a tar archive's.
    pub fn import(&self, name: &str, input: &mut dyn std::io::Read) -> Result<(), VolumeError> {
        crate::volumes::named::import(&self.engine.store, name, input)
    }
}

/// The engine's bridge-network operations.
pub struct Networks<'a> {
    engine: &'a Engine,
}

impl Networks<'_> {
    /// Creates a network; without a name, the first free `podmanN`, as podman
    /// names it.
    pub fn create(
        &self,
        name: &str,
        options: &network::CreateOptions,
    ) -> Result<network::Network, NetworkError> {
        let store = &self.engine.store;
        match name {
            "" => network::create(store, &network::free_name(store), options),
            name => network::create(store, name, options),
        }
    }

    /// `name=`, `id=`, `driver=` filters; the default network is listed too.
    pub fn list(&self, filters: &[String]) -> Result<Vec<network::Network>, NetworkError> {
        network::list_filtered(&self.engine.store, filters)
    }

    /// `network ls`: [`Networks::list`]'s networks as rows to show.
    pub fn rows(&self, filters: &[String]) -> Result<Vec<network::NetworkRow>, NetworkError> {
        Ok(self
            .list(filters)?
            .iter()
            .map(network::NetworkRow::of)
            .collect())
    }

    pub fn inspect(&self, name: &str) -> Result<network::NetworkInspect, NetworkError> {
        network::get(&self.engine.store, name).map(|n| network::NetworkInspect::of(&n))
    }

    pub fn exists(&self, name: &str) -> bool {
        network::get(&self.engine.store, name).is_ok()
    }

    pub fn remove(&self, name: &str) -> Result<(), NetworkError> {
        network::remove(&self.engine.store, name)
    }

    /// `network rm --force`: the containers on it go first (stopped with
    /// `time` seconds' grace), then the network; one that is not there is
    /// no error.
    pub fn remove_forced(&self, name: &str, time: u64) -> crate::error::Result<()> {
        let store = &self.engine.store;
        let users = match network::users(store, name) {
            Ok(u) if network::get(store, name).is_ok() => u,
            _ => return Ok(()),
        };
        for c in users {
            crate::lifecycle::remove_timed(store, &c.id, true, time)?;
        }
        Ok(network::remove(store, name)?)
    }

    /// Removes every network no container uses that passes `filters`
    /// (`until=`, `label=`, `label!=`); returns their names.
    pub fn prune(&self, filters: &[String]) -> Result<Vec<String>, NetworkError> {
        network::prune(&self.engine.store, filters)
    }

    /// Connects a container (running or not) to a network, with more
    /// names and a fixed address there if `options` say so.
    pub fn connect(
        &self,
        container: &str,
        name: &str,
        options: &network::ConnectOptions,
    ) -> crate::error::Result<()> {
        let store = &self.engine.store;
        network::set_connected(store, container, name, true, options, false)
    }

    /// `force`: off the network even when its link is gone already.
    pub fn disconnect(&self, container: &str, name: &str, force: bool) -> crate::error::Result<()> {
        let none = network::ConnectOptions::default();
        network::set_connected(&self.engine.store, container, name, false, &none, force)
    }
}
