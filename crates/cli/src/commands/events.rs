//! `events`: what happened to containers, from the engine's event log, as
//! podman prints it (its file backend).

use berth_engine::events::{Event, EventFilter, Follower};
use clap::{ArgAction, Args};
use serde_json::Value;

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};

#[derive(Args)]
pub struct EventsArgs {
    /// type=, event=, container=, pod=, image=, volume=, label=KEY[=VALUE]
    /// (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// json, or a Go template per event.
    #[arg(long)]
    format: Option<String>,
    /// Keep printing events as they happen (`--stream=false`: the past only).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    stream: bool,
    /// Full IDs (`--no-trunc=false`: 12 characters).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    no_trunc: bool,
    /// Only events since a time (RFC 3339, Unix seconds) or a duration ago.
    #[arg(long)]
    since: Option<String>,
    /// Only events until then.
    #[arg(long)]
    until: Option<String>,
}

pub fn events(store_args: &StoreArgs, a: EventsArgs) -> CmdResult {
    if berth_engine::events::disabled() {
        return Err(exit::podman("cannot read events with the \"none\" backend"));
    }
    let store = store_args.open()?;
    let f = EventFilter {
        filters: a.filter.clone(),
        since_ns: a.since.as_deref().map(time_ns).transpose()?,
        until_ns: a.until.as_deref().map(time_ns).transpose()?,
    };
    let mut follower = Follower::new(&store, f);
    loop {
        for e in &follower.poll().map_err(exit::engine)? {
            print(e, &a)?;
        }
        // A stream with --until ends once that time has passed.
        if !a.stream || follower.expired() {
            return Ok(());
        }
        // The file backend is a file: look again a little later (as podman's
        // tail of it does), until the user interrupts.
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A time for --since/--until.
fn time_ns(v: &str) -> Result<u64, crate::exit::Failure> {
    berth_engine::time::parse_point(v).map_err(exit::podman)
}

fn print(e: &Event, a: &EventsArgs) -> CmdResult {
    match a.format.as_deref() {
        Some("json") => {
            println!("{}", json(e));
            Ok(())
        }
        Some(t) => crate::output::print_value(&value(e), Some(t)),
        None => {
            let id = if a.no_trunc {
                &e.id[..]
            } else {
                &e.id[..12.min(e.id.len())]
            };
            if e.kind == "volume" {
                let time = berth_engine::time::go_time(e.time_ns);
                println!("{time} volume {} {}", e.status, e.name);
                return Ok(());
            }
            if e.kind == "image" {
                println!(
                    "{} image {} {id} {}",
                    berth_engine::time::go_time(e.time_ns),
                    e.status,
                    e.name
                );
                return Ok(());
            }
            let mut attrs = vec![format!("image={}", e.image), format!("name={}", e.name)];
            // The labels; a died event's exit code is no attribute of podman's.
            let labels = e.report().attributes;
            attrs.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
            println!(
                "{} {} {} {id} ({})",
                berth_engine::time::go_time(e.time_ns),
                e.kind,
                e.status,
                attrs.join(", ")
            );
            Ok(())
        }
    }
}

/// An event as templates see it (podman's field names).
fn value(e: &Event) -> Value {
    crate::output::value(e.report())
}

/// An event as `--format json` prints it: podman leaves out an empty ID,
/// Image and Name, and has no attributes (null) but a container's.
fn json(e: &Event) -> Value {
    let mut v = value(e);
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, v| !(["ID", "Image", "Name"].contains(&k.as_str()) && v == ""));
        if e.kind != "container" {
            o.insert("Attributes".into(), Value::Null);
        }
    }
    v
}
