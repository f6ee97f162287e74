//! The vendored subset of GitHub's OpenAPI description: every operation Warden relies on is in
//! it, concrete paths find their operation, and its schemas tell documented bodies from wrong ones.

#[path = "support/openapi.rs"]
mod openapi;

use openapi::Spec;
use serde_json::json;

#[test]
fn the_subset_names_its_source_and_every_operation_warden_uses() {
    let spec = Spec::load();
    assert!(spec.source.contains("@octokit/openapi"), "{}", spec.source);
    for op in [
        "POST /app/installations/{installation_id}/access_tokens",
        "GET /repos/{owner}/{repo}/tarball/{ref}",
        "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
        "GET /app/hook/deliveries",
        "POST /app/hook/deliveries/{delivery_id}/attempts",
        "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    ] {
        assert!(spec.operations().iter().any(|o| o == op), "{op} missing");
    }
}

#[test]
fn concrete_paths_find_their_operation() {
    let spec = Spec::load();
    let t = |m: &str, p: &str| spec.find(m, p).map(|o| o.template.clone());
    assert_eq!(
        t("PATCH", "/repos/acme/gitops/check-runs/42").as_deref(),
        Some("/repos/{owner}/{repo}/check-runs/{check_run_id}")
    );
    // A literal segment beats a parameter: `hook/deliveries` is not an installation.
    assert_eq!(
        t("GET", "/app/hook/deliveries?per_page=100").as_deref(),
        Some("/app/hook/deliveries")
    );
    assert_eq!(
        t("GET", "/repos/acme/gitops/contents/.github/warden.yml").as_deref(),
        Some("/repos/{owner}/{repo}/contents/{path}")
    );
    assert_eq!(
        t("GET", "/repos/acme/gitops/compare/abc...def").as_deref(),
        Some("/repos/{owner}/{repo}/compare/{basehead}")
    );
    assert_eq!(
        t("GET", "/repos/acme/gitops/commits/main/check-runs").as_deref(),
        Some("/repos/{owner}/{repo}/commits/{ref}/check-runs")
    );
    assert_eq!(t("DELETE", "/repos/acme/gitops"), None);
    assert_eq!(t("GET", "/repos/acme/gitops/nothing/here"), None);
}

#[test]
fn request_schemas_tell_documented_bodies_from_wrong_ones() {
    let spec = Spec::load();
    let update = spec
        .by_template("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
        .expect("op");
    let annotation = json!({"path": "a.yaml", "start_line": 1, "end_line": 1,
                            "annotation_level": "failure", "message": "m"});
    let ok = json!({"status": "completed", "conclusion": "success",
                    "completed_at": "2026-12-06T19:00:00Z",
                    "output": {"title": "t", "summary": "s", "annotations": [annotation]}});
    assert_eq!(update.check_request(Some(&ok)), Vec::<String>::new());
    // GitHub takes at most 50 annotations per request.
    let many = json!({"output": {"title": "t", "summary": "s",
                      "annotations": vec![annotation.clone(); 51]}});
    assert!(!update.check_request(Some(&many)).is_empty());
    let bad_level = json!({"output": {"title": "t", "summary": "s",
        "annotations": [{"path": "a", "start_line": 1, "end_line": 1,
                         "annotation_level": "error", "message": "m"}]}});
    assert!(!update.check_request(Some(&bad_level)).is_empty());
    let bad_time = json!({"completed_at": "yesterday"});
    assert!(!update.check_request(Some(&bad_time)).is_empty());
    let comment = spec
        .by_template(
            "POST",
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        )
        .expect("op");
    assert!(
        !comment.check_request(None).is_empty(),
        "the body is required"
    );
    assert!(
        !comment
            .check_request(Some(&json!({"text": "x"})))
            .is_empty()
    );
}

#[test]
fn response_schemas_require_the_documented_fields() {
    let spec = Spec::load();
    let token = spec
        .by_template("POST", "/app/installations/{installation_id}/access_tokens")
        .expect("op");
    let ok = json!({"token": "ghs_x", "expires_at": "2026-12-06T20:00:00Z"});
    assert_eq!(token.check_response(201, Some(&ok)), Vec::<String>::new());
    assert!(
        !token
            .check_response(201, Some(&json!({"token": "ghs_x"})))
            .is_empty()
    );
    assert!(
        !token.check_response(200, Some(&ok)).is_empty(),
        "201 is the documented status"
    );
    let attempts = spec
        .by_template("POST", "/app/hook/deliveries/{delivery_id}/attempts")
        .expect("op");
    assert_eq!(
        attempts.check_response(202, Some(&json!({}))),
        Vec::<String>::new()
    );
}
