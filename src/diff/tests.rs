//! The diff engine's rules, one test each.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::manifest::{Object, Origin};

fn obj(yaml: &str) -> Object {
    objs(yaml).remove(0)
}

fn objs(yaml: &str) -> Vec<Object> {
    crate::yaml::parse_stream(yaml, &crate::yaml::Limits::default())
        .expect("YAML")
        .into_iter()
        .filter_map(|d| match d.value {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn sides<'a>(o: &'a [Object], origin: Option<&'a Origin>) -> Vec<Side<'a>> {
    o.iter().map(|obj| Side { obj, origin }).collect()
}

fn run(base: &[Object], head: &[Object]) -> TargetDiff {
    diff(&sides(base, None), &sides(head, None))
}

fn deployment(containers: &str) -> Object {
    obj(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  template:\n    spec:\n{containers}"
    ))
}

fn paths(d: &TargetDiff) -> Vec<String> {
    d.objects
        .iter()
        .flat_map(|o| {
            o.fields
                .iter()
                .map(|f| format!("{:?} {}", f.status, f.path))
        })
        .collect()
}

fn classes(c: &[ChangeClass]) -> BTreeSet<ChangeClass> {
    c.iter().copied().collect()
}

const TWO: &str = "      containers:\n      - name: app\n        image: app:1\n      - name: proxy\n        image: envoy:1\n";
const TWO_SWAPPED: &str = "      containers:\n      - name: proxy\n        image: envoy:1\n      - name: app\n        image: app:1\n";

#[test]
fn identical_renders_have_no_diff() {
    let a = vec![deployment(TWO)];
    let d = run(&a, &a);
    assert!(d.is_empty() && d.objects.is_empty() && d.classes.is_empty());
}

#[test]
fn reordering_containers_is_no_change() {
    let d = run(&[deployment(TWO)], &[deployment(TWO_SWAPPED)]);
    assert!(d.is_empty(), "{:?}", paths(&d));
}

#[test]
fn reordering_init_containers_is_a_change() {
    let init = |s: &str| s.replace("      containers:", "      initContainers:");
    let d = run(&[deployment(&init(TWO))], &[deployment(&init(TWO_SWAPPED))]);
    assert_eq!(d.counts.changed, 1);
    assert_eq!(paths(&d), ["Changed spec.template.spec.initContainers"]);
    assert_eq!(d.classes, classes(&[ChangeClass::Other]));
}

#[test]
fn an_inserted_env_var_is_one_added_item() {
    let with = |env: &str| {
        deployment(&format!(
            "      containers:\n      - name: app\n        image: app:1\n        env:\n{env}"
        ))
    };
    let d = run(
        &[with(
            "        - name: A\n          value: a\n        - name: C\n          value: c\n",
        )],
        &[with(
            "        - name: A\n          value: a\n        - name: B\n          value: b\n        - name: C\n          value: c\n",
        )],
    );
    assert_eq!(
        paths(&d),
        ["Added spec.template.spec.containers[name=app].env[name=B]"]
    );
    // The unified text adds the item's lines and nothing else.
    let u = &d.objects[0].unified;
    let changed: Vec<&str> = u.lines().filter(|l| l.starts_with(['+', '-'])).collect();
    assert_eq!(
        changed,
        ["+        - name: B", "+          value: b"],
        "{u}"
    );
}

#[test]
fn ports_match_by_container_port() {
    let with = |ports: &str| {
        deployment(&format!(
            "      containers:\n      - name: app\n        image: app:1\n        ports:\n{ports}"
        ))
    };
    let d = run(
        &[with(
            "        - containerPort: 80\n          name: http\n        - containerPort: 9090\n          name: metrics\n",
        )],
        &[with(
            "        - containerPort: 9090\n          name: prom\n        - containerPort: 80\n          name: http\n",
        )],
    );
    assert_eq!(
        paths(&d),
        [
            "Changed spec.template.spec.containers[name=app].ports[containerPort=9090,protocol=].name"
        ]
    );
}

#[test]
fn image_bump_and_scale() {
    let d = run(
        &[deployment(TWO)],
        &[deployment(&TWO.replace("app:1", "app:2")).clone()],
    );
    assert_eq!(d.classes, classes(&[ChangeClass::ImageBump]));
    let img = &d.objects[0].images;
    assert_eq!(img.len(), 1);
    assert_eq!(
        (
            img[0].container.as_str(),
            img[0].from.as_str(),
            img[0].to.as_str()
        ),
        ("app", "app:1", "app:2")
    );

    let mut scaled = deployment(&TWO.replace("app:1", "app:2"));
    scaled["spec"]["replicas"] = 5.into();
    let d = run(&[deployment(TWO)], &[scaled]);
    assert_eq!(
        d.classes,
        classes(&[ChangeClass::ImageBump, ChangeClass::Scale])
    );
    assert_eq!(d.counts.changed, 1);
}

#[test]
fn a_new_repository_is_not_an_image_bump() {
    let d = run(
        &[deployment(TWO)],
        &[deployment(&TWO.replace("app:1", "evil.example/app:1"))],
    );
    assert_eq!(d.classes, classes(&[ChangeClass::Other]));
    assert!(d.objects[0].images.is_empty());
    // A registry port is part of the repository; the tag after it changes.
    let d = run(
        &[deployment(&TWO.replace("app:1", "reg:5000/app:1"))],
        &[deployment(
            &TWO.replace("app:1", "reg:5000/app@sha256:abcd"),
        )],
    );
    assert_eq!(d.classes, classes(&[ChangeClass::ImageBump]));
}

#[test]
fn cronjob_images_are_bumps_too() {
    let cj = |tag: &str| {
        obj(&format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: job\n            image: tools:{tag}\n"
        ))
    };
    let d = run(&[cj("1")], &[cj("2")]);
    assert_eq!(d.classes, classes(&[ChangeClass::ImageBump]));
}

#[test]
fn server_owned_fields_are_ignored() {
    let a = deployment(TWO);
    let mut b = a.clone();
    b.insert("status".into(), serde_json::json!({"readyReplicas": 2}));
    let meta = b["metadata"].as_object_mut().expect("metadata");
    meta.insert("resourceVersion".into(), "123".into());
    meta.insert("uid".into(), "u".into());
    meta.insert(
        "managedFields".into(),
        serde_json::json!([{"manager": "kubectl"}]),
    );
    meta.insert(
        "annotations".into(),
        serde_json::json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"}),
    );
    assert!(run(&[a], &[b]).is_empty());
}

#[test]
fn a_new_api_version_is_a_change_of_the_same_object() {
    let a = deployment(TWO);
    let mut b = a.clone();
    b["apiVersion"] = "apps/v1beta2".into();
    let d = run(&[a], &[b]);
    assert_eq!(
        (d.counts.changed, d.counts.added, d.counts.removed),
        (1, 0, 0)
    );
    assert_eq!(paths(&d), ["Changed apiVersion"]);
}

const GENERATED: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config-NAME
data:
  LEVEL: VALUE
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: a
spec:
  template:
    spec:
      containers:
      - name: a
        image: a:1
        envFrom:
        - configMapRef:
            name: app-config-NAME
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: b
spec:
  template:
    spec:
      volumes:
      - name: cfg
        configMap:
          name: app-config-NAME
      containers:
      - name: b
        image: b:1
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: c
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: c
            image: c:IMAGE
            envFrom:
            - configMapRef:
                name: app-config-NAME
"#;

/// The ConfigMap (name suffix, a data value) and its three users (the CronJob's image tag).
fn generated(hash: &str, value: &str, image: &str) -> Vec<Object> {
    objs(
        &GENERATED
            .replace("NAME", hash)
            .replace("VALUE", value)
            .replace("IMAGE", image),
    )
}

#[test]
fn a_regenerated_configmap_is_one_change_and_its_users_one_cascade() {
    let base = generated("5dg4mk9cb2", "info", "1");
    let head = generated("b2hft8t6g7", "debug", "1");
    let d = run(&base, &head);
    assert_eq!(
        (d.counts.added, d.counts.changed, d.counts.removed),
        (0, 4, 0)
    );
    assert_eq!(d.objects.len(), 1, "{:?}", d.objects);
    let cm = &d.objects[0];
    assert_eq!(cm.key.name, "app-config-b2hft8t6g7");
    assert_eq!(cm.renamed_from.as_deref(), Some("app-config-5dg4mk9cb2"));
    assert_eq!(paths(&d), ["Changed data.LEVEL"]);
    assert_eq!(d.cascades.len(), 1);
    let names: Vec<&str> = d.cascades[0]
        .dependents
        .iter()
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b", "c"]); // sorted by key: group (apps, batch) first
    assert_eq!(d.classes, classes(&[ChangeClass::Config]));

    // A user that changes in another way too stays listed, with only that change.
    let head = generated("b2hft8t6g7", "debug", "2");
    let d = run(&base, &head);
    assert_eq!(d.objects.len(), 2);
    assert_eq!(d.cascades[0].dependents.len(), 3);
    let cron = d
        .objects
        .iter()
        .find(|o| o.key.kind == "CronJob")
        .expect("CronJob listed");
    assert_eq!(cron.fields.len(), 1, "{:?}", cron.fields);
    assert_eq!(
        d.classes,
        classes(&[ChangeClass::Config, ChangeClass::ImageBump])
    );
}

#[test]
fn hand_written_names_that_look_hashed_are_not_paired_when_the_origin_says_so() {
    let base = generated("5dg4mk9cb2", "info", "1");
    let head = generated("b2hft8t6g7", "debug", "1");
    let origin = Origin {
        file: "cm.yaml".into(),
        line: 1,
        ..Origin::default()
    };
    let d = diff(&sides(&base, Some(&origin)), &sides(&head, Some(&origin)));
    assert_eq!((d.counts.added, d.counts.removed), (1, 1));
    assert!(d.cascades.is_empty());
}

const SECRET_YAML: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n";

#[test]
fn secrets_show_keys_never_values() {
    let base = obj(&format!(
        "{SECRET_YAML}  user: c2hvcA==\n  password: aHVudGVyMg==\n  old: b2xkLXZhbHVl\n"
    ));
    let head = obj(&format!(
        "{SECRET_YAML}  user: c2hvcA==\n  password: czNjcjN0LTI=\n  token: dG9rLXh5eg==\n"
    ));
    let d = run(std::slice::from_ref(&base), std::slice::from_ref(&head));
    let o = &d.objects[0];
    let keys = o.secret_keys.as_ref().expect("secret keys");
    assert_eq!(
        (
            keys.added.as_slice(),
            keys.removed.as_slice(),
            keys.changed.as_slice()
        ),
        (
            &["token".to_string()][..],
            &["old".to_string()][..],
            &["password".to_string()][..]
        )
    );
    assert!(
        o.unified
            .contains(&format!("-  password: {}", normalize::SECRET)),
        "{}",
        o.unified
    );
    assert!(
        o.unified
            .contains(&format!("+  password: '{}'", normalize::SECRET_CHANGED))
            || o.unified
                .contains(&format!("+  password: {}", normalize::SECRET_CHANGED)),
        "{}",
        o.unified
    );
    assert!(
        !o.unified.contains("user:")
            || !o
                .unified
                .lines()
                .any(|l| l.starts_with(['+', '-']) && l.contains("user")),
        "{}",
        o.unified
    );
    assert_eq!(d.classes, classes(&[ChangeClass::Config]));

    let json = serde_json::to_string(&d).expect("JSON");
    for secret in [&base, &head] {
        for v in secret["data"].as_object().expect("data").values() {
            let v = v.as_str().expect("string");
            assert!(!json.contains(v), "value {v} leaked");
            use base64::Engine;
            let plain = base64::engine::general_purpose::STANDARD
                .decode(v)
                .expect("base64");
            assert!(
                !json.contains(std::str::from_utf8(&plain).expect("UTF-8")),
                "plain value leaked"
            );
        }
    }
    // Added and removed Secrets show keys only.
    let d = run(&[], std::slice::from_ref(&head));
    assert!(!d.objects[0].unified.contains("czNjcjN0LTI="));
    assert_eq!(
        d.objects[0].secret_keys.as_ref().map(|k| k.added.len()),
        Some(3)
    );
    assert!(!canonical_yaml(&head).contains("dG9rLXh5eg=="));
}

#[test]
fn kinds_decide_the_class_of_added_and_removed_objects() {
    let ns = obj("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n");
    let role = obj(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules: []\n",
    );
    let crd = obj(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: xs.example.com\n",
    );
    let svc = obj("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n");
    let d = run(&[], &[ns.clone(), role.clone(), crd.clone(), svc.clone()]);
    assert_eq!(
        d.classes,
        classes(&[
            ChangeClass::Namespace,
            ChangeClass::Rbac,
            ChangeClass::Crd,
            ChangeClass::NewResource
        ])
    );
    let d = run(&[svc], &[]);
    assert_eq!(d.classes, classes(&[ChangeClass::Deletion]));
    let mut role2 = role.clone();
    role2["rules"] =
        serde_json::json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]);
    assert_eq!(
        run(&[role], &[role2]).classes,
        classes(&[ChangeClass::Rbac])
    );
}

#[test]
fn configmap_data_is_config_and_labels_are_other() {
    let cm = obj("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: '1'\n");
    let mut data = cm.clone();
    data["data"]["a"] = "2".into();
    assert_eq!(
        run(std::slice::from_ref(&cm), &[data]).classes,
        classes(&[ChangeClass::Config])
    );
    let mut labels = cm.clone();
    labels["metadata"]["labels"] = serde_json::json!({"team": "x"});
    assert_eq!(
        run(&[cm], &[labels]).classes,
        classes(&[ChangeClass::Other])
    );
}

#[test]
fn custom_resources_match_lists_by_name() {
    let cr = |items: &str| {
        obj(&format!(
            "apiVersion: example.com/v1\nkind: Pipeline\nmetadata:\n  name: p\nspec:\n  steps:\n{items}"
        ))
    };
    let d = run(
        &[cr(
            "  - name: build\n    run: make\n  - name: test\n    run: make test\n",
        )],
        &[cr(
            "  - name: test\n    run: make test\n  - name: build\n    run: make all\n",
        )],
    );
    assert_eq!(paths(&d), ["Changed spec.steps[name=build].run"]);
}

#[test]
fn duplicate_identities_do_not_panic() {
    let a = deployment(TWO);
    let d = run(&[a.clone(), a.clone()], std::slice::from_ref(&a));
    assert_eq!(d.counts.removed, 1);
}
