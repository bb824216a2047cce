//! `io.containers.autoupdate`: podman's label asking that a container follow
//! its image (`registry`: a newer one there; `local`: a newer local one).
//! Checked at create, as podman does, so that a container that could never
//! be updated is not made.

/// The label's name.
pub const LABEL: &str = "io.containers.autoupdate";

/// Refuses `registry`/`image` auto-updates of an image that is not named by a
/// fully-qualified reference of the docker transport, as typed by the user.
pub fn check(image: &str, labels: &[String]) -> Result<(), crate::Error> {
    let policy = labels
        .iter()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| *k == LABEL)
        .map(|(_, v)| v);
    if !matches!(policy, Some("registry" | "image")) {
        return Ok(());
    }
    let bad = |m: String| Err(crate::Error::InvalidArgument(m));
    let name = match image.split_once(':') {
        Some(("docker", rest)) => rest.trim_start_matches("//"),
        Some((t, _)) if TRANSPORTS.contains(&t) => {
            return bad(format!(
                "auto updates require the docker image transport but image is of transport {t:?}"
            ));
        }
        _ => image,
    };
    let domain = name.split_once('/').map(|(d, _)| d);
    let qualified = domain.is_some_and(|d| d.contains('.') || d.contains(':') || d == "localhost");
    if !qualified {
        return bad(format!(
            "short name: auto updates require fully-qualified image reference: {image:?}"
        ));
    }
    Ok(())
}

/// The transports an image name may start with besides the registry's.
const TRANSPORTS: [&str; 6] = [
    "docker-archive",
    "oci",
    "oci-archive",
    "dir",
    "containers-storage",
    "docker-daemon",
];

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn registry_updates_need_a_full_registry_reference() {
        let label = |v: &str| vec![format!("io.containers.autoupdate={v}")];
        for ok in [
            "quay.io/a/b:1",
            "docker://quay.io/a/b",
            "localhost/x",
            "127.0.0.1:5000/a",
        ] {
            assert!(check(ok, &label("registry")).is_ok(), "{ok}");
        }
        let e = check("shortname:latest", &label("registry")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "short name: auto updates require fully-qualified image reference: \"shortname:latest\""
        );
        let e = check("docker-archive:/a.tar", &label("image")).unwrap_err();
        assert!(
            e.to_string().contains("is of transport \"docker-archive\""),
            "{e}"
        );
        // Other policies, or none, ask nothing.
        assert!(check("shortname", &label("local")).is_ok());
        assert!(check("shortname", &[]).is_ok());
    }
}
