//! buildah's `source create/add/push/pull`: source images in OCI layouts.

use crate::commands::image::access::{Access, PlatformArgs, context};
use crate::exit::{self, Failure};
use berth_builder::source;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args)]
pub struct SourceArgs {
    #[command(subcommand)]
    command: SourceCommand,
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Make an empty source image in a new OCI layout.
    Create(CreateArgs),
    /// Add a source artifact (a file or a directory) as a gzipped tar layer.
    Add(AddArgs),
    /// Push a source image from an OCI layout (PATH[:TAG]) to a registry.
    Push(TransferArgs),
    /// Pull a source image from a registry into an OCI layout (PATH[:TAG]).
    Pull(TransferArgs),
}

#[derive(Args)]
struct CreateArgs {
    /// The image's author, in its config.
    #[arg(long)]
    author: Option<String>,
    /// Record the creation time in the config.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    time_stamp: bool,
    path: PathBuf,
}

#[derive(Args)]
struct AddArgs {
    /// KEY=VALUE on the artifact's layer (repeatable).
    #[arg(long)]
    annotation: Vec<String>,
    path: PathBuf,
    artifact: PathBuf,
}

#[derive(Args)]
struct TransferArgs {
    #[command(flatten)]
    access: Access,
    /// Print no progress.
    #[arg(short, long)]
    quiet: bool,
    /// push: PATH[:TAG]; pull: REFERENCE.
    from: String,
    /// push: REFERENCE; pull: PATH[:TAG].
    to: String,
}

pub(crate) fn run(a: SourceArgs) -> Result<i32, Failure> {
    match a.command {
        SourceCommand::Create(c) => {
            source::create(&c.path, c.author.as_deref(), c.time_stamp).map_err(exit::podman)?
        }
        SourceCommand::Add(c) => {
            let annotations = c
                .annotation
                .iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => Ok((k.to_string(), v.to_string())),
                    None => Err(exit::podman(format!("--annotation {kv:?}: not KEY=VALUE"))),
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            source::add(&c.path, &c.artifact, &annotations).map_err(exit::podman)?
        }
        SourceCommand::Push(t) => {
            let ctx = context(&t.access, &PlatformArgs::default())?;
            let reference = reference(&t.to)?;
            source::push(
                &t.from,
                &reference,
                &ctx,
                crate::progress::unless_quiet(t.quiet).as_ref(),
            )
            .map_err(exit::podman)?;
        }
        SourceCommand::Pull(t) => {
            let ctx = context(&t.access, &PlatformArgs::default())?;
            let reference = reference(&t.from)?;
            source::pull(
                &reference,
                &t.to,
                &ctx,
                crate::progress::unless_quiet(t.quiet).as_ref(),
            )
            .map_err(exit::podman)?;
        }
    }
    Ok(0)
}

/// A registry reference, `docker://` or not.
fn reference(s: &str) -> Result<berth_image::Reference, Failure> {
    let bare = s.strip_prefix("docker://").unwrap_or(s);
    berth_image::Reference::parse(bare).map_err(|e| exit::podman(format!("{s}: {e}")))
}
