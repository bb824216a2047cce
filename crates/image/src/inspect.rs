//! `skopeo inspect`: an image's manifest, config and tags read from any
//! source without pulling it, and the report skopeo prints.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;

use crate::blob::VerifyingReader;
use crate::error::{Error, Result};
use crate::manifest::{ImageConfig, ImageManifest, Manifest, RawManifest};
use crate::{Context, ImageName, ImageSource};

/// The image a top-level manifest stands for: itself, or the platform's entry
/// of an index (the context's platform).
pub fn chosen_image(
    src: &dyn ImageSource,
    top: &RawManifest,
    ctx: &Context,
) -> Result<(RawManifest, ImageManifest)> {
    match top.parse()? {
        Manifest::Image(m) => Ok((top.clone(), m)),
        Manifest::Index(i) => {
            let d = i.choose(&ctx.platform())?;
            let raw = src.manifest(Some(&d.digest))?;
            match raw.parse()? {
                Manifest::Image(m) => Ok((raw, m)),
                Manifest::Index(_) => Err(Error::Unsupported(
                    "nested indexes are not supported".into(),
                )),
            }
        }
    }
}

/// The image's config, verified against its descriptor.
pub fn read_config(src: &dyn ImageSource, m: &ImageManifest) -> Result<Vec<u8>> {
    let stream = src.blob(&m.config)?;
    let mut r = VerifyingReader::new(
        stream.reader.take(m.config.size + 1),
        m.config.digest.clone(),
        Some(m.config.size),
    );
    let mut v = Vec::new();
    r.read_to_end(&mut v).map_err(Error::Stream)?;
    Ok(v)
}

/// `skopeo inspect`'s fields, in its order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inspected {
    /// A registry image's name; none for a layout or archive (skopeo's omitempty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub digest: String,
    pub repo_tags: Vec<String>,
    pub created: Option<String>,
    pub docker_version: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub architecture: String,
    pub os: String,
    pub layers: Vec<String>,
    pub layers_data: Vec<LayerData>,
    pub env: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerData {
    #[serde(rename = "MIMEType")]
    pub mime_type: String,
    pub digest: String,
    pub size: u64,
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Inspected {
    /// The report of image `name`: its top-level manifest `top`, the image
    /// manifest chosen from it, its config and the repository's tags.
    pub fn new(
        name: &ImageName,
        top: &RawManifest,
        m: &ImageManifest,
        config: &ImageConfig,
        tags: Vec<String>,
    ) -> Inspected {
        let cc = config.config.clone().unwrap_or_default();
        Inspected {
            name: match name {
                ImageName::Docker(r) => r.name(),
                _ => String::new(),
            },
            digest: top.digest().to_string(),
            repo_tags: tags,
            created: config.created.clone(),
            docker_version: String::new(),
            labels: cc.labels,
            architecture: config.architecture.clone(),
            os: config.os.clone(),
            layers: m.layers.iter().map(|l| l.digest.to_string()).collect(),
            layers_data: m
                .layers
                .iter()
                .map(|l| LayerData {
                    mime_type: l.media_type.clone(),
                    digest: l.digest.to_string(),
                    size: l.size,
                    annotations: l.annotations.clone(),
                })
                .collect(),
            env: cc.env,
        }
    }
}
