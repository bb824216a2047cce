//! `kube play` and `kube down` (podman's; `play kube` too).

use std::io::Read;

use crate::commands::StoreArgs;
use crate::commands::container::run::monitor_argv;
use crate::exit::{self, CmdResult};
use berth_engine::kube::{self, PlayOptions};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct KubeArgs {
    #[command(subcommand)]
    command: KubeCommand,
}

#[derive(Subcommand)]
enum KubeCommand {
    /// Make pods from Kubernetes YAML (Pods, Deployments) and start them.
    Play(PlayArgs),
    /// Remove the pods Kubernetes YAML made.
    Down(DownArgs),
    /// Write pods and containers as Kubernetes YAML.
    Generate(GenerateArgs),
}

#[derive(Args)]
pub(crate) struct GenerateArgs {
    /// Write the YAML to this file instead of standard output.
    #[arg(short, long)]
    filename: Option<std::path::PathBuf>,
    /// Pods or containers (names or IDs).
    #[arg(required = true)]
    names: Vec<String>,
}

/// `play kube FILE`: podman's older spelling.
#[derive(Args)]
pub struct PlayNounArgs {
    #[command(subcommand)]
    command: PlayNoun,
}

#[derive(Subcommand)]
enum PlayNoun {
    /// The same as `kube play`.
    Kube(PlayArgs),
}

#[derive(Args)]
struct PlayArgs {
    /// Replace pods of the same names.
    #[arg(long)]
    replace: bool,
    /// Start the pods (default true).
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true")]
    start: bool,
    /// The pods' network.
    #[arg(long)]
    network: Option<String>,
    /// KEY=VALUE on every container, repeatable.
    #[arg(long)]
    annotation: Vec<String>,
    /// A YAML file, or - for standard input.
    file: String,
}

#[derive(Args)]
struct DownArgs {
    /// A YAML file, or - for standard input.
    file: String,
}

/// The YAML, at most what `kube play` reads (and one byte more, to tell).
fn read_yaml(file: &str) -> Result<String, exit::Failure> {
    let limit = kube::MAX_YAML as u64 + 1;
    let mut text = String::new();
    let r = match file {
        "-" => std::io::stdin()
            .lock()
            .take(limit)
            .read_to_string(&mut text),
        f => std::fs::File::open(f).and_then(|h| h.take(limit).read_to_string(&mut text)),
    };
    r.map_err(|e| exit::podman(format!("{file}: {e}")))?;
    Ok(text)
}

pub fn run(store_args: &StoreArgs, a: KubeArgs) -> CmdResult {
    match a.command {
        KubeCommand::Play(p) => play(store_args, p),
        KubeCommand::Generate(g) => generate(store_args, g),
        KubeCommand::Down(d) => {
            let store = store_args.open()?;
            let yaml = read_yaml(&d.file)?;
            let gone = kube::down(&store, &yaml).map_err(exit::engine)?;
            println!("Pods stopped:");
            gone.iter().for_each(|id| println!("{id}"));
            println!("Pods removed:");
            gone.iter().for_each(|id| println!("{id}"));
            Ok(())
        }
    }
}

pub(crate) fn generate(store_args: &StoreArgs, g: GenerateArgs) -> CmdResult {
    let store = store_args.open()?;
    let yaml = kube::generate(&store, &g.names).map_err(exit::engine)?;
    match &g.filename {
        Some(f) => {
            std::fs::write(f, yaml).map_err(|e| exit::podman(format!("{}: {e}", f.display())))
        }
        None => crate::output::write_out(yaml.as_bytes()),
    }
}

pub fn play_noun(store_args: &StoreArgs, a: PlayNounArgs) -> CmdResult {
    match a.command {
        PlayNoun::Kube(p) => play(store_args, p),
    }
}

fn play(store_args: &StoreArgs, p: PlayArgs) -> CmdResult {
    exit::protect_self()?;
    let store = store_args.open()?;
    let yaml = read_yaml(&p.file)?;
    let o = PlayOptions {
        replace: p.replace,
        start: p.start,
        network: p
            .network
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(exit::podman)?,
        annotations: p.annotation,
    };
    let played =
        kube::play(&store, &yaml, &o, &|id| monitor_argv(store_args, id)).map_err(exit::engine)?;
    for pod in played {
        println!("Pod:\n{}\nContainers:", pod.id);
        pod.containers.iter().for_each(|c| println!("{c}"));
        println!();
    }
    Ok(())
}
