//! deploy/agent, the Kustomize manifests for `warden-agent`, pass `warden check` with no error
//! and no warning in every mode, and grant each mode only what it uses.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use warden::checks::run::{CheckOptions, check, load_config};
use warden::kustomize::{self, BuildOptions};
use warden::repo::Snapshot;

fn agent_repo() -> Snapshot {
    let mut files = BTreeMap::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/agent");
    common::read_tree(&dir, "", &mut files);
    // The Secret with the public keys is made by the operator (kubectl create secret).
    files.insert(
        ".github/warden.yml".into(),
        b"version: 1\nexternal:\n  - { kind: Secret, name: warden-agent, namespace: warden-agent }\n"
            .to_vec(),
    );
    Snapshot::from_files(Path::new("/repo"), "deploy/agent", files)
}

#[test]
fn every_mode_passes_warden_check_without_a_warning() {
    let snap = agent_repo();
    let (config, problems) = load_config(&snap, None);
    assert!(problems.is_empty(), "{problems:?}");
    let report = check(
        &snap,
        &config,
        Vec::new(),
        &CheckOptions {
            environment: None,
            changed: None,
            repo_name: "warden/deploy".into(),
            threads: 1,
        },
    );
    let dirs: Vec<&str> = report
        .targets
        .iter()
        .map(|t| t.target.dir.as_str())
        .collect();
    assert_eq!(
        dirs,
        ["modes/apply", "modes/argocd", "modes/flux", "modes/print"]
    );
    assert!(report.targets.iter().all(|t| t.error.is_none()));
    let loud: Vec<String> = report
        .findings
        .iter()
        .filter(|f| !f.suppressed && f.severity != warden::checks::Severity::Info)
        .map(|f| format!("{} {:?} {}", f.rule, f.target, f.message))
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

fn render(mode: &str) -> Vec<serde_json::Value> {
    let snap = agent_repo();
    let r = kustomize::build(
        snap.fs(),
        &snap.path(&format!("modes/{mode}")),
        &BuildOptions::default(),
    )
    .unwrap();
    r.resources
        .iter()
        .map(|o| serde_json::Value::Object(o.obj.clone()))
        .collect()
}

#[test]
fn each_mode_gets_only_the_access_it_uses() {
    let kinds = |objs: &[serde_json::Value]| -> Vec<String> {
        objs.iter()
            .map(|o| o["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let print = render("print");
    assert!(!kinds(&print).iter().any(|k| k.contains("Role")));
    let pod_spec = |objs: &[serde_json::Value]| {
        objs.iter().find(|o| o["kind"] == "Deployment").unwrap()["spec"]["template"]["spec"].clone()
    };
    assert_eq!(pod_spec(&print)["automountServiceAccountToken"], false);
    for (mode, ns, resource) in [
        ("argocd", "argocd", "applications"),
        ("flux", "flux-system", "gitrepositories"),
    ] {
        let objs = render(mode);
        assert_eq!(pod_spec(&objs)["automountServiceAccountToken"], true);
        let role = objs.iter().find(|o| o["kind"] == "Role").unwrap();
        assert_eq!(role["metadata"]["namespace"], ns, "{mode}");
        let rules = role["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["resources"], serde_json::json!([resource]));
        assert_eq!(rules[0]["verbs"], serde_json::json!(["get", "patch"]));
        assert!(
            !kinds(&objs).iter().any(|k| k.starts_with("Cluster")),
            "{mode}"
        );
    }
    let apply = render("apply");
    let role = apply.iter().find(|o| o["kind"] == "ClusterRole").unwrap();
    let text = role.to_string();
    assert!(!text.contains("\"*\""), "no wildcards: {text}");
    // The ApplySet parent is a ConfigMap: the agent reads, creates and patches it, and lists
    // and deletes members to prune them.
    let core = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["apiGroups"] == serde_json::json!([""]))
        .unwrap();
    assert!(
        core["resources"]
            .as_array()
            .unwrap()
            .contains(&"configmaps".into())
    );
    for verb in ["get", "list", "create", "patch", "delete"] {
        assert!(
            core["verbs"].as_array().unwrap().contains(&verb.into()),
            "{verb}"
        );
    }
    // Every mode runs restricted: non-root, no privilege escalation, read-only root.
    for mode in ["print", "apply", "argocd", "flux"] {
        let spec = pod_spec(&render(mode));
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        let c = &spec["containers"][0]["securityContext"];
        assert_eq!(c["allowPrivilegeEscalation"], false);
        assert_eq!(c["readOnlyRootFilesystem"], true);
        assert_eq!(c["capabilities"]["drop"], serde_json::json!(["ALL"]));
    }
}
