//! `system df`: what images, containers and volumes take on disk, and what of
//! it nothing uses, counted as podman counts it.

use std::collections::HashMap;

use berth_storage::{Image, Store};
use serde::Serialize;

use crate::container::{Info, Status};
use crate::units::human_size;
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

/// A summary line as podman's `system df` templates and JSON see it: the
/// sizes raw and for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryRow {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub total: usize,
    pub active: usize,
    pub raw_size: u64,
    pub raw_reclaimable: u64,
    /// `human_size` of the raw size.
    pub size: String,
    /// The reclaimable size and its share, `1.2MB (40%)`.
    pub reclaimable: String,
}

impl From<&Summary> for SummaryRow {
    fn from(s: &Summary) -> SummaryRow {
        SummaryRow {
            kind: s.kind,
            total: s.total,
            active: s.active,
            raw_size: s.size,
            raw_reclaimable: s.reclaimable,
            size: human_size(s.size),
            reclaimable: format!(
                "{} ({}%)",
                human_size(s.reclaimable),
                s.reclaimable_percent()
            ),
        }
    }
}

/// One name of an image in `system df -v` (podman's SystemDfImageReport):
/// an image with several names has a row for each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageRow {
    /// `<none>` for an image without names.
    pub repository: String,
    /// `<none>` for a name without a tag.
    pub tag: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// Seconds since the epoch.
    pub created: u64,
    pub size: u64,
    pub shared_size: u64,
    pub unique_size: u64,
    pub containers: usize,
}

/// One container in `system df -v` (podman's SystemDfContainerReport).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRow {
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// The image's ID.
    pub image: String,
    pub command: Vec<String>,
    pub local_volumes: usize,
    /// Bytes of its read-write layer.
    pub size: u64,
    /// Seconds since the epoch.
    pub created: u64,
    pub status: String,
    pub names: String,
}

/// One named volume in `system df -v` (podman's SystemDfVolumeReport).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeRow {
    pub volume_name: String,
    pub links: usize,
    pub size: u64,
}

/// `system df -v`: every image name, container and volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Verbose {
    pub images: Vec<ImageRow>,
    pub containers: Vec<ContainerRow>,
    pub volumes: Vec<VolumeRow>,
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

    /// The summary lines with podman's template fields.
    pub fn summary_rows(&self) -> Vec<SummaryRow> {
        self.summary().iter().map(SummaryRow::from).collect()
    }

    /// The rows of `system df -v`.
    pub fn verbose(&self) -> Verbose {
        Verbose {
            images: self.images.iter().flat_map(image_rows).collect(),
            containers: self.containers.iter().map(container_row).collect(),
            volumes: self
                .volumes
                .iter()
                .map(|v| VolumeRow {
                    volume_name: v.name.clone(),
                    links: v.links,
                    size: v.size,
                })
                .collect(),
        }
    }
}

/// A row per name of the image (one `<none>` row when it has none).
fn image_rows(u: &ImageUse) -> Vec<ImageRow> {
    let names = if u.image.names.is_empty() {
        vec![("<none>", "<none>")]
    } else {
        u.image.names.iter().map(|n| repo_tag(n)).collect()
    };
    names
        .into_iter()
        .map(|(repo, tag)| ImageRow {
            repository: repo.to_string(),
            tag: tag.to_string(),
            image_id: u.image.id.clone(),
            created: u.image.created,
            size: u.image.size,
            shared_size: u.shared,
            unique_size: u.image.size.saturating_sub(u.shared),
            containers: u.containers,
        })
        .collect()
}

fn container_row(c: &ContainerUse) -> ContainerRow {
    let i = &c.info;
    ContainerRow {
        container_id: i.id.clone(),
        image: i.config.image_id.clone(),
        command: i.config.args.clone(),
        local_volumes: c.volumes,
        size: c.rw,
        created: i.config.created_ns / 1_000_000_000,
        status: i.state.status.as_str().to_string(),
        names: i.name().to_string(),
    }
}

/// `registry/repo:tag` as (`registry/repo`, `tag`); a colon of the
/// registry's port is no tag.
fn repo_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (name, "<none>"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, names: &[&str], size: u64) -> Image {
        let digest = format!("sha256:{}", "0".repeat(64));
        serde_json::from_value(serde_json::json!({
            "id": id, "names": names, "config_digest": digest, "manifest_digest": digest,
            "manifest_media_type": "", "created": 7, "size": size,
        }))
        .expect("an image record")
    }

    #[test]
    fn names_split_into_repository_and_tag() {
        assert_eq!(
            repo_tag("localhost:5000/a/b:1"),
            ("localhost:5000/a/b", "1")
        );
        assert_eq!(
            repo_tag("localhost:5000/a/b"),
            ("localhost:5000/a/b", "<none>")
        );
    }

    #[test]
    fn an_image_has_a_row_per_name_or_one_without() {
        let du = DiskUse {
            images: vec![
                ImageUse {
                    image: image("a", &["x:1", "y:2"], 100),
                    shared: 30,
                    containers: 2,
                },
                ImageUse {
                    image: image("b", &[], 10),
                    shared: 20,
                    containers: 0,
                },
            ],
            containers: Vec::new(),
            volumes: Vec::new(),
        };
        let rows = du.verbose().images;
        let names: Vec<_> = rows
            .iter()
            .map(|r| (r.repository.as_str(), r.tag.as_str(), r.image_id.as_str()))
            .collect();
        assert_eq!(
            names,
            [("x", "1", "a"), ("y", "2", "a"), ("<none>", "<none>", "b")]
        );
        assert_eq!(rows[0].unique_size, 70);
        // More shared than its size (a stale count) is no unique size at all.
        assert_eq!(rows[2].unique_size, 0);
    }

    #[test]
    fn summary_rows_carry_raw_and_human_sizes() {
        let s = Summary::of("Images", [(true, 1500), (false, 500)].into_iter());
        let row = SummaryRow::from(&s);
        assert_eq!((row.total, row.active), (2, 1));
        assert_eq!((row.raw_size, row.raw_reclaimable), (2000, 500));
        assert_eq!(row.size, human_size(2000));
        assert_eq!(row.reclaimable, format!("{} (25%)", human_size(500)));
        let v = serde_json::to_value(&row).expect("json");
        let keys: Vec<_> = v.as_object().expect("object").keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "Type",
                "Total",
                "Active",
                "RawSize",
                "RawReclaimable",
                "Size",
                "Reclaimable"
            ]
        );
    }
}
