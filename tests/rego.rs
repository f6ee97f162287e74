//! Rego policies: conftest semantics, data.warden, v0/v1 syntax, exceptions, errors, limits.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use warden::checks::rego::{Limits, POLICY_ERROR, Policies, PolicyData};
use warden::checks::{Finding, Severity, path_to_string};
use warden::manifest::Object;

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect()
}

fn compile(list: &[(&str, &str)]) -> Policies {
    match Policies::compile(&files(list), &[]) {
        Ok(p) => p,
        Err(e) => panic!("policies do not compile: {e:#?}"),
    }
}

fn compile_errors(list: &[(&str, &str)]) -> Vec<Finding> {
    match Policies::compile(&files(list), &[]) {
        Ok(p) => panic!("expected compile errors, got {p:?}"),
        Err(e) => e,
    }
}

fn obj(v: serde_json::Value) -> Object {
    match v {
        serde_json::Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn eval(p: &Policies, o: serde_json::Value) -> Vec<Finding> {
    eval_with(p, o, &PolicyData::default())
}

fn eval_with(p: &Policies, o: serde_json::Value, data: &PolicyData) -> Vec<Finding> {
    let mut out = Vec::new();
    p.evaluate(7, &obj(o), data, &mut out);
    out
}

fn rules(out: &[Finding]) -> Vec<(&str, Severity, &str)> {
    let mut v: Vec<_> = out
        .iter()
        .map(|f| (f.rule.as_str(), f.severity, f.message.as_str()))
        .collect();
    v.sort();
    v
}

fn deployment() -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "docker.io/nginx:1.27"}
        ]}}}
    })
}

const V1_STRINGS: &str = r#"
package main

deny contains msg if {
    input.kind == "Deployment"
    not input.metadata.labels.team
    msg := sprintf("%s has no team label", [input.metadata.name])
}

warn contains "always warn" if input.kind == "Deployment"

violation contains "kind is ConfigMap" if input.kind == "ConfigMap"
"#;

#[test]
fn deny_warn_violation_strings() {
    let p = compile(&[("policy/main.rego", V1_STRINGS)]);
    let out = eval(&p, deployment());
    assert_eq!(
        rules(&out),
        vec![
            ("policy/main/deny", Severity::Error, "web has no team label"),
            ("policy/main/warn", Severity::Warning, "always warn"),
        ]
    );
    assert!(out.iter().all(|f| f.object == Some(7) && f.path.is_empty()));
    assert!(
        out.iter().all(|f| f.file.is_none()),
        "located from the object"
    );

    let out = eval(&p, json!({"kind": "ConfigMap", "metadata": {"name": "c"}}));
    assert_eq!(
        rules(&out),
        vec![(
            "policy/main/violation",
            Severity::Error,
            "kind is ConfigMap"
        )]
    );

    let mut labelled = deployment();
    labelled["metadata"]["labels"] = json!({"team": "shop"});
    let out = eval(&p, labelled);
    assert_eq!(
        rules(&out),
        vec![("policy/main/warn", Severity::Warning, "always warn")]
    );
}

#[test]
fn structured_results_with_rule_id_and_path() {
    let p = compile(&[(
        "policy/images.rego",
        r#"
package main

deny contains {"msg": msg, "path": path, "severity": "high"} if {
    some i, c in input.spec.template.spec.containers
    not startswith(c.image, "ghcr.io/")
    msg := sprintf("image %s is not from ghcr.io", [c.image])
    path := sprintf("spec.template.spec.containers[%d].image", [i])
}

warn_ids contains {"msg": "has an id", "id": "ACME-001"} if true

deny_bad_id contains {"msg": "bad id kept default", "rule": "has space"} if true

deny_nomsg contains {"message": "wrong field"} if true
"#,
    )]);
    let out = eval(&p, deployment());
    let by_rule = |r: &str| out.iter().filter(|f| f.rule == r).collect::<Vec<_>>();

    let deny = by_rule("policy/main/deny");
    assert_eq!(deny.len(), 1);
    assert_eq!(
        deny[0].message,
        "image docker.io/nginx:1.27 is not from ghcr.io"
    );
    assert_eq!(
        path_to_string(&deny[0].path),
        "spec.template.spec.containers[0].image"
    );

    let id = by_rule("policy/main/ACME-001");
    assert_eq!(id.len(), 1);
    assert_eq!(id[0].severity, Severity::Warning);

    let bad = by_rule("policy/main/deny_bad_id");
    assert_eq!(bad.len(), 1, "an unusable rule id falls back: {out:#?}");

    let err = by_rule(POLICY_ERROR);
    assert_eq!(err.len(), 1, "{out:#?}");
    assert!(err[0].message.contains("msg"), "{}", err[0].message);
    assert_eq!(err[0].file.as_deref(), Some("policy/images.rego"));
    assert_eq!(err[0].object, Some(7));
}

#[test]
fn prefixed_rules_and_name_rules() {
    let p = compile(&[(
        "policy/p.rego",
        r#"
package main

deny_latest contains "latest tag" if endswith(input.image, ":latest")
violation_x contains "v" if true
warn_two_parts contains "w" if true
denylist contains "not a conftest rule" if true
allow contains "not a conftest rule" if true
"#,
    )]);
    let out = eval(&p, json!({"image": "nginx:latest"}));
    assert_eq!(
        rules(&out),
        vec![
            ("policy/main/deny_latest", Severity::Error, "latest tag"),
            ("policy/main/violation_x", Severity::Error, "v"),
            ("policy/main/warn_two_parts", Severity::Warning, "w"),
        ]
    );
    let ids: Vec<_> = p.rules().into_iter().map(|(r, _)| r).collect();
    assert_eq!(
        ids,
        vec![
            "policy/main/deny_latest",
            "policy/main/violation_x",
            "policy/main/warn_two_parts"
        ]
    );
}

#[test]
fn data_warden_is_exposed() {
    let p = compile(&[(
        "policy/env.rego",
        r#"
package main

deny contains msg if {
    data.warden.environment == "production"
    input.spec.replicas < 2
    msg := sprintf("%s in %s (%s) needs 2 replicas", [input.metadata.name, data.warden.target, data.warden.repo])
}
"#,
    )]);
    let o = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}});
    let prod = PolicyData {
        environment: "production".into(),
        target: "overlays/prod".into(),
        repo: "acme/config".into(),
    };
    let staging = PolicyData {
        environment: "staging".into(),
        ..prod.clone()
    };
    assert_eq!(
        rules(&eval_with(&p, o.clone(), &prod)),
        vec![(
            "policy/main/deny",
            Severity::Error,
            "web in overlays/prod (acme/config) needs 2 replicas"
        )]
    );
    assert!(eval_with(&p, o.clone(), &staging).is_empty());
    // Switching back re-prepares with the right data.
    assert_eq!(eval_with(&p, o.clone(), &prod).len(), 1);

    // The explicit evaluator gives the same answers.
    let mut ev = p.evaluator(&prod).unwrap();
    let mut out = Vec::new();
    ev.evaluate(3, &obj(o), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].object, Some(3));
}

#[test]
fn package_warden_is_reserved() {
    let e = compile_errors(&[("policy/w.rego", "package warden\n\nx := 1\n")]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].rule, POLICY_ERROR);
    assert_eq!(e[0].file.as_deref(), Some("policy/w.rego"));
    assert_eq!(e[0].line, 1);
}

const NS_POLICIES: &[(&str, &str)] = &[
    (
        "policy/main.rego",
        "package main\n\ndeny contains \"main\" if true\n",
    ),
    (
        "policy/k8s.rego",
        "package k8s.security\n\ndeny contains \"k8s\" if true\n",
    ),
    (
        "policy/other.rego",
        "package other\n\nwarn contains \"other\" if true\n",
    ),
];

#[test]
fn namespaces_select_packages() {
    let only_main = Policies::compile(&files(NS_POLICIES), &[]).unwrap();
    assert_eq!(
        rules(&eval(&only_main, json!({}))),
        vec![("policy/main/deny", Severity::Error, "main")]
    );

    let chosen = Policies::compile(
        &files(NS_POLICIES),
        &["k8s.security".into(), "other".into()],
    )
    .unwrap();
    assert_eq!(
        rules(&eval(&chosen, json!({}))),
        vec![
            ("policy/k8s.security/deny", Severity::Error, "k8s"),
            ("policy/other/warn", Severity::Warning, "other"),
        ]
    );

    let all = Policies::compile(&files(NS_POLICIES), &["*".into()]).unwrap();
    assert_eq!(eval(&all, json!({})).len(), 3);
}

#[test]
fn rego_v0_files_are_accepted() {
    let p = compile(&[
        (
            "policy/old.rego",
            r#"
package main

deny[msg] {
    input.kind == "Deployment"
    msg := "v0 deny"
}

violation[{"msg": msg}] {
    input.kind == "Deployment"
    msg := "v0 structured violation"
}

warn[msg] {
    some i
    c := input.spec.template.spec.containers[i]
    msg := sprintf("v0 warn %s", [c.name])
}
"#,
        ),
        // future.keywords in a v0 file, mixed with a v1 file in the same package.
        (
            "policy/future.rego",
            r#"
package main

import future.keywords.contains
import future.keywords.if

deny contains "future keywords" if input.kind == "Deployment"
"#,
        ),
    ]);
    let out = eval(&p, deployment());
    assert_eq!(
        rules(&out),
        vec![
            ("policy/main/deny", Severity::Error, "future keywords"),
            ("policy/main/deny", Severity::Error, "v0 deny"),
            (
                "policy/main/violation",
                Severity::Error,
                "v0 structured violation"
            ),
            ("policy/main/warn", Severity::Warning, "v0 warn app"),
        ]
    );
}

#[test]
fn exceptions_drop_named_rules() {
    let p = compile(&[(
        "policy/p.rego",
        r#"
package main

deny_root contains "runs as root" if true
deny contains "plain deny" if true
warn_labels contains "labels" if true

exception contains rules if {
    input.metadata.labels.legacy == "true"
    rules := ["root", "labels"]
}

exception contains ["deny"] if input.metadata.labels.all == "true"
"#,
    )]);
    assert_eq!(
        rules(&eval(&p, json!({"metadata": {}}))),
        vec![
            ("policy/main/deny", Severity::Error, "plain deny"),
            ("policy/main/deny_root", Severity::Error, "runs as root"),
            ("policy/main/warn_labels", Severity::Warning, "labels"),
        ]
    );
    assert_eq!(
        rules(&eval(
            &p,
            json!({"metadata": {"labels": {"legacy": "true"}}})
        )),
        vec![("policy/main/deny", Severity::Error, "plain deny")]
    );
    assert_eq!(
        rules(&eval(&p, json!({"metadata": {"labels": {"all": "true"}}}))),
        vec![
            ("policy/main/deny_root", Severity::Error, "runs as root"),
            ("policy/main/warn_labels", Severity::Warning, "labels"),
        ]
    );
}

#[test]
fn parse_errors_name_file_and_line() {
    let e = compile_errors(&[
        (
            "policy/good.rego",
            "package main\n\ndeny contains \"x\" if true\n",
        ),
        (
            "policy/bad.rego",
            "package main\n\nimport rego.v1\n\ndeny contains msg if {\n    msg := \"unterminated\n}\n",
        ),
        (
            "policy/bad_v0.rego",
            "package main\n\ndeny[msg] {\n    input.kind == \"Pod\"\n    msg := [1, 2\n}\n",
        ),
    ]);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e.iter()
            .all(|f| f.rule == POLICY_ERROR && f.severity == Severity::Error)
    );
    let bad = e
        .iter()
        .find(|f| f.file.as_deref() == Some("policy/bad.rego"))
        .unwrap();
    assert_eq!(bad.line, 6, "{bad:?}");
    assert!(
        bad.message.starts_with("policy does not compile: "),
        "{}",
        bad.message
    );
    assert!(
        !bad.message.contains("-->"),
        "no source excerpt: {}",
        bad.message
    );
    let bad_v0 = e
        .iter()
        .find(|f| f.file.as_deref() == Some("policy/bad_v0.rego"))
        .unwrap();
    // The v0 parse gets further (line 6) than the v1 parse (line 3), so its error is kept.
    assert_eq!(bad_v0.line, 6, "{bad_v0:?}");
}

#[test]
fn compile_errors_after_parsing_name_file_and_line() {
    // Parses, but `x` is unsafe: found when the program is prepared.
    let e = compile_errors(&[
        (
            "policy/ok.rego",
            "package main\n\ndeny contains \"x\" if true\n",
        ),
        (
            "policy/unsafe.rego",
            "package main\n\n\n\ndeny contains msg if {\n    msg := x\n}\n",
        ),
    ]);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].file.as_deref(), Some("policy/unsafe.rego"));
    assert_eq!(e[0].line, 6);
}

#[test]
fn unit_test_files_are_skipped() {
    let p = compile(&[
        (
            "policy/main.rego",
            "package main\n\ndeny contains \"real\" if true\n",
        ),
        (
            "policy/main_test.rego",
            "package main\n\ndeny contains \"from test file\" if true\n\ntest_x if { count(deny) > 0 }\n",
        ),
        // Even a broken test file does not matter.
        ("policy/broken_test.rego", "package main\n\ndeny[ {\n"),
    ]);
    assert_eq!(
        rules(&eval(&p, json!({}))),
        vec![("policy/main/deny", Severity::Error, "real")]
    );
}

#[test]
fn runtime_errors_are_one_finding_and_others_still_run() {
    let p = compile(&[
        (
            "policy/conflict.rego",
            "package main\n\nname := input.a\nname := input.b\n\ndeny contains name if true\n",
        ),
        (
            "policy/fine.rego",
            "package main\n\nwarn contains \"still runs\" if true\n",
        ),
    ]);
    let out = eval(&p, json!({"a": "x", "b": "y"}));
    let errs: Vec<_> = out.iter().filter(|f| f.rule == POLICY_ERROR).collect();
    assert_eq!(errs.len(), 1, "{out:#?}");
    assert_eq!(errs[0].file.as_deref(), Some("policy/conflict.rego"));
    assert_eq!(errs[0].object, Some(7));
    assert!(errs[0].line > 0, "{:?}", errs[0]);
    assert!(
        out.iter()
            .any(|f| f.rule == "policy/main/warn" && f.message == "still runs")
    );
    // Same values: no conflict, no error.
    let out = eval(&p, json!({"a": "x", "b": "x"}));
    assert!(out.iter().all(|f| f.rule != POLICY_ERROR), "{out:#?}");
    assert!(
        out.iter()
            .any(|f| f.rule == "policy/main/deny" && f.message == "x")
    );
}

#[test]
fn failing_builtins_are_undefined_like_opa() {
    let p = compile(&[(
        "policy/n.rego",
        "package main\n\ndeny contains \"too many\" if to_number(input.replicas) > 3\n",
    )]);
    assert_eq!(eval(&p, json!({"replicas": "5"})).len(), 1);
    let out = eval(&p, json!({"replicas": "five"}));
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn http_send_is_not_available() {
    let e = compile_errors(&[(
        "policy/net.rego",
        "package main\n\ndeny contains \"x\" if {\n    r := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1:9/\"})\n    r.status_code == 200\n}\n",
    )]);
    assert_eq!(e[0].file.as_deref(), Some("policy/net.rego"));
    assert_eq!(e[0].line, 4, "{e:#?}");
}

#[test]
fn expensive_policies_are_stopped() {
    let slow = r#"
package main

deny contains "never finishes in time" if {
    n := numbers.range(1, 3000)
    count([x | some a in n; some b in n; x := a * b; x < 0]) == 0
}
"#;
    let fast = "package main\n\nwarn contains \"fast\" if true\n";
    let limits = Limits {
        time_per_rule: Duration::from_millis(50),
        ..Limits::default()
    };
    let p = Policies::compile_with_limits(
        &files(&[("policy/slow.rego", slow), ("policy/fast.rego", fast)]),
        &[],
        limits,
    )
    .unwrap();
    let start = Instant::now();
    let out = eval(&p, json!({}));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let errs: Vec<_> = out.iter().filter(|f| f.rule == POLICY_ERROR).collect();
    assert_eq!(errs.len(), 1, "{out:#?}");
    assert_eq!(errs[0].file.as_deref(), Some("policy/slow.rego"));
    assert!(
        errs[0].message.contains("limit of 50 ms"),
        "{}",
        errs[0].message
    );
    assert!(out.iter().any(|f| f.rule == "policy/main/warn"));
    assert!(!out.iter().any(|f| f.rule == "policy/main/deny"));
}

#[test]
fn huge_ranges_are_refused_not_allocated() {
    let p = compile(&[
        (
            "policy/huge.rego",
            "package main\n\ndeny contains \"huge\" if count(numbers.range(1, input.n)) > 0\n",
        ),
        (
            "policy/fine.rego",
            "package main\n\nwarn contains \"fine\" if true\n",
        ),
    ]);
    let out = eval(&p, json!({"n": 1_000_000_000_000i64}));
    let errs: Vec<_> = out.iter().filter(|f| f.rule == POLICY_ERROR).collect();
    assert_eq!(errs.len(), 1, "{out:#?}");
    assert!(errs[0].message.contains("at most"), "{}", errs[0].message);
    assert_eq!(errs[0].file.as_deref(), Some("policy/huge.rego"));
    assert!(out.iter().any(|f| f.rule == "policy/main/warn"));
    // Ordinary ranges still work through the replacement.
    assert_eq!(
        rules(&eval(&p, json!({"n": 3}))),
        vec![
            ("policy/main/deny", Severity::Error, "huge"),
            ("policy/main/warn", Severity::Warning, "fine"),
        ]
    );
}

#[test]
fn many_results_are_capped() {
    let p = Policies::compile_with_limits(
        &files(&[(
            "policy/many.rego",
            "package main\n\ndeny contains sprintf(\"n%d\", [i]) if some i in numbers.range(1, 50)\n",
        )]),
        &[],
        Limits {
            max_results_per_rule: 10,
            ..Limits::default()
        },
    )
    .unwrap();
    let out = eval(&p, json!({}));
    assert_eq!(out.len(), 11);
    assert!(
        out[10].message.starts_with("40 more results"),
        "{}",
        out[10].message
    );
}

fn read_policy_dir(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rego") {
                let rel = path
                    .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn fixture_policies() -> Policies {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/policy");
    Policies::compile(&read_policy_dir(&dir), &[]).unwrap()
}

#[test]
fn fixture_policy_set() {
    let p = fixture_policies();
    let prod = PolicyData {
        environment: "production".into(),
        target: "overlays/production".into(),
        repo: "acme/config".into(),
    };
    let mut d = deployment();
    d["metadata"]["namespace"] = json!("default");
    let out = eval_with(&p, d.clone(), &prod);
    let got: Vec<_> = out.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(
        got_sorted,
        vec![
            "policy/main/deny",
            "policy/main/deny_registry",
            "policy/main/no-default-namespace",
            "policy/main/warn_labels",
        ],
        "{out:#?}"
    );
    let reg = out
        .iter()
        .find(|f| f.rule == "policy/main/deny_registry")
        .unwrap();
    assert_eq!(
        path_to_string(&reg.path),
        "spec.template.spec.containers[0].image"
    );
    // Not production: no registry rule. The unit-test file's deny never fires.
    let out = eval_with(&p, d.clone(), &PolicyData::default());
    assert!(out.iter().all(|f| f.rule != "policy/main/deny_registry"));
    assert!(out.iter().all(|f| !f.message.contains("unit tests")));
    // Exception label drops the registry rule in production too.
    d["metadata"]["labels"] = json!({"acme.dev/legacy-registry": "true", "team": "shop"});
    let out = eval_with(&p, d, &prod);
    assert!(
        out.iter().all(|f| f.rule != "policy/main/deny_registry"),
        "{out:#?}"
    );
    assert!(out.iter().all(|f| f.rule != "policy/main/deny"));
}

/// Not a timed assertion: prints the cost per object of the fixture set.
#[test]
fn evaluation_cost_per_object() {
    let p = fixture_policies();
    let data = PolicyData {
        environment: "production".into(),
        ..PolicyData::default()
    };
    let objects: Vec<Object> = (0..300)
        .map(|i| {
            let mut d = deployment();
            d["metadata"]["name"] = json!(format!("web-{i}"));
            if i % 2 == 0 {
                d["metadata"]["labels"] = json!({"team": "shop", "app.kubernetes.io/name": "web"});
                d["spec"]["template"]["spec"]["containers"][0]["image"] =
                    json!("ghcr.io/acme/web:1.0");
            }
            obj(d)
        })
        .collect();
    let mut out = Vec::new();
    p.evaluate(0, &objects[0], &data, &mut out); // prepare once
    out.clear();
    let start = Instant::now();
    for (i, o) in objects.iter().enumerate() {
        p.evaluate(i, o, &data, &mut out);
    }
    let per = start.elapsed() / objects.len() as u32;
    eprintln!(
        "rego: {} objects, {} findings, {per:?} per object",
        objects.len(),
        out.len()
    );
    assert_eq!(out.len(), 150 * 3);
}

#[test]
fn policies_can_be_shared_across_threads() {
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<Policies>();
}

#[test]
fn overlong_lines_are_policy_errors() {
    let long = format!(
        "package main\n\ndeny contains \"{}\" if true\n",
        "x".repeat(2000)
    );
    let e = compile_errors(&[("policy/long.rego", &long)]);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].rule, POLICY_ERROR);
    assert_eq!(e[0].file.as_deref(), Some("policy/long.rego"));
    assert_eq!(e[0].line, 3);
    assert!(e[0].message.contains("1024"), "{}", e[0].message);
}
