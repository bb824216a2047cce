//! Containers whose user namespace maps IDs otherwise than the store's files
//! are owned (podman's `--uidmap`/`--gidmap`): the image's layers are mounted as
//! copies whose owners went through the map, so that inside the namespace each
//! file has the owner the image gives it. A copy is made once per map and layer
//! (`GRAPHROOT/overlay-mapped/KEY/LAYER`) and shared by every container with
//! that map; it goes with its layer.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// IDs `container..container+size` in the namespace are `host..host+size`
/// outside it (one line of `uid_map`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// A container's user namespace mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

/// What the kernel shows for an ID a namespace does not map.
pub const OVERFLOW_ID: u32 = 65534;

fn to_host(ranges: &[IdRange], id: u32) -> u32 {
    ranges
        .iter()
        .find(|r| id >= r.container && id - r.container < r.size)
        .map_or(OVERFLOW_ID, |r| r.host + (id - r.container))
}

impl IdMap {
    /// The owner a file owned by `uid` in the image has outside the namespace.
    pub fn host_uid(&self, uid: u32) -> u32 {
        to_host(&self.uids, uid)
    }

    pub fn host_gid(&self, gid: u32) -> u32 {
        to_host(&self.gids, gid)
    }

    /// The map's short, stable name: where its copies live.
    pub fn key(&self) -> String {
        let text = serde_json::to_vec(self).expect("json");
        let hash = Sha256::digest(&text);
        hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// Whether `uid`/`gid` (a mapped container's root) may pass through every
/// directory above `dir`: said in one line naming the first that it may not,
/// rather than the runtime's "permission denied" on the container's root.
pub fn check_passable(dir: &std::path::Path, uid: u32, gid: u32) -> crate::error::Result<()> {
    use std::os::unix::fs::MetadataExt;
    for d in dir.ancestors().skip(1) {
        let Ok(m) = std::fs::metadata(d) else {
            continue;
        };
        let bit = if m.uid() == uid {
            0o100
        } else if m.gid() == gid {
            0o010
        } else {
            0o001
        };
        if m.mode() & bit == 0 {
            return Err(crate::error::Error::Invalid(format!(
                "{} (mode {:o}) does not let UID {uid} through: a container in a user namespace of its own cannot reach its root under it",
                d.display(),
                m.mode() & 0o7777
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> IdMap {
        let r = |container, host, size| IdRange {
            container,
            host,
            size,
        };
        IdMap {
            uids: vec![r(0, 100000, 1000), r(1000, 5000, 1)],
            gids: vec![r(0, 200000, 65536)],
        }
    }

    #[test]
    fn ids_go_through_their_range_and_the_rest_overflow() {
        let m = map();
        assert_eq!(m.host_uid(0), 100000);
        assert_eq!(m.host_uid(999), 100999);
        assert_eq!(m.host_uid(1000), 5000);
        assert_eq!(m.host_uid(1001), OVERFLOW_ID);
        assert_eq!(m.host_gid(65535), 265535);
        assert_eq!(m.host_gid(65536), OVERFLOW_ID);
    }

    #[test]
    fn the_key_names_the_map() {
        assert_eq!(map().key(), map().key());
        assert_ne!(map().key(), IdMap::default().key());
        assert_eq!(map().key().len(), 16);
    }
}
