//! Registry logins: credentials are checked against the registry before any
//! front end keeps them (the CLI in an auth file, a Docker client in its own).

use std::path::Path;

use berth_image::auth::Credentials;
use berth_image::registries::RegistriesConf;
use berth_image::transport::registry_client::{Client, TlsSettings, cert_dirs};

/// Logs into the registry of `key` (REGISTRY[/REPOSITORY], as
/// [`berth_image::auth::login_key`] makes it) with `creds`; TLS is verified
/// unless `tls_verify` says otherwise or registries.conf calls it insecure.
pub fn check(
    key: &str,
    creds: &Credentials,
    tls_verify: Option<bool>,
    cert_dir: Option<&Path>,
) -> Result<(), crate::Error> {
    let host = key.split('/').next().unwrap_or(key);
    let insecure = RegistriesConf::load()
        .map(|c| c.is_insecure(host))
        .unwrap_or(false);
    let tls = TlsSettings {
        verify: tls_verify.unwrap_or(!insecure),
        cert_dirs: cert_dirs(host, cert_dir),
    };
    let client = Client::connect(host, Some(creds.clone()), &tls, Some(1))
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    client.check_login().map_err(|e| {
        let why = match e {
            // podman's words, without the registry named twice.
            berth_image::Error::Unauthorized { .. } => "invalid username/password".to_string(),
            e => e.to_string(),
        };
        crate::Error::Other(format!("logging into {key:?}: {why}"))
    })
}
