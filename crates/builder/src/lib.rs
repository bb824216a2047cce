//! berth-builder: a Containerfile/Dockerfile parser.
//!
//! The layers, each usable alone:
//! 1. [`parse_ast`]: directives, logical lines, heredocs, untyped nodes.
//! 2. [`parse_instructions`]: typed [`Instruction`]s, checked (flags,
//!    argument counts, mounts, durations...), arguments still as written.
//! 3. [`parse`]: the typed file split into [`Stage`]s; [`globals`],
//!    [`Scope`], [`expand_stage`] and [`expand_plan`] resolve variables the
//!    way the builder does; [`plan`] picks the stages a `--target` needs.
//! 4. [`Ignore`]: `.containerignore`/`.dockerignore` matching for the
//!    build context.

pub mod builder;
pub mod configure;
pub mod directives;
pub mod error;
pub mod execute;
pub mod expand;
mod flags;
pub mod ignore;
pub mod images;
pub mod inputs;
pub mod inspect;
pub mod instructions;
mod lexer;
pub mod mount;
pub mod parser;
pub mod run_mounts;
mod signal;
pub mod source;
pub mod stages;

pub use berth_engine::duration::parse_go_duration;
pub use directives::Directives;
pub use error::{BuildError, CopyError, InvalidMode, ParseError, StepError};
pub use expand::{ExpandError, expand, expand_words};
pub use ignore::Ignore;
pub use instructions::{
    Add, ArgDef, CommandLine, Copy, Expander, Files, From, HealthConfig, Healthcheck, InlineSource,
    Instruction, KeyValue, Located, Network, Onbuild, PortSpec, Run, Security, parse_instructions,
    parse_port,
};
pub use mount::{Mount, MountSpec, MountType, Sharing, parse_mount};
pub use parser::{Ast, Heredoc, Node, parse_ast};
pub use signal::parse_signal;
pub use stages::{
    BuildOptions, Containerfile, ContextSource, ExpandedStage, Globals, ImageRef, ImageUse, Plan,
    Platform, Scope, Stage, Vars, expand_plan, expand_stage, globals, parse, plan,
};
