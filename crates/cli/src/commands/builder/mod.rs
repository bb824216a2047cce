//! buildah's verbs over working containers: `builder from/run/copy/commit/…`; one file per concern below.

pub mod build;
pub mod config;
pub mod images;
pub mod list;
pub mod source;
pub mod working;

use crate::commands::StoreArgs;
use crate::commands::builder::config::{ConfigArgs, config};
use crate::commands::builder::list::{
    ContainersArgs, InspectArgs, RmArgs, containers, inspect, mount, rm,
};
use crate::exit::{self, CmdResult, Failure};
use berth_builder::builder::{self, Builder, CommitSpec, CopySpec};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
#[command(arg_required_else_help = true)]
pub struct BuilderArgs {
    /// Print the version, as `buildah --version` does.
    #[arg(short = 'v', long)]
    pub(crate) version: bool,
    #[command(subcommand)]
    pub(crate) command: Option<BuilderCommand>,
}

// Parsed once; boxing the big variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum BuilderCommand {
    /// Make a working container from an image (or `scratch`); prints its name.
    From(working::FromArgs),
    /// Run a command in a working container.
    Run(working::RunArgs),
    /// Copy host files (or another container's or image's) into a working container.
    Copy(CopyArgs),
    /// Copy like `copy`, unpacking local archives.
    Add(CopyArgs),
    /// Change the image config a working container will be committed with.
    Config(ConfigArgs),
    /// Write a working container's changes as a new image: one new layer.
    Commit(CommitArgs),
    /// Mount a working container's root and print where.
    Mount(list::MountArgs),
    /// Unmount a working container's root.
    #[command(alias = "unmount")]
    Umount(list::UmountArgs),
    /// Remove working containers.
    #[command(alias = "delete")]
    Rm(RmArgs),
    /// List working containers.
    #[command(alias = "ls", alias = "list")]
    Containers(ContainersArgs),
    /// Show a working container's configuration.
    Inspect(InspectArgs),
    /// Build an image from a Containerfile (buildah's `bud`).
    #[command(alias = "bud")]
    Build(build::BuildArgs),
    #[command(flatten)]
    ImageVerb(crate::commands::image::ImageVerb),
    /// Remove local images.
    Rmi(crate::commands::image::remove::RmiArgs),
    /// Log in to a registry.
    Login(crate::commands::login::LoginArgs),
    /// Log out of a registry.
    Logout(crate::commands::login::LogoutArgs),
    /// Show the host and the store, as buildah's JSON.
    Info(InfoArgs),
    /// Show berth's version.
    Version(crate::commands::system::VersionArgs),
    /// Remove dangling images (with --all, every image no container uses) and the
    /// build cache: the layer cache's keys and RUN's cache mounts.
    Prune(PruneArgs),
    /// Run a command (a shell by default) in the rootless user's namespace; as root,
    /// as it is (buildah's).
    Unshare(crate::commands::unshare::UnshareArgs),
    /// Give a working container another name.
    Rename(RenameArgs),
    /// List images, as buildah lists them (`--json`, its template fields).
    Images(images::ImagesArgs),
    /// Manifest lists, as `berth manifest` (buildah's `manifest`).
    Manifest(crate::commands::manifest::ManifestArgs),
    /// Source images: create, add artifacts, push and pull (buildah's `source`).
    Source(source::SourceArgs),
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    /// A Go template over the JSON (`{{.host.cpus}}`).
    #[arg(short, long)]
    format: Option<String>,
    /// Also a `debug` key: berth's version and build. The flag is also
    /// berth's global --debug (one flag, one id), so its log goes to stderr.
    #[arg(short, long)]
    debug: bool,
}

/// buildah's `info`: JSON of its keys, or a template over it.
fn info(store_args: &StoreArgs, a: InfoArgs) -> CmdResult {
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    let mut report = engine
        .buildah_info(store_args.runtime.as_deref())
        .map_err(exit::engine)?;
    if a.debug {
        report.debug = Some(berth_engine::system::buildah_debug());
    }
    crate::output::print_value(&crate::output::value(report), a.format.as_deref())
}

#[derive(Args)]
pub(crate) struct RenameArgs {
    container: String,
    name: String,
}

/// buildah's registry and trust flags, on a verb that may reach a registry.
#[derive(Args)]
pub(crate) struct RegistryFlags {
    #[command(flatten)]
    pub(crate) access: crate::commands::image::access::Access,
    /// The trust policy an image pulled for the verb is checked against.
    #[arg(long)]
    pub(crate) signature_policy: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct CopyArgs {
    /// USER[:GROUP] to own the copied files.
    #[arg(long)]
    pub(crate) chown: Option<String>,
    /// Octal mode of the copied files.
    #[arg(long)]
    pub(crate) chmod: Option<String>,
    /// Copy from this working container or image instead of the host (an
    /// image not in the store is pulled).
    #[arg(long)]
    pub(crate) from: Option<String>,
    #[command(flatten)]
    pub(crate) registry: RegistryFlags,
    /// Print nothing (not the content digest).
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// A history entry for the copy (default: $BUILDAH_HISTORY).
    #[arg(long, env = "BUILDAH_HISTORY")]
    pub(crate) add_history: bool,
    /// Host sources are read inside this directory, its .containerignore
    /// excluding.
    #[arg(long)]
    pub(crate) contextdir: Option<PathBuf>,
    /// Exclude what this file's patterns match (needs --contextdir).
    #[arg(long, requires = "contextdir")]
    pub(crate) ignorefile: Option<PathBuf>,
    /// Attempts for a failed pull of --from's image (default 3).
    #[arg(long)]
    pub(crate) retry: Option<u32>,
    /// The pause between them (2s, 500ms; default: a growing one).
    #[arg(long)]
    pub(crate) retry_delay: Option<String>,
    pub(crate) container: String,
    /// SOURCE... [DEST] (DEST defaults to the working directory).
    #[arg(required = true)]
    pub(crate) paths: Vec<String>,
}

#[derive(Args)]
pub(crate) struct CommitArgs {
    /// oci (default) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker", "v2s2"])]
    pub(crate) format: String,
    /// One layer for the whole filesystem.
    #[arg(long)]
    pub(crate) squash: bool,
    /// Remove the working container after committing.
    #[arg(long)]
    pub(crate) rm: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Write the image ID to this file.
    #[arg(long)]
    pub(crate) iidfile: Option<PathBuf>,
    /// Seconds since the epoch as the image's and its history's creation
    /// time and the new layer's file times.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) timestamp: Option<i64>,
    /// Write no history into the image.
    #[arg(long)]
    pub(crate) omit_history: bool,
    /// Accepted as buildah's, either way: berth writes no identity label
    /// (buildah's io.buildah.version), so the same changes give the same image.
    #[arg(long)]
    pub(crate) identity_label: bool,
    /// Add the image to this manifest list (made when there is none).
    #[arg(long)]
    pub(crate) manifest: Option<String>,
    /// An environment variable the image goes without.
    #[arg(long)]
    pub(crate) unsetenv: Vec<String>,
    #[command(flatten)]
    pub(crate) encryption: Encryption,
    /// Refused: a commit is not signed (sign with `push --sign-by`).
    #[arg(long, hide = true)]
    pub(crate) sign_by: Option<String>,
    /// Layers written to oci:, dir: … stay uncompressed (default true, as
    /// buildah's; =false gzips them; a registry always gets them
    /// compressed). buildah's -D is berth's global --debug.
    #[arg(long, default_value = "true")]
    pub(crate) disable_compression: bool,
    #[command(flatten)]
    pub(crate) registry: RegistryFlags,
    pub(crate) container: String,
    /// The image's name, or TRANSPORT:NAME (`docker://REG/NAME` …) to write it
    /// there instead of the store.
    pub(crate) image: Option<String>,
}

#[derive(Args)]
pub(crate) struct PruneArgs {
    /// Every image no container uses, not only dangling ones.
    #[arg(short, long)]
    all: bool,
    /// Accepted for buildah's scripts: berth's prune never asks.
    #[arg(short, long)]
    force: bool,
}

/// buildah's `prune`: the images go first (their IDs printed), then the caches.
fn prune(store_args: &StoreArgs, a: PruneArgs) -> CmdResult {
    let store = store_args.open()?;
    let o = berth_engine::images::PruneOptions {
        all: a.all,
        filters: Vec::new(),
    };
    for p in berth_engine::images::prune(&store, &o).map_err(exit::podman)? {
        println!("{}", p.id);
    }
    berth_builder::execute::prune_caches(&store)
        .map_err(|e| exit::podman(format!("build cache: {e}")))?;
    Ok(())
}

/// buildah's `--isolation`: oci, chroot or rootless. berth runs every
/// command the one way it has, in its OCI runtime with namespaces of the
/// command's own (buildah's `oci`); `chroot` and `rootless` are taken as
/// that too, so scripts that pick them run unchanged (BUILDAH_ISOLATION is
/// read the same way: not at all).
#[derive(Args)]
pub(crate) struct Isolation {
    /// oci, chroot or rootless: all run in berth's OCI runtime.
    #[arg(long, value_parser = ["oci", "chroot", "rootless"])]
    pub(crate) isolation: Option<String>,
}

/// buildah's namespace flags (`run`, `from`, `build`): each `host` or
/// `private`.
#[derive(Args)]
pub(crate) struct Namespaces {
    /// host or private: the PID namespace.
    #[arg(long)]
    pub(crate) pid: Option<String>,
    /// host or private: the IPC namespace.
    #[arg(long)]
    pub(crate) ipc: Option<String>,
    /// host or private: the UTS namespace.
    #[arg(long)]
    pub(crate) uts: Option<String>,
    /// host or private: the cgroup namespace.
    #[arg(long)]
    pub(crate) cgroupns: Option<String>,
}

impl Namespaces {
    /// pid, ipc, uts and cgroupns, each None when not given.
    pub(crate) fn modes(&self) -> Result<[Option<berth_engine::namespaces::NsMode>; 4], Failure> {
        Ok([
            namespace("pid", self.pid.as_deref())?,
            namespace("ipc", self.ipc.as_deref())?,
            namespace("uts", self.uts.as_deref())?,
            namespace("cgroupns", self.cgroupns.as_deref())?,
        ])
    }
}

/// What buildah's `from` and `build` give every command run in the container
/// (`run`, RUN): limits, /dev/shm, hosts and DNS, namespaces.
#[derive(Args)]
pub(crate) struct RunWith {
    /// Memory, swap and CPU limits (-m 512m, --memory-swap, -c/--cpu-shares,
    /// --cpuset-cpus, --cpuset-mems …).
    #[command(flatten)]
    pub(crate) resources: crate::commands::container::flags::ResourceFlags,
    /// The cgroup each command's nests under.
    #[arg(long)]
    pub(crate) cgroup_parent: Option<String>,
    /// Size of /dev/shm (default 64m).
    #[arg(long)]
    pub(crate) shm_size: Option<String>,
    /// HOST:IP in /etc/hosts.
    #[arg(long)]
    pub(crate) add_host: Vec<String>,
    /// A DNS server of /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns: Vec<String>,
    /// A search domain of /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns_search: Vec<String>,
    /// An option of /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns_option: Vec<String>,
    /// --pid/--ipc/--uts/--cgroupns: host or private.
    #[command(flatten)]
    pub(crate) namespaces: Namespaces,
}

impl RunWith {
    /// Sets what was given over `o`.
    pub(crate) fn apply(&self, o: &mut berth_engine::spec::ProcessOptions) -> CmdResult {
        let [pid, ipc, uts, cgroupns] = self.namespaces.modes()?;
        for (field, mode) in [
            (&mut o.pid, pid),
            (&mut o.ipc, ipc),
            (&mut o.uts, uts),
            (&mut o.cgroupns, cgroupns),
        ] {
            if let Some(m) = mode {
                *field = m;
            }
        }
        if let Some(s) = &self.shm_size {
            let size = s
                .parse()
                .map_err(|source| berth_engine::spec::SpecError::ShmSize {
                    size: s.to_string(),
                    source,
                });
            o.shm_size = Some(size.map_err(exit::podman)?);
        }
        o.cgroup_parent = self.cgroup_parent.clone().or(o.cgroup_parent.take());
        o.add_hosts.extend(self.add_host.iter().cloned());
        o.dns.extend(self.dns.iter().cloned());
        o.dns_search.extend(self.dns_search.iter().cloned());
        o.dns_options.extend(self.dns_option.iter().cloned());
        self.resources.clone().update()?.apply_to(o);
        Ok(())
    }
}

/// buildah's `--userns` (`from`, `build`): `host` only; a namespace of the
/// container's own comes with `--userns-uid-map/--userns-gid-map`.
pub(crate) fn userns_host_only(mode: Option<&str>) -> CmdResult {
    match mode {
        None | Some("" | "host") => Ok(()),
        Some(m) => Err(exit::usage(
            125,
            format!(
                "--userns {m}: a user namespace of the container's own comes only with --userns-uid-map/--userns-gid-map"
            ),
        )),
    }
}

/// buildah's user namespace mappings (`from`, `build`).
#[derive(Args)]
pub(crate) struct IdMapFlags {
    /// CONTAINER:HOST:SIZE (one or more): UIDs of a user namespace of the
    /// container's own.
    #[arg(long)]
    pub(crate) userns_uid_map: Vec<String>,
    /// CONTAINER:HOST:SIZE for GIDs (default: as --userns-uid-map).
    #[arg(long)]
    pub(crate) userns_gid_map: Vec<String>,
    /// The UIDs /etc/subuid gives this user, from container UID 0.
    #[arg(long, conflicts_with = "userns_uid_map")]
    pub(crate) userns_uid_map_user: Option<String>,
    /// The GIDs /etc/subgid gives this group (default: --userns-uid-map-user's).
    #[arg(long, conflicts_with = "userns_gid_map")]
    pub(crate) userns_gid_map_group: Option<String>,
}

impl IdMapFlags {
    /// The mapping the flags give; None for none.
    pub(crate) fn id_map(&self) -> Result<Option<berth_storage::idmap::IdMap>, Failure> {
        let (mut uids, mut gids) = (self.userns_uid_map.clone(), self.userns_gid_map.clone());
        let group = self.userns_gid_map_group.as_deref().or(self
            .userns_uid_map_user
            .as_deref()
            .filter(|_| gids.is_empty()));
        for (name, file, out) in [
            (
                self.userns_uid_map_user.as_deref(),
                "/etc/subuid",
                &mut uids,
            ),
            (group, "/etc/subgid", &mut gids),
        ] {
            if let Some(name) = name {
                out.push(
                    berth_engine::namespaces::subordinate_map(file, name).map_err(exit::podman)?,
                );
            }
        }
        berth_engine::namespaces::id_map_chained(&uids, &gids).map_err(exit::podman)
    }
}

/// buildah's image encryption flags (ocicrypt), which berth does not serve:
/// refused in words rather than as unknown flags, and never ignored (an
/// image meant to be encrypted must not go out in the clear).
#[derive(Args, Clone, Default)]
pub(crate) struct Encryption {
    /// Refused: berth does not encrypt layers.
    #[arg(long, hide = true)]
    pub(crate) encryption_key: Vec<String>,
    /// Refused: berth does not encrypt layers.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub(crate) encrypt_layer: Vec<String>,
    /// Refused: berth does not decrypt layers.
    #[arg(long, hide = true)]
    pub(crate) decryption_key: Vec<String>,
}

impl Encryption {
    /// Fails when any of the flags was given.
    pub(crate) fn refuse(&self) -> CmdResult {
        let given = [
            ("--encryption-key", !self.encryption_key.is_empty()),
            ("--encrypt-layer", !self.encrypt_layer.is_empty()),
            ("--decryption-key", !self.decryption_key.is_empty()),
        ];
        match given.iter().find(|(_, g)| *g) {
            Some((flag, _)) => Err(exit::usage(
                125,
                format!("{flag}: berth neither encrypts nor decrypts image layers (ocicrypt)"),
            )),
            None => Ok(()),
        }
    }
}

/// `--retry-delay 2s` (Go's durations: 500ms, 1m30s).
pub(crate) fn retry_delay(flag: Option<&str>) -> Result<Option<std::time::Duration>, Failure> {
    flag.map(|d| {
        berth_engine::health::parse_duration(d)
            .map_err(|e| exit::usage(125, format!("--retry-delay {d}: {e}")))
    })
    .transpose()
}

/// A `--pid/--ipc/--uts/--cgroupns` value as buildah takes it: `host` or
/// `private`; a namespace's path to join is refused, as berth joins none.
fn namespace(
    flag: &'static str,
    value: Option<&str>,
) -> Result<Option<berth_engine::namespaces::NsMode>, Failure> {
    use berth_engine::namespaces::NsMode;
    match value {
        None => Ok(None),
        Some("host") => Ok(Some(NsMode::Host)),
        Some("private" | "") => Ok(Some(NsMode::Private)),
        Some(v) => Err(exit::usage(
            125,
            format!("--{flag} {v}: berth joins no namespace by its path; use host or private"),
        )),
    }
}

#[derive(Args)]
pub(crate) struct NameArgs {
    pub(crate) containers: Vec<String>,
}

pub fn run(store_args: &StoreArgs, a: BuilderArgs) -> Result<i32, Failure> {
    if a.version {
        println!("{}", berth_engine::system::version_line());
        return Ok(0);
    }
    let Some(command) = a.command else {
        return Err(exit::usage(
            125,
            "berth builder: a command is needed (see --help)",
        ));
    };
    match command {
        BuilderCommand::From(a) => working::from(store_args, a).map(|_| 0),
        BuilderCommand::Run(a) => working::run_in(store_args, a),
        BuilderCommand::Copy(a) => copy(store_args, a, false).map(|_| 0),
        BuilderCommand::Add(a) => copy(store_args, a, true).map(|_| 0),
        BuilderCommand::Config(a) => config(store_args, a).map(|_| 0),
        BuilderCommand::Commit(a) => commit(store_args, a).map(|_| 0),
        BuilderCommand::Mount(a) => mount(store_args, a).map(|_| 0),
        BuilderCommand::Umount(a) => list::umount(store_args, a).map(|_| 0),
        BuilderCommand::Rm(a) => rm(store_args, a).map(|_| 0),
        BuilderCommand::Containers(a) => containers(store_args, a).map(|_| 0),
        BuilderCommand::Inspect(a) => inspect(store_args, a).map(|_| 0),
        BuilderCommand::Images(a) => images::images(store_args, a).map(|_| 0),
        BuilderCommand::Build(mut a) => {
            a.buildah = true;
            build::build(store_args, a)
        }
        BuilderCommand::ImageVerb(v) => v.run(store_args).map(|_| 0),
        BuilderCommand::Rmi(mut a) => {
            a.buildah = true;
            crate::commands::image::remove::rmi(store_args, a).map(|_| 0)
        }
        BuilderCommand::Login(a) => crate::commands::login::login(a).map(|_| 0),
        BuilderCommand::Logout(a) => crate::commands::login::logout(a).map(|_| 0),
        BuilderCommand::Info(a) => info(store_args, a).map(|_| 0),
        BuilderCommand::Version(a) => crate::commands::system::version(a).map(|_| 0),
        BuilderCommand::Prune(a) => prune(store_args, a).map(|_| 0),
        BuilderCommand::Unshare(a) => crate::commands::unshare::run(store_args, a, true).map(|_| 0),
        BuilderCommand::Rename(a) => {
            let engine = berth_engine::Engine::with_store(store_args.open()?);
            engine
                .containers()
                .rename(&a.container, &a.name)
                .map_err(exit::engine)?;
            Ok(0)
        }
        BuilderCommand::Manifest(a) => crate::commands::manifest::run(store_args, a).map(|_| 0),
        BuilderCommand::Source(a) => source::run(a),
    }
}

fn copy(store_args: &StoreArgs, a: CopyArgs, add: bool) -> CmdResult {
    let store = store_args.open()?;
    let mut b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let mut paths = a.paths;
    // One path copies into the working directory, as buildah does.
    let dest = if paths.len() > 1 {
        paths.pop().expect("two paths")
    } else {
        ".".to_string()
    };
    // An image to copy from that is not in the store is pulled, as buildah's
    // copy does; a working container's name stands.
    let from = match a.from {
        Some(f) if berth_engine::container::find(&store, &f).is_err() => {
            let how = crate::commands::image::pull::PullFor {
                quiet: a.quiet,
                access: Some(&a.registry.access),
                signature_policy: a.registry.signature_policy.as_deref(),
                retry: a.retry,
                retry_delay: retry_delay(a.retry_delay.as_deref())?,
                ..Default::default()
            };
            let engine = berth_engine::Engine::with_store(store.clone());
            Some(crate::commands::image::pull::pull_for_container(
                &engine, &f, "missing", &how,
            )?)
        }
        f => f,
    };
    let spec = CopySpec {
        sources: paths,
        dest,
        chown: a.chown,
        chmod: a.chmod,
        from,
        add,
        cwd: std::env::current_dir().map_err(exit::podman)?,
        context_dir: a
            .contextdir
            .map(|d| {
                std::fs::canonicalize(&d)
                    .map_err(|e| exit::podman(format!("--contextdir {}: {e}", d.display())))
            })
            .transpose()?,
        ignore_file: a.ignorefile,
    };
    let digest = builder::copy(&store, &b, &spec).map_err(exit::build)?;
    if a.add_history {
        b.add_copy_history(&spec, &digest);
        b.save(&store).map_err(exit::build)?;
    }
    if !a.quiet {
        println!("{digest}");
    }
    Ok(())
}

fn commit(store_args: &StoreArgs, a: CommitArgs) -> CmdResult {
    a.encryption.refuse()?;
    if a.sign_by.is_some() {
        return Err(exit::usage(
            125,
            "--sign-by: berth's commit signs nothing; sign when pushing (`push --sign-by`)",
        ));
    }
    // buildah checks the authfile first of all.
    if let Some(f) = &a.registry.access.authfile {
        berth_engine::access::check_authfile(f).map_err(exit::access)?;
    }
    let context = crate::commands::image::access::context(
        &a.registry.access,
        &crate::commands::image::access::PlatformArgs::default(),
    )?;
    let store = store_args.open()?;
    let b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let spec = CommitSpec {
        image: a.image.clone(),
        docker: a.format != "oci",
        squash: a.squash,
        rm: a.rm,
        iid_file: a.iidfile,
        context,
        timestamp: a.timestamp,
        omit_history: a.omit_history,
        compress: !a.disable_compression,
        manifest: a.manifest,
        unsetenv: a.unsetenv,
    };
    let progress = crate::progress::unless_quiet(a.quiet);
    let (id, dropped) =
        builder::commit(&store, &b, &spec, progress.as_ref()).map_err(exit::build)?;
    for d in dropped {
        eprintln!(
            "WARN: {d} is not supported for OCI image format and will be ignored. Must use `docker` format"
        );
    }
    // Written elsewhere, buildah prints no ID.
    let Some(id) = id else { return Ok(()) };
    if !a.quiet {
        eprintln!("Writing manifest to image destination");
    }
    println!("{id}");
    Ok(())
}
