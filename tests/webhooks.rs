//! Every published webhook example in ../shared/github/webhooks/ (from GitHub's SDK authors)
//! becomes the typed event its name says, and the signature check accepts exactly the signed
//! body.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use warden::github::webhook::{self, Event, WebhookError};

fn payloads() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/github/webhooks");
    assert!(
        dir.is_dir(),
        "the shared webhook examples are missing at {}",
        dir.display()
    );
    let mut out = Vec::new();
    for event in std::fs::read_dir(&dir).expect("dir") {
        let event = event.expect("entry");
        for file in std::fs::read_dir(event.path()).expect("event dir") {
            let file = file.expect("entry").path();
            out.push((event.file_name().to_string_lossy().into_owned(), file));
        }
    }
    out.sort();
    out
}

#[test]
fn every_published_payload_parses_as_its_event() {
    let all = payloads();
    assert!(all.len() >= 70, "only {} payloads", all.len());
    for (event, file) in &all {
        let body = std::fs::read(file).expect("read");
        let parsed =
            webhook::parse(event, &body).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let raw: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let action = raw["action"].as_str().unwrap_or_default();
        let ok = match (event.as_str(), &parsed) {
            ("ping", Event::Ping) => true,
            (
                "pull_request",
                Event::PullRequest {
                    action: a,
                    pr,
                    repo,
                    ..
                },
            ) => {
                a == action
                    && pr.number.0 == raw["number"].as_u64().expect("number")
                    && pr.head_sha.as_str() == raw["pull_request"]["head"]["sha"]
                    && repo.name.to_string() == raw["repository"]["full_name"]
            }
            ("check_suite", Event::CheckSuite { head_sha, .. }) => {
                head_sha.as_str() == raw["check_suite"]["head_sha"]
            }
            ("check_run", Event::CheckRun { id, name, .. }) => {
                id.0 == raw["check_run"]["id"].as_u64().expect("id")
                    && name == raw["check_run"]["name"].as_str().expect("name")
            }
            ("push", Event::Push { after, git_ref, .. }) => {
                after.as_str() == raw["after"] && git_ref == raw["ref"].as_str().expect("ref")
            }
            (
                "issue_comment",
                Event::IssueComment {
                    comment,
                    on_pull_request,
                    ..
                },
            ) => {
                comment.id.0 == raw["comment"]["id"].as_u64().expect("id")
                    && *on_pull_request != raw["issue"]["pull_request"].is_null()
            }
            ("pull_request_review", Event::PullRequestReview { pr, .. }) => {
                pr.number.0 == raw["pull_request"]["number"].as_u64().expect("number")
            }
            ("status", Event::Status { sha, context, .. }) => {
                sha.as_str() == raw["sha"] && context == raw["context"].as_str().expect("context")
            }
            ("installation", Event::Installation { installation, .. }) => {
                installation.0 == raw["installation"]["id"].as_u64().expect("id")
            }
            (
                "installation_repositories",
                Event::InstallationRepositories { added, removed, .. },
            ) => {
                added.len() == raw["repositories_added"].as_array().map_or(0, Vec::len)
                    && removed.len() == raw["repositories_removed"].as_array().map_or(0, Vec::len)
            }
            _ => false,
        };
        assert!(ok, "{}: parsed as {parsed:?}", file.display());
    }
}

#[test]
fn bots_forks_and_edits_are_told_apart() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/github/webhooks");
    let body = std::fs::read(dir.join("issue_comment/edited.payload.json")).expect("read");
    let Event::IssueComment {
        previous_body,
        comment,
        ..
    } = webhook::parse("issue_comment", &body).expect("parse")
    else {
        panic!("not a comment")
    };
    assert!(previous_body.is_some());
    assert!(!comment.author.is_bot());

    let body = std::fs::read(dir.join("pull_request/opened.payload.json")).expect("read");
    let Event::PullRequest { pr, repo, .. } = webhook::parse("pull_request", &body).expect("parse")
    else {
        panic!("not a PR")
    };
    assert!(!pr.is_from_fork(&repo.name));
}

#[test]
fn unhandled_events_are_other_and_bad_payloads_name_the_event() {
    assert_eq!(
        webhook::parse("star", br#"{"action":"created"}"#).expect("parse"),
        Event::Other {
            event: "star".into(),
            action: Some("created".into())
        }
    );
    let err = webhook::parse("pull_request", br#"{"action":"opened"}"#).expect_err("incomplete");
    assert!(
        err.to_string()
            .starts_with("pull_request payload: missing field"),
        "{err}"
    );
    let err = webhook::parse("push", b"not json").expect_err("not JSON");
    assert!(matches!(err, WebhookError::Json { .. }));
    let mut body: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/github/webhooks/push/payload.json"),
        )
        .expect("read"),
    )
    .expect("JSON");
    body["after"] = "HEAD".into();
    let err = webhook::parse("push", body.to_string().as_bytes()).expect_err("bad SHA");
    assert!(err.to_string().contains("not a full commit SHA"), "{err}");
}

/// Every example payload, cut and spliced at random places, as every handled event.
fn mutated(seed: usize, cut: usize, splice: &[u8]) -> Vec<u8> {
    let all = payloads();
    let body = std::fs::read(&all[seed % all.len()].1).expect("read");
    let at = cut % (body.len() + 1);
    let mut out = body[..at].to_vec();
    out.extend_from_slice(splice);
    out.extend_from_slice(&body[at.min(body.len())..]);
    out
}

proptest! {
    #[test]
    fn mutated_payloads_never_panic(
        seed in any::<usize>(),
        cut in any::<usize>(),
        splice in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let body = mutated(seed, cut, &splice);
        for event in ["pull_request", "push", "check_suite", "check_run", "issue_comment",
                      "installation", "installation_repositories", "status", "pull_request_review"] {
            if let Ok(e) = webhook::parse(event, &body) {
                let _ = warden::app::intake::job_for(&e, event, "d", &body);
            }
        }
    }

    #[test]
    fn a_signature_verifies_exactly_its_body(
        secret in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        flip in any::<usize>(),
    ) {
        let header = webhook::sign(&secret, &body);
        prop_assert!(webhook::verify_signature(&secret, &body, Some(&header)).is_ok());
        prop_assert!(matches!(
            webhook::verify_signature(&secret, &body, None),
            Err(WebhookError::MissingSignature)
        ));
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = flip % changed.len();
            changed[i] ^= 1;
            prop_assert!(webhook::verify_signature(&secret, &changed, Some(&header)).is_err());
        }
        // (HMAC pads short keys with zeros, so appending a zero byte would be the same key.)
        let mut other = secret.clone();
        other[0] ^= 0x80;
        prop_assert!(webhook::verify_signature(&other, &body, Some(&header)).is_err());
        prop_assert!(webhook::verify_signature(&secret, &body, Some(&header.replace("sha256=", "sha1="))).is_err());
        prop_assert!(webhook::verify_signature(&secret, &body, Some("sha256=zz")).is_err());
    }
}
