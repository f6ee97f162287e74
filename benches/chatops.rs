//! ChatOps latency: from a `/warden` comment's webhook to Warden's 👀 reaction, and to its
//! reply, with `warden serve` as its own process against the GitHub simulator (default
//! latency).
//!
//! `cargo bench --bench chatops [-- N]` loads the demo config repo, opens a pull request, then
//! posts N comments (default 60), alternating `/warden help` and `/warden explain
//! probe-readiness-missing` (which reviews the pull request to list the rule's findings), one
//! after another. It prints p50/p99/max of webhook → 👀 and webhook → reply (the final
//! reaction, which Warden adds after the reply). Targets: 👀 p99 < 100 ms, reply p99 < 1 s.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use warden::demo::completed_run;

fn main() {
    common::run_with_arg(60, bench);
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn bench(n: usize) {
    let sim = common::sim().await;
    let data = tempfile::tempdir().expect("tempdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = common::spawn_serve(&sim, data.path()).await;
    let inst = sim.create_installation("acme");
    let repo = sim
        .create_repo(inst, "acme/gitops", "main", true)
        .expect("repo");
    let demo = root.join("fixtures/demo");
    sim.commit_dir(repo, "main", &demo, "config")
        .expect("commit");
    let path = "overlays/staging/kustomization.yaml";
    let text = std::fs::read_to_string(demo.join(path))
        .expect("demo")
        .replace("newTag: 1.5.0", "newTag: 1.5.1");
    let head = sim
        .commit(repo, "bump", &[(path, Some(text.as_bytes()))], "bump")
        .expect("commit");
    let pr = sim
        .open_pull(repo, "bump", "main", "Bump staging", "dev")
        .expect("pull");
    completed_run(&sim, repo, &head, Duration::from_secs(120))
        .await
        .expect("checked");
    sim.set_permission(repo, "reader", "read");
    sim.settle().await;

    let (mut eyes, mut replies) = (Vec::new(), Vec::new());
    let mut help = (Vec::new(), Vec::new());
    for i in 0..n {
        let body = if i % 2 == 0 {
            "/warden help"
        } else {
            "/warden explain probe-readiness-missing"
        };
        let started = Instant::now();
        let c = sim.comment(repo, pr, "reader", body);
        let mut seen_eyes = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        let done = loop {
            let r = sim.reactions(c);
            if seen_eyes.is_none() && r.iter().any(|(_, x)| x == "eyes") {
                seen_eyes = Some(started.elapsed());
            }
            if r.iter().any(|(_, x)| x != "eyes") {
                assert!(
                    r.iter().any(|(_, x)| x == "+1"),
                    "comment {i} was not answered with +1: {r:?}"
                );
                break started.elapsed();
            }
            assert!(Instant::now() < deadline, "no answer to comment {i}");
            tokio::time::sleep(Duration::from_micros(500)).await;
        };
        let e = seen_eyes.unwrap_or(done);
        eyes.push(e);
        replies.push(done);
        if i % 2 == 0 {
            help.0.push(e);
            help.1.push(done);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    for v in [&mut eyes, &mut replies, &mut help.0, &mut help.1] {
        v.sort();
    }
    println!(
        "{n} comments (help and explain): webhook → 👀 p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 100 ms)",
        pct(&eyes, 0.5),
        pct(&eyes, 0.99),
        pct(&eyes, 1.0)
    );
    println!(
        "webhook → reply: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 < 1000 ms); help alone p99 {:.1} ms",
        pct(&replies, 0.5),
        pct(&replies, 0.99),
        pct(&replies, 1.0),
        pct(&help.1, 0.99)
    );
    sim.shutdown().await;
}
