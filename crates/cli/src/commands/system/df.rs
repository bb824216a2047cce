//! `system df`: the engine's measure, in podman's table, `-v` and templates.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_engine::df::DiskUse;
use berth_engine::units::human_size;
use clap::Args;
use serde_json::{Value, json};

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
    let rows = df_summary(&du);
    if let Some(f) = a.format.as_deref() {
        return crate::output::print_rows(&rows, f);
    }
    let mut table = vec![
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
            .map(String::from)
            .to_vec(),
    ];
    for r in &rows {
        table.push(
            ["Type", "Total", "Active", "Size", "Reclaimable"]
                .iter()
                .map(|k| berth_template::to_text(&r[*k]))
                .collect(),
        );
    }
    print!("{}", crate::output::table::render(&table));
    Ok(())
}

/// The summary lines as podman's JSON and templates show them.
fn df_summary(du: &DiskUse) -> Vec<Value> {
    du.summary()
        .iter()
        .map(|s| {
            json!({"Type": s.kind, "Total": s.total, "Active": s.active,
                   "RawSize": s.size, "RawReclaimable": s.reclaimable, "Size": human_size(s.size),
                   "Reclaimable": format!("{} ({}%)", human_size(s.reclaimable), s.reclaimable_percent())})
        })
        .collect()
}

/// `system df -v`: podman's three tables.
fn df_verbose(du: &DiskUse) -> String {
    let now = berth_engine::container::now_ns();
    let ago = |secs: u64| {
        berth_engine::container::human_duration(now.saturating_sub(secs * 1_000_000_000))
    };
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
    for i in &du.images {
        let names = if i.image.names.is_empty() {
            vec![("<none>", "<none>")]
        } else {
            i.image.names.iter().map(|n| repo_tag(n)).collect()
        };
        for (repo, tag) in names {
            images.push(vec![
                repo.to_string(),
                tag.to_string(),
                i.image.id[..12].to_string(),
                ago(i.image.created),
                human_size(i.image.size),
                human_size(i.shared),
                human_size(i.image.size.saturating_sub(i.shared)),
                i.containers.to_string(),
            ]);
        }
    }
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
    for c in &du.containers {
        let i = &c.info;
        containers.push(vec![
            i.id[..12].to_string(),
            i.config
                .image_id
                .get(..12)
                .unwrap_or(&i.config.image_id)
                .to_string(),
            i.config.args.join(" "),
            c.volumes.to_string(),
            human_size(c.rw),
            ago(i.config.created_ns / 1_000_000_000),
            i.state.status.as_str().to_string(),
            i.name().to_string(),
        ]);
    }
    let mut volumes = vec![row(&["VOLUME NAME", "LINKS", "SIZE"])];
    for v in &du.volumes {
        volumes.push(vec![
            v.name.clone(),
            v.links.to_string(),
            human_size(v.size),
        ]);
    }
    let render = crate::output::table::render;
    format!(
        "Images space usage:\n\n{}\nContainers space usage:\n\n{}\nLocal Volumes space usage:\n\n{}",
        render(&images),
        render(&containers),
        render(&volumes)
    )
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// `registry/repo:tag` as (`registry/repo`, `tag`).
fn repo_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (name, "<none>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_repository_and_tag() {
        assert_eq!(
            repo_tag("localhost:5000/a/b:1"),
            ("localhost:5000/a/b", "1")
        );
        assert_eq!(
            repo_tag("localhost:5000/a/b"),
            ("localhost:5000/a/b", "<none>")
        );
    }
}
