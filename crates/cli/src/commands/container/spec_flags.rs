//! `run`'s and `create`'s flags as the engine's typed container spec: each
//! value parsed (and refused in podman's words) here, once.

use crate::exit::{self, Failure};
use berth_engine::RunOptions;
use berth_engine::namespaces::NsMode;
use berth_engine::spec::ProcessOptions;
use berth_engine::volumes::{self, MountFlag, TmpfsSpec, VolumeSpec};

use super::flags::ContainerArgs;

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
    mut a: ContainerArgs,
    store_args: &crate::commands::StoreArgs,
) -> Result<RunOptions, Failure> {
    let (image, command) = a.take_image_and_command();
    let runtime = store_args.runtime.clone();
    if let Some(mode) = &a.cgroups {
        berth_engine::systemd::check_cgroups_mode(mode).map_err(exit::podman)?;
    }
    let env = berth_engine::env::from_command_line(&a.env_file, &a.env).map_err(exit::podman)?;
    let volumes = volume_flags(&a.volume)?;
    let tmpfs = a
        .tmpfs
        .iter()
        .map(|t| t.parse())
        .collect::<Result<Vec<TmpfsSpec>, _>>()
        .map_err(crate::exit::podman)?;
    let mounts = a
        .mount
        .iter()
        .map(|m| m.parse())
        .collect::<Result<Vec<MountFlag>, _>>()
        .map_err(crate::exit::podman)?;
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
    let publish =
        berth_engine::network::PortMapping::parse_all(&a.publish).map_err(exit::podman)?;
    let userns = berth_engine::namespaces::userns_of_member(
        a.userns.as_deref(),
        &a.uidmap,
        &a.gidmap,
        a.pod.is_some(),
    )
    .map_err(exit::podman)?;
    let limits = a.resources.update()?;
    if a.kernel_memory.is_some() {
        eprintln!("The --kernel-memory flag is no longer supported. This flag is a noop.");
    }
    let health = berth_engine::health::HealthFlags {
        disabled: a.no_healthcheck || a.health_interval.as_deref() == Some("disable"),
        interval: a.health_interval.filter(|i| i != "disable"),
        timeout: a.health_timeout,
        start_period: a.health_start_period,
        retries: a.health_retries,
        on_failure: a.health_on_failure,
    };
    let rootfs = match a.rootfs {
        true => Some(
            berth_engine::run::parse_rootfs(&image)
                .map_err(crate::commands::container::run::failure)?,
        ),
        false => None,
    };
    let mut o = RunOptions {
        image,
        name: a.name,
        rm: a.rm,
        replace: a.replace,
        process: ProcessOptions {
            command,
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
            ulimits: a.ulimit,
            labels: {
                let mut labels =
                    berth_engine::env::labels_from_files(&a.label_file).map_err(exit::podman)?;
                labels.extend(a.label);
                labels
            },
            sysctls: {
                berth_engine::spec::parse_sysctls(&a.sysctl).map_err(exit::podman)?;
                a.sysctl
            },
            oom_score_adj: a.oom_score_adj,
            stop_signal: a.stop_signal,
            stop_timeout: a.stop_timeout,
            timeout: a.timeout,
            ports: publish,
            init: a.init,
            runtime,
            devices: a.device,
            log_driver: a.log_driver,
            publish_all: a.publish_all,
            anonymous_volumes: Vec::new(),
            pid: NsMode::parse("pid", a.pid.as_deref()).map_err(exit::podman)?,
            ipc: NsMode::parse("ipc", a.ipc.as_deref()).map_err(exit::podman)?,
            uts: NsMode::parse("uts", a.uts.as_deref()).map_err(exit::podman)?,
            cgroupns: NsMode::parse_cgroupns(a.cgroupns.as_deref()).map_err(exit::podman)?,
            shm_size: a
                .shm_size
                .as_deref()
                .map(berth_engine::spec::parse_shm_size)
                .transpose()
                .map_err(crate::exit::podman)?,
            group_add: a.group_add,
            dns_search: a.dns_search,
            dns_options: a.dns_option,
            device_read_bps: throttles("device-read-bps", &a.device_read_bps, true)?,
            device_write_bps: throttles("device-write-bps", &a.device_write_bps, true)?,
            device_read_iops: throttles("device-read-iops", &a.device_read_iops, false)?,
            device_write_iops: throttles("device-write-iops", &a.device_write_iops, false)?,
            secrets: a
                .secret
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_, _>>()
                .map_err(exit::podman)?,
            annotations: a.annotation,
            expose: a.expose,
            networks,
            network_aliases: a.network_alias,
            mac_address: a.mac_address,
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
            rootfs,
            image_volume: a
                .image_volume
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(crate::exit::podman)?,
            pod: match &a.pod_id_file {
                Some(f) => {
                    crate::commands::ids_from_files(std::slice::from_ref(f), false, "pod ID file")?
                        .pop()
                }
                None => a.pod,
            },
            sdnotify: a
                .sdnotify
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(exit::podman)?
                .unwrap_or_default(),
            systemd: a.systemd.parse().map_err(exit::podman)?,
            conmon_pidfile: a.conmon_pidfile.and_then(|p| std::path::absolute(p).ok()),
            cgroup_parent: a.cgroup_parent,
            create_command: std::env::args().collect(),
            host_users: a.hostuser.clone(),
            ..Default::default()
        },
    };

    limits.apply_to(&mut o.process);
    userns.apply(&mut o.process);
    mounts.into_iter().for_each(|m| o.process.add_mount(m));
    if let Some(warning) = o.process.discard_unpublishable_ports() {
        eprintln!("{warning}");
    }
    if let Some(warning) = o.process.rootless_limits_warning() {
        eprintln!("{warning}");
    }
    Ok(o)
}

/// `--device-read-bps` and its kin.
fn throttles(
    flag: &str,
    specs: &[String],
    bytes: bool,
) -> Result<Vec<berth_engine::resources::DeviceThrottle>, Failure> {
    specs
        .iter()
        .map(|s| berth_engine::resources::DeviceThrottle::parse(flag, s, bytes))
        .collect::<Result<_, _>>()
        .map_err(exit::engine)
}
