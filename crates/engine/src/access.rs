//! How commands reach registries: credentials, TLS, the platform to choose
//! from an image list, retries and registries.conf, made into the
//! [`Context`] that image transports read.

use std::path::{Path, PathBuf};

use berth_image::Context;
use berth_image::auth::Credentials;
use berth_image::registries::RegistriesConf;

use crate::pull::PullError;

/// Registry access settings, as the flags of podman, skopeo and buildah give them.
#[derive(Clone, Debug, Default)]
pub struct RegistryAccess {
    /// `USERNAME[:PASSWORD]` (`--creds`), overriding any auth file.
    pub credentials: Option<String>,
    pub authfile: Option<PathBuf>,
    /// `Some(false)` allows plain HTTP and unverified TLS.
    pub tls_verify: Option<bool>,
    pub cert_dir: Option<PathBuf>,
    /// `OS/ARCH[/VARIANT]` to choose from an image list.
    pub platform: Option<String>,
    /// Each overrides that part of `platform`.
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    /// Attempts for transient registry failures.
    pub retries: Option<u32>,
    /// `--retry-delay`: the pause between them.
    pub retry_delay: Option<std::time::Duration>,
    /// A registries.conf to read instead of the system's.
    pub registries_conf: Option<PathBuf>,
    /// `--no-creds`: anonymous access.
    pub anonymous: bool,
    /// `--registry-token`.
    pub registry_token: Option<String>,
    /// `--shared-blob-dir`.
    pub shared_blob_dir: Option<PathBuf>,
}

/// Why the settings make no context.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Credentials(berth_image::Error),
    #[error(transparent)]
    Platform(PullError),
    #[error("--registries-conf {}: {source}", .path.display())]
    ReadRegistriesConf {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--registries-conf {}: {source}", .path.display())]
    RegistriesConf {
        path: PathBuf,
        source: berth_image::Error,
    },
    /// An `--authfile` that is not there (podman's words, Go's for the why).
    #[error("checking authfile: stat {}: {why}", .path.display())]
    NoAuthfile { path: PathBuf, why: String },
}

/// Refuses an `--authfile` that cannot be found, before anything is pulled
/// (podman's build checks it first).
pub fn check_authfile(path: &Path) -> Result<(), AccessError> {
    std::fs::metadata(path)
        .map(drop)
        .map_err(|e| AccessError::NoAuthfile {
            path: path.to_path_buf(),
            why: berth_runtime::error::go_words(&e),
        })
}

impl RegistryAccess {
    /// The context these settings make.
    pub fn context(&self) -> Result<Context, AccessError> {
        let mut ctx = Context::default();
        ctx.credentials = self
            .credentials
            .as_deref()
            .map(Credentials::parse)
            .transpose()
            .map_err(AccessError::Credentials)?;
        ctx.auth_file = self.authfile.clone();
        ctx.tls_verify = self.tls_verify;
        ctx.cert_dir = self.cert_dir.clone();
        if let Some(p) = &self.platform {
            crate::pull::set_platform(&mut ctx, p).map_err(AccessError::Platform)?;
        }
        // --os and the like win over --platform's parts.
        ctx.os = self.os.clone().or(ctx.os);
        ctx.arch = self.arch.clone().or(ctx.arch);
        ctx.variant = self.variant.clone().or(ctx.variant);
        ctx.retries = self.retries;
        ctx.retry_delay = self.retry_delay;
        ctx.anonymous = self.anonymous;
        ctx.registry_token = self.registry_token.clone();
        ctx.shared_blob_dir = self.shared_blob_dir.clone();
        if let Some(conf) = self.registries_conf()? {
            ctx.set_registries(conf);
        }
        Ok(ctx)
    }

    fn registries_conf(&self) -> Result<Option<RegistriesConf>, AccessError> {
        let Some(path) = &self.registries_conf else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| {
            let path = path.clone();
            AccessError::ReadRegistriesConf { path, source }
        })?;
        let conf = RegistriesConf::from_str(&text, path).map_err(|source| {
            let path = path.clone();
            AccessError::RegistriesConf { path, source }
        })?;
        Ok(Some(conf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_override_the_platform_and_bad_settings_are_told() {
        let a = RegistryAccess {
            credentials: Some("user:pw".into()),
            platform: Some("linux/arm64/v8".into()),
            arch: Some("amd64".into()),
            retries: Some(2),
            ..Default::default()
        };
        let c = a.context().unwrap();
        assert_eq!(c.os.as_deref(), Some("linux"));
        assert_eq!(c.arch.as_deref(), Some("amd64"));
        assert_eq!(c.variant.as_deref(), Some("v8"));
        assert_eq!(c.credentials.unwrap().password, "pw");
        assert_eq!(c.retries, Some(2));
        let bad = |a: RegistryAccess| match a.context() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted"),
        };
        let creds = RegistryAccess {
            credentials: Some(":pw".into()),
            ..Default::default()
        };
        assert!(bad(creds).contains("username must not be empty"));
        let conf = RegistryAccess {
            registries_conf: Some("/nonexistent/registries.conf".into()),
            ..Default::default()
        };
        assert!(bad(conf).starts_with("--registries-conf /nonexistent/registries.conf: "));
    }
}
