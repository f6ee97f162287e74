//! The PR pipeline against an in-memory forge: what it posts for realistic pull requests, and
//! how it fails.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{apply_case, base_files, snapshot};
use warden::app::pipeline::{Forge, ForgeError, Pipeline, PullHeads, Subject};
use warden::github::ids::{CheckRunId, InstallationId, PrNumber, RepoName, Sha};
use warden::repo::Snapshot;
use warden::report::annotations::Annotation;
use warden::report::markdown::CheckRunOutput;
use warden::review::Conclusion;

#[derive(Default)]
struct FakeForge {
    commits: HashMap<Sha, Arc<Snapshot>>,
    org_config: Option<String>,
    /// Fail snapshot fetches with this error.
    broken: Option<ForgeError>,
    log: Mutex<Vec<String>>,
    completed: Mutex<Vec<(Conclusion, CheckRunOutput, Vec<Annotation>)>>,
    comments: Mutex<HashMap<u64, String>>,
}

impl Forge for FakeForge {
    async fn start_check_run(
        &self,
        _: InstallationId,
        repo: &RepoName,
        head: &Sha,
    ) -> Result<CheckRunId, ForgeError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {repo} {}", head.short()));
        Ok(CheckRunId(7))
    }
    async fn complete_check_run(
        &self,
        _: InstallationId,
        _: &RepoName,
        id: CheckRunId,
        conclusion: Conclusion,
        output: &CheckRunOutput,
        annotations: &[Annotation],
    ) -> Result<(), ForgeError> {
        assert_eq!(id, CheckRunId(7));
        self.log
            .lock()
            .unwrap()
            .push(format!("complete {}", conclusion.as_str()));
        self.completed
            .lock()
            .unwrap()
            .push((conclusion, output.clone(), annotations.to_vec()));
        Ok(())
    }
    async fn snapshot(
        &self,
        _: InstallationId,
        _: &RepoName,
        sha: &Sha,
    ) -> Result<Arc<Snapshot>, ForgeError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        self.commits.get(sha).cloned().ok_or(ForgeError {
            message: format!("no commit {sha}"),
            transient: false,
        })
    }
    async fn merge_base(
        &self,
        _: InstallationId,
        _: &RepoName,
        base: &Sha,
        _: &Sha,
    ) -> Result<Sha, ForgeError> {
        Ok(base.clone())
    }
    async fn default_branch_file(
        &self,
        _: InstallationId,
        repo: &RepoName,
        path: &str,
    ) -> Result<Option<String>, ForgeError> {
        assert_eq!(
            (repo.to_string().as_str(), path),
            ("acme/.github", "warden.yml")
        );
        Ok(self.org_config.clone())
    }
    async fn pull_request(
        &self,
        _: InstallationId,
        _: &RepoName,
        number: PrNumber,
    ) -> Result<PullHeads, ForgeError> {
        self.log.lock().unwrap().push(format!("pull {number}"));
        Ok(PullHeads {
            base: sha('a'),
            head: sha('b'),
            open: true,
        })
    }
    async fn upsert_comment(
        &self,
        _: InstallationId,
        _: &RepoName,
        number: PrNumber,
        marker: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        assert!(body.starts_with(marker));
        self.comments
            .lock()
            .unwrap()
            .insert(number.0, body.to_string());
        Ok(())
    }
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

fn subject() -> Subject {
    Subject {
        installation: InstallationId(1),
        repo: RepoName::parse("acme/shop-config").unwrap(),
        head: sha('b'),
        base: Some(sha('a')),
        pr: Some(PrNumber(12)),
    }
}

fn forge_for(case: &str) -> FakeForge {
    let base = base_files();
    let mut head = base.clone();
    apply_case(&mut head, case);
    let mut forge = FakeForge::default();
    forge
        .commits
        .insert(sha('a'), Arc::new(snapshot("base", base)));
    forge
        .commits
        .insert(sha('b'), Arc::new(snapshot("head", head)));
    forge
}

#[tokio::test]
async fn an_image_bump_gets_a_successful_check_run_and_the_diff_comment() {
    let forge = Arc::new(forge_for("image-bump-staging"));
    let p = Pipeline {
        forge: forge.clone(),
        threads: 1,
    };
    assert_eq!(p.run(&subject()).await.unwrap(), Conclusion::Success);
    assert_eq!(
        *forge.log.lock().unwrap(),
        ["start acme/shop-config bbbbbbb", "complete success"]
    );
    let comment = forge.comments.lock().unwrap()[&12].clone();
    assert!(comment.contains("ghcr.io/example/shop:1.5.1"), "{comment}");
    let (_, output, _) = &forge.completed.lock().unwrap()[0];
    assert!(
        output.summary.contains("Only an image bump"),
        "{}",
        output.summary
    );
}

#[tokio::test]
async fn a_check_suite_request_for_a_pull_request_is_compared_with_its_base() {
    let forge = Arc::new(forge_for("image-bump-staging"));
    let p = Pipeline {
        forge: forge.clone(),
        threads: 1,
    };
    // A check-suite delivery names the pull request but not its base.
    let s = Subject {
        base: None,
        ..subject()
    };
    assert_eq!(p.run(&s).await.unwrap(), Conclusion::Success);
    assert_eq!(
        *forge.log.lock().unwrap(),
        [
            "start acme/shop-config bbbbbbb",
            "pull 12",
            "complete success"
        ]
    );
    let (_, output, _) = &forge.completed.lock().unwrap()[0];
    assert!(
        output.summary.contains("Only an image bump"),
        "{}",
        output.summary
    );
}

#[tokio::test]
async fn org_defaults_apply_under_the_repo_config() {
    let mut forge = forge_for("image-bump-staging");
    // The org makes a rule the fixture does not configure an error.
    forge.org_config = Some("version: 1\nrules:\n  image-digest-required: error\n".into());
    let forge = Arc::new(forge);
    let p = Pipeline {
        forge: forge.clone(),
        threads: 1,
    };
    assert_eq!(p.run(&subject()).await.unwrap(), Conclusion::Failure);
    let (_, _, annotations) = &forge.completed.lock().unwrap()[0];
    assert!(
        annotations.iter().any(|a| a
            .title
            .as_deref()
            .unwrap_or("")
            .starts_with("image-digest-required")),
        "{annotations:?}"
    );
}

#[tokio::test]
async fn failures_complete_the_run_unless_a_retry_may_help() {
    let mut forge = forge_for("image-bump-staging");
    forge.broken = Some(ForgeError {
        message: "tarball too large".into(),
        transient: false,
    });
    let forge = Arc::new(forge);
    let p = Pipeline {
        forge: forge.clone(),
        threads: 1,
    };
    let err = p.run(&subject()).await.unwrap_err();
    assert!(!err.transient);
    let (conclusion, output, _) = forge.completed.lock().unwrap()[0].clone();
    assert_eq!(conclusion, Conclusion::Failure);
    assert!(output.summary.contains("tarball too large"));

    let mut forge = forge_for("image-bump-staging");
    forge.broken = Some(ForgeError {
        message: "502 Bad Gateway".into(),
        transient: true,
    });
    let forge = Arc::new(forge);
    let p = Pipeline {
        forge: forge.clone(),
        threads: 1,
    };
    assert!(p.run(&subject()).await.unwrap_err().transient);
    assert!(
        forge.completed.lock().unwrap().is_empty(),
        "left for the retry"
    );
}
