//! Signatures and trust: the `--policy`/`--sign-by` flags shared by copy, sync,
//! pull and push, and skopeo's `standalone-sign` / `standalone-verify`.

use std::path::PathBuf;

use berth_image::Reference;
use berth_image::copy::{CopyOptions, SignBy};
use berth_image::signature::{
    Policy, StandaloneError, StandaloneVerify, sign_standalone, verify_standalone,
};
use clap::Args;

use crate::exit::{self, CmdResult, Failure};

/// Which images may be used (containers-policy.json(5)).
#[derive(Args, Clone, Default)]
pub struct TrustArgs {
    /// Trust policy file; default ~/.config/containers/policy.json, then
    /// /etc/containers/policy.json (without either, any image is accepted).
    #[arg(long, alias = "signature-policy")]
    pub policy: Option<PathBuf>,
    /// Ignore the trust policy and accept any image.
    #[arg(long)]
    pub insecure_policy: bool,
    /// Directory of registries.d files: where signatures are kept beside registries.
    #[arg(long = "registries.d", value_name = "DIR")]
    pub registries_d: Option<PathBuf>,
}

impl TrustArgs {
    pub fn policy(&self) -> Result<Policy, Failure> {
        if self.insecure_policy {
            return Ok(Policy::accept_anything());
        }
        Policy::load(self.policy.as_deref()).map_err(exit::skopeo)
    }
}

/// Signing a copy's destination, and what becomes of the source's signatures.
#[derive(Args, Clone, Default)]
pub struct SignArgs {
    /// Do not copy the source's signatures.
    #[arg(long)]
    pub remove_signatures: bool,
    /// Sign the image with the GPG key of this fingerprint.
    #[arg(long, value_name = "FINGERPRINT")]
    pub sign_by: Option<String>,
    /// File holding the signing key's passphrase.
    #[arg(long, value_name = "PATH")]
    pub sign_passphrase_file: Option<PathBuf>,
    /// The reference to sign for (default: the destination's).
    #[arg(long, value_name = "REFERENCE")]
    pub sign_identity: Option<String>,
}

impl SignArgs {
    /// Puts these choices into the copy options.
    pub fn apply(&self, opts: &mut CopyOptions) -> Result<(), Failure> {
        opts.remove_signatures = self.remove_signatures;
        if self.sign_by.is_none()
            && (self.sign_passphrase_file.is_some() || self.sign_identity.is_some())
        {
            return Err(exit::usage(
                1,
                "--sign-passphrase-file and --sign-identity need --sign-by",
            ));
        }
        opts.sign_by = match &self.sign_by {
            None => None,
            Some(fpr) => Some(SignBy {
                fingerprint: fpr.clone(),
                passphrase_file: self.sign_passphrase_file.clone(),
                identity: self
                    .sign_identity
                    .as_deref()
                    .map(Reference::parse)
                    .transpose()
                    .map_err(|e| exit::skopeo(e.into()))?,
            }),
        };
        Ok(())
    }
}

#[derive(Args)]
pub struct StandaloneSignArgs {
    /// Where to write the signature.
    #[arg(short, long)]
    output: PathBuf,
    /// File holding the key's passphrase.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// The manifest file to sign.
    manifest: PathBuf,
    /// The reference the signature vouches for.
    docker_reference: String,
    /// Fingerprint of the signing key.
    key_fingerprint: String,
}

#[derive(Args)]
pub struct ImageSignArgs {
    /// The GPG key to sign with (fingerprint or an ID gpg knows).
    #[arg(long, required = true)]
    sign_by: String,
    /// Where to write the signatures (default: registries.d's lookaside).
    #[arg(short, long)]
    directory: Option<PathBuf>,
    /// Sign every manifest of an image list too.
    #[arg(short, long)]
    all: bool,
    #[command(flatten)]
    access: crate::commands::image::access::Access,
    /// Directory of registries.d files.
    #[arg(long = "registries.d", value_name = "DIR")]
    registries_d: Option<PathBuf>,
    /// docker://IMAGE, one or more.
    #[arg(required = true)]
    images: Vec<String>,
}

/// `image sign`: podman's; prints nothing when it worked.
pub fn image_sign(a: ImageSignArgs) -> CmdResult {
    let platform = crate::commands::image::access::PlatformArgs::default();
    let ctx = crate::commands::image::access::context(&a.access, &platform)?;
    let o = berth_engine::images::SignOptions {
        sign_by: a.sign_by.clone(),
        directory: a.directory.clone(),
        all: a.all,
        registries_d: a.registries_d.clone(),
    };
    for image in &a.images {
        berth_engine::images::sign(image, &ctx, &o).map_err(exit::podman)?;
    }
    Ok(())
}

pub fn standalone_sign(a: StandaloneSignArgs) -> CmdResult {
    let manifest = read(&a.manifest)?;
    let reference = Reference::parse(&a.docker_reference).map_err(|e| exit::skopeo(e.into()))?;
    let passphrase = a.passphrase_file.as_deref();
    let sig = sign_standalone(&manifest, &reference, &a.key_fingerprint, passphrase)
        .map_err(exit::skopeo)?;
    berth_engine::outfile::write(&a.output, sig)
        .map_err(|e| exit::usage(1, format!("{}: {e}", a.output.display())))
}

#[derive(Args)]
pub struct StandaloneVerifyArgs {
    /// Trust the keys in this file (then KEY_FINGERPRINTS may be "any").
    #[arg(long)]
    public_key_file: Option<PathBuf>,
    /// The manifest file the signature should cover.
    manifest: PathBuf,
    /// The reference the signature should vouch for.
    docker_reference: String,
    /// Accepted signing keys, comma-separated, or "any" with --public-key-file.
    key_fingerprints: String,
    /// The signature file.
    signature: PathBuf,
}

pub fn standalone_verify(a: StandaloneVerifyArgs) -> CmdResult {
    let manifest = read(&a.manifest)?;
    let signature = read(&a.signature)?;
    let reference = Reference::parse(&a.docker_reference).map_err(|e| exit::skopeo(e.into()))?;
    let public_keys = a.public_key_file.as_ref().map(read).transpose()?;
    let req = StandaloneVerify {
        manifest: &manifest,
        manifest_name: &a.manifest.display().to_string(),
        signature: &signature,
        reference: &reference,
        fingerprints: &a.key_fingerprints,
        public_keys: public_keys.as_deref(),
    };
    let v = verify_standalone(&req).map_err(|e| match e {
        StandaloneError::Keys(e) => exit::skopeo(e),
        e @ StandaloneError::AnyNeedsKeys => exit::usage(1, e),
        e => exit::usage(1, format!("{}: {e}", a.signature.display())),
    })?;
    println!(
        "Signature verified using fingerprint {}, digest {}",
        v.signer, v.payload.manifest_digest
    );
    Ok(())
}

fn read(p: &PathBuf) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| exit::usage(1, format!("{}: {e}", p.display())))
}
