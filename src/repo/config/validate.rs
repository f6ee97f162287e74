//! Parse, merge and check config documents into a [`RepoConfig`], collecting every error.

use std::collections::{BTreeMap, HashSet};

use super::node::{Node, V, merge};
use super::{
    Author, Automerge, Bump, ChangeClass, Chatops, Comments, ConfigError, ConfigErrors, Date,
    Deploy, DiffMode, Environment, FreezeWindow, Glob, Globs, ImageRule, MAX_ERRORS, MergeMethod,
    Permission, Policies, RepoConfig, SCHEMA_VERSION, quote,
};
use crate::checks::{ExternalRef, KubeVersion, Level};
use crate::manifest::Seg;
use crate::yaml::{self, Limits, YamlError};

const ROOT_KEYS: &[&str] = &[
    "version",
    "kubernetesVersion",
    "environments",
    "rules",
    "policies",
    "external",
    "ignore",
    "automerge",
    "comments",
    "chatops",
    "deploy",
    "repos",
];
const ENV_KEYS: &[&str] = &["paths", "clusters", "kubernetesVersion", "rules"];
const POLICY_KEYS: &[&str] = &["paths", "namespaces"];
const EXTERNAL_KEYS: &[&str] = &["kind", "name", "namespace"];
const AUTOMERGE_KEYS: &[&str] = &[
    "environments",
    "authors",
    "classes",
    "method",
    "deleteBranch",
    "images",
    "freeze",
];
const FREEZE_KEYS: &[&str] = &["from", "to"];
const COMMENT_KEYS: &[&str] = &["sticky", "diff"];
const CHATOPS_KEYS: &[&str] = &["prefix", "permissions", "teams"];
const DEPLOY_KEYS: &[&str] = &["branch"];
const LEVELS: &[&str] = &["off", "info", "warning", "error"];

/// Longest string (in bytes) that gets a "did you mean" suggestion.
const MAX_SUGGEST_LEN: usize = 64;
/// Longest glob pattern accepted.
const MAX_GLOB_LEN: usize = 1024;

/// Config files are small; these bound the work a hostile one can cause.
fn limits() -> Limits {
    Limits {
        max_bytes: 256 << 10,
        max_depth: 32,
        max_documents: 8,
        max_nodes: 20_000,
        allow_duplicate_keys: false,
    }
}

pub(super) fn load(
    repo: Option<(&str, &str)>,
    org: Option<(&str, &str)>,
    known_rules: &[&str],
) -> Result<RepoConfig, ConfigErrors> {
    let mut cx = Cx::new(known_rules);

    let mut repo_node = None;
    if let Some((path, text)) = repo {
        let file = cx.add_file(path);
        repo_node = cx.parse(file, text);
        if let Some(n) = &mut repo_node {
            if let V::Map(entries) = &n.v
                && !entries.is_empty()
                && n.get("version").is_none()
            {
                let line = n.line;
                cx.push(
                    file,
                    line,
                    "",
                    "missing required key \"version\" (add `version: 1`)",
                );
            }
            if let Some(r) = n.remove("repos") {
                cx.err(
                    &r,
                    "",
                    "key \"repos\" is only allowed in the org default file",
                );
            }
        }
    }
    let mut org_node = None;
    if let Some((path, text)) = org {
        let file = cx.add_file(path);
        org_node = cx.parse(file, text);
    }

    // The org file on its own, so that its errors show even where the repo overrides them.
    if let Some(o) = &org_node {
        let mut alone = Cx::new(known_rules);
        alone.files = cx.files.clone();
        alone.check_refs = false;
        alone.config(o);
        cx.errors.extend(alone.errors);
    }

    let merged = match (org_node, repo_node) {
        (Some(o), Some(r)) => merge(o, r),
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => Node::null(0),
    };
    let config = cx.config(&merged);

    let mut seen = HashSet::new();
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut keyed = cx.errors;
    keyed.sort_by_key(|(f, e)| (*f, e.line));
    for (_, e) in keyed {
        if seen.insert(e.clone()) {
            errors.push(e);
        }
    }
    errors.truncate(MAX_ERRORS);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors { errors })
    }
}

/// The checker: files, known rule ids and the errors found so far.
struct Cx<'a> {
    files: Vec<String>,
    known: &'a [&'a str],
    /// Errors with the index of their file, for ordering.
    errors: Vec<(usize, ConfigError)>,
    /// Check references between keys (only on the merged document).
    check_refs: bool,
}

impl<'a> Cx<'a> {
    fn new(known: &'a [&'a str]) -> Cx<'a> {
        Cx {
            files: Vec::new(),
            known,
            errors: Vec::new(),
            check_refs: true,
        }
    }

    fn add_file(&mut self, path: &str) -> usize {
        self.files.push(path.to_string());
        self.files.len() - 1
    }

    fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS * 2
    }

    fn push(&mut self, file: usize, line: usize, key: &str, message: impl Into<String>) {
        if self.full() {
            return;
        }
        let e = ConfigError {
            file: self.files.get(file).cloned().unwrap_or_default(),
            line,
            key: key.to_string(),
            message: message.into(),
        };
        self.errors.push((file, e));
    }

    fn err(&mut self, n: &Node, key: &str, message: impl Into<String>) {
        self.push(n.file, n.line, key, message);
    }

    /// The document of one file; `None` (with an error) when it is not one valid YAML
    /// document. An empty file reads as `None` without error.
    fn parse(&mut self, file: usize, text: &str) -> Option<Node> {
        match yaml::parse_stream_with_lines(text, &limits()) {
            Ok(docs) => match docs.as_slice() {
                [] => None,
                [doc] => {
                    let n = Node::from_document(doc, file);
                    (!n.is_null()).then_some(n)
                }
                [_, second, ..] => {
                    self.push(
                        file,
                        second.line,
                        "",
                        format!("expected one YAML document, found {}", docs.len()),
                    );
                    None
                }
            },
            Err(YamlError::Syntax { line, col, msg }) => {
                let (key, message) = duplicate_key(text, line, &msg).unwrap_or_else(|| {
                    (String::new(), format!("invalid YAML (column {col}): {msg}"))
                });
                self.push(file, line.max(1), &key, message);
                None
            }
            Err(e @ YamlError::Limit { .. }) => {
                self.push(file, 1, "", format!("file too large or complex: {e}"));
                None
            }
        }
    }

    /// Report an unknown key of a mapping, with a suggestion.
    fn unknown(&mut self, n: &Node, parent: &str, key: &str, allowed: &[&str]) {
        if self.full() {
            return;
        }
        let msg = format!("unknown key {}{}", quote(key), did_you_mean(key, allowed));
        self.err(n, parent, msg);
    }

    fn map<'n>(&mut self, n: &'n Node, key: &str) -> Option<&'n [(String, Node)]> {
        match &n.v {
            V::Map(entries) => Some(entries),
            V::Null => Some(&[]),
            _ => {
                self.err(n, key, format!("expected a mapping, found {}", n.kind()));
                None
            }
        }
    }

    /// The entries of a mapping whose keys must be among `allowed`; unknown keys are reported
    /// and skipped, null values are skipped (they mean the default).
    fn fields<'n>(&mut self, n: &'n Node, key: &str, allowed: &[&str]) -> Vec<(&'n str, &'n Node)> {
        let Some(entries) = self.map(n, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if !allowed.contains(&k.as_str()) {
                self.unknown(v, key, k, allowed);
            } else if !v.is_null() {
                out.push((k.as_str(), v));
            }
        }
        out
    }

    fn seq<'n>(&mut self, n: &'n Node, key: &str) -> &'n [Node] {
        match &n.v {
            V::Seq(items) => items,
            V::Null => &[],
            _ => {
                self.err(n, key, format!("expected a list, found {}", n.kind()));
                &[]
            }
        }
    }

    fn str<'n>(&mut self, n: &'n Node, key: &str) -> Option<&'n str> {
        match &n.v {
            V::Str(s) => Some(s),
            V::Num(_) => {
                self.err(
                    n,
                    key,
                    "expected a string, found a number (put it in quotes)",
                );
                None
            }
            _ => {
                self.err(n, key, format!("expected a string, found {}", n.kind()));
                None
            }
        }
    }

    fn bool(&mut self, n: &Node, key: &str) -> Option<bool> {
        match &n.v {
            V::Bool(b) => Some(*b),
            _ => {
                self.err(
                    n,
                    key,
                    format!("expected true or false, found {}", n.kind()),
                );
                None
            }
        }
    }

    /// One of a fixed set of words.
    fn keyword<T>(
        &mut self,
        n: &Node,
        key: &str,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> Option<T> {
        let s = self.str(n, key)?;
        let v = parse(s);
        if v.is_none() && !self.full() {
            let msg = format!(
                "expected one of {}, found {}{}",
                all.join(", "),
                quote(s),
                did_you_mean(s, all)
            );
            self.err(n, key, msg);
        }
        v
    }

    /// A list of strings, each checked (and possibly rewritten) by `check`.
    fn strings(
        &mut self,
        n: &Node,
        key: &str,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (i, item) in self.seq(n, key).iter().enumerate() {
            let k = index(key, i);
            if let Some(s) = self.str(item, &k) {
                match check(s) {
                    Ok(s) => out.push(s),
                    Err(m) => self.err(item, &k, m),
                }
            }
        }
        out
    }

    /// A list of globs; `paths`: repo-relative path globs (normalized).
    fn globs(&mut self, n: &Node, key: &str, paths: bool) -> Globs {
        let checked = self.strings(n, key, |s| {
            let p = if paths { path_glob(s)? } else { plain_glob(s)? };
            Glob::new(&p).map_err(|e| format!("bad glob {}: {e}", quote(s)))?;
            Ok(p)
        });
        match Globs::new(&checked) {
            Ok(g) => g,
            Err(e) => {
                self.err(n, key, format!("bad globs: {e}"));
                Globs::default()
            }
        }
    }

    fn config(&mut self, root: &Node) -> RepoConfig {
        let mut c = RepoConfig::default();
        for (k, n) in self.fields(root, "", ROOT_KEYS) {
            match k {
                "version" => {
                    if let Some(v) = self.version(n) {
                        c.version = v;
                    }
                }
                "kubernetesVersion" => {
                    if let Some(v) = self.kube_version(n, k) {
                        c.kubernetes_version = v;
                    }
                }
                "environments" => c.environments = self.environments(n),
                "rules" => c.rules = self.rules(n, k),
                "policies" => c.policies = self.policies(n),
                "external" => c.external = self.external(n),
                "ignore" => c.ignore = self.globs(n, k, true),
                "automerge" => c.automerge = self.automerge(n),
                "comments" => c.comments = self.comments(n),
                "chatops" => c.chatops = self.chatops(n),
                "deploy" => c.deploy = self.deploy(n),
                "repos" => c.repos = self.globs(n, k, false),
                _ => {}
            }
        }
        if self.check_refs {
            self.check_automerge_environments(root, &c);
        }
        c
    }

    fn version(&mut self, n: &Node) -> Option<u32> {
        let V::Num(num) = &n.v else {
            self.err(
                n,
                "version",
                format!("expected the number {SCHEMA_VERSION}, found {}", n.kind()),
            );
            return None;
        };
        match num.as_u64() {
            Some(v) if v == u64::from(SCHEMA_VERSION) => Some(SCHEMA_VERSION),
            _ => {
                self.err(
                    n,
                    "version",
                    format!("unsupported schema version {num} (this warden reads version {SCHEMA_VERSION})"),
                );
                None
            }
        }
    }

    fn kube_version(&mut self, n: &Node, key: &str) -> Option<KubeVersion> {
        if let V::Num(_) = n.v {
            self.err(
                n,
                key,
                "expected a string, found a number (put the version in quotes: \"1.30\" unquoted is the number 1.3)",
            );
            return None;
        }
        let s = self.str(n, key)?;
        match KubeVersion::parse(s) {
            Some(v) if v.major == 1 && s.len() <= 16 => Some(v),
            _ => {
                self.err(
                    n,
                    key,
                    format!(
                        "bad Kubernetes version {}: expected \"1.NN\" or \"v1.NN\"",
                        quote(s)
                    ),
                );
                None
            }
        }
    }

    fn environments(&mut self, n: &Node) -> Vec<Environment> {
        let key = "environments";
        let Some(entries) = self.map(n, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, body) in entries {
            let good_name = valid_env_name(name);
            if !good_name {
                self.err(
                    body,
                    key,
                    format!(
                        "bad environment name {}: use lowercase letters, digits and '-' (at most 63)",
                        quote(name)
                    ),
                );
            }
            let ek = child(key, name);
            let mut env = Environment {
                name: name.clone(),
                ..Environment::default()
            };
            for (k, v) in self.fields(body, &ek, ENV_KEYS) {
                let fk = child(&ek, k);
                match k {
                    "paths" => env.paths = self.globs(v, &fk, true),
                    "clusters" => env.clusters = self.strings(v, &fk, cluster_name),
                    "kubernetesVersion" => env.kubernetes_version = self.kube_version(v, &fk),
                    "rules" => env.rules = self.rules(v, &fk),
                    _ => {}
                }
            }
            if good_name {
                out.push(env);
            }
        }
        out
    }

    fn rules(&mut self, n: &Node, key: &str) -> BTreeMap<String, Level> {
        let mut out = BTreeMap::new();
        let Some(entries) = self.map(n, key) else {
            return out;
        };
        for (id, v) in entries {
            let known = self.known.contains(&id.as_str())
                || id
                    .strip_prefix("policy/")
                    .is_some_and(|r| !r.is_empty() && r.len() <= 256);
            if !known {
                if !self.full() {
                    let msg = format!("unknown rule {}{}", quote(id), did_you_mean(id, self.known));
                    self.err(v, key, msg);
                }
                continue;
            }
            if let Some(level) = self.keyword(v, &child(key, id), Level::parse, LEVELS) {
                out.insert(id.clone(), level);
            }
        }
        out
    }

    fn policies(&mut self, n: &Node) -> Policies {
        let mut p = Policies::default();
        for (k, v) in self.fields(n, "policies", POLICY_KEYS) {
            let key = child("policies", k);
            match k {
                "paths" => p.paths = self.strings(v, &key, rel_path),
                "namespaces" => p.namespaces = self.strings(v, &key, rego_package),
                _ => {}
            }
        }
        p
    }

    fn external(&mut self, n: &Node) -> Vec<ExternalRef> {
        let mut out = Vec::new();
        for (i, item) in self.seq(n, "external").iter().enumerate() {
            let key = index("external", i);
            let (mut kind, mut name, mut namespace) = (None, None, None);
            let mut ok = true;
            for (k, v) in self.fields(item, &key, EXTERNAL_KEYS) {
                let fk = child(&key, k);
                let Some(s) = self.str(v, &fk) else {
                    ok = false;
                    continue;
                };
                let checked = match k {
                    "kind" => kind_name(s).map(|()| kind = Some(s.to_string())),
                    "name" => object_name(s).map(|()| name = Some(s.to_string())),
                    _ => dns_label(s).map(|()| namespace = Some(s.to_string())),
                };
                if let Err(m) = checked {
                    self.err(v, &fk, m);
                    ok = false;
                }
            }
            if !matches!(item.v, V::Map(_)) {
                continue;
            }
            for (field, val) in [("kind", &kind), ("name", &name)] {
                if val.is_none() && item.get(field).is_none_or(Node::is_null) {
                    self.err(item, &key, format!("missing required key \"{field}\""));
                    ok = false;
                }
            }
            if let (true, Some(kind), Some(name)) = (ok, kind, name) {
                out.push(ExternalRef {
                    kind,
                    name,
                    namespace,
                });
            }
        }
        out
    }

    fn automerge(&mut self, n: &Node) -> Automerge {
        let mut a = Automerge::default();
        for (k, v) in self.fields(n, "automerge", AUTOMERGE_KEYS) {
            let key = child("automerge", k);
            match k {
                "environments" => {
                    a.environments = self.strings(v, &key, |s| {
                        if valid_env_name(s) {
                            Ok(s.to_string())
                        } else {
                            Err(format!("bad environment name {}", quote(s)))
                        }
                    })
                }
                "authors" => {
                    for (i, item) in self.seq(v, &key).iter().enumerate() {
                        let ik = index(&key, i);
                        if let Some(s) = self.str(item, &ik) {
                            match parse_author(s) {
                                Ok(author) => a.authors.push(author),
                                Err(m) => self.err(item, &ik, m),
                            }
                        }
                    }
                }
                "classes" => {
                    let words: Vec<&str> = ChangeClass::ALL.iter().map(|c| c.as_str()).collect();
                    for (i, item) in self.seq(v, &key).iter().enumerate() {
                        if let Some(c) =
                            self.keyword(item, &index(&key, i), ChangeClass::parse, &words)
                        {
                            a.classes.push(c);
                        }
                    }
                }
                "method" => {
                    let words: Vec<&str> = MergeMethod::ALL.iter().map(|c| c.as_str()).collect();
                    if let Some(m) = self.keyword(v, &key, MergeMethod::parse, &words) {
                        a.method = m;
                    }
                }
                "deleteBranch" => {
                    if let Some(b) = self.bool(v, &key) {
                        a.delete_branch = b;
                    }
                }
                "images" => {
                    let words: Vec<&str> = Bump::ALL.iter().map(|c| c.as_str()).collect();
                    let entries = self.map(v, &key).unwrap_or(&[]);
                    for (pattern, rule) in entries {
                        let glob = plain_glob(pattern).and_then(|p| Glob::new(&p));
                        let glob = match glob {
                            Ok(g) => g,
                            Err(e) => {
                                self.err(rule, &key, format!("bad glob {}: {e}", quote(pattern)));
                                continue;
                            }
                        };
                        if let Some(bump) =
                            self.keyword(rule, &child(&key, pattern), Bump::parse, &words)
                        {
                            a.images.push(ImageRule {
                                pattern: glob,
                                bump,
                            });
                        }
                    }
                }
                "freeze" => a.freeze = self.freeze(v, &key),
                _ => {}
            }
        }
        a
    }

    fn freeze(&mut self, n: &Node, key: &str) -> Vec<FreezeWindow> {
        let mut out = Vec::new();
        for (i, item) in self.seq(n, key).iter().enumerate() {
            let ik = index(key, i);
            let (mut from, mut to) = (None, None);
            for (k, v) in self.fields(item, &ik, FREEZE_KEYS) {
                let fk = child(&ik, k);
                let Some(s) = self.str(v, &fk) else { continue };
                match Date::parse(s) {
                    Some(d) if k == "from" => from = Some(d),
                    Some(d) => to = Some(d),
                    None => self.err(
                        v,
                        &fk,
                        format!("bad date {}: expected YYYY-MM-DD", quote(s)),
                    ),
                }
            }
            if !matches!(item.v, V::Map(_)) {
                continue;
            }
            for field in ["from", "to"] {
                if item.get(field).is_none_or(Node::is_null) {
                    self.err(item, &ik, format!("missing required key \"{field}\""));
                }
            }
            if let (Some(from), Some(to)) = (from, to) {
                if from > to {
                    self.err(
                        item,
                        &ik,
                        format!("\"from\" ({from}) is after \"to\" ({to})"),
                    );
                } else {
                    out.push(FreezeWindow { from, to });
                }
            }
        }
        out
    }

    fn comments(&mut self, n: &Node) -> Comments {
        let mut c = Comments::default();
        for (k, v) in self.fields(n, "comments", COMMENT_KEYS) {
            let key = child("comments", k);
            match k {
                "sticky" => {
                    if let Some(b) = self.bool(v, &key) {
                        c.sticky = b;
                    }
                }
                "diff" => {
                    let words: Vec<&str> = DiffMode::ALL.iter().map(|c| c.as_str()).collect();
                    if let Some(d) = self.keyword(v, &key, DiffMode::parse, &words) {
                        c.diff = d;
                    }
                }
                _ => {}
            }
        }
        c
    }

    fn chatops(&mut self, n: &Node) -> Chatops {
        let mut c = Chatops::default();
        for (k, v) in self.fields(n, "chatops", CHATOPS_KEYS) {
            let key = child("chatops", k);
            match k {
                "prefix" => {
                    if let Some(s) = self.str(v, &key) {
                        if s.is_empty()
                            || s.len() > 32
                            || s.chars().any(|c| c.is_whitespace() || c.is_control())
                        {
                            self.err(v, &key, format!("bad prefix {}: one word of at most 32 characters, e.g. /warden", quote(s)));
                        } else {
                            c.prefix = s.to_string();
                        }
                    }
                }
                "permissions" => {
                    let words: Vec<&str> = Permission::ALL.iter().map(|c| c.as_str()).collect();
                    let entries = self.map(v, &key).unwrap_or(&[]);
                    for (cmd, level) in entries {
                        let Some(builtin) = self.command(level, &key, cmd) else {
                            continue;
                        };
                        let ck = child(&key, cmd);
                        if let Some(p) = self.keyword(level, &ck, Permission::parse, &words) {
                            if p < builtin {
                                self.err(
                                    level,
                                    &ck,
                                    format!(
                                        "{p} is below the built-in {builtin}; a permission can only be raised"
                                    ),
                                );
                            } else {
                                c.permissions.insert(cmd.clone(), p);
                            }
                        }
                    }
                }
                "teams" => {
                    let entries = self.map(v, &key).unwrap_or(&[]);
                    for (cmd, list) in entries {
                        if self.command(list, &key, cmd).is_none() {
                            continue;
                        }
                        let teams = self.strings(list, &child(&key, cmd), |s| {
                            if valid_team(s) {
                                Ok(s.to_lowercase())
                            } else {
                                Err(format!("bad team {}: write org/team-slug", quote(s)))
                            }
                        });
                        c.teams.insert(cmd.clone(), teams);
                    }
                }
                _ => {}
            }
        }
        c
    }

    /// A command name under `chatops.permissions` / `chatops.teams`: its built-in permission.
    fn command(&mut self, at: &Node, key: &str, cmd: &str) -> Option<Permission> {
        if let Some(p) = crate::chatops::default_permission(cmd) {
            return Some(p);
        }
        let names: Vec<&str> = crate::chatops::COMMANDS.iter().map(|(c, _)| *c).collect();
        let hint = if valid_command(cmd) {
            crate::chatops::parse::closest(cmd)
                .map(|v| format!("; did you mean {}?", quote(v.name())))
                .unwrap_or_default()
        } else {
            String::new()
        };
        self.err(
            at,
            key,
            format!(
                "unknown command {}{hint} (commands: {})",
                quote(cmd),
                names.join(", ")
            ),
        );
        None
    }

    fn deploy(&mut self, n: &Node) -> Deploy {
        let mut d = Deploy::default();
        for (k, v) in self.fields(n, "deploy", DEPLOY_KEYS) {
            let key = child("deploy", k);
            if let Some(s) = self.str(v, &key) {
                match branch_name(s) {
                    Ok(()) => d.branch = Some(s.to_string()),
                    Err(m) => self.err(v, &key, m),
                }
            }
        }
        d
    }

    /// `automerge.environments` must name defined environments.
    fn check_automerge_environments(&mut self, root: &Node, c: &RepoConfig) {
        let Some(list) = root.get("automerge").and_then(|a| a.get("environments")) else {
            return;
        };
        let V::Seq(items) = &list.v else { return };
        let names: Vec<&str> = c.environments.iter().map(|e| e.name.as_str()).collect();
        for (i, item) in items.iter().enumerate() {
            if let V::Str(s) = &item.v
                && valid_env_name(s)
                && !names.contains(&s.as_str())
                && !self.full()
            {
                let msg = format!(
                    "unknown environment {} (not under `environments:`){}",
                    quote(s),
                    did_you_mean(s, &names)
                );
                self.err(item, &index("automerge.environments", i), msg);
            }
        }
    }
}

/// A YAML duplicate-key error, told as such with the key path of the mapping.
fn duplicate_key(text: &str, line: usize, msg: &str) -> Option<(String, String)> {
    let name = msg
        .strip_prefix("mapping key \"")?
        .strip_suffix("\" already defined")?;
    let limits = Limits {
        allow_duplicate_keys: true,
        ..limits()
    };
    let docs = yaml::parse_stream_with_lines(text, &limits).ok()?;
    let path = docs.iter().find_map(|d| {
        d.lines
            .0
            .iter()
            .filter(|(p, l)| **l == line && matches!(p.last(), Some(Seg::Key(k)) if k == name))
            .map(|(p, _)| p.clone())
            .min_by_key(|p| p.len())
    })?;
    let parent = path_key(&path[..path.len() - 1]);
    let message = if parent == "environments" {
        format!("environment {} is defined twice", quote(name))
    } else {
        format!("key {} is defined twice", quote(name))
    };
    Some((parent, message))
}

fn path_key(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        s = match seg {
            Seg::Key(k) => child(&s, k),
            Seg::Index(i) => index(&s, *i),
        };
    }
    s
}

/// `parent.key`, or `parent["odd key"]` when the key is not a plain word.
fn child(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'/');
    match (plain, parent.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!("{parent}[{}]", quote(key)),
    }
}

fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// ` (did you mean "x"?)` for the closest candidate, if one is close.
fn did_you_mean(s: &str, candidates: &[&str]) -> String {
    if s.len() > MAX_SUGGEST_LEN {
        return String::new();
    }
    let lower = s.to_ascii_lowercase();
    candidates
        .iter()
        .filter(|c| c.len() <= MAX_SUGGEST_LEN)
        .map(|c| (strsim::osa_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| {
            let prefix = s.len() >= 3 && c.starts_with(s);
            prefix || (*d <= 3 && *d * 3 <= c.len().max(s.len()))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean {}?)", quote(c)))
        .unwrap_or_default()
}

fn valid_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_team(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    };
    s.split_once('/')
        .is_some_and(|(org, team)| ok(org) && ok(team))
}

fn valid_command(s: &str) -> bool {
    s.len() <= 32
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Common checks of a repo-relative path or path glob; returns it normalized (`./a/` → `a`).
fn rel_path(s: &str) -> Result<String, String> {
    let q = quote(s);
    if s.len() > MAX_GLOB_LEN {
        return Err(format!("{q} is too long"));
    }
    if s.starts_with('/') {
        return Err(format!(
            "{q} must be relative to the repo root (no leading /)"
        ));
    }
    if s.contains('\\') || s.chars().any(char::is_control) {
        return Err(format!(
            "{q} must use / as separator and no control characters"
        ));
    }
    let parts: Vec<&str> = s
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!("{q} must stay inside the repo (no ..)"));
    }
    if parts.is_empty() {
        return Err(format!("{q} is empty"));
    }
    Ok(parts.join("/"))
}

fn path_glob(s: &str) -> Result<String, String> {
    rel_path(s)
}

fn plain_glob(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty glob".into());
    }
    if s.len() > MAX_GLOB_LEN {
        return Err(format!("{} is too long", quote(s)));
    }
    Ok(s.to_string())
}

fn cluster_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 253 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "bad cluster name {}: one word of at most 253 characters",
            quote(s)
        ));
    }
    Ok(s.to_string())
}

fn rego_package(s: &str) -> Result<String, String> {
    let ok = s.len() <= 256
        && s.split('.').all(|part| {
            part.as_bytes()
                .first()
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "bad Rego package {}: expected dotted identifiers such as main or k8s.admission",
            quote(s)
        ))
    }
}

fn kind_name(s: &str) -> Result<(), String> {
    let ok = s.len() <= 63
        && s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad kind {}: expected a kind such as Secret",
            quote(s)
        ))
    }
}

fn object_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    if ok {
        Ok(())
    } else {
        Err(format!("bad object name {}", quote(s)))
    }
}

fn dns_label(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-';
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad namespace {}: lowercase letters, digits and '-', at most 63",
            quote(s)
        ))
    }
}

/// A GitHub login: letters, digits and single hyphens, not at either end, at most 39.
fn valid_login(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 39
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

fn parse_author(s: &str) -> Result<Author, String> {
    let bad = || {
        format!(
            "bad author {}: expected a user (alice), a bot (renovate[bot]) or a team (@org/team)",
            quote(s)
        )
    };
    if let Some(team) = s.strip_prefix('@') {
        let (org, slug) = team.split_once('/').ok_or_else(bad)?;
        let slug_ok = !slug.is_empty()
            && slug.len() <= 100
            && slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        return if valid_login(org) && slug_ok {
            Ok(Author::Team {
                org: org.to_string(),
                team: slug.to_string(),
            })
        } else {
            Err(bad())
        };
    }
    if let Some(bot) = s.strip_suffix("[bot]") {
        return if valid_login(bot) {
            Ok(Author::Bot(s.to_string()))
        } else {
            Err(bad())
        };
    }
    if valid_login(s) {
        Ok(Author::User(s.to_string()))
    } else {
        Err(bad())
    }
}

/// The parts of git's ref-name rules that matter for a branch name.
fn branch_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && !s.starts_with(['-', '/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.ends_with(".lock")
        && !s.contains("..")
        && !s.contains("//")
        && !s.contains("@{")
        && s != "@"
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("bad branch name {}", quote(s)))
    }
}
