//! The files a build reads: a small trait so the engine can render from disk, from a git tree
//! or from memory, and so every read can be recorded (the build's input closure).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    File,
    Dir,
}

/// Read-only access to a file tree. Paths are absolute and lexically clean.
pub trait FileSystem {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn entry(&self, path: &Path) -> Option<Entry>;
    /// The real location of a path (symlinks resolved); the path itself where there are none.
    fn real_path(&self, path: &Path) -> PathBuf {
        path.to_path_buf()
    }
}

/// The local disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn entry(&self, path: &Path) -> Option<Entry> {
        let md = std::fs::metadata(path).ok()?;
        Some(if md.is_dir() { Entry::Dir } else { Entry::File })
    }

    fn real_path(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// An in-memory tree (tests, git snapshots).
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// Add a file at an absolute path (`/repo/app/kustomization.yaml`).
    pub fn add(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) {
        self.files.insert(clean(path.as_ref()), content.into());
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn entry(&self, path: &Path) -> Option<Entry> {
        if self.files.contains_key(path) {
            return Some(Entry::File);
        }
        let is_dir = self
            .files
            .range(path.to_path_buf()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(path) && p != path);
        if is_dir || path == Path::new("/") {
            Some(Entry::Dir)
        } else {
            None
        }
    }
}

/// Lexically clean a path: drop `.`, resolve `..` against earlier parts.
pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `path` relative to `base` (both clean and absolute), with `..` where needed.
pub fn relative(path: &Path, base: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..b.len() {
        parts.push("..".into());
    }
    for c in &p[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_relativises() {
        assert_eq!(clean(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(relative(Path::new("/a/b/c"), Path::new("/a")), "b/c");
        assert_eq!(relative(Path::new("/a/x"), Path::new("/a/b")), "../x");
        assert_eq!(relative(Path::new("/a"), Path::new("/a")), ".");
    }

    #[test]
    fn memfs_knows_dirs() {
        let mut fs = MemFs::new();
        fs.add("/r/app/kustomization.yaml", "x");
        assert_eq!(fs.entry(Path::new("/r/app")), Some(Entry::Dir));
        assert_eq!(
            fs.entry(Path::new("/r/app/kustomization.yaml")),
            Some(Entry::File)
        );
        assert_eq!(fs.entry(Path::new("/r/ap")), None);
    }
}
