//! `berth`: podman's, skopeo's and buildah's command lines over berth's libraries.
//! This crate only parses arguments, calls the libraries and prints.

mod attach;
mod commands;
mod exit;
mod interrupt;
mod logging;
mod output;
mod pflag;
mod progress;
mod prompt;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

#[derive(Parser)]
#[command(name = "berth", version, about = "A daemonless container toolkit")]
struct Cli {
    #[command(flatten)]
    store: commands::StoreArgs,
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// A container's monitor's command line (`__monitor ID` after the store's
/// flags, as berth spawns it): parsed without building the whole command tree,
/// which costs every container start a millisecond or two.
#[derive(Parser)]
#[command(name = "berth")]
struct MonitorCli {
    #[command(flatten)]
    store: commands::StoreArgs,
    #[command(subcommand)]
    command: MonitorCommand,
}

#[derive(Subcommand)]
enum MonitorCommand {
    #[command(name = "__monitor")]
    Monitor(commands::container::lifecycle::MonitorArgs),
}

/// podman's other global flags that scripts pass.
#[derive(clap::Args, Default)]
struct Globals {
    /// Messages at and above this level on stderr: trace, debug, info, warn
    /// (the default), error, fatal or panic.
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// The same as --log-level=debug (docker's flag).
    #[arg(short = 'D', long, global = true)]
    debug: bool,
    /// Where events are written: file (RUNROOT/events/events.log, the default) or
    /// none, over containers.conf's events_logger; journald is taken as file.
    #[arg(long, global = true, value_parser = ["file", "journald", "none"])]
    events_backend: Option<String>,
    /// Print nothing on stdout (errors still go to stderr).
    #[arg(long, global = true)]
    noout: bool,
    /// How containers' cgroups are made: berth writes cgroupfs itself (with
    /// systemd, it says so and goes on).
    #[arg(long, global = true, value_parser = ["cgroupfs", "systemd"])]
    cgroup_manager: Option<String>,
}

// Parsed once; boxing the big variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Work with images: inspect, copy, sync, list tags and delete (skopeo's verbs).
    // skopeo's shape: NAME version X.Y.Z.
    #[command(version = concat!("version ", env!("CARGO_PKG_VERSION")), disable_version_flag = true)]
    Image(commands::image::ImageArgs),
    /// Log in to a registry.
    Login(commands::login::LoginArgs),
    /// Search a registry for repositories (or list a repository's tags).
    Search(commands::image::search::SearchArgs),
    /// Log out of a registry.
    Logout(commands::login::LogoutArgs),
    #[command(flatten)]
    ImageVerb(commands::image::ImageVerb),
    /// List local images.
    #[command(alias = "image-list")]
    Images(commands::image::list::ImagesArgs),
    /// Remove local images.
    Rmi(commands::image::remove::RmiArgs),
    #[command(flatten)]
    Container(commands::container::ContainerVerb),
    /// Manage named volumes.
    Volume(commands::volume::VolumeArgs),
    /// Make, change and push manifest lists (multi-platform images).
    Manifest(commands::manifest::ManifestArgs),
    /// Manage secrets: data given to containers at start, never stored in them.
    Secret(commands::secret::SecretArgs),
    /// Manage bridge networks.
    Network(commands::network::NetworkArgs),
    /// Manage pods: containers that share namespaces.
    Pod(commands::pod::PodArgs),
    /// Play Kubernetes YAML as pods, or take them down.
    Kube(commands::kube::KubeArgs),
    /// podman's older `play kube`.
    Play(commands::kube::PlayNounArgs),
    /// Generate systemd units or Kubernetes YAML (podman's older `generate kube`).
    Generate(commands::generate::GenerateArgs),
    /// Run containers' healthchecks.
    Healthcheck(commands::container::health::HealthcheckArgs),
    /// Show berth's version.
    Version(commands::system::VersionArgs),
    /// Show the host and the store.
    Info(commands::system::InfoArgs),
    /// Build an image from a Containerfile.
    #[command(alias = "bud")]
    Build(commands::builder::build::BuildArgs),
    /// What happened to containers (the event log).
    Events(commands::events::EventsArgs),
    /// docker's `buildx build`: the same as `build`.
    Buildx(commands::builder::build::BuildxArgs),
    /// Build images step by step with working containers (buildah's verbs).
    Builder(commands::builder::BuilderArgs),
    /// List containers.
    Ps(commands::container::ps::PsArgs),
    /// Show containers' configuration and state.
    Inspect(commands::container::inspect::InspectArgs),
    /// Work with containers.
    #[command(name = "container")]
    ContainerNoun(ContainerArgs),
    #[command(name = "__monitor", hide = true)]
    Monitor(commands::container::lifecycle::MonitorArgs),
    /// Manage berth itself.
    System(commands::system::SystemArgs),
    /// Run a command in the rootless user's namespace (rootless only).
    Unshare(commands::unshare::UnshareArgs),
}

#[derive(clap::Args)]
struct ContainerArgs {
    #[command(subcommand)]
    command: ContainerCommand,
}

// Parsed once; boxing the big variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ContainerCommand {
    #[command(flatten)]
    Verb(commands::container::ContainerVerb),
    /// List containers.
    #[command(alias = "ls", alias = "list")]
    Ps(commands::container::ps::PsArgs),
    /// Show containers' configuration and state.
    Inspect(commands::container::inspect::InspectArgs),
    /// Exit 0 when the container exists, 1 when not.
    Exists(commands::container::inspect::ExistsArgs),
    /// Remove every container that is not running.
    Prune(commands::container::prune::PruneArgs),
    /// Make a container as another was made (not started unless --run).
    Clone(commands::container::clone::CloneArgs),
}

/// The command line, where (as with podman's flags) a flag given twice
/// counts once, the last value.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    if let Ok(MonitorCli {
        store,
        command: MonitorCommand::Monitor(a),
    }) = MonitorCli::try_parse()
    {
        return Ok(Cli {
            store,
            globals: Globals::default(),
            command: Command::Monitor(a),
        });
    }
    let cli = Cli::command();
    let args = pflag::buildah_short_d(std::env::args_os().collect(), &cli);
    let matches = pflag::command(cli).try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Prints why clap refused the command line and gives the exit code: 0 for
/// help and version, which are answers; skopeo's under its verbs (see
/// [`commands::image::refused`]); else podman's 125.
fn refused(e: clap::Error) -> i32 {
    use clap::CommandFactory;
    if !e.use_stderr() {
        let _ = e.print();
        return 0;
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let (path, operands) = pflag::verb_path(&args, &Cli::command());
    let tree = pflag::command(Cli::command());
    match commands::image::refused(&e, tree, &path, &operands) {
        Some(0) => 0,
        code => {
            let _ = e.print();
            code.unwrap_or(125)
        }
    }
}

fn main() {
    end_quietly_on_a_closed_stdout();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(berth_engine::network::forward::COMMAND) {
        // A rootless container's port forwarder: no command line of its own.
        std::process::exit(berth_engine::network::forward::serve(&args[1..]));
    }
    let Cli {
        store,
        globals,
        command,
    } = match parse() {
        Ok(c) => c,
        Err(e) => std::process::exit(refused(e)),
    };
    // An ordinary user's berth runs in its user namespace, joined while this
    // process is still single-threaded.
    if let Some(uid) = berth_runtime::userns::rootless_uid()
        && let Err(e) = berth_runtime::userns::enter(&berth_runtime::userns::default_run_dir(uid))
    {
        eprintln!("Error: {e}");
        std::process::exit(125);
    }
    if let Err(Failure { code, message }) =
        logging::start(globals.log_level.as_deref(), globals.debug)
    {
        // Before any logging: podman's words, bare (its logger's fatal line).
        eprintln!("{message}");
        std::process::exit(code);
    }
    if globals.noout {
        silence_stdout();
    }
    if globals.cgroup_manager.as_deref() == Some("systemd") {
        log::warn!("--cgroup-manager systemd: berth manages cgroups through cgroupfs");
    }
    if let Some(backend) = &globals.events_backend {
        berth_engine::events::set_backend(backend);
    }
    if let Err(Failure { code, message }) = dispatch(&store, command) {
        if !message.is_empty() {
            eprintln!("Error: {message}");
        }
        std::process::exit(code);
    }
}

fn dispatch(store: &commands::StoreArgs, command: Command) -> Result<(), Failure> {
    match command {
        Command::Image(a) => commands::image::run(store, a),
        Command::ImageVerb(v) => v.run(store),
        Command::Images(a) => commands::image::list::images(store, a),
        Command::Rmi(a) => commands::image::remove::rmi(store, a),
        Command::System(s) => commands::system::run(store, s),
        Command::Container(v) => v.run(store),
        Command::Monitor(a) => {
            crate::exit::exit_with(commands::container::lifecycle::monitor(store, a))
        }
        Command::Volume(a) => commands::volume::run(store, a),
        Command::Secret(a) => commands::secret::run(store, a),
        Command::Manifest(a) => commands::manifest::run(store, a),
        Command::Network(a) => commands::network::run(store, a),
        Command::Pod(a) => commands::pod::run(store, a),
        Command::Kube(a) => commands::kube::run(store, a),
        Command::Play(a) => commands::kube::play_noun(store, a),
        Command::Generate(a) => commands::generate::run(store, a),
        Command::Healthcheck(a) => commands::container::health::healthcheck(store, a),
        Command::Info(a) => commands::system::info(store, a),
        Command::Build(a) => crate::exit::exit_with(commands::builder::build::build(store, a)),
        Command::Events(a) => commands::events::events(store, a),
        Command::Buildx(b) => crate::exit::exit_with(commands::builder::build::buildx(store, b)),
        Command::Builder(a) => crate::exit::exit_with(commands::builder::run(store, a)),
        Command::Version(a) => commands::system::version(a),
        Command::Ps(a) => commands::container::ps::ps(store, a),
        Command::Inspect(a) => commands::container::inspect::inspect(store, a),
        Command::ContainerNoun(c) => match c.command {
            ContainerCommand::Verb(v) => v.run(store),
            ContainerCommand::Ps(a) => commands::container::ps::ps(store, a),
            // `container inspect` inspects containers only.
            ContainerCommand::Inspect(mut a) => {
                a.r#type = "container".into();
                commands::container::inspect::inspect(store, a)
            }
            ContainerCommand::Exists(a) => commands::container::inspect::exists(store, a),
            ContainerCommand::Prune(a) => commands::container::prune::prune(store, a),
            ContainerCommand::Clone(a) => commands::container::clone::clone(store, a),
        },
        Command::Unshare(a) => commands::unshare::unshare(store, a),
        Command::Login(a) => commands::login::login(a),
        Command::Search(a) => commands::image::search::search(a),
        Command::Logout(a) => commands::login::logout(a),
    }
}

/// A reader that stops early (`berth images -q | head -1`) ends berth as it
/// ends podman and every other Unix filter: by SIGPIPE, quietly, instead of a
/// panic's message. Only printing to stdout does this; a broken pipe anywhere
/// else (a client's socket, a container's stdin) stays an error to handle.
fn end_quietly_on_a_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            end_by_sigpipe();
        }
        default(info);
    }));
}

/// Ends berth as SIGPIPE ends a filter whose reader has gone (status 141).
pub(crate) fn end_by_sigpipe() {
    // SAFETY: restoring SIGPIPE's default action and raising it in this
    // process, which it then ends.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
}

/// `--noout`: stdout goes to /dev/null for the rest of the process.
pub fn silence_stdout() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 onto this process's own stdout slot with a descriptor
        // that stays open for the call.
        unsafe { libc::dup2(null.as_raw_fd(), 1) };
    }
}
