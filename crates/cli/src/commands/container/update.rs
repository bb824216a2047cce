//! `update`: new resource limits for a container, applied at once when it runs.

use crate::commands::StoreArgs;
use crate::commands::container::fail;
use crate::commands::container::flags::ResourceFlags;
use crate::exit::CmdResult;
use clap::Args;

#[derive(Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    resources: ResourceFlags,
    /// The container (name or ID).
    container: String,
}

pub fn update(store_args: &StoreArgs, a: UpdateArgs) -> CmdResult {
    let store = store_args.open()?;
    let u = a.resources.update()?;
    let id = berth_engine::resources::update(&store, &a.container, &u).map_err(fail)?;
    println!("{id}");
    Ok(())
}
