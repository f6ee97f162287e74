//! Shared by the benchmarks.

#![allow(dead_code)] // each benchmark uses a part

use std::collections::BTreeMap;

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_rss_mib() -> f64 {
    peak_rss_mib_of("self")
}

/// Peak resident memory of process `pid` (`self` for this one) so far, in MiB.
pub fn peak_rss_mib_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A generated config repo: `targets` overlays (`clusters/cNNN`, each an environment of
/// `.github/warden.yml`) of one base of 10 Deployments and Services and a ConfigMap generator,
/// every image at `tag`. A change of `tag` affects every target.
pub fn repo(targets: usize, tag: &str) -> BTreeMap<String, Vec<u8>> {
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
