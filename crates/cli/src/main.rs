//! `berth`: podman's, skopeo's and buildah's command lines over berth's libraries.
//! This crate only parses arguments, calls the libraries and prints.

mod commands;
mod exit;
mod progress;
mod table;
mod template;

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
    #[command(subcommand)]
    command: Command,
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
    Pause(commands::containers::NamesArgs),
    /// Thaw paused containers.
    Unpause(commands::containers::NamesArgs),
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
    Version,
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Image(a) => commands::image::run(&cli.store, a),
        Command::Pull(a) => commands::images::pull(&cli.store, a),
        Command::Push(a) => commands::images::push(&cli.store, a),
        Command::Images(a) => commands::images::images(&cli.store, a),
        Command::Rmi(a) => commands::images::rmi(&cli.store, a),
        Command::Tag(a) => commands::images::tag(&cli.store, a),
        Command::Untag(a) => commands::images::untag(&cli.store, a),
        Command::Save(a) => commands::images::save(&cli.store, a),
        Command::Load(a) => commands::images::load(&cli.store, a),
        Command::History(a) => commands::image_extra::history(&cli.store, a),
        Command::Import(a) => commands::image_extra::import(&cli.store, a),
        Command::System(s) => match s.command {
            SystemCommand::Check(a) => commands::images::system_check(&cli.store, a),
            SystemCommand::Df(a) => commands::image_extra::system_df(&cli.store, a),
            SystemCommand::Prune(a) => commands::system::prune(&cli.store, a),
            SystemCommand::Info(a) => commands::system::info(&cli.store, a),
        },
        Command::Run(a) => exit_with(commands::run::run(&cli.store, a)),
        Command::Create(a) => exit_with(commands::run::create(&cli.store, a)),
        Command::Monitor(a) => exit_with(commands::containers::monitor(&cli.store, a)),
        Command::Start(a) => exit_with(commands::containers::start(&cli.store, a)),
        Command::Attach(a) => exit_with(commands::containers::attach(&cli.store, a)),
        Command::Stop(a) => commands::containers::stop(&cli.store, a),
        Command::Kill(a) => commands::containers::kill(&cli.store, a),
        Command::Rm(a) => commands::containers::rm(&cli.store, a),
        Command::Wait(a) => commands::containers::wait(&cli.store, a),
        Command::Logs(a) => commands::containers::logs(&cli.store, a),
        Command::Exec(a) => exit_with(commands::containers::exec(&cli.store, a)),
        Command::Commit(a) => commands::containers::commit(&cli.store, a),
        Command::Cp(a) => commands::containers::cp(&cli.store, a),
        Command::Export(a) => commands::containers::export(&cli.store, a),
        Command::Pause(a) => commands::containers::pause(&cli.store, a, true),
        Command::Unpause(a) => commands::containers::pause(&cli.store, a, false),
        Command::Top(a) => commands::containers::top(&cli.store, a),
        Command::Restart(a) => commands::containers::restart(&cli.store, a),
        Command::Mount(a) => commands::containers::mount(&cli.store, a),
        Command::Umount(a) => commands::containers::umount(&cli.store, a),
        Command::Volume(a) => commands::volumes::run(&cli.store, a),
        Command::Network(a) => commands::networks::run(&cli.store, a),
        Command::Port(a) => commands::containers::port(&cli.store, a),
        Command::Rename(a) => commands::containers::rename(&cli.store, a),
        Command::Diff(a) => commands::containers::diff(&cli.store, a),
        Command::Stats(a) => commands::containers::stats(&cli.store, a),
        Command::Healthcheck(a) => commands::containers::healthcheck(&cli.store, a),
        Command::Info(a) => commands::system::info(&cli.store, a),
        Command::Build(a) => exit_with(commands::build::build(&cli.store, a)),
        Command::Builder(a) => exit_with(commands::builder::run(&cli.store, a)),
        Command::Version => {
            println!("Version:      {}", env!("CARGO_PKG_VERSION"));
            println!("API Version:  {}", env!("CARGO_PKG_VERSION"));
            println!(
                "OS/Arch:      linux/{}",
                std::env::consts::ARCH
                    .replace("x86_64", "amd64")
                    .replace("aarch64", "arm64")
            );
            Ok(())
        }
        Command::Ps(a) => commands::containers::ps(&cli.store, a),
        Command::Inspect(a) => commands::containers::inspect(&cli.store, a),
        Command::Container(c) => match c.command {
            ContainerCommand::Ps(a) => commands::containers::ps(&cli.store, a),
            ContainerCommand::Inspect(a) => commands::containers::inspect(&cli.store, a),
            ContainerCommand::Rm(a) => commands::containers::rm(&cli.store, a),
            ContainerCommand::Start(a) => exit_with(commands::containers::start(&cli.store, a)),
            ContainerCommand::Stop(a) => commands::containers::stop(&cli.store, a),
            ContainerCommand::Logs(a) => commands::containers::logs(&cli.store, a),
            ContainerCommand::Exists(a) => commands::containers::exists(&cli.store, a),
            ContainerCommand::Prune(a) => commands::containers::prune(&cli.store, a),
            ContainerCommand::Commit(a) => commands::containers::commit(&cli.store, a),
            ContainerCommand::Exec(a) => exit_with(commands::containers::exec(&cli.store, a)),
            ContainerCommand::Kill(a) => commands::containers::kill(&cli.store, a),
            ContainerCommand::Wait(a) => commands::containers::wait(&cli.store, a),
            ContainerCommand::Restart(a) => commands::containers::restart(&cli.store, a),
        },
        Command::Login(a) => commands::login::login(a),
        Command::Logout(a) => commands::login::logout(a),
    };
    if let Err(Failure { code, message }) = result {
        if !message.is_empty() {
            eprintln!("Error: {message}");
        }
        std::process::exit(code);
    }
}
