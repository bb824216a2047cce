//! `image inspect`: skopeo's (any transport, without pulling) and podman's (local images).

use crate::commands::StoreArgs;
use crate::commands::image::access::Access;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::access::context;
use crate::commands::image::copy::open_source;
use crate::commands::image::parse_name;
use crate::exit::{self, CmdResult};
use crate::output::print_value;
use crate::output::write_out;
use berth_engine::Engine;
use berth_image::manifest::ImageConfig;
use berth_image::{ImageName, inspect};
use clap::Args;
use serde_json::Value;

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
    let name = parse_name(&a.image)?;
    let ctx = context(&a.access, &a.platform)?;
    let src = open_source(store, &name, &ctx)?;
    let top = src.manifest(None).map_err(exit::skopeo)?;
    if a.raw && !a.config {
        return write_out(&top.bytes);
    }
    let (_, manifest) = inspect::chosen_image(src.as_ref(), &top, &ctx).map_err(exit::skopeo)?;
    let config_bytes = inspect::read_config(src.as_ref(), &manifest).map_err(exit::skopeo)?;
    if a.config {
        if a.raw {
            return write_out(&config_bytes);
        }
        let v: Value = serde_json::from_slice(&config_bytes)
            .map_err(|e| exit::usage(1, format!("invalid image config: {e}")))?;
        return print_value(&v, a.format.as_deref());
    }
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| exit::usage(1, format!("invalid image config: {e}")))?;
    let tags = if a.no_tags || !matches!(name, ImageName::Docker(_)) {
        Vec::new()
    } else {
        src.tags().map_err(exit::skopeo)?
    };
    let out = inspect::Inspected::new(&name, &top, &manifest, &config, tags);
    print_value(
        &serde_json::to_value(out).expect("json"),
        a.format.as_deref(),
    )
}

/// `image inspect` of local images: a JSON array, or a template per image.
pub fn inspect_local(store_args: &StoreArgs, names: &[String], format: Option<&str>) -> CmdResult {
    let engine = Engine::with_store(store_args.open()?);
    let mut out = Vec::new();
    for n in names {
        let i = engine.images().inspect(n).map_err(exit::image)?;
        out.push(serde_json::to_value(i).expect("serialises"));
    }
    match format {
        None | Some("json") => print_value(&serde_json::Value::Array(out), None),
        Some(f) => {
            for v in &out {
                print_value(v, Some(f))?;
            }
            Ok(())
        }
    }
}
