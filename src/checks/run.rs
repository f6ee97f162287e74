//! Running every check over a repo snapshot: discover targets, render them, keep the affected
//! ones, run schema, deprecation, workload, consistency, secret and policy checks on each
//! render, apply suppressions and configured severities, and point findings at source lines.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::locate::Locator;
use super::rego::{Policies, PolicyData};
use super::schema::Schemas;
use super::{Finding, KubeVersion, Level, Rule, Severity, Subject};
use crate::kustomize::{BuildOptions, build_reading};
use crate::manifest::{Object, get_str};
use crate::repo::Snapshot;
use crate::repo::config::RepoConfig;
use crate::repo::targets::{self, Target};

/// The annotation that silences rules on one object: `warden.dev/ignore: rule-a,rule-b`
/// (`*` silences every rule).
pub const IGNORE_ANNOTATION: &str = "warden.dev/ignore";

/// Rules of the runner itself.
pub const RULES: &[Rule] = &[
    Rule {
        id: "render-error",
        default: Level::Error,
        summary: "The kustomization does not render",
        help: "Warden renders every target as `kubectl kustomize` would. Fix the error it names \
               (run `warden render DIR` locally to see it); a target that does not render cannot \
               be deployed either.",
    },
    Rule {
        id: "config-invalid",
        default: Level::Error,
        summary: "`.github/warden.yml` is not valid",
        help: "The repo config has a key or value Warden does not understand. The message names \
               the key and line; see docs/config.md for every key.",
    },
    Rule {
        id: "config-changed",
        default: Level::Info,
        summary: "The pull request changes `.github/warden.yml`",
        help: "Pull requests are checked with the base branch's config, so a pull request cannot \
               loosen the rules that gate it; the new config applies once merged.",
    },
    Rule {
        id: targets::TARGET_SKIPPED,
        default: Level::Info,
        summary: "A deploy object names a path Warden cannot render",
        help: "An Argo CD Application or Flux Kustomization deploys a directory without a \
               kustomization.yaml. Warden renders kustomizations only: add a kustomization.yaml \
               listing the manifests to have the directory checked.",
    },
];

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Only targets of this environment.
    pub environment: Option<String>,
    /// Files changed since the base: only targets whose input closure meets them are checked.
    /// `None`: every target.
    pub changed: Option<Vec<String>>,
    /// `owner/name`, given to policies as `data.warden.repo`.
    pub repo_name: String,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// The object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ResourceRef {
    fn of(obj: &Object) -> ResourceRef {
        let s = |p: &[&str]| get_str(obj, p).unwrap_or("").to_string();
        ResourceRef {
            api_version: s(&["apiVersion"]),
            kind: s(&["kind"]),
            namespace: s(&["metadata", "namespace"]),
            name: s(&["metadata", "name"]),
        }
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A finding as reported: located, levelled, with its target and object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reported {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// Repo-relative file (`None` when the finding has no place in the repo).
    pub file: Option<String>,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    pub target: Option<String>,
    pub environment: Option<String>,
    pub resource: Option<ResourceRef>,
    /// Path of the offending field in the rendered object (`spec.replicas`).
    pub field: Option<String>,
    /// Silenced by a `warden.dev/ignore` annotation (still counted, never failing).
    pub suppressed: bool,
}

/// How one target went.
#[derive(Debug, Clone, Serialize)]
pub struct TargetResult {
    #[serde(flatten)]
    pub target: Target,
    /// Whether the change touches its inputs (always true without a base).
    pub affected: bool,
    /// Objects in its render.
    pub objects: usize,
    /// The render error, if it did not render.
    pub error: Option<String>,
}

/// Everything `warden check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub targets: Vec<TargetResult>,
    pub findings: Vec<Reported>,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub targets: usize,
    pub checked: usize,
    pub objects: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    pub suppressed: usize,
}

impl CheckReport {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            targets: self.targets.len(),
            checked: self.targets.iter().filter(|t| t.affected).count(),
            objects: self
                .targets
                .iter()
                .filter(|t| t.affected)
                .map(|t| t.objects)
                .sum(),
            ..Summary::default()
        };
        for f in &self.findings {
            if f.suppressed {
                s.suppressed += 1;
                continue;
            }
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }

    /// True when an unsuppressed error-severity finding is present.
    pub fn failed(&self) -> bool {
        self.findings
            .iter()
            .any(|f| !f.suppressed && f.severity == Severity::Error)
    }
}

/// Every built-in rule Warden knows, in a stable order.
pub fn all_rules() -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    for set in [
        super::schema::RULES,
        super::deprecations::RULES,
        super::workload::RULES,
        super::consistency::RULES,
        super::secrets::RULES,
        super::rego::RULES,
        RULES,
    ] {
        rules.extend_from_slice(set);
    }
    rules
}

/// The repo's config (`.github/warden.yml`, over the org defaults when given as (path, text)),
/// with its problems as `config-invalid` findings; the defaults when it cannot be read.
pub fn load_config(snap: &Snapshot, org: Option<(&str, &str)>) -> (RepoConfig, Vec<Finding>) {
    use crate::repo::config::{self, REPO_FILE};
    let repo_text = snap.read_text(REPO_FILE);
    let mut problems = Vec::new();
    if repo_text.is_none() && snap.exists(".github/warden.yaml") {
        problems.push(Finding::in_file(
            "config-invalid",
            Severity::Error,
            ".github/warden.yaml",
            0,
            "Warden reads .github/warden.yml (with .yml); rename this file",
        ));
    }
    let rules = all_rules();
    let known: Vec<&str> = rules.iter().map(|r| r.id).collect();
    match config::load(repo_text.as_deref().map(|t| (REPO_FILE, t)), org, &known) {
        Ok(c) => (c, problems),
        Err(errors) => {
            problems.extend(errors.errors.into_iter().map(|e| {
                let message = if e.key.is_empty() {
                    e.message
                } else {
                    format!("{}: {}", e.key, e.message)
                };
                Finding::in_file("config-invalid", Severity::Error, e.file, e.line, message)
            }));
            (RepoConfig::default(), problems)
        }
    }
}

/// Check a snapshot. `config` is the repo's (already loaded) config; `config_errors` are
/// problems found while loading it, reported as `config-invalid` findings.
pub fn check(
    snap: &Snapshot,
    config: &RepoConfig,
    config_errors: Vec<Finding>,
    opts: &CheckOptions,
) -> CheckReport {
    let rules = all_rules();
    let defaults: HashMap<&str, Level> = rules.iter().map(|r| (r.id, r.default)).collect();
    let mut report = CheckReport::default();
    let mut global: Vec<Finding> = config_errors;

    // Targets.
    let has_envs = !config.environments.is_empty();
    let env_of = |dir: &str| config.environment_of(dir).map(|e| e.name.clone());
    let ignored = |path: &str| config.is_ignored(path);
    let discovery = targets::discover(snap, if has_envs { Some(&env_of) } else { None }, &ignored);
    global.extend(discovery.notes);
    let mut found: Vec<Target> = discovery.targets;
    if let Some(env) = &opts.environment {
        found.retain(|t| &t.environment == env);
    }

    // Policies, compiled once.
    let policy_files = policy_files(snap, &config.policies.paths);
    let policies = match Policies::compile(&policy_files, &config.policies.namespaces) {
        Ok(p) => Some(p),
        Err(errors) => {
            global.extend(errors);
            None
        }
    };

    // A change to the config or to a policy affects every target.
    let changed: Option<BTreeSet<&str>> = opts
        .changed
        .as_ref()
        .map(|c| c.iter().map(String::as_str).collect());
    let global_change = changed.as_ref().is_some_and(|c| {
        c.iter().any(|f| {
            *f == crate::repo::config::REPO_FILE
                || policy_files.iter().any(|(p, _)| p == f)
                || config
                    .policies
                    .paths
                    .iter()
                    .any(|d| f.starts_with(&format!("{}/", d.trim_end_matches('/'))))
        })
    });

    // Custom resource definitions anywhere in the repo, and schemas per version.
    let crds = repo_crds(snap);
    let mut schemas: HashMap<KubeVersion, Option<Schemas>> = HashMap::new();
    for t in &found {
        let v = config.kube_version_for(Some(&t.environment));
        if schemas.contains_key(&v) {
            continue;
        }
        let s = match Schemas::new(v) {
            Ok(mut s) => {
                for crd in &crds {
                    if let Err(e) = s.add_crd(&crd.obj) {
                        global.push(Finding::in_file(
                            "schema",
                            Severity::Warning,
                            &crd.file,
                            crd.line,
                            format!("CustomResourceDefinition {:?}: {e}", crd.name),
                        ));
                    }
                }
                Some(s)
            }
            Err(e) => {
                global.push(Finding::in_file(
                    "config-invalid",
                    Severity::Error,
                    crate::repo::config::REPO_FILE,
                    0,
                    e.to_string(),
                ));
                None
            }
        };
        schemas.insert(v, s);
    }

    // Targets in parallel.
    let results = crate::parallel::map(&found, opts.threads, |target| {
        let version = config.kube_version_for(Some(&target.environment));
        let ctx = TargetCtx {
            snap,
            config,
            defaults: &defaults,
            schemas: schemas.get(&version).and_then(Option::as_ref),
            policies: policies.as_ref(),
            version,
            repo_name: &opts.repo_name,
        };
        check_target(&ctx, target, changed.as_ref(), global_change)
    });

    for f in global {
        let level = configured(config, &defaults, &f.rule, None, f.severity);
        if let Some(severity) = level.severity() {
            report.findings.push(Reported {
                rule: f.rule,
                severity,
                message: f.message,
                file: f.file,
                line: f.line,
                target: None,
                environment: None,
                resource: None,
                field: None,
                suppressed: false,
            });
        }
    }
    for (t, findings) in results {
        report.targets.push(t);
        report.findings.extend(findings);
    }
    report
}

struct TargetCtx<'a> {
    snap: &'a Snapshot,
    config: &'a RepoConfig,
    defaults: &'a HashMap<&'static str, Level>,
    schemas: Option<&'a Schemas>,
    policies: Option<&'a Policies>,
    version: KubeVersion,
    repo_name: &'a str,
}

/// The level a finding gets: the configured one for its rule (environment override first),
/// else the rule's default, else (policies) the severity the policy gave it.
fn configured(
    config: &RepoConfig,
    defaults: &HashMap<&str, Level>,
    rule: &str,
    env: Option<&str>,
    own: Severity,
) -> Level {
    let default = defaults.get(rule).copied().unwrap_or(match own {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Info => Level::Info,
    });
    config.level(rule, env, default)
}

fn check_target(
    ctx: &TargetCtx<'_>,
    target: &Target,
    changed: Option<&BTreeSet<&str>>,
    global_change: bool,
) -> (TargetResult, Vec<Reported>) {
    let snap = ctx.snap;
    let rendered = build_reading(snap.fs(), &snap.path(&target.dir), &BuildOptions::default());
    let read = match &rendered {
        Ok(r) => &r.inputs,
        Err((_, read)) => read,
    };
    let closure: BTreeSet<String> = read.iter().filter_map(|p| snap.relative(p)).collect();
    let affected = match changed {
        None => true,
        Some(changed) => {
            global_change
                || closure.iter().any(|f| changed.contains(f.as_str()))
                // A file added to or removed from the target's own directory (a build that
                // failed may not have read it).
                || (rendered.is_err()
                    && changed
                        .iter()
                        .any(|f| f.starts_with(&format!("{}/", target.dir)) || target.dir == "."))
        }
    };
    let mut result = TargetResult {
        target: target.clone(),
        affected,
        objects: 0,
        error: None,
    };
    if !affected {
        return (result, Vec::new());
    }
    let env = target.environment.as_str();
    let mut out = Vec::new();
    let rendered = match rendered {
        Ok(r) => r,
        Err((e, _)) => {
            // Kustomize's message names the file (relative to the target) and often the line;
            // else the target's own kustomization file.
            let (kfile, line) = match render_error_place(snap, &target.dir, &e.to_string()) {
                Some((file, line)) => (Some(file), line),
                None => (
                    crate::kustomize::kustomization::FILE_NAMES
                        .iter()
                        .map(|n| {
                            if target.dir == "." {
                                n.to_string()
                            } else {
                                format!("{}/{n}", target.dir)
                            }
                        })
                        .find(|f| snap.exists(f)),
                    0,
                ),
            };
            result.error = Some(e.to_string());
            let level = configured(
                ctx.config,
                ctx.defaults,
                "render-error",
                Some(env),
                Severity::Error,
            );
            if let Some(severity) = level.severity() {
                out.push(Reported {
                    rule: "render-error".into(),
                    severity,
                    message: format!("{e}"),
                    file: kfile,
                    line,
                    target: Some(target.dir.clone()),
                    environment: Some(env.to_string()),
                    resource: None,
                    field: None,
                    suppressed: false,
                });
            }
            return (result, out);
        }
    };
    result.objects = rendered.resources.len();
    let subjects: Vec<Subject<'_>> = rendered
        .resources
        .iter()
        .map(|r| Subject {
            obj: &r.obj,
            origin: &r.origin,
        })
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    let data = PolicyData {
        environment: env.to_string(),
        target: target.dir.clone(),
        repo: ctx.repo_name.to_string(),
    };
    let mut evaluator = match ctx
        .policies
        .filter(|p| !p.is_empty())
        .map(|p| p.evaluator(&data))
    {
        Some(Ok(ev)) => Some(ev),
        Some(Err(f)) => {
            findings.push(*f);
            None
        }
        None => None,
    };
    for (i, s) in subjects.iter().enumerate() {
        if let Some(schemas) = ctx.schemas {
            schemas.validate(i, s.obj, &mut findings);
        }
        super::deprecations::check(i, s.obj, ctx.version, &mut findings);
        super::workload::check(i, s.obj, &mut findings);
        super::secrets::check(i, s, &mut findings);
        if let Some(ev) = evaluator.as_mut() {
            ev.evaluate(i, s.obj, &mut findings);
        }
    }
    super::consistency::check(&subjects, ctx.config.external_refs(), &mut findings);
    // A removed API version has no schema either: say it once, as the removal.
    let removed: BTreeSet<usize> = findings
        .iter()
        .filter(|f| f.rule == super::deprecations::RULE_REMOVED)
        .filter_map(|f| f.object)
        .collect();
    findings.retain(|f| {
        !(f.rule == super::schema::RULE_UNKNOWN_KIND
            && f.object.is_some_and(|o| removed.contains(&o)))
    });

    let mut locator = Locator::new(snap.fs(), snap.root());
    let kustomizations = super::locate::kustomizations_of(&target.dir, closure.iter());
    for f in findings {
        let level = configured(ctx.config, ctx.defaults, &f.rule, Some(env), f.severity);
        let Some(severity) = level.severity() else {
            continue;
        };
        let obj = f.object.and_then(|i| subjects.get(i));
        let suppressed = obj.is_some_and(|s| ignores(s.obj, &f.rule));
        let (file, line) = match (&f.file, obj) {
            (Some(file), _) => (Some(file.clone()), f.line),
            (None, Some(s)) => {
                match locator.locate(&target.dir, &kustomizations, s.obj, s.origin, &f.path) {
                    Some(p) => (Some(p.file), p.line),
                    None => (None, 0),
                }
            }
            (None, None) => (None, 0),
        };
        out.push(Reported {
            rule: f.rule,
            severity,
            message: f.message,
            file,
            line,
            target: Some(target.dir.clone()),
            environment: Some(env.to_string()),
            resource: obj.map(|s| ResourceRef::of(s.obj)),
            field: (!f.path.is_empty()).then(|| super::path_to_string(&f.path)),
            suppressed,
        });
    }
    (result, out)
}

/// The innermost repo file (and line, when given) a render error names: Kustomize prints paths
/// relative to the target directory, as `FILE: line N, column M: …` or `FILE:N: …`.
fn render_error_place(snap: &Snapshot, target_dir: &str, msg: &str) -> Option<(String, usize)> {
    static FILE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"([A-Za-z0-9_.][A-Za-z0-9_./-]*(?:\.ya?ml|\.json|Kustomization))(?::(\d+)|: line (\d+))?",
        )
        .expect("valid regex")
    });
    FILE.captures_iter(msg)
        .filter_map(|c| {
            let rel = c.get(1)?.as_str();
            let joined = if target_dir == "." {
                rel.to_string()
            } else {
                format!("{target_dir}/{rel}")
            };
            let file = targets::normalize(&joined)?;
            if !snap.exists(&file) {
                return None;
            }
            let line = c
                .get(2)
                .or_else(|| c.get(3))
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or(0);
            Some((file, line))
        })
        .last()
}

/// Whether the object's `warden.dev/ignore` annotation names the rule.
fn ignores(obj: &Object, rule: &str) -> bool {
    get_str(obj, &["metadata", "annotations", IGNORE_ANNOTATION]).is_some_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|r| r == rule || r == "*")
    })
}

/// Every `.rego` file under the policy directories: (repo-relative path, text).
fn policy_files(snap: &Snapshot, dirs: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in dirs {
        let dir = dir.trim_end_matches('/');
        for f in snap.files_under(dir) {
            if f.ends_with(".rego")
                && let Some(text) = snap.read_text(f)
            {
                out.push((f.clone(), text));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A CustomResourceDefinition found in the repo.
struct Crd {
    file: String,
    line: usize,
    name: String,
    obj: Object,
}

fn repo_crds(snap: &Snapshot) -> Vec<Crd> {
    let yaml = |f: &str| f.ends_with(".yaml") || f.ends_with(".yml");
    snap.objects_mentioning(&["CustomResourceDefinition"], &yaml)
        .into_iter()
        .filter(|(_, _, obj)| {
            get_str(obj, &["kind"]) == Some("CustomResourceDefinition")
                && get_str(obj, &["apiVersion"])
                    .is_some_and(|a| a.starts_with("apiextensions.k8s.io/"))
        })
        .map(|(file, line, obj)| Crd {
            file,
            line,
            name: get_str(&obj, &["metadata", "name"])
                .unwrap_or("")
                .to_string(),
            obj,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::snapshot::files_from;
    use std::path::Path;

    #[test]
    fn render_errors_point_at_the_file_and_line_kustomize_names() {
        let snap = Snapshot::from_files(
            Path::new("/r"),
            "test",
            files_from([
                ("base/kustomization.yaml", "resources: [d.yaml]\n"),
                ("base/d.yaml", "a: [\n"),
                ("ov/kustomization.yaml", "resources: [../base]\n"),
            ]),
        );
        let place = |msg: &str| render_error_place(&snap, "ov", msg);
        assert_eq!(
            place("in '../base': ../base/d.yaml: line 7, column 1: did not find expected node"),
            Some(("base/d.yaml".into(), 7))
        );
        assert_eq!(
            place("in '../base': ../base/d.yaml:1: missing kind in object"),
            Some(("base/d.yaml".into(), 1))
        );
        assert_eq!(
            place("kustomization.yaml: line 4, column 1: bad"),
            Some(("ov/kustomization.yaml".into(), 4))
        );
        // A file that is not in the repo (a missing resource) is not a place.
        assert_eq!(place("missing.yaml: no such file"), None);
        assert_eq!(
            place("../base/kustomization.yaml: missing.yaml: no such file"),
            Some(("base/kustomization.yaml".into(), 0))
        );
    }

    #[test]
    fn ignore_annotation_lists_rules() {
        let obj: Object =
            serde_json::from_str(r#"{"metadata":{"annotations":{"warden.dev/ignore":"a, b"}}}"#)
                .unwrap();
        assert!(ignores(&obj, "a"));
        assert!(ignores(&obj, "b"));
        assert!(!ignores(&obj, "c"));
        let all: Object =
            serde_json::from_str(r#"{"metadata":{"annotations":{"warden.dev/ignore":"*"}}}"#)
                .unwrap();
        assert!(ignores(&all, "anything"));
    }
}
