//! kustomize's builtin plugin configs in `generators:`, `transformers:` and `validators:`,
//! held against what `kubectl kustomize` (v5.5.0) printed for the same trees.
//!
//! The cases live in tests/data/builtins/cases and are made by tests/data/builtins/gen.py. A case
//! with `expected.yaml` must render to equal documents in the same order; a case with `error`
//! must fail (refusals of non-builtin plugins must also name the file and field).

use std::path::{Path, PathBuf};
use warden::kustomize::{self, fs::DiskFs};
use warden::yaml;

/// Every case gen.py writes; a missing one fails the test rather than being skipped.
const CASES: &[&str] = &[
    "annotations_inline",
    "annotations_no_fieldspecs",
    "configmap_generator_plugin",
    "exec_function",
    "generator_in_transformers",
    "hash_transformer",
    "iam_policy_bad_cloud",
    "iam_policy_generator",
    "image_tag",
    "inline_and_file_order",
    "labels_custom_fieldspecs",
    "legacy_prefix_suffix",
    "missing_config_path",
    "namespace_all_service_accounts",
    "namespace_bad_subject_mode",
    "namespace_no_subjects",
    "namespace_unset_only",
    "non_builtin_plugin",
    "patch_json6902",
    "patch_strategic_merge_file",
    "patch_transformer_json",
    "prefix_inline",
    "prefix_missing_fieldspecs",
    "replacement_transformer",
    "replica_count",
    "secret_generator_plugin_merge",
    "sort_order_not_a_plugin",
    "suffix_kind_limited",
    "transformer_directory",
    "transformer_file_multi",
    "validator_modifies",
    "validator_noop",
    "value_add",
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/builtins/cases")
}

fn docs(text: &str, what: &str) -> Vec<serde_json::Value> {
    yaml::parse_stream(text, &Default::default())
        .unwrap_or_else(|e| panic!("{what}: unparseable YAML: {e}"))
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect()
}

/// Render one case; `Err` describes a disagreement with kubectl.
fn check(name: &str) -> Result<(), String> {
    let case = cases_dir().join(name);
    if !case.is_dir() {
        return Err(format!("case directory {} is missing", case.display()));
    }
    let run = std::fs::read_to_string(case.join("run")).map_err(|e| format!("run: {e}"))?;
    let dir = std::path::absolute(case.join("in").join(run.trim())).map_err(|e| e.to_string())?;
    let expected = std::fs::read_to_string(case.join("expected.yaml")).ok();
    if expected.is_none() && !case.join("error").is_file() {
        return Err("neither expected.yaml nor error recorded".into());
    }
    let got = kustomize::build(&DiskFs, &dir, &Default::default());
    match (expected, got) {
        (Some(exp), Ok(r)) => {
            let want = docs(&exp, "expected.yaml");
            let have = docs(&r.to_yaml(), "warden output");
            if want == have {
                Ok(())
            } else {
                Err(format!(
                    "output differs\n--- kubectl\n{exp}\n--- warden\n{}",
                    r.to_yaml()
                ))
            }
        }
        (Some(_), Err(e)) => Err(format!("warden failed where kubectl succeeded: {e}")),
        (None, Ok(r)) => Err(format!(
            "warden succeeded where kubectl failed:\n{}",
            r.to_yaml()
        )),
        (None, Err(_)) => Ok(()),
    }
}

#[test]
fn builtin_plugin_cases_agree_with_kubectl() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{c}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_recorded_case_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/data/builtins/cases is missing")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, CASES, "CASES and the recorded cases differ");
}

#[test]
fn refusals_name_the_file_and_field() {
    for (case, needle) in [
        ("non_builtin_plugin", "someteam.example.com/v1"),
        ("exec_function", "function"),
    ] {
        let dir = cases_dir().join(case).join("in");
        let err = match kustomize::build(&DiskFs, &dir, &Default::default()) {
            Ok(_) => panic!("{case}: a non-builtin plugin was not refused"),
            Err(e) => e.msg,
        };
        assert!(err.contains("kustomization.yaml"), "{case}: {err}");
        assert!(err.contains("transformers"), "{case}: {err}");
        assert!(err.contains(needle), "{case}: {err}");
    }
}
