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
    let cpu_given = o.cpu_shares.is_some() || o.cpuset_cpus.is_some() || o.cpuset_mems.is_some();
    if cpu_given || o.cpu_period.is_some() || o.cpu_quota.is_some() {
        let r = resources.get_or_insert_with(Default::default);
        let cpu = r.cpu.get_or_insert_with(Default::default);
        cpu.shares = o.cpu_shares.or(cpu.shares);
        cpu.cpus = o.cpuset_cpus.clone().or(cpu.cpus.take());
        cpu.mems = o.cpuset_mems.clone().or(cpu.mems.take());
        cpu.period = o.cpu_period.or(cpu.period);
        cpu.quota = o.cpu_quota.or(cpu.quota);
    }
    if o.memory_swap.is_some() || o.memory_reservation.is_some() {
        let r = resources.get_or_insert_with(Default::default);
        let m = r.memory.get_or_insert_with(Default::default);
        m.swap = o.memory_swap.or(m.swap);
        m.reservation = o.memory_reservation.or(m.reservation);
    }
    let throttles = [
        &o.device_read_bps,
        &o.device_write_bps,
        &o.device_read_iops,
        &o.device_write_iops,
    ];
    if throttles.iter().any(|t| !t.is_empty()) {
        let r = resources.get_or_insert_with(Default::default);
        let b = r.block_io.get_or_insert_with(Default::default);
        let devices = |v: &[DeviceThrottle]| v.iter().map(DeviceThrottle::device).collect();
        b.throttle_read_bps_device = devices(&o.device_read_bps);
        b.throttle_write_bps_device = devices(&o.device_write_bps);
        b.throttle_read_iops_device = devices(&o.device_read_iops);
        b.throttle_write_iops_device = devices(&o.device_write_iops);
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

/// `--device-read-bps PATH:RATE` (and -write-bps, -read-iops, -write-iops):
/// a device's IO limit, its numbers read from the device node at create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceThrottle {
    pub path: String,
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

impl DeviceThrottle {
    /// `PATH:RATE`; `bytes`: the rate is a size (`1M`, `512kb`), else a count.
    pub fn parse(flag: &str, spec: &str, bytes: bool) -> Result<DeviceThrottle, Error> {
        let bad = |why: String| Error::InvalidArgument(format!("--{flag} {spec}: {why}"));
        let (path, rate) = spec
            .rsplit_once(':')
            .ok_or_else(|| bad("expected DEVICE:RATE".into()))?;
        let rate = match bytes {
            true => crate::security::parse_bytes(rate)
                .ok()
                .and_then(|b| u64::try_from(b).ok()),
            false => rate.parse().ok(),
        }
        .ok_or_else(|| bad(format!("{rate:?} is not a rate")))?;
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let m = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        if !(m.file_type().is_block_device() || m.file_type().is_char_device()) {
            return Err(bad(format!("{path} is not a device")));
        }
        let dev = m.rdev();
        Ok(DeviceThrottle {
            path: path.to_string(),
            major: (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as i64,
            minor: ((dev & 0xff) | ((dev >> 12) & !0xff)) as i64,
            rate,
        })
    }

    fn device(&self) -> berth_runtime::spec::ThrottleDevice {
        berth_runtime::spec::ThrottleDevice {
            major: self.major,
            minor: self.minor,
            rate: self.rate,
        }
    }
}

/// Kept as `PATH:RATE MAJOR:MINOR`, the numbers read at create.
impl std::fmt::Display for DeviceThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} {}:{}",
            self.path, self.rate, self.major, self.minor
        )
    }
}

impl std::str::FromStr for DeviceThrottle {
    type Err = Error;
    fn from_str(s: &str) -> Result<DeviceThrottle, Error> {
        let bad = || Error::InvalidArgument(format!("a stored device limit {s:?}"));
        let (spec, numbers) = s.rsplit_once(' ').ok_or_else(bad)?;
        let (path, rate) = spec.rsplit_once(':').ok_or_else(bad)?;
        let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
        Ok(DeviceThrottle {
            path: path.to_string(),
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
            rate: rate.parse().map_err(|_| bad())?,
        })
    }
}

/// What `update` changes; None leaves a limit as it is. Also a pod's limits.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ResourceUpdate {
    #[serde(with = "crate::flagform::optional")]
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
    /// Whether any limit is given.
    pub fn is_empty(&self) -> bool {
        *self == ResourceUpdate::default()
    }

    /// These limits with those `top` gives put over them.
    pub fn overlaid(mut self, top: &ResourceUpdate) -> ResourceUpdate {
        set(&mut self.memory, &top.memory);
        set(&mut self.memory_swap, &top.memory_swap);
        set(&mut self.memory_reservation, &top.memory_reservation);
        set(&mut self.cpus, &top.cpus);
        set(&mut self.cpu_shares, &top.cpu_shares);
        set(&mut self.cpuset_cpus, &top.cpuset_cpus);
        set(&mut self.cpuset_mems, &top.cpuset_mems);
        set(&mut self.pids_limit, &top.pids_limit);
        set(&mut self.blkio_weight, &top.blkio_weight);
        self
    }

    /// Sets the limits given over those of `o`.
    pub fn apply_to(&self, o: &mut ProcessOptions) {
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

fn set<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        field.clone_from(value);
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
