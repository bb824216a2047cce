//! `berth volume`: podman's volume commands over the engine's named volumes.

use berth_engine::volumes::{VolumeError, named};
use berth_engine::{Engine, Volumes};
use clap::{Args, Subcommand};

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult, Failure};
use crate::output::{List, print_inspect, print_list, values};

#[derive(Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    command: VolumeCommand,
}

#[derive(Subcommand)]
pub(crate) enum VolumeCommand {
    /// Create a volume.
    Create(NameArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show volumes' details.
    Inspect(InspectArgs),
    /// Remove volumes.
    Rm(RmArgs),
    /// Remove volumes no container uses.
    Prune(PruneArgs),
    /// Write a volume's files as a tar.
    Export(ExportArgs),
    /// Put a tar's files into a volume.
    Import(ImportArgs),
    /// Print where a volume's files are (local volumes need no mounting).
    Mount(OneArgs),
    /// Nothing to undo for a local volume.
    #[command(alias = "umount")]
    Unmount(OneArgs),
    /// Exit 0 when the volume exists, 1 when not.
    Exists(OneArgs),
}

#[derive(Args)]
pub(crate) struct OneArgs {
    name: String,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// Write here instead of stdout.
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
    name: String,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    name: String,
    /// A tar file, or `-` for stdin.
    source: String,
}

#[derive(Args)]
pub(crate) struct NameArgs {
    /// Do nothing if the volume exists already.
    #[arg(long)]
    ignore: bool,
    /// KEY=VALUE, repeatable.
    #[arg(short, long)]
    label: Vec<String>,
    /// Driver option KEY=VALUE, repeatable (kept and shown; the local driver needs none).
    #[arg(short, long)]
    opt: Vec<String>,
    /// Only `local`.
    #[arg(short, long, default_value = "local", value_parser = ["local"])]
    driver: String,
    /// Without a name, a random one (as podman's).
    name: Option<String>,
}

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// json, or a Go template per volume.
    #[arg(short, long)]
    format: Option<String>,
    /// Every volume.
    #[arg(short, long)]
    all: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

#[derive(Args)]
pub(crate) struct LsArgs {
    #[arg(short, long)]
    quiet: bool,
    #[arg(long)]
    format: Option<String>,
    /// name=REGEX, label=KEY[=VALUE], driver=, dangling=true|false (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Leave the table's heading out.
    #[arg(short, long)]
    noheading: bool,
}

#[derive(Args)]
pub(crate) struct RmArgs {
    /// Remove volumes in use too (their containers go first).
    #[arg(short, long)]
    force: bool,
    /// Remove every volume.
    #[arg(short, long)]
    all: bool,
    /// With --force: seconds a running container using it gets to stop
    /// before it is killed (default 10, as podman's).
    #[arg(short = 't', long = "time")]
    time: Option<u64>,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

#[derive(Args)]
pub(crate) struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Only volumes that pass: label=KEY[=VALUE], until=TIME.
    #[arg(long)]
    filter: Vec<String>,
}

/// podman's exit codes for volume failures: 1 for `rm` of a missing volume,
/// 2 for one in use, else 125.
pub(crate) fn failure(e: VolumeError, missing: i32) -> Failure {
    let code = match e {
        VolumeError::NotFound(_) => missing,
        VolumeError::InUse { .. } => 2,
        _ => 125,
    };
    exit::usage(code, e.to_string())
}

pub fn run(store_args: &StoreArgs, a: VolumeArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let volumes = engine.volumes();
    match a.command {
        VolumeCommand::Create(n) => {
            let o = named::CreateOptions {
                labels: berth_engine::views::label_pairs(&n.label),
                options: berth_engine::views::label_pairs(&n.opt),
            };
            let name = volumes
                .create(n.name.as_deref(), n.ignore, &o)
                .map_err(|e| failure(e, 125))?;
            println!("{name}");
            Ok(())
        }
        VolumeCommand::Ls(l) => {
            let all = volumes.list(&l.filter).map_err(|e| failure(e, 125))?;
            let how = List {
                quiet: l.quiet.then_some("Name"),
                format: l.format.as_deref(),
                heading: !l.noheading,
            };
            print_list(
                &values(all),
                &[("DRIVER", "Driver"), ("VOLUME NAME", "Name")],
                how,
            )
        }
        VolumeCommand::Inspect(n) => {
            let docs = volumes
                .inspect_each(&n.names, n.all)
                .map_err(|e| failure(e, 125))?;
            print_inspect(&values(docs), n.format.as_deref())
        }
        VolumeCommand::Rm(r) => {
            let o = named::RemoveOptions {
                all: r.all,
                force: r.force,
                time: r.time.unwrap_or(10),
            };
            volumes
                .remove_each(&r.names, &o, &mut |name| println!("{name}"))
                .map_err(|e| failure(e, 1))
        }
        VolumeCommand::Export(e) => match &e.output {
            Some(p) => volumes
                .export_to_file(&e.name, p)
                .map_err(|e| failure(e, 125)),
            None => volumes
                .export(&e.name, &mut std::io::stdout().lock())
                .map_err(|e| failure(e, 125)),
        },
        VolumeCommand::Import(i) => {
            let mut input: Box<dyn std::io::Read> = if i.source == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(
                    std::fs::File::open(&i.source)
                        .map_err(|err| exit::podman(format!("{}: {err}", i.source)))?,
                )
            };
            volumes
                .import(&i.name, &mut input)
                .map_err(|e| failure(e, 125))
        }
        VolumeCommand::Mount(m) => {
            berth_engine::system::check_mount_visible("volume mount").map_err(exit::podman)?;
            let v = volumes.inspect(&m.name).map_err(|e| failure(e, 125))?;
            println!("{}", v.mountpoint.display());
            Ok(())
        }
        VolumeCommand::Unmount(m) => volumes
            .inspect(&m.name)
            .map(drop)
            .map_err(|e| failure(e, 125)),
        VolumeCommand::Exists(m) => match volumes.exists(&m.name) {
            true => Ok(()),
            false => Err(exit::silent(1)),
        },
        VolumeCommand::Prune(p) => {
            let unused = volumes.unused(&p.filter).map_err(|e| failure(e, 125))?;
            let warning = format!(
                "WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\n{}",
                unused.iter().map(|n| format!("{n}\n")).collect::<String>()
            );
            if !p.force && !crate::prompt::confirm(&warning) {
                return Ok(());
            }
            prune_volumes(&volumes, &p.filter)
        }
    }
}

/// Removes the volumes no container names, printing each.
pub fn prune_volumes(volumes: &Volumes, filters: &[String]) -> CmdResult {
    for name in volumes.prune(filters).map_err(|e| failure(e, 125))? {
        println!("{name}");
    }
    Ok(())
}
