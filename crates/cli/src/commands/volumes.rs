//! `berth volume`: named volumes, kept under the store as podman keeps them
//! (`GRAPHROOT/volumes/NAME/_data`).

use std::path::PathBuf;

use berth_engine::container;
use berth_engine::volumes::volume_dir;
use berth_storage::Store;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::commands::image::{print_rows, print_value};
use crate::commands::images::StoreArgs;
use crate::exit::{CmdResult, Failure};

#[derive(Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    command: VolumeCommand,
}

#[derive(Subcommand)]
enum VolumeCommand {
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
struct NameArgs {
    /// Do nothing if the volume exists already.
    #[arg(long)]
    ignore: bool,
    /// Without a name, a random one (as podman's).
    name: Option<String>,
}

#[derive(Args)]
struct NamesArgs {
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
struct LsArgs {
    #[arg(short, long)]
    quiet: bool,
    #[arg(long)]
    format: Option<String>,
}

#[derive(Args)]
struct RmArgs {
    /// Remove volumes in use too (their containers go first).
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
struct PruneArgs {
    #[arg(short, long)]
    force: bool,
}

fn err(code: i32, m: impl ToString) -> Failure {
    Failure {
        code,
        message: m.to_string(),
    }
}

fn root(store: &Store) -> PathBuf {
    store.config().graph_root.join("volumes")
}

fn names(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root(store))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("_data").is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Containers whose `-v` names the volume.
fn users(store: &Store, name: &str) -> Vec<String> {
    container::list(store)
        .unwrap_or_default()
        .into_iter()
        .filter(|i| {
            i.config
                .process
                .volumes
                .iter()
                .any(|v| v.split(':').next() == Some(name))
        })
        .map(|i| i.id)
        .collect()
}

fn info(store: &Store, name: &str) -> Value {
    let dir = volume_dir(store, name);
    let created = std::fs::metadata(&dir)
        .and_then(|m| m.created().or_else(|_| m.modified()))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| container::rfc3339(d.as_nanos() as u64))
        .unwrap_or_default();
    json!({
        "Name": name,
        "Driver": "local",
        "Mountpoint": dir,
        "CreatedAt": created,
        "Labels": {},
        "Scope": "local",
        "Options": {},
    })
}

pub fn run(store_args: &StoreArgs, a: VolumeArgs) -> CmdResult {
    let store = store_args.open()?;
    match a.command {
        VolumeCommand::Create(n) => {
            let name = n
                .name
                .unwrap_or_else(|| berth_storage::lock::random_hex(32));
            if volume_dir(&store, &name).exists() && !n.ignore {
                return Err(err(
                    125,
                    format!("volume with name {name} already exists: volume already exists"),
                ));
            }
            berth_engine::volumes::volume_mount(&store, &format!("{name}:/v"))
                .map_err(|m| err(125, m))?;
            println!("{name}");
            Ok(())
        }
        VolumeCommand::Ls(l) => {
            let all = names(&store);
            if l.quiet {
                for n in all {
                    println!("{n}");
                }
                return Ok(());
            }
            let rows: Vec<Value> = all.iter().map(|n| info(&store, n)).collect();
            match &l.format {
                Some(f) => print_rows(&rows, f),
                None => {
                    let mut t = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
                    t.extend(all.iter().map(|n| vec!["local".to_string(), n.clone()]));
                    print!("{}", crate::table::render(&t));
                    Ok(())
                }
            }
        }
        VolumeCommand::Inspect(n) => {
            let mut out = Vec::new();
            for name in &n.names {
                if !volume_dir(&store, name).is_dir() {
                    return Err(err(
                        125,
                        format!("no volume with name \"{name}\" found: no such volume"),
                    ));
                }
                out.push(info(&store, name));
            }
            print_value(&Value::Array(out), None)
        }
        VolumeCommand::Rm(r) => {
            for name in &r.names {
                if !volume_dir(&store, name).is_dir() {
                    return Err(err(
                        1,
                        format!("no volume with name \"{name}\" found: no such volume"),
                    ));
                }
                let used = users(&store, name);
                if !used.is_empty() && !r.force {
                    return Err(err(
                        2,
                        format!(
                            "volume {name} is being used by the following container(s): {}: volume is being used",
                            used.join(", ")
                        ),
                    ));
                }
                for c in used {
                    berth_engine::lifecycle::remove(&store, &c, true)
                        .map_err(|f| err(f.code, f.message))?;
                }
                std::fs::remove_dir_all(root(&store).join(name))
                    .map_err(|e| err(125, format!("volume {name}: {e}")))?;
                println!("{name}");
            }
            Ok(())
        }
        VolumeCommand::Prune(_) => prune_volumes(&store),
    }
}

/// Removes the volumes no container names.
pub fn prune_volumes(store: &Store) -> CmdResult {
    for name in names(store) {
        if users(store, &name).is_empty() {
            std::fs::remove_dir_all(root(store).join(&name))
                .map_err(|e| err(125, format!("volume {name}: {e}")))?;
            println!("{name}");
        }
    }
    Ok(())
}
