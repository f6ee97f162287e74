//! Webhook acknowledgement latency under load, on loopback.
//!
//! `cargo bench --bench webhook_intake [-- RATE SECONDS]` serves Warden's routes (`POST
//! /webhook` with the SQLite store in a temporary directory, as `warden serve` runs them) and
//! sends RATE deliveries per second (default 500) for SECONDS (default 10) over 16 keep-alive
//! connections: signed `pull_request` deliveries, each with its own delivery id, a fifth of them
//! redeliveries. It prints the p50/p99/max time from the request's first byte to the response,
//! and peak RSS. The target is p99 under 5 ms at 500 deliveries/s.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::peak_rss_mib;
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use warden::app::{AppState, router};
use warden::github::webhook;
use warden::store::Store;

const SECRET: &str = "bench-secret";

async fn send(
    conn: &mut BufReader<TcpStream>,
    delivery: &str,
    body: &[u8],
    sig: &str,
) -> std::io::Result<u16> {
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    conn.get_mut().write_all(&request).await?;
    // Status line, headers, then the body by Content-Length.
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut buf = vec![0; length];
    conn.read_exact(&mut buf).await?;
    Ok(status)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let rate = args.next().unwrap_or(500);
    let seconds = args.next().unwrap_or(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = Arc::new(AppState {
        store: Arc::new(Store::open(&dir.path().join("warden.db")).expect("store")),
        webhook_secret: SecretString::from(SECRET),
        metrics: Arc::default(),
        wake: Arc::default(),
        reconcile_now: Arc::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(state)).await;
    });

    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/github/webhooks/pull_request/synchronize.payload.json"
    );
    let template: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example).expect("example payload")).expect("JSON");
    let connections = 16u64;
    let total = rate * seconds;
    let per_conn = total / connections;
    let interval = Duration::from_secs_f64(connections as f64 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let mut conn = BufReader::new(stream);
            let mut latencies = Vec::with_capacity(per_conn as usize);
            let mut statuses = [0u64; 3];
            let mut next = Instant::now() + interval.mul_f64(c as f64 / connections as f64);
            for i in 0..per_conn {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let n = c * per_conn + i;
                let mut body = template.clone();
                body["number"] = (n % 200 + 1).into();
                body["pull_request"]["number"] = (n % 200 + 1).into();
                let body = serde_json::to_vec(&body).expect("JSON");
                let sig = webhook::sign(SECRET.as_bytes(), &body);
                // Every fifth delivery repeats an earlier id: GitHub redelivers.
                let delivery = if n % 5 == 4 {
                    format!("d-{}", n - 1)
                } else {
                    format!("d-{n}")
                };
                let t = Instant::now();
                let status = send(&mut conn, &delivery, &body, &sig)
                    .await
                    .expect("request");
                latencies.push(t.elapsed());
                match status {
                    202 => statuses[0] += 1,
                    200 => statuses[1] += 1,
                    _ => statuses[2] += 1,
                }
            }
            (latencies, statuses)
        }));
    }
    let mut all = Vec::new();
    let mut statuses = [0u64; 3];
    for t in tasks {
        let (l, s) = t.await.expect("task");
        all.extend(l);
        for i in 0..3 {
            statuses[i] += s[i];
        }
    }
    let wall = start.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{} deliveries in {:.1} s ({:.0}/s): {} queued (202), {} duplicates (200), {} other",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        statuses[0],
        statuses[1],
        statuses[2]
    );
    println!(
        "acknowledgement p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; peak RSS {:.0} MiB",
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        peak_rss_mib()
    );
}
