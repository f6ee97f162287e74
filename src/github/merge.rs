//! Auto-merge's [`MergeForge`] over GitHub's REST API (and one GraphQL mutation, the merge
//! queue, which has no REST endpoint). Each answer is read into the few fields used.

use http::Method;
use serde_json::{Value, json};

use crate::app::automerge::{MergeForge, MergeResult, Protection, PullState, Reviews, WardenRun};
use crate::app::pipeline::ForgeError;
use crate::promote::eligibility::Required;
use crate::repo::config::MergeMethod;
use crate::report::markdown::CheckRunOutput;

use super::client::{As, GitHubClient, GitHubError};
use super::forge::{OUTPUT_LIMIT, bad, cut, field_sha, field_str, field_u64};
use super::ids::{CheckRunId, InstallationId, PrNumber, RepoName, Sha};

/// A branch name as a URL path segment.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A list that may not exist for this repository (404: none).
async fn optional_list(
    c: &GitHubClient,
    inst: InstallationId,
    url: &str,
) -> Result<Vec<Value>, GitHubError> {
    match c.list(As::Installation(inst), url, None).await {
        Ok(v) => Ok(v),
        Err(e) if e.status() == Some(404) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// What GitHub's error answer says, without the request.
fn message_of(e: &GitHubError) -> String {
    match e {
        GitHubError::Status { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl MergeForge for GitHubClient {
    async fn pull_state(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
    ) -> Result<PullState, ForgeError> {
        let path = "GET /repos/{owner}/{repo}/pulls/{pull_number}";
        let url = self.repo_url(repo, &format!("/pulls/{n}"));
        // Not conditional: mergeability changes without the ETag telling.
        let v = self
            .request(As::Installation(inst), Method::GET, &url, None)
            .await?
            .json(path)?;
        let head_repo = v["head"]["repo"]["full_name"].as_str();
        Ok(PullState {
            number: PrNumber(field_u64(&v, path, "number")?),
            node_id: v["node_id"].as_str().unwrap_or_default().to_string(),
            title: v["title"].as_str().unwrap_or_default().to_string(),
            head: field_sha(&v, path, "head.sha")?,
            head_ref: field_str(&v, path, "head.ref")?.to_string(),
            base: field_sha(&v, path, "base.sha")?,
            base_ref: field_str(&v, path, "base.ref")?.to_string(),
            author: field_str(&v, path, "user.login")?.to_string(),
            draft: v["draft"].as_bool().unwrap_or(false),
            open: field_str(&v, path, "state")? == "open",
            merged: v["merged"].as_bool().unwrap_or(false),
            from_fork: head_repo.is_none_or(|h| !h.eq_ignore_ascii_case(&repo.to_string())),
            labels: v["labels"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .filter_map(|l| l["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            mergeable: v["mergeable"].as_bool(),
        })
    }

    async fn protection(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Protection, ForgeError> {
        let mut p = Protection::default();
        let require = |name: &str, p: &mut Protection| {
            if !p.required.iter().any(|r| r == name) {
                p.required.push(name.to_string());
            }
        };
        // Classic branch protection, as the branch shows it to anyone who can read it.
        let url = self.repo_url(repo, &format!("/branches/{}", segment(branch)));
        match self.get(As::Installation(inst), &url).await {
            Ok(a) => {
                let v = a.json("GET /repos/{owner}/{repo}/branches/{branch}")?;
                let checks = &v["protection"]["required_status_checks"];
                for c in checks["contexts"].as_array().into_iter().flatten() {
                    if let Some(c) = c.as_str() {
                        require(c, &mut p);
                    }
                }
                for c in checks["checks"].as_array().into_iter().flatten() {
                    if let Some(c) = c["context"].as_str() {
                        require(c, &mut p);
                    }
                }
                let reviews = v["protection"]["required_pull_request_reviews"]
                    ["required_approving_review_count"]
                    .as_u64()
                    .or_else(|| v["required_approving_review_count"].as_u64())
                    .unwrap_or(0);
                p.reviews = p.reviews.max(reviews as u32);
            }
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e.into()),
        }
        // Rulesets that apply to the branch.
        let url = self.repo_url(
            repo,
            &format!("/rules/branches/{}?per_page=100", segment(branch)),
        );
        for rule in optional_list(self, inst, &url).await? {
            let params = &rule["parameters"];
            match rule["type"].as_str() {
                Some("required_status_checks") => {
                    for c in params["required_status_checks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        if let Some(c) = c["context"].as_str() {
                            require(c, &mut p);
                        }
                    }
                }
                Some("pull_request") => {
                    let n = params["required_approving_review_count"]
                        .as_u64()
                        .unwrap_or(0);
                    p.reviews = p.reviews.max(n as u32);
                }
                Some("merge_queue") => p.merge_queue = true,
                _ => {}
            }
        }
        Ok(p)
    }

    async fn commit_checks(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> Result<Vec<Required>, ForgeError> {
        let mut out: Vec<Required> = Vec::new();
        let url = self.repo_url(repo, &format!("/commits/{sha}/check-runs?per_page=100"));
        let runs = self
            .list(As::Installation(inst), &url, Some("check_runs"))
            .await?;
        for r in &runs {
            let path = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs";
            let name = field_str(r, path, "name")?;
            let state = if r["status"].as_str() == Some("completed") {
                r["conclusion"].as_str().unwrap_or("failure")
            } else {
                "pending"
            };
            // The list is newest first; the newest run of a name counts.
            if !out.iter().any(|o| o.name == name) {
                out.push(Required {
                    name: name.to_string(),
                    state: state.to_string(),
                });
            }
        }
        let url = self.repo_url(repo, &format!("/commits/{sha}/status?per_page=100"));
        let path = "GET /repos/{owner}/{repo}/commits/{ref}/status";
        let v = self.get(As::Installation(inst), &url).await?.json(path)?;
        for s in v["statuses"].as_array().into_iter().flatten() {
            let name = field_str(s, path, "statuses[].context")?;
            let state = field_str(s, path, "statuses[].state")?;
            if !out.iter().any(|o| o.name == name) {
                out.push(Required {
                    name: name.to_string(),
                    state: if state == "error" { "failure" } else { state }.to_string(),
                });
            }
        }
        Ok(out)
    }

    async fn reviews(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
    ) -> Result<Reviews, ForgeError> {
        let url = self.repo_url(repo, &format!("/pulls/{n}/reviews?per_page=100"));
        let all = self.list(As::Installation(inst), &url, None).await?;
        // Oldest first: the latest decisive review of each person counts.
        let mut latest: Vec<(String, String)> = Vec::new();
        for r in &all {
            let (Some(login), Some(state)) = (r["user"]["login"].as_str(), r["state"].as_str())
            else {
                continue;
            };
            if !matches!(state, "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED") {
                continue;
            }
            latest.retain(|(l, _)| l != login);
            latest.push((login.to_string(), state.to_string()));
        }
        Ok(Reviews {
            approvals: latest.iter().filter(|(_, s)| s == "APPROVED").count() as u32,
            changes_requested: latest
                .iter()
                .filter(|(_, s)| s == "CHANGES_REQUESTED")
                .map(|(l, _)| l.clone())
                .collect(),
        })
    }

    async fn warden_run(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> Result<Option<WardenRun>, ForgeError> {
        let path = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs";
        let url = self.warden_runs_url(repo, sha, "filter=latest");
        let v = self
            .request(As::Installation(inst), Method::GET, &url, None)
            .await?
            .json(path)?;
        let Some(r) = v["check_runs"].as_array().and_then(|r| r.first()) else {
            return Ok(None);
        };
        let text = |k: &str| r["output"][k].as_str().unwrap_or_default().to_string();
        Ok(Some(WardenRun {
            id: CheckRunId(field_u64(r, path, "id")?),
            completed: r["status"].as_str() == Some("completed"),
            conclusion: r["conclusion"].as_str().map(str::to_string),
            output: CheckRunOutput {
                title: text("title"),
                summary: text("summary"),
                text: text("text"),
            },
        }))
    }

    async fn set_output(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        id: CheckRunId,
        output: &CheckRunOutput,
    ) -> Result<(), ForgeError> {
        let mut out = json!({
            "title": cut(&output.title, 255),
            "summary": cut(&output.summary, OUTPUT_LIMIT),
        });
        if !output.text.is_empty() {
            out["text"] = json!(cut(&output.text, OUTPUT_LIMIT));
        }
        self.request(
            As::Installation(inst),
            Method::PATCH,
            &self.repo_url(repo, &format!("/check-runs/{id}")),
            Some(&json!({ "output": out })),
        )
        .await?;
        Ok(())
    }

    async fn merge(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        n: PrNumber,
        sha: &Sha,
        method: MergeMethod,
        title: &str,
    ) -> Result<MergeResult, ForgeError> {
        let path = "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge";
        let body = json!({
            "sha": sha.as_str(),
            "merge_method": method.as_str(),
            "commit_title": cut(title, 250),
        });
        let url = self.repo_url(repo, &format!("/pulls/{n}/merge"));
        match self
            .request(As::Installation(inst), Method::PUT, &url, Some(&body))
            .await
        {
            Ok(a) => {
                let v = a.json(path)?;
                Ok(MergeResult::Merged(field_sha(&v, path, "sha")?))
            }
            Err(e) if e.status() == Some(409) => Ok(MergeResult::HeadMoved),
            Err(e) if matches!(e.status(), Some(403 | 405 | 422)) => {
                Ok(MergeResult::Refused(message_of(&e)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn enqueue(
        &self,
        inst: InstallationId,
        node_id: &str,
        head: &Sha,
    ) -> Result<(), ForgeError> {
        let path = "POST /graphql enqueuePullRequest";
        let body = json!({
            "query": "mutation($id: ID!, $oid: GitObjectID) { enqueuePullRequest(input: {pullRequestId: $id, expectedHeadOid: $oid}) { mergeQueueEntry { id } } }",
            "variables": { "id": node_id, "oid": head.as_str() },
        });
        let a = self
            .request(
                As::Installation(inst),
                Method::POST,
                &self.url("/graphql"),
                Some(&body),
            )
            .await?;
        let v = a.json(path)?;
        // GraphQL answers 200 with `errors` when the mutation fails.
        if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
            let messages: Vec<&str> = errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect();
            return Err(ForgeError {
                message: format!("the merge queue refused it: {}", messages.join("; ")),
                transient: false,
            });
        }
        if v["data"]["enqueuePullRequest"]["mergeQueueEntry"].is_null() {
            return Err(bad(path, "no `data.enqueuePullRequest.mergeQueueEntry`").into());
        }
        Ok(())
    }

    async fn delete_branch(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        branch: &str,
    ) -> Result<(), ForgeError> {
        let url = self.repo_url(repo, &format!("/git/refs/heads/{}", segment(branch)));
        match self
            .request(As::Installation(inst), Method::DELETE, &url, None)
            .await
        {
            Ok(_) => Ok(()),
            // Deleted already (by GitHub's own setting, or a person).
            Err(e) if matches!(e.status(), Some(404 | 422)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn pulls_of_commit(
        &self,
        inst: InstallationId,
        repo: &RepoName,
        sha: &Sha,
    ) -> Result<Vec<PrNumber>, ForgeError> {
        let path = "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls";
        let url = self.repo_url(repo, &format!("/commits/{sha}/pulls?per_page=100"));
        let all = optional_list(self, inst, &url).await?;
        let mut out = Vec::new();
        for p in &all {
            let head = field_sha(p, path, "head.sha")?;
            if p["state"].as_str() == Some("open") && head == *sha {
                out.push(PrNumber(field_u64(p, path, "number")?));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn branch_names_are_escaped_for_paths() {
        assert_eq!(segment("warden/promote/prod"), "warden/promote/prod");
        assert_eq!(segment("fix#1 a"), "fix%231%20a");
    }
}
