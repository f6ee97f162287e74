//! The `crds:` and `openapi:` cases under `tests/data/crds` (written by its
//! `gen.py`, with what `kubectl kustomize` printed): each must render to the same
//! documents with equal values, or fail where kubectl fails.

use std::path::{Path, PathBuf};
use warden::kustomize::{self, fs::DiskFs};
use warden::yaml;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join("crds")
}

fn values(text: &str, what: &str) -> Vec<serde_json::Value> {
    yaml::parse_stream(text, &Default::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn crds_and_openapi_cases_agree_with_kubectl() {
    let root = data_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("test data missing at {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "expected at least 15 cases in {}, found {}",
        root.display(),
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let run = std::fs::read_to_string(case.join("run"))
            .unwrap_or_else(|e| panic!("{name}: run file: {e}"));
        let dir = kustomize::fs::clean(&case.join("in").join(run.trim()));
        let got = kustomize::build(&DiskFs, &dir, &Default::default());
        let expected = std::fs::read_to_string(case.join("expected.yaml")).ok();
        let error = case.join("error").is_file();
        match (got, expected) {
            (Ok(r), Some(exp)) => {
                let want = values(&exp, &name);
                let have = values(&r.to_yaml(), &name);
                if want != have {
                    failures.push(format!(
                        "{name}: output differs\n--- want\n{exp}\n--- got\n{}",
                        r.to_yaml()
                    ));
                }
            }
            (Err(_), None) if error => {}
            (Ok(r), None) => failures.push(format!(
                "{name}: kubectl fails but Warden rendered:\n{}",
                r.to_yaml()
            )),
            (Err(e), _) => failures.push(format!("{name}: Warden failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
