//! `pod ps`'s choices beyond filters: the order of its rows and `--latest`.

use std::cmp::Reverse;
use std::str::FromStr;

use super::PodSummary;
use crate::Error;

/// How `pod ps` orders its rows (podman's `--sort`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodSort {
    /// Newest first.
    #[default]
    Created,
    Id,
    Name,
    /// By number of containers, fewest first.
    Number,
    Status,
}

impl FromStr for PodSort {
    type Err = Error;

    fn from_str(s: &str) -> Result<PodSort, Error> {
        Ok(match s {
            "created" => PodSort::Created,
            "id" => PodSort::Id,
            "name" => PodSort::Name,
            "number" => PodSort::Number,
            "status" => PodSort::Status,
            _ => {
                return Err(Error::InvalidArgument(
                    "invalid option for --sort, options are: created, id, name, number, or status"
                        .into(),
                ));
            }
        })
    }
}

impl PodSort {
    fn apply(self, list: &mut [PodSummary]) {
        match self {
            PodSort::Created => list.sort_by_key(|p| Reverse(p.created_ns)),
            PodSort::Id => list.sort_by(|a, b| a.id.cmp(&b.id)),
            PodSort::Name => list.sort_by(|a, b| a.name.cmp(&b.name)),
            PodSort::Number => list.sort_by_key(|p| p.containers.len()),
            PodSort::Status => list.sort_by(|a, b| a.status.cmp(&b.status)),
        }
    }
}

/// What `pod ps` lists, and in which order.
#[derive(Clone, Debug, Default)]
pub struct PsOptions {
    /// As [`super::ps`] takes them.
    pub filters: Vec<String>,
    pub sort: PodSort,
    /// Only the pod created last (of those the filters pass), whatever the
    /// order asked for.
    pub latest: bool,
}

/// [`super::ps`], ordered, or only its newest pod.
pub fn ps(store: &berth_storage::Store, o: &PsOptions) -> Result<Vec<PodSummary>, Error> {
    let mut list = super::ps(store, &o.filters)?;
    if o.latest {
        list.sort_by_key(|p| Reverse(p.created_ns));
        list.truncate(1);
    }
    o.sort.apply(&mut list);
    Ok(list)
}
