//! kustomize's name-suffix hash for generated ConfigMaps and Secrets.
//!
//! kustomize hashes a small JSON document (not the whole object):
//!
//! * ConfigMap: `{"kind":"ConfigMap","name":N,"data":D}` plus `"binaryData":B` when the object's
//!   `binaryData` is a mapping (or a list, which kustomize encodes as `null`);
//! * Secret: `{"kind":"Secret","type":T,"name":N,"data":D}` plus `"stringData":S` likewise.
//!
//! Each of `name`, `type`, `data`, ... is `""` when absent, the scalar's text when a scalar, a
//! JSON object when a mapping and `null` when a list. `name` is always `""`: kustomize looks the
//! name up under a literal `metadata/name` key, which never exists, so the name does not affect
//! the hash. The document is encoded like Go's `encoding/json` (object keys sorted, `<`, `>`,
//! `&`, U+2028 and U+2029 escaped, numbers printed as float64), hashed with SHA-256, and the
//! first ten hex digits are kept with `0`, `1`, `3`, `a`, `e` replaced by `g`, `h`, `k`, `m`, `t`
//! (so the suffix never looks like a number or contains a vowel).

use super::GenError;
use crate::manifest::Object;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The hash suffix kustomize appends to a generated object's name (without the `-`).
///
/// Only ConfigMaps and Secrets can be hashed: for other kinds kustomize hashes its internal
/// YAML node structure, which has no stable meaning outside it, so they are an error here.
pub fn hash_suffix(obj: &Object) -> Result<String, GenError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut doc: Vec<(&str, Value)> = Vec::new();
    match kind {
        "ConfigMap" => {
            doc.push(("kind", Value::String("ConfigMap".into())));
            doc.push(("name", Value::String(String::new())));
            doc.push(("data", field_value(obj.get("data"))));
            if let Some(b) = optional_map(obj.get("binaryData")) {
                doc.push(("binaryData", b));
            }
        }
        "Secret" => {
            doc.push(("kind", Value::String("Secret".into())));
            doc.push(("type", field_value(obj.get("type"))));
            doc.push(("name", Value::String(String::new())));
            doc.push(("data", field_value(obj.get("data"))));
            if let Some(s) = optional_map(obj.get("stringData")) {
                doc.push(("stringData", s));
            }
        }
        other => {
            return Err(GenError::Unhashable {
                kind: other.to_string(),
            });
        }
    }
    doc.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    out.push('{');
    for (i, (k, v)) in doc.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_string(k, &mut out);
        out.push(':');
        go_json(v, &mut out);
    }
    out.push('}');
    Ok(encode_digest(&out))
}

/// The suffix for an already-encoded document.
pub(crate) fn encode_digest(doc: &str) -> String {
    let digest = Sha256::digest(doc.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// A top-level field as kustomize reads it for the hash.
fn field_value(v: Option<&Value>) -> Value {
    match v {
        None => Value::String(String::new()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        // A list does not decode into the map kustomize expects: it encodes as null.
        Some(Value::Array(_)) => Value::Null,
        Some(scalar) => Value::String(scalar_text(scalar)),
    }
}

/// `binaryData` / `stringData`: included only when a mapping (or a list, encoded as null).
fn optional_map(v: Option<&Value>) -> Option<Value> {
    match v {
        Some(Value::Object(m)) => Some(Value::Object(m.clone())),
        Some(Value::Array(_)) => Some(Value::Null),
        _ => None,
    }
}

/// The text of a scalar node (null has none).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        // Not a scalar: kustomize reads an empty value.
        Value::Array(_) | Value::Object(_) => String::new(),
    }
}

/// Encode like Go's `json.Marshal` of the decoded `interface{}` value.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) => go_float(f, out),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => go_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_string(k, out);
                out.push(':');
                if let Some(v) = m.get(k.as_str()) {
                    go_json(v, out);
                }
            }
            out.push('}');
        }
    }
}

/// Go's float64 JSON form: shortest round-trip digits, plain notation for 1e-6 <= |f| < 1e21,
/// otherwise exponent notation like `1e+21` / `1e-7`.
fn go_float(f: f64, out: &mut String) {
    if !f.is_finite() {
        // Go refuses these; they cannot come from YAML/JSON input anyway.
        out.push_str("null");
        return;
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        let _ = write!(out, "{f}");
        return;
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((mant, exp)) if !exp.starts_with('-') => {
            let _ = write!(out, "{mant}e+{exp}");
        }
        _ => out.push_str(&s),
    }
}

/// Go's JSON string encoding with HTML-safe escaping.
fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        match v {
            Value::Object(m) => m,
            _ => Object::new(),
        }
    }

    #[test]
    fn configmap_hash_ignores_name() {
        // kubectl kustomize: literals [x=1] -> a-hmg6f82fh6, whatever the name.
        let a = obj(
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"x":"1"}}),
        );
        let b = obj(
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bbbb"},"data":{"x":"1"}}),
        );
        assert_eq!(hash_suffix(&a).ok().as_deref(), Some("hmg6f82fh6"));
        assert_eq!(hash_suffix(&b).ok().as_deref(), Some("hmg6f82fh6"));
    }

    #[test]
    fn empty_configmap_and_secret() {
        let cm = obj(json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"e"}}));
        assert_eq!(hash_suffix(&cm).ok().as_deref(), Some("6ct58987ht"));
        let s = obj(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{},"type":"Opaque"}),
        );
        assert_eq!(hash_suffix(&s).ok().as_deref(), Some("46f8b28mk5"));
        let s = obj(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"x":"MQ=="},"type":"Opaque"}),
        );
        assert_eq!(hash_suffix(&s).ok().as_deref(), Some("bf2648c599"));
    }

    #[test]
    fn other_kinds_are_an_error() {
        let d = obj(json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}));
        assert!(matches!(hash_suffix(&d), Err(GenError::Unhashable { .. })));
    }

    #[test]
    fn go_encoding() {
        let mut s = String::new();
        go_string("<a&b>\u{2028}\u{1}\u{8}\u{c}\u{7f}é\"\\", &mut s);
        assert_eq!(
            s,
            "\"\\u003ca\\u0026b\\u003e\\u2028\\u0001\\b\\f\u{7f}é\\\"\\\\\""
        );
        let mut s = String::new();
        go_json(
            &json!({"b": [1, 1.5, 1e21, 1e-7, 0.000001, true, null], "a": {"z": 1, "y": "x"}}),
            &mut s,
        );
        assert_eq!(
            s,
            r#"{"a":{"y":"x","z":1},"b":[1,1.5,1e+21,1e-7,0.000001,true,null]}"#
        );
    }

    #[test]
    fn scalar_and_list_fields() {
        // data as a list encodes as null; binaryData as a scalar is left out.
        let a = obj(json!({"kind":"ConfigMap","data":[1],"binaryData":"x"}));
        let b = obj(json!({"kind":"ConfigMap","data":[2]}));
        assert_eq!(hash_suffix(&a).ok(), hash_suffix(&b).ok());
        assert_eq!(
            hash_suffix(&a).ok(),
            Some(encode_digest(
                r#"{"data":null,"kind":"ConfigMap","name":""}"#
            ))
        );
    }
}
