//! Time of one pull request's whole review (check with the base config, diff, reports) over a
//! generated config repo: TARGETS overlays (default 50) of one base of 20 objects, and a change
//! to the base that affects every overlay — the work `warden serve` does between fetching the
//! two trees and posting the check run.
//!
//! `cargo bench --bench review [-- TARGETS]`

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use common::{peak_rss_mib, repo};
use warden::repo::Snapshot;
use warden::review::{ReviewInput, review};

fn main() {
    let targets: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let root = Path::new("/repo");
    let base = Snapshot::from_files(root, "base", repo(targets, "1.0.0"));
    let head = Snapshot::from_files(root, "head", repo(targets, "1.0.1"));
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = review(&ReviewInput {
            base: &base,
            head: &head,
            org_config: None,
            repo_name: "acme/config",
            base_label: "base",
            head_label: "head",
            threads: 0,
            push: None,
            holds: &[],
        });
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    let r = last.expect("ran");
    let c = r.diff.counts();
    println!(
        "review of {targets} affected targets ({} objects changed, {} findings, conclusion {}): best of 3 {:.0} ms on {} threads; peak RSS {:.0} MiB",
        c.changed,
        r.check.findings.len(),
        r.conclusion.as_str(),
        best * 1000.0,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        peak_rss_mib()
    );
}
