//! `schema`: every rendered object against the strict Kubernetes JSON schema of the target
//! version (unknown fields are errors), and custom resources against the `openAPIV3Schema` of
//! the CRDs in the render.
//!
//! The schemas are embedded (`data/k8s-schemas/`, Kubernetes 1.25 to 1.37, from the PyPI
//! package kubernetes-validate). A [`Schemas`] holds one version; validators are compiled on
//! first use per apiVersion and kind and cached, so a `Schemas` should be built once per run
//! and shared (it is `Send + Sync`).

mod crd;
mod data;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, Registry, ValidationError, Validator};
use serde_json::{Value, json};

use super::{Finding, KubeVersion, Level, Rule, Severity, path_to_string};
use crate::manifest::{Object, Seg};

/// Rule id: an object does not match its schema.
pub const RULE_SCHEMA: &str = "schema";
/// Rule id: no schema is known for an object's apiVersion and kind.
pub const RULE_UNKNOWN_KIND: &str = "schema-unknown-kind";

/// The rules this module emits.
pub const RULES: &[Rule] = &[
    Rule {
        id: RULE_SCHEMA,
        default: Level::Error,
        summary: "Objects must match the Kubernetes schema of the target version",
        help: "The API server rejects objects with unknown fields, wrong types or missing \
               required fields, so the sync would fail after merge. Fix the field named in the \
               message (a typo in a field name is the usual cause); custom resources are checked \
               against the CRDs in the repo.",
    },
    Rule {
        id: RULE_UNKNOWN_KIND,
        default: Level::Info,
        summary: "No schema is known for the object's apiVersion and kind",
        help: "The object could not be validated: its kind is neither built into the target \
               Kubernetes version nor defined by a CustomResourceDefinition in the render. \
               Check the apiVersion for typos, or add the CRD to the repo.",
    },
];

/// Most findings reported for one object (the rest are summarised in one more finding).
const MAX_FINDINGS_PER_OBJECT: usize = 20;

/// Why schemas could not be set up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaError {
    #[error(
        "Kubernetes {version} is not supported for schema validation (supported: {min} to {max})"
    )]
    UnsupportedVersion {
        version: KubeVersion,
        min: KubeVersion,
        max: KubeVersion,
    },
    #[error("embedded schema data is corrupt: {0}")]
    Data(String),
    #[error("CustomResourceDefinition {name}: {message}")]
    Crd { name: String, message: String },
}

/// The oldest and newest Kubernetes versions with embedded schemas.
pub fn supported_versions() -> (KubeVersion, KubeVersion) {
    match data::versions() {
        Ok(v) if !v.is_empty() => (v[0], v[v.len() - 1]),
        _ => (KubeVersion::new(0, 0), KubeVersion::new(0, 0)),
    }
}

/// A compiled validator and the schema it was built from (to explain errors).
struct Compiled {
    validator: Validator,
    /// The root schema (a `$ref` into the definitions, or a converted CRD schema).
    root: Arc<Value>,
}

type KindMap<T> = HashMap<String, HashMap<String, T>>;

/// The schemas of one Kubernetes version plus registered CRDs.
pub struct Schemas {
    version: KubeVersion,
    /// Absolute URI of the definitions document.
    base: String,
    defs: Arc<Value>,
    registry: Registry<'static>,
    builtin: KindMap<String>,
    crds: KindMap<Arc<Value>>,
    cache: RwLock<KindMap<Option<Arc<Compiled>>>>,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schemas")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Schemas {
    /// Load the embedded schemas of `version` (patch level ignored).
    pub fn new(version: KubeVersion) -> Result<Schemas, SchemaError> {
        let versions = data::versions()?;
        if !versions.contains(&version) {
            let (min, max) = supported_versions();
            return Err(SchemaError::UnsupportedVersion { version, min, max });
        }
        let d = data::load(version)?;
        let base = format!("https://warden.invalid/k8s/{version}/_definitions.json");
        let defs = Arc::new(d.doc);
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(&base, Arc::clone(&defs))
            .and_then(|b| b.prepare())
            .map_err(|e| SchemaError::Data(e.to_string()))?;
        Ok(Schemas {
            version,
            base,
            defs,
            registry,
            builtin: d.kinds,
            crds: HashMap::new(),
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// The Kubernetes version these schemas describe.
    pub fn version(&self) -> KubeVersion {
        self.version
    }

    /// Whether a schema (built in or from a CRD) exists for `api_version` and `kind`.
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        lookup(&self.crds, api_version, kind).is_some()
            || lookup(&self.builtin, api_version, kind).is_some()
    }

    /// Register the custom resources of an `apiextensions.k8s.io/v1` CustomResourceDefinition:
    /// each of `spec.versions[]` is validated against its `schema.openAPIV3Schema`. Returns
    /// the number of versions registered; an object that is not such a CRD registers none.
    pub fn add_crd(&mut self, crd: &Object) -> Result<usize, SchemaError> {
        if crd.get("apiVersion").and_then(Value::as_str) != Some("apiextensions.k8s.io/v1")
            || crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition")
        {
            return Ok(0);
        }
        let name = crd
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let err = |message: String| SchemaError::Crd {
            name: name.clone(),
            message,
        };
        let spec = crd.get("spec").ok_or_else(|| err("no spec".into()))?;
        let group = spec.get("group").and_then(Value::as_str);
        let kind = spec
            .get("names")
            .and_then(|n| n.get("kind"))
            .and_then(Value::as_str);
        let (Some(group), Some(kind)) = (group, kind) else {
            return Err(err("spec.group or spec.names.kind missing".into()));
        };
        let versions = spec
            .get("versions")
            .and_then(Value::as_array)
            .ok_or_else(|| err("spec.versions missing".into()))?;
        let meta = format!(
            "{}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            self.base
        );
        let mut added = Vec::new();
        for v in versions {
            let Some(vname) = v.get("name").and_then(Value::as_str) else {
                return Err(err("a version has no name".into()));
            };
            let schema = match v.get("schema").and_then(|s| s.get("openAPIV3Schema")) {
                Some(s) => {
                    crd::convert_root(s, &meta).map_err(|m| err(format!("version {vname}: {m}")))?
                }
                None => crd::any_object(&meta),
            };
            // Compile now so a bad schema is reported here, once.
            let compiled = self
                .compile(schema)
                .map_err(|m| err(format!("version {vname}: {m}")))?;
            added.push((format!("{group}/{vname}"), compiled));
        }
        let n = added.len();
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        for (api, compiled) in added {
            self.crds
                .entry(api.clone())
                .or_default()
                .insert(kind.to_string(), Arc::clone(&compiled.root));
            cache
                .entry(api)
                .or_default()
                .insert(kind.to_string(), Some(Arc::new(compiled)));
        }
        Ok(n)
    }

    /// Register every CRD among `objects` (index, object); a CRD whose schema cannot be used
    /// gives a `schema` finding on that CRD.
    pub fn add_crds<'a>(
        &mut self,
        objects: impl IntoIterator<Item = (usize, &'a Object)>,
        out: &mut Vec<Finding>,
    ) {
        for (i, obj) in objects {
            if let Err(e) = self.add_crd(obj) {
                out.push(Finding::at(
                    RULE_SCHEMA,
                    Severity::Error,
                    i,
                    vec![Seg::Key("spec".into())],
                    e.to_string(),
                ));
            }
        }
    }

    fn compile(&self, schema: Value) -> Result<Compiled, String> {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(false)
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(&schema)
            .map_err(|e| e.to_string())?;
        Ok(Compiled {
            validator,
            root: Arc::new(schema),
        })
    }

    /// The compiled validator for a kind, compiling it on first use.
    fn compiled(&self, api_version: &str, kind: &str) -> Option<Arc<Compiled>> {
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = lookup(&cache, api_version, kind) {
                return c.clone();
            }
        }
        let schema = if let Some(s) = lookup(&self.crds, api_version, kind) {
            Some((**s).clone())
        } else {
            lookup(&self.builtin, api_version, kind)
                .map(|name| json!({ "$ref": format!("{}#/$defs/{name}", self.base) }))
        };
        // Built-in schemas are known-good; a failure here means corrupt data: treat as unknown.
        let compiled = schema.and_then(|s| self.compile(s).ok()).map(Arc::new);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(api_version.to_string())
            .or_default()
            .insert(kind.to_string(), compiled.clone());
        compiled
    }

    /// Validate one object (index `index` in the render), appending `schema` and
    /// `schema-unknown-kind` findings.
    pub fn validate(&self, index: usize, obj: &Object, out: &mut Vec<Finding>) {
        let api = obj.get("apiVersion");
        let kind = obj.get("kind");
        let (api, kind) = match (api.and_then(Value::as_str), kind.and_then(Value::as_str)) {
            (Some(a), Some(k)) if !a.is_empty() && !k.is_empty() => (a, k),
            _ => {
                for (field, v) in [("apiVersion", api), ("kind", kind)] {
                    let (path, msg) = match v {
                        None => (Vec::new(), format!("missing required field \"{field}\"")),
                        Some(Value::String(s)) if s.is_empty() => {
                            (vec![Seg::Key(field.into())], format!("{field} is empty"))
                        }
                        Some(Value::String(_)) => continue,
                        Some(other) => (
                            vec![Seg::Key(field.into())],
                            format!("{field}: {} is not a string", describe(other, false)),
                        ),
                    };
                    out.push(Finding::at(RULE_SCHEMA, Severity::Error, index, path, msg));
                }
                return;
            }
        };
        let Some(c) = self.compiled(api, kind) else {
            out.push(Finding::at(
                RULE_UNKNOWN_KIND,
                Severity::Info,
                index,
                vec![Seg::Key("kind".into())],
                format!(
                    "no schema for {kind} ({api}) in Kubernetes {}: not validated (add its \
                     CustomResourceDefinition to the repo, or check the apiVersion)",
                    self.version
                ),
            ));
            return;
        };
        let instance = Value::Object(obj.clone());
        if c.validator.is_valid(&instance) {
            return;
        }
        let hide_values = kind == "Secret";
        let mut n = 0;
        let start = out.len();
        for e in c.validator.iter_errors(&instance) {
            for (path, msg) in self.explain(&c.root, &instance, &e, hide_values) {
                n += 1;
                if n <= MAX_FINDINGS_PER_OBJECT {
                    out.push(Finding::at(RULE_SCHEMA, Severity::Error, index, path, msg));
                }
            }
        }
        if n > MAX_FINDINGS_PER_OBJECT {
            out.push(Finding::at(
                RULE_SCHEMA,
                Severity::Error,
                index,
                Vec::new(),
                format!(
                    "{} more schema errors in this object not shown",
                    n - MAX_FINDINGS_PER_OBJECT
                ),
            ));
        }
        if out.len() == start {
            // Never report valid for an invalid object, even if the error had no explanation.
            out.push(Finding::at(
                RULE_SCHEMA,
                Severity::Error,
                index,
                Vec::new(),
                format!("does not match the {kind} schema"),
            ));
        }
    }

    /// Turn one validation error into (path, message) pairs.
    fn explain(
        &self,
        root: &Value,
        instance: &Value,
        e: &ValidationError<'_>,
        hide: bool,
    ) -> Vec<(Vec<Seg>, String)> {
        let path = to_path(instance, e.instance_path().as_str());
        let at = |p: &[Seg]| {
            if p.is_empty() {
                "the top level".to_string()
            } else {
                path_to_string(p)
            }
        };
        let value = e.instance();
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = self.property_names(root, &path);
                unexpected
                    .iter()
                    .map(|k| {
                        let mut p = path.clone();
                        p.push(Seg::Key(k.clone()));
                        let mut msg = format!("unknown field \"{k}\" in {}", at(&path));
                        if let Some(s) = did_you_mean(k, &known) {
                            msg.push_str(&format!(" (did you mean \"{s}\"?)"));
                        }
                        (p, msg)
                    })
                    .collect()
            }
            ValidationErrorKind::Required { property } => {
                let prop = property.as_str().unwrap_or("?");
                vec![(
                    path.clone(),
                    format!("{}: missing required field \"{prop}\"", at(&path)),
                )]
            }
            ValidationErrorKind::Type { kind } => {
                vec![(
                    path.clone(),
                    format!(
                        "{}: {} is not {}",
                        at(&path),
                        describe(value, hide),
                        expected(kind_types(kind))
                    ),
                )]
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                // int-or-string and similar: every branch failed on its type only.
                let mut types = Vec::new();
                let only_types = context.iter().all(|branch| {
                    branch.iter().all(|b| match b.kind() {
                        ValidationErrorKind::Type { kind } => {
                            types.extend(kind_types(kind));
                            b.instance_path().as_str() == e.instance_path().as_str()
                        }
                        _ => false,
                    })
                });
                let msg = if only_types && !types.is_empty() {
                    format!(
                        "{}: {} is not {}",
                        at(&path),
                        describe(value, hide),
                        expected(types)
                    )
                } else {
                    format!("{}: does not match any of the allowed forms", at(&path))
                };
                vec![(path.clone(), msg)]
            }
            ValidationErrorKind::OneOfMultipleValid { .. } if value.is_null() => {
                vec![(
                    path.clone(),
                    format!("{}: null is not allowed here", at(&path)),
                )]
            }
            ValidationErrorKind::Enum { options } => vec![(
                path.clone(),
                format!(
                    "{}: {} is not one of {}",
                    at(&path),
                    describe(value, hide),
                    short(&options.to_string(), 120)
                ),
            )],
            _ => {
                let msg = if hide {
                    format!("{}: fails \"{}\"", at(&path), e.kind().keyword())
                } else {
                    format!("{}: {}", at(&path), short(&e.to_string(), 160))
                };
                vec![(path.clone(), msg)]
            }
        }
    }

    /// The property names the schema declares at `path` (for "did you mean").
    fn property_names(&self, root: &Value, path: &[Seg]) -> Vec<String> {
        let mut node = self.deref(root, 0);
        for seg in path {
            let Some(n) = node else { return Vec::new() };
            let next = match seg {
                Seg::Key(k) => n
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| n.get("additionalProperties").filter(|a| a.is_object())),
                Seg::Index(_) => n.get("items"),
            };
            node = next.and_then(|x| self.deref(x, 0));
        }
        node.and_then(|n| n.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Follow `$ref`s into the definitions.
    fn deref<'a>(&'a self, v: &'a Value, depth: usize) -> Option<&'a Value> {
        match v.get("$ref").and_then(Value::as_str) {
            None => Some(v),
            Some(_) if depth > 32 => None,
            Some(r) => {
                let frag = r.strip_prefix(self.base.as_str()).unwrap_or(r);
                let name = frag.strip_prefix("#/$defs/")?;
                self.deref(self.defs.get("$defs")?.get(name)?, depth + 1)
            }
        }
    }
}

fn lookup<'a, T>(m: &'a KindMap<T>, api: &str, kind: &str) -> Option<&'a T> {
    m.get(api)?.get(kind)
}

/// Convert a JSON pointer into a path, using the instance to tell indexes from keys.
fn to_path(instance: &Value, pointer: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut cur = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let tok = raw.replace("~1", "/").replace("~0", "~");
        match cur {
            Some(Value::Array(a)) => match tok.parse::<usize>() {
                Ok(i) => {
                    cur = a.get(i);
                    out.push(Seg::Index(i));
                }
                Err(_) => {
                    cur = None;
                    out.push(Seg::Key(tok));
                }
            },
            Some(Value::Object(m)) => {
                cur = m.get(&tok);
                out.push(Seg::Key(tok));
            }
            _ => {
                cur = None;
                out.push(Seg::Key(tok));
            }
        }
    }
    out
}

fn kind_types(kind: &TypeKind) -> Vec<JsonType> {
    match kind {
        TypeKind::Single(t) => vec![*t],
        TypeKind::Multiple(set) => set.iter().collect(),
    }
}

/// "an integer", "an integer or a string" (null is left out: every field may be null).
fn expected(mut types: Vec<JsonType>) -> String {
    types.retain(|t| *t != JsonType::Null);
    types.sort_by_key(|t| t.as_str());
    types.dedup();
    if types.is_empty() {
        return "null".into();
    }
    let words: Vec<&str> = types
        .iter()
        .map(|t| match t {
            JsonType::Array => "a list",
            JsonType::Boolean => "a boolean",
            JsonType::Integer => "an integer",
            JsonType::Null => "null",
            JsonType::Number => "a number",
            JsonType::Object => "an object",
            JsonType::String => "a string",
        })
        .collect();
    words.join(" or ")
}

/// A short description of a value: the value itself when it is a short scalar (unless `hide`),
/// its type otherwise.
fn describe(v: &Value, hide: bool) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Object(_) => "an object".into(),
        Value::Array(_) => "a list".into(),
        _ if hide => match v {
            Value::String(_) => "a string".into(),
            Value::Bool(_) => "a boolean".into(),
            _ => "a number".into(),
        },
        _ => {
            let s = v.to_string();
            if s.chars().count() > 40 {
                match v {
                    Value::String(_) => "a long string".into(),
                    _ => "a number".into(),
                }
            } else {
                s
            }
        }
    }
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The closest known name to a mistyped one, if close enough to be a typo.
fn did_you_mean(word: &str, known: &[String]) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &String)> = None;
    for k in known {
        let d = if k.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &k.to_ascii_lowercase())
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    let limit = (word.chars().count() / 3).clamp(1, 3);
    best.filter(|(d, _)| *d <= limit).map(|(_, k)| k.clone())
}

/// Edit distance (optimal string alignment: insert, delete, substitute, swap neighbours).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[(i - 1) * w + j - 1] + cost)
                    .min(d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests;
