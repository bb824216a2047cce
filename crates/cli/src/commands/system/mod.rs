//! `system info`, `info`, `version`; one file per other `system` verb below.

pub mod check;
pub mod df;
pub mod prune;

use crate::commands::StoreArgs;
use crate::exit::CmdResult;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub struct InfoArgs {
    /// json, or a Go template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn cgroup_version() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "v2"
    } else {
        "v1"
    }
}

pub fn info(store_args: &StoreArgs, a: InfoArgs) -> CmdResult {
    let store = store_args.open()?;
    use crate::exit::podman as err;
    let containers = berth_engine::container::list(&store).map_err(err)?;
    let running = containers
        .iter()
        .filter(|c| c.state.status == berth_engine::container::Status::Running)
        .count();
    let paused = containers
        .iter()
        .filter(|c| c.state.status == berth_engine::container::Status::Paused)
        .count();
    let images = store.images().map_err(err)?.len();
    let cfg = store.config();
    // The runtime new containers get: --runtime, else containers.conf's.
    let conf = berth_engine::conf::get().map_err(err)?;
    let runtime = store_args.runtime.clone().or_else(|| conf.runtime.clone());
    let oci_runtime = match runtime.as_deref() {
        None | Some("berth" | "builtin" | "") => json!({"name": "berth", "path": "built in"}),
        Some(name) => {
            let path = berth_engine::oci::resolve(name).map_err(err)?;
            json!({"name": name, "path": path})
        }
    };
    let backend = berth_engine::network::Backend::configured().map_err(err)?;
    let v = json!({
        "host": {
            "arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
            "os": std::env::consts::OS,
            "kernel": kernel(),
            "hostname": std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default(),
            "cgroupVersion": cgroup_version(),
            "cgroupManager": "cgroupfs",
            "distribution": distribution(),
            "ociRuntime": oci_runtime,
            "networkBackend": backend.name(),
            "eventLogger": "file",
            "logDriver": berth_engine::conf::get()
                .ok()
                .and_then(|c| c.log_driver.clone())
                .unwrap_or_else(|| "k8s-file".into()),
            "security": {"seccompEnabled": true, "rootless": !is_root()},
        },
        "store": {
            "graphRoot": cfg.graph_root,
            "runRoot": cfg.run_root,
            "graphDriverName": format!("{:?}", store.driver()).to_lowercase(),
            "graphOptions": {},
            "graphStatus": {},
            "configFile": cfg.config_file,
            "containerStore": {
                "number": containers.len(),
                "running": running,
                "paused": paused,
                "stopped": containers.len() - running - paused,
            },
            "imageStore": {"number": images},
            "volumePath": cfg.graph_root.join("volumes"),
        },
        "registries": {},
        "version": {"Version": env!("CARGO_PKG_VERSION")},
    });
    match a.format.as_deref() {
        Some("json") => crate::output::print_value(&v, None),
        Some(f) => crate::output::print_value(&v, Some(f)),
        None => {
            let mut out = String::new();
            yaml(&v, 0, &mut out);
            print!("{out}");
            Ok(())
        }
    }
}

/// The host's distribution, from os-release: podman's `distribution` object.
fn distribution() -> serde_json::Value {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    json!({
        "distribution": field("ID"),
        "version": field("VERSION_ID"),
        "codename": field("VERSION_CODENAME"),
    })
}

/// Whether berth runs as root: /proc/self belongs to the effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// podman prints `info` as YAML: nested objects by indentation.
fn yaml(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    if let Value::Object(m) = v {
        for (k, x) in m {
            match x {
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

/// `version`: podman's fields, under `Client` (berth has no server).
pub fn version(a: VersionArgs) -> CmdResult {
    let arch = std::env::consts::ARCH
        .replace("x86_64", "amd64")
        .replace("aarch64", "arm64");
    let v = env!("CARGO_PKG_VERSION");
    let client = serde_json::json!({
        "APIVersion": v, "Version": v, "GoVersion": "", "GitCommit": "",
        "BuiltTime": "", "Built": 0, "OsArch": format!("linux/{arch}"), "Os": "linux",
    });
    match a.format.as_deref() {
        Some("json") => crate::output::print_value(&serde_json::json!({"Client": client}), None),
        Some(t) => crate::output::print_value(
            &serde_json::json!({"Client": client.clone(), "Version": v}),
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
}

/// `system VERB`.
pub fn run(store: &StoreArgs, a: SystemArgs) -> CmdResult {
    match a.command {
        SystemCommand::Check(a) => check::system_check(store, a),
        SystemCommand::Df(a) => df::system_df(store, a),
        SystemCommand::Prune(a) => prune::prune(store, a),
        SystemCommand::Info(a) => info(store, a),
    }
}
