//! `search`: the repositories a registry lists whose names hold a term
//! (podman's search, over the registry's catalog), or a repository's tags.

use berth_image::transport::docker;
use berth_image::{Context, Reference};
use serde::Serialize;

use super::ImageError;

/// One row of `search`, with podman's fields.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchResult {
    /// The registry.
    pub index: String,
    /// REGISTRY/REPOSITORY.
    pub name: String,
    pub description: String,
    pub stars: u64,
    pub official: String,
    pub automated: String,
    /// With `list_tags`: one of the repository's tags.
    pub tag: String,
}

/// How `search` searches.
#[derive(Clone, Debug, Default)]
pub struct SearchOptions {
    /// At most this many results per registry (0: all).
    pub limit: usize,
    /// The tags of the one repository the term names, instead.
    pub list_tags: bool,
    /// podman's `--filter`s: stars=N, is-official=BOOL, is-automated=BOOL;
    /// a result passes all of them. Applied after `limit`.
    pub filters: Vec<String>,
}

/// One of [`SearchOptions::filters`], parsed.
enum Filter {
    Stars(u64),
    Official(bool),
    Automated(bool),
}

impl Filter {
    fn parse(f: &str) -> Result<Filter, ImageError> {
        let bad = || ImageError::InvalidFilter(format!("invalid filter {f:?}"));
        let (k, v) = f.split_once('=').ok_or_else(bad)?;
        let flag = || v.parse::<bool>().map_err(|_| bad());
        match k {
            "stars" => v.parse().map(Filter::Stars).map_err(|_| bad()),
            "is-official" => flag().map(Filter::Official),
            "is-automated" => flag().map(Filter::Automated),
            _ => Err(bad()),
        }
    }

    fn keeps(&self, r: &SearchResult) -> bool {
        match self {
            Filter::Stars(n) => r.stars >= *n,
            Filter::Official(b) => (r.official == "[OK]") == *b,
            Filter::Automated(b) => (r.automated == "[OK]") == *b,
        }
    }
}

/// Searches for `term`: `REGISTRY/TERM` searches that registry (`REGISTRY/`
/// lists it all); a bare term searches registries.conf's
/// unqualified-search-registries.
pub fn search(
    term: &str,
    ctx: &Context,
    o: &SearchOptions,
) -> Result<Vec<SearchResult>, ImageError> {
    // Judged before any registry is asked.
    let filters = o
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let bad = |e: berth_image::Error| ImageError::InvalidArgument(format!("{term}: {e}"));
    let (registries, needle) = match term.split_once('/') {
        Some((reg, rest)) if reg.contains(['.', ':']) || reg == "localhost" => {
            (vec![reg.to_string()], rest.to_string())
        }
        _ => (
            ctx.registries().map_err(bad)?.search.clone(),
            term.to_string(),
        ),
    };
    if registries.is_empty() {
        return Err(ImageError::InvalidArgument(format!(
            "{term}: no registry to search (name one, or set unqualified-search-registries)"
        )));
    }
    let mut out = Vec::new();
    for reg in registries {
        let mut found = if o.list_tags {
            tags(&reg, &needle, ctx).map_err(bad)?
        } else {
            repositories(&reg, &needle, ctx).map_err(bad)?
        };
        if o.limit > 0 {
            found.truncate(o.limit);
        }
        found.retain(|r| filters.iter().all(|f| f.keeps(r)));
        out.extend(found);
    }
    Ok(out)
}

fn repositories(reg: &str, needle: &str, ctx: &Context) -> berth_image::Result<Vec<SearchResult>> {
    // A client is made for a reference; any name on the registry serves
    // (credentials and TLS are the registry's, the catalog's scope its own).
    let any = Reference::parse(&format!("{reg}/library/catalog"))?;
    let client = docker::connect(&any, false, ctx)?;
    let mut repos = docker::catalog(&client)?;
    repos.retain(|r| r.contains(needle));
    repos.sort();
    Ok(repos
        .into_iter()
        .map(|r| SearchResult {
            index: reg.to_string(),
            name: format!("{reg}/{r}"),
            ..Default::default()
        })
        .collect())
}

fn tags(reg: &str, repo: &str, ctx: &Context) -> berth_image::Result<Vec<SearchResult>> {
    let r = Reference::parse(&format!("{reg}/{repo}"))?;
    let client = docker::connect(&r, false, ctx)?;
    Ok(docker::list_tags(&client, &r)?
        .into_iter()
        .map(|tag| SearchResult {
            index: reg.to_string(),
            name: format!("{reg}/{}", r.repository()),
            tag,
            ..Default::default()
        })
        .collect())
}
