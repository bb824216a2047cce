//! `run`'s and `create`'s flags (see spec_flags for what they become).

use crate::exit::{self, Failure};
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
    /// The Ethernet address of its first network interface (a bridge's).
    #[arg(long)]
    pub(crate) mac_address: Option<berth_engine::network::MacAddress>,
    /// path=FILE, max-size=SIZE, tag=TAG for the container's log (docker's
    /// max-file=N is accepted, and has no effect, as in podman).
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
    /// What to do once the container is unhealthy: none, kill, restart, stop.
    #[arg(long)]
    pub(crate) health_on_failure: Option<String>,
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
    /// User namespace: host (the default as root); keep-id and nomap are
    /// rootless modes.
    #[arg(long)]
    pub(crate) userns: Option<String>,
    /// A host user (name or UID) whose /etc/passwd line the container gets.
    #[arg(long)]
    pub(crate) hostuser: Vec<String>,
    /// CONTAINER:HOST:SIZE: a user namespace of the container's own mapping
    /// these UIDs (repeatable).
    #[arg(long)]
    pub(crate) uidmap: Vec<String>,
    /// CONTAINER:HOST:SIZE for GIDs (default: as --uidmap).
    #[arg(long)]
    pub(crate) gidmap: Vec<String>,
    /// Pass this many more fds (3 and up) on to a foreground container.
    #[arg(long, default_value_t = 0)]
    pub(crate) preserve_fds: u32,
    /// Write the monitor's pid here (conmon's, for systemd's PIDFile=).
    #[arg(long)]
    pub(crate) conmon_pidfile: Option<std::path::PathBuf>,
    /// Accepted for podman's scripts; kernels no longer have it (a no-op).
    #[arg(long, hide = true)]
    pub(crate) kernel_memory: Option<String>,
    #[command(flatten)]
    pub(crate) resources: ResourceFlags,
    /// The cgroup the container's nests under (default: its pod's, else /berth).
    #[arg(long)]
    pub(crate) cgroup_parent: Option<String>,
    /// The pod to join (NAME or ID), or new:NAME for a new pod.
    #[arg(long)]
    pub(crate) pod: Option<String>,
    /// The pod to join, by the ID this file holds (`pod create --pod-id-file`).
    #[arg(long, conflicts_with = "pod")]
    pub(crate) pod_id_file: Option<std::path::PathBuf>,
    /// NAME=SOFT[:HARD], e.g. nofile=1024:2048.
    #[arg(long)]
    pub(crate) ulimit: Vec<String>,
    /// Set a label (KEY=VALUE).
    #[arg(short, long)]
    pub(crate) label: Vec<String>,
    /// Read labels from a file (KEY=VALUE lines).
    #[arg(long)]
    pub(crate) label_file: Vec<std::path::PathBuf>,
    /// The cgroup namespace: host or private (the default).
    #[arg(long)]
    pub(crate) cgroupns: Option<String>,
    /// A namespaced kernel parameter (KEY=VALUE: net.*, fs.mqueue.*, kernel.shm*/msg*/sem).
    #[arg(long)]
    pub(crate) sysctl: Vec<String>,
    /// The process's OOM killer score adjustment (-1000 to 1000).
    #[arg(long, allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(-1000..=1000))]
    pub(crate) oom_score_adj: Option<i32>,
    /// Read environment variables from a file (KEY=VALUE lines).
    #[arg(long)]
    pub(crate) env_file: Vec<std::path::PathBuf>,
    /// Signal that stops the container (default SIGTERM).
    #[arg(long)]
    pub(crate) stop_signal: Option<String>,
    /// Seconds to wait after the stop signal before killing.
    #[arg(long)]
    pub(crate) stop_timeout: Option<u64>,
    /// Seconds the container may run before it is killed (exit code -1);
    /// 0: no limit.
    #[arg(long)]
    pub(crate) timeout: Option<u64>,
    /// Mount: type=bind|volume|tmpfs,source=…,target=…[,readonly].
    #[arg(long)]
    pub(crate) mount: Vec<String>,
    /// Remove a container of the same name first.
    #[arg(long)]
    pub(crate) replace: bool,
    /// Run a small init as PID 1 that passes signals on and reaps orphans.
    #[arg(long)]
    pub(crate) init: bool,
    /// Where output goes: k8s-file (the container log, the default; docker's
    /// json-file is taken for it), journald (the host's journal) or none;
    /// default containers.conf's log_driver.
    #[arg(long)]
    pub(crate) log_driver: Option<String>,
    /// Give the container a host device: HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// The first argument is not an image but a directory to use as the root
    /// (`PATH:O`: under an overlay, so the directory is not written).
    #[arg(long)]
    pub(crate) rootfs: bool,
    /// Pull the image: missing (default), always, never, newer.
    #[arg(long, default_value = "missing", value_parser = ["missing", "always", "never", "newer"])]
    pub(crate) pull: String,
    /// PID namespace: private (default), host or container:NAME (another's).
    #[arg(long)]
    pub(crate) pid: Option<String>,
    /// IPC namespace: shareable (default; its own, others may join), private,
    /// none (its own, without /dev/shm), host (with the host's /dev/shm) or
    /// container:NAME (a shareable one's, with its /dev/shm).
    #[arg(long)]
    pub(crate) ipc: Option<String>,
    /// UTS namespace: private (default), host (the host's hostname) or
    /// container:NAME.
    #[arg(long)]
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
    /// Read limit of a device, DEVICE:RATE (1M, 512kb …).
    #[arg(long)]
    pub(crate) device_read_bps: Vec<String>,
    /// Write limit of a device, DEVICE:RATE.
    #[arg(long)]
    pub(crate) device_write_bps: Vec<String>,
    /// Read operations a second of a device, DEVICE:N.
    #[arg(long)]
    pub(crate) device_read_iops: Vec<String>,
    /// Write operations a second of a device, DEVICE:N.
    #[arg(long)]
    pub(crate) device_write_iops: Vec<String>,
    /// A secret: NAME[,type=mount|env][,target=T][,uid=N,gid=N,mode=OCTAL].
    #[arg(long)]
    pub(crate) secret: Vec<String>,
    /// An option for /etc/resolv.conf (ndots:2, edns0 …).
    #[arg(long = "dns-option", visible_alias = "dns-opt")]
    pub(crate) dns_option: Vec<String>,
    /// An annotation KEY=VALUE in the container's OCI spec.
    #[arg(long)]
    pub(crate) annotation: Vec<String>,
    /// A port to expose (for -P) besides the image's.
    #[arg(long)]
    pub(crate) expose: Vec<String>,
    /// Write the container's ID to this file.
    #[arg(long)]
    pub(crate) cidfile: Option<std::path::PathBuf>,
    /// systemd as the container's init: true (when the command is systemd or
    /// /sbin/init), false or always.
    #[arg(long, default_value = "true")]
    pub(crate) systemd: String,
    /// Who tells systemd the service is ready: conmon (the monitor, once the
    /// container runs) or ignore.
    #[arg(long)]
    pub(crate) sdnotify: Option<String>,
    /// The container's cgroup: enabled (default) or no-conmon (the same here:
    /// the monitor never sits in the container's cgroup).
    #[arg(long)]
    pub(crate) cgroups: Option<String>,
    /// No pull progress.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Publish a port: [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (needs a bridge network).
    #[arg(short = 'p', long = "publish")]
    pub(crate) publish: Vec<String>,
    /// Publish every port the image exposes on a free host port.
    #[arg(short = 'P', long)]
    pub(crate) publish_all: bool,
    /// IMAGE (with --rootfs the root directory), then the command and its
    /// arguments. As podman reads it, berth's own flags end at IMAGE: what
    /// follows is the command's (`IMAGE -c x` is not --cpu-shares).
    #[arg(value_names = ["IMAGE", "COMMAND"], required = true, trailing_var_arg = true)]
    pub(crate) image_and_command: Vec<String>,
}

impl ContainerArgs {
    /// IMAGE, or --rootfs's directory.
    pub(crate) fn image(&self) -> &str {
        self.image_and_command.first().map_or("", String::as_str)
    }

    /// Names the image to make the container from in place of IMAGE.
    pub(crate) fn set_image(&mut self, image: String) {
        match self.image_and_command.first_mut() {
            Some(first) => *first = image,
            None => self.image_and_command.push(image),
        }
    }

    /// IMAGE and the command, taken out of the flags.
    pub(crate) fn take_image_and_command(&mut self) -> (String, Vec<String>) {
        let mut all = std::mem::take(&mut self.image_and_command).into_iter();
        (all.next().unwrap_or_default(), all.collect())
    }
}

/// The limits `run`, `create` and `update` take.
#[derive(Args, Clone, Default)]
pub(crate) struct ResourceFlags {
    /// Memory limit (e.g. 512m; 0: none).
    #[arg(short, long)]
    pub(crate) memory: Option<String>,
    /// Memory and swap together (e.g. 1g; -1: unlimited swap).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) memory_swap: Option<String>,
    /// The memory soft limit (e.g. 400m).
    #[arg(long)]
    pub(crate) memory_reservation: Option<String>,
    /// CPUs (e.g. 1.5).
    #[arg(long)]
    pub(crate) cpus: Option<f64>,
    /// CPU weight (cgroup cpu.shares).
    #[arg(short = 'c', long)]
    pub(crate) cpu_shares: Option<u64>,
    /// CPUs the container may use (0-3, 0,1).
    #[arg(long)]
    pub(crate) cpuset_cpus: Option<String>,
    /// Memory nodes the container may use (0-3, 0,1).
    #[arg(long)]
    pub(crate) cpuset_mems: Option<String>,
    /// Most processes the container may have.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) pids_limit: Option<i64>,
    /// Block IO weight, 10 to 1000.
    #[arg(long, value_parser = clap::value_parser!(u16).range(10..=1000))]
    pub(crate) blkio_weight: Option<u16>,
    /// The CPU CFS period, in microseconds (with --cpu-quota, instead of --cpus).
    #[arg(long)]
    pub(crate) cpu_period: Option<u64>,
    /// The CPU CFS quota per period, in microseconds.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) cpu_quota: Option<i64>,
    /// How readily the container's memory is swapped (0 to 100).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=100))]
    pub(crate) memory_swappiness: Option<u64>,
    /// Keep the kernel's OOM killer from the container (with --memory).
    #[arg(long)]
    pub(crate) oom_kill_disable: bool,
}

impl ResourceFlags {
    pub(crate) fn update(self) -> Result<berth_engine::resources::ResourceUpdate, Failure> {
        use berth_engine::security::parse_bytes;
        let bytes = |flag: &str, v: Option<String>| -> Result<Option<i64>, Failure> {
            v.map(|v| match v.as_str() {
                "-1" => Ok(-1),
                _ => parse_bytes(&v).map_err(|e| exit::podman(format!("--{flag} {v}: {e}"))),
            })
            .transpose()
        };
        Ok(berth_engine::resources::ResourceUpdate {
            memory: self
                .memory
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(exit::podman)?,
            memory_swap: bytes("memory-swap", self.memory_swap)?,
            memory_reservation: bytes("memory-reservation", self.memory_reservation)?,
            cpus: self.cpus,
            cpu_shares: self.cpu_shares,
            cpuset_cpus: self.cpuset_cpus,
            cpuset_mems: self.cpuset_mems,
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
            cpu_period: self.cpu_period,
            cpu_quota: self.cpu_quota,
            memory_swappiness: self.memory_swappiness,
            oom_kill_disable: self.oom_kill_disable.then_some(true),
        })
    }
}
