//! Engine properties beyond output equality: origins, input closure, refusals and bounds.

use std::path::Path;
use warden::kustomize::{self, BuildOptions, fs::MemFs};

fn tree(files: &[(&str, &str)]) -> MemFs {
    let mut fs = MemFs::new();
    for (p, c) in files {
        fs.add(Path::new("/repo").join(p), c.as_bytes().to_vec());
    }
    fs
}

fn build(fs: &MemFs, dir: &str) -> Result<kustomize::Rendered, kustomize::Error> {
    kustomize::build(fs, &Path::new("/repo").join(dir), &BuildOptions::default())
}

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
";

#[test]
fn objects_keep_file_line_and_patches() {
    let fs = tree(&[
        (
            "base/kustomization.yaml",
            "resources:\n- svc.yaml\n- deploy.yaml\n",
        ),
        (
            "base/svc.yaml",
            "# comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
        ),
        ("base/deploy.yaml", DEPLOY),
        (
            "prod/kustomization.yaml",
            "resources:\n- ../base\npatches:\n- path: replicas.yaml\n",
        ),
        (
            "prod/replicas.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
        ),
    ]);
    let r = build(&fs, "prod").unwrap();
    let find = |kind: &str| {
        r.resources
            .iter()
            .find(|x| x.kind() == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    let svc = find("Service");
    assert_eq!(svc.origin.file, "../base/svc.yaml");
    assert_eq!(svc.origin.line, 2);
    assert_eq!(find("ConfigMap").origin.line, 7);
    let dep = find("Deployment");
    assert_eq!(dep.origin.file, "../base/deploy.yaml");
    assert_eq!(dep.origin.patches.len(), 1);
    assert_eq!(dep.origin.patches[0].file, "replicas.yaml");
    assert!(svc.origin.patches.is_empty());
}

#[test]
fn inputs_are_exactly_the_files_read() {
    let fs = tree(&[
        (
            "base/kustomization.yaml",
            "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: cfg\n  files:\n  - app.properties\n",
        ),
        ("base/deploy.yaml", DEPLOY),
        ("base/app.properties", "a=b\n"),
        ("base/unused.yaml", DEPLOY),
        (
            "other/kustomization.yaml",
            "resources:\n- ../base/deploy.yaml\n",
        ),
        ("prod/kustomization.yaml", "resources:\n- ../base\n"),
    ]);
    let r = build(&fs, "prod").unwrap();
    let got: Vec<String> = r
        .inputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        got,
        vec![
            "/repo/base/app.properties",
            "/repo/base/deploy.yaml",
            "/repo/base/kustomization.yaml",
            "/repo/prod/kustomization.yaml",
        ]
    );
}

#[test]
fn cycles_are_reported_not_followed() {
    let fs = tree(&[
        ("a/kustomization.yaml", "resources:\n- ../b\n"),
        ("b/kustomization.yaml", "resources:\n- ../a\n"),
    ]);
    let e = build(&fs, "a").unwrap_err().to_string();
    assert!(e.contains("cycle"), "{e}");
}

#[test]
fn remote_bases_plugins_and_helm_are_refused_with_the_field_named() {
    for (k, field) in [
        (
            "resources:\n- https://github.com/org/repo//base?ref=v1\n",
            "resources",
        ),
        (
            "resources:\n- github.com/org/repo/base?ref=main\n",
            "resources",
        ),
        (
            "helmCharts:\n- name: x\n  repo: https://charts.example\n",
            "helmCharts",
        ),
        (
            "transformers:\n- |-\n  apiVersion: example.com/v1\n  kind: Exec\n  metadata:\n    name: x\n",
            "transformers",
        ),
    ] {
        let fs = tree(&[("app/kustomization.yaml", k)]);
        let e = build(&fs, "app").unwrap_err().to_string();
        assert!(e.contains("kustomization.yaml"), "{e}");
        assert!(e.contains(field), "{field}: {e}");
    }
}

#[test]
fn files_outside_the_kustomization_are_refused() {
    let fs = tree(&[
        ("secret.yaml", DEPLOY),
        ("app/kustomization.yaml", "resources:\n- ../secret.yaml\n"),
    ]);
    let e = build(&fs, "app").unwrap_err().to_string();
    assert!(e.contains("security"), "{e}");
    assert!(e.contains("../secret.yaml"), "{e}");
}

#[test]
fn hostile_inputs_hit_limits_not_the_machine() {
    // An alias bomb in a resource file.
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n",
    );
    let mut prev = "a".to_string();
    for i in 0..12 {
        let n = format!("l{i}");
        bomb.push_str(&format!(
            "  {n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    let fs = tree(&[
        ("app/kustomization.yaml", "resources:\n- bomb.yaml\n"),
        ("app/bomb.yaml", &bomb),
    ]);
    let e = build(&fs, "app").unwrap_err().to_string();
    assert!(e.contains("bomb.yaml"), "{e}");
    assert!(e.contains("limit"), "{e}");

    // Kustomizations nested deeper than the bound.
    let mut files: Vec<(String, String)> = Vec::new();
    for i in 0..80 {
        files.push((
            format!("k{i}/kustomization.yaml"),
            format!("resources:\n- ../k{}\n", i + 1),
        ));
    }
    files.push((
        "k80/kustomization.yaml".into(),
        "resources:\n- d.yaml\n".into(),
    ));
    files.push(("k80/d.yaml".into(), DEPLOY.into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let fs = tree(&refs);
    let e = build(&fs, "k0").unwrap_err().to_string();
    assert!(e.contains("deeper"), "{e}");

    // A file over the size bound.
    let big = format!("{DEPLOY}# {}\n", "x".repeat(2 << 20));
    let fs = tree(&[
        ("app/kustomization.yaml", "resources:\n- big.yaml\n"),
        ("app/big.yaml", &big),
    ]);
    let opts = BuildOptions {
        max_file_bytes: 1 << 20,
        ..Default::default()
    };
    let e = kustomize::build(&fs, Path::new("/repo/app"), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("big.yaml") && e.contains("limit"), "{e}");
}

#[test]
fn a_missing_resource_names_the_kustomization_and_entry() {
    let fs = tree(&[("app/kustomization.yaml", "resources:\n- nope.yaml\n")]);
    let e = build(&fs, "app").unwrap_err().to_string();
    assert!(
        e.contains("kustomization.yaml") && e.contains("nope.yaml"),
        "{e}"
    );
}
