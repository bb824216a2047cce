//! `system info`, `info`, `version`; one file per other `system` verb below.

pub mod check;
pub mod df;
pub mod prune;
pub mod reset;
pub mod service;

use crate::commands::StoreArgs;
use crate::exit::CmdResult;
use clap::Args;
use serde_json::Value;

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
    let mut v = serde_json::to_value(report).map_err(crate::exit::podman)?;
    match a.format.as_deref() {
        Some("json") => crate::output::print_value(&v, None),
        Some(f) => {
            // The one Go field name that is not its JSON key's.
            v["host"]["CgroupsVersion"] = v["host"]["cgroupVersion"].clone();
            crate::output::print_value(&v, Some(f))
        }
        None => {
            let mut out = String::new();
            yaml(&v, 0, &mut out);
            print!("{out}");
            Ok(())
        }
    }
}

/// podman prints `info` as YAML: nested objects by indentation.
fn yaml(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    if let Value::Object(m) = v {
        for (k, x) in m {
            match x {
                // An empty map on one line, as podman's YAML has it.
                Value::Object(m) if m.is_empty() => out.push_str(&format!("{pad}{k}: {{}}\n")),
                Value::Object(_) => {
                    out.push_str(&format!("{pad}{k}:\n"));
                    yaml(x, depth + 1, out);
                }
                Value::String(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                other => out.push_str(&format!("{pad}{k}: {other}\n")),
            }
        }
    }
}

#[derive(Args)]
pub struct VersionArgs {
    /// json, or a Go template (`{{.Client.Version}}`).
    #[arg(short, long)]
    pub(crate) format: Option<String>,
}

/// `version`: podman's fields, under `Client` and, as podman has them locally too,
/// `Server` (the same engine: berth has no service of its own running).
pub fn version(a: VersionArgs) -> CmdResult {
    let arch = berth_engine::system::go_arch();
    let v = berth_engine::system::VERSION;
    let client = serde_json::json!({
        "APIVersion": v, "Version": v, "GoVersion": "", "GitCommit": "",
        "BuiltTime": "", "Built": 0, "OsArch": format!("linux/{arch}"), "Os": "linux",
    });
    match a.format.as_deref() {
        Some("json") => crate::output::print_value(
            &serde_json::json!({"Client": client, "Server": client}),
            None,
        ),
        Some(t) => crate::output::print_value(
            &serde_json::json!({"Client": client, "Server": client, "Version": v}),
            Some(t),
        ),
        None => {
            println!("Version:      {v}");
            println!("API Version:  {v}");
            println!("OS/Arch:      linux/{arch}");
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
