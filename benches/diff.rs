//! Time and memory of the rendered diff of two large renders.
//!
//! `cargo bench --bench diff [-- OBJECTS]` builds a base render of OBJECTS (default 10,000)
//! objects — Deployments, Services and hash-suffixed generated ConfigMaps over many namespaces —
//! and a head in which 5 % of them changed (image bumps, replica counts, env, ConfigMap data that
//! re-hashes and cascades to its Deployment, a few added and removed objects), then diffs them and
//! prints the time per run, objects per second and peak RSS.

#[path = "common/mod.rs"]
mod common;
use common::peak_rss_mib;
use std::time::Instant;

use serde_json::{Value, json};
use warden::diff::{Side, diff};
use warden::manifest::Object;

fn hash(i: usize, v: usize) -> String {
    const ALPHABET: &[u8] = b"2456789bcdfghkmt";
    let mut x = (i * 7919 + v * 104_729 + 12_345) as u64;
    (0..10)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ALPHABET[(x >> 60) as usize] as char
        })
        .collect()
}

fn as_obj(v: Value) -> Object {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("built as mappings"),
    }
}

/// A render of `n` objects; `changed(i)` says which apps differ at this side.
fn render(n: usize, head: bool) -> Vec<Object> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let ns = format!("team-{}", i % 40);
        let app = format!("app-{i}");
        // 5 % of the objects change: one app in 20 sees one kind of change.
        let touched = head && i % 20 == 7;
        let kind = i / 20 % 5;
        let tag = if touched && kind == 0 {
            "1.1.0"
        } else {
            "1.0.0"
        };
        let replicas = if touched && kind == 1 { 4 } else { 2 };
        let level = if touched && kind == 2 {
            "debug"
        } else {
            "info"
        };
        let cm_version = usize::from(touched && kind == 3);
        let cm = format!("{app}-config-{}", hash(i, cm_version));
        let skip_service = touched && kind == 4;
        out.push(as_obj(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": app}},
                "template": {
                    "metadata": {"labels": {"app": app}},
                    "spec": {
                        "containers": [
                            {"name": "main", "image": format!("ghcr.io/acme/{app}:{tag}"),
                             "env": [{"name": "LOG_LEVEL", "value": level}, {"name": "PORT", "value": "8080"}],
                             "envFrom": [{"configMapRef": {"name": cm}}],
                             "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
                             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
                            {"name": "proxy", "image": "envoyproxy/envoy:v1.31.0",
                             "ports": [{"containerPort": 15001}]}
                        ]
                    }
                }
            }
        })));
        out.push(as_obj(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": cm, "namespace": ns},
            "data": {"config.yaml": format!("app: {app}\nfeature: {}\n", if cm_version == 1 { "on" } else { "off" })},
        })));
        if !skip_service {
            out.push(as_obj(json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": app, "namespace": ns},
                "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": "http"}]},
            })));
        }
        i += 1;
    }
    out.truncate(n);
    out
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let base = render(n, false);
    let head = render(n, true);
    let (b, h) = (Side::all(&base), Side::all(&head));
    let rss_before = peak_rss_mib();
    let mut best = f64::MAX;
    let mut result = None;
    for _ in 0..5 {
        let t = Instant::now();
        let d = diff(&b, &h);
        best = best.min(t.elapsed().as_secs_f64());
        result = Some(d);
    }
    let d = result.expect("ran");
    let c = d.counts;
    println!(
        "diff of {n} vs {n} objects: {} added, {} changed, {} removed, {} cascades, classes {:?}",
        c.added,
        c.changed,
        c.removed,
        d.cascades.len(),
        d.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>()
    );
    println!(
        "best of 5: {:.1} ms ({:.0} objects/s per side); peak RSS {:.0} MiB (inputs alone {:.0} MiB)",
        best * 1000.0,
        n as f64 / best,
        peak_rss_mib(),
        rss_before
    );
}
