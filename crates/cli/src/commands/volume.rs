//! `berth volume`: podman's volume commands over the engine's named volumes.

use berth_engine::volumes::{VolumeError, VolumeInspect, named};
use berth_storage::Store;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::commands::StoreArgs;
use crate::exit::{CmdResult, Failure};
use crate::output::print_rows;
use crate::output::print_value;

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
    Inspect(NamesArgs),
    /// Remove volumes.
    Rm(RmArgs),
    /// Remove volumes no container uses.
    Prune(PruneArgs),
}

#[derive(Args)]
pub(crate) struct NameArgs {
    /// Do nothing if the volume exists already.
    #[arg(long)]
    ignore: bool,
    /// Without a name, a random one (as podman's).
    name: Option<String>,
}

#[derive(Args)]
pub(crate) struct NamesArgs {
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub(crate) struct LsArgs {
    #[arg(short, long)]
    quiet: bool,
    #[arg(long)]
    format: Option<String>,
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
}

/// podman's exit codes for volume failures: 1 for `rm` of a missing volume,
/// 2 for one in use, else 125.
fn failure(e: VolumeError, missing: i32) -> Failure {
    let code = match e {
        VolumeError::NotFound(_) => missing,
        VolumeError::InUse { .. } => 2,
        _ => 125,
    };
    Failure {
        code,
        message: e.to_string(),
    }
}

fn to_value(v: &VolumeInspect) -> Value {
    serde_json::to_value(v).expect("a volume serialises")
}

pub fn run(store_args: &StoreArgs, a: VolumeArgs) -> CmdResult {
    let store = store_args.open()?;
    match a.command {
        VolumeCommand::Create(n) => {
            let name =
                named::create(&store, n.name.as_deref(), n.ignore).map_err(|e| failure(e, 125))?;
            println!("{name}");
            Ok(())
        }
        VolumeCommand::Ls(l) => {
            let all = named::list(&store);
            if l.quiet {
                for v in all {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            match &l.format {
                Some(f) => print_rows(&all.iter().map(to_value).collect::<Vec<_>>(), f),
                None => {
                    let mut t = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
                    t.extend(all.into_iter().map(|v| vec![v.driver, v.name]));
                    print!("{}", crate::output::table::render(&t));
                    Ok(())
                }
            }
        }
        VolumeCommand::Inspect(n) => {
            let out = n
                .names
                .iter()
                .map(|name| named::inspect(&store, name).map(|v| to_value(&v)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failure(e, 125))?;
            print_value(&Value::Array(out), None)
        }
        VolumeCommand::Rm(r) => {
            let names = if r.all { named::names(&store) } else { r.names };
            for name in &names {
                named::remove(&store, name, r.force, r.time.unwrap_or(10))
                    .map_err(|e| failure(e, 1))?;
                println!("{name}");
            }
            Ok(())
        }
        VolumeCommand::Prune(p) => {
            let unused = named::unused(&store);
            let warning = format!(
                "WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\n{}",
                unused.iter().map(|n| format!("{n}\n")).collect::<String>()
            );
            if !p.force && !crate::prompt::confirm(&warning) {
                return Ok(());
            }
            prune_volumes(&store)
        }
    }
}

/// Removes the volumes no container names, printing each.
pub fn prune_volumes(store: &Store) -> CmdResult {
    for name in named::prune(store).map_err(|e| failure(e, 125))? {
        println!("{name}");
    }
    Ok(())
}
