//! Logical lines to a syntax tree of untyped nodes, one per instruction.
//!
//! This is the level of docker's own parser: the keyword, the `--flags`,
//! the arguments split the way each instruction splits them (JSON array,
//! whitespace, `key=value` words, or the rest of the line as one string),
//! and heredoc bodies. Nothing is validated beyond that: unknown keywords
//! parse (with no arguments) and are refused later by [`crate::instructions`].

use crate::directives::Directives;
use crate::error::ParseError;
use crate::expand::{ExpandError, Lexer as ShellLexer};
use crate::lexer::Lexer;

/// A heredoc attached to an instruction (`RUN <<EOF`, `COPY <<EOF /dest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word, quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// File descriptor written before `<<` (`3<<EOF`), if any.
    pub fd: Option<u32>,
    /// False when any part of the terminator word was quoted: the body is
    /// then taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the terminator line and, for
    /// COPY/ADD sources and typed RUN heredocs, from every body line.
    pub chomp: bool,
    /// The body, line endings included, as read from the file.
    pub content: String,
}

/// A line that does not split into an instruction, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    NotStrings,
    /// ENV/LABEL in the old `KEY name value` form without a value.
    #[error("{0} must have two arguments")]
    TwoArguments(&'static str),
    /// An ENV/LABEL word without `=` after one with it.
    #[error("Syntax error - can't find = in {}. Must be of the form: name=value", quote(.0))]
    MissingEquals(String),
    #[error("unterminated heredoc {0}")]
    UnterminatedHeredoc(String),
    #[error("internal lexing of heredoc produced inconsistent results: {0}")]
    InconsistentHeredoc(String),
    #[error(transparent)]
    Expand(#[from] ExpandError),
}

/// One instruction as parsed, before typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (`RUN`, `run`, `FORM`...).
    pub keyword: String,
    /// `--flag` / `--flag=value` words before the arguments, unquoted.
    pub flags: Vec<String>,
    /// The arguments. ENV/LABEL give triples `key, value, sep` (sep `=` for
    /// `k=v` words, empty for the old `KEY name value` form); HEALTHCHECK
    /// gives its type then the command.
    pub args: Vec<String>,
    /// The arguments were a JSON array (exec form).
    pub json: bool,
    /// ONBUILD's trigger instruction.
    pub sub: Option<Box<Node>>,
    /// Heredocs in order of appearance.
    pub heredocs: Vec<Heredoc>,
    /// The logical line (continuations joined).
    pub original: String,
    /// First and last physical line (1-based), heredoc bodies included.
    pub start_line: usize,
    pub end_line: usize,
}

impl Node {
    /// The keyword in lower case.
    pub fn command(&self) -> String {
        self.keyword.to_ascii_lowercase()
    }

    /// An S-expression rendering, the same shape as docker's parser dumps:
    /// `(copy ["--from=a"] "src" "dst")`.
    pub fn dump(&self) -> String {
        let mut s = self.command();
        if !self.flags.is_empty() {
            s.push_str(" [");
            let quoted: Vec<String> = self.flags.iter().map(|f| quote(f)).collect();
            s.push_str(&quoted.join(" "));
            s.push(']');
        }
        if let Some(sub) = &self.sub {
            s.push_str(" (");
            s.push_str(&sub.dump());
            s.push(')');
        }
        for a in &self.args {
            s.push(' ');
            s.push_str(&quote(a));
        }
        s
    }
}

/// Quotes a string the way Go's `%q` does (for [`Node::dump`]).
pub use berth_engine::duration::quote;

/// The whole file as untyped nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ast {
    pub directives: Directives,
    pub nodes: Vec<Node>,
}

/// Parses a Containerfile into untyped nodes (docker's parser level).
pub fn parse_ast(text: &str, file_name: &str) -> Result<Ast, ParseError> {
    let mut lx = Lexer::new(text);
    let mut nodes = Vec::new();
    loop {
        let line = match lx.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err((n, msg)) => return Err(ParseError::new(file_name, n, msg)),
        };
        let fail = |e: SyntaxError| ParseError::new(file_name, line.start, e);
        let mut node = node_from_line(&line.text, lx.escape()).map_err(fail)?;
        if can_contain_heredoc(&node) && line.text.contains("<<") {
            let docs = heredocs_from_line(&line.text).map_err(fail)?;
            for mut doc in docs {
                match lx.heredoc_body(&doc.name, doc.chomp) {
                    Some(body) => doc.content = body,
                    None => return Err(fail(SyntaxError::UnterminatedHeredoc(doc.name))),
                }
                node.heredocs.push(doc);
            }
        }
        node.start_line = line.start;
        node.end_line = lx.line();
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ParseError::new(
            file_name,
            lx.line().max(1),
            "file with no instructions",
        ));
    }
    Ok(Ast {
        directives: lx.directives().clone(),
        nodes,
    })
}

fn can_contain_heredoc(node: &Node) -> bool {
    let n = match &node.sub {
        Some(sub) if node.command() == "onbuild" => sub,
        _ => node,
    };
    matches!(n.command().as_str(), "add" | "copy" | "run") && !n.json
}

fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Splits one logical line into a node (no line numbers, no heredocs).
pub(crate) fn node_from_line(line: &str, escape: char) -> Result<Node, SyntaxError> {
    node_at(line, escape, false)
}

/// A node, or the trigger of an ONBUILD (`in_onbuild`): a trigger that is
/// itself an ONBUILD is refused later (a chain), so its own trigger is not
/// parsed: `ONBUILD ONBUILD ONBUILD ...` cannot nest without end.
fn node_at(line: &str, escape: char, in_onbuild: bool) -> Result<Node, SyntaxError> {
    let trimmed = line.trim();
    let (keyword, rest) = match trimmed.find(is_blank) {
        Some(i) => (&trimmed[..i], trimmed[i..].trim_start_matches(is_blank)),
        None => (trimmed, ""),
    };
    let (args, flags) = if rest.is_empty() {
        (String::new(), Vec::new())
    } else {
        let (rest, flags) = extract_flags(rest, escape);
        (rest.trim().to_string(), flags)
    };
    let mut node = Node {
        keyword: keyword.to_string(),
        flags,
        args: Vec::new(),
        json: false,
        sub: None,
        heredocs: Vec::new(),
        original: line.to_string(),
        start_line: 0,
        end_line: 0,
    };
    let rest = args.as_str();
    match node.command().as_str() {
        "add" | "copy" | "volume" => {
            (node.args, node.json) = maybe_json_to_list(rest)?;
        }
        "cmd" | "entrypoint" | "run" | "shell" => {
            (node.args, node.json) = maybe_json(rest)?;
        }
        "arg" => node.args = split_words(rest, escape),
        "env" => node.args = name_val(rest, "ENV", escape)?,
        "label" => node.args = name_val(rest, "LABEL", escape)?,
        "expose" | "from" => node.args = whitespace_split(rest),
        "healthcheck" => (node.args, node.json) = health_config(rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest.is_empty() => {
            node.args = vec![rest.to_string()];
        }
        "onbuild" if !rest.is_empty() && !in_onbuild => {
            node.sub = Some(Box::new(node_at(rest, escape, true)?));
        }
        _ => {}
    }
    Ok(node)
}

/// Takes the leading `--flag` words off `line`; returns the rest and the
/// flags (quotes and escapes removed). A lone `--` ends the flags.
fn extract_flags(line: &str, escape: char) -> (&str, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let n = chars.len();
    let at = |i: usize| chars.get(i).map_or(line.len(), |&(b, _)| b);
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut buf = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= n {
        let mut ch = chars.get(pos).map_or('\0', |&(_, c)| c);
        if phase == Phase::Spaces {
            if pos == n {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            if ch != '-' || pos + 1 == n || chars[pos + 1].1 != '-' {
                return (&line[at(pos)..], words);
            }
            phase = Phase::Word;
        }
        if pos == n {
            if buf != "--" && (blank_ok || !buf.is_empty()) {
                words.push(buf);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if buf == "--" {
                    return (&line[at(pos)..], words);
                }
                if blank_ok || !buf.is_empty() {
                    words.push(std::mem::take(&mut buf));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == escape {
                if pos + 1 == n {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = chars[pos].1;
            }
            buf.push(ch);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == escape {
            if pos + 1 == n {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = chars[pos].1;
        }
        buf.push(ch);
        pos += 1;
    }
    ("", words)
}

/// Splits on runs of blanks (no quote handling), as docker does for FROM,
/// EXPOSE and the shell form of ADD/COPY/VOLUME.
fn whitespace_split(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split(is_blank)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

enum JsonError {
    NotArray,
    NotStrings,
}

fn parse_json(rest: &str) -> Result<Vec<String>, JsonError> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Err(JsonError::NotArray);
    }
    let values: Vec<serde_json::Value> =
        serde_json::from_str(rest).map_err(|_| JsonError::NotArray)?;
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(JsonError::NotStrings),
        })
        .collect()
}

/// Exec form if `rest` is a JSON array of strings, otherwise the whole rest
/// as one shell-form argument. Invalid JSON falls back to shell form; a
/// valid array holding non-strings is an error.
fn maybe_json(rest: &str) -> Result<(Vec<String>, bool), SyntaxError> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_json(rest) {
        Ok(v) => Ok((v, true)),
        Err(JsonError::NotStrings) => Err(SyntaxError::NotStrings),
        Err(JsonError::NotArray) => Ok((vec![rest.to_string()], false)),
    }
}

/// Like [`maybe_json`], but the shell form is split on whitespace.
fn maybe_json_to_list(rest: &str) -> Result<(Vec<String>, bool), SyntaxError> {
    match parse_json(rest) {
        Ok(v) => Ok((v, true)),
        Err(JsonError::NotStrings) => Err(SyntaxError::NotStrings),
        Err(JsonError::NotArray) => Ok((whitespace_split(rest), false)),
    }
}

/// HEALTHCHECK: the first word (NONE, CMD...) then the command, JSON or not.
fn health_config(rest: &str) -> Result<(Vec<String>, bool), SyntaxError> {
    let sep = rest
        .bytes()
        .position(|b| b.is_ascii_whitespace() || b == 0x0b)
        .unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let (typ, cmd) = rest.split_at(sep);
    let (args, json) = maybe_json(cmd.trim_start())?;
    let mut all = vec![typ.to_string()];
    all.extend(args);
    Ok((all, json))
}

/// Splits into words on unquoted whitespace, keeping quotes and escapes in
/// the words (they are removed later, by expansion).
pub(crate) fn split_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let n = chars.len();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut buf = String::new();
    let mut pos = 0;
    while pos <= n {
        let mut ch = chars.get(pos).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if pos == n {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if pos == n {
            if blank_ok || !buf.is_empty() {
                words.push(std::mem::take(&mut buf));
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !buf.is_empty() {
                    words.push(std::mem::take(&mut buf));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == n {
                    pos += 1;
                    continue;
                }
                buf.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            buf.push(ch);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == n {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            buf.push(ch);
            pos += 1;
            ch = chars[pos];
        }
        buf.push(ch);
        pos += 1;
    }
    words
}

/// ENV/LABEL: `k=v k2=v2` words, or the old `KEY name value` form.
fn name_val(rest: &str, key: &'static str, escape: char) -> Result<Vec<String>, SyntaxError> {
    let words = split_words(rest, escape);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    if !words[0].contains('=') {
        let Some(i) = rest.find(is_blank) else {
            return Err(SyntaxError::TwoArguments(key));
        };
        let value = rest[i..].trim_start_matches(is_blank);
        return Ok(vec![
            rest[..i].to_string(),
            value.to_string(),
            String::new(),
        ]);
    }
    let mut out = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(SyntaxError::MissingEquals(w));
        };
        out.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(out)
}

/// Finds the heredocs a line introduces (`<<EOF`, `<<-EOF`, `3<<"EOF"`).
fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, SyntaxError> {
    let lx = ShellLexer {
        raw_quotes: true,
        raw_escapes: true,
        skip_unset: true,
        ..ShellLexer::new('\\')
    };
    let words = lx.words(line, &|_| None).unwrap_or_default();
    let mut docs = Vec::new();
    for w in words {
        if let Some(h) = parse_heredoc(&w)? {
            docs.push(h);
        }
    }
    Ok(docs)
}

/// Recognises one heredoc word: `[digits]<<[-][blanks]WORD`, the word
/// holding no `<`. `Ok(None)` when `word` is not a heredoc.
pub fn parse_heredoc(word: &str) -> Result<Option<Heredoc>, SyntaxError> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd = if digits > 0 {
        word[..digits].parse().ok()
    } else {
        None
    };
    let mut lx = ShellLexer {
        skip_unset: true,
        ..ShellLexer::new('\\')
    };
    let words = lx.words(rest, &|_| None)?;
    if words.len() != 1 {
        return Ok(None);
    }
    lx.raw_quotes = true;
    let raw = lx.words(rest, &|_| None)?;
    if raw.len() != 1 {
        return Err(SyntaxError::InconsistentHeredoc(rest.to_string()));
    }
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    Ok(Some(Heredoc {
        expand: quotes(&words[0]) == quotes(&raw[0]),
        name: words.into_iter().next().unwrap_or_default(),
        fd,
        chomp,
        content: String::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(line: &str) -> Node {
        node_from_line(line, '\\').unwrap()
    }

    fn dump(text: &str) -> Vec<String> {
        parse_ast(text, "Containerfile")
            .unwrap()
            .nodes
            .iter()
            .map(Node::dump)
            .collect()
    }

    #[test]
    fn flags() {
        let n = node("COPY --from=build --chown=\"a b\" --link src dst");
        assert_eq!(n.flags, ["--from=build", "--chown=a b", "--link"]);
        assert_eq!(n.args, ["src", "dst"]);
        let n = node("COPY --doit=true -- --notaflag /tmp/");
        assert_eq!(n.flags, ["--doit=true"]);
        assert_eq!(n.args, ["--notaflag", "/tmp/"]);
        let n = node("RUN --mount=type=cache,target=/c --mount=type=bind,from=x echo hi");
        assert_eq!(n.flags.len(), 2);
        assert_eq!(n.args, ["echo hi"]);
        assert!(!n.json);
    }

    #[test]
    fn json_and_shell_forms() {
        let n = node("CMD [\"a\", \"b c\"]");
        assert!(n.json);
        assert_eq!(n.args, ["a", "b c"]);
        let n = node("CMD ['a']");
        assert!(!n.json);
        assert_eq!(n.args, ["['a']"]);
        let n = node("CMD [\"a\"");
        assert_eq!(n.args, ["[\"a\""]);
        assert_eq!(
            node_from_line("CMD [\"a\", [\"b\"]]", '\\').unwrap_err(),
            SyntaxError::NotStrings
        );
        let n = node("COPY [\"a b\", \"/c\"]");
        assert_eq!(n.args, ["a b", "/c"]);
        let n = node("VOLUME /a   /b");
        assert_eq!(n.args, ["/a", "/b"]);
    }

    #[test]
    fn env_and_label() {
        assert_eq!(node("ENV a b c").args, ["a", "b c", ""]);
        assert_eq!(
            node("ENV a=b c=\"d e\"").args,
            ["a", "b", "=", "c", "\"d e\"", "="]
        );
        assert_eq!(
            node_from_line("ENV a", '\\').unwrap_err().to_string(),
            "ENV must have two arguments"
        );
        assert_eq!(
            node_from_line("LABEL a=b c", '\\').unwrap_err().to_string(),
            "Syntax error - can't find = in \"c\". Must be of the form: name=value"
        );
        assert_eq!(node("ARG a b=c d=\"e f\"").args, ["a", "b=c", "d=\"e f\""]);
    }

    #[test]
    fn healthcheck_and_onbuild() {
        assert_eq!(node("HEALTHCHECK NONE").args, ["NONE"]);
        let n = node("HEALTHCHECK --retries=3 CMD [\"x\"]");
        assert_eq!(
            (n.args.clone(), n.json),
            (vec!["CMD".to_string(), "x".to_string()], true)
        );
        let n = node("ONBUILD RUN echo hi");
        assert_eq!(n.dump(), "onbuild (run \"echo hi\")");
    }

    #[test]
    fn heredocs() {
        let text = "FROM a\nRUN <<EOF cat <<-\"END\"\nhello $X\nEOF\n\tbody\n\tEND\nCOPY <<EOF /dest\ncontent\nEOF\n";
        let ast = parse_ast(text, "Containerfile").unwrap();
        let run = &ast.nodes[1];
        assert_eq!(run.heredocs.len(), 2);
        assert_eq!(run.heredocs[0].name, "EOF");
        assert!(run.heredocs[0].expand && !run.heredocs[0].chomp);
        assert_eq!(run.heredocs[0].content, "hello $X\n");
        assert_eq!(run.heredocs[1].name, "END");
        assert!(!run.heredocs[1].expand && run.heredocs[1].chomp);
        assert_eq!(run.heredocs[1].content, "\tbody\n");
        assert_eq!((run.start_line, run.end_line), (2, 6));
        let copy = &ast.nodes[2];
        assert_eq!(copy.args, ["<<EOF", "/dest"]);
        assert_eq!(copy.heredocs[0].content, "content\n");
        assert_eq!(copy.start_line, 7);
    }

    #[test]
    fn heredoc_words() {
        let h = parse_heredoc("3<<'E O'").unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.fd, h.expand), ("E O", Some(3), false));
        let h = parse_heredoc("<<'EOF'").unwrap().unwrap();
        assert!(!h.expand);
        let h = parse_heredoc("3<<EOF").unwrap().unwrap();
        assert_eq!(h.fd, Some(3));
        assert_eq!(parse_heredoc("<<").unwrap(), None);
        assert_eq!(parse_heredoc("a<<b").unwrap(), None);
    }

    #[test]
    fn unterminated_heredoc() {
        let e = parse_ast("FROM a\n\nRUN <<EOF\nx\n", "Containerfile").unwrap_err();
        assert_eq!(e.to_string(), "Containerfile:3: unterminated heredoc EOF");
    }

    #[test]
    fn dumps() {
        assert_eq!(
            dump("FROM a AS b\nCOPY --from=b [\"x\", \"y\"] \nENV k=v"),
            [
                "from \"a\" \"AS\" \"b\"",
                "copy [\"--from=b\"] \"x\" \"y\"",
                "env \"k\" \"v\" \"=\""
            ]
        );
        assert_eq!(quote("a\u{0}\"\\"), "\"a\\x00\\\"\\\\\"");
    }

    #[test]
    fn empty_file() {
        let e = parse_ast("# only\n\n", "Dockerfile").unwrap_err();
        assert_eq!(e.to_string(), "Dockerfile:2: file with no instructions");
    }
}
