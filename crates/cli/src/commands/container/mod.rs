//! podman's container commands: the shared helpers; one file per concern below.

pub mod changes;
pub mod exec;
pub mod files;
pub mod flags;
pub mod health;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod ps;
pub mod run;
pub mod spec_flags;
pub mod stats;

use crate::exit::{self, CmdResult, Failure};
use berth_engine::container::{self, Info};
use clap::Args;

pub(crate) fn fail(e: berth_engine::Error) -> Failure {
    crate::exit::engine(e)
}

/// Runs `f` on each name; errors are printed as they come, and the last one's
/// code is the exit code (podman goes on with the other names).
pub(crate) fn each(names: &[String], mut f: impl FnMut(&str) -> Result<(), Failure>) -> CmdResult {
    let mut last = None;
    for n in names {
        if let Err(e) = f(n) {
            eprintln!("Error: {}", e.message);
            last = Some(e.code);
        }
    }
    match last {
        Some(code) => Err(Failure {
            code,
            message: String::new(),
        }),
        None => Ok(()),
    }
}

#[derive(Args)]
pub struct NamesArgs {
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
}

/// The containers a command acts on: those named, or with `--all` every one
/// whose state `keep` accepts (by ID).
pub(crate) fn targets(
    store: &berth_storage::Store,
    all: bool,
    names: &[String],
    keep: impl Fn(&Info) -> bool,
) -> Result<Vec<String>, Failure> {
    if !all {
        return Ok(names.to_vec());
    }
    Ok(container::list(store)
        .map_err(exit::podman)?
        .into_iter()
        .filter(|i| keep(i))
        .map(|i| i.id)
        .collect())
}

pub(crate) fn is_running(i: &Info) -> bool {
    matches!(
        i.state.status,
        container::Status::Running | container::Status::Paused
    )
}
