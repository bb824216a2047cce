//! `berth`: podman's, skopeo's and buildah's command lines over berth's libraries.
//! This crate only parses arguments, calls the libraries and prints.

mod commands;
mod exit;
mod progress;
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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Image(a) => commands::image::run(a),
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
