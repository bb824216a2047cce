//! The one error type of the crate.

/// A problem in a Containerfile, located at a line of a file.
///
/// Displays as `FILE:LINE: what is wrong`, e.g.
/// `Containerfile:7: unknown instruction: FORM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ParseError {
    /// The file name given to [`crate::parse`].
    pub file: String,
    /// 1-based line number (the first line of the instruction at fault; 0 if
    /// the file has no lines at all).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}
