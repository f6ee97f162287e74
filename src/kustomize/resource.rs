//! A resource during a build: the object plus the bookkeeping kustomize keeps beside it
//! (previous ids for name references, generator behaviour, name prefixes/suffixes added).

use super::fieldspec::{Seg, get_path, get_path_mut};
use crate::manifest::{self, Gvk, Object, Origin, ResId};
use serde_json::Value;

/// How a generated object combines with one of the same id from a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

impl Behavior {
    pub fn parse(s: &str) -> Option<Behavior> {
        match s {
            "" | "create" => Some(Behavior::Create),
            "merge" => Some(Behavior::Merge),
            "replace" => Some(Behavior::Replace),
            _ => None,
        }
    }
}

/// One object in a build.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub obj: Object,
    pub origin: Origin,
    /// Ids the object had before a transformer renamed it, re-namespaced it or changed its
    /// kind, oldest first. The original id is the first one (or the current id if none).
    pub previous: Vec<ResId>,
    /// Set for objects made by a generator: how they combine with same-id objects.
    pub behavior: Option<Behavior>,
    /// Generated objects whose name gets the content-hash suffix at the end of the build.
    pub needs_hash: bool,
    /// Name prefixes and suffixes added so far (outermost last), used to tell apart
    /// same-named objects when resolving name references.
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Ids of the objects that refer to this one by name (filled by name-reference fixing).
    pub ref_by: Vec<ResId>,
    /// Names of the vars that read a field of this object.
    pub ref_var_names: Vec<String>,
    /// Fields that hold one shared value (see [`Shared`]).
    pub shared: Vec<Shared>,
    /// Scalars a replacement created: kustomize gives them no YAML tag, so they print as
    /// their text reads, but the vars pass treats them as strings.
    pub untagged: Vec<Vec<Seg>>,
    /// Fields the source left empty (`key:`); see [`crate::yaml::Document::empty_values`].
    pub empty_values: Vec<Vec<Seg>>,
}

/// kustomize's label and annotation transformers insert one YAML node per key into every
/// field they add it to in an object, and later in-place edits of any of those fields (a
/// patch, a replacement, another label transformer) change them all. kubectl's output shows
/// this: an overlay that relabels `metadata.labels` also relabels the selectors a base
/// labelled. We keep the set of fields that share a node, and the value they hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    pub paths: Vec<Vec<Seg>>,
    pub value: Value,
}

impl Resource {
    pub fn new(obj: Object, origin: Origin) -> Resource {
        Resource {
            obj,
            origin,
            previous: Vec::new(),
            behavior: None,
            needs_hash: false,
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            ref_by: Vec::new(),
            ref_var_names: Vec::new(),
            shared: Vec::new(),
            untagged: Vec::new(),
            empty_values: Vec::new(),
        }
    }

    pub fn gvk(&self) -> Gvk {
        manifest::gvk_of(&self.obj)
    }

    pub fn kind(&self) -> &str {
        manifest::get_str(&self.obj, &["kind"]).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        manifest::get_str(&self.obj, &["metadata", "name"]).unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        manifest::get_str(&self.obj, &["metadata", "namespace"]).unwrap_or("")
    }

    /// The current id.
    pub fn cur_id(&self) -> ResId {
        manifest::id_of(&self.obj)
    }

    /// The ids stored before renames, oldest first. Like kustomize, they carry the current
    /// group and version, and the effective namespace at the time they were stored.
    pub fn prev_ids(&self) -> Vec<ResId> {
        let cur = self.gvk();
        self.previous
            .iter()
            .map(|p| ResId {
                gvk: Gvk {
                    group: cur.group.clone(),
                    version: cur.version.clone(),
                    kind: p.gvk.kind.clone(),
                },
                namespace: p.namespace.clone(),
                name: p.name.clone(),
            })
            .collect()
    }

    /// The id the object had when it was first read or generated.
    pub fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Every id the object has had, the current one last.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev_ids();
        v.push(self.cur_id());
        v
    }

    /// Remember the current id before it is changed (with its effective namespace).
    pub fn store_previous_id(&mut self) {
        let mut id = self.cur_id();
        id.namespace = super::effective_namespace(&id.gvk, &id.namespace).to_string();
        self.previous.push(id);
    }

    fn metadata_mut(&mut self) -> &mut Object {
        let md = self
            .obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Object::new()));
        if !md.is_object() {
            *md = Value::Object(Object::new());
        }
        md.as_object_mut().expect("metadata is an object")
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    pub fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    /// Labels as a map (empty when absent or not a mapping).
    pub fn labels(&self) -> Vec<(String, String)> {
        string_map(manifest::get(&self.obj, &["metadata", "labels"]))
    }

    pub fn annotations(&self) -> Vec<(String, String)> {
        string_map(manifest::get(&self.obj, &["metadata", "annotations"]))
    }

    /// A field that shares a node was written in place: give every field sharing it the value.
    pub fn propagate_shared(&mut self, path: &[Seg], value: &Value) {
        let Some(i) = self
            .shared
            .iter()
            .position(|s| s.paths.iter().any(|p| p == path))
        else {
            return;
        };
        let paths = self.shared[i].paths.clone();
        for p in &paths {
            if let Some(v) = get_path_mut(&mut self.obj, p) {
                *v = value.clone();
            }
        }
        self.shared[i].value = value.clone();
    }

    /// Record fields freshly given one shared node.
    pub fn add_shared(&mut self, paths: Vec<Vec<Seg>>, value: Value) {
        if paths.is_empty() {
            return;
        }
        for s in self.shared.iter_mut() {
            s.paths.retain(|p| !paths.contains(p));
        }
        self.shared.retain(|s| s.paths.len() > 1);
        if paths.len() > 1 {
            self.shared.push(Shared { paths, value });
        }
    }

    /// After an operation that edits fields in place (a strategic-merge patch, replacements,
    /// vars): where one field of a shared node changed, give the others the new value.
    pub fn sync_shared(&mut self) {
        for i in 0..self.shared.len() {
            let s = &self.shared[i];
            let mut kept = Vec::new();
            let mut changed: Option<Value> = None;
            for p in &s.paths {
                match get_path(&self.obj, p) {
                    Some(v) if !v.is_object() && !v.is_array() => {
                        if *v != s.value {
                            changed = Some(v.clone());
                        }
                        kept.push(p.clone());
                    }
                    _ => {}
                }
            }
            if let Some(v) = &changed {
                for p in &kept {
                    if let Some(x) = get_path_mut(&mut self.obj, p) {
                        *x = v.clone();
                    }
                }
            }
            let s = &mut self.shared[i];
            s.paths = kept;
            if let Some(v) = changed {
                s.value = v;
            }
        }
        self.shared.retain(|s| s.paths.len() > 1);
    }

    /// Fields under `prefix` were rebuilt as new nodes: they no longer share.
    pub fn unshare_under(&mut self, prefix: &[Seg]) {
        for s in self.shared.iter_mut() {
            s.paths.retain(|p| !p.starts_with(prefix));
        }
        self.shared.retain(|s| s.paths.len() > 1);
    }

    /// After a strategic-merge patch: kustomize's merge drops the fields the source left
    /// empty (not those written as `null`).
    pub fn drop_empty_values(&mut self) {
        for p in std::mem::take(&mut self.empty_values) {
            let Some((Seg::Key(last), parent)) = p.split_last() else {
                continue;
            };
            let holder = if parent.is_empty() {
                Some(&mut self.obj)
            } else {
                get_path_mut(&mut self.obj, parent).and_then(Value::as_object_mut)
            };
            if let Some(m) = holder
                && m.get(last).is_some_and(Value::is_null)
            {
                m.shift_remove(last);
            }
        }
    }

    /// Is this one of kustomize's cluster-scoped kinds (never namespaced)?
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped_kind(&self.gvk())
    }
}

fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    match v.and_then(|v| v.as_object()) {
        Some(m) => m
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect(),
        None => Vec::new(),
    }
}

/// The (apiVersion, kind) pairs whose scope kustomize knows without reading its schema, and
/// whether each is cluster-scoped. Anything else, custom resources included, is namespaced
/// (and, when met, makes kustomize load its built-in schema; see `openapi_field`).
const PRECOMPUTED_SCOPE: &[(&str, &str, bool)] = &[
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        true,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        true,
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
        true,
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
        true,
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", true),
    (
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
        true,
    ),
    ("apiregistration.k8s.io/v1", "APIService", true),
    ("apiregistration.k8s.io/v1beta1", "APIService", true),
    ("apps/v1", "ControllerRevision", false),
    ("apps/v1", "DaemonSet", false),
    ("apps/v1", "Deployment", false),
    ("apps/v1", "ReplicaSet", false),
    ("apps/v1", "StatefulSet", false),
    ("autoscaling/v1", "HorizontalPodAutoscaler", false),
    ("autoscaling/v1", "Scale", false),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler", false),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", false),
    ("batch/v1", "CronJob", false),
    ("batch/v1", "Job", false),
    ("batch/v1beta1", "CronJob", false),
    ("certificates.k8s.io/v1", "CertificateSigningRequest", true),
    (
        "certificates.k8s.io/v1beta1",
        "CertificateSigningRequest",
        true,
    ),
    ("coordination.k8s.io/v1", "Lease", false),
    ("coordination.k8s.io/v1beta1", "Lease", false),
    ("discovery.k8s.io/v1", "EndpointSlice", false),
    ("discovery.k8s.io/v1beta1", "EndpointSlice", false),
    ("events.k8s.io/v1", "Event", false),
    ("events.k8s.io/v1beta1", "Event", false),
    ("extensions/v1beta1", "Ingress", false),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", true),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
        true,
    ),
    ("networking.k8s.io/v1", "Ingress", false),
    ("networking.k8s.io/v1", "IngressClass", true),
    ("networking.k8s.io/v1", "NetworkPolicy", false),
    ("networking.k8s.io/v1beta1", "Ingress", false),
    ("networking.k8s.io/v1beta1", "IngressClass", true),
    ("node.k8s.io/v1", "RuntimeClass", true),
    ("node.k8s.io/v1beta1", "RuntimeClass", true),
    ("policy/v1", "PodDisruptionBudget", false),
    ("policy/v1beta1", "PodDisruptionBudget", false),
    ("policy/v1beta1", "PodSecurityPolicy", true),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", true),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", true),
    ("rbac.authorization.k8s.io/v1", "Role", false),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", false),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", true),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRoleBinding",
        true,
    ),
    ("rbac.authorization.k8s.io/v1beta1", "Role", false),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding", false),
    ("scheduling.k8s.io/v1", "PriorityClass", true),
    ("scheduling.k8s.io/v1beta1", "PriorityClass", true),
    ("storage.k8s.io/v1", "CSIDriver", true),
    ("storage.k8s.io/v1", "CSINode", true),
    ("storage.k8s.io/v1", "StorageClass", true),
    ("storage.k8s.io/v1", "VolumeAttachment", true),
    ("storage.k8s.io/v1beta1", "CSIDriver", true),
    ("storage.k8s.io/v1beta1", "CSINode", true),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity", false),
    ("storage.k8s.io/v1beta1", "StorageClass", true),
    ("storage.k8s.io/v1beta1", "VolumeAttachment", true),
    ("v1", "ComponentStatus", true),
    ("v1", "ConfigMap", false),
    ("v1", "Endpoints", false),
    ("v1", "Event", false),
    ("v1", "LimitRange", false),
    ("v1", "Namespace", true),
    ("v1", "Node", true),
    ("v1", "NodeProxyOptions", true),
    ("v1", "PersistentVolume", true),
    ("v1", "PersistentVolumeClaim", false),
    ("v1", "Pod", false),
    ("v1", "PodAttachOptions", false),
    ("v1", "PodExecOptions", false),
    ("v1", "PodPortForwardOptions", false),
    ("v1", "PodProxyOptions", false),
    ("v1", "PodTemplate", false),
    ("v1", "ReplicationController", false),
    ("v1", "ResourceQuota", false),
    ("v1", "Secret", false),
    ("v1", "Service", false),
    ("v1", "ServiceAccount", false),
    ("v1", "ServiceProxyOptions", false),
];

/// kustomize's precomputed scope of a kind: `Some(true)` when cluster-scoped.
pub fn precomputed_scope(api_version: &str, kind: &str) -> Option<bool> {
    PRECOMPUTED_SCOPE
        .iter()
        .find(|(a, k, _)| *a == api_version && *k == kind)
        .map(|(_, _, cluster)| *cluster)
}

/// Is this a kind kustomize treats as cluster-scoped (never given a namespace)?
pub fn is_cluster_scoped_kind(gvk: &Gvk) -> bool {
    PRECOMPUTED_SCOPE.iter().any(|(a, k, cluster)| {
        *cluster
            && *k == gvk.kind
            && match a.rsplit_once('/') {
                Some((g, v)) => g == gvk.group && v == gvk.version,
                None => gvk.group.is_empty() && *a == gvk.version,
            }
    })
}
