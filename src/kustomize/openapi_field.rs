//! The `openapi:` field: which schema strategic-merge patches consult.
//!
//! In kustomize the schema is process-wide state, and kubectl's observable
//! behaviour follows from how that state evolves during one build:
//!
//! * The top kustomization always sets it: `openapi: {path: f}` installs the
//!   document in `f` as the *only* schema (the built-in Kubernetes one is not
//!   consulted, so e.g. a Deployment's containers are no longer merged by
//!   name), `{version: v1.21.2}` selects the built-in one, nothing leaves it
//!   unset. Both together, or another version, are errors.
//! * A kustomization reached through `resources:`/`components:` applies its
//!   own `openapi:` only while nothing has set it yet (first one wins, in
//!   traversal order), and then only for work done after that point. Its file
//!   is read (and must exist) even when it is ignored.
//! * When such a late custom schema arrives after the built-in schema has
//!   already been touched, both stay in effect (custom kinds first). Kustomize
//!   touches the built-in schema when it applies a strategic-merge patch, or
//!   when it meets an object whose kind is not in its precomputed scope table
//!   (typically a custom resource).
//! * A custom document that does not parse fails the build only when it is
//!   first needed (kubectl panics there).

use super::openapi::{Schema, Schemas};
use super::{Error, Result};
use crate::yaml::{self, Limits};
use std::collections::BTreeMap;

/// The only built-in Kubernetes schema version kustomize v5.5.0 embeds.
const BUILTIN_VERSION: &str = "v1.21.2";

/// The schema state of one build.
#[derive(Debug, Default)]
pub struct OpenApiState {
    /// Something (a version or a custom document) has been chosen.
    set: bool,
    /// The custom document, or why it does not parse (and the file it came from).
    custom: Option<std::result::Result<Schema, String>>,
    /// Keep the built-in schema next to the custom one.
    with_builtin: bool,
    /// kustomize has touched (or scheduled) the built-in schema.
    touched: bool,
}

impl OpenApiState {
    /// Apply one kustomization's `openapi:` field. `file` is the content of
    /// its `path` (already read, `shown` names it in messages); `top` is true
    /// for the kustomization being built.
    pub fn apply(
        &mut self,
        field: Option<&BTreeMap<String, String>>,
        file: Option<(&[u8], String)>,
        top: bool,
        limits: &Limits,
    ) -> std::result::Result<(), String> {
        if self.set && !top {
            return Ok(());
        }
        let version = field.and_then(|f| f.get("version"));
        if let Some((bytes, shown)) = file {
            if version.is_some() {
                return Err(
                    "openapi: builtin version and custom schema provided, cannot use both".into(),
                );
            }
            self.custom = Some(
                parse_document(bytes, limits)
                    .map_err(|e| format!("openapi: path: {shown}: invalid schema file: {e}")),
            );
            self.set = true;
            self.with_builtin = !top && self.touched;
            return Ok(());
        }
        match version.map(String::as_str) {
            None | Some("") => {
                // Nothing chosen: kustomize leaves the state as it was.
            }
            Some(BUILTIN_VERSION) => {
                self.custom = None;
                self.set = true;
            }
            Some(v) => {
                return Err(format!(
                    "openapi: version '{v}': the specified OpenAPI version is not built in (only {BUILTIN_VERSION} is)"
                ));
            }
        }
        Ok(())
    }

    /// Note an object of this type being read (kustomize computes its scope).
    pub fn note_kind(&mut self, api_version: &str, kind: &str) -> Result<()> {
        if super::resource::precomputed_scope(api_version, kind).is_some() {
            return Ok(());
        }
        match &self.custom {
            None => {
                self.touched = true;
                Ok(())
            }
            Some(Err(e)) => Err(Error::new(e.clone())),
            Some(Ok(_)) => Ok(()),
        }
    }

    /// The schema sources a strategic-merge patch uses now, in lookup order.
    pub fn sources(&mut self) -> Result<Vec<&Schema>> {
        match &self.custom {
            None => {
                self.touched = true;
                Ok(vec![Schema::builtin()])
            }
            Some(Err(e)) => Err(Error::new(e.clone())),
            Some(Ok(s)) => Ok(if self.with_builtin {
                vec![s, Schema::builtin()]
            } else {
                vec![s]
            }),
        }
    }
}

/// Convenience for callers holding sources.
pub fn schemas<'a>(sources: &'a [&'a Schema]) -> Schemas<'a> {
    Schemas::new(sources)
}

fn parse_document(bytes: &[u8], limits: &Limits) -> std::result::Result<Schema, String> {
    let value = match bytes.first() {
        None => return Err("the file is empty".into()),
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?,
        Some(_) => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8 text".to_string())?;
            let docs = yaml::parse_stream(text, limits).map_err(|e| e.to_string())?;
            docs.into_iter()
                .next()
                .map(|d| d.value)
                .unwrap_or(serde_json::Value::Null)
        }
    };
    Schema::from_openapi_document(&value)
}
