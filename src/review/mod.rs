//! A pull request's review, as the App posts it: the head checked with the **base** branch's
//! config, the head diffed against the base, and the check run (conclusion, output, annotations)
//! and sticky comment that say so. Pure: two snapshots in, values out.

use crate::checks::run::{CheckOptions, CheckReport, Reported, check, load_config};
use crate::checks::{Finding, Severity};
use crate::diff::DiffReport;
use crate::diff::run::{DiffOptions, changed_files, diff_snapshots};
use crate::repo::Snapshot;
use crate::repo::config::{REPO_FILE, RepoConfig};
use crate::report::annotations::{Annotation, annotations};
use crate::report::markdown::{self, CheckRunOutput, ReportContext};
use crate::store::Hold;

/// A check run's conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// No error finding.
    Success,
    /// At least one error finding.
    Failure,
    /// Nothing to check: the change touches no target.
    Neutral,
}

impl Conclusion {
    /// GitHub's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
            Conclusion::Neutral => "neutral",
        }
    }
}

/// What the review is of.
#[derive(Debug, Clone)]
pub struct ReviewInput<'a> {
    pub base: &'a Snapshot,
    pub head: &'a Snapshot,
    /// The org defaults (path, text), read from the org's `.github` repository.
    pub org_config: Option<(&'a str, &'a str)>,
    /// `owner/name`, for policies.
    pub repo_name: &'a str,
    /// How the base and head are named in the reproduce hint (full SHAs on GitHub).
    pub base_label: &'a str,
    pub head_label: &'a str,
    /// Worker threads for rendering (0: one per core).
    pub threads: usize,
    /// For a push: the branch pushed to and the repository's default branch. A push to the
    /// deploy branch (`deploy.branch`, default the default branch) checks every target, not only
    /// the affected ones, and yields a verdict per environment for the deploy approvals.
    pub push: Option<PushedBranch<'a>>,
    /// ChatOps holds that apply (this pull request's, and every environment hold of the repo):
    /// shown in the check run's summary; a held environment gets no deploy approval.
    pub holds: &'a [Hold],
}

/// The branch a push went to.
#[derive(Debug, Clone, Copy)]
pub struct PushedBranch<'a> {
    pub branch: &'a str,
    pub default_branch: &'a str,
}

/// Whether an environment of a deploy-branch commit passed Warden's gates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentVerdict {
    pub environment: String,
    pub passed: bool,
    /// One line for the status description (at most 140 characters).
    pub reason: String,
}

/// Everything a pull request's review posts.
#[derive(Debug, Clone)]
pub struct Review {
    pub check: CheckReport,
    pub diff: DiffReport,
    pub conclusion: Conclusion,
    pub output: CheckRunOutput,
    /// Every annotation (the client sends them 50 per request).
    pub annotations: Vec<Annotation>,
    /// The sticky comment's body (how much diff it shows follows `comments.diff`).
    pub comment: String,
    /// For a push to the deploy branch: one verdict per environment, in config order.
    pub approvals: Option<Vec<EnvironmentVerdict>>,
    /// The config the change was checked with (the base's, over the org defaults): auto-merge
    /// is decided by it, never by the pull request's own.
    pub config: RepoConfig,
    /// Repo-relative paths of the files that differ between base and head.
    pub changed_files: Vec<String>,
}

/// Review a change: check the head with the base's config, diff the affected targets.
pub fn review(input: &ReviewInput<'_>) -> Review {
    let (config, mut config_findings) = load_config(input.base, input.org_config);
    // The head's config is not used for gates, but its problems and its change are reported.
    let (base_text, head_text) = (
        input.base.read_text(REPO_FILE),
        input.head.read_text(REPO_FILE),
    );
    if base_text != head_text {
        config_findings.push(Finding::in_file(
            "config-changed",
            Severity::Info,
            REPO_FILE,
            0,
            "this pull request changes .github/warden.yml: it is checked with the base branch's \
             config, and the new one applies once merged",
        ));
        let (_, head_problems) = load_config(input.head, input.org_config);
        config_findings.extend(head_problems);
    }
    let deploy_push = input
        .push
        .is_some_and(|p| p.branch == config.deploy.branch.as_deref().unwrap_or(p.default_branch));
    // A deploy approval vouches for the whole environment, so every target is checked.
    let all_changed = changed_files(input.base, input.head);
    let changed = (!deploy_push).then(|| all_changed.clone());
    let check_opts = CheckOptions {
        environment: None,
        changed,
        repo_name: input.repo_name.to_string(),
        threads: input.threads,
    };
    let check = check(input.head, &config, config_findings, &check_opts);
    let diff = diff_snapshots(
        input.base,
        input.head,
        &config,
        &DiffOptions {
            environment: None,
            threads: input.threads,
        },
    );
    let ctx = ReportContext {
        base: input.base_label,
        head: Some(input.head_label),
        diff_mode: config.comments.diff,
    };
    let conclusion = if check.failed() {
        Conclusion::Failure
    } else if !check.targets.iter().any(|t| t.affected) && diff.targets.is_empty() {
        Conclusion::Neutral
    } else {
        Conclusion::Success
    };
    let approvals = deploy_push.then(|| held(verdicts(&check, &config), input.holds));
    let mut output = markdown::check_run(&check, &diff, &ctx);
    if !input.holds.is_empty() {
        output.summary = crate::chatops::reply::cut_to(
            format!(
                "{}\n\n**Holds** (lifted with `{} unhold`)\n{}",
                output.summary,
                config.chatops.prefix,
                crate::chatops::reply::holds(input.holds)
            ),
            markdown::CHECK_RUN_LIMIT,
        );
    }
    Review {
        approvals,
        output,
        annotations: annotations(&check),
        comment: markdown::comment(&check, &diff, &ctx),
        check,
        diff,
        conclusion,
        config,
        changed_files: all_changed,
    }
}

/// A held environment does not pass, whatever its checks say.
pub fn held(mut verdicts: Vec<EnvironmentVerdict>, holds: &[Hold]) -> Vec<EnvironmentVerdict> {
    for v in &mut verdicts {
        if let Some(h) = holds
            .iter()
            .find(|h| h.pr.is_none() && h.environment.as_deref() == Some(v.environment.as_str()))
        {
            let reason = if h.reason.is_empty() {
                format!("held by @{}", h.by)
            } else {
                format!("held by @{}: {}", h.by, h.reason)
            };
            v.passed = false;
            v.reason = reason.chars().take(140).collect();
        }
    }
    verdicts
}

/// One verdict per environment: the configured ones in order, then any others targets named.
/// An environment passes when it has a target, every target rendered and no unsuppressed error
/// finding is about it or about the repo as a whole (config, policies).
pub fn verdicts(check: &CheckReport, config: &RepoConfig) -> Vec<EnvironmentVerdict> {
    let mut names: Vec<String> = config.environments.iter().map(|e| e.name.clone()).collect();
    for t in &check.targets {
        if !names.contains(&t.target.environment) {
            names.push(t.target.environment.clone());
        }
    }
    names
        .into_iter()
        .map(|env| {
            let targets: Vec<_> = check
                .targets
                .iter()
                .filter(|t| t.target.environment == env)
                .collect();
            let broken: Vec<&str> = targets
                .iter()
                .filter(|t| t.error.is_some())
                .map(|t| t.target.dir.as_str())
                .collect();
            let errors: Vec<&Reported> = check
                .findings
                .iter()
                .filter(|f| !f.suppressed && f.severity == Severity::Error)
                .filter(|f| f.environment.as_deref().is_none_or(|e| e == env))
                .collect();
            let (passed, reason) = if targets.is_empty() {
                (
                    false,
                    format!("no target of {env} was found in this commit"),
                )
            } else if !broken.is_empty() {
                (false, format!("does not render: {}", broken.join(", ")))
            } else if !errors.is_empty() {
                let mut rules: Vec<&str> = errors.iter().map(|f| f.rule.as_str()).collect();
                rules.sort_unstable();
                rules.dedup();
                (
                    false,
                    format!(
                        "{} error finding{}: {}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" },
                        rules.join(", ")
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "{} target{} checked, no error finding",
                        targets.len(),
                        if targets.len() == 1 { "" } else { "s" }
                    ),
                )
            };
            EnvironmentVerdict {
                environment: env,
                passed,
                reason: cut_description(&reason),
            }
        })
        .collect()
}

/// Cut to a status description's 140 characters, with `…` when cut.
fn cut_description(s: &str) -> String {
    if s.chars().count() <= 140 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(139).collect();
    out.push('…');
    out
}
