//! TLS client settings for registries: system and `certs.d` CAs, client certificates,
//! and `--tls-verify=false`.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};
use crate::transport::registry_client::TlsSettings;

const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

pub fn client_config(tls: &TlsSettings, registry: &str) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Invalid(format!("TLS setup: {e}")))?;
    let builder = if tls.verify {
        builder.with_root_certificates(roots(tls)?)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    };
    let client = client_pair(tls, registry)?;
    Ok(match client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| Error::Invalid(format!("{registry}: client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    })
}

fn roots(tls: &TlsSettings) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Ok(pem) = std::fs::read(SYSTEM_BUNDLE) {
        for c in rustls_pemfile::certs(&mut &pem[..]).flatten() {
            let _ = store.add(c);
        }
    }
    for dir in &tls.cert_dirs {
        for path in files_with_ext(dir, "crt") {
            for c in read_certs(&path)? {
                store
                    .add(c)
                    .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
            }
        }
    }
    Ok(store)
}

/// The first `X.cert` with a matching `X.key` in the cert dirs.
fn client_pair(
    tls: &TlsSettings,
    registry: &str,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    for dir in &tls.cert_dirs {
        if let Some(cert) = files_with_ext(dir, "cert").into_iter().next() {
            let key = cert.with_extension("key");
            if !key.exists() {
                return Err(Error::Invalid(format!(
                    "{registry}: client certificate {} has no key {}",
                    cert.display(),
                    key.display()
                )));
            }
            let chain = read_certs(&cert)?;
            let pem = std::fs::read(&key).map_err(|e| Error::io(&key, e))?;
            let k = rustls_pemfile::private_key(&mut &pem[..])
                .map_err(|e| Error::io(&key, e))?
                .ok_or_else(|| Error::Invalid(format!("{}: no private key", key.display())))?;
            return Ok(Some((chain, k)));
        }
    }
    Ok(None)
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut &pem[..])
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::io(path, e))?;
    if certs.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// `--tls-verify=false`: accept any certificate (signatures are still checked).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
