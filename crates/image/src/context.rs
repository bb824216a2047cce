//! Settings every transport may need, as containers/image's SystemContext carries them.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::auth::Credentials;
use crate::error::Result;
use crate::manifest::Platform;
use crate::registries::RegistriesConf;

#[derive(Default)]
pub struct Context {
    /// `--authfile`.
    pub auth_file: Option<PathBuf>,
    /// `--creds`, overriding any auth file.
    pub credentials: Option<Credentials>,
    /// The one registry `credentials` are for (a Docker client's
    /// `serveraddress`); none: whichever is reached, as `--creds` means.
    pub credentials_registry: Option<String>,
    /// `--tls-verify`: `Some(false)` allows plain HTTP and unverified TLS.
    pub tls_verify: Option<bool>,
    /// `--cert-dir`: CA certificates (`*.crt`) and client pairs (`*.cert`/`*.key`).
    pub cert_dir: Option<PathBuf>,
    /// `--override-os/--override-arch/--override-variant`.
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    /// `--registries.d`: where lookaside signature storage is configured.
    pub registries_d: Option<PathBuf>,
    /// Attempts for transient registry failures (5xx, dropped connections).
    pub retries: Option<u32>,
    /// `--retry-delay`: the pause between attempts (none: a growing one).
    pub retry_delay: Option<std::time::Duration>,
    /// `--no-creds`: access the registry anonymously, whatever the auth file
    /// holds.
    pub anonymous: bool,
    /// `--registry-token`: a bearer token to send instead of fetching one.
    pub registry_token: Option<String>,
    /// `--shared-blob-dir`: an `oci:` layout's blobs live there, shared with
    /// other layouts, instead of in its own `blobs/`.
    pub shared_blob_dir: Option<PathBuf>,
    registries: OnceLock<RegistriesConf>,
}

impl Context {
    /// registries.conf, read once.
    pub fn registries(&self) -> Result<&RegistriesConf> {
        if let Some(c) = self.registries.get() {
            return Ok(c);
        }
        let c = RegistriesConf::load()?;
        Ok(self.registries.get_or_init(|| c))
    }

    pub fn set_registries(&mut self, conf: RegistriesConf) {
        self.registries = OnceLock::from(conf);
    }

    /// The platform to choose from an index: the overrides, else the host.
    pub fn platform(&self) -> Platform {
        let mut p = Platform::host();
        if let Some(os) = &self.os {
            p.os = os.clone();
        }
        if let Some(a) = &self.arch {
            if *a != p.architecture {
                p.variant = None;
            }
            p.architecture = a.clone();
        }
        if let Some(v) = &self.variant {
            p.variant = Some(v.clone());
        }
        p
    }
}
