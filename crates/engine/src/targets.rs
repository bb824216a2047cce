//! Which containers a command acts on: those named, `--all` of a kind, or
//! `--latest` (podman's domain layer resolves these, not its CLI).

use std::path::PathBuf;

use berth_storage::Store;

use crate::container::{self, Info, Status};

/// The containers `--all` stands for in a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllOf {
    /// Every container (`rm`, `restart`).
    Every,
    /// Those running or paused (`stop`, `kill`).
    Running,
    /// Those neither running nor paused (`start`).
    NotRunning,
    /// Those in exactly this state (`pause`: running ones, `unpause`: paused ones).
    InState(Status),
    /// Those whose root filesystem is mounted (`umount`).
    Mounted,
}

impl AllOf {
    /// Whether `--all` takes this container.
    pub fn includes(self, store: &Store, i: &Info) -> bool {
        match self {
            AllOf::Every => true,
            AllOf::Running => is_running(i),
            AllOf::NotRunning => !is_running(i),
            AllOf::InState(s) => i.state.status == s,
            AllOf::Mounted => store.mount_point(&i.id).is_some(),
        }
    }
}

/// Running or paused: a container with processes.
pub fn is_running(i: &Info) -> bool {
    matches!(i.state.status, Status::Running | Status::Paused)
}

/// The containers a command acts on: `names` as given, or with `all` every
/// container (newest first, by ID) of that kind; with `latest` the one
/// created last besides.
pub fn targets(
    store: &Store,
    all: Option<AllOf>,
    latest: bool,
    names: &[String],
) -> Result<Vec<String>, crate::Error> {
    let mut out = match all {
        None => names.to_vec(),
        Some(kind) => container::list(store)
            .map_err(crate::Error::other)?
            .into_iter()
            .filter(|i| kind.includes(store, i))
            .map(|i| i.id)
            .collect(),
    };
    if latest {
        out.push(latest_id(store)?);
    }
    Ok(out)
}

/// The named containers, each looked for before any is acted on, as
/// podman's lifecycle commands do (`stop nope a1` leaves a1 alone): the first
/// missing one is the error, or with `ignore` it is passed over.
pub fn existing(
    store: &Store,
    names: Vec<String>,
    ignore: bool,
) -> Result<Vec<String>, crate::Error> {
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        match container::find(store, &n) {
            Ok(_) => out.push(n),
            Err(_) if ignore => {}
            Err(_) => return Err(crate::Error::NoSuchContainer(n)),
        }
    }
    Ok(out)
}

/// `--latest`: the container created last, if there is one.
pub fn latest(store: &Store) -> Result<Option<Info>, berth_storage::Error> {
    Ok(newest(container::list(store)?))
}

/// `--latest` where a container is needed: the ID of the one created last,
/// or podman's "no such container" when there is none.
pub fn latest_id(store: &Store) -> Result<String, crate::Error> {
    latest(store)
        .map_err(crate::Error::other)?
        .map(|i| i.id)
        .ok_or(crate::Error::NoContainers)
}

fn newest(list: Vec<Info>) -> Option<Info> {
    list.into_iter().max_by_key(|i| i.config.created_ns)
}

/// Of `names`, those whose container passes every filter (`ps`'s keys and
/// `restart-policy=`), in order; a name no container has is an error.
pub fn matching(
    store: &Store,
    names: Vec<String>,
    filters: &[String],
) -> Result<Vec<String>, crate::Error> {
    if filters.is_empty() {
        return Ok(names);
    }
    let filters = crate::container_filters::ContainerFilters::parse(store, filters)
        .map_err(crate::Error::other)?;
    let mut kept = Vec::new();
    for n in names {
        let i = container::find(store, &n)?;
        if filters.matches(store, &i) {
            kept.push(n);
        }
    }
    Ok(kept)
}

/// The containers whose root filesystem is mounted now: each ID with where.
pub fn mounted(store: &Store) -> Result<Vec<(String, PathBuf)>, berth_storage::Error> {
    Ok(container::list(store)?
        .into_iter()
        .filter_map(|i| store.mount_point(&i.id).map(|p| (i.id, p)))
        .collect())
}

/// Mounts the container's root filesystem; returns where.
pub fn mount(store: &Store, name: &str) -> Result<PathBuf, crate::Error> {
    let i = container::find(store, name)?;
    let at = store.mount(&i.id).map_err(crate::Error::other)?;
    crate::events::container(store, &i, "mount", None);
    Ok(at)
}

/// Undoes a mount of it (every one with `force`); returns its ID.
pub fn unmount(store: &Store, name: &str, force: bool) -> Result<String, crate::Error> {
    let i = container::find(store, name)?;
    store.unmount(&i.id, force).map_err(crate::Error::other)?;
    crate::events::container(store, &i, "unmount", None);
    Ok(i.id)
}

/// `attach`: the container, which must be running to be attached to.
pub fn attachable(store: &Store, name: &str) -> Result<Info, crate::Error> {
    let i = container::find(store, name)?;
    if i.state.status != Status::Running {
        return Err(crate::Error::StateImproper(format!(
            "you can only attach to running containers: {} is {}",
            i.id,
            i.state.status.as_str()
        )));
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, created_ns: u64, status: Status) -> Info {
        let mut i = Info {
            id: id.into(),
            names: vec![format!("n-{id}")],
            config: Default::default(),
            state: Default::default(),
        };
        i.config.created_ns = created_ns;
        i.state.status = status;
        i
    }

    #[test]
    fn latest_is_the_one_created_last_wherever_it_is_listed() {
        let list = vec![
            info("a", 2, Status::Exited),
            info("b", 9, Status::Created),
            info("c", 5, Status::Running),
        ];
        assert_eq!(newest(list).map(|i| i.id).as_deref(), Some("b"));
        assert!(newest(Vec::new()).is_none());
    }

    #[test]
    fn running_counts_paused_ones() {
        assert!(is_running(&info("a", 0, Status::Running)));
        assert!(is_running(&info("a", 0, Status::Paused)));
        assert!(!is_running(&info("a", 0, Status::Created)));
        assert!(!is_running(&info("a", 0, Status::Exited)));
    }

    #[test]
    fn all_of_a_kind_takes_only_that_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::test_store(dir.path());
        let paused = info("p", 0, Status::Paused);
        assert!(AllOf::Every.includes(&store, &paused));
        assert!(AllOf::Running.includes(&store, &paused));
        assert!(!AllOf::NotRunning.includes(&store, &paused));
        assert!(AllOf::InState(Status::Paused).includes(&store, &paused));
        assert!(!AllOf::InState(Status::Running).includes(&store, &paused));
        // Not a container of the store: nothing of it is mounted.
        assert!(!AllOf::Mounted.includes(&store, &paused));
        // Without --all the names stand as given, known or not.
        let names = vec!["x".to_string(), "y".to_string()];
        assert_eq!(targets(&store, None, false, &names).unwrap(), names);
        assert!(
            targets(&store, Some(AllOf::Every), false, &names)
                .unwrap()
                .is_empty()
        );
        assert!(latest(&store).unwrap().is_none());
        // --latest in an empty store: podman's "no such container".
        let none = targets(&store, None, true, &names).unwrap_err();
        assert!(matches!(none, crate::Error::NoContainers), "{none}");
    }
}
