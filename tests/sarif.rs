//! `warden check --format sarif` is valid SARIF 2.1.0, checked against the SARIF JSON schema
//! that Microsoft's SARIF tooling publishes (npm package `@microsoft/sarif-matcher-utils`,
//! fetched by `scripts/fetch-test-references.sh`, which `.ci/run` runs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-references/sarif-2.1.0-rtm.5.json")
}

fn sarif_of(repo: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "check",
            "--repo",
            repo.to_str().unwrap(),
            "--format",
            "sarif",
        ])
        .output()
        .unwrap();
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sarif_output_validates_against_the_sarif_schema() {
    let path = schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "the SARIF schema is missing at {}: run scripts/fetch-test-references.sh",
            path.display()
        )
    });
    // The published 2.1.0-rtm.5 schema has an unbalanced `]` in its language-tag patterns (an
    // erratum, in fields Warden never emits); a validator that checks the schema itself rejects
    // it, so put the pattern the spec describes (`en` or `en-US`) in its place.
    let erratum = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(text.contains(erratum), "the known erratum");
    let text = text.replace(erratum, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");

    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let files = [
        (
            "app/kustomization.yaml",
            "resources:\n- deploy.yaml\n- secret.yaml\n",
        ),
        (
            "app/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    warden.dev/ignore: probe-liveness-missing\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        bogus: 1\n",
        ),
        (
            "app/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n",
        ),
        (
            "policy/main.rego",
            "package main\n\ndeny contains msg if {\n  input.kind == \"Deployment\"\n  msg := \"no deployments on fridays\"\n}\n",
        ),
    ];
    for (p, t) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    }
    let sarif = sarif_of(root);
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{sarif:#}");

    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    let rules: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    for want in [
        "image-tag-mutable",
        "schema",
        "secret-plaintext",
        "policy/main/deny",
    ] {
        assert!(rules.contains(&want), "{want} missing from {rules:?}");
    }
    // Every result's ruleIndex points at its rule descriptor.
    let descriptors = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(descriptors[i]["id"], r["ruleId"]);
    }
    // Suppressed findings are kept, marked as suppressed.
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "probe-liveness-missing");
    // The secret's value never appears.
    assert!(!sarif.to_string().contains("hunter2"));
    // Paths are repo-relative.
    let uri = results
        .iter()
        .find(|r| r["ruleId"] == "image-tag-mutable")
        .unwrap()["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .clone();
    assert_eq!(uri, "app/deploy.yaml");
}
