//! The kustomization file: its fields, read strictly (an unknown field is an error, as in kubectl).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The file names kustomize recognises, in its order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub openapi: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub name_prefix: String,
    #[serde(default)]
    pub name_suffix: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub common_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub common_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default)]
    pub patches_json6902: Vec<Patch>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub image_tags: Vec<Image>,
    /// Inline replacements or `path:` entries; read by [`super::replacements`].
    #[serde(default)]
    pub replacements: Vec<Value>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    /// Read by [`super::vars`].
    #[serde(default)]
    pub vars: Vec<Value>,
    #[serde(default)]
    pub sort_options: Option<SortOptions>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub crds: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    /// Read by [`super::generators`].
    #[serde(default)]
    pub config_map_generator: Vec<Value>,
    #[serde(default)]
    pub secret_generator: Vec<Value>,
    #[serde(default)]
    pub helm_globals: Option<Value>,
    #[serde(default)]
    pub helm_charts: Vec<Value>,
    #[serde(default)]
    pub helm_chart_inflation_generator: Vec<Value>,
    #[serde(default)]
    pub generator_options: Option<Value>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Label {
    #[serde(default)]
    pub pairs: BTreeMap<String, String>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<super::fieldspec::FieldSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub patch: String,
    /// A selector; read by [`super::selector`].
    #[serde(default)]
    pub target: Option<Value>,
    #[serde(default)]
    pub options: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub new_name: String,
    #[serde(default)]
    pub tag_suffix: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub new_tag: String,
    #[serde(default)]
    pub digest: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Replica {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub count: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SortOptions {
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub legacy_sort_options: Option<LegacySortOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// kustomize reads the kustomization through YAML→JSON, so `newTag: 1.2` is the string "1.2".
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a string, found {other}"
            )));
        }
    })
}

/// Every field name of the kustomization schema, nested types included.
const FIELD_NAMES: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
    // labels, field specs, patches, selectors
    "pairs",
    "includeSelectors",
    "includeTemplates",
    "fields",
    "group",
    "version",
    "path",
    "create",
    "patch",
    "target",
    "options",
    "name",
    "labelSelector",
    "annotationSelector",
    // images, replicas, sort options
    "newName",
    "tagSuffix",
    "newTag",
    "digest",
    "count",
    "order",
    "legacySortOptions",
    "orderFirst",
    "orderLast",
    // generators
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "type",
    "annotations",
    "disableNameSuffixHash",
    "immutable",
    // vars and replacements
    "objref",
    "fieldref",
    "fieldPath",
    "source",
    "targets",
    "select",
    "reject",
    "fieldPaths",
    "delimiter",
    "index",
    "encoding",
];

/// Maps whose keys are the user's own (label keys, option names): never renamed.
const OPAQUE_MAPS: &[&str] = &[
    "commonLabels",
    "commonAnnotations",
    "pairs",
    "labels",
    "annotations",
    "openapi",
];

/// kubectl decodes the kustomization with Go's JSON rules, which match field names without
/// regard to case (`fieldpath` is `fieldPath`); rename such keys to their canonical spelling.
fn normalize_keys(v: Value, opaque: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, val) in m {
                let key = if opaque {
                    k
                } else {
                    FIELD_NAMES
                        .iter()
                        .find(|f| f.eq_ignore_ascii_case(&k))
                        .map(|f| f.to_string())
                        .unwrap_or(k)
                };
                // Go leaves a field at its zero value when the document says null.
                if val.is_null() && !opaque {
                    continue;
                }
                let child_opaque =
                    opaque || (OPAQUE_MAPS.contains(&key.as_str()) && val.is_object());
                out.insert(key, normalize_keys(val, child_opaque));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|x| normalize_keys(x, opaque))
                .collect(),
        ),
        other => other,
    }
}

impl Kustomization {
    /// Parse and check a kustomization document, applying kustomize's legacy-field fixes.
    pub fn from_value(v: Value) -> Result<Kustomization, String> {
        if v.is_null() {
            return Err("kustomization.yaml is empty".into());
        }
        if !v.is_object() {
            return Err("invalid Kustomization: the document is not a mapping".into());
        }
        let v = normalize_keys(v, false);
        if v.as_object()
            .is_some_and(|m| m.keys().all(|k| k == "apiVersion" || k == "kind"))
        {
            return Err("kustomization.yaml is empty".into());
        }
        let mut k: Kustomization =
            serde_json::from_value(v).map_err(|e| format!("invalid Kustomization: {e}"))?;
        if k.kind.is_empty() {
            k.kind = "Kustomization".into();
        }
        let required = if k.kind == "Component" {
            "kustomize.config.k8s.io/v1alpha1"
        } else {
            "kustomize.config.k8s.io/v1beta1"
        };
        if k.api_version.is_empty() {
            k.api_version = required.into();
        }
        let mut errs = Vec::new();
        if k.kind != "Kustomization" && k.kind != "Component" {
            errs.push("kind should be Kustomization or Component".to_string());
        }
        if k.api_version != required {
            errs.push(format!("apiVersion for {} should be {}", k.kind, required));
        }
        if !errs.is_empty() {
            return Err(errs.join("\n"));
        }
        let bases = std::mem::take(&mut k.bases);
        k.resources.extend(bases);
        let tags = std::mem::take(&mut k.image_tags);
        k.images.extend(tags);
        Ok(k)
    }

    pub fn is_component(&self) -> bool {
        self.kind == "Component"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_errors() {
        let e = Kustomization::from_value(json!({"resourcez": ["a.yaml"]})).unwrap_err();
        assert!(e.contains("resourcez"), "{e}");
    }

    #[test]
    fn legacy_fields_fold_in() {
        let k = Kustomization::from_value(
            json!({"resources": ["a"], "bases": ["b"], "images": [{"name":"x","newTag": 1.5}]}),
        )
        .unwrap();
        assert_eq!(k.resources, vec!["a", "b"]);
        assert_eq!(k.images[0].new_tag, "1.5");
        assert_eq!(k.kind, "Kustomization");
    }

    #[test]
    fn field_names_match_without_case_but_label_keys_keep_theirs() {
        let k = Kustomization::from_value(json!({"Resources": ["a"], "commonLabels": {"Name": "x"},
            "vars": [{"name": "V", "objref": {"kind": "Service", "name": "s", "apiVersion": "v1"}, "fieldref": {"fieldpath": "spec.x"}}]})).unwrap();
        assert_eq!(k.resources, vec!["a"]);
        assert_eq!(
            k.common_labels.unwrap().get("Name").map(|s| s.as_str()),
            Some("x")
        );
        assert_eq!(k.vars[0]["fieldref"]["fieldPath"], "spec.x");
    }

    #[test]
    fn null_fields_are_absent_and_a_kind_alone_is_empty() {
        let k = Kustomization::from_value(
            json!({"resources": null, "components": null, "namespace": null, "images": []}),
        )
        .unwrap();
        assert!(k.resources.is_empty() && k.namespace.is_empty());
        let e = Kustomization::from_value(
            json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}),
        )
        .unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn wrong_api_version_is_an_error() {
        let e =
            Kustomization::from_value(json!({"apiVersion": "v1", "resources": []})).unwrap_err();
        assert!(e.contains("apiVersion"));
    }
}
