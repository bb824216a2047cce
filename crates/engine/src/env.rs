//! Environment variables as podman's `-e` and `--env-file` give them:
//! KEY=VALUE, or a bare KEY that takes the calling process's value (the
//! user's shell's, as podman's client passes it).

use std::path::{Path, PathBuf};

/// An `--env-file` that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("--env-file {}: {source}", path.display())]
pub struct EnvFileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// `-e`: KEY=VALUE as given; a bare KEY takes this process's value, and is
/// left out when this process has none.
pub fn from_flags<S: AsRef<str>>(flags: impl IntoIterator<Item = S>) -> Vec<String> {
    flags
        .into_iter()
        .filter_map(|e| {
            let e = e.as_ref();
            match e.contains('=') {
                true => Some(e.to_string()),
                false => std::env::var(e).ok().map(|v| format!("{e}={v}")),
            }
        })
        .collect()
}

/// One `--env-file`'s text: a `-e` a line, blank lines and `#` comments skipped.
pub fn parse_file(text: &str) -> Vec<String> {
    from_flags(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#')),
    )
}

/// `--label-file`s: their KEY=VALUE lines (a bare KEY: an empty value), blank
/// lines and `#` comments left out.
pub fn labels_from_files(files: &[impl AsRef<Path>]) -> Result<Vec<String>, EnvFileError> {
    read_files(files, |text| {
        let lines = text.lines().map(str::trim);
        let kept = lines.filter(|l| !l.is_empty() && !l.starts_with('#'));
        kept.map(String::from).collect()
    })
}

/// Each file's text through `parse`, in order.
fn read_files(
    files: &[impl AsRef<Path>],
    parse: impl Fn(&str) -> Vec<String>,
) -> Result<Vec<String>, EnvFileError> {
    let mut out = Vec::new();
    for f in files {
        let path = f.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| EnvFileError {
            path: path.to_path_buf(),
            source,
        })?;
        out.extend(parse(&text));
    }
    Ok(out)
}

/// `--env-file`s, read in order.
pub fn from_files(files: &[impl AsRef<Path>]) -> Result<Vec<String>, EnvFileError> {
    read_files(files, parse_file)
}

/// `--env-file`s, then the `-e`s over them: what `run`, `create` and `exec`
/// give the process from their command line.
pub fn from_command_line<S: AsRef<str>>(
    files: &[impl AsRef<Path>],
    flags: impl IntoIterator<Item = S>,
) -> Result<Vec<String>, EnvFileError> {
    let mut env = from_files(files)?;
    env.extend(from_flags(flags));
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSET: &str = "BERTH_TEST_SURELY_UNSET_0F3A";

    #[test]
    fn a_bare_name_takes_this_processs_value_or_goes() {
        let path = std::env::var("PATH").unwrap();
        let got = from_flags(["A=1", "PATH", UNSET, "B="]);
        assert_eq!(
            got,
            ["A=1".to_string(), format!("PATH={path}"), "B=".into()]
        );
    }

    #[test]
    fn a_file_is_lines_of_flags_without_comments() {
        let text = "# a comment\n\n  A=1 \nB=x=y\n#C=2\n";
        assert_eq!(parse_file(text), ["A=1", "B=x=y"]);
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = from_files(&[&missing]).unwrap_err();
        assert!(e.to_string().starts_with("--env-file "), "{e}");
    }
}
