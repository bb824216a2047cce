//! The errors of image work. Each names the thing and the cause in one line.

use std::path::PathBuf;

use crate::digest::{Digest, DigestError};
use crate::manifest::ManifestError;
use crate::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{0}: image not found")]
    ImageNotFound(String),
    /// A registry has no manifest for the reference: what it said, in
    /// containers/image's words (`reading manifest TAG in REPO: manifest
    /// unknown: manifest unknown`), which scripts match.
    #[error("reading manifest {which} in {repository}: {said}")]
    ManifestUnknown {
        which: String,
        repository: String,
        said: String,
    },
    /// A registry image could not be opened (reached, or its manifest read),
    /// in containers/image's words, which podman's and skopeo's users match.
    #[error("initializing source docker://{name}: {source}")]
    InitializingSource {
        name: String,
        #[source]
        source: Box<Error>,
    },
    #[error("{what}: blob {digest} not found")]
    BlobNotFound { what: String, digest: Digest },
    #[error("blob {expected}: digest mismatch, content hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest}: size mismatch, expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("manifest {expected}: content hashes to {actual}")]
    ManifestDigestMismatch { expected: Digest, actual: Digest },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Stream(#[from] std::io::Error),
    #[error("{url}: {message}")]
    Registry { url: String, message: String },
    /// A failure that may pass: a 5xx answer or a dropped connection.
    #[error("{url}: {message}")]
    Transient { url: String, message: String },
    /// 401 or 403: the registry's own words (`unauthorized: authentication
    /// required`, as containers/image prints its error code and message).
    #[error("{registry}: {message}")]
    Unauthorized { registry: String, message: String },
    #[error("{registry}: registry is blocked in registries.conf")]
    Blocked { registry: String },
    #[error("invalid image name {0:?}: {1}")]
    ImageName(String, String),
    /// A short name nothing in registries.conf resolves (containers/image's
    /// words).
    #[error(
        "short-name {name:?} did not resolve to an alias and no unqualified-search registries are defined in {file:?}"
    )]
    UnresolvedShortName { name: String, file: PathBuf },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unsupported(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether trying again may succeed (the registry was briefly unwell).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::InitializingSource { source, .. } => source.is_transient(),
            e => matches!(e, Error::Transient { .. }),
        }
    }

    /// An I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error says the image (or a blob it names) does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::InitializingSource { source, .. } => source.is_not_found(),
            e => matches!(
                e,
                Error::ImageNotFound(_)
                    | Error::ManifestUnknown { .. }
                    | Error::BlobNotFound { .. }
            ),
        }
    }
}

/// Adds the path to an `io::Result`.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
