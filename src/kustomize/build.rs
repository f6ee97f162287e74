//! One build: read the kustomization tree, accumulate resources level by level, run each level's
//! generators and transformers in kustomize's order, then the whole-build steps (hash suffixes,
//! name references, vars, local-config removal, sorting).

use super::config::TransformerConfig;
use super::fieldspec::{FieldSpec, Seg};
use super::fs::{self, Entry, FileSystem};
use super::kustomization::{FILE_NAMES, Kustomization, Patch};
use super::openapi_field::{self, OpenApiState};
use super::resource::{Behavior, Resource};
use super::{
    Error, Result, crds, effective_namespace, generators, jsonpatch, nameref, replacements,
    selector, smp, transform, vars,
};
use crate::manifest::{Object, Origin, PatchOrigin, ResId};
use crate::yaml::{self, Limits};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Patch documents with the line each starts on.
type PatchDocs = Vec<(Object, usize)>;

#[path = "builtins.rs"]
mod builtins;

/// Bounds on one build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub yaml: Limits,
    /// Largest file read, in bytes.
    pub max_file_bytes: usize,
    /// Deepest chain of kustomizations including one another.
    pub max_nesting: usize,
    /// Most objects in one build.
    pub max_resources: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            yaml: Limits::default(),
            max_file_bytes: 16 << 20,
            max_nesting: 64,
            max_resources: 100_000,
        }
    }
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub resources: Vec<Resource>,
    /// Every file the build read (its input closure), absolute.
    pub inputs: BTreeSet<PathBuf>,
}

impl Rendered {
    /// The objects as `kubectl kustomize` prints them.
    pub fn to_yaml(&self) -> String {
        let mut out = Vec::new();
        self.write_yaml(&mut out).expect("writing to memory");
        String::from_utf8(out).expect("YAML output is UTF-8")
    }

    /// Write the objects as `kubectl kustomize` prints them, one at a time.
    pub fn write_yaml(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                w.write_all(b"---\n")?;
            }
            w.write_all(yaml::object_to_yaml(&r.obj).as_bytes())?;
        }
        Ok(())
    }
}

/// Build the kustomization in `dir` (absolute) from `fs`.
pub fn build(fs: &dyn FileSystem, dir: &Path, opts: &BuildOptions) -> Result<Rendered> {
    build_reading(fs, dir, opts).map_err(|(e, _)| e)
}

/// [`build`]; when it fails, also the files it read before it stopped (the input closure of a
/// failed build), so a change to any of them can be recognised as touching this build.
pub fn build_reading(
    fs: &dyn FileSystem,
    dir: &Path,
    opts: &BuildOptions,
) -> std::result::Result<Rendered, (Error, BTreeSet<PathBuf>)> {
    let dir = fs::clean(dir);
    let mut b = Builder {
        fs,
        opts,
        inputs: BTreeSet::new(),
        stack: Vec::new(),
        top: dir.clone(),
        track: false,
        openapi: OpenApiState::default(),
    };
    match run_build(&mut b, &dir) {
        Ok(resources) => Ok(Rendered {
            resources,
            inputs: b.inputs,
        }),
        Err(e) => Err((e, b.inputs)),
    }
}

fn run_build(b: &mut Builder<'_>, dir: &Path) -> Result<Vec<Resource>> {
    let dir = dir.to_path_buf();
    let (k, kfile) = b.load_kustomization(&dir)?;
    b.apply_openapi(&dir, &kfile, &k, true)?;
    // Any buildMetadata option turns on origin tracking (as in kustomize); the annotations
    // are removed at the end unless asked for.
    b.track = !k.build_metadata.is_empty();
    for m in &k.build_metadata {
        if ![
            "originAnnotations",
            "transformerAnnotations",
            "managedByLabel",
        ]
        .contains(&m.as_str())
        {
            return Err(Error::new(format!(
                "{}: buildMetadata: unknown option '{m}' (expected originAnnotations, transformerAnnotations or managedByLabel)",
                b.show(&kfile)
            )));
        }
    }
    b.stack.push(dir.clone());
    let mut acc = Acc::default();
    b.accumulate_target(&dir, &kfile, &k, &mut acc)?;
    b.stack.pop();
    let mut res = acc.res;
    // Content-hash suffixes on generated names.
    for r in res.iter_mut() {
        if r.needs_hash {
            let h = generators::hash_suffix(&r.obj).map_err(|e| Error::new(e.to_string()))?;
            r.store_previous_id();
            let n = format!("{}-{}", r.name(), h);
            r.set_name(&n);
        }
    }
    nameref::fix_references(&mut res, &acc.cfg.name_reference)?;
    if !acc.vars.is_empty() {
        stringify_untagged_var_fields(&mut res, &acc.cfg.var_reference);
        vars::resolve(&mut res, &acc.vars, &acc.cfg.var_reference).map_err(Error::new)?;
        for r in res.iter_mut() {
            r.sync_shared();
        }
    }
    res.retain(|r| {
        !r.annotations()
            .iter()
            .any(|(k, v)| k == "config.kubernetes.io/local-config" && v != "false")
    });
    sort(&mut res, k.sort_options.as_ref())?;
    if k.build_metadata.iter().any(|m| m == "managedByLabel") {
        let specs = vec![FieldSpec::any("metadata/labels", true)];
        transform::add_map_entries(
            &mut res,
            &[(
                "app.kubernetes.io/managed-by".to_string(),
                "kustomize-(devel)".to_string(),
            )],
            &specs,
        )?;
    }
    let keep_origin = k.build_metadata.iter().any(|m| m == "originAnnotations");
    let keep_transformations = k
        .build_metadata
        .iter()
        .any(|m| m == "transformerAnnotations");
    for r in res.iter_mut() {
        if !keep_origin {
            remove_annotation(r, ORIGIN_ANNOTATION);
        }
        if !keep_transformations {
            remove_annotation(r, TRANSFORMATIONS_ANNOTATION);
        }
        stringify_annotations(r);
    }
    Ok(res)
}

/// kubectl rewrites every object's annotations as a string map when it strips its build
/// annotations (every object carries some during a build): a value that a replacement made
/// numeric prints as a string again, and an empty or null annotations field disappears.
fn stringify_annotations(r: &mut Resource) {
    let Some(Value::Object(md)) = r.obj.get_mut("metadata") else {
        return;
    };
    match md.get_mut("annotations") {
        None => {}
        Some(Value::Object(an)) if !an.is_empty() => {
            for v in an.values_mut() {
                let s = match &*v {
                    Value::String(_) => continue,
                    Value::Null => String::new(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => other.to_string(),
                };
                *v = Value::String(s);
            }
        }
        Some(_) => {
            md.shift_remove("annotations");
        }
    }
}

#[derive(Default)]
struct Acc {
    res: Vec<Resource>,
    cfg: TransformerConfig,
    vars: Vec<vars::Var>,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            cfg: TransformerConfig::defaults().clone(),
            ..Default::default()
        }
    }
}

struct Builder<'a> {
    fs: &'a dyn FileSystem,
    opts: &'a BuildOptions,
    inputs: BTreeSet<PathBuf>,
    /// Kustomization directories being built (cycle detection).
    stack: Vec<PathBuf>,
    top: PathBuf,
    /// Record origins and transformations in annotations while building.
    track: bool,
    /// Which schema strategic-merge patches use (`openapi:`).
    openapi: OpenApiState,
}

fn is_remote(p: &str) -> bool {
    p.contains("://")
        || p.starts_with("git@")
        || p.starts_with("github.com/")
        || p.starts_with("gitlab.com/")
        || p.starts_with("bitbucket.org/")
        || p.contains("?ref=")
        || p.contains(".git//")
}

impl Builder<'_> {
    /// A path as shown in messages: relative to the build directory.
    fn show(&self, p: &Path) -> String {
        fs::relative(p, &self.top)
    }

    fn read(&mut self, path: &Path) -> Result<Vec<u8>> {
        let bytes = self
            .fs
            .read(path)
            .map_err(|e| Error::new(format!("{}: {e}", self.show(path))))?;
        self.inputs.insert(path.to_path_buf());
        if bytes.len() > self.opts.max_file_bytes {
            return Err(Error::new(format!(
                "{}: file is larger than the limit of {} bytes",
                self.show(path),
                self.opts.max_file_bytes
            )));
        }
        Ok(bytes)
    }

    fn read_text(&mut self, path: &Path) -> Result<String> {
        let b = self.read(path)?;
        String::from_utf8(b)
            .map_err(|_| Error::new(format!("{}: not valid UTF-8 text", self.show(path))))
    }

    /// Resolve a file named in the kustomization in `root`; kubectl's load restrictor allows
    /// only files inside that directory.
    fn restricted(&self, root: &Path, rel: &str, field: &str) -> Result<PathBuf> {
        if is_remote(rel) {
            return Err(Error::new(format!(
                "{}: {field}: remote file '{rel}' is not supported (Warden never fetches from the network)",
                self.show(root)
            )));
        }
        let p = fs::clean(&root.join(rel));
        let real = self.fs.real_path(&p);
        let real_root = self.fs.real_path(root);
        if !real.starts_with(&real_root) {
            return Err(Error::new(format!(
                "{}: {field}: security; file '{}' is not in or below '{}'",
                self.show(root),
                self.show(&p),
                self.show(root)
            )));
        }
        Ok(p)
    }

    fn load_kustomization(&mut self, dir: &Path) -> Result<(Kustomization, PathBuf)> {
        let mut found = Vec::new();
        for n in FILE_NAMES {
            let p = dir.join(n);
            if self.fs.entry(&p) == Some(Entry::File) {
                found.push(p);
            }
        }
        let kfile = match found.len() {
            0 => {
                return Err(Error::new(format!(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                    self.show(dir)
                )));
            }
            1 => found.remove(0),
            _ => {
                return Err(Error::new(format!(
                    "found multiple kustomization files under: {}",
                    self.show(dir)
                )));
            }
        };
        let text = self.read_text(&kfile)?;
        let lenient = Limits {
            allow_duplicate_keys: true,
            ..self.opts.yaml.clone()
        };
        let docs = yaml::parse_stream(&text, &lenient)
            .map_err(|e| Error::new(format!("{}: {e}", self.show(&kfile))))?;
        let v = match docs.len() {
            0 => Value::Null,
            1 => docs
                .into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(Value::Null),
            _ => {
                return Err(Error::new(format!(
                    "{}: a kustomization file must hold one YAML document",
                    self.show(&kfile)
                )));
            }
        };
        let k = Kustomization::from_value(v)
            .map_err(|e| Error::new(format!("{}: {e}", self.show(&kfile))))?;
        self.refuse_unsupported(&k, &kfile)?;
        Ok((k, kfile))
    }

    fn refuse_unsupported(&self, k: &Kustomization, kfile: &Path) -> Result<()> {
        let f = self.show(kfile);
        let refuse = |field: &str, why: &str| Err(Error::new(format!("{f}: {field}: {why}")));
        if !k.helm_charts.is_empty()
            || !k.helm_chart_inflation_generator.is_empty()
            || k.helm_globals.is_some()
        {
            return refuse(
                "helmCharts",
                "Helm chart inflation is not supported by Warden (it would run helm on the repo's behalf)",
            );
        }
        Ok(())
    }

    /// Apply a kustomization's `openapi:` field (see [`openapi_field`]); its file is read
    /// even when the field is ignored.
    fn apply_openapi(
        &mut self,
        dir: &Path,
        kfile: &Path,
        k: &Kustomization,
        top: bool,
    ) -> Result<()> {
        let field = k.openapi.as_ref();
        let file = match field.and_then(|f| f.get("path")) {
            Some(rel) => {
                let p = self.restricted(dir, rel, "openapi")?;
                let bytes = self
                    .read(&p)
                    .map_err(|e| e.context(format!("{}: openapi: path", self.show(kfile))))?;
                Some((bytes, self.show(&p)))
            }
            None => None,
        };
        self.openapi
            .apply(
                field,
                file.as_ref().map(|(b, s)| (b.as_slice(), s.clone())),
                top,
                &self.opts.yaml,
            )
            .map_err(|e| Error::new(format!("{}: {e}", self.show(kfile))))
    }

    fn accumulate_target(
        &mut self,
        dir: &Path,
        kfile: &Path,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<()> {
        if acc.cfg.name_prefix.is_empty() && acc.cfg.name_reference.is_empty() {
            acc.cfg = TransformerConfig::defaults().clone();
        }
        self.accumulate_resources(dir, kfile, &k.resources, acc)?;
        for c in &k.configurations {
            let p = self.restricted(dir, c, "configurations")?;
            let text = self.read_text(&p)?;
            for d in yaml::parse_stream(&text, &self.opts.yaml)
                .map_err(|e| Error::new(format!("{}: {e}", self.show(&p))))?
            {
                let cfg = TransformerConfig::from_value(&d.value)
                    .map_err(|e| Error::new(format!("{}: {e}", self.show(&p))))?;
                acc.cfg.merge(&cfg);
            }
        }
        for c in &k.crds {
            let p = self.restricted(dir, c, "crds")?;
            let bytes = self
                .read(&p)
                .map_err(|e| e.context(format!("{}: crds", self.show(kfile))))?;
            let cfg = crds::config_from_file(&bytes, &self.opts.yaml).map_err(|e| {
                Error::new(format!(
                    "{}: crds: unable to parse open API definition from '{}': {e}",
                    self.show(kfile),
                    self.show(&p)
                ))
            })?;
            acc.cfg.merge(&cfg);
        }
        self.run_generators(dir, kfile, k, acc)?;
        for c in &k.components {
            self.accumulate_dir(dir, c, true, acc)
                .map_err(|e| e.context("accumulating components"))?;
        }
        self.run_transformers(dir, kfile, k, acc)?;
        let mut declared = Vec::new();
        for v in &k.vars {
            let var: vars::Var = serde_json::from_value(v.clone())
                .map_err(|e| Error::new(format!("{}: vars: {e}", self.show(kfile))))?;
            declared.push(var);
        }
        if !declared.is_empty() {
            vars::merge_vars(&mut acc.res, &declared, &mut acc.vars)
                .map_err(|e| Error::new(format!("{}: vars: {e}", self.show(kfile))))?;
        }
        if acc.res.len() > self.opts.max_resources {
            return Err(Error::new(format!(
                "the build produces more than {} objects",
                self.opts.max_resources
            )));
        }
        Ok(())
    }

    fn accumulate_resources(
        &mut self,
        dir: &Path,
        kfile: &Path,
        paths: &[String],
        acc: &mut Acc,
    ) -> Result<()> {
        for rel in paths {
            if is_remote(rel) {
                return Err(Error::new(format!(
                    "{}: resources: remote resource '{rel}' is not supported (Warden never fetches from the network)",
                    self.show(kfile)
                )));
            }
            let p = fs::clean(&dir.join(rel));
            match self.fs.entry(&p) {
                Some(Entry::File) => {
                    let p = self.restricted(dir, rel, "resources")?;
                    let loaded = self.load_resources(&p)?;
                    append_all(&mut acc.res, loaded).map_err(|e| {
                        e.context(format!(
                            "{}: merging resources from '{rel}'",
                            self.show(kfile)
                        ))
                    })?;
                }
                Some(Entry::Dir) => {
                    self.accumulate_dir(dir, rel, false, acc)?;
                }
                None => {
                    return Err(Error::new(format!(
                        "{}: resources: '{rel}' does not exist (no file or directory at {})",
                        self.show(kfile),
                        self.show(&p)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Read the objects of one resource file.
    fn load_resources(&mut self, p: &Path) -> Result<Vec<Resource>> {
        let text = self.read_text(p)?;
        let file = self.show(p);
        let docs = yaml::parse_stream(&text, &self.opts.yaml)
            .map_err(|e| Error::new(format!("{file}: {e}")))?;
        let mut out = Vec::new();
        for d in docs {
            let origin = Origin {
                file: file.clone(),
                line: d.line,
                ..Default::default()
            };
            let before = out.len();
            expand_lists(d.value, &origin, &mut out)?;
            // A plain document (not a List) is one object: its empty fields are its own.
            if out.len() == before + 1 {
                out[before].empty_values = d.empty_values;
            }
        }
        for r in &out {
            self.openapi
                .note_kind(&r.gvk().api_version(), r.kind())
                .map_err(|e| e.context(&file))?;
        }
        if self.track {
            for r in out.iter_mut() {
                set_annotation(r, ORIGIN_ANNOTATION, &format!("path: {file}\n"));
            }
        }
        Ok(out)
    }

    fn accumulate_dir(
        &mut self,
        parent: &Path,
        rel: &str,
        component: bool,
        acc: &mut Acc,
    ) -> Result<()> {
        let dir = fs::clean(&parent.join(rel));
        if self.stack.contains(&dir) {
            return Err(Error::new(format!(
                "cycle detected: '{}' includes itself (through {})",
                self.show(&dir),
                self.stack
                    .iter()
                    .map(|d| self.show(d))
                    .collect::<Vec<_>>()
                    .join(" → ")
            )));
        }
        if self.stack.len() >= self.opts.max_nesting {
            return Err(Error::new(format!(
                "kustomizations nest deeper than {} levels at '{}'",
                self.opts.max_nesting,
                self.show(&dir)
            )));
        }
        let (k, kfile) = self.load_kustomization(&dir)?;
        self.apply_openapi(&dir, &kfile, &k, false)?;
        if component && !k.is_component() {
            return Err(Error::new(format!(
                "expected kind 'Component' for path '{}' but got '{}'",
                self.show(&dir),
                k.kind
            )));
        }
        if !component && k.is_component() {
            return Err(Error::new(format!(
                "expected kind != 'Component' for path '{}'",
                self.show(&dir)
            )));
        }
        self.stack.push(dir.clone());
        let r = if component {
            self.accumulate_target(&dir, &kfile, &k, acc)
        } else {
            let mut sub = Acc::new();
            self.accumulate_target(&dir, &kfile, &k, &mut sub)
                .and_then(|()| {
                    append_all(&mut acc.res, sub.res)?;
                    acc.cfg.merge(&sub.cfg);
                    for v in sub.vars {
                        if acc.vars.iter().any(|x| x.name == v.name) {
                            return Err(Error::new(format!(
                                "var '{}' already encountered",
                                v.name
                            )));
                        }
                        acc.vars.push(v);
                    }
                    Ok(())
                })
        };
        self.stack.pop();
        r.map_err(|e| e.context(format!("in '{}'", self.show(&dir))))
    }

    fn run_generators(
        &mut self,
        dir: &Path,
        kfile: &Path,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<()> {
        let global: Option<generators::GeneratorOptions> =
            match &k.generator_options {
                Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
                    Error::new(format!("{}: generatorOptions: {e}", self.show(kfile)))
                })?),
                None => None,
            };
        let kshow = self.show(kfile);
        let lists = [
            (
                generators::GenKind::ConfigMap,
                &k.config_map_generator,
                "configMapGenerator",
            ),
            (
                generators::GenKind::Secret,
                &k.secret_generator,
                "secretGenerator",
            ),
        ];
        for (kind, list, field) in lists {
            for v in list.iter() {
                let args: generators::GeneratorArgs = serde_json::from_value(v.clone())
                    .map_err(|e| Error::new(format!("{kshow}: {field}: {e}")))?;
                let mut reader = |rel: &str| -> std::result::Result<Vec<u8>, String> {
                    let p = self.restricted(dir, rel, field).map_err(|e| e.msg)?;
                    self.read(&p).map_err(|e| e.msg)
                };
                let mut r = generators::generate(kind, &args, global.as_ref(), &mut reader)
                    .map_err(|e| Error::new(format!("{kshow}: {field}: {e}")))?;
                r.origin.file = kshow.clone();
                if self.track {
                    let gen_kind = match kind {
                        generators::GenKind::ConfigMap => "ConfigMapGenerator",
                        generators::GenKind::Secret => "SecretGenerator",
                    };
                    set_annotation(
                        &mut r,
                        ORIGIN_ANNOTATION,
                        &format!(
                            "configuredIn: {kshow}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {gen_kind}\n"
                        ),
                    );
                }
                absorb(&mut acc.res, r).map_err(|e| e.context(format!("{kshow}: {field}")))?;
            }
        }
        self.run_plugin_generators(dir, kfile, k, acc)
    }

    fn run_transformers(
        &mut self,
        dir: &Path,
        kfile: &Path,
        k: &Kustomization,
        acc: &mut Acc,
    ) -> Result<()> {
        let kshow = self.show(kfile);
        let track = self.track;
        let note = |res: &mut [Resource], kind: &str| {
            if track {
                note_transformer(res, &kshow, kind);
            }
        };
        // patchesStrategicMerge
        for (i, entry) in k.patches_strategic_merge.iter().enumerate() {
            let (patches, source) = self.load_psm_entry(dir, entry)?;
            for (patch, line) in patches {
                // An inline patch's lines are lines of the entry's text, not of the file.
                let po = match &source {
                    Some(file) => PatchOrigin {
                        file: file.clone(),
                        line,
                    },
                    None => PatchOrigin {
                        file: kshow.clone(),
                        line: 0,
                    },
                };
                let pid = crate::manifest::id_of(&patch);
                let idx = find_one_by_any_id(&acc.res, &pid)
                    .map_err(|e| Error::new(format!("{kshow}: patchesStrategicMerge[{i}]: {e}")))?;
                let sources = self.openapi.sources()?;
                let schemas = openapi_field::schemas(&sources);
                apply_smp_at(&mut acc.res, idx, &patch, false, false, true, &po, schemas)
                    .map_err(|e| e.context(format!("{kshow}: patchesStrategicMerge[{i}]")))?;
            }
        }
        if !k.patches_strategic_merge.is_empty() {
            note(&mut acc.res, "PatchStrategicMergeTransformer");
        }
        // patches
        for (i, p) in k.patches.iter().enumerate() {
            self.apply_patch_entry(dir, &kshow, i, p, acc)
                .map_err(|e| e.context(format!("{kshow}: patches[{i}]")))?;
            note(&mut acc.res, "PatchTransformer");
        }
        if !k.namespace.is_empty() {
            transform::namespace(&mut acc.res, &k.namespace, &acc.cfg.namespace)?;
            note(&mut acc.res, "NamespaceTransformer");
        }
        if !k.name_prefix.is_empty() {
            transform::prefix_suffix(&mut acc.res, &k.name_prefix, &acc.cfg.name_prefix, true)?;
            note(&mut acc.res, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            transform::prefix_suffix(&mut acc.res, &k.name_suffix, &acc.cfg.name_suffix, false)?;
            note(&mut acc.res, "SuffixTransformer");
        }
        if !k.labels.is_empty() || k.common_labels.is_some() {
            if let Some(cl) = &k.common_labels {
                for l in &k.labels {
                    if let Some(key) = l.pairs.keys().find(|x| cl.contains_key(*x)) {
                        return Err(Error::new(format!(
                            "{kshow}: label name '{key}' exists in both commonLabels and labels"
                        )));
                    }
                }
            }
            for l in &k.labels {
                let mut specs: Vec<FieldSpec> = Vec::new();
                let mut add = |s: &FieldSpec| {
                    if !specs.iter().any(|x| x.same_target(s)) {
                        specs.push(s.clone());
                    }
                };
                for s in &l.fields {
                    add(s);
                }
                if l.include_selectors {
                    for s in &acc.cfg.common_labels {
                        add(s);
                    }
                } else {
                    if l.include_templates {
                        for s in &acc.cfg.template_labels {
                            add(s);
                        }
                    }
                    add(&FieldSpec::any("metadata/labels", true));
                }
                let pairs: Vec<(String, String)> = l
                    .pairs
                    .iter()
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect();
                transform::add_map_entries(&mut acc.res, &pairs, &specs)?;
                note(&mut acc.res, "LabelTransformer");
            }
            if let Some(cl) = &k.common_labels {
                let pairs: Vec<(String, String)> =
                    cl.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
                transform::add_map_entries(&mut acc.res, &pairs, &acc.cfg.common_labels)?;
            }
            // kustomize always configures the commonLabels transformer here, even when empty.
            note(&mut acc.res, "LabelTransformer");
        }
        if let Some(ca) = &k.common_annotations {
            let pairs: Vec<(String, String)> =
                ca.iter().map(|(a, b)| (a.clone(), b.clone())).collect();
            transform::add_map_entries(&mut acc.res, &pairs, &acc.cfg.common_annotations)?;
            note(&mut acc.res, "AnnotationsTransformer");
        }
        // patchesJson6902
        for (i, p) in k.patches_json6902.iter().enumerate() {
            self.apply_legacy_json6902(dir, p, acc)
                .map_err(|e| e.context(format!("{kshow}: patchesJson6902[{i}]")))?;
            note(&mut acc.res, "PatchJson6902Transformer");
        }
        if !k.replicas.is_empty() {
            transform::replicas(&mut acc.res, &k.replicas, &acc.cfg.replicas)
                .map_err(|e| e.context(format!("{kshow}: replicas")))?;
            for _ in &k.replicas {
                note(&mut acc.res, "ReplicaCountTransformer");
            }
        }
        if !k.images.is_empty() {
            transform::images(&mut acc.res, &k.images, &acc.cfg.images)
                .map_err(|e| e.context(format!("{kshow}: images")))?;
            for _ in &k.images {
                note(&mut acc.res, "ImageTagTransformer");
            }
        }
        if !k.replacements.is_empty() {
            let mut all = Vec::new();
            for (i, entry) in k.replacements.iter().enumerate() {
                let only_path = entry
                    .as_object()
                    .filter(|m| m.len() == 1)
                    .and_then(|m| m.get("path"))
                    .and_then(|p| p.as_str());
                match only_path {
                    Some(rel) => {
                        let p = self.restricted(dir, rel, "replacements")?;
                        let text = self.read_text(&p)?;
                        let docs = yaml::parse_stream(&text, &self.opts.yaml)
                            .map_err(|e| Error::new(format!("{}: {e}", self.show(&p))))?;
                        for d in docs {
                            all.extend(
                                replacements::parse_replacements(&d.value)
                                    .map_err(|e| Error::new(format!("{}: {e}", self.show(&p))))?,
                            );
                        }
                    }
                    None => all.extend(
                        replacements::parse_replacements(entry)
                            .map_err(|e| Error::new(format!("{kshow}: replacements[{i}]: {e}")))?,
                    ),
                }
            }
            apply_replacements(&mut acc.res, &all)
                .map_err(|e| Error::new(format!("{kshow}: replacements: {e}")))?;
            note(&mut acc.res, "ReplacementTransformer");
        }
        self.run_plugin_transformers(dir, kfile, k, acc)
    }

    /// A `patchesStrategicMerge` entry is inline YAML or a file path: the patches of one `patchesStrategicMerge` entry, each with its document line, and the
    /// file they were read from (`None` for an inline patch).
    fn load_psm_entry(&mut self, dir: &Path, entry: &str) -> Result<(PatchDocs, Option<String>)> {
        if let Ok(docs) = yaml::parse_stream(entry, &self.opts.yaml)
            && !docs.is_empty()
            && docs.iter().all(|d| d.value.is_object())
        {
            return Ok((
                patch_objects(
                    docs.into_iter().map(|d| (d.value, d.line)).collect(),
                    "inline patch",
                )?,
                None,
            ));
        }
        let p = self.restricted(dir, entry, "patchesStrategicMerge")?;
        let text = self.read_text(&p)?;
        let docs = yaml::parse_stream(&text, &self.opts.yaml)
            .map_err(|e| Error::new(format!("{}: {e}", self.show(&p))))?;
        let shown = self.show(&p);
        Ok((
            patch_objects(
                docs.into_iter().map(|d| (d.value, d.line)).collect(),
                &shown,
            )?,
            Some(shown),
        ))
    }

    fn apply_patch_entry(
        &mut self,
        dir: &Path,
        kshow: &str,
        _i: usize,
        p: &Patch,
        acc: &mut Acc,
    ) -> Result<()> {
        let patch_text = p.patch.trim().to_string();
        let (text, source) = match (patch_text.is_empty(), p.path.is_empty()) {
            (true, true) => return Err(Error::new("must specify one of patch and path")),
            (false, false) => {
                return Err(Error::new("patch and path can't be set at the same time"));
            }
            (false, true) => (patch_text, kshow.to_string()),
            (true, false) => {
                let path = self.restricted(dir, &p.path, "patches")?;
                let t = self.read_text(&path)?;
                (t, self.show(&path))
            }
        };
        let po = PatchOrigin {
            file: source.clone(),
            line: 0,
        };
        let target = match &p.target {
            Some(t) => Some(compile_selector(t)?),
            None => None,
        };
        let allow_name = p.options.get("allowNameChange").copied().unwrap_or(false);
        let allow_kind = p.options.get("allowKindChange").copied().unwrap_or(false);
        for key in p.options.keys() {
            if key != "allowNameChange" && key != "allowKindChange" {
                return Err(Error::new(format!("unknown patch option '{key}'")));
            }
        }
        let sm = parse_sm_patch(&text, &self.opts.yaml);
        let json = parse_json_patch(&text, &self.opts.yaml);
        match (sm, json) {
            (Ok(_), Ok(_)) => Err(Error::new(format!(
                "illegally qualifies as both an SM and JSON patch: {source}"
            ))),
            (Err(_), Err(_)) => Err(Error::new(format!(
                "unable to parse SM or JSON patch from {source}"
            ))),
            (Ok(patches), Err(_)) => {
                if let Some(sel) = &target {
                    if patches.len() > 1 {
                        return Err(Error::new(format!(
                            "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {source}"
                        )));
                    }
                    let patch = &patches[0];
                    let selected: Vec<usize> = (0..acc.res.len())
                        .filter(|&j| sel.matches(&acc.res[j]))
                        .collect();
                    let mut deleted = Vec::new();
                    for j in selected {
                        let mut pc = patch.clone();
                        pc.insert(
                            "apiVersion".into(),
                            Value::String(acc.res[j].gvk().api_version()),
                        );
                        let sources = self.openapi.sources()?;
                        let schemas = openapi_field::schemas(&sources);
                        if apply_smp_at(
                            &mut acc.res,
                            j,
                            &pc,
                            allow_name,
                            allow_kind,
                            false,
                            &po,
                            schemas,
                        )? {
                            deleted.push(j);
                        }
                    }
                    for j in deleted.into_iter().rev() {
                        acc.res.remove(j);
                    }
                } else {
                    for patch in &patches {
                        let pid = crate::manifest::id_of(patch);
                        let j = find_one_by_any_id(&acc.res, &pid).map_err(|e| {
                            Error::new(format!(
                                "no resource matches strategic merge patch \"{pid}\": {e}"
                            ))
                        })?;
                        let sources = self.openapi.sources()?;
                        let schemas = openapi_field::schemas(&sources);
                        apply_smp_at(
                            &mut acc.res,
                            j,
                            patch,
                            allow_name,
                            allow_kind,
                            true,
                            &po,
                            schemas,
                        )?;
                    }
                }
                Ok(())
            }
            (Err(_), Ok(ops)) => {
                let Some(sel) = &target else {
                    return Err(Error::new(format!(
                        "must specify a target for JSON patch {source}"
                    )));
                };
                for r in acc.res.iter_mut() {
                    if sel.matches(r) {
                        r.store_previous_id();
                        apply_json_patch(r, &ops)?;
                        r.origin.patches.push(po.clone());
                    }
                }
                Ok(())
            }
        }
    }

    fn apply_legacy_json6902(&mut self, dir: &Path, p: &Patch, acc: &mut Acc) -> Result<()> {
        let Some(t) = &p.target else {
            return Err(Error::new("must specify a target"));
        };
        if t.get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .is_empty()
        {
            return Err(Error::new("must specify the target name"));
        }
        let sel = compile_selector(t)?;
        let (text, source) = match (p.path.is_empty(), p.patch.is_empty()) {
            (true, true) => return Err(Error::new("empty file path and empty jsonOp")),
            (false, false) => {
                return Err(Error::new("must specify a file path or jsonOp, not both"));
            }
            (false, true) => {
                let path = self.restricted(dir, &p.path, "patchesJson6902")?;
                let t = self.read_text(&path)?;
                (t, self.show(&path))
            }
            (true, false) => (p.patch.clone(), "inline".to_string()),
        };
        let ops = parse_json_patch(&text, &self.opts.yaml)
            .map_err(|e| Error::new(format!("decoding {source}: {e}")))?;
        if ops.is_empty() {
            return Err(Error::new(format!(
                "patch appears to be empty; file={source}"
            )));
        }
        let po = PatchOrigin {
            file: source,
            line: 0,
        };
        for r in acc.res.iter_mut() {
            if sel.matches(r) {
                apply_json_patch(r, &ops)?;
                r.origin.patches.push(po.clone());
            }
        }
        Ok(())
    }
}

/// Run replacements, then let shared label values follow in-place edits and remember the
/// scalars they created (untagged in kustomize).
pub(super) fn apply_replacements(
    res: &mut [Resource],
    all: &[replacements::Replacement],
) -> std::result::Result<(), String> {
    let before: Vec<Object> = res.iter().map(|r| r.obj.clone()).collect();
    replacements::apply(res, all)?;
    for (r, old) in res.iter_mut().zip(before) {
        r.sync_shared();
        let mut at = Vec::new();
        let mut fresh = Vec::new();
        for (k, v) in &r.obj {
            at.push(Seg::Key(k.clone()));
            new_scalars(old.get(k), v, &mut at, &mut fresh);
            at.pop();
        }
        for p in fresh {
            if !r.untagged.contains(&p) {
                r.untagged.push(p);
            }
        }
    }
    Ok(())
}

/// Paths of scalars in `after` that `before` did not have.
fn new_scalars(before: Option<&Value>, after: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match after {
        Value::Object(m) => {
            for (k, v) in m {
                at.push(Seg::Key(k.clone()));
                new_scalars(before.and_then(|b| b.get(k.as_str())), v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Seg::Index(i));
                new_scalars(before.and_then(|b| b.get(i)), v, at, out);
                at.pop();
            }
        }
        _ => {
            if before.is_none() {
                out.push(at.clone());
            }
        }
    }
}

/// Before vars are substituted: kustomize's vars pass rewrites untagged scalars in the
/// fields it visits as strings.
fn stringify_untagged_var_fields(res: &mut [Resource], specs: &[FieldSpec]) {
    for r in res.iter_mut() {
        if r.untagged.is_empty() {
            continue;
        }
        let gvk = r.gvk();
        let mut hits: Vec<Vec<Seg>> = Vec::new();
        for fs in specs.iter().filter(|fs| fs.matches_gvk(&gvk)) {
            let untagged = &r.untagged;
            let _ = super::fieldspec::visit_with_path(
                &mut r.obj,
                fs,
                super::fieldspec::Create::Never,
                &mut |_, at| {
                    hits.extend(untagged.iter().filter(|p| p.starts_with(at)).cloned());
                    Ok(())
                },
            );
        }
        for p in hits {
            if let Some(v) = super::fieldspec::get_path_mut(&mut r.obj, &p) {
                let text = match &*v {
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                *v = Value::String(text);
            }
        }
    }
}

fn compile_selector(t: &Value) -> Result<selector::Matcher> {
    let s: selector::Selector =
        serde_json::from_value(t.clone()).map_err(|e| Error::new(format!("target: {e}")))?;
    s.compile().map_err(|e| Error::new(format!("target: {e}")))
}

/// Drop kustomize's internal build annotations (and an annotations map they leave empty).
fn strip_internal_annotations(r: &mut Resource) {
    if let Some(Value::Object(md)) = r.obj.get_mut("metadata")
        && let Some(Value::Object(an)) = md.get_mut("annotations")
    {
        let before = an.len();
        an.retain(|k, _| !k.starts_with("internal.config.kubernetes.io/"));
        if an.is_empty() && before > 0 {
            md.remove("annotations");
        }
    }
}

const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";

fn remove_annotation(r: &mut Resource, key: &str) {
    if let Some(Value::Object(md)) = r.obj.get_mut("metadata")
        && let Some(Value::Object(an)) = md.get_mut("annotations")
        && an.remove(key).is_some()
        && an.is_empty()
    {
        md.remove("annotations");
    }
}

/// After a builtin transformer of the kustomization `kfile` ran: record it on every object,
/// as a transformation, or as the origin of an object that has none.
fn note_transformer(res: &mut [Resource], kfile: &str, kind: &str) {
    note_transformation(res, kfile, &format!("apiVersion: builtin\nkind: {kind}\n"));
}

/// Record a transformer (`configured_by`: its apiVersion/kind/name lines) on every object.
pub(super) fn note_transformation(res: &mut [Resource], configured_in: &str, configured_by: &str) {
    let indent = |prefix: &str| -> String {
        configured_by
            .lines()
            .map(|l| format!("{prefix}{l}\n"))
            .collect()
    };
    let origin = format!(
        "configuredIn: {configured_in}\nconfiguredBy:\n{}",
        indent("  ")
    );
    let item = format!(
        "- configuredIn: {configured_in}\n  configuredBy:\n{}",
        indent("    ")
    );
    for r in res.iter_mut() {
        // kustomize re-writes the annotations map to record this.
        r.unshare_under(&[Seg::Key("metadata".into()), Seg::Key("annotations".into())]);
        if annotation(r, ORIGIN_ANNOTATION).is_none() {
            set_annotation(r, ORIGIN_ANNOTATION, &origin);
        } else {
            let mut list = annotation(r, TRANSFORMATIONS_ANNOTATION).unwrap_or_default();
            list.push_str(&item);
            set_annotation(r, TRANSFORMATIONS_ANNOTATION, &list);
        }
    }
}

fn annotation(r: &Resource, key: &str) -> Option<String> {
    crate::manifest::get_str(&r.obj, &["metadata", "annotations", key]).map(str::to_string)
}

fn set_annotation(r: &mut Resource, key: &str, value: &str) {
    let md = r
        .obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Object::new()));
    if let Value::Object(md) = md {
        let an = md
            .entry("annotations")
            .or_insert_with(|| Value::Object(Object::new()));
        if an.is_null() {
            *an = Value::Object(Object::new());
        }
        if let Value::Object(an) = an {
            an.insert(key.to_string(), Value::String(value.to_string()));
        }
    }
}

fn patch_objects(docs: Vec<(Value, usize)>, source: &str) -> Result<Vec<(Object, usize)>> {
    let mut out = Vec::new();
    for (v, line) in docs {
        match v {
            Value::Object(m) => out.push((m, line)),
            _ => {
                return Err(Error::new(format!(
                    "{source}:{line}: a strategic merge patch must be a mapping"
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::new(format!("{source}: patch appears to be empty")));
    }
    Ok(out)
}

/// A strategic-merge patch: one or more objects, each with a kind and a name.
fn parse_sm_patch(text: &str, limits: &Limits) -> std::result::Result<Vec<Object>, String> {
    let docs = yaml::parse_stream(text, limits).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for d in docs {
        let Value::Object(m) = d.value else {
            return Err("not a mapping".into());
        };
        let kind = m.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        if kind.is_empty() {
            return Err("missing kind".into());
        }
        if !kind.ends_with("List")
            && crate::manifest::get_str(&m, &["metadata", "name"])
                .unwrap_or("")
                .is_empty()
        {
            return Err("missing metadata.name".into());
        }
        out.push(m);
    }
    if out.is_empty() {
        return Err("empty".into());
    }
    Ok(out)
}

/// A JSON 6902 patch, as JSON or YAML.
fn parse_json_patch(
    text: &str,
    limits: &Limits,
) -> std::result::Result<Vec<jsonpatch::Op>, String> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err("empty json patch operations".into());
    }
    let v: Value = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| e.to_string())?
    } else {
        let docs = yaml::parse_stream(text, limits).map_err(|e| e.to_string())?;
        if docs.len() != 1 {
            return Err("expected one document".into());
        }
        docs.into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or(Value::Null)
    };
    jsonpatch::parse(&v)
}

fn apply_json_patch(r: &mut Resource, ops: &[jsonpatch::Op]) -> Result<()> {
    // The patch goes through JSON: every node is new (and tagged) afterwards.
    r.shared.clear();
    r.untagged.clear();
    r.empty_values.clear();
    let res = jsonpatch::apply_to_object(&mut r.obj, ops);
    res.map_err(|e| Error::new(format!("applying JSON patch to {}: {e}", r.cur_id())))
}

/// Apply a strategic-merge patch to resource `idx`; returns whether the patch deleted it
/// (and, when `remove` is set, removes it).
#[allow(clippy::too_many_arguments)]
fn apply_smp_at(
    res: &mut Vec<Resource>,
    idx: usize,
    patch: &Object,
    allow_name: bool,
    allow_kind: bool,
    remove: bool,
    po: &PatchOrigin,
    schemas: super::openapi::Schemas<'_>,
) -> Result<bool> {
    let r = &mut res[idx];
    let (name, ns, kind) = (
        r.name().to_string(),
        r.namespace().to_string(),
        r.kind().to_string(),
    );
    if allow_name || allow_kind {
        r.store_previous_id();
    }
    let mut patch = patch.clone();
    for (allowed, key) in [
        (allow_name, "internal.config.kubernetes.io/allowNameChange"),
        (allow_kind, "internal.config.kubernetes.io/allowKindChange"),
    ] {
        if allowed {
            let mut holder = Resource::new(std::mem::take(&mut patch), Origin::default());
            set_annotation(&mut holder, key, "enabled");
            patch = holder.obj;
        }
    }
    let out = smp::apply_with(&r.obj, &patch, schemas)
        .map_err(|e| Error::new(format!("applying patch to {}: {e}", r.cur_id())))?;
    match out {
        None => {
            if remove {
                res.remove(idx);
            }
            Ok(true)
        }
        Some(obj) => {
            r.obj = obj;
            strip_internal_annotations(r);
            r.drop_empty_values();
            r.sync_shared();
            if !allow_kind {
                r.obj.insert("kind".into(), Value::String(kind));
            }
            if !allow_name {
                r.set_name(&name);
            }
            if ns.is_empty() {
                if let Some(Value::Object(md)) = r.obj.get_mut("metadata") {
                    md.remove("namespace");
                }
            } else {
                r.set_namespace(&ns);
            }
            r.origin.patches.push(po.clone());
            Ok(false)
        }
    }
}

fn ids_equal(a: &ResId, b: &ResId) -> bool {
    a.gvk == b.gvk
        && a.name == b.name
        && effective_namespace(&a.gvk, &a.namespace) == effective_namespace(&b.gvk, &b.namespace)
}

/// Has `r` ever had this id? (Names are compared first: they rarely match, and cost nothing.)
fn had_id(r: &Resource, id: &ResId) -> bool {
    let name_seen = r.name() == id.name || r.previous.iter().any(|p| p.name == id.name);
    name_seen && r.all_ids().iter().any(|x| ids_equal(x, id))
}

/// The one resource that has (or had) this id.
fn find_one_by_any_id(res: &[Resource], id: &ResId) -> Result<usize> {
    let hits: Vec<usize> = (0..res.len()).filter(|&i| had_id(&res[i], id)).collect();
    match hits.len() {
        1 => Ok(hits[0]),
        0 => Err(Error::new(format!("no matches for Id {id}"))),
        _ => Err(Error::new(format!("multiple matches for Id {id}"))),
    }
}

/// Add resources; their ids must be new. (Existing names are indexed once, so adding a
/// kustomization's objects to a large accumulation stays linear.)
fn append_all(res: &mut Vec<Resource>, new: Vec<Resource>) -> Result<()> {
    use std::collections::HashMap;
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::with_capacity(res.len() + new.len());
    for (i, r) in res.iter().enumerate() {
        by_name.entry(r.name().to_string()).or_default().push(i);
    }
    for r in new {
        let id = r.cur_id();
        if let Some(hits) = by_name.get(&id.name)
            && hits.iter().any(|&i| ids_equal(&res[i].cur_id(), &id))
        {
            return Err(Error::new(format!(
                "may not add resource with an already registered id: {id} (from {})",
                r.origin
            )));
        }
        by_name.entry(id.name).or_default().push(res.len());
        res.push(r);
    }
    Ok(())
}

/// Add a resource; its id must be new.
fn append(res: &mut Vec<Resource>, r: Resource) -> Result<()> {
    let id = r.cur_id();
    if res
        .iter()
        .any(|x| x.name() == id.name && ids_equal(&x.cur_id(), &id))
    {
        return Err(Error::new(format!(
            "may not add resource with an already registered id: {id} (from {})",
            r.origin
        )));
    }
    res.push(r);
    Ok(())
}

/// Add a generated resource, honouring its behavior against an existing same-id one.
fn absorb(res: &mut Vec<Resource>, r: Resource) -> Result<()> {
    let id = r.cur_id();
    let matches: Vec<usize> = (0..res.len()).filter(|&i| had_id(&res[i], &id)).collect();
    let behavior = r.behavior.unwrap_or_default();
    match matches.len() {
        0 => match behavior {
            Behavior::Merge | Behavior::Replace => Err(Error::new(format!(
                "id {id} does not exist; cannot merge or replace"
            ))),
            Behavior::Create => append(res, r),
        },
        1 => {
            let i = matches[0];
            match behavior {
                Behavior::Create => Err(Error::new(format!(
                    "id {id} exists; behavior must be merge or replace"
                ))),
                b => {
                    let mut existing = res[i].clone();
                    let old_origin = annotation(&existing, ORIGIN_ANNOTATION);
                    generators::merge_generated(&mut existing, &r, b)
                        .map_err(|e| Error::new(e.to_string()))?;
                    existing.shared.clear();
                    // kustomize keeps the base's origin when merging (not when replacing).
                    if b == Behavior::Merge
                        && let Some(o) = old_origin
                    {
                        set_annotation(&mut existing, ORIGIN_ANNOTATION, &o);
                    }
                    res[i] = existing;
                    Ok(())
                }
            }
        }
        _ => Err(Error::new(format!(
            "found multiple objects that could accept merge of {id}"
        ))),
    }
}

/// Flatten `*List` documents into their items, checking each object has a kind and a name.
fn expand_lists(v: Value, origin: &Origin, out: &mut Vec<Resource>) -> Result<()> {
    let Value::Object(m) = v else {
        return Err(Error::new(format!(
            "{origin}: a resource document must be a mapping"
        )));
    };
    let kind = m
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_string();
    if kind.is_empty() {
        return Err(Error::new(format!("{origin}: missing kind in object")));
    }
    if kind.ends_with("List") {
        match m.get("items") {
            None => {}
            Some(Value::Null) => return Ok(()),
            Some(Value::Array(items)) => {
                for it in items.clone() {
                    expand_lists(it, origin, out)?;
                }
                return Ok(());
            }
            Some(_) => {
                return Err(Error::new(format!(
                    "{origin}: expected array in {kind}/items"
                )));
            }
        }
    } else if crate::manifest::get_str(&m, &["metadata", "name"])
        .unwrap_or("")
        .is_empty()
    {
        return Err(Error::new(format!(
            "{origin}: missing metadata.name in object of kind {kind}"
        )));
    }
    if let Some(path) = nil_in_list(&Value::Object(m.clone())) {
        return Err(Error::new(format!("{origin}: empty item at {path}")));
    }
    out.push(Resource::new(m, origin.clone()));
    Ok(())
}

fn nil_in_list(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => m
            .iter()
            .find_map(|(k, x)| nil_in_list(x).map(|p| format!("{k}/{p}"))),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
            if x.is_null() {
                Some(format!("[{i}]"))
            } else {
                nil_in_list(x).map(|p| format!("[{i}]/{p}"))
            }
        }),
        _ => None,
    }
}

const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn sort(res: &mut Vec<Resource>, opts: Option<&super::kustomization::SortOptions>) -> Result<()> {
    let (first, last): (Vec<String>, Vec<String>) = match opts {
        None => (
            ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
            ORDER_LAST.iter().map(|s| s.to_string()).collect(),
        ),
        Some(o) => match o.order.as_str() {
            "fifo" => {
                if o.legacy_sort_options.is_some() {
                    return Err(Error::new(
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
                return Ok(());
            }
            "legacy" => match &o.legacy_sort_options {
                Some(l) => (l.order_first.clone(), l.order_last.clone()),
                None => (
                    ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                    ORDER_LAST.iter().map(|s| s.to_string()).collect(),
                ),
            },
            _ => {
                return Err(Error::new(
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ));
            }
        },
    };
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        if let Some(i) = last.iter().position(|k| k == kind) {
            return 1 + i as i64;
        }
        0
    };
    // Sort keys computed once per object.
    struct Key {
        rank: i64,
        /// kyaml's GVK string.
        gvk: String,
        /// GVK|namespace|name, with ~X/~N for empty parts.
        id: String,
        namespace_kind: bool,
        no_group: bool,
        index: usize,
    }
    let mut keyed: Vec<Key> = res
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let id = r.cur_id();
            let gvk = gvk_go_string(&id.gvk);
            let ns = if id.namespace.is_empty() {
                "~X"
            } else {
                &id.namespace
            };
            let nm = if id.name.is_empty() { "~N" } else { &id.name };
            Key {
                rank: rank(&id.gvk.kind),
                id: format!("{gvk}|{ns}|{nm}"),
                gvk,
                namespace_kind: id.gvk.kind == "Namespace",
                no_group: id.gvk.group.is_empty(),
                index,
            }
        })
        .collect();
    keyed.sort_by(|a, b| {
        if a.gvk == b.gvk {
            return a.id.cmp(&b.id);
        }
        if a.rank != b.rank {
            return a.rank.cmp(&b.rank);
        }
        // kustomize orders Namespace kinds against an ungrouped one in reverse.
        if a.namespace_kind && b.namespace_kind && (a.no_group || b.no_group) {
            return b.gvk.cmp(&a.gvk);
        }
        a.gvk.cmp(&b.gvk)
    });
    let order: Vec<usize> = keyed.into_iter().map(|k| k.index).collect();
    let mut taken: Vec<Option<Resource>> = res.drain(..).map(Some).collect();
    res.extend(order.iter().filter_map(|&i| taken[i].take()));
    Ok(())
}

/// kyaml's `Gvk.String()`: `group_version_kind` with `~G`/`~V`/`~K` for empty parts.
fn gvk_go_string(g: &crate::manifest::Gvk) -> String {
    let f = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        f(&g.group, "~G"),
        f(&g.version, "~V"),
        f(&g.kind, "~K")
    )
}
