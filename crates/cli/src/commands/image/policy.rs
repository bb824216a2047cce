//! `image trust set/show`: podman's editor and view of the trust policy.

use std::path::PathBuf;

use berth_image::signature::lookaside::RegistriesD;
use berth_image::signature::trust;
use clap::{Args, Subcommand};

use crate::exit::{self, CmdResult};

#[derive(Args)]
pub(crate) struct TrustArgs {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Set the trust policy of a registry or repository, or the default.
    Set(SetArgs),
    /// Show the trust policy.
    Show(ShowArgs),
}

#[derive(Args)]
struct SetArgs {
    /// accept, reject, signedBy (the default) or sigstoreSigned.
    #[arg(short, long, default_value = "signedBy")]
    r#type: String,
    /// A public key file images must be signed with, repeatable.
    #[arg(short = 'f', long, value_delimiter = ',')]
    pubkeysfile: Vec<PathBuf>,
    /// The policy file (default: the user's policy.json if any, else the system's).
    #[arg(long)]
    policypath: Option<PathBuf>,
    /// "default", or a registry or repository (REGISTRY[/REPOSITORY]).
    scope: String,
}

#[derive(Args)]
struct ShowArgs {
    /// As JSON.
    #[arg(short, long)]
    json: bool,
    /// The policy file as it is.
    #[arg(long)]
    raw: bool,
    #[arg(short, long)]
    noheading: bool,
    #[arg(long)]
    policypath: Option<PathBuf>,
    /// Where signature storage is configured (registries.d).
    #[arg(long)]
    registrypath: Option<PathBuf>,
}

pub(crate) fn run(a: TrustArgs) -> CmdResult {
    match a.command {
        TrustCommand::Set(s) => {
            let path = s.policypath.unwrap_or_else(trust::default_policy_path);
            trust::set(&path, &s.scope, &s.r#type, &s.pubkeysfile).map_err(exit::podman)
        }
        TrustCommand::Show(s) => show(s),
    }
}

fn show(s: ShowArgs) -> CmdResult {
    let path = s.policypath.unwrap_or_else(trust::default_policy_path);
    if s.raw {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| exit::podman(format!("{}: {e}", path.display())))?;
        println!("{}", text.trim_end());
        return Ok(());
    }
    let registries_d = RegistriesD::load(s.registrypath.as_deref()).map_err(exit::podman)?;
    let entries = trust::show(&path, &registries_d).map_err(exit::podman)?;
    if s.json {
        let text = serde_json::to_string_pretty(&entries).map_err(exit::podman)?;
        println!("{text}");
        return Ok(());
    }
    let heading = ["TRANSPORT", "NAME", "TYPE", "ID", "STORE"].map(String::from);
    let rows = std::iter::once(heading.to_vec()).chain(entries.into_iter().map(|e| {
        vec![
            e.transport,
            e.repo_name,
            e.kind,
            e.gpg_id,
            e.signature_store,
        ]
    }));
    crate::output::table::print(&rows.collect::<Vec<_>>(), !s.noheading);
    Ok(())
}
