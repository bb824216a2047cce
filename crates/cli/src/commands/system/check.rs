//! `system check`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use clap::Args;

#[derive(Args)]
pub struct CheckArgs {
    /// Remove what is damaged.
    #[arg(short, long)]
    pub(crate) repair: bool,
}

pub fn system_check(store_args: &StoreArgs, a: CheckArgs) -> CmdResult {
    let store = store_args.open()?;
    let report = store.check(a.repair).map_err(crate::exit::podman)?;
    for p in &report.problems {
        println!("{p}");
    }
    for r in &report.repaired {
        println!("Repaired: {r}");
    }
    if report.is_clean() {
        println!("No problems found");
        Ok(())
    } else if a.repair {
        Ok(())
    } else {
        Err(exit::usage(
            125,
            format!(
                "{} problems found; run with --repair",
                report.problems.len()
            ),
        ))
    }
}
