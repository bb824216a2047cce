//! podman's confirmation before it deletes what a user may still want
//! (the prunes of `system`, `container`, `image`, `pod`, `volume` and
//! `network`, `system reset`): the warning, then `[y/N]` read from stdin.
//! Anything but yes, an empty line or the end of input included, is no.

use std::io::{BufRead, Write};

/// Prints `warning` and asks; true when the user answered yes.
pub fn confirm(warning: &str) -> bool {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = out.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    is_yes(&answer)
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_yes_is_yes() {
        for yes in ["y\n", "Y", " yes\n", "YES"] {
            assert!(super::is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n\n", "no", "yep", "sure"] {
            assert!(!super::is_yes(no), "{no:?}");
        }
    }
}
