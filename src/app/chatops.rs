//! `warden serve`'s side of ChatOps: an `issue_comment` job finds the commands in the comment
//! (`crate::chatops::parse`), acknowledges them with 👀, checks each commenter's permission
//! (the collaborator-permission endpoint, cached for a minute; team membership when a command
//! is restricted to teams), runs each command once (the store's audit trail is the guard
//! against redelivered webhooks), answers in one reply per comment (edited in place when the
//! comment is edited) and ends with 👍, 👎 or 😕.
//!
//! The repository's config is read from its default branch (and the org's `.github` repo):
//! a pull request cannot change who may run commands on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::chatops::parse::{self, Args, Command, Parsed, Problem};
use crate::chatops::reply::{self, Answer};
use crate::chatops::{Commenter, Denied, authorize};
use crate::checks::run::all_rules;
use crate::github::ids::{CommentId, InstallationId, PrNumber, RepoName};
use crate::github::webhook::{self, ActorKind, Event};
use crate::repo::config::{Permission, RepoConfig};
use crate::store::{CommandRecord, Hold, Job, Store};

use super::automerge::{AutoMerge, MergeForge};
use super::now_ms;
use super::pipeline::{Forge, ForgeError, Pipeline, Subject};
use super::workers::{JobHandler, Outcome};
use crate::promote::verdict::Decision;

/// The GitHub operations ChatOps needs beyond the pipeline's.
pub trait ChatForge: Send + Sync + 'static {
    /// Add a reaction (`eyes`, `+1`, `-1`, `confused`) to an issue comment.
    fn react(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        comment: CommentId,
        content: &'static str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// Post a new comment on a pull request; its id.
    fn post_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
        body: &str,
    ) -> impl Future<Output = Result<CommentId, ForgeError>> + Send;
    /// Replace the body of a comment Warden posted; `false` when it no longer exists.
    fn edit_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CommentId,
        body: &str,
    ) -> impl Future<Output = Result<bool, ForgeError>> + Send;
    /// A user's permission on a repository (None: none).
    fn permission(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        login: &str,
    ) -> impl Future<Output = Result<Option<Permission>, ForgeError>> + Send;
    /// Whether a user is an active member of `org/team`.
    fn team_member(
        &self,
        inst: InstallationId,
        org: &str,
        team: &str,
        login: &str,
    ) -> impl Future<Output = Result<bool, ForgeError>> + Send;
}

/// Runs `issue_comment` jobs.
pub struct ChatOps<F: Forge + ChatForge + MergeForge> {
    pub forge: Arc<F>,
    pub pipeline: Arc<Pipeline<F>>,
    pub store: Arc<Store>,
    pub automerge: Arc<AutoMerge<F>>,
    permissions: moka::future::Cache<(String, String), Option<Permission>>,
}

/// What a comment event asks of ChatOps.
struct Asked {
    inst: InstallationId,
    repo: RepoName,
    number: PrNumber,
    comment: CommentId,
    comment_url: String,
    login: String,
    is_author: bool,
    body: String,
    previous: Option<String>,
}

fn is_bot(kind: ActorKind, login: &str) -> bool {
    kind == ActorKind::Bot || login.ends_with("[bot]")
}

/// The comment events ChatOps acts on: a new or edited comment on a pull request, by a person.
pub fn wants(event: &Event) -> bool {
    matches!(event, Event::IssueComment { action, on_pull_request: true, comment, .. }
        if (action == "created" || action == "edited") && !is_bot(comment.author.kind, &comment.author.login))
}

fn asked(event: Event) -> Option<Asked> {
    let Event::IssueComment {
        action,
        installation: Some(inst),
        repo,
        number,
        on_pull_request: true,
        comment,
        previous_body,
        issue_author,
    } = event
    else {
        return None;
    };
    if !(action == "created" || action == "edited")
        || is_bot(comment.author.kind, &comment.author.login)
    {
        return None;
    }
    let comment_url = format!(
        "https://github.com/{}/pull/{}#issuecomment-{}",
        repo.name, number, comment.id
    );
    Some(Asked {
        inst,
        is_author: issue_author.id == comment.author.id,
        repo: repo.name,
        number,
        comment: comment.id,
        comment_url,
        login: comment.author.login,
        body: comment.body,
        previous: if action == "edited" {
            Some(previous_body.unwrap_or_default())
        } else {
            None
        },
    })
}

fn args_text(c: &Command) -> String {
    match &c.args {
        Args::Help { verb } => verb.map(|v| v.to_string()).unwrap_or_default(),
        Args::Validate | Args::Merge => String::new(),
        Args::Diff { scope, full } => format!(
            "{}{}",
            scope.clone().unwrap_or_default(),
            if *full { " --full" } else { "" }
        )
        .trim()
        .to_string(),
        Args::Explain { rule } => rule.clone(),
        Args::Hold { env, reason } => format!(
            "{}{}",
            env.clone().unwrap_or_default(),
            reason
                .as_ref()
                .map(|r| format!(" -- {r}"))
                .unwrap_or_default()
        )
        .trim()
        .to_string(),
        Args::Unhold { env } => env.clone().unwrap_or_default(),
    }
}

impl<F: Forge + ChatForge + MergeForge> ChatOps<F> {
    pub fn new(
        forge: Arc<F>,
        pipeline: Arc<Pipeline<F>>,
        store: Arc<Store>,
        automerge: Arc<AutoMerge<F>>,
    ) -> ChatOps<F> {
        ChatOps {
            forge,
            pipeline,
            store,
            automerge,
            permissions: moka::future::Cache::builder()
                .time_to_live(Duration::from_secs(60))
                .max_capacity(10_000)
                .build(),
        }
    }

    /// The repo's config from its default branch over the org's; the defaults when it does
    /// not load (the check run reports why).
    async fn config(&self, a: &Asked) -> Result<RepoConfig, ForgeError> {
        self.pipeline.default_config(a.inst, &a.repo).await
    }

    async fn permission_of(&self, a: &Asked) -> Result<Option<Permission>, ForgeError> {
        let key = (a.repo.to_string(), a.login.clone());
        if let Some(p) = self.permissions.get(&key).await {
            return Ok(p);
        }
        let p = self.forge.permission(a.inst, &a.repo, &a.login).await?;
        self.permissions.insert(key, p).await;
        Ok(p)
    }

    async fn check(
        &self,
        a: &Asked,
        config: &RepoConfig,
        verb: &str,
        found: Option<Permission>,
    ) -> Result<Result<(), Denied>, ForgeError> {
        let mut teams = Vec::new();
        if let Some(list) = config.chatops.teams.get(verb) {
            for t in list {
                if let Some((org, team)) = t.split_once('/')
                    && self.forge.team_member(a.inst, org, team, &a.login).await?
                {
                    teams.push(t.clone());
                }
            }
        }
        Ok(authorize(
            &config.chatops,
            verb,
            &Commenter {
                login: &a.login,
                permission: found,
                is_author: a.is_author,
                teams: &teams,
            },
        ))
    }

    async fn reply(&self, a: &Asked, body: &str) -> Result<(), ForgeError> {
        let repo = a.repo.to_string();
        let existing = self
            .store
            .reply_to(&repo, a.comment.0)
            .map_err(store_error)?;
        if let Some(id) = existing
            && self
                .forge
                .edit_comment(a.inst, &a.repo, CommentId(id), body)
                .await?
        {
            return Ok(());
        }
        let id = self
            .forge
            .post_comment(a.inst, &a.repo, a.number, body)
            .await?;
        self.store
            .set_reply(&repo, a.comment.0, id.0)
            .map_err(store_error)?;
        Ok(())
    }

    /// Run one command that may run.
    async fn run(&self, a: &Asked, config: &RepoConfig, c: &Command) -> Answer {
        let repo = a.repo.to_string();
        match &c.args {
            Args::Help { verb } => Answer::Done(reply::help(&config.chatops, *verb)),
            Args::Explain { rule } => {
                let rules = all_rules();
                match rules.iter().find(|r| r.id == rule) {
                    Some(r) => {
                        let findings = match self.review(a).await {
                            Ok(review) => explain_findings(&review.check.findings, rule),
                            Err(e) => format!("(the findings could not be listed: {e})"),
                        };
                        Answer::Done(format!(
                            "**`{}`** (default level: {}): {}\n\n{}\n\n{findings}",
                            r.id,
                            format!("{:?}", r.default).to_lowercase(),
                            r.summary,
                            r.help,
                        ))
                    }
                    None => {
                        let names: Vec<&str> = rules.iter().map(|r| r.id).collect();
                        let near = names
                            .iter()
                            .map(|n| (strsim::damerau_levenshtein(n, rule), *n))
                            .min_by_key(|(d, _)| *d)
                            .filter(|(d, _)| *d <= 3)
                            .map(|(_, n)| format!("; did you mean `{n}`?"))
                            .unwrap_or_default();
                        Answer::Failed(format!("`{rule}` is not a rule{near}"))
                    }
                }
            }
            Args::Hold { env, reason } => {
                if let Some(e) = env
                    && config.environment(e).is_none()
                {
                    return unknown_env(config, e);
                }
                let hold = Hold {
                    repo: repo.clone(),
                    pr: env.is_none().then_some(a.number.0),
                    environment: env.clone(),
                    reason: reason.clone().unwrap_or_default(),
                    by: a.login.clone(),
                    comment_url: a.comment_url.clone(),
                    created_ms: now_ms(),
                };
                match self.store.add_hold(&hold) {
                    Ok(_) => {
                        let what = match env {
                            Some(e) => {
                                format!("Everything that targets `{e}` in this repository is held")
                            }
                            None => format!("Pull request #{} is held", a.number),
                        };
                        let holds = self.store.holds(Some(&repo)).unwrap_or_default();
                        Answer::Done(format!(
                            "{what} from auto-merge, promotion and deploy approval until `{} unhold{}`.\n\nHolds in this repository:\n{}",
                            config.chatops.prefix,
                            env.as_ref().map(|e| format!(" {e}")).unwrap_or_default(),
                            reply::holds(&holds)
                        ))
                    }
                    Err(e) => Answer::Failed(format!("the hold was not stored: {e}")),
                }
            }
            Args::Merge => match self
                .automerge
                .consider(a.inst, &a.repo, a.number, Some(&a.login))
                .await
            {
                Ok(Some(Decision::Merged { sha, method, .. })) => Answer::Done(format!(
                    "Merged ({method}) as {}, vouched for by @{}: every other auto-merge condition held.",
                    &sha[..sha.len().min(7)],
                    a.login
                )),
                Ok(Some(Decision::Queued { .. })) => Answer::Done(format!(
                    "Added to the merge queue, vouched for by @{}.",
                    a.login
                )),
                Ok(Some(Decision::NotMerged(v))) => {
                    let mut out = String::from("Not merged: a vouch waives only the trusted-author condition.\n");
                    for u in &v.unmet {
                        out.push_str(&format!("- {u} — {}\n", u.fix()));
                    }
                    Answer::Failed(out)
                }
                Ok(None) => Answer::Failed(
                    "there is nothing to merge: the pull request is closed, or Warden's check of its head has not finished (say it again when it has)".into(),
                ),
                Err(e) => Answer::Failed(format!("the merge did not finish: {}", e.message)),
            },
            Args::Unhold { env } => {
                let pr = env.is_none().then_some(a.number.0);
                match self.store.remove_hold(&repo, pr, env.as_deref()) {
                    Ok(true) => {
                        // The hold may have been all that kept it from auto-merge.
                        self.automerge.queue(a.inst, &a.repo, a.number);
                        let holds = self.store.holds(Some(&repo)).unwrap_or_default();
                        Answer::Done(format!(
                            "Lifted.\n\nHolds in this repository:\n{}",
                            reply::holds(&holds)
                        ))
                    }
                    Ok(false) => Answer::Failed(match env {
                        Some(e) => format!("`{e}` is not held"),
                        None => format!("pull request #{} is not held", a.number),
                    }),
                    Err(e) => Answer::Failed(format!("the hold was not lifted: {e}")),
                }
            }
            Args::Validate => {
                let heads = match self.forge.pull_request(a.inst, &a.repo, a.number).await {
                    Ok(h) => h,
                    Err(e) => return Answer::Failed(e.message),
                };
                let subject = Subject {
                    installation: a.inst,
                    repo: a.repo.clone(),
                    head: heads.head.clone(),
                    base: Some(heads.base),
                    pr: Some(a.number),
                    push: None,
                };
                match self.pipeline.run(&subject).await {
                    Ok(conclusion) => Answer::Done(format!(
                        "Checked {} again: **{}**.",
                        heads.head.short(),
                        conclusion.as_str()
                    )),
                    Err(e) => Answer::Failed(format!("the check did not finish: {}", e.message)),
                }
            }
            Args::Diff { scope, full } => {
                let r = match self.review(a).await {
                    Ok(r) => r,
                    Err(e) => return Answer::Failed(e),
                };
                let mut diff = r.diff.clone();
                if let Some(sc) = scope {
                    diff.targets
                        .retain(|t| t.target.environment == *sc || t.target.dir == *sc);
                    if diff.targets.is_empty() {
                        let mut names: Vec<String> = r
                            .diff
                            .targets
                            .iter()
                            .flat_map(|t| [t.target.environment.clone(), t.target.dir.clone()])
                            .filter(|n| !n.is_empty())
                            .collect();
                        names.sort();
                        names.dedup();
                        return Answer::Failed(if names.is_empty() {
                            format!("`{sc}`: this pull request changes no rendered object")
                        } else {
                            format!(
                                "`{sc}` is not an environment or target this pull request changes (it changes: {})",
                                names.join(", ")
                            )
                        });
                    }
                }
                if diff.targets.is_empty() {
                    return Answer::Done("This pull request changes no rendered object.".into());
                }
                let ctx = crate::report::markdown::ReportContext {
                    base: &diff.base,
                    head: Some(&diff.head),
                    diff_mode: config.comments.diff,
                };
                // Room for the reply's own lines around the diff.
                let budget = reply::COMMENT_LIMIT - 1_000;
                Answer::Done(crate::report::markdown::changes_only(
                    &diff, &ctx, *full, budget,
                ))
            }
        }
    }

    /// The review of the pull request's current head against its base.
    async fn review(&self, a: &Asked) -> Result<crate::review::Review, String> {
        let heads = self
            .forge
            .pull_request(a.inst, &a.repo, a.number)
            .await
            .map_err(|e| e.message)?;
        let subject = Subject {
            installation: a.inst,
            repo: a.repo.clone(),
            head: heads.head,
            base: Some(heads.base),
            pr: Some(a.number),
            push: None,
        };
        self.pipeline
            .review_subject(&subject)
            .await
            .map_err(|e| e.message)
    }

    async fn handle_asked(&self, a: Asked) -> Result<(), ForgeError> {
        let config = self.config(&a).await?;
        let prefix = config.chatops.prefix.clone();
        let parsed: Parsed = match &a.previous {
            Some(before) => parse::added(before, &a.body, &prefix),
            None => parse::parse(&a.body, &prefix),
        };
        if parsed.is_empty() {
            return Ok(());
        }
        let repo = a.repo.to_string();
        // A redelivered or duplicated webhook: everything in it was handled; say nothing.
        let invalid_text: String = a.body.chars().take(500).collect();
        let seen = |position: u32, text: &str| {
            self.store
                .command_seen(&repo, a.comment.0, position, text)
                .map_err(store_error)
        };
        let all_seen = if parsed.problems.is_empty() {
            let mut all = true;
            for c in &parsed.commands {
                all &= seen(c.position as u32, &c.text)?;
            }
            all
        } else {
            seen(u32::MAX, &invalid_text)?
        };
        if all_seen {
            return Ok(());
        }
        self.forge.react(a.inst, &a.repo, a.comment, "eyes").await?;
        let record = |position: u32, text: String, verb: &str, args: String| CommandRecord {
            repo: repo.clone(),
            comment_id: a.comment.0,
            position,
            text,
            pr: a.number.0,
            comment_url: a.comment_url.clone(),
            user: a.login.clone(),
            permission: None,
            verb: verb.to_string(),
            args,
            outcome: "running".into(),
            detail: String::new(),
            created_ms: now_ms(),
        };
        if !parsed.problems.is_empty() {
            let detail = parsed
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            let r = CommandRecord {
                outcome: "invalid".into(),
                detail: detail.clone(),
                ..record(u32::MAX, invalid_text.clone(), "", String::new())
            };
            let first = self.store.claim_command(&r).map_err(store_error)?;
            if first {
                audit(&r, "invalid", &detail);
            }
            self.reply(&a, &reply::problems(&config.chatops, &parsed.problems))
                .await?;
            let unknown = parsed
                .problems
                .iter()
                .any(|p| matches!(p, Problem::UnknownVerb { .. }));
            self.forge
                .react(
                    a.inst,
                    &a.repo,
                    a.comment,
                    if unknown { "confused" } else { "-1" },
                )
                .await?;
            return Ok(());
        }
        let found = self.permission_of(&a).await?;
        let mut sections = Vec::new();
        let mut all_ok = true;
        let mut ran = 0;
        for c in &parsed.commands {
            let mut r = record(
                c.position as u32,
                c.text.clone(),
                c.verb.name(),
                args_text(c),
            );
            r.permission = found.map(|p| p.to_string());
            if !self.store.claim_command(&r).map_err(store_error)? {
                // Ran already (a redelivery, or the same line of an edited comment).
                continue;
            }
            ran += 1;
            let answer = match self.check(&a, &config, c.verb.name(), found).await? {
                Err(denied) => Answer::Denied(format!(
                    "@{}: `{}` {denied}. Nothing was changed.",
                    a.login, c.verb
                )),
                Ok(()) => self.run(&a, &config, c).await,
            };
            let (outcome, detail) = match &answer {
                Answer::Done(_) => ("done", String::new()),
                Answer::Denied(d) => ("denied", d.clone()),
                Answer::Failed(d) => ("failed", d.clone()),
            };
            all_ok &= outcome == "done";
            self.store
                .finish_command(&r, outcome, &detail, now_ms())
                .map_err(store_error)?;
            audit(&r, outcome, &detail);
            sections.push((c.text.clone(), answer));
        }
        if ran == 0 {
            return Ok(());
        }
        self.reply(&a, &reply::results(&sections)).await?;
        self.forge
            .react(a.inst, &a.repo, a.comment, if all_ok { "+1" } else { "-1" })
            .await?;
        Ok(())
    }

    /// Run an `issue_comment` job.
    pub async fn handle_job(&self, job: &Job) -> Outcome {
        let event_name = job.payload["event"].as_str().unwrap_or_default();
        let body = job.payload["body"].as_str().unwrap_or_default();
        let event = match webhook::parse(event_name, body.as_bytes()) {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let Some(a) = asked(event) else {
            return Outcome::Done;
        };
        match self.handle_asked(a).await {
            Ok(()) => Outcome::Done,
            Err(e) if e.transient => Outcome::Retry(e.message),
            Err(e) => Outcome::Failed(e.message),
        }
    }
}

/// The findings of one rule on the pull request, as a list (at most 50).
fn explain_findings(findings: &[crate::checks::run::Reported], rule: &str) -> String {
    let of: Vec<_> = findings.iter().filter(|f| f.rule == rule).collect();
    if of.is_empty() {
        return "This pull request has no finding of this rule.".into();
    }
    let mut out = format!(
        "This pull request has {} finding{} of this rule:\n",
        of.len(),
        if of.len() == 1 { "" } else { "s" }
    );
    for f in of.iter().take(50) {
        let at = match (&f.file, f.line) {
            (Some(file), 0) => format!("`{file}`"),
            (Some(file), line) => format!("`{file}:{line}`"),
            (None, _) => "the repository".into(),
        };
        let env = f
            .environment
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let suppressed = if f.suppressed { " (suppressed)" } else { "" };
        out.push_str(&format!(
            "- {at}{env}: {}{suppressed}\n",
            f.message.replace('\n', " ")
        ));
    }
    if of.len() > 50 {
        out.push_str(&format!(
            "- … and {} more in the check run\n",
            of.len() - 50
        ));
    }
    out
}

fn unknown_env(config: &RepoConfig, e: &str) -> Answer {
    let names: Vec<&str> = config
        .environments
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    Answer::Failed(if names.is_empty() {
        format!("`{e}` is not an environment: this repository's config defines none")
    } else {
        format!(
            "`{e}` is not an environment of this repository (environments: {})",
            names.join(", ")
        )
    })
}

fn store_error(e: crate::store::StoreError) -> ForgeError {
    ForgeError {
        message: e.to_string(),
        transient: true,
    }
}

/// The audit log line of a command (structured JSON through the log layer).
fn audit(r: &CommandRecord, outcome: &str, detail: &str) {
    tracing::info!(
        target: "warden::audit",
        comment_url = %r.comment_url,
        user = %r.user,
        permission = r.permission.as_deref().unwrap_or("none"),
        verb = %r.verb,
        args = %r.args,
        outcome,
        detail,
        "chatops command"
    );
}

/// The worker's handler: ChatOps jobs to [`ChatOps`], auto-merge evaluations to
/// [`AutoMerge`], everything else to the pipeline (and a pull request's finished check on to
/// auto-merge).
pub struct Dispatch<F: Forge + ChatForge + MergeForge> {
    pub pipeline: Arc<Pipeline<F>>,
    pub chatops: ChatOps<F>,
    pub automerge: Arc<AutoMerge<F>>,
}

impl<F: Forge + ChatForge + MergeForge> Dispatch<F> {
    /// Wire the three over one forge and store.
    pub fn new(pipeline: Arc<Pipeline<F>>, store: Arc<Store>) -> Self {
        let forge = pipeline.forge.clone();
        let automerge = Arc::new(AutoMerge::new(
            forge.clone(),
            pipeline.clone(),
            store.clone(),
        ));
        Dispatch {
            chatops: ChatOps::new(forge, pipeline.clone(), store, automerge.clone()),
            pipeline,
            automerge,
        }
    }
}

impl<F: Forge + ChatForge + MergeForge> JobHandler for Dispatch<F> {
    async fn handle(&self, job: &Job) -> Outcome {
        match job.kind.as_str() {
            "issue_comment" => self.chatops.handle_job(job).await,
            super::automerge::JOB_KIND => self.automerge.handle_job(job).await,
            _ => {
                let outcome = self.pipeline.handle(job).await;
                if matches!(outcome, Outcome::Done)
                    && let Some(s) = super::pipeline::subject_of_job(job)
                    && let Some(n) = s.pr
                {
                    // Warden's check of the pull request finished: the verdict follows it.
                    if let Err(e) = self
                        .automerge
                        .consider(s.installation, &s.repo, n, None)
                        .await
                    {
                        tracing::warn!(repo = %s.repo, pr = n.0, error = %e, "auto-merge evaluation failed");
                        if e.transient {
                            self.automerge.queue(s.installation, &s.repo, n);
                        }
                    }
                }
                outcome
            }
        }
    }
}
