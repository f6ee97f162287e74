//! What a change does to the cluster: the semantic difference between two renders of a target.
//!
//! Objects are matched by identity (group, kind, namespace, name; the version may change). A
//! changed object is compared field by field after normalisation: server-owned fields
//! (`status`, `metadata.managedFields`, `resourceVersion`, …) are dropped, mapping keys are put
//! in a canonical order, and lists whose items have merge keys (containers by `name`, ports by
//! `containerPort`, …) are matched by key rather than by index, so a reorder is no change.
//!
//! Kustomize's hash-suffixed generated objects (`app-config-8d2f9c7b4h`) are paired with their
//! successor and shown as one changed object; the objects whose only change is picking up the
//! new name are folded into one [`Cascade`] line. Secret values never leave this module: a
//! Secret's diff names the keys that were added, removed or changed.
//!
//! Pure: objects in, values out.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::repo::targets::Target;

/// The identity objects are matched by: group, kind, namespace and name (not the version).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectKey {
    /// Empty for the core group.
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    /// `Kind/namespace/name` with another name (an object's name at the base).
    pub fn with_name(&self, name: &str) -> String {
        ObjectKey {
            name: name.to_string(),
            ..self.clone()
        }
        .to_string()
    }
}

impl fmt::Display for ObjectKey {
    /// `Kind/name` or `Kind/namespace/name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What a change is, for people and for the policies that act on it (auto-merge, risk labels).
/// A change has every class any of its parts has; a change is "only an image bump" exactly when
/// its set of classes is `{ImageBump}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeClass {
    /// Only container image tags or digests changed (same repository).
    ImageBump,
    /// Only replica counts changed (`spec.replicas`, an HPA's min/max).
    Scale,
    /// ConfigMap or Secret content changed, or workloads pick up a re-generated one.
    Config,
    /// A Role, ClusterRole, RoleBinding or ClusterRoleBinding was added, removed or changed.
    Rbac,
    /// A CustomResourceDefinition was added, removed or changed.
    Crd,
    /// An object was added (other than the kinds above).
    NewResource,
    /// An object was removed (other than the kinds above).
    Deletion,
    /// A Namespace was added, removed or changed.
    Namespace,
    /// Anything else.
    Other,
}

impl ChangeClass {
    /// The kebab-case name (`image-bump`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::ImageBump => "image-bump",
            ChangeClass::Scale => "scale",
            ChangeClass::Config => "config",
            ChangeClass::Rbac => "rbac",
            ChangeClass::Crd => "crd",
            ChangeClass::NewResource => "new-resource",
            ChangeClass::Deletion => "deletion",
            ChangeClass::Namespace => "namespace",
            ChangeClass::Other => "other",
        }
    }
}

impl fmt::Display for ChangeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an object appeared, disappeared or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

/// One step of a path into a normalised object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    /// A mapping key.
    Field(String),
    /// A list item matched by position (lists without merge keys).
    Index(usize),
    /// A list item matched by its merge key(s): `containers[name=app]`.
    Keyed(Vec<(String, String)>),
}

/// A path such as `spec.template.spec.containers[name=app].image`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FieldPath(pub Vec<PathSeg>);

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSeg::Field(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSeg::Index(n) => write!(f, "[{n}]")?,
                PathSeg::Keyed(keys) => {
                    f.write_str("[")?;
                    for (j, (k, v)) in keys.iter().enumerate() {
                        if j > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{k}={v}")?;
                    }
                    f.write_str("]")?;
                }
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One changed field of a changed object (after normalisation and merge-key matching).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub path: FieldPath,
    pub status: Status,
}

/// A container image that changed: `from` → `to` (full references, `repo:tag` or `repo@digest`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ImageChange {
    pub object: ObjectKey,
    pub container: String,
    pub from: String,
    pub to: String,
}

/// Which keys of a Secret's `data`/`stringData` changed. Never the values.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SecretKeys {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// Where an object's source is (repo-relative file, 1-based line or 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcePlace {
    pub file: String,
    pub line: usize,
    /// Set for generated objects: `ConfigMapGenerator`, `SecretGenerator`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
}

/// One added, removed or changed object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectDiff {
    /// The identity at head (at base for a removed object).
    pub key: ObjectKey,
    /// `apiVersion` at head (at base for a removed object).
    pub api_version: String,
    pub status: Status,
    /// For a re-generated hash-suffixed object: its name at base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// This object's own classes.
    pub classes: BTreeSet<ChangeClass>,
    /// For a changed object: the fields that changed. Empty for added and removed objects.
    pub fields: Vec<FieldChange>,
    pub images: Vec<ImageChange>,
    /// Set for Secrets: the keys that changed (the unified diff shows no values either).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_keys: Option<SecretKeys>,
    /// A unified diff (`-`/`+`/` ` lines, `@@` hunk headers, no file headers) of the canonical
    /// YAML of the two sides; every line `+` for an added object, `-` for a removed one.
    /// Secret values are replaced by placeholders.
    pub unified: String,
    /// Where the object's source is (head, else base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePlace>,
}

/// Objects whose only change is a reference to a re-generated ConfigMap or Secret, folded into
/// one line: "3 workloads pick up the new ConfigMap app-config".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cascade {
    /// The re-generated object, at head.
    pub generated: ObjectKey,
    /// Its name at base.
    pub from_name: String,
    /// Every object that refers to it and changed only by that reference, sorted.
    pub dependents: Vec<ObjectKey>,
}

/// Added / changed / removed object counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        self.added + self.changed + self.removed == 0
    }
}

/// The difference between two renders of one target.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TargetDiff {
    /// Added, removed and changed objects, sorted by key. Objects whose only change is a
    /// cascade are not listed here but in `cascades`.
    pub objects: Vec<ObjectDiff>,
    pub cascades: Vec<Cascade>,
    /// Counts over every object that differs (a re-generated pair counts once, as changed;
    /// cascade dependents count as changed).
    pub counts: Counts,
    /// The union of the objects' classes (cascade dependents add `config`).
    pub classes: BTreeSet<ChangeClass>,
}

impl TargetDiff {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// How a target's two renders went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TargetState {
    /// Both sides rendered.
    Rendered,
    /// The target exists only at head (every object is added).
    New,
    /// The target exists only at base (every object is removed).
    Gone,
    /// A side did not render: its message. The diff is against an empty render of that side.
    BaseError {
        message: String,
    },
    HeadError {
        message: String,
    },
}

/// One target's change.
#[derive(Debug, Clone, Serialize)]
pub struct TargetChange {
    #[serde(flatten)]
    pub target: Target,
    #[serde(flatten)]
    pub state: TargetState,
    pub diff: TargetDiff,
}

/// The difference between two commits of a repo, target by target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    /// How the sides were named (`origin/main`, `a1b2c3d`, `working tree`).
    pub base: String,
    pub head: String,
    /// Affected targets, in discovery order (environment, then directory).
    pub targets: Vec<TargetChange>,
}

impl DiffReport {
    /// The union of every target's classes.
    pub fn classes(&self) -> BTreeSet<ChangeClass> {
        self.targets
            .iter()
            .flat_map(|t| t.diff.classes.iter().copied())
            .collect()
    }

    /// Counts summed over the targets.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for t in &self.targets {
            c.added += t.diff.counts.added;
            c.changed += t.diff.counts.changed;
            c.removed += t.diff.counts.removed;
        }
        c
    }

    /// True when the change is an image bump and nothing else, in every target.
    pub fn only_image_bumps(&self) -> bool {
        let classes = self.classes();
        classes.len() == 1 && classes.contains(&ChangeClass::ImageBump)
    }
}

mod classify;
mod normalize;
mod objects;
pub mod run;

pub use classify::repository;
pub use normalize::{SECRET, SECRET_CHANGED};
pub use objects::{Side, canonical_yaml, diff, key_of_object};

#[cfg(test)]
mod tests;
