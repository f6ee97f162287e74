//! Whether an applied object is ready: CRDs established, and Deployments, StatefulSets and
//! DaemonSets rolled out, judged from their status the way `kubectl rollout status` judges it.

use serde_json::Value;

use super::plan::GroupKind;

/// How far an object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ready,
    /// Still rolling out: what it waits for.
    Progressing(String),
    /// Will not get there by waiting.
    Failed(String),
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

/// A CRD can be used once its names are accepted and it is `Established`.
pub fn crd(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "NamesAccepted")
        && c["status"].as_str() == Some("False")
    {
        return Health::Failed(format!(
            "its names are not accepted: {}",
            c["message"].as_str().unwrap_or("no message")
        ));
    }
    match condition(obj, "Established") {
        Some(c) if c["status"].as_str() == Some("True") => Health::Ready,
        _ => Health::Progressing("waiting for the CRD to be established".into()),
    }
}

/// Whether the agent waits for objects of this kind to roll out.
pub fn rolls_out(gk: &GroupKind) -> bool {
    gk.group == "apps" && matches!(gk.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
}

/// The rollout state of a workload, or None for kinds that do not roll out.
pub fn rollout(gk: &GroupKind, obj: &Value) -> Option<Health> {
    if !rolls_out(gk) {
        return None;
    }
    let generation = int(&obj["metadata"]["generation"]);
    let status = &obj["status"];
    let observed = int(&status["observedGeneration"]);
    if generation > observed {
        return Some(Health::Progressing(format!(
            "waiting for the controller to observe generation {generation}"
        )));
    }
    let spec = &obj["spec"];
    let on_delete = spec["updateStrategy"]["type"].as_str() == Some("OnDelete");
    Some(match gk.kind.as_str() {
        "Deployment" => deployment(spec, status),
        "StatefulSet" if on_delete => Health::Ready,
        "StatefulSet" => stateful_set(spec, status),
        "DaemonSet" if on_delete => Health::Ready,
        "DaemonSet" => daemon_set(status),
        _ => return None,
    })
}

fn deployment(spec: &Value, status: &Value) -> Health {
    if let Some(c) = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"].as_str() == Some("Progressing"))
        && c["reason"].as_str() == Some("ProgressDeadlineExceeded")
    {
        return Health::Failed(format!(
            "progress deadline exceeded: {}",
            c["message"].as_str().unwrap_or("no message")
        ));
    }
    let want = spec["replicas"].as_i64().unwrap_or(1);
    let updated = int(&status["updatedReplicas"]);
    let total = int(&status["replicas"]);
    let available = int(&status["availableReplicas"]);
    if updated < want {
        Health::Progressing(format!("{updated} of {want} replicas updated"))
    } else if total > updated {
        Health::Progressing(format!(
            "{} old replicas pending termination",
            total - updated
        ))
    } else if available < updated {
        Health::Progressing(format!(
            "{available} of {updated} updated replicas available"
        ))
    } else {
        Health::Ready
    }
}

fn stateful_set(spec: &Value, status: &Value) -> Health {
    let want = spec["replicas"].as_i64().unwrap_or(1);
    let ready = int(&status["readyReplicas"]);
    if ready < want {
        return Health::Progressing(format!("{ready} of {want} pods ready"));
    }
    let partition = int(&spec["updateStrategy"]["rollingUpdate"]["partition"]);
    if partition > 0 {
        let updated = int(&status["updatedReplicas"]);
        let need = want - partition;
        return if updated < need {
            Health::Progressing(format!(
                "{updated} of {need} pods updated (partition {partition})"
            ))
        } else {
            Health::Ready
        };
    }
    let (current, update) = (
        status["currentRevision"].as_str().unwrap_or_default(),
        status["updateRevision"].as_str().unwrap_or_default(),
    );
    if current != update {
        let updated = int(&status["updatedReplicas"]);
        Health::Progressing(format!("{updated} of {want} pods at the new revision"))
    } else {
        Health::Ready
    }
}

fn daemon_set(status: &Value) -> Health {
    let want = int(&status["desiredNumberScheduled"]);
    let updated = int(&status["updatedNumberScheduled"]);
    let available = int(&status["numberAvailable"]);
    if updated < want {
        Health::Progressing(format!("{updated} of {want} pods updated"))
    } else if available < want {
        Health::Progressing(format!("{available} of {want} updated pods available"))
    } else {
        Health::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(status: serde_json::Value) -> Value {
        json!({"metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": status})
    }

    #[test]
    fn deployments_roll_out_as_kubectl_rollout_status_says() {
        let gk = GroupKind::new("apps", "Deployment");
        let cases = [
            (json!({"observedGeneration": 1}), "observe generation 2"),
            (
                json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 3}),
                "1 of 3 replicas updated",
            ),
            (
                json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4}),
                "1 old replicas",
            ),
            (
                json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 2}),
                "2 of 3 updated replicas available",
            ),
        ];
        for (status, why) in cases {
            match rollout(&gk, &dep(status)) {
                Some(Health::Progressing(w)) => assert!(w.contains(why), "{w}"),
                other => panic!("{other:?} for {why}"),
            }
        }
        let done = json!({"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3});
        assert_eq!(rollout(&gk, &dep(done)), Some(Health::Ready));
        let stuck = json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}]});
        assert!(
            matches!(rollout(&gk, &dep(stuck)), Some(Health::Failed(w)) if w.contains("timed out"))
        );
        // No replicas field means one.
        let one = json!({"metadata": {"generation": 1}, "spec": {}, "status": {"observedGeneration": 1, "updatedReplicas": 1, "replicas": 1, "availableReplicas": 1}});
        assert_eq!(rollout(&gk, &one), Some(Health::Ready));
    }

    #[test]
    fn stateful_and_daemon_sets_and_other_kinds() {
        let sts = GroupKind::new("apps", "StatefulSet");
        let s = |status: Value, spec: Value| json!({"metadata": {"generation": 1}, "spec": spec, "status": status});
        let rev = |a: &str, b: &str| json!({"observedGeneration": 1, "readyReplicas": 2, "updatedReplicas": 1, "currentRevision": a, "updateRevision": b});
        assert!(matches!(
            rollout(&sts, &s(rev("r1", "r2"), json!({"replicas": 2}))),
            Some(Health::Progressing(_))
        ));
        assert_eq!(
            rollout(&sts, &s(rev("r2", "r2"), json!({"replicas": 2}))),
            Some(Health::Ready)
        );
        // A partition rolls out only the pods above it.
        let part = json!({"replicas": 2, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}});
        assert_eq!(
            rollout(&sts, &s(rev("r1", "r2"), part)),
            Some(Health::Ready)
        );
        assert_eq!(
            rollout(
                &sts,
                &s(
                    json!({"observedGeneration": 1}),
                    json!({"updateStrategy": {"type": "OnDelete"}})
                )
            ),
            Some(Health::Ready)
        );
        let ds = GroupKind::new("apps", "DaemonSet");
        let d = |u: i64, a: i64| json!({"metadata": {"generation": 1}, "spec": {}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": u, "numberAvailable": a}});
        assert!(
            matches!(rollout(&ds, &d(2, 3)), Some(Health::Progressing(w)) if w.contains("2 of 3 pods updated"))
        );
        assert!(matches!(
            rollout(&ds, &d(3, 1)),
            Some(Health::Progressing(_))
        ));
        assert_eq!(rollout(&ds, &d(3, 3)), Some(Health::Ready));
        assert_eq!(rollout(&GroupKind::new("", "Service"), &json!({})), None);
        assert_eq!(
            rollout(&GroupKind::new("apps", "ReplicaSet"), &json!({})),
            None
        );
    }

    #[test]
    fn crds_are_ready_once_established() {
        assert!(matches!(crd(&json!({})), Health::Progressing(_)));
        let est = json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(crd(&est), Health::Ready);
        let clash = json!({"status": {"conditions": [{"type": "NamesAccepted", "status": "False", "message": "plural clash"}]}});
        assert!(matches!(crd(&clash), Health::Failed(w) if w.contains("plural clash")));
    }
}
