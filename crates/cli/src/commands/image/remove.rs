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
    pub(crate) images: Vec<String>,
}

pub fn rmi(store_args: &StoreArgs, a: RmiArgs) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let options = RemoveOptions {
        force: a.force,
        all: a.all,
        ignore: a.ignore,
    };
    let results = engine
        .images()
        .remove(&a.images, options)
        .map_err(exit::image)?;
    let mut failure = None;
    for r in results {
        match r {
            Ok(r) => {
                for n in &r.untagged {
                    println!("Untagged: {n}");
                }
                for id in r.deleted.iter().chain(&r.parents) {
                    println!("Deleted: {id}");
                }
            }
            Err(e) => {
                // Each image's error as it comes; the exit code is the last one's.
                let f = exit::rmi(e);
                eprintln!("Error: {}", f.message);
                failure = Some(exit::usage(f.code, ""));
            }
        }
    }
    failure.map_or(Ok(()), Err)
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
