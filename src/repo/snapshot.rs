//! A config repo's files at one point: a working tree on disk, a commit read through git, or
//! files given in memory (tests, tarballs). Everything downstream (discovery, rendering,
//! checks) reads through [`Snapshot`], so it cannot tell which one it has.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::kustomize::fs::{DiskFs, FileSystem, MemFs, clean};

/// Most files a snapshot may list (a guard against pointing Warden at `/`).
pub const MAX_FILES: usize = 200_000;

/// Why a snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Git(String),
    #[error("the repository has more than {MAX_FILES} files; point --repo at the config repo")]
    TooManyFiles,
}

/// The files of a repo at one point, readable through a [`FileSystem`] rooted at `root`.
pub struct Snapshot {
    root: PathBuf,
    fs: Box<dyn FileSystem + Send + Sync>,
    /// Every file, repo-relative and `/`-separated, sorted.
    files: Vec<String>,
    /// What this is, for messages: `working tree`, `commit 1a2b3c4`.
    label: String,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("root", &self.root)
            .field("files", &self.files.len())
            .field("label", &self.label)
            .finish()
    }
}

impl Snapshot {
    /// The working tree under `dir` as it is on disk (`.git` excluded).
    pub fn from_dir(dir: &Path) -> Result<Snapshot, SnapshotError> {
        let root = std::fs::canonicalize(dir).map_err(|source| SnapshotError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let mut files = Vec::new();
        walk(&root, &root, &mut files)?;
        files.sort();
        Ok(Snapshot {
            root,
            fs: Box::new(DiskFs),
            files,
            label: "working tree".into(),
        })
    }

    /// Files given in memory: repo-relative paths and their bytes, placed under `root`.
    pub fn from_files(
        root: &Path,
        label: &str,
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Snapshot {
        let root = clean(root);
        let mut fs = MemFs::new();
        let mut names = Vec::new();
        for (path, bytes) in files {
            fs.add(root.join(&path), bytes);
            names.push(path);
        }
        names.sort();
        names.dedup();
        Snapshot {
            root,
            fs: Box::new(fs),
            files: names,
            label: label.to_string(),
        }
    }

    /// A commit of a local git repository, read through git (not the working tree).
    pub fn from_git(repo: &Path, rev: &str) -> Result<Snapshot, SnapshotError> {
        let root = super::git::toplevel(repo)?;
        let files = super::git::read_tree(&root, rev)?;
        let short = super::git::short_sha(&root, rev).unwrap_or_else(|_| rev.to_string());
        Ok(Snapshot::from_files(
            &root,
            &format!("commit {short}"),
            files,
        ))
    }

    /// The repo root in [`Snapshot::fs`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    pub fn files(&self) -> &[String] {
        &self.files
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The absolute path of a repo-relative path in [`Snapshot::fs`].
    pub fn path(&self, rel: &str) -> PathBuf {
        clean(&self.root.join(rel))
    }

    /// A repo-relative path of an absolute one (`None` outside the repo).
    pub fn relative(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        let s = rel.to_string_lossy().replace('\\', "/");
        Some(if s.is_empty() { ".".into() } else { s })
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.files.binary_search_by(|f| f.as_str().cmp(rel)).is_ok()
    }

    /// The text of a repo file (`None` when absent or not UTF-8).
    pub fn read_text(&self, rel: &str) -> Option<String> {
        let bytes = self.fs.read(&self.path(rel)).ok()?;
        String::from_utf8(bytes).ok()
    }

    /// The files under a repo-relative directory (`.` for all).
    pub fn files_under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        let prefix = if dir == "." || dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        self.files.iter().filter(move |f| f.starts_with(&prefix))
    }

    /// The objects (YAML or JSON mappings) of the files `want` accepts whose text mentions one of
    /// `markers`, each with its file and document line: a cheap way to find the few objects of
    /// some kinds anywhere in the repo. Files that do not parse are passed over here (rendering
    /// reports them where they matter).
    pub fn objects_mentioning(
        &self,
        markers: &[&str],
        want: &dyn Fn(&str) -> bool,
    ) -> Vec<(String, usize, crate::manifest::Object)> {
        let mut out = Vec::new();
        for file in self.files.iter().filter(|f| want(f)) {
            let Some(text) = self.read_text(file) else {
                continue;
            };
            if !markers.iter().any(|m| text.contains(m)) {
                continue;
            }
            let Ok(docs) = crate::yaml::parse_stream(&text, &crate::yaml::Limits::default()) else {
                continue;
            };
            for doc in docs {
                if let serde_json::Value::Object(obj) = doc.value {
                    out.push((file.clone(), doc.line, obj));
                }
            }
        }
        out
    }

    /// Every directory holding a kustomization file, repo-relative, sorted.
    pub fn kustomization_dirs(&self) -> Vec<String> {
        let mut dirs: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| {
                let (dir, name) = match f.rsplit_once('/') {
                    Some((d, n)) => (d, n),
                    None => (".", f.as_str()),
                };
                crate::kustomize::kustomization::FILE_NAMES
                    .contains(&name)
                    .then(|| dir.to_string())
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), SnapshotError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SnapshotError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        // Symlinked directories are not followed (they could loop or leave the repo).
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            if out.len() >= MAX_FILES {
                return Err(SnapshotError::TooManyFiles);
            }
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(())
}

/// Files listed by path, for tests: `[("a/kustomization.yaml", "…")]`.
pub fn files_from<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<String, Vec<u8>> {
    items
        .into_iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_reads_files() {
        let s = Snapshot::from_files(
            Path::new("/r"),
            "test",
            files_from([
                ("b/kustomization.yaml", "resources: []"),
                ("a/x.yaml", "a: 1"),
                ("kustomization.yml", ""),
            ]),
        );
        assert_eq!(
            s.files(),
            ["a/x.yaml", "b/kustomization.yaml", "kustomization.yml"]
        );
        assert_eq!(s.kustomization_dirs(), [".", "b"]);
        assert_eq!(s.read_text("a/x.yaml").as_deref(), Some("a: 1"));
        assert!(s.exists("b/kustomization.yaml"));
        assert!(!s.exists("b"));
        assert_eq!(s.files_under("a").count(), 1);
        assert_eq!(
            s.relative(Path::new("/r/a/x.yaml")).as_deref(),
            Some("a/x.yaml")
        );
        assert_eq!(s.relative(Path::new("/elsewhere")), None);
    }

    #[test]
    fn walks_a_working_tree_without_git_dir() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".git/objects")).unwrap();
        std::fs::write(d.path().join(".git/HEAD"), "x").unwrap();
        std::fs::create_dir_all(d.path().join("app")).unwrap();
        std::fs::write(d.path().join("app/kustomization.yaml"), "resources: []\n").unwrap();
        let s = Snapshot::from_dir(d.path()).unwrap();
        assert_eq!(s.files(), ["app/kustomization.yaml"]);
        assert_eq!(
            s.read_text("app/kustomization.yaml").unwrap(),
            "resources: []\n"
        );
    }
}
