//! skopeo's verbs: copying images between any two transports (the store
//! among them), syncing many, inspecting and listing without pulling.
//! Front ends build the options from their flags and print what comes back.

use std::path::{Path, PathBuf};

use berth_image::auth::Credentials;
use berth_image::copy::{CopyOptions, Progress};
use berth_image::inspect::{self, Inspected};
use berth_image::manifest::ImageConfig;
use berth_image::signature::Policy;
use berth_image::sync::{self, RegistrySection, SyncJob, TagFilter};
use berth_image::transport::docker_archive::DockerArchiveDestination;
use berth_image::transport::{ArchiveRef, docker, docker_archive};
use berth_image::{Context, Digest, ImageName, ImageSource, Reference};
use berth_storage::StoreOptions;
use berth_storage::transport;

/// Why a transfer failed. Image and store errors keep their kind, so that a
/// front end can tell an image that does not exist from other failures.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
    #[error("--additional-tag can only be used with a docker-archive: destination")]
    TagsNeedArchive,
    #[error("--additional-tag {tag}: {source}")]
    AdditionalTag {
        tag: String,
        source: berth_image::reference::ReferenceError,
    },
    #[error("{0}: only docker:// references are supported here")]
    NotDocker(String),
    #[error("{0}: give a repository without tag or digest")]
    NotARepository(String),
    #[error("invalid image config: {0}")]
    Config(serde_json::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} images failed to sync")]
    SyncFailed(usize),
}

pub type Result<T> = std::result::Result<T, TransferError>;

/// What a copy needs besides its two ends: the store (for
/// `containers-storage:`), the trust policy, the options and a context for
/// each end.
pub struct Transfer {
    pub store: StoreOptions,
    pub policy: Policy,
    pub options: CopyOptions,
    pub src: Context,
    pub dst: Context,
}

/// What one `copy` moves, and what it leaves behind.
#[derive(Debug)]
pub struct CopyRequest {
    pub src: ImageName,
    pub dst: ImageName,
    /// More names for the image in a docker-archive destination.
    pub additional_tags: Vec<String>,
    /// A file the copied manifest's digest is written to (`--digestfile`).
    pub digest_file: Option<PathBuf>,
}

impl Transfer {
    /// Copies the request's source to its destination if the policy accepts
    /// the source; returns the digest of the manifest written.
    pub fn copy(&self, req: &CopyRequest, progress: &dyn Progress) -> Result<Digest> {
        let digest = if req.additional_tags.is_empty() {
            let source = open_source(&self.store, &req.src, &self.src)?;
            let dest = transport::open_any_destination(&self.store, &req.dst, &self.dst)?;
            self.copy_opened(&req.src, source.as_ref(), dest.as_ref(), progress)?
        } else {
            self.copy_to_archive(&req.src, &req.dst, &req.additional_tags, progress)?
        };
        if let Some(path) = &req.digest_file {
            crate::outfile::write(path, digest.to_string()).map_err(|source| {
                TransferError::Io {
                    path: path.clone(),
                    source,
                }
            })?;
        }
        Ok(digest)
    }

    fn copy_opened(
        &self,
        name: &ImageName,
        src: &dyn ImageSource,
        dst: &dyn berth_image::ImageDestination,
        progress: &dyn Progress,
    ) -> Result<Digest> {
        let report = berth_image::copy::copy_image_trusted(
            &self.policy,
            name,
            src,
            dst,
            &self.options,
            progress,
        )?;
        Ok(report.manifest_digest)
    }

    /// A docker-archive destination whose image carries `tags` besides the
    /// name the destination gives.
    fn copy_to_archive(
        &self,
        src: &ImageName,
        dst: &ImageName,
        tags: &[String],
        progress: &dyn Progress,
    ) -> Result<Digest> {
        let ImageName::DockerArchive { path, reference } = dst else {
            return Err(TransferError::TagsNeedArchive);
        };
        let mut names = match reference {
            Some(ArchiveRef::Name(r)) => vec![r.clone()],
            _ => Vec::new(),
        };
        for tag in tags {
            let r = Reference::parse(tag).map_err(|source| TransferError::AdditionalTag {
                tag: tag.clone(),
                source,
            })?;
            names.push(r);
        }
        let dest = DockerArchiveDestination::open_new(path, None)?;
        dest.set_names(names);
        let source = open_source(&self.store, src, &self.src)?;
        self.copy_opened(src, source.as_ref(), &dest, progress)
    }
}

/// Opens a source of any transport; `containers-storage:` is the store's.
pub fn open_source(
    store: &StoreOptions,
    name: &ImageName,
    ctx: &Context,
) -> Result<Box<dyn ImageSource>> {
    Ok(transport::open_any_source(store, name, ctx)?)
}

/// Where `sync` reads images from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SyncSource {
    /// A repository (every tag) or one image of a registry.
    Docker,
    /// A directory of `dir:` images.
    Dir,
    /// A YAML file listing registries and their images.
    Yaml,
}

/// Where `sync` writes them: below a registry namespace or a directory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SyncDestination {
    Docker,
    Dir,
}

/// A `sync`: the source and destination and how to go about it.
pub struct SyncRequest {
    pub src_kind: SyncSource,
    pub source: String,
    pub dst_kind: SyncDestination,
    pub destination: String,
    pub tag_regex: Option<String>,
    pub tag_semver: Option<String>,
    /// Keep the source's registry and full path in the destination name.
    pub scoped: bool,
    /// Say what would be copied, copy nothing.
    pub dry_run: bool,
    /// Go on after an image fails.
    pub keep_going: bool,
}

/// What `sync` is doing, for the front end to print.
pub enum SyncEvent<'a> {
    /// Image `index` (from 1) of `total` is about to be copied.
    Copying {
        index: usize,
        total: usize,
        src: &'a ImageName,
        dst: &'a ImageName,
    },
    /// An image failed and `keep_going` goes on.
    Failed(&'a TransferError),
}

/// How a `sync` went.
pub struct SyncReport {
    pub total: usize,
    pub failed: usize,
    /// The repositories (or directories) the images came from.
    pub sources: usize,
}

impl SyncReport {
    /// An error when any image failed (with `keep_going`).
    pub fn check(&self) -> Result<()> {
        match self.failed {
            0 => Ok(()),
            n => Err(TransferError::SyncFailed(n)),
        }
    }
}

impl Transfer {
    /// Copies every image the request's source lists below its destination.
    pub fn sync(
        &self,
        req: &SyncRequest,
        progress: &dyn Progress,
        on_event: &mut dyn FnMut(SyncEvent),
    ) -> Result<SyncReport> {
        let jobs = self.sync_jobs(req)?;
        let mut failed = 0;
        for (i, job) in jobs.iter().enumerate() {
            let dst = sync_destination(req, &job.suffix)?;
            on_event(SyncEvent::Copying {
                index: i + 1,
                total: jobs.len(),
                src: &job.src,
                dst: &dst,
            });
            if req.dry_run {
                continue;
            }
            if let Err(e) = self.sync_one(job, &dst, progress) {
                if !req.keep_going {
                    return Err(e);
                }
                on_event(SyncEvent::Failed(&e));
                failed += 1;
            }
        }
        let sources: std::collections::BTreeSet<String> =
            jobs.iter().map(|j| source_of(&j.src)).collect();
        Ok(SyncReport {
            total: jobs.len(),
            failed,
            sources: sources.len(),
        })
    }

    fn sync_jobs(&self, req: &SyncRequest) -> Result<Vec<SyncJob>> {
        let mut filters = Vec::new();
        if let Some(r) = &req.tag_regex {
            filters.push(TagFilter::regex(r)?);
        }
        if let Some(s) = &req.tag_semver {
            filters.push(TagFilter::semver(s)?);
        }
        let source = Path::new(&req.source);
        let jobs = match req.src_kind {
            SyncSource::Docker => sync::docker_jobs(&req.source, &self.src, &filters, req.scoped),
            // skopeo refuses dir to dir ("consider using rsync"); berth keeps
            // the tree's paths there, as rsync would.
            SyncSource::Dir => {
                let keep_paths = req.scoped || matches!(req.dst_kind, SyncDestination::Dir);
                sync::dir_jobs(source, keep_paths)
            }
            SyncSource::Yaml => {
                let context_of = |s: &RegistrySection| Ok(section_context(s, &self.src));
                sync::yaml_jobs(source, &filters, req.scoped, &context_of)
            }
        };
        Ok(jobs?)
    }

    fn sync_one(&self, job: &SyncJob, dst: &ImageName, progress: &dyn Progress) -> Result<()> {
        if let ImageName::Dir(p) = dst {
            std::fs::create_dir_all(p).map_err(|source| TransferError::Io {
                path: p.clone(),
                source,
            })?;
        }
        // A YAML section's image is read with that section's context.
        let ctx = job.context.as_deref().unwrap_or(&self.src);
        let source = open_source(&self.store, &job.src, ctx)?;
        let dest = transport::open_any_destination(&self.store, dst, &self.dst)?;
        self.copy_opened(&job.src, source.as_ref(), dest.as_ref(), progress)?;
        Ok(())
    }
}

/// The repository (or directory) a sync job's image is one of, as skopeo
/// counts its sources.
fn source_of(name: &ImageName) -> String {
    match name {
        ImageName::Docker(r) => r.name(),
        ImageName::Dir(p) => p.parent().unwrap_or(p).display().to_string(),
        other => other.to_string(),
    }
}

/// The name of a sync job's image below the destination.
fn sync_destination(req: &SyncRequest, suffix: &str) -> Result<ImageName> {
    let base = req.destination.trim_end_matches('/');
    let name = match req.dst_kind {
        SyncDestination::Docker => {
            format!("docker://{}/{suffix}", base.trim_start_matches("docker://"))
        }
        SyncDestination::Dir => format!("dir:{base}/{suffix}"),
    };
    Ok(ImageName::parse(&name)?)
}

/// The context of a sync YAML section: its TLS settings and credentials, and
/// the platform and retries of the command's own source context.
fn section_context(section: &RegistrySection, base: &Context) -> Context {
    let mut c = Context::default();
    c.tls_verify = section.tls_verify;
    c.cert_dir = section.cert_dir.as_ref().map(PathBuf::from);
    c.os = base.os.clone();
    c.arch = base.arch.clone();
    c.variant = base.variant.clone();
    c.retries = base.retries;
    c.credentials = section.credentials.as_ref().map(|y| Credentials {
        username: y.username.clone(),
        password: y.password.clone(),
    });
    c
}

/// What `inspect` of an image without pulling it gives.
pub enum Inspection {
    /// The top-level manifest as the transport holds it.
    RawManifest(Vec<u8>),
    /// The chosen image's config as stored.
    RawConfig(Vec<u8>),
    /// The chosen image's config, parsed.
    Config(serde_json::Value),
    /// skopeo's summary of the image.
    Image(Box<Inspected>),
}

/// What of an image to inspect.
#[derive(Clone, Copy, Default)]
pub struct InspectRequest {
    pub raw: bool,
    pub config: bool,
    /// Skip listing the repository's tags (a registry round trip).
    pub no_tags: bool,
}

/// Inspects an image of any transport without pulling it.
pub fn inspect_remote(
    store: &StoreOptions,
    name: &ImageName,
    ctx: &Context,
    req: InspectRequest,
) -> Result<Inspection> {
    let src = open_source(store, name, ctx)?;
    let top = src.manifest(None)?;
    if req.raw && !req.config {
        return Ok(Inspection::RawManifest(top.bytes));
    }
    let (_, manifest) = inspect::chosen_image(src.as_ref(), &top, ctx)?;
    let config_bytes = inspect::read_config(src.as_ref(), &manifest)?;
    if req.config && req.raw {
        return Ok(Inspection::RawConfig(config_bytes));
    }
    if req.config {
        let v = serde_json::from_slice(&config_bytes).map_err(TransferError::Config)?;
        return Ok(Inspection::Config(v));
    }
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(TransferError::Config)?;
    let tags = if req.no_tags || !matches!(name, ImageName::Docker(_)) {
        Vec::new()
    } else {
        src.tags()?
    };
    let out = Inspected::new(name, &top, &manifest, &config, tags);
    Ok(Inspection::Image(Box::new(out)))
}

/// A repository's tags, as `list-tags` prints them.
#[derive(serde::Serialize)]
pub struct TagList {
    #[serde(rename = "Repository", skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(rename = "Tags")]
    pub tags: Vec<String>,
}

/// The tags of a registry repository (`docker://NAME`, without tag or
/// digest), or the names of a docker-archive's images.
pub fn list_tags(repository: &str, ctx: &Context) -> Result<TagList> {
    if let Some(path) = repository.strip_prefix("docker-archive:") {
        let tags = docker_archive::repo_tags(Path::new(path))?;
        return Ok(TagList {
            repository: None,
            tags,
        });
    }
    let reference = docker_reference(repository)?;
    let last = repository.rsplit('/').next();
    if reference.digest().is_some() || last.is_some_and(|l| l.contains(':')) {
        return Err(TransferError::NotARepository(repository.to_string()));
    }
    let client = docker::connect(&reference, false, ctx)?;
    let tags = docker::list_tags(&client, &reference)?;
    Ok(TagList {
        repository: Some(reference.name()),
        tags,
    })
}

/// Deletes an image from its registry (`docker://IMAGE`).
pub fn delete(image: &str, ctx: &Context) -> Result<()> {
    docker::delete(&docker_reference(image)?, ctx)?;
    Ok(())
}

/// The reference of a `docker://` name; other transports are refused.
fn docker_reference(s: &str) -> Result<Reference> {
    match ImageName::parse(s)? {
        ImageName::Docker(r) => Ok(r),
        other => Err(TransferError::NotDocker(other.to_string())),
    }
}
