//! Transports: where images live, each behind one source/destination interface.
//! The copy engine knows only [`ImageSource`] and [`ImageDestination`].

use std::io::Read;
use std::path::PathBuf;

use crate::context::Context;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, RawManifest};
use crate::reference::Reference;

pub mod dir;
pub mod docker;
pub mod docker_archive;
pub mod oci_archive;
pub mod oci_layout;
pub mod raw_http;
pub mod registry_client;
pub mod tar_index;
pub mod tls;

/// A blob being read: the stream and its length when the source knows it.
pub struct BlobStream {
    pub reader: Box<dyn Read + Send>,
    pub size: Option<u64>,
}

/// What a destination wants done to layers' compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerCompression {
    /// Keep the layers as they come.
    Preserve,
    /// Compress uncompressed layers (registries).
    Compress,
    /// Store layers uncompressed (docker-archive).
    Decompress,
}

/// Where an image is read from.
pub trait ImageSource: Send + Sync {
    /// The image's name with its transport, for messages.
    fn name(&self) -> String;

    /// The manifest the name points at (which may be an index), or with `instance`
    /// the manifest of that digest within it. A manifest fetched by digest must hash
    /// to that digest; sources check it.
    fn manifest(&self, instance: Option<&Digest>) -> Result<RawManifest>;

    /// Streams a blob. The copy engine verifies its digest and size.
    fn blob(&self, desc: &Descriptor) -> Result<BlobStream>;

    /// `registry/repository` when the image lives in a registry, for blob mounts.
    fn repository(&self) -> Option<String> {
        None
    }

    /// The signatures stored for the manifest of digest `manifest`; `instance`
    /// says it is one image of an index rather than the top-level manifest.
    /// Transports that keep no signatures have none.
    fn signatures(&self, _manifest: &Digest, _instance: bool) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Tags of the image's repository, where the transport has tags.
    fn tags(&self) -> Result<Vec<String>> {
        Err(Error::Unsupported(format!(
            "{}: listing tags is not supported by this transport",
            self.name()
        )))
    }
}

/// Where an image is written. Nothing a destination writes becomes visible as an image
/// before [`ImageDestination::commit`].
pub trait ImageDestination: Send + Sync {
    fn name(&self) -> String;

    /// Manifest media types this destination stores, preferred first; empty means any.
    fn supported_manifest_types(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Whether an index (manifest list) can be stored.
    fn supports_index(&self) -> bool {
        true
    }

    fn desired_layer_compression(&self) -> LayerCompression {
        LayerCompression::Preserve
    }

    /// Tells the destination which repository the blobs come from
    /// (`registry/repository`), so that it may mount rather than upload them.
    fn set_mount_source(&self, _source: &str) {}

    /// Whether the destination has this blob already (possibly after mounting it
    /// from another repository), so that it need not be sent.
    fn has_blob(&self, desc: &Descriptor) -> Result<bool>;

    /// Whether the destination itself refuses a blob that does not match the
    /// digest it is given in `put_blob`'s `known` (registries do), so that the
    /// copy engine need not hash it on the way.
    fn verifies_digests(&self) -> bool {
        false
    }

    /// Stores a blob streamed from `reader`, returning its digest and size.
    /// `known` is the digest and size when the caller knows them up front; the
    /// reader itself fails when the content does not match. On any error nothing
    /// is kept.
    fn put_blob(&self, reader: &mut dyn Read, known: Option<&BlobInfo>) -> Result<BlobInfo>;

    /// Stores a manifest. `instance` is set for the per-platform manifests of an
    /// index being copied; `None` is the image's own (tagged) manifest.
    fn put_manifest(&self, manifest: &RawManifest, instance: Option<&Digest>) -> Result<()>;

    /// The Docker reference the image will be known by, when the transport has one
    /// (what a new signature names by default).
    fn docker_reference(&self) -> Option<Reference> {
        None
    }

    /// Whether signatures can be stored; an error says why not.
    fn supports_signatures(&self) -> Result<()> {
        Err(Error::Unsupported(format!(
            "{}: this destination does not store signatures (use --remove-signatures)",
            self.name()
        )))
    }

    /// Stores the signatures of the manifest `manifest` (already written),
    /// replacing any stored before.
    fn put_signatures(&self, sigs: &[Vec<u8>], manifest: &Digest, instance: bool) -> Result<()> {
        let _ = (sigs, manifest, instance);
        self.supports_signatures()
    }

    /// Makes the image visible. Called once after everything else succeeded.
    fn commit(&self) -> Result<()>;
}

/// A blob's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
}

/// An image name with its transport, as users write it: `docker://alpine`,
/// `oci:/path:tag`, `dir:/path`, `containers-storage:name` …
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageName {
    Docker(Reference),
    Oci {
        path: PathBuf,
        tag: Option<String>,
    },
    OciArchive {
        path: PathBuf,
        tag: Option<String>,
    },
    Dir(PathBuf),
    DockerArchive {
        path: PathBuf,
        reference: Option<ArchiveRef>,
    },
    /// Berth's own store; opened by the storage crate.
    ContainersStorage(String),
}

/// Which image of a docker-archive: a tag it holds, or `@N`, its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveRef {
    Name(Reference),
    Index(usize),
}

impl ImageName {
    /// Whether `s` starts with a transport berth reads (`docker://`, `oci:`
    /// …): then it names an image where it lives, not one in the local store.
    pub fn has_transport(s: &str) -> bool {
        [
            "docker://",
            "oci:",
            "oci-archive:",
            "dir:",
            "docker-archive:",
            "containers-storage:",
            "docker-daemon:",
        ]
        .iter()
        .any(|t| s.starts_with(t))
    }

    pub fn parse(s: &str) -> Result<ImageName> {
        let bad = |why: &str| Error::ImageName(s.to_string(), why.to_string());
        let (transport, rest) = s
            .split_once(':')
            .ok_or_else(|| bad("expected TRANSPORT:NAME, e.g. docker://alpine"))?;
        match transport {
            "docker" => {
                let r = rest
                    .strip_prefix("//")
                    .ok_or_else(|| bad("docker references start with docker://"))?;
                Ok(ImageName::Docker(Reference::parse(r)?))
            }
            "oci" | "oci-archive" => {
                let (path, tag) = split_path_ref(rest);
                if path.is_empty() {
                    return Err(bad("missing path"));
                }
                if let Some(t) = &tag
                    && !valid_oci_ref_name(t)
                {
                    return Err(bad("invalid reference name"));
                }
                let path = PathBuf::from(path);
                Ok(if transport == "oci" {
                    ImageName::Oci { path, tag }
                } else {
                    ImageName::OciArchive { path, tag }
                })
            }
            "dir" => {
                if rest.is_empty() {
                    return Err(bad("missing path"));
                }
                Ok(ImageName::Dir(PathBuf::from(rest)))
            }
            "docker-archive" => {
                let (path, r) = split_path_ref(rest);
                if path.is_empty() {
                    return Err(bad("missing path"));
                }
                let reference = match r {
                    None => None,
                    Some(r) if r.starts_with('@') => Some(ArchiveRef::Index(
                        r[1..].parse().map_err(|_| bad("invalid @N index"))?,
                    )),
                    Some(r) => {
                        let r = Reference::parse(&r)?;
                        archive_tagged(&r).map_err(|m| bad(&m))?;
                        Some(ArchiveRef::Name(r))
                    }
                };
                Ok(ImageName::DockerArchive {
                    path: PathBuf::from(path),
                    reference,
                })
            }
            "containers-storage" => Ok(ImageName::ContainersStorage(rest.to_string())),
            // skopeo's transport for a Docker daemon's images: berth has no
            // daemon to ask.
            "docker-daemon" => Err(bad(
                "berth talks to no Docker daemon; `docker save` the image and use docker-archive:",
            )),
            _ => Err(bad(&format!("unknown transport {transport:?}"))),
        }
    }

    /// Opens a source. `containers-storage:` is not handled here (see the storage crate).
    pub fn open_source(&self, ctx: &Context) -> Result<Box<dyn ImageSource>> {
        Ok(match self {
            ImageName::Docker(r) => Box::new(docker::DockerSource::open(r, ctx)?),
            ImageName::Oci { path, tag } => Box::new(
                oci_layout::OciSource::open(path, tag.as_deref())?
                    .with_shared_blobs(ctx.shared_blob_dir.clone()),
            ),
            ImageName::OciArchive { path, tag } => {
                Box::new(oci_archive::OciArchiveSource::open(path, tag.as_deref())?)
            }
            ImageName::Dir(path) => Box::new(dir::DirSource::open(path)?),
            ImageName::DockerArchive { path, reference } => Box::new(
                docker_archive::DockerArchiveSource::open(path, reference.as_ref())?,
            ),
            ImageName::ContainersStorage(_) => return Err(self.storage_unsupported()),
        })
    }

    pub fn open_destination(&self, ctx: &Context) -> Result<Box<dyn ImageDestination>> {
        Ok(match self {
            ImageName::Docker(r) => Box::new(docker::DockerDestination::open(r, ctx)?),
            ImageName::Oci { path, tag } => Box::new(
                oci_layout::OciDestination::open(path, tag.as_deref())?
                    .with_shared_blobs(ctx.shared_blob_dir.clone())
                    .oci_types_only(),
            ),
            ImageName::OciArchive { path, tag } => Box::new(
                oci_archive::OciArchiveDestination::open(path, tag.as_deref())?,
            ),
            ImageName::Dir(path) => Box::new(dir::DirDestination::open(path)?),
            ImageName::DockerArchive { path, reference } => {
                let r = match reference {
                    Some(ArchiveRef::Index(_)) => {
                        return Err(Error::ImageName(
                            self.to_string(),
                            "@N cannot name a destination".into(),
                        ));
                    }
                    Some(ArchiveRef::Name(r)) => Some(r.clone()),
                    None => None,
                };
                Box::new(docker_archive::DockerArchiveDestination::open_new(path, r)?)
            }
            ImageName::ContainersStorage(_) => return Err(self.storage_unsupported()),
        })
    }

    fn storage_unsupported(&self) -> Error {
        Error::Unsupported(format!(
            "{self}: containers-storage is opened through berth's store"
        ))
    }
}

impl std::fmt::Display for ImageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let with_tag = |p: &PathBuf, t: &Option<String>| match t {
            Some(t) => format!("{}:{t}", p.display()),
            None => p.display().to_string(),
        };
        match self {
            ImageName::Docker(r) => write!(f, "docker://{r}"),
            ImageName::Oci { path, tag } => write!(f, "oci:{}", with_tag(path, tag)),
            ImageName::OciArchive { path, tag } => {
                write!(f, "oci-archive:{}", with_tag(path, tag))
            }
            ImageName::Dir(p) => write!(f, "dir:{}", p.display()),
            ImageName::DockerArchive { path, reference } => {
                write!(f, "docker-archive:{}", path.display())?;
                match reference {
                    Some(ArchiveRef::Name(r)) => write!(f, ":{r}"),
                    Some(ArchiveRef::Index(i)) => write!(f, ":@{i}"),
                    None => Ok(()),
                }
            }
            ImageName::ContainersStorage(n) => write!(f, "containers-storage:{n}"),
        }
    }
}

/// `PATH[:REF]`: the reference follows the first ':' (paths with ':' are not supported,
/// as in containers/image).
fn split_path_ref(s: &str) -> (&str, Option<String>) {
    match s.split_once(':') {
        Some((p, r)) if !r.is_empty() => (p, Some(r.to_string())),
        Some((p, _)) => (p, None),
        None => (s, None),
    }
}

/// The OCI layout's `org.opencontainers.image.ref.name` grammar, loosely:
/// alphanumerics with `-._:@/+` separators.
fn valid_oci_ref_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:@/+".contains(&b))
}

/// Whether `r` may name a docker-archive's image, as containers/image
/// takes one: by a tag (`latest` when none), never by a digest.
fn archive_tagged(r: &Reference) -> std::result::Result<(), String> {
    match (r.tag().is_some(), r.digest().is_some()) {
        (false, true) => Err(format!("reference does not include a tag: {r}")),
        (true, true) => Err(format!(
            "docker-archive doesn't support digest references: {r}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_prefix_names_a_remote_image() {
        for remote in [
            "docker://alpine",
            "oci:/x:t",
            "dir:/d",
            "containers-storage:a",
        ] {
            assert!(ImageName::has_transport(remote), "{remote}");
        }
        for local in [
            "alpine",
            "localhost/a:1",
            "docker.io/library/alpine",
            "sha256:ab",
        ] {
            assert!(!ImageName::has_transport(local), "{local}");
        }
    }

    #[test]
    fn parses_transports() {
        assert_eq!(
            ImageName::parse("docker://alpine").unwrap().to_string(),
            "docker://docker.io/library/alpine:latest"
        );
        assert_eq!(
            ImageName::parse("oci:/tmp/x:v1").unwrap(),
            ImageName::Oci {
                path: "/tmp/x".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            ImageName::parse("docker-archive:/a.tar:@1").unwrap(),
            ImageName::DockerArchive {
                path: "/a.tar".into(),
                reference: Some(ArchiveRef::Index(1))
            }
        );
        assert!(ImageName::parse("docker:alpine").is_err());
        assert!(ImageName::parse("ftp://x").is_err());
        assert!(ImageName::parse("alpine").is_err());
        assert!(ImageName::parse("docker://Alpine").is_err());
        assert!(ImageName::parse("oci:").is_err());
    }
}
