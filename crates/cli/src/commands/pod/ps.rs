//! `pod ps`: podman's table, JSON and templates over the engine's list.

use crate::exit::CmdResult;
use crate::output::print_rows;
use berth_engine::container::{human_duration, now_ns};
use clap::Args;
use serde_json::{Value, json};

use super::fail;

#[derive(Args)]
pub(super) struct PsArgs {
    #[arg(short, long)]
    quiet: bool,
    #[arg(long)]
    no_trunc: bool,
    #[arg(long)]
    noheading: bool,
    /// json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// id=, name=, label=KEY[=VALUE], status=, network=, until=, ctr-ids=,
    /// ctr-names=, ctr-status=, ctr-number= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Show the IDs of each pod's containers.
    #[arg(long)]
    ctr_ids: bool,
    /// Show the names of each pod's containers.
    #[arg(long)]
    ctr_names: bool,
    /// Show the states of each pod's containers.
    #[arg(long)]
    ctr_status: bool,
    /// created (newest first, the default), id, name, number or status.
    #[arg(long, default_value = "created")]
    sort: String,
    /// Only the newest pod.
    #[arg(short, long)]
    latest: bool,
}

pub(super) fn ps(pods: &berth_engine::Pods, a: PsArgs) -> CmdResult {
    let o = berth_engine::pods::PsOptions {
        filters: a.filter.clone(),
        sort: a.sort.parse().map_err(fail)?,
        latest: a.latest,
    };
    let list = pods.ps(&o).map_err(fail)?;
    let short = |s: &str| match a.no_trunc {
        true => s.to_string(),
        false => s.chars().take(12).collect(),
    };
    // podman's -q prints whole IDs, where its table cuts them.
    if a.quiet {
        for p in &list {
            println!("{}", p.id);
        }
        return Ok(());
    }
    let now = now_ns();
    let rows: Vec<Value> = list
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).expect("json");
            // Template fields as podman's table shows them.
            v["ID"] = json!(short(&p.id));
            v["InfraID"] = json!(short(&p.infra_id));
            v["NumberOfContainers"] = json!(p.containers.len());
            let join = |f: &dyn Fn(&berth_engine::pods::PodSummaryMember) -> String| {
                p.containers.iter().map(f).collect::<Vec<_>>().join(",")
            };
            v["ContainerIds"] = json!(join(&|c| short(&c.id)));
            v["ContainerNames"] = json!(join(&|c| c.names.clone()));
            v["ContainerStatuses"] = json!(join(&|c| c.status.clone()));
            let ago = human_duration(now.saturating_sub(p.created_ns));
            v["CreatedHuman"] = json!(format!("{ago} ago"));
            v
        })
        .collect();
    if let Some(f) = &a.format {
        return print_rows(&rows, f);
    }
    // podman's columns: the container ones asked for, else their number.
    let mut columns = vec![
        ("POD ID", "ID"),
        ("NAME", "Name"),
        ("STATUS", "Status"),
        ("CREATED", "CreatedHuman"),
        ("INFRA ID", "InfraID"),
    ];
    let asked = [
        (a.ctr_ids, ("IDS", "ContainerIds")),
        (a.ctr_names, ("NAMES", "ContainerNames")),
        (a.ctr_status, ("STATUS", "ContainerStatuses")),
    ];
    columns.extend(asked.iter().filter(|(on, _)| *on).map(|(_, c)| *c));
    if !asked.iter().any(|(on, _)| *on) {
        columns.push(("# OF CONTAINERS", "NumberOfContainers"));
    }
    let table = crate::output::table::of_fields(&columns, &rows);
    crate::output::table::print(&table, !a.noheading);
    Ok(())
}
