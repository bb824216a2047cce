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
}

/// What removing one image did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removal {
    /// The names taken off, in the order they went.
    pub untagged: Vec<String>,
    /// The image ID, when the image itself was deleted.
    pub deleted: Option<String>,
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
    let by_id = found.as_ref().is_some_and(|i| i.matches_id(target));
    if by_id && !o.force && found.as_ref().is_some_and(|i| i.names.len() > 1) {
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
    if !by_id {
        let r = store.remove_image(target)?;
        return Ok(Removal {
            untagged: r.untagged,
            deleted: r.deleted,
        });
    }
    remove_whole(store, &store.image(target)?)
}

/// The events of a removal: each name taken off, then the image.
fn tell(store: &Store, id: &str, r: &Removal) {
    for n in &r.untagged {
        crate::events::image(store, "untag", id, n);
    }
    if let Some(d) = &r.deleted {
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
    })
}

/// Removes (stopping them first) the containers made from image `id`.
fn remove_containers_of(store: &Store, id: &str) -> Result<(), ImageError> {
    for c in store.containers()? {
        if c.image == id {
            crate::lifecycle::remove(store, &c.id, true).map_err(|source| {
                ImageError::Container {
                    container: c.id.clone(),
                    image: id.to_string(),
                    source: Box::new(source),
                }
            })?;
        }
    }
    Ok(())
}
