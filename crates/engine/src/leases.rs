//! Leases: images a process uses that no container stands for yet.
//!
//! A container record keeps its image from `image prune` and `rmi`. A build
//! also uses images no container holds at every moment (the base of a stage
//! that has not started, the intermediate images it committed with `--layers`
//! and will start the next step from, its stages' images), and a pull hands
//! the image it stored to the rest of its command. Such a process leases
//! them, as containers/storage's in-use accounting does for buildah: a file
//! `RUNROOT/leases/PID-START-N` lists the image IDs, one a line. A process
//! that removes images unasked (`image prune`) leaves every leased one alone.
//!
//! A lease names its process by pid and start time ([`ProcessId`]): a file
//! whose process is gone (killed, crashed) holds nothing and is removed by
//! the next reader. Leases live in the run root because they mean nothing
//! after a reboot.
//!
//! Between making an image and writing its ID down, the image is in no lease.
//! So holders make (or look up) and lease an image under a shared lock
//! (`RUNROOT/leases/.lock`), and removers read the leases and remove under
//! the exclusive one: a remover sees either no image or a leased one.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth_runtime::pid::{Pid, ProcessId};
use berth_storage::lock::{LockFile, LockGuard};

/// Where leases live under the run root.
const DIR: &str = "leases";
/// The lock holders share and removers take alone (a dot name: no lease).
const LOCK: &str = ".lock";

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] berth_storage::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LeaseError + '_ {
    move |source| LeaseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The images one object of this process holds; its file goes when it is
/// dropped.
#[derive(Debug)]
pub struct Lease {
    dir: PathBuf,
    path: PathBuf,
    owner: ProcessId,
    images: Mutex<BTreeSet<String>>,
}

/// Makes several leases of one process distinct (a pull's and a build's).
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Lease {
    /// An empty lease on the images of the store whose run root is
    /// `run_root`; no file is written until it holds something.
    pub fn new(run_root: &Path) -> Lease {
        let dir = run_root.join(DIR);
        let owner = ProcessId::this();
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{}-{}-{n}", owner.pid, owner.start));
        Lease {
            dir,
            path,
            owner,
            images: Mutex::new(BTreeSet::new()),
        }
    }

    /// Held while the caller makes or looks up an image and [`add`]s it: no
    /// remover decides in between.
    ///
    /// [`add`]: Lease::add
    pub fn making(&self) -> Result<LockGuard, LeaseError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        Ok(LockFile::new(self.dir.join(LOCK)).shared()?)
    }

    /// Runs `f`, which makes or finds an image, and leases the ID it returns.
    pub fn hold<E: From<LeaseError>>(
        &self,
        f: impl FnOnce() -> Result<String, E>,
    ) -> Result<String, E> {
        let _making = self.making()?;
        let id = f()?;
        self.add(&id)?;
        Ok(id)
    }

    /// Leases `id` (call it under [`making`](Lease::making)).
    pub fn add(&self, id: &str) -> Result<(), LeaseError> {
        let mut images = self.images.lock().unwrap_or_else(|e| e.into_inner());
        if images.insert(id.to_string()) {
            self.write(&images)?;
        }
        Ok(())
    }

    /// The file, replaced whole: a reader never sees half a list.
    fn write(&self, images: &BTreeSet<String>) -> Result<(), LeaseError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let text: String = images.iter().map(|i| format!("{i}\n")).collect();
        berth_image::fsutil::write_atomic(&self.path, text.as_bytes())
            .map_err(|e| io(&self.path)(std::io::Error::other(e)))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A forked child (a monitor) inherits the object but not the lease.
        if Pid::this() == self.owner.pid {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What live leases hold, read by a process about to remove images. Until it
/// is dropped no holder makes and leases an image.
pub struct Leased {
    images: HashSet<String>,
    _lock: LockGuard,
}

impl Leased {
    /// Waits for holders between making and leasing an image; reads every
    /// live lease, and removes the files of dead processes.
    pub fn read(run_root: &Path) -> Result<Leased, LeaseError> {
        let dir = run_root.join(DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock = LockFile::new(dir.join(LOCK)).exclusive()?;
        let mut images = HashSet::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(owner) = owner(&name) else {
                continue;
            };
            if !owner.alive() {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            // Gone since the listing: its process dropped it.
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            images.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
        }
        Ok(Leased {
            images,
            _lock: lock,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.images.contains(id)
    }

    /// Whether no live process holds a lease (no build or pull is under way).
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// The process a lease file's name `PID-START-N` names (None: not a lease).
fn owner(name: &str) -> Option<ProcessId> {
    let mut parts = name.split('-');
    let pid = Pid::parse(parts.next()?)?;
    let start = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u64>().ok()?;
    Some(ProcessId { pid, start })
}

/// Leases held for the rest of the process (a pull's images, which the
/// command goes on to use), one per run root.
static PROCESS: Mutex<Vec<Arc<Lease>>> = Mutex::new(Vec::new());

/// This process's lease on `run_root`'s images, held until it exits.
pub fn process_lease(run_root: &Path) -> Arc<Lease> {
    let mut all = PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = run_root.join(DIR);
    if let Some(l) = all.iter().find(|l| l.dir == dir) {
        return l.clone();
    }
    if all.is_empty() {
        // SAFETY: registers a function taking nothing; it runs at exit.
        unsafe { libc::atexit(release_at_exit) };
    }
    let lease = Arc::new(Lease::new(run_root));
    all.push(lease.clone());
    lease
}

/// Statics are never dropped: the process's leases go at exit (a lease that
/// stays, when this cannot run, is a dead process's and ignored).
extern "C" fn release_at_exit() {
    if let Ok(mut all) = PROCESS.try_lock() {
        all.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A private run root, removed when dropped.
    struct Root(PathBuf);

    impl Root {
        fn new(name: &str) -> Root {
            let p =
                std::env::temp_dir().join(format!("berth-leases-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Root(p)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn held_until_dropped() {
        let root = Root::new("held");
        let lease = Lease::new(root.path());
        lease.hold(|| Ok::<_, LeaseError>("a".into())).unwrap();
        lease.add("b").unwrap();
        {
            let held = Leased::read(root.path()).unwrap();
            assert!(held.contains("a") && held.contains("b"));
        }
        drop(lease);
        assert!(!Leased::read(root.path()).unwrap().contains("a"));
    }

    #[test]
    fn a_dead_process_holds_nothing() {
        let root = Root::new("dead");
        let dir = root.path().join(DIR);
        std::fs::create_dir_all(&dir).unwrap();
        // This pid with a start time it never had: a process long gone.
        let me = ProcessId::this();
        let stale = dir.join(format!("{}-{}-0", me.pid, me.start + 1));
        std::fs::write(&stale, "a\n").unwrap();
        assert!(!Leased::read(root.path()).unwrap().contains("a"));
        assert!(!stale.exists(), "a dead process's lease was left");
    }
}
