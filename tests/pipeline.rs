//! The PR pipeline against an in-memory forge: what it posts for realistic pull requests, and
//! how it fails.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{apply_case, base_files, snapshot};
use warden::app::pipeline::{
    CommitStatus, Forge, ForgeError, Pipeline, PullHeads, PushTo, StartedRun, Subject,
};
use warden::github::ids::{CheckRunId, InstallationId, PrNumber, RepoId, RepoName, Sha};
use warden::repo::Snapshot;
use warden::report::annotations::Annotation;
use warden::report::markdown::CheckRunOutput;
use warden::review::Conclusion;
use warden::signal::{Claim, Keyring, Refusal, Signer};

#[derive(Default)]
struct FakeForge {
    commits: HashMap<Sha, Arc<Snapshot>>,
    org_config: Option<String>,
    /// Fail snapshot fetches with this error.
    broken: Option<ForgeError>,
    log: Mutex<Vec<String>>,
    completed: Mutex<Vec<(Conclusion, CheckRunOutput, Vec<Annotation>)>>,
    comments: Mutex<HashMap<u64, String>>,
    statuses: Mutex<Vec<(Sha, CommitStatus)>>,
}

impl Forge for FakeForge {
    async fn start_check_run(
        &self,
        _: InstallationId,
        repo: &RepoName,
        head: &Sha,
    ) -> Result<StartedRun, ForgeError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("start {repo} {}", head.short()));
        Ok(StartedRun {
            id: CheckRunId(7),
            html_url: Some("https://github.com/acme/shop-config/runs/7".into()),
        })
    }
    async fn post_status(
        &self,
        _: InstallationId,
        _: &RepoName,
        sha: &Sha,
        status: &CommitStatus,
    ) -> Result<(), ForgeError> {
        self.statuses
            .lock()
            .unwrap()
            .push((sha.clone(), status.clone()));
        Ok(())
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
        push: None,
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
        signer: None,
        store: None,
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
        signer: None,
        store: None,
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
        signer: None,
        store: None,
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
        signer: None,
        store: None,
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
        signer: None,
        store: None,
    };
    assert!(p.run(&subject()).await.unwrap_err().transient);
    assert!(
        forge.completed.lock().unwrap().is_empty(),
        "left for the retry"
    );
}

fn push_subject(branch: &str) -> Subject {
    Subject {
        pr: None,
        push: Some(PushTo {
            branch: branch.into(),
            default_branch: "main".into(),
            repo_id: RepoId(4242),
        }),
        ..subject()
    }
}

fn signing_pipeline(forge: Arc<FakeForge>) -> (Pipeline<FakeForge>, Keyring) {
    let signer = Signer::from_seed(&[3u8; 32]);
    let ring = Keyring::from(&signer);
    (
        Pipeline {
            forge,
            threads: 1,
            signer: Some(Arc::new(signer)),
            store: None,
        },
        ring,
    )
}

fn claim(env: &str) -> Claim {
    Claim::new("acme/shop-config", 4242, &"b".repeat(40), env).unwrap()
}

#[tokio::test]
async fn a_deploy_branch_push_gets_a_signed_approval_per_environment() {
    let forge = Arc::new(forge_for("image-bump-staging"));
    let (p, ring) = signing_pipeline(forge.clone());
    assert_eq!(
        p.run(&push_subject("main")).await.unwrap(),
        Conclusion::Success
    );
    let statuses = forge.statuses.lock().unwrap().clone();
    let contexts: Vec<&str> = statuses.iter().map(|(_, s)| s.context.as_str()).collect();
    assert_eq!(
        contexts,
        ["warden/approve/staging", "warden/approve/production"]
    );
    let now = warden::app::now_ms() as u64 / 1000;
    for (sha, s) in &statuses {
        assert_eq!(sha, &self::sha('b'));
        assert_eq!(s.state, "success");
        assert_eq!(
            s.target_url.as_deref(),
            Some("https://github.com/acme/shop-config/runs/7")
        );
        let env = s.context.rsplit('/').next().unwrap();
        ring.verify(&claim(env), &s.description, now, Some(600))
            .unwrap();
    }
    // Each approval is for its own environment only.
    let staging = &statuses[0].1.description;
    assert_eq!(
        ring.verify(&claim("production"), staging, now, None),
        Err(Refusal::BadSignature)
    );
}

#[tokio::test]
async fn a_held_environment_gets_no_approval_and_the_check_run_lists_the_holds() {
    use warden::store::{Hold, Store};
    let forge = Arc::new(forge_for("image-bump-staging"));
    let (mut p, ring) = signing_pipeline(forge.clone());
    let store = Arc::new(Store::in_memory().unwrap());
    let hold = |pr: Option<u64>, env: Option<&str>, repo: &str| Hold {
        repo: repo.into(),
        pr,
        environment: env.map(str::to_string),
        reason: "waiting for the DB migration".into(),
        by: "alice".into(),
        comment_url: "https://github.com/acme/shop-config/pull/3#issuecomment-1".into(),
        created_ms: 1,
    };
    store
        .add_hold(&hold(None, Some("production"), "acme/shop-config"))
        .unwrap();
    // Holds of another pull request or another repository do not apply.
    store
        .add_hold(&hold(Some(99), None, "acme/shop-config"))
        .unwrap();
    store
        .add_hold(&hold(None, Some("staging"), "acme/other"))
        .unwrap();
    p.store = Some(store);
    p.run(&push_subject("main")).await.unwrap();
    let statuses = forge.statuses.lock().unwrap().clone();
    let got: Vec<(&str, &str, &str)> = statuses
        .iter()
        .map(|(_, s)| (s.context.as_str(), s.state, s.description.as_str()))
        .collect();
    assert_eq!(
        got[1],
        (
            "warden/approve/production",
            "failure",
            "held by @alice: waiting for the DB migration"
        )
    );
    assert_eq!(got[0].1, "success");
    let now = warden::app::now_ms() as u64 / 1000;
    ring.verify(&claim("staging"), got[0].2, now, Some(600))
        .unwrap();
    let (_, output, _) = &forge.completed.lock().unwrap()[0];
    assert!(output.summary.contains("**Holds**"), "{}", output.summary);
    assert!(
        output
            .summary
            .contains("everything that targets `production`, held by @alice"),
        "{}",
        output.summary
    );
    assert!(!output.summary.contains("#99"), "{}", output.summary);
}

#[tokio::test]
async fn an_approval_vouches_for_every_target_not_only_the_changed_ones() {
    // Production was already broken before this push, which changes only staging.
    let mut base = base_files();
    base.insert(
        "overlays/production/kustomization.yaml".into(),
        b"resources:\n- ../../base\n- missing.yaml\n".to_vec(),
    );
    let mut head = base.clone();
    apply_case(&mut head, "image-bump-staging");
    let mut forge = FakeForge::default();
    forge
        .commits
        .insert(sha('a'), Arc::new(snapshot("base", base)));
    forge
        .commits
        .insert(sha('b'), Arc::new(snapshot("head", head)));
    let forge = Arc::new(forge);
    let (p, _) = signing_pipeline(forge.clone());
    p.run(&push_subject("main")).await.unwrap();
    let states: Vec<(String, &str)> = forge
        .statuses
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| (s.context.clone(), s.state))
        .collect();
    assert_eq!(
        states,
        [
            ("warden/approve/staging".to_string(), "success"),
            ("warden/approve/production".to_string(), "failure")
        ]
    );
}

#[tokio::test]
async fn an_environment_that_fails_gets_a_failure_without_a_signature() {
    let mut files = base_files();
    files.insert(
        "overlays/production/kustomization.yaml".into(),
        b"resources:\n- ../../base\n- missing.yaml\n".to_vec(),
    );
    let mut forge = forge_for("image-bump-staging");
    forge
        .commits
        .insert(sha('b'), Arc::new(snapshot("head", files)));
    let forge = Arc::new(forge);
    let (p, ring) = signing_pipeline(forge.clone());
    assert_eq!(
        p.run(&push_subject("main")).await.unwrap(),
        Conclusion::Failure
    );
    let statuses = forge.statuses.lock().unwrap().clone();
    let by_env: HashMap<&str, &CommitStatus> = statuses
        .iter()
        .map(|(_, s)| (s.context.as_str(), s))
        .collect();
    let prod = by_env["warden/approve/production"];
    assert_eq!(prod.state, "failure");
    assert!(
        prod.description
            .starts_with("does not render: overlays/production"),
        "{}",
        prod.description
    );
    assert!(prod.description.chars().count() <= 140);
    assert!(
        ring.verify(&claim("production"), &prod.description, 0, None)
            .is_err()
    );
    assert_eq!(by_env["warden/approve/staging"].state, "success");
}

#[tokio::test]
async fn pushes_to_other_branches_and_unsigned_setups_post_no_approval() {
    let forge = Arc::new(forge_for("image-bump-staging"));
    let (p, _) = signing_pipeline(forge.clone());
    p.run(&push_subject("feature")).await.unwrap();
    assert!(forge.statuses.lock().unwrap().is_empty());
    let unsigned = Pipeline {
        forge: forge.clone(),
        threads: 1,
        signer: None,
        store: None,
    };
    unsigned.run(&push_subject("main")).await.unwrap();
    assert!(forge.statuses.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_configured_deploy_branch_is_the_one_approved() {
    let mut files = base_files();
    let config = String::from_utf8(files[".github/warden.yml"].clone()).unwrap();
    files.insert(
        ".github/warden.yml".into(),
        format!("{config}deploy:\n  branch: release\n").into_bytes(),
    );
    let mut forge = FakeForge::default();
    forge
        .commits
        .insert(sha('a'), Arc::new(snapshot("base", files.clone())));
    forge
        .commits
        .insert(sha('b'), Arc::new(snapshot("head", files)));
    let forge = Arc::new(forge);
    let (p, _) = signing_pipeline(forge.clone());
    p.run(&push_subject("main")).await.unwrap();
    assert!(forge.statuses.lock().unwrap().is_empty());
    p.run(&push_subject("release")).await.unwrap();
    assert_eq!(forge.statuses.lock().unwrap().len(), 2);
}
