//! The errors of storage work. Each names the thing and the cause in one line.

use std::io;
use std::path::PathBuf;

use berth_image::Digest;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A layer archive entry that would escape the layer or break a limit.
    #[error("layer entry {path:?} refused: {reason}")]
    Refused { path: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("layer stream: {0}")]
    Stream(#[source] io::Error),
    #[error("layer archive: {0}")]
    Limit(String),
    #[error("{path}: invalid metadata: {message}")]
    Metadata { path: PathBuf, message: String },
    #[error("{path}: invalid storage configuration: {message}")]
    Config { path: PathBuf, message: String },
    #[error("storage driver {driver:?}: {message}")]
    Driver { driver: String, message: String },
    #[error("{0}: image not known")]
    ImageNotFound(String),
    #[error("{0}: layer not known")]
    LayerNotFound(String),
    #[error("{0}: container not known")]
    ContainerNotFound(String),
    #[error("{name}: ambiguous, matches images {first} and {second}")]
    Ambiguous {
        name: String,
        first: String,
        second: String,
    },
    #[error("image {image}: in use by container {container}")]
    ImageInUse { image: String, container: String },
    #[error("container name {name:?}: already used by container {id}")]
    NameInUse { name: String, id: String },
    #[error("image {0}: lives in a read-only additional image store")]
    ReadOnly(String),
    #[error(
        "layer {layer}: lives in a read-only additional image store, which does not keep blob {digest}"
    )]
    ReadOnlyLayer { layer: String, digest: Digest },
    #[error(
        "layer {layer}: {what} digest mismatch, expected {expected}, content hashes to {actual}"
    )]
    DigestMismatch {
        layer: String,
        what: &'static str,
        expected: Digest,
        actual: Digest,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Image(#[from] berth_image::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn refused(path: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Refused {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Whether the error says the thing named does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::ImageNotFound(_) | Error::LayerNotFound(_) | Error::ContainerNotFound(_)
        )
    }
}

/// Adds the path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e.into()))
    }
}
