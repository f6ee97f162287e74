//! Webhook deliveries at the edge: the `X-Hub-Signature-256` check, then the raw JSON turned into
//! a small typed [`Event`] holding only what Warden acts on. Nothing past this module sees a
//! payload.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::ids::{CheckRunId, CommentId, IdError, InstallationId, PrNumber, RepoId, RepoName, Sha};

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("missing X-Hub-Signature-256 header")]
    MissingSignature,
    #[error("X-Hub-Signature-256 does not match the body")]
    BadSignature,
    #[error("{event} payload: {source}")]
    Json {
        event: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{event} payload: {source}")]
    Value {
        event: String,
        #[source]
        source: IdError,
    },
}

/// Check `X-Hub-Signature-256` (`sha256=<hex>`) against the body, in constant time.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let hex = header
        .strip_prefix("sha256=")
        .ok_or(WebhookError::BadSignature)?;
    let expected = decode_hex(hex).ok_or(WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| WebhookError::BadSignature)
}

/// The header value GitHub sends for `body` signed with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub login: String,
    pub id: u64,
    pub kind: ActorKind,
}

impl Actor {
    /// A bot account (`renovate[bot]`, an App, Warden itself).
    pub fn is_bot(&self) -> bool {
        self.kind == ActorKind::Bot
    }
}

/// GitHub's `type` of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Bot,
    Organization,
    Other,
}

/// The repository an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub id: RepoId,
    pub name: RepoName,
    pub default_branch: String,
    pub private: bool,
}

/// A pull request as an event shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: PrNumber,
    pub head_sha: Sha,
    pub head_ref: String,
    /// `None` when the head repository was deleted.
    pub head_repo: Option<RepoName>,
    pub base_sha: Sha,
    pub base_ref: String,
    pub draft: bool,
    pub open: bool,
    pub author: Actor,
    pub labels: Vec<String>,
}

impl PullRequest {
    /// From a fork (or a deleted head repository) rather than a branch of `repo`.
    pub fn is_from_fork(&self, repo: &RepoName) -> bool {
        self.head_repo.as_ref() != Some(repo)
    }
}

/// What Warden reacts to; every other delivery is [`Event::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Ping,
    PullRequest {
        action: String,
        installation: Option<InstallationId>,
        repo: Repo,
        pr: PullRequest,
        sender: Actor,
        /// For `edited`: the base branch changed.
        base_changed: bool,
    },
    CheckSuite {
        action: String,
        installation: Option<InstallationId>,
        repo: Repo,
        head_sha: Sha,
        head_branch: Option<String>,
        pull_requests: Vec<PrNumber>,
    },
    CheckRun {
        action: String,
        installation: Option<InstallationId>,
        repo: Repo,
        id: CheckRunId,
        name: String,
        head_sha: Sha,
        pull_requests: Vec<PrNumber>,
    },
    Push {
        installation: Option<InstallationId>,
        repo: Repo,
        /// `refs/heads/main`.
        git_ref: String,
        before: Sha,
        after: Sha,
        deleted: bool,
    },
    IssueComment {
        action: String,
        installation: Option<InstallationId>,
        repo: Repo,
        number: PrNumber,
        /// The comment is on a pull request, not a plain issue.
        on_pull_request: bool,
        comment: Comment,
        /// For `edited`: the body before the edit.
        previous_body: Option<String>,
        /// Who opened the issue or pull request.
        issue_author: Actor,
    },
    PullRequestReview {
        action: String,
        installation: Option<InstallationId>,
        repo: Repo,
        pr: PullRequest,
    },
    Status {
        installation: Option<InstallationId>,
        repo: Repo,
        sha: Sha,
        context: String,
        state: String,
    },
    Installation {
        action: String,
        installation: InstallationId,
        account: String,
        /// Repositories listed with the event (`created`).
        repositories: Vec<RepoName>,
    },
    InstallationRepositories {
        action: String,
        installation: InstallationId,
        added: Vec<RepoName>,
        removed: Vec<RepoName>,
    },
    Other {
        event: String,
        action: Option<String>,
    },
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub body: String,
    pub author: Actor,
}

impl Event {
    /// The installation the delivery came through, if any.
    pub fn installation(&self) -> Option<InstallationId> {
        match self {
            Event::PullRequest { installation, .. }
            | Event::CheckSuite { installation, .. }
            | Event::CheckRun { installation, .. }
            | Event::Push { installation, .. }
            | Event::IssueComment { installation, .. }
            | Event::PullRequestReview { installation, .. }
            | Event::Status { installation, .. } => *installation,
            Event::Installation { installation, .. }
            | Event::InstallationRepositories { installation, .. } => Some(*installation),
            Event::Ping | Event::Other { .. } => None,
        }
    }

    /// The repository the event is about, if one.
    pub fn repo(&self) -> Option<&Repo> {
        match self {
            Event::PullRequest { repo, .. }
            | Event::CheckSuite { repo, .. }
            | Event::CheckRun { repo, .. }
            | Event::Push { repo, .. }
            | Event::IssueComment { repo, .. }
            | Event::PullRequestReview { repo, .. }
            | Event::Status { repo, .. } => Some(repo),
            _ => None,
        }
    }
}

// The raw payload shapes: only the fields Warden reads.

#[derive(Deserialize)]
struct RawAccount {
    login: String,
    id: u64,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RawRepo {
    id: u64,
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    private: bool,
}

#[derive(Deserialize)]
struct RawRepoRef {
    full_name: String,
}

#[derive(Deserialize)]
struct RawInstallation {
    id: u64,
}

#[derive(Deserialize)]
struct RawBranch {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
    #[serde(default)]
    repo: Option<RawRepoRef>,
}

#[derive(Deserialize)]
struct RawLabel {
    name: String,
}

#[derive(Deserialize)]
struct RawPull {
    number: u64,
    head: RawBranch,
    base: RawBranch,
    #[serde(default)]
    draft: bool,
    state: String,
    user: RawAccount,
    #[serde(default)]
    labels: Vec<RawLabel>,
}

#[derive(Deserialize)]
struct RawPullRef {
    number: u64,
}

#[derive(Deserialize)]
struct Common {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    installation: Option<RawInstallation>,
}

#[derive(Deserialize)]
struct RawPullRequestEvent {
    pull_request: RawPull,
    repository: RawRepo,
    sender: RawAccount,
    #[serde(default)]
    changes: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSuite {
    head_sha: String,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    pull_requests: Vec<RawPullRef>,
}

#[derive(Deserialize)]
struct RawCheckSuiteEvent {
    check_suite: RawSuite,
    repository: RawRepo,
}

#[derive(Deserialize)]
struct RawRun {
    id: u64,
    name: String,
    head_sha: String,
    #[serde(default)]
    pull_requests: Vec<RawPullRef>,
}

#[derive(Deserialize)]
struct RawCheckRunEvent {
    check_run: RawRun,
    repository: RawRepo,
}

#[derive(Deserialize)]
struct RawPushEvent {
    #[serde(rename = "ref")]
    git_ref: String,
    before: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: RawRepo,
}

#[derive(Deserialize)]
struct RawIssue {
    number: u64,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
    user: RawAccount,
}

#[derive(Deserialize)]
struct RawComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    user: RawAccount,
}

#[derive(Deserialize)]
struct RawBodyChange {
    from: String,
}

#[derive(Deserialize)]
struct RawCommentChanges {
    #[serde(default)]
    body: Option<RawBodyChange>,
}

#[derive(Deserialize)]
struct RawIssueCommentEvent {
    issue: RawIssue,
    comment: RawComment,
    repository: RawRepo,
    #[serde(default)]
    changes: Option<RawCommentChanges>,
}

#[derive(Deserialize)]
struct RawReviewEvent {
    pull_request: RawPull,
    repository: RawRepo,
}

#[derive(Deserialize)]
struct RawStatusEvent {
    sha: String,
    context: String,
    state: String,
    repository: RawRepo,
}

#[derive(Deserialize)]
struct RawInstallationFull {
    id: u64,
    account: RawAccount,
}

#[derive(Deserialize)]
struct RawInstallationEvent {
    installation: RawInstallationFull,
    #[serde(default)]
    repositories: Option<Vec<RawRepoRef>>,
}

#[derive(Deserialize)]
struct RawInstallationReposEvent {
    installation: RawInstallationFull,
    #[serde(default)]
    repositories_added: Vec<RawRepoRef>,
    #[serde(default)]
    repositories_removed: Vec<RawRepoRef>,
}

/// Turn a delivery's body into an [`Event`]. `event` is the `X-GitHub-Event` header. Events
/// Warden does not handle become [`Event::Other`] without their body being read further.
pub fn parse(event: &str, body: &[u8]) -> Result<Event, WebhookError> {
    let json_err = |source| WebhookError::Json {
        event: event.to_string(),
        source,
    };
    let val_err = |source| WebhookError::Value {
        event: event.to_string(),
        source,
    };
    let common: Common = serde_json::from_slice(body).map_err(json_err)?;
    let action = common.action.clone().unwrap_or_default();
    let installation = common.installation.as_ref().map(|i| InstallationId(i.id));
    let sha = |s: &str| Sha::parse(s).map_err(val_err);
    let name = |s: &str| RepoName::parse(s).map_err(val_err);
    let repo = |r: &RawRepo| -> Result<Repo, WebhookError> {
        Ok(Repo {
            id: RepoId(r.id),
            name: name(&r.full_name)?,
            default_branch: r.default_branch.clone().unwrap_or_else(|| "main".into()),
            private: r.private,
        })
    };
    let pull = |p: &RawPull| -> Result<PullRequest, WebhookError> {
        Ok(PullRequest {
            number: PrNumber(p.number),
            head_sha: sha(&p.head.sha)?,
            head_ref: p.head.git_ref.clone(),
            head_repo: match &p.head.repo {
                Some(r) => Some(name(&r.full_name)?),
                None => None,
            },
            base_sha: sha(&p.base.sha)?,
            base_ref: p.base.git_ref.clone(),
            draft: p.draft,
            open: p.state == "open",
            author: actor(&p.user),
            labels: p.labels.iter().map(|l| l.name.clone()).collect(),
        })
    };
    let numbers = |prs: &[RawPullRef]| prs.iter().map(|p| PrNumber(p.number)).collect();
    Ok(match event {
        "ping" => Event::Ping,
        "pull_request" => {
            let raw: RawPullRequestEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::PullRequest {
                base_changed: raw
                    .changes
                    .as_ref()
                    .is_some_and(|c| c.get("base").is_some()),
                action,
                installation,
                repo: repo(&raw.repository)?,
                pr: pull(&raw.pull_request)?,
                sender: actor(&raw.sender),
            }
        }
        "check_suite" => {
            let raw: RawCheckSuiteEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::CheckSuite {
                action,
                installation,
                repo: repo(&raw.repository)?,
                head_sha: sha(&raw.check_suite.head_sha)?,
                head_branch: raw.check_suite.head_branch.clone(),
                pull_requests: numbers(&raw.check_suite.pull_requests),
            }
        }
        "check_run" => {
            let raw: RawCheckRunEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::CheckRun {
                action,
                installation,
                repo: repo(&raw.repository)?,
                id: CheckRunId(raw.check_run.id),
                name: raw.check_run.name.clone(),
                head_sha: sha(&raw.check_run.head_sha)?,
                pull_requests: numbers(&raw.check_run.pull_requests),
            }
        }
        "push" => {
            let raw: RawPushEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::Push {
                installation,
                repo: repo(&raw.repository)?,
                git_ref: raw.git_ref,
                before: sha(&raw.before)?,
                after: sha(&raw.after)?,
                deleted: raw.deleted,
            }
        }
        "issue_comment" => {
            let raw: RawIssueCommentEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::IssueComment {
                action,
                installation,
                repo: repo(&raw.repository)?,
                number: PrNumber(raw.issue.number),
                on_pull_request: raw
                    .issue
                    .pull_request
                    .as_ref()
                    .is_some_and(|v| !v.is_null()),
                comment: Comment {
                    id: CommentId(raw.comment.id),
                    body: raw.comment.body.clone().unwrap_or_default(),
                    author: actor(&raw.comment.user),
                },
                previous_body: raw.changes.and_then(|c| c.body).map(|b| b.from),
                issue_author: actor(&raw.issue.user),
            }
        }
        "pull_request_review" => {
            let raw: RawReviewEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::PullRequestReview {
                action,
                installation,
                repo: repo(&raw.repository)?,
                pr: pull(&raw.pull_request)?,
            }
        }
        "status" => {
            let raw: RawStatusEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::Status {
                installation,
                repo: repo(&raw.repository)?,
                sha: sha(&raw.sha)?,
                context: raw.context,
                state: raw.state,
            }
        }
        "installation" => {
            let raw: RawInstallationEvent = serde_json::from_slice(body).map_err(json_err)?;
            Event::Installation {
                action,
                installation: InstallationId(raw.installation.id),
                account: raw.installation.account.login.clone(),
                repositories: raw
                    .repositories
                    .unwrap_or_default()
                    .iter()
                    .map(|r| name(&r.full_name))
                    .collect::<Result<_, _>>()?,
            }
        }
        "installation_repositories" => {
            let raw: RawInstallationReposEvent = serde_json::from_slice(body).map_err(json_err)?;
            let names = |rs: &[RawRepoRef]| -> Result<Vec<RepoName>, WebhookError> {
                rs.iter().map(|r| name(&r.full_name)).collect()
            };
            Event::InstallationRepositories {
                action,
                installation: InstallationId(raw.installation.id),
                added: names(&raw.repositories_added)?,
                removed: names(&raw.repositories_removed)?,
            }
        }
        other => Event::Other {
            event: other.to_string(),
            action: common.action,
        },
    })
}

fn actor(a: &RawAccount) -> Actor {
    Actor {
        login: a.login.clone(),
        id: a.id,
        kind: match a.kind.as_deref() {
            Some("User") => ActorKind::User,
            Some("Bot") => ActorKind::Bot,
            Some("Organization") => ActorKind::Organization,
            _ => ActorKind::Other,
        },
    }
}
