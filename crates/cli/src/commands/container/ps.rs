//! `ps`: podman's table, JSON and templates over the engine's view.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use crate::output::print_rows;
use berth_engine::container::{human_duration, now_ns};
use berth_engine::units::human_size_with_precision;
use berth_engine::views;
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers, not only running ones.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Do not truncate IDs and commands.
    #[arg(long)]
    pub(crate) no_trunc: bool,
    /// Only the N newest containers (implies -a).
    #[arg(short = 'n', long)]
    pub(crate) last: Option<usize>,
    /// Only the container created last, whatever its state.
    #[arg(short, long, conflicts_with = "last")]
    pub(crate) latest: bool,
    /// json, or a Go template.
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// podman's: status=, name=REGEX, id=REGEX, label=KEY[=VALUE], ancestor=,
    /// exited=, before=CONTAINER, since=CONTAINER, until=TIME,
    /// volume=SOURCE[:DEST], health=, pod=, network=, restart-policy=
    /// (repeatable: the same key twice means either).
    #[arg(short, long)]
    pub(crate) filter: Vec<String>,
    /// created, id, image, names, status.
    #[arg(long)]
    pub(crate) sort: Option<String>,
    /// Show the working containers of builds and `berth builder` too.
    #[arg(long)]
    pub(crate) external: bool,
    /// Show each container's size: what it wrote, and with its image.
    #[arg(short, long)]
    pub(crate) size: bool,
    /// Leave the table's heading out.
    #[arg(long)]
    pub(crate) noheading: bool,
    /// Show each container's pod (ID and name).
    #[arg(short, long)]
    pub(crate) pod: bool,
    /// Show each container's namespaces (their inode numbers) and PID.
    #[arg(long)]
    pub(crate) ns: bool,
}

pub fn ps(store_args: &StoreArgs, a: PsArgs) -> CmdResult {
    let store = store_args.open()?;
    let list = views::ps(
        &store,
        &views::PsOptions {
            all: a.all,
            last: if a.latest { Some(1) } else { a.last },
            filters: a.filter.clone(),
            sort: a.sort.clone(),
            external: a.external,
            docker: false,
        },
    )
    .map_err(exit::podman)?;
    if a.quiet {
        for i in &list {
            println!("{}", if a.no_trunc { &i.id } else { &i.id[..12] });
        }
        return Ok(());
    }
    let now = now_ns();
    let entries = views::ps_entries(&store, &list);
    if a.format.as_deref() == Some("json") {
        let rows: Vec<views::PsJson> = list
            .iter()
            .zip(&entries)
            .map(|(i, e)| views::PsJson::of(i, e, now, a.size.then(|| views::sizes(&store, i))))
            .collect();
        return crate::output::print_value(&crate::output::value(rows), None);
    }
    if let Some(f) = &a.format {
        let mut rows = crate::output::values(&entries);
        if f != "json" {
            // In templates podman's .Names is the names joined, not a list, and
            // .State the status as the table shows it.
            for ((r, i), e) in rows.iter_mut().zip(&list).zip(&entries) {
                r["Names"] = json!(i.names.join(","));
                // .ID, .ImageID and .Pod in templates are short, as the table's
                // (--no-trunc: all of them), .Command cut as the table cuts it.
                if !a.no_trunc {
                    r["ID"] = json!(i.id[..12]);
                    r["ImageID"] = json!(i.config.image_id.get(..12).unwrap_or_default());
                    r["Pod"] = json!(e.pod.get(..12).unwrap_or(&e.pod));
                }
                let status = views::podman_status_text(i, now, e.health.as_deref());
                r["State"] = json!(status);
                r["Status"] = json!(status);
                r["Command"] = json!(command(i, a.no_trunc));
                let created = berth_engine::time::go_time(i.config.created_ns);
                r["CreatedAt"] = json!(created);
                r["Created"] = json!(created);
                let json = views::PsJson::of(i, e, now, None);
                r["StartedAt"] = json!(json.started_at);
                r["ExitedAt"] = json!(json.exited_at);
                // The namespaces with --ns; empty without it, as podman's.
                let ns = if a.ns {
                    views::namespaces(i)
                } else {
                    Default::default()
                };
                let keys = ["Cgroup", "IPC", "MNT", "NET", "PIDNS", "User", "UTS"];
                for (key, value) in keys.into_iter().zip(ns) {
                    r[key] = json!(value);
                }
                if !a.size {
                    r["Size"] = json!("");
                }
                let ago = human_duration(now.saturating_sub(i.config.created_ns));
                r["RunningFor"] = json!(format!("{ago} ago"));
                r["CreatedHuman"] = json!(format!("{ago} ago"));
                // .Networks joined, as podman's; .Mounts a list.
                r["Networks"] = json!(berth_engine::spec::strings(&r["Networks"]).join(","));
            }
        }
        if a.size {
            for (r, i) in rows.iter_mut().zip(&list) {
                let (rw, image) = views::sizes(&store, i);
                r["Size"] = json!(format!("{} (virtual {})", size(rw), size(rw + image)));
                r["SizeRw"] = json!(rw);
                r["SizeRootFs"] = json!(rw + image);
            }
        }
        return print_rows(&rows, f);
    }
    if a.ns {
        return print_namespaces(&list, a.no_trunc, !a.noheading);
    }
    let mut head = vec![
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    if a.size {
        head.push("SIZE");
    }
    if a.pod {
        head.extend(["POD ID", "PODNAME"]);
    }
    let mut rows = vec![head.into_iter().map(String::from).collect::<Vec<_>>()];
    for (i, e) in list.iter().zip(&entries) {
        let cmd = command(i, a.no_trunc);
        rows.push(vec![
            if a.no_trunc {
                i.id.clone()
            } else {
                i.id[..12].to_string()
            },
            i.config.image_name.clone(),
            cmd,
            format!(
                "{} ago",
                human_duration(now.saturating_sub(i.config.created_ns))
            ),
            views::podman_status_text(i, now, e.health.as_deref()),
            e.ports.clone(),
            i.name().to_string(),
        ]);
        if a.size {
            let (rw, image) = views::sizes(&store, i);
            rows.last_mut().expect("row").push(format!(
                "{} (virtual {})",
                size(rw),
                size(rw + image)
            ));
        }
        if a.pod {
            let row = rows.last_mut().expect("row");
            row.extend([e.pod.clone(), e.pod_name.clone()]);
        }
    }
    crate::output::table::print(&rows, !a.noheading);
    Ok(())
}

/// `ps --ns`: podman's namespace table, a row per container.
fn print_namespaces(
    list: &[berth_engine::container::Info],
    no_trunc: bool,
    heading: bool,
) -> CmdResult {
    let head = [
        "CONTAINER ID",
        "NAMES",
        "PID",
        "CGROUPNS",
        "IPC",
        "MNT",
        "NET",
        "PIDNS",
        "USERNS",
        "UTS",
    ];
    let mut rows = vec![head.map(String::from).to_vec()];
    for i in list {
        let id = if no_trunc {
            i.id.clone()
        } else {
            i.id[..12].to_string()
        };
        let mut row = vec![id, i.name().to_string(), i.state.pid().to_string()];
        row.extend(views::namespaces(i));
        rows.push(row);
    }
    crate::output::table::print(&rows, heading);
    Ok(())
}

/// The command as podman's ps shows it: cut at 17 characters and `...`
/// (longer than 20), unless --no-trunc.
fn command(i: &berth_engine::container::Info, no_trunc: bool) -> String {
    let cmd = i.config.args.join(" ");
    if no_trunc || cmd.chars().count() <= 20 {
        cmd
    } else {
        format!("{}...", cmd.chars().take(17).collect::<String>())
    }
}

/// `.Size`'s two sizes, as podman's ps writes them (three digits, no space).
fn size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}
