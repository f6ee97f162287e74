//! Parsed Kubernetes objects: their identity (group/version/kind/namespace/name) and their
//! origin (the file and line of the document they came from, and the patches that touched them).

use serde_json::{Map, Value};
use std::fmt;

/// A JSON-like object as read from YAML (mapping key order preserved).
pub type Object = Map<String, Value>;

/// One step of a path into an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Where a rendered object came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// Path of the source file, relative to the build root's filesystem root
    /// (for a repo: relative to the repository root), `/`-separated.
    pub file: String,
    /// 1-based line of the start of the document in `file` (0 when generated).
    pub line: usize,
    /// Set when the object was produced by a generator rather than read from a file:
    /// the generator's kind (`ConfigMapGenerator`, `SecretGenerator`).
    pub generator: Option<String>,
    /// The patches that changed this object, in the order they were applied.
    pub patches: Vec<PatchOrigin>,
}

/// A patch that touched an object: the kustomization (or patch file) and line that declared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchOrigin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            write!(f, "{}", self.file)
        }
    }
}

/// Group, version and kind. `group` is empty for the core group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Split an `apiVersion` (`apps/v1`, `v1`) and a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // kustomize prints ids as `group_version_kind|namespace|name`; we keep a readable form.
        if self.group.is_empty() {
            write!(f, "{}.{}", self.kind, self.version)
        } else {
            write!(f, "{}.{}.{}", self.kind, self.version, self.group)
        }
    }
}

/// The identity of an object in a render: its GVK, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ResId {
    pub gvk: Gvk,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(f, "{} {}/{}", self.gvk, ns, self.name)
    }
}

/// Read a string at a `/`-free path of mapping keys.
pub fn get_str<'a>(obj: &'a Object, path: &[&str]) -> Option<&'a str> {
    get(obj, path)?.as_str()
}

/// Read a value at a path of mapping keys.
pub fn get<'a>(obj: &'a Object, path: &[&str]) -> Option<&'a Value> {
    let (last, init) = path.split_last()?;
    let mut cur = obj;
    for k in init {
        cur = cur.get(*k)?.as_object()?;
    }
    cur.get(*last)
}

/// The GVK of an object (empty parts when absent).
pub fn gvk_of(obj: &Object) -> Gvk {
    Gvk::from_api_version(
        get_str(obj, &["apiVersion"]).unwrap_or(""),
        get_str(obj, &["kind"]).unwrap_or(""),
    )
}

/// The identity of an object (empty parts when absent).
pub fn id_of(obj: &Object) -> ResId {
    ResId {
        gvk: gvk_of(obj),
        namespace: get_str(obj, &["metadata", "namespace"])
            .unwrap_or("")
            .to_string(),
        name: get_str(obj, &["metadata", "name"])
            .unwrap_or("")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_api_versions() {
        let g = Gvk::from_api_version("apps/v1", "Deployment");
        assert_eq!(g.group, "apps");
        assert_eq!(g.version, "v1");
        assert_eq!(g.api_version(), "apps/v1");
        let c = Gvk::from_api_version("v1", "Service");
        assert_eq!(c.group, "");
        assert_eq!(c.api_version(), "v1");
    }

    #[test]
    fn reads_ids() {
        let v: Value = serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"n"}});
        let id = id_of(v.as_object().unwrap());
        assert_eq!(id.name, "a");
        assert_eq!(id.namespace, "n");
        assert_eq!(id.gvk.kind, "ConfigMap");
        assert_eq!(id.to_string(), "ConfigMap.v1 n/a");
    }
}
