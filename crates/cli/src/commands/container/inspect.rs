//! `container inspect` (images too, as podman's `inspect`) and `container exists`.

use crate::commands::StoreArgs;
use crate::exit::{CmdResult, Failure};
use crate::output::print_value;
use berth_engine::container::{self};
use berth_engine::views;
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
    #[arg(required_unless_present = "latest")]
    pub(crate) names: Vec<String>,
}

pub fn inspect(store_args: &StoreArgs, a: InspectArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut values = Vec::new();
    let mut missing = None;
    let mut names = a.names.clone();
    if a.latest {
        match super::lifecycle::latest(&store)? {
            Some(id) => names.push(id),
            None => return Err(crate::exit::podman("no containers to inspect")),
        }
    }
    for n in &names {
        match container::find(&store, n) {
            Ok(i) => values.push(
                serde_json::to_value(views::ContainerInspect::of(&store, &i))
                    .expect("an inspect document serialises"),
            ),
            // podman inspect also takes images.
            Err(_) if store.image(n).is_ok() => {
                return crate::commands::image::inspect::inspect_local(
                    store_args,
                    std::slice::from_ref(n),
                    a.format.as_deref(),
                );
            }
            Err(m) => {
                eprintln!("Error: {m}");
                missing = Some(125);
            }
        }
    }
    match &a.format {
        Some(f) => {
            for v in &values {
                print_value(v, Some(f))?;
            }
        }
        None => print_value(&Value::Array(values), None)?,
    }
    match missing {
        Some(code) => Err(Failure {
            code,
            message: String::new(),
        }),
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
        Err(_) => Err(Failure {
            code: 1,
            message: String::new(),
        }),
    }
}
