//! Small cases for kubectl behaviours the engine had to learn, each recorded from
//! `kubectl kustomize` by tests/regressions/record.sh. Output must be byte-identical, and a
//! case kubectl rejects must be rejected.

use std::path::Path;
use warden::kustomize::{self, BuildOptions, fs::DiskFs};

#[test]
fn regression_cases_match_kubectl_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "regression cases missing");
    let mut failures = Vec::new();
    for c in &cases {
        let run = std::fs::read_to_string(c.join("run")).unwrap();
        let dir = std::path::absolute(c.join(run.trim())).unwrap();
        let got = kustomize::build(&DiskFs, &dir, &BuildOptions::default());
        let name = c.file_name().unwrap().to_string_lossy().to_string();
        match (std::fs::read_to_string(c.join("expected.yaml")), got) {
            (Ok(exp), Ok(r)) => {
                if r.to_yaml() != exp {
                    failures.push(format!("{name}: output differs:\n{}", r.to_yaml()));
                }
            }
            (Ok(_), Err(e)) => failures.push(format!("{name}: error {e}")),
            (Err(_), Ok(_)) => failures.push(format!("{name}: kubectl fails, warden succeeded")),
            (Err(_), Err(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
