//! `container clone` and `pod clone`: a new container (pod) made from the
//! configuration another was created with, under a new name, with some of it
//! changed.

use berth_storage::Store;

use crate::container::{self, Info};
use crate::pods::{self, Pod};
use crate::resources::ResourceUpdate;
use crate::run::RunOptions;
use crate::spec::ProcessOptions;
use crate::volumes::VolumeSource;
use crate::{Error, lifecycle};

/// `container clone`'s options.
#[derive(Clone, Debug, Default)]
pub struct CloneOptions {
    /// The clone's name (default: the original's with `-clone`).
    pub name: Option<String>,
    /// Another image to run the same configuration on.
    pub image: Option<String>,
    /// The pod the clone joins instead of the original's.
    pub pod: Option<String>,
    /// Limits that replace the original's.
    pub resources: ResourceUpdate,
    /// Remove the original once cloned.
    pub destroy: bool,
    /// With `destroy`: remove the original even when it runs.
    pub force: bool,
}

/// The first of NAME-clone, NAME-clone1, NAME-clone2 … that `taken` says is free.
fn clone_name(original: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = format!("{original}-clone");
    (0..)
        .map(|n| match n {
            0 => base.clone(),
            n => format!("{base}{n}"),
        })
        .find(|n| !taken(n))
        .expect("an unbounded range ends in a free name")
}

/// The original's options with what create resolved undone, so the clone's
/// create resolves it anew: its anonymous volumes are new ones, and what its pod
/// gave it (namespaces, cgroup) comes from the clone's pod.
fn fresh_process(store: &Store, info: &Info) -> ProcessOptions {
    let mut p = info.config.process.clone();
    let anonymous = std::mem::take(&mut p.anonymous_volumes);
    for v in &mut p.volumes {
        if matches!(&v.source, VolumeSource::Named(n) if anonymous.contains(n)) {
            v.source = VolumeSource::Anonymous;
        }
    }
    if let Some(pod) = p.pod.take()
        && let Ok(pod) = pods::find(store, &pod)
    {
        pods::leave(&pod, &mut p);
    }
    // Files only one container may write.
    p.conmon_pidfile = None;
    p.create_command = Vec::new();
    p
}

/// `container clone`: the new container, created (not started).
pub fn container(store: &Store, name: &str, o: &CloneOptions) -> Result<Info, Error> {
    let info = container::find(store, name)?;
    if info.config.process.infra {
        return Err(Error::InvalidArgument(format!(
            "{}: an infra container is cloned with its pod (pod clone)",
            info.name()
        )));
    }
    // Judged before anything is made: a clone whose original stays by error is
    // an orphan the user never hears of.
    if o.destroy
        && !o.force
        && matches!(
            info.state.status,
            container::Status::Running | container::Status::Paused
        )
    {
        return Err(Error::RunningNotForced(info.id.clone()));
    }
    let mut process = fresh_process(store, &info);
    o.resources.apply_to(&mut process);
    process.pod = o.pod.clone().or(info.config.process.pod.clone());
    let all = container::list(store).map_err(Error::other)?;
    let new_name = o.name.clone().unwrap_or_else(|| {
        clone_name(info.name(), |n| {
            all.iter().any(|c| c.names.iter().any(|m| m == n))
        })
    });
    let ro = RunOptions {
        image: o
            .image
            .clone()
            .unwrap_or_else(|| info.config.image_name.clone()),
        name: Some(new_name),
        rm: info.config.rm,
        replace: false,
        process,
    };
    let clone = crate::run::create(store, &ro)?;
    if o.destroy {
        lifecycle::remove(store, &info.id, o.force)?;
    }
    Ok(clone)
}

/// `pod clone`'s options: the new pod's name and limits.
#[derive(Clone, Debug, Default)]
pub struct PodCloneOptions {
    pub name: Option<String>,
    pub resources: ResourceUpdate,
    /// Remove the original pod (and its containers) once cloned.
    pub destroy: bool,
}

/// `pod clone`: a pod made as the original was, with a clone of each of its
/// containers (created, not started).
pub fn pod(store: &std::sync::Arc<Store>, name: &str, o: &PodCloneOptions) -> Result<Pod, Error> {
    let original = pods::find(store, name)?;
    let members = pods::members(store, &original);
    let mut create = pods::create_options(&original, &members);
    let taken: Vec<String> = pods::list(store).into_iter().map(|p| p.name).collect();
    let new_name = o
        .name
        .clone()
        .unwrap_or_else(|| clone_name(&original.name, |n| taken.iter().any(|t| t == n)));
    if create.hostname.as_deref() == Some(original.name.as_str()) {
        // The default hostname is the pod's name: the clone's is its own.
        create.hostname = None;
    }
    create.name = Some(new_name);
    create.resources = original.resources.clone().overlaid(&o.resources);
    create.create_command = Vec::new();
    let pod = pods::create(store, &create)?;
    for m in members.iter().filter(|m| !m.config.process.infra) {
        let co = CloneOptions {
            pod: Some(pod.id.clone()),
            ..Default::default()
        };
        if let Err(e) = container(store, &m.id, &co) {
            let _ = pods::remove(store, &pod.id, true, 0);
            return Err(e);
        }
    }
    if o.destroy {
        pods::remove(store, &original.id, true, 10)?;
    }
    Ok(pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_are_named_after_the_original_without_taking_a_name() {
        assert_eq!(clone_name("web", |_| false), "web-clone");
        let taken = ["web-clone", "web-clone1"];
        assert_eq!(clone_name("web", |n| taken.contains(&n)), "web-clone2");
    }
}
