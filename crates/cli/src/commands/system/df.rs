//! `system df`: the engine's measure, in podman's table, `-v` and templates.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_engine::df::DiskUse;
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
                   "RawSize": s.size, "RawReclaimable": s.reclaimable, "Size": go_size(s.size),
                   "Reclaimable": format!("{} ({}%)", go_size(s.reclaimable), s.reclaimable_percent())})
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
                go_size(i.image.size),
                go_size(i.shared),
                go_size(i.image.size.saturating_sub(i.shared)),
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
            go_size(c.rw),
            ago(i.config.created_ns / 1_000_000_000),
            i.state.status.as_str().to_string(),
            i.name().to_string(),
        ]);
    }
    let mut volumes = vec![row(&["VOLUME NAME", "LINKS", "SIZE"])];
    for v in &du.volumes {
        volumes.push(vec![v.name.clone(), v.links.to_string(), go_size(v.size)]);
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

/// Sizes as `system df` prints them (go-units' HumanSize: four significant
/// digits, decimal units, no space): `0B`, `4.56MB`, `11.52kB`.
fn go_size(n: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    // %.4g: four significant digits, trailing zeros dropped.
    let int_digits = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let mut s = format!("{v:.*}", 4usize.saturating_sub(int_digits));
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_sizes_read_as_podmans() {
        assert_eq!(go_size(0), "0B");
        assert_eq!(go_size(999), "999B");
        assert_eq!(go_size(7000), "7kB");
        assert_eq!(go_size(22_530), "22.53kB");
        assert_eq!(go_size(4_560_000), "4.56MB");
        assert_eq!(go_size(4_273_456), "4.273MB");
        assert_eq!(go_size(123_456_789), "123.5MB");
    }

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
