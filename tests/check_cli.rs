//! `warden check` end to end: targets, affected targets with --base, places of findings,
//! suppression, configured levels, exit codes and the three output formats.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn warden(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run warden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (p, text) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn json_check(repo: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "check",
        "--repo",
        repo.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = warden(&args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v)
}

fn findings<'a>(v: &'a Value, rule: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
      - name: web
        image: ghcr.io/acme/web:1.2.3
        resources:
          requests: {cpu: 10m, memory: 32Mi}
          limits: {memory: 64Mi}
        securityContext:
          allowPrivilegeEscalation: false
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
        livenessProbe:
          httpGet: {path: /healthz, port: 8080}
";

fn repo_with_overlays(root: &Path) {
    write(
        root,
        &[
            ("base/kustomization.yaml", "resources:\n- deploy.yaml\n"),
            ("base/deploy.yaml", DEPLOY),
            (
                "overlays/staging/kustomization.yaml",
                "namespace: web-staging\nresources:\n- ../../base\npatches:\n- path: image.yaml\n",
            ),
            (
                "overlays/staging/image.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: ghcr.io/acme/web:latest\n",
            ),
            (
                "overlays/production/kustomization.yaml",
                "namespace: web-prod\nresources:\n- ../../base\n",
            ),
        ],
    );
}

#[test]
fn findings_point_at_the_patch_line_and_levels_come_from_config() {
    let d = tempfile::tempdir().unwrap();
    repo_with_overlays(d.path());
    let (code, v) = json_check(d.path(), &[]);
    let targets: Vec<&str> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["dir"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["overlays/production", "overlays/staging"]);
    let tags = findings(&v, "image-tag-mutable");
    assert_eq!(tags.len(), 1, "{v:#}");
    let f = tags[0];
    assert_eq!(f["file"], "overlays/staging/image.yaml");
    assert_eq!(f["line"], 10);
    assert_eq!(f["target"], "overlays/staging");
    assert_eq!(f["environment"], "staging");
    assert_eq!(f["resource"]["kind"], "Deployment");
    assert_eq!(f["resource"]["namespace"], "web-staging");
    assert_eq!(f["severity"], "warning");
    // Only warnings and infos: success.
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["errors"], 0);

    // The repo config makes it an error in staging only.
    write(
        d.path(),
        &[(
            ".github/warden.yml",
            "version: 1\nenvironments:\n  staging:\n    paths: [overlays/staging]\n    rules:\n      image-tag-mutable: error\n  production:\n    paths: [overlays/production]\n",
        )],
    );
    let (code, v) = json_check(d.path(), &[]);
    assert_eq!(code, 1);
    let f = findings(&v, "image-tag-mutable");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "error");

    // --env narrows the targets.
    let (code, v) = json_check(d.path(), &["--env", "production"]);
    assert_eq!(code, 0);
    assert_eq!(v["targets"].as_array().unwrap().len(), 1);

    // A bad config is an error naming the file and line.
    write(
        d.path(),
        &[(".github/warden.yml", "version: 1\nrulez: {}\n")],
    );
    let (code, v) = json_check(d.path(), &[]);
    assert_eq!(code, 1);
    let f = findings(&v, "config-invalid");
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["file"], ".github/warden.yml");
    assert_eq!(f[0]["line"], 2);
}

#[test]
fn suppressed_findings_are_counted_but_never_fail() {
    let d = tempfile::tempdir().unwrap();
    let privileged = DEPLOY.replace(
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: false\n          privileged: true",
    );
    write(
        d.path(),
        &[
            (
                "app/kustomization.yaml",
                "namespace: a\nresources:\n- deploy.yaml\n",
            ),
            ("app/deploy.yaml", &privileged),
        ],
    );
    let (code, v) = json_check(d.path(), &[]);
    assert_eq!(code, 1, "{v:#}");
    let f = findings(&v, "security-privileged");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["file"], "app/deploy.yaml");
    assert_eq!(f[0]["line"], 23);

    let annotated = privileged.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    warden.dev/ignore: security-privileged\n",
    );
    write(d.path(), &[("app/deploy.yaml", &annotated)]);
    let (code, v) = json_check(d.path(), &[]);
    assert_eq!(code, 0, "{v:#}");
    let f = findings(&v, "security-privileged");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["suppressed"], true);
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["summary"]["errors"], 0);
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn base_selects_the_targets_whose_inputs_changed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    repo_with_overlays(p);
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "init"]);
    git(p, &["checkout", "-qb", "change"]);
    let checked = |v: &Value| -> Vec<String> {
        v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["affected"] == true)
            .map(|t| t["dir"].as_str().unwrap().to_string())
            .collect()
    };

    // Nothing changed: nothing checked.
    let (code, v) = json_check(p, &["--base", "main"]);
    assert_eq!(code, 0);
    assert!(checked(&v).is_empty(), "{v:#}");

    // A working-tree change to the staging patch: staging only.
    write(
        p,
        &[(
            "overlays/staging/image.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: ghcr.io/acme/web:1.2.4\n",
        )],
    );
    let (_, v) = json_check(p, &["--base", "main"]);
    assert_eq!(checked(&v), ["overlays/staging"]);
    assert!(findings(&v, "image-tag-mutable").is_empty());

    // A committed change to the base: both overlays.
    git(p, &["commit", "-qam", "staging"]);
    write(
        p,
        &[(
            "base/deploy.yaml",
            &DEPLOY.replace("replicas: 1", "replicas: 2"),
        )],
    );
    git(p, &["commit", "-qam", "base"]);
    let (_, v) = json_check(p, &["--base", "main", "--head", "HEAD"]);
    assert_eq!(checked(&v), ["overlays/production", "overlays/staging"]);

    // --head reads the commit, not the working tree: a broken working tree is not seen.
    write(p, &[("base/deploy.yaml", "kind: [\n")]);
    let (code, v) = json_check(p, &["--base", "main", "--head", "HEAD"]);
    assert!(findings(&v, "render-error").is_empty(), "{v:#}");
    assert_eq!(code, 0);
    // The working tree is.
    let (code, v) = json_check(p, &["--base", "main"]);
    assert_eq!(code, 1);
    let errors = findings(&v, "render-error");
    assert_eq!(errors.len(), 2);
    // At the broken file and the line the parser stopped at, not just the overlay.
    assert_eq!(errors[0]["file"], "base/deploy.yaml", "{v:#}");
    assert!(errors[0]["line"].as_u64().unwrap() > 0, "{v:#}");

    // A revision git does not know is a usage error.
    let (code, _, err) = warden(&["check", "--repo", p.to_str().unwrap(), "--base", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn text_output_groups_by_file_and_ends_with_a_summary() {
    let d = tempfile::tempdir().unwrap();
    repo_with_overlays(d.path());
    let (code, out, _) = warden(&["check", "--repo", d.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("overlays/staging/image.yaml\n"), "{out}");
    assert!(out.contains("image-tag-mutable"), "{out}");
    assert!(!out.contains("\x1b["), "no colors when NO_COLOR is set");
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("0 errors, "), "{out}");
}
