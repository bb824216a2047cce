//! `berth`: podman's, skopeo's and buildah's command lines over berth's libraries.
//! This crate only parses arguments, calls the libraries and prints.

mod attach;
mod commands;
mod exit;
mod progress;
mod prompt;
mod table;

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
    store: commands::images::StoreArgs,
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// podman's other global flags that scripts pass.
#[derive(clap::Args)]
struct Globals {
    /// Messages at and above this level (berth prints errors only).
    #[arg(long, global = true, value_parser = ["trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"])]
    log_level: Option<String>,
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
    /// Log out of a registry.
    Logout(commands::login::LogoutArgs),
    /// Pull an image into the local store.
    Pull(commands::images::PullArgs),
    /// Push a local image to a registry or another location.
    Push(commands::images::PushArgs),
    /// List local images.
    #[command(alias = "image-list")]
    Images(commands::images::ImagesArgs),
    /// Remove local images.
    Rmi(commands::images::RmiArgs),
    /// Add names to a local image.
    Tag(commands::images::TagArgs),
    /// Remove names from a local image.
    Untag(commands::images::TagArgs),
    /// Save an image to an archive or directory.
    Save(commands::images::SaveArgs),
    /// Load an image from an archive.
    Load(commands::images::LoadArgs),
    /// Show an image's history.
    History(commands::image_extra::HistoryArgs),
    /// Create an image from a tarball.
    Import(commands::image_extra::ImportArgs),
    /// Run a command in a new container from a local image.
    Run(commands::run::RunArgs),
    /// Create a container without starting it.
    Create(commands::run::CreateArgs),
    /// Start containers.
    Start(commands::containers::StartArgs),
    /// Attach to a running container's output and input.
    Attach(commands::containers::AttachArgs),
    /// Stop running containers (SIGTERM, then SIGKILL after a timeout).
    Stop(commands::containers::StopArgs),
    /// Send a signal to running containers.
    Kill(commands::containers::KillArgs),
    /// Remove containers.
    Rm(commands::containers::RmArgs),
    /// Wait for containers to exit and print their exit codes.
    Wait(commands::containers::NamesArgs),
    /// Print a container's log.
    Logs(commands::containers::LogsArgs),
    /// Run a process in a running container.
    Exec(commands::containers::ExecArgs),
    /// Create an image from a container's changes.
    Commit(commands::containers::CommitArgs),
    /// Copy files between a container and the host.
    Cp(commands::containers::CpArgs),
    /// Write a container's filesystem as a tar archive.
    Export(commands::containers::ExportArgs),
    /// Freeze the processes of running containers.
    Pause(commands::containers::PauseArgs),
    /// Thaw paused containers.
    Unpause(commands::containers::PauseArgs),
    /// Show a container's processes.
    Top(commands::containers::TopArgs),
    /// Stop and start containers again.
    Restart(commands::containers::StopArgs),
    /// Mount containers' root filesystems and print where.
    Mount(commands::containers::NamesArgs),
    /// Unmount containers' root filesystems.
    #[command(alias = "unmount")]
    Umount(commands::containers::NamesArgs),
    /// Manage named volumes.
    Volume(commands::volumes::VolumeArgs),
    /// Manage bridge networks.
    Network(commands::networks::NetworkArgs),
    /// List a container's published ports.
    Port(commands::containers::PortArgs),
    /// Give a container a new name.
    Rename(commands::containers::RenameArgs),
    /// List what a container changed over its image.
    Diff(commands::containers::DiffArgs),
    /// Show running containers' resource use.
    Stats(commands::containers::StatsArgs),
    /// Run containers' healthchecks.
    Healthcheck(commands::containers::HealthcheckArgs),
    /// Show berth's version.
    Version(commands::system::VersionArgs),
    /// Show the host and the store.
    Info(commands::system::InfoArgs),
    /// Build an image from a Containerfile.
    #[command(alias = "bud")]
    Build(commands::build::BuildArgs),
    /// Build images step by step with working containers (buildah's verbs).
    Builder(commands::builder::BuilderArgs),
    /// List containers.
    Ps(commands::containers::PsArgs),
    /// Show containers' configuration and state.
    Inspect(commands::containers::InspectArgs),
    /// Work with containers.
    Container(ContainerArgs),
    #[command(name = "__monitor", hide = true)]
    Monitor(commands::containers::MonitorArgs),
    /// Manage berth itself.
    System(SystemArgs),
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
    Ps(commands::containers::PsArgs),
    /// Show containers' configuration and state.
    Inspect(commands::containers::InspectArgs),
    /// Remove containers.
    Rm(commands::containers::RmArgs),
    /// Start containers.
    Start(commands::containers::StartArgs),
    /// Stop containers.
    Stop(commands::containers::StopArgs),
    /// Print a container's log.
    Logs(commands::containers::LogsArgs),
    /// Exit 0 when the container exists, 1 when not.
    Exists(commands::containers::ExistsArgs),
    /// Remove every container that is not running.
    Prune(commands::containers::PruneArgs),
    /// Create an image from a container's changes.
    Commit(commands::containers::CommitArgs),
    /// Run a process in a running container.
    Exec(commands::containers::ExecArgs),
    /// Send a signal to running containers.
    Kill(commands::containers::KillArgs),
    /// Wait for containers to exit.
    Wait(commands::containers::NamesArgs),
    /// Stop and start containers again.
    Restart(commands::containers::StopArgs),
    /// Run a command in a new container.
    Run(commands::run::RunArgs),
    /// Create a container without starting it.
    Create(commands::run::CreateArgs),
    /// Attach to a running container's output and input.
    Attach(commands::containers::AttachArgs),
    /// Copy files between a container and the host.
    Cp(commands::containers::CpArgs),
    /// Write a container's filesystem as a tar archive.
    Export(commands::containers::ExportArgs),
    /// Freeze the processes of running containers.
    Pause(commands::containers::PauseArgs),
    /// Thaw paused containers.
    Unpause(commands::containers::PauseArgs),
    /// Show a container's processes.
    Top(commands::containers::TopArgs),
    /// Mount containers' root filesystems and print where.
    Mount(commands::containers::NamesArgs),
    /// Unmount containers' root filesystems.
    #[command(alias = "unmount")]
    Umount(commands::containers::NamesArgs),
    /// List a container's published ports.
    Port(commands::containers::PortArgs),
    /// Give a container a new name.
    Rename(commands::containers::RenameArgs),
    /// List what a container changed over its image.
    Diff(commands::containers::DiffArgs),
    /// Show running containers' resource use.
    Stats(commands::containers::StatsArgs),
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
            C::Inspect(a) => Command::Inspect(a),
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

#[derive(clap::Args)]
struct SystemArgs {
    #[command(subcommand)]
    command: SystemCommand,
}

#[derive(Subcommand)]
enum SystemCommand {
    /// Check the store's layers and metadata.
    Check(commands::images::CheckArgs),
    /// Show the store's disk usage.
    Df(commands::image_extra::DfArgs),
    /// Remove stopped containers, dangling images (and with --volumes, unused volumes).
    Prune(commands::system::PruneArgs),
    /// Show the host and the store.
    Info(commands::system::InfoArgs),
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
    } = match Cli::try_parse() {
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
    if globals.noout {
        silence_stdout();
    }
    if let Err(Failure { code, message }) = dispatch(&store, command) {
        if !message.is_empty() {
            eprintln!("Error: {message}");
        }
        std::process::exit(code);
    }
}

fn dispatch(store: &commands::images::StoreArgs, command: Command) -> Result<(), Failure> {
    match command {
        Command::Image(a) => commands::image::run(store, a),
        Command::Pull(a) => commands::images::pull(store, a),
        Command::Push(a) => commands::images::push(store, a),
        Command::Images(a) => commands::images::images(store, a),
        Command::Rmi(a) => commands::images::rmi(store, a),
        Command::Tag(a) => commands::images::tag(store, a),
        Command::Untag(a) => commands::images::untag(store, a),
        Command::Save(a) => commands::images::save(store, a),
        Command::Load(a) => commands::images::load(store, a),
        Command::History(a) => commands::image_extra::history(store, a),
        Command::Import(a) => commands::image_extra::import(store, a),
        Command::System(s) => match s.command {
            SystemCommand::Check(a) => commands::images::system_check(store, a),
            SystemCommand::Df(a) => commands::image_extra::system_df(store, a),
            SystemCommand::Prune(a) => commands::system::prune(store, a),
            SystemCommand::Info(a) => commands::system::info(store, a),
        },
        Command::Run(a) => exit_with(commands::run::run(store, a)),
        Command::Create(a) => exit_with(commands::run::create(store, a)),
        Command::Monitor(a) => exit_with(commands::containers::monitor(store, a)),
        Command::Start(a) => exit_with(commands::containers::start(store, a)),
        Command::Attach(a) => exit_with(commands::containers::attach(store, a)),
        Command::Stop(a) => commands::containers::stop(store, a),
        Command::Kill(a) => commands::containers::kill(store, a),
        Command::Rm(a) => commands::containers::rm(store, a),
        Command::Wait(a) => commands::containers::wait(store, a),
        Command::Logs(a) => commands::containers::logs(store, a),
        Command::Exec(a) => exit_with(commands::containers::exec(store, a)),
        Command::Commit(a) => commands::containers::commit(store, a),
        Command::Cp(a) => commands::containers::cp(store, a),
        Command::Export(a) => commands::containers::export(store, a),
        Command::Pause(a) => commands::containers::pause(store, a, true),
        Command::Unpause(a) => commands::containers::pause(store, a, false),
        Command::Top(a) => commands::containers::top(store, a),
        Command::Restart(a) => commands::containers::restart(store, a),
        Command::Mount(a) => commands::containers::mount(store, a),
        Command::Umount(a) => commands::containers::umount(store, a),
        Command::Volume(a) => commands::volumes::run(store, a),
        Command::Network(a) => commands::networks::run(store, a),
        Command::Port(a) => commands::containers::port(store, a),
        Command::Rename(a) => commands::containers::rename(store, a),
        Command::Diff(a) => commands::containers::diff(store, a),
        Command::Stats(a) => commands::containers::stats(store, a),
        Command::Healthcheck(a) => commands::containers::healthcheck(store, a),
        Command::Info(a) => commands::system::info(store, a),
        Command::Build(a) => exit_with(commands::build::build(store, a)),
        Command::Builder(a) => exit_with(commands::builder::run(store, a)),
        Command::Version(a) => commands::system::version(a),
        Command::Ps(a) => commands::containers::ps(store, a),
        Command::Inspect(a) => commands::containers::inspect(store, a),
        Command::Container(c) => match c.command.into_command() {
            Ok(command) => dispatch(store, command),
            Err(ContainerCommand::Exists(a)) => commands::containers::exists(store, a),
            Err(ContainerCommand::Prune(a)) => commands::containers::prune(store, a),
            Err(_) => unreachable!("every other container command has a top-level one"),
        },
        Command::Login(a) => commands::login::login(a),
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
