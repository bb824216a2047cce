//! `system df`: the engine's measure, in podman's table, `-v` and templates.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::table::{self, row};
use berth_engine::df::DiskUse;
use berth_engine::units::human_size;
use clap::Args;

#[derive(Args)]
pub struct DfArgs {
    /// Show each image, container and volume.
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// json, or a Go template per row.
    #[arg(long)]
    pub(crate) format: Option<String>,
}

/// `system df`: what images, containers and volumes take, and what of it
/// nothing uses (podman's table, `-v`, `--format json|TEMPLATE`).
pub fn system_df(store_args: &StoreArgs, a: DfArgs) -> CmdResult {
    if a.verbose && a.format.is_some() {
        return Err(exit::podman("cannot combine --format and --verbose flags"));
    }
    let store = store_args.open()?;
    let du = DiskUse::measure(&store).map_err(exit::podman)?;
    if a.verbose {
        print!("{}", df_verbose(&du));
        return Ok(());
    }
    let rows = crate::output::values(du.summary_rows());
    if let Some(f) = a.format.as_deref() {
        return crate::output::print_rows(&rows, f);
    }
    let columns = [
        ("TYPE", "Type"),
        ("TOTAL", "Total"),
        ("ACTIVE", "Active"),
        ("SIZE", "Size"),
        ("RECLAIMABLE", "Reclaimable"),
    ];
    print!("{}", table::render(&table::of_fields(&columns, &rows)));
    Ok(())
}

/// `system df -v`: podman's three tables.
fn df_verbose(du: &DiskUse) -> String {
    let now = berth_engine::container::now_ns();
    let ago = |secs: u64| {
        berth_engine::container::human_duration(now.saturating_sub(secs * 1_000_000_000))
    };
    let v = du.verbose();
    let mut images = vec![row(&[
        "REPOSITORY",
        "TAG",
        "IMAGE ID",
        "CREATED",
        "SIZE",
        "SHARED SIZE",
        "UNIQUE SIZE",
        "CONTAINERS",
    ])];
    images.extend(v.images.iter().map(|i| {
        vec![
            i.repository.clone(),
            i.tag.clone(),
            i.image_id[..12].to_string(),
            ago(i.created),
            human_size(i.size),
            human_size(i.shared_size),
            human_size(i.unique_size),
            i.containers.to_string(),
        ]
    }));
    let mut containers = vec![row(&[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "LOCAL VOLUMES",
        "SIZE",
        "CREATED",
        "STATUS",
        "NAMES",
    ])];
    containers.extend(v.containers.iter().map(|c| {
        vec![
            c.container_id[..12].to_string(),
            c.image.get(..12).unwrap_or(&c.image).to_string(),
            c.command.join(" "),
            c.local_volumes.to_string(),
            human_size(c.size),
            ago(c.created),
            c.status.clone(),
            c.names.clone(),
        ]
    }));
    let mut volumes = vec![row(&["VOLUME NAME", "LINKS", "SIZE"])];
    volumes.extend(v.volumes.iter().map(|v| {
        vec![
            v.volume_name.clone(),
            v.links.to_string(),
            human_size(v.size),
        ]
    }));
    let render = table::render;
    format!(
        "Images space usage:\n\n{}\nContainers space usage:\n\n{}\nLocal Volumes space usage:\n\n{}",
        render(&images),
        render(&containers),
        render(&volumes)
    )
}
