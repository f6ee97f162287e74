//! `warden-agent` end to end: the simulator holds the demo config repo, Warden (as the App)
//! signs approvals on the deploy branch, and the agent (print mode, writing to a buffer) deploys
//! only what Warden approved for its environment.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use warden::agent::apply::plan::Parent;
use warden::agent::apply::{Applier, ApplyOptions};
use warden::agent::config::AgentConfig;
use warden::agent::{Agent, PassOutcome, PrintDeployer};
use warden::demo::{RunningWarden, completed_run, start_warden};
use warden::demo::{sim_setup, start_sim};
use warden::github::client::{ClientOptions, GitHubClient};
use warden::github::ids::{RepoId, Sha};
use warden::signal::Signer;
use warden::sim::Sim;
use warden::sim::kube::KubeSim;

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
    let sim = start_sim(SECRET).await.expect("sim");
    let data = tempfile::tempdir().unwrap();
    let signer = Signer::from_seed(&SEED);
    let mut keys = tempfile::NamedTempFile::new().unwrap();
    keys.write_all(signer.public_pem().as_bytes()).unwrap();
    let warden = start_warden(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        sim_setup(&sim, data.path(), SECRET, Some(Arc::new(signer))),
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

fn crd(group: &str, version: &str, kind: &str, plural: &str) -> serde_json::Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": format!("{plural}.{group}")},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"kind": kind, "plural": plural},
                    "versions": [{"name": version, "served": true, "storage": true}]}})
}

fn namespace(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

/// The bodies of the PATCH requests the fake API server received.
fn patch_bodies(kube: &KubeSim) -> Vec<serde_json::Value> {
    kube.requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn argocd_and_flux_modes_pin_the_controller_to_the_approved_commit_once() {
    use warden::agent::pin::{Controller, Pinner};
    let w = world().await;
    let kube = KubeSim::start().await.unwrap();
    kube.insert(namespace("argocd"));
    kube.insert(namespace("flux-system"));
    kube.insert(crd(
        "argoproj.io",
        "v1alpha1",
        "Application",
        "applications",
    ));
    kube.insert(crd(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    ));
    kube.insert(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
               "metadata": {"name": "shop-staging", "namespace": "argocd"},
               "spec": {"source": {"repoURL": "https://github.com/acme/gitops", "path": "overlays/staging", "targetRevision": "main"}}}));
    kube.insert(
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
               "metadata": {"name": "gitops", "namespace": "flux-system"},
               "spec": {"url": "https://github.com/acme/gitops", "ref": {"branch": "main"}}}),
    );
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
            kube.client(),
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
            kube.client(),
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
    let patches = patch_bodies(&kube);
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
    assert_eq!(patch_bodies(&kube).len(), 2);
    // Other fields of the objects are untouched.
    let app = kube
        .get("argoproj.io", "applications", "argocd", "shop-staging")
        .unwrap();
    assert_eq!(app["spec"]["source"]["path"], "overlays/staging");

    // A missing object is a clear error naming it, and nothing is reported as deployed.
    let missing = Agent::new(
        config("argocd"),
        github(),
        Pinner::new(kube.client(), Controller::ArgoCd, "argocd", "nope", now),
    );
    let e = missing.pass().await.unwrap_err().to_string();
    assert!(e.contains("Application argocd/nope"), "{e}");
}

const WIDGETS: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop-staging
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: gear
spec:
  size: 3
";

impl World {
    /// Commit `changes` to main and wait for Warden's approvals.
    async fn approved_commit(&self, changes: &[(&str, Option<&[u8]>)], message: &str) -> Sha {
        let sha = self
            .sim
            .commit(self.repo, "main", changes, message)
            .unwrap();
        self.approved(&sha).await;
        sha
    }

    fn apply_agent(&self, kube: &KubeSim, timeout: Duration) -> Agent<Applier> {
        let buf = Buf::default();
        let config = self.agent("staging", &buf, &[]).config;
        let client = GitHubClient::with_token(
            &config.api_url,
            config.token.clone(),
            ClientOptions::default(),
        )
        .unwrap();
        let applier = Applier::new(
            kube.client(),
            ApplyOptions {
                parent: Parent {
                    namespace: "warden-agent".into(),
                    name: "warden-agent-staging".into(),
                },
                default_namespace: "default".into(),
                rollout_timeout: timeout,
                poll: Duration::from_millis(20),
            },
        );
        Agent::new(config, client, applier)
    }
}

/// The (kind plural, name) of every object in a namespace ("" for cluster-scoped ones).
fn objects_in(kube: &KubeSim, ns: &str) -> Vec<(String, String)> {
    kube.keys()
        .into_iter()
        .filter(|k| k.2 == ns)
        .map(|k| (k.1, k.3))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_mode_applies_crds_and_namespaces_first_prunes_what_left_and_waits_for_rollouts() {
    use warden::agent::apply::plan::{GROUP_KINDS, ID_LABEL, NAMESPACES, PART_OF};
    let w = world().await;
    let kube = KubeSim::start().await.unwrap();
    kube.insert(namespace("warden-agent"));
    let agent = w.apply_agent(&kube, Duration::from_secs(20));
    let id = Parent {
        namespace: "warden-agent".into(),
        name: "warden-agent-staging".into(),
    }
    .id();

    // The demo overlay's namespace does not exist: the API server refuses, the agent says
    // which object and file, reports the failure and records nothing as deployed.
    match agent.pass().await.unwrap() {
        PassOutcome::Failed { sha, reason } => {
            assert_eq!(sha, w.main);
            assert!(
                reason.contains("namespaces \"shop-staging\" not found"),
                "{reason}"
            );
            assert!(
                reason.contains("ServiceAccount shop-staging/staging-shop"),
                "{reason}"
            );
            assert!(reason.contains("base/serviceaccount.yaml"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let deployed = |sha: &Sha| {
        w.sim
            .statuses(w.repo, sha)
            .into_iter()
            .rev()
            .find(|s| s.context == "warden/deployed/staging")
            .map(|s| (s.state, s.description.unwrap_or_default()))
    };
    assert_eq!(deployed(&w.main).unwrap().0, "failure");
    let parent = kube
        .get("", "configmaps", "warden-agent", "warden-agent-staging")
        .unwrap();
    assert!(parent["data"].get("commit").is_none(), "{parent}");

    // Someone else's ConfigMap in the namespace, and one that carries the set's label but is
    // owned by another object: the agent must delete neither.
    let kustomization = read("overlays/staging/kustomization.yaml")
        .replace("- ../../base", "- ../../base\n- widgets.yaml");
    let c2 = w
        .approved_commit(
            &[
                ("overlays/staging/widgets.yaml", Some(WIDGETS.as_bytes())),
                (
                    "overlays/staging/kustomization.yaml",
                    Some(kustomization.as_bytes()),
                ),
            ],
            "staging: own namespace and a widget",
        )
        .await;
    let before = kube.requests().len();
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(c2.clone())
    );
    let (state, description) = deployed(&c2).unwrap();
    assert_eq!(state, "success");
    assert!(
        description.contains("applied 7 objects, pruned 0, 1 rolled out"),
        "{description}"
    );

    // Order: the CRD, then a read until it is established, then the Namespace, then the rest;
    // every apply is server-side, forced, by the warden-agent field manager.
    let reqs: Vec<_> = kube.requests()[before..].to_vec();
    let applies: Vec<&warden::sim::kube::KubeRequest> = reqs
        .iter()
        .filter(|r| r.method == "PATCH" && !r.path.ends_with("/warden-agent-staging"))
        .collect();
    let kinds: Vec<&str> = applies
        .iter()
        .map(|r| r.body.as_ref().unwrap()["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "Widget"
        ]
    );
    for r in &applies {
        assert_eq!(r.content_type, "application/apply-patch+yaml");
        assert!(r.query.contains("fieldManager=warden-agent"), "{}", r.query);
        assert!(r.query.contains("force=true"), "{}", r.query);
        assert_eq!(r.status, 201, "{} {}", r.path, r.status);
        assert_eq!(
            r.body.as_ref().unwrap()["metadata"]["labels"][PART_OF],
            id.as_str()
        );
    }
    let crd_at = reqs
        .iter()
        .position(|r| r.method == "PATCH" && r.path.contains("customresourcedefinitions"))
        .unwrap();
    let ns_at = reqs
        .iter()
        .position(|r| r.method == "PATCH" && r.path.ends_with("/namespaces/shop-staging"))
        .unwrap();
    let crd_reads = reqs[crd_at..ns_at]
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/widgets.example.com"))
        .count();
    assert!(
        crd_reads >= 2,
        "the agent waited for the CRD ({crd_reads} reads)"
    );
    // It waited for the Deployment to roll out (the stand-in controller lags one read).
    let dep_reads = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/deployments/staging-shop"))
        .count();
    assert!(dep_reads >= 2, "{dep_reads}");
    let parent = kube
        .get("", "configmaps", "warden-agent", "warden-agent-staging")
        .unwrap();
    assert_eq!(parent["metadata"]["labels"][ID_LABEL], id.as_str());
    assert_eq!(
        parent["metadata"]["annotations"][GROUP_KINDS],
        "ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Deployment.apps,Namespace,Service,ServiceAccount,Widget.example.com"
    );
    assert_eq!(
        parent["metadata"]["annotations"][NAMESPACES],
        "shop-staging"
    );
    assert_eq!(parent["data"]["commit"], c2.as_str());
    let widget = kube
        .get("example.com", "widgets", "shop-staging", "staging-gear")
        .unwrap();
    assert_eq!(widget["spec"]["size"], 3);

    // Nothing new: the deployed commit is read back from the cluster and nothing is applied.
    let before = kube.requests().len();
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Unchanged {
            deployed: Some(c2.clone())
        }
    );
    assert!(kube.requests()[before..].iter().all(|r| r.method == "GET"));

    kube.insert(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "theirs", "namespace": "shop-staging"}, "data": {"k": "v"}}));
    kube.insert(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "owned", "namespace": "shop-staging", "labels": {PART_OF: id},
            "ownerReferences": [{"apiVersion": "example.com/v1", "kind": "Widget", "name": "staging-gear", "uid": "u-widget"}]}}));

    // The widget leaves the overlay and the generated ConfigMap gets a new hash suffix: the
    // old ConfigMap and the widget are pruned; the foreign and the owned ConfigMaps stay.
    let old_config: Vec<String> = objects_in(&kube, "shop-staging")
        .into_iter()
        .filter(|(p, n)| p == "configmaps" && n.starts_with("staging-shop-config-"))
        .map(|(_, n)| n)
        .collect();
    assert_eq!(old_config.len(), 1);
    let widgets = WIDGETS
        .split("---\n")
        .take(2)
        .collect::<Vec<_>>()
        .join("---\n");
    let kustomization = kustomization.replace("LOG_LEVEL=debug", "LOG_LEVEL=info");
    let c3 = w
        .approved_commit(
            &[
                ("overlays/staging/widgets.yaml", Some(widgets.as_bytes())),
                (
                    "overlays/staging/kustomization.yaml",
                    Some(kustomization.as_bytes()),
                ),
            ],
            "staging: no widget, quieter logs",
        )
        .await;
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Deployed(c3.clone())
    );
    let (_, description) = deployed(&c3).unwrap();
    assert!(description.contains("pruned 2"), "{description}");
    assert!(
        description.contains("1 kept (owned elsewhere)"),
        "{description}"
    );
    let now: Vec<String> = objects_in(&kube, "shop-staging")
        .into_iter()
        .filter(|(p, _)| p == "configmaps")
        .map(|(_, n)| n)
        .collect();
    assert!(!now.contains(&old_config[0]), "{now:?}");
    assert!(
        now.contains(&"theirs".to_string()) && now.contains(&"owned".to_string()),
        "{now:?}"
    );
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(
        kube.get("example.com", "widgets", "shop-staging", "staging-gear")
            .is_none()
    );
    let parent = kube
        .get("", "configmaps", "warden-agent", "warden-agent-staging")
        .unwrap();
    assert!(
        !parent["metadata"]["annotations"][GROUP_KINDS]
            .as_str()
            .unwrap()
            .contains("Widget"),
        "{parent}"
    );
    // The CRD is still rendered, so it stays.
    assert!(
        kube.get(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            "widgets.example.com"
        )
        .is_some()
    );

    // A rollout that never finishes: the commit is applied (and recorded), the failure is
    // reported with the reason, and it is not retried.
    kube.stall("deployments", "shop-staging", "staging-shop");
    let agent = w.apply_agent(&kube, Duration::from_millis(300));
    let kustomization = kustomization.replace("newTag: 1.5.0", "newTag: 1.6.0");
    let c4 = w
        .approved_commit(
            &[(
                "overlays/staging/kustomization.yaml",
                Some(kustomization.as_bytes()),
            )],
            "staging: 1.6.0",
        )
        .await;
    match agent.pass().await.unwrap() {
        PassOutcome::Failed { sha, reason } => {
            assert_eq!(sha, c4);
            assert!(reason.contains("rollouts not done"), "{reason}");
            assert!(
                reason.contains("Deployment.apps shop-staging/staging-shop"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(deployed(&c4).unwrap().0, "failure");
    let dep = kube
        .get("apps", "deployments", "shop-staging", "staging-shop")
        .unwrap();
    assert!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .ends_with(":1.6.0")
    );
    assert_eq!(
        agent.pass().await.unwrap(),
        PassOutcome::Unchanged { deployed: Some(c4) }
    );
}
