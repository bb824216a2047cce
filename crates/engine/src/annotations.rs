//! The annotations podman records in a container's OCI spec: the runtime and
//! hooks see them, `inspect` shows them as `.Config.Annotations`, and `kube
//! generate` writes them into the Pod's metadata. Computed from what the
//! container was made with, so that a clone or a `generate systemd --new`
//! never carries a stale copy.

use std::collections::BTreeMap;

use berth_storage::Store;

use crate::container::ContainerConfig;

/// Whether the container has a terminal: `true` or `false`.
pub const TTY: &str = "io.kubernetes.cri-o.TTY";
/// A pod member's pod: the infra container's ID (the pod's own without one).
pub const SANDBOX_ID: &str = "io.kubernetes.cri-o.SandboxID";
/// `container` for a pod's member.
pub const CONTAINER_TYPE: &str = "io.kubernetes.cri-o.ContainerType";
/// `TRUE` or `FALSE`: `--rm`, `--init`, `--privileged`, `-P`.
pub const AUTOREMOVE: &str = "io.podman.annotations.autoremove";
pub const INIT: &str = "io.podman.annotations.init";
pub const PRIVILEGED: &str = "io.podman.annotations.privileged";
pub const PUBLISH_ALL: &str = "io.podman.annotations.publish-all";
/// `--volumes-from`, joined with commas.
pub const VOLUMES_FROM: &str = "io.podman.annotations.volumes-from";

/// podman's own annotations for a container of `config`, with the user's
/// `--annotation`s over them; `sandbox` is its pod's (see [`sandbox`]).
pub fn of(config: &ContainerConfig, sandbox: Option<&str>) -> BTreeMap<String, String> {
    let p = &config.process;
    let flag = |on: bool| if on { "TRUE" } else { "FALSE" }.to_string();
    let mut a = BTreeMap::from([
        (TTY.to_string(), p.tty.to_string()),
        (AUTOREMOVE.to_string(), flag(config.rm)),
        (INIT.to_string(), flag(p.init)),
        (PRIVILEGED.to_string(), flag(p.privileged)),
        (PUBLISH_ALL.to_string(), flag(p.publish_all)),
    ]);
    if !p.volumes_from.is_empty() {
        a.insert(VOLUMES_FROM.into(), p.volumes_from.join(","));
    }
    if let Some(id) = sandbox {
        a.insert(SANDBOX_ID.into(), id.to_string());
        a.insert(CONTAINER_TYPE.into(), "container".into());
    }
    a.extend(crate::views::label_pairs(&p.annotations));
    a
}

/// The sandbox of a pod member (not of the infra container itself): its pod's
/// infra container, or the pod when it has none; None outside a pod.
pub fn sandbox(store: &Store, config: &ContainerConfig) -> Option<String> {
    let pod_id = config
        .process
        .pod
        .as_deref()
        .filter(|_| !config.process.infra)?;
    let pod = crate::pods::find(store, pod_id).ok()?;
    Some(pod.infra_id.unwrap_or(pod.id))
}

/// [`of`] with the sandbox looked up.
pub fn of_container(store: &Store, config: &ContainerConfig) -> BTreeMap<String, String> {
    of(config, sandbox(store, config).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podmans_words_for_each_setting_and_the_users_over_them() {
        let mut c = ContainerConfig {
            rm: true,
            ..Default::default()
        };
        c.process.tty = true;
        c.process.annotations = vec!["io.podman.annotations.init=mine".into(), "bare".into()];
        let a = of(&c, Some("abc"));
        assert_eq!(a[TTY], "true");
        assert_eq!(a[AUTOREMOVE], "TRUE");
        assert_eq!(a[PRIVILEGED], "FALSE");
        assert_eq!(a[INIT], "mine");
        assert_eq!(a["bare"], "");
        assert_eq!(a[SANDBOX_ID], "abc");
        assert_eq!(a[CONTAINER_TYPE], "container");
        assert!(!of(&c, None).contains_key(SANDBOX_ID));
    }
}
