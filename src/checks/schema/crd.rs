//! Convert a CRD's `openAPIV3Schema` (a structural OpenAPI v3 schema) into a Draft 2020-12
//! JSON schema that accepts what the API server accepts with strict field validation.
//!
//! - fields not under `properties` are unknown (`additionalProperties: false`) unless the node
//!   sets `x-kubernetes-preserve-unknown-fields: true` or declares `additionalProperties`;
//! - `nullable: true` allows `null`; `x-kubernetes-int-or-string: true` allows an integer or a
//!   string;
//! - `x-kubernetes-embedded-resource: true` allows `apiVersion`, `kind` and `metadata`;
//! - at the root, `apiVersion` and `kind` are strings and `metadata` is an `ObjectMeta`;
//! - value validations (`enum`, `pattern`, bounds, `required`, `allOf`/`anyOf`/`oneOf`/`not`)
//!   are kept; documentation, defaults, formats and CEL rules (`x-kubernetes-validations`) are
//!   not checked.

use serde_json::{Map, Value, json};

/// Deepest schema nesting accepted (CRDs come from pull requests).
const MAX_DEPTH: usize = 100;

/// Keywords copied as they are (their JSON Schema meaning is the OpenAPI one).
const VALUE_KEYWORDS: &[&str] = &[
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "minProperties",
    "maxProperties",
    "required",
];

/// Convert the root schema of one CRD version. `object_meta` is the `$ref` to use for
/// `metadata`.
pub(super) fn convert_root(schema: &Value, object_meta: &str) -> Result<Value, String> {
    let mut out = structural(schema, 0)?;
    let Value::Object(m) = &mut out else {
        return Err("openAPIV3Schema is not an object".into());
    };
    m.insert("type".into(), json!("object"));
    add_resource_fields(m, object_meta);
    Ok(out)
}

/// The schema used when a CRD version declares none: any object.
pub(super) fn any_object(object_meta: &str) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("object"));
    add_resource_fields(&mut m, object_meta);
    Value::Object(m)
}

fn add_resource_fields(m: &mut Map<String, Value>, object_meta: &str) {
    let props = m
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(p) = props {
        p.insert("apiVersion".into(), json!({"type": "string"}));
        p.insert("kind".into(), json!({"type": "string"}));
        p.insert("metadata".into(), json!({ "$ref": object_meta }));
    }
}

fn as_obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not a schema object"))
}

fn truthy(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// A node of the structural schema: types, properties and unknown-field pruning.
fn structural(v: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("schema nested deeper than {MAX_DEPTH} levels"));
    }
    let s = as_obj(v, "schema")?;
    let mut out = Map::new();
    copy_values(s, &mut out, depth)?;

    let nullable = truthy(s, "nullable");
    let preserve = truthy(s, "x-kubernetes-preserve-unknown-fields");
    let ty = s.get("type").and_then(Value::as_str);
    if truthy(s, "x-kubernetes-int-or-string") {
        let mut t = vec![json!("integer"), json!("string")];
        if nullable {
            t.push(json!("null"));
        }
        out.insert("type".into(), Value::Array(t));
    } else if let Some(t) = ty {
        out.insert(
            "type".into(),
            if nullable {
                json!([t, "null"])
            } else {
                json!(t)
            },
        );
    }

    let mut props = Map::new();
    if let Some(p) = s.get("properties") {
        for (k, sub) in as_obj(p, "properties")? {
            props.insert(k.clone(), structural(sub, depth + 1)?);
        }
    }
    if truthy(s, "x-kubernetes-embedded-resource") {
        for k in ["apiVersion", "kind"] {
            props
                .entry(k)
                .or_insert_with(|| json!({"type": ["string", "null"]}));
        }
        props
            .entry("metadata")
            .or_insert_with(|| json!({"type": ["object", "null"]}));
    }
    let has_props = !props.is_empty();
    if has_props {
        out.insert("properties".into(), Value::Object(props));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), Value::Bool(*b || preserve));
        }
        Some(sub @ Value::Object(_)) => {
            out.insert("additionalProperties".into(), structural(sub, depth + 1)?);
        }
        Some(_) => return Err("additionalProperties must be a boolean or a schema".into()),
        None => {
            if !preserve && (ty == Some("object") || has_props) {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
    }
    match s.get("items") {
        Some(sub @ Value::Object(_)) => {
            out.insert("items".into(), structural(sub, depth + 1)?);
        }
        Some(Value::Array(_)) => return Err("items must be a single schema".into()),
        _ => {}
    }
    Ok(Value::Object(out))
}

/// Copy value validations (bounds, enums, combinators) from `s` into `out`.
fn copy_values(
    s: &Map<String, Value>,
    out: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), String> {
    for k in VALUE_KEYWORDS {
        if let Some(v) = s.get(*k) {
            out.insert((*k).into(), v.clone());
        }
    }
    // OpenAPI v3.0: exclusiveMinimum/Maximum are booleans that qualify minimum/maximum.
    for (bound, excl) in [
        ("minimum", "exclusiveMinimum"),
        ("maximum", "exclusiveMaximum"),
    ] {
        if let Some(b) = s.get(bound) {
            if truthy(s, excl) {
                out.insert(excl.into(), b.clone());
            } else {
                out.insert(bound.into(), b.clone());
            }
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = s.get(k) {
            let list = list
                .as_array()
                .ok_or_else(|| format!("{k} must be a list"))?;
            let conv = list
                .iter()
                .map(|x| value_only(x, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(k.into(), Value::Array(conv));
        }
    }
    if let Some(n) = s.get("not") {
        out.insert("not".into(), value_only(n, depth + 1)?);
    }
    Ok(())
}

/// A schema under `allOf`/`anyOf`/`oneOf`/`not`: value validations only (no pruning).
fn value_only(v: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("schema nested deeper than {MAX_DEPTH} levels"));
    }
    let s = as_obj(v, "schema")?;
    let mut out = Map::new();
    copy_values(s, &mut out, depth)?;
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        out.insert("type".into(), json!([t, "null"]));
    }
    if let Some(p) = s.get("properties") {
        let mut props = Map::new();
        for (k, sub) in as_obj(p, "properties")? {
            props.insert(k.clone(), value_only(sub, depth + 1)?);
        }
        out.insert("properties".into(), Value::Object(props));
    }
    if let Some(sub @ Value::Object(_)) = s.get("items") {
        out.insert("items".into(), value_only(sub, depth + 1)?);
    }
    if let Some(sub @ Value::Object(_)) = s.get("additionalProperties") {
        out.insert("additionalProperties".into(), value_only(sub, depth + 1)?);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_structural_features() {
        let s = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["size"],
                    "properties": {
                        "size": {"x-kubernetes-int-or-string": true},
                        "note": {"type": "string", "nullable": true},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "pod": {"type": "object", "x-kubernetes-embedded-resource": true,
                                "x-kubernetes-preserve-unknown-fields": true},
                        "n": {"type": "integer", "minimum": 1, "exclusiveMinimum": true}
                    }
                }
            }
        });
        let c = convert_root(&s, "#meta").unwrap();
        let spec = &c["properties"]["spec"];
        assert_eq!(spec["additionalProperties"], json!(false));
        assert_eq!(spec["required"], json!(["size"]));
        let p = &spec["properties"];
        assert_eq!(p["size"]["type"], json!(["integer", "string"]));
        assert_eq!(p["note"]["type"], json!(["string", "null"]));
        assert!(p["free"].get("additionalProperties").is_none());
        assert_eq!(
            p["labels"]["additionalProperties"],
            json!({"type": "string"})
        );
        assert_eq!(
            p["pod"]["properties"]["kind"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(p["n"]["exclusiveMinimum"], json!(1));
        assert!(p["n"].get("minimum").is_none());
        assert_eq!(c["properties"]["metadata"], json!({"$ref": "#meta"}));
        assert_eq!(c["additionalProperties"], json!(false));
    }

    #[test]
    fn rejects_bad_and_deep_schemas() {
        assert!(convert_root(&json!("x"), "#m").is_err());
        assert!(convert_root(&json!({"properties": {"a": 3}}), "#m").is_err());
        let mut deep = json!({"type": "string"});
        for _ in 0..200 {
            deep = json!({"type": "object", "properties": {"a": deep}});
        }
        assert!(convert_root(&deep, "#m").unwrap_err().contains("deeper"));
    }
}
