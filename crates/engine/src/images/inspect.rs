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
    /// The config's `created`, as written there (RFC 3339), or null.
    pub created: Value,
    pub config: Value,
    pub author: Value,
    pub architecture: Value,
    pub os: Value,
    pub size: u64,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub history: Value,
    pub manifest_type: String,
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
        created: field("created"),
        config: field("config"),
        author: cfg.get("author").cloned().unwrap_or_else(|| "".into()),
        architecture: field("architecture"),
        os: field("os"),
        size: img.size,
        root_fs: RootFs {
            kind: "layers".into(),
            layers: cfg
                .pointer("/rootfs/diff_ids")
                .cloned()
                .unwrap_or(Value::Null),
        },
        history: field("history"),
        manifest_type: img.manifest_media_type.clone(),
    })
}
