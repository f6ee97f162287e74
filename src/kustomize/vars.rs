//! Legacy `vars:`: `$(NAME)` in a fixed set of fields (the varReference field specs, extendable
//! through `configurations:`) is replaced, after the whole build, by a field of a named object.
//!
//! Following kustomize v5.5.0:
//! - a var's object is found by its objref (exact apiVersion/kind/name, plus namespace when
//!   given) against every id the object has had, so names given before a prefix still work;
//!   more than one match is an error ([`merge_vars`] does this per kustomization level);
//! - a value that is the whole `$(NAME)` is replaced keeping the field's type (an integer field
//!   read by a var stays an integer); embedded occurrences are formatted into the string;
//! - unknown `$(X)` is left as is, `$$` reads as `$`; mapping/sequence values are not substituted;
//! - a var whose object is missing, or whose field is missing, is an error; vars that end up
//!   unused are not (kustomize only logs them).

use crate::kustomize::fieldspec::{Create, FieldSpec, visit};
use crate::kustomize::resource::{Resource, is_cluster_scoped_kind};
use crate::kustomize::selector::effective_namespace;
use crate::manifest::{Gvk, ResId};
use serde::Deserialize;
use serde_json::{Number, Value};
use std::collections::BTreeMap;

/// A `vars:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Var {
    pub name: String,
    #[serde(default)]
    pub objref: ObjRef,
    #[serde(default)]
    pub fieldref: FieldRef,
}

/// The object a var reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjRef {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldRef {
    #[serde(default)]
    pub field_path: String,
}

impl ObjRef {
    /// The GVK: `apiVersion` (when set) overrides group and version.
    pub fn gvk(&self) -> Gvk {
        let mut g = Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        };
        if !self.api_version.is_empty() {
            let parts: Vec<&str> = self.api_version.split('/').collect();
            match parts.as_slice() {
                [v] => g.version = (*v).to_string(),
                [gr, v] => {
                    g.group = (*gr).to_string();
                    g.version = (*v).to_string();
                }
                _ => {}
            }
        }
        g
    }
}

impl Var {
    /// The field path, defaulting to `metadata.name`.
    pub fn field_path(&self) -> &str {
        if self.fieldref.field_path.is_empty() {
            "metadata.name"
        } else {
            &self.fieldref.field_path
        }
    }

    /// kustomize's printed form of a (defaulted) var, used in error messages.
    pub fn describe(&self) -> String {
        let g = self.objref.gvk();
        format!(
            "{{{} {} {{{}}}}}",
            self.name,
            crate::kustomize::selector::id_string(&g.group, &g.version, &g.kind, "", "")
                .trim_end_matches("/[noName].[noNs]"),
            self.field_path()
        )
    }

    /// Does this var's objref name this id?
    fn refers_to(&self, id: &ResId, cluster_scoped: bool) -> bool {
        let g = self.objref.gvk();
        if id.gvk != g || id.name != self.objref.name {
            return false;
        }
        self.objref.namespace.is_empty()
            || effective_namespace(&self.objref.namespace, false)
                == effective_namespace(&id.namespace, cluster_scoped)
    }

    /// Does this var's objref name this resource (by any id it has had)?
    fn refers_to_resource(&self, r: &Resource) -> bool {
        let prev = r.previous.iter().any(|p| self.refers_to(p, false));
        let cur = r.cur_id();
        prev || self.refers_to(&cur, is_cluster_scoped_kind(&cur.gvk))
    }
}

/// The default varReference field specs (kustomize's built-in configuration).
pub const DEFAULT_VAR_REFERENCE: &[(&str, &str)] = &[
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/args",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/command",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/env/value",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/args",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/command",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/env/value",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    (
        "CronJob",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
    ),
    ("DaemonSet", "spec/template/spec/containers/args"),
    ("DaemonSet", "spec/template/spec/containers/command"),
    ("DaemonSet", "spec/template/spec/containers/env/value"),
    (
        "DaemonSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("DaemonSet", "spec/template/spec/initContainers/args"),
    ("DaemonSet", "spec/template/spec/initContainers/command"),
    ("DaemonSet", "spec/template/spec/initContainers/env/value"),
    (
        "DaemonSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("DaemonSet", "spec/template/spec/volumes/nfs/server"),
    ("Deployment", "spec/template/spec/containers/args"),
    ("Deployment", "spec/template/spec/containers/command"),
    ("Deployment", "spec/template/spec/containers/env/value"),
    (
        "Deployment",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("Deployment", "spec/template/spec/initContainers/args"),
    ("Deployment", "spec/template/spec/initContainers/command"),
    ("Deployment", "spec/template/spec/initContainers/env/value"),
    (
        "Deployment",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("Deployment", "spec/template/spec/volumes/nfs/server"),
    ("Deployment", "spec/template/metadata/annotations"),
    ("Ingress", "spec/rules/host"),
    ("Ingress", "spec/tls/hosts"),
    ("Ingress", "spec/tls/secretName"),
    ("Job", "spec/template/spec/containers/args"),
    ("Job", "spec/template/spec/containers/command"),
    ("Job", "spec/template/spec/containers/env/value"),
    (
        "Job",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("Job", "spec/template/spec/initContainers/args"),
    ("Job", "spec/template/spec/initContainers/command"),
    ("Job", "spec/template/spec/initContainers/env/value"),
    (
        "Job",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("Job", "spec/template/spec/volumes/nfs/server"),
    ("Pod", "spec/containers/args"),
    ("Pod", "spec/containers/command"),
    ("Pod", "spec/containers/env/value"),
    ("Pod", "spec/containers/volumeMounts/mountPath"),
    ("Pod", "spec/initContainers/args"),
    ("Pod", "spec/initContainers/command"),
    ("Pod", "spec/initContainers/env/value"),
    ("Pod", "spec/initContainers/volumeMounts/mountPath"),
    ("Pod", "spec/volumes/nfs/server"),
    ("ReplicaSet", "spec/template/spec/containers/args"),
    ("ReplicaSet", "spec/template/spec/containers/command"),
    ("ReplicaSet", "spec/template/spec/containers/env/value"),
    (
        "ReplicaSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("ReplicaSet", "spec/template/spec/initContainers/args"),
    ("ReplicaSet", "spec/template/spec/initContainers/command"),
    ("ReplicaSet", "spec/template/spec/initContainers/env/value"),
    (
        "ReplicaSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("ReplicaSet", "spec/template/spec/volumes/nfs/server"),
    ("Service", "spec/ports/port"),
    ("Service", "spec/ports/targetPort"),
    ("StatefulSet", "spec/template/spec/containers/args"),
    ("StatefulSet", "spec/template/spec/containers/command"),
    ("StatefulSet", "spec/template/spec/containers/env/value"),
    (
        "StatefulSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
    ),
    ("StatefulSet", "spec/template/spec/initContainers/args"),
    ("StatefulSet", "spec/template/spec/initContainers/command"),
    ("StatefulSet", "spec/template/spec/initContainers/env/value"),
    (
        "StatefulSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
    ),
    ("StatefulSet", "spec/volumeClaimTemplates/spec/nfs/server"),
    ("PersistentVolume", "spec/nfs/server"),
    ("", "metadata/labels"),
    ("", "metadata/annotations"),
];

/// The default varReference specs as field specs (any group/version, never created).
pub fn default_var_reference() -> Vec<FieldSpec> {
    DEFAULT_VAR_REFERENCE
        .iter()
        .map(|(kind, path)| FieldSpec::of("", kind, path, false))
        .collect()
}

/// kustomize's per-kustomization step: record, on the one object each var names, that the var
/// reads it (`ref_var_names`), and add the vars to `known`, rejecting duplicate names.
pub fn merge_vars(
    resources: &mut [Resource],
    vars: &[Var],
    known: &mut Vec<Var>,
) -> Result<(), String> {
    for v in vars {
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| v.refers_to_resource(r))
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                matched.len(),
                v.describe()
            ));
        }
        if let Some(&i) = matched.first()
            && !resources[i].ref_var_names.contains(&v.name)
        {
            resources[i].ref_var_names.push(v.name.clone());
        }
    }
    for v in vars {
        if known.iter().any(|k| k.name == v.name) {
            return Err(format!("var '{}' already encountered", v.name));
        }
        known.push(v.clone());
    }
    Ok(())
}

/// Resolve all vars of a build and substitute them in the varReference fields (the defaults
/// plus `extra_specs`). Vars not yet recorded on an object (see [`merge_vars`]) are matched
/// against the resources as they are now.
pub fn resolve(
    resources: &mut [Resource],
    vars: &[Var],
    extra_specs: &[FieldSpec],
) -> Result<(), String> {
    let unrecorded: Vec<Var> = vars
        .iter()
        .filter(|v| !resources.iter().any(|r| r.ref_var_names.contains(&v.name)))
        .cloned()
        .collect();
    {
        // Duplicate names are an error whether or not they were recorded before.
        let mut seen: Vec<&str> = Vec::new();
        for v in vars {
            if seen.contains(&v.name.as_str()) {
                return Err(format!("var '{}' already encountered", v.name));
            }
            seen.push(&v.name);
        }
    }
    let mut scratch = Vec::new();
    merge_vars(resources, &unrecorded, &mut scratch)?;

    // Values, in name order (the order kustomize resolves and reports errors in).
    let mut sorted: Vec<&Var> = vars.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut values: BTreeMap<String, Option<Value>> = BTreeMap::new();
    for v in sorted {
        let Some(r) = resources.iter().find(|r| r.ref_var_names.contains(&v.name)) else {
            return Err(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.describe()
            ));
        };
        let value = field_value(&r.obj, v.field_path()).ok_or_else(|| {
            format!(
                "field specified in var '{}' not found in corresponding resource",
                v.describe()
            )
        })?;
        values.insert(v.name.clone(), primitive(value));
    }
    if values.is_empty() {
        return Ok(());
    }

    let mut specs: Vec<FieldSpec> = Vec::new();
    for s in default_var_reference()
        .into_iter()
        .chain(extra_specs.iter().cloned())
    {
        if !specs.iter().any(|x| x.same_target(&s)) {
            specs.push(s);
        }
    }
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        for spec in specs.iter().filter(|s| s.matches_gvk(&gvk)) {
            // kustomize rewrites an object's own labels and annotations as strings at the end
            // of a build, so a typed whole-value substitution there ends up a string.
            let stringify = matches!(
                spec.path.as_ref(),
                "metadata/labels" | "metadata/annotations"
            );
            visit(&mut r.obj, spec, Create::Never, &mut |node| {
                substitute_node(node, &values)?;
                if stringify && let Value::Object(m) = node {
                    for v in m.values_mut() {
                        if let Value::Number(_) | Value::Bool(_) = v {
                            *v = Value::String(format_value(v));
                        }
                    }
                }
                Ok(())
            })
            .map_err(|e| format!("var substitution in {} ({}): {e}", r.cur_id(), spec.path))?;
        }
    }
    Ok(())
}

/// Only strings, numbers and booleans substitute; other values leave `$(NAME)` in place.
fn primitive(v: &Value) -> Option<Value> {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(v.clone()),
        // kustomize reads a null-tagged scalar as its text.
        Value::Null => Some(Value::String("null".into())),
        _ => None,
    }
}

/// Read a var's field: a dotted path, `name[0]` indexes, `[k=v]` element matches.
fn field_value<'a>(obj: &'a crate::manifest::Object, path: &str) -> Option<&'a Value> {
    let mut parts: Vec<String> = Vec::new();
    for p in crate::kustomize::replacements::split_path(path) {
        match split_slice_index(&p) {
            Some((name, idx)) => {
                if !name.is_empty() {
                    parts.push(name.to_string());
                }
                parts.push(idx.to_string());
            }
            None => parts.push(p),
        }
    }
    let parts: Vec<&str> = parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    let mut cur: Option<&Value> = None;
    for p in parts {
        let next = match cur {
            None => obj.get(p),
            Some(Value::Object(m)) => m.get(p),
            Some(Value::Array(a)) => {
                if let Ok(i) = p.parse::<usize>() {
                    a.get(i)
                } else if p == "-" {
                    a.last()
                } else if p.len() >= 2 && p.starts_with('[') && p.ends_with(']') {
                    let inner = &p[1..p.len() - 1];
                    let (k, want) = inner.split_once('=')?;
                    a.iter().find(|e| {
                        let v = if k.is_empty() {
                            Some(*e)
                        } else {
                            e.as_object().and_then(|m| m.get(k))
                        };
                        v.and_then(text).as_deref() == Some(want)
                    })
                } else {
                    None
                }
            }
            _ => None,
        };
        cur = Some(next?);
    }
    cur
}

/// `name[3]` → (`name`, 3).
fn split_slice_index(p: &str) -> Option<(&str, usize)> {
    let body = p.strip_suffix(']')?;
    let open = body.rfind('[')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((&body[..open], digits.parse().ok()?))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// How a value is written inside a string (`%v`).
fn format_value(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        other => text(other).unwrap_or_default(),
    }
}

/// A whole-value float is written without a fractional part when it has none.
fn typed(v: &Value) -> Value {
    if let Value::Number(n) = v
        && n.is_f64()
        && let Some(f) = n.as_f64()
        && f.fract() == 0.0
        && f.abs() < 9.0e15
    {
        #[allow(clippy::cast_possible_truncation)]
        return Value::Number(Number::from(f as i64));
    }
    v.clone()
}

/// Expand `$(NAME)` in one string. A string that is exactly one known reference becomes the
/// var's value with its type; `$$` reads as `$`; unknown references are kept.
pub fn expand(input: &str, values: &BTreeMap<String, Option<Value>>) -> Value {
    let b = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.extend_from_slice(&b[checkpoint..cursor]);
            let rest = &b[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().skip(1).position(|&c| c == b')') {
                    Some(p) => {
                        let close = p + 1;
                        let name = String::from_utf8_lossy(&rest[1..close]);
                        let value = values.get(name.as_ref()).and_then(|v| v.as_ref());
                        let whole = cursor == 0 && close + 2 == b.len();
                        match value {
                            Some(v) if whole => return typed(v),
                            Some(v) => out.extend_from_slice(format_value(v).as_bytes()),
                            None if whole => return Value::String(input.to_string()),
                            None => out.extend_from_slice(&b[cursor..cursor + close + 2]),
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                c => {
                    out.push(b'$');
                    out.push(c);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < b.len() {
        out.extend_from_slice(&b[checkpoint..]);
    }
    Value::String(String::from_utf8_lossy(&out).into_owned())
}

fn substitute_node(
    node: &mut Value,
    values: &BTreeMap<String, Option<Value>>,
) -> Result<(), String> {
    match node {
        Value::String(s) => {
            *node = expand(s, values);
            Ok(())
        }
        Value::Object(m) => {
            for v in m.values_mut() {
                if let Value::String(s) = v {
                    *v = expand(s, values);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                let Value::String(s) = item else {
                    return Err("invalid value type expect a string".into());
                };
                *item = expand(s, values);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Origin;
    use serde_json::json;

    fn res(v: Value) -> Resource {
        Resource::new(
            v.as_object().cloned().unwrap_or_default(),
            Origin::default(),
        )
    }

    fn var(v: Value) -> Var {
        serde_json::from_value(v).unwrap()
    }

    fn vals(pairs: &[(&str, Value)]) -> BTreeMap<String, Option<Value>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), primitive(v)))
            .collect()
    }

    #[test]
    fn expands_like_kustomize() {
        let m = vals(&[("A", json!("x")), ("N", json!(80)), ("M", json!({"a": 1}))]);
        assert_eq!(expand("$(A)", &m), json!("x"));
        assert_eq!(expand("$(N)", &m), json!(80));
        assert_eq!(expand("p-$(N)-$(A)", &m), json!("p-80-x"));
        assert_eq!(expand("$(B)", &m), json!("$(B)"));
        assert_eq!(expand("a $(B) b", &m), json!("a $(B) b"));
        assert_eq!(expand("$$(A)", &m), json!("$(A)"));
        assert_eq!(expand("$x $", &m), json!("$x $"));
        assert_eq!(expand("$(A", &m), json!("$(A"));
        assert_eq!(expand("$(M)", &m), json!("$(M)"));
        assert_eq!(expand("é$(A)é", &m), json!("éxé"));
    }

    fn build() -> Vec<Resource> {
        vec![
            res(
                json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"},
                "spec":{"ports":[{"port":80}]}}),
            ),
            res(
                json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dep"},
                "spec":{"template":{"spec":{"containers":[{"name":"a",
                    "args":["--svc=$(SVC)","$(PORT)","$(NOPE)"],
                    "env":[{"name":"P","value":"$(PORT)"}]}]}}}}),
            ),
        ]
    }

    #[test]
    fn resolves_vars() {
        let mut rs = build();
        let vars = vec![
            var(json!({"name":"SVC","objref":{"apiVersion":"v1","kind":"Service","name":"svc"}})),
            var(
                json!({"name":"PORT","objref":{"apiVersion":"v1","kind":"Service","name":"svc"},
                "fieldref":{"fieldPath":"spec.ports[0].port"}}),
            ),
        ];
        resolve(&mut rs, &vars, &[]).unwrap();
        let c = &rs[1].obj["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["args"], json!(["--svc=svc", 80, "$(NOPE)"]));
        assert_eq!(c["env"][0]["value"], json!(80));
    }

    #[test]
    fn previous_names_match_and_errors() {
        let mut rs = build();
        let id = rs[0].cur_id();
        rs[0].previous.push(id);
        rs[0].set_name("p-svc");
        let v =
            var(json!({"name":"SVC","objref":{"apiVersion":"v1","kind":"Service","name":"svc"}}));
        resolve(&mut rs, std::slice::from_ref(&v), &[]).unwrap();
        assert_eq!(
            rs[1].obj["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--svc=p-svc"
        );
        // Missing object, missing field, duplicates, ambiguity.
        let e = resolve(
            &mut build(),
            &[var(
                json!({"name":"X","objref":{"kind":"Service","name":"svc"}}),
            )],
            &[],
        );
        assert!(e.unwrap_err().contains("cannot be mapped"));
        let e = resolve(
            &mut build(),
            &[var(
                json!({"name":"X","objref":{"apiVersion":"v1","kind":"Service","name":"svc"},
                "fieldref":{"fieldPath":"spec.nope"}}),
            )],
            &[],
        );
        assert!(
            e.unwrap_err()
                .contains("not found in corresponding resource")
        );
        let e = resolve(&mut build(), &[v.clone(), v.clone()], &[]);
        assert_eq!(e.unwrap_err(), "var 'SVC' already encountered");
        let mut two = build();
        two.push(res(
            json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"svc","namespace":"o"}}),
        ));
        let e = resolve(&mut two, std::slice::from_ref(&v), &[]);
        assert!(e.unwrap_err().starts_with("found 2 resId matches"));
    }

    #[test]
    fn extra_specs_and_non_string_lists() {
        let mut rs = build();
        rs.push(res(
            json!({"apiVersion":"x/v1","kind":"Thing","metadata":{"name":"t"},
            "spec":{"host":"$(SVC)","list":["$(SVC)", 1]}}),
        ));
        let v =
            var(json!({"name":"SVC","objref":{"apiVersion":"v1","kind":"Service","name":"svc"}}));
        resolve(
            &mut rs,
            std::slice::from_ref(&v),
            &[FieldSpec::of("x", "Thing", "spec/host", false)],
        )
        .unwrap();
        assert_eq!(rs[2].obj["spec"]["host"], "svc");
        let e = resolve(
            &mut rs,
            std::slice::from_ref(&v),
            &[FieldSpec::of("x", "Thing", "spec/list", false)],
        );
        assert!(e.unwrap_err().contains("expect a string"));
    }

    /// Differential cases generated by `testdata/vars/gen.py` with `kubectl kustomize`.
    #[test]
    fn kustomize_cases() {
        crate::kustomize::replacements::difftest::run_dir("vars", |rs, case| {
            let vars: Vec<Var> =
                serde_json::from_value(case["vars"].clone()).map_err(|e| e.to_string())?;
            let extra: Vec<FieldSpec> =
                serde_json::from_value(case["varReference"].clone()).unwrap_or_default();
            let mut known = Vec::new();
            merge_vars(rs, &vars, &mut known)?;
            resolve(rs, &vars, &extra)
        });
    }
}
