//! The form objects are compared in: server-owned fields dropped, list items with merge keys in
//! key order (so a reorder is no change), Secret values replaced by placeholders.

use serde_json::{Map, Value};

use crate::kustomize::openapi::{SchemaRef, Schemas};
use crate::manifest::{Gvk, Object};

/// Metadata fields the API server owns.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "creationTimestamp",
    "resourceVersion",
    "generation",
    "uid",
    "selfLink",
];

/// Annotations written by tools on apply, which copy the whole object (Secret values included).
const TOOL_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// Lists whose order has meaning even though their items have merge keys.
const ORDERED_LISTS: &[&str] = &["initContainers"];

/// The placeholder of a Secret value at base, and of an unchanged one at head.
pub const SECRET: &str = "<secret>";
/// The placeholder of a Secret value that changed.
pub const SECRET_CHANGED: &str = "<secret, changed>";

/// How the items of a list are matched between two sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListMatch {
    /// By position.
    Index,
    /// By the values of these keys; `ordered` when the order is meaningful too.
    Keys { keys: Vec<String>, ordered: bool },
}

/// How a list at a field (with its schema, when known) is matched. Keys are used only when every
/// item is a mapping and the key values are distinct; for unknown kinds, `name` when every item
/// has a distinct string `name`.
pub fn list_match(field: &str, schema: Option<SchemaRef<'_>>, items: &[Value]) -> ListMatch {
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return ListMatch::Index;
    }
    let keys: Vec<String> = match schema {
        Some(s) => match s.list_merge() {
            Some(m) if m.is_merge() && !m.keys.is_empty() => {
                m.keys.iter().map(|k| k.to_string()).collect()
            }
            _ => return ListMatch::Index,
        },
        None => {
            let all_named = items
                .iter()
                .all(|i| i.get("name").is_some_and(Value::is_string));
            if !all_named {
                return ListMatch::Index;
            }
            vec!["name".to_string()]
        }
    };
    // The first key must be present; distinct key tuples are required to match by them.
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        if item.get(&keys[0]).is_none() || !seen.insert(key_of(item, &keys)) {
            return ListMatch::Index;
        }
    }
    ListMatch::Keys {
        keys,
        ordered: ORDERED_LISTS.contains(&field),
    }
}

/// The key tuple of a list item: `[(key, value as text)]` (absent keys as empty text).
pub fn key_of(item: &Value, keys: &[String]) -> Vec<(String, String)> {
    keys.iter()
        .map(|k| {
            let v = match item.get(k) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// The schema of an object's kind, when Kubernetes knows it.
pub fn schema_of(gvk: &Gvk) -> Option<SchemaRef<'static>> {
    Schemas::builtin().for_gvk(gvk)
}

/// The object with server-owned fields dropped and keyed lists in key order.
pub fn normalize(obj: &Object, gvk: &Gvk) -> Object {
    let mut out = obj.clone();
    out.remove("status");
    if let Some(Value::Object(meta)) = out.get_mut("metadata") {
        for f in SERVER_METADATA {
            meta.remove(*f);
        }
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            for a in TOOL_ANNOTATIONS {
                ann.remove(*a);
            }
        }
        for m in ["annotations", "labels"] {
            if meta
                .get(m)
                .is_some_and(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty))
            {
                meta.remove(m);
            }
        }
    }
    let schema = schema_of(gvk);
    for (k, v) in out.iter_mut() {
        sort_lists(k, v, schema.and_then(|s| s.field(k)));
    }
    out
}

fn sort_lists(field: &str, v: &mut Value, schema: Option<SchemaRef<'_>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                sort_lists(k, child, schema.and_then(|s| s.field(k)));
            }
        }
        Value::Array(items) => {
            let items_schema = schema.and_then(|s| s.items());
            for item in items.iter_mut() {
                // Items of a list are reached through the list's field name for the schema.
                if let Value::Object(map) = item {
                    for (k, child) in map.iter_mut() {
                        sort_lists(k, child, items_schema.and_then(|s| s.field(k)));
                    }
                }
            }
            if let ListMatch::Keys {
                keys,
                ordered: false,
            } = list_match(field, schema, items)
            {
                items.sort_by_cached_key(|i| key_of(i, &keys));
            }
        }
        _ => {}
    }
}

/// Whether this is a core-group Secret.
pub fn is_secret(gvk: &Gvk) -> bool {
    gvk.group.is_empty() && gvk.kind == "Secret"
}

/// Replace the values of a Secret's `data` and `stringData` by placeholders: [`SECRET`], or
/// [`SECRET_CHANGED`] where `other` (the base side) has a different value under the same key.
pub fn redact_secret(obj: &mut Object, base: Option<&Object>) {
    for field in ["data", "stringData"] {
        let before = base.and_then(|b| b.get(field)).and_then(Value::as_object);
        if let Some(Value::Object(map)) = obj.get_mut(field) {
            for (k, v) in map.iter_mut() {
                let changed = before.is_some_and(|b| b.get(k).is_some_and(|old| old != v));
                *v = Value::String(if changed { SECRET_CHANGED } else { SECRET }.to_string());
            }
        } else if let Some(v) = obj.get_mut(field) {
            // Not a mapping (invalid, but never shown as it is).
            *v = Value::String(SECRET.to_string());
        }
    }
}
