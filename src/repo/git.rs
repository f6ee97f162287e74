//! Reading a local git repository through the `git` command: the files of a commit, and the
//! files changed between two points. Used by the local CLI (`warden check --base REV`); the App
//! reads GitHub tarballs instead. Revisions are the user's own arguments, never repo content.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::snapshot::{MAX_FILES, SnapshotError};

/// Largest blob read into a snapshot; larger files are left out (kustomize refuses them too).
pub const MAX_BLOB_BYTES: u64 = 16 << 20;

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir);
    // Never prompt, never page, never run hooks or external diff drivers.
    c.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("GIT_EXTERNAL_DIFF", "");
    c
}

fn run(dir: &Path, args: &[&str]) -> Result<Vec<u8>, SnapshotError> {
    let out = git(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| SnapshotError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(SnapshotError::Git(format!(
            "git {}: {}",
            args.join(" "),
            err.trim()
        )));
    }
    Ok(out.stdout)
}

/// The top directory of the work tree holding `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, SnapshotError> {
    let out = run(dir, &["rev-parse", "--show-toplevel"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim()))
}

/// The full SHA of a revision (it must name a commit).
pub fn resolve(dir: &Path, rev: &str) -> Result<String, SnapshotError> {
    check_rev(rev)?;
    let spec = format!("{rev}^{{commit}}");
    let out = run(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )
    .map_err(|_| SnapshotError::Git(format!("{rev:?} does not name a commit here")))?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

pub fn short_sha(dir: &Path, rev: &str) -> Result<String, SnapshotError> {
    let full = resolve(dir, rev)?;
    Ok(full.chars().take(12).collect())
}

/// A revision may not look like an option.
fn check_rev(rev: &str) -> Result<(), SnapshotError> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(SnapshotError::Git(format!("bad revision {rev:?}")));
    }
    Ok(())
}

/// Every regular file of a commit with its bytes (symlinks and submodules are left out).
pub fn read_tree(root: &Path, rev: &str) -> Result<Vec<(String, Vec<u8>)>, SnapshotError> {
    let sha = resolve(root, rev)?;
    let listing = run(root, &["ls-tree", "-r", "-z", "--full-tree", "-l", &sha])?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut f = meta.split_whitespace();
        let (mode, kind, oid, size) = (f.next(), f.next(), f.next(), f.next());
        if kind != Some("blob") || !matches!(mode, Some("100644" | "100755")) {
            continue;
        }
        if size.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) > MAX_BLOB_BYTES {
            continue;
        }
        if let Some(oid) = oid {
            wanted.push((path.to_string(), oid.to_string()));
        }
        if wanted.len() > MAX_FILES {
            return Err(SnapshotError::TooManyFiles);
        }
    }
    let contents = cat_blobs(root, wanted.iter().map(|(_, oid)| oid.as_str()))?;
    Ok(wanted.into_iter().map(|(p, _)| p).zip(contents).collect())
}

/// The contents of blobs, in order, through one `git cat-file --batch`.
fn cat_blobs<'a>(
    root: &Path,
    oids: impl Iterator<Item = &'a str>,
) -> Result<Vec<Vec<u8>>, SnapshotError> {
    let oids: Vec<String> = oids.map(str::to_string).collect();
    let mut child = git(root)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| SnapshotError::Git(format!("cannot run git: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let count = oids.len();
    // Feed the ids from another thread so neither pipe can fill up and block.
    let feeder = std::thread::spawn(move || {
        for oid in oids {
            if writeln!(stdin, "{oid}").is_err() {
                break;
            }
        }
    });
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut blobs = Vec::with_capacity(count);
    let mut header = String::new();
    for _ in 0..count {
        header.clear();
        out.read_line(&mut header)
            .map_err(|e| SnapshotError::Git(format!("git cat-file: {e}")))?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| SnapshotError::Git(format!("git cat-file: bad header {header:?}")))?;
        let mut buf = vec![0; size + 1];
        out.read_exact(&mut buf)
            .map_err(|e| SnapshotError::Git(format!("git cat-file: {e}")))?;
        buf.pop(); // the newline after each object
        blobs.push(buf);
    }
    let _ = feeder.join();
    let _ = child.wait();
    Ok(blobs)
}

/// The commit a pull request from `head` (default `HEAD`) into `base` is compared against: their
/// merge base, or `base` itself when they share no history.
pub fn merge_base(dir: &Path, base: &str, head: Option<&str>) -> Result<String, SnapshotError> {
    let root = toplevel(dir)?;
    let base_sha = resolve(&root, base)?;
    let head_sha = resolve(&root, head.unwrap_or("HEAD"))?;
    Ok(run(&root, &["merge-base", &base_sha, &head_sha])
        .map(|o| String::from_utf8_lossy(&o).trim().to_string())
        .unwrap_or(base_sha))
}

/// Files changed since `base`: against `head` when given (both read from git), else against the
/// working tree (staged, unstaged and untracked files). Compared from the merge base of `base`
/// and the head, as a pull request is; renames count as a deletion and an addition.
pub fn changed_files(
    dir: &Path,
    base: &str,
    head: Option<&str>,
) -> Result<Vec<String>, SnapshotError> {
    let root = toplevel(dir)?;
    let from = merge_base(&root, base, head)?;
    let head_sha = resolve(&root, head.unwrap_or("HEAD"))?;
    let mut args = vec![
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--no-ext-diff",
        &from,
    ];
    if head.is_some() {
        args.push(&head_sha);
    }
    let mut files = split_z(&run(&root, &args)?);
    if head.is_none() {
        files.extend(split_z(&run(
            &root,
            &["ls-files", "--others", "--exclude-standard", "-z"],
        )?));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn split_z(out: &[u8]) -> Vec<String> {
    out.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, args: &[&str]) {
        let st = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    }

    #[test]
    fn reads_commits_and_changes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        sh(p, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(p.join("app")).unwrap();
        std::fs::write(p.join("app/a.yaml"), "a: 1\n").unwrap();
        std::fs::write(p.join("b.yaml"), "b: 1\n").unwrap();
        sh(p, &["add", "."]);
        sh(p, &["commit", "-qm", "one"]);
        std::fs::write(p.join("app/a.yaml"), "a: 2\n").unwrap();
        sh(p, &["commit", "-qam", "two"]);
        // Uncommitted and untracked changes.
        std::fs::write(p.join("b.yaml"), "b: 2\n").unwrap();
        std::fs::write(p.join("new.yaml"), "n: 1\n").unwrap();

        let files = read_tree(p, "HEAD~1").unwrap();
        let a = files.iter().find(|(n, _)| n == "app/a.yaml").unwrap();
        assert_eq!(a.1, b"a: 1\n");
        assert_eq!(files.len(), 2);

        assert_eq!(
            changed_files(p, "HEAD~1", Some("HEAD")).unwrap(),
            ["app/a.yaml"]
        );
        assert_eq!(
            changed_files(p, "HEAD~1", None).unwrap(),
            ["app/a.yaml", "b.yaml", "new.yaml"]
        );
        assert!(resolve(p, "--output=x").is_err());
        assert!(resolve(p, "nope").is_err());
    }
}
