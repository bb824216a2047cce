//! `berth image …`: skopeo's verbs (inspect, copy, sync, list-tags, delete) and podman's `image` subcommands; one file per concern below.

pub mod access;
pub mod archive;
pub mod copy;
pub mod globals;
pub mod history;
pub mod inspect;
pub mod list;
pub mod mount;
pub mod policy;
pub mod prune;
pub mod pull;
pub mod push;
pub mod remove;
pub mod search;
pub mod sync;
pub mod trust;

use crate::commands::StoreArgs;
use crate::commands::image::copy::{CopyArgs, DeleteArgs, ListTagsArgs};
use crate::commands::image::inspect::InspectArgs;
use crate::exit::{self, CmdResult, Failure};
use berth_image::ImageName;
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct ImageArgs {
    #[command(flatten)]
    pub(crate) globals: globals::SkopeoGlobals,
    /// Print berth's version (skopeo's --version).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
    #[command(subcommand)]
    pub(crate) command: ImageCommand,
}

#[derive(Subcommand)]
pub(crate) enum ImageCommand {
    /// Show an image's metadata without pulling it.
    Inspect(InspectArgs),
    /// Build an image from a Containerfile (docker's `image build`).
    Build(Box<crate::commands::builder::build::BuildArgs>),
    /// Copy an image from one location to another.
    Copy(CopyArgs),
    /// Copy many images (repositories, directories or a YAML list).
    Sync(crate::commands::image::sync::SyncArgs),
    /// List the tags of a repository.
    ListTags(ListTagsArgs),
    /// Delete an image from a registry.
    Delete(DeleteArgs),
    /// Exit 0 when a local image exists, 1 when not.
    Exists(ExistsArgs),
    /// List local images.
    #[command(alias = "list")]
    Ls(crate::commands::image::list::ImagesArgs),
    /// Remove local images.
    Rm(crate::commands::image::remove::RmiArgs),
    #[command(flatten)]
    Verb(ImageVerb),
    /// Remove dangling (with -a: unused) images.
    Prune(crate::commands::image::prune::PruneArgs),
    /// Mount an image's root filesystem read-only and print where (no image:
    /// list those mounted).
    Mount(mount::MountArgs),
    /// Unmount images mounted with `image mount`.
    #[command(alias = "unmount")]
    Umount(mount::UnmountArgs),
    /// Sign a registry image's manifest with a GPG key, into lookaside
    /// storage (podman's image sign).
    Sign(trust::ImageSignArgs),
    /// Show or set the trust policy (policy.json).
    Trust(policy::TrustArgs),
    /// Sign a manifest file with a GPG key (simple signing).
    StandaloneSign(trust::StandaloneSignArgs),
    /// Verify a signature of a manifest file.
    StandaloneVerify(trust::StandaloneVerifyArgs),
    /// Print the digest of a manifest file.
    ManifestDigest(ManifestDigestArgs),
    /// Log in to a registry (skopeo's `login`).
    Login(crate::commands::login::LoginArgs),
    /// Log out of a registry.
    Logout(crate::commands::login::LogoutArgs),
}

#[derive(Args)]
pub(crate) struct ManifestDigestArgs {
    manifest: std::path::PathBuf,
}

/// The image verbs podman has both at the top level and under `image`.
#[derive(Subcommand)]
pub enum ImageVerb {
    /// Pull an image into the local store.
    Pull(pull::PullArgs),
    /// Push a local image to a registry or another location.
    Push(push::PushArgs),
    /// Add names to a local image.
    Tag(remove::TagArgs),
    /// Remove names from a local image.
    Untag(remove::TagArgs),
    /// Save an image to an archive or directory.
    Save(archive::SaveArgs),
    /// Load an image from an archive.
    Load(archive::LoadArgs),
    /// Show an image's history.
    History(history::HistoryArgs),
    /// Create an image from a tarball.
    Import(archive::ImportArgs),
}

impl ImageVerb {
    pub fn run(self, store: &StoreArgs) -> CmdResult {
        match self {
            Self::Pull(a) => pull::pull(store, a),
            Self::Push(a) => push::push(store, a),
            Self::Tag(a) => remove::tag(store, a),
            Self::Untag(a) => remove::untag(store, a),
            Self::Save(a) => archive::save(store, a),
            Self::Load(a) => archive::load(store, a),
            Self::History(a) => history::history(store, a),
            Self::Import(a) => archive::import(store, a),
        }
    }
}

#[derive(Args)]
pub(crate) struct ExistsArgs {
    pub(crate) image: String,
}

pub fn run(store: &StoreArgs, mut args: ImageArgs) -> CmdResult {
    args.globals.apply(&mut args.command)?;
    let skopeos = args.command.is_skopeos();
    let copies = matches!(args.command, ImageCommand::Copy(_) | ImageCommand::Sync(_));
    if copies {
        crate::interrupt::stop_copies_on_signals();
    }
    let result = verb(store, args.command);
    if copies {
        crate::interrupt::end_if_interrupted();
    }
    // skopeo 1.9 fails with 1 whatever the failure (an image not found
    // too), where podman says 125 or 2.
    match result {
        Err(Failure { message, .. }) if skopeos => Err(Failure { code: 1, message }),
        other => other,
    }
}

/// skopeo's verbs under `berth image` (inspect too, of a name with a transport).
const SKOPEO_VERBS: &[&str] = &[
    "copy",
    "sync",
    "list-tags",
    "delete",
    "standalone-sign",
    "standalone-verify",
    "manifest-digest",
    "login",
    "logout",
];

/// The exit code of a command line clap refused, when it is skopeo's (a
/// verb of [`SKOPEO_VERBS`], `inspect` of a transport's name or none, or
/// `image` alone): skopeo's 1, or 0 after the verb's help on stdout where
/// skopeo's copy, sync and list-tags print it when short of operands. `None`
/// for the rest, podman's.
pub fn refused(
    e: &clap::Error,
    cli: clap::Command,
    path: &[String],
    operands: &[String],
) -> Option<i32> {
    let verb = match path {
        [image] if image == "image" => "",
        [image, verb, ..] if image == "image" => verb.as_str(),
        _ => return None,
    };
    let skopeos = SKOPEO_VERBS.contains(&verb)
        || verb.is_empty()
        || (verb == "inspect" && operands.iter().all(|o| ImageName::has_transport(o)));
    if !skopeos {
        return None;
    }
    let short = e.kind() == clap::error::ErrorKind::MissingRequiredArgument;
    if !(short && ["copy", "sync", "list-tags"].contains(&verb)) {
        return Some(1);
    }
    if let Err(help) = cli.try_get_matches_from(["berth", "image", verb, "--help"]) {
        let _ = help.print();
    }
    Some(0)
}

impl ImageCommand {
    /// Whether this is one of skopeo's verbs (not podman's `image` ones).
    fn is_skopeos(&self) -> bool {
        match self {
            Self::Inspect(a) => ImageName::has_transport(&a.image),
            Self::Copy(_)
            | Self::Sync(_)
            | Self::ListTags(_)
            | Self::Delete(_)
            | Self::StandaloneSign(_)
            | Self::StandaloneVerify(_)
            | Self::ManifestDigest(_)
            | Self::Login(_)
            | Self::Logout(_) => true,
            _ => false,
        }
    }
}

fn verb(store: &StoreArgs, command: ImageCommand) -> CmdResult {
    match command {
        ImageCommand::Inspect(a) if !ImageName::has_transport(&a.image) => {
            let mut names = vec![a.image.clone()];
            names.extend(a.more.iter().cloned());
            inspect::inspect_local(store, &names, a.format.as_deref())
        }
        ImageCommand::Inspect(a) => inspect::inspect(store, a),
        ImageCommand::Copy(a) => copy::copy_cmd(store, a),
        ImageCommand::Sync(a) => sync::run(store, a),
        ImageCommand::Exists(a) => remove::exists(store, &a.image),
        ImageCommand::Ls(a) => list::images(store, a),
        ImageCommand::Rm(a) => remove::rmi(store, a),
        ImageCommand::Verb(v) => v.run(store),
        ImageCommand::Prune(a) => prune::prune(store, a),
        ImageCommand::ListTags(a) => copy::list_tags(a),
        ImageCommand::Delete(a) => copy::delete(a),
        ImageCommand::Mount(a) => mount::mount(store, a),
        ImageCommand::Umount(a) => mount::unmount(store, a),
        ImageCommand::Sign(a) => trust::image_sign(a),
        ImageCommand::Trust(a) => policy::run(a),
        // The build's exit code (a failing RUN's own) is the command's.
        ImageCommand::Build(b) => match crate::commands::builder::build::build(store, *b)? {
            0 => Ok(()),
            code => Err(exit::usage(code, "")),
        },
        ImageCommand::StandaloneSign(a) => trust::standalone_sign(a),
        ImageCommand::StandaloneVerify(a) => trust::standalone_verify(a),
        ImageCommand::ManifestDigest(a) => {
            let bytes = std::fs::read(&a.manifest)
                .map_err(|e| exit::podman(format!("{}: {e}", a.manifest.display())))?;
            let mt = berth_image::manifest::guess_media_type(&bytes);
            println!("{}", berth_image::RawManifest::new(bytes, mt).digest());
            Ok(())
        }
        ImageCommand::Login(a) => crate::commands::login::login(a),
        ImageCommand::Logout(a) => crate::commands::login::logout(a),
    }
}

pub(crate) fn parse_name(s: &str) -> Result<ImageName, Failure> {
    ImageName::parse(s).map_err(exit::skopeo)
}

/// `--arch`, `--os`, `--variant`, as podman's pull (to choose from a list)
/// and import (to set) take them; `build` and `builder from` flatten
/// [`OsFirst`] instead.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PlatformFlags {
    /// The architecture (default: this host's).
    #[arg(long)]
    pub(crate) arch: Option<String>,
    /// The OS (default: this host's).
    #[arg(long)]
    pub(crate) os: Option<String>,
    /// The architecture's variant.
    #[arg(long)]
    pub(crate) variant: Option<String>,
}

/// [`PlatformFlags`] with `--os` listed before `--arch`, as `build` and
/// `builder from` have always listed them.
#[derive(Clone, Debug, Default)]
pub struct OsFirst(pub(crate) PlatformFlags);

impl clap::FromArgMatches for OsFirst {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        PlatformFlags::from_arg_matches(m).map(OsFirst)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

impl clap::Args for OsFirst {
    fn group_id() -> Option<clap::Id> {
        PlatformFlags::group_id()
    }

    fn augment_args(c: clap::Command) -> clap::Command {
        os_first(PlatformFlags::augment_args(c))
    }

    fn augment_args_for_update(c: clap::Command) -> clap::Command {
        os_first(PlatformFlags::augment_args_for_update(c))
    }
}

/// `--os` and `--arch` swap places in the help.
fn os_first(c: clap::Command) -> clap::Command {
    let place = |id: &str| {
        c.get_arguments()
            .find(|a| a.get_id() == id)
            .map(clap::Arg::get_display_order)
    };
    match (place("arch"), place("os")) {
        (Some(arch), Some(os)) => c
            .mut_arg("os", |a| a.display_order(arch))
            .mut_arg("arch", |a| a.display_order(os)),
        _ => c,
    }
}

/// `--retry` and `--retry-delay`, as the verbs that pull or push take them
/// (each sets its own help, and `pull`'s and `push`'s a default, over these).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RetryFlags {
    /// Attempts for a failed pull (default 3).
    #[arg(long)]
    pub(crate) retry: Option<u32>,
    /// The pause between them (2s, 500ms; default: a growing one).
    #[arg(long)]
    pub(crate) retry_delay: Option<String>,
}

/// `--retry` and `--retry-delay` as the engine's registry access takes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    /// None: a growing pause.
    pub(crate) delay: Option<std::time::Duration>,
}

/// podman's and buildah's: 3 attempts, a growing pause.
impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            delay: None,
        }
    }
}

impl RetryFlags {
    /// The flags parsed, once: `--retry-delay 2s` (Go's durations: 500ms, 1m30s).
    pub(crate) fn parse(&self) -> Result<Retry, Failure> {
        let delay = self
            .retry_delay
            .as_deref()
            .map(|d| {
                berth_engine::health::parse_duration(d)
                    .map_err(|e| exit::usage(125, format!("--retry-delay {d}: {e}")))
            })
            .transpose()?;
        Ok(Retry {
            attempts: self.retry.unwrap_or(Retry::default().attempts),
            delay,
        })
    }
}
