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
    /// id=, name=, label=KEY[=VALUE], status= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
}

pub(super) fn ps(pods: &berth_engine::Pods, a: PsArgs) -> CmdResult {
    let list = pods.ps(&a.filter).map_err(fail)?;
    let short = |s: &str| match a.no_trunc {
        true => s.to_string(),
        false => s.chars().take(12).collect(),
    };
    if a.quiet {
        for p in &list {
            println!("{}", short(&p.id));
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
            let ago = human_duration(now.saturating_sub(p.created_ns));
            v["CreatedHuman"] = json!(format!("{ago} ago"));
            v
        })
        .collect();
    if let Some(f) = &a.format {
        return print_rows(&rows, f);
    }
    let head = [
        "POD ID",
        "NAME",
        "STATUS",
        "CREATED",
        "INFRA ID",
        "# OF CONTAINERS",
    ];
    let mut table = vec![head.map(String::from).to_vec()];
    for r in &rows {
        let cell = |k: &str| match &r[k] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let keys = [
            "ID",
            "Name",
            "Status",
            "CreatedHuman",
            "InfraID",
            "NumberOfContainers",
        ];
        table.push(keys.map(cell).to_vec());
    }
    crate::output::table::print(&table, !a.noheading);
    Ok(())
}
