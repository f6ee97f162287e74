//! `POST /webhook`: verify, type, record and queue a delivery, and answer at once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing::Instrument;

use super::{AppState, now_ms};
use crate::github::ids::{PrNumber, RepoName, Sha};
use crate::github::webhook::{self, Event, WebhookError};
use crate::store::NewJob;

/// The job a delivery asks for, or `None` when Warden has nothing to do for it.
pub fn job_for(event: &Event, name: &str, delivery: &str, body: &[u8]) -> Option<NewJob> {
    let payload = || {
        json!({
            "event": name,
            "body": String::from_utf8_lossy(body),
        })
    };
    let job = |kind: &str, key: Option<String>, sha: Option<String>| NewJob {
        kind: kind.to_string(),
        key,
        sha,
        delivery: Some(delivery.to_string()),
        payload: payload(),
        once_per_sha: false,
    };
    // A check of one commit, ordered with its pull request's other jobs when it has one.
    let commit_job = |kind: &str, repo: &RepoName, prs: &[PrNumber], sha: &Sha| {
        let key = match prs.first() {
            Some(n) => format!("{repo}#{n}"),
            None => format!("{repo}@{sha}"),
        };
        job(kind, Some(key), Some(sha.to_string()))
    };
    // Something an auto-merge verdict depends on changed: evaluate the pull requests again, in
    // order with their checks when the event names them.
    if super::automerge::wants(event) {
        let key = match event {
            Event::PullRequest { repo, pr, .. } | Event::PullRequestReview { repo, pr, .. } => {
                Some(format!("{}#{}", repo.name, pr.number))
            }
            Event::CheckRun {
                repo,
                pull_requests,
                ..
            }
            | Event::CheckSuite {
                repo,
                pull_requests,
                ..
            } if !pull_requests.is_empty() => Some(format!("{}#{}", repo.name, pull_requests[0])),
            _ => None,
        };
        return Some(job(super::automerge::JOB_KIND, key, None));
    }
    match event {
        Event::PullRequest {
            action,
            repo,
            pr,
            base_changed,
            ..
        } => {
            let runs = matches!(
                action.as_str(),
                "opened" | "synchronize" | "reopened" | "ready_for_review"
            ) || (action == "edited" && *base_changed);
            runs.then(|| {
                job(
                    "pull_request",
                    Some(format!("{}#{}", repo.name, pr.number)),
                    Some(pr.head_sha.to_string()),
                )
            })
        }
        Event::CheckSuite {
            action,
            repo,
            head_sha,
            pull_requests,
            ..
        } if action == "rerequested" || (action == "requested" && !pull_requests.is_empty()) => {
            Some(NewJob {
                // GitHub asks on its own for every new commit; a person asks with `rerequested`.
                once_per_sha: action == "requested",
                ..commit_job("check_suite", &repo.name, pull_requests, head_sha)
            })
        }
        Event::CheckRun {
            action,
            repo,
            head_sha,
            pull_requests,
            ..
        } if action == "rerequested" => {
            Some(commit_job("check_run", &repo.name, pull_requests, head_sha))
        }
        // The deploy branch is the default branch: its commits are checked as pushed (they may
        // differ from any PR head). Other branches are checked as pull requests, once one is
        // open, and GitHub's own check-suite request for them is left aside until then.
        Event::Push {
            repo,
            git_ref,
            after,
            deleted,
            ..
        } if !deleted && *git_ref == format!("refs/heads/{}", repo.default_branch) => Some(job(
            "push",
            Some(format!("{}@{git_ref}", repo.name)),
            Some(after.to_string()),
        )),
        // A new or edited comment on a pull request, by a person: ChatOps looks for commands.
        // Comments of one pull request are handled in order, apart from its checks.
        Event::IssueComment { repo, number, .. } if super::chatops::wants(event) => Some(job(
            "issue_comment",
            Some(format!("{}#{number}/comments", repo.name)),
            None,
        )),
        Event::Installation { .. } | Event::InstallationRepositories { .. } => {
            Some(job("installation", None, None))
        }
        _ => None,
    }
}

fn reply(status: StatusCode, body: serde_json::Value) -> axum::response::Response {
    (status, Json(body)).into_response()
}

/// `POST /webhook`.
pub async fn webhook(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event = header("x-github-event").unwrap_or("").to_string();
    // The signature first: nothing of an unverified body is looked at.
    if let Err(e) = webhook::verify_signature(
        state.webhook_secret.expose_secret().as_bytes(),
        &body,
        header("x-hub-signature-256"),
    ) {
        state.metrics.delivery(&event, "rejected");
        tracing::warn!(event = %event, error = %e, "webhook rejected");
        return reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
    }
    let Some(delivery) = header("x-github-delivery").filter(|d| !d.is_empty() && d.len() <= 100)
    else {
        state.metrics.delivery(&event, "rejected");
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing X-GitHub-Delivery header"}),
        );
    };
    if event.is_empty() {
        state.metrics.delivery(&event, "rejected");
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing X-GitHub-Event header"}),
        );
    }
    let delivery = delivery.to_string();
    let span = tracing::info_span!("delivery", delivery = %delivery, event = %event);
    accept(state, event, delivery, body).instrument(span).await
}

/// Type, record and queue a verified delivery.
async fn accept(
    state: Arc<AppState>,
    event: String,
    delivery: String,
    body: Bytes,
) -> axum::response::Response {
    let parsed = match webhook::parse(&event, &body) {
        Ok(e) => e,
        Err(e @ (WebhookError::Json { .. } | WebhookError::Value { .. })) => {
            state.metrics.delivery(&event, "rejected");
            tracing::warn!(error = %e, "malformed payload");
            return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
        Err(e) => {
            state.metrics.delivery(&event, "rejected");
            return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    if parsed == Event::Ping {
        state.metrics.delivery(&event, "ignored");
        return reply(StatusCode::OK, json!({"status": "pong"}));
    }
    let job = job_for(&parsed, &event, &delivery, &body);
    let store = state.store.clone();
    let (d, e) = (delivery.clone(), event.clone());
    let has_job = job.is_some();
    let accepted =
        tokio::task::spawn_blocking(move || store.accept(&d, &e, job.as_ref(), now_ms())).await;
    match accepted {
        Ok(Ok(None)) => {
            state.metrics.delivery(&event, "duplicate");
            tracing::info!("duplicate delivery");
            reply(StatusCode::OK, json!({"status": "duplicate"}))
        }
        Ok(Ok(Some(Some(id)))) => {
            state.metrics.delivery(&event, "queued");
            state.wake.notify_one();
            if matches!(
                parsed,
                Event::Installation { .. } | Event::InstallationRepositories { .. }
            ) {
                // New repositories may hold open pull requests that never had a run.
                state.reconcile_now.notify_one();
            }
            tracing::info!(job = id.0, repo = ?parsed.repo().map(|r| r.name.to_string()), "queued");
            reply(
                StatusCode::ACCEPTED,
                json!({"status": "queued", "job": id.0}),
            )
        }
        Ok(Ok(Some(None))) => {
            debug_assert!(!has_job);
            state.metrics.delivery(&event, "ignored");
            reply(StatusCode::OK, json!({"status": "ignored"}))
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "could not record the delivery");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "state database unavailable"}),
            )
        }
        Err(_) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "state database unavailable"}),
        ),
    }
}

/// `GET /readyz`: the state database answers.
pub async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.counts()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n"),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "state database unavailable\n",
        ),
    }
}
