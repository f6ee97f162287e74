//! `app::run` end to end on loopback: a signed delivery posted over TCP is acknowledged with 202
//! and its job reaches the handler; a forged one never does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden::app::workers::{JobHandler, Outcome, WorkerOptions};
use warden::github::webhook;
use warden::store::{Job, Store};

#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl JobHandler for Seen {
    async fn handle(&self, job: &Job) -> Outcome {
        self.0.lock().expect("lock").push(format!(
            "{} {}",
            job.kind,
            job.key.as_deref().unwrap_or("")
        ));
        Outcome::Done
    }
}

async fn post(
    addr: std::net::SocketAddr,
    event: &str,
    delivery: &str,
    body: &[u8],
    sig: &str,
) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "POST /webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    s.write_all(&req).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_reaches_a_worker() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let opts = WorkerOptions {
        workers: 1,
        poll: Duration::from_millis(20),
        ..WorkerOptions::default()
    };
    let server = tokio::spawn(warden::app::run(
        listener,
        Arc::new(Store::in_memory().expect("store")),
        SecretString::from("s3"),
        seen.clone(),
        opts,
    ));
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/github/webhooks/pull_request/opened.payload.json"
    ))
    .expect("example");
    let forged = post(
        addr,
        "pull_request",
        "x1",
        &body,
        &webhook::sign(b"wrong", &body),
    )
    .await;
    assert!(forged.starts_with("HTTP/1.1 401"), "{forged}");
    let ok = post(
        addr,
        "pull_request",
        "x2",
        &body,
        &webhook::sign(b"s3", &body),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 202"), "{ok}");
    for _ in 0..200 {
        if !seen.0.lock().expect("lock").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        *seen.0.lock().expect("lock"),
        ["pull_request Codertocat/Hello-World#2"]
    );
    server.abort();
}
