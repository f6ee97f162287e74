//! A resource during a build: the object plus the bookkeeping kustomize keeps beside it
//! (previous ids for name references, generator behaviour, name prefixes/suffixes added).

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

/// The (apiVersion, kind) pairs kustomize knows to be cluster-scoped (its built-in OpenAPI data).
/// Anything else, custom resources included, is treated as namespaced.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("v1", "ComponentStatus"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "NodeProxyOptions"),
    ("v1", "PersistentVolume"),
];

/// Is this a kind kustomize treats as cluster-scoped (never given a namespace)?
pub fn is_cluster_scoped_kind(gvk: &Gvk) -> bool {
    let av = gvk.api_version();
    CLUSTER_SCOPED
        .iter()
        .any(|(a, k)| *a == av && *k == gvk.kind)
}
