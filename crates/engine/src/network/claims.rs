//! Subnets and bridge names are the host's, not a store's: two stores (two
//! `--root`s, or two test stores side by side) that each make a network must
//! not both pick `10.89.1.0/24` on `berth1`, or their containers share one
//! bridge with the same addresses and each other's DNS. A route on the host
//! shows a subnet only once its bridge is up, which is at the first
//! container's start, too late for a network made just before. So a network
//! claims its subnet and bridge on the host when it is made, under one host
//! lock: a claim is a file naming the network's own file, and it holds while
//! that file exists (a store deleted with its networks leaves none behind).
//! Claims are a network namespace's: berth run inside another one (as the
//! tests' own namespaces) has bridges and routes of its own.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::NetworkError;

/// Where root's claims are: under /run, so they last as long as the bridges.
const HOST_DIR: &str = "/run/berth/network-claims";

/// The claims, locked for the caller's lifetime of this value.
pub struct Claims {
    dir: PathBuf,
    _lock: File,
}

impl Claims {
    /// Locks the claims: for root, those of the network namespace berth
    /// runs in; a rootless store's networks live in a namespace of its own,
    /// so its claims stay in its run root.
    pub fn lock(run_root: &Path) -> Result<Claims, NetworkError> {
        let dir = if super::rootless::active() {
            run_root.join("network-claims")
        } else {
            let ns = "/proc/self/ns/net";
            let ino = std::fs::metadata(ns).map_err(NetworkError::io(Path::new(ns)))?;
            Path::new(HOST_DIR).join(format!("netns-{}", ino.ino()))
        };
        std::fs::create_dir_all(&dir).map_err(NetworkError::io(&dir))?;
        let path = dir.join(".lock");
        let lock = berth_storage::lock::lock_file(&path).map_err(NetworkError::io(&path))?;
        Ok(Claims { dir, _lock: lock })
    }

    /// Whether another live network than `owner` holds `what` (`10.89.1.0/24`,
    /// `berth1`).
    pub fn taken_by_other(&self, what: &str, owner: &Path) -> bool {
        match std::fs::read_to_string(self.file(what)) {
            Ok(holder) => Path::new(&holder) != owner && Path::new(&holder).exists(),
            Err(_) => false,
        }
    }

    /// Claims `what` for the network whose file is `owner`.
    pub fn claim(&self, what: &str, owner: &Path) -> Result<(), NetworkError> {
        let path = self.file(what);
        std::fs::write(&path, owner.as_os_str().as_encoded_bytes()).map_err(NetworkError::io(&path))
    }

    /// Gives `what` back, if `owner` still holds it.
    pub fn release(&self, what: &str, owner: &Path) {
        let path = self.file(what);
        if std::fs::read_to_string(&path).is_ok_and(|h| Path::new(&h) == owner) {
            let _ = std::fs::remove_file(path);
        }
    }

    fn file(&self, what: &str) -> PathBuf {
        self.dir.join(what.replace('/', "_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_holds_while_its_networks_file_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let claims = Claims {
            dir: tmp.path().to_path_buf(),
            _lock: File::create(tmp.path().join(".lock")).unwrap(),
        };
        let mine = tmp.path().join("a.json");
        let theirs = tmp.path().join("b.json");
        std::fs::write(&theirs, "{}").unwrap();
        claims.claim("10.89.1.0/24", &theirs).unwrap();
        assert!(claims.taken_by_other("10.89.1.0/24", &mine));
        assert!(!claims.taken_by_other("10.89.1.0/24", &theirs));
        assert!(!claims.taken_by_other("10.89.2.0/24", &mine));
        // Not theirs to give back.
        claims.release("10.89.1.0/24", &mine);
        assert!(claims.taken_by_other("10.89.1.0/24", &mine));
        // Their store went, files and all: the claim is stale.
        std::fs::remove_file(&theirs).unwrap();
        assert!(!claims.taken_by_other("10.89.1.0/24", &mine));
    }
}
