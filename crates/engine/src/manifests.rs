//! `manifest`: podman's and buildah's manifest lists, made locally from
//! images (a registry's or the store's) and pushed as one multi-platform
//! image. A list lives under the graph root's `manifests/ID/` as an OCI
//! layout whose `list` reference is the list's index; the images it holds
//! are copied in as they are added (their digests unchanged), so a push needs
//! nothing but the layout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use berth_image::copy::{self, CopyOptions, MultiArch, Progress};
use berth_image::manifest::{Descriptor, ImageIndex, Manifest, Platform, media};
use berth_image::transport::oci_layout::{self, OciDestination, OciSource};
use berth_image::{Context, Digest, ImageName, Reference};
use berth_storage::{StorageSource, Store};
use serde::{Deserialize, Serialize};

use crate::images::ImageError;

/// The layout reference the list's index is kept under.
const LIST_REF: &str = "list";
/// Where an image being added is copied to first.
const STAGING_REF: &str = "staging";

/// A list as stored (its index is in its layout).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestList {
    pub id: String,
    pub names: Vec<String>,
    pub created_ns: u64,
}

/// `manifest add`'s and `annotate`'s platform and annotations.
#[derive(Clone, Debug, Default)]
pub struct InstanceOptions {
    /// Every image of an index added (`--all`), not only the host's.
    pub all: bool,
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    pub features: Vec<String>,
    /// KEY=VALUE.
    pub annotations: Vec<String>,
}

fn root(store: &Store) -> PathBuf {
    store.graph_root().join("manifests")
}

fn layout(store: &Store, list: &ManifestList) -> PathBuf {
    root(store).join(&list.id)
}

fn invalid(m: impl std::fmt::Display) -> ImageError {
    ImageError::InvalidArgument(m.to_string())
}

fn image_err(e: berth_image::Error) -> ImageError {
    ImageError::InvalidArgument(e.to_string())
}

/// Holds the lists' lock.
fn lock(store: &Store) -> Result<std::fs::File, ImageError> {
    let r = root(store);
    std::fs::create_dir_all(&r).map_err(|e| invalid(format!("{}: {e}", r.display())))?;
    berth_storage::lock::lock_file(&r.join("lock"))
        .map_err(|e| invalid(format!("{}: {e}", r.display())))
}

/// Every list, oldest first.
pub fn list(store: &Store) -> Vec<ManifestList> {
    std::fs::read(root(store).join("lists.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save(store: &Store, all: &[ManifestList]) -> Result<(), ImageError> {
    let path = root(store).join("lists.json");
    let bytes = serde_json::to_vec_pretty(all).expect("lists serialise");
    berth_storage::lock::write_atomic(&path, &bytes).map_err(|e| invalid(e.to_string()))
}

/// By name (as `localhost/NAME` or the full name), ID or ID prefix.
pub fn find(store: &Store, name: &str) -> Result<ManifestList, ImageError> {
    let all = list(store);
    let candidates = berth_storage::store::candidate_names(name);
    all.iter()
        .find(|l| l.id == name || l.names.iter().any(|n| candidates.contains(n)))
        .or_else(|| {
            let mut m = all
                .iter()
                .filter(|l| name.len() >= 3 && l.id.starts_with(name));
            match (m.next(), m.next()) {
                (Some(l), None) => Some(l),
                _ => None,
            }
        })
        .cloned()
        .ok_or_else(|| ImageError::NotKnown(name.to_string()))
}

/// Whether `name` names a list.
pub fn exists(store: &Store, name: &str) -> bool {
    find(store, name).is_ok()
}

/// `manifest create NAME`: an empty list (a Docker manifest list until an
/// OCI image is added).
pub fn create(store: &Store, name: &str) -> Result<ManifestList, ImageError> {
    let full = berth_storage::store::normalize_name(name).map_err(|e| invalid(e.to_string()))?;
    let _lock = lock(store)?;
    let mut all = list(store);
    if all.iter().any(|l| l.names.contains(&full)) || store.image(&full).is_ok() {
        return Err(invalid(format!("{full}: image name in use")));
    }
    let l = ManifestList {
        id: berth_storage::lock::random_hex(32),
        names: vec![full],
        created_ns: crate::time::now_ns(),
    };
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(media::DOCKER_LIST.into()),
        artifact_type: None,
        manifests: vec![],
        subject: None,
        annotations: None,
    };
    write_index(store, &l, &index)?;
    all.push(l.clone());
    save(store, &all)?;
    Ok(l)
}

/// `manifest create NAME IMAGE…`: the list with those images; if one cannot
/// be added, no list is left.
pub fn create_with(
    store: &Arc<Store>,
    name: &str,
    images: &[String],
    o: &InstanceOptions,
    ctx: &Context,
) -> Result<ManifestList, ImageError> {
    let l = create(store, name)?;
    for image in images {
        if let Err(e) = add(store, &l.id, image, o, ctx) {
            let _ = delete(store, &l.id);
            return Err(e);
        }
    }
    Ok(l)
}

/// The list's index as it would be pushed.
pub fn index(store: &Store, l: &ManifestList) -> Result<ImageIndex, ImageError> {
    let src = OciSource::open(&layout(store, l), Some(LIST_REF)).map_err(image_err)?;
    let raw = berth_image::ImageSource::manifest(&src, None).map_err(image_err)?;
    match raw.parse().map_err(|e| invalid(e.to_string()))? {
        Manifest::Index(i) => Ok(i),
        Manifest::Image(_) => Err(invalid(format!("{}: not a list", l.id))),
    }
}

/// Writes `index` as the list's (its media type following what it holds).
fn write_index(store: &Store, l: &ManifestList, index: &ImageIndex) -> Result<(), ImageError> {
    let mut index = index.clone();
    let oci = index
        .manifests
        .iter()
        .any(|d| d.media_type == media::OCI_MANIFEST);
    index.media_type = Some(
        if oci {
            media::OCI_INDEX
        } else {
            media::DOCKER_LIST
        }
        .into(),
    );
    let bytes = serde_json::to_vec_pretty(&index).expect("index serialises");
    let raw = berth_image::RawManifest::new(bytes, index.media_type.clone().unwrap_or_default());
    let dst = OciDestination::open(&layout(store, l), Some(LIST_REF)).map_err(image_err)?;
    use berth_image::ImageDestination;
    dst.put_manifest(&raw, None).map_err(image_err)?;
    dst.commit().map_err(image_err)
}

/// What `add` reads from: a transport's name, a local image, else a registry's.
fn source_of(
    store: &Arc<Store>,
    image: &str,
    ctx: &Context,
) -> Result<Box<dyn berth_image::ImageSource>, ImageError> {
    if let Ok(n) = ImageName::parse(image) {
        return n.open_source(ctx).map_err(image_err);
    }
    if store.image(image).is_ok() {
        return Ok(Box::new(StorageSource::open(store.clone(), image)?));
    }
    let r = Reference::parse(image).map_err(|e| invalid(e.to_string()))?;
    ImageName::Docker(r).open_source(ctx).map_err(image_err)
}

/// `manifest add LIST IMAGE`: the image (the host's of an index, or all of
/// them with `--all`) copied into the list; returns the digests added.
pub fn add(
    store: &Arc<Store>,
    list_name: &str,
    image: &str,
    o: &InstanceOptions,
    ctx: &Context,
) -> Result<Vec<Digest>, ImageError> {
    let l = find(store, list_name)?;
    let src = source_of(store, image, ctx)?;
    let dir = layout(store, &l);
    let _lock = lock(store)?;
    let staging = OciDestination::open(&dir, Some(STAGING_REF)).map_err(image_err)?;
    let opts = CopyOptions {
        multi_arch: if o.all {
            MultiArch::All
        } else {
            MultiArch::System
        },
        ..CopyOptions::default()
    };
    copy::copy_image(src.as_ref(), &staging, &opts, &copy::Silent).map_err(image_err)?;
    let mut layout_index = oci_layout::read_index(&dir).map_err(image_err)?;
    let staged = take_ref(&mut layout_index, STAGING_REF)
        .ok_or_else(|| invalid(format!("{image}: nothing was copied")))?;
    let bytes = serde_json::to_vec(&layout_index).expect("json");
    berth_image::fsutil::write_atomic(&dir.join("index.json"), &bytes).map_err(image_err)?;
    let mut added = instances_of(&dir, &staged)?;
    for d in &mut added {
        apply(d, o)?;
    }
    let mut index = index(store, &l)?;
    for d in &added {
        // The same image again replaces its entry.
        index.manifests.retain(|m| m.digest != d.digest);
        index.manifests.push(d.clone());
    }
    write_index(store, &l, &index)?;
    Ok(added.into_iter().map(|d| d.digest).collect())
}

/// Takes the layout's entry for `r` out of its index.
fn take_ref(index: &mut ImageIndex, r: &str) -> Option<Descriptor> {
    let at = index.manifests.iter().position(|d| {
        d.annotations
            .as_ref()
            .and_then(|a| a.get(oci_layout::REF_NAME))
            .is_some_and(|n| n == r)
    })?;
    let mut d = index.manifests.remove(at);
    d.annotations = None;
    Some(d)
}

/// The list entries for what was staged: an index's entries, or the one
/// image with the platform its config names.
fn instances_of(dir: &std::path::Path, staged: &Descriptor) -> Result<Vec<Descriptor>, ImageError> {
    let read = |d: &Digest| {
        let path = berth_image::fsutil::blob_path(dir, d);
        oci_layout::read_verified(&path, d, oci_layout::MANIFEST_LIMIT).map_err(image_err)
    };
    let raw = berth_image::RawManifest::new(read(&staged.digest)?, staged.media_type.clone());
    match raw.parse().map_err(|e| invalid(e.to_string()))? {
        Manifest::Index(i) => Ok(i.manifests),
        Manifest::Image(m) => {
            let config: serde_json::Value =
                serde_json::from_slice(&read(&m.config.digest)?).unwrap_or_default();
            let s = |k: &str| config[k].as_str().map(String::from);
            let mut d = staged.clone();
            d.platform = Some(Platform {
                architecture: s("architecture").unwrap_or_default(),
                os: s("os").unwrap_or_default(),
                variant: s("variant"),
                ..Default::default()
            });
            Ok(vec![d])
        }
    }
}

/// `--os`, `--arch`, `--variant`, `--os-version`, `--os-features`, `--annotation`.
fn apply(d: &mut Descriptor, o: &InstanceOptions) -> Result<(), ImageError> {
    let p = d.platform.get_or_insert_with(Platform::default);
    if let Some(v) = &o.os {
        p.os = v.clone();
    }
    if let Some(v) = &o.arch {
        p.architecture = v.clone();
    }
    if let Some(v) = &o.variant {
        p.variant = Some(v.clone());
    }
    if let Some(v) = &o.os_version {
        p.os_version = Some(v.clone());
    }
    if !o.features.is_empty() {
        p.os_features = Some(o.features.clone());
    }
    for a in &o.annotations {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| invalid(format!("--annotation {a}: expected KEY=VALUE")))?;
        d.annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(k.to_string(), v.to_string());
    }
    Ok(())
}

/// `manifest annotate LIST DIGEST`: the entry's platform and annotations.
pub fn annotate(
    store: &Store,
    list_name: &str,
    digest: &str,
    o: &InstanceOptions,
) -> Result<(), ImageError> {
    let l = find(store, list_name)?;
    let _lock = lock(store)?;
    let mut index = index(store, &l)?;
    let d = index
        .manifests
        .iter_mut()
        .find(|d| d.digest.to_string() == digest)
        .ok_or_else(|| invalid(format!("{digest}: not in manifest list {list_name}")))?;
    apply(d, o)?;
    write_index(store, &l, &index)
}

/// `manifest remove LIST DIGEST`: the entry goes from the list.
pub fn remove_instance(store: &Store, list_name: &str, digest: &str) -> Result<(), ImageError> {
    let l = find(store, list_name)?;
    let _lock = lock(store)?;
    let mut index = index(store, &l)?;
    let before = index.manifests.len();
    index.manifests.retain(|d| d.digest.to_string() != digest);
    if index.manifests.len() == before {
        return Err(invalid(format!(
            "{digest}: not in manifest list {list_name}"
        )));
    }
    write_index(store, &l, &index)
}

/// `manifest rm LIST` (and `rmi LIST`): the list and what was copied into it.
pub fn delete(store: &Store, list_name: &str) -> Result<ManifestList, ImageError> {
    let l = find(store, list_name)?;
    let _lock = lock(store)?;
    let mut all = list(store);
    all.retain(|x| x.id != l.id);
    save(store, &all)?;
    let _ = std::fs::remove_dir_all(layout(store, &l));
    Ok(l)
}

/// What `manifest push` does besides copying.
#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    /// Where to (a name, or TRANSPORT:NAME); None: the list's own first name.
    pub destination: Option<String>,
    /// The list's images too, not only the list.
    pub all: bool,
    /// A file to write the list's digest at the destination to.
    pub digest_file: Option<PathBuf>,
    /// The list goes once pushed (`--rm`), after the digest file is written.
    pub rm: bool,
    /// `--format oci|v2s2`: the list's and its images' manifests in this
    /// format at the destination.
    pub format: Option<berth_image::manifest::ManifestFormat>,
    /// `--remove-signatures`: none copied.
    pub remove_signatures: bool,
}

/// Where `manifest push` sends `list` when told nowhere: its first name.
pub fn push_destination(list: &ManifestList, o: &PushOptions) -> Result<String, ImageError> {
    match (&o.destination, list.names.first()) {
        (Some(d), _) => Ok(d.clone()),
        (None, Some(n)) => Ok(n.clone()),
        (None, None) => Err(invalid(format!(
            "manifest list {} has no name: give a destination",
            list.id
        ))),
    }
}

/// `manifest push LIST [DEST]`: the list `find` found (so an unknown list is
/// told before anything about the registry), pushed as `o` says. Returns the
/// list's digest at the destination.
pub fn push_list(
    store: &Store,
    list: &ManifestList,
    o: &PushOptions,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<Digest, ImageError> {
    let destination = push_destination(list, o)?;
    let digest = push(store, &list.id, &destination, o, ctx, progress)?;
    if let Some(f) = &o.digest_file {
        crate::outfile::write(f, digest.to_string()).map_err(|source| ImageError::DigestFile {
            path: f.clone(),
            source,
        })?;
    }
    if o.rm {
        delete(store, &list.id)?;
    }
    Ok(digest)
}

/// `manifest push LIST DEST`: the list's images (with `all`) and the list.
/// Returns the list's digest at the destination.
fn push(
    store: &Store,
    list_name: &str,
    destination: &str,
    o: &PushOptions,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<Digest, ImageError> {
    let l = find(store, list_name)?;
    let src = OciSource::open(&layout(store, &l), Some(LIST_REF)).map_err(image_err)?;
    let dest = match ImageName::parse(destination) {
        Ok(n) => n,
        Err(_) => {
            ImageName::Docker(Reference::parse(destination).map_err(|e| invalid(e.to_string()))?)
        }
    };
    let dst = dest.open_destination(ctx).map_err(image_err)?;
    let opts = CopyOptions {
        multi_arch: if o.all {
            MultiArch::All
        } else {
            MultiArch::IndexOnly
        },
        format: o.format,
        remove_signatures: o.remove_signatures,
        ..CopyOptions::default()
    };
    let report = copy::copy_image(&src, dst.as_ref(), &opts, progress)
        .map_err(|e| ImageError::Push(e.to_string()))?;
    Ok(report.manifest_digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_store as store;

    #[test]
    fn a_push_goes_to_the_lists_first_name_unless_told() {
        let l = ManifestList {
            id: "abc".into(),
            names: vec!["localhost/one:1".into(), "localhost/two:1".into()],
            created_ns: 0,
        };
        let mut o = PushOptions::default();
        assert_eq!(push_destination(&l, &o).unwrap(), "localhost/one:1");
        o.destination = Some("oci:/x".into());
        assert_eq!(push_destination(&l, &o).unwrap(), "oci:/x");
        let unnamed = ManifestList { names: vec![], ..l };
        assert!(push_destination(&unnamed, &PushOptions::default()).is_err());
    }

    #[test]
    fn rm_takes_the_list_only_once_pushed_and_its_digest_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let l = create(&store, "localhost/list:1").unwrap();
        let silent = &berth_image::copy::Silent;
        let ctx = Context::default();
        // A push that fails (no such directory for the digest) keeps the list.
        let bad = PushOptions {
            destination: Some(format!("oci:{}:x", dir.path().join("out").display())),
            digest_file: Some(dir.path().join("no/such/dir/digest")),
            rm: true,
            ..Default::default()
        };
        let e = push_list(&store, &l, &bad, &ctx, silent).unwrap_err();
        assert!(matches!(e, ImageError::DigestFile { .. }), "{e}");
        assert!(exists(&store, "localhost/list:1"));
        let good = PushOptions {
            digest_file: Some(dir.path().join("digest")),
            ..bad
        };
        let digest = push_list(&store, &l, &good, &ctx, silent).unwrap();
        let written = std::fs::read_to_string(dir.path().join("digest")).unwrap();
        assert_eq!(written, digest.to_string());
        assert!(!exists(&store, "localhost/list:1"));
    }
}
