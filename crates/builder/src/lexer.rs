//! Physical lines to logical lines.
//!
//! A logical line is an instruction with its line continuations joined: a
//! line ending in the escape character (trailing blanks allowed) continues on
//! the next line. Inside a continuation, comment lines and blank lines are
//! skipped (as docker does); leading whitespace of the first line is dropped,
//! that of continuation lines kept. Heredoc bodies are read raw on request.

use crate::directives::{DirectiveError, DirectiveScanner, Directives};

/// One instruction's text with its first and last physical line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalLine {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

pub(crate) struct Lexer<'a> {
    lines: Vec<&'a str>,
    /// Index of the next physical line; also the number of lines consumed.
    pos: usize,
    scanner: DirectiveScanner,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str) -> Lexer<'a> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Lexer {
            lines: text.split_inclusive('\n').collect(),
            pos: 0,
            scanner: DirectiveScanner::default(),
        }
    }

    pub(crate) fn escape(&self) -> char {
        self.scanner.directives.escape
    }

    pub(crate) fn directives(&self) -> &Directives {
        &self.scanner.directives
    }

    /// Number of physical lines consumed so far.
    pub(crate) fn line(&self) -> usize {
        self.pos
    }

    fn take(&mut self) -> Option<&'a str> {
        let l = self.lines.get(self.pos).copied()?;
        self.pos += 1;
        Some(l)
    }

    /// The next instruction's text, or `None` at the end of the file. An
    /// error is a bad parser directive, with its line.
    pub(crate) fn next_line(&mut self) -> Result<Option<LogicalLine>, (usize, DirectiveError)> {
        while let Some(raw) = self.take() {
            let line = trim_newline(raw).trim_start();
            self.scanner.feed(line).map_err(|e| (self.pos, e))?;
            let content = if is_comment(line) { "" } else { line };
            let start = self.pos;
            let (content, mut eol) = trim_continuation(content, self.escape());
            if eol && content.is_empty() {
                continue;
            }
            let mut text = content.to_string();
            while !eol {
                let Some(raw) = self.take() else { break };
                let line = trim_newline(raw);
                if is_comment(line) || line.trim_start().is_empty() {
                    continue;
                }
                let (content, e) = trim_continuation(line, self.escape());
                text.push_str(content);
                eol = e;
            }
            return Ok(Some(LogicalLine {
                text,
                start,
                end: self.pos,
            }));
        }
        Ok(None)
    }

    /// Reads a heredoc body up to the terminator line `name` (compared after
    /// removing leading tabs when `chomp`). The body keeps its line endings.
    /// `None` when the file ends first.
    pub(crate) fn heredoc_body(&mut self, name: &str, chomp: bool) -> Option<String> {
        let mut body = String::new();
        while let Some(raw) = self.take() {
            let mut candidate = trim_newline(raw);
            if chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == name {
                return Some(body);
            }
            body.push_str(raw);
        }
        None
    }
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a trailing continuation (escape character plus blanks). The
/// escape character counts only when it is alone or not itself preceded by
/// the escape character. Returns the line and whether it is complete.
pub(crate) fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape)
        && !before.ends_with(escape)
    {
        return (before, false);
    }
    (line, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(String, usize, usize)> {
        let mut lx = Lexer::new(text);
        let mut out = Vec::new();
        while let Some(l) = lx.next_line().unwrap() {
            out.push((l.text, l.start, l.end));
        }
        out
    }

    #[test]
    fn continuations_comments_blanks() {
        let text = "# c\n\n  FROM a\nRUN a \\\n  b \\\n# inside\n\n   \n  c\nRUN x\\  \n  z\n";
        assert_eq!(
            lines(text),
            [
                ("FROM a".to_string(), 3, 3),
                ("RUN a   b   c".to_string(), 4, 9),
                ("RUN x  z".to_string(), 10, 11),
            ]
        );
    }

    #[test]
    fn escaped_escape_ends_line() {
        assert_eq!(
            lines("RUN a\\\\\nRUN b"),
            [("RUN a\\\\".to_string(), 1, 1), ("RUN b".to_string(), 2, 2)]
        );
    }

    #[test]
    fn backtick_escape() {
        let text = "# escape=`\nFROM a\nRUN dir c:\\ `\n  /b\n";
        assert_eq!(lines(text)[1], ("RUN dir c:\\   /b".to_string(), 3, 4));
    }

    #[test]
    fn continuation_at_eof_and_crlf() {
        assert_eq!(
            lines("RUN a \\\r\n b \\"),
            [("RUN a  b ".to_string(), 1, 2)]
        );
    }

    #[test]
    fn heredoc_body() {
        let mut lx = Lexer::new("RUN <<EOF\nline1\n\tline2\n\tEOF\nEOF\nnext\n");
        lx.next_line().unwrap();
        assert_eq!(
            lx.heredoc_body("EOF", false).as_deref(),
            Some("line1\n\tline2\n\tEOF\n")
        );
        assert_eq!(lx.line(), 5);
        let mut lx = Lexer::new("RUN <<-EOF\n\tx\n\tEOF\n");
        lx.next_line().unwrap();
        assert_eq!(lx.heredoc_body("EOF", true).as_deref(), Some("\tx\n"));
        let mut lx = Lexer::new("RUN <<EOF\nx\n");
        lx.next_line().unwrap();
        assert_eq!(lx.heredoc_body("EOF", false), None);
    }

    #[test]
    fn bom_and_directive_error() {
        assert_eq!(lines("\u{feff}FROM a"), [("FROM a".to_string(), 1, 1)]);
        let mut lx = Lexer::new("# escape=`\n# escape=`\n");
        assert_eq!(
            lx.next_line().unwrap_err(),
            (2, DirectiveError::Repeated("escape".to_string()))
        );
    }
}
