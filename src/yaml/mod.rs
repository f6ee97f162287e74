//! YAML in and out, the way kubectl kustomize reads and prints it.
//!
//! Reading: a multi-document stream becomes `serde_json::Value`s (mapping order kept) with the
//! line each document starts on, within hard limits (size, depth, documents, alias expansion).
//! Writing: one object as `kubectl kustomize` prints it (keys sorted, go-yaml style quoting).
//!
//! Reading follows go-yaml v3 (kyaml's parser); writing follows go-yaml v2 fed with JSON (kubectl's
//! printer). Known differences from kubectl are listed on [`parse_stream`] and [`to_yaml`].

mod read;
mod resolve;
mod write;

use serde_json::Value;

/// Bounds on the work one stream may cause.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_documents: usize,
    /// Total nodes built, counting every alias expansion.
    pub max_nodes: usize,
    /// Accept a repeated mapping key, the last one winning (how kubectl reads kustomization
    /// files); otherwise a repeated key is an error (how it reads resources).
    pub allow_duplicate_keys: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 32 << 20,
            max_depth: 256,
            max_documents: 100_000,
            max_nodes: 5_000_000,
            allow_duplicate_keys: false,
        }
    }
}

/// One document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// Where the document has a mapping value left empty (`key:` with nothing after it).
    /// It reads as null like `key: null`, but kustomize drops such fields when it merges a
    /// patch into the object, and keeps explicit nulls.
    pub empty_values: Vec<Vec<crate::manifest::Seg>>,
    /// Lines of the document's fields, when read with [`parse_stream_with_lines`] (else empty).
    pub lines: LineIndex,
}

/// The 1-based line of each mapping key and sequence item of a document, by path from the
/// document root (the root itself maps to the document's first line). Values brought in by
/// `<<` merge keys or aliases have no entry of their own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineIndex(pub(crate) std::collections::HashMap<Vec<crate::manifest::Seg>, usize>);

impl LineIndex {
    /// The line of exactly this path, if the document spells it out.
    pub fn line_of(&self, path: &[crate::manifest::Seg]) -> Option<usize> {
        self.0.get(path).copied()
    }

    /// The line of the path, or of its deepest ancestor the document spells out, with the
    /// length of the path prefix that was found.
    pub fn nearest(&self, path: &[crate::manifest::Seg]) -> Option<(usize, usize)> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.0.get(&path[..n]).map(|&line| (line, n)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum YamlError {
    #[error("line {line}, column {col}: {msg}")]
    Syntax {
        line: usize,
        col: usize,
        msg: String,
    },
    #[error("{what} exceeds the limit of {limit}")]
    Limit { what: &'static str, limit: usize },
}

/// Parse a stream of documents. Empty documents are dropped.
///
/// Scalars get go-yaml v3's meaning (as kyaml decodes them): `yes`/`on` stay strings, `0755` is
/// octal, `1_000` is 1000, timestamps become the RFC 3339 strings kubectl would print. Keys are
/// always the key's text. Where kubectl would fail on output (non-finite floats, duplicate keys)
/// this fails while reading. Unlike kubectl, nested maps with non-string keys are accepted (their
/// keys become text) and complex (collection) keys are rejected.
pub fn parse_stream(src: &str, limits: &Limits) -> Result<Vec<Document>, YamlError> {
    read::parse_stream(src, limits, false)
}

/// [`parse_stream`], also recording the line of every field ([`Document::lines`]): for
/// findings and errors that point at the offending line.
pub fn parse_stream_with_lines(src: &str, limits: &Limits) -> Result<Vec<Document>, YamlError> {
    read::parse_stream(src, limits, true)
}

/// One object as `kubectl kustomize` prints it (same as [`to_yaml`] of the object, without
/// copying it into a `Value`).
pub fn object_to_yaml(map: &serde_json::Map<String, Value>) -> String {
    write::object_to_yaml(map)
}

/// One value as `kubectl kustomize` prints it, ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    write::to_yaml(value)
}

/// Several documents as `kubectl kustomize` prints them: separated by `---` lines.
pub fn to_yaml_stream(docs: &[&Value]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(doc));
    }
    out
}

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod tests;
