//! `system info`, `info`, `version`; one file per other `system` verb below.

pub mod check;
pub mod df;
pub mod prune;
pub mod reset;
pub mod service;

use crate::commands::StoreArgs;
use crate::exit::CmdResult;
use clap::Args;

#[derive(Args)]
pub struct InfoArgs {
    /// json, or a Go template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
}

pub fn info(store_args: &StoreArgs, a: InfoArgs) -> CmdResult {
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    let report = engine
        .info(store_args.runtime.as_deref())
        .map_err(crate::exit::engine)?;
    match a.format.as_deref() {
        Some("json") => crate::output::print_json(&report),
        Some(f) => crate::output::print_value(&report.template_data(), Some(f)),
        None => crate::output::print_yaml(&report),
    }
}

#[derive(Args)]
pub struct VersionArgs {
    /// json, or a Go template (`{{.Client.Version}}`).
    #[arg(short, long)]
    pub(crate) format: Option<String>,
}

/// `version`: podman's fields, under `Client` and `Server`.
pub fn version(a: VersionArgs) -> CmdResult {
    let report = berth_engine::system::version();
    match a.format.as_deref() {
        Some("json") => crate::output::print_json(&report),
        Some(t) => crate::output::print_value(&report.template_data(), Some(t)),
        None => {
            let c = &report.client;
            println!("Version:      {}", c.version);
            println!("API Version:  {}", c.api_version);
            println!("OS/Arch:      {}", c.os_arch);
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct SystemArgs {
    #[command(subcommand)]
    command: SystemCommand,
}

#[derive(clap::Subcommand)]
pub(crate) enum SystemCommand {
    /// Check the store's layers and metadata.
    Check(check::CheckArgs),
    /// Show the store's disk usage.
    Df(df::DfArgs),
    /// Remove stopped containers, dangling images (and with --volumes, unused volumes).
    Prune(prune::PruneArgs),
    /// Show the host and the store.
    Info(InfoArgs),
    /// Serve the Docker-compatible REST API on a socket.
    Service(service::ServiceArgs),
    /// Remove every container, pod, image, network and volume, and the store.
    Reset(reset::ResetArgs),
    /// Rootless: make the user namespace afresh on the next command.
    Migrate(reset::MigrateArgs),
}

/// `system VERB`.
pub fn run(store: &StoreArgs, a: SystemArgs) -> CmdResult {
    match a.command {
        SystemCommand::Check(a) => check::system_check(store, a),
        SystemCommand::Df(a) => df::system_df(store, a),
        SystemCommand::Prune(a) => prune::prune(store, a),
        SystemCommand::Info(a) => info(store, a),
        SystemCommand::Service(a) => service::service(store, a),
        SystemCommand::Reset(a) => reset::reset(store, a),
        SystemCommand::Migrate(a) => reset::migrate(store, a),
    }
}
