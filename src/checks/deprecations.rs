//! `api-deprecated` / `api-removed`: apiVersions that the target Kubernetes version has
//! deprecated or no longer serves.
//!
//! Sources: the official Deprecated API Migration Guide
//! (<https://kubernetes.io/docs/reference/using-api/deprecation-guide/>) for removals up to
//! 1.32, and, for newer and alpha APIs, the presence of each kind in the embedded schemas of
//! 1.25 to 1.37 (a kind's removal version is the first minor whose schema lacks it; the
//! table's consistency with the schemas is tested). Beta APIs without an announced date use
//! Kubernetes' default lifecycle (deprecated three minors before removal).

use serde_json::Value;

use super::{Finding, KubeVersion, Level, Rule, Severity};
use crate::manifest::{Object, Seg};

/// Rule id: the apiVersion is deprecated in the target version.
pub const RULE_DEPRECATED: &str = "api-deprecated";
/// Rule id: the apiVersion is no longer served by the target version.
pub const RULE_REMOVED: &str = "api-removed";

/// The rules this module emits.
pub const RULES: &[Rule] = &[
    Rule {
        id: RULE_DEPRECATED,
        default: Level::Warning,
        summary: "The apiVersion is deprecated in the target Kubernetes version",
        help: "Deprecated API versions are removed in a later Kubernetes release, after which \
               the objects can no longer be applied. Change apiVersion to the replacement named \
               in the message (check the migration notes for field changes).",
    },
    Rule {
        id: RULE_REMOVED,
        default: Level::Error,
        summary: "The apiVersion is no longer served by the target Kubernetes version",
        help: "The API server of the target version rejects objects of this apiVersion, so the \
               sync fails. Change apiVersion to the replacement named in the message and adapt \
               the fields that changed (see the Kubernetes deprecated API migration guide).",
    },
];

/// One deprecated API: an apiVersion (and the kinds it applies to) with its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    pub api_version: &'static str,
    /// The kinds concerned; empty: every kind of this apiVersion.
    pub kinds: &'static [&'static str],
    /// First version that deprecates it (`None`: removed without a deprecation period, as
    /// alpha APIs are).
    pub deprecated: Option<KubeVersion>,
    /// First version that no longer serves it (`None`: not scheduled).
    pub removed: Option<KubeVersion>,
    /// What to use instead (an apiVersion, or apiVersion and kind); `None`: no replacement.
    pub replacement: Option<&'static str>,
}

const fn v(minor: u16) -> Option<KubeVersion> {
    Some(KubeVersion::new(1, minor))
}

const fn d(
    api_version: &'static str,
    kinds: &'static [&'static str],
    deprecated: Option<KubeVersion>,
    removed: Option<KubeVersion>,
    replacement: Option<&'static str>,
) -> Deprecation {
    Deprecation {
        api_version,
        kinds,
        deprecated,
        removed,
        replacement,
    }
}

const ALL: &[&str] = &[];
const FLOWCONTROL: Option<&str> =
    Some("flowcontrol.apiserver.k8s.io/v1 (v1beta3 before Kubernetes 1.29)");

/// Every deprecated or removed API known. Rows for the same apiVersion list disjoint kinds.
#[rustfmt::skip]
pub static TABLE: &[Deprecation] = &[
    // Removed in 1.16.
    d("extensions/v1beta1", &["DaemonSet", "Deployment", "ReplicaSet"], v(9), v(16), Some("apps/v1")),
    d("extensions/v1beta1", &["NetworkPolicy"], v(9), v(16), Some("networking.k8s.io/v1")),
    d("extensions/v1beta1", &["PodSecurityPolicy"], v(10), v(16), Some("policy/v1beta1")),
    d("apps/v1beta1", ALL, v(9), v(16), Some("apps/v1")),
    d("apps/v1beta2", ALL, v(9), v(16), Some("apps/v1")),
    // Removed in 1.22.
    d("extensions/v1beta1", &["Ingress"], v(14), v(22), Some("networking.k8s.io/v1")),
    d("networking.k8s.io/v1beta1", &["Ingress", "IngressClass"], v(19), v(22), Some("networking.k8s.io/v1")),
    d("admissionregistration.k8s.io/v1beta1", &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], v(16), v(22), Some("admissionregistration.k8s.io/v1")),
    d("apiextensions.k8s.io/v1beta1", ALL, v(16), v(22), Some("apiextensions.k8s.io/v1")),
    d("apiregistration.k8s.io/v1beta1", ALL, v(19), v(22), Some("apiregistration.k8s.io/v1")),
    d("authentication.k8s.io/v1beta1", &["TokenReview"], v(19), v(22), Some("authentication.k8s.io/v1")),
    d("authorization.k8s.io/v1beta1", ALL, v(19), v(22), Some("authorization.k8s.io/v1")),
    d("certificates.k8s.io/v1beta1", &["CertificateSigningRequest"], v(19), v(22), Some("certificates.k8s.io/v1")),
    d("coordination.k8s.io/v1beta1", &["Lease"], v(19), v(22), Some("coordination.k8s.io/v1")),
    d("rbac.authorization.k8s.io/v1beta1", ALL, v(17), v(22), Some("rbac.authorization.k8s.io/v1")),
    d("rbac.authorization.k8s.io/v1alpha1", ALL, v(17), v(22), Some("rbac.authorization.k8s.io/v1")),
    d("scheduling.k8s.io/v1beta1", &["PriorityClass"], v(14), v(22), Some("scheduling.k8s.io/v1")),
    d("storage.k8s.io/v1beta1", &["CSIDriver", "StorageClass", "VolumeAttachment"], v(19), v(22), Some("storage.k8s.io/v1")),
    d("storage.k8s.io/v1beta1", &["CSINode"], v(17), v(22), Some("storage.k8s.io/v1")),
    // Removed in 1.25.
    d("batch/v1beta1", &["CronJob"], v(21), v(25), Some("batch/v1")),
    d("discovery.k8s.io/v1beta1", &["EndpointSlice"], v(21), v(25), Some("discovery.k8s.io/v1")),
    d("events.k8s.io/v1beta1", &["Event"], v(19), v(25), Some("events.k8s.io/v1")),
    d("autoscaling/v2beta1", &["HorizontalPodAutoscaler"], v(22), v(25), Some("autoscaling/v2")),
    d("policy/v1beta1", &["PodDisruptionBudget"], v(21), v(25), Some("policy/v1")),
    d("policy/v1beta1", &["PodSecurityPolicy"], v(21), v(25), None),
    d("node.k8s.io/v1beta1", &["RuntimeClass"], v(22), v(25), Some("node.k8s.io/v1")),
    // Removed in 1.26, 1.27, 1.29, 1.32.
    d("flowcontrol.apiserver.k8s.io/v1beta1", &["FlowSchema", "PriorityLevelConfiguration"], v(23), v(26), FLOWCONTROL),
    d("autoscaling/v2beta2", &["HorizontalPodAutoscaler"], v(23), v(26), Some("autoscaling/v2")),
    d("storage.k8s.io/v1beta1", &["CSIStorageCapacity"], v(24), v(27), Some("storage.k8s.io/v1")),
    d("flowcontrol.apiserver.k8s.io/v1beta2", &["FlowSchema", "PriorityLevelConfiguration"], v(26), v(29), Some("flowcontrol.apiserver.k8s.io/v1")),
    d("flowcontrol.apiserver.k8s.io/v1beta3", &["FlowSchema", "PriorityLevelConfiguration"], v(29), v(32), Some("flowcontrol.apiserver.k8s.io/v1")),
    // Beta APIs removed after 1.32.
    d("admissionregistration.k8s.io/v1beta1", &["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"], v(31), v(34), Some("admissionregistration.k8s.io/v1")),
    d("authentication.k8s.io/v1beta1", &["SelfSubjectReview"], v(30), v(33), Some("authentication.k8s.io/v1")),
    d("networking.k8s.io/v1beta1", &["IPAddress", "ServiceCIDR"], v(34), v(37), Some("networking.k8s.io/v1")),
    d("storage.k8s.io/v1beta1", &["VolumeAttributesClass"], v(34), v(37), Some("storage.k8s.io/v1")),
    // Alpha APIs (never enabled by default) removed in 1.29 and later.
    d("networking.k8s.io/v1alpha1", &["ClusterCIDR"], None, v(29), None),
    d("networking.k8s.io/v1alpha1", &["IPAddress", "ServiceCIDR"], None, v(31), Some("networking.k8s.io/v1")),
    d("resource.k8s.io/v1alpha2", ALL, None, v(31), Some("resource.k8s.io/v1")),
    d("admissionregistration.k8s.io/v1alpha1", &["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"], None, v(32), Some("admissionregistration.k8s.io/v1")),
    d("authentication.k8s.io/v1alpha1", &["SelfSubjectReview"], None, v(32), Some("authentication.k8s.io/v1")),
    d("coordination.k8s.io/v1alpha1", &["LeaseCandidate"], None, v(32), Some("coordination.k8s.io/v1beta1")),
    d("resource.k8s.io/v1alpha3", &["PodSchedulingContext"], None, v(32), None),
    d("resource.k8s.io/v1alpha3", &["DeviceClass", "ResourceClaim", "ResourceClaimTemplate", "ResourceSlice"], None, v(34), Some("resource.k8s.io/v1")),
    d("storage.k8s.io/v1alpha1", &["VolumeAttributesClass"], None, v(35), Some("storage.k8s.io/v1")),
    d("storagemigration.k8s.io/v1alpha1", &["StorageVersionMigration"], None, v(35), Some("storagemigration.k8s.io/v1beta1 (v1 from Kubernetes 1.37)")),
    d("certificates.k8s.io/v1alpha1", &["ClusterTrustBundle"], None, v(37), Some("certificates.k8s.io/v1")),
    // Deprecated, still served.
    d("v1", &["ComponentStatus"], v(19), None, None),
    d("v1", &["Endpoints"], v(33), None, Some("discovery.k8s.io/v1 EndpointSlice")),
];

/// The table row for an apiVersion and kind, if it is deprecated or removed at all.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static Deprecation> {
    TABLE
        .iter()
        .find(|r| r.api_version == api_version && (r.kinds.is_empty() || r.kinds.contains(&kind)))
}

/// Check one object's apiVersion against `version`, appending `api-removed` or
/// `api-deprecated` (path `apiVersion`).
pub fn check(index: usize, obj: &Object, version: KubeVersion, out: &mut Vec<Finding>) {
    let (Some(api), Some(kind)) = (
        obj.get("apiVersion").and_then(Value::as_str),
        obj.get("kind").and_then(Value::as_str),
    ) else {
        return;
    };
    let Some(row) = lookup(api, kind) else { return };
    let instead = match row.replacement {
        Some(r) => format!("use {r}"),
        None => "it has no replacement; remove the object".to_string(),
    };
    let path = vec![Seg::Key("apiVersion".into())];
    if let Some(removed) = row.removed.filter(|r| *r <= version) {
        out.push(Finding::at(
            RULE_REMOVED,
            Severity::Error,
            index,
            path,
            format!(
                "{kind} {api} was removed in Kubernetes {removed} (target is {version}): {instead}"
            ),
        ));
    } else if let Some(dep) = row.deprecated.filter(|d| *d <= version) {
        let when = match row.removed {
            Some(r) => format!("deprecated since Kubernetes {dep} and removed in {r}"),
            None => format!("deprecated since Kubernetes {dep}"),
        };
        out.push(Finding::at(
            RULE_DEPRECATED,
            Severity::Warning,
            index,
            path,
            format!("{kind} {api} is {when}: {instead}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::schema::{Schemas, supported_versions};
    use serde_json::json;

    fn run(api: &str, kind: &str, minor: u16) -> Vec<Finding> {
        let o = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}});
        let mut out = Vec::new();
        check(
            3,
            o.as_object().unwrap(),
            KubeVersion::new(1, minor),
            &mut out,
        );
        out
    }

    #[test]
    fn removed_and_deprecated_apis() {
        let f = run("networking.k8s.io/v1beta1", "Ingress", 31);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, RULE_REMOVED);
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(f[0].object, Some(3));
        assert_eq!(f[0].path, vec![Seg::Key("apiVersion".into())]);
        assert_eq!(
            f[0].message,
            "Ingress networking.k8s.io/v1beta1 was removed in Kubernetes 1.22 (target is 1.31): \
             use networking.k8s.io/v1"
        );
        let f = run("batch/v1beta1", "CronJob", 22);
        assert_eq!(f[0].rule, RULE_DEPRECATED);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(
            f[0].message,
            "CronJob batch/v1beta1 is deprecated since Kubernetes 1.21 and removed in 1.25: \
             use batch/v1"
        );
        assert!(run("batch/v1beta1", "CronJob", 20).is_empty());
        assert_eq!(run("batch/v1beta1", "CronJob", 25)[0].rule, RULE_REMOVED);
        let f = run("policy/v1beta1", "PodSecurityPolicy", 25);
        assert!(f[0].message.contains("no replacement"));
        assert_eq!(run("v1", "Endpoints", 33)[0].rule, RULE_DEPRECATED);
        assert!(run("v1", "Endpoints", 32).is_empty());
        assert!(run("apps/v1", "Deployment", 37).is_empty());
        assert!(run("v1", "ConfigMap", 37).is_empty());
        // Per kind: one apiVersion can hold removed and current kinds.
        let webhook = "MutatingWebhookConfiguration";
        let reg = "admissionregistration.k8s.io/v1beta1";
        assert_eq!(run(reg, webhook, 30)[0].rule, RULE_REMOVED);
        assert!(run(reg, "ValidatingAdmissionPolicy", 30).is_empty());
        assert_eq!(run("apps/v1beta2", "StatefulSet", 16)[0].rule, RULE_REMOVED);
    }

    #[test]
    fn guide_removals_are_in_the_table() {
        for (api, kind, removed) in [
            ("extensions/v1beta1", "Ingress", 22),
            ("extensions/v1beta1", "Deployment", 16),
            ("policy/v1beta1", "PodSecurityPolicy", 25),
            ("policy/v1beta1", "PodDisruptionBudget", 25),
            ("batch/v1beta1", "CronJob", 25),
            ("autoscaling/v2beta1", "HorizontalPodAutoscaler", 25),
            ("autoscaling/v2beta2", "HorizontalPodAutoscaler", 26),
            ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", 26),
            ("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", 29),
            (
                "flowcontrol.apiserver.k8s.io/v1beta3",
                "PriorityLevelConfiguration",
                32,
            ),
            ("storage.k8s.io/v1beta1", "CSIStorageCapacity", 27),
            (
                "admissionregistration.k8s.io/v1beta1",
                "ValidatingWebhookConfiguration",
                22,
            ),
            (
                "apiextensions.k8s.io/v1beta1",
                "CustomResourceDefinition",
                22,
            ),
            ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", 22),
        ] {
            let row = lookup(api, kind).unwrap_or_else(|| panic!("{api} {kind}"));
            assert_eq!(row.removed, v(removed), "{api} {kind}");
            assert!(row.deprecated.is_none_or(|d| Some(d) < row.removed));
        }
    }

    /// Every row agrees with the embedded schemas: served in the minor before its removal,
    /// gone from the removal on (within the range the schemas cover).
    #[test]
    fn table_agrees_with_embedded_schemas() {
        let (min, max) = supported_versions();
        let all: Vec<Schemas> = (min.minor..=max.minor)
            .map(|m| Schemas::new(KubeVersion::new(1, m)).unwrap())
            .collect();
        let mut checked = 0;
        for row in TABLE {
            for kind in row.kinds {
                for s in &all {
                    let served = s.knows(row.api_version, kind);
                    let what = format!("{} {kind} in {}", row.api_version, s.version());
                    match row.removed {
                        Some(r) if s.version() >= r => assert!(!served, "{what}"),
                        Some(r) if s.version().minor + 1 == r.minor => assert!(served, "{what}"),
                        None if s.version() == max => assert!(served, "{what}"),
                        _ => continue,
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 250, "{checked}");
    }
}
