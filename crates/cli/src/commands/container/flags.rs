//! `run`'s and `create`'s flags, turned into the engine's process options.

use crate::exit::Failure;
use berth_engine::RunOptions;
use berth_engine::spec::{ProcessOptions, SpecError};
use berth_engine::volumes::{self, MountFlag, TmpfsSpec, VolumeSpec};
use clap::Args;

/// The options `run` and `create` share.
#[derive(Args)]
pub struct ContainerArgs {
    /// Remove the container when it exits.
    #[arg(long)]
    pub(crate) rm: bool,
    /// Name the container.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Set an environment variable (KEY=VALUE).
    #[arg(short, long = "env")]
    pub(crate) env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub(crate) workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    pub(crate) user: Option<String>,
    /// Replace the image's entrypoint (a command, or a JSON array).
    #[arg(long)]
    pub(crate) entrypoint: Option<String>,
    /// bridge (berth's default network), a network's name, none (loopback
    /// only), host, container:ID or ns:PATH; default containers.conf's netns,
    /// else bridge (none when not root).
    /// Repeated: the container joins each bridge network named.
    #[arg(long = "network", alias = "net")]
    pub(crate) network: Vec<String>,
    /// Another name the container answers to on its networks.
    #[arg(long)]
    pub(crate) network_alias: Vec<String>,
    /// path=FILE, max-size=SIZE, tag=TAG for the container's log.
    #[arg(long)]
    pub(crate) log_opt: Vec<String>,
    /// Which streams a foreground container is attached to: stdin, stdout,
    /// stderr (default: stdout and stderr).
    #[arg(short = 'a', long, value_parser = ["stdin", "stdout", "stderr"])]
    pub(crate) attach: Vec<String>,
    /// A device-cgroup rule ("c 7:* rmw") letting the container use more devices.
    #[arg(long)]
    pub(crate) device_cgroup_rule: Vec<String>,
    /// Mount the volumes of another container (CONTAINER[:ro|rw]).
    #[arg(long)]
    pub(crate) volumes_from: Vec<String>,
    /// The container's time zone: a zone name, or "local" for the host's.
    #[arg(long)]
    pub(crate) tz: Option<String>,
    /// Leave this variable of the defaults or the image out.
    #[arg(long)]
    pub(crate) unsetenv: Vec<String>,
    /// Leave every default and image variable out (only --env ones stay).
    #[arg(long)]
    pub(crate) unsetenv_all: bool,
    /// What the image's VOLUMEs get: bind (anonymous volumes), tmpfs or ignore.
    #[arg(long)]
    pub(crate) image_volume: Option<String>,
    /// The container's hostname (-h, as podman's: help is --help only).
    #[arg(short = 'h', long)]
    pub(crate) hostname: Option<String>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub(crate) help: Option<bool>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    pub(crate) read_only: bool,
    #[arg(long)]
    pub(crate) cap_add: Vec<String>,
    #[arg(long)]
    pub(crate) cap_drop: Vec<String>,
    /// Bind mount or named volume: SOURCE:DEST[:ro].
    #[arg(short, long = "volume")]
    pub(crate) volume: Vec<String>,
    /// Mount a tmpfs: DEST[:OPTIONS].
    #[arg(long)]
    pub(crate) tmpfs: Vec<String>,
    /// Add a line to /etc/hosts: HOST:IP.
    #[arg(long)]
    pub(crate) add_host: Vec<String>,
    /// Nameserver for /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns: Vec<String>,
    /// Give the process a terminal.
    #[arg(short, long)]
    pub(crate) tty: bool,
    /// Pass stdin to the process.
    #[arg(short, long)]
    pub(crate) interactive: bool,
    /// Restart policy: no, on-failure[:N], always, unless-stopped.
    #[arg(long)]
    pub(crate) restart: Option<String>,
    /// Healthcheck command (a shell command, or a JSON array).
    #[arg(long)]
    pub(crate) health_cmd: Option<String>,
    /// Time between healthchecks (e.g. 30s), or "disable".
    #[arg(long)]
    pub(crate) health_interval: Option<String>,
    /// Consecutive failures before the container is unhealthy.
    #[arg(long)]
    pub(crate) health_retries: Option<u32>,
    /// Time a healthcheck may take.
    #[arg(long)]
    pub(crate) health_timeout: Option<String>,
    /// Time after start during which failures do not count.
    #[arg(long)]
    pub(crate) health_start_period: Option<String>,
    /// Ignore the image's HEALTHCHECK.
    #[arg(long)]
    pub(crate) no_healthcheck: bool,
    /// Every capability, no seccomp filter, no masked paths, all devices allowed.
    #[arg(long)]
    pub(crate) privileged: bool,
    /// no-new-privileges, seccomp=unconfined|PROFILE.json, label=…
    #[arg(long)]
    pub(crate) security_opt: Vec<String>,
    /// Memory limit (e.g. 512m; 0: none).
    #[arg(short, long)]
    pub(crate) memory: Option<String>,
    /// User namespace: host (the default as root); keep-id and nomap are
    /// rootless modes.
    #[arg(long)]
    pub(crate) userns: Option<String>,
    /// Pass this many more fds (3 and up) on to a foreground container.
    #[arg(long, default_value_t = 0)]
    pub(crate) preserve_fds: u32,
    /// Write the monitor's pid here (conmon's, for systemd's PIDFile=).
    #[arg(long)]
    pub(crate) conmon_pidfile: Option<std::path::PathBuf>,
    /// Accepted for podman's scripts; kernels no longer have it (a no-op).
    #[arg(long, hide = true)]
    pub(crate) kernel_memory: Option<String>,
    /// CPUs (e.g. 1.5).
    #[arg(long)]
    pub(crate) cpus: Option<f64>,
    /// Most processes the container may have.
    #[arg(long)]
    pub(crate) pids_limit: Option<i64>,
    /// NAME=SOFT[:HARD], e.g. nofile=1024:2048.
    #[arg(long)]
    pub(crate) ulimit: Vec<String>,
    /// Set a label (KEY=VALUE).
    #[arg(short, long)]
    pub(crate) label: Vec<String>,
    /// Read environment variables from a file (KEY=VALUE lines).
    #[arg(long)]
    pub(crate) env_file: Vec<std::path::PathBuf>,
    /// Signal that stops the container (default SIGTERM).
    #[arg(long)]
    pub(crate) stop_signal: Option<String>,
    /// Seconds to wait after the stop signal before killing.
    #[arg(long)]
    pub(crate) stop_timeout: Option<u64>,
    /// Mount: type=bind|volume|tmpfs,source=…,target=…[,readonly].
    #[arg(long)]
    pub(crate) mount: Vec<String>,
    /// Remove a container of the same name first.
    #[arg(long)]
    pub(crate) replace: bool,
    /// Run a small init as PID 1 that passes signals on and reaps orphans.
    #[arg(long)]
    pub(crate) init: bool,
    /// Where output goes: k8s-file (the container log, the default), journald
    /// (the host's journal) or none; default containers.conf's log_driver.
    #[arg(long)]
    pub(crate) log_driver: Option<String>,
    /// Give the container a host device: HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// Pull the image: missing (default), always, never, newer.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never", "newer"])]
    pub(crate) pull: String,
    /// PID namespace: private (default) or host.
    #[arg(long, value_parser = ["private", "host"])]
    pub(crate) pid: Option<String>,
    /// IPC namespace: private (default) or host (with the host's /dev/shm).
    #[arg(long, value_parser = ["private", "host"])]
    pub(crate) ipc: Option<String>,
    /// UTS namespace: private (default) or host (the host's hostname).
    #[arg(long, value_parser = ["private", "host"])]
    pub(crate) uts: Option<String>,
    /// Size of /dev/shm (default 64m).
    #[arg(long)]
    pub(crate) shm_size: Option<String>,
    /// Another group for the process, by name or number.
    #[arg(long)]
    pub(crate) group_add: Vec<String>,
    /// A DNS search domain for /etc/resolv.conf.
    #[arg(long)]
    pub(crate) dns_search: Vec<String>,
    /// CPU weight (cgroup cpu.shares).
    #[arg(short = 'c', long)]
    pub(crate) cpu_shares: Option<u64>,
    /// CPUs the container may use (0-3, 0,1).
    #[arg(long)]
    pub(crate) cpuset_cpus: Option<String>,
    /// An annotation KEY=VALUE in the container's OCI spec.
    #[arg(long)]
    pub(crate) annotation: Vec<String>,
    /// A port to expose (for -P) besides the image's.
    #[arg(long)]
    pub(crate) expose: Vec<String>,
    /// Write the container's ID to this file.
    #[arg(long)]
    pub(crate) cidfile: Option<std::path::PathBuf>,
    /// No pull progress.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Publish a port: [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (needs a bridge network).
    #[arg(short = 'p', long = "publish")]
    pub(crate) publish: Vec<String>,
    /// Publish every port the image exposes on a free host port.
    #[arg(short = 'P', long)]
    pub(crate) publish_all: bool,
    pub(crate) image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) command: Vec<String>,
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

/// A `--network` flag as the engine takes it.
pub(crate) fn network_mode(
    flag: Option<&str>,
) -> Result<Option<berth_engine::network::NetworkMode>, Failure> {
    flag.map(str::parse)
        .transpose()
        .map_err(crate::exit::podman)
}

/// `-v` flags as the engine takes them; a relative source (./dir, ../dir) is
/// the directory it names from here.
pub(crate) fn volume_flags(flags: &[String]) -> Result<Vec<VolumeSpec>, Failure> {
    let cwd = std::env::current_dir().map_err(crate::exit::podman)?;
    flags
        .iter()
        .map(|v| volumes::absolute_source(v, &cwd)?.parse())
        .collect::<Result<_, volumes::VolumeError>>()
        .map_err(crate::exit::podman)
}

pub(crate) fn options(
    a: ContainerArgs,
    store_args: &crate::commands::StoreArgs,
) -> Result<RunOptions, Failure> {
    let runtime = store_args.runtime.clone();
    let mut env = env_files(&a.env_file)?;
    // `-e NAME` alone passes this process's NAME on, when it has one.
    env.extend(a.env.into_iter().filter_map(|e| {
        if e.contains('=') {
            Some(e)
        } else {
            std::env::var(&e).ok().map(|v| format!("{e}={v}"))
        }
    }));
    let mut volumes = volume_flags(&a.volume)?;
    let mut tmpfs = a
        .tmpfs
        .iter()
        .map(|t| t.parse())
        .collect::<Result<Vec<TmpfsSpec>, _>>()
        .map_err(crate::exit::podman)?;
    let mut image_mounts = Vec::new();
    for m in &a.mount {
        match m.parse().map_err(crate::exit::podman)? {
            MountFlag::Volume(v) => volumes.push(v),
            MountFlag::Tmpfs(t) => tmpfs.push(t),
            MountFlag::Image(i) => image_mounts.push(i),
        }
    }
    // The same -v twice is one mount, as podman takes it (two different ones
    // on one destination are still refused).
    let mut seen = Vec::new();
    volumes.retain(|v| {
        let new = !seen.contains(v);
        seen.push(v.clone());
        new
    });
    let mut seen = Vec::new();
    tmpfs.retain(|t| {
        let new = !seen.contains(t);
        seen.push(t.clone());
        new
    });
    let entrypoint = a.entrypoint.map(|e| {
        serde_json::from_str::<Vec<String>>(&e)
            .unwrap_or_else(|_| if e.is_empty() { Vec::new() } else { vec![e] })
    });
    // Empty: the engine's default (containers.conf's netns, else bridge).
    let mut nets = a
        .network
        .into_iter()
        .flat_map(|n| n.split(',').map(String::from).collect::<Vec<_>>());
    let network: berth_engine::network::NetworkMode = nets
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(crate::exit::podman)?;
    let networks: Vec<String> = nets.collect();
    let publish = a
        .publish
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<_>, berth_engine::network::NetworkError>>()
        .map_err(crate::exit::podman)?;
    match a.userns.as_deref() {
        None | Some("" | "host") => {}
        Some(mode @ ("keep-id" | "nomap")) => {
            return Err(crate::exit::podman(format!(
                "{mode} is only supported in rootless mode"
            )));
        }
        Some(other) => {
            return Err(crate::exit::podman(format!(
                "--userns {other}: not supported (host is the user namespace as root)"
            )));
        }
    }
    if a.kernel_memory.is_some() {
        eprintln!("The --kernel-memory flag is no longer supported. This flag is a noop.");
    }
    let health = berth_engine::health::HealthFlags {
        disabled: a.no_healthcheck || a.health_interval.as_deref() == Some("disable"),
        interval: a.health_interval.filter(|i| i != "disable"),
        timeout: a.health_timeout,
        start_period: a.health_start_period,
        retries: a.health_retries,
    };
    let mut o = RunOptions {
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
            image_mounts,
            add_hosts: a.add_host,
            dns: a.dns,
            tty: a.tty,
            interactive: a.interactive,
            restart: a
                .restart
                .as_deref()
                .unwrap_or("")
                .parse()
                .map_err(crate::exit::podman)?,
            health_cmd: a.health_cmd,
            health,
            privileged: a.privileged,
            security_opt: a.security_opt,
            memory: a
                .memory
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(crate::exit::podman)?,
            cpus: a.cpus,
            pids_limit: a.pids_limit,
            ulimits: a.ulimit,
            labels: a.label,
            stop_signal: a.stop_signal,
            stop_timeout: a.stop_timeout,
            ports: publish,
            init: a.init,
            runtime,
            devices: a.device,
            log_driver: a.log_driver,
            publish_all: a.publish_all,
            anonymous_volumes: Vec::new(),
            pid: a.pid.filter(|m| m == "host"),
            ipc: a.ipc.filter(|m| m == "host"),
            uts: a.uts.filter(|m| m == "host"),
            shm_size: a
                .shm_size
                .as_deref()
                .map(|s| {
                    s.parse().map_err(|source| SpecError::ShmSize {
                        size: s.to_string(),
                        source,
                    })
                })
                .transpose()
                .map_err(crate::exit::podman)?,
            group_add: a.group_add,
            dns_search: a.dns_search,
            cpu_shares: a.cpu_shares,
            cpuset_cpus: a.cpuset_cpus,
            annotations: a.annotation,
            expose: a.expose,
            networks,
            network_aliases: a.network_alias,
            tz: match a.tz {
                Some(tz) => {
                    berth_engine::spec::timezone_file(&tz).map_err(crate::exit::podman)?;
                    Some(tz)
                }
                None => None,
            },
            attach: a.attach,
            log_opts: {
                let mut o = berth_engine::spec::LogOpts::default();
                for opt in &a.log_opt {
                    o.set(opt).map_err(crate::exit::podman)?;
                }
                o
            },
            runtime_flags: store_args.runtime_flag.clone(),
            volumes_from: a.volumes_from,
            device_cgroup_rules: a
                .device_cgroup_rule
                .iter()
                .map(|r| r.parse())
                .collect::<Result<_, _>>()
                .map_err(crate::exit::podman)?,
            unsetenv: a.unsetenv,
            unsetenv_all: a.unsetenv_all,
            image_volume: a
                .image_volume
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(crate::exit::podman)?,
        },
    };
    if let Some(warning) = o.process.discard_unpublishable_ports() {
        eprintln!("{warning}");
    }
    Ok(o)
}
