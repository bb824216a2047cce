//! buildah's `commit`: a working container's changes as an image, here or at a
//! transport's destination.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use berth_builder::builder::{self, Builder, CommitSpec};
use clap::Args;
use std::path::PathBuf;

use super::{Encryption, RegistryFlags};

#[derive(Args)]
pub(crate) struct CommitArgs {
    /// oci (default) or docker (keeps HEALTHCHECK, SHELL, ONBUILD).
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker", "v2s2"])]
    pub(crate) format: String,
    /// One layer for the whole filesystem.
    #[arg(long)]
    pub(crate) squash: bool,
    /// Remove the working container after committing.
    #[arg(long)]
    pub(crate) rm: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Write the image ID to this file.
    #[arg(long)]
    pub(crate) iidfile: Option<PathBuf>,
    /// Seconds since the epoch as the image's and its history's creation
    /// time and the new layer's file times.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) timestamp: Option<i64>,
    /// Write no history into the image.
    #[arg(long)]
    pub(crate) omit_history: bool,
    /// Accepted as buildah's, either way: berth writes no identity label
    /// (buildah's io.buildah.version), so the same changes give the same image.
    #[arg(long)]
    pub(crate) identity_label: bool,
    /// Add the image to this manifest list (made when there is none).
    #[arg(long)]
    pub(crate) manifest: Option<String>,
    /// An environment variable the image goes without.
    #[arg(long)]
    pub(crate) unsetenv: Vec<String>,
    #[command(flatten)]
    pub(crate) encryption: Encryption,
    /// Refused: a commit is not signed (sign with `push --sign-by`).
    #[arg(long, hide = true)]
    pub(crate) sign_by: Option<String>,
    /// Layers written to oci:, dir: … stay uncompressed (default true, as
    /// buildah's; =false gzips them; a registry always gets them
    /// compressed). buildah's -D is berth's global --debug.
    #[arg(long, default_value = "true")]
    pub(crate) disable_compression: bool,
    #[command(flatten)]
    pub(crate) registry: RegistryFlags,
    pub(crate) container: String,
    /// The image's name, or TRANSPORT:NAME (`docker://REG/NAME` …) to write it
    /// there instead of the store.
    pub(crate) image: Option<String>,
}

pub(crate) fn commit(store_args: &StoreArgs, a: CommitArgs) -> CmdResult {
    a.encryption.refuse()?;
    if a.sign_by.is_some() {
        return Err(exit::usage(
            125,
            "--sign-by: berth's commit signs nothing; sign when pushing (`push --sign-by`)",
        ));
    }
    // buildah checks the authfile first of all.
    if let Some(f) = &a.registry.access.authfile {
        berth_engine::access::check_authfile(f).map_err(exit::access)?;
    }
    let context = crate::commands::image::access::context(
        &a.registry.access,
        &crate::commands::image::access::PlatformArgs::default(),
    )?;
    let store = store_args.open()?;
    let b = Builder::load(&store, &a.container).map_err(exit::build)?;
    let spec = CommitSpec {
        image: a.image.clone(),
        docker: a.format != "oci",
        squash: a.squash,
        rm: a.rm,
        iid_file: a.iidfile.clone(),
        context,
        timestamp: a.timestamp,
        omit_history: a.omit_history,
        compress: !a.disable_compression,
        manifest: a.manifest,
        unsetenv: a.unsetenv,
    };
    let progress = crate::progress::unless_quiet(a.quiet);
    let (id, dropped) =
        builder::commit(&store, &b, &spec, progress.as_ref()).map_err(exit::build)?;
    for d in dropped {
        eprintln!(
            "WARN: {d} is not supported for OCI image format and will be ignored. Must use `docker` format"
        );
    }
    // Written elsewhere, buildah prints no ID.
    let Some(id) = id else { return Ok(()) };
    if !a.quiet {
        eprintln!("Writing manifest to image destination");
    }
    // Nor when an --iidfile takes it.
    if a.iidfile.is_none() {
        println!("{id}");
    }
    Ok(())
}
