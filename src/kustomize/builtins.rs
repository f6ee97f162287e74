//! kustomize's builtin plugins named in a kustomization's `generators:`, `transformers:` and
//! `validators:` lists.
//!
//! Each entry is either an inline YAML config or a path: a file of configs, or a directory whose
//! kustomization builds to configs. A config is a builtin when its apiVersion is exactly
//! `builtin` (no group); its kind picks the plugin, and its other fields configure it (the
//! config's own `fieldSpecs` replace the defaults). Builtins run in-process and execute nothing.
//! Every other config (exec plugins, Go plugins, container or exec functions) is refused.
//!
//! Order, as in kustomize: inline configs come before those read from paths; plugin generators
//! run after the kustomization's own configMap/secret generators, plugin transformers after its
//! own transformers, then validators (which must leave the objects unchanged).

use super::{
    Acc, Builder, absorb, append, compile_selector, find_one_by_any_id, note_transformation,
    patch_objects, set_annotation,
};
use crate::kustomize::fieldspec::{FieldSpec, split_path};
use crate::kustomize::fs::{self, Entry};
use crate::kustomize::generators::{self, GenKind, GeneratorArgs};
use crate::kustomize::kustomization::{Image, Kustomization, Patch, Replica};
use crate::kustomize::replacements::{self, Replacement};
use crate::kustomize::resource::Resource;
use crate::kustomize::transform::{self, NamespaceMode, SubjectMode};
use crate::kustomize::{Error, Result};
use crate::manifest::{Object, Origin};
use crate::yaml;
use serde_json::Value;
use std::path::Path;

/// Which list a config came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Generator,
    Transformer,
    Validator,
}

impl Role {
    fn field(self) -> &'static str {
        match self {
            Role::Generator => "generators",
            Role::Transformer => "transformers",
            Role::Validator => "validators",
        }
    }
}

const GENERATOR_KINDS: &[&str] = &[
    "ConfigMapGenerator",
    "SecretGenerator",
    "IAMPolicyGenerator",
];
const TRANSFORMER_KINDS: &[&str] = &[
    "AnnotationsTransformer",
    "HashTransformer",
    "ImageTagTransformer",
    "LabelTransformer",
    "NamespaceTransformer",
    "PatchJson6902Transformer",
    "PatchStrategicMergeTransformer",
    "PatchTransformer",
    "PrefixSuffixTransformer",
    "PrefixTransformer",
    "SuffixTransformer",
    "ReplacementTransformer",
    "ReplicaCountTransformer",
    "ValueAddTransformer",
];

/// One ValueAddTransformer target.
#[derive(Debug, Clone)]
struct ValueTarget {
    selector: Option<Value>,
    field_path: String,
    file_path_position: i64,
}

/// A configured builtin plugin.
#[derive(Debug, Clone)]
enum Plugin {
    /// Prefix and/or suffix (the legacy PrefixSuffixTransformer runs both, prefix first).
    Affix {
        prefix: Option<String>,
        suffix: Option<String>,
        specs: Vec<FieldSpec>,
    },
    Namespace {
        ns: String,
        specs: Vec<FieldSpec>,
        mode: NamespaceMode,
    },
    MapEntries {
        pairs: Vec<(String, String)>,
        specs: Vec<FieldSpec>,
    },
    Image {
        image: Image,
        specs: Vec<FieldSpec>,
    },
    Replicas {
        replica: Replica,
        specs: Vec<FieldSpec>,
    },
    Patch(Patch),
    StrategicMerge(Vec<(Object, usize)>),
    Json6902(Patch),
    Replacements(Vec<Replacement>),
    Hash,
    ValueAdd {
        value: String,
        targets: Vec<ValueTarget>,
    },
    Generate(GenKind, GeneratorArgs),
    IamPolicy {
        cloud: String,
        k8s_name: String,
        k8s_namespace: String,
        sa_name: String,
        project: String,
    },
}

/// A plugin with the config it came from.
struct Configured {
    plugin: Plugin,
    /// The config object's file (the kustomization for an inline config) and line.
    origin: Origin,
    /// The list it came from (`generators`, `transformers`, `validators`).
    field: &'static str,
    kind: String,
    name: String,
    namespace: String,
}

impl Configured {
    /// `file:line: field: Kind 'name'` for messages.
    fn describe(&self) -> String {
        format!(
            "{}: {}: {} '{}'",
            self.origin, self.field, self.kind, self.name
        )
    }
}

// ---- lenient decoding of plugin configs ------------------------------------------------------
//
// kustomize decodes a plugin config by converting its YAML to JSON and unmarshalling it into the
// plugin's struct: unknown fields are ignored, field names match exactly or else
// case-insensitively, `null` leaves a field unset, and a value of the wrong type is an error.

type Fields = std::collections::BTreeMap<&'static str, Value>;

fn pick(obj: &Object, known: &[&'static str]) -> Fields {
    let mut out = Fields::new();
    // Case-insensitive matches first, so an exact match (applied second) wins.
    for exact in [false, true] {
        for (k, v) in obj {
            let hit = known.iter().find(|f| {
                if exact {
                    **f == k.as_str()
                } else {
                    f.eq_ignore_ascii_case(k) && **f != k.as_str()
                }
            });
            if let Some(f) = hit
                && !v.is_null()
            {
                out.insert(*f, v.clone());
            }
        }
    }
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn get_str(f: &Fields, key: &str) -> std::result::Result<String, String> {
    match f.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!(
            "field '{key}': expected a string, found {}",
            type_name(v)
        )),
    }
}

fn get_bool(f: &Fields, key: &str) -> std::result::Result<bool, String> {
    match f.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(format!(
            "field '{key}': expected a boolean, found {}",
            type_name(v)
        )),
    }
}

fn get_int(f: &Fields, key: &str) -> std::result::Result<i64, String> {
    match f.get(key) {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("field '{key}': expected an integer, found {n}")),
        Some(v) => Err(format!(
            "field '{key}': expected an integer, found {}",
            type_name(v)
        )),
    }
}

fn get_obj(f: &Fields, key: &str) -> std::result::Result<Object, String> {
    match f.get(key) {
        None => Ok(Object::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(v) => Err(format!(
            "field '{key}': expected a mapping, found {}",
            type_name(v)
        )),
    }
}

fn get_list(f: &Fields, key: &str) -> std::result::Result<Vec<Value>, String> {
    match f.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(v) => Err(format!(
            "field '{key}': expected a list, found {}",
            type_name(v)
        )),
    }
}

fn get_string_map(f: &Fields, key: &str) -> std::result::Result<Vec<(String, String)>, String> {
    get_obj(f, key)?
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Null => Ok((k, String::new())),
            other => Err(format!(
                "field '{key}': value of '{k}': expected a string, found {}",
                type_name(&other)
            )),
        })
        .collect()
}

fn get_strings(f: &Fields, key: &str) -> std::result::Result<Vec<String>, String> {
    get_list(f, key)?
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            Value::Null => Ok(String::new()),
            other => Err(format!(
                "field '{key}': expected a list of strings, found {} in it",
                type_name(&other)
            )),
        })
        .collect()
}

/// `fieldSpecs`: `None` when absent or null.
fn get_field_specs(f: &Fields) -> std::result::Result<Option<Vec<FieldSpec>>, String> {
    if !f.contains_key("fieldSpecs") {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (i, item) in get_list(f, "fieldSpecs")?.into_iter().enumerate() {
        let m = match item {
            Value::Object(m) => m,
            Value::Null => Object::new(),
            other => {
                return Err(format!(
                    "fieldSpecs[{i}]: expected a mapping, found {}",
                    type_name(&other)
                ));
            }
        };
        let g = pick(&m, &["group", "version", "kind", "path", "create"]);
        let ctx = |e: String| format!("fieldSpecs[{i}]: {e}");
        out.push(FieldSpec {
            group: get_str(&g, "group").map_err(ctx)?.into(),
            version: get_str(&g, "version").map_err(ctx)?.into(),
            kind: get_str(&g, "kind").map_err(ctx)?.into(),
            path: get_str(&g, "path").map_err(ctx)?.into(),
            create: get_bool(&g, "create").map_err(ctx)?,
        });
    }
    Ok(Some(out))
}

fn metadata_fields(cfg: &Object) -> std::result::Result<Fields, String> {
    let f = pick(cfg, &["metadata"]);
    Ok(pick(&get_obj(&f, "metadata")?, &["name", "namespace"]))
}

/// Go's `filepath.Clean` on a `/`-separated path.
fn go_clean(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// kyaml's `InsertPathPart`: put `part` at position `pos` of a `/`-separated path.
fn insert_path_part(path: &str, pos: i64, part: &str) -> String {
    if part.is_empty() {
        return path.to_string();
    }
    let mut parts: Vec<String> = if path.is_empty() {
        Vec::new()
    } else if path == "/" {
        vec![String::new()]
    } else {
        let mut v: Vec<String> = path.split('/').map(str::to_string).collect();
        if v.len() > 1 && v.last().is_some_and(|l| l.is_empty()) {
            v.pop();
        }
        v
    };
    let mut pos = pos.clamp(0, parts.len() as i64) as usize;
    if parts.first().is_some_and(|p| p.is_empty()) && pos < parts.len() {
        pos += 1;
    }
    parts.insert(pos, part.to_string());
    if parts.first().is_some_and(|p| p.is_empty()) {
        go_clean(&format!("/{}", parts[1..].join("/")))
    } else {
        go_clean(&parts.join("/"))
    }
}

/// The ValueAddTransformer's write of `value` at `field_path` (created when missing).
fn value_add(r: &mut Resource, t: &ValueTarget, value: &str) -> Result<()> {
    let path = split_path(&t.field_path);
    let mut cur: &mut Object = &mut r.obj;
    let Some((last, init)) = path.split_last() else {
        return Ok(());
    };
    for seg in init {
        let next = cur
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Object::new()));
        if next.is_null() {
            *next = Value::Object(Object::new());
        }
        cur = match next {
            Value::Object(m) => m,
            _ => {
                return Err(Error::new(format!(
                    "field '{}' of object {}: '{seg}' is not a mapping",
                    t.field_path,
                    manifest_id(&r.obj)
                )));
            }
        };
    }
    let slot = cur.entry(last.clone()).or_insert(Value::Null);
    let old = match &*slot {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) | Value::Array(_) => {
            return Err(Error::new(format!(
                "field '{}' of object {}: expected a scalar",
                t.field_path,
                manifest_id(&r.obj)
            )));
        }
    };
    let new = if t.file_path_position > 0 {
        insert_path_part(&old, t.file_path_position - 1, value)
    } else {
        value.to_string()
    };
    *slot = Value::String(new);
    Ok(())
}

fn manifest_id(obj: &Object) -> String {
    crate::manifest::id_of(obj).to_string()
}

impl Builder<'_> {
    /// Run the builtin generator plugins the kustomization names (after its own generators).
    pub(super) fn run_plugin_generators(
        &mut self,
        dir: &Path,
        kfile: &Path,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<()> {
        if k.generators.is_empty() {
            return Ok(());
        }
        let plugins = self.configure_all(dir, kfile, &k.generators, Role::Generator)?;
        for p in &plugins {
            self.generate(dir, p, acc)?;
        }
        Ok(())
    }

    /// Run the builtin transformer plugins the kustomization names (after its own
    /// transformers), then its validators.
    pub(super) fn run_plugin_transformers(
        &mut self,
        dir: &Path,
        kfile: &Path,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<()> {
        if !k.transformers.is_empty() {
            let plugins = self.configure_all(dir, kfile, &k.transformers, Role::Transformer)?;
            for p in &plugins {
                self.transform(dir, kfile, p, acc)
                    .map_err(|e| e.context(p.describe()))?;
                if self.track {
                    let mut by = format!("apiVersion: builtin\nkind: {}\n", p.kind);
                    if !p.name.is_empty() {
                        by.push_str(&format!("name: {}\n", p.name));
                    }
                    if !p.namespace.is_empty() {
                        by.push_str(&format!("namespace: {}\n", p.namespace));
                    }
                    note_transformation(&mut acc.res, &p.origin.file, &by);
                }
            }
        }
        if !k.validators.is_empty() {
            let plugins = self.configure_all(dir, kfile, &k.validators, Role::Validator)?;
            for p in &plugins {
                let mut copy = Acc {
                    res: acc.res.clone(),
                    cfg: acc.cfg.clone(),
                    vars: Vec::new(),
                };
                self.transform(dir, kfile, p, &mut copy)
                    .map_err(|e| e.context(p.describe()))?;
                for r in copy.res.iter_mut() {
                    if let Some(Value::Object(md)) = r.obj.get_mut("metadata")
                        && let Some(Value::Object(labels)) = md.get_mut("labels")
                    {
                        labels.remove("validated-by");
                    }
                }
                let same = copy.res.len() == acc.res.len()
                    && acc
                        .res
                        .iter()
                        .all(|a| copy.res.iter().any(|b| b.obj == a.obj));
                if !same {
                    return Err(Error::new(format!(
                        "{}: validator shouldn't modify the resource map",
                        p.describe()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Read the configs of one list (inline ones first, as kustomize does) and configure them.
    fn configure_all(
        &mut self,
        dir: &Path,
        kfile: &Path,
        entries: &[String],
        role: Role,
    ) -> Result<Vec<Configured>> {
        let kshow = self.show(kfile);
        let field = role.field();
        let mut configs: Vec<Resource> = Vec::new();
        let mut paths: Vec<&str> = Vec::new();
        for entry in entries {
            match self.parse_inline(entry, &kshow) {
                Some(rs) => {
                    for r in rs {
                        append(&mut configs, r).map_err(|e| {
                            e.context(format!("{kshow}: {field}: configuring plugins"))
                        })?;
                    }
                }
                None => paths.push(entry),
            }
        }
        for rel in paths {
            if super::is_remote(rel) {
                return Err(Error::new(format!(
                    "{kshow}: {field}: remote plugin config '{rel}' is not supported (Warden never fetches from the network)"
                )));
            }
            let p = fs::clean(&dir.join(rel));
            match self.fs.entry(&p) {
                Some(Entry::File) => {
                    let p = self.restricted(dir, rel, field)?;
                    for r in self.load_resources(&p)? {
                        append(&mut configs, r).map_err(|e| {
                            e.context(format!("{kshow}: {field}: configuring plugins"))
                        })?;
                    }
                }
                Some(Entry::Dir) => {
                    let mut sub = Acc::new();
                    sub.res = std::mem::take(&mut configs);
                    self.accumulate_dir(dir, rel, false, &mut sub)
                        .map_err(|e| e.context(format!("{kshow}: {field}")))?;
                    configs = sub.res;
                }
                None => {
                    return Err(Error::new(format!(
                        "{kshow}: {field}: '{rel}' is neither an inline plugin config nor a file or directory (nothing at {})",
                        self.show(&p)
                    )));
                }
            }
        }
        let mut out = Vec::new();
        for c in &configs {
            out.push(self.configure(dir, c, role)?);
        }
        Ok(out)
    }

    /// An entry that parses as YAML objects (each with a kind and a name) is an inline config.
    fn parse_inline(&self, entry: &str, kshow: &str) -> Option<Vec<Resource>> {
        let docs = yaml::parse_stream(entry, &self.opts.yaml).ok()?;
        let mut out = Vec::new();
        for d in docs {
            let origin = Origin {
                file: kshow.to_string(),
                ..Default::default()
            };
            super::expand_lists(d.value, &origin, &mut out).ok()?;
        }
        Some(out)
    }

    /// Recognise a builtin config and read its fields; refuse anything else.
    fn configure(&mut self, dir: &Path, cfg: &Resource, role: Role) -> Result<Configured> {
        let field = role.field();
        let gvk = cfg.gvk();
        let api_version = gvk.api_version();
        let kind = gvk.kind.clone();
        let here = format!("{}: {field}: {kind} '{}'", cfg.origin, cfg.name());
        if !(gvk.group.is_empty() && gvk.version == "builtin") {
            let function = cfg.annotations().iter().any(|(k, _)| {
                k == "config.kubernetes.io/function" || k == "config.k8s.io/function"
            });
            let what = if function {
                "a KRM function (exec or container)"
            } else {
                "an external (exec or Go) plugin"
            };
            return Err(Error::new(format!(
                "{here}: apiVersion '{api_version}' makes this {what}; only kustomize's builtin plugins (apiVersion: builtin) are supported, Warden never executes code from a repo"
            )));
        }
        if kind == "HelmChartInflationGenerator" {
            return Err(Error::new(format!(
                "{here}: Helm chart inflation is not supported by Warden (it would run helm on the repo's behalf)"
            )));
        }
        let is_gen = GENERATOR_KINDS.contains(&kind.as_str());
        let is_tr = TRANSFORMER_KINDS.contains(&kind.as_str());
        if !is_gen && !is_tr {
            return Err(Error::new(format!(
                "{here}: unable to load builtin plugin kind '{kind}' (not one of kustomize's builtin generators or transformers)"
            )));
        }
        if role == Role::Generator && !is_gen {
            return Err(Error::new(format!("{here}: plugin is not a generator")));
        }
        if role != Role::Generator && !is_tr {
            return Err(Error::new(format!("{here}: plugin is not a transformer")));
        }
        let plugin = self
            .configure_kind(dir, &kind, &cfg.obj)
            .map_err(|e| Error::new(format!("{here}: {e}")))?;
        Ok(Configured {
            plugin,
            origin: cfg.origin.clone(),
            field,
            kind,
            name: cfg.name().to_string(),
            namespace: cfg.namespace().to_string(),
        })
    }

    fn configure_kind(
        &mut self,
        dir: &Path,
        kind: &str,
        cfg: &Object,
    ) -> std::result::Result<Plugin, String> {
        let required_specs = |f: &Fields| -> std::result::Result<Vec<FieldSpec>, String> {
            get_field_specs(f)?.ok_or_else(|| "fieldSpecs is not expected to be nil".to_string())
        };
        let specs = |f: &Fields| -> std::result::Result<Vec<FieldSpec>, String> {
            Ok(get_field_specs(f)?.unwrap_or_default())
        };
        Ok(match kind {
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let f = pick(cfg, &["prefix", "suffix", "fieldSpecs"]);
                let specs = required_specs(&f)?;
                let prefix = (kind != "SuffixTransformer")
                    .then(|| get_str(&f, "prefix"))
                    .transpose()?;
                let suffix = (kind != "PrefixTransformer")
                    .then(|| get_str(&f, "suffix"))
                    .transpose()?;
                Plugin::Affix {
                    prefix,
                    suffix,
                    specs,
                }
            }
            "NamespaceTransformer" => {
                let f = pick(cfg, &["fieldSpecs", "unsetOnly", "setRoleBindingSubjects"]);
                let md = metadata_fields(cfg)?;
                let subjects = get_str(&f, "setRoleBindingSubjects")?;
                let Some(subjects) = SubjectMode::parse(&subjects) else {
                    return Err(format!(
                        "invalid value \"{subjects}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                    ));
                };
                Plugin::Namespace {
                    ns: get_str(&md, "namespace")?,
                    specs: specs(&f)?,
                    mode: NamespaceMode {
                        unset_only: get_bool(&f, "unsetOnly")?,
                        subjects,
                    },
                }
            }
            "LabelTransformer" => {
                let f = pick(cfg, &["labels", "fieldSpecs"]);
                Plugin::MapEntries {
                    pairs: get_string_map(&f, "labels")?,
                    specs: specs(&f)?,
                }
            }
            "AnnotationsTransformer" => {
                let f = pick(cfg, &["annotations", "fieldSpecs"]);
                Plugin::MapEntries {
                    pairs: get_string_map(&f, "annotations")?,
                    specs: specs(&f)?,
                }
            }
            "ImageTagTransformer" => {
                let f = pick(cfg, &["imageTag", "fieldSpecs"]);
                let i = pick(
                    &get_obj(&f, "imageTag")?,
                    &["name", "newName", "tagSuffix", "newTag", "digest"],
                );
                let ctx = |e: String| format!("imageTag: {e}");
                Plugin::Image {
                    image: Image {
                        name: get_str(&i, "name").map_err(ctx)?,
                        new_name: get_str(&i, "newName").map_err(ctx)?,
                        tag_suffix: get_str(&i, "tagSuffix").map_err(ctx)?,
                        new_tag: get_str(&i, "newTag").map_err(ctx)?,
                        digest: get_str(&i, "digest").map_err(ctx)?,
                    },
                    specs: specs(&f)?,
                }
            }
            "ReplicaCountTransformer" => {
                let f = pick(cfg, &["replica", "fieldSpecs"]);
                let r = pick(&get_obj(&f, "replica")?, &["name", "count"]);
                let ctx = |e: String| format!("replica: {e}");
                Plugin::Replicas {
                    replica: Replica {
                        name: get_str(&r, "name").map_err(ctx)?,
                        count: get_int(&r, "count").map_err(ctx)?,
                    },
                    specs: specs(&f)?,
                }
            }
            "PatchTransformer" => {
                let f = pick(cfg, &["path", "patch", "target", "options"]);
                let mut options = std::collections::BTreeMap::new();
                for (k, v) in get_obj(&f, "options")? {
                    match v {
                        Value::Bool(b) => {
                            options.insert(k, b);
                        }
                        Value::Null => {}
                        other => {
                            return Err(format!(
                                "options: '{k}': expected a boolean, found {}",
                                type_name(&other)
                            ));
                        }
                    }
                }
                Plugin::Patch(Patch {
                    path: get_str(&f, "path")?,
                    patch: get_str(&f, "patch")?,
                    target: f.get("target").cloned(),
                    options,
                })
            }
            "PatchJson6902Transformer" => {
                let f = pick(cfg, &["target", "path", "jsonOp"]);
                Plugin::Json6902(Patch {
                    path: get_str(&f, "path")?,
                    patch: get_str(&f, "jsonOp")?,
                    target: f.get("target").cloned(),
                    options: Default::default(),
                })
            }
            "PatchStrategicMergeTransformer" => {
                let f = pick(cfg, &["paths", "patches"]);
                let paths = get_strings(&f, "paths")?;
                let inline = get_str(&f, "patches")?;
                if paths.is_empty() && inline.is_empty() {
                    return Err("empty file path and empty patch content".to_string());
                }
                let mut patches = Vec::new();
                for p in &paths {
                    patches.extend(self.load_psm_entry(dir, p).map_err(|e| e.msg)?.0);
                }
                if !inline.is_empty() {
                    let docs = yaml::parse_stream(&inline, &self.opts.yaml)
                        .map_err(|e| format!("patches: {e}"))?;
                    patches.extend(
                        patch_objects(
                            docs.into_iter().map(|d| (d.value, d.line)).collect(),
                            "patches",
                        )
                        .map_err(|e| e.msg)?,
                    );
                }
                Plugin::StrategicMerge(patches)
            }
            "ReplacementTransformer" => {
                let f = pick(cfg, &["replacements"]);
                let mut all = Vec::new();
                for (i, entry) in get_list(&f, "replacements")?.into_iter().enumerate() {
                    let m = match &entry {
                        Value::Object(m) => m.clone(),
                        Value::Null => Object::new(),
                        other => {
                            return Err(format!(
                                "replacements[{i}]: expected a mapping, found {}",
                                type_name(other)
                            ));
                        }
                    };
                    let e = pick(&m, &["path", "source", "targets"]);
                    let path =
                        get_str(&e, "path").map_err(|e| format!("replacements[{i}]: {e}"))?;
                    if path.is_empty() {
                        all.extend(
                            replacements::parse_replacements(&entry)
                                .map_err(|e| format!("replacements[{i}]: {e}"))?,
                        );
                        continue;
                    }
                    if e.contains_key("source") || e.contains_key("targets") {
                        return Err(format!(
                            "replacements[{i}]: cannot specify both path and inline replacement"
                        ));
                    }
                    let p = self
                        .restricted(dir, &path, "replacements")
                        .map_err(|e| e.msg)?;
                    let text = self.read_text(&p).map_err(|e| e.msg)?;
                    let docs = yaml::parse_stream(&text, &self.opts.yaml)
                        .map_err(|e| format!("{}: {e}", self.show(&p)))?;
                    if let Some(d) = docs.into_iter().next() {
                        all.extend(
                            replacements::parse_replacements(&d.value)
                                .map_err(|e| format!("{}: {e}", self.show(&p)))?,
                        );
                    }
                }
                Plugin::Replacements(all)
            }
            "HashTransformer" => Plugin::Hash,
            "ValueAddTransformer" => {
                let f = pick(cfg, &["value", "targets", "targetFilePath"]);
                let mut value = get_str(&f, "value")?.trim().to_string();
                if value.is_empty() {
                    value = dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "/".to_string());
                }
                let mut raw = get_list(&f, "targets")?;
                let file = get_str(&f, "targetFilePath")?;
                if !file.is_empty() {
                    let p = self
                        .restricted(dir, &file, "targetFilePath")
                        .map_err(|e| e.msg)?;
                    let text = self.read_text(&p).map_err(|e| e.msg)?;
                    let docs = yaml::parse_stream(&text, &self.opts.yaml)
                        .map_err(|e| format!("{}: {e}", self.show(&p)))?;
                    if let Some(Value::Object(m)) = docs.into_iter().next().map(|d| d.value) {
                        raw.extend(
                            get_list(&pick(&m, &["targets"]), "targets")
                                .map_err(|e| format!("{}: {e}", self.show(&p)))?,
                        );
                    }
                }
                if raw.is_empty() {
                    return Err("must specify at least one target".to_string());
                }
                let mut targets = Vec::new();
                for (i, t) in raw.into_iter().enumerate() {
                    let m = match t {
                        Value::Object(m) => m,
                        Value::Null => Object::new(),
                        other => {
                            return Err(format!(
                                "targets[{i}]: expected a mapping, found {}",
                                type_name(&other)
                            ));
                        }
                    };
                    let g = pick(&m, &["selector", "fieldPath", "filePathPosition"]);
                    let ctx = |e: String| format!("targets[{i}]: {e}");
                    let t = ValueTarget {
                        selector: g.get("selector").cloned(),
                        field_path: get_str(&g, "fieldPath").map_err(ctx)?,
                        file_path_position: get_int(&g, "filePathPosition").map_err(ctx)?,
                    };
                    if t.field_path.is_empty() {
                        return Err(format!("targets[{i}]: fieldPath cannot be empty"));
                    }
                    if t.file_path_position < 0 {
                        return Err(format!(
                            "targets[{i}]: value of FilePathPosition ({}) cannot be negative",
                            t.file_path_position
                        ));
                    }
                    targets.push(t);
                }
                Plugin::ValueAdd { value, targets }
            }
            "ConfigMapGenerator" | "SecretGenerator" => {
                let gk = if kind == "ConfigMapGenerator" {
                    GenKind::ConfigMap
                } else {
                    GenKind::Secret
                };
                let mut known = vec![
                    "name",
                    "namespace",
                    "behavior",
                    "literals",
                    "files",
                    "envs",
                    "env",
                    "options",
                ];
                if gk == GenKind::Secret {
                    known.push("type");
                }
                let f = pick(cfg, &known);
                let md = metadata_fields(cfg)?;
                let mut m: Object = f.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                for key in ["name", "namespace"] {
                    let empty = m
                        .get(key)
                        .is_none_or(|v| v.as_str().is_some_and(str::is_empty));
                    if empty && let Some(v) = md.get(key) {
                        m.insert(key.to_string(), v.clone());
                    }
                }
                let args: GeneratorArgs =
                    serde_json::from_value(Value::Object(m)).map_err(|e| e.to_string())?;
                Plugin::Generate(gk, args)
            }
            "IAMPolicyGenerator" => {
                let f = pick(cfg, &["cloud", "kubernetesService", "serviceAccount"]);
                let ks = pick(&get_obj(&f, "kubernetesService")?, &["name", "namespace"]);
                let sa = pick(&get_obj(&f, "serviceAccount")?, &["name", "projectId"]);
                Plugin::IamPolicy {
                    cloud: get_str(&f, "cloud")?,
                    k8s_name: get_str(&ks, "name")
                        .map_err(|e| format!("kubernetesService: {e}"))?,
                    k8s_namespace: get_str(&ks, "namespace")
                        .map_err(|e| format!("kubernetesService: {e}"))?,
                    sa_name: get_str(&sa, "name").map_err(|e| format!("serviceAccount: {e}"))?,
                    project: get_str(&sa, "projectId")
                        .map_err(|e| format!("serviceAccount: {e}"))?,
                }
            }
            other => return Err(format!("unable to load builtin {other}")),
        })
    }

    /// Run one generator plugin and absorb what it makes.
    fn generate(&mut self, dir: &Path, p: &Configured, acc: &mut Acc) -> Result<()> {
        let here = p.describe();
        let made: Vec<Resource> = match &p.plugin {
            Plugin::Generate(gk, args) => {
                let field = gk.field();
                let mut reader = |rel: &str| -> std::result::Result<Vec<u8>, String> {
                    let path = self.restricted(dir, rel, field).map_err(|e| e.msg)?;
                    self.read(&path).map_err(|e| e.msg)
                };
                let r = generators::generate(*gk, args, None, &mut reader)
                    .map_err(|e| Error::new(format!("{here}: {e}")))?;
                vec![r]
            }
            Plugin::IamPolicy {
                cloud,
                k8s_name,
                k8s_namespace,
                sa_name,
                project,
            } => {
                if cloud != "gke" {
                    return Err(Error::new(format!(
                        "{here}: cloud provider {cloud} not supported yet"
                    )));
                }
                let mut text = format!(
                    "\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  annotations:\n    iam.gke.io/gcp-service-account: {sa_name}@{project}.iam.gserviceaccount.com\n  name: {k8s_name}\n"
                );
                if !k8s_namespace.is_empty() {
                    text.push_str(&format!("\n  namespace: {k8s_namespace}"));
                }
                let docs = yaml::parse_stream(&text, &self.opts.yaml)
                    .map_err(|e| Error::new(format!("{here}: generated ServiceAccount: {e}")))?;
                let mut out = Vec::new();
                for d in docs {
                    let Value::Object(m) = d.value else {
                        return Err(Error::new(format!(
                            "{here}: generated ServiceAccount is not a mapping"
                        )));
                    };
                    let mut r = Resource::new(m, Origin::default());
                    r.origin.generator = Some("IAMPolicyGenerator".to_string());
                    out.push(r);
                }
                out
            }
            _ => return Err(Error::new(format!("{here}: plugin is not a generator"))),
        };
        for mut r in made {
            r.origin.file = p.origin.file.clone();
            r.origin.line = p.origin.line;
            if self.track
                && !r
                    .annotations()
                    .iter()
                    .any(|(k, _)| k == "config.kubernetes.io/origin")
            {
                let mut by = format!("  apiVersion: builtin\n  kind: {}\n", p.kind);
                if !p.name.is_empty() {
                    by.push_str(&format!("  name: {}\n", p.name));
                }
                if !p.namespace.is_empty() {
                    by.push_str(&format!("  namespace: {}\n", p.namespace));
                }
                set_annotation(
                    &mut r,
                    "config.kubernetes.io/origin",
                    &format!("configuredIn: {}\nconfiguredBy:\n{by}", p.origin.file),
                );
            }
            absorb(&mut acc.res, r).map_err(|e| e.context(&here))?;
        }
        Ok(())
    }

    /// Run one transformer plugin over the objects.
    fn transform(&mut self, dir: &Path, kfile: &Path, p: &Configured, acc: &mut Acc) -> Result<()> {
        match &p.plugin {
            Plugin::Affix {
                prefix,
                suffix,
                specs,
            } => {
                if let Some(prefix) = prefix {
                    transform::prefix_suffix(&mut acc.res, prefix, specs, true)?;
                }
                if let Some(suffix) = suffix {
                    transform::prefix_suffix(&mut acc.res, suffix, specs, false)?;
                }
            }
            Plugin::Namespace { ns, specs, mode } => {
                if !ns.is_empty() {
                    transform::namespace_with(&mut acc.res, ns, specs, *mode)?;
                }
            }
            Plugin::MapEntries { pairs, specs } => {
                transform::add_map_entries(&mut acc.res, pairs, specs)?;
            }
            Plugin::Image { image, specs } => {
                transform::images(&mut acc.res, std::slice::from_ref(image), specs)?;
            }
            Plugin::Replicas { replica, specs } => {
                transform::replicas(&mut acc.res, std::slice::from_ref(replica), specs)?;
            }
            Plugin::Patch(patch) => {
                let kshow = self.show(kfile);
                self.apply_patch_entry(dir, &kshow, 0, patch, acc)?;
            }
            Plugin::Json6902(patch) => {
                self.apply_legacy_json6902(dir, patch, acc)?;
            }
            Plugin::StrategicMerge(patches) => {
                let po = crate::manifest::PatchOrigin {
                    file: p.origin.file.clone(),
                    line: p.origin.line,
                };
                for (patch, _) in patches {
                    let pid = crate::manifest::id_of(patch);
                    let idx = find_one_by_any_id(&acc.res, &pid)?;
                    let sources = self.openapi.sources()?;
                    let schemas = super::openapi_field::schemas(&sources);
                    super::apply_smp_at(
                        &mut acc.res,
                        idx,
                        patch,
                        false,
                        false,
                        true,
                        &po,
                        schemas,
                    )?;
                }
            }
            Plugin::Replacements(all) => {
                super::apply_replacements(&mut acc.res, all).map_err(Error::new)?;
            }
            Plugin::Hash => {
                for r in acc.res.iter_mut().filter(|r| r.needs_hash) {
                    let h =
                        generators::hash_suffix(&r.obj).map_err(|e| Error::new(e.to_string()))?;
                    r.store_previous_id();
                    let n = format!("{}-{h}", r.name());
                    r.set_name(&n);
                }
            }
            Plugin::ValueAdd { value, targets } => {
                for t in targets {
                    let sel = t.selector.as_ref().map(compile_selector).transpose()?;
                    for r in acc.res.iter_mut() {
                        if sel.as_ref().is_some_and(|s| !s.matches(r)) {
                            continue;
                        }
                        if t.field_path == "metadata/namespace" {
                            transform::set_namespace(r, value, &[], NamespaceMode::default())?;
                        } else {
                            value_add(r, t, value)?;
                        }
                    }
                }
            }
            Plugin::Generate(..) | Plugin::IamPolicy { .. } => {
                return Err(Error::new("plugin is not a transformer"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_path_parts() {
        assert_eq!(insert_path_part("", 0, "PEACH"), "PEACH");
        assert_eq!(insert_path_part("/", 0, "PEACH"), "/PEACH");
        assert_eq!(insert_path_part("pie", 0, "PEACH"), "PEACH/pie");
        assert_eq!(insert_path_part("/pie", 0, "PEACH"), "/PEACH/pie");
        assert_eq!(insert_path_part("raw", 1, "PEACH"), "raw/PEACH");
        assert_eq!(insert_path_part("/raw", 5, "PEACH"), "/raw/PEACH");
        assert_eq!(insert_path_part("a/b/c", 1, "X"), "a/X/b/c");
        assert_eq!(insert_path_part("a/b", 1, ""), "a/b");
    }

    #[test]
    fn picks_fields_leniently() {
        let v: Object =
            serde_json::from_str(r#"{"Prefix":"a","bogus":1,"prefix":"b"}"#).unwrap_or_default();
        let f = pick(&v, &["prefix", "suffix"]);
        assert_eq!(get_str(&f, "prefix").as_deref(), Ok("b"));
        assert_eq!(f.len(), 1);
    }
}
