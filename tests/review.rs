//! A pull request's review as the App posts it: conclusion, annotations and comment, with the
//! base branch's config in force.

mod common;

use common::{apply_case, base_files, case, snapshot};
use warden::review::{Conclusion, ReviewInput, review};

fn run(base: &warden::repo::Snapshot, head: &warden::repo::Snapshot) -> warden::review::Review {
    review(&ReviewInput {
        base,
        head,
        org_config: None,
        repo_name: "acme/shop-config",
        base_label: "1111111111111111111111111111111111111111",
        head_label: "2222222222222222222222222222222222222222",
        threads: 1,
        push: None,
        holds: &[],
    })
}

#[test]
fn an_image_bump_succeeds_with_its_diff() {
    let (base, head) = case("image-bump-staging");
    let r = run(&base, &head);
    assert_eq!(r.conclusion, Conclusion::Success);
    assert!(r.diff.only_image_bumps());
    assert!(r.output.text.contains("ghcr.io/example/shop:1.5.1"));
    assert!(
        r.comment
            .starts_with(warden::report::markdown::STICKY_MARKER)
    );
    assert!(!r.output.text.contains("Left out"), "everything fits");
}

#[test]
fn a_plaintext_secret_fails_with_an_annotation_on_its_line() {
    let mut files = base_files();
    let base = snapshot("base", files.clone());
    files.insert(
        "overlays/staging/token.yaml".into(),
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token\nstringData:\n  token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n".to_vec(),
    );
    let k = String::from_utf8(files["overlays/staging/kustomization.yaml"].clone()).expect("UTF-8");
    files.insert(
        "overlays/staging/kustomization.yaml".into(),
        k.replace("- ../../base\n", "- ../../base\n- token.yaml\n")
            .into_bytes(),
    );
    let r = run(&base, &snapshot("head", files));
    assert_eq!(r.conclusion, Conclusion::Failure);
    let a = r
        .annotations
        .iter()
        .find(|a| a.path == "overlays/staging/token.yaml")
        .expect("an annotation on the new file");
    assert_eq!(a.start_line, 6, "{a:?}");
    assert_eq!(
        serde_json::to_value(a.annotation_level).expect("level"),
        "failure"
    );
    for out in [&r.output.summary, &r.output.text, &r.comment] {
        assert!(
            !out.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "the token leaked"
        );
    }
}

#[test]
fn a_pull_request_cannot_loosen_the_rules_that_gate_it() {
    let mut files = base_files();
    let base = snapshot("base", files.clone());
    apply_case(&mut files, "image-bump-staging");
    // The head turns off a rule the base enforces, and breaks the config on the way.
    let cfg = String::from_utf8(files[".github/warden.yml"].clone()).expect("UTF-8");
    let loosened = cfg.replace(
        "rules:\n",
        "rules:\n  security-privileged: off\n  not-a-rule: off\n",
    );
    files.insert(".github/warden.yml".into(), loosened.into_bytes());
    // …and introduces what the rule catches.
    let d = String::from_utf8(files["base/deployment.yaml"].clone()).expect("UTF-8");
    files.insert(
        "base/deployment.yaml".into(),
        d.replace(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: false\n          privileged: true",
        )
        .into_bytes(),
    );
    let r = run(&base, &snapshot("head", files));
    let rules: Vec<&str> = r.check.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"config-changed"), "{rules:?}");
    assert!(
        rules.contains(&"config-invalid"),
        "the head's config error is reported: {rules:?}"
    );
    assert!(
        rules.contains(&"security-privileged"),
        "the base's rules still apply: {rules:?}"
    );
    assert_eq!(r.conclusion, Conclusion::Failure);
}

#[test]
fn a_change_outside_every_target_is_neutral() {
    let mut files = base_files();
    let base = snapshot("base", files.clone());
    files.insert("README.md".into(), b"# shop config\n".to_vec());
    let r = run(&base, &snapshot("head", files));
    assert_eq!(r.conclusion, Conclusion::Neutral);
    assert!(r.annotations.is_empty());
}
