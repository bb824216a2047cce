//! Checking one signature against a manifest and an identity: shared by the
//! trust policy (`signedBy`) and skopeo's `standalone-verify`, and making one
//! (`standalone-sign`).

use std::fmt;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::{Reference, ReferenceError};
use crate::signature::gpg::Gpg;
use crate::signature::payload::Payload;
use crate::signature::policy::{SignedIdentity, identity_matches};

/// A signature that was accepted: who made it and what it vouches for.
#[derive(Debug)]
pub struct Verified {
    /// Fingerprint of the signing key (a subkey's, when a subkey signed).
    pub signer: String,
    pub payload: Payload,
}

/// Why one signature was not accepted. The words are the policy's; see
/// [`StandaloneError`] for `standalone-verify`'s.
#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    /// Not a signature GPG could check.
    #[error("{0}")]
    Invalid(Error),
    #[error("signature by key {0} is not trusted")]
    Untrusted(String),
    #[error("{0}")]
    Payload(Error),
    #[error("signature is for manifest {0}, not this one")]
    OtherManifest(Digest),
    #[error("signature names an invalid reference: {0}")]
    BadReference(ReferenceError),
    #[error("signature is for {written}, which does not match the image's identity")]
    OtherIdentity {
        /// The reference as the payload writes it.
        written: String,
        signed: Box<Reference>,
    },
}

/// Accepts `sig` when a `trusted` key made it, for `manifest`, and for a
/// reference that `identity` allows for `image`.
pub fn verify_signature(
    gpg: &Gpg,
    trusted: &[String],
    identity: &SignedIdentity,
    image: Option<&Reference>,
    manifest: &[u8],
    sig: &[u8],
) -> std::result::Result<Verified, Rejected> {
    let v = gpg.verify(sig).map_err(Rejected::Invalid)?;
    if !trusted.iter().any(|t| *t == v.primary || *t == v.signer) {
        return Err(Rejected::Untrusted(v.signer));
    }
    let payload = Payload::parse(&v.payload).map_err(Rejected::Payload)?;
    if !payload.manifest_digest.matches(manifest) {
        return Err(Rejected::OtherManifest(payload.manifest_digest));
    }
    let signed = Reference::parse(&payload.docker_reference).map_err(Rejected::BadReference)?;
    if !identity_matches(identity, image, &signed) {
        let written = payload.docker_reference;
        let signed = Box::new(signed);
        return Err(Rejected::OtherIdentity { written, signed });
    }
    Ok(Verified {
        signer: v.signer,
        payload,
    })
}

/// A signature made apart from any image (`standalone-sign`): the GPG key
/// `fingerprint` vouches that `manifest` is `reference`.
pub fn sign_standalone(
    manifest: &[u8],
    reference: &Reference,
    fingerprint: &str,
    passphrase_file: Option<&std::path::Path>,
) -> Result<Vec<u8>> {
    let payload = Payload::now(Digest::sha256_of(manifest), reference.to_string());
    Gpg::user().sign(&payload.to_json(), fingerprint, passphrase_file)
}

/// What `standalone-verify` checks.
pub struct StandaloneVerify<'a> {
    pub manifest: &'a [u8],
    /// How messages name the manifest (its file).
    pub manifest_name: &'a str,
    pub signature: &'a [u8],
    /// The reference the signature must name, exactly.
    pub reference: &'a Reference,
    /// Accepted key fingerprints, comma-separated; or "any": every key of
    /// `public_keys`.
    pub fingerprints: &'a str,
    /// Keys to trust instead of the user's keyring.
    pub public_keys: Option<&'a [u8]>,
}

/// Why `standalone-verify` failed.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// The public keys could not be imported.
    #[error(transparent)]
    Keys(Error),
    #[error("key fingerprint \"any\" needs --public-key-file")]
    AnyNeedsKeys,
    #[error("{}", StandaloneWords(.why, .manifest_name, .expected))]
    Rejected {
        why: Box<Rejected>,
        manifest_name: String,
        /// The reference asked for.
        expected: String,
    },
}

/// skopeo's words for a rejected standalone signature.
struct StandaloneWords<'a>(&'a Rejected, &'a str, &'a str);

impl fmt::Display for StandaloneWords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            Rejected::Invalid(e) | Rejected::Payload(e) => write!(f, "{e}"),
            Rejected::Untrusted(k) => write!(f, "signed by key {k}, which is not accepted"),
            Rejected::OtherManifest(d) => {
                write!(f, "signature is for manifest {d}, not {}", self.1)
            }
            Rejected::BadReference(e) => write!(f, "{e}"),
            Rejected::OtherIdentity { signed, .. } => {
                write!(f, "signature is for {signed}, not {}", self.2)
            }
        }
    }
}

/// Verifies a signature made apart from any image: by an accepted key, for
/// this manifest and exactly this reference.
pub fn verify_standalone(req: &StandaloneVerify) -> std::result::Result<Verified, StandaloneError> {
    let (gpg, imported) = match req.public_keys {
        Some(k) => {
            let (g, fprs) = Gpg::with_keys(&[k.to_vec()]).map_err(StandaloneError::Keys)?;
            (g, Some(fprs))
        }
        None => (Gpg::user(), None),
    };
    let accepted: Vec<String> = if req.fingerprints == "any" {
        imported.ok_or(StandaloneError::AnyNeedsKeys)?
    } else {
        req.fingerprints
            .split(',')
            .map(|f| f.trim().to_uppercase())
            .filter(|f| !f.is_empty())
            .collect()
    };
    let exact = SignedIdentity::MatchExact;
    verify_signature(
        &gpg,
        &accepted,
        &exact,
        Some(req.reference),
        req.manifest,
        req.signature,
    )
    .map_err(|why| StandaloneError::Rejected {
        why: Box::new(why),
        manifest_name: req.manifest_name.to_string(),
        expected: req.reference.to_string(),
    })
}
