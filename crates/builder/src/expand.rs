//! Shell-word variable expansion, the way the Dockerfile builder does it.
//!
//! Supported: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`,
//! `${VAR+word}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR#pat}`, `${VAR##pat}`,
//! `${VAR%pat}`, `${VAR%%pat}`, `${VAR/pat/repl}` and `${VAR//pat/repl}`;
//! single quotes (literal), double quotes (only `$`, `"` and the escape
//! character are special), and the escape character outside quotes.
//! Positional (`$1`) and special (`$@`, `$#`, ...) parameters are looked up
//! like any other name, so they are normally unset.
//!
//! [`expand`] produces one word (spaces kept, as for `ENV k=v` values);
//! [`expand_words`] splits the result on unquoted whitespace *after*
//! substitution, as for `EXPOSE`.

use std::fmt;

/// An expansion failure: the message only; the caller adds `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError(pub String);

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExpandError {}

/// The longest value one expansion may make, in bytes: 1 MiB, or the
/// length of the text expanded when that is longer (a long heredoc stays
/// whole). Neither Docker nor buildah has such a limit; without one, ARGs
/// that each double the one before (`ARG A1=${A0}${A0}`) grow to gigabytes
/// in a few lines. A value this long could not reach a RUN anyway: Linux
/// takes no single environment string over 128 KiB.
pub const MAX_VALUE: usize = 1 << 20;

/// The most one build's expansions may make, in bytes, all told: every
/// expanded argument and ARG value of every stage, and every stage's
/// starting environment. Each value under [`MAX_VALUE`] is not enough: a
/// line as short as `LABEL a=$A` copies its megabyte again.
pub const MAX_TOTAL: usize = 64 << 20;

/// What is left of [`MAX_TOTAL`] to a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    left: std::cell::Cell<usize>,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            left: std::cell::Cell::new(MAX_TOTAL),
        }
    }
}

impl Budget {
    /// Takes `bytes` made by an expansion off what is left.
    pub fn charge(&self, bytes: usize) -> Result<(), ExpandError> {
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.left.set(0);
                err(format!(
                    "variable expansions of the build come to more than {MAX_TOTAL} bytes"
                ))
            }
        }
    }
}

/// How deeply `${...}` substitutions may nest (`${A:-${B:-...}}`): far more
/// than any real Containerfile needs, few enough that a hostile one cannot
/// exhaust the stack.
pub const MAX_NESTING: usize = 100;

fn err<T>(msg: impl Into<String>) -> Result<T, ExpandError> {
    Err(ExpandError(msg.into()))
}

/// Expands `word` as a single word: quotes are removed, variables replaced,
/// whitespace kept.
pub fn expand(
    word: &str,
    env: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<String, ExpandError> {
    Lexer::new(escape).word(word, env)
}

/// Expands `word` and splits the result into words on whitespace that was
/// neither quoted nor escaped (whitespace coming from a variable's value does
/// split, as in a shell).
pub fn expand_words(
    word: &str,
    env: &dyn Fn(&str) -> Option<String>,
    escape: char,
) -> Result<Vec<String>, ExpandError> {
    Lexer::new(escape).words(word, env)
}

/// The configurable lexer behind [`expand`] and [`expand_words`].
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    /// The escape character (`\` or `` ` ``).
    pub escape: char,
    /// Keep the quote characters in the output (quotes still group words).
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Treat quotes as ordinary characters.
    pub skip_quotes: bool,
    /// Leave references to unset variables as written instead of expanding
    /// them to nothing.
    pub skip_unset: bool,
}

impl Lexer {
    pub fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_quotes: false,
            skip_unset: false,
        }
    }

    /// One word, whitespace kept.
    pub fn word(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, ExpandError> {
        Ok(self.run(word, env)?.0)
    }

    /// Split into words after expansion.
    pub fn words(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, ExpandError> {
        Ok(self.run(word, env)?.1)
    }

    fn run(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let mut st = State {
            opts: *self,
            chars: word.chars().collect(),
            pos: 0,
            env,
            raw_escapes: self.raw_escapes,
            depth: 0,
            limit: MAX_VALUE.max(word.len()),
        };
        st.until(None, self.raw_escapes)
    }
}

/// Collects words: whitespace that comes from unquoted text or variable
/// values separates words; quoted or escaped characters never do.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }

    fn add_raw_char(&mut self, c: char) {
        self.buf.push(c);
        self.in_word = true;
    }

    fn add_str(&mut self, s: &str) {
        for c in s.chars() {
            self.add_char(c);
        }
    }

    fn add_raw_str(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

struct State<'a> {
    opts: Lexer,
    chars: Vec<char>,
    pos: usize,
    env: &'a dyn Fn(&str) -> Option<String>,
    raw_escapes: bool,
    /// `${` substitutions open around the current position.
    depth: usize,
    /// The longest value the expansion may make.
    limit: usize,
}

impl State<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// Refuses a value grown past the limit.
    fn check(&self, len: usize) -> Result<(), ExpandError> {
        if len > self.limit {
            return err(too_long(self.limit));
        }
        Ok(())
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes up to (and consuming) `stop`, or to the end when `stop` is
    /// `None`.
    fn until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.until_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn until_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), ExpandError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match c {
                '$' => {
                    let v = self.dollar()?;
                    self.check(result.len() + v.len())?;
                    result.push_str(&v);
                    words.add_str(&v);
                }
                '<' => {
                    let v = self.possible_heredoc();
                    result.push_str(&v);
                    words.add_raw_str(&v);
                }
                '\'' if !self.opts.skip_quotes => {
                    let v = self.single_quote()?;
                    result.push_str(&v);
                    words.add_raw_str(&v);
                }
                '"' if !self.opts.skip_quotes => {
                    let v = self.double_quote()?;
                    self.check(result.len() + v.len())?;
                    result.push_str(&v);
                    words.add_raw_str(&v);
                }
                _ => {
                    self.pos += 1;
                    if c == self.opts.escape {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        // The escape character escapes anything; at the very
                        // end it is dropped.
                        let Some(e) = self.next() else { break };
                        words.add_raw_char(e);
                        result.push(e);
                    } else {
                        words.add_char(c);
                        result.push(c);
                    }
                }
            }
        }
        if let Some(s) = stop {
            return err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, ExpandError> {
        let mut out = String::new();
        let open = self.next().unwrap_or('\'');
        if self.opts.raw_quotes {
            out.push(open);
        }
        loop {
            match self.next() {
                None => {
                    return err(
                        "unexpected end of statement while looking for matching single-quote",
                    );
                }
                Some('\'') => {
                    if self.opts.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, ExpandError> {
        let mut out = String::new();
        let open = self.next().unwrap_or('"');
        if self.opts.raw_quotes {
            out.push(open);
        }
        loop {
            match self.peek() {
                None => {
                    return err(
                        "unexpected end of statement while looking for matching double-quote",
                    );
                }
                Some('"') => {
                    self.pos += 1;
                    if self.opts.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    self.check(out.len() + v.len())?;
                    out.push_str(&v);
                }
                Some(c) => {
                    self.pos += 1;
                    if c == self.opts.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // An escape right before the end is dropped; the
                            // missing quote is reported on the next turn.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.opts.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
                            // Anything else keeps the escape character.
                            Some(_) => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    fn possible_heredoc(&mut self) -> String {
        self.pos += 1;
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.pos += 1;
        let mut out = String::from("<<");
        while let Some(c @ (' ' | '\t' | '\r')) = self.peek() {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn lookup(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return c.to_string();
            }
            if !(c.is_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.pos += 1; // '$'
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.opts.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1; // '{'
        if self.depth >= MAX_NESTING {
            return err(format!(
                "variable substitutions nested more than {MAX_NESTING} deep"
            ));
        }
        self.depth += 1;
        let r = self.braced();
        self.depth -= 1;
        r
    }

    /// `${...}`, after the brace.
    fn braced(&mut self) -> Result<String, ExpandError> {
        match self.peek() {
            None => return err("syntax error: missing '}'"),
            Some('{' | '}' | ':') => return err("syntax error: bad substitution"),
            _ => {}
        }
        let name = self.name();
        let first = self.next();
        match first {
            Some('}') => Ok(match self.lookup(&name) {
                Some(v) => v,
                None if self.opts.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(c @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let mut modifier = c.to_string();
                let mut op = c;
                let null_is_unset = c == ':';
                if null_is_unset {
                    match self.next() {
                        Some(o) => {
                            modifier.push(o);
                            op = o;
                        }
                        None => return err("syntax error: missing '}'"),
                    }
                }
                let pattern_op = op == '#' || op == '%';
                if null_is_unset && pattern_op {
                    return err(format!("unsupported modifier ({modifier}) in substitution"));
                }
                if !matches!(op, '+' | '-' | '?' | '#' | '%') {
                    return err(format!("unsupported modifier ({modifier}) in substitution"));
                }
                let word = match self.until(Some('}'), pattern_op) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return err("syntax error: missing '}'");
                        }
                        return Err(e);
                    }
                };
                let value = self.lookup(&name);
                if self.opts.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{modifier}{word}}}"));
                }
                let empty = value
                    .as_deref()
                    .is_none_or(|v| null_is_unset && v.is_empty());
                match op {
                    '-' => Ok(if empty {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    '+' => Ok(if empty { String::new() } else { word }),
                    '?' => match value {
                        None => err(format!(
                            "{name}: {}",
                            if word.is_empty() {
                                "is not allowed to be unset"
                            } else {
                                &word
                            }
                        )),
                        Some(v) if null_is_unset && v.is_empty() => err(format!(
                            "{name}: {}",
                            if word.is_empty() {
                                "is not allowed to be empty"
                            } else {
                                &word
                            }
                        )),
                        Some(v) => Ok(v),
                    },
                    _ => {
                        let value = value.unwrap_or_default();
                        let (greedy, pat) = match word.strip_prefix(op) {
                            Some(rest) => (true, rest),
                            None => (false, word.as_str()),
                        };
                        let pat = Pattern::compile(pat)?;
                        Ok(if op == '#' {
                            trim_prefix(&pat, &value, greedy)
                        } else {
                            trim_suffix(&pat, &value, greedy)
                        })
                    }
                }
            }
            Some('/') => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern = match self.until(Some('/'), true) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return err("syntax error: missing '/' in ${}");
                        }
                        return Err(e);
                    }
                };
                let replacement = match self.until(Some('}'), true) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        if self.peek().is_none() {
                            return err("syntax error: missing '}'");
                        }
                        return Err(e);
                    }
                };
                let value = self.lookup(&name);
                if self.opts.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                }
                let pat = Pattern::compile(&pattern)?;
                replace(
                    &pat,
                    &value.unwrap_or_default(),
                    &replacement,
                    all,
                    self.limit,
                )
            }
            other => err(format!(
                "unsupported modifier ({}) in substitution",
                other.map(String::from).unwrap_or_default()
            )),
        }
    }
}

/// A shell wildcard pattern: `*` any string, `?` any character; `\*`, `\?`
/// and `\\` are literal; `\}` and `\/` stand for `}` and `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Star,
    Any,
    Lit(char),
}

#[derive(Debug, Clone)]
struct Pattern(Vec<Tok>);

impl Pattern {
    fn compile(p: &str) -> Result<Pattern, ExpandError> {
        let mut toks = Vec::new();
        let mut it = p.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match it.next() {
                    Some(n @ ('}' | '/' | '*' | '?' | '\\')) => toks.push(Tok::Lit(n)),
                    Some(n) => {
                        return err(format!(
                            "invalid pattern ({p}) in substitution: invalid escape '\\{n}'"
                        ));
                    }
                    None => {
                        return err(format!(
                            "invalid pattern ({p}) in substitution: trailing escape"
                        ));
                    }
                },
                _ => toks.push(Tok::Lit(c)),
            }
        }
        Ok(Pattern(toks))
    }

    fn reversed(&self) -> Pattern {
        Pattern(self.0.iter().rev().cloned().collect())
    }

    /// Length of the shortest (or longest) prefix of `s` the pattern matches.
    /// The pattern runs as an automaton over its positions, one pass over
    /// `s`: no recursion and no backtracking, whatever the pattern.
    fn prefix_len(&self, s: &[char], greedy: bool) -> Option<usize> {
        let toks = &self.0;
        let m = toks.len();
        // A `*` can match nothing: whoever is before it is also after it.
        let close = |set: &mut Vec<bool>| {
            for i in 0..m {
                if set[i] && toks[i] == Tok::Star {
                    set[i + 1] = true;
                }
            }
        };
        let mut set = vec![false; m + 1];
        set[0] = true;
        close(&mut set);
        let mut found = None;
        let mut next = vec![false; m + 1];
        for n in 0..=s.len() {
            if set[m] {
                found = Some(n);
                if !greedy {
                    break;
                }
            }
            let Some(&c) = s.get(n) else { break };
            next.fill(false);
            let mut any = false;
            for (i, t) in toks.iter().enumerate() {
                if !set[i] {
                    continue;
                }
                match t {
                    Tok::Star => next[i] = true,
                    Tok::Any => next[i + 1] = true,
                    Tok::Lit(l) if *l == c => next[i + 1] = true,
                    Tok::Lit(_) => continue,
                }
                any = true;
            }
            if !any {
                break;
            }
            close(&mut next);
            std::mem::swap(&mut set, &mut next);
        }
        found
    }

    /// The leftmost match in `s`, the longest there: `(start, end)`. One pass
    /// over `s` with every start at once: each position of the pattern keeps
    /// the earliest start that reached it, and no start later than a match
    /// found is taken up.
    fn find(&self, s: &[char]) -> Option<(usize, usize)> {
        let toks = &self.0;
        let m = toks.len();
        let close = |set: &mut Vec<Option<usize>>| {
            for i in 0..m {
                if toks[i] == Tok::Star
                    && let Some(st) = set[i]
                {
                    set[i + 1] = Some(set[i + 1].map_or(st, |o| o.min(st)));
                }
            }
        };
        let mut set: Vec<Option<usize>> = vec![None; m + 1];
        let mut next: Vec<Option<usize>> = vec![None; m + 1];
        let mut best: Option<(usize, usize)> = None;
        for n in 0..=s.len() {
            if best.is_none() && set[0].is_none() {
                set[0] = Some(n);
            }
            close(&mut set);
            if let Some(st) = set[m] {
                match best {
                    Some((b, _)) if b < st => {}
                    _ => best = Some((st, n)),
                }
            }
            if let Some((b, _)) = best {
                // Only starts no later than the match can still do better.
                for slot in set.iter_mut() {
                    if slot.is_some_and(|st| st > b) {
                        *slot = None;
                    }
                }
            }
            let Some(&c) = s.get(n) else { break };
            next.fill(None);
            let mut alive = false;
            for (i, t) in toks.iter().enumerate() {
                let Some(st) = set[i] else { continue };
                let to = match t {
                    Tok::Star => i,
                    Tok::Any => i + 1,
                    Tok::Lit(l) if *l == c => i + 1,
                    Tok::Lit(_) => continue,
                };
                next[to] = Some(next[to].map_or(st, |o| o.min(st)));
                alive = true;
            }
            if !alive && best.is_some() {
                break;
            }
            std::mem::swap(&mut set, &mut next);
        }
        best
    }
}

fn trim_prefix(pat: &Pattern, value: &str, greedy: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    match pat.prefix_len(&chars, greedy) {
        Some(n) => chars[n..].iter().collect(),
        None => value.to_string(),
    }
}

fn trim_suffix(pat: &Pattern, value: &str, greedy: bool) -> String {
    let rev: Vec<char> = value.chars().rev().collect();
    match pat.reversed().prefix_len(&rev, greedy) {
        Some(n) => rev[n..].iter().rev().collect(),
        None => value.to_string(),
    }
}

/// The message of a value grown past `limit`.
fn too_long(limit: usize) -> String {
    format!("a variable expansion makes a value longer than {limit} bytes")
}

fn replace(
    pat: &Pattern,
    value: &str,
    replacement: &str,
    all: bool,
    limit: usize,
) -> Result<String, ExpandError> {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i <= chars.len() {
        if out.len() > limit {
            return err(too_long(limit));
        }
        let Some((start, end)) = pat.find(&chars[i..]).map(|(s, e)| (i + s, i + e)) else {
            break;
        };
        out.extend(&chars[i..start]);
        out.push_str(replacement);
        i = end;
        if start == end {
            // An empty match: the character after it stays.
            if let Some(&c) = chars.get(i) {
                out.push(c);
            }
            i += 1;
        }
        if !all {
            break;
        }
    }
    if i < chars.len() {
        out.extend(&chars[i..]);
    }
    if out.len() > limit {
        return err(too_long(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PWD" => Some("/home".into()),
            "SHELL" => Some("bash".into()),
            "NULL" => Some(String::new()),
            "SPACE" => Some("a  b".into()),
            "FILE" => Some("dir/sub/file.tar.gz".into()),
            _ => None,
        }
    }

    fn x(s: &str) -> Result<String, ExpandError> {
        expand(s, &env, '\\')
    }

    fn w(s: &str) -> Vec<String> {
        expand_words(s, &env, '\\').unwrap()
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(x("he$PWD").unwrap(), "he/home");
        assert_eq!(x("he${PWD}x").unwrap(), "he/homex");
        assert_eq!(x("he$pwd.").unwrap(), "he.");
        assert_eq!(x("$.").unwrap(), "$.");
        assert_eq!(x("he$1x").unwrap(), "hex");
        assert_eq!(x("$@@@").unwrap(), "@@");
    }

    #[test]
    fn modifiers() {
        assert_eq!(x("${XXX:-000}").unwrap(), "000");
        assert_eq!(x("${NULL:-000}").unwrap(), "000");
        assert_eq!(x("${NULL-000}").unwrap(), "");
        assert_eq!(x("${XXX-000}").unwrap(), "000");
        assert_eq!(x("${PWD:+alt}").unwrap(), "alt");
        assert_eq!(x("${NULL:+alt}").unwrap(), "");
        assert_eq!(x("${NULL+alt}").unwrap(), "alt");
        assert_eq!(x("${XXX+alt}").unwrap(), "");
        assert_eq!(x("${XXX:-${YYY:-yyy}}").unwrap(), "yyy");
        assert_eq!(x("${XXX:-\\$PWD:}").unwrap(), "$PWD:");
        assert_eq!(x("${VAR:?msg}").unwrap_err().0, "VAR: msg");
        assert_eq!(
            x("${VAR?}").unwrap_err().0,
            "VAR: is not allowed to be unset"
        );
        assert_eq!(
            x("${NULL:?}").unwrap_err().0,
            "NULL: is not allowed to be empty"
        );
        assert_eq!(x("${NULL?}").unwrap(), "");
        assert!(x("${PWD:=x}").is_err());
        assert!(x("${}").is_err());
        assert!(x("${PWD").is_err());
        assert!(x("${aaa:-bbb ${foo}").is_err());
        assert_eq!(x("${aaa:-bbb {foo}").unwrap(), "bbb {foo");
    }

    #[test]
    fn patterns() {
        assert_eq!(x("${FILE#*/}").unwrap(), "sub/file.tar.gz");
        assert_eq!(x("${FILE##*/}").unwrap(), "file.tar.gz");
        assert_eq!(x("${FILE%.*}").unwrap(), "dir/sub/file.tar");
        assert_eq!(x("${FILE%%.*}").unwrap(), "dir/sub/file");
        assert_eq!(x("${FILE/sub/SUB}").unwrap(), "dir/SUB/file.tar.gz");
        assert_eq!(x("${FILE//\\//_}").unwrap(), "dir_sub_file.tar.gz");
        assert_eq!(x("${FILE/?/X}").unwrap(), "Xir/sub/file.tar.gz");
        assert!(x("${FILE:#x}").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let nest = |d: usize| format!("{}A{}", "${A:-".repeat(d), "}".repeat(d));
        assert_eq!(x(&nest(MAX_NESTING)).unwrap(), "A");
        assert_eq!(
            x(&nest(MAX_NESTING + 1)).unwrap_err().0,
            "variable substitutions nested more than 100 deep"
        );
        // Deep enough to overflow the stack when each level recursed.
        assert!(x(&nest(50_000)).is_err());
        assert!(x(&format!("\"{}\"", nest(50_000))).is_err());
    }

    /// The pattern matcher as it was, recursive: the reference.
    fn ref_matches(p: &[Tok], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((Tok::Star, rest)) => (0..=s.len()).any(|i| ref_matches(rest, &s[i..])),
            Some((Tok::Any, rest)) => !s.is_empty() && ref_matches(rest, &s[1..]),
            Some((Tok::Lit(c), rest)) => s.first() == Some(c) && ref_matches(rest, &s[1..]),
        }
    }

    fn ref_prefix_len(p: &Pattern, s: &[char], greedy: bool) -> Option<usize> {
        if greedy {
            (0..=s.len()).rev().find(|&n| ref_matches(&p.0, &s[..n]))
        } else {
            (0..=s.len()).find(|&n| ref_matches(&p.0, &s[..n]))
        }
    }

    fn ref_replace(pat: &Pattern, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut done = false;
        while i <= chars.len() {
            if !done && let Some(n) = ref_prefix_len(pat, &chars[i..], true) {
                out.push_str(replacement);
                done = !all;
                if n > 0 {
                    i += n;
                    continue;
                }
            }
            if i < chars.len() {
                out.push(chars[i]);
            }
            i += 1;
        }
        out
    }

    #[test]
    fn the_automaton_matches_as_the_recursive_matcher_did() {
        let patterns = [
            "", "a", "*", "?", "a*", "*a", "a*b", "*a*", "??", "a?b", "*.*", "**", "a**b", "*ab*",
            "b*a", "\\*", "?*?", "ab", "ba*ab",
        ];
        let values = [
            "", "a", "b", "ab", "ba", "aab", "abab", "bab", "aaa", "a.b.c", "*", "a*b", "abba",
            "babab", "xyz",
        ];
        for p in patterns {
            let pat = Pattern::compile(p).unwrap();
            for v in values {
                let s: Vec<char> = v.chars().collect();
                for greedy in [false, true] {
                    assert_eq!(
                        pat.prefix_len(&s, greedy),
                        ref_prefix_len(&pat, &s, greedy),
                        "{p} on {v:?}"
                    );
                    assert_eq!(
                        trim_suffix(&pat, v, greedy),
                        {
                            let rev: Vec<char> = s.iter().rev().copied().collect();
                            match ref_prefix_len(&pat.reversed(), &rev, greedy) {
                                Some(n) => rev[n..].iter().rev().collect(),
                                None => v.to_string(),
                            }
                        },
                        "{p} off the end of {v:?}"
                    );
                }
                for all in [false, true] {
                    assert_eq!(
                        replace(&pat, v, "<>", all, MAX_VALUE).unwrap(),
                        ref_replace(&pat, v, "<>", all),
                        "{p} in {v:?}, all: {all}"
                    );
                }
            }
        }
    }

    #[test]
    fn hostile_patterns_neither_overflow_nor_hang() {
        // The recursive matcher went one level deeper per character and
        // backtracked exponentially over stars.
        let long = format!("${{FILE/{}/x}}", "?".repeat(200_000));
        assert_eq!(x(&long).unwrap(), "dir/sub/file.tar.gz");
        let stars = format!("${{FILE//{}q/x}}", "*".repeat(50_000));
        assert_eq!(x(&stars).unwrap(), "dir/sub/file.tar.gz");
        let t = std::time::Instant::now();
        let slow = format!("${{FILE##{}q}}", "*i".repeat(30));
        assert_eq!(x(&slow).unwrap(), "dir/sub/file.tar.gz");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("he'll'o").unwrap(), "hello");
        assert_eq!(x("'$PWD'").unwrap(), "$PWD");
        assert_eq!(x("\"he'$PWD'\"").unwrap(), "he'/home'");
        assert_eq!(x("he\\$PWD").unwrap(), "he$PWD");
        assert_eq!(x("\"abc\\tdef\"").unwrap(), "abc\\tdef");
        assert_eq!(x("abc\\tdef").unwrap(), "abctdef");
        assert_eq!(x("hello\\").unwrap(), "hello");
        assert!(x("he'llo").is_err());
        assert!(x("\"hello\\\"").is_err());
        assert_eq!(expand("a`$PWD b\\c", &env, '`').unwrap(), "a$PWD b\\c");
    }

    #[test]
    fn word_splitting() {
        assert_eq!(w("hello there"), ["hello", "there"]);
        assert_eq!(w("x${SPACE}y"), ["xa", "by"]);
        assert_eq!(w("x\"${SPACE}\"y"), ["xa  by"]);
        assert_eq!(w("hello\\ there"), ["hello there"]);
        assert_eq!(w("  a   b  "), ["a", "b"]);
        assert_eq!(w("\"\""), Vec::<String>::new());
    }

    #[test]
    fn raw_modes() {
        let lx = Lexer {
            raw_quotes: true,
            skip_unset: true,
            ..Lexer::new('\\')
        };
        assert_eq!(
            lx.word("'a'\"$X\"${Y:-z}", &env).unwrap(),
            "'a'\"$X\"${Y:-z}"
        );
        let lx = Lexer {
            skip_quotes: true,
            ..Lexer::new('\\')
        };
        assert_eq!(
            lx.word("say \"$PWD\" 'x'", &env).unwrap(),
            "say \"/home\" 'x'"
        );
    }
}
