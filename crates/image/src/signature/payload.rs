//! The "simple signing" payload: the JSON document a GPG signature wraps,
//! binding a manifest digest to a Docker reference
//! (containers/image's `docs/containers-signature.5.md` format).
//!
//! What comes out of a signature is attacker-controlled until proven otherwise,
//! so parsing is strict: exactly the expected fields, no duplicates, right types.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Value, json};

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The only `critical.type` there is.
pub const SIGNATURE_TYPE: &str = "atomic container signature";

/// What a signature says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: Digest,
    /// `critical.identity.docker-reference`, as written in the signature.
    pub docker_reference: String,
    /// `optional.creator`.
    pub creator: Option<String>,
    /// `optional.timestamp`, seconds since the epoch.
    pub timestamp: Option<i64>,
}

impl Payload {
    pub fn new(manifest_digest: Digest, docker_reference: String, timestamp: i64) -> Payload {
        Payload {
            manifest_digest,
            docker_reference,
            creator: Some(format!("berth {}", env!("CARGO_PKG_VERSION"))),
            timestamp: Some(timestamp),
        }
    }

    /// A payload stamped with the current time.
    pub fn now(manifest_digest: Digest, docker_reference: String) -> Payload {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Payload::new(manifest_digest, docker_reference, now)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut optional = serde_json::Map::new();
        if let Some(c) = &self.creator {
            optional.insert("creator".into(), json!(c));
        }
        if let Some(t) = self.timestamp {
            optional.insert("timestamp".into(), json!(t));
        }
        let v = json!({
            "critical": {
                "identity": {"docker-reference": self.docker_reference},
                "image": {"docker-manifest-digest": self.manifest_digest.to_string()},
                "type": SIGNATURE_TYPE,
            },
            "optional": optional,
        });
        serde_json::to_vec(&v).expect("payload serialises")
    }

    /// Parses a payload taken out of a verified signature.
    pub fn parse(bytes: &[u8]) -> Result<Payload> {
        let bad = |why: &dyn std::fmt::Display| Error::Invalid(format!("signature payload: {why}"));
        let top: StrictObject = serde_json::from_slice(bytes).map_err(|e| bad(&e))?;
        let mut top = top.exact(&["critical", "optional"]).map_err(|e| bad(&e))?;
        let mut critical = object(top.remove("critical").unwrap())
            .and_then(|o| o.exact(&["type", "image", "identity"]))
            .map_err(|e| bad(&format!("critical: {e}")))?;
        let ty = string(critical.remove("type").unwrap()).map_err(|e| bad(&e))?;
        if ty != SIGNATURE_TYPE {
            return Err(bad(&format!("unrecognised type {ty:?}")));
        }
        let mut image = object(critical.remove("image").unwrap())
            .and_then(|o| o.exact(&["docker-manifest-digest"]))
            .map_err(|e| bad(&format!("critical.image: {e}")))?;
        let digest =
            string(image.remove("docker-manifest-digest").unwrap()).map_err(|e| bad(&e))?;
        let manifest_digest = digest.parse::<Digest>().map_err(|e| bad(&e))?;
        let mut identity = object(critical.remove("identity").unwrap())
            .and_then(|o| o.exact(&["docker-reference"]))
            .map_err(|e| bad(&format!("critical.identity: {e}")))?;
        let docker_reference =
            string(identity.remove("docker-reference").unwrap()).map_err(|e| bad(&e))?;
        let optional = object(top.remove("optional").unwrap()).map_err(|e| bad(&e))?;
        let creator = match optional.0.get("creator") {
            None => None,
            Some(v) => Some(string(v.clone()).map_err(|e| bad(&e))?),
        };
        let timestamp = match optional.0.get("timestamp") {
            None => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| bad(&"optional.timestamp is not an integer"))?,
            ),
        };
        Ok(Payload {
            manifest_digest,
            docker_reference,
            creator,
            timestamp,
        })
    }
}

/// A payload field that is not what the format says.
#[derive(Debug, thiserror::Error)]
enum FieldError {
    #[error("expected {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: Value,
    },
    #[error("unexpected field {0:?}")]
    Unexpected(String),
    #[error("missing field {0:?}")]
    Missing(String),
}

fn string(v: Value) -> std::result::Result<String, FieldError> {
    match v {
        Value::String(s) => Ok(s),
        found => Err(FieldError::WrongType {
            expected: "a string",
            found,
        }),
    }
}

fn object(v: Value) -> std::result::Result<StrictObject, FieldError> {
    match v {
        // Nested objects were checked for duplicate keys when the whole document
        // was read (see StrictValue below), so converting is safe.
        Value::Object(m) => Ok(StrictObject(m.into_iter().collect())),
        found => Err(FieldError::WrongType {
            expected: "an object",
            found,
        }),
    }
}

/// A JSON object that refused duplicate keys anywhere inside it.
struct StrictObject(BTreeMap<String, Value>);

impl StrictObject {
    /// The fields, which must be exactly `names`.
    fn exact(self, names: &[&str]) -> std::result::Result<BTreeMap<String, Value>, FieldError> {
        for k in self.0.keys() {
            if !names.contains(&k.as_str()) {
                return Err(FieldError::Unexpected(k.clone()));
            }
        }
        for n in names {
            if !self.0.contains_key(*n) {
                return Err(FieldError::Missing(n.to_string()));
            }
        }
        Ok(self.0)
    }
}

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match StrictValue::deserialize(d)?.0 {
            Value::Object(m) => Ok(StrictObject(m.into_iter().collect())),
            _ => Err(de::Error::custom("expected a JSON object")),
        }
    }
}

/// A JSON value whose objects, at any depth, have no duplicate keys: two
/// parsers that keep the first or the last of a duplicate would otherwise
/// read different things out of one signed document.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(json!(v)))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(json!(v)))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(json!(v)))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }
    fn visit_unit<E>(self) -> std::result::Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(
        self,
        mut a: A,
    ) -> std::result::Result<StrictValue, A::Error> {
        let mut v = Vec::new();
        while let Some(StrictValue(x)) = a.next_element()? {
            v.push(x);
        }
        Ok(StrictValue(Value::Array(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<StrictValue, A::Error> {
        let mut m = serde_json::Map::new();
        while let Some(k) = a.next_key::<String>()? {
            let StrictValue(v) = a.next_value()?;
            if m.insert(k.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate field {k:?}")));
            }
        }
        Ok(StrictValue(Value::Object(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> Digest {
        Digest::sha256_of(b"manifest")
    }

    #[test]
    fn round_trips() {
        let p = Payload::new(
            digest(),
            "docker.io/library/busybox:latest".into(),
            1700000000,
        );
        let back = Payload::parse(&p.to_json()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn reads_other_tools_payloads() {
        let text = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"example.com/a:b"}},"image":{{"docker-manifest-digest":"{}"}},"type":"atomic container signature"}},"optional":{{"creator":"atomic 2.0.0","timestamp":1471035347,"extra":[1]}}}}"#,
            digest()
        );
        let p = Payload::parse(text.as_bytes()).unwrap();
        assert_eq!(p.docker_reference, "example.com/a:b");
        assert_eq!(p.creator.as_deref(), Some("atomic 2.0.0"));
    }

    #[test]
    fn refuses_anything_unexpected() {
        let good = String::from_utf8(Payload::new(digest(), "a/b:c".into(), 1).to_json()).unwrap();
        let d = digest().to_string();
        let cases = [
            good.replace("atomic container signature", "other"),
            good.replace(r#""type""#, r#""tipe""#),
            good.replace(r#""critical":{"#, r#""critical":{"extra":1,"#),
            good.replace(r#""image":{"#, r#""image":{"extra":1,"#),
            good.replace(&d, "sha256:nothex"),
            good.replace(r#""optional":"#, r#""other":"#),
            good.replace(
                r#""docker-reference":"a/b:c""#,
                r#""docker-reference":"a/b:c","docker-reference":"x/y:z""#,
            ),
            good.replace(r#""timestamp":1"#, r#""timestamp":"1""#),
            "[]".into(),
            "{".into(),
        ];
        for c in cases {
            assert!(Payload::parse(c.as_bytes()).is_err(), "accepted {c}");
        }
    }
}
