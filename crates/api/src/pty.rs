//! A pseudo-terminal for an exec with a terminal: the helper gets its far side
//! as stdio, the service relays its near side.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

use crate::reply::ApiError;

pub struct Pty {
    master: File,
    slave: File,
}

impl Pty {
    pub fn open() -> std::io::Result<Pty> {
        // SAFETY: posix_openpt takes flags and returns a new descriptor or -1.
        let fd = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a new descriptor nothing else owns.
        let master = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: master is an open pty master; name is a buffer of name.len() bytes.
        let ok = unsafe {
            libc::grantpt(master.as_raw_fd()) == 0
                && libc::unlockpt(master.as_raw_fd()) == 0
                && libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) == 0
        };
        if !ok {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: ptsname_r wrote a NUL-terminated path into name.
        let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)?;
        Ok(Pty { master, slave })
    }

    /// A copy of the far side, for one of the helper's stdio.
    pub fn slave(&self) -> Result<File, ApiError> {
        self.slave
            .try_clone()
            .map_err(|e| ApiError::new(500, format!("exec terminal: {e}")))
    }

    pub fn master(&self) -> std::io::Result<File> {
        self.master.try_clone()
    }

    pub fn into_master(self) -> File {
        self.master
    }
}
