//! Exit codes as the tools users know: skopeo's 1 for every failure, podman's
//! 125 for its own errors.

#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

pub type CmdResult = Result<(), Failure>;

/// skopeo 1.9: 1 for every failure, an image that does not exist too.
pub fn skopeo(e: berth_image::Error) -> Failure {
    usage(1, e)
}

/// skopeo's codes for an image a store could not give or take: 125 for the
/// store's own failure, skopeo's for the image's.
pub fn storage(e: berth_storage::Error) -> Failure {
    match e {
        berth_storage::Error::Image(e) => skopeo(e),
        other => podman(other),
    }
}

/// skopeo's codes for a copy, sync or inspect: the image's and the store's
/// as above, 1 for the rest.
pub fn transfer(e: berth_engine::transfer::TransferError) -> Failure {
    use berth_engine::transfer::TransferError;
    match e {
        TransferError::Image(e) => skopeo(e),
        TransferError::Storage(e) => storage(e),
        other => usage(1, other),
    }
}

/// Registry access flags that make no context: skopeo's codes for
/// credentials, podman's for the rest.
pub fn access(e: berth_engine::access::AccessError) -> Failure {
    match e {
        berth_engine::access::AccessError::Credentials(e) => skopeo(e),
        other => podman(other),
    }
}

/// podman: 125 for an error of berth itself.
pub fn podman(e: impl std::fmt::Display) -> Failure {
    usage(125, e)
}

/// podman's exit code for an engine error: 2 for removing a running container
/// without force, 126/127 when the container's command cannot run or does not
/// exist, else 125. Every kind is named, so that a new one is given its code
/// here rather than falling into 125 unseen.
pub fn engine(e: berth_engine::Error) -> Failure {
    use berth_engine::Error;
    let code = match &e {
        Error::RunningNotForced(_) => 2,
        Error::Run(r) => r.exit_code(),
        Error::NoSuchContainer(_)
        | Error::NoContainers
        | Error::NoSuchPod(_)
        | Error::StateImproper(_)
        | Error::HasDependents { .. }
        | Error::InvalidArgument(_)
        | Error::Network(_)
        | Error::Volume(_)
        | Error::Conf(_)
        | Error::Secret(_)
        | Error::Oci(_)
        | Error::Other(_) => 125,
    };
    usage(code, e)
}

/// buildah's exit code for a failed build or builder verb: a RUN's own
/// code when its command exited non-zero; 1 when the command could not be run
/// at all (podman's build and buildah's run report the runtime's failure, exit
/// status 1, where podman's run says 126/127); else 125.
pub fn build(e: berth_builder::BuildError) -> Failure {
    use berth_builder::BuildError;
    use berth_engine::RunError;
    let code = match &e {
        BuildError::RunFailed { code, .. } => *code,
        // 128 + SIGINT, as a shell reports an interrupted command.
        BuildError::Interrupted { .. } => 130,
        BuildError::Run(RunError::NotFound(_) | RunError::CannotRun(_)) => 1,
        BuildError::Run(r) => r.exit_code(),
        _ => 125,
    };
    usage(code, e)
}

/// Exits with a command's own code (a container's), or reports its failure.
pub fn exit_with(r: Result<i32, Failure>) -> CmdResult {
    match r {
        Ok(code) => std::process::exit(code),
        Err(f) => Err(f),
    }
}

/// An exit code with nothing to print (the command said what it had to).
pub fn silent(code: i32) -> Failure {
    usage(code, "")
}

pub fn usage(code: i32, msg: impl std::fmt::Display) -> Failure {
    Failure {
        code,
        message: msg.to_string(),
    }
}

/// podman's exit code for an image error: 125.
pub fn image(e: berth_engine::images::ImageError) -> Failure {
    podman(e)
}

/// `rmi`'s exit code for one image: 1 when it does not exist, else 125.
pub fn rmi(e: berth_engine::images::ImageError) -> Failure {
    let code = match e {
        berth_engine::images::ImageError::NotKnown(_) => 1,
        berth_engine::images::ImageError::InUse { .. } => 2,
        _ => 125,
    };
    usage(code, e)
}

/// Before this process (or a monitor it starts: this binary too) becomes a
/// container's runtime, it runs from a read-only image of itself
/// (CVE-2019-5736), as berth-oci does; this may execute it again.
pub fn protect_self() -> Result<(), Failure> {
    berth_runtime::selfexe::ensure_protected().map_err(|e| podman(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_builder::BuildError;
    use berth_engine::run::RunError;

    #[test]
    fn build_codes() {
        let failed = BuildError::RunFailed {
            instruction: "RUN exit 3".into(),
            code: 3,
        };
        let f = build(failed);
        assert_eq!(f.code, 3);
        assert_eq!(
            f.message,
            "building at STEP \"RUN exit 3\": while running runtime: exit status 3"
        );
        // A command that could not be run at all: the runtime's failure, as buildah.
        assert_eq!(
            build(BuildError::Run(RunError::NotFound("x".into()))).code,
            1
        );
        assert_eq!(
            build(BuildError::Run(RunError::CannotRun("x".into()))).code,
            1
        );
        // A container that cannot be made is berth's own failure, whatever the kind.
        let create = BuildError::CreateContainer(RunError::NotFound("x".into()));
        assert_eq!(build(create).code, 125);
        assert_eq!(build(BuildError::ImageNotKnown("a".into())).code, 125);
    }
}
