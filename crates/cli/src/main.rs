//! `berth`: podman's, skopeo's and buildah's command lines over berth's libraries.
//! This crate only parses arguments, calls the libraries and prints.

mod attach;
mod commands;
mod exit;
mod logging;
mod output;
mod progress;
mod prompt;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "A daemonless container toolkit",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    store: commands::StoreArgs,
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// podman's other global flags that scripts pass.
#[derive(clap::Args)]
struct Globals {
    /// Messages at and above this level on stderr: trace, debug, info, warn
    /// (the default), error, fatal or panic.
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// The same as --log-level=debug (docker's flag).
    #[arg(short = 'D', long, global = true)]
    debug: bool,
    /// Where events are written: file, journald or none (berth records none yet).
    #[arg(long, global = true, value_parser = ["file", "journald", "none"])]
    events_backend: Option<String>,
    /// Print nothing on stdout (errors still go to stderr).
    #[arg(long, global = true)]
    noout: bool,
}

// Parsed once; boxing the big variants buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Work with images: inspect, copy, sync, list tags and delete (skopeo's verbs).
    Image(commands::image::ImageArgs),
    /// Log in to a registry.
    Login(commands::login::LoginArgs),
    /// Search a registry for repositories (or list a repository's tags).
    Search(commands::image::search::SearchArgs),
    /// Log out of a registry.
    Logout(commands::login::LogoutArgs),
    /// Pull an image into the local store.
    Pull(commands::image::pull::PullArgs),
    /// Push a local image to a registry or another location.
    Push(commands::image::push::PushArgs),
    /// List local images.
    #[command(alias = "image-list")]
    Images(commands::image::list::ImagesArgs),
    /// Remove local images.
    Rmi(commands::image::remove::RmiArgs),
    /// Add names to a local image.
    Tag(commands::image::remove::TagArgs),
    /// Remove names from a local image.
    Untag(commands::image::remove::TagArgs),
    /// Save an image to an archive or directory.
    Save(commands::image::archive::SaveArgs),
    /// Load an image from an archive.
    Load(commands::image::archive::LoadArgs),
    /// Show an image's history.
    History(commands::image::history::HistoryArgs),
    /// Create an image from a tarball.
    Import(commands::image::archive::ImportArgs),
    /// Run a command in a new container from a local image.
    Run(commands::container::run::RunArgs),
    /// Create a container without starting it.
    Create(commands::container::run::CreateArgs),
    /// Start containers.
    Start(commands::container::lifecycle::StartArgs),
    /// Attach to a running container's output and input.
    Attach(commands::container::lifecycle::AttachArgs),
    /// Stop running containers (SIGTERM, then SIGKILL after a timeout).
    Stop(commands::container::lifecycle::StopArgs),
    /// Send a signal to running containers.
    Kill(commands::container::lifecycle::KillArgs),
    /// Remove containers.
    Rm(commands::container::lifecycle::RmArgs),
    /// Wait for containers to exit and print their exit codes.
    Wait(commands::container::lifecycle::WaitArgs),
    /// Print a container's log.
    Logs(commands::container::logs::LogsArgs),
    /// Run a process in a running container.
    Exec(commands::container::exec::ExecArgs),
    /// Create an image from a container's changes.
    Commit(commands::container::changes::CommitArgs),
    /// Copy files between a container and the host.
    Cp(commands::container::files::CpArgs),
    /// Write a container's filesystem as a tar archive.
    Export(commands::container::changes::ExportArgs),
    /// Freeze the processes of running containers.
    Pause(commands::container::lifecycle::PauseArgs),
    /// Thaw paused containers.
    Unpause(commands::container::lifecycle::PauseArgs),
    /// Show a container's processes.
    Top(commands::container::stats::TopArgs),
    /// Stop and start containers again.
    Restart(commands::container::lifecycle::StopArgs),
    /// Mount containers' root filesystems and print where.
    Mount(commands::container::files::MountArgs),
    /// Unmount containers' root filesystems.
    #[command(alias = "unmount")]
    Umount(commands::container::files::UmountArgs),
    /// Manage named volumes.
    Volume(commands::volume::VolumeArgs),
    /// Manage bridge networks.
    Network(commands::network::NetworkArgs),
    /// List a container's published ports.
    Port(commands::container::stats::PortArgs),
    /// Give a container a new name.
    Rename(commands::container::lifecycle::RenameArgs),
    /// List what a container changed over its image.
    Diff(commands::container::changes::DiffArgs),
    /// Show running containers' resource use.
    Stats(commands::container::stats::StatsArgs),
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
    Container(ContainerArgs),
    #[command(name = "__monitor", hide = true)]
    Monitor(commands::container::lifecycle::MonitorArgs),
    /// Manage berth itself.
    System(commands::system::SystemArgs),
}

#[derive(clap::Args)]
struct ContainerArgs {
    #[command(subcommand)]
    command: ContainerCommand,
}

#[derive(Subcommand)]
enum ContainerCommand {
    /// List containers.
    #[command(alias = "ls", alias = "list")]
    Ps(commands::container::ps::PsArgs),
    /// Show containers' configuration and state.
    Inspect(commands::container::inspect::InspectArgs),
    /// Remove containers.
    Rm(commands::container::lifecycle::RmArgs),
    /// Start containers.
    Start(commands::container::lifecycle::StartArgs),
    /// Stop containers.
    Stop(commands::container::lifecycle::StopArgs),
    /// Print a container's log.
    Logs(commands::container::logs::LogsArgs),
    /// Exit 0 when the container exists, 1 when not.
    Exists(commands::container::inspect::ExistsArgs),
    /// Remove every container that is not running.
    Prune(commands::container::lifecycle::PruneArgs),
    /// Create an image from a container's changes.
    Commit(commands::container::changes::CommitArgs),
    /// Run a process in a running container.
    Exec(commands::container::exec::ExecArgs),
    /// Send a signal to running containers.
    Kill(commands::container::lifecycle::KillArgs),
    /// Wait for containers to exit.
    Wait(commands::container::lifecycle::WaitArgs),
    /// Stop and start containers again.
    Restart(commands::container::lifecycle::StopArgs),
    /// Run a command in a new container.
    Run(commands::container::run::RunArgs),
    /// Create a container without starting it.
    Create(commands::container::run::CreateArgs),
    /// Attach to a running container's output and input.
    Attach(commands::container::lifecycle::AttachArgs),
    /// Copy files between a container and the host.
    Cp(commands::container::files::CpArgs),
    /// Write a container's filesystem as a tar archive.
    Export(commands::container::changes::ExportArgs),
    /// Freeze the processes of running containers.
    Pause(commands::container::lifecycle::PauseArgs),
    /// Thaw paused containers.
    Unpause(commands::container::lifecycle::PauseArgs),
    /// Show a container's processes.
    Top(commands::container::stats::TopArgs),
    /// Mount containers' root filesystems and print where.
    Mount(commands::container::files::MountArgs),
    /// Unmount containers' root filesystems.
    #[command(alias = "unmount")]
    Umount(commands::container::files::UmountArgs),
    /// List a container's published ports.
    Port(commands::container::stats::PortArgs),
    /// Give a container a new name.
    Rename(commands::container::lifecycle::RenameArgs),
    /// List what a container changed over its image.
    Diff(commands::container::changes::DiffArgs),
    /// Show running containers' resource use.
    Stats(commands::container::stats::StatsArgs),
}

impl ContainerCommand {
    /// The top-level command of the same name (`container X` is `X`), or the
    /// container-only ones as they are.
    // Parsed once; boxing the big variants buys nothing.
    #[allow(clippy::result_large_err)]
    fn into_command(self) -> Result<Command, ContainerCommand> {
        use ContainerCommand as C;
        Ok(match self {
            C::Ps(a) => Command::Ps(a),
            // `container inspect` inspects containers only.
            C::Inspect(mut a) => {
                a.r#type = "container".into();
                Command::Inspect(a)
            }
            C::Rm(a) => Command::Rm(a),
            C::Start(a) => Command::Start(a),
            C::Stop(a) => Command::Stop(a),
            C::Logs(a) => Command::Logs(a),
            C::Commit(a) => Command::Commit(a),
            C::Exec(a) => Command::Exec(a),
            C::Kill(a) => Command::Kill(a),
            C::Wait(a) => Command::Wait(a),
            C::Restart(a) => Command::Restart(a),
            C::Run(a) => Command::Run(a),
            C::Create(a) => Command::Create(a),
            C::Attach(a) => Command::Attach(a),
            C::Cp(a) => Command::Cp(a),
            C::Export(a) => Command::Export(a),
            C::Pause(a) => Command::Pause(a),
            C::Unpause(a) => Command::Unpause(a),
            C::Top(a) => Command::Top(a),
            C::Mount(a) => Command::Mount(a),
            C::Umount(a) => Command::Umount(a),
            C::Port(a) => Command::Port(a),
            C::Rename(a) => Command::Rename(a),
            C::Diff(a) => Command::Diff(a),
            C::Stats(a) => Command::Stats(a),
            other => return Err(other),
        })
    }
}

/// The command line, where (as with podman's flags) a flag given twice
/// counts once, the last value.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    fn override_self(c: clap::Command) -> clap::Command {
        c.args_override_self(true).mut_subcommands(override_self)
    }
    let matches = override_self(Cli::command()).try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// Exits with a command's own code (a container's), or reports its failure.
fn exit_with(r: Result<i32, Failure>) -> Result<(), Failure> {
    match r {
        Ok(code) => std::process::exit(code),
        Err(f) => Err(f),
    }
}

fn main() {
    let Cli {
        store,
        globals,
        command,
    } = match parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version are answers; a bad command line is podman's 125
            // (skopeo's 1 under `berth image`).
            let code = if !e.use_stderr() {
                0
            } else if std::env::args().nth(1).as_deref() == Some("image") {
                1
            } else {
                125
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
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
    if globals.events_backend.as_deref() == Some("none") {
        berth_engine::events::disable();
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
        Command::Pull(a) => commands::image::pull::pull(store, a),
        Command::Push(a) => commands::image::push::push(store, a),
        Command::Images(a) => commands::image::list::images(store, a),
        Command::Rmi(a) => commands::image::remove::rmi(store, a),
        Command::Tag(a) => commands::image::remove::tag(store, a),
        Command::Untag(a) => commands::image::remove::untag(store, a),
        Command::Save(a) => commands::image::archive::save(store, a),
        Command::Load(a) => commands::image::archive::load(store, a),
        Command::History(a) => commands::image::history::history(store, a),
        Command::Import(a) => commands::image::archive::import(store, a),
        Command::System(s) => commands::system::run(store, s),
        Command::Run(a) => exit_with(commands::container::run::run(store, a)),
        Command::Create(a) => exit_with(commands::container::run::create(store, a)),
        Command::Monitor(a) => exit_with(commands::container::lifecycle::monitor(store, a)),
        Command::Start(a) => exit_with(commands::container::lifecycle::start(store, a)),
        Command::Attach(a) => exit_with(commands::container::lifecycle::attach(store, a)),
        Command::Stop(a) => commands::container::lifecycle::stop(store, a),
        Command::Kill(a) => commands::container::lifecycle::kill(store, a),
        Command::Rm(a) => commands::container::lifecycle::rm(store, a),
        Command::Wait(a) => commands::container::lifecycle::wait(store, a),
        Command::Logs(a) => commands::container::logs::logs(store, a),
        Command::Exec(a) => exit_with(commands::container::exec::exec(store, a)),
        Command::Commit(a) => commands::container::changes::commit(store, a),
        Command::Cp(a) => commands::container::files::cp(store, a),
        Command::Export(a) => commands::container::changes::export(store, a),
        Command::Pause(a) => commands::container::lifecycle::pause(store, a, true),
        Command::Unpause(a) => commands::container::lifecycle::pause(store, a, false),
        Command::Top(a) => commands::container::stats::top(store, a),
        Command::Restart(a) => commands::container::lifecycle::restart(store, a),
        Command::Mount(a) => commands::container::files::mount(store, a),
        Command::Umount(a) => commands::container::files::umount(store, a),
        Command::Volume(a) => commands::volume::run(store, a),
        Command::Network(a) => commands::network::run(store, a),
        Command::Port(a) => commands::container::stats::port(store, a),
        Command::Rename(a) => commands::container::lifecycle::rename(store, a),
        Command::Diff(a) => commands::container::changes::diff(store, a),
        Command::Stats(a) => commands::container::stats::stats(store, a),
        Command::Healthcheck(a) => commands::container::health::healthcheck(store, a),
        Command::Info(a) => commands::system::info(store, a),
        Command::Build(a) => exit_with(commands::builder::build::build(store, a)),
        Command::Events(a) => commands::events::events(store, a),
        Command::Buildx(b) => exit_with(commands::builder::build::buildx(store, b)),
        Command::Builder(a) => exit_with(commands::builder::run(store, a)),
        Command::Version(a) => commands::system::version(a),
        Command::Ps(a) => commands::container::ps::ps(store, a),
        Command::Inspect(a) => commands::container::inspect::inspect(store, a),
        Command::Container(c) => match c.command.into_command() {
            Ok(command) => dispatch(store, command),
            Err(ContainerCommand::Exists(a)) => commands::container::inspect::exists(store, a),
            Err(ContainerCommand::Prune(a)) => commands::container::lifecycle::prune(store, a),
            Err(_) => unreachable!("every other container command has a top-level one"),
        },
        Command::Login(a) => commands::login::login(a),
        Command::Search(a) => commands::image::search::search(a),
        Command::Logout(a) => commands::login::logout(a),
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
