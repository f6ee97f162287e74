//! The simulator's repositories are real git repositories (bare, one per repository, in a
//! temporary directory), driven with the `git` command. Commits get fixed identities and dates
//! from a counter, so the same changes give the same SHAs.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::github::ids::Sha;

/// One bare repository.
#[derive(Debug, Clone)]
pub struct GitRepo {
    pub dir: PathBuf,
    home: PathBuf,
}

fn bad(msg: String) -> io::Error {
    io::Error::other(msg)
}

impl GitRepo {
    /// `git init --bare` at `dir`.
    pub fn init(dir: &Path, home: &Path, default_branch: &str) -> io::Result<GitRepo> {
        std::fs::create_dir_all(dir)?;
        let g = GitRepo {
            dir: dir.to_path_buf(),
            home: home.to_path_buf(),
        };
        g.run(
            &["init", "--quiet", "--bare", "-b", default_branch],
            None,
            &[],
        )?;
        Ok(g)
    }

    fn cmd(&self, args: &[&str], env: &[(&str, String)]) -> Command {
        let mut c = Command::new("git");
        c.arg("--git-dir")
            .arg(&self.dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", &self.home)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    fn run(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, String)],
    ) -> io::Result<Vec<u8>> {
        let mut c = self.cmd(args, env);
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn()?;
        if let Some(bytes) = input
            && let Some(mut stdin) = child.stdin.take()
        {
            stdin.write_all(bytes)?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(bad(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out.stdout)
    }

    fn text(&self, args: &[&str]) -> io::Result<String> {
        Ok(String::from_utf8_lossy(&self.run(args, None, &[])?)
            .trim()
            .to_string())
    }

    /// The commit a ref or SHA names, if any.
    pub fn resolve(&self, rev: &str) -> Option<Sha> {
        if rev.starts_with('-') || rev.contains("..") {
            return None;
        }
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .text(&["rev-parse", "--verify", "--quiet", &spec])
            .ok()?;
        Sha::parse(&out).ok()
    }

    /// The tip of a branch.
    pub fn branch(&self, name: &str) -> Option<Sha> {
        self.resolve(&format!("refs/heads/{name}"))
    }

    /// Commit `changes` (None deletes) on top of `parent` (or an empty tree, or — with
    /// `replace` — instead of the parent's tree) and point `refs/heads/{branch}` at it.
    pub fn commit(
        &self,
        branch: &str,
        parent: Option<&Sha>,
        changes: &[(&str, Option<&[u8]>)],
        replace: bool,
        message: &str,
        time: u64,
    ) -> io::Result<Sha> {
        let index = tempfile::NamedTempFile::new_in(&self.home)?;
        let idx = index.path().to_string_lossy().into_owned();
        let _ = std::fs::remove_file(index.path());
        let env = [("GIT_INDEX_FILE", idx.clone())];
        match parent {
            Some(p) if !replace => {
                self.run(&["read-tree", p.as_str()], None, &env)?;
            }
            _ => {
                self.run(&["read-tree", "--empty"], None, &env)?;
            }
        }
        for (path, bytes) in changes {
            if path.starts_with('/')
                || path
                    .split('/')
                    .any(|p| p.is_empty() || p == "." || p == "..")
            {
                return Err(bad(format!("{path:?} is not a repository path")));
            }
            match bytes {
                Some(b) => {
                    let blob = String::from_utf8_lossy(&self.run(
                        &["hash-object", "-w", "--stdin"],
                        Some(b),
                        &[],
                    )?)
                    .trim()
                    .to_string();
                    let info = format!("100644,{blob},{path}");
                    self.run(&["update-index", "--add", "--cacheinfo", &info], None, &env)?;
                }
                None => {
                    self.run(&["update-index", "--force-remove", "--", path], None, &env)?;
                }
            }
        }
        let tree = String::from_utf8_lossy(&self.run(&["write-tree"], None, &env)?)
            .trim()
            .to_string();
        let parents: Vec<&Sha> = parent.into_iter().collect();
        self.commit_tree(branch, tree, &parents, message, time)
    }

    /// A merge commit of `head` into `base` with `tree_of` (the head's tree: no conflicts in
    /// the simulator), on `branch`.
    pub fn merge_commit(
        &self,
        branch: &str,
        parents: &[&Sha],
        tree_of: &Sha,
        message: &str,
        time: u64,
    ) -> io::Result<Sha> {
        let tree = self.text(&["rev-parse", &format!("{tree_of}^{{tree}}")])?;
        self.commit_tree(branch, tree, parents, message, time)
    }

    /// A commit of `tree` with `parents`, as the simulated identities at `time`, and `branch`
    /// pointed at it.
    fn commit_tree(
        &self,
        branch: &str,
        tree: String,
        parents: &[&Sha],
        message: &str,
        time: u64,
    ) -> io::Result<Sha> {
        let env = Self::identity(time);
        let mut args = vec!["commit-tree".to_string(), tree, "-m".into(), message.into()];
        for p in parents {
            args.push("-p".into());
            args.push(p.to_string());
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let sha = String::from_utf8_lossy(&self.run(&a, None, &env)?)
            .trim()
            .to_string();
        let sha = Sha::parse(&sha).map_err(|e| bad(e.to_string()))?;
        self.run(
            &["update-ref", &format!("refs/heads/{branch}"), sha.as_str()],
            None,
            &[],
        )?;
        Ok(sha)
    }

    /// Every file of a commit.
    pub fn files(&self, rev: &Sha) -> io::Result<BTreeMap<String, Vec<u8>>> {
        let list = self.run(&["ls-tree", "-r", "-z", rev.as_str()], None, &[])?;
        let mut out = BTreeMap::new();
        for entry in list.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let e = String::from_utf8_lossy(entry);
            let Some((meta, path)) = e.split_once('\t') else {
                continue;
            };
            let blob = meta.split_whitespace().nth(2).unwrap_or_default();
            out.insert(
                path.to_string(),
                self.run(&["cat-file", "blob", blob], None, &[])?,
            );
        }
        Ok(out)
    }

    /// The fixed author and committer of simulated commits, at `time`.
    fn identity(time: u64) -> [(&'static str, String); 6] {
        let date = format!("{time} +0000");
        [
            ("GIT_AUTHOR_NAME", "Simulated User".to_string()),
            ("GIT_AUTHOR_EMAIL", "user@example.com".to_string()),
            ("GIT_COMMITTER_NAME", "GitHub".to_string()),
            ("GIT_COMMITTER_EMAIL", "noreply@github.com".to_string()),
            ("GIT_AUTHOR_DATE", date.clone()),
            ("GIT_COMMITTER_DATE", date),
        ]
    }

    /// What `rev:path` is: a file (blob SHA, bytes), a directory (entries), or nothing.
    pub fn lookup(&self, rev: &Sha, path: &str) -> io::Result<Lookup> {
        let path = path.trim_matches('/');
        let spec = format!("{rev}:{path}");
        let Ok(kind) = self.text(&["cat-file", "-t", &spec]) else {
            return Ok(Lookup::Missing);
        };
        match kind.as_str() {
            "blob" => {
                let sha = self.text(&["rev-parse", &spec])?;
                let bytes = self.run(&["cat-file", "blob", &spec], None, &[])?;
                Ok(Lookup::File { sha, bytes })
            }
            "tree" => {
                let list = self.run(&["ls-tree", "-z", &spec], None, &[])?;
                let mut entries = Vec::new();
                for entry in list.split(|b| *b == 0).filter(|e| !e.is_empty()) {
                    let e = String::from_utf8_lossy(entry);
                    let Some((meta, name)) = e.split_once('\t') else {
                        continue;
                    };
                    let mut m = meta.split_whitespace();
                    let _mode = m.next();
                    let kind = m.next().unwrap_or_default().to_string();
                    let sha = m.next().unwrap_or_default().to_string();
                    entries.push((name.to_string(), kind, sha));
                }
                Ok(Lookup::Dir(entries))
            }
            _ => Ok(Lookup::Missing),
        }
    }

    pub fn merge_base(&self, a: &Sha, b: &Sha) -> Option<Sha> {
        self.text(&["merge-base", a.as_str(), b.as_str()])
            .ok()
            .and_then(|s| Sha::parse(&s).ok())
    }

    /// The commits reachable from `tip`, newest first (as `git log` lists them).
    pub fn log(&self, tip: &Sha) -> io::Result<Vec<Sha>> {
        let out = self.text(&["rev-list", tip.as_str()])?;
        Ok(out
            .lines()
            .filter_map(|l| Sha::parse(l.trim()).ok())
            .collect())
    }

    /// Point `branch` at `sha` (a force push).
    pub fn set_branch(&self, branch: &str, sha: &Sha) -> io::Result<()> {
        self.run(
            &["update-ref", &format!("refs/heads/{branch}"), sha.as_str()],
            None,
            &[],
        )
        .map(|_| ())
    }

    /// Delete `branch`.
    pub fn delete_branch(&self, branch: &str) -> io::Result<()> {
        self.run(
            &["update-ref", "-d", &format!("refs/heads/{branch}")],
            None,
            &[],
        )
        .map(|_| ())
    }

    /// Commits in `head` not in `base`, oldest first.
    pub fn commits_between(&self, base: &Sha, head: &Sha) -> io::Result<Vec<Sha>> {
        let out = self.text(&["rev-list", "--reverse", &format!("{base}..{head}")])?;
        Ok(out
            .lines()
            .filter_map(|l| Sha::parse(l.trim()).ok())
            .collect())
    }

    /// (status letter, path) of each file changed from `base` to `head`.
    pub fn changed(&self, base: &Sha, head: &Sha) -> io::Result<Vec<(char, String)>> {
        let out = self.run(
            &[
                "diff",
                "--no-renames",
                "--name-status",
                "-z",
                base.as_str(),
                head.as_str(),
            ],
            None,
            &[],
        )?;
        let parts: Vec<String> = out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        Ok(parts
            .chunks(2)
            .filter_map(|c| Some((c[0].chars().next()?, c.get(1)?.clone())))
            .collect())
    }

    /// The parents of a commit and its message.
    pub fn commit_info(&self, sha: &Sha) -> io::Result<(Vec<Sha>, String, u64)> {
        let out = self.text(&["show", "-s", "--format=%P%x00%ct%x00%B", sha.as_str()])?;
        let mut parts = out.splitn(3, '\0');
        let parents = parts
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| Sha::parse(p).ok())
            .collect();
        let time = parts.next().unwrap_or_default().trim().parse().unwrap_or(0);
        Ok((
            parents,
            parts.next().unwrap_or_default().trim().to_string(),
            time,
        ))
    }

    /// `git archive` as GitHub's codeload serves it: gzip tar under `prefix/`.
    pub fn tarball(&self, sha: &Sha, prefix: &str) -> io::Result<Vec<u8>> {
        self.run(
            &[
                "archive",
                "--format=tar.gz",
                &format!("--prefix={prefix}/"),
                sha.as_str(),
            ],
            None,
            &[],
        )
    }
}

/// What a path of a commit is.
pub enum Lookup {
    File {
        sha: String,
        bytes: Vec<u8>,
    },
    /// (name, `blob`/`tree`, sha).
    Dir(Vec<(String, String, String)>),
    Missing,
}
