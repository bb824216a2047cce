//! The engine's errors, by kind. Front ends decide what each kind means to
//! their users (the CLI: podman's exit codes; the REST API: HTTP statuses), so
//! no code or status travels inside an error.

use crate::conf::ConfError;
use crate::network::NetworkError;
use crate::oci::OciError;
use crate::run::RunError;
use crate::volumes::VolumeError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No container has that name, ID or ID prefix.
    #[error("no container with name or ID \"{0}\" found: no such container")]
    NoSuchContainer(String),
    /// `--latest` when there is no container at all.
    #[error("no such container")]
    NoContainers,
    /// No pod has that name, ID or ID prefix.
    #[error("no pod with name or ID {0} found: no such pod")]
    NoSuchPod(String),
    /// The container is not in a state the operation allows.
    #[error("{0}")]
    StateImproper(String),
    /// Removing a running container without `force`.
    #[error(
        "cannot remove container {0} as it is running - running or paused containers cannot be removed without force: container state improper"
    )]
    RunningNotForced(String),
    /// Other containers share this one's namespaces.
    #[error(
        "container {id} has dependent containers which must be removed before it: {}: container already exists",
        .dependents.join(",")
    )]
    HasDependents { id: String, dependents: Vec<String> },
    /// A value the caller gave is not acceptable (a signal name, a path).
    #[error("{0}")]
    InvalidArgument(String),
    /// Creating or starting a container's process failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A bridge network: missing, in use, or its backend failed.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A named volume or a mount: missing, in use, or a bad `-v`.
    #[error(transparent)]
    Volume(#[from] VolumeError),
    /// containers.conf cannot be read.
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// A secret: missing, its name taken, or its store unreadable.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// The OCI runtime cannot be found or refused (pause, ps).
    #[error(transparent)]
    Oci(#[from] OciError),
    /// Anything else: the store, the runtime, the system.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub(crate) fn other(e: impl std::fmt::Display) -> Error {
        Error::Other(e.to_string())
    }
}

/// Flags and image settings the caller can correct: invalid arguments.
macro_rules! invalid_argument {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::InvalidArgument(e.to_string())
            }
        }
    )*};
}

invalid_argument!(
    crate::security::SecurityError,
    crate::spec::SpecError,
    crate::spec::UserError,
    crate::health::HealthError,
    crate::attach::InvalidDetachKey
);

/// The host failed us: nothing the caller's arguments could change.
impl From<crate::journald::JournalError> for Error {
    fn from(e: crate::journald::JournalError) -> Error {
        Error::other(e)
    }
}

impl From<crate::init::InitError> for Error {
    fn from(e: crate::init::InitError) -> Error {
        Error::other(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_errors_become_invalid_arguments_in_their_own_words() {
        let e: Error = crate::security::ulimit("nofile").unwrap_err().into();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m == "--ulimit nofile: expected NAME=SOFT[:HARD]"),
            "{e:?}"
        );
        let e: Error = crate::health::parse_duration("1x").unwrap_err().into();
        assert_eq!(e.to_string(), "invalid duration \"1x\"");
    }

    #[test]
    fn network_and_volume_errors_keep_their_kind() {
        let e: Error = NetworkError::NotFound("n1".into()).into();
        assert!(matches!(e, Error::Network(NetworkError::NotFound(_))));
        assert_eq!(
            e.to_string(),
            "unable to find network with name or ID n1: network not found"
        );
        let e = crate::network::PortMapping::parse("80:x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "-p 80:x: expected [[IP:][HOSTPORT]:]CONTAINERPORT[/tcp|udp|sctp]"
        );
        let e: Error = crate::volumes::check_unique_destinations(
            &["a:/d".parse().unwrap()],
            &["/d".parse().unwrap()],
        )
        .unwrap_err()
        .into();
        assert!(matches!(
            e,
            Error::Volume(VolumeError::DuplicateDestination(_))
        ));
        assert_eq!(e.to_string(), "/d: duplicate mount destination");
    }
}
