//! `image inspect` of a local image: podman's fields, from the record and the
//! image's config.

use berth_storage::Store;
use serde::Serialize;
use serde_json::Value;

use super::ImageError;

/// An image as `image inspect` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub digest: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Always empty, as podman's for an image it pulled.
    pub parent: String,
    /// The config's `comment`.
    pub comment: String,
    /// The config's `created`, as written there (RFC 3339), or null.
    pub created: Value,
    pub config: Value,
    /// The Docker version that built it (a Docker config's `docker_version`).
    pub version: String,
    pub author: Value,
    pub architecture: Value,
    pub os: Value,
    pub size: u64,
    pub virtual_size: u64,
    pub graph_driver: crate::views::GraphDriverView,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    /// The config's labels; null without any.
    pub labels: Value,
    /// The manifest's annotations.
    pub annotations: Value,
    pub manifest_type: String,
    /// The config's user.
    pub user: String,
    pub history: Value,
    /// Every name it has had, latest first.
    pub names_history: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    /// The layers' diff IDs, bottom first.
    pub layers: Value,
}

/// The image `name` (a name, ID or ID prefix) as `image inspect` shows it.
pub fn inspect(store: &Store, name: &str) -> Result<ImageInspect, ImageError> {
    let img = store.image(name).map_err(|e| match e {
        berth_storage::Error::ImageNotFound(_) => ImageError::NotKnown(name.to_string()),
        e => e.into(),
    })?;
    let cfg: Value = serde_json::from_slice(&store.image_config(&img)?).map_err(|e| {
        ImageError::Store(berth_storage::Error::Invalid(format!(
            "image {}: config: {e}",
            img.id
        )))
    })?;
    let field = |k: &str| cfg.get(k).cloned().unwrap_or(Value::Null);
    let text = |p: &str| {
        cfg.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let annotations = store
        .image_manifest(&img, None)
        .ok()
        .and_then(|m| serde_json::from_slice::<Value>(&m.bytes).ok())
        .and_then(|m| m.get("annotations").cloned())
        .unwrap_or_else(|| serde_json::json!({}));
    let repo_digests = img
        .names
        .iter()
        .map(|n| {
            let repo = n.rsplit_once(':').map_or(n.as_str(), |(r, _)| r);
            format!("{repo}@{}", img.manifest_digest)
        })
        .collect();
    Ok(ImageInspect {
        id: img.id.clone(),
        digest: img.manifest_digest.to_string(),
        repo_tags: img.names.clone(),
        repo_digests,
        parent: String::new(),
        comment: text("/comment"),
        created: field("created"),
        config: field("config"),
        version: text("/docker_version"),
        author: cfg.get("author").cloned().unwrap_or_else(|| "".into()),
        architecture: field("architecture"),
        os: field("os"),
        size: img.size,
        virtual_size: img.size,
        graph_driver: crate::views::GraphDriverView::of_image(store, &img),
        root_fs: RootFs {
            kind: "layers".into(),
            layers: cfg
                .pointer("/rootfs/diff_ids")
                .cloned()
                .unwrap_or(Value::Null),
        },
        labels: cfg
            .pointer("/config/Labels")
            .cloned()
            .filter(|l| l.as_object().is_some_and(|o| !o.is_empty()))
            .unwrap_or(Value::Null),
        annotations,
        manifest_type: img.manifest_media_type.clone(),
        user: text("/config/User"),
        history: field("history"),
        names_history: if img.names_history.is_empty() {
            img.names.clone()
        } else {
            img.names_history.clone()
        },
    })
}
