//! Images in and out of files: `save`, `load`, `import`.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult, Failure};
use clap::Args;
use std::io::Read;
use std::path::PathBuf;

#[derive(Args)]
pub struct SaveArgs {
    /// Write to this file (or directory for *-dir formats); default stdout,
    /// when it is not a terminal.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// docker-archive (default), oci-archive, oci-dir or docker-dir.
    #[arg(long, default_value = "docker-archive", value_parser = ["docker-archive", "oci-archive", "oci-dir", "docker-dir"])]
    pub(crate) format: String,
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Save several images into one archive (docker-archive).
    #[arg(short, long)]
    pub(crate) multi_image_archive: bool,
    /// Write the layers uncompressed (oci-archive, oci-dir).
    #[arg(long)]
    pub(crate) uncompressed: bool,
    pub(crate) images: Vec<String>,
}

/// `save`: to the file given, or through a temporary file to stdout.
pub fn save(store_args: &StoreArgs, a: SaveArgs) -> CmdResult {
    let store = store_args.open()?;
    let format = a.format.parse().map_err(exit::image)?;
    let to_stdout = a.output.is_none();
    if to_stdout && berth_engine::tty::isatty(1) {
        return Err(exit::podman(
            "refusing to save to terminal. Use -o flag or redirect",
        ));
    }
    let o = berth_engine::images::SaveOptions {
        format,
        output: a.output.unwrap_or_default(),
        multi_image: a.multi_image_archive,
        uncompressed: a.uncompressed,
    };
    // On stdout the archive is the output: no progress beside it.
    let progress = crate::progress::unless_quiet(a.quiet || to_stdout);
    if !to_stdout {
        return berth_engine::images::save(&store, &a.images, &o, progress.as_ref())
            .map_err(exit::image);
    }
    let mut archive = berth_engine::images::save_stream(&store, &a.images, &o, progress.as_ref())
        .map_err(exit::image)?;
    std::io::copy(&mut archive, &mut std::io::stdout().lock()).map_err(exit::podman)?;
    Ok(())
}

#[derive(Args)]
pub struct LoadArgs {
    /// The archive to read (docker-archive or oci-archive); default stdin.
    #[arg(short, long)]
    pub(crate) input: Option<PathBuf>,
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

/// `load`: from the file given, or from stdin (through a temporary file: an
/// archive is read more than once).
pub fn load(store_args: &StoreArgs, a: LoadArgs) -> CmdResult {
    let store = store_args.open()?;
    let progress = crate::progress::unless_quiet(a.quiet);
    let loaded = match a.input {
        Some(p) if p.as_os_str() != "-" => {
            berth_engine::images::load(&store, &p, progress.as_ref())
        }
        _ => {
            berth_engine::images::load_from(&store, &mut std::io::stdin().lock(), progress.as_ref())
        }
    }
    .map_err(exit::image)?;
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
    /// The image's platform (default: this host's).
    #[command(flatten)]
    pub(crate) platform: super::PlatformFlags,
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
        arch: a.platform.arch,
        os: a.platform.os,
        variant: a.platform.variant,
    };
    let id = berth_engine::images::import(&store, &mut input, &o).map_err(exit::image)?;
    println!("{id}");
    Ok(())
}

fn open_input(src: &str) -> Result<Box<dyn Read>, Failure> {
    if src == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    match berth_engine::input::open(src) {
        Ok(r) => Ok(r),
        // A URL's failure told bare, as it always was.
        Err(berth_engine::input::InputError::Fetch { source, .. }) => Err(exit::podman(source)),
        Err(e) => Err(exit::podman(e)),
    }
}
