//! The GitHub simulator over HTTP, held to GitHub's documented behaviour: App JWTs verified
//! (wrong key, wrong issuer, too long a lifetime refused), installation tokens that expire and
//! do not open other installations' repositories, git-backed contents and compare, tarballs
//! through a codeload redirect that needs its token, check-run limits, pagination, ETags,
//! faults, and webhooks signed as GitHub signs them, redeliverable by the deliveries API.
//! Every exchange validates against the vendored OpenAPI description.

#[path = "support/openapi.rs"]
mod openapi;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method};
use secrecy::SecretString;
use serde_json::{Value, json};
use warden::github::client::{As, ClientOptions, GitHubClient};
use warden::github::ids::{InstallationId, RepoId};
use warden::github::webhook::{self, Event};
use warden::sim::{Sim, SimOptions};

const PRIVATE: &str = include_str!("../fixtures/keys/app-private.pem");
const PUBLIC: &str = include_str!("../fixtures/keys/app-public.pem");
const OTHER: &str = include_str!("../fixtures/keys/other-private.pem");
const SECRET: &str = "sim-secret";

fn opts() -> ClientOptions {
    ClientOptions {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(10),
        max_attempts: 1,
        ..ClientOptions::default()
    }
}

fn client(sim: &Sim, key: &str) -> GitHubClient {
    GitHubClient::new(&sim.url(), 1001, SecretString::from(key), opts()).unwrap()
}

async fn sim_with(f: impl FnOnce(&mut SimOptions)) -> Sim {
    let mut o = SimOptions::new(1001, "warden", PUBLIC, SECRET);
    f(&mut o);
    Sim::start(o).await.unwrap()
}

async fn setup(sim: &Sim) -> (InstallationId, RepoId) {
    let inst = sim.create_installation("acme");
    let repo = sim.create_repo(inst, "acme/gitops", "main", true).unwrap();
    sim.commit(
        repo,
        "main",
        &[
            (
                "base/kustomization.yaml",
                Some(b"resources:\n- cm.yaml\n".as_slice()),
            ),
            (
                "base/cm.yaml",
                Some(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n".as_slice()),
            ),
        ],
        "base",
    )
    .unwrap();
    (inst, repo)
}

fn assert_documented(sim: &Sim) {
    let spec = openapi::Spec::load();
    let mut problems = Vec::new();
    for x in sim.exchanges() {
        // Requests a test makes over GitHub's limits on purpose (some limits GitHub documents
        // only in prose, such as a status description's 140 characters): an error message.
        if x.status == 422 {
            assert!(
                x.response_body
                    .as_ref()
                    .is_some_and(|b| b["message"].is_string()),
                "{} {}",
                x.method,
                x.path
            );
            continue;
        }
        let Some(op) = spec.find(&x.method, &x.path) else {
            if x.status != 404 {
                problems.push(format!("{} {} is not documented", x.method, x.path));
            }
            continue;
        };
        problems.extend(
            op.check_request(x.request_body.as_ref())
                .into_iter()
                .map(|e| format!("{} {}: {e}", x.method, x.path)),
        );
        problems.extend(
            op.check_response(x.status, x.response_body.as_ref())
                .into_iter()
                .map(|e| format!("{} {} → {}: {e}", x.method, x.path, x.status)),
        );
    }
    let short: Vec<String> = problems
        .iter()
        .map(|p| p.chars().take(300).collect())
        .collect();
    assert!(problems.is_empty(), "{}", short.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_jwts_are_verified_against_the_apps_key() {
    let sim = sim_with(|_| {}).await;
    let good = client(&sim, PRIVATE);
    let a = good
        .request(As::App, Method::GET, &good.url("/app"), None)
        .await
        .unwrap();
    assert_eq!(a.json("/app").unwrap()["slug"], "warden");
    // Another key's signature.
    let e = client(&sim, OTHER)
        .request(As::App, Method::GET, &good.url("/app"), None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    // Another App's id.
    let other_app = GitHubClient::new(&sim.url(), 77, SecretString::from(PRIVATE), opts()).unwrap();
    let e = other_app
        .request(As::App, Method::GET, &good.url("/app"), None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    // A token lasting longer than GitHub's 10 minutes, sent by hand.
    let now = warden::github::client::now_unix();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE.as_bytes()).unwrap();
    let long = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &json!({"iat": now - 60, "exp": now + 3600, "iss": "1001"}),
        &key,
    )
    .unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {long}")).unwrap(),
    );
    let a = good
        .request_raw(As::Anonymous, Method::GET, &good.url("/app"), None, &h)
        .await
        .unwrap();
    assert_eq!(a.status, 401);
    assert!(String::from_utf8_lossy(&a.body).contains("too far in the future"));
    // App endpoints refuse installation tokens and no token at all.
    let a = good
        .request_raw(
            As::Anonymous,
            Method::GET,
            &good.url("/app"),
            None,
            &HeaderMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 401);
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installation_tokens_expire_and_stay_in_their_installation() {
    let sim = sim_with(|o| o.token_ttl = Duration::from_secs(2)).await;
    let (inst, _) = setup(&sim).await;
    let other = sim.create_installation("globex");
    sim.create_repo(other, "globex/infra", "main", false)
        .unwrap();
    let c = client(&sim, PRIVATE);
    let tok = c
        .request(
            As::App,
            Method::POST,
            &c.url(&format!("/app/installations/{inst}/access_tokens")),
            None,
        )
        .await
        .unwrap()
        .json("tok")
        .unwrap();
    let token = tok["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_") && token.len() == 40, "{token}");
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("token {token}")).unwrap(),
    );
    let get = |path: &str| {
        let url = c.url(path);
        let (c, h) = (&c, &h);
        async move {
            c.request_raw(As::Anonymous, Method::GET, &url, None, h)
                .await
        }
    };
    assert_eq!(get("/repos/acme/gitops").await.unwrap().status, 200);
    // Another installation's repository does not exist for this token.
    assert_eq!(get("/repos/globex/infra").await.unwrap().status, 404);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let a = get("/repos/acme/gitops").await.unwrap();
    assert_eq!(a.status, 401);
    assert!(String::from_utf8_lossy(&a.body).contains("Bad credentials"));
    // The client renews what is about to expire on its own.
    assert!(
        c.get(As::Installation(inst), &c.url("/repos/acme/gitops"))
            .await
            .is_ok()
    );
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contents_compare_and_tarballs_come_from_git() {
    let sim = sim_with(|_| {}).await;
    let (inst, repo) = setup(&sim).await;
    let head = sim
        .commit(
            repo,
            "feature/x",
            &[
                ("base/cm.yaml", Some(b"changed\n".as_slice())),
                ("new.txt", Some(b"n\n".as_slice())),
            ],
            "change",
        )
        .unwrap();
    let main = sim.branch(repo, "main").unwrap();
    let c = client(&sim, PRIVATE);
    let who = As::Installation(inst);
    let f = c
        .get(
            who,
            &c.url("/repos/acme/gitops/contents/base/cm.yaml?ref=feature/x"),
        )
        .await
        .unwrap()
        .json("c")
        .unwrap();
    assert_eq!(f["encoding"], "base64");
    let content: String = f["content"]
        .as_str()
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(content)
            .unwrap(),
        b"changed\n"
    );
    let dir = c
        .get(who, &c.url("/repos/acme/gitops/contents/base"))
        .await
        .unwrap()
        .json("d")
        .unwrap();
    assert_eq!(dir.as_array().map(Vec::len), Some(2));
    let e = c
        .get(who, &c.url("/repos/acme/gitops/contents/missing.yaml"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    let cmp = c
        .get(
            who,
            &c.url(&format!("/repos/acme/gitops/compare/{main}...{head}")),
        )
        .await
        .unwrap()
        .json("cmp")
        .unwrap();
    assert_eq!(cmp["merge_base_commit"]["sha"], main.as_str());
    assert_eq!(
        (cmp["status"].as_str(), cmp["ahead_by"].as_u64()),
        (Some("ahead"), Some(1))
    );
    let names: Vec<&str> = cmp["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["filename"].as_str())
        .collect();
    assert_eq!(names, ["base/cm.yaml", "new.txt"]);
    // The tarball: a redirect to codeload with a token there, one top directory inside.
    let loc = c
        .redirect(who, &c.url(&format!("/repos/acme/gitops/tarball/{head}")))
        .await
        .unwrap();
    assert!(
        loc.starts_with(&sim.codeload_url()) && loc.contains("token="),
        "{loc}"
    );
    let gz = c.download(As::Anonymous, &loc, 1 << 20).await.unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let mut files = std::collections::BTreeMap::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type().is_file() {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            files.insert(e.path().unwrap().display().to_string(), s);
        }
    }
    let top = format!("acme-gitops-{}", head.short());
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        [
            format!("{top}/base/cm.yaml"),
            format!("{top}/base/kustomization.yaml"),
            format!("{top}/new.txt")
        ]
    );
    let sim_files = sim.files(repo, "feature/x").unwrap();
    assert_eq!(sim_files["base/cm.yaml"], b"changed\n");
    // Without the token codeload knows nothing.
    let bare = loc.split('?').next().unwrap();
    assert!(c.download(As::Anonymous, bare, 1 << 20).await.is_err());
    let cl = sim.codeload_requests();
    assert_eq!(cl.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 404]);
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_runs_keep_githubs_limits() {
    let sim = sim_with(|_| {}).await;
    let (inst, repo) = setup(&sim).await;
    let head = sim.branch(repo, "main").unwrap();
    let c = client(&sim, PRIVATE);
    let who = As::Installation(inst);
    let run = c
        .request(
            who,
            Method::POST,
            &c.url("/repos/acme/gitops/check-runs"),
            Some(&json!({"name": "warden", "head_sha": head.as_str(), "status": "in_progress"})),
        )
        .await
        .unwrap()
        .json("r")
        .unwrap();
    let id = run["id"].as_u64().unwrap();
    let ann = |n: usize| -> Vec<Value> {
        (0..n).map(|i| json!({"path": "a.yaml", "start_line": i + 1, "end_line": i + 1, "annotation_level": "warning", "message": "m"})).collect()
    };
    let url = c.url(&format!("/repos/acme/gitops/check-runs/{id}"));
    let e = c
        .request(
            who,
            Method::PATCH,
            &url,
            Some(&json!({"output": {"title": "t", "summary": "s", "annotations": ann(51)}})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422), "{e}");
    let e = c
        .request(
            who,
            Method::PATCH,
            &url,
            Some(&json!({"output": {"title": "t", "summary": "s".repeat(65_536)}})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    for _ in 0..2 {
        c.request(who, Method::PATCH, &url, Some(&json!({"status": "completed", "conclusion": "success", "output": {"title": "t", "summary": "s", "annotations": ann(50)}})))
            .await
            .unwrap();
    }
    let view = &sim.check_runs(repo)[0];
    assert_eq!(
        (view.status.as_str(), view.conclusion.as_deref()),
        ("completed", Some("success"))
    );
    assert_eq!(
        view.annotations.len(),
        100,
        "annotations accumulate across requests"
    );
    let listed = c
        .get(
            who,
            &c.url(&format!(
                "/repos/acme/gitops/commits/{head}/check-runs?check_name=warden&app_id=1001"
            )),
        )
        .await
        .unwrap()
        .json("l")
        .unwrap();
    assert_eq!(listed["total_count"], 1);
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_paginate_etags_save_rate_limit_and_faults_are_githubs() {
    let sim = sim_with(|_| {}).await;
    let (inst, repo) = setup(&sim).await;
    for i in 0..5 {
        sim.commit(
            repo,
            &format!("b{i}"),
            &[("f.txt", Some(format!("{i}").as_bytes()))],
            "c",
        )
        .unwrap();
        sim.open_pull(repo, &format!("b{i}"), "main", &format!("PR {i}"), "alice")
            .unwrap();
    }
    let c = client(&sim, PRIVATE);
    let who = As::Installation(inst);
    let all = c
        .list(
            who,
            &c.url("/repos/acme/gitops/pulls?state=open&per_page=2"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let pages = sim
        .exchanges()
        .iter()
        .filter(|x| x.path == "/repos/acme/gitops/pulls")
        .count();
    assert_eq!(pages, 3);
    // A conditional request answered 304 does not count against the rate limit.
    let url = c.url("/repos/acme/gitops/pulls/1");
    c.get(who, &url).await.unwrap();
    c.get(who, &url).await.unwrap();
    let xs = sim.exchanges();
    let last_two: Vec<_> = xs
        .iter()
        .filter(|x| x.path == "/repos/acme/gitops/pulls/1")
        .collect();
    assert_eq!(
        last_two.iter().map(|x| x.status).collect::<Vec<_>>(),
        [200, 304]
    );
    let remaining = |x: &warden::sim::Exchange| {
        x.response_headers
            .iter()
            .find(|(k, _)| k == "x-ratelimit-remaining")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(remaining(last_two[0]), remaining(last_two[1]));
    // Faults.
    sim.faults().fail_next(1, 503);
    let a = c
        .request_raw(who, Method::GET, &url, None, &HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(a.status, 503);
    sim.faults().secondary_rate_limit(1, 7);
    let a = c
        .request_raw(who, Method::GET, &url, None, &HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(
        (
            a.status,
            a.headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string())
        ),
        (403, Some("7".into()))
    );
    sim.faults().exhaust_primary(30);
    let a = c
        .request_raw(who, Method::GET, &url, None, &HeaderMap::new())
        .await
        .unwrap();
    assert_eq!(a.status, 403);
    assert_eq!(a.headers["x-ratelimit-remaining"], "0");
    sim.faults().restore_primary();
    assert_eq!(
        c.request_raw(who, Method::GET, &url, None, &HeaderMap::new())
            .await
            .unwrap()
            .status,
        200
    );
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_typed_and_redeliverable() {
    let got: Arc<Mutex<Vec<(String, String, Bytes)>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let g = g.clone();
        async move {
            let h = |k: &str| {
                headers
                    .get(k)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let ok = webhook::verify_signature(
                SECRET.as_bytes(),
                &body,
                Some(&h("x-hub-signature-256")),
            )
            .is_ok();
            g.lock()
                .unwrap()
                .push((h("x-github-event"), h("x-github-delivery"), body));
            if ok {
                axum::http::StatusCode::ACCEPTED
            } else {
                axum::http::StatusCode::UNAUTHORIZED
            }
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/webhook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    let sim = sim_with(|o| o.webhook_url = Some(hook)).await;
    let (_, repo) = setup(&sim).await;
    sim.commit(repo, "fix", &[("f.txt", Some(b"1".as_slice()))], "fix")
        .unwrap();
    sim.faults().drop_deliveries(1);
    let n = sim.open_pull(repo, "fix", "main", "Fix", "alice").unwrap();
    let head = sim
        .commit(repo, "fix", &[("f.txt", Some(b"2".as_slice()))], "again")
        .unwrap();
    sim.settle().await;
    let events: Vec<(String, Event)> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(e, _, b)| {
            (
                e.clone(),
                webhook::parse(e, b).unwrap_or_else(|err| panic!("{e}: {err}")),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    // installation, installation_repositories, push+suite (main), push+suite (fix), [opened dropped], push+suite+synchronize.
    assert_eq!(
        names,
        [
            "installation",
            "installation_repositories",
            "push",
            "check_suite",
            "push",
            "check_suite",
            "push",
            "check_suite",
            "pull_request"
        ]
    );
    match &events[7].1 {
        Event::CheckSuite {
            pull_requests,
            head_sha,
            ..
        } => {
            assert_eq!(pull_requests, &[n]);
            assert_eq!(head_sha, &head);
        }
        e => panic!("{e:?}"),
    }
    match &events[8].1 {
        Event::PullRequest { action, pr, .. } => {
            assert_eq!((action.as_str(), &pr.head_sha), ("synchronize", &head))
        }
        e => panic!("{e:?}"),
    }
    // The dropped `opened` is a failed delivery the API lists, and redelivery sends it again.
    let c = client(&sim, PRIVATE);
    use warden::app::reconcile::Inventory;
    let listed = c.deliveries().await.unwrap();
    let dropped = listed
        .iter()
        .find(|d| d.status_code == 0)
        .expect("a failed delivery");
    assert_eq!(dropped.event, "pull_request");
    c.redeliver(dropped.id).await.unwrap();
    sim.settle().await;
    let again = got.lock().unwrap().last().cloned().unwrap();
    assert_eq!(again.1, dropped.guid);
    assert!(
        matches!(webhook::parse(&again.0, &again.2).unwrap(), Event::PullRequest { ref action, .. } if action == "opened")
    );
    assert!(
        sim.deliveries()
            .iter()
            .any(|d| d.redelivery && d.guid == dropped.guid && d.status_code == 202)
    );
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_route_answers_as_documented() {
    let sim = sim_with(|_| {}).await;
    let (inst, repo) = setup(&sim).await;
    let head = sim
        .commit(
            repo,
            "topic/one",
            &[("new.txt", Some(b"x\n".as_slice()))],
            "topic",
        )
        .unwrap();
    let n = sim
        .open_pull(repo, "topic/one", "main", "Topic", "alice")
        .unwrap();
    sim.set_permission(repo, "alice", "maintain");
    let user_comment = sim.comment(repo, n, "alice", "/warden help");
    let c = client(&sim, PRIVATE);
    let who = As::Installation(inst);
    let get = |p: String| {
        let url = c.url(&p);
        let c = &c;
        async move { c.get(who, &url).await.unwrap().json("x").unwrap() }
    };
    let commit = get(format!("/repos/acme/gitops/commits/{head}")).await;
    assert_eq!(commit["files"][0]["filename"], "new.txt");
    let by_branch = get("/repos/acme/gitops/commits/topic%2Fone".to_string()).await;
    assert_eq!(by_branch["sha"], head.as_str());
    let files = get(format!("/repos/acme/gitops/pulls/{n}/files")).await;
    assert_eq!(files[0]["status"], "added");
    let perm = get("/repos/acme/gitops/collaborators/alice/permission".to_string()).await;
    assert_eq!(
        (perm["permission"].as_str(), perm["role_name"].as_str()),
        (Some("write"), Some("maintain"))
    );
    // Statuses: posted, listed, combined; an over-long description is refused.
    let post = |p: String, body: Value| {
        let url = c.url(&p);
        let c = &c;
        async move { c.request(who, Method::POST, &url, Some(&body)).await }
    };
    post(
        format!("/repos/acme/gitops/statuses/{head}"),
        json!({"state": "success", "context": "warden/approve/staging", "description": "ok"}),
    )
    .await
    .unwrap();
    let long = post(
        format!("/repos/acme/gitops/statuses/{head}"),
        json!({"state": "success", "context": "x", "description": "d".repeat(141)}),
    )
    .await
    .unwrap_err();
    assert_eq!(long.status(), Some(422));
    assert_eq!(
        get(format!("/repos/acme/gitops/commits/{head}/statuses"))
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        get(format!("/repos/acme/gitops/commits/{head}/status")).await["state"],
        "success"
    );
    assert_eq!(
        sim.statuses(repo, &head)[0].context,
        "warden/approve/staging"
    );
    // Reactions: 201 the first time, 200 after.
    let url = c.url(&format!(
        "/repos/acme/gitops/issues/comments/{user_comment}/reactions"
    ));
    let first = c
        .request(who, Method::POST, &url, Some(&json!({"content": "eyes"})))
        .await
        .unwrap();
    let again = c
        .request(who, Method::POST, &url, Some(&json!({"content": "eyes"})))
        .await
        .unwrap();
    assert_eq!((first.status, again.status), (201, 200));
    // The App may not edit a user's comment.
    let e = c
        .request(
            who,
            Method::PATCH,
            &c.url(&format!(
                "/repos/acme/gitops/issues/comments/{user_comment}"
            )),
            Some(&json!({"body": "x"})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    // Annotations of a run, listed.
    let run = post("/repos/acme/gitops/check-runs".to_string(), json!({"name": "warden", "head_sha": head.as_str(), "status": "completed", "conclusion": "neutral", "output": {"title": "t", "summary": "s", "annotations": [{"path": "new.txt", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}]}})).await.unwrap().json("r").unwrap();
    let anns = get(format!(
        "/repos/acme/gitops/check-runs/{}/annotations",
        run["id"]
    ))
    .await;
    assert_eq!(anns[0]["path"], "new.txt");
    assert_eq!(
        get(format!("/repos/acme/gitops/check-runs/{}", run["id"])).await["conclusion"],
        "neutral"
    );
    // A merge must name the head it was evaluated at.
    let merge_url = c.url(&format!("/repos/acme/gitops/pulls/{n}/merge"));
    let stale = c
        .request(
            who,
            Method::PUT,
            &merge_url,
            Some(&json!({"sha": "0".repeat(40), "merge_method": "squash"})),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.status(), Some(409));
    let merged = c
        .request(
            who,
            Method::PUT,
            &merge_url,
            Some(&json!({"sha": head.as_str(), "merge_method": "squash"})),
        )
        .await
        .unwrap()
        .json("m")
        .unwrap();
    assert_eq!(merged["merged"], true);
    let pr = sim.pull(repo, n).unwrap();
    assert!(pr.merged && pr.state == "closed");
    assert_eq!(sim.files(repo, "main").unwrap()["new.txt"], b"x\n");
    let app = c
        .request(As::App, Method::GET, &c.url("/app/installations"), None)
        .await
        .unwrap()
        .json("i")
        .unwrap();
    assert_eq!(app[0]["id"], inst.0);
    let repos = get("/installation/repositories".to_string()).await;
    assert_eq!(repos["repositories"][0]["full_name"], "acme/gitops");
    sim.settle().await;
    let d = sim.deliveries();
    let one = c
        .request(
            As::App,
            Method::GET,
            &c.url(&format!("/app/hook/deliveries/{}", d[0].id)),
            None,
        )
        .await
        .unwrap()
        .json("d")
        .unwrap();
    assert_eq!(one["guid"], d[0].guid.as_str());
    assert_documented(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn commit_lists_personal_tokens_anonymous_reads_and_force_pushes() {
    let sim = sim_with(|_| {}).await;
    let (inst, repo) = setup(&sim).await;
    let first = sim.branch(repo, "main").unwrap();
    let second = sim
        .commit(repo, "main", &[("a.txt", Some(b"a\n".as_slice()))], "two")
        .unwrap();
    let public = sim.create_repo(inst, "acme/open", "main", false).unwrap();
    sim.commit(public, "main", &[("x", Some(b"x".as_slice()))], "x")
        .unwrap();
    let token = sim.user_token("deployer");
    let user =
        GitHubClient::with_token(&sim.url(), Some(SecretString::from(token)), opts()).unwrap();
    let nobody = GitHubClient::with_token(&sim.url(), None, opts()).unwrap();
    // The branch's commits, newest first, a page at a time.
    let url = user.url("/repos/acme/gitops/commits?sha=main&per_page=1");
    let page = user.get(As::Token, &url).await.unwrap();
    let items = page.json("commits").unwrap();
    assert_eq!(items[0]["sha"], second.as_str());
    assert!(page.headers.contains_key("link"));
    let all = user
        .list(
            As::Token,
            &user.url("/repos/acme/gitops/commits?sha=main"),
            None,
        )
        .await
        .unwrap();
    let shas: Vec<&str> = all.iter().map(|c| c["sha"].as_str().unwrap()).collect();
    assert_eq!(shas, [second.as_str(), first.as_str()]);
    // No token: public repositories can be read, private ones do not exist, writes need auth.
    assert!(
        nobody
            .get(As::Token, &nobody.url("/repos/acme/open"))
            .await
            .is_ok()
    );
    let hidden = nobody
        .get(As::Token, &nobody.url("/repos/acme/gitops"))
        .await
        .unwrap_err();
    assert_eq!(hidden.status(), Some(404));
    let write = nobody
        .request(
            As::Token,
            Method::POST,
            &nobody.url(&format!("/repos/acme/open/statuses/{second}")),
            Some(&json!({"state": "success", "context": "x"})),
        )
        .await
        .unwrap_err();
    assert_eq!(write.status(), Some(401));
    // A force push moves the branch back, and is delivered as a push.
    let pushes = |sim: &Sim| {
        sim.deliveries()
            .iter()
            .filter(|d| d.event == "push")
            .count()
    };
    let before = pushes(&sim);
    sim.force_push(repo, "main", &first).unwrap();
    assert_eq!(sim.branch(repo, "main"), Some(first.clone()));
    sim.settle().await;
    assert_eq!(pushes(&sim), before + 1);
    assert_documented(&sim);
}
