//! `container inspect` (images too, as podman's `inspect`) and `container exists`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::{print_value, value};
use berth_engine::container::{self};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub struct InspectArgs {
    /// A Go template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
    /// The container created last.
    #[arg(short, long)]
    pub(crate) latest: bool,
    /// What the names are: container, image, volume, network, pod or all
    /// (the first of these each name is).
    #[arg(short, long, default_value = "all", value_parser = ["all", "container", "image", "volume", "network", "pod"])]
    pub(crate) r#type: String,
    /// Also the container's sizes (SizeRw, SizeRootFs).
    #[arg(short, long)]
    pub(crate) size: bool,
    #[arg(required_unless_present = "latest")]
    pub(crate) names: Vec<String>,
}

/// The inspect document of what `name` is, of `kind` (or any kind, in
/// podman's order), or None.
fn find_any(engine: &berth_engine::Engine, name: &str, kind: &str, size: bool) -> Option<Value> {
    let any = kind == "all";
    let containers = engine.containers();
    if (any || kind == "container")
        && let Ok(c) = match size {
            true => containers.inspect_sized(name),
            false => containers.inspect(name),
        }
    {
        return Some(value(c));
    }
    if (any || kind == "image")
        && let Ok(i) = engine.images().inspect(name)
    {
        return Some(value(i));
    }
    if (any || kind == "volume")
        && let Ok(v) = engine.volumes().inspect(name)
    {
        return Some(value(v));
    }
    if (any || kind == "network")
        && let Ok(n) = engine.networks().inspect(name)
    {
        return Some(value(n));
    }
    if (any || kind == "pod")
        && let Ok(p) = engine.pods().find(name)
    {
        return Some(value(engine.pods().inspect(&p)));
    }
    None
}

pub fn inspect(store_args: &StoreArgs, a: InspectArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut values = Vec::new();
    let mut missing = None;
    let mut names = a.names.clone();
    if a.latest {
        let id = berth_engine::targets::latest_id(&store)
            .map_err(|e| exit::podman(format!("no containers to inspect: {e}")))?;
        names.push(id);
    }
    let engine = berth_engine::Engine::with_store(store.clone());
    for n in &names {
        match find_any(&engine, n, &a.r#type, a.size) {
            Some(v) => values.push(v),
            None => {
                // podman's words: of any kind, "inspecting object: …".
                match a.r#type.as_str() {
                    "all" => eprintln!("Error: inspecting object: no such object: \"{n}\""),
                    "image" => eprintln!("Error: inspecting object: {n}: image not known"),
                    what => eprintln!("Error: inspecting object: no such {what} {n}"),
                }
                missing = Some(125);
            }
        }
    }
    match &a.format {
        Some(f) => {
            for v in &values {
                crate::output::print_doc(v, Some(f))?;
            }
        }
        None => print_value(&Value::Array(values), None)?,
    }
    match missing {
        Some(code) => Err(exit::silent(code)),
        None => Ok(()),
    }
}

#[derive(Args)]
pub struct ExistsArgs {
    pub(crate) name: String,
}

/// Exit 0 when the container exists, 1 when not (podman's `container exists`).
pub fn exists(store_args: &StoreArgs, a: ExistsArgs) -> CmdResult {
    let store = store_args.open()?;
    match container::find(&store, &a.name) {
        Ok(_) => Ok(()),
        Err(_) => Err(exit::silent(1)),
    }
}
