//! One pull request end to end: from the webhook to the completed check run, for a change that
//! affects 50 targets, with `warden serve` as its own process against the GitHub simulator.
//!
//! `cargo bench --bench pr_e2e [-- PRS]` starts the simulator in this process with a generated
//! config repo of 50 environments (one base of 10 Deployments and Services shared by every
//! overlay, benches/common), starts the release `warden serve` binary against it, and opens PRS
//! pull requests (default 8) one after another, each bumping every image. For each it times
//! the simulator's `pull_request` webhook to the `warden` check run being completed: Warden's
//! token request, check-run creation, both tarballs, the merge base, the config, 100 renders,
//! the checks and diffs, the check run's completion and the sticky comment. It prints the
//! p50/max and Warden's peak RSS (the child's `VmHWM`). Targets: under 1 s, under 150 MB.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use warden::demo::completed_run;

const TARGETS: usize = 50;

fn main() {
    common::run_with_arg(8, bench);
}

async fn bench(prs: usize) {
    let sim = common::sim().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = common::spawn_serve(&sim, data.path()).await;
    let inst = sim.create_installation("acme");
    let repo = sim
        .create_repo(inst, "acme/fleet", "main", true)
        .expect("repo");
    let base = common::repo(TARGETS, "1.0.0");
    let changes: Vec<(&str, Option<&[u8]>)> = base
        .iter()
        .map(|(p, b)| (p.as_str(), Some(b.as_slice())))
        .collect();
    sim.commit(repo, "main", &changes, "fleet").expect("commit");
    sim.settle().await;

    let mut times = Vec::new();
    for i in 0..prs {
        let tag = format!("1.0.{}", i + 1);
        let head_files = common::repo(TARGETS, &tag);
        let changed: Vec<(&str, Option<&[u8]>)> = head_files
            .iter()
            .filter(|(p, b)| base.get(*p) != Some(*b))
            .map(|(p, b)| (p.as_str(), Some(b.as_slice())))
            .collect();
        let branch = format!("bump-{i}");
        let head = sim.commit(repo, &branch, &changed, &tag).expect("commit");
        sim.settle().await;
        let started = Instant::now();
        sim.open_pull(repo, &branch, "main", &tag, "renovate[bot]")
            .expect("pull");
        let run = completed_run(&sim, repo, &head, Duration::from_secs(120))
            .await
            .expect("completed run");
        let took = started.elapsed();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:?}");
        times.push(took);
        println!("pr {:>2}: {:>6.0} ms", i + 1, took.as_secs_f64() * 1000.0);
    }
    let rss = common::peak_rss_mib_of(&child.id().to_string());
    let _ = child.kill();
    let _ = child.wait();
    times.sort();
    let p50 = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "webhook to completed check run, {TARGETS} affected targets, {prs} PRs: p50 {:.0} ms, max {:.0} ms (target < 1000 ms: {:.2}x of budget at p50)",
        p50.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        p50.as_secs_f64()
    );
    println!(
        "warden serve peak RSS: {rss:.1} MiB (target < 150); this process (simulator) {:.1} MiB",
        common::peak_rss_mib()
    );
    sim.shutdown().await;
}
