//! Working containers listed, mounted, inspected and removed.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::builder::{self, Builder};
use berth_builder::inspect::{self, InspectType, Removal};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub(crate) struct RmArgs {
    #[arg(short, long)]
    pub(crate) all: bool,
    pub(crate) containers: Vec<String>,
}

#[derive(Args)]
pub(crate) struct ContainersArgs {
    /// Every container, not only working containers (BUILDER marks those).
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// JSON output.
    #[arg(long)]
    pub(crate) json: bool,
    #[arg(short = 'n', long)]
    pub(crate) noheading: bool,
    #[arg(long)]
    pub(crate) notruncate: bool,
    /// A Go template per container.
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// id=ID, name=NAME or ancestor=IMAGE (comma-separated for more).
    #[arg(short, long)]
    pub(crate) filter: Option<String>,
}

#[derive(Args)]
pub(crate) struct MountArgs {
    /// JSON output: [{"container": NAME, "mountPoint": DIR}].
    #[arg(long)]
    pub(crate) json: bool,
    pub(crate) containers: Vec<String>,
}

#[derive(Args)]
pub(crate) struct UmountArgs {
    /// Every working container mounted now.
    #[arg(short, long)]
    pub(crate) all: bool,
    pub(crate) containers: Vec<String>,
}

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// A Go template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
    /// container (the default; an image when none has the name), image or manifest.
    #[arg(short, long, value_parser = ["container", "image", "manifest"])]
    pub(crate) r#type: Option<String>,
    pub(crate) container: String,
}

/// buildah's `mount --json` entry: the container only when more than one
/// was named or none.
#[derive(serde::Serialize)]
struct JsonMount {
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<String>,
    #[serde(rename = "mountPoint")]
    mount_point: std::path::PathBuf,
}

pub(crate) fn mount(store_args: &StoreArgs, a: MountArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut json = Vec::new();
    if a.containers.is_empty() {
        // buildah: every mounted working container with its mount point.
        for m in inspect::mounted(&store).map_err(exit::build)? {
            match a.json {
                true => json.push(JsonMount {
                    container: Some(m.container_name),
                    mount_point: m.mount_point,
                }),
                false => println!("{} {}", m.container_name, m.mount_point.display()),
            }
        }
    }
    let many = a.containers.len() > 1;
    for n in &a.containers {
        let b = Builder::load(&store, n).map_err(exit::build)?;
        let p = builder::mount(&store, &b).map_err(exit::build)?;
        match (a.json, many) {
            (true, _) => json.push(JsonMount {
                container: many.then(|| b.name.clone()),
                mount_point: p,
            }),
            (false, true) => println!("{} {}", b.name, p.display()),
            (false, false) => println!("{}", p.display()),
        }
    }
    if a.json {
        crate::output::print_json_indented(&json, 4);
    }
    Ok(())
}

pub(crate) fn umount(store_args: &StoreArgs, a: UmountArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = match a.all {
        true => inspect::mounted(&store)
            .map_err(exit::build)?
            .into_iter()
            .map(|m| m.container_name)
            .collect(),
        false if a.containers.is_empty() => {
            return Err(exit::podman("at least one container ID must be specified"));
        }
        false => a.containers,
    };
    for n in &names {
        let b = Builder::load(&store, n).map_err(exit::build)?;
        builder::umount(&store, &b).map_err(exit::build)?;
        println!("{}", b.id);
    }
    Ok(())
}

pub(crate) fn rm(store_args: &StoreArgs, a: RmArgs) -> CmdResult {
    let store = store_args.open()?;
    if !a.all && a.containers.is_empty() {
        return Err(exit::podman(
            "name or ID of a working container must be given",
        ));
    }
    for r in inspect::removals(&store, a.all, &a.containers).map_err(exit::build)? {
        match r {
            Removal::LeftInUse { name, pid } => {
                eprintln!("{name}: in use by the build in process {pid}, left");
            }
            Removal::Remove(b) => {
                builder::remove(&store, &b).map_err(exit::build)?;
                println!("{}", b.id);
            }
        }
    }
    Ok(())
}

pub(crate) fn containers(store_args: &StoreArgs, a: ContainersArgs) -> CmdResult {
    let store = store_args.open()?;
    // Only the table cuts IDs (unless --notruncate), as buildah's.
    let table = !(a.quiet || a.json || a.format.is_some());
    let filter: inspect::ContainerFilter = match &a.filter {
        Some(f) => f.parse().map_err(exit::build)?,
        None => Default::default(),
    };
    let rows =
        inspect::rows(&store, a.all, a.notruncate || !table, &filter).map_err(exit::build)?;
    if a.quiet {
        for r in &rows {
            println!("{}", r.container_id);
        }
        return Ok(());
    }
    if a.json {
        return crate::output::print_json(&rows);
    }
    let rows: Vec<Value> = rows.iter().map(|r| r.template_data()).collect();
    if let Some(f) = &a.format {
        return crate::output::print_rows(&rows, f);
    }
    let mut table = Vec::new();
    if !a.noheading {
        table.push(crate::output::table::row(&[
            "CONTAINER ID",
            "BUILDER",
            "IMAGE ID",
            "IMAGE NAME",
            "CONTAINER NAME",
        ]));
    }
    for r in &rows {
        table.push(vec![
            r["ContainerID"].as_str().unwrap_or("").to_string(),
            if r["Builder"] == true { "*" } else { "" }.to_string(),
            r["ImageID"].as_str().unwrap_or("").to_string(),
            r["ImageName"].as_str().unwrap_or("").to_string(),
            r["ContainerName"].as_str().unwrap_or("").to_string(),
        ]);
    }
    print!("{}", crate::output::table::render(&table));
    Ok(())
}

pub(crate) fn inspect(store_args: &StoreArgs, a: InspectArgs) -> CmdResult {
    let store = store_args.open()?;
    let kind = a.r#type.as_deref().map(|t| match t {
        "manifest" => InspectType::Manifest,
        "image" => InspectType::Image,
        _ => InspectType::Container,
    });
    let doc = inspect::inspect(&store, &a.container, kind).map_err(exit::build)?;
    crate::output::print_doc(&crate::output::value(doc), a.format.as_deref())
}
