//! `warden demo`: Warden's main job on a bundled config repo, with no GitHub account and no
//! network. The GitHub simulator (`sim`) serves a copy of the demo repo (fixtures/demo) on
//! loopback; Warden runs against it exactly as `warden serve` runs against GitHub (App JWT,
//! installation token, webhooks, tarballs, check runs, the sticky comment); two pull requests
//! are opened — a staging image bump by Renovate and a change that breaks a production policy —
//! and what GitHub would show on each is gathered for printing.
//!
//! [`start_warden`] is the same assembly `warden serve` uses, on a listener of the caller's,
//! shared with the end-to-end tests and the benchmark.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;

use crate::app::pipeline::CHECK_NAME;
use crate::app::serve::{self, WardenSetup};
use crate::app::workers::WorkerOptions;
use crate::github::client::ClientOptions;
use crate::github::ids::{PrNumber, RepoId, Sha};
use crate::report::markdown::STICKY_MARKER;
use crate::sim::{CheckRunView, Sim, SimOptions};
use crate::store::Store;

/// The test App's keys (fixtures/keys: made for tests and the demo, never a real App's).
pub const DEMO_PRIVATE_KEY: &str = include_str!("../fixtures/keys/app-private.pem");
pub const DEMO_PUBLIC_KEY: &str = include_str!("../fixtures/keys/app-public.pem");
pub const DEMO_APP_ID: u64 = 1001;
pub const DEMO_APP_SLUG: &str = "warden";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Setup(String),
    #[error("gave up waiting for {0}")]
    Timeout(String),
}

/// A Warden server running in this process.
pub struct RunningWarden {
    pub addr: std::net::SocketAddr,
    pub store: Arc<Store>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningWarden {
    /// `http://ADDR/webhook`.
    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    /// Stop it as SIGTERM would: the server and workers end, queued jobs stay in the store.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

/// Start Warden's server, workers and reconcile loop on `listener` (the assembly of
/// `warden serve`), until [`RunningWarden::stop`].
pub async fn start_warden(
    listener: tokio::net::TcpListener,
    setup: WardenSetup,
) -> Result<RunningWarden, DemoError> {
    let prepared = serve::prepare(setup).map_err(|e| DemoError::Setup(e.to_string()))?;
    let store = prepared.store.clone();
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(prepared.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok(RunningWarden {
        addr,
        store,
        stop,
        task,
    })
}

/// One pull request of the demo and what GitHub shows on it.
pub struct DemoPull {
    pub number: PrNumber,
    pub title: String,
    pub author: String,
    pub head: Sha,
    pub run: CheckRunView,
    /// Warden's sticky comment.
    pub comment: Option<String>,
    /// From opening the pull request to the completed check run.
    pub elapsed: Duration,
}

/// The deploy half of the demo: the Renovate PR merged, the merge commit approved per
/// environment, and `warden-agent` (apply mode, in this process, against the Kubernetes API
/// stand-in) deploying it to staging.
pub struct DemoDeploy {
    pub merged: Sha,
    /// (environment, state, description) of each `warden/approve/*` status.
    pub approvals: Vec<(String, String, String)>,
    pub key_id: String,
    /// What the agent's pass did.
    pub agent: String,
    /// The images of the Deployments in the cluster afterwards.
    pub images: Vec<String>,
    pub objects: usize,
}

/// Everything the demo shows.
pub struct DemoReport {
    pub repo: String,
    pub pulls: Vec<DemoPull>,
    pub deploy: DemoDeploy,
}

/// Wait until the `warden` check run on `head` is completed.
pub async fn completed_run(
    sim: &Sim,
    repo: RepoId,
    head: &Sha,
    timeout: Duration,
) -> Result<CheckRunView, DemoError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(run) = sim
            .check_runs(repo)
            .into_iter()
            .rev()
            .find(|r| r.name == CHECK_NAME && r.head_sha == *head && r.status == "completed")
        {
            return Ok(run);
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout(format!(
                "the warden check run on {}",
                head.short()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The demo App serving against `sim` (state in `data_dir`, approvals signed by `signer`), with
/// the repository `acme/gitops` installed for `acme` and `repo_dir` committed to `main`; returns
/// once Warden checked that commit. The common start of the end-to-end tests.
pub async fn serve_demo_repo(
    sim: &Sim,
    data_dir: &Path,
    secret: &str,
    signer: Option<Arc<crate::signal::Signer>>,
    repo_dir: &Path,
) -> Result<(RunningWarden, RepoId, Sha), DemoError> {
    let warden = start_warden(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        sim_setup(sim, data_dir, secret, signer),
    )
    .await?;
    sim.set_webhook_url(Some(warden.webhook_url()));
    let inst = sim.create_installation("acme");
    let repo = sim.create_repo(inst, "acme/gitops", "main", true)?;
    let main = sim.commit_dir(repo, "main", repo_dir, "Shop config")?;
    completed_run(sim, repo, &main, Duration::from_secs(60)).await?;
    Ok((warden, repo, main))
}

/// A fresh signing key for deploy approvals.
pub fn random_signer() -> Result<crate::signal::Signer, DemoError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| DemoError::Setup(format!("no randomness: {e}")))?;
    Ok(crate::signal::Signer::from_seed(&seed))
}

fn read(dir: &Path, rel: &str) -> Result<String, DemoError> {
    std::fs::read_to_string(dir.join(rel))
        .map_err(|e| DemoError::Setup(format!("{}: {e}", dir.join(rel).display())))
}

/// Run the demo on the config repo in `repo_dir` (fixtures/demo).
/// The simulator as the demo App's GitHub, signing webhooks with `secret`.
pub async fn start_sim(secret: &str) -> std::io::Result<Sim> {
    Sim::start(SimOptions::new(
        DEMO_APP_ID,
        DEMO_APP_SLUG,
        DEMO_PUBLIC_KEY,
        secret,
    ))
    .await
}

/// `warden serve`'s set-up as the demo App against `sim`, state in `data_dir`: 2 workers
/// polling every 50 ms, 2 render threads, a reconcile pass an hour. Callers change what they
/// need with struct update syntax.
pub fn sim_setup(
    sim: &Sim,
    data_dir: &Path,
    secret: &str,
    signer: Option<Arc<crate::signal::Signer>>,
) -> WardenSetup {
    WardenSetup {
        api_url: sim.url(),
        app_id: DEMO_APP_ID,
        private_key: SecretString::from(DEMO_PRIVATE_KEY),
        webhook_secret: SecretString::from(secret),
        data_dir: data_dir.to_path_buf(),
        workers: WorkerOptions {
            workers: 2,
            poll: Duration::from_millis(50),
            ..WorkerOptions::default()
        },
        threads: 2,
        reconcile_interval: Duration::from_secs(3600),
        client: ClientOptions::default(),
        signer,
    }
}

pub async fn run(repo_dir: &Path, threads: usize) -> Result<DemoReport, DemoError> {
    let secret = "demo-webhook-secret";
    let sim = start_sim(secret).await?;
    let data = tempfile::tempdir()?;
    let signer = Arc::new(random_signer()?);
    let warden = start_warden(
        tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        WardenSetup {
            threads,
            reconcile_interval: Duration::from_secs(600),
            ..sim_setup(&sim, data.path(), secret, Some(signer.clone()))
        },
    )
    .await?;
    sim.set_webhook_url(Some(warden.webhook_url()));

    let inst = sim.create_installation("acme");
    let repo = sim.create_repo(inst, "acme/gitops", "main", true)?;
    sim.commit_dir(
        repo,
        "main",
        repo_dir,
        "Shop config for staging and production",
    )?;

    // 1. Renovate bumps the shop image in staging.
    let staging = "overlays/staging/kustomization.yaml";
    let bumped = read(repo_dir, staging)?.replace("newTag: 1.5.0", "newTag: 1.5.1");
    let bump_title = "Update ghcr.io/example/shop to 1.5.1 in staging";
    sim.commit(
        repo,
        "renovate/shop-1.5.1",
        &[(staging, Some(bumped.as_bytes()))],
        bump_title,
    )?;
    // 2. A developer exposes a debug port in production, which the repo's policy forbids.
    let prod = "overlays/production/kustomization.yaml";
    let kustomization = read(repo_dir, prod)?.replace(
        "resources:\n- ../../base\n",
        "resources:\n- ../../base\n- debug-service.yaml\n",
    );
    let debug_service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: shop-debug\nspec:\n  type: NodePort\n  selector:\n    component: web\n  ports:\n  - port: 9229\n    nodePort: 30229\n";
    let debug_title = "Expose the shop's debugger in production";
    sim.commit(
        repo,
        "debug-port",
        &[
            (prod, Some(kustomization.as_bytes())),
            (
                "overlays/production/debug-service.yaml",
                Some(debug_service.as_bytes()),
            ),
        ],
        debug_title,
    )?;

    let mut pulls = Vec::new();
    for (branch, title, author) in [
        ("renovate/shop-1.5.1", bump_title, "renovate[bot]"),
        ("debug-port", debug_title, "alice"),
    ] {
        let started = Instant::now();
        let number = sim.open_pull(repo, branch, "main", title, author)?;
        let head = sim
            .branch(repo, branch)
            .ok_or_else(|| DemoError::Setup(format!("no branch {branch}")))?;
        let run = completed_run(&sim, repo, &head, Duration::from_secs(120)).await?;
        let elapsed = started.elapsed();
        // The comment is written right after the check run is completed.
        let deadline = Instant::now() + Duration::from_secs(10);
        let comment = loop {
            let c = sim
                .comments(repo, number)
                .into_iter()
                .find(|c| c.author_is_bot && c.body.starts_with(STICKY_MARKER))
                .map(|c| c.body);
            if c.is_some() || Instant::now() > deadline {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        pulls.push(DemoPull {
            number,
            title: title.to_string(),
            author: author.to_string(),
            head,
            run,
            comment,
            elapsed,
        });
    }
    let deploy = deploy(&sim, repo, pulls[0].number, &signer).await?;
    // Each check run ends with Warden's auto-merge verdict, written once it decided.
    for p in &mut pulls {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let run = sim
                .check_runs(repo)
                .into_iter()
                .rev()
                .find(|r| r.name == CHECK_NAME && r.head_sha == p.head);
            if let Some(run) = run
                && run
                    .summary
                    .as_deref()
                    .is_some_and(|s| s.contains(crate::promote::verdict::SECTION_MARKER))
            {
                p.run = run;
                break;
            }
            if Instant::now() > deadline {
                return Err(DemoError::Timeout(format!(
                    "the auto-merge verdict on pull request #{}",
                    p.number
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    warden.stop().await?;
    sim.shutdown().await;
    Ok(DemoReport {
        repo: "acme/gitops".into(),
        pulls,
        deploy,
    })
}

/// Wait for Warden to auto-merge the Renovate PR, then for its approvals on the merge commit,
/// then run one pass of `warden-agent` for staging in apply mode against a stand-in cluster.
async fn deploy(
    sim: &Sim,
    repo: RepoId,
    pr: PrNumber,
    signer: &crate::signal::Signer,
) -> Result<DemoDeploy, DemoError> {
    use crate::agent::apply::plan::{PART_OF, Parent};
    use crate::agent::apply::{Applier, ApplyOptions};
    use crate::agent::config::AgentConfig;
    use crate::agent::{Agent, PassOutcome};
    use crate::github::client::GitHubClient;
    let token = sim.user_token("agent");
    // Warden merges the Renovate PR itself: a trusted bot's staging image bump.
    let deadline = Instant::now() + Duration::from_secs(60);
    let merged = loop {
        if let Some(sha) = sim.pull(repo, pr).and_then(|p| p.merge_commit) {
            break sha;
        }
        if Instant::now() > deadline {
            return Err(DemoError::Setup(format!(
                "Warden did not auto-merge pull request #{pr}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    completed_run(sim, repo, &merged, Duration::from_secs(120)).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let approvals = loop {
        let a: Vec<(String, String, String)> = sim
            .statuses(repo, &merged)
            .into_iter()
            .filter_map(|s| {
                let env = s.context.strip_prefix("warden/approve/")?.to_string();
                Some((env, s.state, s.description.unwrap_or_default()))
            })
            .collect();
        if a.len() >= 2 {
            break a;
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout("the deploy approvals".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let keys = tempfile::NamedTempFile::new()?;
    std::fs::write(keys.path(), signer.public_pem())?;
    let vars = [
        ("WARDEN_GITHUB_API_URL", sim.url()),
        ("WARDEN_AGENT_REPO", "acme/gitops".to_string()),
        ("WARDEN_AGENT_ENVIRONMENT", "staging".to_string()),
        ("WARDEN_AGENT_PATH", "overlays/staging".to_string()),
        (
            "WARDEN_AGENT_PUBLIC_KEYS",
            keys.path().display().to_string(),
        ),
        ("WARDEN_AGENT_TOKEN", token),
    ];
    let config = AgentConfig::load(
        &|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()),
        &|p| std::fs::read_to_string(p),
    )
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    let agent_client = GitHubClient::with_token(
        &config.api_url,
        config.token.clone(),
        ClientOptions::default(),
    )
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    // A stand-in Kubernetes API with the namespace the staging overlay deploys to.
    let kube = crate::sim::kube::KubeSim::start().await?;
    for ns in ["shop-staging", "warden-agent"] {
        kube.insert(
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
    }
    let deployer = Applier::new(
        kube.client(),
        ApplyOptions {
            parent: Parent {
                namespace: "warden-agent".into(),
                name: "warden-agent-staging".into(),
            },
            default_namespace: "default".into(),
            rollout_timeout: Duration::from_secs(30),
            poll: Duration::from_millis(20),
        },
    );
    let agent = Agent::new(config, agent_client, deployer);
    let agent_line = match agent.pass().await {
        Ok(PassOutcome::Deployed(sha)) => {
            let summary = sim
                .statuses(repo, &sha)
                .into_iter()
                .rev()
                .find(|s| s.context == crate::signal::deployed_context("staging"))
                .and_then(|s| s.description)
                .unwrap_or_default();
            format!("deployed {} to staging ({summary})", sha.short())
        }
        Ok(other) => format!("did not deploy: {other:?}"),
        Err(e) => format!("failed: {e}"),
    };
    let owned = kube
        .keys()
        .into_iter()
        .filter_map(|(g, p, ns, n)| kube.get(&g, &p, &ns, &n))
        .filter(|o| o["metadata"]["labels"].get(PART_OF).is_some())
        .collect::<Vec<_>>();
    let objects = owned.len();
    let images = owned
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .flat_map(|o| {
            o["spec"]["template"]["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c["image"].as_str().map(str::to_string))
        .collect();
    Ok(DemoDeploy {
        merged,
        approvals,
        key_id: signer.key_id().to_string(),
        agent: agent_line,
        images,
        objects,
    })
}

/// The demo's output: per pull request, the check run's conclusion, title, summary,
/// annotations and Warden's comment, as GitHub would show them.
pub fn write_text(report: &DemoReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Warden demo: {} on a GitHub simulator, Warden as a GitHub App against it.\n",
        report.repo
    )?;
    for p in &report.pulls {
        let rule = "━".repeat(78);
        writeln!(out, "{rule}")?;
        writeln!(
            out,
            "PR #{} {} — by {} — head {}",
            p.number,
            p.title,
            p.author,
            p.head.short()
        )?;
        writeln!(out, "{rule}")?;
        writeln!(
            out,
            "Check run `{}`: {} — {} (webhook to completed run: {} ms)\n",
            p.run.name,
            p.run.conclusion.as_deref().unwrap_or("none"),
            p.run.title.as_deref().unwrap_or(""),
            p.elapsed.as_millis()
        )?;
        writeln!(
            out,
            "{}\n",
            p.run.summary.as_deref().unwrap_or("").trim_end()
        )?;
        if p.run.annotations.is_empty() {
            writeln!(out, "Annotations: none\n")?;
        } else {
            writeln!(out, "Annotations ({}):", p.run.annotations.len())?;
            for a in &p.run.annotations {
                writeln!(
                    out,
                    "  {}:{}  {}  {}",
                    a["path"].as_str().unwrap_or(""),
                    a["start_line"],
                    a["annotation_level"].as_str().unwrap_or(""),
                    a["title"].as_str().unwrap_or("")
                )?;
                for line in a["message"].as_str().unwrap_or("").lines() {
                    writeln!(out, "      {line}")?;
                }
            }
            writeln!(out)?;
        }
        match &p.comment {
            Some(c) => writeln!(
                out,
                "Comment by {DEMO_APP_SLUG}[bot]:\n\n{}\n",
                c.trim_end()
            )?,
            None => writeln!(out, "No comment.\n")?,
        }
    }
    let d = &report.deploy;
    let rule = "━".repeat(78);
    writeln!(out, "{rule}")?;
    writeln!(
        out,
        "PR #{} auto-merged by Warden — main is now {}: deploy approvals (signed with key {})",
        report.pulls.first().map_or(0, |p| p.number.0),
        d.merged.short(),
        d.key_id
    )?;
    writeln!(out, "{rule}")?;
    for (env, state, description) in &d.approvals {
        writeln!(out, "warden/approve/{env}: {state}\n    {description}")?;
    }
    writeln!(
        out,
        "\nwarden-agent (staging, apply mode, against a stand-in Kubernetes API): {}; {} objects \
         in the cluster carry its ApplySet label, images: {}",
        d.agent,
        d.objects,
        d.images.join(", ")
    )?;
    Ok(())
}
