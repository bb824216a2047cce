//! Plain HTTP(S) downloads (`import URL`, `ADD URL`, signature lookaside): one
//! client with the registries' TLS set-up (system roots plus certs.d for the
//! host), timeouts and redirects, so every fetch behaves alike.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::transport::registry_client::{TlsSettings, cert_dirs};

/// What a GET answered.
pub enum Fetched {
    /// The body, streamed.
    Body(Box<dyn Read + Send>),
    /// 404.
    NotFound,
}

/// GETs `url`. Errors name the URL and say what went wrong in one line.
pub fn get(url: &str) -> Result<Fetched> {
    let fail = |message: String| Error::Registry {
        url: url.to_string(),
        message,
    };
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .unwrap_or("");
    let tls = TlsSettings {
        verify: true,
        cert_dirs: cert_dirs(host, None),
    };
    let config = crate::transport::tls::client_config(&tls, host)?;
    let agent = ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(300))
        .redirects(0)
        .build();
    match crate::transport::registry_client::follow(&agent, agent.get(url)) {
        Ok(r) => Ok(Fetched::Body(Box::new(r.into_reader()))),
        Err(ureq::Error::Status(404, _)) => Ok(Fetched::NotFound),
        Err(ureq::Error::Status(code, r)) => Err(fail(format!("{code} {}", r.status_text()))),
        Err(e) => Err(fail(e.to_string().replace('\n', " "))),
    }
}

/// GETs `url`; a 404 is an error like any other.
pub fn get_body(url: &str) -> Result<Box<dyn Read + Send>> {
    match get(url)? {
        Fetched::Body(b) => Ok(b),
        Fetched::NotFound => Err(Error::Registry {
            url: url.to_string(),
            message: "404 Not Found".into(),
        }),
    }
}
