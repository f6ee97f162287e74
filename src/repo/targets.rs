//! Targets: the kustomization roots Warden renders and checks, each in an environment.
//!
//! With environments in `.github/warden.yml`, the targets are the kustomization directories their
//! `paths` globs match. Without, they are discovered the way the cluster side finds them: Argo CD
//! `Application`s (`spec.source.path`, `spec.sources[].path`) and `ApplicationSet`s with git
//! directory generators, Flux `Kustomization`s (`spec.path`); failing those, every leaf
//! kustomization root (one that no other kustomization includes, and not a `Component`).

use std::collections::{BTreeMap, BTreeSet};

use globset::{GlobBuilder, GlobMatcher};
use serde_json::Value;

use super::Snapshot;
use crate::checks::{Finding, Severity};
use crate::kustomize::kustomization::FILE_NAMES;
use crate::manifest::{Object, get_str};
use crate::yaml::{Limits, parse_stream};

/// How a target was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum TargetSource {
    /// Matched an environment's `paths` in `.github/warden.yml`.
    Config,
    /// An Argo CD `Application`, `ApplicationSet` or Flux `Kustomization` object.
    Object {
        kind: String,
        name: String,
        file: String,
        line: usize,
    },
    /// A kustomization root no other kustomization includes.
    Leaf,
}

/// One kustomization root to render and check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    /// Repo-relative directory (`overlays/production`, `.` for the root).
    pub dir: String,
    pub environment: String,
    pub source: TargetSource,
}

/// The targets found, and notes about objects that name something Warden cannot render.
#[derive(Debug, Default)]
pub struct Discovery {
    pub targets: Vec<Target>,
    pub notes: Vec<Finding>,
}

/// Maps a kustomization directory to its configured environment.
pub type EnvironmentOf<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Rule id of a note about a deploy object whose path Warden does not render.
pub const TARGET_SKIPPED: &str = "target-skipped";

/// The repo's targets. `configured` maps a kustomization directory to its environment when
/// `.github/warden.yml` declares environments (then nothing is discovered); `ignored` tells
/// which paths are never targets.
pub fn discover(
    snap: &Snapshot,
    configured: Option<&EnvironmentOf<'_>>,
    ignored: &dyn Fn(&str) -> bool,
) -> Discovery {
    let dirs: Vec<String> = snap
        .kustomization_dirs()
        .into_iter()
        .filter(|d| !ignored(d))
        .collect();
    let kustomizations = read_kustomizations(snap, &dirs);
    let mut out = Discovery::default();
    if let Some(env_of) = configured {
        for dir in &dirs {
            if kustomizations.get(dir).is_some_and(|k| k.component) {
                continue;
            }
            if let Some(environment) = env_of(dir) {
                out.targets.push(Target {
                    dir: dir.clone(),
                    environment,
                    source: TargetSource::Config,
                });
            }
        }
        return out;
    }
    let dir_set: BTreeSet<&str> = dirs.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    for found in deploy_objects(snap, ignored) {
        for chart in found.helm_charts() {
            out.notes.push(Finding::in_file(
                TARGET_SKIPPED,
                Severity::Info,
                &found.file,
                found.line,
                format!(
                    "{} {:?} deploys the Helm chart {chart:?}; Warden does not render Helm charts,                      so what it deploys is not checked",
                    found.kind, found.name
                ),
            ));
        }
        for (path, environment) in found.paths(&dirs) {
            if !dir_set.contains(path.as_str()) {
                if snap.files_under(&path).next().is_some() {
                    out.notes.push(Finding::in_file(
                        TARGET_SKIPPED,
                        Severity::Info,
                        &found.file,
                        found.line,
                        format!(
                            "{} {:?} deploys {path:?}, which has no kustomization.yaml; Warden renders \
                             only kustomizations, so add one (listing the manifests) to have it checked",
                            found.kind, found.name
                        ),
                    ));
                }
                continue;
            }
            if !seen.insert(path.clone()) {
                continue;
            }
            out.targets.push(Target {
                dir: path,
                environment,
                source: TargetSource::Object {
                    kind: found.kind.clone(),
                    name: found.name.clone(),
                    file: found.file.clone(),
                    line: found.line,
                },
            });
        }
    }
    if !out.targets.is_empty() {
        out.targets.sort_by(|a, b| a.dir.cmp(&b.dir));
        return out;
    }
    // Leaf kustomization roots.
    let included: BTreeSet<&str> = kustomizations
        .values()
        .flat_map(|k| k.includes.iter().map(String::as_str))
        .collect();
    for dir in &dirs {
        let k = kustomizations.get(dir);
        if k.is_some_and(|k| k.component) || included.contains(dir.as_str()) {
            continue;
        }
        out.targets.push(Target {
            dir: dir.clone(),
            environment: environment_from_path(dir).unwrap_or_else(|| "default".into()),
            source: TargetSource::Leaf,
        });
    }
    out
}

/// What discovery needs of a kustomization file.
#[derive(Debug, Default)]
struct KustomizationInfo {
    component: bool,
    /// Directories it includes (resources, bases, components), repo-relative.
    includes: Vec<String>,
}

fn read_kustomizations(snap: &Snapshot, dirs: &[String]) -> BTreeMap<String, KustomizationInfo> {
    let mut out = BTreeMap::new();
    for dir in dirs {
        let Some(text) = FILE_NAMES
            .iter()
            .map(|n| join(dir, n))
            .find(|f| snap.exists(f))
            .and_then(|f| snap.read_text(&f))
        else {
            continue;
        };
        let mut info = KustomizationInfo::default();
        // A file that does not parse is reported when the target is rendered.
        if let Ok(docs) = parse_stream(&text, &kustomization_limits())
            && let Some(Value::Object(k)) = docs.into_iter().next().map(|d| d.value)
        {
            info.component = get_str(&k, &["kind"]) == Some("Component");
            for field in ["resources", "bases", "components"] {
                for entry in k.get(field).and_then(Value::as_array).into_iter().flatten() {
                    if let Some(e) = entry.as_str()
                        && !e.contains("://")
                        && let Some(p) = normalize(&join(dir, e))
                    {
                        info.includes.push(p);
                    }
                }
            }
        }
        out.insert(dir.clone(), info);
    }
    out
}

fn kustomization_limits() -> Limits {
    Limits {
        allow_duplicate_keys: true,
        ..Limits::default()
    }
}

/// An Argo CD or Flux object that names paths in a repo.
struct DeployObject {
    kind: String,
    name: String,
    file: String,
    line: usize,
    obj: Object,
}

/// Markers of the objects discovery looks for (files without one are not parsed).
const MARKERS: &[&str] = &["argoproj.io", "kustomize.toolkit.fluxcd.io"];

fn deploy_objects(snap: &Snapshot, ignored: &dyn Fn(&str) -> bool) -> Vec<DeployObject> {
    let manifest = |f: &str| {
        (f.ends_with(".yaml") || f.ends_with(".yml") || f.ends_with(".json")) && !ignored(f)
    };
    let mut out = Vec::new();
    for (file, line, obj) in snap.objects_mentioning(MARKERS, &manifest) {
        let api = get_str(&obj, &["apiVersion"]).unwrap_or("");
        let kind = get_str(&obj, &["kind"]).unwrap_or("");
        let relevant = (api.starts_with("argoproj.io/")
            && matches!(kind, "Application" | "ApplicationSet"))
            || (api.starts_with("kustomize.toolkit.fluxcd.io/") && kind == "Kustomization");
        if relevant {
            out.push(DeployObject {
                kind: kind.to_string(),
                name: get_str(&obj, &["metadata", "name"])
                    .unwrap_or("")
                    .to_string(),
                file,
                line,
                obj,
            });
        }
    }
    out
}

impl DeployObject {
    /// The Helm charts an Application deploys (`spec.source.chart`, `spec.sources[].chart`).
    fn helm_charts(&self) -> Vec<String> {
        if self.kind != "Application" {
            return Vec::new();
        }
        self.sources()
            .iter()
            .filter_map(|s| s.get("chart").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    }

    /// An Application's sources: `spec.source` and `spec.sources[]`.
    fn sources(&self) -> Vec<&Value> {
        let spec = self.obj.get("spec");
        let mut sources: Vec<&Value> = spec.and_then(|s| s.get("source")).into_iter().collect();
        if let Some(list) = spec
            .and_then(|s| s.get("sources"))
            .and_then(Value::as_array)
        {
            sources.extend(list);
        }
        sources
    }

    /// The repo paths this object deploys, each with its environment.
    fn paths(&self, dirs: &[String]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self.kind.as_str() {
            "Application" => {
                let dest = self.obj.get("spec").and_then(|s| s.get("destination"));
                let from_object = ["name", "namespace"]
                    .iter()
                    .filter_map(|k| dest.and_then(|d| d.get(*k)).and_then(Value::as_str))
                    .find(|v| !v.is_empty() && !v.contains("{{"))
                    .map(str::to_string);
                for src in self.sources() {
                    // Helm charts are not kustomizations.
                    if src.get("chart").is_some() {
                        continue;
                    }
                    if let Some(p) = src.get("path").and_then(Value::as_str)
                        && let Some(p) = normalize(p)
                    {
                        let env = environment_from_path(&p)
                            .or_else(|| from_object.clone())
                            .unwrap_or_else(|| "default".into());
                        out.push((p, env));
                    }
                }
            }
            "ApplicationSet" => {
                let mut globs = Vec::new();
                collect_git_directories(
                    self.obj.get("spec").and_then(|s| s.get("generators")),
                    &mut globs,
                    0,
                );
                let (include, exclude): (Vec<_>, Vec<_>) =
                    globs.into_iter().partition(|(_, ex)| !ex);
                let compile = |g: &str| -> Option<GlobMatcher> {
                    GlobBuilder::new(g.trim_start_matches("./"))
                        .literal_separator(true)
                        .build()
                        .ok()
                        .map(|g| g.compile_matcher())
                };
                let include: Vec<GlobMatcher> =
                    include.iter().filter_map(|(g, _)| compile(g)).collect();
                let exclude: Vec<GlobMatcher> =
                    exclude.iter().filter_map(|(g, _)| compile(g)).collect();
                for dir in dirs {
                    if include.iter().any(|g| g.is_match(dir))
                        && !exclude.iter().any(|g| g.is_match(dir))
                    {
                        let env = environment_from_path(dir).unwrap_or_else(|| "default".into());
                        out.push((dir.clone(), env));
                    }
                }
            }
            _ => {
                // Flux Kustomization.
                if let Some(p) = get_str(&self.obj, &["spec", "path"]).and_then(normalize) {
                    let env = environment_from_path(&p)
                        .or_else(|| {
                            get_str(&self.obj, &["metadata", "namespace"])
                                .filter(|ns| *ns != "flux-system")
                                .map(str::to_string)
                        })
                        .unwrap_or_else(|| "default".into());
                    out.push((p, env));
                }
            }
        }
        out
    }
}

/// Git directory generators of an ApplicationSet, also inside matrix and merge generators.
fn collect_git_directories(
    generators: Option<&Value>,
    out: &mut Vec<(String, bool)>,
    depth: usize,
) {
    if depth > 4 {
        return;
    }
    for g in generators.and_then(Value::as_array).into_iter().flatten() {
        if let Some(dirs) = g
            .get("git")
            .and_then(|x| x.get("directories"))
            .and_then(Value::as_array)
        {
            for d in dirs {
                if let Some(p) = d.get("path").and_then(Value::as_str) {
                    let exclude = d.get("exclude").and_then(Value::as_bool).unwrap_or(false);
                    out.push((p.to_string(), exclude));
                }
            }
        }
        for nested in ["matrix", "merge"] {
            collect_git_directories(
                g.get(nested).and_then(|m| m.get("generators")),
                out,
                depth + 1,
            );
        }
    }
}

/// Words that name an environment in a path: `overlays/<env>`, `clusters/<env>`, …
const ENV_PARENTS: &[&str] = &[
    "overlays",
    "clusters",
    "envs",
    "environments",
    "env",
    "stages",
];
/// Directory names that are environments wherever they appear.
const ENV_NAMES: &[&str] = &[
    "dev",
    "development",
    "test",
    "testing",
    "qa",
    "uat",
    "stage",
    "staging",
    "preprod",
    "pre-prod",
    "prod",
    "production",
    "sandbox",
    "demo",
];

/// The environment a path names: the directory after `overlays/`, `clusters/`, `envs/`…, or a
/// well-known environment name among its directories (the last one wins).
pub fn environment_from_path(dir: &str) -> Option<String> {
    let parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for w in parts.windows(2).rev() {
        if ENV_PARENTS.contains(&w[0]) {
            return Some(w[1].to_string());
        }
    }
    parts
        .iter()
        .rev()
        .find(|p| ENV_NAMES.contains(p))
        .map(|p| p.to_string())
}

fn join(dir: &str, rel: &str) -> String {
    if dir == "." || dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// A repo-relative path made clean (`./a/../b/` → `b`); `None` when it leaves the repo.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::snapshot::files_from;
    use std::path::Path;

    fn snap(files: &[(&str, &str)]) -> Snapshot {
        Snapshot::from_files(Path::new("/r"), "test", files_from(files.iter().copied()))
    }

    const K: &str = "resources: []\n";

    #[test]
    fn leaf_kustomizations_skip_bases_and_components() {
        let s = snap(&[
            ("base/kustomization.yaml", K),
            ("components/mon/kustomization.yaml", "kind: Component\n"),
            (
                "overlays/staging/kustomization.yaml",
                "resources:\n- ../../base\ncomponents:\n- ../../components/mon\n",
            ),
            (
                "overlays/production/kustomization.yaml",
                "resources:\n- ../../base/\n",
            ),
            ("tools/kustomization.yaml", K),
        ]);
        let d = discover(&s, None, &|_| false);
        let got: Vec<(&str, &str)> = d
            .targets
            .iter()
            .map(|t| (t.dir.as_str(), t.environment.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("overlays/production", "production"),
                ("overlays/staging", "staging"),
                ("tools", "default")
            ]
        );
        assert!(d.targets.iter().all(|t| t.source == TargetSource::Leaf));
        let d = discover(&s, None, &|p| p.starts_with("tools"));
        assert_eq!(d.targets.len(), 2);
    }

    #[test]
    fn argo_and_flux_objects_name_targets() {
        let s = snap(&[
            ("apps/web/base/kustomization.yaml", K),
            ("apps/web/prod/kustomization.yaml", K),
            ("apps/web/dev/kustomization.yaml", K),
            ("apps/api/overlays/eu/kustomization.yaml", K),
            ("plain/deploy.yaml", "kind: ConfigMap\n"),
            ("unused/kustomization.yaml", K),
            (
                "argo/apps.yaml",
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web-prod\nspec:\n  destination:\n    name: prod-cluster\n  source:\n    path: apps/web/prod\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: plain\nspec:\n  destination:\n    namespace: team-a\n  sources:\n  - chart: redis\n  - path: ./plain\n",
            ),
            (
                "argo/set.yaml",
                "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: all\nspec:\n  generators:\n  - matrix:\n      generators:\n      - git:\n          directories:\n          - path: apps/*/*\n          - path: apps/web/base\n            exclude: true\n",
            ),
            (
                "clusters/staging/flux.yaml",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: api\n  namespace: flux-system\nspec:\n  path: ./apps/api/overlays/eu\n",
            ),
        ]);
        let d = discover(&s, None, &|_| false);
        let got: Vec<(&str, &str)> = d
            .targets
            .iter()
            .map(|t| (t.dir.as_str(), t.environment.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("apps/api/overlays/eu", "eu"),
                ("apps/web/dev", "dev"),
                ("apps/web/prod", "prod")
            ]
        );
        match &d.targets[2].source {
            TargetSource::Object {
                kind,
                name,
                file,
                line,
            } => {
                assert_eq!(
                    (kind.as_str(), name.as_str(), file.as_str(), *line),
                    ("Application", "web-prod", "argo/apps.yaml", 1)
                );
            }
            other => panic!("{other:?}"),
        }
        // The Helm chart and the plain directory are reported, not silently dropped.
        assert_eq!(d.notes.len(), 2);
        assert!(
            d.notes
                .iter()
                .all(|n| n.rule == TARGET_SKIPPED && n.line == 11)
        );
        assert!(
            d.notes[0].message.contains("Helm chart \"redis\""),
            "{}",
            d.notes[0].message
        );
        assert!(
            d.notes[1]
                .message
                .contains("\"plain\", which has no kustomization.yaml"),
            "{}",
            d.notes[1].message
        );
    }

    #[test]
    fn configured_environments_select_targets() {
        let s = snap(&[
            ("base/kustomization.yaml", K),
            ("envs/a/kustomization.yaml", K),
            ("envs/b/kustomization.yaml", K),
            ("comp/kustomization.yaml", "kind: Component\n"),
        ]);
        let env_of = |d: &str| {
            d.strip_prefix("envs/")
                .map(|e| format!("env-{e}"))
                .or_else(|| (d == "comp").then(|| "x".into()))
        };
        let d = discover(&s, Some(&env_of), &|_| false);
        let got: Vec<(&str, &str)> = d
            .targets
            .iter()
            .map(|t| (t.dir.as_str(), t.environment.as_str()))
            .collect();
        assert_eq!(got, [("envs/a", "env-a"), ("envs/b", "env-b")]);
    }

    #[test]
    fn environments_and_paths() {
        assert_eq!(
            environment_from_path("apps/x/overlays/prod-eu").as_deref(),
            Some("prod-eu")
        );
        assert_eq!(
            environment_from_path("clusters/dev/apps").as_deref(),
            Some("dev")
        );
        assert_eq!(
            environment_from_path("apps/x/staging").as_deref(),
            Some("staging")
        );
        assert_eq!(environment_from_path("apps/x"), None);
        assert_eq!(normalize("./a/../b/").as_deref(), Some("b"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(normalize("./").as_deref(), Some("."));
    }
}
