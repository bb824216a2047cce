//! `rmi`, `tag`, `untag`, `image exists`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_engine::Engine;
use berth_engine::images::RemoveOptions;
use clap::Args;

#[derive(Args)]
pub struct RmiArgs {
    /// Remove the image even if it has several names (all of them go).
    #[arg(short, long)]
    pub(crate) force: bool,
    /// Remove every image.
    #[arg(short, long)]
    pub(crate) all: bool,
    /// Ignore images that do not exist.
    #[arg(short, long)]
    pub(crate) ignore: bool,
    /// Do not remove dangling parents of the image.
    #[arg(long)]
    pub(crate) no_prune: bool,
    /// Remove the dangling images (buildah's), printing their IDs.
    #[arg(short, long, conflicts_with_all = ["all", "images"])]
    pub(crate) prune: bool,
    pub(crate) images: Vec<String>,
    /// Report as buildah's rmi (`untagged: NAME`, the bare ID), for `builder rmi`.
    #[arg(skip)]
    pub(crate) buildah: bool,
}

pub fn rmi(store_args: &StoreArgs, a: RmiArgs) -> CmdResult {
    if a.prune {
        let store = store_args.open()?;
        let o = berth_engine::images::PruneOptions {
            all: false,
            filters: Vec::new(),
        };
        for p in berth_engine::images::prune(&store, &o).map_err(exit::podman)? {
            println!("{}", p.id);
        }
        return Ok(());
    }
    let engine = Engine::with_store(store_args.open()?);
    let options = RemoveOptions {
        force: a.force,
        all: a.all,
        ignore: a.ignore,
        no_prune: a.no_prune,
    };
    let results = engine
        .images()
        .remove(&a.images, options)
        .map_err(exit::image)?;
    // podman's report: every name untagged, then every image deleted, then
    // the errors (several as one, its exit code the last one's); buildah's
    // has the same order in its own words.
    let (done, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let done: Vec<_> = done.into_iter().flatten().collect();
    let (untagged, deleted) = match a.buildah {
        true => ("untagged: ", ""),
        false => ("Untagged: ", "Deleted: "),
    };
    for n in done.iter().flat_map(|r| &r.untagged) {
        println!("{untagged}{n}");
    }
    for id in done.iter().flat_map(|r| r.deleted.iter().chain(&r.parents)) {
        println!("{deleted}{id}");
    }
    let failed: Vec<_> = failed
        .into_iter()
        .filter_map(Result::err)
        .map(exit::rmi)
        .collect();
    let Some(code) = failed.last().map(|f| f.code) else {
        return Ok(());
    };
    if a.buildah {
        return Err(buildah_failure(&failed));
    }
    match failed.as_slice() {
        [one] => eprintln!("Error: {}", one.message),
        many => {
            eprintln!("Error: {} errors occurred:", many.len());
            for f in many {
                eprintln!("\t* {}", f.message);
            }
            eprintln!();
        }
    }
    Err(exit::usage(code, ""))
}

/// buildah's rmi failure: its errors as one Go multierror (a list even of
/// one), and 125 whatever they were.
fn buildah_failure(failed: &[exit::Failure]) -> exit::Failure {
    let what = match failed.len() {
        1 => "1 error occurred".to_string(),
        n => format!("{n} errors occurred"),
    };
    let list: Vec<String> = failed
        .iter()
        .map(|f| format!("\t* {}", f.message))
        .collect();
    exit::usage(125, format!("{what}:\n{}\n\n", list.join("\n")))
}

#[derive(Args)]
pub struct TagArgs {
    pub(crate) image: String,
    pub(crate) names: Vec<String>,
}

pub fn tag(store_args: &StoreArgs, a: TagArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    engine.images().tag(&a.image, &a.names).map_err(exit::image)
}

pub fn untag(store_args: &StoreArgs, a: TagArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    engine
        .images()
        .untag(&a.image, &a.names)
        .map_err(exit::image)
}

/// `image exists`: exit 0 or 1, nothing printed.
pub fn exists(store_args: &StoreArgs, name: &str) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    match engine.images().exists(name).map_err(exit::image)? {
        true => Ok(()),
        false => Err(exit::usage(1, "")),
    }
}
