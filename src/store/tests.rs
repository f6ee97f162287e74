use serde_json::json;

use super::*;

fn job(kind: &str, key: Option<&str>, sha: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.into(),
        key: key.map(String::from),
        sha: sha.map(String::from),
        delivery: None,
        payload: json!({"n": 1}),
        once_per_sha: false,
    }
}

#[test]
fn deliveries_are_seen_once() {
    let s = Store::in_memory().unwrap();
    assert!(s.record_delivery("d1", "push", 0).unwrap());
    assert!(!s.record_delivery("d1", "push", 5).unwrap());
    assert!(s.record_delivery("d2", "push", 5).unwrap());
    // Accepting records the delivery and its job together, once.
    let j = job("pull_request", Some("o/r#1"), Some("a"));
    assert!(matches!(
        s.accept("d3", "pull_request", Some(&j), 0).unwrap(),
        Some(Some(_))
    ));
    assert_eq!(s.accept("d3", "pull_request", Some(&j), 0).unwrap(), None);
    assert_eq!(s.counts().unwrap().pending, 1);
    assert_eq!(s.accept("d4", "ping", None, 0).unwrap(), Some(None));
}

#[test]
fn jobs_of_one_key_run_in_order_and_others_in_parallel() {
    let s = Store::in_memory().unwrap();
    let a1 = s.enqueue(&job("comment", Some("o/r#1"), None), 0).unwrap();
    let a2 = s.enqueue(&job("comment", Some("o/r#1"), None), 0).unwrap();
    let b1 = s.enqueue(&job("comment", Some("o/r#2"), None), 0).unwrap();
    let first = s.lease("w1", 10, 1000).unwrap().unwrap();
    assert_eq!(first.id, a1);
    // a2 waits for a1; b1 may run now.
    let second = s.lease("w2", 10, 1000).unwrap().unwrap();
    assert_eq!(second.id, b1);
    assert!(s.lease("w3", 10, 1000).unwrap().is_none());
    s.complete(a1, 20).unwrap();
    assert_eq!(s.lease("w3", 20, 1000).unwrap().unwrap().id, a2);
}

#[test]
fn a_newer_head_supersedes_pending_work_and_duplicates_fold() {
    let s = Store::in_memory().unwrap();
    let old = s
        .enqueue(&job("pull_request", Some("o/r#1"), Some("aaa")), 0)
        .unwrap();
    let dup = s
        .enqueue(&job("pull_request", Some("o/r#1"), Some("aaa")), 1)
        .unwrap();
    assert_eq!(old, dup, "the same work is queued once");
    let new = s
        .enqueue(&job("pull_request", Some("o/r#1"), Some("bbb")), 2)
        .unwrap();
    assert_eq!(s.job_state(old).unwrap().unwrap().0, "superseded");
    let leased = s.lease("w", 3, 1000).unwrap().unwrap();
    assert_eq!(leased.id, new);
    assert!(!s.is_superseded(&leased).unwrap());
    // A running job learns that a newer head arrived.
    let newer = s
        .enqueue(&job("pull_request", Some("o/r#1"), Some("ccc")), 4)
        .unwrap();
    assert!(s.is_superseded(&leased).unwrap());
    s.complete(leased.id, 5).unwrap();
    assert_eq!(s.lease("w", 6, 1000).unwrap().unwrap().id, newer);
}

#[test]
fn a_pr_event_and_a_check_suite_request_for_one_head_are_one_job() {
    let s = Store::in_memory().unwrap();
    let suite = NewJob {
        once_per_sha: true,
        ..job("check_suite", Some("o/r#1"), Some("aaa"))
    };
    // The suite request came first; the PR event takes its place (it knows the base).
    let first = s.enqueue(&suite, 0).unwrap();
    let pr = s
        .enqueue(&job("pull_request", Some("o/r#1"), Some("aaa")), 1)
        .unwrap();
    assert_eq!(first, pr);
    let leased = s.lease("w", 2, 1000).unwrap().unwrap();
    assert_eq!((leased.id, leased.kind.as_str()), (pr, "pull_request"));
    // A suite request arriving while it runs, or after it is done, adds nothing.
    assert_eq!(s.enqueue(&suite, 3).unwrap(), pr);
    s.complete(pr, 4).unwrap();
    assert_eq!(s.enqueue(&suite, 5).unwrap(), pr);
    assert!(s.lease("w", 6, 1000).unwrap().is_none());
    // A person's re-run request is new work.
    let rerun = s
        .enqueue(&job("check_suite", Some("o/r#1"), Some("aaa")), 7)
        .unwrap();
    assert_ne!(rerun, pr);
    // A suite request for another head is new work too.
    let other = NewJob {
        once_per_sha: true,
        ..job("check_suite", Some("o/r#1"), Some("bbb"))
    };
    assert_ne!(s.enqueue(&other, 8).unwrap(), pr);
}

#[test]
fn a_restart_takes_back_the_jobs_its_killed_predecessor_was_running() {
    let s = Store::in_memory().unwrap();
    let a = s
        .enqueue(&job("pull_request", Some("o/r#1"), Some("aaa")), 0)
        .unwrap();
    let b = s
        .enqueue(&job("pull_request", Some("o/r#2"), Some("bbb")), 0)
        .unwrap();
    assert_eq!(s.lease("killed", 1, 600_000).unwrap().unwrap().id, a);
    s.complete(s.lease("killed", 1, 600_000).unwrap().unwrap().id, 2)
        .unwrap();
    assert!(
        s.lease("new", 3, 1000).unwrap().is_none(),
        "a is still leased"
    );
    assert_eq!(s.recover(4).unwrap(), 1);
    assert_eq!(s.lease("new", 5, 1000).unwrap().unwrap().id, a);
    assert_eq!(s.job_state(b).unwrap().unwrap().0, "done");
}

#[test]
fn an_expired_lease_is_taken_over_and_failures_retry() {
    let s = Store::in_memory().unwrap();
    let id = s.enqueue(&job("push", None, None), 0).unwrap();
    assert_eq!(s.lease("dead", 0, 100).unwrap().unwrap().id, id);
    assert!(s.lease("w", 50, 100).unwrap().is_none(), "still leased");
    let again = s.lease("w", 101, 100).unwrap().unwrap();
    assert_eq!(again.id, id);
    assert!(
        !s.renew(id, "dead", 110, 100).unwrap(),
        "the dead worker lost it"
    );
    assert!(s.renew(id, "w", 110, 100).unwrap());
    s.fail(id, "GitHub 502", Some(500), 120).unwrap();
    assert!(
        s.lease("w", 300, 100).unwrap().is_none(),
        "not before its retry time"
    );
    let retry = s.lease("w", 500, 100).unwrap().unwrap();
    assert_eq!(retry.attempts, 1);
    s.fail(id, "gave up", None, 510).unwrap();
    assert_eq!(
        s.job_state(id).unwrap(),
        Some(("failed".to_string(), Some("gave up".to_string())))
    );
}

#[test]
fn queued_work_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warden.db");
    {
        let s = Store::open(&path).unwrap();
        s.accept(
            "d1",
            "pull_request",
            Some(&job("pull_request", Some("o/r#1"), Some("a"))),
            0,
        )
        .unwrap();
        // Leased by a worker that then dies with the process.
        assert!(s.lease("w-old", 10, 1000).unwrap().is_some());
    }
    let s = Store::open(&path).unwrap();
    assert!(
        !s.record_delivery("d1", "pull_request", 20).unwrap(),
        "dedup survives"
    );
    assert!(s.lease("w-new", 20, 1000).unwrap().is_none());
    let j = s.lease("w-new", 2000, 1000).unwrap().unwrap();
    assert_eq!(j.payload, json!({"n": 1}));
}
