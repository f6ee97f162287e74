//! `warden-agent`: the pull agent in each cluster. Each pass reads the deploy branch's newest
//! commits and their statuses (conditional requests: while nothing changes every answer is a
//! 304, which costs no rate limit), picks the newest commit with a valid Warden approval for its
//! environment that is ahead of what it deployed, fetches that commit's tarball, renders its
//! overlay with Warden's own Kustomize engine and hands the objects to the [`Deployer`] of its
//! mode. Anything it cannot verify leaves the cluster as it is, and is logged and counted with
//! the reason. See docs/agent.md.

pub mod apply;
pub mod config;
pub mod decide;
pub mod endpoints;
pub mod pin;

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

use crate::github::client::{As, GitHubClient, GitHubError, now_unix};
use crate::github::ids::{RepoName, Sha};
use crate::kustomize::{self, BuildOptions, Rendered};
use crate::signal::deployed_context;

use config::AgentConfig;
use decide::{Identity, SeenStatus, candidates};

/// Why a pass or a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("{0}")]
    Render(String),
    #[error("{0}")]
    Deploy(String),
    #[error("{0}")]
    State(String),
    /// The API server refused an object for a reason the same commit would meet again.
    #[error("{0}")]
    Rejected(String),
    /// Applied, but not healthy in time (the commit is deployed; a fix is a new commit).
    #[error("{0}")]
    Unhealthy(String),
}

impl AgentError {
    /// Worth trying again on the next pass (the same commit would fail the same way otherwise).
    pub fn transient(&self) -> bool {
        match self {
            AgentError::GitHub(e) => e.transient(),
            AgentError::Deploy(_) | AgentError::State(_) => true,
            AgentError::Render(_) | AgentError::Rejected(_) | AgentError::Unhealthy(_) => false,
        }
    }
}

/// Where the rendered objects go: one implementation per mode.
pub trait Deployer: Send + Sync + 'static {
    /// The commit deployed now, if any.
    fn deployed(&self) -> impl Future<Output = Result<Option<Sha>, AgentError>> + Send;
    /// Deploy the render of `sha`; a line saying what was done.
    fn deploy(
        &self,
        sha: &Sha,
        rendered: &Rendered,
    ) -> impl Future<Output = Result<String, AgentError>> + Send;
}

/// `print` mode: the objects go to a writer (standard output), the deployed commit to an
/// optional state file.
pub struct PrintDeployer {
    out: Mutex<Box<dyn Write + Send>>,
    state_file: Option<PathBuf>,
    current: Mutex<Option<Sha>>,
    header: String,
}

impl PrintDeployer {
    /// `header` starts each printed render (a YAML comment naming repo, environment and path).
    pub fn new(
        out: Box<dyn Write + Send>,
        state_file: Option<PathBuf>,
        header: String,
    ) -> PrintDeployer {
        PrintDeployer {
            out: Mutex::new(out),
            state_file,
            current: Mutex::new(None),
            header,
        }
    }
}

fn read_state(path: &Path) -> Result<Option<Sha>, AgentError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Sha::parse(text.trim())
            .map(Some)
            .map_err(|e| AgentError::State(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AgentError::State(format!("{}: {e}", path.display()))),
    }
}

impl Deployer for PrintDeployer {
    async fn deployed(&self) -> Result<Option<Sha>, AgentError> {
        if let Some(s) = self.current.lock().expect("state lock").clone() {
            return Ok(Some(s));
        }
        match &self.state_file {
            Some(p) => read_state(p),
            None => Ok(None),
        }
    }

    async fn deploy(&self, sha: &Sha, rendered: &Rendered) -> Result<String, AgentError> {
        let mut bytes = format!("# {} at {sha}\n", self.header).into_bytes();
        rendered
            .write_yaml(&mut bytes)
            .map_err(|e| AgentError::Deploy(e.to_string()))?;
        {
            let mut out = self.out.lock().expect("output lock");
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| AgentError::Deploy(format!("standard output: {e}")))?;
        }
        if let Some(p) = &self.state_file {
            let tmp = p.with_extension("tmp");
            std::fs::write(&tmp, format!("{sha}\n"))
                .and_then(|()| std::fs::rename(&tmp, p))
                .map_err(|e| AgentError::State(format!("{}: {e}", p.display())))?;
        }
        *self.current.lock().expect("state lock") = Some(sha.clone());
        Ok(format!("printed {} objects", rendered.resources.len()))
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

/// The agent's metrics (`GET /metrics`).
pub struct AgentMetrics {
    pub registry: Registry,
    pub passes: Family<ResultLabels, Counter>,
    pub refused: Family<ReasonLabels, Counter>,
    pub deploys: Family<ResultLabels, Counter>,
    pub last_pass_ok: Gauge,
    pub last_deploy: Gauge,
}

impl Default for AgentMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("warden_agent");
        let passes = Family::<ResultLabels, Counter>::default();
        let refused = Family::<ReasonLabels, Counter>::default();
        let deploys = Family::<ResultLabels, Counter>::default();
        let last_pass_ok = Gauge::default();
        let last_deploy = Gauge::default();
        registry.register(
            "passes",
            "Passes over the deploy branch by result",
            passes.clone(),
        );
        registry.register(
            "refused_approvals",
            "Approval statuses refused, by reason (each counted once)",
            refused.clone(),
        );
        registry.register("deploys", "Deployments by result", deploys.clone());
        registry.register(
            "last_successful_pass_timestamp_seconds",
            "When the last pass succeeded",
            last_pass_ok.clone(),
        );
        registry.register(
            "last_deploy_timestamp_seconds",
            "When the last deployment succeeded",
            last_deploy.clone(),
        );
        AgentMetrics {
            registry,
            passes,
            refused,
            deploys,
            last_pass_ok,
            last_deploy,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassOutcome {
    /// Deployed this commit.
    Deployed(Sha),
    /// Nothing newer is approved (or what is approved is not ahead of the deployed commit).
    Unchanged { deployed: Option<Sha> },
    /// This commit was approved but could not be deployed; it is not tried again.
    Failed { sha: Sha, reason: String },
}

/// The agent: its configuration, GitHub, its deployer.
pub struct Agent<D: Deployer> {
    pub config: AgentConfig,
    pub client: GitHubClient,
    pub deployer: D,
    pub metrics: Arc<AgentMetrics>,
    /// Refusals already logged and counted (sha, context, description).
    seen_refusals: Mutex<HashSet<(String, String)>>,
    /// Commits that failed to deploy for a reason retrying will not fix.
    failed: Mutex<HashSet<Sha>>,
    repo_id: tokio::sync::OnceCell<u64>,
}

fn bad(what: &str, why: impl Into<String>) -> AgentError {
    AgentError::GitHub(GitHubError::BadResponse {
        path: what.to_string(),
        what: why.into(),
    })
}

impl<D: Deployer> Agent<D> {
    pub fn new(config: AgentConfig, client: GitHubClient, deployer: D) -> Agent<D> {
        Agent {
            config,
            client,
            deployer,
            metrics: Arc::default(),
            seen_refusals: Mutex::default(),
            failed: Mutex::default(),
            repo_id: tokio::sync::OnceCell::new(),
        }
    }

    fn repo(&self) -> &RepoName {
        &self.config.repo
    }

    fn url(&self, rest: &str) -> String {
        self.client.url(&format!("/repos/{}{rest}", self.repo()))
    }

    async fn get_json(&self, rest: &str, what: &str) -> Result<Value, AgentError> {
        let a = self.client.get(As::Token, &self.url(rest)).await?;
        Ok(a.json(what)?)
    }

    /// The repository's numeric id (the approvals name it, so a deleted and re-created
    /// repository of the same name does not inherit them).
    async fn repository_id(&self) -> Result<u64, AgentError> {
        let id = self
            .repo_id
            .get_or_try_init(|| async {
                let v = self.get_json("", "GET /repos/{owner}/{repo}").await?;
                v["id"]
                    .as_u64()
                    .ok_or_else(|| bad("GET /repos/{owner}/{repo}", "no numeric id"))
            })
            .await?;
        Ok(*id)
    }

    /// The branch's newest commits, newest first.
    async fn commits(&self) -> Result<Vec<Sha>, AgentError> {
        let what = "GET /repos/{owner}/{repo}/commits";
        let v = self
            .get_json(
                &format!(
                    "/commits?sha={}&per_page={}",
                    self.config.branch, self.config.depth
                ),
                what,
            )
            .await?;
        let items = v.as_array().ok_or_else(|| bad(what, "not a list"))?;
        items
            .iter()
            .map(|c| {
                Sha::parse(c["sha"].as_str().unwrap_or_default())
                    .map_err(|e| bad(what, e.to_string()))
            })
            .collect()
    }

    /// A commit's statuses (the first 100, newest first).
    async fn statuses(&self, sha: &Sha) -> Result<Vec<SeenStatus>, AgentError> {
        let what = "GET /repos/{owner}/{repo}/commits/{ref}/statuses";
        let v = self
            .get_json(&format!("/commits/{sha}/statuses?per_page=100"), what)
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|s| SeenStatus {
                        state: s["state"].as_str().unwrap_or_default().to_string(),
                        context: s["context"].as_str().unwrap_or_default().to_string(),
                        description: s["description"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Whether `candidate` strictly descends from `deployed` (GitHub's compare says `ahead`).
    async fn is_ahead(&self, deployed: &Sha, candidate: &Sha) -> Result<bool, AgentError> {
        let v = self
            .get_json(
                &format!("/compare/{deployed}...{candidate}"),
                "GET /repos/{owner}/{repo}/compare/{basehead}",
            )
            .await?;
        Ok(v["status"].as_str() == Some("ahead"))
    }

    async fn render(&self, sha: &Sha) -> Result<Rendered, AgentError> {
        let snap = self
            .client
            .fetch_snapshot(As::Token, self.repo(), sha)
            .await
            .map_err(|e| match e {
                // An archive Warden refuses to unpack fails the same way every time.
                GitHubError::Tarball(t) => AgentError::Render(t.to_string()),
                other => AgentError::GitHub(other),
            })?;
        let dir = self.config.path.clone();
        let label = format!("commit {}", sha.short());
        tokio::task::spawn_blocking(move || {
            kustomize::build(snap.fs(), &snap.path(&dir), &BuildOptions::default())
                .map_err(|e| AgentError::Render(format!("{dir} at {label}: {e}")))
        })
        .await
        .map_err(|e| AgentError::Render(format!("the render stopped: {e}")))?
    }

    /// Report on the deployed commit, when the agent has a token (else there is no one to
    /// report as). A failed report is logged, never fatal.
    async fn report(&self, sha: &Sha, state: &'static str, description: &str) {
        if self.config.token.is_none() {
            return;
        }
        let description: String = description.chars().take(140).collect();
        let body = json!({
            "state": state,
            "context": deployed_context(&self.config.environment),
            "description": description,
        });
        let url = self.url(&format!("/statuses/{sha}"));
        if let Err(e) = self
            .client
            .request(As::Token, ::http::Method::POST, &url, Some(&body))
            .await
        {
            tracing::warn!(sha = %sha, error = %e, "could not report the deployment");
        }
    }

    fn note_refusals(&self, refused: &[decide::Refused]) {
        let mut seen = self.seen_refusals.lock().expect("refusals lock");
        for r in refused {
            let key = (r.sha.to_string(), r.refusal.to_string());
            if seen.insert(key) {
                self.metrics
                    .refused
                    .get_or_create(&ReasonLabels {
                        reason: r.refusal.kind().to_string(),
                    })
                    .inc();
                tracing::warn!(
                    sha = %r.sha,
                    environment = %self.config.environment,
                    reason = r.refusal.kind(),
                    detail = %r.refusal,
                    "approval refused; the cluster stays as it is"
                );
            }
        }
    }

    /// One pass.
    pub async fn pass(&self) -> Result<PassOutcome, AgentError> {
        let result = self.pass_inner().await;
        let label = match &result {
            Ok(PassOutcome::Deployed(_)) => "deployed",
            Ok(PassOutcome::Unchanged { .. }) => "unchanged",
            Ok(PassOutcome::Failed { .. }) => "deploy-failed",
            Err(_) => "error",
        };
        self.metrics
            .passes
            .get_or_create(&ResultLabels {
                result: label.into(),
            })
            .inc();
        if result.is_ok() {
            self.metrics.last_pass_ok.set(now_unix() as i64);
        }
        result
    }

    async fn pass_inner(&self) -> Result<PassOutcome, AgentError> {
        let repo_id = self.repository_id().await?;
        let deployed = self.deployer.deployed().await?;
        let commits = self.commits().await?;
        let mut looked = Vec::new();
        for sha in &commits {
            if Some(sha) == deployed.as_ref() {
                break;
            }
            looked.push((sha.clone(), self.statuses(sha).await?));
        }
        let repository = self.repo().to_string();
        let me = Identity {
            repository: &repository,
            repository_id: repo_id,
            environment: &self.config.environment,
            keys: &self.config.keys,
            max_age_secs: Some(self.config.max_age.as_secs()),
        };
        let found = candidates(&me, &looked, deployed.as_ref(), now_unix());
        self.note_refusals(&found.refused);
        for (sha, approval) in &found.approved {
            if self.failed.lock().expect("failed lock").contains(sha) {
                continue;
            }
            if let Some(d) = &deployed
                && !self.is_ahead(d, sha).await?
            {
                self.note_refusals(&[decide::Refused {
                    sha: sha.clone(),
                    refusal: crate::signal::Refusal::NotAhead {
                        deployed: d.to_string(),
                    },
                }]);
                continue;
            }
            tracing::info!(
                sha = %sha,
                environment = %self.config.environment,
                key_id = %approval.key_id,
                "deploying an approved commit"
            );
            self.report(sha, "pending", "deploying").await;
            let done = match self.render(sha).await {
                Ok(rendered) => self.deployer.deploy(sha, &rendered).await,
                Err(e) => Err(e),
            };
            return match done {
                Ok(summary) => {
                    self.metrics
                        .deploys
                        .get_or_create(&ResultLabels {
                            result: "success".into(),
                        })
                        .inc();
                    self.metrics.last_deploy.set(now_unix() as i64);
                    tracing::info!(sha = %sha, summary = %summary, "deployed");
                    self.report(sha, "success", &format!("deployed: {summary}"))
                        .await;
                    Ok(PassOutcome::Deployed(sha.clone()))
                }
                Err(e) => {
                    self.metrics
                        .deploys
                        .get_or_create(&ResultLabels {
                            result: "failure".into(),
                        })
                        .inc();
                    let reason = e.to_string();
                    tracing::error!(sha = %sha, error = %reason, "deployment failed");
                    self.report(sha, "failure", &reason).await;
                    if e.transient() {
                        Err(e)
                    } else {
                        self.failed.lock().expect("failed lock").insert(sha.clone());
                        Ok(PassOutcome::Failed {
                            sha: sha.clone(),
                            reason,
                        })
                    }
                }
            };
        }
        Ok(PassOutcome::Unchanged { deployed })
    }
}
