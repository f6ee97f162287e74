//! Field specs: "in objects of this group/version/kind, the field at this `/`-separated path".
//! Every built-in transformer (namespace, prefix, labels, name references, images…) is driven by
//! lists of them. Traversal follows kustomize: a sequence on the way is walked element by element,
//! missing fields are created only when the spec says `create` (intermediates as mappings).

use crate::manifest::{Gvk, Object};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

/// (Text is `Cow` so the built-in tables borrow from the embedded data instead of copying.)
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub group: Cow<'static, str>,
    #[serde(default)]
    pub version: Cow<'static, str>,
    #[serde(default)]
    pub kind: Cow<'static, str>,
    #[serde(default)]
    pub path: Cow<'static, str>,
    #[serde(default, rename = "create")]
    pub create: bool,
}

impl FieldSpec {
    /// A spec for any kind.
    pub fn any(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            path: Cow::Owned(path.to_string()),
            create,
            ..Default::default()
        }
    }

    /// A spec for one group and kind.
    pub fn of(group: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: Cow::Owned(group.to_string()),
            kind: Cow::Owned(kind.to_string()),
            path: Cow::Owned(path.to_string()),
            create,
            ..Default::default()
        }
    }

    /// Does this spec apply to objects of this GVK?
    pub fn matches_gvk(&self, gvk: &Gvk) -> bool {
        (self.kind.is_empty() || self.kind == gvk.kind)
            && (self.group.is_empty() || self.group == gvk.group)
            && (self.version.is_empty() || self.version == gvk.version)
    }

    /// The same field of the same kinds (kustomize merges such specs, keeping the first).
    pub fn same_target(&self, other: &FieldSpec) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.kind == other.kind
            && self.path == other.path
    }
}

/// What to create at the end of the path when it is missing and the spec allows creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never create (the spec's `create` is ignored).
    Never,
    Scalar,
    Map,
    Seq,
}

/// Split a field-spec path on `/`, honouring `\/` escapes and an optional leading `/`.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    for p in parts {
        if let Some(last) = out.last_mut()
            && last.ends_with('\\')
        {
            last.pop();
            last.push('/');
            last.push_str(p);
            continue;
        }
        out.push(p.to_string());
    }
    out
}

pub use crate::manifest::Seg;

/// Visit every field the spec names in `obj` (whose GVK must already have been matched),
/// calling `f` on each. `f` may replace the value. Errors name the path.
pub fn visit<F>(obj: &mut Object, spec: &FieldSpec, create: Create, f: &mut F) -> Result<(), String>
where
    F: FnMut(&mut Value) -> Result<(), String>,
{
    visit_with_path(obj, spec, create, &mut |v, _| f(v))
}

/// [`visit`], also telling `f` where each field is.
pub fn visit_with_path<F>(
    obj: &mut Object,
    spec: &FieldSpec,
    create: Create,
    f: &mut F,
) -> Result<(), String>
where
    F: FnMut(&mut Value, &[Seg]) -> Result<(), String>,
{
    let create = if spec.create { create } else { Create::Never };
    let mut at = Vec::new();
    if spec.path.contains('\\') {
        let owned = split_path(&spec.path);
        let path: Vec<&str> = owned.iter().map(String::as_str).collect();
        visit_map(obj, &path, create, &mut at, f)
    } else {
        // The common case needs no allocation per part.
        let trimmed = match spec.path.strip_prefix('/') {
            Some(rest) if spec.path.len() > 1 => rest,
            _ => spec.path.as_ref(),
        };
        let path: Vec<&str> = trimmed.split('/').collect();
        visit_map(obj, &path, create, &mut at, f)
    }
}

fn visit_map<F>(
    obj: &mut Object,
    path: &[&str],
    create: Create,
    at: &mut Vec<Seg>,
    f: &mut F,
) -> Result<(), String>
where
    F: FnMut(&mut Value, &[Seg]) -> Result<(), String>,
{
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    let (name, is_seq) = match first.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (*first, false),
    };
    if name.is_empty() {
        return Err("cannot set or create an empty field name".to_string());
    }
    let kind = if create == Create::Never || is_seq {
        None
    } else if rest.is_empty() {
        Some(create)
    } else {
        Some(Create::Map)
    };
    if !obj.contains_key(name) {
        match kind {
            None => return Ok(()),
            Some(k) => {
                obj.insert(name.to_string(), new_node(k));
            }
        }
    }
    let field = obj.get_mut(name).expect("present");
    if field.is_null() {
        if let Some(k) = kind {
            *field = new_node(k);
        } else if is_seq {
            // A null hinted as a sequence: nothing to visit.
            return Ok(());
        }
    }
    at.push(Seg::Key(name.to_string()));
    let r = visit_value(field, rest, create, at, f);
    at.pop();
    r
}

fn visit_value<F>(
    v: &mut Value,
    path: &[&str],
    create: Create,
    at: &mut Vec<Seg>,
    f: &mut F,
) -> Result<(), String>
where
    F: FnMut(&mut Value, &[Seg]) -> Result<(), String>,
{
    if path.is_empty() {
        return f(v, at);
    }
    match v {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                at.push(Seg::Index(i));
                let r = visit_value(item, path, create, at, f);
                at.pop();
                r?;
            }
            Ok(())
        }
        Value::Object(m) => visit_map(m, path, create, at, f),
        _ => Err("expected sequence or mapping node".to_string()),
    }
}

/// The value at a path, if there is one.
pub fn get_path<'a>(obj: &'a Object, path: &[Seg]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = obj.get(k)?;
    for seg in rest {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The value at a path, mutably.
pub fn get_path_mut<'a>(obj: &'a mut Object, path: &[Seg]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = obj.get_mut(k)?;
    for seg in rest {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn new_node(k: Create) -> Value {
    match k {
        Create::Map => Value::Object(Object::new()),
        Create::Seq => Value::Array(Vec::new()),
        // An empty scalar: the setter decides its value.
        Create::Scalar | Create::Never => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_with_escapes() {
        assert_eq!(split_path("a/b/c"), vec!["a", "b", "c"]);
        assert_eq!(split_path("/a/b"), vec!["a", "b"]);
        assert_eq!(
            split_path("metadata/annotations/x.io\\/y"),
            vec!["metadata", "annotations", "x.io/y"]
        );
    }

    #[test]
    fn walks_sequences_and_creates_maps() {
        let mut o = json!({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})
            .as_object()
            .unwrap()
            .clone();
        let mut seen = vec![];
        visit(
            &mut o,
            &FieldSpec::any("spec/containers/name", false),
            Create::Scalar,
            &mut |v| {
                seen.push(v.as_str().unwrap().to_string());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, vec!["a", "b"]);
        visit(
            &mut o,
            &FieldSpec::any("metadata/labels", true),
            Create::Map,
            &mut |v| {
                v.as_object_mut().unwrap().insert("x".into(), json!("y"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(o["metadata"]["labels"]["x"], "y");
        // Not created without `create`.
        let mut touched = false;
        visit(
            &mut o,
            &FieldSpec::any("spec/selector", false),
            Create::Map,
            &mut |_| {
                touched = true;
                Ok(())
            },
        )
        .unwrap();
        assert!(!touched);
        assert!(o["spec"].get("selector").is_none());
    }

    #[test]
    fn scalar_on_the_way_is_an_error() {
        let mut o = json!({"spec":"oops"}).as_object().unwrap().clone();
        let r = visit(
            &mut o,
            &FieldSpec::any("spec/x", true),
            Create::Scalar,
            &mut |_| Ok(()),
        );
        assert!(r.is_err());
    }
}
