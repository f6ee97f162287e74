use super::*;
use crate::checks::path_to_string;

fn obj(v: Value) -> Object {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn schemas() -> Schemas {
    Schemas::new(KubeVersion::new(1, 31)).expect("1.31 is supported")
}

fn check(s: &Schemas, v: Value) -> Vec<(String, String, Severity)> {
    let mut out = Vec::new();
    s.validate(7, &obj(v), &mut out);
    for f in &out {
        assert_eq!(f.object, Some(7));
    }
    out.into_iter()
        .map(|f| (path_to_string(&f.path), f.message, f.severity))
        .collect()
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web",
                    "image": "nginx:1.27",
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}
                }]}
            }
        }
    })
}

#[test]
fn schemas_are_send_and_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<Schemas>();
}

#[test]
fn supported_range_and_unsupported_versions() {
    let (min, max) = supported_versions();
    assert_eq!(min, KubeVersion::new(1, 25));
    assert_eq!(max, KubeVersion::new(1, 37));
    let e = Schemas::new(KubeVersion::new(1, 24)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Kubernetes 1.24 is not supported for schema validation (supported: 1.25 to 1.37)"
    );
    assert!(Schemas::new(KubeVersion::new(1, 38)).is_err());
    for m in 25..=37 {
        let s = Schemas::new(KubeVersion::new(1, m)).unwrap();
        assert!(s.knows("apps/v1", "Deployment"), "1.{m}");
        assert_eq!(s.version(), KubeVersion::new(1, m));
    }
}

#[test]
fn valid_deployment_has_no_findings() {
    assert_eq!(check(&schemas(), deployment()), vec![]);
}

#[test]
fn unknown_field_names_the_key_and_suggests() {
    let mut d = deployment();
    let c = &mut d["spec"]["template"]["spec"]["containers"][0];
    c["imagePullPolice"] = json!("Always");
    let got = check(&schemas(), d);
    assert_eq!(
        got,
        vec![(
            "spec.template.spec.containers[0].imagePullPolice".to_string(),
            "unknown field \"imagePullPolice\" in spec.template.spec.containers[0] (did you mean \"imagePullPolicy\"?)".to_string(),
            Severity::Error
        )]
    );
}

#[test]
fn unknown_top_level_and_metadata_fields() {
    let mut d = deployment();
    d["spce"] = json!({});
    d["metadata"]["lables"] = json!({});
    let got = check(&schemas(), d);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().any(|(p, m, _)| p == "spce"
        && m == "unknown field \"spce\" in the top level (did you mean \"spec\"?)"));
    assert!(
        got.iter()
            .any(|(p, m, _)| p == "metadata.lables" && m.contains("did you mean \"labels\""))
    );
}

#[test]
fn type_errors_are_short() {
    let mut d = deployment();
    d["spec"]["replicas"] = json!("3");
    d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = json!(true);
    let got = check(&schemas(), d);
    assert!(got.contains(&(
        "spec.replicas".into(),
        "spec.replicas: \"3\" is not an integer".into(),
        Severity::Error
    )));
    assert!(got.contains(&(
        "spec.strategy.rollingUpdate.maxSurge".into(),
        "spec.strategy.rollingUpdate.maxSurge: true is not an integer or a string".into(),
        Severity::Error
    )));
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn missing_required_field_is_named() {
    let mut d = deployment();
    d["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let got = check(&schemas(), d);
    assert_eq!(
        got,
        vec![(
            "spec.template.spec.containers[0]".into(),
            "spec.template.spec.containers[0]: missing required field \"name\"".into(),
            Severity::Error
        )]
    );
}

#[test]
fn secret_values_are_not_printed() {
    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "stringData": {"password": 12345678}});
    let got = check(&schemas(), s);
    assert_eq!(got.len(), 1);
    assert!(!got[0].1.contains("12345678"), "{got:?}");
    assert_eq!(got[0].0, "stringData.password");
}

#[test]
fn unknown_kinds_and_missing_type_fields() {
    let s = schemas();
    let got = check(
        &s,
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, Severity::Info);
    assert!(got[0].1.contains("no schema for Widget (example.com/v1)"));

    let got = check(&s, json!({"kind": "ConfigMap", "metadata": {"name": "x"}}));
    assert_eq!(
        got,
        vec![(
            "".into(),
            "missing required field \"apiVersion\"".into(),
            Severity::Error
        )]
    );
    let got = check(&s, json!({"apiVersion": "v1", "kind": 3}));
    assert_eq!(got[0].0, "kind");
    assert_eq!(got[0].1, "kind: 3 is not a string");
}

#[test]
fn removed_apis_have_no_schema() {
    let s = schemas();
    assert!(!s.knows("policy/v1beta1", "PodDisruptionBudget"));
    assert!(s.knows("policy/v1", "PodDisruptionBudget"));
    let old = Schemas::new(KubeVersion::new(1, 25)).unwrap();
    assert!(old.knows("autoscaling/v2beta2", "HorizontalPodAutoscaler"));
    assert!(!s.knows("autoscaling/v2beta2", "HorizontalPodAutoscaler"));
}

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": {"x-kubernetes-int-or-string": true},
                                "color": {"type": "string", "enum": ["red", "blue"]},
                                "note": {"type": "string", "nullable": true},
                                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                             "properties": {"spec": {"type": "object",
                                                 "x-kubernetes-preserve-unknown-fields": true}}},
                                "count": {"type": "integer", "minimum": 0}
                            }
                        },
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }}},
                {"name": "v1alpha1", "served": true, "storage": false}
            ]
        }
    })
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "n"}, "spec": spec})
}

#[test]
fn crd_schemas_validate_custom_resources() {
    let mut s = schemas();
    assert_eq!(s.add_crd(&obj(crd())).unwrap(), 2);
    assert!(s.knows("example.com/v1", "Widget"));
    let ok = widget(json!({
        "size": "10Gi", "color": "red", "note": null, "extra": {"any": {"thing": 1}},
        "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
        "count": 2
    }));
    assert_eq!(check(&s, ok), vec![]);
    assert_eq!(check(&s, widget(json!({"size": 3}))), vec![]);

    let got = check(&s, widget(json!({"size": 3, "colour": "red"})));
    assert_eq!(
        got,
        vec![(
            "spec.colour".into(),
            "unknown field \"colour\" in spec (did you mean \"color\"?)".into(),
            Severity::Error
        )]
    );
    let got = check(&s, widget(json!({"size": true})));
    assert_eq!(got[0].1, "spec.size: true is not an integer or a string");
    let got = check(&s, widget(json!({"color": "green"})));
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter()
            .any(|(_, m, _)| m == "spec: missing required field \"size\"")
    );
    assert!(got.iter().any(|(p, _, _)| p == "spec.color"));
    let got = check(&s, widget(json!({"size": 1, "count": -1})));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "spec.count");

    // metadata is an ObjectMeta; the version without a schema accepts anything.
    let mut w = widget(json!({"size": 1}));
    w["metadata"]["nmae"] = json!("x");
    let got = check(&s, w);
    assert_eq!(got[0].0, "metadata.nmae");
    let alpha = json!({"apiVersion": "example.com/v1alpha1", "kind": "Widget",
                       "metadata": {"name": "w"}, "whatever": {"a": 1}});
    assert_eq!(check(&s, alpha), vec![]);
}

#[test]
fn bad_crds_are_reported_on_the_crd() {
    let mut s = schemas();
    let mut bad = crd();
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"]
        ["pattern"] = json!("([a-z");
    let mut out = Vec::new();
    s.add_crds([(4, &obj(bad))], &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].object, Some(4));
    assert!(
        out[0]
            .message
            .starts_with("CustomResourceDefinition widgets.example.com: version v1:"),
        "{}",
        out[0].message
    );
    // Not a CRD: ignored.
    assert_eq!(s.add_crd(&obj(deployment())).unwrap(), 0);
}

#[test]
fn suggestions_only_for_close_names() {
    let known = vec!["imagePullPolicy".to_string(), "image".to_string()];
    assert_eq!(
        did_you_mean("imagePullPolice", &known).as_deref(),
        Some("imagePullPolicy")
    );
    assert_eq!(did_you_mean("IMAGE", &known).as_deref(), Some("image"));
    assert_eq!(did_you_mean("volumes", &known), None);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("spce", "spec"), 1);
    assert_eq!(edit_distance("", "ab"), 2);
}
