//! ConfigMap and Secret generators (`configMapGenerator`, `secretGenerator`), their name-suffix
//! hash, and how a generated object with `behavior: merge|replace` combines with the object of
//! the same id from a base — all as kustomize v5.5.0 does it.
//!
//! Reading the sources (in this order, whatever the order in the kustomization):
//!
//! 1. env files (`envs`, then the legacy `env`): lines split on `\n` (a trailing `\r` dropped),
//!    a UTF-8 BOM dropped from the first line, leading white space trimmed, blank lines and
//!    lines starting with `#` skipped; `KEY=value` splits at the first `=` and keeps the value
//!    verbatim (no quote removal, no trimming). A line without `=` is the key with an empty
//!    value: kustomize v5.5.0 does *not* read the process environment for it, and neither do we.
//!    A line that is not UTF-8 or longer than 65535 bytes is an error.
//! 2. `literals`: `key=value`, split at the first `=` (a missing `=` or an empty key is an
//!    error); one pair of matching surrounding quotes (`"` or `'`) is removed from the value.
//! 3. `files`: `path` (key = the path's base name) or `key=path`; more than one `=`, an empty
//!    key or an empty path is an error. The value is the file's content.
//!
//! kustomize performs no validation of the keys themselves (its key validators are no-ops):
//! any string, `a b` or `a/b` included, is accepted. A key given twice is an error.
//!
//! A ConfigMap keeps UTF-8 values in `data` and puts other values, base64-encoded, in
//! `binaryData`. A Secret base64-encodes every value into `data` (always present, possibly
//! empty) and gets `type: Opaque` unless a type is given. kustomize breaks base64 text of 70
//! characters or more into lines of 70, each ending in `\n`; we do the same since it shows in
//! the output and in the hash.

mod args;
mod hash;

pub use args::{GeneratorArgs, GeneratorOptions};
pub use hash::hash_suffix;

use crate::kustomize::resource::{Behavior, Resource};
use crate::manifest::{Object, Origin};
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

/// Which generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    ConfigMap,
    Secret,
}

impl GenKind {
    /// The generated object's kind.
    pub fn kind(self) -> &'static str {
        match self {
            GenKind::ConfigMap => "ConfigMap",
            GenKind::Secret => "Secret",
        }
    }

    /// The kustomization field that declares such generators.
    pub fn field(self) -> &'static str {
        match self {
            GenKind::ConfigMap => "configMapGenerator",
            GenKind::Secret => "secretGenerator",
        }
    }

    /// The name recorded in [`Origin::generator`].
    pub fn generator_name(self) -> &'static str {
        match self {
            GenKind::ConfigMap => "ConfigMapGenerator",
            GenKind::Secret => "SecretGenerator",
        }
    }
}

/// Errors from generating, hashing or merging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenError {
    #[error("{field} entry without a name: a {kind} generator must have a name")]
    MissingName {
        field: &'static str,
        kind: &'static str,
    },
    #[error(
        "configMapGenerator {name:?}: unknown field `type` (only secretGenerator entries have a type)"
    )]
    TypeOnConfigMap { name: String },
    #[error("{field} {name:?}: invalid literal source {literal:?}, expected key=value")]
    Literal {
        field: &'static str,
        name: String,
        literal: String,
    },
    #[error("{field} {name:?}: file source {spec:?}: {reason}")]
    FileSource {
        field: &'static str,
        name: String,
        spec: String,
        reason: String,
    },
    #[error("{field} {name:?}: cannot read {path:?}: {message}")]
    Read {
        field: &'static str,
        name: String,
        path: String,
        message: String,
    },
    #[error("{field} {name:?}: env file {path:?} line {line}: {reason}")]
    EnvFile {
        field: &'static str,
        name: String,
        path: String,
        line: usize,
        reason: String,
    },
    #[error("{field} {name:?}: the key {key:?} is given more than once")]
    DuplicateKey {
        field: &'static str,
        name: String,
        key: String,
    },
    #[error("cannot compute a name hash for kind {kind:?}: only ConfigMaps and Secrets are hashed")]
    Unhashable { kind: String },
    #[error("{kind} {name:?} already exists; behavior must be merge or replace")]
    BehaviorCreate { kind: String, name: String },
}

/// Generate one ConfigMap or Secret from a generator entry.
///
/// `global` is the kustomization's `generatorOptions`; it is merged into the entry's `options`
/// ([`GeneratorOptions::merged`]). `read_file` reads a path exactly as written in the
/// kustomization (the caller resolves it, enforces the load restrictor and records the input;
/// its error message is wrapped into [`GenError::Read`]).
///
/// The result has `behavior` set from the entry (an unknown behavior acts like `create`, as in
/// kustomize), `needs_hash` unless `disableNameSuffixHash` ends up set, and
/// `origin.generator` set to the generator's name (the caller fills in `origin.file`/`line`).
/// The name is the bare name: the caller appends `-<hash_suffix>` at the end of the build.
pub fn generate(
    kind: GenKind,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    read_file: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Resource, GenError> {
    let field = kind.field();
    if kind == GenKind::ConfigMap && args.type_.is_some() {
        return Err(GenError::TypeOnConfigMap {
            name: args.name.clone(),
        });
    }
    if args.name.is_empty() {
        return Err(GenError::MissingName {
            field,
            kind: match kind {
                GenKind::ConfigMap => "configmap",
                GenKind::Secret => "secret",
            },
        });
    }
    let opts = GeneratorOptions::merged(args.options.as_ref(), global);
    let ctx = Ctx {
        field,
        name: &args.name,
    };
    let pairs = load_pairs(&ctx, args, read_file)?;

    let mut map: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in pairs {
        if map.contains_key(&k) {
            return Err(GenError::DuplicateKey {
                field,
                name: args.name.clone(),
                key: k,
            });
        }
        map.insert(k, v);
    }

    let mut obj = Object::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String(kind.kind().into()));
    let mut md = Object::new();
    md.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        md.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if let Some(o) = &opts {
        if !o.labels.is_empty() {
            md.insert("labels".into(), string_object(&o.labels));
        }
        if !o.annotations.is_empty() {
            md.insert("annotations".into(), string_object(&o.annotations));
        }
    }
    obj.insert("metadata".into(), Value::Object(md));

    match kind {
        GenKind::ConfigMap => {
            let mut data = Object::new();
            let mut binary = Object::new();
            for (k, v) in map {
                match String::from_utf8(v) {
                    Ok(s) => {
                        data.insert(k, Value::String(s));
                    }
                    Err(e) => {
                        binary.insert(k, Value::String(encode_base64(e.as_bytes())));
                    }
                }
            }
            if !data.is_empty() {
                obj.insert("data".into(), Value::Object(data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData".into(), Value::Object(binary));
            }
        }
        GenKind::Secret => {
            let t = match args.type_.as_deref() {
                None | Some("") => "Opaque",
                Some(t) => t,
            };
            obj.insert("type".into(), Value::String(t.to_string()));
            let data: Object = map
                .into_iter()
                .map(|(k, v)| (k, Value::String(encode_base64(&v))))
                .collect();
            obj.insert("data".into(), Value::Object(data));
        }
    }
    if opts.as_ref().is_some_and(|o| o.immutable) {
        obj.insert("immutable".into(), Value::Bool(true));
    }

    let origin = Origin {
        generator: Some(kind.generator_name().to_string()),
        ..Origin::default()
    };
    let mut res = Resource::new(obj, origin);
    res.behavior = Some(Behavior::parse(&args.behavior).unwrap_or(Behavior::Create));
    res.needs_hash = !opts.as_ref().is_some_and(|o| o.disable_name_suffix_hash);
    Ok(res)
}

fn string_object(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Base64 as kustomize writes it: lines of 70 characters, each followed by `\n` once the text
/// is 70 characters or longer.
fn encode_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    // Base64 output is ASCII, so byte chunks are character chunks.
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

struct Ctx<'a> {
    field: &'static str,
    name: &'a str,
}

impl Ctx<'_> {
    fn read(
        &self,
        path: &str,
        read_file: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, GenError> {
        read_file(path).map_err(|message| GenError::Read {
            field: self.field,
            name: self.name.to_string(),
            path: path.to_string(),
            message,
        })
    }
}

fn load_pairs(
    ctx: &Ctx<'_>,
    args: &GeneratorArgs,
    read_file: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<(String, Vec<u8>)>, GenError> {
    let mut pairs = Vec::new();
    let legacy = (!args.env.is_empty()).then_some(&args.env);
    for path in args.envs.iter().chain(legacy) {
        let content = ctx.read(path, read_file)?;
        let env = parse_env_file(&content).map_err(|(line, reason)| GenError::EnvFile {
            field: ctx.field,
            name: ctx.name.to_string(),
            path: path.clone(),
            line,
            reason,
        })?;
        pairs.extend(env.into_iter().map(|(k, v)| (k, v.into_bytes())));
    }
    for lit in &args.literals {
        let (k, v) = parse_literal(lit).ok_or_else(|| GenError::Literal {
            field: ctx.field,
            name: ctx.name.to_string(),
            literal: lit.clone(),
        })?;
        pairs.push((k, v.into_bytes()));
    }
    for src in &args.files {
        let (key, path) = parse_file_source(src).map_err(|reason| GenError::FileSource {
            field: ctx.field,
            name: ctx.name.to_string(),
            spec: src.clone(),
            reason,
        })?;
        let content = ctx.read(&path, read_file)?;
        pairs.push((key, content));
    }
    Ok(pairs)
}

/// Longest line (without its `\n`) Go's line scanner accepts.
const MAX_ENV_LINE: usize = 64 * 1024 - 1;

/// Parse an env file into pairs; errors carry the 1-based line number.
pub fn parse_env_file(content: &[u8]) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out = Vec::new();
    if content.is_empty() {
        return Ok(out);
    }
    let body = content.strip_suffix(b"\n").unwrap_or(content);
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let lineno = i + 1;
        if raw.len() > MAX_ENV_LINE {
            return Err((lineno, format!("line longer than {MAX_ENV_LINE} bytes")));
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw)
            .map_err(|_| (lineno, "line is not valid UTF-8".to_string()))?;
        let line = if i == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => out.push((line.to_string(), String::new())),
        }
    }
    Ok(out)
}

/// `key=value` with one pair of matching surrounding quotes removed from the value; `None`
/// when there is no `=` or the key is empty.
pub fn parse_literal(src: &str) -> Option<(String, String)> {
    let (k, v) = src.split_once('=')?;
    if k.is_empty() {
        return None;
    }
    Some((k.to_string(), remove_quotes(v).to_string()))
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// `[key=]path` → (key, path).
pub fn parse_file_source(src: &str) -> Result<(String, String), String> {
    match src.matches('=').count() {
        0 => Ok((go_path_base(src), src.to_string())),
        1 => match src.split_once('=') {
            Some(("", _)) => Err("missing key name before `=`".to_string()),
            Some((_, "")) => Err("missing file path after `=`".to_string()),
            Some((k, p)) => Ok((k.to_string(), p.to_string())),
            None => Err("expected [key=]path".to_string()),
        },
        _ => Err("key name or file path contains `=`".to_string()),
    }
}

/// Go's `path.Base`.
fn go_path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    match trimmed.rsplit_once('/') {
        Some((_, base)) => base.to_string(),
        None => trimmed.to_string(),
    }
}

/// Annotations kustomize keeps for its own bookkeeping; on merge/replace they come from the
/// existing object only. (Ours live in [`Resource`] fields; this matters only if a user wrote
/// one of them by hand.)
const BUILD_ANNOTATIONS: &[&str] = &[
    "config.kubernetes.io/previousKinds",
    "config.kubernetes.io/previousNames",
    "config.kubernetes.io/prefixes",
    "config.kubernetes.io/suffixes",
    "config.kubernetes.io/previousNamespaces",
    "config.kubernetes.io/allowNameChange",
    "config.kubernetes.io/allowKindChange",
    "config.kubernetes.io/refBy",
    "config.kubernetes.io/generatorBehavior",
    "config.kubernetes.io/needsHashSuffix",
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.kubernetes.io/seqindent",
    "config.kubernetes.io/id",
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/seqindent",
    "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
];

/// Combine a generated object (`incoming`, with `behavior` merge or replace) with the existing
/// object of the same id; the result is written to `existing`.
///
/// The caller finds `existing`: the one object whose current *or any previous* id equals
/// `incoming`'s current id (none → kustomize's "does not exist; cannot merge or replace"
/// error, several → "found multiple objects"). `behavior` is `incoming`'s behavior; `create`
/// is an error here ("already exists").
///
/// The result is `incoming`'s object (so its `type`, `immutable`, ... win and the existing
/// object's other fields are dropped) with:
/// * labels: existing ∪ incoming, incoming winning; annotations likewise except kustomize's
///   build annotations, taken from the existing object only; empty maps are removed;
/// * the existing object's name and namespace (no namespace if it had none);
/// * for `merge` only: `data` and `binaryData` = existing ∪ incoming, incoming winning, every
///   value as a string (numbers and booleans by their text, anything else `""`), and removed
///   when empty;
/// * bookkeeping from the existing object (previous ids, prefixes, suffixes, referrers, var
///   names and behavior), except: `needs_hash` only when both had it (a plain base ConfigMap
///   stays unhashed), and `origin` from the existing object for `merge`, from `incoming` for
///   `replace`.
pub fn merge_generated(
    existing: &mut Resource,
    incoming: &Resource,
    behavior: Behavior,
) -> Result<(), GenError> {
    if behavior == Behavior::Create {
        return Err(GenError::BehaviorCreate {
            kind: existing.kind().to_string(),
            name: existing.name().to_string(),
        });
    }
    let old = &existing.obj;
    let mut obj = incoming.obj.clone();

    let old_labels = meta_map(old, "labels");
    let mut labels = old_labels;
    labels.extend(meta_map(&obj, "labels"));

    let old_ann = meta_map(old, "annotations");
    let mut ann = old_ann.clone();
    ann.extend(meta_map(&obj, "annotations"));
    for key in BUILD_ANNOTATIONS {
        match old_ann.get(*key) {
            Some(v) => {
                ann.insert((*key).to_string(), v.clone());
            }
            None => {
                ann.remove(*key);
            }
        }
    }

    let name = crate::manifest::get(old, &["metadata", "name"])
        .map(hash::scalar_text)
        .unwrap_or_default();
    let namespace = crate::manifest::get(old, &["metadata", "namespace"])
        .map(hash::scalar_text)
        .unwrap_or_default();

    with_metadata(&mut obj, |md| {
        set_string_map(md, "labels", &labels);
        set_string_map(md, "annotations", &ann);
        md.insert("name".into(), Value::String(name));
        if namespace.is_empty() {
            md.shift_remove("namespace");
        } else {
            md.insert("namespace".into(), Value::String(namespace));
        }
    });

    if behavior == Behavior::Merge {
        for field in ["data", "binaryData"] {
            let mut m = top_map(old, field);
            m.extend(top_map(&obj, field));
            set_string_map(&mut obj, field, &m);
        }
    }

    existing.obj = obj;
    existing.needs_hash = existing.needs_hash && incoming.needs_hash;
    if behavior == Behavior::Replace {
        existing.origin = incoming.origin.clone();
    }
    Ok(())
}

/// Run `f` on the object's metadata mapping (made one if absent or not a mapping).
fn with_metadata(obj: &mut Object, f: impl FnOnce(&mut Object)) {
    if !matches!(obj.get("metadata"), Some(Value::Object(_))) {
        obj.insert("metadata".into(), Value::Object(Object::new()));
    }
    if let Some(Value::Object(md)) = obj.get_mut("metadata") {
        f(md);
    }
}

/// A string map read the way kustomize reads one (scalars by their text, others empty).
fn string_map_of(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), hash::scalar_text(v)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn meta_map(obj: &Object, field: &str) -> BTreeMap<String, String> {
    string_map_of(crate::manifest::get(obj, &["metadata", field]))
}

fn top_map(obj: &Object, field: &str) -> BTreeMap<String, String> {
    string_map_of(obj.get(field))
}

/// Replace `field` with the map (sorted), or remove it when the map is empty.
fn set_string_map(obj: &mut Object, field: &str, m: &BTreeMap<String, String>) {
    if m.is_empty() {
        obj.shift_remove(field);
    } else {
        obj.insert(field.to_string(), string_object(m));
    }
}

#[cfg(test)]
mod tests;
