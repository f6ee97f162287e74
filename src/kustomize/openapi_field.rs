//! The `openapi:` field: which schema strategic-merge patches consult.
//!
//! In kustomize the schema is process-wide state, and kubectl's observable
//! behaviour follows from how that state evolves during one build:
//!
//! * The top kustomization always sets it: `openapi: {path: f}` installs the
//!   document in `f` as the *only* schema (the built-in Kubernetes one is not
//!   consulted, so e.g. a Deployment's containers are no longer merged by
//!   name), `{version: v1.21.2}` selects the built-in one, nothing leaves it
//!   unset. Both together, or another version, are errors.
//! * A kustomization reached through `resources:`/`components:` applies its
//!   own `openapi:` only while nothing has set it yet (first one wins, in
//!   traversal order), and then only for work done after that point. Its file
//!   is read (and must exist) even when it is ignored.
//! * When such a late custom schema arrives after the built-in schema has
//!   already been touched, both stay in effect (custom kinds first). Kustomize
//!   touches the built-in schema when it applies a strategic-merge patch, or
//!   when it meets an object whose kind is not in its precomputed scope table
//!   (typically a custom resource).
//! * A custom document that does not parse fails the build only when it is
//!   first needed (kubectl panics there).

use super::openapi::{Schema, Schemas};
use super::{Error, Result};
use crate::yaml::{self, Limits};
use std::collections::BTreeMap;

/// The only built-in Kubernetes schema version kustomize v5.5.0 embeds.
const BUILTIN_VERSION: &str = "v1.21.2";

/// (apiVersion, kind) pairs whose scope kustomize knows without reading its
/// schema; meeting any other kind makes it load the built-in schema later.
const PRECOMPUTED: &[(&str, &str)] = &[
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
    ("apps/v1", "ControllerRevision"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"),
    ("autoscaling/v1", "Scale"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("batch/v1", "CronJob"),
    ("batch/v1", "Job"),
    ("batch/v1beta1", "CronJob"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("coordination.k8s.io/v1", "Lease"),
    ("coordination.k8s.io/v1beta1", "Lease"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"),
    ("events.k8s.io/v1", "Event"),
    ("events.k8s.io/v1beta1", "Event"),
    ("extensions/v1beta1", "Ingress"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1beta1", "Ingress"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "Role"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
    ("v1", "ComponentStatus"),
    ("v1", "ConfigMap"),
    ("v1", "Endpoints"),
    ("v1", "Event"),
    ("v1", "LimitRange"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "NodeProxyOptions"),
    ("v1", "PersistentVolume"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Pod"),
    ("v1", "PodAttachOptions"),
    ("v1", "PodExecOptions"),
    ("v1", "PodPortForwardOptions"),
    ("v1", "PodProxyOptions"),
    ("v1", "PodTemplate"),
    ("v1", "ReplicationController"),
    ("v1", "ResourceQuota"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "ServiceProxyOptions"),
];

/// The schema state of one build.
#[derive(Debug, Default)]
pub struct OpenApiState {
    /// Something (a version or a custom document) has been chosen.
    set: bool,
    /// The custom document, or why it does not parse (and the file it came from).
    custom: Option<std::result::Result<Schema, String>>,
    /// Keep the built-in schema next to the custom one.
    with_builtin: bool,
    /// kustomize has touched (or scheduled) the built-in schema.
    touched: bool,
}

impl OpenApiState {
    /// Apply one kustomization's `openapi:` field. `file` is the content of
    /// its `path` (already read, `shown` names it in messages); `top` is true
    /// for the kustomization being built.
    pub fn apply(
        &mut self,
        field: Option<&BTreeMap<String, String>>,
        file: Option<(&[u8], String)>,
        top: bool,
        limits: &Limits,
    ) -> std::result::Result<(), String> {
        if self.set && !top {
            return Ok(());
        }
        let version = field.and_then(|f| f.get("version"));
        if let Some((bytes, shown)) = file {
            if version.is_some() {
                return Err(
                    "openapi: builtin version and custom schema provided, cannot use both".into(),
                );
            }
            self.custom = Some(
                parse_document(bytes, limits)
                    .map_err(|e| format!("openapi: path: {shown}: invalid schema file: {e}")),
            );
            self.set = true;
            self.with_builtin = !top && self.touched;
            return Ok(());
        }
        match version.map(String::as_str) {
            None | Some("") => {
                // Nothing chosen: kustomize leaves the state as it was.
            }
            Some(BUILTIN_VERSION) => {
                self.custom = None;
                self.set = true;
            }
            Some(v) => {
                return Err(format!(
                    "openapi: version '{v}': the specified OpenAPI version is not built in (only {BUILTIN_VERSION} is)"
                ));
            }
        }
        Ok(())
    }

    /// Note an object of this type being read (kustomize computes its scope).
    pub fn note_kind(&mut self, api_version: &str, kind: &str) -> Result<()> {
        if PRECOMPUTED.contains(&(api_version, kind)) {
            return Ok(());
        }
        match &self.custom {
            None => {
                self.touched = true;
                Ok(())
            }
            Some(Err(e)) => Err(Error::new(e.clone())),
            Some(Ok(_)) => Ok(()),
        }
    }

    /// The schema sources a strategic-merge patch uses now, in lookup order.
    pub fn sources(&mut self) -> Result<Vec<&Schema>> {
        match &self.custom {
            None => {
                self.touched = true;
                Ok(vec![Schema::builtin()])
            }
            Some(Err(e)) => Err(Error::new(e.clone())),
            Some(Ok(s)) => Ok(if self.with_builtin {
                vec![s, Schema::builtin()]
            } else {
                vec![s]
            }),
        }
    }
}

/// Convenience for callers holding sources.
pub fn schemas<'a>(sources: &'a [&'a Schema]) -> Schemas<'a> {
    Schemas::new(sources)
}

fn parse_document(bytes: &[u8], limits: &Limits) -> std::result::Result<Schema, String> {
    let value = match bytes.first() {
        None => return Err("the file is empty".into()),
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?,
        Some(_) => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8 text".to_string())?;
            let docs = yaml::parse_stream(text, limits).map_err(|e| e.to_string())?;
            docs.into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(serde_json::Value::Null)
        }
    };
    Schema::from_openapi_document(&value)
}
