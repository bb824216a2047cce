//! `manifest create|add|annotate|inspect|push|remove|rm|exists` (podman's and
//! buildah's manifest lists).

use berth_engine::manifests::{self, InstanceOptions};
use clap::{Args, Subcommand};

use crate::commands::StoreArgs;
use crate::commands::image::access::{Access, PlatformArgs, context};
use crate::exit::{self, CmdResult};

#[derive(Args)]
pub struct ManifestArgs {
    #[command(subcommand)]
    command: ManifestCommand,
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Make a manifest list, with the images given.
    Create(CreateArgs),
    /// Add an image (a registry's or a local one) to a list.
    Add(AddArgs),
    /// Set an entry's platform and annotations.
    Annotate(AnnotateArgs),
    /// Print a list's index.
    Inspect(ListArg),
    /// Push a list and its images.
    Push(PushArgs),
    /// Take an entry out of a list.
    Remove(RemoveArgs),
    /// Remove lists.
    Rm(RmArgs),
    /// Exit 0 when the list exists, 1 when not.
    Exists(ListArg),
}

#[derive(Args)]
struct CreateArgs {
    /// Of an index given, every image (not only this machine's).
    #[arg(long)]
    all: bool,
    /// Registry access for the images given.
    #[command(flatten)]
    access: Access,
    /// A list of this name already there is added to, not refused.
    #[arg(long)]
    amend: bool,
    list: String,
    images: Vec<String>,
}

#[derive(Args, Default)]
struct Platform {
    #[arg(long)]
    os: Option<String>,
    #[arg(long)]
    arch: Option<String>,
    #[arg(long)]
    variant: Option<String>,
    #[arg(long)]
    os_version: Option<String>,
    #[arg(long = "os-features", alias = "features")]
    features: Vec<String>,
    /// KEY=VALUE, repeatable.
    #[arg(long)]
    annotation: Vec<String>,
}

impl Platform {
    fn options(self, all: bool) -> InstanceOptions {
        InstanceOptions {
            all,
            os: self.os,
            arch: self.arch,
            variant: self.variant,
            os_version: self.os_version,
            features: self.features,
            annotations: self.annotation,
        }
    }
}

#[derive(Args)]
struct AddArgs {
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    platform: Platform,
    #[command(flatten)]
    access: Access,
    list: String,
    image: String,
}

#[derive(Args)]
struct AnnotateArgs {
    #[command(flatten)]
    platform: Platform,
    list: String,
    digest: String,
}

#[derive(Args)]
struct ListArg {
    list: String,
}

#[derive(Args)]
struct PushArgs {
    /// Push the list's images too (default true).
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    all: bool,
    /// Remove the list once pushed.
    #[arg(long)]
    rm: bool,
    /// Write the list's digest there.
    #[arg(long)]
    digestfile: Option<std::path::PathBuf>,
    /// oci or v2s2 (docker): the manifests' format at the destination.
    #[arg(short, long, value_parser = ["oci", "v2s2", "docker"])]
    format: Option<String>,
    /// Do not copy signatures.
    #[arg(long)]
    remove_signatures: bool,
    /// Refused: lists are pushed unsigned (`push --sign-by` signs an image).
    #[arg(long, hide = true)]
    sign_by: Option<String>,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    access: Access,
    /// Accepted for buildah's scripts: a push reads the store's own images,
    /// which no trust policy governs.
    #[arg(long, hide = true)]
    signature_policy: Option<std::path::PathBuf>,
    list: String,
    /// Where to (a name, or TRANSPORT:NAME); default the list's own name.
    destination: Option<String>,
}

#[derive(Args)]
struct RemoveArgs {
    list: String,
    digest: String,
}

#[derive(Args)]
struct RmArgs {
    #[arg(required = true)]
    lists: Vec<String>,
}

pub fn run(store_args: &StoreArgs, a: ManifestArgs) -> CmdResult {
    let store = store_args.open()?;
    let ctx = |access: &Access| context(access, &PlatformArgs::default());
    match a.command {
        ManifestCommand::Create(c) => {
            let o = InstanceOptions {
                all: c.all,
                ..Default::default()
            };
            let context = ctx(&c.access)?;
            let l = match manifests::find(&store, &c.list) {
                Ok(l) if c.amend => {
                    for i in &c.images {
                        manifests::add(&store, &c.list, i, &o, &context).map_err(exit::image)?;
                    }
                    l
                }
                _ => manifests::create_with(&store, &c.list, &c.images, &o, &context)
                    .map_err(exit::image)?,
            };
            println!("{}", l.id);
        }
        ManifestCommand::Add(ad) => {
            let o = ad.platform.options(ad.all);
            manifests::add(&store, &ad.list, &ad.image, &o, &ctx(&ad.access)?)
                .map_err(exit::image)?;
            println!(
                "{}",
                manifests::find(&store, &ad.list).map_err(exit::image)?.id
            );
        }
        ManifestCommand::Annotate(an) => {
            let o = an.platform.options(false);
            manifests::annotate(&store, &an.list, &an.digest, &o).map_err(exit::image)?;
            println!(
                "{}",
                manifests::find(&store, &an.list).map_err(exit::image)?.id
            );
        }
        ManifestCommand::Inspect(i) => {
            let l = manifests::find(&store, &i.list).map_err(exit::image)?;
            let index = manifests::index(&store, &l).map_err(exit::image)?;
            println!("{}", serde_json::to_string_pretty(&index).expect("json"));
        }
        ManifestCommand::Push(p) => {
            if p.sign_by.is_some() {
                return Err(crate::exit::usage(
                    125,
                    "--sign-by: berth pushes manifest lists unsigned; `push --sign-by` signs an image",
                ));
            }
            let l = manifests::find(&store, &p.list).map_err(exit::image)?;
            let o = manifests::PushOptions {
                destination: p.destination,
                all: p.all,
                digest_file: p.digestfile,
                rm: p.rm,
                format: p
                    .format
                    .as_deref()
                    .and_then(berth_image::manifest::ManifestFormat::parse),
                remove_signatures: p.remove_signatures,
            };
            let progress = crate::progress::unless_quiet(p.quiet);
            let digest = manifests::push_list(&store, &l, &o, &ctx(&p.access)?, progress.as_ref())
                .map_err(exit::image)?;
            if !p.quiet {
                println!("{digest}");
            }
        }
        ManifestCommand::Remove(r) => {
            manifests::remove_instance(&store, &r.list, &r.digest).map_err(exit::image)?;
            println!(
                "{}",
                manifests::find(&store, &r.list).map_err(exit::image)?.id
            );
        }
        ManifestCommand::Rm(r) => {
            for name in &r.lists {
                let l = manifests::delete(&store, name).map_err(exit::rmi)?;
                l.names.iter().for_each(|n| println!("Untagged: {n}"));
                println!("Deleted: {}", l.id);
            }
        }
        ManifestCommand::Exists(e) => {
            if !manifests::exists(&store, &e.list) {
                return Err(exit::silent(1));
            }
        }
    }
    Ok(())
}
