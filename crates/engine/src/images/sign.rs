//! `image sign`: simple-signing signatures of a registry image's manifests,
//! written to lookaside storage beside any kept before (podman's image sign).

use std::path::{Path, PathBuf};

use berth_image::manifest::Manifest;
use berth_image::signature::lookaside::{self, RegistriesD};
use berth_image::signature::{Gpg, Payload};
use berth_image::{Context, Digest, ImageName, Reference};

use super::ImageError;

/// How `image sign` signs.
#[derive(Clone, Debug, Default)]
pub struct SignOptions {
    /// The GPG key (fingerprint, or an ID gpg knows, such as an e-mail).
    pub sign_by: String,
    /// Where signatures go; None: registries.d's lookaside staging (or
    /// lookaside) for the registry, else the built-in default.
    pub directory: Option<PathBuf>,
    /// Every manifest of an image list as well as the list's.
    pub all: bool,
    /// The registries.d directory to read.
    pub registries_d: Option<PathBuf>,
}

/// Signs `name` (a `docker://` reference): returns the signature files
/// written.
pub fn sign(name: &str, ctx: &Context, o: &SignOptions) -> Result<Vec<PathBuf>, ImageError> {
    let bad = |why: String| ImageError::InvalidArgument(format!("{name}: {why}"));
    let reference = match ImageName::parse(name).map_err(|e| bad(e.to_string()))? {
        ImageName::Docker(r) => r,
        other => return Err(bad(format!("{other}: only docker:// images can be signed"))),
    };
    let src = ImageName::Docker(reference.clone())
        .open_source(ctx)
        .map_err(|e| bad(e.to_string()))?;
    let top = src.manifest(None).map_err(|e| bad(e.to_string()))?;
    let mut digests = vec![top.digest()];
    if o.all
        && let Ok(Manifest::Index(i)) = top.parse()
    {
        digests.extend(i.manifests.iter().map(|d| d.digest.clone()));
    }
    let base = match &o.directory {
        Some(d) => format!("file://{}", absolute(d)?.display()),
        None => RegistriesD::load(o.registries_d.as_deref())
            .map_err(|e| bad(e.to_string()))?
            .base_url(&reference, true),
    };
    let gpg = Gpg::user();
    let mut written = Vec::new();
    for digest in digests {
        let signed = sign_one(&gpg, &base, &reference, &digest, &o.sign_by);
        written.push(signed.map_err(|source| ImageError::Sign {
            name: name.to_string(),
            source,
        })?);
    }
    Ok(written)
}

/// Adds one signature of `digest` after those kept for it; its file.
fn sign_one(
    gpg: &Gpg,
    base: &str,
    r: &Reference,
    digest: &Digest,
    key: &str,
) -> Result<PathBuf, berth_image::Error> {
    let payload = Payload::now(digest.clone(), r.to_string());
    let sig = gpg.sign(&payload.to_json(), key, None)?;
    let mut sigs = lookaside::read_signatures(base, r, digest)?;
    sigs.push(sig);
    lookaside::write_signatures(base, r, digest, &sigs)?;
    let url = lookaside::signature_url(base, r, digest, sigs.len());
    Ok(PathBuf::from(url.trim_start_matches("file://")))
}

fn absolute(dir: &Path) -> Result<PathBuf, ImageError> {
    std::path::absolute(dir)
        .map_err(|e| ImageError::InvalidArgument(format!("--directory {}: {e}", dir.display())))
}
