//! `pull`, and the pulls `run`, `create` and `build` make.

use crate::commands::StoreArgs;
use crate::commands::image::access::Access;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::access::registry_access;
use crate::exit::{self, CmdResult, Failure};
use berth_engine::access::{AccessError, RegistryAccess};
use berth_engine::{Engine, PullBool, PullError, PullEvent, PullOptions, PullPolicy};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(
    mut_arg("retry", |a| a.help("Attempts for a failed registry operation").default_value("3")),
    mut_arg("retry_delay", |a| a.help("The pause between attempts (2s, 500ms; default: a growing one)"))
)]
pub struct PullArgs {
    /// Accepted for buildah's scripts: the store keeps no signatures, so a
    /// pull never copies them (the trust policy is checked all the same).
    #[arg(long)]
    pub(crate) remove_signatures: bool,
    /// Pull every tag of the repository.
    #[arg(short, long)]
    pub(crate) all_tags: bool,
    /// OS/ARCH[/VARIANT] to choose from a list.
    #[arg(long)]
    pub(crate) platform: Option<String>,
    #[command(flatten)]
    pub(crate) flags: super::PlatformFlags,
    /// always, missing, never or newer.
    #[arg(long, default_value = "always", value_parser = ["always", "missing", "never", "newer"])]
    pub(crate) policy: String,
    /// Print only the image ID.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) retry: super::RetryFlags,
    /// Trust policy file (containers-policy.json(5)).
    #[arg(long, hide = true)]
    pub(crate) signature_policy: Option<PathBuf>,
    /// registries.conf to read instead of the system's.
    #[arg(long)]
    pub(crate) registries_conf: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) access: Access,
    #[command(flatten)]
    pub(crate) encryption: crate::commands::builder::Encryption,
    /// IMAGE (a name, or TRANSPORT:NAME)
    pub(crate) image: String,
    /// Print no IDs (pulling on behalf of `run`).
    #[arg(skip)]
    pub(crate) no_ids: bool,
}

/// How `run`, `create`, `build` and `from` pull.
#[derive(Default)]
pub(crate) struct PullFor<'a> {
    /// No progress (`-q`).
    pub quiet: bool,
    /// `OS/ARCH[/VARIANT]`; the host's when None.
    pub platform: Option<&'a str>,
    pub authfile: Option<&'a std::path::Path>,
    /// `--creds`, `--tls-verify`, `--cert-dir` (and `--authfile`).
    pub access: Option<&'a crate::commands::image::access::Access>,
    /// `--signature-policy FILE`.
    pub signature_policy: Option<&'a std::path::Path>,
    /// `--registries-conf FILE`.
    pub registries_conf: Option<&'a std::path::Path>,
    /// What `--pull=true|false` means to the command.
    pub booleans: PullBool,
    /// `--os`, `--arch`, `--variant`: each over that part of `platform`.
    pub os: Option<&'a str>,
    pub arch: Option<&'a str>,
    pub variant: Option<&'a str>,
    /// `--retry` (default 3) and `--retry-delay`.
    pub retry: super::Retry,
}

/// Pulls `image` on behalf of another command under its `--pull POLICY`
/// (`never`: not at all; the command then finds the image or says it is not
/// known). Prints progress and registries tried to stderr, never IDs; returns
/// the IDs the pull left.
pub(crate) fn pull_for(
    store_args: &StoreArgs,
    image: &str,
    policy: &str,
    how: &PullFor,
) -> Result<Vec<String>, Failure> {
    let failed = |e| failed_pull(image, e);
    let policy = PullPolicy::from_flag(policy, how.booleans).map_err(failed)?;
    if policy == PullPolicy::Never {
        return Ok(Vec::new());
    }
    let o = options_for(image, policy, how)?;
    let engine = Engine::with_store(store_args.open()?);
    let progress = crate::progress::unless_quiet(how.quiet);
    let report = engine
        .images()
        .pull(image, &o, progress.as_ref(), &mut |e| {
            tell_for(e, how.quiet)
        })
        .map_err(failed)?;
    Ok(report.ids)
}

/// Pulls the image `run` or `create` makes a container from, as the engine
/// rules under `--pull POLICY`; returns the name to make it from.
pub(crate) fn pull_for_container(
    engine: &Engine,
    image: &str,
    policy: &str,
    how: &PullFor,
) -> Result<String, Failure> {
    let failed = |e| failed_pull(image, e);
    let policy = PullPolicy::from_flag(policy, how.booleans).map_err(failed)?;
    let o = options_for(image, policy, how)?;
    let progress = crate::progress::unless_quiet(how.quiet);
    engine
        .images()
        .pull_for_container(image, o, progress.as_ref(), &mut |e| tell_for(e, how.quiet))
        .map_err(failed)
}

/// A pull another command made that failed, in podman's words: a short name
/// nothing resolves said as it is, anything else named with the image.
fn failed_pull(image: &str, e: PullError) -> Failure {
    match e {
        PullError::Image(e @ berth_image::Error::UnresolvedShortName { .. }) => exit::podman(e),
        e => exit::podman(format!("{image}: pulling the image: {e}")),
    }
}

/// The pull options another command's flags make.
fn options_for(image: &str, policy: PullPolicy, how: &PullFor) -> Result<PullOptions, Failure> {
    let mut access = how
        .access
        .map(|a| registry_access(a, &Default::default()))
        .unwrap_or_default();
    access.retries = Some(how.retry.attempts);
    access.retry_delay = how.retry.delay;
    access.os = how.os.map(str::to_string);
    access.arch = how.arch.map(str::to_string);
    access.variant = how.variant.map(str::to_string);
    if let Some(f) = how.authfile {
        access.authfile = Some(f.to_path_buf());
    }
    access.registries_conf = how.registries_conf.map(Path::to_path_buf);
    access.platform = how.platform.map(str::to_string);
    let context = access.context().map_err(|e| match e {
        AccessError::Platform(e) => exit::podman(format!("{image}: pulling the image: {e}")),
        e => exit::access(e),
    })?;
    Ok(PullOptions {
        policy,
        context,
        signature_policy: how.signature_policy.map(std::path::Path::to_path_buf),
        ..Default::default()
    })
}

/// A pull on another command's behalf: a present image goes unmentioned,
/// as podman's run does.
fn tell_for(e: PullEvent, quiet: bool) {
    if !matches!(e, PullEvent::Present { .. }) {
        tell(e, quiet)
    }
}

/// What the engine did while pulling, as podman tells it (on stderr).
fn tell(e: PullEvent, quiet: bool) {
    if quiet {
        return;
    }
    match e {
        PullEvent::Trying(r) => eprintln!("Trying to pull {r}..."),
        PullEvent::Present { name, policy } => {
            let why = if policy == PullPolicy::Newer {
                "is up to date"
            } else {
                "is present"
            };
            eprintln!(
                "Image {name} {why}, not pulling (--policy {})",
                policy.as_str()
            );
        }
        PullEvent::CannotCheck { reference, error } => {
            eprintln!("Cannot check {reference} for a newer image ({error}); using the local one")
        }
    }
}

fn pull_options(a: &PullArgs) -> Result<PullOptions, Failure> {
    let retry = a.retry.parse()?;
    let platform = PlatformArgs {
        retry_times: retry.attempts,
        ..Default::default()
    };
    let access = RegistryAccess {
        platform: a.platform.clone(),
        os: a.flags.os.clone(),
        arch: a.flags.arch.clone(),
        variant: a.flags.variant.clone(),
        registries_conf: a.registries_conf.clone(),
        retry_delay: retry.delay,
        ..registry_access(&a.access, &platform)
    };
    let context = access.context().map_err(exit::access)?;
    Ok(PullOptions {
        policy: PullPolicy::from_flag(&a.policy, PullBool::default()).map_err(exit::podman)?,
        all_tags: a.all_tags,
        context,
        signature_policy: a.signature_policy.clone(),
    })
}

pub fn pull(store_args: &StoreArgs, a: PullArgs) -> CmdResult {
    a.encryption.refuse()?;
    let o = pull_options(&a)?;
    let engine = Engine::with_store(store_args.open()?);
    let progress = crate::progress::unless_quiet(a.quiet);
    let report = engine
        .images()
        .pull(&a.image, &o, progress.as_ref(), &mut |e| tell(e, a.quiet))
        .map_err(exit::podman)?;
    if !a.no_ids {
        for id in report.ids {
            println!("{id}");
        }
    }
    Ok(())
}
