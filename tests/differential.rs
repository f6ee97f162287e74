//! Differential cases (tests/data/differential, made by its gen.py from `kubectl kustomize`
//! v5.5.0): each case is built in-process and must give the same documents in the same order
//! with equal values, or fail where kubectl failed.
//!
//! The test prints every failing case with a one-line reason and fails if there is any.

use serde_json::Value;
use std::path::{Path, PathBuf};
use warden::kustomize::{self, BuildOptions, fs::DiskFs};
use warden::yaml::{self, Limits};

fn cases_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/differential/cases");
    assert!(
        d.is_dir(),
        "differential cases missing at {} (run tests/data/differential/gen.py)",
        d.display()
    );
    d
}

fn parse(text: &str) -> Result<Vec<Value>, String> {
    yaml::parse_stream(text, &Limits::default())
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .map_err(|e| e.to_string())
}

fn describe(v: &Value) -> String {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("?");
    let md = v.get("metadata");
    let name = md
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    match md.and_then(|m| m.get("namespace")).and_then(Value::as_str) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

fn short(v: Option<&Value>) -> String {
    let s = match v {
        None => "<absent>".to_string(),
        Some(v) => v.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// The first path where `want` and `got` differ, with both values.
fn first_difference(want: &Value, got: &Value, path: &mut String) -> String {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) if av == bv => {}
                    Some(bv) => {
                        let len = path.len();
                        path.push('.');
                        path.push_str(k);
                        let r = first_difference(av, bv, path);
                        path.truncate(len);
                        return r;
                    }
                    None => return format!("{path}.{k}: want {}, got <absent>", short(Some(av))),
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    return format!("{path}.{k}: want <absent>, got {}", short(Some(bv)));
                }
            }
            format!("{path}: equal?")
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                if av != bv {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let r = first_difference(av, bv, path);
                    path.truncate(len);
                    return r;
                }
            }
            format!("{path}: equal?")
        }
        _ => format!(
            "{path}: want {}, got {}",
            short(Some(want)),
            short(Some(got))
        ),
    }
}

/// A one-line summary of how `got` differs from `want`.
fn summarize(want: &[Value], got: &[Value]) -> String {
    if want.len() != got.len() {
        let names = |vs: &[Value]| vs.iter().map(describe).collect::<Vec<_>>();
        let (w, g) = (names(want), names(got));
        let missing: Vec<_> = w.iter().filter(|n| !g.contains(n)).collect();
        let extra: Vec<_> = g.iter().filter(|n| !w.contains(n)).collect();
        return format!(
            "{} objects, want {}; missing {missing:?}, unexpected {extra:?}",
            got.len(),
            want.len()
        );
    }
    let mut sorted_w: Vec<String> = want.iter().map(|v| v.to_string()).collect();
    let mut sorted_g: Vec<String> = got.iter().map(|v| v.to_string()).collect();
    sorted_w.sort();
    sorted_g.sort();
    if sorted_w == sorted_g {
        let order = |vs: &[Value]| vs.iter().map(describe).collect::<Vec<_>>().join(", ");
        return format!(
            "order differs: want [{}], got [{}]",
            order(want),
            order(got)
        );
    }
    for (w, g) in want.iter().zip(got) {
        if w != g {
            let mut path = String::new();
            return format!("{}: {}", describe(w), first_difference(w, g, &mut path));
        }
    }
    "equal?".into()
}

/// Build one case; None when it agrees with kubectl, else the reason.
fn check(case: &Path) -> Option<String> {
    let run = std::fs::read_to_string(case.join("run")).expect("case without a run file");
    let dir = std::path::absolute(case.join("in").join(run.trim())).unwrap();
    let got = kustomize::build(&DiskFs, &dir, &BuildOptions::default());
    match std::fs::read_to_string(case.join("expected.yaml")) {
        Err(_) => {
            let kubectl = std::fs::read_to_string(case.join("error"))
                .expect("case with neither expected.yaml nor error");
            match got {
                Err(_) => None,
                Ok(_) => Some(format!(
                    "warden renders, kubectl fails: {}",
                    kubectl.trim().lines().last().unwrap_or("").trim()
                )),
            }
        }
        Ok(expected) => {
            let r = match got {
                Err(e) => return Some(format!("warden fails: {e}")),
                Ok(r) => r,
            };
            let want = parse(&expected).expect("kubectl's output must parse");
            let out = r.to_yaml();
            let got = match parse(&out) {
                Ok(v) => v,
                Err(e) => return Some(format!("warden's output does not parse: {e}")),
            };
            (want != got).then(|| summarize(&want, &got))
        }
    }
}

#[test]
fn differential_cases_agree_with_kubectl() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 50, "only {} differential cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let r = std::panic::catch_unwind(|| check(case))
            .unwrap_or_else(|_| Some("warden panicked".to_string()));
        if let Some(reason) = r {
            failures.push(format!("{name}: {reason}"));
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    eprintln!(
        "{} of {} differential cases agree with kubectl",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} differential cases disagree with kubectl",
        failures.len()
    );
}
