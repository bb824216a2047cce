//! `--flag` words of an instruction, checked against the flags it accepts.
//!
//! As in docker: a string flag needs `--name=value`; a boolean flag is
//! `--name`, `--name=true` or `--name=false`; a repeatable flag collects every
//! value; any other flag, or a non-repeatable one given twice, is an error.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    Bool,
    Str,
    Strs,
}

/// A flag word an instruction does not accept, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("arg should start with -- : {0}")]
    NotAFlag(String),
    #[error("unknown flag: --{0}")]
    Unknown(String),
    #[error("duplicate flag specified: --{0}")]
    Duplicate(String),
    #[error("missing a value on flag: --{0}")]
    MissingValue(String),
    #[error("expecting boolean value for flag --{name}, not: {value}")]
    NotBoolean { name: String, value: String },
}

/// The flags an instruction was given, by name (without `--`).
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `words` (`--name[=value]`) against `accepted`.
    pub(crate) fn parse(
        words: &[String],
        accepted: &[(&'static str, FlagKind)],
    ) -> Result<Flags, FlagError> {
        let mut flags = Flags::default();
        for word in words {
            let Some(body) = word.strip_prefix("--") else {
                return Err(FlagError::NotAFlag(word.clone()));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(name, kind)) = accepted.iter().find(|(n, _)| *n == name) else {
                return Err(FlagError::Unknown(name.to_string()));
            };
            let slot = flags.values.entry(name).or_default();
            if !slot.is_empty() && kind != FlagKind::Strs {
                return Err(FlagError::Duplicate(name.to_string()));
            }
            slot.push(flag_value(name, kind, value)?);
        }
        Ok(flags)
    }

    /// A boolean flag: `None` when absent.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.values.get(name).map(|v| v[0] == "true")
    }

    /// A string flag's value, `None` when absent.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).map(|v| v[0].clone())
    }

    /// Every value of a repeatable flag, in order.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

fn flag_value(name: &str, kind: FlagKind, value: Option<&str>) -> Result<String, FlagError> {
    match (kind, value) {
        (FlagKind::Bool, None) => Ok("true".to_string()),
        (FlagKind::Bool, Some("")) | (_, None) => Err(FlagError::MissingValue(name.to_string())),
        (FlagKind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
            b @ ("true" | "false") => Ok(b.to_string()),
            _ => Err(FlagError::NotBoolean {
                name: name.to_string(),
                value: v.to_string(),
            }),
        },
        (_, Some(v)) => Ok(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::FlagKind::*;
    use super::*;

    const ACCEPTED: &[(&str, FlagKind)] = &[("link", Bool), ("from", Str), ("exclude", Strs)];

    fn parse(words: &[&str]) -> Result<Flags, FlagError> {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        Flags::parse(&words, ACCEPTED)
    }

    #[test]
    fn values() {
        let f = parse(&["--link", "--from=a=b", "--exclude=x", "--exclude=y"]).unwrap();
        assert_eq!(f.bool("link"), Some(true));
        assert_eq!(f.string("from").as_deref(), Some("a=b"));
        assert_eq!(f.strings("exclude"), ["x", "y"]);
        let f = parse(&["--link=FALSE", "--from="]).unwrap();
        assert_eq!(f.bool("link"), Some(false));
        assert_eq!(f.string("from").as_deref(), Some(""));
        let f = parse(&[]).unwrap();
        assert_eq!((f.bool("link"), f.string("from")), (None, None));
        assert!(f.strings("exclude").is_empty());
    }

    #[test]
    fn errors() {
        let e = |w: &[&str]| parse(w).unwrap_err().to_string();
        assert_eq!(e(&["--chown=1"]), "unknown flag: --chown");
        assert_eq!(
            e(&["--from=a", "--from=b"]),
            "duplicate flag specified: --from"
        );
        assert_eq!(e(&["--link", "--link"]), "duplicate flag specified: --link");
        assert_eq!(e(&["--from"]), "missing a value on flag: --from");
        assert_eq!(e(&["--link="]), "missing a value on flag: --link");
        assert_eq!(
            e(&["--link=yes"]),
            "expecting boolean value for flag --link, not: yes"
        );
        assert_eq!(e(&["-x"]), "arg should start with -- : -x");
    }
}
