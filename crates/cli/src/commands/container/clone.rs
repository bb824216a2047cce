//! `container clone`.

use crate::commands::StoreArgs;
use crate::exit::CmdResult;
use berth_engine::clone::CloneOptions;
use clap::Args;

#[derive(Args)]
pub struct CloneArgs {
    /// The clone's name (default: the original's with -clone).
    #[arg(long)]
    name: Option<String>,
    /// The pod the clone joins instead of the original's.
    #[arg(long)]
    pod: Option<String>,
    /// Remove the original once cloned.
    #[arg(long)]
    destroy: bool,
    /// With --destroy: remove the original even when it runs.
    #[arg(short, long)]
    force: bool,
    /// Start the clone.
    #[arg(long)]
    run: bool,
    /// Limits replacing the original's.
    #[command(flatten)]
    resources: super::flags::ResourceFlags,
    container: String,
    /// The clone's name, as --name.
    new_name: Option<String>,
    /// Another image to run the same configuration on.
    image: Option<String>,
}

/// Prints the clone's ID.
pub fn clone(store_args: &StoreArgs, a: CloneArgs) -> CmdResult {
    let engine = berth_engine::Engine::with_store(store_args.open()?);
    let o = CloneOptions {
        name: a.name.or(a.new_name),
        image: a.image,
        pod: a.pod,
        resources: a.resources.update()?,
        destroy: a.destroy,
        force: a.force,
    };
    let info = engine
        .containers()
        .clone_container(&a.container, &o)
        .map_err(super::fail)?;
    if a.run {
        let argv = |id: &str| super::run::monitor_argv(store_args, id);
        engine
            .containers()
            .start(&info.id, &argv)
            .map_err(super::fail)?;
    }
    println!("{}", info.id);
    Ok(())
}
