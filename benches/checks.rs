//! Throughput of the checks over a large generated render, on one core.
//!
//! `cargo bench --bench checks [-- OBJECTS]` builds OBJECTS (default 12,000) rendered objects —
//! Deployments, Services, ConfigMaps, Ingresses, HPAs and PDBs in many namespaces, a realistic
//! share of them with problems — then runs schema validation plus every built-in rule on one
//! thread, and prints objects per second for the schema pass, the rules, and both, with peak RSS.
//! The target is ≥ 20,000 objects/s for schema + built-in rules.

#[path = "common/mod.rs"]
mod common;
use common::peak_rss_mib;
use std::time::Instant;

use serde_json::{Value, json};
use warden::checks::schema::Schemas;
use warden::checks::{Finding, KubeVersion, Subject, consistency, deprecations, secrets, workload};
use warden::manifest::{Object, Origin};

fn objects(n: usize) -> Vec<Object> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let ns = format!("team-{}", i % 50);
        let app = format!("app-{i}");
        let image = if i % 7 == 0 {
            "nginx:latest".to_string()
        } else {
            format!("ghcr.io/acme/{app}:1.{}.{}", i % 10, i % 3)
        };
        let mut deploy = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns, "labels": {"app": app, "team": ns}},
            "spec": {
                "replicas": 1 + i % 3,
                "selector": {"matchLabels": {"app": app}},
                "template": {
                    "metadata": {"labels": {"app": app, "team": ns}},
                    "spec": {
                        "serviceAccountName": "default",
                        "securityContext": {"runAsNonRoot": true},
                        "containers": [{
                            "name": "main",
                            "image": image,
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [{"name": "LOG_LEVEL", "value": "info"},
                                    {"name": "CONFIG", "valueFrom": {"configMapKeyRef": {"name": format!("{app}-config"), "key": "config"}}}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true}
                        }]
                    }
                }
            }
        });
        if i % 5 == 0 {
            deploy["spec"]["template"]["spec"]["containers"][0]
                .as_object_mut()
                .unwrap()
                .remove("resources");
        }
        out.push(deploy);
        out.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "namespace": ns},
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": "http"}]}
        }));
        out.push(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("{app}-config"), "namespace": ns},
            "data": {"config": format!("listen: 8080\nname: {app}\n"), "LOG_LEVEL": "info"}
        }));
        if i % 2 == 0 {
            out.push(json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": app, "namespace": ns},
                "spec": {"rules": [{"host": format!("{app}.example.com"), "http": {"paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": app, "port": {"number": 80}}}}]}}]}
            }));
        }
        if i % 4 == 0 {
            out.push(json!({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": app, "namespace": ns},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                         "minReplicas": 2, "maxReplicas": 5}
            }));
            out.push(json!({
                "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": app, "namespace": ns},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}}
            }));
        }
        i += 1;
    }
    out.truncate(n);
    out.into_iter()
        .map(|v| match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        })
        .collect()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(12_000);
    let objs = objects(n);
    let origin = Origin::default();
    let subjects: Vec<Subject<'_>> = objs
        .iter()
        .map(|o| Subject {
            obj: o,
            origin: &origin,
        })
        .collect();
    let version = KubeVersion::new(1, 31);
    let schemas = Schemas::new(version).expect("schemas");

    // Warm up the per-kind schema cache (compiled once per kind in a real run too).
    let mut sink: Vec<Finding> = Vec::new();
    for (i, o) in objs.iter().enumerate().take(50) {
        schemas.validate(i, o, &mut sink);
    }

    let mut findings: Vec<Finding> = Vec::new();
    let t = Instant::now();
    for (i, o) in objs.iter().enumerate() {
        schemas.validate(i, o, &mut findings);
    }
    let schema_s = t.elapsed().as_secs_f64();
    let schema_findings = findings.len();

    let t = Instant::now();
    for (i, s) in subjects.iter().enumerate() {
        deprecations::check(i, s.obj, version, &mut findings);
        workload::check(i, s.obj, &mut findings);
        secrets::check(i, s, &mut findings);
    }
    consistency::check(&subjects, &[], &mut findings);
    let rules_s = t.elapsed().as_secs_f64();

    let total = schema_s + rules_s;
    println!("objects: {n}");
    println!(
        "schema:         {:>9.0} objects/s ({:.1} µs/object, {schema_findings} findings)",
        n as f64 / schema_s,
        schema_s * 1e6 / n as f64
    );
    println!(
        "built-in rules: {:>9.0} objects/s ({:.1} µs/object, {} findings)",
        n as f64 / rules_s,
        rules_s * 1e6 / n as f64,
        findings.len() - schema_findings
    );
    println!(
        "schema + rules: {:>9.0} objects/s on one core (target ≥ 20,000)",
        n as f64 / total
    );
    println!("peak RSS:       {:.0} MiB", peak_rss_mib());
}
