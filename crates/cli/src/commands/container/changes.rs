//! What a container changed: `commit`, `export`, `diff`.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::exit::{self, CmdResult};
use crate::output::print_value;
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct CommitArgs {
    /// Apply a Containerfile instruction to the image's config (CMD, ENV, LABEL,
    /// ONBUILD with --format docker …).
    #[arg(short, long)]
    pub(crate) change: Vec<String>,
    /// Commit message, kept in the image's history.
    #[arg(short, long)]
    pub(crate) message: Option<String>,
    /// Author.
    #[arg(short, long)]
    pub(crate) author: Option<String>,
    /// Pause the container while committing (default false, as podman's).
    #[arg(short, long, num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub(crate) pause: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// The image format: oci (default) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker"])]
    pub(crate) format: String,
    /// One layer for the whole filesystem.
    #[arg(long)]
    pub(crate) squash: bool,
    pub(crate) container: String,
    /// The new image's name.
    pub(crate) image: Option<String>,
}

pub fn commit(store_args: &StoreArgs, a: CommitArgs) -> CmdResult {
    let store = store_args.open()?;
    let docker = a.format == "docker";
    let (changed, dropped) =
        berth_engine::commit::CommitOptions::with_changes_in(&a.change, docker).map_err(fail)?;
    for o in dropped {
        eprintln!(
            "WARN: ONBUILD is not supported for OCI image format, {o} will be ignored. Must use `docker` format"
        );
    }
    let o = berth_engine::commit::CommitOptions {
        reference: a.image.clone(),
        message: a.message,
        author: a.author,
        pause: a.pause,
        docker,
        squash: a.squash,
        ..changed
    };
    // A container that is not there is said alone, as podman says it.
    berth_engine::container::find(&store, &a.container).map_err(fail)?;
    if !a.quiet {
        eprintln!("Getting image source signatures");
    }
    let id = berth_engine::commit::commit(&store, &a.container, &o).map_err(fail)?;
    if !a.quiet {
        eprintln!("Writing manifest to image destination");
    }
    println!("{id}");
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<std::path::PathBuf>,
    pub(crate) name: String,
}

pub fn export(store_args: &StoreArgs, a: ExportArgs) -> CmdResult {
    let store = store_args.open()?;
    let io = |e: std::io::Error| exit::podman(e);
    match &a.output {
        Some(p) => berth_engine::copy::export_to_file(&store, &a.name, p).map_err(fail),
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(exit::podman(
                    "refusing to write an archive to a terminal: use -o FILE or redirect",
                ));
            }
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            berth_engine::copy::export(&store, &a.name, &mut out).map_err(fail)?;
            std::io::Write::flush(&mut out).map_err(io)
        }
    }
}

#[derive(Args)]
pub struct DiffArgs {
    /// json, or the default A/C/D lines.
    #[arg(long)]
    pub(crate) format: Option<String>,
    #[command(flatten)]
    pub(crate) latest: super::Latest,
    #[arg(required_unless_present = "latest", conflicts_with = "latest")]
    pub(crate) name: Option<String>,
}

pub fn diff(store_args: &StoreArgs, a: DiffArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut names = a.name.into_iter().collect();
    let name = super::one(&store, &a.latest, &mut names, "diff requires a container")?;
    let changes = berth_engine::changes::changes(&store, &name).map_err(fail)?;
    if a.format.as_deref() == Some("json") {
        let pick = |k: char| -> Vec<&String> {
            changes
                .iter()
                .filter(|(c, _)| *c == k)
                .map(|(_, p)| p)
                .collect()
        };
        let v = json!({"changed": pick('C'), "added": pick('A'), "deleted": pick('D')});
        return print_value(&v, None);
    }
    for (k, p) in changes {
        println!("{k} {p}");
    }
    Ok(())
}
