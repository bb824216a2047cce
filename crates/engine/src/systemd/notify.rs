//! `--sdnotify`: telling the service manager (`$NOTIFY_SOCKET`, systemd's
//! notify protocol) that a container's service is ready.

use serde::{Deserialize, Serialize};
use std::os::unix::net::UnixDatagram;

/// Who tells systemd that the service is ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdNotify {
    /// Not asked for: nothing is said, and the container gets no socket.
    #[default]
    Unset,
    /// The monitor, once the container runs, with itself as the main pid
    /// (podman's `conmon`).
    Conmon,
    /// Nobody.
    Ignore,
}

impl std::str::FromStr for SdNotify {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<SdNotify, crate::Error> {
        match s {
            "conmon" => Ok(SdNotify::Conmon),
            "ignore" => Ok(SdNotify::Ignore),
            "container" => Err(crate::Error::InvalidArgument(
                "--sdnotify container: not supported yet (the container gets no notify socket); use conmon or ignore".into(),
            )),
            _ => Err(crate::Error::InvalidArgument(format!(
                "--sdnotify {s}: expected conmon, ignore or container"
            ))),
        }
    }
}

/// Sends `state` (such as `READY=1`) to `$NOTIFY_SOCKET`, a path or an
/// abstract name (`@…`). Without the variable there is no one to tell: Ok(false).
pub fn send(state: &str) -> std::io::Result<bool> {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let socket = UnixDatagram::unbound()?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str());
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        socket.send_to(state.as_bytes(), &target)?;
    }
    Ok(true)
}
