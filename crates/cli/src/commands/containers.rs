//! podman's container commands after `create`: start, stop, kill, rm, wait, logs,
//! ps, container inspect, and the hidden `__monitor` the others start.

use berth_engine::container::{self, Info, Status, human_duration, now_ns, rfc3339};
use berth_engine::lifecycle::{self, LogOptions};
use berth_engine::views;
use clap::Args;
use serde_json::{Value, json};

use crate::commands::image::{print_rows, print_value};
use crate::commands::images::{StoreArgs, human_size};
use crate::commands::run::monitor_argv;
use crate::exit::{self, CmdResult, Failure};

fn fail(e: berth_engine::Error) -> Failure {
    crate::exit::engine(e)
}

/// Runs `f` on each name; errors are printed as they come, and the last one's
/// code is the exit code (podman goes on with the other names).
fn each(names: &[String], mut f: impl FnMut(&str) -> Result<(), Failure>) -> CmdResult {
    let mut last = None;
    for n in names {
        if let Err(e) = f(n) {
            eprintln!("Error: {}", e.message);
            last = Some(e.code);
        }
    }
    match last {
        Some(code) => Err(Failure {
            code,
            message: String::new(),
        }),
        None => Ok(()),
    }
}

#[derive(Args)]
pub struct NamesArgs {
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct StartArgs {
    /// Attach to the container's output (and with -i, its input).
    #[arg(short, long)]
    attach: bool,
    /// With --attach: send stdin too.
    #[arg(short, long)]
    interactive: bool,
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    /// Start every container that is not running.
    #[arg(long, conflicts_with = "attach")]
    all: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

pub fn start(store_args: &StoreArgs, a: StartArgs) -> Result<i32, Failure> {
    berth_runtime::selfexe::ensure_protected().map_err(|e| Failure {
        code: 125,
        message: e.0,
    })?;
    let store = store_args.open()?;
    if a.attach {
        let [name] = a.names.as_slice() else {
            return Err(Failure {
                code: 125,
                message: "start --attach takes one container".into(),
            });
        };
        let (info, conn) =
            lifecycle::start_attached(&store, name, &|id| monitor_argv(store_args, id))
                .map_err(fail)?;
        let keys = berth_engine::attach::detach_keys(&a.detach_keys).map_err(exit::podman)?;
        let p = &info.config.process;
        let ended = crate::attach::terminal(conn, a.interactive && p.interactive, p.tty, &keys)
            .map_err(|e| Failure {
                code: 125,
                message: format!("attach to {}: {e}", info.id),
            })?;
        return match ended {
            berth_engine::attach::Ended::Detached => Ok(0),
            berth_engine::attach::Ended::Exited => lifecycle::wait(&store, &info.id).map_err(fail),
        };
    }
    let names = targets(&store, a.all, &a.names, |i| !is_running(i))?;
    each(&names, |n| {
        // podman's start answers 125 for any failure, a missing command included
        // (run's 126/127 are for the command run in the foreground).
        lifecycle::start(&store, n, &|id| monitor_argv(store_args, id)).map_err(|e| Failure {
            code: 125,
            message: e.to_string(),
        })?;
        println!("{n}");
        Ok(())
    })
    .map(|()| 0)
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container (default: its --stop-timeout, else 10).
    #[arg(short = 't', long = "time")]
    time: Option<u64>,
    /// Every running container (with restart: every container).
    #[arg(short, long)]
    all: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

/// The containers a command acts on: those named, or with `--all` every one
/// whose state `keep` accepts (by ID).
fn targets(
    store: &berth_storage::Store,
    all: bool,
    names: &[String],
    keep: impl Fn(&Info) -> bool,
) -> Result<Vec<String>, Failure> {
    if !all {
        return Ok(names.to_vec());
    }
    Ok(container::list(store)
        .map_err(exit::podman)?
        .into_iter()
        .filter(|i| keep(i))
        .map(|i| i.id)
        .collect())
}

fn is_running(i: &Info) -> bool {
    matches!(
        i.state.status,
        container::Status::Running | container::Status::Paused
    )
}

pub fn stop(store_args: &StoreArgs, a: StopArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = targets(&store, a.all, &a.names, is_running)?;
    each(&names, |n| {
        lifecycle::stop(&store, n, a.time).map_err(fail)?;
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send (name or number).
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    signal: String,
    /// Every running container.
    #[arg(short, long)]
    all: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

pub fn kill(store_args: &StoreArgs, a: KillArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = targets(&store, a.all, &a.names, is_running)?;
    each(&names, |n| {
        lifecycle::kill(&store, n, &a.signal).map_err(fail)?;
        println!("{n}");
        Ok(())
    })
}

#[derive(Args)]
pub struct RmArgs {
    /// Remove running containers too (killing them).
    #[arg(short, long)]
    force: bool,
    /// Remove every container.
    #[arg(short, long)]
    all: bool,
    /// Remove the containers' anonymous volumes too.
    #[arg(short, long)]
    volumes: bool,
    /// With -f: seconds between a running container's stop signal and SIGKILL
    /// (default 0: it is killed at once, as docker's rm -f does).
    #[arg(short = 't', long = "time", default_value_t = 0)]
    time: u64,
    /// A container that does not exist is not an error.
    #[arg(short, long)]
    ignore: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

pub fn rm(store_args: &StoreArgs, a: RmArgs) -> CmdResult {
    let store = store_args.open()?;
    let names = targets(&store, a.all, &a.names, |_| true)?;
    // With -a, one that went meanwhile (a --rm container its monitor removed)
    // is as good as removed.
    let ignore = a.ignore || a.all;
    each(&names, |n| {
        if ignore && container::find(&store, n).is_err() {
            return Ok(());
        }
        let info = if a.volumes {
            lifecycle::remove_with_volumes(&store, n, a.force, a.time)
        } else {
            lifecycle::remove_timed(&store, n, a.force, a.time)
        }
        .map_err(|e| match e {
            // podman's rm: 1 for a container that does not exist.
            berth_engine::Error::NoSuchContainer(_) => Failure {
                code: 1,
                message: e.to_string(),
            },
            e => fail(e),
        })?;
        println!("{}", if a.all { &info.id } else { n });
        Ok(())
    })
}

pub fn wait(store_args: &StoreArgs, a: NamesArgs) -> CmdResult {
    let store = store_args.open()?;
    each(&a.names, |n| {
        let code = lifecycle::wait(&store, n).map_err(fail)?;
        println!("{code}");
        Ok(())
    })
}

#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing as the container writes.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines.
    #[arg(long)]
    tail: Option<i64>,
    /// Prefix each line with its time.
    #[arg(short, long)]
    timestamps: bool,
    /// Only lines since a time (RFC 3339) or a duration ago (10m, 1h30m).
    #[arg(long)]
    since: Option<String>,
    /// Only lines until a time or a duration ago.
    #[arg(long)]
    until: Option<String>,
    name: String,
}

/// A `--since`/`--until` value as the log's own timestamp form.
fn log_time(v: &str) -> Result<String, Failure> {
    if let Ok(d) = berth_engine::health::parse_duration(v) {
        let ns = now_ns().saturating_sub(d.as_nanos() as u64);
        return Ok(rfc3339(ns));
    }
    let bad = || Failure {
        code: 125,
        message: format!(
            "invalid time {v:?}: use RFC 3339 (2026-01-02T15:04:05Z) or a duration (10m)"
        ),
    };
    let t = v.strip_suffix('Z').unwrap_or(v);
    if t.len() < 19 || t.as_bytes()[10] != b'T' {
        return Err(bad());
    }
    // Pad to the log's nanosecond width so that text comparison is time order.
    let (secs, frac) = t.split_once('.').unwrap_or((t, ""));
    if secs.len() != 19 || !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 9 {
        return Err(bad());
    }
    Ok(format!("{secs}.{frac:0<9}Z"))
}

pub fn logs(store_args: &StoreArgs, a: LogsArgs) -> CmdResult {
    let store = store_args.open()?;
    let o = LogOptions {
        follow: a.follow,
        tail: a.tail.filter(|n| *n >= 0).map(|n| n as usize),
        timestamps: a.timestamps,
        since: a.since.as_deref().map(log_time).transpose()?,
        until: a.until.as_deref().map(log_time).transpose()?,
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    lifecycle::logs(&store, &a.name, &o, &mut out, &mut err).map_err(fail)
}

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers, not only running ones.
    #[arg(short, long)]
    all: bool,
    /// Print only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate IDs and commands.
    #[arg(long)]
    no_trunc: bool,
    /// Only the N newest containers (implies -a).
    #[arg(short = 'n', long)]
    last: Option<usize>,
    /// json, or a Go template.
    #[arg(long)]
    format: Option<String>,
    /// status=, name=, id=, label=KEY[=VALUE], ancestor=, exited= (repeatable).
    #[arg(short, long)]
    filter: Vec<String>,
    /// created, id, image, names, status.
    #[arg(long, default_value = "created")]
    sort: String,
    /// Show the working containers of builds and `berth builder` too.
    #[arg(long)]
    external: bool,
    /// Show each container's size: what it wrote, and with its image.
    #[arg(short, long)]
    size: bool,
    /// Leave the table's heading out.
    #[arg(long)]
    noheading: bool,
}

fn view_err(e: views::ViewError) -> Failure {
    Failure {
        code: 125,
        message: e.to_string(),
    }
}

pub fn ps(store_args: &StoreArgs, a: PsArgs) -> CmdResult {
    let store = store_args.open()?;
    let list = views::ps(
        &store,
        &views::PsOptions {
            all: a.all,
            last: a.last,
            filters: a.filter.clone(),
            sort: Some(a.sort.clone()),
            external: a.external,
        },
    )
    .map_err(view_err)?;
    if a.quiet {
        for i in &list {
            println!("{}", if a.no_trunc { &i.id } else { &i.id[..12] });
        }
        return Ok(());
    }
    let now = now_ns();
    let entries = views::ps_entries(&store, &list);
    if let Some(f) = &a.format {
        let mut rows: Vec<Value> = entries
            .iter()
            .map(|e| serde_json::to_value(e).expect("a ps entry serialises"))
            .collect();
        if f != "json" {
            // In templates podman's .Names is the names joined, not a list, and
            // .State the status as the table shows it.
            for ((r, i), e) in rows.iter_mut().zip(&list).zip(&entries) {
                r["Names"] = json!(i.names.join(","));
                r["State"] = json!(e.status);
                r["Command"] = json!(i.config.args.join(" "));
                let ago = human_duration(now.saturating_sub(i.config.created_ns));
                r["RunningFor"] = json!(ago);
                r["CreatedHuman"] = json!(format!("{ago} ago"));
                for key in ["Networks", "Mounts"] {
                    r[key] = json!(berth_engine::spec::strings(&r[key]).join(","));
                }
            }
        }
        if a.size {
            for (r, i) in rows.iter_mut().zip(&list) {
                let (rw, image) = views::sizes(&store, i);
                r["Size"] = json!(format!(
                    "{} (virtual {})",
                    human_size(rw),
                    human_size(rw + image)
                ));
                r["SizeRw"] = json!(rw);
                r["SizeRootFs"] = json!(rw + image);
            }
        }
        return print_rows(&rows, f);
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
    let mut rows = vec![head.into_iter().map(String::from).collect::<Vec<_>>()];
    for (i, e) in list.iter().zip(&entries) {
        let cmd = i.config.args.join(" ");
        let cmd = if a.no_trunc || cmd.chars().count() <= 20 {
            cmd
        } else {
            format!("{}...", cmd.chars().take(17).collect::<String>())
        };
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
            e.status.clone(),
            e.ports.clone(),
            i.name().to_string(),
        ]);
        if a.size {
            let (rw, image) = views::sizes(&store, i);
            rows.last_mut().expect("row").push(format!(
                "{} (virtual {})",
                human_size(rw),
                human_size(rw + image)
            ));
        }
    }
    crate::table::print(&rows, !a.noheading);
    Ok(())
}

#[derive(Args)]
pub struct InspectArgs {
    /// A Go template.
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

pub fn inspect(store_args: &StoreArgs, a: InspectArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut values = Vec::new();
    let mut missing = None;
    for n in &a.names {
        match container::find(&store, n) {
            Ok(i) => values.push(
                serde_json::to_value(views::ContainerInspect::of(&store, &i))
                    .expect("an inspect document serialises"),
            ),
            // podman inspect also takes images.
            Err(_) if store.image(n).is_ok() => {
                return crate::commands::images::inspect_local(
                    store_args,
                    std::slice::from_ref(n),
                    a.format.as_deref(),
                );
            }
            Err(m) => {
                eprintln!("Error: {m}");
                missing = Some(125);
            }
        }
    }
    match &a.format {
        Some(f) => {
            for v in &values {
                print_value(v, Some(f))?;
            }
        }
        None => print_value(&Value::Array(values), None)?,
    }
    match missing {
        Some(code) => Err(Failure {
            code,
            message: String::new(),
        }),
        None => Ok(()),
    }
}

#[derive(Args)]
pub struct ExecArgs {
    /// Run in the background.
    #[arg(short, long)]
    detach: bool,
    /// Set an environment variable (KEY=VALUE).
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// Working directory.
    #[arg(short, long)]
    workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    user: Option<String>,
    /// Keep stdin open (stdin is passed through as it is).
    #[arg(short, long)]
    interactive: bool,
    /// Give the process a terminal.
    #[arg(short, long)]
    tty: bool,
    /// Every capability for this process.
    #[arg(long)]
    privileged: bool,
    name: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Returns the process's exit code.
pub fn exec(store_args: &StoreArgs, a: ExecArgs) -> Result<i32, Failure> {
    berth_runtime::selfexe::ensure_protected().map_err(|e| Failure {
        code: 125,
        message: e.0,
    })?;
    let store = store_args.open()?;
    let r = lifecycle::ExecRequest {
        args: a.command,
        env: a.env,
        workdir: a.workdir,
        user: a.user,
        detach: a.detach,
        tty: a.tty,
        interactive: a.interactive,
        privileged: a.privileged,
    };
    lifecycle::exec(&store, &a.name, &r).map_err(fail)
}

#[derive(Args)]
pub struct CommitArgs {
    /// Apply a Containerfile instruction to the image's config (CMD, ENV, LABEL …).
    #[arg(short, long)]
    change: Vec<String>,
    /// Commit message, kept in the image's history.
    #[arg(short, long)]
    message: Option<String>,
    /// Author.
    #[arg(short, long)]
    author: Option<String>,
    /// Pause the container while committing (default false, as podman's).
    #[arg(short, long, num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pause: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    quiet: bool,
    /// The image format: oci (default) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker"])]
    format: String,
    /// One layer for the whole filesystem.
    #[arg(long)]
    squash: bool,
    container: String,
    /// The new image's name.
    image: Option<String>,
}

pub fn commit(store_args: &StoreArgs, a: CommitArgs) -> CmdResult {
    let store = store_args.open()?;
    let changes = a.change.clone();
    let edit = move |cfg: &mut Value| -> Result<(), berth_engine::commit::EditError> {
        for c in &changes {
            berth_engine::images::apply_change(cfg, c).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let o = berth_engine::commit::CommitOptions {
        reference: a.image.clone(),
        message: a.message,
        author: a.author,
        pause: a.pause,
        edit: &edit,
        created_by: None,
        annotations: Vec::new(),
        docker: a.format == "docker",
        squash: a.squash,
    };
    if !a.quiet {
        eprintln!("Getting image source signatures");
    }
    let id = berth_engine::commit::commit(&store, &a.container, &o).map_err(fail)?;
    if !a.quiet {
        eprintln!("Writing manifest to image destination");
    }
    println!("{id}");
    Ok(())
}

#[derive(Args)]
pub struct PauseArgs {
    /// Every running (to pause) or paused (to unpause) container.
    #[arg(short, long)]
    all: bool,
    #[arg(required_unless_present = "all")]
    names: Vec<String>,
}

pub fn pause(store_args: &StoreArgs, a: PauseArgs, pause: bool) -> CmdResult {
    let store = store_args.open()?;
    let want = if pause {
        container::Status::Running
    } else {
        container::Status::Paused
    };
    let names = targets(&store, a.all, &a.names, |i| i.state.status == want)?;
    each(&names, |n| {
        let i = lifecycle::set_paused(&store, n, pause).map_err(fail)?;
        println!("{}", i.id);
        Ok(())
    })
}

#[derive(Args)]
pub struct TopArgs {
    name: String,
    /// ps(1) options (AIX descriptors are not supported).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

pub fn top(store_args: &StoreArgs, a: TopArgs) -> CmdResult {
    let store = store_args.open()?;
    let t = lifecycle::top(&store, &a.name, &a.ps_args).map_err(fail)?;
    print!("{t}");
    Ok(())
}

pub fn restart(store_args: &StoreArgs, a: StopArgs) -> CmdResult {
    berth_runtime::selfexe::ensure_protected().map_err(|e| Failure {
        code: 125,
        message: e.0,
    })?;
    let store = store_args.open()?;
    let names = targets(&store, a.all, &a.names, |_| true)?;
    each(&names, |n| {
        let i = lifecycle::restart(&store, n, a.time, &|id| monitor_argv(store_args, id))
            .map_err(fail)?;
        println!("{}", i.id);
        Ok(())
    })
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (berth never asks).
    #[arg(short, long)]
    force: bool,
}

pub fn prune(store_args: &StoreArgs, _a: PruneArgs) -> CmdResult {
    let store = store_args.open()?;
    // The builder's prune: it keeps the working containers of running builds
    // and takes the leftovers of killed ones.
    let gone = berth_builder::builder::prune(&store).map_err(crate::exit::build)?;
    for id in gone {
        println!("{id}");
    }
    Ok(())
}

#[derive(Args)]
pub struct ExistsArgs {
    name: String,
}

/// Exit 0 when the container exists, 1 when not (podman's `container exists`).
pub fn exists(store_args: &StoreArgs, a: ExistsArgs) -> CmdResult {
    let store = store_args.open()?;
    match container::find(&store, &a.name) {
        Ok(_) => Ok(()),
        Err(_) => Err(Failure {
            code: 1,
            message: String::new(),
        }),
    }
}

/// `mount`: prints where the container's root filesystem is mounted.
pub fn mount(store_args: &StoreArgs, a: NamesArgs) -> CmdResult {
    let store = store_args.open()?;
    each(&a.names, |n| {
        let i = container::find(&store, n).map_err(exit::podman)?;
        let p = store.mount(&i.id).map_err(|e| Failure {
            code: 125,
            message: e.to_string(),
        })?;
        println!("{}", p.display());
        Ok(())
    })
}

pub fn umount(store_args: &StoreArgs, a: NamesArgs) -> CmdResult {
    let store = store_args.open()?;
    each(&a.names, |n| {
        let i = container::find(&store, n).map_err(exit::podman)?;
        store.unmount(&i.id, false).map_err(|e| Failure {
            code: 125,
            message: e.to_string(),
        })?;
        println!("{}", i.id);
        Ok(())
    })
}

#[derive(Args)]
pub struct HealthcheckArgs {
    #[command(subcommand)]
    command: HealthcheckCommand,
}

#[derive(clap::Subcommand)]
enum HealthcheckCommand {
    /// Run a container's healthcheck now: exit 0 healthy, 1 unhealthy.
    Run(ExistsArgs),
}

pub fn healthcheck(store_args: &StoreArgs, a: HealthcheckArgs) -> CmdResult {
    let HealthcheckCommand::Run(n) = a.command;
    let store = store_args.open()?;
    let i = container::find(&store, &n.name).map_err(exit::podman)?;
    let Some(h) = &i.config.health else {
        return Err(Failure {
            code: 125,
            message: format!("container {} has no defined healthcheck", i.id),
        });
    };
    if i.state.status != Status::Running {
        return Err(Failure {
            code: 125,
            message: format!("container {} is not running", i.id),
        });
    }
    let mut argv = monitor_argv(store_args, &i.id);
    argv.truncate(argv.len() - 2);
    argv.extend(["exec".into(), i.id.clone().into()]);
    if berth_engine::health::check(&store, &i.id, h, &argv, false) {
        println!("healthy");
        Ok(())
    } else {
        println!("unhealthy");
        Err(Failure {
            code: 1,
            message: String::new(),
        })
    }
}

#[derive(Args)]
pub struct CpArgs {
    /// [CONTAINER:]PATH, or `-` for a tar archive on stdin
    source: String,
    /// [CONTAINER:]PATH, or `-` for a tar archive on stdout
    destination: String,
}

/// `NAME:PATH` when NAME is a container; else a host path.
fn split_container<'a>(store: &berth_storage::Store, s: &'a str) -> Option<(&'a str, &'a str)> {
    let (name, path) = s.split_once(':')?;
    container::find(store, name).ok().map(|_| (name, path))
}

pub fn cp(store_args: &StoreArgs, a: CpArgs) -> CmdResult {
    let store = store_args.open()?;
    let src = split_container(&store, &a.source);
    let dst = split_container(&store, &a.destination);
    let r = match (src, dst) {
        // `-` is a tar on stdout or stdin, as podman has it.
        (Some((c, p)), None) if a.destination == "-" => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            berth_engine::copy::copy_out_stream(&store, c, p, &mut out).and_then(|()| {
                std::io::Write::flush(&mut out)
                    .map_err(|e| berth_engine::Error::Other(e.to_string()))
            })
        }
        (None, Some((c, p))) if a.source == "-" => {
            berth_engine::copy::copy_in_stream(&store, std::io::stdin(), c, p)
        }
        (Some((c, p)), None) => {
            berth_engine::copy::copy_out(&store, c, p, std::path::Path::new(&a.destination))
        }
        (None, Some((c, p))) => {
            berth_engine::copy::copy_in(&store, std::path::Path::new(&a.source), c, p)
        }
        (Some(_), Some(_)) => {
            return Err(Failure {
                code: 125,
                message: "copying between containers is not supported".into(),
            });
        }
        (None, None) => {
            return Err(Failure {
                code: 125,
                message: "one of the paths must name a container (CONTAINER:PATH)".into(),
            });
        }
    };
    r.map_err(fail)
}

#[derive(Args)]
pub struct ExportArgs {
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
    name: String,
}

pub fn export(store_args: &StoreArgs, a: ExportArgs) -> CmdResult {
    let store = store_args.open()?;
    let io = |e: std::io::Error| Failure {
        code: 125,
        message: e.to_string(),
    };
    match &a.output {
        Some(p) => {
            let tmp = p.with_extension("berth-tmp");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
            let r = berth_engine::copy::export(&store, &a.name, &mut f).map_err(fail);
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
                return r;
            }
            std::io::Write::flush(&mut f).map_err(io)?;
            std::fs::rename(&tmp, p).map_err(io)
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(Failure {
                    code: 125,
                    message: "refusing to write an archive to a terminal: use -o FILE or redirect"
                        .into(),
                });
            }
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
            berth_engine::copy::export(&store, &a.name, &mut out).map_err(fail)?;
            std::io::Write::flush(&mut out).map_err(io)
        }
    }
}

#[derive(Args)]
pub struct PortArgs {
    name: String,
}

/// `port`: the container's published ports, `80/tcp -> 127.0.0.1:8080`.
pub fn port(store_args: &StoreArgs, a: PortArgs) -> CmdResult {
    let store = store_args.open()?;
    let i = container::find(&store, &a.name).map_err(exit::podman)?;
    if let Some(att) = berth_engine::network::attachment(&store, &i.id) {
        for p in &att.ports {
            println!(
                "{}/{} -> {}:{}",
                p.container_port, p.protocol, p.host_ip, p.host_port
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct RenameArgs {
    container: String,
    name: String,
}

pub fn rename(store_args: &StoreArgs, a: RenameArgs) -> CmdResult {
    let store = store_args.open()?;
    let i = container::find(&store, &a.container).map_err(exit::podman)?;
    store.rename_container(&i.id, &a.name).map_err(|e| Failure {
        code: 125,
        message: e.to_string(),
    })
}

#[derive(Args)]
pub struct AttachArgs {
    /// Keys that detach (default ctrl-p,ctrl-q).
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    /// Do not send stdin to the container.
    #[arg(long)]
    no_stdin: bool,
    name: String,
}

/// Attaches to a running container: its exit code when it ends, 0 on detach.
pub fn attach(store_args: &StoreArgs, a: AttachArgs) -> Result<i32, Failure> {
    let store = store_args.open()?;
    attach_to(&store, &a.name, &a.detach_keys, a.no_stdin)
}

fn attach_to(
    store: &berth_storage::Store,
    name: &str,
    keys: &str,
    no_stdin: bool,
) -> Result<i32, Failure> {
    let bad = |m: String| Failure {
        code: 125,
        message: m,
    };
    let i = container::find(store, name).map_err(exit::podman)?;
    if i.state.status != Status::Running {
        return Err(bad(format!(
            "you can only attach to running containers: {} is {}",
            i.id,
            i.state.status.as_str()
        )));
    }
    let keys = berth_engine::attach::detach_keys(keys).map_err(exit::podman)?;
    let path = berth_engine::attach::socket_path(store, &i.id);
    let p = &i.config.process;
    let ended = berth_engine::attach::connect(&path)
        .and_then(|c| crate::attach::terminal(c, p.interactive && !no_stdin, p.tty, &keys))
        .map_err(|e| bad(format!("attach to {}: {e}", i.id)))?;
    match ended {
        berth_engine::attach::Ended::Detached => Ok(0),
        berth_engine::attach::Ended::Exited => lifecycle::wait(store, &i.id).map_err(fail),
    }
}

#[derive(Args)]
pub struct DiffArgs {
    /// json, or the default A/C/D lines.
    #[arg(long)]
    format: Option<String>,
    name: String,
}

pub fn diff(store_args: &StoreArgs, a: DiffArgs) -> CmdResult {
    let store = store_args.open()?;
    let changes = berth_engine::changes::changes(&store, &a.name).map_err(fail)?;
    if a.format.as_deref() == Some("json") {
        let pick = |k: char| -> Vec<&String> {
            changes
                .iter()
                .filter(|(c, _)| *c == k)
                .map(|(_, p)| p)
                .collect()
        };
        let v = json!({"changed": pick('C'), "added": pick('A'), "deleted": pick('D')});
        return print_value(&v, None);
    }
    for (k, p) in changes {
        println!("{k} {p}");
    }
    Ok(())
}

#[derive(Args)]
pub struct StatsArgs {
    /// Print once and exit (otherwise a new table every --interval seconds
    /// while the containers run).
    #[arg(long)]
    no_stream: bool,
    /// Seconds between two tables when streaming.
    #[arg(short, long, default_value_t = 1)]
    interval: u64,
    /// Every container, not only running ones.
    #[arg(short, long)]
    all: bool,
    /// json, or a Go template (podman's fields: .ID .Name .CPUPerc .MemUsage
    /// .MemPerc .NetIO .BlockIO .PIDs).
    #[arg(long)]
    format: Option<String>,
    names: Vec<String>,
}

fn bytes(n: u64) -> String {
    crate::progress::human(n)
}

/// One container's figures under podman's template names, and the raw ones.
fn stats_value(s: &berth_engine::stats::Stats) -> Value {
    let mem_pct = if s.mem_limit > 0 {
        s.mem_usage as f64 * 100.0 / s.mem_limit as f64
    } else {
        0.0
    };
    let mut v = serde_json::to_value(s).expect("json");
    v["ID"] = json!(s.id[..12.min(s.id.len())]);
    v["Name"] = json!(s.name);
    v["CPUPerc"] = json!(format!("{:.2}%", s.cpu_percent));
    v["MemUsage"] = json!(format!("{} / {}", bytes(s.mem_usage), bytes(s.mem_limit)));
    v["MemPerc"] = json!(format!("{mem_pct:.2}%"));
    v["NetIO"] = json!(format!("{} / {}", bytes(s.net_input), bytes(s.net_output)));
    v["BlockIO"] = json!("-- / --");
    v["PIDs"] = json!(s.pids.to_string());
    v
}

/// The containers `stats` looks at, as they are now.
fn stats_targets(store: &berth_storage::Store, a: &StatsArgs) -> Result<Vec<Info>, Failure> {
    if a.names.is_empty() {
        return Ok(container::list(store)
            .map_err(exit::podman)?
            .into_iter()
            .filter(|i| a.all || i.state.status == Status::Running)
            .collect());
    }
    a.names
        .iter()
        .map(|n| container::find(store, n).map_err(exit::podman))
        .collect()
}

fn print_stats(stats: &[berth_engine::stats::Stats], format: Option<&str>) -> CmdResult {
    let values: Vec<Value> = stats.iter().map(stats_value).collect();
    if let Some(f) = format {
        return print_rows(&values, f);
    }
    let mut rows = vec![
        [
            "ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET IO",
            "BLOCK IO",
            "PIDS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for v in &values {
        rows.push(
            [
                "ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs",
            ]
            .iter()
            .map(|k| v[*k].as_str().unwrap_or_default().to_string())
            .collect(),
        );
    }
    print!("{}", crate::table::render(&rows));
    Ok(())
}

pub fn stats(store_args: &StoreArgs, a: StatsArgs) -> CmdResult {
    let store = store_args.open()?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        let stats: Vec<berth_engine::stats::Stats> = stats_targets(&store, &a)?
            .iter()
            .filter(|i| i.state.status == Status::Running)
            .map(berth_engine::stats::read)
            .collect();
        // Streaming ends when nothing it watches runs any more.
        if !a.no_stream && stats.is_empty() {
            return Ok(());
        }
        if !a.no_stream && tty {
            print!("\x1b[2J\x1b[H");
        }
        print_stats(&stats, a.format.as_deref())?;
        if a.no_stream {
            return Ok(());
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        std::thread::sleep(std::time::Duration::from_secs(a.interval.max(1)));
    }
}

#[derive(Args)]
pub struct MonitorArgs {
    id: String,
    /// Wait for one attach client before starting the container.
    #[arg(long)]
    attach: bool,
}

/// `__monitor ID`: the process that holds a detached container (see
/// berth_engine::monitor).
pub fn monitor(store_args: &StoreArgs, a: MonitorArgs) -> Result<i32, Failure> {
    berth_runtime::selfexe::ensure_protected().map_err(|e| Failure {
        code: 125,
        message: e.0,
    })?;
    let store = store_args.open()?;
    Ok(berth_engine::monitor::main(&store, &a.id, a.attach))
}
