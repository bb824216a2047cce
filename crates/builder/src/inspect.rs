//! What buildah shows of working containers: `containers`' rows and
//! `inspect`'s documents (a container, an image or a manifest list).

use std::collections::BTreeMap;

use berth_image::manifest::ImageIndex;
use berth_storage::Store;
use serde::Serialize;
use serde_json::Value;

use crate::builder::{self, Builder, Origin};
use crate::error::BuildError;

/// buildah's `Type` of every inspect document.
const TYPE: &str = "berth builder";

/// One row of `containers`; its JSON keys are buildah's `--json` keys (`id`,
/// `imageid` …), [`ContainerRow::template_data`] its template fields.
#[derive(Serialize)]
pub struct ContainerRow {
    #[serde(rename = "id")]
    pub container_id: String,
    /// A working container (not one of podman's).
    pub builder: bool,
    #[serde(rename = "imageid")]
    pub image_id: String,
    /// The image's first name now, else the name it was made from.
    #[serde(rename = "imagename")]
    pub image_name: String,
    #[serde(rename = "containername")]
    pub container_name: String,
}

impl ContainerRow {
    /// The row as buildah's `--format` templates see it (`{{.ContainerID}}`,
    /// `{{.ImageName}}` …).
    pub fn template_data(&self) -> Value {
        serde_json::json!({
            "ContainerID": self.container_id,
            "Builder": self.builder,
            "ImageID": self.image_id,
            "ImageName": self.image_name,
            "ContainerName": self.container_name,
        })
    }
}

/// buildah's `containers --filter id=…,name=…,ancestor=…`: an ID by its
/// start, a name by a part of it, an image by its ID's start or its name
/// (with or without the registry and tag).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub ancestor: Option<String>,
}

impl std::str::FromStr for ContainerFilter {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<ContainerFilter, BuildError> {
        let mut f = ContainerFilter::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let bad = |why: &str| BuildError::InvalidFlag {
                flag: "--filter".into(),
                value: part.to_string(),
                why: why.to_string(),
            };
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE"))?;
            let slot = match k {
                "id" => &mut f.id,
                "name" => &mut f.name,
                "ancestor" => &mut f.ancestor,
                _ => return Err(bad("invalid filter: id, name or ancestor")),
            };
            *slot = Some(v.to_string());
        }
        Ok(f)
    }
}

impl ContainerFilter {
    fn matches(&self, b: &Builder, image_name: &str) -> bool {
        let id = self.id.as_deref().is_none_or(|i| b.id.starts_with(i));
        let name = self.name.as_deref().is_none_or(|n| b.name.contains(n));
        let ancestor = self.ancestor.as_deref().is_none_or(|a| {
            b.from_id.starts_with(a)
                || same_image_name(image_name, a)
                || same_image_name(&b.from_image, a)
        });
        id && name && ancestor
    }
}

/// Whether `name` (`localhost/bb:1`) is the image `given` names: the same,
/// or without its tag (`localhost/bb`), or without its registry (`bb:1`,
/// `bb`).
fn same_image_name(name: &str, given: &str) -> bool {
    let untagged = |n: &str| match n.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
        _ => n.to_string(),
    };
    let short = |n: &str| {
        n.split_once('/')
            .map_or(n.to_string(), |(_, r)| r.to_string())
    };
    let candidates = [
        name.to_string(),
        untagged(name),
        short(name),
        short(&untagged(name)),
    ];
    candidates.iter().any(|c| c == given)
}

/// The rows of working containers (`all`: of every container) that `filter`
/// takes; IDs cut to 12 characters unless `full`.
pub fn rows(
    store: &Store,
    all: bool,
    full: bool,
    filter: &ContainerFilter,
) -> Result<Vec<ContainerRow>, BuildError> {
    let list = if all {
        builder::list_all(store)?
    } else {
        builder::list(store)?
    };
    Ok(list
        .iter()
        .map(|b| (b, row(store, b, full)))
        .filter(|(b, r)| filter.matches(b, &r.image_name))
        .map(|(_, r)| r)
        .collect())
}

fn row(store: &Store, b: &Builder, full: bool) -> ContainerRow {
    let image_name = store
        .image(&b.from_id)
        .ok()
        .and_then(|i| i.names.first().cloned())
        .unwrap_or_else(|| b.from_image.clone());
    let cut = |s: &str| match full {
        true => s.to_string(),
        false => s.chars().take(12).collect(),
    };
    ContainerRow {
        container_id: cut(&b.id),
        builder: b.origin != Origin::Other,
        image_id: cut(&b.from_id),
        image_name,
        container_name: b.name.clone(),
    }
}

/// A working container whose root is mounted now (`mount` without names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MountedRow {
    #[serde(rename = "ContainerName")]
    pub container_name: String,
    #[serde(rename = "MountPoint")]
    pub mount_point: std::path::PathBuf,
}

/// buildah's `mount` without names: every mounted working container with
/// where its root is.
pub fn mounted(store: &Store) -> Result<Vec<MountedRow>, BuildError> {
    Ok(builder::list(store)?
        .into_iter()
        .filter_map(|b| {
            Some(MountedRow {
                mount_point: store.mount_point(&b.id)?,
                container_name: b.name,
            })
        })
        .collect())
}

/// What `rm` does with one working container.
#[derive(Debug)]
pub enum Removal {
    Remove(Box<Builder>),
    /// `--all` leaves a running build its own working containers (it removes
    /// them itself); named, one is refused by the removal.
    LeftInUse {
        name: String,
        pid: berth_runtime::pid::Pid,
    },
}

/// The working containers `rm` removes: every one (`all`), or those named,
/// all found before any goes.
pub fn removals(store: &Store, all: bool, names: &[String]) -> Result<Vec<Removal>, BuildError> {
    if !all {
        return names
            .iter()
            .map(|n| Builder::load(store, n).map(|b| Removal::Remove(Box::new(b))))
            .collect();
    }
    Ok(builder::list(store)?
        .into_iter()
        .map(unless_in_use)
        .collect())
}

/// `rm --all`'s choice for one working container.
fn unless_in_use(b: Builder) -> Removal {
    match b.in_use() {
        Some(p) => Removal::LeftInUse {
            name: b.name,
            pid: p.pid,
        },
        None => Removal::Remove(Box::new(b)),
    }
}

/// What `inspect --type` asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum InspectType {
    Container,
    Image,
    Manifest,
}

/// An inspect document, as buildah prints it.
#[derive(Serialize)]
#[serde(untagged)]
pub enum BuilderInspect {
    Container(Box<ContainerDoc>),
    Image(Box<ImageDoc>),
    Manifest(Box<ImageIndex>),
}

/// A working container and the config its commit will write.
#[derive(Serialize)]
pub struct ContainerDoc {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(rename = "FromImage")]
    pub from_image: String,
    #[serde(rename = "FromImageID")]
    pub from_image_id: String,
    /// The base image's manifest digest (empty from scratch).
    #[serde(rename = "FromImageDigest")]
    pub from_image_digest: String,
    /// The base image's config and manifest as text, as buildah keeps them.
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "Manifest")]
    pub manifest: String,
    #[serde(rename = "Container")]
    pub container: String,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// Empty when the root is not mounted.
    #[serde(rename = "MountPoint")]
    pub mount_point: String,
    #[serde(rename = "ImageAnnotations")]
    pub image_annotations: BTreeMap<String, String>,
    #[serde(rename = "ImageCreatedBy")]
    pub image_created_by: String,
    /// The image config the commit will write: the base image's (created,
    /// architecture, os, rootfs, history) with the working container's
    /// author and `config`.
    #[serde(rename = "OCIv1")]
    pub oci: Value,
    #[serde(rename = "Docker")]
    pub docker: Value,
}

/// An image as buildah shows one: its config and manifest, as text and parsed.
#[derive(Serialize)]
pub struct ImageDoc {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(rename = "FromImage")]
    pub from_image: String,
    #[serde(rename = "FromImageID")]
    pub from_image_id: String,
    #[serde(rename = "FromImageDigest")]
    pub from_image_digest: String,
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "Manifest")]
    pub manifest: String,
    #[serde(rename = "OCIv1")]
    pub oci: Value,
    #[serde(rename = "Docker")]
    pub docker: Value,
}

/// The document of `name`: a working container unless `kind` says otherwise;
/// without a `kind`, an image when no working container has the name.
pub fn inspect(
    store: &Store,
    name: &str,
    kind: Option<InspectType>,
) -> Result<BuilderInspect, BuildError> {
    match kind {
        Some(InspectType::Manifest) => manifest_doc(store, name),
        Some(InspectType::Image) => image_doc(store, name),
        Some(InspectType::Container) | None => match Builder::load(store, name) {
            Ok(b) => Ok(container_doc(store, b)),
            Err(_) if kind.is_none() && store.image(name).is_ok() => image_doc(store, name),
            Err(e) => Err(e),
        },
    }
}

fn manifest_doc(store: &Store, name: &str) -> Result<BuilderInspect, BuildError> {
    use berth_engine::manifests;
    let list = manifests::find(store, name).map_err(BuildError::ManifestList)?;
    let index = manifests::index(store, &list).map_err(BuildError::ManifestList)?;
    Ok(BuilderInspect::Manifest(Box::new(index)))
}

fn image_doc(store: &Store, name: &str) -> Result<BuilderInspect, BuildError> {
    let img = store
        .image(name)
        .map_err(|_| BuildError::ImageNotKnown(name.to_string()))?;
    let config = store.image_config(&img)?;
    let manifest = store.image_manifest(&img, None)?;
    // buildah shows an unparsable config as null.
    let parsed: Value = serde_json::from_slice(&config).unwrap_or_default();
    let from_image = img.names.first().cloned().unwrap_or_else(|| img.id.clone());
    Ok(BuilderInspect::Image(Box::new(ImageDoc {
        kind: TYPE,
        from_image,
        from_image_id: img.id.clone(),
        from_image_digest: img.manifest_digest.to_string(),
        config: String::from_utf8_lossy(&config).into_owned(),
        manifest: String::from_utf8_lossy(&manifest.bytes).into_owned(),
        oci: parsed.clone(),
        docker: parsed,
    })))
}

/// The base image of a working container: its config (parsed and as text),
/// its manifest and the manifest's digest; a scratch one's skeleton.
fn base_image(store: &Store, id: &str) -> (Value, String, String, String) {
    let found = store.image(id).ok().filter(|_| !id.is_empty());
    let Some(img) = found else {
        let host = berth_image::manifest::Platform::host();
        let skeleton = serde_json::json!({
            "architecture": host.architecture, "os": host.os,
            "rootfs": {"type": "layers", "diff_ids": []}, "history": [],
        });
        return (skeleton, String::new(), String::new(), String::new());
    };
    let config = store.image_config(&img).unwrap_or_default();
    let manifest = store
        .image_manifest(&img, None)
        .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
        .unwrap_or_default();
    let parsed = serde_json::from_slice(&config).unwrap_or_else(|_| serde_json::json!({}));
    let text = String::from_utf8_lossy(&config).into_owned();
    (parsed, text, manifest, img.manifest_digest.to_string())
}

fn container_doc(store: &Store, b: Builder) -> BuilderInspect {
    let mut oci_config = b.config.clone();
    builder::drop_docker_only(&mut oci_config);
    // From scratch, nothing: berth's scratch image is its own device.
    let from = if b.from_image == "scratch" {
        ""
    } else {
        b.from_id.as_str()
    };
    let (base, config, manifest, digest) = base_image(store, from);
    let doc = |config: Value| {
        let mut d = base.clone();
        d["author"] = b.author.clone().map_or(Value::Null, Value::String);
        d["config"] = config;
        d
    };
    let (oci, docker) = (doc(oci_config), doc(b.config.clone()));
    let mount_point = store.mount_point(&b.id);
    BuilderInspect::Container(Box::new(ContainerDoc {
        kind: TYPE,
        mount_point: mount_point
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        image_created_by: b.created_by.unwrap_or_default(),
        oci,
        docker,
        from_image_digest: digest,
        config,
        manifest,
        from_image: b.from_image,
        from_image_id: b.from_id,
        container: b.name,
        container_id: b.id,
        image_annotations: b.annotations,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_runtime::pid::ProcessId;

    fn working(origin: Origin) -> Builder {
        Builder {
            id: "0123456789ab".into(),
            name: "w".into(),
            origin,
            from_image: "scratch".into(),
            from_id: String::new(),
            config: serde_json::json!({}),
            annotations: BTreeMap::new(),
            author: None,
            created_by: None,
            comment: None,
            image_fields: BTreeMap::new(),
            history: Vec::new(),
            http_proxy: true,
        }
    }

    #[test]
    fn rm_all_leaves_a_running_build_its_containers() {
        let me = ProcessId::this();
        match unless_in_use(working(Origin::Build(Some(me)))) {
            Removal::LeftInUse { name, pid } => assert_eq!((name.as_str(), pid), ("w", me.pid)),
            r => panic!("removed a container in use: {r:?}"),
        }
        // The same pid started at another time is another (gone) process.
        let gone = ProcessId {
            start: me.start + 1,
            ..me
        };
        for origin in [
            Origin::Build(Some(gone)),
            Origin::Build(None),
            Origin::Scripted,
        ] {
            assert!(matches!(unless_in_use(working(origin)), Removal::Remove(_)));
        }
    }
}
