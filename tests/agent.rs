//! `warden-agent` end to end: the simulator holds the demo config repo, Warden (as the App)
//! signs approvals on the deploy branch, and the agent (print mode, writing to a buffer) deploys
//! only what Warden approved for its environment.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use warden::agent::config::AgentConfig;
use warden::agent::{Agent, PassOutcome, PrintDeployer};
use warden::app::serve::WardenSetup;
use warden::app::workers::WorkerOptions;
use warden::demo::{DEMO_APP_ID, DEMO_APP_SLUG, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY};
use warden::demo::{RunningWarden, completed_run, start_warden};
use warden::github::client::{ClientOptions, GitHubClient};
use warden::github::ids::{RepoId, Sha};
use warden::signal::Signer;
use warden::sim::{Sim, SimOptions};

const SECRET: &str = "agent-webhook-secret";
const WAIT: Duration = Duration::from_secs(60);
const SEED: [u8; 32] = [11u8; 32];

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(demo_dir().join(rel)).expect("demo file")
}

/// What print mode wrote.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

struct World {
    sim: Sim,
    _warden: RunningWarden,
    repo: RepoId,
    main: Sha,
    _data: tempfile::TempDir,
    keys: tempfile::NamedTempFile,
    /// A person with push and status rights (for forging statuses).
    token: String,
}

async fn world() -> World {
    let sim = Sim::start(SimOptions::new(
        DEMO_APP_ID,
        DEMO_APP_SLUG,
        DEMO_PUBLIC_KEY,
        SECRET,
    ))
    .await
    .expect("sim");
    let data = tempfile::tempdir().unwrap();
    let signer = Signer::from_seed(&SEED);
    let mut keys = tempfile::NamedTempFile::new().unwrap();
    keys.write_all(signer.public_pem().as_bytes()).unwrap();
    let warden = start_warden(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        WardenSetup {
            api_url: sim.url(),
            app_id: DEMO_APP_ID,
            private_key: SecretString::from(DEMO_PRIVATE_KEY),
            webhook_secret: SecretString::from(SECRET),
            data_dir: data.path().to_path_buf(),
            workers: WorkerOptions {
                workers: 2,
                poll: Duration::from_millis(50),
                ..WorkerOptions::default()
            },
            threads: 2,
            reconcile_interval: Duration::from_secs(3600),
            client: ClientOptions::default(),
            signer: Some(Arc::new(signer)),
        },
    )
    .await
    .expect("warden");
    sim.set_webhook_url(Some(warden.webhook_url()));
    let inst = sim.create_installation("acme");
    let repo = sim.create_repo(inst, "acme/gitops", "main", true).unwrap();
    let main = sim
        .commit_dir(repo, "main", &demo_dir(), "Shop config")
        .unwrap();
    let token = sim.user_token("mallory");
    let w = World {
        sim,
        _warden: warden,
        repo,
        main: main.clone(),
        _data: data,
        keys,
        token,
    };
    w.approved(&main).await;
    w
}

impl World {
    /// Wait until Warden has posted its approvals (both environments) on `sha`.
    async fn approved(&self, sha: &Sha) {
        completed_run(&self.sim, self.repo, sha, WAIT)
            .await
            .expect("the push is checked");
        let deadline = Instant::now() + WAIT;
        while self
            .sim
            .statuses(self.repo, sha)
            .iter()
            .filter(|s| s.context.starts_with("warden/approve/"))
            .count()
            < 2
        {
            assert!(Instant::now() < deadline, "no approvals on {sha}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn agent(&self, env: &str, buf: &Buf, extra: &[(&str, &str)]) -> Agent<PrintDeployer> {
        let mut vars: HashMap<String, String> = [
            ("WARDEN_GITHUB_API_URL", self.sim.url()),
            ("WARDEN_AGENT_REPO", "acme/gitops".into()),
            ("WARDEN_AGENT_BRANCH", "main".into()),
            ("WARDEN_AGENT_ENVIRONMENT", env.into()),
            ("WARDEN_AGENT_PATH", format!("overlays/{env}")),
            (
                "WARDEN_AGENT_PUBLIC_KEYS",
                self.keys.path().display().to_string(),
            ),
            ("WARDEN_AGENT_TOKEN", self.token.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = AgentConfig::load(&|k| vars.get(k).cloned(), &|p| std::fs::read_to_string(p))
            .expect("agent config");
        let client = GitHubClient::with_token(
            &config.api_url,
            config.token.clone(),
            ClientOptions::default(),
        )
        .unwrap();
        let deployer = PrintDeployer::new(
            Box::new(buf.clone()),
            config.state_file.clone(),
            format!("warden-agent {env}"),
        );
        Agent::new(config, client, deployer)
    }

    /// Post a status as the person with write access (anyone who can post statuses).
    async fn post_status(&self, sha: &Sha, context: &str, description: &str) {
        let client = GitHubClient::with_token(
            &self.sim.url(),
            Some(self.token.clone().into()),
            ClientOptions::default(),
        )
        .unwrap();
        client
            .request(
                warden::github::client::As::Token,
                http::Method::POST,
                &client.url(&format!("/repos/acme/gitops/statuses/{sha}")),
                Some(&json!({"state": "success", "context": context, "description": description})),
            )
            .await
            .expect("status posted");
    }

    fn description(&self, sha: &Sha, context: &str) -> String {
        self.sim
            .statuses(self.repo, sha)
            .into_iter()
            .find(|s| s.context == context && s.state == "success")
            .and_then(|s| s.description)
            .expect("an approval")
    }

    /// Push a staging change to main without Warden seeing it (its deliveries are dropped), so
    /// the commit has no approval.
    fn unapproved_commit(&self, tag: &str) -> Sha {
        self.sim.faults().drop_deliveries(1);
        let path = "overlays/staging/kustomization.yaml";
        let text = read(path).replace("newTag: 1.5.0", &format!("newTag: {tag}"));
        self.sim
            .commit(
                self.repo,
                "main",
                &[(path, Some(text.as_bytes()))],
                "unreviewed",
            )
            .unwrap()
    }

    fn refused(agent: &Agent<PrintDeployer>, reason: &str) -> bool {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &agent.metrics.registry).unwrap();
        text.lines().any(|l| {
            l.starts_with("warden_agent_refused_approvals_total")
                && l.contains(&format!("reason=\"{reason}\""))
                && !l.ends_with(" 0")
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_valid_approval_is_deployed_once_and_idle_passes_cost_no_rate_limit() {
    let w = world().await;
    let buf = Buf::default();
    let agent = w.agent("staging", &buf, &[]);
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(w.main.clone())
    );
    let printed = buf.take();
    assert!(printed.starts_with(&format!("# warden-agent staging at {}\n", w.main)));
    // The render is the staging overlay's, as `warden render` (and kubectl) print it.
    let expected = warden::kustomize::build(
        &warden::kustomize::fs::DiskFs,
        &demo_dir().join("overlays/staging"),
        &Default::default(),
    )
    .unwrap();
    let mut want = Vec::new();
    expected.write_yaml(&mut want).unwrap();
    assert!(printed.ends_with(std::str::from_utf8(&want).unwrap()));
    // Reported back on the commit.
    let deployed = w
        .sim
        .statuses(w.repo, &w.main)
        .into_iter()
        .filter(|s| s.context == "warden/deployed/staging")
        .map(|s| s.state)
        .collect::<Vec<_>>();
    assert_eq!(deployed, ["pending", "success"], "in the order posted");

    // Nothing changes: nothing is deployed again, and every request is a free 304.
    let before = w.sim.exchanges().len();
    for _ in 0..3 {
        assert_eq!(
            agent.pass().await.unwrap(),
            PassOutcome::Unchanged {
                deployed: Some(w.main.clone())
            }
        );
    }
    let idle: Vec<_> = w.sim.exchanges()[before..]
        .iter()
        .filter(|x| x.path.starts_with("/repos/acme/gitops"))
        .map(|x| (x.method.clone(), x.path.clone(), x.status))
        .collect();
    assert!(!idle.is_empty());
    assert!(
        idle.iter().all(|(m, _, s)| m == "GET" && *s == 304),
        "{idle:?}"
    );
    assert!(buf.text().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_unknown_key_copied_and_other_environment_approvals_are_refused() {
    let w = world().await;
    let buf = Buf::default();
    let agent = w.agent("staging", &buf, &[]);
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(w.main.clone())
    );
    buf.take();

    // 1. An unsigned success, posted by someone who can post statuses.
    let c1 = w.unapproved_commit("6.6.6");
    w.post_status(&c1, "warden/approve/staging", "approved, trust me")
        .await;
    // 2. Signed, by a key the agent does not have.
    let stranger = Signer::from_seed(&[99u8; 32]);
    let claim =
        warden::signal::Claim::new("acme/gitops", w.repo.0, c1.as_str(), "staging").unwrap();
    let now = warden::github::client::now_unix();
    w.post_status(
        &c1,
        "warden/approve/staging",
        &stranger.approve(&claim, now).description(),
    )
    .await;
    // 3. Warden's real approval of main, copied onto this commit.
    w.post_status(
        &c1,
        "warden/approve/staging",
        &w.description(&w.main, "warden/approve/staging"),
    )
    .await;
    // 4. Warden's production approval of main, posted as staging's.
    w.post_status(
        &c1,
        "warden/approve/staging",
        &w.description(&w.main, "warden/approve/production"),
    )
    .await;
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Unchanged {
            deployed: Some(w.main.clone())
        }
    );
    assert!(buf.text().is_empty(), "nothing deployed");
    for reason in ["malformed", "unknown-key", "bad-signature"] {
        assert!(World::refused(&agent, reason), "{reason} not counted");
    }
    // Nothing was reported on the refused commit.
    assert!(
        !w.sim
            .statuses(w.repo, &c1)
            .iter()
            .any(|s| s.context.starts_with("warden/deployed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_older_approval_is_ignored_and_a_revert_rolls_back() {
    let w = world().await;
    let buf = Buf::default();
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("deployed");
    let state_arg = state_file.display().to_string();
    let agent = w.agent("staging", &buf, &[("WARDEN_AGENT_STATE_FILE", &state_arg)]);
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(w.main.clone())
    );

    // A bump, approved by Warden, is deployed.
    let path = "overlays/staging/kustomization.yaml";
    let bumped = read(path).replace("newTag: 1.5.0", "newTag: 1.5.1");
    let b = w
        .sim
        .commit(w.repo, "main", &[(path, Some(bumped.as_bytes()))], "bump")
        .unwrap();
    w.approved(&b).await;
    buf.take();
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(b.clone())
    );
    assert!(buf.take().contains("ghcr.io/example/shop:1.5.1"));

    // The branch is force-pushed back to the older commit; Warden approves it afresh, but it is
    // not ahead of what is deployed.
    w.sim.force_push(w.repo, "main", &w.main).unwrap();
    let deadline = Instant::now() + WAIT;
    while w
        .sim
        .statuses(w.repo, &w.main)
        .iter()
        .filter(|s| s.context == "warden/approve/staging")
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the force push was not re-approved"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Unchanged {
            deployed: Some(b.clone())
        }
    );
    assert!(World::refused(&agent, "not-ahead"));
    assert!(buf.text().is_empty());

    // A restarted agent remembers (state file) and still does not go back.
    let again = w.agent("staging", &buf, &[("WARDEN_AGENT_STATE_FILE", &state_arg)]);
    assert!(matches!(
        again.pass().await.unwrap(),
        PassOutcome::Unchanged { .. }
    ));

    // Rolling back is a revert commit on top of b, approved like any other.
    w.sim.force_push(w.repo, "main", &b).unwrap();
    let revert = w
        .sim
        .commit(
            w.repo,
            "main",
            &[(path, Some(read(path).as_bytes()))],
            "Revert \"bump\"",
        )
        .unwrap();
    w.approved(&revert).await;
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(revert.clone())
    );
    let printed = buf.take();
    assert!(printed.contains("ghcr.io/example/shop:1.5.0"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(&state_file).unwrap().trim(),
        revert.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_environment_is_not_deployed_and_the_other_is() {
    let w = world().await;
    // Break production only: a resource that does not exist.
    let path = "overlays/production/kustomization.yaml";
    let broken = read(path).replace("resources:\n", "resources:\n- missing.yaml\n");
    assert_ne!(broken, read(path));
    let c = w
        .sim
        .commit(
            w.repo,
            "main",
            &[(path, Some(broken.as_bytes()))],
            "break production",
        )
        .unwrap();
    w.approved(&c).await;
    let states: HashMap<String, String> = w
        .sim
        .statuses(w.repo, &c)
        .into_iter()
        .map(|s| (s.context, s.state))
        .collect();
    assert_eq!(states["warden/approve/production"], "failure");
    assert_eq!(states["warden/approve/staging"], "success");

    let buf = Buf::default();
    let prod = w.agent("production", &buf, &[]);
    // Production stays at the last approved commit: main.
    assert_eq!(
        prod.pass().await.unwrap(),
        PassOutcome::Deployed(w.main.clone())
    );
    let staging = w.agent("staging", &Buf::default(), &[]);
    assert_eq!(
        staging.pass().await.unwrap(),
        PassOutcome::Deployed(c.clone())
    );
}

/// A recorded-behaviour fake of the Kubernetes API for one custom resource: GET returns the
/// object, PATCH with `application/merge-patch+json` merges into it (RFC 7386) and returns it,
/// anything else is a 404 `Status`, as the API server answers.
#[derive(Clone, Default)]
struct FakeKube {
    objects: Arc<Mutex<HashMap<String, serde_json::Value>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// (method, path, content type, body) of one request.
type Recorded = (String, String, String, serde_json::Value);

fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match patch {
        serde_json::Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

impl FakeKube {
    async fn start(&self) -> String {
        use axum::extract::State;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        async fn handle(
            State(k): State<FakeKube>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> (StatusCode, axum::Json<serde_json::Value>) {
            let path = uri.path().to_string();
            let ctype = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            k.requests.lock().unwrap().push((
                method.to_string(),
                path.clone(),
                ctype.clone(),
                parsed.clone(),
            ));
            let mut objects = k.objects.lock().unwrap();
            let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": format!("{path} not found")});
            match (method.as_str(), objects.get_mut(&path)) {
                ("GET", Some(o)) => (StatusCode::OK, axum::Json(o.clone())),
                ("PATCH", Some(o)) if ctype == "application/merge-patch+json" => {
                    merge(o, &parsed);
                    (StatusCode::OK, axum::Json(o.clone()))
                }
                ("PATCH", Some(_)) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    axum::Json(
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 415}),
                    ),
                ),
                _ => (StatusCode::NOT_FOUND, axum::Json(not_found)),
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn patches(&self) -> Vec<serde_json::Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.0 == "PATCH")
            .map(|r| r.3.clone())
            .collect()
    }
}

async fn kube_client(url: &str) -> kube::Client {
    let config = kube::Config::new(url.parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn argocd_and_flux_modes_pin_the_controller_to_the_approved_commit_once() {
    use warden::agent::pin::{Controller, Pinner};
    let w = world().await;
    let fake = FakeKube::default();
    let app_path = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop-staging";
    let git_path =
        "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/gitops";
    fake.objects.lock().unwrap().insert(
        app_path.into(),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
               "metadata": {"name": "shop-staging", "namespace": "argocd"},
               "spec": {"source": {"repoURL": "https://github.com/acme/gitops", "path": "overlays/staging", "targetRevision": "main"}}}),
    );
    fake.objects.lock().unwrap().insert(
        git_path.into(),
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "gitops", "namespace": "flux-system"},
               "spec": {"url": "https://github.com/acme/gitops", "ref": {"branch": "main"}}}),
    );
    let url = fake.start().await;
    let config = |mode: &str| {
        let vars: HashMap<&str, String> = [
            ("WARDEN_GITHUB_API_URL", w.sim.url()),
            ("WARDEN_AGENT_REPO", "acme/gitops".into()),
            ("WARDEN_AGENT_ENVIRONMENT", "staging".into()),
            ("WARDEN_AGENT_PATH", "overlays/staging".into()),
            (
                "WARDEN_AGENT_PUBLIC_KEYS",
                w.keys.path().display().to_string(),
            ),
            ("WARDEN_AGENT_TOKEN", w.token.clone()),
            ("WARDEN_AGENT_MODE", mode.into()),
            ("WARDEN_AGENT_ARGOCD_APPLICATION", "shop-staging".into()),
            ("WARDEN_AGENT_FLUX_SOURCE", "gitops".into()),
        ]
        .into_iter()
        .collect();
        AgentConfig::load(&|k| vars.get(k).cloned(), &|p| std::fs::read_to_string(p)).unwrap()
    };
    let github = || {
        GitHubClient::with_token(
            &w.sim.url(),
            Some(w.token.clone().into()),
            ClientOptions::default(),
        )
        .unwrap()
    };
    fn now() -> u64 {
        1_796_000_000
    }
    let argo = Agent::new(
        config("argocd"),
        github(),
        Pinner::new(
            kube_client(&url).await,
            Controller::ArgoCd,
            "argocd",
            "shop-staging",
            now,
        ),
    );
    let flux = Agent::new(
        config("flux"),
        github(),
        Pinner::new(
            kube_client(&url).await,
            Controller::Flux,
            "flux-system",
            "gitops",
            now,
        ),
    );
    // Pinned to a branch: nothing the agent deployed, so the newest approved commit is pinned.
    assert_eq!(
        argo.pass().await.unwrap(),
        PassOutcome::Deployed(w.main.clone())
    );
    assert_eq!(
        flux.pass().await.unwrap(),
        PassOutcome::Deployed(w.main.clone())
    );
    let patches = fake.patches();
    assert_eq!(patches.len(), 2);
    assert_eq!(
        patches[0]["spec"]["source"]["targetRevision"],
        w.main.as_str()
    );
    assert_eq!(patches[0]["operation"]["sync"]["revision"], w.main.as_str());
    assert_eq!(patches[1]["spec"]["ref"]["commit"], w.main.as_str());
    assert_eq!(
        patches[1]["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"],
        "2026-11-30T00:53:20Z"
    );
    // The cluster remembers: the next passes read the pin back and patch nothing.
    for agent_pass in [argo.pass().await.unwrap(), flux.pass().await.unwrap()] {
        assert_eq!(
            agent_pass,
            PassOutcome::Unchanged {
                deployed: Some(w.main.clone())
            }
        );
    }
    assert_eq!(fake.patches().len(), 2);
    // Other fields of the objects are untouched.
    let app = fake.objects.lock().unwrap()[app_path].clone();
    assert_eq!(app["spec"]["source"]["path"], "overlays/staging");

    // A missing object is a clear error naming it, and nothing is reported as deployed.
    let missing = Agent::new(
        config("argocd"),
        github(),
        Pinner::new(
            kube_client(&url).await,
            Controller::ArgoCd,
            "argocd",
            "nope",
            now,
        ),
    );
    let e = missing.pass().await.unwrap_err().to_string();
    assert!(e.contains("Application argocd/nope"), "{e}");
}
