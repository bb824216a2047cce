//! `berth run`: a container from a local image, in the foreground (podman's flags).

use crate::commands::images::StoreArgs;
use crate::exit::Failure;
use berth_engine::spec::ProcessOptions;
use berth_engine::{RunOptions, run as engine_run};
use clap::Args;

#[derive(Args)]
pub struct RunArgs {
    /// Remove the container when it exits.
    #[arg(long)]
    rm: bool,
    /// Name the container.
    #[arg(long)]
    name: Option<String>,
    /// Set an environment variable (KEY=VALUE).
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long)]
    workdir: Option<String>,
    /// User (name or UID[:GID]).
    #[arg(short, long)]
    user: Option<String>,
    /// Replace the image's entrypoint (a command, or a JSON array).
    #[arg(long)]
    entrypoint: Option<String>,
    /// none (a network namespace with loopback only) or host.
    #[arg(long, default_value = "none")]
    network: String,
    #[arg(long)]
    hostname: Option<String>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    read_only: bool,
    #[arg(long)]
    cap_add: Vec<String>,
    #[arg(long)]
    cap_drop: Vec<String>,
    image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Returns the container's exit code, or a failure with podman's 125/126/127.
pub fn run(store_args: &StoreArgs, a: RunArgs) -> Result<i32, Failure> {
    // This process becomes the container's runtime; protect its binary as berth-oci
    // does (CVE-2019-5736) before anything is forked.
    berth_runtime::selfexe::ensure_protected().map_err(|e| Failure {
        code: 125,
        message: e.0,
    })?;
    let store = store_args.open()?;
    let entrypoint = a.entrypoint.map(|e| {
        serde_json::from_str::<Vec<String>>(&e)
            .unwrap_or_else(|_| if e.is_empty() { Vec::new() } else { vec![e] })
    });
    let o = RunOptions {
        image: a.image,
        name: a.name,
        rm: a.rm,
        process: ProcessOptions {
            command: a.command,
            entrypoint,
            env: a.env,
            workdir: a.workdir,
            user: a.user,
            hostname: a.hostname,
            network: a.network,
            read_only: a.read_only,
            cap_add: a.cap_add,
            cap_drop: a.cap_drop,
        },
    };
    engine_run(&store, &o).map_err(|e| Failure {
        code: e.exit_code(),
        message: e.to_string(),
    })
}
