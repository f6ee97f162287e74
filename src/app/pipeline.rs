//! The jobs `warden serve` runs, over a [`Forge`]: the few GitHub operations the pipeline needs,
//! so the pipeline is tested against an in-memory forge and runs against GitHub's API (or the
//! simulator) through the real client.
//!
//! A pull-request job: create the `warden` check run (in progress) on the head at once, fetch
//! the merge base and the head as tarballs, review the change with the base branch's config
//! (and the org's defaults), complete the check run with its conclusion, output and annotations,
//! and write the sticky comment.

use std::future::Future;
use std::sync::Arc;

use crate::github::ids::{CheckRunId, InstallationId, PrNumber, RepoId, RepoName, Sha};
use crate::github::webhook::{self, Event};
use crate::repo::Snapshot;
use crate::report::annotations::Annotation;
use crate::report::markdown::{CheckRunOutput, STICKY_MARKER};
use crate::review::{Conclusion, EnvironmentVerdict, PushedBranch, ReviewInput, review};
use crate::signal::{Claim, Signer, approve_context};
use crate::store::Job;

use super::workers::{JobHandler, Outcome};

/// The name of Warden's check run.
pub const CHECK_NAME: &str = "warden";

/// Where the org defaults live: this file of the org's `.github` repository.
pub const ORG_CONFIG_REPO: &str = ".github";
pub const ORG_CONFIG_FILE: &str = "warden.yml";

/// A failed GitHub operation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ForgeError {
    pub message: String,
    /// Worth trying again later (5xx, timeouts, rate limits).
    pub transient: bool,
}

/// The GitHub operations the pipeline uses, for one installation.
pub trait Forge: Send + Sync + 'static {
    /// Create the check run, in progress.
    fn start_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        head: &Sha,
    ) -> impl Future<Output = Result<StartedRun, ForgeError>> + Send;
    /// Complete it (annotations are sent 50 per request by the implementation).
    fn complete_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CheckRunId,
        conclusion: Conclusion,
        output: &CheckRunOutput,
        annotations: &[Annotation],
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// The files of a commit.
    fn snapshot(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> impl Future<Output = Result<Arc<Snapshot>, ForgeError>> + Send;
    /// The commit a pull request is compared from: the merge base of its base and head.
    fn merge_base(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        base: &Sha,
        head: &Sha,
    ) -> impl Future<Output = Result<Sha, ForgeError>> + Send;
    /// A file of a repository's default branch; `None` when it (or the repository) is absent.
    fn default_branch_file(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        path: &str,
    ) -> impl Future<Output = Result<Option<String>, ForgeError>> + Send;
    /// A pull request's current base tip and head (for a check-suite or re-run request, which
    /// names the pull request but not its base).
    fn pull_request(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
    ) -> impl Future<Output = Result<PullHeads, ForgeError>> + Send;
    /// Post a commit status.
    fn post_status(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
        status: &CommitStatus,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// Create the comment, or edit Warden's earlier one that starts with `marker`.
    fn upsert_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
        marker: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
}

/// A check run just created (or taken over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedRun {
    pub id: CheckRunId,
    /// Its page on GitHub, for statuses that point at it.
    pub html_url: Option<String>,
}

/// A commit status to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    /// `success`, `failure`, `pending` or `error`.
    pub state: &'static str,
    pub context: String,
    /// At most 140 characters.
    pub description: String,
    pub target_url: Option<String>,
}

/// Where a pull request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullHeads {
    pub base: Sha,
    pub head: Sha,
    pub open: bool,
}

/// What one job is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subject {
    pub installation: InstallationId,
    pub repo: RepoName,
    /// The commit checked.
    pub head: Sha,
    /// The commit compared against (a PR's base tip, or a push's previous commit).
    pub base: Option<Sha>,
    /// The pull request, when the job is about one (for the comment).
    pub pr: Option<PrNumber>,
    /// For a push: where it went (deploy approvals are posted for the deploy branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTo>,
}

/// The branch of a push, and what the approvals of its commit name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PushTo {
    pub branch: String,
    pub default_branch: String,
    /// The repository's numeric id (signed into approvals).
    pub repo_id: RepoId,
}

/// The subject of a queued delivery; `None` for jobs with no check to run.
pub fn subject_of(event: &Event) -> Option<Subject> {
    let inst = event.installation()?;
    match event {
        Event::PullRequest { repo, pr, .. } => Some(Subject {
            installation: inst,
            repo: repo.name.clone(),
            head: pr.head_sha.clone(),
            base: Some(pr.base_sha.clone()),
            pr: Some(pr.number),
            push: None,
        }),
        Event::Push {
            repo,
            before,
            after,
            git_ref,
            ..
        } => Some(Subject {
            installation: inst,
            repo: repo.name.clone(),
            head: after.clone(),
            base: (!before.is_zero()).then(|| before.clone()),
            pr: None,
            push: git_ref.strip_prefix("refs/heads/").map(|branch| PushTo {
                branch: branch.to_string(),
                default_branch: repo.default_branch.clone(),
                repo_id: repo.id,
            }),
        }),
        Event::CheckSuite {
            repo,
            head_sha,
            pull_requests,
            ..
        }
        | Event::CheckRun {
            repo,
            head_sha,
            pull_requests,
            ..
        } => Some(Subject {
            installation: inst,
            repo: repo.name.clone(),
            head: head_sha.clone(),
            // The pull request's base is looked up when the job runs.
            base: None,
            pr: pull_requests.first().copied(),
            push: None,
        }),
        _ => None,
    }
}

/// Runs queued jobs against a forge.
pub struct Pipeline<F: Forge> {
    pub forge: Arc<F>,
    /// Rendering threads per job (0: one per core).
    pub threads: usize,
    /// Signs the deploy approvals; without it none are posted.
    pub signer: Option<Arc<Signer>>,
    /// Where ChatOps keeps holds (None: no holds apply).
    pub store: Option<Arc<crate::store::Store>>,
}

impl<F: Forge> Pipeline<F> {
    /// Check one subject: the whole PR pipeline. When the check cannot be finished for a reason
    /// retrying will not fix, the check run is completed as a failure saying why (a gate that
    /// cannot run does not pass).
    pub async fn run(&self, s: &Subject) -> Result<Conclusion, ForgeError> {
        let f = &self.forge;
        let started = f.start_check_run(s.installation, &s.repo, &s.head).await?;
        let run = started.id;
        match self.review_and_post(s, &started).await {
            Err(e) if !e.transient => {
                let output = CheckRunOutput {
                    title: "Warden could not check this commit".into(),
                    summary: format!("Warden could not check this commit: {}", e.message),
                    text: String::new(),
                };
                f.complete_check_run(
                    s.installation,
                    &s.repo,
                    run,
                    Conclusion::Failure,
                    &output,
                    &[],
                )
                .await?;
                // A deploy-branch commit that could not be checked gets no approval: the
                // agents stay where they are.
                Err(e)
            }
            other => other,
        }
    }

    /// Whether deploy approvals are posted for this subject (a push, and a signing key).
    fn approving(&self, s: &Subject) -> bool {
        self.signer.is_some() && s.push.is_some()
    }

    /// One status per environment: signed `success`, or `failure` with the reason.
    async fn post_approvals(
        &self,
        s: &Subject,
        run: &StartedRun,
        verdicts: &[EnvironmentVerdict],
    ) -> Result<(), ForgeError> {
        let (Some(signer), Some(push)) = (&self.signer, &s.push) else {
            return Ok(());
        };
        let now = crate::github::client::now_unix();
        for v in verdicts {
            let (state, description) = if v.passed {
                let claim = Claim::new(
                    &s.repo.to_string(),
                    push.repo_id.0,
                    s.head.as_str(),
                    &v.environment,
                )
                .map_err(|e| ForgeError {
                    message: e.to_string(),
                    transient: false,
                })?;
                ("success", signer.approve(&claim, now).description())
            } else {
                ("failure", v.reason.clone())
            };
            let status = CommitStatus {
                state,
                context: approve_context(&v.environment),
                description,
                target_url: run.html_url.clone(),
            };
            self.forge
                .post_status(s.installation, &s.repo, &s.head, &status)
                .await?;
            tracing::info!(
                repo = %s.repo,
                sha = %s.head,
                environment = %v.environment,
                approved = v.passed,
                reason = %v.reason,
                "deploy approval posted"
            );
        }
        Ok(())
    }

    async fn review_and_post(
        &self,
        s: &Subject,
        started: &StartedRun,
    ) -> Result<Conclusion, ForgeError> {
        let reviewed = self.review_subject(s).await?;
        let run = started.id;
        let f = &self.forge;
        f.complete_check_run(
            s.installation,
            &s.repo,
            run,
            reviewed.conclusion,
            &reviewed.output,
            &reviewed.annotations,
        )
        .await?;
        if let Some(verdicts) = &reviewed.approvals {
            self.post_approvals(s, started, verdicts).await?;
        }
        if let Some(pr) = s.pr {
            f.upsert_comment(
                s.installation,
                &s.repo,
                pr,
                STICKY_MARKER,
                &reviewed.comment,
            )
            .await?;
        }
        Ok(reviewed.conclusion)
    }

    /// The config of the repository's default branch over the org defaults (a config with
    /// errors reads as the defaults: its problems are reported by the checks).
    pub async fn default_config(
        &self,
        inst: InstallationId,
        repo: &RepoName,
    ) -> Result<crate::repo::config::RepoConfig, ForgeError> {
        use crate::repo::config::{self, REPO_FILE};
        let f = &self.forge;
        let repo_text = f.default_branch_file(inst, repo, REPO_FILE).await?;
        let org_repo =
            RepoName::parse(&format!("{}/{ORG_CONFIG_REPO}", repo.owner())).map_err(|e| {
                ForgeError {
                    message: e.to_string(),
                    transient: false,
                }
            })?;
        let org_text = f
            .default_branch_file(inst, &org_repo, ORG_CONFIG_FILE)
            .await?;
        let org_path = format!("{org_repo}/{ORG_CONFIG_FILE}");
        let rules = crate::checks::run::all_rules();
        let known: Vec<&str> = rules.iter().map(|r| r.id).collect();
        Ok(config::load(
            repo_text.as_deref().map(|t| (REPO_FILE, t)),
            org_text.as_deref().map(|t| (org_path.as_str(), t)),
            &known,
        )
        .unwrap_or_default())
    }

    /// Review a subject (fetch, render, check, diff) without posting anything.
    pub async fn review_subject(&self, s: &Subject) -> Result<crate::review::Review, ForgeError> {
        let f = &self.forge;
        let base_tip = match (&s.base, s.pr) {
            (Some(b), _) => Some(b.clone()),
            (None, Some(n)) => Some(f.pull_request(s.installation, &s.repo, n).await?.base),
            (None, None) => None,
        };
        let base_sha = match &base_tip {
            Some(b) => f.merge_base(s.installation, &s.repo, b, &s.head).await?,
            None => s.head.clone(),
        };
        let head = f.snapshot(s.installation, &s.repo, &s.head).await?;
        let base = if base_sha == s.head {
            head.clone()
        } else {
            f.snapshot(s.installation, &s.repo, &base_sha).await?
        };
        let org_repo =
            RepoName::parse(&format!("{}/{ORG_CONFIG_REPO}", s.repo.owner())).map_err(|e| {
                ForgeError {
                    message: e.to_string(),
                    transient: false,
                }
            })?;
        let org = f
            .default_branch_file(s.installation, &org_repo, ORG_CONFIG_FILE)
            .await?;
        let (repo_name, base_label, head_label) =
            (s.repo.to_string(), base_sha.to_string(), s.head.to_string());
        let threads = self.threads;
        let push = s.push.clone().filter(|_| self.approving(s));
        let org_path = format!("{org_repo}/{ORG_CONFIG_FILE}");
        // This pull request's hold, and every environment hold of the repository.
        let holds: Vec<crate::store::Hold> = match &self.store {
            Some(store) => store
                .holds(Some(&s.repo.to_string()))
                .map_err(|e| ForgeError {
                    message: e.to_string(),
                    transient: true,
                })?
                .into_iter()
                .filter(|h| h.pr.is_none() || h.pr == s.pr.map(|n| n.0))
                .collect(),
            None => Vec::new(),
        };
        let reviewed = tokio::task::spawn_blocking(move || {
            review(&ReviewInput {
                base: &base,
                head: &head,
                org_config: org.as_deref().map(|t| (org_path.as_str(), t)),
                repo_name: &repo_name,
                base_label: &base_label,
                head_label: &head_label,
                threads,
                push: push.as_ref().map(|p| PushedBranch {
                    branch: &p.branch,
                    default_branch: &p.default_branch,
                }),
                holds: &holds,
            })
        })
        .await
        .map_err(|e| ForgeError {
            message: format!("the review stopped: {e}"),
            transient: false,
        })?;
        Ok(reviewed)
    }
}

/// The subject of a queued job: from the reconcile loop's payload, or from the delivery.
fn job_subject(job: &Job) -> Result<Option<Subject>, String> {
    if let Some(s) = job.payload.get("subject") {
        // Queued by the reconcile loop, not by a delivery.
        return serde_json::from_value::<Subject>(s.clone())
            .map(Some)
            .map_err(|e| format!("job payload: {e}"));
    }
    let event_name = job.payload["event"].as_str().unwrap_or_default();
    let body = job.payload["body"].as_str().unwrap_or_default();
    let event = webhook::parse(event_name, body.as_bytes()).map_err(|e| e.to_string())?;
    Ok(subject_of(&event))
}

/// [`job_subject`], when the job has one.
pub fn subject_of_job(job: &Job) -> Option<Subject> {
    job_subject(job).ok().flatten()
}

impl<F: Forge> JobHandler for Pipeline<F> {
    async fn handle(&self, job: &Job) -> Outcome {
        let subject = match job_subject(job) {
            Ok(Some(s)) => s,
            // Installation changes: nothing to post (the repo list is read when needed).
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::Failed(e),
        };
        match self.run(&subject).await {
            Ok(conclusion) => {
                tracing::info!(
                    repo = %subject.repo,
                    sha = %subject.head,
                    conclusion = conclusion.as_str(),
                    "check run completed"
                );
                Outcome::Done
            }
            Err(e) if e.transient => Outcome::Retry(e.message),
            Err(e) => Outcome::Failed(e.message),
        }
    }
}
