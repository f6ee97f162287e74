//! The REST endpoints, as GitHub documents them: authentication (App JWT, installation tokens),
//! rate-limit headers, ETags and `304`, `Link` pagination, GitHub's error bodies and `422`s
//! for over-limit requests. Objects are built with the fields that carry meaning and conformed
//! to GitHub's schemas (`json::conform`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::github::client::format_time;
use crate::github::ids::Sha;

use super::git::Lookup;
use super::json::{answer, conform, definition};
use super::{CheckRun, Comment, Exchange, Fault, Inner, Pull, RepoState, State, Status, now};

const DOCS: &str = "https://docs.github.com/rest";

pub fn router(inner: Arc<Inner>) -> Router {
    Router::new().fallback(api).with_state(inner)
}

pub fn codeload_router(inner: Arc<Inner>) -> Router {
    Router::new().fallback(codeload).with_state(inner)
}

fn t(secs: u64) -> String {
    format_time(i64::try_from(secs).unwrap_or(0))
}

// ---- objects ----------------------------------------------------------------------------

/// A person's or bot's numeric id: stable per login, as GitHub's are per account.
pub fn login_id(login: &str) -> u64 {
    // FNV-1a, kept well away from the ids the simulator gives repositories and objects.
    let h = login
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    10_000_000 + h % 90_000_000
}

pub fn user_json(login: &str, id: u64, bot: bool) -> Value {
    // GitHub escapes a bot's brackets in its URLs: `users/renovate%5Bbot%5D`.
    let path = login.replace('[', "%5B").replace(']', "%5D");
    let base = format!("https://api.github.com/users/{path}");
    conform(
        definition("simple-user"),
        json!({
            "login": login,
            "id": id,
            "node_id": format!("U_{id}"),
            "type": if bot { "Bot" } else { "User" },
            "site_admin": false,
            "url": base,
            "html_url": format!("https://github.com/{path}"),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}"),
        }),
    )
}

pub fn app_json(inner: &Inner) -> Value {
    let o = &inner.opts;
    conform(
        definition("integration"),
        json!({
            "id": o.app_id,
            "slug": o.slug,
            "node_id": format!("A_{}", o.app_id),
            "name": o.slug,
            "description": "Guards GitOps config repositories",
            "owner": user_json("acme", 100, false),
            "external_url": "https://example.com/warden",
            "html_url": format!("https://github.com/apps/{}", o.slug),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "permissions": {"checks": "write", "contents": "read", "pull_requests": "write", "issues": "write", "statuses": "write", "metadata": "read"},
            "events": ["check_run", "check_suite", "issue_comment", "pull_request", "push"],
        }),
    )
}

pub fn repo_json(inner: &Inner, r: &RepoState) -> Value {
    let api = format!("{}/repos/{}", inner.api_url, r.name);
    conform(
        definition("repository"),
        json!({
            "id": r.id,
            "node_id": format!("R_{}", r.id),
            "name": r.name.name(),
            "full_name": r.name.to_string(),
            "private": r.private,
            "owner": user_json(r.name.owner(), 100, false),
            "html_url": format!("https://github.com/{}", r.name),
            "url": api,
            "default_branch": r.default_branch,
            "visibility": if r.private { "private" } else { "public" },
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "pushed_at": "2026-01-01T00:00:00Z",
        }),
    )
}

pub fn pull_json(inner: &Inner, r: &RepoState, p: &Pull) -> Value {
    let api = format!("{}/repos/{}/pulls/{}", inner.api_url, r.name, p.number);
    let branch = |name: &str, sha: &Sha| {
        json!({
            "label": format!("{}:{name}", r.name.owner()),
            "ref": name,
            "sha": sha.as_str(),
            "user": user_json(r.name.owner(), 100, false),
            "repo": repo_json(inner, r),
        })
    };
    conform(
        definition("pull-request"),
        json!({
            "url": api,
            "id": p.id,
            "node_id": format!("PR_{}", p.id),
            "html_url": format!("https://github.com/{}/pull/{}", r.name, p.number),
            "number": p.number,
            "state": p.state,
            "locked": false,
            "title": p.title,
            "user": user_json(&p.author, login_id(&p.author), p.author.ends_with("[bot]")),
            "body": null,
            "labels": p.labels.iter().enumerate().map(|(i, l)| json!({"id": i + 1, "node_id": format!("L_{i}"), "url": format!("{api}/labels/{l}"), "name": l, "description": null, "color": "ededed", "default": false})).collect::<Vec<_>>(),
            "draft": p.draft,
            "head": branch(&p.head_ref, &p.head_sha),
            "base": branch(&p.base_ref, &p.base_sha),
            "merged": p.merged,
            "mergeable": if p.state == "open" { json!(true) } else { Value::Null },
            "mergeable_state": if p.state == "open" { "clean" } else { "unknown" },
            "merge_commit_sha": p.merge_commit.as_ref().map(|s| s.to_string()),
            "merged_at": if p.merged { json!(t(p.created)) } else { Value::Null },
            "closed_at": if p.state == "closed" { json!(t(p.created)) } else { Value::Null },
            "created_at": t(p.created),
            "updated_at": t(p.created),
            "author_association": "MEMBER",
            "auto_merge": null,
            "milestone": null,
            "assignee": null,
            "merged_by": null,
            "maintainer_can_modify": false,
        }),
    )
}

pub fn check_run_json(inner: &Inner, r: &RepoState, c: &CheckRun) -> Value {
    let url = format!("{}/repos/{}/check-runs/{}", inner.api_url, r.name, c.id);
    json!({
        "id": c.id,
        "node_id": format!("CR_{}", c.id),
        "head_sha": c.head_sha.as_str(),
        "external_id": c.external_id.clone().unwrap_or_default(),
        "url": url,
        "html_url": format!("https://github.com/{}/runs/{}", r.name, c.id),
        "details_url": c.details_url.clone().unwrap_or_else(|| format!("https://github.com/{}/runs/{}", r.name, c.id)),
        "status": c.status,
        "conclusion": c.conclusion,
        "started_at": c.started_at,
        "completed_at": c.completed_at,
        "output": {
            "title": c.output.get("title").cloned().unwrap_or(Value::Null),
            "summary": c.output.get("summary").cloned().unwrap_or(Value::Null),
            "text": c.output.get("text").cloned().unwrap_or(Value::Null),
            "annotations_count": c.annotations.len(),
            "annotations_url": format!("{url}/annotations"),
        },
        "name": c.name,
        "check_suite": {"id": c.suite},
        "app": match &c.app {
            None => app_json(inner),
            Some(slug) => json!({"id": 9_999, "slug": slug, "node_id": "A_ci", "name": slug,
                "owner": user_json(slug, 9_999, false), "description": null,
                "external_url": "https://ci.example", "html_url": format!("https://github.com/apps/{slug}"),
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "permissions": {}, "events": []}),
        },
        "pull_requests": [],
    })
}

pub fn review_json(inner: &Inner, st: &State, v: &super::Review) -> Value {
    let name = st
        .repos
        .get(&v.repo)
        .map(|r| r.name.to_string())
        .unwrap_or_default();
    conform(
        definition("pull-request-review"),
        json!({
            "id": v.id,
            "node_id": format!("PRR_{}", v.id),
            "user": user_json(&v.user, login_id(&v.user), v.user.ends_with("[bot]")),
            "body": "",
            "state": v.state,
            "commit_id": v.commit.as_str(),
            "html_url": format!("https://github.com/{name}/pull/{}#pullrequestreview-{}", v.number, v.id),
            "pull_request_url": format!("{}/repos/{name}/pulls/{}", inner.api_url, v.number),
            "submitted_at": "2026-01-01T00:00:00Z",
            "author_association": "MEMBER",
            "_links": {"html": {"href": format!("https://github.com/{name}/pull/{}", v.number)},
                       "pull_request": {"href": format!("{}/repos/{name}/pulls/{}", inner.api_url, v.number)}},
        }),
    )
}

pub fn comment_json(inner: &Inner, r: &RepoState, c: &Comment) -> Value {
    conform(
        definition("issue-comment"),
        json!({
            "id": c.id,
            "node_id": format!("IC_{}", c.id),
            "url": format!("{}/repos/{}/issues/comments/{}", inner.api_url, r.name, c.id),
            "html_url": format!("https://github.com/{}/pull/{}#issuecomment-{}", r.name, c.number, c.id),
            "issue_url": format!("{}/repos/{}/issues/{}", inner.api_url, r.name, c.number),
            "body": c.body,
            "user": user_json(&c.author, login_id(&c.author), c.bot),
            "created_at": t(c.created),
            "updated_at": t(c.updated),
            "author_association": if c.bot { "NONE" } else { "MEMBER" },
        }),
    )
}

fn commit_json(inner: &Inner, r: &RepoState, sha: &Sha) -> Value {
    let (parents, message, time) = r.git.commit_info(sha).unwrap_or_default();
    let url = format!("{}/repos/{}/commits/{sha}", inner.api_url, r.name);
    let person = json!({"name": "Simulated User", "email": "user@example.com", "date": t(time)});
    conform(
        definition("commit"),
        json!({
            "url": url,
            "sha": sha.as_str(),
            "node_id": format!("C_{}", sha.short()),
            "html_url": format!("https://github.com/{}/commit/{sha}", r.name),
            "comments_url": format!("{url}/comments"),
            "commit": {
                "url": format!("{}/repos/{}/git/commits/{sha}", inner.api_url, r.name),
                "author": person,
                "committer": person,
                "message": message,
                "comment_count": 0,
                "tree": {"sha": sha.as_str(), "url": format!("{}/repos/{}/git/trees/{sha}", inner.api_url, r.name)},
            },
            "author": null,
            "committer": null,
            "parents": parents.iter().map(|p| json!({"sha": p.as_str(), "url": format!("{}/repos/{}/commits/{p}", inner.api_url, r.name)})).collect::<Vec<_>>(),
        }),
    )
}

// ---- plumbing ---------------------------------------------------------------------------

/// An answer before headers: status, JSON body, extra headers, the documented operation.
struct Out {
    status: u16,
    body: Option<Value>,
    headers: Vec<(String, String)>,
    op: Option<&'static str>,
}

fn out(op: &'static str, status: u16, body: Value) -> Out {
    Out {
        status,
        body: Some(answer(op, status, body)),
        headers: Vec::new(),
        op: Some(op),
    }
}

fn error(op: Option<&'static str>, status: u16, message: &str) -> Out {
    Out {
        status,
        body: Some(json!({"message": message, "documentation_url": DOCS})),
        headers: Vec::new(),
        op,
    }
}

fn not_found(op: Option<&'static str>) -> Out {
    error(op, 404, "Not Found")
}

/// Who made a request.
enum Caller {
    App,
    Installation {
        inst: u64,
        token: String,
    },
    /// A person's token (`Sim::user_token`): every repository.
    User {
        token: String,
    },
    /// No Authorization header: reads of public repositories only.
    Anonymous,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "token")
        .then(|| rest.trim().to_string())
}

fn verify_jwt(inner: &Inner, token: &str) -> Result<(), String> {
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(inner.opts.public_key_pem.as_bytes())
        .map_err(|_| "the App has no usable public key".to_string())?;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "iat", "iss"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires".to_string(),
        _ => "A JSON web token could not be decoded".to_string(),
    })?;
    let c = data.claims;
    let iss = match &c["iss"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if iss != inner.opts.app_id.to_string() {
        return Err("'Issuer' claim ('iss') must be an Integer".into());
    }
    let (iat, exp) = (
        c["iat"].as_u64().unwrap_or(0),
        c["exp"].as_u64().unwrap_or(0),
    );
    if exp.saturating_sub(iat) > 600 {
        return Err("'Expiration time' claim ('exp') is too far in the future".into());
    }
    if iat > now() + 60 {
        return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued".into());
    }
    Ok(())
}

fn caller(inner: &Inner, st: &State, headers: &HeaderMap, app: bool) -> Result<Caller, Out> {
    let Some(tok) = bearer(headers) else {
        if app {
            return Err(error(None, 401, "Requires authentication"));
        }
        return Ok(Caller::Anonymous);
    };
    if app {
        return verify_jwt(inner, &tok)
            .map(|()| Caller::App)
            .map_err(|m| error(None, 401, &m));
    }
    if st.user_tokens.contains_key(&tok) {
        return Ok(Caller::User { token: tok });
    }
    match st.tokens.get(&tok) {
        Some(t) if t.expires > now() => Ok(Caller::Installation {
            inst: t.inst,
            token: tok,
        }),
        _ => Err(error(None, 401, "Bad credentials")),
    }
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One page of `items` and its `Link` header.
fn paginate(items: Vec<Value>, url: &str, query: &str) -> (Vec<Value>, Option<String>) {
    let per_page = query_param(query, "per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query_param(query, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let others: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page=") && !kv.starts_with("per_page="))
        .collect();
    let link_to = |p: usize| {
        let mut q = others.clone();
        let pp = format!("per_page={per_page}");
        let pg = format!("page={p}");
        q.push(&pp);
        q.push(&pg);
        format!("<{url}?{}>", q.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    (page_items, (!links.is_empty()).then(|| links.join(", ")))
}

fn listed(op: &'static str, items: Vec<Value>, url: &str, query: &str) -> Out {
    let (page, link) = paginate(items, url, query);
    let mut o = out(op, 200, Value::Array(page));
    if let Some(l) = link {
        o.headers.push(("link".into(), l));
    }
    o
}

// ---- the API ----------------------------------------------------------------------------

async fn api(
    AxState(inner): AxState<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = inner.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let request_body: Option<Value> = if body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    let fault = inner.faults.take(method.as_str(), &path);
    let (o, rate_key) = {
        let mut st = inner.lock();
        let (o, key) = match fault {
            Some(Fault::Fail(status)) => (
                error(
                    None,
                    status,
                    if status >= 500 {
                        "Server Error"
                    } else {
                        "Simulated failure"
                    },
                ),
                None,
            ),
            Some(Fault::Secondary(secs)) => {
                let mut o = error(
                    None,
                    403,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                );
                o.headers.push(("retry-after".into(), secs.to_string()));
                (o, None)
            }
            Some(Fault::Primary(until)) => {
                let mut o = error(None, 403, "API rate limit exceeded for installation.");
                o.headers.push(("x-ratelimit-remaining".into(), "0".into()));
                o.headers
                    .push(("x-ratelimit-reset".into(), until.to_string()));
                (o, Some("primary".to_string()))
            }
            None if !body.is_empty() && request_body.is_none() => {
                (error(None, 400, "Problems parsing JSON"), None)
            }
            None => dispatch(
                &inner,
                &mut st,
                &method,
                &path,
                &query,
                &headers,
                request_body.as_ref(),
            ),
        };
        (o, key)
    };
    finish(
        &inner,
        method,
        path,
        query,
        &headers,
        request_body,
        o,
        rate_key,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    inner: &Inner,
    method: Method,
    path: String,
    query: String,
    headers: &HeaderMap,
    request_body: Option<Value>,
    mut o: Out,
    rate_key: Option<String>,
) -> Response {
    let bytes = o
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let mut status = o.status;
    let mut response_body = o.body.take();
    // Conditional requests: a matching ETag is a 304 and costs no rate limit.
    let mut counted = true;
    if method == Method::GET && status == 200 {
        let etag = format!("W/\"{:x}\"", Sha256::digest(&bytes));
        if headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == etag)
        {
            status = 304;
            response_body = None;
            counted = false;
        }
        o.headers.push(("etag".into(), etag));
    }
    let mut st = inner.lock();
    let key = rate_key
        .or_else(|| bearer(headers))
        .unwrap_or_else(|| "anonymous".into());
    let limit = inner.opts.rate_limit;
    let used = st.used.entry(key).or_insert(0);
    if counted && status != 304 {
        *used = used.saturating_add(1);
    }
    let used = *used;
    let reset = (now() / 3600 + 1) * 3600;
    if !o.headers.iter().any(|(k, _)| k == "x-ratelimit-remaining") {
        o.headers.push((
            "x-ratelimit-remaining".into(),
            limit.saturating_sub(used).to_string(),
        ));
        o.headers
            .push(("x-ratelimit-reset".into(), reset.to_string()));
    }
    o.headers
        .push(("x-ratelimit-limit".into(), limit.to_string()));
    o.headers
        .push(("x-ratelimit-used".into(), used.to_string()));
    o.headers
        .push(("x-ratelimit-resource".into(), "core".into()));
    let rid = st.id();
    o.headers
        .push(("x-github-request-id".into(), format!("SIM:{rid:08X}")));
    o.headers
        .push(("x-github-api-version-selected".into(), "2022-11-28".into()));
    st.exchanges.push(Exchange {
        method: method.to_string(),
        path,
        query,
        template: o.op.map(str::to_string),
        status,
        request_body,
        response_body: response_body.clone(),
        response_headers: o.headers.clone(),
    });
    drop(st);
    let mut resp = match response_body {
        Some(_) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            bytes,
        )
            .into_response(),
        None => StatusCode::from_u16(status)
            .unwrap_or(StatusCode::OK)
            .into_response(),
    };
    let h = resp.headers_mut();
    if status != 304 && status != 302 && status != 202 || o.body.is_some() {
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (k, v) in &o.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::try_from(k.as_str()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

fn dispatch(
    inner: &Inner,
    st: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: Option<&Value>,
) -> (Out, Option<String>) {
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method.as_str();
    let app_route = matches!(s.first(), Some(&"app"));
    let who = match caller(inner, st, headers, app_route) {
        Ok(c) => c,
        Err(e) => return (e, None),
    };
    let key = match &who {
        Caller::App => Some(format!("app-{}", inner.opts.app_id)),
        Caller::Installation { token, .. } | Caller::User { token } => Some(token.clone()),
        // GitHub counts unauthenticated requests per address.
        Caller::Anonymous => Some("anonymous".into()),
    };
    let o = match (&who, m, s.as_slice()) {
        (Caller::App, "GET", ["app"]) => out("GET /app", 200, app_json(inner)),
        (Caller::App, "GET", ["app", "installations"]) => {
            let items = st
                .installations
                .iter()
                .map(|(id, i)| {
                    let mut v = super::hooks::installation_json(inner, *id, &i.account);
                    v["access_tokens_url"] = json!(format!(
                        "{}/app/installations/{id}/access_tokens",
                        inner.api_url
                    ));
                    v["html_url"] = json!(format!(
                        "https://github.com/organizations/{}/settings/installations/{id}",
                        i.account
                    ));
                    v["repositories_url"] =
                        json!(format!("{}/installation/repositories", inner.api_url));
                    v
                })
                .collect();
            listed(
                "GET /app/installations",
                items,
                &format!("{}/app/installations", inner.api_url),
                query,
            )
        }
        (Caller::App, "POST", ["app", "installations", id, "access_tokens"]) => {
            let op = "POST /app/installations/{installation_id}/access_tokens";
            match id
                .parse::<u64>()
                .ok()
                .filter(|i| st.installations.contains_key(i))
            {
                None => not_found(Some(op)),
                Some(inst) => {
                    let token = format!(
                        "ghs_{}",
                        (0..36)
                            .map(|_| fastrand::alphanumeric())
                            .collect::<String>()
                    );
                    let expires = now() + inner.opts.token_ttl.as_secs();
                    st.tokens
                        .insert(token.clone(), super::Token { inst, expires });
                    out(
                        op,
                        201,
                        json!({
                            "token": token,
                            "expires_at": t(expires),
                            "permissions": {"checks": "write", "contents": "read", "pull_requests": "write", "issues": "write", "statuses": "write", "metadata": "read"},
                            "repository_selection": "selected",
                        }),
                    )
                }
            }
        }
        (Caller::App, "GET", ["app", "hook", "deliveries"]) => deliveries(inner, st, query),
        (Caller::App, "GET", ["app", "hook", "deliveries", id]) => {
            let op = "GET /app/hook/deliveries/{delivery_id}";
            match st.deliveries.iter().find(|d| d.id.to_string() == *id) {
                None => not_found(Some(op)),
                Some(d) => {
                    let payload: Value = serde_json::from_slice(&d.payload).unwrap_or(Value::Null);
                    let mut v = delivery_json(d);
                    v["url"] = json!(inner.opts.webhook_url.clone().unwrap_or_default());
                    v["request"] = json!({"headers": {"X-GitHub-Event": d.event, "X-GitHub-Delivery": d.guid}, "payload": payload});
                    v["response"] = json!({"headers": {}, "payload": null});
                    out(op, 200, v)
                }
            }
        }
        (Caller::App, "POST", ["app", "hook", "deliveries", id, "attempts"]) => {
            let op = "POST /app/hook/deliveries/{delivery_id}/attempts";
            match st.deliveries.iter().position(|d| d.id.to_string() == *id) {
                None => not_found(Some(op)),
                Some(i) => {
                    super::hooks::redeliver(inner, st, i);
                    out(op, 202, json!({}))
                }
            }
        }
        (Caller::Installation { inst, .. }, "GET", ["installation", "repositories"]) => {
            let ids = st
                .installations
                .get(inst)
                .map(|i| i.repos.clone())
                .unwrap_or_default();
            let items: Vec<Value> = ids
                .iter()
                .filter_map(|id| st.repos.get(id))
                .map(|r| repo_json(inner, r))
                .collect();
            let total = items.len();
            let (page, link) = paginate(
                items,
                &format!("{}/installation/repositories", inner.api_url),
                query,
            );
            let mut o = out(
                "GET /installation/repositories",
                200,
                json!({"total_count": total, "repositories": page}),
            );
            if let Some(l) = link {
                o.headers.push(("link".into(), l));
            }
            o
        }
        (
            Caller::Installation { inst, .. },
            "GET",
            ["orgs", org, "teams", team, "memberships", user],
        ) => {
            let op = "GET /orgs/{org}/teams/{team_slug}/memberships/{username}";
            let account = st.installations.get(inst).map(|i| i.account.to_lowercase());
            let key = (org.to_lowercase(), team.to_lowercase(), user.to_lowercase());
            if account.as_deref() == Some(&key.0) && st.team_members.contains(&key) {
                out(
                    op,
                    200,
                    json!({"url": format!("{}/organizations/1/team/1/memberships/{user}", inner.api_url),
                           "role": "member", "state": "active"}),
                )
            } else {
                not_found(Some(op))
            }
        }
        (Caller::Installation { inst, .. }, "POST", ["graphql"]) => graphql(st, *inst, body),
        (Caller::Installation { inst, .. }, _, ["repos", owner, name, rest @ ..]) => {
            let full = format!("{owner}/{name}");
            match st
                .repo_by_name(&full)
                .filter(|r| r.inst == *inst)
                .map(|r| r.id)
            {
                None => not_found(None),
                Some(id) => repo_route(inner, st, id, m, rest, query, body),
            }
        }
        (Caller::User { .. }, _, ["repos", owner, name, rest @ ..]) => {
            match st.repo_by_name(&format!("{owner}/{name}")).map(|r| r.id) {
                None => not_found(None),
                Some(id) => repo_route(inner, st, id, m, rest, query, body),
            }
        }
        (Caller::Anonymous, "GET", ["repos", owner, name, rest @ ..]) => {
            match st
                .repo_by_name(&format!("{owner}/{name}"))
                .filter(|r| !r.private)
                .map(|r| r.id)
            {
                None => not_found(None),
                Some(id) => repo_route(inner, st, id, m, rest, query, body),
            }
        }
        (Caller::Anonymous, _, _) => error(None, 401, "Requires authentication"),
        _ => not_found(None),
    };
    (o, key)
}

fn delivery_json(d: &super::Delivery) -> Value {
    json!({
        "id": d.id,
        "guid": d.guid,
        "delivered_at": t(d.delivered_at),
        "redelivery": d.redelivery,
        "duration": d.duration,
        "status": match d.status_code { 0 => "Invalid HTTP Response: 0".to_string(), c if (200..300).contains(&c) => "OK".to_string(), c => format!("Invalid HTTP Response: {c}") },
        "status_code": d.status_code,
        "event": d.event,
        "action": d.action,
        "installation_id": d.installation,
        "repository_id": d.repository,
        "throttled_at": null,
    })
}

/// Newest first, with cursor pagination as GitHub's deliveries API has it.
fn deliveries(inner: &Inner, st: &State, query: &str) -> Out {
    let op = "GET /app/hook/deliveries";
    let per_page = query_param(query, "per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let cursor = query_param(query, "cursor").and_then(|c| c.parse::<u64>().ok());
    let all: Vec<&super::Delivery> = st
        .deliveries
        .iter()
        .rev()
        .filter(|d| d.status_code != 0 || d.dropped || d.delivered_at + 1 < now())
        .filter(|d| cursor.is_none_or(|c| d.id < c))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .take(per_page)
        .map(|d| delivery_json(d))
        .collect();
    let mut o = out(op, 200, Value::Array(page));
    if all.len() > per_page
        && let Some(last) = all.get(per_page - 1)
    {
        o.headers.push((
            "link".into(),
            format!(
                "<{}/app/hook/deliveries?per_page={per_page}&cursor={}>; rel=\"next\"",
                inner.api_url, last.id
            ),
        ));
    }
    o
}

fn repo_route(
    inner: &Inner,
    st: &mut State,
    id: u64,
    m: &str,
    rest: &[&str],
    query: &str,
    body: Option<&Value>,
) -> Out {
    let api = format!("{}/repos/{}", inner.api_url, st.repos[&id].name);
    match (m, rest) {
        ("GET", []) => {
            let r = &st.repos[&id];
            let mut v = repo_json(inner, r);
            v["network_count"] = json!(0);
            v["subscribers_count"] = json!(0);
            v["has_discussions"] = json!(false);
            out("GET /repos/{owner}/{repo}", 200, v)
        }
        ("GET", ["tarball", reference @ ..]) => {
            let op = "GET /repos/{owner}/{repo}/tarball/{ref}";
            let r = &st.repos[&id];
            match r.git.resolve(&reference.join("/")) {
                None => not_found(Some(op)),
                Some(sha) => {
                    let token: String = (0..24).map(|_| fastrand::alphanumeric()).collect();
                    let loc = format!(
                        "{}/{}/legacy.tar.gz/{sha}?token={token}",
                        inner.codeload_url, r.name
                    );
                    st.codeload_tokens.insert(token, (id, sha, now() + 300));
                    Out {
                        status: 302,
                        body: None,
                        headers: vec![("location".into(), loc)],
                        op: Some(op),
                    }
                }
            }
        }
        ("GET", ["compare", spec @ ..]) => {
            let op = "GET /repos/{owner}/{repo}/compare/{basehead}";
            let spec = spec.join("/");
            let r = &st.repos[&id];
            let Some((b, h)) = spec.split_once("...") else {
                return not_found(Some(op));
            };
            let (Some(base), Some(head)) = (r.git.resolve(b), r.git.resolve(h)) else {
                return not_found(Some(op));
            };
            let Some(mb) = r.git.merge_base(&base, &head) else {
                return not_found(Some(op));
            };
            let ahead = r.git.commits_between(&mb, &head).unwrap_or_default();
            let behind = r.git.commits_between(&mb, &base).unwrap_or_default();
            let status = match (ahead.is_empty(), behind.is_empty()) {
                (true, true) => "identical",
                (false, true) => "ahead",
                (true, false) => "behind",
                (false, false) => "diverged",
            };
            let files: Vec<Value> = r
                .git
                .changed(&mb, &head)
                .unwrap_or_default()
                .into_iter()
                .map(|(c, p)| file_json(&api, &head, c, &p))
                .collect();
            out(
                op,
                200,
                json!({
                    "url": format!("{api}/compare/{spec}"),
                    "html_url": format!("https://github.com/{}/compare/{spec}", r.name),
                    "permalink_url": format!("https://github.com/{}/compare/{}...{}", r.name, base.short(), head.short()),
                    "diff_url": format!("https://github.com/{}/compare/{spec}.diff", r.name),
                    "patch_url": format!("https://github.com/{}/compare/{spec}.patch", r.name),
                    "base_commit": commit_json(inner, r, &base),
                    "merge_base_commit": commit_json(inner, r, &mb),
                    "status": status,
                    "ahead_by": ahead.len(),
                    "behind_by": behind.len(),
                    "total_commits": ahead.len(),
                    "commits": ahead.iter().map(|c| commit_json(inner, r, c)).collect::<Vec<_>>(),
                    "files": files,
                }),
            )
        }
        ("GET", ["contents", path @ ..]) => {
            let op = "GET /repos/{owner}/{repo}/contents/{path}";
            let r = &st.repos[&id];
            let reference = query_param(query, "ref")
                .map(decode)
                .unwrap_or_else(|| r.default_branch.clone());
            let Some(sha) = r.git.resolve(&reference) else {
                return not_found(Some(op));
            };
            let path = path.join("/");
            match r.git.lookup(&sha, &path) {
                Ok(Lookup::File { sha: blob, bytes }) => {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                    let wrapped: Vec<String> = b64
                        .as_bytes()
                        .chunks(60)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    out(
                        op,
                        200,
                        content_json(
                            &api,
                            r,
                            &path,
                            "file",
                            &blob,
                            bytes.len(),
                            Some(wrapped.join("\n") + "\n"),
                        ),
                    )
                }
                Ok(Lookup::Dir(entries)) => {
                    let items: Vec<Value> = entries
                        .iter()
                        .map(|(name, kind, sha)| {
                            let p = if path.is_empty() {
                                name.clone()
                            } else {
                                format!("{path}/{name}")
                            };
                            content_json(
                                &api,
                                r,
                                &p,
                                if kind == "tree" { "dir" } else { "file" },
                                sha,
                                0,
                                None,
                            )
                        })
                        .collect();
                    out(op, 200, Value::Array(items))
                }
                _ => not_found(Some(op)),
            }
        }
        ("GET", ["commits", sha, "pulls"]) => {
            let op = "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls";
            let r = &st.repos[&id];
            let Some(sha) = r.git.resolve(sha) else {
                return error(Some(op), 422, "No commit found for SHA");
            };
            let items = r
                .pulls
                .values()
                .filter(|p| {
                    p.head_sha == sha
                        || p.merge_commit.as_ref() == Some(&sha)
                        || r.git
                            .commits_between(&p.base_sha, &p.head_sha)
                            .is_ok_and(|c| c.contains(&sha))
                })
                .map(|p| pull_json(inner, r, p))
                .collect();
            listed(op, items, &format!("{api}/commits/{sha}/pulls"), query)
        }
        ("GET", ["branches", branch @ ..]) if !branch.is_empty() => {
            let op = "GET /repos/{owner}/{repo}/branches/{branch}";
            let r = &st.repos[&id];
            let branch = decode(&branch.join("/"));
            let Some(tip) = r.git.branch(&branch) else {
                return error(Some(op), 404, "Branch not found");
            };
            let rules = st.rules.get(&(id, branch.clone())).filter(|b| !b.ruleset);
            let url = format!("{api}/branches/{branch}/protection");
            let protection = match rules {
                None => {
                    json!({"enabled": false, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}})
                }
                Some(b) => json!({
                    "url": url,
                    "enabled": true,
                    "required_status_checks": {
                        "url": format!("{url}/required_status_checks"),
                        "enforcement_level": "non_admins",
                        "contexts": b.required,
                        "checks": b.required.iter().map(|c| json!({"context": c, "app_id": null})).collect::<Vec<_>>(),
                        "contexts_url": format!("{url}/required_status_checks/contexts"),
                        "strict": false,
                    },
                    "required_pull_request_reviews": {
                        "url": format!("{url}/required_pull_request_reviews"),
                        "dismiss_stale_reviews": false,
                        "require_code_owner_reviews": false,
                        "required_approving_review_count": b.reviews,
                    },
                }),
            };
            out(
                op,
                200,
                json!({
                    "name": branch,
                    "commit": commit_json(inner, r, &tip),
                    "_links": {"html": format!("https://github.com/{}/tree/{branch}", r.name), "self": format!("{api}/branches/{branch}")},
                    "protected": rules.is_some(),
                    "protection": protection,
                    "protection_url": url,
                }),
            )
        }
        ("GET", ["rules", "branches", branch @ ..]) if !branch.is_empty() => {
            let op = "GET /repos/{owner}/{repo}/rules/branches/{branch}";
            let branch = decode(&branch.join("/"));
            let source = st.repos[&id].name.to_string();
            let mut items = Vec::new();
            if let Some(b) = st.rules.get(&(id, branch.clone())).filter(|b| b.ruleset) {
                let common = |kind: &str, parameters: Value| {
                    json!({"type": kind, "parameters": parameters, "ruleset_source_type": "Repository",
                           "ruleset_source": source, "ruleset_id": 1})
                };
                if !b.required.is_empty() {
                    items.push(common(
                        "required_status_checks",
                        json!({"required_status_checks": b.required.iter().map(|c| json!({"context": c})).collect::<Vec<_>>(),
                               "strict_required_status_checks_policy": false}),
                    ));
                }
                if b.reviews > 0 {
                    items.push(common(
                        "pull_request",
                        json!({"required_approving_review_count": b.reviews, "dismiss_stale_reviews_on_push": false,
                               "require_code_owner_review": false, "require_last_push_approval": false,
                               "required_review_thread_resolution": false}),
                    ));
                }
                if b.merge_queue {
                    items.push(common(
                        "merge_queue",
                        json!({"check_response_timeout_minutes": 60, "grouping_strategy": "ALLGREEN",
                               "max_entries_to_build": 5, "max_entries_to_merge": 5, "merge_method": "SQUASH",
                               "min_entries_to_merge": 1, "min_entries_to_merge_wait_minutes": 5}),
                    ));
                }
            }
            listed(op, items, &format!("{api}/rules/branches/{branch}"), query)
        }
        ("GET", ["pulls", n, "reviews"]) => {
            let op = "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews";
            let Some(n) = pull_number(st, id, n) else {
                return not_found(Some(op));
            };
            let items = st
                .reviews
                .iter()
                .filter(|v| v.repo == id && v.number == n)
                .map(|v| review_json(inner, st, v))
                .collect();
            listed(op, items, &format!("{api}/pulls/{n}/reviews"), query)
        }
        ("DELETE", ["git", "refs", "heads", branch @ ..]) if !branch.is_empty() => {
            let op = "DELETE /repos/{owner}/{repo}/git/refs/{ref}";
            let branch = decode(&branch.join("/"));
            let r = &st.repos[&id];
            if r.git.branch(&branch).is_none() {
                return error(Some(op), 422, "Reference does not exist");
            }
            if branch == r.default_branch {
                return error(Some(op), 422, "Cannot delete the default branch");
            }
            match r.git.delete_branch(&branch) {
                Ok(()) => Out {
                    status: 204,
                    body: None,
                    headers: Vec::new(),
                    op: Some(op),
                },
                Err(e) => error(Some(op), 500, &e.to_string()),
            }
        }
        ("GET", ["commits", reference @ .., last])
            if matches!(*last, "check-runs" | "statuses" | "status") && !reference.is_empty() =>
        {
            let r = &st.repos[&id];
            let reference = reference.join("/");
            let Some(sha) = r.git.resolve(&reference) else {
                return not_found(None);
            };
            match *last {
                "check-runs" => {
                    let op = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs";
                    let name = query_param(query, "check_name").map(decode);
                    let app = query_param(query, "app_id").and_then(|a| a.parse::<u64>().ok());
                    let status = query_param(query, "status");
                    let latest = query_param(query, "filter") != Some("all");
                    let mut runs: Vec<&CheckRun> = st
                        .check_runs
                        .values()
                        .filter(|c| c.repo == id && c.head_sha == sha)
                        .filter(|c| name.as_deref().is_none_or(|n| c.name == n))
                        .filter(|c| app.is_none_or(|a| a == inner.opts.app_id && c.app.is_none()))
                        .filter(|c| status.is_none_or(|s| c.status == s))
                        .collect();
                    if latest {
                        let mut seen = std::collections::HashSet::new();
                        runs.reverse();
                        runs.retain(|c| seen.insert(c.name.clone()));
                        runs.reverse();
                    }
                    let items: Vec<Value> =
                        runs.iter().map(|c| check_run_json(inner, r, c)).collect();
                    let total = items.len();
                    let (page, link) = paginate(
                        items,
                        &format!("{api}/commits/{reference}/check-runs"),
                        query,
                    );
                    let mut o = out(op, 200, json!({"total_count": total, "check_runs": page}));
                    if let Some(l) = link {
                        o.headers.push(("link".into(), l));
                    }
                    o
                }
                "statuses" => {
                    let items = st
                        .statuses
                        .iter()
                        .rev()
                        .filter(|s| s.repo == id && s.sha == sha)
                        .map(|s| status_json(&api, s))
                        .collect();
                    listed(
                        "GET /repos/{owner}/{repo}/commits/{ref}/statuses",
                        items,
                        &format!("{api}/commits/{reference}/statuses"),
                        query,
                    )
                }
                _ => {
                    let mut latest: Vec<&Status> = Vec::new();
                    for s in st
                        .statuses
                        .iter()
                        .rev()
                        .filter(|s| s.repo == id && s.sha == sha)
                    {
                        if !latest.iter().any(|l| l.context == s.context) {
                            latest.push(s);
                        }
                    }
                    let state = if latest
                        .iter()
                        .any(|s| s.state == "failure" || s.state == "error")
                    {
                        "failure"
                    } else if latest.is_empty() || latest.iter().any(|s| s.state == "pending") {
                        "pending"
                    } else {
                        "success"
                    };
                    out(
                        "GET /repos/{owner}/{repo}/commits/{ref}/status",
                        200,
                        json!({
                            "state": state,
                            "statuses": latest.iter().map(|s| status_json(&api, s)).collect::<Vec<_>>(),
                            "sha": sha.as_str(),
                            "total_count": latest.len(),
                            "repository": conform(definition("minimal-repository"), repo_json(inner, r)),
                            "commit_url": format!("{api}/commits/{sha}"),
                            "url": format!("{api}/commits/{sha}/status"),
                        }),
                    )
                }
            }
        }
        ("GET", ["commits"]) => {
            let op = "GET /repos/{owner}/{repo}/commits";
            let r = &st.repos[&id];
            let from = query_param(query, "sha")
                .map(decode)
                .unwrap_or_else(|| r.default_branch.clone());
            let Some(tip) = r.git.resolve(&from) else {
                return not_found(Some(op));
            };
            let shas = r.git.log(&tip).unwrap_or_default();
            let items = shas.iter().map(|c| commit_json(inner, r, c)).collect();
            let sha_q = query_param(query, "sha").unwrap_or("");
            listed(op, items, &format!("{api}/commits?sha={sha_q}"), query)
        }
        ("GET", ["commits", reference @ ..]) if !reference.is_empty() => {
            let op = "GET /repos/{owner}/{repo}/commits/{ref}";
            let r = &st.repos[&id];
            match r.git.resolve(&reference.join("/")) {
                None => error(Some(op), 422, "No commit found for SHA"),
                Some(sha) => {
                    let mut v = commit_json(inner, r, &sha);
                    let parent = r
                        .git
                        .commit_info(&sha)
                        .ok()
                        .and_then(|(p, _, _)| p.first().cloned());
                    let files: Vec<Value> = match &parent {
                        Some(p) => r
                            .git
                            .changed(p, &sha)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(c, f)| file_json(&api, &sha, c, &f))
                            .collect(),
                        None => Vec::new(),
                    };
                    v["files"] = Value::Array(files);
                    v["stats"] = json!({"additions": 0, "deletions": 0, "total": 0});
                    out(op, 200, v)
                }
            }
        }
        ("GET", ["pulls"]) => {
            let r = &st.repos[&id];
            let state = query_param(query, "state").unwrap_or("open");
            let head = query_param(query, "head").map(decode);
            let base = query_param(query, "base").map(decode);
            let items = r
                .pulls
                .values()
                .rev()
                .filter(|p| state == "all" || p.state == state)
                .filter(|p| {
                    head.as_deref().is_none_or(|h| {
                        h == p.head_ref || h == format!("{}:{}", r.name.owner(), p.head_ref)
                    })
                })
                .filter(|p| base.as_deref().is_none_or(|b| b == p.base_ref))
                .map(|p| {
                    let mut v = pull_json(inner, r, p);
                    // The list has the simple form: no merge state counts.
                    if let Value::Object(m) = &mut v {
                        for k in [
                            "mergeable",
                            "mergeable_state",
                            "merged",
                            "merged_by",
                            "comments",
                            "review_comments",
                            "maintainer_can_modify",
                            "commits",
                            "additions",
                            "deletions",
                            "changed_files",
                            "rebaseable",
                        ] {
                            m.remove(k);
                        }
                    }
                    conform(definition("pull-request-simple"), v)
                })
                .collect();
            listed(
                "GET /repos/{owner}/{repo}/pulls",
                items,
                &format!("{api}/pulls"),
                query,
            )
        }
        ("GET", [pulls, n]) if *pulls == "pulls" => {
            let op = "GET /repos/{owner}/{repo}/pulls/{pull_number}";
            let r = &st.repos[&id];
            match n.parse::<u64>().ok().and_then(|n| r.pulls.get(&n)) {
                None => not_found(Some(op)),
                Some(p) => out(op, 200, pull_json(inner, r, p)),
            }
        }
        ("GET", ["pulls", n, "files"]) => {
            let op = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files";
            let r = &st.repos[&id];
            match n.parse::<u64>().ok().and_then(|n| r.pulls.get(&n)) {
                None => not_found(Some(op)),
                Some(p) => {
                    let base = r
                        .git
                        .merge_base(&p.base_sha, &p.head_sha)
                        .unwrap_or_else(|| p.base_sha.clone());
                    let items = r
                        .git
                        .changed(&base, &p.head_sha)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(c, f)| file_json(&api, &p.head_sha, c, &f))
                        .collect();
                    listed(op, items, &format!("{api}/pulls/{n}/files"), query)
                }
            }
        }
        ("PUT", ["pulls", n, "merge"]) => merge(inner, st, id, n, body),
        ("POST", ["check-runs"]) => create_check_run(inner, st, id, body),
        ("GET", ["check-runs", cid]) => {
            let op = "GET /repos/{owner}/{repo}/check-runs/{check_run_id}";
            let r = &st.repos[&id];
            match cid
                .parse::<u64>()
                .ok()
                .and_then(|c| st.check_runs.get(&c))
                .filter(|c| c.repo == id)
            {
                None => not_found(Some(op)),
                Some(c) => out(op, 200, check_run_json(inner, r, c)),
            }
        }
        ("PATCH", ["check-runs", cid]) => update_check_run(inner, st, id, cid, body),
        ("GET", ["check-runs", cid, "annotations"]) => {
            let op = "GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations";
            match cid
                .parse::<u64>()
                .ok()
                .and_then(|c| st.check_runs.get(&c))
                .filter(|c| c.repo == id)
            {
                None => not_found(Some(op)),
                Some(c) => {
                    let items = c
                        .annotations
                        .iter()
                        .map(|a| {
                            let mut a = a.clone();
                            a["blob_href"] = json!(format!(
                                "https://github.com/{}/blob/{}/{}",
                                st.repos[&id].name,
                                c.head_sha,
                                a["path"].as_str().unwrap_or("")
                            ));
                            for k in ["start_column", "end_column", "title", "raw_details"] {
                                if a.get(k).is_none() {
                                    a[k] = Value::Null;
                                }
                            }
                            a
                        })
                        .collect();
                    listed(
                        op,
                        items,
                        &format!("{api}/check-runs/{cid}/annotations"),
                        query,
                    )
                }
            }
        }
        ("POST", ["statuses", sha]) => {
            let op = "POST /repos/{owner}/{repo}/statuses/{sha}";
            let r = &st.repos[&id];
            let Some(sha) = r.git.resolve(sha) else {
                return error(Some(op), 422, "No commit found for SHA");
            };
            let b = body.cloned().unwrap_or(Value::Null);
            let state = b["state"].as_str().unwrap_or("");
            if !["error", "failure", "pending", "success"].contains(&state) {
                return error(
                    Some(op),
                    422,
                    "Validation Failed: state is not included in the list",
                );
            }
            let description = b["description"].as_str().map(str::to_string);
            if description
                .as_ref()
                .is_some_and(|d| d.chars().count() > 140)
            {
                return error(
                    Some(op),
                    422,
                    "Validation Failed: description is too long (maximum is 140 characters)",
                );
            }
            let sid = st.id();
            st.clock += 1;
            let s = Status {
                id: sid,
                repo: id,
                sha,
                state: state.to_string(),
                context: b["context"].as_str().unwrap_or("default").to_string(),
                description,
                target_url: b["target_url"].as_str().map(str::to_string),
                created: st.clock,
            };
            let v = status_json(&api, &s);
            st.statuses.push(s);
            super::hooks::status_event(inner, st, id, sid);
            out(op, 201, v)
        }
        ("GET", ["issues", n, "comments"]) => {
            let op = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments";
            let r = &st.repos[&id];
            let Some(n) = pull_number(st, id, n) else {
                return not_found(Some(op));
            };
            let items = st
                .comments
                .values()
                .filter(|c| c.repo == id && c.number == n)
                .map(|c| comment_json(inner, r, c))
                .collect();
            listed(op, items, &format!("{api}/issues/{n}/comments"), query)
        }
        ("POST", ["issues", n, "comments"]) => {
            let op = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";
            let Some(n) = pull_number(st, id, n) else {
                return not_found(Some(op));
            };
            let text = match comment_body(op, body) {
                Ok(t) => t,
                Err(e) => return e,
            };
            let cid = st.id();
            st.clock += 1;
            let c = Comment {
                id: cid,
                repo: id,
                number: n,
                author: format!("{}[bot]", inner.opts.slug),
                bot: true,
                body: text.to_string(),
                created: st.clock,
                updated: st.clock,
            };
            let v = comment_json(inner, &st.repos[&id], &c);
            st.comments.insert(cid, c);
            super::hooks::comment_event(inner, st, cid, "created", None);
            out(op, 201, v)
        }
        ("PATCH", ["issues", "comments", cid]) => {
            let op = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}";
            let bot = format!("{}[bot]", inner.opts.slug);
            let Some(cid) = cid
                .parse::<u64>()
                .ok()
                .filter(|c| st.comments.get(c).is_some_and(|c| c.repo == id))
            else {
                return not_found(Some(op));
            };
            let text = match comment_body(op, body) {
                Ok(t) => t,
                Err(e) => return e,
            };
            if st.comments[&cid].author != bot {
                return error(Some(op), 403, "Resource not accessible by integration");
            }
            st.clock += 1;
            let clock = st.clock;
            let from = {
                let c = st.comments.get_mut(&cid).expect("checked above");
                c.updated = clock;
                std::mem::replace(&mut c.body, text.to_string())
            };
            super::hooks::comment_event(inner, st, cid, "edited", Some(from));
            out(
                op,
                200,
                comment_json(inner, &st.repos[&id], &st.comments[&cid]),
            )
        }
        ("POST", ["issues", "comments", cid, "reactions"]) => {
            let op = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions";
            let Some(cid) = cid
                .parse::<u64>()
                .ok()
                .filter(|c| st.comments.get(c).is_some_and(|c| c.repo == id))
            else {
                return not_found(Some(op));
            };
            let content = body.and_then(|b| b["content"].as_str()).unwrap_or("");
            if ![
                "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
            ]
            .contains(&content)
            {
                return error(
                    Some(op),
                    422,
                    "Validation Failed: content is not included in the list",
                );
            }
            let bot = format!("{}[bot]", inner.opts.slug);
            let exists = st
                .reactions
                .iter()
                .any(|(c, u, k)| *c == cid && *u == bot && k == content);
            if !exists {
                st.reactions.push((cid, bot.clone(), content.to_string()));
            }
            let rid = st.id();
            out(
                op,
                if exists { 200 } else { 201 },
                json!({"id": rid, "node_id": format!("RE_{rid}"), "user": user_json(&bot, login_id(&bot), true), "content": content, "created_at": t(now())}),
            )
        }
        ("GET", ["collaborators", user, "permission"]) => {
            let op = "GET /repos/{owner}/{repo}/collaborators/{username}/permission";
            let p = st
                .permissions
                .get(&(id, user.to_string()))
                .cloned()
                .unwrap_or_else(|| "none".into());
            let legacy = match p.as_str() {
                "maintain" => "write",
                "triage" => "read",
                other => other,
            }
            .to_string();
            out(
                op,
                200,
                json!({"permission": legacy, "role_name": p, "user": user_json(user, login_id(user), false)}),
            )
        }
        _ => not_found(None),
    }
}

/// A comment's body, within GitHub's 65,536 characters.
fn comment_body<'a>(op: &'static str, body: Option<&'a Value>) -> Result<&'a str, Out> {
    let Some(text) = body.and_then(|b| b["body"].as_str()) else {
        return Err(error(Some(op), 422, "Validation Failed: body is missing"));
    };
    if text.chars().count() > 65_536 {
        return Err(error(
            Some(op),
            422,
            "Validation Failed: body is too long (maximum is 65536 characters)",
        ));
    }
    Ok(text)
}

fn file_json(api: &str, head: &Sha, c: char, path: &str) -> Value {
    let status = match c {
        'A' => "added",
        'D' => "removed",
        'M' => "modified",
        'R' => "renamed",
        _ => "changed",
    };
    json!({
        "sha": head.as_str(),
        "filename": path,
        "status": status,
        "additions": 0,
        "deletions": 0,
        "changes": 0,
        "blob_url": format!("https://github.com/blob/{head}/{path}"),
        "raw_url": format!("https://github.com/raw/{head}/{path}"),
        "contents_url": format!("{api}/contents/{path}?ref={head}"),
    })
}

fn content_json(
    api: &str,
    r: &RepoState,
    path: &str,
    kind: &str,
    sha: &str,
    size: usize,
    content: Option<String>,
) -> Value {
    let name = path.rsplit('/').next().unwrap_or(path);
    let url = format!("{api}/contents/{path}");
    let git_url = format!(
        "{api}/git/{}/{sha}",
        if kind == "dir" { "trees" } else { "blobs" }
    );
    let html = format!(
        "https://github.com/{}/blob/{}/{path}",
        r.name, r.default_branch
    );
    let mut v = json!({
        "type": kind,
        "name": name,
        "path": path,
        "sha": sha,
        "size": size,
        "url": url,
        "git_url": git_url,
        "html_url": html,
        "download_url": if kind == "file" { json!(format!("https://raw.githubusercontent.com/{}/{}/{path}", r.name, r.default_branch)) } else { Value::Null },
        "_links": {"self": url, "git": git_url, "html": html},
    });
    if let Some(c) = content {
        v["content"] = json!(c);
        v["encoding"] = json!("base64");
    }
    v
}

fn status_json(api: &str, s: &Status) -> Value {
    json!({
        "url": format!("{api}/statuses/{}", s.sha),
        "avatar_url": null,
        "id": s.id,
        "node_id": format!("SC_{}", s.id),
        "state": s.state,
        "description": s.description,
        "target_url": s.target_url,
        "context": s.context,
        "created_at": t(s.created),
        "updated_at": t(s.created),
        "creator": null,
    })
}

const LEVELS: [&str; 3] = ["notice", "warning", "failure"];
const CONCLUSIONS: [&str; 8] = [
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
];

/// The over-limit checks GitHub makes on a check run's output.
fn check_output(out_v: &Value) -> Result<Vec<Value>, String> {
    for k in ["summary", "text"] {
        if out_v[k]
            .as_str()
            .is_some_and(|s| s.chars().count() > 65_535)
        {
            return Err(format!(
                "Invalid request.\n\nOnly 65535 characters are allowed; {} characters were sent in output.{k}.",
                out_v[k].as_str().map_or(0, |s| s.chars().count())
            ));
        }
    }
    let anns = out_v["annotations"].as_array().cloned().unwrap_or_default();
    if anns.len() > 50 {
        return Err("Invalid request.\n\nOnly 50 annotations are allowed per request.".into());
    }
    for a in &anns {
        let level = a["annotation_level"].as_str().unwrap_or("");
        if !LEVELS.contains(&level)
            || a["path"].as_str().is_none()
            || a["message"].as_str().is_none()
            || a["start_line"].as_u64().is_none()
            || a["end_line"].as_u64().is_none()
        {
            return Err("Invalid request.\n\nAnnotations need path, start_line, end_line, annotation_level (notice, warning, failure) and message.".into());
        }
        if a.get("start_column").is_some() && a["start_line"] != a["end_line"] {
            return Err("Invalid request.\n\nstart_column and end_column may only be given when start_line equals end_line.".into());
        }
    }
    Ok(anns)
}

/// The 422 for a conclusion GitHub does not know.
fn bad_conclusion(op: &'static str, body: &Value) -> Option<Out> {
    body["conclusion"]
        .as_str()
        .is_some_and(|c| !CONCLUSIONS.contains(&c))
        .then(|| {
            error(
                Some(op),
                422,
                "Invalid request.\n\nconclusion is not one of the allowed values.",
            )
        })
}

fn create_check_run(inner: &Inner, st: &mut State, repo: u64, body: Option<&Value>) -> Out {
    let op = "POST /repos/{owner}/{repo}/check-runs";
    let b = body.cloned().unwrap_or(Value::Null);
    let (Some(name), Some(head)) = (b["name"].as_str(), b["head_sha"].as_str()) else {
        return error(
            Some(op),
            422,
            "Invalid request.\n\n\"name\" and \"head_sha\" wasn't supplied.",
        );
    };
    let Some(head) = Sha::parse(head)
        .ok()
        .filter(|h| st.repos[&repo].git.resolve(h.as_str()).is_some())
    else {
        return error(Some(op), 422, "No commit found for SHA");
    };
    let status = b["status"].as_str().unwrap_or("queued").to_string();
    if let Some(e) = bad_conclusion(op, &b) {
        return e;
    }
    let conclusion = b["conclusion"].as_str().map(str::to_string);
    let annotations = match check_output(&b["output"]) {
        Ok(a) => a,
        Err(m) => return error(Some(op), 422, &m),
    };
    let id = st.id();
    let suite = match st.suites.get(&(repo, head.clone())) {
        Some(s) => *s,
        None => {
            let s = st.id();
            st.suites.insert((repo, head.clone()), s);
            s
        }
    };
    let mut output = b["output"].clone();
    if let Value::Object(m) = &mut output {
        m.remove("annotations");
    }
    let run = CheckRun {
        id,
        repo,
        name: name.to_string(),
        head_sha: head,
        completed_at: (status == "completed").then(|| t(now())),
        status,
        conclusion,
        output: if output.is_object() {
            output
        } else {
            json!({})
        },
        annotations,
        details_url: b["details_url"].as_str().map(str::to_string),
        external_id: b["external_id"].as_str().map(str::to_string),
        started_at: b["started_at"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| t(now())),
        suite,
        app: None,
    };
    let v = check_run_json(inner, &st.repos[&repo], &run);
    st.check_runs.insert(id, run);
    out(op, 201, v)
}

fn update_check_run(
    inner: &Inner,
    st: &mut State,
    repo: u64,
    cid: &str,
    body: Option<&Value>,
) -> Out {
    let op = "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}";
    let Some(cid) = cid
        .parse::<u64>()
        .ok()
        .filter(|c| st.check_runs.get(c).is_some_and(|c| c.repo == repo))
    else {
        return not_found(Some(op));
    };
    let b = body.cloned().unwrap_or(Value::Null);
    if let Some(e) = bad_conclusion(op, &b) {
        return e;
    }
    if b["status"] == "completed"
        && b["conclusion"].is_null()
        && st.check_runs[&cid].conclusion.is_none()
    {
        return error(
            Some(op),
            422,
            "Invalid request.\n\nconclusion is required when status is completed.",
        );
    }
    let annotations = match check_output(&b["output"]) {
        Ok(a) => a,
        Err(m) => return error(Some(op), 422, &m),
    };
    let c = st.check_runs.get_mut(&cid).expect("checked above");
    if let Some(s) = b["status"].as_str() {
        c.status = s.to_string();
    }
    if let Some(k) = b["conclusion"].as_str() {
        c.conclusion = Some(k.to_string());
        c.status = "completed".into();
    }
    if c.status == "completed" && c.completed_at.is_none() {
        c.completed_at = Some(
            b["completed_at"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| t(now())),
        );
    }
    if let Some(o) = b["output"].as_object() {
        for (k, v) in o {
            if k != "annotations" {
                c.output[k] = v.clone();
            }
        }
    }
    // GitHub adds each request's annotations to the run's.
    c.annotations.extend(annotations);
    let v = check_run_json(inner, &st.repos[&repo], &st.check_runs[&cid]);
    out(op, 200, v)
}

/// The number of a pull request of `repo`, from a path segment.
fn pull_number(st: &State, repo: u64, n: &str) -> Option<u64> {
    n.parse::<u64>()
        .ok()
        .filter(|n| st.repos.get(&repo).is_some_and(|r| r.pulls.contains_key(n)))
}

/// What branch rules still want before pull request `n` may merge into `base` (the merge
/// endpoint's 405 message), if anything.
fn rules_unmet(st: &State, repo: u64, n: u64, base: &str, head: &Sha) -> Option<String> {
    let rules = st.rules.get(&(repo, base.to_string()))?;
    if rules.merge_queue {
        return Some("Changes must be made through the merge queue".into());
    }
    for name in &rules.required {
        let run = st
            .check_runs
            .values()
            .rev()
            .find(|c| c.repo == repo && c.head_sha == *head && c.name == *name);
        let status = st
            .statuses
            .iter()
            .rev()
            .find(|s| s.repo == repo && s.sha == *head && s.context == *name);
        let passed = match (run, status) {
            (Some(c), _) => {
                c.status == "completed"
                    && matches!(
                        c.conclusion.as_deref(),
                        Some("success" | "neutral" | "skipped")
                    )
            }
            (None, Some(s)) => s.state == "success",
            (None, None) => false,
        };
        if !passed {
            return Some(format!("Required status check \"{name}\" is expected."));
        }
    }
    let mut latest: Vec<(&str, &str)> = Vec::new();
    for v in st
        .reviews
        .iter()
        .filter(|v| v.repo == repo && v.number == n)
    {
        latest.retain(|(u, _)| *u != v.user);
        latest.push((&v.user, &v.state));
    }
    let approvals = latest.iter().filter(|(_, s)| *s == "APPROVED").count() as u32;
    if approvals < rules.reviews {
        return Some(format!(
            "At least {} approving review{} required by reviewers with write access.",
            rules.reviews,
            if rules.reviews == 1 { " is" } else { "s are" }
        ));
    }
    None
}

/// `POST /graphql`: the one mutation Warden uses, `enqueuePullRequest`.
fn graphql(st: &mut State, inst: u64, body: Option<&Value>) -> Out {
    let b = body.cloned().unwrap_or(Value::Null);
    let query = b["query"].as_str().unwrap_or_default();
    let fail = |m: &str| Out {
        status: 200,
        body: Some(json!({"data": null, "errors": [{"message": m}]})),
        headers: Vec::new(),
        op: None,
    };
    if !query.contains("enqueuePullRequest") {
        return fail("the simulator answers only enqueuePullRequest");
    }
    let id = b["variables"]["id"].as_str().unwrap_or_default();
    let oid = b["variables"]["oid"].as_str();
    let found = st.repos.values().find_map(|r| {
        r.pulls
            .values()
            .find(|p| format!("PR_{}", p.id) == id)
            .map(|p| (r.id, r.inst, p.number, p.head_sha.clone(), p.state.clone()))
    });
    let Some((repo, owner, number, head, state)) = found.filter(|f| f.1 == inst) else {
        return fail(&format!(
            "Could not resolve to a node with the global id of '{id}'"
        ));
    };
    let _ = owner;
    if state != "open" {
        return fail("Pull request is not open");
    }
    if oid.is_some_and(|o| o != head.as_str()) {
        return fail("Expected head oid does not match the pull request's head");
    }
    let entry = st.id();
    st.merge_queue.push((repo, number, head));
    Out {
        status: 200,
        body: Some(
            json!({"data": {"enqueuePullRequest": {"mergeQueueEntry": {"id": format!("MQE_{entry}")}}}}),
        ),
        headers: Vec::new(),
        op: None,
    }
}

fn merge(inner: &Inner, st: &mut State, repo: u64, n: &str, body: Option<&Value>) -> Out {
    let op = "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge";
    let Some(n) = n
        .parse::<u64>()
        .ok()
        .filter(|n| st.repos[&repo].pulls.contains_key(n))
    else {
        return not_found(Some(op));
    };
    let b = body.cloned().unwrap_or(json!({}));
    let (head_sha, base_ref, state, title) = {
        let p = &st.repos[&repo].pulls[&n];
        (
            p.head_sha.clone(),
            p.base_ref.clone(),
            p.state.clone(),
            p.title.clone(),
        )
    };
    if state != "open" {
        return error(Some(op), 405, "Pull Request is not mergeable");
    }
    if b["sha"].as_str().is_some_and(|s| s != head_sha.as_str()) {
        return error(
            Some(op),
            409,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    if let Some(why) = rules_unmet(st, repo, n, &base_ref, &head_sha) {
        return error(Some(op), 405, &why);
    }
    let method = b["merge_method"].as_str().unwrap_or("merge");
    if !["merge", "squash", "rebase"].contains(&method) {
        return error(
            Some(op),
            422,
            "Invalid request.\n\nmerge_method is not one of merge, squash, rebase.",
        );
    }
    st.clock += 1;
    let time = st.clock;
    let r = &st.repos[&repo];
    let Some(base_tip) = r.git.branch(&base_ref) else {
        return error(Some(op), 405, "Base branch is missing");
    };
    let message = b["commit_title"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{title} (#{n})"));
    let parents: Vec<&Sha> = if method == "merge" {
        vec![&base_tip, &head_sha]
    } else {
        vec![&base_tip]
    };
    let merged = match r
        .git
        .merge_commit(&base_ref, &parents, &head_sha, &message, time)
    {
        Ok(s) => s,
        Err(e) => {
            return error(
                Some(op),
                405,
                &format!("Pull Request is not mergeable: {e}"),
            );
        }
    };
    if let Some(p) = st.repos.get_mut(&repo).and_then(|r| r.pulls.get_mut(&n)) {
        p.state = "closed".into();
        p.merged = true;
        p.merge_commit = Some(merged.clone());
    }
    super::hooks::pushed(inner, st, repo, &base_ref, Some(base_tip), &merged);
    let author = format!("{}[bot]", inner.opts.slug);
    super::hooks::pull_event(inner, st, repo, n, "closed", &author, json!({}));
    out(
        op,
        200,
        json!({"sha": merged.as_str(), "merged": true, "message": "Pull Request successfully merged"}),
    )
}

// ---- codeload ---------------------------------------------------------------------------

async fn codeload(AxState(inner): AxState<Arc<Inner>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let token = uri
        .query()
        .and_then(|q| query_param(q, "token"))
        .unwrap_or("")
        .to_string();
    let found = {
        let st = inner.lock();
        st.codeload_tokens
            .get(&token)
            .filter(|(_, _, exp)| *exp > now())
            .and_then(|(repo, sha, _)| {
                st.repos
                    .get(repo)
                    .map(|r| (r.git.clone(), r.name.clone(), sha.clone()))
            })
            .filter(|(_, name, sha)| path == format!("/{name}/legacy.tar.gz/{sha}"))
    };
    let (status, bytes) = match found {
        None => (404, b"404: Not Found".to_vec()),
        Some((git, name, sha)) => {
            let prefix = format!("{}-{}-{}", name.owner(), name.name(), sha.short());
            match git.tarball(&sha, &prefix) {
                Ok(b) => (200, b),
                Err(_) => (500, Vec::new()),
            }
        }
    };
    inner.lock().codeload_requests.push(super::CodeloadRequest {
        path,
        had_authorization_header: headers.contains_key("authorization"),
        status,
    });
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        bytes,
    )
        .into_response();
    if status == 200 {
        resp.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("application/x-gzip"),
        );
    }
    resp
}
