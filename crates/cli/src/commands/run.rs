//! `berth run` and `berth create`: a container from a local image (podman's flags).
//! In the foreground the container runs inside this process's runtime; with `-d`
//! a monitor process takes it over.

use std::ffi::OsString;

use crate::commands::images::StoreArgs;
use crate::exit::Failure;
use berth_engine::RunOptions;
use berth_engine::spec::ProcessOptions;
use clap::Args;

/// The options `run` and `create` share.
#[derive(Args)]
pub struct ContainerArgs {
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Name the container.
    #[arg(long)]
    name: Option<String>,
    /// Set an environment variable (KEY=VALUE).
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    user: Option<String>,
    /// Replace the image's entrypoint (a command, or a JSON array).
    #[arg(long)]
    entrypoint: Option<String>,
    /// bridge (berth's default network), a network's name, none (loopback
    /// only), host, container:ID or ns:PATH; default containers.conf's netns,
    /// else bridge (none when not root).
    /// Repeated: the container joins each bridge network named.
    #[arg(long = "network", alias = "net")]
    network: Vec<String>,
    /// Another name the container answers to on its networks.
    #[arg(long)]
    network_alias: Vec<String>,
    /// The container's hostname (-h, as podman's: help is --help only).
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    read_only: bool,
    #[arg(long)]
    cap_add: Vec<String>,
    #[arg(long)]
    cap_drop: Vec<String>,
    /// Bind mount or named volume: SOURCE:DEST[:ro].
    #[arg(short, long = "volume")]
    volume: Vec<String>,
    /// Mount a tmpfs: DEST[:OPTIONS].
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Add a line to /etc/hosts: HOST:IP.
    #[arg(long)]
    add_host: Vec<String>,
    /// Nameserver for /etc/resolv.conf.
    #[arg(long)]
    dns: Vec<String>,
    /// Give the process a terminal.
    #[arg(short, long)]
    tty: bool,
    /// Pass stdin to the process.
    #[arg(short, long)]
    interactive: bool,
    /// Restart policy: no, on-failure[:N], always, unless-stopped.
    #[arg(long)]
    restart: Option<String>,
    /// Healthcheck command (a shell command, or a JSON array).
    #[arg(long)]
    health_cmd: Option<String>,
    /// Time between healthchecks (e.g. 30s), or "disable".
    #[arg(long)]
    health_interval: Option<String>,
    /// Consecutive failures before the container is unhealthy.
    #[arg(long)]
    health_retries: Option<u32>,
    /// Time a healthcheck may take.
    #[arg(long)]
    health_timeout: Option<String>,
    /// Time after start during which failures do not count.
    #[arg(long)]
    health_start_period: Option<String>,
    /// Ignore the image's HEALTHCHECK.
    #[arg(long)]
    no_healthcheck: bool,
    /// Every capability, no seccomp filter, no masked paths, all devices allowed.
    #[arg(long)]
    privileged: bool,
    /// no-new-privileges, seccomp=unconfined|PROFILE.json, label=…
    #[arg(long)]
    security_opt: Vec<String>,
    /// Memory limit (e.g. 512m).
    #[arg(short, long)]
    memory: Option<String>,
    /// CPUs (e.g. 1.5).
    #[arg(long)]
    cpus: Option<f64>,
    /// Most processes the container may have.
    #[arg(long)]
    pids_limit: Option<i64>,
    /// NAME=SOFT[:HARD], e.g. nofile=1024:2048.
    #[arg(long)]
    ulimit: Vec<String>,
    /// Set a label (KEY=VALUE).
    #[arg(short, long)]
    label: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines).
    #[arg(long)]
    env_file: Vec<std::path::PathBuf>,
    /// Signal that stops the container (default SIGTERM).
    #[arg(long)]
    stop_signal: Option<String>,
    /// Seconds to wait after the stop signal before killing.
    #[arg(long)]
    stop_timeout: Option<u64>,
    /// Mount: type=bind|volume|tmpfs,source=…,target=…[,readonly].
    #[arg(long)]
    mount: Vec<String>,
    /// Remove a container of the same name first.
    #[arg(long)]
    replace: bool,
    /// Run a small init as PID 1 that passes signals on and reaps orphans.
    #[arg(long)]
    init: bool,
    /// Where output goes: k8s-file (the container log, the default), journald
    /// (the host's journal) or none; default containers.conf's log_driver.
    #[arg(long)]
    log_driver: Option<String>,
    /// Give the container a host device: HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    device: Vec<String>,
    /// Pull the image: missing (default), always, never, newer.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never", "newer"])]
    pull: String,
    /// PID namespace: private (default) or host.
    #[arg(long, value_parser = ["private", "host"])]
    pid: Option<String>,
    /// IPC namespace: private (default) or host (with the host's /dev/shm).
    #[arg(long, value_parser = ["private", "host"])]
    ipc: Option<String>,
    /// UTS namespace: private (default) or host (the host's hostname).
    #[arg(long, value_parser = ["private", "host"])]
    uts: Option<String>,
    /// Size of /dev/shm (default 64m).
    #[arg(long)]
    shm_size: Option<String>,
    /// Another group for the process, by name or number.
    #[arg(long)]
    group_add: Vec<String>,
    /// A DNS search domain for /etc/resolv.conf.
    #[arg(long)]
    dns_search: Vec<String>,
    /// CPU weight (cgroup cpu.shares).
    #[arg(short = 'c', long)]
    cpu_shares: Option<u64>,
    /// CPUs the container may use (0-3, 0,1).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// An annotation KEY=VALUE in the container's OCI spec.
    #[arg(long)]
    annotation: Vec<String>,
    /// A port to expose (for -P) besides the image's.
    #[arg(long)]
    expose: Vec<String>,
    /// Write the container's ID to this file.
    #[arg(long)]
    cidfile: Option<std::path::PathBuf>,
    /// No pull progress.
    #[arg(short, long)]
    quiet: bool,
    /// Publish a port: [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (needs a bridge network).
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Publish every port the image exposes on a free host port.
    #[arg(short = 'P', long)]
    publish_all: bool,
    image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run in the background and print the container's ID.
    #[arg(short, long)]
    detach: bool,
    /// Keys that detach from a container run under its monitor (with
    /// --restart or a healthcheck) and leave it running.
    #[arg(long, default_value = "ctrl-p,ctrl-q")]
    detach_keys: String,
    #[command(flatten)]
    c: ContainerArgs,
}

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    #[command(flatten)]
    c: ContainerArgs,
}

/// `--env-file`: KEY=VALUE lines; `#` comments and blank lines skipped; a bare
/// KEY takes this process's value.
fn env_files(files: &[std::path::PathBuf]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| Failure {
            code: 125,
            message: format!("--env-file {}: {e}", f.display()),
        })?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.contains('=') {
                out.push(line.to_string());
            } else if let Ok(v) = std::env::var(line) {
                out.push(format!("{line}={v}"));
            }
        }
    }
    Ok(out)
}

/// `--mount type=…,source=…,target=…` as the `-v`/`--tmpfs` it stands for.
fn mount_flag(m: &str, volumes: &mut Vec<String>, tmpfs: &mut Vec<String>) -> Result<(), Failure> {
    let bad = |why: &str| Failure {
        code: 125,
        message: format!("--mount {m}: {why}"),
    };
    let (mut kind, mut src, mut dst, mut ro, mut size) = ("volume", None, None, false, None);
    for part in m.split(',') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k {
            "type" => kind = v,
            "source" | "src" => src = Some(v),
            "target" | "dst" | "destination" => dst = Some(v),
            "readonly" | "ro" => ro = v.is_empty() || v == "true",
            "tmpfs-size" => size = Some(v),
            _ => return Err(bad(&format!("unknown option {k:?}"))),
        }
    }
    let dst = dst.ok_or_else(|| bad("a target is required"))?;
    match kind {
        "bind" | "volume" => {
            let src = src.ok_or_else(|| bad("a source is required"))?;
            volumes.push(format!("{src}:{dst}{}", if ro { ":ro" } else { "" }));
        }
        "tmpfs" => tmpfs.push(match size {
            Some(s) => format!("{dst}:size={s}"),
            None => dst.to_string(),
        }),
        other => return Err(bad(&format!("unsupported type {other:?}"))),
    }
    Ok(())
}

fn options(a: ContainerArgs, runtime: Option<String>) -> Result<RunOptions, Failure> {
    let mut env = env_files(&a.env_file)?;
    // `-e NAME` alone passes this process's NAME on, when it has one.
    env.extend(a.env.into_iter().filter_map(|e| {
        if e.contains('=') {
            Some(e)
        } else {
            std::env::var(&e).ok().map(|v| format!("{e}={v}"))
        }
    }));
    // A relative source (./dir, ../dir) is the directory it names from here.
    let volumes: Vec<String> = a
        .volume
        .into_iter()
        .map(|v| match v.split_once(':') {
            Some((src, rest)) if src == "." || src.starts_with("./") || src.starts_with("../") => {
                let abs = std::env::current_dir()
                    .map(|d| d.join(src))
                    .and_then(|p| p.canonicalize())
                    .map_err(|e| Failure {
                        code: 125,
                        message: format!("-v {v}: {src}: {e}"),
                    })?;
                Ok(format!("{}:{rest}", abs.display()))
            }
            _ => Ok(v),
        })
        .collect::<Result<_, Failure>>()?;
    let (mut volumes, mut tmpfs) = (volumes, a.tmpfs);
    for m in &a.mount {
        mount_flag(m, &mut volumes, &mut tmpfs)?;
    }
    let entrypoint = a.entrypoint.map(|e| {
        serde_json::from_str::<Vec<String>>(&e)
            .unwrap_or_else(|_| if e.is_empty() { Vec::new() } else { vec![e] })
    });
    // Empty: the engine's default (containers.conf's netns, else bridge).
    let mut nets = a
        .network
        .into_iter()
        .flat_map(|n| n.split(',').map(String::from).collect::<Vec<_>>());
    let network = nets.next().unwrap_or_default();
    let networks: Vec<String> = nets.collect();
    let health = berth_engine::health::HealthFlags {
        disabled: a.no_healthcheck || a.health_interval.as_deref() == Some("disable"),
        interval: a.health_interval.filter(|i| i != "disable"),
        timeout: a.health_timeout,
        start_period: a.health_start_period,
        retries: a.health_retries,
    };
    Ok(RunOptions {
        image: a.image,
        name: a.name,
        rm: a.rm,
        process: ProcessOptions {
            command: a.command,
            entrypoint,
            env,
            workdir: a.workdir,
            user: a.user,
            hostname: a.hostname,
            network,
            read_only: a.read_only,
            cap_add: a.cap_add,
            cap_drop: a.cap_drop,
            volumes,
            tmpfs,
            add_hosts: a.add_host,
            dns: a.dns,
            tty: a.tty,
            interactive: a.interactive,
            restart: a.restart,
            health_cmd: a.health_cmd,
            health,
            privileged: a.privileged,
            security_opt: a.security_opt,
            memory: a.memory,
            cpus: a.cpus,
            pids_limit: a.pids_limit,
            ulimits: a.ulimit,
            labels: a.label,
            stop_signal: a.stop_signal,
            stop_timeout: a.stop_timeout,
            ports: a.publish,
            init: a.init,
            runtime,
            devices: a.device,
            log_driver: a.log_driver,
            publish_all: a.publish_all,
            anonymous_volumes: Vec::new(),
            pid: a.pid.filter(|m| m == "host"),
            ipc: a.ipc.filter(|m| m == "host"),
            uts: a.uts.filter(|m| m == "host"),
            shm_size: a.shm_size,
            group_add: a.group_add,
            dns_search: a.dns_search,
            cpu_shares: a.cpu_shares,
            cpuset_cpus: a.cpuset_cpus,
            annotations: a.annotation,
            expose: a.expose,
            networks,
            network_aliases: a.network_alias,
        },
    })
}

fn failure(e: berth_engine::RunError) -> Failure {
    Failure {
        code: e.exit_code(),
        message: e.to_string(),
    }
}

/// `--pull`: fetch the image first when the policy says so (podman's default:
/// only when it is missing).
/// `--cidfile`: the new container's ID, in a file that must not exist yet.
fn write_cidfile(path: Option<&std::path::Path>, id: &str) -> Result<(), String> {
    let Some(p) = path else {
        return Ok(());
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p)
        .and_then(|mut f| std::io::Write::write_all(&mut f, id.as_bytes()))
        .map_err(|e| format!("--cidfile {}: {e}", p.display()))
}

/// Refuses a --cidfile that exists before anything is made.
fn check_cidfile(path: Option<&std::path::Path>) -> Result<(), Failure> {
    match path {
        Some(p) if p.exists() => Err(Failure {
            code: 125,
            message: format!("--cidfile {}: the file exists already", p.display()),
        }),
        _ => Ok(()),
    }
}

fn pull_if_needed(
    store_args: &StoreArgs,
    store: &berth_storage::Store,
    a: &ContainerArgs,
) -> Result<(), Failure> {
    let (image, policy) = (a.image.as_str(), a.pull.as_str());
    let present = store.image(image).is_ok();
    match policy {
        "never" => Ok(()),
        "missing" if present => Ok(()),
        _ if a.quiet => crate::commands::images::pull_quietly(store_args, image, policy),
        _ => crate::commands::images::pull_for_run(store_args, image, policy),
    }
}

/// `--replace`: a container already named so goes first.
fn replace_existing(
    store: &berth_storage::Store,
    o: &RunOptions,
    replace: bool,
) -> Result<(), Failure> {
    if let (true, Some(n)) = (replace, &o.name)
        && berth_engine::container::find(store, n).is_ok()
    {
        berth_engine::lifecycle::remove(store, n, true).map_err(crate::exit::engine)?;
    }
    Ok(())
}

/// The command line of a container's monitor: this binary, the store flags,
/// `__monitor ID`.
pub fn monitor_argv(store: &StoreArgs, id: &str) -> Vec<OsString> {
    let exe = std::env::current_exe().unwrap_or_else(|_| "berth".into());
    let mut v: Vec<OsString> = vec![exe.into()];
    if let Some(r) = &store.root {
        v.extend(["--root".into(), r.clone().into()]);
    }
    if let Some(r) = &store.runroot {
        v.extend(["--runroot".into(), r.clone().into()]);
    }
    if let Some(d) = &store.storage_driver {
        v.extend(["--storage-driver".into(), d.into()]);
    }
    for o in &store.storage_opt {
        v.extend(["--storage-opt".into(), o.into()]);
    }
    v.extend(["__monitor".into(), id.into()]);
    v
}

/// Returns the container's exit code (foreground), or 0 after printing its ID
/// (`-d`); failures carry podman's 125/126/127.
pub fn run(store_args: &StoreArgs, a: RunArgs) -> Result<i32, Failure> {
    // This process (or the monitor it starts, which is this binary too) becomes
    // the container's runtime; protect the binary as berth-oci does
    // (CVE-2019-5736) before anything is forked.
    berth_runtime::selfexe::ensure_protected().map_err(|e| Failure {
        code: 125,
        message: e.0,
    })?;
    let store = store_args.open()?;
    let replace = a.c.replace;
    let cidfile = a.c.cidfile.clone();
    check_cidfile(cidfile.as_deref())?;
    pull_if_needed(store_args, &store, &a.c)?;
    let o = options(a.c, store_args.runtime.clone())?;
    replace_existing(&store, &o, replace)?;
    let cid = |id: &str| write_cidfile(cidfile.as_deref(), id);
    // Restart policies and healthchecks are the monitor's work: a container
    // that has them runs under it even in the foreground, attached, as
    // `start -a` does.
    let image_health = || {
        berth_engine::run::image_config(&store, &o.image).is_ok_and(|c| {
            c["Healthcheck"]["Test"]
                .as_array()
                .is_some_and(|t| t.first().and_then(|v| v.as_str()) != Some("NONE"))
        })
    };
    let monitored = !matches!(o.process.restart.as_deref(), None | Some("" | "no"))
        || (!o.process.health.disabled && (o.process.health_cmd.is_some() || image_health()));
    if !a.detach && !monitored {
        return berth_engine::run::run_with(&store, &o, |c| {
            cid(&c.id).map_err(berth_engine::RunError::Engine)
        })
        .map_err(failure);
    }
    if !a.detach {
        let keys =
            berth_engine::attach::detach_keys(&a.detach_keys).map_err(crate::exit::podman)?;
        let c = berth_engine::run::create(&store, &o).map_err(failure)?;
        cid(&c.id).map_err(|m| Failure {
            code: 125,
            message: m,
        })?;
        let (info, conn) = berth_engine::lifecycle::start_attached(&store, &c.id, &|id| {
            monitor_argv(store_args, id)
        })
        .map_err(crate::exit::engine)?;
        let p = &info.config.process;
        let ended =
            crate::attach::terminal(conn, p.interactive, p.tty, &keys).map_err(|e| Failure {
                code: 125,
                message: format!("attach to {}: {e}", info.id),
            })?;
        return match ended {
            berth_engine::attach::Ended::Detached => Ok(0),
            berth_engine::attach::Ended::Exited => {
                berth_engine::lifecycle::wait(&store, &info.id).map_err(crate::exit::engine)
            }
        };
    }
    let c = berth_engine::run::create(&store, &o).map_err(failure)?;
    if let Err(m) = cid(&c.id) {
        berth_engine::run::remove(&store, &c.id);
        return Err(Failure {
            code: 125,
            message: m,
        });
    }
    let started = berth_engine::lifecycle::start(&store, &c.id, &|id| monitor_argv(store_args, id));
    if let Err(e) = started {
        if o.rm {
            berth_engine::run::remove(&store, &c.id);
        }
        return Err(crate::exit::engine(e));
    }
    println!("{}", c.id);
    Ok(0)
}

pub fn create(store_args: &StoreArgs, a: CreateArgs) -> Result<i32, Failure> {
    let store = store_args.open()?;
    let replace = a.c.replace;
    let cidfile = a.c.cidfile.clone();
    check_cidfile(cidfile.as_deref())?;
    pull_if_needed(store_args, &store, &a.c)?;
    let o = options(a.c, store_args.runtime.clone())?;
    replace_existing(&store, &o, replace)?;
    let c = berth_engine::run::create(&store, &o).map_err(failure)?;
    if let Err(m) = write_cidfile(cidfile.as_deref(), &c.id) {
        berth_engine::run::remove(&store, &c.id);
        return Err(Failure {
            code: 125,
            message: m,
        });
    }
    println!("{}", c.id);
    Ok(0)
}
