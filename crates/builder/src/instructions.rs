//! Typed instructions, built from the untyped nodes of [`crate::parse_ast`].
//!
//! Arguments are kept as written: variables and quotes in the instructions
//! the builder expands (see [`Instruction::expand`]) are resolved per stage by
//! [`crate::stages`], since their values depend on ARG/ENV scoping and on
//! `--build-arg`. Checks that need no variable values happen here, so a
//! mistake is reported before anything is built.

use crate::error::ParseError;
use crate::expand::{Budget, ExpandError, Lexer};
use crate::flags::{FlagError, FlagKind, Flags};
use crate::mount::{MountError, MountSpec, parse_mount};
use crate::parser::{Ast, Heredoc, Node, parse_heredoc};
use crate::signal::{InvalidSignal, parse_signal};
use berth_engine::duration::{DurationError, parse_go_duration};
use std::time::Duration;

/// An instruction docker's builder would refuse, in its words (the caller
/// adds `file:line`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstructionError {
    #[error("unknown instruction: {0}")]
    Unknown(String),
    #[error("{keyword} requires {arity}")]
    Arguments { keyword: &'static str, arity: Arity },
    #[error("Bad input to {0}, too many arguments")]
    TooManyArguments(&'static str),
    #[error("{0} names can not be blank")]
    BlankName(&'static str),
    #[error(
        "invalid name for build stage: \"{0}\", name can't start with a number or contain symbols"
    )]
    StageName(String),
    #[error("base name ({0}) should not be blank")]
    BlankBaseName(String),
    #[error("invalid network mode \"{0}\"")]
    Network(String),
    #[error("security \"{0}\" is not valid")]
    Security(String),
    #[error("SHELL requires the arguments to be in JSON form")]
    ShellNotJson,
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    #[error("{0} cannot accept a heredoc as a destination")]
    HeredocDestination(&'static str),
    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChain,
    #[error("{0} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger(String),
    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    #[error("Unknown type \"{0}\" in HEALTHCHECK (try CMD)")]
    HealthcheckType(String),
    #[error("Missing command after HEALTHCHECK CMD")]
    HealthcheckCommand,
    #[error("Interval \"{0}\" cannot be less than 1ms")]
    IntervalTooShort(String),
    #[error("invalid value for --retries: {0}")]
    Retries(String),
    #[error("--retries cannot be negative ({0})")]
    NegativeRetries(i32),
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error(transparent)]
    Signal(#[from] InvalidSignal),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Expand(#[from] ExpandError),
}

/// How many arguments an instruction takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Arity {
    #[error("at least one argument")]
    AtLeastOne,
    #[error("at least two arguments")]
    AtLeastTwo,
    #[error("exactly one argument")]
    ExactlyOne,
    #[error("either one or three arguments")]
    OneOrThree,
}

/// An `EXPOSE` port that is not `port[-end][/proto]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("invalid proto: {0}")]
    Protocol(String),
    #[error("invalid containerPort: {0}")]
    Port(String),
    #[error("invalid range specified for container port: {0}")]
    Range(String),
}

fn arguments(keyword: &'static str, arity: Arity) -> InstructionError {
    InstructionError::Arguments { keyword, arity }
}

/// An instruction with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// First and last physical line, 1-based.
    pub line: usize,
    pub end_line: usize,
    /// The logical line as written (for history and messages).
    pub original: String,
    pub instruction: Instruction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From(From),
    Run(Run),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    /// SHELL's JSON array.
    Shell(Vec<String>),
    Label(Vec<KeyValue>),
    Maintainer(String),
    /// Port specs as written (`80`, `53/udp`, `$PORT`); see [`parse_port`].
    Expose(Vec<String>),
    Env(Vec<KeyValue>),
    Add(Add),
    Copy(Copy),
    Volume(Vec<String>),
    User(String),
    Workdir(String),
    Arg(Vec<ArgDef>),
    Onbuild(Onbuild),
    StopSignal(String),
    Healthcheck(Healthcheck),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The base: an image reference, an earlier stage's name, or `scratch`.
    pub image: String,
    pub platform: Option<String>,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
}

/// Shell form (run by the stage's SHELL) or exec form (JSON array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Shell(String),
    Exec(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Sandbox,
    Insecure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub command: CommandLine,
    pub mounts: Vec<MountSpec>,
    pub network: Option<Network>,
    pub security: Option<Security>,
    /// Heredocs of the command line (`RUN <<EOF`), bodies as written.
    pub heredocs: Vec<Heredoc>,
}

/// ENV and LABEL pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the old `ENV key value` form.
    pub legacy: bool,
}

/// A COPY/ADD source given inline (`COPY <<EOF /dest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineSource {
    /// The heredoc's terminator word, used as the file name.
    pub name: String,
    /// The body; for `<<-` with leading tabs removed from every line.
    pub content: String,
    /// Variables in the body are expanded (the terminator was not quoted).
    pub expand: bool,
}

/// Sources and destination of COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub sources: Vec<String>,
    pub inline: Vec<InlineSource>,
    pub dest: String,
    /// Written as a JSON array.
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub files: Files,
    /// `--from`: a stage name or index, or an image reference.
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub files: Files,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub keep_git_dir: Option<bool>,
    pub checksum: Option<String>,
    pub unpack: Option<bool>,
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    pub name: String,
    /// The default as written, `None` for a bare `ARG name`.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild {
    /// The trigger's text (heredoc bodies included), stored in the image to
    /// be parsed again by builds that use it as a base.
    pub expression: String,
    pub trigger: Box<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any check inherited from the base.
    None,
    Check(HealthConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// `["CMD", args...]` for the exec form, `["CMD-SHELL", line]` otherwise
    /// (the image config's `Healthcheck.Test`).
    pub test: Vec<String>,
    /// `None` when not given or zero (use the default).
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

/// `EXPOSE` port: `port[-end][/proto]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub start: u16,
    pub end: u16,
    /// `tcp` (default), `udp` or `sctp`.
    pub proto: String,
}

/// Types every node of `ast`.
pub fn parse_instructions(ast: &Ast, file: &str) -> Result<Vec<Located>, ParseError> {
    ast.nodes.iter().map(|n| locate(n, file)).collect()
}

/// Types one node, errors located at its first line.
pub fn locate(node: &Node, file: &str) -> Result<Located, ParseError> {
    let instruction = instruction(node).map_err(|m| ParseError::new(file, node.start_line, m))?;
    Ok(Located {
        line: node.start_line,
        end_line: node.end_line,
        original: node.original.clone(),
        instruction,
    })
}

use FlagKind::{Bool, Str, Strs};

/// Types one node; the error is the message only.
pub fn instruction(node: &Node) -> Result<Instruction, InstructionError> {
    let no_flags = || Flags::parse(&node.flags, &[]).map(|_| ());
    let args = &node.args;
    Ok(match node.command().as_str() {
        "from" => Instruction::From(from(node)?),
        "run" => Instruction::Run(run(node)?),
        "cmd" => {
            no_flags()?;
            Instruction::Cmd(command_line(node))
        }
        "entrypoint" => {
            no_flags()?;
            Instruction::Entrypoint(command_line(node))
        }
        "shell" => {
            no_flags()?;
            Instruction::Shell(shell(node)?)
        }
        "label" => {
            no_flags()?;
            Instruction::Label(key_values(args, "LABEL")?)
        }
        "env" => {
            no_flags()?;
            Instruction::Env(key_values(args, "ENV")?)
        }
        "maintainer" => Instruction::Maintainer(one_arg(node, "MAINTAINER")?),
        "user" => Instruction::User(one_arg(node, "USER")?),
        "workdir" => Instruction::Workdir(one_arg(node, "WORKDIR")?),
        "stopsignal" => Instruction::StopSignal(stop_signal(node)?),
        "expose" => Instruction::Expose(expose(node)?),
        "volume" => Instruction::Volume(volume(node)?),
        "add" => Instruction::Add(add(node)?),
        "copy" => Instruction::Copy(copy(node)?),
        "arg" => Instruction::Arg(arg(node)?),
        "onbuild" => Instruction::Onbuild(onbuild(node)?),
        "healthcheck" => Instruction::Healthcheck(healthcheck(node)?),
        _ => return Err(InstructionError::Unknown(node.keyword.clone())),
    })
}

/// Stage names as buildkit accepts them: `[a-z][a-z0-9-_.]*`.
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn from(node: &Node) -> Result<From, InstructionError> {
    let a = &node.args;
    let name = match a.len() {
        1 => None,
        3 if a[1].eq_ignore_ascii_case("as") => {
            let name = a[2].to_ascii_lowercase();
            if !valid_stage_name(&name) {
                return Err(InstructionError::StageName(a[2].clone()));
            }
            Some(name)
        }
        _ => return Err(arguments("FROM", Arity::OneOrThree)),
    };
    let flags = Flags::parse(&node.flags, &[("platform", Str)])?;
    Ok(From {
        image: a[0].clone(),
        platform: flags.string("platform"),
        name,
    })
}

fn command_line(node: &Node) -> CommandLine {
    if node.json || node.args.is_empty() {
        CommandLine::Exec(node.args.clone())
    } else {
        CommandLine::Shell(node.args[0].clone())
    }
}

fn run(node: &Node) -> Result<Run, InstructionError> {
    let flags = Flags::parse(
        &node.flags,
        &[("mount", Strs), ("network", Str), ("security", Str)],
    )?;
    if node.args.is_empty() {
        return Err(arguments("RUN", Arity::AtLeastOne));
    }
    let mounts = flags
        .strings("mount")
        .into_iter()
        .map(|spec| {
            let mount = parse_mount(&spec, None)?;
            Ok(MountSpec { spec, mount })
        })
        .collect::<Result<_, MountError>>()?;
    let network = match flags.string("network").as_deref() {
        None => None,
        Some("default") => Some(Network::Default),
        Some("none") => Some(Network::None),
        Some("host") => Some(Network::Host),
        Some(other) => return Err(InstructionError::Network(other.to_string())),
    };
    let security = match flags.string("security").as_deref() {
        None => None,
        Some("sandbox") => Some(Security::Sandbox),
        Some("insecure") => Some(Security::Insecure),
        Some(other) => return Err(InstructionError::Security(other.to_string())),
    };
    Ok(Run {
        command: command_line(node),
        mounts,
        network,
        security,
        heredocs: node.heredocs.clone(),
    })
}

fn shell(node: &Node) -> Result<Vec<String>, InstructionError> {
    if !node.json && !node.args.is_empty() {
        return Err(InstructionError::ShellNotJson);
    }
    if node.args.is_empty() {
        return Err(arguments("SHELL", Arity::AtLeastOne));
    }
    Ok(node.args.clone())
}

/// The parser gives `key, value, separator` triples.
fn key_values(args: &[String], keyword: &'static str) -> Result<Vec<KeyValue>, InstructionError> {
    if args.is_empty() {
        return Err(arguments(keyword, Arity::AtLeastOne));
    }
    args.chunks(3)
        .map(|t| match t {
            [k, ..] if k.is_empty() => Err(InstructionError::BlankName(keyword)),
            [k, v, sep] => Ok(KeyValue {
                key: k.clone(),
                value: v.clone(),
                legacy: sep.is_empty(),
            }),
            _ => Err(InstructionError::TooManyArguments(keyword)),
        })
        .collect()
}

fn one_arg(node: &Node, keyword: &'static str) -> Result<String, InstructionError> {
    Flags::parse(&node.flags, &[])?;
    match node.args.as_slice() {
        [a] => Ok(a.clone()),
        _ => Err(arguments(keyword, Arity::ExactlyOne)),
    }
}

fn stop_signal(node: &Node) -> Result<String, InstructionError> {
    let sig = one_arg(node, "STOPSIGNAL")?;
    if !sig.contains('$') {
        parse_signal(&sig)?;
    }
    Ok(sig)
}

fn expose(node: &Node) -> Result<Vec<String>, InstructionError> {
    Flags::parse(&node.flags, &[])?;
    if node.args.is_empty() {
        return Err(arguments("EXPOSE", Arity::AtLeastOne));
    }
    for p in node.args.iter().filter(|p| !p.contains('$')) {
        parse_port(p)?;
    }
    Ok(node.args.clone())
}

/// Parses `port[-end][/proto]` (protocol case-insensitive).
pub fn parse_port(spec: &str) -> Result<PortSpec, PortError> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(PortError::Protocol(proto));
    }
    let bad = || PortError::Port(ports.to_string());
    let num = |s: &str| s.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad);
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(ports)?, num(ports)?),
    };
    if end < start {
        return Err(PortError::Range(ports.to_string()));
    }
    Ok(PortSpec { start, end, proto })
}

fn volume(node: &Node) -> Result<Vec<String>, InstructionError> {
    Flags::parse(&node.flags, &[])?;
    if node.args.is_empty() {
        return Err(arguments("VOLUME", Arity::AtLeastOne));
    }
    node.args
        .iter()
        .map(|v| match v.trim() {
            "" => Err(InstructionError::EmptyVolume),
            v => Ok(v.to_string()),
        })
        .collect()
}

/// Splits COPY/ADD arguments into sources, inline sources and destination.
fn files(node: &Node, keyword: &'static str) -> Result<Files, InstructionError> {
    let Some((dest, sources)) = node.args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(arguments(keyword, Arity::AtLeastTwo));
    };
    let heredoc = |w: &str| {
        if node.json {
            None
        } else {
            parse_heredoc(w).ok().flatten()
        }
    };
    if heredoc(dest).is_some() {
        return Err(InstructionError::HeredocDestination(keyword));
    }
    let mut files = Files {
        sources: Vec::new(),
        inline: Vec::new(),
        dest: dest.clone(),
        json: node.json,
    };
    for src in sources {
        let Some(h) = heredoc(src) else {
            files.sources.push(src.clone());
            continue;
        };
        let body = node.heredocs.iter().find(|d| d.name == h.name);
        let content = body.map(|d| d.content.as_str()).unwrap_or_default();
        files.inline.push(InlineSource {
            content: if h.chomp {
                chomp(content)
            } else {
                content.to_string()
            },
            name: h.name,
            expand: h.expand,
        });
    }
    Ok(files)
}

/// `<<-` bodies lose the leading tabs of every line.
fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

fn copy(node: &Node) -> Result<Copy, InstructionError> {
    let flags = Flags::parse(
        &node.flags,
        &[
            ("from", Str),
            ("chown", Str),
            ("chmod", Str),
            ("link", Bool),
            ("parents", Bool),
            ("exclude", Strs),
        ],
    )?;
    Ok(Copy {
        files: files(node, "COPY")?,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        parents: flags.bool("parents").unwrap_or(false),
        excludes: flags.strings("exclude"),
    })
}

fn add(node: &Node) -> Result<Add, InstructionError> {
    let flags = Flags::parse(
        &node.flags,
        &[
            ("chown", Str),
            ("chmod", Str),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", Str),
            ("unpack", Bool),
            ("exclude", Strs),
        ],
    )?;
    Ok(Add {
        files: files(node, "ADD")?,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link").unwrap_or(false),
        keep_git_dir: flags.bool("keep-git-dir"),
        checksum: flags.string("checksum"),
        unpack: flags.bool("unpack"),
        excludes: flags.strings("exclude"),
    })
}

fn arg(node: &Node) -> Result<Vec<ArgDef>, InstructionError> {
    Flags::parse(&node.flags, &[])?;
    if node.args.is_empty() {
        return Err(arguments("ARG", Arity::AtLeastOne));
    }
    node.args
        .iter()
        .map(|a| {
            let (name, default) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            if name.is_empty() {
                return Err(InstructionError::BlankName("ARG"));
            }
            Ok(ArgDef {
                name: name.to_string(),
                default,
            })
        })
        .collect()
}

fn onbuild(node: &Node) -> Result<Onbuild, InstructionError> {
    Flags::parse(&node.flags, &[])?;
    let Some(sub) = &node.sub else {
        return Err(arguments("ONBUILD", Arity::AtLeastOne));
    };
    match sub.command().as_str() {
        "onbuild" => return Err(InstructionError::OnbuildChain),
        "from" | "maintainer" => {
            let kw = sub.keyword.to_ascii_uppercase();
            return Err(InstructionError::OnbuildTrigger(kw));
        }
        _ => {}
    }
    // The parser hangs heredocs on the ONBUILD node; they belong to the
    // trigger.
    let mut trigger = (**sub).clone();
    trigger.heredocs = node.heredocs.clone();
    let mut expression = trim_keyword(&node.original).to_string();
    for h in &node.heredocs {
        expression.push('\n');
        expression.push_str(&h.content);
        expression.push_str(&h.name);
    }
    Ok(Onbuild {
        expression,
        trigger: Box::new(instruction(&trigger)?),
    })
}

/// The text after the first word (the keyword) and its blanks.
fn trim_keyword(line: &str) -> &str {
    let line = line.trim_start();
    let rest = line.find(char::is_whitespace).map_or("", |i| &line[i..]);
    rest.trim_start()
}

fn healthcheck(node: &Node) -> Result<Healthcheck, InstructionError> {
    let Some((typ, rest)) = node.args.split_first() else {
        return Err(arguments("HEALTHCHECK", Arity::AtLeastOne));
    };
    let typ = typ.to_ascii_uppercase();
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err(InstructionError::HealthcheckNoneArguments);
        }
        return Ok(Healthcheck::None);
    }
    let names = [
        "interval",
        "timeout",
        "start-period",
        "start-interval",
        "retries",
    ];
    let accepted: Vec<_> = names.iter().map(|&n| (n, Str)).collect();
    let flags = Flags::parse(&node.flags, &accepted)?;
    if typ != "CMD" {
        return Err(InstructionError::HealthcheckType(typ));
    }
    if rest.is_empty() {
        return Err(InstructionError::HealthcheckCommand);
    }
    let test = if node.json {
        std::iter::once("CMD".to_string())
            .chain(rest.iter().cloned())
            .collect()
    } else {
        vec!["CMD-SHELL".to_string(), rest.join(" ")]
    };
    let interval = |name| health_interval(name, flags.string(name));
    Ok(Healthcheck::Check(HealthConfig {
        test,
        interval: interval("interval")?,
        timeout: interval("timeout")?,
        start_period: interval("start-period")?,
        start_interval: interval("start-interval")?,
        retries: retries(flags.string("retries"))?,
    }))
}

/// A HEALTHCHECK duration flag: zero means the default; otherwise at least
/// a millisecond.
fn health_interval(
    name: &str,
    value: Option<String>,
) -> Result<Option<Duration>, InstructionError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match parse_go_duration(&v)? {
        0 => Ok(None),
        n if n < 1_000_000 => Err(InstructionError::IntervalTooShort(name.to_string())),
        n => Ok(Some(Duration::from_nanos(n as u64))),
    }
}

fn retries(value: Option<String>) -> Result<Option<u32>, InstructionError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n: i32 = v
        .parse()
        .map_err(|_| InstructionError::Retries(v.clone()))?;
    if n < 0 {
        return Err(InstructionError::NegativeRetries(n));
    }
    Ok(Some(n as u32))
}

/// What an instruction's arguments are expanded with.
pub struct Expander<'a> {
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// The file's escape character.
    pub escape: char,
    /// The build's, which every expanded value is charged to.
    pub budget: Option<&'a Budget>,
}

impl Expander<'_> {
    pub fn word(&self, s: &str) -> Result<String, ExpandError> {
        let w = crate::expand::expand(s, self.lookup, self.escape)?;
        self.charge(w.len())?;
        Ok(w)
    }

    fn words(&self, s: &str) -> Result<Vec<String>, ExpandError> {
        let w = crate::expand::expand_words(s, self.lookup, self.escape)?;
        self.charge(w.iter().map(String::len).sum())?;
        Ok(w)
    }

    fn charge(&self, bytes: usize) -> Result<(), ExpandError> {
        self.budget.map_or(Ok(()), |b| b.charge(bytes))
    }

    fn opt(&self, s: &Option<String>) -> Result<Option<String>, ExpandError> {
        s.as_deref().map(|s| self.word(s)).transpose()
    }

    fn all(&self, v: &[String]) -> Result<Vec<String>, ExpandError> {
        v.iter().map(|s| self.word(s)).collect()
    }
}

impl Instruction {
    /// The arguments with variables and quotes resolved, for the
    /// instructions the builder expands: ADD, COPY (not `--from`), ENV,
    /// EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and RUN's
    /// `--mount` values. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER
    /// and ONBUILD are returned unchanged (their variables are the shell's
    /// business, or the child build's); ARG defaults are expanded one at a
    /// time by the stage scope, as each may use the previous ones.
    pub fn expand(&self, x: &Expander) -> Result<Instruction, InstructionError> {
        use Instruction as I;
        Ok(match self {
            I::From(f) => I::From(From {
                image: match x.word(&f.image)? {
                    i if i.is_empty() => {
                        return Err(InstructionError::BlankBaseName(f.image.clone()));
                    }
                    i => i,
                },
                platform: x.opt(&f.platform)?,
                name: f.name.clone(),
            }),
            I::Env(kvs) => I::Env(expand_pairs(kvs, x)?),
            I::Label(kvs) => I::Label(expand_pairs(kvs, x)?),
            I::Expose(ports) => I::Expose(expand_ports(ports, x)?),
            I::User(s) => I::User(x.word(s)?),
            I::Workdir(s) => I::Workdir(x.word(s)?),
            I::StopSignal(s) => {
                let sig = x.word(s)?;
                parse_signal(&sig)?;
                I::StopSignal(sig)
            }
            I::Volume(v) => I::Volume(x.all(v)?),
            I::Copy(c) => I::Copy(Copy {
                files: expand_files(&c.files, x)?,
                // `--from=$STAGE`: the stage's ARGs name it.
                from: x.opt(&c.from)?,
                chown: x.opt(&c.chown)?,
                chmod: x.opt(&c.chmod)?,
                excludes: x.all(&c.excludes)?,
                ..c.clone()
            }),
            I::Add(a) => I::Add(Add {
                files: expand_files(&a.files, x)?,
                chown: x.opt(&a.chown)?,
                chmod: x.opt(&a.chmod)?,
                checksum: x.opt(&a.checksum)?,
                excludes: x.all(&a.excludes)?,
                ..a.clone()
            }),
            I::Run(r) => I::Run(Run {
                mounts: expand_mounts(&r.mounts, x)?,
                ..r.clone()
            }),
            other => other.clone(),
        })
    }
}

fn expand_pairs(kvs: &[KeyValue], x: &Expander) -> Result<Vec<KeyValue>, InstructionError> {
    kvs.iter()
        .map(|kv| {
            Ok(KeyValue {
                key: x.word(&kv.key)?,
                value: x.word(&kv.value)?,
                legacy: kv.legacy,
            })
        })
        .collect()
}

/// EXPOSE splits after expansion (`EXPOSE $PORTS`) and checks every port.
fn expand_ports(ports: &[String], x: &Expander) -> Result<Vec<String>, InstructionError> {
    let mut out = Vec::new();
    for p in ports {
        out.extend(x.words(p)?);
    }
    for p in &out {
        parse_port(p)?;
    }
    Ok(out)
}

fn expand_files(f: &Files, x: &Expander) -> Result<Files, InstructionError> {
    // Heredoc bodies: variables only, quotes are left alone.
    let body = Lexer {
        skip_quotes: true,
        ..Lexer::new('\\')
    };
    let inline = f
        .inline
        .iter()
        .map(|s| {
            let content = if s.expand {
                let c = body.word(&s.content, x.lookup)?;
                x.charge(c.len())?;
                c
            } else {
                s.content.clone()
            };
            Ok(InlineSource {
                content,
                ..s.clone()
            })
        })
        .collect::<Result<_, ExpandError>>()?;
    Ok(Files {
        sources: x.all(&f.sources)?,
        inline,
        dest: x.word(&f.dest)?,
        json: f.json,
    })
}

fn expand_mounts(mounts: &[MountSpec], x: &Expander) -> Result<Vec<MountSpec>, InstructionError> {
    let value = |v: &str| x.word(v);
    mounts
        .iter()
        .map(|m| {
            Ok(MountSpec {
                spec: m.spec.clone(),
                mount: parse_mount(&m.spec, Some(&value))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
