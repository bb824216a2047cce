//! One error type: a message that already names the thing and the cause.

use std::fmt;
use std::io;

#[derive(Debug)]
pub struct Error(pub String);

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_string())
    }
}

/// Adds what was being done to an I/O error: `mount /proc: Operation not permitted`.
pub trait Context<T> {
    fn ctx<S: fmt::Display>(self, what: S) -> Result<T>;
    fn with<S: fmt::Display, F: FnOnce() -> S>(self, what: F) -> Result<T>;
}

pub fn describe_io(e: &io::Error) -> String {
    // io::Error's Display appends "(os error N)"; the plain strerror text reads better.
    match e.raw_os_error() {
        Some(code) => {
            let s = e.to_string();
            s.strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&s)
                .to_string()
        }
        None => e.to_string(),
    }
}

/// Go's wording of a system error, as runc, crun and podman print it: the
/// strerror text with its first letter lower-case.
pub fn go_words(e: &io::Error) -> String {
    let s = describe_io(e);
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

impl<T> Context<T> for io::Result<T> {
    fn ctx<S: fmt::Display>(self, what: S) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {}", describe_io(&e))))
    }
    fn with<S: fmt::Display, F: FnOnce() -> S>(self, what: F) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {}", what(), describe_io(&e))))
    }
}

impl<T> Context<T> for Result<T> {
    fn ctx<S: fmt::Display>(self, what: S) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {}", e.0)))
    }
    fn with<S: fmt::Display, F: FnOnce() -> S>(self, what: F) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {}", what(), e.0)))
    }
}

/// Shorthand for an error built from a format string.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::error::Error(format!($($arg)*))) };
}
