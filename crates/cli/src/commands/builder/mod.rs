//! buildah's verbs over working containers: `builder from/run/copy/commit/…`; one file per concern below.

pub mod build;
pub mod build_args;
pub mod commit;
pub mod config;
pub mod images;
pub mod list;
pub mod run_with;
pub mod source;
pub mod working;

use crate::commands::StoreArgs;
use crate::commands::builder::config::{ConfigArgs, config};
use crate::commands::builder::list::{
    ContainersArgs, InspectArgs, RmArgs, containers, inspect, mount, rm,
};
use crate::exit::{self, CmdResult, Failure};
use berth_builder::builder::{self, Builder, CopySpec};
use clap::{Args, Subcommand};
pub(crate) use run_with::{
    Encryption, IdMapFlags, Isolation, Namespaces, RunWith, userns_host_only,
};
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
    Commit(commit::CommitArgs),
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
    /// Show berth's version, as buildah's version shows its own.
    Version(VersionArgs),
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
pub(crate) struct VersionArgs {
    /// As JSON, buildah's keys.
    #[arg(long)]
    json: bool,
}

/// buildah's `version`: its lines, or its JSON, with berth's values.
fn version(a: VersionArgs) {
    let v = berth_engine::system::buildah_version();
    if a.json {
        crate::output::print_json_indented(&v, 4);
        return;
    }
    let lines = [
        ("Version:", &v.version),
        ("Go Version:", &v.go_version),
        ("Image Spec:", &v.image_spec),
        ("Runtime Spec:", &v.runtime_spec),
        ("CNI Spec:", &v.cni_spec),
        ("libcni Version:", &v.libcni_version),
        ("image Version:", &v.image_version),
        ("Git Commit:", &v.git_commit),
        ("Built:", &v.built),
        ("OS/Arch:", &v.os_arch),
        ("BuildPlatform:", &v.build_platform),
    ];
    for (label, value) in lines {
        println!("{label:<17}{value}");
    }
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
#[command(mut_arg("retry", |a| a.help("Attempts for a failed pull of --from's image (default 3)")))]
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
    #[command(flatten)]
    pub(crate) retry: crate::commands::image::RetryFlags,
    pub(crate) container: String,
    /// SOURCE... [DEST] (DEST defaults to the working directory).
    #[arg(required = true)]
    pub(crate) paths: Vec<String>,
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
        BuilderCommand::Commit(a) => commit::commit(store_args, a).map(|_| 0),
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
        BuilderCommand::Version(a) => {
            version(a);
            Ok(0)
        }
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
                retry: a.retry.parse()?,
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
        context_dir: a.contextdir,
        ignore_file: a.ignorefile,
        add_history: a.add_history,
    };
    let digest = builder::copy(&store, &mut b, &spec).map_err(exit::build)?;
    if !a.quiet {
        println!("{digest}");
    }
    Ok(())
}
