//! A GitHub simulator for tests, benchmarks and `warden demo`: an HTTP server on loopback that
//! answers the REST endpoints Warden uses as GitHub documents them (App JWT and installation
//! tokens, contents, tarballs through a codeload redirect, compare, pulls, check runs, statuses,
//! comments, reactions, permissions, merges, webhook deliveries and redelivery), keeps its
//! repositories as real git repositories, and sends webhooks signed as GitHub signs them.
//! Faults (latency, 5xx, secondary and primary rate limits, dropped deliveries) can be
//! injected. Every exchange is recorded, so tests can check it against GitHub's OpenAPI
//! description. See docs/sim.md.

mod api;
pub mod git;
mod hooks;
pub mod json;
pub mod kube;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use crate::github::ids::{CheckRunId, CommentId, InstallationId, PrNumber, RepoId, RepoName, Sha};
use git::GitRepo;

/// How the simulated GitHub is set up.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub app_id: u64,
    pub slug: String,
    pub public_key_pem: String,
    pub webhook_secret: String,
    pub webhook_url: Option<String>,
    /// Lifetime of installation tokens (GitHub: 1 hour).
    pub token_ttl: Duration,
    /// Requests per token per hour (GitHub: 5,000 for installations).
    pub rate_limit: u32,
}

impl SimOptions {
    pub fn new(app_id: u64, slug: &str, public_key_pem: &str, webhook_secret: &str) -> SimOptions {
        SimOptions {
            app_id,
            slug: slug.to_string(),
            public_key_pem: public_key_pem.to_string(),
            webhook_secret: webhook_secret.to_string(),
            webhook_url: None,
            token_ttl: Duration::from_secs(3600),
            rate_limit: 5000,
        }
    }
}

/// A check run as GitHub shows it.
#[derive(Debug, Clone)]
pub struct CheckRunView {
    pub id: CheckRunId,
    pub name: String,
    pub head_sha: Sha,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub text: Option<String>,
    pub annotations: Vec<Value>,
    pub app_id: u64,
    pub details_url: Option<String>,
}

/// An issue or pull-request comment.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: CommentId,
    pub author: String,
    pub author_is_bot: bool,
    pub body: String,
}

/// A pull request.
#[derive(Debug, Clone)]
pub struct PullView {
    pub number: PrNumber,
    pub title: String,
    pub author: String,
    pub head_ref: String,
    pub head_sha: Sha,
    pub base_ref: String,
    pub base_sha: Sha,
    pub state: String,
    pub merged: bool,
    pub draft: bool,
    pub labels: Vec<String>,
    pub merge_commit: Option<Sha>,
}

/// What a branch requires before a pull request into it may merge (`Sim::protect`).
#[derive(Debug, Clone, Default)]
pub struct BranchRules {
    /// Check or status names that must pass.
    pub required: Vec<String>,
    /// Approving reviews needed.
    pub reviews: u32,
    /// Merges only through the merge queue (rulesets only).
    pub merge_queue: bool,
    /// Served as a ruleset (`GET /repos/{o}/{r}/rules/branches/{b}`) rather than classic branch
    /// protection (`GET /repos/{o}/{r}/branches/{b}`).
    pub ruleset: bool,
}

/// A pull-request review.
#[derive(Debug, Clone)]
pub(crate) struct Review {
    pub id: u64,
    pub repo: u64,
    pub number: u64,
    pub user: String,
    pub state: String,
    pub commit: Sha,
}

/// A commit status.
#[derive(Debug, Clone)]
pub struct StatusView {
    pub context: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub id: u64,
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    /// Warden's answer; 0 while pending, or when there was none (refused, timed out, dropped).
    pub status_code: u16,
    pub redelivery: bool,
}

/// One API request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The documented operation it matched (`GET /repos/{owner}/{repo}/pulls`).
    pub template: Option<String>,
    pub status: u16,
    pub request_body: Option<Value>,
    pub response_body: Option<Value>,
    pub response_headers: Vec<(String, String)>,
}

/// One download from the codeload stand-in.
#[derive(Debug, Clone)]
pub struct CodeloadRequest {
    pub path: String,
    pub had_authorization_header: bool,
    pub status: u16,
}

pub(crate) struct Installation {
    pub account: String,
    pub repos: Vec<u64>,
}

pub(crate) struct Pull {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub author: String,
    pub head_ref: String,
    pub head_sha: Sha,
    pub base_ref: String,
    pub base_sha: Sha,
    pub state: String,
    pub merged: bool,
    pub merge_commit: Option<Sha>,
    pub draft: bool,
    pub labels: Vec<String>,
    pub created: u64,
}

pub(crate) struct RepoState {
    pub id: u64,
    pub inst: u64,
    pub name: RepoName,
    pub default_branch: String,
    pub private: bool,
    pub git: GitRepo,
    pub next_number: u64,
    pub pulls: BTreeMap<u64, Pull>,
}

pub(crate) struct CheckRun {
    pub id: u64,
    pub repo: u64,
    pub name: String,
    pub head_sha: Sha,
    pub status: String,
    pub conclusion: Option<String>,
    pub output: Value,
    pub annotations: Vec<Value>,
    pub details_url: Option<String>,
    pub external_id: Option<String>,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub suite: u64,
    /// The slug of the App that made it, when not the simulated App (another CI).
    pub app: Option<String>,
}

pub(crate) struct Comment {
    pub id: u64,
    pub repo: u64,
    pub number: u64,
    pub author: String,
    pub bot: bool,
    pub body: String,
    pub created: u64,
    pub updated: u64,
}

pub(crate) struct Status {
    pub id: u64,
    pub repo: u64,
    pub sha: Sha,
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created: u64,
}

pub(crate) struct Delivery {
    pub id: u64,
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub payload: Arc<Vec<u8>>,
    pub status_code: u16,
    pub redelivery: bool,
    pub delivered_at: u64,
    pub duration: f64,
    pub installation: Option<u64>,
    pub repository: Option<u64>,
    pub dropped: bool,
}

pub(crate) struct Token {
    pub inst: u64,
    pub expires: u64,
}

/// Everything the simulated GitHub holds.
#[derive(Default)]
pub(crate) struct State {
    next_id: u64,
    pub clock: u64,
    pub webhook_url: Option<String>,
    pub installations: BTreeMap<u64, Installation>,
    pub repos: BTreeMap<u64, RepoState>,
    pub check_runs: BTreeMap<u64, CheckRun>,
    pub suites: HashMap<(u64, Sha), u64>,
    pub comments: BTreeMap<u64, Comment>,
    pub statuses: Vec<Status>,
    pub tokens: HashMap<String, Token>,
    /// Personal tokens (token → login), good for every repository.
    pub user_tokens: HashMap<String, String>,
    /// Rate-limit use per token (or per App for JWT requests).
    pub used: HashMap<String, u32>,
    pub codeload_tokens: HashMap<String, (u64, Sha, u64)>,
    pub deliveries: Vec<Delivery>,
    pub exchanges: Vec<Exchange>,
    pub codeload_requests: Vec<CodeloadRequest>,
    pub permissions: HashMap<(u64, String), String>,
    pub reactions: Vec<(u64, String, String)>,
    /// (org, team slug, login) of active team members.
    pub team_members: std::collections::HashSet<(String, String, String)>,
    /// Branch rules by (repository, branch).
    pub rules: HashMap<(u64, String), BranchRules>,
    pub reviews: Vec<Review>,
    /// Merge-queue entries: (repository, pull request, expected head).
    pub merge_queue: Vec<(u64, u64, Sha)>,
}

impl State {
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn repo_by_name(&self, full: &str) -> Option<&RepoState> {
        self.repos
            .values()
            .find(|r| r.name.to_string().eq_ignore_ascii_case(full))
    }
}

/// Injected faults. Each applies to the API (not codeload) until used up or cleared.
#[derive(Default)]
pub struct Faults {
    inner: Mutex<FaultState>,
}

#[derive(Default)]
struct FaultState {
    latency: Duration,
    /// (method and path part to match, or any request; requests left; status).
    fail_next: Vec<FailRule>,
    secondary: Option<(usize, u64)>,
    primary_until: Option<u64>,
    drop: usize,
}

type FailRule = (Option<(String, String)>, usize, u16);

/// What a request meets.
pub(crate) enum Fault {
    Fail(u16),
    Secondary(u64),
    Primary(u64),
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Delay every API answer.
    pub fn set_latency(&self, d: Duration) {
        self.lock().latency = d;
    }
    /// The next `n` API requests are answered `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock().fail_next.push((None, n, status));
    }
    /// The next `n` requests with this method whose path contains `path_part` are answered
    /// `status`.
    pub fn fail_next_matching(&self, method: &str, path_part: &str, n: usize, status: u16) {
        self.lock().fail_next.push((
            Some((method.to_ascii_uppercase(), path_part.to_string())),
            n,
            status,
        ));
    }
    /// The next `n` requests hit a secondary rate limit asking to wait `retry_after` seconds.
    pub fn secondary_rate_limit(&self, n: usize, retry_after: u64) {
        self.lock().secondary = Some((n, retry_after));
    }
    /// The primary rate limit is used up until `reset_in` seconds from now.
    pub fn exhaust_primary(&self, reset_in: u64) {
        self.lock().primary_until = Some(now() + reset_in);
    }
    pub fn restore_primary(&self) {
        self.lock().primary_until = None;
    }
    /// The next `n` webhooks are not delivered (recorded as failed, redeliverable).
    pub fn drop_deliveries(&self, n: usize) {
        self.lock().drop = n;
    }
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
    }

    pub(crate) fn latency(&self) -> Duration {
        self.lock().latency
    }

    pub(crate) fn take_drop(&self) -> bool {
        let mut f = self.lock();
        if f.drop > 0 {
            f.drop -= 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut f = self.lock();
        if let Some(until) = f.primary_until {
            if now() < until {
                return Some(Fault::Primary(until));
            }
            f.primary_until = None;
        }
        if let Some((n, secs)) = f.secondary
            && n > 0
        {
            f.secondary = if n > 1 { Some((n - 1, secs)) } else { None };
            return Some(Fault::Secondary(secs));
        }
        let hit = f.fail_next.iter().position(|(m, n, _)| {
            *n > 0
                && m.as_ref()
                    .is_none_or(|(mm, p)| mm == method && path.contains(p.as_str()))
        })?;
        let status = f.fail_next[hit].2;
        f.fail_next[hit].1 -= 1;
        if f.fail_next[hit].1 == 0 {
            f.fail_next.remove(hit);
        }
        Some(Fault::Fail(status))
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) struct Inner {
    pub opts: SimOptions,
    pub state: Mutex<State>,
    pub faults: Faults,
    pub api_url: String,
    pub codeload_url: String,
    pub dir: tempfile::TempDir,
    pub hooks: hooks::Queue,
}

impl Inner {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator.
pub struct Sim {
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

fn user_login_is_bot(login: &str) -> bool {
    login.ends_with("[bot]")
}

impl Sim {
    /// Start the API and codeload listeners on loopback and the webhook sender.
    pub async fn start(opts: SimOptions) -> std::io::Result<Sim> {
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let codeload = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (queue, rx) = hooks::Queue::new();
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                webhook_url: opts.webhook_url.clone(),
                clock: 1_767_225_600,
                ..State::default()
            }),
            opts,
            faults: Faults::default(),
            api_url: format!("http://{}", api.local_addr()?),
            codeload_url: format!("http://{}", codeload.local_addr()?),
            dir: tempfile::tempdir()?,
            hooks: queue,
        });
        let mut tasks = Vec::new();
        for (listener, router) in [
            (api, api::router(inner.clone())),
            (codeload, api::codeload_router(inner.clone())),
        ] {
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.changed().await;
                    })
                    .await;
            }));
        }
        tasks.push(hooks::spawn(inner.clone(), rx, stopped));
        Ok(Sim { inner, tasks, stop })
    }

    /// The API's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        self.inner.api_url.clone()
    }

    pub fn codeload_url(&self) -> String {
        self.inner.codeload_url.clone()
    }

    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Where webhooks go (`None`: nowhere; deliveries are recorded as failed).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.inner.lock().webhook_url = url;
    }

    pub fn bot_login(&self) -> String {
        format!("{}[bot]", self.inner.opts.slug)
    }

    /// Install the App on an account; sends `installation` `created`.
    pub fn create_installation(&self, account: &str) -> InstallationId {
        let mut st = self.inner.lock();
        let id = st.id();
        st.installations.insert(
            id,
            Installation {
                account: account.to_string(),
                repos: Vec::new(),
            },
        );
        let payload = json!({
            "action": "created",
            "installation": hooks::installation_json(&self.inner, id, account),
            "repositories": [],
            "sender": api::user_json(account, 1, false),
        });
        hooks::emit(&self.inner, &mut st, "installation", payload);
        InstallationId(id)
    }

    /// Create a repository in an installation; sends `installation_repositories` `added`.
    pub fn create_repo(
        &self,
        inst: InstallationId,
        full_name: &str,
        default_branch: &str,
        private: bool,
    ) -> std::io::Result<RepoId> {
        let name = RepoName::parse(full_name)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut st = self.inner.lock();
        let account = st
            .installations
            .get(&inst.0)
            .map(|i| i.account.clone())
            .ok_or_else(|| std::io::Error::other(format!("no installation {inst}")))?;
        let id = st.id();
        let dir = self.inner.dir.path().join(format!("repo-{id}.git"));
        let git = GitRepo::init(&dir, self.inner.dir.path(), default_branch)?;
        st.repos.insert(
            id,
            RepoState {
                id,
                inst: inst.0,
                name,
                default_branch: default_branch.to_string(),
                private,
                git,
                next_number: 1,
                pulls: BTreeMap::new(),
            },
        );
        if let Some(i) = st.installations.get_mut(&inst.0) {
            i.repos.push(id);
        }
        let repo = &st.repos[&id];
        let payload = json!({
            "action": "added",
            "installation": hooks::installation_json(&self.inner, inst.0, &account),
            "repository_selection": "selected",
            "repositories_added": [{"id": id, "node_id": format!("R_{id}"), "name": repo.name.name(), "full_name": repo.name.to_string(), "private": private}],
            "repositories_removed": [],
            "sender": api::user_json(&account, 1, false),
        });
        hooks::emit(&self.inner, &mut st, "installation_repositories", payload);
        Ok(RepoId(id))
    }

    /// Commit `changes` (None deletes a file) to `branch`, creating it from the default branch
    /// when missing. Sends `push`, `check_suite` `requested`, and `pull_request` `synchronize`
    /// for the open pull requests whose head is the branch.
    pub fn commit(
        &self,
        repo: RepoId,
        branch: &str,
        changes: &[(&str, Option<&[u8]>)],
        message: &str,
    ) -> std::io::Result<Sha> {
        self.commit_with(repo, branch, changes, false, message)
    }

    /// Force-push `branch` to `sha` (an existing commit); sends `push` with `forced`.
    pub fn force_push(&self, repo: RepoId, branch: &str, sha: &Sha) -> std::io::Result<()> {
        let mut st = self.inner.lock();
        let r = st
            .repos
            .get(&repo.0)
            .ok_or_else(|| std::io::Error::other(format!("no repository {repo}")))?;
        let before = r.git.branch(branch);
        r.git.set_branch(branch, sha)?;
        hooks::pushed(&self.inner, &mut st, repo.0, branch, before, sha);
        Ok(())
    }

    /// A personal access token of `login`, good for every repository (reads, statuses): what
    /// a person, or an agent given a person's token, calls the API with.
    pub fn user_token(&self, login: &str) -> String {
        let token = format!(
            "ghp_{}",
            (0..36)
                .map(|_| fastrand::alphanumeric())
                .collect::<String>()
        );
        self.inner
            .lock()
            .user_tokens
            .insert(token.clone(), login.to_string());
        token
    }

    /// Replace `branch`'s tree with the files under `dir`.
    pub fn commit_dir(
        &self,
        repo: RepoId,
        branch: &str,
        dir: &Path,
        message: &str,
    ) -> std::io::Result<Sha> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        let changes: Vec<(&str, Option<&[u8]>)> = files
            .iter()
            .map(|(p, b)| (p.as_str(), Some(b.as_slice())))
            .collect();
        self.commit_with(repo, branch, &changes, true, message)
    }

    fn commit_with(
        &self,
        repo: RepoId,
        branch: &str,
        changes: &[(&str, Option<&[u8]>)],
        replace: bool,
        message: &str,
    ) -> std::io::Result<Sha> {
        let mut st = self.inner.lock();
        st.clock += 1;
        let time = st.clock;
        let r = st
            .repos
            .get(&repo.0)
            .ok_or_else(|| std::io::Error::other(format!("no repository {repo}")))?;
        let before = r.git.branch(branch);
        let parent = before.clone().or_else(|| r.git.branch(&r.default_branch));
        let sha = r
            .git
            .commit(branch, parent.as_ref(), changes, replace, message, time)?;
        hooks::pushed(&self.inner, &mut st, repo.0, branch, before, &sha);
        Ok(sha)
    }

    /// Open a pull request from `head` into `base`; sends `pull_request` `opened`.
    pub fn open_pull(
        &self,
        repo: RepoId,
        head: &str,
        base: &str,
        title: &str,
        author: &str,
    ) -> std::io::Result<PrNumber> {
        let mut st = self.inner.lock();
        let id = st.id();
        st.clock += 1;
        let created = st.clock;
        let r = st
            .repos
            .get_mut(&repo.0)
            .ok_or_else(|| std::io::Error::other(format!("no repository {repo}")))?;
        let head_sha = r
            .git
            .branch(head)
            .ok_or_else(|| std::io::Error::other(format!("no branch {head}")))?;
        let base_sha = r
            .git
            .branch(base)
            .ok_or_else(|| std::io::Error::other(format!("no branch {base}")))?;
        let number = r.next_number;
        r.next_number += 1;
        r.pulls.insert(
            number,
            Pull {
                id,
                number,
                title: title.to_string(),
                author: author.to_string(),
                head_ref: head.to_string(),
                head_sha,
                base_ref: base.to_string(),
                base_sha,
                state: "open".into(),
                merged: false,
                merge_commit: None,
                draft: false,
                labels: Vec::new(),
                created,
            },
        );
        hooks::pull_event(
            &self.inner,
            &mut st,
            repo.0,
            number,
            "opened",
            author,
            json!({}),
        );
        Ok(PrNumber(number))
    }

    fn pull_action(
        &self,
        repo: RepoId,
        n: PrNumber,
        action: &str,
        extra: Value,
        f: impl FnOnce(&mut Pull),
    ) {
        let mut st = self.inner.lock();
        let Some(p) = st
            .repos
            .get_mut(&repo.0)
            .and_then(|r| r.pulls.get_mut(&n.0))
        else {
            return;
        };
        f(p);
        let author = p.author.clone();
        hooks::pull_event(&self.inner, &mut st, repo.0, n.0, action, &author, extra);
    }

    pub fn close_pull(&self, repo: RepoId, n: PrNumber) {
        self.pull_action(repo, n, "closed", json!({}), |p| p.state = "closed".into());
    }

    pub fn reopen_pull(&self, repo: RepoId, n: PrNumber) {
        self.pull_action(repo, n, "reopened", json!({}), |p| p.state = "open".into());
    }

    /// Change the base branch; sends `edited` with `changes.base`.
    pub fn change_base(&self, repo: RepoId, n: PrNumber, base: &str) {
        let tip = {
            let st = self.inner.lock();
            st.repos.get(&repo.0).and_then(|r| r.git.branch(base))
        };
        let Some(tip) = tip else { return };
        let old = self.pull(repo, n);
        let Some(old) = old else { return };
        let changes = json!({"changes": {"base": {"ref": {"from": old.base_ref}, "sha": {"from": old.base_sha.as_str()}}}});
        self.pull_action(repo, n, "edited", changes, |p| {
            p.base_ref = base.to_string();
            p.base_sha = tip;
        });
    }

    pub fn label_pull(&self, repo: RepoId, n: PrNumber, label: &str) {
        let l = label.to_string();
        self.pull_action(repo, n, "labeled", json!({"label": {"name": label}}), |p| {
            if !p.labels.contains(&l) {
                p.labels.push(l);
            }
        });
    }

    pub fn set_draft(&self, repo: RepoId, n: PrNumber, draft: bool) {
        let action = if draft {
            "converted_to_draft"
        } else {
            "ready_for_review"
        };
        self.pull_action(repo, n, action, json!({}), |p| p.draft = draft);
    }

    /// A user comments on a pull request; sends `issue_comment` `created`.
    pub fn comment(&self, repo: RepoId, n: PrNumber, author: &str, body: &str) -> CommentId {
        let mut st = self.inner.lock();
        let id = st.id();
        st.clock += 1;
        let t = st.clock;
        st.comments.insert(
            id,
            Comment {
                id,
                repo: repo.0,
                number: n.0,
                author: author.to_string(),
                bot: user_login_is_bot(author),
                body: body.to_string(),
                created: t,
                updated: t,
            },
        );
        hooks::comment_event(&self.inner, &mut st, id, "created", None);
        CommentId(id)
    }

    /// A user edits a comment; sends `issue_comment` `edited` with `changes.body.from`.
    pub fn edit_comment(&self, _repo: RepoId, id: CommentId, body: &str) {
        let mut st = self.inner.lock();
        st.clock += 1;
        let t = st.clock;
        let Some(c) = st.comments.get_mut(&id.0) else {
            return;
        };
        let from = std::mem::replace(&mut c.body, body.to_string());
        c.updated = t;
        hooks::comment_event(&self.inner, &mut st, id.0, "edited", Some(from));
    }

    /// Someone presses "Re-run" on a check run; sends `check_run` `rerequested`.
    pub fn rerequest_check_run(&self, repo: RepoId, id: CheckRunId) {
        let mut st = self.inner.lock();
        hooks::check_run_event(&self.inner, &mut st, repo.0, id.0, "rerequested");
    }

    /// Someone re-runs all checks of a commit; sends `check_suite` `rerequested`.
    pub fn rerequest_check_suite(&self, repo: RepoId, head: &Sha) {
        let mut st = self.inner.lock();
        hooks::check_suite_event(&self.inner, &mut st, repo.0, head, "rerequested");
    }

    /// The reactions on a comment: (who, content), in the order they were made.
    pub fn reactions(&self, comment: CommentId) -> Vec<(String, String)> {
        self.inner
            .lock()
            .reactions
            .iter()
            .filter(|(c, _, _)| *c == comment.0)
            .map(|(_, who, content)| (who.clone(), content.clone()))
            .collect()
    }

    /// Make `login` an active member of `org/team`.
    pub fn add_team_member(&self, org: &str, team: &str, login: &str) {
        self.inner.lock().team_members.insert((
            org.to_lowercase(),
            team.to_lowercase(),
            login.to_lowercase(),
        ));
    }

    /// `admin`, `maintain`, `write`, `triage`, `read` or `none`.
    pub fn set_permission(&self, repo: RepoId, user: &str, permission: &str) {
        self.inner
            .lock()
            .permissions
            .insert((repo.0, user.to_string()), permission.to_string());
    }

    pub fn branch(&self, repo: RepoId, branch: &str) -> Option<Sha> {
        let st = self.inner.lock();
        st.repos.get(&repo.0)?.git.branch(branch)
    }

    /// Every file at a ref.
    pub fn files(&self, repo: RepoId, git_ref: &str) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
        let git = {
            let st = self.inner.lock();
            st.repos
                .get(&repo.0)
                .map(|r| r.git.clone())
                .ok_or_else(|| std::io::Error::other("no repository"))?
        };
        let sha = git
            .resolve(git_ref)
            .ok_or_else(|| std::io::Error::other(format!("no ref {git_ref}")))?;
        git.files(&sha)
    }

    pub fn pull(&self, repo: RepoId, n: PrNumber) -> Option<PullView> {
        let st = self.inner.lock();
        let p = st.repos.get(&repo.0)?.pulls.get(&n.0)?;
        Some(PullView {
            number: PrNumber(p.number),
            title: p.title.clone(),
            author: p.author.clone(),
            head_ref: p.head_ref.clone(),
            head_sha: p.head_sha.clone(),
            base_ref: p.base_ref.clone(),
            base_sha: p.base_sha.clone(),
            state: p.state.clone(),
            merged: p.merged,
            draft: p.draft,
            labels: p.labels.clone(),
            merge_commit: p.merge_commit.clone(),
        })
    }

    /// Protect `branch`: merges into it need `rules` (enforced by the merge endpoint).
    pub fn protect(&self, repo: RepoId, branch: &str, rules: BranchRules) {
        self.inner
            .lock()
            .rules
            .insert((repo.0, branch.to_string()), rules);
    }

    /// `user` reviews the pull request's head (`APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`);
    /// sends `pull_request_review` `submitted`.
    pub fn review(&self, repo: RepoId, n: PrNumber, user: &str, state: &str) {
        let mut st = self.inner.lock();
        let Some(head) = st
            .repos
            .get(&repo.0)
            .and_then(|r| r.pulls.get(&n.0))
            .map(|p| p.head_sha.clone())
        else {
            return;
        };
        let id = st.id();
        let review = Review {
            id,
            repo: repo.0,
            number: n.0,
            user: user.to_string(),
            state: state.to_string(),
            commit: head,
        };
        let review_json = api::review_json(&self.inner, &st, &review);
        st.reviews.push(review);
        hooks::review_event(&self.inner, &mut st, repo.0, n.0, review_json, user);
    }

    /// Another CI system's check run on `sha`: completed with `conclusion`, or in progress when
    /// `None`. Sends `check_run` (`completed` or `created`).
    pub fn external_check(&self, repo: RepoId, sha: &Sha, name: &str, conclusion: Option<&str>) {
        let mut st = self.inner.lock();
        let id = st.id();
        let suite = st.id();
        st.clock += 1;
        let time = crate::github::client::format_time(st.clock as i64);
        st.check_runs.insert(
            id,
            CheckRun {
                id,
                repo: repo.0,
                name: name.to_string(),
                head_sha: sha.clone(),
                status: if conclusion.is_some() {
                    "completed"
                } else {
                    "in_progress"
                }
                .into(),
                conclusion: conclusion.map(str::to_string),
                output: json!({}),
                annotations: Vec::new(),
                details_url: None,
                external_id: None,
                started_at: time.clone(),
                completed_at: conclusion.map(|_| time),
                suite,
                app: Some("ci".into()),
            },
        );
        let action = if conclusion.is_some() {
            "completed"
        } else {
            "created"
        };
        hooks::check_run_event(&self.inner, &mut st, repo.0, id, action);
    }

    /// A commit status from another system; sends `status`.
    pub fn set_status(&self, repo: RepoId, sha: &Sha, context: &str, state: &str) {
        let mut st = self.inner.lock();
        let id = st.id();
        st.clock += 1;
        let created = st.clock;
        let status = Status {
            id,
            repo: repo.0,
            sha: sha.clone(),
            state: state.to_string(),
            context: context.to_string(),
            description: None,
            target_url: None,
            created,
        };
        st.statuses.push(status);
        hooks::status_event(&self.inner, &mut st, repo.0, id);
    }

    /// The merge queue's entries: (pull request, expected head).
    pub fn merge_queue(&self, repo: RepoId) -> Vec<(PrNumber, Sha)> {
        self.inner
            .lock()
            .merge_queue
            .iter()
            .filter(|(r, _, _)| *r == repo.0)
            .map(|(_, n, s)| (PrNumber(*n), s.clone()))
            .collect()
    }

    /// The check runs of a repository, in creation order.
    pub fn check_runs(&self, repo: RepoId) -> Vec<CheckRunView> {
        let st = self.inner.lock();
        st.check_runs
            .values()
            .filter(|c| c.repo == repo.0)
            .map(|c| CheckRunView {
                id: CheckRunId(c.id),
                name: c.name.clone(),
                head_sha: c.head_sha.clone(),
                status: c.status.clone(),
                conclusion: c.conclusion.clone(),
                title: c.output["title"].as_str().map(str::to_string),
                summary: c.output["summary"].as_str().map(str::to_string),
                text: c.output["text"].as_str().map(str::to_string),
                annotations: c.annotations.clone(),
                app_id: if c.app.is_some() {
                    9_999
                } else {
                    self.inner.opts.app_id
                },
                details_url: c.details_url.clone(),
            })
            .collect()
    }

    pub fn comments(&self, repo: RepoId, n: PrNumber) -> Vec<CommentView> {
        let st = self.inner.lock();
        st.comments
            .values()
            .filter(|c| c.repo == repo.0 && c.number == n.0)
            .map(|c| CommentView {
                id: CommentId(c.id),
                author: c.author.clone(),
                author_is_bot: c.bot,
                body: c.body.clone(),
            })
            .collect()
    }

    pub fn statuses(&self, repo: RepoId, sha: &Sha) -> Vec<StatusView> {
        let st = self.inner.lock();
        st.statuses
            .iter()
            .filter(|s| s.repo == repo.0 && s.sha == *sha)
            .map(|s| StatusView {
                context: s.context.clone(),
                state: s.state.clone(),
                description: s.description.clone(),
                target_url: s.target_url.clone(),
            })
            .collect()
    }

    /// Deliver delivery `id` again: as GitHub's redelivery (same GUID), or as a duplicate
    /// (`fresh_guid`). The id of the new attempt.
    pub fn resend(&self, id: u64, fresh_guid: bool) -> Option<u64> {
        let mut st = self.inner.lock();
        let index = st.deliveries.iter().position(|d| d.id == id)?;
        Some(hooks::resend(&self.inner, &mut st, index, fresh_guid))
    }

    pub fn deliveries(&self) -> Vec<DeliveryView> {
        let st = self.inner.lock();
        st.deliveries
            .iter()
            .map(|d| DeliveryView {
                id: d.id,
                guid: d.guid.clone(),
                event: d.event.clone(),
                action: d.action.clone(),
                status_code: d.status_code,
                redelivery: d.redelivery,
            })
            .collect()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.inner.lock().exchanges.clone()
    }

    pub fn codeload_requests(&self) -> Vec<CodeloadRequest> {
        self.inner.lock().codeload_requests.clone()
    }

    /// Wait until every webhook queued so far has been delivered or has failed.
    pub async fn settle(&self) {
        self.inner.hooks.settle().await;
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if e.file_name() == ".git" {
            continue;
        }
        if e.file_type()?.is_dir() {
            walk(root, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read(&p)?));
        }
    }
    Ok(())
}
