//! buildah's `images`: the engine's image list with buildah's template
//! fields and `--json` objects.

use berth_engine::Images;
use berth_engine::images::{ImageError, ImageSummary, ListOptions};
use berth_engine::time::{format_rfc3339, since};
use berth_engine::units::table_size;
use serde::Serialize;

/// What `images` lists.
#[derive(Clone, Debug, Default)]
pub struct ImagesOptions {
    /// Intermediate images too.
    pub all: bool,
    pub filters: Vec<String>,
    /// Only images of this name; none is an error.
    pub image: Option<String>,
    /// IDs as `sha256:HEX` instead of cut to 12 characters.
    pub full_ids: bool,
}

/// One line of buildah's table and templates: an image name (an image with
/// several has one for each).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageFields {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Tag")]
    pub tag: String,
    #[serde(rename = "Digest")]
    pub digest: String,
    /// How long ago.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    /// Seconds since the epoch.
    #[serde(rename = "Created")]
    pub created: u64,
    #[serde(rename = "CreatedAtRaw")]
    pub created_at_raw: String,
    #[serde(rename = "Size")]
    pub size: String,
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
    /// The names it has had, joined.
    #[serde(rename = "History")]
    pub history: String,
}

/// One image of `images --json`, as buildah writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageJson {
    pub id: String,
    pub names: Vec<String>,
    pub digest: String,
    pub createdat: String,
    pub size: String,
    pub created: u64,
    pub createdatraw: String,
    pub readonly: bool,
    pub history: Vec<String>,
}

/// The images listed: a row per name, as the engine lists them.
#[derive(Clone, Debug)]
pub struct ImageList {
    pub summaries: Vec<ImageSummary>,
    full_ids: bool,
}

/// Lists the images for `images`; a name given that matches none is
/// buildah's "image not known".
pub fn list(images: &Images<'_>, o: &ImagesOptions) -> Result<ImageList, ImageError> {
    let mut filters = o.filters.clone();
    if let Some(i) = &o.image {
        filters.push(format!("reference={i}"));
    }
    let lo = ListOptions {
        all: o.all,
        filters,
        sort: Default::default(),
    };
    let summaries = images.list(&lo)?;
    match &o.image {
        Some(i) if summaries.is_empty() => Err(ImageError::NotKnown(i.clone())),
        _ => Ok(ImageList {
            summaries,
            full_ids: o.full_ids,
        }),
    }
}

/// buildah's HISTORY of one row: the names the image has had, latest
/// first, less the row's own name when it is the latest; `<none>` for none.
fn row_history(history: &[String], name: &str) -> String {
    let rest = match history.split_first() {
        Some((first, rest)) if first == name => rest,
        _ => history,
    };
    match rest.is_empty() {
        true => "<none>".to_string(),
        false => rest.join(", "),
    }
}

impl ImageList {
    fn id(&self, s: &ImageSummary) -> String {
        match self.full_ids {
            true => format!("sha256:{}", s.id),
            false => s.id[..12].to_string(),
        }
    }

    /// Each image once, the first of its rows.
    fn distinct(&self) -> impl Iterator<Item = &ImageSummary> {
        let mut seen = std::collections::HashSet::new();
        self.summaries.iter().filter(move |s| seen.insert(&s.id))
    }

    /// `--quiet`: each image's ID once.
    pub fn ids(&self) -> Vec<String> {
        self.distinct().map(|s| self.id(s)).collect()
    }

    /// The table's and templates' rows.
    pub fn fields(&self) -> Vec<ImageFields> {
        self.summaries
            .iter()
            .map(|s| ImageFields {
                id: self.id(s),
                name: s.repository.clone(),
                tag: s.tag.clone(),
                digest: s.digest.clone(),
                created_at: since(s.created),
                created: s.created,
                created_at_raw: format_rfc3339(s.created),
                size: table_size(s.size),
                read_only: s.read_only,
                history: row_history(&s.history, &format!("{}:{}", s.repository, s.tag)),
            })
            .collect()
    }

    /// `--json`: each image once.
    pub fn json(&self) -> Vec<ImageJson> {
        self.distinct()
            .map(|s| ImageJson {
                id: self.id(s),
                names: s.names.clone(),
                digest: s.digest.clone(),
                createdat: since(s.created),
                size: table_size(s.size),
                created: s.created,
                createdatraw: format_rfc3339(s.created),
                readonly: s.read_only,
                history: s.history.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, repository: &str) -> ImageSummary {
        ImageSummary {
            id: id.repeat(64 / id.len()),
            repository: repository.into(),
            tag: "latest".into(),
            names: vec![format!("{repository}:latest")],
            digest: String::new(),
            created: 0,
            size: 0,
            read_only: false,
            dangling: false,
            labels: Default::default(),
            history: vec!["x".into(), "y".into()],
        }
    }

    fn list(full_ids: bool) -> ImageList {
        ImageList {
            summaries: vec![
                summary("a", "one"),
                summary("a", "two"),
                summary("b", "three"),
            ],
            full_ids,
        }
    }

    #[test]
    fn ids_and_json_name_each_image_once() {
        assert_eq!(list(false).ids(), ["a".repeat(12), "b".repeat(12)]);
        let json = list(true).json();
        assert_eq!(json.len(), 2);
        assert_eq!(json[0].id, format!("sha256:{}", "a".repeat(64)));
        // The table has a row per name.
        let names: Vec<_> = list(false).fields().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["one", "two", "three"]);
    }

    #[test]
    fn template_fields_join_the_history() {
        assert_eq!(list(false).fields()[0].history, "x, y");
        let latest = ["one:latest".to_string(), "old:1".to_string()];
        assert_eq!(row_history(&latest, "one:latest"), "old:1");
        assert_eq!(row_history(&latest[..1], "one:latest"), "<none>");
        assert_eq!(row_history(&latest, "old:1"), "one:latest, old:1");
    }
}
