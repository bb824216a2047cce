//! Where images come from and go to: registry access flags and the copy context.

use crate::exit::{self, Failure};
use berth_engine::access::RegistryAccess;
use berth_image::Context;
use clap::Args;
use std::path::PathBuf;

/// Registry access settings for one side of an operation.
#[derive(Args, Clone, Default)]
pub struct Access {
    /// Credentials (USERNAME[:PASSWORD]).
    #[arg(long)]
    pub creds: Option<String>,
    /// Authentication file.
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Directory with certificates (*.crt, *.cert, *.key).
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// skopeo's `--no-creds` and `--registry-token` (see [`SkopeoCreds`]).
    #[arg(skip)]
    pub anonymous: bool,
    #[arg(skip)]
    pub registry_token: Option<String>,
    /// skopeo's `--shared-blob-dir` (see [`SkopeoImage`]).
    #[arg(skip)]
    pub shared_blob_dir: Option<PathBuf>,
}

/// skopeo's options of the one image its verb reads: other ways of giving
/// credentials beside `--creds`, and a blob directory `oci:` layouts share.
#[derive(Args, Clone, Default)]
pub struct SkopeoImage {
    /// Access the registry anonymously.
    #[arg(long, conflicts_with_all = ["creds", "username"])]
    no_creds: bool,
    /// The username to access the registry with (with --password).
    #[arg(long, requires = "password", conflicts_with = "creds")]
    username: Option<String>,
    /// The password to access the registry with (with --username).
    #[arg(long, requires = "username")]
    password: Option<String>,
    /// A bearer token to access the registry with.
    #[arg(long)]
    registry_token: Option<String>,
    /// Where an oci: layout's blobs are, shared with other layouts.
    #[arg(long, value_name = "DIR")]
    shared_blob_dir: Option<PathBuf>,
}

impl SkopeoImage {
    /// `access` with these options.
    pub fn apply(&self, mut access: Access) -> Access {
        if let Some(c) = user_pass(&self.username, &self.password) {
            access.creds = Some(c);
        }
        access.anonymous = self.no_creds;
        access.registry_token = self.registry_token.clone();
        access.shared_blob_dir = self.shared_blob_dir.clone();
        access
    }
}

/// Registry access for both ends of a copy (skopeo's `--src-*` and `--dest-*`).
#[derive(Args, Clone, Default)]
pub struct CopyAccess {
    #[arg(long)]
    pub(crate) src_creds: Option<String>,
    #[arg(long)]
    pub(crate) dest_creds: Option<String>,
    /// Authentication file for both ends.
    #[arg(long, env = "REGISTRY_AUTH_FILE")]
    pub(crate) authfile: Option<PathBuf>,
    #[arg(long)]
    pub(crate) src_authfile: Option<PathBuf>,
    #[arg(long)]
    pub(crate) dest_authfile: Option<PathBuf>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub(crate) src_tls_verify: Option<bool>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub(crate) dest_tls_verify: Option<bool>,
    #[arg(long)]
    pub(crate) src_cert_dir: Option<PathBuf>,
    #[arg(long)]
    pub(crate) dest_cert_dir: Option<PathBuf>,
    /// Access the source registry anonymously.
    #[arg(long, conflicts_with_all = ["src_creds", "src_username"])]
    pub(crate) src_no_creds: bool,
    /// Access the destination registry anonymously.
    #[arg(long, conflicts_with_all = ["dest_creds", "dest_username"])]
    pub(crate) dest_no_creds: bool,
    #[arg(long, requires = "src_password", conflicts_with = "src_creds")]
    pub(crate) src_username: Option<String>,
    #[arg(long, requires = "src_username")]
    pub(crate) src_password: Option<String>,
    #[arg(long, requires = "dest_password", conflicts_with = "dest_creds")]
    pub(crate) dest_username: Option<String>,
    #[arg(long, requires = "dest_username")]
    pub(crate) dest_password: Option<String>,
    /// A bearer token for the source registry.
    #[arg(long)]
    pub(crate) src_registry_token: Option<String>,
    /// A bearer token for the destination registry.
    #[arg(long)]
    pub(crate) dest_registry_token: Option<String>,
    /// Where an oci: source's blobs are, shared with other layouts.
    #[arg(long, value_name = "DIR")]
    pub(crate) src_shared_blob_dir: Option<PathBuf>,
    /// Where an oci: destination's blobs go, shared with other layouts.
    #[arg(long, value_name = "DIR")]
    pub(crate) dest_shared_blob_dir: Option<PathBuf>,
}

impl CopyAccess {
    pub fn src(&self) -> Access {
        Access {
            creds: user_pass(&self.src_username, &self.src_password).or(self.src_creds.clone()),
            authfile: self.src_authfile.clone().or(self.authfile.clone()),
            tls_verify: self.src_tls_verify,
            cert_dir: self.src_cert_dir.clone(),
            anonymous: self.src_no_creds,
            registry_token: self.src_registry_token.clone(),
            shared_blob_dir: self.src_shared_blob_dir.clone(),
        }
    }

    pub fn dest(&self) -> Access {
        Access {
            creds: user_pass(&self.dest_username, &self.dest_password).or(self.dest_creds.clone()),
            authfile: self.dest_authfile.clone().or(self.authfile.clone()),
            tls_verify: self.dest_tls_verify,
            cert_dir: self.dest_cert_dir.clone(),
            anonymous: self.dest_no_creds,
            registry_token: self.dest_registry_token.clone(),
            shared_blob_dir: self.dest_shared_blob_dir.clone(),
        }
    }
}

/// `--username` and `--password` as `--creds` takes them.
fn user_pass(user: &Option<String>, password: &Option<String>) -> Option<String> {
    Some(format!("{}:{}", user.as_ref()?, password.as_ref()?))
}

#[derive(Args, Clone, Default)]
pub struct PlatformArgs {
    /// Use OS instead of the running OS when choosing images.
    #[arg(long)]
    pub override_os: Option<String>,
    /// Use ARCH instead of the machine's architecture when choosing images.
    #[arg(long)]
    pub override_arch: Option<String>,
    /// Use VARIANT instead of the machine's variant when choosing images.
    #[arg(long)]
    pub override_variant: Option<String>,
    /// Number of times to retry a failed registry operation.
    #[arg(long, default_value_t = 3)]
    pub retry_times: u32,
}

/// The engine's settings for these flags.
pub fn registry_access(access: &Access, platform: &PlatformArgs) -> RegistryAccess {
    RegistryAccess {
        credentials: access.creds.clone(),
        authfile: access.authfile.clone(),
        tls_verify: access.tls_verify,
        cert_dir: access.cert_dir.clone(),
        os: platform.override_os.clone(),
        arch: platform.override_arch.clone(),
        variant: platform.override_variant.clone(),
        retries: Some(platform.retry_times),
        anonymous: access.anonymous,
        registry_token: access.registry_token.clone(),
        shared_blob_dir: access.shared_blob_dir.clone(),
        ..Default::default()
    }
}

pub fn context(access: &Access, platform: &PlatformArgs) -> Result<Context, Failure> {
    registry_access(access, platform)
        .context()
        .map_err(exit::access)
}
