//! `image inspect`: skopeo's (any transport, without pulling) and podman's (local images).

use crate::commands::StoreArgs;
use crate::commands::image::access::Access;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::access::context;
use crate::commands::image::parse_name;
use crate::exit::{self, CmdResult};
use crate::output::print_doc;
use crate::output::write_out;
use berth_engine::Engine;
use berth_engine::transfer::{InspectRequest, Inspection, inspect_remote};
use clap::Args;

#[derive(Args)]
pub(crate) struct InspectArgs {
    /// Print the raw manifest (or with --config, the raw config).
    #[arg(long)]
    pub(crate) raw: bool,
    /// Print the image's configuration.
    #[arg(long)]
    pub(crate) config: bool,
    /// Format the output with a Go template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
    /// Do not list the repository's tags.
    #[arg(short, long)]
    pub(crate) no_tags: bool,
    #[command(flatten)]
    pub(crate) access: Access,
    #[command(flatten)]
    pub(crate) skopeo: crate::commands::image::access::SkopeoImage,
    #[command(flatten)]
    pub(crate) platform: PlatformArgs,
    /// TRANSPORT:IMAGE, e.g. docker://alpine; or local images, one or more.
    pub(crate) image: String,
    /// More local images (podman's image inspect takes several).
    pub(crate) more: Vec<String>,
}

pub(crate) fn inspect(store: &StoreArgs, a: InspectArgs) -> CmdResult {
    if !a.more.is_empty() {
        return Err(exit::usage(1, "one TRANSPORT:IMAGE at a time"));
    }
    if a.raw && a.format.is_some() {
        // skopeo's words: the raw bytes are printed as they are.
        return Err(exit::usage(1, "raw output does not support format option"));
    }
    let name = parse_name(&a.image)?;
    let ctx = context(&a.skopeo.apply(a.access.clone()), &a.platform)?;
    let req = InspectRequest {
        raw: a.raw,
        config: a.config,
        no_tags: a.no_tags,
    };
    let format = a.format.as_deref();
    match inspect_remote(&store.options(), &name, &ctx, req).map_err(exit::transfer)? {
        Inspection::RawManifest(b) | Inspection::RawConfig(b) => write_out(&b),
        Inspection::Config(v) => print_doc(&v, format).map_err(skopeo_code),
        Inspection::Image(i) => {
            let mut v = crate::output::value(i);
            // Go's templates print skopeo's nil map and list as map[] and [].
            if format.is_some() {
                for (key, empty) in [
                    ("Labels", serde_json::json!({})),
                    ("Env", serde_json::json!([])),
                ] {
                    if v[key].is_null() {
                        v[key] = empty;
                    }
                }
            }
            print_doc(&v, format).map_err(skopeo_code)
        }
    }
}

/// skopeo exits 1 for a template it cannot use, where podman says 125.
fn skopeo_code(f: exit::Failure) -> exit::Failure {
    exit::Failure { code: 1, ..f }
}

/// `image inspect` of local images: a JSON array, or a template per image.
pub fn inspect_local(store_args: &StoreArgs, names: &[String], format: Option<&str>) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let docs = names.iter().map(|n| engine.images().inspect(n));
    let docs = docs.collect::<Result<Vec<_>, _>>().map_err(exit::image)?;
    crate::output::print_inspect(&crate::output::values(docs), format)
}
