//! The gates a config-repo change must pass: schema validation, API deprecations, workload
//! hygiene, render consistency, secrets and the team's own Rego policies.
//!
//! Pure: every check takes rendered objects (and the values it needs) and returns findings.
//! A finding names the offending object (by its index in the render) and the path of the
//! offending field inside it; [`locate`] turns that into a source file and line.

pub mod consistency;
pub mod deprecations;
pub mod locate;
pub mod rego;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod workload;

use serde::{Deserialize, Serialize};

use crate::manifest::{Object, Origin, Seg};

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's configured level: a severity, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "off" => Level::Off,
            "info" => Level::Info,
            "warning" => Level::Warning,
            "error" => Level::Error,
            _ => return None,
        })
    }
}

/// A built-in rule: its stable id, default level, and the words shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub default: Level,
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// Why it matters and how to fix it (a few sentences; shown by `explain` and in SARIF).
    pub help: &'static str,
}

/// The severity a check gives findings of `id` before configuration: the rule's default level,
/// or `Warning` for a rule that is off by default (it only shows when configured on).
pub fn default_severity(rules: &[Rule], id: &str) -> Severity {
    rules
        .iter()
        .find(|r| r.id == id)
        .and_then(|r| r.default.severity())
        .unwrap_or(Severity::Warning)
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id (`image-tag-mutable`, or `policy/<package>/<rule>` for Rego policies).
    pub rule: String,
    pub severity: Severity,
    /// What is wrong and how to fix it. Never contains a secret value.
    pub message: String,
    /// Index of the offending object in the render, if the finding is about one object.
    pub object: Option<usize>,
    /// Path of the offending field in that object (empty: the object as a whole).
    pub path: Vec<Seg>,
    /// Where it is, when the check knows it directly (a policy file, a config file);
    /// otherwise filled in by [`locate`] from the object's origin.
    pub file: Option<String>,
    /// 1-based line in `file` (0 when unknown).
    pub line: usize,
}

impl Finding {
    /// A finding about a field of one object.
    pub fn at(
        rule: &str,
        severity: Severity,
        object: usize,
        path: Vec<Seg>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            message: message.into(),
            object: Some(object),
            path,
            file: None,
            line: 0,
        }
    }

    /// A finding about a file (policy compile errors, config errors).
    pub fn in_file(
        rule: &str,
        severity: Severity,
        file: impl Into<String>,
        line: usize,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            message: message.into(),
            object: None,
            path: Vec::new(),
            file: Some(file.into()),
            line,
        }
    }
}

/// One rendered object as the checks see it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub obj: &'a Object,
    pub origin: &'a Origin,
}

/// Build a path from keys and indexes: `path!["spec", "template", 0]`-like helper.
pub fn path(segs: &[PathPart<'_>]) -> Vec<Seg> {
    segs.iter()
        .map(|p| match p {
            PathPart::K(k) => Seg::Key((*k).to_string()),
            PathPart::I(i) => Seg::Index(*i),
        })
        .collect()
}

/// A part of a path for [`path`].
#[derive(Debug, Clone, Copy)]
pub enum PathPart<'a> {
    K(&'a str),
    I(usize),
}

/// Render a path the way users write it: `spec.template.spec.containers[0].image`.
pub fn path_to_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// An object that exists in the cluster but not in the repo (declared in `.github/warden.yml`
/// under `external:`), so references to it are not `ref-missing`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternalRef {
    pub kind: String,
    pub name: String,
    /// `None`: any namespace.
    pub namespace: Option<String>,
}

/// A Kubernetes minor version (`1.31`), the one objects are validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u16,
    pub minor: u16,
}

impl KubeVersion {
    pub const fn new(major: u16, minor: u16) -> KubeVersion {
        KubeVersion { major, minor }
    }

    /// Read `1.31`, `v1.31` or `1.31.4` (the patch level is ignored).
    pub fn parse(s: &str) -> Option<KubeVersion> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        match parts.next() {
            None => {}
            Some(p) if p.parse::<u32>().is_ok() => {}
            Some(_) => return None,
        }
        if parts.next().is_some() {
            return None;
        }
        Some(KubeVersion { major, minor })
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_versions() {
        assert_eq!(KubeVersion::parse("1.31"), Some(KubeVersion::new(1, 31)));
        assert_eq!(KubeVersion::parse("v1.29.3"), Some(KubeVersion::new(1, 29)));
        assert_eq!(KubeVersion::parse("1"), None);
        assert_eq!(KubeVersion::parse("1.x"), None);
        assert_eq!(KubeVersion::parse("1.2.3.4"), None);
        assert_eq!(KubeVersion::new(1, 30).to_string(), "1.30");
        assert!(KubeVersion::new(1, 9) < KubeVersion::new(1, 10));
    }

    #[test]
    fn prints_paths() {
        let p = path(&[
            PathPart::K("spec"),
            PathPart::K("containers"),
            PathPart::I(0),
            PathPart::K("image"),
        ]);
        assert_eq!(path_to_string(&p), "spec.containers[0].image");
    }
}
