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

/// The webhook secret the benchmarks' simulator signs with.
pub const SECRET: &str = "bench-secret";

/// Run `f` on a multi-threaded runtime with the first non-flag argument (or `default`).
pub fn run_with_arg<T, F, Fut>(default: T, f: F)
where
    T: std::str::FromStr,
    F: FnOnce(T) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let arg = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(default);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f(arg));
}

/// The simulator, as the demo App's GitHub.
pub async fn sim() -> warden::sim::Sim {
    warden::demo::start_sim(SECRET).await.expect("sim")
}

/// Start the release `warden serve` binary against `sim`, state in `data`, and point the
/// simulator's webhooks at it once it listens.
pub async fn spawn_serve(sim: &warden::sim::Sim, data: &std::path::Path) -> std::process::Child {
    use std::time::{Duration, Instant};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let key =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/app-private.pem");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("serve")
        .env("WARDEN_APP_ID", warden::demo::DEMO_APP_ID.to_string())
        .env("WARDEN_PRIVATE_KEY_PATH", &key)
        .env("WARDEN_WEBHOOK_SECRET", SECRET)
        .env("WARDEN_GITHUB_API_URL", sim.url())
        .env("WARDEN_LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("warden serve (cargo bench builds it)");
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "warden serve did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.set_webhook_url(Some(format!("http://127.0.0.1:{port}/webhook")));
    child
}
