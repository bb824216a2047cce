//! `rmi`: images removed by name or ID, as podman removes them.

use berth_storage::{Image, Store};

use super::ImageError;

/// How `rmi` removes.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoveOptions {
    /// Every name goes and the image with them, and the containers made from
    /// it are removed first.
    pub force: bool,
    /// Every image of the store (not the read-only stores').
    pub all: bool,
    /// Images that do not exist are no error.
    pub ignore: bool,
    /// `--no-prune`: the image's dangling parents (a build's intermediate
    /// images) stay.
    pub no_prune: bool,
}

/// What removing one image did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removal {
    /// The names taken off, in the order they went.
    pub untagged: Vec<String>,
    /// The image ID, when the image itself was deleted.
    pub deleted: Option<String>,
    /// Its parents that went with it (a build's intermediate images: no name,
    /// no other child, no container), nearest first, as podman's rmi takes them.
    pub parents: Vec<String>,
}

/// Removes each of `names` (every image with `o.all`); one result per image, in
/// order. A name removes only that name unless it is the image's last one (or
/// `force`); an ID removes the image, which must then have at most one name
/// unless `force`.
pub fn remove(
    store: &Store,
    names: &[String],
    o: RemoveOptions,
) -> Result<Vec<Result<Removal, ImageError>>, ImageError> {
    let targets: Vec<String> = if o.all {
        store
            .images()?
            .into_iter()
            .filter(|i| !i.read_only)
            .map(|i| i.id)
            .collect()
    } else if names.is_empty() {
        return Err(ImageError::InvalidArgument(
            "image name or ID must be specified".into(),
        ));
    } else {
        names.to_vec()
    };
    Ok(targets
        .iter()
        .map(|t| {
            let id = store.image(t).map(|i| i.id).unwrap_or_default();
            remove_one(store, t, o).inspect(|r| tell(store, &id, r))
        })
        // podman's -f also passes over images that are not there.
        .filter(|r| !((o.ignore || o.force) && matches!(r, Err(ImageError::NotKnown(_)))))
        .collect())
}

fn remove_one(store: &Store, target: &str, o: RemoveOptions) -> Result<Removal, ImageError> {
    let found = store.image(target).ok();
    // A manifest list goes by rmi too, as podman's lists are images.
    if found.is_none()
        && let Ok(l) = crate::manifests::delete(store, target)
    {
        return Ok(Removal {
            untagged: l.names,
            deleted: Some(l.id),
            ..Default::default()
        });
    }
    let by_id = found.as_ref().is_some_and(|i| i.matches_id(target));
    // --all takes every image with all its names, as podman's and buildah's
    // rmi -a do: only an ID the user gave needs force for several names.
    let several = found.as_ref().is_some_and(|i| i.names.len() > 1);
    if by_id && several && !o.force && !o.all {
        return Err(ImageError::MustForce(target.to_string()));
    }
    // podman's -f: the containers using the image go first, when the image
    // itself is to go (a name of several only takes that name off).
    let whole = by_id || found.as_ref().is_some_and(|i| i.names.len() <= 1);
    if o.force
        && whole
        && let Some(i) = &found
    {
        remove_containers_of(store, &i.id)?;
    }
    // Its place in the layer tree, read while it is there.
    let place = found.as_ref().map(|img| shape(store, img));
    if !by_id {
        let r = store.remove_image(target)?;
        let parents = match (&r.deleted, place) {
            (Some(_), Some(place)) if !o.no_prune => remove_parents(store, place),
            _ => Vec::new(),
        };
        return Ok(Removal {
            untagged: r.untagged,
            deleted: r.deleted,
            parents,
        });
    }
    let img = store.image(target)?;
    let mut r = remove_whole(store, &img)?;
    if r.deleted.is_some()
        && !o.no_prune
        && let Some(place) = place
    {
        r.parents = remove_parents(store, place);
    }
    Ok(r)
}

/// An image's place in the layer tree: its layers and its config's history
/// (a step without a layer adds only history).
type Shape = (Vec<String>, Vec<serde_json::Value>);

fn shape(store: &Store, img: &Image) -> Shape {
    let history = store
        .image_config(img)
        .ok()
        .and_then(|c| serde_json::from_slice::<serde_json::Value>(&c).ok())
        .and_then(|c| c["history"].as_array().cloned())
        .unwrap_or_default();
    (img.layers.clone(), history)
}

/// Whether `child` is one step over `parent` (as `images::has_children`
/// judges a build's intermediate images): its layers, plus at most one, and
/// its history plus one entry.
fn is_parent(parent: &Shape, child: &Shape) -> bool {
    layer_step(&parent.0, &child.0)
        && child.1.len() == parent.1.len() + 1
        && child.1.starts_with(&parent.1)
}

/// The layer half of [`is_parent`], from the store's records alone: only
/// images that pass it have their configs read.
fn layer_step(parent: &[String], child: &[String]) -> bool {
    child.starts_with(parent) && child.len() <= parent.len() + 1
}

/// After an image at `place` went: its parent goes too while it has no name,
/// no other child, no container and no lease (a running build's or pull's),
/// and so on up. Returns the IDs removed, nearest first.
fn remove_parents(store: &Store, place: Shape) -> Vec<String> {
    let mut gone = Vec::new();
    let mut child = place;
    loop {
        let Ok(leased) = crate::leases::Leased::read(&store.config().run_root) else {
            break;
        };
        let Ok(images) = store.images() else { break };
        let images: Vec<Image> = images.into_iter().filter(|i| !i.read_only).collect();
        let Some((parent, pshape)) = images
            .iter()
            .filter(|i| i.names.is_empty() && layer_step(&i.layers, &child.0))
            .map(|i| (i, shape(store, i)))
            .find(|(_, s)| is_parent(s, &child))
        else {
            break;
        };
        let has_child = images
            .iter()
            .filter(|i| i.id != parent.id && layer_step(&parent.layers, &i.layers))
            .any(|i| is_parent(&pshape, &shape(store, i)));
        let used = store
            .containers()
            .map(|cs| cs.iter().any(|c| c.image == parent.id))
            .unwrap_or(true);
        if has_child || used || leased.contains(&parent.id) {
            break;
        }
        match store.remove_image(&parent.id) {
            Ok(r) if r.deleted.is_some() => gone.push(parent.id.clone()),
            _ => break,
        }
        child = pshape;
    }
    gone
}

/// The events of a removal: each name taken off, then the image.
fn tell(store: &Store, id: &str, r: &Removal) {
    for n in &r.untagged {
        crate::events::image(store, "untag", id, n);
    }
    for d in r.deleted.iter().chain(&r.parents) {
        crate::events::image(store, "remove", d, d);
    }
}

/// Removes the image under all its names: every name but the first is taken
/// off, then the image (and with it the first name). The names are reported
/// in the image's order.
fn remove_whole(store: &Store, img: &Image) -> Result<Removal, ImageError> {
    for n in img.names.iter().skip(1) {
        store.untag(&img.id, n)?;
    }
    let r = store.remove_image(&img.id)?;
    let untagged = img.names.clone();
    Ok(Removal {
        untagged,
        deleted: r.deleted,
        parents: Vec::new(),
    })
}

/// Removes (stopping them first) the containers made from image `id`; an
/// infra container takes its pod, and the pod's other containers, along.
fn remove_containers_of(store: &Store, id: &str) -> Result<(), ImageError> {
    for c in store.containers()? {
        if c.image != id {
            continue;
        }
        let pod = crate::container::find(store, &c.id)
            .ok()
            .filter(|i| i.config.process.infra)
            .and_then(|i| i.config.process.pod);
        let removed = match pod {
            Some(pod) => crate::pods::remove(store, &pod, true, 0).map(|_| ()),
            None => crate::lifecycle::remove(store, &c.id, true).map(|_| ()),
        };
        match removed {
            Ok(()) | Err(crate::Error::NoSuchContainer(_) | crate::Error::NoSuchPod(_)) => {}
            Err(source) => {
                return Err(ImageError::Container {
                    container: c.id.clone(),
                    image: id.to_string(),
                    source: Box::new(source),
                });
            }
        }
    }
    Ok(())
}
