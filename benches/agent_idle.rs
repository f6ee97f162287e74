//! `warden-agent` as its own process: its size, its idle memory and what it costs GitHub while
//! nothing changes, and how long a new approved commit takes to reach it.
//!
//! `cargo bench --bench agent_idle [-- IDLE_SECS]` starts the simulator and Warden (signing
//! approvals) in this process with the demo config repo, then the release `warden-agent` binary
//! (print mode, 1 s interval) for the staging environment. It waits for the first deployment,
//! lets the agent idle for IDLE_SECS (default 10) passes and counts its requests that were not
//! a 304 (those cost rate limit), then pushes an image bump and times commit → Warden's approval
//! → the agent's `warden/deployed/staging` success. Targets: RSS < 20 MB, zero rate-limited
//! requests while idle.

#[path = "common/mod.rs"]
mod common;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use warden::app::serve::WardenSetup;
use warden::app::workers::WorkerOptions;
use warden::demo::{random_signer, sim_setup, start_warden};
use warden::github::ids::{RepoId, Sha};
use warden::sim::Sim;

use common::SECRET;

fn main() {
    common::run_with_arg(10u64, bench);
}

fn vm(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn deployed(sim: &Sim, repo: RepoId, sha: &Sha, within: Duration) {
    let deadline = Instant::now() + within;
    while !sim
        .statuses(repo, sha)
        .iter()
        .any(|s| s.context == "warden/deployed/staging" && s.state == "success")
    {
        assert!(Instant::now() < deadline, "{sha} was not deployed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn bench(idle_secs: u64) {
    let sim = common::sim().await;
    let data = tempfile::tempdir().expect("tempdir");
    let signer = random_signer().expect("key");
    let mut keys = tempfile::NamedTempFile::new().expect("tempfile");
    keys.write_all(signer.public_pem().as_bytes())
        .expect("keys");
    let warden = start_warden(
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind"),
        WardenSetup {
            workers: WorkerOptions {
                workers: 2,
                poll: Duration::from_millis(20),
                ..WorkerOptions::default()
            },
            ..sim_setup(&sim, data.path(), SECRET, Some(Arc::new(signer)))
        },
    )
    .await
    .expect("warden");
    sim.set_webhook_url(Some(warden.webhook_url()));
    let inst = sim.create_installation("acme");
    let repo = sim
        .create_repo(inst, "acme/gitops", "main", true)
        .expect("repo");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let main = sim
        .commit_dir(repo, "main", &demo, "Shop config")
        .expect("commit");
    let token = sim.user_token("deployer");

    let exe = env!("CARGO_BIN_EXE_warden-agent");
    let size = std::fs::metadata(exe).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut child = std::process::Command::new(exe)
        .env("WARDEN_GITHUB_API_URL", sim.url())
        .env("WARDEN_AGENT_REPO", "acme/gitops")
        .env("WARDEN_AGENT_BRANCH", "main")
        .env("WARDEN_AGENT_ENVIRONMENT", "staging")
        .env("WARDEN_AGENT_PATH", "overlays/staging")
        .env("WARDEN_AGENT_PUBLIC_KEYS", keys.path())
        .env("WARDEN_AGENT_TOKEN", &token)
        .env("WARDEN_AGENT_INTERVAL", "1s")
        .env("WARDEN_AGENT_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("warden-agent (cargo bench builds it)");
    deployed(&sim, repo, &main, Duration::from_secs(60)).await;

    let from = sim.exchanges().len();
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let idle: Vec<_> = sim.exchanges()[from..]
        .iter()
        .filter(|x| x.path.starts_with("/repos/acme/gitops"))
        .map(|x| x.status)
        .collect();
    let costly = idle.iter().filter(|s| **s != 304).count();
    let rss = vm(child.id(), "VmRSS:");
    let hwm = vm(child.id(), "VmHWM:");

    let staging = "overlays/staging/kustomization.yaml";
    let text = std::fs::read_to_string(demo.join(staging))
        .expect("demo")
        .replace("newTag: 1.5.0", "newTag: 1.5.1");
    let started = Instant::now();
    let bump = sim
        .commit(repo, "main", &[(staging, Some(text.as_bytes()))], "bump")
        .expect("commit");
    deployed(&sim, repo, &bump, Duration::from_secs(60)).await;
    let latency = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    println!("warden-agent binary: {size:.1} MiB");
    println!(
        "idle {idle_secs} s at a 1 s interval: {} requests, {costly} not a 304 (target 0)",
        idle.len()
    );
    println!("idle RSS {rss:.1} MiB, peak {hwm:.1} MiB (target < 20 MB)");
    println!(
        "commit → approval → deployed: {:.0} ms (interval 1 s)",
        latency.as_secs_f64() * 1000.0
    );
    sim.shutdown().await;
}
