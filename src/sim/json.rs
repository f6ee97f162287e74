//! GitHub's objects as its OpenAPI description (the vendored subset) documents them. Handlers
//! build the fields that carry meaning; [`conform`] adds every other field the schema requires,
//! with a plausible value of its type, so answers have GitHub's documented shape by
//! construction.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

static SPEC: OnceLock<Value> = OnceLock::new();

fn spec() -> &'static Value {
    SPEC.get_or_init(|| {
        serde_json::from_str(include_str!("../../data/github/openapi-subset.json"))
            .unwrap_or(Value::Null)
    })
}

fn resolve(mut s: &Value) -> &Value {
    for _ in 0..32 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => s = &spec()["definitions"][r.rsplit('/').next().unwrap_or("")],
            None => break,
        }
    }
    s
}

/// The documented response schema of `op` (`GET /app`) for `status`.
pub fn response_schema(op: &str, status: u16) -> Option<&'static Value> {
    let s = &spec()["operations"][op]["responses"][status.to_string()];
    (!s.is_null()).then_some(s)
}

/// A component schema (`repository`, `simple-user`).
pub fn definition(name: &str) -> &'static Value {
    &spec()["definitions"][name]
}

/// `partial` with every field `schema` requires and `partial` lacks filled in.
pub fn conform(schema: &Value, partial: Value) -> Value {
    fill(resolve(schema), partial, 0)
}

/// Conform to a response of an operation.
pub fn answer(op: &str, status: u16, partial: Value) -> Value {
    match response_schema(op, status) {
        Some(s) => conform(s, partial),
        None => partial,
    }
}

fn allows_null(s: &Value) -> bool {
    match &s["type"] {
        Value::String(t) => t == "null",
        Value::Array(ts) => ts.iter().any(|t| t == "null"),
        _ => ["anyOf", "oneOf"].iter().any(|k| {
            s[*k]
                .as_array()
                .is_some_and(|bs| bs.iter().any(|b| allows_null(resolve(b))))
        }),
    }
}

fn fill(s: &Value, partial: Value, depth: usize) -> Value {
    let s = resolve(s);
    if depth > 12 {
        return partial;
    }
    if let Some(all) = s["allOf"].as_array() {
        return all.iter().fold(partial, |p, b| fill(b, p, depth + 1));
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(branches) = s[k].as_array() {
            if partial.is_null() && allows_null(s) {
                return Value::Null;
            }
            // The first branch of the value's kind (objects to object schemas).
            let kind_ok = |b: &&Value| {
                let b = resolve(b);
                match &partial {
                    Value::Object(_) | Value::Null => {
                        b["type"] == "object"
                            || ["properties", "allOf", "anyOf", "oneOf"]
                                .iter()
                                .any(|k| b.get(*k).is_some())
                    }
                    _ => true,
                }
            };
            if let Some(b) = branches.iter().find(kind_ok).or(branches.first()) {
                return fill(b, partial, depth + 1);
            }
            return partial;
        }
    }
    match partial {
        Value::Object(mut m) => {
            if let Some(req) = s["required"].as_array() {
                for k in req.iter().filter_map(Value::as_str) {
                    if !m.contains_key(k) {
                        m.insert(k.to_string(), sample(&s["properties"][k], k, depth + 1));
                    }
                }
            }
            if let Some(props) = s["properties"].as_object() {
                for (k, v) in m.iter_mut() {
                    if let Some(ps) = props.get(k) {
                        let taken = std::mem::take(v);
                        *v = fill(ps, taken, depth + 1);
                    }
                }
            }
            Value::Object(m)
        }
        Value::Array(xs) => Value::Array(
            xs.into_iter()
                .map(|x| fill(&s["items"], x, depth + 1))
                .collect(),
        ),
        Value::Null
            if !allows_null(s) && !s.is_null() && s.as_object().is_some_and(|o| !o.is_empty()) =>
        {
            sample(s, "", depth)
        }
        other => other,
    }
}

/// A value of the schema's type for a field nobody set.
fn sample(s: &Value, name: &str, depth: usize) -> Value {
    let s = resolve(s);
    if allows_null(s) {
        return Value::Null;
    }
    if let Some(e) = s["enum"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    if s.get("allOf").is_some() || s.get("anyOf").is_some() || s.get("oneOf").is_some() {
        return fill(s, Value::Object(Map::new()), depth);
    }
    let t = match &s["type"] {
        Value::String(t) => t.as_str(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ if s.get("properties").is_some() => "object",
        _ => "string",
    };
    match t {
        "object" => fill(s, Value::Object(Map::new()), depth),
        "array" => json!([]),
        "integer" | "number" => json!(0),
        "boolean" => json!(false),
        _ => match s["format"].as_str() {
            Some("uri") => json!(format!(
                "https://github.com/{}",
                name.trim_end_matches("_url")
            )),
            Some("date-time") => json!("2026-01-01T00:00:00Z"),
            Some("email") => json!("octocat@github.com"),
            _ => json!(""),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformed_objects_keep_what_was_set_and_gain_what_is_required() {
        let user = conform(
            definition("simple-user"),
            json!({"login": "alice", "id": 7, "type": "User"}),
        );
        assert_eq!(user["login"], "alice");
        assert_eq!(user["id"], 7);
        assert!(
            user["avatar_url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
        );
        assert_eq!(user["gravatar_id"], Value::Null);
        let repo = conform(
            definition("repository"),
            json!({"full_name": "o/n", "owner": {"login": "o"}}),
        );
        assert_eq!(repo["owner"]["login"], "o");
        assert!(repo["owner"].get("repos_url").is_some());
        assert_eq!(repo["license"], Value::Null);
    }
}
