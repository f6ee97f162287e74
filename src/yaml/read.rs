//! Building `serde_json::Value`s from `saphyr-parser` events.
//!
//! The meaning given to each scalar follows go-yaml v3 as kyaml uses it (see `resolve.rs`);
//! anchors are expanded (every expansion counts against `Limits::max_nodes`), `<<` merge keys
//! are applied, and duplicate keys are rejected as go-yaml v3 rejects them.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

use super::resolve::{Resolved, resolve_plain};
use super::{Document, Limits, LineIndex, YamlError};

const CORE_PREFIX: &str = "tag:yaml.org,2002:";

pub(crate) fn parse_stream(
    src: &str,
    limits: &Limits,
    track_lines: bool,
) -> Result<Vec<Document>, YamlError> {
    if src.len() > limits.max_bytes {
        return Err(YamlError::Limit {
            what: "input size in bytes",
            limit: limits.max_bytes,
        });
    }
    // The parser is not ours; never let a bug in it take the process down.
    match std::panic::catch_unwind(|| Builder::new(limits, track_lines).run(src)) {
        Ok(result) => result,
        Err(_) => Err(YamlError::Syntax {
            line: 0,
            col: 0,
            msg: "internal YAML parser failure".into(),
        }),
    }
}

/// A collection under construction.
enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        start_nodes: usize,
        height: usize,
    },
    Map {
        entries: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<Key>,
        /// Values of `<<` keys.
        merges: Option<Value>,
        anchor: usize,
        start_nodes: usize,
        height: usize,
    },
}

enum Key {
    Plain(String),
    Merge,
}

struct Anchored {
    value: Value,
    nodes: usize,
    height: usize,
}

struct Builder<'l> {
    /// Length in characters of a source that does not end in a line break (else None).
    unterminated_len: Option<usize>,
    empty_values: Vec<Vec<crate::manifest::Seg>>,
    limits: &'l Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    docs: Vec<Document>,
    doc_line: Option<usize>,
    doc_count: usize,
    /// Record the line of every mapping key and sequence item (see [`LineIndex`]).
    track: bool,
    lines: Vec<(Vec<crate::manifest::Seg>, usize)>,
}

fn syntax(span: &Span, msg: impl Into<String>) -> YamlError {
    YamlError::Syntax {
        line: span.start.line(),
        col: span.start.col() + 1,
        msg: msg.into(),
    }
}

fn scan_error(e: &ScanError) -> YamlError {
    YamlError::Syntax {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        msg: e.info().to_string(),
    }
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits, track: bool) -> Self {
        Builder {
            track,
            lines: Vec::new(),
            unterminated_len: None,
            empty_values: Vec::new(),
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            docs: Vec::new(),
            doc_line: None,
            doc_count: 0,
        }
    }

    fn run(mut self, src: &str) -> Result<Vec<Document>, YamlError> {
        if !src.is_empty() && !src.ends_with('\n') {
            self.unterminated_len = Some(src.chars().count());
        }
        let mut parser = Parser::new_from_str(src);
        while let Some(next) = parser.next_event() {
            let (event, span) = next.map_err(|e| scan_error(&e))?;
            self.event(event, span)?;
        }
        Ok(self.docs)
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.doc_count += 1;
                if self.doc_count > self.limits.max_documents {
                    return Err(YamlError::Limit {
                        what: "number of documents",
                        limit: self.limits.max_documents,
                    });
                }
                self.doc_line = None;
                self.lines.clear();
                Ok(())
            }
            Event::Alias(id) => {
                self.note_line(&span);
                self.note_item(&span);
                let Some((nodes, height)) = self.anchors.get(&id).map(|a| (a.nodes, a.height))
                else {
                    return Err(syntax(&span, "unknown anchor"));
                };
                self.count_nodes(nodes)?;
                if self.stack.len() + height > self.limits.max_depth {
                    return Err(self.depth_error());
                }
                let value = match self.anchors.get(&id) {
                    Some(a) => a.value.clone(),
                    None => return Err(syntax(&span, "unknown anchor")),
                };
                self.finish_node(value, height, &span, None)
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.note_line(&span);
                self.count_nodes(1)?;
                if self.expecting_key() {
                    let key = scalar_key(&text, style, tag.as_deref());
                    return self.set_key(key, anchor, &span);
                }
                self.note_item(&span);
                let mut value = scalar_value(&text, style, tag.as_deref(), &span)?;
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && self.unterminated_len.is_some_and(|n| span.end.index() >= n)
                    && let Value::String(s) = &mut value
                    && s.ends_with('\n')
                {
                    // A block scalar ending the file without a final line break has no
                    // trailing newline (as go-yaml reads it).
                    s.pop();
                }
                if value.is_null()
                    && text.is_empty()
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                {
                    let path = self.current_path();
                    if !path.is_empty() {
                        self.empty_values.push(path);
                    }
                }
                self.finish_node(value, 0, &span, Some(anchor))
            }
            Event::SequenceStart(anchor, _) => {
                self.note_line(&span);
                self.note_item(&span);
                self.open(&span)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    start_nodes: self.nodes,
                    height: 1,
                });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.note_line(&span);
                self.note_item(&span);
                self.open(&span)?;
                self.stack.push(Frame::Map {
                    entries: Map::new(),
                    key: None,
                    merges: None,
                    anchor,
                    start_nodes: self.nodes,
                    height: 1,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    start_nodes,
                    height,
                }) => {
                    let nodes = self.nodes - start_nodes;
                    let value = Value::Array(items);
                    self.remember(anchor, &value, nodes, height);
                    self.finish_node(value, height, &span, None)
                }
                _ => Err(syntax(&span, "unbalanced sequence end")),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    mut entries,
                    merges,
                    anchor,
                    start_nodes,
                    height,
                    ..
                }) => {
                    if let Some(merge) = merges {
                        apply_merge(&mut entries, merge, &span)?;
                    }
                    let nodes = self.nodes - start_nodes;
                    let value = Value::Object(entries);
                    self.remember(anchor, &value, nodes, height);
                    self.finish_node(value, height, &span, None)
                }
                _ => Err(syntax(&span, "unbalanced mapping end")),
            },
        }
    }

    /// Where the next value goes, from the document root.
    fn current_path(&self) -> Vec<crate::manifest::Seg> {
        use crate::manifest::Seg;
        let mut path = Vec::with_capacity(self.stack.len());
        for f in &self.stack {
            match f {
                Frame::Seq { items, .. } => path.push(Seg::Index(items.len())),
                Frame::Map {
                    key: Some(Key::Plain(k)),
                    ..
                } => path.push(Seg::Key(k.clone())),
                Frame::Map { .. } => return Vec::new(),
            }
        }
        path
    }

    /// With line tracking, remember the line of a sequence item about to be added.
    fn note_item(&mut self, span: &Span) {
        if self.track && matches!(self.stack.last(), Some(Frame::Seq { .. })) {
            let path = self.current_path();
            self.lines.push((path, span.start.line()));
        }
    }

    fn note_line(&mut self, span: &Span) {
        if self.doc_line.is_none() {
            self.doc_line = Some(span.start.line());
        }
    }

    fn count_nodes(&mut self, n: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::Limit {
                what: "number of nodes (with aliases expanded)",
                limit: self.limits.max_nodes,
            });
        }
        Ok(())
    }

    fn depth_error(&self) -> YamlError {
        YamlError::Limit {
            what: "nesting depth",
            limit: self.limits.max_depth,
        }
    }

    fn open(&mut self, span: &Span) -> Result<(), YamlError> {
        if self.expecting_key() {
            return Err(syntax(
                span,
                "mapping keys must be scalars (complex keys are not supported)",
            ));
        }
        self.count_nodes(1)?;
        if self.stack.len() + 1 > self.limits.max_depth {
            return Err(self.depth_error());
        }
        Ok(())
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn set_key(&mut self, key: Key, anchor: usize, span: &Span) -> Result<(), YamlError> {
        if anchor != 0 {
            let value = match &key {
                Key::Plain(s) => Value::String(s.clone()),
                Key::Merge => Value::String("<<".into()),
            };
            self.remember(anchor, &value, 1, 0);
        }
        match self.stack.last_mut() {
            Some(Frame::Map {
                entries,
                key: slot,
                merges,
                ..
            }) => {
                let dup = match &key {
                    Key::Plain(k) => entries.contains_key(k),
                    Key::Merge => merges.is_some(),
                };
                if dup && !self.limits.allow_duplicate_keys {
                    let name = match &key {
                        Key::Plain(k) => k.as_str(),
                        Key::Merge => "<<",
                    };
                    return Err(syntax(
                        span,
                        format!("mapping key {name:?} already defined"),
                    ));
                }
                let plain = matches!(key, Key::Plain(_));
                *slot = Some(key);
                if self.track && plain {
                    let path = self.current_path();
                    self.lines.push((path, span.start.line()));
                }
                Ok(())
            }
            _ => Err(syntax(span, "unexpected mapping key")),
        }
    }

    fn remember(&mut self, anchor: usize, value: &Value, nodes: usize, height: usize) {
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    nodes: nodes.max(1),
                    height,
                },
            );
        }
    }

    /// A complete node: store it in its parent (or as a document).
    fn finish_node(
        &mut self,
        value: Value,
        height: usize,
        span: &Span,
        anchor: Option<usize>,
    ) -> Result<(), YamlError> {
        if let Some(anchor) = anchor {
            self.remember(anchor, &value, 1, height);
        }
        match self.stack.last_mut() {
            None => {
                if !value.is_null() {
                    let line = self.doc_line.unwrap_or(span.start.line());
                    let empty_values = std::mem::take(&mut self.empty_values);
                    let mut lines = LineIndex::default();
                    if self.track {
                        lines.0.insert(Vec::new(), line);
                        lines.0.extend(self.lines.drain(..));
                    }
                    self.docs.push(Document {
                        value,
                        line,
                        empty_values,
                        lines,
                    });
                }
                Ok(())
            }
            Some(Frame::Seq {
                items, height: h, ..
            }) => {
                *h = (*h).max(height + 1);
                items.push(value);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                key,
                merges,
                height: h,
                ..
            }) => {
                *h = (*h).max(height + 1);
                match key.take() {
                    Some(Key::Plain(k)) => {
                        entries.insert(k, value);
                        Ok(())
                    }
                    Some(Key::Merge) => {
                        *merges = Some(value);
                        Ok(())
                    }
                    None => {
                        // An alias used as a key.
                        let k = match value {
                            Value::String(s) => s,
                            Value::Null => "null".into(),
                            Value::Bool(b) => b.to_string(),
                            Value::Number(n) => n.to_string(),
                            _ => {
                                return Err(syntax(
                                    span,
                                    "mapping keys must be scalars (complex keys are not supported)",
                                ));
                            }
                        };
                        if entries.contains_key(&k) && !self.limits.allow_duplicate_keys {
                            return Err(syntax(span, format!("mapping key {k:?} already defined")));
                        }
                        *key = Some(Key::Plain(k));
                        Ok(())
                    }
                }
            }
        }
    }
}

/// Apply a `<<` value: keys already present win, and among several merged maps the first wins.
fn apply_merge(
    entries: &mut Map<String, Value>,
    merge: Value,
    span: &Span,
) -> Result<(), YamlError> {
    let want_map = || {
        syntax(
            span,
            "map merge requires map or sequence of maps as the value",
        )
    };
    let mut add = |m: Map<String, Value>| {
        for (k, v) in m {
            entries.entry(k).or_insert(v);
        }
    };
    match merge {
        Value::Object(m) => add(m),
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) => add(m),
                    _ => return Err(want_map()),
                }
            }
        }
        _ => return Err(want_map()),
    }
    Ok(())
}

/// The core-schema name of a tag (`str` for `!!str`), if it is one.
fn core_tag(tag: &Tag) -> Option<String> {
    let full = format!("{}{}", tag.handle, tag.suffix);
    full.strip_prefix(CORE_PREFIX).map(str::to_string)
}

fn scalar_key(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Key {
    let merge = match tag {
        None => style == ScalarStyle::Plain && text == "<<",
        Some(t) => core_tag(t).as_deref() == Some("merge"),
    };
    if merge {
        Key::Merge
    } else {
        // Whatever the key resolves to, kyaml's maps are keyed by its text.
        Key::Plain(text.to_string())
    }
}

fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<Value, YamlError> {
    let core = tag.and_then(core_tag);
    let resolved = match (core.as_deref(), tag) {
        (None, None) if style == ScalarStyle::Plain => resolve_plain(text),
        // Quoted and block scalars, and scalars with tags outside the core schema, are strings.
        (None, _) => Resolved::Str,
        (Some("str"), _) => Resolved::Str,
        (Some("binary"), _) => return decode_binary(text, span),
        (Some(want @ ("int" | "float" | "bool" | "null" | "timestamp")), _) => {
            let r = resolve_plain(text);
            let ok = matches!(
                (want, &r),
                ("int", Resolved::Int(_) | Resolved::Uint(_))
                    | ("float", Resolved::Float(_))
                    | ("bool", Resolved::Bool(_))
                    | ("null", Resolved::Null)
                    | ("timestamp", Resolved::Timestamp(_))
            );
            match (want, r) {
                (_, r) if ok => r,
                ("float", Resolved::Int(i)) => Resolved::Float(i as f64),
                ("float", Resolved::Uint(u)) => Resolved::Float(u as f64),
                _ => {
                    return Err(syntax(
                        span,
                        format!("cannot decode `{text}` as a !!{want}"),
                    ));
                }
            }
        }
        (Some(_), _) => Resolved::Str,
    };
    Ok(match resolved {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::from(i),
        Resolved::Uint(u) => Value::from(u),
        Resolved::Float(f) => match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(syntax(
                    span,
                    format!("`{text}` is not a finite number (kubectl cannot print it either)"),
                ));
            }
        },
        Resolved::Timestamp(s) => Value::String(s),
        Resolved::Str => Value::String(text.to_string()),
    })
}

fn decode_binary(text: &str, span: &Span) -> Result<Value, YamlError> {
    use base64::Engine as _;
    let cleaned: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    match base64::engine::general_purpose::STANDARD.decode(cleaned.as_bytes()) {
        Ok(bytes) => Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        Err(_) => Err(syntax(span, "!!binary value contains invalid base64 data")),
    }
}
