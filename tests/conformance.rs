//! The shared Kustomize conformance corpora (cases from kustomize's own test suite and generated
//! cases, each with what `kubectl kustomize` printed), rendered in-process.
//!
//! Each case must render to the same documents in the same order with equal values, or fail
//! where kubectl fails. Byte-identical output is counted and held to a floor too.

use std::path::{Path, PathBuf};
use warden::kustomize::{self, BuildOptions, fs::DiskFs};
use warden::yaml;

struct Score {
    ok_cases: usize,
    equal: usize,
    identical: usize,
    err_cases: usize,
    errors_agreed: usize,
    failures: Vec<String>,
}

fn corpus(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join("conformance")
        .join(name);
    assert!(
        p.is_dir(),
        "the shared conformance corpus is missing at {}",
        p.display()
    );
    p
}

fn score(dir: &Path) -> Score {
    let mut s = Score {
        ok_cases: 0,
        equal: 0,
        identical: 0,
        err_cases: 0,
        errors_agreed: 0,
        failures: Vec::new(),
    };
    let mut cases: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let run = std::fs::read_to_string(case.join("run")).unwrap();
        let build_dir = std::path::absolute(case.join("in").join(run.trim())).unwrap();
        let expected = std::fs::read_to_string(case.join("expected.yaml")).ok();
        let got = kustomize::build(&DiskFs, &build_dir, &BuildOptions::default());
        match (expected, got) {
            (None, Err(_)) => {
                s.err_cases += 1;
                s.errors_agreed += 1;
            }
            (None, Ok(_)) => {
                s.err_cases += 1;
                s.failures
                    .push(format!("{name}: kubectl errors, warden succeeded"));
            }
            (Some(_), Err(e)) => {
                s.ok_cases += 1;
                s.failures.push(format!("{name}: warden error: {e}"));
            }
            (Some(exp), Ok(r)) => {
                s.ok_cases += 1;
                let out = r.to_yaml();
                let lim = yaml::Limits::default();
                let a: Vec<_> = yaml::parse_stream(&out, &lim)
                    .map(|d| d.into_iter().map(|d| d.value).collect())
                    .unwrap_or_default();
                let b: Vec<_> = yaml::parse_stream(&exp, &lim)
                    .map(|d| d.into_iter().map(|d| d.value).collect())
                    .unwrap_or_default();
                if a == b && !b.is_empty() || out == exp {
                    s.equal += 1;
                    if out == exp {
                        s.identical += 1;
                    }
                } else {
                    s.failures.push(format!("{name}: output differs"));
                }
            }
        }
    }
    s
}

fn report(name: &str, s: &Score) {
    // Every semantically equal render is also byte-identical to kubectl's.
    assert_eq!(
        s.identical, s.equal,
        "{name}: some equal renders are not byte-identical"
    );
    eprintln!(
        "{name}: {}/{} equal ({} byte-identical), {}/{} errors agreed",
        s.equal, s.ok_cases, s.identical, s.err_cases, s.errors_agreed
    );
    for f in &s.failures {
        eprintln!("  FAIL {f}");
    }
}

#[test]
fn krusty_cases_agree_with_kubectl() {
    let s = score(&corpus("krusty"));
    report("krusty", &s);
    assert!(s.ok_cases + s.err_cases >= 97, "corpus incomplete");
    assert!(s.failures.is_empty(), "{} failures", s.failures.len());
}

#[test]
fn random_cases_agree_with_kubectl() {
    let s = score(&corpus("random"));
    report("random", &s);
    assert!(s.ok_cases + s.err_cases >= 300, "corpus incomplete");
    assert!(s.failures.is_empty(), "{} failures", s.failures.len());
}
