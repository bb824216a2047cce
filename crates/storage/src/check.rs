//! `check`: the store verified against itself, as `podman system check` does.
//!
//! Each pulled layer's tree is verified against the tree checksum recorded when it was
//! applied (see [`crate::archive::tree`]; re-tarring cannot reproduce the original
//! tar's bytes, so the diff ID itself cannot be re-derived), and its kept blob against
//! its compressed digest (and every other blob kept for it). The metadata is checked for
//! consistency: layers' parents exist, images' layers and files exist, every layer
//! blob an image's manifests name is kept for its layer (else `save` and `push` fail
//! on it), names are unique, containers' images and layers exist; staging entries and
//! directories no record names are leftovers.
//! With `repair`, damaged layers go with the images built on them, images naming blobs
//! the store does not keep are mended (see `mend.rs`) or removed, broken records
//! are dropped and leftovers removed.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::Read;

use berth_image::Digest;
use berth_image::digest::{Algorithm, Digester};

use crate::archive::verify_tree;
use crate::error::{IoContext, Result};
use crate::images::Image;
use crate::lock::LockFile;
use crate::store::{State, Store, orphan_container_layers, remove_all, unfinished_write};

/// One thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    LayerMissing {
        layer: String,
    },
    LayerModified {
        layer: String,
        expected: Digest,
        actual: Digest,
    },
    LayerParentMissing {
        layer: String,
        parent: String,
    },
    BlobMissing {
        layer: String,
        digest: Digest,
    },
    BlobCorrupt {
        layer: String,
        digest: Digest,
    },
    ImageLayerMissing {
        image: String,
        layer: String,
    },
    ImageFilesMissing {
        image: String,
    },
    /// One of the image's manifests names a layer blob its layer does not keep, so
    /// neither `save` nor `push` can serve the image as that manifest describes it.
    ImageBlobMissing {
        image: String,
        names: Vec<String>,
        manifest: Digest,
        digest: Digest,
    },
    DuplicateName {
        name: String,
        images: Vec<String>,
    },
    ContainerBroken {
        container: String,
        what: String,
    },
    /// A container's read-write layer that no container names.
    LayerOrphaned {
        layer: String,
    },
    Leftover {
        path: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::LayerMissing { layer } => write!(f, "layer {layer}: directory missing"),
            Problem::LayerModified {
                layer,
                expected,
                actual,
            } => write!(
                f,
                "layer {layer}: content modified (tree checksum {actual}, recorded {expected})"
            ),
            Problem::LayerParentMissing { layer, parent } => {
                write!(f, "layer {layer}: parent layer {parent} missing")
            }
            Problem::BlobMissing { layer, digest } => {
                write!(f, "layer {layer}: blob {digest} missing")
            }
            Problem::BlobCorrupt { layer, digest } => {
                write!(
                    f,
                    "layer {layer}: blob {digest} does not hash to its digest"
                )
            }
            Problem::ImageLayerMissing { image, layer } => {
                write!(f, "image {image}: layer {layer} missing")
            }
            Problem::ImageFilesMissing { image } => {
                write!(f, "image {image}: config or manifest missing")
            }
            Problem::ImageBlobMissing {
                image,
                names,
                manifest,
                digest,
            } => {
                write!(f, "image {image}")?;
                if !names.is_empty() {
                    write!(f, " ({})", names.join(", "))?;
                }
                write!(
                    f,
                    ": manifest {manifest} names blob {digest}, which the store does not keep"
                )
            }
            Problem::DuplicateName { name, images } => {
                write!(f, "name {name}: used by images {}", images.join(", "))
            }
            Problem::ContainerBroken { container, what } => {
                write!(f, "container {container}: {what}")
            }
            Problem::LayerOrphaned { layer } => {
                write!(
                    f,
                    "layer {layer}: a container's layer that no container uses"
                )
            }
            Problem::Leftover { path } => write!(f, "{path}: left by an interrupted process"),
        }
    }
}

/// What `check` found, and with `repair`, what it removed.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub problems: Vec<Problem>,
    pub repaired: Vec<String>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

fn hash_file(p: &std::path::Path) -> Result<Digest> {
    let mut f = File::open(p).at(p)?;
    let mut d = Digester::new(Algorithm::Sha256);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).at(p)?;
        if n == 0 {
            return Ok(d.finish());
        }
        d.update(&buf[..n]);
    }
}

/// Whether `digest` is the blob `layer` was first stored from (without it, the layer
/// is damaged; another blob of it can go on its own).
fn is_first_blob(st: &State, layer: &str, digest: &Digest) -> bool {
    st.layer(layer)
        .is_none_or(|l| l.compressed_digest.as_ref() == Some(digest))
}

fn drop_blob(st: &mut State, layer: &str, digest: &Digest) {
    if let Some(l) = st.layers.iter_mut().find(|l| l.id == layer) {
        l.other_blobs.retain(|b| b.digest != *digest);
    }
}

impl Store {
    /// Verifies the store (the primary one; additional stores are read-only and only
    /// their records are consulted). With `repair`, fixes what it can.
    pub fn check(&self, repair: bool) -> Result<CheckReport> {
        if !repair {
            return self.read(|st| {
                Ok(CheckReport {
                    problems: self.find_problems(st)?,
                    repaired: Vec::new(),
                })
            });
        }
        self.write(|st| {
            let problems = self.find_problems(st)?;
            let mut repaired = Vec::new();
            let mut bad_layers: HashSet<String> = HashSet::new();
            let mut bad_images: HashSet<String> = HashSet::new();
            let mut bad_containers: HashSet<String> = HashSet::new();
            for p in &problems {
                match p {
                    Problem::BlobMissing { layer, digest } | Problem::BlobCorrupt { layer, digest }
                        if !is_first_blob(st, layer, digest) =>
                    {
                        // Another form of an intact layer: the layer stays; images whose
                        // manifests name this blob are mended below.
                        drop_blob(st, layer, digest);
                        repaired.push(format!("blob {digest} of layer {layer}: no longer kept"));
                    }
                    Problem::LayerMissing { layer }
                    | Problem::LayerOrphaned { layer }
                    | Problem::LayerModified { layer, .. }
                    | Problem::LayerParentMissing { layer, .. }
                    | Problem::BlobMissing { layer, .. }
                    | Problem::BlobCorrupt { layer, .. } => {
                        bad_layers.insert(layer.clone());
                    }
                    Problem::ImageLayerMissing { image, .. }
                    | Problem::ImageFilesMissing { image } => {
                        bad_images.insert(image.clone());
                    }
                    Problem::ContainerBroken { container, .. } => {
                        bad_containers.insert(container.clone());
                    }
                    Problem::DuplicateName { name, images } => {
                        // The newest image keeps the name.
                        let newest = st
                            .images
                            .iter()
                            .filter(|m| images.contains(&m.id))
                            .max_by_key(|m| m.created)
                            .map(|m| m.id.clone());
                        for m in st.images.iter_mut().filter(|m| m.store == 0) {
                            if Some(&m.id) != newest.as_ref() {
                                m.names.retain(|n| n != name);
                            }
                        }
                        repaired.push(format!("name {name}: kept on the newest image"));
                    }
                    Problem::ImageBlobMissing { .. } | Problem::Leftover { .. } => {}
                }
            }
            // Layers above a bad layer are bad too.
            loop {
                let more: Vec<String> = st
                    .layers
                    .iter()
                    .filter(|l| {
                        !bad_layers.contains(&l.id)
                            && l.parent.as_ref().is_some_and(|p| bad_layers.contains(p))
                    })
                    .map(|l| l.id.clone())
                    .collect();
                if more.is_empty() {
                    break;
                }
                bad_layers.extend(more);
            }
            for m in &st.images {
                if m.store == 0 && m.layers.iter().any(|l| bad_layers.contains(l)) {
                    bad_images.insert(m.id.clone());
                }
            }
            for i in 0..st.images.len() {
                let (id, names) = (st.images[i].id.clone(), st.images[i].names.join(", "));
                if st.images[i].store != 0 || bad_images.contains(&id) {
                    continue;
                }
                match self.mend_image(st, i)? {
                    Some(done) => repaired.extend(done),
                    None => {
                        repaired.push(format!(
                            "image {id} ({names}): no manifest of it names only blobs the store keeps"
                        ));
                        bad_images.insert(id);
                    }
                }
            }
            for c in &st.containers {
                if bad_layers.contains(&c.layer) || bad_images.contains(&c.image) {
                    bad_containers.insert(c.id.clone());
                }
            }
            st.containers.retain(|c| !bad_containers.contains(&c.id));
            for c in &bad_containers {
                repaired.push(format!("container {c}: removed"));
            }
            st.images
                .retain(|m| m.store != 0 || !bad_images.contains(&m.id));
            for m in &bad_images {
                repaired.push(format!("image {m}: removed"));
            }
            st.layers
                .retain(|l| l.store != 0 || !bad_layers.contains(&l.id));
            for l in &bad_layers {
                repaired.push(format!("layer {l}: removed"));
            }
            // Directories and blobs no record names any more, and leftovers, go now.
            self.save_for_repair(st)?;
            for r in self.recover()? {
                repaired.push(format!("{r}: removed"));
            }
            Ok(CheckReport { problems, repaired })
        })
    }

    fn find_problems(&self, st: &State) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        let ids: HashSet<&str> = st.layers.iter().map(|l| l.id.as_str()).collect();
        let mut blob_ok: HashMap<Digest, bool> = HashMap::new();
        for l in st.layers.iter().filter(|l| l.store == 0) {
            if let Some(p) = &l.parent
                && !ids.contains(p.as_str())
            {
                problems.push(Problem::LayerParentMissing {
                    layer: l.id.clone(),
                    parent: p.clone(),
                });
            }
            let dir = self.layer_path(l);
            if !dir.is_dir() {
                problems.push(Problem::LayerMissing {
                    layer: l.id.clone(),
                });
                continue;
            }
            if let Some(expected) = &l.tree_checksum
                && let Err(actual) = verify_tree(&dir, expected)?
            {
                problems.push(Problem::LayerModified {
                    layer: l.id.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
            for d in l.blob_digests() {
                problems.extend(self.blob_problem(&l.id, d, &mut blob_ok)?);
            }
        }
        let mut names: HashMap<&str, Vec<String>> = HashMap::new();
        for m in st.images.iter().filter(|m| m.store == 0) {
            for l in m.layers.iter().chain(m.top_layer.iter()) {
                if !ids.contains(l.as_str()) {
                    problems.push(Problem::ImageLayerMissing {
                        image: m.id.clone(),
                        layer: l.clone(),
                    });
                }
            }
            let dir = self.image_dir(m);
            let manifest = dir.join(format!("manifest-{}", m.manifest_digest.hex()));
            if !dir.join("config").exists() || !manifest.exists() {
                problems.push(Problem::ImageFilesMissing {
                    image: m.id.clone(),
                });
            }
            // A blob recorded on the layer but gone is BlobMissing already.
            let unkept = self
                .unkept_blobs(st, m)
                .into_iter()
                .filter(|u| st.layer(&u.layer).is_some_and(|l| !l.has_blob(&u.blob)));
            problems.extend(unkept.map(|u| Problem::ImageBlobMissing {
                image: m.id.clone(),
                names: m.names.clone(),
                manifest: u.manifest,
                digest: u.blob,
            }));
            for n in &m.names {
                names.entry(n).or_default().push(m.id.clone());
            }
        }
        for (name, images) in names {
            if images.len() > 1 {
                problems.push(Problem::DuplicateName {
                    name: name.to_string(),
                    images,
                });
            }
        }
        let image_ids: HashSet<&str> = st.images.iter().map(|m| m.id.as_str()).collect();
        for c in &st.containers {
            if c.rootfs.is_none() && !image_ids.contains(c.image.as_str()) {
                problems.push(Problem::ContainerBroken {
                    container: c.id.clone(),
                    what: format!("image {} missing", c.image),
                });
            }
            if !ids.contains(c.layer.as_str()) {
                problems.push(Problem::ContainerBroken {
                    container: c.id.clone(),
                    what: format!("layer {} missing", c.layer),
                });
            }
        }
        problems.extend(
            orphan_container_layers(st)
                .into_iter()
                .map(|layer| Problem::LayerOrphaned { layer }),
        );
        // Leftovers: staging entries whose owner is gone, directories without a
        // record and unfinished metadata writes (these two only appear when a process
        // died under the exclusive lock).
        let staging = self.graph_root().join("staging");
        for e in fs::read_dir(&staging).at(&staging)? {
            let e = e.at(&staging)?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(tok) = name.strip_suffix(".lock")
                && LockFile::new(e.path()).try_exclusive()?.is_some()
            {
                problems.push(Problem::Leftover {
                    path: format!("staging/{tok}"),
                });
            }
        }
        for e in fs::read_dir(self.graph_root()).at(self.graph_root())? {
            let name = e.at(self.graph_root())?.file_name();
            let name = name.to_string_lossy();
            if unfinished_write(&name) {
                problems.push(Problem::Leftover {
                    path: name.to_string(),
                });
            }
        }
        let home = self.graph_root().join(self.driver().name());
        let own: HashSet<&str> = st
            .layers
            .iter()
            .filter(|l| l.store == 0)
            .map(|l| l.id.as_str())
            .collect();
        for e in fs::read_dir(&home).at(&home)? {
            let e = e.at(&home)?;
            let name = e.file_name().to_string_lossy().to_string();
            if !own.contains(name.as_str()) {
                problems.push(Problem::Leftover {
                    path: format!("{}/{name}", self.driver().name()),
                });
            }
        }
        Ok(problems)
    }

    /// A kept blob of `layer` that is missing or does not hash to its digest.
    fn blob_problem(
        &self,
        layer: &str,
        d: &Digest,
        blob_ok: &mut HashMap<Digest, bool>,
    ) -> Result<Option<Problem>> {
        let (layer, digest) = (layer.to_string(), d.clone());
        let p = self.blob_path_in(0, d);
        if !p.exists() {
            return Ok(Some(Problem::BlobMissing { layer, digest }));
        }
        let ok = match blob_ok.get(d) {
            Some(ok) => *ok,
            None => {
                let ok = hash_file(&p)? == *d;
                blob_ok.insert(d.clone(), ok);
                ok
            }
        };
        Ok((!ok).then_some(Problem::BlobCorrupt { layer, digest }))
    }

    fn save_for_repair(&self, st: &State) -> Result<()> {
        // Directories of removed layers and images go through `recover`, which
        // removes what no saved record names: save first.
        self.save_state(st)?;
        for m in fs::read_dir(self.graph_root().join("images")).at(self.graph_root())? {
            let m = m.at(self.graph_root())?;
            let id = m.file_name().to_string_lossy().to_string();
            match st.images.iter().find(|x| x.id == id && x.store == 0) {
                Some(image) => remove_unrecorded_manifests(&m.path(), image)?,
                None => remove_all(&m.path())?,
            }
        }
        Ok(())
    }
}

/// Removes the manifests in an image's directory that its record no longer names
/// (dropped by a repair).
fn remove_unrecorded_manifests(dir: &std::path::Path, image: &Image) -> Result<()> {
    for e in fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        let name = e.file_name().to_string_lossy().to_string();
        let Some(hex) = name.strip_prefix("manifest-") else {
            continue;
        };
        let hex = hex.strip_suffix(".type").unwrap_or(hex);
        let recorded = std::iter::once(&image.manifest_digest)
            .chain(&image.digests)
            .any(|d| d.hex() == hex);
        if !recorded {
            fs::remove_file(e.path()).at(e.path())?;
        }
    }
    Ok(())
}
