//! What `apply` mode does, decided without the cluster: the ApplySet the agent keeps (its
//! parent ConfigMap, its id and the labels on every member), the objects to apply and in what
//! order, and which listed objects to prune. The ApplySet conventions are Kubernetes' own
//! (KEP-3659, as `kubectl apply --prune --applyset` implements them), so `kubectl` and other
//! tools can see what the agent owns.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::manifest::{Gvk, Origin};

/// Label on every object the agent applies: the id of its ApplySet.
pub const PART_OF: &str = "applyset.kubernetes.io/part-of";
/// Label on the parent: the ApplySet id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// Annotation on the parent naming the tool that manages the set.
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
/// Annotation on the parent: the group-kinds of its members (`Kind.group`, sorted).
pub const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
/// Annotation on the parent: the namespaces of its members other than the parent's (sorted).
pub const NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";
/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "warden-agent";
/// The tool name in the tooling annotation.
pub const TOOL: &str = "warden-agent";
/// Data key in the parent ConfigMap: the commit deployed.
pub const COMMIT_KEY: &str = "commit";

/// Why a render cannot be applied as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{at}: {what}")]
    Object { at: String, what: String },
    #[error("the inventory {parent}: {what}")]
    Parent { parent: String, what: String },
}

/// A group and kind (`Deployment.apps`; core kinds have no group: `Service`). They sort as
/// they print, which is the order the annotation must list them in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

impl GroupKind {
    pub fn new(group: &str, kind: &str) -> GroupKind {
        GroupKind {
            group: group.to_string(),
            kind: kind.to_string(),
        }
    }

    /// Parse `Kind.group` / `Kind` as the annotation writes them.
    pub fn parse(s: &str) -> Option<GroupKind> {
        let (kind, group) = s.split_once('.').unwrap_or((s, ""));
        let ok = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        (!kind.is_empty() && ok(kind) && ok(group)).then(|| GroupKind::new(group, kind))
    }

    fn phase(&self) -> u8 {
        match (self.group.as_str(), self.kind.as_str()) {
            ("apiextensions.k8s.io", "CustomResourceDefinition") => 0,
            ("", "Namespace") => 1,
            _ => 2,
        }
    }

    pub fn is_crd(&self) -> bool {
        self.phase() == 0
    }
}

impl Ord for GroupKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_string()
            .cmp(&other.to_string())
            .then_with(|| self.group.cmp(&other.group))
    }
}

impl PartialOrd for GroupKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// How the cluster serves a kind (from discovery, or from a CRD in the same render).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub plural: String,
    pub namespaced: bool,
}

/// One object in the cluster: group-kind, namespace (None when cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub gk: GroupKind,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.gk, self.name),
            None => write!(f, "{} {}", self.gk, self.name),
        }
    }
}

/// The ApplySet's parent: a ConfigMap the agent owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub namespace: String,
    pub name: String,
}

impl Parent {
    /// The ApplySet id: `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`, as the
    /// specification and kubectl compute it (a ConfigMap's group is empty).
    pub fn id(&self) -> String {
        let gknn = format!("{}.{}.ConfigMap.", self.name, self.namespace);
        let digest = Sha256::digest(gknn.as_bytes());
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    }

    pub fn obj_ref(&self) -> ObjRef {
        ObjRef {
            gk: GroupKind::new("", "ConfigMap"),
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
        }
    }

    /// The parent's desired state: labels, annotations and the deployed commit.
    pub fn body(&self, state: &SetState, commit: Option<&str>, tooling: &str) -> Value {
        let mut annotations = Map::new();
        annotations.insert(TOOLING.into(), json!(tooling));
        annotations.insert(GROUP_KINDS.into(), json!(join(&state.group_kinds)));
        if !state.namespaces.is_empty() {
            annotations.insert(NAMESPACES.into(), json!(join(&state.namespaces)));
        }
        let mut data = Map::new();
        if let Some(c) = commit {
            data.insert(COMMIT_KEY.into(), json!(c));
        }
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {ID_LABEL: self.id()},
                "annotations": annotations,
            },
            "data": data,
        })
    }
}

impl fmt::Display for Parent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfigMap {}/{}", self.namespace, self.name)
    }
}

fn join<T: fmt::Display>(items: &BTreeSet<T>) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// What an ApplySet covers: the group-kinds of its members and their namespaces other than the
/// parent's. Both are what the parent's annotations record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetState {
    pub group_kinds: BTreeSet<GroupKind>,
    pub namespaces: BTreeSet<String>,
}

impl SetState {
    pub fn union(&self, other: &SetState) -> SetState {
        SetState {
            group_kinds: self
                .group_kinds
                .union(&other.group_kinds)
                .cloned()
                .collect(),
            namespaces: self.namespaces.union(&other.namespaces).cloned().collect(),
        }
    }
}

/// The parent as found in the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub set: SetState,
    /// The deployed commit (the `commit` data key), as written.
    pub commit: Option<String>,
    pub uid: Option<String>,
}

/// Read the parent found in the cluster, refusing one that is not this agent's ApplySet: a
/// different id (the spec requires the check, against impersonation) or another tool.
pub fn read_parent(parent: &Parent, live: &Value) -> Result<Recorded, PlanError> {
    let fail = |what: String| PlanError::Parent {
        parent: parent.to_string(),
        what,
    };
    let meta = &live["metadata"];
    match meta["labels"][ID_LABEL].as_str() {
        Some(id) if id == parent.id() => {}
        Some(id) => {
            return Err(fail(format!(
                "its {ID_LABEL} label is {id:?}, not {:?} (the id of this name and namespace); \
                 it is not this agent's ApplySet",
                parent.id()
            )));
        }
        None => {
            return Err(fail(format!(
                "it exists but has no {ID_LABEL} label; the agent does not take over a \
                 ConfigMap it did not create"
            )));
        }
    }
    let annotations = &meta["annotations"];
    match annotations[TOOLING].as_str() {
        Some(t) if t.split('/').next() == Some(TOOL) => {}
        other => {
            return Err(fail(format!(
                "it is managed by {} ({TOOLING}); the agent does not change another tool's \
                 ApplySet",
                other.map_or("an unnamed tool".to_string(), |t| format!("{t:?}"))
            )));
        }
    }
    let mut set = SetState::default();
    if let Some(gks) = annotations[GROUP_KINDS].as_str() {
        for part in gks.split(',').filter(|p| !p.is_empty()) {
            let gk = GroupKind::parse(part)
                .ok_or_else(|| fail(format!("{GROUP_KINDS} holds {part:?}, not Kind.group")))?;
            set.group_kinds.insert(gk);
        }
    }
    if let Some(nss) = annotations[NAMESPACES].as_str() {
        set.namespaces = nss
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
    }
    Ok(Recorded {
        set,
        commit: live["data"][COMMIT_KEY].as_str().map(str::to_string),
        uid: meta["uid"].as_str().map(str::to_string),
    })
}

/// One object to apply: where it goes and the body to send (labelled, namespace set).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub gvk: Gvk,
    pub served: Served,
    pub obj_ref: ObjRef,
    pub body: Value,
    /// Where the object came from in the config repo, for messages.
    pub origin: String,
}

/// The objects to apply, in order (CRDs, then Namespaces, then the rest in render order), and
/// what the ApplySet will cover once they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub members: Vec<Member>,
    pub set: SetState,
}

impl Plan {
    pub fn refs(&self) -> HashSet<ObjRef> {
        self.members.iter().map(|m| m.obj_ref.clone()).collect()
    }
}

/// How a CRD in the render serves its kinds, so its custom resources can be planned before
/// discovery knows them: (group, version, kind) to [`Served`].
pub fn served_by_crds(objects: &[(&Value, &Origin)]) -> BTreeMap<(String, String, String), Served> {
    let mut out = BTreeMap::new();
    for (obj, _) in objects {
        if obj["apiVersion"].as_str() != Some("apiextensions.k8s.io/v1")
            || obj["kind"].as_str() != Some("CustomResourceDefinition")
        {
            continue;
        }
        let spec = &obj["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            continue;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for v in spec["versions"].as_array().into_iter().flatten() {
            if v["served"].as_bool() == Some(false) {
                continue;
            }
            if let Some(version) = v["name"].as_str() {
                out.insert(
                    (group.to_string(), version.to_string(), kind.to_string()),
                    Served {
                        plural: plural.to_string(),
                        namespaced,
                    },
                );
            }
        }
    }
    out
}

/// Plan the apply of a render. `served` says how the cluster serves each kind (None: it does
/// not); objects of namespaced kinds without a namespace go to `default_namespace`, as kubectl
/// sends them to its context's namespace.
pub fn plan(
    parent: &Parent,
    objects: &[(&Value, &Origin)],
    served: &dyn Fn(&Gvk) -> Option<Served>,
    default_namespace: &str,
) -> Result<Plan, PlanError> {
    let id = parent.id();
    let mut members = Vec::new();
    let mut seen: HashSet<ObjRef> = HashSet::new();
    let mut set = SetState::default();
    for (obj, origin) in objects {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let at = if kind.is_empty() || name.is_empty() {
            origin.to_string()
        } else {
            format!("{kind} {name} ({origin})")
        };
        let fail = |what: String| PlanError::Object {
            at: at.clone(),
            what,
        };
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(fail(
                "an object needs apiVersion, kind and metadata.name to be applied".into(),
            ));
        }
        if obj["metadata"]["labels"].get(PART_OF).is_some() {
            return Err(fail(format!(
                "it already carries the {PART_OF} label; the agent sets it on everything it \
                 applies, so the config repo must not"
            )));
        }
        let gvk = Gvk::from_api_version(api_version, kind);
        let Some(s) = served(&gvk) else {
            return Err(fail(format!(
                "the cluster does not serve kind {kind} in {api_version}"
            )));
        };
        let namespace = if s.namespaced {
            Some(
                obj["metadata"]["namespace"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(default_namespace)
                    .to_string(),
            )
        } else {
            None
        };
        let obj_ref = ObjRef {
            gk: GroupKind::new(&gvk.group, kind),
            namespace: namespace.clone(),
            name: name.to_string(),
        };
        if obj_ref == parent.obj_ref() {
            return Err(fail(format!(
                "it is the agent's own inventory ({parent}); choose another \
                 WARDEN_AGENT_INVENTORY"
            )));
        }
        if !seen.insert(obj_ref.clone()) {
            return Err(fail(format!("{obj_ref} appears twice in the render")));
        }
        let mut body = (*obj).clone();
        let meta = body["metadata"]
            .as_object_mut()
            .ok_or_else(|| fail("metadata is not a mapping".into()))?;
        match &namespace {
            Some(ns) => {
                meta.insert("namespace".into(), json!(ns));
                if ns != &parent.namespace {
                    set.namespaces.insert(ns.clone());
                }
            }
            None => {
                meta.remove("namespace");
            }
        }
        let labels = meta
            .entry("labels")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| fail("metadata.labels is not a mapping".into()))?;
        labels.insert(PART_OF.into(), json!(id));
        set.group_kinds.insert(obj_ref.gk.clone());
        members.push(Member {
            gvk,
            served: s,
            obj_ref,
            body,
            origin: origin.to_string(),
        });
    }
    // A stable sort keeps the render's order inside each phase.
    members.sort_by_key(|m| m.obj_ref.gk.phase());
    Ok(Plan { members, set })
}

/// An object listed as a member that the agent will not delete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub obj_ref: ObjRef,
    pub why: String,
}

/// Of the objects listed with the set's label, those to delete (not applied this time), in
/// the order to delete them: CRDs last, Namespaces just before (their contents go with them).
/// An object owned by something other than the parent (ownerReferences) is an ownership
/// conflict the spec says not to resolve by deleting.
pub fn prune(
    applied: &HashSet<ObjRef>,
    parent: &Parent,
    parent_uid: Option<&str>,
    listed: Vec<(ObjRef, Value)>,
) -> (Vec<ObjRef>, Vec<Kept>) {
    let mut delete = Vec::new();
    let mut kept = Vec::new();
    let id = parent.id();
    for (r, obj) in listed {
        if applied.contains(&r) || r == parent.obj_ref() {
            continue;
        }
        // The list was by label, but a server or a fake that ignores the selector must not
        // make the agent delete what is not its own.
        if obj["metadata"]["labels"][PART_OF].as_str() != Some(id.as_str()) {
            continue;
        }
        let owners = obj["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let foreign: Vec<String> = owners
            .iter()
            .filter(|o| parent_uid.is_none() || o["uid"].as_str() != parent_uid)
            .map(|o| {
                format!(
                    "{} {}",
                    o["kind"].as_str().unwrap_or("?"),
                    o["name"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !foreign.is_empty() {
            kept.push(Kept {
                why: format!(
                    "{r} is no longer rendered but is owned by {}; not pruned",
                    foreign.join(", ")
                ),
                obj_ref: r,
            });
            continue;
        }
        delete.push(r);
    }
    delete.sort_by(|a, b| b.gk.phase().cmp(&a.gk.phase()).then_with(|| a.cmp(b)));
    delete.dedup();
    (delete, kept)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
