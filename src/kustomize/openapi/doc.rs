//! A [`Schema`] read from an OpenAPI v2 (swagger) document, as given to
//! kustomize's `openapi: {path: …}` field.
//!
//! kyaml indexes the document's `definitions` by their
//! `x-kubernetes-group-version-kind` extension and, while merging, looks a
//! field up in `properties` (else `additionalProperties`) and a list's items in
//! `items` (only when `type` is exactly `array`), following `$ref` chains
//! against `#/definitions/…`. A list is associative when its
//! `x-kubernetes-patch-strategy` contains `merge`; its keys are
//! `x-kubernetes-list-map-keys` when given, else `x-kubernetes-patch-merge-key`.
//! This module turns that into the arena model of [`Schema`], resolving every
//! `$ref` once. A `$ref` that leads nowhere (or in a circle) becomes
//! [`Ty::Absent`], so lookups through it find nothing, as in kyaml.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Schema, Ty, TyId};
use crate::manifest::Gvk;

const GVK_EXT: &str = "x-kubernetes-group-version-kind";
const STRATEGY_EXT: &str = "x-kubernetes-patch-strategy";
const MERGE_KEY_EXT: &str = "x-kubernetes-patch-merge-key";
const MAP_KEYS_EXT: &str = "x-kubernetes-list-map-keys";
/// Deepest nesting of inline schemas followed.
const MAX_DEPTH: usize = 200;

impl Schema {
    /// Build a schema from an OpenAPI v2 document (already parsed from JSON or
    /// YAML). Errors when the document is not a swagger object.
    pub fn from_openapi_document(doc: &Value) -> Result<Schema, String> {
        let top = doc.as_object().ok_or_else(|| {
            format!(
                "expected an OpenAPI document (a mapping), found {}",
                kind_of(doc)
            )
        })?;
        let empty = Map::new();
        let defs = match top.get("definitions") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(format!(
                    "definitions: expected a mapping, found {}",
                    kind_of(other)
                ));
            }
        };
        for (name, d) in defs {
            if !d.is_object() && !d.is_null() {
                return Err(format!(
                    "definitions: {name}: expected a schema (a mapping), found {}",
                    kind_of(d)
                ));
            }
        }
        let mut conv = Converter {
            defs,
            schema: Schema::default(),
            bodies: HashMap::new(),
        };
        let mut roots = Vec::new();
        for (name, d) in defs {
            let Some(list) = d.get(GVK_EXT).and_then(Value::as_array) else {
                continue;
            };
            let ty = conv.definition(name);
            for g in list {
                let s = |k: &str| g.get(k).and_then(Value::as_str);
                let (Some(version), Some(kind)) = (s("version"), s("kind")) else {
                    continue;
                };
                roots.push((
                    Gvk {
                        group: s("group").unwrap_or("").to_string(),
                        version: version.to_string(),
                        kind: kind.to_string(),
                    },
                    ty,
                ));
            }
        }
        let mut schema = conv.schema;
        for (gvk, ty) in roots {
            let key = (
                Cow::Owned(gvk.group),
                Cow::Owned(gvk.version),
                Cow::Owned(gvk.kind),
            );
            match schema.roots.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => {
                    if let Some(slot) = schema.roots.get_mut(i) {
                        slot.1 = ty;
                    }
                }
                Err(i) => schema.roots.insert(i, (key, ty)),
            }
        }
        Ok(schema)
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

struct Converter<'d> {
    defs: &'d Map<String, Value>,
    schema: Schema,
    /// Definition name → its converted body (ignoring its own `$ref`).
    bodies: HashMap<String, TyId>,
}

impl<'d> Converter<'d> {
    /// The type of a definition's own body, converted once.
    fn definition(&mut self, name: &str) -> TyId {
        if let Some(&t) = self.bodies.get(name) {
            return t;
        }
        // Reserve the slot first so that recursive definitions refer to it.
        let id = self.schema.push(Ty::Absent);
        self.bodies.insert(name.to_string(), id);
        let body = self.defs.get(name).cloned().unwrap_or(Value::Null);
        let ty = self.body(&body, 0);
        if let Some(slot) = self.schema.types.get_mut(id as usize) {
            *slot = ty;
        }
        id
    }

    /// The type a sub-schema stands for: its `$ref` chain resolved, else itself.
    fn node(&mut self, v: &Value, depth: usize) -> TyId {
        if depth > MAX_DEPTH {
            return self.schema.push(Ty::Absent);
        }
        match ref_of(v) {
            Some(r) => self.resolve(r, depth),
            None => {
                let ty = self.body(v, depth);
                self.schema.push(ty)
            }
        }
    }

    /// Follow a `$ref` (and any further `$ref` of its target).
    fn resolve(&mut self, first: &str, depth: usize) -> TyId {
        let mut seen: Vec<String> = Vec::new();
        let mut r = first.to_string();
        loop {
            if seen.contains(&r) || seen.len() > MAX_DEPTH {
                return self.schema.push(Ty::Absent);
            }
            let Some(tokens) = pointer_tokens(&r) else {
                return self.schema.push(Ty::Absent);
            };
            // A reference without a fragment points at the document root,
            // which kyaml's global schema holds only definitions in.
            if tokens.is_empty() {
                return self.schema.push(Ty::Leaf);
            }
            let target: Option<Value> = match tokens.as_slice() {
                [d, name] if d == "definitions" => {
                    if !self.defs.contains_key(name.as_str()) {
                        return self.schema.push(Ty::Absent);
                    }
                    let next = self.defs.get(name.as_str()).and_then(ref_of);
                    match next {
                        Some(n) => {
                            seen.push(r);
                            r = n.to_string();
                            continue;
                        }
                        None => return self.definition(name),
                    }
                }
                [d, name, rest @ ..] if d == "definitions" => {
                    let mut cur = self.defs.get(name.as_str());
                    for t in rest {
                        cur = cur.and_then(|c| match c {
                            Value::Object(m) => m.get(t.as_str()),
                            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
                            _ => None,
                        });
                    }
                    cur.cloned()
                }
                _ => None,
            };
            let Some(target) = target else {
                return self.schema.push(Ty::Absent);
            };
            match ref_of(&target) {
                Some(n) => {
                    seen.push(r);
                    r = n.to_string();
                }
                None => {
                    let ty = self.body(&target, depth + 1);
                    return self.schema.push(ty);
                }
            }
        }
    }

    /// Convert one schema object, ignoring its own `$ref`.
    fn body(&mut self, v: &Value, depth: usize) -> Ty {
        let Some(m) = v.as_object() else {
            return Ty::Leaf;
        };
        let mut fields = Vec::new();
        if let Some(Value::Object(props)) = m.get("properties") {
            for (name, p) in props {
                let t = self.node(p, depth + 1);
                fields.push((Cow::Owned(name.clone()), t));
            }
        }
        fields.sort_by(|a: &(Cow<'static, str>, TyId), b| a.0.cmp(&b.0));
        let additional = match m.get("additionalProperties") {
            Some(a @ Value::Object(_)) => Some(self.node(a, depth + 1)),
            _ => None,
        };
        let strategy = m.get(STRATEGY_EXT).and_then(Value::as_str);
        let keys: Vec<Cow<'static, str>> = match strategy {
            None => Vec::new(),
            Some(_) => match (m.get(MAP_KEYS_EXT), m.get(MERGE_KEY_EXT)) {
                (Some(Value::Array(ks)), _) => ks
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|k| Cow::Owned(k.to_string()))
                    .collect(),
                (_, Some(Value::String(k))) => vec![Cow::Owned(k.clone())],
                _ => Vec::new(),
            },
        };
        let is_array = match m.get("type") {
            Some(Value::String(t)) => t == "array",
            Some(Value::Array(ts)) => {
                ts.len() == 1 && ts.first().and_then(Value::as_str) == Some("array")
            }
            _ => false,
        };
        let items = match m.get("items") {
            Some(i @ Value::Object(_)) if is_array => Some(self.node(i, depth + 1)),
            _ => None,
        };
        Ty::Node {
            fields,
            additional,
            strategy: Cow::Owned(strategy.unwrap_or("").to_string()),
            keys,
            items,
        }
    }
}

fn ref_of(v: &Value) -> Option<&str> {
    v.get("$ref")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
}

/// The JSON-pointer tokens of a reference's fragment (`#/a/b` → `[a, b]`);
/// empty for a reference without a fragment. `None` when the fragment is
/// not a pointer.
fn pointer_tokens(r: &str) -> Option<Vec<String>> {
    let frag = match r.split_once('#') {
        None => return Some(Vec::new()),
        Some((_, f)) => f,
    };
    if frag.is_empty() {
        return Some(Vec::new());
    }
    let rest = frag.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gvk(g: &str, v: &str, k: &str) -> Gvk {
        Gvk {
            group: g.into(),
            version: v.into(),
            kind: k.into(),
        }
    }

    #[test]
    fn refs_items_and_keys() {
        let doc = json!({"definitions": {
            "w": {
                "properties": {
                    "spec": {"$ref": "#/definitions/spec"},
                    "metadata": {"$ref": "#/definitions/missing"}
                },
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "W"}]
            },
            "spec": {"$ref": "#/definitions/spec2"},
            "spec2": {"properties": {
                "items": {"type": "array", "x-kubernetes-patch-strategy": "merge",
                          "x-kubernetes-patch-merge-key": "name",
                          "items": {"$ref": "#/definitions/item"}},
                "ports": {"type": "array", "x-kubernetes-patch-strategy": "merge",
                          "x-kubernetes-patch-merge-key": "port",
                          "x-kubernetes-list-map-keys": ["port", "protocol"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "self": {"$ref": "#/definitions/spec2"},
                "loop": {"$ref": "#/definitions/loop"}
            }},
            "loop": {"$ref": "#/definitions/loop"},
            "item": {"properties": {"sub": {"type": "array", "x-kubernetes-patch-strategy": "merge"}}}
        }});
        let s = Schema::from_openapi_document(&doc).expect("parses");
        let root = s.for_gvk(&gvk("example.com", "v1", "W")).expect("root");
        assert!(root.field("metadata").is_none());
        let spec = root.field("spec").expect("spec");
        let items = spec.field("items").expect("items");
        let lm = items.list_merge().expect("merge");
        assert_eq!(lm.keys, ["name"]);
        let sub = items.items().and_then(|i| i.field("sub")).expect("sub");
        assert!(
            sub.list_merge()
                .is_some_and(|l| l.is_merge() && l.keys.is_empty())
        );
        let ports = spec
            .field("ports")
            .and_then(|p| p.list_merge())
            .expect("ports");
        assert_eq!(ports.keys, ["port", "protocol"]);
        assert!(spec.field("tags").and_then(|t| t.list_merge()).is_none());
        assert!(spec.field("self").and_then(|t| t.field("items")).is_some());
        assert!(spec.field("loop").is_none());
    }

    #[test]
    fn rejects_non_documents() {
        assert!(Schema::from_openapi_document(&json!([1, 2])).is_err());
        assert!(Schema::from_openapi_document(&json!({"definitions": 3})).is_err());
        assert!(Schema::from_openapi_document(&json!({})).is_ok());
    }
}
