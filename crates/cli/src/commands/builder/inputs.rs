//! What `build` reads besides its flags: the Containerfile (from `-f`, stdin
//! or the context), a context sent on stdin, and `--secret` files.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::exit::Failure;

use super::build::fail;

/// A `--secret`'s file: the user's own, or one written for an `env=` value
/// (removed when the build is done).
pub(crate) struct Secret {
    pub(crate) path: PathBuf,
    temporary: bool,
}

impl Drop for Secret {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `id=ID,src=PATH` or `id=ID,env=VAR` (`type=file|env` accepted).
pub(super) fn secret(spec: &str) -> Result<(String, Secret), Failure> {
    let bad = |why: &str| fail(125, format!("--secret {spec}: {why}"));
    let (mut id, mut src, mut env) = (None, None, None);
    for f in spec.split(',') {
        match f.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
            Some(("env", v)) => env = Some(v.to_string()),
            Some(("type", "file" | "env")) => {}
            _ => return Err(bad("expected id=ID,src=PATH or id=ID,env=VAR")),
        }
    }
    let id = id.ok_or_else(|| bad("no id"))?;
    if id.is_empty() || id.contains('/') {
        return Err(bad("an id is a plain name"));
    }
    let secret = match (src, env) {
        (Some(p), None) => {
            std::fs::metadata(&p).map_err(|e| bad(&format!("{}: {e}", p.display())))?;
            Secret {
                path: p,
                temporary: false,
            }
        }
        (None, Some(var)) => {
            let value = std::env::var(&var).map_err(|_| bad(&format!("${var} is not set")))?;
            let path =
                std::env::temp_dir().join(format!("berth-secret-{}-{id}", std::process::id()));
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| f.write_all(value.as_bytes()))
                .map_err(|e| bad(&e.to_string()))?;
            Secret {
                path,
                temporary: true,
            }
        }
        _ => return Err(bad("give src=PATH or env=VAR")),
    };
    Ok((id, secret))
}

/// The Containerfile's text and name: the `-f` files (from here, else from the
/// context; `-` is stdin) read as one, or stdin's, or the context's own.
pub(super) fn containerfile(
    files: &[String],
    context: &Path,
    stdin_file: Option<String>,
) -> Result<(String, String), Failure> {
    if files.is_empty() {
        if let Some(text) = stdin_file {
            return Ok((text, "Containerfile".into()));
        }
        let found = ["Containerfile", "Dockerfile"]
            .iter()
            .map(|n| context.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                fail(
                    125,
                    format!("no Containerfile or Dockerfile in {}", context.display()),
                )
            })?;
        let text = std::fs::read_to_string(&found)
            .map_err(|e| fail(125, format!("{}: {e}", found.display())))?;
        let name = found.file_name().unwrap_or_default().to_string_lossy();
        return Ok((text, name.into_owned()));
    }
    let mut texts = Vec::new();
    for f in files {
        if f == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| fail(125, format!("reading the Containerfile from stdin: {e}")))?;
            texts.push(s);
            continue;
        }
        let path = Some(PathBuf::from(f))
            .filter(|p| p.exists())
            .unwrap_or_else(|| context.join(f));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| fail(125, format!("{f}: {}", berth_runtime::error::go_words(&e))))?;
        texts.push(text);
    }
    let name = match files[0].as_str() {
        "-" => "Containerfile".to_string(),
        f => f.to_string(),
    };
    Ok((texts.join("\n"), name))
}

/// Returns the exit code: 0, or a failing RUN's own.
/// `-` as the context: stdin holds a tar of the context (plain, gzip or
/// zstd), unpacked by the layer extractor into a directory of its own; or
/// else a Containerfile and no context (`docker build - < Containerfile`).
pub(super) fn stdin_context() -> Result<(tempfile::TempDir, Option<String>), Failure> {
    let mut data = Vec::new();
    std::io::stdin()
        .read_to_end(&mut data)
        .map_err(|e| fail(125, format!("reading the context from stdin: {e}")))?;
    let dir =
        tempfile::tempdir().map_err(|e| fail(125, format!("a directory for the context: {e}")))?;
    let compressed = berth_image::manifest::Compression::sniff(&data[..data.len().min(4)])
        != berth_image::manifest::Compression::None;
    let is_tar = data.len() >= 262 && &data[257..262] == b"ustar";
    if !(compressed || is_tar) {
        let text = String::from_utf8(data)
            .map_err(|_| fail(125, "stdin: neither a tar archive nor a Containerfile"))?;
        return Ok((dir, Some(text)));
    }
    let mut opts =
        berth_storage::archive::ApplyOptions::new(berth_storage::archive::WhiteoutMode::Literal);
    opts.sync = false;
    opts.allow_devices = false;
    opts.preserve_owners = false;
    let plain = berth_image::blob::decompress(
        &data[..],
        berth_image::manifest::Compression::sniff(&data[..data.len().min(4)]),
    );
    berth_storage::archive::apply_layer(plain, dir.path(), &opts, None)
        .map_err(|e| fail(125, format!("the context from stdin: {e}")))?;
    Ok((dir, None))
}
