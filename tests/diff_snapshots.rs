//! The rendered diff and its reports on realistic pull requests (fixtures/diff/cases/*, each on
//! top of fixtures/diff/base): exact change classes, then snapshots of the markdown Warden posts
//! and of the terminal diff.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::case;

use warden::checks::run::{CheckOptions, CheckReport, check, load_config};
use warden::diff::run::{DiffOptions, changed_files, diff_snapshots};
use warden::diff::{ChangeClass, DiffReport, Status};
use warden::repo::Snapshot;
use warden::repo::config::DiffMode;
use warden::report::markdown::{self, ReportContext};

fn review(base: &Snapshot, head: &Snapshot) -> (CheckReport, DiffReport) {
    let (config, errors) = load_config(head, None);
    assert!(errors.is_empty(), "{errors:?}");
    let diff = diff_snapshots(base, head, &config, &DiffOptions::default());
    let opts = CheckOptions {
        changed: Some(changed_files(base, head)),
        repo_name: "acme/shop-config".into(),
        threads: 1,
        ..CheckOptions::default()
    };
    (check(head, &config, Vec::new(), &opts), diff)
}

fn context(mode: DiffMode) -> ReportContext<'static> {
    ReportContext {
        base: "main",
        head: Some("feature"),
        diff_mode: mode,
    }
}

/// Per environment: the change classes.
fn classes(d: &DiffReport) -> BTreeMap<String, BTreeSet<ChangeClass>> {
    d.targets
        .iter()
        .map(|t| (t.target.environment.clone(), t.diff.classes.clone()))
        .collect()
}

fn set(c: &[ChangeClass]) -> BTreeSet<ChangeClass> {
    c.iter().copied().collect()
}

/// Checks the classes, then snapshots the comment and the terminal text.
fn snapshot_case(name: &str, expected: &[(&str, &[ChangeClass])]) -> DiffReport {
    let (base, head) = case(name);
    let (checked, diff) = review(&base, &head);
    let want: BTreeMap<String, BTreeSet<ChangeClass>> = expected
        .iter()
        .map(|(env, c)| (env.to_string(), set(c)))
        .collect();
    assert_eq!(classes(&diff), want, "{name}");
    let comment = markdown::comment(&checked, &diff, &context(DiffMode::Full));
    insta::assert_snapshot!(format!("{name}.md"), comment);
    let text = warden::report::diff::text(&diff, false);
    insta::assert_snapshot!(format!("{name}.txt"), text);
    diff
}

use ChangeClass::*;

#[test]
fn image_bump_in_staging() {
    let d = snapshot_case("image-bump-staging", &[("staging", &[ImageBump])]);
    assert!(d.only_image_bumps());
    let images: Vec<(String, String)> = d
        .targets
        .iter()
        .flat_map(|t| t.diff.objects.iter().flat_map(|o| o.images.iter()))
        .map(|i| (i.from.clone(), i.to.clone()))
        .collect();
    assert_eq!(
        images,
        [(
            "ghcr.io/example/shop:1.5.0".to_string(),
            "ghcr.io/example/shop:1.5.1".to_string()
        )]
    );
}

#[test]
fn image_and_scale_is_not_only_an_image_bump() {
    let d = snapshot_case(
        "image-and-scale-production",
        &[("production", &[ImageBump, Scale])],
    );
    assert!(!d.only_image_bumps());
    assert_eq!(d.counts().changed, 1);
}

#[test]
fn configmap_rehash_is_one_change_and_a_cascade() {
    // Staging merges its own LOG_LEVEL over the base's, so its render does not change: the
    // target is affected (it reads the base) but has no diff.
    let d = snapshot_case(
        "configmap-rehash",
        &[("production", &[Config]), ("staging", &[])],
    );
    let staging = d
        .targets
        .iter()
        .find(|t| t.target.environment == "staging")
        .expect("staging");
    assert!(staging.diff.is_empty());
    for t in d
        .targets
        .iter()
        .filter(|t| t.target.environment == "production")
    {
        let cm: Vec<_> = t
            .diff
            .objects
            .iter()
            .filter(|o| o.key.kind == "ConfigMap")
            .collect();
        assert_eq!(cm.len(), 1, "{}", t.target.dir);
        assert_eq!(cm[0].status, Status::Changed);
        assert!(cm[0].renamed_from.is_some());
        assert_eq!(t.diff.cascades.len(), 1);
        assert_eq!(t.diff.cascades[0].dependents.len(), 1);
        assert_eq!(t.diff.cascades[0].dependents[0].kind, "Deployment");
        assert_eq!(t.diff.counts.added + t.diff.counts.removed, 0);
    }
}

#[test]
fn new_namespace() {
    let d = snapshot_case("new-namespace", &[("staging", &[Namespace])]);
    assert_eq!(d.counts().added, 1);
}

#[test]
fn rbac_change() {
    snapshot_case(
        "rbac-change",
        &[("production", &[Rbac]), ("staging", &[Rbac])],
    );
}

#[test]
fn deletion() {
    let d = snapshot_case(
        "deletion",
        &[("production", &[Deletion]), ("staging", &[Deletion])],
    );
    assert_eq!(d.counts().removed, 2);
}

#[test]
fn secret_rotation_shows_keys_never_values() {
    let d = snapshot_case("secret-rotation", &[("production", &[Config])]);
    let secret = d.targets[0]
        .diff
        .objects
        .iter()
        .find(|o| o.key.kind == "Secret")
        .expect("the Secret changed");
    let keys = secret.secret_keys.as_ref().expect("secret keys");
    assert_eq!(keys.added, ["api-key"]);
    assert_eq!(keys.changed, ["password"]);
    assert!(keys.removed.is_empty());

    let (base, head) = case("secret-rotation");
    let (checked, diff) = review(&base, &head);
    let outputs = [
        markdown::comment(&checked, &diff, &context(DiffMode::Full)),
        markdown::check_run(&checked, &diff, &context(DiffMode::Full)).text,
        warden::report::diff::text(&diff, true),
        warden::report::diff::json(&diff).to_string(),
    ];
    for value in [
        "Tr0ub4dor-prod-2026",
        "c0rrect-h0rse-battery-2026",
        "k3y-9f8e7d6c",
    ] {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        for out in &outputs {
            assert!(!out.contains(value), "a Secret value leaked");
            assert!(!out.contains(&b64), "a Secret value leaked (base64)");
        }
    }
}

/// 300 environments deploy one base; a change to the base touches every one of them, far more
/// than a comment can hold.
#[test]
fn a_change_to_300_targets_is_cut_at_object_boundaries() {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let base_k = "resources:\n- deployment.yaml\n";
    files.insert("base/kustomization.yaml".into(), base_k.into());
    let deploy = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n      - name: api\n        image: {image}\n        env:\n        - name: MODE\n          value: fast\n"
        )
    };
    files.insert(
        "base/deployment.yaml".into(),
        deploy("ghcr.io/acme/api:1.0.0").into(),
    );
    for i in 0..300 {
        files.insert(
            format!("clusters/c{i:03}/kustomization.yaml"),
            format!("namespace: team-{i:03}\nresources:\n- ../../base\n").into(),
        );
    }
    let mut head = files.clone();
    head.insert(
        "base/deployment.yaml".into(),
        deploy("ghcr.io/acme/api:1.1.0")
            .replace("value: fast", "value: safe")
            .into(),
    );
    let root = Path::new("/repo");
    let base = Snapshot::from_files(root, "base", files);
    let head = Snapshot::from_files(root, "head", head);
    let (checked, diff) = review(&base, &head);
    assert_eq!(diff.targets.len(), 300);
    assert_eq!(diff.counts().changed, 300);
    assert_eq!(diff.classes(), set(&[ImageBump, Other]));

    let comment = markdown::comment(&checked, &diff, &context(DiffMode::Full));
    assert!(comment.chars().count() <= markdown::COMMENT_LIMIT);
    let run = markdown::check_run(&checked, &diff, &context(DiffMode::Full));
    assert!(run.summary.chars().count() <= markdown::CHECK_RUN_LIMIT);
    assert!(run.text.chars().count() <= markdown::CHECK_RUN_LIMIT);
    for md in [&comment, &run.text] {
        assert_eq!(md.matches("```").count() % 2, 0, "an unclosed code block");
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count()
        );
        assert!(
            md.contains("warden diff --base main --head feature"),
            "says how to see the rest"
        );
    }
    insta::assert_snapshot!("300-targets.md", comment);
}
