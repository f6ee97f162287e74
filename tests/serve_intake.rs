//! `POST /webhook` and the health routes, driven in-process: every published example payload is
//! accepted or ignored as its event and action say; forged, malformed, oversized and duplicate
//! deliveries are answered as GitHub's docs expect.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use secrecy::SecretString;
use tower::ServiceExt;
use warden::app::{AppState, router};
use warden::github::webhook;
use warden::store::Store;

const SECRET: &str = "It's a Secret to Everybody";

fn state() -> Arc<AppState> {
    Arc::new(AppState {
        store: Arc::new(Store::in_memory().expect("store")),
        webhook_secret: SecretString::from(SECRET),
        metrics: Arc::default(),
        wake: Arc::default(),
        reconcile_now: Arc::default(),
    })
}

async fn post(
    state: &Arc<AppState>,
    event: &str,
    delivery: &str,
    body: Vec<u8>,
    signature: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::post("/webhook")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery);
    if let Some(sig) = signature {
        req = req.header("x-hub-signature-256", sig);
    }
    let resp = router(state.clone())
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn signed(body: &[u8]) -> Option<String> {
    Some(webhook::sign(SECRET.as_bytes(), body))
}

/// What Warden does with an example: (event, action) → queued or not.
fn expect_queued(event: &str, raw: &serde_json::Value) -> bool {
    let action = raw["action"].as_str().unwrap_or("");
    match event {
        "pull_request" => {
            matches!(
                action,
                "opened" | "synchronize" | "reopened" | "ready_for_review"
            ) || (action == "edited" && raw["changes"]["base"].is_object())
                // A label may change an auto-merge verdict (`do-not-merge`).
                || matches!(action, "labeled" | "unlabeled")
        }
        // Auto-merge evaluates again when another check, a status or a review finishes.
        "check_suite" if action == "completed" => true,
        "check_run" if action == "completed" => raw["check_run"]["name"] != "warden",
        "status" => {
            raw["state"] != "pending"
                && !raw["context"].as_str().unwrap_or("").starts_with("warden/")
        }
        "pull_request_review" => matches!(action, "submitted" | "dismissed" | "edited"),
        // GitHub's own request for a commit no pull request is open for is left to the push
        // of the deploy branch (and to the pull request once it is opened).
        "check_suite" => {
            action == "rerequested"
                || (action == "requested"
                    && !raw["check_suite"]["pull_requests"]
                        .as_array()
                        .is_none_or(|p| p.is_empty()))
        }
        "check_run" => action == "rerequested",
        // Only the deploy branch (the default branch): other branches are checked as PRs.
        "push" => {
            !raw["deleted"].as_bool().unwrap_or(false)
                && raw["ref"].as_str()
                    == Some(&format!(
                        "refs/heads/{}",
                        raw["repository"]["default_branch"].as_str().unwrap_or("")
                    ))
        }
        "installation" | "installation_repositories" => true,
        _ => false,
    }
}

#[tokio::test]
async fn every_published_payload_is_queued_or_ignored_as_its_event_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/github/webhooks");
    let s = state();
    let mut n = 0;
    let (mut queued, mut ignored) = (0, 0);
    for event in std::fs::read_dir(&dir).expect("webhook examples") {
        let event = event.expect("entry");
        let name = event.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(event.path()).expect("dir") {
            let path = file.expect("entry").path();
            let body = std::fs::read(&path).expect("read");
            let raw: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            n += 1;
            let (status, reply) =
                post(&s, &name, &format!("d-{n}"), body.clone(), signed(&body)).await;
            let want = if name == "ping" {
                (StatusCode::OK, "pong")
            } else if expect_queued(&name, &raw) {
                queued += 1;
                (StatusCode::ACCEPTED, "queued")
            } else {
                ignored += 1;
                (StatusCode::OK, "ignored")
            };
            assert_eq!(
                (status, reply["status"].as_str().unwrap_or("")),
                want,
                "{}",
                path.display()
            );
        }
    }
    assert!(
        queued >= 20 && ignored >= 20,
        "{queued} queued, {ignored} ignored"
    );
    let counts = s.store.counts().expect("counts");
    assert!(counts.pending >= 1 && counts.pending <= queued);
}

#[tokio::test]
async fn forged_missing_malformed_and_duplicate_deliveries() {
    let s = state();
    let body = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_vec();
    // A wrong secret or no signature: 401, and nothing recorded.
    let forged = Some(webhook::sign(b"not the secret", &body));
    assert_eq!(
        post(&s, "ping", "a", body.clone(), forged).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(&s, "ping", "a", body.clone(), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A body changed after signing.
    let sig = signed(&body);
    let mut tampered = body.clone();
    tampered.push(b' ');
    assert_eq!(
        post(&s, "ping", "a", tampered, sig).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Signed but not JSON, or not a pull request: 400 naming the event.
    let junk = b"{not json".to_vec();
    let (status, reply) = post(&s, "pull_request", "b", junk.clone(), signed(&junk)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("pull_request payload"),
        "{reply}"
    );
    // The same delivery twice: queued once.
    let pr = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/github/webhooks/pull_request/opened.payload.json"),
    )
    .expect("read");
    assert_eq!(
        post(&s, "pull_request", "c", pr.clone(), signed(&pr))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let (status, reply) = post(&s, "pull_request", "c", pr.clone(), signed(&pr)).await;
    assert_eq!(
        (status, reply["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert_eq!(s.store.counts().expect("counts").pending, 1);
    // A new delivery of the same PR head folds into the pending job.
    assert_eq!(
        post(&s, "pull_request", "d", pr.clone(), signed(&pr))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(s.store.counts().expect("counts").pending, 1);
}

#[tokio::test]
async fn oversized_deliveries_get_413() {
    let s = state();
    let big = vec![b' '; warden::app::MAX_BODY + 1];
    let sig = signed(&big);
    assert_eq!(
        post(&s, "push", "big", big, sig).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = state();
    let body = br#"{"zen":"z","hook_id":1}"#.to_vec();
    post(&s, "ping", "p", body.clone(), signed(&body)).await;
    post(&s, "ping", "q", body.clone(), None).await;
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let resp = router(s.clone())
            .oneshot(Request::get(path).body(Body::empty()).expect("req"))
            .await
            .expect("resp");
        assert_eq!(resp.status(), StatusCode::OK);
        let text = axum::body::to_bytes(resp.into_body(), 1000)
            .await
            .expect("body");
        assert!(String::from_utf8_lossy(&text).starts_with(want));
    }
    let resp = router(s.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).expect("req"))
        .await
        .expect("resp");
    let text = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body")
            .to_vec(),
    )
    .expect("UTF-8");
    assert!(
        text.contains(r#"warden_webhook_deliveries_total{event="ping",outcome="ignored"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"warden_webhook_deliveries_total{event="ping",outcome="rejected"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("warden_queue_jobs{state=\"pending\"} 0"),
        "{text}"
    );
}
