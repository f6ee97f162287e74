//! Warden end to end: the GitHub simulator (real git storage, webhooks signed as GitHub signs
//! them, tokens, tarball redirects, faults) and Warden as a GitHub App against it, assembled as
//! `warden serve` assembles it. Each test opens pull requests or pushes as a user would and
//! looks at what GitHub would show; every API exchange of every test is checked against
//! GitHub's OpenAPI description.

#[path = "support/openapi.rs"]
mod openapi;

use openapi::assert_documented;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use warden::app::reconcile::Inventory;
use warden::app::serve::WardenSetup;
use warden::app::workers::WorkerOptions;
use warden::demo::{DEMO_APP_ID, DEMO_PRIVATE_KEY};
use warden::demo::{RunningWarden, completed_run, start_warden};
use warden::github::client::{ClientOptions, GitHubClient};
use warden::github::ids::{InstallationId, PrNumber, RepoId, Sha};
use warden::report::markdown::STICKY_MARKER;
use warden::signal::{Claim, Keyring, Signer};
use warden::sim::{CheckRunView, Sim};

/// The key the end-to-end Warden signs deploy approvals with.
const SIGNING_SEED: [u8; 32] = [5u8; 32];

const SECRET: &str = "e2e-webhook-secret";
const WAIT: Duration = Duration::from_secs(60);

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(demo_dir().join(rel)).expect("demo file")
}

/// Quick retries, so fault tests do not wait out production backoffs.
fn client_options() -> ClientOptions {
    ClientOptions {
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_rate_limit_wait: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

fn setup(sim: &Sim, data: &Path, secret: &str) -> WardenSetup {
    WardenSetup {
        api_url: sim.url(),
        app_id: DEMO_APP_ID,
        private_key: SecretString::from(DEMO_PRIVATE_KEY),
        webhook_secret: SecretString::from(secret),
        data_dir: data.to_path_buf(),
        workers: WorkerOptions {
            workers: 2,
            poll: Duration::from_millis(50),
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..WorkerOptions::default()
        },
        threads: 2,
        reconcile_interval: Duration::from_secs(3600),
        client: client_options(),
        signer: Some(Arc::new(Signer::from_seed(&SIGNING_SEED))),
    }
}

/// The simulator with the demo repo on `main`, and Warden receiving its webhooks.
struct World {
    sim: Sim,
    warden: Option<RunningWarden>,
    inst: InstallationId,
    repo: RepoId,
    _data: tempfile::TempDir,
}

async fn world_with(warden_secret: &str) -> World {
    let sim = warden::demo::start_sim(SECRET).await.expect("sim");
    let data = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let warden = start_warden(listener, setup(&sim, data.path(), warden_secret))
        .await
        .expect("warden");
    sim.set_webhook_url(Some(warden.webhook_url()));
    // Let the start-up reconcile pass (deliveries, then installations) see an App with no
    // installations, so what each test does next arrives by webhook only.
    let deadline = Instant::now() + WAIT;
    while !sim
        .exchanges()
        .iter()
        .any(|x| x.path == "/app/installations")
    {
        assert!(Instant::now() < deadline, "no start-up reconcile pass");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let inst = sim.create_installation("acme");
    let repo = sim
        .create_repo(inst, "acme/gitops", "main", true)
        .expect("repo");
    let main = sim
        .commit_dir(repo, "main", &demo_dir(), "Shop config")
        .expect("commit");
    sim.settle().await;
    // The push to the deploy branch is checked too; let that finish before the test acts.
    if warden_secret == SECRET {
        completed_run(&sim, repo, &main, WAIT)
            .await
            .expect("the deploy branch's first commit is checked");
        // ... and its two environments approved (statuses follow the check run).
        let deadline = Instant::now() + WAIT;
        while sim.statuses(repo, &main).len() < 2 {
            assert!(
                Instant::now() < deadline,
                "main's approvals were not posted"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    World {
        sim,
        warden: Some(warden),
        inst,
        repo,
        _data: data,
    }
}

async fn world() -> World {
    world_with(SECRET).await
}

impl World {
    /// Commit to a new branch and open a pull request from it.
    async fn pull(&self, branch: &str, changes: &[(&str, Option<&[u8]>)]) -> (PrNumber, Sha) {
        let head = self
            .sim
            .commit(self.repo, branch, changes, "change")
            .expect("commit");
        let n = self
            .sim
            .open_pull(self.repo, branch, "main", branch, "alice")
            .expect("pull");
        (n, head)
    }

    async fn run(&self, head: &Sha) -> CheckRunView {
        completed_run(&self.sim, self.repo, head, WAIT)
            .await
            .expect("a completed check run")
    }

    fn runs_on(&self, head: &Sha) -> Vec<CheckRunView> {
        self.sim
            .check_runs(self.repo)
            .into_iter()
            .filter(|r| r.head_sha == *head && r.name == "warden")
            .collect()
    }

    /// Warden's sticky comments on a pull request.
    async fn sticky(&self, n: PrNumber) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<String> = self
                .sim
                .comments(self.repo, n)
                .into_iter()
                .filter(|c| c.author_is_bot && c.body.starts_with(STICKY_MARKER))
                .map(|c| c.body)
                .collect();
            if !found.is_empty() || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every exchange so far has the shape GitHub documents; then stop.
    async fn finish(mut self) {
        if let Some(w) = self.warden.take() {
            w.stop().await.expect("stop");
        }
        assert_documented(&self.sim);
        self.sim.shutdown().await;
    }
}

fn bump() -> (String, String) {
    let staging = "overlays/staging/kustomization.yaml".to_string();
    let text = read(&staging).replace("newTag: 1.5.0", "newTag: 1.5.1");
    assert!(text.contains("1.5.1"), "the demo's staging tag moved");
    (staging, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_image_bump_gets_a_passing_check_run_with_the_rendered_diff() {
    let w = world().await;
    let (path, text) = bump();
    let (n, head) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    let run = w.run(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
    assert_eq!(run.app_id, DEMO_APP_ID);
    let summary = run.summary.clone().unwrap_or_default();
    assert!(summary.contains("staging"), "{summary}");
    let comments = w.sticky(n).await;
    assert_eq!(comments.len(), 1, "{comments:?}");
    let c = &comments[0];
    assert!(c.contains("image-bump"), "{c}");
    assert!(c.contains("1.5.0") && c.contains("1.5.1"), "{c}");
    // Production is not affected by a staging change.
    assert!(!c.contains("shop-production"), "{c}");
    // The tarballs came through codeload's redirect, never with the token in a header there.
    let codeload = w.sim.codeload_requests();
    assert!(!codeload.is_empty());
    assert!(codeload.iter().all(|r| !r.had_authorization_header));
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plaintext_secret_fails_with_an_annotation_on_its_file_and_line() {
    let w = world().await;
    let k = "overlays/staging/kustomization.yaml";
    let kustomization = read(k).replace(
        "resources:\n- ../../base\n",
        "resources:\n- ../../base\n- db-secret.yaml\n",
    );
    let secret =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n";
    let (n, head) = w
        .pull(
            "db-secret",
            &[
                (k, Some(kustomization.as_bytes())),
                ("overlays/staging/db-secret.yaml", Some(secret.as_bytes())),
            ],
        )
        .await;
    let run = w.run(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:?}");
    let found: Vec<_> = run
        .annotations
        .iter()
        .filter(|a| a["path"] == "overlays/staging/db-secret.yaml")
        .collect();
    assert!(!found.is_empty(), "annotations: {:#?}", run.annotations);
    let a = found[0];
    assert_eq!(a["annotation_level"], "failure", "{a}");
    // The `stringData` field (line 5) holding `password: hunter2`.
    assert_eq!(a["start_line"], 5, "{a}");
    assert!(
        a["title"]
            .as_str()
            .unwrap_or("")
            .contains("secret-plaintext")
            || a["message"]
                .as_str()
                .unwrap_or("")
                .contains("secret-plaintext"),
        "{a}"
    );
    // The value itself is nowhere in what GitHub shows.
    let shown = format!("{run:?}{}", w.sticky(n).await.join(""));
    assert!(!shown.contains("hunter2"), "the secret value leaked");
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_policy_violation_in_production_fails_and_a_fix_passes_with_the_same_comment() {
    let w = world().await;
    let prod = "overlays/production/kustomization.yaml";
    let broken = read(prod).replace(
        "resources:\n- ../../base\n",
        "resources:\n- ../../base\n- debug.yaml\n",
    );
    assert_ne!(broken, read(prod), "the demo's production resources moved");
    let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: debug\nspec:\n  type: NodePort\n  ports:\n  - port: 9229\n";
    let (n, head) = w
        .pull(
            "debug",
            &[
                (prod, Some(broken.as_bytes())),
                ("overlays/production/debug.yaml", Some(svc.as_bytes())),
            ],
        )
        .await;
    let run = w.run(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:?}");
    assert!(
        run.annotations
            .iter()
            .any(|a| a["message"].as_str().unwrap_or("").contains("NodePort")),
        "{:#?}",
        run.annotations
    );
    let first = w.sticky(n).await;
    assert_eq!(first.len(), 1);

    // The fix is pushed to the same branch: a new run passes, the comment is edited in place.
    let fixed = svc.replace("NodePort", "ClusterIP");
    let head2 = w
        .sim
        .commit(
            w.repo,
            "debug",
            &[("overlays/production/debug.yaml", Some(fixed.as_bytes()))],
            "ClusterIP",
        )
        .expect("commit");
    let run2 = w.run(&head2).await;
    assert_eq!(run2.conclusion.as_deref(), Some("success"), "{run2:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let c = w.sticky(n).await;
        if c.len() != 1 || c[0] != first[0] || Instant::now() > deadline {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(after.len(), 1, "one sticky comment, edited: {after:?}");
    assert_ne!(after[0], first[0]);
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_supersedes_the_pending_run_of_an_older_head() {
    let w = world().await;
    // Slow GitHub: the first head's job is still running when two more pushes arrive.
    w.sim.faults().set_latency(Duration::from_millis(250));
    let (path, text) = bump();
    let (n, h1) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    // Wait until the first head's check run exists: its job is running.
    let deadline = Instant::now() + WAIT;
    while w.runs_on(&h1).is_empty() {
        assert!(Instant::now() < deadline, "no run on the first head");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut heads = Vec::new();
    for tag in ["1.5.2", "1.5.3"] {
        let t = read(&path).replace("newTag: 1.5.0", &format!("newTag: {tag}"));
        heads.push(
            w.sim
                .commit(w.repo, "renovate/shop", &[(&path, Some(t.as_bytes()))], tag)
                .expect("commit"),
        );
    }
    w.sim.settle().await;
    w.sim.faults().set_latency(Duration::ZERO);
    let last = w.run(&heads[1]).await;
    assert_eq!(last.conclusion.as_deref(), Some("success"));
    // The middle head was superseded before it ran: no check run at all.
    assert!(
        w.runs_on(&heads[0]).is_empty(),
        "{:#?}",
        w.runs_on(&heads[0])
    );
    assert_eq!(w.runs_on(&heads[1]).len(), 1);
    let c = w.sticky(n).await;
    assert_eq!(c.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !w.sticky(n).await[0].contains("1.5.3") {
        assert!(Instant::now() < deadline, "the comment shows the last head");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_webhook_causes_no_second_run() {
    let w = world().await;
    let (path, text) = bump();
    let (_, head) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    w.run(&head).await;
    let opened = w
        .sim
        .deliveries()
        .into_iter()
        .rev()
        .find(|d| d.event == "pull_request" && d.action.as_deref() == Some("opened"))
        .expect("the opened delivery");
    // Redeliver it through GitHub's API, as an operator (or the reconcile loop) would.
    let client = GitHubClient::new(
        &w.sim.url(),
        DEMO_APP_ID,
        SecretString::from(DEMO_PRIVATE_KEY),
        client_options(),
    )
    .expect("client");
    client.redeliver(opened.id).await.expect("redeliver");
    w.sim.settle().await;
    let again: Vec<_> = w
        .sim
        .deliveries()
        .into_iter()
        .filter(|d| d.guid == opened.guid)
        .collect();
    assert_eq!(again.len(), 2, "{again:?}");
    assert!(again[1].redelivery);
    assert!(
        (200..300).contains(&again[1].status_code),
        "Warden acknowledges a redelivery: {again:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.runs_on(&head).len(), 1, "{:#?}", w.runs_on(&head));
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_signature_is_rejected_and_nothing_runs() {
    // Warden knows another secret than the one the deliveries are signed with.
    let w = world_with("not-the-secret").await;
    let (path, text) = bump();
    let (_, head) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    w.sim.settle().await;
    let ds = w.sim.deliveries();
    assert!(!ds.is_empty());
    assert!(ds.iter().all(|d| d.status_code == 401), "{ds:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.runs_on(&head).is_empty());
    let queued = w
        .warden
        .as_ref()
        .expect("warden")
        .store
        .counts()
        .expect("counts");
    let total = queued.pending + queued.running + queued.done + queued.failed + queued.superseded;
    assert_eq!(total, 0, "{queued:?}");
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_errors_and_rate_limits_during_a_job_are_retried_and_the_run_completes() {
    let w = world().await;
    let f = w.sim.faults();
    f.fail_next_matching("POST", "/check-runs", 1, 502);
    f.fail_next_matching("GET", "/tarball/", 1, 503);
    f.fail_next_matching("PATCH", "/check-runs/", 1, 500);
    f.secondary_rate_limit(1, 1);
    let (path, text) = bump();
    let (_, head) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    let started = Instant::now();
    let run = w.run(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
    let xs = w.sim.exchanges();
    for status in [502, 503, 500, 403] {
        assert!(
            xs.iter().any(|x| x.status == status),
            "no {status} was injected"
        );
    }
    // The secondary limit asked for a second's wait, and it was waited for.
    let log: Vec<String> = xs
        .iter()
        .map(|x| format!("{} {} {}", x.method, x.path, x.status))
        .collect();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}\n{}",
        started.elapsed(),
        log.join("\n")
    );
    assert_eq!(w.runs_on(&head).len(), 1, "a failed create is not a run");
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_to_the_deploy_branch_checks_the_pushed_commit() {
    let w = world().await;
    let (path, text) = bump();
    let head = w
        .sim
        .commit(w.repo, "main", &[(&path, Some(text.as_bytes()))], "bump")
        .expect("commit");
    let run = w.run(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
    // Each environment of the pushed commit is approved, signed by Warden's key.
    let deadline = Instant::now() + WAIT;
    while w.sim.statuses(w.repo, &head).len() < 2 {
        assert!(Instant::now() < deadline, "no approvals on {head}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ring = Keyring::from(&Signer::from_seed(&SIGNING_SEED));
    let now = warden::github::client::now_unix();
    for s in w.sim.statuses(w.repo, &head) {
        let env = s
            .context
            .strip_prefix("warden/approve/")
            .expect("an approval");
        let claim = Claim::new("acme/gitops", w.repo.0, head.as_str(), env).unwrap();
        assert_eq!(s.state, "success", "{s:?}");
        ring.verify(
            &claim,
            s.description.as_deref().unwrap_or(""),
            now,
            Some(600),
        )
        .unwrap_or_else(|e| panic!("{env}: {e}"));
        assert!(s.target_url.is_some_and(|u| u.contains("/runs/")));
    }
    // A push to another branch with no pull request is not checked.
    let other = w
        .sim
        .commit(
            w.repo,
            "scratch",
            &[("notes.txt", Some(b"hi".as_slice()))],
            "notes",
        )
        .expect("commit");
    w.sim.settle().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.runs_on(&other).is_empty());
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reconcile_pass_redelivers_what_failed_and_checks_pulls_without_a_run() {
    let w = world().await;
    // Two deliveries are lost (Warden down, say): the PR's `opened` among them.
    w.sim.faults().drop_deliveries(10);
    let (path, text) = bump();
    let (_, head) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    w.sim.settle().await;
    assert!(w.runs_on(&head).is_empty());
    w.sim.faults().clear();
    // A pass over GitHub's lists, as the loop runs it at start-up and on its interval.
    let client = GitHubClient::new(
        &w.sim.url(),
        DEMO_APP_ID,
        SecretString::from(DEMO_PRIVATE_KEY),
        client_options(),
    )
    .expect("client");
    let store = w.warden.as_ref().expect("warden").store.clone();
    let now = warden::app::now_ms();
    let report = warden::app::reconcile::pass(&client, &store, now - 3_600_000, now).await;
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(report.redelivered > 0 || report.queued > 0, "{report:?}");
    let run = w.run(&head).await;
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    let _ = w.inst;
    w.finish().await;
}

/// `warden serve` as a process: killed with SIGKILL after acknowledging a delivery and before
/// completing its run, then started again on the same data directory, it completes the run.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_completes_the_run_after_a_restart() {
    let sim = warden::demo::start_sim(SECRET).await.expect("sim");
    let data = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/app-private.pem");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("serve")
            .env_clear()
            .env("WARDEN_APP_ID", DEMO_APP_ID.to_string())
            .env("WARDEN_PRIVATE_KEY_PATH", &key)
            .env("WARDEN_WEBHOOK_SECRET", SECRET)
            .env("WARDEN_GITHUB_API_URL", sim.url())
            .env("WARDEN_LISTEN", format!("127.0.0.1:{port}"))
            .env("WARDEN_DATA_DIR", data.path())
            .env("WARDEN_WORKERS", "2")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map(Reaped)
            .expect("warden serve")
    };
    let up = || async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "warden serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let mut child = spawn();
    up().await;
    sim.set_webhook_url(Some(format!("http://127.0.0.1:{port}/webhook")));
    let inst = sim.create_installation("acme");
    let repo = sim.create_repo(inst, "acme/gitops", "main", true).unwrap();
    sim.commit_dir(repo, "main", &demo_dir(), "Shop config")
        .unwrap();
    sim.settle().await;
    // Slow GitHub, so the job is surely in the middle when the process is killed.
    sim.faults().set_latency(Duration::from_millis(400));
    let (path, text) = bump();
    let head = sim
        .commit(
            repo,
            "renovate/shop",
            &[(&path, Some(text.as_bytes()))],
            "bump",
        )
        .unwrap();
    sim.open_pull(repo, "renovate/shop", "main", "bump", "renovate[bot]")
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let runs = sim.check_runs(repo);
        if runs.iter().any(|r| r.head_sha == head) {
            // (main's own push run may well be done; only the PR head's matters.)
            assert!(
                runs.iter()
                    .filter(|r| r.head_sha == head)
                    .all(|r| r.status != "completed"),
                "killed too late: {runs:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the job never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.0.kill().expect("SIGKILL");
    child.0.wait().unwrap();
    sim.faults().set_latency(Duration::ZERO);
    let acknowledged = sim
        .deliveries()
        .into_iter()
        .filter(|d| d.event == "pull_request")
        .all(|d| d.status_code == 202);
    assert!(acknowledged, "{:?}", sim.deliveries());

    let mut child = spawn();
    up().await;
    let run = completed_run(&sim, repo, &head, WAIT).await.expect("run");
    assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
    // The run the killed process had started is the one completed: none is left in progress.
    let runs: Vec<_> = sim
        .check_runs(repo)
        .into_iter()
        .filter(|r| r.head_sha == head)
        .collect();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].status, "completed");
    terminate(&mut child.0);
    assert_documented(&sim);
    sim.shutdown().await;
}

/// A child process that is killed when the test ends, also when it fails (so a failing test
/// leaves no server behind holding the test runner's output open).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stop a child as an orchestrator would (SIGTERM), falling back to SIGKILL.
#[cfg(unix)]
fn terminate(child: &mut std::process::Child) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(
                status.success(),
                "warden serve exited with {status} on SIGTERM"
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("warden serve did not stop on SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_installation_change_starts_a_reconcile_pass_at_once() {
    let w = world().await;
    // The pull request's deliveries are lost; the loop's interval here is an hour.
    w.sim.faults().drop_deliveries(10);
    let (path, text) = bump();
    let (_, head) = w
        .pull("renovate/shop", &[(&path, Some(text.as_bytes()))])
        .await;
    w.sim.settle().await;
    w.sim.faults().clear();
    assert!(w.runs_on(&head).is_empty());
    // A repository is added to the installation: Warden looks over GitHub's lists now.
    w.sim
        .create_repo(w.inst, "acme/another", "main", true)
        .expect("repo");
    let run = completed_run(&w.sim, w.repo, &head, Duration::from_secs(30))
        .await
        .expect("the pull request is checked without waiting for the interval");
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    w.finish().await;
}
