//! Pulling: the one way an image enters the store from a registry or another
//! transport. The pull policy, short-name resolution (registries.conf's aliases
//! and search registries) and the trust policy (policy.json) all live here, so
//! no front end can pull past them.

use std::path::PathBuf;
use std::sync::Arc;

use berth_image::copy::{self, Progress};
use berth_image::signature::Policy;
use berth_image::transport::ImageName;
use berth_image::{Context, Reference};
use berth_storage::{StorageDestination, Store};

/// When to pull (podman's `--pull` / `--policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Always ask the registry.
    #[default]
    Always,
    /// Only when no local image has the name.
    Missing,
    /// Never: a missing image is an error.
    Never,
    /// When the registry's manifest differs from the local image's.
    Newer,
}

/// What `--pull=true` and `--pull=false` (the flag's past as a boolean) stand
/// for, which differs by command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullBool {
    /// podman's build (and what takes no boolean: run, pull, the API): `true`
    /// always pulls, `false` never does.
    #[default]
    AlwaysNever,
    /// buildah's from: `true` asks the registry for a newer image (the local
    /// one stands when it cannot be asked), `false` pulls only a missing one.
    NewerMissing,
}

/// The policy words with podman's and Kubernetes' synonyms, read the
/// podman-build way ([`PullBool::AlwaysNever`]).
impl std::str::FromStr for PullPolicy {
    type Err = PullError;
    fn from_str(s: &str) -> Result<PullPolicy, PullError> {
        PullPolicy::from_flag(s, PullBool::AlwaysNever)
    }
}

impl PullPolicy {
    /// A command's `--pull WORD`: a policy word, or `true`/`false` as
    /// `booleans` says this command reads them.
    pub fn from_flag(word: &str, booleans: PullBool) -> Result<PullPolicy, PullError> {
        Ok(match (word, booleans) {
            ("true", PullBool::AlwaysNever) => PullPolicy::Always,
            ("false", PullBool::AlwaysNever) => PullPolicy::Never,
            ("true", PullBool::NewerMissing) => PullPolicy::Newer,
            ("false", PullBool::NewerMissing) => PullPolicy::Missing,
            ("always", _) => PullPolicy::Always,
            ("missing" | "ifmissing" | "ifnotpresent", _) => PullPolicy::Missing,
            ("never", _) => PullPolicy::Never,
            ("newer" | "ifnewer", _) => PullPolicy::Newer,
            _ => return Err(PullError::BadPolicy(word.to_string())),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::Missing => "missing",
            PullPolicy::Never => "never",
            PullPolicy::Newer => "newer",
        }
    }
}

/// What a pull is asked to do.
#[derive(Default)]
pub struct PullOptions {
    pub policy: PullPolicy,
    /// Every tag of the repository.
    pub all_tags: bool,
    /// Registry access: registries.conf, credentials, certificates, TLS,
    /// platform, retries.
    pub context: Context,
    /// The trust policy file; None: the user's, then the system's policy.json.
    pub signature_policy: Option<PathBuf>,
}

/// What happened along the way, for a front end to tell its user.
#[derive(Debug)]
pub enum PullEvent<'a> {
    /// Asking this registry for the image.
    Trying(&'a Reference),
    /// A local image stands and nothing is pulled: the name it was found by.
    Present { name: &'a str, policy: PullPolicy },
    /// `newer` could not ask the registry; the local image stands.
    CannotCheck {
        reference: &'a Reference,
        error: &'a berth_image::Error,
    },
}

/// The images a pull left in the store.
#[derive(Debug, Clone, Default)]
pub struct PullReport {
    /// Their IDs, one per image (several with `all_tags`).
    pub ids: Vec<String>,
    /// Whether anything was copied (false when a local image stood).
    pub pulled: bool,
    /// The names an image from another transport (`oci:` …) was given; none
    /// for a registry's (its name is the one asked for).
    pub names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
    #[error("{0:?}: unknown pull policy (always, missing, never or newer)")]
    BadPolicy(String),
    #[error("invalid platform {0:?}: expected OS/ARCH[/VARIANT]")]
    BadPlatform(String),
    #[error("{0}: image not known and the pull policy is \"never\"")]
    NotPresent(String),
    #[error("{0}: no registry to pull from")]
    NoRegistry(String),
    #[error("{0}: the source holds an image list but no name to store it under")]
    UnnamedIndex(String),
    #[error(transparent)]
    Lease(#[from] crate::leases::LeaseError),
}

/// Sets the context's platform from `OS/ARCH[/VARIANT]`.
pub fn set_platform(ctx: &mut Context, platform: &str) -> Result<(), PullError> {
    let mut parts = platform.split('/');
    let os = parts.next().filter(|s| !s.is_empty());
    let arch = parts.next().filter(|s| !s.is_empty());
    let variant = parts.next();
    let (Some(os), Some(arch)) = (os, arch) else {
        return Err(PullError::BadPlatform(platform.to_string()));
    };
    ctx.os = Some(os.to_string());
    ctx.arch = Some(arch.to_string());
    ctx.variant = variant.map(str::to_string);
    Ok(())
}

/// Pulls `name` (a short or qualified name, or TRANSPORT:NAME) into the store.
pub fn pull(
    store: &Arc<Store>,
    name: &str,
    o: &PullOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(PullEvent),
) -> Result<PullReport, PullError> {
    let report = pull_image(store, name, o, progress, events)?;
    if report.pulled {
        // podman's pull event names what was pulled, with no ID.
        crate::events::image(store, "pull", "", name);
    }
    Ok(report)
}

/// Whether `name` names an image by a transport other than a registry's (an
/// archive, a layout, another store …): one that is copied in whatever the
/// pull policy says.
pub fn from_elsewhere(name: &str) -> bool {
    ImageName::parse(name).is_ok_and(|n| !matches!(n, ImageName::Docker(_)))
}

/// Pulls the image a new container is made from (`run`, `create`) as
/// `o.policy` says, and returns the name to make it from. An image from
/// elsewhere ([`from_elsewhere`]) is copied in under any policy and the
/// container made from the name the copy was given (its ID when none); else
/// the name stands as given (without `docker://`), and with `never` nothing is
/// pulled at all (creating the container then finds the image or says it is
/// not known).
pub fn for_container(
    store: &Arc<Store>,
    image: &str,
    mut o: PullOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(PullEvent),
) -> Result<String, PullError> {
    let elsewhere = from_elsewhere(image);
    if elsewhere {
        o.policy = PullPolicy::Always;
    }
    // A registry's image is found in the store by its name alone.
    let name = image.strip_prefix("docker://").unwrap_or(image).to_string();
    if o.policy == PullPolicy::Never {
        return Ok(name);
    }
    let report = pull(store, image, &o, progress, events)?;
    match (
        report.names.into_iter().next(),
        report.ids.into_iter().next(),
    ) {
        (Some(name), _) if elsewhere => Ok(name),
        (None, Some(id)) if elsewhere => Ok(id),
        _ => Ok(name),
    }
}

fn pull_image(
    store: &Arc<Store>,
    name: &str,
    o: &PullOptions,
    progress: &dyn Progress,
    events: &mut dyn FnMut(PullEvent),
) -> Result<PullReport, PullError> {
    // An explicit transport other than docker://: copied as it is.
    if let Ok(src) = ImageName::parse(name)
        && !matches!(src, ImageName::Docker(_))
    {
        let policy = Policy::load(o.signature_policy.as_deref())?;
        let names = transport_names(&src);
        let id = pull_one(
            store,
            &src,
            names.first().map(String::as_str),
            o,
            &policy,
            progress,
        )?;
        for n in names.iter().skip(1) {
            store.tag(&id, n)?;
        }
        return Ok(PullReport {
            ids: vec![id],
            pulled: true,
            names,
        });
    }
    let typed = name.strip_prefix("docker://").unwrap_or(name);
    // missing/never: an image found locally by the name as typed (an ID, a
    // local name, `localhost/NAME` for a short one) stands, as podman's lookup
    // does before it asks a registry.
    // A local name (`localhost/…`) has no registry to ask: newer leaves it too.
    let local_only =
        berth_storage::store::normalize_name(typed).is_ok_and(|n| n.starts_with("localhost/"));
    let stands = matches!(o.policy, PullPolicy::Missing | PullPolicy::Never)
        || (o.policy == PullPolicy::Newer && local_only);
    if stands
        && !name.starts_with("docker://")
        && let Some(img) = local_by_name(store, typed, &o.context)
    {
        events(PullEvent::Present {
            name: typed,
            policy: o.policy,
        });
        return Ok(PullReport {
            ids: vec![lease_present(store, &img.id)?],
            pulled: false,
            names: Vec::new(),
        });
    }
    let refs = candidates(typed, &o.context)?;
    if o.policy != PullPolicy::Always {
        if let Some(id) = local_image(store, &refs, o, events) {
            return Ok(PullReport {
                ids: vec![lease_present(store, &id)?],
                pulled: false,
                names: Vec::new(),
            });
        }
        if o.policy == PullPolicy::Never {
            return Err(PullError::NotPresent(typed.to_string()));
        }
    }
    // Read only now that something is to be pulled: a run of a present
    // image pays nothing for it.
    let policy = Policy::load(o.signature_policy.as_deref())?;
    let mut last_err = None;
    for r in refs {
        events(PullEvent::Trying(&r));
        match pull_reference(store, &r, o, &policy, progress) {
            Ok(ids) => {
                return Ok(PullReport {
                    ids,
                    pulled: true,
                    names: Vec::new(),
                });
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| PullError::NoRegistry(typed.to_string())))
}

/// The names an image copied in from another transport gets, as libimage's
/// pull gives them: an OCI layout's path as a local name
/// (`oci:/tmp/x/bb:latest` → `localhost/tmp/x/bb:latest`, whatever the tag), an
/// OCI archive's the name its index gives the image, a docker archive's the
/// tags it holds; a directory's none. A path that makes no valid name leaves
/// the image unnamed.
fn transport_names(src: &ImageName) -> Vec<String> {
    use berth_storage::store::normalize_name;
    match src {
        ImageName::Oci { path, .. } => {
            let path = path.to_string_lossy();
            normalize_name(&format!("localhost/{}", path.trim_start_matches('/')))
                .into_iter()
                .collect()
        }
        ImageName::OciArchive { path, tag } => {
            crate::images::archive::oci_archive_name(path, tag.as_deref())
                .into_iter()
                .collect()
        }
        ImageName::DockerArchive {
            path,
            reference: None,
        } => crate::images::archive::single_image_names(path),
        _ => Vec::new(),
    }
}

/// A local image the pull found standing, leased for the rest of the command
/// (which goes on to use it); not found if a prune took it meanwhile.
fn lease_present(store: &Store, id: &str) -> Result<String, PullError> {
    crate::leases::process_lease(&store.config().run_root)
        .hold(|| Ok::<_, PullError>(store.image(id)?.id))
}

/// The references a name a user typed may stand for: itself when qualified,
/// else registries.conf's aliases and search registries.
fn candidates(name: &str, ctx: &Context) -> Result<Vec<Reference>, PullError> {
    // No search registries: an error, as podman's (never a guess at docker.io).
    Ok(ctx.registries()?.resolve_short_name(name)?)
}

/// The local image `name` stands for: by ID, by its name as stored, or
/// `localhost/NAME` for a short one; only one of the platform asked for.
fn local_by_name(store: &Store, name: &str, ctx: &Context) -> Option<berth_storage::Image> {
    let img = store.image(name).ok().or_else(|| {
        let n = berth_storage::store::normalize_name(name).ok()?;
        store.image(&n).ok()
    })?;
    for_platform(store, &img, ctx).then_some(img)
}

/// Whether a local image is of the platform the context asks for (any, when
/// it asks for none).
fn for_platform(store: &Store, img: &berth_storage::Image, ctx: &Context) -> bool {
    if ctx.os.is_none() && ctx.arch.is_none() {
        return true;
    }
    let Some(config) = store
        .image_config(img)
        .ok()
        .and_then(|c| serde_json::from_slice::<serde_json::Value>(&c).ok())
    else {
        return false;
    };
    let is = |field: &str, want: &Option<String>| {
        want.as_ref().is_none_or(|w| config[field] == w.as_str())
    };
    is("os", &ctx.os) && is("architecture", &ctx.arch)
}

/// A local image that the policy lets stand, by ID.
fn local_image(
    store: &Store,
    refs: &[Reference],
    o: &PullOptions,
    events: &mut dyn FnMut(PullEvent),
) -> Option<String> {
    for r in refs {
        let Some(img) = store
            .image(&r.to_string())
            .ok()
            .filter(|img| for_platform(store, img, &o.context))
        else {
            continue;
        };
        // "newer": pull only when the registry's manifest digest is not one the
        // local image was stored with; if the registry cannot be asked, the
        // local image stands (podman suppresses the error likewise).
        let stands = o.policy != PullPolicy::Newer
            || match remote_digest(r, &o.context) {
                Ok(d) => img.manifest_digest == d || img.digests.contains(&d),
                Err(error) => {
                    events(PullEvent::CannotCheck {
                        reference: r,
                        error: &error,
                    });
                    true
                }
            };
        if stands {
            events(PullEvent::Present {
                name: &r.to_string(),
                policy: o.policy,
            });
            return Some(img.id);
        }
    }
    None
}

fn remote_digest(r: &Reference, ctx: &Context) -> berth_image::Result<berth_image::Digest> {
    let src = ImageName::Docker(r.clone()).open_source(ctx)?;
    Ok(src.manifest(None)?.digest())
}

/// Pulls one reference (or, with `all_tags`, every tag of its repository).
fn pull_reference(
    store: &Arc<Store>,
    r: &Reference,
    o: &PullOptions,
    policy: &Policy,
    progress: &dyn Progress,
) -> Result<Vec<String>, PullError> {
    let targets = if o.all_tags {
        // The repository's tags, without asking for any one image first.
        let client = berth_image::transport::docker::connect(r, false, &o.context)?;
        berth_image::transport::docker::list_tags(&client, r)?
            .into_iter()
            .map(|t| r.with_tag(&t))
            .collect()
    } else {
        vec![r.clone()]
    };
    targets
        .iter()
        .map(|t| {
            let src = ImageName::Docker(t.clone());
            pull_one(store, &src, Some(&t.to_string()), o, policy, progress)
        })
        .collect()
}

/// Copies the one image at `src` (any transport) into the store under the
/// trust policy, named `name` (None: untagged); returns its ID (`load`).
pub fn pull_from(
    store: &Arc<Store>,
    src: &ImageName,
    name: Option<&str>,
    o: &PullOptions,
    progress: &dyn Progress,
) -> Result<String, PullError> {
    let policy = Policy::load(o.signature_policy.as_deref())?;
    pull_one(store, src, name, o, &policy, progress)
}

/// Copies one image into the store under the trust policy; returns its ID.
/// An `rmi` of the same image by another process may land between the copy
/// and the lookup of what it stored: the copy is then made again (a few
/// times), so the pull still leaves the image it reports.
fn pull_one(
    store: &Arc<Store>,
    src: &ImageName,
    name: Option<&str>,
    o: &PullOptions,
    policy: &Policy,
    progress: &dyn Progress,
) -> Result<String, PullError> {
    let mut attempts = 0;
    loop {
        match copy_one(store, src, name, o, policy, progress) {
            Err(PullError::Storage(e)) if e.is_not_found() && attempts < 3 => attempts += 1,
            r => return r,
        }
    }
}

fn copy_one(
    store: &Arc<Store>,
    src: &ImageName,
    name: Option<&str>,
    o: &PullOptions,
    policy: &Policy,
    progress: &dyn Progress,
) -> Result<String, PullError> {
    let source = src.open_source(&o.context)?;
    let dst = StorageDestination::new(store.clone(), name)?;
    let opts = copy::CopyOptions {
        platform: o.context.platform(),
        // The store keeps no signatures; the policy has checked them already.
        remove_signatures: true,
        ..Default::default()
    };
    copy::copy_image_trusted(policy, src, source.as_ref(), &dst, &opts, progress)?;
    // Leased for the rest of the command, which goes on to use it; looked up
    // under the lease's lock, so that a prune takes it before (and the copy
    // is made again) or not at all.
    let lease = crate::leases::process_lease(&store.config().run_root);
    lease.hold(|| {
        let image = match name {
            Some(n) => store.image(n)?,
            None => {
                // Untagged (archives without a name): the image whose config the copy wrote.
                let top = source.manifest(None)?;
                match top.parse().map_err(berth_image::Error::from)? {
                    berth_image::Manifest::Image(m) => store.image(m.config.digest.hex())?,
                    berth_image::Manifest::Index(_) => {
                        return Err(PullError::UnnamedIndex(src.to_string()));
                    }
                }
            }
        };
        Ok(image.id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_flag_booleans_differ_by_command() {
        let read = |w: &str, b| PullPolicy::from_flag(w, b).unwrap();
        assert_eq!(read("true", PullBool::AlwaysNever), PullPolicy::Always);
        assert_eq!(read("false", PullBool::AlwaysNever), PullPolicy::Never);
        assert_eq!(read("true", PullBool::NewerMissing), PullPolicy::Newer);
        assert_eq!(read("false", PullBool::NewerMissing), PullPolicy::Missing);
        // The words mean the same to every command.
        for b in [PullBool::AlwaysNever, PullBool::NewerMissing] {
            assert_eq!(read("never", b), PullPolicy::Never);
            assert_eq!(read("ifnotpresent", b), PullPolicy::Missing);
            assert_eq!(read("ifnewer", b), PullPolicy::Newer);
            assert_eq!(read("always", b), PullPolicy::Always);
        }
        assert!(matches!(
            PullPolicy::from_flag("sometimes", PullBool::AlwaysNever),
            Err(PullError::BadPolicy(w)) if w == "sometimes"
        ));
        assert_eq!("true".parse::<PullPolicy>().unwrap(), PullPolicy::Always);
    }
}
