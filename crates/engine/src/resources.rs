//! A container's resource limits (`--memory`, `--cpus` …) as cgroup settings: at
//! create, and changed on a running container by `update`.

use berth_runtime::spec::{BlockIo, Resources};
use berth_storage::Store;

use crate::Error;
use crate::container::{self, Status};
use crate::security::{MemoryLimit, SecurityError};
use crate::spec::ProcessOptions;

/// The cgroup settings of a container's limits; None when it has none.
pub fn of(o: &ProcessOptions) -> Result<Option<Resources>, SecurityError> {
    let mut resources = crate::security::resources(o.memory, o.cpus, o.pids_limit)?;
    if o.cpu_shares.is_some() || o.cpuset_cpus.is_some() || o.cpuset_mems.is_some() {
        let r = resources.get_or_insert_with(Default::default);
        let cpu = r.cpu.get_or_insert_with(Default::default);
        cpu.shares = o.cpu_shares.or(cpu.shares);
        cpu.cpus = o.cpuset_cpus.clone().or(cpu.cpus.take());
        cpu.mems = o.cpuset_mems.clone().or(cpu.mems.take());
    }
    if o.memory_swap.is_some() || o.memory_reservation.is_some() {
        let r = resources.get_or_insert_with(Default::default);
        let m = r.memory.get_or_insert_with(Default::default);
        m.swap = o.memory_swap.or(m.swap);
        m.reservation = o.memory_reservation.or(m.reservation);
    }
    if let Some(w) = o.blkio_weight {
        let r = resources.get_or_insert_with(Default::default);
        r.block_io = Some(BlockIo {
            weight: Some(w),
            ..r.block_io.take().unwrap_or_default()
        });
    }
    Ok(resources)
}

/// What `update` changes; None leaves a limit as it is.
#[derive(Debug, Clone, Default)]
pub struct ResourceUpdate {
    pub memory: Option<MemoryLimit>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

impl ResourceUpdate {
    /// Sets the limits given over those of `o`.
    pub fn apply_to(&self, o: &mut ProcessOptions) {
        fn set<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
            if value.is_some() {
                field.clone_from(value);
            }
        }
        set(&mut o.memory, &self.memory);
        set(&mut o.memory_swap, &self.memory_swap);
        set(&mut o.memory_reservation, &self.memory_reservation);
        set(&mut o.cpus, &self.cpus);
        set(&mut o.cpu_shares, &self.cpu_shares);
        set(&mut o.cpuset_cpus, &self.cpuset_cpus);
        set(&mut o.cpuset_mems, &self.cpuset_mems);
        set(&mut o.pids_limit, &self.pids_limit);
        set(&mut o.blkio_weight, &self.blkio_weight);
    }
}

/// podman's `update`: the new limits apply to the running container's cgroup at
/// once and are kept for its next start. Returns the container's ID.
pub fn update(store: &Store, name: &str, u: &ResourceUpdate) -> Result<String, Error> {
    let info = container::find(store, name)?;
    let mut process = info.config.process.clone();
    u.apply_to(&mut process);
    let resources = of(&process)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?
        .unwrap_or_default();
    if matches!(info.state.status, Status::Running | Status::Paused) {
        crate::oci::Oci::for_container(store, &info)?.update(&info.id, &resources)?;
    }
    container::update_config(store, &info.id, |c| u.apply_to(&mut c.process))?;
    Ok(info.id)
}
