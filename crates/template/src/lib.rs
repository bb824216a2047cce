//! Go text/template, the subset `--format` uses in podman and skopeo: field paths
//! (`{{.Name}}`, `{{.Config.Labels}}`), `range`, `if`/`else`, `with`, variables
//! (`{{range $k, $v := .Labels}}`, `{{$x := .Name}}`, `$.Root`), and the
//! functions `json`, `index`, `join`, `len`, `upper`, `lower`, `title`, `printf`,
//! `println`, `truncate`. Written here because the Go-template crates do not cover
//! podman's helpers.

use serde_json::Value;

mod gotime;

/// A template that does not parse, or data it cannot be rendered with; the
/// message is Go's wording where podman's users match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

impl From<String> for TemplateError {
    fn from(s: String) -> TemplateError {
        TemplateError(s)
    }
}

impl From<&str> for TemplateError {
    fn from(s: &str) -> TemplateError {
        TemplateError(s.to_string())
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Expr),
    /// `range [$k, $v :=] pipeline`: the variables each element sets.
    Range(Vec<String>, Expr, Vec<Node>, Vec<Node>),
    If(Expr, Vec<Node>, Vec<Node>),
    With(Vec<String>, Expr, Vec<Node>, Vec<Node>),
    /// `$x := pipeline` (a new variable) or `$x = pipeline` (set again).
    Assign(String, bool, Expr),
}

/// The variables in scope, innermost last; `$` is the data rendered.
type Vars = Vec<(String, Value)>;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Path(Vec<String>),
    Str(String),
    Num(f64),
    /// `true`, `false`.
    Bool(bool),
    Call(Box<Expr>),
    /// `(pipeline).Field.Sub`: a field of what the pipeline gives.
    CallField(Box<Expr>, Vec<String>),
    /// `$name.Field.Sub`: a variable (`$` alone: the data), then fields.
    Var(String, Vec<String>),
}

/// A pipeline: a function (or value) with arguments, then `| f` stages.
#[derive(Debug, Clone, PartialEq)]
struct Expr {
    stages: Vec<(Option<String>, Vec<Arg>)>,
}

#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
    /// Whether the data's times are Go's time.Time (see [`Template::with_go_times`]).
    go_times: bool,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let tokens = tokenize(src)?;
        let mut pos = 0;
        let (nodes, end) = parse_nodes(&tokens, &mut pos)?;
        if let Some(e) = end {
            return fail(format!("template: unexpected {{{{{e}}}}}"));
        }
        Ok(Template {
            nodes,
            go_times: false,
        })
    }

    /// The template for data whose times (`Created`, `StartedAt` …) are Go
    /// time.Time values in the tool it stands in for (inspect's documents):
    /// printed as they are, they read as Go prints them.
    pub fn with_go_times(mut self) -> Template {
        self.go_times = true;
        self
    }

    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), data.clone())];
        render_nodes(&self.nodes, data, &mut out, self.go_times, &mut vars)?;
        Ok(out)
    }
}

enum Token {
    Text(String),
    Action(String),
}

fn tokenize(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "template: unclosed action".to_string())?;
        let mut inner = &after[..end];
        if let Some(s) = inner.strip_prefix('-') {
            text = text.trim_end();
            inner = s;
        }
        let mut trim_next = false;
        if let Some(s) = inner.strip_suffix('-') {
            inner = s;
            trim_next = true;
        }
        if !text.is_empty() {
            out.push(Token::Text(text.to_string()));
        }
        out.push(Token::Action(inner.trim().to_string()));
        rest = &after[end + 2..];
        if trim_next {
            rest = rest.trim_start();
        }
    }
    if !rest.is_empty() {
        out.push(Token::Text(rest.to_string()));
    }
    Ok(out)
}

/// Parses nodes up to `end` or `else`; returns which keyword stopped it.
fn parse_nodes(
    tokens: &[Token],
    pos: &mut usize,
) -> Result<(Vec<Node>, Option<String>), TemplateError> {
    let mut nodes = Vec::new();
    while *pos < tokens.len() {
        let tok = &tokens[*pos];
        *pos += 1;
        match tok {
            Token::Text(t) => nodes.push(Node::Text(t.clone())),
            Token::Action(a) => {
                if a.starts_with("/*") {
                    continue;
                }
                let (kw, rest) = a.split_once(char::is_whitespace).unwrap_or((a, ""));
                match kw {
                    "end" | "else" => return Ok((nodes, Some(kw.to_string()))),
                    "range" | "if" | "with" => {
                        let (vars, rest) = declared(rest);
                        let expr = parse_expr(rest)?;
                        let (body, stop) = parse_nodes(tokens, pos)?;
                        let alt = match stop.as_deref() {
                            Some("else") => {
                                let (alt, stop2) = parse_nodes(tokens, pos)?;
                                if stop2.as_deref() != Some("end") {
                                    return fail(format!("template: {kw} without end"));
                                }
                                alt
                            }
                            Some("end") => Vec::new(),
                            _ => return fail(format!("template: {kw} without end")),
                        };
                        nodes.push(match kw {
                            "range" => Node::Range(vars, expr, body, alt),
                            "if" => Node::If(expr, body, alt),
                            _ => Node::With(vars, expr, body, alt),
                        });
                    }
                    _ => nodes.push(match assignment(a) {
                        Some((name, new, rest)) => Node::Assign(name, new, parse_expr(rest)?),
                        None => Node::Action(parse_expr(a)?),
                    }),
                }
            }
        }
    }
    Ok((nodes, None))
}

/// `$k, $v := rest` at the head of a range or with: the names and the rest.
fn declared(s: &str) -> (Vec<String>, &str) {
    let Some((names, rest)) = s
        .split_once(":=")
        .filter(|(n, _)| n.trim_start().starts_with('$'))
    else {
        return (Vec::new(), s);
    };
    let names: Vec<String> = names.split(',').map(|n| n.trim().to_string()).collect();
    // Go's: one or two variables, each a `$name`; anything else stays the
    // pipeline, which then fails to parse in words.
    if names.len() > 2 || names.iter().any(|n| !n.starts_with('$') || n.len() < 2) {
        return (Vec::new(), s);
    }
    (names, rest.trim())
}

/// `$x := rest` or `$x = rest`: the name, whether it is new, the rest.
fn assignment(s: &str) -> Option<(String, bool, &str)> {
    let (name, rest) = s.split_once(char::is_whitespace)?;
    if !name.starts_with('$') || name.contains('.') {
        return None;
    }
    let rest = rest.trim_start();
    if let Some(r) = rest.strip_prefix(":=") {
        return Some((name.to_string(), true, r.trim()));
    }
    rest.strip_prefix('=')
        .filter(|r| !r.starts_with('='))
        .map(|r| (name.to_string(), false, r.trim()))
}

fn parse_expr(s: &str) -> Result<Expr, TemplateError> {
    let words = split_words(s)?;
    let mut stages = Vec::new();
    for stage in words.split(|w| w == "|") {
        if stage.is_empty() {
            return fail(format!("template: empty pipeline stage in {s:?}"));
        }
        let (func, args) = if is_func_name(&stage[0]) {
            (Some(stage[0].clone()), &stage[1..])
        } else {
            (None, stage)
        };
        let args = args
            .iter()
            .map(|w| parse_arg(w))
            .collect::<Result<_, _>>()?;
        stages.push((func, args));
    }
    if stages.is_empty() {
        return fail("template: empty action");
    }
    Ok(Expr { stages })
}

fn is_func_name(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

fn parse_arg(w: &str) -> Result<Arg, TemplateError> {
    if let Some(inner) = w.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        return Ok(Arg::Call(Box::new(parse_expr(inner)?)));
    }
    if let Some(inner) = w.strip_prefix('(')
        && let Some(close) = w.rfind(')')
        && let Some(fields) = w[close + 1..].strip_prefix('.')
    {
        let expr = parse_expr(&inner[..close - 1])?;
        let path = fields.split('.').map(str::to_string).collect();
        return Ok(Arg::CallField(Box::new(expr), path));
    }
    if let Some(s) = w.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        return Ok(Arg::Str(unescape(s)));
    }
    if w == "." {
        return Ok(Arg::Path(Vec::new()));
    }
    if let Some(v) = w.strip_prefix('$') {
        let mut parts = v.split('.');
        let name = format!("${}", parts.next().unwrap_or_default());
        return Ok(Arg::Var(name, parts.map(str::to_string).collect()));
    }
    if let Some(p) = w.strip_prefix('.') {
        return Ok(Arg::Path(p.split('.').map(str::to_string).collect()));
    }
    if let Ok(n) = w.parse::<f64>() {
        return Ok(Arg::Num(n));
    }
    match w {
        "true" => Ok(Arg::Bool(true)),
        "false" => Ok(Arg::Bool(false)),
        _ => fail(format!("template: unknown word {w:?}")),
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\t", "\t")
        .replace("\\n", "\n")
        .replace("\\\"", "\"")
}

/// Splits on spaces, keeping quoted strings and parenthesised groups whole.
fn split_words(s: &str) -> Result<Vec<String>, TemplateError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut in_str = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if depth == 0 || in_str => {
                in_str = !in_str;
                cur.push(c);
            }
            '\\' if in_str => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '(' if !in_str => {
                depth += 1;
                cur.push(c);
            }
            ')' if !in_str => {
                depth -= 1;
                cur.push(c);
            }
            c if c.is_whitespace() && !in_str && depth == 0 => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            // A pipe is its own word, spaces around it or not (`.ID|upper`).
            '|' if !in_str && depth == 0 => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                words.push("|".into());
            }
            c => cur.push(c),
        }
    }
    if in_str || depth != 0 {
        return fail(format!(
            "template: unbalanced quotes or parentheses in {s:?}"
        ));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

fn render_nodes(
    nodes: &[Node],
    dot: &Value,
    out: &mut String,
    go_times: bool,
    vars: &mut Vars,
) -> Result<(), TemplateError> {
    // Variables declared in this block end with it.
    let scope = vars.len();
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(e) => match go_times.then(|| printed_time(e, dot)).flatten() {
                Some(t) => out.push_str(&t),
                None => out.push_str(&to_text(&eval(e, dot, vars)?)),
            },
            Node::Assign(name, new, e) => {
                let v = eval(e, dot, vars)?;
                match vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) if !new => slot.1 = v,
                    _ if !new => return fail(format!("template: undefined variable {name:?}")),
                    _ => vars.push((name.clone(), v)),
                }
            }
            Node::If(e, body, alt) => {
                let v = eval(e, dot, vars)?;
                let branch = if truthy(&v) { body } else { alt };
                render_nodes(branch, dot, out, go_times, vars)?;
            }
            Node::With(names, e, body, alt) => {
                let v = eval(e, dot, vars)?;
                if truthy(&v) {
                    let mark = vars.len();
                    vars.extend(names.iter().map(|n| (n.clone(), v.clone())));
                    render_nodes(body, &v, out, go_times, vars)?;
                    vars.truncate(mark);
                } else {
                    render_nodes(alt, dot, out, go_times, vars)?;
                }
            }
            Node::Range(names, e, body, alt) => {
                let v = eval(e, dot, vars)?;
                // Each element with its key (a map's) or index (a list's).
                let items: Vec<(Value, Value)> = match v {
                    Value::Array(a) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (serde_json::json!(i), v))
                        .collect(),
                    Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                    Value::Null => Vec::new(),
                    other => return fail(format!("template: range over {}", type_name(&other))),
                };
                if items.is_empty() {
                    render_nodes(alt, dot, out, go_times, vars)?;
                }
                for (key, item) in &items {
                    let mark = vars.len();
                    match names.as_slice() {
                        [v] => vars.push((v.clone(), item.clone())),
                        [k, v] => {
                            vars.push((k.clone(), key.clone()));
                            vars.push((v.clone(), item.clone()));
                        }
                        _ => {}
                    }
                    render_nodes(body, item, out, go_times, vars)?;
                    vars.truncate(mark);
                }
            }
        }
    }
    vars.truncate(scope);
    Ok(())
}

fn eval(e: &Expr, dot: &Value, vars: &Vars) -> Result<Value, TemplateError> {
    let mut piped: Option<Value> = None;
    for (func, args) in &e.stages {
        if func.is_none()
            && piped.is_none()
            && let Some(v) = time_method(args, dot, vars)?
        {
            piped = Some(v);
            continue;
        }
        let mut vals = args
            .iter()
            .map(|a| eval_arg(a, dot, vars))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(p) = piped.take() {
            vals.push(p);
        }
        piped = Some(match func {
            None => match vals.len() {
                1 => vals.pop().expect("one value"),
                _ => return fail("template: a value cannot take arguments"),
            },
            Some(f) => call(f, vals)?,
        });
    }
    Ok(piped.unwrap_or(Value::Null))
}

/// `{{.Created.Format "2006-01-02"}}`, `{{.Created.Unix}}`: a method of a
/// time the JSON holds as RFC 3339, as Go's time.Time has them.
fn time_method(args: &[Arg], dot: &Value, vars: &Vars) -> Result<Option<Value>, TemplateError> {
    let Some((Arg::Path(p), rest)) = args.split_first() else {
        return Ok(None);
    };
    let Some((name, field)) = p.split_last().filter(|(_, f)| !f.is_empty()) else {
        return Ok(None);
    };
    if walk(dot, p).is_ok() {
        return Ok(None);
    }
    let Some(time) = walk(dot, field).ok().and_then(Value::as_str) else {
        return Ok(None);
    };
    let words = rest
        .iter()
        .map(|a| eval_arg(a, dot, vars).map(|v| to_text(&v)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(gotime::method(time, name, &words))
}

fn eval_arg(a: &Arg, dot: &Value, vars: &Vars) -> Result<Value, TemplateError> {
    Ok(match a {
        Arg::Str(s) => Value::String(s.clone()),
        Arg::Num(n) => serde_json::json!(n),
        Arg::Bool(b) => Value::Bool(*b),
        Arg::Call(e) => eval(e, dot, vars)?,
        Arg::CallField(e, p) => {
            let v = eval(e, dot, vars)?;
            return eval_arg(&Arg::Path(p.clone()), &v, vars);
        }
        Arg::Var(name, p) => match vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => walk(v, p)?.clone(),
            None => return fail(format!("template: undefined variable {name:?}")),
        },
        Arg::Path(p) => walk(dot, p)?.clone(),
    })
}

/// A field printed as it is (`{{.Created}}`): a time the JSON holds as RFC
/// 3339 prints as Go prints a time.Time (`2024-03-01 12:34:56.789 +0000
/// UTC`), as podman's, docker's and skopeo's templates do. (Given to a
/// function, `json` say, it stays as the JSON has it.)
fn printed_time(e: &Expr, dot: &Value) -> Option<String> {
    let [(None, args)] = e.stages.as_slice() else {
        return None;
    };
    let [Arg::Path(p)] = args.as_slice() else {
        return None;
    };
    if !p.last().is_some_and(|f| TIME_FIELDS.contains(&f.as_str())) {
        return None;
    }
    walk(dot, p).ok()?.as_str().and_then(gotime::string)
}

/// `dot`'s value at a field path.
fn walk<'a>(dot: &'a Value, path: &[String]) -> Result<&'a Value, TemplateError> {
    let mut v = dot;
    let mut through: Option<&str> = None;
    for field in path {
        let parent = through.replace(field);
        v = match v {
            // Go templates name struct fields (`.Host.OCIRuntime`,
            // `.RootFS.DiffIDs`); the JSON has their camelCase or snake_case
            // keys (`host.ociRuntime`, `rootfs.diff_ids`).
            Value::Object(m) => match m.get(field).or_else(|| {
                let same = |k: &str| k.replace('_', "").eq_ignore_ascii_case(field);
                m.iter().find(|(k, _)| same(k)).map(|(_, v)| v)
            }) {
                Some(v) => v,
                // Go: a key a map lacks is no value; a field a struct
                // lacks is an error.
                None if m.is_empty() || parent.is_some_and(is_map_field) => &Value::Null,
                None => return fail(format!("template: can't evaluate field {field}")),
            },
            Value::Null => &Value::Null,
            _ => return fail(format!("template: can't evaluate field {field}")),
        };
    }
    // A nil map field prints as Go prints it, `map[]` (not a key of a map).
    let last = |i: usize| path.len().checked_sub(i).map(|i| path[i].as_str());
    if v.is_null() && last(1).is_some_and(is_map_field) && !last(2).is_some_and(is_map_field) {
        static EMPTY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        return Ok(EMPTY.get_or_init(|| Value::Object(Default::default())));
    }
    Ok(v)
}

/// Whether a field of podman's, docker's or skopeo's data is a Go map (its
/// JSON an object like any struct's): labels, annotations, options, port and
/// volume sets, networks by name, a graph driver's data, an event's
/// attributes.
fn is_map_field(name: &str) -> bool {
    const MAPS: [&str; 13] = [
        "Labels",
        "Annotations",
        "Options",
        "ExposedPorts",
        "Volumes",
        "Ports",
        "Networks",
        "Attributes",
        "Data",
        "Sysctls",
        "Tmpfs",
        "StorageOpt",
        "DriverOpts",
    ];
    MAPS.iter().any(|m| m.eq_ignore_ascii_case(name))
}

/// The fields that hold times in podman's, docker's and skopeo's data.
const TIME_FIELDS: [&str; 8] = [
    "Created",
    "StartedAt",
    "FinishedAt",
    "LastTagTime",
    "Start",
    "End",
    "CheckpointedAt",
    "RestoredAt",
];

fn call(f: &str, args: Vec<Value>) -> Result<Value, TemplateError> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            fail(format!(
                "template: {f} takes {n} argument(s), got {}",
                args.len()
            ))
        }
    };
    Ok(match f {
        "json" => {
            want(1)?;
            Value::String(serde_json::to_string(&args[0]).expect("json"))
        }
        "len" => {
            want(1)?;
            serde_json::json!(match &args[0] {
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::String(s) => s.chars().count(),
                Value::Null => 0,
                other => return fail(format!("template: len of {}", type_name(other))),
            })
        }
        "upper" | "lower" | "title" => {
            want(1)?;
            let s = to_text(&args[0]);
            Value::String(match f {
                "upper" => s.to_uppercase(),
                "lower" => s.to_lowercase(),
                _ => s
                    .split(' ')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|h| h.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            })
        }
        "join" => {
            want(2)?;
            let items = match &args[0] {
                Value::Array(a) => a.iter().map(to_text).collect::<Vec<_>>(),
                Value::Null => Vec::new(),
                other => vec![to_text(other)],
            };
            Value::String(items.join(&to_text(&args[1])))
        }
        "index" => {
            if args.len() < 2 {
                return fail("template: index takes 2 or more arguments");
            }
            let mut v = args[0].clone();
            for k in &args[1..] {
                v = match (&v, k) {
                    // Go's index of a map of strings lacking the key (or of
                    // a nil map): the empty string.
                    (Value::Object(m), _) => m
                        .get(&to_text(k))
                        .cloned()
                        .unwrap_or(Value::String(String::new())),
                    (Value::Null, _) => Value::String(String::new()),
                    (Value::Array(a), Value::Number(n)) => a
                        .get(n.as_f64().unwrap_or(-1.0) as usize)
                        .cloned()
                        .ok_or("template: index out of range")?,
                    _ => Value::Null,
                };
            }
            v
        }
        "truncate" => {
            want(2)?;
            let n = args[1].as_f64().unwrap_or(0.0) as usize;
            Value::String(to_text(&args[0]).chars().take(n).collect())
        }
        "println" => Value::String(args.iter().map(to_text).collect::<Vec<_>>().join(" ") + "\n"),
        "print" => Value::String(args.iter().map(to_text).collect::<Vec<_>>().join(" ")),
        "printf" => {
            let (fmt, rest) = args
                .split_first()
                .ok_or("template: printf needs a format")?;
            Value::String(printf(&to_text(fmt), rest))
        }
        "eq" | "ne" => {
            want(2)?;
            let same = args[0] == args[1] || to_text(&args[0]) == to_text(&args[1]);
            Value::Bool(if f == "eq" { same } else { !same })
        }
        "not" => {
            want(1)?;
            Value::Bool(!truthy(&args[0]))
        }
        // Go's: the first falsy argument (and) or truthy one (or), else the last.
        "and" | "or" => {
            let last = args
                .last()
                .cloned()
                .ok_or_else(|| format!("template: {f} needs arguments"))?;
            let stop = |v: &Value| if f == "and" { !truthy(v) } else { truthy(v) };
            args.iter().find(|v| stop(v)).cloned().unwrap_or(last)
        }
        "lt" | "le" | "gt" | "ge" => {
            want(2)?;
            let ord = match (args[0].as_f64(), args[1].as_f64()) {
                (Some(a), Some(b)) => a.partial_cmp(&b),
                _ => Some(to_text(&args[0]).cmp(&to_text(&args[1]))),
            }
            .ok_or("template: values cannot be compared")?;
            use std::cmp::Ordering::*;
            Value::Bool(match f {
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            })
        }
        "true" | "false" => {
            want(0)?;
            Value::Bool(f == "true")
        }
        "slice" => slice(&args)?,
        "html" | "js" | "urlquery" => {
            let s = args.iter().map(to_text).collect::<String>();
            Value::String(escape(f, &s))
        }
        // podman's helpers.
        "pad" => {
            // podman's padWithSpace: so many spaces before, so many after.
            want(3)?;
            let spaces = |v: &Value| " ".repeat(v.as_f64().unwrap_or(0.0).max(0.0) as usize);
            match to_text(&args[0]) {
                s if s.is_empty() => Value::String(s),
                s => Value::String(format!("{}{s}{}", spaces(&args[1]), spaces(&args[2]))),
            }
        }
        "split" => {
            want(2)?;
            let sep = to_text(&args[1]);
            Value::Array(
                to_text(&args[0])
                    .split(sep.as_str())
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            )
        }
        "replace" => {
            want(4)?;
            let n = args[3].as_f64().unwrap_or(-1.0);
            let (s, from, to) = (to_text(&args[0]), to_text(&args[1]), to_text(&args[2]));
            Value::String(if n < 0.0 {
                s.replace(&from, &to)
            } else {
                s.replacen(&from, &to, n as usize)
            })
        }
        _ => return fail(format!("template: function {f:?} not defined")),
    })
}

/// Go's `slice x i [j]`: a string's bytes or a list's elements from i to j.
fn slice(args: &[Value]) -> Result<Value, TemplateError> {
    let (x, bounds) = args
        .split_first()
        .ok_or("template: slice needs an argument")?;
    let len = match x {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        other => {
            return fail(format!(
                "template: can't slice item of type {}",
                type_name(other)
            ));
        }
    };
    let at = |i: usize, default: usize| -> Result<usize, TemplateError> {
        match bounds.get(i) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|n| *n >= 0.0 && n.fract() == 0.0)
                .map(|n| n as usize)
                .ok_or_else(|| "template: slice index must be a non-negative integer".into()),
        }
    };
    let (from, to) = (at(0, 0)?, at(1, len)?);
    if bounds.len() > 2 || from > to || to > len {
        return fail(format!("template: slice: index out of range: {from}:{to}"));
    }
    Ok(match x {
        Value::String(s) => Value::String(
            s.get(from..to)
                .ok_or("template: slice: not at a character boundary")?
                .to_string(),
        ),
        Value::Array(a) => Value::Array(a[from..to].to_vec()),
        _ => unreachable!("checked above"),
    })
}

/// Go's `html`, `js` and `urlquery` escapes.
fn escape(f: &str, s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match (f, c) {
            ("html", '<') => out.push_str("&lt;"),
            ("html", '>') => out.push_str("&gt;"),
            ("html", '&') => out.push_str("&amp;"),
            ("html", '\'') => out.push_str("&#39;"),
            ("html", '"') => out.push_str("&#34;"),
            ("js", '\\' | '\'' | '"') => {
                out.push('\\');
                out.push(c);
            }
            ("js", '<' | '>' | '&' | '=') => out.push_str(&format!("\\u{:04X}", c as u32)),
            ("js", c) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            ("urlquery", c) if c.is_ascii_alphanumeric() || "-_.~".contains(c) => out.push(c),
            ("urlquery", ' ') => out.push('+'),
            ("urlquery", c) => {
                let mut b = [0; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// `%s`, `%d`, `%v`, `%q`, `%%` and widths like `%-20s`.
fn printf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&n) = chars.peek() {
            if n == '-' || n == '.' || n.is_ascii_digit() {
                spec.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let Some(verb) = chars.next() else { break };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let left = spec.starts_with('-');
        let spec = spec.trim_start_matches('-');
        let zero = spec.starts_with('0') && !left;
        let (width, precision) = match spec.split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0), Some(p.parse().unwrap_or(0))),
            None => (spec.parse().unwrap_or(0), None),
        };
        let Some(v) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let number = || v.as_f64().or_else(|| to_text(v).trim().parse().ok());
        let val = match verb {
            'q' => format!("{:?}", to_text(v)),
            'f' | 'F' => number().map_or_else(
                || format!("%!{verb}({})", to_text(v)),
                |n| format!("{n:.*}", precision.unwrap_or(6)),
            ),
            'd' => number().map_or_else(
                || format!("%!d({})", to_text(v)),
                |n| format!("{}", n as i64),
            ),
            'x' => match v.as_u64() {
                Some(n) => format!("{n:x}"),
                None => to_text(v).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            _ => {
                let t = to_text(v);
                match precision {
                    Some(p) => t.chars().take(p).collect(),
                    None => t,
                }
            }
        };
        if left {
            out.push_str(&format!("{val:<width$}"));
        } else if zero && matches!(verb, 'd' | 'f' | 'F' | 'x') {
            out.push_str(&format!("{val:0>width$}"));
        } else {
            out.push_str(&format!("{val:>width$}"));
        }
    }
    out
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// How Go prints a value with `{{.}}`: strings bare, slices as `[a b]`,
/// maps as `map[k:v]`, nil as `<no value>`.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(to_text).collect::<Vec<_>>().join(" ")),
        // Go prints a map's keys sorted; an empty struct value (a port or
        // volume set's) as `{}`.
        Value::Object(m) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let item = |v: &Value| match v {
                Value::Object(o) if o.is_empty() => "{}".to_string(),
                v => to_text(v),
            };
            format!(
                "map[{}]",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", item(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_need_no_spaces() {
        let t = Template::parse("{{.ID| upper}} {{.ID|lower}}").unwrap();
        let out = t.render(&serde_json::json!({"ID": "aBc"})).unwrap();
        assert_eq!(out, "ABC abc");
    }
    use serde_json::json;

    fn r(t: &str, v: Value) -> String {
        Template::parse(t).unwrap().render(&v).unwrap()
    }

    fn with_times(t: &str, v: Value) -> String {
        Template::parse(t)
            .unwrap()
            .with_go_times()
            .render(&v)
            .unwrap()
    }

    #[test]
    fn times_print_as_go_prints_them() {
        let v = json!({
            "Created": "2024-03-01T12:34:56.789000000Z",
            "State": {"StartedAt": "2024-03-01T12:34:56+02:00", "FinishedAt": "0001-01-01T00:00:00Z"},
            "Labels": {"Created": "2024-03-01T12:34:56Z"}
        });
        assert_eq!(
            with_times("{{.Created}}", v.clone()),
            "2024-03-01 12:34:56.789 +0000 UTC"
        );
        assert_eq!(
            with_times("{{.State.StartedAt}}", v.clone()),
            "2024-03-01 12:34:56 +0200 +0200"
        );
        assert_eq!(
            with_times("{{.State.FinishedAt}}", v.clone()),
            "0001-01-01 00:00:00 +0000 UTC"
        );
        // A label's value is the label's, whatever it looks like.
        assert_eq!(
            with_times(r#"{{index .Labels "Created"}}"#, v.clone()),
            "2024-03-01T12:34:56Z"
        );
        assert_eq!(
            with_times("{{json .Created}}", v.clone()),
            "\"2024-03-01T12:34:56.789000000Z\""
        );
        assert_eq!(gotime::string("not a time"), None);
        // Data whose times are strings (history's): as they are.
        assert_eq!(r("{{.Created}}", v), "2024-03-01T12:34:56.789000000Z");
    }

    #[test]
    fn variables_in_range_with_and_assignments() {
        let v = json!({"Name": "web", "Labels": {"a": "1", "b": "2"}, "Ports": ["80", "443"]});
        let t = r#"{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}"#;
        assert_eq!(r(t, v.clone()), "a=1;b=2;");
        let t = "{{range $i, $p := .Ports}}{{$i}}:{{$p}} {{$.Name}} {{end}}";
        assert_eq!(r(t, v.clone()), "0:80 web 1:443 web ");
        assert_eq!(
            r("{{range $p := .Ports}}<{{$p}}>{{end}}", v.clone()),
            "<80><443>"
        );
        let t = "{{$n := .Name}}{{with .Labels}}{{$n}}/{{.a}}{{end}}";
        assert_eq!(r(t, v.clone()), "web/1");
        let t = "{{$c := 0}}{{range .Ports}}{{$c = .}}{{end}}{{$c}}";
        assert_eq!(r(t, v.clone()), "443");
        assert_eq!(r("{{with $l := .Labels}}{{$l.b}}{{end}}", v.clone()), "2");
        let e = Template::parse("{{$nope}}")
            .unwrap()
            .render(&v)
            .unwrap_err();
        assert!(e.to_string().contains("undefined variable"), "{e}");
        // A variable declared in a block ends with it.
        let e = Template::parse("{{range .Ports}}{{$x := .}}{{end}}{{$x}}")
            .unwrap()
            .render(&v)
            .unwrap_err();
        assert!(e.to_string().contains("undefined variable"), "{e}");
    }

    #[test]
    fn go_field_names_find_snake_case_keys() {
        let v = json!({"rootfs": {"diff_ids": ["a", "b"]}, "history": [{"created_by": "x"}]});
        assert_eq!(r("{{.RootFS.DiffIDs}}", v.clone()), "[a b]");
        assert_eq!(r("{{range .History}}{{.CreatedBy}}{{end}}", v), "x");
    }

    #[test]
    fn time_methods_of_rfc3339_times() {
        let v = json!({"Created": "2024-03-01T12:34:56.5Z", "Name": "x"});
        assert_eq!(
            r(r#"{{.Created.Format "2006-01-02"}}"#, v.clone()),
            "2024-03-01"
        );
        assert_eq!(r("{{.Created.Unix}}", v.clone()), "1709296496");
        // Not a time, or not a method: Go's error.
        let e = Template::parse("{{.Name.Unix}}")
            .unwrap()
            .render(&v)
            .unwrap_err();
        assert!(e.to_string().contains("can't evaluate field Unix"), "{e}");
    }

    #[test]
    fn fields_and_functions() {
        let v = json!({"Name": "a", "Tags": ["x", "y"], "L": {"k": "v"}, "N": 3});
        assert_eq!(r("{{.Name}}", v.clone()), "a");
        let m = json!({"Mounts": [{"Type": "image", "RW": true}]});
        assert_eq!(
            r("{{(index .Mounts 0).Type}} {{(index .Mounts 0).RW}}", m),
            "image true"
        );
        assert_eq!(r("{{json .Tags}}", v.clone()), r#"["x","y"]"#);
        assert_eq!(r("{{range .Tags}}<{{.}}>{{end}}", v.clone()), "<x><y>");
        assert_eq!(r("{{join .Tags \",\"}}", v.clone()), "x,y");
        assert_eq!(r("{{index .L \"k\"}}", v.clone()), "v");
        assert_eq!(
            r("{{if .Missing}}y{{else}}n{{end}}", json!({"Missing": null})),
            "n"
        );
        assert_eq!(r("{{.Name | upper}}", v.clone()), "A");
        assert_eq!(r("{{printf \"%-3s|\" .Name}}", v.clone()), "a  |");
        let n = serde_json::json!({"F": 2.0 / 3.0, "N": 7, "S": "abcdef"});
        assert_eq!(
            r("{{printf \"%.2f %5.1f\" .F .F}}", n.clone()),
            "0.67   0.7"
        );
        assert_eq!(r("{{printf \"%03d|%x|%.3s\" .N .N .S}}", n), "007|7|abc");
        assert_eq!(r("{{len .Tags}}", v.clone()), "2");
        assert_eq!(r("{{.Tags}}", v.clone()), "[x y]");
        assert_eq!(r("{{with .L}}{{.k}}{{end}}", v), "v");
    }

    #[test]
    fn podman_and_go_helpers() {
        let v = json!({"Name": "Web Server", "N": 3, "Empty": "", "Csv": "a,b,c"});
        assert_eq!(r("{{lower .Name}}", v.clone()), "web server");
        assert_eq!(r("{{title \"hello world\"}}", v.clone()), "Hello World");
        assert_eq!(r("{{truncate .Name 3}}", v.clone()), "Web");
        assert_eq!(r("{{pad .N 2 1}}|{{pad .Empty 2 2}}", v.clone()), "  3 |");
        assert_eq!(
            r("{{slice .Name 4 10}} {{slice .Name 4}}", v.clone()),
            "Server Server"
        );
        assert_eq!(
            r("{{html \"<a&b>\"}} {{urlquery \"a b/c\"}}", v.clone()),
            "&lt;a&amp;b&gt; a+b%2Fc"
        );
        assert_eq!(
            r("{{if eq true true}}yes{{end}} {{false}}", v.clone()),
            "yes false"
        );
        // A key a map lacks is no value, and index of it the empty string; a
        // struct's missing field stays an error.
        assert_eq!(
            r("{{.Labels}} {{len .Labels}}", json!({"Labels": null})),
            "map[] 0"
        );
        let m = json!({"Labels": {"a": "1"}, "None": {}, "Nil": null});
        assert_eq!(
            r("{{.Labels.b}}|{{.None.x}}|{{.Nil.x}}", m.clone()),
            "<no value>|<no value>|<no value>"
        );
        assert_eq!(
            r("[{{index .Labels \"b\"}}][{{index .Nil \"b\"}}]", m.clone()),
            "[][]"
        );
        assert!(
            Template::parse("{{.Missing}}")
                .unwrap()
                .render(&json!({"Name": "x"}))
                .is_err()
        );
        // Go prints maps sorted, empty struct values as {}.
        let ports = json!({"P": {"b": "2", "a": "x y"}, "E": {"80/tcp": {}}});
        assert_eq!(r("{{.P}} {{.E}}", ports), "map[a:x y b:2] map[80/tcp:{}]");
        assert_eq!(
            r("{{range split .Csv \",\"}}[{{.}}]{{end}}", v.clone()),
            "[a][b][c]"
        );
        assert_eq!(r("{{replace .Csv \",\" \";\" 1}}", v.clone()), "a;b,c");
        assert_eq!(
            r("{{and .N .Empty}}|{{or .Empty .Name}}", v.clone()),
            "|Web Server"
        );
        assert_eq!(
            r(
                "{{if gt .N 2}}big{{end}}{{if lt .N 2}}small{{end}}",
                v.clone()
            ),
            "big"
        );
        assert_eq!(
            r("{{if and (ge .N 3) (le .N 3)}}three{{end}}", v.clone()),
            "three"
        );
        assert_eq!(r("{{json .}}", json!({"a": 1})), r#"{"a":1}"#);
    }

    #[test]
    fn errors_are_reported() {
        assert!(Template::parse("{{.A").is_err());
        assert!(Template::parse("{{range .A}}").is_err());
        assert!(
            Template::parse("{{nosuch .A}}")
                .unwrap()
                .render(&json!({"A":1}))
                .is_err()
        );
        assert!(
            Template::parse("{{.A.B}}")
                .unwrap()
                .render(&json!({"A":1}))
                .is_err()
        );
    }
}
