//! `berth image sync`: copy whole repositories, directories of images, or a YAML list.

use std::path::{Path, PathBuf};

use berth_image::auth::Credentials;
use berth_image::copy::{Progress, Silent};
use berth_image::manifest::ManifestFormat;
use berth_image::sync::{TagFilter, filter_tags, read_yaml};
use berth_image::transport::docker;
use berth_image::{Context, ImageName, Reference};
use clap::Args;

use crate::commands::image::{
    Access, CopyAccess, PlatformArgs, context, copy_between, copy_options,
};
use crate::commands::trust::{SignArgs, TrustArgs};
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

/// One image to copy and where it goes.
struct Job {
    src: ImageName,
    /// The destination's name below DST: `repo:tag`.
    suffix: String,
    ctx_override: Option<Context>,
}

pub fn run(store: &crate::commands::images::StoreArgs, a: SyncArgs) -> CmdResult {
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
        "docker" => docker_jobs(&a.source, &src_ctx, &filters, a.scoped)?,
        "dir" => dir_jobs(Path::new(&a.source))?,
        _ => yaml_jobs(Path::new(&a.source), &a.platform, &filters, a.scoped)?,
    };
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
        let ctx = job.ctx_override.as_ref().unwrap_or(&src_ctx);
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

/// The name an image keeps below the destination: the repository's last component,
/// or with `--scoped` its registry and full path.
fn suffix(r: &Reference, tag: &str, scoped: bool) -> String {
    let repo = if scoped {
        r.name()
    } else {
        r.repository()
            .rsplit('/')
            .next()
            .unwrap_or(r.repository())
            .to_string()
    };
    format!("{repo}:{tag}")
}

fn docker_jobs(
    source: &str,
    ctx: &Context,
    filters: &[TagFilter],
    scoped: bool,
) -> Result<Vec<Job>, Failure> {
    let s = source.strip_prefix("docker://").unwrap_or(source);
    let parsed =
        berth_image::reference::ParsedName::parse(s).map_err(|e| exit::skopeo(e.into()))?;
    let r = Reference::parse(s).map_err(|e| exit::skopeo(e.into()))?;
    if parsed.tag.is_some() || parsed.digest.is_some() {
        let tag = r
            .tag()
            .map(str::to_string)
            .unwrap_or_else(|| "latest".into());
        return Ok(vec![Job {
            src: ImageName::Docker(r.clone()),
            suffix: suffix(&r, &tag, scoped),
            ctx_override: None,
        }]);
    }
    repo_jobs(&r, ctx, None, filters, scoped, None)
}

fn repo_jobs(
    r: &Reference,
    ctx: &Context,
    wanted: Option<&[String]>,
    filters: &[TagFilter],
    scoped: bool,
    ctx_override: Option<&dyn Fn() -> Result<Context, Failure>>,
) -> Result<Vec<Job>, Failure> {
    let tags = match wanted {
        Some(t) if !t.is_empty() => t.to_vec(),
        _ => {
            let client = docker::connect(r, false, ctx).map_err(exit::skopeo)?;
            docker::list_tags(&client, r).map_err(exit::skopeo)?
        }
    };
    let mut jobs = Vec::new();
    for tag in filter_tags(tags, filters) {
        jobs.push(Job {
            src: ImageName::Docker(r.with_tag(&tag)),
            suffix: suffix(r, &tag, scoped),
            ctx_override: ctx_override.map(|f| f()).transpose()?,
        });
    }
    Ok(jobs)
}

/// Every `dir:` image below `root`; its path relative to root names it.
fn dir_jobs(root: &Path) -> Result<Vec<Job>, Failure> {
    let mut jobs = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if d.join("manifest.json").is_file() {
            let rel = d
                .strip_prefix(root)
                .unwrap_or(&d)
                .to_string_lossy()
                .to_string();
            let suffix = if rel.contains(':') {
                rel
            } else {
                format!("{rel}:latest")
            };
            jobs.push(Job {
                src: ImageName::Dir(d.clone()),
                suffix,
                ctx_override: None,
            });
            continue;
        }
        let rd =
            std::fs::read_dir(&d).map_err(|e| exit::usage(1, format!("{}: {e}", d.display())))?;
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    if jobs.is_empty() {
        return Err(exit::usage(
            1,
            format!("{}: no images found", root.display()),
        ));
    }
    jobs.sort_by(|a, b| a.suffix.cmp(&b.suffix));
    Ok(jobs)
}

fn yaml_jobs(
    path: &Path,
    platform: &PlatformArgs,
    filters: &[TagFilter],
    scoped: bool,
) -> Result<Vec<Job>, Failure> {
    let doc = read_yaml(path).map_err(exit::skopeo)?;
    let mut jobs = Vec::new();
    for (registry, section) in &doc {
        let make_ctx = || -> Result<Context, Failure> {
            let mut c = context(
                &Access {
                    tls_verify: section.tls_verify,
                    cert_dir: section.cert_dir.as_ref().map(PathBuf::from),
                    ..Default::default()
                },
                platform,
            )?;
            c.credentials = section.credentials.as_ref().map(|y| Credentials {
                username: y.username.clone(),
                password: y.password.clone(),
            });
            Ok(c)
        };
        let ctx = make_ctx()?;
        let repo_ref = |repo: &str| {
            Reference::parse(&format!("{registry}/{repo}")).map_err(|e| exit::skopeo(e.into()))
        };
        for (repo, tags) in &section.images {
            let r = repo_ref(repo)?;
            jobs.extend(repo_jobs(
                &r,
                &ctx,
                Some(tags),
                filters,
                scoped,
                Some(&make_ctx),
            )?);
        }
        for (repo, re) in &section.images_by_tag_regex {
            let mut f = filters.to_vec();
            f.push(TagFilter::regex(re).map_err(exit::skopeo)?);
            jobs.extend(repo_jobs(
                &repo_ref(repo)?,
                &ctx,
                None,
                &f,
                scoped,
                Some(&make_ctx),
            )?);
        }
        for (repo, range) in &section.images_by_semver {
            let mut f = filters.to_vec();
            f.push(TagFilter::semver(range).map_err(exit::skopeo)?);
            jobs.extend(repo_jobs(
                &repo_ref(repo)?,
                &ctx,
                None,
                &f,
                scoped,
                Some(&make_ctx),
            )?);
        }
    }
    Ok(jobs)
}
