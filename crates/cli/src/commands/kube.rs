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
    /// Build a container's image from the directory of its image's name
    /// (`quay.io/x/app` → `CONTEXT-DIR/app`) holding a Containerfile or Dockerfile.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    build: Option<bool>,
    /// Where --build looks for those directories (default: the current one).
    #[arg(long, requires = "build")]
    context_dir: Option<std::path::PathBuf>,
    /// Also make a service container (`DIGEST12-service`, of the YAML's SHA-256)
    /// that runs while the pods do, for a systemd unit to watch.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    service_container: Option<bool>,
    /// A YAML file of ConfigMaps the pods' env and volumes may name (repeatable,
    /// or comma-separated).
    #[arg(long, value_delimiter = ',')]
    configmap: Vec<String>,
    /// The log driver of every container: k8s-file, journald or none.
    #[arg(long)]
    log_driver: Option<String>,
    /// A YAML file, an http(s) URL serving one, or - for standard input.
    file: String,
}

#[derive(Args)]
struct DownArgs {
    /// A YAML file, an http(s) URL serving one, or - for standard input.
    file: String,
}

/// An error of the YAML's, with the file it is in named.
fn naming(file: &str, e: berth_engine::Error) -> exit::Failure {
    let f = exit::engine(e);
    let message = match f.message.strip_prefix("kube: ") {
        Some(rest) => format!("kube: {file}: {rest}"),
        None => f.message,
    };
    exit::Failure { message, ..f }
}

/// The YAML, at most what `kube play` reads (and one byte more, to tell).
fn read_yaml(file: &str) -> Result<String, exit::Failure> {
    let limit = kube::MAX_YAML as u64 + 1;
    if file != "-" {
        return berth_engine::input::read_text(file, limit).map_err(exit::podman);
    }
    let mut text = String::new();
    let stdin = std::io::stdin().lock();
    stdin
        .take(limit)
        .read_to_string(&mut text)
        .map_err(|e| exit::podman(format!("{file}: {e}")))?;
    Ok(text)
}

pub fn run(store_args: &StoreArgs, a: KubeArgs) -> CmdResult {
    match a.command {
        KubeCommand::Play(p) => play(store_args, p),
        KubeCommand::Generate(g) => generate(store_args, g),
        KubeCommand::Down(d) => {
            let store = store_args.open()?;
            let yaml = read_yaml(&d.file)?;
            let gone = kube::down(&store, &yaml).map_err(|e| naming(&d.file, e))?;
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
        Some(f) => berth_engine::outfile::write(f, yaml)
            .map_err(|e| exit::podman(format!("{}: {e}", f.display()))),
        None => crate::output::write_out(yaml.as_bytes()),
    }
}

pub fn play_noun(store_args: &StoreArgs, a: PlayNounArgs) -> CmdResult {
    match a.command {
        PlayNoun::Kube(p) => play(store_args, p),
    }
}

fn play(store_args: &StoreArgs, p: PlayArgs) -> CmdResult {
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
        service_container: p.service_container == Some(true),
        configmaps: p
            .configmap
            .iter()
            .map(|f| read_yaml(f))
            .collect::<Result<_, _>>()?,
        log_driver: p.log_driver.clone(),
        images: match p.build {
            Some(true) => build_images(store_args, &yaml, p.context_dir.as_deref())?,
            _ => Default::default(),
        },
    };
    let played = kube::play(&store, &yaml, &o, &|id| monitor_argv(store_args, id))
        .map_err(|e| naming(&p.file, e))?;
    for pod in played {
        println!("Pod:\n{}\nContainers:", pod.id);
        pod.containers.iter().for_each(|c| println!("{c}"));
        println!();
    }
    Ok(())
}

/// `--build`: each image whose name's last part is a directory under
/// `context` with a Containerfile (or Dockerfile) is built there, by `berth
/// build` as a user would run it, and tagged with that part; the YAML's
/// containers then run it. Returns those images.
fn build_images(
    store_args: &StoreArgs,
    yaml: &str,
    context: Option<&std::path::Path>,
) -> Result<std::collections::BTreeMap<String, String>, exit::Failure> {
    let context = match context {
        Some(c) => c.to_path_buf(),
        None => std::env::current_dir().map_err(exit::podman)?,
    };
    let mut built = std::collections::BTreeMap::new();
    for (image, base, dir) in kube::build_contexts(yaml, &context).map_err(exit::engine)? {
        let base = base.as_str();
        let argv = crate::commands::container::run::berth_argv(store_args);
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .args(["build", "-q", "-t", base])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| exit::podman(format!("build {}: {e}", dir.display())))?;
        if !status.success() {
            return Err(exit::podman(format!(
                "building {image} from {}",
                dir.display()
            )));
        }
        built.insert(image.clone(), base.to_string());
    }
    Ok(built)
}
