//! `berth build` (podman build / buildah bud): parses and plans in berth-build,
//! runs the steps through the engine; this file only reads the arguments.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use clap::Args;

use crate::commands::images::StoreArgs;
use crate::exit::Failure;

#[derive(Args)]
pub struct BuildArgs {
    /// The Containerfile (`-` for stdin); default CONTEXT/Containerfile, then Dockerfile.
    #[arg(short, long)]
    file: Option<String>,
    /// Name the image (repeatable).
    #[arg(short, long)]
    tag: Vec<String>,
    /// NAME=VALUE for an ARG.
    #[arg(long)]
    build_arg: Vec<String>,
    /// Build up to this stage.
    #[arg(long)]
    target: Option<String>,
    /// KEY=VALUE label on the image.
    #[arg(long)]
    label: Vec<String>,
    /// Print only the image ID.
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to this file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// Network for RUN: none (default) or host.
    #[arg(long, value_parser = ["none", "host"])]
    network: Option<String>,
    /// Reuse stages built before from the same inputs (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "true")]
    layers: bool,
    /// Build every stage again.
    #[arg(long)]
    no_cache: bool,
    /// Accepted for podman's scripts: intermediate containers are always removed.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    rm: Option<bool>,
    /// The build context directory.
    #[arg(default_value = ".")]
    context: PathBuf,
}

fn fail(code: i32, m: impl Into<String>) -> Failure {
    Failure {
        code,
        message: m.into(),
    }
}

/// Returns the exit code: 0, or a failing RUN's own.
pub fn build(store_args: &StoreArgs, a: BuildArgs) -> Result<i32, Failure> {
    berth_runtime::selfexe::ensure_protected().map_err(|e| fail(125, e.0))?;
    if !a.context.is_dir() {
        return Err(fail(
            125,
            format!(
                "{}: the build context must be a directory",
                a.context.display()
            ),
        ));
    }
    let (text, name) = match a.file.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| fail(125, format!("reading the Containerfile from stdin: {e}")))?;
            (s, "Containerfile".to_string())
        }
        Some(f) => (
            std::fs::read_to_string(f).map_err(|e| fail(125, format!("{f}: {e}")))?,
            f.to_string(),
        ),
        None => {
            let found = ["Containerfile", "Dockerfile"]
                .iter()
                .map(|n| a.context.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    fail(
                        125,
                        format!("no Containerfile or Dockerfile in {}", a.context.display()),
                    )
                })?;
            (
                std::fs::read_to_string(&found)
                    .map_err(|e| fail(125, format!("{}: {e}", found.display())))?,
                found
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    };
    let pairs = |v: &[String], flag: &str| -> Result<Vec<(String, String)>, Failure> {
        v.iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| fail(125, format!("{flag} {kv}: expected KEY=VALUE")))
            })
            .collect()
    };
    let build_args: BTreeMap<String, String> =
        pairs(&a.build_arg, "--build-arg")?.into_iter().collect();
    let req = berth_build::execute::BuildRequest {
        containerfile: text,
        file_name: name,
        context: std::fs::canonicalize(&a.context).map_err(|e| fail(125, e.to_string()))?,
        tags: a.tag.clone(),
        build_args,
        target: a.target.clone(),
        labels: pairs(&a.label, "--label")?,
        network: a.network.clone(),
        layers: a.layers,
        no_cache: a.no_cache,
    };
    let store = store_args.open()?;
    let mut log: Box<dyn std::io::Write> = if a.quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stderr())
    };
    let id =
        berth_build::execute::build(&store, &req, &mut log).map_err(|e| fail(e.code, e.message))?;
    if let Some(f) = &a.iidfile {
        std::fs::write(f, format!("sha256:{id}"))
            .map_err(|e| fail(125, format!("{}: {e}", f.display())))?;
    }
    println!("{id}");
    Ok(0)
}
