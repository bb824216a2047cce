//! `RUN --mount=type=...,key=value,...` specifications.
//!
//! Values may hold variables (`target=$DIR`); those are only known when the
//! stage is built, so [`parse_mount`] without an expander checks the shape
//! now and leaves such a mount for later ([`MountSpec::mount`] is `None`).

use crate::expand::ExpandError;

/// A `--mount` spec buildkit would refuse, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    #[error("failed to parse csv mounts: {0}")]
    Csv(String),
    #[error("unexpected key '{key}' in '{field}'")]
    UnknownKey { key: String, field: String },
    #[error("'from' doesn't support variable expansion, define alias stage instead")]
    VariableFrom,
    #[error("invalid field '{0}' must be a key=value pair")]
    NotKeyValue(String),
    #[error("unexpected key '{key}' for mount type '{kind}'")]
    KeyForType { key: String, kind: &'static str },
    #[error("unsupported mount type \"{0}\"")]
    UnsupportedType(String),
    #[error("unsupported sharing value \"{0}\"")]
    UnsupportedSharing(String),
    /// A boolean or a size that does not read as one.
    #[error("invalid value for {key}: {value}")]
    InvalidValue { key: String, value: String },
    #[error("invalid value {value} for {key}")]
    InvalidNumber { key: String, value: String },
    /// `mode`, `uid` or `gid` on a mount that makes no file.
    #[error("{field} not allowed for \"{kind}\" type mounts")]
    FileInfoNotAllowed {
        field: &'static str,
        kind: &'static str,
    },
    #[error("secret mount should not have a from")]
    SecretFrom,
    #[error("invalid secret mount. one of source, target required")]
    SecretWithoutTarget,
    #[error("both source and id can't be set")]
    SecretSourceAndId,
    #[error("invalid cache sharing set for {0} mount")]
    SharingNotCache(&'static str),
    #[error(transparent)]
    Expand(#[from] ExpandError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

/// One typed `--mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    /// Stage name or index, or image, the mount's source comes from.
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    /// Defaults to true for bind/secret/ssh and false for cache/tmpfs.
    pub readonly: bool,
    /// tmpfs size limit in bytes.
    pub size: Option<u64>,
    /// Cache id (or secret/ssh id).
    pub id: Option<String>,
    pub sharing: Option<Sharing>,
    /// secret/ssh: fail when the secret is not provided.
    pub required: bool,
    /// secret: expose as this environment variable.
    pub env: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Mount {
    fn new() -> Mount {
        Mount {
            kind: MountType::Bind,
            from: None,
            source: None,
            target: None,
            readonly: false,
            size: None,
            id: None,
            sharing: None,
            required: false,
            env: None,
            mode: None,
            uid: None,
            gid: None,
        }
    }
}

/// A `--mount` value as written, and its typed form when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub spec: String,
    /// `None` while the spec holds variables to expand.
    pub mount: Option<Mount>,
}

/// Expands a variable reference in a value.
pub type Expander<'a> = &'a dyn Fn(&str) -> Result<String, ExpandError>;

const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "required",
    "size",
    "id",
    "sharing",
    "mode",
    "uid",
    "gid",
    "env",
];

/// Parses a mount spec. Without `expander`, a spec with a `$` in some value
/// is only checked for shape and `Ok(None)` is returned; `from` may never
/// hold a variable (the stage graph must be known before building).
pub fn parse_mount(spec: &str, expander: Option<Expander>) -> Result<Option<Mount>, MountError> {
    let fields = csv_fields(spec)?;
    let deferred = expander.is_none() && fields.iter().any(|f| f.contains('$'));
    let mut m = Mount::new();
    let mut ro_given = false;
    for field in &fields {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        if !KEYS.contains(&key.as_str()) {
            return Err(MountError::UnknownKey {
                key,
                field: field.clone(),
            });
        }
        if key == "from" && value.is_some_and(has_variable) {
            return Err(MountError::VariableFrom);
        }
        if deferred {
            continue;
        }
        let value = match (value, expander) {
            (Some(v), Some(x)) => Some(x(v)?),
            (v, _) => v.map(str::to_string),
        };
        ro_given |= matches!(key.as_str(), "readonly" | "ro" | "readwrite" | "rw");
        set_field(&mut m, &key, value.as_deref(), field)?;
    }
    if deferred {
        return Ok(None);
    }
    if !ro_given {
        m.readonly = !matches!(m.kind, MountType::Cache | MountType::Tmpfs);
    }
    check(&m)?;
    Ok(Some(m))
}

/// The `from=` value of a mount spec, typed or not (stage planning needs it
/// before variables are known; it may not hold any).
pub fn spec_from(spec: &MountSpec) -> Option<String> {
    if let Some(m) = &spec.mount {
        return m.from.clone();
    }
    let fields = csv_fields(&spec.spec).ok()?;
    fields.iter().rev().find_map(|f| {
        let (k, v) = f.split_once('=')?;
        k.eq_ignore_ascii_case("from").then(|| v.to_string())
    })
}

/// A `$` that starts a reference (a trailing `$` is literal).
fn has_variable(v: &str) -> bool {
    v.find('$').is_some_and(|i| i + 1 < v.len())
}

/// Comma-separated fields; a field may be double-quoted (`""` inside for a
/// quote), which lets values hold commas.
fn csv_fields(spec: &str) -> Result<Vec<String>, MountError> {
    let mut fields = Vec::new();
    let mut chars = spec.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(MountError::Csv(spec.to_string())),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        while let Some(c) = chars.next_if(|&c| c != ',') {
            field.push(c);
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

fn set_field(m: &mut Mount, key: &str, value: Option<&str>, field: &str) -> Result<(), MountError> {
    let Some(v) = value else {
        return set_flag_field(m, key, field);
    };
    let owned = || Some(v.to_string());
    match key {
        "type" => m.kind = mount_type(v)?,
        "from" => m.from = owned(),
        "source" | "src" => m.source = owned(),
        "target" | "dst" | "destination" => m.target = owned(),
        "readonly" | "ro" => m.readonly = parse_bool(key, v)?,
        "readwrite" | "rw" => m.readonly = !parse_bool(key, v)?,
        "required" => {
            only_for(m, key, &[MountType::Secret, MountType::Ssh])?;
            m.required = parse_bool(key, v)?;
        }
        "size" => {
            only_for(m, key, &[MountType::Tmpfs])?;
            m.size = Some(ram_in_bytes(v).ok_or_else(|| invalid_value(key, v))?);
        }
        "id" => m.id = owned(),
        "sharing" => m.sharing = Some(sharing(v)?),
        "mode" => m.mode = Some(number(key, v, 8)?),
        "uid" => m.uid = Some(number(key, v, 10)?),
        "gid" => m.gid = Some(number(key, v, 10)?),
        _ => m.env = owned(),
    }
    Ok(())
}

/// A key written without `=value`: only the boolean ones may be.
fn set_flag_field(m: &mut Mount, key: &str, field: &str) -> Result<(), MountError> {
    match key {
        "readonly" | "ro" => m.readonly = true,
        "readwrite" | "rw" => m.readonly = false,
        "required" => {
            only_for(m, key, &[MountType::Secret, MountType::Ssh])?;
            m.required = true;
        }
        _ => return Err(MountError::NotKeyValue(field.to_string())),
    }
    Ok(())
}

fn only_for(m: &Mount, key: &str, kinds: &[MountType]) -> Result<(), MountError> {
    if kinds.contains(&m.kind) {
        return Ok(());
    }
    Err(MountError::KeyForType {
        key: key.to_string(),
        kind: m.kind.as_str(),
    })
}

fn mount_type(v: &str) -> Result<MountType, MountError> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "bind" => MountType::Bind,
        "cache" => MountType::Cache,
        "tmpfs" => MountType::Tmpfs,
        "secret" => MountType::Secret,
        "ssh" => MountType::Ssh,
        _ => return Err(MountError::UnsupportedType(v.to_string())),
    })
}

fn sharing(v: &str) -> Result<Sharing, MountError> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "shared" => Sharing::Shared,
        "private" => Sharing::Private,
        "locked" => Sharing::Locked,
        _ => return Err(MountError::UnsupportedSharing(v.to_string())),
    })
}

/// Booleans as Go's `strconv.ParseBool` spells them.
fn parse_bool(key: &str, v: &str) -> Result<bool, MountError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(invalid_value(key, v)),
    }
}

fn invalid_value(key: &str, v: &str) -> MountError {
    MountError::InvalidValue {
        key: key.to_string(),
        value: v.to_string(),
    }
}

fn number(key: &str, v: &str, radix: u32) -> Result<u32, MountError> {
    u32::from_str_radix(v, radix).map_err(|_| MountError::InvalidNumber {
        key: key.to_string(),
        value: v.to_string(),
    })
}

/// Sizes like docker's `RAMInBytes`: a number, optional space, optional
/// k/m/g/t/p (binary multiples), optional `i` and `b`: `64m`, `1.5GiB`.
pub fn ram_in_bytes(v: &str) -> Option<u64> {
    let num_len = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, suffix) = v.split_at(num_len);
    let number: f64 = num.parse().ok().filter(|_| !num.starts_with('.'))?;
    let suffix = suffix
        .strip_prefix(' ')
        .unwrap_or(suffix)
        .to_ascii_lowercase();
    let suffix = suffix.strip_suffix('b').unwrap_or(&suffix);
    let suffix = suffix.strip_suffix('i').unwrap_or(suffix);
    let power = match suffix {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    Some((number * 1024f64.powi(power)) as u64)
}

/// Rules that involve several fields.
fn check(m: &Mount) -> Result<(), MountError> {
    let kind = m.kind.as_str();
    let file_info_ok = matches!(
        m.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    );
    for (name, set) in [
        ("mode", m.mode.is_some()),
        ("uid", m.uid.is_some()),
        ("gid", m.gid.is_some()),
    ] {
        if set && !file_info_ok {
            return Err(MountError::FileInfoNotAllowed { field: name, kind });
        }
    }
    if m.kind == MountType::Secret {
        if m.from.is_some() {
            return Err(MountError::SecretFrom);
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() {
            return Err(MountError::SecretWithoutTarget);
        }
        if m.source.is_some() && m.id.is_some() {
            return Err(MountError::SecretSourceAndId);
        }
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(MountError::SharingNotCache(kind));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(spec: &str) -> Mount {
        parse_mount(spec, None).unwrap().unwrap()
    }

    fn fail(spec: &str) -> String {
        parse_mount(spec, None).unwrap_err().to_string()
    }

    #[test]
    fn cache() {
        let m = mount(
            "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=100",
        );
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.id.as_deref(), Some("pip"));
        assert_eq!(m.sharing, Some(Sharing::Locked));
        assert_eq!((m.mode, m.uid, m.gid), (Some(0o755), Some(1000), Some(100)));
        assert!(!m.readonly);
    }

    #[test]
    fn bind_defaults_and_aliases() {
        let m = mount("target=/src,from=build,source=/out");
        assert_eq!(m.kind, MountType::Bind);
        assert!(m.readonly);
        assert_eq!(m.from.as_deref(), Some("build"));
        assert_eq!(m.source.as_deref(), Some("/out"));
        let m = mount("type=bind,dst=/x,src=y,rw");
        assert_eq!(
            (m.target.as_deref(), m.source.as_deref()),
            (Some("/x"), Some("y"))
        );
        assert!(!m.readonly);
        assert!(!mount("type=bind,destination=/x,readwrite=true").readonly);
        assert!(mount("type=cache,target=/x,ro").readonly);
        assert!(!mount("type=bind,target=/x,readonly=false").readonly);
    }

    #[test]
    fn secret_tmpfs_ssh() {
        let m = mount("type=secret,id=tok,env=TOKEN,required");
        assert_eq!(m.kind, MountType::Secret);
        assert_eq!(
            (m.id.as_deref(), m.env.as_deref()),
            (Some("tok"), Some("TOKEN"))
        );
        assert!(m.required && m.readonly);
        let m = mount("type=tmpfs,target=/t,size=64m");
        assert_eq!(m.size, Some(64 << 20));
        assert!(!m.readonly);
        let m = mount("type=ssh,required=true");
        assert_eq!(m.kind, MountType::Ssh);
        assert!(m.required);
    }

    #[test]
    fn quoted_csv_field() {
        let m = mount("type=bind,\"target=/a,b\",source=\"x\"");
        assert_eq!(m.target.as_deref(), Some("/a,b"));
        assert_eq!(csv_fields("a,\"b\"\"c\",d").unwrap(), ["a", "b\"c", "d"]);
        assert!(csv_fields("\"open").is_err());
    }

    #[test]
    fn errors() {
        assert_eq!(fail("type=nfs"), "unsupported mount type \"nfs\"");
        assert_eq!(
            fail("type=cache,sharing=some"),
            "unsupported sharing value \"some\""
        );
        assert_eq!(fail("type=cache,foo=1"), "unexpected key 'foo' in 'foo=1'");
        assert_eq!(
            fail("type=cache,target"),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            fail("type=bind,size=1m"),
            "unexpected key 'size' for mount type 'bind'"
        );
        assert_eq!(
            fail("type=cache,required"),
            "unexpected key 'required' for mount type 'cache'"
        );
        assert_eq!(
            fail("type=bind,mode=0644"),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(fail("type=cache,mode=9"), "invalid value 9 for mode");
        assert_eq!(fail("type=cache,uid=-1"), "invalid value -1 for uid");
        assert_eq!(fail("type=bind,ro=maybe"), "invalid value for ro: maybe");
        assert_eq!(fail("type=tmpfs,size=lots"), "invalid value for size: lots");
        assert_eq!(
            fail("type=secret,from=x,id=a"),
            "secret mount should not have a from"
        );
        assert_eq!(
            fail("type=secret"),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            fail("type=secret,id=a,src=b"),
            "both source and id can't be set"
        );
        assert_eq!(
            fail("type=bind,sharing=locked"),
            "invalid cache sharing set for bind mount"
        );
    }

    #[test]
    fn variables_deferred_then_expanded() {
        assert_eq!(parse_mount("type=cache,target=$DIR,uid=$U", None), Ok(None));
        assert!(parse_mount("type=cache,bogus=$X", None).is_err());
        assert_eq!(
            fail("type=bind,from=$STAGE"),
            "'from' doesn't support variable expansion, define alias stage instead"
        );
        let x = |s: &str| -> Result<String, ExpandError> {
            Ok(s.replace("$DIR", "/cache").replace("$U", "7"))
        };
        let m = parse_mount("type=cache,target=$DIR,uid=$U", Some(&x))
            .unwrap()
            .unwrap();
        assert_eq!((m.target.as_deref(), m.uid), (Some("/cache"), Some(7)));
    }

    #[test]
    fn from_of_spec() {
        let spec = |s: &str| MountSpec {
            spec: s.to_string(),
            mount: parse_mount(s, None).unwrap(),
        };
        assert_eq!(
            spec_from(&spec("type=bind,from=build,target=/x")).as_deref(),
            Some("build")
        );
        assert_eq!(
            spec_from(&spec("type=cache,FROM=b,target=$X")).as_deref(),
            Some("b")
        );
        assert_eq!(spec_from(&spec("type=cache,target=/x")), None);
    }

    #[test]
    fn ram_sizes() {
        assert_eq!(ram_in_bytes("1024"), Some(1024));
        assert_eq!(ram_in_bytes("1k"), Some(1024));
        assert_eq!(ram_in_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(ram_in_bytes("10 MB"), Some(10 << 20));
        assert_eq!(ram_in_bytes("1x"), None);
        assert_eq!(ram_in_bytes(""), None);
    }
}
