//! The pipeline's [`Forge`] and the reconcile loop's [`Inventory`] over GitHub's REST API.
//! Every answer is read into the few fields used, and a missing or mistyped one is an error
//! naming it.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use http::Method;
use serde_json::{Value, json};

use crate::app::pipeline::{CHECK_NAME, CommitStatus, Forge, ForgeError, PullHeads, StartedRun};
use crate::app::reconcile::{DeliveryAttempt, Inventory};
use crate::repo::Snapshot;
use crate::report::annotations::Annotation;
use crate::report::markdown::CheckRunOutput;
use crate::review::Conclusion;

use super::client::{As, GitHubClient, GitHubError, format_time, now_unix, parse_time};
use super::ids::{CheckRunId, CommentId, InstallationId, PrNumber, RepoName, Sha};
use super::tarball::{self, TarballLimits};

/// GitHub's limit on a check run's summary and text (characters).
pub const OUTPUT_LIMIT: usize = 65_535;
/// GitHub's limit on a comment body (characters).
pub const COMMENT_LIMIT: usize = 65_536;
/// Annotations GitHub takes per request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

pub(super) fn cut(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some((i, _)) => s[..i].to_string(),
    }
}

pub(super) fn bad(path: &str, what: impl Into<String>) -> GitHubError {
    GitHubError::BadResponse {
        path: path.to_string(),
        what: what.into(),
    }
}

pub(super) fn field_str<'a>(v: &'a Value, path: &str, name: &str) -> Result<&'a str, GitHubError> {
    let mut cur = v;
    for part in name.split('.') {
        cur = &cur[part];
    }
    cur.as_str()
        .ok_or_else(|| bad(path, format!("no string `{name}`")))
}

pub(super) fn field_u64(v: &Value, path: &str, name: &str) -> Result<u64, GitHubError> {
    let mut cur = v;
    for part in name.split('.') {
        cur = &cur[part];
    }
    cur.as_u64()
        .ok_or_else(|| bad(path, format!("no number `{name}`")))
}

pub(super) fn field_sha(v: &Value, path: &str, name: &str) -> Result<Sha, GitHubError> {
    Sha::parse(field_str(v, path, name)?).map_err(|e| bad(path, format!("`{name}`: {e}")))
}

/// One annotation as the check-runs API takes it.
fn started_run(v: &Value, path: &str) -> Result<StartedRun, GitHubError> {
    Ok(StartedRun {
        id: CheckRunId(field_u64(v, path, "id")?),
        html_url: v["html_url"].as_str().map(str::to_string),
    })
}

fn annotation_json(a: &Annotation) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert(
            "message".into(),
            Value::String(cut(&a.message, 64 * 1024 - 1)),
        );
        if let Some(t) = &a.title {
            m.insert("title".into(), Value::String(cut(t, 255)));
        }
        if let Some(d) = &a.raw_details {
            m.insert("raw_details".into(), Value::String(cut(d, 64 * 1024 - 1)));
        }
        let start = a.start_line.max(1);
        m.insert("start_line".into(), json!(start));
        m.insert("end_line".into(), json!(a.end_line.max(start)));
    }
    v
}

impl GitHubClient {
    /// The App's slug (from `GET /app`), fetched once.
    pub async fn slug(&self) -> Result<String, GitHubError> {
        self.slug
            .get_or_try_init(|| async {
                let a = self.get(As::App, &self.url("/app")).await?;
                let v = a.json("/app")?;
                Ok::<String, GitHubError>(field_str(&v, "/app", "slug")?.to_string())
            })
            .await
            .cloned()
    }

    /// The login of the App's bot user: `{slug}[bot]`.
    pub async fn bot_login(&self) -> Result<String, GitHubError> {
        Ok(format!("{}[bot]", self.slug().await?))
    }

    pub(super) fn repo_url(&self, repo: &RepoName, rest: &str) -> String {
        self.url(&format!("/repos/{}/{}{rest}", repo.owner(), repo.name()))
    }

    /// This App's `warden` check runs on a commit, with more query parameters.
    pub(super) fn warden_runs_url(&self, repo: &RepoName, head: &Sha, query: &str) -> String {
        self.repo_url(
            repo,
            &format!(
                "/commits/{head}/check-runs?check_name={CHECK_NAME}&app_id={}&{query}",
                self.app_id()
            ),
        )
    }

    /// The files of a commit, from its tarball (through the codeload redirect, which gets no
    /// token), unpacked within the default limits.
    pub async fn fetch_snapshot(
        &self,
        who: As,
        repo: &RepoName,
        sha: &Sha,
    ) -> Result<Arc<Snapshot>, GitHubError> {
        let url = self.repo_url(repo, &format!("/tarball/{sha}"));
        let location = self.redirect(who, &url).await?;
        let limits = TarballLimits::default();
        let gz = self.download(who, &location, limits.max_compressed).await?;
        let label = format!("commit {}", sha.short());
        let snap = tokio::task::spawn_blocking(move || {
            tarball::unpack(&gz, &label, Path::new("/repo"), &limits)
        })
        .await
        .map_err(|e| bad(&format!("/repos/{repo}/tarball/{sha}"), e.to_string()))??;
        Ok(Arc::new(snap))
    }

    /// Warden's sticky comment on an issue or pull request: the bot's comment starting with
    /// `marker`.
    pub async fn find_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
        marker: &str,
    ) -> Result<Option<(CommentId, String)>, GitHubError> {
        let bot = self.bot_login().await?;
        let path = format!("/repos/{repo}/issues/{number}/comments");
        let url = self.repo_url(repo, &format!("/issues/{number}/comments?per_page=100"));
        let comments = self.list(As::Installation(inst), &url, None).await?;
        for c in comments {
            let login = field_str(&c, &path, "user.login")?;
            let body = c["body"].as_str().unwrap_or_default();
            if login == bot && body.starts_with(marker) {
                return Ok(Some((
                    CommentId(field_u64(&c, &path, "id")?),
                    body.to_string(),
                )));
            }
        }
        Ok(None)
    }
}

impl Forge for GitHubClient {
    async fn start_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        head: &Sha,
    ) -> Result<StartedRun, ForgeError> {
        // A run left in progress by a process that died mid-job is taken over, so the commit
        // does not keep a run that never finishes.
        let path = format!("/repos/{repo}/commits/{head}/check-runs");
        let open = self
            .get(
                As::Installation(inst),
                &self.warden_runs_url(repo, head, "status=in_progress&filter=latest"),
            )
            .await?
            .json(&path)?;
        if let Some(run) = open["check_runs"].as_array().and_then(|r| r.first()) {
            return Ok(started_run(run, &path)?);
        }
        let body = json!({
            "name": CHECK_NAME,
            "head_sha": head.as_str(),
            "status": "in_progress",
            "started_at": format_time(now_unix() as i64),
            "output": {
                "title": "Warden is checking this commit",
                "summary": "Rendering the affected targets, running the checks and diffing them against the base.",
            },
        });
        let path = format!("/repos/{repo}/check-runs");
        let a = self
            .request(
                As::Installation(inst),
                Method::POST,
                &self.repo_url(repo, "/check-runs"),
                Some(&body),
            )
            .await?;
        Ok(started_run(&a.json(&path)?, &path)?)
    }

    async fn post_status(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
        status: &CommitStatus,
    ) -> Result<(), ForgeError> {
        let mut body = json!({
            "state": status.state,
            "context": status.context,
            "description": cut(&status.description, 140),
        });
        if let Some(u) = &status.target_url {
            body["target_url"] = json!(u);
        }
        self.request(
            As::Installation(inst),
            Method::POST,
            &self.repo_url(repo, &format!("/statuses/{sha}")),
            Some(&body),
        )
        .await?;
        Ok(())
    }

    async fn complete_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CheckRunId,
        conclusion: Conclusion,
        output: &CheckRunOutput,
        annotations: &[Annotation],
    ) -> Result<(), ForgeError> {
        let url = self.repo_url(repo, &format!("/check-runs/{id}"));
        let title = cut(&output.title, 255);
        let summary = cut(&output.summary, OUTPUT_LIMIT);
        let text = cut(&output.text, OUTPUT_LIMIT);
        let mut chunks: Vec<&[Annotation]> = annotations.chunks(ANNOTATIONS_PER_REQUEST).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let mut out = json!({ "title": title, "summary": summary });
            if !text.is_empty() {
                out["text"] = Value::String(text.clone());
            }
            if !chunk.is_empty() {
                out["annotations"] = Value::Array(chunk.iter().map(annotation_json).collect());
            }
            let mut body = json!({ "output": out });
            if i == 0 {
                body["status"] = json!("completed");
                body["conclusion"] = json!(conclusion.as_str());
                body["completed_at"] = json!(format_time(now_unix() as i64));
            }
            self.request(As::Installation(inst), Method::PATCH, &url, Some(&body))
                .await?;
        }
        Ok(())
    }

    async fn snapshot(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> Result<Arc<Snapshot>, ForgeError> {
        let key = (repo.to_string(), sha.to_string());
        self.snapshots
            .try_get_with(key, self.fetch_snapshot(As::Installation(inst), repo, sha))
            .await
            .map_err(|e: Arc<GitHubError>| ForgeError::from((*e).clone()))
    }

    async fn merge_base(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        base: &Sha,
        head: &Sha,
    ) -> Result<Sha, ForgeError> {
        let path = format!("/repos/{repo}/compare/{base}...{head}");
        let a = self
            .get(
                As::Installation(inst),
                &self.repo_url(repo, &format!("/compare/{base}...{head}?per_page=1")),
            )
            .await?;
        Ok(field_sha(&a.json(&path)?, &path, "merge_base_commit.sha")?)
    }

    async fn default_branch_file(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        file: &str,
    ) -> Result<Option<String>, ForgeError> {
        let path = format!("/repos/{repo}/contents/{file}");
        let encoded: String = file
            .split('/')
            .map(|p| {
                p.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("/");
        let a = match self
            .get(
                As::Installation(inst),
                &self.repo_url(repo, &format!("/contents/{encoded}")),
            )
            .await
        {
            Err(e) if e.status() == Some(404) => return Ok(None),
            other => other?,
        };
        let v = a.json(&path)?;
        if v.is_array() || v["type"].as_str() != Some("file") {
            return Err(bad(&path, "is not a file").into());
        }
        let content: String = field_str(&v, &path, "content")?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| bad(&path, format!("`content` is not base64: {e}")))?;
        Ok(Some(
            String::from_utf8(bytes).map_err(|_| bad(&path, "is not UTF-8 text"))?,
        ))
    }

    async fn pull_request(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
    ) -> Result<PullHeads, ForgeError> {
        let path = format!("/repos/{repo}/pulls/{number}");
        let a = self
            .get(
                As::Installation(inst),
                &self.repo_url(repo, &format!("/pulls/{number}")),
            )
            .await?;
        let v = a.json(&path)?;
        Ok(PullHeads {
            base: field_sha(&v, &path, "base.sha")?,
            head: field_sha(&v, &path, "head.sha")?,
            open: field_str(&v, &path, "state")? == "open",
        })
    }

    async fn upsert_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
        marker: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        let body = cut(body, COMMENT_LIMIT);
        match self.find_comment(inst, repo, number, marker).await? {
            Some((_, old)) if old == body => {}
            Some((id, _)) => {
                self.request(
                    As::Installation(inst),
                    Method::PATCH,
                    &self.repo_url(repo, &format!("/issues/comments/{id}")),
                    Some(&json!({ "body": body })),
                )
                .await?;
            }
            None => {
                self.request(
                    As::Installation(inst),
                    Method::POST,
                    &self.repo_url(repo, &format!("/issues/{number}/comments")),
                    Some(&json!({ "body": body })),
                )
                .await?;
            }
        }
        Ok(())
    }
}

impl crate::app::chatops::ChatForge for GitHubClient {
    async fn react(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        comment: CommentId,
        content: &'static str,
    ) -> Result<(), ForgeError> {
        self.request(
            As::Installation(inst),
            Method::POST,
            &self.repo_url(repo, &format!("/issues/comments/{comment}/reactions")),
            Some(&json!({ "content": content })),
        )
        .await?;
        Ok(())
    }

    async fn post_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        number: PrNumber,
        body: &str,
    ) -> Result<CommentId, ForgeError> {
        let path = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";
        let a = self
            .request(
                As::Installation(inst),
                Method::POST,
                &self.repo_url(repo, &format!("/issues/{number}/comments")),
                Some(&json!({ "body": cut(body, COMMENT_LIMIT) })),
            )
            .await?;
        Ok(CommentId(field_u64(&a.json(path)?, path, "id")?))
    }

    async fn edit_comment(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CommentId,
        body: &str,
    ) -> Result<bool, ForgeError> {
        match self
            .request(
                As::Installation(inst),
                Method::PATCH,
                &self.repo_url(repo, &format!("/issues/comments/{id}")),
                Some(&json!({ "body": cut(body, COMMENT_LIMIT) })),
            )
            .await
        {
            Ok(_) => Ok(true),
            // Deleted by someone: post a new one.
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn permission(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        login: &str,
    ) -> Result<Option<crate::repo::config::Permission>, ForgeError> {
        use crate::repo::config::Permission;
        let path = "GET /repos/{owner}/{repo}/collaborators/{username}/permission";
        let url = self.repo_url(repo, &format!("/collaborators/{login}/permission"));
        let v = match self.get(As::Installation(inst), &url).await {
            Ok(a) => a.json(path)?,
            // Not a collaborator (GitHub answers 404 for some accounts): no permission.
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // `role_name` has the five roles (a custom role name falls back to `permission`, which
        // has only admin, write, read and none).
        let role = v["role_name"].as_str().and_then(Permission::parse);
        let legacy = v["permission"].as_str().and_then(Permission::parse);
        Ok(role.or(legacy))
    }

    async fn team_member(
        &self,
        inst: InstallationId,
        org: &str,
        team: &str,
        login: &str,
    ) -> Result<bool, ForgeError> {
        let path = "GET /orgs/{org}/teams/{team_slug}/memberships/{username}";
        let url = self.url(&format!("/orgs/{org}/teams/{team}/memberships/{login}"));
        match self.get(As::Installation(inst), &url).await {
            Ok(a) => Ok(a.json(path)?["state"].as_str() == Some("active")),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

impl Inventory for GitHubClient {
    async fn installations(&self) -> Result<Vec<InstallationId>, ForgeError> {
        let path = "/app/installations";
        let all = self
            .list(As::App, &self.url("/app/installations?per_page=100"), None)
            .await?;
        Ok(all
            .iter()
            .map(|i| field_u64(i, path, "id").map(InstallationId))
            .collect::<Result<_, _>>()?)
    }

    async fn repositories(&self, inst: InstallationId) -> Result<Vec<RepoName>, ForgeError> {
        let path = "/installation/repositories";
        let all = self
            .list(
                As::Installation(inst),
                &self.url("/installation/repositories?per_page=100"),
                Some("repositories"),
            )
            .await?;
        let mut out = Vec::new();
        for r in &all {
            let full = field_str(r, path, "full_name")?;
            out.push(RepoName::parse(full).map_err(|e| bad(path, format!("`full_name`: {e}")))?);
        }
        Ok(out)
    }

    async fn open_pulls(
        &self,
        inst: InstallationId,
        repo: &RepoName,
    ) -> Result<Vec<(PrNumber, Sha, Sha)>, ForgeError> {
        let path = format!("/repos/{repo}/pulls");
        let all = self
            .list(
                As::Installation(inst),
                &self.repo_url(repo, "/pulls?state=open&per_page=100"),
                None,
            )
            .await?;
        let mut out = Vec::new();
        for p in &all {
            out.push((
                PrNumber(field_u64(p, &path, "number")?),
                field_sha(p, &path, "base.sha")?,
                field_sha(p, &path, "head.sha")?,
            ));
        }
        Ok(out)
    }

    async fn has_check_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        head: &Sha,
    ) -> Result<bool, ForgeError> {
        let path = format!("/repos/{repo}/commits/{head}/check-runs");
        let a = self
            .get(
                As::Installation(inst),
                &self.warden_runs_url(repo, head, "per_page=1"),
            )
            .await?;
        Ok(field_u64(&a.json(&path)?, &path, "total_count")? > 0)
    }

    async fn deliveries(&self) -> Result<Vec<DeliveryAttempt>, ForgeError> {
        let path = "/app/hook/deliveries";
        let mut out = Vec::new();
        let mut url = Some(self.url("/app/hook/deliveries?per_page=100"));
        // GitHub keeps 3 days of deliveries; a few pages of the newest are what a pass needs.
        for _ in 0..10 {
            let Some(u) = url.take() else { break };
            let a = self.get(As::App, &u).await?;
            let v = a.json(path)?;
            let items = v.as_array().ok_or_else(|| bad(path, "not a list"))?;
            for d in items {
                out.push(DeliveryAttempt {
                    id: field_u64(d, path, "id")?,
                    guid: field_str(d, path, "guid")?.to_string(),
                    delivered_at_ms: parse_time(field_str(d, path, "delivered_at")?)
                        .ok_or_else(|| bad(path, "`delivered_at` is not RFC 3339"))?
                        * 1000,
                    status_code: u16::try_from(field_u64(d, path, "status_code")?).unwrap_or(0),
                    event: field_str(d, path, "event")?.to_string(),
                });
            }
            url = a
                .headers
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(super::client::next_link)
                .filter(|n| self.same_origin(n));
        }
        Ok(out)
    }

    async fn redeliver(&self, attempt: u64) -> Result<(), ForgeError> {
        self.request(
            As::App,
            Method::POST,
            &self.url(&format!("/app/hook/deliveries/{attempt}/attempts")),
            None,
        )
        .await?;
        Ok(())
    }
}
