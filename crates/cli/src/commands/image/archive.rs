//! Images in and out of files: `save`, `load`, `import`.

use crate::commands::StoreArgs;
use crate::commands::image::pull::progress_for;
use crate::exit::{self, CmdResult, Failure};
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

#[derive(Args)]
pub struct SaveArgs {
    /// Write to this file (or directory for *-dir formats).
    #[arg(short, long)]
    pub(crate) output: PathBuf,
    /// docker-archive (default), oci-archive, oci-dir or docker-dir.
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive", "oci-dir", "docker-dir"])]
    pub(crate) format: String,
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Save several images into one archive (docker-archive).
    #[arg(short, long)]
    pub(crate) multi_image_archive: bool,
    pub(crate) images: Vec<String>,
}

/// The digest of the manifest a registry serves for `r` (a HEAD-sized request).
pub fn save(store_args: &StoreArgs, a: SaveArgs) -> CmdResult {
    let store = store_args.open()?;
    let o = berth_engine::images::SaveOptions {
        format: a.format.parse().map_err(exit::image)?,
        output: a.output,
        multi_image: a.multi_image_archive,
    };
    let progress = progress_for(a.quiet);
    berth_engine::images::save(&store, &a.images, &o, progress.as_ref()).map_err(exit::image)
}

#[derive(Args)]
pub struct LoadArgs {
    /// The archive to read (docker-archive or oci-archive).
    #[arg(short, long)]
    pub(crate) input: PathBuf,
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

pub fn load(store_args: &StoreArgs, a: LoadArgs) -> CmdResult {
    let store = store_args.open()?;
    let progress = progress_for(a.quiet);
    let loaded =
        berth_engine::images::load(&store, &a.input, progress.as_ref()).map_err(exit::image)?;
    for l in loaded {
        println!("Loaded image: {l}");
    }
    Ok(())
}

#[derive(Args)]
pub struct ImportArgs {
    /// Apply a Containerfile instruction to the config (CMD, ENTRYPOINT, ENV, EXPOSE,
    /// LABEL, USER, WORKDIR, STOPSIGNAL), repeatable.
    #[arg(short, long)]
    pub(crate) change: Vec<String>,
    /// Commit message, recorded in the history.
    #[arg(short, long)]
    pub(crate) message: Option<String>,
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// A tarball (plain, gzip or zstd), `-` for stdin, or an http(s) URL.
    pub(crate) source: String,
    /// Name for the image.
    pub(crate) reference: Option<String>,
}

pub fn import(store_args: &StoreArgs, a: ImportArgs) -> CmdResult {
    let store = store_args.open()?;
    let mut input = open_input(&a.source)?;
    let o = berth_engine::images::ImportOptions {
        source: a.source,
        changes: a.change,
        message: a.message,
        reference: a.reference,
    };
    let id = berth_engine::images::import(&store, &mut input, &o).map_err(exit::image)?;
    println!("{id}");
    Ok(())
}

fn open_input(src: &str) -> Result<Box<dyn Read>, Failure> {
    if src == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    if src.starts_with("http://") || src.starts_with("https://") {
        return berth_image::http::get_body(src)
            .map(|r| Box::new(r) as Box<dyn Read>)
            .map_err(exit::podman);
    }
    Ok(Box::new(
        std::fs::File::open(src).map_err(|e| exit::podman(format!("{src}: {e}")))?,
    ))
}
