//! Working containers listed, mounted, inspected and removed.

use crate::commands::StoreArgs;
use crate::commands::builder::NameArgs;
use crate::exit::{self, CmdResult};
use berth_builder::builder::{self, Builder, Origin};
use clap::Args;
use serde_json::{Value, json};
use std::path::PathBuf;

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
    for b in builder::list(store).map_err(exit::build)? {
        if let Some(p) = mount_point(store, &b) {
            println!("{} {}", b.name, p.display());
        }
    }
    Ok(())
}

/// Where the container's root is mounted now, if it is.
fn mount_point(store: &berth_storage::Store, b: &Builder) -> Option<PathBuf> {
    store.mount_point(&b.id)
}

pub(crate) fn rm(store_args: &StoreArgs, a: RmArgs) -> CmdResult {
    let store = store_args.open()?;
    let targets: Vec<Builder> = if a.all {
        builder::list(&store).map_err(exit::build)?
    } else {
        if a.containers.is_empty() {
            return Err(exit::podman(
                "name or ID of a working container must be given",
            ));
        }
        a.containers
            .iter()
            .map(|n| Builder::load(&store, n).map_err(exit::build))
            .collect::<Result<_, _>>()?
    };
    for b in targets {
        // --all leaves a running build its own working containers (it
        // removes them itself); named, one is refused.
        if a.all
            && let Some(p) = b.in_use()
        {
            eprintln!("{}: in use by the build in process {}, left", b.name, p.pid);
            continue;
        }
        builder::remove(&store, &b).map_err(exit::build)?;
        println!("{}", b.id);
    }
    Ok(())
}

fn row(store: &berth_storage::Store, b: &Builder, full: bool) -> Value {
    let image_name = store
        .image(&b.from_id)
        .ok()
        .and_then(|i| i.names.first().cloned())
        .unwrap_or_else(|| b.from_image.clone());
    let cut = |s: &str| {
        if full {
            s.to_string()
        } else {
            s.chars().take(12).collect()
        }
    };
    let working = b.origin != Origin::Other;
    json!({
        "ContainerID": cut(&b.id), "Builder": working, "ImageID": cut(&b.from_id),
        "ImageName": image_name, "ContainerName": b.name,
    })
}

pub(crate) fn containers(store_args: &StoreArgs, a: ContainersArgs) -> CmdResult {
    let store = store_args.open()?;
    let list = if a.all {
        builder::list_all(&store)
    } else {
        builder::list(&store)
    }
    .map_err(exit::build)?;
    if a.quiet {
        for b in &list {
            println!(
                "{}",
                if a.notruncate {
                    b.id.clone()
                } else {
                    b.id[..12].to_string()
                }
            );
        }
        return Ok(());
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|b| row(&store, b, a.notruncate || a.json))
        .collect();
    if a.json {
        return crate::output::print_value(&Value::Array(rows), None);
    }
    if let Some(f) = &a.format {
        return crate::output::print_rows(&rows, f);
    }
    let mut table = Vec::new();
    if !a.noheading {
        table.push(
            [
                "CONTAINER ID",
                "BUILDER",
                "IMAGE ID",
                "IMAGE NAME",
                "CONTAINER NAME",
            ]
            .map(String::from)
            .to_vec(),
        );
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
    let kind = a.r#type.as_deref().unwrap_or("container");
    match kind {
        "manifest" => {
            let l = berth_engine::manifests::find(&store, &a.container).map_err(exit::image)?;
            let index = berth_engine::manifests::index(&store, &l).map_err(exit::image)?;
            let v = serde_json::to_value(index).expect("json");
            crate::output::print_value(&v, a.format.as_deref())
        }
        "image" => inspect_image(&store, &a),
        _ => match Builder::load(&store, &a.container) {
            Ok(b) => inspect_container(&store, b, &a),
            // No working container of that name: buildah shows the image.
            Err(_) if a.r#type.is_none() && store.image(&a.container).is_ok() => {
                inspect_image(&store, &a)
            }
            Err(e) => Err(exit::build(e)),
        },
    }
}

/// `inspect --type image`: the image as buildah shows one (its config and
/// manifest, as text and parsed).
fn inspect_image(store: &berth_storage::Store, a: &InspectArgs) -> CmdResult {
    let img = store
        .image(&a.container)
        .map_err(|_| exit::podman(format!("{}: image not known", a.container)))?;
    let config = store.image_config(&img).map_err(exit::podman)?;
    let manifest = store.image_manifest(&img, None).map_err(exit::podman)?;
    let parsed: Value = serde_json::from_slice(&config).unwrap_or_default();
    let name = img.names.first().cloned().unwrap_or_else(|| img.id.clone());
    let v = json!({
        "Type": "berth builder",
        "FromImage": name,
        "FromImageID": img.id,
        "FromImageDigest": img.manifest_digest.to_string(),
        "Config": String::from_utf8_lossy(&config),
        "Manifest": String::from_utf8_lossy(&manifest.bytes),
        "OCIv1": parsed,
        "Docker": parsed,
    });
    crate::output::print_value(&v, a.format.as_deref())
}

fn inspect_container(store: &berth_storage::Store, b: Builder, a: &InspectArgs) -> CmdResult {
    let mut oci = b.config.clone();
    builder::drop_docker_only(&mut oci);
    let v = json!({
        "Type": "berth builder",
        "FromImage": b.from_image,
        "FromImageID": b.from_id,
        "Container": b.name,
        "ContainerID": b.id,
        "MountPoint": mount_point(store, &b).map(|p| p.display().to_string()).unwrap_or_default(),
        "ImageAnnotations": b.annotations,
        "ImageCreatedBy": b.created_by.clone().unwrap_or_default(),
        "OCIv1": {"author": b.author, "config": oci},
        "Docker": {"author": b.author, "config": b.config},
    });
    crate::output::print_value(&v, a.format.as_deref())
}
