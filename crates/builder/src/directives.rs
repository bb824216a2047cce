//! Parser directives: `# escape=`, `# syntax=`, `# check=` comments at the
//! very top of the file.
//!
//! Directives are only recognised before anything else: the first line that
//! is not a `# key=value` comment with a known key (a blank line, any other
//! comment, an instruction) ends them. Keys are case-insensitive and each may
//! appear once.

/// The directives found at the top of a Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# syntax=` (a frontend image reference; recorded, not acted on).
    pub syntax: Option<String>,
    /// `# check=` (lint configuration; recorded, otherwise ignored).
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// A parser directive that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    #[error("only one {0} parser directive can be used")]
    Repeated(String),
    #[error("invalid escape token '{0}' does not match ` or \\")]
    BadEscape(String),
}

/// Feeds physical lines one at a time until directives are over.
#[derive(Debug, Default)]
pub(crate) struct DirectiveScanner {
    done: bool,
    pub(crate) directives: Directives,
    seen_escape: bool,
}

impl DirectiveScanner {
    /// Looks at one line (leading whitespace already removed, newline
    /// removed). Returns whether the line was a directive.
    pub(crate) fn feed(&mut self, line: &str) -> Result<bool, DirectiveError> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = split_directive(line) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        let slot_seen = match key.as_str() {
            "escape" => self.seen_escape,
            "syntax" => self.directives.syntax.is_some(),
            "check" => self.directives.check.is_some(),
            _ => {
                self.done = true;
                return Ok(false);
            }
        };
        if slot_seen {
            return Err(DirectiveError::Repeated(key));
        }
        match key.as_str() {
            "escape" => {
                self.seen_escape = true;
                self.directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => return Err(DirectiveError::BadEscape(other.to_string())),
                };
            }
            "syntax" => self.directives.syntax = Some(value.to_string()),
            _ => self.directives.check = Some(value.to_string()),
        }
        Ok(true)
    }
}

/// `#  key = value  ` → (`key`, `value`), the key being `[A-Za-z][A-Za-z0-9]*`
/// and the value non-empty.
fn split_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let (key, after) = rest.split_at(key_len);
    let value = after.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(lines: &[&str]) -> Result<(Directives, Vec<bool>), DirectiveError> {
        let mut s = DirectiveScanner::default();
        let mut hits = Vec::new();
        for l in lines {
            hits.push(s.feed(l)?);
        }
        Ok((s.directives, hits))
    }

    #[test]
    fn recognised_at_top() {
        let (d, hits) = scan(&[
            "# escape=`",
            "#SYNTAX = docker/dockerfile:1 ",
            "# Check=skip=all",
            "FROM x",
        ])
        .unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(d.check.as_deref(), Some("skip=all"));
        assert_eq!(hits, [true, true, true, false]);
    }

    #[test]
    fn ends_at_first_other_line() {
        let (d, hits) = scan(&["# a comment", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
        assert_eq!(hits, [false, false]);
        let (d, _) = scan(&["", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
        let (d, _) = scan(&["# unknown=1", "# escape=`"]).unwrap();
        assert_eq!(d.escape, '\\');
    }

    #[test]
    fn errors() {
        assert_eq!(
            scan(&["# escape=`", "# escape=\\"])
                .unwrap_err()
                .to_string(),
            "only one escape parser directive can be used"
        );
        assert_eq!(
            scan(&["# escape=x"]).unwrap_err().to_string(),
            "invalid escape token 'x' does not match ` or \\"
        );
    }

    #[test]
    fn split() {
        assert_eq!(split_directive("#escape=`"), Some(("escape", "`")));
        assert_eq!(split_directive("# k1 =  v v "), Some(("k1", "v v")));
        assert_eq!(split_directive("# 1k=v"), None);
        assert_eq!(split_directive("# k="), None);
        assert_eq!(split_directive("# k v"), None);
    }
}
