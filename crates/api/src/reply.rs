//! What a handler answers, and how engine errors become HTTP statuses (the
//! one place that decides it, as the CLI's exit codes are decided once).

use berth_engine::RunError;
use berth_engine::images::ImageError;
use berth_engine::volumes::VolumeError;
use serde_json::Value;

/// A handler's answer when it is not a stream it wrote itself.
pub enum Reply {
    Json(u16, Value),
    Text(u16, &'static str, String),
    Empty(u16),
    /// The handler wrote the answer (a stream); whether the connection can be reused.
    Written(Done),
}

/// After an answer: whether the connection can take another request.
pub enum Done {
    KeepOpen,
    Close,
}

/// A failed request: its status and Docker's `{"message": …}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

pub type Result<T = Reply> = std::result::Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            status,
            message: message.to_string(),
        }
    }

    pub fn bad_request(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(400, message)
    }

    pub fn not_found(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(404, message)
    }
}

/// The body of an error answer, as Docker's (podman's adds `cause` and `response`).
pub fn error_body(status: u16, message: &str) -> Vec<u8> {
    let cause = message.rsplit(": ").next().unwrap_or(message);
    serde_json::to_vec(&serde_json::json!({
        "cause": cause,
        "message": message,
        "response": status,
    }))
    .unwrap_or_default()
}

impl From<berth_engine::Error> for ApiError {
    fn from(e: berth_engine::Error) -> ApiError {
        use berth_engine::Error as E;
        // Docker's words: clients tell a missing container or image by them.
        if let E::NoSuchContainer(name) = &e {
            return ApiError::not_found(format!("No such container: {name}"));
        }
        let status = match &e {
            E::NoSuchPod(_) | E::NoContainers => 404,
            E::StateImproper(_) | E::RunningNotForced(_) | E::HasDependents { .. } => 409,
            E::InvalidArgument(_) => 400,
            E::Run(r) => return run_status(r, e.to_string()),
            E::Volume(VolumeError::NotFound(_)) => 404,
            E::Volume(VolumeError::InUse { .. }) => 409,
            _ => 500,
        };
        ApiError::new(status, e)
    }
}

impl From<berth_engine::systemd::GenerateError> for ApiError {
    fn from(e: berth_engine::systemd::GenerateError) -> ApiError {
        match e {
            berth_engine::systemd::GenerateError::Engine(e) => e.into(),
            e => ApiError::bad_request(e),
        }
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> ApiError {
        let message = e.to_string();
        run_status(&e, message)
    }
}

fn run_status(e: &RunError, message: String) -> ApiError {
    if let RunError::ImageNotKnown(name) = e {
        return ApiError::not_found(format!("No such image: {name}"));
    }
    let status = match e {
        RunError::NotFound(_) => 404,
        RunError::Spec(_) | RunError::Health(_) | RunError::InvalidArgument(_) => 400,
        RunError::Volume(VolumeError::NotFound(_)) => 404,
        _ if message.contains("already in use") => 409,
        _ => 500,
    };
    ApiError::new(status, message)
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        if let ImageError::NotKnown(name) = &e {
            return ApiError::not_found(format!("No such image: {name}"));
        }
        let status = match &e {
            ImageError::TagNotKnown(_) => 404,
            ImageError::MustForce(_) => 409,
            ImageError::InvalidFilter(_) | ImageError::InvalidArgument(_) => 400,
            ImageError::Container { .. } | ImageError::InUse { .. } => 409,
            _ => 500,
        };
        ApiError::new(status, e)
    }
}

impl From<VolumeError> for ApiError {
    fn from(e: VolumeError) -> ApiError {
        let status = match &e {
            VolumeError::NotFound(_) => 404,
            VolumeError::InUse { .. } | VolumeError::Exists(_) => 409,
            VolumeError::BadName(_)
            | VolumeError::InvalidFilter(_)
            | VolumeError::InvalidPruneFilter(_) => 400,
            _ => 500,
        };
        ApiError::new(status, e)
    }
}

impl From<berth_engine::network::NetworkError> for ApiError {
    fn from(e: berth_engine::network::NetworkError) -> ApiError {
        use berth_engine::network::NetworkError as N;
        let status = match &e {
            N::NotFound(_) => 404,
            N::Exists(_) => 409,
            N::BadName(_) | N::InvalidSubnet(_) | N::Invalid(_) | N::InvalidFilter(_) => 400,
            _ => 500,
        };
        ApiError::new(status, e)
    }
}
