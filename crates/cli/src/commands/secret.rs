//! `secret create|ls|inspect|rm|exists` (podman's).

use std::io::Read;

use berth_engine::secrets::{self, SecretError, SecretInspect};
use clap::{Args, Subcommand};

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::{List, print_inspect, print_list, values};

#[derive(Args)]
pub struct SecretArgs {
    #[command(subcommand)]
    command: SecretCommand,
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Store a secret from a file, or - for standard input.
    Create(CreateArgs),
    /// List secrets.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show secrets' details (never their data).
    Inspect(InspectArgs),
    /// Remove secrets.
    Rm(RmArgs),
    /// Exit 0 when the secret exists, 1 when not.
    Exists(ExistsArgs),
}

#[derive(Args)]
struct CreateArgs {
    /// Where the secret is kept: file (the only driver).
    #[arg(short, long, default_value = "file")]
    driver: String,
    /// The data is the value of the environment variable named instead of a file.
    #[arg(long)]
    env: bool,
    /// A label KEY=VALUE, repeatable.
    #[arg(short, long)]
    label: Vec<String>,
    name: String,
    /// A file, - for standard input, or with --env a variable's name.
    source: String,
}

#[derive(Args)]
struct LsArgs {
    /// A Go template, or json.
    #[arg(long)]
    format: Option<String>,
    /// name=NAME or id=ID, repeatable.
    #[arg(short, long)]
    filter: Vec<String>,
    /// IDs only.
    #[arg(short, long)]
    quiet: bool,
    #[arg(long, short = 'n')]
    noheading: bool,
}

#[derive(Args)]
struct InspectArgs {
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
struct RmArgs {
    /// Every secret.
    #[arg(short, long)]
    all: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

#[derive(Args)]
struct ExistsArgs {
    name: String,
}

fn failure(e: SecretError) -> exit::Failure {
    match e {
        // podman: 1 for a secret that is not there.
        SecretError::NotFound(_) => exit::usage(1, e),
        e => exit::podman(e),
    }
}

fn read_source(a: &CreateArgs) -> Result<Vec<u8>, exit::Failure> {
    let limit = secrets::MAX_SIZE as u64 + 1;
    let mut data = Vec::new();
    let read = match (a.env, a.source.as_str()) {
        (true, var) => {
            let v = std::env::var(var)
                .map_err(|_| exit::podman(format!("environment variable {var} is not set")))?;
            return Ok(v.into_bytes());
        }
        (false, "-") => std::io::stdin().lock().take(limit).read_to_end(&mut data),
        (false, f) => std::fs::File::open(f).and_then(|h| h.take(limit).read_to_end(&mut data)),
    };
    read.map_err(|e| exit::podman(format!("{}: {e}", a.source)))?;
    Ok(data)
}

pub fn run(store_args: &StoreArgs, a: SecretArgs) -> CmdResult {
    let store = store_args.open()?;
    match a.command {
        SecretCommand::Create(c) => {
            let data = read_source(&c)?;
            let labels = berth_engine::views::label_pairs(&c.label);
            let s = secrets::create(&store, &c.name, &data, &c.driver, labels).map_err(failure)?;
            println!("{}", s.id);
        }
        SecretCommand::Ls(l) => {
            let all = secrets::list_filtered(&store, &l.filter).map_err(failure)?;
            let columns = [
                ("ID", "ID"),
                ("NAME", "Name"),
                ("DRIVER", "Driver"),
                ("CREATED", "CreatedAt"),
                ("UPDATED", "UpdatedAt"),
            ];
            let how = List {
                quiet: l.quiet.then_some("ID"),
                format: l.format.as_deref(),
                heading: !l.noheading,
            };
            print_list(&values(all.iter().map(|s| s.row())), &columns, how)?;
        }
        SecretCommand::Inspect(i) => {
            let found = i.names.iter().map(|n| secrets::find(&store, n));
            let found = found.collect::<Result<Vec<_>, _>>().map_err(failure)?;
            let docs = found.iter().map(|s| SecretInspect::of(&store, s));
            print_inspect(&values(docs), i.format.as_deref())?;
        }
        SecretCommand::Rm(r) => {
            let names = match r.all {
                true => secrets::list(&store).into_iter().map(|s| s.id).collect(),
                false => r.names,
            };
            for n in &names {
                println!("{}", secrets::remove(&store, n).map_err(failure)?.id);
            }
        }
        SecretCommand::Exists(e) => {
            if secrets::find(&store, &e.name).is_err() {
                return Err(exit::silent(1));
            }
        }
    }
    Ok(())
}
