//! The GitHub client against a scripted GitHub on loopback: App JWT and token caching, retries
//! and rate-limit waits, pagination, conditional requests, tarball redirects, the sticky
//! comment and annotation batches — and every request body it sends is one GitHub documents.

#[path = "support/openapi.rs"]
mod openapi;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use warden::app::pipeline::Forge;
use warden::app::reconcile::Inventory;
use warden::github::client::{ClientOptions, GitHubClient, format_time, now_unix};
use warden::github::ids::{CheckRunId, InstallationId, PrNumber, RepoName, Sha};
use warden::report::annotations::{Annotation, Level};
use warden::report::markdown::CheckRunOutput;
use warden::review::Conclusion;

const PRIVATE: &str = include_str!("../fixtures/keys/app-private.pem");
const PUBLIC: &str = include_str!("../fixtures/keys/app-public.pem");
const INST: InstallationId = InstallationId(7);

/// A request the mock saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Option<Value>,
}

type Script = dyn Fn(&Seen, usize) -> Response + Send + Sync;

#[derive(Clone)]
struct Mock {
    seen: Arc<Mutex<Vec<Seen>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    script: Arc<Script>,
}

impl Mock {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }
}

async fn serve(
    script: impl Fn(&Seen, usize) -> Response + Send + Sync + 'static,
) -> (String, Mock) {
    let mock = Mock {
        seen: Arc::default(),
        counts: Arc::default(),
        script: Arc::new(script),
    };
    let m = mock.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let m = m.clone();
            async move {
                let seen = Seen {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: uri.query().unwrap_or("").to_string(),
                    headers,
                    body: serde_json::from_slice(&body).ok(),
                };
                let n = {
                    let mut c = m.counts.lock().unwrap();
                    let e = c
                        .entry(format!("{} {}", seen.method, seen.path))
                        .or_default();
                    *e += 1;
                    *e
                };
                m.seen.lock().unwrap().push(seen.clone());
                (m.script)(&seen, n)
            }
        },
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, mock)
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn status(code: u16, v: Value) -> Response {
    (StatusCode::from_u16(code).unwrap(), axum::Json(v)).into_response()
}

fn token_answer(ttl: u64) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"token": "ghs_testtoken", "expires_at": format_time((now_unix() + ttl) as i64)}),
        ),
    )
        .into_response()
}

fn client(url: &str) -> GitHubClient {
    GitHubClient::new(
        url,
        1001,
        SecretString::from(PRIVATE),
        ClientOptions {
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_rate_limit_wait: Duration::from_secs(5),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

fn repo() -> RepoName {
    RepoName::parse("acme/gitops").unwrap()
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

fn pull_json(n: u64) -> Value {
    json!({"number": n, "state": "open", "base": {"sha": "a".repeat(40)}, "head": {"sha": "b".repeat(40)}})
}

/// The common routes: tokens, the App, one pull request.
fn basics(s: &Seen) -> Option<Response> {
    match (s.method.as_str(), s.path.as_str()) {
        ("POST", "/app/installations/7/access_tokens") => Some(token_answer(3600)),
        ("GET", "/app") => Some(ok(json!({"id": 1001, "slug": "warden"}))),
        ("GET", "/repos/acme/gitops/pulls/1") => Some(ok(pull_json(1))),
        ("GET", p) if p.ends_with("/check-runs") => {
            // One run left in progress on the `f…` commit.
            let runs = if p.contains(&"f".repeat(40)) {
                json!([{"id": 55}])
            } else {
                json!([])
            };
            Some(ok(
                json!({"total_count": runs.as_array().map_or(0, Vec::len), "check_runs": runs}),
            ))
        }
        _ => None,
    }
}

fn auth(s: &Seen) -> String {
    s.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn one_token_serves_many_requests_and_the_jwt_has_githubs_claims() {
    let (url, mock) =
        serve(|s, _| basics(s).unwrap_or_else(|| status(404, json!({"message": "Not Found"}))))
            .await;
    let c = Arc::new(client(&url));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.pull_request(INST, &repo(), PrNumber(1)).await
        }));
    }
    for t in tasks {
        let heads = t.await.unwrap().unwrap();
        assert_eq!(heads.head, sha('b'));
        assert!(heads.open);
    }
    assert_eq!(mock.count("POST", "/app/installations/7/access_tokens"), 1);
    let token_req = mock
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("access_tokens"))
        .unwrap();
    let jwt = auth(&token_req)
        .strip_prefix("Bearer ")
        .unwrap()
        .to_string();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.required_spec_claims.clear();
    let claims: Value = jsonwebtoken::decode(
        &jwt,
        &jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["iss"], "1001");
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert!(iat <= now_unix() - 59 && exp - iat <= 600, "{claims}");
    // Installation requests carry the token, with GitHub's media type and API version.
    let pull = mock
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("/pulls/1"))
        .unwrap();
    assert_eq!(auth(&pull), "Bearer ghs_testtoken");
    assert_eq!(pull.headers["accept"], "application/vnd.github+json");
    assert_eq!(pull.headers["x-github-api-version"], "2022-11-28");
}

#[tokio::test]
async fn a_token_inside_its_last_five_minutes_is_replaced() {
    let (url, mock) = serve(|s, _| match s.path.as_str() {
        "/app/installations/7/access_tokens" => token_answer(200),
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    c.pull_request(INST, &repo(), PrNumber(1)).await.unwrap();
    c.pull_request(INST, &repo(), PrNumber(1)).await.unwrap();
    assert_eq!(mock.count("POST", "/app/installations/7/access_tokens"), 2);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let (url, mock) = serve(|s, n| match s.path.as_str() {
        "/repos/acme/gitops/pulls/1" if n == 1 => {
            status(401, json!({"message": "Bad credentials"}))
        }
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    c.pull_request(INST, &repo(), PrNumber(1)).await.unwrap();
    assert_eq!(mock.count("POST", "/app/installations/7/access_tokens"), 2);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let (url, mock) = serve(|s, n| match s.path.as_str() {
        "/repos/acme/gitops/pulls/1" if n <= 2 => status(502, json!({"message": "Bad gateway"})),
        "/repos/acme/gitops/pulls/2" => status(500, json!({"message": "boom"})),
        _ => basics(s).unwrap_or_else(|| status(404, json!({}))),
    })
    .await;
    let c = client(&url);
    assert!(c.pull_request(INST, &repo(), PrNumber(1)).await.is_ok());
    assert_eq!(mock.count("GET", "/repos/acme/gitops/pulls/1"), 3);
    let e = c
        .pull_request(INST, &repo(), PrNumber(2))
        .await
        .unwrap_err();
    assert!(e.transient, "{e}");
    assert!(
        e.message.contains("500") && e.message.contains("/pulls/2"),
        "{e}"
    );
    assert_eq!(mock.count("GET", "/repos/acme/gitops/pulls/2"), 5);
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_github_says() {
    let (url, mock) = serve(|s, n| match s.path.as_str() {
        "/repos/acme/gitops/pulls/1" if n == 1 => (
            StatusCode::FORBIDDEN,
            [("retry-after", "1")],
            axum::Json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
            .into_response(),
        "/repos/acme/gitops/pulls/3" if n == 1 => (
            StatusCode::FORBIDDEN,
            [
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", (now_unix() + 1).to_string()),
            ],
            axum::Json(json!({"message": "API rate limit exceeded for installation ID 7."})),
        )
            .into_response(),
        "/repos/acme/gitops/pulls/3" => ok(pull_json(3)),
        "/repos/acme/gitops/pulls/4" => (
            StatusCode::FORBIDDEN,
            [("retry-after", "3600")],
            axum::Json(json!({"message": "secondary rate limit"})),
        )
            .into_response(),
        "/repos/acme/gitops/pulls/5" => status(
            403,
            json!({"message": "Resource not accessible by integration"}),
        ),
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    let t = Instant::now();
    c.pull_request(INST, &repo(), PrNumber(1)).await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    let t = Instant::now();
    c.pull_request(INST, &repo(), PrNumber(3)).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    // A wait longer than the client takes is a transient failure at once, not an hour's sleep.
    let t = Instant::now();
    let e = c
        .pull_request(INST, &repo(), PrNumber(4))
        .await
        .unwrap_err();
    assert!(e.transient && t.elapsed() < Duration::from_secs(2), "{e}");
    // A permission 403 is neither retried nor transient.
    let e = c
        .pull_request(INST, &repo(), PrNumber(5))
        .await
        .unwrap_err();
    assert!(!e.transient && e.message.contains("not accessible"), "{e}");
    assert_eq!(mock.count("GET", "/repos/acme/gitops/pulls/5"), 1);
}

#[tokio::test]
async fn a_422_is_not_retried_and_says_what_github_said() {
    let (url, mock) = serve(|s, _| match s.path.as_str() {
        "/repos/acme/gitops/check-runs" => status(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "CheckRun", "code": "invalid", "message": "head_sha is not a commit"}], "documentation_url": "https://docs.github.com/rest"}),
        ),
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    let e = c
        .start_check_run(INST, &repo(), &sha('c'))
        .await
        .unwrap_err();
    assert!(!e.transient);
    assert!(
        e.message.contains("Validation Failed") && e.message.contains("head_sha is not a commit"),
        "{e}"
    );
    assert_eq!(mock.count("POST", "/repos/acme/gitops/check-runs"), 1);
}

#[tokio::test]
async fn lists_follow_link_headers_to_the_last_page() {
    let url_cell: Arc<Mutex<String>> = Arc::default();
    let u = url_cell.clone();
    let (url, _mock) = serve(move |s, _| match s.path.as_str() {
        "/repos/acme/gitops/pulls" => {
            let page: u64 = s
                .query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let base = u.lock().unwrap().clone();
            let items: Vec<Value> = (0..3).map(|i| pull_json(page * 10 + i)).collect();
            let mut r = ok(Value::Array(items));
            if page < 3 {
                let link = format!("<{base}/repos/acme/gitops/pulls?state=open&per_page=100&page={}>; rel=\"next\", <{base}/repos/acme/gitops/pulls?page=3>; rel=\"last\"", page + 1);
                r.headers_mut().insert("link", link.parse().unwrap());
            }
            r
        }
        _ => basics(s).unwrap(),
    })
    .await;
    *url_cell.lock().unwrap() = url.clone();
    let c = client(&url);
    let pulls = c.open_pulls(INST, &repo()).await.unwrap();
    let numbers: Vec<u64> = pulls.iter().map(|p| p.0.0).collect();
    assert_eq!(numbers, vec![10, 11, 12, 20, 21, 22, 30, 31, 32]);
}

#[tokio::test]
async fn an_unchanged_answer_comes_from_the_etag_cache() {
    let (url, mock) = serve(|s, _| match s.path.as_str() {
        "/repos/acme/gitops/pulls/1" => {
            if s.headers
                .get("if-none-match")
                .is_some_and(|v| v == "W/\"v1\"")
            {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                let mut r = ok(pull_json(1));
                r.headers_mut().insert("etag", "W/\"v1\"".parse().unwrap());
                r
            }
        }
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    let a = c.pull_request(INST, &repo(), PrNumber(1)).await.unwrap();
    let b = c.pull_request(INST, &repo(), PrNumber(1)).await.unwrap();
    assert_eq!(a, b);
    let gets: Vec<Seen> = mock
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/pulls/1"))
        .collect();
    assert_eq!(gets.len(), 2);
    assert!(gets[0].headers.get("if-none-match").is_none());
    assert_eq!(gets[1].headers["if-none-match"], "W/\"v1\"");
}

fn tarball(top: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (p, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("{top}/{p}"), *bytes).unwrap();
    }
    let mut gz = b.into_inner().unwrap();
    gz.flush().unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn tarballs_follow_the_redirect_without_the_token_and_are_cached() {
    let body = tarball(
        "acme-gitops-ccccccc",
        &[
            ("base/kustomization.yaml", b"resources: []\n"),
            ("README.md", b"hi\n"),
        ],
    );
    let (codeload, cl) = serve(move |_, _| (StatusCode::OK, body.clone()).into_response()).await;
    let (url, mock) = serve(move |s, _| match s.path.as_str() {
        p if p.starts_with("/repos/acme/gitops/tarball/") => (
            StatusCode::FOUND,
            [(
                "location",
                format!(
                    "{codeload}/acme/gitops/legacy.tar.gz/{}?token=short-lived",
                    "c".repeat(40)
                ),
            )],
        )
            .into_response(),
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    let snap = c.snapshot(INST, &repo(), &sha('c')).await.unwrap();
    assert_eq!(snap.files(), ["README.md", "base/kustomization.yaml"]);
    let again = c.snapshot(INST, &repo(), &sha('c')).await.unwrap();
    assert!(Arc::ptr_eq(&snap, &again));
    assert_eq!(
        mock.count(
            "GET",
            &format!("/repos/acme/gitops/tarball/{}", "c".repeat(40))
        ),
        1
    );
    let downloads = cl.seen();
    assert_eq!(downloads.len(), 1);
    assert!(
        downloads[0].headers.get("authorization").is_none(),
        "the token went to codeload"
    );
    assert_eq!(downloads[0].query, "token=short-lived");
}

#[tokio::test]
async fn the_sticky_comment_is_the_bots_own_and_is_edited_in_place() {
    let (url, mock) = serve(|s, _| match (s.method.as_str(), s.path.as_str()) {
        ("GET", "/repos/acme/gitops/issues/1/comments") => ok(json!([
            {"id": 11, "user": {"login": "alice", "type": "User"}, "body": "<!-- warden -->\nquoted by a user"},
            {"id": 12, "user": {"login": "warden[bot]", "type": "Bot"}, "body": "<!-- warden -->\nold"},
        ])),
        ("GET", "/repos/acme/gitops/issues/2/comments") => ok(json!([
            {"id": 21, "user": {"login": "alice", "type": "User"}, "body": "<!-- warden -->\nnot the bot"},
        ])),
        ("PATCH", "/repos/acme/gitops/issues/comments/12") => ok(json!({"id": 12})),
        ("POST", "/repos/acme/gitops/issues/2/comments") => status(201, json!({"id": 22})),
        _ => basics(s).unwrap_or_else(|| status(404, json!({}))),
    })
    .await;
    let c = client(&url);
    c.upsert_comment(
        INST,
        &repo(),
        PrNumber(1),
        "<!-- warden -->",
        "<!-- warden -->\nnew",
    )
    .await
    .unwrap();
    c.upsert_comment(
        INST,
        &repo(),
        PrNumber(2),
        "<!-- warden -->",
        "<!-- warden -->\nnew",
    )
    .await
    .unwrap();
    // Unchanged: no request at all.
    c.upsert_comment(
        INST,
        &repo(),
        PrNumber(1),
        "<!-- warden -->",
        "<!-- warden -->\nold",
    )
    .await
    .unwrap();
    assert_eq!(
        mock.count("PATCH", "/repos/acme/gitops/issues/comments/12"),
        1
    );
    assert_eq!(
        mock.count("PATCH", "/repos/acme/gitops/issues/comments/11"),
        0
    );
    assert_eq!(
        mock.count("POST", "/repos/acme/gitops/issues/2/comments"),
        1
    );
    assert_eq!(mock.count("GET", "/app"), 1, "the slug is fetched once");
    assert_documented(&mock);
}

#[tokio::test]
async fn annotations_go_fifty_per_request() {
    let (url, mock) = serve(|s, _| match (s.method.as_str(), s.path.as_str()) {
        ("POST", "/repos/acme/gitops/check-runs") => status(201, json!({"id": 99})),
        ("PATCH", "/repos/acme/gitops/check-runs/99") => {
            let n = s
                .body
                .as_ref()
                .and_then(|b| b["output"]["annotations"].as_array().map(Vec::len))
                .unwrap_or(0);
            if n > 50 {
                status(
                    422,
                    json!({"message": "Only 50 annotations are allowed per request"}),
                )
            } else {
                ok(json!({"id": 99}))
            }
        }
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    let id = c
        .start_check_run(INST, &repo(), &sha('d'))
        .await
        .unwrap()
        .id;
    assert_eq!(id, CheckRunId(99));
    // A run a killed process left in progress is taken over, not duplicated.
    assert_eq!(
        c.start_check_run(INST, &repo(), &sha('f'))
            .await
            .unwrap()
            .id,
        CheckRunId(55)
    );
    assert_eq!(mock.count("POST", "/repos/acme/gitops/check-runs"), 1);
    let q = mock
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with(&format!("{}/check-runs", "f".repeat(40))))
        .unwrap()
        .query;
    assert!(
        q.contains("status=in_progress") && q.contains("app_id=1001"),
        "{q}"
    );
    let annotations: Vec<Annotation> = (0..120)
        .map(|i| Annotation {
            path: format!("overlays/f{i}.yaml"),
            start_line: i + 1,
            end_line: i + 1,
            annotation_level: Level::Failure,
            message: "bad".into(),
            title: Some("rule".into()),
            raw_details: None,
        })
        .collect();
    let output = CheckRunOutput {
        title: "1 error".into(),
        summary: "s".repeat(70_000),
        text: "t".into(),
    };
    c.complete_check_run(
        INST,
        &repo(),
        id,
        Conclusion::Failure,
        &output,
        &annotations,
    )
    .await
    .unwrap();
    let patches: Vec<Value> = mock
        .seen()
        .into_iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.body.unwrap())
        .collect();
    let sizes: Vec<usize> = patches
        .iter()
        .map(|p| p["output"]["annotations"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    assert_eq!(patches[0]["conclusion"], "failure");
    assert_eq!(patches[0]["status"], "completed");
    assert_eq!(
        patches[0]["output"]["summary"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        65_535
    );
    assert_documented(&mock);
}

#[tokio::test]
async fn inventory_reads_installations_repositories_runs_and_deliveries() {
    let (url, mock) = serve(|s, _| match (s.method.as_str(), s.path.as_str()) {
        ("GET", "/app/installations") => ok(json!([{"id": 7}, {"id": 8}])),
        ("GET", "/installation/repositories") => ok(json!({"total_count": 1, "repositories": [{"full_name": "acme/gitops"}]})),
        ("GET", p) if p.ends_with(&format!("{}/check-runs", "e".repeat(40))) => ok(json!({"total_count": 1, "check_runs": []})),
        ("GET", "/app/hook/deliveries") => ok(json!([
            {"id": 5, "guid": "g-1", "delivered_at": "2026-12-01T10:00:00Z", "status_code": 502, "event": "pull_request"}
        ])),
        ("POST", "/app/hook/deliveries/5/attempts") => status(202, json!({})),
        _ => basics(s).unwrap(),
    })
    .await;
    let c = client(&url);
    assert_eq!(
        c.installations().await.unwrap(),
        vec![InstallationId(7), InstallationId(8)]
    );
    assert_eq!(c.repositories(INST).await.unwrap(), vec![repo()]);
    assert!(c.has_check_run(INST, &repo(), &sha('e')).await.unwrap());
    let runs_query = mock
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("/check-runs"))
        .unwrap()
        .query;
    assert!(
        runs_query.contains("check_name=warden") && runs_query.contains("app_id=1001"),
        "{runs_query}"
    );
    let d = c.deliveries().await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].id, d[0].status_code, d[0].guid.as_str()),
        (5, 502, "g-1")
    );
    assert_eq!(d[0].delivered_at_ms, 1_796_119_200_000);
    c.redeliver(5).await.unwrap();
    assert_eq!(mock.count("POST", "/app/hook/deliveries/5/attempts"), 1);
    // A malformed answer is an error naming the field, not a panic.
    let (bad_url, _) = serve(|s, _| match s.path.as_str() {
        "/app/installations" => ok(json!([{"id": "seven"}])),
        _ => basics(s).unwrap(),
    })
    .await;
    let e = client(&bad_url).installations().await.unwrap_err();
    assert!(e.message.contains("`id`"), "{e}");
}

/// Every request body the client sent is as GitHub documents it.
fn assert_documented(mock: &Mock) {
    let spec = openapi::Spec::load();
    for s in mock.seen() {
        let op = spec
            .find(&s.method, &s.path)
            .unwrap_or_else(|| panic!("{} {} is not a documented operation", s.method, s.path));
        let errors = op.check_request(s.body.as_ref());
        assert!(errors.is_empty(), "{} {}: {errors:?}", s.method, s.path);
    }
}

#[tokio::test]
async fn a_304_without_a_link_header_does_not_end_a_list() {
    let url_cell: Arc<Mutex<String>> = Arc::default();
    let u = url_cell.clone();
    let (url, mock) = serve(move |s, _| match s.path.as_str() {
        "/repos/acme/gitops/pulls" => {
            let page: u64 = s
                .query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let etag = format!("W/\"p{page}\"");
            if s.headers.get("if-none-match").is_some_and(|v| v == etag.as_str()) {
                // As bare as GitHub may send it: no Link.
                return StatusCode::NOT_MODIFIED.into_response();
            }
            let mut r = ok(Value::Array(vec![pull_json(page)]));
            r.headers_mut().insert("etag", etag.parse().unwrap());
            if page == 1 {
                let base = u.lock().unwrap().clone();
                r.headers_mut().insert(
                    "link",
                    format!("<{base}/repos/acme/gitops/pulls?state=open&per_page=100&page=2>; rel=\"next\"").parse().unwrap(),
                );
            }
            r
        }
        _ => basics(s).unwrap(),
    })
    .await;
    *url_cell.lock().unwrap() = url.clone();
    let c = client(&url);
    let first = c.open_pulls(INST, &repo()).await.unwrap();
    let again = c.open_pulls(INST, &repo()).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(again, first);
    assert_eq!(mock.count("GET", "/repos/acme/gitops/pulls"), 4);
}
