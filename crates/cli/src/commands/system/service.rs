//! `system service`: the REST API on a socket, until no client has come for
//! `--time` seconds.

use crate::commands::StoreArgs;
use crate::exit::{self, CmdResult};
use clap::Args;

#[derive(Args)]
pub struct ServiceArgs {
    /// Seconds without a client before the service exits (0: never).
    #[arg(short, long, default_value_t = 5)]
    time: u64,
    /// unix:///PATH or tcp://HOST:PORT (default: /run/berth/berth.sock for
    /// root, $XDG_RUNTIME_DIR/berth/berth.sock for others); a socket systemd
    /// passes (LISTEN_FDS) is used when there is one.
    uri: Option<String>,
    /// Answers allow cross-origin calls from this origin (`*`: any).
    #[arg(long)]
    cors: Option<String>,
    /// PEM certificate (chain) for TLS on a tcp:// URI.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

pub fn service(store_args: &StoreArgs, a: ServiceArgs) -> CmdResult {
    // The monitors it starts are this binary: protected before any is forked.
    exit::protect_self()?;
    let listener = match (berth_api::Listener::from_systemd(), &a.uri) {
        (Some(l), None) => l,
        _ => {
            let uri = a.uri.clone().unwrap_or_else(berth_api::listen::default_uri);
            berth_api::Listener::bind(&uri).map_err(exit::podman)?
        }
    };
    // TLS for whatever TCP listener it has, a passed one too.
    let listener = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => listener.with_tls(c, k).map_err(exit::podman)?,
        _ => listener,
    };
    if let berth_api::Listener::Tcp(l) = &listener {
        let at = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
        eprintln!(
            "WARNING: the API over TCP asks no credentials and is not encrypted: whoever reaches {at} can do what root can here"
        );
    }
    if let Some(origin) = &a.cors {
        log::debug!("CORS Headers were set to {origin:?}");
        berth_api::http::set_cors(origin);
    }
    let store = store_args.open()?;
    let service = berth_api::Service::new(
        berth_engine::Engine::with_store(store),
        store_args.command(),
    );
    let idle = (a.time > 0).then(|| std::time::Duration::from_secs(a.time));
    berth_api::serve(listener, std::sync::Arc::new(service), idle)
        .map_err(|e| exit::podman(format!("API service: {e}")))
}
