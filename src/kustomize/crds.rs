//! The `crds:` field: transformer configuration derived from OpenAPI type
//! definitions, the way kustomize v5.5.0 reads them.
//!
//! A `crds:` file is not a CustomResourceDefinition manifest: it is a mapping
//! from type names to `{Schema: <OpenAPI schema>, Dependencies: [...]}` (the
//! shape of generated Go OpenAPI definitions), as JSON when its first byte is
//! `{`, else as YAML. A CRD manifest therefore fails to load, as in kubectl.
//!
//! Every definition whose properties include `kind`, `apiVersion` and
//! `metadata` is a resource type; its kind is the last `.`-separated part of
//! its name (group and version are left empty, so the specs select the kind in
//! any group). Its properties are walked, following `$ref`s (looked up as
//! definition names, verbatim), and a property carrying
//!
//! * `x-kubernetes-object-ref-api-version` and `x-kubernetes-object-ref-kind`
//!   becomes a name reference to that version/kind at `<path>/<name key>`
//!   (`x-kubernetes-object-ref-name-key`, default `name`),
//! * `x-kubernetes-annotation` a `commonAnnotations` field spec,
//! * `x-kubernetes-label-selector` a `commonLabels` field spec,
//! * `x-kubernetes-identity` a `namePrefix` field spec (suffixes are not
//!   derived: kustomize only adds a prefix spec).
//!
//! Extension keys are matched exactly (lower case) and their values must be
//! strings. None of these specs create missing fields. The schemas are not
//! used for strategic-merge patching.

use super::config::{NameBackRef, TransformerConfig};
use super::fieldspec::FieldSpec;
use crate::manifest::Gvk;
use crate::yaml::{self, Limits};
use serde_json::{Map, Value};

const X_ANNOTATION: &str = "x-kubernetes-annotation";
const X_LABEL_SELECTOR: &str = "x-kubernetes-label-selector";
const X_IDENTITY: &str = "x-kubernetes-identity";
const X_VERSION: &str = "x-kubernetes-object-ref-api-version";
const X_KIND: &str = "x-kubernetes-object-ref-kind";
const X_NAME_KEY: &str = "x-kubernetes-object-ref-name-key";
/// Deepest chain of `$ref`s followed.
const MAX_DEPTH: usize = 100;

/// The transformer configuration one `crds:` file contributes.
pub fn config_from_file(content: &[u8], limits: &Limits) -> Result<TransformerConfig, String> {
    let doc = parse(content, limits)?;
    let defs = definitions(&doc)?;
    let mut out = TransformerConfig::default();
    for (name, schema) in &defs {
        if !looks_like_resource(schema) {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name);
        let gvk = Gvk {
            kind: kind.to_string(),
            ..Default::default()
        };
        let mut cfg = TransformerConfig::default();
        let mut stack = vec![name.as_str()];
        walk(&defs, &gvk, schema, &mut Vec::new(), &mut stack, &mut cfg)?;
        out.merge(&cfg);
    }
    Ok(out)
}

fn parse(content: &[u8], limits: &Limits) -> Result<Value, String> {
    let Some(&first) = content.first() else {
        return Err("the file is empty".into());
    };
    if first == b'{' {
        return serde_json::from_slice(content).map_err(|e| format!("invalid JSON: {e}"));
    }
    let text = std::str::from_utf8(content).map_err(|_| "not valid UTF-8 text".to_string())?;
    let docs = yaml::parse_stream(text, limits).map_err(|e| e.to_string())?;
    Ok(docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null))
}

/// Definition name → its schema (the `Schema` member, matched case-insensitively
/// like Go's JSON decoding; the last spelling wins).
/// Definitions in file order: (type name, schema).
type Definitions = Vec<(String, Map<String, Value>)>;

fn definitions(doc: &Value) -> Result<Definitions, String> {
    let m = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Object(m) => m,
        other => {
            return Err(format!(
                "expected a mapping of type names to definitions, found {}",
                describe(other)
            ));
        }
    };
    let mut out = Vec::new();
    for (name, def) in m {
        let def = match def {
            Value::Null => {
                out.push((name.clone(), Map::new()));
                continue;
            }
            Value::Object(d) => d,
            other => {
                return Err(format!(
                    "{name}: expected a definition (a mapping with 'Schema'), found {}",
                    describe(other)
                ));
            }
        };
        let schema = def
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("schema"))
            .map(|(_, v)| v)
            .next_back();
        let schema = match schema {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(s)) => s.clone(),
            Some(other) => {
                return Err(format!(
                    "{name}: Schema: expected a mapping, found {}",
                    describe(other)
                ));
            }
        };
        if let Some(p) = schema.get("properties")
            && !p.is_object()
            && !p.is_null()
        {
            return Err(format!(
                "{name}: Schema: properties: expected a mapping, found {}",
                describe(p)
            ));
        }
        out.push((name.clone(), schema));
    }
    Ok(out)
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn properties(schema: &Map<String, Value>) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn looks_like_resource(schema: &Map<String, Value>) -> bool {
    properties(schema).is_some_and(|p| {
        p.contains_key("kind") && p.contains_key("apiVersion") && p.contains_key("metadata")
    })
}

fn ext<'a>(prop: &'a Value, key: &str) -> Option<&'a str> {
    prop.get(key).and_then(Value::as_str)
}

fn spec(gvk: &Gvk, path: &[&str]) -> FieldSpec {
    FieldSpec {
        group: gvk.group.clone().into(),
        version: gvk.version.clone().into(),
        kind: gvk.kind.clone().into(),
        path: path.join("/").into(),
        create: false,
    }
}

fn walk<'a>(
    defs: &'a [(String, Map<String, Value>)],
    gvk: &Gvk,
    schema: &'a Map<String, Value>,
    path: &mut Vec<&'a str>,
    stack: &mut Vec<&'a str>,
    cfg: &mut TransformerConfig,
) -> Result<(), String> {
    let Some(props) = properties(schema) else {
        return Ok(());
    };
    for (name, prop) in props {
        path.push(name.as_str());
        if ext(prop, X_ANNOTATION).is_some() {
            cfg.merge(&TransformerConfig {
                common_annotations: vec![spec(gvk, path)],
                ..Default::default()
            });
        }
        if ext(prop, X_LABEL_SELECTOR).is_some() {
            cfg.merge(&TransformerConfig {
                common_labels: vec![spec(gvk, path)],
                ..Default::default()
            });
        }
        if ext(prop, X_IDENTITY).is_some() {
            cfg.merge(&TransformerConfig {
                name_prefix: vec![spec(gvk, path)],
                ..Default::default()
            });
        }
        if let (Some(version), Some(kind)) = (ext(prop, X_VERSION), ext(prop, X_KIND)) {
            let key = ext(prop, X_NAME_KEY).unwrap_or("name");
            let mut p = path.clone();
            p.push(key);
            cfg.merge(&TransformerConfig {
                name_reference: vec![NameBackRef {
                    target: Gvk {
                        group: String::new(),
                        version: version.to_string(),
                        kind: kind.to_string(),
                    },
                    referrers: vec![spec(gvk, &p)],
                }],
                ..Default::default()
            });
        }
        if let Some(r) = prop.get("$ref").and_then(Value::as_str)
            && let Some((target, sub)) = defs.iter().find(|(n, _)| n == r)
        {
            if stack.contains(&target.as_str()) || stack.len() >= MAX_DEPTH {
                return Err(format!(
                    "the definitions refer to each other in a circle ({} → {target})",
                    stack.join(" → ")
                ));
            }
            stack.push(target.as_str());
            let r = walk(defs, gvk, sub, path, stack, cfg);
            stack.pop();
            r?;
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_specs() {
        let doc = br#"{
          "example.com/v1.Widget": {"Schema": {"properties": {
            "apiVersion": {}, "kind": {}, "metadata": {},
            "spec": {"$ref": "example.com/v1.WidgetSpec"}}}},
          "example.com/v1.WidgetSpec": {"schema": {"properties": {
            "secretRef": {"x-kubernetes-object-ref-api-version": "v1",
                          "x-kubernetes-object-ref-kind": "Secret"},
            "cm": {"x-kubernetes-object-ref-api-version": "v1",
                   "x-kubernetes-object-ref-kind": "ConfigMap",
                   "x-kubernetes-object-ref-name-key": "id"},
            "sel": {"x-kubernetes-label-selector": ""},
            "ann": {"x-kubernetes-annotation": ""},
            "id": {"x-kubernetes-identity": ""},
            "ignored": {"X-Kubernetes-Identity": "", "x-kubernetes-annotation": true}}}}
        }"#;
        let c = config_from_file(doc, &Limits::default()).expect("parses");
        let paths = |v: &[FieldSpec]| v.iter().map(|s| s.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&c.name_prefix), ["spec/id"]);
        assert_eq!(paths(&c.common_labels), ["spec/sel"]);
        assert_eq!(paths(&c.common_annotations), ["spec/ann"]);
        assert_eq!(c.name_reference.len(), 2);
        let secret = c
            .name_reference
            .iter()
            .find(|b| b.target.kind == "Secret")
            .expect("secret");
        assert_eq!(secret.target.version, "v1");
        assert_eq!(secret.referrers[0].path, "spec/secretRef/name");
        assert_eq!(secret.referrers[0].kind, "Widget");
        let cm = c
            .name_reference
            .iter()
            .find(|b| b.target.kind == "ConfigMap")
            .expect("cm");
        assert_eq!(cm.referrers[0].path, "spec/cm/id");
    }

    #[test]
    fn rejects_crd_manifests_and_cycles() {
        let crd = b"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        assert!(config_from_file(crd, &Limits::default()).is_err());
        assert!(config_from_file(b"", &Limits::default()).is_err());
        let cyc =
            br#"{"a.A": {"Schema": {"properties": {"apiVersion": {}, "kind": {}, "metadata": {},
            "x": {"$ref": "a.A"}}}}}"#;
        assert!(config_from_file(cyc, &Limits::default()).is_err());
    }
}
