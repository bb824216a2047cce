//! berth-build: a Containerfile/Dockerfile parser.

pub mod directives;
pub mod error;
pub mod expand;
mod lexer;
pub mod parser;

pub use directives::Directives;
pub use error::ParseError;
pub use expand::{ExpandError, expand, expand_words};
pub use parser::{Ast, Heredoc, Node, parse_ast};
