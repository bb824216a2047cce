//! The `--filter`s podman's prune commands share (`container prune`,
//! `image prune`, `network prune`, `volume prune`, and `system prune`, which
//! passes them on) and `network ls` takes too: `until=` (created before a
//! moment), `label=KEY[=VALUE]` and `label!=KEY[=VALUE]`. As podman reads
//! them (containers/common's `filters.MatchLabelFilters`): a thing must have
//! every `label=` given, and is left out when it has every `label!=` given;
//! different keys must all hold.

use std::collections::BTreeMap;

/// A filter podman does not take there, or a value it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum InvalidFilter {
    /// A key the command does not take (each command words this its own way
    /// in podman: [`InvalidFilter::key`] gives it to the caller).
    #[error("invalid filter {0:?}")]
    Key(String),
    #[error("{0}")]
    Value(String),
}

impl InvalidFilter {
    /// The key refused, or none for a value that does not read.
    pub fn key(&self) -> Option<&str> {
        match self {
            InvalidFilter::Key(k) => Some(k),
            InvalidFilter::Value(_) => None,
        }
    }
}

/// Parsed filters, ready to judge things with.
#[derive(Clone, Debug, Default)]
pub struct PruneFilters {
    /// `until=`: created before this, in nanoseconds since the epoch.
    until: Option<u64>,
    labels: Vec<(String, Option<String>)>,
    not_labels: Vec<(String, Option<String>)>,
}

impl PruneFilters {
    /// Reads `KEY=VALUE` filters; `keys` are those the command takes of
    /// `until`, `label` and `label!` (podman's `volume prune` has no `until`,
    /// for one). An other key is refused as podman refuses it: `invalid
    /// filter "KEY"`.
    pub fn parse(filters: &[String], keys: &[&str]) -> Result<PruneFilters, InvalidFilter> {
        let mut out = PruneFilters::default();
        for f in filters {
            let (k, v) = match f.split_once('=') {
                Some((k, v)) => (k, v),
                None => return Err(InvalidFilter::Key(f.clone())),
            };
            if !keys.contains(&k) {
                return Err(InvalidFilter::Key(k.to_string()));
            }
            let label = || match v.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (v.to_string(), None),
            };
            match k {
                "until" => {
                    let t = crate::time::parse_point(v)
                        .map_err(|e| InvalidFilter::Value(e.to_string()))?;
                    // Several: the earliest holds (each must).
                    out.until = Some(out.until.map_or(t, |u| u.min(t)));
                }
                "label" => out.labels.push(label()),
                _ => out.not_labels.push(label()),
            }
        }
        Ok(out)
    }

    /// No filter was given.
    pub fn is_empty(&self) -> bool {
        self.until.is_none() && self.labels.is_empty() && self.not_labels.is_empty()
    }

    /// Whether a thing made at `created_ns` with `labels` passes every filter.
    pub fn matches(&self, created_ns: u64, labels: &BTreeMap<String, String>) -> bool {
        let all = |want: &[(String, Option<String>)]| {
            want.iter().all(|(k, v)| match (labels.get(k), v) {
                (Some(have), Some(v)) => have == v,
                (Some(_), None) => true,
                (None, _) => false,
            })
        };
        self.until.is_none_or(|u| created_ns < u)
            && all(&self.labels)
            && (self.not_labels.is_empty() || !all(&self.not_labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &[&str]) -> PruneFilters {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        PruneFilters::parse(&v, &["until", "label", "label!"]).unwrap()
    }

    #[test]
    fn labels_must_all_hold_and_negations_leave_out() {
        let l: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "".into())].into();
        assert!(f(&[]).matches(0, &l));
        assert!(f(&["label=a"]).matches(0, &l));
        assert!(f(&["label=a=1", "label=b"]).matches(0, &l));
        assert!(!f(&["label=a=2"]).matches(0, &l));
        assert!(!f(&["label=a", "label=c"]).matches(0, &l));
        assert!(!f(&["label!=a"]).matches(0, &l));
        assert!(f(&["label!=a=2"]).matches(0, &l));
        assert!(f(&["label!=c"]).matches(0, &l));
    }

    #[test]
    fn until_keeps_what_is_newer_and_bad_keys_are_named() {
        let l = BTreeMap::new();
        let t = 1_700_000_000_000_000_000;
        assert!(f(&["until=1700000001"]).matches(t, &l));
        assert!(!f(&["until=1700000000"]).matches(t, &l));
        let e = PruneFilters::parse(&["foo=bar".into()], &["label"]).unwrap_err();
        assert_eq!(e.to_string(), "invalid filter \"foo\"");
        assert!(PruneFilters::parse(&["until=x".into()], &["until"]).is_err());
        assert!(PruneFilters::parse(&["until=1".into()], &["label"]).is_err());
    }
}
