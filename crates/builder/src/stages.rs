//! Stages, variable scoping and stage planning.
//!
//! Scoping follows docker/buildkit (and buildah):
//! - ARGs before the first FROM are global: usable in FROM lines only, and
//!   inside a stage only once redeclared there (`ARG NAME` without a value
//!   takes the global value).
//! - The platform ARGs (BUILDPLATFORM, TARGETARCH, ...) and TARGETSTAGE are
//!   predeclared globals, under the same rule.
//! - `--build-arg` values replace the default of a declared ARG, global or
//!   not; a build arg nobody declares is not visible, except the proxy ones
//!   (HTTP_PROXY...), which reach RUN's environment without a declaration.
//! - In a stage, ENV (including the base image's) overrides an ARG of the
//!   same name, whatever their order.
//!
//! Planning: for a `--target` (by default the last stage), the stages it
//! needs through `FROM <stage>`, `COPY --from=<stage|index>` and
//! `RUN --mount=from=<stage|index>`, earlier stages first. A name that is not
//! an earlier stage is an image reference.

use crate::directives::Directives;
use crate::error::ParseError;
use crate::expand::{Budget, ExpandError, expand};
use crate::instructions::{
    ArgDef, Expander, From, Instruction, InstructionError, KeyValue, Located, parse_instructions,
};
use crate::mount::spec_from;
use crate::parser::parse_ast;
use std::collections::BTreeMap;

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position among the stages, from 0.
    pub index: usize,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// The FROM instruction, unexpanded.
    pub from: From,
    /// Line of the FROM.
    pub line: usize,
    pub instructions: Vec<Located>,
}

/// A whole Containerfile, typed and split into stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    /// The file name used in messages.
    pub file: String,
    pub directives: Directives,
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<Located>,
    pub stages: Vec<Stage>,
}

/// Parses and types a Containerfile, then splits it into stages.
/// A Containerfile whose stages do not make a build, in buildkit's words
/// (the caller adds `file:line`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("no FROM instruction: nothing to build")]
    NoFrom,
    #[error("{0} before the first FROM: no build stage in current context")]
    BeforeFrom(String),
    #[error("target stage \"{0}\" could not be found")]
    NoTarget(String),
    /// `--from=N` naming the current or a later stage by index...
    #[error(
        "cannot copy from stage {index}, it needs to be defined before current stage {current}"
    )]
    LaterIndex { index: usize, current: String },
    /// ...or by name.
    #[error(
        "cannot copy from stage \"{name}\", it needs to be defined before current stage \"{current}\""
    )]
    LaterName { name: String, current: String },
    /// FROM naming a `--build-context` that is a directory.
    #[error("FROM {0}: the build context of that name is a directory, not an image")]
    DirectoryBase(String),
}

/// `--platform` or `FROM --platform` that is not `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform \"{0}\": expected os/arch[/variant]")]
pub struct InvalidPlatform(pub String);

pub fn parse(text: &str, file: &str) -> Result<Containerfile, ParseError> {
    let ast = parse_ast(text, file)?;
    let mut cf = Containerfile {
        file: file.to_string(),
        directives: ast.directives.clone(),
        meta_args: Vec::new(),
        stages: Vec::new(),
    };
    for located in parse_instructions(&ast, file)? {
        add_instruction(&mut cf, located)?;
    }
    if cf.stages.is_empty() {
        let line = cf.meta_args.last().map_or(0, |l| l.line);
        return Err(ParseError::new(file, line, StageError::NoFrom));
    }
    Ok(cf)
}

fn add_instruction(cf: &mut Containerfile, located: Located) -> Result<(), ParseError> {
    let fail = |e: StageError| Err(ParseError::new(&cf.file, located.line, e));
    match (&located.instruction, cf.stages.last_mut()) {
        // A name given twice is buildah's to take: a reference means the
        // last stage of that name before it.
        (Instruction::From(from), _) => {
            cf.stages.push(Stage {
                index: cf.stages.len(),
                name: from.name.clone(),
                from: from.clone(),
                line: located.line,
                instructions: Vec::new(),
            });
        }
        (_, Some(stage)) => stage.instructions.push(located),
        (Instruction::Arg(_), None) => cf.meta_args.push(located),
        (_, None) => {
            return fail(StageError::BeforeFrom(keyword(&located.original)));
        }
    }
    Ok(())
}

fn keyword(original: &str) -> String {
    let word = original.split_whitespace().next().unwrap_or_default();
    word.to_ascii_uppercase()
}

/// An OS/architecture/variant triple, as in `linux/arm/v7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The machine this runs on, with Go's architecture names.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            arch: arch.into(),
            variant: variant.map(String::from),
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Platform, InvalidPlatform> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_ascii_lowercase(),
                arch: arch.to_ascii_lowercase(),
                variant: parts.get(2).map(|v| v.to_ascii_lowercase()),
            }),
            _ => Err(InvalidPlatform(s.to_string())),
        }
    }

    /// `os/arch[/variant]`.
    pub fn format(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.arch),
            None => format!("{}/{}", self.os, self.arch),
        }
    }
}

/// What a build is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// `--build-arg NAME=value`.
    pub build_args: BTreeMap<String, String>,
    /// `--target`: a stage name; the last stage when `None`.
    pub target: Option<String>,
    pub target_platform: Platform,
    pub build_platform: Platform,
    /// `--build-context NAME=…`: what FROM NAME and `--from=NAME` read instead
    /// of an image of that name.
    pub contexts: BTreeMap<String, ContextSource>,
    /// Every stage up to the target is built, not only those it needs
    /// (buildah's `--skip-unused-stages=false`).
    pub all_stages: bool,
}

/// A named build context's kind, as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextSource {
    /// A directory: `--from` reads its files; FROM cannot use it.
    Directory,
    /// An image, by reference.
    Image(String),
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            build_args: BTreeMap::new(),
            target: None,
            target_platform: Platform::host(),
            build_platform: Platform::host(),
            contexts: BTreeMap::new(),
            all_stages: false,
        }
    }
}

impl BuildOptions {
    /// The named build context `name` stands for, if it names one.
    pub fn context(&self, name: &str) -> Option<&ContextSource> {
        self.contexts
            .get(name)
            .or_else(|| self.contexts.get(&name.to_ascii_lowercase()))
    }
}

/// Build args that reach RUN without an ARG declaration (and are kept out of
/// the image's history, as they often carry credentials).
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// An ordered variable list where setting a name again replaces its value
/// in place (like an environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars(Vec<(String, String)>);

impl Vars {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.0.push((name.to_string(), value.to_string())),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Vars {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut vars = Vars::default();
        for (k, v) in iter {
            vars.set(&k.into(), &v.into());
        }
        vars
    }
}

/// The global scope: predeclared platform ARGs and the ARGs before the
/// first FROM, with `--build-arg` applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Globals {
    pub vars: Vars,
    escape: char,
    /// What the build's expansions may still make ([`crate::expand::MAX_TOTAL`]).
    budget: Budget,
}

/// Computes the global scope of `cf` for a build.
pub fn globals(cf: &Containerfile, opts: &BuildOptions) -> Result<Globals, ParseError> {
    let mut vars = predefined(opts);
    let budget = Budget::default();
    for located in &cf.meta_args {
        let Instruction::Arg(defs) = &located.instruction else {
            continue;
        };
        for def in defs {
            let lookup = |n: &str| vars.get(n).map(String::from);
            let value = arg_value(
                def,
                &opts.build_args,
                cf.directives.escape,
                &lookup,
                &budget,
            )
            .map_err(|m| ParseError::new(&cf.file, located.line, m))?;
            if let Some(v) = value {
                vars.set(&def.name, &v);
            }
        }
    }
    Ok(Globals {
        vars,
        escape: cf.directives.escape,
        budget,
    })
}

fn predefined(opts: &BuildOptions) -> Vars {
    let (t, b) = (&opts.target_platform, &opts.build_platform);
    let some = |v: &Option<String>| v.clone().unwrap_or_default();
    let list = [
        ("BUILDPLATFORM", b.format()),
        ("BUILDOS", b.os.clone()),
        ("BUILDARCH", b.arch.clone()),
        ("BUILDVARIANT", some(&b.variant)),
        ("TARGETPLATFORM", t.format()),
        ("TARGETOS", t.os.clone()),
        ("TARGETARCH", t.arch.clone()),
        ("TARGETVARIANT", some(&t.variant)),
        (
            "TARGETSTAGE",
            opts.target.clone().unwrap_or("default".into()),
        ),
    ];
    list.into_iter()
        .map(|(k, v)| {
            let v = opts.build_args.get(k).cloned().unwrap_or(v);
            (k, v)
        })
        .collect()
}

/// The value an ARG takes: the build arg if given (taken literally), else
/// its default expanded with `lookup` (and charged to `budget`); `None` for
/// a bare ARG.
fn arg_value(
    def: &ArgDef,
    build_args: &BTreeMap<String, String>,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    budget: &Budget,
) -> Result<Option<String>, ExpandError> {
    if let Some(v) = build_args.get(&def.name) {
        return Ok(Some(v.clone()));
    }
    let Some(d) = def.default.as_deref() else {
        return Ok(None);
    };
    let v = expand(d, lookup, escape)?;
    budget.charge(v.len())?;
    Ok(Some(v))
}

impl Globals {
    /// A global's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name)
    }

    /// A stage's FROM with its image and platform expanded (global ARGs
    /// only).
    pub fn expand_from(&self, from: &From) -> Result<From, InstructionError> {
        let lookup = |n: &str| self.vars.get(n).map(String::from);
        let x = Expander {
            lookup: &lookup,
            escape: self.escape,
            budget: Some(&self.budget),
        };
        match Instruction::From(from.clone()).expand(&x)? {
            Instruction::From(f) => Ok(f),
            _ => unreachable!("FROM expands to FROM"),
        }
    }
}

/// The variables in force at one point of a stage.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    globals: &'a Globals,
    build_args: &'a BTreeMap<String, String>,
    /// ARGs declared in the stage that have a value.
    pub args: Vars,
    /// The environment: the base's, then ENV instructions.
    pub env: Vars,
}

impl<'a> Scope<'a> {
    /// A stage's starting scope; `base_env` is the base image's (or base
    /// stage's) environment.
    pub fn new(
        globals: &'a Globals,
        build_args: &'a BTreeMap<String, String>,
        base_env: Vars,
    ) -> Self {
        Scope {
            globals,
            build_args,
            args: Vars::default(),
            env: base_env,
        }
    }

    /// A variable as instructions see it: ENV first, then ARG.
    pub fn lookup(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .or_else(|| self.args.get(name))
            .map(String::from)
    }

    /// Expands one instruction in this scope and applies its effect on the
    /// scope (ARG, ENV). Returns the expanded instruction; for ARG, each
    /// `default` is replaced by the value the ARG took (build arg, expanded
    /// default or global), `None` when it has none.
    pub fn apply(&mut self, located: &Located, file: &str) -> Result<Located, ParseError> {
        let fail = |e: InstructionError| ParseError::new(file, located.line, e);
        let instruction = match &located.instruction {
            Instruction::Arg(defs) => {
                Instruction::Arg(self.declare(defs).map_err(|e| fail(e.into()))?)
            }
            other => {
                let lookup = |n: &str| self.lookup(n);
                let x = Expander {
                    lookup: &lookup,
                    escape: self.globals.escape,
                    budget: Some(&self.globals.budget),
                };
                other.expand(&x).map_err(fail)?
            }
        };
        if let Instruction::Env(pairs) = &instruction {
            for KeyValue { key, value, .. } in pairs {
                self.env.set(key, value);
            }
        }
        Ok(Located {
            instruction,
            ..located.clone()
        })
    }

    /// ARG in a stage; each default may use the ARGs before it.
    fn declare(&mut self, defs: &[ArgDef]) -> Result<Vec<ArgDef>, ExpandError> {
        let mut out = Vec::new();
        for def in defs {
            let lookup = |n: &str| self.lookup(n);
            let mut value = arg_value(
                def,
                self.build_args,
                self.globals.escape,
                &lookup,
                &self.globals.budget,
            )?;
            if value.is_none() {
                value = self.globals.get(&def.name).map(String::from);
            }
            if let Some(v) = &value {
                self.args.set(&def.name, v);
            }
            out.push(ArgDef {
                name: def.name.clone(),
                default: value,
            });
        }
        Ok(out)
    }

    /// The environment RUN gets: ENV, the ARGs ENV does not override, and
    /// the proxy build args.
    pub fn run_env(&self) -> Vars {
        let mut vars = self.env.clone();
        for (k, v) in self.args.iter() {
            if vars.get(k).is_none() {
                vars.set(k, v);
            }
        }
        for (k, v) in self.build_args {
            if PROXY_ARGS.contains(&k.as_str()) && vars.get(k).is_none() {
                vars.set(k, v);
            }
        }
        vars
    }
}

/// A stage with every argument expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandedStage {
    pub from: From,
    pub instructions: Vec<Located>,
    /// The environment at the end of the stage (for stages built on it).
    pub env: Vars,
    /// The stage's ARGs with values, at its end.
    pub args: Vars,
}

/// Expands a whole stage, given its base's environment.
pub fn expand_stage(
    cf: &Containerfile,
    stage: &Stage,
    globals: &Globals,
    opts: &BuildOptions,
    base_env: Vars,
) -> Result<ExpandedStage, ParseError> {
    let from = globals
        .expand_from(&stage.from)
        .map_err(|m| ParseError::new(&cf.file, stage.line, m))?;
    let mut scope = Scope::new(globals, &opts.build_args, base_env);
    let instructions = stage
        .instructions
        .iter()
        .map(|l| scope.apply(l, &cf.file))
        .collect::<Result<_, _>>()?;
    Ok(ExpandedStage {
        from,
        instructions,
        env: scope.env,
        args: scope.args,
    })
}

/// Expands the planned stages in build order. A stage built on an earlier
/// stage starts from that stage's final environment; one built on an image
/// from `image_env(reference)` (the image's configured `Env`), or empty for
/// `scratch`.
pub fn expand_plan(
    cf: &Containerfile,
    plan: &Plan,
    globals: &Globals,
    opts: &BuildOptions,
    image_env: &dyn Fn(&str) -> Vars,
) -> Result<Vec<(usize, ExpandedStage)>, ParseError> {
    let mut done: Vec<(usize, ExpandedStage)> = Vec::new();
    for &i in &plan.order {
        let stage = &cf.stages[i];
        let from = globals
            .expand_from(&stage.from)
            .map_err(|m| ParseError::new(&cf.file, stage.line, m))?;
        let base_stage = cf.stages[..i].iter().rev().find(|s| named(s, &from.image));
        let base_env = match base_stage {
            Some(b) => done
                .iter()
                .find(|(j, _)| *j == b.index)
                .map(|(_, e)| e.env.clone())
                .unwrap_or_default(),
            None if from.image.eq_ignore_ascii_case("scratch") => Vars::default(),
            None => image_env(&from.image),
        };
        // Each stage holds an environment of its own.
        let size = base_env.iter().map(|(k, v)| k.len() + v.len()).sum();
        globals
            .budget
            .charge(size)
            .map_err(|m| ParseError::new(&cf.file, stage.line, m))?;
        done.push((i, expand_stage(cf, stage, globals, opts, base_env)?));
    }
    Ok(done)
}

/// How a stage uses an image that is not one of the file's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageUse {
    /// `FROM image`.
    Base,
    /// `COPY --from=image`.
    CopyFrom,
    /// `RUN --mount=from=image`.
    MountFrom,
}

/// An image reference found while planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub reference: String,
    pub usage: ImageUse,
    /// The stage using it and the line.
    pub stage: usize,
    pub line: usize,
}

/// The stages to build, in order, and the images they need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Index of the target stage (the last of `order`).
    pub target: usize,
    /// Stage indexes, each after the stages it needs.
    pub order: Vec<usize>,
    /// Images used by the planned stages (not `scratch`).
    pub images: Vec<ImageRef>,
}

/// What a stage refers to: earlier stages and images.
#[derive(Debug, Default)]
struct Deps {
    stages: Vec<usize>,
    images: Vec<ImageRef>,
}

/// Plans the build of `opts.target`.
pub fn plan(
    cf: &Containerfile,
    globals: &Globals,
    opts: &BuildOptions,
) -> Result<Plan, ParseError> {
    let target = find_target(cf, opts.target.as_deref())?;
    let deps = cf
        .stages
        .iter()
        .map(|s| stage_deps(cf, s, globals, opts))
        .collect::<Result<Vec<_>, _>>()?;
    let mut needed = vec![false; cf.stages.len()];
    mark(target, &deps, &mut needed);
    if opts.all_stages {
        needed[..=target].fill(true);
    }
    let order: Vec<usize> = (0..cf.stages.len()).filter(|&i| needed[i]).collect();
    let images = order.iter().flat_map(|&i| deps[i].images.clone()).collect();
    Ok(Plan {
        target,
        order,
        images,
    })
}

fn find_target(cf: &Containerfile, target: Option<&str>) -> Result<usize, ParseError> {
    let Some(name) = target else {
        return Ok(cf.stages.len() - 1);
    };
    let lower = name.to_ascii_lowercase();
    cf.stages
        .iter()
        .rposition(|s| s.name.as_deref() == Some(lower.as_str()))
        .ok_or_else(|| ParseError::new(&cf.file, 0, StageError::NoTarget(name.to_string())))
}

/// Marks `i` and, transitively, the stages it needs. Dependencies always
/// point to earlier stages, so this terminates and index order is a valid
/// build order.
/// A worklist, not recursion: a chain of stages as long as a hostile
/// Containerfile makes it cannot exhaust the stack.
fn mark(i: usize, deps: &[Deps], needed: &mut [bool]) {
    let mut todo = vec![i];
    while let Some(i) = todo.pop() {
        if !needed[i] {
            needed[i] = true;
            todo.extend(&deps[i].stages);
        }
    }
}

fn stage_deps(
    cf: &Containerfile,
    stage: &Stage,
    globals: &Globals,
    opts: &BuildOptions,
) -> Result<Deps, ParseError> {
    let mut deps = Deps::default();
    let fail = |line: usize, e: &dyn std::fmt::Display| ParseError::new(&cf.file, line, e);
    let base = globals
        .expand_from(&stage.from)
        .map_err(|e| fail(stage.line, &e))?;
    let earlier = &cf.stages[..stage.index];
    match earlier.iter().rev().find(|s| named(s, &base.image)) {
        Some(s) => deps.stages.push(s.index),
        None if base.image.eq_ignore_ascii_case("scratch") => {}
        None => {
            let reference = match opts.context(&base.image) {
                Some(ContextSource::Image(r)) => r.clone(),
                Some(ContextSource::Directory) => {
                    return Err(fail(stage.line, &StageError::DirectoryBase(base.image)));
                }
                None => base.image,
            };
            deps.images.push(ImageRef {
                reference,
                usage: ImageUse::Base,
                stage: stage.index,
                line: stage.line,
            })
        }
    }
    // The stage's own ARGs so far, which a `--from=$NAME` may use.
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    for l in &stage.instructions {
        let lookup = |n: &str| {
            args.get(n)
                .cloned()
                .or_else(|| globals.get(n).map(String::from))
        };
        if let Instruction::Arg(defs) = &l.instruction {
            let mut set = Vec::new();
            for def in defs {
                let value = arg_value(
                    def,
                    &opts.build_args,
                    globals.escape,
                    &lookup,
                    &globals.budget,
                )
                .map_err(|e| fail(l.line, &e))?
                .or_else(|| globals.get(&def.name).map(String::from));
                set.extend(value.map(|v| (def.name.clone(), v)));
            }
            args.extend(set);
            continue;
        }
        for (from, usage) in from_refs(&l.instruction) {
            let from = expand(&from, &lookup, globals.escape)
                .and_then(|f| globals.budget.charge(f.len()).map(|()| f))
                .map_err(|e| fail(l.line, &e))?;
            let r = source_stage(cf, stage, &from).map_err(|e| fail(l.line, &e))?;
            match (r, opts.context(&from)) {
                (Some(i), _) => deps.stages.push(i),
                (None, Some(ContextSource::Directory)) => {}
                (None, context) => deps.images.push(ImageRef {
                    reference: match context {
                        Some(ContextSource::Image(r)) => r.clone(),
                        _ => from,
                    },
                    usage,
                    stage: stage.index,
                    line: l.line,
                }),
            }
        }
    }
    Ok(deps)
}

fn named(stage: &Stage, name: &str) -> bool {
    stage.name.as_deref() == Some(name.to_ascii_lowercase().as_str())
}

/// The `--from` values of an instruction.
fn from_refs(i: &Instruction) -> Vec<(String, ImageUse)> {
    match i {
        Instruction::Copy(c) => c
            .from
            .iter()
            .map(|f| (f.clone(), ImageUse::CopyFrom))
            .collect(),
        Instruction::Run(r) => r
            .mounts
            .iter()
            .filter_map(spec_from)
            .map(|f| (f, ImageUse::MountFrom))
            .collect(),
        _ => Vec::new(),
    }
}

/// Resolves a `--from` value: an earlier stage by name or index, or `None`
/// for an image. The current or a later stage is an error.
fn source_stage(
    cf: &Containerfile,
    current: &Stage,
    from: &str,
) -> Result<Option<usize>, StageError> {
    let here = || current.name.clone().unwrap_or(current.index.to_string());
    if let Ok(i) = from.parse::<usize>() {
        if i >= current.index {
            return Err(StageError::LaterIndex {
                index: i,
                current: here(),
            });
        }
        return Ok(Some(i));
    }
    let earlier = &cf.stages[..current.index];
    if let Some(s) = earlier.iter().rev().find(|s| named(s, from)) {
        return Ok(Some(s.index));
    }
    match cf.stages.iter().find(|s| named(s, from)) {
        Some(_) => Err(StageError::LaterName {
            name: from.to_string(),
            current: here(),
        }),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
