//! A pull request's review, as the App posts it: the head checked with the **base** branch's
//! config, the head diffed against the base, and the check run (conclusion, output, annotations)
//! and sticky comment that say so. Pure: two snapshots in, values out.

use crate::checks::run::{CheckOptions, CheckReport, check, load_config};
use crate::checks::{Finding, Severity};
use crate::diff::DiffReport;
use crate::diff::run::{DiffOptions, changed_files, diff_snapshots};
use crate::repo::Snapshot;
use crate::repo::config::REPO_FILE;
use crate::report::annotations::{Annotation, annotations};
use crate::report::markdown::{self, CheckRunOutput, ReportContext};

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
    let changed = changed_files(input.base, input.head);
    let check_opts = CheckOptions {
        environment: None,
        changed: Some(changed),
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
    Review {
        output: markdown::check_run(&check, &diff, &ctx),
        annotations: annotations(&check),
        comment: markdown::comment(&check, &diff, &ctx),
        check,
        diff,
        conclusion,
    }
}
