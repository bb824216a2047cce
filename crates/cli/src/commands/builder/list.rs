//! Working containers listed, mounted, inspected and removed.

use crate::commands::StoreArgs;
use crate::commands::builder::NameArgs;
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

pub(crate) fn mount(store_args: &StoreArgs, a: NameArgs, mount: bool) -> CmdResult {
    let store = store_args.open()?;
    let names = if a.containers.is_empty() && mount {
        // buildah: every mounted working container with its mount point.
        return list_mounts(&store);
    } else {
        a.containers
    };
    for n in &names {
        let b = Builder::load(&store, n).map_err(exit::build)?;
        if mount {
            let p = builder::mount(&store, &b).map_err(exit::build)?;
            if names.len() > 1 {
                println!("{} {}", b.name, p.display());
            } else {
                println!("{}", p.display());
            }
        } else {
            builder::umount(&store, &b).map_err(exit::build)?;
            println!("{}", b.id);
        }
    }
    Ok(())
}

fn list_mounts(store: &berth_storage::Store) -> CmdResult {
    for m in inspect::mounted(store).map_err(exit::build)? {
        println!("{} {}", m.container_name, m.mount_point.display());
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
    let rows = inspect::rows(&store, a.all, a.notruncate || !table).map_err(exit::build)?;
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
