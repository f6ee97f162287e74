//! Auto-merge end to end: Warden (as the App) against the simulator merges exactly the pull
//! requests every condition allows, with the SHA it evaluated, once branch protection is
//! satisfied, and writes its verdict into the `warden` check run otherwise.

#[path = "support/openapi.rs"]
mod openapi;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use warden::demo::{RunningWarden, completed_run, serve_demo_repo, start_sim};
use warden::github::ids::{PrNumber, RepoId, Sha};
use warden::sim::{BranchRules, Sim};

const SECRET: &str = "automerge-webhook-secret";
const WAIT: Duration = Duration::from_secs(60);
const STAGING: &str = "overlays/staging/kustomization.yaml";
const PRODUCTION: &str = "overlays/production/kustomization.yaml";

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

fn demo_file(path: &str) -> String {
    std::fs::read_to_string(demo_dir().join(path)).unwrap()
}

struct World {
    sim: Sim,
    warden: RunningWarden,
    repo: RepoId,
    _data: tempfile::TempDir,
}

/// The demo repo on `main`, checked, with `rules` on `main`.
async fn world(rules: BranchRules) -> World {
    let sim = start_sim(SECRET).await.expect("sim");
    let data = tempfile::tempdir().unwrap();
    let (warden, repo, _) = serve_demo_repo(&sim, data.path(), SECRET, None, &demo_dir())
        .await
        .expect("warden");
    sim.protect(repo, "main", rules);
    for (user, p) in [("writer", "write"), ("dev", "write")] {
        sim.set_permission(repo, user, p);
    }
    World {
        sim,
        warden,
        repo,
        _data: data,
    }
}

fn ci_required() -> BranchRules {
    BranchRules {
        required: vec!["ci/test".into()],
        ruleset: true,
        ..BranchRules::default()
    }
}

impl World {
    /// A pull request from `branch` with `changes`, opened by `author`, once Warden checked it.
    async fn pull(
        &self,
        branch: &str,
        changes: &[(&str, String)],
        author: &str,
    ) -> (PrNumber, Sha) {
        let files: Vec<(&str, Option<&[u8]>)> = changes
            .iter()
            .map(|(p, t)| (*p, Some(t.as_bytes())))
            .collect();
        let head = self
            .sim
            .commit(self.repo, branch, &files, "change")
            .unwrap();
        let pr = self
            .sim
            .open_pull(self.repo, branch, "main", "Bump the shop", author)
            .unwrap();
        completed_run(&self.sim, self.repo, &head, WAIT)
            .await
            .expect("checked");
        (pr, head)
    }

    /// Wait for the auto-merge section of the `warden` run on `head` to contain `text`.
    async fn verdict(&self, head: &Sha, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let summary = self
                .sim
                .check_runs(self.repo)
                .into_iter()
                .rev()
                .find(|r| r.name == "warden" && r.head_sha == *head)
                .and_then(|r| r.summary)
                .unwrap_or_default();
            if let Some(i) = summary.find("### Auto-merge")
                && summary[i..].contains(text)
            {
                return summary[i..].to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no verdict with {text:?} on {head}: {summary}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn merged(&self, pr: PrNumber) -> Sha {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(sha) = self.sim.pull(self.repo, pr).and_then(|p| p.merge_commit) {
                return sha;
            }
            assert!(Instant::now() < deadline, "#{pr} was not merged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Let queued work finish (for checks that something did not happen).
    async fn settle(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let c = self.warden.store.counts().unwrap();
            if c.pending == 0 && c.running == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "the queue did not drain");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn merge_requests(&self) -> Vec<serde_json::Value> {
        self.sim
            .exchanges()
            .into_iter()
            .filter(|e| e.method == "PUT" && e.path.ends_with("/merge"))
            .filter_map(|e| e.request_body.clone())
            .collect()
    }
}

fn bump() -> (&'static str, String) {
    (
        STAGING,
        demo_file(STAGING).replace("newTag: 1.5.0", "newTag: 1.5.1"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trusted_bots_staging_bump_merges_with_the_evaluated_sha_once_required_checks_pass() {
    let w = world(ci_required()).await;
    let (pr, head) = w.pull("renovate/shop", &[bump()], "renovate[bot]").await;
    // The required check has not reported: not merged, and the verdict says why.
    let v = w.verdict(&head, "Not auto-merged").await;
    assert!(v.contains("the required check `ci/test` is missing"), "{v}");
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);

    // It fails: still not merged.
    w.sim
        .external_check(w.repo, &head, "ci/test", Some("failure"));
    w.verdict(&head, "the required check `ci/test` is failure")
        .await;
    w.settle().await;
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);

    // It passes on a re-run: merged, squash, with the evaluated head, and the branch deleted.
    w.sim
        .external_check(w.repo, &head, "ci/test", Some("success"));
    let merge_commit = w.merged(pr).await;
    let v = w.verdict(&head, "**Merged** by Warden (squash)").await;
    assert!(v.contains(&format!("`{}`", head.short())), "{v}");
    let requests = w.merge_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["sha"], head.as_str());
    assert_eq!(requests[0]["merge_method"], "squash");
    assert_eq!(w.sim.branch(w.repo, "main"), Some(merge_commit));
    assert_eq!(w.sim.branch(w.repo, "renovate/shop"), None);
    openapi::assert_documented(&w.sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bump_with_a_production_change_is_not_merged_and_the_verdict_says_why() {
    let w = world(BranchRules::default()).await;
    let prod = demo_file(PRODUCTION).replace("count: 3", "count: 4");
    assert_ne!(prod, demo_file(PRODUCTION), "the fixture has `count: 3`");
    let (pr, head) = w
        .pull(
            "renovate/shop",
            &[bump(), (PRODUCTION, prod)],
            "renovate[bot]",
        )
        .await;
    let v = w.verdict(&head, "Not auto-merged").await;
    assert!(
        v.contains(
            "it changes `overlays/production` (production), where auto-merge is not allowed"
        ),
        "{v}"
    );
    assert!(
        v.contains("move this change to its own pull request"),
        "{v}"
    );
    w.settle().await;
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);
    assert!(w.merge_requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_head_that_moves_between_evaluation_and_merge_is_not_merged() {
    let w = world(BranchRules::default()).await;
    // GitHub answers 409 when the head is no longer the SHA Warden evaluated.
    w.sim.faults().fail_next_matching("PUT", "/merge", 1, 409);
    let (pr, head) = w.pull("renovate/shop", &[bump()], "renovate[bot]").await;
    let v = w.verdict(&head, "Not auto-merged").await;
    assert!(
        v.contains("new commits were pushed after it was evaluated"),
        "{v}"
    );
    w.settle().await;
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);
    assert_eq!(w.merge_requests()[0]["sha"], head.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_held_pull_request_waits_until_unhold() {
    let w = world(ci_required()).await;
    let (pr, head) = w.pull("renovate/shop", &[bump()], "renovate[bot]").await;
    w.verdict(&head, "is missing").await;
    w.sim
        .comment(w.repo, pr, "writer", "/warden hold -- release freeze");
    w.settle().await;
    w.sim
        .external_check(w.repo, &head, "ci/test", Some("success"));
    let v = w
        .verdict(&head, "pull request #1 is held by @writer: release freeze")
        .await;
    assert!(v.contains("`/warden unhold` when it may go"), "{v}");
    w.settle().await;
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);

    w.sim.comment(w.repo, pr, "writer", "/warden unhold");
    w.merged(pr).await;
    w.verdict(&head, "**Merged**").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_untrusted_authors_bump_waits_until_a_writer_vouches() {
    let w = world(BranchRules::default()).await;
    let (pr, head) = w.pull("dev/shop", &[bump()], "dev").await;
    let v = w.verdict(&head, "Not auto-merged").await;
    assert!(v.contains("@dev is not a trusted author"), "{v}");
    w.settle().await;
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);

    // Someone without write access cannot vouch.
    w.sim.set_permission(w.repo, "reader", "read");
    w.sim.comment(w.repo, pr, "reader", "/warden merge");
    w.settle().await;
    assert!(!w.sim.pull(w.repo, pr).unwrap().merged);

    w.sim.comment(w.repo, pr, "writer", "/warden merge");
    w.merged(pr).await;
    w.settle().await;
    let replies: Vec<String> = w
        .sim
        .comments(w.repo, pr)
        .into_iter()
        .filter(|c| c.author_is_bot)
        .map(|c| c.body)
        .collect();
    assert!(
        replies.iter().any(|r| r.contains("vouched for by @writer")),
        "{replies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn required_reviews_are_waited_for_and_merge_queues_are_used() {
    // A required review: Warden waits, and merges once it is approved.
    let w = world(BranchRules {
        reviews: 1,
        ruleset: false,
        ..BranchRules::default()
    })
    .await;
    let (pr, head) = w.pull("renovate/shop", &[bump()], "renovate[bot]").await;
    let v = w.verdict(&head, "Not auto-merged").await;
    assert!(
        v.contains("branch protection requires 1 approving review and it has 0"),
        "{v}"
    );
    assert!(v.contains("it never bypasses one"), "{v}");
    w.sim.review(w.repo, pr, "writer", "APPROVED");
    w.merged(pr).await;

    // A merge queue: the pull request is queued with the evaluated head, not merged.
    let w = world(BranchRules {
        merge_queue: true,
        ruleset: true,
        ..BranchRules::default()
    })
    .await;
    let (pr, head) = w.pull("renovate/shop", &[bump()], "renovate[bot]").await;
    w.verdict(&head, "**Added to the merge queue**").await;
    assert_eq!(w.sim.merge_queue(w.repo), [(pr, head.clone())]);
    let graphql: Vec<_> = w
        .sim
        .exchanges()
        .into_iter()
        .filter(|e| e.path == "/graphql")
        .collect();
    assert_eq!(graphql.len(), 1);
    let body = graphql[0].request_body.clone().unwrap();
    assert!(
        body["query"]
            .as_str()
            .unwrap()
            .contains("enqueuePullRequest(input: {pullRequestId: $id, expectedHeadOid: $oid})")
    );
    assert_eq!(body["variables"]["oid"], head.as_str());
    assert!(w.merge_requests().is_empty());
    openapi::assert_documented(&w.sim);
}
