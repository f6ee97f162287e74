//! Fixture repos for integration tests: fixtures/diff/base and the pull requests in
//! fixtures/diff/cases/*, as in-memory snapshots.

#![allow(dead_code)] // each test file uses a part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use warden::repo::Snapshot;

/// fixtures/diff.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/diff")
}

/// Every file under `dir`, by `/`-separated path under `prefix`.
pub fn read_tree(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).expect("fixture dir") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if e.file_type().expect("type").is_dir() {
            read_tree(&e.path(), &rel, out);
        } else {
            out.insert(rel, std::fs::read(e.path()).expect("read"));
        }
    }
}

/// The files of fixtures/diff/base.
pub fn base_files() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    read_tree(&fixtures().join("base"), "", &mut files);
    files
}

/// Apply a case of fixtures/diff/cases: its files replace or add files, its `DELETED` file lists
/// the paths it removes.
pub fn apply_case(files: &mut BTreeMap<String, Vec<u8>>, name: &str) {
    let mut change = BTreeMap::new();
    read_tree(&fixtures().join("cases").join(name), "", &mut change);
    if let Some(deleted) = change.remove("DELETED") {
        for path in String::from_utf8(deleted).expect("UTF-8").lines() {
            assert!(files.remove(path).is_some(), "{name}: DELETED names {path}");
        }
    }
    files.extend(change);
}

/// Files as a snapshot rooted at /repo.
pub fn snapshot(label: &str, files: BTreeMap<String, Vec<u8>>) -> Snapshot {
    Snapshot::from_files(Path::new("/repo"), label, files)
}

/// The base repo and the head of one case.
pub fn case(name: &str) -> (Snapshot, Snapshot) {
    let base = base_files();
    let mut head = base.clone();
    apply_case(&mut head, name);
    (snapshot("base", base), snapshot("head", head))
}
