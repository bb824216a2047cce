//! `berth image sync`: copy whole repositories, directories of images, or a YAML list.

use std::path::{Path, PathBuf};

use berth_image::auth::Credentials;
use berth_image::copy::{Progress, Silent};
use berth_image::manifest::ManifestFormat;
use berth_image::sync::{self, TagFilter};
use berth_image::{Context, ImageName};
use clap::Args;

use crate::commands::image::access::Access;
use crate::commands::image::access::CopyAccess;
use crate::commands::image::access::PlatformArgs;
use crate::commands::image::access::context;
use crate::commands::image::copy::copy_between;
use crate::commands::image::copy::copy_options;
use crate::commands::image::trust::SignArgs;
use crate::commands::image::trust::TrustArgs;
use crate::exit::{self, CmdResult, Failure};
use crate::progress::Lines;

#[derive(Args)]
pub struct SyncArgs {
    /// Source kind: docker (a repository or image), dir (a directory of images), yaml.
    #[arg(short, long, value_parser = ["docker", "dir", "yaml"])]
    src: String,
    /// Destination kind: docker (a registry namespace) or dir.
    #[arg(short, long, value_parser = ["docker", "dir"])]
    dest: String,
    /// Copy all images of lists.
    #[arg(short, long)]
    all: bool,
    /// Keep the source's registry and full path in the destination name.
    #[arg(long)]
    scoped: bool,
    /// Only tags matching this regular expression (docker sources).
    #[arg(long)]
    tag_regex: Option<String>,
    /// Only tags within this semver range, e.g. ">=1.2, <2" (docker sources).
    #[arg(long)]
    tag_semver: Option<String>,
    /// Print what would be copied, copy nothing.
    #[arg(long)]
    dry_run: bool,
    /// Go on after an image fails; exit 1 at the end.
    #[arg(long)]
    keep_going: bool,
    #[arg(short, long, value_parser = ["oci", "v2s2"])]
    format: Option<String>,
    #[arg(long)]
    preserve_digests: bool,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    access: CopyAccess,
    #[command(flatten)]
    platform: PlatformArgs,
    source: String,
    destination: String,
}

pub fn run(store: &crate::commands::StoreArgs, a: SyncArgs) -> CmdResult {
    let src_access = a.access.src();
    let dst_access = a.access.dest();
    let mut src_ctx = context(&src_access, &a.platform)?;
    let mut dst_ctx = context(&dst_access, &a.platform)?;
    src_ctx.registries_d = a.trust.registries_d.clone();
    dst_ctx.registries_d = a.trust.registries_d.clone();
    let policy = a.trust.policy()?;
    let mut filters = Vec::new();
    if let Some(r) = &a.tag_regex {
        filters.push(TagFilter::regex(r).map_err(exit::skopeo)?);
    }
    if let Some(s) = &a.tag_semver {
        filters.push(TagFilter::semver(s).map_err(exit::skopeo)?);
    }
    let jobs = match a.src.as_str() {
        "docker" => sync::docker_jobs(&a.source, &src_ctx, &filters, a.scoped),
        "dir" => sync::dir_jobs(Path::new(&a.source)),
        _ => {
            let context_of =
                |section: &sync::RegistrySection| section_context(section, &a.platform);
            sync::yaml_jobs(Path::new(&a.source), &filters, a.scoped, &context_of)
        }
    }
    .map_err(exit::skopeo)?;
    let mut opts = copy_options(a.all, None, a.format.as_deref(), &src_ctx);
    opts.format = a.format.as_deref().and_then(ManifestFormat::parse);
    opts.preserve_digests = a.preserve_digests;
    a.sign.apply(&mut opts)?;
    let progress: Box<dyn Progress> = if a.quiet {
        Box::new(Silent)
    } else {
        Box::new(Lines::new())
    };
    let mut failed = 0;
    for (i, job) in jobs.iter().enumerate() {
        let dst = destination(&a.dest, &a.destination, &job.suffix)?;
        if !a.quiet || a.dry_run {
            eprintln!(
                "Copying image ref {}/{}: {} → {}",
                i + 1,
                jobs.len(),
                job.src,
                dst
            );
        }
        if a.dry_run {
            continue;
        }
        if let ImageName::Dir(p) = &dst {
            std::fs::create_dir_all(p)
                .map_err(|e| exit::usage(1, format!("{}: {e}", p.display())))?;
        }
        let ctx = job.context.as_deref().unwrap_or(&src_ctx);
        if let Err(e) = copy_between(
            store,
            &job.src,
            ctx,
            &dst,
            &dst_ctx,
            &opts,
            progress.as_ref(),
            &policy,
        ) {
            if !a.keep_going {
                return Err(e);
            }
            eprintln!("Error: {}", e.message);
            failed += 1;
        }
    }
    if !a.quiet {
        eprintln!("Synced {} of {} images", jobs.len() - failed, jobs.len());
    }
    if failed > 0 {
        return Err(exit::usage(1, format!("{failed} images failed to sync")));
    }
    Ok(())
}

fn destination(kind: &str, base: &str, suffix: &str) -> Result<ImageName, Failure> {
    let base = base.trim_end_matches('/');
    let name = match kind {
        "docker" => format!("docker://{}/{suffix}", base.trim_start_matches("docker://")),
        _ => format!("dir:{base}/{suffix}"),
    };
    ImageName::parse(&name).map_err(exit::skopeo)
}

/// The context a sync YAML section asks for: its TLS settings and credentials.
fn section_context(
    section: &sync::RegistrySection,
    platform: &PlatformArgs,
) -> berth_image::Result<Context> {
    let access = Access {
        tls_verify: section.tls_verify,
        cert_dir: section.cert_dir.as_ref().map(PathBuf::from),
        ..Default::default()
    };
    let mut c = context(&access, platform).map_err(|f| berth_image::Error::Invalid(f.message))?;
    c.credentials = section.credentials.as_ref().map(|y| Credentials {
        username: y.username.clone(),
        password: y.password.clone(),
    });
    Ok(c)
}
