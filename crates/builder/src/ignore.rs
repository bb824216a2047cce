//! `.containerignore` / `.dockerignore` matching, as docker and buildah do it.
//!
//! The file: one pattern a line; a line starting with `#` is a comment;
//! blank lines are skipped; surrounding whitespace is trimmed; `!` makes an
//! exception (re-includes); patterns are cleaned like Go's `filepath.Clean`
//! (`./a//b/` is `a/b`) and a leading `/` is dropped.
//!
//! A pattern matches a path when it matches the path itself or one of its
//! parent directories, so excluding a directory excludes what is under it.
//! The last pattern that matches decides. In a pattern, `*` is any run of
//! characters but `/`, `?` one character but `/`, `[...]` a class
//! (`[^...]` negated), `**` any number of directories, `\` escapes.
//!
//! Docker's matcher takes shortcuts for some pattern shapes, and they show:
//! `foo**` matches every path starting with `foo`, and `**x` (nothing
//! special after the `**`) every path ending in `x`. They are kept, so a
//! context is filtered the same way.

/// The patterns of an ignore file, in order.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// As cleaned, without the `!`.
    text: String,
    exception: bool,
    kind: Kind,
}

/// Docker's matching strategies, chosen from the pattern's shape.
#[derive(Debug, Clone)]
enum Kind {
    /// No special characters: the path must be equal.
    Exact,
    /// Literal text then a final `**`: the path must start with the text.
    Prefix(String),
    /// `**` then literal text: the path must end with the text (or, for
    /// `**/x`, be `x`).
    Suffix(String),
    Tokens(Vec<Tok>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `**` (and a `/` after it): nothing, or anything ending in `/`.
    Dirs,
    /// `**` at the end: anything.
    Rest,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A pattern that cannot be matched with, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("syntax error in pattern")]
    Syntax,
    #[error("illegal exclusion pattern: \"!\"")]
    BareExclusion,
}

/// An ignore file's pattern that cannot be used, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct IgnoreError {
    pub line: usize,
    pub source: PatternError,
}

impl Ignore {
    /// Reads an ignore file. An error names the line at fault.
    pub fn parse(text: &str) -> Result<Ignore, IgnoreError> {
        let mut patterns = Vec::new();
        for (line, text) in read_lines(text) {
            let p = Pattern::new(&text).map_err(|source| IgnoreError { line, source })?;
            patterns.push(p);
        }
        Ok(Ignore { patterns })
    }

    /// Builds a matcher from patterns already read (`!` for exceptions).
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Ignore, PatternError> {
        let patterns = patterns
            .iter()
            .map(|p| p.as_ref().trim())
            .filter(|p| !p.is_empty())
            .map(Pattern::new)
            .collect::<Result<_, _>>()?;
        Ok(Ignore { patterns })
    }

    /// The patterns as cleaned, exceptions with their `!`.
    pub fn patterns(&self) -> Vec<String> {
        let bang = |p: &Pattern| if p.exception { "!" } else { "" };
        self.patterns
            .iter()
            .map(|p| format!("{}{}", bang(p), p.text))
            .collect()
    }

    /// Whether any pattern is an exception.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    /// The context root itself never is.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let path = path.trim_start_matches('/');
        if path.is_empty() || path == "." {
            return false;
        }
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut excluded = false;
        for p in &self.patterns {
            // Only a pattern that could change the outcome is tried.
            if p.exception != excluded {
                continue;
            }
            if p.matches(path) || parents.iter().any(|d| p.matches(d)) {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether a walk may skip directory `dir` without looking inside:
    /// it is excluded and no exception could re-include anything under it.
    pub fn may_skip_dir(&self, dir: &str) -> bool {
        if !self.is_excluded(dir) {
            return false;
        }
        let dir = clean(dir);
        let prefix = format!("{}/", dir.trim_start_matches('/'));
        !self
            .patterns
            .iter()
            .any(|p| p.exception && p.may_match_under(&prefix))
    }

    /// Whether COPY looks inside directory `dir` that the patterns exclude:
    /// only when an exception names a path under it by its literal start
    /// (buildah's rule since containers/buildah#3486: `!subdir1/sub3*` opens
    /// `subdir1`, while `!*/sub1*` opens no excluded directory). Stricter than
    /// [`Ignore::may_skip_dir`], which never skips what a pattern could match.
    pub fn opens_excluded_dir(&self, dir: &str) -> bool {
        let dir = clean(dir);
        let prefix = format!("{}/", dir.trim_start_matches('/'));
        self.patterns
            .iter()
            .any(|p| p.exception && p.literal_start().starts_with(&prefix))
    }
}

/// The pattern lines of an ignore file with their line numbers: comments
/// and blank lines dropped, leading `/` removed, paths cleaned.
pub fn read_lines(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        // Only a `#` in the very first column starts a comment.
        if raw.starts_with('#') {
            continue;
        }
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (bang, body) = match line.strip_prefix('!') {
            Some(rest) => ("!", rest.trim()),
            None => ("", line),
        };
        let mut body = if body.is_empty() {
            String::new()
        } else {
            clean(body)
        };
        if body.len() > 1 && body.starts_with('/') {
            body.remove(0);
        }
        out.push((i + 1, format!("{bang}{body}")));
    }
    out
}

/// Go's `filepath.Clean` for `/`-separated paths: no empty or `.`
/// elements, `..` resolved where possible, no trailing `/`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

impl Pattern {
    fn new(line: &str) -> Result<Pattern, PatternError> {
        let cleaned = clean(line);
        let (exception, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err(PatternError::BareExclusion),
            Some(rest) => (true, rest.to_string()),
            None => (false, cleaned),
        };
        let kind = compile(&text)?;
        Ok(Pattern {
            text,
            exception,
            kind,
        })
    }

    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix(p) => path.starts_with(p.as_str()),
            Kind::Suffix(s) => {
                path.ends_with(s.as_str()) || s.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Tokens(toks) => {
                let chars: Vec<char> = path.chars().collect();
                matches(toks, &chars)
            }
        }
    }

    /// The pattern up to its first special character.
    fn literal_start(&self) -> &str {
        let end = self
            .text
            .find(['*', '?', '[', '\\'])
            .unwrap_or(self.text.len());
        &self.text[..end]
    }

    /// Whether the pattern matches some path starting with `prefix`
    /// (which ends in `/`).
    fn may_match_under(&self, prefix: &str) -> bool {
        match &self.kind {
            Kind::Exact => self.text.starts_with(prefix),
            Kind::Prefix(p) => p.starts_with(prefix) || prefix.starts_with(p.as_str()),
            Kind::Suffix(_) => true,
            Kind::Tokens(toks) => {
                let chars: Vec<char> = prefix.chars().collect();
                extends(toks, &chars)
            }
        }
    }
}

/// Docker's choice of strategy, refined as the pattern is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    Exact,
    Prefix,
    Suffix,
    Tokens,
}

/// Picks the matching strategy the way docker's matcher does, and turns
/// the pattern into tokens for the general case.
fn compile(p: &str) -> Result<Kind, PatternError> {
    use Detected as D;
    let chars: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut det = D::Exact;
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    toks.push(Tok::Rest);
                    det = if det == D::Exact {
                        D::Prefix
                    } else {
                        D::Tokens
                    };
                } else {
                    toks.push(Tok::Dirs);
                    det = D::Tokens;
                }
                if start == 0 {
                    det = D::Suffix;
                }
            }
            '*' | '?' => {
                toks.push(if c == '*' { Tok::Star } else { Tok::One });
                det = D::Tokens;
            }
            '\\' if i < chars.len() => {
                toks.push(Tok::Lit(chars[i]));
                i += 1;
                det = D::Tokens;
            }
            '[' => {
                let (class, next) = class(&chars, i).ok_or(PatternError::Syntax)?;
                toks.push(class);
                i = next;
                det = D::Tokens;
            }
            ']' => {
                toks.push(Tok::Lit(c));
                det = D::Tokens;
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    Ok(match det {
        D::Exact => Kind::Exact,
        D::Prefix => Kind::Prefix(p[..p.len() - 2].to_string()),
        D::Suffix => Kind::Suffix(p[2..].to_string()),
        D::Tokens => Kind::Tokens(toks),
    })
}

/// Parses a `[...]` class whose body starts at `i`; returns it and the
/// index after `]`. `None` when unterminated or empty.
fn class(chars: &[char], mut i: usize) -> Option<(Tok, usize)> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let mut lo = *chars.get(i)?;
        if lo == ']' && !ranges.is_empty() {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        if lo == '\\' {
            i += 1;
            lo = *chars.get(i)?;
        }
        i += 1;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            hi = chars[i + 1];
            i += 2;
            if hi == '\\' {
                hi = *chars.get(i)?;
                i += 1;
            }
            if hi < lo {
                return None;
            }
        }
        ranges.push((lo, hi));
    }
}

fn one_matches(t: &Tok, c: char) -> bool {
    match t {
        Tok::Lit(l) => *l == c,
        Tok::One => c != '/',
        Tok::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
        _ => false,
    }
}

/// The tokens run as an automaton, one pass over the path: no recursion
/// and no backtracking, so that no pattern (a `.containerignore` comes with
/// the context, which may be anyone's) can exhaust the stack or the CPU.
struct Run<'t> {
    toks: &'t [Tok],
    /// `at[i]`: before token `i` (`at[len]`: all matched).
    at: Vec<bool>,
    /// `inside[i]`: within the `.*/` of a `**/` at `i`, its `/` not yet seen.
    inside: Vec<bool>,
    /// A trailing `**` was reached: whatever follows matches.
    rest: bool,
}

impl<'t> Run<'t> {
    fn new(toks: &'t [Tok]) -> Run<'t> {
        let mut r = Run {
            toks,
            at: vec![false; toks.len() + 1],
            inside: vec![false; toks.len() + 1],
            rest: false,
        };
        r.at[0] = true;
        r.close();
        r
    }

    /// Follows the tokens that can match nothing.
    fn close(&mut self) {
        for i in 0..self.toks.len() {
            if self.at[i] {
                match self.toks[i] {
                    Tok::Star | Tok::Dirs => self.at[i + 1] = true,
                    Tok::Rest => self.rest = true,
                    _ => {}
                }
            }
        }
    }

    /// Consumes `c`; false when nothing is left alive.
    fn step(&mut self, c: char) -> bool {
        let n = self.toks.len();
        let mut at = vec![false; n + 1];
        let mut inside = vec![false; n + 1];
        let mut alive = false;
        for (i, t) in self.toks.iter().enumerate() {
            if !(self.at[i] || self.inside[i] && *t == Tok::Dirs) {
                continue;
            }
            match t {
                Tok::Star if self.at[i] && c != '/' => at[i] = true,
                Tok::Star | Tok::Rest => continue,
                Tok::Dirs => {
                    inside[i] = true;
                    if c == '/' {
                        at[i + 1] = true;
                    }
                }
                t if one_matches(t, c) => at[i + 1] = true,
                _ => continue,
            }
            alive = true;
        }
        self.at = at;
        self.inside = inside;
        self.close();
        alive
    }
}

/// Whether the tokens match all of `s`.
fn matches(toks: &[Tok], s: &[char]) -> bool {
    let mut r = Run::new(toks);
    for &c in s {
        if r.rest {
            return true;
        }
        if !r.step(c) {
            return r.rest;
        }
    }
    r.rest || r.at[toks.len()]
}

/// Whether the tokens match some string that starts with `s`. Remaining
/// tokens once `s` is used up can always match something.
fn extends(toks: &[Tok], s: &[char]) -> bool {
    let mut r = Run::new(toks);
    for &c in s {
        if r.rest {
            return true;
        }
        if !r.step(c) {
            return r.rest;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> Ignore {
        Ignore::parse(text).unwrap()
    }

    /// The matcher as it was, recursive: the reference the automaton is
    /// checked against.
    fn ref_matches(toks: &[Tok], s: &[char]) -> bool {
        let Some((t, rest)) = toks.split_first() else {
            return s.is_empty();
        };
        match t {
            Tok::Rest => true,
            Tok::Star => {
                let run = s.iter().take_while(|&&c| c != '/').count();
                (0..=run).any(|n| ref_matches(rest, &s[n..]))
            }
            Tok::Dirs => {
                ref_matches(rest, s)
                    || (0..s.len()).any(|i| s[i] == '/' && ref_matches(rest, &s[i + 1..]))
            }
            _ => s.first().is_some_and(|&c| one_matches(t, c)) && ref_matches(rest, &s[1..]),
        }
    }

    fn ref_extends(toks: &[Tok], s: &[char]) -> bool {
        if s.is_empty() {
            return true;
        }
        let Some((t, rest)) = toks.split_first() else {
            return false;
        };
        match t {
            Tok::Rest | Tok::Dirs => true,
            Tok::Star => {
                let run = s.iter().take_while(|&&c| c != '/').count();
                run == s.len() || (0..=run).any(|n| ref_extends(rest, &s[n..]))
            }
            _ => one_matches(t, s[0]) && ref_extends(rest, &s[1..]),
        }
    }

    #[test]
    fn the_automaton_matches_as_the_recursive_matcher_did() {
        let patterns = [
            "a*b",
            "*",
            "**/x",
            "a/**/b",
            "a/**",
            "*/*",
            "?a*/b",
            "[ab]*/**/c?",
            "x**y",
            "a**/b*",
            "**/a/**/b",
            "*.o",
            "a?b*c",
            "[^a]*",
            "a\\*b",
            "**/",
            "*/**/*",
        ];
        let paths = [
            "",
            "a",
            "b",
            "ab",
            "axb",
            "a/b",
            "a/x/b",
            "a/x/y/b",
            "x",
            "d/x",
            "d/e/x",
            "a.o",
            "d/a.o",
            "ac",
            "abc",
            "aab/b",
            "b/a/b",
            "c/a/c/b",
            "xy",
            "x/y",
            "a/",
            "/",
            "//",
            "a//b",
            "ba/d/e/c1",
            "a*b",
            "ab/bc",
        ];
        for p in patterns {
            let Ok(Kind::Tokens(toks)) = compile(p) else {
                continue;
            };
            for path in paths {
                let s: Vec<char> = path.chars().collect();
                assert_eq!(
                    matches(&toks, &s),
                    ref_matches(&toks, &s),
                    "{p} on {path:?}"
                );
                let prefix = format!("{path}/");
                let s: Vec<char> = prefix.chars().collect();
                assert_eq!(
                    extends(&toks, &s),
                    ref_extends(&toks, &s),
                    "{p} under {prefix:?}"
                );
            }
        }
    }

    #[test]
    fn hostile_patterns_neither_overflow_nor_hang() {
        // A `**/` can match nothing: the recursion went one level deeper
        // for each of them.
        let deep = ig(&format!("x{}y\n", "**/".repeat(100_000)));
        assert!(deep.is_excluded("xy"));
        assert!(deep.is_excluded("x/a/b/y"));
        assert!(!deep.is_excluded("xz"));
        // Stars before a missing letter backtracked exponentially.
        let slow = ig(&format!("{}b\n", "*a".repeat(40)));
        let t = std::time::Instant::now();
        assert!(!slow.is_excluded(&"a".repeat(200)));
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn reading() {
        let text = "\u{feff}# comment\n\n  *.o  \n !keep.o\n/abs/path/\n./rel//x/../y\n  # not a comment\n!/a\n";
        let lines = read_lines(text);
        let pats: Vec<&str> = lines.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            pats,
            [
                "*.o",
                "!keep.o",
                "abs/path",
                "rel/y",
                "# not a comment",
                "!a"
            ]
        );
        assert_eq!(lines[0].0, 3);
        assert_eq!(ig(text).patterns(), pats);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("a//b/./c/"), "a/b/c");
        assert_eq!(clean("./"), ".");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn simple_and_directories() {
        let i = ig("node_modules\n*.log\nbuild/\n");
        assert!(i.is_excluded("node_modules"));
        assert!(i.is_excluded("node_modules/a/b.js"));
        assert!(i.is_excluded("x.log"));
        assert!(!i.is_excluded("sub/x.log"), "* does not cross /");
        assert!(i.is_excluded("build/out/bin"));
        assert!(!i.is_excluded("src/node_modules"));
        assert!(!i.is_excluded("buildx"));
        assert!(!i.is_excluded("."));
        assert!(!i.is_excluded(""));
        assert!(i.is_excluded("./node_modules/"));
    }

    #[test]
    fn wildcards() {
        let i = ig("a?c\n[xy]z\n[^0-9]q\ndocs/*/draft\n");
        assert!(i.is_excluded("abc"));
        assert!(!i.is_excluded("a/c"));
        assert!(!i.is_excluded("ac"));
        assert!(i.is_excluded("xz") && i.is_excluded("yz") && !i.is_excluded("zz"));
        assert!(i.is_excluded("aq") && !i.is_excluded("1q"));
        assert!(i.is_excluded("docs/en/draft/file"));
        assert!(!i.is_excluded("docs/en/sub/draft"));
        let i = ig("a\\*b\nd.t\n(x)\n");
        assert!(i.is_excluded("a*b") && !i.is_excluded("axb"));
        assert!(
            i.is_excluded("d.t") && !i.is_excluded("dxt"),
            ". is literal"
        );
        assert!(i.is_excluded("(x)"));
    }

    #[test]
    fn double_star() {
        let i = ig("**/*.tmp\n");
        assert!(i.is_excluded("a.tmp"));
        assert!(i.is_excluded("x/y/z/a.tmp"));
        let i = ig("src/**/test\n");
        assert!(i.is_excluded("src/test"));
        assert!(i.is_excluded("src/a/b/test/x"));
        assert!(!i.is_excluded("src/atest"));
        let i = ig("**\n!keep\n");
        assert!(i.is_excluded("anything/at/all"));
        assert!(!i.is_excluded("keep"));
        assert!(!i.is_excluded("keep/inside"));
    }

    #[test]
    fn docker_shortcuts() {
        // `**` at the end after literal text: a plain prefix.
        let i = ig("foo**\n");
        assert!(i.is_excluded("foobar/x") && i.is_excluded("foo"));
        // `**` then literal text: a plain suffix.
        let i = ig("**/vendor\n");
        assert!(i.is_excluded("vendor"));
        assert!(i.is_excluded("a/b/vendor/c"));
        let i = ig("**.bak\n");
        assert!(i.is_excluded("dir/x.bak"));
        // Once a wildcard follows, the general rules apply.
        let i = ig("**/*.c\n**/lib**\n");
        assert!(i.is_excluded("a/b.c") && i.is_excluded("b.c"));
        assert!(i.is_excluded("x/libfoo/y") && !i.is_excluded("xlib"));
    }

    #[test]
    fn exceptions_last_match_wins() {
        let i = ig("*.md\n!README.md\nREADME*.md\n!README-keep.md\n");
        assert!(i.is_excluded("CHANGES.md"));
        assert!(i.is_excluded("README.md"), "excluded again by README*.md");
        assert!(!i.is_excluded("README-keep.md"));
        let i = ig("docs\n!docs/keep\n");
        assert!(i.is_excluded("docs/other"));
        assert!(!i.is_excluded("docs/keep"));
        assert!(!i.is_excluded("docs/keep/deep"));
        assert!(i.is_excluded("docs"));
        assert!(i.has_exceptions());
    }

    #[test]
    fn skipping_directories() {
        let i = ig("docs\n!docs/keep\nvendor\ntmp\n!**/*.keep\n");
        assert!(!i.may_skip_dir("docs"), "docs/keep is re-included");
        assert!(i.is_excluded("docs/other"));
        assert!(!i.may_skip_dir("docs/other"), "x.keep files may be inside");
        assert!(!i.may_skip_dir("vendor"), "**/*.keep may match below");
        assert!(!i.may_skip_dir("src"), "not excluded");
        let i = ig("vendor\nbuild\n!build/keep\n!src/*.c\n");
        assert!(i.may_skip_dir("vendor"));
        assert!(!i.may_skip_dir("build"));
        let i = ig("a\n!*/b\n");
        assert!(
            !i.may_skip_dir("a"),
            "a wildcard exception can reach inside"
        );
        let i = ig("a\n!a\na/b\n");
        assert!(
            i.may_skip_dir("a/b"),
            "the exception covers only a, not a/b"
        );
        let i = ig("out\n!ou?/x\n!o[u]t2/y\n");
        assert!(!i.may_skip_dir("out"));
        // `out*` only re-includes `out` itself, which `out` excludes again.
        let i = ig("out\n!out*\nout\n");
        assert!(i.may_skip_dir("out"));
        // `out**` is a prefix match: it reaches inside.
        let i = ig("out\n!out**\nout\n");
        assert!(!i.may_skip_dir("out"));
    }

    /// Soundness, checked exhaustively on small cases: a directory that may
    /// be skipped has nothing re-included under it.
    #[test]
    fn skip_is_sound() {
        let pats = [
            "a", "!a/b", "a/*", "!*/b", "**/b", "!**/b", "a**", "!a?", "!a/**/c", "*", "!b*",
            "a/b", "![ab]/c",
        ];
        let names = ["a", "b", "c", "ab"];
        let mut paths = vec![String::new()];
        for _ in 0..3 {
            let next: Vec<String> = paths
                .iter()
                .flat_map(|p| names.iter().map(move |n| format!("{p}/{n}")))
                .collect();
            paths.extend(next);
        }
        let paths: Vec<&str> = paths.iter().map(|p| p.trim_start_matches('/')).collect();
        let mut skipped = 0;
        for (x, y, z) in (0..pats.len()).flat_map(|x| {
            (0..pats.len()).flat_map(move |y| (0..pats.len()).map(move |z| (x, y, z)))
        }) {
            let i = Ignore::from_patterns(&[pats[x], pats[y], pats[z]]).unwrap();
            for dir in paths.iter().filter(|d| !d.is_empty() && i.may_skip_dir(d)) {
                skipped += 1;
                let prefix = format!("{dir}/");
                for p in paths.iter().filter(|p| p.starts_with(&prefix)) {
                    assert!(
                        i.is_excluded(p),
                        "{:?}: skipped {dir} but {p}",
                        i.patterns()
                    );
                }
            }
        }
        assert!(skipped > 1000, "the check is not vacuous: {skipped}");
    }

    #[test]
    fn errors() {
        assert_eq!(
            Ignore::parse("a\n[oops\n").unwrap_err().to_string(),
            "line 2: syntax error in pattern"
        );
        assert_eq!(
            Ignore::parse("!\n").unwrap_err().to_string(),
            "line 1: illegal exclusion pattern: \"!\""
        );
        assert!(ig("a]b\n").is_excluded("a]b"));
        assert!(Ignore::parse("[]\n").is_err());
        assert!(Ignore::parse("[z-a]\n").is_err());
    }

    #[test]
    fn from_patterns() {
        let i = Ignore::from_patterns(&["*.o", " ", "!main.o"]).unwrap();
        assert!(i.is_excluded("a.o") && !i.is_excluded("main.o"));
        assert_eq!(i.patterns(), ["*.o", "!main.o"]);
    }
}
