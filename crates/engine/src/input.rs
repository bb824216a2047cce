//! What a command reads from a file or a URL the user names (`import`'s
//! tarball, `kube play`'s YAML): an http(s) one is fetched, as podman does.
//! Standard input stays the front end's: the engine never reads fd 0.

use std::io::Read;

/// A file or URL that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{url}: {source}")]
    Fetch {
        url: String,
        source: berth_image::Error,
    },
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// The file at `src`, or the body an http(s) URL serves.
pub fn open(src: &str) -> Result<Box<dyn Read + Send>, InputError> {
    if src.starts_with("http://") || src.starts_with("https://") {
        return berth_image::http::get_body(src).map_err(|source| InputError::Fetch {
            url: src.to_string(),
            source,
        });
    }
    match std::fs::File::open(src) {
        Ok(f) => Ok(Box::new(f)),
        Err(source) => Err(read_error(src, source)),
    }
}

/// The text at `src` ([`open`]), at most `limit` bytes of it.
pub fn read_text(src: &str, limit: u64) -> Result<String, InputError> {
    let mut text = String::new();
    open(src)?
        .take(limit)
        .read_to_string(&mut text)
        .map_err(|source| read_error(src, source))?;
    Ok(text)
}

fn read_error(path: &str, source: std::io::Error) -> InputError {
    InputError::Read {
        path: path.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pod.yaml");
        std::fs::write(&p, "kind: Pod\n").unwrap();
        let src = p.to_str().unwrap();
        assert_eq!(read_text(src, 4).unwrap(), "kind");
        let missing = dir.path().join("nope");
        let e = read_text(missing.to_str().unwrap(), 4).unwrap_err();
        assert!(e.to_string().starts_with(missing.to_str().unwrap()), "{e}");
        assert!(matches!(e, InputError::Read { .. }));
    }
}
