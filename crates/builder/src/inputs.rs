//! What a build reads besides its instructions, whichever front end asks: the
//! Containerfile (named files, one sent with the request, or the context's
//! own), a context sent as a tar stream, `--secret` files and build-argument
//! files.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::stages::Platform;

/// Why a build's inputs cannot be read; each names the input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("--secret {spec}: {why}")]
    Secret { spec: String, why: String },
    /// podman's words, ending as Go's stat of the last name looked for does.
    #[error(
        "no Containerfile or Dockerfile specified or found in context directory, {}: stat {}: no such file or directory",
        .0.display(),
        .0.join("Dockerfile").display()
    )]
    NoContainerfile(PathBuf),
    #[error("{name}: {why}")]
    Read { name: String, why: String },
    #[error("{0}: neither a tar archive nor a Containerfile")]
    NotAContext(String),
    #[error("the context from {from}: {why}")]
    Unpack { from: String, why: String },
    #[error("{flag} {value}: expected KEY=VALUE")]
    NotAPair { flag: &'static str, value: String },
    #[error("--build-context {spec}: {why}")]
    BuildContext { spec: String, why: String },
    #[error("--ssh {spec}: {why}")]
    Ssh { spec: String, why: String },
    #[error("--platform: {0}")]
    Platform(#[from] crate::stages::InvalidPlatform),
    #[error("{flag} {value}: not a boolean")]
    NotABool { flag: &'static str, value: String },
    #[error("the context and the Containerfile cannot both come from stdin")]
    BothFromStdin,
    #[error("{}: the build context must be a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The context directory's canonical path could not be had.
    #[error("{0}")]
    ContextDir(std::io::Error),
}

/// A `--build-context NAME=VALUE`: more files (a directory) or an image that
/// `FROM NAME`, `COPY --from=NAME` and `RUN --mount=from=NAME` read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildContext {
    Directory(PathBuf),
    /// `docker-image://REF` or `container-image://REF`.
    Image(String),
}

/// Reads `--build-context NAME=VALUE`: a directory, or an image as
/// `docker-image://REF` / `container-image://REF`.
pub fn build_context(spec: &str) -> Result<(String, BuildContext), InputError> {
    let bad = |why: &str| InputError::BuildContext {
        spec: spec.to_string(),
        why: why.to_string(),
    };
    let (name, value) = spec
        .split_once('=')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        .ok_or_else(|| bad("expected NAME=VALUE"))?;
    let image = ["docker-image://", "container-image://"]
        .iter()
        .find_map(|p| value.strip_prefix(p));
    let context = match image {
        Some(r) if !r.is_empty() => BuildContext::Image(r.to_string()),
        Some(_) => return Err(bad("no image named")),
        None if value.contains("://") => {
            return Err(bad(
                "only a directory, docker-image:// or container-image:// is supported",
            ));
        }
        None => {
            let dir = std::fs::canonicalize(value)
                .map_err(|e| bad(&berth_runtime::error::go_words(&e)))?;
            if !dir.is_dir() {
                return Err(bad("not a directory"));
            }
            BuildContext::Directory(dir)
        }
    };
    Ok((name.to_string(), context))
}

fn read_error(name: impl Into<String>, e: &std::io::Error) -> InputError {
    InputError::Read {
        name: name.into(),
        why: berth_runtime::error::go_words(e),
    }
}

/// A secret's file: the user's own, or one written for an `env=` value
/// (removed when this value is dropped, at the end of the build).
pub struct Secret {
    pub path: PathBuf,
    temporary: bool,
}

impl Drop for Secret {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `id=ID,src=PATH` or `id=ID,env=VAR` (`type=file|env` accepted), as
/// `--secret` takes it.
pub fn secret(spec: &str) -> Result<(String, Secret), InputError> {
    let bad = |why: &str| InputError::Secret {
        spec: spec.to_string(),
        why: why.to_string(),
    };
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
            write_private(&path, value.as_bytes()).map_err(|e| bad(&e.to_string()))?;
            Secret {
                path,
                temporary: true,
            }
        }
        _ => return Err(bad("give src=PATH or env=VAR")),
    };
    Ok((id, secret))
}

/// A new file only its owner can read.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(data)
}

/// A build's context, ready: the directory and the Containerfile. A context
/// fetched (a git repository, an archive URL) or sent as a stream lives in a
/// temporary directory that this value keeps: keep it while the build runs.
#[derive(Debug)]
pub struct ResolvedContext {
    /// The context directory, canonical.
    pub dir: PathBuf,
    /// The Containerfile's text, and its name (as [`containerfile`] gives them).
    pub containerfile: String,
    pub file_name: String,
    /// The temporary directory `dir` is in, if any.
    _temporary: Option<tempfile::TempDir>,
}

/// A build's context as podman and buildah take one: `context` a directory,
/// a git repository or archive URL ([`remote_context`], fetched), or `-` for a
/// tar (or a lone Containerfile) on `stdin`; none, [`default_context`]. Then
/// the Containerfile `files` name (`-`: `stdin`), or the one the context came
/// with, or the context's own ([`containerfile`]).
pub fn resolve_context(
    context: Option<&Path>,
    files: &[String],
    stdin: &mut dyn Read,
) -> Result<ResolvedContext, InputError> {
    let mut dir = context.map_or_else(|| default_context(files), Path::to_path_buf);
    let (mut sent, mut temporary) = (None, None);
    if let Some(remote) = dir.to_str().and_then(remote_context) {
        let (kept, path, text) = fetch_remote_context(&remote)?;
        (dir, sent, temporary) = (path, text, Some(kept));
    }
    if dir.as_os_str() == "-" {
        if files.iter().any(|f| f == "-") {
            return Err(InputError::BothFromStdin);
        }
        let (kept, text) = unpack_context(stdin, "stdin")?;
        (dir, sent, temporary) = (kept.path().to_path_buf(), text, Some(kept));
    }
    if !dir.is_dir() {
        return Err(InputError::NotADirectory(dir));
    }
    let (containerfile, file_name) = containerfile(files, &dir, sent, stdin)?;
    Ok(ResolvedContext {
        dir: std::fs::canonicalize(&dir).map_err(InputError::ContextDir)?,
        containerfile,
        file_name,
        _temporary: temporary,
    })
}

/// The context a build has when none is named: the first Containerfile's
/// directory, else the current one.
pub fn default_context(files: &[String]) -> PathBuf {
    let first = files.first().filter(|f| *f != "-").map(Path::new);
    first
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The Containerfile's text and name: the named `files` (found from here,
/// else in the context; `-` is `stdin`) read as one; or `sent`, the one that
/// came with the context; or the context's own Containerfile or Dockerfile.
pub fn containerfile(
    files: &[String],
    context: &Path,
    sent: Option<String>,
    stdin: &mut dyn Read,
) -> Result<(String, String), InputError> {
    if files.is_empty() {
        if let Some(text) = sent {
            return Ok((text, "Containerfile".into()));
        }
        let found = ["Containerfile", "Dockerfile"]
            .iter()
            .map(|n| context.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| InputError::NoContainerfile(context.to_path_buf()))?;
        let text = std::fs::read_to_string(&found)
            .map_err(|e| read_error(found.display().to_string(), &e))?;
        let name = found.file_name().unwrap_or_default().to_string_lossy();
        return Ok((text, name.into_owned()));
    }
    let mut texts = Vec::new();
    for f in files {
        if f == "-" {
            let mut s = String::new();
            stdin
                .read_to_string(&mut s)
                .map_err(|e| read_error("the Containerfile from stdin", &e))?;
            texts.push(s);
            continue;
        }
        let path = Some(PathBuf::from(f))
            .filter(|p| p.exists())
            .unwrap_or_else(|| context.join(f));
        let text = std::fs::read_to_string(&path).map_err(|e| read_error(f.as_str(), &e))?;
        texts.push(text);
    }
    let name = match files[0].as_str() {
        "-" => "Containerfile".to_string(),
        f => f.to_string(),
    };
    Ok((texts.join("\n"), name))
}

/// A context sent as a stream (`build -`, the REST API's body): a tar of the
/// context (plain, gzip or zstd), unpacked by the layer extractor (no
/// devices, no owners) into a directory of its own; or else a Containerfile
/// and no context, returned as text. `from` names the stream in errors.
pub fn unpack_context(
    stream: &mut dyn Read,
    from: &str,
) -> Result<(tempfile::TempDir, Option<String>), InputError> {
    use berth_image::manifest::Compression;
    use berth_storage::archive::{ApplyOptions, WhiteoutMode, apply_layer};
    let unpack = |why: String| InputError::Unpack {
        from: from.to_string(),
        why,
    };
    let mut data = Vec::new();
    stream
        .read_to_end(&mut data)
        .map_err(|e| unpack(e.to_string()))?;
    let dir = tempfile::tempdir().map_err(|e| unpack(format!("a directory for it: {e}")))?;
    let compression = Compression::sniff(&data[..data.len().min(4)]);
    let is_tar = data.len() >= 262 && &data[257..262] == b"ustar";
    if compression == Compression::None && !is_tar {
        let text =
            String::from_utf8(data).map_err(|_| InputError::NotAContext(from.to_string()))?;
        return Ok((dir, Some(text)));
    }
    let mut opts = ApplyOptions::new(WhiteoutMode::Literal);
    opts.sync = false;
    opts.allow_devices = false;
    opts.preserve_owners = false;
    let plain = berth_image::blob::decompress(&data[..], compression);
    apply_layer(plain, dir.path(), &opts, None).map_err(|e| unpack(e.to_string()))?;
    Ok((dir, None))
}

/// `--ssh default|ID[=SOCKET]`: an SSH agent's socket by id (`default`, and
/// without a socket, `$SSH_AUTH_SOCK`).
pub fn ssh(spec: &str) -> Result<(String, PathBuf), InputError> {
    let bad = |why: String| InputError::Ssh {
        spec: spec.to_string(),
        why,
    };
    let (id, socket) = match spec.split_once('=') {
        Some((id, s)) => (id, Some(PathBuf::from(s))),
        None => (spec, None),
    };
    if id.is_empty() {
        return Err(bad("no id".into()));
    }
    let socket = match socket {
        Some(s) => s,
        None => std::env::var_os("SSH_AUTH_SOCK")
            .map(PathBuf::from)
            .ok_or_else(|| bad("no socket given and SSH_AUTH_SOCK is not set".into()))?,
    };
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(&socket) {
        Ok(m) if m.file_type().is_socket() => Ok((id.to_string(), socket)),
        Ok(_) => Err(bad(format!(
            "{}: not an agent's socket (key files are not supported)",
            socket.display()
        ))),
        Err(e) => Err(bad(format!(
            "{}: {}",
            socket.display(),
            berth_runtime::error::go_words(&e)
        ))),
    }
}

/// A build context that is not a directory here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteContext {
    /// A git repository, with `#REF[:DIR]`: the branch, tag or commit, and the
    /// directory in it.
    Git {
        url: String,
        reference: Option<String>,
        subdir: Option<String>,
    },
    /// A tar archive (compressed or not), or a Containerfile, over http(s).
    Archive(String),
}

/// Whether `spec` names a remote context, as podman and buildah read one:
/// `git://…`, `git@…`, `github.com/…`, `http(s)://….git[#…]` are git
/// repositories; other `http(s)://` URLs are archives.
pub fn remote_context(spec: &str) -> Option<RemoteContext> {
    let (url, fragment) = spec.split_once('#').unwrap_or((spec, ""));
    let web = url.starts_with("http://") || url.starts_with("https://");
    let git = url.starts_with("git://")
        || url.starts_with("git@")
        || url.starts_with("github.com/")
        || (web && url.ends_with(".git"));
    if git {
        let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let url = match url.strip_prefix("github.com/") {
            Some(rest) => format!("https://github.com/{rest}"),
            None => url.to_string(),
        };
        return Some(RemoteContext::Git {
            url,
            reference: some(reference),
            subdir: some(subdir),
        });
    }
    web.then(|| RemoteContext::Archive(spec.to_string()))
}

/// The most of an archive context read from a URL.
const MAX_REMOTE_CONTEXT: u64 = 4 << 30;

/// Fetches a remote context into a temporary directory: the directory (kept
/// while the value lives), the context in it, and — when the URL served a
/// Containerfile rather than an archive — its text.
pub fn fetch_remote_context(
    r: &RemoteContext,
) -> Result<(tempfile::TempDir, PathBuf, Option<String>), InputError> {
    match r {
        RemoteContext::Archive(url) => {
            let fetched = berth_image::http::get_body(url).map_err(|e| InputError::Unpack {
                from: url.clone(),
                why: e.to_string(),
            })?;
            // One byte more than the most: a longer body is refused, not cut short.
            let mut data = Vec::new();
            fetched
                .take(MAX_REMOTE_CONTEXT + 1)
                .read_to_end(&mut data)
                .map_err(|e| InputError::Unpack {
                    from: url.clone(),
                    why: e.to_string(),
                })?;
            if data.len() as u64 > MAX_REMOTE_CONTEXT {
                return Err(InputError::Unpack {
                    from: url.clone(),
                    why: format!("larger than {MAX_REMOTE_CONTEXT} bytes"),
                });
            }
            let (dir, text) = unpack_context(&mut &data[..], url)?;
            let path = dir.path().to_path_buf();
            Ok((dir, path, text))
        }
        RemoteContext::Git {
            url,
            reference,
            subdir,
        } => clone_context(url, reference.as_deref(), subdir.as_deref()),
    }
}

/// `git clone` of a context (shallow when the reference is a branch or tag).
fn clone_context(
    url: &str,
    reference: Option<&str>,
    subdir: Option<&str>,
) -> Result<(tempfile::TempDir, PathBuf, Option<String>), InputError> {
    let fail = |why: String| InputError::Unpack {
        from: url.to_string(),
        why,
    };
    let dir = tempfile::tempdir().map_err(|e| fail(format!("a directory for it: {e}")))?;
    let commit = reference.filter(|r| r.len() >= 7 && r.chars().all(|c| c.is_ascii_hexdigit()));
    let git = |args: &[&str]| -> Result<(), InputError> {
        let out = std::process::Command::new("git")
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| fail(format!("run git: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let why = String::from_utf8_lossy(&out.stderr);
        Err(fail(
            why.lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("git failed")
                .to_string(),
        ))
    };
    let target = dir
        .path()
        .to_str()
        .ok_or_else(|| fail("a path that is not UTF-8".into()))?;
    // A hostile repository's submodules may name local repositories
    // (file://): never fetched.
    let mut clone = vec![
        "-c",
        "protocol.file.allow=never",
        "clone",
        "--quiet",
        "--recurse-submodules",
    ];
    if commit.is_none() {
        clone.push("--depth=1");
        if let Some(r) = reference {
            clone.extend(["--branch", r]);
        }
    }
    clone.extend(["--", url, target]);
    git(&clone)?;
    if let Some(c) = commit {
        git(&["-C", target, "checkout", "--quiet", c])?;
        git(&[
            "-C",
            target,
            "-c",
            "protocol.file.allow=never",
            "submodule",
            "update",
            "--quiet",
            "--init",
            "--recursive",
        ])?;
    }
    let mut path = dir.path().to_path_buf();
    if let Some(sub) = subdir {
        // Within the clone, never above it.
        let rel = Path::new(sub);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(fail(format!(
                "#…:{sub}: not a directory within the repository"
            )));
        }
        path = path.join(rel);
        if !path.is_dir() {
            return Err(fail(format!(
                "#…:{sub}: no such directory in the repository"
            )));
        }
        // Nor through a link the repository ships (`ctx -> /home`).
        let real = std::fs::canonicalize(&path).map_err(|e| fail(e.to_string()))?;
        let top = std::fs::canonicalize(dir.path()).map_err(|e| fail(e.to_string()))?;
        if !real.starts_with(&top) {
            return Err(fail(format!(
                "#…:{sub}: not a directory within the repository"
            )));
        }
        path = real;
    }
    Ok((dir, path, None))
}

/// `KEY=VALUE` values of `flag`, in order.
pub fn pairs(values: &[String], flag: &'static str) -> Result<Vec<(String, String)>, InputError> {
    values
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| InputError::NotAPair {
                    flag,
                    value: kv.clone(),
                })
        })
        .collect()
}

/// The platform to build for: `--platform` (a bare architecture is
/// Linux's), else the host's with `--os`, `--arch` and `--variant` put in (the
/// host's variant kept only while its architecture is), else none given.
pub fn platform(
    flag: Option<&str>,
    os: Option<&str>,
    arch: Option<&str>,
    variant: Option<&str>,
) -> Result<Option<Platform>, InputError> {
    let parts = (os.is_some() || arch.is_some() || variant.is_some()).then(|| {
        let host = Platform::host();
        let mut p = format!("{}/{}", os.unwrap_or(&host.os), arch.unwrap_or(&host.arch));
        if let Some(v) = variant.or(host.variant.as_deref().filter(|_| arch.is_none())) {
            p.push_str(&format!("/{v}"));
        }
        p
    });
    let Some(p) = flag.map(String::from).or(parts) else {
        return Ok(None);
    };
    let p = if p.contains('/') {
        p
    } else {
        format!("linux/{p}")
    };
    Ok(Some(Platform::parse(&p)?))
}

/// Whether a build caches its steps as layers: `--layers[=BOOL]`, else
/// `$BUILDAH_LAYERS` (`env`), else `default` (podman build's yes, buildah
/// bud's no); a BOOL may be 1 or 0, t or f, yes or no.
pub fn layers(flag: Option<&str>, env: Option<&str>, default: bool) -> Result<bool, InputError> {
    let Some(v) = flag.or(env) else {
        return Ok(default);
    };
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" => Ok(true),
        "false" | "0" | "f" | "no" => Ok(false),
        _ => Err(InputError::NotABool {
            flag: "--layers",
            value: v.to_string(),
        }),
    }
}

/// Whether the image is written in Docker's format: `--format`, else
/// `$BUILDAH_FORMAT` (`env`), is `docker` or `v2s2`; OCI's otherwise.
pub fn docker_format(flag: Option<&str>, env: Option<&str>) -> bool {
    matches!(flag.or(env), Some("docker" | "v2s2"))
}

/// ARG values: each `--build-arg-file`'s `NAME=VALUE` lines (`#` comments and
/// blank lines skipped), then the `--build-arg`s, which win; a bare `NAME`
/// there takes this process's `$NAME` (none when it is unset), as buildah's.
pub fn build_args(
    files: &[PathBuf],
    args: &[String],
) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    for f in files {
        let name = format!("--build-arg-file {}", f.display());
        let text = std::fs::read_to_string(f).map_err(|e| read_error(name, &e))?;
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        out.extend(pairs(&lines, "--build-arg-file")?);
    }
    for a in args {
        match a.split_once('=') {
            Some(_) => out.extend(pairs(std::slice::from_ref(a), "--build-arg")?),
            None => match std::env::var(a) {
                Ok(v) => {
                    out.insert(a.clone(), v);
                }
                Err(_) => {
                    out.remove(a);
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_flags_change_the_hosts() {
        let host = Platform::host();
        assert_eq!(platform(None, None, None, None).unwrap(), None);
        let p = platform(Some("arm64"), Some("windows"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            p.format(),
            "linux/arm64",
            "--platform wins, a bare arch is Linux's"
        );
        let p = platform(None, None, Some("arm"), Some("v6"))
            .unwrap()
            .unwrap();
        assert_eq!(p.format(), format!("{}/arm/v6", host.os));
        let p = platform(None, Some("freebsd"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.os.as_str(), &p.arch, &p.variant),
            ("freebsd", &host.arch, &host.variant)
        );
        // Another architecture does not keep the host's variant.
        let p = platform(None, None, Some("s390x"), None).unwrap().unwrap();
        assert_eq!(p.variant, None);
        let e = platform(Some("a/b/c/d"), None, None, None).unwrap_err();
        assert!(e.to_string().starts_with("--platform: "), "{e}");
    }

    #[test]
    fn layers_flag_then_environment_then_default() {
        assert!(layers(None, None, true).unwrap());
        assert!(!layers(None, None, false).unwrap());
        assert!(!layers(Some("0"), Some("true"), true).unwrap());
        assert!(layers(None, Some("true"), false).unwrap());
        assert!(!layers(None, Some("No"), true).unwrap());
        let e = layers(Some("maybe"), None, true).unwrap_err();
        assert_eq!(e.to_string(), "--layers maybe: not a boolean");
    }

    #[test]
    fn docker_format_flag_then_environment() {
        assert!(!docker_format(None, None));
        assert!(docker_format(None, Some("docker")));
        assert!(!docker_format(Some("oci"), Some("v2s2")));
        assert!(docker_format(Some("v2s2"), None));
    }

    #[test]
    fn a_stream_is_a_context_or_a_containerfile() {
        let text = b"FROM scratch\n".to_vec();
        let (_dir, file) = unpack_context(&mut &text[..], "stdin").unwrap();
        assert_eq!(file.as_deref(), Some("FROM scratch\n"));
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        tar.append_data(&mut h, "Containerfile", &b"FROM "[..])
            .unwrap();
        let data = tar.into_inner().unwrap();
        let (dir, file) = unpack_context(&mut &data[..], "stdin").unwrap();
        assert!(file.is_none());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Containerfile")).unwrap(),
            "FROM "
        );
        let binary = [0xff_u8; 10];
        let e = unpack_context(&mut &binary[..], "stdin").unwrap_err();
        assert_eq!(
            e.to_string(),
            "stdin: neither a tar archive nor a Containerfile"
        );
    }

    #[test]
    fn a_context_is_resolved_with_its_containerfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let c = resolve_context(Some(dir.path()), &[], &mut &b""[..]).unwrap();
        assert_eq!(c.dir, std::fs::canonicalize(dir.path()).unwrap());
        assert_eq!(
            (c.containerfile.as_str(), c.file_name.as_str()),
            ("FROM scratch\n", "Dockerfile")
        );
        // A Containerfile alone on stdin: an empty context kept by the value.
        let c = resolve_context(Some(Path::new("-")), &[], &mut &b"FROM a\n"[..]).unwrap();
        assert_eq!(c.containerfile, "FROM a\n");
        assert!(c.dir.is_dir());
        let e = resolve_context(Some(Path::new("-")), &["-".into()], &mut &b""[..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the context and the Containerfile cannot both come from stdin"
        );
        let file = dir.path().join("Dockerfile");
        let e = resolve_context(Some(&file), &[], &mut &b""[..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: the build context must be a directory", file.display())
        );
    }

    #[test]
    fn build_args_from_files_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("args");
        std::fs::write(&f, "# c\nA=1\n\nB=2\n").unwrap();
        let args = build_args(&[f], &["B=3".into()]).unwrap();
        assert_eq!(args["A"], "1");
        assert_eq!(args["B"], "3");
        // A bare name: the environment's value, or none at all.
        let args = build_args(&[], &["PATH".into(), "BERTH_SURELY_UNSET_VAR".into()]).unwrap();
        assert_eq!(args["PATH"], std::env::var("PATH").unwrap());
        assert!(!args.contains_key("BERTH_SURELY_UNSET_VAR"));
        assert_eq!(default_context(&["d/Containerfile".into()]), Path::new("d"));
        assert_eq!(default_context(&["-".into()]), Path::new("."));
    }

    #[test]
    fn remote_contexts_are_told_as_podman_tells_them() {
        let git = |url: &str, r: Option<&str>, d: Option<&str>| {
            Some(RemoteContext::Git {
                url: url.into(),
                reference: r.map(String::from),
                subdir: d.map(String::from),
            })
        };
        assert_eq!(
            remote_context("git://h/r.git"),
            git("git://h/r.git", None, None)
        );
        assert_eq!(
            remote_context("https://h/r.git#v1:sub/dir"),
            git("https://h/r.git", Some("v1"), Some("sub/dir"))
        );
        assert_eq!(
            remote_context("github.com/o/r#main"),
            git("https://github.com/o/r", Some("main"), None)
        );
        assert_eq!(
            remote_context("http://h/ctx.tar.gz"),
            Some(RemoteContext::Archive("http://h/ctx.tar.gz".into()))
        );
        assert_eq!(remote_context("./ctx"), None);
        assert_eq!(remote_context("/abs/ctx"), None);
    }
}
