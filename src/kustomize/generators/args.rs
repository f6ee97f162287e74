//! The `configMapGenerator` / `secretGenerator` / `generatorOptions` fields of a kustomization,
//! decoded the way kustomize decodes them (Go `encoding/json` with unknown fields disallowed):
//!
//! * field names match exactly or, failing that, case-insensitively (`Name:` sets `name`);
//!   when a field is given more than once, the last one wins;
//! * `null` leaves a field at its zero value (`""`, empty list, absent options), and a `null`
//!   inside a list or a string map becomes `""`;
//! * any other type mismatch (a number where a string is expected, ...) is an error.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorArgs {
    /// The generated object's name (before prefixes, suffixes and the hash).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `create` (or empty), `merge` or `replace`; anything else acts like `create`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub behavior: String,
    /// `key=value` pairs (surrounding matching quotes are removed from the value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<String>,
    /// `[key=]path`: the file's content under `key` (default: the path's base name).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Env files: one `KEY=value` per line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub envs: Vec<String>,
    /// The older, singular form of `envs` (read after them).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub env: String,
    /// Local options; the kustomization's `generatorOptions` are merged into them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<GeneratorOptions>,
    /// The Secret `type` (default `Opaque`). `Some` whenever the field was present, even as
    /// `null`: a `configMapGenerator` entry with a `type` field is rejected by [`super::generate`]
    /// (kustomize's ConfigMap arguments have no such field).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// `generatorOptions`, or an entry's `options`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorOptions {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_name_suffix_hash: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
}

impl GeneratorOptions {
    /// kustomize's merge of the global `generatorOptions` into an entry's `options`: labels and
    /// annotations are united (the local value wins on a shared key); `disableNameSuffixHash` and
    /// `immutable` are set when either side sets them.
    pub fn merged(
        local: Option<&GeneratorOptions>,
        global: Option<&GeneratorOptions>,
    ) -> Option<Self> {
        let Some(global) = global else {
            return local.cloned();
        };
        let mut out = local.cloned().unwrap_or_default();
        for (k, v) in &global.labels {
            out.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &global.annotations {
            out.annotations
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        out.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        out.immutable |= global.immutable;
        Some(out)
    }
}

/// Go's case folding for matching JSON keys to field names (field names are ASCII; the Kelvin
/// sign and the long s fold onto `k` and `s`).
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{212A}' => 'k',
            '\u{017F}' => 's',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Find which of `fields` a JSON key sets: exact match first, then case-insensitive.
fn match_field(key: &str, fields: &[&'static str]) -> Option<&'static str> {
    if let Some(f) = fields.iter().find(|f| **f == key) {
        return Some(f);
    }
    let k = fold(key);
    fields.iter().find(|f| fold(f) == k).copied()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn string_of<E: de::Error>(field: &str, v: Value) -> Result<String, E> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        other => Err(E::custom(format!(
            "field `{field}`: expected a string, found {}",
            type_name(&other)
        ))),
    }
}

fn bool_of<E: de::Error>(field: &str, v: Value) -> Result<bool, E> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        other => Err(E::custom(format!(
            "field `{field}`: expected a boolean, found {}",
            type_name(&other)
        ))),
    }
}

fn strings_of<E: de::Error>(field: &str, v: Value) -> Result<Vec<String>, E> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.into_iter().map(|i| string_of(field, i)).collect(),
        other => Err(E::custom(format!(
            "field `{field}`: expected a list of strings, found {}",
            type_name(&other)
        ))),
    }
}

fn string_map_of<E: de::Error>(field: &str, v: Value) -> Result<BTreeMap<String, String>, E> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| Ok((k, string_of(field, v)?)))
            .collect(),
        other => Err(E::custom(format!(
            "field `{field}`: expected a map of strings, found {}",
            type_name(&other)
        ))),
    }
}

fn object_of<E: de::Error>(
    what: &str,
    v: Value,
) -> Result<Option<serde_json::Map<String, Value>>, E> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        other => Err(E::custom(format!(
            "{what}: expected an object, found {}",
            type_name(&other)
        ))),
    }
}

impl GeneratorOptions {
    /// Decode `m` onto `o` (fields absent from `m` keep their value, as Go does).
    fn apply_map<E: de::Error>(o: &mut Self, m: serde_json::Map<String, Value>) -> Result<(), E> {
        const FIELDS: &[&str] = &[
            "labels",
            "annotations",
            "disableNameSuffixHash",
            "immutable",
        ];
        for (k, v) in m {
            match match_field(&k, FIELDS) {
                Some("labels") => merge_map(&mut o.labels, string_map_of(&k, v)?),
                Some("annotations") => merge_map(&mut o.annotations, string_map_of(&k, v)?),
                Some("disableNameSuffixHash") => {
                    if !v.is_null() {
                        o.disable_name_suffix_hash = bool_of(&k, v)?;
                    }
                }
                Some("immutable") => {
                    if !v.is_null() {
                        o.immutable = bool_of(&k, v)?;
                    }
                }
                _ => {
                    return Err(E::custom(format!(
                        "unknown field `{k}` in generator options"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Go decodes a JSON object into an existing map by adding entries.
fn merge_map(into: &mut BTreeMap<String, String>, from: BTreeMap<String, String>) {
    into.extend(from);
}

impl<'de> Deserialize<'de> for GeneratorOptions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let m = object_of::<D::Error>("generator options", v)?.unwrap_or_default();
        let mut o = GeneratorOptions::default();
        GeneratorOptions::apply_map(&mut o, m)?;
        Ok(o)
    }
}

impl GeneratorArgs {
    fn from_map<E: de::Error>(m: serde_json::Map<String, Value>) -> Result<Self, E> {
        const FIELDS: &[&str] = &[
            "name",
            "namespace",
            "behavior",
            "literals",
            "files",
            "envs",
            "env",
            "options",
            "type",
        ];
        let mut a = GeneratorArgs::default();
        for (k, v) in m {
            let null = v.is_null();
            match match_field(&k, FIELDS) {
                Some("name") if !null => a.name = string_of(&k, v)?,
                Some("namespace") if !null => a.namespace = string_of(&k, v)?,
                Some("behavior") if !null => a.behavior = string_of(&k, v)?,
                Some("literals") if !null => a.literals = strings_of(&k, v)?,
                Some("files") if !null => a.files = strings_of(&k, v)?,
                Some("envs") if !null => a.envs = strings_of(&k, v)?,
                Some("env") if !null => a.env = string_of(&k, v)?,
                Some("options") => {
                    if let Some(m) = object_of::<E>("field `options`", v)? {
                        // Go decodes into the existing options when the field repeats.
                        let o = a.options.get_or_insert_with(Default::default);
                        GeneratorOptions::apply_map::<E>(o, m)?;
                    }
                }
                Some("type") => {
                    let t = string_of(&k, v)?;
                    if !null || a.type_.is_none() {
                        a.type_ = Some(t);
                    }
                }
                Some(_) => {}
                None => {
                    return Err(E::custom(format!(
                        "unknown field `{k}` in generator arguments"
                    )));
                }
            }
        }
        Ok(a)
    }
}

impl<'de> Deserialize<'de> for GeneratorArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let m = object_of::<D::Error>("generator arguments", v)?.unwrap_or_default();
        GeneratorArgs::from_map(m)
    }
}
