//! JSON patches (RFC 6902) the way kustomize applies them: with the JSON-patch library it
//! embeds (evanphx/json-patch v4), which differs from the RFC in ways kubectl users rely on —
//! `replace` of a missing key adds it, negative array indexes count from the end, a path
//! without a leading `/` addresses the last segment from the root.
//!
//! Written by hand because the `json-patch` crate follows the RFC strictly.

use serde_json::{Map, Value};

/// One operation, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub op: String,
    pub path: Option<String>,
    pub from: Option<String>,
    pub value: Option<Value>,
}

/// Read a patch document: a list of operation objects.
pub fn parse(v: &Value) -> Result<Vec<Op>, String> {
    let Value::Array(items) = v else {
        return Err("a JSON patch is a list of operations".into());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let Value::Object(m) = it else {
                return Err(format!("operation {i} is not an object"));
            };
            let text = |k: &str| -> Result<Option<String>, String> {
                match m.get(k) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(format!(
                        "operation {i}: '{k}' must be a string, not {other}"
                    )),
                }
            };
            Ok(Op {
                op: text("op")?.unwrap_or_else(|| "unknown".into()),
                path: text("path")?,
                from: text("from")?,
                value: m.get("value").cloned(),
            })
        })
        .collect()
}

/// Apply every operation in order; the document is left as it was on error.
pub fn apply(doc: &mut Value, ops: &[Op]) -> Result<(), String> {
    let mut work = doc.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut work, op).map_err(|e| format!("operation {i} ({}): {e}", op.op))?;
    }
    *doc = work;
    Ok(())
}

fn decode(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

/// Split a path into its parent segments and last key, as the library does: the first
/// segment (before the first `/`) is dropped.
fn split(path: &str) -> Option<(Vec<String>, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 {
        return None;
    }
    let last = decode(parts[parts.len() - 1]);
    let parents = parts[1..parts.len() - 1]
        .iter()
        .map(|p| decode(p))
        .collect();
    Some((parents, last))
}

/// Resolve an array index the library's way (negative counts from the end).
fn index(len: usize, key: &str, allow_end: bool) -> Result<usize, String> {
    let idx: i64 = key
        .parse()
        .map_err(|_| format!("value was not a proper array index: '{key}'"))?;
    let len = len as i64;
    let idx = if idx < 0 {
        if idx < -len {
            return Err(format!("Unable to access invalid index: {idx}"));
        }
        idx + len
    } else {
        idx
    };
    let limit = if allow_end { len + 1 } else { len };
    if idx >= limit {
        return Err(format!("Unable to access invalid index: {idx}"));
    }
    Ok(idx as usize)
}

/// The container holding the last segment of `path`.
fn find<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let (parents, key) = split(path)?;
    let mut cur = doc;
    for p in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(&p)?,
            Value::Array(a) => {
                let i = index(a.len(), &p, false).ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
        if !cur.is_object() && !cur.is_array() {
            return None;
        }
    }
    Some((cur, key))
}

fn get(con: &Value, key: &str) -> Result<Option<Value>, String> {
    match con {
        Value::Object(m) => Ok(m.get(key).cloned()),
        Value::Array(a) => {
            let i = index(a.len(), key, false)?;
            Ok(a.get(i).cloned())
        }
        _ => Err("not a container".into()),
    }
}

fn add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(val);
                return Ok(());
            }
            let i = index(a.len(), key, true)?;
            a.insert(i, val);
            Ok(())
        }
        _ => Err("not a container".into()),
    }
}

fn set(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(a.len(), key, false)?;
            a[i] = val;
            Ok(())
        }
        _ => Err("not a container".into()),
    }
}

fn remove(con: &mut Value, key: &str) -> Result<(), String> {
    match con {
        Value::Object(m) => match m.shift_remove(key) {
            Some(_) => Ok(()),
            None => Err(format!("Unable to remove nonexistent key: {key}")),
        },
        Value::Array(a) => {
            let i = index(a.len(), key, false)?;
            a.remove(i);
            Ok(())
        }
        _ => Err("not a container".into()),
    }
}

/// JSON equality as the library checks it (numbers by value).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

fn apply_one(doc: &mut Value, op: &Op) -> Result<(), String> {
    let path = op.path.as_deref();
    let value = || op.value.clone().unwrap_or(Value::Null);
    match op.op.as_str() {
        "add" => {
            let path = path.ok_or("operation missing path field")?;
            let (con, key) = find(doc, path).ok_or_else(|| {
                format!("add operation does not apply: doc is missing path: \"{path}\"")
            })?;
            add(con, &key, value())
        }
        "remove" => {
            let path = path.ok_or("operation missing path field")?;
            let (con, key) = find(doc, path).ok_or_else(|| {
                format!("remove operation does not apply: doc is missing path: \"{path}\"")
            })?;
            remove(con, &key)
        }
        "replace" => {
            let path = path.ok_or("operation missing path field")?;
            if path.is_empty() {
                let v = value();
                if !v.is_object() && !v.is_array() {
                    return Err("replace of the whole document needs an object or a list".into());
                }
                *doc = v;
                return Ok(());
            }
            let (con, key) = find(doc, path).ok_or_else(|| {
                format!("replace operation does not apply: doc is missing path: {path}")
            })?;
            get(con, &key).map_err(|_| {
                format!("replace operation does not apply: doc is missing key: {path}")
            })?;
            set(con, &key, value())
        }
        "move" => {
            let from = op.from.as_deref().ok_or("operation, missing from field")?;
            let path = path.ok_or("operation missing path field")?;
            let (con, key) = find(doc, from).ok_or_else(|| {
                format!("move operation does not apply: doc is missing from path: {from}")
            })?;
            let val = get(con, &key)?;
            remove(con, &key)?;
            let (con, key) = find(doc, path).ok_or_else(|| {
                format!("move operation does not apply: doc is missing destination path: {path}")
            })?;
            add(con, &key, val.unwrap_or(Value::Null))
        }
        "copy" => {
            let from = op.from.as_deref().ok_or("operation, missing from field")?;
            let path = path.ok_or("operation missing path field")?;
            let (con, key) = find(doc, from).ok_or_else(|| {
                format!("copy operation does not apply: doc is missing from path: {from}")
            })?;
            let val = get(con, &key)?.ok_or_else(|| {
                format!("copy operation does not apply: doc is missing from path: {from}")
            })?;
            let (con, key) = find(doc, path).ok_or_else(|| {
                format!("copy operation does not apply: doc is missing destination path: {path}")
            })?;
            add(con, &key, val)
        }
        "test" => {
            let path = path.ok_or("operation missing path field")?;
            let actual = if path.is_empty() {
                Some(doc.clone())
            } else {
                let (con, key) = find(doc, path).ok_or_else(|| {
                    format!("test operation does not apply: is missing path: {path}")
                })?;
                get(con, &key)?
            };
            let want = op.value.clone().unwrap_or(Value::Null);
            match actual {
                None if want.is_null() => Ok(()),
                Some(v) if equal(&v, &want) => Ok(()),
                _ => Err(format!("testing value {path} failed")),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

/// Convenience for tests and callers holding an object.
pub fn apply_to_object(obj: &mut Map<String, Value>, ops: &[Op]) -> Result<(), String> {
    let mut doc = Value::Object(std::mem::take(obj));
    let r = apply(&mut doc, ops);
    if let Value::Object(m) = doc {
        *obj = m;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> Result<Value, String> {
        let ops = parse(&ops)?;
        let mut d = doc;
        apply(&mut d, &ops)?;
        Ok(d)
    }

    #[test]
    fn replace_of_a_missing_key_adds_it() {
        let d = run(
            json!({"data": {"a": "1"}}),
            json!([{"op": "replace", "path": "/data/b", "value": "2"}]),
        )
        .unwrap();
        assert_eq!(d, json!({"data": {"a": "1", "b": "2"}}));
        // ...but the parent must exist.
        assert!(
            run(
                json!({}),
                json!([{"op": "replace", "path": "/data/b", "value": "2"}])
            )
            .is_err()
        );
    }

    #[test]
    fn negative_indexes_count_from_the_end() {
        let d = run(
            json!({"l": [1, 2, 3]}),
            json!([{"op": "remove", "path": "/l/-1"}]),
        )
        .unwrap();
        assert_eq!(d, json!({"l": [1, 2]}));
        let d = run(json!({"l": [1, 2]}), json!([{"op": "add", "path": "/l/-", "value": 9}, {"op": "add", "path": "/l/0", "value": 0}])).unwrap();
        assert_eq!(d, json!({"l": [0, 1, 2, 9]}));
        assert!(
            run(
                json!({"l": [1]}),
                json!([{"op": "replace", "path": "/l/1", "value": 0}])
            )
            .is_err()
        );
    }

    #[test]
    fn move_copy_test_and_escapes() {
        let d = run(
            json!({"a": {"x/y": 1}, "b": {}}),
            json!([
                {"op": "test", "path": "/a/x~1y", "value": 1.0},
                {"op": "copy", "from": "/a/x~1y", "path": "/b/c"},
                {"op": "move", "from": "/a", "path": "/m"}
            ]),
        )
        .unwrap();
        assert_eq!(d, json!({"b": {"c": 1}, "m": {"x/y": 1}}));
        assert!(
            run(
                json!({"a": 1}),
                json!([{"op": "test", "path": "/a", "value": 2}])
            )
            .is_err()
        );
        assert!(run(json!({"a": 1}), json!([{"op": "remove", "path": "/zz"}])).is_err());
        assert!(run(json!({"a": 1}), json!([{"op": "frobnicate", "path": "/a"}])).is_err());
    }

    #[test]
    fn a_failed_patch_leaves_the_document_alone() {
        let mut d = json!({"a": 1});
        let ops = parse(
            &json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/c"}]),
        )
        .unwrap();
        assert!(apply(&mut d, &ops).is_err());
        assert_eq!(d, json!({"a": 1}));
    }
}
