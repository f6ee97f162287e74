//! `warden promote` end to end on a temporary copy of fixtures/demo: the files it changes (and
//! only the tag bytes in them), --dry-run writing nothing, problems exiting 1 with the file named,
//! usage errors exiting 2.

use std::path::{Path, PathBuf};
use std::process::Command;

const PROD: &str = "overlays/production/kustomization.yaml";
const STAGING: &str = "overlays/staging/kustomization.yaml";

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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of the demo repo where staging runs a newer image than production.
fn demo_repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("gitops");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo"),
        &root,
    );
    let staging = read(&root, STAGING).replace("newTag: 1.5.0", "newTag: \"1.6.2\" # rc passed");
    std::fs::write(root.join(STAGING), staging).expect("write");
    (tmp, root)
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).expect(rel)
}

/// Every file of the tree with its text.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn promotes_staging_to_production_changing_only_the_tag() {
    let (_tmp, root) = demo_repo();
    let before = tree(&root);
    let prod_before = read(&root, PROD);
    let repo = root.to_str().expect("utf-8 path");
    let (code, out, err) = warden(&["promote", "--repo", repo, "--to", "production"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Promoting staging → production"), "{out}");
    assert!(
        out.contains("ghcr.io/example/shop:1.4.0 → ghcr.io/example/shop:1.6.2"),
        "{out}"
    );
    assert!(out.contains(&format!("Changed {PROD}")), "{out}");
    // Exactly the tag bytes changed (the plain style kept: 1.6.2 reads as a string).
    assert_eq!(
        read(&root, PROD),
        prod_before.replace("newTag: 1.4.0", "newTag: 1.6.2")
    );
    // No other file changed.
    let after = tree(&root);
    let changed: Vec<&PathBuf> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| &b.0)
        .collect();
    assert_eq!(before.len(), after.len());
    assert_eq!(changed, [&root.join(PROD)]);
    // Running again: nothing left to do.
    let (code, out, _) = warden(&["promote", "--repo", repo, "--to", "production"]);
    assert_eq!(code, 0);
    assert!(out.contains("already up to date"), "{out}");
    assert_eq!(tree(&root), after);
    // The result renders the staging image (as kubectl would print it).
    let (code, rendered, err) = warden(&[
        "render",
        root.join("overlays/production").to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        rendered.contains("image: ghcr.io/example/shop:1.6.2"),
        "{rendered}"
    );
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let (_tmp, root) = demo_repo();
    let before = tree(&root);
    let repo = root.to_str().expect("utf-8 path");
    let (code, out, err) = warden(&[
        "promote",
        "--repo",
        repo,
        "--from",
        "staging",
        "--to",
        "production",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("--- a/{PROD}")), "{out}");
    assert!(out.contains(&format!("+++ b/{PROD}")), "{out}");
    assert!(
        out.contains("\n-  newTag: 1.4.0\n+  newTag: 1.6.2\n"),
        "{out}"
    );
    assert!(!out.contains("Changed "), "{out}");
    assert_eq!(tree(&root), before);
}

#[test]
fn an_image_set_by_a_patch_exits_1_naming_the_file_and_writes_nothing() {
    let (_tmp, root) = demo_repo();
    let prod = read(&root, PROD).replace(
        "images:\n- name: ghcr.io/example/shop\n  newTag: 1.4.0\n",
        "",
    );
    std::fs::write(root.join(PROD), prod).expect("write");
    let patch = "overlays/production/resources.yaml";
    let text = read(&root, patch).replace(
        "      - name: web\n",
        "      - name: web\n        image: ghcr.io/example/shop:1.4.0\n",
    );
    std::fs::write(root.join(patch), text).expect("write");
    let before = tree(&root);
    let repo = root.to_str().expect("utf-8 path");
    let (code, out, err) = warden(&["promote", "--repo", repo, "--to", "production"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "cannot promote automatically, edit {patch} by hand"
        )),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(tree(&root), before);
}

#[test]
fn usage_errors_exit_2() {
    let (_tmp, root) = demo_repo();
    let repo = root.to_str().expect("utf-8 path");
    let (code, _, err) = warden(&["promote", "--repo", repo, "--to", "staging"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("first environment"), "{err}");
    let (code, _, err) = warden(&["promote", "--repo", repo, "--to", "prod"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown environment \"prod\""), "{err}");
    let (code, _, _) = warden(&["promote", "--repo", repo]);
    assert_eq!(code, 2, "--to is required");
}
