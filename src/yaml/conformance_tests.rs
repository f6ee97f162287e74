//! Round trip of real `kubectl kustomize` output: reading it and printing it again must give
//! back the same bytes.

use std::path::{Path, PathBuf};

use super::{Limits, parse_stream, to_yaml};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance")
}

fn expected_files() -> Vec<PathBuf> {
    let root = conformance_dir();
    assert!(
        root.is_dir(),
        "missing conformance cases at {}",
        root.display()
    );
    let mut files = Vec::new();
    for suite in ["krusty", "random"] {
        let dir = root.join(suite);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries.flatten() {
            let f = entry.path().join("expected.yaml");
            if f.is_file() {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

/// Print a stream the way kubectl does: documents separated by `---` lines.
fn reprint(src: &str) -> Result<String, String> {
    let docs = parse_stream(src, &Limits::default()).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(&d.value));
    }
    Ok(out)
}

#[test]
fn kubectl_output_round_trips_byte_for_byte() {
    let files = expected_files();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap_or_default();
        match reprint(&src) {
            Ok(out) if out == src => {}
            Ok(out) => {
                let line = src
                    .lines()
                    .zip(out.lines())
                    .position(|(a, b)| a != b)
                    .map_or(src.lines().count().min(out.lines().count()), |n| n);
                let want = src.lines().nth(line).unwrap_or("<end>");
                let got = out.lines().nth(line).unwrap_or("<end>");
                failures.push(format!(
                    "{}: line {}: want {want:?} got {got:?}",
                    f.display(),
                    line + 1
                ));
            }
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    eprintln!(
        "{} of {} expected.yaml files reprint identically",
        files.len() - failures.len(),
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `testdata/golden.yaml` is kubectl's printing of `testdata/cases.json` (see `testdata/gen.sh`).
#[test]
fn tricky_scalars_print_like_kubectl() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/yaml/testdata");
    let cases = std::fs::read_to_string(dir.join("cases.json")).unwrap_or_default();
    let golden = std::fs::read_to_string(dir.join("golden.yaml")).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&cases).unwrap_or_default();
    assert!(!golden.is_empty() && value.is_object(), "testdata missing");
    let out = to_yaml(&value);
    if out != golden {
        let diff: Vec<String> = golden
            .lines()
            .zip(out.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(20)
            .map(|(i, (a, b))| format!("line {}: want {a:?}\n          got  {b:?}", i + 1))
            .collect();
        panic!(
            "output differs ({} vs {} lines):\n{}",
            golden.lines().count(),
            out.lines().count(),
            diff.join("\n")
        );
    }
    // Reading kubectl's output back and printing it again gives the same text. Known exception:
    // U+2028 inside a single-quoted scalar is a line break to go-yaml but content to YAML 1.2
    // (and to our parser).
    let docs = parse_stream(&golden, &Limits::default()).unwrap_or_default();
    assert_eq!(docs.len(), 1);
    let reprinted = to_yaml(&docs[0].value);
    let keep = |l: &&str| !l.contains(['\u{2028}']) && !l.contains("\\L");
    let want: Vec<&str> = golden.lines().filter(keep).collect();
    let got: Vec<&str> = reprinted.lines().filter(keep).collect();
    assert_eq!(got, want);
}
