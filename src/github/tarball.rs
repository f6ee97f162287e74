//! A commit's tarball, as GitHub's codeload serves it, into a [`Snapshot`]: a gzip tar with one
//! top directory (`OWNER-REPO-SHORTSHA/`, stripped) and a pax global header carrying the
//! commit. Pure and bounded: the bytes come from the network, so every entry is checked —
//! nothing may leave the tree (absolute paths, `..`, links pointing out), and sizes and counts
//! are capped.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::repo::Snapshot;
use crate::repo::snapshot::MAX_FILES;

/// Bounds on one tarball.
#[derive(Debug, Clone)]
pub struct TarballLimits {
    /// Bytes of the gzip stream as downloaded.
    pub max_compressed: usize,
    /// Bytes of all files together once unpacked.
    pub max_uncompressed: u64,
    /// Bytes of one file.
    pub max_file: u64,
    pub max_files: usize,
}

impl Default for TarballLimits {
    fn default() -> Self {
        TarballLimits {
            max_compressed: 256 << 20,
            max_uncompressed: 512 << 20,
            max_file: 64 << 20,
            max_files: MAX_FILES,
        }
    }
}

/// Why a tarball was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarballError {
    #[error("the tarball is not a readable gzip tar: {0}")]
    Corrupt(String),
    #[error("tarball entry {path:?}: {reason}")]
    Entry { path: String, reason: String },
    #[error("the tarball exceeds {0}")]
    TooLarge(String),
}

fn entry(path: &str, reason: impl Into<String>) -> TarballError {
    TarballError::Entry {
        path: path.chars().take(300).collect(),
        reason: reason.into(),
    }
}

/// `a/./b` → `a/b`; `None` when a component is `..`, empty-rooted or otherwise not a plain name.
fn clean_rel(path: &str) -> Option<Vec<&str>> {
    if path.starts_with('/') || path.contains('\0') || path.contains('\\') {
        return None;
    }
    let mut out = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => out.push(p),
        }
    }
    Some(out)
}

enum Node {
    File(Vec<u8>),
    /// A symlink's target, relative to the repo root, cleaned; `None` when it leaves the root.
    Link(Option<String>),
}

/// Resolve a symlink's target (relative to the link's directory) inside the root.
fn resolve_link(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || target.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Unpack `gz` into a snapshot rooted at `root`, labelled `label` (`commit abc1234`).
pub fn unpack(
    gz: &[u8],
    label: &str,
    root: &Path,
    limits: &TarballLimits,
) -> Result<Snapshot, TarballError> {
    if gz.len() > limits.max_compressed {
        return Err(TarballError::TooLarge(format!(
            "{} compressed bytes",
            limits.max_compressed
        )));
    }
    let decoder = flate2::read::GzDecoder::new(gz).take(limits.max_uncompressed + (64 << 20));
    let mut archive = tar::Archive::new(decoder);
    let entries = archive
        .entries()
        .map_err(|e| TarballError::Corrupt(e.to_string()))?;
    let mut top: Option<String> = None;
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut total: u64 = 0;
    for e in entries {
        let mut e = e.map_err(|e| TarballError::Corrupt(e.to_string()))?;
        let kind = e.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            continue;
        }
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let parts = clean_rel(&raw)
            .ok_or_else(|| entry(&raw, "leaves the tree (absolute path or `..`)"))?;
        let Some((first, rest)) = parts.split_first() else {
            return Err(entry(&raw, "has an empty path"));
        };
        match &top {
            None => top = Some((*first).to_string()),
            Some(t) if t == first => {}
            Some(t) => return Err(entry(&raw, format!("is outside the top directory {t:?}"))),
        }
        if rest.is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(entry(&raw, "is not under the top directory"));
        }
        let rel = rest.join("/");
        let node = if kind.is_dir() {
            continue;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = e
                .header()
                .size()
                .map_err(|err| entry(&raw, err.to_string()))?;
            if size > limits.max_file {
                return Err(entry(
                    &raw,
                    format!("is larger than {} bytes", limits.max_file),
                ));
            }
            total += size;
            if total > limits.max_uncompressed {
                return Err(TarballError::TooLarge(format!(
                    "{} uncompressed bytes",
                    limits.max_uncompressed
                )));
            }
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
            (&mut e)
                .take(size)
                .read_to_end(&mut bytes)
                .map_err(|err| entry(&raw, err.to_string()))?;
            Node::File(bytes)
        } else if kind.is_symlink() {
            let target = e
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            Node::Link(resolve_link(&rel, &target))
        } else if kind.is_hard_link() {
            let target = e
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            // Hard links name their target from the archive root.
            let t = clean_rel(&target)
                .and_then(|p| p.split_first().map(|(f, r)| (f.to_string(), r.join("/"))))
                .filter(|(f, r)| Some(f) == top.as_ref() && !r.is_empty())
                .map(|(_, r)| r);
            Node::Link(Some(
                t.ok_or_else(|| entry(&raw, "is a hard link out of the tree"))?,
            ))
        } else {
            return Err(entry(&raw, "is not a regular file, directory or link"));
        };
        if nodes.insert(rel.clone(), node).is_some() {
            return Err(entry(&raw, "appears twice"));
        }
        if nodes.len() > limits.max_files {
            return Err(TarballError::TooLarge(format!(
                "{} files",
                limits.max_files
            )));
        }
    }
    let mut files = Vec::with_capacity(nodes.len());
    for (path, node) in &nodes {
        match node {
            Node::File(b) => files.push((path.clone(), b.clone())),
            Node::Link(target) => {
                let bytes = follow(&nodes, path, target.as_deref())?;
                // Links to directories are skipped: kustomize reads through the real path.
                if let Some(b) = bytes {
                    total += b.len() as u64;
                    if total > limits.max_uncompressed {
                        return Err(TarballError::TooLarge(format!(
                            "{} uncompressed bytes",
                            limits.max_uncompressed
                        )));
                    }
                    files.push((path.clone(), b));
                }
            }
        }
    }
    Ok(Snapshot::from_files(root, label, files))
}

/// The bytes a link ends at; `None` for a link to a directory.
fn follow<'a>(
    nodes: &'a BTreeMap<String, Node>,
    link: &str,
    mut target: Option<&'a str>,
) -> Result<Option<Vec<u8>>, TarballError> {
    for _ in 0..40 {
        let Some(t) = target else {
            return Err(entry(link, "is a symlink pointing outside the tree"));
        };
        match nodes.get(t) {
            Some(Node::File(b)) => return Ok(Some(b.clone())),
            Some(Node::Link(next)) => target = next.as_deref(),
            None => {
                let dir = format!("{t}/");
                if nodes
                    .range(dir.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&dir))
                {
                    return Ok(None);
                }
                return Err(entry(
                    link,
                    format!("is a symlink to {t:?}, which is not in the tree"),
                ));
            }
        }
    }
    Err(entry(link, "is a symlink loop"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (path, file bytes, or symlink target; neither: a directory).
    type Entry<'a> = (&'a str, Option<&'a [u8]>, Option<&'a str>);

    fn pack(top: &str, entries: &[Entry<'_>]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, bytes, link) in entries {
            let mut h = tar::Header::new_gnu();
            match (bytes, link) {
                (Some(bytes), _) => {
                    h.set_size(bytes.len() as u64);
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(0o644);
                    b.append_data(&mut h, format!("{top}{path}"), *bytes)
                        .unwrap();
                }
                (None, Some(target)) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, format!("{top}{path}"), target)
                        .unwrap();
                }
                (None, None) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    b.append_data(&mut h, format!("{top}{path}"), std::io::empty())
                        .unwrap();
                }
            }
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn files(s: &Snapshot) -> Vec<(String, Vec<u8>)> {
        s.files()
            .iter()
            .map(|f| (f.clone(), s.fs().read(&s.root().join(f)).unwrap()))
            .collect()
    }

    #[test]
    fn the_top_directory_is_stripped_and_in_tree_symlinks_resolved() {
        let gz = pack(
            "acme-gitops-abc1234/",
            &[
                ("", None, None),
                ("base/", None, None),
                ("base/a.yaml", Some(b"a: 1\n"), None),
                ("overlays/a.yaml", None, Some("../base/a.yaml")),
                ("link-dir", None, Some("base")),
            ],
        );
        let s = unpack(
            &gz,
            "commit abc1234",
            Path::new("/repo"),
            &TarballLimits::default(),
        )
        .unwrap();
        assert_eq!(
            files(&s),
            vec![
                ("base/a.yaml".to_string(), b"a: 1\n".to_vec()),
                ("overlays/a.yaml".to_string(), b"a: 1\n".to_vec())
            ]
        );
    }

    #[test]
    fn paths_and_links_leaving_the_tree_are_refused_by_name() {
        let lim = TarballLimits::default();
        let root = Path::new("/repo");
        let out = pack("t/", &[("x", None, Some("../../etc/passwd"))]);
        let e = unpack(&out, "c", root, &lim).unwrap_err().to_string();
        assert!(e.contains("\"x\"") && e.contains("outside"), "{e}");
        let abs = pack("t/", &[("x", None, Some("/etc/passwd"))]);
        assert!(unpack(&abs, "c", root, &lim).is_err());
        let lp = pack("t/", &[("a", None, Some("b")), ("b", None, Some("a"))]);
        let e = unpack(&lp, "c", root, &lim).unwrap_err().to_string();
        assert!(e.contains("loop"), "{e}");
        let big = pack("t/", &[("a", Some(&[0u8; 100]), None)]);
        let small = TarballLimits {
            max_file: 10,
            ..TarballLimits::default()
        };
        assert!(
            unpack(&big, "c", root, &small)
                .unwrap_err()
                .to_string()
                .contains("t/a")
        );
        assert!(matches!(
            unpack(b"not gzip", "c", root, &lim),
            Err(TarballError::Corrupt(_))
        ));
    }

    #[test]
    fn entries_outside_the_top_directory_are_refused() {
        // Raw tar: the builder refuses `..` itself, so write names by hand.
        let mut raw = tar::Builder::new(Vec::new());
        for name in ["t/a", "u/b"] {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_entry_type(tar::EntryType::Regular);
            raw.append_data(&mut h, name, &b"x"[..]).unwrap();
        }
        let tar = raw.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let e = unpack(
            &gz.finish().unwrap(),
            "c",
            Path::new("/r"),
            &TarballLimits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("u/b"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_tree_round_trips(tree in proptest::collection::btree_map(
            "[a-z0-9_.-]{1,8}(/[a-z0-9_-]{1,8}){0,3}", proptest::collection::vec(any::<u8>(), 0..64), 1..20)) {
            // Drop paths that are a prefix directory of another (a file cannot be a directory).
            let names: Vec<String> = tree.keys().cloned().collect();
            let tree: BTreeMap<String, Vec<u8>> = tree.into_iter()
                .filter(|(k, _)| !names.iter().any(|n| n.starts_with(&format!("{k}/"))) && !k.split('/').any(|p| p == "." || p == ".."))
                .collect();
            let entries: Vec<Entry<'_>> =
                tree.iter().map(|(k, v)| (k.as_str(), Some(v.as_slice()), None)).collect();
            let gz = pack("o-r-1234567/", &entries);
            let s = unpack(&gz, "c", Path::new("/repo"), &TarballLimits::default()).unwrap();
            let got: BTreeMap<String, Vec<u8>> = files(&s).into_iter().collect();
            prop_assert_eq!(got, tree);
        }

        #[test]
        fn mutated_bytes_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut gz = pack("t/", &[("a.yaml", Some(b"a: 1\n"), None), ("l", None, Some("a.yaml"))]);
            for (i, b) in flips { let n = gz.len(); gz[i % n] ^= b; }
            let _ = unpack(&gz, "c", Path::new("/r"), &TarballLimits::default());
        }
    }
}
