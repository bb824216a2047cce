//! `builder from` and `builder run`: making a working container and running
//! commands in it.

use crate::commands::StoreArgs;
use crate::commands::image::pull::{PullFor, pull_for_container};
use crate::exit::{self, CmdResult, Failure};
use berth_builder::builder::{self, Builder, RunSpec};
use clap::Args;

#[derive(Args)]
#[command(
    mut_arg("os", |a| a.help("The OS of the image to pull (over --platform's)")),
    mut_arg("arch", |a| a.help("The architecture of the image to pull")),
    mut_arg("variant", |a| a.help("The architecture's variant of the image to pull"))
)]
pub(crate) struct FromArgs {
    /// The working container's name (default IMAGE-working-container).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Pull the image: always, missing (default), never or newer.
    #[arg(
        long,
        default_value = "missing",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(crate) pull: String,
    /// Print nothing but the name.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) access: crate::commands::image::access::Access,
    /// The trust policy to check a pulled image against.
    #[arg(long)]
    pub(crate) signature_policy: Option<std::path::PathBuf>,
    /// registries.conf to read instead of the system's.
    #[arg(long)]
    pub(crate) registries_conf: Option<std::path::PathBuf>,
    /// The same as --pull=always.
    #[arg(long)]
    pub(crate) pull_always: bool,
    /// The same as --pull=never.
    #[arg(long)]
    pub(crate) pull_never: bool,
    /// OS/ARCH[/VARIANT] of the image to pull from a list (default: this host's).
    #[arg(long)]
    pub(crate) platform: Option<String>,
    #[command(flatten)]
    pub(crate) platform_flags: crate::commands::image::OsFirst,
    #[command(flatten)]
    pub(crate) retry: crate::commands::image::RetryFlags,
    /// Write the working container's ID to this file.
    #[arg(long)]
    pub(crate) cidfile: Option<std::path::PathBuf>,
    /// oci or docker: accepted as buildah's. As there, `commit --format`
    /// alone decides what a commit writes (OCI unless told).
    #[arg(short, long, value_parser = ["oci", "docker"])]
    pub(crate) format: Option<String>,
    #[command(flatten)]
    pub(crate) isolation: super::Isolation,
    /// The network of every `run` (as run's --network; default none).
    #[arg(long, alias = "net")]
    pub(crate) network: Option<String>,
    /// Every `run` gets the proxy variables (http_proxy, HTTPS_PROXY …) of
    /// the environment it is called from (default true).
    #[arg(long, default_value = "true")]
    pub(crate) http_proxy: bool,
    #[command(flatten)]
    pub(crate) encryption: super::Encryption,
    /// host (the only one without --userns-uid-map): the user namespace.
    #[arg(long)]
    pub(crate) userns: Option<String>,
    /// Limits, /dev/shm, hosts, DNS and namespaces of every `run`.
    #[command(flatten)]
    pub(crate) run_with: super::RunWith,
    /// A capability every `run` gets.
    #[arg(long)]
    pub(crate) cap_add: Vec<String>,
    /// A capability every `run` goes without.
    #[arg(long)]
    pub(crate) cap_drop: Vec<String>,
    /// SRC:DST[:OPTS] bind mount for every `run`.
    #[arg(short, long)]
    pub(crate) volume: Vec<String>,
    /// NAME=SOFT[:HARD] for every `run`.
    #[arg(long)]
    pub(crate) ulimit: Vec<String>,
    /// A security option (seccomp=…, no-new-privileges …) for every `run`.
    #[arg(long)]
    pub(crate) security_opt: Vec<String>,
    /// A host device for every `run`, HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// --userns-uid-map/--userns-gid-map (or a user's /etc/subuid ranges):
    /// a user namespace of the working container's own with this mapping.
    #[command(flatten)]
    pub(crate) id_maps: super::IdMapFlags,
    pub(crate) image: String,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// KEY=VALUE in the command's environment.
    #[arg(short, long)]
    pub(crate) env: Vec<String>,
    /// The working directory of the command.
    #[arg(long)]
    pub(crate) workingdir: Option<String>,
    /// The user the command runs as.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// none (default: a network namespace with loopback only), host,
    /// private (one of its own on the default network), ns:PATH, or a
    /// network's name.
    #[arg(long, alias = "net")]
    pub(crate) network: Option<String>,
    /// Do not make /etc/hosts for the command: the image's stays.
    #[arg(long)]
    pub(crate) no_hosts: bool,
    /// --pid/--ipc/--uts/--cgroupns (default: from's, else private).
    #[command(flatten)]
    pub(crate) namespaces: super::Namespaces,
    #[command(flatten)]
    pub(crate) isolation: super::Isolation,
    /// SRC:DST[:OPTS] bind mount for this command.
    #[arg(short, long)]
    pub(crate) volume: Vec<String>,
    /// type=bind|tmpfs|cache,… for this command (a cache's directory is kept
    /// across runs and builds, as RUN --mount=type=cache's).
    #[arg(long)]
    pub(crate) mount: Vec<String>,
    /// The command's hostname.
    #[arg(long)]
    pub(crate) hostname: Option<String>,
    #[arg(long)]
    pub(crate) cap_add: Vec<String>,
    #[arg(long)]
    pub(crate) cap_drop: Vec<String>,
    /// A host device, HOST[:CONTAINER][:PERMISSIONS].
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// Run on a terminal.
    #[arg(short, long, alias = "tty")]
    pub(crate) terminal: bool,
    /// A history entry for the command (default: $BUILDAH_HISTORY).
    #[arg(long, env = "BUILDAH_HISTORY")]
    pub(crate) add_history: bool,
    /// A relative --mount type=bind source is a path in this directory.
    #[arg(long)]
    pub(crate) contextdir: Option<std::path::PathBuf>,
    /// Refused: berth always pivots into the container's root.
    #[arg(long)]
    pub(crate) no_pivot: bool,
    pub(crate) container: String,
    /// The command (after `--`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub(crate) command: Vec<String>,
}

pub(super) fn from(store_args: &StoreArgs, a: FromArgs) -> CmdResult {
    crate::exit::protect_self()?;
    a.encryption.refuse()?;
    // Judged before anything is pulled.
    for u in &a.ulimit {
        berth_engine::security::ulimit(u).map_err(exit::podman)?;
    }
    if let Some(f) = a.cidfile.as_deref() {
        berth_engine::outfile::check_cidfile(f).map_err(exit::podman)?;
    }
    super::userns_host_only(a.userns.as_deref())?;
    let mut run_with = berth_engine::spec::ProcessOptions {
        network: crate::commands::container::spec_flags::network_mode(a.network.as_deref())?
            .unwrap_or(berth_engine::network::NetworkMode::None),
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        volumes: crate::commands::container::spec_flags::volume_flags(&a.volume)?,
        ulimits: a.ulimit.clone(),
        security_opt: a.security_opt.clone(),
        devices: a.device.clone(),
        id_map: a.id_maps.id_map()?,
        ..Default::default()
    };
    a.run_with.apply(&mut run_with)?;
    let retry = a.retry.parse()?;
    let store = store_args.open()?;
    // What to make it from: the name, or the ID an image from another
    // transport (oci:, dir: …) was copied in as.
    let mut found = a.image.clone();
    if a.image != "scratch" {
        let how = PullFor {
            booleans: berth_engine::PullBool::NewerMissing,
            quiet: a.quiet,
            platform: a.platform.as_deref(),
            os: a.platform_flags.0.os.as_deref(),
            arch: a.platform_flags.0.arch.as_deref(),
            variant: a.platform_flags.0.variant.as_deref(),
            retry,
            access: Some(&a.access),
            signature_policy: a.signature_policy.as_deref(),
            registries_conf: a.registries_conf.as_deref(),
            ..Default::default()
        };
        let engine = berth_engine::Engine::with_store(store.clone());
        let policy = match (a.pull_always, a.pull_never) {
            (true, _) => "always",
            (_, true) => "never",
            _ => a.pull.as_str(),
        };
        found = pull_for_container(&engine, &a.image, policy, &how)?;
    }
    let b = builder::from(
        &store,
        &a.image,
        &found,
        a.name.as_deref(),
        run_with,
        a.http_proxy,
    )
    .map_err(exit::build)?;
    if let Some(f) = &a.cidfile {
        berth_engine::outfile::write_cidfile(f, &b.id).map_err(|e| {
            let _ = builder::remove(&store, &b);
            exit::podman(e)
        })?;
    }
    println!("{}", b.name);
    Ok(())
}

pub(super) fn run_in(store_args: &StoreArgs, a: RunArgs) -> Result<i32, Failure> {
    crate::exit::protect_self()?;
    if a.no_pivot {
        return Err(exit::usage(
            125,
            "--no-pivot: berth always pivots into the container's root (pivot_root), never only chroots",
        ));
    }
    let store = store_args.open()?;
    let mut b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let volumes = crate::commands::container::spec_flags::volume_flags(&a.volume)?;
    let mut spec = RunSpec {
        args: a.command,
        env: a.env,
        workdir: a.workingdir,
        user: a.user,
        network: crate::commands::container::spec_flags::network_mode(a.network.as_deref())?,
        volumes,
        tmpfs: Vec::new(),
        hostname: a.hostname,
        cap_add: a.cap_add,
        cap_drop: a.cap_drop,
        devices: a.device,
        terminal: a.terminal,
        no_hosts: a.no_hosts,
        runtime: store_args.runtime.clone(),
        runtime_flags: store_args.runtime_flag.clone(),
        add_history: a.add_history,
        ..Default::default()
    };
    [spec.pid, spec.ipc, spec.uts, spec.cgroupns] = a.namespaces.modes()?;
    spec.add_mounts(&a.mount, a.contextdir.as_deref())
        .map_err(exit::build)?;
    let code = builder::run(&store, &mut b, &spec).map_err(exit::build)?;
    // buildah says so when the command failed, in its oci isolation's words,
    // and exits with the command's code (1 for one a signal killed).
    match code {
        0 => Ok(0),
        code => Err(exit::usage(
            code,
            format!("while running runtime: exit status {code}"),
        )),
    }
}
