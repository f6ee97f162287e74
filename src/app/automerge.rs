//! Auto-merge in `warden serve`: when anything a condition depends on changes (Warden's own
//! check, another check or status, a review, a label, a hold), the pull request is evaluated
//! again with fresh state from GitHub, the verdict is written into its `warden` check run, and an
//! eligible pull request is merged with the evaluated head SHA (or added to the merge queue
//! branch protection requires). There is no polling loop: every evaluation follows an event.
//!
//! The decision itself is pure ([`crate::promote::eligibility`]); this module gathers its
//! inputs over a [`MergeForge`] and acts on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::github::ids::{CheckRunId, InstallationId, PrNumber, RepoName, Sha};
use crate::github::webhook::{self, Event};
use crate::promote::eligibility::{Candidate, Required, Unmet, Verdict, evaluate};
use crate::promote::verdict::{Decision, section, with_section};
use crate::repo::config::{Author, Date, MergeMethod};
use crate::report::markdown::{CHECK_RUN_LIMIT, CheckRunOutput};
use crate::review::Conclusion;
use crate::store::{Job, NewJob, Store};

use super::chatops::ChatForge;
use super::pipeline::{CHECK_NAME, Forge, ForgeError, Pipeline, Subject};
use super::workers::Outcome;

/// The job kind of a re-evaluation.
pub const JOB_KIND: &str = "automerge";

/// A pull request as auto-merge needs it (`GET /repos/{owner}/{repo}/pulls/{n}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullState {
    pub number: PrNumber,
    /// GraphQL id, for the merge queue.
    pub node_id: String,
    pub title: String,
    pub head: Sha,
    pub head_ref: String,
    pub base: Sha,
    pub base_ref: String,
    pub author: String,
    pub draft: bool,
    pub open: bool,
    pub merged: bool,
    pub from_fork: bool,
    pub labels: Vec<String>,
    /// None while GitHub computes it.
    pub mergeable: Option<bool>,
}

/// What branch protection and rulesets require of a branch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protection {
    /// Required check and status names.
    pub required: Vec<String>,
    /// Approving reviews required.
    pub reviews: u32,
    /// Merges go through the merge queue.
    pub merge_queue: bool,
}

/// The reviews of a pull request: the latest approving or change-requesting review per person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reviews {
    pub approvals: u32,
    pub changes_requested: Vec<String>,
}

/// The `warden` check run on a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WardenRun {
    pub id: CheckRunId,
    pub completed: bool,
    pub conclusion: Option<String>,
    pub output: CheckRunOutput,
}

/// What the merge endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeResult {
    Merged(Sha),
    /// 409: the head is no longer the SHA given.
    HeadMoved,
    /// 405 (or 422): GitHub refused, with its message.
    Refused(String),
}

/// The GitHub operations auto-merge uses, for one installation.
pub trait MergeForge: Send + Sync + 'static {
    fn pull_state(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
    ) -> impl Future<Output = Result<PullState, ForgeError>> + Send;
    /// Branch protection and the rulesets of `branch`.
    fn protection(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
    ) -> impl Future<Output = Result<Protection, ForgeError>> + Send;
    /// Every check run (latest per name) and commit status (latest per context) on `sha`, as
    /// name and state (`success`, `failure`, `pending`, `neutral`, `skipped`, …).
    fn commit_checks(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> impl Future<Output = Result<Vec<Required>, ForgeError>> + Send;
    fn reviews(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
    ) -> impl Future<Output = Result<Reviews, ForgeError>> + Send;
    /// This App's latest `warden` check run on `sha`.
    fn warden_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> impl Future<Output = Result<Option<WardenRun>, ForgeError>> + Send;
    /// Replace a check run's output (title, summary, text); annotations stay.
    fn set_output(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CheckRunId,
        output: &CheckRunOutput,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// Merge with `sha` as the head the merge must have.
    fn merge(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
        sha: &Sha,
        method: MergeMethod,
        title: &str,
    ) -> impl Future<Output = Result<MergeResult, ForgeError>> + Send;
    /// Add to the merge queue, expecting `head`.
    fn enqueue(
        &self,
        inst: InstallationId,
        node_id: &str,
        head: &Sha,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// Delete a branch (gone already is not an error).
    fn delete_branch(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// The open pull requests whose head is `sha`.
    fn pulls_of_commit(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> impl Future<Output = Result<Vec<PrNumber>, ForgeError>> + Send;
}

/// Today in UTC (the freeze windows' clock).
fn today() -> Date {
    date_of(super::now_ms())
}

/// The UTC date of a time in milliseconds since the epoch.
fn date_of(ms: i64) -> Date {
    let days = ms.div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    Date { year, month, day }
}

/// Evaluates and merges pull requests.
pub struct AutoMerge<F: Forge + ChatForge + MergeForge> {
    pub forge: Arc<F>,
    pub pipeline: Arc<Pipeline<F>>,
    pub store: Arc<Store>,
    /// How long to wait for GitHub to compute mergeability, per look (three looks).
    pub mergeable_wait: Duration,
}

impl<F: Forge + ChatForge + MergeForge> AutoMerge<F> {
    pub fn new(forge: Arc<F>, pipeline: Arc<Pipeline<F>>, store: Arc<Store>) -> Self {
        AutoMerge {
            forge,
            pipeline,
            store,
            mergeable_wait: Duration::from_secs(1),
        }
    }

    /// Evaluate one pull request and act on the verdict. `vouched_by`: a writer's
    /// `/warden merge`. `None` when there was nothing to decide (closed, not configured, or
    /// Warden's check of the head has not finished — it evaluates when it does).
    pub async fn consider(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
        vouched_by: Option<&str>,
    ) -> Result<Option<Decision>, ForgeError> {
        let f = &self.forge;
        // Cheap first: most repositories do not auto-merge at all. (The decision below uses the
        // config the pull request was checked with.)
        if vouched_by.is_none()
            && self
                .pipeline
                .default_config(inst, repo)
                .await?
                .automerge
                .environments
                .is_empty()
        {
            return Ok(None);
        }
        let mut pr = f.pull_state(inst, repo, n).await?;
        if !pr.open || pr.merged {
            return Ok(None);
        }
        let Some(run) = f.warden_run(inst, repo, &pr.head).await? else {
            return Ok(None);
        };
        if !run.completed {
            return Ok(None);
        }
        let subject = Subject {
            installation: inst,
            repo: repo.clone(),
            head: pr.head.clone(),
            base: Some(pr.base.clone()),
            pr: Some(n),
            push: None,
        };
        let review = self.pipeline.review_subject(&subject).await?;
        let config = &review.config;
        if vouched_by.is_none() && config.automerge.environments.is_empty() {
            return Ok(None);
        }
        for _ in 0..3 {
            if pr.mergeable.is_some() {
                break;
            }
            tokio::time::sleep(self.mergeable_wait).await;
            pr = f.pull_state(inst, repo, n).await?;
        }
        let protection = f.protection(inst, repo, &pr.base_ref).await?;
        let checks = f.commit_checks(inst, repo, &pr.head).await?;
        let required: Vec<Required> = protection
            .required
            .iter()
            .map(|name| {
                checks
                    .iter()
                    .find(|c| &c.name == name)
                    .cloned()
                    .unwrap_or_else(|| Required {
                        name: name.clone(),
                        state: "missing".into(),
                    })
            })
            .collect();
        let reviews = f.reviews(inst, repo, n).await?;
        let holds: Vec<crate::store::Hold> = self
            .store
            .holds(Some(&repo.to_string()))
            .map_err(|e| ForgeError {
                message: e.to_string(),
                transient: true,
            })?
            .into_iter()
            .filter(|h| h.pr.is_none() || h.pr == Some(n.0))
            .collect();
        let mut teams = Vec::new();
        for a in &config.automerge.authors {
            if let Author::Team { org, team } = a
                && f.team_member(inst, org, team, &pr.author).await?
            {
                teams.push(format!("{org}/{team}"));
            }
        }
        let warden_passed = review.conclusion != Conclusion::Failure
            && matches!(run.conclusion.as_deref(), Some("success" | "neutral"));
        let candidate = Candidate {
            author: &pr.author,
            author_teams: &teams,
            vouched_by,
            draft: pr.draft,
            from_fork: pr.from_fork,
            labels: &pr.labels,
            holds: &holds,
            today: today(),
            changed_files: &review.changed_files,
            diff: &review.diff,
            warden_passed,
            required: &required,
            mergeable: pr.mergeable,
            reviews_needed: protection.reviews,
            approvals: reviews.approvals,
            changes_requested: &reviews.changes_requested,
        };
        let verdict = evaluate(config, &candidate);
        let decision = if !verdict.eligible() {
            Decision::NotMerged(verdict)
        } else if protection.merge_queue {
            f.enqueue(inst, &pr.node_id, &pr.head).await?;
            Decision::Queued {
                evaluated: pr.head.to_string(),
            }
        } else {
            let method = config.automerge.method;
            let title = format!("{} (#{})", pr.title, n);
            match f.merge(inst, repo, n, &pr.head, method, &title).await? {
                MergeResult::Merged(sha) => {
                    if config.automerge.delete_branch && !pr.from_fork {
                        f.delete_branch(inst, repo, &pr.head_ref).await?;
                    }
                    Decision::Merged {
                        sha: sha.to_string(),
                        method: method.as_str().to_string(),
                        evaluated: pr.head.to_string(),
                    }
                }
                MergeResult::HeadMoved => Decision::NotMerged(Verdict {
                    unmet: vec![Unmet::HeadMoved],
                }),
                MergeResult::Refused(message) => Decision::NotMerged(Verdict {
                    unmet: vec![Unmet::Refused { message }],
                }),
            }
        };
        tracing::info!(
            repo = %repo,
            pr = n.0,
            sha = %pr.head,
            decision = ?decision,
            "auto-merge evaluated"
        );
        let summary = with_section(
            &run.output.summary,
            &section(&decision, &config.chatops.prefix),
            CHECK_RUN_LIMIT,
        );
        if summary != run.output.summary {
            let output = CheckRunOutput {
                summary,
                ..run.output.clone()
            };
            f.set_output(inst, repo, run.id, &output).await?;
        }
        Ok(Some(decision))
    }

    /// Evaluate again, in a job of its own, after a failure that may pass (used where the
    /// evaluation follows another job).
    pub fn queue(&self, inst: InstallationId, repo: &RepoName, n: PrNumber) {
        let job = NewJob {
            kind: JOB_KIND.into(),
            key: Some(format!("{repo}#{n}")),
            sha: None,
            delivery: None,
            payload: serde_json::json!({
                "consider": {"installation": inst.0, "repo": repo.to_string(), "pr": n.0}
            }),
            once_per_sha: false,
        };
        if let Err(e) = self.store.enqueue(&job, super::now_ms()) {
            tracing::error!(error = %e, "the auto-merge evaluation was not queued");
        }
    }

    /// Run an `automerge` job: the pull requests the event is about are evaluated.
    pub async fn handle_job(&self, job: &Job) -> Outcome {
        let targets = match self.targets_of(job).await {
            Ok(t) => t,
            Err(e) if e.transient => return Outcome::Retry(e.message),
            Err(e) => return Outcome::Failed(e.message),
        };
        for (inst, repo, n) in targets {
            match self.consider(inst, &repo, n, None).await {
                Ok(_) => {}
                Err(e) if e.transient => return Outcome::Retry(e.message),
                Err(e) => return Outcome::Failed(e.message),
            }
        }
        Outcome::Done
    }

    async fn targets_of(
        &self,
        job: &Job,
    ) -> Result<Vec<(InstallationId, RepoName, PrNumber)>, ForgeError> {
        let bad = |m: String| ForgeError {
            message: m,
            transient: false,
        };
        if let Some(c) = job.payload.get("consider") {
            let inst = c["installation"].as_u64().map(InstallationId);
            let repo = c["repo"].as_str().and_then(|r| RepoName::parse(r).ok());
            let n = c["pr"].as_u64().map(PrNumber);
            return match (inst, repo, n) {
                (Some(i), Some(r), Some(n)) => Ok(vec![(i, r, n)]),
                _ => Err(bad(
                    "job payload: `consider` needs installation, repo and pr".into(),
                )),
            };
        }
        let name = job.payload["event"].as_str().unwrap_or_default();
        let body = job.payload["body"].as_str().unwrap_or_default();
        let event = webhook::parse(name, body.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let Some(inst) = event.installation() else {
            return Ok(Vec::new());
        };
        let (repo, prs) = match &event {
            Event::Status { repo, sha, .. } => (
                repo.name.clone(),
                self.forge.pulls_of_commit(inst, &repo.name, sha).await?,
            ),
            Event::CheckRun {
                repo,
                head_sha,
                pull_requests,
                ..
            }
            | Event::CheckSuite {
                repo,
                head_sha,
                pull_requests,
                ..
            } => {
                let prs = if pull_requests.is_empty() {
                    self.forge
                        .pulls_of_commit(inst, &repo.name, head_sha)
                        .await?
                } else {
                    pull_requests.clone()
                };
                (repo.name.clone(), prs)
            }
            Event::PullRequest { repo, pr, .. } | Event::PullRequestReview { repo, pr, .. } => {
                (repo.name.clone(), vec![pr.number])
            }
            _ => return Ok(Vec::new()),
        };
        Ok(prs.into_iter().map(|n| (inst, repo.clone(), n)).collect())
    }
}

/// Whether a delivery may change an auto-merge verdict: another check or status finished, a
/// review was submitted or dismissed, a label changed. (Warden's own check and a new head are
/// followed by an evaluation in their own jobs.)
pub fn wants(event: &Event) -> bool {
    match event {
        Event::CheckRun { action, name, .. } => action == "completed" && name != CHECK_NAME,
        Event::CheckSuite { action, .. } => action == "completed",
        Event::Status { context, state, .. } => {
            !context.starts_with("warden/") && state != "pending"
        }
        Event::PullRequestReview { action, .. } => {
            matches!(action.as_str(), "submitted" | "dismissed" | "edited")
        }
        Event::PullRequest { action, .. } => matches!(action.as_str(), "labeled" | "unlabeled"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(date_of(0).to_string(), "1970-01-01");
        // 2026-12-07T15:32:27Z, and the last millisecond of a leap day.
        assert_eq!(date_of(1_796_657_547_000).to_string(), "2026-12-07");
        assert_eq!(date_of(951_868_799_999).to_string(), "2000-02-29");
        assert_eq!(date_of(951_868_800_000).to_string(), "2000-03-01");
    }
}
