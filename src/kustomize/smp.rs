//! Strategic-merge patches, applied the way kustomize v5.5.0 applies them
//! (`patches:` / `patchesStrategicMerge` with an SMP body).
//!
//! Kustomize does not use the apimachinery strategic-merge code: it walks the
//! target and the patch together with kyaml's merge walker, with the
//! "prepend" list direction. The observable rules, reproduced here:
//!
//! * Maps merge recursively. A `null` in the patch removes the field. Fields
//!   keep the target's order; new fields are appended in sorted order.
//!   A `null` present only in the target is kept.
//! * A list is associative only when the schema of the target's kind gives it
//!   a patch strategy containing `merge` ([`openapi`](super::openapi)).
//!   Every other list (including all lists of kinds without a schema, e.g.
//!   custom resources) is replaced by the patch's list, verbatim.
//! * Associative lists of maps are matched by their merge keys (compared as
//!   YAML scalar text, so `80` matches `"80"`). The result lists the patch's
//!   elements first, in patch order, then the target's remaining elements. For
//!   lists with several keys (`containerPort`+`protocol`, `port`+`protocol`)
//!   only keys that some element sets count; when more than one counts, the
//!   target's elements are moved after the elements new in the patch, and a
//!   patched element whose key tuple is only partially given keeps the
//!   target's version (a kustomize quirk reproduced on purpose).
//!   Elements of the same key are collapsed (the last one in the target wins),
//!   `null` and `{}` elements are dropped, even when only the target has them.
//! * Associative lists of scalars (`finalizers`) become the union: patch
//!   values first, then the target's other values.
//! * `$patch: delete|replace|merge` on a map; on a list as an element of its
//!   own (`- $patch: replace`); `$patch: delete` on a list element removes the
//!   matching target element. `$patch: replace` on a list *element* has no
//!   effect on an element that exists in the target (kustomize restores it).
//!   Any other `$patch` value is an error.
//! * `$retainKeys`, `$setElementOrder/<f>` and `$deleteFromPrimitiveList/<f>`
//!   are not understood by kustomize: they are merged as ordinary fields and
//!   end up in the output. We do the same, to render identically.
//! * Lists that are replaced (non-associative) are copied as is, so
//!   directives inside them are left in place too.
//!
//! [`apply`] also follows `Resource.ApplySmPatch`: after merging, the
//! target's `kind` and `metadata.name` are restored unless the patch carries
//! the annotation `internal.config.kubernetes.io/allowKindChange` /
//! `…/allowNameChange` with value `enabled`, and `metadata.namespace` is always
//! restored (removed when the target had none). The caller chooses which
//! objects a patch applies to (by the patch's GVK/name/namespace or a
//! target selector) and must strip those internal annotations from the result.
//!
//! Unsupported: per-field schemas given in YAML comments (`# {"$openapi":…}`),
//! and the distinction between an empty YAML value (`foo:`) and `null` in the
//! target (both are JSON `null` here and are kept).

use std::collections::HashSet;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::openapi::{SchemaRef, Schemas};
use crate::manifest::{Gvk, Object};

const DIRECTIVE: &str = "$patch";
const ALLOW_NAME_CHANGE: &str = "internal.config.kubernetes.io/allowNameChange";
const ALLOW_KIND_CHANGE: &str = "internal.config.kubernetes.io/allowKindChange";

/// Why a strategic-merge patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    #[error(
        "strategic merge patch: at {path}: cannot merge a {patch} from the patch into a {target}"
    )]
    KindMismatch {
        path: String,
        target: &'static str,
        patch: &'static str,
    },
    #[error("strategic merge patch: at {path}: unknown patch strategy '{value}'")]
    UnknownDirective { path: String, value: String },
    #[error("strategic merge patch: at {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Apply `patch` to `target` like kustomize's `ApplySmPatch`, with the
/// built-in Kubernetes schema. `Ok(None)` means the patch deletes the object.
pub fn apply(target: &Object, patch: &Object) -> Result<Option<Object>, SmpError> {
    apply_with(target, patch, Schemas::builtin())
}

/// [`apply`] with explicit schema sources (e.g. CRD schemas before the
/// built-in one).
pub fn apply_with(
    target: &Object,
    patch: &Object,
    schemas: Schemas<'_>,
) -> Result<Option<Object>, SmpError> {
    let kind = target.get("kind").and_then(Value::as_str).unwrap_or("");
    let meta = target.get("metadata").and_then(Value::as_object);
    let meta_str = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
    let name = meta_str("name").unwrap_or("").to_string();
    let namespace = meta_str("namespace").unwrap_or("").to_string();
    let kind = kind.to_string();

    let out = Walker { schemas }.walk(
        Some(Value::Object(target.clone())),
        Some(Value::Object(patch.clone())),
        false,
        None,
        &mut Path::default(),
    )?;
    let mut obj = match out.v {
        None => return Ok(None),
        Some(Value::Null) if !out.keep_null => return Ok(None),
        // kustomize merges into the target's node in place and ignores the
        // walker's return value: a result that is not the target's node (a
        // top-level `$patch: replace`) leaves the target unchanged.
        _ if !out.is_dest => target.clone(),
        Some(Value::Object(m)) => m,
        Some(_) => target.clone(),
    };
    if obj.is_empty() {
        return Ok(Some(obj));
    }
    let enabled = |anno: &str| {
        patch
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(anno))
            .and_then(Value::as_str)
            == Some("enabled")
    };
    if !enabled(ALLOW_KIND_CHANGE) {
        set_field(&mut obj, "kind", Value::String(kind));
    }
    if !enabled(ALLOW_NAME_CHANGE)
        && let Some(meta) = metadata_mut(&mut obj)
    {
        set_field(meta, "name", Value::String(name));
    }
    if namespace.is_empty() {
        if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
            meta.shift_remove("namespace");
        }
    } else {
        if let Some(meta) = metadata_mut(&mut obj) {
            set_field(meta, "namespace", Value::String(namespace));
        }
    }
    Ok(Some(obj))
}

fn metadata_mut(obj: &mut Object) -> Option<&mut Object> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj.insert("metadata".to_string(), Value::Object(Map::new()));
    }
    obj.get_mut("metadata").and_then(Value::as_object_mut)
}

fn set_field(obj: &mut Object, key: &str, v: Value) {
    match obj.get_mut(key) {
        Some(slot) => *slot = v,
        None => {
            obj.insert(key.to_string(), v);
        }
    }
}

/// The bare merge walk (kyaml `merge2.Merge` with prepended lists), without
/// the name/kind/namespace handling of [`apply`]. `Ok(None)`: deleted.
pub fn merge(
    target: &Value,
    patch: &Value,
    schemas: Schemas<'_>,
) -> Result<Option<Value>, SmpError> {
    let w = Walker { schemas };
    let out = w.walk(
        Some(target.clone()),
        Some(patch.clone()),
        false,
        None,
        &mut Path::default(),
    )?;
    Ok(match out.v {
        Some(Value::Null) if !out.keep_null => None,
        v => v,
    })
}

/// Result of walking one node.
struct Out {
    /// `None`: the field or element is removed.
    v: Option<Value>,
    /// A `null` that must be kept (it came from the target).
    keep_null: bool,
    /// The value is the target's node, merged in place (kyaml node identity;
    /// matters for list elements).
    is_dest: bool,
}

impl Out {
    fn clear() -> Out {
        Out {
            v: None,
            keep_null: false,
            is_dest: false,
        }
    }
    fn of(v: Option<Value>, is_dest: bool) -> Out {
        Out {
            v,
            keep_null: false,
            is_dest,
        }
    }
}

#[derive(Default)]
struct Path(Vec<String>);

impl Path {
    fn render(&self) -> String {
        if self.0.is_empty() {
            return "<root>".to_string();
        }
        let mut s = String::new();
        for seg in &self.0 {
            if !s.is_empty() && !seg.starts_with('[') {
                s.push('.');
            }
            s.push_str(seg);
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Map,
    Seq,
    Scalar,
}

impl NodeKind {
    fn of(v: &Value) -> Option<NodeKind> {
        match v {
            Value::Null => None,
            Value::Object(_) => Some(NodeKind::Map),
            Value::Array(_) => Some(NodeKind::Seq),
            _ => Some(NodeKind::Scalar),
        }
    }
    fn name(self) -> &'static str {
        match self {
            NodeKind::Map => "map",
            NodeKind::Seq => "list",
            NodeKind::Scalar => "scalar",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn parse_directive(v: &str) -> Option<Directive> {
    match v {
        "merge" => Some(Directive::Merge),
        "replace" => Some(Directive::Replace),
        "delete" => Some(Directive::Delete),
        _ => None,
    }
}

/// The YAML scalar text of a value, as kyaml compares keys.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Array(_) | Value::Object(_) => String::new(),
    }
}

fn is_missing_or_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn is_null_or_empty_map(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// The value of a key field of a list element, or "" when absent or empty.
fn key_text(elem: &Value, key: &str) -> String {
    match elem.as_object().and_then(|m| m.get(key)) {
        None | Some(Value::Null) => String::new(),
        Some(Value::Object(m)) if m.is_empty() => String::new(),
        Some(Value::Array(a)) if a.is_empty() => String::new(),
        Some(v) => text(v),
    }
}

struct Walker<'s> {
    schemas: Schemas<'s>,
}

impl<'s> Walker<'s> {
    fn schema_from_meta(&self, nodes: [Option<&Value>; 2]) -> Option<SchemaRef<'s>> {
        nodes.into_iter().flatten().find_map(|n| {
            let m = n.as_object()?;
            let kind = m.get("kind")?.as_str()?;
            let av = m.get("apiVersion")?.as_str()?;
            if kind.is_empty() || av.is_empty() {
                return None;
            }
            self.schemas.for_gvk(&Gvk::from_api_version(av, kind))
        })
    }

    fn walk(
        &self,
        dest: Option<Value>,
        origin: Option<Value>,
        same: bool,
        schema: Option<SchemaRef<'s>>,
        path: &mut Path,
    ) -> Result<Out, SmpError> {
        let schema = schema.or_else(|| self.schema_from_meta([dest.as_ref(), origin.as_ref()]));
        let dk = dest.as_ref().and_then(NodeKind::of);
        let ok = origin.as_ref().and_then(NodeKind::of);
        let kind = dk.or(ok);
        if let (Some(d), Some(o)) = (dk, ok)
            && d != o
        {
            return Err(SmpError::KindMismatch {
                path: path.render(),
                target: d.name(),
                patch: o.name(),
            });
        }
        match kind {
            None | Some(NodeKind::Map) => self.walk_map(dest, origin, same, schema, path),
            Some(NodeKind::Scalar) => Ok(match origin {
                Some(o) => Out::of(Some(o), false),
                None => Out::of(dest, true),
            }),
            Some(NodeKind::Seq) => {
                let lm = schema.and_then(|s| s.list_merge());
                match lm {
                    Some(lm) if lm.is_merge() => {
                        let keys: Vec<String> = lm.keys.iter().map(|k| k.to_string()).collect();
                        let items = schema.and_then(|s| s.items());
                        self.walk_assoc(dest, origin, same, keys, items, path)
                    }
                    _ => Ok(match origin {
                        Some(o) => Out::of(Some(o), false),
                        None => Out::of(dest, true),
                    }),
                }
            }
        }
    }

    /// Read and remove the `$patch` directive of a map in the patch.
    fn map_directive(origin: &mut Value, path: &Path) -> Result<Directive, SmpError> {
        let Value::Object(m) = origin else {
            return Ok(Directive::Merge);
        };
        let Some(v) = m.get(DIRECTIVE) else {
            return Ok(Directive::Merge);
        };
        let value = text(v);
        match parse_directive(&value) {
            Some(d) => {
                m.shift_remove(DIRECTIVE);
                Ok(d)
            }
            None => Err(SmpError::UnknownDirective {
                path: path.render(),
                value,
            }),
        }
    }

    /// Read and remove a `- $patch: …` element of a list in the patch.
    fn seq_directive(origin: &mut Value, path: &Path) -> Result<Directive, SmpError> {
        let Value::Array(items) = origin else {
            return Ok(Directive::Merge);
        };
        let found = items.iter().find_map(|e| {
            let m = e.as_object()?;
            m.get(DIRECTIVE).map(|v| (m.len(), text(v)))
        });
        let Some((len, value)) = found else {
            return Ok(Directive::Merge);
        };
        if len > 1 {
            return Ok(Directive::Merge);
        }
        match parse_directive(&value) {
            Some(d) => {
                set_element(
                    items,
                    None,
                    &[DIRECTIVE.to_string()],
                    std::slice::from_ref(&value),
                    path,
                )?;
                Ok(d)
            }
            None => Err(SmpError::UnknownDirective {
                path: path.render(),
                value,
            }),
        }
    }

    fn walk_map(
        &self,
        dest: Option<Value>,
        mut origin: Option<Value>,
        mut same: bool,
        schema: Option<SchemaRef<'s>>,
        path: &mut Path,
    ) -> Result<Out, SmpError> {
        let mut is_dest = true;
        let mut dest = if is_missing_or_null(dest.as_ref()) {
            if let Some(o) = origin.as_mut() {
                // Errors are ignored on this path, like kyaml does.
                if let Ok(Directive::Delete) = Self::map_directive(o, path) {
                    return Ok(Out::clear());
                }
            }
            match (&origin, &dest) {
                (None, Some(Value::Null)) => {
                    return Ok(Out {
                        v: Some(Value::Null),
                        keep_null: true,
                        is_dest: true,
                    });
                }
                (None, _) => return Ok(Out::clear()),
                (Some(Value::Null), _) => return Ok(Out::of(Some(Value::Null), false)),
                _ => {}
            }
            same = true;
            is_dest = false;
            origin.clone()
        } else if matches!(origin, Some(Value::Null)) {
            return Ok(Out::clear());
        } else {
            let directive = match origin.as_mut() {
                Some(o) => Self::map_directive(o, path)?,
                None => Directive::Merge,
            };
            match directive {
                Directive::Delete => return Ok(Out::clear()),
                Directive::Replace => {
                    same = true;
                    is_dest = false;
                    origin.clone()
                }
                Directive::Merge => {
                    if same {
                        // Target and patch are one node: the elision applies to both.
                        origin.clone()
                    } else {
                        dest
                    }
                }
            }
        };

        let Some(Value::Object(dmap)) = dest.as_mut() else {
            return Ok(Out::of(dest, is_dest));
        };
        let mut omap = match origin {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let mut names: Vec<String> = dmap.keys().cloned().collect();
        names.extend(omap.keys().filter(|k| !dmap.contains_key(*k)).cloned());
        names.sort();
        for key in names {
            let child_schema = schema.and_then(|s| s.field(&key));
            let o = omap.shift_remove(&key);
            // A field the patch does not mention, with no schema below it (so no list to
            // merge by key) and no embedded object, comes out as it went in: skip the walk.
            if o.is_none()
                && !same
                && child_schema.is_none()
                && dmap.get(&key).is_some_and(|d| match d {
                    Value::Object(m) => !m.contains_key("apiVersion") && !m.contains_key("kind"),
                    Value::Null => false,
                    _ => true,
                })
            {
                continue;
            }
            let d = dmap.get_mut(&key).map(std::mem::take);
            path.0.push(key.clone());
            let out = self.walk(d, o, same, child_schema, path);
            path.0.pop();
            let out = out?;
            match out.v {
                None => {
                    dmap.shift_remove(&key);
                }
                Some(Value::Null) if !out.keep_null => {
                    dmap.shift_remove(&key);
                }
                Some(v) => set_field(dmap, &key, v),
            }
        }
        Ok(Out::of(dest, is_dest))
    }

    fn walk_assoc(
        &self,
        dest: Option<Value>,
        mut origin: Option<Value>,
        mut same: bool,
        keys: Vec<String>,
        item_schema: Option<SchemaRef<'s>>,
        path: &mut Path,
    ) -> Result<Out, SmpError> {
        let mut is_dest = true;
        let dest = if is_missing_or_null(dest.as_ref()) {
            same = true;
            is_dest = false;
            origin.clone()
        } else if matches!(origin, Some(Value::Null)) {
            return Ok(Out::clear());
        } else {
            let directive = match origin.as_mut() {
                Some(o) => Self::seq_directive(o, path)?,
                None => Directive::Merge,
            };
            match directive {
                Directive::Delete => return Ok(Out::clear()),
                Directive::Replace => {
                    same = true;
                    is_dest = false;
                    origin.clone()
                }
                Directive::Merge if same => origin.clone(),
                Directive::Merge => dest,
            }
        };
        let mut dest = match dest {
            Some(Value::Array(a)) => a,
            other => return Ok(Out::of(other, is_dest)),
        };
        let origin = match origin {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };

        // Key values of all elements: the patch's first, then the target's.
        let mut values: Vec<Vec<String>> = Vec::new();
        if !keys.is_empty() {
            let mut seen: HashSet<Vec<String>> = HashSet::new();
            for elem in origin.iter().chain(dest.iter()) {
                let v: Vec<String> = keys.iter().map(|k| key_text(elem, k)).collect();
                if seen.insert(v.clone()) {
                    values.push(v);
                }
            }
        }
        let (values, keys) = if !values.is_empty() || !keys.is_empty() {
            (values, keys)
        } else {
            let mut seen: HashSet<String> = HashSet::new();
            let mut values = Vec::new();
            for item in origin.iter().chain(dest.iter()) {
                let t = text(item);
                if seen.insert(t.clone()) {
                    values.push(vec![t]);
                }
            }
            (values, vec![String::new()])
        };
        let merged =
            self.set_assoc_elements(values, &keys, &mut dest, &origin, same, item_schema, path)?;
        match merged {
            Some(list) => Ok(Out::of(Some(Value::Array(list)), false)),
            None => Ok(Out::of(Some(Value::Array(dest)), is_dest)),
        }
    }

    /// Merge the elements of an associative list. Returns the new list, or
    /// `None` when there were no elements (the target list stands).
    #[allow(clippy::too_many_arguments)]
    fn set_assoc_elements(
        &self,
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        dest: &mut Vec<Value>,
        origin: &[Value],
        same: bool,
        item_schema: Option<SchemaRef<'s>>,
        path: &mut Path,
    ) -> Result<Option<Vec<Value>>, SmpError> {
        let mut items: Vec<Value> = Vec::new();
        if keys.len() > 1 {
            unify_values(&mut values_list);
        }
        let mut valid_keys: Vec<String> = Vec::new();
        for idx in 0..values_list.len() {
            let values = &values_list[idx];
            if values.is_empty() {
                continue;
            }
            let valid_values;
            (valid_keys, valid_values) = valid_key_values(&values_list, values, keys);
            let (lk, lv) = valid_key_values(
                std::slice::from_ref(&valid_values),
                &valid_values,
                &valid_keys,
            );
            let di = find_element(dest, &lk, &lv);
            let oi = find_element(origin, &lk, &lv);
            let d = di.and_then(|i| dest.get(i).cloned());
            let o = oi.and_then(|i| origin.get(i).cloned());
            let key_source = o.clone().or_else(|| d.clone());
            path.0.push(element_label(&valid_keys, &valid_values));
            let out = self.walk(d, o, same, item_schema, path);
            let seg = path.0.pop();
            let out = out?;
            if out.is_dest
                && let (Some(i), Some(v)) = (di, out.v.as_ref())
                && let Some(slot) = dest.get_mut(i)
            {
                *slot = v.clone();
            }
            let mut val = out.v;
            let gone = match &val {
                None => true,
                Some(v) => is_null_or_empty_map(v),
            };
            if gone {
                let mut p = Path(path.0.clone());
                p.0.extend(seg);
                set_element(dest, None, &valid_keys, &valid_values, &p)?;
                continue;
            }
            if let Some(v) = val.as_mut() {
                for (i, key) in valid_keys.iter().enumerate() {
                    let want = valid_values.get(i).map(String::as_str).unwrap_or("");
                    if key.is_empty() || want.is_empty() {
                        continue;
                    }
                    match v {
                        Value::Object(m) if !m.contains_key(key) => {
                            let typed = key_source
                                .as_ref()
                                .and_then(|s| s.get(key.as_str()))
                                .filter(|x| text(x) == want)
                                .cloned()
                                .unwrap_or_else(|| Value::String(want.to_string()));
                            m.insert(key.clone(), typed);
                        }
                        Value::Array(_) => {
                            return Err(SmpError::Invalid {
                                path: path.render(),
                                message: format!(
                                    "list element is a list, but the merge key '{key}' needs a map"
                                ),
                            });
                        }
                        _ => {}
                    }
                }
            }
            if let Some(v) = val {
                set_element(&mut items, Some(v), &valid_keys, &valid_values, path)?;
            }
        }
        if values_list.is_empty() {
            return Ok(None);
        }
        let keys = if valid_keys.is_empty() {
            vec![String::new()]
        } else {
            valid_keys
        };
        for elem in dest.iter() {
            if keys[0].is_empty() {
                set_element(&mut items, Some(elem.clone()), &keys, &[text(elem)], path)?;
                continue;
            }
            let mut v: Vec<String> = Vec::new();
            for key in &keys {
                match elem {
                    Value::Null => items.push(elem.clone()),
                    Value::Object(m) => match m.get(key) {
                        Some(x) => v.push(text(x)),
                        None => items.push(elem.clone()),
                    },
                    _ => {
                        return Err(SmpError::Invalid {
                            path: path.render(),
                            message: format!(
                                "list element {} is not a map but the list is merged by '{key}'",
                                text(elem)
                            ),
                        });
                    }
                }
            }
            if keys.len() > 1 {
                set_element(&mut items, None, &keys, &v, path)?;
            }
            set_element(&mut items, Some(elem.clone()), &keys, &v, path)?;
        }
        Ok(Some(items))
    }
}

fn element_label(keys: &[String], values: &[String]) -> String {
    let mut s = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match keys.get(i) {
            Some(k) if !k.is_empty() => {
                let _ = write!(s, "{k}={v}");
            }
            _ => s.push_str(v),
        }
    }
    s.push(']');
    s
}

/// Unify key tuples that agree except where one side is empty (e.g. a port
/// without a protocol matches the same port with one).
fn unify_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        let a = list[i].clone();
        for j in 0..list.len() {
            if let Some(res) = unify(&a, &list[j]) {
                list[i] = res.clone();
                list[j] = res;
            }
        }
    }
}

fn unify(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut res = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            res.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            res.push(x.clone());
        } else {
            res.push(y.clone());
        }
    }
    common.then_some(res)
}

/// Restrict the keys to those that have a value in some tuple of `all`; keep
/// all keys when none has.
fn valid_key_values(
    all: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut present: HashSet<&str> = HashSet::new();
    for vs in all {
        for (i, v) in vs.iter().enumerate() {
            if !v.is_empty()
                && let Some(k) = keys.get(i)
            {
                present.insert(k.as_str());
            }
        }
    }
    if present.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys
        .iter()
        .filter(|k| present.contains(k.as_str()))
        .cloned()
        .collect();
    let vv = values
        .iter()
        .enumerate()
        .filter(|(i, v)| {
            !v.is_empty() || keys.get(*i).is_some_and(|k| present.contains(k.as_str()))
        })
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// Index of the first element whose key fields have exactly these texts
/// (scalar lists: whose text is the value).
fn find_element(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    let first_key = keys.first().map(String::as_str).unwrap_or("");
    let first_value = values.first().map(String::as_str).unwrap_or("");
    if first_key.is_empty() {
        return list.iter().position(|e| text(e) == first_value);
    }
    if keys.len() != values.len() {
        return None;
    }
    list.iter().position(|e| {
        let Value::Object(m) = e else { return false };
        keys.iter()
            .zip(values)
            .all(|(k, v)| m.get(k).is_some_and(|x| text(x) == *v))
    })
}

/// Does `elem` match the key/value? `Err` when the element has the wrong shape.
fn field_matches(elem: &Value, key: &str, value: &str, path: &Path) -> Result<bool, SmpError> {
    if elem.is_null() {
        return Ok(false);
    }
    if key.is_empty() {
        if NodeKind::of(elem) != Some(NodeKind::Scalar) {
            return Err(SmpError::Invalid {
                path: path.render(),
                message: "list mixes scalars and non-scalars".to_string(),
            });
        }
        return Ok(text(elem) == value);
    }
    let Value::Object(m) = elem else {
        return Err(SmpError::Invalid {
            path: path.render(),
            message: format!("list element is not a map but the list is merged by '{key}'"),
        });
    };
    Ok(match m.get(key) {
        None => false,
        Some(x) => value.is_empty() || text(x) == value,
    })
}

/// Replace every element matching the keys/values with `element` (append it
/// when none matches), or delete the matching elements when `element` is
/// `None`. Drops `null` and `{}` elements on the way, like kyaml.
fn set_element(
    list: &mut Vec<Value>,
    element: Option<Value>,
    keys: &[String],
    values: &[String],
    path: &Path,
) -> Result<(), SmpError> {
    let default_keys = [String::new()];
    let keys = if keys.is_empty() {
        &default_keys[..]
    } else {
        keys
    };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut matched_any = false;
    for elem in std::mem::take(list) {
        if is_null_or_empty_map(&elem) {
            continue;
        }
        if !elem.is_object() && mapping_setter {
            out.push(elem);
            continue;
        }
        let mut last = false;
        let mut found = true;
        for (j, key) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                last = field_matches(&elem, key, v, path)?;
            }
            if !last {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(elem);
            }
            continue;
        }
        matched_any = true;
        if let Some(e) = &element {
            out.push(e.clone());
        }
    }
    *list = out;
    match element {
        None | Some(Value::Null) => {}
        Some(e) => {
            if !matched_any {
                list.push(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod differential {
    use super::*;
    use std::path::Path as FsPath;

    fn read_json(p: &FsPath) -> Value {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Cases generated by scripts/gen-smp-cases.py with `kubectl kustomize`.
    #[test]
    fn kubectl_cases() {
        let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("src/kustomize/testdata/smp");
        let mut dirs: Vec<_> = std::fs::read_dir(&root)
            .expect("testdata dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        assert!(dirs.len() >= 30, "expected at least 30 cases");
        let mut failures = Vec::new();
        for dir in &dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = read_json(&dir.join("target.json"));
            let patch = read_json(&dir.join("patch.json"));
            let (Value::Object(target), Value::Object(patch)) = (target, patch) else {
                panic!("{name}: target and patch must be maps");
            };
            let got = apply(&target, &patch);
            if dir.join("expected.error").exists() {
                if got.is_ok() {
                    failures.push(format!("{name}: expected an error, got {got:?}"));
                }
                continue;
            }
            let want = read_json(&dir.join("expected.json"));
            match got {
                Err(e) => failures.push(format!("{name}: unexpected error {e}")),
                Ok(got) => {
                    let got = got.map(Value::Object).unwrap_or(Value::Null);
                    if got != want {
                        failures.push(format!(
                            "{name}:\n  want {}\n  got  {}",
                            serde_json::to_string(&want).unwrap_or_default(),
                            serde_json::to_string(&got).unwrap_or_default()
                        ));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing cases:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn run(target: Value, patch: Value) -> Option<Value> {
        apply(&obj(target), &obj(patch))
            .expect("patch applies")
            .map(Value::Object)
    }

    fn deploy(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"template": {"spec": spec}}})
    }

    fn pod_spec(v: &Option<Value>) -> Value {
        v.as_ref()
            .and_then(|v| v.pointer("/spec/template/spec"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    #[test]
    fn containers_merge_by_name_patch_first() {
        let t = deploy(json!({"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}));
        let p = deploy(json!({"containers": [
            {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}));
        assert_eq!(
            pod_spec(&run(t, p)),
            json!({"containers": [
                {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"},
                {"name": "a", "image": "a:1"}]})
        );
    }

    #[test]
    fn env_merge_by_name() {
        let t = deploy(json!({"containers": [{"name": "a", "env": [
            {"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}]}));
        let p = deploy(json!({"containers": [{"name": "a", "env": [
            {"name": "Y", "value": "3"}]}]}));
        assert_eq!(
            pod_spec(&run(t, p)),
            json!({"containers": [{"name": "a", "env": [
                {"name": "Y", "value": "3"}, {"name": "X", "value": "1"}]}]})
        );
    }

    #[test]
    fn volumes_merge_without_retain_keys() {
        let t = deploy(json!({"volumes": [{"name": "v", "emptyDir": {}}]}));
        let p = deploy(json!({"volumes": [{"name": "v", "secret": {"secretName": "s"}}]}));
        // kustomize does not honour retainKeys: both sources remain.
        assert_eq!(
            pod_spec(&run(t, p)),
            json!({"volumes": [{"name": "v", "emptyDir": {}, "secret": {"secretName": "s"}}]})
        );
    }

    /// kustomize quirk (verified with kubectl): with the two-key
    /// (`containerPort`, `protocol`) list, a patched element whose key tuple
    /// differs from the target's (protocol given only in the patch) keeps the
    /// target's element and drops the patch's other fields.
    #[test]
    fn container_ports_by_container_port() {
        let t = deploy(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "name": "http"}, {"containerPort": 9090}]}]}));
        let p = deploy(json!({"containers": [{"name": "a", "ports": [
            {"containerPort": 80, "protocol": "TCP", "hostPort": 8080},
            {"containerPort": 81}]}]}));
        assert_eq!(
            pod_spec(&run(t, p)),
            json!({"containers": [{"name": "a", "ports": [
                {"containerPort": 81},
                {"containerPort": 80, "name": "http"},
                {"containerPort": 9090}]}]})
        );
    }

    #[test]
    fn service_ports_by_port() {
        let t = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "name": "a"}, {"port": 443, "name": "b"}]}});
        let p = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 443, "targetPort": 8443}, {"port": 8080}]}});
        let got = run(t, p);
        assert_eq!(
            got.and_then(|v| v.pointer("/spec/ports").cloned()),
            Some(json!([{"port": 443, "name": "b", "targetPort": 8443},
                        {"port": 8080}, {"port": 80, "name": "a"}]))
        );
    }

    #[test]
    fn delete_container_directive() {
        let t = deploy(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
        let p = deploy(json!({"containers": [{"name": "a", "$patch": "delete"}]}));
        assert_eq!(pod_spec(&run(t, p)), json!({"containers": [{"name": "b"}]}));
    }

    #[test]
    fn replace_list_and_map_directives() {
        let t = deploy(json!({"containers": [{"name": "a", "image": "a"}],
                              "nodeSelector": {"x": "1", "y": "2"}}));
        let p = deploy(json!({"containers": [{"$patch": "replace"}, {"name": "z"}],
                              "nodeSelector": {"$patch": "replace", "z": "3"}}));
        assert_eq!(
            pod_spec(&run(t, p)),
            json!({"containers": [{"name": "z"}], "nodeSelector": {"z": "3"}})
        );
    }

    #[test]
    fn null_deletes_fields() {
        let t = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}});
        let p = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "labels": {"a": null}}, "data": null, "extra": null});
        assert_eq!(
            run(t, p),
            Some(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "labels": {"b": "2"}}}))
        );
    }

    #[test]
    fn custom_resource_lists_are_replaced() {
        // kustomize's SMP never infers merge keys (no `name` fallback): lists
        // of kinds without a schema are replaced, directives included.
        let t = json!({"apiVersion": "x.io/v1", "kind": "Foo", "metadata": {"name": "f"},
            "spec": {"items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}});
        let p = json!({"apiVersion": "x.io/v1", "kind": "Foo", "metadata": {"name": "f"},
            "spec": {"items": [{"name": "b", "w": 3}]}});
        assert_eq!(
            run(t, p).and_then(|v| v.pointer("/spec/items").cloned()),
            Some(json!([{"name": "b", "w": 3}]))
        );
    }

    #[test]
    fn custom_schema_source_merges_crd_lists() {
        let mut b = super::super::openapi::Schema::builder();
        let leaf = b.leaf();
        let item = b.object(vec![("name".into(), leaf)], None);
        let list = b.list("merge", vec!["name".into()], item);
        let spec = b.object(vec![("items".into(), list)], None);
        let root = b.object(vec![("spec".into(), spec)], None);
        b.root(&Gvk::from_api_version("x.io/v1", "Foo"), root);
        let custom = b.build();
        let sources = [&custom];
        let t = json!({"apiVersion": "x.io/v1", "kind": "Foo", "metadata": {"name": "f"},
            "spec": {"items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}});
        let p = json!({"apiVersion": "x.io/v1", "kind": "Foo", "metadata": {"name": "f"},
            "spec": {"items": [{"name": "b", "w": 3}]}});
        let got = apply_with(&obj(t), &obj(p), Schemas::new(&sources)).expect("applies");
        assert_eq!(
            got.map(Value::Object)
                .and_then(|v| v.pointer("/spec/items").cloned()),
            Some(json!([{"name": "b", "v": 2, "w": 3}, {"name": "a", "v": 1}]))
        );
    }

    #[test]
    fn finalizers_union_patch_first() {
        let t = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "n", "finalizers": ["a", "b"]}});
        let p = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "n", "finalizers": ["c", "a"]}});
        assert_eq!(
            run(t, p).and_then(|v| v.pointer("/metadata/finalizers").cloned()),
            Some(json!(["c", "a", "b"]))
        );
    }

    #[test]
    fn retain_keys_is_passed_through_like_kustomize() {
        let t = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let p = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        assert_eq!(
            run(t, p).and_then(|v| v.pointer("/spec/strategy").cloned()),
            Some(json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1},
                        "$retainKeys": ["type"]}))
        );
    }

    #[test]
    fn top_level_delete_and_replace() {
        let t = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"a": "1"}});
        let del = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                         "$patch": "delete"});
        assert_eq!(run(t.clone(), del), None);
        let rep = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                         "$patch": "replace", "data": {"b": "2"}});
        assert_eq!(run(t.clone(), rep), Some(t));
    }

    #[test]
    fn name_kind_namespace_restored() {
        let t = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let p = json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "other", "namespace": "ns"}});
        assert_eq!(run(t.clone(), p), Some(t));
        let p = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new",
            "annotations": {ALLOW_NAME_CHANGE: "enabled"}}});
        assert_eq!(
            run(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
                p
            )
            .and_then(|v| v.pointer("/metadata/name").cloned()),
            Some(json!("new"))
        );
    }

    #[test]
    fn field_order_kept_new_fields_appended() {
        let t = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"},
                       "data": {"z": "1", "a": "2"}});
        let p = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                       "data": {"m": "3", "b": "4", "z": "5"}});
        let got = run(t, p).expect("kept");
        let keys: Vec<&String> = got
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["kind", "apiVersion", "metadata", "data"]);
        let data: Vec<&String> = got
            .pointer("/data")
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(data, ["z", "a", "b", "m"]);
    }

    #[test]
    fn errors_name_the_path() {
        let t = deploy(json!({"containers": [{"name": "a", "image": "x"}]}));
        let p = deploy(json!({"containers": [{"name": "a", "image": {"bad": 1}}]}));
        let err = apply(&obj(t.clone()), &obj(p)).expect_err("kind mismatch");
        assert_eq!(
            err.to_string(),
            "strategic merge patch: at spec.template.spec.containers[name=a].image: \
             cannot merge a map from the patch into a scalar"
        );
        let p = deploy(json!({"securityContext": {"$patch": "nope"}}));
        let t2 = deploy(json!({"securityContext": {"runAsUser": 1}}));
        let err = apply(&obj(t2), &obj(p)).expect_err("bad directive");
        assert!(
            err.to_string()
                .contains("spec.template.spec.securityContext")
        );
        assert!(err.to_string().contains("unknown patch strategy 'nope'"));
    }
}
