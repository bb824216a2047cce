//! `-v`, `--mount` and `--tmpfs` parsed once, when the container is made: the
//! engine stores and mounts these, never the flag text.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::named::valid_name;
use super::{VolumeError, check_dest};

/// What a `-v` mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeSource {
    /// An absolute host path, bind-mounted.
    Host(PathBuf),
    /// A named volume, made on first use.
    Named(String),
    /// `-v /DEST`: a new anonymous volume, named when the container is made.
    Anonymous,
}

/// `-v [SOURCE:]DEST[:OPTIONS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeSpec {
    pub source: VolumeSource,
    /// Absolute, without `..`, no trailing slash.
    pub destination: String,
    /// The options as given: `ro`, `rw`, `z`, `Z`, `[no]exec`, `[no]suid`,
    /// `[no]dev`, `U`, a propagation (`[r]shared`, `[r]slave`, `[r]private`),
    /// `O` (an overlay over the source: `berth builder run`'s).
    pub options: Vec<String>,
}

const OPTIONS: [&str; 18] = [
    "ro", "rw", "z", "Z", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "U", "shared",
    "rshared", "slave", "rslave", "private", "rprivate", "O",
];

fn normal_dest(dest: &str) -> String {
    match dest.trim_end_matches('/') {
        "" => "/".to_string(),
        d => d.to_string(),
    }
}

impl VolumeSpec {
    /// A bind mount of `host` at `destination` (which the caller has checked).
    pub fn bind(host: PathBuf, destination: &str, read_only: bool) -> VolumeSpec {
        VolumeSpec {
            source: VolumeSource::Host(host),
            destination: normal_dest(destination),
            options: if read_only {
                vec!["ro".into()]
            } else {
                Vec::new()
            },
        }
    }

    pub fn read_only(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// `U`: the source goes to the container's user (podman's).
    pub fn chown_to_user(&self) -> bool {
        self.options.iter().any(|o| o == "U")
    }

    /// `O`: writes go to a throwaway overlay over the source, which stays
    /// unchanged.
    pub fn overlay(&self) -> bool {
        self.options.iter().any(|o| o == "O")
    }

    /// The mount flags besides read-only (labels are no-ops here); a
    /// propagation given comes after the default `rprivate`, so it wins.
    pub(crate) fn flags(&self) -> impl Iterator<Item = &str> {
        let kept = |o: &&str| !matches!(*o, "ro" | "rw" | "z" | "Z" | "U" | "O");
        self.options.iter().map(String::as_str).filter(kept)
    }

    /// The volume's name, for a named one.
    pub fn name(&self) -> Option<&str> {
        match &self.source {
            VolumeSource::Named(n) => Some(n),
            _ => None,
        }
    }
}

impl FromStr for VolumeSpec {
    type Err = VolumeError;
    fn from_str(spec: &str) -> Result<VolumeSpec, VolumeError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (source, dest, opts) = match parts.as_slice() {
            [d] if d.starts_with('/') => ("", *d, ""),
            [s, d] => (*s, *d, ""),
            [s, d, o] => (*s, *d, *o),
            _ => return Err(VolumeError::InvalidSpec(spec.to_string())),
        };
        check_dest(dest, "-v")?;
        let options: Vec<String> = opts
            .split(',')
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect();
        if let Some(bad) = options.iter().find(|o| !OPTIONS.contains(&o.as_str())) {
            return Err(VolumeError::InvalidOption {
                spec: spec.to_string(),
                option: bad.clone(),
            });
        }
        let source = match source {
            "" => VolumeSource::Anonymous,
            s if s.starts_with('/') => VolumeSource::Host(PathBuf::from(s)),
            s if valid_name(s) => VolumeSource::Named(s.to_string()),
            s => {
                return Err(VolumeError::NeitherPathNorName {
                    spec: spec.to_string(),
                    source_path: s.to_string(),
                });
            }
        };
        Ok(VolumeSpec {
            source,
            destination: normal_dest(dest),
            options,
        })
    }
}

impl fmt::Display for VolumeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            VolumeSource::Host(p) => write!(f, "{}:", p.display())?,
            VolumeSource::Named(n) => write!(f, "{n}:")?,
            VolumeSource::Anonymous => {}
        }
        f.write_str(&self.destination)?;
        if !self.options.is_empty() {
            write!(f, ":{}", self.options.join(","))?;
        }
        Ok(())
    }
}

/// `--tmpfs DEST[:OPTIONS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TmpfsSpec {
    pub destination: String,
    /// Mount options as given (`size=64m`, `mode=1777`, …).
    pub options: Vec<String>,
}

impl FromStr for TmpfsSpec {
    type Err = VolumeError;
    fn from_str(spec: &str) -> Result<TmpfsSpec, VolumeError> {
        let (dest, opts) = spec.split_once(':').unwrap_or((spec, ""));
        check_dest(dest, "--tmpfs")?;
        Ok(TmpfsSpec {
            destination: normal_dest(dest),
            options: opts
                .split(',')
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect(),
        })
    }
}

impl fmt::Display for TmpfsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.destination)?;
        if !self.options.is_empty() {
            write!(f, ":{}", self.options.join(","))?;
        }
        Ok(())
    }
}

/// `--mount type=image,source=IMAGE,target=DEST[,rw=true]`: an image's root
/// filesystem in the container, read-only unless `rw` (then its writes go to
/// a layer of the container's own, dropped with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageMountSpec {
    pub source: String,
    pub destination: String,
    pub rw: bool,
}

impl FromStr for ImageMountSpec {
    type Err = InvalidMount;
    fn from_str(m: &str) -> Result<ImageMountSpec, InvalidMount> {
        match m.parse::<MountFlag>()? {
            MountFlag::Image(i) => Ok(i),
            _ => Err(InvalidMount {
                flag: m.to_string(),
                reason: "not an image mount".into(),
            }),
        }
    }
}

impl fmt::Display for ImageMountSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "type=image,src={},dst={}", self.source, self.destination)?;
        if self.rw {
            f.write_str(",rw=true")?;
        }
        Ok(())
    }
}

/// `--mount type=bind|volume|tmpfs|image,source=…,target=…[,readonly][,tmpfs-size=…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountFlag {
    Volume(VolumeSpec),
    Tmpfs(TmpfsSpec),
    Image(ImageMountSpec),
}

/// A `--mount` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--mount {flag}: {reason}")]
pub struct InvalidMount {
    pub flag: String,
    pub reason: String,
}

impl FromStr for MountFlag {
    type Err = InvalidMount;
    fn from_str(m: &str) -> Result<MountFlag, InvalidMount> {
        let bad = |why: String| InvalidMount {
            flag: m.to_string(),
            reason: why,
        };
        let (mut kind, mut src, mut dst, mut ro, mut size) = ("volume", None, None, false, None);
        let mut rw = false;
        for part in m.split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "type" => kind = v,
                "source" | "src" => src = Some(v),
                "target" | "dst" | "destination" => dst = Some(v),
                "readonly" | "ro" => ro = v.is_empty() || v == "true",
                "rw" | "readwrite" => rw = v.is_empty() || v == "true",
                "tmpfs-size" => size = Some(v),
                _ => return Err(bad(format!("unknown option {k:?}"))),
            }
        }
        let dst = dst.ok_or_else(|| bad("a target is required".into()))?;
        let spec = match kind {
            "bind" | "volume" => {
                let src = src.ok_or_else(|| bad("a source is required".into()))?;
                let ro = if ro { ":ro" } else { "" };
                MountFlag::Volume(
                    format!("{src}:{dst}{ro}")
                        .parse()
                        .map_err(|e| bad(format!("{e}")))?,
                )
            }
            "tmpfs" => {
                let size = size.map(|s| format!(":size={s}")).unwrap_or_default();
                MountFlag::Tmpfs(
                    format!("{dst}{size}")
                        .parse()
                        .map_err(|e| bad(format!("{e}")))?,
                )
            }
            "image" => {
                let src = src.ok_or_else(|| bad("a source is required".into()))?;
                check_dest(dst, "--mount").map_err(|e| bad(format!("{e}")))?;
                MountFlag::Image(ImageMountSpec {
                    source: src.to_string(),
                    destination: normal_dest(dst),
                    rw: rw && !ro,
                })
            }
            other => return Err(bad(format!("unsupported type {other:?}"))),
        };
        Ok(spec)
    }
}

/// `--image-volume`: what the image's VOLUMEs get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ImageVolumeMode {
    /// A new anonymous volume each (podman's default).
    #[default]
    Bind,
    /// A tmpfs each.
    Tmpfs,
    /// Nothing: the image's directory, in the container's root.
    Ignore,
}

impl FromStr for ImageVolumeMode {
    type Err = VolumeError;
    fn from_str(s: &str) -> Result<ImageVolumeMode, VolumeError> {
        match s {
            "bind" | "anonymous" => Ok(ImageVolumeMode::Bind),
            "tmpfs" => Ok(ImageVolumeMode::Tmpfs),
            "ignore" => Ok(ImageVolumeMode::Ignore),
            other => Err(VolumeError::ImageVolumeMode(other.to_string())),
        }
    }
}

impl fmt::Display for ImageVolumeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageVolumeMode::Bind => "bind",
            ImageVolumeMode::Tmpfs => "tmpfs",
            ImageVolumeMode::Ignore => "ignore",
        })
    }
}

/// A relative `-v` source (`.`, `./dir`, `../dir`) as the directory it names
/// from `cwd`; other specs as they are.
pub fn absolute_source(spec: &str, cwd: &Path) -> Result<String, VolumeError> {
    match spec.split_once(':') {
        Some((src, rest)) if src == "." || src.starts_with("./") || src.starts_with("../") => {
            let abs = cwd
                .join(src)
                .canonicalize()
                .map_err(|e| VolumeError::HostPath {
                    spec: spec.to_string(),
                    source_path: src.to_string(),
                    source: e,
                })?;
            Ok(format!("{}:{rest}", abs.display()))
        }
        _ => Ok(spec.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_reads_back_from_the_form_it_is_kept_in() {
        for flag in ["/h:/c", "/h:/c:ro,nodev", "data:/var/lib/x:Z", "/anon"] {
            let v: VolumeSpec = flag.parse().unwrap();
            assert_eq!(v.to_string(), flag);
            assert_eq!(v.to_string().parse::<VolumeSpec>().unwrap(), v);
        }
        let v: VolumeSpec = "data:/c/:ro".parse().unwrap();
        assert_eq!(
            (v.name(), v.destination.as_str(), v.read_only()),
            (Some("data"), "/c", true)
        );
        assert_eq!(v.flags().count(), 0);
    }

    #[test]
    fn a_bad_volume_is_refused_naming_it() {
        for (flag, words) in [
            ("/h:c", "must be absolute"),
            ("/h:/c/../etc", "must be absolute"),
            ("/h:/c:rx", "unknown option \"rx\""),
            ("a b:/c", "neither an absolute path nor a volume name"),
            ("a:b:c:d", "expected SOURCE:DEST"),
            ("rel", "expected SOURCE:DEST"),
        ] {
            let e = flag.parse::<VolumeSpec>().unwrap_err().to_string();
            assert!(e.contains(words), "{flag}: {e}");
        }
    }

    #[test]
    fn mount_flags_become_volumes_and_tmpfs() {
        let m: MountFlag = "type=bind,src=/h,target=/c,readonly".parse().unwrap();
        assert_eq!(m, MountFlag::Volume("/h:/c:ro".parse().unwrap()));
        let m: MountFlag = "type=tmpfs,target=/t,tmpfs-size=1m".parse().unwrap();
        assert_eq!(m, MountFlag::Tmpfs("/t:size=1m".parse().unwrap()));
        let e = "type=bind,target=/c".parse::<MountFlag>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "--mount type=bind,target=/c: a source is required"
        );
    }

    #[test]
    fn records_of_older_versions_keep_their_mounts() {
        let old = r#"{"volumes": ["/h:/c:ro", "abc:/d"], "tmpfs": ["/t:size=1m"]}"#;
        let o: crate::spec::ProcessOptions = serde_json::from_str(old).unwrap();
        assert_eq!(o.volumes[0].source, VolumeSource::Host("/h".into()));
        assert_eq!(o.volumes[1].name(), Some("abc"));
        assert_eq!(o.tmpfs[0].options, ["size=1m"]);
        assert_eq!(serde_json::to_value(&o).unwrap()["volumes"][0], "/h:/c:ro");
    }
}
