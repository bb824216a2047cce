//! `system df`: what images, containers and volumes take on disk, and what of
//! it nothing uses, counted as podman counts it.

use std::collections::HashMap;

use berth_storage::{Image, Store};

use crate::container::{Info, Status};
use crate::views::{self, PsOptions, ViewError};

/// One image: its record, what of it other images share, who uses it.
#[derive(Clone, Debug)]
pub struct ImageUse {
    pub image: Image,
    /// Bytes of its layers that other images use too.
    pub shared: u64,
    /// The containers made from it (a build's working ones included).
    pub containers: usize,
}

/// One container: what it wrote, and how many named volumes it uses.
#[derive(Clone, Debug)]
pub struct ContainerUse {
    pub info: Info,
    /// Bytes of its read-write layer.
    pub rw: u64,
    pub volumes: usize,
}

/// One named volume: how many containers name it, what it holds.
#[derive(Clone, Debug)]
pub struct VolumeUse {
    pub name: String,
    pub links: usize,
    pub size: u64,
}

/// Everything `system df` reports on, measured once.
#[derive(Clone, Debug)]
pub struct DiskUse {
    pub images: Vec<ImageUse>,
    pub containers: Vec<ContainerUse>,
    pub volumes: Vec<VolumeUse>,
}

/// One line of the summary: how many there are, how many are in use, what
/// they take and what the unused ones take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// "Images", "Containers", "Local Volumes".
    pub kind: &'static str,
    pub total: usize,
    pub active: usize,
    pub size: u64,
    pub reclaimable: u64,
}

impl Summary {
    fn of(kind: &'static str, items: impl Iterator<Item = (bool, u64)>) -> Summary {
        let mut s = Summary {
            kind,
            total: 0,
            active: 0,
            size: 0,
            reclaimable: 0,
        };
        for (active, n) in items {
            s.total += 1;
            s.size += n;
            if active {
                s.active += 1;
            } else {
                s.reclaimable += n;
            }
        }
        s
    }

    /// The reclaimable part in whole percent, rounded.
    pub fn reclaimable_percent(&self) -> u64 {
        (self.reclaimable * 100 + self.size / 2)
            .checked_div(self.size)
            .unwrap_or(0)
    }
}

impl DiskUse {
    /// Measures the store: images, the containers `ps -a` shows, named volumes.
    pub fn measure(store: &Store) -> Result<DiskUse, ViewError> {
        let images = store.images()?;
        // Every container of the store holds its image, a build's working ones too.
        let all = store.containers()?;
        let shared = shared_sizes(store, &images);
        let images = images
            .into_iter()
            .map(|image| ImageUse {
                shared: shared.get(&image.id).copied().unwrap_or(0),
                containers: all.iter().filter(|c| c.image == image.id).count(),
                image,
            })
            .collect();
        let names = crate::volumes::named::names(store);
        let opts = PsOptions {
            all: true,
            ..Default::default()
        };
        let containers = views::ps(store, &opts)?
            .into_iter()
            .map(|info| ContainerUse {
                rw: views::sizes(store, &info).0,
                volumes: named_volumes(&info, &names),
                info,
            })
            .collect();
        let volumes = names
            .iter()
            .map(|n| VolumeUse {
                links: crate::volumes::named::users(store, n).len(),
                size: views::du(&crate::volumes::named::data_dir(store, n)),
                name: n.clone(),
            })
            .collect();
        Ok(DiskUse {
            images,
            containers,
            volumes,
        })
    }

    /// The three summary lines. Active: images a container uses, running
    /// containers, volumes a container names.
    pub fn summary(&self) -> [Summary; 3] {
        let images = self.images.iter().map(|i| (i.containers > 0, i.image.size));
        let containers = self
            .containers
            .iter()
            .map(|c| (c.info.state.status == Status::Running, c.rw));
        let volumes = self.volumes.iter().map(|v| (v.links > 0, v.size));
        [
            Summary::of("Images", images),
            Summary::of("Containers", containers),
            Summary::of("Local Volumes", volumes),
        ]
    }
}

/// For each image, the bytes of its layers that another image uses too.
fn shared_sizes(store: &Store, images: &[Image]) -> HashMap<String, u64> {
    let mut users: HashMap<&str, usize> = HashMap::new();
    for img in images {
        for l in &img.layers {
            *users.entry(l.as_str()).or_default() += 1;
        }
    }
    images
        .iter()
        .map(|img| {
            let shared = img
                .layers
                .iter()
                .filter(|l| users.get(l.as_str()).is_some_and(|n| *n > 1))
                .filter_map(|l| store.layer(l).ok()?.uncompressed_size)
                .sum();
            (img.id.clone(), shared)
        })
        .collect()
}

/// How many of the container's volumes are named ones.
fn named_volumes(info: &Info, names: &[String]) -> usize {
    info.config
        .process
        .volumes
        .iter()
        .filter(|v| v.name().is_some_and(|n| names.iter().any(|x| x == n)))
        .count()
}
