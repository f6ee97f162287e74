//! Time of one pull request's whole review (check with the base config, diff, reports) over a
//! generated config repo: TARGETS overlays (default 50) of one base of 20 objects, and a change
//! to the base that affects every overlay — the work `warden serve` does between fetching the
//! two trees and posting the check run.
//!
//! `cargo bench --bench review [-- TARGETS]`

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use common::peak_rss_mib;
use warden::repo::Snapshot;
use warden::review::{ReviewInput, review};

fn repo(targets: usize, tag: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut resources = String::from("resources:\n");
    for i in 0..10 {
        resources.push_str(&format!("- app{i}.yaml\n"));
        files.insert(
            format!("base/app{i}.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: app{i}}}\n  template:\n    metadata:\n      labels: {{app: app{i}}}\n    spec:\n      containers:\n      - name: main\n        image: ghcr.io/acme/app{i}:{tag}\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n          limits: {{memory: 256Mi}}\n        readinessProbe:\n          httpGet: {{path: /ready, port: 8080}}\n        livenessProbe:\n          httpGet: {{path: /live, port: 8080}}\n        securityContext:\n          allowPrivilegeEscalation: false\n          runAsNonRoot: true\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app{i}\nspec:\n  selector: {{app: app{i}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
            )
            .into_bytes(),
        );
    }
    resources.push_str("configMapGenerator:\n- name: settings\n  literals:\n  - MODE=fast\n");
    files.insert("base/kustomization.yaml".into(), resources.into_bytes());
    let mut envs = String::from("version: 1\nenvironments:\n");
    for t in 0..targets {
        files.insert(
            format!("clusters/c{t:03}/kustomization.yaml"),
            format!("namespace: team-{t:03}\nresources:\n- ../../base\n").into_bytes(),
        );
        envs.push_str(&format!("  c{t:03}:\n    paths: [clusters/c{t:03}]\n"));
    }
    files.insert(".github/warden.yml".into(), envs.into_bytes());
    files
}

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
