//! Webhooks as GitHub sends them: JSON POSTed to the App's webhook URL with `X-GitHub-Event`,
//! `X-GitHub-Delivery` (a GUID shared by redeliveries), `X-GitHub-Hook-ID`,
//! `X-GitHub-Hook-Installation-Target-*` and `X-Hub-Signature-256`, one at a time in order, each
//! attempt recorded for the deliveries API.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::github::ids::Sha;

use super::api::{pull_json, repo_json, user_json};
use super::{Delivery, Inner, State, now};

/// The hook's id (one per App).
pub const HOOK_ID: u64 = 4242;

/// Deliveries waiting to be sent, and how many are done.
pub struct Queue {
    tx: mpsc::UnboundedSender<usize>,
    queued: AtomicUsize,
    done: Arc<AtomicUsize>,
}

impl Queue {
    pub fn new() -> (Queue, mpsc::UnboundedReceiver<usize>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Queue {
                tx,
                queued: AtomicUsize::new(0),
                done: Arc::default(),
            },
            rx,
        )
    }

    fn push(&self, index: usize) {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let _ = self.tx.send(index);
    }

    pub async fn settle(&self) {
        let target = self.queued.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.done.load(Ordering::SeqCst) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn guid(st: &mut State) -> String {
    let a = st.id();
    let r = fastrand::u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        (r >> 32) as u32,
        (r >> 16) as u16,
        a & 0xfff,
        (r >> 4) & 0xfff,
        (a << 24) ^ (r & 0xff_ffff)
    )
}

/// The `installation` object of an event about the installation itself.
pub fn installation_json(inner: &Inner, id: u64, account: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{id}"),
        "account": user_json(account, id + 100_000, false),
        "app_id": inner.opts.app_id,
        "app_slug": inner.opts.slug,
        "target_id": id + 100_000,
        "target_type": "Organization",
        "repository_selection": "selected",
        "permissions": {"checks": "write", "contents": "read", "pull_requests": "write", "issues": "write", "statuses": "write", "metadata": "read"},
        "events": ["pull_request", "push", "check_suite", "check_run", "issue_comment"],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    })
}

/// Queue an event. `payload` gains `installation` (for repository events) and is signed when
/// sent.
pub fn emit(inner: &Inner, st: &mut State, event: &str, mut payload: Value) {
    let repository = payload["repository"]["id"].as_u64();
    let installation = payload["installation"]["id"]
        .as_u64()
        .or_else(|| repository.and_then(|r| st.repos.get(&r)).map(|r| r.inst));
    if payload.get("installation").is_none()
        && let Some(i) = installation
    {
        payload["installation"] =
            json!({"id": i, "node_id": format!("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{i}")});
    }
    let action = payload["action"].as_str().map(str::to_string);
    let id = st.id();
    let g = guid(st);
    let dropped = inner.faults.take_drop();
    st.deliveries.push(Delivery {
        id,
        guid: g,
        event: event.to_string(),
        action,
        payload: Arc::new(serde_json::to_vec(&payload).unwrap_or_default()),
        status_code: 0,
        redelivery: false,
        delivered_at: now(),
        duration: 0.0,
        installation,
        repository,
        dropped,
    });
    inner.hooks.push(st.deliveries.len() - 1);
}

/// Send an earlier delivery again as a new attempt with the same GUID (GitHub's redelivery),
/// or with a new GUID (`fresh_guid`: the same event delivered twice, which GitHub does not
/// promise never to do).
pub fn redeliver(inner: &Inner, st: &mut State, index: usize) -> u64 {
    resend(inner, st, index, false)
}

pub fn resend(inner: &Inner, st: &mut State, index: usize, fresh_guid: bool) -> u64 {
    let id = st.id();
    let g = if fresh_guid {
        guid(st)
    } else {
        st.deliveries[index].guid.clone()
    };
    let d = &st.deliveries[index];
    let again = Delivery {
        id,
        guid: g,
        event: d.event.clone(),
        action: d.action.clone(),
        payload: d.payload.clone(),
        status_code: 0,
        redelivery: true,
        delivered_at: now(),
        duration: 0.0,
        installation: d.installation,
        repository: d.repository,
        dropped: false,
    };
    st.deliveries.push(again);
    inner.hooks.push(st.deliveries.len() - 1);
    id
}

/// The sender: one delivery at a time, in order.
pub fn spawn(
    inner: Arc<Inner>,
    mut rx: mpsc::UnboundedReceiver<usize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let index = tokio::select! {
                i = rx.recv() => match i { Some(i) => i, None => break },
                _ = stop.changed() => break,
            };
            let (url, event, guid, payload, dropped) = {
                let st = inner.lock();
                let d = &st.deliveries[index];
                (
                    st.webhook_url.clone(),
                    d.event.clone(),
                    d.guid.clone(),
                    d.payload.clone(),
                    d.dropped,
                )
            };
            let started = Instant::now();
            let status = match url {
                Some(url) if !dropped => {
                    let sig = crate::github::webhook::sign(
                        inner.opts.webhook_secret.as_bytes(),
                        &payload,
                    );
                    let headers = [
                        ("X-GitHub-Event", event),
                        ("X-GitHub-Delivery", guid),
                        ("X-GitHub-Hook-ID", HOOK_ID.to_string()),
                        (
                            "X-GitHub-Hook-Installation-Target-ID",
                            inner.opts.app_id.to_string(),
                        ),
                        (
                            "X-GitHub-Hook-Installation-Target-Type",
                            "integration".to_string(),
                        ),
                        ("X-Hub-Signature-256", sig),
                        ("User-Agent", "GitHub-Hookshot/sim".to_string()),
                        ("Content-Type", "application/json".to_string()),
                    ];
                    post(&url, &headers, &payload).await
                }
                _ => 0,
            };
            {
                let mut st = inner.lock();
                let d = &mut st.deliveries[index];
                d.status_code = status;
                d.duration = started.elapsed().as_secs_f64();
            }
            inner.hooks.done.fetch_add(1, Ordering::SeqCst);
        }
    })
}

/// POST over HTTP/1.1; the status code, or 0 when there was no answer within 10 s.
async fn post(url: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let Some(rest) = url.strip_prefix("http://") else {
        return 0;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(authority).await.ok()?;
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        s.write_all(body).await.ok()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        line.split_whitespace().nth(1)?.parse::<u16>().ok()
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// A commit was pushed to `branch`: `push`, then `check_suite` `requested` (naming the open
/// pull requests whose head is the branch), then `synchronize` for each of them.
pub fn pushed(
    inner: &Inner,
    st: &mut State,
    repo: u64,
    branch: &str,
    before: Option<Sha>,
    after: &Sha,
) {
    let zero = "0".repeat(40);
    let Some(r) = st.repos.get(&repo) else { return };
    let owner = r.name.owner().to_string();
    let (_, message, time) = r.git.commit_info(after).unwrap_or_default();
    let commit = json!({
        "id": after.as_str(),
        "tree_id": after.as_str(),
        "distinct": true,
        "message": message,
        "timestamp": crate::github::client::format_time(time as i64),
        "url": format!("https://github.com/{}/commit/{after}", r.name),
        "author": {"name": "Simulated User", "email": "user@example.com"},
        "committer": {"name": "GitHub", "email": "noreply@github.com"},
        "added": [], "removed": [], "modified": [],
    });
    let payload = json!({
        "ref": format!("refs/heads/{branch}"),
        "before": before.as_ref().map_or(zero.clone(), |b| b.to_string()),
        "after": after.as_str(),
        "created": before.is_none(),
        "deleted": false,
        "forced": before.as_ref().is_some_and(|b| r.git.merge_base(b, after).as_ref() != Some(b)),
        "base_ref": null,
        "compare": format!("https://github.com/{}/compare/{}", r.name, after.short()),
        "commits": [commit.clone()],
        "head_commit": commit,
        "repository": repo_json(inner, r),
        "pusher": {"name": owner, "email": "user@example.com"},
        "sender": user_json(&owner, 1, false),
    });
    emit(inner, st, "push", payload);
    // Open pulls whose head moved get the new head (and the base's current tip).
    let mut synced = Vec::new();
    if let Some(r) = st.repos.get_mut(&repo) {
        let tips: Vec<(u64, Option<Sha>)> = r
            .pulls
            .values()
            .filter(|p| p.state == "open" && p.head_ref == branch)
            .map(|p| (p.number, r.git.branch(&p.base_ref)))
            .collect();
        for (n, base_tip) in tips {
            if let Some(p) = r.pulls.get_mut(&n) {
                let before = std::mem::replace(&mut p.head_sha, after.clone());
                if let Some(t) = base_tip {
                    p.base_sha = t;
                }
                synced.push((n, before, p.author.clone()));
            }
        }
    }
    check_suite_event(inner, st, repo, after, "requested");
    for (n, before, author) in synced {
        pull_event(
            inner,
            st,
            repo,
            n,
            "synchronize",
            &author,
            json!({"before": before.as_str(), "after": after.as_str()}),
        );
    }
}

/// A `pull_request` event.
pub fn pull_event(
    inner: &Inner,
    st: &mut State,
    repo: u64,
    number: u64,
    action: &str,
    sender: &str,
    extra: Value,
) {
    let Some(r) = st.repos.get(&repo) else { return };
    let Some(p) = r.pulls.get(&number) else {
        return;
    };
    let mut payload = json!({
        "action": action,
        "number": number,
        "pull_request": pull_json(inner, r, p),
        "repository": repo_json(inner, r),
        "sender": user_json(sender, super::api::login_id(sender), sender.ends_with("[bot]")),
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut payload, extra) {
        m.extend(x);
    }
    emit(inner, st, "pull_request", payload);
}

fn suite_id(st: &mut State, repo: u64, head: &Sha) -> u64 {
    if let Some(id) = st.suites.get(&(repo, head.clone())) {
        return *id;
    }
    let id = st.id();
    st.suites.insert((repo, head.clone()), id);
    id
}

fn pull_refs(r: &super::RepoState, head: &Sha) -> Vec<Value> {
    r.pulls
        .values()
        .filter(|p| p.state == "open" && p.head_sha == *head)
        .map(|p| {
            json!({
                "id": p.id, "number": p.number,
                "url": format!("{}/repos/{}/pulls/{}", "https://api.github.com", r.name, p.number),
                "head": {"ref": p.head_ref, "sha": p.head_sha.as_str(), "repo": {"id": r.id, "name": r.name.name(), "url": format!("https://api.github.com/repos/{}", r.name)}},
                "base": {"ref": p.base_ref, "sha": p.base_sha.as_str(), "repo": {"id": r.id, "name": r.name.name(), "url": format!("https://api.github.com/repos/{}", r.name)}},
            })
        })
        .collect()
}

/// A `check_suite` event for `head` (the App's suite on that commit).
pub fn check_suite_event(inner: &Inner, st: &mut State, repo: u64, head: &Sha, action: &str) {
    let id = suite_id(st, repo, head);
    let Some(r) = st.repos.get(&repo) else { return };
    let branch = r
        .pulls
        .values()
        .find(|p| p.head_sha == *head)
        .map(|p| p.head_ref.clone());
    let payload = json!({
        "action": action,
        "check_suite": {
            "id": id,
            "node_id": format!("CS_{id}"),
            "head_branch": branch,
            "head_sha": head.as_str(),
            "status": "queued",
            "conclusion": null,
            "pull_requests": pull_refs(r, head),
            "app": super::api::app_json(inner),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        },
        "repository": repo_json(inner, r),
        "sender": user_json(r.name.owner(), 1, false),
    });
    emit(inner, st, "check_suite", payload);
}

/// A `check_run` event about one of the App's runs.
pub fn check_run_event(inner: &Inner, st: &mut State, repo: u64, run: u64, action: &str) {
    let Some(r) = st.repos.get(&repo) else { return };
    let Some(c) = st.check_runs.get(&run) else {
        return;
    };
    let mut run_json = super::api::check_run_json(inner, r, c);
    run_json["pull_requests"] = Value::Array(pull_refs(r, &c.head_sha));
    let payload = json!({
        "action": action,
        "check_run": run_json,
        "repository": repo_json(inner, r),
        "sender": user_json(r.name.owner(), 1, false),
    });
    emit(inner, st, "check_run", payload);
}

/// An `issue_comment` event.
pub fn comment_event(inner: &Inner, st: &mut State, id: u64, action: &str, from: Option<String>) {
    let Some(c) = st.comments.get(&id) else {
        return;
    };
    let Some(r) = st.repos.get(&c.repo) else {
        return;
    };
    let title = r
        .pulls
        .get(&c.number)
        .map(|p| p.title.clone())
        .unwrap_or_default();
    // The user is whoever opened the pull request, not the commenter.
    let (opener, opener_bot) = r
        .pulls
        .get(&c.number)
        .map(|p| (p.author.clone(), super::user_login_is_bot(&p.author)))
        .unwrap_or_else(|| (c.author.clone(), c.bot));
    let mut payload = json!({
        "action": action,
        "issue": {
            "id": c.number + 1_000_000,
            "number": c.number,
            "title": title,
            "state": "open",
            "user": user_json(&opener, super::api::login_id(&opener), opener_bot),
            "pull_request": {"url": format!("https://api.github.com/repos/{}/pulls/{}", r.name, c.number)},
        },
        "comment": super::api::comment_json(inner, r, c),
        "repository": repo_json(inner, r),
        "sender": user_json(&c.author, super::api::login_id(&c.author), c.bot),
    });
    if let Some(from) = from {
        payload["changes"] = json!({"body": {"from": from}});
    }
    emit(inner, st, "issue_comment", payload);
}

/// A `pull_request_review` event.
pub fn review_event(
    inner: &Inner,
    st: &mut State,
    repo: u64,
    number: u64,
    review: Value,
    sender: &str,
) {
    let Some(r) = st.repos.get(&repo) else { return };
    let Some(p) = r.pulls.get(&number) else {
        return;
    };
    let payload = json!({
        "action": "submitted",
        "review": review,
        "pull_request": pull_json(inner, r, p),
        "repository": repo_json(inner, r),
        "sender": user_json(sender, super::api::login_id(sender), sender.ends_with("[bot]")),
    });
    emit(inner, st, "pull_request_review", payload);
}

/// A `status` event for the status with this id.
pub fn status_event(inner: &Inner, st: &mut State, repo: u64, id: u64) {
    let Some(r) = st.repos.get(&repo) else { return };
    let Some(s) = st.statuses.iter().find(|s| s.id == id) else {
        return;
    };
    let payload = json!({
        "id": s.id,
        "sha": s.sha.as_str(),
        "name": r.name.to_string(),
        "context": s.context,
        "state": s.state,
        "description": s.description,
        "target_url": s.target_url,
        "branches": [],
        "commit": {"sha": s.sha.as_str()},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "repository": repo_json(inner, r),
        "sender": user_json(r.name.owner(), 1, false),
    });
    emit(inner, st, "status", payload);
}
