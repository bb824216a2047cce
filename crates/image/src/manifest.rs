//! Manifests and indexes: Docker schema 2 and OCI image manifests, Docker manifest lists
//! and OCI image indexes, with platform choice and format conversion.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

pub mod media {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const OCI_LAYER_NONDIST_GZIP: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const DOCKER_LAYER_FOREIGN: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    pub const DOCKER_SCHEMA1_SIGNED: &str =
        "application/vnd.docker.distribution.manifest.v1+prettyjws";
    pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
}

/// A content descriptor: what a manifest or index says about a blob.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            urls: None,
            annotations: None,
            platform: None,
            artifact_type: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
}

impl Platform {
    /// The host's platform in Go's names, as image configs use them.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            "arm" => "arm",
            other => other,
        };
        let variant = match architecture {
            "arm64" => Some("v8".to_string()),
            "arm" => Some("v7".to_string()),
            _ => None,
        };
        Platform {
            architecture: architecture.to_string(),
            os: std::env::consts::OS.to_string(),
            variant,
            ..Default::default()
        }
    }

    /// Whether an index entry for `other` satisfies a wish for `self`.
    /// arm64's variant is optional, as images often omit it.
    pub fn matches(&self, other: &Platform) -> bool {
        if self.os != other.os || self.architecture != other.architecture {
            return false;
        }
        match (&self.variant, &other.variant) {
            (Some(want), Some(have)) => want == have,
            (Some(want), None) => self.architecture == "arm64" && want == "v8",
            _ => true,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest (OCI or Docker schema 2; their JSON shapes agree).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An OCI image index or Docker manifest list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Manifest bytes as stored or served, with their media type.
#[derive(Clone, Debug, PartialEq)]
pub struct RawManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
}

/// A parsed manifest of any kind berth handles.
#[allow(clippy::large_enum_variant)] // short-lived; boxing buys nothing
#[derive(Clone, Debug, PartialEq)]
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("invalid manifest: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported manifest type {0:?}")]
    Unsupported(String),
    #[error("invalid manifest: schemaVersion {0}, expected 2")]
    SchemaVersion(u32),
    #[error("no image for platform {0} in the manifest list")]
    NoPlatform(String),
    #[error("manifest is a Docker schema 1 manifest, which berth does not read")]
    Schema1,
}

impl RawManifest {
    pub fn new(bytes: Vec<u8>, media_type: impl Into<String>) -> RawManifest {
        RawManifest {
            bytes,
            media_type: media_type.into(),
        }
    }

    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.bytes)
    }

    /// The media type, from the given one, else from the JSON's own `mediaType`, else
    /// guessed from its shape (OCI manifests may omit `mediaType`).
    pub fn effective_media_type(&self) -> String {
        if !self.media_type.is_empty()
            && self.media_type != "application/json"
            && self.media_type != "text/plain"
        {
            return self.media_type.clone();
        }
        guess_media_type(&self.bytes)
    }

    pub fn parse(&self) -> Result<Manifest, ManifestError> {
        let mt = self.effective_media_type();
        match mt.as_str() {
            media::OCI_MANIFEST | media::DOCKER_MANIFEST => {
                let m: ImageManifest = serde_json::from_slice(&self.bytes)?;
                check_schema(m.schema_version)?;
                Ok(Manifest::Image(m))
            }
            media::OCI_INDEX | media::DOCKER_LIST => {
                let i: ImageIndex = serde_json::from_slice(&self.bytes)?;
                check_schema(i.schema_version)?;
                Ok(Manifest::Index(i))
            }
            media::DOCKER_SCHEMA1 | media::DOCKER_SCHEMA1_SIGNED => Err(ManifestError::Schema1),
            other => Err(ManifestError::Unsupported(other.to_string())),
        }
    }

    pub fn is_index(&self) -> bool {
        is_index_type(&self.effective_media_type())
    }
}

pub fn is_index_type(mt: &str) -> bool {
    mt == media::OCI_INDEX || mt == media::DOCKER_LIST
}

fn check_schema(v: u32) -> Result<(), ManifestError> {
    if v == 2 {
        Ok(())
    } else {
        Err(ManifestError::SchemaVersion(v))
    }
}

/// Guesses a manifest's type from its JSON when no media type came with it.
pub fn guess_media_type(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        schema_version: Option<u32>,
        manifests: Option<serde_json::Value>,
        config: Option<serde_json::Value>,
        signatures: Option<serde_json::Value>,
    }
    let Ok(p) = serde_json::from_slice::<Probe>(bytes) else {
        return String::new();
    };
    if let Some(mt) = p.media_type {
        return mt;
    }
    if p.schema_version == Some(1) {
        return if p.signatures.is_some() {
            media::DOCKER_SCHEMA1_SIGNED
        } else {
            media::DOCKER_SCHEMA1
        }
        .to_string();
    }
    if p.manifests.is_some() {
        media::OCI_INDEX.to_string()
    } else if p.config.is_some() {
        media::OCI_MANIFEST.to_string()
    } else {
        String::new()
    }
}

impl ImageIndex {
    /// The entry for `want`, the first match in the index's order.
    pub fn choose(&self, want: &Platform) -> Result<&Descriptor, ManifestError> {
        self.manifests
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)))
            .ok_or_else(|| ManifestError::NoPlatform(want.to_string()))
    }
}

/// The manifest format a copy writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestFormat {
    Oci,
    DockerV2S2,
}

impl ManifestFormat {
    pub fn parse(s: &str) -> Option<ManifestFormat> {
        match s {
            "oci" => Some(ManifestFormat::Oci),
            "v2s2" | "docker" => Some(ManifestFormat::DockerV2S2),
            _ => None,
        }
    }

    pub fn of_manifest_type(mt: &str) -> Option<ManifestFormat> {
        match mt {
            media::OCI_MANIFEST | media::OCI_INDEX => Some(ManifestFormat::Oci),
            media::DOCKER_MANIFEST | media::DOCKER_LIST => Some(ManifestFormat::DockerV2S2),
            _ => None,
        }
    }

    pub fn manifest_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => media::OCI_MANIFEST,
            ManifestFormat::DockerV2S2 => media::DOCKER_MANIFEST,
        }
    }

    pub fn index_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => media::OCI_INDEX,
            ManifestFormat::DockerV2S2 => media::DOCKER_LIST,
        }
    }

    pub fn config_type(self) -> &'static str {
        match self {
            ManifestFormat::Oci => media::OCI_CONFIG,
            ManifestFormat::DockerV2S2 => media::DOCKER_CONFIG,
        }
    }

    /// The layer media type for a compression in this format.
    pub fn layer_type(self, c: Compression) -> Result<&'static str, ManifestError> {
        match (self, c) {
            (ManifestFormat::Oci, Compression::None) => Ok(media::OCI_LAYER),
            (ManifestFormat::Oci, Compression::Gzip) => Ok(media::OCI_LAYER_GZIP),
            (ManifestFormat::Oci, Compression::Zstd) => Ok(media::OCI_LAYER_ZSTD),
            (ManifestFormat::DockerV2S2, Compression::Gzip) => Ok(media::DOCKER_LAYER_GZIP),
            (ManifestFormat::DockerV2S2, Compression::None) => Ok(
                // Docker's own tar type; registries and docker accept it.
                "application/vnd.docker.image.rootfs.diff.tar",
            ),
            (ManifestFormat::DockerV2S2, Compression::Zstd) => Err(ManifestError::Unsupported(
                "zstd layers in a Docker schema 2 manifest (use --format oci)".into(),
            )),
        }
    }
}

/// Layer compression, as media types and magic bytes tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of_layer_type(mt: &str) -> Compression {
        if mt.ends_with("+zstd") {
            Compression::Zstd
        } else if mt.ends_with("gzip") {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn parse(s: &str) -> Option<Compression> {
        match s {
            "gzip" => Some(Compression::Gzip),
            "zstd" | "zstd:chunked" => Some(Compression::Zstd),
            "none" | "uncompressed" => Some(Compression::None),
            _ => None,
        }
    }
}

/// Whether a media type names a layer (as opposed to a config or something foreign).
pub fn is_layer_type(mt: &str) -> bool {
    mt.starts_with("application/vnd.oci.image.layer.")
        || mt.starts_with("application/vnd.docker.image.rootfs.")
}

/// The subset of the image configuration that tools read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Docker's SHELL (docker format only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// ONBUILD triggers (docker format only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// Fields this type does not name, kept as they were.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// HEALTHCHECK: the test and its timings in nanoseconds (unset ones left out,
/// as Docker writes them).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", argv…]` or `["CMD-SHELL", command]`.
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_types() {
        assert_eq!(
            guess_media_type(br#"{"schemaVersion":2,"manifests":[]}"#),
            media::OCI_INDEX
        );
        assert_eq!(
            guess_media_type(br#"{"schemaVersion":2,"config":{},"layers":[]}"#),
            media::OCI_MANIFEST
        );
        assert_eq!(
            guess_media_type(br#"{"schemaVersion":1,"signatures":[]}"#),
            media::DOCKER_SCHEMA1_SIGNED
        );
    }

    #[test]
    fn platform_matching() {
        let want = Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: Some("v8".into()),
            ..Default::default()
        };
        let have = Platform {
            architecture: "arm64".into(),
            os: "linux".into(),
            ..Default::default()
        };
        assert!(want.matches(&have));
        let arm = Platform {
            architecture: "arm".into(),
            os: "linux".into(),
            variant: Some("v6".into()),
            ..Default::default()
        };
        let armv7 = Platform {
            variant: Some("v7".into()),
            ..arm.clone()
        };
        assert!(!armv7.matches(&arm));
    }

    #[test]
    fn refuses_bad_schema() {
        let raw = RawManifest::new(
            br#"{"schemaVersion":3,"manifests":[]}"#.to_vec(),
            media::OCI_INDEX,
        );
        assert!(matches!(raw.parse(), Err(ManifestError::SchemaVersion(3))));
    }
}
