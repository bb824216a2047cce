//! What ADD does beyond COPY: URLs downloaded (and digested for the cache),
//! local archives unpacked into the destination.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::error::CopyError;

/// ADD's remote sources.
pub(crate) fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// The largest file ADD downloads.
const MAX_DOWNLOAD: u64 = 8 << 30;

/// A URL's body, through the image crate's HTTP client (certs.d, timeouts,
/// redirects).
fn get(url: &str) -> Result<Box<dyn Read + Send>, CopyError> {
    berth_image::http::get_body(url).map_err(CopyError::Fetch)
}

fn download_error(url: &str) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Download {
        url: url.to_string(),
        source,
    }
}

/// ADD of a URL: the file, named as the URL's last path segment, in `dir`.
pub(super) fn download(url: &str, dir: &Path) -> Result<PathBuf, CopyError> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.contains(':'))
        .filter(|s| *s != "." && *s != "..")
        .unwrap_or("download");
    std::fs::create_dir_all(dir)?;
    let file = dir.join(name);
    let resp = get(url)?;
    let mut out = std::fs::File::create(&file)?;
    let n =
        std::io::copy(&mut resp.take(MAX_DOWNLOAD + 1), &mut out).map_err(download_error(url))?;
    if n > MAX_DOWNLOAD {
        return Err(CopyError::TooLarge {
            url: url.to_string(),
            limit: MAX_DOWNLOAD,
        });
    }
    // Docker's mode for downloaded files.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// What a URL serves now, as a digest: ADD's part of the cache key.
pub(super) fn url_digest(url: &str) -> Result<String, CopyError> {
    use berth_image::digest::{Algorithm, Digester};
    let mut d = Digester::new(Algorithm::Sha256);
    d.update(url.as_bytes());
    let mut r = get(url)?.take(MAX_DOWNLOAD);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf).map_err(download_error(url))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    Ok(d.finish().hex().to_string())
}

/// A local tar, compressed or not: ADD unpacks it.
pub(super) fn is_archive(path: &Path) -> bool {
    let mut head = [0u8; 512];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let c = berth_image::manifest::Compression::sniff(&head[..n.min(4)]);
    c != berth_image::manifest::Compression::None
        || external_tool(&head[..n]).is_some()
        || (n >= 262 && &head[257..262] == b"ustar")
}

/// xz and bzip2, which ADD unpacks as Docker does, through the system's own
/// `xz` and `bzip2` (the decompressor only reads the archive and writes the
/// tar stream; the entries are checked as every other archive's are).
fn external_tool(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else {
        None
    }
}

/// ADD of a local archive: its entries re-rooted under `dest`.
pub(super) fn unpack<W: Write>(
    b: &mut tar::Builder<W>,
    path: &Path,
    dest: &Path,
    owner: Option<(u64, u64)>,
) -> Result<(), CopyError> {
    let f = std::fs::File::open(path)?;
    let mut r = std::io::BufReader::new(f);
    let head = std::io::BufRead::fill_buf(&mut r)?;
    if let Some(tool) = external_tool(head) {
        let mut child = std::process::Command::new(tool)
            .arg("-dc")
            .stdin(std::fs::File::open(path)?)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| std::io::Error::other(format!("{tool}: {e}")))?;
        let mut out = child.stdout.take().expect("piped");
        let entries = append_entries(b, &mut out, dest, owner);
        // tar ends at its end-of-archive blocks; the padding after them is
        // read too, so that the decompressor is not cut off mid-write.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
        let mut said = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut said);
        }
        let status = child.wait()?;
        entries?;
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "{}: {tool} could not decompress it ({status}): {}",
                path.display(),
                said.trim()
            ))
            .into());
        }
        return Ok(());
    }
    let c = berth_image::manifest::Compression::sniff(&head[..head.len().min(4)]);
    let plain = berth_image::blob::decompress(r, c);
    append_entries(b, plain, dest, owner)
}

/// The entries of the tar read from `plain`, re-rooted under `dest`.
fn append_entries<W: Write>(
    b: &mut tar::Builder<W>,
    plain: impl Read,
    dest: &Path,
    owner: Option<(u64, u64)>,
) -> Result<(), CopyError> {
    let mut ar = tar::Archive::new(plain);
    for e in ar.entries()? {
        let mut e = e?;
        let p = e.path()?.into_owned();
        let rel: PathBuf = p
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        let mut h = e.header().clone();
        if let Some((u, g)) = owner {
            h.set_uid(u);
            h.set_gid(g);
        }
        let target = dest.join(&rel);
        let kind = h.entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let t = e.link_name()?.unwrap_or_default().into_owned();
            let t = if kind.is_hard_link() { dest.join(t) } else { t };
            b.append_link(&mut h, &target, t)?;
        } else {
            let mut data = Vec::new();
            e.read_to_end(&mut data)?;
            b.append_data(&mut h, &target, &data[..])?;
        }
    }
    Ok(())
}
