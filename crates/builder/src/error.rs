//! The crate's errors: [`ParseError`] for a Containerfile that does not
//! parse, [`BuildError`] for a build or a `berth builder` verb that fails.
//! No exit code travels inside them: the front end decides what each kind
//! means to its users (the CLI: podman's and buildah's exit codes).

use std::path::PathBuf;

use berth_engine::leases::LeaseError;
use berth_engine::run::RunError;

use crate::ignore::IgnoreError;
use crate::run_mounts::RunMountError;
use crate::stages::InvalidPlatform;

/// A problem in a Containerfile, located at a line of a file.
///
/// Displays as `FILE:LINE: what is wrong`, e.g.
/// `Containerfile:7: unknown instruction: FORM`, or `FILE: what is wrong`
/// for a problem of the whole file (line 0), such as an unknown `--target`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line_suffix(*line))]
pub struct ParseError {
    /// The file name given to [`crate::parse`].
    pub file: String,
    /// 1-based line number (the first line of the instruction at fault); 0
    /// when no line is at fault.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// `message` is what went wrong, usually one of the typed errors of the
    /// parsing layers (their text is what users see).
    pub fn new(file: &str, line: usize, message: impl std::fmt::Display) -> ParseError {
        ParseError {
            file: file.to_string(),
            line,
            message: message.to_string(),
        }
    }
}

/// How many characters of an instruction or a command an error message
/// quotes.
pub const QUOTED_CHARS: usize = 200;

/// `text` as an error message quotes it: whole up to [`QUOTED_CHARS`]
/// characters, else its start and `…`, so that a RUN of megabytes fails in
/// a line that still ends with why.
pub fn quoted(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(QUOTED_CHARS) {
        None => text.into(),
        Some((end, _)) => format!("{}…", &text[..end]).into(),
    }
}

fn line_suffix(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// A failed build, or a failed `berth builder` verb.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Containerfile (or a base image's ONBUILD triggers) does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Platform(#[from] InvalidPlatform),
    /// `.containerignore` or `.dockerignore` holds a bad pattern.
    #[error("{file}: {source}")]
    Ignore { file: String, source: IgnoreError },
    /// `--ignorefile` that cannot be read.
    #[error("--ignorefile {}: {source}", .path.display())]
    IgnoreFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A base or `--from` image a build needs is not in the store.
    #[error("creating build container: {0}: image not known")]
    ImageNotPulled(String),
    /// `builder from IMAGE` of an image not in the store.
    #[error("{0}: image not known")]
    ImageNotKnown(String),
    #[error("FROM {image}: the image is {found}, not {wanted} (pull it with --platform)")]
    WrongPlatform {
        image: String,
        found: String,
        wanted: String,
    },
    /// `FROM stage` of a stage whose commit has not happened.
    #[error("stage {0} has no image yet")]
    StageNotBuilt(String),
    #[error("ONBUILD {}: FROM and ONBUILD cannot be triggers", quoted(.0))]
    BadTrigger(String),
    /// An instruction that failed, with the instruction as written (its
    /// message quotes the start of it: [`quoted`]).
    #[error("building at STEP \"{}\": {source}", quoted(.instruction))]
    Step {
        instruction: String,
        // Boxed: the largest reason would make every result carry its size.
        source: Box<StepError>,
    },
    /// The build was interrupted (SIGINT, SIGTERM, SIGHUP) while a RUN ran: the
    /// RUN was killed and the build stops.
    #[error("building at STEP \"{}\": interrupted", quoted(.instruction))]
    Interrupted { instruction: String },
    /// A RUN whose command exited non-zero; buildah exits with its code.
    #[error(
        "building at STEP \"{}\": while running runtime: exit status {code}",
        quoted(.instruction)
    )]
    RunFailed { instruction: String, code: i32 },
    /// A command that could not run (not found, not executable, or the
    /// runtime failed): podman's 127, 126 or 125.
    #[error(transparent)]
    Run(RunError),
    /// A working container that could not be made.
    #[error(transparent)]
    CreateContainer(RunError),
    #[error("internal: no working container for the step")]
    NoWorkingContainer,
    /// A WORKDIR made in a container opened after it was set.
    #[error("WORKDIR {dir}: {source}")]
    Workdir { dir: String, source: Box<CopyError> },
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Mode(#[from] InvalidMode),
    /// `--chown` naming no user of the container.
    #[error(transparent)]
    Chown(berth_engine::spec::UserError),
    #[error(
        "{0}: not a working container of berth builder (made by `berth builder from` or `berth build`)"
    )]
    NotWorkingContainer(String),
    /// `builder copy --from` naming neither a container nor an image.
    #[error("--from {0}: no such container or image")]
    NoCopySource(String),
    #[error("{name}: in use by the build in process {pid}; it goes when that build ends")]
    InUse { name: String, pid: String },
    #[error("{0}: could not remove the container")]
    NotRemoved(String),
    /// `builder config --env/--label/--annotation` without `=` or `-`.
    #[error("{flag} {value}: expected KEY=VALUE or KEY-")]
    NotKeyValue { flag: String, value: String },
    /// A `builder config` flag whose value is wrong, and why.
    #[error("{flag} {value}: {why}")]
    InvalidFlag {
        flag: String,
        value: String,
        why: String,
    },
    /// `builder config --cmd/--entrypoint/--shell` starting with `[` but not
    /// a JSON array of strings.
    #[error("{value}: not a JSON array of strings: {source}")]
    NotJsonArray {
        value: String,
        source: serde_json::Error,
    },
    /// `builder config --cmd/--shell` with a quote left open.
    #[error("parsing {:?}: invalid command line string", quoted(.0))]
    NotCommandLine(String),
    /// A working container's saved state that does not read.
    #[error("{}: {source}", .path.display())]
    State {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Removing a working container's state file.
    #[error(transparent)]
    StateFile(std::io::Error),
    /// An image config that is not JSON, or one that cannot be written.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// A commit to a destination elsewhere (`docker://…`) that could not be
    /// written there.
    #[error("writing the image to {dest}: {source}")]
    CommitElsewhere {
        dest: String,
        source: Box<berth_engine::images::ImageError>,
    },
    /// A manifest list that could not be found or read.
    #[error(transparent)]
    ManifestList(berth_engine::images::ImageError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
    #[error(transparent)]
    Image(#[from] berth_image::Error),
}

/// Why an instruction failed (see [`BuildError::Step`]).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Mount(#[from] RunMountError),
    #[error("--from={0}: no such stage (images are not supported yet)")]
    NoStage(String),
    /// `--chown` naming no user of the container.
    #[error(transparent)]
    Chown(berth_engine::spec::UserError),
    #[error(transparent)]
    Mode(#[from] InvalidMode),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

/// `--chmod` that is not an octal mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--chmod {0}: expected an octal mode")]
pub struct InvalidMode(pub String);

/// Files that could not be copied into a root (COPY, ADD, `builder copy`,
/// a WORKDIR's directory), or a context source that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}: outside the build context")]
    OutsideContext(String),
    #[error("{0}: no such file or directory")]
    NoSource(String),
    /// A glob that matched nothing.
    #[error("{0}: no source files were specified")]
    NoMatch(String),
    #[error("{0}: excluded by .containerignore")]
    Excluded(String),
    #[error(transparent)]
    Pattern(#[from] IgnoreError),
    /// A source, as the instruction names it, that could not be read.
    #[error("{source_name}: {source}")]
    Read {
        source_name: String,
        source: std::io::Error,
    },
    /// A file on the host that could not be read or archived.
    #[error("{}: {source}", .path.display())]
    Entry {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The download could not start (names the URL itself).
    #[error(transparent)]
    Fetch(berth_image::Error),
    #[error("{url}: {source}")]
    Download { url: String, source: std::io::Error },
    #[error("{url}: larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The layer extractor refused or failed.
    #[error(transparent)]
    Apply(berth_storage::Error),
    /// Archiving, unpacking, a download's file, the pipe to the extractor.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl CopyError {
    /// The archive writer found the pipe closed: the extractor stopped
    /// first, and its own error says why.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        let io = match self {
            CopyError::Read { source, .. }
            | CopyError::Entry { source, .. }
            | CopyError::Download { source, .. }
            | CopyError::Io(source) => source,
            _ => return false,
        };
        io.kind() == std::io::ErrorKind::BrokenPipe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_instructions_are_quoted_short() {
        let run = format!("RUN echo {}", "é".repeat(10_000_000));
        let e = BuildError::RunFailed {
            instruction: run.clone(),
            code: 126,
        };
        let shown = e.to_string();
        assert_eq!(
            shown,
            format!(
                "building at STEP \"RUN echo {}…\": while running runtime: exit status 126",
                "é".repeat(QUOTED_CHARS - 9)
            )
        );
        let e = BuildError::Step {
            instruction: run.clone(),
            source: Box::new(StepError::NoStage("x".into())),
        };
        assert!(
            e.to_string()
                .ends_with("…\": --from=x: no such stage (images are not supported yet)")
        );
        let e = BuildError::Interrupted { instruction: run };
        assert!(e.to_string().len() < 500);
        // Short ones whole.
        let e = BuildError::RunFailed {
            instruction: "RUN exit 7".into(),
            code: 7,
        };
        assert_eq!(
            e.to_string(),
            "building at STEP \"RUN exit 7\": while running runtime: exit status 7"
        );
        assert_eq!(quoted(&"x".repeat(QUOTED_CHARS)), "x".repeat(QUOTED_CHARS));
    }

    #[test]
    fn display() {
        let e = ParseError::new("Containerfile", 7, "unknown instruction: FORM");
        assert_eq!(e.to_string(), "Containerfile:7: unknown instruction: FORM");
        let e = ParseError::new("Containerfile", 0, "target stage \"x\" could not be found");
        assert_eq!(
            e.to_string(),
            "Containerfile: target stage \"x\" could not be found"
        );
    }
}
