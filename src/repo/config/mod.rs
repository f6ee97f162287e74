//! `.github/warden.yml`: a config repo's settings, over the org-wide defaults (the org's
//! `.github` repo `warden.yml`, same schema). Documented in `docs/config.md`.
//!
//! [`load`] reads both texts (the file is untrusted: it may come from a pull request), checks
//! every key and value by hand and collects every error, each naming its file, line and key
//! path. Pure: no I/O.

mod node;
mod validate;

use std::collections::BTreeMap;

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::checks::{ExternalRef, KubeVersion, Level};

/// Where the repo config lives in a config repo.
pub const REPO_FILE: &str = ".github/warden.yml";
/// The schema version this build reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The Kubernetes version objects are validated against when the config names none.
pub const DEFAULT_KUBE_VERSION: KubeVersion = KubeVersion::new(1, 31);
/// At most this many errors are reported for one load.
pub const MAX_ERRORS: usize = 100;

/// The settings of one config repo: the repo file over the org defaults over built-in defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoConfig {
    /// Schema version (`version:`).
    pub version: u32,
    /// Kubernetes version to validate against (`kubernetesVersion:`).
    pub kubernetes_version: KubeVersion,
    /// Environments in order: the first whose paths match a target owns it.
    pub environments: Vec<Environment>,
    /// Rule levels by rule id (`rules:`).
    pub rules: BTreeMap<String, Level>,
    pub policies: Policies,
    /// Objects that exist in clusters but not in the repo (`external:`).
    pub external: Vec<ExternalRef>,
    /// Paths never treated as targets by discovery (`ignore:`).
    pub ignore: Globs,
    pub automerge: Automerge,
    pub comments: Comments,
    pub chatops: Chatops,
    pub deploy: Deploy,
    /// Org file only: globs of the repo names (`owner/name` or `name`) that are config repos.
    pub repos: Globs,
}

impl Default for RepoConfig {
    fn default() -> Self {
        RepoConfig {
            version: SCHEMA_VERSION,
            kubernetes_version: DEFAULT_KUBE_VERSION,
            environments: Vec::new(),
            rules: BTreeMap::new(),
            policies: Policies::default(),
            external: Vec::new(),
            ignore: Globs::default(),
            automerge: Automerge::default(),
            comments: Comments::default(),
            chatops: Chatops::default(),
            deploy: Deploy::default(),
            repos: Globs::default(),
        }
    }
}

impl RepoConfig {
    /// The level of `rule` for a target in `environment`: the environment's override, else the
    /// top-level `rules:` entry, else `default` (the rule's built-in level).
    pub fn level(&self, rule: &str, environment: Option<&str>, default: Level) -> Level {
        environment
            .and_then(|e| self.environment(e))
            .and_then(|e| e.rules.get(rule))
            .or_else(|| self.rules.get(rule))
            .copied()
            .unwrap_or(default)
    }

    /// The environment named `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The first environment whose `paths` match the repo-relative target directory (or one of
    /// its parent directories).
    pub fn environment_of(&self, target_dir: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.matches(target_dir))
    }

    /// The Kubernetes version for a target in `environment` (its override, else the top level).
    pub fn kube_version_for(&self, environment: Option<&str>) -> KubeVersion {
        environment
            .and_then(|e| self.environment(e))
            .and_then(|e| e.kubernetes_version)
            .unwrap_or(self.kubernetes_version)
    }

    /// Objects declared to exist outside the repo.
    pub fn external_refs(&self) -> &[ExternalRef] {
        &self.external
    }

    /// Whether discovery must skip this repo-relative path (it or a parent matches `ignore`).
    pub fn is_ignored(&self, path: &str) -> bool {
        self.ignore.matches_path(path)
    }
}

/// One deployment environment (`environments.<name>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Environment {
    /// `[a-z0-9-]+`, at most 63 characters.
    pub name: String,
    /// Globs of the kustomization roots (directories, repo-relative) that deploy to it.
    pub paths: Globs,
    /// Names of its clusters (informational).
    pub clusters: Vec<String>,
    /// Overrides the top-level `kubernetesVersion`.
    pub kubernetes_version: Option<KubeVersion>,
    /// Overrides the top-level `rules` for targets in this environment.
    pub rules: BTreeMap<String, Level>,
}

impl Environment {
    /// Whether the repo-relative directory, or one of its parents, matches one of `paths`.
    pub fn matches(&self, dir: &str) -> bool {
        self.paths.matches_path(dir)
    }
}

/// Where the Rego policies are (`policies:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies {
    /// Repo-relative directories of `.rego` files. Default `["policy"]`.
    pub paths: Vec<String>,
    /// Rego packages whose rules are evaluated. Default `["main"]`.
    pub namespaces: Vec<String>,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            paths: vec!["policy".into()],
            namespaces: vec!["main".into()],
        }
    }
}

/// Auto-merge settings (`automerge:`). A pull request is eligible only if it matches every
/// list; an empty list matches nothing, so the default merges nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Automerge {
    pub environments: Vec<String>,
    pub authors: Vec<Author>,
    pub classes: Vec<ChangeClass>,
    /// Default `squash`.
    pub method: MergeMethod,
    /// Delete the head branch after merging. Default `true`.
    pub delete_branch: bool,
    /// Per-image limits on version bumps, in document order.
    pub images: Vec<ImageRule>,
    /// Windows (inclusive) during which nothing is auto-merged.
    pub freeze: Vec<FreezeWindow>,
}

impl Default for Automerge {
    fn default() -> Self {
        Automerge {
            environments: Vec::new(),
            authors: Vec::new(),
            classes: Vec::new(),
            method: MergeMethod::Squash,
            delete_branch: true,
            images: Vec::new(),
            freeze: Vec::new(),
        }
    }
}

impl Automerge {
    /// The bump allowed for an image reference (`ghcr.io/acme/web:1.2.3`; its tag and digest
    /// are ignored): the rule of the longest matching pattern.
    pub fn image_rule(&self, image: &str) -> Option<Bump> {
        let name = image_name(image);
        self.images
            .iter()
            .filter(|r| r.pattern.is_match(name))
            .max_by_key(|r| r.pattern.as_str().len())
            .map(|r| r.bump)
    }

    /// Whether `date` falls in a freeze window.
    pub fn frozen(&self, date: Date) -> bool {
        self.freeze.iter().any(|w| w.from <= date && date <= w.to)
    }
}

/// `ghcr.io/acme/web:1.2@sha256:…` → `ghcr.io/acme/web`.
fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(i) => &image[..last_slash + i],
        None => image,
    }
}

/// Who may have their pull requests auto-merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Author {
    /// A GitHub user login.
    User(String),
    /// A GitHub App's bot login, with its `[bot]` suffix (`renovate[bot]`).
    Bot(String),
    /// A team, written `@org/team`.
    Team { org: String, team: String },
}

impl std::fmt::Display for Author {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Author::User(u) | Author::Bot(u) => f.write_str(u),
            Author::Team { org, team } => write!(f, "@{org}/{team}"),
        }
    }
}

macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The word used in the config file.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }

            /// Read the word used in the config file.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$var),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum! {
    /// The kind of change a pull request makes (`automerge.classes`).
    ChangeClass {
        ImageBump = "image-bump",
        Scale = "scale",
        Config = "config",
        Rbac = "rbac",
        Crd = "crd",
        NewResource = "new-resource",
        Deletion = "deletion",
        Namespace = "namespace",
        Other = "other",
    }
}

keyword_enum! {
    /// How a pull request is merged (`automerge.method`).
    MergeMethod { Merge = "merge", Squash = "squash", Rebase = "rebase" }
}

keyword_enum! {
    /// The largest image version change auto-merge accepts (`automerge.images`); `digest`
    /// accepts only a new digest for the same tag.
    Bump { Digest = "digest", Patch = "patch", Minor = "minor", Major = "major" }
}

keyword_enum! {
    /// How much of the rendered diff the PR comment shows (`comments.diff`).
    DiffMode { Full = "full", Summary = "summary", Off = "off" }
}

keyword_enum! {
    /// A GitHub repository permission, weakest first (`chatops.permissions`).
    Permission {
        Read = "read",
        Triage = "triage",
        Write = "write",
        Maintain = "maintain",
        Admin = "admin",
    }
}

/// One `automerge.images` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRule {
    /// Glob over the image name without tag or digest.
    pub pattern: Glob,
    pub bump: Bump,
}

/// A calendar date (`2026-12-20`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Read `YYYY-MM-DD` (also `YYYY-MM-DDT00:00:00Z`, how an unquoted YAML date reads),
    /// checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let s = s.strip_suffix("T00:00:00Z").unwrap_or(s);
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if !(1970..=9999).contains(&year) || day == 0 || day > days {
            return None;
        }
        Some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Dates (both included) during which nothing is auto-merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreezeWindow {
    pub from: Date,
    pub to: Date,
}

/// The sticky PR comment (`comments:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comments {
    /// One comment, updated in place. Default `true`.
    pub sticky: bool,
    /// Default `full`.
    pub diff: DiffMode,
}

impl Default for Comments {
    fn default() -> Self {
        Comments {
            sticky: true,
            diff: DiffMode::Full,
        }
    }
}

/// PR comment commands (`chatops:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chatops {
    /// What a command comment starts with. Default `/warden`.
    pub prefix: String,
    /// Least repository permission needed per command, where raised above the built-in one
    /// (`crate::chatops::COMMANDS`).
    pub permissions: BTreeMap<String, Permission>,
    /// Commands only members of these teams (`org/team-slug`) may run.
    pub teams: BTreeMap<String, Vec<String>>,
}

impl Default for Chatops {
    fn default() -> Self {
        Chatops {
            prefix: "/warden".into(),
            permissions: BTreeMap::new(),
            teams: BTreeMap::new(),
        }
    }
}

/// Deployment settings (`deploy:`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Deploy {
    /// The deploy branch; `None`: the repo's default branch.
    pub branch: Option<String>,
}

/// One compiled glob. `*` and `?` stay within a path segment, `**` crosses segments,
/// `{a,b}` and `[ab]` work as usual.
#[derive(Clone)]
pub struct Glob {
    pattern: String,
    matcher: GlobMatcher,
}

impl Glob {
    /// Compile a pattern.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let glob = builder(pattern).build().map_err(|e| glob_message(&e))?;
        Ok(Glob {
            pattern: pattern.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl std::fmt::Debug for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

/// A list of globs, matched together.
#[derive(Clone, Default)]
pub struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    /// Compile patterns; the error names the first bad one. A pattern `a/**` also matches
    /// `a` itself (`**` may match no segment, as in `a/**/b`).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Globs, String> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let p = p.as_ref();
            let bad = |e: globset::Error| format!("{}: {}", quote(p), glob_message(&e));
            b.add(builder(p).build().map_err(bad)?);
            if let Some(dir) = p.strip_suffix("/**").filter(|d| !d.is_empty()) {
                b.add(builder(dir).build().map_err(bad)?);
            }
        }
        Ok(Globs {
            patterns: patterns.iter().map(|p| p.as_ref().to_string()).collect(),
            set: b.build().map_err(|e| glob_message(&e))?,
        })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `s` matches one of the globs.
    pub fn is_match(&self, s: &str) -> bool {
        self.set.is_match(s)
    }

    /// Whether a repo-relative path (`./a/b/`, `a/b`), or one of its parent directories,
    /// matches one of the globs.
    pub fn matches_path(&self, path: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let path = normalize_path(path);
        if path.is_empty() {
            return false;
        }
        path.match_indices('/')
            .map(|(i, _)| &path[..i])
            .chain(std::iter::once(path.as_str()))
            .any(|p| self.set.is_match(p))
    }
}

impl PartialEq for Globs {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl std::fmt::Debug for Globs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Globs({:?})", self.patterns)
    }
}

fn builder(pattern: &str) -> GlobBuilder<'_> {
    let mut b = GlobBuilder::new(pattern);
    b.literal_separator(true).backslash_escape(true);
    b
}

fn glob_message(e: &globset::Error) -> String {
    match e.kind() {
        globset::ErrorKind::Regex(_) => "pattern too complex".to_string(),
        k => k.to_string(),
    }
}

/// `./a//b/` → `a/b`.
fn normalize_path(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// User text in a message: JSON-quoted, cut to a readable length.
fn quote(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", serde_json::Value::from(&s[..i])),
        None => serde_json::Value::from(s).to_string(),
    }
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{file}:{line}: {}{message}", key_prefix(.key))]
pub struct ConfigError {
    /// The file the offending text is in, as given to [`load`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Key path of the offending value (`environments.staging.paths[1]`); empty for the
    /// document as a whole (and for unknown top-level keys).
    pub key: String,
    pub message: String,
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Every problem found while loading, in file order then line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join_errors(.errors))]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

fn join_errors(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Load the repo config: `repo` and `org` are `(path, text)` of the repo file and the org
/// defaults, either absent. The repo file overrides the org file key by key: mappings merge
/// recursively, everything else (scalars, lists) is replaced; a `null` value resets a key to
/// its default. Rule ids must be in `known_rules` or start with `policy/`.
pub fn load(
    repo: Option<(&str, &str)>,
    org: Option<(&str, &str)>,
    known_rules: &[&str],
) -> Result<RepoConfig, ConfigErrors> {
    validate::load(repo, org, known_rules)
}

#[cfg(test)]
mod tests;
