//! The one error type of the crate.

/// A problem in a Containerfile, located at a line of a file.
///
/// Displays as `FILE:LINE: what is wrong`, e.g.
/// `Containerfile:7: unknown instruction: FORM`, or `FILE: what is wrong`
/// for a problem of the whole file (line 0), such as an unknown `--target`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line_suffix(*line))]
pub struct ParseError {
    /// The file name given to [`crate::parse`].
    pub file: String,
    /// 1-based line number (the first line of the instruction at fault); 0
    /// when no line is at fault.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// `message` is what went wrong, usually one of the typed errors of the
    /// parsing layers (their text is what users see).
    pub fn new(file: &str, line: usize, message: impl std::fmt::Display) -> ParseError {
        ParseError {
            file: file.to_string(),
            line,
            message: message.to_string(),
        }
    }
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let e = ParseError::new("Containerfile", 7, "unknown instruction: FORM");
        assert_eq!(e.to_string(), "Containerfile:7: unknown instruction: FORM");
        let e = ParseError::new("Containerfile", 0, "target stage \"x\" could not be found");
        assert_eq!(
            e.to_string(),
            "Containerfile: target stage \"x\" could not be found"
        );
    }
}
