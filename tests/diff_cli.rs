//! `warden diff` on a real git repository: the merge base, the working tree as the head, the
//! formats and the exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

fn warden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("diff")
        .args([
            "--repo",
            dir.to_str().expect("UTF-8 path"),
            "--color",
            "never",
        ])
        .args(args)
        .output()
        .expect("run warden")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8")
}

/// A repo with the fixture base committed on `main`.
fn repo() -> tempfile::TempDir {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/diff");
    let d = tempfile::tempdir().expect("tempdir");
    git(d.path(), &["init", "-q", "-b", "main"]);
    copy_tree(&fixtures.join("base"), d.path());
    git(d.path(), &["add", "-A"]);
    git(d.path(), &["commit", "-qm", "base"]);
    d
}

fn apply(dir: &Path, case: &str) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/diff/cases");
    copy_tree(&fixtures.join(case), dir);
}

#[test]
fn working_tree_against_a_revision() {
    let d = repo();
    let same = warden(d.path(), &["--base", "main", "--exit-code"]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );

    apply(d.path(), "image-bump-staging");
    let out = warden(d.path(), &["--base", "main", "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(
        text.contains("-        image: ghcr.io/example/shop:1.5.0"),
        "{text}"
    );
    assert!(
        text.contains("+        image: ghcr.io/example/shop:1.5.1"),
        "{text}"
    );
    assert!(
        !text.contains("production"),
        "production is not affected:\n{text}"
    );

    // Without --exit-code a difference is still success.
    assert_eq!(warden(d.path(), &["--base", "main"]).status.code(), Some(0));
}

#[test]
fn branches_compare_from_their_merge_base() {
    let d = repo();
    git(d.path(), &["checkout", "-qb", "feature"]);
    apply(d.path(), "secret-rotation");
    git(d.path(), &["commit", "-qam", "rotate"]);
    // main moves on after the branch: its change must not show up in the feature's diff.
    git(d.path(), &["checkout", "-q", "main"]);
    apply(d.path(), "rbac-change");
    git(d.path(), &["commit", "-qam", "rbac"]);

    let out = warden(
        d.path(),
        &["--base", "main", "--head", "feature", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["summary"]["classes"], serde_json::json!(["config"]));
    let envs: Vec<&str> = json["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t["environment"].as_str())
        .collect();
    assert_eq!(envs, ["production"]);
    assert!(
        !stdout(&out).contains("c0rrect-h0rse"),
        "a Secret value leaked"
    );

    let md = warden(
        d.path(),
        &[
            "--base", "main", "--head", "feature", "--format", "markdown",
        ],
    );
    assert_eq!(md.status.code(), Some(0));
    assert!(stdout(&md).starts_with(warden::report::markdown::STICKY_MARKER));
}

#[test]
fn a_bad_revision_is_a_clear_error() {
    let d = repo();
    let out = warden(d.path(), &["--base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-branch"), "{err}");
}
