//! Trust policy (containers-policy.json(5)): which images may be copied or
//! pulled, by transport and scope, and the signatures they must carry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::manifest::RawManifest;
use crate::reference::Reference;
use crate::signature::gpg::Gpg;
use crate::signature::verify::verify_signature;
use crate::transport::{ArchiveRef, ImageName};

/// A parsed policy.json.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    default: Vec<Requirement>,
    transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Requirement {
    InsecureAcceptAnything,
    Reject,
    SignedBy {
        keys: Vec<KeySource>,
        identity: SignedIdentity,
    },
    /// Parsed so that policies written for podman load; refused when evaluated.
    SigstoreSigned,
}

#[derive(Clone, Debug, PartialEq)]
pub enum KeySource {
    Path(PathBuf),
    Data(Vec<u8>),
}

/// How the reference a signature names must relate to the image's.
#[derive(Clone, Debug, PartialEq)]
pub enum SignedIdentity {
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    ExactReference(Reference),
    ExactRepository(String),
    RemapIdentity {
        prefix: String,
        signed_prefix: String,
    },
}

/// What the policy is asked about: an image, by transport and scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyImage {
    pub transport: &'static str,
    /// Most specific first: the identity, then the enclosing namespaces.
    pub scopes: Vec<String>,
    /// The image's Docker reference, when its transport has one.
    pub docker_reference: Option<Reference>,
}

impl Policy {
    /// Everything accepted: berth's stand-in when no policy file exists at all.
    pub fn accept_anything() -> Policy {
        Policy {
            default: vec![Requirement::InsecureAcceptAnything],
            transports: BTreeMap::new(),
        }
    }

    /// `path` (`--policy`), else `~/.config/containers/policy.json`, else
    /// `/etc/containers/policy.json`. An explicit path must exist; when neither
    /// default exists, everything is accepted.
    pub fn load(path: Option<&Path>) -> Result<Policy> {
        if let Some(p) = path {
            return Policy::read(p);
        }
        let user = crate::registries::config_home().map(|h| h.join("containers/policy.json"));
        for p in user
            .into_iter()
            .chain([PathBuf::from("/etc/containers/policy.json")])
        {
            if p.exists() {
                return Policy::read(&p);
            }
        }
        Ok(Policy::accept_anything())
    }

    pub fn read(path: &Path) -> Result<Policy> {
        let text = std::fs::read(path).at(path)?;
        Policy::parse(&text).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &[u8]) -> std::result::Result<Policy, PolicySyntax> {
        let v: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        let obj = v.as_object().ok_or("policy is not a JSON object")?;
        only_fields(obj, &["default", "transports"], "policy")?;
        let default = requirements(obj.get("default").ok_or("missing \"default\"")?, "default")?;
        let mut transports = BTreeMap::new();
        if let Some(t) = obj.get("transports") {
            let t = t.as_object().ok_or("\"transports\" is not an object")?;
            for (name, scopes) in t {
                let scopes = scopes
                    .as_object()
                    .ok_or_else(|| format!("transports.{name} is not an object"))?;
                let mut m = BTreeMap::new();
                for (scope, reqs) in scopes {
                    m.insert(
                        scope.clone(),
                        requirements(reqs, &format!("transports.{name}.{scope:?}"))?,
                    );
                }
                transports.insert(name.clone(), m);
            }
        }
        Ok(Policy {
            default,
            transports,
        })
    }

    /// The requirements for an image: those of its most specific scope, else
    /// its transport's default (`""`), else the global default.
    pub fn requirements_for(&self, image: &PolicyImage) -> &[Requirement] {
        if let Some(scopes) = self.transports.get(image.transport) {
            for s in image.scopes.iter().chain(std::iter::once(&String::new())) {
                if let Some(r) = scopes.get(s) {
                    return r;
                }
            }
        }
        &self.default
    }

    /// Whether the image whose top-level manifest is `manifest` may be used.
    /// `signatures` is asked only when a requirement needs them.
    pub fn check(
        &self,
        image: &PolicyImage,
        name: &str,
        manifest: &RawManifest,
        signatures: &dyn Fn() -> Result<Vec<Vec<u8>>>,
    ) -> Result<()> {
        let rejected =
            |why: Rejection| Error::Invalid(format!("{name}: Source image rejected: {why}"));
        let mut sigs: Option<Vec<Vec<u8>>> = None;
        for req in self.requirements_for(image) {
            match req {
                Requirement::InsecureAcceptAnything => {}
                Requirement::Reject => {
                    return Err(rejected(Rejection(format!(
                        "Running image {name} is rejected by policy."
                    ))));
                }
                Requirement::SigstoreSigned => {
                    return Err(rejected(
                        "sigstoreSigned requirements are not supported by berth".into(),
                    ));
                }
                Requirement::SignedBy { keys, identity } => {
                    if sigs.is_none() {
                        sigs = Some(signatures()?);
                    }
                    let sigs = sigs.as_deref().unwrap_or_default();
                    check_signed_by(keys, identity, image, manifest, sigs).map_err(rejected)?;
                }
            }
        }
        Ok(())
    }
}

fn only_fields(
    obj: &serde_json::Map<String, Value>,
    allowed: &[&str],
    what: &str,
) -> std::result::Result<(), PolicySyntax> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unknown field {k:?}").into()),
        None => Ok(()),
    }
}

fn requirements(v: &Value, what: &str) -> std::result::Result<Vec<Requirement>, PolicySyntax> {
    let list = v
        .as_array()
        .ok_or_else(|| format!("{what} is not a list"))?;
    if list.is_empty() {
        return Err(format!("{what}: an empty list of requirements is not allowed").into());
    }
    list.iter()
        .map(|r| requirement(r).map_err(|e| format!("{what}: {e}").into()))
        .collect()
}

fn requirement(v: &Value) -> std::result::Result<Requirement, PolicySyntax> {
    let obj = v.as_object().ok_or("a requirement is not an object")?;
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("requirement without \"type\"")?;
    match ty {
        "insecureAcceptAnything" => {
            only_fields(obj, &["type"], ty)?;
            Ok(Requirement::InsecureAcceptAnything)
        }
        "reject" => {
            only_fields(obj, &["type"], ty)?;
            Ok(Requirement::Reject)
        }
        "signedBy" => signed_by(obj),
        "sigstoreSigned" => Ok(Requirement::SigstoreSigned),
        other => Err(format!("unknown requirement type {other:?}").into()),
    }
}

fn signed_by(
    obj: &serde_json::Map<String, Value>,
) -> std::result::Result<Requirement, PolicySyntax> {
    only_fields(
        obj,
        &[
            "type",
            "keyType",
            "keyPath",
            "keyPaths",
            "keyData",
            "signedIdentity",
        ],
        "signedBy",
    )?;
    match obj.get("keyType").and_then(Value::as_str) {
        Some("GPGKeys") => {}
        Some(other) => return Err(format!("signedBy: keyType {other:?} is not supported").into()),
        None => return Err("signedBy: missing keyType".into()),
    }
    let mut keys = Vec::new();
    if let Some(p) = obj.get("keyPath") {
        keys.push(KeySource::Path(
            p.as_str()
                .ok_or("signedBy: keyPath is not a string")?
                .into(),
        ));
    }
    if let Some(ps) = obj.get("keyPaths") {
        for p in ps.as_array().ok_or("signedBy: keyPaths is not a list")? {
            keys.push(KeySource::Path(
                p.as_str()
                    .ok_or("signedBy: keyPaths holds a non-string")?
                    .into(),
            ));
        }
    }
    if let Some(d) = obj.get("keyData") {
        let d = d.as_str().ok_or("signedBy: keyData is not a string")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(d)
            .map_err(|e| format!("signedBy: keyData: {e}"))?;
        keys.push(KeySource::Data(bytes));
    }
    if keys.len() != 1 {
        return Err("signedBy: exactly one of keyPath, keyPaths and keyData must be set".into());
    }
    let identity = match obj.get("signedIdentity") {
        None => SignedIdentity::MatchRepoDigestOrExact,
        Some(v) => signed_identity(v)?,
    };
    Ok(Requirement::SignedBy { keys, identity })
}

fn signed_identity(v: &Value) -> std::result::Result<SignedIdentity, PolicySyntax> {
    let obj = v.as_object().ok_or("signedIdentity is not an object")?;
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("signedIdentity without \"type\"")?;
    let field = |k: &str| -> std::result::Result<String, PolicySyntax> {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("signedIdentity {ty}: missing {k}").into())
    };
    let reference = |s: &str| Reference::parse(s).map_err(|e| format!("signedIdentity {ty}: {e}"));
    Ok(match ty {
        "matchExact" => SignedIdentity::MatchExact,
        "matchRepoDigestOrExact" => SignedIdentity::MatchRepoDigestOrExact,
        "matchRepository" => SignedIdentity::MatchRepository,
        "exactReference" => {
            only_fields(obj, &["type", "dockerReference"], ty)?;
            SignedIdentity::ExactReference(reference(&field("dockerReference")?)?)
        }
        "exactRepository" => {
            only_fields(obj, &["type", "dockerRepository"], ty)?;
            SignedIdentity::ExactRepository(reference(&field("dockerRepository")?)?.name())
        }
        "remapIdentity" => {
            only_fields(obj, &["type", "prefix", "signedPrefix"], ty)?;
            SignedIdentity::RemapIdentity {
                prefix: field("prefix")?,
                signed_prefix: field("signedPrefix")?,
            }
        }
        other => return Err(format!("unknown signedIdentity type {other:?}").into()),
    })
}

/// Accepts when at least one signature is valid, by a trusted key, for this
/// manifest and for a reference the identity rule allows.
fn check_signed_by(
    keys: &[KeySource],
    identity: &SignedIdentity,
    image: &PolicyImage,
    manifest: &RawManifest,
    sigs: &[Vec<u8>],
) -> std::result::Result<(), Rejection> {
    if sigs.is_empty() {
        // containers/image's words, which scripts match.
        return Err("A signature was required, but no signature exists".into());
    }
    let mut data = Vec::new();
    for k in keys {
        match k {
            KeySource::Data(d) => data.push(d.clone()),
            KeySource::Path(p) => {
                data.push(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?)
            }
        }
    }
    let (gpg, trusted) = Gpg::with_keys(&data).map_err(|e| e.to_string())?;
    let mut reasons = Vec::new();
    for sig in sigs {
        match accept_signature(&gpg, &trusted, identity, image, manifest, sig) {
            Ok(()) => return Ok(()),
            Err(e) => reasons.push(e),
        }
    }
    let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    Err(Rejection(match reasons.len() {
        1 => reasons.concat(),
        _ => format!(
            "None of the signatures were accepted, reasons: {}",
            reasons.join("; ")
        ),
    }))
}

fn accept_signature(
    gpg: &Gpg,
    trusted: &[String],
    identity: &SignedIdentity,
    image: &PolicyImage,
    manifest: &RawManifest,
    sig: &[u8],
) -> std::result::Result<(), Rejection> {
    let image_ref = image.docker_reference.as_ref();
    verify_signature(gpg, trusted, identity, image_ref, &manifest.bytes, sig)
        .map(drop)
        .map_err(|e| e.to_string().into())
}

/// Whether a signature for `signed` vouches for `image` under `rule`.
pub fn identity_matches(
    rule: &SignedIdentity,
    image: Option<&Reference>,
    signed: &Reference,
) -> bool {
    match rule {
        SignedIdentity::MatchExact => image.is_some_and(|i| i == signed),
        SignedIdentity::MatchRepoDigestOrExact => {
            image.is_some_and(|i| repo_digest_or_exact(i, signed))
        }
        SignedIdentity::MatchRepository => image.is_some_and(|i| i.name() == signed.name()),
        SignedIdentity::ExactReference(r) => r == signed,
        SignedIdentity::ExactRepository(repo) => *repo == signed.name(),
        SignedIdentity::RemapIdentity {
            prefix,
            signed_prefix,
        } => image.is_some_and(|i| match remap(i, prefix, signed_prefix) {
            Some(r) => repo_digest_or_exact(&r, signed),
            None => repo_digest_or_exact(i, signed),
        }),
    }
}

fn repo_digest_or_exact(image: &Reference, signed: &Reference) -> bool {
    if image.digest().is_some() && image.tag().is_none() {
        image.name() == signed.name()
    } else {
        image == signed
    }
}

/// `prefix` replaced by `signed_prefix` when it covers whole path components
/// of the image's name.
fn remap(image: &Reference, prefix: &str, signed_prefix: &str) -> Option<Reference> {
    let s = image.to_string();
    let rest = s.strip_prefix(prefix)?;
    if !(rest.is_empty() || rest.starts_with(['/', ':', '@'])) || image.name().len() < prefix.len()
    {
        return None;
    }
    Reference::parse(&format!("{signed_prefix}{rest}")).ok()
}

/// A registry reference's scopes, most specific first: the reference itself,
/// the repository, each enclosing namespace, the registry, and `*.domain`
/// wildcards.
pub fn docker_scopes(r: &Reference) -> Vec<String> {
    let mut scopes = vec![r.to_string()];
    let mut name = r.name();
    loop {
        if scopes.last() != Some(&name) {
            scopes.push(name.clone());
        }
        match name.rfind('/') {
            Some(i) => name.truncate(i),
            None => break,
        }
    }
    let host = r.registry().split(':').next().unwrap_or_default();
    let mut rest = host;
    while let Some((_, tail)) = rest.split_once('.') {
        scopes.push(format!("*.{tail}"));
        rest = tail;
    }
    scopes
}

/// A path's scopes: `PATH[:TAG]`, the absolute path, then each parent directory.
fn path_scopes(path: &Path, tag: Option<&str>) -> Vec<String> {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    });
    let mut scopes = Vec::new();
    if let Some(t) = tag {
        scopes.push(format!("{}:{t}", abs.display()));
    }
    let mut p = abs.as_path();
    loop {
        if p != Path::new("/") {
            scopes.push(p.display().to_string());
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    scopes
}

impl PolicyImage {
    /// How the policy sees an image name.
    pub fn of(name: &ImageName) -> PolicyImage {
        match name {
            ImageName::Docker(r) => PolicyImage {
                transport: "docker",
                scopes: docker_scopes(r),
                docker_reference: Some(r.clone()),
            },
            ImageName::Oci { path, tag } => PolicyImage {
                transport: "oci",
                scopes: path_scopes(path, tag.as_deref()),
                docker_reference: None,
            },
            ImageName::OciArchive { path, tag } => PolicyImage {
                transport: "oci-archive",
                scopes: path_scopes(path, tag.as_deref()),
                docker_reference: None,
            },
            ImageName::Dir(path) => PolicyImage {
                transport: "dir",
                scopes: path_scopes(path, None),
                docker_reference: None,
            },
            ImageName::DockerArchive { path, reference } => PolicyImage {
                transport: "docker-archive",
                scopes: path_scopes(path, None),
                docker_reference: match reference {
                    Some(ArchiveRef::Name(r)) => Some(r.clone()),
                    _ => None,
                },
            },
            ImageName::ContainersStorage(n) => PolicyImage {
                transport: "containers-storage",
                scopes: Vec::new(),
                docker_reference: Reference::parse(n).ok(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn scopes_go_from_specific_to_general() {
        assert_eq!(
            docker_scopes(&r("reg.example.com:5000/a/b:t")),
            [
                "reg.example.com:5000/a/b:t",
                "reg.example.com:5000/a/b",
                "reg.example.com:5000/a",
                "reg.example.com:5000",
                "*.example.com",
                "*.com"
            ]
        );
    }

    #[test]
    fn most_specific_scope_then_transport_default_then_default() {
        let p = Policy::parse(
            br#"{"default":[{"type":"reject"}],
                 "transports":{"docker":{
                    "":[{"type":"insecureAcceptAnything"}],
                    "example.com/ns":[{"type":"reject"}],
                    "example.com/ns/ok":[{"type":"insecureAcceptAnything"}]}}}"#,
        )
        .unwrap();
        let req = |s: &str| {
            p.requirements_for(&PolicyImage::of(&ImageName::parse(s).unwrap()))
                .to_vec()
        };
        assert_eq!(req("docker://example.com/ns/app:1"), [Requirement::Reject]);
        assert_eq!(
            req("docker://example.com/ns/ok:1"),
            [Requirement::InsecureAcceptAnything]
        );
        assert_eq!(
            req("docker://quay.io/x"),
            [Requirement::InsecureAcceptAnything]
        );
        assert_eq!(req("dir:/tmp/x"), [Requirement::Reject]);
    }

    #[test]
    fn malformed_policies_are_refused() {
        for bad in [
            r#"{}"#,
            r#"{"default":[]}"#,
            r#"{"default":[{"type":"nope"}]}"#,
            r#"{"default":[{"type":"reject","x":1}]}"#,
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys"}]}"#,
            r#"{"default":[{"type":"signedBy","keyType":"X509","keyPath":"/k"}]}"#,
            r#"{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"exactReference"}}]}"#,
            r#"{"default":[{"type":"insecureAcceptAnything"}],"extra":1}"#,
        ] {
            assert!(Policy::parse(bad.as_bytes()).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn identity_rules() {
        use SignedIdentity::*;
        let tagged = r("example.com/ns/app:1");
        let pinned = r(&format!(
            "example.com/ns/app@{}",
            crate::Digest::sha256_of(b"m")
        ));
        assert!(identity_matches(
            &MatchExact,
            Some(&tagged),
            &r("example.com/ns/app:1")
        ));
        assert!(!identity_matches(
            &MatchExact,
            Some(&tagged),
            &r("example.com/ns/app:2")
        ));
        assert!(!identity_matches(&MatchExact, None, &tagged));
        assert!(identity_matches(
            &MatchRepoDigestOrExact,
            Some(&pinned),
            &r("example.com/ns/app:9")
        ));
        assert!(!identity_matches(
            &MatchRepoDigestOrExact,
            Some(&tagged),
            &r("example.com/ns/app:9")
        ));
        assert!(identity_matches(
            &MatchRepository,
            Some(&tagged),
            &r("example.com/ns/app:9")
        ));
        assert!(!identity_matches(
            &MatchRepository,
            Some(&tagged),
            &r("example.com/ns/other:1")
        ));
        assert!(identity_matches(
            &ExactReference(r("a.io/x:1")),
            None,
            &r("a.io/x:1")
        ));
        assert!(identity_matches(
            &ExactRepository("a.io/x".into()),
            None,
            &r("a.io/x:7")
        ));
        let remap = RemapIdentity {
            prefix: "mirror.local/ns".into(),
            signed_prefix: "example.com/ns".into(),
        };
        assert!(identity_matches(
            &remap,
            Some(&r("mirror.local/ns/app:1")),
            &tagged
        ));
        assert!(!identity_matches(
            &remap,
            Some(&r("mirror.local/nsx/app:1")),
            &r("example.comx/app:1")
        ));
    }
}

/// What is wrong with a policy.json, in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PolicySyntax(String);

impl From<&str> for PolicySyntax {
    fn from(s: &str) -> PolicySyntax {
        PolicySyntax(s.to_string())
    }
}

impl From<String> for PolicySyntax {
    fn from(s: String) -> PolicySyntax {
        PolicySyntax(s)
    }
}

/// Why the signatures of an image were not accepted, in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(String);

impl From<&str> for Rejection {
    fn from(s: &str) -> Rejection {
        Rejection(s.to_string())
    }
}

impl From<String> for Rejection {
    fn from(s: String) -> Rejection {
        Rejection(s)
    }
}
